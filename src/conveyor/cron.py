"""Cron schedules: a job enqueued at every slot of a cron expression, exactly once per slot.

Expressions are read by `cronsim` (small, no dependencies, and handles daylight saving the
way Debian's cron does: a slot in the skipped hour runs just after the jump, a slot in the
repeated hour runs once). The leader fires schedules: for each, it moves the stored
`last_slot` forward with a compare-and-set and inserts the slot's job in the same
transaction, so several schedulers - or a clock that jumps back - never fire a slot twice.
Each job also carries the unique key `cron:<name>:<slot>` as a second guard.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from conveyor import encoding, errors, model, options, registry, unique

if TYPE_CHECKING:
    from conveyor.backends.base import Backend, ScheduleState

log = logging.getLogger("conveyor.cron")
FIELDS = ("minute", "hour", "day-of-month", "month", "day-of-week")
ALIASES = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
           "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
           "@hourly": "0 * * * *"}
MISFIRE_POLICIES = ("skip", "run_once", "catch_up")


@dataclasses.dataclass(frozen=True, slots=True)
class Schedule:
    """A job to enqueue at every slot of `expression`, read in time zone `tz`."""

    name: str
    expression: str
    """As written (an alias such as @hourly is kept); `fields` is what is evaluated."""
    fields: str
    tz: ZoneInfo
    call: registry.Signature
    misfire: str = "run_once"
    """Slots missed while no scheduler ran: "skip" them, "run_once" for the latest, or
    "catch_up" every one of them (the newest `catch_up_limit`)."""
    catch_up_limit: int = 10
    grace: float = 60.0
    """Seconds after its slot that a job still counts as on time (not missed)."""

    def slots(self, after: datetime, until: datetime, limit: int) -> list[datetime]:
        """Slots in (after, until], newest first, at most `limit`, as UTC datetimes."""
        found: list[datetime] = []
        for slot in _backwards(self.fields, until.astimezone(self.tz) + timedelta(microseconds=1)):
            if slot <= after or len(found) >= limit:
                break
            found.append(slot)
        return found

    def next_runs(self, after: datetime, count: int = 1) -> list[datetime]:
        runs = CronSim(self.fields, after.astimezone(self.tz))
        return [next(runs).astimezone(UTC) for _ in range(count)]

    def to_fire(self, due: Sequence[datetime], now: datetime) -> list[datetime]:
        """Which of the due slots (newest first) get a job under the misfire policy."""
        if not due:
            return []
        if self.misfire == "catch_up":
            return sorted(due[: self.catch_up_limit])
        if self.misfire == "skip":
            return [due[0]] if (now - due[0]).total_seconds() <= self.grace else []
        return [due[0]]

    def job_for(self, slot: datetime) -> model.NewJob:
        row = self.call.new_job()
        meta = {**encoding.loads(row.meta_json), "cron": self.name, "slot": slot.isoformat()}
        return dataclasses.replace(
            row, run_at=slot, meta_json=encoding.dumps(meta, what="cron meta"),
            unique_key=f"cron:{self.name}:{slot.isoformat()}",
            unique_states=unique.states_mask(list(model.JobState)))


def _backwards(fields: str, start: datetime) -> Iterator[datetime]:
    for slot in CronSim(fields, start, reverse=True):
        yield slot.astimezone(UTC)


def call_of(expression: Any, job: Any, args: Any, kwargs: Any, name: Any) -> registry.Signature:
    """The call a schedule enqueues: a declared job with `args`/`kwargs`, or a signature
    (`job.s(...)`) carrying its own; anything else is an `InvalidSchedule`."""
    label = name if name is not None else getattr(job, "name", None) or expression

    def fail(problem: str) -> errors.InvalidSchedule:
        return errors.InvalidSchedule(f"cron schedule {label!r}: {problem}")

    if name is not None and (not isinstance(name, str) or not name.strip()
                             or not name.isprintable()):
        raise fail("name= must be a non-empty printable string")
    if not isinstance(args, list | tuple):
        raise fail(f"args= must be a list or tuple of arguments, got {type(args).__name__}")
    if kwargs is not None and (not isinstance(kwargs, dict)
                               or not all(isinstance(key, str) for key in kwargs)):
        raise fail(f"kwargs= must be a dict with str keys, got {kwargs!r:.60}")
    if isinstance(job, registry.Signature):
        if args or kwargs:
            raise fail("give the arguments in job.s(...) or in args=/kwargs=, not both")
        return job
    if not isinstance(job, registry.JobType):
        raise fail(f"{job!r:.60} is not a job; declare it with @app.job (and pass what "
                   "that returns) or pass job.s(...)")
    return job.s(*args, **(kwargs or {}))


def build(name: str, expression: Any, call: registry.Signature, *, tz: Any = "UTC",
          misfire: str = "run_once", catch_up_limit: int = 10,
          grace: float = 60.0) -> Schedule:
    """Validate everything now, so no scheduler starts with a half-valid configuration."""
    def fail(problem: str) -> errors.InvalidSchedule:
        return errors.InvalidSchedule(f"cron schedule {name!r}: {problem}")

    fields = parse(name, expression)
    try:
        zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(str(tz))
    except (ZoneInfoNotFoundError, ValueError):
        raise fail(f"unknown time zone {tz!r} (use an IANA name such as 'Europe/Warsaw')") \
            from None
    if misfire not in MISFIRE_POLICIES:
        raise fail(f"misfire={misfire!r} is invalid; use one of {', '.join(MISFIRE_POLICIES)}")
    if type(catch_up_limit) is not int or not 1 <= catch_up_limit <= 1000:
        raise fail(f"catch_up_limit={catch_up_limit!r} is invalid; use 1 to 1000")
    if not options.is_seconds(grace, positive=False):
        raise fail(f"grace={grace!r:.60} is invalid; it is a number of seconds from 0 to "
                   f"{options.MAX_SECONDS}")
    return Schedule(name, str(expression), fields, zone, call, misfire, catch_up_limit,
                    float(grace))


def parse(name: str, expression: Any) -> str:
    """The five fields of `expression` (aliases expanded), or `InvalidSchedule` naming the
    schedule and the field that is wrong."""
    def fail(problem: str) -> errors.InvalidSchedule:
        return errors.InvalidSchedule(
            f"cron schedule {name!r}: expression {expression!r} is invalid: {problem}")

    if not isinstance(expression, str) or not expression.strip():
        raise fail("it must be a non-empty string such as '0 * * * *'")
    text = " ".join(expression.split())
    if text.startswith("@"):
        if text.lower() not in ALIASES:
            raise fail(f"unknown alias; use one of {', '.join(sorted(ALIASES))}")
        return ALIASES[text.lower()]
    parts = text.split(" ")
    if len(parts) != len(FIELDS):
        raise fail(f"expected 5 fields ({' '.join(FIELDS)}), got {len(parts)}")
    for index, (field, value) in enumerate(zip(FIELDS, parts, strict=True)):
        probe = ["*"] * len(FIELDS)
        probe[index] = value
        try:
            CronSim(" ".join(probe), datetime(2000, 1, 1, tzinfo=UTC))
        except CronSimError:
            raise fail(f"the {field} field {value!r} is out of range or malformed") from None
    try:
        next(CronSim(text, datetime(2000, 1, 1, tzinfo=UTC)))
    except (CronSimError, StopIteration) as exc:
        raise fail(f"{exc or 'it never matches a date'}") from None
    return text


@dataclasses.dataclass(frozen=True, slots=True)
class ScheduleInfo:
    """A schedule as operators see it (`conveyor cron`)."""

    name: str
    expression: str
    timezone: str
    job: str
    misfire: str
    paused: bool
    last_slot: datetime | None
    next_runs: list[datetime]


async def describe(schedules: Mapping[str, Schedule], backend: Backend, now: datetime,
                   count: int = 3) -> list[ScheduleInfo]:
    """Every schedule of the app with its stored state and next `count` runs."""
    await sync(schedules, backend, now)
    stored = {state.name: state for state in await backend.schedules()}
    infos = []
    for name, schedule in sorted(schedules.items()):
        state = stored.get(name)
        paused = state is not None and state.paused
        infos.append(ScheduleInfo(
            name, schedule.expression, schedule.tz.key, schedule.call.name, schedule.misfire,
            paused, None if state is None else state.last_slot,
            [] if paused else schedule.next_runs(now, count)))
    return infos


async def sync(schedules: Mapping[str, Schedule], backend: Backend, now: datetime) -> None:
    """Make sure every schedule has its row (new ones start at `now`)."""
    await backend.sync_schedules(
        [(s.name, s.expression, s.tz.key) for s in schedules.values()], now)


# -- the scheduler (run by the leader) ----------------------------------------------------


class Scheduler:
    """Fires due slots of an app's schedules; any number may run at once."""

    def __init__(self, schedules: Mapping[str, Schedule], backend: Backend) -> None:
        self.schedules = schedules
        self.backend = backend
        self._synced = False

    async def tick(self, now: datetime) -> int:
        """Fire every due schedule once; return how many jobs were enqueued."""
        if not self.schedules:
            return 0
        if not self._synced:
            await sync(self.schedules, self.backend, now)
            self._synced = True
        fired = 0
        for state in await self.backend.schedules():
            schedule = self.schedules.get(state.name)
            if schedule is None or state.paused:
                continue
            fired += await self._fire(schedule, state, now)
        return fired

    async def _fire(self, schedule: Schedule, state: ScheduleState, now: datetime) -> int:
        limit = schedule.catch_up_limit if schedule.misfire == "catch_up" else 1
        due = schedule.slots(state.last_slot, now, limit)
        if not due:
            return 0
        slots = schedule.to_fire(due, now)
        jobs = [schedule.job_for(slot) for slot in slots]
        if not await self.backend.fire_schedule(schedule.name, state.last_slot, due[0], jobs,
                                                now):
            return 0  # another scheduler fired this slot first
        if len(slots) < len(due) or (now - due[0]).total_seconds() > schedule.grace:
            log.info("cron %s: slot %s fired late (%s policy, %d job(s))", schedule.name,
                     due[0].isoformat(), schedule.misfire, len(jobs))
        return len(jobs)
