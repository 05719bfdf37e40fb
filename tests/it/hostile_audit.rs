//! Hostile input against `svc audit`: inputs sized to take minutes (or all memory) when a
//! phase is quadratic or unbounded, each run under a time limit a debug build on a busy
//! 2-core machine meets with room to spare. Then `--diff` against names, settings and
//! revisions that git treats specially, with a real git in temporary repositories.

use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;

/// Generous for a debug build on a loaded machine; the inputs below took from 50 s to many
/// minutes before.
const LIMIT: Duration = Duration::from_secs(30);

use crate::util::write_file as write;

/// A FastAPI service in `dir`: its pyproject.toml and `main.py` (the app, line 2).
fn service(dir: &Path) {
    write(
        dir,
        "pyproject.toml",
        "[project]\nname = \"hostile\"\nversion = \"0\"\ndependencies = [\"fastapi\"]\n",
    );
    write(
        dir,
        "main.py",
        "from fastapi import FastAPI\napp = FastAPI()\n",
    );
}

fn svc() -> Command {
    let mut cmd = Command::cargo_bin("svc").unwrap();
    cmd.env("NO_COLOR", "1").timeout(LIMIT);
    cmd
}

/// Run to completion within [`LIMIT`]: (exit code, stdout, stderr).
fn run(cmd: &mut Command) -> (i32, Vec<u8>, String) {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let code = out
        .status
        .code()
        .unwrap_or_else(|| panic!("killed (over {LIMIT:?}?): {:?}\n{stderr}", out.status));
    (code, out.stdout, stderr)
}

fn json_report(cmd: &mut Command) -> (i32, Value) {
    let (code, stdout, stderr) = run(cmd);
    let report = serde_json::from_slice(&stdout)
        .unwrap_or_else(|e| panic!("not a JSON report ({e}), exit {code}:\n{stderr}"));
    (code, report)
}

