//! Counts in messages: "1 finding", "2 findings".

/// `n` followed by `one` or `many`.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_is_singular_and_everything_else_plural() {
        assert_eq!(super::count(0, "file", "files"), "0 files");
        assert_eq!(super::count(1, "file", "files"), "1 file");
        assert_eq!(super::count(2, "entry", "entries"), "2 entries");
    }
}
