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
