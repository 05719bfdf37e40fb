//! Python syntax tree -> [`CodeFile`] facts.
//!
//! One pass over the module after a binder pass that collects module-level names, so that a
//! function may refer to a name defined further down. Names are resolved through the file's
//! imports (module-level and function-level), its module-level definitions and the builtins;
//! local variables built by a call (`client = httpx.Client()`) resolve as instances of it.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use ruff_python_ast::{
    self as ast, Expr, Stmt,
    visitor::{self, Visitor},
};
use ruff_text_size::{Ranged, TextRange};

use crate::audit::model::code::{
    Answers, Arg, Assign, AttrAssign, BranchTest, Call, CallValue, Class, CodeFile, CompareOp,
    FnId, Function, HeaderName, Import, Kwarg, MUTATING_METHODS, Mutation, MutationKind, Name,
    Param, Ref, RefOrigin, Scope, Value,
};

/// How deep argument values are summarised; deeper parts become `Value::Other`.
const MAX_VALUE_DEPTH: u8 = 4;
/// How many elements of a collection literal are kept.
const MAX_ELEMENTS: usize = 32;
/// Longer string literals are cut: rules read prefixes (URLs, header names), never essays.
const MAX_STR_LEN: usize = 256;
/// Longest dotted path a chain resolves to (`a.b().c()...`). Every call of a chain is
/// recorded with the path of its callee, so a chain of n calls names n prefixes: without a
/// bound a hostile chain costs memory quadratic in its length. Rules read the first names of
/// a path (`httpx.Client().get`) or its last one; a path of hundreds of bytes is one no rule
/// knows, and the chain beyond it is left unresolved (its own text, cut, as for any other
/// expression svc cannot name).
const MAX_NAME_LEN: usize = 256;

const BUILTINS: &[&str] = &[
    "open",
    "print",
    "dict",
    "list",
    "set",
    "frozenset",
    "tuple",
    "input",
    "exec",
    "eval",
    "compile",
    "__import__",
    "breakpoint",
    "getattr",
    "setattr",
    "globals",
    "vars",
];

/// Names in these tables borrow the syntax tree: extraction allocates only for the facts it
/// keeps.
struct FnScope<'src> {
    id: FnId,
    locals: HashSet<&'src str>,
    globals: HashSet<&'src str>,
    /// Local names bound to the result of a resolved call: name -> constructor path.
    instances: HashMap<&'src str, Name>,
    /// Function-level imports: local name -> (target, import index).
    imports: HashMap<&'src str, (Name, usize)>,
    /// Depth of lambdas/comprehensions we are inside, within this function.
    deferred: u32,
    /// Depth of `if` / `match` branches we are inside, within this function.
    conditional: u32,
    /// For a method: its first parameter (`self`, `cls`) and the index of its class in
    /// [`Extractor::class_frames`].
    receiver: Option<(&'src str, usize)>,
}

/// What a class body tells about `self.<name>` inside its methods.
struct ClassFrame<'src> {
    qual: Name,
    /// Methods defined in the class body: `self.m()` calls them.
    methods: HashSet<&'src str>,
    /// Attributes a method above assigned a resolved call to (`self.client =
    /// boto3.client("s3")` in `__init__`): attribute -> constructor path.
    instances: HashMap<&'src str, Name>,
}

pub struct Extractor<'src> {
    source: &'src str,
    out: CodeFile,
    module: String,
    /// Package of this module, for relative imports (`a.b` for module `a.b.c`, or for
    /// `a/b/__init__.py` itself `a.b`).
    package: String,
    module_names: HashSet<&'src str>,
    module_imports: HashMap<&'src str, (Name, usize)>,
    /// Module-level names bound to a resolved call's result.
    module_instances: HashMap<&'src str, Name>,
    fns: Vec<FnScope<'src>>,
    classes: Vec<&'src str>,
    class_frames: Vec<ClassFrame<'src>>,
    /// Names of classes and functions enclosing the current point, for qualified names.
    qual_stack: Vec<&'src str>,
    /// Callees already resolved (None: not a name), by the range of the callee expression: a
    /// call nested in another's arguments is summarised there and recorded again as a call of
    /// its own, and each call of a chain `a.b().c()` resolves through the one before it.
    callees: HashMap<u64, Option<Ref>>,
    /// Scratch space for spelling attribute chains.
    suffix: String,
    with_call_starts: HashSet<u32>,
    awaited_starts: HashSet<u32>,
    /// Module-level body: statements outside any function and class.
    at_module_level: bool,
    /// Depth of `if TYPE_CHECKING:` bodies we are inside.
    type_checking: u32,
    /// Depth of `if` / `match` branches we are inside, at module level.
    module_conditional: u32,
    /// Depth of annotations we are inside: a string literal there is a forward reference
    /// (`-> "pd.DataFrame"`) whose names use imports.
    in_annotation: u32,
    /// For each import, the earlier import binding the same name in the same scope
    /// (`import pyarrow` then `import pyarrow.parquet`, or a `try`/`except ImportError`
    /// fallback): a use of the name uses both.
    import_shadowed: Vec<Option<usize>>,
}

impl<'src> Extractor<'src> {
    pub fn new(source: &'src str, module: &str, is_package: bool) -> Self {
        let package = if is_package {
            module.to_string()
        } else {
            module
                .rsplit_once('.')
                .map(|(p, _)| p.to_string())
                .unwrap_or_default()
        };
        // Room for the facts a file of this size usually has (prefect-3.9.1: a call every
        // 160 bytes, an import every 200, an assignment every 420), so that the lists and the
        // memo of callees rarely grow by copying; `CodeFile::shrink` gives the spare room back.
        let len = source.len();
        Extractor {
            source,
            out: CodeFile {
                module: module.into(),
                calls: Vec::with_capacity(len / 192),
                imports: Vec::with_capacity(len / 256),
                assigns: Vec::with_capacity(len / 512),
                ..CodeFile::default()
            },
            module: module.to_string(),
            package,
            module_names: HashSet::default(),
            module_imports: HashMap::default(),
            module_instances: HashMap::default(),
            fns: Vec::new(),
            classes: Vec::new(),
            class_frames: Vec::new(),
            qual_stack: Vec::new(),
            with_call_starts: HashSet::default(),
            awaited_starts: HashSet::default(),
            callees: HashMap::with_capacity_and_hasher(len / 192, Default::default()),
            suffix: String::new(),
            at_module_level: true,
            type_checking: 0,
            module_conditional: 0,
            in_annotation: 0,
            import_shadowed: Vec::new(),
        }
    }

    pub fn run(mut self, body: &'src [Stmt]) -> CodeFile {
        for stmt in body {
            bind_module_names(stmt, &mut self.module_names);
        }
        for stmt in body {
            self.visit_stmt(stmt);
        }
        self.out
    }

    fn qual(&self, name: &str) -> String {
        let len = self.qual_stack.iter().map(|p| p.len() + 1).sum::<usize>();
        let mut q = String::with_capacity(self.module.len() + len + 1 + name.len());
        q.push_str(&self.module);
        for part in &self.qual_stack {
            q.push('.');
            q.push_str(part);
        }
        q.push('.');
        q.push_str(name);
        q
    }

