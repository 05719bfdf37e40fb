//! What every generated service ships for reproducible, checked builds (issue 16): a CI
//! workflow whose actions are pinned by commit SHA, hashed lock files, local pre-commit hooks,
//! and one Python version named alike by `svc new` and the README.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;
use svc::audit::artefact::yaml::{self, Node};

use crate::new::{Sandbox, repo};

/// Each variant with the option sets that change its workflow or its dependency list.
const SERVICES: &[(&str, &[&str])] = &[
    ("worker", &["broker=redis"]),
    ("worker", &["broker=rabbitmq"]),
    ("lambda", &["auth=true", "rate_limit=true", "sqs=true"]),
    ("lambda", &["auth=false", "rate_limit=false", "sqs=false"]),
    ("lambda", &["auth=true", "rate_limit=false"]),
    ("container", &["auth=true", "rate_limit=true"]),
    ("container", &["auth=false", "rate_limit=false"]),
];

/// `svc new demo --variant VARIANT --yes --set ...` in a fresh sandbox.
fn generate(variant: &str, sets: &[&str]) -> (Sandbox, PathBuf, String) {
    let sandbox = Sandbox::new();
    let mut args = vec!["new", "demo", "--variant", variant, "--yes"];
    for set in sets {
        args.extend_from_slice(&["--set", set]);
    }
    let out = sandbox.run(&args);
    assert_eq!(out.code, 0, "{variant} {sets:?}: {}", out.stderr);
    let dir = sandbox.path("demo");
    (sandbox, dir, out.stderr)
}

fn workflows(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir.join(".github/workflows")) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    found.sort();
    found
}

/// Every `uses:` of every step of every job: (value, the rest of its source line).
fn uses_of(text: &str) -> Vec<(String, String)> {
    let docs = yaml::parse(text).unwrap();
    let mut found = Vec::new();
    let jobs = docs[0].get("jobs").expect("a workflow has jobs");
    for (_, job) in jobs.entries() {
        let steps = job.get("steps").map(Node::items).unwrap_or_default();
        for step in steps {
            if let Some(uses) = step.get("uses") {
                let end = usize::from(uses.range.end());
                let line_end = text[end..].find('\n').map_or(text.len(), |i| end + i);
                found.push((
                    uses.as_str().unwrap().to_owned(),
                    text[end..line_end].to_owned(),
                ));
            }
        }
    }
    found
}

static PINNED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40}$").unwrap());
static VERSION_COMMENT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s+# v\d+\.\d+\.\d+\s*$").unwrap());

#[test]
fn every_variant_has_a_ci_workflow_with_each_action_pinned_by_commit_sha() {
    for (variant, sets) in SERVICES {
        let (_sandbox, dir, _) = generate(variant, sets);
        let files = workflows(&dir);
        assert!(
            !files.is_empty(),
            "{variant} {sets:?}: no .github/workflows/*.yml"
        );
        let mut actions = 0;
        for file in &files {
            let text = std::fs::read_to_string(file).unwrap();
            for (uses, rest) in uses_of(&text) {
                actions += 1;
                assert!(
                    PINNED.is_match(&uses),
                    "{variant} {sets:?}: `{uses}` is not pinned by SHA"
                );
                assert!(
                    VERSION_COMMENT.is_match(&rest),
                    "{variant} {sets:?}: `{uses}` has no `# vX.Y.Z` comment: `{rest}`"
                );
            }
        }
        assert!(actions > 0, "{variant} {sets:?}: no action was checked");
    }
}

#[test]
fn the_sha_check_rejects_a_tag_and_a_missing_version_comment() {
    let text = "jobs:\n  a:\n    steps:\n      - uses: actions/checkout@v4\n      - uses: actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065\n      - run: true\n";
    let found = uses_of(text);
    assert_eq!(found.len(), 2);
    assert!(!PINNED.is_match(&found[0].0));
    assert!(PINNED.is_match(&found[1].0));
    assert!(!VERSION_COMMENT.is_match(&found[1].1));
    assert!(VERSION_COMMENT.is_match(" # v5.6.0"));
}

