//! Which files an audit reads: a parallel walk (ripgrep's `ignore` crate) that applies git's
//! ignore rules as git does, and skips virtualenvs, site-packages, node_modules, build output
//! and tool caches.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use globset::{Glob, GlobSet, GlobSetBuilder};
use ignore::{WalkBuilder, WalkState};

use crate::audit::error::AuditError;
use crate::audit::source::{FileKind, classify};

/// Directory names never worth reading: dependencies, build output, version control and tool
/// caches. Any other directory is walked, hidden ones included.
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
    ".svn",
    ".jj",
    ".cache",
    ".hypothesis",
    ".direnv",
    ".terraform",
    ".serverless",
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
    /// The setting that leaves `rel` out of the audit (`exclude` or `include`), if one does.
    pub fn excludes(&self, rel: &str) -> Option<&'static str> {
        if self.exclude.is_match(rel) {
            return Some("exclude");
        }
        match &self.include {
            Some(include) if !include.is_match(rel) => Some("include"),
            _ => None,
        }
    }

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

/// Walk `root` and return the files the audit reads, sorted by relative path, and what it
/// did not audit that the user should hear about (unreadable directories, broken links,
/// links out of the tree, named files it leaves out), as `path: why` messages.
///
/// Nothing is skipped without a rule the README states: hidden files are read (`.git` and
/// the tool caches in [`SKIP_DIRS`] are not), ripgrep's `.ignore` files mean nothing, and
/// `.gitignore` applies as git applies it: inside a git work tree, to files git does not
/// track. `named` are the files given on the command line (absolute): each is audited unless
/// svc's own configuration excludes it, and if it is not, the messages say why.
pub fn discover(
    root: &Path,
    filters: &Filters,
    named: &[PathBuf],
) -> (Vec<Discovered>, Vec<String>) {
    let tracked = tracked_but_ignored(root);
    let found = Mutex::new(Vec::new());
    let errors = Mutex::new(Vec::new());
    let walker = WalkBuilder::new(root)
        .hidden(false)
        .ignore(false)
        .git_ignore(true)
        .git_global(false)
        .git_exclude(true)
        // Outside a git work tree a `.gitignore` is just a file: git would not apply it.
        .require_git(true)
        .follow_links(false)
        .filter_entry(|entry| {
            let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
            !is_dir || entry.depth() == 0 || !skipped_dir(entry.path())
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
            let kind = classify(&entry.file_name().to_string_lossy());
            if !entry.file_type().is_some_and(|t| t.is_file()) {
                if let Some(what) = not_a_source(root, &entry, kind.is_some()) {
                    let rel = relative(root, entry.path());
                    errors
                        .lock()
                        .expect("walker lock")
                        .push(format!("{rel}: {what}"));
                }
                return WalkState::Continue;
            }
            let Some(kind) = kind else {
                return WalkState::Continue;
            };
            let rel = relative(root, entry.path());
            if filters.excludes(&rel).is_none() {
                found.lock().expect("walker lock").push(Discovered {
                    path: entry.into_path(),
                    rel,
                    kind,
                });
            }
            WalkState::Continue
        })
    });
    let mut files = found.into_inner().expect("walker lock");
    let mut errors = errors.into_inner().expect("walker lock");
    let mut seen: HashSet<String> = files.iter().map(|f| f.rel.clone()).collect();
    match tracked.finish() {
        Ok(tracked) => {
            for rel in tracked {
                let path = root.join(&rel);
                let under_skipped = path
                    .ancestors()
                    .skip(1)
                    .take_while(|a| *a != root)
                    .any(skipped_dir);
                let kind = classify(rel.rsplit('/').next().unwrap_or(&rel));
                let regular = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file());
                if let Some(kind) = kind
                    && regular
                    && !under_skipped
                    && filters.excludes(&rel).is_none()
                    && seen.insert(rel.clone())
                {
                    files.push(Discovered { path, rel, kind });
                }
            }
        }
        Err(why) => errors.push(format!(
            "git-tracked files that match .gitignore: cannot list them ({why})"
        )),
    }
    for path in named {
        let rel = relative(root, path);
        if seen.contains(&rel) || !path.starts_with(root) || path.is_dir() {
            continue;
        }
        let why = match (
            classify(&path.file_name().unwrap_or_default().to_string_lossy()),
            filters.excludes(&rel),
        ) {
            (None, _) => "not a kind of file svc audits".to_string(),
            (Some(_), Some(setting)) => format!("excluded by `{setting}` in the configuration"),
            (Some(kind), None) if std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file()) => {
                seen.insert(rel.clone());
                files.push(Discovered {
                    path: path.clone(),
                    rel,
                    kind,
                });
                continue;
            }
            (Some(_), None) => "not a regular file".to_string(),
        };
        errors.push(format!("{rel}: {why}"));
    }
    files.sort_by(|a, b| a.rel.cmp(&b.rel));
    errors.sort();
    errors.dedup();
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

