//! Refuses a template text nested deeper than tera's parser can take, before tera sees it.
//!
//! Tera's parser (pest) recurses once or more per level of `{% if %}`, `{% for %}`, `{% macro
//! %}`, `{% block %}` and `{% filter %}` blocks and of parentheses and brackets, with no limit:
//! about 550 nested `if`s overflow the main thread's stack in a debug build, and a stack
//! overflow aborts the process, which no `catch_unwind` can turn into an error. It also
//! backtracks on a call inside the arguments of a call (`range(end=range(end=…))`): each level
//! about doubles the parse time, so eight levels took more than 20 s and a few more take hours.
//! [`super::recursion`] bounds what a parsed template does when it renders; this bounds the
//! parse itself, so it reads the text as tera's lexer would (tags, expressions, comments,
//! strings, `raw` blocks) and counts.
//!
//! The limits are far above what a template needs (svc's own nest a handful of levels) and far
//! below where tera fails.

use thiserror::Error;

/// Blocks, parentheses and brackets open at once, counted together.
pub const MAX_NESTING: usize = 200;

/// Calls open at once: a `(` right after a name (a function, filter, macro or test with
/// arguments; also `not (`, counted as a call to be safe).
pub const MAX_CALLS: usize = 4;

/// Where a template's text nests too deep.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TooDeep {
    #[error(
        "line {line}: blocks, parentheses and brackets nest {depth} deep here, more than \
         {MAX_NESTING}"
    )]
    Nesting { line: usize, depth: usize },
    #[error(
        "line {line}: calls nest {depth} deep here (a call in the arguments of a call), more \
         than {MAX_CALLS}"
    )]
    Calls { line: usize, depth: usize },
}

/// In every [`TooDeep`] message, also when it comes wrapped in a tera error.
pub const DEEP: &str = "deep here";

/// What to do about a [`TooDeep`].
pub const HELP: &str = "tera's parser recurses once per level, and backtracks on every call \
    inside a call, so deeper nesting overflows its stack or takes hours: flatten it with \
    `{% elif %}`, `{% set %}` or a macro";

/// Tags that open a block closed by `{% end<name> %}`.
const BLOCKS: &[&str] = &["if", "for", "macro", "block", "filter"];

