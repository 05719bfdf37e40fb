//! WK001 `task-without-retry-policy`: a task that gives up on the first transient failure.

use crate::audit::model::{Task, WorkerFramework};
use crate::audit::rules::prelude::*;

use super::{Setting, base_attribute, celery_setting, task_name};

pub static RULE: Rule = Rule {
    code: "WK001",
    name: "task-without-retry-policy",
    principle: Principle::P12,
    severity: Severity::Warning,
    kinds: ALL_KINDS,
    reach: Reach::Services,
    help: "retry transient errors with a bound and backoff: autoretry_for=(...), max_retries=5, retry_backoff=True, retry_jitter=True",
    doc: r#"## What it does
Reports worker tasks with no retry policy:
- Celery tasks with none of `autoretry_for`, `max_retries` (above 0), `retry_kwargs` or
  `retry_backoff` on the task or its `base=` class, and no `self.retry(...)` in the body;
- Dramatiq actors with `max_retries=0` (Dramatiq retries by default);
- taskiq tasks without `retry_on_error`/`max_retries` labels in a service that adds no
  broker middleware at all (no `SimpleRetryMiddleware`/`SmartRetryMiddleware`).

Tasks whose options come from somewhere the audit cannot read (`task_annotations`, a
custom `task_cls`, a `base` class from another package) are not reported.

## Why is this bad?
Workers talk to databases, Redis and other services; timeouts, connection resets and 503s
happen every day. Without retries a task that hits one fails for good and its work is lost
(or waits for a human to replay it). Retries need a bound and backoff with jitter, or a
struggling dependency gets hammered by every worker at once.

## Example
```python
@app.task(acks_late=True, time_limit=60)
def sync_customer(customer_id: str) -> None:
    crm.push(customer_id)
```

## How to fix
```python
@app.task(
    acks_late=True,
    time_limit=60,
    autoretry_for=(httpx.TransportError, TimeoutError),
    max_retries=5,
    retry_backoff=True,
    retry_jitter=True,
)
def sync_customer(customer_id: str) -> None:
    crm.push(customer_id)
```
"#,
    check,
};

const CELERY_OPTIONS: &[&str] = &[
    "autoretry_for",
    "max_retries",
    "retry_kwargs",
    "retry_backoff",
];

/// A configured value that may enable retries: `max_retries=0` and `autoretry_for=()` do not.
fn enables_retries(name: &str, value: &Value) -> bool {
    match (name, value) {
        ("max_retries", Value::Int(n)) => *n > 0,
        ("retry_backoff", Value::Bool(b)) => *b,
        (_, Value::Tuple(v) | Value::List(v)) => !v.is_empty(),
        (_, Value::None) => false,
        _ => true,
    }
}

fn celery_has_policy(cx: &Context, task: &Task) -> bool {
    if task.retries_in_body {
        return true;
    }
    CELERY_OPTIONS.iter().any(|o| {
        if let Some(v) = task.option(o) {
            return enables_retries(o, v);
        }
        match base_attribute(cx, task, o) {
            Setting::Set(vs) => vs.iter().any(|v| enables_retries(o, v)),
            Setting::Unknown => true,
            Setting::Unset => false,
        }
    })
}

/// The service configures taskiq middleware the audit cannot see into, or a retry middleware.
fn taskiq_has_middleware(cx: &Context) -> bool {
    cx.service_code().any(|(_, _, code)| {
        code.calls.iter().any(|c| {
            matches!(c.callee.last(), "with_middlewares" | "add_middlewares")
                || (c.callee.in_module("taskiq") && c.callee.last().contains("Retry"))
        })
    })
}

fn check(cx: &Context, sink: &mut Sink) {
    let Some(service) = cx.service else { return };
    // `task_annotations` or a custom task class may add a policy to every task.
    let celery_opaque = matches!(
        celery_setting(cx, &["task_annotations"]),
        Setting::Unknown | Setting::Set(_)
    );
    let mut taskiq_middleware = None;
    for task in &service.tasks {
        let name = task_name(cx, task);
        match task.framework {
            WorkerFramework::Celery => {
                if celery_opaque || celery_has_policy(cx, task) {
                    continue;
                }
                sink.report(
                    task.at,
                    format!("Celery task `{name}` has no retry policy: one transient failure loses the job"),
                );
            }
            WorkerFramework::Dramatiq => {
                if task
                    .option("max_retries")
                    .is_some_and(|v| *v == Value::Int(0))
                {
                    sink.report(
                        task.at,
                        format!("Dramatiq actor `{name}` sets max_retries=0: one transient failure loses the job"),
                    );
                }
            }
            WorkerFramework::Taskiq => {
                let labelled = ["retry_on_error", "max_retries"]
                    .iter()
                    .any(|o| task.option(o).is_some());
                let middleware =
                    *taskiq_middleware.get_or_insert_with(|| taskiq_has_middleware(cx));
                if !labelled && !middleware {
                    sink.report(
                        task.at,
                        format!("taskiq task `{name}` has no retry policy and the broker has no retry middleware"),
                    );
                }
            }
            // RQ jobs and Docket tasks: not checked.
            WorkerFramework::Rq | WorkerFramework::Docket => {}
        }
    }
}
