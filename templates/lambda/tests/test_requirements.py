"""requirements.txt (what `sam build` packages) and pyproject.toml (what pip installs) agree."""

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).parent.parent


def _by_name(lines: list[str]) -> dict[str, Requirement]:
    requirements = [Requirement(line) for line in lines]
    return {canonicalize_name(r.name): r for r in requirements}


def _pinned() -> dict[str, Requirement]:
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return _by_name([line.strip() for line in lines if line.strip() and not line.startswith("#")])


def _declared() -> dict[str, Requirement]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return _by_name(pyproject["project"]["dependencies"])


def test_requirements_list_exactly_the_runtime_dependencies() -> None:
    assert sorted(_pinned()) == sorted(_declared())


def test_each_requirement_is_pinned_within_its_pyproject_range() -> None:
    declared = _declared()
    for name, pinned in _pinned().items():
        (spec,) = pinned.specifier  # exactly one: ==VERSION
        assert spec.operator == "==", f"{name}: pin it with =="
        assert declared[name].specifier.contains(spec.version), (
            f"{name}=={spec.version} is outside pyproject.toml's {declared[name].specifier}"
        )
        assert pinned.extras == declared[name].extras, f"{name}: extras differ"
        assert pinned.marker == declared[name].marker, f"{name}: markers differ"
