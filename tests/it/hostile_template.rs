//! `svc new` against hostile answers and hostile templates (the review's items #5, #7, #8,
//! #22, #25 and #26): each either works exactly or exits 2 with a reason, before anything is
//! written.

use std::fs;
use std::path::Path;

use svc::audit::artefact::yaml::{self, Node, Value};

use super::new::{Output, Sandbox, assert_usage_error, flat, write_template};

/// A template directory `t` in a fresh temporary directory, with a minimal manifest.
fn template(files: &[(&str, &str)]) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let mut all = vec![(
        "t/template.toml",
        "[template]\nname = \"t\"\nversion = \"1\"\n",
    )];
    all.extend_from_slice(files);
    write_template(root.path(), &all);
    root
}

fn new_from(sandbox: &Sandbox, template_dir: &Path, args: &[&str]) -> Output {
    let dir = template_dir.to_str().unwrap();
    let mut all = vec!["new", "demo-svc", "--yes", "--template", dir];
    all.extend_from_slice(args);
    sandbox.run(&all)
}

/// Exit 2 with `message`, and the working directory still empty: nothing was written.
fn assert_refused(sandbox: &Sandbox, out: &Output, message: &str) {
    assert_usage_error(out, message);
    assert!(sandbox.entries().is_empty(), "{:?}", sandbox.entries());
}

// #5: lambda `description` in the SAM template --------------------------------------------

/// The review's probes: YAML indicators, tags, flow collections, comments, aliases, and
/// scalars that YAML would read as another type.
const YAML_PROBES: [&str; 20] = [
    "a: b",
    "*alias",
    "&anchor x",
    "{a: 1}",
    "[1, 2]",
    "| x",
    "> x",
    "- x",
    "@x",
    "`x",
    "%x",
    "? x",
    "!Sub $AWS::AccountId",
    "Costs $5 a month, in US$",
    "x #not a comment",
    "yes",
    "null",
    "~",
    "123",
    "'single' and: colon",
];

fn string_at<'a>(document: &'a Node, path: &[&str]) -> &'a str {
    let node = document.path(path).unwrap_or_else(|| panic!("no {path:?}"));
    match &node.value {
        // Quoted: a string whatever its text, and no tag turns it into something else.
        Value::Scalar { text, plain: false } if node.tag.is_none() => text,
        other => panic!(
            "{path:?} is not a quoted string: {other:?} (tag {:?})",
            node.tag
        ),
    }
}

#[test]
fn lambda_description_probes_are_yaml_strings_exactly_as_given() {
    let sandbox = Sandbox::new();
    for (index, probe) in YAML_PROBES.iter().enumerate() {
        let output = format!("out{index}");
        let out = sandbox.run(&[
            "new",
            "demo-fn",
            "--variant",
            "lambda",
            "--yes",
            "--output",
            &output,
            "--set",
            &format!("description={probe}"),
        ]);
        assert_eq!(out.code, 0, "{probe:?}: {}", out.stderr);
        let text = fs::read_to_string(sandbox.path(&output).join("template.yaml")).unwrap();
        let documents = yaml::parse(&text).unwrap_or_else(|e| panic!("{probe:?}: {e:?}"));
        let [document] = documents.as_slice() else {
            panic!("{probe:?}: {} documents", documents.len());
        };
        assert_eq!(
            string_at(document, &["Description"]),
            format!("demo-fn - {probe}"),
            "{probe:?}"
        );
        assert_eq!(
            string_at(
                document,
                &["Resources", "ApiFunction", "Properties", "Description"]
            ),
            *probe
        );
    }
}

#[test]
fn description_characters_that_no_escaping_covers_are_refused_before_writing() {
    // Quotes and backslashes land unescaped in pyproject.toml and Python; newlines break the
    // one-line README title. The pattern refuses them, in words.
    let sandbox = Sandbox::new();
    for probe in ["say \"hi\"", "C:\\dir", "two\nlines", "a\u{2028}b"] {
        let out = sandbox.run(&[
            "new",
            "demo-fn",
            "--variant",
            "lambda",
            "--yes",
            "--set",
            &format!("description={probe}"),
        ]);
        assert_refused(&sandbox, &out, "for `description`: expected one line");
    }
}

