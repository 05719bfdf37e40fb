"""The lock files pin what pyproject.toml declares, every file checked by hash.

requirements.txt (the runtime: what the image or `sam build` installs) and requirements-dev.txt
(the runtime and every extra) are what the service, CI and `pip install --require-hashes`
install. They are generated, with hashes, when the service is created; after changing a
dependency in pyproject.toml, regenerate them (README "Locked dependencies"), and these tests
fail until that is done.
"""

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name

ROOT = Path(__file__).parent.parent


def _locked(name: str) -> dict[NormalizedName, tuple[Requirement, list[str]]]:
    """Each pinned requirement of a lock file, with its hashes."""
    text = (ROOT / name).read_text().replace("\\\n", " ")
    locked: dict[NormalizedName, tuple[Requirement, list[str]]] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        spec, *options = line.split(" --hash=")
        requirement = Requirement(spec)
        locked[canonicalize_name(requirement.name)] = (requirement, [o.strip() for o in options])
    return locked


def _declared(extra: str | None = None) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = project["dependencies"] if extra is None else project["optional-dependencies"][extra]
    return [Requirement(line) for line in lines]


def _check_pins(lock: str, declared: list[Requirement]) -> None:
    locked = _locked(lock)
    for requirement in declared:
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{requirement.name} is not in {lock}"
        (pin,) = locked[name][0].specifier
        assert pin.operator == "==", f"{lock}: {name} is not pinned with =="
        assert requirement.specifier.contains(pin.version, prereleases=True), (
            f"{lock}: {name}=={pin.version} is outside pyproject.toml's {requirement.specifier}"
        )


def test_the_runtime_lock_pins_every_runtime_dependency() -> None:
    _check_pins("requirements.txt", _declared())


def test_the_dev_lock_pins_the_runtime_and_every_extra() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = [r for extra in project.get("optional-dependencies", {}) for r in _declared(extra)]
    _check_pins("requirements-dev.txt", _declared() + extras)


def test_every_locked_file_has_a_sha256_hash() -> None:
    for lock in ("requirements.txt", "requirements-dev.txt"):
        for name, (requirement, hashes) in _locked(lock).items():
            assert str(requirement.specifier).startswith("=="), f"{lock}: {name} is not pinned"
            assert hashes, f"{lock}: {name} has no hash"
            assert all(h.startswith("sha256:") and len(h) == 71 for h in hashes), (lock, name)


def test_both_locks_agree_on_every_shared_version() -> None:
    dev = _locked("requirements-dev.txt")
    for name, (requirement, _) in _locked("requirements.txt").items():
        assert name in dev, f"{name} is in requirements.txt but not in requirements-dev.txt"
        assert dev[name][0].specifier == requirement.specifier, name
