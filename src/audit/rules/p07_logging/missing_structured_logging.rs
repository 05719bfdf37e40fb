//! LG002 `missing-structured-logging`: a service that never configures structured (JSON)
//! logging.

use crate::audit::model::Symbol;
use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "LG002",
    name: "missing-structured-logging",
    principle: Principle::P7,
    severity: Severity::Warning,
    kinds: ALL_KINDS,
    reach: Reach::Services,
    help: "configure structlog (or a JSON formatter) so every log line is a JSON object",
    doc: r#"## What it does
Reports a service in which nothing configures structured logging. Any of these counts:
- `structlog` (imported anywhere outside tests);
- a JSON formatter library: `pythonjsonlogger` (python-json-logger), `json_log_formatter`,
  `json_logging`, `ecs_logging`;
- `aws_lambda_powertools.Logger`;
- OpenTelemetry log export (`opentelemetry.sdk._logs`, an OTLP log exporter): records leave
  as OTLP log records with fields;
- loguru with `logger.add(..., serialize=True)` (or `serialize` in `logger.configure` handlers);
- a `logging.Formatter` subclass named like a JSON formatter (`JsonFormatter`);
- `logging.config.dictConfig(...)` or `uvicorn.run(log_config=...)` whose configuration
  mentions a JSON or structlog formatter, or cannot be read (loaded from a file, built by a
  function): the audit gives those the benefit of the doubt, as it does `fileConfig` (except
  in an alembic migration environment, whose `fileConfig` sets up the migration command's
  logging) and a logging set-up helper (`setup_logging()`, `configure_logs()`) imported from a
  package outside the audited tree.

A logging configuration file of the service in the `dictConfig` schema (YAML or JSON with
`version: 1` and `formatters`, as uvicorn's `--log-config` / `log_config=` takes) counts when
one of its formatters is a JSON or structlog formatter; one of text formatters only is a
plain-text set-up.

A service that only sets up plain-text lines (`logging.basicConfig(...)`, a text
`logging.Formatter(...)`, a loguru sink without `serialize=True`), or configures nothing at
all, is reported. One finding per service: at the call that sets up the plain-text lines when
there is one (the line to change: of several, an unconditional one before one in an `if`
branch, `basicConfig` or a loguru sink on stdout/stderr before a formatter or another sink,
service code before scripts), else at its `FastAPI(...)` call (a worker: its worker app).

## Why is this bad?
Plain-text lines (`INFO:app:order created`) cannot be queried by field, carry no request id or
trace id, and split multi-line tracebacks into separate events. In a system of services the
logs of one request are spread over several processes; only fields (request id, trace id, span
id) let a log pipeline join them back together.

## Example
```python
logging.basicConfig(level=logging.INFO)
app = FastAPI()
```

## How to fix
```python
import structlog

structlog.configure(
    processors=[
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso"),
        structlog.processors.JSONRenderer(),
    ],
)
app = FastAPI()
```
"#,
    check,
};

/// Modules that exist to emit structured log lines.
const STRUCTURED_MODULES: &[&str] = &[
    "structlog",
    "pythonjsonlogger",
    "json_log_formatter",
    "json_logging",
    "ecs_logging",
    "aws_lambda_powertools.Logger",
    "aws_lambda_powertools.logging",
    // OpenTelemetry log export: records leave the process as OTLP log records with fields
    // and trace ids, not as text lines.
    "opentelemetry.sdk._logs",
    "opentelemetry.exporter.otlp.proto.http._log_exporter",
    "opentelemetry.exporter.otlp.proto.grpc._log_exporter",
];

/// Names of helpers that set up a process's logging (`setup_logging()`): when one comes from a
/// package outside the audited tree, its body is not seen.
const LOGGING_SETUP_HELPERS: &[&str] = &[
    "setup_logging",
    "configure_logging",
    "configure_logs",
    "setup_logs",
    "init_logging",
    "init_logs",
];

/// Words that mark a formatter in a logging configuration as structured.
const STRUCTURED_WORDS: &[&str] = &["json", "structlog", "ecs_logging"];

