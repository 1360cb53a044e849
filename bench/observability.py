"""What observing jobs costs: enqueue and run rates plain, traced, and with JSON job events.

    python -m bench.observability --jobs 5000 --backends sqlite,postgres

Per backend and mode, on a fresh database: `--jobs` no-op jobs enqueued one at a time, then
run by an in-process burst worker (`app.adrain`, concurrency 50). Modes: `plain`; `otel`
(`conveyor.contrib.otel` with the SDK, spans through a BatchSpanProcessor into an in-memory
exporter, metrics into an in-memory reader, queue depth off); `json-logs` (the job events of
`conveyor worker --log-format json`, formatted into memory).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import time
from collections.abc import Callable

from bench import bench_app
from bench.databases import temporary
from conveyor import Conveyor, joblog

Mode = Callable[[Conveyor], Callable[[], None]]
"""Sets a mode up on an app; returns what tears it down."""


def plain(app: Conveyor) -> Callable[[], None]:
    return lambda: None


def traced(app: Conveyor) -> Callable[[], None]:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from conveyor.contrib import otel

    tracing = TracerProvider()
    tracing.add_span_processor(BatchSpanProcessor(InMemorySpanExporter()))
    meters = MeterProvider(metric_readers=[InMemoryMetricReader()])
    otel.instrument(app, tracer_provider=tracing, meter_provider=meters, queue_depth=False)

    def stop() -> None:
        tracing.shutdown()
        meters.shutdown()

    return stop


def json_logs(app: Conveyor) -> Callable[[], None]:
    handler = logging.StreamHandler(io.StringIO())
    handler.setFormatter(joblog.JsonFormatter())
    logger = logging.getLogger("conveyor.jobs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    joblog.log_events(app)

    def stop() -> None:
        logger.removeHandler(handler)
        logger.propagate = True

    return stop


MODES: dict[str, Mode] = {"plain": plain, "otel": traced, "json-logs": json_logs}


def rates(url: str, jobs: int, mode: Mode) -> tuple[float, float]:
    """(enqueues/s one at a time, attempts/s run by an in-process burst worker)."""
    app = bench_app.build(url)
    app.migrate()
    stop = mode(app)
    noop = app.registry.get("noop")
    try:
        began = time.perf_counter()
        for i in range(jobs):
            noop.enqueue(i)
        enqueued = jobs / (time.perf_counter() - began)
        began = time.perf_counter()
        ran = asyncio.run(_drain(app))
        run = ran / (time.perf_counter() - began)
        if ran != jobs:
            raise SystemExit(f"{ran} of {jobs} jobs ran")
    finally:
        stop()
        app.close()
    return enqueued, run


async def _drain(app: Conveyor) -> int:
    try:
        return await app.adrain(concurrency=50)
    finally:
        await app.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    print(f"{'backend':10s} {'mode':10s} {'enqueue/s':>10s} {'run/s':>10s}")
    for backend in args.backends.split(","):
        for name, mode in MODES.items():
            with temporary(backend) as url:
                enqueued, run = rates(url, args.jobs, mode)
            print(f"{backend:10s} {name:10s} {enqueued:>10,.0f} {run:>10,.0f}")


if __name__ == "__main__":
    main()
