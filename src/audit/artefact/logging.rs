//! Logging configuration files: a `logging.config.dictConfig` schema written as YAML or JSON
//! (`version: 1` with `formatters` / `handlers`), as passed to uvicorn's `--log-config` or
//! loaded and handed to `dictConfig`.

use ruff_text_size::TextRange;

use super::yaml::Node;

/// Words that mark a formatter as structured (a JSON or structlog formatter).
const STRUCTURED_WORDS: &[&str] = &["json", "structlog", "ecs_logging"];

#[derive(Debug, Clone, Default)]
pub struct LoggingConfig {
    /// Its formatters, in file order.
    pub formatters: Vec<Formatter>,
}

#[derive(Debug, Clone)]
pub struct Formatter {
    pub name: String,
    /// The formatter renders structured records: its factory, class or format names JSON or
    /// structlog.
    pub structured: bool,
    /// Its format string (`fmt:` / `format:`), else its name: where a finding points.
    pub range: TextRange,
}

/// A dictConfig document: a mapping with `version: 1` and `formatters` or `handlers`.
pub fn is_logging_config(doc: &Node) -> bool {
    doc.get("version").and_then(Node::as_u64) == Some(1)
        && (doc.get("formatters").is_some_and(Node::is_map)
            || doc.get("handlers").is_some_and(Node::is_map))
}

pub fn config(doc: &Node) -> LoggingConfig {
    let formatters = doc
        .get("formatters")
        .map(|f| {
            f.entries()
                .map(|(name, body)| {
                    let mut structured = false;
                    body.walk(&mut |n| {
                        if let Some(text) = n.as_str() {
                            let lower = text.to_ascii_lowercase();
                            structured |= STRUCTURED_WORDS.iter().any(|w| lower.contains(w));
                        }
                    });
                    let range = body
                        .get("fmt")
                        .or_else(|| body.get("format"))
                        .map_or(name.range, |n| n.range);
                    Formatter {
                        name: name.as_str().unwrap_or_default().to_string(),
                        structured,
                        range,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    LoggingConfig { formatters }
}
