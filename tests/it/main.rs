//! The integration tests: one binary, one module per area.

mod cli;
mod new;
mod rules;
