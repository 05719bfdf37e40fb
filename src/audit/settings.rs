//! The command line and the configuration, resolved once into typed settings before any
//! work starts: the paths to walk and their filters, the report's root and scope, the rules
//! that run (selectors parsed once), severity overrides, per-path ignores and `fail-on`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::audit::config::{self, Config};
use crate::audit::discover;
use crate::audit::error::AuditError;
use crate::audit::model::ModelOptions;
use crate::audit::rules::{self, Principle, REGISTRY, Rule, RuleConfig, Severity};
use crate::audit::source;
use crate::cli::FailOn;

/// What to audit and how; the CLI's flags, after parsing.
#[derive(Debug, Clone, Default)]
pub struct AuditOptions {
    pub paths: Vec<PathBuf>,
    pub config: Option<PathBuf>,
    pub isolated: bool,
    pub select: Vec<String>,
    pub ignore: Vec<String>,
    /// `--fail-on`; None for the configuration's `fail-on`, else `warning`.
    pub fail_on: Option<FailOn>,
}

/// Everything an audit needs to know before it starts.
pub struct Settings {
    pub input: InputSettings,
    pub rules: RuleSettings,
}

impl Settings {
    /// Resolve the options and the configuration that applies to their paths (loaded here,
    /// once).
    pub fn resolve(options: &AuditOptions) -> Result<Settings, AuditError> {
        let input = InputSettings::resolve(options)?;
        let rules = RuleSettings::resolve(&input.config, &input.config_prefix, options)?;
        Ok(Settings { input, rules })
    }

    /// Settings for files given in memory, with `config` at their root: every selected rule
    /// runs, as in `svc audit` at the root.
    pub fn in_memory(config: Config) -> Result<Settings, AuditError> {
        let options = AuditOptions::default();
        let rules = RuleSettings::resolve(&config, "", &options)?;
        let input = InputSettings::at_root(PathBuf::new(), config)?;
        Ok(Settings { input, rules })
    }
}

/// Which files are read and how they are modelled.
pub struct InputSettings {
    pub config: Config,
    /// The directory report paths are relative to.
    pub root: PathBuf,
    /// The directories walked, each with its `exclude`/`include` filters.
    pub walk: Vec<(PathBuf, discover::Filters)>,
    /// Paths (relative to the root) findings are limited to; empty for everything.
    pub scope: Vec<String>,
    /// Config globs are relative to the config file: this maps them onto the audit root.
    pub config_prefix: String,
    /// Files named on the command line: audited even where a walk would skip them.
    pub named: Vec<PathBuf>,
    /// The path an empty audit is reported for.
    pub first_path: PathBuf,
    /// Files larger than this are not read.
    pub max_file_size: u64,
    pub model: ModelOptions,
}

impl InputSettings {
    /// The paths of `options`, made absolute, and the configuration that applies to them.
    pub fn resolve(options: &AuditOptions) -> Result<InputSettings, AuditError> {
        let absolute = absolute_paths(options)?;
        let config = load_config(options, &absolute)?;

        // The root: the directory audited, or for files, the directory of their project.
        // Paths in different projects: each project is walked, and the root is their common
        // ancestor.
        let (root, walk_roots) = audit_roots(&absolute, &config);
        let scope: Vec<String> = absolute
            .iter()
            .filter(|p| **p != root)
            .map(|p| discover::relative(&root, p))
            .collect();

        // Globs in configuration are relative to the configuration file's directory.
        let config_dir = config
            .path
            .as_ref()
            .and_then(|p| p.parent())
            .and_then(|d| std::fs::canonicalize(d).ok());
        let prefix_of = |dir: &Path| {
            config_dir
                .as_ref()
                .and_then(|d| {
                    dir.strip_prefix(d)
                        .ok()
                        .map(|r| discover::relative(d, &d.join(r)))
                })
                .filter(|r| !r.is_empty() && !r.ends_with(".toml"))
                .unwrap_or_default()
        };
        let config_prefix = prefix_of(&root);
        let walk = if walk_roots == [root.clone()] {
            let filters = filters(&config, &config_prefix)?;
            vec![(root.clone(), filters)]
        } else {
            walk_roots
                .into_iter()
                .map(|dir| {
                    let filters = filters(&config, &prefix_of(&dir))?;
                    Ok((dir, filters))
                })
                .collect::<Result<_, AuditError>>()?
        };
        let named: Vec<PathBuf> = absolute.iter().filter(|p| p.is_file()).cloned().collect();
        let first_path = options.paths.first().cloned().unwrap_or_else(|| ".".into());
        Ok(InputSettings::new(
            config,
            root,
            walk,
            scope,
            config_prefix,
            named,
            first_path,
        ))
    }

