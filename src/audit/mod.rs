//! `svc audit`: walk -> parse -> service model -> rules -> suppress -> report.

pub mod artefact;
pub mod baseline;
pub mod changed;
mod commands;
pub mod config;
pub mod discover;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod model;
mod pipeline;
mod pool;
pub mod python;
pub mod report;
pub mod rules;
mod settings;
pub mod source;
pub mod suppress;
mod timing;

use std::path::PathBuf;

pub use commands::{explain, inspect, list_rules, run};
use model::Project;
pub(crate) use pipeline::in_scope;
pub use pipeline::{Loaded, audit, load};
pub(crate) use pool::{deep_pool, try_deep_pool};
use report::Report;
pub(crate) use report::build::build_report;
pub use settings::load_config;
pub(crate) use settings::selector_matches;
pub(crate) use timing::timings_enabled;

/// What to audit and how; the CLI's flags, after parsing.
#[derive(Debug, Clone, Default)]
pub struct AuditOptions {
    pub paths: Vec<PathBuf>,
    pub config: Option<PathBuf>,
    pub isolated: bool,
    pub select: Vec<String>,
    pub ignore: Vec<String>,
}

/// The result of an audit, ready for a reporter.
pub struct Outcome {
    pub report: Report,
    /// Directories and entries the walk could not read.
    pub walk_errors: Vec<String>,
    /// `fail-on` from configuration, when the command line did not set one.
    pub config_fail_on: Option<String>,
    /// Configuration files on the way that could not be read.
    pub config_warnings: Vec<String>,
    /// The audited root, which report paths are relative to.
    pub root: PathBuf,
    /// Paths (relative to the root) the report is limited to; empty for everything.
    pub scope: Vec<String>,
    /// Codes of the rules that ran.
    pub rules: Vec<&'static str>,
    /// The model the findings came from.
    pub project: Project,
}
