"""Jobs that wait for other jobs, and chains - the same on every backend."""

from __future__ import annotations

import pytest

from conveyor import Conveyor, DependencyNotFound, JobFilter, current_job
from conveyor.changes import CancelJobs, DeleteJobs
from conveyor.model import JobState as S


def _states(app: Conveyor, *jobs: object) -> list[S]:
    return [app.get(job.id).state for job in jobs]  # type: ignore[attr-defined]


def test_dependant_waits_pending_until_its_dependency_completed(app: Conveyor) -> None:
    ran: list[str] = []

    @app.job(queue="parents")
    def parent() -> str:
        ran.append("parent")
        return "p"

    @app.job()
    def child() -> None:
        ran.append("child")

    first = parent.enqueue()
    second = child.options(depends_on=[first]).enqueue()
    assert second.state is S.PENDING
    assert app.drain(queues=["default"]) == 0  # pending: never claimed
    app.drain(queues=["parents"])
    assert _states(app, first, second) == [S.COMPLETED, S.AVAILABLE]
    app.drain()
    assert ran == ["parent", "child"]
    assert app.results_of(app.get(second.id)) == {first.id: "p"}


def test_waits_for_every_dependency(app: Conveyor) -> None:
    @app.job(queue="a")
    def left() -> None: ...

    @app.job(queue="b")
    def right() -> None: ...

    @app.job()
    def join() -> None: ...

    a, b = left.enqueue(), right.enqueue()
    both = join.options(depends_on=[a.id, b.id]).enqueue()
    app.drain(queues=["a"])
    assert app.get(both.id).state is S.PENDING
    app.drain(queues=["b"])
    assert app.get(both.id).state is S.AVAILABLE


def test_a_failed_dependency_cancels_dependants_in_cascade(app: Conveyor) -> None:
    @app.job(max_attempts=1)
    def fails() -> None:
        raise RuntimeError("boom")

    @app.job()
    def step(n: int) -> None: ...

    root = fails.enqueue()
    one = step.options(depends_on=[root]).enqueue(1)
    two = step.options(depends_on=[one]).enqueue(2)
    anyway = step.options(depends_on=[root], on_dependency_failure="run").enqueue(3)
    app.drain()
    assert _states(app, root, one, two, anyway) == [
        S.DISCARDED, S.CANCELLED, S.CANCELLED, S.COMPLETED]
    error = app.get(one.id).errors[-1]
    assert error.type == "DependencyFailed" and f"dependency {root.id}" in error.message
    assert f"dependency {one.id} ended cancelled" in app.get(two.id).errors[-1].message


def test_dependencies_that_already_ended(app: Conveyor) -> None:
    @app.job()
    def work(n: int) -> None: ...

    done = work.enqueue(1)
    app.drain()
    gone = work.enqueue(2)
    app.admin.apply(CancelJobs(), JobFilter(ids=[gone.id]))
    assert work.options(depends_on=[done]).enqueue(3).state is S.AVAILABLE
    assert work.options(depends_on=[gone]).enqueue(4).state is S.CANCELLED
    assert work.options(depends_on=[done, gone], on_dependency_failure="run").enqueue(5) \
        .state is S.AVAILABLE


def test_unknown_dependency_fails_clearly_and_writes_nothing(app: Conveyor) -> None:
    @app.job()
    def work(n: int) -> None: ...

    real = work.enqueue(1)
    with pytest.raises(DependencyNotFound, match=r"depends on job\(s\) \[999999\]"):
        work.options(depends_on=[real.id, 999999]).enqueue(2)
    with pytest.raises(DependencyNotFound):
        work.enqueue_many([((3,), {})]) and work.options(depends_on=[424242]).enqueue_many(
            [((4,), {}), ((5,), {})])
    assert [j.args for j in app.jobs()] == [[1], [3]]
    assert app.get(real.id).state is S.AVAILABLE


def test_operator_cancel_and_delete_cascade_to_dependants(app: Conveyor) -> None:
    @app.job()
    def work(n: int) -> None: ...

    a = work.options(delay=60).enqueue(1)
    after_a = work.options(depends_on=[a]).enqueue(2)
    b = work.options(delay=60).enqueue(3)
    after_b = work.options(depends_on=[b]).enqueue(4)
    app.admin.apply(CancelJobs(), JobFilter(ids=[a.id]))
    app.admin.apply(DeleteJobs(), JobFilter(ids=[b.id]))
    assert _states(app, after_a, after_b) == [S.CANCELLED, S.CANCELLED]


def test_chain_runs_in_order_and_reads_the_previous_result(app: Conveyor) -> None:
    seen: list[tuple[int, object]] = []

    @app.job()
    async def step(n: int) -> int:
        job = current_job()
        previous = await app.aresults_of(job)
        seen.append((n, next(iter(previous.values())) if previous else None))
        return n * 10

    first, second, third = app.chain(step.s(1), step.s(2), step.s(3))
    assert [first.state, second.state, third.state] == [S.AVAILABLE, S.PENDING, S.PENDING]
    assert third.depends_on == app.get(third.id).depends_on == [second.id]
    assert [first, second, third] == [app.get(job.id) for job in (first, second, third)]
    app.drain()
    assert seen == [(1, None), (2, 10), (3, 20)]


def test_chain_stops_at_a_failure(app: Conveyor) -> None:
    @app.job(max_attempts=1)
    def step(n: int) -> None:
        if n == 2:
            raise ValueError("no")

    jobs = app.chain(step.s(1), step.s(2), step.s(3), step.s(4))
    app.drain()
    assert _states(app, *jobs) == [S.COMPLETED, S.DISCARDED, S.CANCELLED, S.CANCELLED]


async def test_repair_releases_dependants_left_unresolved(url: str, app: Conveyor) -> None:
    """A worker that died between settling a job and releasing its dependants."""
    from tests.conftest import raw

    @app.job()
    def work(n: int) -> None: ...

    parent = await work.aenqueue(1)
    child = await work.options(depends_on=[parent]).aenqueue(2)
    raw(url, "UPDATE conveyor_jobs SET state = 'completed', finalized_at = inserted_at "
             "WHERE id = ?", (parent.id,))
    backend = await app.storage()
    assert (await app.aget(child.id)).state is S.PENDING
    assert await backend.repair(app.clock.now(), 20) == 1
    assert (await app.aget(child.id)).state is S.AVAILABLE
    assert await backend.repair(app.clock.now(), 20) == 0
