"""Metrics, written once for every SQL engine (see `conveyor.backends.sql`): the workers'
per-minute tallies upserted, read back by minute and in total, and pruned."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from conveyor import metrics
from conveyor.backends.sql.driver import Driver, Statements

READS = {"record_metrics": set(), "record_metric_totals": set(),
         "metrics": {"minute", "completed", "failed", "retried", "cancelled", "runtime_sum",
                     "runtime_max"},
         "metric_totals": {"queue", "name", "completed", "failed", "retried", "cancelled",
                           "runtime_sum"},
         "prune_metrics": {"minute"}}
"""Statements this module runs, and the columns of their rows it relies on;
`tests/contract/test_conformance.py` holds every dialect to it."""


class Metrics(Driver):
    """`Backend.record_metrics`, `metric_minutes`, `metric_totals`, `prune_metrics`."""

    async def record_metrics(self, rows: Sequence[metrics.MetricRow]) -> None:
        if not rows:
            return
        params = self.metric_params(rows)

        async def work(tx: Statements) -> None:
            await tx.rows("record_metrics", params)
            await tx.rows("record_metric_totals", params)

        await self.transaction(work)

    async def metric_minutes(self, since: datetime, until: datetime, queue: str | None,
                             name: str | None) -> list[metrics.MetricRow]:
        found = await self.statement("metrics", {"since": since, "until": until,
                                                 "queue": queue, "name": name})
        return [metrics.MetricRow(self.moment(row["minute"]), queue or "", name or "",
                                  row["completed"], row["failed"], row["retried"],
                                  row["cancelled"], row["runtime_sum"], row["runtime_max"])
                for row in found]

    async def metric_totals(self) -> list[metrics.MetricTotal]:
        return [metrics.MetricTotal(row["queue"], row["name"], row["completed"],
                                    row["failed"], row["retried"], row["cancelled"],
                                    row["runtime_sum"])
                for row in await self.statement("metric_totals")]

    async def prune_metrics(self, before: datetime) -> int:
        return len(await self.statement("prune_metrics", {"before": before}))
