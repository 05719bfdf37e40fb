//! `svc audit` in CI and pre-commit: SARIF, GitHub annotations, baselines, changed-only mode,
//! the pre-commit hook, and `svc init`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

pub(crate) fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ci/service")
}

pub(crate) use crate::util::{copy_dir, run_in};

fn json_in(dir: &Path, args: &[&str]) -> Value {
    let (_, stdout, stderr) = run_in(dir, args);
    crate::util::parse_json(&stdout, &stderr)
}

fn snapshot_settings() -> insta::Settings {
    let mut s = crate::util::snapshot_settings("ci");
    s.add_filter(
        r#""(semanticV|v)ersion": "\d+\.\d+\.\d+""#,
        r#""${1}ersion": "[VERSION]""#,
    );
    s
}

/// A copy of `src` in a fresh temporary directory (for tests that edit files).
pub(crate) fn copy_tree(src: &Path) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(src, tmp.path());
    tmp
}

/// (path, line, rule code) of every finding of a JSON report.
fn located(report: &Value) -> Vec<(String, u64, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["code"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// SARIF

fn sarif_schema() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/sarif-schema-2.1.0.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::draft4::new(&schema).expect("the SARIF schema compiles")
}

fn sarif_of(dir: &Path) -> Value {
    json_in(dir, &["audit", "--format", "sarif", "."])
}

#[test]
fn sarif_is_valid_against_the_oasis_schema_and_matches_the_json_report() {
    let sarif = sarif_of(&fixture());
    let errors: Vec<String> = sarif_schema()
        .iter_errors(&sarif)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF schema violations:\n{}",
        errors.join("\n")
    );

    let run = &sarif["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run["results"].as_array().unwrap();
    let json = json_in(&fixture(), &["audit", "--format", "json", "."]);
    let findings = json["findings"].as_array().unwrap();
    assert_eq!(results.len(), findings.len());
    // Findings in Python, Dockerfile and Kubernetes YAML files.
    let files: BTreeSet<&str> = findings
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    for file in [
        "app/invoices.py",
        "app/main.py",
        "Dockerfile",
        "deploy/deployment.yaml",
    ] {
        assert!(files.contains(file), "no finding in {file}: {files:?}");
    }
    for (result, finding) in results.iter().zip(findings) {
        assert_eq!(result["ruleId"], finding["code"]);
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], finding["code"]);
        assert_eq!(rules[index]["name"], finding["name"]);
        let level = match finding["severity"].as_str().unwrap() {
            "info" => "note",
            other => other,
        };
        assert_eq!(result["level"], level);
        let location = &result["locations"][0]["physicalLocation"];
        assert_eq!(location["artifactLocation"]["uri"], finding["path"]);
        assert_eq!(location["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        assert_eq!(location["region"]["startLine"], finding["line"]);
        assert_eq!(location["region"]["startColumn"], finding["column"]);
        assert_eq!(location["region"]["endLine"], finding["end_line"]);
        assert_eq!(location["region"]["endColumn"], finding["end_column"]);
        assert!(
            result["message"]["text"]
                .as_str()
                .unwrap()
                .starts_with(finding["message"].as_str().unwrap())
        );
        let fp = result["partialFingerprints"]["svc/v1"].as_str().unwrap();
        assert_eq!(fp.len(), 16, "{fp}");
    }
    let fingerprints: BTreeSet<&str> = results
        .iter()
        .map(|r| r["partialFingerprints"]["svc/v1"].as_str().unwrap())
        .collect();
    assert_eq!(fingerprints.len(), results.len(), "fingerprints are unique");

    // Every registered rule is described, with its documentation as help.
    let (_, listed, _) = run_in(&fixture(), &["rules", "--format", "json"]);
    let listed: Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(rules.len(), listed.as_array().unwrap().len());
    let au001 = rules.iter().find(|r| r["id"] == "AU001").unwrap();
    assert_eq!(au001["name"], "unauthenticated-route");
    assert_eq!(au001["defaultConfiguration"]["level"], "warning");
    assert_eq!(au001["properties"]["principle"], "P3");
    assert!(
        au001["shortDescription"]["text"]
            .as_str()
            .unwrap()
            .starts_with("Reports a route that no authentication dependency protects")
    );
    assert!(
        au001["help"]["markdown"]
            .as_str()
            .unwrap()
            .contains("## How to fix")
    );
}

#[test]
fn sarif_results_snapshot() {
    let sarif = sarif_of(&fixture());
    let run = &sarif["runs"][0];
    let au001 = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "AU001")
        .unwrap()
        .clone();
    let mut first = run["results"][0].clone();
    first["ruleIndex"] = Value::from("[INDEX]");
    snapshot_settings().bind(|| {
        insta::assert_json_snapshot!("sarif_driver", &run["tool"]["driver"]["name"]);
        insta::assert_json_snapshot!("sarif_rule_au001", au001);
        insta::assert_json_snapshot!("sarif_first_result", first);
    });
}

