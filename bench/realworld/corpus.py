"""The real-world corpus: the manifest, the cache layout, fetching and generating entries.

Shared by fetch.py and score.py. Python 3.11 standard library only.

Cache layout (default target/realworld-cache, or --cache / SVC_REALWORLD_CACHE):
    downloads/<file>              the file pip downloaded, sha256 checked
    unpacked/<name>-<version>/    the unpacked archive root (an sdist's top folder stripped)
                                  with a marker file .svc-corpus holding the sha256
    generated/<name>/             an `svc new` variant, written afresh by the binary under test
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
MANIFEST = HERE / "manifest.toml"
LABELS = HERE / "labels"
DEFAULT_CACHE = ROOT / "target" / "realworld-cache"
MARKER = ".svc-corpus"


@dataclass
class Entry:
    name: str
    service_roots: list[str]
    note: str
    package: str | None = None
    version: str | None = None
    dist: str | None = None
    file: str | None = None
    sha256: str | None = None
    generated: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def is_generated(self) -> bool:
        return self.generated is not None


class CorpusError(Exception):
    """A fetch or check that must stop the run, with a message for the user."""


def load_manifest(path: Path = MANIFEST) -> list[Entry]:
    with open(path, "rb") as f:
        data = tomllib.load(f)
    entries = []
    seen = set()
    for raw in data.get("entry", []):
        raw = dict(raw)
        name = raw.pop("name")
        if name in seen:
            raise CorpusError(f"manifest: entry {name!r} twice")
        seen.add(name)
        roots = raw.pop("service_roots")
        note = raw.pop("note", "")
        known = {k: raw.pop(k) for k in list(raw) if k in Entry.__dataclass_fields__}
        entry = Entry(name=name, service_roots=list(roots), note=note, **known, extra=raw)
        if entry.is_generated:
            if entry.generated not in ("container", "lambda", "worker"):
                raise CorpusError(f"manifest: {name}: unknown variant {entry.generated!r}")
        else:
            for k in ("package", "version", "dist", "file", "sha256"):
                if not getattr(entry, k):
                    raise CorpusError(f"manifest: {name}: `{k}` is missing")
            if entry.dist not in ("sdist", "wheel"):
                raise CorpusError(f"manifest: {name}: dist must be sdist or wheel")
        entries.append(entry)
    return entries


def cache_dir(given: str | None) -> Path:
    if given:
        return Path(given).resolve()
    env = os.environ.get("SVC_REALWORLD_CACHE")
    return Path(env).resolve() if env else DEFAULT_CACHE


def svc_bin(given: str | None) -> str:
    """The svc binary under test: --svc, else SVC_BIN, else target/debug/svc (never built here)."""
    path = given or os.environ.get("SVC_BIN") or str(ROOT / "target" / "debug" / "svc")
    if not Path(path).is_file():
        raise CorpusError(f"svc binary not found at {path} (build it with `cargo build`)")
    return path


def archive_root(entry: Entry, cache: Path) -> Path:
    if entry.is_generated:
        return cache / "generated" / entry.name
    return cache / "unpacked" / f"{entry.name}-{entry.version}"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def is_unpacked(entry: Entry, cache: Path) -> bool:
    marker = archive_root(entry, cache) / MARKER
    return marker.is_file() and marker.read_text().strip() == entry.sha256


def download(entry: Entry, cache: Path, log=print) -> Path:
    """The entry's file in downloads/, fetched with pip when missing; sha256 checked either way."""
    downloads = cache / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    target = downloads / entry.file
    if not target.is_file():
        binary = "--no-binary" if entry.dist == "sdist" else "--only-binary"
        with tempfile.TemporaryDirectory(dir=downloads, prefix=".pip-") as tmp:
            cmd = [
                sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                binary, ":all:", f"{entry.package}=={entry.version}", "--dest", tmp,
            ]
            log(f"  {entry.name}: pip download {entry.package}=={entry.version} ({entry.dist})")
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-8:])
                raise CorpusError(f"{entry.name}: pip download failed:\n{tail}")
            got = Path(tmp) / entry.file
            if not got.is_file():
                names = ", ".join(p.name for p in Path(tmp).iterdir()) or "nothing"
                raise CorpusError(f"{entry.name}: pip wrote {names}, not {entry.file}")
            check_sha(entry, got)
            os.replace(got, target)
    else:
        check_sha(entry, target)
    return target


def check_sha(entry: Entry, path: Path) -> None:
    actual = sha256_of(path)
    if actual != entry.sha256:
        raise CorpusError(
            f"{entry.name}: sha256 mismatch for {path.name}: manifest {entry.sha256}, "
            f"file {actual}; refusing to use it (delete {path} to download again)"
        )


def unpack(entry: Entry, archive: Path, cache: Path) -> Path:
    """Unpack once into unpacked/<name>-<version>/, through a temporary directory renamed in."""
    dest = archive_root(entry, cache)
    if is_unpacked(entry, cache):
        return dest
    parent = dest.parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=parent, prefix=f".{dest.name}-"))
    try:
        if archive.name.endswith((".whl", ".zip")):
            with zipfile.ZipFile(archive) as z:
                z.extractall(tmp)
            top = tmp
        elif archive.name.endswith((".tar.gz", ".tgz", ".tar")):
            with tarfile.open(archive) as t:
                t.extractall(tmp, filter="data")
            children = list(tmp.iterdir())
            # An sdist holds one folder NAME-VERSION/: the archive root is inside it.
            top = children[0] if len(children) == 1 and children[0].is_dir() else tmp
        else:
            raise CorpusError(f"{entry.name}: cannot unpack {archive.name}")
        (top / MARKER).write_text(entry.sha256 + "\n")
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(top, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def fetch(entry: Entry, cache: Path, log=print) -> Path:
    """The entry's unpacked archive root; no network when it is already there."""
    if is_unpacked(entry, cache):
        return archive_root(entry, cache)
    archive = download(entry, cache, log)
    return unpack(entry, archive, cache)


def generate(entry: Entry, cache: Path, svc: str) -> Path:
    """Write the `svc new` variant afresh with the binary under test."""
    dest = archive_root(entry, cache)
    dest.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        svc, "new", f"corpus-{entry.generated}", "--variant", entry.generated, "--yes",
        "--force", "--output", str(dest),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise CorpusError(f"{entry.name}: `{' '.join(cmd)}` failed:\n{proc.stderr.strip()}")
    return dest


def select(entries: list[Entry], names: list[str] | None) -> list[Entry]:
    if not names:
        return entries
    known = {e.name: e for e in entries}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise CorpusError(f"unknown entries: {', '.join(unknown)}")
    return [known[n] for n in names]
