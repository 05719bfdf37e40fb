//! Kubernetes workloads (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob):
//! their containers, probes, ports, resources and security contexts; and the literal values
//! of `Secret` manifests.

use ruff_text_size::TextRange;

use super::command::Command;
use super::yaml::Node;

/// The annotation that suppresses rules for a whole workload: `svc.dev/ignore: "KB001,KB006"`
/// (or any selector `--select` takes: `KB`, `P10`, `ALL`).
pub const IGNORE_ANNOTATION: &str = "svc.dev/ignore";

#[derive(Debug, Clone)]
pub struct Workload {
    pub kind: String,
    pub name: String,
    /// The whole document.
    pub range: TextRange,
    /// `kind: Deployment`'s value, where workload-level findings point.
    pub kind_range: TextRange,
    pub containers: Vec<Container>,
    /// Pod-level `securityContext.runAsNonRoot`.
    pub pod_run_as_non_root: Option<bool>,
    /// Pod-level `securityContext.runAsUser`.
    pub pod_run_as_user: Option<u64>,
    /// `svc.dev/ignore` on the workload or its pod template: the words of its comma-separated
    /// list (none for an empty value), and where it is written.
    pub ignore: Option<(Vec<Box<str>>, TextRange)>,
    /// Values of the `app`, `app.kubernetes.io/name` and `app.kubernetes.io/instance` labels
    /// of the workload and its pod template: the names it deploys.
    pub app_labels: Vec<String>,
}

/// Labels that name the application a workload deploys.
const APP_LABELS: &[&str] = &[
    "app",
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
];

/// What a stream of Kubernetes documents holds that svc checks.
#[derive(Debug, Clone, Default)]
pub struct Manifests {
    pub workloads: Vec<Workload>,
    pub secret_values: Vec<SecretValue>,
}

/// A kustomize `kustomization.yaml`: what it builds on and the patches it applies.
#[derive(Debug, Clone, Default)]
pub struct Kustomization {
    /// `resources:` (and the older `bases:`): manifest files or directories with their own
    /// kustomization, relative to this file's directory. Remote ones (`github.com/...`,
    /// URLs) are not in the tree and are left out.
    pub resources: Vec<String>,
    /// Strategic-merge patch files: `patchesStrategicMerge:` entries and `patches:` entries
    /// with a `path`.
    pub patches: Vec<String>,
}

/// A kustomization file, by name: `kustomization.yaml`, `kustomization.yml`, `Kustomization`.
pub fn is_kustomization(file_name: &str) -> bool {
    matches!(
        file_name,
        "kustomization.yaml" | "kustomization.yml" | "Kustomization"
    )
}

pub fn kustomization(doc: &Node) -> Kustomization {
    let strings = |key: &str| -> Vec<String> {
        doc.get(key)
            .map(Node::items)
            .unwrap_or_default()
            .iter()
            .filter_map(Node::as_str)
            .filter(|p| !p.contains("://") && !p.starts_with("github.com/"))
            .map(str::to_string)
            .collect()
    };
    let mut resources = strings("resources");
    resources.extend(strings("bases"));
    let mut patches = strings("patchesStrategicMerge");
    patches.extend(
        doc.get("patches")
            .map(Node::items)
            .unwrap_or_default()
            .iter()
            .filter_map(|p| p.get("path")?.as_str().map(str::to_string)),
    );
    Kustomization { resources, patches }
}

/// A literal value of a `Secret`'s `data` or `stringData`: not empty, not a template
/// placeholder.
#[derive(Debug, Clone)]
pub struct SecretValue {
    /// The Secret's `metadata.name`.
    pub secret: String,
    pub key: String,
    /// `data` (base64) or `stringData`.
    pub field: &'static str,
    pub range: TextRange,
}

