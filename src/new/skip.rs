//! Names that are never part of a template, wherever they appear, and which of its files
//! are executable.
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

/// The entry's executable bit (any of user, group, other): kept on the generated file.
#[cfg(unix)]
pub fn is_executable(entry: &std::fs::DirEntry) -> bool {
    use std::os::unix::fs::PermissionsExt;
    entry
        .metadata()
        .is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

/// No executable bit outside Unix.
#[cfg(not(unix))]
pub fn is_executable(_entry: &std::fs::DirEntry) -> bool {
    false
}
