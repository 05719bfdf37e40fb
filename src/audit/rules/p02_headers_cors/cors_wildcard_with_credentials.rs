//! SH002 `cors-wildcard-with-credentials`.

use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "SH002",
    name: "cors-wildcard-with-credentials",
    principle: Principle::P2,
    severity: Severity::Error,
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
