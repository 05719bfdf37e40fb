//! ST002 `local-disk-write`.

use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "ST002",
    name: "local-disk-write",
    principle: Principle::P1,
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
