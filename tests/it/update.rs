//! `svc update` and `svc check` on a test template with two versions in git (as an
//! organisation's template directory is), and on the embedded variants' frozen releases.
//! Every case runs inside a temporary directory.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// git isolated from the machine's configuration (`crate::util::git`), with the branch name
/// and line endings pinned too, output trimmed.
fn git(dir: &Path, home: &Path, args: &[&str]) -> String {
    let pinned = ["-c", "init.defaultBranch=main", "-c", "core.autocrlf=false"];
    let args: Vec<&str> = pinned.iter().copied().chain(args.iter().copied()).collect();
    crate::util::git(dir, home, &args).trim().to_owned()
}

/// The svc binary, with git isolated to `home` as the test's own git calls are.
fn svc_in(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_svc"));
    cmd.env("NO_COLOR", "1");
    crate::util::isolate_git(&mut cmd, home);
    cmd
}

struct Setup {
    _tmp: tempfile::TempDir,
    home: PathBuf,
    template: PathBuf,
    project: PathBuf,
    v1: String,
    v2: String,
}

impl Setup {
    fn svc(&self, args: &[&str]) -> (i32, String, String) {
        let out = svc_in(&self.home)
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .args(args)
            .current_dir(self.project.parent().unwrap())
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn read(&self, path: &str) -> String {
        fs::read_to_string(self.project.join(path)).unwrap()
    }

    fn write(&self, path: &str, text: &str) {
        fs::write(self.project.join(path), text).unwrap();
    }

    fn commit_project(&self) {
        git(&self.project, &self.home, &["add", "-A"]);
        git(&self.project, &self.home, &["commit", "-q", "-m", "edits"]);
    }

    fn update(&self, extra: &[&str]) -> (i32, String, String) {
        let template = self.template.to_str().unwrap().to_owned();
        let project = self.project.to_str().unwrap().to_owned();
        let mut args = vec!["update", &project, "--template", &template, "--yes"];
        args.extend_from_slice(extra);
        self.svc(&args)
    }
}

const V1_MANIFEST: &str = r#"[template]
name = "orders-template"
version = "1"

[[variables]]
name = "owner"
type = "string"
default = "platform"
"#;

const V2_MANIFEST: &str = r#"[template]
name = "orders-template"
version = "2"

[[variables]]
name = "team"
type = "string"
default = "platform"

[[variables]]
name = "replicas"
type = "int"
default = 2
min = 1
max = 50

[[migrations]]
version = "2"
rename = { owner = "team" }
"#;

const V1_APP: &str =
    "import os\n\n\ndef create():\n    return 'v1'\n\n\n\n\ndef health():\n    return 'ok'\n";
const V2_APP: &str = "import os\n\n\ndef create():\n    return 'v1'\n\n\n\n\ndef health():\n    return {'status': 'ok'}\n";

const V1_PYPROJECT: &str = "[project]\nname = \"{{ name }}\"\nversion = \"0.1.0\"\ndependencies = [\n    \"fastapi>=0.110\",\n    \"redis>=5\",\n]\n\n[tool.ruff]\nline-length = 100\n";
const V2_PYPROJECT: &str = "[project]\nname = \"{{ name }}\"\nversion = \"0.1.0\"\ndependencies = [\n    \"fastapi>=0.115\",\n    \"redis>=5\",\n    \"orjson>=3\",\n]\n\n[tool.ruff]\nline-length = 110\ntarget-version = \"py312\"\n";

fn write_template(dir: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let path = dir.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
}

#[cfg(unix)]
fn set_executable(path: &Path, on: bool) {
    use std::os::unix::fs::PermissionsExt;
    let mode = if on { 0o755 } else { 0o644 };
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).unwrap().permissions().mode() & 0o111 != 0
}

