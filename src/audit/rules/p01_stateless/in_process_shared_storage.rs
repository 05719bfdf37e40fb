//! ST004 `in-process-shared-storage`: rate-limit counters or a cache kept in process memory.

use ruff_text_size::TextRange;

use crate::audit::model::Symbol;
use crate::audit::model::code::{Class, MUTATING_METHODS};
use crate::audit::rules::prelude::*;

use super::mutable_global_state::{CONTAINER_CALLS, container_kind};

pub static RULE: Rule = Rule {
    code: "ST004",
    name: "in-process-shared-storage",
    principle: Principle::P1,
    severity: Severity::Warning,
    kinds: HTTP_KINDS,
    reach: Reach::Services,
    help: "back the limiter or cache with Redis (e.g. storage_uri=settings.redis_url), shared by every replica",
    doc: r#"## What it does
Reports rate-limit and cache storage that lives in process memory:
- slowapi `Limiter(...)` without `storage_uri` (its default is `memory://`);
- any `storage_uri="memory://..."` argument;
- `limits` `MemoryStorage()` (sync or `limits.aio`) and `storage_from_string("memory://")`;
- fastapi-cache `InMemoryBackend()`;
- aiocache `SimpleMemoryCache()`, `Cache(Cache.MEMORY)` and `Cache()` (memory by default);
- the service's own limiter class (named `...Limiter`, `...Throttle(r)`), or cache class
  (named `...Cache`, with a `set(key, value)`-style method), that keeps its entries in a
  container it creates itself and changes in place (`self.hits = defaultdict(list)` and
  `self.hits[ip].append(now)`), once the service creates an instance: reported at the
  container, and, for a limiter, at every module-level instance
  (`login_limiter = RequestLimiter(...)`), which each process holds for itself. A class that talks to Redis or memcached (calls a
  client, takes one as a parameter) is not reported, nor a cache that only memoises objects
  the process builds for itself (`get_or_create(model)`, no key-value store method).

A `storage_uri` that is not a literal (`settings.redis_url`, an environment lookup) is
trusted, as are Redis URIs, `Limiter(config_filename=...)` and calls taking `**kwargs`.
A slowapi `Limiter` without `storage_uri` can still be pointed at Redis through the
`RATELIMIT_STORAGE_URL` environment variable; if you do that, suppress the finding.

## Why is this bad?
Every replica (and every uvicorn/gunicorn worker process) gets its own counters and its own
cache. A limit of 100 requests per minute becomes 100 per minute per process, so clients get
N times the allowance and inconsistent 429s; cached entries differ between replicas and
cannot be invalidated together; everything resets on restart.

## Example
```python
limiter = Limiter(key_func=get_remote_address)
FastAPICache.init(InMemoryBackend())
```

## How to fix
```python
limiter = Limiter(key_func=get_remote_address, storage_uri=settings.redis_url)
FastAPICache.init(RedisBackend(redis), prefix="orders-cache")
```
"#,
    check,
};

const LIMITERS: &[&str] = &["slowapi.Limiter", "slowapi.extension.Limiter"];

const MEMORY_STORAGE: &[&str] = &[
    "limits.storage.MemoryStorage",
    "limits.storage.memory.MemoryStorage",
    "limits.aio.storage.MemoryStorage",
    "limits.aio.storage.memory.MemoryStorage",
    "fastapi_cache.backends.inmemory.InMemoryBackend",
    "aiocache.SimpleMemoryCache",
    "aiocache.backends.memory.SimpleMemoryCache",
];

const STORAGE_FROM_STRING: &[&str] = &[
    "limits.storage.storage_from_string",
    "limits.aio.storage.storage_from_string",
];

const AIOCACHE: &[&str] = &["aiocache.Cache", "aiocache.factory.Cache"];

fn is_memory_uri(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|s| s.to_ascii_lowercase().starts_with("memory://"))
}

