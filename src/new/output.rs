//! What `svc new` shows a person: the `--list` table, the `--dry-run` tree, the next steps.

use std::fmt::Write as _;

use super::answers::Answers;
use super::manifest::{Manifest, VarKind, VarValue};
use super::render::RenderedTree;

/// One block per template: its name, version and description (and whether it is `default`, the
/// variant used when none is chosen), then one line per variable (name, type, default, allowed
/// values, condition) and its help below, then its rules.
pub fn list(manifests: &[&Manifest], default: Option<&str>) -> String {
    let mut out = String::new();
    for (index, manifest) in manifests.iter().enumerate() {
        if index > 0 {
            out.push('\n');
        }
        let _ = write!(out, "{} (version {}", manifest.name, manifest.version);
        if default == Some(manifest.name.as_str()) {
            out.push_str(", the default");
        }
        out.push(')');
        if !manifest.description.is_empty() {
            let _ = write!(out, ": {}", manifest.description);
        }
        out.push('\n');
        if manifest.variables.is_empty() {
            out.push_str("    (no options)\n");
            continue;
        }
        let width = manifest
            .variables
            .iter()
            .map(|v| v.name.len())
            .max()
            .unwrap_or(0);
        for variable in &manifest.variables {
            let mut line = format!(
                "    {:<width$}  {:<6}  default: {}",
                variable.name,
                variable.kind.type_name(),
                shown(&variable.default)
            );
            match &variable.kind {
                VarKind::Choice { choices } => {
                    let _ = write!(line, "  choices: {}", choices.join(", "));
                }
                VarKind::String {
                    pattern: Some(pattern),
                } => {
                    let _ = write!(line, "  expects: {}", pattern.help);
                }
                VarKind::Int { min, max } if min.is_some() || max.is_some() => {
                    let bound = |b: &Option<i64>| b.map_or(String::new(), |b| b.to_string());
                    let _ = write!(line, "  range: {}..{}", bound(min), bound(max));
                }
                _ => {}
            }
            if let Some(when) = &variable.when {
                let _ = write!(line, "  when: {when}");
            }
            out.push_str(&line);
            out.push('\n');
            if let Some(help) = &variable.help {
                let _ = writeln!(out, "    {:<width$}  {help}", "");
            }
        }
        for constraint in &manifest.constraints {
            let _ = writeln!(
                out,
                "    requires {}: {}",
                constraint.rule, constraint.message
            );
        }
    }
    out
}

fn shown(value: &VarValue) -> String {
    match value {
        VarValue::String(s) if s.is_empty() || s.contains(char::is_whitespace) => format!("{s:?}"),
        other => other.to_string(),
    }
}

/// The generated files as a tree under `root`, directories first seen in path order;
/// executable files are marked with `*`, as `ls -F` does.
pub fn tree(root: &str, tree: &RenderedTree) -> String {
    #[derive(Default)]
    struct Node<'a> {
        children: Vec<(&'a str, Node<'a>)>,
        executable: bool,
        is_dir: bool,
    }

    let mut top = Node::default();
    for file in &tree.files {
        let mut node = &mut top;
        let segments: Vec<&str> = file.path.split('/').collect();
        for (i, segment) in segments.iter().enumerate() {
            let position = match node.children.iter().position(|(name, _)| name == segment) {
                Some(position) => position,
                None => {
                    node.children.push((segment, Node::default()));
                    node.children.len() - 1
                }
            };
            node = &mut node.children[position].1;
            if i + 1 < segments.len() {
                node.is_dir = true;
            } else {
                node.executable = file.executable;
            }
        }
    }

    fn draw(node: &Node<'_>, prefix: &str, out: &mut String) {
        for (index, (name, child)) in node.children.iter().enumerate() {
            let last = index + 1 == node.children.len();
            let (branch, indent) = if last {
                ("└── ", "    ")
            } else {
                ("├── ", "│   ")
            };
            let suffix = if child.is_dir {
                "/"
            } else if child.executable {
                "*"
            } else {
                ""
            };
            let _ = writeln!(out, "{prefix}{branch}{name}{suffix}");
            draw(child, &format!("{prefix}{indent}"), out);
        }
    }

    let mut out = format!("{}/\n", root.trim_end_matches('/'));
    draw(&top, "", &mut out);
    out
}

/// What to type after the project exists. The venv is made with the Python the project was
/// generated for (`python_version`), as its README says, when the template has that option.
pub fn next_steps(target: &str, manifest: &Manifest, answers: &Answers) -> String {
    let python = match answers.get("python_version") {
        Some(VarValue::String(version))
            if !version.is_empty() && version.chars().all(|c| c.is_ascii_digit() || c == '.') =>
        {
            format!("python{version}")
        }
        _ => "python3".to_owned(),
    };
    format!(
        "Created {target} from the {name} template (version {version}).\n\
         \n\
         Next steps:\n\
         \x20 cd {cd}\n\
         \x20 {python} -m venv .venv && . .venv/bin/activate\n\
         \x20 pip install -e '.[dev]'\n\
         \x20 pytest\n\
         \x20 svc audit\n",
        name = manifest.name,
        version = manifest.version,
        cd = shell_quote(target),
    )
}

/// Quotes a path for a POSIX shell when it needs it.
fn shell_quote(text: &str) -> String {
    if !text.is_empty()
        && text.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | '+' | ',' | ':' | '@')
        })
    {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::new::render::RenderedFile;

    #[test]
    fn tree_draws_nested_directories() {
        let file = |path: &str, executable| RenderedFile {
            path: path.to_owned(),
            contents: Vec::new(),
            executable,
        };
        let rendered = RenderedTree {
            files: vec![
                file(".github/workflows/ci.yml", false),
                file("README.md", false),
                file("app/__init__.py", false),
                file("app/api/routes.py", false),
                file("run.sh", true),
            ],
        };
        assert_eq!(
            tree("orders-api/", &rendered),
            "orders-api/\n\
             ├── .github/\n\
             │   └── workflows/\n\
             │       └── ci.yml\n\
             ├── README.md\n\
             ├── app/\n\
             │   ├── __init__.py\n\
             │   └── api/\n\
             │       └── routes.py\n\
             └── run.sh*\n"
        );
    }

    #[test]
    fn next_steps_make_the_venv_with_the_generated_python() {
        let manifest = crate::new::manifest::parse(
            "template.toml",
            "[template]\nname = \"t\"\nversion = \"1\"\n",
        )
        .unwrap();
        let answers = |values: Vec<(String, VarValue)>| Answers {
            values,
            ..Answers::default()
        };
        let chosen = answers(vec![(
            "python_version".to_owned(),
            VarValue::String("3.11".to_owned()),
        )]);
        let steps = next_steps("orders-api", &manifest, &chosen);
        assert!(
            steps.contains("\n  python3.11 -m venv .venv && "),
            "{steps}"
        );
        // A template without the option (or with an odd value) gets the generic name.
        let steps = next_steps("orders-api", &manifest, &answers(Vec::new()));
        assert!(steps.contains("\n  python3 -m venv .venv && "), "{steps}");
        let odd = answers(vec![(
            "python_version".to_owned(),
            VarValue::String("3.12; rm -rf /".to_owned()),
        )]);
        let steps = next_steps("orders-api", &manifest, &odd);
        assert!(steps.contains("\n  python3 -m venv .venv && "), "{steps}");
    }

    #[test]
    fn shell_quote_only_when_needed() {
        assert_eq!(shell_quote("services/orders-api"), "services/orders-api");
        assert_eq!(shell_quote("my dir"), "'my dir'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
