"""Which jobs a worker takes: registered names from queues it found, anything from queues it
was given, and nothing at all without registered jobs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from conveyor import ConfigurationError, Conveyor, FrozenClock, JobState, model
from conveyor.backends import base
from conveyor.worker import queues, runner

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _row(name: str, queue: str, now: datetime = NOW) -> model.NewJob:
    return model.NewJob(name=name, queue=queue, priority=0, args_json="[]", kwargs_json="{}",
                        max_attempts=5, run_at=now)


def test_a_worker_without_registered_jobs_refuses_to_start(app: Conveyor,
                                                          clock: FrozenClock) -> None:
    with pytest.raises(ConfigurationError, match=r"no job is registered.*--app MODULE:APP"):
        runner.Worker(app)
    (other,) = app.blocking.run(lambda: app.insert([_row("another.app.job", "default",
                                                         clock.now())]))
    assert (app.drain(), app.drain(queues=["default"])) == (0, 0)  # runs nothing, takes nothing
    assert (app.get(other.id).state, app.get(other.id).attempt) == (JobState.AVAILABLE, 0)


def test_jobs_of_known_names_are_served_from_any_queue(app: Conveyor) -> None:
    @app.job(queue="sync")
    def work(n: int) -> int:
        return n

    elsewhere = work.options(queue="elsewhere").enqueue(1)
    home = work.enqueue(2)
    assert app.drain() == 2
    assert [app.get(j.id).state for j in (elsewhere, home)] == [JobState.COMPLETED] * 2


def test_unknown_names_are_left_in_queues_the_worker_was_not_given(
        app: Conveyor, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch) -> None:
    @app.job(name="mine")
    def mine() -> str:
        return "ran"

    theirs, known = app.blocking.run(lambda: app.insert(
        [_row("another.app.job", "theirs", clock.now()), _row("mine", "theirs", clock.now())]))
    backend = app.blocking.run(app.storage)

    async def no_counts() -> None:
        raise AssertionError("a worker must not count the whole table to find queues")

    monkeypatch.setattr(backend, "counts", no_counts)
    assert app.drain() == 1
    left = app.get(theirs.id)
    assert (left.state, left.attempt, left.errors) == (JobState.AVAILABLE, 0, ())
    assert app.get(known.id).state == JobState.COMPLETED


def test_given_queues_take_any_job_and_retry_unknown_names_later(app: Conveyor,
                                                                 clock: FrozenClock) -> None:
    @app.job(name="mine")
    def mine() -> None: ...

    (unknown,) = app.blocking.run(lambda: app.insert(
        [_row("another.app.job", "theirs", clock.now())]))
    assert app.drain(queues=["theirs"]) == 1
    stored = app.get(unknown.id)
    assert (stored.state, stored.attempt) == (JobState.RETRYABLE, 1)
    assert stored.errors[-1].type == "UnknownJob"


async def test_waiting_queues_finds_queues_with_jobs_of_the_given_names(
        backend: base.Backend) -> None:
    await backend.insert([_row("a", "q1"), _row("b", "q2"), _row("c", "q3"), _row("a", "q4"),
                          _row("a", "served")], NOW)
    await backend.insert([_row("a", "later", datetime(2030, 1, 1, tzinfo=UTC))], NOW)
    assert await backend.waiting_queues(["a", "b"], ["served"]) == ["q1", "q2", "q4"]
    assert await backend.waiting_queues(["c"], []) == ["q3"]
    assert await backend.waiting_queues(["nobody"], []) == []


async def test_claim_with_names_takes_only_those(backend: base.Backend) -> None:
    await backend.insert([_row("theirs", "q"), _row("mine", "q"), _row("theirs", "q")], NOW)
    claimed = await backend.claim(["q"], 10, "w1", NOW, names=["mine"])
    assert [job.name for job in claimed] == ["mine"]
    assert len(await backend.claim(["q"], 10, "w1", NOW)) == 2


async def test_found_queues_are_looked_up_rarely(app: Conveyor) -> None:
    @app.job(name="mine", queue="home")
    def mine() -> None: ...

    plan = queues.QueuePlan(app, lookup_interval=3600)
    backend = await app.storage()
    assert await plan.look(backend) == []
    await mine.options(queue="away").aenqueue()
    assert await plan.look(backend) == []  # not yet: the last look is recent
    assert await plan.look(backend, now=True) == ["away"]
    assert queues.QueuePlan(app, ["home"]).served == ["home"]
    await app.aclose()
