//! The report built from the findings: sorted, deduplicated, placed in their files (lines,
//! columns, code frames), fingerprinted and counted.

use std::collections::HashMap;

use ruff_text_size::{TextRange, TextSize};

use crate::audit::model::Project;
use crate::audit::report::{self, Report, ReportedFinding, ReportedService, Summary};
use crate::audit::rules::{Finding, Severity};
use crate::audit::source::FileId;

pub(crate) fn build_report(project: &Project, mut findings: Vec<Finding>) -> Report {
    findings.sort_by(|a, b| {
        let fa = project.file(a.file);
        let fb = project.file(b.file);
        fa.rel
            .cmp(&fb.rel)
            .then(a.range.start().cmp(&b.range.start()))
            .then(a.rule.code.cmp(b.rule.code))
    });
    findings.dedup_by(|a, b| {
        a.file == b.file
            && a.range == b.range
            && std::ptr::eq(a.rule, b.rule)
            && a.message == b.message
    });
    let mut sources: Vec<(String, std::sync::Arc<str>)> = Vec::new();
    let mut source_index: HashMap<FileId, usize> = HashMap::new();
    let mut reported = Vec::with_capacity(findings.len());
    let mut summary = Summary {
        files: project.files.len(),
        services: project.services.len(),
        ..Summary::default()
    };
    for f in findings {
        let file = project.file(f.file);
        let src = *source_index.entry(f.file).or_insert_with(|| {
            sources.push((file.rel.clone(), std::sync::Arc::from(file.text())));
            sources.len() - 1
        });
        let text_len = TextSize::of(file.text());
        let range = TextRange::new(f.range.start().min(text_len), f.range.end().min(text_len));
        let start = file.line_col(range.start());
        let end = file.line_col(range.end());
        match f.severity {
            Severity::Error => summary.errors += 1,
            Severity::Warning => summary.warnings += 1,
            Severity::Info => summary.infos += 1,
        }
        reported.push(ReportedFinding {
            code: f.rule.code,
            name: f.rule.name,
            severity: f.severity,
            principle: f.rule.principle,
            service: f.service.map(|i| project.services[i].name.clone()),
            path: file.rel.clone(),
            line: start.line,
            column: start.column,
            end_line: end.line,
            end_column: end.column,
            message: f.message.clone(),
            help: f.help().to_string(),
            offset: usize::from(range.start()),
            len: usize::from(range.len()),
            source: src,
            fingerprint: report::Fingerprint::default(),
        });
    }
    report::fingerprint::assign(&mut reported, &sources);
    summary.findings = reported.len();
    let services = project
        .services
        .iter()
        .map(|s| ReportedService {
            name: s.name.clone(),
            path: if s.root.is_empty() {
                ".".into()
            } else {
                s.root.clone()
            },
            kind: s.kind,
            files: s.files.len(),
            routes: s.routes.len(),
        })
        .collect();
    Report {
        findings: reported,
        services,
        summary,
        sources,
    }
}
