#!/usr/bin/env python3
"""End-to-end check of the `lambda` template: generate, install, test, lint, audit, invoke.

For the combinations that matter (everything on with the SQS function; everything off) it
generates a service with `svc new`, runs `svc audit` (zero findings) and `cfn-lint
template.yaml`, installs the dependencies once into a shared virtualenv, runs each service's own
pytest (the real-Redis tests against REDIS_URL, none skipped) and ruff, then invokes the
deployed handler (`app.handler.handler`, what template.yaml names) in fresh processes with the
sample events: /healthz 200 with security headers, 401 without a token, 201 with a valid JWT
against the real Redis, a JSON 404, the SQS sample batch, and that importing the handler pulls
in none of the lazily imported libraries (pyjwt, cryptography, redis, limits, httpx2).

Usage:  REDIS_URL=redis://127.0.0.1:6379/0 tests/e2e/check_lambda.py [--keep]

Environment: SVC_BIN (default target/debug/svc), REDIS_URL (required), PIP_CACHE_DIR.
Prints PASS/FAIL/SKIP per step and ends with `N passed, M failed`; exits 1 on any failure.
Only 127.0.0.1 is contacted; every step has a timeout; it starts no long-lived process.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_container import Report, find_python, run, tail  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SERVICE = "e2e-lambda"
COMBOS = [  # (label, --set options)
    ("auth=on rate_limit=on sqs=on", {"auth": "true", "rate_limit": "true", "sqs": "true"}),
    ("auth=off rate_limit=off sqs=off", {"auth": "false", "rate_limit": "false", "sqs": "false"}),
]
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
            [self.args.svc, "new", SERVICE, "--variant", "lambda", "--yes", "-o", str(self.service), *sets],
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

    def pytest(self) -> None:
        env = {**os.environ, "REDIS_URL": self.args.redis_url}
        result = run([self.py(), "-m", "pytest", "-p", "no:cacheprovider"], cwd=self.service, env=env, timeout=300)
        summary = next((l.strip("= ") for l in reversed(result.stdout.splitlines()) if " in " in l), "")
        ok = result.returncode == 0 and "skipped" not in summary
        self.check(ok, "pytest (Redis tests on REDIS_URL, none skipped)", summary if ok else tail(result.stdout, 40))
        self.report.figures.append(f"{self.label}: pytest {summary}")

    def invoke(self) -> None:
        auth = self.options["auth"] == "true"
        env = {
            "PATH": os.environ.get("PATH", ""),
            "REDIS_URL": self.args.redis_url,
            "SERVICE_NAME": f"e2e-{int(time.time() * 1000)}",
        }
        token = ""
        if auth:
            made = run([self.py(), "-c", TOKEN, SERVICE], timeout=60)
            if not self.check(made.returncode == 0, "sign a test JWT", tail(made.stderr)):
                return
            token, pem = made.stdout.split("\n", 1)
            env.update(JWT_ISSUER="https://issuer.e2e/", JWT_AUDIENCE=SERVICE, JWT_PUBLIC_KEY=pem)
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
    python = find_python("3.12") or find_python("3.11")
    if python is None:
        report.record(False, "precondition", "python3.12 or 3.11")
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
                    [python, "-m", "venv", str(work / "venv")],
                    [str(work / "venv/bin/python"), "-m", "pip", "install", "-q", "--upgrade", "pip"],
                    [str(work / "venv/bin/python"), "-m", "pip", "install", "-q", f"{generated[0].service}[dev]"],
                    # Keep the dependencies, drop the package: each service runs its own app/.
                    [str(work / "venv/bin/python"), "-m", "pip", "uninstall", "-q", "-y", SERVICE],
                ]
                ok = True
                for step in steps:
                    result = run(step, timeout=900)
                    if result.returncode != 0:
                        ok = report.record(False, "shared venv + pip install '.[dev]'", tail(result.stderr))
                        break
                if ok and report.record(True, "shared venv + pip install '.[dev]'", f"{time.monotonic() - t0:.0f}s"):
                    for c in generated:
                        c.static()
                        c.pytest()
                        c.invoke()
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
