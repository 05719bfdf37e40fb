//! ST001 `mutable-global-state`: a module-level container (or counter) that code on the
//! request or task path writes to.

use crate::audit::model::Symbol;
use std::collections::BTreeMap;

use crate::audit::model::code::{Assign, CompareOp, Function, Mutation, MutationKind};
use crate::audit::rules::prelude::*;

use super::{describe, request_path};

pub static RULE: Rule = Rule {
    code: "ST001",
    name: "mutable-global-state",
    principle: Principle::P1,
    severity: Severity::Warning,
    kinds: ALL_KINDS,
    reach: Reach::Services,
    help: "keep cross-request state in Redis (or the database), not in module-level variables",
    doc: r#"## What it does
Reports writes to a module-level mutable container (a `dict`, `list` or `set` literal,
`dict()`/`list()`/`set()`, `collections.defaultdict`/`Counter`/`deque`/`OrderedDict`, a
`cachetools` cache) from a route handler, a dependency, an HTTP middleware function or a
worker task, directly or in a same-service function they call. Also reports a module-level
number rebound through `global` (`global hits; hits += 1`), a container of an imported module
(`state.cache[key] = v` after `from app import state`), and class attributes changed while
serving: a classmethod that assigns `cls.x` called from the request path, or a pydantic
validator (run for every instance built) that assigns `cls.x` or calls such a classmethod.

Writes at import time, in startup code that no request reaches, to `app.state`, to a local
variable that shadows the global name, and in tests are not reported, nor the lazy fill of
a slot named by a literal (`if DEPS.get("orm") is None: DEPS["orm"] = make_orm()`, also
through a local read from it first), a process-wide singleton built once. Neither is the
`background_tasks.add(task); task.add_done_callback(background_tasks.discard)` idiom (or a
done callback of the file that calls `background_tasks.discard(task)`), which
only keeps references to running asyncio tasks, nor a counter raised and lowered again in one
function (`inflight += 1` ... `finally: inflight -= 1`, a per-process load-shedding cap) or a
registry of work in progress one function enters and leaves (`_held[place] = info` ...
`finally: del _held[place]`, neither under an `if`; one branch storing and another dropping,
or evicting the oldest entry with `popitem` or `popleft`, is state kept across calls and
stays reported), nor
a `TTLCache` filled in a function that fetches the value over HTTP (a read-through cache of
data published elsewhere, the same on every replica up to its expiry).

## Why is this bad?
Module-level state lives in one process. With several replicas (or several uvicorn/gunicorn
workers, or several Celery worker processes) every process sees a different cache, counter
or session table, so results depend on which replica served the request; the state is lost
on every restart and deploy, and grows without bound. Horizontal scaling silently breaks.

## Example
```python
_sessions: dict[str, Session] = {}

@router.post("/login")
async def login(form: LoginForm):
    session = Session.new(form.username)
    _sessions[session.id] = session
    return {"session_id": session.id}
```

## How to fix
Keep the state in Redis (or the database), shared by every replica and surviving restarts:
```python
@router.post("/login")
async def login(form: LoginForm, redis: Redis = Depends(get_redis)):
    session = Session.new(form.username)
    await redis.set(f"session:{session.id}", session.model_dump_json(), ex=3600)
    return {"session_id": session.id}
```
"#,
    check,
};

/// Constructors of mutable containers.
pub(super) const CONTAINER_CALLS: &[&str] = &[
    "dict",
    "list",
    "set",
    "collections.defaultdict",
    "collections.Counter",
    "collections.deque",
    "collections.OrderedDict",
    "cachetools.Cache",
    "cachetools.TTLCache",
    "cachetools.LRUCache",
    "cachetools.LFUCache",
    "cachetools.RRCache",
    "cachetools.FIFOCache",
    "cachetools.MRUCache",
    "cachetools.TLRUCache",
];

