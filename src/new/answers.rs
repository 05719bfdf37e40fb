//! Answers to a template's variables: from `--set`, from prompts, or the defaults.
//!
//! Every value goes through [`parse_answer`], whether it was typed at a prompt or given with
//! `--set`: an answer the prompt would refuse is refused on the command line too, with the same
//! words.

use std::io;

use dialoguer::console::Term;
use dialoguer::theme::ColorfulTheme;
use dialoguer::{Confirm, Input, Select};
use miette::Diagnostic;
use thiserror::Error;

use super::constraint::Constraint;
use super::manifest::{BUILTINS, Manifest, Rejection, VarKind, VarValue, Variable};
use super::service_name::{self, ServiceName};

/// The one validation function: reads `raw` as a value of the variable's type and checks it
/// against the variable's own constraints (rules across variables: [`Ask::variable`]).
pub fn parse_answer(variable: &Variable, raw: &str) -> Result<VarValue, Rejection> {
    let value = match &variable.kind {
        VarKind::String { .. } | VarKind::Choice { .. } => VarValue::String(raw.to_owned()),
        VarKind::Bool => VarValue::Bool(parse_bool(raw).ok_or(Rejection::NotABool)?),
        VarKind::Int { min, max } => VarValue::Int(parse_int(raw, *min, *max)?),
    };
    variable.check(&value)?;
    Ok(value)
}

/// A whole number too long for 64 bits is out of range, not "not a number".
fn parse_int(raw: &str, min: Option<i64>, max: Option<i64>) -> Result<i64, Rejection> {
    use std::num::IntErrorKind;
    raw.trim()
        .parse()
        .map_err(|err: std::num::ParseIntError| match err.kind() {
            IntErrorKind::PosOverflow => Rejection::TooLarge {
                max: max.unwrap_or(i64::MAX),
            },
            IntErrorKind::NegOverflow => Rejection::TooSmall {
                min: min.unwrap_or(i64::MIN),
            },
            _ => Rejection::NotAnInt,
        })
}

fn parse_bool(raw: &str) -> Option<bool> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "1" | "on" => Some(true),
        "false" | "no" | "n" | "0" | "off" => Some(false),
        _ => None,
    }
}

#[derive(Debug, Error, Diagnostic)]
pub enum AnswerError {
    #[error("invalid value {value:?} for `{key}`: {rejection}")]
    #[diagnostic(
        code(svc::new::invalid_value),
        help("svc new --list shows every variable with its allowed values")
    )]
    Invalid {
        key: String,
        value: String,
        rejection: Rejection,
    },
    #[error("invalid values: {broken}")]
    #[diagnostic(
        code(svc::new::invalid_value),
        help("the template requires {rule}; svc new --list shows its options and rules")
    )]
    Broken { broken: String, rule: String },
    #[error("--set {argument:?} is not KEY=VALUE")]
    #[diagnostic(code(svc::new::usage), help("for example: --set python_version=3.12"))]
    Malformed { argument: String },
    #[error("unknown variable `{key}` in --set; {known}")]
    #[diagnostic(code(svc::new::unknown_variable), help("{help}"))]
    UnknownKey {
        key: String,
        known: String,
        help: String,
    },
    #[error("`{key}` is given twice with --set")]
    #[diagnostic(code(svc::new::usage))]
    Duplicate { key: String },
    #[error("no service name given")]
    #[diagnostic(
        code(svc::new::usage),
        help(
            "pass it as the first argument, as in `svc new orders-api` (svc only prompts for it on a terminal)"
        )
    )]
    MissingName,
    #[error("cancelled; nothing was written")]
    #[diagnostic(code(svc::new::cancelled))]
    Cancelled,
    #[error("cannot read an answer from the terminal")]
    #[diagnostic(code(svc::new::io))]
    Terminal(#[source] io::Error),
}

