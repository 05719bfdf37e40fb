//! ST004 `in-process-shared-storage`: rate-limit counters or a cache kept in process memory.

use crate::audit::rules::prelude::*;

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
- aiocache `SimpleMemoryCache()`, `Cache(Cache.MEMORY)` and `Cache()` (memory by default).

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
