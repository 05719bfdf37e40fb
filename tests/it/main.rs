//! The integration tests: one binary, one module per area.

mod artefacts;
mod ci;
mod cli;
#[cfg(unix)]
mod fault;
mod fuzz;
mod hostile_skips;
mod new;
#[cfg(unix)]
mod new_faults;
mod robustness;
mod rules;
