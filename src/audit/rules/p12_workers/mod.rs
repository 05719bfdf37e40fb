pub mod hardcoded_broker_url;
pub mod task_acks_early;
pub mod task_without_retry_policy;
pub mod task_without_time_limit;

use crate::audit::model::code::Scope;
use crate::audit::model::{Symbol, Task, WorkerFramework};
use crate::audit::rules::prelude::*;

/// What the configuration visible to the audit says about a setting.
pub(super) enum Setting {
    /// Set nowhere the audit can see.
    Unset,
    /// Set, to these values (one per place that sets it).
    Set(Vec<Value>),
    /// The configuration comes from somewhere the audit cannot read (a settings object, a
    /// custom Task class, `task_annotations`): assume it may be set.
    Unknown,
}

impl Setting {
    fn add(&mut self, v: Value) {
        match self {
            Setting::Unset => *self = Setting::Set(vec![v]),
            Setting::Set(vs) => vs.push(v),
            Setting::Unknown => {}
        }
    }
}

/// A Celery app-wide setting, looked up under any of `names` (new lowercase names and their
/// old uppercase forms) in every Celery app of the service: `app.conf` assignments and
/// `update(...)`, `Celery(...)` keyword configuration, and `config_from_object("module")`
/// modules.
pub(super) fn celery_setting(cx: &Context, names: &[&str]) -> Setting {
    let Some(service) = cx.service else {
        return Setting::Unknown;
    };
    let mut out = Setting::Unset;
    for app in service
        .worker_apps
        .iter()
        .filter(|a| a.framework == WorkerFramework::Celery)
    {
        if app.defaults.contains_key("task_annotations") {
            return Setting::Unknown;
        }
        for name in names {
            if let Some(v) = app.defaults.get(*name) {
                out.add(v.clone());
            }
        }
        let ctor = cx.project.call(app.call);
        if ctor.has_star_kwargs
            || ctor.kwarg("task_cls").is_some()
            || ctor.kwarg("config_source").is_some()
        {
            return Setting::Unknown;
        }
        if ctor.kwarg("task_annotations").is_some() {
            return Setting::Unknown;
        }
        for name in names {
            if let Some(k) = ctor.kwarg(name) {
                out.add(k.value.clone());
            }
        }
    }
    for (_, _, code) in cx.service_code() {
        for call in &code.calls {
            let last = call.callee.last();
            if last == "update" && call.callee.path.ends_with(".conf.update") {
                let opaque = call.has_star_kwargs
                    || call.args.iter().any(|a| !matches!(a.value, Value::Dict(_)));
                if opaque {
                    return Setting::Unknown;
                }
            }
            if last == "config_from_envvar" {
                return Setting::Unknown;
            }
            if last != "config_from_object" {
                continue;
            }
            let Some(module) = call.arg(0, "obj").and_then(Value::as_str) else {
                return Setting::Unknown;
            };
            let Some(Symbol::Module(file)) = cx.project.resolve(service, &Ref::unknown(module))
            else {
                return Setting::Unknown;
            };
            let Some(config) = cx.project.code(file) else {
                return Setting::Unknown;
            };
            let namespace = call.kwarg("namespace").and_then(|k| k.value.as_str());
            for a in config.assigns.iter().filter(|a| a.scope == Scope::Module) {
                if a.target.as_ref() == "task_annotations" {
                    return Setting::Unknown;
                }
                let key = match namespace {
                    Some(ns) => match a.target.strip_prefix(ns).and_then(|r| r.strip_prefix('_')) {
                        Some(rest) => rest.to_ascii_lowercase(),
                        None => continue,
                    },
                    None => a.target.to_string(),
                };
                if names.contains(&key.as_str()) {
                    // `task_acks_late = shared.task_acks_late`: the value one hop away, or
                    // unknown when the audit cannot read it.
                    match &a.value {
                        Value::Ref(r) => match cx.project.resolve(service, r) {
                            Some(Symbol::Assign { file, index }) => match cx.project.code(file) {
                                Some(c)
                                    if !matches!(
                                        c.assigns[index as usize].value,
                                        Value::Ref(_)
                                    ) =>
                                {
                                    out.add(c.assigns[index as usize].value.clone())
                                }
                                _ => return Setting::Unknown,
                            },
                            _ => return Setting::Unknown,
                        },
                        v => out.add(v.clone()),
                    }
                }
            }
        }
    }
    out
}

/// A class attribute of the task's custom `base=` class (`class BaseTask(Task): acks_late =
/// True`). Unknown when the base cannot be read.
pub(super) fn base_attribute(cx: &Context, task: &Task, attr: &str) -> Setting {
    let Some(base) = task.option("base") else {
        return Setting::Unset;
    };
    let (Some(service), Some(r)) = (cx.service, base.as_name()) else {
        return Setting::Unknown;
    };
    let Some(Symbol::Class { file, index }) = cx.project.resolve(service, r) else {
        return Setting::Unknown;
    };
    let Some(code) = cx.project.code(file) else {
        return Setting::Unknown;
    };
    let class = &code.classes[index as usize];
    let found = code.assigns.iter().rev().find(|a| {
        a.scope == Scope::Class && a.class.as_deref() == Some(&*class.name) && &*a.target == attr
    });
    match found {
        Some(a) => Setting::Set(vec![a.value.clone()]),
        // Inherits straight from Celery's Task: the attribute keeps Celery's default.
        None if class.bases.iter().all(|b| b.in_module("celery")) => Setting::Unset,
        None => Setting::Unknown,
    }
}

/// The task's function name, for messages.
pub(super) fn task_name<'a>(cx: &Context<'a>, task: &Task) -> &'a str {
    &cx.project.function(task.func).name
}
