//! Whether a function of a service may run while it serves: some path of calls leads to it
//! from what the service starts with, over-approximated wherever the audit cannot tell.
//!
//! Rules that judge code by whether it is on a path of the service (LG001: a print in SDK
//! code the server never calls is the package users' output, not the server's log) ask
//! [`Runs::may_run`]. The answer errs towards "may run": a call the audit cannot resolve
//! (`store.materialize()` on an object of unknown class) may run every method of the
//! service with that name, and every function the framework or a decorator may call without
//! a visible call is a start. So "may not run" is a claim the code supports: no path of
//! calls, by any receiver, leads to the function from the service's start.
//!
//! The search runs backwards from the function asked about, through the callers of its name
//! (the unit's calls-by-name index), rather than forwards from every start: a rule asks of a
//! handful of functions, and the forward walk over all of prefect's code cost 40 ms, more
//! than the rest of the rules together.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use super::Context;
use crate::audit::model::code::{RefOrigin, Value};
use crate::audit::model::{CodeFile, FnRef, Ref, Service, Symbol};
use crate::audit::source::FileRole;

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

/// The answers worked out so far for one rule's check of one unit.
pub(super) struct Runs<'c, 'a> {
    cx: &'c Context<'a>,
    service: &'a Service,
    /// Per function: may run (`Some(true)`), shown not to (`Some(false)`), or being worked
    /// out (`None`).
    memo: HashMap<FnRef, Option<bool>>,
    /// The search below the current question met a function being worked out.
    through_cycle: bool,
    /// Every name the service's code hands around as a value (an argument, an assignment, a
    /// decorator, a returned name) that ends in a function's or class's name of the
    /// service, by that last component; built on first use.
    values: Option<HashMap<&'a str, Vec<&'a Ref>>>,
    /// The last names of the bases of the service's classes; built on first use.
    bases: Option<HashSet<&'a str>>,
}

impl<'c, 'a> Runs<'c, 'a> {
    pub(super) fn new(cx: &'c Context<'a>, service: &'a Service) -> Self {
        Runs {
            cx,
            service,
            memo: HashMap::default(),
            through_cycle: false,
            values: None,
            bases: None,
        }
    }

    /// Some path of the service may run `f`. Starts: the handlers, dependencies and
    /// middleware (`entry_points`), tasks, lifespan functions, every call at module or class
    /// level outside a `__main__` block, every function named as a value (a callback) or
    /// carrying a decorator that may register it (anything but a click/typer command or
    /// [`PLAIN_DECORATORS`]), and, of a class the service's code builds, subclasses or names,
    /// every dunder, decorated method and method of a class with a base from outside the
    /// service (the framework calls its overrides). A nested function runs when the one
    /// around it does; any other runs when one of its callers does: a call that resolves
    /// to it, or, resolving to nothing of the service, a call of its name on any receiver
    /// (`obj.name()`) for a method, a bare `name()` for another function.
    pub(super) fn may_run(&mut self, f: FnRef) -> bool {
        match self.memo.get(&f) {
            Some(&Some(known)) => return known,
            // Being worked out further up: a cycle of callers starts nothing by itself, but
            // a "no" found through it holds only once the function up there is answered.
            Some(None) => {
                self.through_cycle = true;
                return false;
            }
            None => {}
        }
        self.memo.insert(f, None);
        let outer = std::mem::replace(&mut self.through_cycle, false);
        let answer = self.search(f);
        if answer || !self.through_cycle {
            self.memo.insert(f, Some(answer));
        } else {
            self.memo.remove(&f);
        }
        self.through_cycle |= outer;
        answer
    }

    fn search(&mut self, f: FnRef) -> bool {
        let (cx, service) = (self.cx, self.service);
        let Some(code) = cx.project.code(f.file) else {
            return true;
        };
        let function = code.function(f.func);
        if cx.is_entry_point(f)
            || service.tasks.iter().any(|t| t.func == f)
            || service.apps.iter().any(|a| a.lifespan.contains(&f))
        {
            return true;
        }
        if let Some(parent) = function.parent {
            return self.may_run(FnRef {
                file: f.file,
                func: parent,
            });
        }
        let registers = function
            .decorators
            .iter()
            .any(|d| !plain_decorator(code, &d.value));
        let method = function.class.is_some();
        if let Some(class) = function.class.as_deref() {
            // What Python or a framework calls runs only for a class something uses.
            let name = class.rsplit('.').next().unwrap_or(class);
            if self.class_used(name)
                && (is_dunder(&function.name)
                    || registers
                    || outside_base(cx, service, code, class))
            {
                return true;
            }
        } else if registers {
            return true;
        }
        // A dunder runs with its class, not through `super().__init__()` of every class.
        if is_dunder(&function.name) {
            return self.handed_around(f, &function.name, method);
        }
        for &(file, call) in cx.index.calls_named(&function.name) {
            if call.callee.origin == RefOrigin::Builtin {
                continue;
            }
            let source = cx.project.file(file);
            if source.role != FileRole::Service {
                continue;
            }
            let targets_f = match cx.project.resolve(service, &call.callee) {
                Some(Symbol::Function(g)) => g == f,
                Some(_) => false,
                None => call.callee.path.contains('.') == method,
            };
            if !targets_f {
                continue;
            }
            let Some(caller_code) = cx.project.code(file) else {
                continue;
            };
            let runs = match call.func {
                None => !caller_code.in_main_guard(call.range),
                Some(func) => self.may_run(FnRef { file, func }),
            };
            if runs {
                return true;
            }
        }
        // Last, as the index of values is built on first use: most functions asked about
        // have a caller that runs.
        self.handed_around(f, &function.name, method)
    }

