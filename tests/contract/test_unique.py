"""Unique jobs, enforced by the database on every backend."""

from __future__ import annotations

import asyncio
import dataclasses
import multiprocessing
import os
from datetime import timedelta

import pytest

from conveyor import ConfigurationError, Conveyor, FrozenClock, JobFilter, JobState

SOAK = os.environ.get("CONVEYOR_SOAK") == "1"

def test_duplicate_returns_the_existing_job(app: Conveyor) -> None:
    @app.job(unique_for=3600, unique_key=lambda product_id, shop_id: f"{product_id}:{shop_id}")
    def sync_product(product_id: int, shop_id: int) -> None: ...

    first = sync_product.enqueue(1, 2)
    again = sync_product.enqueue(1, shop_id=2)
    other = sync_product.enqueue(1, 3)
    assert (first.duplicate, again.duplicate, other.duplicate) == (False, True, False)
    assert again.id == first.id and again.state == JobState.AVAILABLE
    assert len(app.jobs()) == 2


def test_default_key_is_name_and_arguments_however_passed(app: Conveyor) -> None:
    @app.job(unique=True)
    def notify(user: int, channel: str = "sms") -> None: ...

    a = notify.enqueue(1)
    assert notify.enqueue(1, "sms").duplicate
    assert notify.enqueue(user=1, channel="sms").id == a.id
    assert not notify.enqueue(1, "email").duplicate


def test_unique_only_while_in_covered_states(app: Conveyor) -> None:
    @app.job(unique=True)
    def once(n: int) -> None: ...

    first = once.enqueue(1)
    app.drain()
    assert app.get(first.id).state == JobState.COMPLETED
    second = once.enqueue(1)  # completed is not covered by default: a new job
    assert not second.duplicate and second.id != first.id


def test_unique_for_is_an_aligned_time_window(app: Conveyor, clock: FrozenClock) -> None:
    clock.set(clock.now().replace(minute=0, second=0, microsecond=0))

    @app.job(unique_for=3600, unique_states=["scheduled", "available", "running",
                                             "retryable", "completed"])
    def hourly_report() -> None: ...

    first = hourly_report.enqueue()
    app.drain()
    clock.advance(1800)
    assert hourly_report.enqueue().id == first.id  # completed, same hour: still a duplicate
    clock.advance(1800)
    assert not hourly_report.enqueue().duplicate  # next hour


def test_replace_updates_the_waiting_job(app: Conveyor, clock: FrozenClock) -> None:
    @app.job(unique_key=lambda cart_id, **_: cart_id)
    def remind(cart_id: int, text: str) -> None: ...

    first = remind.options(delay=3600).enqueue(7, text="old")
    later = clock.now() + timedelta(hours=2)
    replaced = remind.options(on_conflict="replace", run_at=later, priority=3).enqueue(
        7, text="new")
    assert replaced.id == first.id and replaced.duplicate
    stored = app.get(first.id)
    assert (stored.kwargs, stored.run_at, stored.priority) == ({"text": "new"}, later, 3)
    assert remind.enqueue(7, text="ignored").kwargs == {"text": "new"}


def test_bad_unique_configuration(app: Conveyor) -> None:
    with pytest.raises(ConfigurationError, match="unique_for"):
        app.job(name="a", unique_for=-1)(lambda: None)
    with pytest.raises(ConfigurationError, match="unique_states"):
        app.job(name="b", unique_states=["exploded"])(lambda: None)
    with pytest.raises(ConfigurationError, match="on_conflict"):
        app.job(name="c", on_conflict="merge")(lambda: None)


