//! The facts a language front end extracts from one source file.
//!
//! This vocabulary is language-neutral: functions, calls, imports, assignments, classes and
//! literal values, with names already resolved to dotted paths where the front end could. The
//! Python front end fills it today; a Rust (syn) front end can fill the same structures. Rules
//! never see a syntax tree: they read these facts through the service model.

use ruff_text_size::TextRange;

pub use super::name::Name;

/// Index of a function within its file's [`CodeFile::functions`].
pub type FnId = u32;

/// A name as the code refers to it, resolved as far as one file allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ref {
    /// The dotted path: an imported name's full path (`fastapi.Depends`), a module-level name
    /// of this file prefixed by the module (`app.deps.get_user`), a local variable prefixed by
    /// its function (`app.main.create_app.app`), a builtin (`open`), or the code's own text.
    pub path: Name,
    pub origin: RefOrigin,
    /// When the base name holds the result of a resolved call (`client = httpx.Client()`),
    /// the same reference through that call: `httpx.Client().get`.
    pub instance: Option<Name>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefOrigin {
    /// Came through an import; `path` starts with the imported module.
    Import,
    /// A name defined at module level in this file.
    Module,
    /// A local variable of a function that holds the result of a resolved call.
    Local,
    /// A builtin name that nothing in scope shadows.
    Builtin,
    /// The result of a call (`httpx.AsyncClient().get`).
    Instance,
    /// A parameter, local variable or attribute chain that could not be resolved.
    Unknown,
}

impl Ref {
    pub fn unknown(text: impl Into<Name>) -> Self {
        Ref {
            path: text.into(),
            origin: RefOrigin::Unknown,
            instance: None,
        }
    }

    fn paths(&self) -> impl Iterator<Item = &str> {
        let known = self.origin != RefOrigin::Unknown;
        known
            .then_some(&*self.path)
            .into_iter()
            .chain(self.instance.as_deref())
    }

    /// True when the reference resolves to `path`, by name or through an instance.
    pub fn is(&self, path: &str) -> bool {
        self.paths().any(|p| p == path)
    }

    /// True when the resolved path is one of `paths`.
    pub fn is_any(&self, paths: &[&str]) -> bool {
        self.paths().any(|p| paths.contains(&p))
    }

    /// True when the resolved path lies in the module `prefix` (`requests` matches
    /// `requests.get` and `requests.Session().get` but not `requests_oauthlib.x`).
    pub fn in_module(&self, prefix: &str) -> bool {
        self.paths().any(|p| {
            p.strip_prefix(prefix).is_some_and(|rest| {
                rest.is_empty() || rest.starts_with('.') || rest.starts_with('(')
            })
        })
    }

    /// The instance form when there is one, else the path.
    pub fn effective(&self) -> &str {
        self.instance.as_deref().unwrap_or(&self.path)
    }

    /// The last dotted component (`get` for `requests.get`).
    pub fn last(&self) -> &str {
        // Rules ask this of every call: memrchr rather than a char searcher.
        match memchr::memrchr(b'.', self.path.as_bytes()) {
            Some(dot) => &self.path[dot + 1..],
            None => &self.path,
        }
    }
}

