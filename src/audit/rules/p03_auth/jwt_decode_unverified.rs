//! AU002 `jwt-decode-unverified`: a JWT decoded without a pinned algorithm list or without
//! verifying its signature.

use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "AU002",
    name: "jwt-decode-unverified",
    principle: Principle::P3,
    severity: Severity::Error,
    kinds: ALL_KINDS,
    reach: Reach::AllCode,
    help: "pass algorithms=[\"RS256\"] (a fixed list, never \"none\") and keep signature verification on",
    doc: r#"## What it does
Reports `jwt.decode(...)` (PyJWT, python-jose, authlib's `jose.jwt`) called without an
`algorithms` list, with `"none"` in that list, or with signature verification turned off
(`options={"verify_signature": False}`, `verify=False`).

## Why is this bad?
Without a fixed algorithm list a token can choose its own algorithm: `alg: none` tokens
carry no signature at all, and an RS256 public key can be used as an HS256 secret to forge
tokens (algorithm confusion). With verification off, anyone can mint a token for any user.
Either is a full authentication bypass.

## Example
```python
claims = jwt.decode(token, key, options={"verify_signature": False})
claims = jwt.decode(token, key)
```

## How to fix
```python
claims = jwt.decode(
    token,
    key,
    algorithms=["RS256"],
    audience=settings.jwt_audience,
    issuer=settings.jwt_issuer,
    options={"require": ["exp", "iss", "aud", "sub"]},
)
```
"#,
    check,
};

const DECODERS: &[&str] = &[
    "jwt.decode",
    "jose.jwt.decode",
    "jwt.api_jwt.decode",
    "authlib.jose.jwt.decode",
];

fn check(cx: &Context, sink: &mut Sink) {
    for (file, source, code) in cx.code_files() {
        if source.is_test() {
            continue;
        }
        for call in code.calls.iter().filter(|c| c.callee.is_any(DECODERS)) {
            let at = Loc {
                file,
                range: call.range,
            };
            let options = call.kwarg("options").map(|k| &k.value);
            if options
                .and_then(|o| o.dict_get("verify_signature"))
                .and_then(Value::as_bool)
                == Some(false)
            {
                sink.report(at, "JWT decoded with signature verification turned off");
                continue;
            }
            if call.kwarg("verify").and_then(|k| k.value.as_bool()) == Some(false) {
                sink.report(at, "JWT decoded with `verify=False`");
                continue;
            }
            // PyJWT and python-jose both take `algorithms` third: `decode(token, key, ["RS256"])`.
            match call.arg(2, "algorithms") {
                None if !call.has_star_kwargs => {
                    sink.report(at, "JWT decoded without a fixed `algorithms` list")
                }
                Some(algorithms) => {
                    let allows_none = algorithms.elements().is_some_and(|algs| {
                        algs.iter()
                            .any(|a| a.as_str().is_some_and(|s| s.eq_ignore_ascii_case("none")))
                    });
                    if allows_none {
                        sink.report(
                            at,
                            "JWT `algorithms` allows \"none\": unsigned tokens are accepted",
                        );
                    }
                }
                None => {}
            }
        }
    }
}
