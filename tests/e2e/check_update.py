#!/usr/bin/env python3
"""End-to-end check of `svc update`: a container service generated at the previous template
version, edited as a team would, updated to the current version, then installed and tested.

The edits: a new router (authenticated and rate limited like the template's own, with its
test), a changed setting default, an added dependency, and a flag on the Dockerfile's CMD. The
template changed that CMD line too, so `svc update` must report the Dockerfile as a conflict
(exit 1, listed); the check resolves it as the team would (the template's CMD, the flag added
back), then regenerates the lock files, which must now carry the added dependency (README
"Locked dependencies"; the service's tests/test_lock.py checks it). After `svc update` the merged
service must install in a fresh virtualenv, pass its own pytest (against the real Redis at
REDIS_URL) and ruff, and `svc audit` and `svc check` must stay clean; every edit must survive.

Usage:  REDIS_URL=redis://127.0.0.1:6379/0 tests/e2e/check_update.py [--keep]

Prints PASS/FAIL per step and ends with `N passed, M failed`; exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pythons  # noqa: E402
from check_container import Report, run, tail  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
TEMPLATE_DIR = REPO / "templates" / "container"

ROUTER = '''"""Reports: a router a team added after generating the service."""

from typing import Annotated

from fastapi import APIRouter, Depends

from app.ratelimit import rate_limit

router = APIRouter(prefix="/v1/reports", tags=["reports"], dependencies=[Depends(rate_limit)])


@router.get("/summary")
async def summary(days: Annotated[int, Depends(lambda: 7)]) -> dict[str, int]:
    return {"days": days}
'''

ROUTER_TEST = '''from fastapi.testclient import TestClient

from tests.helpers import bearer


def test_summary_needs_a_token_and_answers_with_one(client: TestClient) -> None:
    assert client.get("/v1/reports/summary").status_code == 401
    response = client.get("/v1/reports/summary", headers=bearer())
    assert response.status_code == 200
    assert response.json() == {"days": 7}
'''


FORWARDED = '"--forwarded-allow-ips", "10.0.0.0/8"'


def resolve_cmd_conflict(text: str) -> str | None:
    """The Dockerfile with its one conflict resolved: the template's side, whose CMD gets the
    team's --forwarded-allow-ips back. None if the conflict is not the one expected."""
    head, sep, rest = text.partition("<<<<<<<")
    if not sep:
        return None
    conflict, sep, tail_ = rest.partition(">>>>>>>")
    if not sep:
        return None
    theirs = conflict.split("=======", 1)[-1].split("\n", 1)[-1]
    if "CMD [" not in theirs:
        return None
    theirs = theirs.replace('"--proxy-headers",', f'"--proxy-headers", {FORWARDED},', 1)
    return head + theirs + tail_.split("\n", 1)[-1]


def git_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        GIT_CONFIG_GLOBAL=str(home / "gitconfig"),
        GIT_CONFIG_NOSYSTEM="1",
        HOME=str(home),
        GIT_AUTHOR_NAME="e2e",
        GIT_AUTHOR_EMAIL="e2e@svc.invalid",
        GIT_COMMITTER_NAME="e2e",
        GIT_COMMITTER_EMAIL="e2e@svc.invalid",
    )
    return env


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    report = Report()
    svc = os.environ.get("SVC_BIN", str(REPO / "target" / "debug" / "svc"))
    python = pythons.for_template(TEMPLATE_DIR)
    if python is None:
        print(pythons.missing(TEMPLATE_DIR))
        return 1
    manifest = tomllib.loads((TEMPLATE_DIR / "template.toml").read_text())
    current = manifest["template"]["version"]
    previous = str(int(current) - 1)
    work = Path(tempfile.mkdtemp(prefix="svc-e2e-update-"))
    home = work / "home"
    home.mkdir()
    env = git_env(home)
    steps(report, svc, python, work, env, previous, current)
    return finish(report, work, args.keep)


