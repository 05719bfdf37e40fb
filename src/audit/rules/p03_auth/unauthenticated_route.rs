//! AU001 `unauthenticated-route`: a non-public route with no authentication.

use crate::audit::model::code::{Answers, Function, RefOrigin};
use crate::audit::model::{DependencyLevel, Mount, Route, Symbol};
use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "AU001",
    name: "unauthenticated-route",
    principle: Principle::P3,
    severity: Severity::Warning,
    kinds: HTTP_KINDS,
    reach: Reach::Services,
    help: "require an auth dependency on the route or its router (dependencies=[Depends(get_current_user)]), or list the path in public-routes",
    doc: r#"## What it does
Reports a route that no authentication dependency protects: none on the app
(`FastAPI(dependencies=...)`), on an enclosing `include_router(..., dependencies=...)`, on its
`APIRouter(dependencies=...)`, on the route decorator, nor among the handler's parameters
(`Depends(...)` / `Security(...)` defaults and `Annotated[..., Depends(...)]`). A dependency
counts as authentication when it comes from `fastapi.security`, is a `Security(...)`, or is
named like one (`get_current_user`, `verify_token`, `require_auth`, ...), directly or through
the dependencies it pulls in; `auth-dependencies` in the configuration adds names.

A `dependencies=` list is followed where it is built: a name for a list defined elsewhere, a
local list and what is added to it (`append`, `extend`, `+=`), `list(x)`, a parameter (what
the function's callers pass), a helper of the service that returns the list it built
(`FastAPI(dependencies=auth_dependencies())`), and a router returned by a factory of the service
(`app.include_router(create_v1_router(deps))`, with the `deps` of that call); `deps or []` is
a fallback for a missing argument and follows `deps`. Authentication that only a branch
switches on (`[Depends(auth)] if settings.api_key else []`, `if auth_enabled:
deps.append(Depends(auth))`, an auth middleware added or defined under an `if`) is reported
too, and the message names the switch: the route is open in every deployment that leaves the
setting unset, which is usually the default. A route served at several paths (its router
included twice, or by two apps) is reported once, at its decorator, naming the other paths.

Public routes are left alone: the root `/`; health and probes (`/health`, `/healthz`,
`/healthcheck`, `/health-check`, `/livez`, `/live`, `/readyz`, `/ready`, `/status`, `/ping`,
`/health/...`); `/metrics`; the docs (`/docs`, `/redoc`, `/openapi.json`); signing in and up
(paths ending in `/token`, `/login`, `/logout`, `/signup`, `/register`, `/password-recovery`,
`/reset-password`, `/verify-email`, and every step under `/auth/` or `/oauth/` except those
acting on the account: `/auth/me`, `/auth/password`, ...); the server's own facts a client
reads before signing in (`/version`, `/info`, `/get_info`, a version named for what it
versions: `/arize_phoenix_version`, `/server-version`; with no path parameter and not under
the account); static files served by a catch-all (`/assets/{name:path}`,
`/static/{name:path}`, or any read-only catch-all whose handler, taking no dependency,
answers with a `FileResponse`: `/copilot/{filename:path}`), a single-page app's fallback
(`/{full_path:path}`), the other paths of a read-only handler already served without
authentication at a public path (`@app.get("/")` stacked over `@app.get("/index.html")`
serves the same page at both), and what the
sign-in page loads (`GET` of `/favicon`, `/logo`, `/translations`, `/manifest`); paths with a
`webhook(s)`, `callback(s)`, `public` or `.well-known` segment; files a browser fetches without
credentials (`/favicon.ico`, `/robots.txt`, `*.js`, `*.css`, ...); and the paths listed in
`public-routes` (exact, or a prefix ending in `*`). Path parameters do not count as segments,
and a leading `get` of the last one is dropped (`/get_version`). A handler that only answers
a redirect (builtins, `RedirectResponse` and `HTTPException` are all it calls, with no
dependency) reads nothing; the route it points to is the one to protect. Neither does a
handler that works only on the exchange it is given: every call a method of its `Request` or
`Response` parameter or of a local read from them (`body = await request.json()`,
`response.set_cookie(...)`), none through `request.app` or `request.state`. Nor one that exposes nothing whatever the caller: a `HEAD` (or
`OPTIONS`) route answering a literal (`return Response()` for a client's probe: a `HEAD`
answer has no body), or a route that only refuses (`raise HTTPException(status_code=404)`
reserving a path before a catch-all), when every call is a response or `HTTPException` given
no module's object or setting and it writes no module state (a `GET` answering a literal is
a placeholder, `return {}`, and stays reported). Nor one that
answers from the caller's own input alone: with no dependency, every call it makes (its
nested functions' and, three calls deep, the service helpers' it calls, each of which calls
something) a value builtin, a response or `HTTPException`, a method of its parameters, or a
function or object of the standard library's codecs and value types (`json`, `base64`,
`uuid`, `io`, `hashlib`, `urllib.parse`, ...) or of a QR-code renderer (`qrcode`,
`pyqrcode`, `segno`), one of them given a parameter (`GET /qrcode/{data}` answering
`pyqrcode.create(data)`). Its `Request` counts as input (`request.url`), but nothing reached
through `request.app` or `request.state`, and no call may be given a module's object,
setting or table (`json.dumps(CONFIG)`, `lookup(STORE, key)`): those are the service's data. A read-only handler with no parameter that only reads an HTML file
of the package (`open(os.path.join(static_dir, "index.html"))` answered as `text/html`)
serves the same page to everyone and is left alone too; reading any other file, or a file the
caller names, is judged as usual.
A handler authenticated by the sender's signature through a known SDK is left alone too: in
its own body (not under an `if`) it passes its `Request` to a slack_bolt request handler
(`SlackRequestHandler(app).handle(request)` or `AsyncSlackRequestHandler`, of any adapter:
the Bolt app checks `X-Slack-Signature` before any listener runs), or it calls Stripe's
`stripe.Webhook.construct_event(payload, sig_header, secret)`, which raises unless the
`Stripe-Signature` header is valid. The list is kept to SDKs whose documented entry point
refuses an unsigned request by itself; checks that only return a verdict (Twilio's
`RequestValidator.validate`) or skip verification when no credentials are configured
(Bot Framework adapters) are not on it.
A route added with `add_api_route` whose path is not a literal and whose handler cannot be
resolved (`app.add_api_route(path, public if x else private)`) is not a route the audit can
speak of: neither where it is nor what protects it is known. A service with an
authentication middleware (Starlette's `AuthenticationMiddleware`, or any middleware named
like authentication: `*Auth*`, `*Token*`, `*Jwt*`, `*Bearer*`, `*ApiKey*`, ...) is taken to
authenticate every route of the app it is added to, and of the apps mounted below that one
(`app.mount("/api", api_app)`); a sub-app's middleware does not cover the outer app.

