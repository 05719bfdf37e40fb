#!/usr/bin/env python3
"""Freeze a released template version as data, so `svc update` can re-render it offline.

    python3 scripts/freeze_template.py            # every variant, at HEAD
    python3 scripts/freeze_template.py --rev v0.2.0 container

`svc update` merges three renders: the version a project was generated from (the base), the
current one and the project itself. The base must come out byte for byte as it did at
`svc new`, from the binary alone, so each released version of each variant is kept as one
JSON file under `templates/_releases/<variant>/<version>.json`: the manifest and every template
file (with `_common/` merged in, the variant's own files winning), read from git at `--rev`.
Stored rather than reconstructed from git history because an installed binary has no
checkout; a file per version keeps the diff of a release reviewable, and the embedded
releases cost about 100 KB each.

Run it before changing a variant's `version` in its template.toml (at the commit that still
has the old version): the test `every_older_template_version_is_frozen` fails until the
previous version is frozen.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIPPED_NAMES = {".git", ".hg", "__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache", ".DS_Store"}
FORMAT = 1


def git(*args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True).stdout


def tree(rev: str, directory: str) -> dict[str, tuple[bool, str]]:
    """path (relative to directory) -> (executable, text), skipping what svc never embeds."""
    files = {}
    listing = git("ls-tree", "-r", "-z", rev, "--", f"{directory}/").split(b"\0")
    for entry in filter(None, listing):
        meta, path = entry.decode().split("\t", 1)
        mode, kind, blob = meta.split()
        if kind != "blob":
            continue
        relative = path[len(directory) + 1 :]
        parts = relative.split("/")
        if any(p in SKIPPED_NAMES or p.endswith(".pyc") for p in parts):
            continue
        if mode == "120000":
            sys.exit(f"freeze_template.py: {path} is a symbolic link; templates hold regular files only")
        files[relative] = (mode == "100755", git("cat-file", "blob", blob).decode("utf-8"))
    return files


def freeze(rev: str, variant: str) -> Path:
    own = tree(rev, f"templates/{variant}")
    if "template.toml" not in own:
        sys.exit(f"freeze_template.py: templates/{variant} has no template.toml at {rev}")
    manifest = own.pop("template.toml")[1]
    version = None
    in_template = False
    for line in manifest.splitlines():
        stripped = line.strip()
        if stripped.startswith("["):
            in_template = stripped == "[template]"
        elif in_template and stripped.startswith("version") and "=" in stripped:
            version = stripped.split("=", 1)[1].strip().strip('"')
    if not version:
        sys.exit(f"freeze_template.py: no [template] version in templates/{variant}/template.toml")
    files = dict(own)
    if any(l.strip().replace(" ", "") == "common=true" for l in manifest.splitlines()):
        for path, entry in tree(rev, "templates/_common").items():
            if path != "template.toml":
                files.setdefault(path, entry)
    out = ROOT / "templates" / "_releases" / variant / f"{version}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "format": FORMAT,
        "template": variant,
        "version": version,
        "frozen_from": git("rev-parse", rev).decode().strip(),
        "manifest": manifest,
        "files": [
            {"path": path, "executable": executable, "text": text}
            for path, (executable, text) in sorted(files.items())
        ],
    }
    out.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="*", default=["container", "lambda", "worker"])
    parser.add_argument("--rev", default="HEAD", help="the git revision that has the released version")
    args = parser.parse_args()
    for variant in args.variants:
        print(f"wrote {freeze(args.rev, variant).relative_to(ROOT)}")


if __name__ == "__main__":
    main()
