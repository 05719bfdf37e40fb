//! `svc audit`: walk -> parse -> service model -> rules -> suppress -> report.

pub mod artefact;
pub mod baseline;
pub mod changed;
pub mod config;
pub mod discover;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
mod inspect;
pub mod model;
pub mod python;
pub mod report;
pub mod rules;
pub mod source;
pub mod suppress;

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use globset::{Glob, GlobSet, GlobSetBuilder};
use rayon::prelude::*;
use ruff_text_size::{TextRange, TextSize};

use crate::cli::{AuditArgs, ExplainArgs, FailOn, ListFormat, OutputFormat, RulesArgs};
use config::Config;
use error::AuditError;
pub use inspect::inspect;
use model::{CodeFile, ModelOptions, Project};
use report::{RenderOptions, Report, ReportedFinding, ReportedService, Reporter, Summary};
use rules::{Finding, Principle, REGISTRY, Rule, RuleConfig, Severity};
use source::{FileId, FileKind, SourceFile};

/// What to audit and how; the CLI's flags, after parsing.
#[derive(Debug, Clone, Default)]
pub struct AuditOptions {
    pub paths: Vec<PathBuf>,
    pub config: Option<PathBuf>,
    pub isolated: bool,
    pub select: Vec<String>,
    pub ignore: Vec<String>,
}

