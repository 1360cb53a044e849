"""Cron schedules, written once for every SQL engine (see `conveyor.backends.sql`): each slot
fired once (compare-and-set on the last slot), definitions stored and replaced, pauses,
audited."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from conveyor import model, orchestrate
from conveyor.backends import base
from conveyor.backends.sql import binding
from conveyor.backends.sql.driver import Driver, Statements

READS = {"schedules": {"name", "expression", "timezone", "last_slot", "paused", "definition"},
         "advance_schedule": {"name"}, "pause_schedule": {"name"},
         "redefine_schedule": {"name"}, "delete_schedule": {"name"}, "add_schedule": set(),
         "audit": set()}
"""Statements this module runs, and the columns of their rows it relies on (it counts the
rows of those that find a schedule; an empty set: it ignores the rows);
`tests/contract/test_conformance.py` holds every dialect to it."""


class Schedules(Driver):
    """`Backend.sync_schedules` ... `delete_schedule`."""

    async def sync_schedules(self, schedules: Sequence[tuple[str, str, str, str]],
                             now: datetime) -> None:
        async def work(tx: Statements) -> None:
            for name, expression, timezone, definition in schedules:
                await tx.rows("add_schedule", {"name": name, "expression": expression,
                                               "timezone": timezone, "definition": definition,
                                               "now": now})

        await self.transaction(work)

    async def schedules(self) -> list[base.ScheduleState]:
        return [base.ScheduleState(row["name"], row["expression"], row["timezone"],
                                   self.moment(row["last_slot"]), bool(row["paused"]),
                                   row["definition"])
                for row in await self.statement("schedules")]

    async def fire_schedule(self, name: str, seen: datetime, slot: datetime,
                            jobs: Sequence[model.NewJob], now: datetime) -> bool:
        """Move the schedule from the slot `seen` to `slot` and insert its jobs, or nothing
        when another scheduler moved it first (or it was paused)."""
        async def work(tx: Statements) -> bool:
            if not await tx.rows("advance_schedule", {"name": name, "seen": seen,
                                                      "slot": slot, "now": now}):
                return False
            if jobs:
                await tx.follow(_insert(jobs, now))
            return True

        fired = await self.transaction(work)
        if fired:
            self._notify()
        return fired

    async def pause_schedule(self, name: str, paused: bool, now: datetime,
                             actor: str = "api") -> bool:
        return await self._audited(
            "pause_schedule", {"name": name, "paused": paused, "now": now},
            now, actor, "pause_cron" if paused else "resume_cron")

    async def redefine_schedule(self, name: str, seen: str, schedule: tuple[str, str, str],
                                now: datetime, actor: str) -> bool:
        expression, timezone, definition = schedule
        return await self._audited(
            "redefine_schedule", {"name": name, "seen": seen, "expression": expression,
                                  "timezone": timezone, "definition": definition, "now": now},
            now, actor, "redefine_cron")

    async def delete_schedule(self, name: str, now: datetime, actor: str) -> bool:
        return await self._audited("delete_schedule", {"name": name}, now, actor,
                                   "delete_cron")

    async def _audited(self, statement: str, params: dict[str, object], now: datetime,
                       actor: str, action: str) -> bool:
        """Run `statement` on the schedule `params["name"]`; if it found the schedule, record
        `action` in the audit trail in the same transaction."""
        async def work(tx: Statements) -> bool:
            if not await tx.rows(statement, params):
                return False
            await tx.rows("audit", {"now": now, "actor": actor, "action": action, "count": 1,
                                    "filter_json": binding.describe_target(
                                        schedule=params["name"])})
            return True

        return await self.transaction(work)


def _insert(jobs: Sequence[model.NewJob], now: datetime) -> orchestrate.Plan:
    """A plan of one step: insert `jobs` in the plan's transaction."""
    yield orchestrate.Insert(list(jobs), now)
