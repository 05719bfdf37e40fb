#!/usr/bin/env python3
"""End-to-end check of svc as a Python wheel, and of the pre-commit hook that installs it.

1. `pip wheel .` of this repository through maturin's PEP 517 backend (the path `pip install
   .`, pipx and uv take), with the real maturin from target/maturin-venv (tests/run.sh
   installs it) and `--profile dev` so that it reuses the debug build CI has just made instead
   of a release build of minutes. The wheel must be named and versioned as Cargo.toml says
   and carry `svc` in its scripts.
2. A fresh virtualenv, `pip install --no-index` of that wheel, and the installed `svc`:
   `--version`, `svc new demo -o DIR`, `svc audit DIR` (exit 0, no findings).
3. `maturin sdist`: it must hold what a build from it reads (build.rs, Cargo.lock, every
   tracked file under templates/ and src/).
4. The pre-commit mirror (pre-commit-mirror/, a repository whose hook depends on the wheel)
   published by its publish.sh into a git repository of its own, used by the real pre-commit
   (target/pre-commit-venv) from a generated service's repository, with pip pointed at a
   local wheelhouse only (PIP_NO_INDEX, PIP_FIND_LINKS: the wheel and the setuptools wheel the
   mirror's build needs) and a PATH without any svc: a clean service passes, one with a
   violation fails with the finding, and the `svc` that ran is the wheel's, in the hook's
   virtualenv.

Usage:  tests/e2e/check_wheel.py [--keep]

Environment: MATURIN_VENV (default target/maturin-venv), SVC_PRE_COMMIT (default
target/pre-commit-venv/bin/pre-commit). Prints PASS/FAIL per step and ends with
`N passed, M failed`; exits 1 on any failure. Nothing is contacted: the one download (the
setuptools wheel, from the package index, once) is cached under target/.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
import traceback
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_container import Report, run, tail  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
CARGO = tomllib.loads((REPO / "Cargo.toml").read_text())["package"]
VERSION = CARGO["version"]
DIST_NAME = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["name"]
WHEEL_STEM = DIST_NAME.replace("-", "_")
# Cached across runs (target/ survives on a developer's machine; CI downloads it once).
WHEELHOUSE_DEPS = REPO / "target" / "wheel-deps"
# The hook's run must find no svc but the wheel's: the system directories only.
BARE_PATH = "/usr/local/bin:/usr/bin:/bin"


def git_env(home: Path) -> dict[str, str]:
    """Neither the machine's git configuration nor its home directory involved."""
    return {
        **os.environ,
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": str(home),
        "GIT_AUTHOR_NAME": "svc tests",
        "GIT_AUTHOR_EMAIL": "tests@svc.invalid",
        "GIT_COMMITTER_NAME": "svc tests",
        "GIT_COMMITTER_EMAIL": "tests@svc.invalid",
    }


def git(cwd: Path, *args: str) -> str:
    result = run(["git", *args], cwd=cwd, env=git_env(cwd), timeout=60)
    if result.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {result.stderr}")
    return result.stdout.strip()


def build_wheel(report: Report, maturin_venv: Path, out: Path) -> Path | None:
    # The backend runs the `maturin` on PATH: the venv's, as in an isolated build.
    env = {
        **os.environ,
        "PATH": f"{maturin_venv / 'bin'}:{os.environ['PATH']}",
        "MATURIN_PEP517_ARGS": "--profile dev",
    }
    t0 = time.monotonic()
    result = run(
        [str(maturin_venv / "bin/python"), "-m", "pip", "wheel", "--no-build-isolation",
         "--no-deps", "-w", str(out), str(REPO)],
        env=env, timeout=1800,
    )
    wheels = sorted(out.glob("*.whl"))
    if result.returncode != 0 or len(wheels) != 1:
        report.record(False, "pip wheel . (maturin, --profile dev)", tail(result.stdout + result.stderr))
        return None
    wheel = wheels[0]
    report.record(True, "pip wheel . (maturin, --profile dev)", f"{wheel.name}, {time.monotonic() - t0:.0f}s")
    report.figures.append(f"wheel build (dev profile, incremental): {time.monotonic() - t0:.0f}s")

    # py3-none: the binary needs no particular Python; the platform tag is this machine's.
    report.record(
        re.fullmatch(rf"{WHEEL_STEM}-{re.escape(VERSION)}-py3-none-[a-z0-9_.]+\.whl", wheel.name) is not None,
        "wheel named svc_cli-<Cargo version>-py3-none-<platform>", wheel.name,
    )
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        script = f"{WHEEL_STEM}-{VERSION}.data/scripts/svc"
        mode = zf.getinfo(script).external_attr >> 16 if script in names else 0
        report.record(
            script in names and bool(mode & stat.S_IXUSR),
            "wheel carries the svc binary in its scripts, executable", f"{script} mode {mode:o}",
        )
        metadata = zf.read(f"{WHEEL_STEM}-{VERSION}.dist-info/METADATA").decode()
        report.record(
            f"Name: {DIST_NAME}\n" in metadata and f"Version: {VERSION}\n" in metadata,
            "wheel metadata: name and Cargo.toml's version",
        )
    return wheel


