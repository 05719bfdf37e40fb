//! Every rule against its fixture: `tests/fixtures/rules/<rule-name>/` is a small repository
//! in which each line marked `# expect: <rule-name>` must get exactly one finding of that rule
//! and no other line may get one; lines marked `# ok: <rule-name>` document look-alikes that
//! must stay quiet. An optional `expect.txt` lists extra `path:line` expectations for files
//! that cannot carry comments. Findings (with spans and messages) are also snapshotted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use svc::audit::rules::{Principle, REGISTRY};
use svc::audit::{AuditOptions, audit};

fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/rules")
        .join(name)
}

/// (path, line) -> count of `# expect: name` markers, and the number of `# ok: name` markers.
fn markers(dir: &Path, name: &str) -> (BTreeMap<(String, u32), usize>, usize) {
    let mut expected = BTreeMap::new();
    let mut ok = 0;
    let expect_marker = format!("expect: {name}");
    let ok_marker = format!("ok: {name}");
    for entry in walk(dir) {
        let rel = entry
            .strip_prefix(dir)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if rel == "expect.txt" {
            for line in std::fs::read_to_string(&entry).unwrap().lines() {
                if let Some((p, l)) = line.trim().rsplit_once(':') {
                    *expected
                        .entry((p.to_string(), l.parse().unwrap()))
                        .or_default() += 1;
                }
            }
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&entry) else {
            continue;
        };
        for (i, line) in text.lines().enumerate() {
            let n = line.matches(&expect_marker).count();
            if n > 0 {
                *expected.entry((rel.clone(), i as u32 + 1)).or_default() += n;
            }
            ok += line.matches(&ok_marker).count();
        }
    }
    (expected, ok)
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn check_rule(name: &str) {
    let rule = svc::audit::rules::find(name).unwrap();
    let dir = fixture_dir(name);
    assert!(
        dir.is_dir(),
        "rule {name} has no fixture at {}",
        dir.display()
    );
    let (expected, ok) = markers(&dir, name);
    assert!(
        !expected.is_empty(),
        "fixture of {name} has no `# expect: {name}` line"
    );
    assert!(
        ok > 0,
        "fixture of {name} has no `# ok: {name}` line where it must not fire"
    );
    let outcome = audit(&AuditOptions {
        paths: vec![dir.clone()],
        select: vec![rule.code.to_string()],
        ..AuditOptions::default()
    })
    .unwrap_or_else(|e| panic!("audit of {name} fixture failed: {e}"));
    let findings: Vec<_> = outcome
        .report
        .findings
        .iter()
        .filter(|f| f.code == rule.code)
        .collect();
    let mut actual: BTreeMap<(String, u32), usize> = BTreeMap::new();
    for f in &findings {
        *actual.entry((f.path.clone(), f.line)).or_default() += 1;
    }
    assert_eq!(
        actual, expected,
        "findings of {name} (left: actual, right: expected)"
    );
    let snapshot: Vec<serde_json::Value> = findings
        .iter()
        .map(|f| {
            serde_json::json!({
                "at": format!("{}:{}:{}-{}:{}", f.path, f.line, f.column, f.end_line, f.end_column),
                "severity": f.severity,
                "service": f.service,
                "message": f.message,
            })
        })
        .collect();
    insta::with_settings!({snapshot_path => "../../snapshots/rules", prepend_module_to_snapshot => false, omit_expression => true}, {
        insta::assert_json_snapshot!(name, snapshot);
    });
}

#[test]
fn every_rule_against_its_fixture() {
    let mut failures = Vec::new();
    for rule in REGISTRY {
        let name = rule.name;
        if let Err(e) = std::panic::catch_unwind(|| check_rule(name)) {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failures.push(format!("{name}: {msg}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} rule(s) failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn registry_is_consistent() {
    let mut codes = std::collections::HashSet::new();
    let mut names = std::collections::HashSet::new();
    for rule in REGISTRY {
        assert!(codes.insert(rule.code), "duplicate code {}", rule.code);
        assert!(names.insert(rule.name), "duplicate name {}", rule.name);
        assert!(
            rule.name.split('-').all(|w| !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())),
            "{} is not kebab-case",
            rule.name
        );
        // Names say what is wrong, not what to do.
        for bad in ["use-", "prefer-", "enable-", "add-", "require-"] {
            assert!(
                !rule.name.starts_with(bad),
                "{} names the fix, not the bad pattern",
                rule.name
            );
        }
        for heading in [
            "## What it does",
            "## Why is this bad?",
            "## Example",
            "## How to fix",
        ] {
            assert!(
                rule.doc.contains(heading),
                "{} doc lacks {heading}",
                rule.name
            );
        }
        assert!(
            !rule.doc.contains("TODO") && !rule.help.contains("TODO"),
            "{} is undocumented",
            rule.name
        );
        assert!(
            !rule.help.is_empty() && !rule.help.contains('\n'),
            "{} help must be one line",
            rule.name
        );
        assert!(!rule.kinds.is_empty(), "{} applies to no kind", rule.name);
        assert_eq!(
            svc::audit::rules::find(rule.code).map(|r| r.name),
            Some(rule.name)
        );
        assert_eq!(
            svc::audit::rules::find(rule.name).map(|r| r.code),
            Some(rule.code)
        );
        let prefix: String = rule
            .code
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .collect();
        assert!(
            rule.code.len() == prefix.len() + 3,
            "{} code must be letters then 3 digits",
            rule.code
        );
    }
    // Every principle with code-level checks has at least one rule.
    for p in Principle::ALL.iter().filter(|p| **p != Principle::P10) {
        assert!(
            REGISTRY.iter().any(|r| r.principle == *p),
            "no rule for {}",
            p.code()
        );
    }
}

/// The folder a principle's rules live in: `p01_stateless` for P1, `meta` for the audit's own.
fn principle_of_folder(folder: &str) -> Option<Principle> {
    if folder == "meta" {
        return Some(Principle::Meta);
    }
    let number: u32 = folder.strip_prefix('p')?.get(..2)?.parse().ok()?;
    Principle::ALL
        .iter()
        .copied()
        .find(|p| p.code() == format!("P{number}"))
}

/// The registry checks itself against the tree: a rule file that is never declared is never
/// compiled, and a fixture directory whose rule was renamed is never run, while every other
/// test still passes. So every `src/audit/rules/<folder>/<file>.rs` that declares a `RULE`
/// must be registered under its file's name and its folder's principle, every fixture
/// directory must name a registered rule, and every code prefix must belong to one principle
/// and be listed in the README.
#[test]
fn registry_matches_rule_files_fixtures_and_readme() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rules_dir = root.join("src/audit/rules");
    let mut files = 0;
    for folder in std::fs::read_dir(&rules_dir).unwrap() {
        let folder = folder.unwrap().path();
        if !folder.is_dir() {
            continue;
        }
        let folder_name = folder.file_name().unwrap().to_string_lossy().into_owned();
        let principle = principle_of_folder(&folder_name)
            .unwrap_or_else(|| panic!("{folder_name}: not a principle folder (pNN_name or meta)"));
        let module_list = std::fs::read_to_string(folder.join("mod.rs")).unwrap();
        for file in std::fs::read_dir(&folder).unwrap() {
            let file = file.unwrap().path();
            let text = std::fs::read_to_string(&file).unwrap();
            if !text.contains("pub static RULE: Rule") {
                continue;
            }
            files += 1;
            let stem = file.file_stem().unwrap().to_string_lossy().into_owned();
            let name = stem.replace('_', "-");
            assert!(
                module_list
                    .lines()
                    .any(|l| l.trim() == format!("pub mod {stem};")),
                "{folder_name}/{stem}.rs declares a rule but {folder_name}/mod.rs has no `pub mod {stem};`"
            );
            let rule = REGISTRY.iter().find(|r| r.name == name).unwrap_or_else(|| {
                panic!("{folder_name}/{stem}.rs: no rule named {name} in REGISTRY")
            });
            assert_eq!(
                rule.principle,
                principle,
                "{} lives in {folder_name}/ but belongs to {}",
                rule.code,
                rule.principle.code()
            );
        }
    }
    assert_eq!(
        files,
        REGISTRY.len(),
        "rule files and REGISTRY entries differ in number"
    );

    for dir in std::fs::read_dir(root.join("tests/fixtures/rules")).unwrap() {
        let name = dir.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            REGISTRY.iter().any(|r| r.name == name),
            "tests/fixtures/rules/{name} names no registered rule, so it never runs"
        );
    }

    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let mut prefixes: BTreeMap<String, Principle> = BTreeMap::new();
    for rule in REGISTRY {
        let prefix: String = rule
            .code
            .chars()
            .take_while(char::is_ascii_alphabetic)
            .collect();
        let owner = *prefixes.entry(prefix.clone()).or_insert(rule.principle);
        assert_eq!(
            owner,
            rule.principle,
            "prefix {prefix} is used by {} and {}",
            owner.code(),
            rule.principle.code()
        );
        assert!(
            readme.contains(&format!("`{prefix}`")),
            "the README's list of code prefixes lacks `{prefix}`"
        );
    }
}

/// `scripts/new_rule.py` does the whole recipe: run on a copy of the rules tree, it writes the
/// rule file, the `pub mod` line in sorted place, the registry line after the principle's
/// last rule and a fixture with both markers; and it refuses a taken code, a taken name and
/// a prefix that belongs to another principle, writing nothing.
#[test]
fn new_rule_script_does_every_step_of_the_recipe() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path();
    for entry in walk(&root.join("src/audit/rules")) {
        let rel = entry.strip_prefix(root).unwrap();
        std::fs::create_dir_all(copy.join(rel).parent().unwrap()).unwrap();
        std::fs::copy(&entry, copy.join(rel)).unwrap();
    }
    std::fs::create_dir_all(copy.join("tests/fixtures/rules")).unwrap();
    let script = root.join("scripts/new_rule.py");
    let run = |args: &[&str]| {
        std::process::Command::new("python3")
            .arg(&script)
            .args(args)
            .arg("--root")
            .arg(copy)
            .output()
            .unwrap()
    };

    let out = run(&["AU099", "request-headers-returned"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rule =
        std::fs::read_to_string(copy.join("src/audit/rules/p03_auth/request_headers_returned.rs"))
            .unwrap();
    assert!(rule.contains("code: \"AU099\"") && rule.contains("principle: Principle::P3"));
    let module = std::fs::read_to_string(copy.join("src/audit/rules/p03_auth/mod.rs")).unwrap();
    let mods: Vec<&str> = module
        .lines()
        .filter(|l| l.starts_with("pub mod "))
        .collect();
    let mut sorted = mods.clone();
    sorted.sort();
    assert_eq!(mods, sorted);
    assert!(mods.contains(&"pub mod request_headers_returned;"));
    let registry = std::fs::read_to_string(copy.join("src/audit/rules/mod.rs")).unwrap();
    let lines: Vec<&str> = registry.lines().map(str::trim).collect();
    let at = lines
        .iter()
        .position(|l| *l == "&p03_auth::request_headers_returned::RULE,")
        .expect("registry line");
    assert!(
        lines[at - 1].starts_with("&p03_auth::"),
        "after P3's last rule"
    );
    assert!(lines[at + 1].starts_with("&p04_"), "before P4's first rule");
    let main = std::fs::read_to_string(
        copy.join("tests/fixtures/rules/request-headers-returned/svc/main.py"),
    )
    .unwrap();
    assert!(
        main.contains("# expect: request-headers-returned")
            && main.contains("# ok: request-headers-returned")
    );

    let before = walk(copy).len();
    for bad in [
        vec!["AU099", "another-bad-thing"],
        vec!["AU098", "request-headers-returned"],
        vec!["AU097", "third-bad-thing", "--principle", "P7"],
        vec!["ZZ001", "fourth-bad-thing"],
        vec!["AU096", "add-a-header"],
    ] {
        let out = run(&bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?} must be refused");
        assert!(!out.stderr.is_empty());
    }
    assert_eq!(
        walk(copy).len(),
        before,
        "a refused scaffold writes nothing"
    );
}

/// AU001's help names the service's own auth dependency when its other routes use one, and
/// falls back to the generic example when none does.
#[test]
fn unauthenticated_route_help_names_the_services_own_dependency() {
    let audit_help = |main: &str| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("pyproject.toml"),
            "[project]\nname = \"orders\"\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("main.py"), main).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_svc"))
            .args(["audit", "--select", "AU001", "--format", "json"])
            .arg(dir.path())
            .output()
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let findings = json["findings"].as_array().unwrap().clone();
        assert_eq!(findings.len(), 1, "{json}");
        findings[0]["help"].as_str().unwrap().to_owned()
    };
    let own = audit_help(
        "from fastapi import Depends, FastAPI\n\nfrom auth import current_principal\n\napp = FastAPI()\n\n\n\
         @app.get(\"/orders\", dependencies=[Depends(current_principal)])\nasync def orders():\n    return []\n\n\n\
         @app.get(\"/refunds\")\nasync def refunds():\n    return []\n",
    );
    assert!(own.contains("Depends(current_principal)"), "{own}");
    let generic = audit_help(
        "from fastapi import FastAPI\n\napp = FastAPI()\n\n\n@app.get(\"/refunds\")\nasync def refunds():\n    return []\n",
    );
    assert!(generic.contains("Depends(get_current_user)"), "{generic}");
}
