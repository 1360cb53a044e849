"""Limits shared by real worker processes: rate windows, concurrency, throttling.

CI sizes are small; CONVEYOR_SOAK=1 runs the issue's full sizes (1,000 limited jobs)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conveyor import Conveyor, JobFilter, JobState
from tests.conftest import FAST
from tests.worker import harness

pytestmark = pytest.mark.slow
SOAK = os.environ.get("CONVEYOR_SOAK") == "1"



def _enqueue(app: Conveyor, name: str, calls: list[list[object]]) -> list[int]:
    job_type = app.registry.get(name)
    rows = [job_type.new_job(args, {}, job_type.defaults) for args in calls]
    return [job.id for job in app.blocking.run(lambda: app.insert(rows))]


def _workers(url: str, ledger: Path, count: int, *args: str) -> list[subprocess.Popen[bytes]]:
    return [harness.start_worker(url, ledger, "--concurrency", "16", *args)
            for _ in range(count)]


def _stop_all(workers: list[subprocess.Popen[bytes]]) -> None:
    for proc in workers:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in workers:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _all_final(app: Conveyor, count: int) -> bool:
    done = app.counts()
    return sum(n for (_, state), n in done.items() if state == JobState.COMPLETED) >= count


def test_rate_window_holds_across_four_processes(url: str, tmp_path: Path,
                                                  proc_app: Conveyor) -> None:
    limited, free = (1000, 1000) if SOAK else (60, 300)
    ledger = tmp_path / "ledger.db"
    _enqueue(proc_app, "limited_a", [[f"a{i}"] for i in range(limited)])
    _enqueue(proc_app, "unlimited", [[f"u{i}"] for i in range(free)])
    workers = _workers(url, ledger, 4)
    try:
        harness.wait_for(lambda: _all_final(proc_app, limited + free), limited / 9 + 60,
                         "every job to finish")
    finally:
        _stop_all(workers)
    rows = harness.ledger_rows(ledger)
    starts = sorted(r[2] for r in rows if r[0].startswith("a"))
    free_ends = sorted(r[3] for r in rows if r[0].startswith("u") and r[3] is not None)
    assert len(starts) == limited  # each limited job ran exactly once
    windows = [starts[i + 10] - starts[i] for i in range(len(starts) - 10)]
    print(f"\nspans of 11 consecutive starts: min {min(windows):.3f}s")
    assert min(windows) >= 1.0, f"11 starts within {min(windows):.3f}s"
    rate = (limited - 1) / (starts[-1] - starts[0])
    assert rate >= 9.0, f"only {rate:.2f} starts/s on key A"
    attempts = {j.attempt for j in proc_app.jobs(JobFilter(limit=5000))}
    assert attempts == {1}
    assert free_ends[-1] - starts[0] < 0.5 * (starts[-1] - starts[0]) + 5  # not held back
    print(f"key A: {rate:.2f} starts/s, max 10 per window (min gap over 10: "
          f"{min(windows):.3f}s); {free} unlimited done in {free_ends[-1] - starts[0]:.2f}s")
    proc_app.close()


def _max_overlap(rows: list[tuple[str, int, float, float | None]]) -> int:
    events = sorted([(r[2], 1) for r in rows] + [(r[3] or r[2], -1) for r in rows],
                    key=lambda e: (e[0], e[1]))
    busy = peak = 0
    for _, step in events:
        busy += step
        peak = max(peak, busy)
    return peak


def test_concurrency_three_and_a_killed_workers_slot_comes_back(
        url: str, tmp_path: Path, proc_app: Conveyor) -> None:
    ledger = tmp_path / "ledger.db"
    count = 40 if SOAK else 15
    _enqueue(proc_app, "pooled", [[f"p{i}", 0.3] for i in range(count)])
    workers = _workers(url, ledger, 3)
    try:
        harness.wait_for(lambda: len(harness.ledger_rows(ledger)) >= 4, 30, "some runs")
        victim = workers[0]
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        killed_at = time.monotonic()
        harness.wait_for(lambda: _all_final(proc_app, count), 90, "every job to finish")
        finished_after_kill = time.monotonic() - killed_at
    finally:
        _stop_all(workers)
    rows = [r for r in harness.ledger_rows(ledger) if r[3] is not None]
    assert _max_overlap(rows) <= 3
    assert finished_after_kill < FAST.lease_timeout + 2 + count * 0.3
    proc_app.close()


def test_rate_limited_pauses_the_key_for_every_worker(url: str, tmp_path: Path,
                                                      proc_app: Conveyor) -> None:
    ledger = tmp_path / "ledger.db"
    _enqueue(proc_app, "throttle_once", [["first"]] + [[f"c{i}"] for i in range(6)])
    workers = _workers(url, ledger, 2)
    try:
        harness.wait_for(lambda: _all_final(proc_app, 7), 60, "every job to finish")
    finally:
        _stop_all(workers)
    rows = harness.ledger_rows(ledger)
    first_runs = sorted((r for r in rows if r[0] == "first"), key=lambda r: r[2])
    throttled_at = first_runs[0][3]  # when the API said "retry in 2 s"
    assert throttled_at is not None and len(first_runs) == 2
    # Jobs admitted before the block reached storage (one settle round trip after the
    # signal, allowed 0.1 s here) may still start; after that, none for 2 s on any worker.
    after = [r[2] - throttled_at for r in rows if r[2] > throttled_at + 0.1]
    assert min(after) >= 1.9, f"a job of the throttled key started {min(after):.2f}s later"
    assert min(after) < 2.0 + 3
    first = proc_app.jobs(JobFilter(limit=1))[0]
    assert (first.state, first.attempt) == (JobState.COMPLETED, 1)
    proc_app.close()
