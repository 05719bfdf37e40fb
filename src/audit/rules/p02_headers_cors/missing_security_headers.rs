//! SH001 `missing-security-headers`: nothing in the service sets the basic security headers.

use crate::audit::model::Symbol;
use crate::audit::model::frameworks::HTTP_APP_CLASSES;
use crate::audit::rules::prelude::*;
use ruff_text_size::TextRange;

pub static RULE: Rule = Rule {
    code: "SH001",
    name: "missing-security-headers",
    principle: Principle::P2,
    severity: Severity::Warning,
    kinds: HTTP_KINDS,
    reach: Reach::Services,
    help: "add a pure-ASGI middleware that sets Content-Security-Policy, Strict-Transport-Security and X-Content-Type-Options on every response",
    doc: r#"## What it does
Reports an HTTP service in which nothing sets `Content-Security-Policy`,
`Strict-Transport-Security` or `X-Content-Type-Options`: no header name in the service's code
(middleware, response hooks, `response.headers[...]`), no security-headers library
(`secure`, `Secweb`), and no proxy configuration in the repository that sets them for the
service: nginx `add_header` / `more_set_headers`, a Traefik `headers` middleware, a Kong
`response-transformer` plugin, an ingress-nginx configuration snippet. A proxy file inside the
service's directory applies to that service; one at the top of the repository to every
service. One finding per service, at the app that serves its routes (the root app other apps
are mounted in) when nothing covers it, else at its first app that nothing covers.

Headers count for the apps they reach. A header name inside a middleware class or function
counts for the apps that middleware is added to (and the apps mounted below them); one given
to an app's constructor (`FastAPI(default_headers={...})`) counts for that app only, and one
given to an app constructor the audit does not count as an app of the service (`self.app =
FastAPI(...)` in a class) counts for none of them. A header name anywhere else (a module
constant, a response hook, a helper) cannot be tied to an app and counts for all of them.

Tests and scripts do not count as evidence.

## Why is this bad?
Without these headers browsers apply their permissive defaults: responses may be
MIME-sniffed into executable content, framed by other sites (clickjacking), and fetched over
plain HTTP after the first visit. An API is often rendered in a browser (error pages, the
OpenAPI UI, files it serves), so the headers matter even when the main clients are programs.

## Example
```python
app = FastAPI()
app.include_router(orders.router)
```

## How to fix
Set the headers on every response, errors included, with a pure-ASGI middleware:
```python
SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    (b"strict-transport-security", b"max-age=63072000; includeSubDomains"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


class SecurityHeaders:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).extend(SECURITY_HEADERS)
            await send(message)

        await self.app(scope, receive, send_with_headers)


app = FastAPI()
app.add_middleware(SecurityHeaders)
```
or use the `secure` package. A proxy in front of the service can set them instead:
```nginx
add_header Strict-Transport-Security "max-age=63072000; includeSubDomains" always;
add_header X-Content-Type-Options nosniff always;
```
"#,
    check,
};

/// The headers whose presence anywhere counts as "the service sets security headers".
const HEADERS: &[&str] = &[
    "content-security-policy",
    "strict-transport-security",
    "x-content-type-options",
];

/// Modules of libraries that set security headers (`secure` on PyPI, `Secweb`).
const LIBRARIES: &[&str] = &["secure", "Secweb"];

fn check(cx: &Context, sink: &mut Sink) {
    let Some(service) = cx.service else { return };
    if !service.has_http() {
        return;
    }
    if uses_header_library(cx) || cx.project.proxy_facts(service).security_headers {
        return;
    }
    let covered = covered_apps(cx, service);
    // The app standing for the service when nothing covers it, else the first one left out.
    let Some(first) = service
        .primary_app()
        .filter(|i| !covered.contains(i))
        .or_else(|| (0..service.apps.len()).find(|i| !covered.contains(i)))
    else {
        return;
    };
    let app = &service.apps[first];
    let message = if covered.is_empty() {
        format!(
            "service `{}` sets none of Content-Security-Policy, Strict-Transport-Security, X-Content-Type-Options",
            service.name
        )
    } else {
        format!(
            "app `{}` of service `{}` sets none of Content-Security-Policy, Strict-Transport-Security, X-Content-Type-Options (the headers set in the service reach other apps only)",
            app.name, service.name
        )
    };
    sink.report(app.at, message);
}

/// Indexes into [`Service::apps`] of the apps some header name of [`HEADERS`] in the
/// service's own code reaches.
fn covered_apps(cx: &Context, service: &Service) -> Vec<usize> {
    let all = || (0..service.apps.len()).collect::<Vec<_>>();
    let mut covered = Vec::new();
    for (file, _, code) in cx.service_code() {
        for h in code
            .header_names
            .iter()
            .filter(|h| HEADERS.contains(&&*h.lower))
        {
            match reach(cx, service, file, code, h.range) {
                HeaderReach::All => return all(),
                HeaderReach::Apps(apps) => covered.extend(apps),
            }
        }
    }
    covered.sort_unstable();
    covered.dedup();
    covered
}

enum HeaderReach {
    All,
    Apps(Vec<usize>),
}

/// Which apps a header name at `range` of `file` reaches.
fn reach(
    cx: &Context,
    service: &Service,
    file: FileId,
    code: &CodeFile,
    range: TextRange,
) -> HeaderReach {
    // Given to an app's constructor: that app; given to a constructor the audit does not
    // count as an app of this service (a class attribute, another process): none of them.
    let own: Vec<usize> = service
        .apps
        .iter()
        .enumerate()
        .filter(|(_, a)| a.call.file == file && cx.project.call(a.call).range.contains_range(range))
        .map(|(i, _)| i)
        .collect();
    if !own.is_empty() {
        return HeaderReach::Apps(own);
    }
    if code
        .calls
        .iter()
        .any(|c| c.range.contains_range(range) && c.callee.is_any(HTTP_APP_CLASSES))
    {
        return HeaderReach::Apps(Vec::new());
    }
    // Inside a middleware: the apps it wraps (all of them when that is unknown).
    let mut inside_middleware = false;
    let mut apps = Vec::new();
    for m in &service.middleware {
        let body = match cx.project.resolve(service, &m.target) {
            Some(Symbol::Class { file: f, index }) => cx
                .project
                .code(f)
                .map(|c| (f, c.classes[index as usize].range)),
            Some(Symbol::Function(f)) => Some((f.file, cx.project.function(f).range)),
            _ => None,
        };
        if body.is_some_and(|(f, r)| f == file && r.contains_range(range)) {
            if m.apps.is_empty() {
                return HeaderReach::All;
            }
            inside_middleware = true;
            apps.extend(m.apps.iter().copied());
        }
    }
    if inside_middleware {
        HeaderReach::Apps(apps)
    } else {
        HeaderReach::All
    }
}

/// An import of a security-headers library in the service's own code.
fn uses_header_library(cx: &Context) -> bool {
    cx.service_code().any(|(_, _, code)| {
        code.imports.iter().any(|i| {
            LIBRARIES.iter().any(|lib| {
                i.target
                    .strip_prefix(lib)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
            })
        })
    })
}
