//! HC005 `probe-path-without-route`: a probe or HEALTHCHECK path no route of the app serves.

use crate::audit::model::health::CheckSource;
use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "HC005",
    name: "probe-path-without-route",
    principle: Principle::P6,
    severity: Severity::Error,
    kinds: &[Kind::Container],
    reach: Reach::Services,
    help: "point the probe at a route the app serves (`/healthz`, `/readyz`), or add the route",
    doc: r#"## What it does
Compares the paths that health checks request with the routes of the service's FastAPI app:
Kubernetes `httpGet` probes (liveness, readiness, startup), the URL in a Dockerfile
`HEALTHCHECK` and in a compose `healthcheck`. A path that matches no route is reported at
the path. Route parameters match any one segment (`/items/{id}`), `{x:path}` any rest, and a
trailing slash is ignored. Only services whose routes are all known are checked. No
single-file linter can see this: it needs the manifest and the code together.

## Why is this bad?
The probe gets 404 forever. A liveness probe then restarts every pod in a loop; a readiness
probe keeps every pod out of the Service, so a deploy that looks healthy serves nothing.
It usually happens when a route is renamed (`/health` -> `/healthz`) or moved under a router
prefix and the manifest is not updated.

## Example
```yaml
livenessProbe:
  httpGet: {path: /health, port: 8000}   # the app serves /healthz
```

## How to fix
```yaml
livenessProbe:
  httpGet: {path: /healthz, port: 8000}
```
"#,
    check,
};

/// True when a route path (`/items/{id}`) serves `path`.
pub(super) fn route_matches(route: &str, path: &str) -> bool {
    let r: Vec<&str> = route.trim_end_matches('/').split('/').collect();
    let p: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    for (i, seg) in r.iter().enumerate() {
        if seg.starts_with('{') && seg.ends_with(":path}") {
            return p.len() > i;
        }
        match p.get(i) {
            Some(x) if seg.starts_with('{') && seg.ends_with('}') && !x.is_empty() => {}
            Some(x) if x == seg => {}
            _ => return false,
        }
    }
    r.len() == p.len()
}

fn check(cx: &Context, sink: &mut Sink) {
    let Some(service) = cx.service else { return };
    if service.routes.is_empty() {
        return;
    }
    let served = |path: &str| service.routes.iter().any(|r| route_matches(&r.path, path));
    let mut probes: Vec<(Loc, String, String)> = Vec::new();
    for check in cx.project.health_checks(&service.artefacts) {
        let (at, path) = match &check.source {
            CheckSource::Kubernetes {
                workload,
                container,
                probe,
            } => {
                let Some((path, range)) = probe.http_path.as_ref().filter(|_| !container.init)
                else {
                    continue;
                };
                let at = Loc {
                    file: workload.file,
                    range: *range,
                };
                (at, path.split(['?', '#']).next().unwrap_or("/").to_string())
            }
            _ => match &check.url {
                Some((_, path)) => (check.at, path.clone()),
                None => continue,
            },
        };
        probes.push((at, path, check.describe()));
    }
    for (at, path, what) in probes {
        if !served(&path) {
            sink.report(
                at,
                format!(
                    "{what} requests `{path}`, which no route of service `{}` serves",
                    service.name
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::route_matches;

    #[test]
    fn matching() {
        assert!(route_matches("/healthz", "/healthz/"));
        assert!(route_matches("/api/{v}/health", "/api/v1/health"));
        assert!(!route_matches("/api/{v}/health", "/api//health"));
        assert!(route_matches("/static/{p:path}", "/static/a/b"));
        assert!(!route_matches("/healthz", "/health"));
        assert!(route_matches("/", "/"));
    }
}
