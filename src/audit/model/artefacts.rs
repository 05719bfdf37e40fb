//! Attaching deployment artefacts to services: by directory, compose `build:` context, SAM
//! `CodeUri`, and Kubernetes image name; then what they tell about the service (its kind, the
//! port it listens on).

use super::code::{Scope, Value};
use super::{Kind, Loc, Project, Service};
use crate::audit::artefact::command::Command;
use crate::audit::artefact::compose::ComposeService;
use crate::audit::artefact::dockerfile::{Dockerfile, ImageRef, Instruction};
use crate::audit::artefact::k8s::{Container, SecretValue, Workload};
use crate::audit::artefact::proxy::ProxyFacts;
use crate::audit::artefact::sam::{FunctionSettings, Template};
use crate::audit::artefact::{Artefact, sam};
use crate::audit::source::FileId;

/// A workload, SAM function or compose service: the file and its index in that file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemRef {
    pub file: FileId,
    pub index: usize,
}

/// The artefacts that deploy a service (or, as [`Project::loose_artefacts`], none).
#[derive(Debug, Default, Clone)]
pub struct ServiceArtefacts {
    pub dockerfiles: Vec<FileId>,
    pub workloads: Vec<ItemRef>,
    pub functions: Vec<ItemRef>,
    pub compose: Vec<ItemRef>,
    /// Literal values of Kubernetes `Secret` manifests.
    pub secret_values: Vec<ItemRef>,
    /// Helm charts: their `values.yaml` and what their templates read from it.
    pub helm_charts: Vec<HelmChart>,
    /// Files whose proxy/gateway settings (headers, rate limits) apply to the service.
    pub proxies: Vec<FileId>,
}

impl ServiceArtefacts {
    pub fn is_empty(&self) -> bool {
        self.dockerfiles.is_empty()
            && self.workloads.is_empty()
            && self.functions.is_empty()
            && self.compose.is_empty()
    }
}

/// A Helm chart: its `values.yaml` and the values its templates use (a `resources: {}` in
/// values matters only when a template renders `.Values.resources`).
#[derive(Debug, Default, Clone)]
pub struct HelmChart {
    pub values: FileId,
    pub uses_resources: bool,
    pub uses_liveness: bool,
    pub uses_readiness: bool,
    pub uses_image_tag: bool,
    /// A template falls back to the chart's `appVersion` (`default .Chart.AppVersion`): an
    /// empty tag is pinned by the chart's version.
    pub tag_defaults_to_app_version: bool,
}

impl HelmChart {
    /// What the templates of the chart whose values file is `values` read, scanning each
    /// template's text for the references.
    fn read(project: &Project, values: FileId) -> HelmChart {
        let rel = &project.files[values as usize].rel;
        let templates = format!(
            "{}templates/",
            rel.rsplit_once('/')
                .map_or("".into(), |(d, _)| format!("{d}/"))
        );
        let mut chart = HelmChart {
            values,
            ..HelmChart::default()
        };
        for f in project
            .files
            .iter()
            .filter(|f| f.rel.starts_with(&templates))
        {
            let t = f.text();
            chart.uses_resources |= t.contains(".Values.resources");
            chart.uses_liveness |= t.contains(".Values.livenessProbe");
            chart.uses_readiness |= t.contains(".Values.readinessProbe");
            chart.uses_image_tag |= t.contains(".Values.image.tag");
            chart.tag_defaults_to_app_version |= t.contains(".Chart.AppVersion");
        }
        chart
    }
}

/// The port the service's app listens on, and what says so.
#[derive(Debug, Clone)]
pub struct ListenPort {
    pub port: u16,
    /// `the Dockerfile CMD`, `uvicorn.run(port=...)`, ...
    pub source: String,
    /// Where it is said; None when it is the container's own command.
    pub at: Option<Loc>,
}

impl Project {
    pub fn artefact(&self, file: FileId) -> Option<&Artefact> {
        self.artefacts.get(file as usize).and_then(|a| a.as_ref())
    }

    pub fn dockerfile(&self, file: FileId) -> Option<&Dockerfile> {
        self.artefact(file)?.dockerfile()
    }

    pub fn workload(&self, r: ItemRef) -> &Workload {
        &self
            .artefact(r.file)
            .expect("attached artefact")
            .workloads()[r.index]
    }

    pub fn secret_value(&self, r: ItemRef) -> &SecretValue {
        &self
            .artefact(r.file)
            .expect("attached artefact")
            .secret_values()[r.index]
    }

    pub fn compose_service(&self, r: ItemRef) -> &ComposeService {
        &self.artefact(r.file).expect("attached artefact").compose()[r.index]
    }

    pub fn sam_template(&self, file: FileId) -> Option<&Template> {
        self.artefact(file)?.sam()
    }