#[test]
fn sarif_fingerprints_survive_unrelated_edits_and_tell_copies_apart() {
    let tmp = copy_tree(&fixture());
    let before = sarif_of(tmp.path());
    let invoices = tmp.path().join("app/invoices.py");
    let text = std::fs::read_to_string(&invoices).unwrap();
    // Lines added above every finding: line numbers move, fingerprints must not.
    std::fs::write(
        &invoices,
        format!("\"\"\"Invoices.\"\"\"\n# Owned by the billing team.\n\n{text}"),
    )
    .unwrap();
    let after = sarif_of(tmp.path());
    let prints = |sarif: &Value, path: &str| -> Vec<(String, u64)> {
        sarif["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == path)
            .map(|r| {
                (
                    r["partialFingerprints"]["svc/v1"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                    r["locations"][0]["physicalLocation"]["region"]["startLine"]
                        .as_u64()
                        .unwrap(),
                )
            })
            .collect()
    };
    let (b, a) = (
        prints(&before, "app/invoices.py"),
        prints(&after, "app/invoices.py"),
    );
    assert!(!b.is_empty());
    assert_eq!(b.len(), a.len());
    for ((fb, lb), (fa, la)) in b.iter().zip(&a) {
        assert_eq!(fb, fa);
        assert_eq!(lb + 3, *la);
    }

    // A second print() with the same text: same code, another occurrence, another print.
    let text = std::fs::read_to_string(&invoices).unwrap();
    let doubled = text.replace(
        "    print(\"fetched\", invoice_id)\n",
        "    print(\"fetched\", invoice_id)\n    print(\"fetched\", invoice_id)\n",
    );
    std::fs::write(&invoices, doubled).unwrap();
    let twice = sarif_of(tmp.path());
    let print_fps: BTreeSet<String> = twice["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["ruleId"] == "LG001")
        .map(|r| {
            r["partialFingerprints"]["svc/v1"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(print_fps.len(), 2);
}

// ---------------------------------------------------------------------------------------------
// GitHub annotations

#[test]
fn github_annotations_one_per_finding_with_levels() {
    let (code, stdout, _) = run_in(&fixture(), &["audit", "--format", "github", "."]);
    assert_eq!(code, 1);
    let json = json_in(&fixture(), &["audit", "--format", "json", "."]);
    let lines: Vec<&str> = stdout.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(lines.len(), json["findings"].as_array().unwrap().len());
    assert!(lines.iter().any(|l| l.starts_with("::notice file=")));
    let print = "::warning file=app/invoices.py,line=12,col=5,endLine=12,endColumn=10,\
                 title=LG001 print-call::";
    assert!(lines.iter().any(|l| l.starts_with(print)), "{stdout}");
    // The Python files' annotations: Dockerfile and manifest rules come and go on their own.
    let python: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.contains(" file=app/") || l.contains(":file=app/"))
        .collect();
    snapshot_settings().bind(|| insta::assert_snapshot!("github", python.join("\n")));
}

// ---------------------------------------------------------------------------------------------
// Files passed (pre-commit)

/// A copy of the fixture as a git work tree: how pre-commit and CI see a repository.
fn git_copy() -> tempfile::TempDir {
    let tmp = copy_tree(&fixture());
    git(tmp.path(), &["init", "-q", "-b", "main"]);
    git(tmp.path(), &["add", "."]);
    git(tmp.path(), &["commit", "-q", "-m", "initial"]);
    tmp
}

fn git(dir: &Path, args: &[&str]) -> String {
    crate::util::git(dir, dir, args)
}

#[test]
fn named_files_are_audited_with_the_whole_service_model() {
    let repo = git_copy();
    let full = json_in(repo.path(), &["audit", "--format", "json", "."]);
    let named = json_in(
        repo.path(),
        &["audit", "--format", "json", "app/invoices.py"],
    );
    let expected: Vec<_> = located(&full)
        .into_iter()
        .filter(|(p, _, _)| p == "app/invoices.py")
        .collect();
    // Cross-file facts: the service (found from app/main.py) makes AU001 and ST001 fire here.
    assert!(
        expected.iter().any(|(_, _, c)| c == "AU001"),
        "{expected:?}"
    );
    assert!(
        expected.iter().any(|(_, _, c)| c == "ST001"),
        "{expected:?}"
    );
    assert_eq!(located(&named), expected);
    assert_eq!(named["summary"]["services"], 1);

    // A file svc does not audit (pre-commit may pass any changed file) reports nothing.
    let (code, stdout, stderr) = run_in(repo.path(), &["audit", "pyproject.toml", "-q"]);
    assert_eq!((code, stdout.as_str()), (0, ""), "{stderr}");
}

// ---------------------------------------------------------------------------------------------
// Baselines

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{from:?} not in {}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn baseline_hides_recorded_findings_by_code_not_by_line() {
    let repo = copy_tree(&fixture());
    let dir = repo.path();
    let store = tempfile::tempdir().unwrap();
    let baseline = store.path().join("svc-baseline.json");
    let baseline_arg = baseline.to_str().unwrap();
    let all = located(&json_in(dir, &["audit", "--format", "json", "."]));

    let (code, stdout, stderr) = run_in(dir, &["audit", "--write-baseline", baseline_arg, "."]);
    assert_eq!((code, stdout.as_str()), (0, ""), "{stderr}");
    assert!(
        stderr.contains(&format!("wrote {} findings", all.len())),
        "{stderr}"
    );
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(&baseline).unwrap()).unwrap();
    assert_eq!(written["version"], 1);
    let entry = written["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["code"] == "LG001")
        .unwrap();
    assert_eq!(entry["path"], "app/invoices.py");
    assert_eq!(entry["name"], "print-call");
    assert_eq!(entry["count"], 1);

    let audit = |args: &[&str]| {
        let mut full = vec!["audit", "--format", "json", "--baseline", baseline_arg];
        full.extend_from_slice(args);
        let (code, stdout, stderr) = run_in(dir, &full);
        let report: Value = serde_json::from_str(&stdout).unwrap();
        (code, located(&report), stderr)
    };
    let (code, found, stderr) = audit(&["."]);
    assert_eq!((code, found), (0, vec![]), "{stderr}");
    assert!(!stderr.contains("no longer match"), "{stderr}");

    // Moved: a function added above, the handler re-indented nowhere but shifted down.
    let invoices = dir.join("app/invoices.py");
    edit(
        &invoices,
        "@router.get(",
        "def _unused() -> None:\n    return None\n\n\n@router.get(",
    );
    let (code, found, stderr) = audit(&["."]);
    assert_eq!(
        (code, found),
        (0, vec![]),
        "moved code stays baselined: {stderr}"
    );

    // A second copy of the same violation in the same file is new.
    edit(
        &invoices,
        "    print(\"fetched\", invoice_id)\n",
        "    print(\"fetched\", invoice_id)\n    print(\"fetched\", invoice_id)\n",
    );
    let (code, found, _) = audit(&["."]);
    assert_eq!(code, 1);
    assert_eq!(
        found,
        vec![("app/invoices.py".to_string(), 17, "LG001".to_string())]
    );

    // Fixing both: nothing reported, and the entry is stale.
    edit(&invoices, "    print(\"fetched\", invoice_id)\n", "");
    edit(&invoices, "    print(\"fetched\", invoice_id)\n", "");
    let (code, found, stderr) = audit(&["."]);
    assert_eq!((code, found), (0, vec![]));
    assert!(
        stderr.contains("1 baseline entry no longer matches")
            && stderr.contains("  app/invoices.py LG001 print-call (1 of 1 gone)"),
        "{stderr}"
    );

    // An audit of another file, or of other rules, does not call the entry stale.
    let (_, _, stderr) = audit(&["app/main.py"]);
    assert!(!stderr.contains("no longer match"), "{stderr}");
    let (_, _, stderr) = audit(&["--select", "AU", "."]);
    assert!(!stderr.contains("no longer match"), "{stderr}");

    // Rewriting the baseline drops the stale entry.
    run_in(dir, &["audit", "--write-baseline", baseline_arg, "."]);
    let (_, _, stderr) = audit(&["."]);
    assert!(!stderr.contains("no longer match"), "{stderr}");
}

#[test]
fn a_broken_baseline_is_a_usage_error() {
    let store = tempfile::tempdir().unwrap();
    let bad = store.path().join("baseline.json");
    std::fs::write(&bad, "{\"findings\": 3}").unwrap();
    let (code, _, stderr) = run_in(
        &fixture(),
        &["audit", "--baseline", bad.to_str().unwrap(), "."],
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("is not an svc baseline"), "{stderr}");
    let missing = store.path().join("missing.json");
    let (code, _, stderr) = run_in(
        &fixture(),
        &["audit", "--baseline", missing.to_str().unwrap(), "."],
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("cannot read the baseline"), "{stderr}");
}

// ---------------------------------------------------------------------------------------------
// --diff

#[test]
fn diff_reports_only_findings_on_changed_lines() {
    let repo = git_copy();
    let dir = repo.path();
    let (code, stdout, _) = run_in(dir, &["audit", "--format", "json", "--diff", "HEAD", "."]);
    assert_eq!(code, 0);
    assert_eq!(located(&serde_json::from_str(&stdout).unwrap()), vec![]);

    edit(
        &dir.join("app/invoices.py"),
        "    return CACHE[invoice_id]\n",
        "    print(\"returning\", invoice_id)\n    return CACHE[invoice_id]\n",
    );
    std::fs::write(
        dir.join("app/audit_log.py"),
        "def log(x):\n    print(x)\n\n\nlog(\"loaded\")\n",
    )
    .unwrap();
    let report = json_in(dir, &["audit", "--format", "json", "--diff", "HEAD", "."]);
    assert_eq!(
        located(&report),
        vec![
            ("app/audit_log.py".to_string(), 2, "LG001".to_string()),
            ("app/invoices.py".to_string(), 13, "LG001".to_string()),
        ]
    );
    // The whole model still counts: the summary covers every file.
    assert_eq!(report["summary"]["services"], 1);

    let (code, _, stderr) = run_in(dir, &["audit", "--diff", "no-such-rev", "."]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no-such-rev"), "{stderr}");
}

// ---------------------------------------------------------------------------------------------
// pre-commit

/// The `pre-commit` executable: $SVC_PRE_COMMIT, the venv tests/run.sh makes under target/,
/// or PATH. In CI it must be there: a missing one fails rather than skips.
pub(crate) fn pre_commit() -> Option<PathBuf> {
    let found = find_pre_commit();
    assert!(
        found.is_some() || std::env::var_os("CI").is_none(),
        "pre-commit is not installed: tests/run.sh installs it into target/pre-commit-venv"
    );
    if found.is_none() {
        eprintln!("skipped: pre-commit is not installed (pip install pre-commit)");
    }
    found
}

fn find_pre_commit() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SVC_PRE_COMMIT") {
        return Some(PathBuf::from(p));
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/pre-commit-venv/bin/pre-commit");
    if venv.exists() {
        return Some(venv);
    }
    std::process::Command::new("pre-commit")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|_| PathBuf::from("pre-commit"))
}

/// A git repository whose hooks the real pre-commit installs and runs, with a cache of its own
/// and neither the machine's git configuration nor its home directory involved.
pub(crate) struct PreCommitRepo<'a> {
    dir: &'a Path,
    path: Option<std::ffi::OsString>,
    cache: tempfile::TempDir,
}

impl<'a> PreCommitRepo<'a> {
    /// `pre-commit install` in `dir`; `path` replaces PATH for pre-commit and its hooks.
    pub(crate) fn install(
        pre_commit: &Path,
        dir: &'a Path,
        path: Option<std::ffi::OsString>,
    ) -> Self {
        let repo = PreCommitRepo {
            dir,
            path,
            cache: tempfile::tempdir().unwrap(),
        };
        let out = repo.command(pre_commit).arg("install").output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        repo
    }

    fn command(&self, program: &Path) -> std::process::Command {
        let mut cmd = std::process::Command::new(program);
        cmd.current_dir(self.dir)
            .env("PRE_COMMIT_HOME", self.cache.path())
            .env("NO_COLOR", "1")
            .env("HOME", self.dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "svc tests")
            .env("GIT_AUTHOR_EMAIL", "tests@svc.invalid")
            .env("GIT_COMMITTER_NAME", "svc tests")
            .env("GIT_COMMITTER_EMAIL", "tests@svc.invalid");
        if let Some(path) = &self.path {
            cmd.env("PATH", path);
        }
        cmd
    }

    /// `git commit -m message` through the installed hooks: whether it passed, and what
    /// git and the hooks printed.
    pub(crate) fn commit(&self, message: &str) -> (bool, String) {
        let out = self
            .command(Path::new("git"))
            .args(["commit", "-m", message])
            .output()
            .unwrap();
        let output = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), output)
    }
}

/// The hook as this repository publishes it, run by the real pre-commit from a git
/// repository of its own. `language: rust` would have pre-commit build svc with cargo
/// (minutes, and network); the test swaps it for `language: system` with the freshly built
/// binary first on PATH, and keeps the rest of the definition (entry, file types, serial
/// run) as published.
#[test]
fn pre_commit_hook_blocks_a_commit_with_a_violation_and_passes_a_clean_one() {
    let Some(pre_commit) = pre_commit() else {
        return;
    };
    let hooks = tempfile::tempdir().unwrap();
    let published = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(".pre-commit-hooks.yaml"),
    )
    .unwrap();
    assert_eq!(published.matches("language: rust").count(), 1);
    std::fs::write(
        hooks.path().join(".pre-commit-hooks.yaml"),
        published.replace("language: rust", "language: system"),
    )
    .unwrap();
    git(hooks.path(), &["init", "-q", "-b", "main"]);
    git(hooks.path(), &["add", "."]);
    git(hooks.path(), &["commit", "-q", "-m", "hooks"]);
    let rev = git(hooks.path(), &["rev-parse", "HEAD"]);

    // A legacy service adopting svc: today's findings are in a baseline.
    let repo = git_copy();
    let dir = repo.path();
    run_in(
        dir,
        &["audit", "--write-baseline", "svc-baseline.json", "."],
    );
    std::fs::write(
        dir.join(".pre-commit-config.yaml"),
        format!(
            "repos:\n  - repo: {}\n    rev: {}\n    hooks:\n      - id: svc-audit\n        args: [--baseline, svc-baseline.json]\n",
            hooks.path().display(),
            rev.trim()
        ),
    )
    .unwrap();
    git(dir, &["add", "."]);
    git(dir, &["commit", "-q", "-m", "adopt svc"]);

    let bin_dir = assert_cmd::cargo::cargo_bin("svc")
        .parent()
        .unwrap()
        .to_path_buf();
    let path = std::env::join_paths(
        std::iter::once(bin_dir).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let hooked = PreCommitRepo::install(&pre_commit, dir, Some(path));
    let commit = |message: &str| hooked.commit(message);

    // A new violation in a staged file: blocked, with the finding printed.
    edit(
        &dir.join("app/invoices.py"),
        "    return CACHE[invoice_id]\n",
        "    print(\"returning\", invoice_id)\n    return CACHE[invoice_id]\n",
    );
    git(dir, &["add", "app/invoices.py"]);
    let (passed, output) = commit("add a print");
    assert!(!passed, "{output}");
    assert!(
        output.contains("svc audit") && output.contains("Failed"),
        "{output}"
    );
    assert!(output.contains("LG001 print-call"), "{output}");
    assert!(output.contains("app/invoices.py:13"), "{output}");

    // Undone, and a clean change staged instead: passes.
    edit(
        &dir.join("app/invoices.py"),
        "    print(\"returning\", invoice_id)\n",
        "",
    );
    edit(
        &dir.join("app/main.py"),
        "app = FastAPI(title=\"billing\")\n",
        "# The billing API.\napp = FastAPI(title=\"billing\")\n",
    );
    git(dir, &["add", "app/invoices.py", "app/main.py"]);
    let (passed, output) = commit("document the app");
    assert!(passed, "{output}");
    assert!(
        output.contains("svc audit") && output.contains("Passed"),
        "{output}"
    );
}

/// The hook definition without its comments: what pre-commit reads.
fn hook_definition(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|line| !line.trim_start().starts_with('#') && !line.trim().is_empty())
        .map(|line| format!("{line}\n"))
        .collect()
}

