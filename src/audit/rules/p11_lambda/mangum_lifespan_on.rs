//! LM001 `mangum-lifespan-on`: Mangum runs the ASGI lifespan on every Lambda invocation.

use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "LM001",
    name: "mangum-lifespan-on",
    principle: Principle::P11,
    severity: Severity::Warning,
    kinds: &[Kind::Lambda],
    reach: Reach::Services,
    help: "pass lifespan=\"off\" to Mangum and create clients once at module level",
    doc: r#"## What it does
Reports `Mangum(app)` in a Lambda service when the lifespan is not turned off: no
`lifespan=` argument (the default is `"auto"`), or `lifespan="auto"` / `lifespan="on"`.

## Why is this bad?
Mangum runs the app's lifespan inside each invocation: startup before handling the event,
shutdown after it. Everything the lifespan does (opening connection pools, warming caches,
loading models, connecting to Redis) is done and torn down again on every request, adding
its latency to every response and opening a fresh connection each time.

## Example
```python
app = FastAPI(lifespan=lifespan)
handler = Mangum(app)
```

## How to fix
```python
http = httpx.AsyncClient(timeout=httpx.Timeout(5.0, connect=2.0))  # once per environment

app = FastAPI()
handler = Mangum(app, lifespan="off")
```
"#,
    check,
};

fn check(cx: &Context, sink: &mut Sink) {
    for (file, _, code) in cx.service_code() {
        for call in &code.calls {
            if !call
                .callee
                .is_any(&["mangum.Mangum", "mangum.adapter.Mangum"])
            {
                continue;
            }
            match call.kwarg("lifespan") {
                None if !call.has_star_kwargs => sink.report(
                    Loc { file, range: call.callee_range },
                    "`Mangum()` without `lifespan=\"off\"` runs startup and shutdown on every invocation",
                ),
                Some(k) => {
                    if let Some(mode @ ("auto" | "on")) = k.value.as_str() {
                        sink.report(
                            Loc { file, range: k.range },
                            format!("`Mangum(lifespan=\"{mode}\")` runs startup and shutdown on every invocation"),
                        );
                    }
                }
                None => {}
            }
        }
    }
}
