//! `template.toml`: what a template is called, which variables it asks for, what it derives
//! from the answers and which files depend on them.
//!
//! Parsed with `toml_edit` (not serde) so every error points at the offending key with a
//! span in the manifest, and so `[derived]` keeps the order it was written in. Unknown keys
//! are errors: a typo like `chioces` must not silently turn into "no choices".
//!
//! ```toml
//! [template]
//! name = "container"            # required; for an embedded template, its directory name
//! description = "FastAPI on uvicorn, with Dockerfile and Kubernetes manifests"  # optional
//! version = "1"                 # required, a string; recorded in the generated pyproject
//! common = true                 # optional (false): merge templates/_common; own files win
//!
//! [[variables]]                 # asked in this order
//! name = "python_version"       # identifier; not a built-in, not declared twice
//! type = "choice"               # string | bool | choice | int
//! default = "3.12"              # required, of the variable's type, and valid
//! choices = ["3.11", "3.12", "3.13"]   # choice only, required
//! help = "Python version for the Docker image and CI"   # optional; shown by prompts and --list
//! # pattern = "[a-z]+"          # string only: a regex the whole value must match
//! # pattern_help = "lower-case letters"   # required with `pattern`: what users are told,
//! #                             # after "expected", when a value does not match
//! # min = 1                     # int only, optional bounds (inclusive)
//! # max = 65535
//! # when = "auth"               # asked only when this earlier bool variable is true
//! #                             # ("not auth": when false); otherwise keeps its default
//!
//! [[constraints]]               # rules across variables; see `constraint`
//! rule = "soft_time_limit < time_limit"   # VARIABLE OP VARIABLE-OR-LITERAL; < <= > >= == !=
//! message = "the soft time limit must be below the hard one"   # optional; else derived
//! #                             # the defaults must satisfy it; not checked while a variable
//! #                             # it names does not apply (its `when` does not hold)
//!
//! [derived]                     # tera templates, evaluated in order after the answers
//! image = "ghcr.io/acme/{{ name }}"
//!
//! [[conditional]]               # files kept only when `when` holds
//! paths = ["{{ package }}/auth.py", "tests/auth/**"]   # rendered, then globs; see `render`
//! when = "auth"                 # a bool variable, or `not auth`
//!
//! [[migrations]]                # how `svc update` carries answers recorded by older versions
//! version = "2"                 # applies to projects generated before this version
//! rename = { replicas = "min_replicas" }   # old answer name -> declared variable
//! remove = ["use_celery"]       # answers no longer asked (must not be declared)
//! ```
//!
//! Built-ins, always set: `name`, `package`, `svc_version`, `template_name`,
//! `template_version`, `year`.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use miette::{Diagnostic, NamedSource, SourceSpan};
use regex::Regex;
use thiserror::Error;
use toml_edit::{Document, Item, Table};

use super::constraint::{Constraint, Operand, Rule};
use crate::toml_check;

/// Variables every template gets without declaring them; a manifest cannot redefine them.
pub const BUILTINS: &[&str] = &[
    "name",
    "package",
    "svc_version",
    "template_name",
    "template_version",
    "year",
];

/// Words tera gives a meaning in expressions: a variable with one of these names could not be
/// referenced.
const TERA_KEYWORDS: &[&str] = &[
    "true", "false", "True", "False", "and", "or", "not", "in", "is",
];

#[derive(Debug, Clone)]
pub struct Manifest {
    pub name: String,
    pub description: String,
    pub version: String,
    /// Whether the files of `_common/` are part of this template (the template's own win).
    pub common: bool,
    /// In the order they are asked.
    pub variables: Vec<Variable>,
    /// `(name, tera expression)`, evaluated in this order after the answers.
    pub derived: Vec<(String, String)>,
    pub conditionals: Vec<Conditional>,
    /// Checked as soon as the values they name are known; the defaults satisfy them all.
    pub constraints: Vec<Constraint>,
    /// Declarative answer migrations for `svc update`, in manifest order (no executable hooks:
    /// an update must be reproducible and safe to run on a teammate's template).
    pub migrations: Vec<Migration>,
}

/// `[[migrations]]`: answers recorded by a version before `version` are renamed or dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    pub version: String,
    /// `(old name, new name)`.
    pub rename: Vec<(String, String)>,
    pub remove: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Variable {
    pub name: String,
    pub kind: VarKind,
    pub default: VarValue,
    pub help: Option<String>,
    /// Asked only when this holds; otherwise the variable keeps its default.
    pub when: Option<Condition>,
}

/// The type of a template variable. Named apart from the audit's service `Kind` and the
/// facts' `Value`, which mean other things.
#[derive(Debug, Clone)]
pub enum VarKind {
    String { pattern: Option<Pattern> },
    Bool,
    Choice { choices: Vec<String> },
    Int { min: Option<i64>, max: Option<i64> },
}

impl VarKind {
    pub fn type_name(&self) -> &'static str {
        match self {
            VarKind::String { .. } => "string",
            VarKind::Bool => "bool",
            VarKind::Choice { .. } => "choice",
            VarKind::Int { .. } => "int",
        }
    }
}

/// A `pattern`, compiled so that it must match the whole value, and its `pattern_help`:
/// users are told what is expected in words, never shown the regex.
#[derive(Debug, Clone)]
pub struct Pattern {
    pub help: String,
    regex: Regex,
}

impl Pattern {
    fn new(source: &str, help: String) -> Result<Self, regex::Error> {
        let regex = Regex::new(&format!("^(?:{source})$"))?;
        Ok(Self { help, regex })
    }
}

/// A typed answer to a template variable. Choices are strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VarValue {
    String(String),
    Bool(bool),
    Int(i64),
}

