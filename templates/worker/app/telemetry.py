"""OpenTelemetry tracing of tasks, continuing the trace of the service that enqueued them.

The enqueuing service instruments its Celery client the same way (`CeleryInstrumentor`): the
W3C traceparent travels in the message headers and each task's span is its child. Spans are
always recorded, so logs carry trace ids; they are exported only when
OTEL_EXPORTER_OTLP_ENDPOINT is set. The usual OTEL_* variables are honoured by the SDK itself.
"""

from opentelemetry import trace
from opentelemetry.instrumentation.celery import CeleryInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import ProxyTracerProvider

from app.settings import Settings


def create_tracer_provider(settings: Settings) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: settings.service_name}))
    if settings.otel_exporter_otlp_endpoint is not None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter,
        )

        endpoint = f"{str(settings.otel_exporter_otlp_endpoint).rstrip('/')}/v1/traces"
        # The SDK restarts the export thread in forked pool processes (os.register_at_fork).
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return provider


def setup_tracing(settings: Settings) -> None:
    """Install the tracer provider and instrument Celery, once per process."""
    if isinstance(trace.get_tracer_provider(), ProxyTracerProvider):
        trace.set_tracer_provider(create_tracer_provider(settings))
    instrumentor = CeleryInstrumentor()  # type: ignore[no-untyped-call]  # untyped upstream
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(tracer_provider=trace.get_tracer_provider())
