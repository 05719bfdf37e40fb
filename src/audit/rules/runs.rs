//! Which functions of a service may run while it serves: a forward walk of the calls from
//! everything the service starts with, over-approximated wherever the audit cannot tell.
//!
//! Rules that judge code by whether it is on a path of the service (LG001: a print in SDK
//! code the server never calls is the package users' output, not the server's log) ask
//! [`super::UnitIndex::may_run`]. The walk errs towards "may run": a call the audit cannot
//! resolve (`store.materialize()` on an object of unknown class) reaches every function of
//! the service with that name, and every function the framework or a decorator may call
//! without a visible call is a start. So "may not run" is a claim the code supports: no
//! path of calls, by any receiver, leads to the function from the service's start.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use crate::audit::model::code::{RefOrigin, Value};
use crate::audit::model::{CodeFile, FnRef, Project, Ref, Service, Symbol};
use crate::audit::source::{FileId, FileRole};

/// Decorators that only make a method a property, a class or static method, a cached value,
/// an overload or an abstract declaration: none of them registers the function with a
/// framework that calls it later, so a function carrying only these starts nothing.
const PLAIN_DECORATORS: &[&str] = &[
    "property",
    "staticmethod",
    "classmethod",
    "cached_property",
    "abstractmethod",
    "overload",
    "override",
    "setter",
    "getter",
    "deleter",
    "wraps",
    "lru_cache",
    "cache",
    "contextmanager",
    "asynccontextmanager",
    "deprecated",
];

/// The functions of the service's own code (not tests, scripts or scaffolding) that some
/// path of the service may run. Starts: the handlers, dependencies and middleware
/// (`entry_points`), tasks, lifespan functions, every call at module or class level outside
/// a `__main__` block, every function named as a value (a callback), carrying a decorator
/// that may register it (anything but a click/typer command or [`PLAIN_DECORATORS`]), and,
/// of a class the service's code builds, subclasses or names, every dunder, decorated method
/// and method of a class with a base from outside the service (the framework calls its
/// overrides). From each function the walk follows its nested functions and its calls:
/// to the function a call resolves to, or, when it resolves to nothing of the service, to
/// every method with the callee's last name (`obj.name()`) or every other function with
/// that name (`name()`).
pub(super) fn may_run(project: &Project, service: &Service, files: &[FileId]) -> HashSet<FnRef> {
    let code: Vec<(FileId, &CodeFile)> = project
        .code_files(files)
        .filter(|(_, f, _)| f.role == FileRole::Service)
        .map(|(id, _, c)| (id, c))
        .collect();
    let code_of: HashMap<FileId, &CodeFile> = code.iter().copied().collect();
    let mut by_name: HashMap<&str, Vec<FnRef>> = HashMap::default();
    let mut children: HashMap<FnRef, Vec<FnRef>> = HashMap::default();
    let mut values: Vec<&Ref> = Vec::new();
    let mut queue: Vec<FnRef> = Vec::new();
    queue.extend(service.entry_points.iter().copied());
    queue.extend(service.tasks.iter().map(|t| t.func));
    queue.extend(service.apps.iter().flat_map(|a| a.lifespan.iter().copied()));
    // Names a class may be used by: every callee's and base's last name and every name
    // handed around as a value, in the service's own code. A method the framework or Python
    // calls (a dunder, an override of an outside base, a decorated validator) runs only for a
    // class something uses: `DocEmbedder.__init__` of an SDK class the server never builds
    // starts nothing.
    let mut used: HashSet<&str> = HashSet::default();
    for &(file, c) in &code {
        for call in &c.calls {
            used.insert(call.callee.last());
            for v in call.args.iter().map(|a| &a.value) {
                value_refs(v, &mut |r| values.push(r));
            }
            for v in call.kwargs.iter().map(|k| &k.value) {
                value_refs(v, &mut |r| values.push(r));
            }
        }
        for k in &c.classes {
            used.extend(k.bases.iter().map(|b| b.last()));
        }
        for a in c.assigns.iter().chain(&c.extends) {
            value_refs(&a.value, &mut |r| values.push(r));
        }
        for a in &c.attr_assigns {
            value_refs(&a.value, &mut |r| values.push(r));
        }
        for (i, f) in c.functions.iter().enumerate() {
            let at = FnRef {
                file,
                func: i as u32,
            };
            by_name.entry(&f.name).or_default().push(at);
            if let Some(parent) = f.parent {
                children
                    .entry(FnRef { file, func: parent })
                    .or_default()
                    .push(at);
            }
            for d in &f.decorators {
                value_refs(&d.value, &mut |r| values.push(r));
            }
            for r in &f.returns {
                values.push(r);
            }
        }
    }
    let referenced: HashSet<&str> = values.iter().map(|r| r.last()).collect();
    for &(file, c) in &code {
        for (i, f) in c.functions.iter().enumerate() {
            let dunder = is_dunder(&f.name);
            let registers = f.decorators.iter().any(|d| !plain_decorator(c, &d.value));
            let start = match f.class.as_deref() {
                None => registers,
                Some(class) => {
                    let k = c
                        .classes
                        .iter()
                        .find(|k| *k.qual == *class || *k.name == *class);
                    let overrides = k.is_none_or(|k| {
                        k.bases.iter().any(|b| {
                            !b.is("object")
                                && !matches!(
                                    project.resolve(service, b),
                                    Some(Symbol::Class { .. })
                                )
                        })
                    });
                    let name = k.map_or(class, |k| &*k.name);
                    (dunder || registers || overrides)
                        && (used.contains(name) || referenced.contains(name))
                }
            };
            if start {
                queue.push(FnRef {
                    file,
                    func: i as u32,
                });
            }
        }
    }
    // A function handed around as a value (a callback, a handler registered by reference)
    // may run wherever it is handed: the one it resolves to, or, through an attribute
    // (`self.on_message`), every method of that name. A bare name that resolves to nothing
    // is a local or a parameter (`return plan`), not a function of the service; a nested
    // function runs with the one around it.
    for r in values {
        match project.resolve(service, r) {
            Some(Symbol::Function(f)) => queue.push(f),
            Some(_) => {}
            // An import the audit could not follow into the service (a re-export it does not
            // see) may still name one of its functions; a local, a module's variable or a
            // builtin names none.
            None => {
                let method = r.path.contains('.') && r.origin == RefOrigin::Unknown;
                if method || r.origin == RefOrigin::Import {
                    queue.extend(
                        by_name.get(r.last()).into_iter().flatten().filter(|f| {
                            code_of[&f.file].function(f.func).class.is_some() == method
                        }),
                    );
                }
            }
        }
    }
    // Each function's own calls, and the module-level calls (a start each), by file.
    let mut calls_of: HashMap<FnRef, Vec<u32>> = HashMap::default();
    let mut module_calls: Vec<(FileId, u32)> = Vec::new();
    for &(file, c) in &code {
        for (i, call) in c.calls.iter().enumerate() {
            match call.func {
                Some(func) => calls_of
                    .entry(FnRef { file, func })
                    .or_default()
                    .push(i as u32),
                None if !c.in_main_guard(call.range) => module_calls.push((file, i as u32)),
                None => {}
            }
        }
    }
    let mut seen: HashSet<FnRef> = HashSet::default();
    let targets = |file: FileId, i: u32, out: &mut Vec<FnRef>| {
        let call = &code_of[&file].calls[i as usize];
        if call.callee.origin == RefOrigin::Builtin {
            return;
        }
        match project.resolve(service, &call.callee) {
            Some(Symbol::Function(f)) => out.push(f),
            // A class: its dunders are starts already.
            Some(Symbol::Class { .. }) => {}
            // Unresolved: `obj.name()` may be any method of that name (the class of `obj`
            // is unknown), and a bare `name()` any function of that name outside a class
            // (one defined in a scope the front end does not follow). A module's function
            // called as an attribute resolves through its import, and one handed around as
            // a value (`self.callback = plan`) is a start already.
            // A dunder runs with its class (see `used` above): `super().__init__()` is no
            // call of every `__init__`.
            _ if is_dunder(call.callee.last()) => {}
            _ => {
                let method = call.callee.path.contains('.');
                if let Some(fs) = by_name.get(call.callee.last()) {
                    out.extend(fs.iter().copied().filter(|f| {
                        let is_method = code_of[&f.file].function(f.func).class.is_some();
                        is_method == method
                    }));
                }
            }
        }
    };
    for &(file, i) in &module_calls {
        targets(file, i, &mut queue);
    }
    while let Some(f) = queue.pop() {
        if !seen.insert(f) {
            continue;
        }
        if let Some(nested) = children.get(&f) {
            queue.extend(nested.iter().copied());
        }
        if let Some(calls) = calls_of.get(&f) {
            for &i in calls {
                targets(f.file, i, &mut queue);
            }
        }
    }
    seen
}

