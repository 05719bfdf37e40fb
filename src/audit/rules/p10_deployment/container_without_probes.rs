//! KB002 `container-without-probes`: a Kubernetes container without liveness/readiness probes.

use super::{containers, describe, helm_charts};
use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "KB002",
    name: "container-without-probes",
    principle: Principle::P10,
    severity: Severity::Warning,
    kinds: &[Kind::Container, Kind::Worker],
    reach: Reach::Artefacts,
    help: "add `livenessProbe` and `readinessProbe` (httpGet on /healthz and /readyz)",
    doc: r#"## What it does
Reports a container of a long-running Kubernetes workload with no `livenessProbe` or no
`readinessProbe`. For a worker service only the liveness probe is required (an `exec` probe
such as `celery inspect ping` counts): a worker takes no traffic to be ready for. Jobs,
CronJobs and init containers run to completion and are left alone. kube-linter's
`no-liveness-probe` / `no-readiness-probe` and checkov's CKV_K8S_8/9 are the equivalents.

A Helm chart whose templates render `.Values.livenessProbe` / `.Values.readinessProbe` is
checked in its `values.yaml`: a probe left empty (`{}`) or not defined there is reported.

## Why is this bad?
Without a liveness probe a deadlocked process keeps its pod forever; without a readiness
probe a pod receives traffic before it can serve (or while its database is down), and
rolling updates cannot tell a healthy new replica from a broken one.

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
    livenessProbe: {httpGet: {path: /healthz, port: 8000}}
    readinessProbe: {httpGet: {path: /readyz, port: 8000}}
```
"#,
    check,
};

fn check(cx: &Context, sink: &mut Sink) {
    let worker = cx.kind() == Some(Kind::Worker);
    for (r, w, c) in containers(cx) {
        if w.is_batch() {
            continue;
        }
        let missing = match (c.liveness.is_some(), c.readiness.is_some() || worker) {
            (true, true) => continue,
            (false, false) => "no liveness or readiness probe",
            (false, true) => "no liveness probe",
            (true, false) => "no readiness probe",
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
        let probes = [
            (chart.uses_liveness, values.liveness, "livenessProbe"),
            (
                chart.uses_readiness && !worker,
                values.readiness,
                "readinessProbe",
            ),
        ];
        for (used, set, key) in probes {
            let range = match set {
                _ if !used => continue,
                Some((true, _)) => continue,
                Some((false, range)) => range,
                None => values.start,
            };
            sink.report(
                Loc {
                    file: chart.values,
                    range,
                },
                format!(
                    "the chart's templates render `.Values.{key}`, and its values leave it empty"
                ),
            );
        }
    }
}
