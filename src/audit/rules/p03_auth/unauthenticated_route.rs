//! AU001 `unauthenticated-route`.

use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "AU001",
    name: "unauthenticated-route",
    principle: Principle::P3,
    severity: Severity::Warning,
    kinds: HTTP_KINDS,
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
