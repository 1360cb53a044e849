"""OpenTelemetry: a span for each enqueue and each attempt, linked across processes, and job
metrics through the OTel metrics API (beside the Prometheus endpoint, which reads the database).

    from conveyor.contrib import otel
    otel.instrument(app)   # after the service set up its TracerProvider and MeterProvider

Enqueueing opens a PRODUCER span and stores its W3C trace context in each new job's meta
(`traceparent`, and `tracestate` when there is one), so the worker that runs the job - in
another process, on another machine, after retries - opens its CONSUMER span as a child of
the enqueue span. The job's code runs inside that span: spans it makes (an HTTP client's) are
its children. Both carry `conveyor.job.name`, `conveyor.job.queue` and `conveyor.job.id`;
the run span also `conveyor.job.attempt` and `conveyor.job.outcome` (completed, retried,
discarded, snoozed, cancelled, interrupted), with the error recorded when the attempt failed
(secrets in its message masked, as in logs). Job arguments never become attributes.

Metrics: `conveyor.jobs.enqueued` and `conveyor.job.attempts` (counters), `conveyor.job.duration`
(histogram, seconds) and `conveyor.queue.depth` (gauge of jobs by queue and state, read from the
database each time the metrics are collected; `queue_depth=False` leaves it out).

Only the OpenTelemetry API is needed (`pip install conveyor[otel]`); with no SDK configured
every span and instrument is a no-op and no job meta is written.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.context import Context
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from conveyor import __version__, encoding, hooks, model, redact
from conveyor.app import Conveyor
from conveyor.worker import failure

log = logging.getLogger("conveyor.contrib.otel")
SCOPE = "conveyor"
CARRIER_KEYS = ("traceparent", "tracestate")
"""The meta keys that carry the enqueue span's context to the worker (W3C Trace Context)."""
_PROPAGATOR = TraceContextTextMapPropagator()
FLUSH_TIMEOUT_MS = 5000


class Instrumentation:
    """The hooks `instrument` added to one app; `uninstrument()` removes them."""

    def __init__(self, app: Conveyor, tracer_provider: trace.TracerProvider | None,
                 meter_provider: metrics.MeterProvider | None, queue_depth: bool) -> None:
        self.app = app
        self._providers = (tracer_provider, meter_provider)
        self.tracer = trace.get_tracer(SCOPE, __version__, tracer_provider)
        meter = metrics.get_meter(SCOPE, __version__, meter_provider)
        self.enqueued = meter.create_counter(
            "conveyor.jobs.enqueued", unit="{job}", description="Jobs enqueued.")
        self.attempts = meter.create_counter(
            "conveyor.job.attempts", unit="{attempt}",
            description="Attempts run, by job name, queue and outcome.")
        self.duration = meter.create_histogram(
            "conveyor.job.duration", unit="s", description="Run time of attempts.")
        if queue_depth:
            meter.create_observable_gauge(
                "conveyor.queue.depth", [self._depth], unit="{job}",
                description="Jobs in the database by queue and state.")

    def uninstrument(self) -> None:
        """Stop tracing and counting this app's jobs (the depth gauge stays registered with
        its meter provider, which OpenTelemetry cannot take back; it then reports nothing)."""
        _remove(self.app.hooks.enqueue, self.enqueuing)
        _remove(self.app.hooks.attempt, self.attempting)
        _remove(self.app.hooks.stopped, self.flush)
        self.app = _Detached()  # type: ignore[assignment]

    def flush(self) -> None:
        """Export what the providers still buffer (called when a worker stops: `conveyor
        worker` exits without running the SDK's `atexit` shutdown)."""
        tracer_provider, meter_provider = self._providers
        for provider in (tracer_provider or trace.get_tracer_provider(),
                         meter_provider or metrics.get_meter_provider()):
            force_flush = getattr(provider, "force_flush", None)
            if callable(force_flush):
                force_flush(FLUSH_TIMEOUT_MS)

    @contextlib.contextmanager
    def enqueuing(self, call: hooks.Enqueue) -> Iterator[None]:
        """The enqueue span; its context goes into each new job's meta."""
        names = sorted({row.name for row in call.rows})
        queues = sorted({row.queue for row in call.rows})
        attributes: dict[str, Any] = {
            "messaging.system": "conveyor", "messaging.operation.type": "send",
            "conveyor.job.name": names[0] if len(names) == 1 else names,
            "conveyor.job.queue": queues[0] if len(queues) == 1 else queues,
            "messaging.batch.message_count": len(call.rows)}
        title = f"enqueue {names[0]}" if len(names) == 1 else "enqueue"
        with self.tracer.start_as_current_span(title, kind=trace.SpanKind.PRODUCER,
                                               attributes=attributes) as span:
            carrier: dict[str, str] = {}
            _PROPAGATOR.inject(carrier)
            if carrier:
                call.rows = [_carrying(row, carrier) for row in call.rows]
            yield
            if len(call.ids) == 1:
                span.set_attribute("conveyor.job.id", call.ids[0])
        for row in call.rows:
            self.enqueued.add(1, {"conveyor.job.name": row.name, "conveyor.job.queue": row.queue})

    @contextlib.contextmanager
    def attempting(self, attempt: hooks.Attempt) -> Iterator[None]:
        """The run span, child of the enqueue span when the job carries its context."""
        job = attempt.job
        labels = {"conveyor.job.name": job.name, "conveyor.job.queue": job.queue}
        began = time.monotonic()
        with self.tracer.start_as_current_span(
                f"run {job.name}", context=_parent_of(job.meta), kind=trace.SpanKind.CONSUMER,
                record_exception=False, set_status_on_exception=False,
                attributes={**labels, "messaging.system": "conveyor",
                            "messaging.operation.type": "process",
                            "conveyor.job.id": job.id, "conveyor.job.attempt": job.attempt,
                            "conveyor.worker.id": attempt.worker_id}) as span:
            yield
            ended = attempt.outcome_name
            span.set_attribute("conveyor.job.outcome", ended)
            if ended in ("retried", "discarded"):
                if attempt.error is not None:
                    span.record_exception(attempt.error, attributes=_masked(attempt.error))
                span.set_status(trace.StatusCode.ERROR, f"attempt {job.attempt} {ended}")
        labels["conveyor.job.outcome"] = ended
        self.attempts.add(1, labels)
        self.duration.record(time.monotonic() - began, labels)

    def _depth(self, options: CallbackOptions) -> Iterable[Observation]:
        try:
            counts = self.app.counts()
        except Exception as exc:  # storage down: no reading this time, never a crash
            log.warning("conveyor.queue.depth: could not count jobs (%s)", exc)
            return []
        return [Observation(count, {"conveyor.job.queue": queue, "conveyor.job.state": str(state)})
                for (queue, state), count in sorted(counts.items())]


