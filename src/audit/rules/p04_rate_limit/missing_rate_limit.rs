//! RL001 `missing-rate-limit`.

use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "RL001",
    name: "missing-rate-limit",
    principle: Principle::P4,
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
