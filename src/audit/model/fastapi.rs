//! FastAPI (and Starlette) apps, routers, routes, dependencies and middleware of a service.
//!
//! Routers are objects bound to names (`router = APIRouter(prefix=...)`, at module level or
//! inside an app factory). Routes hang off them by decorator or `add_api_route`; routers hang
//! off apps and other routers by `include_router`. Each route's full path and dependencies are
//! the concatenation along every chain of includes up to an app.

use std::sync::Mutex;

use rayon::prelude::*;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use ruff_text_size::TextRange;

use crate::audit::model::code::{CodeFile, FnId, RefOrigin, Scope, Value};
use crate::audit::model::{
    CallRef, Dependency, DependencyLevel, FnRef, HttpApp, Loc, Middleware, ModelOptions, Mount,
    PER_TASK, Project, Ref, Route, Service, SettingsClass, Symbol,
};
use crate::audit::source::{FileId, FileRole};

use crate::audit::model::frameworks::{HTTP_APP_CLASSES as APP_CLASSES, ROUTER_CLASSES};

const DEPENDS: &[&str] = &[
    "fastapi.Depends",
    "fastapi.params.Depends",
    "fastapi.param_functions.Depends",
];
const SECURITY: &[&str] = &[
    "fastapi.Security",
    "fastapi.params.Security",
    "fastapi.param_functions.Security",
];
const ROUTE_METHODS: &[&str] = &[
    "get",
    "post",
    "put",
    "delete",
    "patch",
    "options",
    "head",
    "trace",
    "api_route",
    "websocket",
];
const SETTINGS_BASES: &[&str] = &[
    "pydantic_settings.BaseSettings",
    "pydantic.BaseSettings",
    "pydantic.v1.BaseSettings",
];

/// Words in a dependency's name that mark it as authentication.
const AUTH_WORDS: &[&str] = &[
    "auth",
    "current_user",
    "current_active_user",
    "principal",
    "token",
    "jwt",
    "bearer",
    "api_key",
    "apikey",
    "credential",
    "permission",
    "scope",
    "login_required",
    "require_user",
    "verify_user",
    "identity",
];
/// 401 or 403, as a number or as `status.HTTP_401_UNAUTHORIZED` / `HTTP_403_FORBIDDEN`.
fn is_unauthorized_status(value: &Value) -> bool {
    match value {
        Value::Int(code) => matches!(code, 401 | 403),
        Value::Ref(r) => {
            let last = r.last();
            last.starts_with("HTTP_401") || last.starts_with("HTTP_403")
        }
        _ => false,
    }
}

/// A dependency's or middleware's own name (lower case) says it authenticates.
pub(crate) fn names_authentication(lower_name: &str) -> bool {
    AUTH_WORDS.iter().any(|w| lower_name.contains(w))
}

const RATE_LIMIT_WORDS: &[&str] = &["rate_limit", "ratelimit", "limiter", "throttl"];

#[derive(Debug)]
struct RouterObj {
    key: String,
    is_app: bool,
    call: CallRef,
    at: Loc,
    prefix: String,
    deps: Vec<Dependency>,
    app_index: Option<usize>,
}

/// A router or app as one piece of code names it: an object bound to a name, or a parameter
/// of the enclosing function (`def register_routes(app: FastAPI): app.include_router(...)`),
/// which stands for whatever the function's callers pass in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Slot {
    Known(usize),
    Param(FnRef, u32),
}

/// `parent.include_router(child)` or `parent.mount(path, child)`, as written.
struct SlotInclude {
    parent: Slot,
    child: Slot,
    prefix: String,
    deps: Vec<Dependency>,
}

/// An include whose child could not be resolved (`for r in ROUTERS: app.include_router(r)`,
/// `app.include_router(routers[name])`): some router of the service is mounted here.
struct OpenInclude {
    parent: Slot,
    prefix: String,
    deps: Vec<Dependency>,
}

/// An include between two router objects. `inferred`: the child was adopted by an
/// [`OpenInclude`], so the audit believes, without seeing it, that this is where it is mounted.
struct Include {
    parent: usize,
    child: usize,
    prefix: String,
    deps: Vec<Dependency>,
    inferred: bool,
}

/// What code adds to the routes: found per file by [`Linker::collect_links`], then joined in
/// file order and extended by [`Linker::constructor_links`].
#[derive(Default)]
struct Links {
    raw_routes: Vec<RawRoute>,
    includes: Vec<SlotInclude>,
    open_includes: Vec<OpenInclude>,
    middleware: Vec<Middleware>,
    /// Where each of `middleware` was added, in the same order.
    middleware_slots: Vec<Slot>,
    entry: Vec<FnRef>,
}

impl Links {
    fn extend(&mut self, other: Links) {
        self.raw_routes.extend(other.raw_routes);
        self.includes.extend(other.includes);
        self.open_includes.extend(other.open_includes);
        self.middleware.extend(other.middleware);
        self.middleware_slots.extend(other.middleware_slots);
        self.entry.extend(other.entry);
    }
}

/// Whether a callee is an app or router class, memoised for the threads linking one service:
/// by callee name (an interned name's address; a name interned by two threads is looked up
/// twice), and by class and depth for the bases.
#[derive(Default)]
struct ClassMemo {
    kinds: [Mutex<HashMap<usize, (bool, bool)>>; MEMO_SHARDS],
    bases: BasesMemo,
}

const MEMO_SHARDS: usize = 16;

/// (class file, class index, depth) -> whether its bases make it an app or router class.
type BasesMemo = Mutex<HashMap<(FileId, u32, u32), (bool, bool)>>;

impl ClassMemo {
    fn kinds(&self, project: &Project, service: &Service, callee: &Ref) -> (bool, bool) {
        let id = callee.path.id();
        // The low bits of an address are alignment: shard on the bits above them.
        let shard = &self.kinds[(id >> 4) % MEMO_SHARDS];
        if let Some(found) = shard.lock().expect("memo lock").get(&id) {
            return *found;
        }
        let found = app_or_router_class(project, service, callee, 0, &self.bases);
        shard.lock().expect("memo lock").insert(id, found);
        found
    }
}

struct RawRoute {
    router: Slot,
    methods: Vec<String>,
    path: String,
    path_known: bool,
    handler: Option<FnRef>,
    at: Loc,
    deps: Vec<Dependency>,
    rate_limited_by_decorator: bool,
}

/// Links the FastAPI side of a service: its apps, routes (with full paths and dependencies),
/// middleware and entry points, plus its HTTP clients, settings classes and Lambda handlers.
///
/// The steps run in this order because each needs the one before: the router objects
/// ([`Linker::collect_routers`]) are what every route, include and middleware hangs off
/// ([`Linker::collect_links`], [`Linker::constructor_links`]); apps ([`Linker::apps`]) must be
/// numbered before includes are resolved against them ([`resolve_includes`]); the full paths
/// ([`expand_routes`]) need every include; and the entry points ([`Linker::entry_points`])
/// need the expanded routes' dependencies.
pub(super) fn link(project: &Project, service: &mut Service, options: &ModelOptions) {
    let files: Vec<FileId> = service
        .files
        .iter()
        .copied()
        .filter(|&f| project.code(f).is_some() && project.file(f).role == FileRole::Service)
        .collect();
    let cx = Linker {
        project,
        service,
        options,
    };

    let memo = ClassMemo::default();
    // HTTP clients, settings classes and Lambda handlers do not depend on routers: they are
    // found meanwhile.
    let ((http_clients, settings, lambda_handlers), mut routers) = rayon::join(
        || {
            (
                find_http_clients(project, &files),
                find_settings(project, &files),
                find_lambda_handlers(project, &files),
            )
        },
        || cx.collect_routers(&files, &memo),
    );
    let index = RouterIndex::new(project, cx.service, &routers);
    let mut links = cx.collect_links(&files, &index);
    cx.constructor_links(&routers, &mut links);
    let mut apps = cx.apps(&mut routers, &files);

    let apps_as_routers: Vec<usize> = (0..routers.len()).filter(|&i| routers[i].is_app).collect();
    let params = ParamBindings::resolve(
        project,
        cx.service,
        &files,
        &links.raw_routes,
        &links.includes,
        &links.open_includes,
        &|r: &Ref| index.find(r),
        &apps_as_routers,
        routers.len(),
        &memo,
    );
    let Links {
        raw_routes,
        includes: slot_includes,
        open_includes,
        mut middleware,
        middleware_slots,
        entry,
    } = links;
    let includes = resolve_includes(
        &routers,
        &raw_routes,
        &params,
        slot_includes,
        &open_includes,
    );
    note_mounted_apps(&routers, &includes, &mut apps);
    middleware_apps(
        &routers,
        &includes,
        &params,
        &middleware_slots,
        &mut middleware,
    );
    let routes = expand_routes(&routers, &includes, &params, raw_routes);
    let entry_points = cx.entry_points(&routes, entry);

    service.apps = apps;
    service.http_clients = http_clients;
    service.routes = routes;
    service.middleware = middleware;
    service.entry_points = entry_points;
    service.settings = settings;
    service.lambda_handlers = lambda_handlers;
}

