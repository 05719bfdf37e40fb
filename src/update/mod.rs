//! `svc update`: a generated service brought to the current template version, its own edits
//! kept. Three renders meet file by file (see [`plan`]): the recorded version with the
//! recorded answers (the base, as `svc new` wrote it), the current version with the same
//! answers (theirs) and the project (ours). Earlier versions of the embedded templates are
//! frozen in the binary (`templates/_releases`), so this works offline from any version an
//! earlier release generated.
//!
//! Order of work: read the record -> refuse a dirty work tree -> resolve answers (migrations,
//! new variables) -> render base and theirs -> plan -> print the plan (and a diff with
//! `--dry-run`) -> audit -> write all at once, the record last -> audit again and say what
//! the update changed in the findings.

pub mod apply;
pub mod check;
pub mod merge;
pub mod plan;
pub mod recorded;
mod versions;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use miette::Diagnostic;
use thiserror::Error;

use self::merge::{Labels, Markers};
use self::plan::{Action, ConflictStyle, Step};
use self::recorded::Recorded;
use crate::cli::{ConflictMode, UpdateArgs};
use crate::new::answers::{self, Answers, Ask};
use crate::new::manifest::Manifest;
use crate::new::render::{self, Builtins, RenderedTree};
use crate::new::templates::{Template, compare_versions};
use crate::new::{interrupt, record, service_name};
use crate::plural;

pub const SVC_VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Debug, Error, Diagnostic)]
pub enum UpdateError {
    #[error("the git work tree has uncommitted changes: {files}")]
    #[diagnostic(
        code(svc::update::dirty),
        help(
            "commit or stash them first, so the update is one reviewable change; or pass --allow-dirty"
        )
    )]
    Dirty { files: String },
    #[error(
        "the recorded answer `{key} = {value}` is not valid for the current {template} template: {why}"
    )]
    #[diagnostic(
        code(svc::update::answers),
        help("give it a new value with --set {key}=VALUE")
    )]
    Answer {
        key: String,
        value: String,
        template: String,
        why: String,
    },
}

/// The renders an update or a check compares.
pub struct Renders {
    pub recorded: Recorded,
    pub base_template: Template,
    pub theirs_template: Template,
    pub base: RenderedTree,
    pub theirs: RenderedTree,
    pub answers: Answers,
    /// Notes for the user: answers migrated, dropped or defaulted.
    pub notes: Vec<String>,
}

