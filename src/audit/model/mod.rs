//! The service model: built once from the files' facts, then read by every rule.
//!
//! A repository holds one or more services. A service is a directory with its own manifest
//! (pyproject.toml, requirements file, setup.cfg, Pipfile, Dockerfile or SAM template) and at
//! least one HTTP or worker app in the files it owns; a file belongs to the deepest service
//! directory above it. When app code sits under no manifest, the audited root is the service.
//! Files owned by no service are still checked by the code-level rules, and artefacts that
//! deploy no service by the rules about an artefact on its own.

pub mod artefacts;
pub mod code;
pub mod deps;
pub(crate) mod fastapi;
pub mod frameworks;
pub mod health;
mod kustomize;
pub mod name;
mod symbols;
mod workers;

use std::collections::{BTreeMap, HashMap};

use rayon::prelude::*;
use ruff_text_size::TextRange;
use serde::Serialize;

use crate::audit::source::{FileId, FileKind, FileRole, SourceFile};
pub use code::{Call, CodeFile, FnId, Function, Ref, Value};
pub use deps::Requirement;
pub use symbols::Symbol;

/// Files per parallel task in the model's per-file passes. Rayon's default split leaves a
/// quarter of the files to one task, which no idle thread can take a share of; small tasks
/// keep both threads busy to the end of each pass.
pub(crate) const PER_TASK: usize = 8;

/// What a service is, which decides which principles apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A long-running HTTP server (uvicorn/gunicorn), usually in a container.
    Container,
    /// An HTTP app on AWS Lambda behind API Gateway (Mangum, SAM).
    Lambda,
    /// A background worker consuming a broker (Celery, taskiq, Dramatiq, RQ).
    Worker,
}

impl Kind {
    pub const ALL: &'static [Kind] = &[Kind::Container, Kind::Lambda, Kind::Worker];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Container => "container",
            Kind::Lambda => "lambda",
            Kind::Worker => "worker",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.iter().copied().find(|k| k.as_str() == s)
    }
}

/// A place in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loc {
    pub file: FileId,
    pub range: TextRange,
}

/// A function somewhere in the project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FnRef {
    pub file: FileId,
    pub func: FnId,
}

/// A call site somewhere in the project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CallRef {
    pub file: FileId,
    pub index: u32,
}

/// An HTTP application object (`app = FastAPI(...)`).
#[derive(Debug, Clone)]
pub struct HttpApp {
    /// The dotted name the app is bound to.
    pub name: String,
    /// The constructor call: service-level findings point here.
    pub call: CallRef,
    pub at: Loc,
    /// The lifespan function (`FastAPI(lifespan=...)`), or `on_event("startup")` handlers.
    pub lifespan: Vec<FnRef>,
    /// Indexes into [`Service::apps`] of the apps this one is mounted in
    /// (`root.mount("/api", this)`).
    pub mounted_in: Vec<usize>,
}

/// An outbound HTTP client or session constructed somewhere in the service.
#[derive(Debug, Clone)]
pub struct HttpClient {
    /// The constructor (`httpx.AsyncClient`, `requests.Session`, `aiohttp.ClientSession`).
    pub constructor: String,
    pub at: Loc,
    /// The function constructing it; None at module level.
    pub func: Option<FnRef>,
}

/// Where a dependency was declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DependencyLevel {
    /// `FastAPI(dependencies=[...])`
    App,
    /// `app.include_router(router, dependencies=[...])`
    Include,
    /// `APIRouter(dependencies=[...])`
    Router,
    /// `@router.get(..., dependencies=[...])`
    Route,
    /// A handler parameter `user = Depends(get_user)`.
    Parameter,
}

/// One `Depends(...)` / `Security(...)` (or equivalent) protecting a route.
#[derive(Debug, Clone)]
pub struct Dependency {
    /// What the dependency calls, resolved.
    pub target: Ref,
    pub level: DependencyLevel,
    pub at: Loc,
    pub is_auth: bool,
    pub is_rate_limit: bool,
    /// It comes from one branch of a conditional list whose other branch is empty
    /// (`[Depends(auth)] if api_key else []`): it runs only when the service is configured so.
    pub conditional: bool,
}

