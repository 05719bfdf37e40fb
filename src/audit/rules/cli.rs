//! Command-line commands: functions a click or typer command runs, whose output is for the
//! person at the terminal, before any server starts; and modules run as a process of their
//! own (`python -m pkg.tool`), whose event loop serves that one command.

use crate::audit::rules::prelude::*;

/// The function `func`, or one enclosing it, is a click or typer command.
pub(super) fn in_cli_command(code: &CodeFile, mut func: Option<FnId>) -> bool {
    while let Some(id) = func {
        let f = code.function(id);
        if f.decorators
            .iter()
            .any(|d| is_cli_decorator(&d.value) || is_local_group_command(code, &d.value))
        {
            return true;
        }
        func = f.parent;
    }
    false
}

/// `@app.command()` on a `typer.Typer()`, `@click.command()`, `@cli.group()`, `@app.callback()`.
pub(super) fn is_cli_decorator(value: &Value) -> bool {
    let callee = match value {
        Value::Call(c) => &c.callee,
        Value::Ref(r) => r,
        _ => return false,
    };
    (callee.in_module("typer") || callee.in_module("click"))
        && matches!(callee.last(), "command" | "group" | "callback")
}

/// `@tool.command()` where `tool` is a function of the same file decorated as a click or typer
/// group (`@click.group() def tool(): ...`).
pub(super) fn is_local_group_command(code: &CodeFile, value: &Value) -> bool {
    let Value::Call(c) = value else { return false };
    if c.callee.origin != RefOrigin::Module || !matches!(c.callee.last(), "command" | "group") {
        return false;
    }
    let Some((group, _)) = c.callee.path.rsplit_once('.') else {
        return false;
    };
    code.functions.iter().any(|f| {
        &*f.qual == group
            && f.parent.is_none()
            && f.decorators.iter().any(|d| is_cli_decorator(&d.value))
    })
}

/// Functions that start an event loop of their own and run a coroutine on it to the end.
const LOOP_RUNNERS: &[&str] = &["asyncio.run", "anyio.run", "trio.run", "uvloop.run"];

/// ASGI servers and app constructors: a module that starts or builds one of these serves
/// requests on its loop, whatever else it does.
pub(super) const SERVER_MODULES: &[&str] = &["uvicorn", "hypercorn", "granian", "daphne"];

/// The call starts an ASGI server of [`SERVER_MODULES`] or builds an app: the loop it runs
/// on serves requests.
pub(super) fn starts_or_builds_server(c: &Call) -> bool {
    SERVER_MODULES.iter().any(|m| c.callee.in_module(m))
        || crate::audit::model::frameworks::is_app_constructor(&c.callee.path)
}

/// A module run as a process of its own (`python -m pkg.tool`): its `if __name__ ==
/// "__main__":` block starts an event loop (`asyncio.run(...)`, directly or through a
/// `main()` of the same module that parses arguments and calls it), it starts no ASGI server
/// and builds no app, and no other module of the project imports it. Its coroutines then run
/// only on the loop that block creates, which serves that one command, like a click or typer
/// command's: a blocking call there stalls no request.
pub(super) fn runs_as_own_process(cx: &Context, file: FileId, code: &CodeFile) -> bool {
    if code.main_guards.is_empty() {
        return false;
    }
    let runs_loop = |c: &Call| c.callee.is_any(LOOP_RUNNERS);
    let starts_loop = code
        .calls
        .iter()
        .filter(|c| c.func.is_none() && code.in_main_guard(c.range))
        .any(|c| {
            runs_loop(c)
                || (c.callee.origin == RefOrigin::Module
                    && c.callee
                        .path
                        .strip_prefix(&*code.module)
                        .and_then(|n| n.strip_prefix('.'))
                        .and_then(|n| code.module_function(n))
                        .is_some_and(|(id, f)| !f.is_async && code.calls_in(id).any(runs_loop)))
        });
    if !starts_loop {
        return false;
    }
    let serves = code.calls.iter().any(starts_or_builds_server)
        || cx
            .service
            .is_some_and(|s| s.apps.iter().any(|a| a.at.file == file));
    !serves && !imported_elsewhere(cx.project, file, &code.module)
}

/// True when a file of the project other than `file` itself (tests aside) may import the
/// module: an import naming any dotted suffix of its path (imports name a module relative to
/// some import root, as the symbol table matches them), or something inside it.
fn imported_elsewhere(project: &Project, file: FileId, module: &str) -> bool {
    let suffixes: Vec<&str> = std::iter::once(module)
        .chain(module.match_indices('.').map(|(i, _)| &module[i + 1..]))
        .collect();
    let names = |path: &str| {
        suffixes.iter().any(|s| {
            path.strip_prefix(s)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
        })
    };
    project.code.iter().enumerate().any(|(id, code)| {
        let Some(code) = code else { return false };
        id as FileId != file
            && !project.file(id as FileId).is_test()
            && code
                .imports
                .iter()
                .any(|i| !i.type_checking && (names(&i.target) || names(&i.full)))
    })
}
