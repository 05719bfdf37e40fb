//! Configuration: `svc.toml`, or `[tool.svc]` in pyproject.toml, found by walking up from the
//! audited path (the first directory with either wins; svc.toml before pyproject.toml).
//!
//! ```toml
//! select = ["P1", "P3", "AU002"]          # rules, code prefixes or principles
//! ignore = ["print-call"]
//! exclude = ["legacy/**"]                 # globs relative to the config file's directory
//! include = []                            # if set, only these paths
//! public-routes = ["/", "/status/*"]      # need no authentication
//! auth-dependencies = ["require_tenant"]  # dependencies that authenticate
//! fail-on = "warning"                     # error | warning | info | never
//! max-file-size = "64 MiB"                # larger files are not read (bytes, or KiB/MiB/GiB)
//!
//! [severity]
//! missing-metrics = "info"
//!
//! [per-path-ignores]
//! "scripts/**" = ["print-call"]
//!
//! [services."services/billing"]
//! kind = "worker"
//! ```
//! Unknown keys and bad values are errors that point into the file.

use std::path::{Path, PathBuf};

use miette::{NamedSource, SourceSpan};
use toml_edit::{Document, Item, Table};

use crate::toml_check;

use crate::audit::error::{AuditError, ConfigError};
use crate::audit::model::Kind;
use crate::audit::rules::{self, Principle, Severity};
use crate::cli::FailOn;

#[derive(Debug, Default, Clone)]
pub struct Config {
    /// The file it came from, if any.
    pub path: Option<PathBuf>,
    pub select: Vec<String>,
    pub ignore: Vec<String>,
    pub exclude: Vec<String>,
    pub include: Vec<String>,
    pub public_routes: Vec<String>,
    pub auth_dependencies: Vec<String>,
    pub fail_on: Option<FailOn>,
    pub severity: Vec<(String, Severity)>,
    pub per_path_ignores: Vec<(String, Vec<String>)>,
    /// Service kind by directory, relative to the config file's directory.
    pub services: Vec<(String, Kind)>,
    /// Said on stderr: configuration files found on the way that could not be read.
    pub warnings: Vec<String>,
    /// Files larger than this many bytes are not read; None for the default.
    pub max_file_size: Option<u64>,
}

const KEYS: &[&str] = &[
    "select",
    "ignore",
    "exclude",
    "include",
    "public-routes",
    "auth-dependencies",
    "fail-on",
    "max-file-size",
    "severity",
    "per-path-ignores",
    "services",
    "template",
];

/// Find the configuration that applies to `start` (a file or directory).
///
/// A pyproject.toml that cannot be read does not stop the audit: it is passed over with a
/// warning (and, inside the audited tree, the walk reports it as an `unreadable-file`).
pub fn discover(start: &Path) -> Result<Config, AuditError> {
    let mut dir = if start.is_dir() {
        Some(start)
    } else {
        start.parent()
    };
    let mut warnings = Vec::new();
    let found = loop {
        let Some(d) = dir else {
            break Config::default();
        };
        let svc_toml = d.join("svc.toml");
        if svc_toml.is_file() {
            break load(&svc_toml)?;
        }
        let pyproject = d.join("pyproject.toml");
        if pyproject.is_file() {
            match read(&pyproject) {
                // A pyproject.toml without [tool.svc] does not stop the search. Every way of
                // writing that header (`[ tool.svc ]`, `[tool."svc"]`, a dotted `tool.svc.x`
                // key) names svc: only such a file is parsed.
                Ok(text) if text.contains("svc") => {
                    if let Some(cfg) = parse(&pyproject, text, true, Some(d))? {
                        break cfg;
                    }
                }
                Ok(_) => {}
                Err(AuditError::Read { source, .. }) => warnings.push(format!(
                    "cannot read {} ({source}): its [tool.svc], if it has one, is not applied",
                    pyproject.display()
                )),
                Err(e) => return Err(e),
            }
        }
        dir = d.parent();
    };
    Ok(Config { warnings, ..found })
}

