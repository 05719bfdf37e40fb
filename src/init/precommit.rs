//! The svc hook in `.pre-commit-config.yaml`, added as text so the user's bytes stay as they
//! are.
//!
//! The file is parsed first (saphyr, with positions). The hook goes into the `repos:`
//! sequence, after its last item: a block sequence gets an item indented like its first one
//! (`- repo:`, `-   repo:` as `pre-commit sample-config` writes, at any indentation), a flow
//! sequence (`repos: [...]`) a flow item; `repos: []` in a block mapping becomes a block
//! sequence. A file without `repos` gets one. New lines use the file's line ending, and
//! whatever follows `repos:` (`ci:`, `exclude:`, a `...` document end) stays after it. The
//! result is parsed again, and must hold the user's document unchanged plus exactly the new
//! repository; anything else (two documents, a top level that is not a mapping, a layout this
//! does not foresee) is refused with an error that shows the lines to add by hand.

use saphyr_parser::{Event, ScanError};

use crate::yaml_tree::{self, Open};

/// The hook's id, by which a second run sees it is there.
pub const HOOK_ID: &str = "svc-audit";

const COMMENT: &str = "# svc audit (added by `svc init`): needs svc on PATH (install.sh).";

/// Why the hook could not be added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

/// The new text of the file (`None`: it does not exist), or `None` when the hook is already
/// there. `baseline` is the hook's `--baseline` argument, '/'-separated.
pub fn add_hook(text: Option<&str>, baseline: Option<&str>) -> Result<Option<String>, Refusal> {
    let full = text.unwrap_or("");
    let (bom, body) = match full.strip_prefix('\u{feff}') {
        Some(body) => ("\u{feff}", body),
        None => ("", full),
    };
    let docs = parse(body).map_err(|e| Refusal(format!("it is not valid YAML: {e}")))?;
    let root = match docs.as_slice() {
        [] => None,
        [root] if root.is_empty_scalar() => None,
        [root] => Some(root),
        _ => {
            return Err(Refusal(
                "it holds more than one YAML document, and pre-commit reads only one".into(),
            ));
        }
    };
    if root.is_some_and(has_hook) {
        return Ok(None);
    }
    let edited = insert(body, root, baseline)?;
    verify(root, &edited, baseline)?;
    Ok(Some(format!("{bom}{edited}")))
}

/// The lines to add by hand, for an error message: one item of `repos:`.
pub fn snippet(baseline: Option<&str>) -> String {
    block_item(&Shape::default(), baseline, "\n")
}

fn has_hook(root: &Node) -> bool {
    let Some(repos) = root.get("repos") else {
        return false;
    };
    repos.items().iter().any(|repo| {
        repo.get("hooks").is_some_and(|hooks| {
            hooks
                .items()
                .iter()
                .any(|h| h.get_str("id") == Some(HOOK_ID))
        })
    })
}

/// The line ending new lines get: the file's first one.
fn line_ending(text: &str) -> &'static str {
    match text.find(['\n', '\r']) {
        Some(i) if text[i..].starts_with("\r\n") => "\r\n",
        Some(i) if text[i..].starts_with('\r') => "\r",
        _ => "\n",
    }
}

/// Where the line holding `pos` ends (after its line ending), and whether the text ends there
/// without one.
fn after_line(text: &str, pos: usize, eol: &str) -> (usize, bool) {
    let last = eol.as_bytes()[eol.len() - 1] as char;
    if pos > 0 && text[..pos].ends_with(last) {
        return (pos, false);
    }
    match text[pos..].find(last) {
        Some(i) => (pos + i + 1, false),
        None => (text.len(), true),
    }
}

/// The column of `pos` on its line, in bytes (indentation is ASCII spaces).
fn column(text: &str, pos: usize) -> usize {
    pos - line_start(text, pos)
}

fn line_start(text: &str, pos: usize) -> usize {
    text[..pos].rfind(['\n', '\r']).map_or(0, |i| i + 1)
}

