//! `svc new` as users run it: listing, answering, rendering, writing, and failing cleanly.
//!
//! Engine tests use the hidden `templates/_test` fixture, so they do not depend on the content
//! of the real templates; each run happens in its own temporary working directory.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// 2030-03-17: pins the `year` built-in.
pub(crate) const SOURCE_DATE_EPOCH: &str = "1900000000";

pub(crate) fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub(crate) fn fixture() -> PathBuf {
    repo().join("templates/_test")
}

pub(crate) struct Output {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// A temporary working directory to run `svc new` in.
pub(crate) struct Sandbox {
    pub(crate) dir: tempfile::TempDir,
}

impl Sandbox {
    pub(crate) fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub(crate) fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    pub(crate) fn svc(&self) -> Command {
        let mut cmd = Command::cargo_bin("svc").unwrap();
        cmd.current_dir(self.dir.path())
            .env("NO_COLOR", "1")
            .env("SOURCE_DATE_EPOCH", SOURCE_DATE_EPOCH)
            // The test templates live in this repository: without a ceiling, svc would record
            // its commit (as for any template directory in git), which changes every commit.
            .env("GIT_CEILING_DIRECTORIES", env!("CARGO_MANIFEST_DIR"));
        cmd
    }

    pub(crate) fn run(&self, args: &[&str]) -> Output {
        let out = self.svc().args(args).output().unwrap();
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
        }
    }

    /// `svc new ARGS... --template templates/_test`.
    pub(crate) fn new_from_fixture(&self, args: &[&str]) -> Output {
        let template = fixture();
        let mut all = vec!["new"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--template", template.to_str().unwrap()]);
        self.run(&all)
    }

    /// Names in the working directory, hidden ones included: temp dirs must not linger.
    pub(crate) fn entries(&self) -> Vec<String> {
        entries(self.dir.path())
    }

    /// `svc ARGS` on a pseudo-terminal, so it prompts.
    #[cfg(unix)]
    pub(crate) fn pty(&self, args: &[&str]) -> rexpect::session::PtySession {
        let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("svc"));
        command
            .current_dir(self.dir.path())
            .env("NO_COLOR", "1")
            .env("TERM", "xterm")
            .env("SOURCE_DATE_EPOCH", SOURCE_DATE_EPOCH)
            .args(args);
        rexpect::session::spawn_command(command, Some(20_000)).unwrap()
    }
}

/// Waits for a prompt, then gives it time to switch the terminal to raw mode: keys sent
/// before that would be line-buffered by the terminal, or discarded by the switch.
#[cfg(unix)]
pub(crate) fn answer(session: &mut rexpect::session::PtySession, prompt: &str, keys: &str) {
    session.exp_string(prompt).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    session.send(keys).unwrap();
    session.flush().unwrap();
}

/// Waits for the next steps and the end of the session: exit 0.
#[cfg(unix)]
pub(crate) fn assert_finished(session: &mut rexpect::session::PtySession) {
    session.exp_string("Next steps").unwrap();
    session.exp_eof().unwrap();
    let status = session.process().wait().unwrap();
    assert!(
        matches!(status, rexpect::process::WaitStatus::Exited(_, 0)),
        "{status:?}"
    );
}

