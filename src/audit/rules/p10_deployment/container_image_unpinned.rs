//! KB005 `container-image-unpinned`: a Kubernetes container image `:latest` or untagged.

use super::{describe, helm_charts};
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

A Helm chart whose templates render `.Values.image.tag` is checked in its `values.yaml`:
`tag: latest` is reported, and so is an empty or missing tag unless a template falls back
to the chart's `appVersion` (`default .Chart.AppVersion`), which pins it.

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
    for (chart, values) in helm_charts(cx) {
        let Some(image) = values.image.as_ref().filter(|_| chart.uses_image_tag) else {
            continue;
        };
        let repository = image.repository.as_deref().unwrap_or("the image");
        match &image.tag {
            Some((tag, range)) if tag.eq_ignore_ascii_case("latest") => sink.report(
                Loc {
                    file: chart.values,
                    range: *range,
                },
                format!("the chart deploys `{repository}` tagged `:latest`"),
            ),
            None if !chart.tag_defaults_to_app_version => sink.report(
                Loc {
                    file: chart.values,
                    range: image.range,
                },
                format!("the chart deploys `{repository}` with no tag (it means `:latest`)"),
            ),
            _ => {}
        }
    }
}
