//! Writes an update all at once or not at all.
//!
//! Every new file is staged next to its target first (the slow, failure-prone part changes
//! nothing), then renamed into place, deletions after, and `pyproject.toml`, which records the
//! template version, last. The previous contents are in memory, so a failed rename or an
//! interrupt (SIGINT/SIGTERM, deferred while this runs) puts every file back as it was and
//! removes the directories this created.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use miette::Diagnostic;
use thiserror::Error;

use super::plan::Step;
use crate::atomic::{self, Mode};
use crate::new::interrupt;
use crate::new::record::PYPROJECT;

const PREFIX: &str = "svc-update";

#[derive(Debug, Error, Diagnostic)]
pub enum ApplyError {
    #[error("cannot update {path}")]
    #[diagnostic(
        code(svc::update::io),
        help("nothing was changed: every file is as it was")
    )]
    Write {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("interrupted; nothing was changed")]
    #[diagnostic(code(svc::update::interrupted))]
    Interrupted,
    #[error("cannot update {path}, and putting the project back failed for {failed}")]
    #[diagnostic(
        code(svc::update::io),
        help("compare the project with git (`git status`, `git diff`) and restore those files")
    )]
    RollbackFailed {
        path: String,
        failed: String,
        #[source]
        source: io::Error,
    },
}

/// What was done to one path, for the rollback.
enum Done {
    /// Replaced or deleted a file that had these contents and permissions.
    Changed(PathBuf, Vec<u8>, fs::Permissions),
    Created(PathBuf),
}

pub fn apply(root: &Path, steps: &[Step]) -> Result<(), ApplyError> {
    let _deferred = interrupt::Deferred::start();
    let mut created_dirs: Vec<PathBuf> = Vec::new();
    let fail = |path: &str, source: io::Error| ApplyError::Write {
        path: path.to_owned(),
        source,
    };

    // Writes in path order with pyproject.toml (the record) last; then `.rej` files.
    let mut writes: Vec<(&str, PathBuf, &[u8], bool)> = Vec::new();
    for step in steps.iter().filter(|s| s.changes()) {
        if let Some((contents, executable)) = &step.result {
            writes.push((&step.path, root.join(&step.path), contents, *executable));
        }
    }
    writes.sort_by_key(|(path, ..)| *path == PYPROJECT);
    let rejects: Vec<(String, PathBuf, &[u8])> = steps
        .iter()
        .filter_map(|s| {
            let patch = s.reject.as_ref()?;
            let path = format!("{}.rej", s.path);
            Some((path.clone(), root.join(path), patch.as_bytes()))
        })
        .collect();

    let mut staged = Vec::new();
    let stage_all = |staged: &mut Vec<_>, created_dirs: &mut Vec<PathBuf>| {
        let all = writes
            .iter()
            .map(|(p, full, c, x)| (*p, full, *c, *x))
            .chain(
                rejects
                    .iter()
                    .map(|(p, full, c)| (p.as_str(), full, *c, false)),
            );
        for (path, full, contents, executable) in all {
            create_parents(root, full, created_dirs).map_err(|e| fail(path, e))?;
            let mode = match fs::symlink_metadata(full) {
                Ok(m) if m.is_file() => Mode::Existing {
                    permissions: m.permissions(),
                    executable,
                },
                _ => Mode::New { executable },
            };
            let original = match fs::symlink_metadata(full) {
                Ok(m) if m.is_file() => {
                    Some((fs::read(full).map_err(|e| fail(path, e))?, m.permissions()))
                }
                _ => None,
            };
            let file = atomic::stage(full, contents, &mode, PREFIX).map_err(|e| fail(path, e))?;
            staged.push((path.to_owned(), file, original));
        }
        Ok::<(), ApplyError>(())
    };
    if let Err(err) = stage_all(&mut staged, &mut created_dirs) {
        drop(staged);
        remove_dirs(&created_dirs);
        return Err(err);
    }
    if interrupt::requested() {
        drop(staged);
        remove_dirs(&created_dirs);
        return Err(ApplyError::Interrupted);
    }

    let mut done: Vec<Done> = Vec::new();
    let mut deletes: Vec<&Step> = steps
        .iter()
        .filter(|s| s.changes() && s.result.is_none())
        .collect();
    deletes.sort_by(|a, b| a.path.cmp(&b.path));
    // The record is the last write: deletions go before it.
    let record_at = staged
        .iter()
        .position(|(p, ..)| p == PYPROJECT)
        .unwrap_or(staged.len());
    let mut remaining = staged.into_iter();
    let mut outcome: Result<(), (String, io::Error)> = Ok(());
    for (path, file, original) in remaining.by_ref().take(record_at) {
        if let Err(e) = commit(file, original, &mut done) {
            outcome = Err((path, e));
            break;
        }
        if interrupt::requested() {
            outcome = Err((path, io::Error::from(io::ErrorKind::Interrupted)));
            break;
        }
    }
    if outcome.is_ok() {
        for step in deletes {
            let full = root.join(&step.path);
            let permissions = fs::symlink_metadata(&full).map(|m| m.permissions());
            let result = permissions.and_then(|p| fs::remove_file(&full).map(|()| p));
            match result {
                Ok(permissions) => {
                    let contents = step
                        .ours
                        .as_ref()
                        .map(|(c, _)| c.clone())
                        .unwrap_or_default();
                    done.push(Done::Changed(full, contents, permissions));
                }
                Err(e) => {
                    outcome = Err((step.path.clone(), e));
                    break;
                }
            }
        }
    }
    if outcome.is_ok() {
        for (path, file, original) in remaining {
            if let Err(e) = commit(file, original, &mut done) {
                outcome = Err((path, e));
                break;
            }
        }
    }
    match outcome {
        Ok(()) => Ok(()),
        Err((path, source)) => {
            let failed = rollback(done);
            remove_dirs(&created_dirs);
            match (
                failed.is_empty(),
                source.kind() == io::ErrorKind::Interrupted,
            ) {
                (true, true) => Err(ApplyError::Interrupted),
                (true, false) => Err(ApplyError::Write { path, source }),
                (false, _) => Err(ApplyError::RollbackFailed {
                    path,
                    failed: failed.join(", "),
                    source,
                }),
            }
        }
    }
}

