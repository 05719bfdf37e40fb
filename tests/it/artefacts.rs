//! Deployment artefacts across files: the monorepo fixture (a container with Kubernetes
//! manifests, a Lambda with a SAM template, a worker with compose) where the cross-file rules
//! must fire on exactly the planted mismatches, and suppressions written in Dockerfiles, YAML
//! comments and the `svc.dev/ignore` annotation.

use std::path::{Path, PathBuf};

use svc::audit::model::Kind;
use svc::audit::report::Report;
use svc::audit::{AuditOptions, audit};

fn project(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/projects")
        .join(name)
}

fn report(dir: &Path) -> Report {
    audit(&AuditOptions {
        paths: vec![dir.to_path_buf()],
        isolated: true,
        ..AuditOptions::default()
    })
    .unwrap_or_else(|e| panic!("audit of {} failed: {e}", dir.display()))
    .report
}

/// (path, line, code) of every finding in a file that is not Python: the artefact rules,
/// the cross-file rules (which point into the artefact) and suppressions in artefacts.
fn artefact_findings(report: &Report) -> Vec<(String, u32, &'static str)> {
    let mut out: Vec<_> = report
        .findings
        .iter()
        .filter(|f| !f.path.ends_with(".py"))
        .map(|f| (f.path.clone(), f.line, f.code))
        .collect();
    out.sort();
    out
}

fn owned(list: &[(&str, u32, &'static str)]) -> Vec<(String, u32, &'static str)> {
    let mut out: Vec<_> = list
        .iter()
        .map(|(p, l, c)| (p.to_string(), *l, *c))
        .collect();
    out.sort();
    out
}

#[test]
fn monorepo_services_get_their_kinds() {
    let report = report(&project("monorepo"));
    let services: Vec<_> = report
        .services
        .iter()
        .map(|s| (s.name.as_str(), s.path.as_str(), s.kind, s.routes))
        .collect();
    assert_eq!(
        services,
        vec![
            ("mailer", "services/mailer", Kind::Worker, 0),
            ("orders", "services/orders", Kind::Container, 3),
            ("quotes", "services/quotes", Kind::Lambda, 1),
        ]
    );
}

#[test]
fn monorepo_cross_file_rules_fire_on_exactly_the_planted_mismatches() {
    let report = report(&project("monorepo"));
    assert_eq!(
        artefact_findings(&report),
        owned(&[
            // The compose service of `orders` has no healthcheck, and neither has its image.
            ("docker-compose.yml", 2, "DC001"),
            // containerPort and liveness port 8080; uvicorn listens on 8000 (Dockerfile CMD).
            ("services/orders/k8s/deployment.yaml", 17, "HC006"),
            ("services/orders/k8s/deployment.yaml", 27, "HC006"),
            // The readiness probe asks for /ready; the app serves /readyz.
            ("services/orders/k8s/deployment.yaml", 30, "HC005"),
            // QuotesAdmin's Handler names an attribute the module does not define.
            ("services/quotes/template.yaml", 21, "SM005"),
        ])
    );
    let message = |path: &str, line: u32| {
        report
            .findings
            .iter()
            .find(|f| f.path == path && f.line == line)
            .map(|f| f.message.as_str())
            .unwrap()
    };
    assert_eq!(
        message("services/orders/k8s/deployment.yaml", 17),
        "containerPort 8080 of container `app`, but the app listens on 8000 (the Dockerfile's CMD)"
    );
    assert_eq!(
        message("services/orders/k8s/deployment.yaml", 30),
        "the readinessProbe of container `app` requests `/ready`, which no route of service `orders` serves"
    );
    assert_eq!(
        message("services/quotes/template.yaml", 21),
        "handler `quotes.handler.admin_handler` of `QuotesAdmin`: `services/quotes/src/quotes/handler.py` defines no `admin_handler`"
    );
    // Each finding belongs to the service the artefact deploys.
    for f in report.findings.iter().filter(|f| !f.path.ends_with(".py")) {
        let expected = match f.code {
            "SM005" => "quotes",
            _ => "orders",
        };
        assert_eq!(f.service.as_deref(), Some(expected), "{f:?}");
    }
}

/// The suppressions fixture, copied with every `svc: ignore` comment and `svc.dev/ignore`
/// annotation disarmed (same lines, so the findings they hid keep their positions).
fn without_suppressions() -> PathBuf {
    let src = project("suppressions");
    let dst = Path::new(env!("CARGO_TARGET_TMPDIR")).join("suppressions-disarmed");
    let _ = std::fs::remove_dir_all(&dst);
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let target = dst.join(path.strip_prefix(&src).unwrap());
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            let text = std::fs::read_to_string(&path).unwrap();
            let disarmed = text
                .replace("svc: ignore", "svc: not-ignore")
                .replace("svc.dev/ignore", "svc.dev/not-ignore");
            std::fs::write(&target, disarmed).unwrap();
        }
    }
    dst
}