/// The pre-commit mirror (pre-commit-mirror/, published as a repository of its own) offers the
/// same hook as this repository, installed from the wheel instead of compiled: only `language`
/// may differ, and it pins the wheel of this very version, or a user of the mirror would run
/// another svc than the one its tag names. Its end-to-end run is tests/e2e/check_wheel.py.
#[test]
fn pre_commit_mirror_is_this_hook_installed_from_this_versions_wheel() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let published = hook_definition(&root.join(".pre-commit-hooks.yaml"));
    let mirrored = hook_definition(&root.join("pre-commit-mirror/.pre-commit-hooks.yaml"));
    assert_eq!(
        published.matches("language: rust").count(),
        1,
        "{published}"
    );
    assert_eq!(
        mirrored,
        published.replace("language: rust", "language: python")
    );

    let toml = |path: &str| -> toml_edit::DocumentMut {
        std::fs::read_to_string(root.join(path))
            .unwrap()
            .parse()
            .unwrap()
    };
    let wheel = toml("pyproject.toml");
    let wheel_name = wheel["project"]["name"].as_str().unwrap().to_owned();
    let mirror = toml("pre-commit-mirror/pyproject.toml");
    let dependencies: Vec<&str> = mirror["project"]["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert_eq!(
        dependencies,
        [format!("{wheel_name}=={}", env!("CARGO_PKG_VERSION"))]
    );
    // The wheel's version is Cargo.toml's, not a second copy that could drift.
    assert!(wheel["project"].get("version").is_none());
    let dynamic: Vec<&str> = wheel["project"]["dynamic"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert_eq!(dynamic, ["version"]);
}

