"""uvicorn's HTTP protocol, with the two limits on request headers it lacks.

uvicorn bounds the time a connection may sit idle between requests (`--timeout-keep-alive`)
and, with h11 only, the size of the headers; with httptools (what `uvicorn[standard]` runs)
nothing bounds how long a client takes to send a request's headers, nor how large they get. A
slowloris client (headers sent a byte at a time) then holds its connection, and a slot of
`--limit-concurrency`, for as long as it likes. This protocol closes a connection whose request
headers are not complete HTTP_HEADER_TIMEOUT_SECONDS after its first byte arrived (or after the
connection opened), with 408, and answers 400 to headers larger than HTTP_MAX_HEADER_BYTES.

The Dockerfile runs it with `uvicorn --http app.server:HeaderLimitedHttpToolsProtocol`. A reverse
proxy in front (an ingress) usually has such limits too; these hold without one.
"""

import asyncio
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_REQUEST_TIMEOUT = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"content-length: 15\r\n"
    b"connection: close\r\n\r\n"
    b"Request Timeout"
)


class HeaderLimits(BaseSettings):
    """Read once, when uvicorn imports this protocol (before the app)."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    http_header_timeout_seconds: float = Field(default=10.0, gt=0)
    http_max_header_bytes: int = Field(default=16_384, ge=1024)


LIMITS = HeaderLimits()


class HeadersTooLargeError(Exception):
    """Raised from a parser callback: uvicorn answers 400 and closes the connection."""


class HeaderLimitedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_deadline: asyncio.TimerHandle | None = None
        self._header_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        self._headers_done()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_bytes = 0
        self._await_headers()

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value))
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._headers_done()
        super().on_headers_complete()

    def _count(self, size: int) -> None:
        self._header_bytes += size
        if self._header_bytes > LIMITS.http_max_header_bytes:
            raise HeadersTooLargeError(f"request headers over {LIMITS.http_max_header_bytes} bytes")

    def _await_headers(self) -> None:
        if self._header_deadline is None:
            self._header_deadline = self.loop.call_later(
                LIMITS.http_header_timeout_seconds, self._headers_timed_out
            )

    def _headers_done(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_timed_out(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            self.logger.warning("Request headers not complete in time: connection closed.")
            self.transport.write(_REQUEST_TIMEOUT)
            self.transport.close()
