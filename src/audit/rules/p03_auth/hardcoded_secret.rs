//! AU003 `hardcoded-secret`.

use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "AU003",
    name: "hardcoded-secret",
    principle: Principle::P3,
    severity: Severity::Error,
    kinds: ALL_KINDS,
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