pub fn run(args: &UpdateArgs) -> miette::Result<ExitCode> {
    let root = args.path.clone().unwrap_or_else(|| PathBuf::from("."));
    let recorded = recorded::read(&root)?;
    if !args.allow_dirty && !args.dry_run {
        refuse_dirty(&root)?;
    }
    let templates = versions::templates(&recorded, args.template.as_deref(), args.to.as_deref())?;
    for note in &templates.notes {
        eprintln!("note: {note}");
    }
    let (base_template, theirs_template) = (templates.base, templates.theirs);
    let unchanged_commit = recorded.commit.is_none() || recorded.commit == templates.commit;
    if theirs_template.manifest.version == recorded.version && unchanged_commit {
        eprintln!(
            "{} is at version {} of the {} template, the current one; nothing to update",
            root.display(),
            recorded.version,
            recorded.template
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mut ask = answers::asker(args.yes);
    let renders = renders(
        recorded,
        base_template,
        (theirs_template, templates.commit),
        &args.set,
        ask.as_mut(),
    )?;
    drop(ask);
    for note in &renders.notes {
        eprintln!("note: {note}");
    }

    let base_label = format!(
        "{} template {}",
        renders.recorded.template, renders.recorded.version
    );
    let theirs_label = format!(
        "{} template {}",
        renders.theirs_template.manifest.name, renders.theirs_template.manifest.version
    );
    let style = match args.conflict {
        ConflictMode::Inline => ConflictStyle::Inline(Markers::Merge),
        ConflictMode::Diff3 => ConflictStyle::Inline(Markers::Diff3),
        ConflictMode::Rej => ConflictStyle::Reject,
    };
    let steps = plan::plan(&plan::Inputs {
        root: &root,
        base: &renders.base,
        theirs: &renders.theirs,
        style,
        labels: Labels {
            base: &base_label,
            theirs: &theirs_label,
        },
    });
    let shown = root.display().to_string();
    eprintln!(
        "{} {shown}: {base_label} -> {}",
        if args.dry_run {
            "would update"
        } else {
            "updating"
        },
        renders.theirs_template.manifest.version
    );
    print_plan(&steps);
    let conflicts: Vec<&Step> = steps
        .iter()
        .filter(|s| matches!(s.action, Action::Conflict(_)))
        .collect();
    if let Some(note) = lock_note(&steps) {
        eprintln!("note: {note}");
    }

    if args.dry_run {
        let diff = unified_diff(&steps);
        crate::stdout::write_with(|out| out.write_all(diff.as_bytes()))
            .map_err(|e| miette::miette!("cannot write to standard output: {e}"))?;
        eprintln!("dry run: nothing was written");
        return Ok(exit_for(&conflicts));
    }

    let before = audit_counts(&root);
    if steps.iter().any(Step::changes) || steps.iter().any(|s| s.reject.is_some()) {
        match apply::apply(&root, &steps) {
            Err(apply::ApplyError::Interrupted) => {
                eprintln!("interrupted; nothing was changed: every file is as it was");
                return Ok(ExitCode::from(interrupt::EXIT_CODE));
            }
            result => result?,
        }
    }
    let after = audit_counts(&root);
    report_findings(before.as_ref(), after.as_ref());
    if conflicts.is_empty() {
        eprintln!("updated {shown} to {theirs_label}");
    } else {
        eprintln!(
            "updated {shown} to {theirs_label} with {}; resolve {} and commit:",
            plural::count(conflicts.len(), "conflict", "conflicts"),
            if conflicts.len() == 1 { "it" } else { "them" }
        );
        for step in &conflicts {
            if let Action::Conflict(what) = &step.action {
                let place = if step.reject.is_some() {
                    format!(
                        "{} (the template's change is in {}.rej)",
                        step.path, step.path
                    )
                } else {
                    step.path.clone()
                };
                eprintln!("    {place}: {}", what.join("; "));
            }
        }
    }
    Ok(exit_for(&conflicts))
}

/// The commit to record for a template directory: HEAD when the template is committed.
pub fn template_commit(dir: &Path) -> Option<String> {
    versions::clean_head(dir)
}

/// Whether a template directory is inside a git work tree.
pub fn in_git(dir: &Path) -> bool {
    versions::is_git(dir)
}

/// A lock file comes from the template (its dependencies, pinned and hashed), so after an
/// update that merged dependencies of the project's own into pyproject.toml, the lock the
/// update wrote lacks them; the image, which installs from the lock, would too.
fn lock_note(steps: &[Step]) -> Option<String> {
    let own_dependencies = steps.iter().any(|s| {
        s.path == record::PYPROJECT
            && matches!(s.action, Action::Merge | Action::Conflict(_) | Action::Keep)
    });
    let locks: Vec<&str> = steps
        .iter()
        .filter(|s| s.path.starts_with("requirements") && s.path.ends_with(".txt"))
        .filter(|s| matches!(s.action, Action::Create | Action::Replace | Action::Merge))
        .map(|s| s.path.as_str())
        .collect();
    (own_dependencies && !locks.is_empty()).then(|| {
        format!(
            "{} now {} the template's locked dependencies; pyproject.toml has changes of your \
             own, so regenerate the lock if you added dependencies (the service's README, \
             \"Locked dependencies\")",
            locks.join(" and "),
            if locks.len() == 1 { "holds" } else { "hold" }
        )
    })
}

fn exit_for(conflicts: &[&Step]) -> ExitCode {
    if conflicts.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Renders the recorded version with the recorded answers, and the current one with the
/// answers carried over (migrated, `--set`, new variables asked or defaulted).
pub fn renders(
    recorded: Recorded,
    base_template: Template,
    (theirs_template, theirs_commit): (Template, Option<String>),
    sets: &[String],
    ask: &mut dyn Ask,
) -> miette::Result<Renders> {
    let service = service_name::parse(&recorded.name)?;
    let mut notes = Vec::new();

    let base_answers = recorded_answers(&recorded, &base_template.manifest, &recorded.answers)?;
    let base = render_tree(
        &base_template,
        &service,
        &base_answers,
        (&recorded.svc_version, recorded.commit.as_deref()),
    )?;

    let migrated = migrate(&recorded, &theirs_template.manifest, &mut notes);
    let manifest = &theirs_template.manifest;
    let mut given = answers::parse_sets(sets, manifest)?;
    for (key, answer) in &migrated {
        if given.iter().any(|(k, _)| k == key) {
            continue;
        }
        let Some(variable) = manifest.variables.iter().find(|v| v.name == *key) else {
            continue;
        };
        let value = answers::parse_answer(variable, &answer.as_typed()).map_err(|why| {
            UpdateError::Answer {
                key: key.clone(),
                value: answer.as_typed(),
                template: manifest.name.clone(),
                why: why.to_string(),
            }
        })?;
        given.push((key.clone(), value));
    }
    let new_variables: Vec<String> = manifest
        .variables
        .iter()
        .filter(|v| !given.iter().any(|(k, _)| *k == v.name))
        .map(|v| v.name.clone())
        .collect();
    let answers = answers::resolve(manifest, given, ask)?;
    if !new_variables.is_empty() && !ask.is_interactive() {
        let values: Vec<String> = new_variables
            .iter()
            .filter_map(|k| answers.get(k).map(|v| format!("{k} = {v}")))
            .collect();
        notes.push(format!(
            "version {} adds {}, which took the default ({}); change with --set KEY=VALUE",
            manifest.version,
            plural::count(new_variables.len(), "variable", "variables"),
            values.join(", ")
        ));
    }
    let theirs = render_tree(
        &theirs_template,
        &service,
        &answers,
        (SVC_VERSION, theirs_commit.as_deref()),
    )?;
    Ok(Renders {
        recorded,
        base_template,
        theirs_template,
        base,
        theirs,
        answers,
        notes,
    })
}

/// The recorded answers as the base manifest reads them; a variable without a recorded answer
/// (a record from a hand-edited pyproject) takes its default.
fn recorded_answers(
    recorded: &Recorded,
    manifest: &Manifest,
    given: &[(String, recorded::Answer)],
) -> miette::Result<Answers> {
    let mut answers = Answers::default();
    for variable in &manifest.variables {
        let value = match given.iter().find(|(k, _)| *k == variable.name) {
            Some((_, answer)) => {
                answers::parse_answer(variable, &answer.as_typed()).map_err(|why| {
                    UpdateError::Answer {
                        key: variable.name.clone(),
                        value: answer.as_typed(),
                        template: format!("{} {}", recorded.template, recorded.version),
                        why: why.to_string(),
                    }
                })?
            }
            None => variable.default.clone(),
        };
        answers.values.push((variable.name.clone(), value));
    }
    Ok(answers)
}

/// Applies the current manifest's `[[migrations]]` for versions after the recorded one.
fn migrate(
    recorded: &Recorded,
    manifest: &Manifest,
    notes: &mut Vec<String>,
) -> Vec<(String, recorded::Answer)> {
    let mut answers = recorded.answers.clone();
    for migration in &manifest.migrations {
        let newer = compare_versions(&migration.version, &recorded.version).is_gt();
        let reached = compare_versions(&migration.version, &manifest.version).is_le();
        if !(newer && reached) {
            continue;
        }
        for (old, new) in &migration.rename {
            if let Some(entry) = answers.iter_mut().find(|(k, _)| k == old) {
                notes.push(format!(
                    "the answer `{old}` is now `{new}` (version {})",
                    migration.version
                ));
                entry.0.clone_from(new);
            }
        }
        for gone in &migration.remove {
            if answers.iter().any(|(k, _)| k == gone) {
                notes.push(format!(
                    "the answer `{gone}` is no longer asked (version {})",
                    migration.version
                ));
                answers.retain(|(k, _)| k != gone);
            }
        }
    }
    for (key, _) in &answers {
        if !manifest.variables.iter().any(|v| v.name == *key) {
            notes.push(format!(
                "the recorded answer `{key}` is not a variable of version {} and was dropped",
                manifest.version
            ));
        }
    }
    answers
}

fn render_tree(
    template: &Template,
    service: &service_name::ServiceName,
    answers: &Answers,
    (svc_version, commit): (&str, Option<&str>),
) -> miette::Result<RenderedTree> {
    let builtins = Builtins {
        name: service,
        svc_version,
        year: crate::new::current_year(),
    };
    let context = render::context(&template.manifest, &builtins, answers)?;
    let mut tree = render::render(template, &context, answers)?;
    record::record(
        &mut tree,
        &template.manifest,
        service,
        answers,
        svc_version,
        commit,
    )?;
    Ok(tree)
}

/// Refuses to update over uncommitted changes: the update must be a change of its own.
fn refuse_dirty(root: &Path) -> Result<(), UpdateError> {
    let output = Command::new("git")
        .arg("-C")
        .arg(root)
        .args([
            "status",
            "--porcelain",
            "-z",
            "--untracked-files=normal",
            "--",
            ".",
        ])
        .output();
    let Ok(output) = output else {
        return Ok(()); // No git: the all-or-nothing write is the safety net.
    };
    if !output.status.success() {
        return Ok(()); // Not a work tree.
    }
    let files: Vec<String> = output
        .stdout
        .split(|b| *b == 0)
        .filter(|e| e.len() > 3)
        .map(|e| String::from_utf8_lossy(&e[3..]).into_owned())
        .collect();
    if files.is_empty() {
        return Ok(());
    }
    let mut shown = files
        .iter()
        .take(10)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if files.len() > 10 {
        shown.push_str(&format!(" and {} more", files.len() - 10));
    }
    Err(UpdateError::Dirty { files: shown })
}

fn print_plan(steps: &[Step]) {
    for step in steps {
        let (word, detail) = match &step.action {
            Action::Unchanged => continue,
            Action::Keep => (
                "keep",
                "your changes; the template did not change it".to_owned(),
            ),
            Action::KeepRemoved => ("keep", "the template removed it; you changed it".to_owned()),
            Action::StaysDeleted => ("deleted", "you deleted it; it stays deleted".to_owned()),
            Action::LeftAlone(why) => ("skip", why.clone()),
            Action::Conflict(what) => ("conflict", what.join("; ")),
            Action::Replace => ("replace", String::new()),
            Action::Merge => ("merge", String::new()),
            Action::Create => ("create", String::new()),
            Action::Delete => ("delete", String::new()),
        };
        if detail.is_empty() {
            eprintln!("    {word:<9} {}", step.path);
        } else {
            eprintln!("    {word:<9} {}  ({detail})", step.path);
        }
    }
}

/// What the update would change, as one unified diff (`a/` is the project now).
fn unified_diff(steps: &[Step]) -> String {
    let mut out = String::new();
    for step in steps.iter().filter(|s| s.changes() || s.reject.is_some()) {
        let text = |file: &Option<(Vec<u8>, bool)>| {
            file.as_ref()
                .map(|(c, _)| String::from_utf8_lossy(c).into_owned())
                .unwrap_or_default()
        };
        let (old, new) = (text(&step.ours), text(&step.result));
        let from = if step.ours.is_some() {
            format!("a/{}", step.path)
        } else {
            "/dev/null".to_owned()
        };
        let to = if step.result.is_some() {
            format!("b/{}", step.path)
        } else {
            "/dev/null".to_owned()
        };
        if old != new {
            let patch = diffy::create_patch(&old, &new).to_string();
            out.push_str(&format!("--- {from}\n+++ {to}\n"));
            out.push_str(&plan::hunks_of(&patch));
        }
        if let Some(reject) = &step.reject {
            out.push_str(&format!("# {}.rej would hold:\n{reject}", step.path));
        }
    }
    out
}

/// The findings of an audit of `root` with its own configuration, or None when the audit
/// could not run.
pub fn audit(root: &Path) -> Option<Vec<crate::audit::report::ReportedFinding>> {
    let options = crate::audit::AuditOptions {
        paths: vec![root.to_owned()],
        config: None,
        isolated: false,
        select: Vec::new(),
        ignore: Vec::new(),
        fail_on: None,
    };
    crate::audit::audit(&options)
        .ok()
        .map(|outcome| outcome.report.findings)
}

/// Finding counts per rule code, or None when the audit could not run.
fn audit_counts(root: &Path) -> Option<BTreeMap<&'static str, usize>> {
    let mut counts = BTreeMap::new();
    for finding in audit(root)? {
        *counts.entry(finding.code).or_default() += 1;
    }
    Some(counts)
}

fn report_findings(
    before: Option<&BTreeMap<&'static str, usize>>,
    after: Option<&BTreeMap<&'static str, usize>>,
) {
    let (Some(before), Some(after)) = (before, after) else {
        eprintln!("note: the audit could not run, so the update's effect on findings is unknown");
        return;
    };
    let total = |m: &BTreeMap<&str, usize>| m.values().sum::<usize>();
    let mut changes = Vec::new();
    let codes: std::collections::BTreeSet<&&str> = before.keys().chain(after.keys()).collect();
    for code in codes {
        let (b, a) = (
            before.get(*code).copied().unwrap_or(0),
            after.get(*code).copied().unwrap_or(0),
        );
        if a != b {
            #[allow(clippy::cast_possible_wrap)]
            let delta = a as i64 - b as i64;
            changes.push(format!("{delta:+} {code}"));
        }
    }
    if changes.is_empty() {
        eprintln!(
            "svc audit: the update changed no findings ({} before and after)",
            total(before)
        );
    } else {
        eprintln!(
            "svc audit: {} -> {} findings ({})",
            total(before),
            total(after),
            changes.join(", ")
        );
    }
}
