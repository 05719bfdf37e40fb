//! HC003 `health-route-behind-auth`.

use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "HC003",
    name: "health-route-behind-auth",
    principle: Principle::P6,
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
