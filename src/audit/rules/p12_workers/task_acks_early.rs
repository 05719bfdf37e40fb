//! WK003 `task-acks-early`: a Celery task acknowledged before it runs.

use crate::audit::model::WorkerFramework;
use crate::audit::rules::prelude::*;

use super::{Setting, base_attribute, celery_setting, task_name};

pub static RULE: Rule = Rule {
    code: "WK003",
    name: "task-acks-early",
    principle: Principle::P12,
    severity: Severity::Warning,
    kinds: ALL_KINDS,
    reach: Reach::Services,
    help: "enable acks_late (task option or app.conf.task_acks_late = True) and make the task idempotent, e.g. a processed-key in Redis",
    doc: r#"## What it does
Reports Celery tasks that acknowledge their message before running: no `acks_late=True`
on the task (or its `base=` class) and no `task_acks_late = True` in the app's configuration
(`app.conf`, `Celery(...)` keywords or a `config_from_object` module). An explicit
`acks_late=False` is reported too.

Tasks whose configuration comes from somewhere the audit cannot read (a settings object
passed to `config_from_object`, `task_annotations`, a custom `task_cls` or `base` class from
another package) are not reported.

## Why is this bad?
By default Celery acknowledges a message when a worker receives it. If the worker is killed
mid-task (OOM, deploy, node drained, spot instance reclaimed), the broker has already dropped
the message and the job is lost without a trace. Containers are killed routinely, so this
is a data-losing default.

## Example
```python
@app.task
def charge_order(order_id: str) -> None:
    payments.charge(order_id)
```

## How to fix
Acknowledge after the task finishes, and make the task safe to run twice, since a
redelivered message runs it again:
```python
app.conf.update(task_acks_late=True, task_reject_on_worker_lost=True)

@app.task
def charge_order(order_id: str) -> None:
    if not redis.set(f"charged:{order_id}", 1, nx=True, ex=86400):
        return  # already done
    payments.charge(order_id)
```
"#,
    check,
};

const APP_SETTING: &[&str] = &[
    "task_acks_late",
    "CELERY_TASK_ACKS_LATE",
    "CELERY_ACKS_LATE",
];

/// What a set of configured values means: Some(true) acks late, Some(false) acks early,
/// None cannot tell.
fn acks_late(values: &[Value]) -> Option<bool> {
    if values.iter().any(|v| v.as_bool() != Some(false)) {
        // Enabled somewhere, or set to something the audit cannot evaluate.
        return values
            .iter()
            .all(|v| v.as_bool() == Some(true))
            .then_some(true);
    }
    Some(false)
}

fn check(cx: &Context, sink: &mut Sink) {
    let Some(service) = cx.service else { return };
    let mut app_setting = None;
    for task in service
        .tasks
        .iter()
        .filter(|t| t.framework == WorkerFramework::Celery)
    {
        let explicit = match task.option("acks_late") {
            Some(v) => Setting::Set(vec![v.clone()]),
            None => base_attribute(cx, task, "acks_late"),
        };
        let (late, explicit) = match explicit {
            Setting::Set(vs) => (acks_late(&vs), true),
            Setting::Unknown => (None, true),
            Setting::Unset => {
                let app = app_setting.get_or_insert_with(|| celery_setting(cx, APP_SETTING));
                match app {
                    Setting::Set(vs) => (acks_late(vs), false),
                    Setting::Unknown => (None, false),
                    Setting::Unset => (Some(false), false),
                }
            }
        };
        if late != Some(false) {
            continue;
        }
        let name = task_name(cx, task);
        let message = if explicit {
            format!(
                "Celery task `{name}` sets acks_late=False: if the worker dies mid-task the broker has already dropped the message"
            )
        } else {
            format!(
                "Celery task `{name}` is acknowledged before it runs: if the worker dies mid-task the broker has already dropped the message"
            )
        };
        sink.report(task.at, message);
    }
}
