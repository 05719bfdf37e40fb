//! The rules: one per file under a folder per principle, all listed in [`REGISTRY`].
//!
//! A rule is a [`Rule`] value: its code, kebab-case name (naming the bad pattern), principle,
//! default severity, the service kinds it applies to, a one-line help, its documentation
//! (What it does / Why is this bad? / Example / How to fix) and its check. A check reads the
//! service model and reports findings; it never reads or parses files.

use std::fmt;

use rustc_hash::FxHashMap as HashMap;

use ruff_text_size::TextRange;
use serde::Serialize;

use crate::audit::model::artefacts::ServiceArtefacts;
use crate::audit::model::code::{Call, Value};
use crate::audit::model::{CodeFile, FnRef, Kind, Loc, Project, Ref, Service, Symbol};
use crate::audit::source::{FileId, FileRole, SourceFile};

mod cli;
pub mod meta;
mod p01_stateless;
mod p02_headers_cors;
mod p03_auth;
mod p04_rate_limit;
mod p05_tracing;
mod p06_health;
mod p07_logging;
mod p08_metrics;
mod p09_resilience;
mod p10_deployment;
mod p11_lambda;
mod p12_workers;
mod runs;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "info" => Some(Severity::Info),
            "warning" => Some(Severity::Warning),
            "error" => Some(Severity::Error),
            _ => None,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The principles of ../PRINCIPLES.md, P1..P12; `Meta` for the audit's own diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Principle {
    P1,
    P2,
    P3,
    P4,
    P5,
    P6,
    P7,
    P8,
    P9,
    P10,
    P11,
    P12,
    Meta,
}

impl Principle {
    pub const ALL: &'static [Principle] = &[
        Principle::P1,
        Principle::P2,
        Principle::P3,
        Principle::P4,
        Principle::P5,
        Principle::P6,
        Principle::P7,
        Principle::P8,
        Principle::P9,
        Principle::P10,
        Principle::P11,
        Principle::P12,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Principle::P1 => "P1",
            Principle::P2 => "P2",
            Principle::P3 => "P3",
            Principle::P4 => "P4",
            Principle::P5 => "P5",
            Principle::P6 => "P6",
            Principle::P7 => "P7",
            Principle::P8 => "P8",
            Principle::P9 => "P9",
            Principle::P10 => "P10",
            Principle::P11 => "P11",
            Principle::P12 => "P12",
            Principle::Meta => "META",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Principle::P1 => "Stateless: state lives outside the process",
            Principle::P2 => "Security headers and CORS",
            Principle::P3 => "Authentication (OAuth2 / JWT)",
            Principle::P4 => "Rate limiting",
            Principle::P5 => "Distributed tracing",
            Principle::P6 => "Health checks",
            Principle::P7 => "Structured logging",
            Principle::P8 => "Metrics",
            Principle::P9 => "Resilient communication",
            Principle::P10 => "Container and deployment hygiene",
            Principle::P11 => "Serverless cold start",
            Principle::P12 => "Workers and messaging",
            Principle::Meta => "The audit itself",
        }
    }

    pub fn parse(s: &str) -> Option<Principle> {
        let upper = s.to_ascii_uppercase();
        Principle::ALL.iter().copied().find(|p| p.code() == upper)
    }
}

impl Serialize for Principle {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

/// Where a rule looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Only inside services of the listed kinds.
    Services,
    /// Also in code files that belong to no service (code-level rules).
    AllCode,
    /// Also in deployment artefacts that deploy no service (rules about a Dockerfile,
    /// workload or function on its own).
    Artefacts,
}

pub struct Rule {
    pub code: &'static str,
    pub name: &'static str,
    pub principle: Principle,
    pub severity: Severity,
    /// Service kinds the rule applies to.
    pub kinds: &'static [Kind],
    pub reach: Reach,
    /// One line: how to fix it. Shown under every finding.
    pub help: &'static str,
    /// Markdown with the headings What it does / Why is this bad? / Example / How to fix.
    pub doc: &'static str,
    pub check: fn(&Context, &mut Sink),
}