Routes whose mounting the audit cannot see are still reported, and the message says so: a
router included in a loop or through a dynamic import (`for r in ROUTERS:
app.include_router(r)`) is taken to be mounted by that include; a router or app passed as a
parameter (`def register(app: FastAPI): app.include_router(...)`) is followed to the callers'
arguments; an app built by a helper of the service (`app = _base_app()`, then `@app.get(...)`
in the function that called it) is the helper's app, with its dependencies; a route for which no app is found at all is reported with that caveat.

## Why is this bad?
A route without authentication is reachable by anyone who can reach the service. Within a
cluster that is every other workload, and a single misrouted ingress makes it the internet.
Authentication added by hand inside each handler is easy to forget on the next route; a
dependency at router level protects every route added later.

## Example
```python
router = APIRouter(prefix="/orders")

@router.get("/{order_id}")
async def get_order(order_id: int): ...
```

## How to fix
```python
router = APIRouter(prefix="/orders", dependencies=[Depends(get_current_user)])

@router.get("/{order_id}")
async def get_order(order_id: int): ...
```
or, for a route that must be public, list it in `svc.toml`:
```toml
public-routes = ["/webhooks/*"]
```
"#,
    check,
};

/// Last path segments that are public by convention: probes, metrics, docs, login. Compared
/// in lower case with `-` and `_` removed (`health-check`, `health_check`, `healthcheck`).
const PUBLIC_SEGMENTS: &[&str] = &[
    "health",
    "healthz",
    "healthcheck",
    "livez",
    "live",
    "liveness",
    "readyz",
    "ready",
    "readiness",
    "status",
    "ping",
    "metrics",
    "docs",
    "redoc",
    "openapi.json",
    "token",
    "accesstoken",
    "login",
    "logout",
    "signin",
    "signup",
    "register",
    "passwordrecovery",
    "recoverpassword",
    "resetpassword",
    "forgotpassword",
    "verifyemail",
    "robots.txt",
    "favicon.ico",
];

/// Last segments naming facts about the server as a whole, which clients read before they
/// sign in (to check compatibility, or to learn how to sign in).
const SERVER_SEGMENTS: &[&str] = &["version", "info", "serverinfo"];

/// Segments anywhere in a path that say the route is public by design: callers authenticate
/// by other means (a webhook's signature, an OAuth provider's redirect) or need no identity.
const PUBLIC_ANYWHERE: &[&str] = &[
    ".well-known",
    "public",
    "webhook",
    "webhooks",
    "callback",
    "callbacks",
];

/// Under `/auth/` or `/oauth/` every step of signing in is public; these, which act on the
/// signed-in account, are not.
const ACCOUNT_SEGMENTS: &[&str] = &[
    "me", "user", "users", "profile", "account", "password", "sessions", "session", "keys",
    "apikeys", "update", "delete",
];

/// File names a browser or crawler fetches without credentials.
const STATIC_SUFFIXES: &[&str] = &[
    ".ico",
    ".txt",
    ".js",
    ".css",
    ".png",
    ".svg",
    ".webmanifest",
    ".xml",
    ".map",
];

