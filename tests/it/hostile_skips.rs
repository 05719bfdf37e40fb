//! Hostile input that used to be skipped, or that switched a rule off, without a word: the
//! reproductions of the hostile-input review (#6, #9-#13, #27, #28, #32-#34, #36) and pre-commit
//! with a baseline in a monorepo of generated services (issue 15).

use std::path::Path;

use serde_json::Value;

/// A minimal FastAPI service: what the review calls `APP`.
const APP: &[(&str, &str)] = &[
    ("main.py", "from fastapi import FastAPI\napp = FastAPI()\n"),
    ("pyproject.toml", "[project]\nname = \"app\"\n"),
];

/// A line AU003 (hardcoded-secret) reports anywhere in code.
const SECRET_PY: &str = "password = \"hunter2hunter2xx\"\n";

/// A Dockerfile with DK001 (no USER), DK002 (`:latest`), DK003 (AWS key) and DK004 (shell form).
const BAD_DOCKERFILE: &str = "FROM python:latest\nENV AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\nCMD python x.py\n";

use crate::util::{run_in, write_file as write};

fn with_app(dir: &Path, sub: &str) {
    for (rel, text) in APP {
        let rel = match sub {
            "" => rel.to_string(),
            _ => format!("{sub}/{rel}"),
        };
        write(dir, &rel, text);
    }
}

/// `svc audit --format json ARGS` in `dir`: the report and stderr.
fn json_in(dir: &Path, args: &[&str]) -> (Value, String) {
    let mut full = vec!["audit", "--format", "json"];
    full.extend_from_slice(args);
    let (_, stdout, stderr) = run_in(dir, &full);
    (crate::util::parse_json(&stdout, &stderr), stderr)
}

/// (path, code) of every finding, sorted.
fn found(report: &Value) -> Vec<(String, String)> {
    let mut out: Vec<_> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

/// The codes reported for `path`, sorted.
fn codes_at(report: &Value, path: &str) -> Vec<String> {
    found(report)
        .into_iter()
        .filter(|(p, _)| p == path)
        .map(|(_, c)| c)
        .collect()
}

fn message_of<'a>(report: &'a Value, path: &str, code: &str) -> &'a str {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == path && f["code"] == code)
        .and_then(|f| f["message"].as_str())
        .unwrap_or_else(|| panic!("no {code} at {path}: {report}"))
}

fn git(dir: &Path, args: &[&str]) -> String {
    crate::util::git(dir, dir, args)
}

// ---------------------------------------------------------------------------------------------
// #6: YAML that does not parse

#[test]
fn broken_yaml_is_a_syntax_error_unless_it_is_a_chart_template_which_is_an_info() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    with_app(dir, "");
    let broken = "# docs: {{ see wiki }}\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n  template:\n    spec:\n      containers:\n        - name: x\n          image: x:latest\n          securityContext: {privileged: true\n";
    write(dir, "deploy.yaml", broken);
    // A `templates/` directory that is not a chart's.
    write(dir, "templates/d.yaml", broken);
    // A real chart template: not YAML until rendered.
    write(
        dir,
        "chart/Chart.yaml",
        "apiVersion: v2\nname: app\nversion: 0.1.0\n",
    );
    write(
        dir,
        "chart/templates/deployment.yaml",
        "{{- if .Values.enabled }}\nkind: Deployment\nspec: {{ toYaml .Values.spec | nindent 2 }}\n  a: [\n{{- end }}\n",
    );
    write(dir, "chart/templates/sub/d.yaml", broken);
    // CloudFormation dynamic references in a valid template, quoted or not, still parse: the
    // function's missing Timeout is reported.
    write(
        dir,
        "infra/template.yaml",
        "Transform: AWS::Serverless-2016-10-31\nResources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      Runtime: nodejs20.x\n      Handler: index.handler\n      MemorySize: 256\n      Tracing: Active\n      Environment:\n        Variables:\n          A: '{{resolve:ssm:/app/a}}'\n          B: {{resolve:ssm:/app/b}}\n",
    );
    let (report, stderr) = json_in(dir, &["."]);
    assert_eq!(codes_at(&report, "deploy.yaml"), ["SV001"], "{stderr}");
    assert_eq!(codes_at(&report, "templates/d.yaml"), ["SV001"]);
    // Not checked, and said so at info: a silent skip would read as "nothing wrong here".
    assert_eq!(
        codes_at(&report, "chart/templates/deployment.yaml"),
        ["SV005"]
    );
    assert_eq!(codes_at(&report, "chart/templates/sub/d.yaml"), ["SV005"]);
    assert_eq!(codes_at(&report, "infra/template.yaml"), ["SM001"]);
}

