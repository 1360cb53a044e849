"""`conveyor.testing.drain(until=...)`: everything due up to a moment runs, in time order, on
the frozen clock, on both backends."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from conveyor import (
    ConfigurationError,
    Conveyor,
    ConveyorError,
    FrozenClock,
    JobState,
    Snooze,
    testing,
)
from conveyor.testing import clockwork


def test_delayed_jobs_run_at_their_moment_and_the_clock_ends_at_until(
        app: Conveyor, clock: FrozenClock) -> None:
    start, ran = clock.now(), []

    @app.job(name="tagged")
    def tagged(tag: str) -> None:
        ran.append((tag, clock.now() - start))

    tagged.options(delay=3600).enqueue("late")
    tagged.options(delay=60).enqueue("soon")
    tagged.enqueue("now")
    assert testing.drain(app, until=1800) == 2
    assert ran == [("now", timedelta(0)), ("soon", timedelta(seconds=60))]
    assert clock.now() == start + timedelta(seconds=1800)
    assert testing.drain(app, until=timedelta(hours=1)) == 1
    assert ran[-1] == ("late", timedelta(seconds=3600))
    assert clock.now() == start + timedelta(seconds=5400)


def test_retries_and_snoozes_run_after_their_delays(app: Conveyor, clock: FrozenClock) -> None:
    start, attempts, naps = clock.now(), [], []

    @app.job(name="flaky", backoff=[30, 60], max_attempts=3)
    def flaky() -> None:
        attempts.append(clock.now() - start)
        if len(attempts) < 3:
            raise RuntimeError("not yet")

    @app.job(name="sleepy")
    def sleepy() -> None:
        naps.append(clock.now() - start)
        if len(naps) == 1:
            raise Snooze(120)

    flaky.enqueue()
    sleepy.enqueue()
    assert testing.drain(app, until=200) == 5
    assert attempts == [timedelta(0), timedelta(seconds=30), timedelta(seconds=90)]
    assert naps == [timedelta(0), timedelta(seconds=120)]
    assert {job.state for job in app.jobs()} == {JobState.COMPLETED}


def test_each_cron_slot_fires_once_in_order(app: Conveyor, clock: FrozenClock) -> None:
    clock.set(datetime.fromisoformat("2030-01-07T09:10:00+00:00"))
    slots = []

    @app.job(name="hourly")
    def hourly() -> None:
        slots.append(clock.now().isoformat())

    app.cron("0 * * * *", hourly)
    testing.drain(app, until=datetime.fromisoformat("2030-01-07T12:30:00+00:00"))
    assert slots == ["2030-01-07T10:00:00+00:00", "2030-01-07T11:00:00+00:00",
                     "2030-01-07T12:00:00+00:00"]
    assert testing.drain(app, until=1200) == 0  # 12:50: no slot yet


def test_batch_callbacks_and_dependants_run_in_the_same_drain(app: Conveyor) -> None:
    done: list[str] = []

    @app.job(name="step")
    def step(tag: str) -> str:
        done.append(tag)
        return tag

    batch = app.batch([step.s("a"), step.s("b")], on_success=step.s("callback"))
    app.chain(step.s("first"), step.s("second"))
    testing.drain(app)
    assert done.index("callback") > max(done.index("a"), done.index("b"))
    assert done.index("second") > done.index("first")
    assert app.get_batch(batch.id).progress.completed == 2


def test_rate_limited_jobs_run_at_the_slots_of_their_key(app: Conveyor,
                                                         clock: FrozenClock) -> None:
    start, starts = clock.now(), []

    @app.job(name="throttled", rate_limit="1/m", rate_key=lambda n: "k")
    def throttled(n: int) -> None:
        starts.append((clock.now() - start).total_seconds())

    throttled.enqueue_many([((n,), {}) for n in range(3)])
    assert testing.drain(app, until=150) == 3
    assert starts[0] == 0
    assert 60 <= starts[1] - starts[0] < 61 and 60 <= starts[2] - starts[1] < 61


def test_a_job_that_never_settles_is_reported_not_looped_forever(app: Conveyor) -> None:
    @app.job(name="insomniac")
    def insomniac() -> None:
        raise Snooze(1)

    insomniac.enqueue()
    with pytest.raises(ConveyorError, match="gave up after 20 moments"):
        testing.drain(app, until=timedelta(days=1), max_steps=20)


def test_until_must_be_forward_aware_and_the_clock_frozen(app: Conveyor, url: str) -> None:
    now = app.clock.now()
    with pytest.raises(ConfigurationError, match="before the clock's now"):
        testing.drain(app, until=now - timedelta(seconds=1))
    with pytest.raises(ConfigurationError, match="has no time zone"):
        testing.drain(app, until=datetime(2030, 1, 1))
    with pytest.raises(ConfigurationError, match="not a datetime"):
        clockwork.moment("tomorrow", now)  # type: ignore[arg-type]
    live = Conveyor(url)
    try:
        with pytest.raises(ConfigurationError, match="must be a FrozenClock"):
            testing.drain(live, until=10)
        assert testing.drain(live) == 0  # without until, any clock will do
    finally:
        live.close()
