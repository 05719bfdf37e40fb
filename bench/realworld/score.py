#!/usr/bin/env python3
"""Score svc against the real-world corpus (bench/realworld/README.md).

    python3 bench/realworld/score.py [--svc BIN] [--cache DIR] [--json] [ENTRY ...]
    python3 bench/realworld/score.py --check-snapshot | --update-snapshot
    python3 bench/realworld/score.py --sample-precision [--seed N] [--size N]
    python3 bench/realworld/score.py --precision
    (either with --precision-file FILE to use another sample file than precision.toml)

Audits every service root of every entry with `svc audit ROOT --format json --isolated`
(the binary from --svc, else $SVC_BIN, else target/debug/svc; the three `svc new` entries are
generated afresh with that binary) and compares the findings with labels/<entry>.toml:

- verdict agreement: for each principle a label file calls "violated" or "satisfied", svc
  says "violated" when it reports any finding of that principle in the entry, else "satisfied";
- violations found: a labelled violation is found when svc reports a finding of its principle
  in the same file whose span is within 3 lines of the labelled line;
- trap hits: the same match against a labelled trap (code that looks wrong but is fine);
  a finding that matches a labelled violation at least as near is the violation's, not a hit;
- findings per rule, over every entry, labelled or not.

Fetch first (fetch.py); an entry missing from the cache is an error.
"""

from __future__ import annotations

import argparse
import difflib
import json
import random
import subprocess
import sys
import tomllib
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus  # noqa: E402

PRINCIPLES = [f"P{i}" for i in range(1, 13)]
VERDICTS = ("violated", "satisfied", "n/a")
NEAR = 3
SNAPSHOT = corpus.HERE / "snapshot.txt"
PRECISION = corpus.HERE / "precision.toml"
SAMPLE_SIZE = 100
SAMPLE_SEED = 14


@dataclass(frozen=True)
class Finding:
    entry: str
    code: str
    name: str
    principle: str
    severity: str
    path: str  # relative to the entry's archive root
    line: int
    end_line: int
    message: str

    def distance(self, line: int) -> int:
        """Lines between the finding's span and `line` (0 when the span covers it)."""
        if self.line <= line <= self.end_line:
            return 0
        return min(abs(line - self.line), abs(line - self.end_line))

    def near(self, path: str, line: int) -> bool:
        return path == self.path and self.distance(line) <= NEAR


# ---------------------------------------------------------------- auditing


def audit_root(svc: str, entry: corpus.Entry, base: Path, root: str) -> list[Finding]:
    target = (base / root).resolve()
    if not target.exists():
        raise corpus.CorpusError(f"{entry.name}: service root {root!r} is not in {base}")
    cmd = [svc, "audit", str(target), "--format", "json", "--isolated", "--fail-on", "never",
           "--quiet"]
    proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise corpus.CorpusError(
            f"{entry.name}: svc audit {root} exited {proc.returncode}:\n{proc.stderr.strip()}")
    report = json.loads(proc.stdout)
    prefix = Path(root)
    out = []
    for f in report["findings"]:
        p = Path(f["path"])
        rel = p.resolve().relative_to(base.resolve()) if p.is_absolute() else prefix / p
        out.append(Finding(
            entry=entry.name, code=f["code"], name=f["name"], principle=f["principle"],
            severity=f["severity"], path=Path(rel).as_posix().removeprefix("./"),
            line=int(f.get("line") or 0), end_line=int(f.get("end_line") or f.get("line") or 0),
            message=f.get("message", ""),
        ))
    return out


def audit_all(svc: str, cache: Path, entries: list[corpus.Entry], jobs: int
              ) -> dict[str, list[Finding]]:
    for e in entries:
        if e.is_generated:
            corpus.generate(e, cache, svc)
        elif not corpus.is_unpacked(e, cache):
            raise corpus.CorpusError(
                f"{e.name} is not in the cache {cache}: run bench/realworld/fetch.py first")
    tasks = [(e, r) for e in entries for r in e.service_roots]

    def run(task):
        e, r = task
        return audit_root(svc, e, corpus.archive_root(e, cache), r)

    found: dict[str, list[Finding]] = {e.name: [] for e in entries}
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for (e, _), findings in zip(tasks, pool.map(run, tasks)):
            found[e.name].extend(findings)
    for e in entries:
        # One finding per place: two roots that overlap would otherwise count it twice.
        uniq = {(f.code, f.path, f.line, f.end_line, f.message): f for f in found[e.name]}
        found[e.name] = sorted(uniq.values(), key=lambda f: (f.path, f.line, f.code, f.message))
    return found