// ---------------------------------------------------------------------------------------------
// #9: nothing skipped silently

#[test]
fn hidden_files_ignore_files_and_parent_gitignores_do_not_hide_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    with_app(&dir, "");
    for rel in ["sub/evil.py", "sub/other.py", ".hidden/h.py", ".dot.py"] {
        write(&dir, rel, SECRET_PY);
    }
    // A ripgrep-style file, not git's.
    write(&dir, "sub/.ignore", "evil.py\n");
    // Above the audited root, and no git repository anywhere.
    write(tmp.path(), ".gitignore", "other.py\n");
    // Tool caches stay skipped.
    write(&dir, ".mypy_cache/x.py", SECRET_PY);
    let (report, stderr) = json_in(&dir, &["."]);
    let secrets: Vec<_> = found(&report)
        .into_iter()
        .filter(|(_, c)| c == "AU003")
        .map(|(p, _)| p)
        .collect();
    assert_eq!(
        secrets,
        [".dot.py", ".hidden/h.py", "sub/evil.py", "sub/other.py"],
        "{stderr}"
    );

    // The file it was given (reported relative to the root svc picks for it).
    let (report, stderr) = json_in(&dir, &[".hidden/h.py"]);
    let secrets: Vec<_> = found(&report)
        .into_iter()
        .filter(|(p, c)| c == "AU003" && p.ends_with("h.py"))
        .collect();
    assert_eq!(secrets.len(), 1, "{report} {stderr}");
}

#[test]
fn git_tracked_files_are_audited_even_when_they_match_gitignore() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    git(dir, &["init", "-q", "-b", "main"]);
    with_app(dir, "");
    write(dir, "secret.py", SECRET_PY);
    write(dir, "generated/keys.py", SECRET_PY);
    write(dir, "scratch.py", SECRET_PY);
    write(dir, ".gitignore", "secret.py\ngenerated/\nscratch.py\n");
    git(
        dir,
        &["add", "-f", "main.py", "pyproject.toml", ".gitignore"],
    );
    git(dir, &["add", "-f", "secret.py", "generated/keys.py"]);
    git(dir, &["commit", "-q", "-m", "x"]);

    // Tracked: audited. Untracked and ignored (scratch.py): git's own rules apply.
    let (report, stderr) = json_in(dir, &["."]);
    let secrets: Vec<_> = found(&report)
        .into_iter()
        .filter(|(_, c)| c == "AU003")
        .map(|(p, _)| p)
        .collect();
    assert_eq!(secrets, ["generated/keys.py", "secret.py"], "{stderr}");

    // Named, as pre-commit passes them: the tracked one, and the ignored one too.
    let (report, _) = json_in(dir, &["secret.py"]);
    assert_eq!(codes_at(&report, "secret.py"), ["AU003"]);
    let (report, _) = json_in(dir, &["scratch.py"]);
    assert_eq!(codes_at(&report, "scratch.py"), ["AU003"]);
}

#[test]
fn a_named_file_that_is_not_audited_is_named_on_stderr_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    with_app(dir, "");
    write(dir, "legacy/old.py", SECRET_PY);
    write(dir, "node_modules/pkg/x.py", SECRET_PY);
    write(dir, "notes.toml", "a = 1\n");
    write(
        dir,
        "svc.toml",
        "exclude = [\"legacy\"]\n[per-path-ignores]\n\"ignored.py\" = [\"AU003\"]\n",
    );
    let (report, stderr) = json_in(
        dir,
        &["legacy/old.py", "notes.toml", "node_modules/pkg/x.py"],
    );
    // Excluded by svc's own configuration: said, not audited.
    assert!(
        stderr.contains("not audited: legacy/old.py: excluded by `exclude`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("not audited: notes.toml: not a kind of file svc audits"),
        "{stderr}"
    );
    assert!(codes_at(&report, "legacy/old.py").is_empty());
    // Named explicitly: audited although svc skips node_modules when it walks.
    assert_eq!(codes_at(&report, "node_modules/pkg/x.py"), ["AU003"]);
}

