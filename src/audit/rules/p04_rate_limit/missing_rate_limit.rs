//! RL001 `missing-rate-limit`: an HTTP service with no rate limiting anywhere.

use crate::audit::model::{Middleware, Route};
use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "RL001",
    name: "missing-rate-limit",
    principle: Principle::P4,
    severity: Severity::Warning,
    kinds: HTTP_KINDS,
    reach: Reach::Services,
    help: "add a Redis-backed limiter (slowapi, fastapi-limiter, limits) as a dependency or middleware",
    doc: r#"## What it does
Reports an HTTP service (container or Lambda) in which nothing limits the request rate: no
route is limited by a limiter dependency or decorator (`Depends(RateLimiter(...))`,
`@limiter.limit("5/minute")`), the service imports no inbound rate-limiting library (`slowapi`,
`limits`, `fastapi_limiter`, `pyrate_limiter`) and no middleware is named like a rate limiter
or throttle (the class, or the function a `BaseHTTPMiddleware` dispatches to), and no gateway or proxy in the repository limits it: nginx `limit_req`, a Traefik
`rateLimit` middleware, a Kong `rate-limiting` plugin, ingress-nginx `limit-rps` / `limit-rpm`
annotations, or API Gateway throttling (`ThrottlingRateLimit`, a usage plan) in the SAM
template that deploys the service. One finding per service, at the `FastAPI(...)` call of the
app the service runs.

A limit the operator has to opt into does not count: a route limited in one branch and
defined again without the limit in the other (`if notation: @limiter.limit(notation)` over
one handler, `else:` the same route bare) is unlimited by default. Where routes carry a
limiter's decorators, they decide; an import of a limiter library counts on its own only
when no route shows how it is used.

`aiolimiter` and the `ratelimit` decorator package do not count: they throttle the service's
own outbound calls, not the requests it receives.

## Why is this bad?
Without a limit, one client (a buggy retry loop, a scraper, an attacker) can use up the
service's workers, database connections and upstream quotas, and every other client sees
timeouts. A limiter keyed by principal, then IP, turns that into `429 Too Many Requests` for the
offender alone. Counters must live in Redis so that every replica enforces the same limit.

## Example
```python
app = FastAPI()


@app.post("/orders")
async def create_order(order: Order): ...
```

## How to fix
```python
from fastapi_limiter.depends import RateLimiter

app = FastAPI(lifespan=lifespan)  # lifespan calls FastAPILimiter.init(redis)


@app.post("/orders", dependencies=[Depends(RateLimiter(times=10, seconds=60))])
async def create_order(order: Order): ...
```
"#,
    check,
};

/// Modules whose only purpose is limiting inbound requests.
const LIMITER_MODULES: &[&str] = &["slowapi", "limits", "fastapi_limiter", "pyrate_limiter"];

/// Words in a middleware's name that mark it as a rate limiter (`RateLimitMiddleware`,
/// `ThrottlingMiddleware`, `rate_limit_middleware`).
const LIMITER_WORDS: &[&str] = &[
    "ratelimit",
    "rate_limit",
    "throttl",
    "limiter",
    "limit_requests",
    "request_limit",
    "requests_limit",
];

fn names_limiter(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    LIMITER_WORDS.iter().any(|w| name.contains(w))
}

/// `app.add_middleware(BaseHTTPMiddleware, dispatch=rate_limit)`: the class is generic, the
/// function it dispatches to says what it does.
fn dispatches_to_limiter(cx: &Context, m: &Middleware) -> bool {
    m.call.is_some_and(|c| {
        cx.project
            .call(c)
            .kwarg("dispatch")
            .and_then(|k| k.value.as_name())
            .is_some_and(|r| names_limiter(r.last()))
    })
}

/// The same route (app, methods, known path) defined again without the limit in the same
/// file: the limit is applied in one branch only, chosen at run time.
fn has_unlimited_twin(service: &Service, route: &Route) -> bool {
    route.path_known
        && service.routes.iter().any(|o| {
            !o.has_rate_limit()
                && o.path_known
                && o.at.file == route.at.file
                && o.app == route.app
                && o.path == route.path
                && o.methods == route.methods
                && (o.at.file, o.at.range) != (route.at.file, route.at.range)
        })
}

fn check(cx: &Context, sink: &mut Sink) {
    let Some(service) = cx.service else { return };
    let Some(anchor) = service.primary().map(|a| a.at).or_else(|| service.anchor()) else {
        return;
    };
    let decorated = service.routes.iter().any(|r| r.rate_limited_by_decorator);
    let limited = service
        .routes
        .iter()
        .any(|r| r.has_rate_limit() && !has_unlimited_twin(service, r))
        || (!decorated && cx.imports_module(LIMITER_MODULES))
        || service.middleware.iter().any(|m| {
            names_limiter(m.target.last())
                || dispatches_to_limiter(cx, m)
                || LIMITER_MODULES.iter().any(|l| m.target.in_module(l))
        })
        || cx.project.proxy_facts(service).rate_limit;
    if !limited {
        sink.report(
            anchor,
            format!(
                "service `{}` has no rate limiting: no limiter dependency, decorator or middleware",
                service.name
            ),
        );
    }
}
