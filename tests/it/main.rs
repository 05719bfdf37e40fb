//! The integration tests: one binary, one module per area.

// The binary's allocator, so that in-process audits parse in the arena as `svc` does.
#[global_allocator]
static GLOBAL: svc::alloc::ArenaAlloc<std::alloc::System> =
    svc::alloc::ArenaAlloc::new(std::alloc::System);

mod arena;
mod artefacts;
mod ci;
mod cli;
mod facts;
#[cfg(unix)]
mod fault;
mod fuzz;
mod generated;
#[cfg(unix)]
mod hostile_audit;
mod hostile_new;
mod hostile_skips;
mod hostile_template;
mod install;
mod new;
#[cfg(unix)]
mod new_faults;
mod robustness;
mod rules;
#[cfg(unix)]
mod update;
mod util;
