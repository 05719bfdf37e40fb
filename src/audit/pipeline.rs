//! The audit's stages: walk -> read -> parse -> service model -> rules -> severity, per-path
//! ignores, suppressions and scope -> report. From disk ([`audit`], [`load_from_disk`]) or
//! from memory ([`audit_sources`]), with settings resolved before ([`Settings`]).

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use ruff_text_size::TextRange;

use crate::audit::error::AuditError;
use crate::audit::model::{self, CodeFile, ModelOptions, Project};
use crate::audit::report::Report;
use crate::audit::rules::{self, Finding, Rule};
use crate::audit::settings::{AuditOptions, InputSettings, RuleSettings, Settings, in_scope};
use crate::audit::source::{self, FileId, FileKind, SourceFile};
use crate::audit::suppress::apply_suppressions;
use crate::audit::timing::Timer;
use crate::audit::{artefact, build_report, deep_pool, discover, python, try_deep_pool};
use crate::cli::FailOn;

/// A project read and modelled.
pub struct Loaded {
    pub project: Project,
    /// Files that could not be read or parsed, and the findings of files outside every
    /// service (checked as they were parsed).
    pub(crate) early: Vec<Finding>,
    /// Directories and entries the walk could not read: not audited, said on stderr.
    pub walk_errors: Vec<String>,
}

/// The result of an audit, ready for a reporter.
pub struct Outcome {
    pub report: Report,
    /// Directories and entries the walk could not read.
    pub walk_errors: Vec<String>,
    /// `--fail-on`, else the configuration's `fail-on`, else `warning`.
    pub fail_on: FailOn,
    /// Configuration files on the way that could not be read.
    pub config_warnings: Vec<String>,
    /// The audited root, which report paths are relative to.
    pub root: PathBuf,
    /// Paths (relative to the root) the report is limited to; empty for everything.
    pub scope: Vec<String>,
    /// Codes of the rules that ran.
    pub rules: Vec<&'static str>,
    /// The model the findings came from.
    pub project: Project,
}

/// Run an audit and build its report.
pub fn audit(options: &AuditOptions) -> Result<Outcome, AuditError> {
    let settings = Settings::resolve(options)?;
    let loaded = load_from_disk(&settings.input, Some(&settings.rules))?;
    let findings = findings_of(&loaded, &settings);
    let mut timer = Timer::start();
    let report = build_report(&loaded.project, findings);
    timer.mark("report");
    let Settings { input, rules } = settings;
    Ok(Outcome {
        report,
        fail_on: rules.fail_on,
        config_warnings: input.config.warnings,
        root: input.root,
        scope: input.scope,
        rules: rules.selected.iter().map(|r| r.code).collect(),
        walk_errors: loaded.walk_errors,
        project: loaded.project,
    })
}

/// An audit of files given in memory, before the report: the model and the findings.
pub struct Audited {
    pub project: Project,
    pub findings: Vec<Finding>,
}

impl Audited {
    /// The report, as `svc audit` builds it.
    pub fn into_report(self) -> Report {
        build_report(&self.project, self.findings)
    }
}

/// Audit files given in memory (path relative to the root, bytes), each a kind of file the
/// walk picks up, exactly as `svc audit` audits files read from disk: `exclude`/`include`,
/// parsing, the model, the selected rules, severity, per-path ignores and suppressions.
pub fn audit_sources(files: &[(&str, &[u8])], settings: &Settings) -> Result<Audited, AuditError> {
    let loaded = try_deep_pool()?.install(|| load_sources(files, settings))?;
    let findings = findings_of(&loaded, settings);
    Ok(Audited {
        project: loaded.project,
        findings,
    })
}

