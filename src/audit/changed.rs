//! `--diff REF`: the lines changed since a git revision, to report only findings on them.
//!
//! git runs in the audited work tree, which may not be trusted (a pull request, an unpacked
//! archive): its configuration could name commands for git to run (`core.fsmonitor`, diff
//! drivers, clean filters) and change what the diff looks like (`diff.noprefix`,
//! `diff.mnemonicPrefix`, `core.quotePath`). Every invocation turns those off or spells out
//! what svc parses, and the revision is checked as a commit before it is used, so that it
//! can never be read as an option.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use miette::Diagnostic;
use thiserror::Error;

#[derive(Debug, Error, Diagnostic)]
pub enum DiffError {
    #[error("cannot run git in {}: {source}", dir.display())]
    #[diagnostic(code(svc::diff), help("--diff needs git on PATH and a git work tree"))]
    Spawn {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("--diff needs a git work tree: {} is not in one", dir.display())]
    #[diagnostic(
        code(svc::diff),
        help("run the audit in a git checkout, or leave out --diff to report every finding")
    )]
    NotARepository { dir: PathBuf },
    #[error("--diff {rev:?}: not a commit in this repository")]
    #[diagnostic(
        code(svc::diff),
        help("--diff takes a revision git knows: a branch, tag or commit (fetch it first in CI)")
    )]
    Revision { rev: String },
    #[error("`git {args}` failed: {stderr}")]
    #[diagnostic(
        code(svc::diff),
        help("--diff needs a git work tree that contains the audit root")
    )]
    Git { args: String, stderr: String },
}

/// The commit `--diff` compares with, checked before the audit runs.
#[derive(Debug, Clone)]
pub struct Base {
    /// The full object name: never read as an option.
    commit: String,
}

impl Base {
    /// Check that `dir` is in a git work tree and `rev` names a commit there.
    pub fn resolve(dir: &Path, rev: &str) -> Result<Base, DiffError> {
        let inside = git(dir, &["rev-parse", "--is-inside-work-tree"]);
        if !matches!(inside.as_deref().map(str::trim), Ok("true")) {
            return match inside {
                Err(e @ DiffError::Spawn { .. }) => Err(e),
                _ => Err(DiffError::NotARepository {
                    dir: dir.to_path_buf(),
                }),
            };
        }
        let bad = || DiffError::Revision {
            rev: rev.to_string(),
        };
        // A revision never starts with `-`: such an argument could only be an option.
        if rev.is_empty() || rev.starts_with('-') {
            return Err(bad());
        }
        let commit = format!("{rev}^{{commit}}");
        let resolved = git(
            dir,
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                "--end-of-options",
                &commit,
            ],
        )
        // git before 2.30 does not know `--end-of-options` here; the revision was checked.
        .or_else(|_| git(dir, &["rev-parse", "--verify", "--quiet", &commit]))
        .map_err(|_| bad())?;
        let commit = resolved.trim();
        if commit.is_empty() || !commit.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        Ok(Base {
            commit: commit.to_string(),
        })
    }
}

/// Lines added or changed, per path relative to the audited root, as inclusive ranges.
#[derive(Debug, Default)]
pub struct ChangedLines {
    files: HashMap<String, Vec<(u32, u32)>>,
}

impl ChangedLines {
    /// Changes between `base` and the working tree under `root`, untracked files included
    /// (every line of a new file is changed).
    pub fn since(root: &Path, base: &Base) -> Result<ChangedLines, DiffError> {
        // Clean filters run on working-tree files, whatever the diff options: each one the
        // repository configures is switched off.
        let mut args: Vec<String> = Vec::new();
        for driver in filter_drivers(root) {
            for (key, value) in [("clean", ""), ("process", ""), ("required", "false")] {
                args.push("-c".into());
                args.push(format!("filter.{driver}.{key}={value}"));
            }
        }
        args.extend(
            [
                "diff",
                "--relative",
                "--no-color",
                "--no-ext-diff",
                "--no-textconv",
                "--ignore-submodules=all",
                "--src-prefix=a/",
                "--dst-prefix=b/",
                "-U0",
                // `diff.interHunkContext` would fuse hunks and count the lines between.
                "--inter-hunk-context=0",
                &base.commit,
                "--",
            ]
            .map(String::from),
        );
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let diff = git_bytes(root, &args)?;
        let mut changed = ChangedLines::parse(&diff);
        let others = git_bytes(root, &["ls-files", "-z", "--others", "--exclude-standard"])?;
        for path in others.split(|&b| b == 0).filter(|p| !p.is_empty()) {
            let path = String::from_utf8_lossy(path).into_owned();
            changed.files.insert(path, vec![(1, u32::MAX)]);
        }
        Ok(changed)
    }