/// How a block sequence item is laid out: `{dash}-{pad}repo:` and, under `hooks:` (at the
/// item's content column), `{+hooks_offset}-{hook_pad}id:`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Shape {
    dash: usize,
    pad: usize,
    hooks_offset: usize,
    hook_pad: usize,
}

impl Default for Shape {
    fn default() -> Self {
        Shape {
            dash: 2,
            pad: 1,
            hooks_offset: 2,
            hook_pad: 1,
        }
    }
}

/// `(dash column, spaces after the dash)` of the block sequence item starting at `pos`: its
/// dash is the first thing before it, on its line or (`-` alone on a line) above it.
fn dash_of(text: &str, pos: usize) -> Option<(usize, usize)> {
    let before = text[..pos].trim_end_matches([' ', '\n', '\r']);
    let dash = before.strip_suffix('-')?.len();
    let dash_column = column(text, dash);
    let indent = &text[line_start(text, dash)..dash];
    if !indent.bytes().all(|b| b == b' ') {
        return None;
    }
    let pad = column(text, pos).checked_sub(dash_column + 1)?;
    (pad > 0).then_some((dash_column, pad))
}

/// The shape of the user's first repository, where it can be read.
fn shape_of(text: &str, repos: &Node, fallback_dash: usize) -> Shape {
    let mut shape = Shape {
        dash: fallback_dash,
        ..Shape::default()
    };
    let Some(first) = repos.items().first() else {
        return shape;
    };
    let Some((dash, pad)) = dash_of(text, first.start) else {
        return shape;
    };
    shape.dash = dash;
    shape.pad = pad;
    if let Some((key, hooks)) = first.entry("hooks")
        && let Some(hook) = hooks.items().first()
        && let Some((hook_dash, hook_pad)) = dash_of(text, hook.start)
        && let Some(offset) = hook_dash.checked_sub(column(text, key.start))
    {
        shape.hooks_offset = offset;
        shape.hook_pad = hook_pad;
    }
    shape
}

/// A YAML scalar for a path: plain when that reads back as the same string, else quoted.
fn scalar(text: &str) -> String {
    let plain = text
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '/')
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | '-'))
        && !matches!(
            text.to_ascii_lowercase().as_str(),
            "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null"
        );
    match plain {
        true => text.to_owned(),
        // A JSON string is a YAML double-quoted scalar.
        false => serde_json::to_string(text).expect("a string serializes"),
    }
}

fn hook_fields(baseline: Option<&str>) -> Vec<String> {
    let mut fields = vec![
        format!("id: {HOOK_ID}"),
        "name: svc audit".to_owned(),
        "entry: svc audit".to_owned(),
        "language: system".to_owned(),
        "types_or: [python, dockerfile, yaml, toml]".to_owned(),
        "require_serial: true".to_owned(),
    ];
    if let Some(baseline) = baseline {
        fields.push(format!("args: [--baseline, {}]", scalar(baseline)));
    }
    fields
}

/// The new repository as block lines, each ending with `eol`.
fn block_item(shape: &Shape, baseline: Option<&str>, eol: &str) -> String {
    let dash = " ".repeat(shape.dash);
    let content = " ".repeat(shape.dash + 1 + shape.pad);
    let hook_dash = " ".repeat(shape.dash + 1 + shape.pad + shape.hooks_offset);
    let hook_content =
        " ".repeat(shape.dash + 1 + shape.pad + shape.hooks_offset + 1 + shape.hook_pad);
    let mut lines = vec![
        format!("{dash}{COMMENT}"),
        format!("{dash}-{}repo: local", " ".repeat(shape.pad)),
        format!("{content}hooks:"),
    ];
    for (i, field) in hook_fields(baseline).into_iter().enumerate() {
        lines.push(match i {
            0 => format!("{hook_dash}-{}{field}", " ".repeat(shape.hook_pad)),
            _ => format!("{hook_content}{field}"),
        });
    }
    lines.into_iter().map(|l| l + eol).collect()
}

