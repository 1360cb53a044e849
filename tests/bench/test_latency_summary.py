"""`bench.latency.summary`: the p50/p99 of the jobs' latencies, and where the slowest 1%
spent their time."""

from __future__ import annotations

import pytest

from bench import latency


def test_the_tail_is_the_mean_by_stage_of_the_jobs_above_the_p99() -> None:
    quick = [(0.3, 0.1, 0.3, 0.0)] * 198  # 0.7 ms each
    slow = [(4.0, -1.0, 0.5, 0.1), (0.4, 0.1, 5.0, 0.1)]  # 3.6 and 5.6 ms
    got = latency.summary(quick + slow)
    assert got.count == 200 and got.p50 == pytest.approx(0.7)
    assert got.stages == pytest.approx({"enqueue": 0.3, "wake": 0.1, "claim": 0.3,
                                        "start": 0.0})
    assert got.tail == pytest.approx({"enqueue": 2.2, "wake": -0.45, "claim": 2.75,
                                      "start": 0.1})
