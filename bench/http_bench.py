#!/usr/bin/env python3
"""Request throughput of the generated container service, as a ratio to a bare FastAPI app.

Generates a `container` service with `svc new` (JWT auth and Redis rate limiting on: the
defaults), installs its dependencies into a cached virtualenv (bench/.http-venv, rebuilt when
the dependency list or the interpreter changes), starts a private redis-server on a free port
of 127.0.0.1, and runs two apps under the same uvicorn, as the service's Dockerfile does (one
worker, --proxy-headers, --no-server-header, access log on, stdout to a file):

- `svc`:  the generated service (with its Dockerfile CMD's limits and HTTP protocol:
          LIMIT_FLAGS) and its whole middleware stack (security headers, request id,
          Prometheus metrics, CORS, OpenTelemetry server spans, JSON logs incl. the access log),
          LOG_LEVEL=INFO, no OTLP endpoint (the production default until one is configured),
          RATE_LIMIT high enough that wrk is never throttled (the limiter still hits Redis on
          every request); GET /v1/items with a valid bearer token signed by a throwaway key;
- `bare`: bench/http_bare_app.py, FastAPI without middleware, serving GET /v1/items the same
          way (one Redis read, same pydantic model, same JSON body: an empty list);
- `static`: the bare app's /static/items, the same answer without Redis (context only).

wrk (Debian package `wrk`) then loads each in turn, interleaved round by round with the order
alternating (warm-up first), and the script prints the median requests/s and p50/p99 latency per
target, the server process's CPU time per request (from /proc: steadier than req/s on a busy
machine), the ratios to `bare`, and a markdown table. Every response must be 2xx: any non-2xx
(a 429 from the limiter, a 401) fails the run.

    python3 bench/http_bench.py                        # 5 rounds x 10 s, wrk -t1 -c32
    python3 bench/http_bench.py --rounds 9 --duration 15 --connections 64
    python3 bench/http_bench.py --profile bench/.http-profile   # py-spy record of the service
    python3 bench/http_bench.py --template templates/container --compare-template OLD/container
                                                       # a template change, before and after

--profile installs py-spy into the venv and records the service under wrk load after the
measured rounds (`--gil`: only the thread running Python; `--format raw`: collapsed stacks that
speedscope or flamegraph.pl read), then prints the functions with the most own and inclusive
samples. py-spy needs ptrace rights (root,
or CAP_SYS_PTRACE in a container).

Only 127.0.0.1 is contacted; every process started here is stopped on exit, by its pid.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from svc_binary import HELP as SVC_HELP
from svc_binary import svc_binary

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
SERVICE = "benchsvc"
ISSUER = "https://issuer.bench/"

# Signs one token with a throwaway RSA key, using the venv's pyjwt; prints the key and token.
MINT = f"""
import json, time, jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
pem = key.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
now = int(time.time())
claims = {{"iss": "{ISSUER}", "aud": "{SERVICE}", "sub": "bench", "iat": now,
          "exp": now + 86400, "scope": "items:read"}}
print(json.dumps({{"public_pem": pem, "token": jwt.encode(claims, key, algorithm="RS256")}}))
"""


def run(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, check=True, text=True, capture_output=True, **kwargs)  # type: ignore[call-overload]


def redis_command(redis_server: str, port: int) -> list[str]:
    """A private, memory-only redis-server on 127.0.0.1."""
    return [redis_server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--protected-mode", "yes"]  # fmt: skip


def base_env(redis_url: str) -> dict[str, str]:
    """This environment without OpenTelemetry, JWT or Python settings, and the Redis URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "JWT_", "PYTHON"))}
    return env | {"PYTHONDONTWRITEBYTECODE": "1", "REDIS_URL": redis_url}


