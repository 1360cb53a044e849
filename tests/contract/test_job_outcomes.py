"""Whatever a job raises or returns, its attempt ends with a stored outcome, on every backend:
no job stays `running` behind a live worker, and no worker task dies unnoticed."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest

from conveyor import Conveyor, FrozenClock, JobState
from conveyor.registry import JobType
from tests import misbehaviour


def _misbehaving(app: Conveyor, kind: str) -> JobType[Any, Any]:
    if kind == "async":
        async def misbehaving_async(action: str) -> Any:
            return misbehaviour.misbehave(action)

        return app.job(name="misbehaving", max_attempts=1)(misbehaving_async)

    def misbehaving(action: str) -> Any:
        return misbehaviour.misbehave(action)

    return app.job(name="misbehaving", max_attempts=1)(misbehaving)


@pytest.fixture(params=["plain", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.parametrize("action", sorted(misbehaviour.RAISES))
def test_anything_a_job_raises_ends_its_attempt(app: Conveyor, kind: str, action: str,
                                                caplog: pytest.LogCaptureFixture) -> None:
    job = _misbehaving(app, kind).enqueue(action)
    assert app.drain() == 1
    stored = app.get(job.id)
    assert stored.state == JobState.DISCARDED, stored
    assert stored.errors[-1].type == type(misbehaviour.RAISES[action]()).__name__
    assert "Task exception was never retrieved" not in caplog.text
    assert (stored.attempt, app.drain()) == (1, 0)


def test_unprintable_errors_are_stored_readably(app: Conveyor, kind: str) -> None:
    job_type = _misbehaving(app, kind)
    ids = [job_type.enqueue(action).id for action in
           ("str_raises", "str_and_repr_raise", "nul_and_surrogate_message")]
    app.drain()
    messages = [app.get(job_id).errors[-1].message for job_id in ids]
    assert messages == ["StrRaises()", "<StrAndReprRaise whose str() and repr() both raised>",
                        "bad\\x00byte and a lone \\ud800 surrogate"]
    assert "in misbehave" in app.get(ids[0]).errors[-1].traceback


@pytest.mark.parametrize("action", sorted(misbehaviour.RETURNS))
def test_anything_a_job_returns_ends_its_attempt(app: Conveyor, kind: str,
                                                 action: str) -> None:
    job = _misbehaving(app, kind).enqueue(action)
    assert app.drain() == 1
    stored = app.get(job.id)
    assert (stored.state, stored.result) == (JobState.DISCARDED, None)
    assert stored.errors[-1].type == "Unserializable"
    assert "result of job 'misbehaving' cannot be stored" in stored.errors[-1].message


def test_a_failing_backoff_policy_still_ends_the_attempt(app: Conveyor, clock: FrozenClock,
                                                         caplog: pytest.LogCaptureFixture,
                                                         ) -> None:
    def broken_policy(attempt: int) -> float:
        raise ZeroDivisionError("policy bug")

    @app.job(max_attempts=3, backoff=broken_policy)
    def flaky() -> None:
        raise ConnectionError("down")

    job = flaky.enqueue()
    with caplog.at_level(logging.ERROR, logger="conveyor.worker"):
        app.drain()
    stored = app.get(job.id)
    assert (stored.state, stored.attempt) == (JobState.RETRYABLE, 1)
    assert stored.run_at == clock.now() + timedelta(seconds=60)
    assert "policy bug" in stored.errors[-1].message
    assert "could not decide how it ended" in caplog.text


def test_control_exceptions_refuse_non_finite_delays(app: Conveyor) -> None:
    from conveyor import Snooze

    @app.job(max_attempts=1)
    def sleepy(seconds: float) -> None:
        raise Snooze(seconds)

    job = sleepy.enqueue(5)
    app.drain()
    assert app.get(job.id).state == JobState.SCHEDULED
    with pytest.raises(ValueError, match="finite"):
        Snooze(float("inf"))
    with pytest.raises(ValueError, match="finite"):
        Snooze(float("nan"))


async def test_a_job_storage_holds_running_for_a_worker_that_does_not_is_failed(
        app: Conveyor, caplog: pytest.LogCaptureFixture) -> None:
    """The worker's own heartbeat keeps its jobs from being rescued, so the worker checks its
    books: a job held running in its name that it does not run (here: claimed behind its
    back) is failed after two checks, to run again."""
    import asyncio
    import dataclasses

    from conveyor.worker import runner

    app.settings = dataclasses.replace(app.settings, heartbeat_interval=0.05)

    @app.job(name="work", queue="elsewhere")
    def work() -> None: ...

    job = await work.aenqueue()
    worker = runner.Worker(app, runner.WorkerConfig(
        queues=("other",), leader=False, heartbeat_thread=False, install_signals=False,
        idle_wait=0.05))
    running = asyncio.create_task(worker.run())
    backend = await app.storage()
    claimed = await backend.claim(["elsewhere"], 1, worker.id, app.clock.now())
    assert [j.id for j in claimed] == [job.id]
    try:
        for _ in range(200):
            if (await app.aget(job.id)).state != JobState.RUNNING:
                break
            await asyncio.sleep(0.05)
    finally:
        worker.request_stop()
        await running
    stored = await app.aget(job.id)
    assert (stored.state, stored.attempt) == (JobState.RETRYABLE, 1)
    assert stored.errors[-1].type == "LostTrack"
    assert "does not run it" in caplog.text
    await app.aclose()


def test_a_job_killed_at_its_timeout_says_which_timeout(app: Conveyor) -> None:
    import asyncio

    @app.job(name="sleepy", timeout=0.05, max_attempts=1)
    async def sleepy() -> None:
        await asyncio.sleep(30)

    job = sleepy.enqueue()
    app.drain()
    stored = app.get(job.id)
    assert (stored.state, stored.errors[-1].type) == (JobState.DISCARDED, "TimeoutError")
    assert stored.errors[-1].message == \
        "job 'sleepy' ran past its timeout of 0.05s and was cancelled"


def test_a_timeout_raised_by_job_code_is_its_own(app: Conveyor) -> None:
    @app.job(name="impatient", timeout=30, max_attempts=1)
    async def impatient() -> None:
        raise TimeoutError("the shop API did not answer")

    job = impatient.enqueue()
    app.drain()
    assert app.get(job.id).errors[-1].message == "the shop API did not answer"


def test_waiting_too_long_for_a_job_names_it(app: Conveyor) -> None:
    @app.job(name="later")
    def later() -> None: ...

    job = later.enqueue()
    with pytest.raises(TimeoutError, match=rf"job {job.id} \(later\) is still available after "
                                           r"waiting 0\.05s"):
        app.wait(job.id, timeout=0.05)


@pytest.mark.parametrize("snoozes", [1, None])  # None: every time
def test_drain_returns_when_a_job_snoozes_for_no_time(app: Conveyor, snoozes: int | None,
                                                      ) -> None:
    """Snooze(0) makes the job due again at once: a burst runs it again, but running only
    jobs that snoozed during the burst is not progress, so the burst still ends."""
    from conveyor import Snooze

    runs: list[int] = []

    @app.job(name="yielding")
    def yielding() -> str:
        runs.append(1)
        if snoozes is None or len(runs) <= snoozes:
            raise Snooze(0)
        return "done"

    job = yielding.enqueue()
    app.drain()
    stored = app.get(job.id)
    if snoozes is None:
        assert stored.state in (JobState.SCHEDULED, JobState.AVAILABLE) and stored.attempt == 0
        assert 1 < len(runs) <= 3
    else:
        assert (stored.state, stored.result, len(runs)) == (JobState.COMPLETED, "done", 2)


def test_drain_returns_when_a_job_is_rate_limited_for_no_time(app: Conveyor) -> None:
    from conveyor import RateLimited

    @app.job(name="throttled", rate_limit="100/s", rate_key=lambda: "api")
    def throttled() -> None:
        raise RateLimited(retry_after=0, key="api")

    job = throttled.enqueue()
    app.drain()
    assert app.get(job.id).attempt == 0


def test_an_on_discard_hook_that_raises_anything_does_not_stop_settling(
        app: Conveyor, caplog: pytest.LogCaptureFixture) -> None:
    def hook(job: Any, exc: BaseException | None) -> None:
        raise SystemExit("hook gave up")

    @app.job(name="doomed", max_attempts=1, on_discard=hook)
    def doomed() -> None:
        raise ValueError("no")

    @app.job(name="fine")
    def fine() -> str:
        return "ok"

    first = doomed.enqueue()
    assert app.drain() == 1
    second = fine.enqueue()
    assert app.drain() == 1
    assert (app.get(first.id).state, app.get(second.id).result) == (JobState.DISCARDED, "ok")
    assert "on_discard hook of job" in caplog.text