/// `path:line:column code` of every finding.
fn located(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{}:{}:{} {}",
                f["path"].as_str().unwrap(),
                f["line"],
                f["column"],
                f["code"].as_str().unwrap()
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Python extraction (#1)

#[test]
fn call_chains_thousands_long_are_linear_and_the_rest_of_the_file_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    service(d);
    let mut text = String::from("import requests\n");
    text.push_str(&format!("x = a{}\n", ".b()".repeat(4000)));
    text.push_str(&format!("y = f{}\n", "()".repeat(4000)));
    text.push_str(&format!("z = a{}\n", ".attr".repeat(4000)));
    text.push_str(&format!("w = g(){}\n", "[0]()".repeat(2000)));
    text.push_str(&format!(
        "v = requests.Session(){}.get(\"u\")\n",
        ".mount()".repeat(500)
    ));
    text.push_str("print(\"after the chains\")\n");
    text.push_str("password = \"hunter2hunter2xx\"\n");
    text.push_str("r = requests.get(\"https://example.com\")\n");
    write(d, "chains.py", text);

    let (code, report) = json_report(
        svc()
            .args(["audit", "--format", "json", "--select"])
            .arg("LG001,AU003,RS001,SV")
            .arg(d),
    );
    assert_eq!(code, 1);
    assert_eq!(
        located(&report),
        [
            "chains.py:7:1 LG001",
            "chains.py:8:12 AU003",
            "chains.py:9:5 RS001",
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Suppressions and the reporters (#16, #17, #18)

#[test]
fn forty_thousand_suppressed_lines_are_matched_in_linear_time() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    service(d);
    let mut text = "print(\"same\")  # svc: ignore[print-call] ok\n".repeat(40_000);
    // A comment covers its line and the next: blank lines keep these two out of reach.
    text.push_str(
        "\nprint(\"not suppressed\")\n\nx = 1  # svc: ignore[print-call] nothing to suppress\n",
    );
    write(d, "many.py", text);

    let (code, report) = json_report(
        svc()
            .args(["audit", "--format", "json", "--select", "print-call,SV"])
            .arg(d),
    );
    assert_eq!(code, 1);
    assert_eq!(
        located(&report),
        ["many.py:40002:1 LG001", "many.py:40004:8 SV003"]
    );
}

#[test]
fn ten_thousand_findings_on_one_line_give_bounded_text() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    service(d);
    // 140 KB on one line.
    write(
        d,
        "many.py",
        vec!["print(\"same\")"; 10_000].join(";") + "\n",
    );

    let (_, report) = json_report(
        svc()
            .args(["audit", "--format", "json", "--select", "print-call"])
            .arg(d),
    );
    let found = located(&report);
    assert_eq!(found.len(), 10_000);
    assert_eq!(found[0], "many.py:1:1 LG001");
    assert_eq!(found[9_999], format!("many.py:1:{} LG001", 9_999 * 14 + 1));

    let (code, text, _) = run(svc().args(["audit", "--select", "print-call"]).arg(d));
    assert_eq!(code, 1);
    // The whole line for every finding was 1.4 GB.
    assert!(text.len() < 10 << 20, "{} bytes of text", text.len());
    let text = String::from_utf8(text).unwrap();
    assert_eq!(text.matches("LG001 print-call").count(), 10_000);
    // Each frame shows the finding's own line and column, and its neighbourhood.
    let last = format!("╭─[many.py:1:{}]", 9_999 * 14 + 1);
    let frame = &text[text.find(&last).expect("the last finding's frame")..];
    assert!(
        frame.contains(" 1 │ ") && frame.contains(");print(\"same\")\n"),
        "{}",
        &frame[..frame.len().min(600)]
    );
}

#[test]
fn twenty_thousand_findings_deep_in_a_file_render_as_text_in_linear_time() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    service(d);
    // 2 MB of comments first: a finding's line counted from the top reads all of it.
    let mut text = "# a comment line, of the kind a generated file begins with\n".repeat(36_000);
    let first = text.lines().count() + 1;
    // 20,000 findings: counted from the top, that is 40 GB of scanning (hours); carried over,
    // a few seconds even in a debug build on a busy machine (50,000 came near the limit).
    text.push_str(&"print(\"same\")\n".repeat(20_000));
    write(d, "many.py", text);

    let (code, text, stderr) = run(svc().args(["audit", "--select", "print-call"]).arg(d));
    assert_eq!(code, 1, "{stderr}");
    let text = String::from_utf8(text).unwrap();
    assert_eq!(text.matches("LG001 print-call").count(), 20_000);
    // Line numbers carried from one finding to the next, not counted from the top.
    let last = first + 19_999;
    let frame = format!(
        "╭─[many.py:{last}:1]\n {} │ print(\"same\")\n {last} │ print(\"same\")\n",
        last - 1
    );
    assert!(text.contains(&frame), "{}", &text[text.len() - 800..]);
    let first_frame = format!("╭─[many.py:{first}:1]\n {} │ # a comment line", first - 1);
    assert!(text.contains(&first_frame), "{}", &text[..800]);
    assert!(text.ends_with(
        "Found 20000 findings (0 errors, 20000 warnings, 0 info) in 3 files across 1 service.\n"
    ));
}

// ---------------------------------------------------------------------------------------------
// Size limit (#19)

#[test]
fn a_file_over_the_size_limit_is_a_finding_and_is_never_read() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    service(d);
    write(d, "app.py", "print(1)\n");
    // Sparse: 64 MiB and one byte of nothing, on disk in no time.
    let big = std::fs::File::create(d.join("huge.py")).unwrap();
    big.set_len((64 << 20) + 1).unwrap();
    drop(big);
    let yaml = std::fs::File::create(d.join("k8s.yaml")).unwrap();
    yaml.set_len((64 << 20) + 1).unwrap();
    drop(yaml);

    let (code, report) = json_report(
        svc()
            .args(["audit", "--format", "json", "--select", "SV,print-call"])
            .arg(d),
    );
    assert_eq!(code, 1);
    let findings: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{}:{} {}: {}",
                f["path"].as_str().unwrap(),
                f["line"],
                f["name"].as_str().unwrap(),
                f["message"].as_str().unwrap()
            )
        })
        .collect();
    let too_large = |path: &str| {
        format!(
            "{path}:1 file-too-large: the file is 67108865 bytes, over the limit of 64 MiB \
             (`max-file-size`): it was not audited"
        )
    };
    assert_eq!(
        findings,
        [
            "app.py:1 print-call: `print()` in service code writes unstructured output".to_string(),
            too_large("huge.py"),
            too_large("k8s.yaml"),
        ]
    );

    // The limit is configurable.
    write(d, "svc.toml", "max-file-size = \"4 KiB\"\n");
    write(d, "app.py", format!("print(1)\n{}", "x = 1\n".repeat(1000)));
    let (_, report) = json_report(
        svc()
            .args(["audit", "--format", "json", "--select", "SV,print-call"])
            .arg(d),
    );
    assert!(
        located(&report).contains(&"app.py:1:1 SV004".to_string()),
        "{report}"
    );
}

