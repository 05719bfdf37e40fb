//! LM002 `client-created-per-invocation`.

use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "LM002",
    name: "client-created-per-invocation",
    principle: Principle::P11,
    severity: Severity::Warning,
    kinds: &[Kind::Lambda],
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
