#!/usr/bin/env python3
"""Fault injection against a generated `container` service: it must degrade and recover.

Generates one service with `svc new` (auth and rate limiting on), installs it in one fresh
virtualenv, and runs it under uvicorn on 127.0.0.1 against private redis-server instances and a
fake upstream, checking over real HTTP:

1. Redis stopped under load: /healthz stays 200, /readyz turns 503 within a second, the cached
   upstream route serves uncached, Redis-backed routes answer a clear 503, rate limiting fails
   open or closed as RATE_LIMIT_FAIL_OPEN says; after a restart everything recovers. Then Redis
   frozen (SIGSTOP, like a network partition): the same, each answer within its time budget.
2. Upstream faults (timeouts, 503s, 500s): the HTTP client retries what it should (attempts
   counted at the fake upstream), the circuit breaker opens and fails fast without calling the
   upstream, then closes once the upstream is back and HTTP_BREAKER_TTL has passed.
3. Two replicas on one Redis: a shared rate limit, and items and cache entries written through
   one replica visible through the other.
4. A bounded load run against an authenticated route: no 5xx; request count and rate recorded.

Usage:  REDIS_URL=redis://127.0.0.1:6379/0 tests/e2e/check_faults.py [--keep] [--load-seconds N]
        [--venv DIR]  (reuse a virtualenv that has the service's dependencies: faster iterations)

Environment:
  SVC_BIN          the svc binary (default: target/debug/svc)
  SVC_TEMPLATE     render this template directory instead of the embedded one (development)
  PIP_CACHE_DIR    shared pip cache (default: ~/.cache/svc-e2e/pip), so repeated runs are fast
  REDIS_SERVER     redis-server binary (default: PATH)
  REDIS_URL        accepted for tests/run.sh; unused: every Redis here is private to this script

Prints PASS/FAIL per step and ends with `N passed, M failed`; exits 1 on any failure.
Only 127.0.0.1 is ever contacted; every wait is bounded; every process it starts is stopped.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

# The helpers of the container check: reporting, processes, bounded waits, HTTP to 127.0.0.1.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_container import (  # noqa: E402
    PROCS,
    Report,
    Response,
    call,
    find_python,
    free_port,
    run,
    tail,
    wait_until,
)

REPO = Path(__file__).resolve().parents[2]
TEMPLATE_DIR = REPO / "templates" / "container"
SERVICE_NAME = "e2e-faults"
ISSUER = "https://issuer.e2e/"

RATE_LIMIT = 5  # per minute, for the fault scenarios: small enough to spend in a few calls
READYZ_FLIP_BUDGET = 1.0  # seconds from stopping Redis to the first 503 from /readyz
RECOVERY_BUDGET = 10.0  # seconds from restarting Redis to /readyz 200 again
REDIS_SOCKET_TIMEOUT = (
    "0.5"  # the template's default, set explicitly: the hung-Redis budgets use it
)
# The resilient client, made fast for the test through its settings.
HTTP_SETTINGS = {
    "HTTP_CONNECT_TIMEOUT": "0.5",
    "HTTP_READ_TIMEOUT": "0.4",
    "HTTP_DEADLINE": "6",
    "HTTP_RETRY_ATTEMPTS": "3",
    "HTTP_BREAKER_THRESHOLD": "3",
    "HTTP_BREAKER_TTL": "2",
}
RETRY_ATTEMPTS = int(HTTP_SETTINGS["HTTP_RETRY_ATTEMPTS"])
BREAKER_THRESHOLD = int(HTTP_SETTINGS["HTTP_BREAKER_THRESHOLD"])
BREAKER_TTL = float(HTTP_SETTINGS["HTTP_BREAKER_TTL"])
UPSTREAM_SLOW_SECONDS = 1.5  # well past HTTP_READ_TIMEOUT
FAIL_FAST_SECONDS = 0.25  # an open circuit answers within this


def new_item_id() -> str:
    return uuid.uuid4().hex


# ----------------------------------------------------------------------------- fakes


class FakeInventory:
    """The upstream of GET /v1/items/{id}/stock: a switchable mode, and a count of the calls."""

    def __init__(self) -> None:
        self.mode = "ok"  # ok | slow | 503 | 500 | notjson
        self.hits = 0
        self._lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real upstream would

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                with outer._lock:
                    outer.hits += 1
                    mode = outer.mode
                if mode == "slow":
                    time.sleep(UPSTREAM_SLOW_SECONDS)
                status = {"503": 503, "500": 500}.get(mode, 200)
                item_id = self.path.rsplit("/", 1)[-1]
                payload = {"item_id": item_id, "available": 7} if status == 200 else {}
                body = json.dumps(payload).encode()
                if mode == "notjson":  # a 200 that breaks the contract (an error page, a proxy)
                    body = b"<html><body>upstream maintenance</body></html>"
                with contextlib.suppress(OSError):  # the client may have timed out and left
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: object, client_address: object) -> None:
                pass  # a client hanging up on a slow answer is the point, not an error

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def set(self, mode: str) -> None:
        with self._lock:
            self.mode = mode

    def count(self) -> int:
        with self._lock:
            return self.hits

    def __enter__(self) -> FakeInventory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


# ----------------------------------------------------------------------------- processes


class RedisServer:
    """A private redis-server on 127.0.0.1 that can be stopped and started on the same port."""

    def __init__(self, binary: str, work: Path) -> None:
        self.binary = binary
        self.port = free_port()
        self.dir = work / f"redis-{self.port}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> bool:
        self.proc = PROCS.start(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return wait_until(self.answers, 10, interval=0.05)

    def answers(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")

    def stop(self) -> None:
        if self.proc is not None:
            PROCS.stop(self.proc)


@dataclass
class Service:
    """One uvicorn process of the generated service."""

    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path
    err: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(
        self, path: str, token: str | None = None, *, timeout: float = 10, method: str = "GET"
    ) -> Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return call(method, self.base + path, headers=headers, timeout=timeout)

    def timed(self, path: str, token: str | None = None) -> tuple[Response, float]:
        started = time.monotonic()
        response = self.get(path, token)
        return response, time.monotonic() - started


def post_json(service: Service, path: str, token: str, payload: object) -> Response:
    """POST with a JSON body (check_container's `call` sends no body)."""
    connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=10)
    try:
        body = json.dumps(payload).encode()
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        connection.request("POST", path, body=body, headers=headers)
        raw = connection.getresponse()
        headers_out = {name.lower(): value for name, value in raw.getheaders()}
        return Response(raw.status, headers_out, raw.read())
    finally:
        connection.close()