impl fmt::Display for VarValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VarValue::String(s) => f.write_str(s),
            VarValue::Bool(b) => write!(f, "{b}"),
            VarValue::Int(i) => write!(f, "{i}"),
        }
    }
}

/// Why a value is not acceptable for a variable. The same reasons serve a bad default in a
/// manifest, a bad `--set` and a bad answer at a prompt.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Rejection {
    #[error("expected true or false (also yes/no, y/n, 1/0)")]
    NotABool,
    #[error("expected a whole number")]
    NotAnInt,
    #[error("expected one of: {}", .choices.join(", "))]
    NotAChoice { choices: Vec<String> },
    #[error("expected {expected}")]
    PatternMismatch { expected: String },
    #[error("must be at least {min}")]
    TooSmall { min: i64 },
    #[error("must be at most {max}")]
    TooLarge { max: i64 },
}

impl Variable {
    /// Checks a value of the right type against the variable's constraints.
    pub fn check(&self, value: &VarValue) -> Result<(), Rejection> {
        match (&self.kind, value) {
            (VarKind::String { pattern }, VarValue::String(s)) => match pattern {
                Some(p) if !p.regex.is_match(s) => Err(Rejection::PatternMismatch {
                    expected: p.help.clone(),
                }),
                _ => Ok(()),
            },
            (VarKind::Bool, VarValue::Bool(_)) => Ok(()),
            (VarKind::Choice { choices }, VarValue::String(s)) => {
                if choices.iter().any(|c| c == s) {
                    Ok(())
                } else {
                    Err(Rejection::NotAChoice {
                        choices: choices.clone(),
                    })
                }
            }
            (VarKind::Int { min, max }, VarValue::Int(i)) => match (min, max) {
                (Some(min), _) if i < min => Err(Rejection::TooSmall { min: *min }),
                (_, Some(max)) if i > max => Err(Rejection::TooLarge { max: *max }),
                _ => Ok(()),
            },
            (VarKind::Bool, _) => Err(Rejection::NotABool),
            (VarKind::Int { .. }, _) => Err(Rejection::NotAnInt),
            (VarKind::Choice { choices }, _) => Err(Rejection::NotAChoice {
                choices: choices.clone(),
            }),
            // Only reachable with a non-string value for a string variable, which the parser
            // never builds; answer as the closest rejection rather than panic.
            (VarKind::String { .. }, _) => Err(Rejection::PatternMismatch {
                expected: "a string".to_owned(),
            }),
        }
    }
}

/// `auth` or `not auth`: a bool variable, possibly negated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub variable: String,
    pub negated: bool,
}

impl Condition {
    fn parse(text: &str) -> Option<Self> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let (variable, negated) = match words.as_slice() {
            [variable] => (*variable, false),
            ["not", variable] => (*variable, true),
            _ => return None,
        };
        (is_identifier(variable) && !TERA_KEYWORDS.contains(&variable)).then(|| Self {
            variable: variable.to_owned(),
            negated,
        })
    }

    pub fn holds(&self, value: bool) -> bool {
        value != self.negated
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.negated {
            write!(f, "not {}", self.variable)
        } else {
            f.write_str(&self.variable)
        }
    }
}

/// Files kept only when `when` holds. Patterns are rendered with tera, then matched as globs.
#[derive(Debug, Clone)]
pub struct Conditional {
    pub paths: Vec<String>,
    pub when: Condition,
}

#[derive(Debug, Error, Diagnostic)]
#[error("invalid template manifest {}: `{key}`: {reason}", .source_code.name())]
#[diagnostic(code(svc::new::manifest))]
pub struct ManifestError {
    /// Where in the manifest: `variables[2].default (python_version)`.
    pub key: String,
    pub reason: String,
    // Shared, and small in every `Result` that carries it.
    #[source_code]
    source_code: Arc<NamedSource<String>>,
    #[label("here")]
    span: Option<SourceSpan>,
    #[help]
    help: Option<String>,
}

/// Parses and validates a manifest. `file` names it in errors.
pub fn parse(file: &str, text: &str) -> Result<Manifest, ManifestError> {
    let parser = Parser { file, text };
    let doc = Document::parse(text).map_err(|err| ManifestError {
        key: "(document)".to_owned(),
        reason: err.message().to_owned(),
        source_code: Arc::new(NamedSource::new(file, text.to_owned())),
        span: err.span().map(SourceSpan::from),
        help: None,
    })?;
    parser.manifest(doc.as_table())
}

struct Parser<'a> {
    file: &'a str,
    text: &'a str,
}

