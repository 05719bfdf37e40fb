//! The integration tests: one binary, one module per area.

mod artefacts;
mod ci;
mod cli;
mod fuzz;
mod new;
mod robustness;
mod rules;
