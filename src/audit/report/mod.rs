//! Reports: findings resolved to paths, lines and columns, rendered by one reporter per format.

pub(crate) mod build;
pub mod fingerprint;
mod github;
mod json;
mod sarif;
mod text;

use std::io::Write;

use serde::Serialize;

use crate::audit::model::Kind;
use crate::audit::rules::{Principle, Severity};

pub use fingerprint::Fingerprint;
pub use github::GithubReporter;
pub use json::JsonReporter;
pub use sarif::SarifReporter;
pub use text::TextReporter;

/// A finding as every reporter sees it. This is also the JSON schema's finding object.
#[derive(Debug, Clone, Serialize)]
pub struct ReportedFinding {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub principle: Principle,
    /// The service's name, or null for files outside every service.
    pub service: Option<String>,
    /// Path relative to the audited root, `/`-separated.
    pub path: String,
    pub line: u32,
    pub column: u32,
    pub end_line: u32,
    pub end_column: u32,
    pub message: String,
    pub help: String,
    /// Byte offsets into the file, for code frames.
    #[serde(skip)]
    pub offset: usize,
    #[serde(skip)]
    pub len: usize,
    /// Index into [`Report::sources`].
    #[serde(skip)]
    pub source: usize,
    /// Set by [`fingerprint::assign`] once every finding is known.
    #[serde(skip)]
    pub fingerprint: Fingerprint,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReportedService {
    pub name: String,
    /// Directory relative to the audited root ("." for the root).
    pub path: String,
    pub kind: Kind,
    pub files: usize,
    pub routes: usize,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub files: usize,
    pub services: usize,
    pub findings: usize,
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
}

/// Everything a reporter needs.
#[derive(Debug, Default)]
pub struct Report {
    pub findings: Vec<ReportedFinding>,
    pub services: Vec<ReportedService>,
    pub summary: Summary,
    /// (relative path, text) of files that have findings, for code frames.
    pub sources: Vec<(String, std::sync::Arc<str>)>,
}

impl Report {
    pub fn max_severity(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }

    /// Keep the findings `keep` accepts, and count them again.
    pub fn retain(&mut self, keep: impl FnMut(&ReportedFinding) -> bool) {
        self.findings.retain(keep);
        let s = &mut self.summary;
        s.findings = self.findings.len();
        s.errors = 0;
        s.warnings = 0;
        s.infos = 0;
        for f in &self.findings {
            match f.severity {
                Severity::Error => s.errors += 1,
                Severity::Warning => s.warnings += 1,
                Severity::Info => s.infos += 1,
            }
        }
    }
}

pub struct RenderOptions {
    pub color: bool,
    pub quiet: bool,
}

/// One output format.
pub trait Reporter {
    fn write(
        &self,
        report: &Report,
        options: &RenderOptions,
        out: &mut dyn Write,
    ) -> std::io::Result<()>;
}