/// The router and app objects by qualified binding name, to resolve the names routes,
/// includes and middleware are attached through.
struct RouterIndex<'a> {
    project: &'a Project,
    service: &'a Service,
    by_key: HashMap<String, usize>,
}

impl<'a> RouterIndex<'a> {
    fn new(project: &'a Project, service: &'a Service, routers: &[RouterObj]) -> Self {
        let by_key = routers
            .iter()
            .enumerate()
            .map(|(i, r)| (r.key.clone(), i))
            .collect();
        RouterIndex {
            project,
            service,
            by_key,
        }
    }

    /// The router object a name refers to: by its own path, or through the service's symbols
    /// (an import, an alias) to the assignment that binds it.
    fn find(&self, r: &Ref) -> Option<usize> {
        if let Some(i) = self.by_key.get(&*r.path) {
            return Some(*i);
        }
        match self.project.resolve(self.service, r)? {
            Symbol::Assign { file, index } => {
                let code = self.project.code(file)?;
                let key = code.binding_name(&code.assigns[index as usize])?;
                self.by_key.get(&key).copied()
            }
            _ => None,
        }
    }

    /// A name as the code at `func` sees it: a router object, or a parameter of `func` (or of
    /// a function around it).
    fn slot_of(&self, r: &Ref, file: FileId, code: &CodeFile, func: Option<FnId>) -> Option<Slot> {
        self.find(r)
            .map(Slot::Known)
            .or_else(|| param_slot(code, file, func, r))
    }

    /// What the object of a method call (`app.get`, `app.include_router`) stands for: a router
    /// object or parameter, or, bound to the result of a factory of the service (`app =
    /// _create_base_app()`, then `@app.get("/")`), the router that factory returns. A factory
    /// returning one of several routers attaches to the first: a route attached to one of the
    /// apps it may belong to is judged, where no attachment would drop it unseen.
    fn object_of(
        &self,
        callee: &Ref,
        base: &str,
        file: FileId,
        code: &CodeFile,
        func: Option<FnId>,
    ) -> Option<Slot> {
        let base_ref = Ref {
            path: base.into(),
            origin: callee.origin,
            instance: None,
        };
        if let Some(slot) = self.slot_of(&base_ref, file, code, func) {
            return Some(slot);
        }
        let method = &callee.path[base.len()..];
        let made_by = callee.instance.as_deref()?.strip_suffix(method)?;
        if !made_by.ends_with("()") {
            return None;
        }
        let slot_of = |r: &Ref, file: FileId, code: &CodeFile, func: Option<FnId>| {
            self.slot_of(r, file, code, func)
        };
        returned_slots(
            self.project,
            self.service,
            &instance_callee(&base_ref, made_by),
            &slot_of,
            0,
        )
        .into_iter()
        .next()
    }
}

/// The includes between router objects: each written include for every pair of objects its
/// parent and child slots stand for, then the orphans adopted by open includes. Needs the
/// parameter bindings, so runs after them.
fn resolve_includes(
    routers: &[RouterObj],
    raw_routes: &[RawRoute],
    params: &ParamBindings,
    slot_includes: Vec<SlotInclude>,
    open_includes: &[OpenInclude],
) -> Vec<Include> {
    let mut includes: Vec<Include> = Vec::new();
    for inc in slot_includes {
        for &parent in params.targets(inc.parent) {
            for &child in params.targets(inc.child) {
                includes.push(Include {
                    parent,
                    child,
                    prefix: inc.prefix.clone(),
                    deps: inc.deps.clone(),
                    inferred: false,
                });
            }
        }
    }
    adopt_orphans(routers, raw_routes, params, open_includes, &mut includes);
    includes
}

/// Records, for each app, the apps it is mounted in (`app.mount("/v1", v1_app)`), in the order
/// of the includes.
fn note_mounted_apps(routers: &[RouterObj], includes: &[Include], apps: &mut [HttpApp]) {
    for inc in includes {
        if let (Some(parent), Some(child)) =
            (routers[inc.parent].app_index, routers[inc.child].app_index)
            && !apps[child].mounted_in.contains(&parent)
        {
            apps[child].mounted_in.push(parent);
        }
    }
}

/// Full paths: each route once per chain of includes from its router up to an app (or to a
/// router no include reaches), with the prefixes joined and the dependencies gathered along
/// the chain. Runs last among the route steps, since it needs every include.
fn expand_routes(
    routers: &[RouterObj],
    includes: &[Include],
    params: &ParamBindings,
    raw_routes: Vec<RawRoute>,
) -> Vec<Route> {
    // The includes of each router, in source order.
    let mut parents_of: HashMap<usize, Vec<usize>> = HashMap::default();
    for (i, inc) in includes.iter().enumerate() {
        parents_of.entry(inc.child).or_default().push(i);
    }
    let mut routes = Vec::new();
    for raw in raw_routes {
        let targets = params.targets(raw.router);
        if targets.is_empty() {
            // A parameter no caller could be found for: the route exists, its mounting is
            // unknown. It stays in the model so that rules can still speak of it.
            routes.push(Route {
                app: None,
                methods: raw.methods.clone(),
                path: raw.path.clone(),
                path_known: raw.path_known,
                handler: raw.handler,
                at: raw.at,
                dependencies: raw.deps.clone(),
                rate_limited_by_decorator: raw.rate_limited_by_decorator,
                mount: Mount::Unresolved,
            });
            continue;
        }
        for &router in targets {
            let chains = chains_to_apps(routers, includes, &parents_of, router);
            for (app, prefix, mut deps, inferred) in chains {
                deps.extend(raw.deps.iter().cloned());
                routes.push(Route {
                    app,
                    methods: raw.methods.clone(),
                    path: join_paths(&prefix, &raw.path),
                    path_known: raw.path_known,
                    handler: raw.handler,
                    at: raw.at,
                    dependencies: deps,
                    rate_limited_by_decorator: raw.rate_limited_by_decorator,
                    mount: match (app, inferred) {
                        (None, _) => Mount::Unresolved,
                        (Some(_), true) => Mount::Inferred,
                        (Some(_), false) => Mount::Resolved,
                    },
                });
            }
        }
    }
    routes
}