fn check(cx: &Context, sink: &mut Sink) {
    let Some(service) = cx.service else { return };
    // One finding per route in the code: a router mounted on two apps, or at two prefixes,
    // serves the same handler at several paths, and one fix (a dependency on the route or
    // its router) covers them all. The other paths are named in the message.
    let mut sites: Vec<(&Route, Vec<&str>)> = Vec::new();
    let mut switched: Vec<(&Route, Switch)> = Vec::new();
    let public_pages = public_page_handlers(cx, service);
    for site in service.route_sites() {
        // The first open path of the declaration, and the other paths it is open at.
        let mut open: Option<(&Route, Vec<&str>)> = None;
        let mut open_when_unset: Option<(&Route, Switch)> = None;
        for route in site {
            if route.has_unconditional_auth()
                || route.methods.iter().any(|m| m == "WEBSOCKET")
                || is_public(&route.path, &cx.config.public_routes)
                || serves_static_files(route)
                || serves_file_catch_all(cx, route)
                || route
                    .handler
                    .is_some_and(|h| reads_only(route) && public_pages.contains(&h))
                || only_redirects(cx, route)
                || only_echoes_request(cx, route)
                || answers_from_own_input(cx, route)
                || exposes_nothing(cx, route)
                || verifies_signature(cx, route)
            {
                continue;
            }
            let middleware = service.auth_middleware_for(route);
            if middleware.iter().any(|m| !m.conditional) {
                continue;
            }
            // Authentication that only a branch of the code switches on: the route is open in
            // the configuration that skips it, which is the default when the switch is unset.
            let switch = route
                .dependencies
                .iter()
                .find(|d| d.is_auth)
                .map(|d| Switch::Dependency(d.target.last().to_owned(), d.at))
                .or_else(|| {
                    middleware
                        .first()
                        .map(|m| Switch::Middleware(m.target.last().to_owned(), m.at))
                });
            if let Some(switch) = switch {
                if open_when_unset.is_none() {
                    open_when_unset = Some((route, switch));
                }
                continue;
            }
            match &mut open {
                Some((first, others)) => {
                    if first.path != route.path && !others.contains(&route.path.as_str()) {
                        others.push(&route.path);
                    }
                }
                None => open = Some((route, Vec::new())),
            }
        }
        sites.extend(open);
        switched.extend(open_when_unset);
    }
    let help = own_auth_dependency(service).map(|name| {
        format!(
            "require this service's auth dependency on the route or its router \
             (dependencies=[Depends({name})]), or list the path in public-routes"
        )
    });
    for (route, others) in sites {
        let mut message = format!("{} has no authentication dependency", describe(route));
        if !others.is_empty() {
            message.push_str(&format!(" (also served at `{}`)", others.join("`, `")));
        }
        // Dropping a route whose mounting is unknown would hide the finding the user most
        // needs; saying what is unknown lets them judge it (or list the path as public).
        match route.mount {
            Mount::Resolved => {}
            Mount::Inferred => message.push_str(
                " (its router is mounted through an include svc could not follow, so the path may lack a prefix and include-level dependencies may be missing)",
            ),
            Mount::Unresolved => message.push_str(
                " (svc found no app mounting its router, so app- and include-level dependencies are unknown)",
            ),
        }
        match &help {
            Some(help) => sink.report_with_help(route.at, message, help.clone()),
            None => sink.report(route.at, message),
        }
    }
    for (route, switch) in switched {
        let (what, name, at) = match &switch {
            Switch::Dependency(name, at) => ("dependency", name, at),
            Switch::Middleware(name, at) => ("middleware", name, at),
        };
        let source = cx.project.file(at.file);
        let line = format!(" ({}:{})", source.rel, source.line_of(at.range.start()));
        sink.report_with_help(
            route.at,
            format!(
                "{} is authenticated only when configured to be: the auth {what} `{name}`{line} is added under a condition, and without it the route is open",
                describe(route)
            ),
            "apply authentication unconditionally and fail at startup when its key or secret is missing, rather than serving without it",
        );
    }
}

/// Authentication that only a conditional branch adds: a dependency from
/// `[Depends(auth)] if key else []`, or a middleware added under an `if`.
enum Switch {
    Dependency(String, Loc),
    Middleware(String, Loc),
}

/// The handler's parameters annotated as its `Request` or `Response`.
fn exchange_params(f: &Function) -> Vec<&str> {
    f.params
        .iter()
        .filter(|p| {
            p.annotation
                .as_ref()
                .and_then(Value::as_name)
                .is_some_and(|a| a.is_any(EXCHANGE_CLASSES))
        })
        .map(|p| &*p.name)
        .collect()
}

/// The request and response classes whose objects a handler receives as parameters.
const EXCHANGE_CLASSES: &[&str] = &[
    "fastapi.Request",
    "fastapi.Response",
    "starlette.requests.Request",
    "starlette.responses.Response",
];

/// The handler works on nothing but the exchange it is given: every call is a method of its
/// `Request` or `Response` parameter, or of a local read from them (`body = await
/// request.json()`, `response.set_cookie(...)`), or a value builtin, and it has no dependency.
/// Such a handler answers the caller with the caller's own input (setting a cookie from the
/// body, echoing a header) and reaches no data of the service. `request.app.state...` and
/// `request.state...` reach the service's objects, and do not count.
fn only_echoes_request(cx: &Context, route: &Route) -> bool {
    let Some((handler, code)) = self_contained_handler(cx, route) else {
        return false;
    };
    let f = code.function(handler.func);
    let mut roots = exchange_params(f);
    if roots.is_empty() {
        return false;
    }
    let rooted = |path: &str, roots: &[&str]| {
        let mut parts = path.split('.');
        parts.next().is_some_and(|first| roots.contains(&first))
            && !path.split('.').any(|p| matches!(p, "app" | "state"))
    };
    // Locals read from the exchange, in source order (`body = await request.json()`).
    for a in code
        .assigns
        .iter()
        .filter(|a| a.scope == Scope::Function(handler.func))
    {
        let from = match &a.value {
            Value::Call(c) => Some(&*c.callee.path),
            Value::Ref(r) => Some(&*r.path),
            _ => None,
        };
        if from.is_some_and(|p| rooted(p, &roots)) {
            roots.push(&a.target);
        }
    }
    let mut touches = false;
    for call in code.calls.iter().filter(|c| c.func == Some(handler.func)) {
        let path = &*call.callee.path;
        if call.callee.origin == RefOrigin::Unknown && rooted(path, &roots) {
            touches = true;
            continue;
        }
        let builtin = call.callee.origin == RefOrigin::Builtin
            || (call.callee.origin == RefOrigin::Unknown && VALUE_BUILTINS.contains(&path));
        if !builtin {
            return false;
        }
    }
    touches
}