    /// A SAM function and its template.
    pub fn sam_function(&self, r: ItemRef) -> (&sam::Function, &Template) {
        let t = self.sam_template(r.file).expect("attached template");
        (&t.functions[r.index], t)
    }

    /// What the proxies and gateways in front of a service do for it, all files combined.
    pub fn proxy_facts(&self, service: &Service) -> ProxyFacts {
        let mut facts = ProxyFacts::default();
        for a in service
            .artefacts
            .proxies
            .iter()
            .filter_map(|&f| self.artefact(f))
        {
            facts.security_headers |= a.proxy.security_headers;
            facts.rate_limit |= a.proxy.rate_limit;
        }
        facts
    }

    /// Every (Dockerfile, final stage index) of a service's (or the loose) artefacts: the
    /// stages a compose `build.target` or a CI `docker build --target` selects when there are any (the image built ends
    /// there), else the last stage.
    pub fn final_stages<'a>(
        &'a self,
        artefacts: &'a ServiceArtefacts,
    ) -> impl Iterator<Item = (FileId, &'a Dockerfile, usize)> + 'a {
        artefacts.dockerfiles.iter().flat_map(move |&f| {
            let d = self.dockerfile(f);
            let mut stages: Vec<usize> = self
                .build_targets
                .iter()
                .filter(|(file, _)| *file == f)
                .filter_map(|(_, target)| Some(d?.stage_named(target)?.0))
                .collect();
            stages.dedup();
            if stages.is_empty() {
                stages.extend(d.and_then(|d| d.stages.len().checked_sub(1)));
            }
            stages.into_iter().filter_map(move |s| Some((f, d?, s)))
        })
    }
}

/// A function setting, falling back to `Globals.Function` for serverless functions.
pub fn function_setting<'a, T>(
    f: &'a sam::Function,
    t: &'a Template,
    pick: impl Fn(&'a FunctionSettings) -> Option<T>,
) -> Option<T> {
    pick(&f.settings).or_else(|| f.serverless.then(|| pick(&t.globals)).flatten())
}

/// The command a Dockerfile's final stage runs: ENTRYPOINT + CMD as Docker combines them (a
/// shell-form ENTRYPOINT ignores CMD).
pub fn image_command(d: &Dockerfile, stage: usize) -> Option<(Command, &Instruction)> {
    let ep = d.effective(stage, "ENTRYPOINT");
    let cmd = d.effective(stage, "CMD");
    match (ep, cmd) {
        (Some(e), Some(c)) => {
            let ec = e.command()?;
            let cc = c.command()?;
            if ec.form == crate::audit::artefact::command::Form::Shell || ec.program().is_empty() {
                return Some((ec, e));
            }
            // A wrapper entrypoint (`docker-entrypoint.sh`, `tini --`) runs the CMD.
            let combined = Command::exec(ec.words.iter().chain(&cc.words).cloned().collect());
            let launcher = ec.is_http_server() || ec.is_worker() || ec.traced();
            Some(if launcher { (combined, e) } else { (cc, c) })
        }
        (Some(e), None) => Some((e.command()?, e)),
        (None, Some(c)) => Some((c.command()?, c)),
        (None, None) => None,
    }
}

