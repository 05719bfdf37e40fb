//! LM001 `mangum-lifespan-on`.

use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "LM001",
    name: "mangum-lifespan-on",
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
