#!/usr/bin/env python3
"""Benchmark `svc audit` against its peers on public corpora (see BENCHMARKS.md).

Downloads the corpora with pip (never committed), installs the peers into bench/.venv, then
runs every tool on every corpus in alternating rounds (A B C A B C ...) so that machine noise
hits all of them alike. Reports median and min wall time, median peak RSS, and each peer's
ratio to svc from the same run.

    python3 bench/bench.py                     # all corpora, 5 rounds
    python3 bench/bench.py --corpus prefect --rounds 9 --no-bandit
    python3 bench/bench.py --dir PATH --no-bandit --no-semgrep   # any unpacked tree, e.g. a
                                                               # real-world corpus entry
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

from svc_binary import HELP as SVC_HELP
from svc_binary import svc_binary

HERE = Path(__file__).resolve().parent
CORPORA = HERE / "corpora"
VENV = HERE / ".venv"

CORPUS_SPECS = {
    "django": ("django==5.2.19", ["--no-binary", ":all:"], "django-5.2.19"),
    "prefect": ("prefect==3.9.1", ["--only-binary", ":all:"], "prefect-3.9.1"),
}


def sh(cmd: list[str], **kw) -> None:
    print("+", " ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, check=True, **kw)


def ensure_venv(want_semgrep: bool) -> None:
    if not (VENV / "bin" / "ruff").exists():
        sh([sys.executable, "-m", "venv", str(VENV)])
        sh([str(VENV / "bin" / "pip"), "install", "-q", "ruff", "bandit"])
    if want_semgrep and not (VENV / "bin" / "semgrep").exists():
        # semgrep is large; a failure to install it only drops it from the table.
        subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", "semgrep"], check=False)


def ensure_corpus(name: str) -> Path:
    spec, flags, dirname = CORPUS_SPECS[name]
    target = CORPORA / dirname
    if target.is_dir():
        return target
    dl = CORPORA / "dl"
    dl.mkdir(parents=True, exist_ok=True)
    existing = [p for p in dl.iterdir() if p.name.lower().startswith(dirname.split("-")[0])]
    if not existing:
        sh(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "-q",
                "--no-deps",
                *flags,
                spec,
                "-d",
                str(dl),
            ]
        )
        existing = [p for p in dl.iterdir() if p.name.lower().startswith(dirname.split("-")[0])]
    archive = existing[0]
    tmp = CORPORA / (dirname + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as z:
            z.extractall(tmp)
        tmp.rename(target)
    else:
        with tarfile.open(archive) as t:
            t.extractall(tmp, filter="data")
        inner = next(tmp.iterdir())
        inner.rename(target)
        shutil.rmtree(tmp)
    return target


def corpus_size(path: Path) -> tuple[int, int]:
    files = lines = 0
    for p in path.rglob("*.py"):
        files += 1
        with open(p, "rb") as f:
            lines += sum(1 for _ in f)
    return files, lines


def measure(cmd: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one run, output discarded."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"{cmd[0]} exited {code}: {' '.join(cmd)}")
    return wall, usage.ru_maxrss


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--corpus", choices=[*CORPUS_SPECS, "all"], default="all")
    ap.add_argument(
        "--dir",
        type=Path,
        action="append",
        help="measure this directory instead of the downloaded corpora (repeatable)",
    )
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--svc", help=SVC_HELP)
    ap.add_argument("--no-bandit", action="store_true", help="bandit takes ~30 s a run")
    ap.add_argument("--no-semgrep", action="store_true")
    ap.add_argument("--bandit-rounds", type=int, default=1)
    args = ap.parse_args()

    args.svc = svc_binary(args.svc)
    ensure_venv(not args.no_semgrep)
    bin_ = VENV / "bin"
    names = list(CORPUS_SPECS) if args.corpus == "all" else [args.corpus]
    # A directory given by path is measured as it is: nothing to download.
    paths = (
        {d.resolve().name: d.resolve() for d in args.dir}
        if args.dir
        else {CORPUS_SPECS[name][2]: ensure_corpus(name) for name in names}
    )
    semgrep_rules = HERE / "semgrep-rules.yml"

    print(f"# svc audit benchmark ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores)\n")
    for name, path in paths.items():
        files, lines = corpus_size(path)
        tools = {
            "svc": [args.svc, "audit", str(path), "--isolated", "--fail-on", "never"],
            "ruff": [
                str(bin_ / "ruff"),
                "check",
                "--no-cache",
                "--select",
                "S,ASYNC,FAST,T20",
                "--exit-zero",
                str(path),
            ],
        }
        slow = {}
        if not args.no_semgrep and (bin_ / "semgrep").exists():
            slow["semgrep"] = [
                str(bin_ / "semgrep"),
                "scan",
                "--config",
                str(semgrep_rules),
                "--metrics=off",
                "--quiet",
                "--disable-version-check",
                "--no-git-ignore",
                str(path),
            ]
        if not args.no_bandit:
            slow["bandit"] = [str(bin_ / "bandit"), "-r", "-q", str(path)]
        results: dict[str, list[tuple[float, int]]] = {t: [] for t in [*tools, *slow]}
        for tool, cmd in tools.items():  # warm the page cache
            measure(cmd)
        for _ in range(args.rounds):
            for tool, cmd in tools.items():
                results[tool].append(measure(cmd))
        for _ in range(args.bandit_rounds):
            for tool, cmd in slow.items():
                results[tool].append(measure(cmd))
                results["svc"].append(measure(tools["svc"]))

        svc_wall = statistics.median(w for w, _ in results["svc"])
        svc_rss = statistics.median(r for _, r in results["svc"])
        # The machines are shared: the load during the runs says how far to trust them.
        load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"## {name}: {files:,} .py files, {lines:,} lines (load average after: {load})\n")
        print(
            "| tool | runs | median wall | min wall | median peak RSS | wall vs svc | RSS vs svc |"
        )
        print("|---|---|---|---|---|---|---|")
        for tool, runs in results.items():
            if not runs:
                continue
            wall = statistics.median(w for w, _ in runs)
            rss = statistics.median(r for _, r in runs)
            print(
                f"| {tool} | {len(runs)} | {wall:.3f} s | {min(w for w, _ in runs):.3f} s | {rss / 1024:.1f} MiB"
                f" | {wall / svc_wall:.2f}x | {rss / svc_rss:.2f}x |"
            )
        print()


if __name__ == "__main__":
    main()
