//! AU003 `hardcoded-secret`: a string literal assigned to a secret-like name.

use ruff_text_size::TextRange;

use rustc_hash::FxHashSet as HashSet;

use crate::audit::model::Symbol;
use crate::audit::model::code::{CompareOp, Name};
use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "AU003",
    name: "hardcoded-secret",
    principle: Principle::P3,
    severity: Severity::Error,
    kinds: ALL_KINDS,
    reach: Reach::AllCode,
    help: "read the secret from the environment or a secret store (a BaseSettings field with no default, typed SecretStr)",
    doc: r#"## What it does
Reports a non-empty string literal used as a secret in code that is not a test:
- assigned to a name (module, class or function level, `self.x = ...` too) whose last words
  are a secret word: `secret`, `secret_key`, `password`, `passwd`, `pwd`, `token`, `api_key`,
  `apikey`, `access_key`, `private_key`, `client_secret`, `auth_token`, `jwt_secret`,
  `signing_key` (`SECRET_KEY`, `db_password`, `GITHUB_TOKEN`, `apiKey`);
- as the default of such a `BaseSettings` field (also through `Field("...")` or
  `SecretStr("...")`) or function parameter;
- passed as such a keyword argument (`redis.Redis(password="hunter2")`);
- the fallback of a secret environment variable: `os.getenv("JWT_SECRET", "dev-secret")`,
  `os.environ.get("API_KEY", "k-123")`, `os.environ.get("API_KEY") or "k-123"`, and the
  same through a settings helper whose getter names the variable (`confi.str("WS_TOKEN",
  "DEV_SECRET")`, environs' `env.str("SECRET_KEY", default="...")`, decouple's or
  Starlette's `config("SECRET_KEY", default="...")`). A fallback is a value, so one spelled
  like a variable name (`"THIS_IS_A_DEV_SECRET"`) is reported too.

Names that only mention a secret (`token_url`, `password_field`, `secret_name`,
`api_key_header`) do not match, and neither do values that are clearly not secrets: an
environment variable name (`"SECRET_KEY"`), a path or URL, `"bearer"`, text with spaces, a
value equal to the secret word itself (`GRANT_TYPE_PASSWORD = "password"`), a key name
(`TOKEN_KEY = "access_token"`), a header name (`API_KEY = "X-API-Key"`), a placeholder that
cannot work as a value (`"<your-api-key>"`, `"${API_KEY}"`, `"xxxx"`), a key or token
spelled as a stand-in for a provider that needs none (`api_key = "sk-placeholder"`,
`api_key="dummy"`, `"EMPTY"`, or the whole key a local server documents: `"ollama"`,
`"lm-studio"`; a stand-in password or signing secret is still reported, since
it works as one, and so is a stand-in environment fallback), or a member of an
`Enum` (`username_and_password = "username-password"` names a sign-in method), or a value
that spells its own name or its end (`_USER_API_KEY = "UserApiKey"`, a GraphQL type;
`REASON_MISSING_SECRET = "missing_secret"`, a reason code). Values such as
`"changeme"` are reported: a default that works is a secret that ships.

A module-level constant that the service's code refuses is not reported: an `if` / `elif`
test comparing a value with it (`==`, or `in` a list of such constants) whose branch raises
(`if password == LEGACY_DEFAULT_PASSWORD: raise ...`). That is a known-bad value kept to
turn it away (an old default, a leaked key), not a credential in use. A check that raises
when the value differs (`if key != API_KEY: raise`) accepts the constant, so it stays
reported, and so does a refusal written as a call (`if hmac.compare_digest(...)`).

## Why is this bad?
A secret in the source is in every clone, fork, CI log, container image and backup of the
repository, and cannot be rotated without a release. A default secret in settings silently
becomes the production secret whenever the variable is missing, and with a known JWT signing
key anyone can mint tokens.

## Example
```python
class Settings(BaseSettings):
    jwt_secret: str = "dev-secret"

SECRET_KEY = "s3cr3t"
cache = redis.Redis(host="cache", password="hunter2")
```

## How to fix
```python
class Settings(BaseSettings):
    jwt_secret: SecretStr          # required: startup fails when it is missing
    redis_password: SecretStr

cache = redis.Redis(host="cache", password=settings.redis_password.get_secret_value())
```
"#,
    check,
};