impl fmt::Debug for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.code, self.name)
    }
}

/// What a check sees: the project, and the unit it checks (a service, or the code files and
/// artefacts outside every service).
pub struct Context<'a> {
    pub project: &'a Project,
    /// None when checking files outside every service.
    pub service: Option<&'a Service>,
    /// The files of the unit.
    pub files: &'a [FileId],
    pub config: &'a RuleConfig,
    /// Indexes of the whole unit, shared by every rule and every job of the unit.
    pub index: &'a UnitIndex<'a>,
}

/// A call site: the file, and the call.
pub type CallSite<'a> = (FileId, &'a Call);

/// Indexes of one unit's code that rules look things up in, built on the first question and
/// shared by all of the unit's jobs: a rule that checks a large service runs as several jobs
/// over slices of its files (see [`run`]), and each job building its own index of the whole
/// service cost RS002 11 of its 19 ms on prefect (8 builds of 1.4 ms each).
pub struct UnitIndex<'a> {
    project: &'a Project,
    /// The unit's files: the whole service's, not one job's slice.
    files: &'a [FileId],
    calls_by_name: std::sync::OnceLock<HashMap<&'a str, Vec<CallSite<'a>>>>,
}

impl<'a> UnitIndex<'a> {
    pub fn new(project: &'a Project, files: &'a [FileId]) -> Self {
        UnitIndex {
            project,
            files,
            calls_by_name: Default::default(),
        }
    }

    /// The unit's calls outside tests whose callee's last name is `name` (`seed` finds
    /// `seed()`, `db.seed()` and `jobs.seed()`): the candidates a caller search resolves.
    pub fn calls_named(&self, name: &str) -> &[CallSite<'a>] {
        let index = self.calls_by_name.get_or_init(|| {
            let mut index: HashMap<&'a str, Vec<CallSite<'a>>> = HashMap::default();
            for (file, source, code) in self.project.code_files(self.files) {
                if source.is_test() {
                    continue;
                }
                for call in &code.calls {
                    index
                        .entry(call.callee.last())
                        .or_default()
                        .push((file, call));
                }
            }
            index
        });
        index.get(name).map(Vec::as_slice).unwrap_or_default()
    }
}

/// Settings a rule may read.
#[derive(Debug, Default, Clone)]
pub struct RuleConfig {
    /// Route paths (exact, or ending in `*` for a prefix) that need no authentication.
    pub public_routes: Vec<String>,
}

impl<'a> Context<'a> {
    pub fn kind(&self) -> Option<Kind> {
        self.service.map(|s| s.kind)
    }

