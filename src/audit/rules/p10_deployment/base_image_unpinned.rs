//! DK002 `base-image-unpinned`: `FROM image:latest` or an untagged base image.

use crate::audit::artefact::dockerfile::ImageRef;
use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "DK002",
    name: "base-image-unpinned",
    principle: Principle::P10,
    severity: Severity::Warning,
    kinds: ALL_KINDS,
    reach: Reach::Artefacts,
    help: "pin the base image to a version tag (`python:3.12-slim`), ideally with its digest",
    doc: r#"## What it does
Reports a `FROM` whose image is untagged (which means `:latest`) or tagged `:latest`, in any
stage. `ARG` defaults declared before the first `FROM` are expanded (`FROM python:${PY}`).
A digest (`python@sha256:...`) is pinned whatever the tag; `scratch` and references to
earlier stages are not images. hadolint reports the same as DL3006 and DL3007.

## Why is this bad?
`latest` moves. The same Dockerfile builds a different image next week: a new Python minor
version, a new Debian release, a changed default user. Builds stop being reproducible and a
rollback can pull a base the service never ran on.

## Example
```dockerfile
FROM python
FROM python:latest
```

## How to fix
```dockerfile
FROM python:3.12-slim-bookworm@sha256:...
```
"#,
    check,
};

fn check(cx: &Context, sink: &mut Sink) {
    for &file in &cx.artefacts().dockerfiles {
        let Some(d) = cx.project.dockerfile(file) else {
            continue;
        };
        for (i, stage) in d.stages.iter().enumerate() {
            if d.is_stage_ref(i) || stage.image.eq_ignore_ascii_case("scratch") {
                continue;
            }
            // A base left to a build argument without a default: nothing to judge.
            if stage.image.contains('$') {
                continue;
            }
            if let Some(why) = ImageRef::parse(&stage.image).unpinned() {
                sink.report(
                    Loc {
                        file,
                        range: stage.image_range,
                    },
                    format!("base image `{}` is {why}", stage.image),
                );
            }
        }
    }
}