/// Secret words, as the trailing `_`-separated words of a name.
const SECRET_WORDS: &[&str] = &[
    "secret",
    "secret_key",
    "password",
    "passwd",
    "pwd",
    "token",
    "api_key",
    "apikey",
    "access_key",
    "private_key",
    "client_secret",
    "auth_token",
    "jwt_secret",
    "signing_key",
];

/// Wrappers whose first argument is the value: `Field("x")`, `SecretStr("x")`.
const WRAPPERS: &[&str] = &["Field", "SecretStr", "SecretBytes"];

fn check(cx: &Context, sink: &mut Sink) {
    let refused = refused_constants(cx);
    for (file, source, code) in cx.code_files() {
        if source.is_test() {
            continue;
        }
        // The value's shape is checked first: it is cheaper than the name's.
        for a in &code.assigns {
            if let Value::Either(options) = &a.value
                && let Some((env, fallback)) = environment_or_literal(options)
            {
                sink.report(
                    Loc {
                        file,
                        range: a.value_range,
                    },
                    format!(
                        "hard-coded fallback `{fallback}` for secret environment variable `{env}`: it becomes the secret wherever the variable is missing"
                    ),
                );
                continue;
            }
            if !matches!(a.value, Value::Str(_) | Value::Call(_)) {
                continue;
            }
            let Some(word) = secret_word(&a.target) else {
                continue;
            };
            // `class AuthMethods(Enum): username_and_password = "username-password"` names
            // a choice, not a credential.
            if a.class.as_deref().is_some_and(|c| is_enum_class(code, c)) {
                continue;
            }
            // A known-bad value the service turns away (an old shipped default password):
            // a denylist entry, not a credential in use.
            if a.scope == Scope::Module && refused.contains(&(file, a.target.clone())) {
                continue;
            }
            let (value, range) = match &a.value {
                Value::Str(s) => (&**s, a.value_range),
                Value::Call(c) => match wrapped_literal(code, c.range) {
                    Some(found) => found,
                    None => continue,
                },
                _ => continue,
            };
            if !is_secret_value(value, &a.target, word) {
                continue;
            }
            let message = match &a.class {
                Some(class) => {
                    format!("hard-coded default for secret field `{class}.{}`", a.target)
                }
                None => format!("hard-coded secret assigned to `{}`", a.target),
            };
            sink.report(Loc { file, range }, message);
        }
        for a in &code.attr_assigns {
            let name = a.target.last();
            if let Value::Str(s) = &a.value
                && let Some(word) = secret_word(name)
                && is_secret_value(s, name, word)
            {
                sink.report(
                    Loc {
                        file,
                        range: a.range,
                    },
                    format!(
                        "hard-coded secret assigned to `{}`",
                        a.target
                            .path
                            .strip_prefix(&*code.module)
                            .and_then(|p| p.strip_prefix('.'))
                            .unwrap_or(&a.target.path)
                    ),
                );
            }
        }
        for f in &code.functions {
            for p in &f.params {
                if let Some(Value::Str(s)) = &p.default
                    && let Some(word) = secret_word(&p.name)
                    && is_secret_value(s, &p.name, word)
                {
                    sink.report(
                        Loc {
                            file,
                            range: p.range,
                        },
                        format!(
                            "hard-coded default for secret parameter `{}` of `{}`",
                            p.name, f.name
                        ),
                    );
                }
            }
        }
        for call in &code.calls {
            if let Some((word, env, value, range)) = environment_default(call)
                && is_secret_fallback(value, env, word)
            {
                sink.report(
                    Loc { file, range },
                    format!(
                        "hard-coded fallback for secret environment variable `{env}`: it becomes the secret wherever the variable is missing"
                    ),
                );
            }
            for k in &call.kwargs {
                if let Value::Str(s) = &k.value
                    && let Some(word) = secret_word(&k.name)
                    && is_secret_value(s, &k.name, word)
                {
                    sink.report(
                        Loc {
                            file,
                            range: k.range,
                        },
                        format!(
                            "hard-coded secret passed as `{}=` to `{}`",
                            k.name,
                            call.callee.last()
                        ),
                    );
                }
            }
        }
    }
}

