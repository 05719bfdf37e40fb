//! DC003 `privileged-compose-service`: `privileged: true` on a compose service.

use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "DC003",
    name: "privileged-compose-service",
    principle: Principle::P10,
    severity: Severity::Error,
    kinds: ALL_KINDS,
    reach: Reach::Artefacts,
    help: "remove `privileged: true`; add the single capability needed with `cap_add`, if any",
    doc: r#"## What it does
Reports a compose service with `privileged: true`, built here or pulled: the compose
counterpart of `privileged-container` (`KB003`).

## Why is this bad?
A privileged container has every capability and the host's devices: a compromise of the
service is a compromise of the host. A FastAPI service never needs it.

## Example
```yaml
services:
  api:
    build: .
    privileged: true
```

## How to fix
```yaml
services:
  api:
    build: .
    cap_drop: [ALL]
```
"#,
    check,
};

fn check(cx: &Context, sink: &mut Sink) {
    for r in &cx.artefacts().compose {
        let c = cx.project.compose_service(*r);
        if let Some((true, range)) = c.privileged {
            sink.report(
                Loc {
                    file: r.file,
                    range,
                },
                format!("compose service `{}` is privileged", c.name),
            );
        }
    }
}
