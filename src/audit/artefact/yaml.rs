//! YAML (and JSON, a subset of YAML 1.2) into a small tree with byte ranges and raw tags, so
//! CloudFormation's `!Ref`/`!GetAtt` survive and every node can be pointed at.

use ruff_text_size::{TextRange, TextSize};
use saphyr_parser::{Event, ScalarStyle};

use super::ParseError;
use crate::yaml_tree::{self, Open};

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    /// The tag as written, `!` included (`!Ref`, `!!str`).
    pub tag: Option<String>,
    pub range: TextRange,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A scalar; `plain` is false for quoted and block scalars (so `"8000"` stays a string).
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
    /// An alias (`*name`): not followed.
    Alias,
}

impl Node {
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entries()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// The key node of `key`, for pointing at it.
    pub fn key(&self, key: &str) -> Option<&Node> {
        self.entries()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(k, _)| k)
    }

    /// `a.b.c` through nested mappings.
    pub fn path(&self, keys: &[&str]) -> Option<&Node> {
        keys.iter().try_fold(self, |n, k| n.get(k))
    }

    pub fn entries(&self) -> impl Iterator<Item = (&Node, &Node)> {
        let slice: &[(Node, Node)] = match &self.value {
            Value::Map(m) => m,
            _ => &[],
        };
        slice.iter().map(|(k, v)| (k, v))
    }

    pub fn items(&self) -> &[Node] {
        match &self.value {
            Value::Seq(s) => s,
            _ => &[],
        }
    }

    pub fn is_map(&self) -> bool {
        matches!(self.value, Value::Map(_))
    }

    /// An untagged scalar's text (a tagged one, like `!Ref X`, is not a literal).
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } if self.tag.is_none() || self.is_core_str() => Some(text),
            _ => None,
        }
    }

    fn is_core_str(&self) -> bool {
        self.tag.as_deref() == Some("!!str")
    }

    /// Plain scalars that are null (`~`, `null`, empty).
    pub fn is_null(&self) -> bool {
        matches!(&self.value, Value::Scalar { text, plain: true }
            if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL"))
            && self.tag.is_none()
    }

    pub fn as_bool(&self) -> Option<bool> {
        match &self.value {
            Value::Scalar { text, plain: true } => match text.as_str() {
                "true" | "True" | "TRUE" => Some(true),
                "false" | "False" | "FALSE" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }

    /// An integer scalar (quoted digits too: `"8080"` is still a port to Kubernetes users).
    pub fn as_u64(&self) -> Option<u64> {
        self.as_str()?.trim().parse().ok()
    }

    /// A sequence of plain strings (`["uvicorn", "app:app"]`).
    pub fn as_strings(&self) -> Option<Vec<String>> {
        self.items()
            .iter()
            .map(|n| n.as_str().map(str::to_string))
            .collect()
    }

    /// Depth-first walk over every node.
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Node)) {
        f(self);
        match &self.value {
            Value::Seq(s) => s.iter().for_each(|n| n.walk(f)),
            Value::Map(m) => m.iter().for_each(|(k, v)| {
                k.walk(f);
                v.walk(f)
            }),
            _ => {}
        }
    }
}

/// What a collection's start event leaves for its end.
struct Frame {
    tag: Option<String>,
    start: TextSize,
}

fn tag_text(tag: Option<&saphyr_parser::Tag>) -> Option<String> {
    let t = tag?;
    // `!Ref` arrives as handle `!` + suffix `Ref`; `!!str` as `tag:yaml.org,2002:` + `str`.
    Some(if t.handle == "tag:yaml.org,2002:" {
        format!("!!{}", t.suffix)
    } else {
        format!("{}{}", t.handle, t.suffix)
    })
}

/// A quoted scalar's range up to its closing quote: the parser's span runs on over the
/// whitespace and comment after it.
fn quoted_range(text: &str, range: TextRange) -> TextRange {
    let bytes = text.as_bytes();
    let start = usize::from(range.start());
    let end = usize::from(range.end()).min(bytes.len());
    let Some(&quote) = bytes.get(start).filter(|q| matches!(q, b'"' | b'\'')) else {
        return range;
    };
    let mut i = start + 1;
    while i < end {
        match bytes[i] {
            b'\\' if quote == b'"' => i += 1,
            // `''` is a quote inside a single-quoted scalar.
            b'\'' if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 1,
            q if q == quote => return TextRange::new(range.start(), TextSize::from(i as u32 + 1)),
            _ => {}
        }
        i += 1;
    }
    range
}

/// Builds [`Node`]s: ranges in bytes, tags as written, an empty document as an empty scalar.
struct Reader<'t> {
    text: &'t str,
}

fn text_range((start, end): (usize, usize)) -> TextRange {
    let s = TextSize::from(start as u32);
    TextRange::new(s, TextSize::from(end as u32).max(s))
}

