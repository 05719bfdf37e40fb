//! Puts a rendered project on disk, and deletes nothing it did not create.
//!
//! An absent or empty target gets the project all at once or not at all: every file is written
//! into a temporary directory next to the target (same filesystem), then that directory is
//! renamed into place. Parent directories that did not exist are created first, and removed
//! again if the write fails.
//!
//! With `--force`, a non-empty target is not replaced: only the rendered files are written into
//! it, each one through a temporary file in its own directory renamed over the old file (see
//! [`crate::atomic`]); every other file stays as it was. [`plan`] inspects the target first and
//! refuses, before anything is written, a symbolic link anywhere svc would write through (the
//! target itself, a directory inside it, a file it would replace), and a file or directory in
//! the way of the project. [`write()`] then stages every new or changed file next to where it
//! goes, and only when all are staged renames them into place, one after the other; if a rename
//! fails, the files already renamed are put back as they were and the new ones removed. So an
//! error (a full disk while staging) leaves the target as it was. [`Written`] names the files
//! whose old content was overwritten. Files whose content is already what the template renders
//! are left alone.
//!
//! [`check_target`] refuses outright a filesystem root, the home directory or any directory
//! that contains it, and the current directory or any directory that contains it.
//!
//! SIGINT or SIGTERM (see [`super::interrupt`]) stops the write before the first rename, and
//! the temporary files and directories are removed. SIGKILL leaves an absent target absent or
//! complete, but may leave temporary files behind: they are named `.svc-new-<name>-XXXXXX`
//! so that users recognise them, and a later run does not depend on them. Killed between
//! the renames of a `--force` write (a short window after all the writing), a target can hold
//! some new files and some old ones; running the same command again completes it.
//!
//! Files are not fsynced before the rename. The rename makes each file appear at once to every
//! other process, whatever happens to this one; only a crash of the machine itself could leave
//! empty files behind it, and a generated project is regenerated in a second, whereas an fsync
//! per file would make every run wait on the disk (seconds on a slow one).

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use miette::Diagnostic;
use thiserror::Error;

use super::interrupt;
use super::render::RenderedTree;
use crate::atomic::{self, Mode, Staged};

/// Prefix of every temporary file and directory `svc new` creates.
const TEMP_PREFIX: &str = "svc-new";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetState {
    Absent,
    Empty,
    /// Non-empty, and `--force` was given: the rendered files are written into it.
    Merge,
}

#[derive(Debug, Error, Diagnostic)]
pub enum WriteError {
    #[error("{} already exists and is not empty", .target.display())]
    #[diagnostic(
        code(svc::new::target_exists),
        help(
            "choose another name or --output DIR, or pass --force to write the generated files \
             into it (its other files are kept)"
        )
    )]
    NotEmpty { target: PathBuf },
    #[error("{} exists and is not a directory", .target.display())]
    #[diagnostic(
        code(svc::new::target_exists),
        help("choose another name or --output DIR")
    )]
    NotADirectory { target: PathBuf },
    #[error("{} is the root of a filesystem; svc new does not write there", .target.display())]
    #[diagnostic(
        code(svc::new::target_refused),
        help("choose a directory for the service, such as --output services/orders-api")
    )]
    FilesystemRoot { target: PathBuf },
    #[error("{} is your home directory or contains it; svc new does not write there", .target.display())]
    #[diagnostic(
        code(svc::new::target_refused),
        help("choose a directory for the service, such as --output ~/src/orders-api")
    )]
    ContainsHome { target: PathBuf },
    #[error(
        "{} is the current directory or contains it; svc new does not write there",
        .target.display()
    )]
    #[diagnostic(
        code(svc::new::target_refused),
        help("run svc new from outside it, or choose another --output DIR")
    )]
    ContainsCurrentDirectory { target: PathBuf },
    #[error("{} is a symbolic link; svc new does not write through links", .path.display())]
    #[diagnostic(
        code(svc::new::target_refused),
        help(
            "svc new writes only inside the target: remove the link, or choose another --output DIR"
        )
    )]
    Symlink { path: PathBuf },
    #[error("{} is {what}", .path.display())]
    #[diagnostic(
        code(svc::new::target_refused),
        help("move it out of the way, or choose another --output DIR")
    )]
    InTheWay { path: PathBuf, what: &'static str },
    #[error("{} does not name a directory to create", .target.display())]
    #[diagnostic(
        code(svc::new::usage),
        help("give a directory name, such as --output services/orders-api")
    )]
    NoName { target: PathBuf },
    #[error("interrupted; nothing was written to {}", .target.display())]
    #[diagnostic(code(svc::new::interrupted))]
    Interrupted { target: PathBuf },
    #[error("cannot {action} {}", .path.display())]
    #[diagnostic(code(svc::new::io))]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "cannot put {} in place, and could not restore every file written before it",
        .path.display()
    )]
    #[diagnostic(
        code(svc::new::io),
        help("these files now hold the new content or are new: {}", .unrestored.join(", "))
    )]
    Restore {
        path: PathBuf,
        unrestored: Vec<String>,
        #[source]
        source: io::Error,
    },
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> WriteError {
    let path = path.to_owned();
    move |source| WriteError::Io {
        action,
        path,
        source,
    }
}

