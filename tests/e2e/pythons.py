"""The Python interpreter an end-to-end check generates and runs a service with, found one way.

Every check (container, lambda, worker) asks `for_template` for the interpreter of its
template's `python_version` default: `python3.X` on PATH, else a pyenv build of 3.X (under
`$PYENV_ROOT` or `pyenv root`, else ~/.pyenv). When the default is not installed (a fresh
Debian 12 has only python3.11), it falls back to the newest installed Python >= 3.11 among the
template's choices, prints one line saying so, and the check generates the service with that
version (`--set python_version=3.X`), so the service, its venv and `sam build` agree.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

MINIMUM = (3, 11)  # README "Quick start": Python 3.11+


@dataclass(frozen=True)
class Python:
    version: str  # "3.12"
    path: str  # an interpreter that really is that version
    fell_back: bool  # not the template's default

    @property
    def bin_dir(self) -> str:
        """The interpreter's directory: first on PATH for tools that look `python3.X` up."""
        return str(Path(self.path).parent)

    def set_option(self) -> list[str]:
        """The `svc new` arguments that generate the service for this interpreter."""
        return ["--set", f"python_version={self.version}"]


def _pyenv_versions() -> Path | None:
    root = os.environ.get("PYENV_ROOT")
    if not root and shutil.which("pyenv"):
        try:
            asked = subprocess.run(
                ["pyenv", "root"], capture_output=True, text=True, timeout=30, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            asked = None
        if asked is not None and asked.returncode == 0:
            root = asked.stdout.strip()
    versions = Path(root or Path.home() / ".pyenv") / "versions"
    return versions if versions.is_dir() else None


def _probe(candidate: str) -> tuple[str, str] | None:
    """The candidate's version and real executable (a pyenv shim is a script), if it runs."""
    try:
        probe = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2], sys.executable)"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    version, _, executable = probe.stdout.strip().partition(" ")
    return (version, executable) if probe.returncode == 0 and executable else None


def find_python(version: str) -> str | None:
    """An interpreter that really is Python {version}, on PATH, else the newest pyenv build.

    The interpreter's own path, not a shim's: it runs with any PATH (a clean environment).
    """
    versions = _pyenv_versions()
    builds = sorted(
        versions.glob(f"{version}.*/bin/python{version}") if versions else [],
        key=lambda p: [int(x) for x in re.findall(r"\d+", p.parts[-3])],
        reverse=True,
    )
    # A pyenv shim on PATH may exist and still refuse to run: ask each candidate.
    for candidate in [shutil.which(f"python{version}"), *map(str, builds)]:
        found = _probe(candidate) if candidate is not None else None
        if found is not None and found[0] == version:
            return found[1]
    return None


def python_variable(template_dir: Path) -> tuple[str, list[str]]:
    """The template's `python_version` default and choices."""
    manifest = tomllib.loads((template_dir / "template.toml").read_text())
    variable = next(v for v in manifest["variables"] if v["name"] == "python_version")
    return variable["default"], list(variable["choices"])


def for_template(template_dir: Path) -> Python | None:
    """The default's interpreter, else the newest installed choice >= 3.11 (saying so), else None."""
    default, choices = python_variable(template_dir)
    path = find_python(default)
    if path is not None:
        return Python(default, path, fell_back=False)
    usable = [v for v in choices if tuple(map(int, v.split("."))) >= MINIMUM]
    for version in sorted(usable, key=lambda v: tuple(map(int, v.split("."))), reverse=True):
        path = find_python(version)
        if path is not None:
            print(
                f"python: python{default} (the {template_dir.name} template's default) is not "
                f"installed; falling back to python{version} at {path}, and generating the "
                f"service with --set python_version={version}",
                flush=True,
            )
            return Python(version, path, fell_back=True)
    return None


def missing(template_dir: Path) -> str:
    """What to say when `for_template` found nothing."""
    default, choices = python_variable(template_dir)
    return (
        f"python{default} or another of {choices} (>= 3.11) on PATH or in pyenv "
        f"(apt-get install python3 python3-venv gives Debian 12's python3.11)"
    )