pub(crate) fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// miette wraps long messages and draws a margin; compare the words only.
pub(crate) fn flat(text: &str) -> String {
    text.replace(['│', '×', '╰', '─', '▶', '├'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

pub(crate) fn assert_usage_error(out: &Output, message: &str) {
    assert_eq!(out.code, 2, "stderr: {}", out.stderr);
    assert!(
        out.stdout.is_empty(),
        "stdout must stay empty: {}",
        out.stdout
    );
    assert!(
        flat(&out.stderr).contains(message),
        "expected {message:?} in:\n{}",
        out.stderr
    );
}

fn snapshot_settings() -> insta::Settings {
    let mut settings = crate::util::snapshot_settings("new");
    settings.add_filter(r#"svc_version = "[^"]*""#, r#"svc_version = "[VERSION]""#);
    settings.add_filter(r"svc \d+\.\d+\.\d+\S*", "svc [VERSION]");
    settings.add_filter(r"/[^\s:]*/templates/", "[REPO]/templates/");
    settings
}

/// Every file under `root`, sorted, with its contents; executables marked `*`.
fn dump(root: &Path) -> String {
    fn walk(root: &Path, dir: &Path, files: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, files);
            } else {
                files.push(path.strip_prefix(root).unwrap().to_owned());
            }
        }
    }
    let mut files = Vec::new();
    walk(root, root, &mut files);
    files.sort();
    let mut out = String::new();
    for relative in files {
        let path = root.join(&relative);
        let marker = if is_executable(&path) { "*" } else { "" };
        out.push_str(&format!("=== {}{marker}\n", relative.display()));
        out.push_str(&fs::read_to_string(&path).unwrap());
    }
    out
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).unwrap().permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_path: &Path) -> bool {
    false
}

// --list -----------------------------------------------------------------------------------