fn check(cx: &Context, sink: &mut Sink) {
    in_memory_classes(cx, sink);
    for (file, _, code) in cx.service_code() {
        for call in &code.calls {
            let at = |range| Loc { file, range };
            if let Some(k) = call
                .kwarg("storage_uri")
                .filter(|k| is_memory_uri(&k.value))
            {
                sink.report(
                    at(k.range),
                    format!("`{}(storage_uri=\"memory://\")` keeps its state in process memory, separate in every replica", call.callee.last()),
                );
            } else if call.callee.is_any(LIMITERS) {
                if call.kwarg("storage_uri").is_none()
                    && call.kwarg("config_filename").is_none()
                    && !call.has_star_kwargs
                {
                    sink.report(
                        at(call.callee_range),
                        "slowapi `Limiter` without `storage_uri` counts requests in process memory, separately in every replica",
                    );
                }
            } else if call.callee.is_any(MEMORY_STORAGE) {
                sink.report(
                    at(call.callee_range),
                    format!(
                        "`{}()` keeps its state in process memory, separate in every replica",
                        call.callee.last()
                    ),
                );
            } else if call.callee.is_any(STORAGE_FROM_STRING) {
                if let Some(a) = call.args.first().filter(|a| is_memory_uri(&a.value)) {
                    sink.report(
                        at(a.range),
                        "`storage_from_string(\"memory://\")` keeps rate-limit counters in process memory, separate in every replica",
                    );
                }
            } else if call.callee.is_any(AIOCACHE) && is_aiocache_memory(call) {
                sink.report(
                    at(call.callee_range),
                    "aiocache `Cache` uses its in-memory backend: every replica has its own cache",
                );
            }
        }
    }
}

/// `Cache(Cache.MEMORY)` or `Cache()`, whose default backend is memory.
fn is_aiocache_memory(call: &Call) -> bool {
    if call.has_star_kwargs {
        return false;
    }
    match call.arg(0, "cache_class") {
        None => true,
        Some(Value::Ref(r)) => r.last() == "MEMORY" || r.last() == "SimpleMemoryCache",
        Some(_) => false,
    }
}

/// Name endings of classes that hold rate-limit counters.
const LIMITER_CLASS_ENDINGS: &[&str] = &["limiter", "throttle", "throttler"];

/// Methods through which a cache class stores any value under any key, the way a Redis client
/// does. A cache without one (`get_or_create(model)`) memoises objects the process builds for
/// itself, such as clients, and is left alone.
const STORE_METHODS: &[&str] = &["set", "put", "insert", "store", "__setitem__", "set_item"];

fn is_limiter_class(class: &Class) -> bool {
    let lower = class.name.to_ascii_lowercase();
    LIMITER_CLASS_ENDINGS.iter().any(|e| lower.ends_with(e))
}

/// A limiter class, or a cache class with a key-value store method.
fn is_storage_class(code: &CodeFile, class: &Class) -> bool {
    if is_limiter_class(class) {
        return true;
    }
    let lower = class.name.to_ascii_lowercase();
    lower.ends_with("cache")
        && code.functions.iter().any(|f| {
            f.class.as_deref() == Some(&*class.name)
                && STORE_METHODS.contains(&&*f.name)
                && f.params.len() >= 3
        })
}

/// Modules whose clients put the storage outside the process.
const SHARED_BACKENDS: &[&str] = &["redis", "aioredis", "valkey", "pymemcache", "aiomcache"];

/// Methods that change a container in place: the ones a module-level mutation is recognised
/// by, and `OrderedDict.move_to_end` (an LRU's reordering).
fn is_mutating_method(name: &str) -> bool {
    MUTATING_METHODS.contains(&name) || name == "move_to_end"
}

fn is_method_of(code: &CodeFile, class: &Class, func: Option<FnId>) -> bool {
    func.is_some_and(|f| code.function(f).class.as_deref() == Some(&*class.name))
}

/// A method of `class` changes `self.<attr>` in place: `self.hits[key].append(now)`,
/// `self.entries.pop(key)`.
fn mutated_in_place(code: &CodeFile, class: &Class, attr: &str) -> bool {
    code.calls.iter().any(|c| {
        let Some(rest) = c.callee.path.strip_prefix(attr) else {
            return false;
        };
        is_method_of(code, class, c.func)
            && (rest.starts_with('.') || rest.starts_with('['))
            && is_mutating_method(c.callee.last())
    })
}

