//! SH001 `missing-security-headers`: nothing in the service sets the basic security headers.

use crate::audit::rules::prelude::*;

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
service. One finding per service, at its first app.

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
    let Some(at) = service.anchor() else { return };
    if sets_headers_in_code(cx)
        || uses_header_library(cx)
        || cx.project.proxy_facts(service).security_headers
    {
        return;
    }
    sink.report(
        at,
        format!(
            "service `{}` sets none of Content-Security-Policy, Strict-Transport-Security, X-Content-Type-Options",
            service.name
        ),
    );
}

/// A header name literal of one of [`HEADERS`] in the service's own code.
fn sets_headers_in_code(cx: &Context) -> bool {
    cx.service_code().any(|(_, _, code)| {
        code.header_names
            .iter()
            .any(|h| HEADERS.contains(&&*h.lower))
    })
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