// ---------------------------------------------------------------------------------------------
// Audit root (#20)

#[test]
fn paths_in_different_projects_are_each_walked_in_their_own_project() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path();
    service(&w.join("w1/a"));
    service(&w.join("w2/b"));
    write(w, "w1/a/tool.py", "print(1)\n");
    for i in 0..500 {
        write(w, &format!("w3/f{i}.py"), "print(2)\n");
    }
    let (_, report) = json_report(
        svc()
            .args(["audit", "--format", "json", "--select", "print-call"])
            .arg(w.join("w1/a"))
            .arg(w.join("w2/b")),
    );
    // The two projects' files, not the 500 next to them.
    assert_eq!(report["summary"]["files"], 5, "{}", report["summary"]);
    assert_eq!(report["summary"]["services"], 2);
    assert_eq!(located(&report), ["w1/a/tool.py:1:1 LG001"]);

    // A file and a directory far apart: `/` is their common ancestor, never walked.
    let (_, report) = json_report(
        svc()
            .args(["audit", "--format", "json", "--select", "print-call"])
            .arg(w.join("w1/a/tool.py"))
            .arg(w.join("w3")),
    );
    assert_eq!(report["summary"]["files"], 503, "{}", report["summary"]);
}

// ---------------------------------------------------------------------------------------------
// Thread start (#21)

/// `svc audit --format json --select print-call DIR` run by `sh` after `limit` (a `ulimit ...
/// && ` prefix, or nothing), with `env` set.
fn print_calls_under(limit: &str, dir: &Path, env: &[(&str, &str)]) -> (i32, Vec<u8>, String) {
    let mut sh = Command::new("sh");
    sh.envs(env.iter().copied())
        .env("NO_COLOR", "1")
        .timeout(LIMIT)
        .arg("-c")
        .arg(format!(
            "{limit}exec \"$0\" audit --format json --select print-call \"$1\""
        ))
        .arg(env!("CARGO_BIN_EXE_svc"))
        .arg(dir);
    run(&mut sh)
}

/// Four parser threads of 512 MiB stack each cannot start in 600 MB of address space: the
/// audit starts fewer threads with smaller stacks and says so (the fallback order itself is
/// unit-tested in `svc::audit`).
#[cfg(target_os = "linux")]
#[test]
fn under_an_address_space_limit_the_parser_pool_shrinks_instead_of_panicking() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    service(d);
    write(d, "app.py", "print(1)\n");
    let probe = std::process::Command::new("sh")
        .args(["-c", "ulimit -v 600000 && ulimit -v"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&probe.stdout).trim(),
        "600000",
        "`ulimit -v` does not work here: {}",
        String::from_utf8_lossy(&probe.stderr)
    );
    for backtrace in ["0", "1"] {
        let (code, report) = {
            let (code, stdout, stderr) = print_calls_under(
                "ulimit -v 600000 && ",
                d,
                &[("RAYON_NUM_THREADS", "4"), ("RUST_BACKTRACE", backtrace)],
            );
            assert!(!stderr.contains("panicked"), "{stderr}");
            assert!(
                stderr.contains("svc: warning: memory or process limit: "),
                "{stderr}"
            );
            (
                code,
                serde_json::from_slice::<Value>(&stdout)
                    .unwrap_or_else(|e| panic!("{e}: {stderr}")),
            )
        };
        assert_eq!(code, 1);
        assert_eq!(located(&report), ["app.py:1:1 LG001"]);
    }
}

