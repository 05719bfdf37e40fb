//! What `svc update` does to each file, decided from three renders before anything is written.
//!
//! For every path the recorded version (base) or the current template (theirs) renders:
//!
//! | base | theirs | project (ours) | action |
//! |---|---|---|---|
//! | = theirs | | any | unchanged: the template did not change it, the project's stands |
//! | present | present | = base | replace with theirs |
//! | present | present | = theirs | unchanged (the same change on both sides) |
//! | present | present | other | 3-way merge (TOML by key), or conflict |
//! | absent | present | absent | create |
//! | absent | present | present | 2-way merge against an empty base (usually a conflict) |
//! | present | absent | = base | delete: the template removed it, the user never changed it |
//! | present | absent | other | keep, reported: the user changed a file the template dropped |
//! | present | any | absent | stays deleted: the user removed it |
//!
//! Contents compare with line endings normalised, so a checkout with CRLF is not an edit.
//! Nothing outside the project is read or written: a path whose directory is a symbolic
//! link, or that is one itself, is left alone and reported.

use std::fs;
use std::path::{Path, PathBuf};

use super::merge::{self, Labels, Markers};
use crate::new::render::{RenderedFile, RenderedTree};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Unchanged,
    Replace,
    Keep,
    Merge,
    Conflict(Vec<String>),
    Create,
    Delete,
    KeepRemoved,
    StaysDeleted,
    /// Not a regular UTF-8 file inside the project (a link, a directory, binary): left alone.
    LeftAlone(String),
}

/// The decision for one path, with the project's current file and what replaces it.
#[derive(Debug, Clone)]
pub struct Step {
    pub path: String,
    pub action: Action,
    /// The project's file now: contents and whether it is executable.
    pub ours: Option<(Vec<u8>, bool)>,
    /// The file after the update (None: absent after it).
    pub result: Option<(Vec<u8>, bool)>,
    /// With `--conflict rej`: the template's change, as a patch next to the file.
    pub reject: Option<String>,
}

