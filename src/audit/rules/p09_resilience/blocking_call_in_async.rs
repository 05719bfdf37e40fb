//! RS002 `blocking-call-in-async`: a blocking call inside `async def`, directly or through a
//! sync helper of the same service.

use ruff_text_size::{TextRange, TextSize};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use super::{
    any_path, is_cli_command, is_httpx_function, is_httpx_sync_client_send, is_requests_send,
    method_of,
};
use crate::audit::model::code::{CompareOp, Function};
use crate::audit::model::{Symbol, WorkerFramework};
use crate::audit::rules::cli::{SERVER_MODULES, runs_as_own_process, starts_or_builds_server};
use crate::audit::rules::prelude::*;
use crate::audit::rules::runs::Runs;

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
`os.fdopen`, `io.open` (not of a kernel pseudo-file: `open("/proc/meminfo")` and
`Path(f"/proc/{pid}/stat").read_text()` read memory, not a disk), `subprocess.run/call/check_call/check_output/Popen`, `os.system`,
`urllib.request.urlopen`, `socket.create_connection`, websocket-client
(`websocket.create_connection(url)` and its connection's `send` / `recv`), `sqlite3.connect` / `psycopg2.connect` (and their `execute`),
boto3 client methods and resource actions (`boto3.resource("s3").Bucket(b).upload_file(...)`),
GitPython (`git.Repo(path)`, `Repo.clone_from`, any method of a `Repo`), fsspec file systems
and `fsspec.open`, pathlib-style `read_text` / `read_bytes` / `write_text` / `write_bytes`
and `.open(mode)` on any receiver (a resolved one too: `Path(p).read_text()`,
`importlib.resources.files(pkg).joinpath(name).read_text()`; anyio's and aiofiles' are
async), publishing a Celery or RQ task of the service (`task.delay(...)`,
`task.apply_async(...)`) and waiting on a Celery `AsyncResult` (`.get()`, `.ready()`), and
the methods of parameters typed as sync clients: a SQLAlchemy or SQLModel `Session`
(`db: Session = Depends(get_db)`, also `Annotated[Session, Depends(...)]`), a sync
`redis.Redis`, a `requests.Session`, a GitPython `Repo` (`repo: Repo = Depends(get_repo)`)
and `UploadFile`'s underlying file (`file.file.read()`; `await file.read()` is fine). It
goes deeper than ruff's ASYNC rules: a call from an `async def` to a sync function of the
same service (or file), in this module or another, whose body makes one of those calls is
reported at the call in the async function, up to six helpers deep
(`route -> a() -> b() -> open()`). Methods count: `self.m()` runs the class's method `m`,
`server.wait()` runs `Server.wait` (or a direct base's) when `server = Server(...)`, and
`self.client.get_item()` is a boto3 call when a method above assigned
`self.client = boto3.client(...)`. Helpers memoized with `functools.lru_cache` /
`functools.cache` are not followed: their body runs once, not per call. Neither is what a
helper calls in a memo branch, `if self._key is None:` (or `if _client is None:` on a
module's global) whose body stores that same attribute or name: it runs the first time only
(`self._key = load_secret()`); a branch that tests for `None` but stores nothing is
followed, and so is a parameter rebound on `None` (`if options is None: options = load()`
runs whenever a caller leaves `options` out). Nor what a helper calls in a fallback branch
for a value every caller supplies: `if properties.get("server_id") is None:` (or `if options
is None:`) on a parameter, when each call of the helper in the service passes that parameter
(not as a literal `None`) and, for the `.get(key)` form, a dict with that key, written in the
call or bound to a local name first. What the value holds is taken to be the caller's
business: khoj fills `server_id` with the signed-in user's id on every authenticated route,
so `get_server_id()` reading its env file runs from none of them, but the same dict holds
`None` for an anonymous caller, and the two anonymous routes that reach it are missed. A
helper with one caller leaving the value out, or with no call found, is followed. An `async def` that configures or starts an ASGI server itself (`uvicorn.Config`, `uvicorn.Server(...).serve()`,
hypercorn, granian, daphne) is not reported for what it does before its last such call:
that is start-up, before the loop serves any request (reading a config file, then
`await server.serve()`); what it does after is reported.

Calls in a nested `def`, a lambda or a generator expression, awaited calls, and functions
passed to `asyncio.to_thread`, `run_in_threadpool`, `loop.run_in_executor` or
`anyio.to_thread.run_sync` are not reported, nor `async def` CLI commands (click, typer:
their event loop serves only the command), coroutines of a module run as a process of its
own (its `if __name__ == "__main__":` block calls `asyncio.run(...)`, directly or through a
`main()` of the module that parses arguments, it starts no ASGI server and builds no app, and
no other module of the project imports it: an operator tool run with `python -m`), and
`async def` RQ jobs (each runs on an event loop of its own in the work horse), nor the app's
lifespan and startup functions (they run before the app serves anyone), nor the coroutines
awaited only from startup code, up to four callers up (`lifespan -> migrate() ->
load_fixtures()`; a decorator's `wrapper` counts as awaited where the functions it decorates
are; the lifespan may be bound to a name first, `lifespan = make_lifespan()`): one also
awaited elsewhere, started as a task (`asyncio.create_task(poll())`) or passed as a value is
not startup code. Callers that are command-line commands, and `asyncio.run(reconcile())` in
a command or script (an event loop of its own, unless the coroutine itself starts the
server: `asyncio.run(main())` where `main` awaits `uvicorn.Server(...).serve()`), do not
count as serving either, so a coroutine the lifespan and a command both await is startup
code. A method awaited on an object whose class the audit cannot tell (`manager =
registry.get("config"); await manager.init_config()`) is awaited wherever a call of its name
on such an object is. Nor a coroutine nothing in the service runs: no call of its name on any receiver, no
reference to it as a value (a callback, an item of a list a loop walks: `for step in
(migrate, seed): await step()`), no decorator, no dunder, no override of a method of a class
from outside the service (a coroutine left behind by a refactor stalls no event loop). Tests
and scripts are skipped.

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
    "os.fdopen",
    "io.open",
    "websocket.create_connection",
    "websocket._core.create_connection",
];

/// websocket-client's connections (synchronous sockets; the asyncio library is `websockets`).
const SYNC_WEBSOCKETS: &[&str] = &[
    "websocket.create_connection()",
    "websocket._core.create_connection()",
    "websocket.WebSocket()",
];
const SYNC_WEBSOCKET_METHODS: &[&str] = &[
    "connect",
    "recv",
    "recv_data",
    "recv_frame",
    "send",
    "send_binary",
    "ping",
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

/// boto3 resources (`boto3.resource("s3")`): their sub-resources (`.Bucket(..)`,
/// `.Table(..)`, `.Object(..)`) are local handles, these actions send requests.
const BOTO3_RESOURCES: &[&str] = &[
    "boto3.resource()",
    "boto3.session.Session().resource()",
    "boto3.Session().resource()",
];
const BOTO3_RESOURCE_ACTIONS: &[&str] = &[
    "upload_file",
    "upload_fileobj",
    "download_file",
    "download_fileobj",
    "put",
    "get",
    "delete",
    "load",
    "reload",
    "copy",
    "copy_from",
    "put_object",
    "delete_objects",
    "put_item",
    "get_item",
    "update_item",
    "delete_item",
    "query",
    "scan",
    "all",
    "filter",
    "send_message",
    "receive_messages",
    "publish",
];

/// GitPython: opening a repository reads it from disk, and every method of a `Repo` runs a
/// git subprocess or reads objects.
const GIT_REPO_CALLS: &[&str] = &[
    "git.Repo",
    "git.Repo.init",
    "git.Repo.clone_from",
    "git.repo.Repo",
    "git.repo.Repo.init",
    "git.repo.Repo.clone_from",
    "git.repo.base.Repo",
    "git.repo.base.Repo.clone_from",
];
const GIT_REPOS: &[&str] = &["git.Repo()", "git.repo.Repo()", "git.repo.base.Repo()"];
/// The `Repo` type, for parameters annotated with it (`repo: Repo = Depends(get_repo)`).
const GIT_REPO_TYPES: &[&str] = &["git.Repo", "git.repo.Repo", "git.repo.base.Repo"];

/// fsspec's file systems are synchronous unless created with `asynchronous=True` (whose
/// methods are awaited, and so not reported).
const FSSPEC_FILESYSTEMS: &[&str] = &["fsspec.filesystem()", "fsspec.core.url_to_fs()"];
const FSSPEC_FUNCTIONS: &[&str] = &["fsspec.open", "fsspec.open_files", "fsspec.core.open"];

/// pathlib-style file reads and writes, whatever the receiver (`Path`, `zipfile.Path`,
/// `importlib.resources` traversables): the names are specific to file I/O, and the async
/// libraries' versions (anyio, aiopath) are awaited.
const PATH_IO_METHODS: &[&str] = &["read_text", "read_bytes", "write_text", "write_bytes"];

/// Celery's result handle: waiting on it blocks until a worker answers.
const CELERY_RESULTS: &[&str] = &["celery.result.AsyncResult()", "celery.AsyncResult()"];
const CELERY_RESULT_WAITS: &[&str] = &["get", "wait", "ready", "successful", "failed", "forget"];

/// Types whose methods do I/O on the calling thread, for parameters annotated with them
/// (`db: Session = Depends(get_db)`, `file: UploadFile`): (type, methods that block).
const SYNC_TYPES: &[(&str, &[&str])] = &[
    ("sqlalchemy.orm.Session", SESSION_METHODS),
    ("sqlalchemy.orm.session.Session", SESSION_METHODS),
    ("sqlmodel.Session", SQLMODEL_METHODS),
    ("redis.Redis", REDIS_METHODS),
    ("redis.client.Redis", REDIS_METHODS),
    (
        "requests.Session",
        &[
            "get", "post", "put", "patch", "delete", "head", "request", "send",
        ],
    ),
];

/// A SQLAlchemy session's methods that run SQL (`add` and `delete` wait for the flush).
const SESSION_METHODS: &[&str] = &[
    "execute", "scalar", "scalars", "query", "get", "commit", "flush", "refresh", "merge",
    "rollback",
];
const SQLMODEL_METHODS: &[&str] = &[
    "exec", "execute", "scalar", "scalars", "get", "commit", "flush", "refresh", "merge",
    "rollback",
];
/// A sync redis client's commands (the builders, `pipeline` and `lock`, do no I/O).
const REDIS_METHODS: &[&str] = &[
    "get",
    "set",
    "delete",
    "incr",
    "expire",
    "hget",
    "hset",
    "lpush",
    "rpush",
    "publish",
    "ping",
    "execute_command",
];

/// `UploadFile`'s underlying file: `await file.read()` is async, `file.file.read()` is not.
const UPLOAD_FILES: &[&str] = &[
    "fastapi.UploadFile",
    "fastapi.datastructures.UploadFile",
    "starlette.datastructures.UploadFile",
];

/// A call through a parameter whose annotation is a sync client type: `db.execute(...)` with
/// `db: Session` (also `Annotated[Session, Depends(...)]`), `file.file.read()` with
/// `file: UploadFile`.
fn blocks_through_parameter(func: &Function, call: &Call) -> bool {
    if call.callee.origin != RefOrigin::Unknown {
        return false;
    }
    let path = &*call.callee.path;
    let Some((base, rest)) = path.split_once('.') else {
        return false;
    };
    let Some(param) = func.params.iter().find(|p| &*p.name == base) else {
        return false;
    };
    let Some(ty) = param.annotation.as_ref().and_then(annotated_type) else {
        return false;
    };
    if ty.is_any(GIT_REPO_TYPES) {
        return true;
    }
    if ty.is_any(UPLOAD_FILES) {
        return matches!(
            rest,
            "file.read" | "file.write" | "file.seek" | "file.readlines"
        );
    }
    SYNC_TYPES
        .iter()
        .any(|(t, methods)| ty.is(t) && methods.contains(&rest))
}

/// The type an annotation names: `Session`, or the first item of `Annotated[Session, ...]`.
fn annotated_type(v: &Value) -> Option<&Ref> {
    match v {
        Value::Ref(r) => Some(r),
        Value::Subscript(sub) => {
            let (base, items) = &**sub;
            let base = base.as_name()?;
            (base.last() == "Annotated")
                .then(|| items.first().and_then(Value::as_name))
                .flatten()
        }
        _ => None,
    }
}

/// True when a call to `r` blocks the calling thread on I/O or sleep.
fn is_blocking(r: &Ref) -> bool {
    is_requests_send(r)
        || is_httpx_function(r)
        || is_httpx_sync_client_send(r)
        || r.is("open")
        || r.is_any(BLOCKING_FUNCTIONS)
        || r.is_any(GIT_REPO_CALLS)
        || r.is_any(FSSPEC_FUNCTIONS)
        || any_path(r, |p| {
            method_of(p, SYNC_REDIS).is_some_and(|m| !REDIS_BUILDERS.contains(&m))
                || SYNC_REDIS
                    .iter()
                    .any(|b| p.strip_prefix(b) == Some(".pipeline().execute"))
                || method_of(p, DB_CONNECTIONS).is_some_and(|m| DB_METHODS.contains(&m))
                || method_of(p, BOTO3_CLIENTS).is_some_and(|m| !BOTO3_LOCAL.contains(&m))
                || method_of(p, CELERY_RESULTS).is_some_and(|m| CELERY_RESULT_WAITS.contains(&m))
                || boto3_resource_action(p)
                || GIT_REPOS
                    .iter()
                    .any(|b| p.strip_prefix(b).is_some_and(|rest| rest.starts_with('.')))
                || method_of(p, FSSPEC_FILESYSTEMS).is_some_and(|m| !m.starts_with('_'))
                || method_of(p, SYNC_WEBSOCKETS)
                    .is_some_and(|m| SYNC_WEBSOCKET_METHODS.contains(&m))
        })
}

/// An action of a boto3 resource or of one of its sub-resources:
/// `boto3.resource().Bucket().upload_file`, `boto3.resource().Table().put_item`.
fn boto3_resource_action(path: &str) -> bool {
    BOTO3_RESOURCES.iter().any(|b| {
        path.strip_prefix(b).is_some_and(|rest| {
            rest.starts_with('.')
                && rest
                    .rsplit('.')
                    .next()
                    .is_some_and(|m| BOTO3_RESOURCE_ACTIONS.contains(&m))
        })
    })
}

/// Async file libraries: their `read_text()` returns a coroutine (and is awaited).
const ASYNC_FILE_LIBRARIES: &[&str] = &["anyio", "trio", "aiopath", "aiofiles"];

/// `path.read_text()`, `p.write_bytes(...)` and `p.open("r")` on a receiver svc cannot type,
/// or on an object a resolved call returned (`Path(p).read_text()`,
/// `importlib.resources.files(pkg).joinpath(name).read_text()`): file I/O by their names (an
/// `open` method only with a file mode among its arguments).
fn is_path_io(call: &Call) -> bool {
    let callee = &call.callee;
    let (receiver, method) = if callee.origin == RefOrigin::Unknown && callee.instance.is_none() {
        let Some(split) = callee.path.rsplit_once('.') else {
            return false;
        };
        split
    } else {
        // Resolved: only a method of a call's result, not a module function of that name.
        let path = callee.effective();
        let Some((receiver, method)) = path.rsplit_once('.') else {
            return false;
        };
        if !receiver.ends_with(')') || ASYNC_FILE_LIBRARIES.iter().any(|m| callee.in_module(m)) {
            return false;
        }
        (receiver, method)
    };
    if receiver.is_empty() {
        return false;
    }
    if PATH_IO_METHODS.contains(&method) {
        return true;
    }
    let is_mode = |v: &Value| {
        v.as_str().is_some_and(|m| {
            !m.is_empty()
                && m.len() <= 3
                && m.bytes().all(|b| b"rwabxt+".contains(&b))
                && m.bytes().any(|b| b"rwax".contains(&b))
        })
    };
    method == "open"
        && (call.args.iter().take(2).any(|a| is_mode(&a.value))
            || call.kwarg("mode").is_some_and(|k| is_mode(&k.value)))
}

/// `task.delay(...)` / `task.apply_async(...)` on a task of the service: publishing to the
/// broker is a blocking network round trip (kombu has no asyncio transport).
fn is_task_publish(cx: &Context, call: &Call) -> bool {
    let Some(service) = cx.service else {
        return false;
    };
    let Some(base) = call
        .callee
        .path
        .strip_suffix(".delay")
        .or_else(|| call.callee.path.strip_suffix(".apply_async"))
    else {
        return false;
    };
    if call.callee.origin == RefOrigin::Unknown || service.tasks.is_empty() {
        return false;
    }
    let base = Ref {
        path: base.into(),
        origin: call.callee.origin,
        instance: None,
    };
    cx.project
        .resolve_function(service, &base)
        .is_some_and(|f| service.tasks.iter().any(|t| t.func == f))
}

/// An `async def` RQ job (`@job(queue)` from `rq.decorators`, or a task of an RQ app): the
/// work horse runs it with `asyncio.run`, on an event loop that serves that job alone.
fn is_rq_job(cx: &Context, at: FnRef, func: &Function) -> bool {
    func.decorators.iter().any(|d| match &d.value {
        Value::Call(c) => c.callee.in_module("rq"),
        Value::Ref(r) => r.in_module("rq"),
        _ => false,
    }) || cx.service.is_some_and(|s| {
        s.tasks
            .iter()
            .any(|t| t.func == at && t.framework == WorkerFramework::Rq)
    })
}

/// True when the call itself blocks (not through a helper).
fn blocks(cx: &Context, code: &CodeFile, func: &Function, call: &Call) -> bool {
    (is_blocking(&call.callee) || is_path_io(call)) && !reads_pseudo_file(code, call)
        || blocks_through_parameter(func, call)
        || is_task_publish(cx, call)
}

/// Kernel pseudo-file systems: their files are made from kernel memory when read, with no
/// disk or network to wait on (a read costs what a `psutil` call beside it costs).
const PSEUDO_FILE_ROOTS: &[&str] = &["/proc/", "/sys/"];

/// pathlib's constructors, for `Path("/proc/self/status").read_text()`.
const PATH_CLASSES: &[&str] = &["pathlib.Path", "pathlib.PosixPath", "pathlib.PurePath"];

/// `open("/proc/meminfo")`, `Path(f"/proc/{pid}/stat").read_text()`: a file read under
/// `/proc` or `/sys`, named by a literal or an f-string that starts with one of them.
fn reads_pseudo_file(code: &CodeFile, call: &Call) -> bool {
    let pseudo = |v: &Value| match v {
        Value::Str(s) | Value::FormattedStr(s) => {
            PSEUDO_FILE_ROOTS.iter().any(|r| s.starts_with(r))
        }
        _ => false,
    };
    if call.callee.is_any(&["open", "io.open"]) {
        return call.arg(0, "file").is_some_and(pseudo);
    }
    if !is_path_io(call) {
        return false;
    }
    // The receiver is the `Path(...)` call the callee expression starts with.
    let callee = call.callee_range;
    code.calls.iter().any(|c| {
        c.range.start() == callee.start()
            && c.range.end() < callee.end()
            && c.callee.is_any(PATH_CLASSES)
            && c.args.first().is_some_and(|a| pseudo(&a.value))
            && source_gap_is_method(c.range.end(), callee.end(), call)
    })
}

/// The receiver call ends where the method name begins (`Path(..)` then `.read_text`), not
/// earlier (`Path(..).parent.read_text` reads another file).
fn source_gap_is_method(
    receiver_end: ruff_text_size::TextSize,
    callee_end: ruff_text_size::TextSize,
    call: &Call,
) -> bool {
    let method = call.callee.last();
    u32::from(callee_end) - u32::from(receiver_end) == method.len() as u32 + 1
}

/// How many sync helpers deep a blocking call is looked for (`route -> a() -> b() -> open()`).
/// Real chains run this deep (a service function, its spec builder, an options helper, a
/// model completer, then the `requests.get` of a config fetcher); each helper is searched
/// once per depth at most, so the cost stays bounded by the memo.
const MAX_HELPER_DEPTH: u8 = 6;

/// What a sync helper reaches: the blocking call, and the helpers on the way to it below the
/// first one (empty when the helper makes the call itself).
#[derive(Clone, Copy)]
struct Reached<'a> {
    call: &'a Call,
    file: FileId,
    /// The next helper down, when the call is made deeper.
    via: Option<(&'a Call, FileId)>,
    /// Helpers between the first one and the call (0 when the first one makes it).
    len: u8,
}

/// What the search below remembers between helpers.
#[derive(Default)]
struct ReachMemo<'a> {
    /// What each helper reaches: the blocking call found, or None with the depth the search
    /// that found nothing was given (a deeper question searches again).
    reached: HashMap<FnRef, (Option<Reached<'a>>, u8)>,
    /// The calls of each function of a file visited, by function: scanning a file's calls
    /// for every helper in it would be quadratic in the file's size.
    calls: HashMap<FileId, Vec<Vec<&'a Call>>>,
}

impl<'a> ReachMemo<'a> {
    fn calls_in(
        &mut self,
        cx: &Context<'a>,
        file: FileId,
        code: &'a CodeFile,
        func: FnId,
    ) -> &[&'a Call] {
        let by_func = self.calls.entry(file).or_insert_with(|| {
            let mut by_func = vec![Vec::new(); code.functions.len()];
            let mut skipped = memo_branches(code);
            skipped.extend(fallback_branches(cx, file, code));
            for c in code
                .calls
                .iter()
                .filter(|c| !c.deferred && !skipped.iter().any(|b| b.contains_range(c.range)))
            {
                if let Some(f) = c.func {
                    by_func[f as usize].push(c);
                }
            }
            by_func
        });
        &by_func[func as usize]
    }
}

/// The bodies of the file's memo branches: `if self._key is None:` (or `if _client is None:`
/// on a module's global) whose body assigns that same attribute or name. What the body calls
/// runs once per instance (or process), the first time, like an `lru_cache`d helper's body:
/// `_get_signing_key` deriving its key from a secret file on first use blocks no later call.
fn memo_branches(code: &CodeFile) -> Vec<TextRange> {
    code.branch_tests
        .iter()
        .filter(|t| t.op == CompareOp::IsNone)
        .filter_map(|t| {
            let tested = t.left.as_name()?;
            let name = tested.last();
            let assigns_attr = code
                .attr_assigns
                .iter()
                .any(|a| t.body.contains_range(a.range) && a.target.last() == name);
            // A module's global, not a parameter or local rebound (`if options is None:
            // options = load()` runs on every call that leaves `options` out).
            let assigns_global = tested.origin == RefOrigin::Module;
            let assigns_name = assigns_global
                && code
                    .assigns
                    .iter()
                    .any(|a| t.body.contains_range(a.range) && *a.target == *name);
            (assigns_attr || assigns_name).then_some(t.body)
        })
        .collect()
}

/// The bodies of the file's fallback branches: `if options is None:` or `if
/// properties.get("server_id") is None:` on a parameter of the function, when every call of
/// the function in the service supplies that value: passes the parameter (not as a literal
/// `None`), or, for the `.get(key)` form, a dict that has the key, written in the call or
/// bound to a local name of the caller (`state = {"server_id": ...}; log(properties=state)`).
/// What such a branch does (khoj's `get_server_id()` reading the env file) runs only for a
/// caller that leaves the value out, and none does. A function with no call found, or with
/// one caller that omits the value or passes something else (`**kwargs`), is judged as usual.
fn fallback_branches(cx: &Context, file: FileId, code: &CodeFile) -> Vec<TextRange> {
    let Some(service) = cx.service else {
        return Vec::new();
    };
    code.branch_tests
        .iter()
        .filter(|t| t.op == CompareOp::IsNone)
        .filter_map(|t| {
            // `param is None`, or `param.get("key") is None`.
            let (param, key) = match &t.left {
                Value::Ref(r) if !r.path.contains('.') => (&*r.path, None),
                Value::Call(c) if c.callee.last() == "get" => {
                    let (base, _) = c.callee.path.rsplit_once('.')?;
                    (base, Some(c.args.first()?.as_str()?))
                }
                _ => return None,
            };
            // The function whose parameter it is: the one around the branch, innermost.
            let (fid, f) = code
                .functions
                .iter()
                .enumerate()
                .filter(|(_, f)| f.range.contains_range(t.range))
                .min_by_key(|(_, f)| f.range.len())?;
            let index = f.params.iter().position(|p| *p.name == *param)?;
            let target = FnRef {
                file,
                func: fid as FnId,
            };
            let mut callers = 0;
            for &(cfile, call) in cx.index.calls_named(&f.name) {
                let resolves = (cfile == file && *call.callee.path == *f.qual)
                    || cx.project.resolve_function(service, &call.callee) == Some(target);
                if !resolves {
                    continue;
                }
                callers += 1;
                let ccode = cx.project.code(cfile)?;
                // A method's `self` is not among a call's arguments.
                let positional = index.checked_sub(usize::from(f.class.is_some()));
                let given = call
                    .kwarg(param)
                    .map(|k| &k.value)
                    .or_else(|| positional.and_then(|i| call.args.get(i)).map(|a| &a.value))?;
                let supplied = match key {
                    None => !given.is_none(),
                    Some(key) => dict_with_key(ccode, call.func, given, key),
                };
                if !supplied {
                    return None;
                }
            }
            (callers > 0).then_some(t.body)
        })
        .collect()
}

/// `value` is a dict literal with `key`, or a local name of `func` bound to one.
fn dict_with_key(code: &CodeFile, func: Option<FnId>, value: &Value, key: &str) -> bool {
    let has_key = |v: &Value| match v {
        Value::Dict(items) => items.iter().any(|(k, _)| k.as_str() == Some(key)),
        _ => false,
    };
    match value {
        // Every binding of the local in `func` is such a dict, and there is one.
        Value::Ref(r) if !r.path.contains('.') => func.is_some_and(|func| {
            let mut bindings = code
                .assigns
                .iter()
                .filter(|a| a.scope == Scope::Function(func) && *a.target == *r.path)
                .peekable();
            bindings.peek().is_some() && bindings.all(|a| has_key(&a.value))
        }),
        v => has_key(v),
    }
}

/// The first blocking call `helper` makes, directly or through sync helpers of its own, at
/// most `depth` helpers deep.
fn blocking_reached<'a>(
    cx: &Context<'a>,
    helper: FnRef,
    depth: u8,
    memo: &mut ReachMemo<'a>,
) -> Option<Reached<'a>> {
    match memo.reached.get(&helper) {
        Some((Some(found), _)) if found.len < depth => return Some(*found),
        Some((None, searched)) if *searched >= depth => return None,
        _ => {}
    }
    // A cycle (`a -> b -> a`) finds nothing on the way back.
    memo.reached.insert(helper, (None, depth));
    let code = cx.project.code(helper.file)?;
    if cx.project.file(helper.file).is_test() {
        return None;
    }
    let func = code.function(helper.func);
    let calls = memo.calls_in(cx, helper.file, code, helper.func);
    let mut found = calls
        .iter()
        .find(|c| !c.awaited && blocks(cx, code, func, c))
        .map(|&call| Reached {
            call,
            file: helper.file,
            via: None,
            len: 0,
        });
    if found.is_none() && depth > 1 {
        let calls = calls.to_vec();
        for call in calls {
            if call.awaited
                || (call.callee.origin == RefOrigin::Unknown && call.callee.instance.is_none())
            {
                continue;
            }
            let Some(next) = sync_helper(cx, helper.file, code, call) else {
                continue;
            };
            if let Some(inner) = blocking_reached(cx, next, depth - 1, memo) {
                found = Some(Reached {
                    call: inner.call,
                    file: inner.file,
                    via: Some((call, helper.file)),
                    len: inner.len + 1,
                });
                break;
            }
        }
    }
    memo.reached.insert(helper, (found, depth));
    found
}

/// The method `m` an instance call `Class().m` runs, for a class of the service: the class's
/// own, else one of its direct bases' (`worker = CallbackServer(port)` then
/// `worker.wait_code()`).
fn instance_method(cx: &Context, service: &Service, r: &Ref) -> Option<FnRef> {
    let (class, method) = r.instance.as_deref()?.rsplit_once("().")?;
    if method.contains(['.', '(']) || class.contains('(') {
        return None;
    }
    let by_path = |path: &str| Ref {
        path: path.into(),
        origin: RefOrigin::Import,
        instance: None,
    };
    let Some(Symbol::Class { file, index }) = cx.project.resolve(service, &by_path(class)) else {
        return None;
    };
    let own = format!("{class}.{method}");
    if let Some(f) = cx.project.resolve_function(service, &by_path(&own)) {
        return Some(f);
    }
    let code = cx.project.code(file)?;
    code.classes
        .get(index as usize)?
        .bases
        .iter()
        .find_map(|base| {
            let inherited = format!("{}.{method}", base.path);
            (base.origin != RefOrigin::Unknown)
                .then(|| cx.project.resolve_function(service, &by_path(&inherited)))
                .flatten()
        })
}

/// The sync function of the service (or, outside services, of this file) a call runs.
fn sync_helper(cx: &Context, file: FileId, code: &CodeFile, call: &Call) -> Option<FnRef> {
    let target = match cx.service {
        Some(service) => cx
            .project
            .resolve_function(service, &call.callee)
            .or_else(|| instance_method(cx, service, &call.callee)),
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
    (!f.is_async && !f.is_generator && !is_memoized(f)).then_some(target)
}

/// `functools.lru_cache` / `functools.cache`: the body runs once per argument set (loading a
/// package resource at first use), not on every call.
const MEMOIZERS: &[&str] = &["functools.lru_cache", "functools.cache"];

fn is_memoized(f: &Function) -> bool {
    f.decorators.iter().any(|d| match &d.value {
        Value::Ref(r) => r.is_any(MEMOIZERS),
        Value::Call(c) => c.callee.is_any(MEMOIZERS),
        _ => false,
    })
}

/// Per function of the file that configures or starts an ASGI server of [`SERVER_MODULES`]
/// itself (`config = uvicorn.Config(app)`, `await uvicorn.Server(config).serve()`): where its
/// last such call begins. What the function does before that is its start-up: no request is
/// being served on the loop yet (mcpo's `async def run` reading its config file, then
/// `server.serve()`).
fn last_server_start(code: &CodeFile) -> HashMap<FnId, TextSize> {
    let mut starts: HashMap<FnId, TextSize> = HashMap::default();
    for c in &code.calls {
        if let Some(f) = c.func
            && SERVER_MODULES.iter().any(|m| c.callee.in_module(m))
        {
            let at = starts.entry(f).or_insert(c.range.start());
            *at = (*at).max(c.range.start());
        }
    }
    starts
}

/// The function itself starts an ASGI server or builds an app: the loop it runs on serves.
fn serves(cx: &Context, f: FnRef) -> bool {
    cx.project
        .code(f.file)
        .is_some_and(|code| code.calls_in(f.func).any(starts_or_builds_server))
}

/// How many callers up the startup exemption is followed (`lifespan -> seed() -> load()`).
const MAX_STARTUP_DEPTH: u8 = 4;

/// Startup code: the app's lifespan and startup functions, and the coroutines awaited only
/// from startup code (transitively). A coroutine made by a decorator (the `wrapper` a
/// decorator returns) is awaited wherever the functions it decorates are. A command-line
/// command among the callers runs in a process of its own, not on the server's loop, so a
/// coroutine awaited only by startup code and commands is off the serving path too.
struct Startup<'a> {
    roots: Vec<FnRef>,
    memo: HashMap<FnRef, bool>,
    /// Per file, the names its calls pass as values (`create_task(run)`, `on(callback=run)`),
    /// built on the first question about a function of that file: scanning the file's calls
    /// once per question was most of the rule's cost on large services.
    passed: HashMap<FileId, HashSet<&'a str>>,
    /// Per file, the coroutine calls handed to `asyncio.run(...)`, built on first use.
    run_by_asyncio: HashMap<FileId, HashSet<TextRange>>,
}

impl<'a> Startup<'a> {
    fn passed_as_value(&mut self, file: FileId, code: &'a CodeFile, path: &str) -> bool {
        self.passed
            .entry(file)
            .or_insert_with(|| {
                let mut names = HashSet::default();
                for c in &code.calls {
                    let values = c.args.iter().map(|a| &a.value);
                    for value in values.chain(c.kwargs.iter().map(|k| &k.value)) {
                        if let Value::Ref(r) = value {
                            names.insert(&*r.path);
                        }
                    }
                }
                names
            })
            .contains(path)
    }

    fn is(&mut self, cx: &Context<'a>, f: FnRef, depth: u8) -> bool {
        if self.roots.contains(&f) || is_cli_command(cx.project.function(f)) {
            return true;
        }
        if let Some(&known) = self.memo.get(&f) {
            return known;
        }
        // A cycle finds no startup caller on the way back.
        self.memo.insert(f, false);
        let found = depth > 0 && self.only_awaited_by_startup(cx, f, depth);
        self.memo.insert(f, found);
        found
    }

    fn only_awaited_by_startup(&mut self, cx: &Context<'a>, f: FnRef, depth: u8) -> bool {
        let Some(service) = cx.service else {
            return false;
        };
        if cx.is_entry_point(f) || service.tasks.iter().any(|t| t.func == f) {
            return false;
        }
        let Some(code) = cx.project.code(f.file) else {
            return false;
        };
        let func = code.function(f.func);
        // What the callers call: the function itself, or for a decorator's wrapper every
        // function the decorator is applied to.
        let mut targets = vec![f];
        if let Some(parent) = func.parent {
            let decorator = code.function(parent);
            if decorator.returns.iter().any(|r| r.path == func.qual) {
                let applied = |g: &Function| {
                    g.decorators.iter().any(|d| match &d.value {
                        Value::Ref(r) => r.path == decorator.qual,
                        _ => false,
                    })
                };
                // Called as a function (`memoize(fn)`), its result may go anywhere.
                if cx
                    .index
                    .calls_named(&decorator.name)
                    .iter()
                    .any(|&(file, c)| file == f.file && c.callee.path == decorator.qual)
                {
                    return false;
                }
                targets = (0..code.functions.len() as FnId)
                    .filter(|&i| applied(code.function(i)))
                    .map(|i| FnRef {
                        file: f.file,
                        func: i,
                    })
                    .collect();
            }
        }
        let mut callers = Vec::new();
        // Run by `asyncio.run(...)`: on an event loop of its own, not the running server's
        // (asyncio.run refuses to start inside a running loop), unless the coroutine itself
        // starts the server on it (`asyncio.run(main())` where `main` awaits
        // `uvicorn.Server(config).serve()`).
        let mut own_loops = false;
        for &t in &targets {
            let target = cx.project.function(t);
            let method = target.class.is_some();
            for &(file, call) in cx.index.calls_named(&target.name) {
                // A method called on an object the audit cannot type (`manager =
                // get_manager(); await manager.init_config()`) may be this one: every such
                // call of its name counts as a caller, as in `Runs::may_run`.
                let runs = (file == t.file && call.callee.path == target.qual)
                    || match cx.project.resolve(service, &call.callee) {
                        Some(Symbol::Function(g)) => g == t,
                        Some(_) => false,
                        None => method && call.callee.path.contains('.'),
                    };
                if !runs {
                    continue;
                }
                if !call.awaited && self.starts_own_loop(cx, file, call) && !serves(cx, t) {
                    own_loops = true;
                    continue;
                }
                // Started as a task (`create_task(seed())`) it runs while the app serves.
                let Some(caller) = call.func.filter(|_| call.awaited && !call.deferred) else {
                    return false;
                };
                callers.push(FnRef { file, func: caller });
            }
            // Passed as a value (a callback, a task to schedule), it may run at any time.
            if self.passed_as_value(f.file, code, &target.qual) {
                return false;
            }
        }
        (own_loops || !callers.is_empty()) && callers.into_iter().all(|c| self.is(cx, c, depth - 1))
    }

    /// `call` is the coroutine `asyncio.run(call)` runs.
    fn starts_own_loop(&mut self, cx: &Context<'a>, file: FileId, call: &Call) -> bool {
        let Some(code) = cx.project.code(file) else {
            return false;
        };
        self.run_by_asyncio
            .entry(file)
            .or_insert_with(|| {
                code.calls
                    .iter()
                    .filter(|c| c.callee.path == "asyncio.run")
                    .filter_map(|c| match c.args.first().map(|a| &a.value) {
                        Some(Value::Call(coroutine)) => Some(coroutine.range),
                        _ => None,
                    })
                    .collect()
            })
            .contains(&call.range)
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    // A helper is looked up once however many async functions call it: scanning a file's
    // calls per call site is quadratic on large services.
    let mut helpers: HashMap<(FileId, &str, Option<&str>), Option<FnRef>> = HashMap::default();
    let mut reached = ReachMemo::default();
    // Lifespan and startup functions run before the app serves anyone.
    let lifespan: Vec<FnRef> = cx
        .service
        .map(|s| {
            s.apps
                .iter()
                .flat_map(|a| a.lifespan.iter().copied())
                .collect()
        })
        .unwrap_or_default();
    // Asked only of a function with a finding: it searches the service's calls.
    let mut startup = Startup {
        roots: lifespan.clone(),
        memo: HashMap::default(),
        passed: HashMap::default(),
        run_by_asyncio: HashMap::default(),
    };
    let mut runs = cx.service.map(|s| Runs::new(cx, s));
    // Asked only of a function with a finding: startup code, or a coroutine nothing runs.
    let mut off_the_serving_path = |f: FnRef| {
        startup.is(cx, f, MAX_STARTUP_DEPTH)
            || runs.as_mut().is_some_and(|r| {
                cx.project
                    .code(f.file)
                    .is_some_and(|code| r.never_referenced(code, f))
            })
    };
    for (file, source, code) in cx.code_files() {
        if source.role != FileRole::Service {
            continue;
        }
        // Asked only of a file with an async call to report (few have a `__main__` block).
        let mut own_process: Option<bool> = None;
        let mut server_starts: Option<HashMap<FnId, TextSize>> = None;
        for call in &code.calls {
            let Some(fid) = call.func else { continue };
            let func = code.function(fid);
            if !func.is_async
                || call.deferred
                || call.awaited
                || is_cli_command(func)
                || lifespan.contains(&FnRef { file, func: fid })
                || is_rq_job(cx, FnRef { file, func: fid }, func)
                || *own_process.get_or_insert_with(|| runs_as_own_process(cx, file, code))
                || server_starts
                    .get_or_insert_with(|| last_server_start(code))
                    .get(&fid)
                    .is_some_and(|&start| call.range.end() <= start)
            {
                continue;
            }
            let at = Loc {
                file,
                range: call.callee_range,
            };
            // Only for a message: reading the text costs a file read once it is released.
            let name = || source.slice(call.callee_range);
            if blocks(cx, code, func, call) {
                if off_the_serving_path(FnRef { file, func: fid }) {
                    continue;
                }
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
            if call.callee.origin == RefOrigin::Unknown && call.callee.instance.is_none() {
                continue;
            }
            let helper = *helpers
                .entry((file, &*call.callee.path, call.callee.instance.as_deref()))
                .or_insert_with(|| sync_helper(cx, file, code, call));
            let Some(helper) = helper else {
                continue;
            };
            let Some(inner) = blocking_reached(cx, helper, MAX_HELPER_DEPTH, &mut reached) else {
                continue;
            };
            if off_the_serving_path(FnRef { file, func: fid }) {
                continue;
            }
            let inner_source = cx.project.file(inner.file);
            let via = match inner.via {
                Some((next, next_file)) => format!(
                    " through `{}()`",
                    cx.project.file(next_file).slice(next.callee_range)
                ),
                None => String::new(),
            };
            sink.report(
                at,
                format!(
                    "sync helper `{}()` makes blocking call `{}()` ({}:{}){via} inside `async def {}`",
                    name(),
                    inner_source.slice(inner.call.callee_range),
                    inner_source.rel,
                    inner_source.line_of(inner.call.callee_range.start()),
                    func.name,
                ),
            );
        }
    }
}