#[derive(Debug, Clone)]
pub struct Container {
    pub name: String,
    /// The container's mapping.
    pub range: TextRange,
    /// The `name:` value (or the mapping start), where container findings point.
    pub name_range: TextRange,
    /// An init container: runs to completion, needs no probes.
    pub init: bool,
    pub image: Option<(String, TextRange)>,
    /// `command` + `args`, when either is set.
    pub command: Option<Command>,
    pub ports: Vec<Port>,
    pub has_requests: bool,
    pub has_limits: bool,
    pub liveness: Option<Probe>,
    pub readiness: Option<Probe>,
    pub startup: Option<Probe>,
    pub privileged: Option<(bool, TextRange)>,
    pub allow_privilege_escalation: Option<(bool, TextRange)>,
    pub run_as_non_root: Option<bool>,
    pub run_as_user: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct Port {
    pub name: Option<String>,
    pub number: u64,
    pub range: TextRange,
}

#[derive(Debug, Clone)]
pub enum PortRef {
    Number(u64),
    Name(String),
}

#[derive(Debug, Clone)]
pub struct Probe {
    /// `livenessProbe`, `readinessProbe` or `startupProbe`.
    pub field: &'static str,
    pub range: TextRange,
    /// `httpGet.path` and where it is written.
    pub http_path: Option<(String, TextRange)>,
    /// `httpGet.port` / `tcpSocket.port` / `grpc.port`.
    pub port: Option<(PortRef, TextRange)>,
}

impl Container {
    /// The number a probe's port refers to (named ports resolved through `ports`).
    pub fn resolve_port(&self, port: &PortRef) -> Option<u64> {
        match port {
            PortRef::Number(n) => Some(*n),
            PortRef::Name(name) => self
                .ports
                .iter()
                .find(|p| p.name.as_deref() == Some(name))
                .map(|p| p.number),
        }
    }