/// A template repository at v1 and v2, and a project generated from v1 and committed.
fn setup() -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    fs::create_dir_all(&home).unwrap();
    let template = tmp.path().join("templates/orders");
    fs::create_dir_all(&template).unwrap();
    git(&template, &home, &["init", "-q"]);
    write_template(
        &template,
        &[
            ("template.toml", V1_MANIFEST),
            ("app.py", V1_APP),
            ("pyproject.toml.tera", V1_PYPROJECT),
            (
                "Dockerfile",
                "FROM python:3.12-slim\nUSER app\nCMD [\"python\", \"app.py\"]\n",
            ),
            ("OWNERS.tera", "owner: {{ owner }}\n"),
            ("config.yaml", "timeout: 5\nretries: 3\n"),
            ("run.sh", "#!/bin/sh\nexec python app.py\n"),
            ("old.txt", "obsolete\n"),
            ("removed_but_edited.txt", "will go\n"),
            ("deleted_by_user.txt", "the user deletes this\n"),
            ("notes.md", "line one\nline two\n"),
            ("limits.py", "TIMEOUT = 5\nRETRIES = 3\n"),
            ("deploy.yaml", "replicas: 2\nimage: orders:1\n"),
        ],
    );
    set_executable(&template.join("run.sh"), false);
    git(&template, &home, &["add", "-A"]);
    git(&template, &home, &["commit", "-q", "-m", "v1"]);
    let v1 = git(&template, &home, &["rev-parse", "HEAD"]);

    let projects = tmp.path().join("projects");
    fs::create_dir_all(&projects).unwrap();
    let project = projects.join("orders-api");
    let setup = Setup {
        _tmp: tmp,
        home,
        template: template.clone(),
        project: project.clone(),
        v1,
        v2: String::new(),
    };
    let (code, _, stderr) = setup.svc(&[
        "new",
        "orders-api",
        "--yes",
        "--set",
        "owner=payments",
        "--template",
        template.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        setup
            .read("pyproject.toml")
            .contains(&format!("commit = \"{}\"", setup.v1)),
        "svc new records the template commit:\n{}",
        setup.read("pyproject.toml")
    );
    git(&project, &setup.home, &["init", "-q"]);
    setup.commit_project();

    // Version 2 of the template.
    write_template(
        &template,
        &[
            ("template.toml", V2_MANIFEST),
            ("app.py", V2_APP),
            ("pyproject.toml.tera", V2_PYPROJECT),
            (
                "Dockerfile",
                "FROM python:3.13-slim\nUSER app\nCMD [\"python\", \"app.py\"]\n",
            ),
            (
                "OWNERS.tera",
                "owner: {{ team }}\nreplicas: {{ replicas }}\n",
            ),
            ("config.yaml", "timeout: 10\nretries: 3\n"),
            ("new.txt", "added in v2\n"),
            ("notes.md", "line one\nline two, amended\n"),
            ("limits.py", "TIMEOUT = 10\nRETRIES = 3\n"),
            ("deploy.yaml", "replicas: 4\nimage: orders:1\n"),
        ],
    );
    fs::remove_file(template.join("old.txt")).unwrap();
    fs::remove_file(template.join("removed_but_edited.txt")).unwrap();
    set_executable(&template.join("run.sh"), true);
    git(&template, &setup.home, &["add", "-A"]);
    git(&template, &setup.home, &["commit", "-q", "-m", "v2"]);
    let v2 = git(&template, &setup.home, &["rev-parse", "HEAD"]);
    Setup { v2, ..setup }
}