/// Checks the target before anything is rendered, so a doomed run fails before the questions.
pub fn check_target(target: &Path, force: bool) -> Result<TargetState, WriteError> {
    // `dir/` and `dir/.` name `dir` itself: a link there is refused like `dir`, not followed.
    let normal: PathBuf = target.components().collect();
    let metadata = match fs::symlink_metadata(&normal) {
        Ok(metadata) => Some(metadata),
        Err(err) if err.kind() == io::ErrorKind::NotFound => None,
        Err(source) => return Err(io_error("inspect", target)(source)),
    };
    if let Some(metadata) = &metadata {
        if metadata.is_symlink() {
            return Err(WriteError::Symlink {
                path: target.to_owned(),
            });
        }
        // Before the name: `/` and `..` deserve the real reason.
        if metadata.is_dir() {
            refuse_protected(target)?;
        }
    }
    if target.file_name().is_none() {
        return Err(WriteError::NoName {
            target: target.to_owned(),
        });
    }
    let Some(metadata) = metadata else {
        return Ok(TargetState::Absent);
    };
    if !metadata.is_dir() {
        return Err(WriteError::NotADirectory {
            target: target.to_owned(),
        });
    }
    let empty = fs::read_dir(target)
        .map_err(io_error("read", target))?
        .next()
        .is_none();
    match (empty, force) {
        (true, _) => Ok(TargetState::Empty),
        (false, true) => Ok(TargetState::Merge),
        (false, false) => Err(WriteError::NotEmpty {
            target: target.to_owned(),
        }),
    }
}

/// Directories no generated project belongs in, whatever `--force` says: writing there is
/// almost always a mistyped `--output`, and renaming over one (an empty target) would leave a
/// shell in a deleted directory.
fn refuse_protected(target: &Path) -> Result<(), WriteError> {
    let canonical = fs::canonicalize(target).map_err(io_error("inspect", target))?;
    let owned = || target.to_owned();
    if canonical.parent().is_none() {
        return Err(WriteError::FilesystemRoot { target: owned() });
    }
    if let Some(home) = home_dir()
        && home.starts_with(&canonical)
    {
        return Err(WriteError::ContainsHome { target: owned() });
    }
    if let Ok(cwd) = std::env::current_dir().and_then(fs::canonicalize)
        && cwd.starts_with(&canonical)
    {
        return Err(WriteError::ContainsCurrentDirectory { target: owned() });
    }
    Ok(())
}

/// `$HOME` (`%USERPROFILE%` on Windows), resolved; `None` when unset, empty or missing.
fn home_dir() -> Option<PathBuf> {
    let variable = if cfg!(windows) { "USERPROFILE" } else { "HOME" };
    let home = std::env::var_os(variable).filter(|h| !h.is_empty())?;
    fs::canonicalize(home).ok()
}

/// What writing the project will do, found out before anything is written.
#[derive(Debug)]
pub struct Plan {
    pub state: TargetState,
    /// One per file of the tree, in the same order; empty unless `state` is `Merge`.
    actions: Vec<Action>,
}

#[derive(Debug)]
enum Action {
    Create,
    /// The file exists with other content (or without the execute bit the project needs).
    Overwrite {
        old: Vec<u8>,
        permissions: fs::Permissions,
    },
    Unchanged,
}