fn load_sources(files: &[(&str, &[u8])], settings: &Settings) -> Result<Loaded, AuditError> {
    let input = &settings.input;
    let filters = match &input.walk[..] {
        [(_, filters)] => filters,
        _ => unreachable!("files in memory are under one root"),
    };
    let mut files: Vec<&(&str, &[u8])> = files
        .iter()
        .filter(|(rel, _)| filters.excludes(rel).is_none())
        .collect();
    files.sort_by_key(|(rel, _)| *rel);
    let read = files
        .iter()
        .map(|(rel, bytes)| {
            let name = rel.rsplit('/').next().unwrap_or(rel);
            let kind = source::classify(name).expect("a kind of file the walk picks up");
            let (mut file, problem) = source_file(
                PathBuf::from(rel),
                rel.to_string(),
                kind,
                Ok(bytes.to_vec()),
            );
            // Nothing on disk to read it again from.
            file.keep_text();
            (file, problem)
        })
        .collect();
    let (files, early) = unreadable_findings(read);
    let (project, early) = model_sources(files, early, None, input, Some(&settings.rules));
    Ok(Loaded {
        project,
        early,
        walk_errors: Vec::new(),
    })
}

/// Run the selected rules on a loaded project; apply severity overrides, per-path ignores,
/// suppressions and the scope: the findings to report.
pub(crate) fn findings_of(loaded: &Loaded, settings: &Settings) -> Vec<Finding> {
    let mut timer = Timer::start();
    let project = &loaded.project;
    let input = &settings.input;
    let RuleSettings {
        selected,
        severity: overrides,
        per_path_ignores: per_path,
        rule_config,
        ..
    } = &settings.rules;
    // On the threads that parsed: warm, and no second pool to start.
    let mut findings = deep_pool().install(|| rules::run(project, selected, rule_config));
    timer.mark("rules");
    findings.extend(
        loaded
            .early
            .iter()
            .filter(|f| settings.rules.runs(f.rule))
            .cloned(),
    );

    // Severity overrides.
    for f in &mut findings {
        if let Some(s) = overrides.get(f.rule) {
            f.severity = s;
        }
    }

    // Per-path ignores.
    findings.retain(|f| !per_path.ignores(&project.file(f.file).rel, f.rule));

    let in_scope_file = |id: FileId| input.in_scope(&project.file(id).rel);
    let before: std::collections::HashSet<FileId> = findings.iter().map(|f| f.file).collect();
    let findings = apply_suppressions(project, findings, selected);
    timer.mark("overrides and suppressions");
    let mut findings: Vec<Finding> = findings
        .into_iter()
        .filter(|f| in_scope_file(f.file))
        .collect();

    // A file changed since the audit read it (it is read again to place its findings): the
    // positions of its findings point into text that is gone, and its suppressions were
    // matched against nothing. One `unreadable-file` finding instead. Files whose findings
    // were all suppressed are looked at too: wrongly, maybe.
    let unreadable = &rules::meta::unreadable_file::RULE;
    let mut changed: Vec<FileId> = before
        .iter()
        .copied()
        .chain(findings.iter().map(|f| f.file))
        .filter(|&id| in_scope_file(id))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter(|&id| project.file(id).changed_since_read())
        .collect();
    if !changed.is_empty() {
        findings.retain(|f| !changed.contains(&f.file));
        changed.retain(|&id| {
            let rel = &project.file(id).rel;
            settings.rules.runs(unreadable) && !per_path.ignores(rel, unreadable)
        });
        for id in changed {
            findings.push(Finding {
                rule: unreadable,
                severity: overrides.of(unreadable),
                file: id,
                range: TextRange::default(),
                message: "the file changed while the audit ran: its findings cannot be placed \
                          in it; audit it again"
                    .into(),
                help: None,
                service: project.owner[id as usize],
            });
        }
    }
    findings
}

/// Read, parse and model the files an audit covers.
///
/// With `checks`, files outside every service are checked as they are parsed (their findings
/// land in `early`) and only the facts of service files are kept.
pub fn load_from_disk(
    input: &InputSettings,
    checks: Option<&RuleSettings>,
) -> Result<Loaded, AuditError> {
    // In the pool, so that even work rayon keeps on the calling thread has a deep stack.
    try_deep_pool()?.install(|| load_files(input, checks))
}

