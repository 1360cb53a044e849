"""Blocking enqueue and get from plain code call the backend directly, without an event loop
(SQLite's sqlite3 and a blocking psycopg connection), with the guarantees of the async path."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from datetime import timedelta

import psycopg
import pytest

from conveyor import (
    Conveyor,
    DependencyNotFound,
    FrozenClock,
    InvalidArguments,
    JobState,
    PayloadTooLarge,
    UnknownJob,
    Unserializable,
    Unstorable,
)
from conveyor.registry import JobType
from tests.conftest import raw


def _declare(app: Conveyor) -> JobType[[int], None]:
    @app.job(name="ping")
    def ping(n: int) -> None: ...

    return ping


def test_enqueue_and_get_cross_no_event_loop(app: Conveyor,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    ping = _declare(app)
    ping.enqueue(0)  # opens the database on this thread: later calls go direct

    def no_loop(*args: object) -> None:
        raise AssertionError("a blocking call crossed the event loop")

    monkeypatch.setattr(app.blocking, "run", no_loop)
    job = ping.enqueue(1)
    assert app.get(job.id).args == [1]
    monkeypatch.undo()
    assert {stat.method: stat.calls for stat in app.storage_calls.snapshot()}["insert"] == 2
    assert len(app.jobs()) == 2


def test_storage_hooks_see_blocking_calls(app: Conveyor) -> None:
    ping = _declare(app)
    ping.enqueue(0)
    seen: list[str] = []

    @contextlib.contextmanager
    def hook(method: str) -> Iterator[None]:
        seen.append(method)
        yield

    app.hooks.storage.append(hook)
    app.get(ping.enqueue(1).id)
    assert seen == ["insert", "get"]


def test_each_kind_of_job_takes_its_own_path_once_the_database_is_open(
        app: Conveyor, clock: FrozenClock) -> None:
    """A plain job alone is one autocommitted INSERT on SQLite; a unique job, one with a
    dependency, a rate-limited one and a delayed one go through the insert plan. Each
    returns what reading it back gives, and a call refused before the write leaves the
    tables as they were."""
    ping = _declare(app)

    @app.job(name="once", unique_for=3600, unique_key=lambda n: n)
    def once(n: int) -> None: ...

    @app.job(name="paced", rate_limit="10/s", rate_key=lambda n: f"k{n}")
    def paced(n: int) -> None: ...

    @app.job(name="single", concurrency=2, concurrency_key=lambda n: f"c{n}")
    def single(n: int) -> None: ...

    @app.job(name="later", delay=60, queue="slow", priority=3, max_attempts=2, timeout=5)
    async def later(n: int, *, label: str = "") -> None: ...

    first = ping.enqueue(0)  # opens the database on this thread: later calls go direct
    plain = ping.enqueue(1)
    unique = once.enqueue(1)
    duplicate = once.enqueue(1)
    after = ping.options(depends_on=[plain]).enqueue(2)
    limited = paced.enqueue(3)
    capped = single.enqueue(7)
    delayed = later.enqueue(4, label="x")
    delayed_again = later.enqueue(5)
    assert (duplicate.duplicate, duplicate.id) == (True, unique.id)
    assert after.state == JobState.PENDING and app.get(after.id).depends_on == [plain.id]
    assert delayed.run_at == clock.now() + timedelta(seconds=60)
    assert (delayed.queue, delayed.priority, delayed.max_attempts, delayed.kwargs,
            delayed.meta) == ("slow", 3, 2, {"label": "x"}, {"timeout": 5})
    assert delayed_again.kwargs == {} and delayed_again.args == [5]
    assert app.get(limited.id).rate_keys == ("k3@10/s",)
    assert raw(app.url, "SELECT rate_key, concurrency_key, concurrency_limit, cost "
               "FROM conveyor_jobs WHERE id IN (?, ?) ORDER BY id",
               (limited.id, capped.id)) == [("k3@10/s", None, None, 1), (None, "c7", 2, 1)]
    for job in (first, plain, unique, after, limited, capped, delayed, delayed_again):
        assert job == app.get(job.id)
    stored = len(app.jobs())
    with pytest.raises(Unserializable):
        ping.enqueue({1, 2})  # type: ignore[arg-type]
    with pytest.raises(InvalidArguments):
        ping.enqueue(1, 2)  # type: ignore[call-arg]
    with pytest.raises(PayloadTooLarge):
        ping.enqueue("x" * (app.settings.payload_limit + 1))  # type: ignore[arg-type]
    with pytest.raises(DependencyNotFound):
        ping.options(depends_on=[10**9]).enqueue(6)
    with pytest.raises(UnknownJob):
        app.enqueue("nobody", 1)
    assert len(app.jobs()) == stored


@pytest.mark.postgres
def test_a_row_the_database_refuses_writes_nothing(pg_url: str) -> None:
    """Bypassing the encoder (arguments that are not JSON): PostgreSQL refuses the row on the
    blocking path as on the async one, and nothing is written (SQLite stores text as is)."""
    from tests.conftest import _truncate

    _truncate(pg_url)
    app = Conveyor(pg_url)
    ping = _declare(app)
    first = ping.enqueue(0)
    bad = dataclasses.replace(ping.new_job((1,), {}, ping.defaults), args_json="[not json")
    with pytest.raises(Unstorable, match="refused a value"):
        app.insert_blocking([bad])
    assert [job.id for job in app.jobs()] == [first.id]
    assert ping.enqueue(2).args == [2]
    app.close()


@pytest.mark.postgres
def test_a_broken_blocking_connection_is_opened_again(pg_url: str) -> None:
    from tests.conftest import _truncate

    _truncate(pg_url)
    app = Conveyor(pg_url)
    ping = _declare(app)
    ping.enqueue(0)
    ping.enqueue(1)  # the blocking connection is open now
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE datname = current_database() AND pid <> pg_backend_pid()")
    job = ping.enqueue(2)
    assert app.get(job.id).args == [2]
    assert len(app.jobs()) == 3
    app.close()