/// Builtins that only convert or measure values.
const VALUE_BUILTINS: &[&str] = &["str", "int", "float", "bool", "len", "repr", "format"];

/// Modules whose calls only build URLs.
const URL_MODULES: &[&str] = &[
    "starlette.datastructures",
    "fastapi.datastructures",
    "urllib.parse",
];

/// The handler does nothing but answer a redirect (`return RedirectResponse(f"/v2/{id}")`):
/// it reads and changes nothing, and the route it points to is the one to protect. Any call
/// other than a builtin, the redirect or an `HTTPException`, or any dependency, may touch
/// data, and then the route is judged as usual.
fn only_redirects(cx: &Context, route: &Route) -> bool {
    let Some((handler, code)) = self_contained_handler(cx, route) else {
        return false;
    };
    let mut redirects = false;
    for call in code.calls.iter().filter(|c| c.func == Some(handler.func)) {
        match call.callee.last() {
            "RedirectResponse" => redirects = true,
            "HTTPException" => {}
            _ if call.callee.origin == RefOrigin::Builtin => {}
            // Value builtins the front end leaves unresolved (`str(exc)`, `int(page)`).
            name if call.callee.origin == RefOrigin::Unknown
                && VALUE_BUILTINS.contains(&name)
                && *call.callee.path == *name => {}
            // Building the target from the request's own URL (`URL(str(request.url))`,
            // `url.replace(path=...)`, `urlencode(query)`).
            _ if URL_MODULES.iter().any(|m| call.callee.in_module(m)) => {}
            _ => return false,
        }
    }
    redirects
}

/// The handler exposes nothing whatever its caller: a `HEAD` (or `OPTIONS`) route answering
/// a literal (`return Response()` for an MCP client's probe: a `HEAD` answer has no body), or
/// a route that only refuses (`raise HTTPException(status_code=404)` reserving a path before
/// a catch-all). Every call it makes is a response or an error given no module's object or
/// setting, and it writes no module state. A `GET` or `POST` answering a literal is still
/// reported: that is a placeholder (`return {}`), and the route stays open once it is filled.
fn exposes_nothing(cx: &Context, route: &Route) -> bool {
    let Some((handler, code)) = self_contained_handler(cx, route) else {
        return false;
    };
    let f = code.function(handler.func);
    if !f.globals.is_empty()
        || code.mutations.iter().any(|m| m.func == handler.func)
        || code
            .attr_assigns
            .iter()
            .any(|a| a.func == Some(handler.func))
    {
        return false;
    }
    let mut raises = false;
    let only_answers = code
        .calls
        .iter()
        .filter(|c| c.func == Some(handler.func))
        .all(|c| {
            let error = is_error(&c.callee);
            raises |= error;
            (is_response(&c.callee) || error)
                && !c
                    .args
                    .iter()
                    .map(|a| &a.value)
                    .chain(c.kwargs.iter().map(|k| &k.value))
                    .any(reads_service_value)
        });
    let headers_only = route.methods.iter().all(|m| m == "HEAD" || m == "OPTIONS");
    only_answers
        && match f.answers {
            Answers::Nothing => raises,
            Answers::Literals => headers_only,
            Answers::Computed => false,
        }
}

/// Modules whose functions and objects compute a value from their arguments and reach
/// nothing else: the standard library's codecs, parsers and value types, and QR-code
/// renderers. A library that may reach a network, a disk or a database is never on it.
const PURE_MODULES: &[&str] = &[
    "base64",
    "binascii",
    "collections",
    "datetime",
    "decimal",
    "enum",
    "fractions",
    "functools",
    "hashlib",
    "html",
    "io",
    "itertools",
    "json",
    "math",
    "re",
    "string",
    "struct",
    "textwrap",
    "unicodedata",
    "urllib.parse",
    "uuid",
    "zlib",
    "pyqrcode",
    "qrcode",
    "segno",
];

/// Builtins that only build, convert or measure values.
const PURE_BUILTINS: &[&str] = &[
    "abs",
    "all",
    "any",
    "bool",
    "bytes",
    "chr",
    "dict",
    "divmod",
    "enumerate",
    "filter",
    "float",
    "format",
    "frozenset",
    "hex",
    "int",
    "isinstance",
    "len",
    "list",
    "map",
    "max",
    "min",
    "next",
    "ord",
    "range",
    "repr",
    "reversed",
    "round",
    "set",
    "sorted",
    "str",
    "sum",
    "tuple",
    "zip",
];

/// Builtins that reach beyond the values they are given.
const IMPURE_BUILTINS: &[&str] = &[
    "open",
    "exec",
    "eval",
    "compile",
    "input",
    "__import__",
    "globals",
    "vars",
    "getattr",
    "setattr",
    "delattr",
    "breakpoint",
];

/// Modules that locate and read files shipped inside the package (`importlib.resources`,
/// paths built with `os.path` or `pathlib`).
const PACKAGE_FILE_MODULES: &[&str] = &[
    "importlib.resources",
    "importlib_resources",
    "os.path",
    "pathlib",
];

