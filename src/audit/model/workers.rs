//! Worker apps (Celery, taskiq, Dramatiq, RQ) and their tasks; Docket tasks.

use std::collections::BTreeMap;

use crate::audit::model::code::{FnId, Value};
use crate::audit::model::{
    CallRef, FnRef, Loc, Project, Service, Task, WorkerApp, WorkerFramework,
};

use crate::audit::model::frameworks::WORKER_APPS;

/// Decorators that declare a task without naming an app object.
const TASK_DECORATORS: &[(&str, WorkerFramework)] = &[
    ("celery.shared_task", WorkerFramework::Celery),
    ("dramatiq.actor", WorkerFramework::Dramatiq),
    ("rq.decorators.job", WorkerFramework::Rq),
    ("rq.job", WorkerFramework::Rq),
];

/// `@app.task` / `@broker.task` / `@broker.actor`: the framework of the app named.
fn app_framework(
    project: &Project,
    service: &Service,
    apps: &[(String, WorkerApp)],
    callee: &crate::audit::model::Ref,
) -> Option<WorkerFramework> {
    let base = callee
        .path
        .strip_suffix(".task")
        .or_else(|| callee.path.strip_suffix(".actor"))?;
    if let Some((_, app)) = apps.iter().find(|(k, _)| k == base) {
        return Some(app.framework);
    }
    if callee
        .instance
        .as_deref()
        .is_some_and(|i| i.starts_with("celery.Celery()"))
    {
        return Some(WorkerFramework::Celery);
    }
    // An app imported from another module of the service.
    match service.symbols.resolve(project, base)? {
        crate::audit::model::Symbol::Assign { file, index } => {
            let code = project.code(file)?;
            let a = &code.assigns[index as usize];
            let key = format!("{}.{}", code.module, a.target);
            apps.iter()
                .find(|(k, _)| *k == key)
                .map(|(_, app)| app.framework)
        }
        _ => None,
    }
}

pub(super) fn link(project: &Project, service: &mut Service) {
    let mut apps: Vec<(String, WorkerApp)> = Vec::new();
    for (file, source, code) in project.code_files(&service.files) {
        if source.is_test() {
            continue;
        }
        for a in &code.assigns {
            let Some(call) = a.value.as_call() else {
                continue;
            };
            let Some(&(_, framework)) = WORKER_APPS.iter().find(|(p, _)| call.callee.is(p)) else {
                continue;
            };
            let Some(key) = code.binding_name(a) else {
                continue;
            };
            let Some(index) = code.call_at(call.range) else {
                continue;
            };
            apps.push((
                key.clone(),
                WorkerApp {
                    framework,
                    name: key,
                    call: CallRef { file, index },
                    at: Loc {
                        file,
                        range: call.range,
                    },
                    defaults: BTreeMap::new(),
                },
            ));
        }
    }

    // Configuration: `app.conf.update(k=v)`, `app.conf.k = v`, `app.conf.update({...})`.
    for (_, source, code) in project.code_files(&service.files) {
        if source.is_test() {
            continue;
        }
        for call in &code.calls {
            for (key, app) in apps.iter_mut() {
                if call.callee.path.strip_prefix(key.as_str()) == Some(".conf.update") {
                    for k in &call.kwargs {
                        app.defaults.insert(k.name.to_string(), k.value.clone());
                    }
                    if let Some(Value::Dict(items)) = call.args.first().map(|a| &a.value) {
                        for (k, v) in items {
                            if let Some(k) = k.as_str() {
                                app.defaults.insert(k.to_string(), v.clone());
                            }
                        }
                    }
                }
            }
        }
        for a in &code.attr_assigns {
            for (key, app) in apps.iter_mut() {
                if let Some(setting) = a
                    .target
                    .path
                    .strip_prefix(key.as_str())
                    .and_then(|r| r.strip_prefix(".conf."))
                {
                    app.defaults.insert(setting.to_string(), a.value.clone());
                }
            }
        }
    }

    let mut tasks = Vec::new();
    for (file, source, code) in project.code_files(&service.files) {
        if source.is_test() {
            continue;
        }
        for (i, f) in code.functions.iter().enumerate() {
            for d in &f.decorators {
                let (callee, options) = match &d.value {
                    Value::Call(c) => (&c.callee, &c.kwargs[..]),
                    Value::Ref(r) => (r, &[][..]),
                    _ => continue,
                };
                let framework = TASK_DECORATORS
                    .iter()
                    .find(|(p, _)| callee.is(p))
                    .map(|(_, fw)| *fw)
                    .or_else(|| app_framework(project, service, &apps, callee));
                let Some(framework) = framework else { continue };
                let retries_in_body = code.calls_in(i as FnId).any(|c| {
                    c.callee.path.ends_with(".retry")
                        && !c.callee.in_module("stamina")
                        && !c.callee.in_module("tenacity")
                });
                tasks.push(Task {
                    framework,
                    func: FnRef {
                        file,
                        func: i as FnId,
                    },
                    options: options
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.clone()))
                        .collect(),
                    at: Loc {
                        file,
                        range: d.range,
                    },
                    retries_in_body,
                });
            }
        }
    }
    docket_tasks(project, service, &mut tasks);
    for t in &tasks {
        if !service.entry_points.contains(&t.func) {
            service.entry_points.push(t.func);
        }
    }
    service.entry_points.sort();
    service.worker_apps = apps.into_iter().map(|(_, a)| a).collect();
    service.tasks = tasks;
}

