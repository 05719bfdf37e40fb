//! `svc init [PATH]`: add svc to an existing repository.
//!
//! Writes `[tool.svc]` into pyproject.toml (or svc.toml when there is none), appends the
//! svc hook to .pre-commit-config.yaml (created when absent) and, with `--baseline FILE`,
//! records today's findings. Every edit keeps the user's text: the TOML table is added with
//! `toml_edit`, the hook is appended as text. Running it again changes nothing; `--dry-run`
//! prints the unified diff instead of writing.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use miette::Diagnostic;
use thiserror::Error;
use toml_edit::{DocumentMut, Item, Table, value};

use crate::audit::{AuditOptions, audit, baseline::Baseline};
use crate::cli::InitArgs;

#[derive(Debug, Error, Diagnostic)]
pub enum InitError {
    #[error("{} is not a directory", .0.display())]
    #[diagnostic(
        code(svc::init),
        help("svc init takes the repository's root directory")
    )]
    NotADirectory(PathBuf),
    #[error("cannot read {}: {source}", path.display())]
    #[diagnostic(code(svc::io))]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {}: {source}", path.display())]
    #[diagnostic(code(svc::io))]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not valid TOML: {reason}", path.display())]
    #[diagnostic(code(svc::init), help("fix the file, then run svc init again"))]
    Toml { path: PathBuf, reason: String },
}

/// One file's change: its path relative to the repository, and its text before and after.
struct Change {
    rel: String,
    before: Option<String>,
    after: String,
    why: &'static str,
}

const TABLE_COMMENT: &str =
    "# svc audit settings (`svc rules` lists the rules; see the README's Configuration).\n";

const HOOK_ID: &str = "svc-audit";