// ---------------------------------------------------------------------------------------------
// #10: artefacts outside every service

#[test]
fn artefacts_outside_every_service_get_the_artefact_rules() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write(
        dir,
        "app/main.py",
        "from fastapi import FastAPI\napp = FastAPI()\n",
    );
    write(dir, "app/requirements.txt", "fastapi\n");
    write(dir, "deploy/Dockerfile.worker", BAD_DOCKERFILE);
    write(
        dir,
        "deploy/k8s/worker.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: worker\nspec:\n  template:\n    spec:\n      containers:\n        - name: worker\n          image: acme/worker:latest\n          securityContext:\n            privileged: true\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: acme/app:1.0\n",
    );
    let (report, stderr) = json_in(dir, &["."]);
    assert_eq!(
        codes_at(&report, "deploy/Dockerfile.worker"),
        ["DK001", "DK002", "DK003", "DK004"],
        "{stderr}"
    );
    let k8s = codes_at(&report, "deploy/k8s/worker.yaml");
    for code in ["KB001", "KB002", "KB003", "KB005", "KB006"] {
        assert!(k8s.contains(&code.to_string()), "{code} missing: {k8s:?}");
    }
    // Outside every service: no service named.
    let dk003 = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "DK003")
        .unwrap();
    assert_eq!(dk003["service"], Value::Null);
}

#[test]
fn a_repository_of_only_deployment_artefacts_is_audited() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write(dir, "Dockerfile", "FROM python:latest\n");
    write(
        dir,
        "pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: p\n      image: p:1\n",
    );
    let (code, stdout, stderr) = run_in(dir, &["audit", "--format", "json", "."]);
    assert_eq!(code, 1, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(codes_at(&report, "Dockerfile"), ["DK001", "DK002"]);
    assert!(codes_at(&report, "pod.yaml").contains(&"KB001".to_string()));
}

// ---------------------------------------------------------------------------------------------
// #11: proxy facts from proxy configuration only, and only when they are set

const ROUTE_APP: &str = "from fastapi import FastAPI\napp = FastAPI()\n\n@app.get(\"/items\")\ndef items():\n    return []\n";

fn proxy_codes(settings: &str) -> Vec<String> {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write(dir, "main.py", ROUTE_APP);
    write(dir, "requirements.txt", "fastapi\n");
    write(dir, "config/settings.yaml", settings);
    let (report, _) = json_in(dir, &["--select", "RL001,SH001", "."]);
    found(&report).into_iter().map(|(_, c)| c).collect()
}

#[test]
fn proxy_facts_come_only_from_proxy_objects_and_truthy_values() {
    let both = ["RL001", "SH001"];
    assert_eq!(proxy_codes("a: 1\n"), both);
    // Keys that merely exist, in a file that is no proxy configuration.
    assert_eq!(
        proxy_codes("rateLimit: false\ncontentSecurityPolicy: \"\"\n"),
        both
    );
    assert_eq!(
        proxy_codes("steps:\n  - name: rate-limiting\n    run: echo hi\n"),
        both
    );
    // Traefik dynamic configuration, switched off or empty.
    assert_eq!(
        proxy_codes(
            "http:\n  middlewares:\n    limit:\n      rateLimit: false\n    sec:\n      headers:\n        contentSecurityPolicy: \"\"\n        stsSeconds: 0\n        contentTypeNosniff: false\n        customResponseHeaders:\n          Content-Security-Policy: \"\"\n"
        ),
        both
    );
    // A disabled Kong plugin.
    assert_eq!(
        proxy_codes(
            "_format_version: \"3.0\"\nplugins:\n  - name: rate-limiting\n    enabled: false\n    config: {minute: 60}\n"
        ),
        both
    );
    // Set for real: Traefik, Kong, a Traefik CRD, ingress-nginx annotations.
    assert_eq!(
        proxy_codes(
            "http:\n  middlewares:\n    limit:\n      rateLimit: {average: 100}\n    sec:\n      headers:\n        contentSecurityPolicy: \"default-src 'none'\"\n"
        ),
        [""; 0]
    );
    assert_eq!(
        proxy_codes(
            "_format_version: \"3.0\"\nplugins:\n  - name: rate-limiting\n    config: {minute: 60}\n"
        ),
        ["SH001"]
    );
    assert_eq!(
        proxy_codes(
            "apiVersion: traefik.io/v1alpha1\nkind: Middleware\nmetadata: {name: limit}\nspec:\n  rateLimit: {average: 50}\n"
        ),
        ["SH001"]
    );
    assert_eq!(
        proxy_codes(
            "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: app\n  annotations:\n    nginx.ingress.kubernetes.io/limit-rps: \"0\"\n    nginx.ingress.kubernetes.io/configuration-snippet: |\n      add_header Strict-Transport-Security \"max-age=63072000\" always;\n"
        ),
        ["RL001"]
    );
}

