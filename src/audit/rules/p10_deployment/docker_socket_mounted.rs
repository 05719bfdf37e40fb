//! DC004 `docker-socket-mounted`: a compose service that bind-mounts the Docker socket.

use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "DC004",
    name: "docker-socket-mounted",
    principle: Principle::P10,
    severity: Severity::Warning,
    kinds: ALL_KINDS,
    reach: Reach::Artefacts,
    help: "do not mount the Docker socket; if the service must start containers, put a socket proxy with a narrow allow-list in between",
    doc: r#"## What it does
Reports a compose service that mounts `/var/run/docker.sock` (or `/run/docker.sock`) from the
host, in the short (`/var/run/docker.sock:/var/run/docker.sock:ro`) or long
(`{type: bind, source: /var/run/docker.sock}`) volume syntax. `:ro` does not help: the
socket's API is reached by writing to it anyway.

## Why is this bad?
The Docker API is root on the host: whoever reaches it can start a privileged container
with the host's filesystem mounted. Mounting it turns any remote code execution in the
service into a compromise of the host.

## Example
```yaml
services:
  api:
    build: .
    volumes:
      - /var/run/docker.sock:/var/run/docker.sock
```

## How to fix
Remove the mount. A service that must start containers (a CI runner, a reverse proxy that
discovers them) talks to a socket proxy that only allows the calls it needs.
"#,
    check,
};

fn check(cx: &Context, sink: &mut Sink) {
    for r in &cx.artefacts().compose {
        let c = cx.project.compose_service(*r);
        for range in &c.docker_socket_mounts {
            sink.report(
                Loc {
                    file: r.file,
                    range: *range,
                },
                format!("compose service `{}` mounts the Docker socket", c.name),
            );
        }
    }
}