    /// Files under `root`, with `config` in it.
    fn at_root(root: PathBuf, config: Config) -> Result<InputSettings, AuditError> {
        let walk = vec![(root.clone(), filters(&config, "")?)];
        Ok(InputSettings::new(
            config,
            root,
            walk,
            Vec::new(),
            String::new(),
            Vec::new(),
            ".".into(),
        ))
    }

    fn new(
        config: Config,
        root: PathBuf,
        walk: Vec<(PathBuf, discover::Filters)>,
        scope: Vec<String>,
        config_prefix: String,
        named: Vec<PathBuf>,
        first_path: PathBuf,
    ) -> InputSettings {
        let max_file_size = config
            .max_file_size
            .unwrap_or(source::DEFAULT_MAX_FILE_SIZE);
        let model = ModelOptions {
            kinds: config
                .services
                .iter()
                .map(|(dir, kind)| (prefix_glob(&config_prefix, dir), *kind))
                .collect(),
            auth_dependencies: config.auth_dependencies.clone(),
        };
        InputSettings {
            config,
            root,
            walk,
            scope,
            config_prefix,
            named,
            first_path,
            max_file_size,
            model,
        }
    }

    /// True when `rel` (relative to the root) is in the audit's scope.
    pub fn in_scope(&self, rel: &str) -> bool {
        self.scope.is_empty() || self.scope.iter().any(|s| in_scope(rel, s))
    }
}

/// The walk's filters for a directory whose path from the configuration file is `prefix`.
fn filters(config: &Config, prefix: &str) -> Result<discover::Filters, AuditError> {
    let prefixed = |globs: &[String]| prefix_globs(prefix, globs);
    discover::Filters::new(&prefixed(&config.exclude), &prefixed(&config.include))
}

/// True when `rel` is the path `scope` or below it.
pub(crate) fn in_scope(rel: &str, scope: &str) -> bool {
    rel == scope || rel.strip_prefix(scope).is_some_and(|r| r.starts_with('/'))
}

/// The rules that run and what becomes of their findings.
pub struct RuleSettings {
    /// In registry order.
    pub selected: Vec<&'static Rule>,
    pub severity: SeverityOverrides,
    pub per_path_ignores: PerPathIgnores,
    pub rule_config: RuleConfig,
    pub fail_on: FailOn,
}

impl RuleSettings {
    /// Rules to run: `--select` (else the configuration's `select`, else all), minus every
    /// `ignore` from configuration and command line.
    pub fn resolve(
        config: &Config,
        config_prefix: &str,
        options: &AuditOptions,
    ) -> Result<RuleSettings, AuditError> {
        let cli_select = RuleSelector::parse_all(&options.select, "--select")?;
        let cli_ignore = RuleSelector::parse_all(&options.ignore, "--ignore")?;
        let config_select = RuleSelector::parse_all(&config.select, "configuration `select`")?;
        let config_ignore = RuleSelector::parse_all(&config.ignore, "configuration `ignore`")?;
        let select = match cli_select.is_empty() {
            false => cli_select,
            true => config_select,
        };
        let selected = select_rules(&select, &[config_ignore, cli_ignore].concat());
        let severity = SeverityOverrides::resolve(&config.severity)?;
        let per_path_ignores = PerPathIgnores::resolve(config, config_prefix)?;
        let fail_on = options
            .fail_on
            .or(config.fail_on)
            .unwrap_or(FailOn::Warning);
        Ok(RuleSettings {
            selected,
            severity,
            per_path_ignores,
            rule_config: RuleConfig {
                public_routes: config.public_routes.clone(),
            },
            fail_on,
        })
    }

    /// True when `rule` runs.
    pub fn runs(&self, rule: &Rule) -> bool {
        self.selected.iter().any(|r| std::ptr::eq(*r, rule))
    }
}

impl FailOn {
    /// The lowest severity that fails the audit; None for `never`.
    pub fn threshold(self) -> Option<Severity> {
        match self {
            FailOn::Error => Some(Severity::Error),
            FailOn::Warning => Some(Severity::Warning),
            FailOn::Info => Some(Severity::Info),
            FailOn::Never => None,
        }
    }
}

