//! Entry points for the fuzz targets in `fuzz/` and their regression tests (not an API).
//!
//! Each takes arbitrary bytes and runs them through what `svc audit` does with a file on disk,
//! in memory: the UTF-8 check, parsing, the service model, every rule, suppressions and the
//! report in every format. Each asserts what must hold for any input: no panic, every span
//! inside its file and on character boundaries, lines and columns in order, and a
//! configuration error pointing into the configuration text.

use std::path::{Path, PathBuf};

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme};
use ruff_text_size::{Ranged, TextSize};

use crate::audit::config::{self, Config};
use crate::audit::error::AuditError;
use crate::audit::model::Project;
use crate::audit::report::{self, RenderOptions, Report, Reporter};
use crate::audit::rules::Finding;
use crate::audit::{Settings, audit_sources};

/// The code next to a fuzzed artefact or configuration: an app with routes to compare
/// probes, handlers and ports with.
const APP: &str = "\
from fastapi import FastAPI

app = FastAPI()


@app.get(\"/healthz\")
async def healthz():
    return {\"status\": \"ok\"}


@app.get(\"/orders/{order_id}\")
async def order(order_id: int):
    return {\"id\": order_id}
";

const PYPROJECT: &str = "\
[project]
name = \"orders\"
version = \"0.1.0\"
dependencies = [\"fastapi\", \"uvicorn\"]
";

/// `svc audit` on a one-file project: `bytes` as `app/main.py`.
pub fn python(bytes: &[u8]) -> Report {
    audit_files(&[("app/main.py", bytes)], Config::default()).expect("no configuration to fail")
}

/// `bytes` as the Dockerfile of a service.
pub fn dockerfile(bytes: &[u8]) -> Report {
    audit_files(
        &[
            ("Dockerfile", bytes),
            ("pyproject.toml", PYPROJECT.as_bytes()),
            ("app/main.py", APP.as_bytes()),
        ],
        Config::default(),
    )
    .expect("no configuration to fail")
}

/// `bytes` as a YAML file next to a service. Its content decides what it is read as (a SAM
/// template, Kubernetes manifests, else a compose file: the name says compose).
pub fn yaml(bytes: &[u8]) -> Report {
    audit_files(
        &[
            ("docker-compose.yml", bytes),
            ("pyproject.toml", PYPROJECT.as_bytes()),
            ("app/main.py", APP.as_bytes()),
        ],
        Config::default(),
    )
    .expect("no configuration to fail")
}

/// `bytes` as the configuration of a service: first as its `svc.toml`, then as its
/// pyproject.toml (which is also its manifest). A configuration that loads is used for an
/// audit of the service. The results, in that order.
pub fn config(bytes: &[u8]) -> [Result<Report, AuditError>; 2] {
    [("svc.toml", false), ("pyproject.toml", true)].map(|(name, is_pyproject)| {
        let result = configured_audit(bytes, name, is_pyproject);
        if let Err(e) = &result {
            check_error(e, bytes);
        }
        result
    })
}

fn configured_audit(bytes: &[u8], name: &str, is_pyproject: bool) -> Result<Report, AuditError> {
    // As `config::load` reads it.
    let text = String::from_utf8(bytes.to_vec()).map_err(|e| AuditError::Read {
        path: PathBuf::from(name),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
    })?;
    // A pyproject.toml without [tool.svc] is no configuration.
    // Not on disk: the service directories it names are the in-memory project's.
    let config = config::parse(Path::new(name), text, is_pyproject, None)?.unwrap_or_default();
    let manifest = if is_pyproject {
        bytes
    } else {
        PYPROJECT.as_bytes()
    };
    audit_files(
        &[
            ("pyproject.toml", manifest),
            ("app/main.py", APP.as_bytes()),
        ],
        config,
    )
}

/// Audit an in-memory project: `files` are (path relative to the root, bytes), each a kind
/// of file the walk picks up. Every selected rule runs, as in `svc audit` at the root.
pub fn audit_files(files: &[(&str, &[u8])], config: Config) -> Result<Report, AuditError> {
    // The configuration sits at the root: its globs need no prefix.
    let settings = Settings::in_memory(config)?;
    let audited = audit_sources(files, &settings)?;
    check_findings(&audited.project, &audited.findings);
    let report = audited.into_report();
    check_report(&report);
    Ok(report)
}

/// Every finding's range lies inside its file, on character boundaries.
fn check_findings(project: &Project, findings: &[Finding]) {
    for f in findings {
        let file = project
            .files
            .get(f.file as usize)
            .unwrap_or_else(|| panic!("{}: file {} out of range", f.rule.code, f.file));
        let len = TextSize::of(file.text());
        let (start, end) = (f.range.start(), f.range.end());
        assert!(
            end <= len,
            "{} in {}: range {:?} beyond the end ({len:?})",
            f.rule.code,
            file.rel,
            f.range
        );
        assert!(
            file.text().is_char_boundary(start.into()) && file.text().is_char_boundary(end.into()),
            "{} in {}: range {:?} not on character boundaries",
            f.rule.code,
            file.rel,
            f.range.range()
        );
    }
}

/// Reported spans and positions are consistent, the summary counts the findings, and every
/// reporter renders the report.
pub fn check_report(report: &Report) {
    for f in &report.findings {
        let (path, text) = &report.sources[f.source];
        assert_eq!(*path, f.path);
        let end = f.offset + f.len;
        assert!(
            end <= text.len(),
            "{} in {}: span beyond the end",
            f.code,
            f.path
        );
        assert!(
            text.is_char_boundary(f.offset) && text.is_char_boundary(end),
            "{} in {}: span not on character boundaries",
            f.code,
            f.path
        );
        assert!(
            f.line >= 1 && f.column >= 1,
            "{}: positions are 1-based",
            f.code
        );
        assert!(
            (f.line, f.column) <= (f.end_line, f.end_column),
            "{} in {}: ends before it starts",
            f.code,
            f.path
        );
    }
    let s = &report.summary;
    assert_eq!(s.findings, report.findings.len());
    assert_eq!(s.errors + s.warnings + s.infos, s.findings);
    let reporters: [&dyn Reporter; 4] = [
        &report::TextReporter,
        &report::JsonReporter,
        &report::SarifReporter,
        &report::GithubReporter,
    ];
    for color in [false, true] {
        let options = RenderOptions {
            color,
            quiet: false,
        };
        for r in reporters {
            let mut out = Vec::new();
            r.write(report, &options, &mut out).expect("renders");
        }
    }
}

/// A configuration error's labels point into its text, and it renders.
fn check_error(error: &AuditError, bytes: &[u8]) {
    if let AuditError::Config(e) = error {
        let text = e.src.inner();
        assert_eq!(text.as_bytes(), bytes, "the error shows the configuration");
        for label in error.labels().into_iter().flatten() {
            let (start, end) = (label.offset(), label.offset() + label.len());
            assert!(
                end <= text.len(),
                "{}: label {start}..{end} beyond the end",
                e.message
            );
            assert!(
                text.is_char_boundary(start) && text.is_char_boundary(end),
                "{}: label {start}..{end} not on character boundaries",
                e.message
            );
        }
    }
    let mut out = String::new();
    GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .render_report(&mut out, error)
        .expect("the error renders");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixed_service_is_a_service() {
        let report = dockerfile(b"FROM python:3.12\n");
        assert_eq!(report.services.len(), 1);
        assert_eq!(report.services[0].name, "orders");
        assert_eq!(report.services[0].routes, 2);
    }
}
