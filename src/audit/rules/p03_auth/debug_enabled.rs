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
`Starlette(debug=True)`, or `app.debug = True`; and an app whose `debug=` reads a settings
field that defaults to `True` (`FastAPI(debug=settings.debug)` where `settings: Settings` is a
parameter or `settings = Settings()`, and the class declares `debug: bool = True`), reported
both at the app and at the field: a deployment that sets nothing runs in debug mode. A
setting with a false default, a literal in a branch chosen at run time (`if in_debug_mode():
app = FastAPI(debug=True)`, where the operator turns debug mode on) and code in tests are left
alone; uvicorn's `reload=True` is a development convenience, not debug mode, and is not
reported.

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
    // A settings field read by several apps is reported once.
    let mut fields: Vec<Loc> = Vec::new();
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
                && let Some((field, at)) = settings_true_default(cx, code, call.func, &k.value)
            {
                let field_source = cx.project.file(at.file);
                sink.report(
                    Loc {
                        file,
                        range: k.range,
                    },
                    format!(
                        "`{}(debug=...)` reads `{field}`, which defaults to True ({}:{}): tracebacks reach clients wherever the setting is not overridden",
                        call.callee.last(),
                        field_source.rel,
                        field_source.line_of(at.range.start()),
                    ),
                );
                if !fields.contains(&at) {
                    fields.push(at);
                    sink.report(
                        at,
                        format!(
                            "settings field `{field}` defaults to True and switches on debug mode of `{}(...)` at {}:{}",
                            call.callee.last(),
                            source.rel,
                            source.line_of(k.range.start()),
                        ),
                    );
                }
                continue;
            }
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

/// `settings.debug` where `settings` is a parameter annotated with a settings class (of the
/// function or one around it) or an instance (`settings = Settings()`), and the class
/// declares the field with the default `True`: the field's name and where it is declared.
fn settings_true_default(
    cx: &Context,
    code: &CodeFile,
    func: Option<FnId>,
    value: &Value,
) -> Option<(String, Loc)> {
    let r = value.as_name()?;
    let (object, field) = r.path.rsplit_once('.')?;
    let class = match r.instance.as_deref().and_then(|i| i.rsplit_once("().")) {
        Some((ctor, _)) => Ref {
            path: ctor.into(),
            origin: r.origin,
            instance: None,
        },
        None => {
            let mut scope = func;
            let mut found = None;
            while let Some(id) = scope {
                let f = code.function(id);
                if let Some(p) = f.params.iter().find(|p| *p.name == *object) {
                    found = p.annotation.as_ref().and_then(Value::as_name).cloned();
                    break;
                }
                scope = f.parent;
            }
            found?
        }
    };
    let (default, name, at) = cx.settings_field_default(&class, field)?;
    (default.as_bool() == Some(true)).then_some((name, at))
}
