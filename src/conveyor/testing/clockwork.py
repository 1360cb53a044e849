"""`drain(app, until=...)`: run everything due up to a moment, in time order, on a frozen clock.

A test says "a day passes" and expects what a worker would have done in that day: the delayed
job ran, the failed one was retried after its backoff, the snoozed one woke up, every hourly
cron slot fired once, the batch's callback ran. So the clock is not jumped to the end: it is
moved to each next moment something becomes due (a job's `run_at`, a cron slot, a rate key's
next free slot), and at each one the leader's chores run (staging, cron) and then every due
job, until nothing is due before `until`. The clock ends at `until`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from conveyor import cron, crontab, errors, model
from conveyor.app import Conveyor
from conveyor.backends import base
from conveyor.clock import FrozenClock
from conveyor.worker import leader

Moment = datetime | timedelta | float | int
MAX_STEPS = 10_000
"""Moments a drain visits at most before it gives up: something keeps rescheduling itself."""


def drain(app: Conveyor, until: Moment | None = None, *, queues: Sequence[str] | None = None,
          concurrency: int = 10, max_steps: int = MAX_STEPS) -> int:
    """Run every job due now, or with `until` (a datetime, or seconds/timedelta from now)
    everything due up to then, moving `app.clock` (a `FrozenClock`) forward. Returns how
    many attempts ran."""
    return app.blocking.run(lambda: adrain(app, until, queues=queues, concurrency=concurrency,
                                           max_steps=max_steps))


async def adrain(app: Conveyor, until: Moment | None = None, *,
                 queues: Sequence[str] | None = None, concurrency: int = 10,
                 max_steps: int = MAX_STEPS) -> int:
    """Coroutine twin of `drain`."""
    end = None if until is None else moment(until, _frozen(app).now())
    backend = await app.storage()
    scheduler = crontab.Scheduler(app.schedules, backend)
    await scheduler.declare(app.clock.now())  # what every worker does when it starts
    ran = await _run_due(app, backend, scheduler, queues, concurrency)
    if end is None:
        return ran
    clock = _frozen(app)
    for _ in range(max_steps):
        upcoming = await next_due(app, backend)
        if upcoming is None or upcoming > end:
            clock.set(max(end, clock.now()))
            return ran + await _run_due(app, backend, scheduler, queues, concurrency)
        clock.set(upcoming)
        ran += await _run_due(app, backend, scheduler, queues, concurrency)
    raise errors.ConveyorError(
        f"drain(until={end.isoformat()}) gave up after {max_steps} moments at "
        f"{clock.now().isoformat()}: something keeps becoming due (a job that snoozes or "
        "retries without end, or a frequent cron schedule over a long span); pass a nearer "
        "`until` or a larger `max_steps`")


def moment(until: Moment, now: datetime) -> datetime:
    """`until` as an aware datetime: a datetime as is, seconds or a timedelta from `now`."""
    if isinstance(until, datetime):
        if until.tzinfo is None:
            raise errors.ConfigurationError(
                f"until={until!r} has no time zone; pass an aware datetime, e.g. "
                "datetime(2030, 1, 1, tzinfo=UTC)")
        when = until.astimezone(UTC)
    elif isinstance(until, timedelta):
        when = now + until
    elif isinstance(until, int | float) and not isinstance(until, bool):
        when = now + timedelta(seconds=until)
    else:
        raise errors.ConfigurationError(
            f"until={until!r:.60} is not a datetime, a timedelta or a number of seconds")
    if when < now:
        raise errors.ConfigurationError(
            f"until={when.isoformat()} is before the clock's now ({now.isoformat()}): a "
            "drain only moves time forward")
    return when


async def next_due(app: Conveyor, backend: base.Backend) -> datetime | None:
    """The next moment after now that something becomes due: a waiting job's `run_at`, an
    unpaused cron slot, or a rate-limited key's next slot."""
    now = app.clock.now()
    found: list[datetime] = []
    waiting = base.JobFilter(states=[model.JobState.SCHEDULED, model.JobState.RETRYABLE])
    soonest: datetime | None = None
    async for job in app.admin.aiter_jobs(waiting, order="oldest"):
        if job.run_at > now and (soonest is None or job.run_at < soonest):
            soonest = job.run_at
    if soonest is not None:
        found.append(soonest)
    found.extend(_next_slots(await backend.schedules(), now))
    unblock = await backend.next_unblock(now)
    if unblock is not None and unblock > now:
        found.append(unblock)
    return min(found, default=None)


def _next_slots(states: Sequence[base.ScheduleState], now: datetime) -> list[datetime]:
    slots = []
    for state in states:
        if state.paused or state.definition is None:
            continue
        try:
            schedule = cron.from_definition(state.name, state.definition)
        except errors.InvalidSchedule:
            continue  # the scheduler skips it too (and logs why)
        slot = schedule.next_runs(max(state.last_slot, now))[0]
        slots.append(slot)
    return slots


async def _run_due(app: Conveyor, backend: base.Backend, scheduler: crontab.Scheduler,
                   queues: Sequence[str] | None, concurrency: int) -> int:
    """What a worker does at this moment: the leader stages due jobs and fires due cron
    slots, then every due job runs (and what those enqueue, if it is due)."""
    await leader.stage_all(app, backend)
    await scheduler.tick(app.clock.now())
    return await app.adrain(queues, concurrency)


def _frozen(app: Conveyor) -> FrozenClock:
    if not isinstance(app.clock, FrozenClock):
        raise errors.ConfigurationError(
            f"drain(until=...) moves the clock of {app!r}, which must be a FrozenClock; "
            f"it has a {type(app.clock).__name__} (use conveyor.testing.attach(app, "
            "clock=FrozenClock()), or the conveyor_app fixture)")
    return app.clock