def _race(url: str, rounds: int, tasks: int, barrier: multiprocessing.synchronize.Barrier,
          errors: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    app = Conveyor(url)

    @app.job(name="contended", unique_key=lambda round_, **_: round_)
    def contended(round_: int, who: int) -> None: ...

    async def main() -> None:
        for round_ in range(rounds):
            barrier.wait()
            results = await asyncio.gather(*(contended.aenqueue(round_, who)
                                             for who in range(tasks)), return_exceptions=True)
            for result in results:
                if isinstance(result, BaseException):
                    errors.put(repr(result))
        await app.aclose()

    asyncio.run(main())


@pytest.mark.slow
def test_racing_enqueues_make_exactly_one_row_per_key(app: Conveyor) -> None:
    """Each round, every process waits at a barrier, then enqueues the round's key from 16
    tasks at once: 4 x 16 racing inserts of one key per round. Every round waits for the
    slowest process, so the round count, not the race, sets the time (8 processes x 200
    rounds took 20 s on an idle 2-core machine, minutes on a loaded one; CONVEYOR_SOAK=1 runs
    that size)."""
    app.migrate()
    rounds, processes, tasks = (200, 8, 16) if SOAK else (50, 4, 16)
    ctx = multiprocessing.get_context("spawn")
    barrier, errors = ctx.Barrier(processes), ctx.Queue()
    workers = [ctx.Process(target=_race, args=(app.url, rounds, tasks, barrier, errors))
               for _ in range(processes)]
    for proc in workers:
        proc.start()
    for proc in workers:
        proc.join(timeout=240)
    assert [proc.exitcode for proc in workers] == [0] * processes
    seen = []
    while not errors.empty():
        seen.append(errors.get())
    assert seen == []
    jobs = app.jobs(JobFilter(limit=100_000))
    per_round = sorted(job.args[0] for job in jobs)
    assert per_round == list(range(rounds))


@pytest.mark.postgres
def test_a_duplicate_is_read_back_by_the_insert_itself(pg_url: str) -> None:
    """On PostgreSQL the statement that skips a duplicate also returns the row holding its
    key: one round trip, and no window in which that row could change in between."""
    import psycopg

    from conveyor.backends.postgres.backend import PostgresBackend
    from tests.conftest import _truncate
    from tests.contract.seam import NOW, new

    statements: list[str] = []

    class Counting(psycopg.Cursor):  # type: ignore[type-arg]
        def execute(self, query: object, *args: object, **kwargs: object) -> object:
            statements.append(str(query))
            return super().execute(query, *args, **kwargs)  # type: ignore[arg-type]

    _truncate(pg_url)
    unique = dataclasses.replace(new(), unique_key="k1", unique_states=0b11111111)
    other = dataclasses.replace(new(), unique_key="k2", unique_states=0b11111111)
    backend = PostgresBackend(pg_url)
    with psycopg.connect(pg_url, cursor_factory=Counting) as conn:
        first = backend.insert_on(conn, [unique], NOW, check_schema=False)[0]
        statements.clear()
        again = backend.insert_on(conn, [unique], NOW, check_schema=False)[0]
        assert (again.id, again.duplicate, again.state) == (first.id, True, JobState.AVAILABLE)
        assert len(statements) == 1
        statements.clear()
        both = backend.insert_on(conn, [unique, other], NOW, check_schema=False)
        assert [i.duplicate for i in both] == [True, False] and both[0].id == first.id
        assert len(statements) == 1


def test_a_duplicate_enqueue_is_one_storage_call(app: Conveyor) -> None:
    """The insert returns the job holding the key along with the skipped row (both engines):
    the enqueue reads nothing more, and returns that job as stored."""
    @app.job(unique=True)
    def once(n: int) -> None: ...

    first = once.options(priority=5).enqueue(1)
    before = {stat.method: stat.calls for stat in app.storage_calls.snapshot()}
    again = once.enqueue(1)
    after = {stat.method: stat.calls for stat in app.storage_calls.snapshot()}
    assert again.duplicate and (again.id, again.priority, again.args) == (first.id, 5, [1])
    assert again == dataclasses.replace(app.get(first.id), duplicate=True)
    assert {method: calls - before.get(method, 0) for method, calls in after.items()
            if calls != before.get(method, 0)} == {"insert": 1}