// ---------------------------------------------------------------------------------------------
// #12, #13: suppressions

#[test]
fn suppression_text_inside_strings_and_instruction_arguments_suppresses_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    with_app(dir, "");
    write(
        dir,
        "Dockerfile",
        "FROM python:latest\nENV AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY # svc: ignore[DK003]\nLABEL note=\"see # svc: ignore-file[DK001, DK002] docs\"\nRUN <<EOF\n# svc: ignore-file[DK004]\nEOF\nCMD python x.py\n",
    );
    write(
        dir,
        "deploy.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\n  labels:\n    note: \"docs # svc: ignore-file[KB003, KB006] x\"\n  annotations:\n    doc: |\n      # svc: ignore-file[KB001]\nspec:\n  template:\n    spec:\n      containers:\n        - name: x\n          image: x:latest  # svc: ignore[KB005]\n          securityContext:\n            privileged: true\n",
    );
    let (report, stderr) = json_in(dir, &["."]);
    let docker = codes_at(&report, "Dockerfile");
    for code in ["DK001", "DK002", "DK003", "DK004"] {
        assert!(
            docker.contains(&code.to_string()),
            "{code}: {docker:?} {stderr}"
        );
    }
    let yaml = codes_at(&report, "deploy.yaml");
    for code in ["KB001", "KB003", "KB006"] {
        assert!(yaml.contains(&code.to_string()), "{code}: {yaml:?}");
    }
    // A real comment after a value still counts.
    assert!(!yaml.contains(&"KB005".to_string()), "{yaml:?}");
    // Text that only looks like a suppression is no suppression: none is unused either.
    assert!(!docker.contains(&"SV003".to_string()), "{docker:?}");
    assert!(!yaml.contains(&"SV003".to_string()), "{yaml:?}");
}

fn annotated(value: &str) -> (Vec<String>, Value) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    with_app(dir, "");
    write(
        dir,
        "deploy.yaml",
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\n  annotations:\n    svc.dev/ignore: {value}\nspec:\n  template:\n    spec:\n      containers:\n        - name: x\n          image: x:1.0\n          securityContext:\n            privileged: true\n"
        ),
    );
    let (report, _) = json_in(dir, &["--select", "KB,SV003", "."]);
    (codes_at(&report, "deploy.yaml"), report)
}

#[test]
fn an_empty_ignore_annotation_suppresses_nothing_and_is_reported() {
    for value in ["\"\"", "\" , \"", "''"] {
        let (codes, report) = annotated(value);
        assert!(
            codes.contains(&"KB003".to_string()) && codes.contains(&"SV003".to_string()),
            "{value}: {codes:?}"
        );
        assert!(
            message_of(&report, "deploy.yaml", "SV003").contains("names no rule"),
            "{report}"
        );
    }
}

#[test]
fn the_ignore_annotation_takes_selectors_like_select() {
    // A prefix, a principle, ALL: every KB rule is suppressed, and no suppression is unused.
    for value in ["KB", "P10", "ALL", "\"kb, SV\""] {
        let (codes, _) = annotated(value);
        assert_eq!(codes, [""; 0], "{value}");
    }
    // A prefix that names no rule is unknown.
    let (codes, report) = annotated("KBX");
    assert!(codes.contains(&"SV003".to_string()), "{codes:?}");
    assert!(message_of(&report, "deploy.yaml", "SV003").contains("unknown rule `KBX`"));
}