fn load_files(input: &InputSettings, checks: Option<&RuleSettings>) -> Result<Loaded, AuditError> {
    let root = &input.root;
    let scope = &input.scope;
    // Every file of the project is read even when only some are named (pre-commit passes
    // the changed files): cross-file rules need the whole service. `scope` narrows the report.
    let mut timer = Timer::start();
    let named = &input.named;
    let (found, walk_errors) = match &input.walk[..] {
        [(dir, filters)] if dir == root => walk(root, filters, named)?,
        _ => {
            let mut found = Vec::new();
            let mut errors = Vec::new();
            for (dir, filters) in &input.walk {
                let (files, errs) = walk(dir, filters, named)?;
                found.extend(files.into_iter().map(|mut f| {
                    f.rel = discover::relative(root, &f.path);
                    f
                }));
                let under = discover::relative(root, dir);
                errors.extend(errs.into_iter().map(|e| format!("{e} (under {under})")));
            }
            found.sort_by(|a, b| a.rel.cmp(&b.rel));
            (found, errors)
        }
    };
    timer.mark("walk");
    let max_file_size = input.max_file_size;
    // Dependency files alone are nothing to audit; code or a deployment artefact is.
    if !found
        .iter()
        .any(|f| f.kind != FileKind::Manifest || scope.iter().any(|s| in_scope(&f.rel, s)))
    {
        return Err(AuditError::NoFiles(input.first_path.clone()));
    }

    // Read in parallel; a file that cannot be read becomes a finding. A file that may define
    // an app is parsed right away, while its text is fresh in the cache: these decide which
    // directories are services before the other files are parsed. One file per task, here and
    // in the other parse passes: rayon's default split hands a quarter of the files to one
    // task, and a thread busy with such a run cannot be helped by the other once that one is
    // done (a single-thread tail of 10-25 ms on prefect-3.9.1).
    let read: Vec<(Read, Option<Parsed>)> = found
        .into_par_iter()
        .enumerate()
        .with_max_len(1)
        .map(|(i, d)| {
            let (mut file, problem) = match source::read_source(&d.path, max_file_size) {
                Ok(source::Contents::TooLarge(size)) => too_large(d, size, max_file_size),
                Ok(source::Contents::Bytes(bytes)) => source_file(d.path, d.rel, d.kind, Ok(bytes)),
                Err(e) => source_file(d.path, d.rel, d.kind, Err(e)),
            };
            let first = (problem.is_none() && may_define_app(&file)).then(|| {
                let parsed = parse_python(&file, i as FileId);
                file.release_text();
                parsed
            });
            ((file, problem), first)
        })
        .collect();
    let (read, first): (Vec<_>, Vec<_>) = read.into_iter().unzip();
    let (files, early) = unreadable_findings(read);
    timer.mark("read and parse files that may define an app");
    let (project, early) = model_sources(files, early, Some(first), input, checks);
    Ok(Loaded {
        project,
        early,
        walk_errors,
    })
}

/// [`discover::discover`], whose threads can fail to start under a process limit although
/// they were counted just before: an error (exit 2), not a panic.
fn walk(
    root: &Path,
    filters: &discover::Filters,
    named: &[PathBuf],
) -> Result<(Vec<discover::Discovered>, Vec<String>), AuditError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        discover::discover(root, filters, named)
    }))
    .map_err(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if !message.starts_with("failed to spawn thread") {
            std::panic::resume_unwind(panic);
        }
        AuditError::Threads(format!("the directory walk: {message}"))
    })
}

