//! `svc inspect`: the service model as JSON, to see what the audit understood.

use std::process::ExitCode;

use serde::Serialize;

use crate::audit::model::{DependencyLevel, Kind, Mount, Project, WorkerFramework};
use crate::audit::{AuditOptions, InputSettings, load_from_disk};
use crate::cli::InspectArgs;

#[derive(Serialize)]
struct ServiceView {
    name: String,
    path: String,
    kind: Kind,
    kind_from_config: bool,
    files: usize,
    apps: Vec<AppView>,
    routes: Vec<RouteView>,
    middleware: Vec<String>,
    worker_apps: Vec<String>,
    tasks: Vec<TaskView>,
    settings: Vec<String>,
    requirements: Vec<String>,
    http_clients: Vec<String>,
    entry_points: Vec<String>,
}

#[derive(Serialize)]
struct AppView {
    name: String,
    at: String,
    lifespan: Vec<String>,
    /// The apps this one is mounted in.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    mounted_in: Vec<String>,
}

#[derive(Serialize)]
struct RouteView {
    methods: Vec<String>,
    path: String,
    handler: Option<String>,
    at: String,
    auth: bool,
    rate_limited: bool,
    dependencies: Vec<DependencyView>,
    /// Left out when every include up to the app was seen.
    #[serde(skip_serializing_if = "is_resolved")]
    mount: Mount,
}

fn is_resolved(mount: &Mount) -> bool {
    *mount == Mount::Resolved
}

#[derive(Serialize)]
struct DependencyView {
    target: String,
    level: DependencyLevel,
    auth: bool,
    rate_limit: bool,
}

#[derive(Serialize)]
struct TaskView {
    framework: WorkerFramework,
    function: String,
    options: Vec<String>,
}

fn at(project: &Project, file: u32, offset: ruff_text_size::TextSize) -> String {
    let f = project.file(file);
    format!("{}:{}", f.rel, f.line_of(offset))
}

pub fn inspect(args: &InspectArgs) -> miette::Result<ExitCode> {
    let input = InputSettings::resolve(&AuditOptions {
        paths: args.path.iter().cloned().collect(),
        config: args.config.clone(),
        ..AuditOptions::default()
    })?;
    let loaded = load_from_disk(&input, None)?;
    let project = &loaded.project;
    let services: Vec<ServiceView> = project
        .services
        .iter()
        .map(|s| ServiceView {
            name: s.name.clone(),
            path: if s.root.is_empty() {
                ".".into()
            } else {
                s.root.clone()
            },
            kind: s.kind,
            kind_from_config: s.kind_from_config,
            files: s.files.len(),
            apps: s
                .apps
                .iter()
                .map(|a| AppView {
                    name: a.name.clone(),
                    at: at(project, a.at.file, a.at.range.start()),
                    lifespan: a
                        .lifespan
                        .iter()
                        .map(|f| project.function(*f).qual.to_string())
                        .collect(),
                    mounted_in: a
                        .mounted_in
                        .iter()
                        .map(|&p| s.apps[p].name.clone())
                        .collect(),
                })
                .collect(),
            routes: s
                .routes
                .iter()
                .map(|r| RouteView {
                    methods: r.methods.clone(),
                    path: r.path.clone(),
                    handler: r.handler.map(|h| project.function(h).qual.to_string()),
                    at: at(project, r.at.file, r.at.range.start()),
                    auth: r.has_auth(),
                    rate_limited: r.has_rate_limit(),
                    dependencies: r
                        .dependencies
                        .iter()
                        .map(|d| DependencyView {
                            target: d.target.path.to_string(),
                            level: d.level,
                            auth: d.is_auth,
                            rate_limit: d.is_rate_limit,
                        })
                        .collect(),
                    mount: r.mount,
                })
                .collect(),
            middleware: s
                .middleware
                .iter()
                .map(|m| m.target.path.to_string())
                .collect(),
            worker_apps: s.worker_apps.iter().map(|w| w.name.clone()).collect(),
            tasks: s
                .tasks
                .iter()
                .map(|t| TaskView {
                    framework: t.framework,
                    function: project.function(t.func).qual.to_string(),
                    options: t.options.iter().map(|(k, _)| k.clone()).collect(),
                })
                .collect(),
            settings: s.settings.iter().map(|c| c.name.clone()).collect(),
            requirements: s.requirements.iter().map(|r| r.name.clone()).collect(),
            http_clients: s
                .http_clients
                .iter()
                .map(|c| {
                    format!(
                        "{} at {}",
                        c.constructor,
                        at(project, c.at.file, c.at.range.start())
                    )
                })
                .collect(),
            entry_points: s
                .entry_points
                .iter()
                .map(|f| project.function(*f).qual.to_string())
                .collect(),
        })
        .collect();
    super::print_output(|out| {
        serde_json::to_writer_pretty(&mut *out, &services)?;
        writeln!(out)
    })
}
