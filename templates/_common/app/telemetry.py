"""OpenTelemetry tracing: server spans (FastAPI's native telemetry), outbound HTTP and Redis.

Spans are exported only when OTEL_EXPORTER_OTLP_ENDPOINT is set. Without it they still carry
trace and span ids, for log correlation and for propagation (W3C traceparent) to upstreams, but
are not recorded unless the caller's traceparent says its trace is sampled: recording spans that
nobody exports costs every request for nothing. The usual OTEL_* variables (OTEL_SERVICE_NAME,
OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER, OTEL_EXPORTER_OTLP_HEADERS, ...) are honoured by
the SDK itself.
"""

import os
from collections.abc import MutableMapping
from typing import Any

import httpx2
from opentelemetry import trace
from opentelemetry.instrumentation.httpx import HTTPX2ClientInstrumentor
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased, Sampler
from opentelemetry.trace import ProxyTracerProvider
from redis.asyncio import Redis

from app.settings import Settings

# Probes and scrapes arrive every few seconds and say nothing about user traffic.
UNTRACED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def create_tracer_provider(settings: Settings) -> TracerProvider:
    exporting = settings.otel_exporter_otlp_endpoint is not None
    sampler: Sampler | None = None  # the SDK's: OTEL_TRACES_SAMPLER, else parent-based always-on
    if not exporting and "OTEL_TRACES_SAMPLER" not in os.environ:
        # Ids for the logs, and the caller's sampling decision passed on, without the cost of
        # recording root spans that no exporter would send.
        sampler = ParentBased(ALWAYS_OFF)
    provider = TracerProvider(
        resource=Resource.create({SERVICE_NAME: settings.service_name}), sampler=sampler
    )
    if exporting:
        # Imported only when exporting: the exporter and protobuf cost import time.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter,
        )

        endpoint = f"{str(settings.otel_exporter_otlp_endpoint).rstrip('/')}/v1/traces"
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    # Code that calls trace.get_tracer() gets this provider too; only the first app of a process
    # (tests build several) registers it, because the global can be set once.
    if isinstance(trace.get_tracer_provider(), ProxyTracerProvider):
        trace.set_tracer_provider(provider)
    return provider


def is_untraced(scope: MutableMapping[str, Any]) -> bool:
    return scope.get("path") in UNTRACED_PATHS


def instrument_clients(
    provider: TracerProvider, *, http: httpx2.AsyncClient, redis: Redis | None
) -> None:
    """Trace outbound calls. `redis=None` leaves Redis alone (no spans would leave the process)."""
    # Per client, not global monkeypatching: several apps (tests) can live in one process.
    # HTTP always: its instrumentation also sends traceparent to the upstream.
    HTTPX2ClientInstrumentor.instrument_client(http, tracer_provider=provider)
    if redis is not None:
        RedisInstrumentor.instrument_client(redis, tracer_provider=provider)
