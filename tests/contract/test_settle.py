"""Settling (`Backend.finish`) against operator actions on the same jobs, on every backend."""

from __future__ import annotations

import asyncio
import dataclasses

from conveyor import changes, outcome
from conveyor.backends import base
from conveyor.model import JobState as S
from tests.conftest import raw
from tests.contract.test_backend import NOW, error, new

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
    settling, operator = base.open_backend(url), base.open_backend(url)
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
