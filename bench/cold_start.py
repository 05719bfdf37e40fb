#!/usr/bin/env python3
"""Cold start of the generated Lambda handler, as a ratio to a bare FastAPI + Mangum app.

Generates a `lambda` service with `svc new` (JWT auth and rate limiting on: the defaults),
installs it into a fresh virtualenv, and writes a bare app next to it: FastAPI, one /healthz
route, Mangum with lifespan="off". Then, in alternating rounds (A B A B ...), starts a fresh
Python process for each and measures inside it the time to import the handler module and
answer a first API Gateway v2 event for GET /healthz (what Lambda's init phase plus the first
invoke cost, interpreter start-up excluded). Reports min and median per variant and the ratio
of the medians and of the mins, all from the same run.

Bytecode is compiled once before measuring (as a deployment package built with compiled .pyc
files would be); nothing is contacted: /healthz needs no Redis and no identity provider.

    python3 bench/cold_start.py                 # 5 rounds
    python3 bench/cold_start.py --rounds 9 --svc target/dist/svc --python python3.12
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from svc_binary import HELP as SVC_HELP
from svc_binary import svc_binary

BARE_APP = """\
from fastapi import FastAPI
from mangum import Mangum

app = FastAPI()


@app.get("/healthz")
async def liveness() -> dict[str, str]:
    return {"status": "ok"}


handler = Mangum(app, lifespan="off")
"""

# Runs in the fresh process: import the handler module, invoke it once, print milliseconds.
PROBE = """\
import importlib, json, sys, time
start = time.perf_counter()
module = importlib.import_module(sys.argv[1])
event = json.loads(sys.argv[2])
class Context:
    function_name = "bench"; memory_limit_in_mb = 512; aws_request_id = "bench"
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:bench"
    def get_remaining_time_in_millis(self): return 10_000
response = module.handler(event, Context())
elapsed = (time.perf_counter() - start) * 1000
assert response["statusCode"] == 200, response
print(f"{elapsed:.3f}")
"""


def run(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, check=True, text=True, capture_output=True, **kwargs)  # type: ignore[call-overload]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--svc", default=os.environ.get("SVC_BIN"), help=SVC_HELP)
    parser.add_argument("--python", default=sys.executable, help="interpreter for the venv")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    args.svc = svc_binary(args.svc)

    work = Path(tempfile.mkdtemp(prefix="svc-cold-start-"))
    try:
        service = work / "coldsvc"
        run([args.svc, "new", "coldsvc", "--variant", "lambda", "--yes", "-o", str(service)])
        (work / "bare").mkdir()
        (work / "bare" / "bare_handler.py").write_text(BARE_APP)
        venv = work / "venv"
        run([args.python, "-m", "venv", str(venv)])
        python = str(venv / "bin" / "python")
        run([python, "-m", "pip", "install", "-q", "--upgrade", "pip"])
        run([python, "-m", "pip", "install", "-q", str(service)])
        run([python, "-m", "compileall", "-q", str(venv), str(work / "bare")])
        event = json.loads((service / "events" / "healthz.json").read_text())

        env = {
            "PATH": os.environ.get("PATH", ""),
            "JWT_ISSUER": "https://issuer.example/",
            "JWT_AUDIENCE": "coldsvc",
            "JWT_JWKS_URL": "https://issuer.example/.well-known/jwks.json",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "LOG_LEVEL": "WARNING",
        }
        variants = {
            "bare FastAPI + Mangum": ("bare_handler", work / "bare"),
            "generated (JWT auth + rate limit)": ("app.handler", work),
        }
        times: dict[str, list[float]] = {name: [] for name in variants}
        for round_ in range(args.rounds + 1):  # round 0 warms the page cache, not reported
            for name, (module, cwd) in variants.items():
                out = run([python, "-c", PROBE, module, json.dumps(event)], cwd=cwd, env=env)
                if round_:
                    times[name].append(float(out.stdout.strip().splitlines()[-1]))

        print(f"Cold start: import + first /healthz, {args.rounds} fresh processes each (A B A B)")
        print(f"{'variant':38} {'min ms':>8} {'median ms':>10}")
        for name, values in times.items():
            print(f"{name:38} {min(values):8.1f} {statistics.median(values):10.1f}")
        bare, generated = times.values()
        print(f"ratio (median): {statistics.median(generated) / statistics.median(bare):.2f}x")
        print(f"ratio (min):    {min(generated) / min(bare):.2f}x")
    finally:
        if args.keep:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