impl Linker<'_> {
    /// Router and app objects, file by file in parallel, in file order (collect keeps it).
    /// First, because every route, include and middleware is attached to one of them.
    fn collect_routers(&self, files: &[FileId], memo: &ClassMemo) -> Vec<RouterObj> {
        files
            .par_iter()
            .with_max_len(PER_TASK)
            .flat_map_iter(|&file| self.routers_in(file, memo))
            .collect()
    }

    /// The router and app objects one file binds to names. Most assignments call something
    /// unrelated (`logging.getLogger`): each callee is looked up once, and each class's bases
    /// once, in memos the threads share.
    fn routers_in(&self, file: FileId, memo: &ClassMemo) -> Vec<RouterObj> {
        let project = self.project;
        let code = project.code(file).expect("parsed");
        let mut routers = Vec::new();
        for a in &code.assigns {
            let Some(call) = a.value.as_call() else {
                continue;
            };
            let (is_app, is_router) = memo.kinds(project, self.service, &call.callee);
            if !is_app && !is_router {
                continue;
            }
            let Some(key) = code.binding_name(a) else {
                continue;
            };
            let Some(index) = code.call_at(call.range) else {
                continue;
            };
            let call_ref = CallRef { file, index };
            let prefix = self.path_str(call.kwarg("prefix")).unwrap_or_default();
            let level = if is_app {
                DependencyLevel::App
            } else {
                DependencyLevel::Router
            };
            let scope_fn = match a.scope {
                Scope::Function(f) => Some(f),
                _ => None,
            };
            let deps = self.dependency_list(
                file,
                code,
                scope_fn,
                project
                    .call(call_ref)
                    .kwarg("dependencies")
                    .map(|k| (&k.value, k.range)),
                level,
            );
            routers.push(RouterObj {
                key,
                is_app,
                call: call_ref,
                at: Loc {
                    file,
                    range: call.range,
                },
                prefix,
                deps,
                app_index: None,
            });
        }
        routers
    }

    /// Routes, includes and middleware written in code: file by file in parallel, then joined
    /// in file order. Needs the router objects to know what each is attached to.
    fn collect_links(&self, files: &[FileId], index: &RouterIndex) -> Links {
        let per_file: Vec<Links> = files
            .par_iter()
            .with_max_len(PER_TASK)
            .map(|&file| {
                let mut links = Links::default();
                self.decorator_links(file, index, &mut links);
                self.call_links(file, index, &mut links);
                links
            })
            .collect();
        let mut links = Links::default();
        for file_links in per_file {
            links.extend(file_links);
        }
        links
    }

    /// Routes and middleware one file declares by decorator (`@router.get(...)`,
    /// `@app.middleware("http")`).
    fn decorator_links(&self, file: FileId, index: &RouterIndex, links: &mut Links) {
        let code = self.project.code(file).expect("parsed");
        for (fid, f) in code.functions.iter().enumerate() {
            let func = FnRef {
                file,
                func: fid as FnId,
            };
            let mut rate_limited = false;
            for d in &f.decorators {
                let Some(call) = d.value.as_call() else {
                    continue;
                };
                if is_rate_limit_decorator(&call.callee) {
                    rate_limited = true;
                }
            }
            for d in &f.decorators {
                let Some(call) = d.value.as_call() else {
                    continue;
                };
                let Some((base, method)) = call.callee.path.rsplit_once('.') else {
                    continue;
                };
                if method == "middleware" {
                    if let Some(slot) = index.object_of(&call.callee, base, file, code, f.parent) {
                        // The decorator runs where the function is defined: under an `if`,
                        // the middleware exists only when that branch is taken.
                        let conditional = code
                            .calls
                            .iter()
                            .any(|c| c.range == call.range && c.conditional);
                        links.middleware_slots.push(slot);
                        links.middleware.push(Middleware {
                            target: Ref {
                                path: f.qual.clone(),
                                origin: crate::audit::model::code::RefOrigin::Module,
                                instance: None,
                            },
                            call: None,
                            at: Loc {
                                file,
                                range: d.range,
                            },
                            apps: Vec::new(),
                            conditional,
                        });
                        links.entry.push(func);
                    }
                    continue;
                }
                if !ROUTE_METHODS.contains(&method) {
                    continue;
                }
                let Some(router) = index.object_of(&call.callee, base, file, code, f.parent) else {
                    continue;
                };
                let path = self.path_str(call.args.first().or_else(|| call.kwarg("path")));
                let path_known = path.is_some();
                let path = path.unwrap_or_default();
                let methods = match method {
                    "api_route" => call
                        .kwarg("methods")
                        .and_then(Value::elements)
                        .map(|m| {
                            m.iter()
                                .filter_map(Value::as_str)
                                .map(str::to_uppercase)
                                .collect()
                        })
                        .unwrap_or_else(|| vec!["GET".to_string()]),
                    "websocket" => vec!["WEBSOCKET".to_string()],
                    m => vec![m.to_uppercase()],
                };
                // Route-level `dependencies=[...]`: find the kwarg's range in the decorator.
                let mut deps = self.dependency_list(
                    file,
                    code,
                    f.parent,
                    call.kwarg("dependencies").map(|v| (v, d.range)),
                    DependencyLevel::Route,
                );
                deps.extend(self.parameter_dependencies(file, code, fid as FnId));
                links.raw_routes.push(RawRoute {
                    router,
                    methods,
                    path,
                    path_known,
                    handler: Some(func),
                    at: Loc {
                        file,
                        range: d.range,
                    },
                    deps,
                    rate_limited_by_decorator: rate_limited,
                });
                links.entry.push(func);
            }
        }
    }

    /// Includes, mounts, routes and middleware one file adds by method call
    /// (`include_router`, `mount`, `add_api_route`, `add_route`, `add_middleware`).
    fn call_links(&self, file: FileId, index: &RouterIndex, links: &mut Links) {
        let project = self.project;
        let code = project.code(file).expect("parsed");
        let slot_of = |r: &Ref, file: FileId, code: &CodeFile, func: Option<FnId>| {
            index.slot_of(r, file, code, func)
        };
        for (call_index, call) in code.calls.iter().enumerate() {
            let Some((base, method)) = call.callee.path.rsplit_once('.') else {
                continue;
            };
            if !matches!(
                method,
                "include_router" | "add_api_route" | "add_middleware" | "mount" | "add_route"
            ) {
                continue;
            }
            let Some(parent) = index.object_of(&call.callee, base, file, code, call.func) else {
                continue;
            };
            let call_ref = CallRef {
                file,
                index: call_index as u32,
            };
            match method {
                "include_router" | "mount" => {
                    let child_pos = if method == "mount" { 1 } else { 0 };
                    let child_name = if method == "mount" { "app" } else { "router" };
                    let child_value = call.arg(child_pos, child_name);
                    // A router object, a parameter, or what a factory of the service returns
                    // (`app.include_router(create_v1_router(deps))`, or its result bound to
                    // a name first).
                    let children: Vec<Slot> = match child_value {
                        Some(Value::Ref(r)) => match index.slot_of(r, file, code, call.func) {
                            Some(s) => vec![s],
                            None => r
                                .instance
                                .as_deref()
                                .map(|i| {
                                    returned_slots(
                                        project,
                                        self.service,
                                        &instance_callee(r, i),
                                        &slot_of,
                                        0,
                                    )
                                })
                                .unwrap_or_default(),
                        },
                        Some(Value::Call(c)) => {
                            returned_slots(project, self.service, &c.callee, &slot_of, 0)
                        }
                        _ => Vec::new(),
                    };
                    let prefix_value = if method == "mount" {
                        call.arg(0, "path")
                    } else {
                        call.kwarg("prefix").map(|k| &k.value)
                    };
                    let prefix = self.path_str(prefix_value).unwrap_or_default();
                    let deps = self.dependency_list(
                        file,
                        code,
                        call.func,
                        call.kwarg("dependencies").map(|k| (&k.value, k.range)),
                        DependencyLevel::Include,
                    );
                    match children.as_slice() {
                        [_, ..] => {
                            links
                                .includes
                                .extend(children.iter().map(|&child| SlotInclude {
                                    parent,
                                    child,
                                    prefix: prefix.clone(),
                                    deps: deps.clone(),
                                }))
                        }
                        // A router built by a call (`fastapi_users.get_auth_router(...)`) is a
                        // library's own; a name or subscript the audit cannot follow is one of
                        // the service's routers, mounted indirectly.
                        [] if method == "include_router"
                            && child_value.is_some_and(|v| v.as_call().is_none()) =>
                        {
                            links.open_includes.push(OpenInclude {
                                parent,
                                prefix,
                                deps,
                            })
                        }
                        [] => {}
                    }
                }
                "add_api_route" | "add_route" => {
                    let literal_path = self.path_str(call.arg(0, "path"));
                    let path_known = literal_path.is_some();
                    let path = literal_path.clone().unwrap_or_default();
                    let handler = call
                        .arg(1, "endpoint")
                        .and_then(Value::as_name)
                        .and_then(|r| project.resolve_function(self.service, r));
                    // Registered at run time from data (`for r in config.routes:
                    // app.add_api_route(r.path, pick(r))`): no path, no handler to judge.
                    if literal_path.is_none() && handler.is_none() {
                        continue;
                    }
                    let methods = call
                        .kwarg("methods")
                        .and_then(|k| k.value.elements())
                        .map(|m| {
                            m.iter()
                                .filter_map(Value::as_str)
                                .map(str::to_uppercase)
                                .collect()
                        })
                        .unwrap_or_else(|| vec!["GET".to_string()]);
                    let mut deps = self.dependency_list(
                        file,
                        code,
                        call.func,
                        call.kwarg("dependencies").map(|k| (&k.value, k.range)),
                        DependencyLevel::Route,
                    );
                    if let Some(h) = handler {
                        if let Some(hcode) = project.code(h.file) {
                            deps.extend(self.parameter_dependencies(h.file, hcode, h.func));
                        }
                        links.entry.push(h);
                    }
                    links.raw_routes.push(RawRoute {
                        router: parent,
                        methods,
                        path,
                        path_known,
                        handler,
                        at: Loc {
                            file,
                            range: call.range,
                        },
                        deps,
                        rate_limited_by_decorator: false,
                    });
                }
                "add_middleware" => {
                    if let Some(target) = call.args.first().and_then(|a| a.value.as_name()) {
                        links.middleware_slots.push(parent);
                        links.middleware.push(Middleware {
                            target: target.clone(),
                            call: Some(call_ref),
                            at: Loc {
                                file,
                                range: call.range,
                            },
                            apps: Vec::new(),
                            conditional: call.conditional,
                        });
                    }
                }
                _ => {}
            }
        }
    }

    /// Routes and middleware given to the constructors, after those written in code (the
    /// order the model keeps):
    /// `FastAPI(routes=[APIRoute("/v2/health/live", endpoints.live), ...])`, in a list that
    /// may be built up in code first, and `FastAPI(middleware=[Middleware(Cls, ...)])`.
    fn constructor_links(&self, routers: &[RouterObj], links: &mut Links) {
        let project = self.project;
        for (i, r) in routers.iter().enumerate() {
            let call = project.call(r.call);
            let Some(k) = call.kwarg("routes") else {
                continue;
            };
            let code = project.code(r.call.file).expect("parsed");
            for item in self.list_calls(r.call.file, code, call.func, &k.value, k.range) {
                if let Some(raw) = self.constructed_route(&item, Slot::Known(i)) {
                    if let Some(h) = raw.handler {
                        links.entry.push(h);
                    }
                    links.raw_routes.push(raw);
                }
            }
        }
        for (i, r) in routers.iter().enumerate().filter(|(_, r)| r.is_app) {
            let call = project.call(r.call);
            if let Some(list) = call.kwarg("middleware").and_then(|k| k.value.elements()) {
                for m in list {
                    if let Some(c) = m.as_call()
                        && let Some(target) = c.args.first().and_then(Value::as_name)
                    {
                        links.middleware_slots.push(Slot::Known(i));
                        links.middleware.push(Middleware {
                            target: target.clone(),
                            call: None,
                            at: Loc {
                                file: r.call.file,
                                range: c.range,
                            },
                            apps: Vec::new(),
                            conditional: false,
                        });
                    }
                }
            }
        }
    }

    /// The apps, in source order, with their lifespan and startup hooks; numbers each app
    /// object (`app_index`), which include resolution and route expansion then read.
    fn apps(&self, routers: &mut [RouterObj], files: &[FileId]) -> Vec<HttpApp> {
        let project = self.project;
        let mut apps = Vec::new();
        for r in routers.iter_mut().filter(|r| r.is_app) {
            r.app_index = Some(apps.len());
            let call = project.call(r.call);
            let lifespan_value = call.kwarg("lifespan").map(|k| &k.value);
            // `lifespan = make_lifespan(...)`, then `FastAPI(lifespan=lifespan)`: the value
            // assigned to the name (langflow-base), read like the value written in place.
            let assigned = lifespan_value.and_then(Value::as_name).and_then(|l| {
                match project.resolve(self.service, l)? {
                    Symbol::Assign { file, index } => project
                        .code(file)
                        .map(|code| &code.assigns[index as usize].value),
                    _ => None,
                }
            });
            let lifespan_value = assigned.or(lifespan_value);
            let mut lifespan: Vec<FnRef> = lifespan_value
                .and_then(Value::as_name)
                .and_then(|l| project.resolve_function(self.service, l))
                .into_iter()
                .collect();
            // `lifespan=make_lifespan(...)`: the function the factory returns.
            if let Some(factory) = lifespan_value
                .and_then(Value::as_call)
                .and_then(|c| project.resolve_function(self.service, &c.callee))
            {
                lifespan.extend(
                    project
                        .function(factory)
                        .returns
                        .iter()
                        .filter_map(|r| project.resolve_function(self.service, r)),
                );
            }
            lifespan.extend(startup_hooks(project, files, &r.key));
            apps.push(HttpApp {
                name: r.key.clone(),
                call: r.call,
                at: r.at,
                lifespan,
                mounted_in: Vec::new(),
            });
        }
        apps
    }

    /// Entry points: the handlers and middleware functions found while linking, plus the
    /// dependency functions the routes pull in, transitively; sorted. Last, because a route's
    /// dependencies are complete only once its include chains are expanded.
    fn entry_points(&self, routes: &[Route], mut entry: Vec<FnRef>) -> Vec<FnRef> {
        let project = self.project;
        for r in routes {
            for d in &r.dependencies {
                if let Some(f) = project.resolve_function(self.service, &d.target) {
                    entry.push(f);
                }
            }
        }
        let mut seen: HashSet<FnRef> = HashSet::default();
        let mut queue = entry;
        let mut entry_points = Vec::new();
        while let Some(f) = queue.pop() {
            if !seen.insert(f) {
                continue;
            }
            entry_points.push(f);
            if let Some(code) = project.code(f.file) {
                for d in self.parameter_dependencies(f.file, code, f.func) {
                    if let Some(g) = project.resolve_function(self.service, &d.target) {
                        queue.push(g);
                    }
                }
            }
        }
        entry_points.sort();
        entry_points
    }
}

