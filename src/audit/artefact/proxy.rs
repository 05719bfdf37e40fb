//! What a reverse proxy or gateway configured in the repository does for the services behind
//! it: nginx `add_header` / `limit_req`, Traefik `headers` / `rateLimit` middlewares (TOML,
//! YAML or Kubernetes CRDs), Kong `rate-limiting` and `response-transformer` plugins, and
//! ingress-nginx annotations. Only proxy configuration counts, recognised by its shape, and
//! only settings that are on: a `rateLimit: false` in some other YAML switches no rule off.

use super::yaml::{Node, Value};

/// Headers that make a response policy (CSP, HSTS, nosniff); others are not enough.
const HEADER_NAMES: &[&str] = &[
    "content-security-policy",
    "strict-transport-security",
    "x-content-type-options",
];

/// Keys of Traefik's `headers` middleware that set those headers.
const TRAEFIK_HEADER_KEYS: &[&str] = &[
    "contentSecurityPolicy",
    "stsSeconds",
    "contentTypeNosniff",
    "customResponseHeaders",
];

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProxyFacts {
    pub security_headers: bool,
    pub rate_limit: bool,
}

impl ProxyFacts {
    pub fn any(&self) -> bool {
        self.security_headers || self.rate_limit
    }
}

/// nginx, Traefik TOML or kong.conf text.
pub fn from_text(text: &str) -> ProxyFacts {
    let mut facts = ProxyFacts::default();
    for line in text.lines() {
        let l = line.trim();
        if l.starts_with('#') {
            continue;
        }
        let lower = l.to_ascii_lowercase();
        if (lower.starts_with("add_header") || lower.starts_with("more_set_headers"))
            && HEADER_NAMES.iter().any(|h| lower.contains(h))
            && !nginx_header_is_empty(&lower)
        {
            facts.security_headers = true;
        }
        // Traefik TOML: `stsSeconds = 31536000`; `= 0`, `= false` and `= ""` set nothing.
        if TRAEFIK_HEADER_KEYS.iter().any(|k| {
            l.strip_prefix(k)
                .and_then(|rest| rest.trim_start().strip_prefix('='))
                .is_some_and(|v| is_set_text(v.trim()))
        }) {
            facts.security_headers = true;
        }
        if lower.starts_with("limit_req ")
            || lower.starts_with("limit_req_zone")
            || lower.contains(".ratelimit]")
            || lower.starts_with("[http.middlewares") && lower.contains("ratelimit")
        {
            facts.rate_limit = true;
        }
    }
    facts
}

/// `add_header Content-Security-Policy "";`: nginx adds no header with an empty value.
fn nginx_header_is_empty(lower: &str) -> bool {
    let words: Vec<&str> = lower
        .trim_end_matches(';')
        .split_whitespace()
        .filter(|w| *w != "always")
        .collect();
    lower.starts_with("add_header") && words.get(2).is_none_or(|v| !is_set_text(v))
}

/// A value written as text that sets something: not empty, `""`, `false`, `0` or null.
fn is_set_text(v: &str) -> bool {
    let v = v.trim_end_matches(';').trim();
    let unquoted = v.trim_matches(['"', '\'']);
    !(unquoted.is_empty()
        || matches!(
            unquoted.to_ascii_lowercase().as_str(),
            "false" | "no" | "off" | "0" | "null" | "~"
        ))
}

/// A YAML value that sets something: a non-empty mapping or sequence, or a scalar that is
/// not empty, null, `false`, `no`, `off` or zero.
fn is_set(n: &Node) -> bool {
    match &n.value {
        Value::Map(m) => !m.is_empty(),
        Value::Seq(s) => !s.is_empty(),
        Value::Scalar { text, .. } => {
            is_set_text(text) && text.trim().parse::<f64>().ok().is_none_or(|x| x > 0.0)
        }
        Value::Alias => true,
    }
}

/// What a YAML document configures for the services behind it, when it is proxy or gateway
/// configuration: a Traefik `Middleware`, Kong `KongPlugin`/`KongClusterPlugin` or Ingress
/// object (by apiVersion and kind), Traefik's dynamic configuration (`http.middlewares`) or
/// Kong's declarative configuration (`_format_version`). Any other document configures
/// nothing, whatever keys it has; and a setting counts only when it is set (`rateLimit:
/// false` or `contentSecurityPolicy: ""` is none).
pub fn from_yaml(doc: &Node) -> ProxyFacts {
    let mut facts = ProxyFacts::default();
    let api = doc.get("apiVersion").and_then(Node::as_str);
    let kind = doc.get("kind").and_then(Node::as_str);
    if let (Some(api), Some(kind)) = (api, kind) {
        let group = api.rsplit_once('/').map_or("", |(g, _)| g);
        match (group, kind) {
            ("traefik.io" | "traefik.containo.us", "Middleware") => {
                if let Some(spec) = doc.get("spec") {
                    traefik_middleware(spec, &mut facts);
                }
            }
            ("configuration.konghq.com", "KongPlugin" | "KongClusterPlugin") => {
                let disabled = doc.get("disabled").and_then(Node::as_bool) == Some(true);
                if !disabled {
                    kong_plugin(doc, doc.get("plugin"), &mut facts);
                }
            }
            ("networking.k8s.io" | "extensions", "Ingress") => {
                if let Some(a) = doc.path(&["metadata", "annotations"]) {
                    ingress_annotations(a, &mut facts);
                }
            }
            _ => {}
        }
        return facts;
    }
    for (_, middleware) in doc
        .path(&["http", "middlewares"])
        .map(|m| m.entries().collect::<Vec<_>>())
        .unwrap_or_default()
    {
        traefik_middleware(middleware, &mut facts);
    }
    if doc.get("_format_version").is_some() {
        // Plugins at the top, or under services, routes and consumers.
        doc.walk(&mut |n| {
            for plugin in n.get("plugins").map(Node::items).unwrap_or_default() {
                let enabled = plugin.get("enabled").and_then(Node::as_bool) != Some(false);
                if enabled {
                    kong_plugin(plugin, plugin.get("name"), &mut facts);
                }
            }
        });
    }
    facts
}

