//! The audit's own diagnostics. The pipeline reports them; their checks do nothing.

pub mod syntax_error;
pub mod unreadable_file;
pub mod unused_suppression;