#[derive(Debug, Clone)]
pub struct Route {
    /// Index into [`Service::apps`]; None when the router is never mounted on an app.
    pub app: Option<usize>,
    pub methods: Vec<String>,
    /// The full path, with every `include_router` and router prefix.
    pub path: String,
    /// The route's own path was a literal or a constant the audit read (`@app.get(HEALTH)`
    /// with `HEALTH = "/health"`); when false, `path` holds only the prefixes around it.
    pub path_known: bool,
    pub handler: Option<FnRef>,
    /// The decorator or `add_api_route` call.
    pub at: Loc,
    /// Every dependency that runs for this route, app level first.
    pub dependencies: Vec<Dependency>,
    /// A decorator such as slowapi's `@limiter.limit("5/minute")` limits it.
    pub rate_limited_by_decorator: bool,
    /// How sure the audit is of where the route is served.
    pub mount: Mount,
}

/// How a route's router was found to be mounted on an app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mount {
    /// Every include on the way to the app was seen.
    Resolved,
    /// An include the audit could not follow (a loop over routers, a dynamic import) is taken
    /// to mount it: its app is known, its full path and include dependencies may not be.
    Inferred,
    /// No app was found to serve it: its full path and the dependencies of the app and of the
    /// includes above it are unknown.
    Unresolved,
}

impl Route {
    pub fn has_auth(&self) -> bool {
        self.dependencies.iter().any(|d| d.is_auth)
    }

    /// An auth dependency that runs whatever the configuration (see [`Dependency::conditional`]).
    pub fn has_unconditional_auth(&self) -> bool {
        self.dependencies
            .iter()
            .any(|d| d.is_auth && !d.conditional)
    }

    pub fn has_rate_limit(&self) -> bool {
        self.rate_limited_by_decorator || self.dependencies.iter().any(|d| d.is_rate_limit)
    }
}

#[derive(Debug, Clone)]
pub struct Middleware {
    /// The middleware class or function.
    pub target: Ref,
    /// The `add_middleware` / `Middleware(...)` call, for its arguments.
    pub call: Option<CallRef>,
    pub at: Loc,
    /// Indexes into [`Service::apps`] of the apps whose requests pass through it: the app it
    /// is added to and every app mounted below that one. Empty when that app is unknown.
    pub apps: Vec<usize>,
    /// Added in a branch chosen at run time (`if auth_string: app.add_middleware(...)`, or a
    /// `@app.middleware` function defined under an `if`): requests pass through it only when
    /// the service is configured so.
    pub conditional: bool,
}

impl Middleware {
    /// Authentication: Starlette's `AuthenticationMiddleware`, or a middleware named like
    /// authentication (`JWTMiddleware`, `@app.middleware("http") async def token_validation`).
    pub fn authenticates(&self) -> bool {
        self.target
            .is("starlette.middleware.authentication.AuthenticationMiddleware")
            || fastapi::names_authentication(&self.target.last().to_ascii_lowercase())
    }

    /// Requests to app `index` pass through it (or its app is unknown, and may be that one).
    pub fn covers_app(&self, index: usize) -> bool {
        self.apps.is_empty() || self.apps.contains(&index)
    }
}

