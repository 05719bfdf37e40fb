//! Records how a project was generated in its `pyproject.toml`, for a later `svc update`:
//!
//! ```toml
//! [tool.svc.template]
//! name = "container"
//! version = "1"
//! svc_version = "0.1.0"
//!
//! [tool.svc.template.answers]
//! name = "orders-api"
//! python_version = "3.12"
//! ```
//!
//! Edited with `toml_edit` so the template's own formatting and comments stay. Only
//! `tool.svc.template` is touched: the rest of `[tool.svc]` is the audit's configuration.

use std::sync::Arc;

use miette::{Diagnostic, NamedSource, SourceSpan};
use thiserror::Error;
use toml_edit::{DocumentMut, Item, Table, value};

use super::answers::Answers;
use super::manifest::{Manifest, VarValue};
use super::render::{RenderedFile, RenderedTree};
use super::service_name::ServiceName;

pub const PYPROJECT: &str = "pyproject.toml";

#[derive(Debug, Error, Diagnostic)]
pub enum RecordError {
    #[error("the rendered pyproject.toml is not valid TOML: {message}")]
    #[diagnostic(
        code(svc::new::template),
        help("fix the template's pyproject.toml(.tera)")
    )]
    Invalid {
        message: String,
        #[source_code]
        source_code: Arc<NamedSource<String>>,
        #[label("here")]
        span: Option<SourceSpan>,
    },
    #[error(
        "the rendered pyproject.toml sets `{key}` to {found}, where svc records the template in a table"
    )]
    #[diagnostic(code(svc::new::template))]
    NotATable { key: String, found: String },
}

/// Writes `[tool.svc.template]` into the tree's `pyproject.toml`, creating the file if the
/// template has none.
pub fn record(
    tree: &mut RenderedTree,
    manifest: &Manifest,
    name: &ServiceName,
    answers: &Answers,
    svc_version: &str,
    commit: Option<&str>,
) -> Result<(), RecordError> {
    let index = match tree.files.iter().position(|f| f.path == PYPROJECT) {
        Some(index) => index,
        None => {
            let index = tree.files.partition_point(|f| f.path.as_str() < PYPROJECT);
            tree.files.insert(
                index,
                RenderedFile {
                    path: PYPROJECT.to_owned(),
                    contents: Vec::new(),
                    executable: false,
                },
            );
            index
        }
    };
    let file = &mut tree.files[index];
    let text = String::from_utf8_lossy(&file.contents).into_owned();
    let updated = with_template_table(&text, manifest, name, answers, svc_version, commit)?;
    file.contents = updated.into_bytes();
    Ok(())
}

fn with_template_table(
    text: &str,
    manifest: &Manifest,
    name: &ServiceName,
    answers: &Answers,
    svc_version: &str,
    commit: Option<&str>,
) -> Result<String, RecordError> {
    let mut doc: DocumentMut =
        text.parse()
            .map_err(|err: toml_edit::TomlError| RecordError::Invalid {
                message: err.message().to_owned(),
                source_code: Arc::new(NamedSource::new(PYPROJECT, text.to_owned())),
                span: err.span().map(SourceSpan::from),
            })?;

    let tool = table_at(doc.as_table_mut(), "tool", "tool")?;
    let svc = table_at(tool, "svc", "tool.svc")?;
    let template = table_at(svc, "template", "tool.svc.template")?;
    template.set_implicit(false);
    template.clear();
    if template.decor().prefix().is_none() && !text.trim().is_empty() {
        // A blank line before the new header, as a person would write it.
        template.decor_mut().set_prefix("\n");
    }
    template.insert("name", value(&manifest.name));
    template.insert("version", value(&manifest.version));
    template.insert("svc_version", value(svc_version));
    // A template directory in git: the commit `svc update` re-renders as the base.
    if let Some(commit) = commit {
        template.insert("commit", value(commit));
    }

    let mut recorded = Table::new();
    recorded.decor_mut().set_prefix("\n");
    recorded.insert("name", value(&name.slug));
    for (key, answer) in &answers.values {
        let item = match answer {
            VarValue::String(s) => value(s),
            VarValue::Bool(b) => value(*b),
            VarValue::Int(i) => value(*i),
        };
        recorded.insert(key, item);
    }
    template.insert("answers", Item::Table(recorded));

    let mut out = doc.to_string();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    Ok(out)
}