/// A Traefik middleware's settings: `rateLimit` (with a non-zero `average`) and `headers`.
fn traefik_middleware(m: &Node, facts: &mut ProxyFacts) {
    if let Some(limit) = m.get("rateLimit") {
        // Traefik: an average of 0 (the default) means no rate limiting.
        facts.rate_limit |= limit.get("average").is_some_and(is_set);
    }
    let Some(headers) = m.get("headers") else {
        return;
    };
    facts.security_headers |= ["contentSecurityPolicy", "stsSeconds", "contentTypeNosniff"]
        .iter()
        .any(|k| headers.get(k).is_some_and(is_set));
    // An empty value removes the header instead.
    facts.security_headers |= headers.get("customResponseHeaders").is_some_and(|custom| {
        custom.entries().any(|(h, v)| {
            h.as_str()
                .is_some_and(|h| HEADER_NAMES.contains(&h.to_ascii_lowercase().as_str()))
                && is_set(v)
        })
    });
}

/// A Kong plugin (declarative `plugins:` item or KongPlugin object) named by `name`.
fn kong_plugin(plugin: &Node, name: Option<&Node>, facts: &mut ProxyFacts) {
    match name.and_then(Node::as_str) {
        Some("rate-limiting" | "rate-limiting-advanced") => facts.rate_limit = true,
        Some("response-transformer" | "response-transformer-advanced") => {
            // `config.add.headers: ["Strict-Transport-Security: max-age=63072000"]`.
            facts.security_headers |= ["add", "append"].iter().any(|op| {
                plugin
                    .path(&["config", op, "headers"])
                    .map(Node::items)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(Node::as_str)
                    .any(|h| {
                        h.split_once(':').is_some_and(|(name, value)| {
                            HEADER_NAMES.contains(&name.trim().to_ascii_lowercase().as_str())
                                && is_set_text(value.trim())
                        })
                    })
            });
        }
        _ => {}
    }
}

/// ingress-nginx annotations: `limit-rps`/`limit-rpm`/`limit-connections` above zero, and
/// headers or limits in a configuration snippet.
fn ingress_annotations(annotations: &Node, facts: &mut ProxyFacts) {
    for (k, v) in annotations.entries() {
        match k.as_str() {
            Some(
                "nginx.ingress.kubernetes.io/limit-rps"
                | "nginx.ingress.kubernetes.io/limit-rpm"
                | "nginx.ingress.kubernetes.io/limit-connections",
            ) => facts.rate_limit |= v.as_u64().is_some_and(|n| n > 0),
            Some(
                "nginx.ingress.kubernetes.io/configuration-snippet"
                | "nginx.ingress.kubernetes.io/server-snippet",
            ) => {
                let t = from_text(v.as_str().unwrap_or(""));
                facts.security_headers |= t.security_headers;
                facts.rate_limit |= t.rate_limit;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::yaml;
    use super::*;

    #[test]
    fn nginx_and_traefik() {
        let f = from_text(
            "server {\n  # add_header Content-Security-Policy x;\n  limit_req zone=api burst=5;\n}\n",
        );
        assert_eq!((f.security_headers, f.rate_limit), (false, true));
        let f = from_text("add_header Strict-Transport-Security \"max-age=63072000\" always;\n");
        assert!(f.security_headers);
        let f = from_text("[http.middlewares.sec.headers]\n  stsSeconds = 31536000\n");
        assert!(f.security_headers);
        // Settings that set nothing.
        let f = from_text(
            "[http.middlewares.sec.headers]\n  stsSeconds = 0\n  contentSecurityPolicy = \"\"\n",
        );
        assert!(!f.security_headers);
        assert!(!from_text("add_header Content-Security-Policy \"\" always;\n").security_headers);
        let doc =
            &yaml::parse("http:\n  middlewares:\n    limit:\n      rateLimit: {average: 100}\n")
                .unwrap()[0];
        assert!(from_yaml(doc).rate_limit);
        let off =
            &yaml::parse("http:\n  middlewares:\n    limit:\n      rateLimit: {average: 0}\n")
                .unwrap()[0];
        assert!(!from_yaml(off).rate_limit);
        // The same key in a document that is no proxy configuration.
        let other = &yaml::parse("limits:\n  rateLimit: {average: 100}\n").unwrap()[0];
        assert!(!from_yaml(other).any());
        let kong = &yaml::parse(
            "_format_version: \"3.0\"\nplugins:\n  - name: response-transformer\n    config:\n      add:\n        headers: [\"Strict-Transport-Security: max-age=1\"]\n",
        )
        .unwrap()[0];
        assert_eq!(
            from_yaml(kong),
            ProxyFacts {
                security_headers: true,
                rate_limit: false
            }
        );
    }
}
