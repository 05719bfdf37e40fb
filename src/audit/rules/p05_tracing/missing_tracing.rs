//! TR001 `missing-tracing`: a service with no distributed tracing set up anywhere.

use crate::audit::artefact::command::Command;
use crate::audit::model::artefacts::{function_setting, launch_commands};
use crate::audit::model::code::Kwarg;
use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "TR001",
    name: "missing-tracing",
    principle: Principle::P5,
    severity: Severity::Warning,
    kinds: ALL_KINDS,
    reach: Reach::Services,
    help: "set up the OpenTelemetry SDK (TracerProvider + OTLP exporter) and instrument the app",
    doc: r#"## What it does
Reports a service in which nothing sets up distributed tracing. Any of these counts as setup:
- the OpenTelemetry SDK: a `TracerProvider` from `opentelemetry.sdk.trace`, any
  `opentelemetry.instrumentation.*` instrumentor (`FastAPIInstrumentor.instrument_app(app)`,
  `CeleryInstrumentor().instrument()`), `opentelemetry.distro`, Azure Monitor's
  `configure_azure_monitor`, Pydantic Logfire (`logfire.configure()`, or an
  `instrument_*` call such as `logfire.instrument_fastapi(app)`, also on a `logfire` object
  returned by the service's own helper);
- FastAPI's own `FastAPI(telemetry=...)` argument;
- vendor agents that trace across services: `ddtrace`, `aws_xray_sdk`,
  `aws_lambda_powertools.Tracer`, Elastic APM (`elasticapm`), New Relic (`newrelic.agent`);
- `sentry_sdk.init(...)` with `traces_sample_rate` (non-zero), `traces_sampler` or
  `enable_tracing=True`: Sentry
  performance monitoring records and propagates traces. Plain `sentry_sdk.init(dsn=...)` only
  reports errors and does not count;
- a launch command that runs the app under `opentelemetry-instrument` (zero-code
  instrumentation): the Dockerfile's `ENTRYPOINT`/`CMD`, a Kubernetes container's
  `command`/`args`, a compose service's `command`;
- `Tracing: Active` on a SAM function of the service, or in its template's `Globals.Function`
  (X-Ray).

One finding per service, at its `FastAPI(...)` call (a worker: its worker app).

Importing only `opentelemetry.trace` to create spans does not count: without an SDK
`TracerProvider` the API is a no-op and those spans go nowhere. A Procfile is not read.

## Why is this bad?
In a system of services, one slow or failing request crosses several processes. Without
traces there is no way to see which hop was slow or failed, and no trace id to join the
logs of the services involved. The untraced service also breaks the chain for everyone
downstream: it does not propagate the W3C `traceparent` header it received.

## Example
```python
app = FastAPI()
```

## How to fix
```python
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

provider = TracerProvider()  # service name and endpoint from OTEL_* environment variables
provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
trace.set_tracer_provider(provider)

app = FastAPI()
FastAPIInstrumentor.instrument_app(app)
```
"#,
    check,
};

/// Importing any of these sets up (or exists only to set up) tracing.
const TRACING_MODULES: &[&str] = &[
    "opentelemetry.sdk.trace",
    "opentelemetry.instrumentation",
    "opentelemetry.distro",
    "azure.monitor.opentelemetry",
    "ddtrace",
    "aws_xray_sdk",
    "aws_lambda_powertools.Tracer",
    "aws_lambda_powertools.tracing",
    "elasticapm",
    "newrelic.agent",
];

fn check(cx: &Context, sink: &mut Sink) {
    let Some(service) = cx.service else { return };
    let Some(anchor) = service.anchor() else {
        return;
    };
    let traced = cx.imports_module(TRACING_MODULES)
        || cx
            .setup_code()
            .any(|(_, _, code)| code.calls.iter().any(sets_up_tracing))
        || service.apps.iter().any(|a| {
            cx.project
                .call(a.call)
                .kwarg("telemetry")
                .is_some_and(|k| !is_off(&k.value))
        })
        || launch_commands(cx.project, service)
            .iter()
            .any(Command::traced)
        || service.artefacts.functions.iter().any(|r| {
            let (f, t) = cx.project.sam_function(*r);
            function_setting(f, t, |s| {
                s.tracing.as_ref().map(|(mode, _)| mode == "Active")
            })
            .unwrap_or(false)
        });
    if !traced {
        sink.report(
            anchor,
            format!(
                "service `{}` sets up no distributed tracing: no OpenTelemetry TracerProvider or instrumentor",
                service.name
            ),
        );
    }
}

fn sets_up_tracing(call: &Call) -> bool {
    let callee = &call.callee;
    if callee.is("opentelemetry.sdk.trace.TracerProvider")
        || callee.in_module("opentelemetry.instrumentation")
        || callee.in_module("ddtrace")
        || callee.in_module("aws_xray_sdk")
        || callee.is("aws_lambda_powertools.Tracer")
        || callee.is("logfire.configure")
    {
        return true;
    }
    // An instrumentor imported under another name or re-exported by the service's own
    // telemetry module: `FooInstrumentor().instrument()`, `FooInstrumentor.instrument_app(app)`.
    let path = callee.effective();
    if let Some((base, method)) = path.rsplit_once('.')
        && matches!(method, "instrument" | "instrument_app")
        && base.trim_end_matches("()").ends_with("Instrumentor")
    {
        return true;
    }
    if is_logfire_setup(callee) {
        return true;
    }
    if callee.is("sentry_sdk.init") {
        let sampled = |k: &Kwarg| match &*k.name {
            "traces_sample_rate" | "enable_tracing" => !is_off(&k.value),
            "traces_sampler" => true,
            _ => false,
        };
        return call.has_star_kwargs || call.kwargs.iter().any(sampled);
    }
    false
}

/// Pydantic Logfire: `logfire.configure()` or `logfire.instrument_fastapi(app)` (any
/// `instrument_*`), on the module or on a name `logfire` the service bound to it (`logfire =
/// configure_logfire()`, a helper that imports and configures it and returns the module).
fn is_logfire_setup(callee: &Ref) -> bool {
    let method = callee.last();
    let instruments = method.starts_with("instrument_");
    if callee.in_module("logfire") && (instruments || method == "configure") {
        return true;
    }
    let Some((base, _)) = callee.path.rsplit_once('.') else {
        return false;
    };
    instruments && base.rsplit('.').next() == Some("logfire")
}

/// `None`, `False`, `0` or `0.0`: the option is given but turns tracing off.
fn is_off(v: &Value) -> bool {
    matches!(v, Value::None | Value::Bool(false) | Value::Int(0))
        || matches!(v, Value::Float(f) if *f == 0.0)
}
