//! The app frameworks the audit recognises, in one table: service discovery, the HTTP linker
//! and the worker linker all read it, so that what makes a service and what its model holds
//! cannot disagree.

use crate::audit::model::WorkerFramework;

/// HTTP app classes. Subclasses defined in the repository (`class App(FastAPI)`) count too:
/// discovery follows their bases through [`app_subclasses`], the linker through the symbols.
pub const HTTP_APP_CLASSES: &[&str] = &[
    "fastapi.FastAPI",
    "fastapi.applications.FastAPI",
    "starlette.applications.Starlette",
];

/// Router classes.
pub const ROUTER_CLASSES: &[&str] = &["fastapi.APIRouter", "fastapi.routing.APIRouter"];

/// Constructors of worker apps / brokers, with their framework.
pub const WORKER_APPS: &[(&str, WorkerFramework)] = &[
    ("celery.Celery", WorkerFramework::Celery),
    ("taskiq.InMemoryBroker", WorkerFramework::Taskiq),
    ("taskiq_redis.ListQueueBroker", WorkerFramework::Taskiq),
    ("taskiq_redis.RedisStreamBroker", WorkerFramework::Taskiq),
    ("taskiq_aio_pika.AioPikaBroker", WorkerFramework::Taskiq),
    (
        "dramatiq.brokers.redis.RedisBroker",
        WorkerFramework::Dramatiq,
    ),
    (
        "dramatiq.brokers.rabbitmq.RabbitmqBroker",
        WorkerFramework::Dramatiq,
    ),
    ("rq.Queue", WorkerFramework::Rq),
];

/// Calls that make a file an app's home without building an app object the linkers keep:
/// Dramatiq's global broker and the Lambda adapter.
const OTHER_APP_CALLS: &[&str] = &["dramatiq.set_broker", "mangum.Mangum"];

/// Whether a call to `path` constructs an app of any framework.
pub fn is_app_constructor(path: &str) -> bool {
    HTTP_APP_CLASSES.contains(&path)
        || WORKER_APPS.iter().any(|(p, _)| *p == path)
        || OTHER_APP_CALLS.contains(&path)
}

/// Names of classes whose bases make them HTTP app classes, given every class of the
/// repository as (qualified name, base paths): followed three levels deep.
pub fn app_subclasses<'a>(
    classes: impl Iterator<Item = (&'a str, Vec<&'a str>)>,
) -> rustc_hash::FxHashSet<&'a str> {
    let classes: Vec<(&str, Vec<&str>)> = classes.collect();
    let mut found: rustc_hash::FxHashSet<&str> = rustc_hash::FxHashSet::default();
    for _ in 0..3 {
        let before = found.len();
        for (qual, bases) in &classes {
            if bases
                .iter()
                .any(|b| HTTP_APP_CLASSES.contains(b) || found.contains(b))
            {
                found.insert(qual);
            }
        }
        if found.len() == before {
            break;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subclasses_are_followed_through_the_repository() {
        let classes = vec![
            ("app.core.Base", vec!["fastapi.FastAPI"]),
            ("app.core.App", vec!["app.core.Base"]),
            ("app.models.User", vec!["pydantic.BaseModel"]),
        ];
        let found = app_subclasses(classes.into_iter());
        assert!(found.contains("app.core.Base") && found.contains("app.core.App"));
        assert!(!found.contains("app.models.User"));
    }

    #[test]
    fn every_framework_constructs_an_app() {
        for p in [
            "fastapi.applications.FastAPI",
            "dramatiq.brokers.redis.RedisBroker",
            "celery.Celery",
            "mangum.Mangum",
        ] {
            assert!(is_app_constructor(p), "{p}");
        }
        assert!(!is_app_constructor("fastapi.APIRouter"));
    }
}