/// What kind of state a module-level value holds, for the message; None when it is not
/// mutable state this rule reports.
pub(super) fn container_kind(value: &Value) -> Option<String> {
    match value {
        Value::Dict(_) => Some("dict".into()),
        Value::List(_) => Some("list".into()),
        Value::Set(_) => Some("set".into()),
        Value::Call(c) if c.callee.is_any(CONTAINER_CALLS) => Some(c.callee.last().into()),
        _ => None,
    }
}

fn state_kind(assign: &Assign, kind: MutationKind) -> Option<String> {
    if let Some(k) = container_kind(&assign.value) {
        return Some(k);
    }
    // A counter or accumulator rebound through `global`. `None`, flags and strings are
    // left alone: `global _client; _client = make_client()` is lazy initialisation.
    match (kind, &assign.value) {
        (MutationKind::GlobalRebind, Value::Int(_) | Value::Float(_)) => Some("counter".into()),
        _ => None,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let path = request_path(cx);
    class_state(cx, &path, sink);
    for (&func, &via) in &path {
        let Some(code) = cx.project.code(func.file) else {
            continue;
        };
        for m in code.mutations.iter().filter(|m| m.func == func.func) {
            let Some((name, assign)) = module_state(cx, code, &m.target) else {
                continue;
            };
            let Some(kind) = state_kind(assign, m.kind) else {
                continue;
            };
            if is_task_reference_set(code, &m.target)
                || is_in_flight_gauge(code, m)
                || fills_empty_slot(code, m)
                || is_read_through_cache(code, m, &kind)
            {
                continue;
            }
            let what = match m.kind {
                MutationKind::GlobalRebind => "rebinds",
                MutationKind::ItemDelete => "deletes from",
                MutationKind::ItemStore | MutationKind::MethodCall => "writes to",
            };
            sink.report(
                Loc { file: func.file, range: m.range },
                format!(
                    "{} {what} module-level {kind} `{name}`: per-process state, lost on restart and not shared between replicas",
                    describe(cx, func, via)
                ),
            );
        }
    }
}

/// The module-level assignment a mutation writes to, with the name to show: a name of the
/// file itself (`CACHE`), or of an imported module of the service (`state.query_cache`).
fn module_state<'a>(
    cx: &'a Context,
    code: &'a CodeFile,
    target: &'a str,
) -> Option<(&'a str, &'a Assign)> {
    if let Some(name) = target
        .strip_prefix(&*code.module)
        .and_then(|r| r.strip_prefix('.'))
    {
        return Some((name, code.module_assign(name)?));
    }
    let service = cx.service?;
    let imported = Ref {
        path: target.into(),
        origin: RefOrigin::Import,
        instance: None,
    };
    let Symbol::Assign { file, index } = cx.project.resolve(service, &imported)? else {
        return None;
    };
    let assign = cx.project.code(file)?.assigns.get(index as usize)?;
    // `state.query_cache`: the module's last component and the name.
    let shown = match target.rmatch_indices('.').nth(1) {
        Some((dot, _)) => &target[dot + 1..],
        None => target,
    };
    (assign.scope == Scope::Module).then_some((shown, assign))
}

/// `global inflight; inflight += 1; try: ... finally: inflight -= 1`: a count of this
/// process's requests in progress (a load-shedding cap), per process by design. The same for
/// a registry of work in progress that one function both enters and leaves (`_held[place] =
/// info` ... `finally: del _held[place]`, neither under an `if`): what it holds ends with the
/// work. Not for a function that takes entries out only to bound what it keeps (`CACHE[k] =
/// v` then `CACHE.popitem(last=False)`): a cache evicting its oldest entry keeps the rest.
fn is_in_flight_gauge(code: &CodeFile, m: &Mutation) -> bool {
    let steps = || {
        code.mutations
            .iter()
            .filter(|o| o.func == m.func && o.target == m.target)
    };
    let evicts = steps().any(|o| {
        o.kind == MutationKind::MethodCall
            && code.call_at(o.range).is_some_and(|i| {
                matches!(
                    code.calls[i as usize].callee.last(),
                    "popitem" | "popleft" | "clear"
                )
            })
    });
    // An entry is work in progress when the function always puts it in and always takes it
    // out again; one branch storing and another dropping (`if ok: KEPT[k] = v else:
    // KEPT.pop(k)`) is state kept across calls.
    let container = m.kind != MutationKind::GlobalRebind;
    let counts = |o: &&Mutation| !(container && o.conditional);
    !evicts
        && steps().filter(counts).any(|o| o.step > 0)
        && steps().filter(counts).any(|o| o.step < 0)
}