impl Parser<'_> {
    fn error(
        &self,
        key: &str,
        span: Option<Range<usize>>,
        reason: impl Into<String>,
    ) -> ManifestError {
        ManifestError {
            key: key.to_owned(),
            reason: reason.into(),
            source_code: Arc::new(NamedSource::new(self.file, self.text.to_owned())),
            span: span.map(SourceSpan::from),
            help: None,
        }
    }

    fn error_with_help(
        &self,
        key: &str,
        span: Option<Range<usize>>,
        reason: impl Into<String>,
        help: impl Into<String>,
    ) -> ManifestError {
        ManifestError {
            help: Some(help.into()),
            ..self.error(key, span, reason)
        }
    }

    fn reject_unknown_keys(
        &self,
        table: &Table,
        prefix: &str,
        known: &[&str],
    ) -> Result<(), ManifestError> {
        match toml_check::unknown_key(table, known) {
            Some((key, problem)) => Err(self.problem(&join_key(prefix, &key), problem)),
            None => Ok(()),
        }
    }

    fn problem(&self, key: &str, problem: toml_check::Problem) -> ManifestError {
        ManifestError {
            help: problem.help.clone(),
            ..self.error(key, problem.span, problem.reason)
        }
    }

    fn manifest(&self, root: &Table) -> Result<Manifest, ManifestError> {
        self.reject_unknown_keys(
            root,
            "",
            &[
                "template",
                "variables",
                "derived",
                "conditional",
                "constraints",
                "migrations",
            ],
        )?;

        let template = match root.get("template") {
            Some(Item::Table(t)) => t,
            Some(other) => {
                return Err(self.error("template", other.span(), "expected a [template] table"));
            }
            None => {
                return Err(self.error_with_help(
                    "template",
                    None,
                    "missing [template] table",
                    "start the manifest with [template] and its name, description and version",
                ));
            }
        };
        self.reject_unknown_keys(
            template,
            "template",
            &["name", "description", "version", "common"],
        )?;
        let name = self.required_string(template, "template", "name")?;
        let description = self
            .optional_string(template, "template", "description")?
            .unwrap_or_default();
        let version = self.required_string(template, "template", "version")?;
        let common = self
            .optional_bool(template, "template", "common")?
            .unwrap_or(false);

        let variables = self.variables(root)?;
        let derived = self.derived(root, &variables)?;
        let conditionals = self.conditionals(root, &variables)?;
        let constraints = self.constraints(root, &variables)?;
        let migrations = self.migrations(root, &variables)?;

        Ok(Manifest {
            name,
            description,
            version,
            common,
            variables,
            derived,
            conditionals,
            constraints,
            migrations,
        })
    }

    fn migrations(
        &self,
        root: &Table,
        variables: &[Variable],
    ) -> Result<Vec<Migration>, ManifestError> {
        let Some(item) = root.get("migrations") else {
            return Ok(Vec::new());
        };
        let Some(tables) = item.as_array_of_tables() else {
            return Err(self.error(
                "migrations",
                item.span(),
                "expected [[migrations]] tables, one per version",
            ));
        };
        let declared = |name: &str| variables.iter().any(|v| v.name == name);
        let mut migrations = Vec::new();
        for (index, table) in tables.iter().enumerate() {
            let prefix = format!("migrations[{index}]");
            self.reject_unknown_keys(table, &prefix, &["version", "rename", "remove"])?;
            let version = self.required_string(table, &prefix, "version")?;
            let mut rename = Vec::new();
            if let Some(item) = table.get("rename") {
                let key = format!("{prefix}.rename");
                let Some(pairs) = item.as_table_like() else {
                    return Err(self.error(
                        &key,
                        item.span(),
                        "expected a table of old = \"new\" names",
                    ));
                };
                for (old, new) in pairs.iter() {
                    let Some(new) = new.as_str() else {
                        return Err(self.error(
                            &format!("{key}.{old}"),
                            new.span(),
                            "expected the new variable's name",
                        ));
                    };
                    if !declared(new) {
                        return Err(self.error(
                            &format!("{key}.{old}"),
                            item.span(),
                            format!("renames `{old}` to `{new}`, which is not a declared variable"),
                        ));
                    }
                    rename.push((old.to_owned(), new.to_owned()));
                }
            }
            let mut remove = Vec::new();
            if let Some(item) = table.get("remove") {
                let key = format!("{prefix}.remove");
                let names = item
                    .as_array()
                    .filter(|a| a.iter().all(|v| v.as_str().is_some()));
                let Some(names) = names else {
                    return Err(self.error(&key, item.span(), "expected an array of answer names"));
                };
                for name in names.iter().filter_map(|v| v.as_str()) {
                    if declared(name) {
                        return Err(self.error(
                            &key,
                            item.span(),
                            format!("removes `{name}`, which is still a declared variable"),
                        ));
                    }
                    remove.push(name.to_owned());
                }
            }
            migrations.push(Migration {
                version,
                rename,
                remove,
            });
        }
        Ok(migrations)
    }

    fn variables(&self, root: &Table) -> Result<Vec<Variable>, ManifestError> {
        let Some(item) = root.get("variables") else {
            return Ok(Vec::new());
        };
        let Some(tables) = item.as_array_of_tables() else {
            return Err(self.error(
                "variables",
                item.span(),
                "expected [[variables]] tables, one per variable",
            ));
        };
        let mut variables: Vec<Variable> = Vec::new();
        for (index, table) in tables.iter().enumerate() {
            let prefix = format!("variables[{index}]");
            let variable = self.variable(table, &prefix, &variables)?;
            variables.push(variable);
        }
        Ok(variables)
    }

    fn variable(
        &self,
        table: &Table,
        prefix: &str,
        earlier: &[Variable],
    ) -> Result<Variable, ManifestError> {
        const KNOWN: &[&str] = &[
            "name",
            "type",
            "default",
            "choices",
            "help",
            "pattern",
            "pattern_help",
            "when",
            "min",
            "max",
        ];
        self.reject_unknown_keys(table, prefix, KNOWN)?;

        let name = self.required_string(table, prefix, "name")?;
        let name_span = table.get("name").and_then(Item::span);
        let label = name.clone();
        let key = move |field: &str| format!("{prefix}.{field} ({label})");
        self.check_new_name(
            &name,
            &key("name"),
            name_span.clone(),
            earlier.iter().map(|v| v.name.as_str()),
        )?;

        let type_name = self.required_string(table, prefix, "type")?;
        let type_span = table.get("type").and_then(Item::span);
        let only_for = |field: &str, kind: &str| -> Result<(), ManifestError> {
            match table.get(field) {
                Some(item) if type_name != kind => Err(self.error(
                    &key(field),
                    item.span(),
                    format!("`{field}` only applies to type = \"{kind}\""),
                )),
                _ => Ok(()),
            }
        };
        only_for("choices", "choice")?;
        only_for("pattern", "string")?;
        only_for("pattern_help", "string")?;
        only_for("min", "int")?;
        only_for("max", "int")?;

        let kind = match type_name.as_str() {
            "string" => {
                let help = self.optional_string(table, prefix, "pattern_help")?;
                let pattern = match (self.optional_string(table, prefix, "pattern")?, help) {
                    (None, None) => None,
                    (None, Some(_)) => {
                        return Err(self.error(
                            &key("pattern_help"),
                            table.get("pattern_help").and_then(Item::span),
                            "`pattern_help` describes a `pattern`, and there is none",
                        ));
                    }
                    (Some(_), None) => {
                        return Err(self.error_with_help(
                            &key("pattern"),
                            table.get("pattern").and_then(Item::span),
                            "a `pattern` needs a `pattern_help`",
                            "say in words what the pattern allows, as users are told after \
                             \"expected\": pattern_help = \"lower-case letters and digits\"",
                        ));
                    }
                    (Some(_), Some(help)) if help.trim().is_empty() => {
                        return Err(self.error(
                            &key("pattern_help"),
                            table.get("pattern_help").and_then(Item::span),
                            "must not be empty",
                        ));
                    }
                    (Some(source), Some(help)) => {
                        Some(Pattern::new(&source, help).map_err(|err| {
                            self.error(
                                &key("pattern"),
                                table.get("pattern").and_then(Item::span),
                                format!("not a valid regular expression: {err}"),
                            )
                        })?)
                    }
                };
                VarKind::String { pattern }
            }
            "bool" => VarKind::Bool,
            "choice" => VarKind::Choice {
                choices: self.choices(table, &key("choices"))?,
            },
            "int" => {
                let min = self.optional_int(table, &key("min"), "min")?;
                let max = self.optional_int(table, &key("max"), "max")?;
                if let (Some(min), Some(max)) = (min, max)
                    && min > max
                {
                    return Err(self.error(
                        &key("max"),
                        table.get("max").and_then(Item::span),
                        format!("max ({max}) is less than min ({min})"),
                    ));
                }
                VarKind::Int { min, max }
            }
            other => {
                return Err(self.error(
                    &key("type"),
                    type_span,
                    format!("unknown type {other:?}; expected one of: string, bool, choice, int"),
                ));
            }
        };

        let Some(default_item) = table.get("default") else {
            return Err(self.error_with_help(
                &key("default"),
                table.span(),
                "missing default",
                "every variable needs a default: it is what --yes and non-interactive runs use",
            ));
        };
        let default = match (&kind, default_item.as_value()) {
            (
                VarKind::String { .. } | VarKind::Choice { .. },
                Some(toml_edit::Value::String(s)),
            ) => VarValue::String(s.value().clone()),
            (VarKind::Bool, Some(toml_edit::Value::Boolean(b))) => VarValue::Bool(*b.value()),
            (VarKind::Int { .. }, Some(toml_edit::Value::Integer(i))) => VarValue::Int(*i.value()),
            _ => {
                return Err(self.error(
                    &key("default"),
                    default_item.span(),
                    format!(
                        "expected a {} default, found {}",
                        toml_type_for(&kind),
                        default_item.type_name()
                    ),
                ));
            }
        };

        let help = self.optional_string(table, prefix, "help")?;

        let when = match self.optional_string(table, prefix, "when")? {
            None => None,
            Some(text) => {
                let span = table.get("when").and_then(Item::span);
                let condition = self.condition(&text, &key("when"), span.clone())?;
                match earlier.iter().find(|v| v.name == condition.variable) {
                    Some(v) if matches!(v.kind, VarKind::Bool) => Some(condition),
                    Some(v) => {
                        return Err(self.error(
                            &key("when"),
                            span,
                            format!(
                                "`{}` is a {} variable; `when` needs a bool",
                                v.name,
                                v.kind.type_name()
                            ),
                        ));
                    }
                    None => {
                        return Err(self.error_with_help(
                            &key("when"),
                            span,
                            format!("no bool variable `{}` is declared before `{name}`", condition.variable),
                            "`when` refers to a bool variable declared earlier, so it is asked first",
                        ));
                    }
                }
            }
        };

        let variable = Variable {
            name,
            kind,
            default,
            help,
            when,
        };
        if let Err(rejection) = variable.check(&variable.default) {
            return Err(self.error(
                &key("default"),
                default_item.span(),
                format!(
                    "the default {:?} is not valid: {rejection}",
                    variable.default.to_string()
                ),
            ));
        }
        Ok(variable)
    }

    fn choices(&self, table: &Table, key: &str) -> Result<Vec<String>, ManifestError> {
        let Some(item) = table.get("choices") else {
            return Err(self.error(key, table.span(), "a choice variable needs `choices`"));
        };
        let Some(array) = item.as_array() else {
            return Err(self.error(key, item.span(), "expected an array of strings"));
        };
        let mut choices = Vec::new();
        for value in array.iter() {
            let Some(s) = value.as_str() else {
                return Err(self.error(key, value.span(), "expected an array of strings"));
            };
            if choices.iter().any(|c| c == s) {
                return Err(self.error(key, value.span(), format!("{s:?} is listed twice")));
            }
            choices.push(s.to_owned());
        }
        if choices.is_empty() {
            return Err(self.error(key, item.span(), "`choices` is empty"));
        }
        Ok(choices)
    }

    fn derived(
        &self,
        root: &Table,
        variables: &[Variable],
    ) -> Result<Vec<(String, String)>, ManifestError> {
        let Some(item) = root.get("derived") else {
            return Ok(Vec::new());
        };
        let Some(table) = item.as_table() else {
            return Err(self.error("derived", item.span(), "expected a [derived] table"));
        };
        let mut derived: Vec<(String, String)> = Vec::new();
        for (name, value) in table.iter() {
            let key = format!("derived.{name}");
            let span = table.key(name).and_then(|k| k.span());
            let taken = variables
                .iter()
                .map(|v| v.name.as_str())
                .chain(derived.iter().map(|(n, _)| n.as_str()));
            self.check_new_name(name, &key, span, taken)?;
            let Some(expression) = value.as_str() else {
                return Err(self.error(
                    &key,
                    value.span(),
                    "expected a string (a tera template such as \"ghcr.io/acme/{{ name }}\")",
                ));
            };
            derived.push((name.to_owned(), expression.to_owned()));
        }
        Ok(derived)
    }

    fn conditionals(
        &self,
        root: &Table,
        variables: &[Variable],
    ) -> Result<Vec<Conditional>, ManifestError> {
        let Some(item) = root.get("conditional") else {
            return Ok(Vec::new());
        };
        let Some(tables) = item.as_array_of_tables() else {
            return Err(self.error(
                "conditional",
                item.span(),
                "expected [[conditional]] tables",
            ));
        };
        let mut conditionals = Vec::new();
        for (index, table) in tables.iter().enumerate() {
            let prefix = format!("conditional[{index}]");
            self.reject_unknown_keys(table, &prefix, &["paths", "when"])?;

            let paths_key = format!("{prefix}.paths");
            let Some(paths_item) = table.get("paths") else {
                return Err(self.error(&paths_key, table.span(), "missing `paths`"));
            };
            let Some(array) = paths_item.as_array() else {
                return Err(self.error(
                    &paths_key,
                    paths_item.span(),
                    "expected an array of path patterns",
                ));
            };
            let mut paths = Vec::new();
            for value in array.iter() {
                match value.as_str() {
                    Some(p) if !p.trim().is_empty() => paths.push(p.trim_matches('/').to_owned()),
                    _ => {
                        return Err(self.error(
                            &paths_key,
                            value.span(),
                            "expected a non-empty path pattern",
                        ));
                    }
                }
            }
            if paths.is_empty() {
                return Err(self.error(&paths_key, paths_item.span(), "`paths` is empty"));
            }

            let when_key = format!("{prefix}.when");
            let Some(text) = self.optional_string(table, &prefix, "when")? else {
                return Err(self.error(&when_key, table.span(), "missing `when`"));
            };
            let span = table.get("when").and_then(Item::span);
            let when = self.condition(&text, &when_key, span.clone())?;
            match variables.iter().find(|v| v.name == when.variable) {
                Some(v) if matches!(v.kind, VarKind::Bool) => {}
                Some(v) => {
                    return Err(self.error(
                        &when_key,
                        span,
                        format!(
                            "`{}` is a {} variable; `when` needs a bool",
                            v.name,
                            v.kind.type_name()
                        ),
                    ));
                }
                None => {
                    return Err(self.error(
                        &when_key,
                        span,
                        format!("no bool variable `{}` is declared", when.variable),
                    ));
                }
            }
            conditionals.push(Conditional { paths, when });
        }
        Ok(conditionals)
    }

    fn constraints(
        &self,
        root: &Table,
        variables: &[Variable],
    ) -> Result<Vec<Constraint>, ManifestError> {
        let Some(item) = root.get("constraints") else {
            return Ok(Vec::new());
        };
        let Some(tables) = item.as_array_of_tables() else {
            return Err(self.error(
                "constraints",
                item.span(),
                "expected [[constraints]] tables, one per rule",
            ));
        };
        let mut constraints = Vec::new();
        for (index, table) in tables.iter().enumerate() {
            let prefix = format!("constraints[{index}]");
            self.reject_unknown_keys(table, &prefix, &["rule", "message"])?;
            let rule_key = format!("{prefix}.rule");
            let text = self.required_string(table, &prefix, "rule")?;
            let span = table.get("rule").and_then(Item::span);
            let syntax_help = "a rule compares a variable with another variable or a value: \
                               rule = \"soft_time_limit < time_limit\", rule = \"port != 9090\"";
            let rule = Rule::parse(&text).map_err(|reason| {
                self.error_with_help(&rule_key, span.clone(), reason, syntax_help)
            })?;
            self.check_rule_types(&rule, variables, &rule_key, span.clone())?;

            let message = match self.optional_string(table, &prefix, "message")? {
                Some(message) if message.trim().is_empty() => {
                    return Err(self.error(
                        &format!("{prefix}.message"),
                        table.get("message").and_then(Item::span),
                        "must not be empty",
                    ));
                }
                Some(message) => message,
                None => rule.describe(),
            };
            let constraint = Constraint { rule, message };
            let default_of = |name: &str| {
                variables
                    .iter()
                    .find(|v| v.name == name)
                    .map(|v| &v.default)
            };
            if let Err(broken) = constraint.check(default_of) {
                return Err(self.error_with_help(
                    &rule_key,
                    span,
                    format!("the defaults break this rule: {broken}"),
                    "--yes and runs without a terminal use the defaults, so they must satisfy every rule",
                ));
            }
            constraints.push(constraint);
        }
        Ok(constraints)
    }

    /// Both sides name declared variables, or values, of types the operator can compare.
    fn check_rule_types(
        &self,
        rule: &Rule,
        variables: &[Variable],
        key: &str,
        span: Option<Range<usize>>,
    ) -> Result<(), ManifestError> {
        let find = |name: &str| -> Result<&Variable, ManifestError> {
            variables.iter().find(|v| v.name == name).ok_or_else(|| {
                let declared: Vec<&str> = variables.iter().map(|v| v.name.as_str()).collect();
                self.error_with_help(
                    key,
                    span.clone(),
                    format!("no variable `{name}` is declared"),
                    if declared.is_empty() {
                        "a rule compares [[variables]], and this template declares none".to_owned()
                    } else {
                        format!("declared variables: {}", declared.join(", "))
                    },
                )
            })
        };
        let left = find(&rule.left)?;
        // The right side's type as a manifest names it, and its TOML type for the check.
        let (right_type, right_toml, right_value) = match &rule.right {
            Operand::Variable(name) => {
                if *name == rule.left {
                    return Err(self.error(
                        key,
                        span,
                        format!("the rule compares `{name}` with itself"),
                    ));
                }
                let right = find(name)?;
                (right.kind.type_name(), toml_type_for(&right.kind), None)
            }
            Operand::Literal(value) => {
                let (type_name, toml) = match value {
                    VarValue::String(_) => ("string", "string"),
                    VarValue::Bool(_) => ("bool", "boolean"),
                    VarValue::Int(_) => ("int", "integer"),
                };
                (type_name, toml, Some(value))
            }
        };
        let left_type = toml_type_for(&left.kind);
        if left_type != right_toml {
            return Err(self.error(
                key,
                span,
                format!(
                    "cannot compare `{}` ({}) with {} ({right_type})",
                    left.name,
                    left.kind.type_name(),
                    rule.right
                ),
            ));
        }
        if rule.op.is_ordering() && left_type != "integer" {
            return Err(self.error(
                key,
                span,
                format!(
                    "`{}` orders whole numbers only, and `{}` is a {} variable; use == or !=",
                    rule.op,
                    left.name,
                    left.kind.type_name()
                ),
            ));
        }
        // A literal that the variable can never take is a typo.
        if let Some(value) = right_value
            && let Err(rejection) = left.check(value)
        {
            return Err(self.error(
                key,
                span,
                format!("`{}` can never be {}: {rejection}", left.name, rule.right),
            ));
        }
        Ok(())
    }

    fn condition(
        &self,
        text: &str,
        key: &str,
        span: Option<Range<usize>>,
    ) -> Result<Condition, ManifestError> {
        Condition::parse(text).ok_or_else(|| {
            self.error_with_help(
                key,
                span,
                format!("{text:?} is not a condition"),
                "write the name of a bool variable, or `not` and the name: when = \"auth\", when = \"not auth\"",
            )
        })
    }

    fn check_new_name<'n>(
        &self,
        name: &str,
        key: &str,
        span: Option<Range<usize>>,
        mut taken: impl Iterator<Item = &'n str>,
    ) -> Result<(), ManifestError> {
        if !is_identifier(name) || TERA_KEYWORDS.contains(&name) {
            return Err(self.error_with_help(
                key,
                span,
                format!("{name:?} is not a valid variable name"),
                "use letters, digits and underscores, starting with a letter or underscore: python_version",
            ));
        }
        if BUILTINS.contains(&name) {
            return Err(self.error(
                key,
                span,
                format!(
                    "`{name}` is built in (always set: {}); choose another name",
                    BUILTINS.join(", ")
                ),
            ));
        }
        if taken.any(|t| t == name) {
            return Err(self.error(key, span, format!("`{name}` is declared twice")));
        }
        Ok(())
    }

    fn required_string(
        &self,
        table: &Table,
        prefix: &str,
        field: &str,
    ) -> Result<String, ManifestError> {
        match self.optional_string(table, prefix, field)? {
            Some(s) if !s.trim().is_empty() => Ok(s),
            Some(_) => Err(self.error(
                &join_key(prefix, field),
                table.get(field).and_then(Item::span),
                "must not be empty",
            )),
            None => Err(self.error(
                &join_key(prefix, field),
                table.span(),
                format!("missing `{field}`"),
            )),
        }
    }

    fn optional_string(
        &self,
        table: &Table,
        prefix: &str,
        field: &str,
    ) -> Result<Option<String>, ManifestError> {
        self.optional(table, &join_key(prefix, field), field, "a string", |i| {
            i.as_str().map(str::to_owned)
        })
    }

    fn optional_bool(
        &self,
        table: &Table,
        prefix: &str,
        field: &str,
    ) -> Result<Option<bool>, ManifestError> {
        self.optional(
            table,
            &join_key(prefix, field),
            field,
            "true or false",
            Item::as_bool,
        )
    }

    fn optional_int(
        &self,
        table: &Table,
        key: &str,
        field: &str,
    ) -> Result<Option<i64>, ManifestError> {
        self.optional(table, key, field, "an integer", Item::as_integer)
    }

    /// `field` of `table` if present, converted; an error naming `key` if of the wrong type.
    fn optional<T>(
        &self,
        table: &Table,
        key: &str,
        field: &str,
        expected: &str,
        convert: impl Fn(&Item) -> Option<T>,
    ) -> Result<Option<T>, ManifestError> {
        table
            .get(field)
            .map(|item| toml_check::typed(item, expected, &convert))
            .transpose()
            .map_err(|problem| self.problem(key, problem))
    }
}

