//! The commands over the audit: `svc audit`, `svc rules`, `svc explain`, `svc inspect`.

mod audit;
mod inspect;
mod rules;

use std::io::Write;
use std::process::ExitCode;

pub use audit::run;
pub use inspect::inspect;
pub use rules::{explain, list_rules};

/// A command's output written to standard output (see [`crate::stdout::write_with`]).
fn print_output(
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> miette::Result<ExitCode> {
    crate::stdout::write_with(write)
        .map(|()| ExitCode::SUCCESS)
        .map_err(|e| miette::miette!("cannot write: {e}"))
}