def install_and_use(report: Report, wheel: Path, work: Path) -> None:
    venv = work / "venv"
    result = run([sys.executable, "-m", "venv", str(venv)], timeout=300)
    if not report.record(result.returncode == 0, "fresh venv", tail(result.stderr)):
        return
    result = run([str(venv / "bin/python"), "-m", "pip", "install", "-q", "--no-index", str(wheel)], timeout=300)
    if not report.record(result.returncode == 0, "pip install --no-index <wheel>", tail(result.stderr)):
        return
    svc = venv / "bin/svc"
    # Installed as a file of the venv, not a link to the build tree.
    report.record(svc.is_file() and not svc.is_symlink(), "the wheel's svc is in the venv's bin/")
    env = {**os.environ, "PATH": f"{venv / 'bin'}:{BARE_PATH}", "NO_COLOR": "1"}
    result = run(["svc", "--version"], env=env, timeout=60)
    report.record(
        result.returncode == 0 and result.stdout.strip() == f"svc {VERSION}",
        "installed svc --version", result.stdout.strip() or tail(result.stderr),
    )
    demo = work / "out" / "demo"
    result = run(["svc", "new", "demo", "-o", str(demo), "--yes"], env=env, timeout=120)
    report.record(
        result.returncode == 0 and (demo / "pyproject.toml").is_file(),
        "installed svc new demo -o DIR", tail(result.stderr),
    )
    result = run(["svc", "audit", str(demo)], env=env, timeout=120)
    report.record(result.returncode == 0, "installed svc audit DIR: exit 0", tail(result.stdout + result.stderr))


def check_sdist(report: Report, maturin_venv: Path, out: Path) -> None:
    result = run([str(maturin_venv / "bin/maturin"), "sdist", "-o", str(out)], timeout=300)
    sdists = sorted(out.glob("*.tar.gz"))
    if not report.record(result.returncode == 0 and len(sdists) == 1, "maturin sdist", tail(result.stderr)):
        return
    with tarfile.open(sdists[0]) as tf:
        prefix = f"{WHEEL_STEM}-{VERSION}/"
        held = {m.name.removeprefix(prefix) for m in tf.getmembers() if m.isfile()}
    tracked = git(REPO, "ls-files", "--", "templates", "src").splitlines()
    needed = ["Cargo.toml", "Cargo.lock", "build.rs", "pyproject.toml", "README.md", *tracked]
    missing = [path for path in needed if path not in held]
    report.record(not missing, f"sdist holds build.rs, Cargo.lock, templates/ and src/ ({len(needed)} files)",
                  f"missing: {missing[:10]}" if missing else "")


def setuptools_wheel(report: Report, maturin_venv: Path) -> bool:
    """The mirror's build backend, for pip's isolated build with no index."""
    if not list(WHEELHOUSE_DEPS.glob("setuptools-*.whl")):
        result = run(
            [str(maturin_venv / "bin/python"), "-m", "pip", "download", "-q", "--only-binary", ":all:",
             "--no-deps", "-d", str(WHEELHOUSE_DEPS), "setuptools>=70.1"],
            timeout=300,
        )
        if result.returncode != 0:
            return report.record(False, "setuptools wheel for the mirror's build", tail(result.stderr))
    return True