def rule_table(svc: str) -> dict[str, dict]:
    proc = subprocess.run([svc, "rules", "--format", "json"], capture_output=True, text=True,
                          check=True)
    return {r["code"]: r for r in json.loads(proc.stdout)}


# ---------------------------------------------------------------- labels


def load_labels(name: str) -> dict | None:
    path = corpus.LABELS / f"{name}.toml"
    if not path.is_file():
        return None
    with open(path, "rb") as f:
        data = tomllib.load(f)
    problems = []
    if data.get("entry", {}).get("name") != name:
        problems.append(f"[entry] name is not {name!r}")
    verdicts = data.get("verdicts", {})
    for p in PRINCIPLES:
        v = verdicts.get(p)
        if not isinstance(v, dict) or v.get("verdict") not in VERDICTS:
            problems.append(f"verdict {p} missing or not one of {', '.join(VERDICTS)}")
    for kind in ("violation", "trap"):
        for i, item in enumerate(data.get(kind, [])):
            for k in ("path", "line", "principle", "why"):
                if k not in item:
                    problems.append(f"[[{kind}]] #{i + 1} has no `{k}`")
            if item.get("principle") not in PRINCIPLES:
                problems.append(f"[[{kind}]] #{i + 1}: principle {item.get('principle')!r}")
    if problems:
        raise corpus.CorpusError(f"{path}: " + "; ".join(problems))
    return data


def score_entry(entry: corpus.Entry, findings: list[Finding], labels: dict | None) -> dict:
    per_rule = Counter(f.code for f in findings)
    result = {
        "name": entry.name, "labelled": labels is not None, "findings": len(findings),
        "per_rule": dict(sorted(per_rule.items())),
    }
    if labels is None:
        return result
    by_principle = {f.principle for f in findings}
    verdicts = []
    for p in PRINCIPLES:
        label = labels["verdicts"][p]["verdict"]
        if label == "n/a":
            continue
        said = "violated" if p in by_principle else "satisfied"
        verdicts.append({"principle": p, "label": label, "svc": said, "agree": label == said})

    def matches(item):
        return [f for f in findings
                if f.principle == item["principle"] and f.near(item["path"], int(item["line"]))]

    # A finding near a labelled violation is evidence of that violation: it is a trap hit only
    # when it is strictly nearer the trap than every labelled violation it matches (a
    # `:latest` base image one line above a trap in the same Dockerfile is the violation's).
    def nearest_violation(f: Finding) -> int | None:
        ds = [f.distance(int(v["line"])) for v in labels.get("violation", [])
              if v["principle"] == f.principle and f.near(v["path"], int(v["line"]))]
        return min(ds) if ds else None

    def trap_hits(trap):
        line = int(trap["line"])
        return [f for f in matches(trap)
                if (d := nearest_violation(f)) is None or f.distance(line) < d]

    violations = []
    for v in labels.get("violation", []):
        m = matches(v)
        violations.append({"path": v["path"], "line": v["line"], "principle": v["principle"],
                           "found": bool(m), "by": sorted({f.code for f in m})})
    traps = []
    for t in labels.get("trap", []):
        m = trap_hits(t)
        traps.append({"path": t["path"], "line": t["line"], "principle": t["principle"],
                      "hit": bool(m), "by": sorted({f.code for f in m})})
    result.update({
        "verdicts": {"agree": sum(v["agree"] for v in verdicts), "total": len(verdicts),
                     "details": verdicts},
        "violations": {"found": sum(v["found"] for v in violations), "total": len(violations),
                       "details": violations},
        "traps": {"hit": sum(t["hit"] for t in traps), "total": len(traps), "details": traps},
    })
    return result


def pct(a: int, b: int) -> str:
    return f"{100 * a / b:.0f}%" if b else "-"