/// The registry's rules that `select` selects (every one when it is empty), minus those
/// `ignore` selects: ignoring beats selecting.
fn select_rules(select: &[RuleSelector], ignore: &[RuleSelector]) -> Vec<&'static Rule> {
    REGISTRY
        .iter()
        .copied()
        .filter(|r| select.is_empty() || select.iter().any(|s| s.matches(r)))
        .filter(|r| !ignore.iter().any(|s| s.matches(r)))
        .collect()
}

/// A way `--select`, `--ignore`, `select`, `ignore` and `[per-path-ignores]` name rules.
#[derive(Debug, Clone)]
pub enum RuleSelector {
    /// `ALL` (any case).
    All,
    /// `P3`: every rule of a principle.
    Principle(Principle),
    /// `AU`, `AU00` (any case): the rules whose code starts with it.
    Prefix(String),
    /// A code (any case) or a name.
    Rule(&'static Rule),
}

impl RuleSelector {
    /// Parse a selector; None when it selects no rule.
    pub fn parse(sel: &str) -> Option<RuleSelector> {
        let selector = if sel.eq_ignore_ascii_case("ALL") {
            RuleSelector::All
        } else if let Some(p) = Principle::parse(sel) {
            RuleSelector::Principle(p)
        } else if let Some(rule) = rules::find(sel) {
            RuleSelector::Rule(rule)
        } else if sel.len() >= 2 && sel.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) {
            RuleSelector::Prefix(sel.to_ascii_uppercase())
        } else {
            return None;
        };
        REGISTRY
            .iter()
            .any(|r| selector.matches(r))
            .then_some(selector)
    }

    /// Parse every selector of a list; the first that selects no rule is an error naming
    /// `origin`.
    pub fn parse_all(
        list: &[String],
        origin: &'static str,
    ) -> Result<Vec<RuleSelector>, AuditError> {
        list.iter()
            .map(|sel| {
                RuleSelector::parse(sel)
                    .ok_or_else(|| AuditError::UnknownSelector(sel.clone(), origin))
            })
            .collect()
    }

    pub fn matches(&self, rule: &Rule) -> bool {
        match self {
            RuleSelector::All => true,
            RuleSelector::Principle(p) => rule.principle == *p,
            RuleSelector::Prefix(prefix) => rule.code.to_ascii_uppercase().starts_with(prefix),
            RuleSelector::Rule(r) => std::ptr::eq(*r, rule),
        }
    }
}

/// Rules are compared by identity: the registry holds each once.
impl PartialEq for RuleSelector {
    fn eq(&self, other: &RuleSelector) -> bool {
        match (self, other) {
            (RuleSelector::All, RuleSelector::All) => true,
            (RuleSelector::Principle(a), RuleSelector::Principle(b)) => a == b,
            (RuleSelector::Prefix(a), RuleSelector::Prefix(b)) => a == b,
            (RuleSelector::Rule(a), RuleSelector::Rule(b)) => std::ptr::eq(*a, *b),
            _ => false,
        }
    }
}

/// True when `sel` (a code, name, code prefix, principle or `ALL`, as `--select` takes them)
/// selects `rule`.
pub(crate) fn selector_matches(sel: &str, rule: &Rule) -> bool {
    RuleSelector::parse(sel).is_some_and(|s| s.matches(rule))
}

