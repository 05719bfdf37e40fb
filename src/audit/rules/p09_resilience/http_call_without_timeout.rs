//! RS001 `http-call-without-timeout`: an outbound HTTP call that can wait forever.

use super::{
    any_path, in_http_library, is_httpx_async_client_send, is_httpx_client, is_httpx_function,
    is_httpx_sync_client_send, is_httpx_timeout, is_requests_send,
};
use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "RS001",
    name: "http-call-without-timeout",
    principle: Principle::P9,
    severity: Severity::Warning,
    kinds: ALL_KINDS,
    reach: Reach::AllCode,
    help: "pass an explicit timeout (e.g. timeout=httpx.Timeout(5.0, connect=2.0) or timeout=(3.05, 10) for requests)",
    doc: r#"## What it does
Reports outbound HTTP calls that have no timeout:
- `requests.get/post/put/patch/delete/head/options/request(...)` and the same methods (and
  `send`) on a `requests.Session`, without `timeout=` (or with `timeout=None`);
- `urllib.request.urlopen(...)` without a timeout;
- httpx (and httpx2) calls, clients and client methods given `timeout=None`, and
  `httpx.Timeout(None)` without a read timeout; a `stream(...)` (`client.stream("GET",
  "/events", timeout=None)`) is not reported: a long-lived event stream turns the timeout off
  on purpose, since a read timeout would cut it whenever it is idle;
- `aiohttp.ClientTimeout(...)` that sets neither `total` nor `sock_read`.

httpx's default 5 second timeout is a timeout: `httpx.get(url)` and `httpx.AsyncClient()`
are not reported, nor is `aiohttp.ClientSession()` (300 second default). Calls passing
`**kwargs` are assumed to carry one. Tests are skipped.

## Why is this bad?
requests and urllib wait forever by default. An upstream that accepts the connection but
never answers holds the calling worker (or thread, or coroutine with its connection) until
the process is restarted. Under load these stuck calls pile up until the service stops
answering its own clients, turning one slow dependency into a cascading outage.

## Example
```python
resp = requests.get(f"{settings.users_url}/users/{user_id}")
client = httpx.AsyncClient(timeout=None)
```

## How to fix
```python
resp = requests.get(f"{settings.users_url}/users/{user_id}", timeout=(3.05, 10))
client = httpx.AsyncClient(timeout=httpx.Timeout(5.0, connect=2.0))
```
"#,
    check,
};

fn check(cx: &Context, sink: &mut Sink) {
    for (file, source, code) in cx.code_files() {
        if source.is_test() {
            continue;
        }
        for call in code.calls.iter().filter(|c| in_http_library(&c.callee)) {
            // Only for a message: reading the text costs a file read once it is released.
            let name = || source.slice(call.callee_range);
            let callee = Loc {
                file,
                range: call.callee_range,
            };
            let timeout = call.kwarg("timeout");
            let explicit_none = timeout.filter(|k| k.value.is_none());
            if is_requests_send(&call.callee) {
                if let Some(k) = explicit_none {
                    sink.report(
                        Loc {
                            file,
                            range: k.range,
                        },
                        format!("`{}()` called with `timeout=None` can wait forever", name()),
                    );
                } else if timeout.is_none() && !call.has_star_kwargs {
                    sink.report(
                        callee,
                        format!("`{}()` has no timeout and can wait forever", name()),
                    );
                }
            } else if call.callee.is("urllib.request.urlopen") {
                match call.arg(2, "timeout") {
                    Some(Value::None) => sink.report(
                        callee,
                        format!("`{}()` called with `timeout=None` can wait forever", name()),
                    ),
                    None if !call.has_star_kwargs => sink.report(
                        callee,
                        format!("`{}()` has no timeout and can wait forever", name()),
                    ),
                    _ => {}
                }
            } else if is_httpx_function(&call.callee)
                || is_httpx_client(&call.callee)
                || is_httpx_sync_client_send(&call.callee)
                || is_httpx_async_client_send(&call.callee)
            {
                // A long-lived stream (`client.stream("GET", "/events", timeout=None)`, an
                // event subscription read in a reconnect loop) turns the timeout off on
                // purpose: a read timeout would cut the stream whenever it is idle.
                let stream = call.callee.last() == "stream";
                if let Some(k) = explicit_none.filter(|_| !stream) {
                    sink.report(
                        Loc {
                            file,
                            range: k.range,
                        },
                        format!(
                            "`{}(timeout=None)` turns off httpx's default timeout",
                            name()
                        ),
                    );
                }
            } else if is_httpx_timeout(&call.callee) {
                let default_none = call.arg(0, "timeout").is_some_and(Value::is_none);
                let read = call.kwarg("read").is_some_and(|k| !k.value.is_none());
                if default_none && !read && !call.has_star_kwargs {
                    sink.report(callee, format!("`{}(None)` sets no read timeout", name()));
                }
            } else if any_path(&call.callee, |p| {
                p == "aiohttp.ClientTimeout" || p == "aiohttp.client.ClientTimeout"
            }) {
                let set = |pos, key| call.arg(pos, key).is_some_and(|v| !v.is_none());
                if !set(0, "total") && !set(2, "sock_read") && !call.has_star_kwargs {
                    sink.report(
                        callee,
                        format!(
                            "`{}` sets neither `total` nor `sock_read`: requests can wait forever",
                            name()
                        ),
                    );
                }
            }
        }
    }
}