/// The new repository as one flow mapping.
fn flow_item(baseline: Option<&str>) -> String {
    format!(
        "{{repo: local, hooks: [{{{}}}]}}",
        hook_fields(baseline).join(", ")
    )
}

/// Inserts `item` into the flow collection that closes at `close`.
fn insert_flow(text: &str, close: usize, item: &str) -> String {
    let before = text[..close].trim_end();
    let separator = match before.chars().last() {
        Some('[' | '{') => "",
        Some(',') => " ",
        _ => ", ",
    };
    format!("{}{separator}{item}{}", &text[..close], &text[close..])
}

/// Inserts `lines` after the line holding `pos`.
fn insert_lines(text: &str, pos: usize, lines: &str, eol: &str) -> String {
    let (at, unterminated) = after_line(text, pos, eol);
    let newline = if unterminated { eol } else { "" };
    format!("{}{newline}{lines}{}", &text[..at], &text[at..])
}

fn insert(text: &str, root: Option<&Node>, baseline: Option<&str>) -> Result<String, Refusal> {
    let eol = line_ending(text);
    let Some(root) = root else {
        // Empty, or comments only: the sequence goes at the end.
        let newline = if !text.is_empty() && !text.ends_with(['\n', '\r']) {
            eol
        } else {
            ""
        };
        let item = block_item(&Shape::default(), baseline, eol);
        return Ok(format!("{text}{newline}repos:{eol}{item}"));
    };
    let Kind::Map {
        flow,
        close,
        entries,
    } = &root.kind
    else {
        return Err(Refusal(
            "its top level is not a mapping (pre-commit expects `repos:` there)".into(),
        ));
    };
    let repos: Vec<&(Node, Node)> = entries
        .iter()
        .filter(|(k, _)| k.as_str() == Some("repos"))
        .collect();
    let key_column = entries.first().map_or(0, |(k, _)| column(text, k.start));
    match repos.as_slice() {
        [] if *flow => {
            let Some(close) = close else {
                return Err(Refusal("its top-level mapping has no closing brace".into()));
            };
            let entry = format!("repos: [{}]", flow_item(baseline));
            Ok(insert_flow(text, *close, &entry))
        }
        [] => {
            let Some(last) = entries.last() else {
                return Err(Refusal("its top-level mapping is empty".into()));
            };
            let item = block_item(
                &Shape {
                    dash: key_column + 2,
                    ..Shape::default()
                },
                baseline,
                eol,
            );
            let lines = format!("{}repos:{eol}{item}", " ".repeat(key_column));
            Ok(insert_lines(text, last.1.end.max(last.0.end), &lines, eol))
        }
        [(key, value)] => insert_into_repos(text, key, value, *flow, key_column, baseline, eol),
        _ => Err(Refusal("it has more than one `repos` key".into())),
    }
}

fn insert_into_repos(
    text: &str,
    key: &Node,
    value: &Node,
    in_flow: bool,
    key_column: usize,
    baseline: Option<&str>,
    eol: &str,
) -> Result<String, Refusal> {
    match &value.kind {
        // `repos:` with nothing after it.
        Kind::Scalar {
            text: t,
            plain: true,
            tag: None,
        } if t.is_empty() && !in_flow => {
            let shape = Shape {
                dash: key_column + 2,
                ..Shape::default()
            };
            Ok(insert_lines(
                text,
                key.end,
                &block_item(&shape, baseline, eol),
                eol,
            ))
        }
        Kind::Seq {
            flow: true,
            close: Some(close),
            items,
        } if items.is_empty() && !in_flow => {
            // `repos: []` becomes a block sequence: drop the brackets and the spaces before.
            let open = text[..*close]
                .rfind('[')
                .expect("a flow sequence opens with [");
            let from = text[..open].trim_end_matches(' ').len();
            let rest = format!("{}{}", &text[..from], &text[close + 1..]);
            let shape = Shape {
                dash: key_column + 2,
                ..Shape::default()
            };
            Ok(insert_lines(
                &rest,
                from,
                &block_item(&shape, baseline, eol),
                eol,
            ))
        }
        Kind::Seq {
            flow: true,
            close: Some(close),
            ..
        } => Ok(insert_flow(text, *close, &flow_item(baseline))),
        Kind::Seq {
            flow: false, items, ..
        } => {
            let last = items.last().expect("a block sequence has an item");
            let shape = shape_of(text, value, key_column + 2);
            Ok(insert_lines(
                text,
                last.end,
                &block_item(&shape, baseline, eol),
                eol,
            ))
        }
        _ => Err(Refusal("its `repos` is not a list".into())),
    }
}

