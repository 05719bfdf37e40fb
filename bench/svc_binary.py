"""The svc binary a benchmark runs: the one named, or the release build, made fresh first."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

HELP = "svc binary (default: build the release binary, so that a stale one is never measured)"


def svc_binary(given: str | None) -> str:
    """`given`, or target/release/svc after `cargo build --release`: always through cargo (a
    no-op when the binary is fresh), since a stale binary would be measured without a word."""
    if given is not None:
        return given
    print("building svc (cargo build --release) ...", flush=True)
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    return str(ROOT / "target" / "release" / "svc")