    pub fn probes(&self) -> impl Iterator<Item = &Probe> {
        [&self.liveness, &self.readiness, &self.startup]
            .into_iter()
            .flatten()
    }
}

impl Workload {
    /// Runs to completion (Job, CronJob): no long-running server to probe.
    pub fn is_batch(&self) -> bool {
        matches!(self.kind.as_str(), "Job" | "CronJob")
    }
}

const WORKLOAD_KINDS: &[&str] = &[
    "Pod",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
];

/// A document that looks like a Kubernetes object (`apiVersion` and `kind`).
pub fn is_object(doc: &Node) -> bool {
    doc.get("apiVersion").is_some() && doc.get("kind").and_then(Node::as_str).is_some()
}

/// The workloads and Secret values in a stream of Kubernetes documents (a `List`'s items
/// included).
pub fn manifests(docs: &[Node]) -> Manifests {
    let mut out = Manifests::default();
    let objects =
        docs.iter().flat_map(
            |doc| match doc.get("kind").and_then(Node::as_str) == Some("List") {
                true => doc.get("items").map(Node::items).unwrap_or_default(),
                false => std::slice::from_ref(doc),
            },
        );
    for doc in objects {
        out.workloads.extend(workload(doc));
        out.secret_values.extend(secret_values(doc));
    }
    out
}

/// The workloads in a stream of Kubernetes documents.
pub fn workloads(docs: &[Node]) -> Vec<Workload> {
    manifests(docs).workloads
}

/// The literal values of a core `Secret` (`apiVersion: v1`). A `SealedSecret`, an
/// `ExternalSecret` or a `SecretProviderClass` holds no plain value: other kinds are not read.
fn secret_values(doc: &Node) -> Vec<SecretValue> {
    if doc.get("kind").and_then(Node::as_str) != Some("Secret")
        || doc
            .get("apiVersion")
            .and_then(Node::as_str)
            .is_some_and(|v| v != "v1")
    {
        return Vec::new();
    }
    let secret = doc
        .path(&["metadata", "name"])
        .and_then(Node::as_str)
        .unwrap_or("")
        .to_string();
    let mut out = Vec::new();
    for field in ["data", "stringData"] {
        for (k, v) in doc.get(field).map(|n| n.entries()).into_iter().flatten() {
            let (Some(key), Some(value)) = (k.as_str(), v.as_str()) else {
                continue;
            };
            if is_placeholder(value) {
                continue;
            }
            out.push(SecretValue {
                secret: secret.clone(),
                key: key.to_string(),
                field,
                range: v.range,
            });
        }
    }
    out
}

/// An empty value, or one a tool fills in before the manifest is applied: `${VAR}`, `$VAR`,
/// `$(VAR)`, `{{ .Values.x }}`, `<password>`, `%NAME%`.
fn is_placeholder(value: &str) -> bool {
    let v = value.trim();
    v.is_empty()
        || v.starts_with('$')
        || v.contains("${")
        || v.contains("{{")
        || (v.starts_with('<') && v.ends_with('>'))
        || (v.len() > 2 && v.starts_with('%') && v.ends_with('%'))
}

fn workload(doc: &Node) -> Option<Workload> {
    let kind_node = doc.get("kind")?;
    let kind = kind_node.as_str()?;
    if !WORKLOAD_KINDS.contains(&kind) {
        return None;
    }
    let template_path: &[&str] = match kind {
        "Pod" => &[],
        "CronJob" => &["spec", "jobTemplate", "spec", "template"],
        _ => &["spec", "template"],
    };
    let template = doc.path(template_path)?;
    let pod = if kind == "Pod" {
        doc.get("spec")?
    } else {
        template.get("spec")?
    };
    let mut containers = Vec::new();
    for (field, init) in [("containers", false), ("initContainers", true)] {
        for c in pod.get(field).map(Node::items).unwrap_or_default() {
            containers.push(container(c, init));
        }
    }
    let ignore = [doc, template]
        .into_iter()
        .filter_map(|n| n.path(&["metadata", "annotations", IGNORE_ANNOTATION]))
        .find_map(|n| {
            let rules = n
                .as_str()?
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(Into::into)
                .collect();
            Some((rules, n.range))
        });
    let mut app_labels: Vec<String> = [doc, template]
        .into_iter()
        .filter_map(|n| n.path(&["metadata", "labels"]))
        .flat_map(|labels| APP_LABELS.iter().filter_map(|l| labels.get(l)?.as_str()))
        .map(str::to_string)
        .collect();
    app_labels.dedup();
    let psc = pod.get("securityContext");
    Some(Workload {
        kind: kind.to_string(),
        name: doc
            .path(&["metadata", "name"])
            .and_then(Node::as_str)
            .unwrap_or("")
            .to_string(),
        range: doc.range,
        kind_range: kind_node.range,
        containers,
        pod_run_as_non_root: psc
            .and_then(|s| s.get("runAsNonRoot"))
            .and_then(Node::as_bool),
        pod_run_as_user: psc.and_then(|s| s.get("runAsUser")).and_then(Node::as_u64),
        ignore,
        app_labels,
    })
}

fn container(c: &Node, init: bool) -> Container {
    let name_node = c.get("name");
    let words = |k: &str| c.get(k).and_then(Node::as_strings);
    let command = match (words("command"), words("args")) {
        (None, None) => None,
        (cmd, args) => Some(Command::exec(
            cmd.unwrap_or_default()
                .into_iter()
                .chain(args.unwrap_or_default())
                .collect(),
        )),
    };
    let ports = c
        .get("ports")
        .map(Node::items)
        .unwrap_or_default()
        .iter()
        .filter_map(|p| {
            let n = p.get("containerPort")?;
            Some(Port {
                name: p.get("name").and_then(Node::as_str).map(str::to_string),
                number: n.as_u64()?,
                range: n.range,
            })
        })
        .collect();
    let resources = c.get("resources");
    let non_empty = |k: &str| {
        resources
            .and_then(|r| r.get(k))
            .is_some_and(|n| n.entries().next().is_some())
    };
    let sc = c.get("securityContext");
    let flag = |k: &str| {
        sc.and_then(|s| s.get(k))
            .and_then(|n| Some((n.as_bool()?, n.range)))
    };
    Container {
        name: name_node.and_then(Node::as_str).unwrap_or("").to_string(),
        range: c.range,
        name_range: name_node.map_or(c.range, |n| n.range),
        init,
        image: c
            .get("image")
            .and_then(|n| Some((n.as_str()?.to_string(), n.range))),
        command,
        ports,
        has_requests: non_empty("requests"),
        has_limits: non_empty("limits"),
        liveness: probe(c, "livenessProbe"),
        readiness: probe(c, "readinessProbe"),
        startup: probe(c, "startupProbe"),
        privileged: flag("privileged"),
        allow_privilege_escalation: flag("allowPrivilegeEscalation"),
        run_as_non_root: sc
            .and_then(|s| s.get("runAsNonRoot"))
            .and_then(Node::as_bool),
        run_as_user: sc.and_then(|s| s.get("runAsUser")).and_then(Node::as_u64),
    }
}

fn probe(c: &Node, field: &'static str) -> Option<Probe> {
    let p = c.get(field)?;
    let http = p.get("httpGet");
    let port_node = http
        .or_else(|| p.get("tcpSocket"))
        .or_else(|| p.get("grpc"))
        .and_then(|h| h.get("port"));
    let port = port_node.and_then(|n| {
        let r = match n.as_u64() {
            Some(num) => PortRef::Number(num),
            None => PortRef::Name(n.as_str()?.to_string()),
        };
        Some((r, n.range))
    });
    Some(Probe {
        field,
        range: c.key(field).map_or(p.range, |k| k.range),
        http_path: http.map(|h| match h.get("path") {
            Some(n) => (n.as_str().unwrap_or("/").to_string(), n.range),
            // Kubernetes probes `/` when the path is omitted.
            None => ("/".to_string(), h.range),
        }),
        port,
    })
}

#[cfg(test)]
mod tests {
    use super::super::yaml;
    use super::*;