/// `C["orm"] = make_orm()` under `if C.get("orm") is None:` (or under `if orm is None:`
/// after `orm = C.get("orm")`): the lazy fill of a process-wide singleton kept in a slot of
/// the container, built once from settings the same way in every replica. Only for a slot
/// named by a literal: a lookup by a computed key (`if CACHE.get(user_id) is None:`) is a
/// cache of request data and stays reported.
fn fills_empty_slot(code: &CodeFile, m: &Mutation) -> bool {
    if m.kind != MutationKind::ItemStore {
        return false;
    }
    // `C.get("slot")` or `C["slot"]` on the same container.
    let reads_slot = |v: &Value| match v {
        Value::Call(c) => {
            c.callee.path.strip_suffix(".get") == Some(&*m.target)
                && c.args.first().and_then(Value::as_str).is_some()
        }
        Value::Subscript(sub) => {
            sub.0.as_name().is_some_and(|r| *r.path == *m.target)
                && sub.1.first().and_then(Value::as_str).is_some()
        }
        _ => false,
    };
    code.branch_tests.iter().any(|t| {
        t.op == CompareOp::IsNone
            && t.body.contains_range(m.range)
            && (reads_slot(&t.left)
                || t.left.as_name().is_some_and(|local| {
                    code.assigns.iter().any(|a| {
                        a.scope == Scope::Function(m.func)
                            && *a.target == *local.last()
                            && reads_slot(&a.value)
                    })
                }))
    })
}

/// HTTP client libraries whose calls fetch data from outside the service.
const HTTP_CLIENTS: &[&str] = &["httpx", "requests", "aiohttp", "urllib.request", "urllib3"];

/// `CACHE[key] = data` into a cache with an expiry (`TTLCache`) in a function that fetches
/// `data` over HTTP: a read-through cache of what another service publishes, the same on every
/// replica up to the expiry and merely refetched after a restart. No request's state goes into
/// it. A plain dict filled that way never lets go of stale entries and is still reported.
fn is_read_through_cache(code: &CodeFile, m: &Mutation, kind: &str) -> bool {
    m.kind == MutationKind::ItemStore
        && EXPIRING_CACHES.contains(&kind)
        && code
            .calls
            .iter()
            .any(|c| c.func == Some(m.func) && HTTP_CLIENTS.iter().any(|l| c.callee.in_module(l)))
}

/// Caches whose entries expire on their own.
const EXPIRING_CACHES: &[&str] = &["TTLCache", "TLRUCache"];

/// `tasks.add(t); t.add_done_callback(tasks.discard)`: a set that only keeps running asyncio
/// tasks alive, per process by nature. The callback may be a function of the file that
/// discards the task and does more (`def finished(t): tasks.discard(t); log(t)`).
fn is_task_reference_set(code: &CodeFile, target: &str) -> bool {
    let discard = format!("{target}.discard");
    let discards = |r: &Ref| {
        *r.path == *discard
            || code
                .functions
                .iter()
                .position(|f| *f.qual == *r.path)
                .is_some_and(|id| {
                    code.calls_in(id as FnId)
                        .any(|c| *c.callee.path == *discard)
                })
    };
    code.calls.iter().any(|c| {
        c.callee.last() == "add_done_callback"
            && c.args
                .first()
                .and_then(|a| a.value.as_name())
                .is_some_and(discards)
    })
}

