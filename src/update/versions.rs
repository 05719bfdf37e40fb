//! The two templates an update compares: the version the project was generated from, and the
//! current one. Embedded variants keep their earlier versions frozen in the binary; a
//! template directory that is a git repository keeps them in its history, and the commit
//! `svc new` recorded is the base, as in copier.

use std::borrow::Cow;
use std::path::Path;
use std::process::Command;

use miette::Diagnostic;
use thiserror::Error;

use super::recorded::Recorded;
use crate::new::manifest;
use crate::new::templates::{
    self, COMMON_DIR, MANIFEST_FILE, Template, TemplateFile, is_skipped_path, merge_common,
};

#[derive(Debug, Error, Diagnostic)]
pub enum TemplateSourceError {
    #[error(
        "this svc ({svc}) cannot reproduce version {version} of the {template} template; it knows {known}"
    )]
    #[diagnostic(
        code(svc::update::version),
        help(
            "a later svc release may know it; or update with the svc release that generated the service"
        )
    )]
    UnknownVersion {
        svc: &'static str,
        template: String,
        version: String,
        known: String,
    },
    #[error(
        "the service was generated from a template directory, {template:?}, not an embedded variant"
    )]
    #[diagnostic(
        code(svc::update::usage),
        help("pass that directory with --template DIR")
    )]
    NotEmbedded { template: String },
    #[error(
        "the service records no template commit, and {dir} is at version {current} while it was generated from {version}"
    )]
    #[diagnostic(
        code(svc::update::version),
        help(
            "a template directory must be a git repository for svc to reproduce earlier versions; svc new records its commit"
        )
    )]
    NoCommit {
        dir: String,
        version: String,
        current: String,
    },
    #[error("cannot read commit {commit} of the template in {dir}: {why}")]
    #[diagnostic(code(svc::update::version))]
    Git {
        dir: String,
        commit: String,
        why: String,
    },
}

pub struct Templates {
    pub base: Template,
    pub theirs: Template,
    /// The commit of a git template directory's work tree, when it is clean.
    pub commit: Option<String>,
    pub notes: Vec<String>,
}

pub fn templates(
    recorded: &Recorded,
    dir: Option<&Path>,
    to: Option<&str>,
) -> miette::Result<Templates> {
    let Some(dir) = dir else {
        if !templates::visible_variants().contains(&recorded.template.as_str()) {
            return Err(TemplateSourceError::NotEmbedded {
                template: recorded.template.clone(),
            }
            .into());
        }
        let theirs = templates::embedded(&recorded.template)?;
        let Some(base) = templates::embedded_at(&recorded.template, &recorded.version)? else {
            let mut known = templates::released_versions(&recorded.template);
            known.push(theirs.manifest.version.clone());
            return Err(TemplateSourceError::UnknownVersion {
                svc: super::SVC_VERSION,
                template: recorded.template.clone(),
                version: recorded.version.clone(),
                known: format!("versions {}", known.join(", ")),
            }
            .into());
        };
        return Ok(Templates {
            base,
            theirs,
            commit: None,
            notes: Vec::new(),
        });
    };
    let mut notes = Vec::new();
    let (theirs, commit) = match to {
        // A tag or commit of the template repository, as copier's --vcs-ref.
        Some(reference) => {
            let commit = resolve(dir, reference)?;
            (at_commit(dir, &commit)?, Some(commit))
        }
        None => (templates::directory(dir)?, clean_head(dir)),
    };
    if commit.is_none() && is_git(dir) {
        notes.push(format!(
            "{} has uncommitted changes, so no template commit is recorded; commit them for a reproducible base next time",
            dir.display()
        ));
    }
    let base = match &recorded.commit {
        Some(recorded_commit) => at_commit(dir, recorded_commit)?,
        None if recorded.version == theirs.manifest.version => theirs.clone(),
        None => {
            return Err(TemplateSourceError::NoCommit {
                dir: dir.display().to_string(),
                version: recorded.version.clone(),
                current: theirs.manifest.version.clone(),
            }
            .into());
        }
    };
    Ok(Templates {
        base,
        theirs,
        commit,
        notes,
    })
}

/// The commit a tag, branch or commit id names in the template's repository.
fn resolve(dir: &Path, reference: &str) -> Result<String, TemplateSourceError> {
    let spec = format!("{reference}^{{commit}}");
    // `--end-of-options`: a reference is never read as an option of git.
    git(
        dir,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            &spec,
        ],
    )
    .map(|out| String::from_utf8_lossy(&out).trim().to_owned())
    .filter(|commit| !commit.is_empty())
    .ok_or_else(|| TemplateSourceError::Git {
        dir: dir.display().to_string(),
        commit: reference.to_owned(),
        why: "no such tag or commit".to_owned(),
    })
}

