"""Batches on SQLite: open, grow, seal, cancel and prune them (what follows when their
jobs end is `plans.after_final`, run by whoever ends them). A mixin of the backend."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Sequence
from datetime import datetime

from conveyor import batches, model
from conveyor.backends import base, sqlfile
from conveyor.backends.sqlite import inserts, plans
from conveyor.backends.sqlite import rows as convert
from conveyor.backends.sqlite.part import BackendPart

_QUERIES = sqlfile.load("conveyor.backends.sqlite")


class Batches(BackendPart):
    """`Backend.insert_batch` ... `prune_batches`."""

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
                plans.after_final(conn, [], now, max_errors, [batch_id])
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
            plans.after_final(conn, [], now, max_errors, [batch_id])
            return True

        return await self._run(work, write=True)

    async def prune_batches(self, finished_before: datetime, limit: int) -> int:
        params = {"before": convert.to_micros(finished_before), "limit": limit}
        return await self._run(lambda conn: conn.execute(_QUERIES["prune_batches"], params)
                               .rowcount, write=True)


def _batch_of(row: sqlite3.Row) -> batches.Batch:
    return batches.batch_of(row, convert.from_micros(row["created_at"]) or convert.EPOCH,
                            convert.from_micros(row["cancelled_at"]),
                            convert.from_micros(row["finished_at"]))

