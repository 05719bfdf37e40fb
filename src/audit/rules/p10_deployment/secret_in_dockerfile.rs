//! DK003 `secret-in-dockerfile`: a secret-like `ENV`/`ARG` with a literal value.

use super::secret_literal;
use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "DK003",
    name: "secret-in-dockerfile",
    principle: Principle::P10,
    severity: Severity::Error,
    kinds: ALL_KINDS,
    reach: Reach::Artefacts,
    help: "pass secrets at run time (environment from a secret store) or use `RUN --mount=type=secret`",
    doc: r#"## What it does
Reports `ENV` and `ARG` instructions that give a literal value to a secret-like name
(`*_PASSWORD`, `*_SECRET`, `*_TOKEN`, `API_KEY`, `SECRET_KEY`, ...), in any stage. A value
that refers to another variable (`ENV DB_PASSWORD=$DB_PASSWORD`) or an `ARG` without a
default is not reported.

## Why is this bad?
`ENV` values are stored in the image config and `ARG` values in its build history: anyone
who can pull the image can read them with `docker inspect` / `docker history`, and they end
up in every registry and cache the image passes through.

## Example
```dockerfile
ENV DB_PASSWORD=hunter2
ARG API_TOKEN=ghp_abc123
```

## How to fix
```dockerfile
# Given at run time by the orchestrator, from a secret store.
ENV DB_PASSWORD_FILE=/run/secrets/db_password
RUN --mount=type=secret,id=api_token ./fetch-deps.sh
```
"#,
    check,
};

fn check(cx: &Context, sink: &mut Sink) {
    for &file in &cx.artefacts().dockerfiles {
        let Some(d) = cx.project.dockerfile(file) else {
            continue;
        };
        for ins in d.stages.iter().flat_map(|s| &s.instructions) {
            if !matches!(ins.keyword.as_str(), "ENV" | "ARG") {
                continue;
            }
            for (name, value) in ins.pairs() {
                if let Some(value) = value
                    && secret_literal(&name, &value).is_some()
                {
                    sink.report(
                        Loc {
                            file,
                            range: ins.range,
                        },
                        format!(
                            "`{} {name}` bakes a literal secret into the image",
                            ins.keyword
                        ),
                    );
                }
            }
        }
    }
}
