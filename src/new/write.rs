//! Puts a rendered project on disk, all at once or not at all.
//!
//! Everything is written into a temporary directory next to the target (same filesystem), then
//! renamed into place. With `--force` on a non-empty target, the old directory is renamed
//! aside first, the new one renamed in, and only then is the old one deleted; if the second
//! rename fails, the old one is renamed back. An error at any point leaves the target as it
//! was, and the temporary directories are removed; so does SIGINT or SIGTERM (see
//! [`super::interrupt`]). SIGKILL leaves the target untouched or complete too, but may leave
//! the temporary directory behind: it is named `.svc-new-<target>-XXXXXX` so that users
//! recognise it, and a later run does not depend on it.
//!
//! Files are not fsynced before the rename. The rename makes the project appear at once to
//! every other process, whatever happens to this one; only a crash of the machine itself
//! could leave empty files behind it, and a generated project is regenerated in a second,
//! whereas an fsync per file would make every run wait on the disk (seconds on a slow one).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use miette::Diagnostic;
use thiserror::Error;

use super::interrupt;
use super::render::RenderedTree;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetState {
    Absent,
    Empty,
    /// Non-empty, and `--force` was given.
    Replace,
}

#[derive(Debug, Error, Diagnostic)]
pub enum WriteError {
    #[error("{} already exists and is not empty", .target.display())]
    #[diagnostic(
        code(svc::new::target_exists),
        help("choose another name or --output DIR, or pass --force to replace it")
    )]
    NotEmpty { target: PathBuf },
    #[error("{} exists and is not a directory", .target.display())]
    #[diagnostic(
        code(svc::new::target_exists),
        help("choose another name or --output DIR")
    )]
    NotADirectory { target: PathBuf },
    #[error("{} contains the current directory, so it cannot be replaced", .target.display())]
    #[diagnostic(
        code(svc::new::target_exists),
        help("run svc new from outside it, or choose another --output DIR")
    )]
    ContainsCurrentDirectory { target: PathBuf },
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
        "cannot put the new project in place, nor restore the original; the original is at {}",
        .saved.display()
    )]
    #[diagnostic(code(svc::new::io), help("move it back by hand: mv {} {}", .saved.display(), .target.display()))]
    Restore {
        target: PathBuf,
        saved: PathBuf,
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
    if target.file_name().is_none() {
        return Err(WriteError::NoName {
            target: target.to_owned(),
        });
    }
    let metadata = match fs::symlink_metadata(target) {
        Ok(metadata) => metadata,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(TargetState::Absent),
        Err(source) => return Err(io_error("inspect", target)(source)),
    };
    if !metadata.is_dir() {
        return Err(WriteError::NotADirectory {
            target: target.to_owned(),
        });
    }
    // Replacing (or renaming over) a directory the user stands in would leave their shell in a
    // deleted directory, or delete their work: refuse.
    if let (Ok(cwd), Ok(canonical)) = (
        std::env::current_dir().and_then(fs::canonicalize),
        fs::canonicalize(target),
    ) && cwd.starts_with(&canonical)
    {
        return Err(WriteError::ContainsCurrentDirectory {
            target: target.to_owned(),
        });
    }
    let empty = fs::read_dir(target)
        .map_err(io_error("read", target))?
        .next()
        .is_none();
    match (empty, force) {
        (true, _) => Ok(TargetState::Empty),
        (false, true) => Ok(TargetState::Replace),
        (false, false) => Err(WriteError::NotEmpty {
            target: target.to_owned(),
        }),
    }
}

/// What is left to clean up by hand after a successful write, if anything.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Written {
    /// The replaced directory, when deleting it failed.
    pub leftover: Option<PathBuf>,
}

pub fn write(
    tree: &RenderedTree,
    target: &Path,
    state: TargetState,
) -> Result<Written, WriteError> {
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    // Declared first, dropped last: an interrupt waits until the temporary directory is gone.
    let _deferred = interrupt::Deferred::start();
    let interrupted = || match interrupt::requested() {
        true => Err(WriteError::Interrupted {
            target: target.to_owned(),
        }),
        false => Ok(()),
    };
    interrupted()?;
    fs::create_dir_all(&parent).map_err(io_error("create", &parent))?;

    let name = target.file_name().unwrap_or_default().to_string_lossy();
    let staging = tempfile::Builder::new()
        .prefix(&format!(".svc-new-{name}-"))
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

    let written = match state {
        TargetState::Absent | TargetState::Empty => {
            move_into_place(&root, target, state)?;
            Written::default()
        }
        TargetState::Replace => replace(&root, target, &parent, &name)?,
    };
    // Empty by now; a failure to remove it is not worth failing a finished project for.
    let _ = staging.close();
    Ok(written)
}

