//! HC002 `missing-readiness-route`: a container service with no readiness endpoint.

use super::{checks_dependencies, is_liveness, is_readiness, serves_as_liveness};
use crate::audit::model::{DependencyLevel, Route};
use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "HC002",
    name: "missing-readiness-route",
    principle: Principle::P6,
    severity: Severity::Warning,
    kinds: &[Kind::Container],
    reach: Reach::Services,
    help: "add a `GET /readyz` route that checks the service's dependencies and returns 503 when one is down",
    doc: r#"## What it does
Reports a container service whose HTTP app has no readiness route: no route whose last path
segment is `readyz`, `ready` or `readiness` (`/readyz`, `/health/ready`, `/api/readiness` all
count). A lone `/health` is a liveness route and does not count. One finding per service, at
the `FastAPI(...)` call of the app the service runs. Lambda functions and workers are not
reported.

A path given by a constant, or failing that the handler's name (`async def ready()`), is read
as for HC001. A health route whose handler checks dependencies (awaits a call, pings, queries,
connects or asks something whether it is healthy or ready) beside another route that serves as
liveness without them (`GET /` answering "ok", `/livez`) is the readiness route, and nothing
is reported. A lone liveness route whose handler checks dependencies
does tell the load balancer whether the replica can serve: then the finding is an
info at that route, saying that one probe for both makes a dependency outage restart every
replica. A readiness route whose handler makes no call and takes no dependency of its own
(`return "OK"`) is reported at info: it answers the same whatever its dependencies do.

## Why is this bad?
Liveness says "restart me"; readiness says "don't send me traffic yet". Without a readiness
endpoint the load balancer routes requests to replicas that are still starting or have lost
their database or Redis, and those requests fail. Folding dependency checks into the
liveness route instead is worse: a Redis outage then restarts every replica at once.

## Example
```python
@app.get("/healthz")
async def healthz():
    return {"status": "ok"}
```

## How to fix
```python
@app.get("/readyz")
async def readyz(response: Response, redis: Redis = Depends(get_redis)):
    try:
        await redis.ping()
    except RedisError:
        response.status_code = 503
        return {"status": "unavailable"}
    return {"status": "ok"}
```
"#,
    check,
};

/// The handler makes no call and takes no dependency of its own (`return "OK"`): whatever the
/// state of the service's dependencies, it answers the same.
fn checks_nothing(project: &Project, route: &Route) -> bool {
    let Some(handler) = route.handler else {
        return false;
    };
    let Some(code) = project.code(handler.file) else {
        return false;
    };
    let own_dependency = route
        .dependencies
        .iter()
        .any(|d| matches!(d.level, DependencyLevel::Route | DependencyLevel::Parameter));
    !own_dependency && !code.calls.iter().any(|c| c.func == Some(handler.func))
}

/// The route's path when the audit read it, else its handler's name.
fn route_name(project: &Project, route: &Route) -> String {
    match route.handler {
        Some(h) if !route.path_known => format!("{}()", project.function(h).name),
        _ => route.path.clone(),
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let Some(service) = cx.service else { return };
    let Some(app) = service.primary() else {
        return;
    };
    let mut readiness = service
        .routes
        .iter()
        .filter(|r| is_readiness(cx.project, r))
        .peekable();
    if readiness.peek().is_some() {
        // Every readiness route answers without looking at anything: it says what liveness
        // says. One info, at the first of them.
        let all: Vec<&Route> = readiness.collect();
        if all.iter().all(|r| checks_nothing(cx.project, r)) {
            sink.report_severity(
                all[0].at,
                Severity::Info,
                format!(
                    "readiness route `{}` answers without checking any dependency: it cannot tell the load balancer that the replica lost its database or broker",
                    route_name(cx.project, all[0])
                ),
            );
        }
        return;
    }
    // One health route that checks the dependencies does answer "can I serve?": say what it
    // costs, at info, instead of reporting a missing readiness route as if there were none.
    let Some(checking) = service
        .routes
        .iter()
        .find(|r| is_liveness(cx.project, r) && checks_dependencies(cx.project, r))
    else {
        sink.report(
            app.at,
            format!(
                "service `{}` has no readiness route such as `/readyz`",
                service.name
            ),
        );
        return;
    };
    // Beside a dependency-free route for liveness (`GET /` answering "ok", or `/livez`), the
    // health route that checks dependencies is the readiness route, whatever its name.
    let other_liveness = service.routes.iter().any(|r| {
        (r.at.file, r.at.range) != (checking.at.file, checking.at.range)
            && serves_as_liveness(cx.project, r)
            && !checks_dependencies(cx.project, r)
    });
    if other_liveness {
        return;
    }
    sink.report_severity(
            checking.at,
            Severity::Info,
            format!(
                "`{}` checks dependencies and serves as both liveness and readiness probe: a dependency outage would restart every replica; a separate `/readyz` keeps restarts for a stuck process",
                checking.path
            ),
        );
}