# ----------------------------------------------------------------------------- the run


@dataclass
class Tokens:
    public_pem: str
    by_subject: dict[str, str]
    _next: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fresh(self) -> str:
        """A token for a subject nobody used yet: a whole rate-limit allowance of its own."""
        with self._lock:
            self._next += 1
            return self.by_subject[f"user{self._next}"]


class FaultCheck:
    def __init__(self, args: Namespace, work: Path, report: Report) -> None:
        self.args = args
        self.work = work
        self.report = report
        self.service_dir = work / SERVICE_NAME
        self.venv = Path(args.venv) if args.venv else work / "venv"  # outside the service
        self._tokens: Tokens | None = None

    @property
    def tokens(self) -> Tokens:
        if self._tokens is None:
            raise RuntimeError("make_tokens() first")
        return self._tokens

    def check(self, ok: bool, label: str, detail: str = "") -> bool:
        return self.report.record(ok, label, detail)

    def figure(self, text: str) -> None:
        self.report.figures.append(text)

    def bin(self, name: str) -> str:
        return str(self.venv / "bin" / name)

    # -- set-up

    def generate_and_install(self) -> bool:
        source = ["--template", self.args.template] if self.args.template else []
        result = run(
            [
                self.args.svc,
                "new",
                SERVICE_NAME,
                *(source or ["--variant", "container"]),
                "--yes",
                "-o",
                str(self.service_dir),
                "--set",
                "auth=true",
                "--set",
                "rate_limit=true",
                "--set",
                f"python_version={self.args.python_version}",
            ],
            timeout=60,
        )
        if not self.check(
            result.returncode == 0,
            "svc new (auth and rate limiting on)",
            tail(result.stderr + result.stdout) if result.returncode else "",
        ):
            return False
        if self.args.venv:
            return self.check(True, "venv given with --venv: nothing installed")
        started = time.monotonic()
        for step in (
            [self.args.python, "-m", "venv", str(self.venv)],
            [self.bin("python"), "-m", "pip", "install", "-q", "--upgrade", "pip"],
            [self.bin("python"), "-m", "pip", "install", "-q", "-e", str(self.service_dir)],
        ):
            result = run(step, timeout=900)
            if result.returncode != 0:
                return self.check(False, "venv + pip install -e .", tail(result.stderr))
        return self.check(True, "venv + pip install -e .", f"{time.monotonic() - started:.0f}s")

    def make_tokens(self, count: int) -> bool:
        # Signed with the service's own pyjwt, by a key made for this run only.
        script = f"""
import json, time, jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
pem = key.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
now = int(time.time())
def token(sub):
    claims = {{"iss": "{ISSUER}", "aud": "{SERVICE_NAME}", "sub": sub, "iat": now,
              "exp": now + 900, "scope": "items:read items:write"}}
    return jwt.encode(claims, key, algorithm="RS256")
subjects = ["load"] + [f"user{{i}}" for i in range(1, {count} + 1)]
print(json.dumps({{"public_pem": pem, "tokens": {{s: token(s) for s in subjects}}}}))
"""
        result = run([self.bin("python"), "-c", script], timeout=60)
        if result.returncode == 0:
            data = json.loads(result.stdout)
            self._tokens = Tokens(data["public_pem"], data["tokens"])
        return self.check(result.returncode == 0, "sign test JWTs", tail(result.stderr))

    def start_services(
        self, specs: dict[str, dict[str, str]], redis: RedisServer, inventory: FakeInventory
    ) -> dict[str, Service] | None:
        """Start one uvicorn per spec (name -> extra settings) in parallel; wait for all."""
        services: dict[str, Service] = {}
        for name, extra in specs.items():
            env = {
                **{k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "JWT_"))},
                "REDIS_URL": redis.url,
                "RATE_LIMIT": f"{RATE_LIMIT}/minute",
                "INVENTORY_URL": f"http://127.0.0.1:{inventory.port}",
                "LOG_JSON": "true",
                "LOG_LEVEL": "INFO",
                "JWT_ISSUER": ISSUER,
                "JWT_AUDIENCE": SERVICE_NAME,
                "JWT_PUBLIC_KEY": self.tokens.public_pem,
                "REDIS_SOCKET_TIMEOUT": REDIS_SOCKET_TIMEOUT,
                # This script checks that readiness follows Redis at once (the grace that keeps a
                # blip from draining every pod is check_container's), and signs a fresh token
                # for most calls, all from 127.0.0.1: the pre-auth limit would refuse them.
                "READY_REDIS_GRACE_SECONDS": "0",
                "PRE_AUTH_RATE_LIMIT": "1000000/minute",
                **HTTP_SETTINGS,
                **extra,
            }
            port = free_port()
            log, err = self.work / f"{name}.log", self.work / f"{name}.err"
            with log.open("wb") as out, err.open("wb") as errors:
                proc = PROCS.start(
                    [
                        self.bin("uvicorn"),
                        "app.main:app",
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(port),
                        "--timeout-graceful-shutdown",
                        "5",
                    ],
                    cwd=self.service_dir,
                    env=env,
                    stdout=out,
                    stderr=errors,
                )
            services[name] = Service(name, port, proc, log, err)
        for service in services.values():
            up = wait_until(lambda s=service: s.get("/healthz", timeout=1).status == 200, 30)
            if not self.check(
                up, f"[{service.name}] uvicorn starts", tail(service.err.read_text())
            ):
                return None
        return services

    def stop_services(self, services: dict[str, Service]) -> None:
        """Stop the processes; their logs must be JSON lines with no error among them."""
        for service in services.values():
            PROCS.stop(service.proc)
            stderr = service.err.read_text().strip()
            errors, warnings = [], Counter[str]()
            for line in service.log.read_text().splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:
                    errors.append(f"not JSON: {line[:120]}")
                    continue
                if entry.get("level") in ("error", "critical", "exception"):
                    errors.append(f"{entry.get('logger')}: {entry.get('event')}"[:200])
                elif entry.get("level") == "warning":
                    warnings[str(entry.get("event"))] += 1
            self.check(
                not stderr and not errors,
                f"[{service.name}] logs: JSON lines on stdout, none at error level",
                "; ".join(errors[:3]) + (f"; stderr: {tail(stderr, 5)}" if stderr else ""),
            )
            if warnings:
                self.figure(f"{service.name} warnings logged: {dict(warnings)}")

    def rate_limit_statuses(self, services: list[Service], count: int) -> list[int]:
        """`count` calls by one fresh subject, spread round-robin over `services`."""
        token = self.tokens.fresh()
        return [services[i % len(services)].get("/v1/items", token).status for i in range(count)]

    # -- scenario 1: Redis stops under load

    def redis_outage(self, inventory: FakeInventory) -> None:
        redis = RedisServer(self.args.redis_server, self.work)
        if not self.check(redis.start(), "[redis outage] private redis-server starts"):
            return
        specs = {
            "fail-open": {"RATE_LIMIT_FAIL_OPEN": "true"},
            "fail-closed": {"RATE_LIMIT_FAIL_OPEN": "false"},
        }
        services = self.start_services(specs, redis, inventory)
        if services is None:
            return
        open_, closed = services["fail-open"], services["fail-closed"]
        try:
            self._redis_outage(redis, inventory, open_, closed)
            self._redis_hung(redis, inventory, open_, closed)
        finally:
            self.stop_services(services)
            redis.stop()

    def _redis_outage(
        self, redis: RedisServer, inventory: FakeInventory, open_: Service, closed: Service
    ) -> None:
        label = "[redis outage]"
        before = [s.get("/readyz").status for s in (open_, closed)]
        limited = [self.rate_limit_statuses([s], RATE_LIMIT + 1) for s in (open_, closed)]
        self.check(
            before == [200, 200]
            and all(statuses == [200] * RATE_LIMIT + [429] for statuses in limited),
            f"{label} before: /readyz 200, 429 after {RATE_LIMIT} calls (both settings)",
            f"readyz {before}, statuses {limited}",
        )

        # A client keeps calling the liveness probe of both processes all along.
        probes = ProbeLoad([open_, closed], "/healthz")
        probes.start()
        try:
            time.sleep(0.3)
            stopped_at = time.monotonic()
            redis.stop()
            flip = None
            while time.monotonic() - stopped_at < 5:
                if open_.get("/readyz", timeout=2).status == 503:
                    flip = time.monotonic() - stopped_at
                    break
                time.sleep(0.02)
            closed_ready = closed.get("/readyz", timeout=2)
            self.check(
                flip is not None and flip <= READYZ_FLIP_BUDGET and closed_ready.status == 503,
                f"{label} /readyz 503 within {READYZ_FLIP_BUDGET:.0f}s of Redis stopping",
                f"flipped after {flip:.3f}s" if flip is not None else "never flipped in 5s",
            )
            if flip is not None:
                self.figure(f"readyz flip after Redis stopped: {flip * 1000:.0f} ms")
            self.check(
                closed_ready.json() == {"status": "unavailable", "redis": "down"},
                f"{label} /readyz body names Redis",
                repr(closed_ready.body[:200]),
            )

            # Fail open: every call served, none limited, the cache bypassed (each one upstream).
            token = self.tokens.fresh()
            item_id = new_item_id()
            hits = inventory.count()
            calls = [
                open_.timed(f"/v1/items/{item_id}/stock", token) for _ in range(RATE_LIMIT + 2)
            ]
            statuses = [response.status for response, _ in calls]
            slowest = max(seconds for _, seconds in calls)
            upstream_calls = inventory.count() - hits
            self.check(
                statuses == [200] * len(calls) and upstream_calls == len(calls) and slowest < 1.5,
                f"{label} RATE_LIMIT_FAIL_OPEN=true: cached route served uncached, never 429",
                f"statuses {statuses}, upstream calls {upstream_calls}, slowest {slowest:.3f}s",
            )
            self.figure(
                f"fail-open cached route during the outage: slowest call {slowest * 1000:.0f} ms"
            )

            # Fail closed: a clear 503, fast, and the upstream is not called.
            hits = inventory.count()
            refused, seconds = closed.timed(f"/v1/items/{new_item_id()}/stock", self.tokens.fresh())
            self.check(
                refused.status == 503
                and refused.json() == {"detail": "Rate limiter unavailable"}
                and refused.headers.get("retry-after", "").isdigit()
                and inventory.count() == hits
                and seconds < 1.0,
                f"{label} RATE_LIMIT_FAIL_OPEN=false: 503 with Retry-After, upstream not called",
                f"{refused.status} {refused.body[:120]!r} Retry-After "
                f"{refused.headers.get('retry-after')!r} in {seconds:.3f}s",
            )

            # Routes whose data lives in Redis: a clear 503 with Retry-After, not a 500.
            failing = [open_.timed(path, self.tokens.fresh()) for path in (
                "/v1/items", f"/v1/items/{new_item_id()}"
            )]  # fmt: skip
            self.check(
                all(
                    response.status == 503
                    and response.json() == {"detail": "Storage unavailable"}
                    and response.headers.get("retry-after", "").isdigit()
                    and seconds < 1.0
                    for response, seconds in failing
                ),
                f"{label} Redis-backed routes: 503 'Storage unavailable' with Retry-After",
                ", ".join(f"{r.status} {r.body[:80]!r} {s:.3f}s" for r, s in failing),
            )
            time.sleep(0.3)

            # Redis comes back on the same port.
            restarted_at = time.monotonic()
            started = redis.start()
            back = started and wait_until(
                lambda: all(s.get("/readyz", timeout=2).status == 200 for s in (open_, closed)),
                RECOVERY_BUDGET,
                interval=0.05,
            )
            recovered = time.monotonic() - restarted_at
            self.check(
                back, f"{label} /readyz 200 again within {RECOVERY_BUDGET:.0f}s of the restart",
                f"after {recovered:.2f}s",
            )  # fmt: skip
            self.figure(f"readyz 200 again after Redis restarted: {recovered * 1000:.0f} ms")
            time.sleep(0.3)
        finally:
            probes.stop()

        self.check(
            probes.total > 0 and set(probes.statuses) == {200},
            f"{label} /healthz 200 throughout (a client thread calling both processes)",
            f"{probes.total} calls: {dict(probes.statuses)}",
        )
        self.figure(f"/healthz during the outage: {probes.total} calls, {dict(probes.statuses)}")

        limited = [self.rate_limit_statuses([s], RATE_LIMIT + 1) for s in (open_, closed)]
        self.check(
            all(statuses == [200] * RATE_LIMIT + [429] for statuses in limited),
            f"{label} after: rate limit enforced again (429 after {RATE_LIMIT} calls, both)",
            f"statuses {limited}",
        )
        token, item_id = self.tokens.fresh(), new_item_id()
        hits = inventory.count()
        cached = [open_.get(f"/v1/items/{item_id}/stock", token).status for _ in range(3)]
        self.check(
            cached == [200] * 3 and inventory.count() - hits == 1,
            f"{label} after: the cache serves again (3 calls, 1 upstream call)",
            f"statuses {cached}, upstream calls {inventory.count() - hits}",
        )
        token = self.tokens.fresh()
        created = post_json(open_, "/v1/items", token, {"name": "pen", "price_cents": 5})
        fetched = closed.get(created.headers.get("location", "/v1/items/x"), token)
        self.check(
            created.status == 201 and fetched.status == 200,
            f"{label} after: items written and read through Redis",
            f"POST {created.status}, GET {fetched.status}",
        )

    def _redis_hung(
        self, redis: RedisServer, inventory: FakeInventory, open_: Service, closed: Service
    ) -> None:
        """Redis frozen (SIGSTOP): connections stay open and nothing answers, as in a partition."""
        label = "[redis hung]"
        if redis.proc is None or redis.proc.poll() is not None:
            self.check(False, f"{label} redis-server running", "not running")
            return
        probes = ProbeLoad([open_, closed], "/healthz")
        probes.start()
        redis.proc.send_signal(signal.SIGSTOP)
        frozen_at = time.monotonic()
        try:
            flip = None
            while time.monotonic() - frozen_at < 5:
                if open_.get("/readyz", timeout=3).status == 503:
                    flip = time.monotonic() - frozen_at
                    break
            self.check(
                flip is not None and flip <= READYZ_FLIP_BUDGET,
                f"{label} /readyz 503 within {READYZ_FLIP_BUDGET:.0f}s of Redis freezing",
                f"flipped after {flip:.3f}s" if flip is not None else "never flipped in 5s",
            )
            if flip is not None:
                self.figure(f"readyz flip after Redis froze: {flip * 1000:.0f} ms")

            # Each Redis call a request makes costs at most REDIS_SOCKET_TIMEOUT, no more. Each
            # call here has a token the service has not verified yet: that costs one call more,
            # the pre-auth limit (per client IP), before the token is checked.
            budget = float(REDIS_SOCKET_TIMEOUT)
            hits = inventory.count()
            served, served_in = open_.timed(f"/v1/items/{new_item_id()}/stock", self.tokens.fresh())
            refused, refused_in = closed.timed(
                f"/v1/items/{new_item_id()}/stock", self.tokens.fresh()
            )
            storage, storage_in = open_.timed("/v1/items", self.tokens.fresh())
            self.check(
                served.status == 200
                and inventory.count() - hits == 1
                and served_in < 4 * budget + 0.5,
                f"{label} fail open: the cached route served, in under 4 x REDIS_SOCKET_TIMEOUT",
                f"{served.status} in {served_in:.2f}s "
                "(pre-auth limit, limiter, cache read, cache write)",
            )
            self.check(
                refused.status == 503 and refused_in < budget + 0.5,
                f"{label} fail closed: 503 in under REDIS_SOCKET_TIMEOUT",
                f"{refused.status} {refused.body[:60]!r} in {refused_in:.2f}s",
            )
            self.check(
                storage.status == 503 and storage_in < 3 * budget + 0.5,
                f"{label} Redis-backed route: 503 in under 3 x REDIS_SOCKET_TIMEOUT",
                f"{storage.status} {storage.body[:60]!r} in {storage_in:.2f}s",
            )
            self.figure(
                f"Redis hung: cached route 200 in {served_in:.2f}s, fail-closed 503 in "
                f"{refused_in:.2f}s, items 503 in {storage_in:.2f}s"
            )
        finally:
            redis.proc.send_signal(signal.SIGCONT)
            thawed_at = time.monotonic()
            back = wait_until(
                lambda: all(s.get("/readyz", timeout=2).status == 200 for s in (open_, closed)),
                RECOVERY_BUDGET,
                interval=0.05,
            )
            probes.stop()
        self.check(
            back,
            f"{label} /readyz 200 again within {RECOVERY_BUDGET:.0f}s of Redis resuming",
            f"after {time.monotonic() - thawed_at:.2f}s",
        )
        self.check(
            probes.total > 0 and set(probes.statuses) == {200},
            f"{label} /healthz 200 throughout",
            f"{probes.total} calls: {dict(probes.statuses)}",
        )
        limited = [self.rate_limit_statuses([s], RATE_LIMIT + 1) for s in (open_, closed)]
        self.check(
            all(statuses == [200] * RATE_LIMIT + [429] for statuses in limited),
            f"{label} after: rate limit enforced again (both settings)",
            f"statuses {limited}",
        )

    # -- scenario 2: upstream faults, retries and the circuit breaker

    def upstream_faults(self, inventory: FakeInventory) -> None:
        redis = RedisServer(self.args.redis_server, self.work)
        if not self.check(redis.start(), "[upstream] private redis-server starts"):
            return
        services = self.start_services({"upstream": {}}, redis, inventory)
        if services is None:
            return
        try:
            service = services["upstream"]
            # (mode, attempts one call makes, failed calls it takes to open the circuit)
            faults = [
                ("slow", RETRY_ATTEMPTS, -(-BREAKER_THRESHOLD // RETRY_ATTEMPTS)),
                ("503", RETRY_ATTEMPTS, -(-BREAKER_THRESHOLD // RETRY_ATTEMPTS)),
                ("500", 1, BREAKER_THRESHOLD),  # an answer, not retried: still a failure
            ]
            for mode, attempts, calls_to_open in faults:
                self._upstream_fault(service, inventory, mode, attempts, calls_to_open)
            self._upstream_invalid_answer(service, inventory)
        finally:
            self.stop_services(services)
            redis.stop()

    def _upstream_invalid_answer(self, service: Service, inventory: FakeInventory) -> None:
        # Once the breaker of the previous fault has closed again: a 200 with an HTML body.
        inventory.set("ok")
        wait_until(lambda: self.stock(service)[0].status == 200, BREAKER_TTL + 10, interval=0.5)
        inventory.set("notjson")
        response, _ = self.stock(service)
        inventory.set("ok")
        self.check(
            response.status == 502
            and response.json() == {"detail": "Upstream inventory gave an invalid answer"},
            "[upstream 200 not JSON] 502, not 500",
            f"got {response.status} {response.body[:120]!r}",
        )

    def stock(self, service: Service) -> tuple[Response, float]:
        """One call of the cached upstream route, for an item nobody asked for yet."""
        return service.timed(f"/v1/items/{new_item_id()}/stock", self.tokens.fresh())

    def _upstream_fault(
        self,
        service: Service,
        inventory: FakeInventory,
        mode: str,
        attempts: int,
        calls_to_open: int,
    ) -> None:
        label = f"[upstream {'timeout' if mode == 'slow' else mode}]"
        inventory.set(mode)
        per_call: list[int] = []
        failures: list[tuple[Response, float]] = []
        for _ in range(calls_to_open):
            hits = inventory.count()
            failures.append(self.stock(service))
            per_call.append(inventory.count() - hits)
        opened_at = time.monotonic()
        unavailable = all(
            response.status == 503
            and response.json() == {"detail": "Upstream inventory unavailable"}
            and response.headers.get("retry-after", "").isdigit()
            for response, _ in failures
        )
        self.check(
            unavailable and per_call == [attempts] * calls_to_open,
            f"{label} {attempts} attempt(s) per call, then 503 with Retry-After",
            f"upstream calls per request {per_call}, "
            + ", ".join(f"{r.status} in {s:.2f}s" for r, s in failures),
        )
        self.figure(
            f"upstream {mode}: {per_call} upstream attempts per request, "
            f"{', '.join(f'{s:.2f}s' for _, s in failures)} per failing request"
        )

        # The circuit is open now: fast 503s that never reach the upstream, even once it is back.
        hits = inventory.count()
        fast = [self.stock(service) for _ in range(3)]
        inventory.set("ok")
        fast += [self.stock(service) for _ in range(2)]
        slowest = max(seconds for _, seconds in fast)
        self.check(
            all(r.status == 503 and r.headers.get("retry-after") for r, _ in fast)
            and inventory.count() == hits
            and slowest < FAIL_FAST_SECONDS,
            f"{label} circuit open: 5 calls fail fast (< {FAIL_FAST_SECONDS}s), no upstream call",
            f"statuses {[r.status for r, _ in fast]}, upstream calls {inventory.count() - hits}, "
            f"slowest {slowest * 1000:.0f} ms",
        )
        self.figure(f"upstream {mode}: open circuit answers 503 in at most {slowest * 1000:.0f} ms")

        # After HTTP_BREAKER_TTL the next call goes through (half-open), and it closes the circuit.
        statuses: list[int] = []
        closed_after = None
        while time.monotonic() - opened_at < BREAKER_TTL + 5:
            response, _ = self.stock(service)
            statuses.append(response.status)
            if response.status == 200:
                closed_after = time.monotonic() - opened_at
                break
            time.sleep(0.1)
        hits = inventory.count()
        after = [self.stock(service)[0].status for _ in range(3)]
        self.check(
            closed_after is not None
            and BREAKER_TTL * 0.9 <= closed_after <= BREAKER_TTL + 1.5
            and after == [200] * 3
            and inventory.count() - hits == 3,
            f"{label} circuit closes once the upstream is back and {BREAKER_TTL:.0f}s passed",
            f"first 200 {closed_after and f'{closed_after:.2f}'}s after opening "
            f"({len(statuses) - 1} fast 503s before it), then {after}",
        )
        if closed_after is not None:
            self.figure(f"upstream {mode}: circuit closed {closed_after:.2f}s after it opened")

    # -- scenario 3: two replicas, one Redis

    def replicas(self, inventory: FakeInventory) -> None:
        redis = RedisServer(self.args.redis_server, self.work)
        if not self.check(redis.start(), "[replicas] private redis-server starts"):
            return
        services = self.start_services({"replica-a": {}, "replica-b": {}}, redis, inventory)
        if services is None:
            return
        a, b = services["replica-a"], services["replica-b"]
        try:
            statuses = self.rate_limit_statuses([a, b], 2 * RATE_LIMIT)
            self.check(
                statuses == [200] * RATE_LIMIT + [429] * RATE_LIMIT,
                f"[replicas] one allowance across both: {RATE_LIMIT} calls alternating A/B, then "
                "429 from both",
                f"statuses {statuses}",
            )
            token = self.tokens.fresh()
            created = post_json(a, "/v1/items", token, {"name": "pen", "price_cents": 120})
            location = created.headers.get("location", "/v1/items/missing")
            fetched = b.get(location, token)
            listed = b.get("/v1/items", token)
            self.check(
                created.status == 201
                and fetched.status == 200
                and fetched.json() == created.json()
                and any(item["id"] == location.rsplit("/", 1)[-1] for item in listed.json()),
                "[replicas] an item created through A is read and listed through B",
                f"POST {created.status}, GET {fetched.status}, list {listed.status}",
            )
            item_id, hits = new_item_id(), inventory.count()
            first = a.get(f"/v1/items/{item_id}/stock", token)
            second = b.get(f"/v1/items/{item_id}/stock", token)
            self.check(
                first.status == second.status == 200
                and first.json() == second.json()
                and inventory.count() - hits == 1,
                "[replicas] a cache entry filled through A is served by B (one upstream call)",
                f"{first.status}/{second.status}, upstream calls {inventory.count() - hits}",
            )
        finally:
            self.stop_services(services)
            redis.stop()

    # -- scenario 4: a bounded load run

    def load(self, inventory: FakeInventory) -> None:
        redis = RedisServer(self.args.redis_server, self.work)
        if not self.check(redis.start(), "[load] private redis-server starts"):
            return
        # The allowance of one subject would stop the run in a second: raise it for this run.
        services = self.start_services({"load": {"RATE_LIMIT": "1000000/minute"}}, redis, inventory)
        if services is None:
            return
        service = services["load"]
        token = self.tokens.by_subject["load"]
        try:
            created = post_json(service, "/v1/items", token, {"name": "pen", "price_cents": 1})
            stock_path = f"/v1/items/{new_item_id()}/stock"
            paths = ["/v1/items", created.headers.get("location", "/v1/items"), stock_path]
            result = run_load(service, token, paths, self.args.load_seconds, threads=6)
            rate = result.total / result.seconds if result.seconds else 0
            server_errors = sum(
                n for s, n in result.statuses.items() if isinstance(s, int) and s >= 500
            )
            others = {s: n for s, n in result.statuses.items() if s != 200}
            self.check(
                result.total > 0 and server_errors == 0 and not others,
                f"[load] {self.args.load_seconds:.0f}s, 6 client threads, authenticated routes: "
                "every response 200, no 5xx",
                f"{result.total} requests, {rate:.0f}/s, statuses {dict(result.statuses)}",
            )
            self.figure(
                f"load: {result.total} requests in {result.seconds:.1f}s = {rate:.0f} req/s, "
                f"{server_errors} 5xx, p50 {result.percentile(50):.1f} ms, "
                f"p99 {result.percentile(99):.1f} ms, statuses {dict(result.statuses)}"
            )
        finally:
            self.stop_services(services)
            redis.stop()


@dataclass
class LoadResult:
    seconds: float = 0.0
    statuses: Counter[int | str] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.statuses.values())

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))] if ordered else 0.0


