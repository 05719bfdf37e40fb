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
            Some(ComposeService {
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
