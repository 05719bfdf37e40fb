//! The `svc` binary as users run it: output formats, exit codes, errors, suppressions.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

use crate::util;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn svc() -> Command {
    util::svc_in(&fixtures())
}

/// Run in the fixtures directory: (exit code, stdout, stderr).
fn run(args: &[&str]) -> (i32, String, String) {
    util::run_in(&fixtures(), args)
}

fn json(args: &[&str]) -> (i32, Value) {
    let (code, stdout, stderr) = run(args);
    (code, util::parse_json(&stdout, &stderr))
}

fn snapshot_settings() -> insta::Settings {
    let mut s = util::snapshot_settings("cli");
    s.add_filter(r#""version": "\d+\.\d+\.\d+""#, r#""version": "[VERSION]""#);
    s.add_filter(r"/[^\s:]*/tests/fixtures/", "[FIXTURES]/");
    s
}

fn codes(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{}:{} {}",
                f["path"].as_str().unwrap(),
                f["line"],
                f["name"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn clean_repository_exits_zero_and_says_so() {
    let (code, stdout, _) = run(&["audit", "cli/clean"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains("No findings: 2 files, 0 services audited."),
        "{stdout}"
    );
    let (code, stdout, _) = run(&["audit", "cli/clean", "--quiet"]);
    assert_eq!((code, stdout.as_str()), (0, ""));
}

#[test]
fn syntax_error_is_a_finding_and_the_rest_is_audited() {
    let (code, report) = json(&["audit", "cli/broken", "--format", "json"]);
    assert_eq!(code, 1);
    assert_eq!(
        codes(&report),
        vec![
            "app/bad.py:1 syntax-error",
            "app/good.py:5 jwt-decode-unverified"
        ]
    );
    let f = &report["findings"][0];
    assert_eq!(
        (f["line"].as_u64(), f["column"].as_u64()),
        (Some(1), Some(10))
    );
    assert_eq!(f["severity"], "error");
}

#[test]
fn fail_on_sets_the_threshold() {
    // The broken fixture has errors; the suppress fixture warnings and infos only.
    assert_eq!(run(&["audit", "cli/broken", "--fail-on", "never"]).0, 0);
    assert_eq!(
        run(&[
            "audit",
            "cli/suppress",
            "--fail-on",
            "error",
            "--select",
            "LG001,SV003"
        ])
        .0,
        0
    );
    assert_eq!(
        run(&[
            "audit",
            "cli/suppress",
            "--fail-on",
            "warning",
            "--select",
            "LG001"
        ])
        .0,
        1
    );
    assert_eq!(
        run(&[
            "audit",
            "cli/suppress",
            "--fail-on",
            "warning",
            "--select",
            "SV003"
        ])
        .0,
        0
    );
    assert_eq!(
        run(&[
            "audit",
            "cli/suppress",
            "--fail-on",
            "info",
            "--select",
            "SV003"
        ])
        .0,
        1
    );
}

#[test]
fn usage_errors_exit_two_with_a_clear_message() {
    let (code, _, stderr) = run(&["audit", "no/such/dir"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("path not found: no/such/dir"), "{stderr}");

    let (code, _, stderr) = run(&["audit", "cli/empty"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("no files to audit under cli/empty"),
        "{stderr}"
    );

    let (code, _, stderr) = run(&["audit", "cli/clean", "--select", "P99"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("unknown rule or principle `P99` in --select"),
        "{stderr}"
    );

    let (code, _, stderr) = run(&["explain", "no-such-rule"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("unknown rule `no-such-rule`"), "{stderr}");
}

#[test]
fn config_error_points_into_the_file() {
    let (code, _, stderr) = run(&["audit", "cli/badconfig"]);
    assert_eq!(code, 2);
    snapshot_settings().bind(|| insta::assert_snapshot!("config_error", stderr));
}

#[test]
fn suppressions_same_line_line_before_multiline_and_file_level() {
    let (_, report) = json(&[
        "audit",
        "cli/suppress",
        "--format",
        "json",
        "--select",
        "LG001,SV003",
    ]);
    assert_eq!(
        codes(&report),
        vec![
            "svc/main.py:15 print-call",
            "svc/main.py:16 unused-suppression",
            "svc/main.py:17 unused-suppression",
        ]
    );
    let unknown = &report["findings"][2]["message"];
    assert_eq!(unknown, "suppression names unknown rule `no-such-rule`");
    // A suppression for a rule that is not running is not reported as unused.
    let (_, report) = json(&[
        "audit",
        "cli/suppress",
        "--format",
        "json",
        "--select",
        "SV003",
    ]);
    assert_eq!(codes(&report), vec!["svc/main.py:17 unused-suppression"]);
}

#[test]
fn select_and_ignore_by_code_name_prefix_and_principle() {
    let all = codes(&json(&["audit", "projects/shop", "--format", "json"]).1);
    for (args, keep) in [
        (
            vec!["--select", "P7"],
            vec!["print-call", "missing-structured-logging"],
        ),
        (
            vec!["--select", "LG"],
            vec!["print-call", "missing-structured-logging"],
        ),
        (vec!["--select", "print-call"], vec!["print-call"]),
        (vec!["--select", "LG001"], vec!["print-call"]),
    ] {
        let mut a = vec!["audit", "projects/shop", "--format", "json"];
        a.extend(args.iter());
        let got = codes(&json(&a).1);
        let want: Vec<String> = all
            .iter()
            .filter(|c| keep.iter().any(|k| c.ends_with(&format!(" {k}"))))
            .cloned()
            .collect();
        assert_eq!(got, want, "{args:?}");
    }
    let ignored = codes(
        &json(&[
            "audit",
            "projects/shop",
            "--format",
            "json",
            "--ignore",
            "P7,AU",
        ])
        .1,
    );
    assert!(
        ignored
            .iter()
            .all(|c| !c.contains("print-call") && !c.contains("jwt-decode")),
        "{ignored:?}"
    );
    assert!(ignored.len() < all.len());
}

#[test]
fn output_file_gets_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.json");
    let code = svc()
        .args(["audit", "cli/broken", "--format", "json", "--output"])
        .arg(&out)
        .output()
        .unwrap()
        .status
        .code();
    assert_eq!(code, Some(1));
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(report["summary"]["findings"], 2);
}

#[test]
fn text_output_has_code_frames_and_help() {
    let (code, stdout, _) = run(&["audit", "cli/broken"]);
    assert_eq!(code, 1);
    snapshot_settings().bind(|| insta::assert_snapshot!("text_broken", stdout));
}

#[test]
fn json_output_schema() {
    let (_, stdout, _) = run(&["audit", "cli/broken", "--format", "json"]);
    snapshot_settings().bind(|| insta::assert_snapshot!("json_broken", stdout));
}

#[test]
fn rules_and_explain() {
    let (code, stdout, _) = run(&["rules"]);
    assert_eq!(code, 0);
    snapshot_settings().bind(|| insta::assert_snapshot!("rules", stdout));

    let (_, rules) = json(&["rules", "--format", "json"]);
    let rules = rules.as_array().unwrap();
    assert_eq!(rules.len(), svc::audit::rules::REGISTRY.len());
    for r in rules {
        for key in ["code", "name", "principle", "severity", "kinds", "help"] {
            assert!(!r[key].is_null(), "{key} missing in {r}");
        }
    }

    let (code, by_code, _) = run(&["explain", "AU002"]);
    assert_eq!(code, 0);
    let (_, by_name, _) = run(&["explain", "jwt-decode-unverified"]);
    assert_eq!(by_code, by_name);
    assert!(by_code.starts_with("# AU002 jwt-decode-unverified\n"));
    for heading in [
        "## What it does",
        "## Why is this bad?",
        "## Example",
        "## How to fix",
    ] {
        assert!(by_code.contains(heading));
    }
}

#[test]
fn service_model_of_a_multi_file_app() {
    let (code, stdout, _) = run(&["inspect", "projects/shop"]);
    assert_eq!(code, 0);
    let model: Value = serde_json::from_str(&stdout).unwrap();
    let routes: Vec<String> = model[0]["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {} auth={}",
                r["methods"][0].as_str().unwrap(),
                r["path"].as_str().unwrap(),
                r["auth"]
            )
        })
        .collect();
    assert_eq!(
        routes,
        vec![
            "GET /health auth=false",
            "POST /admin/reindex auth=true",
            "GET /admin/stats auth=true",
            "GET /catalog/{sku} auth=false",
            "DELETE /catalog/{sku}/cache auth=false",
            "GET /api/v1/orders auth=true",
            "POST /api/v1/orders auth=true",
        ]
    );
    assert_eq!(model[0]["kind"], "container");
    assert_eq!(model[0]["apps"][0]["name"], "app.main.create_app.app");
    assert_eq!(model[0]["http_clients"].as_array().map(Vec::len), Some(0));
    snapshot_settings().bind(|| insta::assert_snapshot!("inspect_shop", stdout));
}

#[test]
fn multi_file_service_audited_end_to_end() {
    let (code, report) = json(&["audit", "projects/shop", "--format", "json"]);
    assert_eq!(code, 1);
    let found = codes(&report);
    // Cross-file facts the model must get right, each asserted on its own.
    for want in [
        // Decoded in core/security.py, used through an Annotated alias in routers/orders.py.
        "app/core/security.py:14 jwt-decode-unverified",
        // A sync helper one call deep, in the same module as the async route.
        "app/routers/orders.py:24 blocking-call-in-async",
        "app/routers/orders.py:26 blocking-call-in-async",
        "app/routers/orders.py:25 mutable-global-state",
        "app/main.py:13 cors-wildcard-with-credentials",
        "app/core/settings.py:7 hardcoded-secret",
        "app/routers/catalog.py:8 print-call",
    ] {
        assert!(
            found.iter().any(|f| f == want),
            "missing {want} in {found:#?}"
        );
    }
    // Routes authenticated through include_router(dependencies=...), a parameter dependency
    // or an Annotated alias, and public ones from [tool.svc] public-routes, are not reported.
    assert!(
        !found.iter().any(|f| f.ends_with("unauthenticated-route")),
        "{found:#?}"
    );
    // The print() in tests/ is not service code.
    assert!(!found.iter().any(|f| f.starts_with("tests/")), "{found:#?}");
    snapshot_settings().bind(|| insta::assert_snapshot!("audit_shop", found.join("\n")));
}

/// `svc ... | head -1`: a reader that goes away is not an error, in every output format.
#[test]
fn closed_stdout_pipe_is_not_an_error() {
    let bin = assert_cmd::cargo::cargo_bin("svc");
    // Large enough that the output is written while it is serialised, not only at the end.
    let big = tempfile::tempdir().unwrap();
    std::fs::write(
        big.path().join("pyproject.toml"),
        "[project]\nname = \"big\"\ndependencies = [\"fastapi\"]\n",
    )
    .unwrap();
    let mut main = String::from("from fastapi import FastAPI\n\napp = FastAPI()\n");
    for i in 0..2000 {
        main.push_str(&format!(
            "\n\n@app.get(\"/items/{i}\")\nasync def item_{i}() -> dict:\n    return {{}}\n"
        ));
    }
    std::fs::write(big.path().join("main.py"), main).unwrap();
    let big_dir = big.path().to_str().unwrap();

    let owned = |args: &[&str]| args.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    let audit = |dir: &str, format: &str| {
        owned(&[
            "audit",
            dir,
            "--isolated",
            "--fail-on",
            "never",
            "--format",
            format,
        ])
    };
    let mut cases = vec![
        owned(&["inspect", "projects/shop"]),
        owned(&["rules", "--format", "json"]),
        owned(&["rules"]),
        owned(&["explain", "RS001"]),
        owned(&["inspect", big_dir]),
    ];
    for format in ["text", "json", "sarif", "github"] {
        cases.push(audit("projects/shop", format));
    }
    for format in ["json", "sarif"] {
        cases.push(audit(big_dir, format));
    }
    for args in &cases {
        let mut child = std::process::Command::new(&bin)
            .args(args)
            .current_dir(fixtures())
            .env("NO_COLOR", "1")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Close the reading end before the child writes anything.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("Broken pipe"), "{args:?}: {stderr}");
    }
}
