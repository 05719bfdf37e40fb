//! AU004 `debug-enabled`: an app running in debug mode.

use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "AU004",
    name: "debug-enabled",
    principle: Principle::P3,
    severity: Severity::Warning,
    kinds: HTTP_KINDS,
    reach: Reach::AllCode,
    help: "drop debug=True, or read it from settings (debug=settings.debug) so it is off in production",
    doc: r#"## What it does
Reports a FastAPI or Starlette app switched to debug mode with a literal: `FastAPI(debug=True)`,
`Starlette(debug=True)`, or `app.debug = True`. A value read from settings
(`debug=settings.debug`), a literal in a branch chosen at run time (`if in_debug_mode():
app = FastAPI(debug=True)`, where the operator turns debug mode on) and code in tests are left
alone; uvicorn's `reload=True` is a
development convenience, not debug mode, and is not reported.

## Why is this bad?
In debug mode an unhandled exception is answered with a full traceback: source lines, file
paths, library versions and often local values such as queries, tokens or configuration.
That hands an attacker a map of the service, and a literal `True` ships to production with
the code.

## Example
```python
app = FastAPI(debug=True)
```

## How to fix
```python
app = FastAPI(debug=settings.debug)  # False unless DEBUG=1 is set for local development
```
"#,
    check,
};

const APP_CLASSES: &[&str] = &[
    "fastapi.FastAPI",
    "fastapi.applications.FastAPI",
    "starlette.applications.Starlette",
];
const APP_DEBUG_ATTRS: &[&str] = &[
    "fastapi.FastAPI().debug",
    "fastapi.applications.FastAPI().debug",
    "starlette.applications.Starlette().debug",
];

fn check(cx: &Context, sink: &mut Sink) {
    for (file, source, code) in cx.code_files() {
        if source.is_test() {
            continue;
        }
        // Under an `if`, debug mode is the operator's choice at run time, as with a setting.
        for call in code
            .calls
            .iter()
            .filter(|c| c.callee.is_any(APP_CLASSES) && !c.conditional)
        {
            if let Some(k) = call.kwarg("debug")
                && k.value.as_bool() == Some(true)
            {
                sink.report(
                    Loc {
                        file,
                        range: k.range,
                    },
                    format!(
                        "`{}(debug=True)` returns tracebacks to clients",
                        call.callee.last()
                    ),
                );
            }
        }
        for a in &code.attr_assigns {
            if a.target.is_any(APP_DEBUG_ATTRS) && a.value.as_bool() == Some(true) && !a.conditional
            {
                let app = a
                    .target
                    .path
                    .strip_suffix(".debug")
                    .and_then(|p| p.rsplit('.').next())
                    .unwrap_or("app");
                sink.report(
                    Loc {
                        file,
                        range: a.range,
                    },
                    format!("`{app}.debug = True` returns tracebacks to clients"),
                );
            }
        }
    }
}
