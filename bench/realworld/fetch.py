#!/usr/bin/env python3
"""Fetch the real-world corpus: every downloaded entry of manifest.toml into the cache.

    python3 bench/realworld/fetch.py [--cache DIR] [--from-dir DIR] [--jobs N] [ENTRY ...]

Each file is fetched with `pip download --no-deps` (sdist or wheel, as the manifest says),
its sha256 checked against the manifest (a mismatch is refused: nothing is unpacked, exit 1),
and unpacked once into DIR/unpacked/<name>-<version>/. An entry already unpacked with the
manifest's sha256 is not touched, so a second run needs no network. `--from-dir` takes files
from a directory first (a local mirror of earlier downloads), checked the same way.

The three `svc new` entries are not fetched: score.py writes them with the binary under test.
Exit status: 0 when every entry is in the cache, 1 otherwise (each failure is printed).
"""

from __future__ import annotations

import argparse
import shutil
import threading
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("entries", nargs="*", help="only these entries (default: all)")
    ap.add_argument("--cache", help=f"cache directory (default: $SVC_REALWORLD_CACHE or "
                    f"{corpus.DEFAULT_CACHE.relative_to(corpus.ROOT)})")
    ap.add_argument("--from-dir", help="take archives from this directory when they are there")
    ap.add_argument("--jobs", type=int, default=3, help="parallel downloads (default 3)")
    args = ap.parse_args()

    try:
        entries = corpus.select(corpus.load_manifest(), args.entries or None)
    except corpus.CorpusError as e:
        print(f"fetch: {e}", file=sys.stderr)
        return 1
    cache = corpus.cache_dir(args.cache)
    todo = [e for e in entries if not e.is_generated]
    missing = [e for e in todo if not corpus.is_unpacked(e, cache)]
    print(f"realworld corpus: {len(todo)} entries in {cache}, {len(todo) - len(missing)} cached")

    if args.from_dir:
        for e in missing:
            src = Path(args.from_dir) / e.file
            dst = cache / "downloads" / e.file
            if src.is_file() and not dst.exists():
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dst)

    lock = threading.Lock()

    def say(message: str) -> None:
        with lock:
            print(message, flush=True)

    def one(e: corpus.Entry) -> str | None:
        start = time.monotonic()
        try:
            corpus.fetch(e, cache, log=say)
        except corpus.CorpusError as err:
            return str(err)
        say(f"  {e.name}: ready ({time.monotonic() - start:.1f} s)")
        return None

    failures = []
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for e, err in zip(missing, pool.map(one, missing)):
            if err:
                failures.append(err)
    for err in failures:
        print(f"fetch: {err}", file=sys.stderr)
    if failures:
        print(f"fetch: {len(failures)} of {len(todo)} entries are not in the cache "
              "(no network? PyPI must be reachable for the first fetch)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
