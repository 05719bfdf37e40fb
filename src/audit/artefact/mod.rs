//! Deployment artefacts next to the code: Dockerfiles, Kubernetes manifests, SAM /
//! CloudFormation templates, compose files and proxy configuration. Each file is parsed once,
//! in the parallel load phase, into facts with byte ranges; the model attaches them to
//! services and rules read them from there.

pub mod ci;
pub mod command;
pub mod compose;
pub mod dockerfile;
pub mod helm;
pub mod k8s;
pub mod logging;
pub mod proxy;
pub mod sam;
pub mod serverless;
pub mod template;
pub mod yaml;

use std::path::Path;

use ruff_text_size::TextRange;

use crate::audit::model::code::SuppressionComment;
use crate::audit::rules;
use crate::audit::source::{FileKind, SourceFile};
use crate::audit::suppress::parse_suppression;

/// A file that does not parse as its format.
#[derive(Debug, Clone)]
pub struct ParseError {
    pub message: String,
    pub range: TextRange,
    /// It does not parse only because it is a template (Helm, Jinja, placeholders): not
    /// broken, just not checkable before it is rendered.
    pub templated: bool,
}

impl ParseError {
    pub fn new(message: impl Into<String>, range: TextRange) -> Self {
        ParseError {
            message: message.into(),
            range,
            templated: false,
        }
    }
}

#[derive(Debug)]
pub enum Facts {
    Dockerfile(dockerfile::Dockerfile),
    Kubernetes(k8s::Manifests),
    Sam(sam::Template),
    Compose(Vec<compose::ComposeService>),
    Kustomization(k8s::Kustomization),
    HelmValues(helm::Values),
    /// A `dictConfig` logging configuration (YAML or JSON).
    Logging(logging::LoggingConfig),
    /// Proxy configuration or YAML svc has no use for beyond [`Artefact::proxy`].
    Other,
}

/// What svc learned from one artefact file.
#[derive(Debug)]
pub struct Artefact {
    pub facts: Facts,
    /// Security headers or rate limits this file configures for what sits behind it.
    pub proxy: proxy::ProxyFacts,
    /// Targeted image builds a CI pipeline runs (`docker build --target X`).
    pub docker_builds: Vec<ci::DockerBuild>,
    /// `# svc: ignore[...]` comments, then Kubernetes `svc.dev/ignore` annotations.
    pub suppressions: Vec<SuppressionComment>,
    /// For each suppression: the region an annotation covers (None: a line comment).
    pub regions: Vec<Option<TextRange>>,
    /// Multi-line Dockerfile instructions: a comment above one covers all of its lines.
    pub statement_ranges: Vec<TextRange>,
    /// Suppressions that cannot suppress anything (an annotation naming no rule), and why:
    /// each is reported as `unused-suppression`.
    pub invalid_suppressions: Vec<(TextRange, String)>,
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
            Facts::Kubernetes(m) => &m.workloads,
            _ => &[],
        }
    }

    /// The workloads, to merge kustomize patches into them (or take a patch's away).
    pub fn workloads_mut(&mut self) -> Option<&mut Vec<k8s::Workload>> {
        match &mut self.facts {
            Facts::Kubernetes(m) => Some(&mut m.workloads),
            _ => None,
        }
    }

    pub fn helm_values(&self) -> Option<&helm::Values> {
        match &self.facts {
            Facts::HelmValues(v) => Some(v),
            _ => None,
        }
    }

    pub fn kustomization(&self) -> Option<&k8s::Kustomization> {
        match &self.facts {
            Facts::Kustomization(k) => Some(k),
            _ => None,
        }
    }

    pub fn secret_values(&self) -> &[k8s::SecretValue] {
        match &self.facts {
            Facts::Kubernetes(m) => &m.secret_values,
            _ => &[],
        }
    }

    pub fn sam(&self) -> Option<&sam::Template> {
        match &self.facts {
            Facts::Sam(t) => Some(t),
            _ => None,
        }
    }

    pub fn logging_config(&self) -> Option<&logging::LoggingConfig> {
        match &self.facts {
            Facts::Logging(c) => Some(c),
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
            .map(|mut d| Parsed {
                statement_ranges: d
                    .instruction_ranges
                    .iter()
                    .copied()
                    .filter(|r| file.slice(*r).contains('\n'))
                    .collect(),
                comments: std::mem::take(&mut d.comments),
                facts: Facts::Dockerfile(d),
                proxy: proxy::ProxyFacts::default(),
                docker_builds: Vec::new(),
            })
            .map_err(|e| named("Dockerfile", e)),
        // No rule reports into proxy configuration: nothing there to suppress.
        FileKind::ProxyConfig => Ok(Parsed {
            facts: Facts::Other,
            proxy: proxy::from_text(file.text()),
            docker_builds: Vec::new(),
            statement_ranges: Vec::new(),
            comments: Vec::new(),
        }),
        FileKind::Yaml | FileKind::Json => yaml_facts(file, name),
    };
    Some(parsed.map(|parsed| {
        let Parsed {
            facts,
            proxy,
            docker_builds,
            statement_ranges,
            comments,
        } = parsed;
        let mut suppressions: Vec<SuppressionComment> = comments
            .into_iter()
            .filter_map(|r| parse_suppression(file.slice(r), r))
            .collect();
        let mut regions = vec![None; suppressions.len()];
        let mut invalid_suppressions = Vec::new();
        if let Facts::Kubernetes(manifests) = &facts {
            for w in &manifests.workloads {
                let Some((rules, range)) = &w.ignore else {
                    continue;
                };
                match annotation_rules(rules) {
                    Some(rules) => {
                        suppressions.push(SuppressionComment {
                            rules,
                            empty_list: false,
                            file_level: false,
                            range: *range,
                        });
                        regions.push(Some(w.range));
                    }
                    None => invalid_suppressions.push((
                        *range,
                        format!(
                            "`{}` names no rule: it suppresses nothing",
                            k8s::IGNORE_ANNOTATION
                        ),
                    )),
                }
            }
        }
        Artefact {
            facts,
            proxy,
            docker_builds,
            suppressions,
            regions,
            statement_ranges,
            invalid_suppressions,
        }
    }))
}