#[test]
fn list_shows_every_visible_embedded_variant_and_hides_underscored_ones() {
    let sandbox = Sandbox::new();
    let out = sandbox.run(&["new", "--list"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut expected = 0;
    for entry in fs::read_dir(repo().join("templates")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.starts_with('_') {
            assert!(
                !out.stdout.contains(&name),
                "{name} must be hidden:\n{}",
                out.stdout
            );
        } else if repo()
            .join("templates")
            .join(&name)
            .join("template.toml")
            .is_file()
        {
            expected += 1;
            assert!(
                out.stdout.contains(&format!("{name} (version ")),
                "{name} is missing:\n{}",
                out.stdout
            );
        }
    }
    let listed = out
        .stdout
        .lines()
        .filter(|l| !l.starts_with(' ') && !l.is_empty())
        .count();
    assert_eq!(listed, expected, "{}", out.stdout);
}

#[test]
fn list_of_a_template_directory_shows_every_option() {
    let sandbox = Sandbox::new();
    let out = sandbox.run(&["new", "--list", "--template", fixture().to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    snapshot_settings().bind(|| insta::assert_snapshot!("list_fixture", out.stdout));
}

// --dry-run --------------------------------------------------------------------------------

#[test]
fn dry_run_prints_the_tree_and_writes_nothing() {
    let sandbox = Sandbox::new();
    let out = sandbox.new_from_fixture(&["My Service", "--dry-run", "--yes"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    snapshot_settings().bind(|| insta::assert_snapshot!("dry_run_tree", out.stdout));
    assert!(
        out.stderr
            .contains(r#"note: using "my-service" as the service name (from "My Service")"#),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("dry run: 8 files would be written to my-service; nothing was written"),
        "{}",
        out.stderr
    );
    assert!(sandbox.entries().is_empty(), "{:?}", sandbox.entries());
}

#[test]
fn dry_run_still_refuses_an_occupied_target() {
    let sandbox = Sandbox::new();
    fs::create_dir(sandbox.path("orders-api")).unwrap();
    fs::write(sandbox.path("orders-api/keep.txt"), "mine").unwrap();
    let out = sandbox.new_from_fixture(&["orders-api", "--dry-run", "--yes"]);
    assert_usage_error(&out, "orders-api already exists and is not empty");
}

// Names --------------------------------------------------------------------------------------

#[test]
fn bad_names_are_refused_with_exit_2_and_a_reason() {
    let long = "a".repeat(64);
    let cases = [
        ("../evil", r#"the service name "../evil" looks like a path"#),
        ("a/b", r#"the service name "a/b" looks like a path"#),
        (r"a\b", r#"the service name "a\\b" looks like a path"#),
        ("..", r#"the service name ".." looks like a path"#),
        ("", "the service name is empty"),
        (
            "test",
            r#"the service name "test" is reserved: the package would shadow a module of the Python standard library"#,
        ),
        ("site", r#""site" is reserved"#),
        ("app", r#""app" is reserved: it is too generic"#),
        ("python", r#""python" is reserved"#),
        (
            "fastapi",
            r#""fastapi" is reserved: the package would shadow a library that generated services use"#,
        ),
        ("redis", r#""redis" is reserved"#),
        ("celery", r#""celery" is reserved"#),
        ("class", r#""class" is reserved: it is a Python keyword"#),
        (
            "con",
            r#""con" is reserved: it is a device name on Windows"#,
        ),
        (
            "LPT1",
            r#""lpt1" is reserved: it is a device name on Windows"#,
        ),
        (
            "café",
            r#"the service name "café" contains 'é', which a DNS label cannot hold"#,
        ),
        ("my$svc", r#"contains '$'"#),
        (
            "1api",
            r#"the service name "1api" must start with a letter"#,
        ),
        (
            long.as_str(),
            "is 64 characters long; a DNS label has at most 63",
        ),
    ];
    let sandbox = Sandbox::new();
    for (name, message) in cases {
        let out = sandbox.new_from_fixture(&[name, "--yes"]);
        assert_usage_error(&out, message);
    }
    assert!(sandbox.entries().is_empty(), "{:?}", sandbox.entries());
}

#[test]
fn traversal_error_output() {
    let sandbox = Sandbox::new();
    let out = sandbox.new_from_fixture(&["../evil", "--yes"]);
    assert_eq!(out.code, 2);
    snapshot_settings().bind(|| insta::assert_snapshot!("error_traversal", out.stderr));
}

#[test]
fn missing_name_without_a_terminal_is_an_error() {
    let sandbox = Sandbox::new();
    let out = sandbox.new_from_fixture(&[]);
    assert_usage_error(&out, "no service name given");
}

// --set --------------------------------------------------------------------------------------

#[test]
fn unknown_set_key_lists_the_known_keys() {
    let sandbox = Sandbox::new();
    let out = sandbox.new_from_fixture(&["orders-api", "--set", "pyhton_version=3.12"]);
    assert_usage_error(
        &out,
        "unknown variable `pyhton_version` in --set; the _test template's variables are: \
         python_version, auth, issuer, replicas",
    );
    assert!(sandbox.entries().is_empty());
}

#[test]
fn bad_choice_names_the_key_and_the_allowed_values() {
    let sandbox = Sandbox::new();
    let out = sandbox.new_from_fixture(&["orders-api", "--set", "python_version=3.10"]);
    assert_usage_error(
        &out,
        r#"invalid value "3.10" for `python_version`: expected one of: 3.11, 3.12, 3.13"#,
    );
    snapshot_settings().bind(|| insta::assert_snapshot!("error_bad_choice", out.stderr));
}

#[test]
fn other_bad_values_use_the_same_validation_as_the_prompts() {
    let sandbox = Sandbox::new();
    let cases = [
        (
            "auth=maybe",
            r#"invalid value "maybe" for `auth`: expected true or false"#,
        ),
        (
            "replicas=11",
            r#"invalid value "11" for `replicas`: must be at most 10"#,
        ),
        (
            "replicas=two",
            r#"invalid value "two" for `replicas`: expected a whole number"#,
        ),
        (
            "issuer=http://x",
            r#"invalid value "http://x" for `issuer`: expected an https:// URL without spaces"#,
        ),
        ("auth", r#"--set "auth" is not KEY=VALUE"#),
        ("name=x", "unknown variable `name` in --set"),
    ];
    for (set, message) in cases {
        let out = sandbox.new_from_fixture(&["orders-api", "--set", set]);
        assert_usage_error(&out, message);
    }
}

#[test]
fn set_for_a_question_that_does_not_apply_is_ignored_with_a_warning() {
    let sandbox = Sandbox::new();
    let out = sandbox.new_from_fixture(&[
        "orders-api",
        "--yes",
        "--set",
        "auth=false",
        "--set",
        "issuer=https://id.example",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("warning: --set issuer has no effect: it applies only when auth"),
        "{}",
        out.stderr
    );
}

#[test]
fn without_a_terminal_defaults_are_used_and_named() {
    let sandbox = Sandbox::new();
    let out = sandbox.new_from_fixture(&["orders-api", "--set", "replicas=3"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("note: no terminal to ask on, so these take their defaults: python_version, auth, issuer"),
        "{}",
        out.stderr
    );
    // --yes (alias --no-input) accepts the defaults quietly.
    let out = sandbox.new_from_fixture(&["billing", "--no-input"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stderr.contains("note:"), "{}", out.stderr);
}

#[test]
fn variant_and_template_together_are_a_usage_error() {
    let sandbox = Sandbox::new();
    let out = sandbox.new_from_fixture(&["orders-api", "--variant", "container"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("cannot be used with"), "{}", out.stderr);
}

#[test]
fn unknown_variant_lists_the_available_ones() {
    let sandbox = Sandbox::new();
    let out = sandbox.run(&["new", "orders-api", "--variant", "nope", "--yes"]);
    assert_usage_error(&out, r#"unknown template variant "nope"; available:"#);
}

// Writing ------------------------------------------------------------------------------------

#[test]
fn generates_the_project_and_prints_next_steps_on_stderr() {
    let sandbox = Sandbox::new();
    let out = sandbox.new_from_fixture(&["orders-api", "--yes", "--set", "replicas=3"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "", "only --list and --dry-run print to stdout");
    for step in [
        "cd orders-api",
        // The fixture's python_version default, as the generated README names it.
        "python3.12 -m venv .venv",
        "pip install -e '.[dev]'",
        "pytest",
        "svc audit",
    ] {
        assert!(
            out.stderr.contains(step),
            "{step} missing from:\n{}",
            out.stderr
        );
    }
    assert_eq!(sandbox.entries(), ["orders-api"]);
    snapshot_settings()
        .bind(|| insta::assert_snapshot!("generated_defaults", dump(&sandbox.path("orders-api"))));
}

#[test]
fn conditional_files_follow_the_answers() {
    let sandbox = Sandbox::new();
    let out = sandbox.new_from_fixture(&["orders-api", "--yes", "--set", "auth=false"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let package = sandbox.path("orders-api/orders_api");
    assert_eq!(entries(&package), ["__init__.py", "public.py"]);
}

#[test]
fn github_and_helm_braces_survive() {
    let sandbox = Sandbox::new();
    let out = sandbox.new_from_fixture(&["orders-api", "--yes"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let workflow = fs::read(sandbox.path("orders-api/.github/workflows/ci.yml")).unwrap();
    assert_eq!(
        workflow,
        fs::read(fixture().join(".github/workflows/ci.yml")).unwrap()
    );
    let deploy = fs::read_to_string(sandbox.path("orders-api/deploy/orders-api.yaml")).unwrap();
    assert!(
        deploy.contains("helm: {{ .Values.image.tag | default .Chart.AppVersion }}"),
        "{deploy}"
    );
    assert!(deploy.contains("actions: ${{ github.sha }}"), "{deploy}");
}

#[cfg(unix)]
#[test]
fn executable_bit_is_preserved_from_a_directory_and_from_the_embedded_copy() {
    let sandbox = Sandbox::new();
    assert_eq!(sandbox.new_from_fixture(&["from-dir", "--yes"]).code, 0);
    let out = sandbox.run(&["new", "embedded", "--variant", "_test", "--yes"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for project in ["from-dir", "embedded"] {
        assert!(
            is_executable(&sandbox.path(&format!("{project}/scripts/check.sh"))),
            "{project}"
        );
        assert!(
            !is_executable(&sandbox.path(&format!("{project}/README.md"))),
            "{project}"
        );
    }
}

#[test]
fn pyproject_records_the_template_and_keeps_its_formatting() {
    let sandbox = Sandbox::new();
    let out = sandbox.new_from_fixture(&["orders-api", "--yes", "--set", "python_version=3.13"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let pyproject = fs::read_to_string(sandbox.path("orders-api/pyproject.toml")).unwrap();
    let version = env!("CARGO_PKG_VERSION");
    let expected = format!(
        r#"# orders-api: generated by svc {version}
[project]
name    = "orders-api"          # the distribution name
version = "0.1.0"
requires-python = ">=3.13"
dependencies = [
    "fastapi>=0.165",   # keep this comment
]

[project.optional-dependencies]
dev = ["pytest>=8"]

[tool.svc]
# The audit's own configuration: svc new must leave it alone.
fail-on = "error"

[tool.svc.template]
name = "_test"
version = "1"
svc_version = "{version}"

[tool.svc.template.answers]
name = "orders-api"
python_version = "3.13"
auth = true
issuer = "https://auth.example.com/"
replicas = 2
"#
    );
    assert_eq!(pyproject, expected);
}

#[test]
fn an_empty_target_directory_is_filled() {
    let sandbox = Sandbox::new();
    fs::create_dir(sandbox.path("orders-api")).unwrap();
    let out = sandbox.new_from_fixture(&["orders-api", "--yes"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(sandbox.path("orders-api/pyproject.toml").is_file());
    assert_eq!(sandbox.entries(), ["orders-api"]);
}

#[test]
fn non_empty_target_without_force_is_left_untouched() {
    let sandbox = Sandbox::new();
    fs::create_dir(sandbox.path("orders-api")).unwrap();
    fs::write(sandbox.path("orders-api/notes.txt"), "mine").unwrap();
    let out = sandbox.new_from_fixture(&["orders-api", "--yes"]);
    assert_usage_error(&out, "orders-api already exists and is not empty");
    assert!(
        flat(&out.stderr).contains(
            "pass --force to write the generated files into it (its other files are kept)"
        ),
        "{}",
        out.stderr
    );
    assert_eq!(entries(&sandbox.path("orders-api")), ["notes.txt"]);
    assert_eq!(
        fs::read_to_string(sandbox.path("orders-api/notes.txt")).unwrap(),
        "mine"
    );
    assert_eq!(sandbox.entries(), ["orders-api"]);
}

#[test]
fn force_writes_into_a_non_empty_target_and_keeps_its_other_files() {
    let sandbox = Sandbox::new();
    fs::create_dir_all(sandbox.path("out/old/deep")).unwrap();
    fs::write(sandbox.path("out/old/deep/file.txt"), "old").unwrap();
    let out = sandbox.new_from_fixture(&["orders-api", "--yes", "--force", "--output", "out"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        fs::read_to_string(sandbox.path("out/old/deep/file.txt")).unwrap(),
        "old"
    );
    assert!(sandbox.path("out/orders_api/__init__.py").is_file());
    assert!(out.stderr.contains("cd out"), "{}", out.stderr);
    // Nothing existed with the project's names: nothing was overwritten.
    assert!(!out.stderr.contains("overwrote"), "{}", out.stderr);
    // No temporary file is left behind, here or inside the target.
    assert_eq!(sandbox.entries(), ["out"]);
    let mut leftovers = Vec::new();
    for entry in fs::read_dir(sandbox.path("out")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.starts_with(".svc-") {
            leftovers.push(name);
        }
    }
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn output_into_a_new_nested_directory() {
    let sandbox = Sandbox::new();
    let out = sandbox.new_from_fixture(&["orders-api", "--yes", "-o", "services/orders api"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(sandbox.path("services/orders api/pyproject.toml").is_file());
    assert_eq!(entries(&sandbox.path("services")), ["orders api"]);
    assert!(
        out.stderr.contains("cd 'services/orders api'"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_file_in_the_way_is_refused_even_with_force() {
    let sandbox = Sandbox::new();
    fs::write(sandbox.path("orders-api"), "a file").unwrap();
    let out = sandbox.new_from_fixture(&["orders-api", "--yes", "--force"]);
    assert_usage_error(&out, "orders-api exists and is not a directory");
    assert_eq!(
        fs::read_to_string(sandbox.path("orders-api")).unwrap(),
        "a file"
    );
}

// Custom templates and failures --------------------------------------------------------------

/// Writes a template tree: `(path, contents)` pairs under `root`.
pub(crate) fn write_template(root: &Path, files: &[(&str, &str)]) {
    for (path, contents) in files {
        let path = root.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, contents).unwrap();
    }
}

#[test]
fn a_custom_template_directory_with_common_files() {
    let templates = tempfile::tempdir().unwrap();
    write_template(
        templates.path(),
        &[
            (
                "acme/template.toml",
                "[template]\nname = \"acme\"\ndescription = \"ACME house style\"\nversion = \"2024.1\"\ncommon = true\n\n\
                 [[variables]]\nname = \"team\"\ntype = \"string\"\ndefault = \"platform\"\npattern = \"[a-z]+\"\npattern_help = \"lower-case letters\"\n\n\
                 [derived]\nowner = \"{{ team }}@acme.example\"\n",
            ),
            ("acme/CODEOWNERS.tera", "* {{ owner }}\n"),
            ("acme/LICENSE", "ACME house license\n"),
            ("_common/LICENSE", "overridden by the variant\n"),
            (
                "_common/{{package}}/version.py.tera",
                "__version__ = \"{{ template_version }}\"\n",
            ),
        ],
    );
    let sandbox = Sandbox::new();
    let template = templates.path().join("acme");
    let out = sandbox.run(&[
        "new",
        "billing",
        "--template",
        template.to_str().unwrap(),
        "--set",
        "team=payments",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let project = sandbox.path("billing");
    assert_eq!(
        fs::read_to_string(project.join("CODEOWNERS")).unwrap(),
        "* payments@acme.example\n"
    );
    assert_eq!(
        fs::read_to_string(project.join("LICENSE")).unwrap(),
        "ACME house license\n"
    );
    assert_eq!(
        fs::read_to_string(project.join("billing/version.py")).unwrap(),
        "__version__ = \"2024.1\"\n"
    );
    // No pyproject.toml in the template: one is created to hold the record.
    let pyproject = fs::read_to_string(project.join("pyproject.toml")).unwrap();
    assert!(
        pyproject.starts_with("[tool.svc.template]\nname = \"acme\"\nversion = \"2024.1\"\n"),
        "{pyproject}"
    );
    assert!(pyproject.contains("team = \"payments\""), "{pyproject}");
}

#[test]
fn a_failure_mid_render_leaves_no_target_and_no_temporary_directory() {
    let templates = tempfile::tempdir().unwrap();
    write_template(
        templates.path(),
        &[
            (
                "broken/template.toml",
                "[template]\nname = \"broken\"\nversion = \"1\"\n",
            ),
            ("broken/a_fine.txt.tera", "{{ name }}\n"),
            ("broken/b_copied.bin", "bytes\n"),
            ("broken/c_broken.py.tera", "value = {{ undefined_thing }}\n"),
        ],
    );
    let template = templates.path().join("broken");
    let sandbox = Sandbox::new();
    let out = sandbox.run(&[
        "new",
        "orders-api",
        "--yes",
        "--template",
        template.to_str().unwrap(),
    ]);
    assert_usage_error(&out, "cannot render c_broken.py.tera");
    assert!(
        out.stderr.contains("Variable `undefined_thing` not found"),
        "{}",
        out.stderr
    );
    assert!(sandbox.entries().is_empty(), "{:?}", sandbox.entries());

    // With --force, the existing project is kept as it was.
    fs::create_dir(sandbox.path("orders-api")).unwrap();
    fs::write(sandbox.path("orders-api/keep.txt"), "mine").unwrap();
    let out = sandbox.run(&[
        "new",
        "orders-api",
        "--yes",
        "--force",
        "--template",
        template.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(sandbox.entries(), ["orders-api"]);
    assert_eq!(entries(&sandbox.path("orders-api")), ["keep.txt"]);
}

#[test]
fn a_broken_manifest_names_the_file_and_key() {
    let templates = tempfile::tempdir().unwrap();
    write_template(
        templates.path(),
        &[(
            "t/template.toml",
            "[template]\nname = \"t\"\nversion = \"1\"\n\n[[variables]]\nname = \"py\"\ntype = \"choice\"\n\
             default = \"3.10\"\nchoices = [\"3.11\", \"3.12\"]\n",
        )],
    );
    let sandbox = Sandbox::new();
    let template = templates.path().join("t");
    let out = sandbox.run(&["new", "--list", "--template", template.to_str().unwrap()]);
    assert_usage_error(
        &out,
        "template.toml: `variables[0].default (py)`: the default \"3.10\" is not valid: expected one of: 3.11, 3.12",
    );
    // The span points at the value.
    assert!(out.stderr.contains("default = \"3.10\""), "{}", out.stderr);
}

#[test]
fn a_directory_without_manifest_is_not_a_template() {
    let sandbox = Sandbox::new();
    let out = sandbox.run(&[
        "new",
        "x-api",
        "--yes",
        "--template",
        repo().join("templates").to_str().unwrap(),
    ]);
    assert_usage_error(&out, "is not a template directory: it has no template.toml");
    assert!(
        flat(&out.stderr).contains("templates found inside it:"),
        "{}",
        out.stderr
    );
}

// Embedded templates -------------------------------------------------------------------------

#[test]
fn every_visible_embedded_variant_renders_with_its_defaults() {
    let sandbox = Sandbox::new();
    let listed = sandbox.run(&["new", "--list"]);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let variants: Vec<&str> = listed
        .stdout
        .lines()
        .filter(|l| !l.starts_with(' ') && !l.is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    for variant in variants {
        let out = sandbox.run(&[
            "new",
            "orders-api",
            "--variant",
            variant,
            "--yes",
            "--dry-run",
        ]);
        assert_eq!(out.code, 0, "{variant}: {}", out.stderr);
        assert!(
            out.stdout.contains("pyproject.toml"),
            "{variant}: {}",
            out.stdout
        );
    }
    assert!(sandbox.entries().is_empty());
}

// Prompts on a real pseudo-terminal ----------------------------------------------------------

#[cfg(unix)]
#[test]
fn prompts_validate_as_typed_and_re_prompt() {
    let sandbox = Sandbox::new();
    let template = fixture();
    let mut session = sandbox.pty(&[
        "new",
        "--template",
        template.to_str().unwrap(),
        "--output",
        "out",
    ]);
    let mut answer = |prompt: &str, keys: &str| answer(&mut session, prompt, keys);

    answer("Service name", "../evil\r");
    answer("looks like a path", "My Service\r");
    // python_version: a Select; one down from the default 3.12 is 3.13.
    answer("python_version", "\x1b[B\r");
    // auth: a Confirm, answered with Enter; 'n' then, so `issuer` (when = "auth") is not asked.
    answer("Protect routes", "n\r");
    answer("replicas", "11\r");
    answer("must be at most 10", "3\r");
    assert_finished(&mut session);

    let pyproject = fs::read_to_string(sandbox.path("out/pyproject.toml")).unwrap();
    let answers = pyproject
        .split("[tool.svc.template.answers]")
        .nth(1)
        .unwrap();
    assert_eq!(
        answers,
        "\nname = \"my-service\"\npython_version = \"3.13\"\nauth = false\n\
         issuer = \"https://auth.example.com/\"\nreplicas = 3\n"
    );
    assert_eq!(
        entries(&sandbox.path("out/my_service")),
        ["__init__.py", "public.py"]
    );
}

#[cfg(unix)]
#[test]
fn ctrl_c_at_a_prompt_shows_the_cursor_again_and_writes_nothing() {
    use rexpect::session::spawn_command;

    let sandbox = Sandbox::new();
    let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("svc"));
    command
        .current_dir(sandbox.dir.path())
        .env("NO_COLOR", "1")
        .env("TERM", "xterm")
        .args([
            "new",
            "orders-api",
            "--template",
            fixture().to_str().unwrap(),
        ]);
    let mut session = spawn_command(command, Some(20_000)).unwrap();

    // A Select, which hides the cursor while it is shown.
    session.exp_string("python_version").unwrap();
    session.exp_string("3.13").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    session.send_control('c').unwrap();
    session.exp_string("\x1b[?25h").unwrap();
    session.exp_eof().unwrap();
    let status = session.process().wait().unwrap();
    assert!(
        matches!(status, rexpect::process::WaitStatus::Exited(_, 130)),
        "{status:?}"
    );
    assert!(sandbox.entries().is_empty(), "{:?}", sandbox.entries());
}