/// Load an explicit configuration file (svc.toml, or a pyproject.toml with [tool.svc]).
pub fn load(path: &Path) -> Result<Config, AuditError> {
    let text = read(path)?;
    let is_pyproject = path.file_name().is_some_and(|n| n == "pyproject.toml");
    let dir = path.parent().unwrap_or(Path::new(""));
    Ok(
        parse(path, text, is_pyproject, Some(dir))?.unwrap_or_else(|| Config {
            path: Some(path.to_path_buf()),
            ..Config::default()
        }),
    )
}

fn read(path: &Path) -> Result<String, AuditError> {
    std::fs::read_to_string(path).map_err(|source| AuditError::Read {
        path: path.to_path_buf(),
        source,
    })
}

struct Ctx<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Ctx<'_> {
    fn error(
        &self,
        span: Option<std::ops::Range<usize>>,
        message: String,
        label: &str,
        help: Option<String>,
    ) -> AuditError {
        let span = span.unwrap_or(0..0);
        AuditError::Config(Box::new(ConfigError {
            message,
            src: NamedSource::new(self.path.display().to_string(), self.text.to_string()),
            span: SourceSpan::from(span),
            label: label.to_string(),
            help,
        }))
    }

    /// An array of globs relative to the configuration file's directory, `./` dropped; one
    /// that can never match a path is an error pointing at it.
    fn globs(&self, key: &str, item: &Item) -> Result<Vec<String>, AuditError> {
        let globs = self.strings(key, item)?;
        let spans = item
            .as_array()
            .map(|a| a.iter().map(|v| v.span()).collect::<Vec<_>>());
        globs
            .into_iter()
            .enumerate()
            .map(|(i, g)| {
                let span = spans.as_ref().and_then(|s| s.get(i).cloned().flatten());
                self.glob(key, g, span)
            })
            .collect()
    }

    fn glob(
        &self,
        key: &str,
        glob: String,
        span: Option<std::ops::Range<usize>>,
    ) -> Result<String, AuditError> {
        match never_matches(&glob) {
            None => Ok(normalize(&glob)),
            Some(why) => Err(self.error(
                span,
                format!("`{key}` glob \"{glob}\" can never match: {why}"),
                "never matches",
                Some(
                    "globs match paths relative to the configuration file's directory, with `/` \
                     between directories: `legacy/**`, `scripts/*.py`"
                        .into(),
                ),
            )),
        }
    }

    fn strings(&self, key: &str, item: &Item) -> Result<Vec<String>, AuditError> {
        toml_check::strings(item).map_err(|problem| {
            let (label, help) = if item.is_array() {
                ("not a string", None)
            } else {
                (
                    "expected an array of strings",
                    Some(format!("for example: {key} = [\"...\"]")),
                )
            };
            self.error(
                problem.span,
                format!("`{key}`: {}", problem.reason),
                label,
                help,
            )
        })
    }
}