/// How many factories deep a returned router is followed (`make_api()` returning what
/// `make_v1()` returned).
const FACTORY_HOPS: u32 = 3;

/// The name to resolve for a reference bound to a call's result: `make_router()` for
/// `r = make_router()`.
fn instance_callee(r: &Ref, instance: &str) -> Ref {
    Ref {
        path: instance.trim_end_matches("()").into(),
        origin: if r.origin == RefOrigin::Unknown {
            RefOrigin::Unknown
        } else {
            RefOrigin::Import
        },
        instance: None,
    }
}

type SlotOf<'a> = dyn Fn(&Ref, FileId, &CodeFile, Option<FnId>) -> Option<Slot> + 'a;

/// The routers (or router parameters) a factory function of the service returns: each name
/// in its `return` statements that is a router object or one of its parameters, or the result
/// of another factory.
fn returned_slots(
    project: &Project,
    service: &Service,
    callee: &Ref,
    slot_of: &SlotOf,
    depth: u32,
) -> Vec<Slot> {
    if depth > FACTORY_HOPS {
        return Vec::new();
    }
    let Some(f) = project.resolve_function(service, callee) else {
        return Vec::new();
    };
    let Some(code) = project.code(f.file) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for ret in &code.function(f.func).returns {
        match slot_of(ret, f.file, code, Some(f.func)) {
            Some(s) => out.push(s),
            None => {
                if let Some(i) = ret.instance.as_deref() {
                    out.extend(returned_slots(
                        project,
                        service,
                        &instance_callee(ret, i),
                        slot_of,
                        depth + 1,
                    ));
                }
            }
        }
    }
    out.sort_by_key(|s| match s {
        Slot::Known(i) => (0, *i, 0, 0),
        Slot::Param(f, i) => (1, f.file as usize, f.func as usize, *i as usize),
    });
    out.dedup();
    out
}

/// A way from a router up to an app: (app index, accumulated prefix, dependencies, whether
/// an inferred include is on the way).
type Chain = (Option<usize>, String, Vec<Dependency>, bool);