def score(args) -> int:
    svc = corpus.svc_bin(args.svc)
    cache = corpus.cache_dir(args.cache)
    entries = corpus.select(corpus.load_manifest(), args.entries or None)
    found = audit_all(svc, cache, entries, args.jobs)
    rules = rule_table(svc)
    results = [score_entry(e, found[e.name], load_labels(e.name)) for e in entries]

    labelled = [r for r in results if r["labelled"]]
    total = {
        "entries": len(results), "labelled": len(labelled),
        "findings": sum(r["findings"] for r in results),
        "verdicts": {k: sum(r["verdicts"][k] for r in labelled) for k in ("agree", "total")},
        "violations": {k: sum(r["violations"][k] for r in labelled) for k in ("found", "total")},
        "traps": {k: sum(r["traps"][k] for r in labelled) for k in ("hit", "total")},
    }
    per_rule: dict[str, dict] = {}
    for r in results:
        for code, n in r["per_rule"].items():
            row = per_rule.setdefault(code, {
                "code": code, "name": rules.get(code, {}).get("name", "?"),
                "principle": rules.get(code, {}).get("principle", "?"),
                "findings": 0, "entries": 0, "violations_found": 0, "trap_hits": 0})
            row["findings"] += n
            row["entries"] += 1
        for v in r.get("violations", {}).get("details", []):
            for code in v["by"]:
                per_rule[code]["violations_found"] += 1
        for t in r.get("traps", {}).get("details", []):
            for code in t["by"]:
                per_rule[code]["trap_hits"] += 1
    rows = sorted(per_rule.values(), key=lambda x: (-x["findings"], x["code"]))

    if args.json:
        json.dump({"svc": svc, "entries": results, "total": total, "rules": rows},
                  sys.stdout, indent=2)
        print()
        return 0

    print(f"{'entry':<18} {'verdicts':>12} {'violations':>13} {'traps':>9} {'findings':>9}")
    for r in results:
        if r["labelled"]:
            v, x, t = r["verdicts"], r["violations"], r["traps"]
            cells = (f"{v['agree']}/{v['total']} {pct(v['agree'], v['total']):>4}",
                     f"{x['found']}/{x['total']} {pct(x['found'], x['total']):>4}",
                     f"{t['hit']}/{t['total']}")
        else:
            cells = ("(no labels)", "", "")
        print(f"{r['name']:<18} {cells[0]:>12} {cells[1]:>13} {cells[2]:>9} {r['findings']:>9}")
    v, x, t = total["verdicts"], total["violations"], total["traps"]
    print(f"{'total':<18} {v['agree']:>3}/{v['total']:<3} {pct(v['agree'], v['total']):>4}"
          f" {x['found']:>4}/{x['total']:<3} {pct(x['found'], x['total']):>4}"
          f" {t['hit']:>5}/{t['total']:<3} {total['findings']:>8}")
    print(f"({total['labelled']} of {total['entries']} entries labelled)")
    if args.verbose:
        for r in labelled:
            for d in r["verdicts"]["details"]:
                if not d["agree"]:
                    print(f"  {r['name']}: {d['principle']} labelled {d['label']}, "
                          f"svc says {d['svc']}")
            for d in r["violations"]["details"]:
                if not d["found"]:
                    print(f"  {r['name']}: missed {d['principle']} {d['path']}:{d['line']}")
            for d in r["traps"]["details"]:
                if d["hit"]:
                    print(f"  {r['name']}: trap hit by {','.join(d['by'])} "
                          f"{d['path']}:{d['line']}")
    print()
    print(f"{'rule':<7} {'name':<40} {'P':<4} {'findings':>8} {'entries':>7} {'found':>5} "
          f"{'traps':>5}")
    for row in rows:
        print(f"{row['code']:<7} {row['name'][:40]:<40} {row['principle']:<4} "
              f"{row['findings']:>8} {row['entries']:>7} {row['violations_found']:>5} "
              f"{row['trap_hits']:>5}")
    return 0


# ---------------------------------------------------------------- snapshot


def snapshot_text(entries: list[corpus.Entry], found: dict[str, list[Finding]]) -> str:
    lines = ["# Finding counts per entry and rule on the real-world corpus (score.py",
             "# --update-snapshot rewrites this file; --check-snapshot compares).",
             "# entry rule count"]
    for e in entries:
        counts = Counter(f.code for f in found[e.name])
        lines.append(f"{e.name} total {sum(counts.values())}")
        lines.extend(f"{e.name} {code} {n}" for code, n in sorted(counts.items()))
    return "\n".join(lines) + "\n"


