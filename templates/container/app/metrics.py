"""Prometheus metrics: request count, sizes and latency by method, route template and status class.

Recorded by the app's pure-ASGI layer (`app.edge`) on prometheus_client, exposing what
prometheus-fastapi-instrumentator's default instrumentation does (same names, labels and buckets:
its dashboards work unchanged) for a fraction of its per-request cost: the labelled series of a
(method, route, status class) are looked up once, not on every request, and no Request/Response
objects are built.
"""

from fastapi import FastAPI, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    Summary,
    generate_latest,
)

# Not worth a time series each: probes and the scrape itself.
UNMEASURED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
# Anything else a client sends as a method is one label value, so it cannot grow the series.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_LATENCY_HIGHR_BUCKETS = (
    0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 7.5, 10, 30,
    60, float("inf"),
)  # fmt: skip
_LATENCY_LOWR_BUCKETS = (0.1, 0.5, 1, float("inf"))


class HttpMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "http_requests_total",
            "Total number of requests by method, status and handler.",
            ("method", "status", "handler"),
            registry=registry,
        )
        self.request_size = Summary(
            "http_request_size_bytes",
            "Content length of incoming requests by handler (the header's value; 0 without).",
            ("handler",),
            registry=registry,
        )
        self.response_size = Summary(
            "http_response_size_bytes",
            "Content length of outgoing responses by handler (the header's value; 0 without).",
            ("handler",),
            registry=registry,
        )
        self.latency_highr = Histogram(
            "http_request_duration_highr_seconds",
            "Latency with many buckets but no API specific labels, for accurate percentiles.",
            buckets=_LATENCY_HIGHR_BUCKETS,
            registry=registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Latency with only few buckets by handler, for SLIs.",
            ("method", "handler"),
            buckets=_LATENCY_LOWR_BUCKETS,
            registry=registry,
        )
        self._series: dict[tuple[str, str, str], tuple[Counter, Summary, Summary, Histogram]] = {}

    def record(
        self, method: str, handler: str, status: str, seconds: float, size_in: int, size_out: int
    ) -> None:
        key = (method, handler, status)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = (
                self.requests.labels(method, status, handler),
                self.request_size.labels(handler),
                self.response_size.labels(handler),
                self.latency.labels(method, handler),
            )
        requests, request_size, response_size, latency = series
        requests.inc()
        request_size.observe(size_in)
        response_size.observe(size_out)
        self.latency_highr.observe(seconds)
        latency.observe(seconds)


def content_length(headers: list[tuple[bytes, bytes]]) -> int:
    """The Content-Length header's value, 0 without one (what the instrumentator measures)."""
    for name, value in headers:
        if name.lower() == b"content-length":
            return int(value) if value.isdigit() else 0
    return 0


def method_label(method: str) -> str:
    return method if method in _METHODS else "_OTHER"


def install_metrics(app: FastAPI) -> HttpMetrics:
    """Add /metrics; the returned metrics are for the app's ASGI layer to record requests in."""
    # A registry per app: several apps (tests) can live in one process without clashing names.
    registry = CollectorRegistry()
    http_metrics = HttpMetrics(registry)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        # The process-wide default registry adds process/GC/platform metrics and stamina's
        # retry counter.
        body = generate_latest(registry) + generate_latest(REGISTRY)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return http_metrics
