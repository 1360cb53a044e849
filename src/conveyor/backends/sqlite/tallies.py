"""Metrics on SQLite: upserting the workers' per-minute tallies, reading them back, pruning.
A mixin of `SqliteBackend`, kept apart so each module has one job."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

import orjson

from conveyor import metrics
from conveyor.backends import sqlfile
from conveyor.backends.sqlite import rows as convert
from conveyor.backends.sqlite.part import BackendPart

_QUERIES = sqlfile.load("conveyor.backends.sqlite")


class Tallies(BackendPart):
    """`Backend.record_metrics`, `metric_minutes`, `metric_totals`, `prune_metrics`
    for `SqliteBackend`."""

    async def record_metrics(self, rows: Sequence[metrics.MetricRow]) -> None:
        if not rows:
            return
        params = {"rows": orjson.dumps([
            [convert.to_micros(r.minute), r.queue, r.name, r.completed, r.failed, r.retried,
             r.cancelled, r.runtime_sum, r.runtime_max] for r in rows]).decode()}

        def work(conn: sqlite3.Connection) -> None:
            conn.execute(_QUERIES["record_metrics"], params)
            conn.execute(_QUERIES["record_metric_totals"], params)

        await self._run(work, write=True)

    async def metric_minutes(self, since: datetime, until: datetime, queue: str | None,
                      name: str | None) -> list[metrics.MetricRow]:
        params = {"since": convert.to_micros(since), "until": convert.to_micros(until),
                  "queue": queue, "name": name}
        found = await self._run(lambda conn: conn.execute(_QUERIES["metrics"], params)
                                .fetchall(), write=False)
        return [metrics.MetricRow(convert.from_micros(row[0]) or convert.EPOCH, queue or "",
                                  name or "", *row[1:]) for row in found]

    async def metric_totals(self) -> list[metrics.MetricTotal]:
        found = await self._run(lambda conn: conn.execute(_QUERIES["metric_totals"])
                                .fetchall(), write=False)
        return [metrics.MetricTotal(*row) for row in found]

    async def prune_metrics(self, before: datetime) -> int:
        params = {"before": convert.to_micros(before)}
        return await self._run(lambda conn: conn.execute(_QUERIES["prune_metrics"], params)
                               .rowcount, write=True)
