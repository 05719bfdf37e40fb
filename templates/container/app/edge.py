"""The pure-ASGI layer every request goes through: request id, trace context, Prometheus
metrics, security headers and the request body limit.

One layer, not four middlewares: each ASGI middleware costs every request a coroutine call, a
wrapped `send` and its own look at the headers, and these four act at the same two moments
(the request comes in, the response starts). Together they took about a fifth of the CPU time
of a request. Pure ASGI (not BaseHTTPMiddleware): no task per request, streaming bodies are
never buffered, and responses made by routing (404/405), exception handlers and the CORS
preflight get the same treatment.

The body limit is here, in front of routing, because FastAPI reads and parses a request body
before it solves any dependency: without it an anonymous client could make the process buffer
a body of any size before authentication refuses it. A declared Content-Length over the limit is
refused before the app runs; a body without one (chunked) is counted as it streams in and
refused once it passes the limit, so at most MAX_BODY_BYTES plus one chunk is ever held.
(FastAPI's own `max_body_size` answers from outside this layer, without its headers.)

Responses made by Starlette's outermost ServerErrorMiddleware (unhandled exceptions) bypass
user middleware: the 500 handler in `app.errors` applies the security headers and request id
itself.
"""

from json import dumps
from time import perf_counter
from uuid import uuid4

import structlog
from asgi_correlation_id import correlation_id
from asgi_correlation_id.middleware import is_valid_uuid4
from fastapi import HTTPException, status
from opentelemetry import context as otel_context
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.metrics import UNMEASURED_PATHS, HttpMetrics, content_length, method_label
from app.security.headers import API_HEADERS, DOCS_HEADERS, with_defaults
from app.telemetry import TraceContext

log = structlog.get_logger(__name__)

REQUEST_ID_HEADER = b"x-request-id"
CONTENT_LENGTH_HEADER = b"content-length"
TRANSFER_ENCODING_HEADER = b"transfer-encoding"
TOO_LARGE_DETAIL = "Request body too large"
_TOO_LARGE_BODY = dumps({"detail": TOO_LARGE_DETAIL}).encode()


class EdgeMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: HttpMetrics,
        trace_context: TraceContext,
        docs_paths: frozenset[str] = frozenset(),
        max_body_bytes: int,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.trace_context = trace_context
        self.docs_paths = docs_paths
        self.max_body_bytes = max_body_bytes

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
        declared_length: int | None = None
        streamed = False
        for name, value in scope["headers"]:
            if name == REQUEST_ID_HEADER:
                request_id = value.decode("latin-1")
            elif name == CONTENT_LENGTH_HEADER:
                # An unparsable length is uvicorn's to refuse; it never gets here.
                declared_length = int(value) if value.isdigit() else None
            elif name == TRANSFER_ENCODING_HEADER:
                streamed = True
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
            if declared_length is not None and declared_length > self.max_body_bytes:
                # Refused before anything reads the body: the client may still be sending it,
                # and uvicorn closes the connection rather than read the rest.
                await _send_too_large(send_with_headers)
            elif streamed:
                # No length declared up front: count. (uvicorn holds a body with a
                # Content-Length to that length, so those need no counting.)
                await self.app(scope, self._counted(receive), send_with_headers)
            else:
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

    def _counted(self, receive: Receive) -> Receive:
        """`receive`, refusing the request once its body passes the limit (chunked bodies)."""
        limit = self.max_body_bytes
        received = 0

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Raised into whatever reads the body (FastAPI re-raises HTTPExceptions
                    # from there), answered by the app's HTTPException handler: a 413 with
                    # this layer's headers, before any dependency ran.
                    raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, TOO_LARGE_DETAIL)
            return message

        return counted_receive


async def _send_too_large(send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status.HTTP_413_CONTENT_TOO_LARGE,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(_TOO_LARGE_BODY)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": _TOO_LARGE_BODY})