/// The rules a `svc.dev/ignore` annotation names, written as `--select` takes them: codes,
/// names, code prefixes (`KB`), principles (`P10`) or `ALL` (every rule: an empty list). None
/// when it names none at all (`""`, `" , "`): that is no reason to suppress everything. A
/// word that names no rule is kept, to be reported as unknown.
fn annotation_rules(words: &[Box<str>]) -> Option<Vec<Box<str>>> {
    if words.is_empty() {
        return None;
    }
    let mut rules = Vec::new();
    for w in words {
        if w.eq_ignore_ascii_case("ALL") {
            return Some(Vec::new());
        }
        let selected: Vec<Box<str>> = match rules::find(w) {
            Some(_) => vec![w.clone()],
            None => rules::REGISTRY
                .iter()
                .filter(|r| crate::audit::selector_matches(w, r))
                .map(|r| r.code.into())
                .collect(),
        };
        match selected.is_empty() {
            true => rules.push(w.clone()),
            false => rules.extend(selected),
        }
    }
    Some(rules)
}

fn named(format: &str, e: ParseError) -> ParseError {
    ParseError::new(format!("{format}: {}", e.message), e.range)
}

/// What parsing one artefact gave, before its suppressions are read.
struct Parsed {
    facts: Facts,
    proxy: proxy::ProxyFacts,
    docker_builds: Vec<ci::DockerBuild>,
    statement_ranges: Vec<TextRange>,
    /// Where the format's comments are: suppressions are read from these only.
    comments: Vec<TextRange>,
}

