//! RS002 `blocking-call-in-async`.

use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "RS002",
    name: "blocking-call-in-async",
    principle: Principle::P9,
    severity: Severity::Warning,
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
