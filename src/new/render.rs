//! Renders a template into an in-memory tree of files; nothing touches the disk here.
//!
//! - Files named `*.tera` are rendered with tera (set up by [`engine`]: autoescape off, no
//!   environment, clock or randomness, a `yaml_str` filter, recursion refused) and lose the
//!   suffix; every other file is copied byte for byte, so `${{ secrets.X }}` in a workflow
//!   survives.
//! - A path segment containing `{{` is rendered: a directory named `{{package}}`.
//! - Files under `_partials/` are only for `{% include %}`, `{% import %}` and `{% extends %}`;
//!   they are never written.
//! - `[[conditional]]` patterns are rendered, then matched as globs against each file's output
//!   path and its template path (and their parent directories); a pattern that matches nothing
//!   is an error, since it is almost always a typo.

use std::collections::{HashMap, HashSet};

use globset::{GlobBuilder, GlobMatcher};
use miette::Diagnostic;
use tera::{Context, Tera};
use thiserror::Error;

use super::answers::Answers;
use super::engine;
use super::manifest::{BUILTINS, Manifest, VarValue};
use super::nesting;
use super::recursion::{self, Recursion};
use super::service_name::ServiceName;
use super::templates::{Template, TemplateFile};

/// Files under this top-level directory are includable pieces, never output.
pub const PARTIALS_DIR: &str = "_partials";
const TERA_SUFFIX: &str = ".tera";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedFile {
    /// Relative to the project root, '/'-separated.
    pub path: String,
    pub contents: Vec<u8>,
    pub executable: bool,
}

/// A whole generated project, sorted by path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RenderedTree {
    pub files: Vec<RenderedFile>,
}

#[derive(Debug, Error, Diagnostic)]
pub enum RenderError {
    #[error("cannot render {file}")]
    #[diagnostic(code(svc::new::render), help("{help}"))]
    Template {
        file: String,
        help: String,
        #[source]
        source: tera::Error,
    },
    #[error("cannot render the name of {file}")]
    #[diagnostic(code(svc::new::render), help("{help}"))]
    Name {
        file: String,
        help: String,
        #[source]
        source: tera::Error,
    },
    #[error("the name of {file} renders to {rendered:?}, which cannot be a file or directory name")]
    #[diagnostic(
        code(svc::new::render),
        help("a rendered name must not be empty, `.` or `..`, and must not contain '/' or '\\'")
    )]
    BadName { file: String, rendered: String },
    #[error("cannot evaluate derived value `{key}`")]
    #[diagnostic(code(svc::new::render), help("{help}"))]
    Derived {
        key: String,
        help: String,
        #[source]
        source: tera::Error,
    },
    #[error("cannot use the conditional path {pattern:?}: {reason}")]
    #[diagnostic(code(svc::new::template))]
    BadPattern { pattern: String, reason: String },
    #[error("the conditional path {pattern:?} matches no file of the template")]
    #[diagnostic(
        code(svc::new::template),
        help(
            "patterns match output paths (names rendered, `.tera` dropped) or paths as written in the template"
        )
    )]
    UnmatchedPattern { pattern: String },
    #[error("{file} is not UTF-8, so it cannot be rendered")]
    #[diagnostic(
        code(svc::new::template),
        help("drop the `.tera` suffix to copy the file as it is")
    )]
    NotUtf8 { file: String },
    #[error("{first} and {second} both render to {path}")]
    #[diagnostic(code(svc::new::template))]
    Collision {
        path: String,
        first: String,
        second: String,
    },
    #[error("{file}, {deep}")]
    #[diagnostic(code(svc::new::template), help("{}", nesting::HELP))]
    TooDeep {
        file: String,
        deep: nesting::TooDeep,
    },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Recursion(#[from] Recursion),
    #[error("{path} is both a file and a directory in the rendered project")]
    #[diagnostic(code(svc::new::template))]
    FileAndDirectory { path: String },
}

/// What every template can use without declaring it.
pub struct Builtins<'a> {
    pub name: &'a ServiceName,
    pub svc_version: &'a str,
    pub year: i32,
}

