//! ST003 `sqlite-service-database`: SQLite used as the service's database.

use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "ST003",
    name: "sqlite-service-database",
    principle: Principle::P1,
    severity: Severity::Warning,
    kinds: ALL_KINDS,
    reach: Reach::Services,
    help: "use a networked database (PostgreSQL) configured from the environment; keep SQLite to tests",
    doc: r#"## What it does
Reports SQLite used as a database in service code: a `sqlite://` / `sqlite+<driver>://`
URL literal passed to a call (`os.getenv("DATABASE_URL", "sqlite:///app.db")`,
`Field(default=...)`), assigned to a name, used as a settings field or parameter default, or
returned by a function (a settings helper's fallback), and calls to `sqlite3.connect(...)` /
`aiosqlite.connect(...)`. An f-string counts when its literal start is such a URL with the
file path interpolated: `f"sqlite+aiosqlite:///{data_dir}/app.db"`.

A connection opened to copy a database is not the service's store: `sqlite3.connect(...)` in
a function that copies one with SQLite's backup API (`source.backup(target)`) or `VACUUM INTO`
(an operator's backup or migration step for an install already on SQLite) is not reported.
In-memory databases (`sqlite://`, `sqlite:///:memory:`, `":memory:"`), string tests such as
`url.startswith("sqlite://")`, mentions in comments and docstrings, and tests and scripts
are not reported.

## Why is this bad?
A SQLite database is a file on one replica's local disk. Every replica gets its own copy
of the data, the data is lost when the container is replaced, and concurrent writers from
several worker processes contend for one file lock ("database is locked"). The service
cannot scale out or be redeployed without losing state.

## Example
```python
class Settings(BaseSettings):
    database_url: str = "sqlite+aiosqlite:///./app.db"

engine = create_async_engine(settings.database_url)
```

## How to fix
Use a database server that every replica shares, with the URL from the environment:
```python
class Settings(BaseSettings):
    database_url: PostgresDsn  # DATABASE_URL=postgresql+asyncpg://...
```
"#,
    check,
};

const CONNECTS: &[&str] = &[
    "sqlite3.connect",
    "aiosqlite.connect",
    "sqlite3.dbapi2.connect",
];

/// String methods whose argument is a pattern, not a database URL.
const STRING_METHODS: &[&str] = &[
    "startswith",
    "endswith",
    "replace",
    "removeprefix",
    "split",
    "partition",
    "find",
    "index",
    "count",
    "strip",
    "lstrip",
    "rstrip",
];

/// A SQLite URL naming an on-disk database.
fn is_sqlite_file_url(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once("://") else {
        return false;
    };
    let is_sqlite = scheme.eq_ignore_ascii_case("sqlite")
        || scheme
            .split_once('+')
            .is_some_and(|(dialect, _)| dialect.eq_ignore_ascii_case("sqlite"));
    let database = rest.strip_prefix('/').unwrap_or(rest);
    let database = database.split('?').next().unwrap_or(database);
    is_sqlite && !database.is_empty() && database != ":memory:"
}

/// The literal head of an f-string names an on-disk SQLite database whose path is filled in at
/// run time: `f"sqlite+aiosqlite:///{data_dir}/app.db"`.
fn is_sqlite_file_head(head: &str) -> bool {
    let Some((scheme, rest)) = head.split_once("://") else {
        return false;
    };
    is_sqlite_file_url(head)
        || (is_sqlite_file_url(&format!("{scheme}://x")) && rest.starts_with('/'))
}

fn sqlite_literal(value: &Value) -> bool {
    match value {
        Value::Str(s) => is_sqlite_file_url(s),
        Value::FormattedStr(head) => is_sqlite_file_head(head),
        Value::Either(v) => v.iter().any(sqlite_literal),
        _ => false,
    }
}

/// A call that copies a SQLite database: `source.backup(target)` (the backup API, both
/// connections given) or `execute("VACUUM INTO ?", ...)`.
fn copies_database(call: &Call) -> bool {
    match call.callee.last() {
        "backup" => call.callee.path.contains('.') && !call.args.is_empty(),
        "execute" => call
            .args
            .first()
            .and_then(|a| a.value.as_str())
            .is_some_and(|sql| {
                sql.trim_start()
                    .get(..11)
                    .is_some_and(|head| head.eq_ignore_ascii_case("vacuum into"))
            }),
        _ => false,
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    for (file, _, code) in cx.service_code() {
        // Functions that copy a database: their connections are the copy's two ends.
        let mut copying: Option<Vec<FnId>> = None;
        for call in &code.calls {
            if call.callee.is_any(CONNECTS) {
                let copies = call.func.is_some_and(|f| {
                    copying
                        .get_or_insert_with(|| {
                            code.calls
                                .iter()
                                .filter(|c| copies_database(c))
                                .filter_map(|c| c.func)
                                .collect()
                        })
                        .contains(&f)
                });
                if copies {
                    continue;
                }
                let memory = call.arg(0, "database").and_then(Value::as_str) == Some(":memory:");
                if !memory {
                    sink.report(
                        Loc {
                            file,
                            range: call.callee_range,
                        },
                        format!(
                            "`{}()` opens a SQLite database file local to one replica",
                            call.callee.path
                        ),
                    );
                }
                continue;
            }
            if STRING_METHODS.contains(&call.callee.last()) {
                continue;
            }
            let args = call.args.iter().map(|a| (&a.value, a.range));
            let kwargs = call.kwargs.iter().map(|k| (&k.value, k.range));
            for (value, range) in args.chain(kwargs) {
                if sqlite_literal(value) {
                    sink.report(
                        Loc { file, range },
                        format!(
                            "SQLite database URL passed to `{}()`: the data lives on one replica's local disk",
                            call.callee.last()
                        ),
                    );
                }
            }
        }
        for a in &code.assigns {
            if sqlite_literal(&a.value) {
                sink.report(
                    Loc {
                        file,
                        range: a.value_range,
                    },
                    format!(
                        "`{}` is a SQLite database URL: the data lives on one replica's local disk",
                        a.target
                    ),
                );
            }
        }
        for f in &code.functions {
            for r in f
                .returned_strings
                .iter()
                .filter(|r| sqlite_literal(&r.value))
            {
                sink.report(
                    Loc { file, range: r.range },
                    format!("`{}` returns a SQLite database URL: the data lives on one replica's local disk", f.name),
                );
            }
            for p in &f.params {
                if p.default.as_ref().is_some_and(sqlite_literal) {
                    sink.report(
                        Loc { file, range: p.range },
                        format!("parameter `{}` defaults to a SQLite database URL: the data lives on one replica's local disk", p.name),
                    );
                }
            }
        }
    }
}
