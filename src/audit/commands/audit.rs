//! `svc audit`: the audit, then the changed-lines filter, the baseline, the reporter and the
//! exit code.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::audit::error::AuditError;
use crate::audit::report::{self, RenderOptions, Reporter};
use crate::audit::{AuditOptions, audit, baseline, changed, in_scope};
use crate::cli::{AuditArgs, OutputFormat};
use crate::plural;

pub fn run(args: &AuditArgs) -> miette::Result<ExitCode> {
    let options = AuditOptions {
        paths: args.paths.clone(),
        config: args.config.clone(),
        isolated: args.isolated,
        select: args.select.clone(),
        ignore: args.ignore.clone(),
        fail_on: args.fail_on,
    };
    // `--diff` fails before the audit, not after it: outside a work tree, or a revision git
    // does not know.
    let base = match &args.diff {
        Some(rev) => {
            let first = options
                .paths
                .first()
                .map_or(Path::new("."), PathBuf::as_path);
            // A path that does not exist is the audit's to report.
            let dir = std::fs::canonicalize(first).ok().map(|p| {
                if p.is_dir() {
                    p
                } else {
                    p.parent().map_or(p.clone(), Path::to_path_buf)
                }
            });
            match dir {
                Some(dir) => Some(changed::Base::resolve(&dir, rev)?),
                None => None,
            }
        }
        None => None,
    };
    let mut outcome = audit(&options)?;
    // Freeing millions of small facts one by one took a tenth of a run on prefect-3.9.1;
    // the process is about to exit and the OS takes the memory back at once.
    std::mem::forget(std::mem::take(&mut outcome.project));
    for w in &outcome.config_warnings {
        eprintln!("svc: warning: {w}");
    }
    // Not audited, and not silently: a directory the walk could not enter.
    for e in &outcome.walk_errors {
        eprintln!("svc: warning: not audited: {e}");
    }
    if let Some(base) = &base {
        // Before the baseline, so that stale entries on unchanged lines are not reported.
        let changed = changed::ChangedLines::since(&outcome.root, base)?;
        outcome
            .report
            .retain(|f| changed.touches(&f.path, f.line, f.end_line));
    }
    if let Some(path) = &args.write_baseline {
        let baseline = baseline::Baseline::from_report(&outcome.report);
        let text = baseline.to_json();
        write_output(path, text.as_bytes(), &outcome.root)?.map_err(|source| {
            baseline::BaselineError::Write {
                path: path.clone(),
                source,
            }
        })?;
        if !args.quiet {
            eprintln!(
                "svc: wrote {} ({}) to the baseline {}",
                plural::count(outcome.report.findings.len(), "finding", "findings"),
                plural::count(baseline.findings.len(), "entry", "entries"),
                path.display()
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(path) = &args.baseline {
        let baseline = baseline::Baseline::read(path)?;
        let before = outcome.report.findings.len();
        let covered = |e: &baseline::Entry| {
            outcome.rules.contains(&e.code.as_str())
                && (outcome.scope.is_empty() || outcome.scope.iter().any(|s| in_scope(&e.path, s)))
                && args.diff.is_none()
        };
        let stale = baseline.apply(&mut outcome.report, covered);
        if !args.quiet {
            let hidden = before - outcome.report.findings.len();
            eprintln!(
                "svc: {} in the baseline {} not shown",
                plural::count(hidden, "finding", "findings"),
                path.display()
            );
        }
        // Always said: a stale entry would hide the same violation when it comes back.
        if !stale.is_empty() {
            let (entries, verb, pronoun) = match stale.len() {
                1 => ("baseline entry", "matches", "it"),
                _ => ("baseline entries", "match", "them"),
            };
            eprintln!(
                "svc: {} {entries} no longer {verb} (fixed or changed); \
                 `svc audit --write-baseline {}` drops {pronoun}:",
                stale.len(),
                path.display()
            );
            for s in &stale {
                eprintln!(
                    "  {} {} {} ({} of {} gone)",
                    s.entry.path, s.entry.code, s.entry.name, s.missing, s.entry.count
                );
            }
        }
    }
    let color = args.output.is_none()
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let render = RenderOptions {
        color,
        quiet: args.quiet,
    };
    let reporter: &dyn Reporter = match args.format {
        OutputFormat::Text => &report::TextReporter,
        OutputFormat::Json => &report::JsonReporter,
        OutputFormat::Sarif => &report::SarifReporter,
        OutputFormat::Github => &report::GithubReporter,
    };
    let written = match &args.output {
        Some(path) => {
            let mut buf = Vec::new();
            let write = |source| AuditError::Write {
                path: path.clone(),
                source,
            };
            reporter
                .write(&outcome.report, &render, &mut buf)
                .map_err(write)
                .and_then(|()| write_output(path, &buf, &outcome.root)?.map_err(write))
        }
        None => crate::stdout::write_with(|out| reporter.write(&outcome.report, &render, out))
            .map_err(|source| AuditError::Write {
                path: PathBuf::from("<stdout>"),
                source,
            }),
    };
    written?;
    let threshold = outcome.fail_on.threshold();
    let failed = match (threshold, outcome.report.max_severity()) {
        (Some(t), Some(max)) => max >= t,
        _ => false,
    };
    Ok(ExitCode::from(u8::from(failed)))
}

/// Writes a report or a baseline to `path` (the outer error: a link out of `root`, the audited
/// repository, or to nothing; the inner one: the write itself). Like every file svc writes:
/// through a temporary file renamed into place, and through a link only into the repository.
fn write_output(
    path: &Path,
    contents: &[u8],
    root: &Path,
) -> Result<std::io::Result<()>, AuditError> {
    let target = crate::atomic::follow_inside(path, root).map_err(|refused| match refused {
        crate::atomic::Refused::Outside(points_to) => AuditError::LinkOutside {
            path: path.to_owned(),
            points_to,
            root: root.to_owned(),
        },
        crate::atomic::Refused::Dangling(points_to) => AuditError::DanglingLink {
            path: path.to_owned(),
            points_to,
        },
        crate::atomic::Refused::DirectoryOutside { dir, points_to } => AuditError::LinkOutside {
            path: dir,
            points_to,
            root: root.to_owned(),
        },
    })?;
    Ok(crate::atomic::write_whole(&target, contents, "svc-audit"))
}
