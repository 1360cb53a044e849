"""Jobs that observability tests run in real worker processes.

With `$SPANS_FILE` set (a worker process), the app is traced with the OpenTelemetry SDK and
the finished spans are appended to that file as JSON lines, for the test to read back.
"""

from __future__ import annotations

import os

from conveyor import Conveyor, Retry, current_job


def declare(app: Conveyor) -> None:
    """The same job names in the test process (which enqueues) and in the worker."""

    @app.job(name="greet", queue="mail")
    def greet(name: str) -> str:
        return f"hello {name}"

    @app.job(name="boom", max_attempts=1)
    def boom(password: str = "") -> None:
        raise ValueError(f"the printer is on fire (password={password})")

    @app.job(name="flaky", max_attempts=3)
    def flaky() -> str:
        if current_job().job.attempt == 1:
            raise Retry(in_=0, reason="first try fails")
        return "second try"


def _traced(app: Conveyor, path: str) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    from conveyor.contrib import otel

    provider = TracerProvider()
    out = open(path, "a", encoding="utf-8")  # noqa: SIM115 - open for the process's life
    # Exported only when the worker stops and flushes (the SDK's own timer would wait 60 s).
    provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter(
        out=out, formatter=lambda span: span.to_json(indent=None) + "\n"),
        schedule_delay_millis=60_000))
    otel.instrument(app, tracer_provider=provider, queue_depth=False)


app = Conveyor(os.environ.get("CONVEYOR_URL"))
declare(app)
if os.environ.get("SPANS_FILE"):
    _traced(app, os.environ["SPANS_FILE"])