/// Attach every artefact to the services it deploys, then refine kinds and find ports.
pub fn attach(project: &mut Project, artefacts: Vec<Option<Artefact>>) {
    project.artefacts = artefacts;
    super::kustomize::apply(project);
    let mut attached: Vec<ServiceArtefacts> =
        vec![ServiceArtefacts::default(); project.services.len()];
    let mut loose = ServiceArtefacts::default();
    let mut targets = Vec::new();
    for (id, a) in project.artefacts.iter().enumerate() {
        let Some(a) = a else { continue };
        let file = id as FileId;
        let rel = &project.files[id].rel;
        let dir = rel.rsplit_once('/').map_or("", |(d, _)| d);
        let owner = project.owner[id];
        if a.dockerfile().is_some() {
            match owner {
                Some(s) => attached[s].dockerfiles.push(file),
                None => loose.dockerfiles.push(file),
            }
        }
        for (index, w) in a.workloads().iter().enumerate() {
            let by_image = w.containers.iter().find_map(|c| {
                let (image, _) = c.image.as_ref()?;
                service_named(project, ImageRef::parse(image).short_name())
            });
            // Then the names the manifest gives the application: its app labels, its
            // (non-init) container names, the workload's own name.
            let by_name = || {
                w.app_labels
                    .iter()
                    .map(String::as_str)
                    .chain(w.containers.iter().filter(|c| !c.init).map(|c| &*c.name))
                    .chain([w.name.as_str()])
                    .filter(|n| !n.is_empty())
                    .find_map(|n| service_named(project, n))
            };
            let named = by_image.or_else(by_name);
            // In a top-level deployment directory (`k8s/`, `deploy/`, ...) the names say
            // which service is deployed better than the directory, which belongs to the
            // service at the repository's root only by the layout. A `k8s/` inside a
            // service's own directory is that service's.
            let at_root = owner.is_none_or(|s| project.services[s].root.is_empty());
            let target = match at_root && in_top_level_deploy_dir(rel) {
                true => named.or(owner),
                false => owner.or(named),
            }
            .or_else(|| only_service(project));
            match target {
                Some(s) => attached[s].workloads.push(ItemRef { file, index }),
                None => loose.workloads.push(ItemRef { file, index }),
            }
        }
        if a.helm_values().is_some() {
            let chart = HelmChart::read(project, file);
            match owner {
                Some(s) => attached[s].helm_charts.push(chart),
                None => loose.helm_charts.push(chart),
            }
        }
        for index in 0..a.secret_values().len() {
            match owner {
                Some(s) => attached[s].secret_values.push(ItemRef { file, index }),
                None => loose.secret_values.push(ItemRef { file, index }),
            }
        }
        if let Some(t) = a.sam() {
            for (index, f) in t.functions.iter().enumerate() {
                let code_uri = function_setting(f, t, |s| s.code_uri.clone());
                let target = match code_uri {
                    Some(uri) if !f.image => service_at(project, &join(dir, &uri)),
                    _ => owner,
                }
                .or(owner);
                match target {
                    Some(s) => attached[s].functions.push(ItemRef { file, index }),
                    None => loose.functions.push(ItemRef { file, index }),
                }
            }
        }
        // CI jobs start at the repository's root: `-f` is relative to it, and the default
        // Dockerfile is the context's.
        for b in &a.docker_builds {
            let dockerfile = match &b.dockerfile {
                Some(f) => join("", f),
                None => join(b.context.as_deref().unwrap_or("."), "Dockerfile"),
            };
            if let Some(f) = project.files.iter().position(|f| f.rel == dockerfile) {
                targets.push((f as FileId, b.target.clone()));
            }
        }
        for c in a.compose() {
            let (Some(ctx), Some(target)) = (&c.build, &c.build_target) else {
                continue;
            };
            let dockerfile = join(
                &join(dir, ctx),
                c.build_dockerfile.as_deref().unwrap_or("Dockerfile"),
            );
            if let Some(f) = project.files.iter().position(|f| f.rel == dockerfile) {
                targets.push((f as FileId, target.clone()));
            }
        }
        for (index, c) in a.compose().iter().enumerate() {
            let target = match &c.build {
                Some(ctx) => service_at(project, &join(dir, ctx)),
                None => c
                    .image
                    .as_deref()
                    .and_then(|i| service_named(project, ImageRef::parse(i).short_name())),
            };
            match target {
                Some(s) => attached[s].compose.push(ItemRef { file, index }),
                None => loose.compose.push(ItemRef { file, index }),
            }
        }
        if a.proxy.any() {
            let fronted: Vec<usize> = attached
                .iter()
                .enumerate()
                .filter(|(_, s)| s.functions.iter().any(|f| f.file == file))
                .map(|(i, _)| i)
                .collect();
            match owner {
                Some(s) => attached[s].proxies.push(file),
                // A throttled API in a SAM template fronts the functions of that template.
                None if !fronted.is_empty() => {
                    fronted.iter().for_each(|&s| attached[s].proxies.push(file))
                }
                // A proxy at the top of a repository fronts every service in it.
                None => attached.iter_mut().for_each(|s| s.proxies.push(file)),
            }
        }
    }
    for (i, a) in attached.into_iter().enumerate() {
        project.services[i].artefacts = a;
    }
    project.loose_artefacts = loose;
    targets.sort();
    targets.dedup();
    project.build_targets = targets;
    for i in 0..project.services.len() {
        let kind = detect_kind(project, &project.services[i]);
        let port = listen_port(project, &project.services[i]);
        let s = &mut project.services[i];
        if !s.kind_from_config
            && let Some(k) = kind
        {
            s.kind = k;
        }
        s.listen_port = port;
    }
}

/// Directories that hold deployment manifests rather than code.
const DEPLOY_DIRS: &[&str] = &[
    "k8s",
    "kubernetes",
    "deploy",
    "deployment",
    "deployments",
    "manifests",
    "kustomize",
];

fn in_top_level_deploy_dir(rel: &str) -> bool {
    rel.split_once('/')
        .is_some_and(|(top, _)| DEPLOY_DIRS.contains(&top))
}

fn only_service(project: &Project) -> Option<usize> {
    (project.services.len() == 1).then_some(0)
}

fn service_named(project: &Project, name: &str) -> Option<usize> {
    project.services.iter().position(|s| {
        s.name == name
            || s.root
                .rsplit('/')
                .next()
                .is_some_and(|b| !b.is_empty() && b == name)
    })
}