/// Builds the tera context: built-ins, then answers, then `[derived]` values in order (each
/// can use the ones before it).
pub fn context(
    manifest: &Manifest,
    builtins: &Builtins<'_>,
    answers: &Answers,
) -> Result<Context, RenderError> {
    let mut context = Context::new();
    context.insert("name", &builtins.name.slug);
    context.insert("package", &builtins.name.package);
    context.insert("svc_version", builtins.svc_version);
    context.insert("template_name", &manifest.name);
    context.insert("template_version", &manifest.version);
    context.insert("year", &builtins.year);
    for (key, value) in &answers.values {
        match value {
            VarValue::String(s) => context.insert(key, s),
            VarValue::Bool(b) => context.insert(key, b),
            VarValue::Int(i) => context.insert(key, i),
        }
    }
    for (key, expression) in &manifest.derived {
        let value = engine::render_one_off(expression, &context).map_err(|source| {
            RenderError::Derived {
                key: key.clone(),
                help: help_for(&source),
                source,
            }
        })?;
        context.insert(key, &value);
    }
    Ok(context)
}

/// Renders every file of the template that its conditions keep.
pub fn render(
    template: &Template,
    context: &Context,
    answers: &Answers,
) -> Result<RenderedTree, RenderError> {
    let tera = load_tera(&template.files)?;
    let mut patterns = conditional_patterns(&template.manifest, context, answers)?;

    let mut files = Vec::new();
    let mut sources: HashMap<String, &str> = HashMap::new();
    for file in &template.files {
        if is_partial(&file.path) {
            continue;
        }
        let path = output_path(file, context)?;
        if excluded(&mut patterns, &path, &file.path) {
            continue;
        }
        if let Some(first) = sources.insert(path.clone(), &file.path) {
            return Err(RenderError::Collision {
                path,
                first: first.to_owned(),
                second: file.path.clone(),
            });
        }
        let contents = if is_tera(&file.path) {
            engine::guarded(|| tera.render(&file.path, context))
                .map_err(|source| RenderError::Template {
                    file: file.path.clone(),
                    help: help_for(&source),
                    source,
                })?
                .into_bytes()
        } else {
            file.contents.to_vec()
        };
        files.push(RenderedFile {
            path,
            contents,
            executable: file.executable,
        });
    }

    if let Some(unused) = patterns.iter().find(|p| !p.matched) {
        return Err(RenderError::UnmatchedPattern {
            pattern: unused.source.clone(),
        });
    }

    let paths: HashSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
    for file in &files {
        if let Some(dir) = ancestors(&file.path).find(|dir| paths.contains(dir)) {
            return Err(RenderError::FileAndDirectory {
                path: dir.to_owned(),
            });
        }
    }

    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(RenderedTree { files })
}

fn load_tera(files: &[TemplateFile]) -> Result<Tera, RenderError> {
    let mut tera = engine::tera();
    let mut sources = Vec::new();
    for file in files.iter().filter(|f| is_tera(&f.path)) {
        let text = std::str::from_utf8(&file.contents).map_err(|_| RenderError::NotUtf8 {
            file: file.path.clone(),
        })?;
        sources.push((file.path.as_str(), text));
    }
    // Parsed one by one first so a syntax error names its file; the batch below then only
    // fails on links between files (a missing parent or macro file).
    let mut parsed = Vec::with_capacity(sources.len());
    for (name, text) in &sources {
        nesting::check(text).map_err(|deep| RenderError::TooDeep {
            file: (*name).to_owned(),
            deep,
        })?;
        parsed.push(
            engine::guarded(|| tera::Template::new(name, None, text)).map_err(|source| {
                RenderError::Template {
                    file: (*name).to_owned(),
                    help: help_for(&source),
                    source,
                }
            })?,
        );
    }
    engine::guarded(|| tera.add_raw_templates(sources)).map_err(|source| {
        RenderError::Template {
            file: "the template's .tera files".to_owned(),
            help: help_for(&source),
            source,
        }
    })?;
    // After tera's own checks, so a missing parent or a circular `extends` keeps its message.
    recursion::check(&parsed)?;
    Ok(tera)
}

fn is_tera(path: &str) -> bool {
    path.rsplit('/')
        .next()
        .is_some_and(|name| name.len() > TERA_SUFFIX.len() && name.ends_with(TERA_SUFFIX))
}

/// Whether the template uses the `package` built-in anywhere: in a file name, a rendered file
/// (partials included), a derived value or a conditional path. Only then does the service name
/// become a Python package, and only then can it shadow one (see [`super::service_name::check_package`]).
pub fn uses_package(template: &Template) -> bool {
    let tag = regex::Regex::new(r"(?s)\{[{%].*?[%}]\}").expect("a valid pattern");
    let word = regex::Regex::new(r"\bpackage\b").expect("a valid pattern");
    let mentions = |text: &str| tag.find_iter(text).any(|t| word.is_match(t.as_str()));
    template.files.iter().any(|file| {
        mentions(&file.path)
            || ((is_tera(&file.path) || is_partial(&file.path))
                && std::str::from_utf8(&file.contents).is_ok_and(&mentions))
    }) || template
        .manifest
        .derived
        .iter()
        .any(|(_, expression)| mentions(expression))
        || template
            .manifest
            .conditionals
            .iter()
            .flat_map(|c| &c.paths)
            .any(|path| mentions(path))
}

