//! ST002 `local-disk-write`: a file written to local disk on the request or task path.

use crate::audit::model::code::Call;
use crate::audit::rules::prelude::*;

use super::{describe, request_path};

pub static RULE: Rule = Rule {
    code: "ST002",
    name: "local-disk-write",
    principle: Principle::P1,
    severity: Severity::Warning,
    kinds: ALL_KINDS,
    reach: Reach::Services,
    help: "store the data in object storage (S3), Redis or the database; use `tempfile` for scratch files",
    doc: r#"## What it does
Reports file writes on the request or task path (route handlers, dependencies, middleware
functions, worker tasks, and the same-service functions they call directly):
`open(path, "w")` and the other writing modes (`"a"`, `"x"`, `"wb"`, `"r+"`, ...),
`aiofiles.open(path, "w")`, `os.fdopen(fd, "w")`, `Path.open("w")`,
`Path.write_text`/`write_bytes` and `shutil.copy`/`copy2`/`copyfile`/`copytree`/`move`.
Also reports, anywhere in service code, log files: `logging.FileHandler(path)` (and the
rotating and watched handlers) and `logging.basicConfig(filename=...)`.

Reads, writes with a mode that is not a literal, writes through `tempfile` (or in a function
that uses `tempfile`, unless it makes the temporary file in a directory of its own choosing,
`mkstemp(dir=SESSION_DIR)`, to move it there), paths under `/tmp` and `/dev`, code off the
request path (startup, CLI scripts) and tests are not reported.

## Why is this bad?
A container's filesystem belongs to one replica and disappears when the pod is rescheduled
or redeployed. A file written while serving one request is missing for the next request
that lands on another replica, and lost for good on the next deploy. A read-only root
filesystem (a Kubernetes hardening default) makes the write fail outright.

## Example
```python
@router.post("/avatars")
async def upload_avatar(file: UploadFile):
    with open(f"uploads/{file.filename}", "wb") as out:
        out.write(await file.read())
```

## How to fix
Put the data where every replica can reach it, and keep local files to `tempfile` scratch:
```python
@router.post("/avatars")
async def upload_avatar(file: UploadFile, s3: S3Client = Depends(get_s3)):
    await s3.put_object(Bucket=settings.avatar_bucket, Key=key, Body=await file.read())
```
"#,
    check,
};

/// Open functions and where their mode argument sits.
const OPENERS: &[(&str, usize)] = &[
    ("open", 1),
    ("io.open", 1),
    ("codecs.open", 1),
    ("aiofiles.open", 1),
    ("pathlib.Path().open", 0),
    ("pathlib.PurePath().open", 0),
    ("anyio.Path().open", 0),
    ("anyio.open_file", 1),
    ("os.fdopen", 1),
];

/// Calls that always write.
const WRITERS: &[&str] = &[
    "pathlib.Path().write_text",
    "pathlib.Path().write_bytes",
    "anyio.Path().write_text",
    "anyio.Path().write_bytes",
    "shutil.copy",
    "shutil.copy2",
    "shutil.copyfile",
    "shutil.copytree",
    "shutil.move",
];

fn is_write_mode(mode: &str) -> bool {
    mode.contains(['w', 'a', 'x', '+'])
}

/// A short name for the call in messages.
fn describe_call(call: &Call) -> Option<String> {
    if let Some(&(opener, pos)) = OPENERS.iter().find(|(p, _)| call.callee.is(p)) {
        let mode = call.arg(pos, "mode")?.as_str()?;
        if !is_write_mode(mode) {
            return None;
        }
        let name = opener.rsplit('.').next().unwrap_or(opener);
        let name = if opener.contains("Path()") {
            "Path.open"
        } else {
            name
        };
        let name = if opener.starts_with("aiofiles") {
            "aiofiles.open"
        } else {
            name
        };
        return Some(format!("`{name}(..., \"{mode}\")`"));
    }
    let writer = WRITERS.iter().find(|p| call.callee.is(p))?;
    let name = writer
        .replace("pathlib.Path()", "Path")
        .replace("anyio.Path()", "Path");
    Some(format!("`{name}()`"))
}

