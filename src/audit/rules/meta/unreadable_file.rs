use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "SV002",
    name: "unreadable-file",
    principle: Principle::Meta,
    severity: Severity::Error,
    kinds: ALL_KINDS,
    reach: Reach::AllCode,
    help: "make the file readable UTF-8 text, or exclude it in svc.toml",
    doc: r#"## What it does
Reports a file svc could not read: permission denied, vanished during the audit, or not
UTF-8 text (Python source must be UTF-8).

## Why is this bad?
An unreadable file is not audited, so its violations stay hidden.

## Example
A `settings.py` saved as Latin-1, or a binary blob named `model.py`.

## How to fix
Re-encode the file as UTF-8, fix its permissions, or add it to `exclude` in svc.toml.
"#,
    check: |_, _| {},
};