/// The edited file must hold the user's document unchanged, plus one repository: ours.
fn verify(before: Option<&Node>, after: &str, baseline: Option<&str>) -> Result<(), Refusal> {
    let broken = |why: &str| {
        Refusal(format!(
            "svc init could not add its hook to this layout without changing the rest ({why})"
        ))
    };
    let docs = parse(after).map_err(|e| broken(&format!("the result is not valid YAML: {e}")))?;
    let [root] = docs.as_slice() else {
        return Err(broken("the result is not one YAML document"));
    };
    let Kind::Map {
        entries: after_entries,
        ..
    } = &root.kind
    else {
        return Err(broken("the result's top level is not a mapping"));
    };
    let before_entries: &[(Node, Node)] = match before.map(|b| &b.kind) {
        Some(Kind::Map { entries, .. }) => entries,
        _ => &[],
    };
    let had_repos = before_entries
        .iter()
        .any(|(k, _)| k.as_str() == Some("repos"));
    let expected = before_entries.len() + usize::from(!had_repos);
    if after_entries.len() != expected {
        return Err(broken("the top-level keys changed"));
    }
    for (i, (key, value)) in after_entries.iter().enumerate() {
        let old = before_entries.get(i);
        if let Some((old_key, _)) = old
            && !same(old_key, key)
        {
            return Err(broken("the top-level keys changed"));
        }
        if key.as_str() != Some("repos") {
            if !old.is_some_and(|(_, old_value)| same(old_value, value)) {
                return Err(broken("a top-level value changed"));
            }
            continue;
        }
        let old_items = old.map_or(&[][..], |(_, v)| v.items());
        let new_items = value.items();
        let kept = new_items.len() == old_items.len() + 1
            && old_items.iter().zip(new_items).all(|(a, b)| same(a, b));
        if !kept {
            return Err(broken("the existing repositories changed"));
        }
        if !new_items
            .last()
            .is_some_and(|repo| is_svc_repo(repo, baseline))
        {
            return Err(broken("the added repository does not read back as written"));
        }
    }
    Ok(())
}

fn is_svc_repo(repo: &Node, baseline: Option<&str>) -> bool {
    let hooks = repo.get("hooks").map_or(&[][..], Node::items);
    let [hook] = hooks else {
        return false;
    };
    let args: Option<Vec<&str>> = hook
        .get("args")
        .map(|a| a.items().iter().filter_map(Node::as_str).collect());
    repo.get_str("repo") == Some("local")
        && hook.get_str("id") == Some(HOOK_ID)
        && hook.get_str("entry") == Some("svc audit")
        && args == baseline.map(|b| vec!["--baseline", b])
}

// The document, with positions. ------------------------------------------------------------

#[derive(Debug, Clone)]
struct Node {
    /// Byte offset where the node's content starts (a block collection: its first item).
    start: usize,
    /// Byte offset where its content ends (a block collection: where its last item ends).
    end: usize,
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    Scalar {
        text: String,
        plain: bool,
        tag: Option<String>,
    },
    Alias(usize),
    Seq {
        flow: bool,
        /// The closing `]` of a flow sequence.
        close: Option<usize>,
        items: Vec<Node>,
    },
    Map {
        flow: bool,
        /// The closing `}` of a flow mapping.
        close: Option<usize>,
        entries: Vec<(Node, Node)>,
    },
}

