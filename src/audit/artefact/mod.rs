//! Deployment artefacts next to the code: Dockerfiles, Kubernetes manifests, SAM /
//! CloudFormation templates, compose files and proxy configuration. Each file is parsed once,
//! in the parallel load phase, into facts with byte ranges; the model attaches them to
//! services and rules read them from there.

pub mod command;
pub mod compose;
pub mod dockerfile;
pub mod k8s;
pub mod proxy;
pub mod sam;
pub mod yaml;

use std::path::Path;

use ruff_text_size::{TextRange, TextSize};

use crate::audit::model::code::SuppressionComment;
use crate::audit::source::{FileKind, SourceFile};
use crate::audit::suppress::parse_suppression;

/// A file that does not parse as its format.
#[derive(Debug, Clone)]
pub struct ParseError {
    pub message: String,
    pub range: TextRange,
}

impl ParseError {
    pub fn new(message: impl Into<String>, range: TextRange) -> Self {
        ParseError {
            message: message.into(),
            range,
        }
    }
}

#[derive(Debug)]
pub enum Facts {
    Dockerfile(dockerfile::Dockerfile),
    Kubernetes(Vec<k8s::Workload>),
    Sam(sam::Template),
    Compose(Vec<compose::ComposeService>),
    /// Proxy configuration or YAML svc has no use for beyond [`Artefact::proxy`].
    Other,
}

/// What svc learned from one artefact file.
#[derive(Debug)]
pub struct Artefact {
    pub facts: Facts,
    /// Security headers or rate limits this file configures for what sits behind it.
    pub proxy: proxy::ProxyFacts,
    /// `# svc: ignore[...]` comments, then Kubernetes `svc.dev/ignore` annotations.
    pub suppressions: Vec<SuppressionComment>,
    /// For each suppression: the region an annotation covers (None: a line comment).
    pub regions: Vec<Option<TextRange>>,
    /// Multi-line Dockerfile instructions: a comment above one covers all of its lines.
    pub statement_ranges: Vec<TextRange>,
}

impl Artefact {
    pub fn dockerfile(&self) -> Option<&dockerfile::Dockerfile> {
        match &self.facts {
            Facts::Dockerfile(d) => Some(d),
            _ => None,
        }
    }

    pub fn workloads(&self) -> &[k8s::Workload] {
        match &self.facts {
            Facts::Kubernetes(w) => w,
            _ => &[],
        }
    }

    pub fn sam(&self) -> Option<&sam::Template> {
        match &self.facts {
            Facts::Sam(t) => Some(t),
            _ => None,
        }
    }

    pub fn compose(&self) -> &[compose::ComposeService] {
        match &self.facts {
            Facts::Compose(s) => s,
            _ => &[],
        }
    }
}

/// Parse an artefact; None for Python and manifest files. A file that does not parse gives
/// an error naming its format.
pub fn analyze(file: &SourceFile) -> Option<Result<Artefact, ParseError>> {
    let name = file.rel.rsplit('/').next().unwrap_or(&file.rel);
    let parsed = match file.kind {
        FileKind::Python | FileKind::Manifest => return None,
        FileKind::Dockerfile => dockerfile::parse(file.text())
            .map(|d| {
                let ranges = d
                    .instruction_ranges
                    .iter()
                    .copied()
                    .filter(|r| file.slice(*r).contains('\n'))
                    .collect();
                (Facts::Dockerfile(d), proxy::ProxyFacts::default(), ranges)
            })
            .map_err(|e| named("Dockerfile", e)),
        FileKind::ProxyConfig => Ok((Facts::Other, proxy::from_text(file.text()), Vec::new())),
        FileKind::Yaml | FileKind::Json => yaml_facts(file, name),
    };
    Some(parsed.map(|(facts, proxy, statement_ranges)| {
        let mut suppressions = line_suppressions(file.text());
        let mut regions = vec![None; suppressions.len()];
        if let Facts::Kubernetes(workloads) = &facts {
            for w in workloads {
                if let Some((rules, range)) = &w.ignore {
                    suppressions.push(SuppressionComment {
                        rules: rules.clone(),
                        file_level: false,
                        range: *range,
                    });
                    regions.push(Some(w.range));
                }
            }
        }
        Artefact {
            facts,
            proxy,
            suppressions,
            regions,
            statement_ranges,
        }
    }))
}

fn named(format: &str, e: ParseError) -> ParseError {
    ParseError::new(format!("{format}: {}", e.message), e.range)
}

