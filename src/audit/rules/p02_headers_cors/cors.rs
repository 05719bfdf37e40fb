//! `CORSMiddleware` configurations, shared by SH002 and SH003.

use ruff_text_size::TextRange;

use crate::audit::model::Symbol;
use crate::audit::model::code::{CompareOp, Kwarg};
use crate::audit::rules::prelude::*;

const CORS_MIDDLEWARE: &[&str] = &[
    "starlette.middleware.cors.CORSMiddleware",
    "fastapi.middleware.cors.CORSMiddleware",
];
const MIDDLEWARE_WRAPPERS: &[&str] = &[
    "starlette.middleware.Middleware",
    "fastapi.middleware.Middleware",
];

/// One `CORSMiddleware` configured with an origin setting that lets every origin in.
pub struct WildcardCors {
    pub file: FileId,
    /// The `allow_origins` / `allow_origin_regex` keyword argument.
    pub at: TextRange,
    /// What lets every origin in, for messages: `` `allow_origins` contains "*" ``.
    pub what: String,
    /// `allow_credentials=True` (literally, or through a module-level constant).
    pub credentials: bool,
    /// The wildcard literal sits in a branch that runs only when a configured value already
    /// holds `"*"` (`if "*" in allowed_origins: ... allow_origins=["*"]`): it spells out the
    /// deployment's choice rather than making one. Wildcard origins alone are then not
    /// hard-coded; with credentials they are an error wherever they come from.
    pub mirrors_configuration: bool,
}

/// Every `CORSMiddleware` in the unit's non-test code that allows any origin:
/// `app.add_middleware(CORSMiddleware, ...)`, `Middleware(CORSMiddleware, ...)` and
/// `CORSMiddleware(app, ...)`.
pub fn wildcard_configs(cx: &Context) -> Vec<WildcardCors> {
    let mut out = Vec::new();
    for (file, source, code) in cx.code_files() {
        if source.is_test() {
            continue;
        }
        for call in code.calls.iter().filter(|c| is_cors_setup(c)) {
            let origins = call.kwarg("allow_origins");
            let regex = call.kwarg("allow_origin_regex");
            let mut mirrors_configuration = false;
            let (at, what) = if let Some(k) = origins.filter(|k| is_wildcard_list(code, &k.value)) {
                match mirrored_configuration(code, call.range) {
                    // The configured value is what the literal stands for: judged like
                    // `allow_origins=<configured value>`, by its settings default.
                    Some(configured) => match settings_default(cx, configured)
                        .filter(|(v, _)| is_wildcard_list(code, v))
                    {
                        Some((_, field)) => (
                            k.range,
                            format!(
                                "`allow_origins` is \"*\" when `{field}` holds it, and its default contains \"*\""
                            ),
                        ),
                        None => {
                            mirrors_configuration = true;
                            (
                                k.range,
                                "`allow_origins` contains \"*\" (as configured)".to_string(),
                            )
                        }
                    },
                    None => (k.range, "`allow_origins` contains \"*\"".to_string()),
                }
            } else if let Some((k, field)) = origins.and_then(|k| {
                settings_default(cx, &k.value)
                    .filter(|(v, _)| is_wildcard_list(code, v))
                    .map(|(_, field)| (k, field))
            }) {
                (
                    k.range,
                    format!("`allow_origins` comes from `{field}`, whose default contains \"*\""),
                )
            } else if let Some(k) = origins.filter(|k| falls_back_to_wildcard(code, &k.value)) {
                (
                    k.range,
                    "`allow_origins` falls back to \"*\" when no origins are given".to_string(),
                )
            } else if let Some(k) = regex.filter(|k| is_match_all_regex(code, &k.value)) {
                let regex = constant(code, &k.value)
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                (
                    k.range,
                    format!("`allow_origin_regex` \"{regex}\" matches every origin"),
                )
            } else {
                continue;
            };
            let credentials = call.kwarg("allow_credentials").is_some_and(|k: &Kwarg| {
                constant(code, &k.value).and_then(Value::as_bool) == Some(true)
            });
            out.push(WildcardCors {
                file,
                at,
                what,
                credentials,
                mirrors_configuration,
            });
        }
    }
    out
}

fn is_cors_setup(call: &Call) -> bool {
    let first_is_cors = || {
        call.arg(0, "middleware_class")
            .or_else(|| call.kwarg("cls").map(|k| &k.value))
            .and_then(Value::as_name)
            .is_some_and(|r| r.is_any(CORS_MIDDLEWARE))
    };
    if call.callee.is_any(CORS_MIDDLEWARE) {
        return true;
    }
    if call.callee.is_any(MIDDLEWARE_WRAPPERS) {
        return first_is_cors();
    }
    call.callee.last() == "add_middleware" && first_is_cors()
}

