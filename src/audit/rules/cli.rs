//! Command-line commands: functions a click or typer command runs, whose output is for the
//! person at the terminal, before any server starts.

use crate::audit::model::CodeFile;
use crate::audit::model::code::{FnId, RefOrigin, Value};

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
