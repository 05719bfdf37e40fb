//! DK001 `dockerfile-runs-as-root`: the image's final stage runs as root.

use crate::audit::artefact::dockerfile::ImageRef;
use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "DK001",
    name: "dockerfile-runs-as-root",
    principle: Principle::P10,
    severity: Severity::Error,
    kinds: ALL_KINDS,
    reach: Reach::Artefacts,
    help: "create an unprivileged user and end the final stage with `USER 10001:10001`",
    doc: r#"## What it does
Reports a Dockerfile whose final stage runs as root: it has no `USER` instruction (nor does
the earlier stage it builds `FROM`), or its last `USER` is `root` or `0`. The finding points
at the `USER root` instruction, or at the final `FROM` when `USER` is missing.

An image built on an AWS Lambda base image (`public.ecr.aws/lambda/...`,
`amazon/aws-lambda-...`) without `USER` is not reported: Lambda runs the function as its
own unprivileged sandbox user, whatever the image says. An explicit `USER root` is still
reported.

The stage checked is the one that is built: a compose `build.target` or a CI pipeline's
`docker build --target` naming a stage of the Dockerfile selects it, otherwise the last
stage.

hadolint's DL3002 only reports an explicit `USER root`; a missing `USER` is root too, since
almost every base image defaults to it, so svc reports both.

## Why is this bad?
A process running as root inside the container is root on the container's filesystem and,
after any container escape or a mis-mounted volume, a far more dangerous foothold on the
node. Kubernetes' `runAsNonRoot` refuses such images outright.

## Example
```dockerfile
FROM python:3.12-slim
COPY . /app
CMD ["uvicorn", "app.main:app"]
```

## How to fix
```dockerfile
FROM python:3.12-slim
RUN useradd --system --uid 10001 app
COPY . /app
USER 10001:10001
CMD ["uvicorn", "app.main:app"]
```
"#,
    check,
};

fn check(cx: &Context, sink: &mut Sink) {
    for (file, d, stage) in cx.project.final_stages(cx.artefacts()) {
        match d.effective(stage, "USER") {
            None if is_lambda_base_image(d.base_image(stage)) => {}
            None => sink.report(
                Loc {
                    file,
                    range: d.stages[stage].from.range,
                },
                match (stage + 1 < d.stages.len(), &d.stages[stage].name) {
                    (true, Some(name)) => format!(
                        "stage `{name}`, the build target, has no `USER`: the container runs as root"
                    ),
                    _ => "the final stage has no `USER`: the container runs as root".to_string(),
                },
            ),
            Some(u) => {
                if super::is_root_user(&u.args) {
                    sink.report(
                        Loc {
                            file,
                            range: u.range,
                        },
                        format!("`USER {}`: the container runs as root", u.args),
                    );
                }
            }
        }
    }
}

/// AWS's Lambda base images: Lambda runs them as an unprivileged sandbox user.
fn is_lambda_base_image(image: &str) -> bool {
    let name = ImageRef::parse(image).name;
    name.starts_with("public.ecr.aws/lambda/") || name.starts_with("amazon/aws-lambda-")
}
