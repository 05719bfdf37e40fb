//! `svc init [PATH]`: add svc to an existing repository.
//!
//! Writes `[tool.svc]` into pyproject.toml (or svc.toml when there is none), adds the svc hook
//! to the `repos:` of .pre-commit-config.yaml (created when absent) and, with `--baseline
//! FILE`, records today's findings. Every edit keeps the user's bytes and adds lines in the
//! file's own line ending (see [`pyproject`] and [`precommit`]); a file that cannot be edited
//! so is refused, never rewritten. Running it again changes nothing; `--dry-run` prints the
//! unified diff instead of writing.
//!
//! All or nothing: every new content is computed first (the baseline's audit included), then
//! every file is written to a temporary file next to it, and only then are they renamed into
//! place; if a rename fails, the files renamed before it get their old content back. A file
//! that is a symbolic link is followed only when it resolves inside the repository: the file it
//! points at is replaced (through a temporary file next to it), and the link stays. A link
//! that leads out of the repository, or nowhere, is refused before anything is written: in an
//! untrusted clone it could make `svc init` edit or create files anywhere.

pub mod precommit;
pub mod pyproject;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use miette::Diagnostic;
use thiserror::Error;

use crate::atomic::{self, Mode};
use crate::audit::{AuditOptions, audit, baseline::Baseline};
use crate::cli::InitArgs;
use crate::plural;

#[derive(Debug, Error, Diagnostic)]
pub enum InitError {
    #[error("{} is not a directory", .0.display())]
    #[diagnostic(
        code(svc::init),
        help("svc init takes the repository's root directory")
    )]
    NotADirectory(PathBuf),
    #[error("cannot read {}: {source}", path.display())]
    #[diagnostic(code(svc::io))]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {}: {source}", path.display())]
    #[diagnostic(code(svc::io))]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not valid TOML: {reason}", path.display())]
    #[diagnostic(code(svc::init), help("fix the file, then run svc init again"))]
    Toml { path: PathBuf, reason: String },
    #[error("cannot add the svc hook to {}: {reason}", path.display())]
    #[diagnostic(
        code(svc::init),
        help("nothing was written. Add this item to its `repos:` list by hand:\n{snippet}")
    )]
    PreCommit {
        path: PathBuf,
        reason: String,
        snippet: String,
    },
    #[error("{} is a symbolic link to {}, outside the repository", .path.display(), .points_to.display())]
    #[diagnostic(
        code(svc::init),
        help("svc init writes only inside the repository; nothing was written")
    )]
    LinkOutside { path: PathBuf, points_to: PathBuf },
    #[error("{} is a symbolic link to {}, which does not exist", .path.display(), .points_to.display())]
    #[diagnostic(
        code(svc::init),
        help("remove the link or create its target; nothing was written")
    )]
    DanglingLink { path: PathBuf, points_to: PathBuf },
    #[error("{} is outside the repository {}", .path.display(), .root.display())]
    #[diagnostic(
        code(svc::init),
        help("give a path inside the repository, such as --baseline svc-baseline.json")
    )]
    Outside { path: PathBuf, root: PathBuf },
}

/// One file's change: its path relative to the repository (as shown), where it is written
/// (links resolved), and its text before and after.
struct Change {
    rel: String,
    path: PathBuf,
    before: Option<String>,
    after: String,
    why: String,
    /// Shown as a diff by `--dry-run` (not the baseline, which is data).
    diff: bool,
}

