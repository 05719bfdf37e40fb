//! The one tera setup that renders everything of a template: its `.tera` files, `[derived]`
//! values, `[[conditional]]` paths and `{{ }}` file names.
//!
//! - A generated project depends on the template and the answers only. Tera registers
//!   `get_env`, `now` and `get_random` in every instance (`Tera::one_off` builds a fresh one
//!   too), and `get_env` would copy any environment variable (a CI secret) into a file that is
//!   then committed; `now` and `get_random` defeat `SOURCE_DATE_EPOCH` (the `year` built-in is
//!   the clock a template gets). Each is replaced by a function that fails and names itself.
//! - `yaml_str` quotes a value as a YAML double-quoted scalar, so an answer cannot change the
//!   structure or type of the YAML it lands in (`a: b`, `!Sub …`, `yes`, `x #y`).
//! - Autoescape is off: templates produce Python, TOML and YAML, not HTML.
//! - Every template text is checked for nesting before tera parses it (see [`super::nesting`]),
//!   and for recursion before it renders (see [`super::recursion`]).
//! - Tera panics on some templates it parses (a macro call inside arithmetic reaches an
//!   `unreachable!`); templates come from users' `--template` directories, so every call into
//!   tera goes through [`guarded`], which turns a panic into an error naming the file.

use std::cell::Cell;
use std::collections::HashMap;
use std::panic::{self, AssertUnwindSafe};

use tera::{Context, Tera, Value};

use super::nesting;
use super::recursion::{self, Recursion};

/// Tera functions a template cannot call, and what to use instead.
pub const UNAVAILABLE_FUNCTIONS: &[(&str, &str)] = &[
    (
        "get_env",
        "declare a variable and pass the value with --set KEY=VALUE",
    ),
    (
        "now",
        "use the `year` built-in (pinned by SOURCE_DATE_EPOCH)",
    ),
    ("get_random", "declare a variable with a default"),
];

/// Starts the message of a call to one of [`UNAVAILABLE_FUNCTIONS`]; `help` recognises it.
pub const UNAVAILABLE: &str = "is not available in svc templates";

/// What a one-off template (a derived value, a pattern, a name) is called in tera's errors.
pub const ONE_OFF: &str = "__tera_one_off";

/// An empty tera with svc's functions and filters.
pub fn tera() -> Tera {
    let mut tera = Tera::default();
    tera.autoescape_on(Vec::new());
    for (name, _) in UNAVAILABLE_FUNCTIONS {
        tera.register_function(name, move |_: &HashMap<String, Value>| {
            Err(tera::Error::msg(format!(
                "`{name}()` {UNAVAILABLE}: generated files depend only on the template and \
                 the answers, not on the environment, the clock or chance"
            )))
        });
    }
    tera.register_filter("yaml_str", yaml_str);
    tera
}

/// Renders a single template string, as [`Tera::one_off`] does but with [`tera`]'s setup.
pub fn render_one_off(text: &str, context: &Context) -> tera::Result<String> {
    nesting::check(text).map_err(|deep| tera::Error::msg(deep.to_string()))?;
    let template = guarded(|| tera::Template::new(ONE_OFF, None, text))?;
    recursion::check(std::slice::from_ref(&template))
        .map_err(|recursion: Recursion| tera::Error::msg(recursion.to_string()))?;
    guarded(|| tera().render_str(text, context))
}

/// Starts the message of the error [`guarded`] makes of a panic.
pub const TERA_PANIC: &str = "tera failed on this template";

thread_local! {
    /// Set while [`guarded`] runs: its panics are reported as errors, not printed.
    static IN_TERA: Cell<bool> = const { Cell::new(false) };
}

/// Runs a call into tera; a panic in it becomes an error (the panic message is kept, the
/// default hook's "thread 'main' panicked" is not printed). Stack overflows are not panics:
/// [`nesting`] and [`recursion`] keep templates away from them.
pub fn guarded<T>(call: impl FnOnce() -> tera::Result<T>) -> tera::Result<T> {
    static QUIET_HOOK: std::sync::Once = std::sync::Once::new();
    QUIET_HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !IN_TERA.with(Cell::get) {
                previous(info);
            }
        }));
    });
    let outer = IN_TERA.with(|flag| flag.replace(true));
    let result = panic::catch_unwind(AssertUnwindSafe(call));
    IN_TERA.with(|flag| flag.set(outer));
    result.unwrap_or_else(|payload| {
        let reason = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".to_owned());
        Err(tera::Error::msg(format!("{TERA_PANIC} ({reason})")))
    })
}

