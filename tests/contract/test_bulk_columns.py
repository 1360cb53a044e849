"""Bulk enqueues written column by column (`jobrows`, from `COLUMNS_FROM` rows): every row
lands as given, whatever varies between rows, and duplicates of unique jobs are reported as
the row-by-row path reports them. Each case runs below and above the threshold."""

from __future__ import annotations

from datetime import timedelta

import pytest

from conveyor import Conveyor, FrozenClock, JobState, jobrows

SIZES = pytest.mark.parametrize("extra", [0, jobrows.COLUMNS_FROM], ids=["few", "many"])
"""Rows added to each case: with them it is written column by column."""


def test_every_row_reads_back_as_enqueued(app: Conveyor) -> None:  # 60 rows: many
    @app.job()
    def work(n: int, label: str = "", *, tags: list[str] | None = None) -> None: ...

    calls = [((n,), {"tags": ["a", f"t{n}"]} if n % 3 == 0 else {}) for n in range(50)]
    calls += [((n, f'say "hi" \\ {n} é'), {}) for n in range(50, 60)]
    jobs = work.enqueue_many(calls)
    stored = {job.id: job for job in app.jobs()}
    assert len(stored) == 60 and jobs.ids == sorted(jobs.ids)
    for job, (args, kwargs) in zip(jobs, calls, strict=True):
        assert (job.args, job.kwargs) == (list(args), kwargs)
        assert (stored[job.id].args, stored[job.id].kwargs) == (list(args), kwargs)
        assert stored[job.id].state == JobState.AVAILABLE and job.state == JobState.AVAILABLE


@SIZES
def test_rows_alike_get_ids_of_their_own(app: Conveyor, extra: int) -> None:
    @app.job()
    def ping() -> None: ...

    jobs = ping.enqueue_many([((), {})] * (5 + extra))
    assert len(set(jobs.ids)) == 5 + extra and len(app.jobs()) == 5 + extra


@SIZES
def test_options_of_the_call_apply_to_every_row(app: Conveyor, clock: FrozenClock,
                                                extra: int) -> None:
    @app.job(queue="bulk")
    def work(n: int) -> None: ...

    jobs = work.options(priority=3, delay=60, max_attempts=2).enqueue_many(
        [((n,), {}) for n in range(4 + extra)])
    for job in app.jobs():
        assert (job.queue, job.priority, job.max_attempts, job.state) == (
            "bulk", 3, 2, JobState.SCHEDULED)
        assert job.run_at == clock.now() + timedelta(seconds=60)
    assert [job.args for job in jobs] == [[n] for n in range(4 + extra)]


@SIZES
def test_unique_bulk_reports_duplicates_old_and_new(app: Conveyor, extra: int) -> None:
    @app.job(unique=True)
    def sync(n: int) -> None: ...

    old = sync.enqueue(2)
    more = [((100 + n,), {}) for n in range(extra)]
    jobs = sync.enqueue_many([((1,), {}), ((2,), {}), ((3,), {}), ((1,), {}), ((4,), {}), *more])
    assert jobs.duplicates == [False, True, False, True, False] + [False] * extra
    assert jobs.ids[1] == old.id and jobs.ids[3] == jobs.ids[0]
    assert jobs[1].duplicate and jobs[1].args == [2] and jobs[3].args == [1]
    assert len({jobs.ids[k] for k in (0, 2, 4)} | {old.id}) == 4
    assert sorted(job.args[0] for job in app.jobs()) == [1, 2, 3, 4] + [100 + n for n in
                                                                         range(extra)]
    again = sync.enqueue_many([((n,), {}) for n in range(1, 5)] + more)
    assert again.duplicates == [True] * (4 + extra) and len(app.jobs()) == 4 + extra
    assert again.ids == [jobs.ids[k] for k in (0, 1, 2, 4)] + jobs.ids[5:]


@SIZES
def test_unique_bulk_replace_updates_the_waiting_job(app: Conveyor, extra: int) -> None:
    @app.job(unique=True, unique_key=lambda n, **_: n)
    def sync(n: int, version: int = 0) -> None: ...

    first = sync.enqueue(1, 0)
    jobs = sync.options(on_conflict="replace", priority=5).enqueue_many(
        [((1, 7), {}), ((2, 7), {})] + [((100 + n, 7), {}) for n in range(extra)])
    assert jobs.duplicates == [True] + [False] * (1 + extra) and jobs.ids[0] == first.id
    stored = app.get(first.id)
    assert stored.args == [1, 7] and stored.priority == 5


def test_a_batch_of_mixed_calls_lands_row_for_row(app: Conveyor, clock: FrozenClock) -> None:
    @app.job(queue="a")
    def first(n: int) -> None: ...

    @app.job(queue="b", priority=2)
    def second(n: int, word: str = "") -> None: ...

    calls = []
    for n in range(40):  # names, queues, priorities, arguments and times all vary
        clock.advance(1)
        calls.append(first.s(n) if n % 2 else second.s(n, word=f"w{n}"))
    batch = app.batch(calls, name="mixed")
    stored = sorted(app.jobs(), key=lambda job: job.id)
    assert batch.progress.total == 40 and len(stored) == 40
    for n, (job, call) in enumerate(zip(stored, calls, strict=True)):
        assert (job.name, job.queue, job.priority, job.run_at, job.batch_id) == (
            call.row.name, call.row.queue, call.row.priority, call.row.run_at, batch.id)
        assert (job.args, job.kwargs) == ([n], {} if n % 2 else {"word": f"w{n}"})


@pytest.mark.parametrize("unique", [False, True], ids=["plain", "unique"])
def test_a_bulk_too_big_for_one_statement_is_written_in_parts(
        app: Conveyor, monkeypatch: pytest.MonkeyPatch, unique: bool) -> None:
    from conveyor.backends.sqlite import inserts

    monkeypatch.setattr(inserts, "MAX_JSON", 200)  # a few rows a statement (SQLite only)

    @app.job(unique=unique)
    def work(n: int) -> None: ...

    calls = [((n % 30,), {}) for n in range(45)]
    jobs = work.enqueue_many(calls)
    assert [job.args for job in jobs] == [[n % 30] for n in range(45)]
    assert jobs.duplicates == [unique and n >= 30 for n in range(45)]
    stored = {job.id: job.args for job in app.jobs()}
    assert len(stored) == (30 if unique else 45)
    assert all(stored[job_id] == [n % 30] for n, job_id in enumerate(jobs.ids))