/// A worker application (`Celery(...)`, a taskiq broker, Dramatiq broker, RQ queue).
#[derive(Debug, Clone)]
pub struct WorkerApp {
    pub framework: WorkerFramework,
    pub name: String,
    pub call: CallRef,
    pub at: Loc,
    /// Defaults set for every task through the app's configuration (`task_acks_late`,
    /// `task_time_limit`, ...), by setting name.
    pub defaults: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkerFramework {
    Celery,
    Taskiq,
    Dramatiq,
    Rq,
    /// pydocket: plain async functions scheduled with `docket.add(fn)`.
    Docket,
}

#[derive(Debug, Clone)]
pub struct Task {
    pub framework: WorkerFramework,
    pub func: FnRef,
    /// The decorator (`@app.task(...)`): its keyword options.
    pub options: Vec<(String, Value)>,
    pub at: Loc,
    /// The body calls `self.retry(...)` / `raise self.retry(...)`.
    pub retries_in_body: bool,
}

impl Task {
    pub fn option(&self, name: &str) -> Option<&Value> {
        self.options.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }
}

/// A `BaseSettings` subclass.
#[derive(Debug, Clone)]
pub struct SettingsClass {
    pub name: String,
    pub at: Loc,
}

#[derive(Debug)]
pub struct Service {
    pub name: String,
    /// Directory relative to the audited root ("" for the root itself).
    pub root: String,
    pub kind: Kind,
    /// The kind came from configuration, not detection.
    pub kind_from_config: bool,
    pub files: Vec<FileId>,
    pub apps: Vec<HttpApp>,
    pub routes: Vec<Route>,
    pub middleware: Vec<Middleware>,
    pub worker_apps: Vec<WorkerApp>,
    pub tasks: Vec<Task>,
    pub settings: Vec<SettingsClass>,
    /// Declared third-party dependencies, from the service's manifests.
    pub requirements: Vec<Requirement>,
    /// Outbound HTTP clients constructed in the service's (non-test) code.
    pub http_clients: Vec<HttpClient>,
    /// Functions that run on the request or task path: route handlers, their dependencies
    /// (transitively), HTTP middleware functions and tasks.
    pub entry_points: Vec<FnRef>,
    /// Lambda handler functions (`handler = Mangum(app)` targets or `def handler(event, context)`).
    pub lambda_handlers: Vec<FnRef>,
    /// Dockerfiles, Kubernetes workloads, SAM functions, compose services and proxy
    /// configuration that deploy this service.
    pub artefacts: artefacts::ServiceArtefacts,
    /// The port the app listens on, when an artefact or the code says.
    pub listen_port: Option<artefacts::ListenPort>,
    pub(crate) symbols: symbols::SymbolTable,
}

impl Service {
    /// The service has an authentication middleware on any of its apps.
    pub fn has_auth_middleware(&self) -> bool {
        self.middleware.iter().any(Middleware::authenticates)
    }

    /// An authentication middleware that requests to app `index` pass through (or one on an
    /// unknown app, which may be that one).
    pub fn auth_middleware_on(&self, index: usize) -> bool {
        self.middleware
            .iter()
            .any(|m| m.authenticates() && m.covers_app(index))
    }

    /// The authentication middleware that wrap the route's app. Middleware on an unknown
    /// app, or a route on an unknown app, gets the benefit of the doubt.
    pub fn auth_middleware_for(&self, route: &Route) -> Vec<&Middleware> {
        self.middleware
            .iter()
            .filter(|m| m.authenticates())
            .filter(|m| route.app.is_none_or(|app| m.covers_app(app)))
            .collect()
    }

    /// The routes grouped by where the code declares them (one decorator, one
    /// `add_api_route` call, one `APIRoute(...)`), in order of first appearance; each group
    /// in the order of [`Self::routes`]. `routes` holds a route once per include chain (a
    /// router included twice, or by two apps, serves it at several paths), while a finding
    /// about a route belongs where it is declared: one fix there covers every path.
    pub fn route_sites(&self) -> Vec<Vec<&Route>> {
        let mut index: HashMap<(FileId, TextRange), usize> = HashMap::new();
        let mut sites: Vec<Vec<&Route>> = Vec::new();
        for route in &self.routes {
            let i = *index
                .entry((route.at.file, route.at.range))
                .or_insert_with(|| {
                    sites.push(Vec::new());
                    sites.len() - 1
                });
            sites[i].push(route);
        }
        sites
    }

    /// Where a finding about the whole service points: its first HTTP app, else its first
    /// worker app.
    pub fn anchor(&self) -> Option<Loc> {
        self.apps
            .first()
            .map(|a| a.at)
            .or_else(|| self.worker_apps.first().map(|w| w.at))
    }

    /// Index into [`Self::apps`] of the app a finding about the whole HTTP service points at:
    /// the app the service's entry point runs. An app with a lifespan (or startup hooks) comes
    /// first, since the server runs only the lifespan of the app it serves, never one of an
    /// app mounted below; then one mounted in no other app; then one that serves API routes,
    /// its own or those of the apps mounted below it (`root.mount("/api", api_app)`), not only
    /// probes and `/metrics` (a metrics side app does not stand for the service); then the
    /// first in source order.
    pub fn primary_app(&self) -> Option<usize> {
        let n = self.apps.len();
        let mut serves_api = vec![false; n];
        for r in &self.routes {
            if let Some(a) = r.app.filter(|&a| a < n)
                && !is_side_route(&r.path)
            {
                serves_api[a] = true;
            }
        }
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (child, app) in self.apps.iter().enumerate() {
            for &parent in app.mounted_in.iter().filter(|&&p| p < n) {
                children[parent].push(child);
            }
        }
        let serves = |root: usize| -> bool {
            let mut seen = vec![false; n];
            let mut stack = vec![root];
            while let Some(a) = stack.pop() {
                if std::mem::replace(&mut seen[a], true) {
                    continue;
                }
                if serves_api[a] {
                    return true;
                }
                stack.extend(children[a].iter().copied());
            }
            false
        };
        (0..n).max_by_key(|&i| {
            let app = &self.apps[i];
            (
                !app.lifespan.is_empty(),
                app.mounted_in.is_empty(),
                serves(i),
                std::cmp::Reverse(i),
            )
        })
    }

