//! What a reverse proxy or gateway configured in the repository does for the services behind
//! it: nginx `add_header` / `limit_req`, Traefik `headers` / `rateLimit` middlewares (TOML,
//! YAML or Kubernetes CRDs), Kong `rate-limiting` and `response-transformer` plugins, and
//! ingress-nginx annotations.

use super::yaml::Node;

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
        {
            facts.security_headers = true;
        }
        if TRAEFIK_HEADER_KEYS
            .iter()
            .any(|k| l.starts_with(k) && l[k.len()..].trim_start().starts_with('='))
        {
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

/// Traefik dynamic configuration, Traefik/Kong CRDs, Kong declarative config, Ingress
/// annotations: any YAML document.
pub fn from_yaml(doc: &Node) -> ProxyFacts {
    let mut facts = ProxyFacts::default();
    doc.walk(&mut |n| {
        for (k, v) in n.entries() {
            let Some(key) = k.as_str() else { continue };
            match key {
                "rateLimit" | "ratelimit" => facts.rate_limit = true,
                "nginx.ingress.kubernetes.io/limit-rps"
                | "nginx.ingress.kubernetes.io/limit-rpm"
                | "nginx.ingress.kubernetes.io/limit-connections" => facts.rate_limit = true,
                "contentSecurityPolicy" | "stsSeconds" | "contentTypeNosniff" => {
                    facts.security_headers = true
                }
                "customResponseHeaders" => {
                    facts.security_headers |= v.entries().any(|(h, _)| {
                        h.as_str().is_some_and(|h| {
                            HEADER_NAMES.contains(&h.to_ascii_lowercase().as_str())
                        })
                    });
                }
                "nginx.ingress.kubernetes.io/configuration-snippet"
                | "nginx.ingress.kubernetes.io/server-snippet" => {
                    let t = from_text(v.as_str().unwrap_or(""));
                    facts.security_headers |= t.security_headers;
                    facts.rate_limit |= t.rate_limit;
                }
                // Kong: `plugins: [{name: rate-limiting}]`, `kind: KongPlugin` with `plugin:`.
                "name" | "plugin" => match v.as_str() {
                    Some("rate-limiting" | "rate-limiting-advanced") => facts.rate_limit = true,
                    Some("response-transformer") => {
                        let mut headers = false;
                        n.walk(&mut |x| {
                            if let Some(s) = x.as_str() {
                                let lower = s.to_ascii_lowercase();
                                headers |= HEADER_NAMES.iter().any(|h| lower.starts_with(h));
                            }
                        });
                        facts.security_headers |= headers;
                    }
                    _ => {}
                },
                _ => {}
            }
        }
    });
    facts
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
        let doc =
            &yaml::parse("http:\n  middlewares:\n    limit:\n      rateLimit: {average: 100}\n")
                .unwrap()[0];
        assert!(from_yaml(doc).rate_limit);
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
