"""The svc binary a benchmark runs: the one named, or the `dist` build, made fresh first.

The `dist` profile (fat LTO, one codegen unit) is what release artefacts ship and what the
figures in BENCHMARKS.md were measured with; the plain release profile is cargo's default,
kept quick for `cargo install`, and would make the figures incomparable."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

HELP = "svc binary (default: build the dist-profile binary, so that a stale one is never measured)"


def svc_binary(given: str | None) -> str:
    """`given`, or target/dist/svc after `cargo build --profile dist`: always through cargo (a
    no-op when the binary is fresh), since a stale binary would be measured without a word."""
    if given is not None:
        return given
    # Not --quiet: a clean fat-LTO build takes many minutes on 2 cores, and says so as it goes.
    print("building svc (cargo build --profile dist) ...", flush=True)
    subprocess.run(["cargo", "build", "--profile", "dist"], cwd=ROOT, check=True)
    return str(ROOT / "target" / "dist" / "svc")
