//! The command line and the configuration, resolved before the audit: the configuration
//! that applies, the roots walked, the rules selected and the per-path ignores.

use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::audit::AuditOptions;
use crate::audit::config::{self, Config};
use crate::audit::discover;
use crate::audit::error::AuditError;
use crate::audit::rules::{Principle, REGISTRY, Rule};

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
pub(crate) fn absolute_paths(options: &AuditOptions) -> Result<Vec<PathBuf>, AuditError> {
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

pub(crate) fn prefix_globs(config_prefix: &str, globs: &[String]) -> Vec<String> {
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

/// The directory report paths are relative to, and the directories the audit walks: the
/// given directory; for files or several paths, their project (the git work tree, else the
/// configuration file's directory) or common ancestor. In a git work tree, files are audited
/// as part of the whole tree, exactly as `svc audit` at its root would: report paths,
/// baseline entries and `--diff` are relative to it.
///
/// Paths whose common ancestor lies in no project (two repositories, or `proj/main.py` and
/// `/usr/share/doc`) are each walked in their own project (a directory: itself), and only
/// report paths are relative to the ancestor: walking it could mean walking `/`.
pub(crate) fn audit_roots(paths: &[PathBuf], config: &Config) -> (PathBuf, Vec<PathBuf>) {
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
pub(crate) fn select_rules(
    config: &Config,
    options: &AuditOptions,
) -> Result<Vec<&'static Rule>, AuditError> {
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

pub(crate) fn per_path_ignores(
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