/// Module-level constants (file, name) that some branch of the service's code refuses on
/// sight: `if password == LEGACY_DEFAULT_PASSWORD: raise ...`, or `in (A, B)` with the
/// constant among the listed values. A service does not raise when it meets the credential it
/// authenticates with, so such a constant is a known-bad value kept to reject it. A check that
/// raises when the value differs (`if key != API_KEY: raise`) accepts the constant: it is a
/// credential and stays reported.
fn refused_constants(cx: &Context) -> HashSet<(FileId, Name)> {
    let mut out = HashSet::default();
    let Some(service) = cx.service else {
        return out;
    };
    for (_, source, code) in cx.code_files() {
        if source.is_test() {
            continue;
        }
        for t in code.branch_tests.iter().filter(|t| t.body_raises) {
            let candidates: Vec<&Value> = match t.op {
                CompareOp::Eq => t.operands().to_vec(),
                CompareOp::In => match t.right.elements() {
                    Some(items) => items.iter().collect(),
                    None => vec![&t.right],
                },
                CompareOp::NotEq | CompareOp::NotIn | CompareOp::IsNone => {
                    continue;
                }
            };
            for r in candidates.into_iter().filter_map(Value::as_name) {
                if let Some(Symbol::Assign { file, index }) = cx.project.resolve(service, r)
                    && let Some(assign) = cx.project.code(file).map(|c| &c.assigns[index as usize])
                    && assign.scope == Scope::Module
                {
                    out.insert((file, assign.target.clone()));
                }
            }
        }
    }
    out
}

/// `os.getenv("JWT_SECRET", "dev")` / `os.environ.get("JWT_SECRET", "dev")`: the secret word,
/// the variable's name, the fallback and the fallback's range.
fn environment_default(call: &Call) -> Option<(&'static str, &str, &str, TextRange)> {
    // Settings helpers (`confi.str("WS_TOKEN", "dev")`, environs' `env.str(...)`,
    // decouple's and Starlette's `config("SECRET_KEY", default=...)`) read the environment
    // the way `os.getenv` does; without knowing each library, the call is one when its
    // name is a getter's and it names an environment variable.
    let settings_helper = !call.callee.is_any(ENV_GETTERS);
    if settings_helper && !SETTINGS_GETTERS.contains(&call.callee.last()) {
        return None;
    }
    let env = call.args.first()?.value.as_str()?;
    if settings_helper && !is_env_name(env) {
        return None;
    }
    let word = secret_word(env)?;
    let (value, range) = match call.args.get(1) {
        Some(a) => (a.value.as_str()?, a.range),
        None => {
            let k = call.kwarg("default")?;
            (k.value.as_str()?, k.range)
        }
    };
    Some((word, env, value, range))
}

/// `os.environ.get("JWT_SECRET") or "dev"`: the variable's name and the literal fallback.
fn environment_or_literal(options: &[Value]) -> Option<(&str, &str)> {
    let env = options.iter().find_map(|v| {
        let c = v.as_call()?;
        if !c.callee.is_any(ENV_GETTERS) {
            return None;
        }
        let name = c.args.first()?.as_str()?;
        secret_word(name).map(|w| (name, w))
    })?;
    let fallback = options
        .iter()
        .find_map(|v| v.as_str().filter(|s| is_secret_fallback(s, env.0, env.1)))?;
    Some((env.0, fallback))
}

const ENV_GETTERS: &[&str] = &["os.getenv", "os.environ.get", "os.environ.setdefault"];

/// Names of settings helpers' getters: `confi.str`, `env.str`, `config(...)`, `env(...)`.
const SETTINGS_GETTERS: &[&str] = &["str", "get", "getenv", "config", "env", "secret"];

