//! `svc check`: for CI, whether each generated service is still on the golden path.
//!
//! A service fails the check when it is behind the current template version, or when a file
//! the template owns has drifted in a way that produces audit findings: the audit reports a
//! finding in a template-owned file the user changed (the security headers middleware
//! deleted from `app/main.py`, the HEALTHCHECK removed from the Dockerfile, the probes from
//! the Kubernetes manifest), or a template-owned file is gone and the audit now reports a
//! rule that the pristine render does not. Harmless edits (a changed setting, a new router)
//! are listed, not failed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde::Serialize;

use super::plan::{is_executable, same};
use super::recorded;
use crate::cli::{CheckArgs, CheckFormat};
use crate::new::answers::Defaults;
use crate::new::render::RenderedTree;
use crate::new::templates::compare_versions;
use crate::plural;

#[derive(Debug, Serialize)]
pub struct ServiceCheck {
    pub path: String,
    pub template: String,
    pub version: String,
    pub current_version: String,
    pub behind: bool,
    /// Template-owned files the user changed or deleted.
    pub modified: Vec<String>,
    pub deleted: Vec<String>,
    /// Audit findings the drift causes: `path:line CODE message`.
    pub drift_findings: Vec<String>,
    pub ok: bool,
}

pub fn run(args: &CheckArgs) -> miette::Result<ExitCode> {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let mut checks = Vec::new();
    for path in &paths {
        checks.push(check(path, args.template.as_deref())?);
    }
    let failed = checks.iter().filter(|c| !c.ok).count();
    match args.format {
        CheckFormat::Json => {
            let text = serde_json::to_string_pretty(&checks).expect("plain data serializes");
            crate::stdout::write_with(|out| {
                out.write_all(text.as_bytes())?;
                out.write_all(b"\n")
            })
            .map_err(|e| miette::miette!("cannot write to standard output: {e}"))?;
        }
        CheckFormat::Text => {
            let mut text = String::new();
            for c in &checks {
                text.push_str(&describe(c));
            }
            text.push_str(&format!(
                "{}: {} on the golden path, {failed} not\n",
                plural::count(checks.len(), "service", "services"),
                checks.len() - failed
            ));
            crate::stdout::write_with(|out| out.write_all(text.as_bytes()))
                .map_err(|e| miette::miette!("cannot write to standard output: {e}"))?;
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn describe(c: &ServiceCheck) -> String {
    let mut out = format!(
        "{} {}: {} template {}{}\n",
        if c.ok { "ok  " } else { "FAIL" },
        c.path,
        c.template,
        c.version,
        if c.behind {
            format!(
                ", behind the current version {} (svc update)",
                c.current_version
            )
        } else {
            String::new()
        }
    );
    for f in &c.drift_findings {
        out.push_str(&format!("    drift: {f}\n"));
    }
    if !c.modified.is_empty() {
        out.push_str(&format!(
            "    changed from the template: {}\n",
            c.modified.join(", ")
        ));
    }
    if !c.deleted.is_empty() {
        out.push_str(&format!("    deleted: {}\n", c.deleted.join(", ")));
    }
    out
}

fn check(root: &Path, template: Option<&Path>) -> miette::Result<ServiceCheck> {
    let recorded = recorded::read(root)?;
    let templates = super::versions::templates(&recorded, template, None)?;
    let current_version = templates.theirs.manifest.version.clone();
    let behind = compare_versions(&recorded.version, &current_version).is_lt()
        || (recorded.commit.is_some()
            && templates.commit.is_some()
            && recorded.commit != templates.commit);
    let (template_name, version) = (recorded.template.clone(), recorded.version.clone());
    let renders = super::renders(
        recorded,
        templates.base,
        (templates.theirs, templates.commit),
        &[],
        &mut Defaults,
    )?;
    let base = &renders.base;
    let (mut modified, mut deleted) = (Vec::new(), Vec::new());
    for file in &base.files {
        let full = root.join(&file.path);
        match std::fs::symlink_metadata(&full) {
            Ok(m) if m.is_file() => {
                let ours = std::fs::read(&full).unwrap_or_default();
                if !same(&ours, &file.contents) || is_executable(&m) != file.executable {
                    modified.push(file.path.clone());
                }
            }
            _ => deleted.push(file.path.clone()),
        }
    }
    let drift_findings = drift(root, base, &modified, &deleted);
    let ok = !behind && drift_findings.is_empty();
    Ok(ServiceCheck {
        path: root.display().to_string(),
        template: template_name,
        version,
        current_version,
        behind,
        modified,
        deleted,
        drift_findings,
        ok,
    })
}

/// Findings the project has and its pristine render does not, where the template owns the
/// place: a finding in a changed template file, or a new rule when a template file is gone.
fn drift(root: &Path, base: &RenderedTree, modified: &[String], deleted: &[String]) -> Vec<String> {
    if modified.is_empty() && deleted.is_empty() {
        return Vec::new();
    }
    let Some(project) = findings(root) else {
        return vec!["the audit could not run on the service".to_owned()];
    };
    let pristine = pristine_findings(base).unwrap_or_default();
    let pristine_rules: BTreeSet<&str> = pristine.iter().map(|(code, ..)| code.as_str()).collect();
    let pristine_set: BTreeSet<(String, String)> = pristine
        .iter()
        .map(|(c, p, ..)| (c.clone(), p.clone()))
        .collect();
    project
        .iter()
        .filter(|(code, path, ..)| !pristine_set.contains(&(code.clone(), path.clone())))
        .filter(|(code, path, ..)| {
            modified.contains(path)
                || (!deleted.is_empty() && !pristine_rules.contains(code.as_str()))
        })
        .map(|(code, path, line, message)| format!("{path}:{line} {code} {message}"))
        .collect()
}

type Found = (String, String, u32, String);

fn findings(root: &Path) -> Option<Vec<Found>> {
    let findings = super::audit(root)?;
    Some(
        findings
            .into_iter()
            .map(|f| (f.code.to_owned(), f.path, f.line, f.message))
            .collect(),
    )
}

/// The recorded version, rendered into a temporary directory and audited.
fn pristine_findings(base: &RenderedTree) -> Option<Vec<Found>> {
    let dir = tempfile::tempdir().ok()?;
    for file in &base.files {
        let path = dir.path().join(&file.path);
        std::fs::create_dir_all(path.parent()?).ok()?;
        std::fs::write(&path, &file.contents).ok()?;
    }
    findings(dir.path())
}