// ---------------------------------------------------------------------------------------------
// svc init

const UNUSUAL_PYPROJECT: &str = r#"# Billing service
[project]
name    =   "billing"   # the name
version = "0.1.0"
dependencies = [
    "fastapi",   # web
  "httpx" ,
]

[tool.ruff]
line-length=100

[tool.ruff.lint]
select = ["E", "F"]   # keep it small

[[tool.mypy.overrides]]
module = "x"
[build-system]
requires = ["hatchling"]"#;

#[test]
fn init_adds_only_the_svc_table_and_hook_and_is_idempotent() {
    let repo = copy_tree(&fixture());
    let dir = repo.path();
    std::fs::write(dir.join("pyproject.toml"), UNUSUAL_PYPROJECT).unwrap();
    let hooks = "# hooks\nrepos:\n- repo: https://example.invalid/ruff\n  rev: v0.1.0\n  hooks:\n  - id: ruff\n";
    std::fs::write(dir.join(".pre-commit-config.yaml"), hooks).unwrap();

    let (code, diff, stderr) = run_in(dir, &["init", "--dry-run"]);
    assert_eq!(code, 0, "{stderr}");
    // Only added lines: nothing of the user's text is touched. (A last line without a
    // newline shows as removed and added again, unchanged, with one.)
    let lines: Vec<&str> = diff.lines().collect();
    for removed in lines
        .iter()
        .filter(|l| l.starts_with('-') && !l.starts_with("---"))
    {
        assert!(
            lines.contains(&format!("+{}", &removed[1..]).as_str()),
            "{removed} changed:\n{diff}"
        );
    }
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with('-') && !l.starts_with("---"))
            .count(),
        1,
        "{diff}"
    );
    snapshot_settings().bind(|| insta::assert_snapshot!("init_dry_run", diff));
    assert_eq!(
        std::fs::read_to_string(dir.join("pyproject.toml")).unwrap(),
        UNUSUAL_PYPROJECT
    );

    let (code, stdout, _) = run_in(dir, &["init"]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("pyproject.toml: added [tool.svc]"),
        "{stdout}"
    );
    let pyproject = std::fs::read_to_string(dir.join("pyproject.toml")).unwrap();
    assert!(
        pyproject.starts_with(&format!("{UNUSUAL_PYPROJECT}\n")),
        "{pyproject}"
    );
    assert!(
        pyproject.ends_with("[tool.svc]\nfail-on = \"warning\"\n"),
        "{pyproject}"
    );
    let config = std::fs::read_to_string(dir.join(".pre-commit-config.yaml")).unwrap();
    assert!(config.starts_with(hooks));
    assert_eq!(config.matches("id: svc-audit").count(), 1);

    // The result is a configuration svc reads.
    let (code, _, stderr) = run_in(dir, &["audit", "-q", "."]);
    assert_eq!(code, 1, "{stderr}");

    let (code, stdout, _) = run_in(dir, &["init"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("nothing to change"), "{stdout}");
    assert_eq!(
        std::fs::read_to_string(dir.join("pyproject.toml")).unwrap(),
        pyproject
    );
    assert_eq!(
        std::fs::read_to_string(dir.join(".pre-commit-config.yaml")).unwrap(),
        config
    );
}