/// The user's realistic edits, committed.
fn edit(setup: &Setup) {
    // A change in another region of app.py: merges cleanly with the template's.
    setup.write("app.py", &V1_APP.replace("return 'v1'", "return 'mine'"));
    // The same line the template changes: a conflict.
    setup.write(
        "Dockerfile",
        "FROM python:3.12.7-slim\nUSER app\nCMD [\"python\", \"app.py\"]\n",
    );
    // A dependency of their own, and a setting of their own.
    let pyproject = setup
        .read("pyproject.toml")
        .replace(
            "    \"redis>=5\",\n",
            "    \"redis>=5\",\n    \"httpx>=0.27\",\n",
        )
        .replace("line-length = 100", "line-length = 120");
    setup.write("pyproject.toml", &pyproject);
    setup.write("removed_but_edited.txt", "will go, but I changed it\n");
    fs::remove_file(setup.project.join("deleted_by_user.txt")).unwrap();
    // A checkout with CRLF line endings, otherwise unchanged.
    setup.write("notes.md", "line one\r\nline two\r\n");
    setup.write("mine.py", "print('a file of my own')\n");
    // The same lines the template changes, in Python and YAML: conflicts.
    setup.write("limits.py", "TIMEOUT = 7\nRETRIES = 3\n");
    setup.write("deploy.yaml", "replicas: 3\nimage: orders:1\n");
    setup.commit_project();
}