/// `{{ description | yaml_str }}`: a YAML double-quoted scalar that reads back as exactly the
/// value. Numbers and booleans are quoted as their text, so they stay strings.
fn yaml_str(value: &Value, _: &HashMap<String, Value>) -> tera::Result<Value> {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null | Value::Array(_) | Value::Object(_) => {
            return Err(tera::Error::msg(
                "yaml_str quotes a string, number or boolean, not a list, map or null",
            ));
        }
    };
    Ok(Value::String(yaml_double_quoted(&text)))
}

/// Escapes what YAML 1.1 and 1.2 give a meaning inside double quotes, every character outside
/// YAML's printable set, and the characters some parsers take as line breaks.
pub fn yaml_double_quoted(text: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("\\0"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\x0b' => out.push_str("\\v"),
            '\x0c' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '\x1b' => out.push_str("\\e"),
            '\u{85}' => out.push_str("\\N"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            '\0'..='\x1f' | '\x7f'..='\u{9f}' => {
                let _ = write!(out, "\\x{:02X}", u32::from(c));
            }
            '\u{feff}' | '\u{fffe}' | '\u{ffff}' => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// What to use instead of the function an error says is unavailable.
pub fn unavailable_function_help(error_text: &str) -> Option<String> {
    UNAVAILABLE_FUNCTIONS
        .iter()
        .find(|(name, _)| error_text.contains(&format!("`{name}()` {UNAVAILABLE}")))
        .map(|(_, instead)| (*instead).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::new::render::chain;

    fn render(text: &str) -> tera::Result<String> {
        let mut context = Context::new();
        context.insert("v", "a: b");
        render_one_off(text, &context)
    }

    #[test]
    fn environment_clock_and_randomness_are_unavailable() {
        for call in [
            "{{ get_env(name=\"HOME\") }}",
            "{{ get_env(name=\"NOPE\", default=\"x\") }}",
            "{{ now() }}",
            "{{ get_random(end=10) }}",
        ] {
            let err = render(call).unwrap_err();
            let text = chain(&err);
            let name = call[3..].split('(').next().unwrap();
            assert!(
                text.contains(&format!("`{name}()` {UNAVAILABLE}")),
                "{call}: {text}"
            );
        }
        // What stays: range and throw are pure.
        assert_eq!(
            render("{{ range(end=3) | join(sep=\",\") }}").unwrap(),
            "0,1,2"
        );
    }

    #[test]
    fn yaml_str_escapes_what_yaml_would_read_otherwise() {
        assert_eq!(render("{{ v | yaml_str }}").unwrap(), "\"a: b\"");
        assert_eq!(
            yaml_double_quoted("say \"hi\" \\o/"),
            r#""say \"hi\" \\o/""#
        );
        assert_eq!(
            yaml_double_quoted("a\rb\x01\x0b\x0c\x1b\x7f\t\n\u{85}\u{2028}\u{feff}é"),
            r#""a\rb\x01\v\f\e\x7F\t\n\N\L\uFEFFé""#
        );
        assert_eq!(yaml_double_quoted(""), "\"\"");
        assert_eq!(render("{{ 123 | yaml_str }}").unwrap(), "\"123\"");
        assert_eq!(render("{{ true | yaml_str }}").unwrap(), "\"true\"");
        assert!(render("{{ [1] | yaml_str }}").is_err());
    }

    /// Every character up to U+3000, and the planes' edges, read back by a YAML parser.
    #[test]
    fn yaml_double_quoted_reads_back_as_the_same_text() {
        use crate::audit::artefact::yaml;

        let mut text: String = (0..0x3000u32).filter_map(char::from_u32).collect();
        text.extend([
            '\u{fffd}',
            '\u{fffe}',
            '\u{ffff}',
            '\u{10000}',
            '\u{10ffff}',
        ]);
        for sample in [text.as_str(), "a: b", "- x", "'", "#", " lead and trail "] {
            let document = format!("key: {}\n", yaml_double_quoted(sample));
            let parsed = yaml::parse(&document).unwrap_or_else(|e| panic!("{e:?}"));
            let node = parsed[0].get("key").unwrap();
            assert!(node.tag.is_none());
            assert_eq!(
                node.value,
                yaml::Value::Scalar {
                    text: sample.to_owned(),
                    plain: false
                }
            );
        }
    }
}
