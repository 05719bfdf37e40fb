"""The pure-ASGI layer every request goes through: request id, trace context, Prometheus
metrics and security headers.

One layer, not four middlewares: each ASGI middleware costs every request a coroutine call, a
wrapped `send` and its own look at the headers, and these four act at the same two moments
(the request comes in, the response starts). Together they took about a fifth of the CPU time
of a request. Pure ASGI (not BaseHTTPMiddleware): no task per request, streaming bodies are
never buffered, and responses made by routing (404/405), exception handlers and the CORS
preflight get the same treatment.

Responses made by Starlette's outermost ServerErrorMiddleware (unhandled exceptions) bypass
user middleware: the 500 handler in `app.errors` applies the security headers and request id
itself.
"""

from time import perf_counter
from uuid import uuid4

import structlog
from asgi_correlation_id import correlation_id
from asgi_correlation_id.middleware import is_valid_uuid4
from opentelemetry import context as otel_context
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.metrics import UNMEASURED_PATHS, HttpMetrics, content_length, method_label
from app.security.headers import API_HEADERS, DOCS_HEADERS, with_defaults
from app.telemetry import TraceContext

log = structlog.get_logger(__name__)

REQUEST_ID_HEADER = b"x-request-id"


class EdgeMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: HttpMetrics,
        trace_context: TraceContext,
        docs_paths: frozenset[str] = frozenset(),
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.trace_context = trace_context
        self.docs_paths = docs_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = perf_counter()

        # Request id (asgi-correlation-id's rules): the caller's X-Request-ID if it parses as a
        # UUID, else a new one, written back into the request headers for the handlers. Set in
        # its context variable for the logs and left there: each request runs in its own task,
        # and the 500 handler outside this layer still needs it.
        request_id = None
        for name, value in scope["headers"]:
            if name == REQUEST_ID_HEADER:
                request_id = value.decode("latin-1")
                break
        if not request_id or not is_valid_uuid4(request_id):
            if request_id:
                log.warning("request_id_replaced", invalid=request_id[:64])
            request_id = uuid4().hex
            scope["headers"] = [
                *(header for header in scope["headers"] if header[0] != REQUEST_ID_HEADER),
                (REQUEST_ID_HEADER, request_id.encode("latin-1")),
            ]
        correlation_id.set(request_id)
        security_headers = DOCS_HEADERS if scope["path"] in self.docs_paths else API_HEADERS
        request_id_header = (REQUEST_ID_HEADER, request_id.encode("latin-1"))

        # The server span when no span can leave the process (app.telemetry.TraceContext);
        # None when FastAPI's telemetry makes it.
        traced = self.trace_context.start(scope)

        status = 500
        size_out = 0

        async def send_with_headers(message: Message) -> None:
            nonlocal status, size_out
            if message["type"] == "http.response.start":
                status = message["status"]
                # Security headers unless the response chose its own; the request id always.
                headers = with_defaults(message.get("headers", ()), security_headers)
                size_out = content_length(headers)
                headers.append(request_id_header)
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            # The route template, never the raw path: routing left the matched route (or, for a
            # 405, the route whose path matched) in the scope; unmatched paths share one "none"
            # label, so scanners cannot explode the cardinality.
            handler = getattr(scope.get("route"), "path", None) or "none"
            if handler not in UNMEASURED_PATHS:
                self.metrics.record(
                    method_label(scope["method"]),
                    handler,
                    f"{str(status)[0]}xx",
                    max(perf_counter() - started, 0.0),
                    content_length(scope["headers"]),
                    size_out,
                )
            if traced is not None:
                traced[0].end()
        # Detached only on success: after an exception, the 500 handler outside this layer logs
        # with these ids; the request's task, and its context, end right after.
        if traced is not None:
            otel_context.detach(traced[1])