def pre_commit_mirror(report: Report, wheel: Path, work: Path, pre_commit: Path) -> None:
    wheelhouse = work / "wheelhouse"
    wheelhouse.mkdir()
    shutil.copy2(wheel, wheelhouse)
    for dep in WHEELHOUSE_DEPS.glob("setuptools-*.whl"):
        shutil.copy2(dep, wheelhouse)

    # The mirror repository as publish.sh makes it: the hook files, committed and tagged.
    mirror = work / "svc-pre-commit"
    mirror.mkdir()
    git(mirror, "init", "-q", "-b", "main")
    publish = [str(REPO / "pre-commit-mirror" / "publish.sh"), str(mirror)]
    result = run(publish, env=git_env(mirror), timeout=60)
    rev = f"v{VERSION}"
    tracked = git(mirror, "ls-files").splitlines() if result.returncode == 0 else []
    if not report.record(
        result.returncode == 0 and git(mirror, "tag", "--list") == rev
        and sorted(tracked) == [".pre-commit-hooks.yaml", "README.md", "pyproject.toml"],
        f"publish.sh: mirror committed and tagged {rev}", tail(result.stdout + result.stderr),
    ):
        return
    result = run(publish, env=git_env(mirror), timeout=60)
    report.record(
        result.returncode == 1 and f"already has the tag {rev}" in result.stderr,
        "publish.sh again: refused, the tag exists", tail(result.stderr),
    )

    service = work / "service"
    env_svc = {**os.environ, "PATH": f"{work / 'venv' / 'bin'}:{BARE_PATH}", "NO_COLOR": "1"}
    result = run(["svc", "new", "orders", "-o", str(service), "--yes"], env=env_svc, timeout=120)
    if not report.record(result.returncode == 0, "svc new orders (the service repository)", tail(result.stderr)):
        return
    (service / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {mirror}\n    rev: {rev}\n    hooks:\n      - id: svc-audit\n"
    )
    git(service, "init", "-q", "-b", "main")
    git(service, "add", ".")
    git(service, "commit", "-q", "-m", "generated")

    cache = work / "pre-commit-home"
    env = {
        "PATH": BARE_PATH,
        "HOME": str(service),
        "LANG": "C.UTF-8",
        "PRE_COMMIT_HOME": str(cache),
        "NO_COLOR": "1",
        "GIT_CONFIG_NOSYSTEM": "1",
        # Everything pip installs comes from the wheelhouse: the svc wheel, not a build.
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(wheelhouse),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "VIRTUALENV_NO_PERIODIC_UPDATE": "1",
    }

    def pre_commit_run() -> subprocess.CompletedProcess[str]:
        return run([str(pre_commit), "run", "--all-files"], cwd=service, env=env, timeout=600)

    t0 = time.monotonic()
    result = pre_commit_run()
    output = result.stdout + result.stderr
    first = time.monotonic() - t0
    report.record(
        result.returncode == 0 and re.search(r"svc audit\.+Passed", output) is not None,
        "pre-commit run --all-files, clean generated service: Passed", f"{first:.0f}s; " + tail(output, 10),
    )
    report.figures.append(f"pre-commit hook first run (venv + wheel install + audit): {first:.0f}s")
    installed = sorted(cache.glob("repo*/py_env-*/bin/svc"))
    report.record(
        len(installed) == 1 and installed[0].is_file() and not installed[0].is_symlink(),
        "the hook ran the wheel's svc, installed in its virtualenv", ", ".join(p.name for p in installed),
    )

    main = service / "app" / "main.py"
    # A print that runs (the helper is called at import): LG001 leaves alone a function nothing calls.
    main.write_text(main.read_text() + '\n\ndef debug_dump() -> None:\n    print("state")\n\n\ndebug_dump()\n')
    result = pre_commit_run()
    output = result.stdout + result.stderr
    report.record(
        result.returncode == 1 and re.search(r"svc audit\.+Failed", output) is not None
        and "LG001 print-call" in output and "app/main.py" in output,
        "pre-commit run --all-files, a print() added: Failed with LG001 in app/main.py", tail(output, 12),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    started = time.monotonic()
    report = Report()
    maturin_venv = Path(os.environ.get("MATURIN_VENV", REPO / "target" / "maturin-venv"))
    pre_commit = Path(os.environ.get("SVC_PRE_COMMIT", REPO / "target" / "pre-commit-venv" / "bin" / "pre-commit"))
    work = Path(tempfile.mkdtemp(prefix="svc-e2e-wheel-"))
    try:
        if not report.record((maturin_venv / "bin/maturin").is_file(), "maturin installed", str(maturin_venv)):
            raise SystemExit
        wheel = build_wheel(report, maturin_venv, work / "dist")
        check_sdist(report, maturin_venv, work / "sdist")
        if wheel is not None:
            install_and_use(report, wheel, work)
            if report.record(pre_commit.is_file(), "pre-commit installed", str(pre_commit)) and setuptools_wheel(
                report, maturin_venv
            ):
                pre_commit_mirror(report, wheel, work, pre_commit)
    except SystemExit:
        pass
    except Exception as exc:  # noqa: BLE001 - a bug here is one failure, not a crash
        report.record(False, "check script", "".join(traceback.format_exception(exc)))
    finally:
        if args.keep:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return report.summary(started)


if __name__ == "__main__":
    sys.exit(main())
