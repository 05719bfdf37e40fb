//! Three-way merges of one file: text with git-style conflict markers, TOML by key.
//!
//! `base` is the file as the recorded template version renders it, `ours` the project's file,
//! `theirs` the file as the current template renders it. Line endings are compared and merged
//! as LF; a project file written with CRLF (an editor or git's autocrlf) gets CRLF back.

use diffy::{ConflictStyle, MergeOptions};
use toml_edit::{Array, DocumentMut, Item, Table, Value};

/// How a conflict is written into the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Markers {
    /// `<<<<<<<` yours, `=======`, template `>>>>>>>`.
    Merge,
    /// Also the recorded version's lines between `|||||||` and `=======`.
    Diff3,
}

/// The outcome of merging one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    pub text: String,
    /// What could not be merged, one line each (a TOML key, or a count of marked regions).
    pub conflicts: Vec<String>,
}

/// Labels on the conflict markers: whose lines are whose, in words a user reads.
pub struct Labels<'a> {
    pub base: &'a str,
    pub theirs: &'a str,
}

pub fn uses_crlf(text: &str) -> bool {
    let crlf = text.matches("\r\n").count();
    crlf > 0 && crlf * 2 >= text.matches('\n').count()
}

pub fn to_lf(text: &str) -> String {
    text.replace("\r\n", "\n")
}

pub fn to_crlf(text: &str) -> String {
    to_lf(text).replace('\n', "\r\n")
}

/// A line-based 3-way merge; overlapping changes become marked conflict regions.
pub fn text(base: &str, ours: &str, theirs: &str, markers: Markers, labels: &Labels) -> Merged {
    let mut options = MergeOptions::new();
    options.set_conflict_style(match markers {
        Markers::Merge => ConflictStyle::Merge,
        Markers::Diff3 => ConflictStyle::Diff3,
    });
    match options.merge(base, ours, theirs) {
        Ok(text) => Merged {
            text,
            conflicts: Vec::new(),
        },
        Err(marked) => {
            let mut regions = 0;
            let text: String = marked
                .split_inclusive('\n')
                .map(|line| {
                    let bare = line.trim_end_matches(['\n', '\r']);
                    // diffy names the sides ours/original/theirs; git users expect the
                    // markers to say which side is theirs and which version the base was.
                    match bare {
                        "<<<<<<< ours" => {
                            regions += 1;
                            "<<<<<<< yours\n".to_owned()
                        }
                        "||||||| original" => format!("||||||| {}\n", labels.base),
                        ">>>>>>> theirs" => format!(">>>>>>> {}\n", labels.theirs),
                        _ => line.to_owned(),
                    }
                })
                .collect();
            Merged {
                text,
                conflicts: vec![format!(
                    "{regions} conflicting {} marked in the file",
                    if regions == 1 { "region" } else { "regions" }
                )],
            }
        }
    }
}

/// Merges TOML by key, keeping the project's formatting and comments: a key only the
/// template changed takes the template's value, one only the project changed keeps the
/// project's, one both changed the same way is kept; arrays of requirement strings merge by
/// package name, so a dependency the user added and one the template bumped both survive.
/// Where both changed a key differently the project's value stays, and the key is a conflict.
/// `None` when one of the three is not valid TOML (the caller merges it as text).
pub fn toml(base: &str, ours: &str, theirs: &str) -> Option<Merged> {
    let base: DocumentMut = base.parse().ok()?;
    let mut merged: DocumentMut = ours.parse().ok()?;
    let theirs: DocumentMut = theirs.parse().ok()?;
    let mut conflicts = Vec::new();
    merge_table(
        base.as_table(),
        merged.as_table_mut(),
        theirs.as_table(),
        "",
        &mut conflicts,
    );
    Some(Merged {
        text: merged.to_string(),
        conflicts,
    })
}

/// A value's meaning without its formatting: two items that differ only in whitespace,
/// comments or quoting style are the same change.
fn canonical(item: &Item) -> String {
    match item {
        Item::None => String::new(),
        Item::Value(value) => canonical_value(value),
        Item::Table(table) => {
            let mut out = String::from("{");
            for (key, item) in table.iter() {
                out.push_str(&format!("{key:?}={},", canonical(item)));
            }
            out.push('}');
            out
        }
        Item::ArrayOfTables(tables) => {
            let mut out = String::from("[");
            for table in tables.iter() {
                out.push_str(&canonical(&Item::Table(table.clone())));
                out.push(',');
            }
            out.push(']');
            out
        }
    }
}

fn canonical_value(value: &Value) -> String {
    match value {
        Value::String(s) => format!("{:?}", s.value()),
        Value::Integer(i) => i.value().to_string(),
        Value::Float(f) => f.value().to_string(),
        Value::Boolean(b) => b.value().to_string(),
        Value::Datetime(d) => d.value().to_string(),
        Value::Array(array) => {
            let items: Vec<String> = array.iter().map(canonical_value).collect();
            format!("[{}]", items.join(","))
        }
        Value::InlineTable(table) => {
            let items: Vec<String> = table
                .iter()
                .map(|(k, v)| format!("{k:?}={}", canonical_value(v)))
                .collect();
            format!("{{{}}}", items.join(","))
        }
    }
}

