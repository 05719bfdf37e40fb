//! Image builds that CI pipelines run (GitHub Actions workflows, GitLab CI, and the like):
//! `docker build --target X` and `docker/build-push-action` with `target:` select the
//! Dockerfile stage that becomes the image, which is then the stage svc checks.

use super::yaml::{Node, Value};

/// One image build: the stage it targets, the Dockerfile (`-f` / `file:`) and the build
/// context, as written (relative to the repository's root, where CI jobs start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerBuild {
    pub target: String,
    pub dockerfile: Option<String>,
    pub context: Option<String>,
}

/// A CI pipeline definition, by path.
pub fn is_pipeline(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    rel.contains(".github/workflows/")
        || matches!(
            name,
            ".gitlab-ci.yml"
                | "azure-pipelines.yml"
                | "bitbucket-pipelines.yml"
                | "cloudbuild.yaml"
        )
}

/// Every targeted build in a pipeline's documents.
pub fn docker_builds(docs: &[Node]) -> Vec<DockerBuild> {
    let mut out = Vec::new();
    for d in docs {
        d.walk(&mut |n| {
            if let Value::Scalar { text, .. } = &n.value {
                out.extend(text.lines().filter_map(build_command));
            }
            // `uses: docker/build-push-action@v6` with `with: {target: ..., file: ...}`.
            if n.get("uses")
                .and_then(Node::as_str)
                .is_some_and(|u| u.starts_with("docker/build-push-action"))
                && let Some(with) = n.get("with")
                && let Some(target) = with.get("target").and_then(Node::as_str)
            {
                let s = |k: &str| with.get(k).and_then(Node::as_str).map(str::to_string);
                out.push(DockerBuild {
                    target: target.to_string(),
                    dockerfile: s("file"),
                    context: s("context"),
                });
            }
        });
    }
    out.dedup();
    out
}

/// `docker build` / `docker buildx build` / `podman build` with `--target`.
fn build_command(line: &str) -> Option<DockerBuild> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words
        .windows(2)
        .position(|w| matches!(w[0], "docker" | "podman" | "buildx") && w[1] == "build")?;
    let args = &words[at + 2..];
    let mut target = None;
    let mut dockerfile = None;
    let mut context = None;
    let mut i = 0;
    while i < args.len() {
        let a = args[i];
        let value = |flag: &str| {
            a.strip_prefix(flag)
                .and_then(|v| v.strip_prefix('='))
                .map(str::to_string)
        };
        match a {
            "--target" | "-f" | "--file" | "-t" | "--tag" | "--build-arg" | "--platform" => {
                let v = args.get(i + 1).map(|v| v.to_string());
                match a {
                    "--target" => target = v,
                    "-f" | "--file" => dockerfile = v,
                    _ => {}
                }
                i += 2;
                continue;
            }
            _ if value("--target").is_some() => target = value("--target"),
            _ if value("--file").is_some() => dockerfile = value("--file"),
            "&&" | ";" | "|" | "\\" => break,
            _ if !a.starts_with('-') && context.is_none() => context = Some(a.to_string()),
            _ => {}
        }
        i += 1;
    }
    let clean = |s: String| s.trim_matches(|c| c == '"' || c == '\'').to_string();
    Some(DockerBuild {
        target: clean(target?),
        dockerfile: dockerfile.map(clean),
        context: context.map(clean),
    })
}

#[cfg(test)]
mod tests {
    use super::super::yaml;
    use super::*;

    #[test]
    fn targeted_builds() {
        let src = "jobs:\n  build:\n    steps:\n      - run: |\n          docker build --target runtime -f docker/Dockerfile -t app:1 .\n          docker build -t plain .\n      - uses: docker/build-push-action@v6\n        with: {context: ., file: api/Dockerfile, target: prod}\n";
        let docs = yaml::parse(src).unwrap();
        let b = docker_builds(&docs);
        assert_eq!(
            b,
            [
                DockerBuild {
                    target: "runtime".into(),
                    dockerfile: Some("docker/Dockerfile".into()),
                    context: Some(".".into())
                },
                DockerBuild {
                    target: "prod".into(),
                    dockerfile: Some("api/Dockerfile".into()),
                    context: Some(".".into())
                },
            ]
        );
        assert!(is_pipeline(".github/workflows/ci.yml"));
        assert!(!is_pipeline("k8s/ci.yml"));
    }
}