#[test]
fn suppressions_in_dockerfiles_yaml_and_annotations() {
    let disarmed = report(&without_suppressions());
    assert_eq!(
        artefact_findings(&disarmed),
        owned(&[
            ("Dockerfile", 2, "DK002"),
            // A multi-line ENTRYPOINT: the comment above its first line covers it.
            ("Dockerfile", 10, "DK004"),
            ("k8s/deployment.yaml", 11, "KB001"),
            ("k8s/deployment.yaml", 11, "KB006"),
            ("k8s/deployment.yaml", 37, "KB005"),
        ]),
        "the fixture without its suppressions"
    );

    let suppressed = report(&project("suppressions"));
    // What they hid is gone; each suppression that hid nothing is reported where it is written.
    assert_eq!(
        artefact_findings(&suppressed),
        owned(&[
            // A Dockerfile comment above an instruction with no finding.
            ("Dockerfile", 4, "SV003"),
            // A YAML comment on a line with no finding.
            ("k8s/deployment.yaml", 39, "SV003"),
            // An annotation on a workload where the rule it names does not fire.
            ("k8s/deployment.yaml", 51, "SV003"),
        ])
    );
    let unused: Vec<_> = suppressed
        .findings
        .iter()
        .filter(|f| f.code == "SV003")
        .map(|f| f.message.as_str())
        .collect();
    assert_eq!(
        unused,
        vec![
            "`secret-in-dockerfile` does not fire here: the suppression is unused",
            "`privileged-container` does not fire here: the suppression is unused",
            "`privileged-container` does not fire here: the suppression is unused",
        ]
    );
    // The Python findings are the same with and without the artefact suppressions.
    let python = |r: &Report| {
        r.findings
            .iter()
            .filter(|f| f.path.ends_with(".py"))
            .map(|f| (f.path.clone(), f.line, f.code))
            .collect::<Vec<_>>()
    };
    assert_eq!(python(&suppressed), python(&disarmed));
}

/// One optional Lambda entry point (`handler = Mangum(app)`) in a service whose Dockerfile runs
/// uvicorn does not make it a Lambda service; without the Dockerfile it does.
#[test]
fn a_lambda_entry_point_beside_a_uvicorn_container_keeps_the_container_kind() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("app")).unwrap();
    std::fs::write(
        root.join("pyproject.toml"),
        "[project]\nname = \"api\"\nversion = \"1\"\ndependencies = [\"fastapi\", \"mangum\"]\n",
    )
    .unwrap();
    std::fs::write(root.join("app/__init__.py"), "").unwrap();
    std::fs::write(
        root.join("app/main.py"),
        "from fastapi import FastAPI\n\napp = FastAPI()\n",
    )
    .unwrap();
    std::fs::write(
        root.join("app/aws.py"),
        "from mangum import Mangum\n\nfrom .main import app\n\nhandler = Mangum(app)\n",
    )
    .unwrap();
    let kind = |root: &Path| report(root).services[0].kind;
    assert_eq!(kind(root), Kind::Lambda);
    std::fs::write(
        root.join("Dockerfile"),
        "FROM python:3.12-slim\nCMD [\"uvicorn\", \"app.main:app\", \"--host\", \"0.0.0.0\"]\n",
    )
    .unwrap();
    assert_eq!(kind(root), Kind::Container);
}

fn write_tree(root: &Path, files: &[(&str, &str)]) {
    for (rel, text) in files {
        crate::util::write_file(root, rel, text);
    }
}