    /// The deployment artefacts of the unit: the service's, or outside every service those
    /// that deploy none.
    pub fn artefacts(&self) -> &'a ServiceArtefacts {
        match self.service {
            Some(s) => &s.artefacts,
            None => &self.project.loose_artefacts,
        }
    }

    /// Every parsed Python file of the unit, tests and scripts included.
    pub fn code_files(&self) -> impl Iterator<Item = (FileId, &'a SourceFile, &'a CodeFile)> + 'a {
        self.project.code_files(self.files)
    }

    /// Parsed Python files of the unit that are service code: not tests, not scripts.
    pub fn service_code(
        &self,
    ) -> impl Iterator<Item = (FileId, &'a SourceFile, &'a CodeFile)> + 'a {
        self.code_files()
            .filter(|(_, f, _)| f.role == FileRole::Service)
    }

    /// Parsed Python files of the unit other than tests: where service-wide setup (logging,
    /// tracing, metrics, limiters) may live, scripts and entry modules included.
    pub fn setup_code(&self) -> impl Iterator<Item = (FileId, &'a SourceFile, &'a CodeFile)> + 'a {
        self.code_files()
            .filter(|(_, f, _)| !f.is_test() && !f.is_scaffold())
    }

    /// True when a non-test file of the unit imports one of `modules` or anything inside it
    /// (`structlog` matches `import structlog` and `from structlog.stdlib import get_logger`).
    pub fn imports_module(&self, modules: &[&str]) -> bool {
        let under = |path: &str, m: &str| {
            path.strip_prefix(m)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
        };
        self.setup_code().any(|(_, _, code)| {
            code.imports.iter().any(|i| {
                modules
                    .iter()
                    .any(|m| under(&i.target, m) || under(&i.full, m))
            })
        })
    }

    /// Functions on the request or task path (handlers, dependencies, middleware, tasks).
    pub fn is_entry_point(&self, f: FnRef) -> bool {
        self.service
            .is_some_and(|s| s.entry_points.binary_search(&f).is_ok())
    }

    /// The default a settings class of the service declares for `field` (`field: T = x` or
    /// `field: T = Field(default=x)` / `Field(x)`), with `Class.field` for messages and where
    /// the field is declared. A deployment may override it; wherever it does not, the default
    /// is what runs.
    pub fn settings_field_default(
        &self,
        class: &Ref,
        field: &str,
    ) -> Option<(&'a Value, String, Loc)> {
        let service = self.service?;
        let Some(Symbol::Class { file, index }) = self.project.resolve(service, class) else {
            return None;
        };
        let code = self.project.code(file)?;
        let name = &code.classes[index as usize].name;
        let a = code
            .assigns
            .iter()
            .find(|a| a.class.as_deref() == Some(&**name) && &*a.target == field)?;
        let default = match &a.value {
            Value::Call(c) if c.callee.last() == "Field" => {
                c.kwarg("default").or_else(|| c.args.first())?
            }
            v => v,
        };
        Some((
            default,
            format!("{name}.{field}"),
            Loc {
                file,
                range: a.range,
            },
        ))
    }
}

/// One finding, before suppression and reporting.
#[derive(Debug, Clone)]
pub struct Finding {
    pub rule: &'static Rule,
    pub severity: Severity,
    pub file: FileId,
    pub range: TextRange,
    pub message: String,
    /// Replaces the rule's help line when the fix depends on the case.
    pub help: Option<String>,
    /// Index of the service, if the finding belongs to one.
    pub service: Option<usize>,
}

impl Finding {
    /// A finding with the rule's default severity, outside any service.
    pub fn new(rule: &'static Rule, file: FileId, range: TextRange, message: String) -> Self {
        Finding {
            rule,
            severity: rule.severity,
            file,
            range,
            message,
            help: None,
            service: None,
        }
    }

    pub fn help(&self) -> &str {
        self.help.as_deref().unwrap_or(self.rule.help)
    }
}

/// Collects the findings of one rule on one unit.
pub struct Sink {
    rule: &'static Rule,
    service: Option<usize>,
    pub findings: Vec<Finding>,
}

impl Sink {
    pub fn new(rule: &'static Rule, service: Option<usize>) -> Self {
        Sink {
            rule,
            service,
            findings: Vec::new(),
        }
    }

    pub fn report(&mut self, at: Loc, message: impl Into<String>) {
        self.findings.push(Finding {
            rule: self.rule,
            severity: self.rule.severity,
            file: at.file,
            range: at.range,
            message: message.into(),
            help: None,
            service: self.service,
        });
    }

    pub fn report_with_help(
        &mut self,
        at: Loc,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.report(at, message);
        if let Some(last) = self.findings.last_mut() {
            last.help = Some(help.into());
        }
    }

    /// Report with a severity other than the rule's default (e.g. an error variant of a
    /// warning rule).
    pub fn report_severity(&mut self, at: Loc, severity: Severity, message: impl Into<String>) {
        self.report(at, message);
        if let Some(last) = self.findings.last_mut() {
            last.severity = severity;
        }
    }
}

