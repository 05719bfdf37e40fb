//! KB005 `container-image-unpinned`: a Kubernetes container image `:latest` or untagged.

use super::describe;
use crate::audit::artefact::dockerfile::ImageRef;
use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "KB005",
    name: "container-image-unpinned",
    principle: Principle::P10,
    severity: Severity::Warning,
    kinds: ALL_KINDS,
    reach: Reach::Artefacts,
    help: "deploy an immutable tag (the release version or git sha), or pin the digest",
    doc: r#"## What it does
Reports a Kubernetes container (init containers included) whose image is untagged or tagged
`:latest`. A digest pins it. kube-linter's `latest-tag` and checkov's CKV_K8S_14 are the
equivalents.

## Why is this bad?
Which code runs depends on when each node pulled the image: replicas of one Deployment can
run different versions, and rolling back to the previous manifest does not roll back the
code.

## Example
```yaml
image: ghcr.io/acme/orders:latest
```

## How to fix
```yaml
image: ghcr.io/acme/orders:1.4.2
```
"#,
    check,
};

fn check(cx: &Context, sink: &mut Sink) {
    for r in &cx.artefacts().workloads {
        let w = cx.project.workload(*r);
        for c in &w.containers {
            let Some((image, range)) = &c.image else {
                continue;
            };
            if let Some(why) = ImageRef::parse(image).unpinned() {
                sink.report(
                    Loc {
                        file: r.file,
                        range: *range,
                    },
                    format!("image `{image}` of {} is {why}", describe(w, c)),
                );
            }
        }
    }
}
