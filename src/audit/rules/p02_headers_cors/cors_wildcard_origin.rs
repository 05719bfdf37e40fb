//! SH003 `cors-wildcard-origin`: CORS lets every origin in.

use super::cors;
use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "SH003",
    name: "cors-wildcard-origin",
    principle: Principle::P2,
    severity: Severity::Warning,
    kinds: HTTP_KINDS,
    reach: Reach::AllCode,
    help: "allow an explicit list of origins, read from settings, instead of \"*\"",
    doc: r#"## What it does
Reports a `CORSMiddleware` configured with `allow_origins=["*"]` or an `allow_origin_regex`
that matches every origin, without `allow_credentials=True` (that combination is
`cors-wildcard-with-credentials`), or whose origins fall back to `"*"` when none are
configured (`allow_origins=configured or ["*"]`), or come from a settings field whose default
is `"*"`. Other origins read from settings or non-literal expressions are not reported.

A wildcard literal in a branch that runs only when a configured value already holds `"*"`
(`if "*" in allowed_origins:`, `if origins == ["*"]:`, where `allowed_origins` is read from
the environment or settings) is judged like that value: it only spells out what the
deployment chose, so it is reported only when the value is a settings field whose default
holds `"*"`. With `allow_credentials=True` it is `cors-wildcard-with-credentials` wherever
it comes from.

## Why is this bad?
A wildcard origin lets any web page read the API's responses from a visitor's browser. For
an API that relies on network position (an internal service, a VPN, an IP allow list) or
that later starts accepting cookies, that exposes its data to every site on the internet.
A service should state which front ends may call it.

## Example
```python
app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["*"])
```

## How to fix
```python
class Settings(BaseSettings):
    cors_origins: list[str] = []

app.add_middleware(
    CORSMiddleware,
    allow_origins=settings.cors_origins,
    allow_methods=["GET", "POST"],
)
```
"#,
    check,
};

fn check(cx: &Context, sink: &mut Sink) {
    for c in cors::wildcard_configs(cx)
        .into_iter()
        .filter(|c| !c.credentials && !c.mirrors_configuration)
    {
        sink.report(
            Loc {
                file: c.file,
                range: c.at,
            },
            format!("CORS {}: any site can read the responses", c.what),
        );
    }
}