impl Plan {
    /// The existing files the write will overwrite, as project paths.
    pub fn overwritten<'a>(&self, tree: &'a RenderedTree) -> Vec<&'a str> {
        self.actions
            .iter()
            .zip(&tree.files)
            .filter(|(action, _)| matches!(action, Action::Overwrite { .. }))
            .map(|(_, file)| file.path.as_str())
            .collect()
    }
}

/// Inspects every path the project would be written to. For a non-empty target, a symbolic
/// link at any of them, or a file where the project has a directory (or the reverse), is an
/// error before anything is written.
pub fn plan(tree: &RenderedTree, target: &Path, state: TargetState) -> Result<Plan, WriteError> {
    if state != TargetState::Merge {
        return Ok(Plan {
            state,
            actions: Vec::new(),
        });
    }
    let mut directories = Directories::default();
    let mut actions = Vec::with_capacity(tree.files.len());
    for file in &tree.files {
        let path = project_path(target, &file.path);
        if !directories.check(target, &path)? {
            actions.push(Action::Create);
            continue;
        }
        actions.push(inspect_file(&path, &file.contents, file.executable)?);
    }
    Ok(Plan { state, actions })
}

fn project_path(target: &Path, relative: &str) -> PathBuf {
    relative
        .split('/')
        .fold(target.to_owned(), |path, segment| path.join(segment))
}

/// The directories between the target and its files, each inspected once.
#[derive(Default)]
struct Directories {
    present: HashSet<PathBuf>,
    missing: HashSet<PathBuf>,
}

impl Directories {
    /// Checks every directory between `target` and `path`: real directories or missing, never
    /// links or files. Returns whether they all exist.
    fn check(&mut self, target: &Path, path: &Path) -> Result<bool, WriteError> {
        let Some(parent) = path.parent() else {
            return Ok(true);
        };
        let Ok(inside) = parent.strip_prefix(target) else {
            return Ok(true);
        };
        let mut dir = target.to_owned();
        for segment in inside.components() {
            dir.push(segment);
            if self.missing.contains(&dir) {
                return Ok(false);
            }
            if self.present.contains(&dir) {
                continue;
            }
            match fs::symlink_metadata(&dir) {
                Ok(m) if m.is_symlink() => return Err(WriteError::Symlink { path: dir }),
                Ok(m) if m.is_dir() => {
                    self.present.insert(dir.clone());
                }
                Ok(_) => {
                    return Err(WriteError::InTheWay {
                        path: dir,
                        what: "a file, where the project has a directory",
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    self.missing.insert(dir);
                    return Ok(false);
                }
                Err(source) => return Err(io_error("inspect", &dir)(source)),
            }
        }
        Ok(true)
    }
}

fn inspect_file(path: &Path, contents: &[u8], executable: bool) -> Result<Action, WriteError> {
    let metadata = match fs::symlink_metadata(path) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Action::Create),
        Err(source) => return Err(io_error("inspect", path)(source)),
    };
    if metadata.is_symlink() {
        return Err(WriteError::Symlink {
            path: path.to_owned(),
        });
    }
    if metadata.is_dir() {
        return Err(WriteError::InTheWay {
            path: path.to_owned(),
            what: "a directory, where the project has a file",
        });
    }
    if !metadata.is_file() {
        return Err(WriteError::InTheWay {
            path: path.to_owned(),
            what: "a special file, where the project has a file",
        });
    }
    let old = fs::read(path).map_err(io_error("read", path))?;
    let permissions = metadata.permissions();
    if old == contents && (!executable || is_executable(&permissions)) {
        return Ok(Action::Unchanged);
    }
    Ok(Action::Overwrite { old, permissions })
}

#[cfg(unix)]
fn is_executable(permissions: &fs::Permissions) -> bool {
    use std::os::unix::fs::PermissionsExt;
    permissions.mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_permissions: &fs::Permissions) -> bool {
    true
}

/// What was written.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Written {
    /// Existing files whose content was replaced (`--force`), as project paths.
    pub overwritten: Vec<String>,
}

/// Directories this run created, removed again (innermost first) unless the run succeeds.
/// `remove_dir` removes only empty directories: nothing put there by someone else goes.
#[derive(Default)]
struct CreatedDirectories {
    created: Vec<PathBuf>,
    keep: bool,
}

