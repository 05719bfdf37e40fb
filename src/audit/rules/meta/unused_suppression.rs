use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "SV003",
    name: "unused-suppression",
    principle: Principle::Meta,
    severity: Severity::Info,
    kinds: ALL_KINDS,
    reach: Reach::AllCode,
    help: "remove the comment, or correct the rule it names",
    doc: r#"## What it does
Reports a `# svc: ignore[...]` comment that suppresses nothing, or that names a rule that
does not exist.

## Why is this bad?
A stale suppression hides the next real violation on that line, and a misspelt rule name
suppresses nothing while looking as if it did.

## Example
```python
timeout = 5  # svc: ignore[http-call-without-timeout] fixed long ago
```

## How to fix
Delete the comment, or name the rule that actually fires there (`svc rules` lists them).
"#,
    check: |_, _| {},
};