/// How far into the service's own helpers [`answers_from_own_input`] follows calls.
const MAX_PURE_DEPTH: u8 = 3;

/// The handler answers from the caller's own input alone, or serves a page of the package,
/// and reaches no data of the service: it takes no dependency, and every call it makes (in
/// its own body, its nested functions and the service's helpers it calls, three calls deep)
/// is a value builtin, a response or `HTTPException`, a function or object of
/// [`PURE_MODULES`], or a method of its own parameters. Then either one such call is given
/// one of its parameters (`GET /qrcode/{data}` rendering `pyqrcode.create(data)`, a
/// redirect built by a pure helper from the path), or it takes no parameter at all and only
/// reads an HTML file of the package (`open(os.path.join(static_dir, "index.html"))` answered
/// as `text/html`): the same page for everyone, like the single-page app's shell. Whatever
/// the route computes, it could compute for the caller without the service.
fn answers_from_own_input(cx: &Context, route: &Route) -> bool {
    let (Some(service), Some(handler)) = (cx.service, route.handler) else {
        return false;
    };
    let Some(code) = cx.project.code(handler.file) else {
        return false;
    };
    if route
        .dependencies
        .iter()
        .any(|d| d.level == DependencyLevel::Parameter)
    {
        return false;
    }
    let f = code.function(handler.func);
    // The `Request` is the caller's input too (`request.url`), short of what it reaches of
    // the service (`request.app`, `request.state`), which [`reads_service_value`] refuses.
    let exchange = exchange_params(f);
    let inputs: Vec<&str> = f
        .params
        .iter()
        .map(|p| &*p.name)
        .filter(|n| !exchange.contains(n))
        .collect();
    let mut judge = Purity {
        cx,
        service,
        page: inputs.is_empty() && reads_only(route),
        renders_input: false,
        reads_page: false,
        html: false,
    };
    if !judge.function(handler, code, Some(&inputs), MAX_PURE_DEPTH) {
        return false;
    }
    if inputs.is_empty() {
        judge.reads_page && judge.html
    } else {
        judge.renders_input
    }
}

/// The state of one [`answers_from_own_input`] judgement.
struct Purity<'c, 'a> {
    cx: &'c Context<'a>,
    service: &'a Service,
    /// The handler takes no input: reading files of the package is allowed.
    page: bool,
    /// A pure call of the handler's own body is given one of its parameters.
    renders_input: bool,
    /// A file of the package is read.
    reads_page: bool,
    /// The answer is HTML: an `.html` file, `HTMLResponse` or `media_type="text/html"`.
    html: bool,
}

impl Purity<'_, '_> {
    /// Every call of `f` (lambdas and comprehensions included) is pure. `inputs`: the
    /// handler's parameters, given only for the handler's own body.
    fn function(&mut self, f: FnRef, code: &CodeFile, inputs: Option<&[&str]>, depth: u8) -> bool {
        let params: Vec<&str> = code
            .function(f.func)
            .params
            .iter()
            .map(|p| &*p.name)
            .collect();
        for call in code.calls.iter().filter(|c| c.func == Some(f.func)) {
            if !self.call(f, code, call, &params, depth) {
                return false;
            }
            if let Some(inputs) = inputs {
                let given = call
                    .args
                    .iter()
                    .map(|a| &a.value)
                    .chain(call.kwargs.iter().map(|k| &k.value))
                    .any(|v| v.as_name().is_some_and(|r| inputs.contains(&&*r.path)));
                if given && !is_response(&call.callee) {
                    self.renders_input = true;
                }
            }
        }
        true
    }

    fn call(&mut self, f: FnRef, code: &CodeFile, call: &Call, params: &[&str], depth: u8) -> bool {
        let callee = &call.callee;
        let path = &*callee.path;
        // What the call is given must be the caller's input or the function's own values: a
        // module's object or setting (`json.dumps(CONFIG)`, `lookup(STORE, key)`) or the
        // service's state through the request is the service's data. An error's detail and a
        // response's status, media type and headers are not the answer's content.
        let raises = is_error(callee);
        let content = call.args.iter().map(|a| &a.value).chain(
            call.kwargs
                .iter()
                .filter(|k| !matches!(&*k.name, "status_code" | "media_type" | "headers"))
                .map(|k| &k.value),
        );
        if !raises && content.into_iter().any(reads_service_value) {
            return false;
        }
        for v in call.args.iter().map(|a| &a.value) {
            if let Value::Str(s) = v
                && (s.ends_with(".html") || s.ends_with(".htm"))
            {
                self.html = true;
            }
        }
        if is_response(callee) {
            if callee.last() == "HTMLResponse"
                || call.kwarg("media_type").is_some_and(
                    |k| matches!(&k.value, Value::Str(s) if s.starts_with("text/html")),
                )
            {
                self.html = true;
            }
            return true;
        }
        if callee.origin == RefOrigin::Builtin {
            if path == "open" {
                return self.page && reads_file(call) && {
                    self.reads_page = true;
                    true
                };
            }
            return !IMPURE_BUILTINS.contains(&path);
        }
        // Builtins the front end leaves unresolved (`len(s)`, `int(s, 16)`, `ValueError(..)`).
        if callee.origin == RefOrigin::Unknown
            && (PURE_BUILTINS.contains(&path)
                || (!path.contains('.')
                    && (path.ends_with("Error") || path.ends_with("Exception"))))
        {
            return true;
        }
        if PURE_MODULES.iter().any(|m| callee.in_module(m)) {
            return true;
        }
        // The file object `open()` gave (`f.read()`), and the package's own paths.
        if self.page
            && (callee.in_module("open")
                || PACKAGE_FILE_MODULES.iter().any(|m| callee.in_module(m)))
        {
            return true;
        }
        // A method of a parameter (`stream.getvalue()`, `payload.strip()`), short of the
        // service's state behind a request (`request.app.state.db.get(...)`).
        if callee.origin == RefOrigin::Unknown
            && callee.instance.is_none()
            && path
                .split_once('.')
                .is_some_and(|(head, _)| params.contains(&head))
            && !path.split('.').any(|p| matches!(p, "app" | "state"))
        {
            return true;
        }
        if depth == 0 {
            return false;
        }
        // A function nested in this one (`async def _generator(stream): yield ...`).
        if let Some(id) = (0..code.functions.len() as FnId)
            .find(|&i| code.function(i).parent == Some(f.func) && *code.function(i).qual == *path)
        {
            return self.function(
                FnRef {
                    file: f.file,
                    func: id,
                },
                code,
                None,
                depth - 1,
            );
        }
        // A helper of the service (`to_valid_user_id(hex_value)`), judged the same way. It must
        // compute something: a helper that calls nothing may read the service's data without
        // a call (`return BLOCKS[block_id]`), which no fact shows.
        if callee.origin != RefOrigin::Unknown
            && let Some(target) = self.cx.project.resolve_function(self.service, callee)
            && let Some(tcode) = self.cx.project.code(target.file)
        {
            let computes = tcode.calls.iter().any(|c| c.func == Some(target.func));
            return computes && self.function(target, tcode, None, depth - 1);
        }
        false
    }
}

