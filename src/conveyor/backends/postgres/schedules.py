"""Cron schedules on PostgreSQL: each slot fired once (compare-and-set), pauses and
definitions, audited. A mixin of the backend."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from conveyor import model
from conveyor.backends import base, sqlfile
from conveyor.backends.postgres import inserts
from conveyor.backends.postgres.statements import BackendPart, Conn, column, dict_rows

_QUERIES = sqlfile.load("conveyor.backends.postgres")


class Schedules(BackendPart):
    """`Backend.sync_schedules` ... `delete_schedule`."""

    async def sync_schedules(self, schedules: Sequence[tuple[str, str, str, str]],
                             now: datetime) -> None:
        params = [{"name": name, "expression": expression, "timezone": timezone,
                   "definition": definition, "now": now}
                  for name, expression, timezone, definition in schedules]

        async def work(conn: Conn) -> None:
            async with conn.cursor() as cur:
                await cur.executemany(_QUERIES["add_schedule"], params)

        await self._run(work, atomic=True)

    async def schedules(self) -> list[base.ScheduleState]:
        rows = await self._run(lambda conn: dict_rows(conn, "schedules", {}))
        return [base.ScheduleState(row["name"], row["expression"], row["timezone"],
                                   row["last_slot"], row["paused"], row["definition"])
                for row in rows]

    async def fire_schedule(self, name: str, seen: datetime, slot: datetime,
                            jobs: Sequence[model.NewJob], now: datetime) -> bool:
        params = {"name": name, "seen": seen, "slot": slot, "now": now}

        async def work(conn: Conn) -> bool:
            if not await column(conn, "advance_schedule", params):
                return False
            if jobs:
                await inserts.insert_jobs(conn, jobs, now)
            return True

        return await self._run(work, atomic=True)

    async def pause_schedule(self, name: str, paused: bool, now: datetime,
                             actor: str = "api") -> bool:
        async def work(conn: Conn) -> bool:
            found = bool(await column(conn, "pause_schedule",
                                      {"name": name, "paused": paused, "now": now}))
            if found:
                await conn.execute(_QUERIES["audit"], {
                    "now": now, "actor": actor, "count": 1,
                    "action": "pause_cron" if paused else "resume_cron",
                    "filter_json": base.describe_target(schedule=name)})
            return found

        return await self._run(work, atomic=True)

    async def redefine_schedule(self, name: str, seen: str, schedule: tuple[str, str, str],
                                now: datetime, actor: str) -> bool:
        expression, timezone, definition = schedule
        params = {"name": name, "seen": seen, "expression": expression, "timezone": timezone,
                  "definition": definition, "now": now}

        async def work(conn: Conn) -> bool:
            found = bool(await column(conn, "redefine_schedule", params))
            if found:
                await conn.execute(_QUERIES["audit"], {
                    "now": now, "actor": actor, "action": "redefine_cron", "count": 1,
                    "filter_json": base.describe_target(schedule=name)})
            return found

        return await self._run(work, atomic=True)

    async def delete_schedule(self, name: str, now: datetime, actor: str) -> bool:
        async def work(conn: Conn) -> bool:
            found = bool(await column(conn, "delete_schedule", {"name": name}))
            if found:
                await conn.execute(_QUERIES["audit"], {
                    "now": now, "actor": actor, "action": "delete_cron", "count": 1,
                    "filter_json": base.describe_target(schedule=name)})
            return found

        return await self._run(work, atomic=True)
