#!/usr/bin/env bash
# Publish the pre-commit mirror: copy this directory's hook files into a checkout of the
# mirror repository, commit, and tag v<version> (Cargo.toml's version). Pushing is left to
# you, and should follow the upload of the svc-cli wheel of that version to PyPI: a tag whose
# wheel pip cannot find fails in every user's first commit.
#
#   pre-commit-mirror/publish.sh ../svc-pre-commit
#   git -C ../svc-pre-commit push origin main v0.1.0
set -euo pipefail
if [ $# -ne 1 ]; then
  echo "usage: $0 MIRROR_CHECKOUT (a git work tree of the svc-pre-commit repository)" >&2
  exit 2
fi
here="$(cd "$(dirname "$0")" && pwd)"
mirror="$1"
if [ "$(git -C "$mirror" rev-parse --show-toplevel 2>/dev/null)" != "$(cd "$mirror" && pwd -P)" ]; then
  echo "publish.sh: $mirror is not the top of a git work tree" >&2
  exit 2
fi
version="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$here/../Cargo.toml" | head -n 1)"
# The pin is committed here, not rewritten on the way out, so that the tree the tests checked
# (tests/it/ci.rs compares it with Cargo.toml) is the tree that is published.
if ! grep -qx "dependencies = \[\"svc-cli==$version\"\]" "$here/pyproject.toml"; then
  echo "publish.sh: pyproject.toml does not pin svc-cli==$version (Cargo.toml's version)" >&2
  exit 1
fi
if git -C "$mirror" rev-parse -q --verify "refs/tags/v$version" >/dev/null; then
  echo "publish.sh: the mirror already has the tag v$version" >&2
  exit 1
fi
cp "$here/.pre-commit-hooks.yaml" "$here/pyproject.toml" "$here/README.md" "$mirror/"
git -C "$mirror" add .pre-commit-hooks.yaml pyproject.toml README.md
git -C "$mirror" commit -q -m "svc-cli $version"
git -C "$mirror" tag "v$version"
echo "tagged v$version in $mirror; push it once svc-cli $version is on PyPI:"
echo "  git -C $mirror push origin HEAD v$version"