impl From<dialoguer::Error> for AnswerError {
    fn from(err: dialoguer::Error) -> Self {
        let dialoguer::Error::IO(err) = err;
        if err.kind() == io::ErrorKind::Interrupted {
            AnswerError::Cancelled
        } else {
            AnswerError::Terminal(err)
        }
    }
}

/// Parses every `--set KEY=VALUE` against the manifest, before anything is asked.
pub fn parse_sets(
    sets: &[String],
    manifest: &Manifest,
) -> Result<Vec<(String, VarValue)>, AnswerError> {
    let mut parsed: Vec<(String, VarValue)> = Vec::new();
    for argument in sets {
        let Some((key, raw)) = argument.split_once('=') else {
            return Err(AnswerError::Malformed {
                argument: argument.clone(),
            });
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(AnswerError::Malformed {
                argument: argument.clone(),
            });
        }
        let Some(variable) = manifest.variables.iter().find(|v| v.name == key) else {
            return Err(unknown_key(key, manifest));
        };
        if parsed.iter().any(|(k, _)| k == key) {
            return Err(AnswerError::Duplicate {
                key: key.to_owned(),
            });
        }
        let value = parse_answer(variable, raw).map_err(|rejection| AnswerError::Invalid {
            key: key.to_owned(),
            value: raw.to_owned(),
            rejection,
        })?;
        parsed.push((key.to_owned(), value));
    }
    // Values given together are checked together, before anything is asked; a rule over a
    // variable with a `when` waits for `resolve`, which knows whether it applies.
    let given = |name: &str| parsed.iter().find(|(k, _)| k == name).map(|(_, v)| v);
    let conditional = |name: &str| {
        manifest
            .variables
            .iter()
            .any(|v| v.name == name && v.when.is_some())
    };
    for constraint in manifest
        .constraints
        .iter()
        .filter(|c| !c.rule.variables().any(conditional))
    {
        constraint
            .check(given)
            .map_err(|broken| AnswerError::broken(constraint, broken))?;
    }
    Ok(parsed)
}

impl AnswerError {
    fn broken(constraint: &Constraint, broken: String) -> Self {
        AnswerError::Broken {
            broken,
            rule: constraint.rule.to_string(),
        }
    }
}

fn unknown_key(key: &str, manifest: &Manifest) -> AnswerError {
    let known = if manifest.variables.is_empty() {
        format!("the {} template has no variables", manifest.name)
    } else {
        let names: Vec<&str> = manifest.variables.iter().map(|v| v.name.as_str()).collect();
        format!(
            "the {} template's variables are: {}",
            manifest.name,
            names.join(", ")
        )
    };
    let help = if key == "name" {
        "the service name is the first argument: svc new orders-api".to_owned()
    } else if BUILTINS.contains(&key) {
        format!("`{key}` is built in and cannot be set")
    } else {
        "svc new --list shows every variable with its type and allowed values".to_owned()
    };
    AnswerError::UnknownKey {
        key: key.to_owned(),
        known,
        help,
    }
}

/// The asker for a command: prompts when stdin and stderr are terminals and `--yes` was not
/// given, else the defaults. Installs the interrupt handler to match (a prompt hides the
/// cursor, which the handler shows again).
pub fn asker(yes: bool) -> Box<dyn Ask> {
    use std::io::IsTerminal;
    let interactive = !yes && io::stdin().is_terminal() && io::stderr().is_terminal();
    super::interrupt::install(interactive);
    if interactive {
        Box::new(Terminal::new())
    } else {
        Box::new(Defaults)
    }
}

