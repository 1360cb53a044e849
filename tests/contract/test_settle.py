"""Settling attempts (`Backend.finish`): each outcome, compare-and-set on the attempt, what
follows in the same transaction, and settling against operator actions - on every backend."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

from conveyor import changes, outcome
from conveyor.backends import base, urls
from conveyor.model import JobState as S
from tests.conftest import raw
from tests.contract.seam import NOW, claim_one, error, new

ROUNDS = 6
JOBS = 40
CANCELLABLE = changes.eligible_states(changes.CancelJobs(), ())


def _deadlocks(url: str) -> int:
    if url.startswith("sqlite"):
        return 0
    raw(url, "SELECT pg_stat_clear_snapshot()")
    return int(raw(url, "SELECT deadlocks FROM pg_stat_database "
                        "WHERE datname = current_database()")[0][0])


async def _settled_stats(url: str, before: int) -> int:
    """Deadlocks counted since `before` (a closed connection has flushed its statistics;
    the counter may still lag a moment)."""
    for _ in range(20):
        found = _deadlocks(url) - before
        if found:
            return found
        await asyncio.sleep(0.05)
    return 0


async def test_bulk_cancel_and_settling_of_one_batch_never_deadlock(url: str) -> None:
    """A flush that completes some jobs of a batch and fails others (two statements) while an
    operator cancels the batch's jobs: both lock the batch row first, so one waits for the
    other instead of each holding job rows the other needs."""
    settling, operator = urls.open_backend(url), urls.open_backend(url)
    await settling.migrate()
    before = _deadlocks(url)
    try:
        for _ in range(ROUNDS):
            batch_id, _ = await settling.insert_batch(
                base.BatchSpec("race", True, "[]"), [new() for _ in range(JOBS)], True, NOW, 20)
            running = await settling.claim(["default"], JOBS // 2, "w1", NOW)
            high, low = running[len(running) // 2:], running[:len(running) // 2]
            outcomes: list[outcome.Outcome] = [
                *(outcome.Completed(j.id, j.attempt, batch_id=batch_id) for j in reversed(high)),
                *(outcome.Failed(j.id, j.attempt, error(), None, batch_id=batch_id)
                  for j in low)]
            await asyncio.gather(
                settling.finish(outcomes, NOW, 20),
                operator.change(base.JobFilter(batch_ids=[batch_id], states=CANCELLABLE),
                                changes.CancelJobs(), NOW, "ops", 20))
            batch = await settling.get_batch(batch_id)
            assert batch is not None
            progress = batch.progress
            assert (progress.completed, progress.failed, progress.cancelled) == \
                (len(high), len(low), JOBS - len(running))
            assert progress.pending == 0 and batch.finished
    finally:
        await settling.close()
        await operator.close()
    assert await _settled_stats(url, before) == 0


async def test_a_dependant_is_released_in_the_transaction_that_settles_its_dependency(
        backend: base.Backend, url: str) -> None:
    first = (await backend.insert([new()], NOW))[0]
    waiting = (await backend.insert([dataclasses.replace(new(), depends_on=(first.id,))],
                                    NOW))[0]
    assert waiting.state == S.PENDING
    job = (await backend.claim(["default"], 1, "w1", NOW))[0]
    assert job.id == first.id
    settled = await backend.finish([outcome.Completed(job.id, job.attempt)], NOW, 20)
    assert settled.written == {first.id}
    assert [row[0] for row in raw(url, "SELECT state FROM conveyor_jobs ORDER BY id")] == \
        ["completed", "available"]
    if url.startswith("postgresql"):  # both row versions were written by one transaction
        writers = raw(url, "SELECT DISTINCT xmin::text FROM conveyor_jobs")
        assert len(writers) == 1


async def test_finish_completed_stores_result(backend: base.Backend) -> None:
    await backend.insert([new()], NOW)
    job = await claim_one(backend)
    later = NOW + timedelta(seconds=1)
    settled = await backend.finish([outcome.Completed(job.id, 1, '{"ok": [1, 2]}')], later, 20)
    assert settled == base.Settled(frozenset({job.id}), frozenset())
    done = await backend.get(job.id)
    assert done is not None and done.state == S.COMPLETED
    assert done.result == {"ok": [1, 2]} and done.finalized_at == later


async def test_finish_failed_with_retry_and_discard(backend: base.Backend) -> None:
    await backend.insert([new(), new()], NOW)
    first, second = await backend.claim(["default"], 2, "w1", NOW)
    retry_at = NOW + timedelta(seconds=30)
    await backend.finish([outcome.Failed(first.id, 1, error("a"), retry_at),
                          outcome.Failed(second.id, 1, error("b"), None)], NOW, 20)
    retried, dead = await backend.get(first.id), await backend.get(second.id)
    assert retried is not None and dead is not None
    assert (retried.state, retried.run_at, retried.finalized_at) == (S.RETRYABLE, retry_at, None)
    assert [e.message for e in retried.errors] == ["a"]
    assert dead.state == S.DISCARDED and dead.finalized_at == NOW
    assert dead.errors[0].type == "ValueError"


async def test_errors_are_trimmed_to_the_newest(backend: base.Backend) -> None:
    await backend.insert([new(max_attempts=10)], NOW)
    for attempt in range(1, 6):
        await backend.stage(NOW + timedelta(hours=attempt), 100)
        job = await claim_one(backend)
        assert job.attempt == attempt
        await backend.finish([outcome.Failed(job.id, attempt, error(f"e{attempt}"), NOW)],
                             NOW, max_errors=3)
    stored = await backend.get(job.id)
    assert stored is not None
    assert [e.message for e in stored.errors] == ["e3", "e4", "e5"]


async def test_snooze_and_interrupt_refund_the_attempt(backend: base.Backend) -> None:
    await backend.insert([new(), new()], NOW)
    a, b = await backend.claim(["default"], 2, "w1", NOW)
    later = NOW + timedelta(minutes=5)
    await backend.finish([outcome.Snoozed(a.id, 1, later),
                          outcome.Interrupted(b.id, 1, error("interrupted by shutdown"))],
                         NOW, 20)
    snoozed, interrupted = await backend.get(a.id), await backend.get(b.id)
    assert snoozed is not None and interrupted is not None
    assert (snoozed.state, snoozed.attempt, snoozed.run_at) == (S.SCHEDULED, 0, later)
    assert (interrupted.state, interrupted.attempt) == (S.AVAILABLE, 0)
    assert interrupted.errors[0].message == "interrupted by shutdown"


async def test_cancelled_is_final(backend: base.Backend) -> None:
    await backend.insert([new()], NOW)
    job = await claim_one(backend)
    await backend.finish([outcome.Cancelled(job.id, 1, error("not needed"))], NOW, 20)
    stored = await backend.get(job.id)
    assert stored is not None and stored.state == S.CANCELLED and stored.finalized_at == NOW


async def test_lost_lease_changes_nothing(backend: base.Backend) -> None:
    await backend.insert([new()], NOW)
    job = await claim_one(backend)
    settled = await backend.finish([outcome.Completed(job.id, attempt=2)], NOW, 20)
    assert settled.lost == {job.id} and not settled.written
    stored = await backend.get(job.id)
    assert stored is not None and stored.state == S.RUNNING
    await backend.finish([outcome.Completed(job.id, 1)], NOW, 20)
    again = await backend.finish([outcome.Completed(job.id, 1)], NOW, 20)
    assert again.lost == {job.id}