impl yaml_tree::Builder for Reader<'_> {
    type Node = Node;
    type Frame = Frame;
    type Error = ParseError;

    fn error(&mut self, e: &saphyr_parser::ScanError, at: usize) -> ParseError {
        let at = TextSize::from(at as u32);
        ParseError::new(
            format!("invalid YAML: {}", e.info()),
            TextRange::new(at, at),
        )
    }

    fn leaf(&mut self, event: Event<'_>, span: (usize, usize)) -> Option<Node> {
        let range = text_range(span);
        match event {
            Event::Scalar(value, style, _, tag) => Some(Node {
                value: Value::Scalar {
                    text: value.into_owned(),
                    plain: style == ScalarStyle::Plain,
                },
                tag: tag_text(tag.as_deref()),
                range: match style {
                    ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => {
                        quoted_range(self.text, range)
                    }
                    _ => range,
                },
            }),
            Event::Alias(_) => Some(Node {
                value: Value::Alias,
                tag: None,
                range,
            }),
            _ => None,
        }
    }

    fn start(&mut self, event: Event<'_>, span: (usize, usize), _seq: bool) -> Frame {
        let tag = match event {
            Event::SequenceStart(_, tag) | Event::MappingStart(_, tag) => tag_text(tag.as_deref()),
            _ => None,
        };
        Frame {
            tag,
            start: text_range(span).start(),
        }
    }

    fn end(
        &mut self,
        open: Option<Open<Node, Frame>>,
        span: (usize, usize),
        _seq: bool,
    ) -> Result<Node, ParseError> {
        let range = text_range(span);
        let (value, Frame { tag, start }, last_end) = match open.expect("balanced YAML events") {
            Open::Seq { frame, items } => {
                let end = items.last().map(|n| n.range.end());
                (Value::Seq(items), frame, end)
            }
            Open::Map { frame, entries, .. } => {
                let end = entries.last().map(|(_, v)| v.range.end());
                (Value::Map(entries), frame, end)
            }
        };
        // Block collections end where their last item ends, not at the next token.
        let end = match last_end {
            Some(e) if range.end() > e && range.is_empty() => e,
            Some(e) => range.end().max(e),
            None => range.end(),
        }
        .max(start);
        Ok(Node {
            value,
            tag,
            range: TextRange::new(start, end),
        })
    }

    fn document(&mut self, root: Option<Node>, span: (usize, usize)) -> Option<Node> {
        Some(root.unwrap_or(Node {
            value: Value::Scalar {
                text: String::new(),
                plain: true,
            },
            tag: None,
            range: text_range(span),
        }))
    }
}

/// Parse every document of a YAML stream.
pub fn parse(text: &str) -> Result<Vec<Node>, ParseError> {
    yaml_tree::build(text, &mut Reader { text })
}

/// The comments of a YAML text that parsed into `docs`: from each `#` that starts one (at the
/// start of a line or after whitespace, and outside every scalar the parser read, so not in a
/// quoted string or a block scalar) to the end of its line.
pub fn comments(text: &str, docs: &[Node]) -> Vec<TextRange> {
    // In document order, so sorted by start.
    let mut scalars: Vec<TextRange> = Vec::new();
    for d in docs {
        d.walk(&mut |n| {
            if matches!(n.value, Value::Scalar { .. }) && !n.range.is_empty() {
                scalars.push(n.range);
            }
        });
    }
    let in_scalar = |at: TextSize| {
        let i = scalars.partition_point(|r| r.start() <= at);
        i > 0 && scalars[i - 1].contains(at)
    };
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(pos) = memchr::memchr(b'#', &bytes[from..]).map(|p| p + from) {
        let at = TextSize::from(pos as u32);
        let starts = pos == 0 || bytes[pos - 1].is_ascii_whitespace();
        if !starts || in_scalar(at) {
            from = pos + 1;
            continue;
        }
        let end = memchr::memchr2(b'\n', b'\r', &bytes[pos..]).map_or(bytes.len(), |e| pos + e);
        out.push(TextRange::new(at, TextSize::from(end as u32)));
        from = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_ranges_and_documents() {
        let src = "a: 1\nb: !Ref Foo\nc:\n  - x\n  - \"8000\"\n---\nkind: Pod\n";
        let docs = parse(src).unwrap();
        assert_eq!(docs.len(), 2);
        let d = &docs[0];
        assert_eq!(d.get("a").unwrap().as_u64(), Some(1));
        let b = d.get("b").unwrap();
        assert_eq!(b.tag.as_deref(), Some("!Ref"));
        assert_eq!(b.as_str(), None);
        assert_eq!(&src[b.range], "!Ref Foo");
        let c = d.get("c").unwrap();
        assert_eq!(c.as_strings().unwrap(), vec!["x", "8000"]);
        assert_eq!(&src[d.key("c").unwrap().range], "c");
        assert_eq!(docs[1].get("kind").unwrap().as_str(), Some("Pod"));
    }

    #[test]
    fn json_and_unicode() {
        let src = "{\"é\": {\"Timeout\": 30}, \"b\": [true]}";
        let docs = parse(src).unwrap();
        let t = docs[0].path(&["é", "Timeout"]).unwrap();
        assert_eq!(&src[t.range], "30");
        assert_eq!(docs[0].get("b").unwrap().items()[0].as_bool(), Some(true));
    }

    #[test]
    fn quoted_scalars_end_at_their_quote() {
        let src = "a: \"x # y\\\" z\"  # c\nb: 'it''s' # d\n";
        let docs = parse(src).unwrap();
        let a = docs[0].get("a").unwrap();
        assert_eq!(&src[a.range], "\"x # y\\\" z\"");
        assert_eq!(&src[docs[0].get("b").unwrap().range], "'it''s'");
    }

    #[test]
    fn comments_are_outside_scalars() {
        let src = "a: \"x # svc: no\"  # one\nb: 'p # q'\nc: |\n  # block\n  more\n# two\nd: plain#not # three\ne: [\"u # v\", w] # four\n";
        let docs = parse(src).unwrap();
        let found: Vec<&str> = comments(src, &docs).iter().map(|r| &src[*r]).collect();
        assert_eq!(found, ["# one", "# two", "# three", "# four"]);
    }

    #[test]
    fn errors_have_positions() {
        let e = parse("a: [1, 2\nb: c\n").unwrap_err();
        assert!(e.message.starts_with("invalid YAML"), "{}", e.message);
    }
}
