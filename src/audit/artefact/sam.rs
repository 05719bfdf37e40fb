//! AWS SAM / CloudFormation templates: Lambda functions with their Globals, and whether an API
//! Gateway in the template throttles requests.

use ruff_text_size::TextRange;

use super::ParseError;
use super::yaml::{Node, Value};

#[derive(Debug, Clone, Default)]
pub struct Template {
    pub functions: Vec<Function>,
    /// `Globals.Function` settings every `AWS::Serverless::Function` inherits.
    pub globals: FunctionSettings,
    /// An API Gateway stage, usage plan or HTTP API sets throttling limits.
    pub throttled: bool,
}

#[derive(Debug, Clone, Default)]
pub struct FunctionSettings {
    pub timeout: Option<TextRange>,
    pub memory_size: Option<TextRange>,
    /// `Tracing: Active` / `TracingConfig: {Mode: Active}`: the value and where.
    pub tracing: Option<(String, TextRange)>,
    pub code_uri: Option<String>,
    pub runtime: Option<String>,
    pub handler: Option<(String, TextRange)>,
    pub environment: Vec<EnvVar>,
}

#[derive(Debug, Clone)]
pub struct Function {
    pub logical_id: String,
    /// The logical id key, where function-level findings point.
    pub range: TextRange,
    /// `AWS::Serverless::Function` (which reads Globals) or `AWS::Lambda::Function`.
    pub serverless: bool,
    /// `PackageType: Image`: no Handler, the image's CMD decides.
    pub image: bool,
    pub settings: FunctionSettings,
}

#[derive(Debug, Clone)]
pub struct EnvVar {
    pub name: String,
    /// A literal value (None for `!Ref`, `!Sub`, `{{resolve:...}}` and other indirections).
    pub literal: Option<String>,
    pub range: TextRange,
}

/// CloudFormation's short-form intrinsic functions and condition tags.
const KNOWN_TAGS: &[&str] = &[
    "!Ref",
    "!GetAtt",
    "!Sub",
    "!Join",
    "!Select",
    "!Split",
    "!If",
    "!Equals",
    "!And",
    "!Or",
    "!Not",
    "!FindInMap",
    "!GetAZs",
    "!ImportValue",
    "!Base64",
    "!Cidr",
    "!Condition",
    "!Transform",
    "!ToJsonString",
    "!Length",
    "!ForEach",
    "!Rain::Embed",
];

/// A document that is a CloudFormation/SAM template.
pub fn is_template(doc: &Node) -> bool {
    doc.get("AWSTemplateFormatVersion").is_some()
        || doc
            .get("Transform")
            .is_some_and(|t| t.as_str().is_some_and(|s| s.starts_with("AWS::Serverless")))
        || doc.get("Resources").is_some_and(|r| {
            r.entries().any(|(_, res)| {
                res.get("Type")
                    .and_then(Node::as_str)
                    .is_some_and(|t| t.starts_with("AWS::"))
            })
        })
}

/// Read a template; an unknown short-form tag is an error (CloudFormation rejects it too).
pub fn template(doc: &Node) -> Result<Template, ParseError> {
    let mut unknown = None;
    doc.walk(&mut |n| {
        if unknown.is_none()
            && let Some(tag) = &n.tag
            && !tag.starts_with("!!")
            && !KNOWN_TAGS.contains(&tag.as_str())
        {
            unknown = Some((tag.clone(), n.range));
        }
    });
    if let Some((tag, range)) = unknown {
        return Err(ParseError::new(
            format!("unknown CloudFormation tag `{tag}`"),
            range,
        ));
    }
    let mut t = Template {
        globals: doc
            .path(&["Globals", "Function"])
            .map(settings)
            .unwrap_or_default(),
        ..Template::default()
    };
    for (key, res) in doc
        .get("Resources")
        .map(|r| r.entries().collect::<Vec<_>>())
        .unwrap_or_default()
    {
        let ty = res.get("Type").and_then(Node::as_str).unwrap_or("");
        let props = res.get("Properties");
        match ty {
            "AWS::Serverless::Function" | "AWS::Lambda::Function" => {
                let Some(id) = key.as_str() else { continue };
                t.functions.push(Function {
                    logical_id: id.to_string(),
                    range: key.range,
                    serverless: ty == "AWS::Serverless::Function",
                    image: props
                        .and_then(|p| p.get("PackageType"))
                        .and_then(Node::as_str)
                        == Some("Image"),
                    settings: props.map(settings).unwrap_or_default(),
                });
            }
            "AWS::Serverless::Api"
            | "AWS::Serverless::HttpApi"
            | "AWS::ApiGateway::Stage"
            | "AWS::ApiGateway::UsagePlan"
            | "AWS::ApiGatewayV2::Stage"
                if props.is_some_and(has_throttling) =>
            {
                t.throttled = true;
            }
            _ => {}
        }
    }
    if doc
        .path(&["Globals", "Api"])
        .or_else(|| doc.path(&["Globals", "HttpApi"]))
        .is_some_and(has_throttling)
    {
        t.throttled = true;
    }
    Ok(t)
}