    /// The app [`Self::primary_app`] picks.
    pub fn primary(&self) -> Option<&HttpApp> {
        self.primary_app().map(|i| &self.apps[i])
    }

    pub fn has_http(&self) -> bool {
        !self.apps.is_empty()
    }
}

/// A route a side app serves for the platform rather than for clients: a probe or metrics.
fn is_side_route(path: &str) -> bool {
    let last = path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default();
    matches!(
        last,
        "metrics"
            | "health"
            | "healthz"
            | "livez"
            | "live"
            | "liveness"
            | "readyz"
            | "ready"
            | "readiness"
            | "ping"
    )
}

/// Everything an audit knows, built once.
#[derive(Default)]
pub struct Project {
    pub files: Vec<SourceFile>,
    /// Facts of each file that parsed, by file id.
    pub code: Vec<Option<CodeFile>>,
    pub services: Vec<Service>,
    /// Code files that belong to no service.
    pub loose_files: Vec<FileId>,
    /// Deployment artefacts that deploy no service (set by [`artefacts::attach`]).
    pub loose_artefacts: artefacts::ServiceArtefacts,
    /// For each file, the service owning it.
    pub owner: Vec<Option<usize>>,
    /// Facts of each deployment artefact that parsed, by file id (empty until
    /// [`artefacts::attach`]).
    pub artefacts: Vec<Option<crate::audit::artefact::Artefact>>,
    /// Dockerfile stages that a build selects by name (compose `build.target`): the image
    /// built from that Dockerfile is that stage, not the last one. Sorted by file.
    pub build_targets: Vec<(FileId, String)>,
}

impl Project {
    pub fn file(&self, id: FileId) -> &SourceFile {
        &self.files[id as usize]
    }

    pub fn code(&self, id: FileId) -> Option<&CodeFile> {
        self.code.get(id as usize).and_then(|c| c.as_ref())
    }

    pub fn call(&self, at: CallRef) -> &Call {
        &self.code(at.file).expect("call in a parsed file").calls[at.index as usize]
    }

    pub fn function(&self, f: FnRef) -> &Function {
        self.code(f.file)
            .expect("function in a parsed file")
            .function(f.func)
    }

    /// The service a file belongs to.
    pub fn service_of(&self, file: FileId) -> Option<&Service> {
        self.owner[file as usize].map(|i| &self.services[i])
    }

    /// Python files of a service with their facts.
    pub fn code_files<'a>(
        &'a self,
        files: &'a [FileId],
    ) -> impl Iterator<Item = (FileId, &'a SourceFile, &'a CodeFile)> + 'a {
        files.iter().filter_map(move |&id| {
            let code = self.code(id)?;
            Some((id, self.file(id), code))
        })
    }

    /// Resolve a reference to what it names inside `service` (following imports and
    /// re-exports across the service's files).
    pub fn resolve(&self, service: &Service, r: &Ref) -> Option<Symbol> {
        service.symbols.resolve(self, &r.path)
    }

    /// Resolve a reference to a function of the service.
    pub fn resolve_function(&self, service: &Service, r: &Ref) -> Option<FnRef> {
        match self.resolve(service, r)? {
            Symbol::Function(f) => Some(f),
            _ => None,
        }
    }
}

/// Configuration the model needs.
#[derive(Debug, Default, Clone)]
pub struct ModelOptions {
    /// Service kind overrides by service directory (relative to the audited root).
    pub kinds: HashMap<String, Kind>,
    /// Extra dotted names or function names treated as authentication dependencies.
    pub auth_dependencies: Vec<String>,
}

