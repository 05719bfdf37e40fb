//! KB004 `privilege-escalation-allowed`: `allowPrivilegeEscalation` not set to false.

use super::{containers, describe};
use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "KB004",
    name: "privilege-escalation-allowed",
    principle: Principle::P10,
    severity: Severity::Warning,
    kinds: ALL_KINDS,
    reach: Reach::Artefacts,
    help: "set `securityContext.allowPrivilegeEscalation: false` on the container",
    doc: r#"## What it does
Reports a Kubernetes container whose `securityContext.allowPrivilegeEscalation` is `true` or
missing (Kubernetes defaults it to true). A privileged container is reported by
`privileged-container` instead. checkov's CKV_K8S_20 is as strict; kube-linter's
`privilege-escalation-container` only fires on an explicit `true`.

## Why is this bad?
With escalation allowed, a process can gain more privileges than its parent (setuid
binaries, file capabilities): an attacker with code execution in the container can become
root inside it.

## Example
```yaml
containers:
  - name: app
    image: ghcr.io/acme/orders:1.4.2
```

## How to fix
```yaml
containers:
  - name: app
    image: ghcr.io/acme/orders:1.4.2
    securityContext:
      allowPrivilegeEscalation: false
```
"#,
    check,
};

fn check(cx: &Context, sink: &mut Sink) {
    for (r, w, c) in containers(cx) {
        if matches!(c.privileged, Some((true, _))) {
            continue;
        }
        match c.allow_privilege_escalation {
            Some((false, _)) => {}
            Some((true, range)) => sink.report(
                Loc {
                    file: r.file,
                    range,
                },
                format!("{} allows privilege escalation", describe(w, c)),
            ),
            None => sink.report(
                Loc {
                    file: r.file,
                    range: c.name_range,
                },
                format!(
                    "{} does not set `allowPrivilegeEscalation: false`",
                    describe(w, c)
                ),
            ),
        }
    }
}
