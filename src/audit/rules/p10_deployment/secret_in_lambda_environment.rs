//! SM003 `secret-in-lambda-environment`: a literal secret in a function's environment.

use super::secret_literal;
use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "SM003",
    name: "secret-in-lambda-environment",
    principle: Principle::P10,
    severity: Severity::Error,
    kinds: &[Kind::Lambda],
    reach: Reach::Artefacts,
    help: "reference the secret: `!Ref` a NoEcho parameter or `{{resolve:secretsmanager:...}}`",
    doc: r#"## What it does
Reports a literal value for a secret-like name (`*_PASSWORD`, `*_SECRET`, `*_TOKEN`,
`API_KEY`, ...) in `Environment.Variables` of a function or of `Globals.Function`. Values
built with `!Ref`, `!Sub`, `!GetAtt`, `{"Ref": ...}` or a `{{resolve:...}}` dynamic
reference are fine.

Functions of a Serverless Framework `serverless.yml` are checked the same way, with
`provider:` in the place of `Globals.Function` (`timeout`, `memorySize`, `tracing.lambda`,
`handler`, `environment`).

## Why is this bad?
The template is committed: the secret is in the repository's history, in every clone and
CI log, and visible in the Lambda console to anyone who can read the function's
configuration.

## Example
```yaml
Environment:
  Variables:
    DB_PASSWORD: hunter2
```

## How to fix
```yaml
Environment:
  Variables:
    DB_PASSWORD: "{{resolve:secretsmanager:orders/db:SecretString:password}}"
```
"#,
    check,
};

fn check(cx: &Context, sink: &mut Sink) {
    let mut globals_seen = Vec::new();
    for r in &cx.artefacts().functions {
        let (f, t) = cx.project.sam_function(*r);
        let mut vars: Vec<_> = f.settings.environment.iter().collect();
        // Globals once per template.
        if f.serverless && !globals_seen.contains(&r.file) {
            globals_seen.push(r.file);
            vars.extend(&t.globals.environment);
        }
        for v in vars {
            if let Some(value) = &v.literal
                && secret_literal(&v.name, value).is_some()
            {
                sink.report(
                    Loc {
                        file: r.file,
                        range: v.range,
                    },
                    format!("`{}` is a literal secret in the template", v.name),
                );
            }
        }
    }
}