def steps(report: Report, svc: str, python: pythons.Python, work: Path, env: dict[str, str],
          previous: str, current: str) -> None:
    service = work / "orders-api"
    new = run(
        [svc, "new", "orders-api", "--variant", "container", "--template-version", previous,
         "--yes", *python.set_option(), "-o", str(service)],
        env=env, timeout=60,
    )
    if not report.record(new.returncode == 0, f"svc new at version {previous}", tail(new.stderr)):
        return
    for git_args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "generated"]):
        run(["git", *git_args], cwd=service, env=env, timeout=60)

    # The team's edits.
    (service / "app" / "routers" / "reports.py").write_text(ROUTER)
    (service / "tests" / "test_reports.py").write_text(ROUTER_TEST)
    main_py = service / "app" / "main.py"
    text = main_py.read_text()
    text = text.replace("from app.routers import items", "from app.routers import items, reports")
    text = text.replace(
        "    app.include_router(items.router)\n",
        "    app.include_router(items.router)\n    app.include_router(reports.router)\n",
    )
    main_py.write_text(text)
    settings = service / "app" / "settings.py"
    settings.write_text(
        settings.read_text().replace(
            "cache_ttl_seconds: int = Field(default=30, ge=1)",
            "cache_ttl_seconds: int = Field(default=45, ge=1)",
        )
    )
    pyproject = service / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace("dependencies = [\n", 'dependencies = [\n    "python-dateutil>=2.8",\n', 1)
    )
    # Behind the team's load balancer, forwarded headers are trusted from its network only.
    # The template changed the same CMD line (its new server limits): a true overlap.
    dockerfile = service / "Dockerfile"
    dockerfile.write_text(
        dockerfile.read_text().replace(
            '"--proxy-headers",', f'"--proxy-headers", {FORWARDED},', 1
        )
    )
    edits_made = (
        "reports" in main_py.read_text()
        and "default=45" in settings.read_text()
        and FORWARDED in dockerfile.read_text()
    )
    report.record(edits_made, "the edits apply to the generated files")
    run(["git", "add", "-A"], cwd=service, env=env, timeout=60)
    run(["git", "commit", "-q", "-m", "our edits"], cwd=service, env=env, timeout=60)

    update = run([svc, "update", str(service), "--yes"], env=env, timeout=120)
    # Exit 1, the Dockerfile listed as the one conflict, its markers in place; every other
    # file merged (app/main.py and app/settings.py carry edits too).
    listed = update.stderr.partition("resolve it and commit:")[2]
    conflicted = [line.split(":")[0].strip() for line in listed.splitlines() if line.strip()]
    report.record(
        update.returncode == 1
        and conflicted == ["Dockerfile"]
        and "<<<<<<<" in dockerfile.read_text(),
        f"svc update {previous} -> {current}: the Dockerfile's CMD is reported as the one conflict",
        f"exit {update.returncode}, listed {conflicted}\n{tail(update.stderr + update.stdout)}",
    )
    # The locks come from the template, and the team added a dependency: svc says so.
    report.record(
        "regenerate the lock" in update.stderr and "requirements.txt" in update.stderr,
        "svc update says the template's lock lacks the team's own dependencies",
        tail(update.stderr),
    )
    # Resolved as the team would: the template's new CMD, with their flag added back.
    resolved = resolve_cmd_conflict(dockerfile.read_text())
    if resolved is not None:
        dockerfile.write_text(resolved)
    markers = [
        str(path.relative_to(service))
        for path in service.rglob("*")
        if path.is_file()
        and ".git" not in path.parts
        and "<<<<<<<" in path.read_text(errors="replace")
    ]
    report.record(
        resolved is not None and not markers and FORWARDED in dockerfile.read_text()
        and '"--limit-concurrency"' in dockerfile.read_text(),
        "the conflict resolves to the template's CMD plus the team's flag",
        f"markers left in {markers}",
    )
    recorded = tomllib.loads(pyproject.read_text())["tool"]["svc"]["template"]
    report.record(recorded["version"] == current, "the record names the new version", str(recorded))
    kept = [
        (service / "app" / "routers" / "reports.py").exists(),
        "app.include_router(reports.router)" in main_py.read_text(),
        "default=45" in settings.read_text(),
        "python-dateutil>=2.8" in pyproject.read_text(),
    ]
    report.record(all(kept), "every edit survived the update", str(kept))

    # The update created the lock files from the template: they lack the team's dependency,
    # and the image installs nothing else. The team regenerates them with the README's commands.
    locked = "python-dateutil" in (service / "requirements.txt").read_text()
    report.record(not locked, "the created lock lacks the team's dependency (to regenerate)")
    venv = work / "venv"
    created = run([python.path, "-m", "venv", str(venv)], timeout=120)
    uv = run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "uv"], timeout=600)
    commands = [line.split() for line in (service / "README.md").read_text().splitlines()
                if line.startswith("uv pip compile ")]
    compiled = [run([str(venv / "bin" / "uv"), *c[1:]], cwd=service, timeout=600) for c in commands]
    report.record(
        created.returncode == 0 and uv.returncode == 0 and len(commands) == 2
        and all(c.returncode == 0 for c in compiled)
        and all("python-dateutil==" in (service / f).read_text()
                for f in ("requirements.txt", "requirements-dev.txt")),
        "the README's lock commands regenerate both locks, with the team's dependency",
        tail("".join(c.stderr for c in compiled) + uv.stderr),
    )
    # As CI and the image do: the hashed lock, then the service without resolving anything.
    python_bin = str(venv / "bin" / "python")
    pip_steps = [
        [python_bin, "-m", "pip", "install", "-q", "--require-hashes",
         "-r", "requirements-dev.txt"],  # fmt: skip
        [python_bin, "-m", "pip", "install", "-q", "--no-deps", "-e", "."],
    ]
    installed = created.returncode == 0 and all(
        run(step, cwd=service, timeout=900).returncode == 0 for step in pip_steps
    )
    if not report.record(installed, "the updated service installs from its lock in a fresh venv"):
        return
    test_env = dict(os.environ)
    test_env["PATH"] = f"{venv / 'bin'}:{test_env['PATH']}"
    tests = run([str(venv / "bin" / "pytest"), "-q", "-p", "no:cacheprovider"],
                cwd=service, env=test_env, timeout=900)
    report.record(tests.returncode == 0, "its own tests pass, the new router's included", tail(tests.stdout))
    ruff = run([str(venv / "bin" / "ruff"), "check", "."], cwd=service, env=test_env, timeout=120)
    report.record(ruff.returncode == 0, "ruff check", tail(ruff.stdout))
    audit = run([svc, "audit", str(service)], env=env, timeout=120)
    report.record(audit.returncode == 0, "svc audit stays clean", tail(audit.stdout))
    check = run([svc, "check", str(service)], env=env, timeout=120)
    report.record(check.returncode == 0, "svc check: on the golden path", tail(check.stdout))


def finish(report: Report, work: Path, keep: bool) -> int:
    if keep:
        print(f"kept {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{report.passed} passed, {report.failed} failed")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
