//! The Python front end's facts for small inputs, snapshotted in a compact form: a change of
//! resolution (what a name, call or route decorator resolves to) shows in review exactly where
//! it happens, before any rule sees it.

use std::fmt::Write as _;

use svc::audit::model::code::{Answers, CodeFile, RefOrigin, Scope, Value};
use svc::audit::python::analyze;

fn origin(o: RefOrigin) -> &'static str {
    match o {
        RefOrigin::Import => "import",
        RefOrigin::Module => "module",
        RefOrigin::Local => "local",
        RefOrigin::Builtin => "builtin",
        RefOrigin::Instance => "instance",
        RefOrigin::Unknown => "unknown",
    }
}

fn value(v: &Value) -> String {
    match v {
        Value::Str(s) => format!("{s:?}"),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::None => "None".into(),
        Value::Bytes => "b\"..\"".into(),
        Value::FormattedStr(_) => "f\"..\"".into(),
        Value::Ref(r) => format!("{}<{}>", r.path, origin(r.origin)),
        Value::List(items) | Value::Tuple(items) | Value::Set(items) => {
            format!(
                "[{}]",
                items.iter().map(value).collect::<Vec<_>>().join(", ")
            )
        }
        Value::Dict(items) => format!(
            "{{{}}}",
            items
                .iter()
                .map(|(k, v)| format!("{}: {}", value(k), value(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Call(c) => format!("{}(..)", c.callee.path),
        Value::Subscript(sub) => format!(
            "{}[{}]",
            value(&sub.0),
            sub.1.iter().map(value).collect::<Vec<_>>().join(", ")
        ),
        Value::Either(items) => items.iter().map(value).collect::<Vec<_>>().join(" | "),
        Value::Concat(items) => items.iter().map(value).collect::<Vec<_>>().join(" + "),
        Value::Other => "..".into(),
    }
}

/// Every fact, one line each. The destructuring names every field of `CodeFile`: a new fact
/// does not compile here until it is rendered (and so snapshotted and reviewed).
fn render(facts: &CodeFile) -> String {
    let CodeFile {
        module,
        functions,
        calls,
        imports,
        assigns,
        extends,
        attr_assigns,
        mutations,
        classes,
        header_names,
        branch_tests,
        suppressions,
        statement_ranges,
        main_guards,
        loop_values,
    } = facts;
    let fname = |id: Option<u32>| match id {
        Some(id) => functions[id as usize].qual.to_string(),
        None => "<module>".into(),
    };
    let mut out = format!("module {module}\n");
    for f in functions {
        let params: Vec<String> = f
            .params
            .iter()
            .map(|p| match &p.annotation {
                Some(a) => format!("{}: {}", p.name, value(a)),
                None => p.name.to_string(),
            })
            .collect();
        let returns: Vec<String> = f
            .returns
            .iter()
            .map(|r| format!("{}<{}>", r.path, origin(r.origin)))
            .collect();
        let _ = writeln!(
            out,
            "fn {}{}({}) decorators=[{}]{}{}",
            if f.is_async { "async " } else { "" },
            f.qual,
            params.join(", "),
            f.decorators
                .iter()
                .map(|d| value(&d.value))
                .collect::<Vec<_>>()
                .join(", "),
            if returns.is_empty() {
                String::new()
            } else {
                format!(" returns [{}]", returns.join(", "))
            },
            match f.answers {
                Answers::Nothing => "",
                Answers::Literals => " answers literals",
                Answers::Computed => " answers computed",
            }
        );
    }
    for c in classes {
        let bases: Vec<&str> = c.bases.iter().map(|b| &*b.path).collect();
        let _ = writeln!(out, "class {}({})", c.qual, bases.join(", "));
    }
    for i in imports {
        let _ = writeln!(out, "import {} as {} (used={})", i.full, i.local, i.used);
    }
    for a in assigns {
        let scope = match a.scope {
            Scope::Module => "module".to_string(),
            Scope::Class => format!("class {}", a.class.as_deref().unwrap_or("?")),
            Scope::Function(f) => format!("fn {}", fname(Some(f))),
        };
        let _ = writeln!(out, "assign [{scope}] {} = {}", a.target, value(&a.value));
    }
    for a in extends {
        let scope = match a.scope {
            Scope::Module => "module".to_string(),
            Scope::Class => format!("class {}", a.class.as_deref().unwrap_or("?")),
            Scope::Function(f) => format!("fn {}", fname(Some(f))),
        };
        let _ = writeln!(out, "extend [{scope}] {} += {}", a.target, value(&a.value));
    }
    for a in attr_assigns {
        let _ = writeln!(
            out,
            "attr {} = {}{}",
            a.target.path,
            value(&a.value),
            if a.conditional { " conditional" } else { "" }
        );
    }
    for m in mutations {
        let _ = writeln!(
            out,
            "mutate {} {:?}{} in {}{}",
            m.target,
            m.kind,
            match m.step {
                0 => String::new(),
                n => format!(" {n:+}"),
            },
            fname(Some(m.func)),
            if m.conditional { " conditional" } else { "" }
        );
    }
    for c in calls {
        let args: Vec<String> = c.args.iter().map(|a| value(&a.value)).collect();
        let kwargs: Vec<String> = c
            .kwargs
            .iter()
            .map(|k| format!("{}={}", k.name, value(&k.value)))
            .collect();
        let _ = writeln!(
            out,
            "call {}<{}>{} ({}) in {}{}{}{}",
            c.callee.path,
            origin(c.callee.origin),
            c.callee
                .instance
                .as_deref()
                .map(|i| format!(" via {i}"))
                .unwrap_or_default(),
            args.into_iter()
                .chain(kwargs)
                .collect::<Vec<_>>()
                .join(", "),
            fname(c.func),
            if c.awaited { " awaited" } else { "" },
            if c.deferred { " deferred" } else { "" },
            if c.conditional { " conditional" } else { "" },
        );
    }
    for h in header_names {
        let _ = writeln!(out, "header {}", h.lower);
    }
    for t in branch_tests {
        let _ = writeln!(
            out,
            "branch {} {:?} {}{}",
            value(&t.left),
            t.op,
            value(&t.right),
            if t.body_raises { " raises" } else { "" }
        );
    }
    for s in suppressions {
        let _ = writeln!(
            out,
            "suppress{} [{}]",
            if s.file_level { "-file" } else { "" },
            s.rules.join(", ")
        );
    }
    for v in loop_values {
        let _ = writeln!(out, "loop over {}", value(v));
    }
    let _ = writeln!(
        out,
        "statement ranges {}, main guards {}",
        statement_ranges.len(),
        main_guards.len()
    );
    out
}

fn facts(source: &str) -> String {
    render(&analyze(source, "app.main", false).expect("parses"))
}

fn settings() -> insta::Settings {
    crate::util::snapshot_settings("facts")
}

#[test]
fn routes_dependencies_and_parameters() {
    let out = facts(
        r#"from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI
from sqlalchemy.orm import Session

from .deps import get_db, get_user

router = APIRouter(prefix="/orders", dependencies=[Depends(get_user)])


@router.get("/{order_id}")
async def get_order(order_id: int, db: Annotated[Session, Depends(get_db)]):
    return db.execute("SELECT 1")


def register(app: FastAPI) -> None:
    app.include_router(router)


def create_app() -> FastAPI:
    app = FastAPI()
    register(app)
    return app
"#,
    );
    settings().bind(|| insta::assert_snapshot!("routes_dependencies_and_parameters", out));
}

/// A router factory: the names its `return` statements give back (the local router, a
/// parameter passed through), the local dependency list, its conditional append, and the
/// include of a factory's result.
#[test]
fn router_factory_returns_and_built_dependency_lists() {
    let out = facts(
        r#"from fastapi import APIRouter, Depends, FastAPI
from fastapi.routing import APIRoute

from .deps import get_user, live, read_only


def create_router(auth_enabled: bool) -> APIRouter:
    dependencies = [Depends(read_only)]
    if auth_enabled:
        dependencies.append(Depends(get_user))
    router = APIRouter(prefix="/v1", dependencies=dependencies)
    return router


def passthrough(router: APIRouter) -> APIRouter:
    if router is None:
        return None
    return router


def create_app(auth_enabled: bool) -> FastAPI:
    routes = []
    routes += [APIRoute("/v2/health/live", live)]
    app = FastAPI(
        routes=routes, dependencies=[Depends(get_user)] if auth_enabled else []
    )
    app.include_router(create_router(auth_enabled))
    return app
"#,
    );
    settings()
        .bind(|| insta::assert_snapshot!("router_factory_returns_and_built_dependency_lists", out));
}

#[test]
fn clients_state_settings_and_suppressions() {
    let out = facts(
        r#"import os

import httpx
from pydantic_settings import BaseSettings

CACHE = {}
API_KEY_HEADER = "X-API-Key"


class Settings(BaseSettings):
    cors_origins: list[str] = ["*"]


settings = Settings()
client = httpx.AsyncClient(timeout=5)
secret = os.environ.get("JWT_SECRET") or "dev"


async def fetch(url: str):
    CACHE[url] = await client.get(url)  # svc: ignore[ST001] bounded by the caller
    return CACHE[url]


if __name__ == "__main__":
    print(settings.cors_origins)
"#,
    );
    settings().bind(|| insta::assert_snapshot!("clients_state_settings_and_suppressions", out));
}

/// Which imports count as used: annotations (return types and forward references in strings
/// included), `__all__`, the explicit `as` re-export, and every import binding a name that
/// is used (`import pyarrow` then `import pyarrow.parquet`). Not: a call's string argument
/// inside an annotation, nor prose.
#[test]
fn import_use_in_annotations_exports_and_rebinding() {
    let out = facts(
        r#"from __future__ import annotations

from typing import Annotated, Optional

import numpy as np
import pandas as pd
import pyarrow
import pyarrow.parquet
import scipy
import torch
from fastapi import Header
from sklearn.base import BaseEstimator
from matplotlib import pyplot as pyplot

__all__ = ["scipy"]


def frame(rows: list) -> pd.DataFrame:
    return rows


def dtypes() -> "Optional[np.dtype]":
    """torch is not used here."""


def write(table: pyarrow.Table) -> None:
    pyarrow.parquet.write_table(table, "x")


class Model:
    estimator: "BaseEstimator | None" = None


def token(x: Annotated[str, Header("torch")]) -> str:
    return x
"#,
    );
    settings()
        .bind(|| insta::assert_snapshot!("import_use_in_annotations_exports_and_rebinding", out));
}

/// `self.m()` resolves to the class's method and `self.client.get()` through the client a
/// method above assigned; not in a static method, nor an attribute nobody assigned.
#[test]
fn calls_through_self() {
    let out = facts(
        r#"import boto3


class Store:
    def __init__(self):
        self.client = boto3.client("s3")

    def _put(self, key):
        self.client.put_object(Key=key)

    async def save(self, key):
        self._put(key)
        self.other.get(key)

    @staticmethod
    def helper(self):
        self._put(1)
"#,
    );
    settings().bind(|| insta::assert_snapshot!("calls_through_self", out));
}

/// A call in a branch chosen at run time is `conditional`; the `__main__` guard, `TYPE_CHECKING`
/// and a `try` body are not such branches, and a function's own body starts unconditional
/// even when the function is defined under an `if`.
#[test]
fn branches_mark_calls_conditional() {
    let out = facts(
        r#"from typing import TYPE_CHECKING

from fastapi import FastAPI

from app.settings import in_debug_mode, settings

if TYPE_CHECKING:
    FastAPI(title="types")

if in_debug_mode():
    debug_app = FastAPI(debug=True)
elif settings.profile:
    profiled = FastAPI(title="profiled")
else:
    plain = FastAPI(docs_url=None)

    def build():
        return FastAPI(title="built")

try:
    tried = FastAPI(title="tried")
finally:
    pass

match settings.mode:
    case "dev":
        dev = FastAPI(debug=True)


def create_app():
    app = FastAPI()
    if settings.debug:
        app.debug = True
        FastAPI(title="inner")
    return app


if __name__ == "__main__":
    FastAPI(title="main")
"#,
    );
    settings().bind(|| insta::assert_snapshot!("branches_mark_calls_conditional", out));
}

/// The comparisons that decide `if` / `elif` branches, each operand of an `and` on its own;
/// other tests (calls, `<`, chained comparisons, `or`) are not comparisons a branch requires.
#[test]
fn branch_tests_record_comparisons_and_refusals() {
    let out = facts(
        r#"import os

BAD = "password1234"
ORIGINS = os.environ.get("ORIGINS", "").split(",")


def check(password, key):
    if password == BAD:
        raise ValueError("refused")
    if ORIGINS and "*" in ORIGINS:
        return ["*"]
    elif key not in ("a", "b"):
        if key != BAD:
            raise KeyError(key)
    if key == "x" or key == "y":
        pass
    if len(key) < 3 or os.path.exists(key):
        pass
    if 1 < key == 2:
        pass
"#,
    );
    let branches: Vec<&str> = out.lines().filter(|l| l.starts_with("branch ")).collect();
    settings().bind(|| insta::assert_snapshot!("branch_tests", branches.join("\n")));
}

/// One input that exercises every kind of fact: each list must come back non-empty, so a
/// fact the front end stops filling (or never fills) fails here rather than silently.
#[test]
fn every_fact_kind_is_filled() {
    let f = analyze(
        r#"import requests
from fastapi import FastAPI

TOKENS = []
app = FastAPI()


class Client:
    def __init__(self):
        self.base = "http://x"


@app.get("/x")
def handler(request):
    if request.method == "HEAD":
        raise ValueError
    TOKENS.append(request.headers.get("x-request-id"))
    seen = []
    seen += [request.url]
    for check in (handler, Client):
        pass
    return requests.get("http://y", timeout=3)  # svc: ignore[RS001] why
    # a multi-line statement follows
    x = (
        1
    )


if __name__ == "__main__":
    pass
"#,
        "app.main",
        false,
    )
    .expect("parses");
    let CodeFile {
        module,
        functions,
        calls,
        imports,
        assigns,
        extends,
        attr_assigns,
        mutations,
        classes,
        header_names,
        branch_tests,
        suppressions,
        statement_ranges,
        main_guards,
        loop_values,
    } = &f;
    assert_eq!(&**module, "app.main");
    for (name, len) in [
        ("functions", functions.len()),
        ("calls", calls.len()),
        ("imports", imports.len()),
        ("assigns", assigns.len()),
        ("extends", extends.len()),
        ("attr_assigns", attr_assigns.len()),
        ("mutations", mutations.len()),
        ("classes", classes.len()),
        ("header_names", header_names.len()),
        ("branch_tests", branch_tests.len()),
        ("suppressions", suppressions.len()),
        ("statement_ranges", statement_ranges.len()),
        ("main_guards", main_guards.len()),
        ("loop_values", loop_values.len()),
    ] {
        assert!(len > 0, "the front end filled no {name}");
    }
}

/// A loop over a literal collection hands the names in it to its body (`for step in (a, b):
/// await step(db)`): they are values the service uses, which `never_referenced` must see. A
/// loop over a name adds nothing: that name's assignment already holds the collection.
#[test]
fn a_loop_over_a_literal_collection_hands_its_names_on() {
    let out = facts(
        r#"async def migrate(db): ...
async def seed(db): ...
ROUTERS = []

async def startup(db):
    for step in (migrate, seed):
        await step(db)
    for r in ROUTERS:
        pass
"#,
    );
    let loops: Vec<&str> = out.lines().filter(|l| l.starts_with("loop over")).collect();
    assert_eq!(
        loops,
        ["loop over [app.main.migrate<module>, app.main.seed<module>]"]
    );
}

/// What a function's `return` statements give back: nothing (it only raises), literals and
/// calls (`return Response()`, `return {"ok": True}`), or something computed from a name,
/// which may be the service's data (`return {"admins": ADMINS}`).
#[test]
fn what_returns_give_back() {
    let out = facts(
        r#"ADMINS = []

def refuses():
    raise ValueError("no")

def probe():
    if ADMINS:
        return Response()
    return {"ok": True, "codes": [1, 2]}

def admins():
    if not ADMINS:
        return []
    return {"admins": ADMINS}
"#,
    );
    let fns: Vec<&str> = out.lines().filter(|l| l.starts_with("fn ")).collect();
    assert_eq!(
        fns,
        [
            "fn app.main.refuses() decorators=[]",
            "fn app.main.probe() decorators=[] answers literals",
            "fn app.main.admins() decorators=[] answers computed",
        ]
    );
}

/// Strings joined with `+` are kept part by part when they read like a path or URL built from
/// constants (`API + VERSION_1 + WEBHOOKS`); arithmetic on names is not such a join.
#[test]
fn string_joins_keep_their_parts() {
    let out = facts(
        r#"API = "/api"
VERSION_1 = "/v1"
PREFIX = API + VERSION_1 + "/webhooks"
total = count + offset
label = "n=" + name
"#,
    );
    let assigns: Vec<&str> = out.lines().filter(|l| l.starts_with("assign ")).collect();
    assert_eq!(
        assigns,
        [
            r#"assign [module] API = "/api""#,
            r#"assign [module] VERSION_1 = "/v1""#,
            r#"assign [module] PREFIX = app.main.API<module> + app.main.VERSION_1<module> + "/webhooks""#,
            "assign [module] total = ..",
            r#"assign [module] label = "n=" + name<unknown>"#,
        ]
    );
}