/// The decorator names `name` (`classmethod`, `pydantic.field_validator(...)`).
fn has_decorator(f: &Function, names: &[&str]) -> bool {
    f.decorators.iter().any(|d| {
        let r = match &d.value {
            Value::Ref(r) => r,
            Value::Call(c) => &c.callee,
            _ => return false,
        };
        r.is_any(names) || names.contains(&r.last())
    })
}

const VALIDATORS: &[&str] = &[
    "pydantic.field_validator",
    "pydantic.model_validator",
    "pydantic.validator",
    "pydantic.root_validator",
];

/// `cls.name = ...`: an attribute of the class itself, not one of something it holds
/// (`cls.method._warned = True`, a warn-once flag).
fn is_class_attribute(path: &str) -> bool {
    path.strip_prefix("cls.")
        .is_some_and(|name| !name.contains(['.', '[']))
}

/// A classmethod that assigns attributes of its class (`cls.current = value`).
fn sets_class_attributes(code: &CodeFile, func: FnId) -> bool {
    has_decorator(code.function(func), &["classmethod"])
        && code
            .attr_assigns
            .iter()
            .any(|a| a.func == Some(func) && is_class_attribute(&a.target.path))
}

/// Class attributes changed while serving: a request-path function calling a classmethod that
/// assigns `cls.x` (`Metadata.set_previews(True)`), and a pydantic validator, which runs for
/// every instance built, assigning `cls.x` or calling such a classmethod through `cls`.
fn class_state(cx: &Context, path: &BTreeMap<FnRef, FnRef>, sink: &mut Sink) {
    let Some(service) = cx.service else {
        return;
    };
    for (&func, &via) in path {
        let Some(code) = cx.project.code(func.file) else {
            continue;
        };
        for call in code.calls.iter().filter(|c| c.func == Some(func.func)) {
            if call.callee.origin == RefOrigin::Unknown {
                continue;
            }
            let Some(target) = cx.project.resolve_function(service, &call.callee) else {
                continue;
            };
            let Some(target_code) = cx.project.code(target.file) else {
                continue;
            };
            if sets_class_attributes(target_code, target.func) {
                sink.report(
                    Loc { file: func.file, range: call.range },
                    format!(
                        "{} changes class attributes through `{}()`: process-wide state, shared by concurrent requests and not by replicas",
                        describe(cx, func, via),
                        call.callee.last()
                    ),
                );
            }
        }
    }
    for (file, _, code) in cx.service_code() {
        for (id, f) in code.functions.iter().enumerate() {
            let id = id as FnId;
            let Some(class) = f.class.as_deref() else {
                continue;
            };
            if !has_decorator(f, VALIDATORS) {
                continue;
            }
            let assigns = code
                .attr_assigns
                .iter()
                .filter(|a| a.func == Some(id) && is_class_attribute(&a.target.path))
                .map(|a| a.range);
            let setters = code
                .calls
                .iter()
                .filter(|c| c.func == Some(id))
                .filter(|c| {
                    // `cls.set_node(...)`, however far the front end resolved `cls`.
                    let m = c.callee.last();
                    let through_cls = c.callee.path.starts_with("cls.")
                        || c.callee.path.ends_with(&format!("{class}.{m}"));
                    through_cls
                        && code.functions.iter().enumerate().any(|(i, m2)| {
                            m2.class.as_deref() == Some(class)
                                && &*m2.name == m
                                && sets_class_attributes(code, i as FnId)
                        })
                })
                .map(|c| c.range);
            for range in assigns.chain(setters) {
                sink.report(
                    Loc { file, range },
                    format!(
                        "validator `{}` changes class attributes of `{class}` for every instance built: process-wide state, racy between concurrent requests",
                        f.name
                    ),
                );
            }
        }
    }
}