/// The deepest service whose directory holds `path`.
fn service_at(project: &Project, path: &str) -> Option<usize> {
    project
        .services
        .iter()
        .enumerate()
        .filter(|(_, s)| {
            s.root.is_empty()
                || path == s.root
                || path
                    .strip_prefix(s.root.as_str())
                    .is_some_and(|r| r.starts_with('/'))
        })
        .max_by_key(|(_, s)| s.root.len())
        .map(|(i, _)| i)
}

/// `dir` joined with a relative path, `.` and `..` resolved, without a trailing slash.
pub fn join(dir: &str, rel: &str) -> String {
    let mut parts: Vec<&str> = if rel.starts_with('/') {
        Vec::new()
    } else {
        dir.split('/').filter(|p| !p.is_empty()).collect()
    };
    for p in rel.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// Every command that launches the service: Dockerfile final stages, Kubernetes containers,
/// compose services.
pub fn launch_commands(project: &Project, service: &Service) -> Vec<Command> {
    let mut out: Vec<Command> = project
        .final_stages(&service.artefacts)
        .filter_map(|(_, d, s)| image_command(d, s).map(|(c, _)| c))
        .collect();
    for w in &service.artefacts.workloads {
        let w = project.workload(*w);
        out.extend(
            w.containers
                .iter()
                .filter(|c| !c.init)
                .filter_map(|c| c.command.clone()),
        );
    }
    for c in &service.artefacts.compose {
        out.extend(project.compose_service(*c).command.clone());
    }
    out
}

/// The kind from how the service is deployed and launched, where that says more than its
/// code: a SAM function makes it a Lambda service; a container whose command runs an ASGI
/// server makes it a container service even with a Lambda entry point among its modules (an
/// optional `handler = Mangum(app)` next to a Dockerfile running uvicorn); a container that
/// only runs a worker makes it a worker.
fn detect_kind(project: &Project, service: &Service) -> Option<Kind> {
    if !service.artefacts.functions.is_empty() {
        return Some(Kind::Lambda);
    }
    let commands = launch_commands(project, service);
    if service.kind == Kind::Lambda {
        return commands
            .iter()
            .any(Command::is_http_server)
            .then_some(Kind::Container);
    }
    if !commands.is_empty()
        && commands.iter().all(Command::is_worker)
        && !service.worker_apps.is_empty()
    {
        return Some(Kind::Worker);
    }
    None
}

/// The container's launch command, else the service's.
pub fn container_port(service: &Service, c: &Container) -> Option<ListenPort> {
    match c.command.as_ref().and_then(Command::listen_port) {
        Some(port) => Some(ListenPort {
            port,
            source: "the container's command".into(),
            at: None,
        }),
        None if c.command.as_ref().is_some_and(Command::is_http_server) => None,
        None => service.listen_port.clone(),
    }
}

fn listen_port(project: &Project, service: &Service) -> Option<ListenPort> {
    for (file, d, stage) in project.final_stages(&service.artefacts) {
        if let Some((cmd, ins)) = image_command(d, stage)
            && let Some(port) = cmd.listen_port()
        {
            return Some(ListenPort {
                port,
                source: format!("the Dockerfile's {}", ins.keyword),
                at: Some(Loc {
                    file,
                    range: ins.args_range,
                }),
            });
        }
    }
    for (file, _, code) in project.code_files(&service.files) {
        if project.files[file as usize].is_test() {
            continue;
        }
        for call in &code.calls {
            if call.callee.is_any(&["uvicorn.run", "hypercorn.run"])
                && let Some(k) = call.kwarg("port")
                && let Value::Int(p) = k.value
                && let Ok(port) = u16::try_from(p)
            {
                return Some(ListenPort {
                    port,
                    source: "`uvicorn.run(port=...)`".into(),
                    at: Some(Loc {
                        file,
                        range: call.range,
                    }),
                });
            }
        }
    }
    // A settings default: `port: int = 8000` in a class.
    for (file, _, code) in project.code_files(&service.files) {
        if project.files[file as usize].is_test() {
            continue;
        }
        for a in &code.assigns {
            if a.scope == Scope::Class
                && a.target.eq_ignore_ascii_case("port")
                && let Value::Int(p) = a.value
                && let Ok(port) = u16::try_from(p)
            {
                return Some(ListenPort {
                    port,
                    source: format!("the settings default `{} = {port}`", a.target),
                    at: Some(Loc {
                        file,
                        range: a.range,
                    }),
                });
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins() {
        assert_eq!(join("infra", "../services/orders/"), "services/orders");
        assert_eq!(join("", "./src"), "src");
        assert_eq!(join("a/b", "."), "a/b");
    }
}