/// Every rule, in code order. Adding a rule: its file, one line here, its fixtures.
pub static REGISTRY: &[&Rule] = &[
    &meta::syntax_error::RULE,
    &meta::unreadable_file::RULE,
    &meta::unused_suppression::RULE,
    &meta::file_too_large::RULE,
    &meta::templated_file_not_checked::RULE,
    &p01_stateless::mutable_global_state::RULE,
    &p01_stateless::local_disk_write::RULE,
    &p01_stateless::sqlite_service_database::RULE,
    &p01_stateless::in_process_shared_storage::RULE,
    &p02_headers_cors::missing_security_headers::RULE,
    &p02_headers_cors::cors_wildcard_with_credentials::RULE,
    &p02_headers_cors::cors_wildcard_origin::RULE,
    &p02_headers_cors::openapi_docs_exposed::RULE,
    &p03_auth::unauthenticated_route::RULE,
    &p03_auth::jwt_decode_unverified::RULE,
    &p03_auth::hardcoded_secret::RULE,
    &p03_auth::debug_enabled::RULE,
    &p04_rate_limit::missing_rate_limit::RULE,
    &p05_tracing::missing_tracing::RULE,
    &p06_health::missing_liveness_route::RULE,
    &p06_health::missing_readiness_route::RULE,
    &p06_health::health_route_behind_auth::RULE,
    &p06_health::container_without_healthcheck::RULE,
    &p06_health::probe_path_without_route::RULE,
    &p06_health::probe_port_mismatch::RULE,
    &p07_logging::print_call::RULE,
    &p07_logging::missing_structured_logging::RULE,
    &p08_metrics::missing_metrics::RULE,
    &p09_resilience::http_call_without_timeout::RULE,
    &p09_resilience::blocking_call_in_async::RULE,
    &p09_resilience::missing_retry_or_circuit_breaker::RULE,
    &p09_resilience::http_client_per_request::RULE,
    &p10_deployment::dockerfile_runs_as_root::RULE,
    &p10_deployment::base_image_unpinned::RULE,
    &p10_deployment::secret_in_dockerfile::RULE,
    &p10_deployment::shell_form_cmd::RULE,
    &p10_deployment::unverified_remote_add::RULE,
    &p10_deployment::container_without_resources::RULE,
    &p10_deployment::container_without_probes::RULE,
    &p10_deployment::privileged_container::RULE,
    &p10_deployment::privilege_escalation_allowed::RULE,
    &p10_deployment::container_image_unpinned::RULE,
    &p10_deployment::container_may_run_as_root::RULE,
    &p10_deployment::literal_secret_in_manifest::RULE,
    &p10_deployment::lambda_without_timeout::RULE,
    &p10_deployment::lambda_without_memory_size::RULE,
    &p10_deployment::secret_in_lambda_environment::RULE,
    &p10_deployment::lambda_without_tracing::RULE,
    &p10_deployment::lambda_handler_not_found::RULE,
    &p10_deployment::compose_service_without_healthcheck::RULE,
    &p10_deployment::compose_service_runs_as_root::RULE,
    &p10_deployment::privileged_compose_service::RULE,
    &p10_deployment::docker_socket_mounted::RULE,
    &p11_lambda::mangum_lifespan_on::RULE,
    &p11_lambda::client_created_per_invocation::RULE,
    &p11_lambda::unused_heavy_import::RULE,
    &p12_workers::task_without_retry_policy::RULE,
    &p12_workers::task_without_time_limit::RULE,
    &p12_workers::task_acks_early::RULE,
    &p12_workers::hardcoded_broker_url::RULE,
];

/// Find a rule by code or name.
pub fn find(key: &str) -> Option<&'static Rule> {
    REGISTRY
        .iter()
        .copied()
        .find(|r| r.code.eq_ignore_ascii_case(key) || r.name == key)
}

