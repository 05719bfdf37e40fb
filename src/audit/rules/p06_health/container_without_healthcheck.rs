//! HC004 `container-without-healthcheck`: a containerised service with neither a Dockerfile
//! HEALTHCHECK nor Kubernetes probes.

use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "HC004",
    name: "container-without-healthcheck",
    principle: Principle::P6,
    severity: Severity::Warning,
    kinds: &[Kind::Container, Kind::Worker],
    reach: Reach::Services,
    help: "add a Dockerfile HEALTHCHECK on /healthz, or liveness/readiness probes in the manifests",
    doc: r#"## What it does
Reports a container or worker service that the repository builds or deploys (it has a
Dockerfile or Kubernetes workloads) when nothing checks its health: the final Dockerfile
stage has no `HEALTHCHECK` (or `HEALTHCHECK NONE`), no container of its workloads has a
liveness or readiness probe, and no compose service running it has a `healthcheck:`. For a worker, any liveness mechanism counts (an `exec` probe or
a HEALTHCHECK running `celery inspect ping`). One finding per service, at the `ENTRYPOINT` (else `CMD`)
that starts the final stage, where a `HEALTHCHECK` goes beside it, else at the final `FROM`
(or the first workload). hadolint has no equivalent; checkov's CKV_DOCKER_2 checks the
Dockerfile alone and fires even when Kubernetes probes exist.

## Why is this bad?
The orchestrator only knows the process is running: a deadlocked event loop, a worker stuck
on a broker connection or an app that never finished starting keeps its slot and keeps
receiving work.

## Example
```dockerfile
FROM python:3.12-slim
CMD ["uvicorn", "app.main:app"]
```

## How to fix
```dockerfile
HEALTHCHECK --interval=30s --timeout=3s \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
```
"#,
    check,
};

fn check(cx: &Context, sink: &mut Sink) {
    let Some(service) = cx.service else { return };
    let a = &service.artefacts;
    if a.dockerfiles.is_empty() && a.workloads.is_empty() {
        return;
    }
    // The image's HEALTHCHECK, a liveness or readiness probe, or the compose file that runs
    // the image (`healthcheck:`).
    if cx
        .project
        .health_checks(a)
        .iter()
        .any(|c| c.watches_running_container())
    {
        return;
    }
    let at = cx
        .project
        .final_stages(&service.artefacts)
        .map(|(file, d, stage)| Loc {
            file,
            range: d
                .effective(stage, "ENTRYPOINT")
                .or_else(|| d.effective(stage, "CMD"))
                .map_or(d.stages[stage].from.range, |i| i.range),
        })
        .next()
        .or_else(|| {
            a.workloads.first().map(|r| Loc {
                file: r.file,
                range: cx.project.workload(*r).kind_range,
            })
        });
    if let Some(at) = at {
        sink.report(
            at,
            format!(
                "{} service `{}` has no Dockerfile HEALTHCHECK, no Kubernetes probes and no compose healthcheck",
                service.kind.as_str(),
                service.name
            ),
        );
    }
}