/// The result of an audit, ready for a reporter.
pub struct Outcome {
    pub report: Report,
    /// Directories and entries the walk could not read.
    pub walk_errors: Vec<String>,
    /// `fail-on` from configuration, when the command line did not set one.
    pub config_fail_on: Option<String>,
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

pub fn run(args: &AuditArgs) -> miette::Result<ExitCode> {
    let options = AuditOptions {
        paths: args.paths.clone(),
        config: args.config.clone(),
        isolated: args.isolated,
        select: args.select.clone(),
        ignore: args.ignore.clone(),
    };
    let mut outcome = audit(&options)?;
    // Freeing millions of small facts one by one took a tenth of a run on prefect-3.9.1;
    // the process is about to exit and the OS takes the memory back at once.
    std::mem::forget(std::mem::take(&mut outcome.project));
    for w in &outcome.config_warnings {
        eprintln!("svc: warning: {w}");
    }
    // Not audited, and not silently: a directory the walk could not enter.
    for e in &outcome.walk_errors {
        eprintln!("svc: warning: not audited: {e}");
    }
    if let Some(rev) = &args.diff {
        // Before the baseline, so that stale entries on unchanged lines are not reported.
        let changed = changed::ChangedLines::since(&outcome.root, rev)?;
        outcome
            .report
            .retain(|f| changed.touches(&f.path, f.line, f.end_line));
    }
    if let Some(path) = &args.write_baseline {
        let baseline = baseline::Baseline::from_report(&outcome.report);
        baseline.write(path)?;
        if !args.quiet {
            eprintln!(
                "svc: wrote {} findings ({} entries) to the baseline {}",
                outcome.report.findings.len(),
                baseline.findings.len(),
                path.display()
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(path) = &args.baseline {
        let baseline = baseline::Baseline::read(path)?;
        let before = outcome.report.findings.len();
        let covered = |e: &baseline::Entry| {
            outcome.rules.contains(&e.code.as_str())
                && (outcome.scope.is_empty() || outcome.scope.iter().any(|s| in_scope(&e.path, s)))
                && args.diff.is_none()
        };
        let stale = baseline.apply(&mut outcome.report, covered);
        if !args.quiet {
            let hidden = before - outcome.report.findings.len();
            eprintln!(
                "svc: {hidden} findings in the baseline {} not shown",
                path.display()
            );
        }
        // Always said: a stale entry would hide the same violation when it comes back.
        if !stale.is_empty() {
            eprintln!(
                "svc: {} baseline entries no longer match (fixed or changed); \
                 `svc audit --write-baseline {}` drops them:",
                stale.len(),
                path.display()
            );
            for s in &stale {
                eprintln!(
                    "  {} {} {} ({} of {} gone)",
                    s.entry.path, s.entry.code, s.entry.name, s.missing, s.entry.count
                );
            }
        }
    }
    let color = args.output.is_none()
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let render = RenderOptions {
        color,
        quiet: args.quiet,
    };
    let reporter: &dyn Reporter = match args.format {
        OutputFormat::Text => &report::TextReporter,
        OutputFormat::Json => &report::JsonReporter,
        OutputFormat::Sarif => &report::SarifReporter,
        OutputFormat::Github => &report::GithubReporter,
    };
    let written = match &args.output {
        Some(path) => {
            let mut buf = Vec::new();
            reporter
                .write(&outcome.report, &render, &mut buf)
                .and_then(|_| std::fs::write(path, &buf))
                .map_err(|source| AuditError::Write {
                    path: path.clone(),
                    source,
                })
        }
        None => crate::stdout::write_with(|out| reporter.write(&outcome.report, &render, out))
            .map_err(|source| AuditError::Write {
                path: PathBuf::from("<stdout>"),
                source,
            }),
    };
    written?;
    let fail_on = args
        .fail_on
        .unwrap_or(match outcome.config_fail_on.as_deref() {
            Some("error") => FailOn::Error,
            Some("info") => FailOn::Info,
            Some("never") => FailOn::Never,
            _ => FailOn::Warning,
        });
    let threshold = match fail_on {
        FailOn::Error => Some(Severity::Error),
        FailOn::Warning => Some(Severity::Warning),
        FailOn::Info => Some(Severity::Info),
        FailOn::Never => None,
    };
    let failed = match (threshold, outcome.report.max_severity()) {
        (Some(t), Some(max)) => max >= t,
        _ => false,
    };
    Ok(ExitCode::from(u8::from(failed)))
}

/// The configuration that applies to an audit of `options.paths`.
pub fn load_config(options: &AuditOptions) -> Result<Config, AuditError> {
    if options.isolated {
        return Ok(Config::default());
    }
    match &options.config {
        Some(path) => config::load(path),
        None => config::discover(&config_start(&absolute_paths(options)?)),
    }
}

/// The paths to audit (the current directory when none are given), made absolute.
fn absolute_paths(options: &AuditOptions) -> Result<Vec<PathBuf>, AuditError> {
    let paths: Vec<PathBuf> = if options.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        options.paths.clone()
    };
    paths
        .iter()
        .map(|p| std::fs::canonicalize(p).map_err(|_| AuditError::PathNotFound(p.clone())))
        .collect()
}

/// Where the configuration is searched from: the directory audited; for files (and several
/// paths), the git work tree they are in, so that `svc audit FILE...` (pre-commit) reads the
/// configuration `svc audit` at the work tree's root reads, not that of a service below it;
/// outside git, the first path.
fn config_start(absolute: &[PathBuf]) -> PathBuf {
    if absolute.len() == 1 && absolute[0].is_dir() {
        return absolute[0].clone();
    }
    discover::work_tree(&common_ancestor(absolute)).unwrap_or_else(|| absolute[0].clone())
}

/// A project read from disk, with the configuration that applies to it.
pub struct Loaded {
    pub project: Project,
    /// The directory walked; file paths are relative to it.
    pub root: PathBuf,
    pub config: Config,
    /// Paths (relative to the root) findings are limited to; empty for everything.
    pub scope: Vec<String>,
    /// Config globs are relative to the config file: this maps them onto the audit root.
    config_prefix: String,
    /// Files that could not be read or parsed.
    early: Vec<Finding>,
    /// Directories and entries the walk could not read: not audited, said on stderr.
    pub walk_errors: Vec<String>,
}

impl Loaded {
    fn prefixed(&self, globs: &[String]) -> Vec<String> {
        prefix_globs(&self.config_prefix, globs)
    }
}

fn prefix_globs(config_prefix: &str, globs: &[String]) -> Vec<String> {
    globs
        .iter()
        .map(|g| match config_prefix {
            "" => g.clone(),
            _ => g
                .strip_prefix(&format!("{config_prefix}/"))
                .map(str::to_string)
                .unwrap_or_else(|| g.clone()),
        })
        .collect()
}

/// Run an audit and build its report.
pub fn audit(options: &AuditOptions) -> Result<Outcome, AuditError> {
    let config = load_config(options)?;
    let selected = select_rules(&config, options)?;
    let rule_config = RuleConfig {
        public_routes: config.public_routes.clone(),
    };
    let loaded = load(options, Some((&selected, &rule_config)))?;
    let findings = findings_of(&loaded, &selected, &rule_config)?;
    let mut timer = Timer::start();
    let report = build_report(&loaded.project, findings);
    timer.mark("report");
    Ok(Outcome {
        report,
        config_fail_on: loaded.config.fail_on.clone(),
        config_warnings: loaded.config.warnings.clone(),
        root: loaded.root.clone(),
        scope: loaded.scope.clone(),
        rules: selected.iter().map(|r| r.code).collect(),
        walk_errors: loaded.walk_errors.clone(),
        project: loaded.project,
    })
}

/// Run the selected rules on a loaded project; apply severity overrides, per-path ignores,
/// suppressions and the scope: the findings to report.
fn findings_of(
    loaded: &Loaded,
    selected: &[&'static Rule],
    rule_config: &RuleConfig,
) -> Result<Vec<Finding>, AuditError> {
    let mut timer = Timer::start();
    let Loaded {
        ref project,
        ref config,
        ref scope,
        ..
    } = *loaded;
    // On the threads that parsed: warm, and no second pool to start.
    let mut findings = deep_pool().install(|| rules::run(project, selected, rule_config));
    timer.mark("rules");
    findings.extend(
        loaded
            .early
            .iter()
            .filter(|f| selected.iter().any(|r| std::ptr::eq(*r, f.rule)))
            .cloned(),
    );

    // Severity overrides.
    let mut overrides: HashMap<&'static str, Severity> = HashMap::new();
    for (key, sev) in &config.severity {
        let rule = rules::find(key)
            .ok_or_else(|| AuditError::UnknownSelector(key.clone(), "[severity]"))?;
        overrides.insert(rule.code, *sev);
    }
    for f in &mut findings {
        if let Some(s) = overrides.get(f.rule.code) {
            f.severity = *s;
        }
    }

    // Per-path ignores.
    let per_path = per_path_ignores(config, &|g: &[String]| loaded.prefixed(g))?;
    findings.retain(|f| {
        let rel = &project.file(f.file).rel;
        !per_path
            .iter()
            .any(|(set, rules)| set.is_match(rel) && rules.iter().any(|r| std::ptr::eq(*r, f.rule)))
    });

    let findings = apply_suppressions(project, findings, selected);
    timer.mark("overrides and suppressions");
    Ok(findings
        .into_iter()
        .filter(|f| {
            scope.is_empty() || scope.iter().any(|s| in_scope(&project.file(f.file).rel, s))
        })
        .collect())
}

/// Read, parse and model the files an audit of `options.paths` covers.
///
/// With `checks`, files outside every service are checked as they are parsed (their findings
/// land in `early`) and only the facts of service files are kept.
pub fn load(
    options: &AuditOptions,
    checks: Option<(&[&'static Rule], &RuleConfig)>,
) -> Result<Loaded, AuditError> {
    // In the pool, so that even work rayon keeps on the calling thread has a deep stack.
    deep_pool().install(|| load_files(options, checks))
}

fn load_files(
    options: &AuditOptions,
    checks: Option<(&[&'static Rule], &RuleConfig)>,
) -> Result<Loaded, AuditError> {
    let absolute = absolute_paths(options)?;
    let config = load_config(options)?;

    // The root: the directory audited, or for files, the directory of their project.
    let root = audit_root(&absolute, &config);
    let scope: Vec<String> = absolute
        .iter()
        .filter(|p| **p != root)
        .map(|p| discover::relative(&root, p))
        .collect();

    // Globs in configuration are relative to the configuration file's directory.
    let config_prefix = config
        .path
        .as_ref()
        .and_then(|p| p.parent())
        .and_then(|d| std::fs::canonicalize(d).ok())
        .and_then(|d| {
            root.strip_prefix(&d)
                .ok()
                .map(|r| discover::relative(&d, &d.join(r)))
        })
        .filter(|r| !r.is_empty() && !r.ends_with(".toml"))
        .unwrap_or_default();
    let prefixed = |globs: &[String]| prefix_globs(&config_prefix, globs);
    let filters = discover::Filters::new(&prefixed(&config.exclude), &prefixed(&config.include))?;
    // Every file of the project is read even when only some are named (pre-commit passes
    // the changed files): cross-file rules need the whole service. `scope` narrows the report.
    let mut timer = Timer::start();
    let named: Vec<PathBuf> = absolute.iter().filter(|p| p.is_file()).cloned().collect();
    let (found, walk_errors) = discover::discover(&root, &filters, &named);
    timer.mark("walk");
    // Dependency files alone are nothing to audit; code or a deployment artefact is.
    if !found
        .iter()
        .any(|f| f.kind != FileKind::Manifest || scope.iter().any(|s| in_scope(&f.rel, s)))
    {
        return Err(AuditError::NoFiles(
            options.paths.first().cloned().unwrap_or_else(|| ".".into()),
        ));
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
            let bytes = source::read_regular(&d.path);
            let (mut file, problem) = source_file(d.path, d.rel, d.kind, bytes);
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
    let (project, early) =
        model_sources(files, early, Some(first), &config, &config_prefix, checks);
    Ok(Loaded {
        project,
        root,
        config,
        scope,
        config_prefix,
        early,
        walk_errors,
    })
}

/// A file as read, and why it cannot be audited if it cannot.
type Read = (SourceFile, Option<String>);

/// A file as read: its text, or (empty text and) why it cannot be audited.
fn source_file(
    path: PathBuf,
    rel: String,
    kind: FileKind,
    bytes: std::io::Result<Vec<u8>>,
) -> (SourceFile, Option<String>) {
    let text = match bytes {
        Ok(bytes) => String::from_utf8(bytes).map_err(|_| "the file is not UTF-8 text".to_string()),
        Err(e) => Err(format!("cannot read the file: {e}")),
    };
    match text {
        Ok(text) => (SourceFile::new(path, rel, kind, text), None),
        Err(msg) => (SourceFile::new(path, rel, kind, String::new()), Some(msg)),
    }
}

/// The files as read, and an `unreadable-file` finding for each that could not be.
fn unreadable_findings(read: Vec<(SourceFile, Option<String>)>) -> (Vec<SourceFile>, Vec<Finding>) {
    let mut files = Vec::with_capacity(read.len());
    let mut early = Vec::new();
    for (i, (f, problem)) in read.into_iter().enumerate() {
        if let Some(message) = problem {
            early.push(Finding::new(
                &rules::meta::unreadable_file::RULE,
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
fn model_sources(
    mut files: Vec<SourceFile>,
    mut early: Vec<Finding>,
    first: Option<Vec<Option<Parsed>>>,
    config: &Config,
    config_prefix: &str,
    checks: Option<(&[&'static Rule], &RuleConfig)>,
) -> (Project, Vec<Finding>) {
    let mut timer = Timer::start();
    let prefixed = |globs: &[String]| prefix_globs(config_prefix, globs);
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
            Parsed::Facts(facts) => code[i] = Some(facts),
            Parsed::Failed(f) => early.push(f),
            Parsed::Checked(_) => unreachable!("app files are never checked alone"),
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
                Some((selected, rule_config)) if loose => {
                    model::name::unshared(|| match parse_python(file, i as FileId) {
                        Parsed::Facts(facts) => Parsed::Checked(check_loose_file(
                            file,
                            facts,
                            i as FileId,
                            selected,
                            rule_config,
                        )),
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
            Parsed::Facts(facts) => code[i] = Some(facts),
            Parsed::Failed(f) => early.push(f),
            Parsed::Checked(found) => early.extend(found),
        }
    }

    timer.mark("parse the other Python files");
    let artefacts = parse_artefacts(&files, &mut early);
    timer.mark("parse artefacts");
    let model_options = ModelOptions {
        kinds: config
            .services
            .iter()
            .map(|(dir, kind)| (prefixed(std::slice::from_ref(dir)).remove(0), *kind))
            .collect(),
        auth_dependencies: config.auth_dependencies.clone(),
    };
    let mut project = model::build(files, code, &model_options);
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
                early.push(Finding::new(
                    &rules::meta::syntax_error::RULE,
                    i as FileId,
                    e.range,
                    e.message,
                ));
                None
            }
        })
        .collect()
}

/// Syntax trees are walked (and dropped) recursively: a 10,000-deep nesting of brackets or a
/// 20,000-term expression needs far more than the default 2 MiB thread stack. Stacks are
/// reserved address space, so a large one costs memory only when a file needs it.
const WORKER_STACK: usize = 512 << 20;

/// The thread pool that parses: threads with deep stacks.
pub(crate) fn deep_pool() -> &'static rayon::ThreadPool {
    static POOL: std::sync::OnceLock<rayon::ThreadPool> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .stack_size(WORKER_STACK)
            .thread_name(|i| format!("svc-parse-{i}"))
            .build()
            .expect("cannot start parser threads")
    })
}

pub(crate) fn timings_enabled() -> bool {
    std::env::var_os("SVC_TIMINGS").is_some_and(|v| !v.is_empty() && v != "0")
}

/// `SVC_TIMINGS=1` prints how long each phase of an audit took, on stderr: the first thing
/// to look at when an audit is slow (BENCHMARKS.md).
struct Timer {
    last: Option<(std::time::Instant, f64)>,
}

impl Timer {
    fn start() -> Timer {
        Timer {
            last: timings_enabled().then(|| (std::time::Instant::now(), cpu_seconds())),
        }
    }

    fn mark(&mut self, phase: &str) {
        if let Some((last, last_cpu)) = self.last {
            let (now, cpu) = (std::time::Instant::now(), cpu_seconds());
            let wall = (now - last).as_secs_f64();
            // CPU time over wall time: how many cores the phase kept busy.
            let cores = (cpu - last_cpu) / wall;
            eprintln!(
                "svc: timing: {phase}: {:.1} ms{}{}",
                wall * 1e3,
                if cores.is_finite() {
                    format!(", {cores:.2} cores")
                } else {
                    String::new()
                },
                resident().map_or(String::new(), |kib| format!(
                    ", resident {} MiB",
                    kib / 1024
                ))
            );
            self.last = Some((now, cpu));
        }
    }
}

/// CPU time of the process's live threads in seconds (Linux; NaN elsewhere). Threads that
/// have ended (the walker's) are not counted.
fn cpu_seconds() -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return f64::NAN;
    };
    let nanos: u64 = tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    nanos as f64 / 1e9
}

/// The process's resident memory in KiB (Linux), for the timings.
fn resident() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// What parsing one Python file gave.
enum Parsed {
    Facts(CodeFile),
    /// It does not parse: a `syntax-error` finding.
    Failed(Finding),
    /// A file outside every service, already checked: its findings.
    Checked(Vec<Finding>),
}

fn parse_python(file: &SourceFile, id: FileId) -> Parsed {
    let (module, is_package) = file.python_module();
    match python::analyze(file.text(), &module, is_package) {
        Ok(code) => Parsed::Facts(code),
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
    selected: &[&'static Rule],
    rule_config: &RuleConfig,
) -> Vec<Finding> {
    // The one-file model borrows the file for the time of the check.
    let stand_in = SourceFile::new(PathBuf::new(), String::new(), file.kind, String::new());
    let taken = std::mem::replace(file, stand_in);
    let mut alone = model::build(vec![taken], vec![Some(facts)], &ModelOptions::default());
    let findings = rules::run(&alone, selected, rule_config);
    let mut findings = apply_suppressions(&alone, findings, selected);
    *file = alone.files.pop().expect("the file of a one-file model");
    for f in &mut findings {
        f.file = id;
        f.service = None;
    }
    findings
}

fn in_scope(rel: &str, scope: &str) -> bool {
    rel == scope || rel.strip_prefix(scope).is_some_and(|r| r.starts_with('/'))
}

/// The directory the audit walks: the given directory; for files or several paths, their
/// project (the git work tree, else the configuration file's directory) or common ancestor.
/// In a git work tree, files are audited as part of the whole tree, exactly as `svc audit`
/// at its root would: report paths, baseline entries and `--diff` are relative to it.
fn audit_root(paths: &[PathBuf], config: &Config) -> PathBuf {
    if paths.len() == 1 && paths[0].is_dir() {
        return paths[0].clone();
    }
    let common = common_ancestor(paths);
    // Files: widen to their project so cross-file rules see the whole service.
    let project_dir = discover::work_tree(&common).or_else(|| {
        config
            .path
            .as_ref()
            .and_then(|p| p.parent())
            .and_then(|d| std::fs::canonicalize(d).ok())
            .filter(|d| common.starts_with(d))
    });
    project_dir.unwrap_or(common)
}

/// The deepest directory holding every path (a file's directory for a single file).
fn common_ancestor(paths: &[PathBuf]) -> PathBuf {
    let mut common = if paths[0].is_dir() {
        paths[0].clone()
    } else {
        paths[0].parent().map(Path::to_path_buf).unwrap_or_default()
    };
    for p in &paths[1..] {
        while !p.starts_with(&common) {
            if !common.pop() {
                break;
            }
        }
    }
    common
}

/// True when `sel` (a code, name, code prefix, principle or `ALL`, as `--select` takes them)
/// selects `rule`.
pub(crate) fn selector_matches(sel: &str, rule: &Rule) -> bool {
    if sel.eq_ignore_ascii_case("ALL") {
        return true;
    }
    if let Some(p) = Principle::parse(sel) {
        return rule.principle == p;
    }
    rule.name == sel
        || rule.code.eq_ignore_ascii_case(sel)
        || (sel.len() >= 2
            && sel.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && rule
                .code
                .to_ascii_uppercase()
                .starts_with(&sel.to_ascii_uppercase()))
}

fn check_selectors(list: &[String], origin: &'static str) -> Result<(), AuditError> {
    for sel in list {
        if !REGISTRY.iter().any(|r| selector_matches(sel, r)) {
            return Err(AuditError::UnknownSelector(sel.clone(), origin));
        }
    }
    Ok(())
}

/// Rules to run: `--select` (else the configuration's `select`, else all), minus every
/// `ignore` from configuration and command line.
fn select_rules(config: &Config, options: &AuditOptions) -> Result<Vec<&'static Rule>, AuditError> {
    check_selectors(&options.select, "--select")?;
    check_selectors(&options.ignore, "--ignore")?;
    check_selectors(&config.select, "configuration `select`")?;
    check_selectors(&config.ignore, "configuration `ignore`")?;
    let select = if !options.select.is_empty() {
        &options.select
    } else {
        &config.select
    };
    Ok(REGISTRY
        .iter()
        .copied()
        .filter(|r| select.is_empty() || select.iter().any(|s| selector_matches(s, r)))
        .filter(|r| {
            !config
                .ignore
                .iter()
                .chain(options.ignore.iter())
                .any(|s| selector_matches(s, r))
        })
        .collect())
}

fn per_path_ignores(
    config: &Config,
    prefixed: &dyn Fn(&[String]) -> Vec<String>,
) -> Result<Vec<(GlobSet, Vec<&'static Rule>)>, AuditError> {
    let mut out = Vec::new();
    for (glob, sels) in &config.per_path_ignores {
        check_selectors(sels, "[per-path-ignores]")?;
        let g = prefixed(std::slice::from_ref(glob)).remove(0);
        let mut b = GlobSetBuilder::new();
        for pattern in [g.clone(), format!("{}/**", g.trim_end_matches('/'))] {
            b.add(Glob::new(&pattern).map_err(|e| AuditError::BadGlob {
                glob: g.clone(),
                reason: e.kind().to_string(),
            })?);
        }
        let set = b.build().map_err(|e| AuditError::BadGlob {
            glob: g.clone(),
            reason: e.to_string(),
        })?;
        let rules = REGISTRY
            .iter()
            .copied()
            .filter(|r| sels.iter().any(|s| selector_matches(s, r)))
            .collect();
        out.push((set, rules));
    }
    Ok(out)
}

/// Drop suppressed findings; report suppressions that suppressed nothing.
fn apply_suppressions(
    project: &Project,
    findings: Vec<Finding>,
    selected: &[&'static Rule],
) -> Vec<Finding> {
    let mut used: HashMap<(FileId, usize), bool> = HashMap::new();
    let mut kept = Vec::with_capacity(findings.len());
    for f in findings {
        let Some((suppressions, statement_ranges, regions)) = file_suppressions(project, f.file)
        else {
            kept.push(f);
            continue;
        };
        if suppressions.is_empty() {
            kept.push(f);
            continue;
        }
        let file = project.file(f.file);
        let line = file.line_of(f.range.start());
        // Lines a comment may sit on: the finding's statement, and the line before it.
        let stmt = statement_ranges
            .iter()
            .filter(|r| r.contains(f.range.start()) || r.start() == f.range.start())
            .min_by_key(|r| r.len());
        let (first, last) = match stmt {
            Some(r) => (file.line_of(r.start()), file.line_of(r.end())),
            None => (line, line),
        };
        let mut suppressed = false;
        for (i, s) in suppressions.iter().enumerate() {
            let names_rule = s.rules.is_empty()
                || s.rules
                    .iter()
                    .any(|r| r.eq_ignore_ascii_case(f.rule.code) || **r == *f.rule.name);
            if !names_rule {
                continue;
            }
            let at = file.line_of(s.range.start());
            // A Kubernetes annotation covers its whole workload.
            let in_region = regions
                .get(i)
                .copied()
                .flatten()
                .is_some_and(|r| r.contains(f.range.start()));
            if in_region || s.file_level || (at + 1 >= first && at <= last.max(line)) {
                suppressed = true;
                used.insert((f.file, i), true);
            }
        }
        if !suppressed {
            kept.push(f);
        }
    }
    let unused_rule = &rules::meta::unused_suppression::RULE;
    if selected.iter().any(|r| std::ptr::eq(*r, unused_rule)) {
        for id in 0..project.files.len() {
            let Some((suppressions, _, _)) = file_suppressions(project, id as FileId) else {
                continue;
            };
            for (i, s) in suppressions.iter().enumerate() {
                if used.contains_key(&(id as FileId, i)) {
                    continue;
                }
                let unknown: Vec<&str> = s
                    .rules
                    .iter()
                    .filter(|r| rules::find(r).is_none())
                    .map(|r| &**r)
                    .collect();
                let message = if !unknown.is_empty() {
                    format!("suppression names unknown rule `{}`", unknown.join("`, `"))
                } else if s.rules.iter().all(|r| {
                    rules::find(r)
                        .is_some_and(|rule| selected.iter().any(|x| std::ptr::eq(*x, rule)))
                }) {
                    match s.rules.is_empty() {
                        true => "suppression comment suppresses nothing".to_string(),
                        false => format!(
                            "`{}` does not fire here: the suppression is unused",
                            s.rules.join("`, `")
                        ),
                    }
                } else {
                    // Names a rule that is not running: it may be needed when it runs.
                    continue;
                };
                kept.push(Finding {
                    rule: unused_rule,
                    severity: unused_rule.severity,
                    file: id as FileId,
                    range: s.range,
                    message,
                    help: None,
                    service: project.owner[id],
                });
            }
        }
    }
    kept
}

/// A file's suppressions, its multi-line statements, and the region each suppression covers
/// beyond its own lines (Kubernetes annotations).
type FileSuppressions<'a> = (
    &'a [model::code::SuppressionComment],
    &'a [TextRange],
    &'a [Option<TextRange>],
);

fn file_suppressions(project: &Project, file: FileId) -> Option<FileSuppressions<'_>> {
    if let Some(code) = project.code(file) {
        return Some((&code.suppressions, &code.statement_ranges, &[]));
    }
    let a = project.artefact(file)?;
    Some((&a.suppressions, &a.statement_ranges, &a.regions))
}

fn build_report(project: &Project, mut findings: Vec<Finding>) -> Report {
    findings.sort_by(|a, b| {
        let fa = project.file(a.file);
        let fb = project.file(b.file);
        fa.rel
            .cmp(&fb.rel)
            .then(a.range.start().cmp(&b.range.start()))
            .then(a.rule.code.cmp(b.rule.code))
    });
    findings.dedup_by(|a, b| {
        a.file == b.file
            && a.range == b.range
            && std::ptr::eq(a.rule, b.rule)
            && a.message == b.message
    });
    let mut sources: Vec<(String, std::sync::Arc<str>)> = Vec::new();
    let mut source_index: HashMap<FileId, usize> = HashMap::new();
    let mut reported = Vec::with_capacity(findings.len());
    let mut summary = Summary {
        files: project.files.len(),
        services: project.services.len(),
        ..Summary::default()
    };
    for f in findings {
        let file = project.file(f.file);
        let src = *source_index.entry(f.file).or_insert_with(|| {
            sources.push((file.rel.clone(), std::sync::Arc::from(file.text())));
            sources.len() - 1
        });
        let text_len = TextSize::of(file.text());
        let range = TextRange::new(f.range.start().min(text_len), f.range.end().min(text_len));
        let start = file.line_col(range.start());
        let end = file.line_col(range.end());
        match f.severity {
            Severity::Error => summary.errors += 1,
            Severity::Warning => summary.warnings += 1,
            Severity::Info => summary.infos += 1,
        }
        reported.push(ReportedFinding {
            code: f.rule.code,
            name: f.rule.name,
            severity: f.severity,
            principle: f.rule.principle,
            service: f.service.map(|i| project.services[i].name.clone()),
            path: file.rel.clone(),
            line: start.line,
            column: start.column,
            end_line: end.line,
            end_column: end.column,
            message: f.message.clone(),
            help: f.help().to_string(),
            offset: usize::from(range.start()),
            len: usize::from(range.len()),
            source: src,
            fingerprint: report::Fingerprint::default(),
        });
    }
    report::fingerprint::assign(&mut reported, &sources);
    summary.findings = reported.len();
    let services = project
        .services
        .iter()
        .map(|s| ReportedService {
            name: s.name.clone(),
            path: if s.root.is_empty() {
                ".".into()
            } else {
                s.root.clone()
            },
            kind: s.kind,
            files: s.files.len(),
            routes: s.routes.len(),
        })
        .collect();
    Report {
        findings: reported,
        services,
        summary,
        sources,
    }
}

#[derive(serde::Serialize)]
struct RuleInfo {
    code: &'static str,
    name: &'static str,
    principle: Principle,
    severity: Severity,
    kinds: Vec<&'static str>,
    help: &'static str,
}

/// A command's output written to standard output (see [`crate::stdout::write_with`]).
fn print_output(
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> miette::Result<ExitCode> {
    crate::stdout::write_with(write)
        .map(|()| ExitCode::SUCCESS)
        .map_err(|e| miette::miette!("cannot write: {e}"))
}

pub fn list_rules(args: &RulesArgs) -> miette::Result<ExitCode> {
    print_output(|out| match args.format {
        ListFormat::Json => {
            let infos: Vec<RuleInfo> = REGISTRY
                .iter()
                .map(|r| RuleInfo {
                    code: r.code,
                    name: r.name,
                    principle: r.principle,
                    severity: r.severity,
                    kinds: r.kinds.iter().map(|k| k.as_str()).collect(),
                    help: r.help,
                })
                .collect();
            serde_json::to_writer_pretty(&mut *out, &infos)?;
            writeln!(out)
        }
        ListFormat::Text => {
            writeln!(
                out,
                "{:<7} {:<36} {:<5} {:<8} kinds",
                "code", "name", "prin.", "severity"
            )?;
            for r in REGISTRY {
                let kinds: Vec<&str> = r.kinds.iter().map(|k| k.as_str()).collect();
                writeln!(
                    out,
                    "{:<7} {:<36} {:<5} {:<8} {}",
                    r.code,
                    r.name,
                    r.principle.code(),
                    r.severity.as_str(),
                    kinds.join(",")
                )?;
            }
            Ok(())
        }
    })
}

pub fn explain(args: &ExplainArgs) -> miette::Result<ExitCode> {
    let rule = rules::find(&args.rule).ok_or_else(|| AuditError::UnknownRule(args.rule.clone()))?;
    let kinds: Vec<&str> = rule.kinds.iter().map(|k| k.as_str()).collect();
    let text = format!(
        "# {} {}\n\nPrinciple: {} ({})\nDefault severity: {}\nApplies to: {}\n\n{}",
        rule.code,
        rule.name,
        rule.principle.code(),
        rule.principle.title(),
        rule.severity,
        kinds.join(", "),
        rule.doc.trim_end()
    );
    print_output(|out| writeln!(out, "{text}"))
}