/// `[severity]`: a severity for some rules, instead of their default.
#[derive(Debug, Default)]
pub struct SeverityOverrides(HashMap<&'static str, Severity>);

impl SeverityOverrides {
    fn resolve(severity: &[(String, Severity)]) -> Result<SeverityOverrides, AuditError> {
        let mut overrides = HashMap::new();
        for (key, sev) in severity {
            let rule = rules::find(key)
                .ok_or_else(|| AuditError::UnknownSelector(key.clone(), "[severity]"))?;
            overrides.insert(rule.code, *sev);
        }
        Ok(SeverityOverrides(overrides))
    }

    /// The severity of `rule`'s findings.
    pub fn of(&self, rule: &Rule) -> Severity {
        self.get(rule).unwrap_or(rule.severity)
    }

    /// The override for `rule`, if there is one.
    pub fn get(&self, rule: &Rule) -> Option<Severity> {
        self.0.get(rule.code).copied()
    }
}

/// `[per-path-ignores]`: globs (mapped onto the audit root) and the rules ignored under them.
#[derive(Default)]
pub struct PerPathIgnores(Vec<(GlobSet, Vec<&'static Rule>)>);

impl PerPathIgnores {
    fn resolve(config: &Config, config_prefix: &str) -> Result<PerPathIgnores, AuditError> {
        let mut out = Vec::new();
        for (glob, sels) in &config.per_path_ignores {
            let selectors = RuleSelector::parse_all(sels, "[per-path-ignores]")?;
            let g = prefix_glob(config_prefix, glob);
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
                .filter(|r| selectors.iter().any(|s| s.matches(r)))
                .collect();
            out.push((set, rules));
        }
        Ok(PerPathIgnores(out))
    }

    /// True when `rule` is ignored in the file at `rel` (relative to the audit root).
    pub fn ignores(&self, rel: &str, rule: &Rule) -> bool {
        self.0
            .iter()
            .any(|(set, rules)| set.is_match(rel) && rules.iter().any(|r| std::ptr::eq(*r, rule)))
    }
}

/// The configuration that applies to an audit of `absolute`, the paths of `options`.
fn load_config(options: &AuditOptions, absolute: &[PathBuf]) -> Result<Config, AuditError> {
    if options.isolated {
        return Ok(Config::default());
    }
    match &options.config {
        Some(path) => config::load(path),
        None => config::discover(&config_start(absolute)),
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
    let dirs = absolute.iter().map(|p| match p.is_dir() {
        true => p.clone(),
        false => p.parent().map(Path::to_path_buf).unwrap_or_default(),
    });
    discover::work_tree(&common_ancestor(dirs)).unwrap_or_else(|| absolute[0].clone())
}

fn prefix_globs(config_prefix: &str, globs: &[String]) -> Vec<String> {
    globs
        .iter()
        .map(|g| prefix_glob(config_prefix, g))
        .collect()
}

/// A glob of the configuration (relative to its file) relative to the audit root, whose path
/// from the configuration file is `config_prefix`.
fn prefix_glob(config_prefix: &str, g: &str) -> String {
    match config_prefix {
        "" => g.to_string(),
        _ => g
            .strip_prefix(&format!("{config_prefix}/"))
            .map(str::to_string)
            .unwrap_or_else(|| g.to_string()),
    }
}

/// The directory report paths are relative to, and the directories the audit walks: the
/// given directory; for files or several paths, their project (the git work tree, else the
/// configuration file's directory) or common ancestor. In a git work tree, files are audited
/// as part of the whole tree, exactly as `svc audit` at its root would: report paths,
/// baseline entries and `--diff` are relative to it.
///
/// Paths whose common ancestor lies in no project (two repositories, or `proj/main.py` and
/// `/usr/share/doc`) are each walked in their own project (a directory: itself), and only
/// report paths are relative to the ancestor: walking it could mean walking `/`.
fn audit_roots(paths: &[PathBuf], config: &Config) -> (PathBuf, Vec<PathBuf>) {
    if paths.len() == 1 && paths[0].is_dir() {
        return (paths[0].clone(), vec![paths[0].clone()]);
    }
    let dir_of = |p: &Path| match p.is_dir() {
        true => p.to_path_buf(),
        false => p.parent().map(Path::to_path_buf).unwrap_or_default(),
    };
    let common = common_ancestor(paths.iter().map(|p| dir_of(p)));
    let config_dir = config
        .path
        .as_ref()
        .and_then(|p| p.parent())
        .and_then(|d| std::fs::canonicalize(d).ok());
    // Files: widen to their project so cross-file rules see the whole service.
    let project_of = |dir: &Path| {
        discover::work_tree(dir).or_else(|| config_dir.clone().filter(|d| dir.starts_with(d)))
    };
    if let Some(project) = project_of(&common) {
        return (project.clone(), vec![project]);
    }
    if paths.len() == 1 {
        return (common.clone(), vec![common]);
    }
    // Without git or configuration, a path's project is the directory of its manifest.
    let manifest_dir = |dir: &Path| {
        dir.ancestors()
            .find(|a| PROJECT_MANIFESTS.iter().any(|m| a.join(m).is_file()))
            .map(Path::to_path_buf)
    };
    let projects: Vec<PathBuf> = paths
        .iter()
        .map(|p| {
            let dir = dir_of(p);
            project_of(&dir)
                .or_else(|| manifest_dir(&dir))
                .unwrap_or(dir)
        })
        .collect();
    if projects.iter().any(|p| common.starts_with(p)) {
        return (common.clone(), vec![common]);
    }
    // Apart: each path in its own project (a directory: itself, as when it is the only one).
    let mut walk: Vec<PathBuf> = paths
        .iter()
        .zip(projects)
        .map(|(p, project)| match p.is_dir() {
            true => p.clone(),
            false => project,
        })
        .collect();
    walk.sort();
    walk.dedup();
    // Inside another: walked with it.
    let all = walk.clone();
    walk.retain(|w| !all.iter().any(|o| o != w && w.starts_with(o)));
    let root = common_ancestor(walk.iter().cloned());
    (root, walk)
}

/// Files that make their directory a Python project.
const PROJECT_MANIFESTS: &[&str] = &[
    "pyproject.toml",
    "setup.cfg",
    "setup.py",
    "Pipfile",
    "requirements.txt",
];

/// The deepest directory containing all of `dirs` (`/` at worst).
fn common_ancestor(mut dirs: impl Iterator<Item = PathBuf>) -> PathBuf {
    let mut common = dirs.next().unwrap_or_default();
    for d in dirs {
        while !d.starts_with(&common) {
            if !common.pop() {
                break;
            }
        }
    }
    common
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(key: &str) -> &'static Rule {
        rules::find(key).expect("a registered rule")
    }

    fn codes(rules: &[&'static Rule]) -> Vec<&'static str> {
        rules.iter().map(|r| r.code).collect()
    }

    /// The codes of the registry's rules for which `keep` holds, in registry order.
    fn registry_codes(keep: impl Fn(&Rule) -> bool) -> Vec<&'static str> {
        REGISTRY
            .iter()
            .filter(|r| keep(r))
            .map(|r| r.code)
            .collect()
    }

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn selected(config: &Config, select: &[&str], ignore: &[&str]) -> Vec<&'static str> {
        let options = AuditOptions {
            select: strings(select),
            ignore: strings(ignore),
            ..AuditOptions::default()
        };
        codes(
            &RuleSettings::resolve(config, "", &options)
                .unwrap()
                .selected,
        )
    }

    #[test]
    fn selectors_are_parsed_once_into_what_they_name() {
        let au002 = rule("AU002");
        // A code in any case, or a name: that rule alone.
        for sel in ["AU002", "au002", "jwt-decode-unverified"] {
            assert_eq!(
                RuleSelector::parse(sel),
                Some(RuleSelector::Rule(au002)),
                "{sel}"
            );
        }
        // Names are not case-insensitive.
        assert_eq!(RuleSelector::parse("JWT-DECODE-UNVERIFIED"), None);
        assert_eq!(
            RuleSelector::parse("au"),
            Some(RuleSelector::Prefix("AU".into()))
        );
        assert_eq!(
            RuleSelector::parse("AU00"),
            Some(RuleSelector::Prefix("AU00".into()))
        );
        assert_eq!(
            RuleSelector::parse("p3"),
            Some(RuleSelector::Principle(Principle::parse("P3").unwrap()))
        );
        assert_eq!(RuleSelector::parse("all"), Some(RuleSelector::All));
        // Nothing selected: unknown. A one-letter prefix is not a prefix.
        for sel in ["ZZ", "AU9", "A", "1AU", "", "no-such-rule", "P99"] {
            assert_eq!(RuleSelector::parse(sel), None, "{sel:?}");
        }
    }

    #[test]
    fn each_kind_of_selector_selects_its_rules() {
        let config = Config::default();
        assert_eq!(selected(&config, &["AU002"], &[]), ["AU002"]);
        assert_eq!(
            selected(&config, &["jwt-decode-unverified"], &[]),
            ["AU002"]
        );
        assert_eq!(
            selected(&config, &["au"], &[]),
            ["AU001", "AU002", "AU003", "AU004"]
        );
        let p3 = Principle::parse("P3").unwrap();
        assert_eq!(
            selected(&config, &["P3"], &[]),
            registry_codes(|r| r.principle == p3)
        );
        let all = registry_codes(|_| true);
        assert_eq!(selected(&config, &["ALL"], &[]), all);
        // No selection at all: every rule.
        assert_eq!(selected(&config, &[], &[]), all);
        // Several selectors: their union, in registry order.
        assert_eq!(selected(&config, &["AU003", "SV"], &[]), {
            let mut want = registry_codes(|r| r.code.starts_with("SV"));
            want.push("AU003");
            want.sort_by_key(|c| REGISTRY.iter().position(|r| r.code == *c));
            want
        });
    }

    #[test]
    fn ignore_beats_select_wherever_each_comes_from() {
        let config = Config::default();
        assert_eq!(
            selected(&config, &["AU"], &["AU002"]),
            ["AU001", "AU003", "AU004"]
        );
        // Ignoring what is selected by name, or a whole prefix.
        assert_eq!(
            selected(&config, &["AU002"], &["jwt-decode-unverified"]),
            Vec::<&str>::new()
        );
        assert_eq!(
            selected(&config, &["ALL"], &["P3"]),
            registry_codes(|r| !r.code.starts_with("AU"))
        );
        // The configuration's `ignore` applies under `--select`; `--select` replaces the
        // configuration's `select`.
        let config = Config {
            select: strings(&["SV"]),
            ignore: strings(&["AU004"]),
            ..Config::default()
        };
        assert_eq!(
            selected(&config, &[], &[]),
            registry_codes(|r| r.code.starts_with("SV"))
        );
        assert_eq!(selected(&config, &["AU"], &[]), ["AU001", "AU002", "AU003"]);
        assert_eq!(selected(&config, &["AU"], &["AU001"]), ["AU002", "AU003"]);
    }

    #[test]
    fn an_unknown_selector_is_an_error_naming_where_it_came_from() {
        let options = |select: &[&str], ignore: &[&str]| AuditOptions {
            select: strings(select),
            ignore: strings(ignore),
            ..AuditOptions::default()
        };
        let origin = |config: &Config, options: &AuditOptions| match RuleSettings::resolve(
            config, "", options,
        ) {
            Err(AuditError::UnknownSelector(sel, origin)) => (sel, origin),
            Err(e) => panic!("another error: {e}"),
            Ok(_) => panic!("no error"),
        };
        let none = Config::default();
        assert_eq!(
            origin(&none, &options(&["AU", "AU9"], &[])),
            ("AU9".to_string(), "--select")
        );
        assert_eq!(
            origin(&none, &options(&[], &["nope"])),
            ("nope".to_string(), "--ignore")
        );
        let config = Config {
            per_path_ignores: vec![("tests/**".into(), strings(&["print-call", "ZZ"]))],
            ..Config::default()
        };
        assert_eq!(
            origin(&config, &options(&[], &[])),
            ("ZZ".to_string(), "[per-path-ignores]")
        );
    }

    #[test]
    fn severity_overrides_and_per_path_ignores_are_keyed_by_rule() {
        let config = Config {
            severity: vec![("jwt-decode-unverified".into(), Severity::Info)],
            per_path_ignores: vec![
                ("scripts".into(), strings(&["AU", "print-call"])),
                ("svc/legacy/**".into(), strings(&["P3"])),
            ],
            ..Config::default()
        };
        // The audit root is `svc/` below the configuration file, whose globs are relative
        // to itself.
        let settings = RuleSettings::resolve(&config, "svc", &AuditOptions::default()).unwrap();
        assert_eq!(settings.severity.of(rule("AU002")), Severity::Info);
        assert_eq!(settings.severity.get(rule("AU003")), None);
        assert_eq!(settings.severity.of(rule("AU003")), rule("AU003").severity);
        let ignores = &settings.per_path_ignores;
        // A directory glob covers what is below it.
        assert!(ignores.ignores("scripts/run.py", rule("AU001")));
        assert!(ignores.ignores("scripts/deep/run.py", rule("print-call")));
        assert!(!ignores.ignores("scripts/run.py", rule("LG002")));
        assert!(!ignores.ignores("app/scripts.py", rule("AU001")));
        // `svc/legacy/**` from the configuration file: `legacy/**` from the audit root.
        assert!(ignores.ignores("legacy/old.py", rule("AU002")));
        assert!(!ignores.ignores("legacy/old.py", rule("print-call")));
    }

    #[test]
    fn fail_on_comes_from_the_command_line_then_the_configuration() {
        let config = Config {
            fail_on: Some(FailOn::Never),
            ..Config::default()
        };
        let resolve = |config: &Config, fail_on: Option<FailOn>| {
            let options = AuditOptions {
                fail_on,
                ..AuditOptions::default()
            };
            RuleSettings::resolve(config, "", &options).unwrap().fail_on
        };
        assert_eq!(resolve(&config, Some(FailOn::Info)), FailOn::Info);
        assert_eq!(resolve(&config, None), FailOn::Never);
        assert_eq!(resolve(&Config::default(), None), FailOn::Warning);
        assert_eq!(FailOn::Never.threshold(), None);
        assert_eq!(FailOn::Info.threshold(), Some(Severity::Info));
    }
}
