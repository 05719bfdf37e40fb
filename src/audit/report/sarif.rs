//! `--format sarif`: a SARIF 2.1.0 log for code-scanning services (GitHub, GitLab, Azure).
//!
//! Every rule is described in `tool.driver.rules` (from the registry, so it matches
//! `svc explain`), every finding is a result pointing at its region with a
//! `partialFingerprints` entry that survives unrelated edits (see [`super::fingerprint`]).

use std::collections::BTreeMap;
use std::io::Write;

use serde::Serialize;

use super::{RenderOptions, Report, Reporter};
use crate::audit::rules::{Principle, REGISTRY, Rule, Severity};

pub struct SarifReporter;

const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";
/// The base the artifact URIs are relative to: the audited directory.
const SRCROOT: &str = "%SRCROOT%";
/// Names the fingerprint algorithm; a change of algorithm gets a new version.
const FINGERPRINT_KEY: &str = "svc/v1";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Log {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: Vec<Run>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run {
    tool: Tool,
    invocations: Vec<Invocation>,
    /// svc counts columns in characters.
    column_kind: &'static str,
    results: Vec<SarifResult>,
}

#[derive(Serialize)]
struct Tool {
    driver: Driver,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: &'static str,
    version: &'static str,
    semantic_version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    information_uri: Option<&'static str>,
    rules: Vec<RuleDescriptor>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Invocation {
    execution_successful: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RuleDescriptor {
    id: &'static str,
    name: &'static str,
    short_description: Text,
    full_description: Text,
    help: Help,
    #[serde(skip_serializing_if = "Option::is_none")]
    help_uri: Option<String>,
    default_configuration: Configuration,
    properties: RuleProperties,
}

#[derive(Serialize)]
struct Text {
    text: String,
}

#[derive(Serialize)]
struct Help {
    text: String,
    markdown: String,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
struct RuleProperties {
    /// P1..P12, or META.
    principle: &'static str,
    #[serde(rename = "principleTitle")]
    principle_title: &'static str,
    tags: Vec<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult {
    rule_id: &'static str,
    rule_index: usize,
    level: &'static str,
    message: Text,
    locations: Vec<Location>,
    partial_fingerprints: BTreeMap<&'static str, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    physical_location: PhysicalLocation,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    region: Region,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocation {
    uri: String,
    uri_base_id: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: u32,
    start_column: u32,
    end_line: u32,
    end_column: u32,
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// Where the rules are documented on the web, when the package names a homepage.
fn help_uri(rule: &Rule) -> Option<String> {
    information_uri().map(|home| format!("{}/rules/{}", home.trim_end_matches('/'), rule.name))
}

fn information_uri() -> Option<&'static str> {
    Some(env!("CARGO_PKG_HOMEPAGE")).filter(|h| !h.is_empty())
}

/// The paragraphs under `## What it does`, as one line each.
fn what_it_does(doc: &str) -> String {
    let section = doc
        .split("## What it does")
        .nth(1)
        .unwrap_or(doc)
        .split("\n## ")
        .next()
        .unwrap_or_default();
    section
        .split("\n\n")
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// The first sentence of a paragraph: up to a full stop followed by a capital letter or the
/// end, so that `Depends(...)` and `e.g. this` do not end it.
fn first_sentence(text: &str) -> String {
    let para = text.split("\n\n").next().unwrap_or_default();
    let bytes = para.as_bytes();
    for (i, _) in para.match_indices(". ") {
        let prev_dot = i > 0 && bytes[i - 1] == b'.';
        let next_upper = bytes.get(i + 2).is_some_and(u8::is_ascii_uppercase);
        if !prev_dot && next_upper {
            return para[..=i].to_string();
        }
    }
    para.to_string()
}

fn describe(rule: &'static Rule) -> RuleDescriptor {
    let full = what_it_does(rule.doc);
    let mut tags = vec![rule.principle.code()];
    if matches!(rule.principle, Principle::P2 | Principle::P3) {
        tags.push("security");
    }
    RuleDescriptor {
        id: rule.code,
        name: rule.name,
        short_description: Text {
            text: first_sentence(&full),
        },
        full_description: Text { text: full },
        help: Help {
            text: format!("{}\n\n`svc explain {}` for details.", rule.help, rule.name),
            markdown: rule.doc.trim_end().to_string(),
        },
        help_uri: help_uri(rule),
        default_configuration: Configuration {
            level: level(rule.severity),
        },
        properties: RuleProperties {
            principle: rule.principle.code(),
            principle_title: rule.principle.title(),
            tags,
        },
    }
}

impl Reporter for SarifReporter {
    fn write(
        &self,
        report: &Report,
        _: &RenderOptions,
        out: &mut dyn Write,
    ) -> std::io::Result<()> {
        let results = report
            .findings
            .iter()
            .map(|f| {
                let rule_index = REGISTRY
                    .iter()
                    .position(|r| r.code == f.code)
                    .expect("every finding's rule is registered");
                let mut message = f.message.clone();
                if !f.help.is_empty() {
                    message.push_str("\nhelp: ");
                    message.push_str(&f.help);
                }
                SarifResult {
                    rule_id: f.code,
                    rule_index,
                    level: level(f.severity),
                    message: Text { text: message },
                    locations: vec![Location {
                        physical_location: PhysicalLocation {
                            artifact_location: ArtifactLocation {
                                uri: uri_path(&f.path),
                                uri_base_id: SRCROOT,
                            },
                            region: Region {
                                start_line: f.line,
                                start_column: f.column,
                                end_line: f.end_line,
                                end_column: f.end_column,
                            },
                        },
                    }],
                    partial_fingerprints: BTreeMap::from([(
                        FINGERPRINT_KEY,
                        f.fingerprint.with_occurrence_hex(),
                    )]),
                }
            })
            .collect();
        let log = Log {
            schema: SCHEMA,
            version: "2.1.0",
            runs: vec![Run {
                tool: Tool {
                    driver: Driver {
                        name: "svc",
                        version: env!("CARGO_PKG_VERSION"),
                        semantic_version: env!("CARGO_PKG_VERSION"),
                        information_uri: information_uri(),
                        rules: REGISTRY.iter().copied().map(describe).collect(),
                    },
                },
                invocations: vec![Invocation {
                    execution_successful: true,
                }],
                column_kind: "unicodeCodePoints",
                results,
            }],
        };
        serde_json::to_writer_pretty(&mut *out, &log)?;
        writeln!(out)
    }
}

/// A relative path as a URI reference: characters URIs reserve are percent-encoded.
fn uri_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_sentence_skips_ellipses_and_abbreviations() {
        assert_eq!(
            first_sentence("Reports `Depends(...)` calls. More here."),
            "Reports `Depends(...)` calls."
        );
        assert_eq!(
            first_sentence("Flags e.g. this case. Then"),
            "Flags e.g. this case."
        );
        assert_eq!(first_sentence("No full stop"), "No full stop");
    }

    #[test]
    fn every_rule_has_a_short_description_that_is_a_sentence() {
        for rule in REGISTRY {
            let d = describe(rule);
            assert!(!d.short_description.text.is_empty(), "{}", rule.code);
            assert!(
                d.full_description
                    .text
                    .starts_with(&d.short_description.text),
                "{}",
                rule.code
            );
            assert!(!d.full_description.text.contains("## "), "{}", rule.code);
        }
    }

    #[test]
    fn uri_paths_are_percent_encoded() {
        assert_eq!(uri_path("app/main.py"), "app/main.py");
        assert_eq!(uri_path("my app/#1.py"), "my%20app/%231.py");
        assert_eq!(uri_path("é.py"), "%C3%A9.py");
    }
}
