//! SH003 `cors-wildcard-origin`.

use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "SH003",
    name: "cors-wildcard-origin",
    principle: Principle::P2,
    severity: Severity::Warning,
    kinds: HTTP_KINDS,
    reach: Reach::AllCode,
    help: "TODO",
    doc: r#"## What it does
TODO

## Why is this bad?
TODO

## Example
TODO

## How to fix
TODO
"#,
    check,
};

fn check(_cx: &Context, _sink: &mut Sink) {}
