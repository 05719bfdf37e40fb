//! A Helm chart's `values.yaml`: the settings its templates read. The templates themselves
//! are not YAML until rendered (`templated-file-not-checked`); what they delegate to values
//! (`.Values.resources`, `.Values.livenessProbe`, `.Values.image.tag`) is checked here.

use std::path::Path;

use ruff_text_size::TextRange;

use super::yaml::Node;

#[derive(Debug, Clone, Default)]
pub struct Values {
    /// `resources:`: where its key is, and whether it sets requests and limits.
    pub resources: Option<Resources>,
    /// `livenessProbe:` / `readinessProbe:` keys, and whether they set anything.
    pub liveness: Option<(bool, TextRange)>,
    pub readiness: Option<(bool, TextRange)>,
    /// `image.repository` and `image.tag` (None: no tag, or an empty one).
    pub image: Option<Image>,
    /// The top-level mapping's first key, where a finding about a missing setting points.
    pub start: TextRange,
}

#[derive(Debug, Clone)]
pub struct Resources {
    pub range: TextRange,
    pub has_requests: bool,
    pub has_limits: bool,
}

#[derive(Debug, Clone)]
pub struct Image {
    pub repository: Option<String>,
    pub tag: Option<(String, TextRange)>,
    /// The `image:` key.
    pub range: TextRange,
}

/// `values.yaml` (or `.yml`) next to a `Chart.yaml`.
pub fn is_values_file(path: &Path) -> bool {
    let named = path
        .file_name()
        .is_some_and(|n| n == "values.yaml" || n == "values.yml");
    named
        && path
            .parent()
            .is_some_and(|d| d.join("Chart.yaml").is_file() || d.join("Chart.yml").is_file())
}

pub fn values(doc: &Node) -> Values {
    let non_empty = |n: &Node| n.entries().next().is_some();
    let keyed = |key: &str| -> Option<(bool, TextRange)> {
        let v = doc.get(key)?;
        Some((non_empty(v), doc.key(key)?.range))
    };
    let resources = doc.get("resources").and_then(|r| {
        let set = |k: &str| r.get(k).is_some_and(non_empty);
        Some(Resources {
            range: doc.key("resources")?.range,
            has_requests: set("requests"),
            has_limits: set("limits"),
        })
    });
    let image = doc.get("image").filter(|i| i.is_map()).and_then(|i| {
        Some(Image {
            repository: i
                .get("repository")
                .and_then(Node::as_str)
                .map(str::to_string),
            tag: i
                .get("tag")
                .and_then(|t| Some((t.as_str()?.trim().to_string(), t.range)))
                .filter(|(t, _)| !t.is_empty()),
            range: doc.key("image")?.range,
        })
    });
    Values {
        resources,
        liveness: keyed("livenessProbe"),
        readiness: keyed("readinessProbe"),
        image,
        start: doc.entries().next().map_or(doc.range, |(k, _)| k.range),
    }
}

#[cfg(test)]
mod tests {
    use super::super::yaml;
    use super::*;

    #[test]
    fn values_facts() {
        let src = "replicaCount: 1\nimage:\n  repository: ghcr.io/acme/orders\n  tag: \"\"\nresources: {}\nlivenessProbe:\n  httpGet: {path: /healthz, port: http}\nreadinessProbe: {}\n";
        let v = values(&yaml::parse(src).unwrap()[0]);
        let r = v.resources.unwrap();
        assert!(!r.has_requests && !r.has_limits);
        assert_eq!(&src[r.range], "resources");
        assert_eq!(v.liveness.map(|l| l.0), Some(true));
        assert_eq!(v.readiness.map(|l| l.0), Some(false));
        let i = v.image.unwrap();
        assert_eq!(i.repository.as_deref(), Some("ghcr.io/acme/orders"));
        assert!(i.tag.is_none());
    }
}
