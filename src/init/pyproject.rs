//! `[tool.svc]` added to a pyproject.toml without touching the rest of it.
//!
//! The table always goes after every other one, so it is appended as text: the file's bytes
//! stay as they are (line endings, a BOM, comments), and the new lines use its line ending.
//! The result is parsed again and must hold the same data plus `tool.svc`. Where appending
//! cannot be right (`tool` written as an inline table), `toml_edit` inserts the table instead,
//! which may reformat that one value; that result is checked the same way.

use toml_edit::{DocumentMut, Item, Table, value};

pub const TABLE_COMMENT: &str =
    "# svc audit settings (`svc rules` lists the rules; see the README's Configuration).";

/// The table, for a new svc.toml.
pub fn svc_toml() -> String {
    format!("{TABLE_COMMENT}\nfail-on = \"warning\"\n")
}

/// The new text of a pyproject.toml, or `None` when it has `[tool.svc]` already. The error is
/// the reason the file cannot be edited.
pub fn add_table(text: &str) -> Result<Option<String>, String> {
    let (bom, body) = match text.strip_prefix('\u{feff}') {
        Some(body) => ("\u{feff}", body),
        None => ("", text),
    };
    let doc: DocumentMut = body
        .parse()
        .map_err(|e: toml_edit::TomlError| e.message().to_string())?;
    match doc.get("tool").map(Item::as_table_like) {
        None => {}
        Some(Some(tool)) if tool.contains_key("svc") => return Ok(None),
        Some(Some(_)) => {}
        Some(None) => return Err("`tool` is not a table".into()),
    }
    let before = plain(doc.as_item());
    let appended = append(body);
    if verify(&before, &appended) {
        return Ok(Some(format!("{bom}{appended}")));
    }
    let inserted = insert(doc, body);
    if verify(&before, &inserted) {
        return Ok(Some(format!("{bom}{inserted}")));
    }
    Err("svc init could not add [tool.svc] without changing the rest of the file".into())
}

fn line_ending(text: &str) -> &'static str {
    match text.find('\n') {
        Some(i) if text[..i].ends_with('\r') => "\r\n",
        _ => "\n",
    }
}

/// The table after the last line, a blank line between.
fn append(body: &str) -> String {
    let eol = line_ending(body);
    let newline = if !body.is_empty() && !body.ends_with('\n') {
        eol
    } else {
        ""
    };
    let gap = if body.is_empty() || body.ends_with(&format!("{eol}{eol}")) {
        ""
    } else {
        eol
    };
    format!("{body}{newline}{gap}{TABLE_COMMENT}{eol}[tool.svc]{eol}fail-on = \"warning\"{eol}")
}

/// The table inserted by `toml_edit`, after every other table.
fn insert(mut doc: DocumentMut, body: &str) -> String {
    let eol = line_ending(body);
    let tool = doc.entry("tool").or_insert_with(|| {
        let mut t = Table::new();
        t.set_implicit(true);
        Item::Table(t)
    });
    let Some(tool) = tool.as_table_like_mut() else {
        return String::new();
    };
    let mut svc = Table::new();
    svc.insert("fail-on", value("warning"));
    let gap = if body.ends_with("\n\n") || body.is_empty() {
        ""
    } else {
        "\n"
    };
    svc.decor_mut()
        .set_prefix(format!("{gap}{TABLE_COMMENT}\n"));
    tool.insert("svc", Item::Table(svc));
    let mut after = doc.to_string();
    if !body.ends_with('\n') && !body.is_empty() && !after.starts_with(&format!("{body}\n")) {
        // toml_edit keeps a missing final newline; the table adds its own.
        after = after.replacen(body, &format!("{body}\n"), 1);
    }
    match eol {
        "\n" => after,
        _ => after.replace("\r\n", "\n").replace('\n', eol),
    }
}

/// The edited text holds the original data plus `tool.svc = { fail-on = "warning" }`.
fn verify(before: &serde_json::Value, after: &str) -> bool {
    let Ok(doc) = after.parse::<DocumentMut>() else {
        return false;
    };
    let mut after = plain(doc.as_item());
    let Some(tool) = after.get_mut("tool").and_then(|t| t.as_object_mut()) else {
        return false;
    };
    if tool.remove("svc") != Some(serde_json::json!({ "fail-on": "warning" })) {
        return false;
    }
    if tool.is_empty() && before.get("tool").is_none() {
        after.as_object_mut().map(|root| root.remove("tool"));
    }
    after == *before
}

/// The data of a TOML item, formatting dropped.
fn plain(item: &Item) -> serde_json::Value {
    use serde_json::Value as J;
    fn of_value(v: &toml_edit::Value) -> J {
        match v {
            toml_edit::Value::String(s) => J::String(s.value().clone()),
            toml_edit::Value::Integer(i) => J::from(*i.value()),
            // NaN has no JSON number; its text compares just as well.
            toml_edit::Value::Float(f) => J::String(f.value().to_string()),
            toml_edit::Value::Boolean(b) => J::Bool(*b.value()),
            toml_edit::Value::Datetime(d) => J::String(d.value().to_string()),
            toml_edit::Value::Array(a) => J::Array(a.iter().map(of_value).collect()),
            toml_edit::Value::InlineTable(t) => {
                J::Object(t.iter().map(|(k, v)| (k.to_owned(), of_value(v))).collect())
            }
        }
    }
    match item {
        Item::None => J::Null,
        Item::Value(v) => of_value(v),
        Item::Table(t) => J::Object(t.iter().map(|(k, v)| (k.to_owned(), plain(v))).collect()),
        Item::ArrayOfTables(a) => J::Array(
            a.iter()
                .map(|t| J::Object(t.iter().map(|(k, v)| (k.to_owned(), plain(v))).collect()))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_and_bom_are_kept_and_the_table_uses_crlf() {
        let text = "\u{feff}[project]\r\nname = \"x\"\r\n[tool.black]\r\nline-length = 88\r\n";
        let after = add_table(text).unwrap().unwrap();
        assert!(after.starts_with(text), "{after:?}");
        assert!(
            after.ends_with("\r\n\r\n# svc audit settings (`svc rules` lists the rules; see the README's Configuration).\r\n[tool.svc]\r\nfail-on = \"warning\"\r\n"),
            "{after:?}"
        );
        assert_eq!(add_table(&after).unwrap(), None);
    }

    #[test]
    fn whitespace_only_and_missing_final_newline() {
        assert_eq!(
            add_table(" \n").unwrap().unwrap(),
            format!(" \n\n{TABLE_COMMENT}\n[tool.svc]\nfail-on = \"warning\"\n")
        );
        assert!(
            add_table("a = 1")
                .unwrap()
                .unwrap()
                .starts_with("a = 1\n\n# svc")
        );
    }

    #[test]
    fn an_inline_tool_table_is_edited_in_place() {
        let after = add_table("tool = { black = { line-length = 88 } }\n")
            .unwrap()
            .unwrap();
        let doc: DocumentMut = after.parse().unwrap();
        assert_eq!(doc["tool"]["svc"]["fail-on"].as_str(), Some("warning"));
        assert_eq!(doc["tool"]["black"]["line-length"].as_integer(), Some(88));
    }

    #[test]
    fn tool_that_is_not_a_table_is_refused() {
        assert!(add_table("tool = 1\n").is_err());
        assert!(add_table("[tool\n").is_err());
    }
}