/// Service discovery and the linkers read one table of frameworks: every shape below is a
/// service with its apps, and the apps of examples, CLIs and load tests are not.
#[test]
fn every_app_shape_makes_a_service_and_auxiliary_apps_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = |name: &str| {
        format!("[project]\nname = \"{name}\"\nversion = \"1\"\ndependencies = [\"fastapi\"]\n")
    };
    let (long, sub, dram, aux) = (
        manifest("long-import"),
        manifest("subclass"),
        manifest("dramatiq-worker"),
        manifest("aux"),
    );
    write_tree(
        dir.path(),
        &[
            ("long/pyproject.toml", &long),
            (
                "long/app.py",
                "from fastapi.applications import FastAPI\n\napp = FastAPI()\n\n\n@app.get(\"/items\")\nasync def items():\n    return []\n",
            ),
            ("sub/pyproject.toml", &sub),
            ("sub/app/__init__.py", ""),
            (
                "sub/app/core.py",
                "from fastapi import FastAPI\n\n\nclass ServiceApp(FastAPI):\n    pass\n",
            ),
            (
                "sub/app/main.py",
                "from .core import ServiceApp\n\napp = ServiceApp()\n\n\n@app.get(\"/orders\")\nasync def orders():\n    return []\n",
            ),
            ("dram/pyproject.toml", &dram),
            (
                "dram/worker.py",
                "import dramatiq\nfrom dramatiq.brokers.redis import RedisBroker\n\nbroker = RedisBroker(url=\"redis://redis:6379/0\")\ndramatiq.set_broker(broker)\n\n\n@dramatiq.actor\ndef send(to):\n    return to\n",
            ),
            ("aux/pyproject.toml", &aux),
            (
                "aux/examples/demo.py",
                "from fastapi import FastAPI\n\napp = FastAPI()\n",
            ),
            (
                "aux/cli/login.py",
                "from fastapi import FastAPI\n\nlogin_api = FastAPI()\n",
            ),
            (
                "aux/locustfile.py",
                "from fastapi import FastAPI\n\nmock = FastAPI()\n",
            ),
        ],
    );
    let report = report(dir.path());
    let services: Vec<_> = report
        .services
        .iter()
        .map(|s| (s.path.as_str(), s.kind, s.routes))
        .collect();
    assert_eq!(
        services,
        vec![
            ("dram", Kind::Worker, 0),
            ("long", Kind::Container, 1),
            ("sub", Kind::Container, 1),
        ]
    );
}

/// Auditing a directory inside its package (`svc audit corp/shop`): module names start below
/// the audited directory while imports name the package (`corp.shop.api.deps`); they still
/// resolve, so the route's authentication (an `Annotated` alias imported by its full package
/// path) is seen.
#[test]
fn imports_that_name_the_audited_package_resolve() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            (
                "shop/pyproject.toml",
                "[project]\nname = \"shop\"\nversion = \"1\"\ndependencies = [\"fastapi\"]\n",
            ),
            ("shop/__init__.py", ""),
            ("shop/api/__init__.py", ""),
            (
                "shop/api/deps.py",
                "from typing import Annotated\n\nfrom fastapi import Depends\n\n\nasync def get_current_user():\n    return None\n\n\nCurrentUser = Annotated[object, Depends(get_current_user)]\n",
            ),
            (
                "shop/api/orders.py",
                "from fastapi import APIRouter\n\nfrom corp.shop.api.deps import CurrentUser\n\nrouter = APIRouter(prefix=\"/orders\")\n\n\n@router.get(\"\")\nasync def orders(user: CurrentUser):\n    return []\n",
            ),
            (
                "shop/main.py",
                "from fastapi import FastAPI\n\nfrom corp.shop.api import orders\n\napp = FastAPI()\napp.include_router(orders.router)\n",
            ),
        ],
    );
    let report = report(&dir.path().join("shop"));
    assert_eq!(report.services.len(), 1);
    assert_eq!(report.services[0].routes, 1);
    let au001: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.code == "AU001")
        .map(|f| f.message.clone())
        .collect();
    assert!(au001.is_empty(), "{au001:?}");
}

/// A callable class instance as a dependency (`Depends(ProjectAdmin())`) authenticates when
/// its `__call__` takes a security dependency.
#[test]
fn a_callable_dependency_class_that_checks_a_token_authenticates() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            (
                "pyproject.toml",
                "[project]\nname = \"infra\"\nversion = \"1\"\ndependencies = [\"fastapi\"]\n",
            ),
            (
                "main.py",
                "from fastapi import Depends, FastAPI, Security\nfrom fastapi.security import HTTPBearer\n\n\nclass ProjectMember:\n    async def __call__(self, project: str, token=Security(HTTPBearer())):\n        return token\n\n\napp = FastAPI()\n\n\n@app.post(\"/projects/{project}/runs\")\nasync def runs(member=Depends(ProjectMember())):\n    return []\n",
            ),
        ],
    );
    let report = report(dir.path());
    assert!(
        !report.findings.iter().any(|f| f.code == "AU001"),
        "{:?}",
        report.findings
    );
}