fn toml_type_for(kind: &VarKind) -> &'static str {
    match kind {
        VarKind::String { .. } | VarKind::Choice { .. } => "string",
        VarKind::Bool => "boolean",
        VarKind::Int { .. } => "integer",
    }
}

fn join_key(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

/// A tera (and Python) identifier, ASCII only so `--set key=value` is easy to type.
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"
[template]
name = "container"
description = "FastAPI on uvicorn"
version = "1"
common = true

[[variables]]
name = "python_version"
type = "choice"
default = "3.12"
choices = ["3.11", "3.12", "3.13"]
help = "Python version"

[[variables]]
name = "auth"
type = "bool"
default = true

[[variables]]
name = "issuer"
type = "string"
default = "https://auth.example.com"
pattern = "https://.+"
pattern_help = "an https:// URL"
when = "auth"

[[variables]]
name = "port"
type = "int"
default = 8000
min = 1
max = 65535

[derived]
image = "ghcr.io/acme/{{ name }}"
tag = "{{ image }}:latest"

[[conditional]]
paths = ["app/auth.py", "tests/test_auth.py"]
when = "auth"

[[conditional]]
paths = ["app/anonymous.py"]
when = "not auth"

[[constraints]]
rule = "port >= 1024"
message = "the container runs as a user that cannot bind ports below 1024"

[[constraints]]
rule = "python_version != '3.11'"
"#;

    fn error(text: &str) -> ManifestError {
        parse("t/template.toml", text).expect_err("the manifest should be rejected")
    }

    fn with_template(rest: &str) -> String {
        format!("[template]\nname = \"t\"\nversion = \"1\"\n{rest}")
    }

    #[test]
    fn parses_every_field() {
        let m = parse("t/template.toml", FULL).unwrap();
        assert_eq!(m.name, "container");
        assert_eq!(m.version, "1");
        assert!(m.common);
        let names: Vec<&str> = m.variables.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["python_version", "auth", "issuer", "port"]);
        assert_eq!(m.variables[0].default, VarValue::String("3.12".into()));
        assert_eq!(m.variables[1].default, VarValue::Bool(true));
        assert_eq!(
            m.variables[2].when,
            Some(Condition {
                variable: "auth".into(),
                negated: false
            })
        );
        assert!(matches!(
            m.variables[3].kind,
            VarKind::Int {
                min: Some(1),
                max: Some(65535)
            }
        ));
        assert_eq!(
            m.derived,
            [
                ("image".to_owned(), "ghcr.io/acme/{{ name }}".to_owned()),
                ("tag".to_owned(), "{{ image }}:latest".to_owned())
            ]
        );
        assert_eq!(m.conditionals.len(), 2);
        assert!(m.conditionals[1].when.negated);
        assert_eq!(m.constraints.len(), 2);
        assert_eq!(m.constraints[0].rule.to_string(), "port >= 1024");
        assert_eq!(
            m.constraints[1].message,
            "`python_version` must be different from \"3.11\""
        );
    }

    #[test]
    fn minimal_manifest_has_no_variables() {
        let m = parse("t/template.toml", &with_template("")).unwrap();
        assert!(m.variables.is_empty() && m.derived.is_empty() && m.conditionals.is_empty());
        assert!(!m.common);
        assert_eq!(m.description, "");
    }

    #[test]
    fn unknown_key_is_named_with_its_position() {
        let err = error(&with_template(
            "[[variables]]\nname = \"x\"\ntype = \"choice\"\ndefault = \"a\"\nchioces = [\"a\"]\n",
        ));
        assert_eq!(err.key, "variables[0].chioces");
        assert_eq!(err.reason, "unknown key");
        assert!(err.span.is_some());
        assert!(err.help.as_deref().unwrap().contains("choices"));
    }

    #[test]
    fn default_outside_choices_is_rejected() {
        let err = error(&with_template(
            "[[variables]]\nname = \"py\"\ntype = \"choice\"\ndefault = \"3.10\"\nchoices = [\"3.11\", \"3.12\"]\n",
        ));
        assert_eq!(err.key, "variables[0].default (py)");
        assert!(
            err.reason.contains("expected one of: 3.11, 3.12"),
            "{}",
            err.reason
        );
    }

    #[test]
    fn default_of_the_wrong_type_is_rejected() {
        let err = error(&with_template(
            "[[variables]]\nname = \"auth\"\ntype = \"bool\"\ndefault = \"yes\"\n",
        ));
        assert_eq!(err.key, "variables[0].default (auth)");
        assert!(
            err.reason.contains("expected a boolean default"),
            "{}",
            err.reason
        );
    }

    #[test]
    fn default_must_match_pattern() {
        let err = error(&with_template(
            "[[variables]]\nname = \"x\"\ntype = \"string\"\ndefault = \"ABC\"\npattern = \"[a-z]+\"\n\
             pattern_help = \"lower-case letters\"\n",
        ));
        assert_eq!(
            err.reason,
            "the default \"ABC\" is not valid: expected lower-case letters"
        );
    }

    #[test]
    fn a_pattern_needs_words_for_users() {
        let variable = "[[variables]]\nname = \"x\"\ntype = \"string\"\ndefault = \"a\"\n";
        let err = error(&with_template(&format!("{variable}pattern = \"[a-z]+\"\n")));
        assert_eq!(err.key, "variables[0].pattern (x)");
        assert_eq!(err.reason, "a `pattern` needs a `pattern_help`");
        let err = error(&with_template(&format!(
            "{variable}pattern_help = \"letters\"\n"
        )));
        assert_eq!(err.key, "variables[0].pattern_help (x)");
        let err = error(&with_template(&format!(
            "{variable}pattern = \"[a-z]+\"\npattern_help = \" \"\n"
        )));
        assert_eq!(err.reason, "must not be empty");
    }

    const LIMITS: &str = "[[variables]]\nname = \"soft\"\ntype = \"int\"\ndefault = 240\n\
                          [[variables]]\nname = \"hard\"\ntype = \"int\"\ndefault = 300\nmin = 2\n\
                          [[variables]]\nname = \"broker\"\ntype = \"choice\"\ndefault = \"redis\"\n\
                          choices = [\"redis\", \"rabbitmq\"]\n\
                          [[variables]]\nname = \"auth\"\ntype = \"bool\"\ndefault = true\n";

    fn constraint_error(rule: &str) -> ManifestError {
        error(&with_template(&format!(
            "{LIMITS}[[constraints]]\nrule = {rule:?}\n"
        )))
    }

    #[test]
    fn constraints_parse_and_default_to_derived_words() {
        let m = parse(
            "t/template.toml",
            &with_template(&format!(
                "{LIMITS}[[constraints]]\nrule = \"soft < hard\"\n\
                 [[constraints]]\nrule = \"broker == 'redis'\"\nmessage = \"RabbitMQ is not supported yet\"\n"
            )),
        )
        .unwrap();
        assert_eq!(m.constraints[0].message, "`soft` must be less than `hard`");
        assert_eq!(m.constraints[1].message, "RabbitMQ is not supported yet");
    }

    #[test]
    fn malformed_constraints_point_at_the_rule() {
        for (rule, reason) in [
            ("soft <", "expected a variable or a value after `<`"),
            ("soft < nope", "no variable `nope` is declared"),
            ("name < hard", "no variable `name` is declared"),
            ("soft < soft", "compares `soft` with itself"),
            (
                "soft < broker",
                "cannot compare `soft` (int) with `broker` (choice)",
            ),
            ("broker < 'x'", "`<` orders whole numbers only"),
            ("auth == 1", "cannot compare `auth` (bool) with 1 (int)"),
            (
                "broker == 'kafka'",
                "`broker` can never be \"kafka\": expected one of: redis, rabbitmq",
            ),
            ("hard > 1", "`hard` can never be 1: must be at least 2"),
            (
                "soft > hard",
                "the defaults break this rule: `soft` must be greater than `hard` (soft = 240, hard = 300)",
            ),
        ] {
            let err = constraint_error(rule);
            assert_eq!(err.key, "constraints[0].rule", "{rule}");
            assert!(err.span.is_some(), "{rule}");
            assert!(err.reason.contains(reason), "{rule}: {}", err.reason);
        }
        let err = error(&with_template(&format!(
            "{LIMITS}[[constraints]]\nrule = \"soft < hard\"\nwhen = \"auth\"\n"
        )));
        assert_eq!(err.key, "constraints[0].when");
        let err = error(&with_template(&format!(
            "{LIMITS}[[constraints]]\nmessage = \"x\"\n"
        )));
        assert_eq!(err.key, "constraints[0].rule");
        let err =
            error("constraints = \"soft < hard\"\n[template]\nname = \"t\"\nversion = \"1\"\n");
        assert_eq!(err.key, "constraints");
    }

    #[test]
    fn builtin_and_duplicate_names_are_rejected() {
        let err = error(&with_template(
            "[[variables]]\nname = \"package\"\ntype = \"bool\"\ndefault = true\n",
        ));
        assert!(err.reason.contains("built in"), "{}", err.reason);

        let twice = "[[variables]]\nname = \"a\"\ntype = \"bool\"\ndefault = true\n";
        let err = error(&with_template(&format!("{twice}{twice}")));
        assert!(err.reason.contains("declared twice"), "{}", err.reason);

        let err = error(&with_template(&format!("{twice}[derived]\na = \"x\"\n")));
        assert_eq!(err.key, "derived.a");
    }

    #[test]
    fn when_must_name_an_earlier_bool() {
        let later = "[[variables]]\nname = \"x\"\ntype = \"string\"\ndefault = \"\"\nwhen = \"auth\"\n\
                     [[variables]]\nname = \"auth\"\ntype = \"bool\"\ndefault = true\n";
        let err = error(&with_template(later));
        assert!(err.reason.contains("declared before `x`"), "{}", err.reason);

        let not_bool = "[[variables]]\nname = \"auth\"\ntype = \"string\"\ndefault = \"\"\n\
                        [[conditional]]\npaths = [\"a\"]\nwhen = \"auth\"\n";
        let err = error(&with_template(not_bool));
        assert_eq!(err.key, "conditional[0].when");
        assert!(err.reason.contains("string variable"), "{}", err.reason);

        let garbage = "[[variables]]\nname = \"auth\"\ntype = \"bool\"\ndefault = true\n\
                       [[conditional]]\npaths = [\"a\"]\nwhen = \"auth and more\"\n";
        assert!(
            error(&with_template(garbage))
                .reason
                .contains("not a condition")
        );
    }

    #[test]
    fn fields_for_another_type_are_rejected() {
        let err = error(&with_template(
            "[[variables]]\nname = \"x\"\ntype = \"string\"\ndefault = \"a\"\nchoices = [\"a\"]\n",
        ));
        assert!(
            err.reason.contains("only applies to type = \"choice\""),
            "{}",
            err.reason
        );
    }

    #[test]
    fn missing_template_table_and_syntax_errors_are_reported() {
        assert!(error("").reason.contains("missing [template]"));
        let err = error("[template\n");
        assert_eq!(err.key, "(document)");
        assert!(err.span.is_some());
        assert_eq!(error("[template]\nname = \"t\"\n").key, "template.version");
    }

    #[test]
    fn check_applies_constraints() {
        let m = parse("t/template.toml", FULL).unwrap();
        let port = &m.variables[3];
        let issuer = &m.variables[2];
        assert_eq!(
            issuer.check(&VarValue::String("http://x".into())),
            Err(Rejection::PatternMismatch {
                expected: "an https:// URL".into()
            })
        );
        assert_eq!(
            port.check(&VarValue::Int(0)),
            Err(Rejection::TooSmall { min: 1 })
        );
        assert_eq!(
            port.check(&VarValue::Int(65536)),
            Err(Rejection::TooLarge { max: 65535 })
        );
        assert_eq!(port.check(&VarValue::Int(8080)), Ok(()));
        assert_eq!(port.check(&VarValue::Bool(true)), Err(Rejection::NotAnInt));
    }

    #[test]
    fn conditions_parse() {
        assert_eq!(
            Condition::parse(" not  auth "),
            Some(Condition {
                variable: "auth".into(),
                negated: true
            })
        );
        assert_eq!(Condition::parse("not"), None);
        assert_eq!(Condition::parse("a-b"), None);
        assert_eq!(Condition::parse(""), None);
        assert!(Condition::parse("not auth").unwrap().holds(false));
    }
}