def service_env(redis_url: str, public_pem: str) -> dict[str, str]:
    """The generated service's environment in a run: JSON logs, no OTLP endpoint, a rate limit
    that hits Redis on every request but never answers 429, tokens from `MINT`."""
    return base_env(redis_url) | {
        "RATE_LIMIT": "1000000000/minute",
        "LOG_JSON": "true",
        "LOG_LEVEL": "INFO",
        "JWT_ISSUER": ISSUER,
        "JWT_AUDIENCE": SERVICE,
        "JWT_PUBLIC_KEY": public_pem,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if predicate():  # type: ignore[operator]
                return True
        time.sleep(0.1)
    return False


def http_status(port: int, path: str, headers: dict[str, str] | None = None) -> int:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", path, headers=headers or {})
        return conn.getresponse().status
    finally:
        conn.close()


def find_python(version: str) -> str | None:
    """An interpreter that really is Python {version}: on PATH, else the newest pyenv build."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    builds = sorted(
        root.glob(f"{version}.*/bin/python{version}") if root.is_dir() else [],
        key=lambda p: [int(x) for x in re.findall(r"\d+", p.parts[-3])],
        reverse=True,
    )
    for candidate in [shutil.which(f"python{version}"), *map(str, builds)]:
        if candidate is None:
            continue
        probe = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return candidate
    return None


class Processes:
    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, args: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(args, start_new_session=True, **kwargs)  # type: ignore[call-overload]
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=25)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
        self.procs.clear()


PROCS = Processes()


def ensure_venv(python: str, deps: list[str], venv: Path, extra: list[str]) -> Path:
    """The cached venv for these dependencies and this interpreter, built if missing or stale."""
    version = run([python, "-c", "import sys; print(sys.version)"]).stdout.strip()
    key = hashlib.sha256(json.dumps([version, sorted(deps)]).encode()).hexdigest()
    marker = venv / ".bench-key"
    if not (marker.is_file() and marker.read_text() == key):
        shutil.rmtree(venv, ignore_errors=True)
        print(f"building {venv.relative_to(ROOT)} ({len(deps)} dependencies) ...", flush=True)
        run([python, "-m", "venv", str(venv)])
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
        run([*pip, "--upgrade", "pip"])
        run([*pip, *deps])
        marker.write_text(key)
    if extra:
        run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", *extra])
    return venv


@dataclass
class Target:
    name: str
    port: int
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    pid: int = 0
    rps: list[float] = field(default_factory=list)
    p50: list[float] = field(default_factory=list)
    p99: list[float] = field(default_factory=list)
    cpu_us: list[float] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"


def parse_duration(text: str) -> float:
    """wrk's latency units (us, ms, s, m) to milliseconds."""
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        raise ValueError(f"unknown wrk duration {text!r}")
    value, unit = float(match[1]), match[2]
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(target: Target, args: argparse.Namespace, duration: float) -> dict[str, float]:
    cmd = [
        "wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{duration:g}s", "--latency",
        "--timeout", "5s",
    ]  # fmt: skip
    for name, value in target.headers.items():
        cmd += ["-H", f"{name}: {value}"]
    cpu_before = cpu_seconds(target.pid)
    out = run([*cmd, target.url], timeout=duration + 60).stdout
    cpu = cpu_seconds(target.pid) - cpu_before
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    if non2xx or errors:
        raise SystemExit(f"{target.name}: wrk saw failures, stopping:\n{out}")
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1]),  # type: ignore[index]
        "p50": parse_duration(re.search(r"\s50%\s+(\S+)", out)[1]),  # type: ignore[index]
        "p99": parse_duration(re.search(r"\s99%\s+(\S+)", out)[1]),  # type: ignore[index]
        "cpu_us": 1e6 * cpu / float(re.search(r"(\d+) requests in", out)[1]),  # type: ignore[index]
    }


# The Dockerfile CMD's server limits (and its HTTP protocol), applied to the service as shipped.
LIMIT_FLAGS = (
    "--http",
    "--limit-concurrency",
    "--timeout-keep-alive",
    "--backlog",
    "--h11-max-incomplete-event-size",
)


def dockerfile_limits(service: Path) -> list[str]:
    """The LIMIT_FLAGS (with their values) of the service's exec-form `CMD`."""
    for line in (service / "Dockerfile").read_text().splitlines():
        if line.startswith("CMD ["):
            args = json.loads(line[len("CMD ") :])
            return [
                item
                for flag, value in zip(args, args[1:], strict=False)
                if flag in LIMIT_FLAGS
                for item in (flag, value)
            ]
    return []