/// pydocket tasks: functions scheduled with `docket.add(task, key=...)(...)` (or registered
/// with `docket.register(task)`) on a parameter that is a `Docket` (`docket: Docket =
/// CurrentDocket()`, or typed `Docket` / an `Annotated[Docket, ...]` alias). Their options
/// are the docket dependencies among their parameters' defaults (`retry: Retry = Retry(...)`,
/// `timeout: Timeout = Timeout(...)`), by class name.
fn docket_tasks(project: &Project, service: &Service, tasks: &mut Vec<Task>) {
    for (_, source, code) in project.code_files(&service.files) {
        if source.is_test() {
            continue;
        }
        for call in &code.calls {
            if !matches!(call.callee.last(), "add" | "register") {
                continue;
            }
            let Some(receiver) = call.callee.path.strip_suffix(call.callee.last()) else {
                continue;
            };
            let receiver = receiver.trim_end_matches('.');
            if receiver.contains('.')
                || !is_docket_param(project, service, code, call.func, receiver)
            {
                continue;
            }
            let Some(task) = call
                .args
                .first()
                .and_then(|a| a.value.as_name())
                .and_then(|r| project.resolve_function(service, r))
            else {
                continue;
            };
            if tasks.iter().any(|t| t.func == task) {
                continue;
            }
            let task_code = project.code(task.file).expect("function in a parsed file");
            let function = task_code.function(task.func);
            let options = function
                .params
                .iter()
                .filter_map(|p| match &p.default {
                    Some(Value::Call(c)) if c.callee.in_module("docket") => {
                        Some((c.callee.last().to_string(), p.default.clone()?))
                    }
                    _ => None,
                })
                .collect();
            tasks.push(Task {
                framework: WorkerFramework::Docket,
                func: task,
                options,
                at: Loc {
                    file: task.file,
                    range: function.name_range,
                },
                retries_in_body: false,
            });
        }
    }
}

/// `name` is a parameter of the function `func` (or of one around it) that holds a Docket.
fn is_docket_param(
    project: &Project,
    service: &Service,
    code: &crate::audit::model::CodeFile,
    mut func: Option<FnId>,
    name: &str,
) -> bool {
    while let Some(id) = func {
        let f = code.function(id);
        if let Some(p) = f.params.iter().find(|p| &*p.name == name) {
            let default_is_current = matches!(&p.default, Some(Value::Call(c))
                if c.callee.is("docket.CurrentDocket"));
            return default_is_current
                || p.annotation
                    .as_ref()
                    .is_some_and(|a| names_docket(project, service, a, 1));
        }
        func = f.parent;
    }
    false
}

/// An annotation that is `docket.Docket`, `Annotated[docket.Docket, ...]`, or an alias of one
/// (`Docket = Annotated[Docket_, Depends(docket)]`), one hop away.
fn names_docket(project: &Project, service: &Service, value: &Value, hops: u8) -> bool {
    match value {
        Value::Ref(r) => {
            if r.is("docket.Docket") || r.is("docket.docket.Docket") {
                return true;
            }
            if hops == 0 {
                return false;
            }
            match service.symbols.resolve(project, &r.path) {
                Some(crate::audit::model::Symbol::Assign { file, index }) => {
                    project.code(file).is_some_and(|c| {
                        names_docket(project, service, &c.assigns[index as usize].value, hops - 1)
                    })
                }
                _ => false,
            }
        }
        Value::Subscript(sub) => {
            sub.0
                .as_name()
                .is_some_and(|b| b.is("typing.Annotated") || b.is("typing_extensions.Annotated"))
                && sub
                    .1
                    .first()
                    .is_some_and(|v| names_docket(project, service, v, hops))
        }
        _ => false,
    }
}
