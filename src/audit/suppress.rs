//! `# svc: ignore[rule, ...] reason` comments.
//!
//! On the offending line or the line before it, or on any line of a multi-line statement that
//! contains the finding; `# svc: ignore-file[rule] reason` anywhere in a file covers the
//! whole file. Without brackets every rule is ignored. A suppression that suppresses nothing
//! is itself reported (`unused-suppression`), unless the rules it names are not running.

use ruff_text_size::TextRange;

use crate::audit::model::code::SuppressionComment;

/// Parse a comment token; None if it is not an svc suppression.
pub fn parse_suppression(comment: &str, range: TextRange) -> Option<SuppressionComment> {
    let body = comment.trim_start_matches('#').trim_start();
    let rest = body.strip_prefix("svc:")?.trim_start();
    let (file_level, rest) = if let Some(r) = rest.strip_prefix("ignore-file") {
        (true, r)
    } else if let Some(r) = rest.strip_prefix("ignore") {
        (false, r)
    } else {
        return None;
    };
    let rules = match rest.strip_prefix('[') {
        Some(r) => {
            let (list, _) = r.split_once(']')?;
            list.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(Into::into)
                .collect()
        }
        None if rest.is_empty() || rest.starts_with(char::is_whitespace) => Vec::new(),
        None => return None,
    };
    Some(SuppressionComment {
        rules,
        file_level,
        range,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rule_lists_and_file_level() {
        let r = TextRange::default();
        let s = parse_suppression("# svc: ignore[print-call, AU001] debugging aid", r).unwrap();
        assert_eq!(
            s.rules,
            vec!["print-call".into(), "AU001".into()] as Vec<Box<str>>
        );
        assert!(!s.file_level);
        let s = parse_suppression("#svc: ignore-file[hardcoded-secret]", r).unwrap();
        assert!(s.file_level);
        assert!(
            parse_suppression("# svc: ignore", r)
                .unwrap()
                .rules
                .is_empty()
        );
        assert!(parse_suppression("# svc: ignored", r).is_none());
        assert!(parse_suppression("# noqa: E501", r).is_none());
        assert!(parse_suppression("# svc: ignore[unterminated", r).is_none());
    }
}
