"""Batches and cron schedules on SQLite: the part of the backend orchestration needs beyond
jobs. A mixin of `SqliteBackend`, kept apart so each module has one job."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Sequence
from datetime import datetime

from conveyor import batches, model, orchestrate
from conveyor.backends import base, sqlfile
from conveyor.backends.sqlite import inserts, orchestration
from conveyor.backends.sqlite import rows as convert
from conveyor.backends.sqlite.part import BackendPart

_QUERIES = sqlfile.load("conveyor.backends.sqlite")


class BatchesAndSchedules(BackendPart):
    """`Backend.insert_batch` ... `pause_schedule` for `SqliteBackend`."""

    # -- batches ----------------------------------------------------------------------

    async def insert_batch(self, batch: int | base.BatchSpec, jobs: Sequence[model.NewJob],
                           seal: bool, now: datetime,
                           max_errors: int) -> tuple[int, list[model.Inserted]]:
        now_us = convert.to_micros(now)

        def work(conn: sqlite3.Connection) -> tuple[int, list[model.Inserted]]:
            if isinstance(batch, base.BatchSpec):
                batch_id = int(conn.execute(_QUERIES["open_batch"], {
                    "name": batch.name, "allow_failures": int(batch.allow_failures),
                    "callbacks": batch.callbacks_json, "now": now_us}).fetchone()[0])
            else:
                batch_id = batch
            rows = [dataclasses.replace(job, batch_id=batch_id) for job in jobs]
            inserted = inserts.insert_jobs(conn, rows, now) if rows else []
            if seal:
                conn.execute(_QUERIES["seal_batch"], {"id": batch_id})
                after_final(conn, [], now, max_errors, [batch_id])
            return batch_id, inserted

        result = await self._run(work, write=True)
        self._notify()
        return result

    async def get_batch(self, batch_id: int) -> batches.Batch | None:
        row = await self._run(lambda conn: conn.execute(_QUERIES["get_batch"], {"id": batch_id})
                              .fetchone(), write=False)
        return None if row is None else _batch_of(row)

    async def list_batches(self, limit: int) -> list[batches.Batch]:
        rows = await self._run(lambda conn: conn.execute(_QUERIES["list_batches"],
                                                         {"limit": limit}).fetchall(),
                               write=False)
        return [_batch_of(row) for row in rows]

    async def cancel_batch(self, batch_id: int, now: datetime, max_errors: int) -> bool:
        params = {"id": batch_id, "now": convert.to_micros(now)}

        def work(conn: sqlite3.Connection) -> bool:
            if conn.execute(_QUERIES["cancel_batch"], params).fetchone() is None:
                return False
            after_final(conn, [], now, max_errors, [batch_id])
            return True

        return await self._run(work, write=True)

    async def prune_batches(self, finished_before: datetime, limit: int) -> int:
        params = {"before": convert.to_micros(finished_before), "limit": limit}
        return await self._run(lambda conn: conn.execute(_QUERIES["prune_batches"], params)
                               .rowcount, write=True)

    # -- cron schedules ---------------------------------------------------------------

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


def _batch_of(row: sqlite3.Row) -> batches.Batch:
    return batches.batch_of(row, convert.from_micros(row["created_at"]) or convert.EPOCH,
                            convert.from_micros(row["cancelled_at"]),
                            convert.from_micros(row["finished_at"]))


def after_final(conn: sqlite3.Connection, finals: list[orchestrate.Final], now: datetime,
                 max_errors: int, touched_batches: Sequence[int] = ()) -> None:
    if finals or touched_batches:
        plan = orchestrate.after_final(finals, now, max_errors, touched_batches)
        orchestration.drive(conn, plan, inserts.insert_jobs)