fn write_file(
    root: &Path,
    relative: &str,
    contents: &[u8],
    executable: bool,
) -> Result<(), WriteError> {
    let path = relative
        .split('/')
        .fold(root.to_owned(), |path, segment| path.join(segment));
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

fn replace(root: &Path, target: &Path, parent: &Path, name: &str) -> Result<Written, WriteError> {
    let aside = tempfile::Builder::new()
        .prefix(&format!(".svc-replaced-{name}-"))
        .tempdir_in(parent)
        .map_err(io_error("create a temporary directory in", parent))?;
    let saved = aside.path().join("original");
    fs::rename(target, &saved).map_err(io_error("move aside", target))?;

    if let Err(err) = fs::rename(root, target) {
        return match fs::rename(&saved, target) {
            Ok(()) => Err(io_error("move the new project to", target)(err)),
            Err(_) => Err(WriteError::Restore {
                target: target.to_owned(),
                saved: aside.keep().join("original"),
                source: err,
            }),
        };
    }

    let kept = aside.path().to_owned();
    match aside.close() {
        Ok(()) => Ok(Written::default()),
        Err(_) => Ok(Written {
            leftover: Some(kept),
        }),
    }
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

    #[test]
    fn writes_a_new_directory_and_leaves_nothing_else() {
        let parent = tempfile::tempdir().unwrap();
        let target = parent.path().join("svc");
        let state = check_target(&target, false).unwrap();
        assert_eq!(state, TargetState::Absent);
        write(
            &tree(&[("a/b.txt", "b", false), ("run.sh", "#!/bin/sh\n", true)]),
            &target,
            state,
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
        write(
            &tree(&[("run.sh", "", true), ("plain", "", false)]),
            &target,
            TargetState::Absent,
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
        write(&tree(&[("x", "1", false)]), &target, TargetState::Empty).unwrap();
        assert!(matches!(
            check_target(&target, false),
            Err(WriteError::NotEmpty { .. })
        ));
        assert_eq!(check_target(&target, true).unwrap(), TargetState::Replace);
    }

    #[test]
    fn force_replaces_and_deletes_the_old_directory() {
        let parent = tempfile::tempdir().unwrap();
        let target = parent.path().join("svc");
        fs::create_dir_all(target.join("old")).unwrap();
        fs::write(target.join("old/file"), "old").unwrap();
        write(
            &tree(&[("new", "new", false)]),
            &target,
            TargetState::Replace,
        )
        .unwrap();
        assert_eq!(entries(&target), ["new"]);
        assert_eq!(entries(parent.path()), ["svc"]);
    }

    #[test]
    fn a_failed_write_leaves_the_target_as_it_was() {
        let parent = tempfile::tempdir().unwrap();
        let target = parent.path().join("svc");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("keep"), "mine").unwrap();
        // A NUL byte cannot be in a file name: the write fails half-way through the tree.
        let bad = tree(&[("a", "1", false), ("b\0", "2", false)]);
        assert!(matches!(
            write(&bad, &target, TargetState::Replace),
            Err(WriteError::Io { .. })
        ));
        assert_eq!(entries(&target), ["keep"]);
        assert_eq!(entries(parent.path()), ["svc"]);

        let absent = parent.path().join("absent");
        assert!(write(&bad, &absent, TargetState::Absent).is_err());
        assert!(!absent.exists());
        assert_eq!(entries(parent.path()), ["svc"]);
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
        assert!(matches!(
            check_target(Path::new(".."), true),
            Err(WriteError::NoName { .. })
        ));
        assert!(matches!(
            check_target(Path::new("/"), true),
            Err(WriteError::NoName { .. })
        ));
    }

    #[test]
    fn the_current_directory_and_its_parents_are_refused() {
        let cwd = std::env::current_dir().unwrap();
        assert!(matches!(
            check_target(&cwd, true),
            Err(WriteError::ContainsCurrentDirectory { .. })
        ));
        let parent = cwd.parent().unwrap();
        assert!(matches!(
            check_target(parent, true),
            Err(WriteError::ContainsCurrentDirectory { .. })
        ));
    }
}