    fn current_fn(&self) -> Option<FnId> {
        self.fns.last().map(|f| f.id)
    }

    fn scope(&self) -> Scope {
        if !self.classes.is_empty() && self.qual_stack.last() == self.classes.last() {
            Scope::Class
        } else if let Some(f) = self.fns.last() {
            Scope::Function(f.id)
        } else {
            Scope::Module
        }
    }

    // ---- name resolution -------------------------------------------------------------

    /// Absolute dotted path for `from <level dots><module> import name`.
    fn absolute_module(&self, level: u32, module: Option<&str>) -> String {
        if level == 0 {
            return module.unwrap_or_default().to_string();
        }
        let mut base: Vec<&str> = if self.package.is_empty() {
            Vec::new()
        } else {
            self.package.split('.').collect()
        };
        for _ in 1..level {
            base.pop();
        }
        let mut s = base.join(".");
        if let Some(m) = module {
            if !s.is_empty() {
                s.push('.');
            }
            s.push_str(m);
        }
        s
    }

    /// Record that a loaded name uses the import it refers to, if any. Cheaper than
    /// resolving it: every name in a file passes here.
    fn mark_import_used(&mut self, name: &str) {
        for scope in self.fns.iter().rev() {
            if scope.globals.contains(name) {
                break;
            }
            if let Some(&(_, idx)) = scope.imports.get(name) {
                self.mark_used(idx);
                return;
            }
            if scope.locals.contains(name) {
                return;
            }
        }
        if let Some(&(_, idx)) = self.module_imports.get(name) {
            self.mark_used(idx);
        }
    }

    /// Mark import `idx` used, and the earlier imports of the same name it shadows.
    fn mark_used(&mut self, idx: usize) {
        let mut next = Some(idx);
        while let Some(i) = next {
            if self.out.imports[i].used {
                // Marking always walks the whole chain: the rest is marked already.
                break;
            }
            self.out.imports[i].used = true;
            next = self.import_shadowed[i];
        }
    }