#[test]
fn lambda_description_with_a_substitution_is_refused_before_writing() {
    // CloudFormation keeps `${AWS::AccountId}` in a plain string literally, but cfn-lint fails
    // the template (E1029: a substitution outside !Sub), and the top-level Description cannot
    // take !Sub. `$${` contains `${` as well. A `$` before anything else stays allowed (the
    // probes above), and the other variants have no CloudFormation: they take `${` as it is.
    let sandbox = Sandbox::new();
    for probe in [
        "Costs ${AWS::AccountId}",
        "${x}",
        "pay $${AWS::Region}",
        "a$$b",
    ] {
        let out = sandbox.run(&[
            "new",
            "demo-fn",
            "--variant",
            "lambda",
            "--yes",
            "--set",
            &format!("description={probe}"),
        ]);
        assert_refused(&sandbox, &out, "or `${`");
    }
    let out = sandbox.run(&[
        "new",
        "demo-svc",
        "--variant",
        "container",
        "--yes",
        "--output",
        "container",
        "--set",
        "description=Costs ${AWS::AccountId}",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let readme = fs::read_to_string(sandbox.path("container").join("README.md")).unwrap();
    assert!(readme.contains("Costs ${AWS::AccountId}"), "{readme}");
}

// #26: control characters in `description` -------------------------------------------------

#[test]
fn control_characters_in_a_description_are_an_invalid_value_in_words() {
    let sandbox = Sandbox::new();
    for variant in ["container", "lambda", "worker"] {
        for control in ["\r", "\x01", "\x0b", "\x0c", "\x1b", "\x7f", "\t", "\u{85}"] {
            let value = format!("a{control}b");
            let out = sandbox.run(&[
                "new",
                "demo-svc",
                "--variant",
                variant,
                "--yes",
                "--set",
                &format!("description={value}"),
            ]);
            assert_refused(
                &sandbox,
                &out,
                &format!(
                    "invalid value {value:?} for `description`: expected one line of 1 to 200 \
                     characters, without double quotes, backslashes{}",
                    // The lambda's also names `${` (cfn-lint, see above).
                    if variant == "lambda" {
                        ", control characters or `${`"
                    } else {
                        " or control characters"
                    }
                ),
            );
            assert!(!out.stderr.contains("pattern"), "{}", out.stderr);
            assert!(!out.stderr.contains("fix the template"), "{}", out.stderr);
        }
    }
}

// #25, issue 16: ranges and rules across variables ---------------------------------------------

#[test]
fn out_of_range_ports_are_refused_before_writing() {
    let sandbox = Sandbox::new();
    for (port, message) in [
        ("0", "must be at least 1"),
        ("-1", "must be at least 1"),
        ("65536", "must be at most 65535"),
        ("70000", "must be at most 65535"),
        ("9223372036854775807", "must be at most 65535"),
        ("99999999999999999999", "must be at most 65535"),
    ] {
        let out = sandbox.run(&["new", "demo-svc", "--yes", "--set", &format!("port={port}")]);
        assert_refused(
            &sandbox,
            &out,
            &format!("invalid value \"{port}\" for `port`: {message}"),
        );
    }
    for (variable, value, message) in [
        ("metrics_port", "80", "must be at least 1024"),
        ("time_limit", "86401", "must be at most 86400"),
        ("soft_time_limit", "0", "must be at least 1"),
    ] {
        let out = sandbox.run(&[
            "new",
            "demo-svc",
            "--variant",
            "worker",
            "--yes",
            "--set",
            &format!("{variable}={value}"),
        ]);
        assert_refused(&sandbox, &out, message);
    }
}

#[test]
fn valid_ports_still_work() {
    let sandbox = Sandbox::new();
    for port in ["1", "65535", "8080"] {
        let output = format!("out{port}");
        let out = sandbox.run(&[
            "new",
            "demo-svc",
            "--yes",
            "--output",
            &output,
            "--set",
            &format!("port={port}"),
        ]);
        assert_eq!(out.code, 0, "{port}: {}", out.stderr);
        let dockerfile = fs::read_to_string(sandbox.path(&output).join("Dockerfile")).unwrap();
        assert!(
            dockerfile.contains(&format!("EXPOSE {port}")),
            "{dockerfile}"
        );
    }
}

#[test]
fn a_soft_time_limit_at_or_above_the_hard_one_is_refused() {
    let sandbox = Sandbox::new();
    let worker = |sets: &[&str]| {
        let mut args = vec!["new", "demo-worker", "--variant", "worker", "--yes"];
        for set in sets {
            args.extend(["--set", set]);
        }
        sandbox.run(&args)
    };
    let message = "invalid values: soft_time_limit must be below time_limit, so a task can \
                   clean up before it is killed";
    let out = worker(&["soft_time_limit=86400", "time_limit=2"]);
    assert_refused(
        &sandbox,
        &out,
        &format!("{message} (soft_time_limit = 86400, time_limit = 2)"),
    );
    assert!(
        flat(&out.stderr).contains("the template requires soft_time_limit < time_limit"),
        "{}",
        out.stderr
    );
    // Equal is not below.
    let out = worker(&["soft_time_limit=300", "time_limit=300"]);
    assert_refused(&sandbox, &out, message);
    // One side set, the other its default (240): still checked before writing.
    let out = worker(&["time_limit=100"]);
    assert_refused(
        &sandbox,
        &out,
        &format!("{message} (soft_time_limit = 240, time_limit = 100)"),
    );

    let out = worker(&["soft_time_limit=100", "time_limit=200"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn a_malformed_constraint_points_into_the_manifest() {
    let root = template(&[]);
    let manifest = root.path().join("t/template.toml");
    fs::write(
        &manifest,
        "[template]\nname = \"t\"\nversion = \"1\"\n\n\
         [[variables]]\nname = \"port\"\ntype = \"int\"\ndefault = 8000\n\n\
         [[constraints]]\nrule = \"port => 1024\"\n",
    )
    .unwrap();
    let sandbox = Sandbox::new();
    let out = new_from(&sandbox, &root.path().join("t"), &[]);
    assert_refused(
        &sandbox,
        &out,
        "template.toml: `constraints[0].rule`: `=` alone does not compare: write `==`",
    );
    // The label points at the rule in the manifest.
    assert!(
        out.stderr.contains("rule = \"port => 1024\""),
        "{}",
        out.stderr
    );
}

// #7: symbolic links that bring files in from outside the template ----------------------

#[cfg(unix)]
#[test]
fn a_symlinked_common_directory_is_refused() {
    use std::os::unix::fs::symlink;

    let root = tempfile::tempdir().unwrap();
    write_template(
        root.path(),
        &[
            ("secrets/id_rsa", "TOP SECRET\n"),
            (
                "org/t1/template.toml",
                "[template]\nname = \"t1\"\nversion = \"1\"\ncommon = true\n",
            ),
        ],
    );
    symlink(root.path().join("secrets"), root.path().join("org/_common")).unwrap();
    let sandbox = Sandbox::new();
    let out = new_from(&sandbox, &root.path().join("org/t1"), &[]);
    assert_refused(
        &sandbox,
        &out,
        "_common is a symbolic link or a special file; templates hold regular files and directories only",
    );
    assert!(!out.stderr.contains("TOP SECRET"), "{}", out.stderr);
}

#[cfg(unix)]
#[test]
fn a_symlinked_manifest_is_refused_without_echoing_its_target() {
    use std::os::unix::fs::symlink;

    let root = tempfile::tempdir().unwrap();
    // Not TOML: a parse error would quote it.
    write_template(root.path(), &[("secrets/token", "TOP SECRET = [\n")]);
    fs::create_dir(root.path().join("t")).unwrap();
    symlink(
        root.path().join("secrets/token"),
        root.path().join("t/template.toml"),
    )
    .unwrap();
    let sandbox = Sandbox::new();
    let out = new_from(&sandbox, &root.path().join("t"), &[]);
    assert_refused(
        &sandbox,
        &out,
        "template.toml is a symbolic link or a special file",
    );
    assert!(!out.stderr.contains("TOP SECRET"), "{}", out.stderr);
    let listed = sandbox.run(&[
        "new",
        "--list",
        "--template",
        root.path().join("t").to_str().unwrap(),
    ]);
    assert_refused(&sandbox, &listed, "is a symbolic link or a special file");
}

// #8: no environment, clock or randomness ------------------------------------------------------

const SECRET: &str = "hunter2-7f3a";

fn with_secret(sandbox: &Sandbox, template_dir: &Path) -> Output {
    let out = sandbox
        .svc()
        .env("MY_SECRET_TOKEN", SECRET)
        .args([
            "new",
            "demo-svc",
            "--yes",
            "--template",
            template_dir.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

#[test]
fn templates_cannot_read_the_environment_the_clock_or_randomness() {
    let get_env = "get_env(name=\"MY_SECRET_TOKEN\", default=\"unset\")";
    let cases: [(&str, Vec<(String, String)>); 6] = [
        (
            "get_env",
            vec![(
                "t/leak.txt.tera".into(),
                format!("secret={{{{ {get_env} }}}}\n"),
            )],
        ),
        (
            "get_env",
            vec![(format!("t/{{{{ {get_env} }}}}.txt"), String::new())],
        ),
        (
            "get_env",
            vec![(
                "t/template.toml".into(),
                format!(
                    "[template]\nname = \"t\"\nversion = \"1\"\n[derived]\nleak = '{{{{ {get_env} }}}}'\n"
                ),
            )],
        ),
        (
            "get_env",
            vec![
                (
                    "t/template.toml".into(),
                    format!(
                        "[template]\nname = \"t\"\nversion = \"1\"\n\
                         [[variables]]\nname = \"x\"\ntype = \"bool\"\ndefault = true\n\
                         [[conditional]]\npaths = ['{{{{ {get_env} }}}}']\nwhen = \"x\"\n"
                    ),
                ),
                ("t/unset".into(), String::new()),
            ],
        ),
        (
            "now",
            vec![("t/when.txt.tera".into(), "{{ now() }}\n".into())],
        ),
        (
            "get_random",
            vec![("t/dice.txt.tera".into(), "{{ get_random(end=6) }}\n".into())],
        ),
    ];
    for (function, files) in cases {
        let files: Vec<(&str, &str)> = files
            .iter()
            .map(|(p, c)| (p.as_str(), c.as_str()))
            .collect();
        let root = template(&files);
        let sandbox = Sandbox::new();
        let out = with_secret(&sandbox, &root.path().join("t"));
        assert_refused(
            &sandbox,
            &out,
            &format!("`{function}()` is not available in svc templates"),
        );
        assert!(!out.stderr.contains(SECRET), "{}", out.stderr);
    }
}

// #22: recursion --------------------------------------------------------------------------------

#[test]
fn recursion_is_an_error_not_a_stack_overflow() {
    let cases: [(&[(&str, &str)], &str); 4] = [
        (
            &[
                (
                    "t/a.txt.tera",
                    "{% import \"_partials/m.tera\" as m %}{{ m::f(n=1) }}",
                ),
                (
                    "t/_partials/m.tera",
                    "{% macro f(n) %}{{ self::f(n=n+1) }}{% endmacro f %}",
                ),
            ],
            "the template recurses without end: macro `f` of _partials/m.tera calls itself",
        ),
        (
            &[
                ("t/a.txt.tera", "{% include \"b.txt.tera\" %}"),
                ("t/b.txt.tera", "{% include \"a.txt.tera\" %}"),
            ],
            "the template recurses without end: a.txt.tera includes b.txt.tera, which includes a.txt.tera",
        ),
        (
            &[
                (
                    "t/a.txt.tera",
                    "{% import \"_partials/x.tera\" as x %}{{ x::f() }}",
                ),
                (
                    "t/_partials/x.tera",
                    "{% import \"_partials/y.tera\" as y %}{% macro f() %}x{% endmacro f %}",
                ),
                (
                    "t/_partials/y.tera",
                    "{% import \"_partials/x.tera\" as x %}{% macro g() %}y{% endmacro g %}",
                ),
            ],
            // (miette may break the line after a "/")
            "y.tera, which imports _partials/x.tera",
        ),
        (
            &[(
                "t/template.toml",
                "[template]\nname = \"t\"\nversion = \"1\"\n[derived]\n\
                 x = '{% macro f() %}{{ self::f() }}{% endmacro f %}{{ self::f() }}'\n",
            )],
            "cannot evaluate derived value `x`",
        ),
    ];
    for (files, message) in cases {
        let root = template(files);
        let sandbox = Sandbox::new();
        let out = new_from(&sandbox, &root.path().join("t"), &[]);
        assert_refused(&sandbox, &out, message);
        assert!(
            flat(&out.stderr).contains("svc refuses every cycle"),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn a_chain_of_includes_deeper_than_the_limit_is_an_error() {
    // 3,000 files, each including the next: acyclic, and deep enough to overflow the stack.
    let bodies: Vec<(String, String)> = (0..3000)
        .map(|i| {
            (
                format!("t/_partials/p{i}.tera"),
                if i < 2999 {
                    format!("{{% include \"_partials/p{}.tera\" %}}", i + 1)
                } else {
                    "end".to_owned()
                },
            )
        })
        .chain(std::iter::once((
            "t/a.txt.tera".to_owned(),
            "{% include \"_partials/p0.tera\" %}".to_owned(),
        )))
        .collect();
    let files: Vec<(&str, &str)> = bodies
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    let root = template(&files);
    let sandbox = Sandbox::new();
    let out = new_from(&sandbox, &root.path().join("t"), &[]);
    assert_refused(
        &sandbox,
        &out,
        "the template renders 501 levels deep, more than 500",
    );
}

/// Tera's parser recurses per level with no limit (a stack overflow aborts: nothing can catch
/// it) and backtracks on calls inside calls (each level doubles the time); so a template text
/// nested that deep is refused before tera parses it, naming the file and the line.
#[test]
fn nesting_too_deep_for_teras_parser_is_an_error_naming_file_and_line() {
    let n = 3000;
    let ifs = format!(
        "first line\n{}x{}",
        "{% if true %}".repeat(n),
        "{% endif %}".repeat(n)
    );
    let parens = format!("{{{{ {}1{} }}}}", "(".repeat(n), ")".repeat(n));
    let calls = format!("{{{{ {}1{} }}}}", "range(end=".repeat(6), ")".repeat(6));
    let cases = [
        (
            "t/a.txt.tera",
            ifs.as_str(),
            "a.txt.tera, line 2: blocks, parentheses and brackets nest 201 deep here",
        ),
        (
            "t/_partials/p.tera",
            parens.as_str(),
            "_partials/p.tera, line 1: blocks, parentheses and brackets nest 201",
        ),
        (
            "t/a.txt.tera",
            calls.as_str(),
            "a.txt.tera, line 1: calls nest 5 deep here",
        ),
    ];
    for (path, text, message) in cases {
        let root = template(&[(path, text), ("t/b.txt.tera", "b")]);
        let sandbox = Sandbox::new();
        let out = new_from(&sandbox, &root.path().join("t"), &[]);
        assert_refused(&sandbox, &out, message);
        assert!(flat(&out.stderr).contains("flatten it"), "{}", out.stderr);
    }
    // A derived value is a template too.
    let manifest =
        format!("[template]\nname = \"t\"\nversion = \"1\"\n[derived]\nx = '{parens}'\n");
    let root = template(&[("t/template.toml", manifest.as_str())]);
    let sandbox = Sandbox::new();
    let out = new_from(&sandbox, &root.path().join("t"), &[]);
    assert_refused(&sandbox, &out, "cannot evaluate derived value `x`");
    assert!(
        flat(&out.stderr).contains("nest 201 deep here"),
        "{}",
        out.stderr
    );

    // Below the limits the same shapes render.
    let ok = format!(
        "{}{{{{ {}1{} }}}}|{{{{ {}3{} }}}}{}",
        "{% if true %}".repeat(150),
        "(".repeat(40),
        ")".repeat(40),
        "range(end=".repeat(4),
        ") | length".repeat(4),
        "{% endif %}".repeat(150)
    );
    let root = template(&[("t/a.txt.tera", ok.as_str())]);
    let sandbox = Sandbox::new();
    let out = new_from(&sandbox, &root.path().join("t"), &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        fs::read_to_string(sandbox.path("demo-svc/a.txt")).unwrap(),
        "1|3"
    );
}

/// Tera panics on some templates it parses (`unreachable!` for a macro call in arithmetic):
/// the panic is an error naming the file, with no panic message or backtrace.
#[test]
fn a_panic_in_tera_is_an_error_naming_the_file() {
    let root = template(&[
        (
            "t/a.txt.tera",
            "{% import \"_partials/m.tera\" as m %}{{ 1 + m::f() }}",
        ),
        ("t/_partials/m.tera", "{% macro f() %}2{% endmacro f %}"),
    ]);
    let sandbox = Sandbox::new();
    let dir = root.path().join("t");
    let run = sandbox
        .svc()
        .args([
            "new",
            "demo-svc",
            "--yes",
            "--template",
            dir.to_str().unwrap(),
        ])
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    let out = Output {
        code: run.status.code().unwrap_or(-1),
        stdout: String::from_utf8(run.stdout).unwrap(),
        stderr: String::from_utf8(run.stderr).unwrap(),
    };
    assert_refused(&sandbox, &out, "cannot render a.txt.tera");
    let stderr = flat(&out.stderr);
    assert!(
        stderr.contains("tera failed on this template")
            && stderr.contains("unimplemented math expression for MacroCall"),
        "{stderr}"
    );
    assert!(stderr.contains("`{% set x = m::f() %}` first"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("stack backtrace"), "{stderr}");
}

#[test]
fn macros_and_includes_that_end_still_render() {
    let root = template(&[
        (
            "t/a.txt.tera",
            "{% import \"_partials/m.tera\" as m %}{{ m::outer(x=name) }}|{% include \"_partials/p.tera\" %}",
        ),
        (
            "t/_partials/m.tera",
            "{% macro inner(x) %}<{{ x }}>{% endmacro inner %}\
             {% macro outer(x) %}{{ self::inner(x=x) }}{{ self::inner(x=x) }}{% endmacro outer %}",
        ),
        (
            "t/_partials/p.tera",
            "{% import \"_partials/m.tera\" as m %}{{ m::inner(x=\"p\") }}",
        ),
    ]);
    let sandbox = Sandbox::new();
    let out = new_from(&sandbox, &root.path().join("t"), &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        fs::read_to_string(sandbox.path("demo-svc/a.txt")).unwrap(),
        "<demo-svc><demo-svc>|<p>"
    );
}

#[cfg(unix)]
#[test]
fn a_prompt_answer_that_breaks_a_rule_is_asked_again() {
    use super::new::{answer, assert_finished};

    let sandbox = Sandbox::new();
    let mut session = sandbox.pty(&[
        "new",
        "demo-worker",
        "--variant",
        "worker",
        "--output",
        "out",
    ]);
    let mut answer = |prompt: &str, keys: &str| answer(&mut session, prompt, keys);
    answer("description", "\r");
    answer("python_version", "\r");
    answer("broker", "\r");
    answer("soft_time_limit", "\r");
    answer("time_limit", "100\r");
    answer("soft_time_limit must be below time_limit", "300\r");
    answer("metrics_port", "\r");
    answer("registry", "\r");
    assert_finished(&mut session);
    let pyproject = fs::read_to_string(sandbox.path("out/pyproject.toml")).unwrap();
    assert!(
        pyproject.contains("soft_time_limit = 240\ntime_limit = 300\n"),
        "{pyproject}"
    );
}
