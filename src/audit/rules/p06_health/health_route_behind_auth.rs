//! HC003 `health-route-behind-auth`: a liveness or readiness route that requires
//! authentication or is rate limited.

use super::{is_liveness, is_readiness};
use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "HC003",
    name: "health-route-behind-auth",
    principle: Principle::P6,
    severity: Severity::Warning,
    kinds: HTTP_KINDS,
    reach: Reach::Services,
    help: "exempt health routes from authentication and rate limiting (declare them outside the protected router)",
    doc: r#"## What it does
Reports a liveness or readiness route (`/healthz`, `/readyz`, `/health`, `/health/ready`, ...)
that runs an authentication dependency or a rate limiter, whether declared on the route, its
router, an `include_router(dependencies=...)` or the app (`FastAPI(dependencies=[...])`), or a
slowapi-style `@limiter.limit(...)` decorator. The finding points at the route decorator.

## Why is this bad?
Probes do not log in: Kubernetes, Docker `HEALTHCHECK` and load balancers call the path with
no credentials, get `401`/`403`, and mark a healthy replica as dead, restarting it or taking it
out of rotation. A rate limit is no better: probes from several nodes, or a limit shared with
real traffic, turn into `429` and the same false failure, usually under peak load.

## Example
```python
app = FastAPI(dependencies=[Depends(get_current_user)])


@app.get("/healthz")
async def healthz():
    return {"status": "ok"}
```

## How to fix
```python
app = FastAPI()
app.include_router(api_router, dependencies=[Depends(get_current_user)])


@app.get("/healthz")  # on the app, outside the authenticated router
async def healthz():
    return {"status": "ok"}
```
"#,
    check,
};

fn check(cx: &Context, sink: &mut Sink) {
    let Some(service) = cx.service else { return };
    // One finding per route in the code, at the first of its paths that is guarded.
    for site in service.route_sites() {
        for route in site {
            if !(is_liveness(cx.project, route) || is_readiness(cx.project, route)) {
                continue;
            }
            let auth = route.dependencies.iter().find(|d| d.is_auth);
            let limit = route
                .dependencies
                .iter()
                .find(|d| d.is_rate_limit && !d.is_auth);
            let guard = match (auth, limit) {
                (Some(a), _) => format!("requires authentication (`{}`)", name_of(&a.target)),
                (None, Some(l)) => format!("is rate limited (`{}`)", name_of(&l.target)),
                (None, None) if route.rate_limited_by_decorator => {
                    "is rate limited by a decorator".to_string()
                }
                (None, None) => continue,
            };
            sink.report(route.at, format!("health route `{}` {guard}", route.path));
            break;
        }
    }
}

/// `get_current_user` for `app.deps.get_current_user`, `RateLimiter()` for a call.
fn name_of(target: &Ref) -> &str {
    let path = target.path.as_ref();
    match path.strip_suffix("()") {
        Some(base) => &path[base.rfind('.').map_or(0, |i| i + 1)..],
        None => target.last(),
    }
}