fn git(dir: &Path, args: &[&str]) -> Option<Vec<u8>> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    output.status.success().then_some(output.stdout)
}

pub fn is_git(dir: &Path) -> bool {
    git(dir, &["rev-parse", "--is-inside-work-tree"]).is_some()
}

/// HEAD of the repository holding `dir`, when the template (and its `_common/`) has no
/// uncommitted changes: only then does the commit describe what was rendered.
pub fn clean_head(dir: &Path) -> Option<String> {
    let head = git(dir, &["rev-parse", "--verify", "HEAD"])?;
    let common = format!("../{COMMON_DIR}");
    let mut status_args = vec!["status", "--porcelain", "--", "."];
    if dir.join("..").join(COMMON_DIR).is_dir() {
        status_args.push(&common);
    }
    let status = git(dir, &status_args)?;
    if !status.is_empty() {
        return None;
    }
    Some(String::from_utf8_lossy(&head).trim().to_owned())
}

/// The template in `dir` as it was at `commit`, `_common/` merged in as `source` does.
fn at_commit(dir: &Path, commit: &str) -> miette::Result<Template> {
    let fail = |why: String| TemplateSourceError::Git {
        dir: dir.display().to_string(),
        commit: commit.to_owned(),
        why,
    };
    if !commit.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(fail("not a commit id".to_owned()).into());
    }
    let mut files = files_at(dir, commit, ".").map_err(fail)?;
    let Some(at) = files.iter().position(|f| f.path == MANIFEST_FILE) else {
        return Err(fail(format!("it has no {MANIFEST_FILE}")).into());
    };
    let manifest_file = files.remove(at);
    let text = String::from_utf8_lossy(&manifest_file.contents).into_owned();
    let manifest = manifest::parse(
        &format!("{}/{MANIFEST_FILE} at {commit}", dir.display()),
        &text,
    )?;
    if manifest.common {
        let common = files_at(dir, commit, &format!("../{COMMON_DIR}")).map_err(fail)?;
        merge_common(&mut files, common);
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Template { manifest, files })
}

fn files_at(dir: &Path, commit: &str, under: &str) -> Result<Vec<TemplateFile>, String> {
    let listing = git(dir, &["ls-tree", "-r", "-z", commit, "--", under])
        .ok_or_else(|| "git ls-tree failed (is the commit in this repository?)".to_owned())?;
    let prefix = if under == "." {
        String::new()
    } else {
        format!("{under}/")
    };
    let mut wanted = Vec::new();
    for entry in listing.split(|b| *b == 0).filter(|e| !e.is_empty()) {
        let entry = String::from_utf8_lossy(entry);
        let Some((meta, path)) = entry.split_once('\t') else {
            continue;
        };
        let fields: Vec<&str> = meta.split(' ').collect();
        let [mode, kind, blob] = fields[..] else {
            continue;
        };
        let relative = path.strip_prefix(&prefix).unwrap_or(path);
        if kind != "blob" || is_skipped_path(relative) {
            continue;
        }
        if mode == "120000" {
            return Err(format!("{relative} is a symbolic link"));
        }
        wanted.push((relative.to_owned(), blob.to_owned(), mode == "100755"));
    }
    // One `git cat-file --batch` for every blob: a process per file is slow on big templates.
    let mut child = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["cat-file", "--batch"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run git: {e}"))?;
    let request: String = wanted
        .iter()
        .map(|(_, blob, _)| format!("{blob}\n"))
        .collect();
    let mut stdin = child.stdin.take().expect("piped");
    let writer =
        std::thread::spawn(move || std::io::Write::write_all(&mut stdin, request.as_bytes()));
    let output = child
        .wait_with_output()
        .map_err(|e| format!("git cat-file: {e}"))?;
    let _ = writer.join();
    let mut rest: &[u8] = &output.stdout;
    let mut files = Vec::new();
    for (path, _, executable) in wanted {
        // "<oid> blob <size>\n<contents>\n"
        let header_end = rest
            .iter()
            .position(|b| *b == b'\n')
            .ok_or_else(|| format!("cannot read {path}"))?;
        let header = String::from_utf8_lossy(&rest[..header_end]).into_owned();
        let size: usize = header
            .rsplit(' ')
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("cannot read {path}: {header}"))?;
        let body = rest
            .get(header_end + 1..header_end + 1 + size)
            .ok_or_else(|| format!("cannot read {path}"))?;
        files.push(TemplateFile {
            path,
            contents: Cow::Owned(body.to_vec()),
            executable,
        });
        rest = rest.get(header_end + 2 + size..).unwrap_or_default();
    }
    Ok(files)
}
