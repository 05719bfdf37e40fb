//! WK002 `task-without-time-limit`: a Celery task (or an RQ job) that may run forever.

use crate::audit::model::{Symbol, WorkerFramework};
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
`config_from_object`, `task_annotations`, a custom `task_cls`) are not reported.

RQ gives every job a default timeout of 180 s; reported is a job whose limit is turned off
with `-1` (written out or through a constant): `@job(queue, timeout=-1)`,
`Queue(..., default_timeout=-1)`, `queue.enqueue(f, job_timeout=-1)`. A Docket task (a
function scheduled with `docket.add(task)` on a `Docket`) is reported when none of its
parameters is a `Timeout(...)` dependency: Docket sets no limit of its own. Dramatiq
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
    check_rq(cx, service, sink);
    // Docket runs a task until it returns unless it takes a `Timeout(...)` dependency.
    for task in service
        .tasks
        .iter()
        .filter(|t| t.framework == WorkerFramework::Docket && t.option("Timeout").is_none())
    {
        sink.report(
            task.at,
            format!(
                "Docket task `{}` has no time limit (no `Timeout(...)` parameter): a hung call holds its worker slot forever",
                task_name(cx, task)
            ),
        );
    }
}

/// RQ gives every job a default timeout (180 s); `-1` turns it off: `@job(q, timeout=-1)`,
/// `Queue(..., default_timeout=-1)`, `q.enqueue(f, job_timeout=-1)`.
fn check_rq(cx: &Context, service: &Service, sink: &mut Sink) {
    for task in service
        .tasks
        .iter()
        .filter(|t| t.framework == WorkerFramework::Rq)
    {
        if ["timeout", "job_timeout"].iter().any(|o| {
            task.option(o)
                .is_some_and(|v| disables_limit(cx, service, v))
        }) {
            sink.report(
                task.at,
                format!(
                    "RQ job `{}` turns its time limit off (timeout=-1): a hung call holds its worker forever",
                    task_name(cx, task)
                ),
            );
        }
    }
    for app in service
        .worker_apps
        .iter()
        .filter(|a| a.framework == WorkerFramework::Rq)
    {
        let ctor = cx.project.call(app.call);
        if ctor
            .kwarg("default_timeout")
            .is_some_and(|k| disables_limit(cx, service, &k.value))
        {
            sink.report(
                app.at,
                "RQ queue turns the default time limit of its jobs off (default_timeout=-1): a hung call holds its worker forever",
            );
        }
    }
    for (file, _, code) in cx.service_code() {
        for call in &code.calls {
            if !matches!(
                call.callee.last(),
                "enqueue" | "enqueue_call" | "enqueue_in" | "enqueue_at"
            ) {
                continue;
            }
            let Some(k) = call.kwarg("job_timeout").or_else(|| {
                (call.callee.last() == "enqueue_call")
                    .then(|| call.kwarg("timeout"))
                    .flatten()
            }) else {
                continue;
            };
            if disables_limit(cx, service, &k.value) {
                sink.report(
                    Loc {
                        file,
                        range: call.callee_range,
                    },
                    "RQ job enqueued with its time limit off (job_timeout=-1): a hung call holds its worker forever",
                );
            }
        }
    }
}

/// A negative RQ timeout (`-1`), written out or through a module constant
/// (`JOB_TIMEOUT_DISABLED = -1`).
fn disables_limit(cx: &Context, service: &Service, value: &Value) -> bool {
    match value {
        Value::Int(i) => *i < 0,
        Value::Ref(r) => match cx.project.resolve(service, r) {
            Some(Symbol::Assign { file, index }) => cx
                .project
                .code(file)
                .is_some_and(|c| matches!(c.assigns[index as usize].value, Value::Int(i) if i < 0)),
            _ => false,
        },
        _ => false,
    }
}
