//! Which files an audit reads: a parallel, .gitignore-aware walk (ripgrep's `ignore` crate)
//! that skips virtualenvs, site-packages, node_modules, build output and caches.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use globset::{Glob, GlobSet, GlobSetBuilder};
use ignore::{WalkBuilder, WalkState};

use crate::audit::error::AuditError;
use crate::audit::source::{FileKind, classify};

/// Directory names never worth reading.
const SKIP_DIRS: &[&str] = &[
    "node_modules",
    "site-packages",
    "dist-packages",
    "__pycache__",
    "build",
    "dist",
    "target",
    ".venv",
    "venv",
    ".tox",
    ".nox",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".git",
    ".hg",
    ".eggs",
    "htmlcov",
    ".aws-sam",
    "cdk.out",
];

#[derive(Debug, Clone)]
pub struct Discovered {
    pub path: PathBuf,
    pub rel: String,
    pub kind: FileKind,
}

pub struct Filters {
    pub exclude: GlobSet,
    pub include: Option<GlobSet>,
}

impl Filters {
    pub fn new(exclude: &[String], include: &[String]) -> Result<Self, AuditError> {
        let build = |globs: &[String]| -> Result<GlobSet, AuditError> {
            let mut b = GlobSetBuilder::new();
            for g in globs {
                // `legacy/` and `legacy` both mean the directory and everything below it.
                let g = g.trim_end_matches('/');
                for pattern in [g.to_string(), format!("{g}/**")] {
                    b.add(Glob::new(&pattern).map_err(|e| AuditError::BadGlob {
                        glob: g.to_string(),
                        reason: e.kind().to_string(),
                    })?);
                }
            }
            b.build().map_err(|e| AuditError::BadGlob {
                glob: globs.join(", "),
                reason: e.to_string(),
            })
        };
        Ok(Filters {
            exclude: build(exclude)?,
            include: if include.is_empty() {
                None
            } else {
                Some(build(include)?)
            },
        })
    }
}

/// Walk `root` and return the files the audit reads, sorted by relative path, and the
/// entries the walk could not read (unreadable directories, broken links), as messages.
pub fn discover(root: &Path, filters: &Filters) -> (Vec<Discovered>, Vec<String>) {
    let found = Mutex::new(Vec::new());
    let errors = Mutex::new(Vec::new());
    let walker = WalkBuilder::new(root)
        .hidden(true)
        .git_ignore(true)
        .git_global(false)
        .git_exclude(true)
        .require_git(false)
        .follow_links(false)
        .filter_entry(|entry| {
            let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
            if !is_dir || entry.depth() == 0 {
                return true;
            }
            let name = entry.file_name().to_string_lossy();
            if SKIP_DIRS.contains(&name.as_ref()) || name.ends_with(".egg-info") {
                return false;
            }
            // A virtualenv under any name.
            !entry.path().join("pyvenv.cfg").exists()
        })
        .threads(walk_threads())
        .build_parallel();
    walker.run(|| {
        let found = &found;
        let errors = &errors;
        Box::new(move |entry| {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    errors.lock().expect("walker lock").push(e.to_string());
                    return WalkState::Continue;
                }
            };
            let Some(kind) = classify(&entry.file_name().to_string_lossy()) else {
                return WalkState::Continue;
            };
            if !entry.file_type().is_some_and(|t| t.is_file()) {
                if let Some(what) = not_a_source(&entry) {
                    let rel = relative(root, entry.path());
                    errors
                        .lock()
                        .expect("walker lock")
                        .push(format!("{rel}: {what}"));
                }
                return WalkState::Continue;
            }
            let rel = relative(root, entry.path());
            if filters.exclude.is_match(&rel)
                || filters
                    .include
                    .as_ref()
                    .is_some_and(|inc| !inc.is_match(&rel))
            {
                return WalkState::Continue;
            }
            found.lock().expect("walker lock").push(Discovered {
                path: entry.into_path(),
                rel,
                kind,
            });
            WalkState::Continue
        })
    });
    let mut files = found.into_inner().expect("walker lock");
    files.sort_by(|a, b| a.rel.cmp(&b.rel));
    let mut errors = errors.into_inner().expect("walker lock");
    errors.sort();
    (files, errors)
}

/// Threads for the walk: up to 8, as many as can start. Under a process or memory limit a
/// thread may fail to start, and the walker does not survive that (a worker waits for the
/// missing one forever): the threads it can have are counted first. None at all: one, and
/// the walk fails at once (see `load_files`).
fn walk_threads() -> usize {
    let wanted = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(8);
    let gate = std::sync::RwLock::new(());
    let closed = gate.write().expect("walk probe lock");
    std::thread::scope(|s| {
        let mut started = 0;
        for _ in 0..wanted {
            let probe = std::thread::Builder::new().spawn_scoped(s, || drop(gate.read()));
            match probe {
                Ok(_) => started += 1,
                Err(_) => break,
            }
        }
        drop(closed);
        started.max(1)
    })
}

/// Why an entry named like a source file is not read, when that is worth saying: a FIFO
/// (reading it would block the audit), socket or device, or a symbolic link to nothing.
/// Directories are walked; working links are not followed, their target is audited where
/// it lives.
fn not_a_source(entry: &ignore::DirEntry) -> Option<&'static str> {
    let file_type = entry.file_type()?;
    if file_type.is_dir() {
        return None;
    }
    if file_type.is_symlink() {
        return std::fs::metadata(entry.path())
            .is_err()
            .then_some("a broken symbolic link");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return Some("a named pipe (FIFO), not a regular file");
        }
        if file_type.is_socket() {
            return Some("a socket, not a regular file");
        }
    }
    Some("not a regular file")
}

/// `path` relative to `root`, with `/` separators; the file name when `root` is the file.
pub fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let s: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if s.is_empty() {
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    } else {
        s.join("/")
    }
}
