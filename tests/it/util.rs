//! Helpers every test module of this binary shares.

use std::path::Path;
use std::process::Command;

/// Makes `cmd` see no git configuration but the repository's own (and `home`'s `gitconfig`,
/// which tests may write), whatever the machine's: a user's autocrlf, hooks, identity or
/// `diff.noprefix` play no part.
pub fn isolate_git(cmd: &mut Command, home: &Path) {
    cmd.env("GIT_CONFIG_GLOBAL", home.join("gitconfig"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", home)
        .env("GIT_AUTHOR_NAME", "svc tests")
        .env("GIT_AUTHOR_EMAIL", "tests@svc.invalid")
        .env("GIT_COMMITTER_NAME", "svc tests")
        .env("GIT_COMMITTER_EMAIL", "tests@svc.invalid")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE");
}

/// Runs git in `dir`, isolated as [`isolate_git`] says, and returns its standard output;
/// a failure fails the test.
pub fn git(dir: &Path, home: &Path, args: &[&str]) -> String {
    let mut cmd = Command::new("git");
    isolate_git(&mut cmd, home);
    let out = cmd.args(args).current_dir(dir).output().unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The `svc` binary with colour off, run in `dir`.
pub fn svc_in(dir: &Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("svc").unwrap();
    cmd.env("NO_COLOR", "1").current_dir(dir);
    cmd
}

/// Runs `svc ARGS` in `dir`: (exit code, stdout, stderr); a signal is exit code -1.
pub fn run_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = svc_in(dir).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// `stdout` as JSON; anything else fails the test with both streams.
pub fn parse_json(stdout: &str, stderr: &str) -> serde_json::Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\n{stderr}"))
}

/// Writes `bytes` to `dir/rel`, creating the directories on the way.
pub fn write_file(dir: &Path, rel: &str, bytes: impl AsRef<[u8]>) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// Copies the tree `src` into `dst` (created), files and directories only.
pub fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let to = dst.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to);
        } else {
            std::fs::copy(entry.path(), &to).unwrap();
        }
    }
}

/// insta settings shared by every snapshot module: snapshots in `snapshots/<dir>`, named
/// without the module, no expression; each module adds the filters its output needs.
pub fn snapshot_settings(dir: &str) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(format!("../../snapshots/{dir}"));
    s.set_prepend_module_to_snapshot(false);
    s.set_omit_expression(true);
    s
}
