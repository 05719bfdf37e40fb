//! RS003 `missing-retry-or-circuit-breaker`.

use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "RS003",
    name: "missing-retry-or-circuit-breaker",
    principle: Principle::P9,
    severity: Severity::Info,
    kinds: ALL_KINDS,
    reach: Reach::Services,
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
