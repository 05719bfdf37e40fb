//! DK004 `shell-form-cmd`: `CMD`/`ENTRYPOINT` in shell form in the final stage.

use crate::audit::artefact::command::Form;
use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "DK004",
    name: "shell-form-cmd",
    principle: Principle::P10,
    severity: Severity::Warning,
    kinds: ALL_KINDS,
    reach: Reach::Artefacts,
    help: "use the exec form: `CMD [\"uvicorn\", \"app.main:app\", \"--port\", \"8000\"]`",
    doc: r#"## What it does
Reports a `CMD` or `ENTRYPOINT` in the final stage written in shell form
(`CMD uvicorn app.main:app`) instead of exec form (a JSON array). hadolint's DL3025 reports
the same for `CMD` and `ENTRYPOINT`.

## Why is this bad?
The shell form runs `/bin/sh -c "..."`: the shell is PID 1 and does not forward SIGTERM to
the server. On a rolling update or scale-down the server never hears the signal, in-flight
requests are cut when the grace period ends with SIGKILL, and shutdown hooks never run.

## Example
```dockerfile
CMD uvicorn app.main:app --host 0.0.0.0
```

## How to fix
```dockerfile
CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0"]
```
If a shell is needed for variable expansion, end it with `exec`:
`CMD ["sh", "-c", "exec uvicorn app.main:app --port $PORT"]`.
"#,
    check,
};

fn check(cx: &Context, sink: &mut Sink) {
    for (file, d, stage) in cx.project.final_stages(cx.artefacts()) {
        for ins in &d.stages[stage].instructions {
            if !matches!(ins.keyword.as_str(), "CMD" | "ENTRYPOINT") {
                continue;
            }
            let Some(cmd) = ins.command() else { continue };
            let execs = cmd.words.first().is_some_and(|w| w == "exec");
            if cmd.form == Form::Shell && !execs {
                sink.report(
                    Loc {
                        file,
                        range: ins.range,
                    },
                    format!(
                        "shell-form `{}`: `/bin/sh` is PID 1 and does not forward SIGTERM",
                        ins.keyword
                    ),
                );
            }
        }
    }
}