/// A value that reads the service's data: a name of a module (an imported or module-level
/// object, setting or constant table), or anything reached through an `app` or `state`
/// attribute (`request.app.state.db`).
fn reads_service_value(v: &Value) -> bool {
    match v {
        // A parameter's attribute is unresolved (`request.app.state.db`); locals are
        // qualified by their module, whose path may hold any segment.
        Value::Ref(r) => match r.origin {
            RefOrigin::Module | RefOrigin::Import => true,
            RefOrigin::Unknown => r.path.split('.').any(|p| matches!(p, "app" | "state")),
            _ => false,
        },
        Value::List(items) | Value::Tuple(items) | Value::Set(items) | Value::Either(items) => {
            items.iter().any(reads_service_value)
        }
        Value::Dict(items) => items
            .iter()
            .any(|(k, v)| reads_service_value(k) || reads_service_value(v)),
        Value::Subscript(s) => reads_service_value(&s.0) || s.1.iter().any(reads_service_value),
        _ => false,
    }
}

/// `open(path)` or `open(path, "r")` / `"rb"`: a read, not a write.
fn reads_file(call: &Call) -> bool {
    let mode = call
        .args
        .get(1)
        .map(|a| &a.value)
        .or_else(|| call.kwarg("mode").map(|k| &k.value));
    match mode {
        None => true,
        Some(Value::Str(m)) => !m.contains(['w', 'a', 'x', '+']),
        Some(_) => false,
    }
}

/// An error to raise: `HTTPException(...)`, `ValueError(...)`.
fn is_error(callee: &Ref) -> bool {
    callee.last() == "HTTPException" || callee.path.ends_with("Error")
}

/// A response class or `HTTPException` of FastAPI or Starlette.
fn is_response(callee: &Ref) -> bool {
    (callee.in_module("fastapi") || callee.in_module("starlette"))
        && (callee.last().ends_with("Response") || callee.last() == "HTTPException")
}

/// Request handlers of SDKs that verify the sender's signature before anything else runs:
/// every slack_bolt adapter (`SlackRequestHandler(app).handle(request)`, and the async one)
/// hands the request to the Bolt app, whose `RequestVerification` middleware checks
/// `X-Slack-Signature` against the signing secret and answers 401 when it does not match.
const SIGNATURE_HANDLER_MODULES: &[&str] = &["slack_bolt.adapter"];
const SIGNATURE_HANDLER_CLASSES: &[&str] = &["SlackRequestHandler", "AsyncSlackRequestHandler"];

/// Calls that raise unless the payload carries the sender's valid signature: Stripe's
/// `Webhook.construct_event(payload, sig_header, secret)` raises `SignatureVerificationError`.
const SIGNATURE_CHECKS: &[&str] = &[
    "stripe.Webhook.construct_event",
    "stripe.webhook.Webhook.construct_event",
];

