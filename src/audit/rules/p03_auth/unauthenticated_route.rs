//! AU001 `unauthenticated-route`: a non-public route with no authentication.

use crate::audit::model::Route;
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

Public routes are left alone: health and probes (`/health`, `/healthz`, `/livez`, `/readyz`,
`/ready`, `/ping`, `/health/...`), `/metrics`, the docs (`/docs`, `/redoc`, `/openapi.json`),
login and token endpoints (paths ending in `/token` or `/login`, and token, login or refresh
endpoints under `/auth/` or `/oauth/`), and the
paths listed in `public-routes` (exact, or a prefix ending in `*`). A service with an
authentication middleware (Starlette's `AuthenticationMiddleware`, or any middleware named
`*Auth*`) is taken to authenticate every route, and routers never mounted on an app are not
reported.

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

/// Last path segments that are public by convention: probes, metrics, docs, login.
const PUBLIC_SEGMENTS: &[&str] = &[
    "health",
    "healthz",
    "livez",
    "readyz",
    "ready",
    "ping",
    "metrics",
    "docs",
    "redoc",
    "openapi.json",
    "token",
    "login",
];

fn check(cx: &Context, sink: &mut Sink) {
    let Some(service) = cx.service else { return };
    if has_auth_middleware(service) {
        return;
    }
    let mut seen: Vec<(FileId, ruff_text_size::TextRange, &str)> = Vec::new();
    for route in &service.routes {
        // A router never mounted on an app: its full path and dependencies are unknown.
        if route.app.is_none()
            || route.has_auth()
            || route.methods.iter().any(|m| m == "WEBSOCKET")
            || is_public(&route.path, &cx.config.public_routes)
        {
            continue;
        }
        let key = (route.at.file, route.at.range, route.path.as_str());
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        sink.report(
            route.at,
            format!("{} has no authentication dependency", describe(route)),
        );
    }
}

fn describe(route: &Route) -> String {
    let path = if route.path.is_empty() {
        "/"
    } else {
        &route.path
    };
    format!("`{} {}`", route.methods.join(", "), path)
}

/// Starlette's `AuthenticationMiddleware`, or any middleware named like authentication.
pub(crate) fn has_auth_middleware(service: &Service) -> bool {
    service.middleware.iter().any(|m| {
        m.target
            .is("starlette.middleware.authentication.AuthenticationMiddleware")
            || m.target.last().to_ascii_lowercase().contains("auth")
    })
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
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let Some(last) = segments.last().map(|s| s.to_ascii_lowercase()) else {
        return false;
    };
    if PUBLIC_SEGMENTS.contains(&last.as_str()) {
        return true;
    }
    // `/health/db`, `/docs/oauth2-redirect`.
    let parent = segments
        .len()
        .checked_sub(2)
        .map(|i| segments[i].to_ascii_lowercase());
    if matches!(parent.as_deref(), Some("health" | "docs")) {
        return true;
    }
    // `/auth/jwt/login`, `/oauth/access-token`, `/auth/token/refresh`.
    let under_auth = segments[..segments.len() - 1]
        .iter()
        .any(|s| matches!(s.to_ascii_lowercase().as_str(), "auth" | "oauth" | "oauth2"));
    under_auth && (last.contains("token") || last.contains("login") || last == "refresh")
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
        ] {
            assert!(is_public(p, &cfg), "{p}");
        }
        for p in [
            "/orders",
            "/auth/me",
            "/users/{id}",
            "/healthcheck-admin",
            "/admin/docs-editor",
        ] {
            assert!(!is_public(p, &cfg), "{p}");
        }
    }
}