def run_load(
    service: Service, token: str, paths: list[str], seconds: float, *, threads: int
) -> LoadResult:
    """`threads` clients on keep-alive connections, cycling through `paths` for `seconds`."""
    result = LoadResult()
    lock = threading.Lock()
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + seconds

    def client(offset: int) -> None:
        statuses: Counter[int | str] = Counter()
        latencies: list[float] = []
        connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=5)
        i = offset
        while time.monotonic() < deadline:
            path = paths[i % len(paths)]
            i += 1
            started = time.monotonic()
            try:
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                response.read()
                statuses[response.status] += 1
                latencies.append((time.monotonic() - started) * 1000)
            except (OSError, http.client.HTTPException) as exc:
                statuses[type(exc).__name__] += 1
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=5)
        connection.close()
        with lock:
            result.statuses.update(statuses)
            result.latencies_ms.extend(latencies)

    started = time.monotonic()
    workers = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=seconds + 15)
    result.seconds = time.monotonic() - started
    return result


class ProbeLoad:
    """A client thread calling `path` on every service in turn until stopped."""

    def __init__(self, services: list[Service], path: str) -> None:
        self.services = services
        self.path = path
        self.statuses: Counter[int | str] = Counter()
        self.total = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            for service in self.services:
                try:
                    status: int | str = service.get(self.path, timeout=2).status
                except Exception as exc:  # noqa: BLE001 - counted as a failure
                    status = type(exc).__name__
                self.statuses[status] += 1
                self.total += 1
            time.sleep(0.005)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


