#!/usr/bin/env python3
"""Scaffold a new audit rule: the README's recipe as one command.

    python3 scripts/new_rule.py AU005 request-headers-returned

creates, in one go (or not at all):
  - src/audit/rules/<principle folder>/<name>.rs, a `Rule` with the four doc headings to fill
    in (they say TODO, so `registry_is_consistent` fails until they are written);
  - its `pub mod` line in the folder's mod.rs (without it the file is never compiled);
  - its line in `REGISTRY` (src/audit/rules/mod.rs), after the principle's last rule;
  - tests/fixtures/rules/<name>/svc/ with a manifest and a main.py carrying one
    `# expect:` and one `# ok:` line to replace with real cases.

The principle comes from the code's prefix: every prefix belongs to one principle, and this
script reads which from the existing rules, so a new prefix needs `--principle`.
Then: write `check`, make the fixture real, and accept the two snapshots it changes
(`INSTA_UPDATE=always cargo test --test it every_rule rules_and_explain`, then review them).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

SEVERITIES = {"error": "Error", "warning": "Warning", "info": "Info"}


def fail(message: str) -> None:
    print(f"new_rule.py: {message}", file=sys.stderr)
    sys.exit(2)


def existing_rules(rules_dir: Path) -> list[tuple[str, str, str, str]]:
    """(code, name, principle, folder) of every rule file."""
    found = []
    for path in sorted(rules_dir.glob("*/*.rs")):
        text = path.read_text(encoding="utf-8")
        code = re.search(r'^\s*code:\s*"([A-Z]+\d{3})"', text, re.M)
        name = re.search(r'^\s*name:\s*"([a-z0-9-]+)"', text, re.M)
        principle = re.search(r"^\s*principle:\s*Principle::(\w+)", text, re.M)
        if code and name and principle:
            found.append((code[1], name[1], principle[1], path.parent.name))
    return found


def rule_source(code: str, name: str, principle: str, severity: str) -> str:
    return f'''//! {code} `{name}`: TODO one line on the pattern it reports.

use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {{
    code: "{code}",
    name: "{name}",
    principle: Principle::{principle},
    severity: Severity::{SEVERITIES[severity]},
    kinds: ALL_KINDS,
    reach: Reach::Services,
    help: "TODO one line: what to do instead",
    doc: r#"## What it does
TODO

## Why is this bad?
TODO

## Example
```python
TODO
```

## How to fix
```python
TODO
```
"#,
    check,
}};

fn check(cx: &Context, sink: &mut Sink) {{
    // TODO: report each occurrence with sink.report(Loc {{ file, range }}, "message").
    let _ = (cx, sink);
}}
'''


def insert_module(mod_rs: str, stem: str) -> str:
    """The folder's `pub mod` lines stay sorted; other lines are left where they are."""
    lines = mod_rs.splitlines(keepends=True)
    line = f"pub mod {stem};\n"
    mods = [i for i, l in enumerate(lines) if l.startswith("pub mod ")]
    at = next((i for i in mods if lines[i] > line), (mods[-1] + 1) if mods else len(lines))
    return "".join(lines[:at] + [line] + lines[at:])


def insert_registry(mod_rs: str, folder: str, stem: str) -> str:
    start = mod_rs.index("pub static REGISTRY")
    end = mod_rs.index("];", start)
    body = mod_rs[start:end]
    entry = f"    &{folder}::{stem}::RULE,\n"
    same = [m.end() for m in re.finditer(rf"^\s*&{folder}::\w+::RULE,\n", body, re.M)]
    if same:
        at = start + same[-1]
    else:
        # A principle's first rule: before the first rule of a later folder, else at the end.
        later = [
            m.start()
            for m in re.finditer(r"^\s*&(\w+)::\w+::RULE,\n", body, re.M)
            if m[1] > folder
        ]
        at = start + later[0] if later else end
    return mod_rs[:at] + entry + mod_rs[at:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("code", help="e.g. AU005: an existing prefix and the next free number")
    parser.add_argument("name", help="kebab-case, naming the bad pattern (request-headers-returned)")
    parser.add_argument("--principle", help="P1..P12, for a new prefix only")
    parser.add_argument("--severity", choices=sorted(SEVERITIES), default="warning")
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent,
                        help="the repository (default: the one this script is in)")
    args = parser.parse_args()

    if not re.fullmatch(r"[A-Z]{2,3}\d{3}", args.code):
        fail(f"{args.code!r} is not a code: two or three capital letters, then three digits")
    if not re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)+", args.name):
        fail(f"{args.name!r} is not a kebab-case name of two or more words")
    for bad in ("use-", "prefer-", "enable-", "add-", "require-"):
        if args.name.startswith(bad):
            fail(f"{args.name!r} names the fix; name the bad pattern instead")

    rules_dir = args.root / "src/audit/rules"
    rules = existing_rules(rules_dir)
    if not rules:
        fail(f"no rules found under {rules_dir}; is --root the repository?")
    for code, name, _, _ in rules:
        if code == args.code or name == args.name:
            fail(f"{code} {name} already exists")

    prefix = re.match(r"[A-Z]+", args.code)[0]
    owners = {p for c, _, p, _ in rules if re.match(r"[A-Z]+", c)[0] == prefix}
    if owners:
        principle = owners.pop()
        if args.principle and args.principle != principle:
            fail(f"prefix {prefix} belongs to {principle}, not {args.principle}")
    elif args.principle:
        principle = args.principle
        print(f"note: {prefix} is a new prefix; list it in the README's code prefixes", file=sys.stderr)
    else:
        fail(f"{prefix} is a new prefix: say which principle it belongs to with --principle")
    folders = {p: f for _, _, p, f in rules}
    if principle not in folders:
        fail(f"no folder holds {principle}'s rules yet; create it by hand")
    folder = folders[principle]
    stem = args.name.replace("-", "_")

    rule_file = rules_dir / folder / f"{stem}.rs"
    folder_mod = rules_dir / folder / "mod.rs"
    registry = rules_dir / "mod.rs"
    fixture = args.root / "tests/fixtures/rules" / args.name / "svc"
    if fixture.parent.exists():
        fail(f"{fixture.parent} already exists")

    # Compute every edit first, so a failure leaves the tree as it was.
    writes = {
        rule_file: rule_source(args.code, args.name, principle, args.severity),
        folder_mod: insert_module(folder_mod.read_text(encoding="utf-8"), stem),
        registry: insert_registry(registry.read_text(encoding="utf-8"), folder, stem),
        fixture / "pyproject.toml": '[project]\nname = "orders"\nversion = "0.1.0"\n',
        fixture / "main.py": (
            "from fastapi import FastAPI\n\napp = FastAPI()\n\n\n"
            "@app.get(\"/orders\")\n"
            "async def list_orders():\n"
            f"    return []  # expect: {args.name}  (TODO: a line where it fires)\n\n\n"
            "@app.get(\"/items\")\n"
            "async def list_items():\n"
            f"    return []  # ok: {args.name}  (TODO: a look-alike that must stay quiet)\n"
        ),
    }
    for path, text in writes.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(args.root)}")
    print(
        "next: write `check` and the doc, make the fixture real, then\n"
        "  INSTA_UPDATE=always cargo test --test it every_rule rules_and_explain\n"
        "and review the two snapshots it writes."
    )


if __name__ == "__main__":
    main()