impl Node {
    fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    fn is_empty_scalar(&self) -> bool {
        matches!(&self.kind, Kind::Scalar { text, plain: true, tag: None } if text.is_empty())
    }

    fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        match &self.kind {
            Kind::Map { entries, .. } => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(k, v)| (k, v)),
            _ => None,
        }
    }

    fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Node::as_str)
    }

    fn items(&self) -> &[Node] {
        match &self.kind {
            Kind::Seq { items, .. } => items,
            _ => &[],
        }
    }
}

/// Equal as YAML: same values, tags and scalar styles (plain or not), wherever they are.
fn same(a: &Node, b: &Node) -> bool {
    match (&a.kind, &b.kind) {
        (
            Kind::Scalar { text, plain, tag },
            Kind::Scalar {
                text: t,
                plain: p,
                tag: g,
            },
        ) => text == t && plain == p && tag == g,
        (Kind::Alias(x), Kind::Alias(y)) => x == y,
        (Kind::Seq { items: x, .. }, Kind::Seq { items: y, .. }) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Kind::Map { entries: x, .. }, Kind::Map { entries: y, .. }) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((ka, va), (kb, vb))| same(ka, kb) && same(va, vb))
        }
        _ => false,
    }
}

/// What a collection's start event leaves for its end: where its content starts (a flow
/// collection: its bracket), and whether it is a flow collection.
struct Frame {
    start: usize,
    flow: bool,
}

/// Builds [`Node`]s with byte positions for text edits; empty documents are left out.
struct Reader<'t> {
    text: &'t str,
}

impl yaml_tree::Builder for Reader<'_> {
    type Node = Node;
    type Frame = Frame;
    type Error = String;

    fn error(&mut self, e: &ScanError, _at: usize) -> String {
        format!(
            "{} (line {}, column {})",
            e.info(),
            e.marker().line(),
            e.marker().col() + 1
        )
    }

    fn leaf(&mut self, event: Event<'_>, (start, end): (usize, usize)) -> Option<Node> {
        match event {
            Event::Scalar(value, style, _, tag) => Some(Node {
                start,
                end,
                kind: Kind::Scalar {
                    text: value.into_owned(),
                    plain: style == saphyr_parser::ScalarStyle::Plain,
                    tag: tag.map(|t| format!("{}{}", t.handle, t.suffix)),
                },
            }),
            Event::Alias(id) => Some(Node {
                start,
                end,
                kind: Kind::Alias(id),
            }),
            _ => None,
        }
    }

    fn start(&mut self, _event: Event<'_>, (start, end): (usize, usize), seq: bool) -> Frame {
        // A flow collection's start event spans its anchor and tag, its bracket and the
        // spaces after it: where the bracket is, if it is one.
        let bracket = if seq { '[' } else { '{' };
        let spanned = self.text[start..end].trim_end();
        let open = spanned
            .ends_with(bracket)
            .then(|| start + spanned.len() - 1);
        Frame {
            start: open.unwrap_or(start),
            flow: open.is_some(),
        }
    }

    fn end(
        &mut self,
        open: Option<Open<Node, Frame>>,
        (start, _): (usize, usize),
        seq: bool,
    ) -> Result<Node, String> {
        match open {
            Some(Open::Seq {
                frame: Frame { start: s, flow },
                items,
            }) if seq => {
                let (close, e) = match flow {
                    true => (Some(start), start + 1),
                    false => (None, items.last().map_or(s, |n| n.end)),
                };
                Ok(Node {
                    start: s,
                    end: e,
                    kind: Kind::Seq { flow, close, items },
                })
            }
            Some(Open::Map {
                frame: Frame { start: s, flow },
                entries,
                ..
            }) if !seq => {
                let (close, e) = match flow {
                    true => (Some(start), start + 1),
                    false => (None, entries.last().map_or(s, |(k, v)| v.end.max(k.end))),
                };
                Ok(Node {
                    start: s,
                    end: e,
                    kind: Kind::Map {
                        flow,
                        close,
                        entries,
                    },
                })
            }
            _ if seq => Err("unbalanced sequence".into()),
            _ => Err("unbalanced mapping".into()),
        }
    }

    fn document(&mut self, root: Option<Node>, _span: (usize, usize)) -> Option<Node> {
        root
    }
}

