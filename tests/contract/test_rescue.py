"""Rescue and the leader's chores (`stage`, `rescue`, `heartbeat`, `retire`, `lease`), on
every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from conveyor.backends import base
from conveyor.model import JobState as S
from tests.contract.seam import NOW, claim_one, error, new


async def test_stage_moves_only_due_jobs_within_limit(backend: base.Backend) -> None:
    soon, later = NOW + timedelta(seconds=10), NOW + timedelta(hours=1)
    await backend.insert([new(run_at=soon)] * 3 + [new(run_at=later)], NOW)
    assert await backend.stage(NOW, 100) == 0
    assert await backend.stage(soon, 2) == 2
    assert await backend.stage(soon, 2) == 1
    counts = await backend.counts()
    assert counts[("default", S.AVAILABLE)] == 3 and counts[("default", S.SCHEDULED)] == 1


async def test_rescue_takes_only_jobs_of_silent_workers(backend: base.Backend) -> None:
    await backend.insert([new(max_attempts=1), new(), new()], NOW)
    await backend.heartbeat("dead", [], NOW)
    await backend.heartbeat("alive", [], NOW)
    exhausted, lost = await backend.claim(["default"], 2, "dead", NOW)
    (healthy,) = await backend.claim(["default"], 1, "alive", NOW)
    much_later = NOW + timedelta(hours=5)  # the healthy job has run for hours: still its own
    await backend.heartbeat("alive", [], much_later)
    count = await backend.rescue(much_later - timedelta(seconds=60), much_later,
                                 error("worker lost"), 20)
    assert count == 2
    states = {j.id: j for j in await backend.query(base.JobFilter())}
    assert states[exhausted.id].state == S.DISCARDED
    # It keeps its run_at: back to the head of its queue, not behind the backlog.
    assert states[lost.id].state == S.RETRYABLE and states[lost.id].run_at == lost.run_at
    assert states[lost.id].errors[-1].attempt == 1
    assert states[healthy.id].state == S.RUNNING


async def test_claimed_before_heartbeat_row_is_rescued_after_retire(
        backend: base.Backend) -> None:
    await backend.insert([new()], NOW)
    await backend.heartbeat("w1", [], NOW)
    job = await claim_one(backend)
    await backend.retire("w1")
    assert await backend.rescue(NOW - timedelta(seconds=60), NOW, error(), 20) == 1
    stored = await backend.get(job.id)
    assert stored is not None and stored.state == S.RETRYABLE


async def test_lease_is_exclusive_until_expiry_or_release(backend: base.Backend) -> None:
    assert await backend.lease("leader", "a", 10, NOW)
    assert not await backend.lease("leader", "b", 10, NOW + timedelta(seconds=5))
    assert await backend.lease("leader", "a", 10, NOW + timedelta(seconds=5))  # renew
    assert await backend.lease("leader", "b", 10, NOW + timedelta(seconds=16))  # expired
    await backend.release("leader", "a")  # not the holder: no effect
    assert not await backend.lease("leader", "a", 10, NOW + timedelta(seconds=17))
    await backend.release("leader", "b")
    assert await backend.lease("leader", "a", 10, NOW + timedelta(seconds=17))


async def test_a_patient_holder_takes_an_expired_lease_only_later(backend: base.Backend) -> None:
    assert await backend.lease("leader", "old", 10, NOW)
    later = NOW + timedelta(seconds=12)  # expired 2 s ago
    assert not await backend.lease("leader", "young", 10, later, patience=5)
    assert await backend.lease("leader", "young", 10, later + timedelta(seconds=3), patience=5)
    assert await backend.lease("leader", "young", 10, later + timedelta(seconds=4), patience=5)


async def test_on_the_database_clock_a_worker_whose_clock_is_off_is_not_rescued(
        backend: base.Backend) -> None:
    """Heartbeats stamped by the database (`database_clock`, what workers on a real clock
    ask for) are judged on that clock: a worker whose own clock runs five minutes slow, seen
    by a leader whose clock runs five minutes fast, is alive while it heartbeats; a worker
    silent for ten minutes on the database's clock is still lost."""
    real = datetime.now(UTC)
    await backend.insert([new(), new()], real)
    await backend.heartbeat("gone", [], real - timedelta(minutes=10))
    (lost,) = await backend.claim(["default"], 1, "gone", real)
    slow, fast = real - timedelta(minutes=5), real + timedelta(minutes=5)
    await backend.heartbeat("slow", [], slow, database_clock=True)
    (kept,) = await backend.claim(["default"], 1, "slow", slow)
    await backend.heartbeat("leader", [], fast, database_clock=True)
    # The leader registered just now on the database's clock: too young to witness.
    assert await backend.rescue(fast - timedelta(seconds=60), fast, error(), 20, "leader",
                                fast - timedelta(seconds=30), database_clock=True) == 0
    assert await backend.rescue(fast - timedelta(seconds=60), fast, error(), 20,
                                database_clock=True) == 1
    states = {j.id: j.state for j in await backend.query(base.JobFilter())}
    assert states == {lost.id: S.RETRYABLE, kept.id: S.RUNNING}