fn same(a: Option<&Item>, b: Option<&Item>) -> bool {
    canonical(a.unwrap_or(&Item::None)) == canonical(b.unwrap_or(&Item::None))
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

fn merge_table(
    base: &Table,
    ours: &mut Table,
    theirs: &Table,
    prefix: &str,
    conflicts: &mut Vec<String>,
) {
    let mut keys: Vec<String> = base.iter().map(|(k, _)| k.to_owned()).collect();
    for (key, _) in theirs.iter() {
        if !keys.iter().any(|k| k == key) {
            keys.push(key.to_owned());
        }
    }
    for key in keys {
        let b = base.get(&key);
        let t = theirs.get(&key);
        if same(b, t) {
            continue; // The template did not change it: the project's value stands.
        }
        let path = join(prefix, &key);
        let o = ours.get(&key);
        if same(o, b) {
            // Only the template changed it.
            match t {
                Some(t) => {
                    ours.insert(&key, t.clone());
                }
                None => {
                    ours.remove(&key);
                }
            }
            continue;
        }
        if same(o, t) {
            continue; // Both made the same change.
        }
        match (b, ours.get_mut(&key), t) {
            (Some(Item::Table(b)), Some(Item::Table(o)), Some(Item::Table(t))) => {
                merge_table(b, o, t, &path, conflicts);
            }
            (Some(b), Some(o), Some(t)) if b.is_array() && o.is_array() && t.is_array() => {
                let (b, t) = (b.as_array().unwrap(), t.as_array().unwrap());
                merge_array(b, o.as_array_mut().unwrap(), t, &path, conflicts);
            }
            (_, None, Some(_)) => conflicts.push(format!(
                "`{path}`: you removed it and the template changed it; left out"
            )),
            (_, Some(_), None) => conflicts.push(format!(
                "`{path}`: the template removed it and you changed it; kept yours"
            )),
            (_, Some(o), Some(t)) => conflicts.push(format!(
                "`{path}`: you set {} and the template now sets {}; kept yours",
                short(o),
                short(t)
            )),
            (_, None, None) => {}
        }
    }
}

fn short(item: &Item) -> String {
    let text = canonical(item);
    if text.chars().count() > 60 {
        let cut: String = text.chars().take(57).collect();
        format!("{cut}...")
    } else {
        text
    }
}

/// What an array element stands for: the package name of a requirement string
/// (`"fastapi>=0.115"` is `fastapi`), else the value itself.
fn identity(value: &Value) -> String {
    if let Some(s) = value.as_str() {
        let end = s
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
            .unwrap_or(s.len());
        let (name, rest) = s.split_at(end);
        // PEP 508: a name, then extras, a version specifier, a marker or a URL, or nothing.
        let requirement = rest.is_empty() || rest.starts_with(|c: char| "<>=!~;[ @(".contains(c));
        if !name.is_empty() && requirement {
            return format!("req:{}", name.to_ascii_lowercase().replace(['_', '.'], "-"));
        }
    }
    canonical_value(value)
}

fn merge_array(
    base: &Array,
    ours: &mut Array,
    theirs: &Array,
    path: &str,
    conflicts: &mut Vec<String>,
) {
    let find = |array: &Array, id: &str| array.iter().position(|v| identity(v) == id);
    // Elements the template removed, unless the project changed them.
    for b in base.iter() {
        let id = identity(b);
        if find(theirs, &id).is_some() {
            continue;
        }
        if let Some(at) = find(ours, &id) {
            if canonical_value(ours.get(at).unwrap()) == canonical_value(b) {
                ours.remove(at);
            } else {
                conflicts.push(format!(
                    "`{path}`: the template removed {} and you changed it; kept yours",
                    canonical_value(b)
                ));
            }
        }
    }
    for t in theirs.iter() {
        let id = identity(t);
        let before = find(base, &id).map(|at| base.get(at).unwrap());
        if before.is_some_and(|b| canonical_value(b) == canonical_value(t)) {
            continue; // Unchanged by the template.
        }
        match find(ours, &id) {
            Some(at) => {
                let current = canonical_value(ours.get(at).unwrap());
                if current == canonical_value(t) {
                    continue;
                }
                if before.is_some_and(|b| canonical_value(b) == current) {
                    // Only the template changed it (a version bump): take it, in place and
                    // with the project's spacing around it.
                    let decor = ours.get(at).unwrap().decor().clone();
                    let mut value = t.clone();
                    *value.decor_mut() = decor;
                    ours.replace(at, value);
                } else {
                    conflicts.push(format!(
                        "`{path}`: you have {current} and the template now has {}; kept yours",
                        canonical_value(t)
                    ));
                }
            }
            // Added by the template. One the user removed stays removed (the base had it).
            None if before.is_none() => {
                let mut value = t.clone();
                // Laid out like the last element, so a multi-line array stays multi-line.
                if let Some(last) = ours.iter().last() {
                    *value.decor_mut() = last.decor().clone();
                }
                ours.push_formatted(value);
            }
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LABELS: Labels = Labels {
        base: "template 1",
        theirs: "template 2",
    };

    #[test]
    fn text_merges_separate_changes_and_marks_overlaps() {
        let base = "a\nb\nc\nd\n";
        let ours = "a\nB\nc\nd\n";
        let theirs = "a\nb\nc\nD\n";
        let merged = text(base, ours, theirs, Markers::Merge, &LABELS);
        assert_eq!(merged.text, "a\nB\nc\nD\n");
        assert!(merged.conflicts.is_empty());

        let merged = text(
            base,
            "a\nX\nc\nd\n",
            "a\nY\nc\nd\n",
            Markers::Diff3,
            &LABELS,
        );
        assert_eq!(
            merged.text,
            "a\n<<<<<<< yours\nX\n||||||| template 1\nb\n=======\nY\n>>>>>>> template 2\nc\nd\n"
        );
        assert_eq!(merged.conflicts.len(), 1);
        let merged = text(
            base,
            "a\nX\nc\nd\n",
            "a\nY\nc\nd\n",
            Markers::Merge,
            &LABELS,
        );
        assert!(!merged.text.contains("|||||||"), "{}", merged.text);
    }

    #[test]
    fn crlf_is_detected_by_majority() {
        assert!(uses_crlf("a\r\nb\r\n"));
        assert!(!uses_crlf("a\nb\n"));
        assert!(!uses_crlf("a\r\nb\nc\nd\n"));
        assert_eq!(to_crlf("a\r\nb\n"), "a\r\nb\r\n");
    }

    #[test]
    fn toml_keeps_the_users_dependency_and_takes_the_templates_bump() {
        let base = "[project]\nname = \"orders\"\ndependencies = [\n    \"fastapi>=0.110\",\n    \"redis>=5\",\n]\n";
        let ours = "# my comment\n[project]\nname = \"orders\"\ndependencies = [\n    \"fastapi>=0.110\",\n    \"redis>=5\",\n    \"httpx>=0.27\",\n]\n";
        let theirs = "[project]\nname = \"orders\"\ndependencies = [\n    \"fastapi>=0.115\",\n    \"redis>=5\",\n    \"orjson>=3\",\n]\n";
        let merged = toml(base, ours, theirs).unwrap();
        assert!(merged.conflicts.is_empty(), "{:?}", merged.conflicts);
        assert_eq!(
            merged.text,
            "# my comment\n[project]\nname = \"orders\"\ndependencies = [\n    \"fastapi>=0.115\",\n    \"redis>=5\",\n    \"httpx>=0.27\",\n    \"orjson>=3\",\n]\n"
        );
    }

    #[test]
    fn toml_takes_template_keys_keeps_user_keys_and_reports_clashes() {
        let base = "[tool.ruff]\nline-length = 100\ntarget = \"py311\"\n[tool.x]\nold = 1\n";
        let ours = "[tool.ruff]\nline-length = 120 # wider\ntarget = \"py311\"\n[tool.x]\nold = 1\n[tool.mine]\nk = 1\n";
        let theirs = "[tool.ruff]\nline-length = 110\ntarget = \"py312\"\n[tool.new]\nv = 2\n";
        let merged = toml(base, ours, theirs).unwrap();
        let doc: DocumentMut = merged.text.parse().unwrap();
        assert_eq!(doc["tool"]["ruff"]["line-length"].as_integer(), Some(120));
        assert_eq!(doc["tool"]["ruff"]["target"].as_str(), Some("py312"));
        assert_eq!(doc["tool"]["mine"]["k"].as_integer(), Some(1));
        assert_eq!(doc["tool"]["new"]["v"].as_integer(), Some(2));
        assert!(
            doc["tool"].get("x").is_none(),
            "removed by the template, unchanged by the user"
        );
        assert_eq!(merged.conflicts.len(), 1, "{:?}", merged.conflicts);
        assert!(
            merged.conflicts[0].contains("tool.ruff.line-length"),
            "{:?}",
            merged.conflicts
        );
        assert!(merged.text.contains("# wider"));
    }

    #[test]
    fn toml_that_does_not_parse_is_left_to_the_text_merge() {
        assert!(toml("a = 1\n", "a = \n", "a = 2\n").is_none());
    }

    #[test]
    fn requirement_identity_is_the_normalised_name() {
        let id = |s: &str| identity(&Value::from(s));
        assert_eq!(id("FastAPI>=0.115"), id("fastapi[standard]>=0.110"));
        assert_eq!(id("opentelemetry_sdk==1.2"), id("opentelemetry-sdk"));
        assert_ne!(id("redis>=5"), id("redis-py>=5"));
    }
}
