"""Cron schedules on SQLite: each slot fired once (compare-and-set), pauses and
definitions, audited. A mixin of the backend."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from conveyor import model
from conveyor.backends import base, sqlfile
from conveyor.backends.sqlite import inserts
from conveyor.backends.sqlite import rows as convert
from conveyor.backends.sqlite.part import BackendPart

_QUERIES = sqlfile.load("conveyor.backends.sqlite")


class Schedules(BackendPart):
    """`Backend.sync_schedules` ... `delete_schedule`."""

    async def sync_schedules(self, schedules: Sequence[tuple[str, str, str, str]],
                             now: datetime) -> None:
        params = [{"name": name, "expression": expression, "timezone": timezone,
                   "definition": definition, "now": convert.to_micros(now)}
                  for name, expression, timezone, definition in schedules]
        await self._run(lambda conn: conn.executemany(_QUERIES["add_schedule"], params),
                        write=True)

    async def schedules(self) -> list[base.ScheduleState]:
        rows = await self._run(lambda conn: conn.execute(_QUERIES["schedules"]).fetchall(),
                               write=False)
        return [base.ScheduleState(row["name"], row["expression"], row["timezone"],
                                   convert.from_micros(row["last_slot"]) or convert.EPOCH,
                                   bool(row["paused"]), row["definition"]) for row in rows]

    async def fire_schedule(self, name: str, seen: datetime, slot: datetime,
                            jobs: Sequence[model.NewJob], now: datetime) -> bool:
        params = {"name": name, "seen": convert.to_micros(seen),
                  "slot": convert.to_micros(slot), "now": convert.to_micros(now)}

        def work(conn: sqlite3.Connection) -> bool:
            if conn.execute(_QUERIES["advance_schedule"], params).fetchone() is None:
                return False
            if jobs:
                inserts.insert_jobs(conn, jobs, now)
            return True

        fired = await self._run(work, write=True)
        if fired:
            self._notify()
        return fired

    async def pause_schedule(self, name: str, paused: bool, now: datetime,
                             actor: str = "api") -> bool:
        params = {"name": name, "paused": int(paused), "now": convert.to_micros(now)}
        audit = {"now": params["now"], "actor": actor,
                 "action": "pause_cron" if paused else "resume_cron",
                 "filter_json": base.describe_target(schedule=name)}

        def work(conn: sqlite3.Connection) -> bool:
            found = conn.execute(_QUERIES["pause_schedule"], params).fetchone() is not None
            if found:
                conn.execute(_QUERIES["audit"], {**audit, "count": 1})
            return found

        return await self._run(work, write=True)

    async def redefine_schedule(self, name: str, seen: str, schedule: tuple[str, str, str],
                                now: datetime, actor: str) -> bool:
        expression, timezone, definition = schedule
        micros = convert.to_micros(now)
        params = {"name": name, "seen": seen, "expression": expression, "timezone": timezone,
                  "definition": definition, "now": micros}
        audit = {"now": micros, "actor": actor, "action": "redefine_cron", "count": 1,
                 "filter_json": base.describe_target(schedule=name)}

        def work(conn: sqlite3.Connection) -> bool:
            found = conn.execute(_QUERIES["redefine_schedule"], params).fetchone() is not None
            if found:
                conn.execute(_QUERIES["audit"], audit)
            return found

        return await self._run(work, write=True)

    async def delete_schedule(self, name: str, now: datetime, actor: str) -> bool:
        audit = {"now": convert.to_micros(now), "actor": actor, "action": "delete_cron",
                 "filter_json": base.describe_target(schedule=name)}

        def work(conn: sqlite3.Connection) -> bool:
            found = conn.execute(_QUERIES["delete_schedule"], {"name": name}).fetchone()
            if found is not None:
                conn.execute(_QUERIES["audit"], {**audit, "count": 1})
            return found is not None

        return await self._run(work, write=True)
