pub mod blocking_call_in_async;
pub mod http_call_without_timeout;
pub mod http_client_per_request;
pub mod missing_retry_or_circuit_breaker;

use crate::audit::model::Ref;
use crate::audit::model::code::{Function, RefOrigin, Value};

/// Methods that send a request, on the requests and httpx modules and on their clients.
const HTTP_METHODS: &[&str] = &[
    "get", "post", "put", "patch", "delete", "head", "options", "request",
];

/// Import names of httpx and its maintained fork.
const HTTPX: &[&str] = &["httpx", "httpx2"];

const REQUESTS_SESSIONS: &[&str] = &[
    "requests.Session()",
    "requests.session()",
    "requests.sessions.Session()",
];

/// True when `f` holds for the resolved path or the instance form of `r`.
pub(super) fn any_path(r: &Ref, f: impl Fn(&str) -> bool) -> bool {
    (r.origin != RefOrigin::Unknown && f(&r.path)) || r.instance.as_deref().is_some_and(f)
}

/// `m` for `<base>.m`, when `m` is a plain attribute.
/// The first dotted component of a path (`httpx` in `httpx.AsyncClient().get`).
fn root(path: &str) -> &str {
    path.split(['.', '(']).next().unwrap_or(path)
}

/// True when the reference may be an HTTP library's: a cheap test that lets rules skip the
/// (many) calls that are not, before the precise ones below.
pub(super) fn in_http_library(r: &Ref) -> bool {
    any_path(r, |p| {
        matches!(
            root(p),
            "requests" | "urllib" | "httpx" | "httpx2" | "aiohttp"
        )
    })
}

pub(super) fn method_of<'a>(path: &'a str, bases: &[&str]) -> Option<&'a str> {
    bases
        .iter()
        .find_map(|b| path.strip_prefix(b)?.strip_prefix('.'))
        .filter(|m| !m.contains(['.', '(']))
}

fn httpx_path(path: &str, suffix: &str) -> bool {
    HTTPX.iter().any(|m| {
        path.strip_prefix(m)
            .and_then(|r| r.strip_prefix('.'))
            .is_some_and(|r| r == suffix)
    })
}

/// `requests.get(...)`, `requests.request(...)`, `session.post(...)` on a `requests.Session`.
pub(super) fn is_requests_send(r: &Ref) -> bool {
    any_path(r, |p| {
        method_of(p, &["requests", "requests.api"]).is_some_and(|m| HTTP_METHODS.contains(&m))
            || method_of(p, REQUESTS_SESSIONS)
                .is_some_and(|m| HTTP_METHODS.contains(&m) || m == "send")
    })
}

/// `httpx.get(...)`, `httpx.stream(...)`: module-level httpx functions (synchronous).
pub(super) fn is_httpx_function(r: &Ref) -> bool {
    any_path(r, |p| {
        HTTP_METHODS
            .iter()
            .chain(&["stream"])
            .any(|m| httpx_path(p, m))
    })
}

/// A request sent through an `httpx.Client()` instance (synchronous).
pub(super) fn is_httpx_sync_client_send(r: &Ref) -> bool {
    any_path(r, |p| {
        method_of(p, &["httpx.Client()", "httpx2.Client()"])
            .is_some_and(|x| HTTP_METHODS.contains(&x) || x == "stream" || x == "send")
    })
}

/// A request sent through an `httpx.AsyncClient()` instance.
pub(super) fn is_httpx_async_client_send(r: &Ref) -> bool {
    any_path(r, |p| {
        method_of(p, &["httpx.AsyncClient()", "httpx2.AsyncClient()"])
            .is_some_and(|x| HTTP_METHODS.contains(&x) || x == "stream")
    })
}

/// `httpx.Client` / `httpx.AsyncClient` constructors.
pub(super) fn is_httpx_client(r: &Ref) -> bool {
    any_path(r, |p| {
        httpx_path(p, "Client") || httpx_path(p, "AsyncClient")
    })
}

/// `httpx.Timeout(...)`.
pub(super) fn is_httpx_timeout(r: &Ref) -> bool {
    any_path(r, |p| httpx_path(p, "Timeout"))
}

/// `httpx.HTTPTransport` / `httpx.AsyncHTTPTransport`.
pub(super) fn is_httpx_transport(r: &Ref) -> bool {
    any_path(r, |p| {
        httpx_path(p, "HTTPTransport") || httpx_path(p, "AsyncHTTPTransport")
    })
}

/// Constructors of HTTP clients (connection pools) meant to be shared.
pub(super) fn is_client_constructor(r: &Ref) -> bool {
    is_httpx_client(r)
        || r.is_any(&[
            "requests.Session",
            "requests.session",
            "requests.sessions.Session",
            "aiohttp.ClientSession",
            "aiohttp.client.ClientSession",
        ])
}

/// Any call that sends or prepares outbound HTTP through requests, httpx or aiohttp.
pub(super) fn is_outbound_http(r: &Ref) -> bool {
    is_requests_send(r)
        || is_httpx_function(r)
        || is_httpx_sync_client_send(r)
        || is_httpx_async_client_send(r)
        || is_client_constructor(r)
        || r.is("aiohttp.request")
}

/// CLI frameworks: an `async def` command runs on an event loop of its own that serves no
/// one else, so blocking it stalls nothing but the command.
const CLI_MODULES: &[&str] = &["click", "asyncclick", "typer", "cyclopts"];

/// An `async def` made a command by its decorators: `@click.argument(...)`,
/// `@cli.command("build")`, `@app.command()` on a Typer app.
pub(super) fn is_cli_command(func: &Function) -> bool {
    func.decorators.iter().any(|d| {
        let callee = match &d.value {
            Value::Call(c) => &c.callee,
            Value::Ref(r) => r,
            _ => return false,
        };
        CLI_MODULES.iter().any(|m| callee.in_module(m))
            || (callee.origin != RefOrigin::Unknown && matches!(callee.last(), "command" | "group"))
    })
}