/// A decorator that registers nothing: one of [`PLAIN_DECORATORS`] (`@property`,
/// `@functools.lru_cache(maxsize=1)`, `@name.setter`), or a click/typer command, which runs
/// from the command line rather than the service.
fn plain_decorator(code: &CodeFile, value: &Value) -> bool {
    let callee = match value {
        Value::Call(c) => &c.callee,
        Value::Ref(r) => r,
        _ => return false,
    };
    PLAIN_DECORATORS.contains(&callee.last())
        || super::cli::is_cli_decorator(value)
        || super::cli::is_local_group_command(code, value)
}

/// Every name in `v`, however deeply nested in lists and dicts: the names the code hands
/// around as values.
pub(super) fn value_refs<'a>(v: &'a Value, out: &mut impl FnMut(&'a Ref)) {
    match v {
        Value::Ref(r) => out(r),
        Value::List(items) | Value::Tuple(items) | Value::Set(items) | Value::Either(items) => {
            items.iter().for_each(|i| value_refs(i, out));
        }
        Value::Dict(items) => items.iter().for_each(|(k, v)| {
            value_refs(k, out);
            value_refs(v, out);
        }),
        // A call in a value is one of the file's calls too (`Depends(get_db)` as a default),
        // whose arguments the scan of the calls reads: no need to walk it twice.
        Value::Call(_) => {}
        Value::Subscript(s) => {
            value_refs(&s.0, out);
            s.1.iter().for_each(|i| value_refs(i, out));
        }
        _ => {}
    }
}

/// The last component of every name in `v` (see [`value_refs`]).
pub(super) fn value_names<'a>(v: &'a Value, out: &mut HashSet<&'a str>) {
    value_refs(v, &mut |r: &'a Ref| {
        out.insert(r.last());
    });
}

fn is_dunder(name: &str) -> bool {
    name.len() > 4 && name.starts_with("__") && name.ends_with("__")
}
