//! RS004 `http-client-per-request`: an HTTP client (connection pool) built on every request
//! or task instead of shared.

use super::is_client_constructor;
use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "RS004",
    name: "http-client-per-request",
    principle: Principle::P9,
    severity: Severity::Warning,
    kinds: ALL_KINDS,
    reach: Reach::Services,
    help: "create one client at startup (lifespan or module level) and share it through app.state or a dependency",
    doc: r#"## What it does
Reports `httpx.AsyncClient(...)`, `httpx.Client(...)`, `requests.Session()` and
`aiohttp.ClientSession(...)` constructed inside a function on the request or task path: a
route handler, a dependency (a `yield` dependency included: it still runs per request), an
HTTP middleware function or a task, `async with httpx.AsyncClient() as client:` included.
Clients built at module level, in lifespan or startup functions, in helpers that are not
themselves handlers, dependencies or tasks, in tests and in scripts are not reported.

## Why is this bad?
A client is a connection pool. Building one per request throws the pool away each time:
every call pays DNS, a TCP handshake and a TLS handshake again, keep-alive never helps,
sockets pile up in TIME_WAIT and, under load, the process runs out of file descriptors or
ephemeral ports. Limits, timeouts and instrumentation configured on a shared client are
also easy to forget on ad-hoc ones.

## Example
```python
@router.get("/users/{user_id}")
async def get_user(user_id: str):
    async with httpx.AsyncClient() as client:
        resp = await client.get(f"{settings.users_url}/users/{user_id}")
    return resp.json()
```

## How to fix
```python
@asynccontextmanager
async def lifespan(app: FastAPI):
    async with httpx.AsyncClient(timeout=httpx.Timeout(5.0, connect=2.0)) as client:
        app.state.http = client
        yield

def http_client(request: Request) -> httpx.AsyncClient:
    return request.app.state.http

@router.get("/users/{user_id}")
async def get_user(user_id: str, http: httpx.AsyncClient = Depends(http_client)):
    resp = await http.get(f"{settings.users_url}/users/{user_id}")
    return resp.json()
```
"#,
    check,
};

fn check(cx: &Context, sink: &mut Sink) {
    for (file, source, code) in cx.service_code() {
        for call in &code.calls {
            let Some(func) = call.func else { continue };
            if call.deferred
                || !is_client_constructor(&call.callee)
                || !cx.is_entry_point(FnRef { file, func })
            {
                continue;
            }
            sink.report(
                Loc { file, range: call.callee_range },
                format!(
                    "`{}()` creates a new HTTP client on every call of `{}`; share one client instead",
                    source.slice(call.callee_range),
                    code.function(func).name,
                ),
            );
        }
    }
}