/// The handler authenticates the caller by signature through a known SDK: its own body (not
/// a branch of it) passes its `Request` to a verifying request handler of
/// [`SIGNATURE_HANDLER_CLASSES`], or calls one of [`SIGNATURE_CHECKS`]. Webhooks from such
/// services carry no user credential; the signature is their authentication.
fn verifies_signature(cx: &Context, route: &Route) -> bool {
    let (Some(service), Some(handler)) = (cx.service, route.handler) else {
        return false;
    };
    let Some(code) = cx.project.code(handler.file) else {
        return false;
    };
    let f = code.function(handler.func);
    let requests = exchange_params(f);
    let is_handler_class = |path: &str| {
        SIGNATURE_HANDLER_MODULES.iter().any(|m| {
            path.strip_prefix(m)
                .is_some_and(|rest| rest.starts_with('.'))
        }) && path
            .rsplit_once('.')
            .is_some_and(|(_, class)| SIGNATURE_HANDLER_CLASSES.contains(&class))
    };
    code.calls_in(handler.func)
        .filter(|c| !c.conditional)
        .any(|call| {
            if call.callee.is_any(SIGNATURE_CHECKS) {
                return true;
            }
            let passes_request = call.args.first().is_some_and(|a| {
                a.value
                    .as_name()
                    .is_some_and(|r| requests.contains(&&*r.path))
            });
            if call.callee.last() != "handle" || !passes_request {
                return false;
            }
            // The receiver: built in this file (`handler = AsyncSlackRequestHandler(app)`,
            // recorded with the call) or imported from where it is built.
            if let Some(instance) = call.callee.instance.as_deref()
                && let Some(class) = instance.strip_suffix("().handle")
            {
                return is_handler_class(class);
            }
            let Some((receiver, _)) = call.callee.path.rsplit_once('.') else {
                return false;
            };
            let receiver = Ref {
                path: receiver.into(),
                origin: call.callee.origin,
                instance: None,
            };
            match cx.project.resolve(service, &receiver) {
                Some(Symbol::Assign { file, index }) => cx
                    .project
                    .code(file)
                    .and_then(|c| c.assigns[index as usize].value.as_call())
                    .is_some_and(|c| {
                        c.callee.origin != RefOrigin::Unknown && is_handler_class(&c.callee.path)
                    }),
                _ => false,
            }
        })
}

/// The route's handler and its file when the handler takes no dependency parameter and
/// defines no nested function (which may do anything when called): then its own calls are
/// all it does, and [`only_echoes_request`] and [`only_redirects`] can judge it by them.
fn self_contained_handler<'a>(cx: &Context<'a>, route: &Route) -> Option<(FnRef, &'a CodeFile)> {
    let handler = route.handler?;
    let code = cx.project.code(handler.file)?;
    let takes_dependency = route
        .dependencies
        .iter()
        .any(|d| d.level == DependencyLevel::Parameter);
    let nests = code
        .functions
        .iter()
        .any(|f| f.parent == Some(handler.func));
    (!takes_dependency && !nests).then_some((handler, code))
}

/// The auth dependency most of the service's authenticated routes use, so the help names the
/// service's own (`Depends(current_user)`) rather than a generic example.
fn own_auth_dependency(service: &Service) -> Option<String> {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for dependency in service
        .routes
        .iter()
        .flat_map(|r| &r.dependencies)
        .filter(|d| d.is_auth)
    {
        let name = dependency.target.last().to_owned();
        match counts.iter_mut().find(|(n, _)| *n == name) {
            Some((_, count)) => *count += 1,
            None => counts.push((name, 1)),
        }
    }
    // The first-seen wins a tie, so the help is stable across runs.
    let best = counts.iter().map(|(_, c)| *c).max()?;
    counts.into_iter().find(|(_, c)| *c == best).map(|(n, _)| n)
}

fn describe(route: &Route) -> String {
    let path = if route.path.is_empty() {
        "/"
    } else {
        &route.path
    };
    format!("`{} {}`", route.methods.join(", "), path)
}

fn is_public(path: &str, configured: &[String]) -> bool {
    let path = if path.len() > 1 {
        path.trim_end_matches('/')
    } else {
        path
    };
    let path = if path.is_empty() { "/" } else { path };
    if configured.iter().any(|p| match p.strip_suffix('*') {
        Some(prefix) => path.starts_with(prefix) || path == prefix.trim_end_matches('/'),
        None => path == p.trim_end_matches('/') || path == p,
    }) {
        return true;
    }
    // The root: a landing page, a UI or a liveness answer.
    if path == "/" {
        return true;
    }
    // Path parameters say nothing about intent: `/password-recovery/{email}` is about
    // recovery, `/health/{component}` about health.
    let segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty() && !is_parameter(s))
        .map(|s| s.to_ascii_lowercase())
        .collect();
    let Some(last) = segments.last() else {
        return false;
    };
    let folded = |s: &str| s.replace(['-', '_'], "");
    // RPC-style names say the same with a verb: `/get_info`, `/get-version`, `/gethealth`.
    let folded_last = folded(last);
    let named = folded_last.strip_prefix("get").unwrap_or(&folded_last);
    // Server-wide facts a client reads before it signs in (`/version`, `/api/server/info`):
    // public only for the server as a whole, not for a resource (`/users/{id}/info`) or the
    // signed-in account (`/me/info`).
    // A version named for what it versions is the same fact: `/arize_phoenix_version`,
    // `/server-version`.
    let versions = last.rsplit(['-', '_']).next() == Some("version");
    if (SERVER_SEGMENTS.contains(&named) || versions)
        && !path.split('/').any(is_parameter)
        && !segments
            .iter()
            .any(|s| ACCOUNT_SEGMENTS.contains(&folded(s).as_str()) || s == "me")
    {
        return true;
    }
    if PUBLIC_SEGMENTS.contains(&folded_last.as_str())
        || PUBLIC_SEGMENTS.contains(&named)
        || STATIC_SUFFIXES.iter().any(|x| last.ends_with(x))
        || segments
            .iter()
            .any(|s| PUBLIC_ANYWHERE.contains(&s.as_str()))
    {
        return true;
    }
    // `/health/db`, `/docs/oauth2-redirect`, `/utils/health-check/`.
    let parent = segments.len().checked_sub(2).map(|i| folded(&segments[i]));
    if matches!(parent.as_deref(), Some("health" | "healthcheck" | "docs")) {
        return true;
    }
    // `/auth` itself (the sign-in POST), and the steps of signing in below it:
    // `/auth/jwt/login`, `/auth/token/refresh`, `/auth/reset`, `/auth/nostr`.
    let is_auth = |s: &str| matches!(s, "auth" | "oauth" | "oauth2");
    if is_auth(last) {
        return true;
    }
    let under_auth = segments[..segments.len() - 1].iter().any(|s| is_auth(s));
    under_auth && !ACCOUNT_SEGMENTS.contains(&folded(last).as_str())
}