/// (line, code, message) of every finding in `path`, sorted.
fn lines_at(report: &Value, path: &str) -> Vec<(u64, String, String)> {
    let mut out: Vec<_> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["path"] == path)
        .map(|f| {
            (
                f["line"].as_u64().unwrap(),
                f["code"].as_str().unwrap().to_string(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

/// `ignore[]` is a list left empty, not "every rule" (that is `ignore` without brackets); an
/// unknown rule beside a known one is reported even when the known one suppresses a finding.
#[test]
fn empty_brackets_suppress_nothing_and_unknown_rules_in_a_list_are_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    with_app(dir, "");
    write(
        dir,
        "secrets.py",
        "password = \"hunter2hunter2xx\"  # svc: ignore[]\n\
         token = \"hunter2hunter2yy\"  # svc: ignore[ , ]\n\
         api_key = \"hunter2hunter2zz\"  # svc: ignore[AU003, no-such-rule]\n\
         secret = \"hunter2hunter2ww\"  # svc: ignore\n",
    );
    write(
        dir,
        "Dockerfile",
        format!("# svc: ignore-file[]\n{BAD_DOCKERFILE}"),
    );
    let (report, stderr) = json_in(dir, &["--select", "AU003,DK,SV003", "."]);
    let lines = lines_at(&report, "secrets.py");
    let codes: Vec<(u64, &str)> = lines.iter().map(|(l, c, _)| (*l, c.as_str())).collect();
    assert_eq!(
        codes,
        [
            (1, "AU003"),
            (1, "SV003"),
            (2, "AU003"),
            (2, "SV003"),
            (3, "SV003")
        ],
        "{lines:?} {stderr}"
    );
    assert!(lines[1].2.contains("names no rule"), "{lines:?}");
    assert!(lines[3].2.contains("names no rule"), "{lines:?}");
    assert_eq!(lines[4].2, "suppression names unknown rule `no-such-rule`");
    let docker = codes_at(&report, "Dockerfile");
    for code in ["DK001", "DK002", "DK003", "DK004", "SV003"] {
        assert!(docker.contains(&code.to_string()), "{code}: {docker:?}");
    }
    assert!(message_of(&report, "Dockerfile", "SV003").contains("names no rule"));
}

// ---------------------------------------------------------------------------------------------
// #27, #28, #36: configuration

#[test]
fn every_spelling_of_the_tool_svc_header_is_configuration() {
    for header in [
        "[ tool.svc ]",
        "[tool.\"svc\"]",
        "[tool . svc]",
        "[\"tool\".svc]",
        "[tool.'svc']",
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        write(
            dir,
            "main.py",
            "from fastapi import FastAPI\napp = FastAPI()\n",
        );
        write(
            dir,
            "pyproject.toml",
            format!("[project]\nname = \"app\"\n\n{header}\nignore = [\"ALL\"]\n"),
        );
        let (report, stderr) = json_in(dir, &["."]);
        assert_eq!(
            found(&report),
            [] as [(String, String); 0],
            "{header}: {stderr}"
        );
        // A typo under it is reported.
        write(
            dir,
            "pyproject.toml",
            format!("[project]\nname = \"app\"\n\n{header}\nselct = [\"ALL\"]\n"),
        );
        let (code, _, stderr) = run_in(dir, &["audit", "."]);
        assert_eq!(code, 2, "{header}");
        assert!(
            stderr.contains("unknown configuration key `selct`"),
            "{stderr}"
        );
    }
}

/// `svc audit` with this svc.toml: exit code, stdout and stderr.
fn with_config(toml: &str) -> (i32, String, String) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    with_app(dir, "");
    write(dir, "legacy/x.py", SECRET_PY);
    write(dir, "svc.toml", toml);
    run_in(dir, &["audit", "."])
}

#[test]
fn globs_that_can_never_match_and_missing_service_directories_are_errors() {
    for (toml, bad) in [
        ("exclude = [\"/abs/path/legacy\"]\n", "\"/abs/path/legacy\""),
        ("exclude = [\"../proj/legacy\"]\n", "\"../proj/legacy\""),
        ("exclude = [\"legacy\\\\x.py\"]\n", "\"legacy\\\\x.py\""),
        ("exclude = [\"\"]\n", "\"\""),
        ("exclude = [\"/\"]\n", "\"/\""),
        ("include = [\"a/../b\"]\n", "\"a/../b\""),
        (
            "[per-path-ignores]\n\"/abs/**\" = [\"AU003\"]\n",
            "\"/abs/**\"",
        ),
    ] {
        let (code, _, stderr) = with_config(toml);
        assert_eq!(code, 2, "{toml}: {stderr}");
        assert!(stderr.contains("can never match"), "{toml}: {stderr}");
        // The code frame points at the glob.
        assert!(stderr.contains(bad), "{toml}: {stderr}");
    }
    for dir in ["/abs", "servics/billing"] {
        let (code, _, stderr) = with_config(&format!("[services.\"{dir}\"]\nkind = \"worker\"\n"));
        assert_eq!(code, 2, "{dir}: {stderr}");
        assert!(
            stderr.contains(&format!("`services.\"{dir}\"`: no such directory")),
            "{stderr}"
        );
    }
    // A glob that can match, and `./` (the directory of the file) written out, are fine.
    let (code, _, stderr) =
        with_config("exclude = [\"./legacy\"]\n[services.\"legacy\"]\nkind = \"worker\"\n");
    assert_ne!(code, 2, "{stderr}");
    let (_, stdout, _) = with_config("exclude = [\"./legacy\"]\n");
    assert!(!stdout.contains("AU003"), "{stdout}");
    let (_, stdout, _) = with_config("fail-on = \"never\"\n");
    assert!(stdout.contains("AU003"), "{stdout}");
}

#[test]
fn severity_keys_say_that_only_rule_codes_and_names_are_allowed() {
    for key in ["P7", "LG", "ALL"] {
        let (code, _, stderr) = with_config(&format!("[severity]\n{key} = \"error\"\n"));
        assert_eq!(code, 2, "{stderr}");
        assert!(
            stderr.contains("[severity] takes rule codes and names"),
            "{key}: {stderr}"
        );
        assert!(stderr.contains(&format!("{key} = ")), "frame: {stderr}");
    }
    let (code, _, stderr) = with_config("[severity]\nnot-a-rule = \"error\"\n");
    assert_eq!(code, 2);
    assert!(stderr.contains("unknown rule `not-a-rule`"), "{stderr}");
}

// ---------------------------------------------------------------------------------------------
// #32, #33, #34

#[test]
fn a_dockerfile_with_a_byte_order_mark_parses() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    with_app(dir, "");
    write(
        dir,
        "Dockerfile",
        "\u{feff}FROM python:latest\nCMD python x.py\n",
    );
    let (report, _) = json_in(dir, &["."]);
    let codes = codes_at(&report, "Dockerfile");
    assert_eq!(codes, ["DK001", "DK002", "DK004", "HC004"]);
    let dk002 = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "DK002")
        .unwrap();
    assert_eq!(
        (dk002["line"].as_u64(), dk002["column"].as_u64()),
        (Some(1), Some(6))
    );
}

