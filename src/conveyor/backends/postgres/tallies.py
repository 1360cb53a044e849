"""Metrics on PostgreSQL: upserting the workers' per-minute tallies, reading them back,
pruning. A mixin of `PostgresBackend`, kept apart so each module has one job."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from conveyor import metrics
from conveyor.backends import sqlfile
from conveyor.backends.postgres.statements import BackendPart, Conn, dict_rows

_QUERIES = sqlfile.load("conveyor.backends.postgres")


class Tallies(BackendPart):
    """`Backend.record_metrics`, `metric_minutes`, `metric_totals`, `prune_metrics`
    for `PostgresBackend`."""

    async def record_metrics(self, rows: Sequence[metrics.MetricRow]) -> None:
        if not rows:
            return
        ordered = sorted(rows, key=lambda r: (r.minute, r.queue, r.name))  # one lock order
        params = {"minutes": [r.minute for r in ordered], "queues": [r.queue for r in ordered],
                  "names": [r.name for r in ordered],
                  "completed": [r.completed for r in ordered],
                  "failed": [r.failed for r in ordered], "retried": [r.retried for r in ordered],
                  "cancelled": [r.cancelled for r in ordered],
                  "runtime_sums": [r.runtime_sum for r in ordered],
                  "runtime_maxes": [r.runtime_max for r in ordered]}

        async def work(conn: Conn) -> None:
            await conn.execute(_QUERIES["record_metrics"], params)
            await conn.execute(_QUERIES["record_metric_totals"], params)

        await self._run(work, atomic=True)

    async def metric_minutes(self, since: datetime, until: datetime, queue: str | None,
                      name: str | None) -> list[metrics.MetricRow]:
        params = {"since": since, "until": until, "queue": queue, "name": name}
        found = await self._run(lambda conn: dict_rows(conn, "metrics", params))
        return [metrics.MetricRow(row["minute"], queue or "", name or "", row["completed"],
                                  row["failed"], row["retried"], row["cancelled"],
                                  row["runtime_sum"], row["runtime_max"]) for row in found]

    async def metric_totals(self) -> list[metrics.MetricTotal]:
        found = await self._run(lambda conn: dict_rows(conn, "metric_totals", {}))
        return [metrics.MetricTotal(row["queue"], row["name"], row["completed"], row["failed"],
                                    row["retried"], row["cancelled"], row["runtime_sum"])
                for row in found]

    async def prune_metrics(self, before: datetime) -> int:
        return await self._rowcount("prune_metrics", {"before": before})
