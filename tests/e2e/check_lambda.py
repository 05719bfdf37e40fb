#!/usr/bin/env python3
"""End-to-end check of the `lambda` template: generate, install, test, lint, audit, invoke, build.

For the combinations that matter (everything on with the SQS function; everything off) it
generates a service with `svc new`, runs `svc audit` (zero findings) and `cfn-lint
template.yaml`, installs the dependencies once into a shared virtualenv from the generated lock
(`pip install --require-hashes -r requirements-dev.txt`), runs each service's own pytest (the
real-Redis tests against REDIS_URL, none skipped), ruff and `mypy --strict`, runs the README's
"Invoke it locally" block (it must print 200), then invokes the
deployed handler (`app.handler.handler`, what template.yaml names) in fresh processes with the
sample events: /healthz 200 with security headers, 401 without a token, 201 with a valid JWT
against the real Redis, a JSON 404, the SQS sample batch, and that importing the handler pulls
in none of the lazily imported libraries (pyjwt, cryptography, redis, limits, httpx2). With
OTEL_EXPORTER_OTLP_ENDPOINT pointing at a local collector, an invocation's spans must have
arrived when the handler returns (the process then exits without any exit-time flush).

Then `sam build` (the AWS SAM CLI in target/sam-venv, which tests/run.sh installs; no Docker),
with the service's Python first on PATH: the build for the template's architecture must hold
every pinned requirement, built for that architecture; a build for this machine's architecture
(the same template otherwise) is imported by a fresh `python -I -S` whose sys.path is the
artefact and the standard library only, and invoked with every sample event in events/ (each
with its expected status), checking that every log line of an invocation carries its
`aws_request_id` and `xray_trace_id` and that no module came from anywhere else.

Usage:  REDIS_URL=redis://127.0.0.1:6379/0 tests/e2e/check_lambda.py [--keep]

Environment: SVC_BIN (default target/debug/svc), REDIS_URL (required), SAM_BIN (default
target/sam-venv/bin/sam), PIP_CACHE_DIR. The interpreter: see tests/e2e/pythons.py.
Prints PASS/FAIL/SKIP per step and ends with `N passed, M failed`; exits 1 on any failure.
Only 127.0.0.1 is contacted, apart from the package index pip and `sam build` install from;
every step has a timeout; it starts no long-lived process.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pythons  # noqa: E402
from check_container import OtlpCollector, Report, run, tail  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SERVICE = "e2e-lambda"
COMBOS = [  # (label, --set options)
    ("auth=on rate_limit=on sqs=on", {"auth": "true", "rate_limit": "true", "sqs": "true"}),
    ("auth=off rate_limit=off sqs=off", {"auth": "false", "rate_limit": "false", "sqs": "false"}),
]
# Prints `name==version` for each pin of a hashed lock whose marker holds for this Python.
APPLICABLE_PINS = r"""
import sys
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
text = open(sys.argv[1]).read().replace("\\\n", " ")
for line in text.splitlines():
    line = line.strip()
    if not line or line.startswith("#"):
        continue
    req = Requirement(line.split(" --hash=")[0])
    if req.marker is None or req.marker.evaluate():
        (spec,) = req.specifier
        print(f"{canonicalize_name(req.name)}=={spec.version}")