/// Every way `router` is reachable from an app.
fn chains_to_apps(
    routers: &[RouterObj],
    includes: &[Include],
    parents_of: &HashMap<usize, Vec<usize>>,
    router: usize,
) -> Vec<Chain> {
    let mut out = Vec::new();
    let mut stack = vec![(router, String::new(), Vec::new(), vec![router], false)];
    while let Some((r, suffix, deps, visited, inferred)) = stack.pop() {
        let obj = &routers[r];
        // Own prefix and dependencies apply inside any include prefix.
        let own = join_paths(&obj.prefix, &suffix);
        let mut own_deps = obj.deps.clone();
        own_deps.extend(deps.iter().cloned());
        if obj.is_app {
            out.push((obj.app_index, own, own_deps, inferred));
            continue;
        }
        let parents = parents_of.get(&r).map_or(&[][..], Vec::as_slice);
        if parents.is_empty() {
            out.push((None, own, own_deps, inferred));
            continue;
        }
        for &i in parents {
            let inc = &includes[i];
            if visited.contains(&inc.parent) || visited.len() > 16 {
                continue;
            }
            let mut d = inc.deps.clone();
            d.extend(own_deps.iter().cloned());
            let mut v = visited.clone();
            v.push(inc.parent);
            stack.push((
                inc.parent,
                join_paths(&inc.prefix, &own),
                d,
                v,
                inferred || inc.inferred,
            ));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    out
}

/// The parameter a bare name refers to, in the function `func` or one around it.
fn param_slot(code: &CodeFile, file: FileId, mut func: Option<FnId>, r: &Ref) -> Option<Slot> {
    if r.origin != RefOrigin::Unknown || r.path.contains('.') {
        return None;
    }
    while let Some(id) = func {
        let f = code.function(id);
        if let Some(i) = f.params.iter().position(|p| *p.name == *r.path) {
            return Some(Slot::Param(FnRef { file, func: id }, i as u32));
        }
        func = f.parent;
    }
    None
}

/// What each app or router parameter stands for: the router objects its callers pass in.
struct ParamBindings {
    bound: HashMap<(FnRef, u32), Vec<usize>>,
    /// `0..routers.len()`, so that a known slot answers with a slice of itself.
    identity: Vec<usize>,
}

/// How many callers deep a parameter is followed (`main -> create_app(app) -> setup(app)`).
const PARAM_HOPS: usize = 4;

impl ParamBindings {
    #[allow(clippy::too_many_arguments)]
    fn resolve(
        project: &Project,
        service: &Service,
        files: &[FileId],
        raw_routes: &[RawRoute],
        includes: &[SlotInclude],
        open_includes: &[OpenInclude],
        find_router: &dyn Fn(&Ref) -> Option<usize>,
        apps: &[usize],
        router_count: usize,
        memo: &ClassMemo,
    ) -> ParamBindings {
        let mut wanted: HashSet<(FnRef, u32)> = HashSet::default();
        let mut note = |s: Slot| {
            if let Slot::Param(f, i) = s {
                wanted.insert((f, i));
            }
        };
        raw_routes.iter().for_each(|r| note(r.router));
        for inc in includes {
            note(inc.parent);
            note(inc.child);
        }
        open_includes.iter().for_each(|o| note(o.parent));

        // Edges from a parameter to what callers pass for it, found hop by hop: a caller may
        // itself pass on one of its own parameters.
        let mut edges: HashMap<(FnRef, u32), Vec<Slot>> = HashMap::default();
        let mut frontier: Vec<(FnRef, u32)> = wanted.iter().copied().collect();
        for _ in 0..PARAM_HOPS {
            if frontier.is_empty() {
                break;
            }
            let found = call_site_arguments(project, service, files, &frontier, find_router);
            frontier.clear();
            for (param, slots) in found {
                for s in &slots {
                    if let Slot::Param(f, i) = *s
                        && !edges.contains_key(&(f, i))
                        && !frontier.contains(&(f, i))
                    {
                        frontier.push((f, i));
                    }
                }
                edges.entry(param).or_default().extend(slots);
            }
            frontier.retain(|p| !edges.contains_key(p) && !wanted.contains(p));
            wanted.extend(frontier.iter().copied());
        }

        let mut bound = HashMap::default();
        for &param in &wanted {
            let mut out = Vec::new();
            let mut seen = HashSet::default();
            collect_targets(param, &edges, &mut seen, &mut out);
            if out.is_empty() && apps.len() == 1 && annotated_as_app(project, service, param, memo)
            {
                // No caller in sight (a plugin hook, a framework callback), but the parameter
                // is typed as an app and the service has one.
                out.push(apps[0]);
            }
            out.sort_unstable();
            out.dedup();
            bound.insert(param, out);
        }
        ParamBindings {
            bound,
            identity: (0..router_count).collect(),
        }
    }

    /// The router objects a slot stands for; empty when none could be found.
    fn targets(&self, slot: Slot) -> &[usize] {
        match slot {
            Slot::Known(i) => &self.identity[i..=i],
            Slot::Param(f, i) => self.bound.get(&(f, i)).map_or(&[], Vec::as_slice),
        }
    }
}

fn collect_targets(
    param: (FnRef, u32),
    edges: &HashMap<(FnRef, u32), Vec<Slot>>,
    seen: &mut HashSet<(FnRef, u32)>,
    out: &mut Vec<usize>,
) {
    if !seen.insert(param) {
        return;
    }
    for s in edges.get(&param).map_or(&[][..], Vec::as_slice) {
        match *s {
            Slot::Known(i) => out.push(i),
            Slot::Param(f, i) => collect_targets((f, i), edges, seen, out),
        }
    }
}

fn annotated_as_app(
    project: &Project,
    service: &Service,
    param: (FnRef, u32),
    memo: &ClassMemo,
) -> bool {
    let Some(code) = project.code(param.0.file) else {
        return false;
    };
    let p = &code.function(param.0.func).params[param.1 as usize];
    p.annotation
        .as_ref()
        .and_then(Value::as_name)
        .is_some_and(|r| memo.kinds(project, service, r).0)
}

/// For each wanted parameter, what the service's calls of its function pass for it.
fn call_site_arguments(
    project: &Project,
    service: &Service,
    files: &[FileId],
    wanted: &[(FnRef, u32)],
    find_router: &dyn Fn(&Ref) -> Option<usize>,
) -> Vec<((FnRef, u32), Vec<Slot>)> {
    // Calls are matched by the function's name first: resolving every call of a large service
    // would cost more than the whole link step.
    let mut by_name: HashMap<&str, Vec<(FnRef, u32)>> = HashMap::default();
    for &(f, i) in wanted {
        if let Some(code) = project.code(f.file) {
            by_name
                .entry(&code.function(f.func).name)
                .or_default()
                .push((f, i));
        }
    }
    let mut out: HashMap<(FnRef, u32), Vec<Slot>> = HashMap::default();
    for &file in files {
        let Some(code) = project.code(file) else {
            continue;
        };
        for call in &code.calls {
            let path = call.callee.path.trim_end_matches("()");
            let last = path.rsplit('.').next().unwrap_or(path);
            let Some(candidates) = by_name.get(last) else {
                continue;
            };
            let Some(target) = project.resolve_function(service, &call.callee) else {
                continue;
            };
            for &(f, i) in candidates.iter().filter(|(f, _)| *f == target) {
                let Some(fcode) = project.code(f.file) else {
                    continue;
                };
                let func = fcode.function(f.func);
                let param = &func.params[i as usize];
                // A method called through its instance does not pass `self`.
                let skip = usize::from(
                    func.class.is_some()
                        && func
                            .params
                            .first()
                            .is_some_and(|p| matches!(&*p.name, "self" | "cls")),
                );
                let value = call.kwarg(&param.name).map(|k| &k.value).or_else(|| {
                    (i as usize)
                        .checked_sub(skip)
                        .and_then(|pos| call.args.get(pos))
                        .map(|a| &a.value)
                });
                let Some(r) = value.and_then(Value::as_name) else {
                    continue;
                };
                let slot = find_router(r)
                    .map(Slot::Known)
                    .or_else(|| param_slot(code, file, call.func, r));
                if let Some(slot) = slot {
                    out.entry((f, i)).or_default().push(slot);
                }
            }
        }
    }
    let mut out: Vec<_> = out.into_iter().collect();
    out.sort_by_key(|((f, i), _)| (*f, *i));
    out
}

/// The apps each middleware sees requests of: the app it was added to, and the apps mounted
/// below it (`app.mount("/api", api_app)`: the outer app's middleware wraps the sub-app; the
/// sub-app's middleware does not wrap the outer app).
fn middleware_apps(
    routers: &[RouterObj],
    includes: &[Include],
    params: &ParamBindings,
    slots: &[Slot],
    middleware: &mut [Middleware],
) {
    let mut mounted: HashMap<usize, Vec<usize>> = HashMap::default();
    for inc in includes {
        if routers[inc.parent].is_app && routers[inc.child].is_app {
            mounted.entry(inc.parent).or_default().push(inc.child);
        }
    }
    for (m, &slot) in middleware.iter_mut().zip(slots) {
        let mut stack: Vec<usize> = params.targets(slot).to_vec();
        let mut seen = HashSet::default();
        while let Some(r) = stack.pop() {
            if !seen.insert(r) {
                continue;
            }
            if let Some(app) = routers[r].app_index {
                m.apps.push(app);
            }
            stack.extend(mounted.get(&r).into_iter().flatten().copied());
        }
        m.apps.sort_unstable();
        m.apps.dedup();
    }
}

/// Routers the audit saw no include for, in a service that includes routers it could not
/// follow: take them to be mounted there. One open include lends them its prefix and
/// dependencies; several, only their parent (which prefix went with which is unknown).
fn adopt_orphans(
    routers: &[RouterObj],
    raw_routes: &[RawRoute],
    params: &ParamBindings,
    open_includes: &[OpenInclude],
    includes: &mut Vec<Include>,
) {
    if open_includes.is_empty() {
        return;
    }
    let mut has_parent: HashSet<usize> = includes.iter().map(|i| i.child).collect();
    let mut with_routes: Vec<usize> = raw_routes
        .iter()
        .flat_map(|r| params.targets(r.router).iter().copied())
        .filter(|&i| !routers[i].is_app)
        .collect();
    // A router that only includes others counts too.
    with_routes.extend(
        includes
            .iter()
            .map(|i| i.parent)
            .filter(|&i| !routers[i].is_app),
    );
    with_routes.sort_unstable();
    with_routes.dedup();
    let parents: Vec<(usize, &OpenInclude)> = open_includes
        .iter()
        .flat_map(|o| params.targets(o.parent).iter().map(move |&p| (p, o)))
        .collect();
    let single = parents.len() == 1;
    // Each orphan is adopted once, by the first open include: which of several it goes
    // through is unknown, and adopting it into every one multiplies its routes (and their
    // findings) by the number of open includes at every level.
    let Some(&(parent, open)) = parents.first() else {
        return;
    };
    for orphan in with_routes {
        if has_parent.contains(&orphan) || orphan == parent {
            continue;
        }
        has_parent.insert(orphan);
        includes.push(Include {
            parent,
            child: orphan,
            prefix: if single {
                open.prefix.clone()
            } else {
                String::new()
            },
            deps: if single {
                open.deps.clone()
            } else {
                Vec::new()
            },
            inferred: true,
        });
    }
}

/// Whether `class_ref` is one of the app classes or a class of the service derived from one
/// (`class PrefectRouter(APIRouter)`), and the same for router classes; bases are followed
/// three levels deep. Each class's bases are looked at once per depth (`memo`): linking a
/// large service asks this of thousands of callees whose classes share a few bases.
fn app_or_router_class(
    project: &Project,
    service: &Service,
    class_ref: &Ref,
    depth: u32,
    memo: &BasesMemo,
) -> (bool, bool) {
    let mut kinds = (
        class_ref.is_any(APP_CLASSES),
        class_ref.is_any(ROUTER_CLASSES),
    );
    if (kinds.0 && kinds.1)
        || depth > 3
        || class_ref.origin == crate::audit::model::code::RefOrigin::Unknown
    {
        return kinds;
    }
    if let Some(Symbol::Class { file, index }) = project.resolve(service, class_ref) {
        let known = memo
            .lock()
            .expect("memo lock")
            .get(&(file, index, depth))
            .copied();
        let from_bases = match known {
            Some(found) => found,
            None => {
                let mut found = (false, false);
                if let Some(code) = project.code(file) {
                    for base in &code.classes[index as usize].bases {
                        let b = app_or_router_class(project, service, base, depth + 1, memo);
                        found = (found.0 || b.0, found.1 || b.1);
                    }
                }
                memo.lock()
                    .expect("memo lock")
                    .insert((file, index, depth), found);
                found
            }
        };
        kinds = (kinds.0 || from_bases.0, kinds.1 || from_bases.1);
    }
    kinds
}

fn join_paths(prefix: &str, path: &str) -> String {
    let p = prefix.trim_end_matches('/');
    if path.is_empty() {
        return if p.is_empty() {
            String::new()
        } else {
            p.to_string()
        };
    }
    if path.starts_with('/') {
        format!("{p}{path}")
    } else {
        format!("{p}/{path}")
    }
}

fn is_rate_limit_decorator(callee: &Ref) -> bool {
    // slowapi: `@limiter.limit("5/minute")`; anything named like a limiter.
    callee.in_module("slowapi") || names_a_limiter(&callee.path)
}

/// The object and attribute a path ends with (`limiter.limit`, `deps.rate_limit`) name a
/// limiter. Only the tail counts: a module or directory name (`svc_throttling.app`) does not.
fn names_a_limiter(path: &str) -> bool {
    let path = path.trim_end_matches("()");
    let tail = match path.rmatch_indices('.').nth(1) {
        Some((i, _)) => &path[i + 1..],
        None => path,
    };
    let lower = tail.to_ascii_lowercase();
    RATE_LIMIT_WORDS.iter().any(|w| lower.contains(w))
}

/// How many steps a dependency list is followed through names, branches and callers.
const MAX_LIST_HOPS: u32 = 6;

/// Where a dependency list (or a part of it) is written.
#[derive(Clone, Copy)]
struct ListSite<'c> {
    file: FileId,
    code: &'c CodeFile,
    func: Option<FnId>,
    at: Option<Loc>,
}

/// A call found in a list built in code: where it is written, and, when the list was
/// reached through a name, the argument that named it.
struct ListCall {
    call: crate::audit::model::code::CallValue,
    own: Loc,
    followed: Option<Loc>,
    /// Found in one branch of a conditional whose other branch is an empty list or None.
    conditional: bool,
}

/// A call site: its file and enclosing function.
struct CallerAt {
    file: FileId,
    func: Option<FnId>,
}

struct Linker<'a> {
    project: &'a Project,
    service: &'a Service,
    options: &'a ModelOptions,
}