/// Build the project model from the files and their facts.
pub fn build(
    files: Vec<SourceFile>,
    code: Vec<Option<CodeFile>>,
    options: &ModelOptions,
) -> Project {
    let service_dirs = find_service_dirs(&files, &code);
    let mut owner: Vec<Option<usize>> = vec![None; files.len()];
    let mut members: Vec<Vec<FileId>> = vec![Vec::new(); service_dirs.len()];
    let mut loose_files = Vec::new();
    for (id, f) in files.iter().enumerate() {
        let dir = parent_dir(&f.rel);
        match deepest_ancestor(&service_dirs, dir) {
            Some(i) => {
                owner[id] = Some(i);
                members[i].push(id as FileId);
            }
            None => {
                if f.kind == FileKind::Python {
                    loose_files.push(id as FileId);
                }
            }
        }
    }
    let mut project = Project {
        files,
        code,
        services: Vec::new(),
        loose_files,
        loose_artefacts: Default::default(),
        build_targets: Vec::new(),
        owner,
        artefacts: Vec::new(),
    };
    let services = service_dirs
        .into_iter()
        .zip(members)
        .map(|(root, files)| build_service(&project, root, files, options))
        .collect();
    project.services = services;
    project
}

fn build_service(
    project: &Project,
    root: String,
    files: Vec<FileId>,
    options: &ModelOptions,
) -> Service {
    let requirements = deps::collect(project, &files);
    let name = deps::project_name(project, &files, &root).unwrap_or_else(|| {
        root.rsplit('/')
            .next()
            .filter(|s| !s.is_empty())
            .unwrap_or("root")
            .to_string()
    });
    let mut service = Service {
        name,
        root,
        kind: Kind::Container,
        kind_from_config: false,
        files,
        apps: Vec::new(),
        routes: Vec::new(),
        middleware: Vec::new(),
        worker_apps: Vec::new(),
        tasks: Vec::new(),
        settings: Vec::new(),
        requirements,
        http_clients: Vec::new(),
        entry_points: Vec::new(),
        lambda_handlers: Vec::new(),
        artefacts: Default::default(),
        listen_port: None,
        symbols: symbols::SymbolTable::default(),
    };
    service.symbols = symbols::SymbolTable::build(project, &service.files);
    fastapi::link(project, &mut service, options);
    workers::link(project, &mut service);
    // Lambda when the HTTP app is served through Mangum, or when Lambda handlers are all
    // there is. A bare `handler(event, context)` beside an API of routes is one more entry
    // point (a compute-engine image, an SQS stage), not what the service is.
    let is_lambda = uses_mangum(project, &service)
        || (!service.lambda_handlers.is_empty() && service.routes.is_empty());
    service.kind = match options.kinds.get(&service.root) {
        Some(k) => {
            service.kind_from_config = true;
            *k
        }
        None if is_lambda => Kind::Lambda,
        None if service.apps.is_empty() && !service.worker_apps.is_empty() => Kind::Worker,
        None => Kind::Container,
    };
    service
}

fn uses_mangum(project: &Project, service: &Service) -> bool {
    service.files.par_iter().with_max_len(PER_TASK).any(|&id| {
        project.code(id).is_some_and(|c| {
            !project.file(id).is_test()
                && c.calls.iter().any(|call| call.callee.is("mangum.Mangum"))
        })
    })
}

/// The service code's classes whose bases make them HTTP app classes.
fn app_subclasses<'a>(
    files: &'a [SourceFile],
    code: &'a [Option<CodeFile>],
) -> rustc_hash::FxHashSet<&'a str> {
    frameworks::app_subclasses(
        files
            .iter()
            .zip(code)
            .filter(|(f, _)| f.role == FileRole::Service)
            .filter_map(|(_, c)| c.as_ref())
            .flat_map(|c| {
                c.classes
                    .iter()
                    .map(|k| (&*k.qual, k.bases.iter().map(|b| &*b.path).collect()))
            }),
    )
}