/// `settings.cors_origins`, where `settings = Settings()` and the `BaseSettings` class declares
/// `cors_origins: list[str] = ["*"]` (or `Field(default=["*"])`): the default, and the
/// field's name for the message. A deployment may override it, but wherever it does not, the
/// default is what runs.
fn settings_default<'a>(cx: &'a Context, value: &Value) -> Option<(&'a Value, String)> {
    let service = cx.service?;
    let Value::Ref(r) = value else {
        return None;
    };
    let (object, field) = r.path.rsplit_once('.')?;
    // The class the object is an instance of: through the call recorded with the name
    // (`settings = Settings()` in this file), or through the assignment it was imported from.
    let class = match r.instance.as_deref().and_then(|i| i.rsplit_once("().")) {
        Some((ctor, _)) => Ref {
            path: ctor.into(),
            origin: r.origin,
            instance: None,
        },
        None => {
            let object = Ref {
                path: object.into(),
                origin: r.origin,
                instance: None,
            };
            let Some(Symbol::Assign { file, index }) = cx.project.resolve(service, &object) else {
                return None;
            };
            cx.project.code(file)?.assigns[index as usize]
                .value
                .as_call()?
                .callee
                .clone()
        }
    };
    let (default, name, _) = cx.settings_field_default(&class, field)?;
    Some((default, name))
}

/// Follow a module-level name of the same file to its assigned value (one hop).
fn constant<'a>(code: &'a CodeFile, value: &'a Value) -> Option<&'a Value> {
    match value {
        Value::Ref(r) if r.origin == RefOrigin::Module => {
            let name = r.path.strip_prefix(&*code.module)?.strip_prefix('.')?;
            code.module_assign(name).map(|a| &a.value)
        }
        Value::Ref(_) => None,
        v => Some(v),
    }
}

/// `["*"]`, `("*",)`, `"*"`, or a module-level constant holding one.
fn is_wildcard_list(code: &CodeFile, value: &Value) -> bool {
    match constant(code, value) {
        Some(Value::Str(s)) => &**s == "*",
        Some(v) => v
            .elements()
            .is_some_and(|items| items.iter().any(|i| i.as_str() == Some("*"))),
        None => false,
    }
}

/// The configured value that a wildcard literal at `call` mirrors: the call sits in the
/// branch of an `if` requiring `"*" in configured` (or `configured == "*"` /
/// `configured == ["*"]`), where `configured` is not itself a wildcard literal or a constant
/// holding one (that would be hard-coded twice over).
fn mirrored_configuration(code: &CodeFile, call: TextRange) -> Option<&Value> {
    let is_star = |v: &Value| v.as_str() == Some("*") || is_wildcard_list(code, v);
    let configured = |v: &Value| matches!(v, Value::Ref(_)) && !is_wildcard_list(code, v);
    code.branch_tests
        .iter()
        .filter(|t| t.body.contains_range(call))
        .find_map(|t| match t.op {
            CompareOp::In if t.left.as_str() == Some("*") && configured(&t.right) => Some(&t.right),
            CompareOp::Eq if is_star(&t.left) && configured(&t.right) => Some(&t.right),
            CompareOp::Eq if is_star(&t.right) && configured(&t.left) => Some(&t.left),
            _ => None,
        })
}

/// `configured or ["*"]` (or `configured if configured else ["*"]`): the wildcard is what runs
/// wherever the deployment gives no origins, so it is the default. A wildcard chosen first
/// (`["*"] if debug else configured`) is an explicit choice and is not followed.
fn falls_back_to_wildcard(code: &CodeFile, value: &Value) -> bool {
    match value {
        Value::Either(alternatives) => alternatives
            .last()
            .is_some_and(|v| is_wildcard_list(code, v)),
        _ => false,
    }
}

/// A regex that every origin matches (`.*`, `^.+$`, `https?://.*`).
fn is_match_all_regex(code: &CodeFile, value: &Value) -> bool {
    let Some(s) = constant(code, value).and_then(Value::as_str) else {
        return false;
    };
    let s = s.strip_prefix('^').unwrap_or(s);
    let s = s.strip_suffix('$').unwrap_or(s);
    let s = ["https?://", "https://", "http://"]
        .iter()
        .find_map(|scheme| s.strip_prefix(scheme))
        .unwrap_or(s);
    matches!(s, ".*" | ".+" | "(.*)" | "(.+)")
}