/// The parse arena reserves address space up front: under `ulimit -v` or `ulimit -d` that
/// would be taken from what the audit's own memory may use, so the arena stays off there (and
/// the audit's findings are the same), while without a limit it is on.
#[cfg(target_os = "linux")]
#[test]
fn under_an_address_space_or_data_limit_the_parse_arena_stays_off() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    service(d);
    write(d, "app.py", "def main():\n    print(1)\n\nmain()\n");
    let audit = |limit: &str| {
        let (code, stdout, stderr) = print_calls_under(limit, d, &[("SVC_TIMINGS", "1")]);
        let arena = stderr
            .lines()
            .find_map(|l| l.strip_prefix("svc: timing: parse arena: "))
            .unwrap_or_else(|| panic!("no arena line: {stderr}"))
            .to_string();
        let report: Value =
            serde_json::from_slice(&stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
        (code, arena, located(&report))
    };
    let (code, arena, found) = audit("");
    let strict = std::fs::read_to_string("/proc/sys/vm/overcommit_memory")
        .is_ok_and(|mode| mode.trim() == "2");
    assert_eq!(code, 1);
    if strict {
        assert!(arena.starts_with("off (an address-space"), "{arena}");
    } else {
        assert_eq!(arena, "on");
    }
    assert_eq!(found, ["app.py:2:5 LG001"]);
    for limit in ["ulimit -v 4000000 && ", "ulimit -d 4000000 && "] {
        let (code, arena, found) = audit(limit);
        assert_eq!(code, 1, "{limit}");
        assert!(
            arena.starts_with("off (an address-space or data limit"),
            "{limit}: {arena}"
        );
        assert_eq!(found, ["app.py:2:5 LG001"], "{limit}");
    }
}

// ---------------------------------------------------------------------------------------------
// --diff (#3, #4, #24, #35)

fn git_env(cmd: &mut std::process::Command, home: &Path) {
    crate::util::isolate_git(cmd, home);
}

fn git(dir: &Path, home: &Path, args: &[&str]) {
    crate::util::git(dir, home, args);
}

/// A repository with the service committed, and a home for git with an empty configuration.
struct Repo {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    home: PathBuf,
}

impl Repo {
    fn new(files: &[&str]) -> Repo {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("repo");
        let home = tmp.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::write(home.join("gitconfig"), "").unwrap();
        service(&dir);
        for f in files {
            write(&dir, f, "import os\n");
        }
        git(&dir, &home, &["init", "-q", "-b", "main"]);
        git(&dir, &home, &["add", "-A"]);
        git(&dir, &home, &["commit", "-q", "-m", "initial"]);
        Repo {
            _tmp: tmp,
            dir,
            home,
        }
    }

    fn git(&self, args: &[&str]) {
        git(&self.dir, &self.home, args);
    }

    fn svc(&self) -> Command {
        let mut std_cmd = std::process::Command::new(env!("CARGO_BIN_EXE_svc"));
        git_env(&mut std_cmd, &self.home);
        let mut cmd = Command::from_std(std_cmd);
        cmd.env("NO_COLOR", "1")
            .timeout(LIMIT)
            .current_dir(&self.dir);
        cmd
    }

    /// Paths of the findings of `--diff HEAD`.
    fn changed_findings(&self) -> Vec<String> {
        let (code, report) = json_report(self.svc().args([
            "audit", "--format", "json", "--select", "AU003", "--diff", "HEAD", ".",
        ]));
        assert!(code <= 1, "exit {code}");
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| format!("{}:{}", f["path"].as_str().unwrap(), f["line"]))
            .collect()
    }
}

const SECRET: &str = "import os\npassword = \"hunter2hunter2xx\"\n";

#[test]
fn diff_keeps_names_git_quotes_or_pads() {
    let names = [
        "café.py",
        "plain.py",
        "sp ace.py",
        "ta\tb.py",
        "q\"uote.py",
        "dir é/x.py",
    ];
    let repo = Repo::new(&names);
    for name in names {
        write(&repo.dir, name, SECRET);
    }
    write(&repo.dir, "nouveau é.py", SECRET);
    write(&repo.dir, "new dir/sp ace\tné.py", SECRET);
    let mut expected: Vec<String> = names
        .iter()
        .chain(&["nouveau é.py", "new dir/sp ace\tné.py"])
        .map(|n| format!("{n}:2"))
        .collect();
    expected.sort();
    assert_eq!(repo.changed_findings(), expected);
}