    /// Something in the service's code builds, subclasses or names the class `name`.
    fn class_used(&mut self, name: &str) -> bool {
        let cx = self.cx;
        if cx
            .index
            .calls_named(name)
            .iter()
            .any(|&(file, _)| cx.project.file(file).role == FileRole::Service)
        {
            return true;
        }
        let bases = self.bases.get_or_insert_with(|| {
            cx.service_code()
                .flat_map(|(_, _, code)| code.classes.iter())
                .flat_map(|k| k.bases.iter().map(|b| b.last()))
                .collect()
        });
        bases.contains(name) || self.values().contains_key(name)
    }

    /// `f` (named `name`) is handed around as a value somewhere in the service: a name that
    /// resolves to it, or, resolving to nothing, an attribute of that name for a method
    /// (`self.on_message`) or an import for another function. A bare name that resolves to
    /// nothing is a local or a parameter (`return plan`), not a function of the service.
    fn handed_around(&mut self, f: FnRef, name: &str, method: bool) -> bool {
        let (project, service) = (self.cx.project, self.service);
        let Some(refs) = self.values().get(name) else {
            return false;
        };
        refs.iter().any(|r| match project.resolve(service, r) {
            Some(Symbol::Function(g)) => g == f,
            Some(_) => false,
            None if method => r.origin == RefOrigin::Unknown && r.path.contains('.'),
            None => r.origin == RefOrigin::Import,
        })
    }

    /// Nothing in the service calls `f` by name (no call of that name at all, whatever its
    /// receiver) or names it: it is passed nowhere as a value (a callback, a handler
    /// registered by reference), carries no decorator that could register it, is no dunder
    /// method Python calls itself, and is no method of a class with a base from outside the
    /// service, whose framework may call the overrides (`dispatch`, `emit`, `run`). No path of
    /// the service reaches such a function (a debugging helper, SDK code for the package's
    /// users, a coroutine left behind by a refactor): nothing it does is the server's work.
    /// Narrower than [`Runs::may_run`], which also follows who calls the callers.
    pub(super) fn never_referenced(&mut self, code: &CodeFile, f: FnRef) -> bool {
        let (cx, service) = (self.cx, self.service);
        let function = code.function(f.func);
        // Any call by the name may run it: `source.paid_invoices_stream()` on an object whose
        // class the audit does not know, or a call of a base class's method it overrides.
        if !function.decorators.is_empty()
            || (function.name.starts_with("__") && function.name.ends_with("__"))
            || !cx.index.calls_named(&function.name).is_empty()
        {
            return false;
        }
        if let Some(class) = function.class.as_deref() {
            let Some(class) = code
                .classes
                .iter()
                .find(|c| *c.qual == *class || *c.name == *class)
            else {
                return false;
            };
            let own_base = |b: &Ref| {
                b.is("object")
                    || matches!(
                        cx.project.resolve(service, b),
                        Some(crate::audit::model::Symbol::Class { .. })
                    )
            };
            if !class.bases.iter().all(own_base) {
                return false;
            }
        }
        !self.names_a_value(&function.name)
    }

    /// Some name the service's code hands around as a value ends in `name` (a function's or
    /// class's name of the service), whatever it resolves to.
    pub(super) fn names_a_value(&mut self, name: &str) -> bool {
        self.values().contains_key(name)
    }

    fn values(&mut self) -> &HashMap<&'a str, Vec<&'a Ref>> {
        let cx = self.cx;
        self.values.get_or_insert_with(|| {
            // Only names a function or class of the service bears are asked about: keeping
            // the others (every local passed to a call) cost half of LG001 on prefect.
            let named: HashSet<&str> = cx
                .service_code()
                .flat_map(|(_, _, code)| {
                    let functions = code.functions.iter().map(|f| &*f.name);
                    functions.chain(code.classes.iter().map(|k| &*k.name))
                })
                .collect();
            let mut values: HashMap<&'a str, Vec<&'a Ref>> = HashMap::default();
            let mut add = |r: &'a Ref| {
                if named.contains(r.last()) {
                    values.entry(r.last()).or_default().push(r);
                }
            };
            for (_, _, code) in cx.service_code() {
                for call in &code.calls {
                    for v in call.args.iter().map(|a| &a.value) {
                        value_refs(v, &mut add);
                    }
                    for v in call.kwargs.iter().map(|k| &k.value) {
                        value_refs(v, &mut add);
                    }
                }
                for a in code.assigns.iter().chain(&code.extends) {
                    value_refs(&a.value, &mut add);
                }
                for a in &code.attr_assigns {
                    value_refs(&a.value, &mut add);
                }
                for v in &code.loop_values {
                    value_refs(v, &mut add);
                }
                for func in &code.functions {
                    for d in &func.decorators {
                        value_refs(&d.value, &mut add);
                    }
                    func.returns.iter().for_each(&mut add);
                }
            }
            values
        })
    }
}

/// The class (named `class` in `code`) has a base from outside the service, whose framework
/// may call its overrides (`logging.Handler.emit`); a class the audit cannot find may too.
fn outside_base(cx: &Context, service: &Service, code: &CodeFile, class: &str) -> bool {
    code.classes
        .iter()
        .find(|k| *k.qual == *class || *k.name == *class)
        .is_none_or(|k| {
            k.bases.iter().any(|b| {
                !b.is("object")
                    && !matches!(cx.project.resolve(service, b), Some(Symbol::Class { .. }))
            })
        })
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
fn value_refs<'a>(v: &'a Value, out: &mut impl FnMut(&'a Ref)) {
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

fn is_dunder(name: &str) -> bool {
    name.len() > 4 && name.starts_with("__") && name.ends_with("__")
}
