"""How far ahead of its free slots a worker claims: about the jobs that end during a claim."""

from __future__ import annotations

from conveyor.worker import pacing


def _paced(ends: int, seconds: float, claim: float, concurrency: int = 100) -> pacing.Pacing:
    paced = pacing.Pacing(concurrency)
    paced.claimed(0.0, claim)
    for _ in range(ends):
        paced.ended()
    paced.claimed(seconds, seconds + claim)
    return paced


def test_a_worker_without_history_claims_only_for_its_slots() -> None:
    assert pacing.Pacing(10).ahead == 0


def test_short_jobs_buffer_what_ends_during_two_claims() -> None:
    assert _paced(ends=1000, seconds=1.0, claim=0.01).ahead == 20  # 1000/s x 10 ms x 2


def test_long_jobs_buffer_nothing_and_fast_ones_at_most_the_concurrency() -> None:
    assert _paced(ends=10, seconds=1.0, claim=0.002).ahead == 0
    assert _paced(ends=100_000, seconds=1.0, claim=0.01).ahead == 100