impl CreatedDirectories {
    /// Creates `dir` and its missing parents.
    fn create_all(&mut self, dir: &Path) -> Result<(), WriteError> {
        let mut missing = Vec::new();
        let mut current = Some(dir);
        while let Some(path) = current.filter(|p| !p.as_os_str().is_empty()) {
            match fs::symlink_metadata(path) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => missing.push(path.to_owned()),
                _ => break,
            }
            current = path.parent();
        }
        for path in missing.iter().rev() {
            self.create(path)?;
        }
        Ok(())
    }

    /// Creates one directory; one that appeared meanwhile is used if it is a real directory.
    fn create(&mut self, dir: &Path) -> Result<(), WriteError> {
        match fs::create_dir(dir) {
            Ok(()) => {
                self.created.push(dir.to_owned());
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => match fs::symlink_metadata(dir) {
                Ok(m) if m.is_symlink() => Err(WriteError::Symlink {
                    path: dir.to_owned(),
                }),
                Ok(m) if m.is_dir() => Ok(()),
                _ => Err(io_error("create", dir)(e)),
            },
            Err(source) => Err(io_error("create", dir)(source)),
        }
    }
}

impl Drop for CreatedDirectories {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        for dir in self.created.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
    }
}

pub fn write(tree: &RenderedTree, target: &Path, plan: &Plan) -> Result<Written, WriteError> {
    // Declared first, dropped last: an interrupt waits until the temporary files are gone.
    let _deferred = interrupt::Deferred::start();
    let interrupted = || match interrupt::requested() {
        true => Err(WriteError::Interrupted {
            target: target.to_owned(),
        }),
        false => Ok(()),
    };
    interrupted()?;
    let mut created = CreatedDirectories::default();
    let written = match plan.state {
        TargetState::Absent | TargetState::Empty => {
            write_all_at_once(tree, target, plan.state, &mut created, &interrupted)?
        }
        TargetState::Merge => write_into(tree, target, plan, &mut created, &interrupted)?,
    };
    created.keep = true;
    Ok(written)
}

fn write_all_at_once(
    tree: &RenderedTree,
    target: &Path,
    state: TargetState,
    created: &mut CreatedDirectories,
    interrupted: &dyn Fn() -> Result<(), WriteError>,
) -> Result<Written, WriteError> {
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    created.create_all(&parent)?;

    let name = target.file_name().unwrap_or_default().to_string_lossy();
    let staging = tempfile::Builder::new()
        .prefix(&format!(".{TEMP_PREFIX}-{name}-"))
        .tempdir_in(&parent)
        .map_err(io_error("create a temporary directory in", &parent))?;
    // The temporary directory is private (0700); the project goes in a directory created with
    // the user's umask, like any directory they would make.
    let root = staging.path().join("project");
    fs::create_dir(&root).map_err(io_error("create", &root))?;
    for file in &tree.files {
        interrupted()?;
        write_file(&root, &file.path, &file.contents, file.executable)?;
    }
    // The last moment to stop: from here on the target changes, and is finished first.
    interrupted()?;
    move_into_place(&root, target, state)?;
    // Empty by now; a failure to remove it is not worth failing a finished project for.
    let _ = staging.close();
    Ok(Written::default())
}

fn write_file(
    root: &Path,
    relative: &str,
    contents: &[u8],
    executable: bool,
) -> Result<(), WriteError> {
    let path = project_path(root, relative);
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(io_error("create", dir))?;
    }
    fs::write(&path, contents).map_err(io_error("write", &path))?;
    if executable {
        make_executable(&path)?;
    }
    Ok(())
}

/// Adds execute permission wherever read permission is set (as `chmod +x` under the umask).
#[cfg(unix)]
fn make_executable(path: &Path) -> Result<(), WriteError> {
    use std::os::unix::fs::PermissionsExt;
    let mut permissions = fs::metadata(path)
        .map_err(io_error("inspect", path))?
        .permissions();
    let mode = permissions.mode();
    permissions.set_mode(mode | ((mode & 0o444) >> 2));
    fs::set_permissions(path, permissions).map_err(io_error("make executable", path))
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) -> Result<(), WriteError> {
    Ok(())
}