/// The path argument points at scratch space: a `tempfile` value or a `/tmp` or `/dev` literal.
fn is_scratch(value: &Value) -> bool {
    let tempfile_ref = |r: &Ref| r.in_module("tempfile");
    match value {
        Value::Str(s) => s.starts_with("/tmp/") || s.starts_with("/dev/") || &**s == "/tmp",
        Value::Ref(r) => tempfile_ref(r),
        Value::Call(c) => {
            tempfile_ref(&c.callee)
                || c.args.iter().any(is_scratch)
                || c.kwargs.iter().any(|(_, v)| is_scratch(v))
        }
        Value::Either(v) | Value::List(v) | Value::Tuple(v) => v.iter().any(is_scratch),
        _ => false,
    }
}

/// The function works in a temporary directory or file: its writes are scratch files. A
/// temporary file made in a chosen directory (`mkstemp(dir=SESSION_DIR)`, then `os.replace`)
/// is the atomic-write idiom for a file that stays, and does not count.
fn uses_tempfile(code: &CodeFile, func: FnId) -> bool {
    code.calls.iter().any(|c| {
        c.func == Some(func)
            && c.callee.in_module("tempfile")
            && c.kwarg("dir")
                .is_none_or(|d| is_scratch(&d.value) || d.value.is_none())
    })
}

/// `logging` handlers that write records to a file.
const FILE_HANDLERS: &[&str] = &[
    "logging.FileHandler",
    "logging.handlers.RotatingFileHandler",
    "logging.handlers.TimedRotatingFileHandler",
    "logging.handlers.WatchedFileHandler",
];

/// Log files written by the service's own code: a file handler, or `basicConfig(filename=)`.
fn log_files(cx: &Context, sink: &mut Sink) {
    for (file, _, code) in cx.service_code() {
        for call in &code.calls {
            let path = if call.callee.is_any(FILE_HANDLERS) {
                call.arg(0, "filename")
            } else if call.callee.is("logging.basicConfig") {
                call.kwarg("filename").map(|k| &k.value)
            } else {
                continue;
            };
            if path.is_none_or(|p| is_scratch(p) || p.is_none()) {
                continue;
            }
            sink.report(
                Loc {
                    file,
                    range: call.callee_range,
                },
                format!(
                    "`{}` writes log records to a file on one replica's local disk, lost with the container",
                    call.callee.last()
                ),
            );
        }
    }
}

/// The path object a `Path` method is called on points at scratch space:
/// `Path("/tmp/x").write_text(...)`, or `p = Path(...)` earlier in the function.
fn path_object_is_scratch(code: &CodeFile, func: FnId, call: &Call) -> bool {
    let inline = code.calls.iter().any(|c| {
        c.func == Some(func)
            && call.callee_range.contains_range(c.range)
            && c.args.iter().any(|a| is_scratch(&a.value))
    });
    let local = match call.callee.origin {
        RefOrigin::Local => call.callee.path.rsplit('.').nth(1),
        _ => None,
    };
    let assigned = local.is_some_and(|name| {
        code.assigns
            .iter()
            .any(|a| a.scope == Scope::Function(func) && &*a.target == name && is_scratch(&a.value))
    });
    inline || assigned
}

fn check(cx: &Context, sink: &mut Sink) {
    log_files(cx, sink);
    for (&func, &via) in &request_path(cx) {
        let Some(code) = cx.project.code(func.file) else {
            continue;
        };
        if uses_tempfile(code, func.func) {
            continue;
        }
        for call in code.calls.iter().filter(|c| c.func == Some(func.func)) {
            let Some(what) = describe_call(call) else {
                continue;
            };
            let scratch = call.args.iter().any(|a| is_scratch(&a.value))
                || call.kwargs.iter().any(|k| is_scratch(&k.value))
                || path_object_is_scratch(code, func.func, call);
            if scratch {
                continue;
            }
            sink.report(
                Loc {
                    file: func.file,
                    range: call.callee_range,
                },
                format!(
                    "{what} in {} writes to the local disk of one replica",
                    describe(cx, func, via)
                ),
            );
        }
    }
}