/// A bare Lambda handler beside an API of routes (a compute-engine image) does not make the
/// service a Lambda service; a handler alone does.
#[test]
fn a_lambda_handler_beside_routes_is_one_more_entry_point() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            (
                "pyproject.toml",
                "[project]\nname = \"features\"\nversion = \"1\"\ndependencies = [\"fastapi\"]\n",
            ),
            (
                "server.py",
                "from fastapi import FastAPI\n\napp = FastAPI()\n\n\n@app.get(\"/features\")\nasync def features():\n    return []\n",
            ),
            (
                "engines/aws_lambda/app.py",
                "def handler(event, context):\n    return {\"statusCode\": 200}\n",
            ),
        ],
    );
    assert_eq!(report(dir.path()).services[0].kind, Kind::Container);
    std::fs::remove_file(dir.path().join("server.py")).unwrap();
    std::fs::write(
        dir.path().join("server.py"),
        "from fastapi import FastAPI\n\napp = FastAPI()\n",
    )
    .unwrap();
    assert_eq!(report(dir.path()).services[0].kind, Kind::Lambda);
}

/// Manifests in a top-level deployment directory deploy the service their labels, container
/// names or workload name name, even when the image is named otherwise and the directory
/// belongs to a service at the repository's root.
#[test]
fn top_level_manifests_attach_by_labels_and_container_names() {
    let dir = tempfile::tempdir().unwrap();
    let app = "from fastapi import FastAPI\n\napp = FastAPI()\n\n@app.get(\"/healthz\")\ndef h():\n    return {}\n";
    let deployment = |name: &str, labels: &str, container: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n{labels}spec:\n  template:\n    spec:\n      containers:\n        - name: {container}\n          image: registry.example/team/img-{name}:1.0\n"
        )
    };
    let by_label = deployment(
        "web",
        "  labels:\n    app.kubernetes.io/name: orders\n",
        "main",
    );
    let by_container = deployment("api", "", "billing");
    let unnamed = deployment("other", "", "main");
    write_tree(
        dir.path(),
        &[
            (
                "pyproject.toml",
                "[project]\nname = \"platform\"\nversion = \"1\"\n",
            ),
            ("main.py", app),
            (
                "services/orders/pyproject.toml",
                "[project]\nname = \"orders\"\nversion = \"1\"\n",
            ),
            ("services/orders/main.py", app),
            (
                "services/billing/pyproject.toml",
                "[project]\nname = \"billing\"\nversion = \"1\"\n",
            ),
            ("services/billing/main.py", app),
            ("k8s/web.yaml", &by_label),
            ("k8s/api.yaml", &by_container),
            ("k8s/other.yaml", &unnamed),
        ],
    );
    let report = report(dir.path());
    let mut owners: Vec<(String, Option<String>)> = report
        .findings
        .iter()
        .filter(|f| f.code == "KB001")
        .map(|f| (f.path.clone(), f.service.clone()))
        .collect();
    owners.sort();
    assert_eq!(
        owners,
        vec![
            ("k8s/api.yaml".to_string(), Some("billing".to_string())),
            // Named by nothing: the directory's owner, the root service.
            ("k8s/other.yaml".to_string(), Some("platform".to_string())),
            ("k8s/web.yaml".to_string(), Some("orders".to_string())),
        ]
    );
}

