//! KB003 `privileged-container`: `securityContext.privileged: true`.

use super::describe;
use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "KB003",
    name: "privileged-container",
    principle: Principle::P10,
    severity: Severity::Error,
    kinds: ALL_KINDS,
    reach: Reach::Artefacts,
    help: "remove `privileged: true`; grant the single capability needed, if any",
    doc: r#"## What it does
Reports a Kubernetes container (init containers included) with
`securityContext.privileged: true`. kube-linter's `privileged-container` and checkov's
CKV_K8S_16 report the same.

## Why is this bad?
A privileged container has every capability and access to the host's devices: a compromise
of the service is a compromise of the node. A FastAPI service never needs it.

## Example
```yaml
securityContext:
  privileged: true
```

## How to fix
```yaml
securityContext:
  privileged: false
  allowPrivilegeEscalation: false
  capabilities: {drop: ["ALL"]}
```
"#,
    check,
};

fn check(cx: &Context, sink: &mut Sink) {
    for r in &cx.artefacts().workloads {
        let w = cx.project.workload(*r);
        for c in &w.containers {
            if let Some((true, range)) = c.privileged {
                sink.report(
                    Loc {
                        file: r.file,
                        range,
                    },
                    format!("{} is privileged", describe(w, c)),
                );
            }
        }
    }
}
