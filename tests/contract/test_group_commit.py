"""Group commit: concurrent `aenqueue` calls on one event loop share a transaction, yet each
caller gets its own job, its own errors, and a stored row on return - on every backend."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from conveyor import Conveyor, DependencyNotFound, JobFilter, StorageUnavailable, Unstorable
from conveyor.model import JobState as S
from conveyor.registry import JobType
from tests.conftest import raw
from tests.contract.test_storage_failures import _hold_exclusive_lock


def _work(app: Conveyor) -> JobType[[int], None]:
    @app.job(name="work")
    def work(n: int) -> None: ...

    return work


def _inserts(app: Conveyor) -> int:
    calls = {stat.method: stat.calls for stat in app.storage_calls.snapshot()}
    return calls.get("insert", 0)


async def test_fifty_concurrent_callers_share_one_write_and_get_their_own_jobs(
        app: Conveyor) -> None:
    work = _work(app)
    await app.storage()  # opened and migrated: no caller waits on that

    def enqueue(n: int) -> Any:
        return work.options(delay=60).aenqueue(n) if n % 5 == 0 else work.aenqueue(n)

    jobs = await asyncio.gather(*(enqueue(n) for n in range(50)))
    assert _inserts(app) == 1
    assert [list(job.args) for job in jobs] == [[n] for n in range(50)]
    assert [job.state for job in jobs] == \
        [S.SCHEDULED if n % 5 == 0 else S.AVAILABLE for n in range(50)]
    assert len({job.id for job in jobs}) == 50
    stored = {job.id: job for job in await app.ajobs(JobFilter(limit=100))}
    assert {job.id: (list(job.args), job.state) for job in jobs} == \
        {i: (list(job.args), job.state) for i, job in stored.items()}
    await app.aclose()


async def test_callers_arriving_during_a_write_form_the_next_group(app: Conveyor) -> None:
    work = _work(app)
    await app.storage()

    async def caller(first: int) -> list[int]:
        return [(await work.aenqueue(n)).args[0] for n in range(first, first + 20)]

    done = await asyncio.gather(*(caller(k * 100) for k in range(10)))
    assert done == [list(range(k * 100, k * 100 + 20)) for k in range(10)]
    assert _inserts(app) < 200 / 5  # written together, in groups of about ten
    assert len(await app.ajobs(JobFilter(limit=1000))) == 200
    await app.aclose()


async def test_a_lone_caller_is_written_at_once_and_durable_on_return(
        app: Conveyor, url: str) -> None:
    work = _work(app)
    job = await work.aenqueue(7)
    assert raw(url, "SELECT id FROM conveyor_jobs") == [(job.id,)]  # another connection
    assert _inserts(app) == 1
    await app.aclose()


async def test_a_missing_dependency_fails_only_its_own_caller(app: Conveyor) -> None:
    work = _work(app)
    await app.storage()
    calls = [work.options(depends_on=[10**9]).aenqueue(n) if n == 3 else work.aenqueue(n)
             for n in range(8)]
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert isinstance(results[3], DependencyNotFound)
    good = [r for n, r in enumerate(results) if n != 3]
    assert [job.args[0] for job in good] == [0, 1, 2, 4, 5, 6, 7]  # type: ignore[union-attr]
    stored = sorted(job.args[0] for job in await app.ajobs(JobFilter(limit=100)))
    assert stored == [0, 1, 2, 4, 5, 6, 7]
    await app.aclose()


@pytest.mark.postgres
async def test_a_row_the_database_refuses_fails_only_its_own_caller(pg_url: str) -> None:
    """Written by hand, bypassing the encoder: arguments that are not JSON. PostgreSQL
    refuses the row (`Unstorable`), and with it the whole shared insert."""
    from tests.conftest import _truncate

    _truncate(pg_url)
    app = Conveyor(pg_url)
    work = _work(app)
    await app.storage()
    bad = dataclasses.replace(work.new_job((1,), {}, work.defaults), args_json="[not json")
    calls = [app.insert([bad], shared=True) if n == 2 else work.aenqueue(n) for n in range(6)]
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert isinstance(results[2], Unstorable)
    assert sorted(job.args[0] for job in await app.ajobs()) == [0, 1, 3, 4, 5]
    await app.aclose()


def test_an_outage_reaches_every_caller_of_the_group(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    app = Conveyor(f"sqlite:///{path}?busy_timeout=0.2")
    work = _work(app)
    app.migrate()
    locked = threading.Event()
    holder = threading.Thread(target=_hold_exclusive_lock, args=(path, 1.0, locked))
    holder.start()
    locked.wait(5)

    async def scenario() -> list[Any]:
        results = await asyncio.gather(*(work.aenqueue(n) for n in range(5)),
                                       return_exceptions=True)
        await app.aclose()
        return results

    results = asyncio.run(scenario())
    holder.join()
    assert [type(result) for result in results] == [StorageUnavailable] * 5
    assert app.jobs() == []
    app.close()


async def test_unique_duplicates_among_concurrent_callers(app: Conveyor) -> None:
    @app.job(name="sync", unique=True)
    def sync(product: int) -> None: ...

    await app.storage()
    jobs = await asyncio.gather(*(sync.aenqueue(n % 3) for n in range(12)))
    assert _inserts(app) == 1
    by_product: dict[int, set[int]] = {}
    for job in jobs:
        by_product.setdefault(job.args[0], set()).add(job.id)
    assert all(len(ids) == 1 for ids in by_product.values()) and len(by_product) == 3
    assert [job.duplicate for job in jobs] == [False] * 3 + [True] * 9
    assert all(job.state == S.AVAILABLE for job in jobs)
    assert len(await app.ajobs()) == 3
    await app.aclose()


async def test_a_cancelled_caller_leaves_its_row_out_and_the_others_in(app: Conveyor) -> None:
    work = _work(app)
    await app.storage()
    tasks = [asyncio.create_task(work.aenqueue(n)) for n in range(5)]
    await asyncio.sleep(0)  # every caller has joined; the group is not written yet
    tasks[3].cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(results[3], asyncio.CancelledError)
    assert sorted(job.args[0] for job in await app.ajobs()) == [0, 1, 2, 4]
    await app.aclose()


async def test_enqueues_on_the_callers_connection_are_not_shared(tmp_path: Any) -> None:
    """A transaction of the caller's own is the caller's: its rows go and come with it."""
    app = Conveyor(f"sqlite:///{tmp_path / 'jobs.db'}")
    work = _work(app)
    await app.storage()
    conn = sqlite3.connect(tmp_path / "jobs.db", isolation_level=None)
    conn.execute("BEGIN")
    mine = await asyncio.gather(*(work.using(conn).aenqueue(n) for n in range(3)))
    assert [job.args[0] for job in mine] == [0, 1, 2]
    conn.execute("ROLLBACK")
    conn.close()
    calls = {stat.method: stat.calls for stat in app.storage_calls.snapshot()}
    assert (calls.get("insert", 0), calls["insert_on"]) == (0, 3)
    assert await app.ajobs() == []
    await app.aclose()
