//! Serverless Framework `serverless.yml`: its functions read into the same facts as a SAM
//! template's, so the Lambda rules (timeouts, memory, tracing, handlers, secrets in the
//! environment) and the kind (`lambda`) apply to either. `provider:` settings play the part of
//! SAM's `Globals.Function`; throttling under `provider` (API Gateway / usage plan
//! `throttle`) counts as rate limiting.

use super::sam::{EnvVar, Function, FunctionSettings, Template};
use super::yaml::Node;

/// `serverless.yml` / `serverless.yaml` with a `provider` and `functions`.
pub fn is_serverless(doc: &Node, file_name: &str) -> bool {
    matches!(file_name, "serverless.yml" | "serverless.yaml")
        && doc.get("provider").is_some_and(Node::is_map)
        && doc.get("functions").is_some()
}

pub fn template(doc: &Node) -> Template {
    let provider = doc.get("provider");
    let globals = provider.map(settings).unwrap_or_default();
    let functions = doc
        .get("functions")
        .map(|f| f.entries().collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(k, f)| {
            Some(Function {
                logical_id: k.as_str()?.to_string(),
                range: k.range,
                // Functions inherit the provider's settings, as SAM functions do Globals.
                serverless: true,
                image: f.get("image").is_some(),
                settings: settings(f),
            })
        })
        .collect();
    let mut throttled = false;
    if let Some(p) = provider {
        p.walk(&mut |n| {
            throttled |= n.get("throttle").is_some_and(Node::is_map);
        });
    }
    Template {
        functions,
        globals,
        throttled,
    }
}

fn settings(n: &Node) -> FunctionSettings {
    let tracing = n.path(&["tracing", "lambda"]).map(|t| match t.as_bool() {
        Some(true) => ("Active".to_string(), t.range),
        _ => (t.as_str().unwrap_or("").to_string(), t.range),
    });
    let environment = n
        .get("environment")
        .map(|vars| {
            vars.entries()
                .filter_map(|(k, v)| {
                    Some(EnvVar {
                        name: k.as_str()?.to_string(),
                        // `${ssm:...}`, `${env:...}`, `${self:...}` are resolved at deploy
                        // time: not literals.
                        literal: v.as_str().filter(|s| !s.contains("${")).map(str::to_string),
                        range: v.range,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    FunctionSettings {
        timeout: n.get("timeout").map(|t| t.range),
        memory_size: n.get("memorySize").map(|t| t.range),
        tracing,
        code_uri: None,
        runtime: n.get("runtime").and_then(Node::as_str).map(str::to_string),
        handler: n
            .get("handler")
            .and_then(|h| Some((h.as_str()?.to_string(), h.range))),
        environment,
    }
}

#[cfg(test)]
mod tests {
    use super::super::yaml;
    use super::*;

    #[test]
    fn functions_provider_and_throttling() {
        let src = "service: orders\nprovider:\n  name: aws\n  runtime: python3.12\n  timeout: 10\n  tracing: {lambda: true}\n  environment:\n    DB_PASSWORD: hunter2\n    TOKEN: ${ssm:/orders/token}\n  apiGateway:\n    usagePlan:\n      throttle: {burstLimit: 20, rateLimit: 10}\nfunctions:\n  api:\n    handler: app/main.handler\n    memorySize: 512\n";
        let doc = &yaml::parse(src).unwrap()[0];
        assert!(is_serverless(doc, "serverless.yml"));
        assert!(!is_serverless(doc, "config.yml"));
        let t = template(doc);
        assert!(t.throttled);
        assert_eq!(t.functions.len(), 1);
        let f = &t.functions[0];
        assert_eq!(f.settings.handler.as_ref().unwrap().0, "app/main.handler");
        assert!(f.settings.memory_size.is_some() && f.settings.timeout.is_none());
        assert!(t.globals.timeout.is_some());
        assert_eq!(t.globals.tracing.as_ref().unwrap().0, "Active");
        let env: Vec<_> = t
            .globals
            .environment
            .iter()
            .map(|v| v.literal.is_some())
            .collect();
        assert_eq!(env, [true, false]);
    }
}
