# traced.py - OpenTelemetry for a Conveyor app: the same set-up in the service and the workers.
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

from conveyor import Conveyor
from conveyor.contrib import otel

resource = Resource.create({"service.name": "shop"})
tracing = TracerProvider(resource=resource)
tracing.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))  # or OTLPSpanExporter()
trace.set_tracer_provider(tracing)
metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=[
    PeriodicExportingMetricReader(ConsoleMetricExporter())]))           # or OTLPMetricExporter()

app = Conveyor("sqlite:///shop.db")
otel.instrument(app)  # after the providers are set; once per app


@app.job(name="send_receipt", queue="mail")
def send_receipt(order_id: int) -> None:
    with trace.get_tracer("shop").start_as_current_span("render receipt"):
        ...  # spans made here are children of the job's run span


if __name__ == "__main__":
    with trace.get_tracer("shop").start_as_current_span("POST /orders"):  # a request
        send_receipt.enqueue(1001)
    app.drain()  # here for the example; in production `conveyor --app traced:app worker`