fn commit(
    file: atomic::Staged,
    original: Option<(Vec<u8>, fs::Permissions)>,
    done: &mut Vec<Done>,
) -> io::Result<()> {
    let path = file.path().to_owned();
    match original {
        Some((contents, permissions)) => {
            file.commit()?;
            done.push(Done::Changed(path, contents, permissions));
        }
        None => {
            file.commit_new()?;
            done.push(Done::Created(path));
        }
    }
    Ok(())
}

/// Puts back what was done, newest first; returns the paths it could not restore.
fn rollback(done: Vec<Done>) -> Vec<String> {
    let mut failed = Vec::new();
    for step in done.into_iter().rev() {
        let result = match &step {
            Done::Changed(path, contents, permissions) => atomic::stage(
                path,
                contents,
                &Mode::Existing {
                    permissions: permissions.clone(),
                    executable: false,
                },
                PREFIX,
            )
            .and_then(atomic::Staged::commit),
            Done::Created(path) => fs::remove_file(path),
        };
        if result.is_err() {
            let (Done::Changed(path, ..) | Done::Created(path)) = &step;
            failed.push(path.display().to_string());
        }
    }
    failed
}

/// Creates the missing directories above `file`, inside `root` only, remembering them.
fn create_parents(root: &Path, file: &Path, created: &mut Vec<PathBuf>) -> io::Result<()> {
    let Some(parent) = file.parent() else {
        return Ok(());
    };
    let mut missing = Vec::new();
    let mut dir = parent;
    while dir != root && !dir.exists() {
        missing.push(dir.to_owned());
        match dir.parent() {
            Some(up) => dir = up,
            None => break,
        }
    }
    for dir in missing.into_iter().rev() {
        fs::create_dir(&dir)?;
        created.push(dir);
    }
    Ok(())
}

fn remove_dirs(created: &[PathBuf]) {
    for dir in created.iter().rev() {
        // Only if empty: a directory this created holds nothing of the user's.
        let _ = fs::remove_dir(dir);
    }
}
