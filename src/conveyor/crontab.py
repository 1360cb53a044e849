"""The cron schedules stored in the database, shared by every application that uses it.

Applications may share one database (a shop and its back office, each with its own jobs and
schedules). The rules, also in the README:

- A schedule is stored with its whole definition (`cron.Schedule.definition`). The leader -
  whichever application it runs - fires every stored, unpaused schedule from that stored
  definition: it only inserts the slot's job row, so it needs neither the job's code nor the
  application that declared it; workers that know the job run it. Which application leads
  never changes what fires.
- Applications store the schedules they declare: every worker when it starts, and the leader
  again whenever one of its schedules is missing (after `conveyor cron delete`). The code that
  starts last is the truth: a worker that starts with a definition different from the stored
  one replaces it (a deploy that changes a schedule takes effect with its first worker),
  keeping the last slot fired and the pause, logs a warning naming every difference and
  records `redefine_cron` in the audit table. A running application that declares a stored
  name differently - another application sharing the database, or an older version still
  running - never replaces it while it runs: it lists it as `conflict` in `conveyor cron` and
  warns once. Two applications should give their schedules distinct names; if they do not,
  the audit table shows each redefinition.
- A stored schedule that an application does not declare is `orphaned` in its listing
  (removed from its code, or declared by another application). It keeps firing until it is
  deleted with `conveyor cron delete NAME` (audited).

Each slot still fires once: the stored `last_slot` moves forward with a compare-and-set in
the transaction that inserts the job, and the job carries the unique key `cron:<name>:<slot>`.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping
from datetime import datetime

import orjson

from conveyor import cron, errors, model
from conveyor.backends.base import Backend, ScheduleState

log = logging.getLogger("conveyor.cron")
Declared = Mapping[str, cron.Schedule]


@dataclasses.dataclass(frozen=True, slots=True)
class ScheduleInfo:
    """A schedule as operators see it (`conveyor cron`): what fires, from the stored
    definition when there is one, else from this application's declaration."""

    name: str
    expression: str
    timezone: str
    job: str
    misfire: str
    paused: bool
    last_slot: datetime | None
    next_runs: list[datetime]
    status: str = "active"
    """"active" (stored as this application declares it), "conflict" (this application
    declares it differently; the stored definition fires until one of its workers starts),
    "orphaned" (stored, not declared by this application; it fires until deleted),
    "unstored" (declared, stored by the next worker to start), "stored" (listed without an
    application that declares jobs), or
    "invalid" (its stored definition cannot be read; it does not fire)."""
    conflicts: tuple[str, ...] = ()
    """For "conflict": each field that differs, stored and declared."""


async def store(declared: Declared, backend: Backend, now: datetime,
                states: list[ScheduleState] | None = None) -> list[ScheduleState]:
    """Store the declared schedules that are not stored (or were stored by a version that
    kept no definition); never replace a stored definition. Returns the stored states."""
    if states is None:
        states = await backend.schedules()
    have = {state.name for state in states if state.definition is not None}
    missing = [schedule for name, schedule in declared.items() if name not in have]
    if not missing:
        return states
    await backend.sync_schedules([(s.name, s.expression, s.tz.key, s.definition())
                                  for s in missing], now)
    return await backend.schedules()


def conflicts(declared: Declared, states: Iterable[ScheduleState]) -> dict[str, list[str]]:
    """Stored schedules this application declares differently: name -> differences."""
    found = {}
    for state in states:
        mine = declared.get(state.name)
        if mine is None or state.definition is None:
            continue
        ours = mine.definition()
        try:
            if orjson.loads(ours) != orjson.loads(state.definition):
                found[state.name] = cron.differences(state.definition, ours)
        except (orjson.JSONDecodeError, AttributeError, TypeError):
            found[state.name] = [f"stored definition is invalid: {state.definition!r:.80}"]
    return found


async def describe(declared: Declared, backend: Backend, now: datetime, *,
                   judge: bool, count: int = 3) -> list[ScheduleInfo]:
    """Every stored or declared schedule with its status and next `count` runs. Only reads:
    nothing is stored. Without `judge` (no application code to compare with), stored
    schedules are "stored" rather than "orphaned"."""
    states = {state.name: state for state in await backend.schedules()}
    clashes = conflicts(declared, states.values())
    return [_info(name, states.get(name), declared.get(name), clashes.get(name), judge, now,
                  count) for name in sorted(states.keys() | declared.keys())]


def _info(name: str, state: ScheduleState | None, mine: cron.Schedule | None,
          clash: list[str] | None, judge: bool, now: datetime, count: int) -> ScheduleInfo:
    stored: cron.Schedule | None = None
    status = "active"
    if state is None or state.definition is None:
        status = "unstored" if mine is not None else "invalid"
    else:
        try:
            stored = cron.from_definition(name, state.definition)
        except errors.InvalidSchedule:
            status = "invalid"
    if status == "active":
        status = "conflict" if clash else "active" if mine else \
            "orphaned" if judge else "stored"
    shown = stored or (mine if status == "unstored" else None)
    paused = state is not None and state.paused
    return ScheduleInfo(
        name, shown.expression if shown else state.expression if state else "",
        shown.tz.key if shown else state.timezone if state else "",
        shown.job.name if shown else "", shown.misfire if shown else "", paused,
        None if state is None else state.last_slot,
        [] if paused or shown is None else shown.next_runs(now, count), status,
        tuple(clash or ()))


