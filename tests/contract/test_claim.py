"""Claiming jobs (`Backend.claim`, `wait`), on every backend."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

from conveyor.backends import base, urls
from conveyor.model import JobState as S
from tests.conftest import raw
from tests.contract.seam import NOW, new


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


async def test_claim_serves_each_queue_whether_limits_are_involved_or_not(
        backend: base.Backend) -> None:
    """Queues without limits are claimed in one statement where the engine has one; the one
    whose candidates carry a concurrency key, and those after it, by admission. Either way:
    queues in the given order, nothing from an empty or paused queue, only the names asked
    for, and a full key holds its jobs back."""
    keyed = replace(new(queue="keyed"), concurrency_key="k", concurrency_limit=1)
    await backend.insert([new(queue="plain"), new(name="other", queue="plain"), keyed, keyed,
                          new(queue="held"), new(queue="last")], NOW)
    await backend.pause(queue="held", paused=True, actor="test", now=NOW)
    claimed = await backend.claim(["empty", "plain", "keyed", "held", "last"], 10, "w1", NOW,
                                  names=["job"])
    assert [(j.queue, j.name) for j in claimed] == [("plain", "job"), ("keyed", "job"),
                                                    ("last", "job")]
    assert [j.name for j in await backend.claim(["keyed", "plain"], 10, "w1", NOW)] == \
        ["other"]


async def test_claim_never_takes_scheduled_or_running(backend: base.Backend) -> None:
    await backend.insert([new(run_at=NOW + timedelta(hours=1)), new()], NOW)
    assert len(await backend.claim(["default"], 10, "w1", NOW)) == 1
    assert await backend.claim(["default"], 10, "w2", NOW) == []


async def test_concurrent_claimers_never_share_a_job(url: str, backend: base.Backend) -> None:
    await backend.insert([new() for _ in range(600)], NOW)
    others = [urls.open_backend(url) for _ in range(3)]
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


async def test_malformed_row_is_claimed_marked_not_raised(url: str,
                                                         backend: base.Backend) -> None:
    done = await backend.insert([new(), new()], NOW)
    raw(url, "UPDATE conveyor_jobs SET kwargs = '[1, 2]' WHERE id = ?", (done[0].id,))
    claimed = {j.id: j for j in await backend.claim(["default"], 10, "w1", NOW)}
    assert claimed[done[0].id].malformed is not None
    assert claimed[done[1].id].malformed is None


async def test_wait_wakes_on_insert_from_another_connection(url: str,
                                                            backend: base.Backend) -> None:
    assert not await backend.wait(["default"], 0.05)  # nothing happened: times out
    producer = urls.open_backend(url)
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
