//! SH004 `openapi-docs-exposed`: an authenticated service serves its OpenAPI docs to anyone.

use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "SH004",
    name: "openapi-docs-exposed",
    principle: Principle::P2,
    severity: Severity::Info,
    kinds: HTTP_KINDS,
    reach: Reach::Services,
    help: "set openapi_url (and docs_url, redoc_url) from settings so production can turn them off: FastAPI(openapi_url=settings.openapi_url)",
    doc: r#"## What it does
In a service that authenticates its routes (an auth dependency on any route, or an auth
middleware), reports a `FastAPI(...)` app whose OpenAPI schema and docs pages are on
unconditionally: `openapi_url` left at its default or set to a string literal, and neither
it nor `docs_url` / `redoc_url` set to an expression (a setting, a conditional) that lets the
deployment decide. `openapi_url=None` turns the schema and both docs pages off; with only
`docs_url=None` and `redoc_url=None` the schema itself is still served and reported.

An app's schema describes the routes of the routers included into it, not those of the apps
mounted under it (`app.mount("/api/v1", rest_app)` leaves `rest_app`'s routes out of `app`'s
`/openapi.json`). So an app is reported only when a route it serves itself is authenticated,
an authentication middleware covers it, or a route whose app the audit could not find is
authenticated (it may be this app's): an outer UI app with only public pages, mounting an
authenticated API app, exposes nothing of that API through its own docs, unless the app
builds its schema itself (`app.openapi = custom_openapi`), which may describe any routes.

## Why is this bad?
`/openapi.json`, `/docs` and `/redoc` bypass the service's authentication and describe every
route, parameter and model, including internal and admin endpoints. That is a map for an
attacker; in a service that bothered to protect its routes, it usually should not be public in
production.

## Example
```python
app = FastAPI(title="orders", dependencies=[Depends(get_current_user)])
```

## How to fix
```python
app = FastAPI(
    title="orders",
    openapi_url=settings.openapi_url,  # "/openapi.json" in dev, None in production
    docs_url=settings.docs_url,
    redoc_url=settings.redoc_url,
)
```
"#,
    check,
};

const FASTAPI: &[&str] = &["fastapi.FastAPI", "fastapi.applications.FastAPI"];

/// What an app keyword does to one docs endpoint.
enum Setting {
    /// Left at the default or set to a string literal: served.
    On,
    /// Set to `None`.
    Off,
    /// Set to an expression: decided at run time.
    Dynamic,
}

fn check(cx: &Context, sink: &mut Sink) {
    let Some(service) = cx.service else { return };
    let has_auth = service.routes.iter().any(|r| r.has_auth()) || service.has_auth_middleware();
    if !has_auth {
        return;
    }
    for (index, app) in service.apps.iter().enumerate() {
        // A schema of the app's own making (`app.openapi = custom_openapi`) may describe any
        // routes, a mounted app's among them (`get_openapi(routes=api_app.routes)`).
        if !describes_protected_routes(service, index) && !set_later(cx, &app.name, "openapi") {
            continue;
        }
        let call = cx.project.call(app.call);
        if !call.callee.is_any(FASTAPI) || call.has_star_kwargs {
            continue;
        }
        let setting = |name: &str, default: &'static str| -> (Setting, Option<String>) {
            if set_later(cx, &app.name, name) {
                return (Setting::Dynamic, None);
            }
            match call.kwarg(name).map(|k| &k.value) {
                None => (Setting::On, Some(default.to_string())),
                Some(Value::Str(s)) => (Setting::On, Some(s.to_string())),
                Some(Value::None) => (Setting::Off, None),
                Some(_) => (Setting::Dynamic, None),
            }
        };
        let openapi = setting("openapi_url", "/openapi.json");
        let docs = setting("docs_url", "/docs");
        let redoc = setting("redoc_url", "/redoc");
        let all = [&openapi, &docs, &redoc];
        if all.iter().any(|(s, _)| matches!(s, Setting::Dynamic)) {
            continue;
        }
        // Without the schema the docs pages have nothing to show.
        let Setting::On = openapi.0 else { continue };
        let served: Vec<&str> = [&docs, &redoc, &openapi]
            .iter()
            .filter_map(|(_, path)| path.as_deref())
            .collect();
        sink.report(
            Loc {
                file: app.at.file,
                range: call.callee_range,
            },
            format!(
                "app `{}` serves {} to anyone in a service that requires authentication",
                app.name.rsplit('.').next().unwrap_or(&app.name),
                served.join(", ")
            ),
        );
    }
}

/// The schema of app `index` describes a route that needs authentication: an authenticated
/// route of its own (or one whose app is unknown), or an auth middleware its requests pass.
fn describes_protected_routes(service: &Service, index: usize) -> bool {
    service
        .routes
        .iter()
        .any(|r| r.has_auth() && r.app.is_none_or(|a| a == index))
        || service.auth_middleware_on(index)
}

/// `app.openapi_url = ...` somewhere in the service's code.
fn set_later(cx: &Context, app: &str, attr: &str) -> bool {
    cx.service_code().any(|(_, _, code)| {
        code.attr_assigns.iter().any(|a| {
            a.target
                .path
                .strip_prefix(app)
                .and_then(|rest| rest.strip_prefix('.'))
                == Some(attr)
        })
    })
}