    /// The names a string annotation (`"pd.DataFrame"`, `"Optional[np.ndarray]"`) refers
    /// to: each identifier not preceded by a dot. Scanning is enough to mark imports used,
    /// and cheaper than parsing the string.
    fn mark_names_in_text(&mut self, text: &str) {
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if b.is_ascii_alphabetic() || b == b'_' {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                let after_dot = text[..start].trim_end().ends_with('.');
                if !after_dot {
                    self.mark_import_used(&text[start..i]);
                }
            } else {
                i += 1;
            }
        }
    }

    /// Visit an annotation: names in it use imports, forward references included.
    fn visit_annotation_expr(&mut self, expr: &'src Expr) {
        self.in_annotation += 1;
        self.visit_expr(expr);
        self.in_annotation -= 1;
    }

    /// `__all__ = ["name", ...]` (or `+=`) at module level: the names listed are exported,
    /// so their imports are used.
    fn mark_exported(&mut self, target: &Expr, value: &Expr) {
        if !self.at_module_level || !matches!(target, Expr::Name(n) if n.id.as_str() == "__all__") {
            return;
        }
        let items = match value {
            Expr::List(l) => &l.elts,
            Expr::Tuple(t) => &t.elts,
            _ => return,
        };
        for item in items {
            if let Expr::StringLiteral(s) = item {
                self.mark_import_used(s.value.to_str());
            }
        }
    }

    /// Resolve a bare name as code at the current point sees it.
    fn resolve_name(&mut self, name: &str) -> Ref {
        for scope in self.fns.iter().rev() {
            if scope.globals.contains(name) {
                break;
            }
            if let Some((target, idx)) = scope.imports.get(name) {
                let (target, idx) = (target.clone(), *idx);
                self.mark_used(idx);
                return Ref {
                    path: target,
                    origin: RefOrigin::Import,
                    instance: None,
                };
            }
            if let Some(ctor) = scope.instances.get(name) {
                let func = &self.out.functions[scope.id as usize];
                return Ref {
                    path: Name::concat(&[&func.qual, ".", name]),
                    origin: RefOrigin::Local,
                    instance: Some(Name::concat(&[ctor, "()"])),
                };
            }
            if scope.locals.contains(name) {
                // A function defined inside this one (`lifespan` in an app factory).
                let nested = self
                    .out
                    .functions
                    .iter()
                    .find(|f| f.parent == Some(scope.id) && &*f.name == name);
                return match nested {
                    Some(f) => Ref {
                        path: f.qual.clone(),
                        origin: RefOrigin::Local,
                        instance: None,
                    },
                    None => Ref::unknown(name),
                };
            }
        }
        if let Some((target, idx)) = self.module_imports.get(name) {
            let (target, idx) = (target.clone(), *idx);
            self.mark_used(idx);
            return Ref {
                path: target,
                origin: RefOrigin::Import,
                instance: None,
            };
        }
        if self.module_names.contains(name) {
            return Ref {
                path: Name::concat(&[&self.module, ".", name]),
                origin: RefOrigin::Module,
                instance: self
                    .module_instances
                    .get(name)
                    .map(|ctor| Name::concat(&[ctor, "()"])),
            };
        }
        if BUILTINS.contains(&name) {
            return Ref {
                path: name.into(),
                origin: RefOrigin::Builtin,
                instance: None,
            };
        }
        Ref::unknown(name)
    }

    /// Resolve a dotted expression (`a.b.c`, `f().x`); None for anything else, and for a
    /// path longer than [`MAX_NAME_LEN`].
    fn resolve(&mut self, expr: &Expr) -> Option<Ref> {
        match expr {
            Expr::Name(n) => Some(self.resolve_name(n.id.as_str())),
            Expr::Attribute(_) => {
                if let Some(found) = self.resolve_through_receiver(expr) {
                    return Some(found);
                }
                // `a.b.c`: resolve the base, then spell the whole path at once (naming every
                // prefix on the way would intern names nobody asked for).
                let mut suffix = std::mem::take(&mut self.suffix);
                suffix.clear();
                let found = match attribute_chain(expr, &mut suffix) {
                    Some(base @ (Expr::Name(_) | Expr::Call(_))) => {
                        self.resolve(base).and_then(|base| {
                            let fits = |p: &str| p.len() + suffix.len() <= MAX_NAME_LEN;
                            let instance = base.instance.as_deref();
                            (fits(&base.path) && instance.is_none_or(fits)).then(|| Ref {
                                path: Name::concat(&[&base.path, &suffix]),
                                origin: base.origin,
                                instance: instance.map(|i| Name::concat(&[i, &suffix])),
                            })
                        })
                    }
                    _ => None,
                };
                self.suffix = suffix;
                found
            }
            Expr::Call(c) => {
                let base = self.resolve_callee(c)?;
                let origin = if base.origin == RefOrigin::Unknown {
                    RefOrigin::Unknown
                } else {
                    RefOrigin::Instance
                };
                let path = base.effective();
                (path.len() + 2 <= MAX_NAME_LEN).then(|| Ref {
                    path: Name::concat(&[path, "()"]),
                    origin,
                    instance: None,
                })
            }
            _ => None,
        }
    }

    /// `self.m` for a method `m` of the enclosing class (`module.Class.m`), and
    /// `self.x.rest` for an attribute a method above bound to a resolved call (the text, with
    /// the instance form `Ctor().rest`). None for anything else.
    fn resolve_through_receiver(&self, expr: &Expr) -> Option<Ref> {
        let (receiver, frame) = self.fns.last()?.receiver?;
        let frame = self.class_frames.get(frame)?;
        let mut attrs = Vec::new();
        let mut base = expr;
        while let Expr::Attribute(a) = base {
            attrs.push(a.attr.id.as_str());
            base = &a.value;
        }
        let Expr::Name(n) = base else { return None };
        if n.id.as_str() != receiver {
            return None;
        }
        attrs.reverse();
        let first = *attrs.first()?;
        if attrs.len() == 1 && frame.methods.contains(first) {
            return Some(Ref {
                path: Name::concat(&[&frame.qual, ".", first]),
                origin: RefOrigin::Module,
                instance: None,
            });
        }
        let ctor = frame.instances.get(first)?;
        let mut instance = format!("{ctor}()");
        for a in &attrs[1..] {
            instance.push('.');
            instance.push_str(a);
        }
        let text = &self.source[expr.range()];
        (instance.len() <= MAX_NAME_LEN && text.len() <= MAX_NAME_LEN).then(|| Ref {
            path: Name::new(text),
            origin: RefOrigin::Unknown,
            instance: Some(Name::new(&instance)),
        })
    }

    /// `resolve(&c.func)`, once per call expression. A chain `f()()...` or `a.b().b()...`
    /// resolves each call through the one inside it: those are resolved first, innermost
    /// first, so that each level finds the one below it done (linear time, and no recursion
    /// as deep as the chain).
    fn resolve_callee(&mut self, c: &ast::ExprCall) -> Option<Ref> {
        let key = callee_key(c);
        if let Some(found) = self.callees.get(&key) {
            return found.clone();
        }
        let mut pending = Vec::new();
        let mut inner = inner_call(c);
        while let Some(i) = inner
            && !self.callees.contains_key(&callee_key(i))
        {
            pending.push(i);
            inner = inner_call(i);
        }
        for i in pending.into_iter().rev() {
            let found = self.resolve(&i.func);
            self.callees.insert(callee_key(i), found);
        }
        let found = self.resolve(&c.func);
        self.callees.insert(key, found.clone());
        found
    }

    /// The callee of a call, resolved once per call expression: a call nested in another's
    /// arguments, or assigned, is summarised as a value besides being recorded.
    fn callee(&mut self, c: &ast::ExprCall) -> Ref {
        match self.resolve_callee(c) {
            Some(found) => found,
            None => self.text_ref(&c.func),
        }
    }

    /// What a call constructs, for a name bound to its result: the callee's path (through an
    /// instance when it is a method), when it resolved.
    fn constructor(&mut self, c: &ast::ExprCall) -> Option<Name> {
        let r = self.callee(c);
        (r.origin != RefOrigin::Unknown).then(|| r.instance.unwrap_or(r.path))
    }

    fn resolve_or_text(&mut self, expr: &Expr) -> Ref {
        match self.resolve(expr) {
            Some(found) => found,
            None => self.text_ref(expr),
        }
    }

    /// An expression svc cannot name: the code's own text, cut after 80 characters.
    fn text_ref(&self, expr: &Expr) -> Ref {
        let text = &self.source[expr.range()];
        let cut = text.char_indices().nth(80).map_or(text.len(), |(i, _)| i);
        Ref::unknown(&text[..cut])
    }

    // ---- values ----------------------------------------------------------------------

    fn value(&mut self, expr: &Expr, depth: u8) -> Value {
        if depth > MAX_VALUE_DEPTH {
            return Value::Other;
        }
        let d = depth + 1;
        match expr {
            Expr::StringLiteral(s) => {
                let text = s.value.to_str();
                let cut = text.floor_char_boundary(MAX_STR_LEN);
                Value::Str(text[..cut].into())
            }
            Expr::BytesLiteral(_) => Value::Bytes,
            Expr::FString(f) => Value::FormattedStr(fstring_head(f).into()),
            Expr::TString(_) => Value::FormattedStr("".into()),
            Expr::NumberLiteral(n) => match &n.value {
                ast::Number::Int(i) => i.as_i64().map_or(Value::Other, Value::Int),
                ast::Number::Float(f) => Value::Float(*f),
                ast::Number::Complex { .. } => Value::Other,
            },
            Expr::BooleanLiteral(b) => Value::Bool(b.value),
            Expr::NoneLiteral(_) => Value::None,
            // `-1`: a negative integer literal (RQ's "no timeout").
            Expr::UnaryOp(u) if u.op == ast::UnaryOp::USub => match &*u.operand {
                Expr::NumberLiteral(ast::ExprNumberLiteral {
                    value: ast::Number::Int(i),
                    ..
                }) => i
                    .as_i64()
                    .and_then(i64::checked_neg)
                    .map_or(Value::Other, Value::Int),
                _ => Value::Other,
            },
            Expr::Name(_) | Expr::Attribute(_) => Value::Ref(self.resolve_or_text(expr)),
            Expr::List(l) => Value::List(self.values(&l.elts, d)),
            Expr::Tuple(t) => Value::Tuple(self.values(&t.elts, d)),
            Expr::Set(s) => Value::Set(self.values(&s.elts, d)),
            Expr::Dict(dict) => Value::Dict(
                dict.items
                    .iter()
                    .take(MAX_ELEMENTS)
                    .map(|item| {
                        let k = item.key.as_ref().map_or(Value::Other, |k| self.value(k, d));
                        (k, self.value(&item.value, d))
                    })
                    .collect(),
            ),
            Expr::Call(c) => Value::Call(Box::new(self.call_value(c, d))),
            Expr::Subscript(s) => {
                let base = self.value(&s.value, d);
                let items = match &*s.slice {
                    Expr::Tuple(t) => self.values(&t.elts, d),
                    other => Box::new([self.value(other, d)]),
                };
                Value::Subscript(Box::new((base, items)))
            }
            Expr::If(i) => {
                Value::Either(Box::new([self.value(&i.body, d), self.value(&i.orelse, d)]))
            }
            Expr::BoolOp(b) => Value::Either(self.values(&b.values, d)),
            Expr::BinOp(b) if b.op == ast::Operator::Add => {
                let mut parts = Vec::new();
                if !string_concat(expr, &mut parts) {
                    return Value::Other;
                }
                Value::Concat(parts.into_iter().map(|e| self.value(e, d)).collect())
            }
            Expr::Await(a) => self.value(&a.value, depth),
            Expr::Named(n) => self.value(&n.value, depth),
            _ => Value::Other,
        }
    }

    fn values(&mut self, exprs: &[Expr], depth: u8) -> Box<[Value]> {
        exprs
            .iter()
            .take(MAX_ELEMENTS)
            .map(|e| self.value(e, depth))
            .collect()
    }

    fn call_value(&mut self, c: &ast::ExprCall, depth: u8) -> CallValue {
        CallValue {
            callee: self.callee(c),
            args: self.values(&c.arguments.args, depth),
            kwargs: c
                .arguments
                .keywords
                .iter()
                .filter_map(|k| {
                    let name = k.arg.as_ref()?;
                    Some((name.id.as_str().into(), self.value(&k.value, depth)))
                })
                .collect(),
            range: c.range(),
        }
    }

    // ---- recording -------------------------------------------------------------------

    fn record_call(&mut self, c: &ast::ExprCall) {
        let callee = self.callee(c);
        let start = c.range().start().to_u32();
        let (deferred, func) = match self.fns.last() {
            Some(f) => (f.deferred > 0, Some(f.id)),
            None => (false, None),
        };
        let args = c
            .arguments
            .args
            .iter()
            .take(MAX_ELEMENTS)
            .map(|a| Arg {
                value: self.value(a, 1),
                range: a.range(),
            })
            .collect();
        let mut has_star_kwargs = false;
        let kwargs = c
            .arguments
            .keywords
            .iter()
            .filter_map(|k| match &k.arg {
                Some(name) => Some(Kwarg {
                    name: name.id.as_str().into(),
                    value: self.value(&k.value, 1),
                    range: k.range(),
                }),
                None => {
                    has_star_kwargs = true;
                    None
                }
            })
            .collect();

        // `CACHE.append(x)` on a module-level container, inside a function; `state.CACHE.append(x)`
        // on one of an imported module.
        if let (Some(fid), Expr::Attribute(attr)) = (func, &*c.func)
            && MUTATING_METHODS.contains(&attr.attr.id.as_str())
        {
            let target = match &*attr.value {
                Expr::Name(base) if self.is_module_global(base.id.as_str()) => {
                    Some(format!("{}.{}", self.module, base.id).into())
                }
                other => self.imported_module_name(other),
            };
            if let Some(target) = target {
                let step = match attr.attr.id.as_str() {
                    "append" | "appendleft" | "add" | "insert" | "setdefault" => 1,
                    "pop" | "popleft" | "popitem" | "remove" | "discard" | "clear" => -1,
                    _ => 0,
                };
                self.out.mutations.push(Mutation {
                    target,
                    kind: MutationKind::MethodCall,
                    func: fid,
                    range: c.range(),
                    step,
                    conditional: self.in_branch(),
                });
            }
        }

        self.out.calls.push(Call {
            callee,
            args,
            kwargs,
            has_star_kwargs,
            range: c.range(),
            callee_range: c.func.range(),
            func,
            deferred,
            in_with: self.with_call_starts.contains(&start),
            awaited: self.awaited_starts.contains(&start),
            conditional: self.in_branch(),
        });
    }

    /// The comparisons `test` requires (itself, or each operand of an `and`) that compare
    /// two values with `==`, `!=`, `in` or `not in`, or one with `None` by `is`,
    /// each with the branch `body` they decide.
    fn record_branch_tests(&mut self, test: &Expr, body: &[Stmt]) {
        let (Some(first), Some(last)) = (body.first(), body.last()) else {
            return;
        };
        let body_range = TextRange::new(first.range().start(), last.range().end());
        let body_raises = body.iter().any(|s| matches!(s, Stmt::Raise(_)));
        let conjuncts = match test {
            Expr::BoolOp(b) if b.op == ast::BoolOp::And => b.values.iter().collect(),
            other => vec![other],
        };
        for c in conjuncts {
            let Expr::Compare(cmp) = c else { continue };
            let ([op], [right]) = (&*cmp.ops, &*cmp.comparators) else {
                continue;
            };
            let op = match op {
                ast::CmpOp::Eq => CompareOp::Eq,
                ast::CmpOp::NotEq => CompareOp::NotEq,
                ast::CmpOp::In => CompareOp::In,
                ast::CmpOp::NotIn => CompareOp::NotIn,
                ast::CmpOp::Is if right.is_none_literal_expr() => CompareOp::IsNone,
                _ => continue,
            };
            let left = self.value(&cmp.left, 0);
            let right = self.value(right, 0);
            self.out.branch_tests.push(BranchTest {
                left,
                op,
                right,
                range: cmp.range(),
                body: body_range,
                body_raises,
            });
        }
    }

    /// Inside a branch of an `if` or `match` of the current function (or of the module body).
    fn in_branch(&self) -> bool {
        match self.fns.last() {
            Some(f) => f.conditional > 0,
            None => self.module_conditional > 0,
        }
    }

    /// Enter (`+1`) or leave (`-1`) a branch chosen at run time.
    fn branch_depth(&mut self, delta: i32) {
        let depth = match self.fns.last_mut() {
            Some(f) => &mut f.conditional,
            None => &mut self.module_conditional,
        };
        *depth = depth.saturating_add_signed(delta);
    }

    /// Inside a function: `name` refers to the module-level binding (not a local).
    fn is_module_global(&self, name: &str) -> bool {
        let Some(scope) = self.fns.last() else {
            return false;
        };
        if scope.globals.contains(name) {
            return true;
        }
        if self.fns.iter().any(|s| s.locals.contains(name)) {
            return false;
        }
        self.module_names.contains(name) && !self.module_imports.contains_key(name)
    }

    /// `mod.NAME` where `mod` is an imported module (not shadowed): the path `NAME` resolves to.
    fn imported_module_name(&mut self, expr: &Expr) -> Option<Name> {
        let Expr::Attribute(attr) = expr else {
            return None;
        };
        if !matches!(&*attr.value, Expr::Name(_)) {
            return None;
        }
        let found = self.resolve(expr)?;
        (found.origin == RefOrigin::Import).then_some(found.path)
    }

    /// Record a write through a subscript / `global` rebind inside a function (`step`: see
    /// [`Mutation::step`]).
    /// A write to `target`. `item_step`: what a write to an item does to the container (`1`
    /// for `x[k] = v` or `x[k] += v`, `-1` for `del x[k]` or `x[k] -= v`); `name_step`: what a
    /// write to the name does to its number (`1` for `x += v`, `-1` for `x -= v`, `0` for a
    /// plain rebinding).
    fn record_store(
        &mut self,
        target: &Expr,
        kind_for_item: MutationKind,
        range: TextRange,
        item_step: i8,
        name_step: i8,
    ) {
        let Some(fid) = self.current_fn() else {
            return;
        };
        let foreign = match target {
            Expr::Subscript(s) => self
                .imported_module_name(innermost_base(&s.value))
                .map(|t| (t, item_step)),
            // `state.events += [e]`: grows (or counts up) an imported module's name.
            Expr::Attribute(_) if name_step != 0 => {
                self.imported_module_name(target).map(|t| (t, name_step))
            }
            _ => None,
        };
        if let Some((target, step)) = foreign {
            self.out.mutations.push(Mutation {
                target,
                kind: kind_for_item,
                func: fid,
                range,
                step,
                conditional: self.in_branch(),
            });
            return;
        }
        let (name, kind, step) = match target {
            Expr::Subscript(s) => match innermost_name(&s.value) {
                Some(n) => (n, kind_for_item, item_step),
                None => return,
            },
            Expr::Name(n) => {
                let is_global = self
                    .fns
                    .last()
                    .is_some_and(|s| s.globals.contains(n.id.as_str()));
                if !is_global {
                    return;
                }
                (n.id.as_str(), MutationKind::GlobalRebind, name_step)
            }
            _ => return,
        };
        if self.is_module_global(name) {
            self.out.mutations.push(Mutation {
                target: format!("{}.{name}", self.module).into(),
                kind,
                func: fid,
                range,
                step,
                conditional: self.in_branch(),
            });
        }
    }

    fn record_assign(
        &mut self,
        target: &'src Expr,
        value: &'src Expr,
        annotation: Option<&'src Expr>,
        range: TextRange,
    ) {
        match target {
            Expr::Name(n) => {
                let v = self.value(value, 1);
                let annotation = annotation.map(|a| self.value(a, 1));
                let name = n.id.as_str();
                // Track names bound to a resolved call, for method resolution later.
                if let Expr::Call(c) = value
                    && let Some(ctor) = self.constructor(c)
                {
                    let in_class_body = self.at_class_body();
                    match self.fns.last_mut() {
                        Some(scope) if !in_class_body => {
                            scope.instances.insert(name, ctor);
                        }
                        None if self.classes.is_empty() => {
                            self.module_instances.insert(name, ctor);
                        }
                        _ => {}
                    }
                }
                let scope = self.scope();
                let class = match scope {
                    Scope::Class => self.classes.last().map(|c| (*c).into()),
                    _ => None,
                };
                self.out.assigns.push(Assign {
                    target: name.into(),
                    value: v,
                    annotation,
                    range,
                    target_range: n.range(),
                    value_range: value.range(),
                    scope,
                    class,
                });
            }
            Expr::Attribute(a) => {
                if let Expr::Call(c) = value
                    && let Expr::Name(base) = &*a.value
                    && let Some((receiver, frame)) = self.fns.last().and_then(|f| f.receiver)
                    && base.id.as_str() == receiver
                    && let Some(ctor) = self.constructor(c)
                    && let Some(frame) = self.class_frames.get_mut(frame)
                {
                    frame.instances.insert(a.attr.id.as_str(), ctor);
                }
                let target_ref = self.resolve_or_text(target);
                let v = self.value(value, 1);
                self.out.attr_assigns.push(AttrAssign {
                    target: target_ref,
                    value: v,
                    range,
                    func: self.current_fn(),
                    conditional: self.in_branch(),
                });
            }
            Expr::Tuple(t) => {
                // `a, b = x, y`: pair up when the shapes match, otherwise record nothing.
                if let Expr::Tuple(v) = value
                    && v.elts.len() == t.elts.len()
                {
                    for (te, ve) in t.elts.iter().zip(v.elts.iter()) {
                        self.record_assign(te, ve, None, range);
                    }
                }
            }
            _ => {}
        }
    }

    fn at_class_body(&self) -> bool {
        matches!(self.scope(), Scope::Class)
    }

    fn record_header_name(&mut self, text: &str, range: TextRange) {
        if looks_like_header_name(text) {
            self.out.header_names.push(HeaderName {
                lower: text.to_ascii_lowercase().into(),
                range,
            });
        }
    }

    fn record_import(&mut self, local: &'src str, target: Name, full: Name, range: TextRange) {
        let idx = self.out.imports.len();
        self.out.imports.push(Import {
            local: local.into(),
            target: target.clone(),
            full,
            range,
            func: self.current_fn(),
            used: false,
            type_checking: self.type_checking > 0,
        });
        let shadowed = match self.fns.last_mut() {
            Some(scope) => scope.imports.insert(local, (target, idx)),
            None => self.module_imports.insert(local, (target, idx)),
        };
        self.import_shadowed.push(shadowed.map(|(_, i)| i));
    }

    fn enter_function(&mut self, f: &'src ast::StmtFunctionDef) {
        let id = self.out.functions.len() as FnId;
        let decorators = f
            .decorator_list
            .iter()
            .map(|d| Arg {
                value: self.value(&d.expression, 1),
                range: d.range(),
            })
            .collect();
        let params = f
            .parameters
            .iter()
            .map(|p| Param {
                name: p.name().id.as_str().into(),
                annotation: p.annotation().map(|a| self.value(a, 1)),
                default: p.default().map(|d| self.value(d, 1)),
                range: p.range(),
            })
            .collect();
        // Sized for a typical function: growing a table rehashes it.
        let mut locals = HashSet::with_capacity_and_hasher(16, Default::default());
        let mut globals = HashSet::default();
        let mut has_yield = false;
        for p in f.parameters.iter() {
            locals.insert(p.name().id.as_str());
        }
        for stmt in &f.body {
            bind_local_names(stmt, &mut locals, &mut globals, &mut has_yield);
        }
        self.out.functions.push(Function {
            name: f.name.id.as_str().into(),
            qual: self.qual(f.name.id.as_str()).into(),
            is_async: f.is_async,
            range: f.range(),
            name_range: f.name.range(),
            parent: self.current_fn(),
            class: if self.at_class_body() {
                self.classes.last().map(|c| (*c).into())
            } else {
                None
            },
            decorators,
            params,
            globals: globals.iter().map(|g| (*g).into()).collect(),
            is_generator: has_yield,
            returns: Vec::new(),
            returned_strings: Vec::new(),
            answers: Answers::Nothing,
        });
        let is_static = f
            .decorator_list
            .iter()
            .any(|d| matches!(&d.expression, Expr::Name(n) if n.id.as_str() == "staticmethod"));
        let receiver = if self.at_class_body() && !is_static {
            f.parameters
                .posonlyargs
                .iter()
                .chain(&f.parameters.args)
                .next()
                .map(|p| {
                    (
                        p.parameter.name.id.as_str(),
                        self.class_frames.len().wrapping_sub(1),
                    )
                })
        } else {
            None
        };
        self.fns.push(FnScope {
            id,
            locals,
            globals,
            instances: HashMap::default(),
            imports: HashMap::default(),
            deferred: 0,
            conditional: 0,
            receiver,
        });
        self.qual_stack.push(f.name.id.as_str());
    }

    fn visit_body(&mut self, body: &'src [Stmt]) {
        for s in body {
            self.visit_stmt(s);
        }
    }
}

