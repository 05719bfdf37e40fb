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

use super::manifest::{BUILTINS, Kind, Manifest, Rejection, Value, Variable};
use super::name::{self, ServiceName};

/// The one validation function: reads `raw` as a value of the variable's type and checks it
/// against the variable's constraints.
pub fn parse_answer(variable: &Variable, raw: &str) -> Result<Value, Rejection> {
    let value = match &variable.kind {
        Kind::String { .. } | Kind::Choice { .. } => Value::String(raw.to_owned()),
        Kind::Bool => Value::Bool(parse_bool(raw).ok_or(Rejection::NotABool)?),
        Kind::Int { .. } => Value::Int(raw.trim().parse().map_err(|_| Rejection::NotAnInt)?),
    };
    variable.check(&value)?;
    Ok(value)
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
) -> Result<Vec<(String, Value)>, AnswerError> {
    let mut parsed: Vec<(String, Value)> = Vec::new();
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
    Ok(parsed)
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

/// Where answers that were not given with `--set` come from.
pub trait Ask {
    /// `package`: the template makes a Python package of the name (see [`name::check_package`]).
    fn service_name(&mut self, package: bool) -> Result<ServiceName, AnswerError>;
    /// Picks one of `options` (`(name, description)`); `default` is an index into them.
    fn variant(
        &mut self,
        options: &[(String, String)],
        default: usize,
    ) -> Result<usize, AnswerError>;
    fn variable(&mut self, variable: &Variable) -> Result<Value, AnswerError>;
    /// Whether `--force` may overwrite these existing files of `target` (project paths).
    fn overwrite(&mut self, target: &str, files: &[&str]) -> Result<bool, AnswerError>;
    /// Whether answers come from a person (prompts) rather than from the defaults.
    fn is_interactive(&self) -> bool;
}

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

    fn variable(&mut self, variable: &Variable) -> Result<Value, AnswerError> {
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
            let name = name::parse(input)?;
            if package {
                name::check_package(&name)?;
            }
            Ok::<_, name::NameError>(name)
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

    fn variable(&mut self, variable: &Variable) -> Result<Value, AnswerError> {
        let prompt = match &variable.help {
            Some(help) => format!("{}: {help}", variable.name),
            None => variable.name.clone(),
        };
        match (&variable.kind, &variable.default) {
            (Kind::Bool, Value::Bool(default)) => Ok(Value::Bool(
                Confirm::with_theme(&self.theme)
                    .with_prompt(prompt)
                    .default(*default)
                    // A stray key must not answer: y or n, then Enter.
                    .wait_for_newline(true)
                    .interact_on(&self.term)?,
            )),
            (Kind::Choice { choices }, Value::String(default)) => {
                let index = choices.iter().position(|c| c == default).unwrap_or(0);
                let picked = Select::with_theme(&self.theme)
                    .with_prompt(prompt)
                    .items(choices)
                    .default(index)
                    .interact_on(&self.term)?;
                Ok(Value::String(choices[picked].clone()))
            }
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
                            .map(drop)
                            .map_err(|r| r.to_string())
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

/// The value of every variable, in manifest order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answers {
    pub values: Vec<(String, Value)>,
    /// `--set` values that had no effect because their variable's `when` did not hold.
    pub ignored: Vec<String>,
    /// Variables that took their default without being asked, when nobody could be asked.
    pub defaulted: Vec<String>,
}

impl Answers {
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.values.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

/// Answers every variable: a `--set` value wins, then the asker. A variable whose `when` does
/// not hold is not asked and keeps its default, so templates can still refer to it.
pub fn resolve(
    manifest: &Manifest,
    sets: Vec<(String, Value)>,
    ask: &mut dyn Ask,
) -> Result<Answers, AnswerError> {
    let mut answers = Answers::default();
    for variable in &manifest.variables {
        let given = sets
            .iter()
            .find(|(k, _)| *k == variable.name)
            .map(|(_, v)| v.clone());
        let applies = variable.when.as_ref().is_none_or(
            |when| matches!(answers.get(&when.variable), Some(Value::Bool(b)) if when.holds(*b)),
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
            variable.default.clone()
        } else if let Some(value) = given {
            value
        } else {
            if !ask.is_interactive() {
                answers.defaulted.push(variable.name.clone());
            }
            ask.variable(variable)?
        };
        answers.values.push((variable.name.clone(), value));
    }
    Ok(answers)
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
when = "auth"

[[variables]]
name = "port"
type = "int"
default = 8000
min = 1
max = 65535
"#;

    fn manifest() -> Manifest {
        manifest::parse("t/template.toml", MANIFEST).unwrap()
    }

    fn sets(args: &[&str]) -> Result<Vec<(String, Value)>, AnswerError> {
        let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        parse_sets(&args, &manifest())
    }

    /// Answers with a fixed script, in order, as a person at a prompt would.
    struct Scripted(Vec<Value>, Vec<String>);

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
        fn variable(&mut self, variable: &Variable) -> Result<Value, AnswerError> {
            self.1.push(variable.name.clone());
            Ok(self.0.remove(0))
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
            Ok(Value::String("3.13".into()))
        );
        assert_eq!(parse_answer(&m.variables[1], "Yes"), Ok(Value::Bool(true)));
        assert_eq!(parse_answer(&m.variables[1], "off"), Ok(Value::Bool(false)));
        assert_eq!(
            parse_answer(&m.variables[1], "maybe"),
            Err(Rejection::NotABool)
        );
        assert_eq!(
            parse_answer(&m.variables[3], " 8080 "),
            Ok(Value::Int(8080))
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
                pattern: "https://\\S+".into()
            })
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
            "unknown variable `pyhton_version` in --set; the t template's variables are: python_version, auth, issuer, port"
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
        assert_eq!(parsed[1].1, Value::String("https://a.example/?x=1".into()));
    }

    #[test]
    fn defaults_fill_what_is_not_set() {
        let m = manifest();
        let answers = resolve(&m, sets(&["port=9000"]).unwrap(), &mut Defaults).unwrap();
        assert_eq!(
            answers.values,
            [
                ("python_version".to_owned(), Value::String("3.12".into())),
                ("auth".to_owned(), Value::Bool(false)),
                (
                    "issuer".to_owned(),
                    Value::String("https://auth.example.com".into())
                ),
                ("port".to_owned(), Value::Int(9000)),
            ]
        );
        // `issuer` is not asked (auth is false), so it is not "defaulted" either.
        assert_eq!(answers.defaulted, ["python_version", "auth"]);
    }

    #[test]
    fn when_skips_the_question_and_ignores_its_set() {
        let m = manifest();
        let mut ask = Scripted(
            vec![Value::String("3.11".into()), Value::Int(1)],
            Vec::new(),
        );
        let answers = resolve(
            &m,
            sets(&["auth=false", "issuer=https://x"]).unwrap(),
            &mut ask,
        )
        .unwrap();
        assert_eq!(ask.1, ["python_version", "port"]);
        assert_eq!(
            answers.get("issuer"),
            Some(&Value::String("https://auth.example.com".into()))
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
                Value::String("3.12".into()),
                Value::Bool(true),
                Value::String("https://id".into()),
                Value::Int(80),
            ],
            Vec::new(),
        );
        let answers = resolve(&m, Vec::new(), &mut ask).unwrap();
        assert_eq!(ask.1, ["python_version", "auth", "issuer", "port"]);
        assert_eq!(
            answers.get("issuer"),
            Some(&Value::String("https://id".into()))
        );
        assert!(answers.defaulted.is_empty());
    }
}