#[test]
fn update_merges_every_case_and_records_the_new_version_last() {
    let s = setup();
    edit(&s);
    let (code, stdout, stderr) = s.update(&[]);
    assert_eq!(code, 1, "conflicts: exit 1\n{stdout}\n{stderr}");
    // Conflicts in Python, YAML and a Dockerfile are marked; one in TOML keeps the file
    // valid, keeps the user's value and is listed with both values.
    assert_eq!(
        s.read("limits.py"),
        "<<<<<<< yours\nTIMEOUT = 7\n=======\nTIMEOUT = 10\n>>>>>>> orders-template template 2\nRETRIES = 3\n"
    );
    assert!(
        s.read("deploy.yaml")
            .starts_with("<<<<<<< yours\nreplicas: 3\n=======\nreplicas: 4\n")
    );
    assert!(
        stderr.contains(
            "`tool.ruff.line-length`: you set 120 and the template now sets 110; kept yours"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("with 4 conflicts"), "{stderr}");

    // Changed by both, in different places: merged.
    assert!(s.read("app.py").contains("return 'mine'"));
    assert!(s.read("app.py").contains("return {'status': 'ok'}"));
    // Changed by both on the same line: marked, git's style, and listed.
    let dockerfile = s.read("Dockerfile");
    assert!(
        dockerfile.starts_with(
            "<<<<<<< yours\nFROM python:3.12.7-slim\n=======\nFROM python:3.13-slim\n>>>>>>> orders-template template 2\n"
        ),
        "{dockerfile}"
    );
    assert!(
        stderr.contains("Dockerfile: 1 conflicting region marked in the file"),
        "{stderr}"
    );
    // TOML by key: the user's dependency and setting, the template's bump, addition and key.
    let pyproject = s.read("pyproject.toml");
    for wanted in [
        "\"fastapi>=0.115\"",
        "\"httpx>=0.27\"",
        "\"orjson>=3\"",
        "line-length = 120",
        "target-version = \"py312\"",
    ] {
        assert!(pyproject.contains(wanted), "{wanted} missing:\n{pyproject}");
    }
    assert!(!pyproject.contains("fastapi>=0.110"), "{pyproject}");
    // The record: the new version, the new commit, the migrated and the new answer.
    let doc: toml_edit::DocumentMut = pyproject.parse().unwrap();
    let record = &doc["tool"]["svc"]["template"];
    assert_eq!(record["version"].as_str(), Some("2"));
    assert_eq!(record["commit"].as_str(), Some(s.v2.as_str()));
    assert_eq!(record["answers"]["team"].as_str(), Some("payments"));
    assert_eq!(record["answers"]["replicas"].as_integer(), Some(2));
    assert!(record["answers"].get("owner").is_none());
    assert!(
        stderr.contains("the answer `owner` is now `team`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("replicas = 2"),
        "the defaulted new variable is named: {stderr}"
    );
    // Unchanged by the user: replaced, with the migrated answer.
    assert_eq!(s.read("OWNERS"), "owner: payments\nreplicas: 2\n");
    assert_eq!(s.read("config.yaml"), "timeout: 10\nretries: 3\n");
    // Added by the template: created; removed and never changed: deleted; removed but
    // changed: kept; deleted by the user: stays deleted; the user's own file: untouched.
    assert_eq!(s.read("new.txt"), "added in v2\n");
    assert!(!s.project.join("old.txt").exists());
    assert_eq!(
        s.read("removed_but_edited.txt"),
        "will go, but I changed it\n"
    );
    assert!(!s.project.join("deleted_by_user.txt").exists());
    assert_eq!(s.read("mine.py"), "print('a file of my own')\n");
    // CRLF kept on a file the template changed.
    assert_eq!(s.read("notes.md"), "line one\r\nline two, amended\r\n");
    // The executable bit the template added.
    #[cfg(unix)]
    assert!(is_executable(&s.project.join("run.sh")));
    // The plan named each case.
    for (word, path) in [
        ("merge", "app.py"),
        ("conflict", "Dockerfile"),
        ("replace", "config.yaml"),
        ("create", "new.txt"),
        ("delete", "old.txt"),
        ("keep", "removed_but_edited.txt"),
        ("deleted", "deleted_by_user.txt"),
    ] {
        assert!(
            stderr.lines().any(|l| {
                let mut words = l.split_whitespace();
                words.next() == Some(word) && words.next() == Some(path)
            }),
            "{word} {path} not in the plan:\n{stderr}"
        );
    }
    assert!(
        stderr.contains("svc audit:"),
        "the update reports its effect on findings: {stderr}"
    );
}

#[test]
fn dry_run_prints_the_plan_and_a_diff_and_writes_nothing() {
    let s = setup();
    edit(&s);
    let before = snapshot(&s.project);
    let (code, stdout, stderr) = s.update(&["--dry-run"]);
    assert_eq!(code, 1, "a conflict would happen: {stderr}");
    assert_eq!(snapshot(&s.project), before, "a dry run writes nothing");
    assert!(
        stdout.contains("--- a/config.yaml\n+++ b/config.yaml\n"),
        "{stdout}"
    );
    assert!(stdout.contains("-timeout: 5\n+timeout: 10\n"), "{stdout}");
    assert!(
        stdout.contains("--- a/old.txt\n+++ /dev/null\n"),
        "{stdout}"
    );
    assert!(stderr.contains("dry run: nothing was written"), "{stderr}");
}

#[test]
fn a_dirty_work_tree_is_refused_unless_allowed() {
    let s = setup();
    s.write("config.yaml", "timeout: 7\nretries: 3\n"); // Not committed.
    let before = snapshot(&s.project);
    let (code, _, stderr) = s.update(&[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("uncommitted changes: config.yaml"),
        "{stderr}"
    );
    assert_eq!(snapshot(&s.project), before);

    let (code, _, stderr) = s.update(&["--allow-dirty"]);
    assert_eq!(
        code, 1,
        "the uncommitted edit conflicts with the template's: {stderr}"
    );
    assert!(
        s.read("config.yaml")
            .contains("<<<<<<< yours\ntimeout: 7\n"),
        "{}",
        s.read("config.yaml")
    );
}

#[test]
fn conflict_rej_keeps_the_file_and_writes_the_templates_change_beside_it() {
    let s = setup();
    edit(&s);
    let (code, _, stderr) = s.update(&["--conflict", "rej"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        s.read("Dockerfile"),
        "FROM python:3.12.7-slim\nUSER app\nCMD [\"python\", \"app.py\"]\n"
    );
    let rej = s.read("Dockerfile.rej");
    assert!(
        rej.contains("-FROM python:3.12-slim\n+FROM python:3.13-slim\n"),
        "{rej}"
    );
    assert!(stderr.contains("Dockerfile.rej"), "{stderr}");
}

#[test]
fn diff3_markers_show_the_recorded_version() {
    let s = setup();
    edit(&s);
    let (code, _, _) = s.update(&["--conflict", "diff3"]);
    assert_eq!(code, 1);
    assert!(
        s.read("Dockerfile")
            .contains("||||||| orders-template template 1\nFROM python:3.12-slim\n"),
        "{}",
        s.read("Dockerfile")
    );
}

#[test]
fn an_up_to_date_service_is_left_alone_and_set_answers_a_new_variable() {
    let s = setup();
    let (code, _, stderr) = s.update(&["--set", "replicas=5"]);
    assert_eq!(code, 0, "no user edits: no conflicts\n{stderr}");
    assert_eq!(s.read("OWNERS"), "owner: payments\nreplicas: 5\n");
    s.commit_project();
    let (code, _, stderr) = s.update(&[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("nothing to update"), "{stderr}");
}

#[test]
fn check_fails_when_behind_and_on_drift_that_produces_findings() {
    let s = setup();
    let template = s.template.to_str().unwrap().to_owned();
    let project = s.project.to_str().unwrap().to_owned();
    // Behind: the template moved to v2.
    let (code, stdout, _) = s.svc(&["check", &project, "--template", &template]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("behind the current version 2"), "{stdout}");
    let (code, stdout, _) = s.svc(&[
        "check",
        &project,
        "--template",
        &template,
        "--format",
        "json",
    ]);
    assert_eq!(code, 1);
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json[0]["behind"], true);
    assert_eq!(json[0]["ok"], false);

    // Updated: on the golden path; a harmless edit is listed, not failed.
    let (code, _, stderr) = s.update(&[]);
    assert_eq!(code, 0, "{stderr}");
    s.write("config.yaml", "timeout: 30\nretries: 3\n");
    let (code, stdout, _) = s.svc(&["check", &project, "--template", &template]);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains("changed from the template: config.yaml"),
        "{stdout}"
    );
    assert!(
        stdout.contains("1 service: 1 on the golden path, 0 not"),
        "{stdout}"
    );
}

/// (path, contents) of every file under `dir`, outside `.git`.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().is_some_and(|n| n == ".git") {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.push((rel, fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// The embedded variants: every version before the current one is frozen in the binary and
/// still renders (an update needs it as the base), and `svc update` brings a service from the
/// previous version to the current one with no conflicts, leaving `svc audit` clean.
#[test]
fn every_older_embedded_version_renders_and_updates_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    fs::create_dir_all(&home).unwrap();
    let run = |dir: &Path, args: &[&str]| {
        let out = svc_in(&home).args(args).current_dir(dir).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    for variant in svc::new::templates::visible_variants() {
        let live = svc::new::templates::embedded(variant)
            .unwrap()
            .manifest
            .version;
        let live_number: u64 = live.parse().expect("embedded versions are numbers");
        assert!(
            live_number >= 2,
            "{variant}: version 1 is frozen, so the live one is newer"
        );
        for older in 1..live_number {
            let older = older.to_string();
            assert!(
                svc::new::templates::released_versions(variant).contains(&older),
                "{variant} {older} is not frozen: run scripts/freeze_template.py at the commit \
                 that released it"
            );
            let dir = tmp.path().join(format!("{variant}-{older}"));
            let target = dir.to_str().unwrap();
            let (code, out) = run(
                tmp.path(),
                &[
                    "new",
                    "orders-api",
                    "--variant",
                    variant,
                    "--template-version",
                    &older,
                    "--yes",
                    "-o",
                    target,
                ],
            );
            assert_eq!(code, 0, "{variant} {older}: {out}");
            let pyproject = fs::read_to_string(dir.join("pyproject.toml")).unwrap();
            assert!(
                pyproject.contains(&format!("version = \"{older}\"")),
                "{pyproject}"
            );
            git(&dir, &home, &["init", "-q"]);
            git(&dir, &home, &["add", "-A"]);
            git(&dir, &home, &["commit", "-q", "-m", "generated"]);
            let (code, out) = run(&dir, &["check"]);
            assert_eq!(code, 1, "{variant} {older} is behind: {out}");
            let (code, out) = run(&dir, &["update", "--yes"]);
            assert_eq!(code, 0, "{variant} {older} -> {live}: {out}");
            assert!(!out.contains("conflict"), "{out}");
            let pyproject = fs::read_to_string(dir.join("pyproject.toml")).unwrap();
            assert!(
                pyproject.contains(&format!("version = \"{live}\"")),
                "{pyproject}"
            );
            // The update equals a fresh render of the current version with the same answers
            // (a default changed since, such as the Python version, was recorded as an
            // answer, so the service keeps it).
            let updated_pyproject = fs::read_to_string(dir.join("pyproject.toml")).unwrap();
            let doc: toml_edit::DocumentMut = updated_pyproject.parse().unwrap();
            let answers = doc["tool"]["svc"]["template"]["answers"]
                .as_table()
                .unwrap();
            let fresh = tmp.path().join(format!("{variant}-fresh"));
            let mut args: Vec<String> = ["new", "orders-api", "--variant", variant, "--yes", "-o"]
                .map(str::to_owned)
                .to_vec();
            args.push(fresh.to_str().unwrap().to_owned());
            for (key, value) in answers.iter().filter(|(k, _)| *k != "name") {
                let value = value
                    .as_str()
                    .map_or_else(|| value.to_string().trim().to_owned(), str::to_owned);
                args.extend(["--set".to_owned(), format!("{key}={value}")]);
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let (code, out) = run(tmp.path(), &args);
            assert_eq!(code, 0, "{out}");
            let (updated, rendered) = (snapshot(&dir), snapshot(&fresh));
            let paths =
                |s: &[(String, Vec<u8>)]| s.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>();
            assert_eq!(
                paths(&updated),
                paths(&rendered),
                "{variant}: the files differ"
            );
            let differ: Vec<&String> = updated
                .iter()
                .zip(&rendered)
                .filter(|(a, b)| a.1 != b.1)
                .map(|(a, _)| &a.0)
                .collect();
            assert!(
                differ.is_empty(),
                "{variant}: update != fresh render in {differ:?}"
            );
            let (code, out) = run(&dir, &["audit", "."]);
            assert_eq!(code, 0, "{variant}: {out}");
            let (code, out) = run(&dir, &["check"]);
            assert_eq!(code, 0, "{variant}: {out}");
        }
    }
}

/// `svc check` on a current service: a template-owned file edited so that the audit finds
/// something (the Dockerfile's USER line removed: the container runs as root) fails the
/// check, and says which finding; an edit the audit has nothing against is listed only.
#[test]
fn check_fails_on_drift_that_produces_findings_in_an_embedded_service() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("orders-api");
    let svc = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_svc"))
            .env("NO_COLOR", "1")
            .args(args)
            .current_dir(tmp.path())
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, _) = svc(&["new", "orders-api", "--variant", "container", "--yes"]);
    assert_eq!(code, 0);
    let target = dir.to_str().unwrap();
    let (code, out) = svc(&["check", target]);
    assert_eq!(code, 0, "{out}");
    let dockerfile = fs::read_to_string(dir.join("Dockerfile")).unwrap();
    fs::write(
        dir.join("Dockerfile"),
        format!("{dockerfile}# a harmless note\n"),
    )
    .unwrap();
    let (code, out) = svc(&["check", target]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("changed from the template: Dockerfile"),
        "{out}"
    );
    let without: String = dockerfile
        .split_inclusive('\n')
        .filter(|line| !line.starts_with("USER "))
        .collect();
    assert_ne!(without, dockerfile, "the template has a USER line");
    fs::write(dir.join("Dockerfile"), without).unwrap();
    let (code, out) = svc(&["check", target]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("drift: Dockerfile:"), "{out}");
    assert!(out.contains("FAIL"), "{out}");
}

/// SIGINT or SIGTERM while an update writes: the project ends as it was or wholly updated,
/// never a mix, and no temporary file stays behind. Many files widen the window.
#[test]
fn an_interrupt_during_the_write_leaves_the_project_as_it_was_or_updated() {
    use std::time::{Duration, Instant};
    const FILES: usize = 600;
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    fs::create_dir_all(&home).unwrap();
    let template = tmp.path().join("t");
    let write_version = |version: &str| {
        let mut files = vec![(
            "template.toml".to_owned(),
            format!("[template]\nname = \"bulk\"\nversion = \"{version}\"\n"),
        )];
        for i in 0..FILES {
            files.push((
                format!("d{}/f{i}.txt", i % 30),
                format!("file {i} of version {version}\n"),
            ));
        }
        for (path, text) in files {
            let path = template.join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
    };
    fs::create_dir_all(&template).unwrap();
    git(&template, &home, &["init", "-q"]);
    write_version("1");
    git(&template, &home, &["add", "-A"]);
    git(&template, &home, &["commit", "-q", "-m", "v1"]);
    let svc = || {
        let mut cmd = svc_in(&home);
        cmd.current_dir(tmp.path());
        cmd
    };
    let project = tmp.path().join("p");
    let status = svc()
        .args(["new", "bulk-api", "--yes", "-o", "p", "--template"])
        .arg(&template)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    write_version("2");
    git(&template, &home, &["add", "-A"]);
    git(&template, &home, &["commit", "-q", "-m", "v2"]);
    let original = snapshot(&project);

    let leftovers = |dir: &Path| {
        snapshot(dir)
            .into_iter()
            .filter(|(p, _)| p.rsplit('/').next().unwrap().starts_with(".svc-update-"))
            .count()
    };
    let mut outcomes = Vec::new();
    for (signal, delay_ms) in [
        ("INT", 0u64),
        ("TERM", 2),
        ("INT", 5),
        ("INT", 20),
        ("TERM", 60),
    ] {
        // Each round starts from the generated project.
        for (path, _) in snapshot(&project) {
            fs::remove_file(project.join(path)).unwrap();
        }
        for (path, contents) in &original {
            fs::create_dir_all(project.join(path).parent().unwrap()).unwrap();
            fs::write(project.join(path), contents).unwrap();
        }
        let mut child = svc()
            .args(["update", "p", "--yes", "--allow-dirty", "--template"])
            .arg(&template)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while leftovers(&project) == 0 && child.try_wait().unwrap().is_none() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the update never started writing"
            );
            std::thread::sleep(Duration::from_micros(300));
        }
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = Command::new("kill")
            .args(["-s", signal, &child.id().to_string()])
            .status();
        let status = child.wait().unwrap();
        let after = snapshot(&project);
        assert_eq!(
            leftovers(&project),
            0,
            "{signal} after {delay_ms} ms left temporary files"
        );
        let updated = after.iter().all(|(p, c)| {
            p == "pyproject.toml" || String::from_utf8_lossy(c).ends_with("of version 2\n")
        });
        let untouched = after == original;
        assert!(
            updated || untouched,
            "{signal} after {delay_ms} ms: a mix of versions ({status:?})"
        );
        outcomes.push((untouched, status.code()));
    }
    // At least one signal landed while the write was under way and was rolled back.
    assert!(
        outcomes
            .iter()
            .any(|(untouched, code)| *untouched && *code == Some(130)),
        "{outcomes:?}"
    );
}

/// `--to REF` updates to a tag of the template repository rather than its work tree, and
/// records that commit; a reference that names nothing is an error that changes nothing.
#[test]
fn to_a_tag_of_the_template_repository() {
    let s = setup();
    git(&s.template, &s.home, &["tag", "v2"]);
    fs::write(s.template.join("new.txt"), "changed after the tag\n").unwrap();
    git(&s.template, &s.home, &["commit", "-q", "-am", "after v2"]);
    let before = snapshot(&s.project);
    let (code, _, stderr) = s.update(&["--to", "no-such-tag"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no such tag or commit"), "{stderr}");
    assert_eq!(snapshot(&s.project), before);
    let (code, _, stderr) = s.update(&["--to", "v2"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(s.read("new.txt"), "added in v2\n");
    assert!(
        s.read("pyproject.toml")
            .contains(&format!("commit = \"{}\"", s.v2))
    );
}
