//! SM005 `lambda-handler-not-found`: a function's `Handler` names no module or attribute.

use crate::audit::model::artefacts::{function_setting, join};
use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "SM005",
    name: "lambda-handler-not-found",
    principle: Principle::P10,
    severity: Severity::Error,
    kinds: &[Kind::Lambda],
    reach: Reach::Services,
    help: "point `Handler` at `module.attribute` under `CodeUri` (e.g. `app.main.handler`)",
    doc: r#"## What it does
Reports a Python Lambda function whose `Handler` (`app.main.handler`) does not resolve in the
code: there is no `app/main.py` (or `app/main/__init__.py`) under the function's `CodeUri`,
or that module defines, assigns or imports no `handler`. Image functions and non-Python
runtimes are left alone.

Functions of a Serverless Framework `serverless.yml` are checked the same way, with
`provider:` in the place of `Globals.Function` (`timeout`, `memorySize`, `tracing.lambda`,
`handler`, `environment`).

## Why is this bad?
The deployment succeeds and every invocation fails with `Runtime.ImportModuleError` or
"Handler 'handler' missing": the error shows only in production, typically after a module
was renamed or `handler = Mangum(app)` was removed.

## Example
```yaml
Handler: app.main.handler   # app/main.py has `app = FastAPI()` and no `handler`
```

## How to fix
```python
# app/main.py
handler = Mangum(app, lifespan="off")
```
"#,
    check,
};

fn check(cx: &Context, sink: &mut Sink) {
    let Some(service) = cx.service else { return };
    for r in &service.artefacts.functions {
        let (f, t) = cx.project.sam_function(*r);
        if f.image {
            continue;
        }
        let runtime = function_setting(f, t, |s| s.runtime.clone());
        if runtime
            .as_deref()
            .is_some_and(|rt| !rt.starts_with("python"))
        {
            continue;
        }
        let Some((handler, range)) = function_setting(f, t, |s| s.handler.clone()) else {
            continue;
        };
        let Some((module, attr)) = handler.rsplit_once('.') else {
            continue;
        };
        let template_dir = cx
            .project
            .file(r.file)
            .rel
            .rsplit_once('/')
            .map_or("", |(d, _)| d);
        let base = match function_setting(f, t, |s| s.code_uri.clone()) {
            Some(uri) => join(template_dir, &uri),
            None => template_dir.to_string(),
        };
        let module_path = join(&base, &module.replace('.', "/"));
        let candidates = [
            format!("{module_path}.py"),
            format!("{module_path}/__init__.py"),
        ];
        let found = cx
            .project
            .files
            .iter()
            .enumerate()
            .find(|(_, sf)| candidates.contains(&sf.rel));
        let at = Loc {
            file: r.file,
            range,
        };
        match found {
            None => sink.report(
                at,
                format!(
                    "handler `{handler}` of `{}`: no module `{module}` (`{}`)",
                    f.logical_id, candidates[0]
                ),
            ),
            Some((id, _)) => {
                // A file that does not parse is reported as a syntax error already.
                let Some(code) = cx.project.code(id as FileId) else {
                    continue;
                };
                let defined = code.module_function(attr).is_some()
                    || code.module_assign(attr).is_some()
                    || code.module_import(attr).is_some()
                    || code.classes.iter().any(|c| &*c.name == attr);
                if !defined {
                    sink.report(
                        at,
                        format!(
                            "handler `{handler}` of `{}`: `{}` defines no `{attr}`",
                            f.logical_id, candidates[0]
                        ),
                    );
                }
            }
        }
    }
}
