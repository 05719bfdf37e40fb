//! SV005 `templated-file-not-checked`: a YAML file that is a template, not YAML until it is
//! rendered, so no rule could check it.

use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "SV005",
    name: "templated-file-not-checked",
    principle: Principle::Meta,
    severity: Severity::Info,
    kinds: ALL_KINDS,
    reach: Reach::AllCode,
    help: "nothing to fix: audit the rendered output (`helm template`, your generator) to check it",
    doc: r#"## What it does
Reports, at info, a YAML file that does not parse only because it is a template, pointing at
its first template marker:
- a Helm chart template (under `templates/` next to a `Chart.yaml`) with `{{ ... }}`;
- any other YAML file with Jinja or Helm markers (`{{ ... }}`, `{% ... %}`, `{# ... #}`) or
  `%NAME%` placeholders (feast's `feature_store.yaml` templates) that parses once those
  markers are blanked out.

A file that still does not parse without its markers is broken, and stays a `syntax-error`
(`SV001`); one that parses with its markers (`image: "{{ .Values.image }}"`) is checked as it
is.

## Why is this bad?
It is not: the file is fine. But svc did not check it (its probes, resources, secrets), and a
silent skip would read as "nothing wrong here". For a Helm chart, svc reads `values.yaml`
instead (probes, resources and image tags defined there).

## Example
```yaml
offline_store:
    type: redshift
    region: %AWS_REGION%
{% if online %}
online_store: {type: redis}
{% endif %}
```

## How to fix
Nothing to fix. To have the output checked, render it (`helm template chart/ > rendered.yaml`)
and audit that, or exclude the template (`exclude` in svc.toml).
"#,
    check: |_, _| {},
};
