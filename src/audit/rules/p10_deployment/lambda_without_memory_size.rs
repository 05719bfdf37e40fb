//! SM002 `lambda-without-memory-size`: a SAM/CloudFormation function without `MemorySize`.

use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "SM002",
    name: "lambda-without-memory-size",
    principle: Principle::P10,
    severity: Severity::Warning,
    kinds: &[Kind::Lambda],
    reach: Reach::Artefacts,
    help: "set `MemorySize` on the function or in `Globals.Function` (512+ MB for FastAPI)",
    doc: r#"## What it does
Reports a Lambda function in a SAM or CloudFormation template with no `MemorySize`, neither
on the function nor (for `AWS::Serverless::Function`) in `Globals.Function`.

Functions of a Serverless Framework `serverless.yml` are checked the same way, with
`provider:` in the place of `Globals.Function` (`timeout`, `memorySize`, `tracing.lambda`,
`handler`, `environment`).

## Why is this bad?
The default is 128 MB, and Lambda allocates CPU in proportion to memory: a FastAPI app
with pydantic and an HTTP client imports several times slower at 128 MB, so every cold start
pays for the unchosen default.

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
    MemorySize: 512
```
"#,
    check,
};

fn check(cx: &Context, sink: &mut Sink) {
    super::report_functions_without(
        cx,
        sink,
        |s| s.memory_size.is_some(),
        |id| format!("function `{id}` has no `MemorySize` (the default is 128 MB)"),
    );
}
