"""The backend seam's contract, run against every backend (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from conveyor import model, outcome
from conveyor.backends import base
from conveyor.model import JobState as S
from tests.conftest import raw

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def new(name: str = "job", queue: str = "default", priority: int = 0, run_at: datetime = NOW,
        max_attempts: int = 3, args: list[object] | None = None) -> model.NewJob:
    return model.NewJob(name=name, queue=queue, priority=priority,
                        args_json=orjson.dumps(args or []).decode(), kwargs_json="{}",
                        max_attempts=max_attempts, run_at=run_at)


def error(message: str = "boom") -> str:
    entry = model.JobError(attempt=1, at=NOW, type="ValueError", message=message)
    return orjson.dumps(entry.to_json()).decode()


async def claim_one(backend: base.Backend, queue: str = "default") -> model.Job:
    jobs = await backend.claim([queue], 1, "w1", NOW)
    assert len(jobs) == 1
    return jobs[0]


async def test_migrate_is_idempotent(backend: base.Backend) -> None:
    assert await backend.migrate() == []


async def test_insert_sets_state_from_run_at_and_keeps_order(backend: base.Backend) -> None:
    rows = [new(args=[1]), new(run_at=NOW + timedelta(seconds=60), args=[2]), new(args=[3])]
    inserted = await backend.insert(rows, NOW)
    assert [i.state for i in inserted] == [S.AVAILABLE, S.SCHEDULED, S.AVAILABLE]
    assert inserted[0].id < inserted[1].id < inserted[2].id
    for row, done in zip(rows, inserted, strict=True):
        job = await backend.get(done.id)
        assert job is not None
        assert job.args == orjson.loads(row.args_json)
        assert job.state == done.state and job.attempt == 0 and job.max_attempts == 3
        assert job.run_at == row.run_at and job.inserted_at == NOW


async def test_insert_is_all_or_none(backend: base.Backend, url: str) -> None:
    bad = model.NewJob(name="job", queue="default", priority=0, args_json="[]",
                       kwargs_json="{}", max_attempts=0, run_at=NOW)  # violates CHECK
    with pytest.raises(Exception, match=r"(?i)check|constraint"):
        await backend.insert([new(), bad], NOW)
    assert raw(url, "SELECT count(*) FROM conveyor_jobs")[0][0] == 0


async def test_claim_orders_by_priority_then_run_at_then_id(backend: base.Backend) -> None:
    early = NOW - timedelta(seconds=30)
    ids = [i.id for i in await backend.insert(
        [new(priority=5), new(priority=1), new(priority=1, run_at=early), new(priority=0)], NOW)]
    claimed = await backend.claim(["default"], 10, "w1", NOW)
    assert [j.id for j in claimed] == [ids[3], ids[2], ids[1], ids[0]]
    assert all(j.state == S.RUNNING and j.attempt == 1 and j.attempted_by == "w1"
               and j.attempted_at == NOW for j in claimed)


async def test_claim_serves_queues_in_given_order_up_to_limit(backend: base.Backend) -> None:
    await backend.insert([new(queue="low")] * 3 + [new(queue="high")] * 2, NOW)
    claimed = await backend.claim(["high", "low"], 3, "w1", NOW)
    assert [j.queue for j in claimed] == ["high", "high", "low"]
    assert await backend.claim(["other"], 10, "w1", NOW) == []


async def test_claim_never_takes_scheduled_or_running(backend: base.Backend) -> None:
    await backend.insert([new(run_at=NOW + timedelta(hours=1)), new()], NOW)
    assert len(await backend.claim(["default"], 10, "w1", NOW)) == 1
    assert await backend.claim(["default"], 10, "w2", NOW) == []


async def test_concurrent_claimers_never_share_a_job(url: str, backend: base.Backend) -> None:
    await backend.insert([new() for _ in range(600)], NOW)
    others = [base.open_backend(url) for _ in range(3)]
    try:
        async def drain(store: base.Backend, worker: str) -> list[int]:
            got: list[int] = []
            while batch := await store.claim(["default"], 7, worker, NOW):
                got += [j.id for j in batch]
                await asyncio.sleep(0)
            return got

        results = await asyncio.gather(*(drain(s, f"w{i}") for i, s in enumerate(others)))
    finally:
        for store in others:
            await store.close()
    claimed = [job_id for batch in results for job_id in batch]
    assert len(claimed) == 600 and len(set(claimed)) == 600


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


async def test_wait_wakes_on_insert_from_another_connection(url: str,
                                                            backend: base.Backend) -> None:
    assert not await backend.wait(["default"], 0.05)  # nothing happened: times out
    producer = base.open_backend(url)
    try:
        async def insert_soon() -> None:
            await asyncio.sleep(0.1)
            await producer.insert([new()], NOW)

        task = asyncio.create_task(insert_soon())
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert await backend.wait(["default"], 5.0)
        assert loop.time() - started < 2.0
        await task
    finally:
        await producer.close()


async def test_query_filters_and_pages(backend: base.Backend) -> None:
    await backend.insert([new(name="a", queue="q1"), new(name="b", queue="q2"),
                          new(name="a", queue="q2", run_at=NOW + timedelta(hours=1))], NOW)
    assert [j.name for j in await backend.query(base.JobFilter(names=["a"]))] == ["a", "a"]
    assert len(await backend.query(base.JobFilter(queues=["q2"], states=[S.SCHEDULED]))) == 1
    first = await backend.query(base.JobFilter(limit=2))
    rest = await backend.query(base.JobFilter(after_id=first[-1].id))
    assert len(first) == 2 and len(rest) == 1 and rest[0].id > first[-1].id
    assert await backend.get(10_000) is None


async def test_malformed_row_is_claimed_marked_not_raised(url: str,
                                                         backend: base.Backend) -> None:
    done = await backend.insert([new(), new()], NOW)
    raw(url, "UPDATE conveyor_jobs SET kwargs = '[1, 2]' WHERE id = ?", (done[0].id,))
    claimed = {j.id: j for j in await backend.claim(["default"], 10, "w1", NOW)}
    assert claimed[done[0].id].malformed is not None
    assert claimed[done[1].id].malformed is None


@pytest.mark.parametrize("statement", [
    "UPDATE conveyor_jobs SET state = 'completed'",            # final without finalized_at
    "UPDATE conveyor_jobs SET state = 'bogus'",                # unknown state
    "UPDATE conveyor_jobs SET attempt = 99",                   # attempt > max_attempts
    "UPDATE conveyor_jobs SET state = 'running', attempt = 0",  # running without an attempt
])
async def test_database_enforces_the_invariants(backend: base.Backend, url: str,
                                                statement: str) -> None:
    await backend.insert([new()], NOW)
    with pytest.raises(Exception, match=r"(?i)check|constraint"):
        raw(url, statement)


async def test_a_patient_holder_takes_an_expired_lease_only_later(backend: base.Backend) -> None:
    assert await backend.lease("leader", "old", 10, NOW)
    later = NOW + timedelta(seconds=12)  # expired 2 s ago
    assert not await backend.lease("leader", "young", 10, later, patience=5)
    assert await backend.lease("leader", "young", 10, later + timedelta(seconds=3), patience=5)
    assert await backend.lease("leader", "young", 10, later + timedelta(seconds=4), patience=5)
