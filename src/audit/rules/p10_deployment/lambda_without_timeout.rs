//! SM001 `lambda-without-timeout`: a SAM/CloudFormation function without `Timeout`.

use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "SM001",
    name: "lambda-without-timeout",
    principle: Principle::P10,
    severity: Severity::Warning,
    kinds: &[Kind::Lambda],
    reach: Reach::Artefacts,
    help: "set `Timeout` on the function or in `Globals.Function` (a little above the API's)",
    doc: r#"## What it does
Reports a Lambda function in a SAM or CloudFormation template with no `Timeout`, neither on
the function nor (for `AWS::Serverless::Function`) in `Globals.Function`.

Functions of a Serverless Framework `serverless.yml` are checked the same way, with
`provider:` in the place of `Globals.Function` (`timeout`, `memorySize`, `tracing.lambda`,
`handler`, `environment`).

## Why is this bad?
The default is 3 seconds: a cold start that imports the whole stack, or one slow downstream
call, fails the invocation with a timeout that looks like a crash. Choosing the value on
purpose also bounds what a hung call can cost.

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
    Timeout: 15
```
"#,
    check,
};

fn check(cx: &Context, sink: &mut Sink) {
    super::report_functions_without(
        cx,
        sink,
        |s| s.timeout.is_some(),
        |id| format!("function `{id}` has no `Timeout` (the default is 3 seconds)"),
    );
}
