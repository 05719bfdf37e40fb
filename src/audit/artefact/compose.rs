//! docker-compose files: services, what they build or run, and their healthchecks.

use ruff_text_size::TextRange;

use super::command::Command;
use super::yaml::Node;

#[derive(Debug, Clone)]
pub struct ComposeService {
    pub name: String,
    /// The service's key, where findings point.
    pub range: TextRange,
    /// `build:` context (the string form, or `build.context`), relative to the compose file.
    pub build: Option<String>,
    pub image: Option<String>,
    pub command: Option<Command>,
    /// A `healthcheck` that is not `disable: true` / `test: ["NONE"]`.
    pub healthcheck: Option<Command>,
    /// `healthcheck.disable: true` or `test: ["NONE"]`.
    pub healthcheck_disabled: bool,
    /// `build.target`: the Dockerfile stage the image is built from (the last one if unset).
    pub build_target: Option<String>,
    /// `build.dockerfile`, relative to the build context.
    pub build_dockerfile: Option<String>,
    /// `user:` as written (`root`, `"0:0"`, `"10001"`) and where.
    pub user: Option<(String, TextRange)>,
    /// `privileged:` and where.
    pub privileged: Option<(bool, TextRange)>,
    /// Volume entries that bind-mount the Docker daemon's socket.
    pub docker_socket_mounts: Vec<TextRange>,
}

/// The Docker daemon's socket, as bind-mounted into containers that drive Docker.
const DOCKER_SOCKETS: &[&str] = &["/var/run/docker.sock", "/run/docker.sock"];

/// The host side of a volume entry, short (`/var/run/docker.sock:/var/run/docker.sock:ro`)
/// or long (`{type: bind, source: ...}`) syntax.
fn volume_source(v: &Node) -> Option<&str> {
    match v.as_str() {
        Some(s) => s.split(':').next(),
        None => v.get("source").and_then(Node::as_str),
    }
}

/// A document that is a compose file: a `services` mapping whose entries build or run images.
pub fn is_compose(doc: &Node, file_name: &str) -> bool {
    let Some(services) = doc.get("services") else {
        return false;
    };
    let named = file_name.contains("compose");
    services.is_map()
        && (named
            || services
                .entries()
                .any(|(_, s)| s.get("image").is_some() || s.get("build").is_some()))
}

fn command_of(n: &Node) -> Option<Command> {
    match n.as_strings() {
        Some(words) if !n.items().is_empty() => Some(Command::exec(words)),
        _ => n.as_str().map(Command::parse),
    }
}

pub fn services(doc: &Node) -> Vec<ComposeService> {
    let Some(services) = doc.get("services") else {
        return Vec::new();
    };
    services
        .entries()
        .filter_map(|(k, s)| {
            let build = s.get("build").and_then(|b| {
                b.as_str()
                    .or_else(|| b.get("context").and_then(Node::as_str))
                    .or(b.is_map().then_some("."))
                    .map(str::to_string)
            });
            let hc = s.get("healthcheck");
            let disabled = hc.is_some_and(|h| {
                h.get("disable").and_then(Node::as_bool) == Some(true)
                    || h.get("test")
                        .and_then(Node::as_strings)
                        .is_some_and(|t| t.first().is_some_and(|w| w == "NONE"))
            });
            let healthcheck = hc
                .filter(|_| !disabled)
                .and_then(|h| h.get("test"))
                .and_then(command_of);
            let build_str = |key: &str| {
                s.path(&["build", key])
                    .and_then(Node::as_str)
                    .map(str::to_string)
            };
            let user = s.get("user").and_then(|u| {
                // `user: 0` is a plain integer scalar: its text is the same.
                Some((u.as_str()?.trim().to_string(), u.range))
            });
            let docker_socket_mounts = s
                .get("volumes")
                .map(Node::items)
                .unwrap_or_default()
                .iter()
                .filter(|v| {
                    volume_source(v)
                        .is_some_and(|src| DOCKER_SOCKETS.contains(&src.trim_end_matches('/')))
                })
                .map(|v| v.range)
                .collect();
            Some(ComposeService {
                build_target: build_str("target"),
                build_dockerfile: build_str("dockerfile"),
                user,
                privileged: s
                    .get("privileged")
                    .and_then(|n| Some((n.as_bool()?, n.range))),
                docker_socket_mounts,
                name: k.as_str()?.to_string(),
                range: k.range,
                build,
                image: s.get("image").and_then(Node::as_str).map(str::to_string),
                command: s.get("command").and_then(command_of),
                healthcheck,
                healthcheck_disabled: disabled,
            })
        })
        .collect()
}
