#!/usr/bin/env python3
"""Instructions per request of the generated container service and of the bare app (callgrind).

Noise-free where requests/s is not: the machine's load changes the time a request takes, not
the instructions it executes. Use it for the before/after of a template change; requests/s
and the ratio to the bare app come from bench/http_bench.py.

Each app runs in uvicorn (uvloop, httptools, access log on, as in http_bench.py) under
`valgrind --tool=callgrind --instr-atstart=no`, against a private redis-server. This script
sends warm-up requests, switches instrumentation on with callgrind_control, sends N keep-alive
requests from its own (uninstrumented) process, and reads the instruction counter: startup,
warm-up and shutdown are not counted, the event loop and the Redis client are.

    python3 bench/http_instructions.py                      # -n 200, embedded template
    python3 bench/http_instructions.py --template templates/container --compare-template OLD

Needs valgrind (Debian package) and the venv http_bench.py builds (bench/.http-venv): run
http_bench.py once first. Only 127.0.0.1 is contacted; every process started here is stopped.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from svc_binary import HELP as SVC_HELP
from svc_binary import svc_binary

sys.path.insert(0, str(Path(__file__).resolve().parent))
from http_bench import (
    BENCH,
    MINT,
    PROCS,
    SERVICE,
    base_env,
    free_port,
    redis_command,
    run,
    service_env,
)

SERVER = """
import sys, uvicorn
config = uvicorn.Config(sys.argv[1], host="127.0.0.1", port=int(sys.argv[2]), proxy_headers=True,
                        server_header=False, loop="uvloop", http="httptools")
uvicorn.Server(config).run()
"""


def instructions_per_request(
    venv: Path, module: str, cwd: Path, env: dict[str, str], headers: dict[str, str], args
) -> float:
    port = free_port()
    out = Path(tempfile.mkdtemp(prefix="svc-callgrind-"))
    server = PROCS.start(
        [
            "valgrind", "--tool=callgrind", "--instr-atstart=no",
            f"--callgrind-out-file={out}/callgrind.out",
            str(venv / "bin" / "python"), "-c", SERVER, module, str(port),
        ],
        cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                conn.request("GET", "/v1/items", headers=headers)
                response = conn.getresponse()
                response.read()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit(f"{module} did not start under valgrind") from None
                time.sleep(0.5)

        def send(n: int) -> None:
            for _ in range(n):
                conn.request("GET", "/v1/items", headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    raise SystemExit(f"{module}: HTTP {response.status}")

        send(args.warmup)
        control = ["callgrind_control"]
        run([*control, "--instr=on", str(server.pid)], timeout=120)
        run([*control, "--zero", str(server.pid)], timeout=120)
        send(args.requests)
        counters = run([*control, "-e", "Ir", str(server.pid)], timeout=120).stdout
        # "Totals: Ir" then one line per thread ("Th 1  393,000,807"): uvicorn serves on one.
        counts = re.findall(r"^\s*Th \d+\s+([\d,]+)", counters, re.MULTILINE)
        if not counts:
            raise SystemExit(f"no instruction counter from callgrind_control: {counters}")
        return sum(int(count.replace(",", "")) for count in counts) / args.requests
    finally:
        PROCS.stop_all()
        shutil.rmtree(out, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--svc", default=os.environ.get("SVC_BIN"), help=SVC_HELP)
    parser.add_argument("--template", help="render this template directory (development)")
    parser.add_argument("--compare-template", metavar="DIR", help="also count this template")
    parser.add_argument("--venv", default=str(BENCH / ".http-venv"))
    args = parser.parse_args()
    args.svc = svc_binary(args.svc)
    for tool in ("valgrind", "callgrind_control", "redis-server"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found: apt-get install -y valgrind redis-server")
    venv = Path(args.venv)
    if not (venv / "bin" / "uvicorn").is_file():
        raise SystemExit(f"no venv at {venv}: run bench/http_bench.py once first")

    work = Path(tempfile.mkdtemp(prefix="svc-http-instructions-"))
    redis_port = free_port()
    redis = subprocess.Popen(
        redis_command("redis-server", redis_port),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        minted = json.loads(run([str(venv / "bin" / "python"), "-c", MINT]).stdout)
        redis_url = f"redis://127.0.0.1:{redis_port}/0"
        base = base_env(redis_url)
        svc_env = service_env(redis_url, minted["public_pem"])
        auth = {"Authorization": f"Bearer {minted['token']}"}
        targets = [("svc", args.template), ("compare", args.compare_template)]
        for name, template in targets:
            if name == "compare" and template is None:
                continue
            service = work / name / SERVICE
            source = ["--template", template] if template else ["--variant", "container"]
            run([args.svc, "new", SERVICE, *source, "--yes", "-o", str(service)])
            per_request = instructions_per_request(
                venv, "app.main:app", service, svc_env, auth, args
            )
            print(f"{name}: {per_request / 1e6:.3f}M instructions/request", flush=True)
        bare_env = base | {"SERVICE_NAME": SERVICE}
        per_request = instructions_per_request(venv, "http_bare_app:app", BENCH, bare_env, {}, args)
        print(f"bare: {per_request / 1e6:.3f}M instructions/request")
    finally:
        redis.terminate()
        redis.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