/// A literal or structural summary of an expression, deep enough for rules to read
/// arguments (`allow_origins=["*"]`, `options={"verify_signature": False}`).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(Box<str>),
    Int(i64),
    Float(f64),
    Bool(bool),
    None,
    Bytes,
    /// An f-string or other string built at run time, with its literal text up to the first
    /// interpolation (`sqlite:///` for `f"sqlite:///{path}"`; empty when it starts with one).
    FormattedStr(Box<str>),
    Ref(Ref),
    List(Box<[Value]>),
    Tuple(Box<[Value]>),
    Set(Box<[Value]>),
    Dict(Box<[(Value, Value)]>),
    Call(Box<CallValue>),
    /// `base[items]`, e.g. `Annotated[User, Depends(get_user)]`: the base, then the items.
    /// Boxed whole, so that the rare subscript does not widen every value.
    Subscript(Box<(Value, Box<[Value]>)>),
    /// A conditional or boolean expression: any of these values may result.
    Either(Box<[Value]>),
    /// Strings joined with `+`, in order (`API + VERSION_1 + "/webhooks"`): kept when every
    /// part is a string literal, an f-string or a name, and one of them a literal or a
    /// constant's name (upper case), so that a path prefix built from constants can be read.
    Concat(Box<[Value]>),
    /// Anything else (arithmetic, comprehensions, lambdas, values cut off for depth).
    Other,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CallValue {
    pub callee: Ref,
    pub args: Box<[Value]>,
    pub kwargs: Box<[(Name, Value)]>,
    pub range: TextRange,
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_name(&self) -> Option<&Ref> {
        match self {
            Value::Ref(r) => Some(r),
            _ => None,
        }
    }

    pub fn as_call(&self) -> Option<&CallValue> {
        match self {
            Value::Call(c) => Some(c),
            _ => None,
        }
    }

    pub fn is_none(&self) -> bool {
        matches!(self, Value::None)
    }

    /// Elements of a list, tuple or set literal.
    pub fn elements(&self) -> Option<&[Value]> {
        match self {
            Value::List(v) | Value::Tuple(v) | Value::Set(v) => Some(v),
            _ => None,
        }
    }

    /// Value of a string key in a dict literal.
    pub fn dict_get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Dict(items) => items
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// Every call nested anywhere in this value, outermost first.
    pub fn calls(&self) -> Vec<&CallValue> {
        let mut out = Vec::new();
        self.collect_calls(&mut out);
        out
    }

    fn collect_calls<'a>(&'a self, out: &mut Vec<&'a CallValue>) {
        match self {
            Value::Call(c) => {
                out.push(c);
                for a in &c.args {
                    a.collect_calls(out);
                }
                for (_, v) in &c.kwargs {
                    v.collect_calls(out);
                }
            }
            Value::List(v) | Value::Tuple(v) | Value::Set(v) | Value::Either(v) => {
                v.iter().for_each(|x| x.collect_calls(out))
            }
            Value::Dict(items) => items.iter().for_each(|(k, v)| {
                k.collect_calls(out);
                v.collect_calls(out);
            }),
            Value::Subscript(sub) => {
                let (base, items) = &**sub;
                base.collect_calls(out);
                items.iter().for_each(|x| x.collect_calls(out));
            }
            _ => {}
        }
    }
}

impl CallValue {
    pub fn kwarg(&self, name: &str) -> Option<&Value> {
        self.kwargs
            .iter()
            .find(|(k, _)| &**k == name)
            .map(|(_, v)| v)
    }
}

