//! DC001 `compose-service-without-healthcheck`: a compose service built from the repository
//! with no healthcheck.

use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "DC001",
    name: "compose-service-without-healthcheck",
    principle: Principle::P10,
    severity: Severity::Info,
    kinds: ALL_KINDS,
    reach: Reach::Services,
    help: "add a `healthcheck:` (or a HEALTHCHECK in the image) so `depends_on` can wait for it",
    doc: r#"## What it does
Reports a docker-compose service that runs one of the repository's services (it `build:`s
from the service's directory, or its image is named after the service) with no
`healthcheck:` and no `HEALTHCHECK` in the service's Dockerfile, or with its healthcheck
disabled. Services that run third-party images (`redis:7`, `postgres:16`) are left alone.

## Why is this bad?
Without a healthcheck `depends_on: {condition: service_healthy}` cannot wait for the
service, `docker compose ps` cannot tell a hung process from a working one, and local runs
stop rehearsing the probes production relies on.

## Example
```yaml
services:
  app:
    build: .
```

## How to fix
```yaml
services:
  app:
    build: .
    healthcheck:
      test: ["CMD", "python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"]
      interval: 10s
```
"#,
    check,
};

fn check(cx: &Context, sink: &mut Sink) {
    let Some(service) = cx.service else { return };
    let image_checks = cx
        .project
        .final_stages(&service.artefacts)
        .any(|(_, d, stage)| {
            d.effective(stage, "HEALTHCHECK")
                .is_some_and(|h| h.command().is_some())
        });
    for r in &service.artefacts.compose {
        let c = cx.project.compose_service(*r);
        if c.healthcheck.is_some() || (image_checks && !c.healthcheck_disabled) {
            continue;
        }
        let message = if c.healthcheck_disabled {
            format!("compose service `{}` disables its healthcheck", c.name)
        } else {
            format!("compose service `{}` has no healthcheck", c.name)
        };
        sink.report(
            Loc {
                file: r.file,
                range: c.range,
            },
            message,
        );
    }
}
