//! ST004 `in-process-shared-storage`.

use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "ST004",
    name: "in-process-shared-storage",
    principle: Principle::P1,
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