/// The table under `key`, created (implicit, so no empty `[tool]` header) when missing.
fn table_at<'a>(
    parent: &'a mut Table,
    key: &str,
    path: &str,
) -> Result<&'a mut Table, RecordError> {
    let item = parent.entry(key).or_insert_with(|| {
        let mut table = Table::new();
        table.set_implicit(true);
        Item::Table(table)
    });
    // `tool = { svc = {...} }` is legal TOML: turn inline tables into standard ones so the
    // recorded table can be added.
    if let Item::Value(toml_edit::Value::InlineTable(inline)) = item {
        let table = std::mem::take(inline).into_table();
        *item = Item::Table(table);
    }
    match item {
        Item::Table(table) => Ok(table),
        other => Err(RecordError::NotATable {
            key: path.to_owned(),
            found: other.type_name().to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::new::{manifest, service_name};

    fn recorded(text: &str) -> String {
        let manifest = manifest::parse(
            "t/template.toml",
            "[template]\nname = \"container\"\nversion = \"3\"\n\
             [[variables]]\nname = \"auth\"\ntype = \"bool\"\ndefault = true\n\
             [[variables]]\nname = \"replicas\"\ntype = \"int\"\ndefault = 2\n",
        )
        .unwrap();
        let answers = Answers {
            values: vec![
                ("auth".to_owned(), VarValue::Bool(false)),
                ("replicas".to_owned(), VarValue::Int(3)),
            ],
            ..Answers::default()
        };
        with_template_table(
            text,
            &manifest,
            &service_name::parse("orders-api").unwrap(),
            &answers,
            "9.9.9",
            None,
        )
        .unwrap()
    }

    const RECORD: &str = "[tool.svc.template]\nname = \"container\"\nversion = \"3\"\nsvc_version = \"9.9.9\"\n\n\
                          [tool.svc.template.answers]\nname = \"orders-api\"\nauth = false\nreplicas = 3\n";

    #[test]
    fn appends_to_an_existing_file_keeping_its_formatting() {
        let original = "# Generated service\n[project]\nname    = \"orders-api\"   # aligned on purpose\n\
                        dependencies = [\n  \"fastapi\",\n]\n\n[tool.ruff]\nline-length = 100\n";
        assert_eq!(recorded(original), format!("{original}\n{RECORD}"));
    }

    #[test]
    fn keeps_the_audit_configuration_in_tool_svc() {
        let head = "[project]\nname = \"x\"\n\n[tool.svc]\nfail-on = \"error\" # strict\n";
        let tail = "\n[tool.ruff]\nline-length = 100\n";
        // The record goes right after the audit's table, and nothing else moves.
        assert_eq!(
            recorded(&format!("{head}{tail}")),
            format!("{head}\n{RECORD}{tail}")
        );
    }

    #[test]
    fn replaces_a_placeholder_left_by_the_template() {
        let original =
            "[project]\nname = \"x\"\n\n[tool.svc.template]\nname = \"old\"\nstale = 1\n";
        let out = recorded(original);
        let doc: DocumentMut = out.parse().unwrap();
        let template = doc["tool"]["svc"]["template"].as_table().unwrap();
        assert!(template.get("stale").is_none());
        assert_eq!(template["name"].as_str(), Some("container"));
        assert_eq!(template["answers"]["replicas"].as_integer(), Some(3));
    }

    #[test]
    fn creates_the_table_in_an_empty_file() {
        assert_eq!(recorded(""), RECORD);
    }

    #[test]
    fn inline_tool_tables_become_standard_tables() {
        let out = recorded("tool = { svc = { fail-on = \"error\" } }\n");
        let doc: DocumentMut = out.parse().unwrap();
        assert_eq!(doc["tool"]["svc"]["fail-on"].as_str(), Some("error"));
        assert_eq!(
            doc["tool"]["svc"]["template"]["version"].as_str(),
            Some("3")
        );
    }

    #[test]
    fn invalid_toml_and_non_tables_are_errors() {
        let manifest = manifest::parse("t", "[template]\nname = \"t\"\nversion = \"1\"\n").unwrap();
        let service = service_name::parse("orders-api").unwrap();
        let err = with_template_table(
            "[project\n",
            &manifest,
            &service,
            &Answers::default(),
            "0",
            None,
        )
        .unwrap_err();
        assert!(matches!(err, RecordError::Invalid { .. }));
        let err = with_template_table(
            "tool = 1\n",
            &manifest,
            &service,
            &Answers::default(),
            "0",
            None,
        )
        .unwrap_err();
        assert!(
            matches!(err, RecordError::NotATable { ref key, .. } if key == "tool"),
            "{err:?}"
        );
    }

    #[test]
    fn record_creates_pyproject_in_sorted_position() {
        let manifest = manifest::parse("t", "[template]\nname = \"t\"\nversion = \"1\"\n").unwrap();
        let file = |path: &str| RenderedFile {
            path: path.to_owned(),
            contents: Vec::new(),
            executable: false,
        };
        let mut tree = RenderedTree {
            files: vec![file("README.md"), file("src/x.py")],
        };
        let service = service_name::parse("orders-api").unwrap();
        record(
            &mut tree,
            &manifest,
            &service,
            &Answers::default(),
            "0",
            None,
        )
        .unwrap();
        let paths: Vec<&str> = tree.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["README.md", "pyproject.toml", "src/x.py"]);
    }
}
