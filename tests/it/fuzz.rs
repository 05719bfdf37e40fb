//! The fuzz targets' entry points in the normal suite: the seed corpora under
//! `fuzz/corpus/<target>/seed-*` (for `python`, rule fixtures: [`PYTHON_SEEDS`]), and every input a fuzzer broke the audit with, kept under
//! `tests/fixtures/fuzz/<target>/`. Each entry point itself asserts what must hold for any
//! input (spans inside their file and on character boundaries, positions in order, every
//! report format renders); these tests add what each input must give.

use std::path::{Path, PathBuf};

use svc::audit::error::AuditError;
use svc::audit::fuzzing;
use svc::audit::report::Report;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The files of a directory whose names start with `prefix`, sorted, with their bytes.
fn inputs(dir: &Path, prefix: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect()
}

/// The `python` target's seeds: rule fixtures that are a whole service in one file (the
/// fuzzer is given `tests/fixtures/rules` as a second corpus directory; see the README).
const PYTHON_SEEDS: &[&str] = &[
    "tests/fixtures/rules/blocking-call-in-async/svc/main.py",
    "tests/fixtures/rules/task-without-retry-policy/worker/app/celery_app.py",
    "tests/fixtures/rules/cors-wildcard-with-credentials/svc/main.py",
    "tests/fixtures/rules/client-created-per-invocation/svc/handler.py",
    "tests/fixtures/cli/suppress/svc/main.py",
    "tests/fixtures/rules/unauthenticated-route/svc/app/main.py",
];

/// The committed seeds of a target (the rest of its corpus is a fuzzer's, not committed).
fn seeds(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    if target == "python" {
        return PYTHON_SEEDS
            .iter()
            .map(|p| (root().join(p), seed(target, p)))
            .collect();
    }
    inputs(&root().join("fuzz/corpus").join(target), "seed-")
}

/// One seed: a file of the target's corpus, or for `python` a path from the repository root.
fn seed(target: &str, name: &str) -> Vec<u8> {
    let path = match target {
        "python" => root().join(name),
        _ => root().join("fuzz/corpus").join(target).join(name),
    };
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Names of the findings in `path`, sorted and deduplicated.
fn names_in<'a>(report: &'a Report, path: &str) -> Vec<&'a str> {
    let mut names: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.path == path)
        .map(|f| f.name)
        .collect();
    names.sort();
    names.dedup();
    names
}

#[test]
fn every_seed_goes_through_its_entry_point_and_parses() {
    let mut seen = 0;
    for (target, file) in [
        ("python", "app/main.py"),
        ("dockerfile", "Dockerfile"),
        ("yaml", "docker-compose.yml"),
    ] {
        let run = match target {
            "python" => fuzzing::python,
            "dockerfile" => fuzzing::dockerfile,
            _ => fuzzing::yaml,
        };
        for (path, bytes) in seeds(target) {
            let report = run(&bytes);
            let names = names_in(&report, file);
            assert!(
                !names.contains(&"syntax-error") && !names.contains(&"unreadable-file"),
                "{}: {names:?}",
                path.display()
            );
            seen += 1;
        }
    }
    for (path, bytes) in seeds("config") {
        // The shop's pyproject is no svc.toml (`[project]` is no setting), and a pyproject
        // without `[tool.svc]` is no configuration, not a bad one.
        let [svc_toml, pyproject] = fuzzing::config(&bytes);
        let name = path.file_name().unwrap().to_string_lossy();
        assert_eq!(svc_toml.is_ok(), name.contains("every-key"), "{name}");
        assert!(pyproject.is_ok(), "{name}");
        seen += 1;
    }
    assert!(seen >= 15, "{seen} seeds");
}

#[test]
fn seeds_give_the_findings_they_were_written_for() {
    let cases: [(&str, &str, &str); 6] = [
        ("python", PYTHON_SEEDS[5], "unauthenticated-route"),
        ("python", PYTHON_SEEDS[2], "cors-wildcard-with-credentials"),
        ("dockerfile", "seed-secret", "secret-in-dockerfile"),
        ("dockerfile", "seed-remote-add", "unverified-remote-add"),
        ("yaml", "seed-sam.yaml", "lambda-without-timeout"),
        ("yaml", "seed-k8s-probes.yaml", "probe-path-without-route"),
    ];
    for (target, name, rule) in cases {
        let bytes = seed(target, name);
        let (report, file) = match target {
            "python" => (fuzzing::python(&bytes), "app/main.py"),
            "dockerfile" => (fuzzing::dockerfile(&bytes), "Dockerfile"),
            _ => (fuzzing::yaml(&bytes), "docker-compose.yml"),
        };
        assert!(
            names_in(&report, file).contains(&rule),
            "{target}/{name}: no {rule} in {:?}",
            names_in(&report, file)
        );
    }
}

#[test]
fn a_configuration_error_points_at_the_bad_key_in_both_readings() {
    let bytes = seed("config", "seed-bad-svc.toml");
    let [svc_toml, _] = fuzzing::config(&bytes);
    let Err(AuditError::Config(e)) = svc_toml else {
        panic!("an unknown key is an error")
    };
    assert_eq!(e.message, "unknown configuration key `ignroe`");
    let at = e.span.offset();
    assert_eq!(&e.src.inner()[at..at + e.span.len()], "ignroe");
    // The configuration applies: `ignore` drops the rules of P8.
    let bytes = seed("config", "seed-every-key-svc.toml");
    let [Ok(report), Ok(_)] = fuzzing::config(&bytes) else {
        panic!("every key, well formed")
    };
    assert!(report.findings.iter().all(|f| f.principle.code() != "P8"));
}

#[test]
fn bytes_that_are_not_utf8_are_a_finding_or_a_read_error() {
    let report = fuzzing::python(b"print(\"caf\xe9\")\n");
    assert_eq!(names_in(&report, "app/main.py"), vec!["unreadable-file"]);
    let report = fuzzing::dockerfile(b"FROM \xff\n");
    assert_eq!(names_in(&report, "Dockerfile"), vec!["unreadable-file"]);
    let [svc_toml, pyproject] = fuzzing::config(b"select = [\"\xff\"]\n");
    for r in [svc_toml, pyproject] {
        assert!(matches!(r, Err(AuditError::Read { .. })));
    }
}
