//! The audit's own diagnostics. The pipeline reports them; their checks do nothing.

pub mod file_too_large;
pub mod syntax_error;
pub mod templated_file_not_checked;
pub mod unreadable_file;
pub mod unused_suppression;
