pub mod container_without_healthcheck;
pub mod health_route_behind_auth;
pub mod missing_liveness_route;
pub mod missing_readiness_route;
pub mod probe_path_without_route;
pub mod probe_port_mismatch;

use crate::audit::model::Route;

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

pub(super) fn is_liveness(route: &Route) -> bool {
    probe_segment(route).is_some_and(|s| LIVENESS.contains(&s.as_str()))
}

pub(super) fn is_readiness(route: &Route) -> bool {
    probe_segment(route).is_some_and(|s| READINESS.contains(&s.as_str()))
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
        .any(|c| c.awaited || DEPENDENCY_CHECKS.contains(&c.callee.last()))
}

/// One finding at the service's first app when none of its routes is `wanted`.
pub(super) fn report_missing_route(
    cx: &crate::audit::rules::Context,
    sink: &mut crate::audit::rules::Sink,
    wanted: fn(&Route) -> bool,
    what: &str,
) {
    let Some(service) = cx.service else { return };
    let Some(app) = service.apps.first() else {
        return;
    };
    if !service.routes.iter().any(wanted) {
        sink.report(app.at, format!("service `{}` has no {what}", service.name));
    }
}
