//! DC002 `compose-service-runs-as-root`: a compose service that sets `user: root` (or UID 0).

use super::is_root_user;
use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "DC002",
    name: "compose-service-runs-as-root",
    principle: Principle::P10,
    severity: Severity::Warning,
    kinds: ALL_KINDS,
    reach: Reach::Artefacts,
    help: "drop `user: root`; run as the image's unprivileged user (`user: \"10001:10001\"`)",
    doc: r#"## What it does
Reports a compose service whose `user:` is `root` or UID `0` (`root`, `0`, `"0:0"`,
`root:root`), for every service of the compose file, built here or pulled. It overrides
whatever `USER` the image sets, so a Dockerfile that does the right thing is undone here.
A service with no `user:` runs as its image's user: `dockerfile-runs-as-root` (`DK001`)
checks that for images built from the repository.

## Why is this bad?
A process running as root in the container is root on every volume it mounts and a far more
dangerous foothold after a container escape. It is usually set to get past a permissions
problem on a volume, which `chown` in the image or a named volume fixes for good.

## Example
```yaml
services:
  api:
    image: ghcr.io/acme/orders:1.4.2
    user: "0:0"
```

## How to fix
```yaml
services:
  api:
    image: ghcr.io/acme/orders:1.4.2
    user: "10001:10001"
```
"#,
    check,
};

fn check(cx: &Context, sink: &mut Sink) {
    for r in &cx.artefacts().compose {
        let c = cx.project.compose_service(*r);
        if let Some((user, range)) = &c.user
            && is_root_user(user)
        {
            sink.report(
                Loc {
                    file: r.file,
                    range: *range,
                },
                format!("compose service `{}` runs as root (`user: {user}`)", c.name),
            );
        }
    }
}
