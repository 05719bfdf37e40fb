use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "SV001",
    name: "syntax-error",
    principle: Principle::Meta,
    severity: Severity::Error,
    kinds: ALL_KINDS,
    reach: Reach::AllCode,
    help: "fix the syntax error; the rest of the file was not audited",
    doc: r#"## What it does
Reports a file svc reads that does not parse, once, at the first error:
- a Python file;
- a Dockerfile: an unknown instruction, an instruction before the first `FROM`, an
  unterminated heredoc, an invalid `escape` directive, a file with only comments;
- a YAML file: Kubernetes manifests, SAM / CloudFormation templates, compose files, proxy and
  gateway configuration. A CloudFormation template with a short-form tag CloudFormation does
  not know (`!Reff`) is reported too. A template that is not YAML until rendered (a Helm
  chart template, or a file that parses once its `{{ ... }}` / `{% ... %}` / `%NAME%`
  markers are blanked out) is `templated-file-not-checked` (`SV005`, info) instead;
- a JSON CloudFormation template (`template.json`, `*.template.json`).

The message names the format: `Dockerfile: ...`, `YAML does not parse: ...`,
`JSON does not parse: ...`, `CloudFormation template: ...`.

## Why is this bad?
The file cannot run or deploy, and svc cannot audit it: every other rule skips it, so its
violations stay hidden until it parses, and cross-file rules lose what it would have said
(a broken manifest's probes are not checked against the app's routes). The rest of the
repository is still audited.

## Example
```python
def handler(:
    ...
```
```yaml
Resources:
  Api:
    Type: AWS::Serverless::Function
    Properties:
      Role: !Reff LambdaRole
```

## How to fix
Fix the syntax error at the reported position.
"#,
    check: |_, _| {},
};
