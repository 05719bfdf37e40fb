//! KB001 `container-without-resources`: a Kubernetes container without requests or limits.

use super::{containers, describe, helm_charts};
use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "KB001",
    name: "container-without-resources",
    principle: Principle::P10,
    severity: Severity::Warning,
    kinds: ALL_KINDS,
    reach: Reach::Artefacts,
    help: "set `resources.requests` (cpu, memory) and `resources.limits` (memory at least)",
    doc: r#"## What it does
Reports a container of a Kubernetes workload (Deployment, StatefulSet, DaemonSet, Job,
CronJob, Pod) that sets no `resources.requests` or no `resources.limits`. Init containers are
left alone. kube-linter's `unset-cpu-requirements` / `unset-memory-requirements` and
checkov's CKV_K8S_10..13 check each value separately; svc reports one finding per container,
naming what is missing.

A Helm chart's templates are not checked (`templated-file-not-checked`); when they render
`.Values.resources`, the chart's `values.yaml` is: a `resources:` without requests or limits
(`resources: {}`, the `helm create` default), or none at all, is reported there.

## Why is this bad?
Without requests the scheduler packs pods blindly and the HPA has no baseline to scale on;
without a memory limit one leaking replica can take the node's memory and get its
neighbours killed.

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
    resources:
      requests: {cpu: 100m, memory: 128Mi}
      limits: {memory: 256Mi}
```
"#,
    check,
};

fn check(cx: &Context, sink: &mut Sink) {
    for (r, w, c) in containers(cx) {
        let missing = match (c.has_requests, c.has_limits) {
            (true, true) => continue,
            (false, false) => "no resource requests or limits",
            (false, true) => "no resource requests",
            (true, false) => "no resource limits",
        };
        sink.report(
            Loc {
                file: r.file,
                range: c.name_range,
            },
            format!("{} has {missing}", describe(w, c)),
        );
    }
    for (chart, values) in helm_charts(cx) {
        if !chart.uses_resources {
            continue;
        }
        let (range, missing) = match &values.resources {
            None => (values.start, "no `resources`"),
            Some(r) => match (r.has_requests, r.has_limits) {
                (true, true) => continue,
                (false, false) => (r.range, "no resource requests or limits"),
                (false, true) => (r.range, "no resource requests"),
                (true, false) => (r.range, "no resource limits"),
            },
        };
        sink.report(
            Loc {
                file: chart.values,
                range,
            },
            format!(
                "the chart's templates render `.Values.resources`, and its values set {missing}"
            ),
        );
    }
}
