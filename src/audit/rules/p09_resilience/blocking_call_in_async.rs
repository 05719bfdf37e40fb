//! RS002 `blocking-call-in-async`: a blocking call inside `async def`, directly or through a
//! sync helper of the same service.

use rustc_hash::FxHashMap as HashMap;

use super::{any_path, is_httpx_function, is_httpx_sync_client_send, is_requests_send, method_of};
use crate::audit::model::code::Function;
use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "RS002",
    name: "blocking-call-in-async",
    principle: Principle::P9,
    severity: Severity::Warning,
    kinds: ALL_KINDS,
    reach: Reach::AllCode,
    help: "use the async equivalent (httpx.AsyncClient, asyncio.sleep, redis.asyncio) or run it with await asyncio.to_thread(...)",
    doc: r#"## What it does
Reports blocking calls made inside an `async def`: requests, sync httpx (`httpx.get`,
`httpx.Client` methods), `time.sleep`, sync redis client methods, builtin `open`,
`subprocess.run/call/check_call/check_output/Popen`, `os.system`, `urllib.request.urlopen`,
`socket.create_connection`, `sqlite3.connect` / `psycopg2.connect` (and their `execute`), and
boto3 client methods. It goes one call deeper than ruff's ASYNC rules: a call from an
`async def` to a sync function of the same service (or file) whose own body makes one of
those calls is reported at the call in the async function.

Calls in a nested `def`, a lambda or a generator expression, awaited calls, and functions
passed to `asyncio.to_thread`, `run_in_threadpool`, `loop.run_in_executor` or
`anyio.to_thread.run_sync` are not reported. Tests and scripts are skipped.

## Why is this bad?
An event loop runs every request of the process on one thread. A blocking call inside a
coroutine stops all of them until it returns: one slow upstream or one `time.sleep(1)` adds
its full latency to every in-flight request, health checks time out and the orchestrator
restarts a process that is merely waiting.

## Example
```python
def load_profile(user_id: str) -> dict:
    return requests.get(f"{USERS}/{user_id}", timeout=5).json()

@router.get("/me")
async def me(user: User = Depends(current_user)):
    time.sleep(0.1)
    return load_profile(user.id)
```

## How to fix
```python
@router.get("/me")
async def me(user: User = Depends(current_user), http: httpx.AsyncClient = Depends(client)):
    await asyncio.sleep(0.1)
    resp = await http.get(f"{USERS}/{user.id}")
    return resp.json()
```
Or keep the sync helper and run it in a thread: `await asyncio.to_thread(load_profile, user.id)`.
"#,
    check,
};

const BLOCKING_FUNCTIONS: &[&str] = &[
    "time.sleep",
    "os.system",
    "subprocess.run",
    "subprocess.call",
    "subprocess.check_call",
    "subprocess.check_output",
    "subprocess.Popen",
    "subprocess.getoutput",
    "subprocess.getstatusoutput",
    "urllib.request.urlopen",
    "socket.create_connection",
    "sqlite3.connect",
    "psycopg2.connect",
];

/// Sync redis clients: every method sends a command except these builders.
const SYNC_REDIS: &[&str] = &[
    "redis.Redis()",
    "redis.StrictRedis()",
    "redis.client.Redis()",
    "redis.from_url()",
    "redis.Redis.from_url()",
    "redis.StrictRedis.from_url()",
];
const REDIS_BUILDERS: &[&str] = &["pipeline", "pubsub", "lock", "register_script", "monitor"];

const DB_CONNECTIONS: &[&str] = &[
    "sqlite3.connect()",
    "psycopg2.connect()",
    "sqlite3.connect().cursor()",
    "psycopg2.connect().cursor()",
];
const DB_METHODS: &[&str] = &[
    "execute",
    "executemany",
    "executescript",
    "commit",
    "rollback",
    "fetchone",
    "fetchall",
    "fetchmany",
];