#[cfg(unix)]
#[test]
fn working_links_out_of_the_tree_are_named_as_not_audited() {
    let tmp = tempfile::tempdir().unwrap();
    let elsewhere = tmp.path().join("elsewhere");
    write(&elsewhere, "secret.py", SECRET_PY);
    let dir = tmp.path().join("p");
    with_app(&dir, "");
    write(&dir, "inside/real.py", "x = 1\n");
    std::os::unix::fs::symlink(elsewhere.join("secret.py"), dir.join("linked.py")).unwrap();
    std::os::unix::fs::symlink(&elsewhere, dir.join("outdir")).unwrap();
    // A link within the tree: its target is audited where it lives, nothing to say.
    std::os::unix::fs::symlink(dir.join("inside/real.py"), dir.join("alias.py")).unwrap();
    let (_, stderr) = json_in(&dir, &["."]);
    assert!(
        stderr.contains("not audited: linked.py: a symbolic link out of the audited tree"),
        "{stderr}"
    );
    assert!(
        stderr.contains("not audited: outdir: a symbolic link out of the audited tree"),
        "{stderr}"
    );
    assert!(!stderr.contains("alias.py"), "{stderr}");
}

/// A pyproject.toml svc cannot read is an `unreadable-file` finding, not the end of the audit.
/// Running as root, permissions do not stop a read: the test uses a file that is not UTF-8
/// then (chmod 000 otherwise), and also a pyproject.toml one level up.
#[test]
fn an_unreadable_pyproject_is_a_finding_and_the_audit_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    write(
        &dir,
        "main.py",
        "from fastapi import FastAPI\napp = FastAPI()\n",
    );
    write(&dir, "requirements.txt", "fastapi\n");
    let pyproject = dir.join("pyproject.toml");
    std::fs::write(&pyproject, b"[project]\nname = \"\xff\"\n").unwrap();
    #[cfg(unix)]
    let unprivileged = {
        use std::os::unix::fs::PermissionsExt;
        // Permissions mean nothing to root: only chmod when they will be checked.
        let root = std::fs::metadata("/proc/self")
            .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
            .unwrap_or(false);
        if !root {
            std::fs::write(&pyproject, "[tool.svc]\n").unwrap();
            std::fs::set_permissions(&pyproject, std::fs::Permissions::from_mode(0o000)).unwrap();
        }
        !root
    };
    std::fs::write(
        tmp.path().join("pyproject.toml"),
        b"[tool.svc]\nx = \"\xfe\"\n",
    )
    .unwrap();
    let (code, stdout, stderr) = run_in(&dir, &["audit", "--format", "json", "."]);
    #[cfg(unix)]
    if unprivileged {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&pyproject, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    assert_eq!(code, 1, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(codes_at(&report, "pyproject.toml"), ["SV002"]);
    // The audit went on: the app's own findings are there.
    assert!(codes_at(&report, "main.py").contains(&"RL001".to_string()));
    // The one above the root is not audited, so it is said on stderr.
    assert!(
        stderr.contains("pyproject.toml") && stderr.contains("is not applied"),
        "{stderr}"
    );
}

// ---------------------------------------------------------------------------------------------
// Issue 15: pre-commit with a baseline in a monorepo of generated services

/// A git repository with two services made by `svc new` under services/, an extra violation
/// in one of them recorded in the baseline by `svc init --baseline`, and a monorepo svc.toml.
fn generated_monorepo() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    git(dir, &["init", "-q", "-b", "main"]);
    for name in ["orders", "billing"] {
        let out = format!("services/{name}");
        let (code, _, stderr) = run_in(dir, &["new", name, "--yes", "--output", &out]);
        assert_eq!(code, 0, "svc new {name}: {stderr}");
        // What `svc new` writes: the service's own [tool.svc].
        let pyproject = std::fs::read_to_string(dir.join(&out).join("pyproject.toml")).unwrap();
        assert!(pyproject.contains("[tool.svc"), "{pyproject}");
    }
    // The legacy violation the baseline records.
    let legacy = "services/orders/app/legacy.py";
    write(
        dir,
        legacy,
        "def debug(x):\n    print(\"debug\", x)\n    return x\n\n\nDEFAULT = debug(0)\n",
    );
    // The repository's configuration: applies in file-name mode as in directory mode.
    write(dir, "svc.toml", "[severity]\nprint-call = \"error\"\n");
    git(dir, &["add", "."]);
    git(dir, &["commit", "-q", "-m", "two services"]);
    tmp
}