"""
LAZY = ("jwt", "cryptography", "redis", "limits", "httpx2", "opentelemetry.sdk")

# Runs in a fresh process inside the service directory: Lambda's init phase, then invokes.
INVOKE = r'''
import json, sys, time, base64
start = time.perf_counter()
import app.handler as h
init_ms = (time.perf_counter() - start) * 1000
lazy = [m for m in sys.argv[2].split(",") if m in sys.modules]
class Ctx:
    function_name = "e2e"; memory_limit_in_mb = 512; aws_request_id = "e2e-1"
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:e2e"
    def get_remaining_time_in_millis(self): return 10_000
out = []
for event in json.loads(sys.argv[1]):
    r = h.handler(event, Ctx())
    body = r.get("body") or ""
    if r.get("isBase64Encoded"): body = base64.b64decode(body).decode()
    out.append({"status": r["statusCode"], "headers": {k.lower(): v for k, v in r.get("headers", {}).items()}, "body": body})
print(json.dumps({"init_ms": init_ms, "lazy_loaded_at_init": lazy, "responses": out}))
'''

TOKEN = r'''
import sys, time, jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
now = int(time.time())
claims = {"iss": "https://issuer.e2e/", "aud": sys.argv[1], "sub": "alice", "iat": now, "exp": now + 300, "scope": "items:read items:write"}
print(jwt.encode(claims, key, algorithm="RS256")); print(pem, end="")
'''

# With OTEL_EXPORTER_OTLP_ENDPOINT set: one invocation, then an exit that runs no exit-time
# flush (as a frozen execution environment sends nothing): spans must be out already.
FLUSH = r'''
import json, os, sys, time
import app.handler as h
class Ctx:
    function_name = "e2e"; memory_limit_in_mb = 512; aws_request_id = "e2e-flush"
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:e2e"
    def get_remaining_time_in_millis(self): return 10_000
start = time.perf_counter()
r = h.handler(json.loads(sys.argv[1]), Ctx())
print(json.dumps({"status": r["statusCode"], "ms": (time.perf_counter() - start) * 1000}), flush=True)
os._exit(0)
'''

# Runs as `python -I -S`: sys.path is the standard library, plus the built artefact (argv[1]).
# Each invocation gets its own request id and X-Ray trace header, as the Lambda runtime sets.
ARTEFACT = r'''
import base64, json, os, sys, sysconfig
root = os.path.realpath(sys.argv[1])
sys.path.insert(0, root)
class Ctx:
    function_name = "e2e"; memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:e2e"
    def __init__(self, n): self.aws_request_id = f"artefact-{n}"
    def get_remaining_time_in_millis(self): return 10_000
out = []
for n, (module, name, event) in enumerate(json.loads(sys.argv[2])):
    os.environ["_X_AMZN_TRACE_ID"] = f"Root=1-00000000-{n:024x};Parent=53995c3f42cd8ad8;Sampled=0"
    handler = __import__(module, fromlist=["handler"]).handler
    r = handler(event, Ctx(n))
    if "statusCode" in r:
        body = r.get("body") or ""
        if r.get("isBase64Encoded"): body = base64.b64decode(body).decode()
        r = {"status": r["statusCode"], "body": body}
    out.append({"name": name, "response": r})
    del os.environ["_X_AMZN_TRACE_ID"]
allowed = [root] + sorted({os.path.realpath(p) for k, p in sysconfig.get_paths().items() if "stdlib" in k})
outside = sorted(
    name for name, m in list(sys.modules.items())
    if getattr(m, "__file__", None)
    and not any(os.path.realpath(m.__file__).startswith(p + os.sep) for p in allowed)
)
print(json.dumps({"responses": out, "outside": outside, "sys_path": sys.path}))
'''

# What each sample event in events/ must answer through the built artefact; an event missing
# here fails the check, so a new sample gets an expectation.
def expected_answers(auth: bool) -> dict[str, object]:
    return {
        "healthz.json": 200,
        "healthz_dev_stage.json": 200,  # a named stage: /dev/healthz
        "create_item.json": 401 if auth else 201,  # auth: its placeholder token is refused
        "sqs.json": {"batchItemFailures": []},
    }


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


SAM_ARCH = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}


class LambdaCheck:
    def __init__(self, label: str, options: dict[str, str], work: Path, venv: Path, args) -> None:
        self.label, self.options, self.args = label, options, args
        self.service = work / label.replace(" ", "_").replace("=", "-") / SERVICE
        self.venv = venv
        self.report: Report = args.report

    def check(self, ok: bool | None, step: str, detail: str = "") -> bool:
        return self.report.record(ok, f"[{self.label}] {step}", detail)

    def py(self) -> str:
        return str(self.venv / "bin" / "python")

    def generate(self) -> bool:
        self.service.parent.mkdir(parents=True, exist_ok=True)
        sets = [arg for name, value in self.options.items() for arg in ("--set", f"{name}={value}")]
        result = run(
            [self.args.svc, "new", SERVICE, "--variant", "lambda", "--yes", "-o", str(self.service), *sets,
             *self.args.python.set_option()],  # fmt: skip
            timeout=60,
        )
        ok = result.returncode == 0 and (self.service / "template.yaml").is_file()
        return self.check(ok, "svc new", "" if ok else tail(result.stderr + result.stdout))

    def audit(self) -> None:
        result = run([self.args.svc, "audit", "--format", "json", str(self.service)], timeout=120)
        try:
            findings = json.loads(result.stdout)["findings"]
        except (ValueError, KeyError):
            self.check(False, "svc audit", f"exit {result.returncode}: {tail(result.stderr)}")
            return
        summary = "; ".join(f"{f.get('code')} {f.get('name')}" for f in findings)
        self.check(result.returncode == 0 and not findings, "svc audit: zero findings", summary)

    def static(self) -> None:
        result = run([str(self.venv / "bin" / "cfn-lint"), "template.yaml"], cwd=self.service, timeout=180)
        self.check(result.returncode == 0, "cfn-lint template.yaml", tail(result.stdout + result.stderr))
        for args in (["check", "--no-cache", "."], ["format", "--no-cache", "--check", "."]):
            result = run([str(self.venv / "bin" / "ruff"), *args], cwd=self.service, timeout=120)
            self.check(result.returncode == 0, f"ruff {args[0]}", tail(result.stdout + result.stderr))
        result = run([str(self.venv / "bin" / "mypy")], cwd=self.service, timeout=300)
        self.check(result.returncode == 0, "mypy --strict (pyproject [tool.mypy])", tail(result.stdout + result.stderr))

    def readme_invocation(self) -> None:
        """The README's "Invoke it locally" block, run as a newcomer would, prints 200."""
        readme = (self.service / "README.md").read_text()
        found = re.search(r"### Invoke it locally\n.*?```sh\n(.*?)```", readme, re.S)
        if not self.check(found is not None, "README: an \"Invoke it locally\" sh block"):
            return
        env = {**os.environ, "PATH": os.pathsep.join([str(self.venv / "bin"), os.environ.get("PATH", "")])}
        result = run(["bash", "-euo", "pipefail", "-c", found.group(1)], cwd=self.service, env=env, timeout=60)
        first = (result.stdout.strip().splitlines() or [""])[-1]
        self.check(result.returncode == 0 and first.startswith("200 "), "README's local invocation prints 200",
                   tail(result.stdout + result.stderr))  # fmt: skip

    def pytest(self) -> None:
        env = {**os.environ, "REDIS_URL": self.args.redis_url}
        result = run([self.py(), "-m", "pytest", "-p", "no:cacheprovider"], cwd=self.service, env=env, timeout=300)
        summary = next((l.strip("= ") for l in reversed(result.stdout.splitlines()) if " in " in l), "")
        ok = result.returncode == 0 and "skipped" not in summary
        self.check(ok, "pytest (Redis tests on REDIS_URL, none skipped)", summary if ok else tail(result.stdout, 40))
        self.report.figures.append(f"{self.label}: pytest {summary}")

    def sign(self) -> tuple[str, dict[str, str]] | None:
        """A valid test JWT and the settings that accept it."""
        made = run([self.py(), "-c", TOKEN, SERVICE], timeout=60)
        if not self.check(made.returncode == 0, "sign a test JWT", tail(made.stderr)):
            return None
        token, pem = made.stdout.split("\n", 1)
        return token, {"JWT_ISSUER": "https://issuer.e2e/", "JWT_AUDIENCE": SERVICE, "JWT_PUBLIC_KEY": pem}

    def invoke(self) -> None:
        auth = self.options["auth"] == "true"
        env = {
            "PATH": os.environ.get("PATH", ""),
            "REDIS_URL": self.args.redis_url,
            "SERVICE_NAME": f"e2e-{int(time.time() * 1000)}",
        }
        token = ""
        if auth:
            signed = self.sign()
            if signed is None:
                return
            token, jwt_env = signed
            env.update(jwt_env)
        events_dir = self.service / "events"
        health = json.loads((events_dir / "healthz.json").read_text())
        create = json.loads((events_dir / "create_item.json").read_text())
        anon = json.loads(json.dumps(create))
        del anon["headers"]["authorization"]
        if auth:
            create["headers"]["authorization"] = f"Bearer {token}"
        else:
            create = anon
        missing = json.loads(json.dumps(health))
        missing["rawPath"] = missing["requestContext"]["http"]["path"] = "/nope"
        result = run([self.py(), "-c", INVOKE, json.dumps([health, anon, create, missing]), ",".join(LAZY)],
                     cwd=self.service, env=env, timeout=60)  # fmt: skip
        if not self.check(result.returncode == 0, "invoke app.handler.handler", tail(result.stderr)):
            return
        data = json.loads(result.stdout.strip().splitlines()[-1])
        h, a, c, m = data["responses"]
        headers_ok = all(
            h["headers"].get(name) for name in
            ("content-security-policy", "strict-transport-security", "x-content-type-options", "x-request-id")
        )  # fmt: skip
        self.check(h["status"] == 200 and headers_ok, "events/healthz.json: 200 with security headers", str(h["status"]))
        if auth:
            self.check(a["status"] == 401 and a["headers"].get("www-authenticate") == "Bearer",
                       "POST /v1/items without a token: 401", f"{a['status']} {a['body']}")  # fmt: skip
        self.check(c["status"] == 201, "events/create_item.json: 201, item stored in the real Redis",
                   f"{c['status']} {c['body'][:200]}")  # fmt: skip
        self.check(m["status"] == 404 and json.loads(m["body"]) == {"detail": "Not Found"}
                   and m["headers"].get("x-content-type-options") == "nosniff",
                   "unknown route: JSON 404 with headers", f"{m['status']} {m['body']}")  # fmt: skip
        self.check(not data["lazy_loaded_at_init"], "init imports none of " + ", ".join(LAZY),
                   f"loaded: {data['lazy_loaded_at_init']}; init {data['init_ms']:.0f} ms")  # fmt: skip
        self.report.figures.append(f"{self.label}: handler init {data['init_ms']:.0f} ms (one process)")
        if self.options["sqs"] == "true":
            probe = ("import json, sys; import app.sqs as s; "
                     "print(json.dumps(s.handler(json.load(open('events/sqs.json')), None)))")  # fmt: skip
            result = run([self.py(), "-c", probe], cwd=self.service, env=env, timeout=60)
            out = result.stdout.strip().splitlines()[-1:] or [""]
            self.check(result.returncode == 0 and json.loads(out[0] or "{}") == {"batchItemFailures": []},
                       "events/sqs.json through app.sqs.handler on the real Redis", tail(out[0] + result.stderr))  # fmt: skip

    def flush(self) -> None:
        """With OTLP export on, the invocation's spans have left when the handler returns."""
        event = json.loads((self.service / "events" / "create_item.json").read_text())
        del event["headers"]["authorization"]  # 401 with auth, 201 without: traced either way
        with OtlpCollector() as collector:
            env = {
                "PATH": os.environ.get("PATH", ""),
                "REDIS_URL": self.args.redis_url,
                "SERVICE_NAME": f"e2e-flush-{int(time.time() * 1000)}",
                "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{collector.port}",
                # Nothing exported on the batch timer while the invocation runs.
                "OTEL_BSP_SCHEDULE_DELAY": "60000",
            }
            if self.options["auth"] == "true":
                env.update(JWT_ISSUER="https://issuer.e2e/", JWT_AUDIENCE=SERVICE,
                           JWT_JWKS_URL="https://issuer.e2e/jwks.json")  # fmt: skip
            result = run([self.py(), "-c", FLUSH, json.dumps(event)], cwd=self.service, env=env, timeout=60)
            traces = [e for e in collector.exports if e[0] == "/v1/traces"]
        out = result.stdout.strip().splitlines()[-1:] or ["{}"]
        detail = f"exit {result.returncode}, {len(traces)} export(s), {out[0]} {tail(result.stderr)}"
        self.check(result.returncode == 0 and bool(traces) and json.loads(out[0]).get("status") in (201, 401),
                   "OTLP on: spans exported before the handler returns (no exit-time flush)", detail)  # fmt: skip

    def sam_build(self, arch: str | None) -> Path | None:
        """`sam build` of template.yaml, or of a copy built for `arch`; the build directory."""
        template = self.service / "template.yaml"
        if arch is not None:
            text = template.read_text()
            changed = re.sub(r"Architectures: \[\w+\]", f"Architectures: [{arch}]", text)
            if changed == text:
                self.check(False, f"template.yaml copy for {arch}", "no Architectures line")
                return None
            template = self.service.parent / f"template-{arch}.yaml"
            template.write_text(changed)
        build = self.service.parent / f"sam-build-{arch or 'template'}"
        # SAM looks `python3.X` up on PATH for the python3.X runtime: the service's own interpreter
        # (its venv, which has pip) comes first.
        path = os.pathsep.join([str(self.venv / "bin"), self.args.python.bin_dir, os.environ.get("PATH", "")])
        env = {**os.environ, "PATH": path, "SAM_CLI_TELEMETRY": "0"}
        cmd = [self.args.sam, "build", "--template-file", str(template), "--base-dir", str(self.service),
               "--build-dir", str(build)]  # fmt: skip
        t0 = time.monotonic()
        result = run(cmd, cwd=self.service, env=env, timeout=900)
        output = result.stdout + result.stderr
        ok = result.returncode == 0 and "Build Succeeded" in output
        step = "sam build" + (f" (a copy for this machine's {arch})" if arch else " template.yaml")
        self.check(ok, step, f"{time.monotonic() - t0:.0f}s" if ok else tail(output, 30))
        if ok:
            # SAM only warns, and builds a package without any library in it.
            lost = "requirements.txt file not found" in output
            self.check(not lost, f"{step}: dependencies from requirements.txt",
                       "requirements.txt file not found: no library packaged" if lost else "")  # fmt: skip
        return build if ok else None

    def packaged(self, build: Path) -> None:
        """The template's build holds every pinned requirement, compiled for its architecture."""
        template = (self.service / "template.yaml").read_text()
        found = re.search(r"Architectures: \[(\w+)\]", template)
        arch = found.group(1) if found else "x86_64"  # Lambda's default
        api = build / "ApiFunction"
        dists = set()
        for info in api.glob("*.dist-info"):
            name, _, version = info.name[: -len(".dist-info")].rpartition("-")
            dists.add(f"{canonical(name)}=={version}")
        pins = []
        requirements = self.service / "requirements.txt"
        if not requirements.is_file():
            self.check(False, "sam build: the pinned requirements in the package", "no requirements.txt")
            return
        # A hashed lock: `name==version [; marker] \` then `--hash=...` lines. The pins whose
        # markers hold for the function's Python (the venv's: the same version) must be packaged.
        applies = run([self.py(), "-c", APPLICABLE_PINS, str(requirements)], timeout=60)
        if not self.check(applies.returncode == 0, "sam build: requirements.txt parsed", tail(applies.stderr)):
            return
        pins = [line for line in applies.stdout.splitlines() if line]
        missing = [pin for pin in pins if pin not in dists]
        self.check(bool(pins) and not missing, f"sam build: all {len(pins)} pinned requirements in the package",
                   f"missing: {missing}" if missing else "")  # fmt: skip
        token = {"arm64": "aarch64", "x86_64": "x86_64"}[arch]
        tag = f"cpython-{self.args.python.version.replace('.', '')}-"
        native = [p for p in api.rglob("*.so") if "-linux-gnu" in p.name]
        wrong = [p.name for p in native if token not in p.name or tag not in p.name]
        self.check(bool(native) and not wrong, f"sam build: native modules built for {arch}, {tag[:-1]}",
                   f"{len(native)} native modules" + (f", wrong: {wrong[:5]}" if wrong else ""))  # fmt: skip

    def artefact(self, build: Path) -> None:
        """The built function imported with nothing but itself and the stdlib, every sample invoked."""
        auth = self.options["auth"] == "true"
        env = {"PATH": "/usr/bin:/bin", "REDIS_URL": self.args.redis_url,
               "SERVICE_NAME": f"e2e-artefact-{int(time.time() * 1000)}"}  # fmt: skip
        token = ""
        if auth:
            signed = self.sign()
            if signed is None:
                return
            token, jwt_env = signed
            env.update(jwt_env)
        expected = expected_answers(auth)
        calls, wanted = [], []
        for path in sorted((self.service / "events").glob("*.json")):
            event = json.loads(path.read_text())
            if path.name not in expected:
                self.check(False, f"events/{path.name}: an expected answer", "add it to expected_answers")
                continue
            module = "app.sqs" if "Records" in event else "app.handler"
            calls.append([module, path.name, event])
            wanted.append(expected[path.name])
            if path.name == "create_item.json" and auth:
                signed_event = json.loads(json.dumps(event))
                signed_event["headers"]["authorization"] = f"Bearer {token}"
                calls.append([module, "create_item.json with a valid token", signed_event])
                wanted.append(201)
        result = run([self.args.python.path, "-I", "-S", "-c", ARTEFACT, str(build / "ApiFunction"), json.dumps(calls)],
                     cwd=build, env=env, timeout=120)  # fmt: skip
        lines = result.stdout.strip().splitlines()
        ok = result.returncode == 0 and bool(lines)
        if not self.check(ok, "built artefact: import and invoke with python -I -S",
                          "" if ok else tail(result.stderr + result.stdout, 30)):  # fmt: skip
            return
        data = json.loads(lines[-1])
        self.check(not data["outside"], "built artefact: every module from the artefact or the stdlib",
                   f"from elsewhere: {data['outside'][:10]}; sys.path {data['sys_path']}" if data["outside"] else "")  # fmt: skip
        for (_, name, _), want, got in zip(calls, wanted, data["responses"], strict=True):
            answer = got["response"]
            status = answer.get("status") if isinstance(want, int) else answer
            self.check(status == want, f"built artefact: events/{name} -> {want}",
                       "" if status == want else f"got {str(answer)[:300]}")  # fmt: skip
        logs = []
        for line in lines[:-1]:
            try:
                logs.append(json.loads(line))
            except ValueError:
                logs.append({"unparsed": line})
        bad = []
        for entry in logs:
            number = str(entry.get("aws_request_id") or "").removeprefix("artefact-")
            root = f"1-00000000-{int(number):024x}" if number.isdigit() else "?"
            if entry.get("xray_trace_id") != root:
                bad.append(entry)
        self.check(bool(logs) and not bad, f"built artefact: all {len(logs)} log lines carry aws_request_id and xray_trace_id",
                   f"without: {str(bad[:2])[:400]}" if bad else "")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    args.report = report = Report()
    started = time.monotonic()
    args.svc = str(Path(os.environ.get("SVC_BIN", REPO / "target/debug/svc")).resolve())
    args.redis_url = os.environ.get("REDIS_URL", "")
    if not Path(args.svc).is_file():
        report.record(False, "precondition", f"svc binary at {args.svc}")
    if not args.redis_url.startswith("redis://127.0.0.1"):
        report.record(False, "precondition", "REDIS_URL=redis://127.0.0.1:PORT/DB")
    args.python = pythons.for_template(REPO / "templates" / "lambda")
    if args.python is None:
        report.record(False, "precondition", pythons.missing(REPO / "templates" / "lambda"))
    args.sam = str(Path(os.environ.get("SAM_BIN", REPO / "target/sam-venv/bin/sam")))
    if not Path(args.sam).is_file():
        report.record(False, "precondition", f"sam at {args.sam} (bash tests/run.sh installs it; or set SAM_BIN)")
    os.environ.setdefault("PIP_CACHE_DIR", str(Path.home() / ".cache" / "svc-e2e" / "pip"))
    os.environ["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    work = Path(tempfile.mkdtemp(prefix="svc-e2e-lambda-"))
    try:
        if report.failed == 0:
            checks = [LambdaCheck(label, options, work, work / "venv", args) for label, options in COMBOS]
            generated = [c for c in checks if c.generate()]
            for c in generated:
                c.audit()
            if generated:
                # One venv for all: the first combination's dependencies are a superset.
                t0 = time.monotonic()
                steps = [
                    [args.python.path, "-m", "venv", str(work / "venv")],
                    [str(work / "venv/bin/python"), "-m", "pip", "install", "-q", "--upgrade", "pip"],
                    # The generated lock (runtime and every extra), each file checked against its
                    # hash; not the package itself: each service runs its own app/.
                    [str(work / "venv/bin/python"), "-m", "pip", "install", "-q", "--require-hashes",
                     "-r", str(generated[0].service / "requirements-dev.txt")],  # fmt: skip
                ]
                ok = True
                for step in steps:
                    result = run(step, timeout=900)
                    if result.returncode != 0:
                        ok = report.record(False, "shared venv + pip install --require-hashes -r requirements-dev.txt", tail(result.stderr))
                        break
                if ok and report.record(True, "shared venv + pip install --require-hashes -r requirements-dev.txt", f"{time.monotonic() - t0:.0f}s"):
                    host = SAM_ARCH.get(platform.machine().lower())
                    for c in generated:
                        c.static()
                        c.pytest()
                        c.readme_invocation()
                        c.invoke()
                        c.flush()
                        build = c.sam_build(None)
                        if build is not None:
                            c.packaged(build)
                        template_arch = re.search(r"Architectures: \[(\w+)\]", (c.service / "template.yaml").read_text())
                        if host is None:
                            c.check(None, "built artefact", f"no Lambda architecture for {platform.machine()}")
                        elif template_arch and template_arch.group(1) == host:
                            if build is not None:
                                c.artefact(build)
                        else:
                            # Its native modules cannot load here: build the same thing for this machine.
                            host_build = c.sam_build(host)
                            if host_build is not None:
                                c.artefact(host_build)
    except Exception as exc:  # noqa: BLE001 - a bug here is one failure, not a crash
        report.record(False, "check script", repr(exc))
    finally:
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