impl<'src> Visitor<'src> for Extractor<'src> {
    fn visit_stmt(&mut self, stmt: &'src Stmt) {
        match stmt {
            Stmt::FunctionDef(f) => {
                // Decorators, defaults and annotations are evaluated in the enclosing scope.
                for d in &f.decorator_list {
                    self.visit_expr(&d.expression);
                }
                for p in f.parameters.iter() {
                    if let Some(d) = p.default() {
                        self.visit_expr(d);
                    }
                    if let Some(a) = p.annotation() {
                        self.visit_annotation_expr(a);
                    }
                }
                if let Some(r) = &f.returns {
                    self.visit_annotation_expr(r);
                }
                let was_module = self.at_module_level;
                self.at_module_level = false;
                self.enter_function(f);
                self.visit_body(&f.body);
                self.qual_stack.pop();
                self.fns.pop();
                self.at_module_level = was_module;
            }
            Stmt::ClassDef(c) => {
                for d in &c.decorator_list {
                    self.visit_expr(&d.expression);
                }
                let bases = c.bases().iter().map(|b| self.resolve_or_text(b)).collect();
                if let Some(args) = &c.arguments {
                    for a in args.args.iter() {
                        self.visit_expr(a);
                    }
                    for k in args.keywords.iter() {
                        self.visit_expr(&k.value);
                    }
                }
                self.out.classes.push(Class {
                    name: c.name.id.as_str().into(),
                    qual: self.qual(c.name.id.as_str()).into(),
                    bases,
                    range: c.range(),
                    name_range: c.name.range(),
                });
                let was_module = self.at_module_level;
                self.at_module_level = false;
                let methods = c
                    .body
                    .iter()
                    .filter_map(|s| match s {
                        Stmt::FunctionDef(f) => Some(f.name.id.as_str()),
                        _ => None,
                    })
                    .collect();
                self.class_frames.push(ClassFrame {
                    qual: self.qual(c.name.id.as_str()).into(),
                    methods,
                    instances: HashMap::default(),
                });
                self.classes.push(c.name.id.as_str());
                self.qual_stack.push(c.name.id.as_str());
                self.visit_body(&c.body);
                self.qual_stack.pop();
                self.classes.pop();
                self.class_frames.pop();
                self.at_module_level = was_module;
            }
            Stmt::Import(i) => {
                for alias in &i.names {
                    let full = alias.name.id.as_str();
                    match &alias.asname {
                        Some(as_name) => {
                            let full = Name::new(full);
                            self.record_import(
                                as_name.id.as_str(),
                                full.clone(),
                                full,
                                alias.range(),
                            )
                        }
                        // `import a.b` binds `a`.
                        None => {
                            let first = full.split('.').next().unwrap_or(full);
                            let target = Name::new(first);
                            let full = if first.len() == full.len() {
                                target.clone()
                            } else {
                                Name::new(full)
                            };
                            self.record_import(first, target, full, alias.range())
                        }
                    }
                }
            }
            Stmt::ImportFrom(i) => {
                let module =
                    self.absolute_module(i.level, i.module.as_ref().map(|m| m.id.as_str()));
                for alias in &i.names {
                    let name = alias.name.id.as_str();
                    if name == "*" {
                        continue;
                    }
                    let local = alias.asname.as_ref().map_or(name, |a| a.id.as_str());
                    // What the statement names is what it binds: one interned name for both.
                    let target = if module.is_empty() {
                        Name::new(name)
                    } else {
                        Name::concat(&[&module, ".", name])
                    };
                    self.record_import(local, target.clone(), target, alias.range());
                    // `from x import y as y` is the explicit re-export idiom (PEP 484).
                    if alias.asname.as_ref().is_some_and(|a| a.id.as_str() == name) {
                        self.mark_used(self.out.imports.len() - 1);
                    }
                }
            }
            Stmt::Assign(a) => {
                self.visit_expr(&a.value);
                for t in &a.targets {
                    self.mark_exported(t, &a.value);
                    self.record_assign(t, &a.value, None, a.range());
                    self.record_store(t, MutationKind::ItemStore, a.range(), 1, 0);
                    if !matches!(t, Expr::Name(_)) {
                        self.visit_expr(t);
                    }
                }
            }
            Stmt::AnnAssign(a) => {
                self.visit_annotation_expr(&a.annotation);
                if let Some(v) = &a.value {
                    self.visit_expr(v);
                    self.record_assign(&a.target, v, Some(&a.annotation), a.range());
                    self.record_store(&a.target, MutationKind::ItemStore, a.range(), 1, 0);
                }
                if !matches!(&*a.target, Expr::Name(_)) {
                    self.visit_expr(&a.target);
                }
            }
            Stmt::AugAssign(a) => {
                self.mark_exported(&a.target, &a.value);
                self.visit_expr(&a.value);
                if let (ast::Operator::Add, Expr::Name(n)) = (a.op, &*a.target) {
                    let value = self.value(&a.value, 1);
                    let scope = self.scope();
                    let class = match scope {
                        Scope::Class => self.classes.last().map(|c| (*c).into()),
                        _ => None,
                    };
                    self.out.extends.push(Assign {
                        target: n.id.as_str().into(),
                        value,
                        annotation: None,
                        range: a.range(),
                        target_range: n.range(),
                        value_range: a.value.range(),
                        scope,
                        class,
                    });
                }
                let step = match a.op {
                    ast::Operator::Add => 1,
                    ast::Operator::Sub => -1,
                    _ => 0,
                };
                self.record_store(&a.target, MutationKind::ItemStore, a.range(), step, step);
                self.visit_expr(&a.target);
            }
            Stmt::Delete(d) => {
                for t in &d.targets {
                    self.record_store(t, MutationKind::ItemDelete, d.range(), -1, 0);
                    self.visit_expr(t);
                }
            }
            Stmt::With(w) => {
                for item in &w.items {
                    if let Expr::Call(c) = &item.context_expr {
                        self.with_call_starts.insert(c.range().start().to_u32());
                        // `with httpx.Client() as client:` binds an instance.
                        if let Some(Expr::Name(n)) = item.optional_vars.as_deref()
                            && let Some(ctor) = self.constructor(c)
                        {
                            match self.fns.last_mut() {
                                Some(scope) => {
                                    scope.instances.insert(n.id.as_str(), ctor);
                                }
                                None => {
                                    self.module_instances.insert(n.id.as_str(), ctor);
                                }
                            }
                        }
                    }
                    self.visit_expr(&item.context_expr);
                }
                self.visit_body(&w.body);
            }
            Stmt::Return(r) => {
                if let Some(v) = &r.value {
                    if let Some(id) = self.current_fn() {
                        let answers = &mut self.out.functions[id as usize].answers;
                        *answers = match (*answers, literal_or_call(v)) {
                            (Answers::Computed, _) | (_, false) => Answers::Computed,
                            _ => Answers::Literals,
                        };
                    }
                    self.visit_expr(v);
                    if let (Some(id), Expr::Name(_) | Expr::Attribute(_)) =
                        (self.current_fn(), &**v)
                        && let Some(found) = self.resolve(v)
                    {
                        self.out.functions[id as usize].returns.push(found);
                    }
                    if let (Some(id), Expr::StringLiteral(_) | Expr::FString(_)) =
                        (self.current_fn(), &**v)
                    {
                        let value = self.value(v, 0);
                        self.out.functions[id as usize].returned_strings.push(Arg {
                            value,
                            range: v.range(),
                        });
                    }
                }
            }
            Stmt::If(i) if self.at_module_level && is_main_guard(&i.test) => {
                self.out.main_guards.push(i.range());
                visitor::walk_stmt(self, stmt);
            }
            Stmt::If(i) if is_type_checking(&i.test) => {
                self.visit_expr(&i.test);
                self.type_checking += 1;
                self.visit_body(&i.body);
                self.type_checking -= 1;
                for clause in &i.elif_else_clauses {
                    if let Some(test) = &clause.test {
                        self.visit_expr(test);
                    }
                    self.visit_body(&clause.body);
                }
            }
            Stmt::If(i) => {
                self.visit_expr(&i.test);
                self.record_branch_tests(&i.test, &i.body);
                self.branch_depth(1);
                self.visit_body(&i.body);
                for clause in &i.elif_else_clauses {
                    if let Some(test) = &clause.test {
                        self.visit_expr(test);
                        self.record_branch_tests(test, &clause.body);
                    }
                    self.visit_body(&clause.body);
                }
                self.branch_depth(-1);
            }
            Stmt::Match(m) => {
                self.visit_expr(&m.subject);
                self.branch_depth(1);
                for case in &m.cases {
                    visitor::walk_match_case(self, case);
                }
                self.branch_depth(-1);
            }
            Stmt::For(f) => {
                let walked = self.value(&f.iter, 1);
                if matches!(walked, Value::List(_) | Value::Tuple(_) | Value::Set(_)) {
                    self.out.loop_values.push(walked);
                }
                visitor::walk_stmt(self, stmt);
            }
            _ => visitor::walk_stmt(self, stmt),
        }
    }

    fn visit_expr(&mut self, expr: &'src Expr) {
        match expr {
            Expr::Call(c) => {
                self.record_call(c);
                // A call in an annotation (`Annotated[str, Header("X-Token")]`) takes values,
                // not forward references.
                let annotation = std::mem::take(&mut self.in_annotation);
                visitor::walk_expr(self, expr);
                self.in_annotation = annotation;
            }
            Expr::Await(a) => {
                if let Expr::Call(c) = &*a.value {
                    self.awaited_starts.insert(c.range().start().to_u32());
                }
                visitor::walk_expr(self, expr);
            }
            Expr::Lambda(_)
            | Expr::ListComp(_)
            | Expr::SetComp(_)
            | Expr::DictComp(_)
            | Expr::Generator(_) => {
                // Lambdas run later; generator expressions lazily. List/set/dict comprehensions
                // run now, so only lambdas and generators are deferred.
                let defer = matches!(expr, Expr::Lambda(_) | Expr::Generator(_));
                if defer && let Some(f) = self.fns.last_mut() {
                    f.deferred += 1;
                }
                visitor::walk_expr(self, expr);
                if defer && let Some(f) = self.fns.last_mut() {
                    f.deferred -= 1;
                }
            }
            Expr::StringLiteral(s) => {
                if self.in_annotation > 0 {
                    self.mark_names_in_text(s.value.to_str());
                }
                self.record_header_name(s.value.to_str(), s.range());
            }
            Expr::BytesLiteral(b) => {
                let bytes: Vec<u8> = b
                    .value
                    .as_slice()
                    .iter()
                    .flat_map(|part| part.value.iter().copied())
                    .collect();
                if let Ok(text) = std::str::from_utf8(&bytes) {
                    self.record_header_name(text, b.range());
                }
            }
            Expr::Name(n) => {
                if n.ctx.is_load() {
                    self.mark_import_used(n.id.as_str());
                }
            }
            _ => visitor::walk_expr(self, expr),
        }
    }
}

