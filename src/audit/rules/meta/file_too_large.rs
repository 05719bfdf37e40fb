use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "SV004",
    name: "file-too-large",
    principle: Principle::Meta,
    severity: Severity::Error,
    kinds: ALL_KINDS,
    reach: Reach::AllCode,
    help: "split or exclude the file, or raise `max-file-size` in svc.toml",
    doc: r#"## What it does
Reports a file larger than `max-file-size` (64 MiB unless configured), which svc does not
read: a Python file, Dockerfile, YAML or JSON template, or dependency file.

## Why is this bad?
The file is not audited, so its violations stay hidden. svc needs many times a file's size
in memory to audit it: without a limit, one huge (or hostile) file could take all the
machine's memory and kill the audit of everything else.

## Example
A 200 MB generated `fixtures.py`, or a data dump saved as `template.json`.

## How to fix
Exclude generated files (`exclude` in svc.toml), split the file, or raise the limit:
```toml
max-file-size = "256 MiB"
```
"#,
    check: |_, _| {},
};
