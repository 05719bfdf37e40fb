//! HC006 `probe-port-mismatch`: a probe, HEALTHCHECK or containerPort that is not the port the
//! app listens on.

use crate::audit::model::artefacts::container_port;
use crate::audit::model::health::CheckSource;
use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "HC006",
    name: "probe-port-mismatch",
    principle: Principle::P6,
    severity: Severity::Error,
    kinds: &[Kind::Container],
    reach: Reach::Services,
    help: "use the port the server listens on (its `--port` / `--bind`) in probes and containerPort",
    doc: r#"## What it does
Finds the port the app listens on — the container's own `command`/`args`, else the
Dockerfile's `CMD`/`ENTRYPOINT` (`uvicorn --port`, `gunicorn --bind`, uvicorn's default
8000), else `uvicorn.run(port=...)` or a settings default `port: int = 8000` — and reports
Kubernetes `containerPort`s and probe ports (named ports resolved) that differ, and the port
in a Dockerfile `HEALTHCHECK` or compose `healthcheck` URL. Nothing is reported when the
listening port cannot be known (`--port $PORT`).

## Why is this bad?
A probe on the wrong port is refused: liveness restarts the pod in a loop, readiness never
passes. A wrong `containerPort` sends the Service's traffic, and named-port probes, nowhere.

## Example
```dockerfile
CMD ["uvicorn", "app.main:app", "--port", "8080"]
```
```yaml
ports: [{containerPort: 8000}]
livenessProbe: {httpGet: {path: /healthz, port: 8000}}
```

## How to fix
Use one port everywhere (here 8080), ideally through a named port (`name: http`) that the
probes refer to.
"#,
    check,
};

fn check(cx: &Context, sink: &mut Sink) {
    let Some(service) = cx.service else { return };
    for r in &service.artefacts.workloads {
        let w = cx.project.workload(*r);
        for c in w.containers.iter().filter(|c| !c.init) {
            let Some(listen) = container_port(service, c) else {
                continue;
            };
            for p in &c.ports {
                if p.number != u64::from(listen.port) {
                    sink.report(
                        Loc {
                            file: r.file,
                            range: p.range,
                        },
                        format!(
                            "containerPort {} of container `{}`, but the app listens on {} ({})",
                            p.number, c.name, listen.port, listen.source
                        ),
                    );
                }
            }
            for probe in c.probes() {
                let Some((port, range)) = &probe.port else {
                    continue;
                };
                match c.resolve_port(port) {
                    Some(n) if n != u64::from(listen.port) => sink.report(
                        Loc {
                            file: r.file,
                            range: *range,
                        },
                        format!(
                            "the {} of container `{}` probes port {n}, but the app listens on {} ({})",
                            probe.field, c.name, listen.port, listen.source
                        ),
                    ),
                    _ => {}
                }
            }
        }
    }
    let Some(listen) = &service.listen_port else {
        return;
    };
    let mut urls = Vec::new();
    for check in cx.project.health_checks(&service.artefacts) {
        let Some((Some(port), _)) = check.url else {
            continue;
        };
        match &check.source {
            CheckSource::Kubernetes { .. } => continue,
            CheckSource::Dockerfile => {}
            // A compose service that starts the app on a port of its own is probed there.
            CheckSource::Compose { service, .. } => {
                let own = service.command.as_ref().and_then(|c| c.listen_port());
                if own.is_some_and(|p| p == port) || port == listen.port {
                    continue;
                }
            }
        }
        urls.push((check.at, port, check.describe()));
    }
    for (at, port, what) in urls {
        if port != listen.port {
            sink.report(
                at,
                format!(
                    "{what} requests port {port}, but the app listens on {} ({})",
                    listen.port, listen.source
                ),
            );
        }
    }
}