/// Parse configuration text. For a pyproject.toml, returns None when it has no [tool.svc].
/// `base` is the directory the file is in, where `[services."..."]` directories must exist
/// (None for a configuration that is not on disk).
pub(crate) fn parse(
    path: &Path,
    text: String,
    is_pyproject: bool,
    base: Option<&Path>,
) -> Result<Option<Config>, AuditError> {
    let doc = text.parse::<Document<String>>().map_err(|e| {
        let cx = Ctx { path, text: &text };
        cx.error(
            e.span(),
            format!("invalid TOML in {}", path.display()),
            e.message(),
            None,
        )
    })?;
    let cx = Ctx { path, text: &text };
    let table: &Table = if is_pyproject {
        match doc.get("tool").and_then(|t| t.get("svc")) {
            Some(item) => item.as_table().ok_or_else(|| {
                cx.error(
                    item.span(),
                    "`[tool.svc]` must be a table".into(),
                    "not a table",
                    None,
                )
            })?,
            None => return Ok(None),
        }
    } else {
        doc.as_table()
    };
    let mut cfg = Config {
        path: Some(path.to_path_buf()),
        ..Config::default()
    };
    for (key, item) in table.iter() {
        let key_span = table.key(key).and_then(|k| k.span());
        match key {
            "select" => cfg.select = cx.strings(key, item)?,
            "ignore" => cfg.ignore = cx.strings(key, item)?,
            "exclude" => cfg.exclude = cx.globs(key, item)?,
            "include" => cfg.include = cx.globs(key, item)?,
            "public-routes" => cfg.public_routes = cx.strings(key, item)?,
            "auth-dependencies" => cfg.auth_dependencies = cx.strings(key, item)?,
            "fail-on" => {
                let v = item.as_str().and_then(|v| match v {
                    "error" => Some(FailOn::Error),
                    "warning" => Some(FailOn::Warning),
                    "info" => Some(FailOn::Info),
                    "never" => Some(FailOn::Never),
                    _ => None,
                });
                cfg.fail_on = Some(v.ok_or_else(|| {
                    cx.error(
                        item.span(),
                        "`fail-on` must be one of error, warning, info, never".into(),
                        "invalid value",
                        None,
                    )
                })?);
            }
            "max-file-size" => {
                let size = item
                    .as_integer()
                    .and_then(|n| u64::try_from(n).ok())
                    .or_else(|| item.as_str().and_then(parse_size))
                    .filter(|n| (1..=MAX_FILE_SIZE_LIMIT).contains(n));
                cfg.max_file_size = Some(size.ok_or_else(|| {
                    cx.error(
                        item.span(),
                        "`max-file-size` must be a size of at least 1 byte and under 4 GiB".into(),
                        "invalid size",
                        Some("a number of bytes, or for example \"64 MiB\"".into()),
                    )
                })?);
            }
            "severity" => {
                let t = item.as_table_like().ok_or_else(|| {
                    cx.error(
                        item.span(),
                        "`severity` must be a table of rule = severity".into(),
                        "not a table",
                        None,
                    )
                })?;
                for (rule, v) in t.iter() {
                    if rules::find(rule).is_none() {
                        let span = t.get_key_value(rule).and_then(|(k, _)| k.span());
                        return Err(severity_key_error(&cx, rule, span));
                    }
                    let sev = v.as_str().and_then(Severity::parse).ok_or_else(|| {
                        cx.error(
                            v.span(),
                            format!("severity of `{rule}` must be error, warning or info"),
                            "invalid severity",
                            None,
                        )
                    })?;
                    cfg.severity.push((rule.to_string(), sev));
                }
            }
            "per-path-ignores" => {
                let t = item.as_table_like().ok_or_else(|| {
                    cx.error(
                        item.span(),
                        "`per-path-ignores` must be a table of glob = [rules]".into(),
                        "not a table",
                        None,
                    )
                })?;
                for (glob, v) in t.iter() {
                    let span = t.get_key_value(glob).and_then(|(k, _)| k.span());
                    let rules = cx.strings(&format!("per-path-ignores.\"{glob}\""), v)?;
                    let glob = cx.glob("per-path-ignores", glob.to_string(), span)?;
                    cfg.per_path_ignores.push((glob, rules));
                }
            }
            "services" => {
                let t = item.as_table_like().ok_or_else(|| {
                    cx.error(
                        item.span(),
                        "`services` must be a table of directory = { kind = ... }".into(),
                        "not a table",
                        None,
                    )
                })?;
                for (dir, v) in t.iter() {
                    // Relative to this file's directory, like every path in it.
                    let relative = never_matches(dir).is_none();
                    let missing = base.is_some_and(|b| !b.join(normalize(dir)).is_dir());
                    if !relative || missing {
                        let span = t.get_key_value(dir).and_then(|(k, _)| k.span());
                        return Err(cx.error(
                            span.or_else(|| v.span()),
                            format!("`services.\"{dir}\"`: no such directory"),
                            "no such directory",
                            Some(format!(
                                "service directories are relative to {}'s directory{}",
                                path.file_name().unwrap_or_default().to_string_lossy(),
                                match relative {
                                    true => "",
                                    false => ", with `/` between directories",
                                }
                            )),
                        ));
                    }
                    let inner = v.as_table_like().ok_or_else(|| {
                        cx.error(
                            v.span(),
                            format!("`services.\"{dir}\"` must be a table"),
                            "not a table",
                            None,
                        )
                    })?;
                    for (k, kv) in inner.iter() {
                        if k != "kind" {
                            return Err(cx.error(
                                kv.span().or_else(|| v.span()),
                                format!("unknown key `services.\"{dir}\".{k}`"),
                                "unknown key",
                                Some("a service table accepts `kind`".into()),
                            ));
                        }
                        let kind = kv.as_str().and_then(Kind::parse).ok_or_else(|| {
                            cx.error(
                                kv.span(),
                                format!(
                                    "`services.\"{dir}\".kind` must be container, lambda or worker"
                                ),
                                "invalid kind",
                                None,
                            )
                        })?;
                        cfg.services
                            .push((normalize(dir).trim_end_matches('/').to_string(), kind));
                    }
                }
            }
            // Written by `svc new` for a later `svc update`; not audit settings.
            "template" => {}
            _ => {
                let (other, problem) = toml_check::unknown_key(table, KEYS)
                    .expect("a key matched by no arm is not among KEYS");
                return Err(cx.error(
                    problem.span.or(key_span),
                    format!("unknown configuration key `{other}`"),
                    "unknown key",
                    problem.help,
                ));
            }
        }
    }
    Ok(Some(cfg))
}

