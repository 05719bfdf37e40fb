//! Validation pieces shared by the two hand-walked TOML readers, the audit configuration
//! (`audit::config`) and template manifests (`new::manifest`). Both walk `toml_edit` tables so
//! that every error points at the offending key or value with a span; this module holds what
//! they must agree on: how an unknown key is reported (with a "did you mean"), and how a
//! value of the wrong type is described. Each reader turns a [`Problem`] into its own
//! diagnostic type.

use std::ops::Range;

use toml_edit::{Item, TableLike};

/// What is wrong, and where, before it becomes a reader's diagnostic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub span: Option<Range<usize>>,
    /// The sentence: "unknown key", "expected a string, found integer".
    pub reason: String,
    pub help: Option<String>,
}

/// The first key of `table` not in `known`, as a problem pointing at the key, with the
/// closest known key suggested when it looks like a typo.
pub fn unknown_key(table: &dyn TableLike, known: &[&str]) -> Option<(String, Problem)> {
    let (key, item) = table.iter().find(|(key, _)| !known.contains(key))?;
    let span = table
        .get_key_value(key)
        .and_then(|(k, _)| k.span())
        .or_else(|| item.span());
    let list = known.join(", ");
    let help = match did_you_mean(key, known) {
        Some(near) => format!("did you mean `{near}`? Known keys: {list}"),
        None => format!("known keys: {list}"),
    };
    Some((
        key.to_owned(),
        Problem {
            span,
            reason: "unknown key".to_owned(),
            help: Some(help),
        },
    ))
}

/// The known word closest to `word`, if it is close enough to be a typo of it.
pub fn did_you_mean<'k>(word: &str, known: &[&'k str]) -> Option<&'k str> {
    known
        .iter()
        .copied()
        .map(|k| (edit_distance(k, word), k))
        .filter(|(d, k)| *d <= 3 && *d < k.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// `item` converted by `get`, or a problem saying what was expected and what was found.
pub fn typed<T>(
    item: &Item,
    expected: &str,
    get: impl Fn(&Item) -> Option<T>,
) -> Result<T, Problem> {
    get(item).ok_or_else(|| Problem {
        span: item.span(),
        reason: format!("expected {expected}, found {}", type_name(item)),
        help: None,
    })
}

/// An array of strings; the problem points at the array, or at the element that is not one.
pub fn strings(item: &Item) -> Result<Vec<String>, Problem> {
    let array = typed(item, "an array of strings", |i| i.as_array().cloned())?;
    array
        .iter()
        .map(|v| {
            v.as_str().map(str::to_owned).ok_or_else(|| Problem {
                span: v.span(),
                reason: format!("expected a string, found {}", v.type_name()),
                help: None,
            })
        })
        .collect()
}

fn type_name(item: &Item) -> &'static str {
    match item {
        Item::Value(v) => v.type_name(),
        other => other.type_name(),
    }
}

/// Levenshtein distance, for "did you mean".
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use toml_edit::Document;

    /// Parsed keeping spans, as both readers parse.
    fn parse(text: &str) -> Document<String> {
        Document::parse(text.to_owned()).unwrap()
    }

    #[test]
    fn unknown_keys_are_pointed_at_and_typos_get_a_suggestion() {
        let doc = parse("name = 1\nchioces = 2\n");
        let (key, problem) = unknown_key(doc.as_table(), &["name", "choices"]).unwrap();
        assert_eq!(key, "chioces");
        assert_eq!(problem.span, Some(9..16));
        assert!(problem.help.unwrap().starts_with("did you mean `choices`?"));
        let doc = parse("zzz = 1\n");
        let (_, problem) = unknown_key(doc.as_table(), &["name"]).unwrap();
        assert_eq!(problem.help.as_deref(), Some("known keys: name"));
        assert!(unknown_key(doc.as_table(), &["zzz"]).is_none());
    }

    #[test]
    fn wrong_types_say_what_was_expected_and_found() {
        let doc = parse("a = [\"x\", 2]\nb = 1\n");
        let problem = strings(&doc["a"]).unwrap_err();
        assert_eq!(problem.reason, "expected a string, found integer");
        assert_eq!(problem.span, Some(10..11));
        let problem = strings(&doc["b"]).unwrap_err();
        assert_eq!(
            problem.reason,
            "expected an array of strings, found integer"
        );
        assert_eq!(typed(&doc["b"], "an integer", Item::as_integer), Ok(1));
    }

    #[test]
    fn did_you_mean_needs_a_near_word() {
        assert_eq!(
            did_you_mean("fail_on", &["fail-on", "select"]),
            Some("fail-on")
        );
        assert_eq!(did_you_mean("x", &["ab"]), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
