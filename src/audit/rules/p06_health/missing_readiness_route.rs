//! HC002 `missing-readiness-route`: a container service with no readiness endpoint.

use super::{checks_dependencies, is_liveness, is_readiness};
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
its `FastAPI(...)` call. Lambda functions and workers are not reported.

A liveness route whose handler checks dependencies (awaits a call, pings, queries or
connects) does tell the load balancer whether the replica can serve: then the finding is an
info at that route, saying that one probe for both makes a dependency outage restart every
replica.

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

fn check(cx: &Context, sink: &mut Sink) {
    let Some(service) = cx.service else { return };
    let Some(app) = service.apps.first() else {
        return;
    };
    if service.routes.iter().any(is_readiness) {
        return;
    }
    // One health route that checks the dependencies does answer "can I serve?": say what it
    // costs, at info, instead of reporting a missing readiness route as if there were none.
    if let Some(both) = service
        .routes
        .iter()
        .find(|r| is_liveness(r) && checks_dependencies(cx.project, r))
    {
        sink.report_severity(
            both.at,
            Severity::Info,
            format!(
                "`{}` checks dependencies and serves as both liveness and readiness probe: a dependency outage would restart every replica; a separate `/readyz` keeps restarts for a stuck process",
                both.path
            ),
        );
        return;
    }
    sink.report(
        app.at,
        format!(
            "service `{}` has no readiness route such as `/readyz`",
            service.name
        ),
    );
}