/// Why a glob (relative to the configuration file's directory) can never match a path the
/// audit sees, if it cannot.
fn never_matches(glob: &str) -> Option<&'static str> {
    let g = normalize(glob);
    if g.trim().is_empty() {
        Some("it is empty")
    } else if g.starts_with('/') {
        Some("it is absolute, and paths are relative to the configuration file's directory")
    } else if g.contains('\\') {
        Some("`\\` is an escape in globs, not a separator: write `/`")
    } else if g.split('/').any(|part| part == "..") {
        Some("the audit sees no path outside the configuration file's directory (`..`)")
    } else {
        None
    }
}

/// A relative glob or directory without its leading `./` (`./legacy` is `legacy`).
fn normalize(glob: &str) -> String {
    let mut g = glob;
    while let Some(rest) = g.strip_prefix("./") {
        g = rest.trim_start_matches('/');
    }
    g.to_string()
}

/// A `[severity]` key that is no rule: what it is, and that only rules go there.
fn severity_key_error(cx: &Ctx, key: &str, span: Option<std::ops::Range<usize>>) -> AuditError {
    let what = if key.eq_ignore_ascii_case("ALL") {
        Some("`ALL` selects every rule".to_string())
    } else if let Some(p) = Principle::parse(key) {
        Some(format!(
            "`{key}` is the principle {} ({})",
            p.code(),
            p.title()
        ))
    } else if rules::REGISTRY
        .iter()
        .any(|r| crate::audit::selector_matches(key, r))
    {
        Some(format!("`{key}` is a code prefix"))
    } else {
        None
    };
    match what {
        Some(what) => cx.error(
            span,
            format!("[severity] takes rule codes and names, one per rule: {what}"),
            "not a rule",
            Some(
                "give each rule its own line, e.g. `LG001 = \"error\"` or `print-call = \"error\"`; \
                 `svc rules` lists them"
                    .into(),
            ),
        ),
        None => cx.error(
            span,
            format!("unknown rule `{key}` in [severity]"),
            "unknown rule",
            Some("`svc rules` lists every code and name".into()),
        ),
    }
}

/// The largest `max-file-size`: offsets into a file are 32-bit.
const MAX_FILE_SIZE_LIMIT: u64 = u32::MAX as u64;

