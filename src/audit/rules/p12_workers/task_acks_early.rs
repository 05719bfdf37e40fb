//! WK003 `task-acks-early`.

use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "WK003",
    name: "task-acks-early",
    principle: Principle::P12,
    severity: Severity::Warning,
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