/// `JWT_SECRET`, `OPAL_WS_TOKEN`: how environment variables are named.
fn is_env_name(s: &str) -> bool {
    !s.is_empty()
        && s.as_bytes()[0].is_ascii_uppercase()
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// A class of this file whose bases make it an enumeration.
fn is_enum_class(code: &CodeFile, name: &str) -> bool {
    code.classes.iter().any(|c| {
        *c.name == *name
            && c.bases.iter().any(|b| {
                b.in_module("enum") || matches!(b.last(), "Enum" | "StrEnum" | "IntEnum" | "Flag")
            })
    })
}

/// The literal inside `Field("x")` / `Field(default="x")` / `SecretStr("x")` at `range`.
fn wrapped_literal(code: &CodeFile, range: TextRange) -> Option<(&str, TextRange)> {
    let call = code.calls.iter().find(|c| c.range == range)?;
    if !WRAPPERS.contains(&call.callee.last()) {
        return None;
    }
    if let Some(k) = call.kwarg("default") {
        return k.value.as_str().map(|s| (s, k.range));
    }
    let first = call.args.first()?;
    first.value.as_str().map(|s| (s, first.range))
}

/// The secret word `name` ends with, if any (`db_password` -> `password`).
pub(crate) fn secret_word(name: &str) -> Option<&'static str> {
    // Every secret word ends with one of these: most names are ruled out without building
    // their snake_case form (an underscore it adds never falls inside one of them).
    const ENDINGS: &[&str] = &["secret", "key", "password", "passwd", "pwd", "token"];
    let bytes = name.as_bytes();
    let may_be_secret = ENDINGS.iter().any(|e| {
        bytes.len() >= e.len() && bytes[bytes.len() - e.len()..].eq_ignore_ascii_case(e.as_bytes())
    });
    if !may_be_secret {
        return None;
    }
    let snake = snake_case(name);
    SECRET_WORDS.iter().copied().find(|w| {
        snake == *w
            || snake
                .strip_suffix(w)
                .is_some_and(|head| head.ends_with('_'))
    })
}

/// `apiKey` -> `api_key`, `SECRET_KEY` -> `secret_key`, `_password` -> `password`.
fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    let mut prev_lower = false;
    for c in name.trim_start_matches('_').chars() {
        if c.is_ascii_uppercase() && prev_lower {
            out.push('_');
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// False for values that are clearly not a secret.
pub(crate) fn is_secret_value(value: &str, name: &str, word: &str) -> bool {
    secret_value(value, name, word, true)
}

/// `api_key = "sk-placeholder"`, `api_key="dummy"`, `api_key="EMPTY"`, `api_key="ollama"`:
/// a key the service
/// presents to a provider that needs none (a local OpenAI-compatible server), spelled as a
/// stand-in. It unlocks nothing, so it is no secret. Only keys and tokens qualify, and only
/// as a literal value: a stand-in password or signing secret (`SECRET_KEY = "dummy"`) still
/// works as one, and so does an environment fallback (`os.getenv("API_TOKEN", "dummy")`).
fn is_stand_in_key(value: &str, word: &str) -> bool {
    const KEY_WORDS: &[&str] = &["token", "api_key", "apikey", "access_key", "auth_token"];
    const STAND_INS: &[&str] = &["placeholder", "dummy", "fake", "empty", "unused", "none"];
    // The whole key a local OpenAI-compatible server documents for clients that must send
    // one (Ollama: "required, but unused"; LM Studio): the server checks nothing.
    const LOCAL_SERVER_KEYS: &[&str] = &["ollama", "lm-studio", "lmstudio"];
    KEY_WORDS.contains(&word)
        && (value
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|w| STAND_INS.iter().any(|s| w.eq_ignore_ascii_case(s)))
            || LOCAL_SERVER_KEYS
                .iter()
                .any(|k| value.eq_ignore_ascii_case(k)))
}

/// A secret variable's fallback value: the value itself, so one that reads like an
/// environment variable name (`"THIS_IS_A_DEV_SECRET"`) is a secret too.
fn is_secret_fallback(value: &str, name: &str, word: &str) -> bool {
    secret_value(value, name, word, false)
}

/// A value that spells its own name, or the end of it, is a label: a GraphQL type name
/// (`_USER_API_KEY = "UserApiKey"`), a reason code (`REASON_MISSING_SECRET =
/// "missing_secret"`).
fn spells_own_name(value: &str, name: &str) -> bool {
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return false;
    }
    let (v, n) = (snake_case(value), snake_case(name));
    n == v
        || n.strip_suffix(v.as_str())
            .is_some_and(|head| head.ends_with('_'))
}

