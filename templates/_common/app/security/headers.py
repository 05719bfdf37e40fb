"""Security headers on every response, as a pure ASGI middleware.

Pure ASGI (not BaseHTTPMiddleware) so it adds no task per request and never buffers streaming
bodies. It wraps `send`, so it also covers responses made by routing (404/405), by exception
handlers and by the CORS preflight. Responses made by Starlette's outermost ServerErrorMiddleware
(unhandled exceptions) bypass user middleware: the 500 handler in `app.errors` applies the
same headers itself.
"""

from collections.abc import Iterable, Mapping

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# An API returns JSON, never HTML: nothing may load, frame or embed it.
API_CSP = "default-src 'none'; frame-ancestors 'none'"

SECURITY_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": API_CSP,
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    # Responses may carry personal data: no shared cache may keep them.
    "Cache-Control": "no-store",
}

# The interactive docs (only when DOCS_ENABLED) are HTML pages that load Swagger UI / ReDoc
# from a CDN: they get a CSP that allows exactly that.
DOCS_CSP = (
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; "
    "script-src 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src https://fonts.gstatic.com; img-src data: https://fastapi.tiangolo.com; "
    "connect-src 'self'; worker-src blob:"
)


def apply_security_headers(headers: MutableHeaders, *, csp: str = API_CSP) -> None:
    """Set each header unless the response already chose a value."""
    for name, value in SECURITY_HEADERS.items():
        if name not in headers:
            headers[name] = csp if name == "Content-Security-Policy" else value


RawHeaders = list[tuple[bytes, bytes]]


def _raw(csp: str) -> RawHeaders:
    # Encoded once at import: middleware only appends these tuples.
    headers = {**SECURITY_HEADERS, "Content-Security-Policy": csp}
    return [
        (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()
    ]


# As ASGI raw headers, for any pure-ASGI layer that sets them (this middleware; app.edge in a
# container service).
API_HEADERS = _raw(API_CSP)
DOCS_HEADERS = _raw(DOCS_CSP)


def with_defaults(headers: Iterable[tuple[bytes, bytes]], defaults: RawHeaders) -> RawHeaders:
    """A response's raw headers with each of `defaults` it did not set itself."""
    headers = list(headers)
    present = {name.lower() for name, _ in headers}
    headers.extend(header for header in defaults if header[0] not in present)
    return headers


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, docs_paths: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.docs_paths = docs_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        defaults = DOCS_HEADERS if scope["path"] in self.docs_paths else API_HEADERS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = with_defaults(message.get("headers", ()), defaults)
            await send(message)

        await self.app(scope, receive, send_with_headers)