fn check(cx: &Context, sink: &mut Sink) {
    let Some(service) = cx.service else { return };
    let Some(anchor) = service.anchor() else {
        return;
    };
    let structured = cx.imports_module(STRUCTURED_MODULES)
        || cx.setup_code().any(|(_, _, code)| {
            code.calls
                .iter()
                .any(|c| configures_structured(cx, service, code, c))
                || code.classes.iter().any(|k| {
                    k.name.to_ascii_lowercase().contains("json")
                        && k.bases.iter().any(|b| b.is("logging.Formatter"))
                })
        });
    // Logging configuration files of the service (`--log-config logging.yaml`).
    let configs: Vec<(FileId, &crate::audit::artefact::logging::LoggingConfig)> = cx
        .files
        .iter()
        .filter(|&&f| cx.project.file(f).role == FileRole::Service)
        .filter_map(|&f| {
            cx.project
                .artefacts
                .get(f as usize)?
                .as_ref()?
                .logging_config()
                .map(|c| (f, c))
        })
        .collect();
    if structured
        || configs
            .iter()
            .any(|(_, c)| c.formatters.iter().any(|f| f.structured))
    {
        return;
    }
    // Point at what makes the lines plain text, where something does: that is the line to
    // change. Otherwise at the app: nothing configures logging at all. Of several, the one
    // that sets up the process's log stream: unconditional before a branch chosen at run time
    // (`if USE_EMBEDDED_DB:`), the root set-up (`basicConfig`, a loguru sink on stdout)
    // before a formatter or a side sink, service code before a script (a management
    // command's own `basicConfig`), then the first in file order.
    let plain = cx
        .setup_code()
        .flat_map(|(file, source, code)| {
            let script = source.role != FileRole::Service;
            code.calls.iter().filter_map(move |c| {
                plain_text_setup(c).map(|(what, rank)| {
                    (
                        (c.conditional, rank, script),
                        Loc {
                            file,
                            range: c.range,
                        },
                        what,
                    )
                })
            })
        })
        .chain(configs.iter().filter_map(|&(file, c)| {
            c.formatters.first().map(|f| {
                (
                    (false, 0, false),
                    Loc {
                        file,
                        range: f.range,
                    },
                    "a logging configuration file of text formatters",
                )
            })
        }))
        .min_by_key(|(key, _, _)| *key)
        .map(|(_, at, what)| (at, what));
    match plain {
        Some((at, what)) => sink.report(
            at,
            format!(
                "service `{}` logs plain text ({what}) and configures no structured (JSON) logging",
                service.name
            ),
        ),
        None => sink.report(
            anchor,
            format!(
                "service `{}` configures no structured (JSON) logging",
                service.name
            ),
        ),
    }
}

/// A call that sets up plain-text log lines: `logging.basicConfig`, a text
/// `logging.Formatter("%(levelname)s ...")`, a loguru sink without `serialize=True`, a text
/// `dictConfig`; with its
/// rank, 0 for what sets up the process's own log stream, 1 for a formatter or another sink.
fn plain_text_setup(call: &Call) -> Option<(&'static str, u8)> {
    let callee = &call.callee;
    if callee.is("logging.basicConfig") {
        return Some(("`logging.basicConfig`", 0));
    }
    if callee.is("logging.Formatter") && !call.has_star_kwargs {
        return Some(("a text `logging.Formatter`", 1));
    }
    // Only reached when no configuration is structured: a `dictConfig` the audit can read
    // and whose formatters are all text.
    if callee.is("logging.config.dictConfig") {
        return Some(("a `dictConfig` of text formatters", 0));
    }
    if callee.is("loguru.logger.add")
        && !call.has_star_kwargs
        && !call.kwargs.iter().any(|k| &*k.name == "serialize")
    {
        let to_stream = call.arg(0, "sink").is_some_and(|v| {
            v.as_name()
                .is_some_and(|r| r.is_any(&["sys.stdout", "sys.stderr"]))
        });
        return Some((
            "a loguru sink without `serialize=True`",
            u8::from(!to_stream),
        ));
    }
    None
}