def snapshot(args) -> int:
    svc = corpus.svc_bin(args.svc)
    cache = corpus.cache_dir(args.cache)
    entries = corpus.load_manifest()
    if args.entries:
        raise corpus.CorpusError("the snapshot covers every entry: name none")
    text = snapshot_text(entries, audit_all(svc, cache, entries, args.jobs))
    if args.update_snapshot:
        SNAPSHOT.write_text(text)
        print(f"wrote {SNAPSHOT.relative_to(corpus.ROOT)}")
        return 0
    old = SNAPSHOT.read_text() if SNAPSHOT.is_file() else ""
    if old == text:
        n = sum(1 for line in text.splitlines() if " total " in line)
        print(f"realworld snapshot: {n} entries, finding counts unchanged")
        return 0
    sys.stdout.writelines(difflib.unified_diff(
        old.splitlines(keepends=True), text.splitlines(keepends=True),
        "snapshot.txt (committed)", "snapshot.txt (this svc)"))
    print("realworld snapshot: finding counts changed; if that is intended, run "
          "`python3 bench/realworld/score.py --update-snapshot` and commit snapshot.txt "
          "(and say in the commit what moved and why)", file=sys.stderr)
    return 1


# ---------------------------------------------------------------- precision


def toml_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def precision_file(args) -> Path:
    """The sample file: --precision-file, else precision.toml. A second sample (another seed, a
    newer build) goes to its own file so an earlier judged sample is not overwritten."""
    return Path(args.precision_file) if getattr(args, "precision_file", None) else PRECISION


def load_precision(path: Path = PRECISION) -> list[dict]:
    if not path.is_file():
        return []
    with open(path, "rb") as f:
        return tomllib.load(f).get("sample", [])


def sample_key(s: dict) -> tuple:
    return (s["entry"], s["rule"], s["path"], int(s["line"]), s["message"])


def sample_precision(args) -> int:
    svc = corpus.svc_bin(args.svc)
    cache = corpus.cache_dir(args.cache)
    entries = corpus.load_manifest()
    found = audit_all(svc, cache, entries, args.jobs)
    pool = sorted((f for e in entries for f in found[e.name]),
                  key=lambda f: (f.entry, f.path, f.line, f.code, f.message))
    picked = random.Random(args.seed).sample(pool, min(args.size, len(pool)))
    picked.sort(key=lambda f: (f.entry, f.path, f.line, f.code))
    path = precision_file(args)
    old = {sample_key(s): s for s in load_precision(path)}
    kept = 0
    out = [
        "# A random sample of svc's findings on the real-world corpus, judged by reading the",
        f"# code. Drawn by `score.py --sample-precision --seed {args.seed} --size {args.size}`"
        f" from {len(pool)} findings",
        "# (judgements already given for the same finding are kept on a redraw).",
        '# judgement: "true" (a real instance of what the rule describes) or "false";',
        "# why: what the code shows. `score.py --precision` reports precision per rule.",
        "",
    ]
    for f in picked:
        prev = old.get((f.entry, f.code, f.path, f.line, f.message), {})
        if prev.get("judgement"):
            kept += 1
        out += [
            "[[sample]]",
            f"entry = {toml_str(f.entry)}",
            f"rule = {toml_str(f.code)}",
            f"name = {toml_str(f.name)}",
            f"principle = {toml_str(f.principle)}",
            f"path = {toml_str(f.path)}",
            f"line = {f.line}",
            f"message = {toml_str(f.message)}",
            f"judgement = {toml_str(prev.get('judgement', ''))}",
            f"why = {toml_str(prev.get('why', ''))}",
            "",
        ]
    path.write_text("\n".join(out))
    print(f"wrote {len(picked)} findings to {path} "
          f"({kept} judgements kept)")
    return 0