    /// Read `git diff -U0 --src-prefix=a/ --dst-prefix=b/` output: the `+++ b/PATH` header
    /// of each file (quoted when git quotes it; followed by a tab when the name has a space)
    /// and its `@@ -a,b +c,d @@` hunks. Lines inside hunks are never headers.
    pub fn parse(diff: &[u8]) -> ChangedLines {
        let mut files: HashMap<String, Vec<(u32, u32)>> = HashMap::new();
        let mut current: Option<String> = None;
        let mut in_header = false;
        for line in diff.split(|&b| b == b'\n') {
            if line.starts_with(b"diff ") {
                in_header = true;
                current = None;
            } else if line.starts_with(b"@@") {
                in_header = false;
                let Some(path) = &current else {
                    continue;
                };
                let hunk = String::from_utf8_lossy(line);
                let Some(new) = hunk.split(' ').skip(1).find_map(|p| p.strip_prefix('+')) else {
                    continue;
                };
                let (start, count): (u32, u32) = match new.split_once(',') {
                    Some((s, c)) => (s.parse().unwrap_or(0), c.parse().unwrap_or(0)),
                    None => (new.parse().unwrap_or(0), 1),
                };
                if count > 0 {
                    let end = start.saturating_add(count - 1);
                    files.entry(path.clone()).or_default().push((start, end));
                }
            } else if in_header && let Some(target) = line.strip_prefix(b"+++ ") {
                current = header_path(target);
            }
        }
        ChangedLines { files }
    }

    /// True when lines `start..=end` of `path` overlap a change.
    pub fn touches(&self, path: &str, start: u32, end: u32) -> bool {
        self.files.get(path).is_some_and(|ranges| {
            ranges
                .iter()
                .any(|&(s, e)| s <= end.max(start) && start <= e)
        })
    }
}

/// The path of a `+++ ` header: `b/PATH`, `"b/PA\tTH"` (C-quoted), `/dev/null` (None).
fn header_path(target: &[u8]) -> Option<String> {
    let name = match target.strip_prefix(b"\"") {
        Some(quoted) => unquote(quoted)?,
        // A name with a space ends with a tab (a name with a tab in it is quoted).
        None => target.strip_suffix(b"\t").unwrap_or(target).to_vec(),
    };
    let path = name.strip_prefix(b"b/")?;
    Some(String::from_utf8_lossy(path).into_owned())
}

/// The bytes of a C-quoted name after its opening quote: `\t`, `\"`, `\\`, `\303\251`.
fn unquote(quoted: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(quoted.len());
    let mut bytes = quoted.iter().copied();
    while let Some(b) = bytes.next() {
        match b {
            b'"' => return Some(out),
            b'\\' => {
                let escaped = bytes.next()?;
                out.push(match escaped {
                    b'a' => 0x07,
                    b'b' => 0x08,
                    b'f' => 0x0c,
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    b'v' => 0x0b,
                    b'0'..=b'7' => {
                        let mut value = u32::from(escaped - b'0');
                        for _ in 0..2 {
                            let digit = bytes.next().filter(|d| matches!(d, b'0'..=b'7'))?;
                            value = value * 8 + u32::from(digit - b'0');
                        }
                        u8::try_from(value).ok()?
                    }
                    other => other,
                });
            }
            other => out.push(other),
        }
    }
    None
}

/// The clean/process filter drivers the repository's configuration defines (reading
/// configuration runs nothing).
fn filter_drivers(root: &Path) -> Vec<String> {
    let Ok(out) = git_bytes(
        root,
        &[
            "config",
            "-z",
            "--get-regexp",
            r"^filter\..*\.(clean|process)$",
        ],
    ) else {
        return Vec::new();
    };
    let mut drivers: Vec<String> = out
        .split(|&b| b == 0)
        .filter_map(|entry| {
            let key = entry.split(|&b| b == b'\n').next()?;
            let key = std::str::from_utf8(key).ok()?;
            let (driver, _) = key.strip_prefix("filter.")?.rsplit_once('.')?;
            Some(driver.to_string())
        })
        .collect();
    drivers.sort();
    drivers.dedup();
    drivers
}

fn git(dir: &Path, args: &[&str]) -> Result<String, DiffError> {
    git_bytes(dir, args).map(|out| String::from_utf8_lossy(&out).into_owned())
}

