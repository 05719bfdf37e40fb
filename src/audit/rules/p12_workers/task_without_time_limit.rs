//! WK002 `task-without-time-limit`: a Celery task that may run forever.

use crate::audit::model::WorkerFramework;
use crate::audit::rules::prelude::*;

use super::{Setting, base_attribute, celery_setting, task_name};

pub static RULE: Rule = Rule {
    code: "WK002",
    name: "task-without-time-limit",
    principle: Principle::P12,
    severity: Severity::Warning,
    kinds: ALL_KINDS,
    reach: Reach::Services,
    help: "set soft_time_limit and time_limit on the task, or task_soft_time_limit / task_time_limit in the app config",
    doc: r#"## What it does
Reports Celery tasks with no time limit: no `time_limit` or `soft_time_limit` on the task
(or its `base=` class) and no `task_time_limit` / `task_soft_time_limit` in the app's
configuration (`app.conf`, `Celery(...)` keywords or a `config_from_object` module).

Tasks whose configuration the audit cannot read (a settings object passed to
`config_from_object`, `task_annotations`, a custom `task_cls`) are not reported. Dramatiq
actors are not reported: Dramatiq's `TimeLimit` middleware applies a default limit. taskiq
tasks are not checked.

## Why is this bad?
Celery sets no time limit by default. A task stuck on a network call without a timeout, a
lock or an endless loop holds its worker slot forever; a few of them and the worker stops
consuming the queue while looking healthy. A soft limit lets the task clean up
(`SoftTimeLimitExceeded`), the hard limit kills it if it does not.

## Example
```python
@app.task(acks_late=True, autoretry_for=(TimeoutError,), retry_backoff=True)
def render_invoice(invoice_id: str) -> None:
    ...
```

## How to fix
```python
app.conf.update(task_soft_time_limit=60, task_time_limit=90)

@app.task(acks_late=True, soft_time_limit=30, time_limit=45)
def render_invoice(invoice_id: str) -> None:
    ...
```
"#,
    check,
};

const TASK_OPTIONS: &[&str] = &["time_limit", "soft_time_limit"];

const APP_SETTINGS: &[&str] = &[
    "task_time_limit",
    "task_soft_time_limit",
    "CELERY_TASK_TIME_LIMIT",
    "CELERY_TASK_SOFT_TIME_LIMIT",
    "CELERYD_TASK_TIME_LIMIT",
    "CELERYD_TASK_SOFT_TIME_LIMIT",
];

/// True when some value may set a limit (anything but an explicit `None`).
fn limits(values: &[Value]) -> bool {
    values.iter().any(|v| !v.is_none())
}

fn check(cx: &Context, sink: &mut Sink) {
    let Some(service) = cx.service else { return };
    let mut app_limited = None;
    for task in service
        .tasks
        .iter()
        .filter(|t| t.framework == WorkerFramework::Celery)
    {
        let options: Vec<Value> = TASK_OPTIONS
            .iter()
            .filter_map(|o| task.option(o).cloned())
            .collect();
        if limits(&options) {
            continue;
        }
        let base_limited = TASK_OPTIONS
            .iter()
            .any(|o| match base_attribute(cx, task, o) {
                Setting::Set(vs) => limits(&vs),
                Setting::Unknown => true,
                Setting::Unset => false,
            });
        if base_limited {
            continue;
        }
        let app = *app_limited.get_or_insert_with(|| match celery_setting(cx, APP_SETTINGS) {
            Setting::Set(vs) => limits(&vs),
            Setting::Unknown => true,
            Setting::Unset => false,
        });
        if app {
            continue;
        }
        sink.report(
            task.at,
            format!(
                "Celery task `{}` has no time limit: a hung call holds its worker slot forever",
                task_name(cx, task)
            ),
        );
    }
}
