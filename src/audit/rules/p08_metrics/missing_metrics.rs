//! MT001 `missing-metrics`: a container service with no Prometheus metrics.

use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "MT001",
    name: "missing-metrics",
    principle: Principle::P8,
    severity: Severity::Warning,
    kinds: &[Kind::Container],
    reach: Reach::Services,
    help: "expose Prometheus metrics on `/metrics` (prometheus-fastapi-instrumentator or prometheus_client)",
    doc: r#"## What it does
Reports a container service with no Prometheus instrumentation: it imports none of
`prometheus_client`, `prometheus_fastapi_instrumentator`, `starlette_exporter`,
`starlette_prometheus`, `aioprometheus` or `opentelemetry.exporter.prometheus`, and has no
route `/metrics` (a fixed path ending in `/metrics`: `/datasets/{id}/metrics`, which reports
a resource's figures, is not one). One finding per service, at the `FastAPI(...)` call of the
app the service runs. Lambda functions and workers are not reported.

Push-only pipelines are not recognised: StatsD, or the OpenTelemetry metrics SDK exporting
over OTLP (with the Prometheus exporter it counts). The principle asks for a scrapeable
endpoint.

## Why is this bad?
Without request counts and latency histograms there is nothing to alert on and nothing to
scale on: an error-rate spike or a slow endpoint is found by users first. Logs cannot stand
in for metrics: aggregating them is slow and costly, and they are sampled or dropped
exactly when traffic is highest.

## Example
```python
app = FastAPI()
```

## How to fix
```python
from prometheus_fastapi_instrumentator import Instrumentator

app = FastAPI()
Instrumentator().instrument(app).expose(app)  # GET /metrics, labelled by route template
```
"#,
    check,
};

/// Modules that collect or expose metrics for Prometheus.
const METRICS_MODULES: &[&str] = &[
    "prometheus_client",
    "prometheus_fastapi_instrumentator",
    "starlette_exporter",
    "starlette_prometheus",
    "aioprometheus",
    "opentelemetry.exporter.prometheus",
];

/// `/metrics` or `/api/metrics`: a fixed path whose last segment is `metrics`. A path with
/// parameters (`/datasets/{id}/metrics`) serves some resource's figures, not a scrape target.
fn is_metrics_route(path: &str) -> bool {
    let path = path.trim_end_matches('/');
    !path.contains('{') && path.rsplit('/').next() == Some("metrics") && path.contains('/')
}

fn check(cx: &Context, sink: &mut Sink) {
    let Some(service) = cx.service else { return };
    let Some(app) = service.primary() else {
        return;
    };
    let instrumented = cx.imports_module(METRICS_MODULES)
        || service
            .routes
            .iter()
            .any(|r| r.path_known && is_metrics_route(&r.path));
    if !instrumented {
        sink.report(
            app.at,
            format!(
                "service `{}` exposes no Prometheus metrics and has no `/metrics` route",
                service.name
            ),
        );
    }
}
