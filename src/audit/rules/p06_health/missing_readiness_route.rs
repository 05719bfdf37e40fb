//! HC002 `missing-readiness-route`: a container service with no readiness endpoint.

use super::is_readiness;
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
    super::report_missing_route(cx, sink, is_readiness, "readiness route such as `/readyz`");
}