def precision(args) -> int:
    path = precision_file(args)
    samples = load_precision(path)
    if not samples:
        raise corpus.CorpusError(f"no samples in {path}: run --sample-precision first")
    rows: dict[str, Counter] = defaultdict(Counter)
    for s in samples:
        j = s.get("judgement", "").strip().lower()
        if j not in ("", "true", "false"):
            raise corpus.CorpusError(f"{s['entry']} {s['rule']} {s['path']}:{s['line']}: "
                                     f"judgement {j!r} is not true/false/empty")
        rows[s["rule"]][j or "unjudged"] += 1
    tot = Counter()
    data = []
    for code in sorted(rows):
        c = rows[code]
        tot.update(c)
        judged = c["true"] + c["false"]
        data.append({"rule": code, "true": c["true"], "false": c["false"],
                     "unjudged": c["unjudged"],
                     "precision": c["true"] / judged if judged else None})
    judged = tot["true"] + tot["false"]
    summary = {"true": tot["true"], "false": tot["false"], "unjudged": tot["unjudged"],
               "precision": tot["true"] / judged if judged else None}
    if args.json:
        json.dump({"rules": data, "total": summary}, sys.stdout, indent=2)
        print()
        return 0
    print(f"{'rule':<7} {'true':>5} {'false':>5} {'unjudged':>8} {'precision':>9}")
    for d in data + [dict(summary, rule="total")]:
        p = "-" if d["precision"] is None else f"{100 * d['precision']:.0f}%"
        print(f"{d['rule']:<7} {d['true']:>5} {d['false']:>5} {d['unjudged']:>8} {p:>9}")
    return 0


def recheck_precision(args) -> int:
    """The judged sample against the build under test: which judged findings it still reports,
    and the precision of those. New findings are not in the sample: draw again to judge them."""
    samples = [s for s in load_precision(precision_file(args))
               if s.get("judgement", "").strip().lower()
               in ("true", "false")]
    entries = corpus.load_manifest()
    wanted = {s["entry"] for s in samples}
    cache = corpus.cache_dir(args.cache)
    found = audit_all(corpus.svc_bin(args.svc), cache,
                      [e for e in entries if e.name in wanted], args.jobs)
    kept = Counter()
    gone = Counter()
    for s in samples:
        still = any(f.code == s["rule"] and f.path == s["path"] and f.line == int(s["line"])
                    for f in found[s["entry"]])
        j = s["judgement"].strip().lower()
        (kept if still else gone)[j] += 1
        if args.verbose and still and j == "false":
            print(f"false, still reported: {s['rule']} {s['entry']} {s['path']}:{s['line']}")
        if args.verbose and not still and j == "true":
            print(f"true, no longer reported: {s['rule']} {s['entry']} {s['path']}:{s['line']}")
    def line(label: str, c: Counter) -> str:
        n = c["true"] + c["false"]
        p = f"{100 * c['true'] / n:.0f}%" if n else "-"
        return f"{label:<28} {c['true']:>5} {c['false']:>5} {p:>9}"
    print(f"{'judged findings':<28} {'true':>5} {'false':>5} {'precision':>9}")
    print(line("still reported", kept))
    print(line("no longer reported", gone))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("entries", nargs="*", help="only these entries (default: all)")
    ap.add_argument("--svc", help="svc binary (default: $SVC_BIN or target/debug/svc)")
    ap.add_argument("--cache", help="cache directory (as for fetch.py)")
    ap.add_argument("--json", action="store_true", help="JSON instead of tables")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="also list disagreements, missed violations and trap hits")
    ap.add_argument("--jobs", type=int, default=2, help="parallel audits (default 2)")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--check-snapshot", action="store_true",
                      help="exit 1 with a diff when finding counts differ from snapshot.txt")
    mode.add_argument("--update-snapshot", action="store_true", help="rewrite snapshot.txt")
    mode.add_argument("--sample-precision", action="store_true",
                      help="draw a fixed-seed sample of findings into precision.toml")
    mode.add_argument("--precision", action="store_true",
                      help="precision per rule from the judged precision.toml")
    mode.add_argument("--recheck-precision", action="store_true",
                      help="which judged findings of precision.toml this build still reports")
    ap.add_argument("--precision-file",
                    help="sample file for the precision modes (default: precision.toml)")
    ap.add_argument("--seed", type=int, default=SAMPLE_SEED, help="sample seed")
    ap.add_argument("--size", type=int, default=SAMPLE_SIZE, help="sample size")
    args = ap.parse_args()
    try:
        if args.check_snapshot or args.update_snapshot:
            return snapshot(args)
        if args.sample_precision:
            return sample_precision(args)
        if args.precision:
            return precision(args)
        if args.recheck_precision:
            return recheck_precision(args)
        return score(args)
    except corpus.CorpusError as e:
        print(f"score: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