def start_uvicorn(
    venv: Path,
    module: str,
    cwd: Path,
    port: int,
    env: dict[str, str],
    log: Path,
    extra: list[str] | None = None,
) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return PROCS.start(
            [
                str(venv / "bin" / "uvicorn"),
                module,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--proxy-headers",
                "--no-server-header",
                "--timeout-graceful-shutdown",
                "20",
                *(extra or []),
            ],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def profile(venv: Path, target: Target, args: argparse.Namespace, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    raw = out_dir / "profile.txt"
    spy = PROCS.start(
        [
            str(venv / "bin" / "py-spy"),
            "record",
            "--pid",
            str(target.pid),
            "--format",
            "raw",
            "--rate",
            "200",
            "--gil",
            "--duration",
            str(int(args.duration)),
            "--output",
            str(raw),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    time.sleep(1)
    wrk(target, args, args.duration)
    _, err = spy.communicate(timeout=60)
    if not raw.is_file():
        raise SystemExit(f"py-spy wrote nothing: {err.decode(errors='replace')}")
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        frames = [
            re.sub(r" \(/.*/(site-packages|lib/python3\.\d+)/", " (", f) for f in stack.split(";")
        ]
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    print(f"\nprofile: {total} samples of {target.name} under wrk -> {raw}")
    for title, counter in (("own", own), ("inclusive", inclusive)):
        print(f"\ntop {args.profile_top} by {title} samples:")
        for frame, n in counter.most_common(args.profile_top):
            print(f"  {100 * n / total:5.1f}%  {frame[:150]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=float, default=10, help="seconds per wrk run")
    parser.add_argument("--warmup", type=float, default=5, help="seconds of warm-up per target")
    parser.add_argument("--threads", type=int, default=1, help="wrk -t")
    parser.add_argument("--connections", type=int, default=32, help="wrk -c")
    parser.add_argument("--svc", default=os.environ.get("SVC_BIN"), help=SVC_HELP)
    parser.add_argument(
        "--template",
        default=os.environ.get("SVC_TEMPLATE"),
        help="render this template directory instead of the embedded one (development)",
    )
    parser.add_argument("--python", default=None, help="interpreter (default: python3.12)")
    parser.add_argument("--venv", default=str(BENCH / ".http-venv"))
    parser.add_argument("--profile", metavar="DIR", help="py-spy record the service into DIR")
    parser.add_argument("--profile-top", type=int, default=30)
    parser.add_argument(
        "--compare-template",
        metavar="DIR",
        help="also load a service rendered from this template directory (before/after a change)",
    )
    parser.add_argument("--no-static", action="store_true", help="skip the /static/items target")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()

    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get install -y wrk")
    redis_server = os.environ.get("REDIS_SERVER") or shutil.which("redis-server")
    if redis_server is None:
        raise SystemExit("redis-server not found: apt-get install -y redis-server")
    svc = Path(svc_binary(args.svc))

    def on_signal(signum: int, _: object) -> None:
        PROCS.stop_all()
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    os.environ.setdefault("PIP_CACHE_DIR", str(Path.home() / ".cache" / "svc-e2e" / "pip"))
    os.environ["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    work = Path(tempfile.mkdtemp(prefix="svc-http-bench-"))
    try:
        service = work / SERVICE
        source = ["--template", args.template] if args.template else ["--variant", "container"]
        run([str(svc), "new", SERVICE, *source, "--yes", "-o", str(service)])
        if args.compare_template:
            other = ["--template", args.compare_template]
            run([str(svc), "new", SERVICE, *other, "--yes", "-o", str(work / "compare" / SERVICE)])
        pyproject = tomllib.loads((service / "pyproject.toml").read_text())
        python = args.python or find_python(pyproject["project"]["requires-python"].lstrip(">="))
        if python is None:
            raise SystemExit("no interpreter for the service's requires-python: pass --python")
        venv = ensure_venv(
            python,
            pyproject["project"]["dependencies"],
            Path(args.venv),
            ["py-spy"] if args.profile else [],
        )
        pyver = run([str(venv / "bin" / "python"), "-V"]).stdout.strip()
        minted = json.loads(run([str(venv / "bin" / "python"), "-c", MINT]).stdout)

        redis_port = free_port()
        PROCS.start(
            redis_command(redis_server, redis_port),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        redis_url = f"redis://127.0.0.1:{redis_port}/0"
        svc_env = service_env(redis_url, minted["public_pem"])
        bare_env = base_env(redis_url) | {"SERVICE_NAME": SERVICE}
        svc_log, bare_log = work / "svc.log", work / "bare.log"
        svc_port, bare_port = free_port(), free_port()
        svc_proc = start_uvicorn(
            venv, "app.main:app", service, svc_port, svc_env, svc_log, dockerfile_limits(service)
        )
        logs = {"svc": svc_log, "bare": bare_log, "static": bare_log}
        if args.compare_template:
            cmp_port, logs["compare"] = free_port(), work / "compare.log"
            compared = work / "compare" / SERVICE
            cmp_proc = start_uvicorn(
                venv,
                "app.main:app",
                compared,
                cmp_port,
                svc_env,
                logs["compare"],
                dockerfile_limits(compared),
            )
        bare_proc = start_uvicorn(venv, "http_bare_app:app", BENCH, bare_port, bare_env, bare_log)
        auth = {"Authorization": f"Bearer {minted['token']}"}
        targets = [
            Target("svc", svc_port, "/v1/items", auth, svc_proc.pid),
            Target("bare", bare_port, "/v1/items", {}, bare_proc.pid),
        ]
        if not args.no_static:
            targets.append(Target("static", bare_port, "/static/items", {}, bare_proc.pid))
        if args.compare_template:
            targets.append(Target("compare", cmp_port, "/v1/items", auth, cmp_proc.pid))
        for target in targets:
            if not wait_until(lambda t=target: http_status(t.port, t.path, t.headers) == 200, 30):
                log = logs[target.name].read_text()[-3000:]
                raise SystemExit(f"{target.name} did not answer 200:\n{log}")
        # The limiter must see a real token and not refuse: 401/429 here would end the run.
        if http_status(svc_port, "/v1/items") != 401:
            raise SystemExit("the service's /v1/items answers without a token: auth is off?")

        wrk_desc = f"wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s --latency"
        print(f"{pyver}, {wrk_desc}, {args.rounds} rounds, load {os.getloadavg()[0]:.2f}")
        for target in targets:
            wrk(target, args, args.warmup)
        for round_no in range(args.rounds):
            order = targets if round_no % 2 == 0 else targets[::-1]
            for target in order:
                result = wrk(target, args, args.duration)
                target.rps.append(result["rps"])
                target.p50.append(result["p50"])
                target.p99.append(result["p99"])
                target.cpu_us.append(result["cpu_us"])
            print(
                f"round {round_no + 1}: "
                + ", ".join(f"{t.name} {t.rps[-1]:.0f} req/s" for t in targets),
                flush=True,
            )
        check_service_logs(svc_log)

        bare = next(t for t in targets if t.name == "bare")
        bare_rps = statistics.median(bare.rps)
        labels = {
            "svc": "generated service (JWT + rate limit + full middleware)",
            "bare": "bare FastAPI, same endpoint (Redis read)",
            "static": "bare FastAPI, no Redis (context)",
            "compare": f"generated service from {args.compare_template}",
        }
        print(
            f"\n{pyver}, uvicorn 1 worker (uvloop, httptools), {wrk_desc}, {args.rounds} "
            f"interleaved rounds after a {args.warmup:g} s warm-up, load average "
            f"{os.getloadavg()[0]:.2f}\n"
        )
        bare_cpu = statistics.median(bare.cpu_us)
        print(
            "| app | median req/s | min-max req/s | p50 ms | p99 ms | req/s vs bare "
            "| server CPU µs/req | CPU vs bare |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for t in targets:
            rps = statistics.median(t.rps)
            print(
                f"| {labels[t.name]} | {rps:.0f} | {min(t.rps):.0f}-{max(t.rps):.0f} "
                f"| {statistics.median(t.p50):.2f} | {statistics.median(t.p99):.2f} "
                f"| {rps / bare_rps:.2f}x | {statistics.median(t.cpu_us):.0f} "
                f"| {statistics.median(t.cpu_us) / bare_cpu:.2f}x |"
            )
        svc_target = targets[0]
        per_round = [s / b for s, b in zip(svc_target.rps, bare.rps, strict=True)]
        print(
            f"\nsvc/bare per round: {', '.join(f'{r:.2f}' for r in per_round)} "
            f"(median {statistics.median(per_round):.2f}x)"
        )

        if args.profile:
            profile(venv, svc_target, args, Path(args.profile).resolve())
    finally:
        PROCS.stop_all()
        if args.keep:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def check_service_logs(log: Path) -> None:
    """The service really logged every request as JSON, with request and trace ids."""
    with log.open("rb") as f:
        f.seek(max(0, log.stat().st_size - 20000))
        lines = f.read().decode(errors="replace").splitlines()[1:]
    access = [json.loads(line) for line in lines if '"uvicorn.access"' in line]
    if not access or not all(
        a.get("request_id") and re.fullmatch(r"[0-9a-f]{32}", a.get("trace_id") or "")
        for a in access
    ):
        raise SystemExit(f"service access log lines lack JSON/request_id/trace_id: {lines[-3:]}")


if __name__ == "__main__":
    sys.exit(main())
