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
pub mod pipeline;
mod pool;
pub mod python;
pub mod report;
pub mod rules;
pub mod settings;
pub mod source;
pub mod suppress;
mod timing;

pub use commands::{explain, inspect, list_rules, run};
pub use pipeline::{Audited, Loaded, Outcome, audit, audit_sources, load_from_disk};
pub(crate) use pool::{deep_pool, try_deep_pool};
pub(crate) use report::build::build_report;
pub use settings::{AuditOptions, InputSettings, RuleSelector, RuleSettings, Settings};
pub(crate) use settings::{in_scope, selector_matches};
pub(crate) use timing::timings_enabled;