fn is_partial(path: &str) -> bool {
    path.split('/').next() == Some(PARTIALS_DIR)
}

/// `{{package}}/main.py.tera` -> `my_service/main.py`.
fn output_path(file: &TemplateFile, context: &Context) -> Result<String, RenderError> {
    let mut segments = Vec::new();
    for segment in file.path.split('/') {
        let rendered = if segment.contains("{{") {
            engine::render_one_off(segment, context).map_err(|source| RenderError::Name {
                file: file.path.clone(),
                help: help_for(&source),
                source,
            })?
        } else {
            segment.to_owned()
        };
        if rendered.is_empty()
            || rendered == "."
            || rendered == ".."
            || rendered.contains(['/', '\\', '\0'])
        {
            return Err(RenderError::BadName {
                file: file.path.clone(),
                rendered,
            });
        }
        segments.push(rendered);
    }
    if is_tera(&file.path) {
        let last = segments
            .last_mut()
            .expect("split yields at least one segment");
        last.truncate(last.len() - TERA_SUFFIX.len());
        if last.is_empty() {
            return Err(RenderError::BadName {
                file: file.path.clone(),
                rendered: String::new(),
            });
        }
    }
    Ok(segments.join("/"))
}

struct ConditionalPattern {
    source: String,
    matcher: GlobMatcher,
    /// Whether files it matches are kept.
    keep: bool,
    matched: bool,
}

fn conditional_patterns(
    manifest: &Manifest,
    context: &Context,
    answers: &Answers,
) -> Result<Vec<ConditionalPattern>, RenderError> {
    let mut patterns = Vec::new();
    for conditional in &manifest.conditionals {
        let keep = match answers.get(&conditional.when.variable) {
            Some(VarValue::Bool(b)) => conditional.when.holds(*b),
            // The manifest guarantees a bool variable; keep files rather than lose them.
            _ => true,
        };
        for source in &conditional.paths {
            let rendered =
                engine::render_one_off(source, context).map_err(|err| RenderError::BadPattern {
                    pattern: source.clone(),
                    reason: chain(&err),
                })?;
            let matcher = GlobBuilder::new(rendered.trim_matches('/'))
                .literal_separator(true)
                .build()
                .map_err(|err| RenderError::BadPattern {
                    pattern: source.clone(),
                    reason: err.kind().to_string(),
                })?
                .compile_matcher();
            patterns.push(ConditionalPattern {
                source: source.clone(),
                matcher,
                keep,
                matched: false,
            });
        }
    }
    Ok(patterns)
}

/// Whether a false condition drops the file. Every pattern is tried, so each one that matches
/// anything is marked as used.
fn excluded(patterns: &mut [ConditionalPattern], output: &str, source: &str) -> bool {
    let candidates: Vec<&str> = [output, source]
        .into_iter()
        .flat_map(|path| std::iter::once(path).chain(ancestors(path)))
        .collect();
    let mut drop = false;
    for pattern in patterns.iter_mut() {
        if candidates.iter().any(|c| pattern.matcher.is_match(c)) {
            pattern.matched = true;
            drop |= !pattern.keep;
        }
    }
    drop
}

/// `a/b/c` -> `a/b`, `a`.
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/').map(|(i, _)| &path[..i]).rev()
}

/// A tera error and its causes on one line.
pub(super) fn chain(err: &tera::Error) -> String {
    let mut parts = vec![err.to_string()];
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        parts.push(cause.to_string());
        source = cause.source();
    }
    parts.join(": ")
}