/// A call's key in [`Extractor::callees`]: the callee's whole range (`a.b(x).c` and `a.b`
/// start at the same offset).
fn callee_key(c: &ast::ExprCall) -> u64 {
    let range = c.func.range();
    (u64::from(range.start().to_u32()) << 32) | u64::from(range.end().to_u32())
}

/// Append `.b.c` of the chain `a.b.c` to `suffix` and return its base `a`; None when the
/// suffix would be longer than [`MAX_NAME_LEN`].
fn attribute_chain<'e>(expr: &'e Expr, suffix: &mut String) -> Option<&'e Expr> {
    // Down the chain first (iteratively: a chain may be as long as the file), then spelled
    // from its base.
    let mut attrs = Vec::new();
    let mut len = 0;
    let mut base = expr;
    while let Expr::Attribute(a) = base {
        len += 1 + a.attr.id.len();
        if len > MAX_NAME_LEN {
            return None;
        }
        attrs.push(a.attr.id.as_str());
        base = &a.value;
    }
    for attr in attrs.iter().rev() {
        suffix.push('.');
        suffix.push_str(attr);
    }
    Some(base)
}

/// The call a callee resolves through: `f()` in `f()()` and in `f().a.b()`.
fn inner_call(c: &ast::ExprCall) -> Option<&ast::ExprCall> {
    let mut func = &*c.func;
    while let Expr::Attribute(a) = func {
        func = &a.value;
    }
    match func {
        Expr::Call(inner) => Some(inner),
        _ => None,
    }
}

