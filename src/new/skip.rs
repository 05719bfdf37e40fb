//! Names that are never part of a template, wherever they appear.
//!
//! Shared by `build.rs` (what gets embedded) and `source` (what `--template DIR` reads), so an
//! embedded template and the same directory given with `--template` produce the same files.

/// Whether a file or directory with this name is left out of a template: version-control
/// metadata and the caches Python tooling leaves behind when someone runs tests in place.
pub fn is_skipped(file_name: &str) -> bool {
    matches!(
        file_name,
        ".git"
            | ".hg"
            | "__pycache__"
            | ".pytest_cache"
            | ".ruff_cache"
            | ".mypy_cache"
            | ".DS_Store"
    ) || file_name.ends_with(".pyc")
}
