//! RS004 `http-client-per-request`: an HTTP client (connection pool) built on every request
//! or task instead of shared.

use super::{is_cli_command, is_client_constructor};
use crate::audit::rules::cli::runs_as_own_process;
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
It also reports a client opened with `with` / `async with` in any other function of the
service (`async with httpx.AsyncClient() as client:` in a helper the handlers call): the
`with` block closes the client when the call returns, so each call gets a pool of its own.
Clients built at module level, in lifespan or startup functions, in lifecycle methods that
run once per process or listener (`__init__`, `__aenter__`, `main`, `run`, `start`,
`serve`, `setup`), in modules that define CLI commands or run as a process of their own
(an operator tool started with `python -m`: its `__main__` block runs `asyncio.run(...)`, it
starts no server, builds no app and no other module imports it), in generator functions (an `@asynccontextmanager` whose client outlives the
call around its `yield`), in CLI commands, in tests and in scripts are not reported, nor a
client a helper constructs without `with` (it may be kept: `self.client = httpx.Client()`),
nor a client whose transport calls an app in the same process (`transport=
httpx.ASGITransport(app=request.app)`, `WSGITransport`, `MockTransport`, given directly or
through a local of the same function): it opens no connection, so there is no pool to lose.

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
    let lifespan: Vec<FnRef> = cx
        .service
        .map(|s| {
            s.apps
                .iter()
                .flat_map(|a| a.lifespan.iter().copied())
                .collect()
        })
        .unwrap_or_default();
    for (file, source, code) in cx.service_code() {
        // Helpers of a CLI module, or of a module run as a process of its own (`python -m
        // pkg.tool`), run once per command, not per request.
        let cli_module =
            code.functions.iter().any(is_cli_command) || runs_as_own_process(cx, file, code);
        for call in &code.calls {
            let Some(func) = call.func else { continue };
            if call.deferred
                || !is_client_constructor(&call.callee)
                || has_in_process_transport(code, func, call)
                || configured_by_caller(code, func, call)
            {
                continue;
            }
            let at = FnRef { file, func };
            let per_call = call.in_with && !cli_module && is_per_call_scope(code, at, &lifespan);
            if !per_call && !cx.is_entry_point(at) {
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

/// httpx transports that hand requests to an app or a function in the same process.
const IN_PROCESS_TRANSPORTS: &[&str] = &["ASGITransport", "WSGITransport", "MockTransport"];

/// The client's `transport=` is an in-process transport: built in the call, or bound to a
/// local of the same function (`transport = httpx.ASGITransport(app=app)`).
fn has_in_process_transport(code: &CodeFile, func: FnId, call: &Call) -> bool {
    let in_process = |c: &crate::audit::model::code::CallValue| {
        c.callee.in_module("httpx") && IN_PROCESS_TRANSPORTS.contains(&c.callee.last())
    };
    match call.kwarg("transport").map(|k| &k.value) {
        Some(Value::Call(c)) => in_process(c),
        Some(Value::Ref(r)) => {
            let local = r.path.rsplit('.').next().unwrap_or(&r.path);
            let assigned: Vec<&Value> = code
                .assigns
                .iter()
                .filter(|a| a.scope == Scope::Function(func) && *a.target == *local)
                .map(|a| &a.value)
                .collect();
            !assigned.is_empty()
                && assigned
                    .iter()
                    .all(|v| v.as_call().is_some_and(&in_process))
        }
        _ => false,
    }
}

/// Client options that fix where its connections go: the proxy, the transport, the TLS
/// identity and trust.
const ROUTING_OPTIONS: &[&str] = &["proxy", "proxies", "mounts", "transport", "cert", "verify"];

/// The client's proxy, transport or TLS settings are a parameter of the function that builds
/// it (`httpx.AsyncClient(proxy=proxy)` in `fetch(url, proxy)`): each call's connections go
/// where its caller says, so one shared pool cannot serve every call.
fn configured_by_caller(code: &CodeFile, func: FnId, call: &Call) -> bool {
    let params = &code.function(func).params;
    call.kwargs
        .iter()
        .filter(|k| ROUTING_OPTIONS.contains(&&*k.name))
        .filter_map(|k| k.value.as_name())
        .any(|r| r.origin == RefOrigin::Unknown && params.iter().any(|p| *p.name == *r.path))
}

/// Functions that run once for the life of a process, a server or a listener: a client they
/// open with `with` serves that whole life.
const LIFECYCLE_NAMES: &[&str] = &[
    "__init__",
    "__aenter__",
    "__enter__",
    "main",
    "run",
    "start",
    "serve",
    "startup",
    "setup",
    "lifespan",
];

/// True when a client opened with `with` in `at` lives for one call of it: `at` is no
/// lifespan or startup hook, no lifecycle method, no generator (whose `yield` inside the
/// `with` hands the client out for longer) and no CLI command.
fn is_per_call_scope(code: &CodeFile, at: FnRef, lifespan: &[FnRef]) -> bool {
    let f = code.function(at.func);
    !f.is_generator
        && !lifespan.contains(&at)
        && !LIFECYCLE_NAMES.contains(&&*f.name)
        && !is_cli_command(f)
}
