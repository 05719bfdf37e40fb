//! `svc new`: answers -> render (tera) -> atomic write.

use std::process::ExitCode;

use crate::cli::NewArgs;

pub fn run(_args: &NewArgs) -> miette::Result<ExitCode> {
    Err(miette::miette!("svc new is not implemented yet"))
}