fn yaml_facts(file: &SourceFile, name: &str) -> Result<Parsed, ParseError> {
    let format = if file.kind == FileKind::Json {
        "JSON"
    } else {
        "YAML"
    };
    let docs = match yaml::parse(file.text()) {
        Ok(d) => d,
        Err(e) => {
            if let Some(t) = templated(file) {
                return Err(t);
            }
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
    // Only a file that mentions svc can hold a suppression.
    let comments = match file.text().contains("svc:") {
        true => yaml::comments(file.text(), &docs),
        false => Vec::new(),
    };
    let facts = if let Some(doc) = docs.iter().find(|d| sam::is_template(d)) {
        let t = sam::template(doc).map_err(|e| named("CloudFormation template", e))?;
        proxy.rate_limit |= t.throttled;
        Facts::Sam(t)
    } else if let Some(doc) = docs.iter().find(|d| serverless::is_serverless(d, name)) {
        let t = serverless::template(doc);
        proxy.rate_limit |= t.throttled;
        Facts::Sam(t)
    } else if helm::is_values_file(&file.path)
        && let Some(doc) = docs.first().filter(|d| d.is_map())
    {
        Facts::HelmValues(helm::values(doc))
    } else if k8s::is_kustomization(name)
        && let Some(doc) = docs.first()
    {
        Facts::Kustomization(k8s::kustomization(doc))
    } else if docs.iter().any(k8s::is_object) {
        Facts::Kubernetes(k8s::manifests(&docs))
    } else if let Some(doc) = docs.iter().find(|d| compose::is_compose(d, name)) {
        Facts::Compose(compose::services(doc))
    } else if let Some(doc) = docs.first().filter(|d| logging::is_logging_config(d)) {
        Facts::Logging(logging::config(doc))
    } else {
        Facts::Other
    };
    let docker_builds = match ci::is_pipeline(&file.rel) {
        true => ci::docker_builds(&docs),
        false => Vec::new(),
    };
    Ok(Parsed {
        facts,
        proxy,
        docker_builds,
        statement_ranges: Vec::new(),
        comments,
    })
}

/// A file that does not parse because it is a template: a Helm chart template with a
/// marker, or any file that parses once its markers are blanked out. Anything else that does
/// not parse is broken, `{{` or not: CloudFormation's `{{resolve:...}}` or a `{{` in a
/// comment is no reason to pass over a real error.
fn templated(file: &SourceFile) -> Option<ParseError> {
    let text = file.text();
    let markers = template::markers(text);
    let first = *markers.first()?;
    let chart = is_chart_template(&file.path);
    if !chart && yaml::parse(&template::blank(text, &markers)).is_err() {
        return None;
    }
    let what = match chart {
        true => "a Helm chart template",
        false => template::describe(file.slice(first)),
    };
    Some(ParseError {
        message: format!("not checked: templated ({what}), not YAML until it is rendered"),
        range: first,
        templated: true,
    })
}

/// A file under the `templates/` directory of a Helm chart (next to its `Chart.yaml`).
fn is_chart_template(path: &Path) -> bool {
    path.ancestors()
        .skip(1)
        .filter(|dir| dir.file_name().is_some_and(|n| n == "templates"))
        .filter_map(Path::parent)
        .any(|chart| chart.join("Chart.yaml").is_file() || chart.join("Chart.yml").is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn suppressions(rel: &str, kind: FileKind, text: &str) -> Vec<(Vec<Box<str>>, String)> {
        let file = SourceFile::new(rel.into(), rel.into(), kind, text.into());
        let a = analyze(&file).unwrap().unwrap();
        a.suppressions
            .iter()
            .map(|s| (s.rules.clone(), file.slice(s.range).to_string()))
            .collect()
    }

    #[test]
    fn suppressions_come_from_comments_only() {
        // After an instruction, a `#` is part of its arguments; in a heredoc, of its body.
        let s = suppressions(
            "Dockerfile",
            FileKind::Dockerfile,
            "# svc: ignore[DK002] pinned by renovate\nFROM python # svc: ignore[DK001]\nRUN <<EOF\n# svc: ignore[DK004]\nEOF\nRUN a \\\n  # svc: ignore[DK005] inside\n  b\n",
        );
        assert_eq!(
            s,
            [
                (
                    vec![Box::from("DK002")],
                    "# svc: ignore[DK002] pinned by renovate".to_string()
                ),
                (
                    vec![Box::from("DK005")],
                    "# svc: ignore[DK005] inside".to_string()
                ),
            ]
        );
        // In YAML, not in a quoted or block scalar, nor in `a#b`.
        let s = suppressions(
            "k.yaml",
            FileKind::Yaml,
            "a: \"x # svc: ignore[KB001]\"\nb: |\n  # svc: ignore[KB002]\nurl: a#svc:ignore\nc: 1 # svc: ignore[KB003]\n",
        );
        assert_eq!(s.len(), 1, "{s:?}");
        assert_eq!(s[0].0, vec![Box::from("KB003")]);
    }

    #[test]
    fn annotation_rules_are_selectors() {
        let words = |ws: &[&str]| ws.iter().map(|w| Box::from(*w)).collect::<Vec<_>>();
        assert_eq!(annotation_rules(&[]), None);
        assert_eq!(annotation_rules(&words(&["ALL"])), Some(vec![]));
        let kb = annotation_rules(&words(&["kb"])).unwrap();
        assert!(
            kb.len() >= 6 && kb.iter().all(|c| c.starts_with("KB")),
            "{kb:?}"
        );
        assert_eq!(
            annotation_rules(&words(&["privileged-container", "NOPE"])),
            Some(words(&["privileged-container", "NOPE"]))
        );
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
