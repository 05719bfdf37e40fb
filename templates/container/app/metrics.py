"""Prometheus metrics: request count and latency by method, route template and status class."""

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_fastapi_instrumentator import Instrumentator

# Not worth a time series each: probes and the scrape itself.
UNMEASURED_PATHS = ["/healthz", "/readyz", "/metrics"]


def install_metrics(app: FastAPI) -> None:
    # A registry per app: several apps (tests) can live in one process without clashing names.
    registry = CollectorRegistry()
    Instrumentator(
        excluded_handlers=UNMEASURED_PATHS,
        # Unmatched paths become one "none" label, so scanners cannot explode the cardinality.
        should_group_untemplated=True,
        registry=registry,
    ).instrument(app)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        # The process-wide default registry adds process/GC/platform metrics and stamina's
        # retry counter.
        body = generate_latest(registry) + generate_latest(REGISTRY)
        return Response(body, media_type=CONTENT_TYPE_LATEST)