/// A read of the files a browser loads for the UI: the icon, logo and strings of the sign-in
/// page (`GET /favicon`, `/logo`, `/translations`, `/manifest`), a single-page app's fallback
/// to its index page (`GET /{full_path:path}`), or files under a static folder
/// (`GET /assets/{name:path}`). An
/// `/assets/{asset_id}` of a service that manages assets is a resource like any other, and so
/// is a catch-all that writes (`DELETE /{name:path}`).
fn serves_static_files(route: &Route) -> bool {
    let path = route.path.trim_end_matches('/');
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let reads_only = route.methods.iter().all(|m| m == "GET" || m == "HEAD");
    // What a browser loads for the sign-in page itself: the icon, the logo, the UI's strings.
    if reads_only
        && segments.last().is_some_and(|last| {
            matches!(
                last.to_ascii_lowercase().as_str(),
                "favicon" | "logo" | "translations" | "manifest"
            )
        })
    {
        return true;
    }
    if !path.ends_with(":path}") || !reads_only {
        return false;
    }
    match segments.as_slice() {
        [_only] => true,
        [.., folder, _file] => matches!(folder.to_ascii_lowercase().as_str(), "static" | "assets"),
        [] => false,
    }
}

fn reads_only(route: &Route) -> bool {
    route.methods.iter().all(|m| m == "GET" || m == "HEAD")
}

/// Handlers that already answer without authentication at a public page (`GET /`, a static
/// file): stacked on further paths (`@app.get("/")` over `@app.get("/index.html")`), they
/// serve the same page there, which exposes nothing the public path does not.
fn public_page_handlers(cx: &Context, service: &Service) -> Vec<FnRef> {
    let mut out: Vec<FnRef> = service
        .routes
        .iter()
        .filter(|r| reads_only(r) && !r.has_auth())
        .filter(|r| is_public(&r.path, &cx.config.public_routes) || serves_static_files(r))
        .filter_map(|r| r.handler)
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// A read-only catch-all (`GET /copilot/{filename:path}`) whose handler answers with a
/// `FileResponse` and takes no dependency: a folder of built UI files, whatever its name.
fn serves_file_catch_all(cx: &Context, route: &Route) -> bool {
    if !reads_only(route) || !route.path.trim_end_matches('/').ends_with(":path}") {
        return false;
    }
    let Some((handler, code)) = self_contained_handler(cx, route) else {
        return false;
    };
    code.calls
        .iter()
        .filter(|c| c.func == Some(handler.func))
        .any(|c| {
            c.callee.last() == "FileResponse"
                && (c.callee.in_module("fastapi") || c.callee.in_module("starlette"))
        })
}

/// A whole segment that is a path parameter: `{user_id}`, not `{usr}.webmanifest`.
fn is_parameter(segment: &str) -> bool {
    segment.starts_with('{') && segment.ends_with('}')
}

#[cfg(test)]
mod tests {
    use super::is_public;

    #[test]
    fn public_paths() {
        let cfg = vec!["/webhooks/*".to_string(), "/".to_string()];
        for p in [
            "/healthz",
            "/api/v1/health",
            "/health/db",
            "/metrics",
            "/docs/oauth2-redirect",
            "/token",
            "/oauth/token",
            "/auth/jwt/login",
            "/auth/token/refresh",
            "/webhooks/stripe",
            "/webhooks",
            "/",
            "/healthcheck",
            "/health-check",
            "/utils/health-check/",
            "/ping",
            "/status",
            "/live",
            "/ready",
            "/login/access-token",
            "/users/signup",
            "/password-recovery/{email}",
            "/reset-password/",
            "/api/v1/auth",
            "/api/v1/auth/register",
            "/api/v1/auth/reset",
            "/api/v1/auth/nostr",
            "/api/v1/auth/{provider}/token",
            "/api/v1/callback/{provider_name}",
            "/.well-known/lnurlp/{username}",
            "/node/public/api/v1/info",
            "/robots.txt",
            "/favicon.ico",
            "/service-worker.js",
            "/api/v1/version",
            "/api/server/get_info",
            "/info",
            "/arize_phoenix_version",
            "/api/server-version",
        ] {
            assert!(is_public(p, &cfg), "{p}");
        }
        for p in [
            "/orders",
            "/auth/me",
            "/users/{id}",
            "/healthcheck-admin",
            "/admin/docs-editor",
            "/counters/reset",
            "/auth/password",
            "/api/v1/auth/update",
            "/users/{id}/status-history",
            "/orders/{id}/refresh",
            "/users/{id}/info",
            "/me/info",
            "/account/version",
            "/me/app_version",
            "/models/{id}/model_version",
            "/versions",
            "/{item_id}",
            "/files/{name:path}",
            "/assets/{asset_id}",
            "/{full_path:path}",
        ] {
            assert!(!is_public(p, &cfg), "{p}");
        }
    }
}
