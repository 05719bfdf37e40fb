//! HC001 `missing-liveness-route`: a container service with no liveness endpoint.

use super::serves_as_liveness;
use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "HC001",
    name: "missing-liveness-route",
    principle: Principle::P6,
    severity: Severity::Warning,
    kinds: &[Kind::Container],
    reach: Reach::Services,
    help: "add a dependency-free `GET /healthz` route and point the liveness probe at it",
    doc: r#"## What it does
Reports a container service whose HTTP app has no liveness route: no route whose last path
segment is `healthz`, `health`, `livez`, `live`, `liveness`, `ping`, `healthcheck` or
`heartbeat` (`/healthz`, `/health/live`, `/v2/health/live`, `/api/v1/health` all count), and no
`GET /` whose handler answers without reaching a dependency (it answers while the process
serves, which is what a liveness probe asks). A path given by a constant is read
(`@app.get(HEALTH)` with `HEALTH = "/health"`); when it cannot be read (a setting, a constant
outside the audited tree) the handler's name stands for it (`async def health()`). Routes
given to the app as `FastAPI(routes=[APIRoute("/healthz", ...)])` count. One finding per service,
at the `FastAPI(...)` call of the app the service runs. Lambda functions and workers are not reported: they have no
long-running HTTP server to probe.

## Why is this bad?
An orchestrator restarts a container only when something tells it the process is stuck.
Without a liveness endpoint, Kubernetes and Docker can only check that the process exists:
a deadlocked event loop or an exhausted worker pool keeps receiving traffic and failing it
until someone restarts the pod by hand.

## Example
```python
app = FastAPI()
app.include_router(orders.router)
```

## How to fix
```python
app = FastAPI()
app.include_router(orders.router)


@app.get("/healthz", include_in_schema=False)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}  # no database or Redis checks: those belong in /readyz
```
"#,
    check,
};

fn check(cx: &Context, sink: &mut Sink) {
    super::report_missing_route(
        cx,
        sink,
        serves_as_liveness,
        "liveness route such as `/healthz`",
    );
}