/// `"1048576"`, `"512 KiB"`, `"64 MiB"`, `"1 GiB"` (also `K`, `M`, `G`, `KB`, `MB`, `GB`, all
/// powers of 1024, in any case) in bytes.
fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(digits);
    let number: u64 = number.parse().ok()?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => return None,
    };
    number.checked_mul(1 << shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<Option<Config>, AuditError> {
        parse(Path::new("svc.toml"), text.to_string(), false, None)
    }

    #[test]
    fn reads_every_key() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("svc/b")).unwrap();
        let cfg = parse(
            &dir.path().join("svc.toml"),
            r#"
select = ["P1"]
exclude = ["./legacy/", "build/**"]
ignore = ["print-call"]
public-routes = ["/"]
fail-on = "error"
[severity]
missing-metrics = "info"
[per-path-ignores]
"scripts/**" = ["print-call"]
[services."./svc/b"]
kind = "worker"
"#
            .into(),
            false,
            Some(dir.path()),
        )
        .unwrap()
        .unwrap();
        assert_eq!(cfg.select, vec!["P1"]);
        assert_eq!(cfg.exclude, vec!["legacy/", "build/**"]);
        assert_eq!(cfg.fail_on, Some(FailOn::Error));
        assert_eq!(
            cfg.severity,
            vec![("missing-metrics".to_string(), Severity::Info)]
        );
        assert_eq!(cfg.services, vec![("svc/b".to_string(), Kind::Worker)]);
    }

    #[test]
    fn unknown_key_names_it_and_suggests() {
        let err = parse_str("selct = [\"P1\"]\n").unwrap_err();
        let AuditError::Config(e) = err else { panic!() };
        let ConfigError {
            message,
            span,
            help,
            ..
        } = *e;
        assert_eq!(message, "unknown configuration key `selct`");
        assert_eq!(span.offset(), 0);
        assert!(help.unwrap().contains("did you mean `select`?"));
    }

    #[test]
    fn bad_values_point_at_the_value() {
        let err = parse_str("fail-on = \"sometimes\"\n").unwrap_err();
        let AuditError::Config(e) = err else { panic!() };
        let span = e.span;
        assert_eq!(span.offset(), 10);
        assert!(parse_str("[severity]\nx = \"loud\"\n").is_err());
        assert!(parse_str("select = \"P1\"\n").is_err());
    }

    #[test]
    fn globs_that_never_match() {
        for g in ["", " ", "/", "/abs/x", "../x", "a/../b", "a\\b", "./"] {
            assert!(never_matches(g).is_some(), "{g:?}");
        }
        for g in ["legacy", "./legacy/**", "*.py", "a/b/"] {
            assert_eq!(never_matches(g), None, "{g:?}");
        }
        let err = parse_str("exclude = [\"ok\", \"/abs\"]\n").unwrap_err();
        let AuditError::Config(e) = err else { panic!() };
        assert_eq!(e.span.offset(), 17);
        assert!(e.message.contains("can never match"), "{}", e.message);
    }

    #[test]
    fn severity_takes_rules_only() {
        for (key, what) in [
            ("P7", "principle"),
            ("LG", "code prefix"),
            ("all", "every rule"),
        ] {
            let err = parse_str(&format!("[severity]\n{key} = \"error\"\n")).unwrap_err();
            let AuditError::Config(e) = err else { panic!() };
            assert!(
                e.message.contains("takes rule codes and names"),
                "{}",
                e.message
            );
            assert!(e.message.contains(what), "{}", e.message);
            assert_eq!(e.span.offset(), 11);
        }
    }

    #[test]
    fn max_file_size_takes_bytes_or_a_unit() {
        let size = |text: &str| parse_str(text).map(|c| c.unwrap().max_file_size);
        assert_eq!(size("max-file-size = 1000\n").unwrap(), Some(1000));
        assert_eq!(
            size("max-file-size = \"64 MiB\"\n").unwrap(),
            Some(64 << 20)
        );
        assert_eq!(size("max-file-size = \"512k\"\n").unwrap(), Some(512 << 10));
        assert_eq!(size("max-file-size = \"4 GiB\"\n").ok(), None);
        for bad in ["0", "-1", "\"lots\"", "\"1 TiB\"", "\"MiB\"", "1.5"] {
            assert!(size(&format!("max-file-size = {bad}\n")).is_err(), "{bad}");
        }
    }

    #[test]
    fn pyproject_without_tool_svc_is_not_config() {
        let r = parse(
            Path::new("pyproject.toml"),
            "[project]\nname='x'\n".into(),
            true,
            None,
        )
        .unwrap();
        assert!(r.is_none());
    }
}