fn secret_value(value: &str, name: &str, word: &str, may_name_a_variable: bool) -> bool {
    let v = value.trim();
    if v.is_empty()
        || !v.chars().any(|c| c.is_ascii_alphanumeric())
        || v.chars().any(char::is_whitespace)
        || v.starts_with('/')
        || v.contains("://")
        || v.eq_ignore_ascii_case("bearer")
        || v.eq_ignore_ascii_case(word)
        || v.eq_ignore_ascii_case(name)
        || spells_own_name(v, name)
    {
        return false;
    }
    // An environment variable's name (`"DB_PASSWORD"`), read elsewhere.
    let env_name = may_name_a_variable
        && v.contains('_')
        && v.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    // A key under which a secret is stored (`"access_token"`, `"client_secret"`): lower-case
    // words around a secret word.
    let key_name = v.contains('_')
        && secret_word(v).is_some()
        && v.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    // A header's name (`API_KEY_HEADER = "X-API-Key"`, `TOKEN = "Authorization"`).
    let header_name = (v.len() > 2
        && v[..2].eq_ignore_ascii_case("x-")
        && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        || v.eq_ignore_ascii_case("authorization");
    // A placeholder to be filled in, which does not work as a value: `<your-api-key>`,
    // `${API_KEY}`, `{{ secret }}`, `xxxxxxxx`, `********`.
    let placeholder = (v.starts_with('<') && v.ends_with('>'))
        || v.starts_with("${")
        || v.starts_with("{{")
        || v.chars().all(|c| matches!(c, 'x' | 'X' | '*' | '.'))
        // A literal key spelled as a stand-in; a fallback (`may_name_a_variable` false)
        // is kept, since it becomes the value wherever the variable is missing.
        || (may_name_a_variable && is_stand_in_key(v, word));
    !(env_name || key_name || header_name || placeholder)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        for n in [
            "SECRET_KEY",
            "db_password",
            "GITHUB_TOKEN",
            "apiKey",
            "secret",
            "client_secret",
            "_pwd",
        ] {
            assert!(secret_word(n).is_some(), "{n}");
        }
        for n in [
            "token_url",
            "token_type",
            "password_field",
            "secret_name",
            "api_key_header",
            "password_env",
            "key_path",
            "secret_file",
            "token_length",
            "token_prefix",
            "tokens",
            "passwords",
        ] {
            assert!(secret_word(n).is_none(), "{n}");
        }
    }

    #[test]
    fn every_secret_word_passes_the_quick_test() {
        for w in SECRET_WORDS {
            assert!(secret_word(w).is_some(), "{w}");
            assert!(secret_word(&w.to_ascii_uppercase()).is_some(), "{w}");
        }
    }

    #[test]
    fn secret_values() {
        assert!(is_secret_value("changeme", "SECRET_KEY", "secret_key"));
        assert!(is_secret_value("hunter2", "password", "password"));
        for v in [
            "",
            "SECRET_KEY",
            "DB_PASSWORD",
            "/token",
            "https://x/token",
            "Bearer",
            "enter a password",
            "***",
            "password",
            "access_token",
            "X-API-Key",
            "authorization",
            "<your-api-key>",
            "${API_KEY}",
            "{{ secret }}",
            "xxxxxxxx",
        ] {
            assert!(!is_secret_value(v, "password", "password"), "{v}");
        }
        for v in [
            "sk-placeholder",
            "dummy",
            "EMPTY",
            "xapp-fake-token",
            "ollama",
            "lm-studio",
        ] {
            assert!(!is_secret_value(v, "api_key", "api_key"), "{v}");
            // A stand-in password or signing secret still works as one.
            assert!(is_secret_value(v, "SECRET_KEY", "secret_key"), "{v}");
        }
        assert!(is_secret_value("sk-live-4f9a8c", "api_key", "api_key"));
        // Only the whole documented key: a real key that starts with the server's name is one.
        assert!(is_secret_value("ollama-7f3a9c2e1b", "api_key", "api_key"));
        assert!(is_secret_fallback("dummy", "API_TOKEN", "token"));
    }
}