/// A file as read, and why it cannot be audited if it cannot: the rule that says so and its
/// message.
type Read = (SourceFile, Option<Problem>);
type Problem = (&'static Rule, String);

/// A file as read: its text, or (empty text and) why it cannot be audited.
pub(crate) fn source_file(
    path: PathBuf,
    rel: String,
    kind: FileKind,
    bytes: std::io::Result<Vec<u8>>,
) -> (SourceFile, Option<Problem>) {
    let text = match bytes {
        Ok(bytes) => String::from_utf8(bytes).map_err(|_| "the file is not UTF-8 text".to_string()),
        Err(e) => Err(format!("cannot read the file: {e}")),
    };
    let unreadable = &rules::meta::unreadable_file::RULE;
    match text {
        Ok(text) => (SourceFile::new(path, rel, kind, text), None),
        Err(msg) => (
            SourceFile::new(path, rel, kind, String::new()),
            Some((unreadable, msg)),
        ),
    }
}

/// A file over `max-file-size`, not read.
fn too_large(d: discover::Discovered, size: u64, limit: u64) -> (SourceFile, Option<Problem>) {
    let message = format!(
        "the file is {size} bytes, over the limit of {} (`max-file-size`): it was not audited",
        human_size(limit)
    );
    (
        SourceFile::new(d.path, d.rel, d.kind, String::new()),
        Some((&rules::meta::file_too_large::RULE, message)),
    )
}

/// `64 MiB`, `1 KiB`, `1000 bytes`.
fn human_size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 && b % (1 << 30) == 0 => format!("{} GiB", b >> 30),
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

/// The files as read, and a finding (`unreadable-file`, `file-too-large`) for each that
/// could not be.
pub(crate) fn unreadable_findings(read: Vec<Read>) -> (Vec<SourceFile>, Vec<Finding>) {
    let mut files = Vec::with_capacity(read.len());
    let mut early = Vec::new();
    for (i, (f, problem)) in read.into_iter().enumerate() {
        if let Some((rule, message)) = problem {
            early.push(Finding::new(
                rule,
                i as FileId,
                TextRange::default(),
                message,
            ));
        }
        files.push(f);
    }
    (files, early)
}

/// Parse and model files already read: everything a load does after the walk. `early`
/// holds the findings so far (unreadable files) and comes back with parse failures and the
/// findings of files outside every service added.
pub(crate) fn model_sources(
    mut files: Vec<SourceFile>,
    mut early: Vec<Finding>,
    first: Option<Vec<Option<Parsed>>>,
    input: &InputSettings,
    checks: Option<&RuleSettings>,
) -> (Project, Vec<Finding>) {
    let mut timer = Timer::start();
    // Parse the files that may define an app first: they decide which directories are
    // services. Then the rest: files outside every service are checked at once and their
    // facts dropped, so memory holds only what the cross-file model needs. A Python file's
    // text is dropped as soon as its facts are out; a finding that needs it reads it again.
    let mut code: Vec<Option<CodeFile>> = (0..files.len()).map(|_| None).collect();
    let is_python = |f: &SourceFile| f.kind == FileKind::Python && !f.is_empty();
    // Parsed as they were read (see `load_files`), or here.
    let outcomes: Vec<Option<Parsed>> = first.unwrap_or_else(|| {
        // One file per task, as in the other parse passes.
        files
            .par_iter_mut()
            .enumerate()
            .with_max_len(1)
            .map(|(i, file)| {
                may_define_app(file).then(|| {
                    let parsed = parse_python(file, i as FileId);
                    file.release_text();
                    parsed
                })
            })
            .collect()
    });
    let first: Vec<bool> = outcomes.iter().map(Option::is_some).collect();
    let outcomes = outcomes
        .into_iter()
        .enumerate()
        .filter_map(|(i, p)| Some((i, p?)));
    for (i, p) in outcomes {
        match p {
            Parsed::Facts(facts) => code[i] = Some(*facts),
            Parsed::Failed(f) => early.push(f),
            Parsed::Checked(_) => unreachable!("app files are never checked alone"),
        }
    }
    // An app class of the repository (`class ServiceApp(FastAPI)`) is built in files that need
    // not name FastAPI: parse those too before deciding. Rare, so the text is searched only
    // when such a class exists.
    let subclass_names = model::app_subclass_names(&files, &code);
    let mut first = first;
    if !subclass_names.is_empty() {
        let finders: Vec<_> = subclass_names
            .iter()
            .map(|n| memchr::memmem::Finder::new(n.as_bytes()).into_owned())
            .collect();
        let more: Vec<(usize, Parsed)> = files
            .par_iter_mut()
            .enumerate()
            .with_max_len(1)
            .filter(|(i, f)| !first[*i] && is_python(f))
            .filter_map(|(i, file)| {
                let names_one = finders
                    .iter()
                    .any(|f| f.find(file.text().as_bytes()).is_some());
                names_one.then(|| {
                    let parsed = parse_python(file, i as FileId);
                    file.release_text();
                    (i, parsed)
                })
            })
            .collect();
        for (i, p) in more {
            first[i] = true;
            match p {
                Parsed::Facts(facts) => code[i] = Some(*facts),
                Parsed::Failed(f) => early.push(f),
                Parsed::Checked(_) => unreachable!("app files are never checked alone"),
            }
        }
    }
    timer.mark("service directories");
    let service_dirs = model::find_service_dirs(&files, &code);
    let outcomes: Vec<(usize, Parsed)> = files
        .par_iter_mut()
        .enumerate()
        // One file per task (see `load_files`).
        .with_max_len(1)
        .filter(|(i, f)| !first[*i] && is_python(f))
        .map(|(i, file)| {
            let loose = model::owning_dir(&service_dirs, &file.rel).is_none();
            let outcome = match checks {
                // Checked and dropped at once: sharing its names would buy nothing.
                Some(settings) if loose => {
                    model::name::unshared(|| match parse_python(file, i as FileId) {
                        Parsed::Facts(facts) => {
                            Parsed::Checked(check_loose_file(file, *facts, i as FileId, settings))
                        }
                        other => other,
                    })
                }
                _ => parse_python(file, i as FileId),
            };
            file.release_text();
            (i, outcome)
        })
        .collect();
    for (i, p) in outcomes {
        match p {
            Parsed::Facts(facts) => code[i] = Some(*facts),
            Parsed::Failed(f) => early.push(f),
            Parsed::Checked(found) => early.extend(found),
        }
    }

    timer.mark("parse the other Python files");
    if crate::audit::timing::timings_enabled() {
        eprintln!("svc: timing: parse arena: {}", crate::alloc::describe());
    }
    let artefacts = parse_artefacts(&files, &mut early);
    timer.mark("parse artefacts");
    let mut project = model::build(files, code, &input.model);
    model::artefacts::attach(&mut project, artefacts);
    timer.mark("model");
    for f in &mut early {
        f.service = project.owner[f.file as usize];
    }
    // The names in the facts stay; the tables that shared them out are not needed any more.
    deep_pool().broadcast(|_| model::name::clear());
    (project, early)
}

/// A Python file that mentions an app constructor: parsed first, since it may make its
/// directory a service.
fn may_define_app(file: &SourceFile) -> bool {
    file.kind == FileKind::Python && !file.is_empty() && model::may_define_app(file.text())
}

/// Parse the deployment artefacts in parallel; one that does not parse is a `syntax-error`
/// finding naming its format.
fn parse_artefacts(
    files: &[SourceFile],
    early: &mut Vec<Finding>,
) -> Vec<Option<artefact::Artefact>> {
    let unreadable: std::collections::HashSet<FileId> = early.iter().map(|f| f.file).collect();
    let parsed: Vec<_> = files
        .par_iter()
        .enumerate()
        .map(|(i, f)| match unreadable.contains(&(i as FileId)) {
            true => None,
            false => artefact::analyze(f),
        })
        .collect();
    parsed
        .into_iter()
        .enumerate()
        .map(|(i, a)| match a? {
            Ok(a) => {
                for (range, message) in &a.invalid_suppressions {
                    let mut f = Finding::new(
                        &rules::meta::unused_suppression::RULE,
                        i as FileId,
                        *range,
                        message.clone(),
                    );
                    f.help = Some(
                        "name the rules to ignore (codes, names, prefixes or principles), or `ALL`"
                            .into(),
                    );
                    early.push(f);
                }
                Some(a)
            }
            Err(e) => {
                let rule = match e.templated {
                    true => &rules::meta::templated_file_not_checked::RULE,
                    false => &rules::meta::syntax_error::RULE,
                };
                early.push(Finding::new(rule, i as FileId, e.range, e.message));
                None
            }
        })
        .collect()
}

/// What parsing one Python file gave.
pub(crate) enum Parsed {
    /// Boxed: the facts are the large variant, and they move through rayon's collections.
    Facts(Box<CodeFile>),
    /// It does not parse: a `syntax-error` finding.
    Failed(Finding),
    /// A file outside every service, already checked: its findings.
    Checked(Vec<Finding>),
}

fn parse_python(file: &SourceFile, id: FileId) -> Parsed {
    let (module, is_package) = file.python_module();
    match python::analyze(file.text(), &module, is_package) {
        Ok(code) => Parsed::Facts(Box::new(code)),
        Err(e) => Parsed::Failed(Finding::new(
            &rules::meta::syntax_error::RULE,
            id,
            e.range,
            format!("syntax error: {}", e.message),
        )),
    }
}

/// Run the code-level rules on a file that belongs to no service, on its own: such a file
/// takes no part in any cross-file model, so its facts need not outlive this call.
fn check_loose_file(
    file: &mut SourceFile,
    facts: CodeFile,
    id: FileId,
    settings: &RuleSettings,
) -> Vec<Finding> {
    // The one-file model borrows the file for the time of the check.
    let stand_in = SourceFile::new(PathBuf::new(), String::new(), file.kind, String::new());
    let taken = std::mem::replace(file, stand_in);
    let mut alone = model::build(vec![taken], vec![Some(facts)], &ModelOptions::default());
    let findings = rules::run(&alone, &settings.selected, &settings.rule_config);
    let mut findings = apply_suppressions(&alone, findings, &settings.selected);
    *file = alone.files.pop().expect("the file of a one-file model");
    for f in &mut findings {
        f.file = id;
        f.service = None;
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_rewritten_between_parse_and_report_is_one_unreadable_file_finding() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let write = |rel: &str, text: &str| std::fs::write(d.join(rel), text).unwrap();
        write(
            "pyproject.toml",
            "[project]\nname = \"r\"\nversion = \"0\"\n",
        );
        write(
            "main.py",
            "from fastapi import FastAPI\napp = FastAPI()\nprint(1)\n",
        );
        write(
            "a.py",
            "import os\n\n\n\ndef f():\n    password = \"hunter2hunter2xx\"\n    return password\n",
        );
        write(
            "b.py",
            "def g():\n    print(2)  # svc: ignore[print-call] kept\n\n    print(3)\n\n\ng()\n",
        );
        let options = AuditOptions {
            paths: vec![d.to_path_buf()],
            isolated: true,
            select: vec!["SV".into(), "AU003".into(), "LG001".into()],
            ..AuditOptions::default()
        };
        let settings = Settings::resolve(&options).unwrap();
        let report_of = |loaded: &Loaded| {
            let findings = findings_of(loaded, &settings);
            let report = build_report(&loaded.project, findings);
            let found: Vec<String> = report
                .findings
                .iter()
                .map(|f| {
                    let at = format!(
                        "{}:{}:{}-{}:{}",
                        f.path, f.line, f.column, f.end_line, f.end_column
                    );
                    format!("{at} {} {}", f.code, f.message)
                })
                .collect();
            found
        };

        // Parsed, then rewritten (a.py) and changed to the same length (b.py) before the
        // findings are placed: their positions point into text that is gone.
        let loaded = load_from_disk(&settings.input, Some(&settings.rules)).unwrap();
        write("a.py", "# rewritten\nx = 1\n");
        let b = std::fs::read_to_string(d.join("b.py")).unwrap();
        write("b.py", &b.replace("print(3)", "print(4)"));
        let changed = "the file changed while the audit ran: its findings cannot be placed in \
                       it; audit it again";
        assert_eq!(
            report_of(&loaded),
            [
                format!("a.py:1:1-1:1 SV002 {changed}"),
                format!("b.py:1:1-1:1 SV002 {changed}"),
                "main.py:3:1-3:6 LG001 `print()` in service code writes unstructured output"
                    .to_string(),
            ]
        );

        // Unchanged, the same files give their own findings.
        write(
            "a.py",
            "import os\n\n\n\ndef f():\n    password = \"hunter2hunter2xx\"\n    return password\n",
        );
        write("b.py", &b);
        let loaded = load_from_disk(&settings.input, Some(&settings.rules)).unwrap();
        let found = report_of(&loaded);
        assert_eq!(
            found
                .iter()
                .map(|f| f.split(' ').take(2).collect::<Vec<_>>().join(" "))
                .collect::<Vec<_>>(),
            [
                "a.py:6:16-6:34 AU003",
                "b.py:4:5-4:10 LG001",
                "main.py:3:1-3:6 LG001"
            ]
        );
    }
}