# ----------------------------------------------------------------------------- main


class Namespace(argparse.Namespace):
    keep: bool
    venv: str | None
    load_seconds: float
    svc: str
    template: str | None
    redis_server: str
    python: str
    python_version: str


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument(
        "--venv", help="reuse this virtualenv, with the service's dependencies (development)"
    )
    parser.add_argument("--load-seconds", type=float, default=12.0, help="load run duration")
    args = parser.parse_args(namespace=Namespace())
    report = Report()
    started = time.monotonic()

    def on_signal(signum: int, _: object) -> None:
        PROCS.stop_all()
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    args.svc = str(Path(os.environ.get("SVC_BIN", REPO / "target/debug/svc")).resolve())
    args.template = os.environ.get("SVC_TEMPLATE") or None
    args.redis_server = os.environ.get("REDIS_SERVER") or shutil.which("redis-server") or ""
    manifest = tomllib.loads((TEMPLATE_DIR / "template.toml").read_text())
    python_var = next(v for v in manifest["variables"] if v["name"] == "python_version")
    args.python_version = python_var["default"]
    candidates = [python_var["default"], *reversed(python_var["choices"])]
    found = next(((v, p) for v in candidates if (p := find_python(v))), None)
    preconditions = [
        (Path(args.svc).is_file(), f"svc binary at {args.svc} (set SVC_BIN or cargo build)"),
        (bool(args.redis_server), "redis-server on PATH (or REDIS_SERVER)"),
        (found is not None, f"a Python interpreter among {python_var['choices']}"),
    ]
    for ok, what in preconditions:
        if not ok:
            report.record(False, "precondition", what)
    if found is not None:
        args.python_version, args.python = found

    os.environ.setdefault("PIP_CACHE_DIR", str(Path.home() / ".cache" / "svc-e2e" / "pip"))
    os.environ["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    work = Path(tempfile.mkdtemp(prefix="svc-faults-"))
    try:
        if report.failed == 0:
            check = FaultCheck(args, work, report)
            if check.generate_and_install() and check.make_tokens(400):
                with FakeInventory() as inventory:
                    for scenario in (
                        check.redis_outage,
                        check.upstream_faults,
                        check.replicas,
                        check.load,
                    ):
                        try:
                            scenario(inventory)
                        except Exception as exc:  # noqa: BLE001 - a bug here is one failure
                            report.record(False, f"{scenario.__name__} check script", repr(exc))
                        finally:
                            PROCS.stop_all()
                            inventory.set("ok")
    finally:
        PROCS.stop_all()
        if args.keep:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    print()
    for figure in report.figures:
        print(f"  {figure}")
    print(f"  total {time.monotonic() - started:.0f}s")
    for failure in report.failures:
        print(f"  failed: {failure.splitlines()[0]}")
    print(f"{report.passed} passed, {report.failed} failed")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