/// Checks `text` before tera parses it.
pub fn check(text: &str) -> Result<(), TooDeep> {
    let bytes = text.as_bytes();
    let line_at = |at: usize| 1 + bytes[..at].iter().filter(|&&b| b == b'\n').count();
    let mut blocks = 0usize;
    let mut at = 0;
    while let Some(found) = find(bytes, at, b"{") {
        at = found + 1;
        let Some(&kind) = bytes.get(at) else { break };
        match kind {
            b'#' => {
                // A comment ends at the first `#}`; without one tera reports the error.
                at = find(bytes, at + 1, b"#}").map_or(bytes.len(), |end| end + 2);
            }
            b'{' | b'%' => {
                let close: &[u8] = if kind == b'{' { b"}}" } else { b"%}" };
                let start = at + 1;
                let end = expression(bytes, start, close, blocks, &line_at)?;
                at = (end + 2).min(bytes.len());
                if kind == b'%' {
                    let inner = &text[start..end.min(bytes.len())];
                    let word = inner
                        .trim_start_matches('-')
                        .trim_start()
                        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                        .next()
                        .unwrap_or("");
                    if word == "raw" {
                        at = raw_end(bytes, at);
                    } else if BLOCKS.contains(&word) {
                        blocks += 1;
                        if blocks > MAX_NESTING {
                            return Err(TooDeep::Nesting {
                                line: line_at(found),
                                depth: blocks,
                            });
                        }
                    } else if word
                        .strip_prefix("end")
                        .is_some_and(|w| BLOCKS.contains(&w))
                    {
                        blocks = blocks.saturating_sub(1);
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Scans an expression from `start` to its `close` delimiter (outside strings) and returns
/// where the delimiter starts, or the end of the text.
fn expression(
    bytes: &[u8],
    start: usize,
    close: &[u8],
    blocks: usize,
    line_at: &dyn Fn(usize) -> usize,
) -> Result<usize, TooDeep> {
    // One entry per open `(` or `[`: whether it opened a call.
    let mut open: Vec<bool> = Vec::new();
    let mut calls = 0usize;
    let mut i = start;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'"' | b'\'' | b'`' => {
                // Tera strings have no escapes: the next same quote ends them.
                i = find(bytes, i + 1, &[b]).unwrap_or(bytes.len());
            }
            b'(' | b'[' => {
                let call = b == b'(' && after_name(&bytes[start..i]);
                open.push(call);
                calls += usize::from(call);
                if blocks + open.len() > MAX_NESTING {
                    return Err(TooDeep::Nesting {
                        line: line_at(i),
                        depth: blocks + open.len(),
                    });
                }
                if calls > MAX_CALLS {
                    return Err(TooDeep::Calls {
                        line: line_at(i),
                        depth: calls,
                    });
                }
            }
            b')' | b']' => {
                if let Some(call) = open.pop() {
                    calls -= usize::from(call);
                }
            }
            _ if bytes[i..].starts_with(close) => return Ok(i),
            _ => {}
        }
        i += 1;
    }
    Ok(bytes.len())
}

/// Whether `before` ends with a name (spaces allowed between it and the parenthesis).
fn after_name(before: &[u8]) -> bool {
    before
        .iter()
        .rev()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
}

/// Just past the `{% endraw %}` tag after `from` (tera reports a missing one).
fn raw_end(bytes: &[u8], from: usize) -> usize {
    let mut at = from;
    while let Some(tag) = find(bytes, at, b"{%") {
        let rest = &bytes[tag + 2..];
        let word: Vec<u8> = rest
            .iter()
            .copied()
            .skip_while(|b| *b == b'-' || b.is_ascii_whitespace())
            .take_while(|b| b.is_ascii_alphabetic())
            .collect();
        if word == b"endraw" {
            return find(bytes, tag + 2, b"%}").map_or(bytes.len(), |end| end + 2);
        }
        at = tag + 2;
    }
    bytes.len()
}

fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    let hay = bytes.get(from..)?;
    memchr::memmem::find(hay, needle).map(|i| from + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_blocks_brackets_and_calls_as_tera_reads_them() {
        let ifs = |n: usize| format!("{}x{}", "{% if a %}".repeat(n), "{% endif %}".repeat(n));
        assert_eq!(check(&ifs(MAX_NESTING)), Ok(()));
        assert_eq!(
            check(&format!("\n\n{}", ifs(MAX_NESTING + 1))),
            Err(TooDeep::Nesting {
                line: 3,
                depth: MAX_NESTING + 1
            })
        );
        // Closed blocks do not add up; nor do `elif`, `else` and tags without an end.
        let siblings = "{% if a %}{% elif b %}{% else %}{% set x = 1 %}{% endif %}".repeat(500);
        assert_eq!(check(&siblings), Ok(()));
        let parens = |n: usize| format!("{{{{ {}1{} }}}}", "(".repeat(n), ")".repeat(n));
        assert_eq!(check(&parens(MAX_NESTING)), Ok(()));
        assert!(matches!(
            check(&parens(MAX_NESTING + 1)),
            Err(TooDeep::Nesting { line: 1, .. })
        ));
        // Blocks and the brackets inside them count together.
        let mixed = format!(
            "{}{{{{ [(1)] }}}}",
            "{% for i in x %}".repeat(MAX_NESTING - 1)
        );
        assert!(
            matches!(check(&mixed), Err(TooDeep::Nesting { depth, .. }) if depth == MAX_NESTING + 1)
        );

        let calls = |n: usize| format!("{{{{ {}1{} }}}}", "range(end=".repeat(n), ")".repeat(n));
        assert_eq!(check(&calls(MAX_CALLS)), Ok(()));
        assert_eq!(
            check(&calls(MAX_CALLS + 1)),
            Err(TooDeep::Calls {
                line: 1,
                depth: MAX_CALLS + 1
            })
        );
        // A filter with arguments is a call; plain parentheses are not.
        let filters = format!(
            "{{{{ x{} }}}}",
            " | default(value=(((1))))".repeat(MAX_CALLS + 1)
        );
        assert!(check(&filters).is_ok(), "the calls follow one another");
        let nested = format!("{{{{ x | f(a={}1{}) }}}}", "g (b=".repeat(4), ")".repeat(4));
        assert!(matches!(check(&nested), Err(TooDeep::Calls { .. })));
    }

    #[test]
    fn strings_comments_and_raw_blocks_are_not_counted() {
        let deep = "(".repeat(MAX_NESTING + 1);
        let deep_ifs = "{% if a %}".repeat(MAX_NESTING + 1);
        for text in [
            format!("{{{{ \"{deep}\" }}}}"),
            format!("{{{{ '{deep}' ~ `{deep}` }}}}"),
            format!("{{# {deep_ifs} {deep} #}}"),
            format!("{{% raw %}}{deep_ifs}{{{{ {deep} }}}}{{%- endraw -%}}"),
            format!("plain text {deep}"),
            // A `}}` inside a string does not end the expression.
            "{{ \"}}\" ~ (1) }}".to_owned(),
        ] {
            assert_eq!(check(&text), Ok(()), "{text}");
        }
        // After the raw block, counting goes on.
        let after = format!("{{% raw %}}{{% if %}}{{% endraw %}}{deep_ifs}");
        assert!(check(&after).is_err());
    }
}