/// A directory the walk does not enter: a name in [`SKIP_DIRS`], an egg-info, or a
/// virtualenv under any name.
fn skipped_dir(path: &Path) -> bool {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    SKIP_DIRS.contains(&name.as_ref())
        || name.ends_with(".egg-info")
        || path.join("pyvenv.cfg").exists()
}

/// The root of the git work tree `dir` is in (a `.git` directory, or file for a linked
/// work tree or submodule).
pub fn work_tree(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|a| a.join(".git").exists())
        .map(Path::to_path_buf)
}

/// Files under `root` that git tracks although they match its ignore rules (added with
/// `git add -f`, or ignored after they were added): git audits them in every diff, so svc
/// does too. Empty outside a git work tree.
fn tracked_but_ignored(root: &Path) -> TrackedButIgnored {
    if work_tree(root).is_none() {
        return TrackedButIgnored::None;
    }
    let child = std::process::Command::new("git")
        // The repository's configuration may name a program for git to run (an fsmonitor
        // hook) on any index read: not for an audit.
        .args([
            "-c",
            "core.fsmonitor=false",
            "ls-files",
            "-z",
            "--cached",
            "--ignored",
            "--exclude-standard",
        ])
        .current_dir(root)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    match child {
        Ok(child) => TrackedButIgnored::Running(child),
        Err(e) => TrackedButIgnored::Failed(format!("git: {e}")),
    }
}

/// `git ls-files` for the tracked files that match `.gitignore`, started before the walk and
/// read after it: the two wait on different things (git on its index, the walk on
/// directories), and one after the other git added about half again to the walk's time in a
/// work tree (prefect-3.9.1: 9-11 ms against 6-7 ms side by side).
enum TrackedButIgnored {
    /// Not in a git work tree.
    None,
    Running(std::process::Child),
    Failed(String),
}

impl TrackedButIgnored {
    fn finish(self) -> Result<Vec<String>, String> {
        let child = match self {
            TrackedButIgnored::None => return Ok(Vec::new()),
            TrackedButIgnored::Failed(why) => return Err(why),
            TrackedButIgnored::Running(child) => child,
        };
        let out = child.wait_with_output().map_err(|e| format!("git: {e}"))?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            return Err(stderr
                .lines()
                .next()
                .unwrap_or("git ls-files failed")
                .to_string());
        }
        Ok(out
            .stdout
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect())
    }
}

/// Why an entry that is not a regular file is not read, when that is worth saying: a FIFO
/// (reading it would block the audit), socket or device or broken link named like a source
/// (`source`), or a working link to a file or directory out of the audited tree. Directories
/// are walked; links inside the tree are not followed, their target is audited where it
/// lives.
fn not_a_source(root: &Path, entry: &ignore::DirEntry, source: bool) -> Option<String> {
    let file_type = entry.file_type()?;
    if file_type.is_dir() {
        return None;
    }
    if file_type.is_symlink() {
        return match std::fs::canonicalize(entry.path()) {
            Err(_) => source.then(|| "a broken symbolic link".to_string()),
            Ok(target) if target.starts_with(root) => None,
            Ok(target) if source || target.is_dir() || classify_path(&target) => Some(format!(
                "a symbolic link out of the audited tree (to {}), not followed",
                target.display()
            )),
            Ok(_) => None,
        };
    }
    if !source {
        return None;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return Some("a named pipe (FIFO), not a regular file".into());
        }
        if file_type.is_socket() {
            return Some("a socket, not a regular file".into());
        }
    }
    Some("not a regular file".into())
}

fn classify_path(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| classify(&n.to_string_lossy()).is_some())
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