async def pause(declared: Declared, backend: Backend, name: str, paused: bool,
                now: datetime, actor: str) -> None:
    """Pause or resume a stored schedule (this application's are stored first if needed)."""
    states = await store(declared, backend, now)
    if name not in {state.name for state in states}:
        raise errors.InvalidSchedule(
            f"no cron schedule named {name!r}; stored: "
            f"{', '.join(sorted(s.name for s in states)) or 'none'}")
    await backend.pause_schedule(name, paused, now, actor)


async def manual_job(declared: Declared, backend: Backend, name: str, now: datetime,
                     actor: str) -> model.NewJob:
    """A stored schedule's job to run now, from the definition the leader fires (this
    application's schedules are stored first if needed); `InvalidSchedule` if there is none."""
    states = {state.name: state for state in await store(declared, backend, now)}
    state = states.get(name)
    if state is None:
        raise errors.InvalidSchedule(
            f"no cron schedule named {name!r}; stored: {', '.join(sorted(states)) or 'none'}")
    schedule = declared.get(name) if state.definition is None \
        else cron.from_definition(name, state.definition)
    if schedule is None:
        raise errors.InvalidSchedule(f"cron schedule {name!r} has no stored definition")
    return schedule.manual_job(now, actor)


async def delete(backend: Backend, name: str, now: datetime, actor: str) -> None:
    """Forget a stored schedule (audited). An application that still declares it stores it
    again, from its own code, when its next worker starts or its leader looks."""
    if not await backend.delete_schedule(name, now, actor):
        stored = sorted(state.name for state in await backend.schedules())
        raise errors.InvalidSchedule(f"no stored cron schedule named {name!r}; stored: {stored}")


# -- the scheduler (run by the leader) ----------------------------------------------------


class Scheduler:
    """Stores an application's schedules and fires every stored one; any number may run at
    once (each slot still fires once)."""

    def __init__(self, schedules: Declared, backend: Backend) -> None:
        self.schedules = schedules
        self.backend = backend
        self._read: dict[str, tuple[str, cron.Schedule | None]] = {}
        self._warned: set[tuple[str, str]] = set()

    async def declare(self, now: datetime, actor: str = "worker") -> list[ScheduleState]:
        """Store this application's schedules (each worker, at start, so an application that
        never leads still has its schedules fired), replacing stored definitions that differ
        from this code: the code that starts last is the truth."""
        states = await store(self.schedules, self.backend, now)
        clashes = conflicts(self.schedules, states)
        by_name = {state.name: state for state in states}
        for name, differences in clashes.items():
            mine, seen = self.schedules[name], by_name[name].definition
            if seen is not None and await self.backend.redefine_schedule(
                    name, seen, (mine.expression, mine.tz.key, mine.definition()), now, actor):
                log.warning("cron schedule %r redefined by this application's code: %s",
                            name, "; ".join(differences))
        if clashes:
            states = await self.backend.schedules()
        self._warn(states)
        return states

    async def tick(self, now: datetime) -> int:
        """Fire every due stored schedule once; return how many jobs were enqueued."""
        states = await store(self.schedules, self.backend, now, await self.backend.schedules())
        self._warn(states)
        fired = 0
        for state in states:
            schedule = None if state.paused else self._schedule(state)
            if schedule is not None:
                fired += await self._fire(schedule, state, now)
        return fired

    def _schedule(self, state: ScheduleState) -> cron.Schedule | None:
        """The stored definition, read once per version of it."""
        if state.definition is None:
            return None
        seen = self._read.get(state.name)
        if seen is None or seen[0] != state.definition:
            try:
                seen = (state.definition, cron.from_definition(state.name, state.definition))
            except errors.InvalidSchedule as exc:
                log.error("%s; it does not fire until it is deleted and stored again", exc)
                seen = (state.definition, None)
            self._read[state.name] = seen
        return seen[1]

    def _warn(self, states: list[ScheduleState]) -> None:
        by_name = {state.name: state for state in states}
        for name, differences in conflicts(self.schedules, states).items():
            key = (name, str(by_name[name].definition))
            if key not in self._warned:
                self._warned.add(key)
                log.warning(
                    "cron schedule %r is stored with another definition, which keeps firing "
                    "(another application, or a newer version of this one, stored it): %s. "
                    "This application's workers store theirs again when they start.",
                    name, "; ".join(differences))

    async def _fire(self, schedule: cron.Schedule, state: ScheduleState, now: datetime) -> int:
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