    #[test]
    fn deployment_facts() {
        let src = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: orders
  annotations:
    svc.dev/ignore: "KB001, container-may-run-as-root"
spec:
  template:
    spec:
      securityContext:
        runAsNonRoot: true
      containers:
        - name: app
          image: ghcr.io/acme/orders:1.0
          args: ["uvicorn", "app.main:app", "--port", "8080"]
          ports:
            - name: http
              containerPort: 8080
          livenessProbe:
            httpGet: {path: /healthz, port: http}
          resources:
            requests: {cpu: 100m}
---
apiVersion: v1
kind: Service
metadata: {name: orders}
"#;
        let docs = yaml::parse(src).unwrap();
        let w = workloads(&docs);
        assert_eq!(w.len(), 1);
        let w = &w[0];
        assert_eq!(w.ignore.as_ref().unwrap().0.len(), 2);
        assert_eq!(w.pod_run_as_non_root, Some(true));
        let c = &w.containers[0];
        assert!(c.has_requests && !c.has_limits);
        assert_eq!(c.command.as_ref().unwrap().listen_port(), Some(8080));
        let live = c.liveness.as_ref().unwrap();
        assert_eq!(live.http_path.as_ref().unwrap().0, "/healthz");
        assert_eq!(c.resolve_port(&live.port.as_ref().unwrap().0), Some(8080));
        assert!(c.readiness.is_none());
    }

    #[test]
    fn secret_values_are_literals_only() {
        let src = r#"
apiVersion: v1
kind: Secret
metadata: {name: db}
data:
  password: aHVudGVyMg==
  empty: ""
stringData:
  token: s3cr3t-v4lue
  url: ${DATABASE_URL}
  helm: "{{ .Values.token }}"
  hint: <your-token>
---
apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata: {name: sealed}
spec:
  encryptedData: {password: AgBy3i4OJSWK}
"#;
        let docs = yaml::parse(src).unwrap();
        let m = manifests(&docs);
        let keys: Vec<(&str, &str)> = m
            .secret_values
            .iter()
            .map(|v| (v.field, v.key.as_str()))
            .collect();
        assert_eq!(keys, [("data", "password"), ("stringData", "token")]);
        assert_eq!(&src[m.secret_values[1].range], "s3cr3t-v4lue");
    }
}