/// The expression under any subscripts: `state.cache` in `state.cache[user][key]`.
fn innermost_base(expr: &Expr) -> &Expr {
    match expr {
        Expr::Subscript(s) => innermost_base(&s.value),
        other => other,
    }
}

fn innermost_name(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::Name(n) => Some(n.id.as_str()),
        Expr::Subscript(s) => innermost_name(&s.value),
        _ => None,
    }
}

fn is_main_guard(test: &Expr) -> bool {
    let Expr::Compare(c) = test else {
        return false;
    };
    let is_name = |e: &Expr| matches!(e, Expr::Name(n) if n.id.as_str() == "__name__");
    let is_main = |e: &Expr| matches!(e, Expr::StringLiteral(s) if s.value.to_str() == "__main__");
    c.comparators.len() == 1
        && ((is_name(&c.left) && is_main(&c.comparators[0]))
            || (is_main(&c.left) && is_name(&c.comparators[0])))
}

/// `TYPE_CHECKING` or `typing.TYPE_CHECKING`.
fn is_type_checking(test: &Expr) -> bool {
    match test {
        Expr::Name(n) => n.id.as_str() == "TYPE_CHECKING",
        Expr::Attribute(a) => a.attr.id.as_str() == "TYPE_CHECKING",
        _ => false,
    }
}

