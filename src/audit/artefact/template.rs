//! Templated YAML: Helm and Jinja (`{{ ... }}`, `{% ... %}`, `{# ... #}`) and `%NAME%`
//! placeholders that a tool substitutes before the file is used (feast's
//! `feature_store.yaml` templates). Such a file is often not YAML until rendered; svc cannot
//! check it, and says so rather than calling it broken or passing over it in silence.

use ruff_text_size::{TextRange, TextSize};

/// Where the template markers of `text` are, in order.
pub fn markers(text: &str) -> Vec<TextRange> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 1 < bytes.len() {
        let close = match (bytes[i], bytes[i + 1]) {
            (b'{', b'{') => Some("}}"),
            (b'{', b'%') => Some("%}"),
            (b'{', b'#') => Some("#}"),
            _ => None,
        };
        if let Some(close) = close
            && let Some(len) = text[i + 2..].find(close)
        {
            let end = i + 2 + len + 2;
            out.push(range(i, end));
            i = end;
            continue;
        }
        if bytes[i] == b'%'
            && let Some(len) = placeholder_len(&bytes[i + 1..])
        {
            let end = i + 1 + len + 1;
            out.push(range(i, end));
            i = end;
            continue;
        }
        i += 1;
    }
    out
}

/// `NAME%` after a `%`: an upper-case name of at least two characters (so `%d%` in a
/// format string, or `100%`, is not one).
fn placeholder_len(rest: &[u8]) -> Option<usize> {
    let len = rest
        .iter()
        .take_while(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || **b == b'_')
        .count();
    (len >= 2 && rest[0].is_ascii_uppercase() && rest.get(len) == Some(&b'%')).then_some(len)
}

fn range(start: usize, end: usize) -> TextRange {
    TextRange::new(TextSize::from(start as u32), TextSize::from(end as u32))
}

/// `text` with every marker blanked out (line breaks kept, so positions stay): what is left
/// when the templating is taken away.
pub fn blank(text: &str, markers: &[TextRange]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for r in markers {
        let (s, e) = (usize::from(r.start()), usize::from(r.end()));
        out.push_str(&text[at..s]);
        for b in text[s..e].bytes() {
            out.push(if b == b'\n' { '\n' } else { ' ' });
        }
        at = e;
    }
    out.push_str(&text[at..]);
    out
}

/// What a marker is, for the message.
pub fn describe(marker: &str) -> &'static str {
    match marker.get(..2) {
        Some("{%") | Some("{#") => "Jinja `{% ... %}`",
        Some("{{") => "Helm/Jinja `{{ ... }}`",
        _ => "`%NAME%` placeholders",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_and_blanking() {
        let src = "a: {{ .Values.x }}\n{% if y %}\nb: %AWS_REGION%\nc: \"%d%\" 100% {# n\n #}\n";
        let m = markers(src);
        let found: Vec<&str> = m.iter().map(|r| &src[*r]).collect();
        assert_eq!(
            found,
            ["{{ .Values.x }}", "{% if y %}", "%AWS_REGION%", "{# n\n #}"]
        );
        let b = blank(src, &m);
        assert_eq!(b.len(), src.len());
        assert_eq!(b.lines().count(), src.lines().count());
        assert!(b.starts_with("a:                \n"), "{b:?}");
        assert_eq!(describe("{% if %}"), "Jinja `{% ... %}`");
        assert_eq!(describe("%X_Y%"), "`%NAME%` placeholders");
    }

    #[test]
    fn unclosed_marker_is_none() {
        assert!(markers("a: {{ x\nb: 1\n").is_empty());
    }
}
