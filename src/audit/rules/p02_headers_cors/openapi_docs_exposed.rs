//! SH004 `openapi-docs-exposed`.

use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "SH004",
    name: "openapi-docs-exposed",
    principle: Principle::P2,
    severity: Severity::Info,
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
