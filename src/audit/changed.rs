//! `--diff REF`: the lines changed since a git revision, to report only findings on them.

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
    #[error("`git {args}` failed: {stderr}")]
    #[diagnostic(
        code(svc::diff),
        help("--diff takes a revision git knows: a branch, tag or commit (fetch it first in CI)")
    )]
    Git { args: String, stderr: String },
}

/// Lines added or changed, per path relative to the audited root, as inclusive ranges.
#[derive(Debug, Default)]
pub struct ChangedLines {
    files: HashMap<String, Vec<(u32, u32)>>,
}

impl ChangedLines {
    /// Changes between `rev` and the working tree under `root`, untracked files included
    /// (every line of a new file is changed).
    pub fn since(root: &Path, rev: &str) -> Result<ChangedLines, DiffError> {
        let diff = git(
            root,
            &[
                "diff",
                "--relative",
                "--no-color",
                "--no-ext-diff",
                "-U0",
                rev,
                "--",
            ],
        )?;
        let mut changed = ChangedLines::parse(&diff);
        for path in git(root, &["ls-files", "--others", "--exclude-standard"])?.lines() {
            changed.files.insert(path.to_string(), vec![(1, u32::MAX)]);
        }
        Ok(changed)
    }

    /// Read `git diff -U0` output: the `+++ b/PATH` headers and `@@ -a,b +c,d @@` hunks.
    pub fn parse(diff: &str) -> ChangedLines {
        let mut files: HashMap<String, Vec<(u32, u32)>> = HashMap::new();
        let mut current: Option<String> = None;
        for line in diff.lines() {
            if let Some(target) = line.strip_prefix("+++ ") {
                current = target.strip_prefix("b/").map(str::to_string);
            } else if let (Some(hunk), Some(path)) = (line.strip_prefix("@@ "), &current) {
                let Some(new) = hunk.split(' ').find_map(|p| p.strip_prefix('+')) else {
                    continue;
                };
                let (start, count) = match new.split_once(',') {
                    Some((s, c)) => (s.parse().unwrap_or(0), c.parse().unwrap_or(0)),
                    None => (new.parse().unwrap_or(0), 1),
                };
                if count > 0 {
                    let end = start + count - 1;
                    files.entry(path.clone()).or_default().push((start, end));
                }
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

fn git(dir: &Path, args: &[&str]) -> Result<String, DiffError> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|source| DiffError::Spawn {
            dir: dir.to_path_buf(),
            source,
        })?;
    if !out.status.success() {
        return Err(DiffError::Git {
            args: args.join(" "),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
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
        let changed = ChangedLines::parse(DIFF);
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
}