type Parsed = (Facts, proxy::ProxyFacts, Vec<TextRange>);

fn yaml_facts(file: &SourceFile, name: &str) -> Result<Parsed, ParseError> {
    let format = if file.kind == FileKind::Json {
        "JSON"
    } else {
        "YAML"
    };
    let docs = match yaml::parse(file.text()) {
        Ok(d) => d,
        // A Helm chart's templates are not YAML until rendered. Anything else that does not
        // parse is reported, `{{` or not: CloudFormation's `{{resolve:...}}` and a `{{` in a
        // comment are no reason to skip a file.
        Err(_) if file.text().contains("{{") && is_chart_template(&file.path) => {
            return Ok((Facts::Other, Default::default(), Vec::new()));
        }
        Err(e) => {
            let msg = e.message.trim_start_matches("invalid YAML: ").to_string();
            return Err(ParseError::new(
                format!("{format} does not parse: {msg}"),
                e.range,
            ));
        }
    };
    let mut proxy = proxy::ProxyFacts::default();
    for d in &docs {
        let p = proxy::from_yaml(d);
        proxy.security_headers |= p.security_headers;
        proxy.rate_limit |= p.rate_limit;
    }
    let facts = if let Some(doc) = docs.iter().find(|d| sam::is_template(d)) {
        let t = sam::template(doc).map_err(|e| named("CloudFormation template", e))?;
        proxy.rate_limit |= t.throttled;
        Facts::Sam(t)
    } else if docs.iter().any(k8s::is_object) {
        Facts::Kubernetes(k8s::workloads(&docs))
    } else if let Some(doc) = docs.iter().find(|d| compose::is_compose(d, name)) {
        Facts::Compose(compose::services(doc))
    } else {
        Facts::Other
    };
    Ok((facts, proxy, Vec::new()))
}

/// A file under the `templates/` directory of a Helm chart (next to its `Chart.yaml`).
fn is_chart_template(path: &Path) -> bool {
    path.ancestors()
        .skip(1)
        .filter(|dir| dir.file_name().is_some_and(|n| n == "templates"))
        .filter_map(Path::parent)
        .any(|chart| chart.join("Chart.yaml").is_file() || chart.join("Chart.yml").is_file())
}

/// `# svc: ignore[...]` comments in a `#`-comment format, line by line.
fn line_suppressions(text: &str) -> Vec<SuppressionComment> {
    let mut out = Vec::new();
    if !text.contains("svc:") {
        return out;
    }
    let mut start = 0usize;
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let mut search = 0;
        while let Some(pos) = body[search..].find('#').map(|p| p + search) {
            // A comment starts the line or follows whitespace (`a#b` is not a comment).
            let starts_comment = pos == 0 || body[..pos].ends_with(char::is_whitespace);
            if starts_comment {
                let range = TextRange::new(
                    TextSize::from((start + pos) as u32),
                    TextSize::from((start + body.len()) as u32),
                );
                if let Some(s) = parse_suppression(&body[pos..], range) {
                    out.push(s);
                }
                break;
            }
            search = pos + 1;
        }
        start += line.len();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suppression_comments_in_yaml_and_dockerfiles() {
        let s = line_suppressions(
            "FROM python # svc: ignore[DK002] pinned by renovate\nurl: a#b svc: ignore\n",
        );
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].rules, vec![Box::from("DK002")]);
    }

    #[test]
    fn kinds_and_errors() {
        let f = |rel: &str, kind, text: &str| {
            analyze(&SourceFile::new(rel.into(), rel.into(), kind, text.into())).unwrap()
        };
        let e = f("Dockerfile", FileKind::Dockerfile, "# nothing\n").unwrap_err();
        assert!(e.message.starts_with("Dockerfile: "), "{}", e.message);
        let e = f("k8s.yaml", FileKind::Yaml, "a: [\n").unwrap_err();
        assert!(
            e.message.starts_with("YAML does not parse"),
            "{}",
            e.message
        );
        // Templated, but not in a chart: a broken file like any other.
        let e = f(
            "chart/templates/d.yaml",
            FileKind::Yaml,
            "{{- if .Values.x }}\na: [\n",
        )
        .unwrap_err();
        assert!(
            e.message.starts_with("YAML does not parse"),
            "{}",
            e.message
        );
        let c = f(
            "docker-compose.yml",
            FileKind::Yaml,
            "services:\n  app:\n    build: .\n",
        )
        .unwrap();
        assert_eq!(c.compose()[0].build.as_deref(), Some("."));
    }
}