/// Where a class of the service keeps entries in a container of its own: `self.x = {}` /
/// `self.x = defaultdict(list)` in one of its methods, changed in place by one of them; else a
/// container constructor its methods call again (`[defaultdict(f) for _ in range(n)]` to
/// reset partitions).
fn own_container(code: &CodeFile, class: &Class) -> Option<(TextRange, String)> {
    let assigned = code.attr_assigns.iter().find_map(|a| {
        let attr = &*a.target.path;
        if !attr.starts_with("self.") || !is_method_of(code, class, a.func) {
            return None;
        }
        let kind = container_kind(&a.value)?;
        mutated_in_place(code, class, attr).then_some((a.range, kind))
    });
    assigned.or_else(|| {
        code.calls
            .iter()
            .find(|c| {
                is_method_of(code, class, c.func)
                    && c.callee.is_any(CONTAINER_CALLS)
                    && c.callee.origin != RefOrigin::Builtin
            })
            .map(|c| (c.range, c.callee.last().to_string()))
    })
}

/// The class keeps its entries in Redis or memcached: a method calls into a client library,
/// takes a client (`redis: Redis`), or calls through an attribute named after one
/// (`self._redis.pipeline()`).
fn talks_to_shared_backend(code: &CodeFile, class: &Class) -> bool {
    let backend = |r: &Ref| SHARED_BACKENDS.iter().any(|m| r.in_module(m));
    let calls = code.calls.iter().any(|c| {
        is_method_of(code, class, c.func)
            && (backend(&c.callee) || c.callee.path.to_ascii_lowercase().contains("redis"))
    });
    let params = code.functions.iter().any(|f| {
        f.class.as_deref() == Some(&*class.name)
            && f.params
                .iter()
                .any(|p| p.annotation.iter().flat_map(annotation_refs).any(&backend))
    });
    calls || params
}

/// The names an annotation mentions (`Redis`, `Optional[Redis]`, `Redis | None`).
fn annotation_refs(value: &Value) -> Vec<&Ref> {
    match value {
        Value::Ref(r) => vec![r],
        Value::Subscript(sub) => {
            let (base, items) = &**sub;
            let mut out = annotation_refs(base);
            out.extend(items.iter().flat_map(annotation_refs));
            out
        }
        Value::Either(v) | Value::Tuple(v) | Value::List(v) => {
            v.iter().flat_map(annotation_refs).collect()
        }
        _ => Vec::new(),
    }
}

/// The service's own in-memory limiter and cache classes, where the service instantiates them.
fn in_memory_classes(cx: &Context, sink: &mut Sink) {
    let Some(service) = cx.service else {
        return;
    };
    let mut candidates = Vec::new();
    for (file, _, code) in cx.service_code() {
        for (index, class) in code.classes.iter().enumerate() {
            if !is_storage_class(code, class) || talks_to_shared_backend(code, class) {
                continue;
            }
            if let Some(container) = own_container(code, class) {
                candidates.push((file, index as u32, class, container));
            }
        }
    }
    if candidates.is_empty() {
        return;
    }
    for (file, index, class, (range, kind)) in candidates {
        let is_this_class = |r: &Ref| {
            r.last() == &*class.name
                && cx.project.resolve(service, r) == Some(Symbol::Class { file, index })
        };
        let mut instantiated = false;
        for (at, _, code) in cx.service_code() {
            for call in code.calls.iter().filter(|c| is_this_class(&c.callee)) {
                instantiated = true;
                let module_level = code
                    .assigns
                    .iter()
                    .find(|a| a.scope == Scope::Module && a.value_range == call.range);
                // A module-level limiter is one process's counters for the routes that use it;
                // a module-level cache is reported at its class already, and may well hold data
                // that is the same everywhere.
                if let Some(a) = module_level.filter(|_| is_limiter_class(class)) {
                    sink.report(
                        Loc { file: at, range: a.target_range },
                        format!(
                            "module-level `{}` is a `{}`, which keeps its entries in process memory: every process has its own, lost on restart",
                            a.target, class.name
                        ),
                    );
                }
            }
        }
        if instantiated {
            sink.report(
                Loc { file, range },
                format!(
                    "`{}` keeps its entries in an in-process {kind}: every replica counts or caches separately",
                    class.name
                ),
            );
        }
    }
}