/// Where answers that were not given with `--set` come from.
pub trait Ask {
    /// `package`: the template makes a Python package of the name (see [`service_name::check_package`]).
    fn service_name(&mut self, package: bool) -> Result<ServiceName, AnswerError>;
    /// Picks one of `options` (`(name, description)`); `default` is an index into them.
    fn variant(
        &mut self,
        options: &[(String, String)],
        default: usize,
    ) -> Result<usize, AnswerError>;
    /// Asks for one variable. `fits` checks a candidate against the answers so far (the
    /// template's `[[constraints]]`); a prompt asks again until it passes.
    fn variable(&mut self, variable: &Variable, fits: &Fits<'_>) -> Result<VarValue, AnswerError>;
    /// Whether `--force` may overwrite these existing files of `target` (project paths).
    fn overwrite(&mut self, target: &str, files: &[&str]) -> Result<bool, AnswerError>;
    /// Whether answers come from a person (prompts) rather than from the defaults.
    fn is_interactive(&self) -> bool;
}

/// Whether a value for the variable being asked fits the answers so far, and if not, why.
pub type Fits<'a> = dyn Fn(&VarValue) -> Result<(), String> + 'a;

/// No terminal, or `--yes`: every unanswered variable takes its default.
pub struct Defaults;

impl Ask for Defaults {
    fn service_name(&mut self, _package: bool) -> Result<ServiceName, AnswerError> {
        Err(AnswerError::MissingName)
    }

    fn variant(
        &mut self,
        _options: &[(String, String)],
        default: usize,
    ) -> Result<usize, AnswerError> {
        Ok(default)
    }

    fn variable(&mut self, variable: &Variable, _fits: &Fits<'_>) -> Result<VarValue, AnswerError> {
        // Nobody to ask again: a default that does not fit is reported by `resolve`.
        Ok(variable.default.clone())
    }

    /// `--force` without anyone to ask: that is what it means.
    fn overwrite(&mut self, _target: &str, _files: &[&str]) -> Result<bool, AnswerError> {
        Ok(true)
    }

    fn is_interactive(&self) -> bool {
        false
    }
}

/// Prompts on stderr, so stdout stays clean; each answer is validated as it is typed.
pub struct Terminal {
    term: Term,
    theme: ColorfulTheme,
}

impl Terminal {
    pub fn new() -> Self {
        Self {
            term: Term::stderr(),
            theme: ColorfulTheme::default(),
        }
    }
}

impl Default for Terminal {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        // Select hides the cursor; give it back even when a prompt was interrupted.
        let _ = self.term.show_cursor();
    }
}

impl Ask for Terminal {
    fn service_name(&mut self, package: bool) -> Result<ServiceName, AnswerError> {
        let check = |input: &str| {
            let name = service_name::parse(input)?;
            if package {
                service_name::check_package(&name)?;
            }
            Ok::<_, service_name::NameError>(name)
        };
        let raw: String = Input::with_theme(&self.theme)
            .with_prompt("Service name (a DNS label, e.g. orders-api)")
            .validate_with(|input: &String| check(input).map(drop).map_err(|err| err.to_string()))
            .interact_text_on(&self.term)?;
        Ok(check(&raw).expect("the prompt only returns validated names"))
    }

    fn variant(
        &mut self,
        options: &[(String, String)],
        default: usize,
    ) -> Result<usize, AnswerError> {
        let items: Vec<String> = options
            .iter()
            .map(|(name, description)| {
                if description.is_empty() {
                    name.clone()
                } else {
                    format!("{name} - {description}")
                }
            })
            .collect();
        Ok(Select::with_theme(&self.theme)
            .with_prompt("Template")
            .items(&items)
            .default(default)
            .interact_on(&self.term)?)
    }

