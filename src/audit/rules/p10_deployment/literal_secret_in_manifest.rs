//! KB007 `literal-secret-in-manifest`: a Kubernetes `Secret` committed with its values.

use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "KB007",
    name: "literal-secret-in-manifest",
    principle: Principle::P10,
    severity: Severity::Error,
    kinds: ALL_KINDS,
    reach: Reach::Artefacts,
    help: "commit a SealedSecret or an ExternalSecret, or create the Secret from your secret store at deploy time",
    doc: r#"## What it does
Reports each value in `data` or `stringData` of a core Kubernetes `Secret` (`apiVersion: v1`,
`kind: Secret`) in the repository, pointing at the value. Not reported: empty values, and
placeholders a tool fills in before the manifest is applied (`${VAR}`, `$VAR`, `$(VAR)`,
`{{ .Values.x }}`, `<your-token>`, `%NAME%`). `SealedSecret`, `ExternalSecret` and
`SecretProviderClass` objects hold no plain value and are not read.

## Why is this bad?
`data` is base64, not encryption: anyone who can read the repository (every clone, fork and
CI log) can read the secret, and it stays in the history after it is removed. Rotating it
means finding every copy.

## Example
```yaml
apiVersion: v1
kind: Secret
metadata: {name: orders-db}
stringData:
  password: hunter2
```

## How to fix
Keep the value out of the repository: commit a `SealedSecret` (bitnami sealed-secrets) or an
`ExternalSecret` (external-secrets) that names where the value lives, or create the Secret
at deploy time (`kubectl create secret generic orders-db --from-literal=...` in CI, from the
CI's secret store).
"#,
    check,
};

fn check(cx: &Context, sink: &mut Sink) {
    for r in &cx.artefacts().secret_values {
        let v = cx.project.secret_value(*r);
        sink.report(
            Loc {
                file: r.file,
                range: v.range,
            },
            format!(
                "Secret `{}` holds a literal value for `{}` in `{}`",
                v.secret, v.key, v.field
            ),
        );
    }
}