pub fn run(args: &InitArgs) -> miette::Result<ExitCode> {
    let root = args.path.clone().unwrap_or_else(|| PathBuf::from("."));
    if !root.is_dir() {
        return Err(InitError::NotADirectory(root).into());
    }
    let mut changes = Vec::new();
    changes.extend(config_change(&root)?);
    changes.extend(hook_change(&root, args.baseline.as_deref())?);

    let baseline = match &args.baseline {
        Some(rel) if !root.join(rel).exists() => {
            let outcome = audit(&AuditOptions {
                paths: vec![root.clone()],
                ..AuditOptions::default()
            })?;
            Some((rel.clone(), Baseline::from_report(&outcome.report)))
        }
        _ => None,
    };

    if changes.is_empty() && baseline.is_none() {
        println!(
            "svc is already set up in {}: nothing to change.",
            root.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    for c in &changes {
        if args.dry_run {
            print!("{}", unified_diff(c));
        } else {
            let path = root.join(&c.rel);
            std::fs::write(&path, &c.after).map_err(|source| InitError::Write { path, source })?;
            println!("{}: {}", c.rel, c.why);
        }
    }
    if let Some((rel, baseline)) = baseline {
        let count: u32 = baseline.findings.iter().map(|e| e.count).sum();
        if args.dry_run {
            println!(
                "would write the baseline {} ({count} findings)",
                rel.display()
            );
        } else {
            baseline.write(&root.join(&rel))?;
            println!("{}: baseline of {count} findings written", rel.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn read(path: &Path) -> Result<Option<String>, InitError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(InitError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// `[tool.svc]` in pyproject.toml, else a new svc.toml; nothing when either already has it.
fn config_change(root: &Path) -> Result<Option<Change>, InitError> {
    if root.join("svc.toml").is_file() {
        return Ok(None);
    }
    let pyproject = root.join("pyproject.toml");
    let Some(text) = read(&pyproject)? else {
        return Ok(Some(Change {
            rel: "svc.toml".into(),
            before: None,
            after: format!("{TABLE_COMMENT}fail-on = \"warning\"\n"),
            why: "created with svc's settings",
        }));
    };
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| InitError::Toml {
            path: pyproject.clone(),
            reason: e.message().to_string(),
        })?;
    let tool = doc.entry("tool").or_insert_with(|| {
        let mut t = Table::new();
        t.set_implicit(true);
        Item::Table(t)
    });
    let Some(tool) = tool.as_table_like_mut() else {
        return Err(InitError::Toml {
            path: pyproject,
            reason: "`tool` is not a table".into(),
        });
    };
    if tool.contains_key("svc") {
        return Ok(None);
    }
    let mut svc = Table::new();
    svc.insert("fail-on", value("warning"));
    let gap = if text.ends_with("\n\n") || text.is_empty() {
        ""
    } else {
        "\n"
    };
    svc.decor_mut().set_prefix(format!("{gap}{TABLE_COMMENT}"));
    // After every existing table, so that nothing above moves.
    svc.set_position(Some(last_position(doc.as_table()) + 1));
    let tool = doc["tool"].as_table_like_mut().expect("checked above");
    tool.insert("svc", Item::Table(svc));
    let mut after = doc.to_string();
    if !text.ends_with('\n') && !text.is_empty() && !after.starts_with(&format!("{text}\n")) {
        // toml_edit keeps a missing final newline; the appended table adds its own.
        after = after.replacen(&text, &format!("{text}\n"), 1);
    }
    Ok(Some(Change {
        rel: "pyproject.toml".into(),
        before: Some(text),
        after,
        why: "added [tool.svc]",
    }))
}

/// The svc hook appended to .pre-commit-config.yaml (created when absent), unless a hook
/// with its id is already there.
fn hook_change(root: &Path, baseline: Option<&Path>) -> Result<Option<Change>, InitError> {
    let path = root.join(".pre-commit-config.yaml");
    let text = read(&path)?;
    if let Some(t) = &text
        && t.lines().any(|l| {
            l.trim_start()
                .trim_start_matches("- ")
                .strip_prefix("id:")
                .is_some_and(|id| id.trim().trim_matches(['"', '\'']) == HOOK_ID)
        })
    {
        return Ok(None);
    }
    let existing = text.clone().unwrap_or_default();
    // The indentation of the user's `- repo:` items, to append one like them.
    let indent = existing
        .lines()
        .find_map(|l| {
            let trimmed = l.trim_start();
            trimmed
                .starts_with("- repo:")
                .then(|| l[..l.len() - trimmed.len()].to_string())
        })
        .unwrap_or_else(|| "  ".to_string());
    let args = match baseline {
        Some(b) => format!(
            "{indent}      args: [--baseline, {}]\n",
            b.to_string_lossy().replace('\\', "/")
        ),
        None => String::new(),
    };
    let hook = format!(
        "{indent}# svc audit (added by `svc init`): needs svc on PATH (install.sh).\n\
         {indent}- repo: local\n\
         {indent}  hooks:\n\
         {indent}    - id: {HOOK_ID}\n\
         {indent}      name: svc audit\n\
         {indent}      entry: svc audit\n\
         {indent}      language: system\n\
         {indent}      types_or: [python, dockerfile, yaml, toml]\n\
         {indent}      require_serial: true\n\
         {args}"
    );
    let has_repos = existing.lines().any(|l| l.starts_with("repos:"));
    let mut after = existing.clone();
    if !after.is_empty() && !after.ends_with('\n') {
        after.push('\n');
    }
    if !has_repos {
        after.push_str("repos:\n");
    }
    after.push_str(&hook);
    Ok(Some(Change {
        rel: ".pre-commit-config.yaml".into(),
        before: text,
        after,
        why: match existing.is_empty() {
            true => "created with the svc-audit hook",
            false => "svc-audit hook appended",
        },
    }))
}

/// The largest position of any table (arrays of tables included) in the document.
fn last_position(table: &Table) -> isize {
    table
        .iter()
        .map(|(_, item)| match item {
            Item::Table(t) => t.position().unwrap_or(0).max(last_position(t)),
            Item::ArrayOfTables(a) => a
                .iter()
                .map(|t| t.position().unwrap_or(0).max(last_position(t)))
                .max()
                .unwrap_or(0),
            _ => 0,
        })
        .max()
        .unwrap_or(0)
}

fn unified_diff(c: &Change) -> String {
    let before = c.before.as_deref().unwrap_or("");
    let old = match c.before {
        Some(_) => format!("a/{}", c.rel),
        None => "/dev/null".to_string(),
    };
    similar::TextDiff::from_lines(before, &c.after)
        .unified_diff()
        .context_radius(3)
        .header(&old, &format!("b/{}", c.rel))
        .to_string()
}