/// `Content-Security-Policy`, `x-frame-options`: letters and digits in dash-joined words.
fn looks_like_header_name(s: &str) -> bool {
    s.len() <= 64
        && s.contains('-')
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && s.as_bytes()[0].is_ascii_alphabetic()
}

/// Names bound at module level, looking into `if`/`try`/`with`/loops but not into bodies of
/// functions and classes.
fn bind_module_names<'a>(stmt: &'a Stmt, names: &mut HashSet<&'a str>) {
    let mut globals = HashSet::default();
    let mut unused = false;
    bind_names(stmt, names, &mut globals, &mut unused, true);
}

/// Names bound in a function body (its locals), its `global` declarations, and whether it
/// yields; nested functions and classes bind their name only.
fn bind_local_names<'a>(
    stmt: &'a Stmt,
    names: &mut HashSet<&'a str>,
    globals: &mut HashSet<&'a str>,
    has_yield: &mut bool,
) {
    bind_names(stmt, names, globals, has_yield, false);
    for g in globals.iter() {
        names.remove(g);
    }
}

fn bind_names<'a>(
    stmt: &'a Stmt,
    names: &mut HashSet<&'a str>,
    globals: &mut HashSet<&'a str>,
    has_yield: &mut bool,
    module: bool,
) {
    let bind_target = |e: &'a Expr, names: &mut HashSet<&'a str>| bind_target_names(e, names);
    match stmt {
        Stmt::FunctionDef(f) => {
            names.insert(f.name.id.as_str());
        }
        Stmt::ClassDef(c) => {
            names.insert(c.name.id.as_str());
        }
        Stmt::Assign(a) => {
            a.targets.iter().for_each(|t| bind_target(t, names));
            if !module {
                *has_yield |= contains_yield(&a.value);
            }
        }
        Stmt::AnnAssign(a) => {
            if a.value.is_some() {
                bind_target(&a.target, names);
            }
            if let (false, Some(v)) = (module, &a.value) {
                *has_yield |= contains_yield(v);
            }
        }
        Stmt::AugAssign(a) => bind_target(&a.target, names),
        Stmt::For(f) => {
            bind_target(&f.target, names);
            for s in f.body.iter().chain(f.orelse.iter()) {
                bind_names(s, names, globals, has_yield, module);
            }
        }
        Stmt::While(w) => {
            for s in w.body.iter().chain(w.orelse.iter()) {
                bind_names(s, names, globals, has_yield, module);
            }
        }
        Stmt::If(i) => {
            for s in &i.body {
                bind_names(s, names, globals, has_yield, module);
            }
            for clause in &i.elif_else_clauses {
                for s in &clause.body {
                    bind_names(s, names, globals, has_yield, module);
                }
            }
        }
        Stmt::With(w) => {
            for item in &w.items {
                if let Some(v) = &item.optional_vars {
                    bind_target(v, names);
                }
            }
            for s in &w.body {
                bind_names(s, names, globals, has_yield, module);
            }
        }
        Stmt::Try(t) => {
            for s in t
                .body
                .iter()
                .chain(t.orelse.iter())
                .chain(t.finalbody.iter())
            {
                bind_names(s, names, globals, has_yield, module);
            }
            for h in &t.handlers {
                let ast::ExceptHandler::ExceptHandler(h) = h;
                if let Some(n) = &h.name {
                    names.insert(n.id.as_str());
                }
                for s in &h.body {
                    bind_names(s, names, globals, has_yield, module);
                }
            }
        }
        Stmt::Match(m) => {
            for case in &m.cases {
                for s in &case.body {
                    bind_names(s, names, globals, has_yield, module);
                }
            }
        }
        Stmt::Import(i) => {
            for a in &i.names {
                let local = a.asname.as_ref().map_or_else(
                    || a.name.id.split('.').next().unwrap_or(""),
                    |n| n.id.as_str(),
                );
                names.insert(local);
            }
        }
        Stmt::ImportFrom(i) => {
            for a in &i.names {
                let local = a
                    .asname
                    .as_ref()
                    .map_or(a.name.id.as_str(), |n| n.id.as_str());
                names.insert(local);
            }
        }
        Stmt::Global(g) if !module => {
            for n in &g.names {
                globals.insert(n.id.as_str());
            }
        }
        Stmt::Expr(e) if !module => *has_yield |= contains_yield(&e.value),
        Stmt::Return(r) if !module => {
            if let Some(v) = &r.value {
                *has_yield |= contains_yield(v);
            }
        }
        _ => {}
    }
}