impl Step {
    /// Whether the update changes this path on disk.
    pub fn changes(&self) -> bool {
        self.ours != self.result
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictStyle {
    /// Conflict markers in the file.
    Inline(Markers),
    /// The project's file stays; the template's change goes into `<file>.rej`.
    Reject,
}

pub struct Inputs<'a> {
    pub root: &'a Path,
    pub base: &'a RenderedTree,
    pub theirs: &'a RenderedTree,
    pub style: ConflictStyle,
    pub labels: Labels<'a>,
}

pub fn plan(inputs: &Inputs) -> Vec<Step> {
    let (base, theirs) = (index(inputs.base), index(inputs.theirs));
    let mut paths: Vec<&str> = base.keys().chain(theirs.keys()).copied().collect();
    paths.sort_unstable();
    paths.dedup();
    paths
        .into_iter()
        .map(|path| {
            step(
                inputs,
                path,
                base.get(path).copied(),
                theirs.get(path).copied(),
            )
        })
        .collect()
}

fn index(tree: &RenderedTree) -> std::collections::HashMap<&str, &RenderedFile> {
    tree.files.iter().map(|f| (f.path.as_str(), f)).collect()
}

fn step(
    inputs: &Inputs,
    path: &str,
    base: Option<&RenderedFile>,
    theirs: Option<&RenderedFile>,
) -> Step {
    let mut step = Step {
        path: path.to_owned(),
        action: Action::Unchanged,
        ours: None,
        result: None,
        reject: None,
    };
    let ours = match read_ours(inputs.root, path) {
        Ok(ours) => ours,
        Err(why) => {
            step.action = Action::LeftAlone(why);
            return step;
        }
    };
    step.ours.clone_from(&ours);
    step.result.clone_from(&ours);

    match (base, theirs, &ours) {
        (Some(b), Some(t), _) if same(&b.contents, &t.contents) && b.executable == t.executable => {
            step.action = match &ours {
                None => Action::StaysDeleted,
                Some((o, _)) if !same(o, &b.contents) => Action::Keep,
                Some(_) => Action::Unchanged,
            };
        }
        (Some(_), _, None) => step.action = Action::StaysDeleted,
        (None, Some(t), None) => {
            step.action = Action::Create;
            step.result = Some((t.contents.clone(), t.executable));
        }
        (Some(b), None, Some((o, _))) => {
            if same(o, &b.contents) {
                step.action = Action::Delete;
                step.result = None;
            } else {
                step.action = Action::KeepRemoved;
            }
        }
        (base, Some(t), Some((o, o_exec))) => {
            let executable = match base {
                Some(b) if b.executable != t.executable => t.executable,
                _ => *o_exec,
            };
            if base.is_some_and(|b| same(o, &b.contents)) {
                step.action = Action::Replace;
                step.result = Some((with_endings_of(o, &t.contents), executable));
            } else if same(o, &t.contents) {
                if executable != *o_exec {
                    step.action = Action::Replace;
                    step.result = Some((o.clone(), executable));
                }
            } else {
                merge_both(inputs, &mut step, base, t, o, executable);
            }
        }
        (None, None, _) => unreachable!("every path comes from one of the two renders"),
    }
    step
}

fn merge_both(
    inputs: &Inputs,
    step: &mut Step,
    base: Option<&RenderedFile>,
    theirs: &RenderedFile,
    ours: &[u8],
    executable: bool,
) {
    let (Ok(ours_text), Ok(theirs_text)) = (
        std::str::from_utf8(ours),
        std::str::from_utf8(&theirs.contents),
    ) else {
        step.action = Action::LeftAlone("not UTF-8 text, so it cannot be merged".to_owned());
        return;
    };
    let base_text = base
        .map(|b| String::from_utf8_lossy(&b.contents).into_owned())
        .unwrap_or_default();
    let crlf = merge::uses_crlf(ours_text);
    let (b, o, t) = (
        merge::to_lf(&base_text),
        merge::to_lf(ours_text),
        merge::to_lf(theirs_text),
    );
    let toml = step.path.ends_with(".toml") && base.is_some();
    let merged = match toml.then(|| merge::toml(&b, &o, &t)).flatten() {
        Some(merged) => merged,
        None => {
            let markers = match inputs.style {
                ConflictStyle::Inline(markers) => markers,
                ConflictStyle::Reject => Markers::Merge,
            };
            merge::text(&b, &o, &t, markers, &inputs.labels)
        }
    };
    let back = |text: &str| {
        if crlf {
            merge::to_crlf(text).into_bytes()
        } else {
            text.as_bytes().to_vec()
        }
    };
    if merged.conflicts.is_empty() {
        step.action = Action::Merge;
        step.result = Some((back(&merged.text), executable));
        return;
    }
    step.action = Action::Conflict(merged.conflicts);
    let marked_text = !toml;
    match inputs.style {
        ConflictStyle::Reject if marked_text => {
            // The project's file stays as it is; the template's change is next to it.
            let patch = diffy::create_patch(&b, &t);
            step.reject = Some(format!(
                "--- {path} ({base})\n+++ {path} ({theirs})\n{hunks}",
                path = step.path,
                base = inputs.labels.base,
                theirs = inputs.labels.theirs,
                hunks = hunks_of(&patch.to_string())
            ));
        }
        _ => step.result = Some((back(&merged.text), executable)),
    }
}

/// The hunks of a diffy patch, without its own `---`/`+++` header.
pub(super) fn hunks_of(patch: &str) -> String {
    patch
        .split_inclusive('\n')
        .skip_while(|l| !l.starts_with("@@"))
        .collect()
}

/// The same content, line endings aside: a checkout with CRLF is not an edit.
pub(super) fn same(a: &[u8], b: &[u8]) -> bool {
    a == b || normalised(a) == normalised(b)
}

fn normalised(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
            i += 1;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// The template's new content, with the project file's line endings.
fn with_endings_of(ours: &[u8], theirs: &[u8]) -> Vec<u8> {
    match (std::str::from_utf8(ours), std::str::from_utf8(theirs)) {
        (Ok(o), Ok(t)) if merge::uses_crlf(o) => merge::to_crlf(t).into_bytes(),
        _ => theirs.to_vec(),
    }
}

/// The project's file at `path`: `Ok(None)` when absent; an error (why it is left alone) when
/// it is not a regular file inside the project.
fn read_ours(root: &Path, path: &str) -> Result<Option<(Vec<u8>, bool)>, String> {
    let full = root.join(path);
    // Every directory on the way must be a real directory inside the project: a link would
    // let an update write outside it.
    let mut dir = PathBuf::from(root);
    let parts: Vec<&str> = path.split('/').collect();
    for part in &parts[..parts.len() - 1] {
        dir.push(part);
        match fs::symlink_metadata(&dir) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(format!("{} is a symbolic link", rel(root, &dir)));
            }
            Ok(m) if !m.is_dir() => return Err(format!("{} is not a directory", rel(root, &dir))),
            Ok(_) => {}
            Err(_) => return Ok(None),
        }
    }
    match fs::symlink_metadata(&full) {
        Ok(m) if m.file_type().is_symlink() => Err("it is a symbolic link".to_owned()),
        Ok(m) if !m.is_file() => Err("it is not a regular file".to_owned()),
        Ok(m) => {
            let bytes = fs::read(&full).map_err(|e| format!("cannot read it: {e}"))?;
            Ok(Some((bytes, is_executable(&m))))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read it: {e}")),
    }
}

fn rel(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

#[cfg(unix)]
pub fn is_executable(metadata: &fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    metadata.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
pub fn is_executable(_: &fs::Metadata) -> bool {
    false
}
