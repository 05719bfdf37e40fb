//! LM003 `unused-heavy-import`.

use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "LM003",
    name: "unused-heavy-import",
    principle: Principle::P11,
    severity: Severity::Info,
    kinds: &[Kind::Lambda],
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
