//! The integration tests: one binary, one module per area.

mod artefacts;
mod ci;
mod cli;
#[cfg(unix)]
mod fault;
mod fuzz;
#[cfg(unix)]
mod hostile_audit;
mod new;
#[cfg(unix)]
mod new_faults;
mod robustness;
mod rules;