fn move_into_place(root: &Path, target: &Path, state: TargetState) -> Result<(), WriteError> {
    // On Unix a rename replaces an empty directory atomically; elsewhere remove it first.
    if state == TargetState::Empty && !cfg!(unix) {
        fs::remove_dir(target).map_err(io_error("replace", target))?;
    }
    fs::rename(root, target).map_err(io_error("move the new project to", target))
}

/// `--force` into a non-empty target: stage every new or changed file next to its place, then
/// rename them all in.
fn write_into(
    tree: &RenderedTree,
    target: &Path,
    plan: &Plan,
    created: &mut CreatedDirectories,
    interrupted: &dyn Fn() -> Result<(), WriteError>,
) -> Result<Written, WriteError> {
    // Checked again, and missing directories created, just before each file: the target may
    // have changed since the plan (while a prompt waited, say).
    let mut directories = Directories::default();
    let mut staged: Vec<(Staged, &Action, &str)> = Vec::new();
    for (file, action) in tree.files.iter().zip(&plan.actions) {
        if matches!(action, Action::Unchanged) {
            continue;
        }
        interrupted()?;
        let path = project_path(target, &file.path);
        if !directories.check(target, &path)? {
            create_inside(target, &path, created, &mut directories)?;
        }
        let mode = match action {
            Action::Overwrite { permissions, .. } => {
                if fs::symlink_metadata(&path).is_ok_and(|m| m.is_symlink()) {
                    return Err(WriteError::Symlink { path });
                }
                Mode::Existing {
                    permissions: permissions.clone(),
                    executable: file.executable,
                }
            }
            _ => Mode::New {
                executable: file.executable,
            },
        };
        let file_staged = atomic::stage(&path, &file.contents, &mode, TEMP_PREFIX)
            .map_err(io_error("write", &path))?;
        staged.push((file_staged, action, &file.path));
    }
    // The last moment to stop: from here on the target changes, and is finished first.
    interrupted()?;

    let mut done: Vec<(PathBuf, &Action, &str)> = Vec::new();
    let mut pending = staged.into_iter();
    for (file, action, relative) in pending.by_ref() {
        let path = file.path().to_owned();
        let result = match action {
            Action::Overwrite { .. } => file.commit(),
            _ => file.commit_new(),
        };
        if let Err(source) = result {
            // The staged files not yet renamed are removed with the iterator.
            drop(pending);
            let unrestored = undo(&done);
            return Err(match unrestored.is_empty() {
                true => io_error("write", &path)(source),
                false => WriteError::Restore {
                    path,
                    unrestored,
                    source,
                },
            });
        }
        done.push((path, action, relative));
    }
    let overwritten = done
        .iter()
        .filter(|(_, action, _)| matches!(action, Action::Overwrite { .. }))
        .map(|(_, _, relative)| (*relative).to_owned())
        .collect();
    Ok(Written { overwritten })
}

/// Creates the missing directories between `target` and `path`, outermost first.
fn create_inside(
    target: &Path,
    path: &Path,
    created: &mut CreatedDirectories,
    directories: &mut Directories,
) -> Result<(), WriteError> {
    let Some(inside) = path.parent().and_then(|p| p.strip_prefix(target).ok()) else {
        return Ok(());
    };
    let mut dir = target.to_owned();
    for segment in inside.components() {
        dir.push(segment);
        if directories.present.contains(&dir) {
            continue;
        }
        created.create(&dir)?;
        directories.missing.remove(&dir);
        directories.present.insert(dir.clone());
    }
    Ok(())
}

