//! RS004 `http-client-per-request`.

use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "RS004",
    name: "http-client-per-request",
    principle: Principle::P9,
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