impl<'p> Linker<'p> {
    /// `APIRoute(path, endpoint, methods=[...], dependencies=[...])` (or Starlette's `Route`,
    /// `WebSocketRoute`, or a class of the service named like them) found in a `routes=` list.
    fn constructed_route(&self, item: &ListCall, router: Slot) -> Option<RawRoute> {
        let c = &item.call;
        let class = c.callee.last();
        if !class.ends_with("Route") {
            return None;
        }
        let websocket = class.contains("WebSocket");
        let path = self.path_str(c.args.first().or_else(|| c.kwarg("path")));
        let handler = c
            .args
            .get(1)
            .or_else(|| c.kwarg("endpoint"))
            .and_then(Value::as_name)
            .and_then(|r| self.project.resolve_function(self.service, r));
        if path.is_none() && handler.is_none() {
            return None;
        }
        let methods = if websocket {
            vec!["WEBSOCKET".to_string()]
        } else {
            c.kwarg("methods")
                .and_then(Value::elements)
                .map(|m| {
                    m.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_uppercase)
                        .collect()
                })
                .unwrap_or_else(|| vec!["GET".to_string()])
        };
        let file = item.own.file;
        let code = self.project.code(file)?;
        let mut deps = self.dependency_list(
            file,
            code,
            None,
            c.kwarg("dependencies").map(|v| (v, c.range)),
            DependencyLevel::Route,
        );
        if let Some(h) = handler
            && let Some(hcode) = self.project.code(h.file)
        {
            deps.extend(self.parameter_dependencies(h.file, hcode, h.func));
        }
        Some(RawRoute {
            router,
            methods,
            path_known: path.is_some(),
            path: path.unwrap_or_default(),
            handler,
            at: item.own,
            deps,
            rate_limited_by_decorator: false,
        })
    }

    /// A route path or prefix: a string literal, or a name bound to one at module level
    /// somewhere in the service (`HEALTH = "/health"`, imported), followed through aliases.
    fn path_str(&self, value: Option<&Value>) -> Option<String> {
        self.path_text(value?, 3)
    }

    /// A literal path, a module constant holding one (followed `hops` names deep), or
    /// constants joined with `+` (`API + VERSION_1 + WEBHOOKS`).
    fn path_text(&self, value: &Value, hops: u8) -> Option<String> {
        match value {
            Value::Str(s) => Some(s.to_string()),
            Value::Concat(parts) => parts.iter().map(|p| self.path_text(p, hops)).collect(),
            Value::Ref(r) if r.origin != RefOrigin::Unknown && hops > 0 => {
                let Some(Symbol::Assign { file, index }) = self.project.resolve(self.service, r)
                else {
                    return None;
                };
                let a = &self.project.code(file)?.assigns[index as usize];
                if a.scope != Scope::Module {
                    return None;
                }
                self.path_text(&a.value, hops - 1)
            }
            _ => None,
        }
    }

    /// Dependencies in a `dependencies=[...]` list written in `file`, in the function `func`
    /// (None at module level).
    ///
    /// The list may be built elsewhere and is followed a few steps: a module-level or local
    /// name (`dependencies=AUTH_DEPS`, `deps = [...]` then `deps.append(Depends(x))`),
    /// `list(x)` / `tuple(x)`, a parameter of `func` (what its callers pass:
    /// `create_router(deps=[Depends(auth)])`), and each branch of a conditional
    /// (`[Depends(auth)] if settings.auth else []`, an if/else assignment, an append under an
    /// `if`). Branches are united; what only a branch adds against an empty alternative
    /// (`[Depends(auth)] if key else []`, an append under an `if`) is marked
    /// [`Dependency::conditional`], so that rules can say the route is open unless configured.
    fn dependency_list(
        &self,
        file: FileId,
        code: &CodeFile,
        func: Option<FnId>,
        list: Option<(&Value, TextRange)>,
        level: DependencyLevel,
    ) -> Vec<Dependency> {
        let Some((value, range)) = list else {
            return Vec::new();
        };
        let site = ListSite {
            file,
            code,
            func,
            at: None,
        };
        let mut items = Vec::new();
        self.collect_list_calls(value, &site, range, 0, &mut items);
        items
            .into_iter()
            .filter_map(|item| {
                let at = item.followed.unwrap_or(item.own);
                let mut dependency = self.dependency_of(&item.call, None, level, at)?;
                dependency.conditional = item.conditional;
                Some(dependency)
            })
            .collect()
    }

    /// The calls a list built in code holds (`routes=[APIRoute(...), ...]`), followed like a
    /// dependency list (see [`Self::dependency_list`]).
    fn list_calls(
        &self,
        file: FileId,
        code: &CodeFile,
        func: Option<FnId>,
        value: &Value,
        range: TextRange,
    ) -> Vec<ListCall> {
        let site = ListSite {
            file,
            code,
            func,
            at: None,
        };
        let mut items = Vec::new();
        self.collect_list_calls(value, &site, range, 0, &mut items);
        items
    }

    /// One step of [`Self::dependency_list`]. `site.at`: the `dependencies=` (or `routes=`)
    /// argument that names the list, once a name was followed.
    fn collect_list_calls(
        &self,
        value: &Value,
        site: &ListSite,
        range: TextRange,
        depth: u32,
        out: &mut Vec<ListCall>,
    ) {
        if depth > MAX_LIST_HOPS {
            return;
        }
        let found = |c: &crate::audit::model::code::CallValue| ListCall {
            call: c.clone(),
            own: Loc {
                file: site.file,
                range: c.range,
            },
            followed: site.at,
            conditional: false,
        };
        let followed = ListSite {
            at: Some(site.at.unwrap_or(Loc {
                file: site.file,
                range,
            })),
            ..*site
        };
        match value {
            Value::List(items) | Value::Tuple(items) | Value::Set(items) => {
                for item in items {
                    match item.as_call() {
                        Some(c) => out.push(found(c)),
                        None => self.collect_list_calls(item, site, range, depth + 1, out),
                    }
                }
            }
            Value::Either(branches) => {
                // `[Depends(auth)] if key else []`: a literal list beside an empty one runs
                // only when the test holds. `deps or []` is a fallback for a missing
                // argument, not a switch: the name's own value is followed as usual.
                let has_empty = branches
                    .iter()
                    .any(|b| b.is_none() || b.elements().is_some_and(<[Value]>::is_empty));
                for b in branches {
                    let start = out.len();
                    self.collect_list_calls(b, site, range, depth + 1, out);
                    if has_empty && b.elements().is_some_and(|e| !e.is_empty()) {
                        out[start..].iter_mut().for_each(|c| c.conditional = true);
                    }
                }
            }
            Value::Call(c)
                if c.callee.origin == RefOrigin::Builtin
                    && matches!(&*c.callee.path, "list" | "tuple")
                    && c.args.len() == 1 =>
            {
                self.collect_list_calls(&c.args[0], site, range, depth + 1, out);
            }
            // A helper of the service that builds the list (`dependencies=_init_auth(store)`
            // with `deps = []; if auth: deps.append(Depends(auth)); return deps`): the names
            // it returns, in its own function.
            Value::Call(c) if self.list_builder(c).is_some() => {
                let Some((target, tcode)) = self.list_builder(c) else {
                    return;
                };
                let inner = ListSite {
                    file: target.file,
                    code: tcode,
                    func: Some(target.func),
                    at: followed.at,
                };
                for ret in &tcode.function(target.func).returns {
                    self.collect_named_list(ret, &inner, range, depth + 1, out);
                }
            }
            // A single `Depends(x)` appended or passed on its own.
            Value::Call(c) => out.push(found(c)),
            Value::Ref(r) => self.collect_named_list(r, &followed, range, depth, out),
            _ => {}
        }
    }

    /// The function of the service a call runs, when it returns names (a list it built) and
    /// is not a dependency marker itself.
    fn list_builder(
        &self,
        c: &crate::audit::model::code::CallValue,
    ) -> Option<(FnRef, &'p CodeFile)> {
        if c.callee.origin == RefOrigin::Unknown {
            return None;
        }
        let target = self.project.resolve_function(self.service, &c.callee)?;
        let code = self.project.code(target.file)?;
        (!code.function(target.func).returns.is_empty()).then_some((target, code))
    }

    /// The list a name stands for: a local of the function (every assignment to it, and what
    /// is appended to it), a parameter (what callers pass), or a name resolved elsewhere.
    fn collect_named_list(
        &self,
        r: &Ref,
        site: &ListSite,
        range: TextRange,
        depth: u32,
        out: &mut Vec<ListCall>,
    ) {
        let code = site.code;
        // A local name: unresolved (a list literal, a parameter), or bound to a call's result
        // (`deps = list(BASE_DEPS)`), which the front end qualifies by its function.
        let local = match r.origin {
            RefOrigin::Unknown if !r.path.contains('.') => Some(&*r.path),
            RefOrigin::Local => r.path.rsplit_once('.').map(|(_, n)| n),
            _ => None,
        };
        if let Some(name) = local {
            let mut func = site.func;
            while let Some(id) = func {
                let f = code.function(id);
                if let Some(i) = f.params.iter().position(|p| *p.name == *name) {
                    for (caller, value) in self.call_site_values(
                        FnRef {
                            file: site.file,
                            func: id,
                        },
                        i,
                    ) {
                        let Some(ccode) = self.project.code(caller.file) else {
                            continue;
                        };
                        let at = ListSite {
                            file: caller.file,
                            code: ccode,
                            func: caller.func,
                            at: site.at,
                        };
                        self.collect_list_calls(&value, &at, range, depth + 1, out);
                    }
                    return;
                }
                let assigned: Vec<&Value> = code
                    .assigns
                    .iter()
                    .chain(&code.extends)
                    .filter(|a| a.scope == Scope::Function(id) && *a.target == *name)
                    .map(|a| &a.value)
                    .collect();
                if !assigned.is_empty() {
                    let inner = ListSite {
                        func: Some(id),
                        ..*site
                    };
                    for v in assigned {
                        self.collect_list_calls(v, &inner, range, depth + 1, out);
                    }
                    let qualified = format!("{}.{name}", f.qual);
                    for base in [name, qualified.as_str()] {
                        self.collect_appended(base, Some(id), &inner, range, depth, out);
                    }
                    return;
                }
                func = f.parent;
            }
            return;
        }
        // A name resolved elsewhere (`dependencies=AUTH_DEPS`): its value, in its own file.
        if let Some(Symbol::Assign { file: f, index }) = self.project.resolve(self.service, r)
            && let Some(acode) = self.project.code(f)
        {
            let a = &acode.assigns[index as usize];
            let func = match a.scope {
                Scope::Function(id) => Some(id),
                _ => None,
            };
            let inner = ListSite {
                file: f,
                code: acode,
                func,
                at: site.at,
            };
            self.collect_list_calls(&a.value, &inner, range, depth + 1, out);
            if func.is_none() {
                for grown in acode
                    .extends
                    .iter()
                    .filter(|e| e.scope == Scope::Module && e.target == a.target)
                {
                    self.collect_list_calls(&grown.value, &inner, range, depth + 1, out);
                }
                let qualified = format!("{}.{}", acode.module, a.target);
                self.collect_appended(&qualified, None, &inner, range, depth, out);
            }
        }
    }

    /// `name.append(Depends(x))` / `name.extend([...])` in the function `func` (or at module
    /// level), each under whatever condition it sits.
    #[allow(clippy::too_many_arguments)]
    fn collect_appended(
        &self,
        name: &str,
        func: Option<FnId>,
        site: &ListSite,
        range: TextRange,
        depth: u32,
        out: &mut Vec<ListCall>,
    ) {
        for call in &site.code.calls {
            if call.func != func {
                continue;
            }
            let Some((base, method)) = call.callee.path.rsplit_once('.') else {
                continue;
            };
            if base != name || !matches!(method, "append" | "extend" | "insert") {
                continue;
            }
            let pos = usize::from(method == "insert");
            if let Some(arg) = call.args.get(pos) {
                let start = out.len();
                self.collect_list_calls(&arg.value, site, range, depth + 1, out);
                // `if auth_enabled: deps.append(Depends(auth))`: only when configured so.
                if call.conditional {
                    out[start..].iter_mut().for_each(|c| c.conditional = true);
                }
            }
        }
    }

    /// What the service's calls of `f` pass for its parameter `index`: (the caller, the value).
    fn call_site_values(&self, f: FnRef, index: usize) -> Vec<(CallerAt, Value)> {
        let Some(fcode) = self.project.code(f.file) else {
            return Vec::new();
        };
        let func = fcode.function(f.func);
        let name = &*func.name;
        let param = &func.params[index];
        let skip = usize::from(
            func.class.is_some()
                && func
                    .params
                    .first()
                    .is_some_and(|p| matches!(&*p.name, "self" | "cls")),
        );
        let mut out = Vec::new();
        for &file in &self.service.files {
            let Some(code) = self.project.code(file) else {
                continue;
            };
            for call in &code.calls {
                if call.callee.path.trim_end_matches("()").rsplit('.').next() != Some(name) {
                    continue;
                }
                if self.project.resolve_function(self.service, &call.callee) != Some(f) {
                    continue;
                }
                let value = call.kwarg(&param.name).map(|k| &k.value).or_else(|| {
                    index
                        .checked_sub(skip)
                        .and_then(|pos| call.args.get(pos))
                        .map(|a| &a.value)
                });
                if let Some(v) = value {
                    out.push((
                        CallerAt {
                            file,
                            func: call.func,
                        },
                        v.clone(),
                    ));
                }
            }
        }
        out
    }

    /// `Depends(x)` / `Security(x)` -> a dependency on `x`. `Depends()` with no argument
    /// depends on the parameter's annotation (`commons: Params = Depends()`).
    fn dependency_of(
        &self,
        call: &crate::audit::model::code::CallValue,
        annotation: Option<&Value>,
        level: DependencyLevel,
        at: Loc,
    ) -> Option<Dependency> {
        let is_security = call.callee.is_any(SECURITY);
        if !is_security && !call.callee.is_any(DEPENDS) {
            return None;
        }
        let target = match call.args.first().or_else(|| call.kwarg("dependency")) {
            Some(Value::Ref(r)) => r.clone(),
            Some(Value::Call(c)) => Ref {
                path: format!("{}()", c.callee.effective()).into(),
                origin: c.callee.origin,
                instance: None,
            },
            _ => match annotation {
                Some(Value::Ref(r)) => r.clone(),
                _ => return None,
            },
        };
        let is_auth = is_security || self.is_auth(&target, 0);
        let is_rate_limit = self.is_rate_limit(&target, 0);
        Some(Dependency {
            target,
            level,
            at,
            is_auth,
            is_rate_limit,
            conditional: false,
        })
    }

    /// Dependencies declared by a function's parameters (defaults and `Annotated[...]`).
    fn parameter_dependencies(&self, file: FileId, code: &CodeFile, func: FnId) -> Vec<Dependency> {
        let f = code.function(func);
        let mut out = Vec::new();
        for p in &f.params {
            let at = Loc {
                file,
                range: p.range,
            };
            if let Some(Value::Call(c)) = &p.default
                && let Some(d) =
                    self.dependency_of(c, p.annotation.as_ref(), DependencyLevel::Parameter, at)
            {
                out.push(d);
                continue;
            }
            if let Some(ann) = &p.annotation {
                for c in self.annotated_calls(ann, 0) {
                    if let Some(d) = self.dependency_of(&c, None, DependencyLevel::Parameter, at) {
                        out.push(d);
                    }
                }
            }
        }
        out
    }

    /// Calls inside `Annotated[T, Depends(x)]`, following a type alias one level.
    fn annotated_calls(&self, ann: &Value, hops: u32) -> Vec<crate::audit::model::code::CallValue> {
        match ann {
            Value::Subscript(sub) if sub.0.as_name().is_some_and(|r| r.last() == "Annotated") => {
                sub.1
                    .iter()
                    .skip(1)
                    .filter_map(|v| v.as_call().cloned())
                    .collect()
            }
            Value::Ref(r) if hops < 2 => match self.project.resolve(self.service, r) {
                Some(Symbol::Assign { file, index }) => {
                    let Some(code) = self.project.code(file) else {
                        return Vec::new();
                    };
                    let v = code.assigns[index as usize].value.clone();
                    self.annotated_calls(&v, hops + 1)
                }
                _ => Vec::new(),
            },
            _ => Vec::new(),
        }
    }

    fn is_auth(&self, target: &Ref, depth: u32) -> bool {
        self.leads_to(target, depth, 3, true, &|t| {
            self.names_auth(t) || self.acts_as_auth(t)
        })
    }

    /// Authentication by what the function does, whatever it is called
    /// (`inject_user_details`): it refuses a request with 401 or 403, or it decodes a JWT.
    fn acts_as_auth(&self, target: &Ref) -> bool {
        let lookup = Ref {
            path: target.path.trim_end_matches("()").into(),
            origin: target.origin,
            instance: None,
        };
        let Some(Symbol::Function(f)) = self.project.resolve(self.service, &lookup) else {
            return false;
        };
        let Some(code) = self.project.code(f.file) else {
            return false;
        };
        code.calls_in(f.func).any(|call| {
            let refuses = call.callee.last().ends_with("HTTPException")
                && call
                    .arg(0, "status_code")
                    .is_some_and(is_unauthorized_status);
            let decodes = matches!(
                &*call.callee.path,
                "jwt.decode" | "jose.jwt.decode" | "jwt.api_jwt.decode"
            ) || call.callee.in_module("jwt") && call.callee.last() == "decode";
            refuses || decodes
        })
    }

    /// Authentication by the name alone: a `fastapi.security` scheme, Starlette's auth, a
    /// dependency named like one, or one the configuration lists.
    fn names_auth(&self, target: &Ref) -> bool {
        if target.in_module("fastapi.security") || target.in_module("starlette.authentication") {
            return true;
        }
        let last = target
            .path
            .trim_end_matches("()")
            .rsplit('.')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        names_authentication(&last)
            || self
                .options
                .auth_dependencies
                .iter()
                .any(|a| a.as_str() == &*target.path || a.as_str() == last)
    }

    /// `target` satisfies `direct`, or leads to something that does within `max_depth`
    /// steps: a function through its parameter dependencies, an object through the call that
    /// built it, a class (when `through_bases`) through its base classes.
    fn leads_to(
        &self,
        target: &Ref,
        depth: u32,
        max_depth: u32,
        through_bases: bool,
        direct: &dyn Fn(&Ref) -> bool,
    ) -> bool {
        if direct(target) {
            return true;
        }
        if depth > max_depth {
            return false;
        }
        let next = |t: &Ref| self.leads_to(t, depth + 1, max_depth, through_bases, direct);
        let lookup = Ref {
            path: target.path.trim_end_matches("()").into(),
            origin: target.origin,
            instance: None,
        };
        match self.project.resolve(self.service, &lookup) {
            Some(Symbol::Function(f)) => self.project.code(f.file).is_some_and(|code| {
                self.parameter_dependencies_shallow(code, f.func)
                    .iter()
                    .any(next)
            }),
            Some(Symbol::Assign { file, index }) => self.project.code(file).is_some_and(|code| {
                code.assigns[index as usize]
                    .value
                    .as_call()
                    .is_some_and(|c| next(&c.callee))
            }),
            Some(Symbol::Class { file, index }) => self.project.code(file).is_some_and(|code| {
                let class = &code.classes[index as usize];
                // A class as a dependency: FastAPI calls it with its `__init__` parameters
                // (`Depends(Pagination)`), an instance with its `__call__` parameters
                // (`Depends(ProjectAdmin())`), and those may authenticate.
                let method = if target.path.ends_with("()") {
                    "__call__"
                } else {
                    "__init__"
                };
                let by_method = code
                    .functions
                    .iter()
                    .enumerate()
                    .filter(|(_, f)| &*f.name == method && f.class.as_deref() == Some(&*class.name))
                    .any(|(i, _)| {
                        self.parameter_dependencies_shallow(code, i as FnId)
                            .iter()
                            .any(next)
                    });
                by_method || (through_bases && class.bases.iter().any(next))
            }),
            _ => false,
        }
    }

    /// Targets of a function's parameter dependencies, without classifying them (avoids
    /// recursion through `dependency_of`).
    fn parameter_dependencies_shallow(&self, code: &CodeFile, func: FnId) -> Vec<Ref> {
        let mut out = Vec::new();
        for p in &code.function(func).params {
            let mut calls = Vec::new();
            if let Some(Value::Call(c)) = &p.default {
                calls.push((**c).clone());
            }
            if let Some(ann) = &p.annotation {
                calls.extend(self.annotated_calls(ann, 0));
            }
            for c in calls {
                if !c.callee.is_any(DEPENDS) && !c.callee.is_any(SECURITY) {
                    continue;
                }
                if c.callee.is_any(SECURITY) {
                    out.push(Ref {
                        path: "fastapi.security".into(),
                        origin: crate::audit::model::code::RefOrigin::Import,
                        instance: None,
                    });
                }
                match c.args.first() {
                    Some(Value::Ref(r)) => out.push(r.clone()),
                    Some(Value::Call(inner)) => out.push(inner.callee.clone()),
                    _ => {
                        if let Some(Value::Ref(r)) = &p.annotation {
                            out.push(r.clone());
                        }
                    }
                }
            }
        }
        out
    }

    fn is_rate_limit(&self, target: &Ref, depth: u32) -> bool {
        self.leads_to(target, depth, 2, false, &|t| {
            t.in_module("fastapi_limiter") || t.in_module("slowapi") || names_a_limiter(&t.path)
        })
    }
}