/// One call site.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub callee: Ref,
    pub args: Box<[Arg]>,
    pub kwargs: Box<[Kwarg]>,
    /// `**kwargs` was passed: any keyword may be present.
    pub has_star_kwargs: bool,
    /// The whole call expression.
    pub range: TextRange,
    /// The callee expression (`requests.get` in `requests.get(url)`): where findings point.
    pub callee_range: TextRange,
    /// The innermost enclosing function, if any.
    pub func: Option<FnId>,
    /// The call sits in a lambda or comprehension run later, not in `func`'s own body.
    pub deferred: bool,
    /// The call is the object of `with` / `async with`.
    pub in_with: bool,
    /// The call's value is awaited.
    pub awaited: bool,
    /// The call runs only when the test of an enclosing `if` / `elif` / `else` (or a `match`
    /// case) in its own function or module body holds: a branch chosen at run time. The
    /// `if __name__ == "__main__":` and `if TYPE_CHECKING:` blocks do not count.
    pub conditional: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Arg {
    pub value: Value,
    pub range: TextRange,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Kwarg {
    pub name: Name,
    pub value: Value,
    pub range: TextRange,
}

impl Call {
    pub fn kwarg(&self, name: &str) -> Option<&Kwarg> {
        self.kwargs.iter().find(|k| &*k.name == name)
    }

    /// The argument given by keyword `name` or at position `pos`.
    pub fn arg(&self, pos: usize, name: &str) -> Option<&Value> {
        self.kwarg(name)
            .map(|k| &k.value)
            .or_else(|| self.args.get(pos).map(|a| &a.value))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Function {
    pub name: Name,
    /// Dotted path: module, enclosing classes and functions, name.
    pub qual: Name,
    pub is_async: bool,
    /// The whole definition, decorators included.
    pub range: TextRange,
    /// The name in the `def` line: where function-level findings point.
    pub name_range: TextRange,
    pub parent: Option<FnId>,
    /// Name of the class this is a method of.
    pub class: Option<Name>,
    pub decorators: Vec<Arg>,
    pub params: Vec<Param>,
    /// Names declared `global` in this function.
    pub globals: Vec<Name>,
    /// The function contains `yield` (a generator; for dependencies: setup/teardown).
    pub is_generator: bool,
    /// The names its own `return` statements give back (`return router`), so that a router
    /// built by a factory function can be followed to where the factory's result is included.
    /// Other returned expressions are not kept.
    pub returns: Vec<Ref>,
    /// The string literals and f-strings its own `return` statements give back (a URL or path
    /// a settings helper builds: `return f"sqlite:///{path}"`). Other values are not kept.
    pub returned_strings: Vec<Arg>,
    /// What its own `return` statements give back, as far as the facts can tell.
    pub answers: Answers,
}

/// What a function's own `return` statements give back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Answers {
    /// No `return` gives back a value: the function answers `None`, or only raises.
    #[default]
    Nothing,
    /// Every `return` with a value gives back a literal (a string, number, `None`, or a list,
    /// tuple or dict of them) or a call's result; the calls are facts of their own.
    Literals,
    /// Some `return` gives back a name, an attribute, an f-string, arithmetic: what the
    /// function answers may be data the facts do not show (`return ADMINS`, `return
    /// {"admins": ADMINS}`).
    Computed,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: Name,
    pub annotation: Option<Value>,
    pub default: Option<Value>,
    pub range: TextRange,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Import {
    /// The name bound in this file (`np` for `import numpy as np`).
    pub local: Name,
    /// The full dotted path imported (`numpy`, `fastapi.Depends`).
    pub target: Name,
    /// The dotted path the statement names: `a.b` for `import a.b`, whose `target` is the bound
    /// `a`; the same as `target` otherwise.
    pub full: Name,
    pub range: TextRange,
    /// The function it is imported in (lazy imports), if any.
    pub func: Option<FnId>,
    /// The name is referenced somewhere in the file besides the import itself.
    pub used: bool,
    /// The import sits in an `if TYPE_CHECKING:` block, so it never runs.
    pub type_checking: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Module,
    Class,
    Function(FnId),
}

/// An assignment to a plain name (`x = ...`, `x: T = ...`).
#[derive(Debug, Clone, PartialEq)]
pub struct Assign {
    pub target: Name,
    pub value: Value,
    /// The annotation, for `x: T = v`.
    pub annotation: Option<Value>,
    pub range: TextRange,
    pub target_range: TextRange,
    pub value_range: TextRange,
    pub scope: Scope,
    /// For class scope: the class name.
    pub class: Option<Name>,
}

/// An attribute assignment (`app.conf.task_acks_late = True`, `app.debug = True`).
#[derive(Debug, Clone, PartialEq)]
pub struct AttrAssign {
    /// The target, resolved like a call's callee (`app.main.app.debug`).
    pub target: Ref,
    pub value: Value,
    pub range: TextRange,
    pub func: Option<FnId>,
    /// The assignment sits in a branch chosen at run time (see [`Call::conditional`]).
    pub conditional: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MutationKind {
    /// `x[k] = v`, `x[k] += v`
    ItemStore,
    /// `del x[k]`
    ItemDelete,
    /// `global x` then `x = ...` / `x += ...`
    GlobalRebind,
    /// `x.append(...)`, `x.update(...)` and the other mutating methods.
    MethodCall,
}

/// Methods that change a list, dict, set or deque in place: a call of one on a module-level
/// name is a [`Mutation`].
pub const MUTATING_METHODS: &[&str] = &[
    "append",
    "appendleft",
    "extend",
    "extendleft",
    "insert",
    "add",
    "update",
    "setdefault",
    "pop",
    "popitem",
    "popleft",
    "remove",
    "discard",
    "clear",
    "__setitem__",
];

/// A function writing to a module-level name, of its own module or of an imported one
/// (`state.cache[k] = v`, `state.events.append(e)`, `state.events += [e]` after
/// `from app import state`).
#[derive(Debug, Clone, PartialEq)]
pub struct Mutation {
    /// The module-level name, qualified like a [`Ref`] (`app.state.CACHE`); for an imported
    /// module's name, the path the import resolves to.
    pub target: Name,
    pub kind: MutationKind,
    pub func: FnId,
    pub range: TextRange,
    /// What the write adds: `1` for `x += v` and for an entry put in a container (`x[k] = v`,
    /// `x.add(v)`, `x.append(v)`), `-1` for `x -= v` and for an entry taken out (`del x[k]`,
    /// `x.pop(k)`, `x.discard(v)`), `0` for any other write. A count raised and lowered, or an
    /// entry put in and taken out, in one function is work in flight.
    pub step: i8,
    /// The write runs only when the test of an enclosing `if` / `elif` / `else` (or a `match`
    /// case) in its function holds, as for [`Call::conditional`].
    pub conditional: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Class {
    pub name: Name,
    pub qual: Name,
    pub bases: Vec<Ref>,
    /// Class keyword arguments other than the metaclass (e.g. `env_prefix=`).
    pub range: TextRange,
    pub name_range: TextRange,
}

/// How a [`BranchTest`] compares its operands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    NotEq,
    /// `left in right`
    In,
    /// `left not in right`
    NotIn,
    /// `left is None` (a memo or an unset option). `is not None` is not kept: no rule reads
    /// it, and every fact is held until the audit ends.
    IsNone,
}

/// A comparison that decides a branch: the test of an `if` / `elif` (or one operand of an
/// `and` test, which must hold too), with the statements that run only when it holds.
/// Identity tests are kept only as `is None` (`right` is then `Value::None`). Rules
/// read what a branch depends on (`"*" in allowed_origins`) and what it does when a value
/// matches (`if password == KNOWN_BAD: raise ...`).
#[derive(Debug, Clone, PartialEq)]
pub struct BranchTest {
    pub left: Value,
    pub op: CompareOp,
    pub right: Value,
    /// The comparison expression.
    pub range: TextRange,
    /// The branch's own statements, first to last.
    pub body: TextRange,
    /// One of the branch's own statements (not nested deeper) raises: the branch refuses.
    pub body_raises: bool,
}

impl BranchTest {
    /// The operands, left first.
    pub fn operands(&self) -> [&Value; 2] {
        [&self.left, &self.right]
    }
}

/// A string literal that reads like an HTTP header name (`Content-Security-Policy`).
#[derive(Debug, Clone, PartialEq)]
pub struct HeaderName {
    pub lower: Name,
    pub range: TextRange,
}

/// A `# svc: ignore[...]` comment.
#[derive(Debug, Clone, PartialEq)]
pub struct SuppressionComment {
    /// Rule codes or names listed; empty means every rule, unless `empty_list`.
    pub rules: Vec<Box<str>>,
    /// Brackets with no rule in them (`ignore[]`, `ignore[ , ]`): most likely a list left to
    /// fill in, so it suppresses nothing and is reported, where no brackets means every rule.
    pub empty_list: bool,
    pub file_level: bool,
    pub range: TextRange,
}

/// Everything the front end learned about one source file.
#[derive(Debug, Default)]
pub struct CodeFile {
    /// Dotted module path relative to the audited root (`services.orders.app.main`).
    pub module: Name,
    pub functions: Vec<Function>,
    pub calls: Vec<Call>,
    pub imports: Vec<Import>,
    pub assigns: Vec<Assign>,
    /// `x += value` to a plain name: a list grown in place (`routes += [APIRoute(...)]`).
    /// Kept apart from `assigns`, which say what a name is bound to.
    pub extends: Vec<Assign>,
    pub attr_assigns: Vec<AttrAssign>,
    pub mutations: Vec<Mutation>,
    pub classes: Vec<Class>,
    pub header_names: Vec<HeaderName>,
    /// Comparisons that decide `if` / `elif` branches.
    pub branch_tests: Vec<BranchTest>,
    pub suppressions: Vec<SuppressionComment>,
    /// Multi-line statements (or compound statement headers): a suppression comment on any of
    /// their lines covers a finding inside them. Only filled when the file has suppressions.
    pub statement_ranges: Vec<TextRange>,
    /// Ranges of `if __name__ == "__main__":` blocks.
    pub main_guards: Vec<TextRange>,
    /// The literal collections a loop walks (`for step in (migrate, seed):`): the names in
    /// them are handed to the loop's body one by one, as values. Only literals: a loop over
    /// a name (`for r in ROUTERS:`) reads what that name's assignment already says.
    pub loop_values: Vec<Value>,
}

impl CodeFile {
    /// Give back the spare capacity of every list: facts live for the whole audit. Every
    /// field is named, so that a new fact does not compile until it is shrunk too.
    pub fn shrink(&mut self) {
        let CodeFile {
            module: _,
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
        } = self;
        functions.shrink_to_fit();
        for f in functions.iter_mut() {
            f.returns.shrink_to_fit();
            f.returned_strings.shrink_to_fit();
        }
        calls.shrink_to_fit();
        imports.shrink_to_fit();
        assigns.shrink_to_fit();
        extends.shrink_to_fit();
        attr_assigns.shrink_to_fit();
        mutations.shrink_to_fit();
        classes.shrink_to_fit();
        header_names.shrink_to_fit();
        branch_tests.shrink_to_fit();
        suppressions.shrink_to_fit();
        statement_ranges.shrink_to_fit();
        main_guards.shrink_to_fit();
        loop_values.shrink_to_fit();
    }

    pub fn function(&self, id: FnId) -> &Function {
        &self.functions[id as usize]
    }

    /// The qualified name an assignment binds: `pkg.mod.app` at module level,
    /// `pkg.mod.create_app.app` inside a function. `None` for a class attribute, which no
    /// other code refers to by a dotted name of its own. Apps, routers and worker apps are
    /// all keyed by it, so that a reference resolved to the assignment finds them.
    pub fn binding_name(&self, a: &Assign) -> Option<String> {
        match a.scope {
            Scope::Module => Some(format!("{}.{}", self.module, a.target)),
            Scope::Function(f) => Some(format!("{}.{}", self.function(f).qual, a.target)),
            Scope::Class => None,
        }
    }

    /// The index in [`CodeFile::calls`] of the call written at `range` (a call value in an
    /// assignment or a decorator names its call only by range).
    pub fn call_at(&self, range: TextRange) -> Option<u32> {
        self.calls
            .iter()
            .position(|c| c.range == range)
            .map(|i| i as u32)
    }

    /// Module-level assignment to `name`, the last one if several.
    pub fn module_assign(&self, name: &str) -> Option<&Assign> {
        self.assigns
            .iter()
            .rev()
            .find(|a| a.scope == Scope::Module && &*a.target == name)
    }

    pub fn module_function(&self, name: &str) -> Option<(FnId, &Function)> {
        self.functions
            .iter()
            .enumerate()
            .rev()
            .find(|(_, f)| f.parent.is_none() && f.class.is_none() && &*f.name == name)
            .map(|(i, f)| (i as FnId, f))
    }

    pub fn module_import(&self, name: &str) -> Option<&Import> {
        self.imports
            .iter()
            .find(|i| i.func.is_none() && &*i.local == name)
    }

    /// Calls made directly in the body of `func` (not in nested functions or lambdas).
    pub fn calls_in(&self, func: FnId) -> impl Iterator<Item = &Call> {
        self.calls
            .iter()
            .filter(move |c| c.func == Some(func) && !c.deferred)
    }

    /// True when `range` sits inside an `if __name__ == "__main__":` block.
    pub fn in_main_guard(&self, range: TextRange) -> bool {
        self.main_guards.iter().any(|g| g.contains_range(range))
    }
}

#[cfg(all(test, target_pointer_width = "64"))]
mod tests {
    use super::*;

    /// Facts are kept for every file of a service until the audit ends: a field that widens
    /// these types costs memory (and page faults) in proportion to the code audited.
    #[test]
    fn facts_stay_compact() {
        assert_eq!(size_of::<Name>(), 8);
        assert_eq!(size_of::<Ref>(), 24);
        assert_eq!(size_of::<Value>(), 24);
        assert_eq!(size_of::<Option<Value>>(), 24);
        assert_eq!(size_of::<CallValue>(), 64);
        assert_eq!(size_of::<Arg>(), 32);
        assert_eq!(size_of::<Kwarg>(), 40);
        assert!(size_of::<Call>() <= 88, "{}", size_of::<Call>());
    }
}