    fn variable(&mut self, variable: &Variable, fits: &Fits<'_>) -> Result<VarValue, AnswerError> {
        let prompt = match &variable.help {
            Some(help) => format!("{}: {help}", variable.name),
            None => variable.name.clone(),
        };
        match (&variable.kind, &variable.default) {
            (VarKind::Bool, VarValue::Bool(default)) => loop {
                let value = VarValue::Bool(
                    Confirm::with_theme(&self.theme)
                        .with_prompt(&prompt)
                        .default(*default)
                        // A stray key must not answer: y or n, then Enter.
                        .wait_for_newline(true)
                        .interact_on(&self.term)?,
                );
                match fits(&value) {
                    Ok(()) => return Ok(value),
                    Err(why) => self.show_error(&why)?,
                }
            },
            (VarKind::Choice { choices }, VarValue::String(default)) => loop {
                let index = choices.iter().position(|c| c == default).unwrap_or(0);
                let picked = Select::with_theme(&self.theme)
                    .with_prompt(&prompt)
                    .items(choices)
                    .default(index)
                    .interact_on(&self.term)?;
                let value = VarValue::String(choices[picked].clone());
                match fits(&value) {
                    Ok(()) => return Ok(value),
                    Err(why) => self.show_error(&why)?,
                }
            },
            _ => {
                let default = variable.default.to_string();
                let raw: String = Input::with_theme(&self.theme)
                    .with_prompt(prompt)
                    // An empty default would show as "()".
                    .show_default(!default.is_empty())
                    .default(default)
                    .allow_empty(true)
                    .validate_with(|input: &String| {
                        parse_answer(variable, input)
                            .map_err(|r| r.to_string())
                            .and_then(|value| fits(&value))
                    })
                    .interact_text_on(&self.term)?;
                Ok(
                    parse_answer(variable, &raw)
                        .expect("the prompt only returns validated answers"),
                )
            }
        }
    }

    fn overwrite(&mut self, target: &str, files: &[&str]) -> Result<bool, AnswerError> {
        let mut list = format!(
            "{} in {target} would be overwritten (their content differs from the template's; \
             every other file is kept):",
            crate::plural::count(files.len(), "existing file", "existing files")
        );
        for file in files {
            list.push_str("\n    ");
            list.push_str(file);
        }
        self.term.write_line(&list).map_err(AnswerError::Terminal)?;
        Ok(Confirm::with_theme(&self.theme)
            .with_prompt("Overwrite them?")
            .default(false)
            .wait_for_newline(true)
            .interact_on(&self.term)?)
    }

    fn is_interactive(&self) -> bool {
        true
    }
}

impl Terminal {
    /// The way dialoguer shows a refused input, for prompts that take no typed text.
    fn show_error(&self, why: &str) -> Result<(), AnswerError> {
        let mut line = String::new();
        // Formatting into a String cannot fail.
        let _ = dialoguer::theme::Theme::format_error(&self.theme, &mut line, why);
        self.term.write_line(&line).map_err(AnswerError::Terminal)
    }
}

/// The value of every variable, in manifest order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answers {
    pub values: Vec<(String, VarValue)>,
    /// `--set` values that had no effect because their variable's `when` did not hold.
    pub ignored: Vec<String>,
    /// Variables that took their default without being asked, when nobody could be asked.
    pub defaulted: Vec<String>,
}

