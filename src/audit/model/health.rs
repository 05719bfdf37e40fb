//! A service's health checks, wherever they are declared: the probes of its Kubernetes
//! workloads' containers, the `HEALTHCHECK` in effect in the final stages of its
//! Dockerfiles, and the `healthcheck:` of the compose services that run it. The health rules
//! (HC004 whether anything checks the container, HC005 the paths checks request, HC006 the
//! ports they request) read this one list rather than walking the three artefacts each in
//! its own way.

use crate::audit::artefact::command::Command;
use crate::audit::artefact::compose::ComposeService;
use crate::audit::artefact::k8s::{Container, Probe};

use super::artefacts::{ItemRef, ServiceArtefacts};
use super::{Loc, Project};

/// Where a health check is declared.
pub enum CheckSource<'p> {
    /// A probe (`livenessProbe`, `readinessProbe`, `startupProbe`) of a container of a
    /// Kubernetes workload.
    Kubernetes {
        workload: ItemRef,
        container: &'p Container,
        probe: &'p Probe,
    },
    /// The `HEALTHCHECK` a final stage of a Dockerfile has in effect (its own or inherited).
    Dockerfile,
    /// A compose service's `healthcheck:`.
    Compose {
        service: &'p ComposeService,
        command: &'p Command,
    },
}

/// One health check of a service.
pub struct HealthCheck<'p> {
    pub source: CheckSource<'p>,
    /// The declaration: the probe's field, the `HEALTHCHECK` instruction, the compose service.
    pub at: Loc,
    /// It checks something: not `HEALTHCHECK NONE`. A Kubernetes probe always does, and so
    /// does a compose healthcheck (one with `disable: true` or `test: ["NONE"]` is not kept
    /// when the compose file is read).
    pub active: bool,
    /// The port and path of the URL the check's command requests (`curl -f
    /// http://localhost:8000/healthz`): Dockerfile and compose checks. A Kubernetes probe
    /// names its path and port in [`Probe`] instead.
    pub url: Option<(Option<u16>, String)>,
}

impl HealthCheck<'_> {
    /// What the check is, for a message: "the livenessProbe of container `app`", "the
    /// Dockerfile HEALTHCHECK", "the healthcheck of compose service `api`".
    pub fn describe(&self) -> String {
        match &self.source {
            CheckSource::Kubernetes {
                container, probe, ..
            } => format!("the {} of container `{}`", probe.field, container.name),
            CheckSource::Dockerfile => "the Dockerfile HEALTHCHECK".into(),
            CheckSource::Compose { service, .. } => {
                format!("the healthcheck of compose service `{}`", service.name)
            }
        }
    }

    /// A liveness or readiness probe, or an image or compose check: one that tells the
    /// platform whether to restart or route to the container (a `startupProbe` alone only
    /// delays the others).
    pub fn watches_running_container(&self) -> bool {
        match &self.source {
            CheckSource::Kubernetes { probe, .. } => probe.field != "startupProbe",
            _ => self.active,
        }
    }
}

impl Project {
    /// Every health check of the artefacts that deploy a service: Kubernetes probes in
    /// manifest order (containers, then liveness, readiness, startup), then the final
    /// Dockerfile stages' `HEALTHCHECK`s, then compose healthchecks.
    pub fn health_checks<'p>(&'p self, artefacts: &'p ServiceArtefacts) -> Vec<HealthCheck<'p>> {
        let mut checks = Vec::new();
        for &r in &artefacts.workloads {
            for container in &self.workload(r).containers {
                for probe in container.probes() {
                    checks.push(HealthCheck {
                        source: CheckSource::Kubernetes {
                            workload: r,
                            container,
                            probe,
                        },
                        at: Loc {
                            file: r.file,
                            range: probe.range,
                        },
                        active: true,
                        url: None,
                    });
                }
            }
        }
        for (file, d, stage) in self.final_stages(artefacts) {
            if let Some(h) = d.effective(stage, "HEALTHCHECK") {
                let command = h.command();
                checks.push(HealthCheck {
                    source: CheckSource::Dockerfile,
                    at: Loc {
                        file,
                        range: h.range,
                    },
                    url: command.as_ref().and_then(Command::probe_url),
                    active: command.is_some(),
                });
            }
        }
        for &r in &artefacts.compose {
            let service = self.compose_service(r);
            if let Some(command) = &service.healthcheck {
                checks.push(HealthCheck {
                    source: CheckSource::Compose { service, command },
                    at: Loc {
                        file: r.file,
                        range: service.range,
                    },
                    active: true,
                    url: command.probe_url(),
                });
            }
        }
        checks
    }
}

#[cfg(test)]
mod tests {
    use crate::audit::config::Config;
    use crate::audit::{Settings, audit_sources};

    const DEPLOYMENT: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata: {name: orders}
spec:
  template:
    spec:
      containers:
        - name: app
          image: orders:1.0
          livenessProbe: {httpGet: {path: /healthz, port: 8000}}
          startupProbe: {tcpSocket: {port: 8000}}
";

    /// Every kind of check, in the documented order, with what it requests.
    #[test]
    fn one_list_of_probes_image_and_compose_checks() {
        let files: &[(&str, &[u8])] = &[
            ("requirements.txt", b"fastapi\n"),
            ("app/main.py", b"from fastapi import FastAPI\napp = FastAPI()\n"),
            (
                "Dockerfile",
                b"FROM python:3.12-slim\nHEALTHCHECK CMD curl -f http://localhost:8000/ready\nCMD [\"uvicorn\", \"app.main:app\"]\n",
            ),
            ("k8s/deployment.yaml", DEPLOYMENT.as_bytes()),
            (
                "compose.yaml",
                b"services:\n  orders:\n    build: .\n    healthcheck:\n      test: [\"CMD\", \"curl\", \"-f\", \"http://localhost:9000/live\"]\n  orders-debug:\n    build: .\n    healthcheck:\n      disable: true\n",
            ),
        ];
        let settings = Settings::in_memory(Config::default()).unwrap();
        let audited = audit_sources(files, &settings).unwrap();
        let service = &audited.project.services[0];
        let checks = audited.project.health_checks(&service.artefacts);
        let seen: Vec<String> = checks
            .iter()
            .map(|c| {
                format!(
                    "{}; active {}; watches {}; url {:?}",
                    c.describe(),
                    c.active,
                    c.watches_running_container(),
                    c.url
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                "the livenessProbe of container `app`; active true; watches true; url None",
                "the startupProbe of container `app`; active true; watches false; url None",
                "the Dockerfile HEALTHCHECK; active true; watches true; url Some((Some(8000), \"/ready\"))",
                "the healthcheck of compose service `orders`; active true; watches true; url Some((Some(9000), \"/live\"))",
            ]
        );
    }
}
