//! The integration tests: one binary, one module per area.

mod ci;
mod cli;
mod new;
mod rules;