def instrument(app: Conveyor, *, tracer_provider: trace.TracerProvider | None = None,
               meter_provider: metrics.MeterProvider | None = None,
               queue_depth: bool = True) -> Instrumentation:
    """Trace and measure `app`'s enqueues and attempts with the given providers (default:
    the global ones). Call it once per app, in the service and in the worker alike (e.g. in
    the module that creates the app)."""
    if any(isinstance(getattr(hook, "__self__", None), Instrumentation)
           for hook in app.hooks.attempt):
        raise ValueError(f"{app!r} is already instrumented for OpenTelemetry")
    added = Instrumentation(app, tracer_provider, meter_provider, queue_depth)
    app.hooks.enqueue.append(added.enqueuing)
    app.hooks.attempt.append(added.attempting)
    app.hooks.stopped.append(added.flush)
    return added


def _carrying(row: model.NewJob, carrier: Mapping[str, str]) -> model.NewJob:
    meta = {**encoding.loads(row.meta_json), **carrier}
    return dataclasses.replace(row, meta_json=encoding.dumps(meta, what="job meta"))


def _masked(error: BaseException) -> dict[str, str]:
    """The exception's message and traceback as recorded, secrets masked (`redact.text`)."""
    return {"exception.message": redact.text(failure.message_of(error)),
            "exception.stacktrace": redact.text(failure.traceback_of(error))}


def _parent_of(meta: Mapping[str, Any]) -> Context | None:
    """The enqueue span's context from the job's meta; None (the current context) without."""
    carrier = {key: meta[key] for key in CARRIER_KEYS if isinstance(meta.get(key), str)}
    return _PROPAGATOR.extract(carrier) if "traceparent" in carrier else None


def _remove(hooks_list: list[Any], hook: Any) -> None:
    if hook in hooks_list:
        hooks_list.remove(hook)


class _Detached:
    """Stands in for the app after `uninstrument`: the depth gauge reads nothing."""

    def counts(self) -> dict[tuple[str, model.JobState], int]:
        return {}
