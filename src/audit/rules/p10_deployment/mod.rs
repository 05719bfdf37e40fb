//! P10 container and deployment hygiene: Dockerfiles, Kubernetes workloads, SAM functions and
//! compose services, read from the artefacts attached to each service; the rules about an
//! artefact alone also check the artefacts that deploy no service.

pub mod base_image_unpinned;
pub mod compose_service_runs_as_root;
pub mod compose_service_without_healthcheck;
pub mod container_image_unpinned;
pub mod container_may_run_as_root;
pub mod container_without_probes;
pub mod container_without_resources;
pub mod docker_socket_mounted;
pub mod dockerfile_runs_as_root;
pub mod lambda_handler_not_found;
pub mod lambda_without_memory_size;
pub mod lambda_without_timeout;
pub mod lambda_without_tracing;
pub mod literal_secret_in_manifest;
pub mod privilege_escalation_allowed;
pub mod privileged_compose_service;
pub mod privileged_container;
pub mod secret_in_dockerfile;
pub mod secret_in_lambda_environment;
pub mod shell_form_cmd;
pub mod unverified_remote_add;

use crate::audit::artefact::helm::Values;
use crate::audit::artefact::k8s::{Container, Workload};
use crate::audit::artefact::sam::FunctionSettings;
use crate::audit::model::artefacts::{HelmChart, ItemRef, function_setting};
use crate::audit::rules::prelude::*;

/// A `USER` / compose `user:` value that is root: `root` or UID 0, with or without a group.
pub(super) fn is_root_user(spec: &str) -> bool {
    let user = spec.split(':').next().unwrap_or("").trim();
    user == "root" || user == "0"
}

/// A literal value that reads like a secret for a secret-like name: the word it ends with.
pub(super) fn secret_literal(name: &str, value: &str) -> Option<&'static str> {
    let word = super::p03_auth::hardcoded_secret::secret_word(name)?;
    let v = value.trim();
    // A reference to another variable is not a literal.
    if v.starts_with('$') {
        return None;
    }
    super::p03_auth::hardcoded_secret::is_secret_value(v, name, word).then_some(word)
}

/// Report every Lambda function of the unit that sets `setting` neither itself nor (SAM)
/// in `Globals.Function`; `message` gets the function's logical id.
pub(super) fn report_functions_without(
    cx: &Context,
    sink: &mut Sink,
    setting: impl Fn(&FunctionSettings) -> bool,
    message: impl Fn(&str) -> String,
) {
    for r in &cx.artefacts().functions {
        let (f, t) = cx.project.sam_function(*r);
        if function_setting(f, t, |s| setting(s).then_some(())).is_none() {
            sink.report(
                Loc {
                    file: r.file,
                    range: f.range,
                },
                message(&f.logical_id),
            );
        }
    }
}

/// Every long-running (non-init) container of the unit's workloads.
pub(super) fn containers<'a>(
    cx: &Context<'a>,
) -> impl Iterator<Item = (ItemRef, &'a Workload, &'a Container)> + 'a {
    let project = cx.project;
    cx.artefacts().workloads.iter().flat_map(move |r| {
        let w = project.workload(*r);
        w.containers
            .iter()
            .filter(|c| !c.init)
            .map(move |c| (*r, w, c))
    })
}

/// Every Helm chart of the unit with its parsed `values.yaml`.
pub(super) fn helm_charts<'a>(
    cx: &Context<'a>,
) -> impl Iterator<Item = (&'a HelmChart, &'a Values)> + 'a {
    let project = cx.project;
    cx.artefacts()
        .helm_charts
        .iter()
        .filter_map(move |c| Some((c, project.artefact(c.values)?.helm_values()?)))
}

/// `deployment/orders container app`.
pub(super) fn describe(w: &Workload, c: &Container) -> String {
    format!(
        "container `{}` of {} `{}`",
        c.name,
        w.kind.to_ascii_lowercase(),
        w.name
    )
}