fn configures_structured(cx: &Context, service: &Service, code: &CodeFile, call: &Call) -> bool {
    let callee = &call.callee;
    if callee.is("aws_lambda_powertools.Logger")
        || callee.in_module("aws_lambda_powertools.logging")
    {
        return true;
    }
    if callee.is_any(&["loguru.logger.add", "loguru.logger.configure"]) {
        return call.has_star_kwargs
            || call.kwargs.iter().any(|k| {
                (&*k.name == "serialize" && k.value.as_bool() != Some(false))
                    || mentions_serialize(&k.value)
            });
    }
    if callee.is("logging.config.fileConfig") {
        // An ini/YAML file the audit does not read: give it the benefit of the doubt. Not in
        // an alembic migration environment (`env.py`), whose `fileConfig(alembic.ini)` sets up
        // the `alembic upgrade` command's logging, not the service's.
        return !imports_alembic(code);
    }
    if callee.origin == RefOrigin::Import
        && LOGGING_SETUP_HELPERS.contains(&callee.last())
        && !callee.in_module("logging")
        && cx.project.resolve(service, callee).is_none()
    {
        // `from shared_lib.logger import configure_logs`: the logging set-up of a package
        // outside the audited tree, which the audit cannot read; the benefit of the doubt.
        return true;
    }
    let config = if callee.is("logging.config.dictConfig") {
        call.arg(0, "config")
    } else if callee.is("uvicorn.run") {
        call.kwarg("log_config").map(|k| &k.value)
    } else {
        return false;
    };
    match config {
        Some(v) => logging_config_is_structured(cx, service, v),
        None => call.has_star_kwargs,
    }
}

/// The file is an alembic migration environment (`from alembic import context`).
fn imports_alembic(code: &CodeFile) -> bool {
    code.imports.iter().any(|i| {
        i.full
            .strip_prefix("alembic")
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
    })
}

/// A `dictConfig` / `log_config` value: structured when it mentions a JSON or structlog
/// formatter, or when the audit cannot see it (a file path, a loaded or computed dict).
fn logging_config_is_structured(cx: &Context, service: &Service, value: &Value) -> bool {
    match value {
        Value::Dict(_) => !matches!(mentions_structured(value), Mention::No),
        Value::None => false,
        Value::Ref(r) => match cx.project.resolve(service, r) {
            Some(Symbol::Assign { file, index }) => match cx.project.code(file) {
                Some(code) => {
                    let v = &code.assigns[index as usize].value;
                    !matches!(v, Value::Dict(_)) || !matches!(mentions_structured(v), Mention::No)
                }
                None => true,
            },
            _ => true,
        },
        _ => true,
    }
}

enum Mention {
    Yes,
    No,
    /// Part of the value was cut off or computed: it may say anything.
    Unknown,
}

fn mentions_structured(value: &Value) -> Mention {
    let text_mentions = |s: &str| {
        let lower = s.to_ascii_lowercase();
        STRUCTURED_WORDS.iter().any(|w| lower.contains(w))
    };
    let children: Vec<&Value> = match value {
        Value::Str(s) => {
            return if text_mentions(s) {
                Mention::Yes
            } else {
                Mention::No
            };
        }
        Value::Ref(r) => {
            return if text_mentions(&r.path) {
                Mention::Yes
            } else {
                Mention::No
            };
        }
        Value::Other => return Mention::Unknown,
        Value::List(v) | Value::Tuple(v) | Value::Set(v) | Value::Either(v) => v.iter().collect(),
        Value::Dict(items) => items.iter().flat_map(|(k, v)| [k, v]).collect(),
        Value::Call(c) => c
            .args
            .iter()
            .chain(c.kwargs.iter().map(|(_, v)| v))
            .collect(),
        Value::Subscript(sub) => std::iter::once(&sub.0).chain(sub.1.iter()).collect(),
        _ => return Mention::No,
    };
    let mut unknown = false;
    for child in children {
        match mentions_structured(child) {
            Mention::Yes => return Mention::Yes,
            Mention::Unknown => unknown = true,
            Mention::No => {}
        }
    }
    if unknown {
        Mention::Unknown
    } else {
        Mention::No
    }
}

/// A loguru handler dict with `"serialize": True` (`logger.configure(handlers=[...])`).
fn mentions_serialize(value: &Value) -> bool {
    match value {
        Value::Dict(items) => items.iter().any(|(k, v)| {
            (k.as_str() == Some("serialize") && v.as_bool() != Some(false)) || mentions_serialize(v)
        }),
        Value::List(v) | Value::Tuple(v) => v.iter().any(mentions_serialize),
        _ => false,
    }
}
