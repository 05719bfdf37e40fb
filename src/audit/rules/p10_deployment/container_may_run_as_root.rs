//! KB006 `container-may-run-as-root`: no `runAsNonRoot: true` for a Kubernetes container.

use super::{containers, describe};
use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "KB006",
    name: "container-may-run-as-root",
    principle: Principle::P10,
    severity: Severity::Warning,
    kinds: ALL_KINDS,
    reach: Reach::Artefacts,
    help: "set `securityContext.runAsNonRoot: true` (and a numeric `runAsUser`) on the pod",
    doc: r#"## What it does
Reports a Kubernetes container for which neither its own nor the pod's `securityContext`
sets `runAsNonRoot: true`, unless a non-zero `runAsUser` is set. `runAsUser: 0` is reported
whatever else is set. kube-linter's `run-as-non-root` and checkov's CKV_K8S_23 are the
equivalents.

## Why is this bad?
Whether the process runs as root is then up to the image: one rebuilt without `USER`, or a
base image that changed its default, runs as root in production without anyone noticing.
`runAsNonRoot` makes the kubelet refuse to start such a container.

## Example
```yaml
spec:
  containers:
    - name: app
      image: ghcr.io/acme/orders:1.4.2
```

## How to fix
```yaml
spec:
  securityContext:
    runAsNonRoot: true
    runAsUser: 10001
  containers:
    - name: app
      image: ghcr.io/acme/orders:1.4.2
```
"#,
    check,
};

fn check(cx: &Context, sink: &mut Sink) {
    for (r, w, c) in containers(cx) {
        let user = c.run_as_user.or(w.pod_run_as_user);
        let non_root = c.run_as_non_root.or(w.pod_run_as_non_root) == Some(true);
        let message = match user {
            Some(0) => format!("{} runs as user 0 (root)", describe(w, c)),
            Some(_) => continue,
            None if non_root => continue,
            None => format!(
                "{} may run as root: no `runAsNonRoot: true` or non-zero `runAsUser`",
                describe(w, c)
            ),
        };
        sink.report(
            Loc {
                file: r.file,
                range: c.name_range,
            },
            message,
        );
    }
}