/// A kustomize overlay's strategic-merge patch that adds probes and resources counts for the
/// base's Deployment, and the patch, a fragment, is no workload of its own.
#[test]
fn kustomize_patches_merge_into_their_base() {
    let base = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: orders\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: ghcr.io/acme/orders:1.0.0\n          ports: [{containerPort: 8000}]\n";
    let patch = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: orders\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          livenessProbe: {httpGet: {path: /healthz, port: 8000}}\n          readinessProbe: {httpGet: {path: /healthz, port: 8000}}\n          resources:\n            requests: {cpu: 100m, memory: 128Mi}\n            limits: {memory: 256Mi}\n";
    let app = "from fastapi import FastAPI\n\napp = FastAPI()\n\n@app.get(\"/healthz\")\ndef h():\n    return {}\n";
    let mut files = vec![
        (
            "pyproject.toml",
            "[project]\nname = \"orders\"\nversion = \"1\"\n",
        ),
        ("main.py", app),
        ("deploy/base/deployment.yaml", base),
        (
            "deploy/base/kustomization.yaml",
            "resources:\n  - deployment.yaml\n",
        ),
    ];
    let kb = |files: &[(&str, &str)]| {
        let dir = tempfile::tempdir().unwrap();
        write_tree(dir.path(), files);
        let mut found: Vec<(String, &'static str)> = report(dir.path())
            .findings
            .iter()
            .filter(|f| f.code.starts_with("KB"))
            .map(|f| (f.path.clone(), f.code))
            .collect();
        found.sort();
        found
    };
    // The base alone has neither probes nor resources (KB001, KB002); its security context
    // (KB004, KB006) is not what the patch changes.
    let at_base = |codes: &[&'static str]| -> Vec<(String, &'static str)> {
        codes
            .iter()
            .map(|c| ("deploy/base/deployment.yaml".to_string(), *c))
            .collect()
    };
    assert_eq!(kb(&files), at_base(&["KB001", "KB002", "KB004", "KB006"]));
    files.extend([
        (
            "deploy/overlays/prod/kustomization.yaml",
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../base\npatches:\n  - path: probes.yaml\n",
        ),
        ("deploy/overlays/prod/probes.yaml", patch),
    ]);
    // Nothing about the patch file on its own either.
    assert_eq!(kb(&files), at_base(&["KB004", "KB006"]));
}

/// A Serverless Framework service: its functions are Lambda functions (so the service is a
/// `lambda`), `provider:` settings are inherited like SAM's Globals, literal secrets in its
/// environment are reported, handlers are resolved, and provider throttling is rate limiting.
#[test]
fn serverless_framework_functions_are_lambda_functions() {
    let app = "from fastapi import FastAPI\nfrom mangum import Mangum\n\napp = FastAPI()\n\n@app.get(\"/orders\")\ndef orders():\n    return []\n\nhandler = Mangum(app, lifespan=\"off\")\n";
    let sls = |throttle: &str| {
        format!(
            "service: orders\nprovider:\n  name: aws\n  runtime: python3.12\n  timeout: 10\n  tracing: {{lambda: true}}\n  environment:\n    DB_PASSWORD: hunter2-but-longer\n    API_TOKEN: ${{ssm:/orders/token}}\n{throttle}functions:\n  api:\n    handler: app/main.handler\n    memorySize: 512\n  nightly:\n    handler: app/jobs.run\n"
        )
    };
    let audit_with = |serverless: &str| {
        let dir = tempfile::tempdir().unwrap();
        write_tree(
            dir.path(),
            &[
                (
                    "pyproject.toml",
                    "[project]\nname = \"orders\"\nversion = \"1\"\ndependencies = [\"fastapi\", \"mangum\"]\n",
                ),
                ("app/__init__.py", ""),
                ("app/main.py", app),
                ("serverless.yml", serverless),
            ],
        );
        let r = report(dir.path());
        let mut codes: Vec<(String, u32, &'static str)> = r
            .findings
            .iter()
            .filter(|f| f.code.starts_with("SM") || f.code == "RL001")
            .map(|f| (f.path.clone(), f.line, f.code))
            .collect();
        codes.sort();
        (r.services[0].kind, codes)
    };
    let throttle =
        "  apiGateway:\n    usagePlan:\n      throttle: {burstLimit: 20, rateLimit: 10}\n";
    let (kind, codes) = audit_with(&sls(throttle));
    assert_eq!(kind, Kind::Lambda);
    assert_eq!(
        codes,
        owned(&[
            // `nightly` sets no memorySize and the provider none either.
            ("serverless.yml", 17, "SM002"),
            ("serverless.yml", 8, "SM003"),
            // app/jobs.py does not exist.
            ("serverless.yml", 18, "SM005"),
        ])
    );
    // Without the provider's throttling, nothing limits the rate.
    let (_, codes) = audit_with(&sls(""));
    assert!(codes.iter().any(|c| c.2 == "RL001"), "{codes:?}");
}
