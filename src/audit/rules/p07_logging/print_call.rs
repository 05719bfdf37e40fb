//! LG001 `print-call`: `print()` in service code.

use crate::audit::rules::prelude::*;

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
`@app.command()` on a `typer.Typer()`, and the functions defined inside it: terminal output
for the person running the command, before any server starts) are left alone.

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
    for (file, _, code) in cx.service_code() {
        for call in &code.calls {
            if call.callee.is("print")
                && !code.in_main_guard(call.range)
                && !in_cli_command(code, call.func)
            {
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
}

/// The function `func`, or one enclosing it, is a click or typer command.
fn in_cli_command(code: &CodeFile, mut func: Option<FnId>) -> bool {
    while let Some(id) = func {
        let f = code.function(id);
        if f.decorators.iter().any(|d| is_cli_decorator(&d.value)) {
            return true;
        }
        func = f.parent;
    }
    false
}

/// `@app.command()` on a `typer.Typer()`, `@click.command()`, `@cli.group()`, `@app.callback()`.
fn is_cli_decorator(value: &Value) -> bool {
    let callee = match value {
        Value::Call(c) => &c.callee,
        Value::Ref(r) => r,
        _ => return false,
    };
    (callee.in_module("typer") || callee.in_module("click"))
        && matches!(callee.last(), "command" | "group" | "callback")
}
