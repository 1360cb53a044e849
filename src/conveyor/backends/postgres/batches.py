"""Batches on PostgreSQL: open, grow, seal, cancel and prune them (what follows when their
jobs end is `plans.after_final`, run by whoever ends them). A mixin of the backend."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from conveyor import batches, model
from conveyor.backends import base, sqlfile
from conveyor.backends.postgres import inserts, plans
from conveyor.backends.postgres.statements import BackendPart, Conn, column, dict_rows

_QUERIES = sqlfile.load("conveyor.backends.postgres")


class Batches(BackendPart):
    """`Backend.insert_batch` ... `prune_batches`."""

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
                await plans.after_final(conn, [], now, max_errors, [batch_id])
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
            await plans.after_final(conn, [], now, max_errors, [batch_id])
            return True

        return await self._run(work, atomic=True)

    async def prune_batches(self, finished_before: datetime, limit: int) -> int:
        return await self._rowcount("prune_batches", {"before": finished_before, "limit": limit})


def _batch_of(row: Mapping[str, Any]) -> batches.Batch:
    return batches.batch_of(row, row["created_at"], row["cancelled_at"], row["finished_at"])

