//! SM004 `lambda-without-tracing`: a SAM/CloudFormation function without active tracing.

use crate::audit::model::artefacts::function_setting;
use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "SM004",
    name: "lambda-without-tracing",
    principle: Principle::P10,
    severity: Severity::Warning,
    kinds: &[Kind::Lambda],
    reach: Reach::Artefacts,
    help: "set `Tracing: Active` on the function or in `Globals.Function`",
    doc: r#"## What it does
Reports a Lambda function whose `Tracing` (`TracingConfig.Mode` for `AWS::Lambda::Function`)
is missing or `PassThrough`, on the function and in `Globals.Function`. checkov's CKV_AWS_50
is the equivalent.

Functions of a Serverless Framework `serverless.yml` are checked the same way, with
`provider:` in the place of `Globals.Function` (`timeout`, `memorySize`, `tracing.lambda`,
`handler`, `environment`).

## Why is this bad?
Without active tracing X-Ray records nothing for the function: the cold start, the handler
and the downstream calls are invisible, and traces of the callers end at the API Gateway.

## Example
```yaml
Api:
  Type: AWS::Serverless::Function
  Properties:
    Handler: app.main.handler
```

## How to fix
```yaml
Globals:
  Function:
    Tracing: Active
```
"#,
    check,
};

fn check(cx: &Context, sink: &mut Sink) {
    for r in &cx.artefacts().functions {
        let (f, t) = cx.project.sam_function(*r);
        match function_setting(f, t, |s| s.tracing.clone()) {
            Some((mode, _)) if mode == "Active" => {}
            // `!If [...]` and other intrinsics: decided at deploy time.
            Some((mode, _)) if mode.is_empty() => {}
            Some((mode, range)) => sink.report(
                Loc {
                    file: r.file,
                    range,
                },
                format!("function `{}` has `Tracing: {mode}`", f.logical_id),
            ),
            None => sink.report(
                Loc {
                    file: r.file,
                    range: f.range,
                },
                format!("function `{}` has no active tracing", f.logical_id),
            ),
        }
    }
}