fn bind_target_names<'a>(e: &'a Expr, names: &mut HashSet<&'a str>) {
    match e {
        Expr::Name(n) => {
            names.insert(n.id.as_str());
        }
        Expr::Tuple(t) => t.elts.iter().for_each(|x| bind_target_names(x, names)),
        Expr::List(l) => l.elts.iter().for_each(|x| bind_target_names(x, names)),
        Expr::Starred(s) => bind_target_names(&s.value, names),
        _ => {}
    }
}

fn contains_yield(e: &Expr) -> bool {
    match e {
        Expr::Yield(_) | Expr::YieldFrom(_) => true,
        Expr::Await(a) => contains_yield(&a.value),
        _ => false,
    }
}

/// The literal text of an f-string up to its first interpolation, cut like a string value.
fn fstring_head(f: &ast::ExprFString) -> String {
    let mut head = String::new();
    'parts: for part in f.value.as_slice() {
        match part {
            ast::FStringPart::Literal(l) => head.push_str(&l.value),
            ast::FStringPart::FString(fs) => {
                for element in fs.elements.iter() {
                    match element {
                        ast::InterpolatedStringElement::Literal(l) => head.push_str(&l.value),
                        ast::InterpolatedStringElement::Interpolation(_) => break 'parts,
                    }
                }
            }
        }
        if head.len() >= MAX_STR_LEN {
            break;
        }
    }
    let cut = head.floor_char_boundary(MAX_STR_LEN.min(head.len()));
    head.truncate(cut);
    head
}

/// The parts of `a + b + ...`, left to right, when it joins strings: every part a string
/// literal, an f-string or a name (an attribute's last name counts), and one of them a
/// literal or a constant's upper-case name. Arithmetic on names (`x + y`) is no such join.
fn string_concat<'e>(expr: &'e Expr, parts: &mut Vec<&'e Expr>) -> bool {
    fn flatten<'e>(e: &'e Expr, parts: &mut Vec<&'e Expr>) -> bool {
        match e {
            Expr::BinOp(b) if b.op == ast::Operator::Add => {
                flatten(&b.left, parts) && flatten(&b.right, parts)
            }
            Expr::StringLiteral(_) | Expr::FString(_) | Expr::Name(_) | Expr::Attribute(_) => {
                parts.push(e);
                parts.len() <= MAX_ELEMENTS
            }
            _ => false,
        }
    }
    let is_constant = |name: &str| {
        name.chars().any(|c| c.is_ascii_uppercase())
            && !name.chars().any(|c| c.is_ascii_lowercase())
    };
    flatten(expr, parts)
        && parts.iter().any(|e| match e {
            Expr::StringLiteral(_) | Expr::FString(_) => true,
            Expr::Name(n) => is_constant(n.id.as_str()),
            Expr::Attribute(a) => is_constant(a.attr.as_str()),
            _ => false,
        })
}

/// A literal (nested containers of literals included) or a call's result, awaited or not:
/// what a `return` gives back without reading a name the facts do not follow.
fn literal_or_call(e: &Expr) -> bool {
    match e {
        Expr::StringLiteral(_)
        | Expr::BytesLiteral(_)
        | Expr::NumberLiteral(_)
        | Expr::BooleanLiteral(_)
        | Expr::NoneLiteral(_)
        | Expr::EllipsisLiteral(_)
        | Expr::Call(_) => true,
        Expr::Await(a) => matches!(&*a.value, Expr::Call(_)),
        Expr::List(l) => l.elts.iter().all(literal_or_call),
        Expr::Tuple(t) => t.elts.iter().all(literal_or_call),
        Expr::Set(s) => s.elts.iter().all(literal_or_call),
        Expr::Dict(d) => d.items.iter().all(|item| {
            item.key.as_ref().is_some_and(literal_or_call) && literal_or_call(&item.value)
        }),
        _ => false,
    }
}