static PIN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==[^ ;]+( ; [^\\]+)?$").unwrap()
});
static HASH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^--hash=sha256:[0-9a-f]{64}$").unwrap());

/// The normalised names a lock file pins, each checked to be `==` with sha256 hashes.
fn locked_names(lock: &str, what: &str) -> Vec<String> {
    let joined = lock.replace("\\\n", " ");
    let mut names = Vec::new();
    for line in joined.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (spec, hashes) = line
            .split_once(" --hash=")
            .map_or((line, ""), |(s, h)| (s.trim(), h));
        let caps = PIN
            .captures(spec)
            .unwrap_or_else(|| panic!("{what}: not a pin: `{spec}`"));
        let hashes: Vec<String> = hashes
            .split_whitespace()
            .map(|h| format!("--hash={}", h.trim_start_matches("--hash=")))
            .collect();
        assert!(!hashes.is_empty(), "{what}: `{spec}` has no hash");
        for hash in &hashes {
            assert!(HASH.is_match(hash), "{what}: `{spec}`: bad hash `{hash}`");
        }
        names.push(normalise(&caps[1]));
    }
    names
}

fn normalise(name: &str) -> String {
    name.to_lowercase().replace(['_', '.'], "-")
}

/// The names of a pyproject.toml dependency array (`"name[extra]>=1,<2"` strings).
fn declared(pyproject: &str, array: &str) -> Vec<String> {
    let start = pyproject
        .find(&format!("\n{array} = ["))
        .unwrap_or_else(|| panic!("no `{array} = [` in pyproject.toml"));
    let body = &pyproject[start..];
    let body = &body[..body.find("\n]").unwrap()];
    static NAME: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#"^\s*"([A-Za-z0-9][A-Za-z0-9._-]*)"#).unwrap());
    body.lines()
        .filter_map(|l| NAME.captures(l).map(|c| normalise(&c[1])))
        .collect()
}

#[test]
fn every_variant_locks_its_dependencies_with_hashes() {
    for (variant, sets) in SERVICES {
        let (_sandbox, dir, _) = generate(variant, sets);
        let read = |name: &str| {
            std::fs::read_to_string(dir.join(name))
                .unwrap_or_else(|e| panic!("{variant} {sets:?}: {name}: {e}"))
        };
        let pyproject = read("pyproject.toml");
        let runtime = locked_names(
            &read("requirements.txt"),
            &format!("{variant} requirements.txt"),
        );
        let dev = locked_names(
            &read("requirements-dev.txt"),
            &format!("{variant} requirements-dev.txt"),
        );
        for name in declared(&pyproject, "dependencies") {
            assert!(
                runtime.contains(&name),
                "{variant} {sets:?}: {name} is not in requirements.txt"
            );
            assert!(
                dev.contains(&name),
                "{variant} {sets:?}: {name} is not in requirements-dev.txt"
            );
        }
        for name in declared(&pyproject, "dev") {
            assert!(
                dev.contains(&name),
                "{variant} {sets:?}: {name} is not in requirements-dev.txt"
            );
        }
        for name in &runtime {
            assert!(
                dev.contains(name),
                "{variant} {sets:?}: {name} only in requirements.txt"
            );
        }
        // An option that drops a dependency drops it from the lock too.
        let has = |name: &str| runtime.iter().any(|n| n == name);
        if sets.contains(&"auth=false") {
            assert!(
                !has("pyjwt"),
                "{variant} {sets:?}: pyjwt locked without auth"
            );
        }
        if sets.contains(&"auth=true") {
            assert!(has("pyjwt"), "{variant} {sets:?}: pyjwt missing");
        }
        if sets.contains(&"rate_limit=false") {
            assert!(
                !has("limits"),
                "{variant} {sets:?}: limits locked without rate limiting"
            );
        }
    }
}

#[test]
fn the_lock_check_rejects_an_unhashed_or_unpinned_line() {
    let ok = "# comment\nfoo==1.0 ; python_full_version < '3.12' \\\n    --hash=sha256:0000000000000000000000000000000000000000000000000000000000000000\n";
    assert_eq!(locked_names(ok, "ok"), ["foo"]);
    for bad in ["foo==1.0\n", "foo>=1.0 --hash=sha256:00\n"] {
        let result = std::panic::catch_unwind(|| locked_names(bad, "bad"));
        assert!(result.is_err(), "accepted `{bad}`");
    }
}

