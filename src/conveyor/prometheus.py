"""Prometheus text for a `/metrics` endpoint, read from the operator API.

Every scrape reads the database through `app.admin` (job counts, workers, metric totals) and
renders one snapshot with `prometheus-client` in a registry made for that scrape: no global
registry, no process-local counters (every worker writes its outcomes to the database, so any
process - the dashboard's - can serve the whole picture).

    body = await prometheus.aprometheus_text(app)   # serve with prometheus.CONTENT_TYPE
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)

from conveyor import metrics, views

if TYPE_CHECKING:
    from conveyor.app import Conveyor

CONTENT_TYPE = CONTENT_TYPE_LATEST
"""The Content-Type header to serve the text with."""


class Snapshot:
    """A collector over values read once (prometheus-client's custom-collector protocol)."""

    def __init__(self, overview: views.Overview, totals: Sequence[metrics.MetricTotal]) -> None:
        self.overview = overview
        self.totals = totals

    def collect(self) -> Iterator[Metric]:
        yield from self._queues()
        alive = GaugeMetricFamily("conveyor_workers_alive",
                                  "Workers that heartbeat within the lease timeout.")
        alive.add_metric([], self.overview.workers_alive)
        yield alive
        yield from self._outcomes()

    def _queues(self) -> Iterator[Metric]:
        jobs = GaugeMetricFamily("conveyor_jobs", "Jobs in the table by queue and state.",
                                 labels=["queue", "state"])
        waiting = GaugeMetricFamily(
            "conveyor_queue_oldest_waiting_seconds",
            "How long the longest-waiting available job of the queue has been due.",
            labels=["queue"])
        paused = GaugeMetricFamily("conveyor_queue_paused", "1 when the queue is paused.",
                                   labels=["queue"])
        for queue in self.overview.queues:
            for state, count in queue.counts.items():
                jobs.add_metric([queue.queue, str(state)], count)
            waiting.add_metric([queue.queue], queue.oldest_waiting_s)
            paused.add_metric([queue.queue], 1.0 if queue.paused else 0.0)
        yield from (jobs, waiting, paused)

    def _outcomes(self) -> Iterator[Metric]:
        labels = ["queue", "name"]
        counters = {kind: CounterMetricFamily(
            f"conveyor_jobs_{kind}", f"Attempts that ended {kind} (failed: discarded).",
            labels=labels) for kind in metrics.KINDS}
        runtime = SummaryMetricFamily("conveyor_job_runtime_seconds",
                                      "Run time of attempts, from claim to outcome.",
                                      labels=labels)
        for total in self.totals:
            key = [total.queue, total.name]
            for kind, family in counters.items():
                family.add_metric(key, getattr(total, kind))
            runtime.add_metric(key, total.attempts, total.runtime_sum)
        yield from counters.values()
        yield runtime


async def aprometheus_text(app: Conveyor) -> bytes:
    """The exposition text of one scrape."""
    snapshot = Snapshot(await app.admin.aoverview(), await app.admin.ametric_totals())
    registry = CollectorRegistry(auto_describe=False)
    registry.register(snapshot)
    return generate_latest(registry)


def prometheus_text(app: Conveyor) -> bytes:
    return app.blocking.run(lambda: aprometheus_text(app))
