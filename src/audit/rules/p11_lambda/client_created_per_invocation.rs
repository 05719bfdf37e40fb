//! LM002 `client-created-per-invocation`: clients, apps or settings built inside the Lambda
//! handler on every invocation.

use crate::audit::model::Symbol;
use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "LM002",
    name: "client-created-per-invocation",
    principle: Principle::P11,
    severity: Severity::Warning,
    kinds: &[Kind::Lambda],
    reach: Reach::Services,
    help: "create it once at module level (or in an lru_cache'd factory) so warm invocations reuse it",
    doc: r#"## What it does
Reports, inside a Lambda handler function (`def handler(event, context)`), the construction
of objects meant to live for the whole execution environment: boto3 clients, resources and
sessions, `httpx.Client` / `httpx.AsyncClient`, `requests.Session`, redis clients
(`redis.Redis`, `redis.from_url`, `redis.asyncio.*`), `Mangum(...)`, `FastAPI(...)` and
the service's `BaseSettings` subclasses.

Only the handler's own body is checked: objects built at module level, in functions it
calls (such as an `lru_cache`-decorated factory) or in nested functions are not reported.

## Why is this bad?
Lambda keeps the module loaded between invocations of a warm environment; the handler body
runs on every event. Building a client there repeats credential lookup, endpoint
resolution, DNS, TCP and TLS handshakes on every request, and building settings re-reads
the environment and re-validates it each time. Module-level objects are built once, during
the init phase, and reused by every warm invocation.

## Example
```python
def handler(event, context):
    s3 = boto3.client("s3")
    settings = Settings()
    return s3.get_object(Bucket=settings.bucket, Key=event["key"])["Body"].read()
```

## How to fix
```python
s3 = boto3.client("s3")
settings = Settings()

def handler(event, context):
    return s3.get_object(Bucket=settings.bucket, Key=event["key"])["Body"].read()
```
"#,
    check,
};

/// Constructors of long-lived objects, with the name used in messages.
const CONSTRUCTORS: &[(&str, &str)] = &[
    ("boto3.client", "boto3 client"),
    ("boto3.resource", "boto3 resource"),
    ("boto3.Session", "boto3 session"),
    ("boto3.session.Session", "boto3 session"),
    ("httpx.Client", "HTTP client"),
    ("httpx.AsyncClient", "HTTP client"),
    ("httpx2.Client", "HTTP client"),
    ("httpx2.AsyncClient", "HTTP client"),
    ("requests.Session", "HTTP session"),
    ("requests.session", "HTTP session"),
    ("aiohttp.ClientSession", "HTTP session"),
    ("redis.Redis", "Redis client"),
    ("redis.StrictRedis", "Redis client"),
    ("redis.from_url", "Redis client"),
    ("redis.Redis.from_url", "Redis client"),
    ("redis.asyncio.Redis", "Redis client"),
    ("redis.asyncio.from_url", "Redis client"),
    ("redis.asyncio.Redis.from_url", "Redis client"),
    ("mangum.Mangum", "Mangum adapter"),
    ("fastapi.FastAPI", "FastAPI app"),
];

/// What `call` builds, when it is one of the long-lived objects.
fn built(cx: &Context, service: &Service, call: &Call) -> Option<&'static str> {
    if let Some((_, what)) = CONSTRUCTORS.iter().find(|(path, _)| call.callee.is(path)) {
        return Some(what);
    }
    let Some(Symbol::Class { file, index }) = cx.project.resolve(service, &call.callee) else {
        return None;
    };
    let class = &cx.project.code(file)?.classes[index as usize];
    service
        .settings
        .iter()
        .any(|s| s.name == *class.qual)
        .then_some("settings object")
}

fn check(cx: &Context, sink: &mut Sink) {
    let Some(service) = cx.service else { return };
    for &handler in &service.lambda_handlers {
        let source = cx.project.file(handler.file);
        if source.role != FileRole::Service {
            continue;
        }
        let Some(code) = cx.project.code(handler.file) else {
            continue;
        };
        let name = &code.function(handler.func).name;
        for call in code.calls_in(handler.func) {
            if let Some(what) = built(cx, service, call) {
                sink.report(
                    Loc {
                        file: handler.file,
                        range: call.callee_range,
                    },
                    format!(
                        "`{}()` builds a new {what} on every invocation of `{name}`",
                        source.slice(call.callee_range),
                    ),
                );
            }
        }
    }
}
