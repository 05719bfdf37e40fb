//! RS003 `missing-retry-or-circuit-breaker`: a service calls other services over HTTP with
//! neither retries nor a circuit breaker anywhere.

use super::{is_httpx_transport, is_outbound_http};
use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "RS003",
    name: "missing-retry-or-circuit-breaker",
    principle: Principle::P9,
    severity: Severity::Info,
    kinds: ALL_KINDS,
    reach: Reach::Services,
    help: "retry idempotent calls with jittered backoff (tenacity, stamina, httpx transport retries) and put a circuit breaker (purgatory, pybreaker) per upstream",
    doc: r#"## What it does
Reports, once per service, a service whose code makes outbound HTTP calls (requests, httpx
or aiohttp calls or clients, outside tests) but has no retry and no circuit breaker
anywhere: no import of tenacity, stamina, backoff, retrying, aiohttp_retry, httpx_retries or
urllib3's `Retry`, no `httpx.HTTPTransport(retries=...)` / `AsyncHTTPTransport(retries=...)`,
no `HTTPAdapter(max_retries=...)`, no circuit breaker (purgatory, pybreaker, aiobreaker,
circuitbreaker), and none of those packages among its declared dependencies. The finding
points at the service's app and names the first outbound call.

Hand-written retry loops are not recognised; suppress the finding if you have one.

## Why is this bad?
Networks drop packets, pods restart and upstreams shed load with 429/503. Without retries a
transient blip becomes a user-facing error; without a circuit breaker a failing upstream is
hammered by every request, each waiting for its timeout, until the caller runs out of
workers and fails too.

## Example
```python
async def get_user(user_id: str) -> dict:
    resp = await http.get(f"{settings.users_url}/users/{user_id}")
    resp.raise_for_status()
    return resp.json()
```

## How to fix
```python
from purgatory import AsyncCircuitBreakerFactory
import stamina

breakers = AsyncCircuitBreakerFactory(default_threshold=5, default_ttl=30)

@stamina.retry(on=httpx.TransportError, attempts=3)
async def get_user(user_id: str) -> dict:
    async with await breakers.get_breaker("users"):
        resp = await http.get(f"{settings.users_url}/users/{user_id}")
    resp.raise_for_status()
    return resp.json()
```
"#,
    check,
};

/// Modules whose import means the service retries or breaks circuits.
const RESILIENCE_MODULES: &[&str] = &[
    "tenacity",
    "stamina",
    "backoff",
    "retrying",
    "retry",
    "opnieuw",
    "aiohttp_retry",
    "httpx_retries",
    "urllib3.Retry",
    "urllib3.util.Retry",
    "urllib3.util.retry",
    "requests.adapters.Retry",
    "requests.packages.urllib3.util.retry",
    "purgatory",
    "pybreaker",
    "aiobreaker",
    "circuitbreaker",
    "aiocircuitbreaker",
];

/// The same, as distribution names in the service's manifests.
const RESILIENCE_PACKAGES: &[&str] = &[
    "tenacity",
    "stamina",
    "backoff",
    "retrying",
    "retry",
    "opnieuw",
    "aiohttp-retry",
    "httpx-retries",
    "purgatory",
    "pybreaker",
    "aiobreaker",
    "circuitbreaker",
    "aiocircuitbreaker",
];

fn in_module(path: &str, module: &str) -> bool {
    path.strip_prefix(module)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

/// A retry setting that is present and not literally zero.
fn retries_on(call: &Call, name: &str) -> bool {
    call.kwarg(name)
        .is_some_and(|k| !matches!(k.value, Value::Int(0) | Value::None))
}

fn check(cx: &Context, sink: &mut Sink) {
    let Some(service) = cx.service else { return };
    let Some(anchor) = service.anchor() else {
        return;
    };
    if service
        .requirements
        .iter()
        .any(|r| RESILIENCE_PACKAGES.contains(&r.name.as_str()))
    {
        return;
    }
    let mut first_call: Option<(FileId, &Call)> = None;
    for (file, _, code) in cx.service_code() {
        let imports_resilience = code
            .imports
            .iter()
            .any(|i| RESILIENCE_MODULES.iter().any(|m| in_module(&i.target, m)));
        let configures_retries = code.calls.iter().any(|c| {
            (is_httpx_transport(&c.callee) && retries_on(c, "retries"))
                || (c
                    .callee
                    .is_any(&["requests.adapters.HTTPAdapter", "requests.HTTPAdapter"])
                    && retries_on(c, "max_retries"))
        });
        if imports_resilience || configures_retries {
            return;
        }
        if first_call.is_none() {
            first_call = code
                .calls
                .iter()
                .find(|c| is_outbound_http(&c.callee))
                .map(|c| (file, c));
        }
    }
    let Some((file, call)) = first_call else {
        return;
    };
    let source = cx.project.file(file);
    sink.report(
        anchor,
        format!(
            "service `{}` makes outbound HTTP calls (first: `{}` at {}:{}) with no retry and no circuit breaker",
            service.name,
            source.slice(call.callee_range),
            source.rel,
            source.line_of(call.callee_range.start()),
        ),
    );
}