/// The newest `python_version` choice of a template's manifest, and its default.
fn python_choices(variant: &str) -> (String, String) {
    let manifest =
        std::fs::read_to_string(repo().join("templates").join(variant).join("template.toml"))
            .unwrap();
    let start = manifest.find("name = \"python_version\"").unwrap();
    let block = &manifest[start..];
    let default = Regex::new(r#"default = "(3\.\d+)""#)
        .unwrap()
        .captures(block)
        .unwrap()[1]
        .to_owned();
    let choices = Regex::new(r"choices = \[([^\]]*)\]")
        .unwrap()
        .captures(block)
        .unwrap()[1]
        .to_owned();
    let newest = choices
        .split(',')
        .map(|c| c.trim().trim_matches('"').to_owned())
        .max_by_key(|v| {
            v.split('.')
                .map(|p| p.parse::<u32>().unwrap())
                .collect::<Vec<_>>()
        })
        .unwrap();
    (default, newest)
}

static INTERPRETER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"python3\.\d+").unwrap());

#[test]
fn worker_and_lambda_default_to_the_newest_python_named_alike_everywhere() {
    for variant in ["worker", "lambda"] {
        let (default, newest) = python_choices(variant);
        assert_eq!(
            default, newest,
            "{variant}: the default Python is not the newest choice"
        );
        assert_eq!(
            default, "3.13",
            "{variant}: the newest Python this stack is verified on"
        );
        let (_sandbox, dir, stderr) = generate(variant, &[]);
        let venv = format!("python{default} -m venv .venv");
        assert!(
            stderr.contains(&venv),
            "{variant}: Next steps do not say `{venv}`:\n{stderr}"
        );
        let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
        assert!(
            readme.contains(&venv),
            "{variant}: the README does not say `{venv}`"
        );
        for found in INTERPRETER.find_iter(&readme) {
            assert_eq!(
                found.as_str(),
                format!("python{default}"),
                "{variant}: README names another Python"
            );
        }
        let pinned = std::fs::read_to_string(dir.join(".python-version")).unwrap();
        assert_eq!(
            pinned.trim(),
            default,
            "{variant}: .python-version (what CI sets up)"
        );
    }
}

#[test]
fn worker_and_lambda_pre_commit_hooks_are_local_and_sam_output_is_ignored() {
    for (variant, sets) in SERVICES.iter().filter(|(v, _)| *v != "container") {
        let (_sandbox, dir, _) = generate(variant, sets);
        let text = std::fs::read_to_string(dir.join(".pre-commit-config.yaml"))
            .unwrap_or_else(|e| panic!("{variant}: .pre-commit-config.yaml: {e}"));
        let docs = yaml::parse(&text).unwrap();
        let repos = docs[0].get("repos").map(Node::items).unwrap_or_default();
        let mut hooks = Vec::new();
        for repo in repos {
            // A git remote is fetched on first use: offline, every commit would fail.
            assert_eq!(
                repo.get("repo").and_then(Node::as_str),
                Some("local"),
                "{variant}: {text}"
            );
            for hook in repo.get("hooks").map(Node::items).unwrap_or_default() {
                hooks.push(hook.get("id").and_then(Node::as_str).unwrap().to_owned());
            }
        }
        for id in ["ruff-check", "ruff-format", "mypy", "svc-audit"] {
            assert!(
                hooks.iter().any(|h| h == id),
                "{variant}: no `{id}` hook in {hooks:?}"
            );
        }
        let ignore = std::fs::read_to_string(dir.join(".gitignore"))
            .unwrap_or_else(|e| panic!("{variant}: .gitignore: {e}"));
        if *variant == "lambda" {
            assert!(
                ignore.lines().any(|l| l == ".aws-sam/"),
                "{variant}: .aws-sam/ not ignored"
            );
        }
        assert!(
            ignore.lines().any(|l| l == ".venv/"),
            "{variant}: .venv/ not ignored"
        );
    }
}