/// `@app.on_event("startup")` functions of the app bound to `key`.
fn startup_hooks(project: &Project, files: &[FileId], key: &str) -> Vec<FnRef> {
    let mut out = Vec::new();
    for (file, _, code) in project.code_files(files) {
        for (i, f) in code.functions.iter().enumerate() {
            let is_hook = f.decorators.iter().any(|d| {
                d.value.as_call().is_some_and(|c| {
                    c.callee.path.strip_prefix(key) == Some(".on_event")
                        && c.args.first().and_then(Value::as_str) == Some("startup")
                })
            });
            if is_hook {
                out.push(FnRef {
                    file,
                    func: i as FnId,
                });
            }
        }
    }
    out
}

/// Constructors of outbound HTTP clients and sessions.
const HTTP_CLIENT_CLASSES: &[&str] = &[
    "httpx.AsyncClient",
    "httpx.Client",
    "httpx2.AsyncClient",
    "httpx2.Client",
    "requests.Session",
    "requests.session",
    "requests.sessions.Session",
    "aiohttp.ClientSession",
];

fn find_http_clients(project: &Project, files: &[FileId]) -> Vec<crate::audit::model::HttpClient> {
    let mut out = Vec::new();
    for (file, _, code) in project.code_files(files) {
        for call in &code.calls {
            if let Some(ctor) = HTTP_CLIENT_CLASSES.iter().find(|c| call.callee.is(c)) {
                out.push(crate::audit::model::HttpClient {
                    constructor: (*ctor).to_string(),
                    at: Loc {
                        file,
                        range: call.range,
                    },
                    func: call.func.map(|func| FnRef { file, func }),
                });
            }
        }
    }
    out
}

