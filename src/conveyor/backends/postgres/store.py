"""Batches and cron schedules on PostgreSQL: the part of the backend orchestration needs
beyond jobs. A mixin of `PostgresBackend`, kept apart so each module has one job."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from conveyor import batches, model, orchestrate
from conveyor.backends import base, sqlfile
from conveyor.backends.postgres import inserts, orchestration
from conveyor.backends.postgres.statements import BackendPart, Conn, column, dict_rows

_QUERIES = sqlfile.load("conveyor.backends.postgres")


class BatchesAndSchedules(BackendPart):
    """`Backend.insert_batch` ... `pause_schedule` for `PostgresBackend`."""

    # -- batches ----------------------------------------------------------------------

    async def insert_batch(self, batch: int | base.BatchSpec, jobs: Sequence[model.NewJob],
                           seal: bool, now: datetime,
                           max_errors: int) -> tuple[int, list[model.Inserted]]:
        async def work(conn: Conn) -> tuple[int, list[model.Inserted]]:
            if isinstance(batch, base.BatchSpec):
                batch_id = int((await column(conn, "open_batch", {
                    "name": batch.name, "allow_failures": batch.allow_failures,
                    "callbacks": batch.callbacks_json, "now": now}))[0])
            else:
                batch_id = batch
            rows = [dataclasses.replace(job, batch_id=batch_id) for job in jobs]
            inserted = await inserts.insert_jobs(conn, rows, now) if rows else []
            if seal:
                await conn.execute(_QUERIES["seal_batch"], {"id": batch_id})
                await after_final(conn, [], now, max_errors, [batch_id])
            return batch_id, inserted

        result = await self._run(work, atomic=True)
        self._notify()
        return result

    async def get_batch(self, batch_id: int) -> batches.Batch | None:
        rows = await self._run(lambda conn: dict_rows(conn, "get_batch", {"id": batch_id}))
        return _batch_of(rows[0]) if rows else None

    async def list_batches(self, limit: int) -> list[batches.Batch]:
        rows = await self._run(lambda conn: dict_rows(conn, "list_batches", {"limit": limit}))
        return [_batch_of(row) for row in rows]

    async def cancel_batch(self, batch_id: int, now: datetime, max_errors: int) -> bool:
        async def work(conn: Conn) -> bool:
            if not await column(conn, "cancel_batch", {"id": batch_id, "now": now}):
                return False
            await after_final(conn, [], now, max_errors, [batch_id])
            return True

        return await self._run(work, atomic=True)

    async def prune_batches(self, finished_before: datetime, limit: int) -> int:
        return await self._rowcount("prune_batches", {"before": finished_before, "limit": limit})

    # -- cron schedules ---------------------------------------------------------------

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


def _batch_of(row: Mapping[str, Any]) -> batches.Batch:
    return batches.batch_of(row, row["created_at"], row["cancelled_at"], row["finished_at"])


async def after_final(conn: Conn, finals: list[orchestrate.Final], now: datetime,
                       max_errors: int, touched_batches: Sequence[int] = ()) -> None:
    if finals or touched_batches:
        plan = orchestrate.after_final(finals, now, max_errors, touched_batches)
        await orchestration.adrive(conn, plan, inserts.insert_jobs)
