//! Replacing one file at a time without a moment when it is half-written: the new content goes
//! into a temporary file in the same directory, which is then renamed over the old one.
//!
//! A rename replaces the directory entry, so a symbolic link at the target is replaced, never
//! followed; callers that must not replace links check for them first. Staging and committing
//! are separate steps so that a caller can stage every file before it changes any of them: the
//! slow, failure-prone part (writing, a full disk) then changes nothing.

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use tempfile::TempPath;

/// The permissions the new file gets.
#[derive(Debug, Clone)]
pub enum Mode {
    /// A file that did not exist: the user's umask applies, as to any file they create;
    /// `executable` adds execute permission wherever read permission is set.
    New { executable: bool },
    /// Replaces a file: its permissions carry over (plus execute permission when asked).
    Existing {
        permissions: fs::Permissions,
        executable: bool,
    },
}

/// New content written next to `path`, not yet in place. Dropped without [`Staged::commit`],
/// the temporary file is removed.
#[derive(Debug)]
pub struct Staged {
    temp: TempPath,
    path: PathBuf,
}

/// Writes `contents` into a temporary file named `.{prefix}-{file name}-XXXXXX` next to `path`.
pub fn stage(path: &Path, contents: &[u8], mode: &Mode, prefix: &str) -> io::Result<Staged> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let mut builder = tempfile::Builder::new();
    let prefix = format!(".{prefix}-{name}-");
    builder.prefix(&prefix);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Created with 0666 minus the umask, as `fs::write` would; tempfile's default is 0600.
        builder.permissions(fs::Permissions::from_mode(0o666));
    }
    let mut file = builder.tempfile_in(dir)?;
    file.write_all(contents)?;
    let (file, temp) = file.into_parts();
    drop(file);
    match mode {
        Mode::New { executable } => {
            if *executable {
                make_executable(&temp, fs::metadata(&temp)?.permissions())?;
            }
        }
        Mode::Existing {
            permissions,
            executable,
        } => {
            if *executable {
                make_executable(&temp, permissions.clone())?;
            } else {
                fs::set_permissions(&temp, permissions.clone())?;
            }
        }
    }
    Ok(Staged {
        temp,
        path: path.to_owned(),
    })
}

impl Staged {
    /// Where the file goes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the file into place, replacing whatever is there.
    pub fn commit(self) -> io::Result<()> {
        self.temp.persist(&self.path).map_err(|e| e.error)
    }

    /// Renames the file into place, failing if something appeared there since it was planned.
    pub fn commit_new(self) -> io::Result<()> {
        self.temp.persist_noclobber(&self.path).map_err(|e| e.error)
    }
}

/// Writes `contents` to `path` through a temporary file (permissions kept when it exists).
pub fn replace(path: &Path, contents: &[u8], prefix: &str) -> io::Result<()> {
    let mode = match fs::symlink_metadata(path) {
        Ok(metadata) if metadata.is_file() => Mode::Existing {
            permissions: metadata.permissions(),
            executable: false,
        },
        _ => Mode::New { executable: false },
    };
    stage(path, contents, &mode, prefix)?.commit()
}

/// A symbolic link svc refuses to write through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// The link resolves to this path, outside the directory svc writes in.
    Outside(PathBuf),
    /// The link points here, and nothing is there.
    Dangling(PathBuf),
    /// A directory on the way (`reports` in `reports/out.json`) is a symbolic link that
    /// resolves to `points_to`, outside the directory svc writes in.
    DirectoryOutside { dir: PathBuf, points_to: PathBuf },
}

/// Where a write to `path` goes: `path` itself or, when it is a symbolic link, the file the
/// link resolves to, provided that is inside `root`. Every file svc writes in a repository
/// goes through this: in an untrusted clone a committed link (`svc-baseline.json ->
/// ../../.bashrc`) would otherwise make svc edit or create any file the user can write. The
/// link itself stays, so a repository that shares a file through a link keeps sharing it.
pub fn follow_inside(path: &Path, root: &Path) -> Result<PathBuf, Refused> {
    if let Some((dir, points_to)) = linked_directory_outside(path, root) {
        return Err(Refused::DirectoryOutside { dir, points_to });
    }
    match fs::symlink_metadata(path) {
        Ok(metadata) if metadata.is_symlink() => {
            let root = fs::canonicalize(root).unwrap_or_else(|_| root.to_owned());
            match fs::canonicalize(path) {
                Ok(real) if real.starts_with(&root) => Ok(real),
                Ok(real) => Err(Refused::Outside(real)),
                Err(_) => Err(Refused::Dangling(fs::read_link(path).unwrap_or_default())),
            }
        }
        _ => Ok(path.to_owned()),
    }
}