/// Files per job for a rule that checks each file on its own (see [`run`]).
const FILES_PER_JOB: usize = 64;

/// Run every selected rule over every unit of the project.
pub fn run(project: &Project, selected: &[&'static Rule], config: &RuleConfig) -> Vec<Finding> {
    use rayon::prelude::*;
    let mut units: Vec<(Option<usize>, &[FileId])> = project
        .services
        .iter()
        .enumerate()
        .map(|(i, s)| (Some(i), s.files.as_slice()))
        .collect();
    units.push((None, project.loose_files.as_slice()));
    let jobs: Vec<(&'static Rule, Option<usize>, &[FileId])> = selected
        .iter()
        .filter(|r| r.principle != Principle::Meta)
        .flat_map(|r| units.iter().map(move |(s, files)| (*r, *s, *files)))
        .filter(|(r, s, _)| match s {
            Some(i) => r.kinds.contains(&project.services[*i].kind),
            None => r.reach != Reach::Services,
        })
        // A rule that reaches all code checks each file on its own (files outside every
        // service are checked one by one): on a large service it runs as several jobs over
        // slices of the files, so that one rule does not keep one thread busy after the rest.
        // Jobs keep their order, and so do the findings.
        .flat_map(|(r, s, files)| match r.reach {
            Reach::AllCode if files.len() > FILES_PER_JOB => files
                .chunks(FILES_PER_JOB)
                .map(|chunk| (r, s, chunk))
                .collect::<Vec<_>>(),
            _ => vec![(r, s, files)],
        })
        .collect();
    let indexes: Vec<UnitIndex> = units
        .iter()
        .map(|(s, _)| match s {
            Some(i) => UnitIndex::new(project, &project.services[*i].files),
            None => UnitIndex::new(project, &project.loose_files),
        })
        .collect();
    let index_of = |s: Option<usize>| &indexes[s.unwrap_or(indexes.len() - 1)];
    let timed = crate::audit::timings_enabled();
    let results: Vec<(Vec<Finding>, &'static str, f64)> = jobs
        .into_par_iter()
        // One job per task: rayon's default leaves run a quarter of the list in one go,
        // and a thread in such a run cannot be helped by one that has finished.
        .with_max_len(1)
        .map(|(rule, service, files)| {
            let start = timed.then(std::time::Instant::now);
            let cx = Context {
                project,
                service: service.map(|i| &project.services[i]),
                files,
                config,
                index: index_of(service),
            };
            let mut sink = Sink::new(rule, service);
            (rule.check)(&cx, &mut sink);
            let ms = start.map_or(0.0, |s| s.elapsed().as_secs_f64() * 1e3);
            (sink.findings, rule.code, ms)
        })
        .collect();
    if timed {
        let mut by_rule: std::collections::BTreeMap<&str, f64> = Default::default();
        for (_, code, ms) in &results {
            *by_rule.entry(code).or_default() += ms;
        }
        let mut slowest: Vec<(&str, f64)> = by_rule.into_iter().collect();
        slowest.sort_by(|a, b| b.1.total_cmp(&a.1));
        for (code, ms) in slowest.iter().take(8) {
            eprintln!("svc: timing:   rule {code}: {ms:.1} ms");
        }
    }
    results.into_iter().flat_map(|(f, _, _)| f).collect()
}

/// Shorthands for rules.
pub mod prelude {
    pub use crate::audit::model::code::{Call, CodeFile, FnId, RefOrigin, Scope, Value};
    pub use crate::audit::model::{FnRef, Kind, Loc, Project, Ref, Service};
    pub use crate::audit::rules::{Context, Principle, Reach, Rule, Severity, Sink};
    pub use crate::audit::source::{FileId, FileRole, SourceFile};

    pub const ALL_KINDS: &[Kind] = &[Kind::Container, Kind::Lambda, Kind::Worker];
    pub const HTTP_KINDS: &[Kind] = &[Kind::Container, Kind::Lambda];
}
