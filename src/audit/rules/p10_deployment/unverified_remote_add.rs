//! DK005 `unverified-remote-add`: `ADD https://...` without a checksum.

use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "DK005",
    name: "unverified-remote-add",
    principle: Principle::P10,
    severity: Severity::Warning,
    kinds: ALL_KINDS,
    reach: Reach::Artefacts,
    help: "download with `RUN curl -fsSL ... && sha256sum -c`, or give `ADD --checksum=sha256:...`",
    doc: r#"## What it does
Reports `ADD` instructions whose source is an `http://` or `https://` URL and that carry no
`--checksum=` flag, in any stage. `ADD` of a Git repository or a local file is left alone.
hadolint's DL3020 asks for `COPY` instead of `ADD` for files; svc reports the remote case.

## Why is this bad?
Whatever the URL serves at build time goes into the image, unverified: a compromised or
changed upstream silently changes the image. The download is also cached by URL, so a fix
upstream may never arrive.

## Example
```dockerfile
ADD https://example.com/tool.tar.gz /opt/
```

## How to fix
```dockerfile
ADD --checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d \
    https://example.com/tool.tar.gz /opt/
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
            if ins.keyword != "ADD" || ins.flag("checksum").is_some() {
                continue;
            }
            let remote = ins
                .args
                .split_whitespace()
                .find(|w| w.starts_with("http://") || w.starts_with("https://"));
            if let Some(url) = remote {
                sink.report(
                    Loc {
                        file,
                        range: ins.range,
                    },
                    format!("`ADD {url}` downloads unverified content into the image"),
                );
            }
        }
    }
}