#[test]
fn init_without_pyproject_creates_svc_toml_hook_config_and_baseline() {
    let repo = copy_tree(&fixture());
    let dir = repo.path();
    std::fs::remove_file(dir.join("pyproject.toml")).unwrap();
    let (code, stdout, stderr) = run_in(dir, &["init", "--baseline", "svc-baseline.json"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("svc.toml: created"), "{stdout}");
    assert!(
        stdout.contains(".pre-commit-config.yaml: created"),
        "{stdout}"
    );
    assert!(
        stdout.contains("svc-baseline.json: baseline of"),
        "{stdout}"
    );
    let config = std::fs::read_to_string(dir.join(".pre-commit-config.yaml")).unwrap();
    assert!(config.starts_with("repos:\n  # svc audit"), "{config}");
    assert!(
        config.contains("args: [--baseline, svc-baseline.json]"),
        "{config}"
    );
    // Today's findings are baselined: the hook's command passes.
    let (code, _, stderr) = run_in(dir, &["audit", "--baseline", "svc-baseline.json", "."]);
    assert_eq!(code, 0, "{stderr}");
    let (_, stdout, _) = run_in(dir, &["init", "--baseline", "svc-baseline.json"]);
    assert!(stdout.contains("nothing to change"), "{stdout}");
}