/// Puts back the files renamed into place before a rename failed: old content where a file was
/// overwritten, nothing where one was new. Returns the ones that could not be put back.
fn undo(done: &[(PathBuf, &Action, &str)]) -> Vec<String> {
    let mut unrestored = Vec::new();
    for (path, action, relative) in done.iter().rev() {
        let restored = match action {
            Action::Overwrite { old, permissions } => {
                let mode = Mode::Existing {
                    permissions: permissions.clone(),
                    executable: false,
                };
                atomic::stage(path, old, &mode, TEMP_PREFIX).and_then(Staged::commit)
            }
            _ => fs::remove_file(path),
        };
        if restored.is_err() {
            unrestored.push((*relative).to_owned());
        }
    }
    unrestored
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::new::render::RenderedFile;

    fn tree(files: &[(&str, &str, bool)]) -> RenderedTree {
        RenderedTree {
            files: files
                .iter()
                .map(|(path, contents, executable)| RenderedFile {
                    path: (*path).to_owned(),
                    contents: contents.as_bytes().to_vec(),
                    executable: *executable,
                })
                .collect(),
        }
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn write_checked(
        tree: &RenderedTree,
        target: &Path,
        force: bool,
    ) -> Result<Written, WriteError> {
        let state = check_target(target, force)?;
        let plan = plan(tree, target, state)?;
        write(tree, target, &plan)
    }

    #[test]
    fn writes_a_new_directory_and_leaves_nothing_else() {
        let parent = tempfile::tempdir().unwrap();
        let target = parent.path().join("svc");
        let state = check_target(&target, false).unwrap();
        assert_eq!(state, TargetState::Absent);
        write_checked(
            &tree(&[("a/b.txt", "b", false), ("run.sh", "#!/bin/sh\n", true)]),
            &target,
            false,
        )
        .unwrap();
        assert_eq!(fs::read_to_string(target.join("a/b.txt")).unwrap(), "b");
        assert_eq!(entries(parent.path()), ["svc"]);
    }

    #[cfg(unix)]
    #[test]
    fn executable_bit_and_normal_directory_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let parent = tempfile::tempdir().unwrap();
        let target = parent.path().join("svc");
        write_checked(
            &tree(&[("run.sh", "", true), ("plain", "", false)]),
            &target,
            false,
        )
        .unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_ne!(mode(&target.join("run.sh")) & 0o100, 0);
        assert_eq!(mode(&target.join("plain")) & 0o111, 0);
        // Not the 0700 of the temporary directory it was built in.
        assert_ne!(mode(&target) & 0o055, 0);
    }

    #[test]
    fn empty_directory_is_filled_and_non_empty_needs_force() {
        let parent = tempfile::tempdir().unwrap();
        let target = parent.path().join("svc");
        fs::create_dir(&target).unwrap();
        assert_eq!(check_target(&target, false).unwrap(), TargetState::Empty);
        write_checked(&tree(&[("x", "1", false)]), &target, false).unwrap();
        assert!(matches!(
            check_target(&target, false),
            Err(WriteError::NotEmpty { .. })
        ));
        assert_eq!(check_target(&target, true).unwrap(), TargetState::Merge);
    }

    #[test]
    fn force_writes_the_rendered_files_and_keeps_every_other() {
        let parent = tempfile::tempdir().unwrap();
        let target = parent.path().join("svc");
        fs::create_dir_all(target.join("old")).unwrap();
        fs::write(target.join("old/file"), "old").unwrap();
        fs::write(target.join("same"), "same").unwrap();
        fs::write(target.join("changed"), "mine").unwrap();
        let written = write_checked(
            &tree(&[
                ("changed", "new", false),
                ("new/deep/file", "new", false),
                ("same", "same", false),
            ]),
            &target,
            true,
        )
        .unwrap();
        assert_eq!(written.overwritten, ["changed"]);
        assert_eq!(entries(&target), ["changed", "new", "old", "same"]);
        assert_eq!(fs::read_to_string(target.join("old/file")).unwrap(), "old");
        assert_eq!(fs::read_to_string(target.join("changed")).unwrap(), "new");
        assert_eq!(
            fs::read_to_string(target.join("new/deep/file")).unwrap(),
            "new"
        );
        assert_eq!(entries(parent.path()), ["svc"]);
    }

    #[test]
    fn a_failed_write_leaves_the_target_as_it_was() {
        let parent = tempfile::tempdir().unwrap();
        let target = parent.path().join("svc");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("keep"), "mine").unwrap();
        fs::write(target.join("a"), "old").unwrap();
        // A NUL byte cannot be in a file name: the write fails half-way through the tree.
        let bad = tree(&[("a", "1", false), ("dir/b\0", "2", false)]);
        assert!(matches!(
            write_checked(&bad, &target, true),
            Err(WriteError::Io { .. })
        ));
        assert_eq!(entries(&target), ["a", "keep"]);
        assert_eq!(fs::read_to_string(target.join("a")).unwrap(), "old");
        assert_eq!(entries(parent.path()), ["svc"]);

        // Nor are the parent directories it created left behind.
        let absent = parent.path().join("a/b/c");
        assert!(write_checked(&bad, &absent, false).is_err());
        assert_eq!(entries(parent.path()), ["svc"]);
    }

    #[test]
    fn a_failed_rename_puts_back_what_was_already_renamed() {
        let parent = tempfile::tempdir().unwrap();
        let target = parent.path().join("svc");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("a"), "old").unwrap();
        fs::write(target.join("keep"), "mine").unwrap();
        let files = tree(&[
            ("a", "new", false),
            ("b", "new", false),
            ("c", "new", false),
        ]);
        let plan = plan(&files, &target, TargetState::Merge).unwrap();
        // `c` appears after the plan: the rename that must not replace it fails.
        fs::write(target.join("c"), "theirs").unwrap();
        assert!(matches!(
            write(&files, &target, &plan),
            Err(WriteError::Io { .. })
        ));
        assert_eq!(entries(&target), ["a", "c", "keep"]);
        assert_eq!(fs::read_to_string(target.join("a")).unwrap(), "old");
        assert_eq!(fs::read_to_string(target.join("c")).unwrap(), "theirs");
    }

    #[cfg(unix)]
    #[test]
    fn links_inside_the_target_are_refused_before_anything_is_written() {
        use std::os::unix::fs::symlink;
        let parent = tempfile::tempdir().unwrap();
        let victim = parent.path().join("victim");
        fs::create_dir(&victim).unwrap();
        let target = parent.path().join("svc");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("keep"), "mine").unwrap();
        symlink(&victim, target.join("app")).unwrap();
        let files = tree(&[("a", "1", false), ("app/main.py", "x", false)]);
        assert!(matches!(
            write_checked(&files, &target, true),
            Err(WriteError::Symlink { .. })
        ));
        assert_eq!(entries(&target), ["app", "keep"]);
        assert!(entries(&victim).is_empty());

        let link = parent.path().join("link");
        symlink(&target, &link).unwrap();
        for named in [link.clone(), link.join(""), link.join(".")] {
            assert!(
                matches!(check_target(&named, true), Err(WriteError::Symlink { .. })),
                "{}",
                named.display()
            );
        }
    }

    #[test]
    fn files_and_odd_targets_are_refused() {
        let parent = tempfile::tempdir().unwrap();
        let file = parent.path().join("file");
        fs::write(&file, "").unwrap();
        assert!(matches!(
            check_target(&file, true),
            Err(WriteError::NotADirectory { .. })
        ));
        // Names that exist get the real reason; those that do not, the missing name.
        assert!(matches!(
            check_target(Path::new(".."), true),
            Err(WriteError::ContainsCurrentDirectory { .. } | WriteError::ContainsHome { .. })
        ));
        assert!(matches!(
            check_target(Path::new("/"), true),
            Err(WriteError::FilesystemRoot { .. })
        ));
        assert!(matches!(
            check_target(&parent.path().join("absent/.."), true),
            Err(WriteError::NoName { .. })
        ));
    }

    #[test]
    fn a_file_or_directory_in_the_way_is_refused() {
        let parent = tempfile::tempdir().unwrap();
        let target = parent.path().join("svc");
        fs::create_dir_all(target.join("a.txt")).unwrap();
        fs::write(target.join("dir"), "a file").unwrap();
        for files in [tree(&[("a.txt", "", false)]), tree(&[("dir/x", "", false)])] {
            assert!(matches!(
                write_checked(&files, &target, true),
                Err(WriteError::InTheWay { .. })
            ));
        }
        assert_eq!(entries(&target), ["a.txt", "dir"]);
    }

    #[test]
    fn the_current_directory_and_its_parents_are_refused() {
        let cwd = std::env::current_dir().unwrap();
        assert!(matches!(
            check_target(&cwd, true),
            Err(WriteError::ContainsCurrentDirectory { .. } | WriteError::ContainsHome { .. })
        ));
        let parent = cwd.parent().unwrap();
        assert!(matches!(
            check_target(parent, true),
            Err(WriteError::ContainsCurrentDirectory { .. }
                | WriteError::ContainsHome { .. }
                | WriteError::FilesystemRoot { .. })
        ));
    }
}
