//! Nothing a user types loses data: `svc new --force` writes the files it renders and nothing
//! else, refuses directories no project belongs in and links out of the target, and `svc init`
//! edits a user's files without corrupting, rewriting or escaping them.
//!
//! The cases come from the hostile-input review (items #2, #14, #15, #29, #30, #31) and a first
//! hour with svc as a new user.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::ci::{copy_dir, copy_tree, fixture as ci_fixture, run_in};
use crate::new::{Output, Sandbox, assert_usage_error, entries, flat, write_template};

// Helpers -------------------------------------------------------------------------------------

/// What a directory holds, recursively: every file's bytes, every link's target.
#[derive(Debug, PartialEq, Eq)]
enum Entry {
    Dir,
    File(Vec<u8>),
    Link(PathBuf),
}

fn tree_of(root: &Path) -> BTreeMap<String, Entry> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Entry>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            let meta = fs::symlink_metadata(&path).unwrap();
            if meta.is_symlink() {
                out.insert(rel, Entry::Link(fs::read_link(&path).unwrap()));
            } else if meta.is_dir() {
                out.insert(rel, Entry::Dir);
                walk(root, &path, out);
            } else {
                out.insert(rel, Entry::File(fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// A directory a user cares about: a git repository with notes and code of their own.
fn users_directory(dir: &Path) {
    write_template(
        dir,
        &[
            (".git/HEAD", "ref: refs/heads/main\n"),
            (".git/config", "[core]\n\trepositoryformatversion = 0\n"),
            (".git/objects/ab/cdef", "\x00binary object"),
            ("notes.txt", "my notes\n"),
            ("sub/keep.py", "print('mine')\n"),
        ],
    );
}

fn run_with(sandbox: &Sandbox, env: &[(&str, &Path)], args: &[&str]) -> Output {
    let mut cmd = sandbox.svc();
    for (key, value) in env {
        cmd.env(key, value);
    }
    let out = cmd.args(args).output().unwrap();
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// `svc new orders-api` from the `_test` fixture into `dir`, with `--yes --force`.
fn force_into(sandbox: &Sandbox, dir: &Path) -> Output {
    sandbox.new_from_fixture(&[
        "orders-api",
        "--yes",
        "--force",
        "--output",
        dir.to_str().unwrap(),
    ])
}

/// Temporary files and directories svc names `.svc-…`, anywhere under `dir`.
fn leftovers(dir: &Path) -> Vec<String> {
    tree_of(dir)
        .into_keys()
        .filter(|rel| {
            Path::new(rel)
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(".svc-"))
        })
        .collect()
}

// svc new --force: writes what it renders, deletes nothing -------------------------------------

#[test]
fn force_into_a_git_repository_writes_the_rendered_files_and_keeps_the_rest() {
    let sandbox = Sandbox::new();
    let dir = sandbox.path("repo");
    users_directory(&dir);
    // One of the project's own files, with the user's content.
    fs::write(dir.join("README.md"), "my readme\n").unwrap();
    let before = tree_of(&dir);

    let out = force_into(&sandbox, &dir);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let after = tree_of(&dir);
    for (rel, entry) in &before {
        if rel != "README.md" {
            assert_eq!(after.get(rel), Some(entry), "{rel} changed");
        }
    }
    assert!(dir.join("orders_api/__init__.py").is_file());
    assert_ne!(fs::read(dir.join("README.md")).unwrap(), b"my readme\n");
    // The overwritten file is named, and only it.
    let stderr = flat(&out.stderr);
    assert!(
        stderr.contains("overwrote 1 existing file in") && stderr.contains("README.md"),
        "{}",
        out.stderr
    );
    assert!(!stderr.contains("pyproject.toml"), "{}", out.stderr);
    assert!(leftovers(sandbox.dir.path()).is_empty());

    // Again: every file is already what the template renders, so nothing is overwritten.
    let out = force_into(&sandbox, &dir);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stderr.contains("overwrote"), "{}", out.stderr);
    assert_eq!(tree_of(&dir), after);
}

#[test]
fn dry_run_with_force_names_the_files_it_would_overwrite() {
    let sandbox = Sandbox::new();
    let dir = sandbox.path("repo");
    users_directory(&dir);
    fs::write(dir.join("README.md"), "my readme\n").unwrap();
    let before = tree_of(&dir);
    let out =
        sandbox.new_from_fixture(&["orders-api", "--yes", "--force", "--dry-run", "-o", "repo"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        flat(&out.stderr).contains(
            "dry run: 8 files would be written to repo, overwriting 1 existing file: README.md; \
             nothing was written"
        ),
        "{}",
        out.stderr
    );
    assert_eq!(tree_of(&dir), before);
}

#[test]
fn force_refuses_the_home_directory_and_the_directories_above_it() {
    let sandbox = Sandbox::new();
    let home = sandbox.path("users/alice");
    users_directory(&home);
    let before = tree_of(sandbox.dir.path());
    // Not the real home: the child's HOME points into the sandbox.
    for (target, message) in [
        (home.clone(), "is your home directory or contains it"),
        (
            sandbox.path("users"),
            "is your home directory or contains it",
        ),
        // As the user typed it, with `..` and a trailing slash.
        (
            sandbox.path("users/alice/sub/../"),
            "is your home directory or contains it",
        ),
    ] {
        let out = run_with(
            &sandbox,
            &[("HOME", &home)],
            &[
                "new",
                "orders-api",
                "--variant",
                "_test",
                "--yes",
                "--force",
                "-o",
                target.to_str().unwrap(),
            ],
        );
        assert_usage_error(&out, message);
        assert_eq!(tree_of(sandbox.dir.path()), before, "{}", target.display());
    }
}

#[test]
fn force_refuses_the_current_directory_its_parents_and_a_filesystem_root() {
    let sandbox = Sandbox::new();
    let cwd = sandbox.path("work/project");
    users_directory(&cwd);
    let before = tree_of(sandbox.dir.path());
    let absolute_parent = sandbox.path("work");
    for target in [".", "..", absolute_parent.to_str().unwrap()] {
        let mut cmd = sandbox.svc();
        cmd.current_dir(&cwd).args([
            "new",
            "orders-api",
            "--variant",
            "_test",
            "--yes",
            "--force",
            "-o",
            target,
        ]);
        let out = cmd.output().unwrap();
        let out = Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
        };
        assert_usage_error(&out, "is the current directory or contains it");
        assert_eq!(tree_of(sandbox.dir.path()), before, "{target}");
    }
    let root = if cfg!(windows) { "C:\\" } else { "/" };
    let out = sandbox.run(&[
        "new",
        "orders-api",
        "--variant",
        "_test",
        "--yes",
        "--force",
        "-o",
        root,
    ]);
    assert_usage_error(
        &out,
        "is the root of a filesystem; svc new does not write there",
    );
}

#[cfg(unix)]
#[test]
fn force_never_writes_through_a_link() {
    use std::os::unix::fs::symlink;
    let sandbox = Sandbox::new();
    let victim = sandbox.path("victim");
    write_template(
        &victim,
        &[
            ("precious.txt", "do not touch\n"),
            ("victim.toml", "x = 1\n"),
        ],
    );

    // A directory the project writes into, a file it would replace, one in a subdirectory.
    let cases = [
        ("orders_api", victim.clone()),
        ("pyproject.toml", victim.join("victim.toml")),
        ("deploy/orders-api.yaml", victim.join("precious.txt")),
    ];
    for (i, (what, points_to)) in cases.iter().enumerate() {
        let dir = sandbox.path(&format!("target{i}"));
        users_directory(&dir);
        let link = dir.join(what);
        fs::create_dir_all(link.parent().unwrap()).unwrap();
        symlink(points_to, &link).unwrap();
        let before = tree_of(sandbox.dir.path());
        let out = force_into(&sandbox, &dir);
        assert_usage_error(
            &out,
            "is a symbolic link; svc new does not write through links",
        );
        assert!(out.stderr.contains(what), "{}", out.stderr);
        assert_eq!(
            tree_of(sandbox.dir.path()),
            before,
            "{what}: something was written"
        );
    }

    // The target itself, however it is spelt.
    let link = sandbox.path("linked");
    symlink(&victim, &link).unwrap();
    let before = tree_of(sandbox.dir.path());
    for spelt in ["linked", "linked/", "linked/."] {
        let out = sandbox.new_from_fixture(&["orders-api", "--yes", "--force", "-o", spelt]);
        assert_usage_error(
            &out,
            "is a symbolic link; svc new does not write through links",
        );
        assert_eq!(tree_of(sandbox.dir.path()), before, "{spelt}");
    }
}

/// A template that renders a 1 MiB file, and a runner under a 64 KiB file size limit, so
/// that writing it fails (EFBIG) as a full disk would.
#[cfg(unix)]
fn failing_write(sandbox: &Sandbox, output: &str, force: bool) -> Output {
    let template = sandbox.path("tpl");
    write_template(
        &template,
        &[
            (
                "template.toml",
                "[template]\nname = \"big\"\nversion = \"1\"\n",
            ),
            ("README.md.tera", "# {{ name }}\n"),
            ("app/main.py", "app = 1\n"),
        ],
    );
    fs::write(template.join("big.bin"), vec![b'x'; 1 << 20]).unwrap();
    let mut cmd = std::process::Command::new("sh");
    cmd.current_dir(sandbox.dir.path())
        .args(["-c", r#"trap "" XFSZ; ulimit -f 128; exec "$0" "$@""#])
        .arg(env!("CARGO_BIN_EXE_svc"))
        .env("NO_COLOR", "1")
        .args([
            "new",
            "orders-api",
            "--yes",
            "--output",
            output,
            "--template",
        ])
        .arg(&template);
    if force {
        cmd.arg("--force");
    }
    let out = cmd.output().unwrap();
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

#[cfg(unix)]
#[test]
fn a_failed_write_leaves_no_directory_it_created_nor_any_file_it_wrote() {
    let sandbox = Sandbox::new();
    let out = failing_write(&sandbox, "tiny/deep/er/svc", false);
    assert_usage_error(&out, "File too large");
    assert_eq!(
        sandbox.entries(),
        ["tpl"],
        "#31: created parents stay behind"
    );

    // Into a user's directory: their files as they were, no new file or directory, no
    // temporary file.
    let dir = sandbox.path("repo");
    users_directory(&dir);
    fs::write(dir.join("README.md"), "my readme\n").unwrap();
    let before = tree_of(&dir);
    let out = failing_write(&sandbox, "repo", true);
    assert_usage_error(&out, "File too large");
    assert_eq!(tree_of(&dir), before);
}

#[cfg(unix)]
#[test]
fn on_a_terminal_force_asks_before_overwriting_and_waits_for_enter() {
    use rexpect::session::spawn_command;
    let sandbox = Sandbox::new();
    let dir = sandbox.path("repo");
    users_directory(&dir);
    fs::write(dir.join("README.md"), "my readme\n").unwrap();
    let before = tree_of(&dir);

    let session = |sandbox: &Sandbox| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_svc"));
        command
            .current_dir(sandbox.dir.path())
            .env("NO_COLOR", "1")
            .env("TERM", "xterm")
            .env("SOURCE_DATE_EPOCH", crate::new::SOURCE_DATE_EPOCH)
            .args(["new", "orders-api", "--force", "-o", "repo", "--template"])
            .arg(crate::new::fixture())
            .args([
                "--set",
                "python_version=3.12",
                "--set",
                "auth=false",
                "--set",
                "replicas=2",
            ]);
        spawn_command(command, Some(20_000)).unwrap()
    };
    let exited_with = |session: &mut rexpect::session::PtySession, code: i32| {
        session.exp_eof().unwrap();
        let status = session.process().wait().unwrap();
        assert!(
            matches!(status, rexpect::process::WaitStatus::Exited(_, c) if c == code),
            "{status:?}"
        );
    };

    // "no": nothing is written.
    let mut s = session(&sandbox);
    s.exp_string("1 existing file in repo would be overwritten")
        .unwrap();
    s.exp_string("README.md").unwrap();
    s.exp_string("Overwrite them?").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    s.send("y").unwrap();
    s.flush().unwrap();
    // A key alone does not answer: Enter does. Changed our mind: backspace, then "n".
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(tree_of(&dir), before, "answered without Enter");
    s.send("\x7fn\r").unwrap();
    s.flush().unwrap();
    s.exp_string("cancelled; nothing was written").unwrap();
    exited_with(&mut s, 130);
    assert_eq!(tree_of(&dir), before);

    // "yes": the file is overwritten, the rest kept.
    let mut s = session(&sandbox);
    s.exp_string("Overwrite them?").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    s.send("y\r").unwrap();
    s.flush().unwrap();
    s.exp_string("Next steps").unwrap();
    exited_with(&mut s, 0);
    assert_ne!(fs::read(dir.join("README.md")).unwrap(), b"my readme\n");
    assert_eq!(fs::read(dir.join("notes.txt")).unwrap(), b"my notes\n");
}

#[cfg(unix)]
#[test]
fn a_yes_no_question_waits_for_enter() {
    use rexpect::session::spawn_command;
    let sandbox = Sandbox::new();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_svc"));
    command
        .current_dir(sandbox.dir.path())
        .env("NO_COLOR", "1")
        .env("TERM", "xterm")
        .args(["new", "orders-api", "-o", "out", "--template"])
        .arg(crate::new::fixture())
        .args(["--set", "python_version=3.12", "--set", "replicas=2"]);
    let mut s = spawn_command(command, Some(20_000)).unwrap();
    s.exp_string("Protect routes").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    s.send("n").unwrap();
    s.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(sandbox.entries().is_empty(), "a key alone answered");
    s.send("\r").unwrap();
    s.flush().unwrap();
    s.exp_string("Next steps").unwrap();
    s.exp_eof().unwrap();
    let pyproject = fs::read_to_string(sandbox.path("out/pyproject.toml")).unwrap();
    assert!(pyproject.contains("auth = false"), "{pyproject}");
}

// svc new: first-hour fixes --------------------------------------------------------------------

#[test]
fn test_is_a_fine_name_when_the_package_is_app_and_refused_where_it_is_the_package() {
    let sandbox = Sandbox::new();
    let out = sandbox.run(&[
        "new",
        "test",
        "--variant",
        "container",
        "--yes",
        "--dry-run",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with("test/\n"), "{}", out.stdout);
    assert!(out.stdout.contains("app/"), "{}", out.stdout);
    // The fixture's package is named after the service: there `test` would shadow the
    // standard library's.
    let out = sandbox.new_from_fixture(&["test", "--yes", "--dry-run"]);
    assert_usage_error(
        &out,
        r#"the service name "test" is reserved: the package would shadow a module of the Python standard library"#,
    );
}

#[test]
fn the_default_variant_is_named_in_help_and_list() {
    let sandbox = Sandbox::new();
    let help = sandbox.run(&["new", "--help"]);
    assert_eq!(help.code, 0);
    assert!(
        flat(&help.stdout).contains("otherwise the default is container"),
        "{}",
        help.stdout
    );
    let list = sandbox.run(&["new", "--list"]);
    assert_eq!(list.code, 0);
    let marked: Vec<&str> = list
        .stdout
        .lines()
        .filter(|l| l.contains(", the default)"))
        .collect();
    assert_eq!(marked.len(), 1, "{}", list.stdout);
    assert!(
        marked[0].starts_with("container (version "),
        "{}",
        list.stdout
    );
    // A template directory has no default to mark.
    let list = sandbox.run(&[
        "new",
        "--list",
        "--template",
        crate::new::fixture().to_str().unwrap(),
    ]);
    assert!(!list.stdout.contains("the default)"), "{}", list.stdout);
}

#[test]
fn help_says_what_isolated_and_force_do() {
    let sandbox = Sandbox::new();
    let audit = flat(&sandbox.run(&["audit", "--help"]).stdout);
    assert!(
        audit.contains(
            "--isolated Ignore every configuration file (svc.toml, pyproject.toml [tool.svc] and \
             --config): run with the built-in defaults and the flags on this command line only"
        ),
        "{audit}"
    );
    let new = flat(&sandbox.run(&["new", "--help"]).stdout);
    assert!(new.contains("every other file is kept"), "{new}");
}

#[test]
fn counts_of_one_are_singular() {
    let sandbox = Sandbox::new();
    let template = sandbox.path("tpl");
    write_template(
        &template,
        &[(
            "template.toml",
            "[template]\nname = \"t\"\nversion = \"1\"\n",
        )],
    );
    let out = sandbox.run(&[
        "new",
        "orders-api",
        "--yes",
        "--dry-run",
        "--template",
        template.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("dry run: 1 file would be written to orders-api"),
        "{}",
        out.stderr
    );

    let repo = sandbox.path("svc");
    write_template(
        &repo,
        &[
            (
                "pyproject.toml",
                "[project]\nname = \"svc-one\"\ndependencies = [\"fastapi\"]\n",
            ),
            (
                "main.py",
                "from fastapi import FastAPI\n\napp = FastAPI()\nprint(\"x\")\n",
            ),
        ],
    );
    let (_, stdout, stderr) = run_in(&repo, &["audit", "--select", "print-call", "."]);
    assert!(
        stdout
            .contains("Found 1 finding (0 errors, 1 warning, 0 info) in 2 files across 1 service."),
        "{stdout}{stderr}"
    );
}

// svc init: edits that keep the user's file ------------------------------------------------------

/// A YAML document as values, parsed with the YAML crate svc uses (saphyr), independently of
/// svc's own code.
#[derive(Debug, Clone, PartialEq)]
enum Yaml {
    Scalar(String),
    Seq(Vec<Yaml>),
    Map(Vec<(String, Yaml)>),
    Alias,
}

impl Yaml {
    fn get(&self, key: &str) -> Option<&Yaml> {
        match self {
            Yaml::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn items(&self) -> &[Yaml] {
        match self {
            Yaml::Seq(items) => items,
            _ => &[],
        }
    }

    fn str(&self) -> Option<&str> {
        match self {
            Yaml::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// Every hook id, repository by repository.
    fn hook_ids(&self) -> Vec<String> {
        self.get("repos")
            .map_or(&[][..], Yaml::items)
            .iter()
            .flat_map(|repo| repo.get("hooks").map_or(&[][..], Yaml::items))
            .filter_map(|hook| hook.get("id").and_then(Yaml::str).map(str::to_owned))
            .collect()
    }
}

fn parse_yaml(text: &str) -> Vec<Yaml> {
    use saphyr_parser::{Event, Parser};
    enum Frame {
        Seq(Vec<Yaml>),
        Map(Vec<(String, Yaml)>, Option<String>),
    }
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    for event in Parser::new_from_str(text) {
        let (event, _) = event.unwrap_or_else(|e| panic!("invalid YAML: {e:?}\n{text}"));
        let node = match event {
            Event::Scalar(value, ..) => Yaml::Scalar(value.into_owned()),
            Event::Alias(_) => Yaml::Alias,
            Event::SequenceStart(..) => {
                stack.push(Frame::Seq(Vec::new()));
                continue;
            }
            Event::MappingStart(..) => {
                stack.push(Frame::Map(Vec::new(), None));
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop().unwrap() {
                Frame::Seq(items) => Yaml::Seq(items),
                Frame::Map(entries, _) => Yaml::Map(entries),
            },
            _ => continue,
        };
        match stack.last_mut() {
            None => docs.push(node),
            Some(Frame::Seq(items)) => items.push(node),
            Some(Frame::Map(entries, key)) => match key.take() {
                None => *key = Some(node.str().unwrap_or("?").to_owned()),
                Some(k) => entries.push((k, node)),
            },
        }
    }
    docs
}

/// The one document of a file.
fn document(text: &str) -> Yaml {
    let mut docs = parse_yaml(text);
    assert_eq!(docs.len(), 1, "{text}");
    docs.remove(0)
}

/// A small repository with a pyproject.toml and the given pre-commit configuration.
fn repository(pre_commit: Option<&str>) -> tempfile::TempDir {
    let repo = tempfile::tempdir().unwrap();
    fs::write(
        repo.path().join("pyproject.toml"),
        "[project]\nname = \"x\"\n",
    )
    .unwrap();
    if let Some(text) = pre_commit {
        fs::write(repo.path().join(".pre-commit-config.yaml"), text).unwrap();
    }
    repo
}

/// Whether `after` is `before` with one run of bytes inserted.
fn one_insertion(before: &str, after: &str) -> bool {
    let prefix = before
        .bytes()
        .zip(after.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    let suffix = before[prefix..]
        .bytes()
        .rev()
        .zip(after.bytes().rev())
        .take_while(|(a, b)| a == b)
        .count();
    prefix + suffix >= before.len() && after.len() > before.len()
}

const SAMPLE_CONFIG: &str = "\
# See https://pre-commit.com for more information
# See https://pre-commit.com/hooks.html for more hooks
repos:
-   repo: https://github.com/pre-commit/pre-commit-hooks
    rev: v3.2.0
    hooks:
    -   id: trailing-whitespace
    -   id: end-of-file-fixer
    -   id: check-yaml
    -   id: check-added-large-files
";

#[test]
fn init_adds_the_hook_to_every_layout_of_the_review_and_keeps_the_users_hooks() {
    // (layout, file, the user's hook ids, other top-level keys that must survive)
    let layouts: &[(&str, &str, &[&str], &[&str])] = &[
        (
            "`-   repo:` (pre-commit sample-config)",
            SAMPLE_CONFIG,
            &[
                "trailing-whitespace",
                "end-of-file-fixer",
                "check-yaml",
                "check-added-large-files",
            ],
            &[],
        ),
        ("`repos: []`", "repos: []\n", &[], &[]),
        (
            "`repos: [ ]` with a comment",
            "repos: [ ]  # none yet\nfail_fast: true\n",
            &[],
            &["fail_fast"],
        ),
        (
            "`ci:` after `repos:` (pre-commit.ci)",
            "repos:\n- repo: https://github.com/astral-sh/ruff-pre-commit\n  rev: v0.4.0\n  hooks:\n  - id: ruff\nci:\n  autofix_prs: true\n  skip: [ruff]\n",
            &["ruff"],
            &["ci"],
        ),
        (
            "`exclude:` and `fail_fast:` after `repos:`",
            "repos:\n  - repo: https://x.invalid/a\n    rev: v1\n    hooks:\n      - id: a\nexclude: ^vendor/\nfail_fast: true\n",
            &["a"],
            &["exclude", "fail_fast"],
        ),
        (
            "`---` and `...` document markers",
            "---\nrepos:\n  - repo: https://x.invalid/a\n    rev: v1\n    hooks:\n      - id: a\n...\n",
            &["a"],
            &[],
        ),
        (
            "quoted `\"repos\":` key",
            "\"repos\":\n  - \"repo\": https://x.invalid/a\n    \"rev\": v1\n    \"hooks\":\n      - \"id\": a\n",
            &["a"],
            &[],
        ),
        (
            "UTF-8 BOM before `repos:`",
            "\u{feff}repos:\n- repo: https://x.invalid/a\n  rev: v1\n  hooks:\n  - id: a\n",
            &["a"],
            &[],
        ),
        (
            "4-space indent",
            "repos:\n    -   repo: https://x.invalid/a\n        rev: v1\n        hooks:\n            -   id: a\n",
            &["a"],
            &[],
        ),
        (
            "CRLF line endings",
            "repos:\r\n  - repo: https://x.invalid/a\r\n    rev: v1\r\n    hooks:\r\n      - id: a\r\n",
            &["a"],
            &[],
        ),
        (
            "flow hooks",
            "repos:\n- repo: https://x.invalid/a\n  rev: v1\n  hooks: [{id: a}, {id: b}]\n",
            &["a", "b"],
            &[],
        ),
        (
            "anchors and merge keys",
            "x-common: &common\n  language: system\nrepos:\n- repo: local\n  hooks:\n  - <<: *common\n    id: a\n    name: a\n    entry: a\n",
            &["a"],
            &["x-common"],
        ),
        (
            "a block scalar last",
            "repos:\n- repo: local\n  hooks:\n  - id: a\n    name: a\n    language: system\n    entry: >-\n      echo a\n\n",
            &["a"],
            &[],
        ),
        (
            "no final newline",
            "repos:\n- repo: https://x.invalid/a\n  rev: v1\n  hooks:\n  - id: a",
            &["a"],
            &[],
        ),
        (
            "a flow document",
            "{repos: [{repo: https://x.invalid/a, rev: v1, hooks: [{id: a}]}]}\n",
            &["a"],
            &[],
        ),
        (
            "`repos:` with nothing",
            "default_stages: [pre-commit]\nrepos:\n",
            &[],
            &["default_stages"],
        ),
        (
            "no `repos` key",
            "default_stages: [pre-commit]\n",
            &[],
            &["default_stages"],
        ),
        ("comments only", "# hooks will go here\n", &[], &[]),
        ("empty", "", &[], &[]),
    ];
    for (layout, text, users, keys) in layouts {
        let repo = repository(Some(text));
        let dir = repo.path();
        let before = document_or_empty(text);
        let (code, stdout, stderr) = run_in(dir, &["init"]);
        assert_eq!(code, 0, "{layout}: {stderr}");
        assert!(stdout.contains("pre-commit install"), "{layout}: {stdout}");
        let after = fs::read_to_string(dir.join(".pre-commit-config.yaml")).unwrap();

        let doc = document(&after);
        let mut expected: Vec<String> = users.iter().map(|s| (*s).to_owned()).collect();
        expected.push("svc-audit".into());
        assert_eq!(doc.hook_ids(), expected, "{layout}:\n{after}");
        let svc_repo = doc.get("repos").unwrap().items().last().unwrap();
        assert_eq!(
            svc_repo.get("repo").and_then(Yaml::str),
            Some("local"),
            "{layout}"
        );
        let hook = &svc_repo.get("hooks").unwrap().items()[0];
        assert_eq!(
            hook.get("entry").and_then(Yaml::str),
            Some("svc audit"),
            "{layout}"
        );
        for key in *keys {
            assert_eq!(
                doc.get(key),
                before.get(key),
                "{layout}: `{key}` changed:\n{after}"
            );
        }
        // The user's repositories are exactly as they were.
        let old_repos = before.get("repos").map_or(&[][..], Yaml::items);
        assert_eq!(
            &doc.get("repos").unwrap().items()[..old_repos.len()],
            old_repos,
            "{layout}"
        );

        // Their bytes are untouched: the hook is one insertion (`[]` has to go, though).
        if !text.contains("[]") && !text.contains("[ ]") {
            assert!(one_insertion(text, &after), "{layout}:\n{after}");
        }
        if text.contains("\r\n") {
            assert!(
                !after.replace("\r\n", "").contains('\n'),
                "{layout}: {after:?}"
            );
        }
        if text.starts_with('\u{feff}') {
            assert!(after.starts_with('\u{feff}'), "{layout}");
            assert_eq!(
                after.matches("repos").count(),
                1,
                "{layout}: a second `repos`"
            );
        }

        let (code, stdout, _) = run_in(dir, &["init"]);
        assert_eq!(code, 0, "{layout}");
        assert!(stdout.contains("nothing to change"), "{layout}: {stdout}");
    }
}

fn document_or_empty(text: &str) -> Yaml {
    parse_yaml(text)
        .into_iter()
        .next()
        .unwrap_or(Yaml::Map(Vec::new()))
}

#[test]
fn init_refuses_a_file_it_cannot_edit_and_writes_nothing() {
    for (text, reason) in [
        ("a: 1\n---\nb: 2\n", "more than one YAML document"),
        ("- repo: x\n", "its top level is not a mapping"),
        ("repos: [x\n", "it is not valid YAML"),
        ("repos: {a: 1}\n", "its `repos` is not a list"),
    ] {
        let repo = repository(Some(text));
        let (code, stdout, stderr) = run_in(repo.path(), &["init"]);
        assert_eq!(code, 2, "{text}: {stdout}");
        let stderr = flat(&stderr);
        assert!(stderr.contains("cannot add the svc hook to"), "{stderr}");
        assert!(stderr.contains(reason), "{text}: {stderr}");
        assert!(
            stderr.contains("- repo: local"),
            "the lines to add by hand: {stderr}"
        );
        assert_eq!(
            fs::read_to_string(repo.path().join(".pre-commit-config.yaml")).unwrap(),
            text
        );
        assert_eq!(
            fs::read_to_string(repo.path().join("pyproject.toml")).unwrap(),
            "[project]\nname = \"x\"\n",
            "all or nothing"
        );
    }
}

#[test]
fn init_keeps_crlf_a_bom_and_whitespace_in_pyproject() {
    for text in [
        "[project]\r\nname = \"x\"\r\n[tool.black]\r\nline-length = 88\r\n",
        "\u{feff}[project]\nname = \"x\"\n",
        "\u{feff}[project]\r\nname = \"x\"",
        "  \n\n\t\n",
    ] {
        let repo = repository(None);
        fs::write(repo.path().join("pyproject.toml"), text).unwrap();
        let (code, _, stderr) = run_in(repo.path(), &["init"]);
        assert_eq!(code, 0, "{stderr}");
        let after = fs::read_to_string(repo.path().join("pyproject.toml")).unwrap();
        assert!(after.starts_with(text), "{text:?} became {after:?}");
        assert!(after.contains("[tool.svc]"), "{after:?}");
        if text.contains("\r\n") {
            assert!(!after.replace("\r\n", "").contains('\n'), "{after:?}");
        }
        let toml: toml_edit::DocumentMut = after.trim_start_matches('\u{feff}').parse().unwrap();
        assert_eq!(toml["tool"]["svc"]["fail-on"].as_str(), Some("warning"));
    }
}

#[test]
fn init_quotes_the_baseline_path_in_yaml() {
    let repo = copy_tree(&ci_fixture());
    let dir = repo.path();
    let odd = "base, line]: #x.json";
    let (code, stdout, stderr) = run_in(dir, &["init", "--baseline", odd]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("baseline of"), "{stdout}");
    assert!(dir.join(odd).is_file());
    let doc = document(&fs::read_to_string(dir.join(".pre-commit-config.yaml")).unwrap());
    let hook = &doc.get("repos").unwrap().items()[0]
        .get("hooks")
        .unwrap()
        .items()[0];
    assert_eq!(
        hook.get("args"),
        Some(&Yaml::Seq(vec![
            Yaml::Scalar("--baseline".into()),
            Yaml::Scalar(odd.into())
        ]))
    );
    // The hook's command passes with that baseline.
    let (code, _, stderr) = run_in(dir, &["audit", "--baseline", odd, "."]);
    assert_eq!(code, 0, "{stderr}");
}

#[cfg(unix)]
#[test]
fn init_refuses_links_out_of_the_repository() {
    use std::os::unix::fs::symlink;
    let sandbox = tempfile::tempdir().unwrap();
    let victim = sandbox.path().join("victim");
    write_template(
        &victim,
        &[
            (".bashrc", "export PATH=$PATH\n"),
            ("other.toml", "[project]\nname=\"x\"\n"),
        ],
    );
    let cases: [(&str, &str, &[&str], &str); 3] = [
        (
            ".pre-commit-config.yaml",
            "../victim/.bashrc",
            &["init"],
            "outside the repository",
        ),
        (
            "pyproject.toml",
            "../victim/other.toml",
            &["init"],
            "outside the repository",
        ),
        (
            "svc-baseline.json",
            "../victim/created.json",
            &["init", "--baseline", "svc-baseline.json"],
            "which does not exist",
        ),
    ];
    for (i, (name, points_to, args, message)) in cases.iter().enumerate() {
        let repo = sandbox.path().join(format!("repo{i}"));
        copy_dir(&ci_fixture(), &repo);
        if *name == "pyproject.toml" {
            fs::remove_file(repo.join(name)).unwrap();
        }
        symlink(points_to, repo.join(name)).unwrap();
        let before = tree_of(sandbox.path());
        let (code, _, stderr) = run_in(&repo, args);
        assert_eq!(code, 2, "{name}: {stderr}");
        let stderr = flat(&stderr);
        assert!(
            stderr.contains(&format!("{name} is a symbolic link")),
            "{stderr}"
        );
        assert!(stderr.contains(message), "{stderr}");
        assert_eq!(
            tree_of(sandbox.path()),
            before,
            "{name}: something was written"
        );
    }

    // A link that stays inside the repository is followed, and stays a link.
    let repo = sandbox.path().join("inside");
    copy_dir(&ci_fixture(), &repo);
    fs::create_dir(repo.join("config")).unwrap();
    fs::write(
        repo.join("config/pre-commit.yaml"),
        "repos:\n- repo: local\n  hooks:\n  - id: a\n",
    )
    .unwrap();
    symlink(
        "config/pre-commit.yaml",
        repo.join(".pre-commit-config.yaml"),
    )
    .unwrap();
    let (code, _, stderr) = run_in(&repo, &["init"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        fs::symlink_metadata(repo.join(".pre-commit-config.yaml"))
            .unwrap()
            .is_symlink()
    );
    let doc = document(&fs::read_to_string(repo.join("config/pre-commit.yaml")).unwrap());
    assert_eq!(doc.hook_ids(), ["a", "svc-audit"]);
    assert_eq!(
        entries(&repo.join("config")),
        ["pre-commit.yaml"],
        "no temporary file left"
    );
}

/// `svc audit -o FILE` and `--write-baseline FILE` write where `svc init` does: through a link
/// only into the repository, atomically, and into a device in place (#15).
#[cfg(unix)]
#[test]
fn audit_outputs_follow_links_only_into_the_repository() {
    use std::os::unix::fs::symlink;
    let sandbox = tempfile::tempdir().unwrap();
    let victim = sandbox.path().join("victim");
    write_template(&victim, &[(".bashrc", "export PATH=$PATH\n")]);
    let cases: [(&str, &[&str], &str); 4] = [
        (
            "../victim/.bashrc",
            &["audit", "-o", "out"],
            "outside the audited repository",
        ),
        (
            "../victim/.bashrc",
            &["audit", "--write-baseline", "out"],
            "outside the audited repository",
        ),
        (
            "../victim/created.json",
            &["audit", "-o", "out"],
            "which does not exist",
        ),
        (
            "../victim/created.json",
            &["audit", "--write-baseline", "out"],
            "which does not exist",
        ),
    ];
    for (i, (points_to, args, message)) in cases.iter().enumerate() {
        let repo = sandbox.path().join(format!("repo{i}"));
        copy_dir(&ci_fixture(), &repo);
        symlink(points_to, repo.join("out")).unwrap();
        let before = tree_of(sandbox.path());
        let (code, _, stderr) = run_in(&repo, args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        let stderr = flat(&stderr);
        assert!(stderr.contains("out is a symbolic link"), "{stderr}");
        assert!(stderr.contains(message), "{stderr}");
        assert_eq!(
            tree_of(sandbox.path()),
            before,
            "{args:?}: something was written"
        );
    }

    // A directory link on the way out of the repository (`reports -> ../victim`): refused too.
    let repo = sandbox.path().join("through");
    copy_dir(&ci_fixture(), &repo);
    symlink("../victim", repo.join("reports")).unwrap();
    for args in [
        &["audit", "-o", "reports/out.json"][..],
        &["audit", "--write-baseline", "reports/baseline.json"],
    ] {
        let before = tree_of(sandbox.path());
        let (code, _, stderr) = run_in(&repo, args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        let stderr = flat(&stderr);
        assert!(stderr.contains("reports is a symbolic link"), "{stderr}");
        assert!(
            stderr.contains("outside the audited repository"),
            "{stderr}"
        );
        assert_eq!(
            tree_of(sandbox.path()),
            before,
            "{args:?}: something was written"
        );
    }

    // Inside the repository the link is followed and stays; the file is replaced whole.
    let repo = sandbox.path().join("inside");
    copy_dir(&ci_fixture(), &repo);
    fs::create_dir(repo.join("reports")).unwrap();
    fs::write(repo.join("reports/latest.json"), "old").unwrap();
    symlink("reports/latest.json", repo.join("out")).unwrap();
    for args in [
        &["audit", "--format", "json", "-o", "out"][..],
        &["audit", "--write-baseline", "out"],
    ] {
        let (code, _, stderr) = run_in(&repo, args);
        assert!(code < 2, "{args:?}: {stderr}");
        assert!(fs::symlink_metadata(repo.join("out")).unwrap().is_symlink());
        let written = fs::read_to_string(repo.join("reports/latest.json")).unwrap();
        serde_json::from_str::<serde_json::Value>(&written).expect("a whole JSON file");
        assert_eq!(
            entries(&repo.join("reports")),
            ["latest.json"],
            "no temporary file left"
        );
    }

    // A device is written into, never renamed over.
    let (code, stdout, stderr) = run_in(&repo, &["audit", "-o", "/dev/null"]);
    assert!(code < 2, "{stderr}");
    assert_eq!(stdout, "", "the report went to the device");
    use std::os::unix::fs::FileTypeExt;
    assert!(
        fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device()
    );
}

#[cfg(unix)]
#[test]
fn init_is_all_or_nothing() {
    use crate::fault::{self, Locked};
    // Run as `nobody` under root, so that the read-only directory stops it.
    let sandbox = fault::open_tempdir();
    let repo = sandbox.path().join("repo");
    copy_dir(&ci_fixture(), &repo);
    fault::chmod(&repo, 0o777);
    // Files it may write in place too: only the order of the writes can keep it whole.
    for name in ["pyproject.toml", "Dockerfile"] {
        fault::chmod(&repo.join(name), 0o666);
    }
    fs::create_dir(repo.join("ro")).unwrap();
    let before = tree_of(&repo);
    let _locked = Locked::new(&repo.join("ro"), 0o555);

    let mut cmd = fault::svc_unprivileged(sandbox.path());
    cmd.current_dir(&repo)
        .args(["init", "--baseline", "ro/svc-baseline.json"]);
    let run = fault::run_bounded(&mut cmd, std::time::Duration::from_secs(60));
    assert_eq!(run.code(), 2, "{}", run.stderr);
    // pyproject.toml and the pre-commit configuration were ready first, and are unchanged.
    assert_eq!(tree_of(&repo), before, "{}", run.stderr);
    assert!(
        flat(&run.stderr).contains("cannot write ro/svc-baseline.json"),
        "{}",
        run.stderr
    );
}
