//! Fingerprints: identify a finding by what it is about, not where it sits.
//!
//! A finding's code key hashes its rule, its path and the text of the line it starts on, with
//! whitespace collapsed: inserting lines above it, or re-indenting it, keeps the key. Findings
//! that share a key are told apart by their order in the file (the occurrence).

use super::ReportedFinding;

/// A finding's identity, stable under unrelated edits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Fingerprint {
    /// FNV-1a of rule code, path and normalized line text.
    pub code: u64,
    /// 0 for the first finding in the file with this `code`, 1 for the second, ...
    pub occurrence: u32,
}

impl Fingerprint {
    /// Hex of `code`: the key a baseline stores.
    pub fn code_hex(&self) -> String {
        format!("{:016x}", self.code)
    }

    /// Hex of `code` and `occurrence` together: SARIF's `partialFingerprints` value.
    pub fn with_occurrence_hex(&self) -> String {
        let mut h = Fnv::new();
        h.write(&self.code.to_le_bytes());
        h.write(&self.occurrence.to_le_bytes());
        format!("{:016x}", h.finish())
    }
}

/// The text of the line `offset` is on, whitespace runs collapsed to one space and trimmed.
pub fn normalized_line(text: &str, offset: usize) -> String {
    let (start, end) = line_bounds(text, offset);
    normalize(&text[start..end])
}

/// Start and end (exclusive, before its `\n`) of the line `offset` is on.
fn line_bounds(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let start = memchr::memrchr(b'\n', &text.as_bytes()[..offset]).map_or(0, |i| i + 1);
    let end = memchr::memchr(b'\n', &text.as_bytes()[offset..]).map_or(text.len(), |i| offset + i);
    (start, end)
}

fn normalize(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Set the fingerprint of every finding. `findings` must be in report order (by path, then
/// offset) so that occurrences count in file order.
pub fn assign(findings: &mut [ReportedFinding], sources: &[(String, std::sync::Arc<str>)]) {
    let mut seen: std::collections::HashMap<u64, u32> = std::collections::HashMap::new();
    // The line of the findings before, and the key of each rule on it: many findings on one
    // long line look at it once, not once each.
    let mut line: Option<(usize, usize, usize)> = None;
    let mut codes: std::collections::HashMap<&'static str, u64> = std::collections::HashMap::new();
    for f in findings {
        let text = &sources[f.source].1;
        let offset = f.offset.min(text.len());
        let same_line = line
            .is_some_and(|(src, start, end)| src == f.source && (start..=end).contains(&offset));
        if !same_line {
            let (start, end) = line_bounds(text, offset);
            line = Some((f.source, start, end));
            codes.clear();
        }
        let code = *codes.entry(f.code).or_insert_with(|| {
            let (_, start, end) = line.expect("set above");
            let normalized = normalize(&text[start..end]);
            let mut h = Fnv::new();
            for part in [f.code, f.path.as_str(), normalized.as_str()] {
                h.write(part.as_bytes());
                // A separator no part contains: ("ab", "c") and ("a", "bc") differ.
                h.write(&[0]);
            }
            h.finish()
        });
        let n = seen.entry(code).or_insert(0);
        f.fingerprint = Fingerprint {
            code,
            occurrence: *n,
        };
        *n += 1;
    }
}

/// 64-bit FNV-1a: tiny, and unlike `std`'s hasher, the same in every build and release.
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalized_line_ignores_indentation_and_spacing() {
        let text = "a = 1\n    x  =   f( 1 )\nb = 2";
        let offset = text.find('f').unwrap();
        assert_eq!(normalized_line(text, offset), "x = f( 1 )");
        assert_eq!(normalized_line(text, 0), "a = 1");
        assert_eq!(normalized_line(text, text.len()), "b = 2");
        assert_eq!(normalized_line("", 0), "");
    }

    #[test]
    fn fnv_matches_the_reference_values() {
        let hash = |s: &str| {
            let mut h = Fnv::new();
            h.write(s.as_bytes());
            h.finish()
        };
        assert_eq!(hash(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(hash("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(hash("foobar"), 0x8594_4171_f739_67e8);
    }
}
