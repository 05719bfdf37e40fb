"""The HTTP protocol the Dockerfile runs: slow or oversized request headers are cut off."""

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from starlette.types import Receive, Scope, Send

from app import server
from app.server import HeaderLimitedHttpToolsProtocol, HeaderLimits

TIMEOUT = 0.5


async def _hello(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hello"})


@pytest.fixture
def port(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    monkeypatch.setattr(
        server,
        "LIMITS",
        HeaderLimits(http_header_timeout_seconds=TIMEOUT, http_max_header_bytes=2048),
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    config = uvicorn.Config(
        _hello,
        host="127.0.0.1",
        port=free,
        http=HeaderLimitedHttpToolsProtocol,
        lifespan="off",
        log_level="warning",
    )
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not running.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield free
    running.should_exit = True
    thread.join(timeout=10)


def _read_all(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(4096):
        data += chunk
    return data


def test_headers_trickled_slowly_are_cut_off_with_408(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        started = time.monotonic()
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        answer = b""
        for byte in b"X-Slow: 1\r\n" * 20:  # one byte every 50 ms, far longer than the deadline
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break
            time.sleep(0.05)
            if answer := answer or _peek(sock):
                break
        answer += _read_all(sock)
        elapsed = time.monotonic() - started

    assert answer.startswith(b"HTTP/1.1 408 ")
    assert elapsed < TIMEOUT + 2


def _peek(sock: socket.socket) -> bytes:
    sock.setblocking(False)
    try:
        return sock.recv(4096)
    except BlockingIOError:
        return b""
    finally:
        sock.setblocking(True)


def test_a_connection_that_sends_nothing_is_closed(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        answer = _read_all(sock)

    assert answer.startswith(b"HTTP/1.1 408 ")


def test_headers_over_the_size_cap_are_refused(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 4096 + b"\r\n\r\n")
        answer = _read_all(sock)

    assert answer.startswith(b"HTTP/1.1 400 ")


def test_a_prompt_request_is_served_and_the_connection_kept(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        first = sock.recv(4096)
        time.sleep(TIMEOUT * 2)  # idle between requests: --timeout-keep-alive's job, not ours
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        second = _read_all(sock)

    assert first.startswith(b"HTTP/1.1 200 ")
    assert second.startswith(b"HTTP/1.1 200 ")