pub fn run(args: &InitArgs) -> miette::Result<ExitCode> {
    let root = args.path.clone().unwrap_or_else(|| PathBuf::from("."));
    if !root.is_dir() {
        return Err(InitError::NotADirectory(root).into());
    }
    let repo = Repository::new(&root)?;
    let baseline_arg = args
        .baseline
        .as_ref()
        .map(|b| b.to_string_lossy().replace('\\', "/"));
    let mut changes = Vec::new();
    changes.extend(config_change(&repo)?);
    changes.extend(hook_change(&repo, baseline_arg.as_deref())?);

    if let Some(rel) = &args.baseline
        && !root.join(rel).exists()
    {
        // Where it goes is checked before the audit, which takes a while.
        let path = repo.target(rel)?;
        let outcome = audit(&AuditOptions {
            paths: vec![root.clone()],
            ..AuditOptions::default()
        })?;
        let baseline = Baseline::from_report(&outcome.report);
        let count: u32 = baseline.findings.iter().map(|e| e.count).sum();
        let findings = plural::count(count as usize, "finding", "findings");
        changes.push(Change {
            rel: rel.display().to_string(),
            path,
            before: None,
            after: baseline.to_json(),
            why: match args.dry_run {
                true => format!("would write the baseline {} ({findings})", rel.display()),
                false => format!("baseline of {findings} written"),
            },
            diff: false,
        });
    }

    if changes.is_empty() {
        println!(
            "svc is already set up in {}: nothing to change.",
            root.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    if args.dry_run {
        for c in &changes {
            match c.diff {
                true => print!("{}", unified_diff(c)),
                false => println!("{}", c.why),
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    commit(&changes)?;
    for c in &changes {
        println!("{}: {}", c.rel, c.why);
    }
    println!();
    println!(
        "Next step: run `pre-commit install`, so that the hook runs svc audit on every commit."
    );
    Ok(ExitCode::SUCCESS)
}

/// The repository's root, and where a path in it is written.
struct Repository {
    root: PathBuf,
    canonical: PathBuf,
}

impl Repository {
    fn new(root: &Path) -> Result<Self, InitError> {
        let canonical = fs::canonicalize(root).map_err(|source| InitError::Read {
            path: root.to_owned(),
            source,
        })?;
        Ok(Repository {
            root: root.to_owned(),
            canonical,
        })
    }

    /// Where `rel` is written: itself, or the file a link inside the repository points at.
    fn target(&self, rel: &Path) -> Result<PathBuf, InitError> {
        let path = self.root.join(rel);
        let outside = || InitError::Outside {
            path: rel.to_owned(),
            root: self.root.clone(),
        };
        let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
            return Err(outside());
        };
        let parent = fs::canonicalize(parent).map_err(|source| InitError::Write {
            path: rel.to_owned(),
            source,
        })?;
        if !parent.starts_with(&self.canonical) {
            return Err(outside());
        }
        atomic::follow_inside(&parent.join(name), &self.canonical).map_err(
            |refused| match refused {
                atomic::Refused::Outside(points_to) => InitError::LinkOutside {
                    path: rel.to_owned(),
                    points_to,
                },
                atomic::Refused::Dangling(points_to) => InitError::DanglingLink {
                    path: rel.to_owned(),
                    points_to,
                },
                // The parent was canonicalized above, so no directory on the way is a link.
                atomic::Refused::DirectoryOutside { points_to, .. } => InitError::LinkOutside {
                    path: rel.to_owned(),
                    points_to,
                },
            },
        )
    }
}

fn read(path: &Path) -> Result<Option<String>, InitError> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(InitError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// `[tool.svc]` in pyproject.toml, else a new svc.toml; nothing when either already has it.
fn config_change(repo: &Repository) -> Result<Option<Change>, InitError> {
    if repo.root.join("svc.toml").is_file() {
        return Ok(None);
    }
    let pyproject = repo.root.join("pyproject.toml");
    let Some(text) = read(&pyproject)? else {
        return Ok(Some(Change {
            rel: "svc.toml".into(),
            path: repo.target(Path::new("svc.toml"))?,
            before: None,
            after: pyproject::svc_toml(),
            why: "created with svc's settings".into(),
            diff: true,
        }));
    };
    let edited = pyproject::add_table(&text);
    if matches!(edited, Ok(None)) {
        return Ok(None);
    }
    // A link out of the repository is the first thing to say, even about a broken file.
    let path = repo.target(Path::new("pyproject.toml"))?;
    let after = edited
        .map_err(|reason| InitError::Toml {
            path: pyproject.clone(),
            reason,
        })?
        .expect("checked above");
    Ok(Some(Change {
        rel: "pyproject.toml".into(),
        path,
        before: Some(text),
        after,
        why: "added [tool.svc]".into(),
        diff: true,
    }))
}

/// The svc hook added to .pre-commit-config.yaml (created when absent), unless a hook with
/// its id is already there.
fn hook_change(repo: &Repository, baseline: Option<&str>) -> Result<Option<Change>, InitError> {
    let rel = ".pre-commit-config.yaml";
    let path = repo.root.join(rel);
    let text = read(&path)?;
    let edited = precommit::add_hook(text.as_deref(), baseline);
    if matches!(edited, Ok(None)) {
        return Ok(None);
    }
    // A link out of the repository is the first thing to say, even about a broken file.
    let target = repo.target(Path::new(rel))?;
    let after = edited
        .map_err(|refusal| InitError::PreCommit {
            path: path.clone(),
            reason: refusal.0,
            snippet: precommit::snippet(baseline),
        })?
        .expect("checked above");
    Ok(Some(Change {
        rel: rel.into(),
        path: target,
        why: match text {
            None => "created with the svc-audit hook".into(),
            Some(_) => "svc-audit hook added to repos".into(),
        },
        before: text,
        after,
        diff: true,
    }))
}

/// Writes every change or none: all staged next to their files first, then renamed into place;
/// a failed rename puts back the files renamed before it.
fn commit(changes: &[Change]) -> Result<(), InitError> {
    const PREFIX: &str = "svc-init";
    let failed = |c: &Change| {
        let path = PathBuf::from(&c.rel);
        move |source| InitError::Write { path, source }
    };
    let mut staged = Vec::new();
    for c in changes {
        let mode = match fs::symlink_metadata(&c.path) {
            Ok(m) if m.is_file() => Mode::Existing {
                permissions: m.permissions(),
                executable: false,
            },
            _ => Mode::New { executable: false },
        };
        staged.push(atomic::stage(&c.path, c.after.as_bytes(), &mode, PREFIX).map_err(failed(c))?);
    }
    let mut pending = staged.into_iter();
    for (done, (c, file)) in changes.iter().zip(pending.by_ref()).enumerate() {
        let result = match c.before {
            Some(_) => file.commit(),
            None => file.commit_new(),
        };
        if let Err(source) = result {
            for earlier in changes[..done].iter().rev() {
                let _ = match &earlier.before {
                    Some(before) => atomic::replace(&earlier.path, before.as_bytes(), PREFIX),
                    None => fs::remove_file(&earlier.path),
                };
            }
            return Err(failed(c)(source));
        }
    }
    Ok(())
}

fn unified_diff(c: &Change) -> String {
    let before = c.before.as_deref().unwrap_or("");
    let old = match c.before {
        Some(_) => format!("a/{}", c.rel),
        None => "/dev/null".to_string(),
    };
    similar::TextDiff::from_lines(before, &c.after)
        .unified_diff()
        .context_radius(3)
        .header(&old, &format!("b/{}", c.rel))
        .to_string()
}
