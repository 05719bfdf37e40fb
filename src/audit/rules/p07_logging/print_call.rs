//! LG001 `print-call`: `print()` in service code.

use rustc_hash::FxHashMap as HashMap;

use crate::audit::rules::cli::in_cli_command;
use crate::audit::rules::prelude::*;
use crate::audit::rules::runs::Runs;

pub static RULE: Rule = Rule {
    code: "LG001",
    name: "print-call",
    principle: Principle::P7,
    severity: Severity::Warning,
    kinds: ALL_KINDS,
    reach: Reach::Services,
    help: "log through the service's structured logger (structlog) instead of print()",
    doc: r#"## What it does
Reports calls to the builtin `print()` in a service's code. Tests, scripts (`scripts/`,
`bin/`, `manage.py`, migrations), scaffolding (`templates/`), `if __name__ == "__main__":`
blocks and command-line commands (a function decorated with a click or typer command, such as
`@app.command()` on a `typer.Typer()` or `@tool.command()` on a `@click.group()` function,
and the functions defined inside it: terminal output
for the person running the command, before any server starts) are left alone. So are:
- a function every caller of which is such a command, a script, a notebook helper or a
  `__main__` block, followed up to six callers (a CLI command's output helper); a function
  on the request or task path, or one with a caller the audit cannot resolve
  (`obj.helper()`) is still reported;
- a function nothing in the service calls or names: no call of its name on any receiver, no
  reference to it as a value (an argument, an assignment, a returned name, a decorator), no
  decorator of its own, not a dunder, and not a method of a class with a base from outside
  the service (whose framework calls the overrides: `logging.Handler.emit`); no path of the
  service runs it (a debugging helper, SDK code for the package's users). Only the
  function holding the print is asked this: a function whose only callers are such
  functions is still reported (following every dead end up the callers was measured at 6 ms
  on prefect for no finding of the corpus);
- a function no path of the service may run: searching back from it through every call of
  its name, no caller chain reaches what the service starts with (its handlers,
  dependencies, middleware, tasks and lifespan, every call at module or class level outside
  `__main__`, every function handed around as a value or carrying a decorator that may
  register it). Where a call cannot be resolved every candidate counts: `obj.plan()` may run
  every method named `plan`, and a bare `plan()` every other function of that name. A method
  Python or a framework calls (`__init__`, a `logging.Handler.emit` override, a decorated
  validator) runs only for a class the service builds, subclasses or names somewhere: SDK
  code for the package's users (a class whose constructor prints, a `plan()` only the
  command line calls) is left alone;
- notebook helpers (a module importing `IPython` or `ipywidgets`);
- a print in the app's lifespan function itself (a startup banner, printed once).

## Why is this bad?
`print()` writes an unstructured line to stdout with no level, no timestamp, no request id
and no trace id. Log pipelines cannot parse it, alerting cannot match it, and it cannot be
correlated with the request or trace that produced it. Under uvicorn it may also interleave
with JSON log lines and break their parsing.

## Example
```python
@router.post("/orders")
async def create_order(order: Order):
    print("creating order", order.id)
```

## How to fix
```python
log = structlog.get_logger()

@router.post("/orders")
async def create_order(order: Order):
    log.info("order.create", order_id=order.id)
```
"#,
    check,
};

fn check(cx: &Context, sink: &mut Sink) {
    let mut memo = Memo::default();
    let mut runs = cx.service.map(|s| Runs::new(cx, s));
    for (file, _, code) in cx.service_code() {
        // A notebook helper (`IPython.display`): output for the person at the notebook.
        if imports_notebook(code) {
            continue;
        }
        for call in &code.calls {
            if !call.callee.is("print")
                || code.in_main_guard(call.range)
                || in_cli_command(code, call.func)
            {
                continue;
            }
            if let (Some(service), Some(func)) = (cx.service, call.func) {
                let f = FnRef { file, func };
                // A line printed once by the lifespan (a startup banner), not per request.
                if !call.deferred && service.apps.iter().any(|a| a.lifespan.contains(&f)) {
                    continue;
                }
                if only_user_facing(cx, service, f, MAX_CALLER_DEPTH, &mut memo)
                    || runs
                        .as_mut()
                        .is_some_and(|r| r.never_referenced(code, f) || !r.may_run(f))
                {
                    continue;
                }
            }
            sink.report(
                Loc {
                    file,
                    range: call.callee_range,
                },
                "`print()` in service code writes unstructured output",
            );
        }
    }
}

/// What the caller search has worked out so far.
#[derive(Default)]
struct Memo {
    /// Per function: every path reaching it starts at a command (see [`only_user_facing`]).
    user_facing: HashMap<FnRef, bool>,
}

/// How many callers up the audit follows a function to the commands that reach it.
const MAX_CALLER_DEPTH: u8 = 6;

/// The file imports IPython or ipywidgets: code run from a notebook.
fn imports_notebook(code: &CodeFile) -> bool {
    code.imports.iter().any(|i| {
        ["IPython", "ipywidgets"].iter().any(|m| {
            i.full
                .strip_prefix(m)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
        })
    })
}

/// Every path that reaches `f` starts at a command-line command, a script, a notebook
/// helper or a `__main__` block: its output is for the person running the command, not
/// the server's log. False when the audit cannot tell: `f` is on the request or task path,
/// is never called by name (see [`Runs::never_referenced`] for that case), or has a caller the
/// audit cannot resolve (`obj.f()`).
fn only_user_facing<'a>(
    cx: &Context<'a>,
    service: &Service,
    f: FnRef,
    depth: u8,
    memo: &mut Memo,
) -> bool {
    let Some(code) = cx.project.code(f.file) else {
        return false;
    };
    if in_cli_command(code, Some(f.func)) {
        return true;
    }
    if let Some(&known) = memo.user_facing.get(&f) {
        // Known, or being worked out further up (a cycle: not shown to be user-facing).
        return known;
    }
    if cx.is_entry_point(f) || depth == 0 {
        return false;
    }
    memo.user_facing.insert(f, false);
    let answer = callers_user_facing(cx, service, code, f, depth, memo);
    memo.user_facing.insert(f, answer);
    answer
}

fn callers_user_facing<'a>(
    cx: &Context<'a>,
    service: &Service,
    code: &'a CodeFile,
    f: FnRef,
    depth: u8,
    memo: &mut Memo,
) -> bool {
    let function = code.function(f.func);
    // A nested function runs when the function around it does.
    if let Some(parent) = function.parent {
        return only_user_facing(
            cx,
            service,
            FnRef {
                file: f.file,
                func: parent,
            },
            depth,
            memo,
        );
    }
    // The unit's index of calls by name, built once and shared with the other rules that
    // search callers (RS002), rather than a second index of the same calls.
    let mut reached = false;
    for &(file, call) in cx.index.calls_named(&function.name) {
        if call.callee.origin == RefOrigin::Unknown {
            return false;
        }
        let (source, Some(caller_code)) = (cx.project.file(file), cx.project.code(file)) else {
            continue;
        };
        if cx.project.resolve_function(service, &call.callee) != Some(f) {
            continue;
        }
        reached = true;
        if caller_code.in_main_guard(call.range) || imports_notebook(caller_code) {
            continue;
        }
        let user_facing = match call.func {
            None => source.role == FileRole::Script,
            Some(func) => {
                (source.role == FileRole::Script && !cx.is_entry_point(FnRef { file, func }))
                    || only_user_facing(cx, service, FnRef { file, func }, depth - 1, memo)
            }
        };
        if !user_facing {
            return false;
        }
    }
    reached
}