fn has_throttling(n: &Node) -> bool {
    let mut found = false;
    n.walk(&mut |x| {
        if let Some(k) = x.as_str()
            && matches!(
                k,
                "ThrottlingRateLimit" | "ThrottlingBurstLimit" | "RateLimit" | "BurstLimit"
            )
        {
            found = true;
        }
    });
    found
}

fn settings(p: &Node) -> FunctionSettings {
    let tracing = p
        .get("Tracing")
        .or_else(|| p.path(&["TracingConfig", "Mode"]))
        .map(|n| (n.as_str().unwrap_or("").to_string(), n.range));
    let code_uri = p.get("CodeUri").and_then(Node::as_str).map(str::to_string);
    let environment = p
        .path(&["Environment", "Variables"])
        .map(|vars| {
            vars.entries()
                .filter_map(|(k, v)| {
                    Some(EnvVar {
                        name: k.as_str()?.to_string(),
                        literal: literal(v),
                        range: v.range,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    FunctionSettings {
        timeout: p.get("Timeout").map(|n| n.range),
        memory_size: p.get("MemorySize").map(|n| n.range),
        tracing,
        code_uri,
        runtime: p.get("Runtime").and_then(Node::as_str).map(str::to_string),
        handler: p
            .get("Handler")
            .and_then(|n| Some((n.as_str()?.to_string(), n.range))),
        environment,
    }
}

/// The literal value of an environment variable: not a tag, not `{"Ref": ...}` /
/// `{"Fn::...": ...}`, not a dynamic reference.
fn literal(v: &Node) -> Option<String> {
    if v.tag.is_some() && v.as_str().is_none() {
        return None;
    }
    if let Value::Map(m) = &v.value
        && m.iter().any(|(k, _)| {
            k.as_str()
                .is_some_and(|k| k == "Ref" || k.starts_with("Fn::"))
        })
    {
        return None;
    }
    let s = v.as_str()?;
    if s.contains("{{resolve:") {
        return None;
    }
    Some(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::super::yaml;
    use super::*;

    #[test]
    fn functions_globals_and_tags() {
        let src = r#"
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Timeout: 10
    Tracing: Active
Resources:
  Api:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.main.handler
      Environment:
        Variables:
          DB_PASSWORD: hunter2
          API_TOKEN: !Ref TokenParam
          OTHER: "{{resolve:secretsmanager:x}}"
"#;
        let docs = yaml::parse(src).unwrap();
        assert!(is_template(&docs[0]));
        let t = template(&docs[0]).unwrap();
        assert!(t.globals.timeout.is_some());
        let f = &t.functions[0];
        assert_eq!(f.logical_id, "Api");
        assert_eq!(f.settings.handler.as_ref().unwrap().0, "app.main.handler");
        let env: Vec<_> = f
            .settings
            .environment
            .iter()
            .map(|e| e.literal.is_some())
            .collect();
        assert_eq!(env, vec![true, false, false]);
        let bad = yaml::parse("Resources:\n  X:\n    Type: AWS::S3::Bucket\n    Name: !Bogus x\n")
            .unwrap();
        let e = template(&bad[0]).unwrap_err();
        assert_eq!(e.message, "unknown CloudFormation tag `!Bogus`");
    }
}
