pub mod container_without_healthcheck;
pub mod health_route_behind_auth;
pub mod missing_liveness_route;
pub mod missing_readiness_route;
pub mod probe_path_without_route;
pub mod probe_port_mismatch;

use crate::audit::model::{Project, Route};

/// Last path segments that name a liveness endpoint (`/healthz`, `/api/v1/health`,
/// `/health/live`).
const LIVENESS: &[&str] = &[
    "healthz",
    "health",
    "livez",
    "live",
    "liveness",
    "ping",
    "healthcheck",
    "health-check",
    "health_check",
    "heartbeat",
];

/// Last path segments that name a readiness endpoint (`/readyz`, `/health/ready`).
const READINESS: &[&str] = &["readyz", "ready", "readiness"];

/// The route's last path segment, when the route is an HTTP route whose path is fully known
/// and whose prefix has no path parameter (`/devices/{id}/ping` is not a probe).
fn probe_segment(route: &Route) -> Option<String> {
    if route.methods.iter().any(|m| m == "WEBSOCKET") {
        return None;
    }
    let path = route.path.trim_end_matches('/');
    let (prefix, last) = path.rsplit_once('/')?;
    (!prefix.contains('{')).then(|| last.to_ascii_lowercase())
}

/// The probe word a route stands for: its last path segment, or, when its own path is not
/// a literal or constant the audit could read (`@app.get(settings.health_path)`, a constant
/// from a module outside the audited tree), its handler's name (`async def health()`).
fn probe_word(project: &Project, route: &Route) -> Option<String> {
    if !route.path_known {
        if route.methods.iter().any(|m| m == "WEBSOCKET") {
            return None;
        }
        let handler = route.handler?;
        return Some(project.function(handler).name.to_ascii_lowercase());
    }
    probe_segment(route)
}

pub(super) fn is_liveness(project: &Project, route: &Route) -> bool {
    probe_word(project, route).is_some_and(|s| LIVENESS.contains(&s.as_str()))
}

pub(super) fn is_readiness(project: &Project, route: &Route) -> bool {
    probe_word(project, route).is_some_and(|s| READINESS.contains(&s.as_str()))
}

/// A route a liveness probe can use: a liveness route, or `GET /` answering without
/// reaching a dependency (it answers for as long as the process serves requests).
pub(super) fn serves_as_liveness(project: &Project, route: &Route) -> bool {
    is_liveness(project, route)
        || (route.path_known
            && matches!(route.path.as_str(), "" | "/")
            && route.methods.iter().any(|m| m == "GET")
            && !checks_dependencies(project, route))
}

/// Calls that reach a dependency from a health handler: a ping, a query, a connection.
const DEPENDENCY_CHECKS: &[&str] = &[
    "ping",
    "execute",
    "exec_driver_sql",
    "scalar",
    "fetchval",
    "fetchrow",
    "connect",
    "acquire",
    "health_check",
    "check_health",
    "info",
];

/// The route's handler reaches out to a dependency: it awaits a call, or calls something that
/// pings, queries or connects (`await redis.ping()`, `session.execute(text("SELECT 1"))`).
pub(super) fn checks_dependencies(project: &crate::audit::model::Project, route: &Route) -> bool {
    let Some(handler) = route.handler else {
        return false;
    };
    let Some(code) = project.code(handler.file) else {
        return false;
    };
    code.calls
        .iter()
        .filter(|c| c.func == Some(handler.func))
        .any(|c| {
            let last = c.callee.last();
            c.awaited || DEPENDENCY_CHECKS.contains(&last) || asks_health(last)
        })
}

/// A call that asks something else whether it is healthy or ready (`is_reader_healthy()`,
/// `db.is_ready()`).
fn asks_health(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.contains("health") || lower.contains("ready")
}

/// One finding at the service's primary app when none of its routes is `wanted`.
pub(super) fn report_missing_route(
    cx: &crate::audit::rules::Context,
    sink: &mut crate::audit::rules::Sink,
    wanted: fn(&Project, &Route) -> bool,
    what: &str,
) {
    let Some(service) = cx.service else { return };
    let Some(app) = service.primary() else {
        return;
    };
    if !service.routes.iter().any(|r| wanted(cx.project, r)) {
        sink.report(app.at, format!("service `{}` has no {what}", service.name));
    }
}