const BOTO3_CLIENTS: &[&str] = &[
    "boto3.client()",
    "boto3.session.Session().client()",
    "boto3.Session().client()",
];
/// boto3 client methods that do no I/O.
const BOTO3_LOCAL: &[&str] = &[
    "get_paginator",
    "get_waiter",
    "can_paginate",
    "generate_presigned_url",
    "generate_presigned_post",
    "close",
];

/// True when a call to `r` blocks the calling thread on I/O or sleep.
fn is_blocking(r: &Ref) -> bool {
    is_requests_send(r)
        || is_httpx_function(r)
        || is_httpx_sync_client_send(r)
        || r.is("open")
        || r.is_any(BLOCKING_FUNCTIONS)
        || any_path(r, |p| {
            method_of(p, SYNC_REDIS).is_some_and(|m| !REDIS_BUILDERS.contains(&m))
                || SYNC_REDIS
                    .iter()
                    .any(|b| p.strip_prefix(b) == Some(".pipeline().execute"))
                || method_of(p, DB_CONNECTIONS).is_some_and(|m| DB_METHODS.contains(&m))
                || method_of(p, BOTO3_CLIENTS).is_some_and(|m| !BOTO3_LOCAL.contains(&m))
        })
}

/// The first blocking call made directly in `func`'s body.
fn first_blocking_call(code: &CodeFile, func: FnId) -> Option<&Call> {
    code.calls_in(func)
        .find(|c| !c.awaited && is_blocking(&c.callee))
}

/// The sync function of the service (or, outside services, of this file) a call runs.
fn sync_helper(cx: &Context, file: FileId, code: &CodeFile, call: &Call) -> Option<FnRef> {
    let target = match cx.service {
        Some(service) => cx.project.resolve_function(service, &call.callee),
        None => None,
    }
    .or_else(|| {
        let name = call
            .callee
            .path
            .strip_prefix(&*code.module)?
            .strip_prefix('.')?;
        let (id, _) = code.module_function(name)?;
        Some(FnRef { file, func: id })
    })?;
    let f: &Function = cx.project.function(target);
    (!f.is_async && !f.is_generator).then_some(target)
}

fn check(cx: &Context, sink: &mut Sink) {
    // A helper is looked up once however many async functions call it: scanning a file's
    // calls per call site is quadratic on large services.
    let mut helpers: HashMap<(FileId, &str), Option<FnRef>> = HashMap::default();
    let mut blocking_in: HashMap<FnRef, Option<&Call>> = HashMap::default();
    for (file, source, code) in cx.code_files() {
        if source.role != FileRole::Service {
            continue;
        }
        for call in &code.calls {
            let Some(fid) = call.func else { continue };
            let func = code.function(fid);
            if !func.is_async || call.deferred || call.awaited {
                continue;
            }
            let at = Loc {
                file,
                range: call.callee_range,
            };
            // Only for a message: reading the text costs a file read once it is released.
            let name = || source.slice(call.callee_range);
            if is_blocking(&call.callee) {
                sink.report(
                    at,
                    format!(
                        "blocking call `{}()` inside `async def {}` stalls the event loop",
                        name(),
                        func.name
                    ),
                );
                continue;
            }
            if call.callee.origin == RefOrigin::Unknown {
                continue;
            }
            let helper = *helpers
                .entry((file, &*call.callee.path))
                .or_insert_with(|| sync_helper(cx, file, code, call));
            let Some(helper) = helper else {
                continue;
            };
            let Some(helper_code) = cx.project.code(helper.file) else {
                continue;
            };
            let helper_source = cx.project.file(helper.file);
            if helper_source.is_test() {
                continue;
            }
            let inner = *blocking_in
                .entry(helper)
                .or_insert_with(|| first_blocking_call(helper_code, helper.func));
            if let Some(inner) = inner {
                sink.report(
                    at,
                    format!("sync helper `{}()` makes blocking call `{}()` ({}:{}) inside `async def {}`", name(),
                        helper_source.slice(inner.callee_range),
                        helper_source.rel,
                        helper_source.line_of(inner.callee_range.start()),
                        func.name,
                    ),
                );
            }
        }
    }
}