fn help_for(err: &tera::Error) -> String {
    let text = chain(err);
    let missing = text
        .split_once("Variable `")
        .and_then(|(_, rest)| rest.split_once("` not found in context"))
        .map(|(variable, _)| variable);
    if let Some(help) = engine::unavailable_function_help(&text) {
        return help;
    }
    // A derived value, pattern or name refused by the same check as the files.
    if text.contains(recursion::CYCLE) {
        return recursion::CYCLE_HELP.to_owned();
    }
    if text.contains(nesting::DEEP) {
        return nesting::HELP.to_owned();
    }
    if text.contains(engine::TERA_PANIC) {
        return "a defect in tera, the template engine: rewrite the expression it names \
                (a macro call inside arithmetic, say: `{% set x = m::f() %}` first)"
            .to_owned();
    }
    match missing {
        // `${{ github.sha }}`, `{{ .Values.x }}`: braces meant for another tool.
        Some(variable) if variable.contains('.') => format!(
            "`{variable}` looks like an expression for another tool (GitHub Actions, Helm): \
             wrap it in {{% raw %}}...{{% endraw %}}, or drop the .tera suffix to copy the file as it is"
        ),
        Some(variable) => format!(
            "declare `{variable}` in template.toml ([[variables]] or [derived]), or guard it with \
             `{{% if {variable} is defined %}}`; built-ins: {}",
            BUILTINS.join(", ")
        ),
        None => "see https://keats.github.io/tera/docs/ for the template syntax".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::new::manifest;
    use crate::new::service_name;

    fn template(manifest_text: &str, files: &[(&str, &str)]) -> Template {
        Template {
            manifest: manifest::parse("t/template.toml", manifest_text).unwrap(),
            files: files
                .iter()
                .map(|(path, contents)| TemplateFile {
                    path: (*path).to_owned(),
                    contents: Cow::Owned(contents.as_bytes().to_vec()),
                    executable: path.ends_with(".sh"),
                })
                .collect(),
        }
    }

    const MANIFEST: &str = r#"
[template]
name = "t"
version = "7"

[[variables]]
name = "auth"
type = "bool"
default = false

[derived]
image = "ghcr.io/acme/{{ name }}"
tag = "{{ image }}:{{ template_version }}"

[[conditional]]
paths = ["{{ package }}/auth.py", "tests/auth/**"]
when = "auth"

[[conditional]]
paths = ["{{ package }}/anonymous.py"]
when = "not auth"
"#;

    fn run(template: &Template, auth: bool) -> Result<RenderedTree, RenderError> {
        let service = service_name::parse("orders-api").unwrap();
        let builtins = Builtins {
            name: &service,
            svc_version: "0.0.0",
            year: 2030,
        };
        let answers = Answers {
            values: vec![("auth".to_owned(), VarValue::Bool(auth))],
            ..Answers::default()
        };
        let context = context(&template.manifest, &builtins, &answers)?;
        render(template, &context, &answers)
    }

    fn paths(tree: &RenderedTree) -> Vec<&str> {
        tree.files.iter().map(|f| f.path.as_str()).collect()
    }

    fn text<'a>(tree: &'a RenderedTree, path: &str) -> &'a str {
        let file = tree.files.iter().find(|f| f.path == path).unwrap();
        std::str::from_utf8(&file.contents).unwrap()
    }

    fn files() -> Vec<(&'static str, &'static str)> {
        vec![
            (
                "{{package}}/__init__.py.tera",
                "# {{ name }} ({{ year }}) {{ tag }}\n",
            ),
            ("{{package}}/auth.py", "AUTH = True\n"),
            ("{{package}}/anonymous.py", ""),
            ("tests/auth/test_jwt.py", ""),
            (
                ".github/workflows/ci.yml",
                "run: echo ${{ secrets.TOKEN }}\n",
            ),
            (
                "chart/values.yaml.tera",
                "image: {{ image }}\nref: {% raw %}{{ .Values.x }}{% endraw %}\n",
            ),
            ("blank.txt.tera", "{% if auth %}auth{% endif %}  \n"),
            ("_partials/header.tera", "# generated for {{ name }}"),
            (
                "README.md.tera",
                "{% include \"_partials/header.tera\" %}\n",
            ),
            ("run.sh", "#!/bin/sh\n"),
        ]
    }

    #[test]
    fn renders_names_contents_and_drops_the_suffix() {
        let tree = run(&template(MANIFEST, &files()), false).unwrap();
        assert_eq!(
            paths(&tree),
            [
                ".github/workflows/ci.yml",
                "README.md",
                "blank.txt",
                "chart/values.yaml",
                "orders_api/__init__.py",
                "orders_api/anonymous.py",
                "run.sh",
            ]
        );
        assert_eq!(
            text(&tree, "orders_api/__init__.py"),
            "# orders-api (2030) ghcr.io/acme/orders-api:7\n"
        );
        assert_eq!(
            text(&tree, ".github/workflows/ci.yml"),
            "run: echo ${{ secrets.TOKEN }}\n"
        );
        assert_eq!(
            text(&tree, "chart/values.yaml"),
            "image: ghcr.io/acme/orders-api\nref: {{ .Values.x }}\n"
        );
        assert_eq!(text(&tree, "README.md"), "# generated for orders-api\n");
        // Whitespace-only after rendering, and still written.
        assert_eq!(text(&tree, "blank.txt"), "  \n");
        assert!(
            tree.files
                .iter()
                .find(|f| f.path == "run.sh")
                .unwrap()
                .executable
        );
    }

    #[test]
    fn conditionals_follow_the_answer_and_cover_directories() {
        let tree = run(&template(MANIFEST, &files()), true).unwrap();
        let paths = paths(&tree);
        assert!(paths.contains(&"orders_api/auth.py"));
        assert!(paths.contains(&"tests/auth/test_jwt.py"));
        assert!(!paths.contains(&"orders_api/anonymous.py"));
    }

    #[test]
    fn autoescape_is_off() {
        let t = template(
            "[template]\nname = \"t\"\nversion = \"1\"\n[derived]\nv = \"<a href='x'>&</a>\"\n",
            &[("page.html.tera", "{{ v }}")],
        );
        assert_eq!(
            text(&run(&t, false).unwrap(), "page.html"),
            "<a href='x'>&</a>"
        );
    }

    #[test]
    fn undefined_variable_names_file_and_variable() {
        let t = template(
            MANIFEST,
            &[
                ("{{package}}/anonymous.py", ""),
                ("x.py.tera", "{{ nope }}"),
            ],
        );
        let t = Template {
            manifest: Manifest {
                conditionals: Vec::new(),
                ..t.manifest
            },
            ..t
        };
        let err = run(&t, false).unwrap_err();
        let RenderError::Template { file, help, source } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(file, "x.py.tera");
        assert!(
            chain(source).contains("Variable `nope` not found"),
            "{}",
            chain(source)
        );
        assert!(help.contains("declare `nope` in template.toml"), "{help}");
    }

    #[test]
    fn syntax_error_names_its_file() {
        let t = template(
            "[template]\nname = \"t\"\nversion = \"1\"\n",
            &[
                ("ok.tera", "fine"),
                ("broken.yml.tera", "{% if %}x{% endif %}\n"),
            ],
        );
        let err = run(&t, false).unwrap_err();
        assert!(
            matches!(&err, RenderError::Template { file, .. } if file == "broken.yml.tera"),
            "{err:?}"
        );
    }

    #[test]
    fn braces_meant_for_another_tool_suggest_raw() {
        let t = template(
            "[template]\nname = \"t\"\nversion = \"1\"\n",
            &[("ci.yml.tera", "sha: ${{ github.sha }}\n")],
        );
        let Err(RenderError::Template { help, .. }) = run(&t, false) else {
            panic!("a GitHub expression in a .tera file cannot render");
        };
        assert!(help.contains("{% raw %}"), "{help}");
    }

    #[test]
    fn unmatched_pattern_is_an_error() {
        let t = template(
            MANIFEST,
            &[("{{package}}/anonymous.py", ""), ("tests/auth/x.py", "")],
        );
        let err = run(&t, false).unwrap_err();
        assert!(
            matches!(&err, RenderError::UnmatchedPattern { pattern } if pattern == "{{ package }}/auth.py")
        );
    }

    #[test]
    fn bad_rendered_names_and_collisions_are_errors() {
        let bare =
            "[template]\nname = \"t\"\nversion = \"1\"\n[derived]\nempty = \"\"\nup = \"..\"\n";
        for path in ["{{ empty }}/x", "{{ up }}/x", ".tera"] {
            let err = run(&template(bare, &[(path, "")]), false);
            // `.tera` alone is not a template file (nothing before the suffix): copied as is.
            if path == ".tera" {
                assert_eq!(paths(&err.unwrap()), [".tera"]);
            } else {
                assert!(
                    matches!(err, Err(RenderError::BadName { .. })),
                    "{path}: {err:?}"
                );
            }
        }
        let err = run(&template(bare, &[("a.txt", ""), ("a.txt.tera", "")]), false).unwrap_err();
        assert!(matches!(err, RenderError::Collision { .. }), "{err:?}");
        let err = run(&template(bare, &[("a", ""), ("a/b", "")]), false).unwrap_err();
        assert!(
            matches!(err, RenderError::FileAndDirectory { ref path } if path == "a"),
            "{err:?}"
        );
    }

    #[test]
    fn derived_errors_name_the_key() {
        let t = template(
            "[template]\nname = \"t\"\nversion = \"1\"\n[derived]\nx = \"{{ missing }}\"\n",
            &[],
        );
        assert!(matches!(run(&t, false), Err(RenderError::Derived { key, .. }) if key == "x"));
    }

    #[test]
    fn ancestors_walk_up() {
        assert_eq!(ancestors("a/b/c").collect::<Vec<_>>(), ["a/b", "a"]);
        assert_eq!(ancestors("a").count(), 0);
    }
}