/// For a path named inside `root`, the first directory on the way from `root` that is a link
/// resolving outside it, with where it resolves. A path named outside `root` is the user's
/// choice and is not looked at.
fn linked_directory_outside(path: &Path, root: &Path) -> Option<(PathBuf, PathBuf)> {
    let cwd = std::env::current_dir().ok()?;
    let (path, root) = (lexical(&cwd.join(path)), lexical(&cwd.join(root)));
    let relative = path.strip_prefix(&root).ok()?;
    let real_root = fs::canonicalize(&root).unwrap_or_else(|_| root.clone());
    let mut dir = root.clone();
    let parts: Vec<_> = relative.components().collect();
    for part in parts.iter().take(parts.len().saturating_sub(1)) {
        dir.push(part);
        if fs::symlink_metadata(&dir).is_ok_and(|m| m.is_symlink()) {
            let real =
                fs::canonicalize(&dir).unwrap_or_else(|_| fs::read_link(&dir).unwrap_or_default());
            if !real.starts_with(&real_root) {
                return Some((dir, real));
            }
        }
    }
    None
}

/// `a/./b/../c` as `a/c`, without touching the file system.
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Writes a file svc produces whole (a report, a baseline) at `path`, links already resolved
/// with [`follow_inside`]: through [`replace`], so that a reader never sees half a file, unless
/// `path` is something other than a file or a directory. A device (`/dev/null`) or a FIFO is
/// written in place: renaming over it would replace the node instead of feeding it.
pub fn write_whole(path: &Path, contents: &[u8], prefix: &str) -> io::Result<()> {
    match fs::metadata(path) {
        Ok(metadata) if !metadata.is_file() && !metadata.is_dir() => fs::OpenOptions::new()
            .write(true)
            .open(path)?
            .write_all(contents),
        _ => replace(path, contents, prefix),
    }
}

/// Adds execute permission wherever read permission is set (as `chmod +x` under the umask).
#[cfg(unix)]
fn make_executable(path: &Path, permissions: fs::Permissions) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut permissions = permissions;
    let mode = permissions.mode();
    permissions.set_mode(mode | ((mode & 0o444) >> 2));
    fs::set_permissions(path, permissions)
}

#[cfg(not(unix))]
fn make_executable(path: &Path, permissions: fs::Permissions) -> io::Result<()> {
    fs::set_permissions(path, permissions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staged_files_are_invisible_until_committed_and_removed_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.txt");
        fs::write(&path, "old").unwrap();
        let staged = stage(&path, b"new", &Mode::New { executable: false }, "t").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "old");
        drop(staged);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);

        let staged = stage(&path, b"new", &Mode::New { executable: false }, "t").unwrap();
        assert!(staged.commit_new().is_err(), "a.txt exists");
        replace(&path, b"new", "t").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn permissions_follow_the_umask_or_the_replaced_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let fresh = dir.path().join("fresh");
        stage(&fresh, b"", &Mode::New { executable: true }, "t")
            .unwrap()
            .commit_new()
            .unwrap();
        assert_ne!(mode(&fresh) & 0o100, 0);
        assert_ne!(mode(&fresh) & 0o044, 0, "not tempfile's 0600");

        let kept = dir.path().join("kept");
        fs::write(&kept, "old").unwrap();
        fs::set_permissions(&kept, fs::Permissions::from_mode(0o640)).unwrap();
        replace(&kept, b"new", "t").unwrap();
        assert_eq!(mode(&kept), 0o640);
    }

    #[cfg(unix)]
    #[test]
    fn links_are_followed_only_into_the_root() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo");
        fs::create_dir_all(root.join("config")).unwrap();
        fs::write(root.join("config/real"), "").unwrap();
        fs::write(dir.path().join("victim"), "mine").unwrap();
        symlink("config/real", root.join("inside")).unwrap();
        symlink("../victim", root.join("outside")).unwrap();
        symlink("../nowhere", root.join("dangling")).unwrap();
        let real = fs::canonicalize(root.join("config/real")).unwrap();
        assert_eq!(follow_inside(&root.join("inside"), &root), Ok(real));
        assert_eq!(
            follow_inside(&root.join("outside"), &root),
            Err(Refused::Outside(
                fs::canonicalize(dir.path().join("victim")).unwrap()
            ))
        );
        assert_eq!(
            follow_inside(&root.join("dangling"), &root),
            Err(Refused::Dangling(PathBuf::from("../nowhere")))
        );
        let plain = root.join("config/new");
        assert_eq!(follow_inside(&plain, &root), Ok(plain));
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_written_in_place_not_replaced() {
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.unwrap().success());
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || fs::read(fifo).unwrap())
        };
        write_whole(&fifo, b"report", "t").unwrap();
        assert_eq!(reader.join().unwrap(), b"report");
        assert!(fs::metadata(&fifo).unwrap().file_type().is_fifo());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn a_link_is_replaced_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, "mine").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        replace(&link, b"new", "t").unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "mine");
        assert!(!fs::symlink_metadata(&link).unwrap().is_symlink());
    }
}
