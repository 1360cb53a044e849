"""OpenTelemetry: enqueue and run spans linked through the job's meta, attributes, outcomes and
metrics, read back from the SDK's in-memory exporters (and, for a worker process, from the JSON
lines its exporter wrote)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from conveyor import Conveyor, JobState
from conveyor.contrib import otel
from tests.conftest import FAST
from tests.observability.jobs_app import declare

ROOT = Path(__file__).resolve().parents[2]


class Traced:
    """An app instrumented with in-memory exporters."""

    def __init__(self, url: str) -> None:
        self.spans = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.metrics = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.metrics])
        self.app = Conveyor(url, settings=FAST)
        declare(self.app)
        self.instrumentation = otel.instrument(self.app, tracer_provider=self.tracer_provider,
                                               meter_provider=self.meter_provider)

    def named(self, name: str) -> list[ReadableSpan]:
        return [span for span in self.spans.get_finished_spans() if span.name == name]

    def points(self, metric: str) -> list[Any]:
        data = self.metrics.get_metrics_data()
        assert data is not None
        return [point for resource in data.resource_metrics for scope in resource.scope_metrics
                for found in scope.metrics if found.name == metric
                for point in found.data.data_points]


@pytest.fixture
def traced(url: str) -> Iterator[Traced]:
    setup = Traced(url)
    yield setup
    setup.app.close()
    setup.meter_provider.shutdown()


def test_a_run_span_is_the_child_of_its_enqueue_span(traced: Traced) -> None:
    app = traced.app
    job = app.registry.get("greet").enqueue("ada")
    assert app.drain() == 1

    (sent,) = traced.named("enqueue greet")
    (ran,) = traced.named("run greet")
    assert sent.kind is trace.SpanKind.PRODUCER and ran.kind is trace.SpanKind.CONSUMER
    assert ran.parent is not None
    assert (ran.parent.trace_id, ran.parent.span_id) == (sent.context.trace_id,
                                                        sent.context.span_id)
    assert app.get(job.id).meta["traceparent"].startswith(
        f"00-{sent.context.trace_id:032x}-{sent.context.span_id:016x}-")
    assert dict(sent.attributes or {}) == {
        "messaging.system": "conveyor", "messaging.operation.type": "send",
        "conveyor.job.name": "greet", "conveyor.job.queue": "mail",
        "messaging.batch.message_count": 1, "conveyor.job.id": job.id}
    attributes = dict(ran.attributes or {})
    assert attributes["conveyor.job.name"] == "greet"
    assert attributes["conveyor.job.queue"] == "mail"
    assert attributes["conveyor.job.id"] == job.id
    assert attributes["conveyor.job.attempt"] == 1
    assert attributes["conveyor.job.outcome"] == "completed"
    assert ran.status.status_code is trace.StatusCode.UNSET


def test_failures_and_retries_are_recorded_on_their_attempts(traced: Traced) -> None:
    app = traced.app
    failing = app.registry.get("boom").enqueue(password="hunter2")
    app.registry.get("flaky").enqueue()
    app.drain()

    (boom,) = traced.named("run boom")
    assert boom.attributes is not None and boom.attributes["conveyor.job.outcome"] == "discarded"
    assert boom.status.status_code is trace.StatusCode.ERROR
    (event,) = boom.events
    assert event.name == "exception" and event.attributes is not None
    assert event.attributes["exception.type"] == "ValueError"
    assert event.attributes["exception.message"] == "the printer is on fire (password=***)"
    assert "password=***" in str(event.attributes["exception.stacktrace"])
    assert app.get(failing.id).state is JobState.DISCARDED
    every_value = json.dumps([[dict(s.attributes or {}), *(dict(e.attributes or {})
                                                            for e in s.events)]
                              for s in traced.spans.get_finished_spans()])
    assert "hunter2" not in every_value  # arguments never become attributes, errors are masked

    (sent,) = traced.named("enqueue flaky")
    runs = sorted(traced.named("run flaky"),
                  key=lambda span: (span.attributes or {})["conveyor.job.attempt"])
    assert [(s.attributes or {})["conveyor.job.outcome"] for s in runs] == ["retried", "completed"]
    assert [(s.attributes or {})["conveyor.job.attempt"] for s in runs] == [1, 2]
    assert {s.parent.span_id for s in runs if s.parent} == {sent.context.span_id}


def test_metrics_count_enqueues_attempts_durations_and_queue_depth(traced: Traced) -> None:
    app = traced.app
    app.registry.get("greet").enqueue_many([(("ada",), {}), (("grace",), {})])
    app.registry.get("boom").enqueue()
    app.drain()

    enqueued = {(p.attributes["conveyor.job.name"], p.attributes["conveyor.job.queue"]): p.value
                for p in traced.points("conveyor.jobs.enqueued")}
    assert enqueued == {("greet", "mail"): 2, ("boom", "default"): 1}
    attempts = {(p.attributes["conveyor.job.name"], p.attributes["conveyor.job.outcome"]): p.value
                for p in traced.points("conveyor.job.attempts")}
    assert attempts == {("greet", "completed"): 2, ("boom", "discarded"): 1}
    durations = {p.attributes["conveyor.job.name"]: p
                 for p in traced.points("conveyor.job.duration")}
    assert durations["greet"].count == 2 and 0 <= durations["greet"].sum < 10
    depth = {(p.attributes["conveyor.job.queue"], p.attributes["conveyor.job.state"]): p.value
             for p in traced.points("conveyor.queue.depth")}
    assert depth[("mail", "completed")] == 2
    assert depth[("default", "discarded")] == 1


def test_spans_made_by_job_code_are_children_of_the_run_span(traced: Traced) -> None:
    app = traced.app
    tracer = traced.tracer_provider.get_tracer("test")

    @app.job(name="fetch_prices")
    def fetch_prices() -> None:  # a plain def: it runs in the worker's thread pool
        with tracer.start_as_current_span("GET /prices"):
            pass

    fetch_prices.enqueue()
    app.drain()
    (ran,) = traced.named("run fetch_prices")
    (inner,) = traced.named("GET /prices")
    assert inner.parent is not None and inner.parent.span_id == ran.context.span_id


@pytest.mark.slow
def test_a_worker_process_continues_the_enqueuers_trace(traced: Traced, tmp_path: Path) -> None:
    """The link crosses processes: only the job's row carries it."""
    app = traced.app
    greeted = app.registry.get("greet").enqueue("ada")
    failed = app.registry.get("boom").enqueue()
    spans_file = tmp_path / "spans.jsonl"
    env = {**os.environ, "CONVEYOR_URL": app.url, "SPANS_FILE": str(spans_file),
           "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-m", "conveyor", "--app", "tests.observability.jobs_app:app",
                    "worker", "--burst"], cwd=ROOT, env=env, check=True, timeout=60)

    worker_spans = {span["name"]: span for span in map(
        json.loads, spans_file.read_text(encoding="utf-8").splitlines())}
    for name, job in (("greet", greeted), ("boom", failed)):
        (sent,) = traced.named(f"enqueue {name}")
        ran = worker_spans[f"run {name}"]
        assert ran["context"]["trace_id"] == f"0x{sent.context.trace_id:032x}"
        assert ran["parent_id"] == f"0x{sent.context.span_id:016x}"
        assert ran["kind"] == "SpanKind.CONSUMER"
        assert ran["attributes"]["conveyor.job.id"] == job.id
        assert ran["attributes"]["conveyor.job.attempt"] == 1
    assert worker_spans["run greet"]["attributes"]["conveyor.job.outcome"] == "completed"
    assert worker_spans["run boom"]["attributes"]["conveyor.job.outcome"] == "discarded"
    assert worker_spans["run boom"]["status"]["status_code"] == "ERROR"
    assert app.get(greeted.id).result == "hello ada"


def test_without_an_sdk_nothing_is_added_to_jobs(tmp_path: Path) -> None:
    app = Conveyor(f"sqlite:///{tmp_path / 'jobs.db'}")
    declare(app)
    otel.instrument(app, tracer_provider=trace.NoOpTracerProvider())
    job = app.registry.get("greet").enqueue("ada")
    assert app.drain() == 1
    assert app.get(job.id).meta == {}
    app.close()


def test_instrumenting_twice_is_refused_and_uninstrument_stops_tracing(traced: Traced) -> None:
    with pytest.raises(ValueError, match="already instrumented"):
        otel.instrument(traced.app)
    traced.instrumentation.uninstrument()
    job = traced.app.registry.get("greet").enqueue("ada")
    traced.app.drain()
    assert traced.spans.get_finished_spans() == ()
    assert "traceparent" not in traced.app.get(job.id).meta