impl Answers {
    pub fn get(&self, key: &str) -> Option<&VarValue> {
        self.values.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

/// Answers every variable: a `--set` value wins, then the asker. A variable whose `when` does
/// not hold is not asked and keeps its default, so templates can still refer to it.
///
/// Each `[[constraints]]` rule is checked as soon as the last variable it names has a value,
/// wherever that value came from, so nothing is generated from answers that break one; a
/// prompt asks again instead. A rule that names a variable which does not apply is moot: the
/// option it guards is off.
pub fn resolve(
    manifest: &Manifest,
    sets: Vec<(String, VarValue)>,
    ask: &mut dyn Ask,
) -> Result<Answers, AnswerError> {
    let mut answers = Answers::default();
    let mut not_applying: Vec<&str> = Vec::new();
    for variable in &manifest.variables {
        let given = sets
            .iter()
            .find(|(k, _)| *k == variable.name)
            .map(|(_, v)| v.clone());
        let applies = variable.when.as_ref().is_none_or(
            |when| matches!(answers.get(&when.variable), Some(VarValue::Bool(b)) if when.holds(*b)),
        );
        let value = if !applies {
            if given.is_some() {
                let when = variable
                    .when
                    .as_ref()
                    .expect("only a condition can make it not apply");
                answers.ignored.push(format!(
                    "--set {} has no effect: it applies only when {when}",
                    variable.name
                ));
            }
            not_applying.push(&variable.name);
            variable.default.clone()
        } else if let Some(value) = given {
            value
        } else {
            if !ask.is_interactive() {
                answers.defaulted.push(variable.name.clone());
            }
            let fits = |candidate: &VarValue| {
                broken_by(manifest, &answers, &not_applying, &variable.name, candidate)
                    .map_or(Ok(()), |(_, broken)| Err(broken))
            };
            ask.variable(variable, &fits)?
        };
        if let Some((constraint, broken)) =
            broken_by(manifest, &answers, &not_applying, &variable.name, &value)
        {
            return Err(AnswerError::broken(constraint, broken));
        }
        answers.values.push((variable.name.clone(), value));
    }
    Ok(answers)
}

/// The first rule naming `name` that `value` breaks, given the answers before it; rules that
/// name a variable which does not apply are left out.
fn broken_by<'m>(
    manifest: &'m Manifest,
    answers: &Answers,
    not_applying: &[&str],
    name: &str,
    value: &VarValue,
) -> Option<(&'m Constraint, String)> {
    let value_of = |key: &str| {
        if key == name {
            Some(value)
        } else {
            answers.get(key)
        }
    };
    manifest
        .constraints
        .iter()
        .filter(|c| c.rule.variables().any(|v| v == name))
        .filter(|c| !c.rule.variables().any(|v| not_applying.contains(&v)))
        .find_map(|c| c.check(value_of).err().map(|broken| (c, broken)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::new::manifest;

    const MANIFEST: &str = r#"
[template]
name = "t"
version = "1"

[[variables]]
name = "python_version"
type = "choice"
default = "3.12"
choices = ["3.11", "3.12", "3.13"]

[[variables]]
name = "auth"
type = "bool"
default = false

[[variables]]
name = "issuer"
type = "string"
default = "https://auth.example.com"
pattern = "https://\\S+"
pattern_help = "an https:// URL"
when = "auth"

[[variables]]
name = "port"
type = "int"
default = 8000
min = 1
max = 65535

[[variables]]
name = "metrics_port"
type = "int"
default = 9000

[[constraints]]
rule = "metrics_port != port"
message = "the metrics need a port of their own"

[[constraints]]
rule = "issuer != 'https://retired.example'"
"#;

    fn manifest() -> Manifest {
        manifest::parse("t/template.toml", MANIFEST).unwrap()
    }

    fn sets(args: &[&str]) -> Result<Vec<(String, VarValue)>, AnswerError> {
        let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        parse_sets(&args, &manifest())
    }

    /// Answers with a fixed script, in order, as a person at a prompt would.
    struct Scripted(Vec<VarValue>, Vec<String>);

    impl Ask for Scripted {
        fn service_name(&mut self, _: bool) -> Result<ServiceName, AnswerError> {
            unreachable!()
        }
        fn overwrite(&mut self, _: &str, _: &[&str]) -> Result<bool, AnswerError> {
            unreachable!()
        }
        fn variant(&mut self, _: &[(String, String)], _: usize) -> Result<usize, AnswerError> {
            unreachable!()
        }
        /// Like a prompt: an answer that does not fit is refused, and the next one is taken.
        fn variable(
            &mut self,
            variable: &Variable,
            fits: &Fits<'_>,
        ) -> Result<VarValue, AnswerError> {
            self.1.push(variable.name.clone());
            loop {
                let value = self.0.remove(0);
                if fits(&value).is_ok() {
                    return Ok(value);
                }
            }
        }
        fn is_interactive(&self) -> bool {
            true
        }
    }

    #[test]
    fn parse_answer_reads_each_type() {
        let m = manifest();
        assert_eq!(
            parse_answer(&m.variables[0], "3.13"),
            Ok(VarValue::String("3.13".into()))
        );
        assert_eq!(
            parse_answer(&m.variables[1], "Yes"),
            Ok(VarValue::Bool(true))
        );
        assert_eq!(
            parse_answer(&m.variables[1], "off"),
            Ok(VarValue::Bool(false))
        );
        assert_eq!(
            parse_answer(&m.variables[1], "maybe"),
            Err(Rejection::NotABool)
        );
        assert_eq!(
            parse_answer(&m.variables[3], " 8080 "),
            Ok(VarValue::Int(8080))
        );
        assert_eq!(
            parse_answer(&m.variables[3], "80x"),
            Err(Rejection::NotAnInt)
        );
        assert_eq!(
            parse_answer(&m.variables[3], "70000"),
            Err(Rejection::TooLarge { max: 65535 })
        );
        assert_eq!(
            parse_answer(&m.variables[2], "http://plain"),
            Err(Rejection::PatternMismatch {
                expected: "an https:// URL".into()
            })
        );
        // Too long for 64 bits: out of range, not "not a number".
        assert_eq!(
            parse_answer(&m.variables[3], "99999999999999999999"),
            Err(Rejection::TooLarge { max: 65535 })
        );
        assert_eq!(
            parse_answer(&m.variables[3], "-99999999999999999999"),
            Err(Rejection::TooSmall { min: 1 })
        );
        assert_eq!(
            parse_answer(&m.variables[4], "99999999999999999999"),
            Err(Rejection::TooLarge { max: i64::MAX })
        );
    }

    #[test]
    fn bad_choice_names_the_key_and_allowed_values() {
        let err = sets(&["python_version=3.10"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid value \"3.10\" for `python_version`: expected one of: 3.11, 3.12, 3.13"
        );
    }

    #[test]
    fn unknown_key_lists_the_known_ones() {
        let err = sets(&["pyhton_version=3.12"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown variable `pyhton_version` in --set; the t template's variables are: python_version, auth, issuer, port, metrics_port"
        );
        let AnswerError::UnknownKey { help, .. } = sets(&["name=x"]).unwrap_err() else {
            panic!("name is not a variable");
        };
        assert!(help.contains("first argument"), "{help}");
    }

    #[test]
    fn malformed_and_duplicate_sets_are_refused() {
        assert!(matches!(
            sets(&["auth"]),
            Err(AnswerError::Malformed { .. })
        ));
        assert!(matches!(
            sets(&["=true"]),
            Err(AnswerError::Malformed { .. })
        ));
        assert!(matches!(
            sets(&["auth=true", "auth=false"]),
            Err(AnswerError::Duplicate { .. })
        ));
        // Only the first '=' separates: values may contain more.
        let parsed = sets(&["auth=true", "issuer=https://a.example/?x=1"]).unwrap();
        assert_eq!(
            parsed[1].1,
            VarValue::String("https://a.example/?x=1".into())
        );
    }

    #[test]
    fn defaults_fill_what_is_not_set() {
        let m = manifest();
        let answers = resolve(&m, sets(&["port=9001"]).unwrap(), &mut Defaults).unwrap();
        assert_eq!(
            answers.values,
            [
                ("python_version".to_owned(), VarValue::String("3.12".into())),
                ("auth".to_owned(), VarValue::Bool(false)),
                (
                    "issuer".to_owned(),
                    VarValue::String("https://auth.example.com".into())
                ),
                ("port".to_owned(), VarValue::Int(9001)),
                ("metrics_port".to_owned(), VarValue::Int(9000)),
            ]
        );
        // `issuer` is not asked (auth is false), so it is not "defaulted" either.
        assert_eq!(
            answers.defaulted,
            ["python_version", "auth", "metrics_port"]
        );
    }

    #[test]
    fn when_skips_the_question_and_ignores_its_set() {
        let m = manifest();
        let mut ask = Scripted(
            vec![
                VarValue::String("3.11".into()),
                VarValue::Int(1),
                VarValue::Int(9000),
            ],
            Vec::new(),
        );
        let answers = resolve(
            &m,
            sets(&["auth=false", "issuer=https://x"]).unwrap(),
            &mut ask,
        )
        .unwrap();
        assert_eq!(ask.1, ["python_version", "port", "metrics_port"]);
        assert_eq!(
            answers.get("issuer"),
            Some(&VarValue::String("https://auth.example.com".into()))
        );
        assert_eq!(answers.ignored.len(), 1);
        assert!(
            answers.ignored[0].contains("only when auth"),
            "{:?}",
            answers.ignored
        );
    }

    #[test]
    fn when_asks_the_dependent_question_once_it_holds() {
        let m = manifest();
        let mut ask = Scripted(
            vec![
                VarValue::String("3.12".into()),
                VarValue::Bool(true),
                VarValue::String("https://id".into()),
                VarValue::Int(80),
                VarValue::Int(9000),
            ],
            Vec::new(),
        );
        let answers = resolve(&m, Vec::new(), &mut ask).unwrap();
        assert_eq!(
            ask.1,
            ["python_version", "auth", "issuer", "port", "metrics_port"]
        );
        assert_eq!(
            answers.get("issuer"),
            Some(&VarValue::String("https://id".into()))
        );
        assert!(answers.defaulted.is_empty());
    }

    #[test]
    fn constraints_between_sets_are_checked_before_anything_is_asked() {
        let err = sets(&["port=9100", "metrics_port=9100"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid values: the metrics need a port of their own (metrics_port = 9100, port = 9100)"
        );
        let AnswerError::Broken { rule, .. } = err else {
            panic!("a broken rule");
        };
        assert_eq!(rule, "metrics_port != port");
        // One side given: nothing to compare yet.
        assert!(sets(&["metrics_port=8000"]).is_ok());
    }

    #[test]
    fn a_default_that_breaks_a_rule_with_a_set_value_is_an_error() {
        let err = resolve(&manifest(), sets(&["port=9000"]).unwrap(), &mut Defaults).unwrap_err();
        assert!(
            matches!(&err, AnswerError::Broken { broken, .. } if broken.contains("(metrics_port = 9000, port = 9000)")),
            "{err}"
        );
    }

    #[test]
    fn a_prompt_asks_again_until_the_answer_fits_the_rules() {
        let mut ask = Scripted(
            vec![
                VarValue::String("3.12".into()),
                VarValue::Bool(false),
                VarValue::Int(8080),
                // Refused: the same as port. Then accepted.
                VarValue::Int(8080),
                VarValue::Int(9090),
            ],
            Vec::new(),
        );
        let answers = resolve(&manifest(), Vec::new(), &mut ask).unwrap();
        assert_eq!(answers.get("metrics_port"), Some(&VarValue::Int(9090)));
        assert!(ask.0.is_empty());
    }

    #[test]
    fn a_rule_over_a_variable_that_does_not_apply_is_moot() {
        let retired = "issuer=https://retired.example";
        // auth is false: issuer keeps its default, and its rule does not apply either.
        let answers = resolve(
            &manifest(),
            sets(&["auth=false", retired]).unwrap(),
            &mut Defaults,
        )
        .unwrap();
        assert_eq!(answers.ignored.len(), 1);
        // auth is true: issuer applies and so does its rule.
        let err = resolve(
            &manifest(),
            sets(&["auth=true", retired]).unwrap(),
            &mut Defaults,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid values: `issuer` must be different from \"https://retired.example\" \
             (issuer = \"https://retired.example\")"
        );
    }
}
