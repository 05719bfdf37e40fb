//! Producing faults for the robustness tests: the svc binary run with a time limit, as an
//! unprivileged user, with a file size limit; permissions and mounts undone by drop guards.
//!
//! CI runs the suite as root on Linux, where `chmod 000` stops nobody: the binary is then
//! run as `nobody` (65534) so that permission faults are real. As any other user, `chmod`
//! alone produces them.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub const NOBODY: u32 = 65534;

/// Whether the tests run as root: a file this process creates is owned by its effective uid.
pub fn is_root() -> bool {
    let probe = tempfile::NamedTempFile::new().unwrap();
    probe.as_file().metadata().unwrap().uid() == 0
}

/// A temporary directory anyone may enter and read, and `nobody` may write in.
pub fn open_tempdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    chmod(dir.path(), 0o777);
    dir
}

pub fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// Gives a path its permissions back on drop, so that a failed test can still clean up.
pub struct Locked {
    path: PathBuf,
    mode: u32,
}

impl Locked {
    pub fn new(path: &Path, mode: u32) -> Self {
        let old = fs::symlink_metadata(path).unwrap().mode() & 0o7777;
        chmod(path, mode);
        Locked {
            path: path.to_owned(),
            mode: old,
        }
    }
}

impl Drop for Locked {
    fn drop(&mut self) {
        let _ = fs::set_permissions(&self.path, fs::Permissions::from_mode(self.mode));
    }
}

/// The svc binary, at a path `nobody` can execute: where cargo built it when every directory
/// above it lets others through, else a copy in `dir` (which must be open to others).
pub fn svc_for_anyone(dir: &Path) -> PathBuf {
    let built = PathBuf::from(env!("CARGO_BIN_EXE_svc"));
    let reachable = built
        .ancestors()
        .skip(1)
        .all(|d| fs::metadata(d).is_ok_and(|m| m.mode() & 0o001 != 0));
    if reachable {
        return built;
    }
    // A name no fixture uses (several have an `svc/` service directory) and not a source.
    let copy = dir.join("svc-for-nobody");
    fs::copy(&built, &copy).unwrap();
    chmod(&copy, 0o755);
    copy
}

/// A command for the svc binary that permission bits apply to: as `nobody` when the tests
/// run as root, which `dir` (open to others) may receive a copy of the binary for.
pub fn svc_unprivileged(dir: &Path) -> Command {
    let mut cmd = if is_root() {
        let mut cmd = Command::new(svc_for_anyone(dir));
        // std drops the supplementary groups too when root changes uid.
        cmd.uid(NOBODY).gid(NOBODY);
        cmd
    } else {
        Command::new(env!("CARGO_BIN_EXE_svc"))
    };
    cmd.env("NO_COLOR", "1");
    cmd
}

pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    /// The exit code; a death by signal (a panic under `panic = "abort"`, say) fails the test.
    pub fn code(&self) -> i32 {
        self.status
            .code()
            .unwrap_or_else(|| panic!("killed: {:?}\nstderr: {}", self.status, self.stderr))
    }

    /// Exit code 0 or 1 and no panic: what every audit of a bad tree must end with.
    pub fn assert_audited(&self) {
        assert!(
            !self.stderr.contains("panicked"),
            "svc panicked:\n{}",
            self.stderr
        );
        let code = self.code();
        assert!(
            code == 0 || code == 1,
            "exit code {code}, stderr:\n{}",
            self.stderr
        );
    }
}

/// Runs `cmd` to its end, killing it and failing the test if it takes longer than `limit`:
/// a hang is a bug, never a stuck CI job.
pub fn run_bounded(cmd: &mut Command, limit: Duration) -> Finished {
    let out = tempfile::tempdir().unwrap();
    let stdout_path = out.path().join("stdout");
    let stderr_path = out.path().join("stderr");
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(fs::File::create(&stdout_path).unwrap())
        .stderr(fs::File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{cmd:?} did not finish within {limit:?}; stderr so far:\n{}",
                fs::read_to_string(&stderr_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Finished {
        status,
        stdout: fs::read_to_string(&stdout_path).unwrap(),
        stderr: fs::read_to_string(&stderr_path).unwrap(),
    }
}

/// A tmpfs of `size` mounted on `dir`, unmounted on drop; None where mounting is not allowed.
pub struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    pub fn mount(dir: &Path, size: &str) -> Option<Self> {
        let status = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0777"),
                "tmpfs",
            ])
            .arg(dir)
            .stderr(Stdio::null())
            .status()
            .ok()?;
        status.success().then(|| Tmpfs {
            dir: dir.to_owned(),
        })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(&self.dir)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            // Busy (a child still running): detach it now, it goes when the last user does.
            let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        }
    }
}

/// Names in `dir`, hidden ones included, sorted.
pub fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// miette wraps long messages and draws a margin; compare the words only.
pub fn flat(text: &str) -> String {
    text.replace(['│', '×', '╰', '─', '▶', '├', '╭'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}
