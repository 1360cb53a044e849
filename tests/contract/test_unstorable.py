"""Values a database cannot store: refused at enqueue the same way on every backend, and an
outcome the database refuses ends only its own job, never the rest of its settle batch."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from conveyor import Conveyor, FrozenClock, JobState, Unserializable, Unstorable, model, outcome
from conveyor.backends.sqlite.backend import SqliteBackend
from conveyor.worker import executor, failure, settle
from tests.contract.test_storage_failures import _hold_exclusive_lock


@pytest.mark.parametrize(("call", "where"), [
    ((("a\x00b",), {}), "arguments"),
    (((), {"text": "a\x00b"}), "keyword arguments"),
    ((({"nested": ["\x00"]},), {}), "arguments"),
])
def test_nul_in_arguments_is_refused_by_every_backend(app: Conveyor, call: Any,
                                                      where: str) -> None:
    @app.job(name="store")
    def store(text: Any = None) -> None: ...

    args, kwargs = call
    with pytest.raises(Unserializable, match=f"{where} of job 'store' cannot be stored.*NUL"):
        store.enqueue(*args, **kwargs)
    with pytest.raises(Unserializable, match="NUL"):
        store.enqueue_many([(args, kwargs)])
    assert app.jobs() == []


def test_nul_in_a_key_is_refused_by_every_backend(app: Conveyor) -> None:
    @app.job(name="keyed", concurrency=1, concurrency_key=lambda n: f"key\x00{n}")
    def keyed(n: int) -> None: ...

    with pytest.raises(Unserializable, match=r"concurrency key 'key\\x001' contains the NUL"):
        keyed.enqueue(1)
    assert app.jobs() == []


def test_a_batch_with_an_unstorable_result_settles_every_other_job(app: Conveyor) -> None:
    @app.job(name="echo", max_attempts=1)
    def echo(text: str) -> str:
        return text

    @app.job(name="nul", max_attempts=1)
    def nul() -> str:
        return "a\x00b"

    good = [echo.enqueue(f"t{i}") for i in range(10)]
    bad = nul.enqueue()
    assert app.drain(concurrency=20) == 11
    assert [app.get(job.id).result for job in good] == [f"t{i}" for i in range(10)]
    stored = app.get(bad.id)
    assert (stored.state, stored.errors[-1].type) == (JobState.DISCARDED, "Unserializable")
    assert "NUL character" in stored.errors[-1].message


async def _claimed(app: Conveyor, count: int, max_attempts: int = 3) -> list[model.Job]:
    @app.job(name="work", max_attempts=max_attempts)
    def work(n: int) -> None: ...

    await work.aenqueue_many([((n,), {}) for n in range(count)])
    backend = await app.storage()
    return await backend.claim(["default"], count, "w1", app.clock.now())


def _error(clock: FrozenClock, message: str = "boom") -> str:
    return failure.plain_error_json(1, clock.now(), "RuntimeError", message)


async def test_an_outcome_the_database_refuses_ends_only_its_own_job(
        app: Conveyor, clock: FrozenClock, caplog: pytest.LogCaptureFixture) -> None:
    """Written by hand, bypassing the encoder: an error that is not JSON. Both databases
    refuse it, and with it the statement (and transaction) that carries the whole batch."""
    jobs = await _claimed(app, 4)
    later = clock.now() + timedelta(seconds=30)
    rans = [executor.Ran(outcome.Completed(jobs[0].id, 1, '"fine"'), jobs[0]),
            executor.Ran(outcome.Failed(jobs[1].id, 1, "{not json", later), jobs[1]),
            executor.Ran(outcome.Failed(jobs[2].id, 1, _error(clock), later), jobs[2]),
            executor.Ran(outcome.Cancelled(jobs[3].id, 1, "[broken"), jobs[3])]
    backend = await app.storage()
    with pytest.raises(Unstorable):
        await backend.finish([ran.outcome for ran in rans], clock.now(), 20)
    settler = settle.Settler(app, backend)
    for ran in rans:
        settler.add(ran)
    await settler.flush()
    stored = [await app.aget(job.id) for job in jobs]
    assert [job.state for job in stored] == [JobState.COMPLETED, JobState.RETRYABLE,
                                             JobState.RETRYABLE, JobState.CANCELLED]
    assert (stored[0].result, stored[2].errors[-1].message) == ("fine", "boom")
    for job in (stored[1], stored[3]):
        assert job.errors[-1].type == "Unstorable"
        assert job.errors[-1].message.startswith("the job ended, but its error could not be "
                                                 "stored:")
    assert stored[1].run_at == later  # retried as it was going to be
    assert "settling them one by one" in caplog.text
    await app.aclose()


@pytest.mark.postgres
async def test_a_result_postgres_refuses_discards_the_job(pg_url: str) -> None:
    """Written by hand, bypassing the encoder (which refuses NUL): running the job again
    would not make its result storable."""
    from tests.conftest import _truncate

    _truncate(pg_url)
    clock = FrozenClock()
    app = Conveyor(pg_url, clock=clock)
    jobs = await _claimed(app, 2)
    backend = await app.storage()
    settler = settle.Settler(app, backend)
    settler.add(executor.Ran(outcome.Completed(jobs[0].id, 1, '"a\\u0000b"'), jobs[0]))
    settler.add(executor.Ran(outcome.Completed(jobs[1].id, 1, "2"), jobs[1]))
    await settler.flush()
    first, second = [await app.aget(job.id) for job in jobs]
    assert (first.state, first.errors[-1].type) == (JobState.DISCARDED, "Unstorable")
    assert "completed, but its result could not be stored" in first.errors[-1].message
    assert "Unicode escape" in first.errors[-1].message
    assert (second.state, second.result) == (JobState.COMPLETED, 2)
    await app.aclose()


async def test_a_locked_sqlite_database_is_waited_out(tmp_path: Path,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    """An outage is not a refusal: the batch is kept whole and written once storage is back."""
    path = tmp_path / "jobs.db"
    app = Conveyor(f"sqlite:///{path}", clock=FrozenClock())
    jobs = await _claimed(app, 2)
    backend = SqliteBackend(f"sqlite:///{path}", busy_deadline=0.1)
    locked = threading.Event()
    holder = threading.Thread(target=_hold_exclusive_lock, args=(path, 1.0, locked))
    holder.start()
    locked.wait(5)
    settler = settle.Settler(app, backend)
    for job in jobs:
        settler.add(executor.Ran(outcome.Completed(job.id, 1, None), job))
    await settler.flush()
    holder.join()
    assert "could not settle 2 jobs" in caplog.text and "one by one" not in caplog.text
    assert [(await app.aget(job.id)).state for job in jobs] == [JobState.COMPLETED] * 2
    await backend.close()
    await app.aclose()