#[test]
fn named_files_resolve_paths_config_and_baseline_against_the_work_tree() {
    let repo = generated_monorepo();
    let dir = repo.path();
    let legacy = "services/orders/app/legacy.py";
    let (code, stdout, stderr) = run_in(
        dir,
        &["audit", "--write-baseline", "svc-baseline.json", "."],
    );
    assert_eq!((code, stdout.as_str()), (0, ""), "{stderr}");

    // Directory mode and file-name mode agree, from the work tree root and from below it.
    let (whole, _) = json_in(dir, &["."]);
    let in_file: Vec<_> = found(&whole)
        .into_iter()
        .filter(|(p, _)| p == legacy)
        .collect();
    assert!(in_file.contains(&(legacy.to_string(), "LG001".to_string())));
    let lg001 = whole["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == legacy && f["code"] == "LG001")
        .unwrap();
    assert_eq!(
        lg001["severity"], "error",
        "the repository's svc.toml applies"
    );
    let (named, stderr) = json_in(dir, &[legacy, "services/billing/app/main.py"]);
    let named_found: Vec<_> = found(&named)
        .into_iter()
        .filter(|(p, _)| p == legacy)
        .collect();
    assert_eq!(named_found, in_file, "{stderr}");
    let named_lg001 = named["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == legacy && f["code"] == "LG001")
        .unwrap();
    assert_eq!(named_lg001["severity"], "error");
    let (below, _) = json_in(&dir.join("services/orders"), &["app/legacy.py"]);
    let below: Vec<_> = found(&below)
        .into_iter()
        .filter(|(p, _)| p == legacy)
        .collect();
    assert_eq!(below, in_file);

    // The baseline written at the root hides them in file-name mode.
    let (code, stdout, stderr) = run_in(
        dir,
        &[
            "audit",
            "--baseline",
            "svc-baseline.json",
            "--format",
            "json",
            legacy,
        ],
    );
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!((code, found(&report)), (0, vec![]), "{stderr}");

    // GitHub annotations and SARIF name files relative to the work tree root.
    let (_, stdout, _) = run_in(dir, &["audit", "--format", "github", legacy]);
    assert!(stdout.contains(&format!("file={legacy},")), "{stdout}");
    let (_, stdout, _) = run_in(dir, &["audit", "--format", "sarif", legacy]);
    let sarif: Value = serde_json::from_str(&stdout).unwrap();
    let uris: Vec<_> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(uris.contains(&legacy.to_string()), "{uris:?}");
}

#[test]
fn pre_commit_with_a_baseline_in_a_monorepo_of_generated_services() {
    let Some(pre_commit) = crate::ci::pre_commit() else {
        return;
    };
    let repo = generated_monorepo();
    let dir = repo.path();
    let svc = assert_cmd::cargo::cargo_bin("svc");
    // As a user would: `svc init --baseline` at the repository root.
    let (code, stdout, stderr) = run_in(dir, &["init", "--baseline", "svc-baseline.json"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("baseline of"), "{stdout}");
    let baseline = std::fs::read_to_string(dir.join("svc-baseline.json")).unwrap();
    assert!(
        baseline.contains("\"path\": \"services/orders/app/legacy.py\""),
        "{baseline}"
    );
    // The `repo: local` hook svc init wrote runs `svc` from PATH: here, the binary under test.
    let config_path = dir.join(".pre-commit-config.yaml");
    let config = std::fs::read_to_string(&config_path).unwrap();
    assert!(
        config.contains("entry: svc audit") && config.contains("language: system"),
        "{config}"
    );
    assert!(
        config.contains("args: [--baseline, svc-baseline.json]"),
        "{config}"
    );
    std::fs::write(
        &config_path,
        config.replace(
            "entry: svc audit",
            &format!("entry: {} audit", svc.display()),
        ),
    )
    .unwrap();
    git(dir, &["add", "."]);
    git(dir, &["commit", "-q", "-m", "adopt svc"]);

    let hooked = crate::ci::PreCommitRepo::install(&pre_commit, dir, None);
    let commit = |message: &str| hooked.commit(message);

    // A commit touching the baselined file (its violation unchanged): passes.
    let legacy = dir.join("services/orders/app/legacy.py");
    let text = std::fs::read_to_string(&legacy).unwrap();
    std::fs::write(&legacy, format!("\"\"\"Legacy helpers.\"\"\"\n\n\n{text}")).unwrap();
    git(dir, &["add", "services/orders/app/legacy.py"]);
    let (passed, output) = commit("document the legacy helpers");
    assert!(passed, "{output}");
    assert!(
        output.contains("svc audit") && output.contains("Passed"),
        "{output}"
    );

    // A new violation in the other service: blocked, named by its path from the root.
    let main = dir.join("services/billing/app/main.py");
    let text = std::fs::read_to_string(&main).unwrap();
    std::fs::write(
        &main,
        format!("{text}\n\ndef shout(x):\n    print(x)\n\n\nshout(\"billing started\")\n"),
    )
    .unwrap();
    git(dir, &["add", "services/billing/app/main.py"]);
    let (passed, output) = commit("shout");
    assert!(!passed, "{output}");
    assert!(output.contains("Failed"), "{output}");
    assert!(output.contains("LG001 print-call"), "{output}");
    assert!(output.contains("services/billing/app/main.py:"), "{output}");
}
