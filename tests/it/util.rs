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
