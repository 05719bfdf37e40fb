//! SH002 `cors-wildcard-with-credentials`: CORS lets every origin in, with credentials.

use super::cors;
use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "SH002",
    name: "cors-wildcard-with-credentials",
    principle: Principle::P2,
    severity: Severity::Error,
    kinds: HTTP_KINDS,
    reach: Reach::AllCode,
    help: "list the allowed origins explicitly (from settings) when allow_credentials=True",
    doc: r#"## What it does
Reports a `CORSMiddleware` (Starlette's, or FastAPI's re-export) configured with
`allow_origins=["*"]` or an `allow_origin_regex` that matches every origin (`.*`, `^.+$`,
`https?://.*`) together with `allow_credentials=True`. The middleware may be added with
`app.add_middleware(...)`, `Middleware(...)` or by wrapping the app; an origin list held in a
module-level constant of the same file is followed, and so is a fallback
(`allow_origins=configured or ["*"]`): the wildcard is the default wherever no origins are
configured.

## Why is this bad?
With credentials allowed, Starlette does not answer `Access-Control-Allow-Origin: *` (which
browsers would refuse to combine with credentials): it echoes back whatever origin asked.
Any web page the user visits can then call the API with the user's cookies or HTTP
authentication and read the responses, which is cross-site request forgery with data theft.

## Example
```python
app.add_middleware(
    CORSMiddleware,
    allow_origins=["*"],
    allow_credentials=True,
    allow_methods=["*"],
)
```

## How to fix
```python
app.add_middleware(
    CORSMiddleware,
    allow_origins=settings.cors_origins,  # ["https://app.example.com"]
    allow_credentials=True,
    allow_methods=["GET", "POST"],
)
```
"#,
    check,
};

fn check(cx: &Context, sink: &mut Sink) {
    for c in cors::wildcard_configs(cx)
        .into_iter()
        .filter(|c| c.credentials)
    {
        sink.report(
            Loc {
                file: c.file,
                range: c.at,
            },
            format!(
                "CORS {} with `allow_credentials=True`: any site can make credentialed requests",
                c.what
            ),
        );
    }
}
