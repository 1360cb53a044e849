"""Cron schedules: a job enqueued at every slot of a cron expression, exactly once per slot.

Expressions are read by `cronsim` (small, no dependencies, and handles daylight saving the
way Debian's cron does: a slot in the skipped hour runs just after the jump, a slot in the
repeated hour runs once). A schedule is stored with its whole definition (`definition`:
expression, time zone, policy and the job row to insert), so any leader can fire it without
the code that declared it; `crontab` keeps the stored schedules and fires them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
from cronsim import CronSim, CronSimError

from conveyor import encoding, errors, model, options, registry, unique

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
    job: model.NewJob
    """The row to insert at each slot (its `run_at`, meta and unique key are the slot's)."""
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
        meta = {**encoding.loads(self.job.meta_json), "cron": self.name,
                "slot": slot.isoformat()}
        return dataclasses.replace(
            self.job, run_at=slot, meta_json=encoding.dumps(meta, what="cron meta"),
            unique_key=f"cron:{self.name}:{slot.isoformat()}",
            unique_states=unique.states_mask(list(model.JobState)))

    def manual_job(self, now: datetime, actor: str) -> model.NewJob:
        """The job to run now, outside the slots (an operator's `cron run`): no slot, so no
        unique key; `meta` says it was run by hand and by whom."""
        meta = {**encoding.loads(self.job.meta_json), "cron": self.name, "manual": True,
                "actor": actor}
        return dataclasses.replace(self.job, run_at=now,
                                   meta_json=encoding.dumps(meta, what="cron meta"))

    def definition(self) -> str:
        """Everything needed to fire this schedule, as the JSON text that is stored."""
        job = self.job
        stored = {"expression": self.expression, "timezone": self.tz.key,
                  "misfire": self.misfire, "catch_up_limit": self.catch_up_limit,
                  "grace": self.grace, "job": {
                      "name": job.name, "queue": job.queue, "priority": job.priority,
                      "args": encoding.loads(job.args_json),
                      "kwargs": encoding.loads(job.kwargs_json),
                      "meta": encoding.loads(job.meta_json), "max_attempts": job.max_attempts,
                      "rate_keys": encoding.loads(job.rate_keys_json),
                      "rate_key": job.rate_key, "concurrency_key": job.concurrency_key,
                      "concurrency_limit": job.concurrency_limit, "cost": job.cost}}
        return orjson.dumps(stored, option=orjson.OPT_SORT_KEYS).decode()


def from_definition(name: str, text: str) -> Schedule:
    """The schedule a stored definition describes; `InvalidSchedule` if it is not one."""
    try:
        stored = orjson.loads(text)
        job = stored["job"]
        row = model.NewJob(
            name=str(job["name"]), queue=str(job["queue"]), priority=int(job["priority"]),
            args_json=encoding.dumps(job["args"], what="cron arguments"),
            kwargs_json=encoding.dumps(job["kwargs"], what="cron arguments"),
            max_attempts=int(job["max_attempts"]), run_at=datetime.fromtimestamp(0, UTC),
            meta_json=encoding.dumps(job["meta"], what="cron meta"),
            rate_keys_json=None if job["rate_keys"] is None
            else encoding.dumps(job["rate_keys"], what="cron rate keys"),
            rate_key=job["rate_key"], concurrency_key=job["concurrency_key"],
            concurrency_limit=job["concurrency_limit"], cost=int(job["cost"]))
        return _build(name, stored["expression"], row, tz=stored["timezone"],
                      misfire=stored["misfire"], catch_up_limit=stored["catch_up_limit"],
                      grace=stored["grace"])
    except errors.InvalidSchedule:
        raise
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError,
            errors.ConveyorError) as exc:
        raise errors.InvalidSchedule(
            f"cron schedule {name!r}: its stored definition is invalid: {exc}") from None


def differences(stored: str, declared: str) -> list[str]:
    """How a declared definition differs from the stored one: ["expression: '0 * * * *'
    stored, '*/5 * * * *' declared", ...] (job fields as "job.args", ...)."""
    def flat(text: str) -> dict[str, Any]:
        value = orjson.loads(text)
        job = value.pop("job", {})
        return {**value, **{f"job.{key}": item for key, item in job.items()}}

    old, new = flat(stored), flat(declared)
    return [f"{key}: {_show(old.get(key))} stored, {_show(new.get(key))} declared"
            for key in sorted(old.keys() | new.keys()) if old.get(key) != new.get(key)]


def _show(value: Any) -> str:
    return orjson.dumps(value).decode() if not isinstance(value, str) else repr(value)


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
    return _build(name, expression, call.new_job(), tz=tz, misfire=misfire,
                  catch_up_limit=catch_up_limit, grace=grace)


def _build(name: str, expression: Any, job: model.NewJob, *, tz: Any, misfire: str,
           catch_up_limit: int, grace: float) -> Schedule:
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
    return Schedule(name, str(expression), fields, zone, job, misfire, catch_up_limit,
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
