//! Declared dependencies of a service: pyproject.toml (PEP 621 and Poetry), requirements
//! files. Names are normalised as PEP 503 says (lowercase, runs of `-_.` become `-`).

use ruff_text_size::{TextRange, TextSize};
use toml_edit::{Document, Item};

use crate::audit::model::{Loc, Project};
use crate::audit::source::FileId;

#[derive(Debug, Clone)]
pub struct Requirement {
    /// Normalised distribution name (`opentelemetry-sdk`).
    pub name: String,
    /// Extras requested (`uvicorn[standard]` -> `standard`).
    pub extras: Vec<String>,
    pub at: Loc,
}

pub fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut dash = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            dash = true;
        } else {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// Split a PEP 508 requirement into its name and extras.
fn parse_requirement(spec: &str) -> Option<(String, Vec<String>)> {
    let spec = spec.trim();
    if spec.is_empty() || spec.starts_with('-') || spec.starts_with('#') {
        return None;
    }
    let end = spec
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(spec.len());
    let name = &spec[..end];
    if name.is_empty() {
        return None;
    }
    let rest = spec[end..].trim_start();
    let extras = rest
        .strip_prefix('[')
        .and_then(|r| r.split_once(']'))
        .map(|(e, _)| e.split(',').map(|x| normalize(x.trim())).collect())
        .unwrap_or_default();
    Some((normalize(name), extras))
}

pub fn collect(project: &Project, files: &[FileId]) -> Vec<Requirement> {
    let mut out = Vec::new();
    for &id in files {
        let f = project.file(id);
        let name = f.rel.rsplit('/').next().unwrap_or(&f.rel);
        if name == "pyproject.toml" {
            collect_pyproject(id, f.text(), &mut out);
        } else if name.starts_with("requirements") {
            let mut offset = 0usize;
            for line in f.text().split_inclusive('\n') {
                let content = line.split('#').next().unwrap_or("");
                if let Some((n, extras)) = parse_requirement(content) {
                    let start = offset + (line.len() - line.trim_start().len());
                    let len = content.trim().len();
                    out.push(Requirement {
                        name: n,
                        extras,
                        at: Loc {
                            file: id,
                            range: TextRange::at(
                                TextSize::from(start as u32),
                                TextSize::from(len as u32),
                            ),
                        },
                    });
                }
                offset += line.len();
            }
        }
    }
    out
}

fn collect_pyproject(id: FileId, text: &str, out: &mut Vec<Requirement>) {
    let Ok(doc) = text.parse::<Document<String>>() else {
        return;
    };
    let mut push_spec = |spec: &str, span: Option<std::ops::Range<usize>>| {
        if let Some((n, extras)) = parse_requirement(spec) {
            let range = span
                .map(|s| {
                    TextRange::new(TextSize::from(s.start as u32), TextSize::from(s.end as u32))
                })
                .unwrap_or_default();
            out.push(Requirement {
                name: n,
                extras,
                at: Loc { file: id, range },
            });
        }
    };
    let project = doc.get("project");
    let mut arrays = Vec::new();
    if let Some(deps) = project
        .and_then(|p| p.get("dependencies"))
        .and_then(Item::as_array)
    {
        arrays.push(deps);
    }
    if let Some(opt) = project
        .and_then(|p| p.get("optional-dependencies"))
        .and_then(Item::as_table_like)
    {
        for (_, v) in opt.iter() {
            if let Some(a) = v.as_array() {
                arrays.push(a);
            }
        }
    }
    for a in arrays {
        for v in a.iter() {
            if let Some(s) = v.as_str() {
                push_spec(s, v.span());
            }
        }
    }
    if let Some(poetry) = doc
        .get("tool")
        .and_then(|t| t.get("poetry"))
        .and_then(|p| p.get("dependencies"))
        .and_then(Item::as_table_like)
    {
        for (k, v) in poetry.iter() {
            if k != "python" {
                push_spec(k, v.span());
            }
        }
    }
}

/// The service's name from its pyproject.toml, if it has one.
pub fn project_name(project: &Project, files: &[FileId], root: &str) -> Option<String> {
    let want = if root.is_empty() {
        "pyproject.toml".to_string()
    } else {
        format!("{root}/pyproject.toml")
    };
    let f = files
        .iter()
        .map(|&id| project.file(id))
        .find(|f| f.rel == want)?;
    let doc = f.text().parse::<Document<String>>().ok()?;
    let name = doc.get("project").and_then(|p| p.get("name")).or_else(|| {
        doc.get("tool")
            .and_then(|t| t.get("poetry"))
            .and_then(|p| p.get("name"))
    })?;
    name.as_str().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirement_names_are_normalised() {
        assert_eq!(
            parse_requirement("Uvicorn[standard]>=0.30"),
            Some(("uvicorn".into(), vec!["standard".into()]))
        );
        assert_eq!(
            parse_requirement("opentelemetry_sdk==1.45"),
            Some(("opentelemetry-sdk".into(), vec![]))
        );
        assert_eq!(parse_requirement("-r base.txt"), None);
        assert_eq!(parse_requirement("# comment"), None);
        assert_eq!(normalize("Foo.Bar__baz"), "foo-bar-baz");
    }
}
