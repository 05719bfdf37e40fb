//! HC002 `missing-readiness-route`.

use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "HC002",
    name: "missing-readiness-route",
    principle: Principle::P6,
    severity: Severity::Warning,
    kinds: &[Kind::Container],
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
