//! `svc audit`: walk -> parse -> service model -> rules -> suppress -> report.

use std::process::ExitCode;

use crate::cli::{AuditArgs, ExplainArgs, RulesArgs};

pub fn run(_args: &AuditArgs) -> miette::Result<ExitCode> {
    Err(miette::miette!("svc audit is not implemented yet"))
}

pub fn list_rules(_args: &RulesArgs) -> miette::Result<ExitCode> {
    Err(miette::miette!("not implemented yet"))
}

pub fn explain(_args: &ExplainArgs) -> miette::Result<ExitCode> {
    Err(miette::miette!("not implemented yet"))
}
