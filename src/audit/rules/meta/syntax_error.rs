use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "SV001",
    name: "syntax-error",
    principle: Principle::Meta,
    severity: Severity::Error,
    kinds: ALL_KINDS,
    reach: Reach::AllCode,
    help: "fix the syntax error; the rest of the file was not audited",
    doc: r#"## What it does
Reports a Python file that does not parse.

## Why is this bad?
The file cannot run, and svc cannot audit it: every other rule skips it, so its violations
stay hidden until it parses. The rest of the repository is still audited.

## Example
```python
def handler(:
    ...
```

## How to fix
Fix the syntax error at the reported position.
"#,
    check: |_, _| {},
};