fn find_settings(project: &Project, files: &[FileId]) -> Vec<SettingsClass> {
    let mut out = Vec::new();
    let mut names: Vec<String> = Vec::new();
    // Two rounds: direct subclasses, then subclasses of those.
    for _ in 0..2 {
        for (file, _, code) in project.code_files(files) {
            for c in &code.classes {
                let is_settings = c.bases.iter().any(|b| {
                    b.is_any(SETTINGS_BASES) || names.iter().any(|n| n.as_str() == &*b.path)
                });
                if is_settings && !names.iter().any(|n| n.as_str() == &*c.qual) {
                    names.push(c.qual.to_string());
                    out.push(SettingsClass {
                        name: c.qual.to_string(),
                        at: Loc {
                            file,
                            range: c.name_range,
                        },
                    });
                }
            }
        }
    }
    out
}

/// `def handler(event, context)` functions at module level.
fn find_lambda_handlers(project: &Project, files: &[FileId]) -> Vec<FnRef> {
    let mut out = Vec::new();
    for (file, _, code) in project.code_files(files) {
        for (i, f) in code.functions.iter().enumerate() {
            if f.parent.is_none()
                && f.class.is_none()
                && f.params.len() == 2
                && &*f.params[0].name == "event"
                && f.params[1].name.trim_start_matches('_') == "context"
            {
                out.push(FnRef {
                    file,
                    func: i as FnId,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::join_paths;

    #[test]
    fn only_the_tail_of_a_path_names_a_limiter() {
        use super::names_a_limiter;
        assert!(names_a_limiter("app.main.limiter.limit"));
        assert!(names_a_limiter("app.deps.rate_limit"));
        assert!(names_a_limiter("fastapi_limiter.depends.RateLimiter()"));
        assert!(!names_a_limiter(
            "svc_throttled.app.routers.items.router.get"
        ));
        assert!(!names_a_limiter("rate_limits_dir.app.get_user"));
    }

    #[test]
    fn paths_join_without_double_slashes() {
        assert_eq!(join_paths("/api/", "/items"), "/api/items");
        assert_eq!(join_paths("", "/items"), "/items");
        assert_eq!(join_paths("/api", ""), "/api");
        assert_eq!(join_paths("/api", "items"), "/api/items");
    }
}