/// Run git in `dir` with the repository's commands off and its output as svc parses it.
fn git_bytes(dir: &Path, args: &[&str]) -> Result<Vec<u8>, DiffError> {
    let out = Command::new("git")
        .args([
            "--no-pager",
            "-c",
            "core.fsmonitor=false",
            "-c",
            "core.quotePath=false",
            "-c",
            "diff.external=",
            "-c",
            "diff.noprefix=false",
            "-c",
            "diff.mnemonicPrefix=false",
            "-c",
            "diff.relative=false",
        ])
        .args(args)
        .current_dir(dir)
        // A partial clone would fetch missing objects from its remote.
        .env("GIT_NO_LAZY_FETCH", "1")
        .env_remove("GIT_EXTERNAL_DIFF")
        .output()
        .map_err(|source| DiffError::Spawn {
            dir: dir.to_path_buf(),
            source,
        })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(DiffError::Git {
            args: args.join(" "),
            // The first line: git's usage text would follow it.
            stderr: stderr.lines().next().unwrap_or_default().trim().to_string(),
        });
    }
    Ok(out.stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIFF: &str = "\
diff --git a/app/main.py b/app/main.py
index 1111111..2222222 100644
--- a/app/main.py
+++ b/app/main.py
@@ -3,0 +4,2 @@ import os
+import httpx
+import time
@@ -10 +12 @@ def f():
-    x = 1
+    x = 2
@@ -20,3 +22,0 @@ def g():
-    a
-    b
-    c
diff --git a/old.py b/old.py
deleted file mode 100644
--- a/old.py
+++ /dev/null
@@ -1,2 +0,0 @@
-a
-b
";

    #[test]
    fn hunks_give_the_added_lines() {
        let changed = ChangedLines::parse(DIFF.as_bytes());
        assert!(changed.touches("app/main.py", 4, 4));
        assert!(changed.touches("app/main.py", 5, 5));
        assert!(changed.touches("app/main.py", 12, 12));
        // A finding spanning a changed line.
        assert!(changed.touches("app/main.py", 10, 13));
        assert!(!changed.touches("app/main.py", 3, 3));
        assert!(!changed.touches("app/main.py", 6, 11));
        // Pure deletions add nothing.
        assert!(!changed.touches("app/main.py", 22, 22));
        assert!(!changed.touches("old.py", 1, 1));
        assert!(!changed.touches("other.py", 1, 100));
    }

    #[test]
    fn quoted_spaced_and_non_ascii_names() {
        let diff = b"\
diff --git \"a/ta\\tb.py\" \"b/ta\\tb.py\"
--- \"a/ta\\tb.py\"
+++ \"b/ta\\tb.py\"
@@ -1,0 +2 @@ import os
+x
diff --git a/sp ace.py b/sp ace.py
--- a/sp ace.py\t
+++ b/sp ace.py\t
@@ -1,0 +2 @@ import os
+x
diff --git \"a/caf\\303\\251.py\" \"b/caf\\303\\251.py\"
--- \"a/caf\\303\\251.py\"
+++ \"b/caf\\303\\251.py\"
@@ -1,0 +3 @@ import os
+x
diff --git a/na\xc3\xafve.py b/na\xc3\xafve.py
--- a/na\xc3\xafve.py
+++ b/na\xc3\xafve.py
@@ -1,0 +4 @@ import os
++++ b/not-a-header.py
+x
diff --git \"a/q\\\"uote\\\\s.py\" \"b/q\\\"uote\\\\s.py\"
--- \"a/q\\\"uote\\\\s.py\"
+++ \"b/q\\\"uote\\\\s.py\"
@@ -1,0 +5 @@ import os
+x
";
        let changed = ChangedLines::parse(diff);
        assert!(changed.touches("ta\tb.py", 2, 2));
        assert!(changed.touches("sp ace.py", 2, 2));
        assert!(changed.touches("café.py", 3, 3));
        assert!(changed.touches("naïve.py", 4, 4));
        assert!(changed.touches("q\"uote\\s.py", 5, 5));
        // `++ b/not-a-header.py` added inside a hunk is a line, not a file.
        assert!(!changed.touches("not-a-header.py", 1, u32::MAX));
        assert_eq!(changed.files.len(), 5, "{:?}", changed.files);
    }

    #[test]
    fn unquoting() {
        assert_eq!(unquote(b"b/a\\tb\"").unwrap(), b"b/a\tb");
        assert_eq!(unquote(b"\\303\\251\"").unwrap(), "é".as_bytes());
        assert_eq!(unquote(b"unterminated"), None);
        assert_eq!(unquote(b"\\9\""), Some(b"9".to_vec()));
        assert_eq!(unquote(b"\\47\""), None);
    }
}