/// The short names of [`app_subclasses`], for a text search of the files not parsed yet.
pub fn app_subclass_names(files: &[SourceFile], code: &[Option<CodeFile>]) -> Vec<String> {
    let mut names: Vec<String> = app_subclasses(files, code)
        .into_iter()
        .map(|q| q.rsplit('.').next().unwrap_or(q).to_string())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Directories that hold a manifest and own app code (sorted).
pub fn find_service_dirs(files: &[SourceFile], code: &[Option<CodeFile>]) -> Vec<String> {
    let mut candidates: Vec<String> = vec![String::new()];
    for f in files {
        let name = f.rel.rsplit('/').next().unwrap_or(&f.rel);
        let is_manifest = matches!(f.kind, FileKind::Manifest | FileKind::Dockerfile)
            || matches!(name, "template.yaml" | "template.yml" | "setup.py");
        if is_manifest {
            let dir = parent_dir(&f.rel).to_string();
            if !candidates.contains(&dir) {
                candidates.push(dir);
            }
        }
    }
    // A FastAPI subclass defined in one file and instantiated in another makes an app too.
    let subclasses = app_subclasses(files, code);
    // Every call of every file is looked at: in parallel. Tests, scripts, CLIs, examples and
    // load tests build apps too (a mock server, a local login callback), but not services.
    let defines: Vec<bool> = files
        .par_iter()
        .zip(code.par_iter())
        .with_max_len(PER_TASK)
        .map(|(f, c)| {
            c.as_ref()
                .is_some_and(|c| f.role == FileRole::Service && defines_app(c, &subclasses))
        })
        .collect();
    let mut has_app = vec![false; candidates.len()];
    for (f, _) in files.iter().zip(defines).filter(|(_, d)| *d) {
        if let Some(i) = deepest_ancestor(&candidates, parent_dir(&f.rel)) {
            has_app[i] = true;
        }
    }
    let mut dirs: Vec<String> = candidates
        .into_iter()
        .zip(has_app)
        .filter_map(|(d, has)| has.then_some(d))
        .collect();
    dirs.sort();
    dirs
}

/// Cheap test on a file's text: only a file mentioning an app constructor can define an app.
pub fn may_define_app(text: &str) -> bool {
    const WORDS: &[&str] = &[
        "FastAPI",
        "Starlette",
        "Celery",
        "Mangum",
        "Broker",
        "Queue",
        "set_broker",
    ];
    // Every Python file is searched: memchr's SIMD substring search, not `str::contains`.
    static FINDERS: std::sync::OnceLock<Vec<memchr::memmem::Finder<'static>>> =
        std::sync::OnceLock::new();
    FINDERS
        .get_or_init(|| WORDS.iter().map(memchr::memmem::Finder::new).collect())
        .iter()
        .any(|f| f.find(text.as_bytes()).is_some())
}

/// The service directory owning a file at `rel`, if any.
pub fn owning_dir<'a>(dirs: &'a [String], rel: &str) -> Option<&'a str> {
    deepest_ancestor(dirs, parent_dir(rel)).map(|i| dirs[i].as_str())
}

fn defines_app(code: &CodeFile, subclasses: &rustc_hash::FxHashSet<&str>) -> bool {
    code.calls.iter().any(|c| {
        frameworks::is_app_constructor(&c.callee.path)
            || c.callee
                .instance
                .as_deref()
                .is_some_and(|i| frameworks::is_app_constructor(i.trim_end_matches("()")))
            || subclasses.contains(&*c.callee.path)
    })
}

fn parent_dir(rel: &str) -> &str {
    rel.rsplit_once('/').map_or("", |(d, _)| d)
}

/// Index of the deepest directory in `dirs` that is `dir` or an ancestor of it.
fn deepest_ancestor(dirs: &[String], dir: &str) -> Option<usize> {
    dirs.iter()
        .enumerate()
        .filter(|(_, d)| {
            d.is_empty()
                || dir == d.as_str()
                || dir
                    .strip_prefix(d.as_str())
                    .is_some_and(|r| r.starts_with('/'))
        })
        .max_by_key(|(_, d)| d.len())
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deepest_ancestor_prefers_the_nearest_directory() {
        let dirs = vec!["".to_string(), "svc".to_string(), "svc/a".to_string()];
        assert_eq!(deepest_ancestor(&dirs, "svc/a/app"), Some(2));
        assert_eq!(deepest_ancestor(&dirs, "svc/ab"), Some(1));
        assert_eq!(deepest_ancestor(&dirs, "other"), Some(0));
        assert_eq!(deepest_ancestor(&dirs[1..], "other"), None);
    }
}