/// Every document of the stream, positions in bytes.
fn parse(text: &str) -> Result<Vec<Node>, String> {
    yaml_tree::build(text, &mut Reader { text })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn added(text: &str) -> String {
        add_hook(Some(text), None).unwrap().unwrap()
    }

    #[test]
    fn sample_config_style_gets_an_item_like_its_own() {
        let text = "repos:\n-   repo: https://x\n    rev: v3\n    hooks:\n    -   id: tw\n";
        let after = added(text);
        assert!(after.starts_with(text), "{after}");
        assert_eq!(
            &after[text.len()..],
            "# svc audit (added by `svc init`): needs svc on PATH (install.sh).\n\
             -   repo: local\n\
             \x20   hooks:\n\
             \x20   -   id: svc-audit\n\
             \x20       name: svc audit\n\
             \x20       entry: svc audit\n\
             \x20       language: system\n\
             \x20       types_or: [python, dockerfile, yaml, toml]\n\
             \x20       require_serial: true\n"
        );
    }

    #[test]
    fn the_hook_goes_before_what_follows_repos() {
        let text = "repos:\n  - repo: x\n    hooks:\n      - id: a\n# trailing\nci:\n  autofix: true\n...\n";
        let after = added(text);
        let (head, tail) = after.split_once("# trailing").unwrap();
        assert!(head.contains("id: svc-audit"), "{after}");
        assert_eq!(tail, "\nci:\n  autofix: true\n...\n");
    }

    #[test]
    fn line_endings_bom_and_quoting() {
        let text = "\u{feff}\"repos\":\r\n- repo: x\r\n  hooks:\r\n  - id: a\r\n";
        let after = add_hook(Some(text), Some("b, x]: #.json"))
            .unwrap()
            .unwrap();
        assert!(after.starts_with(text), "{after:?}");
        assert!(!after.replace("\r\n", "").contains('\n'), "{after:?}");
        assert!(
            after.contains(r#"args: [--baseline, "b, x]: #.json"]"#),
            "{after}"
        );
        assert_eq!(scalar("svc-baseline.json"), "svc-baseline.json");
        assert_eq!(scalar("true"), "\"true\"");
        assert_eq!(scalar("1.json"), "\"1.json\"");
    }

    #[test]
    fn flow_sequences_and_missing_repos() {
        assert_eq!(
            added("repos: []  # none yet\n"),
            format!("repos:  # none yet\n{}", snippet(None))
        );
        assert!(added("{repos: [{repo: x, hooks: [{id: a}]}]}").contains(", {repo: local"));
        assert!(added("fail_fast: true\n").starts_with("fail_fast: true\nrepos:\n  # svc"));
        assert_eq!(
            add_hook(None, None).unwrap().unwrap(),
            format!("repos:\n{}", snippet(None))
        );
    }

    #[test]
    fn a_second_run_changes_nothing() {
        let once = added("repos:\n- repo: x\n  hooks:\n  - id: a\n");
        assert_eq!(add_hook(Some(&once), None).unwrap(), None);
    }

    #[test]
    fn layouts_it_cannot_edit_are_refused() {
        for text in [
            "- a\n- b\n",
            "a: 1\n---\nb: 2\n",
            "repos: 1\n",
            "repos: [x]\nrepos: [y]\n",
            "repos: [\n",
        ] {
            assert!(add_hook(Some(text), None).is_err(), "{text:?}");
        }
    }
}
