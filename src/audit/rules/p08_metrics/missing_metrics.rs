//! MT001 `missing-metrics`.

use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "MT001",
    name: "missing-metrics",
    principle: Principle::P8,
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
