//! WK004 `hardcoded-broker-url`: a broker or result-backend URL written into the code.

use rustc_hash::FxHashSet as HashSet;

use ruff_text_size::TextRange;

use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "WK004",
    name: "hardcoded-broker-url",
    principle: Principle::P12,
    severity: Severity::Warning,
    kinds: ALL_KINDS,
    reach: Reach::AllCode,
    help: "read the broker URL from the environment through the settings class (settings.broker_url)",
    doc: r#"## What it does
Reports a literal broker or result-backend URL (`redis://`, `rediss://`, `amqp://`,
`amqps://`, `pyamqp://`, `sqs://`, `kafka://`, ...) given to a worker app:
- `Celery(...)` positional arguments and the `broker`, `backend`, `broker_url`,
  `result_backend` keywords, or a module-level constant passed there;
- `app.conf.update(broker_url=...)`, `app.conf.broker_url = ...` and the same keys in a dict;
- the URL (first argument, `url=` or `redis_url=`) of a taskiq or Dramatiq broker or result backend;
- module-level `broker_url` / `result_backend` / `CELERY_BROKER_URL` constants (Celery
  configuration modules).

Values read from settings or the environment (`settings.broker_url`,
`os.environ["BROKER_URL"]`, `os.getenv("BROKER_URL", "redis://localhost")`), defaults of
`BaseSettings` fields, and tests are not reported.

## Why is this bad?
The same image runs in development, staging and production against different brokers; a
URL in the code pins one of them (usually `localhost`, which does not exist in a pod) and
needs a rebuild to change. URLs often carry the broker password, which then lives in git
and in every image layer.

## Example
```python
app = Celery("worker", broker="redis://localhost:6379/0", backend="redis://localhost:6379/1")
```

## How to fix
```python
class Settings(BaseSettings):
    broker_url: RedisDsn
    result_backend: RedisDsn

app = Celery("worker", broker=str(settings.broker_url), backend=str(settings.result_backend))
```
"#,
    check,
};

const SCHEMES: &[&str] = &[
    "redis",
    "rediss",
    "redis+socket",
    "sentinel",
    "amqp",
    "amqps",
    "pyamqp",
    "librabbitmq",
    "sqs",
    "kafka",
    "nats",
];

const CELERY_KEYWORDS: &[&str] = &[
    "broker",
    "backend",
    "broker_url",
    "result_backend",
    "broker_read_url",
    "broker_write_url",
];

/// Module-level names that Celery reads as configuration.
const CONFIG_NAMES: &[&str] = &[
    "broker_url",
    "result_backend",
    "celery_broker_url",
    "celery_result_backend",
    "broker_read_url",
    "broker_write_url",
];

/// Modules whose constructors take a broker or result backend URL first.
const BROKER_MODULES: &[&str] = &[
    "taskiq_redis",
    "taskiq_aio_pika",
    "taskiq_nats",
    "taskiq_aio_kafka",
    "dramatiq.brokers",
    "dramatiq.results",
];

fn is_broker_url(value: &Value) -> bool {
    value.as_str().is_some_and(|s| {
        s.split_once("://")
            .is_some_and(|(scheme, _)| SCHEMES.iter().any(|k| scheme.eq_ignore_ascii_case(k)))
    })
}

struct Reporter<'s> {
    sink: &'s mut Sink,
    file: FileId,
    seen: HashSet<(u32, u32)>,
}

impl Reporter<'_> {
    fn report(&mut self, range: TextRange, message: String) {
        if self
            .seen
            .insert((range.start().to_u32(), range.end().to_u32()))
        {
            self.sink.report(
                Loc {
                    file: self.file,
                    range,
                },
                message,
            );
        }
    }

    /// A URL literal, or a module-level constant holding one (reported where it is written).
    fn value(&mut self, code: &CodeFile, value: &Value, range: TextRange, what: &str) {
        if is_broker_url(value) {
            self.report(range, format!("{what} is hard-coded"));
            return;
        }
        let Some(r) = value.as_name().filter(|r| r.origin == RefOrigin::Module) else {
            return;
        };
        let Some(name) = r
            .path
            .strip_prefix(&*code.module)
            .and_then(|n| n.strip_prefix('.'))
        else {
            return;
        };
        if let Some(a) = code.module_assign(name).filter(|a| is_broker_url(&a.value)) {
            self.report(a.value_range, format!("`{name}` hard-codes the {what}"));
        }
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    for (file, source, code) in cx.code_files() {
        if source.is_test() {
            continue;
        }
        let mut r = Reporter {
            sink: &mut *sink,
            file,
            seen: HashSet::default(),
        };
        for call in &code.calls {
            let celery_keywords = || {
                call.kwargs
                    .iter()
                    .filter(|k| CELERY_KEYWORDS.contains(&&*k.name))
            };
            if call.callee.is("celery.Celery") {
                for a in call.args.iter().skip(1) {
                    r.value(code, &a.value, a.range, "`Celery(...)` broker URL");
                }
                for k in celery_keywords() {
                    r.value(code, &k.value, k.range, &format!("Celery `{}` URL", k.name));
                }
            } else if call.callee.path.ends_with(".conf.update") {
                for k in celery_keywords() {
                    r.value(code, &k.value, k.range, &format!("Celery `{}` URL", k.name));
                }
                for a in &call.args {
                    let hard_coded = CELERY_KEYWORDS
                        .iter()
                        .any(|key| a.value.dict_get(key).is_some_and(is_broker_url));
                    if hard_coded {
                        r.report(
                            a.range,
                            "Celery configuration hard-codes the broker URL".into(),
                        );
                    }
                }
            } else if BROKER_MODULES.iter().any(|m| call.callee.in_module(m)) {
                let url = ["url", "redis_url"]
                    .iter()
                    .find_map(|n| call.kwarg(n))
                    .map(|k| (&k.value, k.range))
                    .or_else(|| call.args.first().map(|a| (&a.value, a.range)));
                if let Some((value, range)) = url {
                    let what = format!("`{}` URL", call.callee.last());
                    r.value(code, value, range, &what);
                }
            }
        }
        for a in &code.attr_assigns {
            let Some((_, key)) = a.target.path.rsplit_once(".conf.") else {
                continue;
            };
            if CELERY_KEYWORDS.contains(&key) && is_broker_url(&a.value) {
                r.report(a.range, format!("Celery `{key}` URL is hard-coded"));
            }
        }
        for a in code.assigns.iter().filter(|a| a.scope == Scope::Module) {
            let named = CONFIG_NAMES
                .iter()
                .any(|n| a.target.eq_ignore_ascii_case(n));
            if named && is_broker_url(&a.value) {
                r.report(
                    a.value_range,
                    format!("`{}` is a hard-coded broker URL", a.target),
                );
            }
        }
    }
}