#[test]
fn diff_ignores_the_repositorys_prefix_and_quoting_settings() {
    let repo = Repo::new(&["plain.py", "café.py"]);
    // Two changes around an old secret, which is not a changed line.
    write(
        &repo.dir,
        "around.py",
        "a = 1\nb = 2\npassword = \"hunter2hunter2xx\"\nc = 3\nd = 4\n",
    );
    repo.git(&["add", "around.py"]);
    repo.git(&["commit", "-q", "-m", "around"]);
    write(
        &repo.dir,
        "around.py",
        "a = 10\nb = 2\npassword = \"hunter2hunter2xx\"\nc = 3\nd = 40\n",
    );
    write(&repo.dir, "plain.py", SECRET);
    write(&repo.dir, "café.py", SECRET);
    for setting in [
        ["diff.noprefix", "true"],
        ["diff.mnemonicPrefix", "true"],
        ["core.quotePath", "true"],
        ["diff.relative", "true"],
        ["color.diff", "always"],
        ["color.ui", "always"],
        ["diff.renames", "copies"],
        ["diff.interHunkContext", "10"],
        ["diff.context", "10"],
    ] {
        repo.git(&["config", setting[0], setting[1]]);
        assert_eq!(
            repo.changed_findings(),
            ["café.py:2", "plain.py:2"],
            "with {setting:?}"
        );
        repo.git(&["config", "--unset", setting[0]]);
    }
}

#[test]
fn diff_revision_is_never_an_option_and_the_repositorys_commands_never_run() {
    let repo = Repo::new(&["plain.py"]);
    write(&repo.dir, "plain.py", SECRET);
    let marker = |name: &str| repo.home.join(name);
    let out = marker("pwned.txt");
    let (code, _, stderr) = run(repo
        .svc()
        .args(["audit", "."])
        .arg(format!("--diff=--output={}", out.display())));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("not a commit"), "{stderr}");
    assert!(!out.exists(), "git wrote {}", out.display());

    let touch = |name: &str| format!("touch '{}'; cat", marker(name).display());
    repo.git(&["config", "core.fsmonitor", &touch("fsmonitor")]);
    repo.git(&["config", "filter.evil.clean", &touch("clean")]);
    repo.git(&["config", "filter.evil.process", &touch("process")]);
    repo.git(&["config", "filter.evil.required", "true"]);
    repo.git(&["config", "diff.evil.textconv", &touch("textconv")]);
    repo.git(&["config", "diff.evil.command", &touch("command")]);
    repo.git(&["config", "diff.external", &touch("external")]);
    write(&repo.dir, ".gitattributes", "*.py filter=evil diff=evil\n");
    assert_eq!(repo.changed_findings(), ["plain.py:2"]);
    for name in [
        "fsmonitor",
        "clean",
        "process",
        "textconv",
        "command",
        "external",
    ] {
        assert!(
            !marker(name).exists(),
            "the repository's {name} command ran"
        );
    }
}

#[test]
fn diff_outside_a_work_tree_fails_at_once_in_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("plain");
    service(&d);
    write(&d, "app.py", SECRET);
    // Reported on stderr after an audit: none must run.
    std::os::unix::fs::symlink(d.join("missing.py"), d.join("dangling.py")).unwrap();
    let mut std_cmd = std::process::Command::new(env!("CARGO_BIN_EXE_svc"));
    git_env(&mut std_cmd, tmp.path());
    std_cmd.env("GIT_CEILING_DIRECTORIES", tmp.path());
    std::fs::write(tmp.path().join("gitconfig"), "").unwrap();
    let mut cmd = Command::from_std(std_cmd);
    cmd.timeout(LIMIT)
        .env("NO_COLOR", "1")
        .args(["audit", "--diff", "HEAD"])
        .arg(&d);
    let (code, stdout, stderr) = run(&mut cmd);
    assert_eq!(code, 2);
    assert!(stdout.is_empty());
    assert!(
        stderr.contains(&format!(
            "--diff needs a git work tree: {} is not in one",
            std::fs::canonicalize(&d).unwrap().display()
        )),
        "{stderr}"
    );
    assert!(
        !stderr.contains("not audited"),
        "the audit ran first: {stderr}"
    );
    assert!(!stderr.contains("usage:"), "{stderr}");
    assert!(stderr.lines().count() < 8, "{stderr}");
}
