//! Refuses templates whose rendering would not end: a macro that calls itself (directly or
//! through others), an `{% include %}` loop, an `{% import %}` loop. Tera has no depth limit
//! for any of them, so each overflows the stack and aborts the process.
//!
//! Why a static check, and not a bound at render time: tera gives no hook between the levels
//! of a recursion (no callback runs on a macro call or an include), so a depth counter cannot
//! be kept, and a stack overflow cannot be caught in Rust (it aborts, on any thread). Rendering
//! on a thread with a bigger stack only moves the abort. Every unbounded recursion needs a
//! cycle among the calls, includes and imports the templates make, and those are all written
//! literally in them (an include names its files, a macro call its namespace and name), so
//! refusing every cycle rules out unbounded recursion. The price: a macro that recurses with
//! a terminating condition is refused too; svc templates render files, not trees of data,
//! and can unroll one. An acyclic chain is bounded as well ([`MAX_NESTING`]), so a hostile
//! template with thousands of files including one another, or a hundred macros calling one
//! another from deep inside nested conditions, cannot overflow it either. A single file nested
//! so deep that tera's own parser overflows (about 550 nested `if`s in a debug build, 5,000 in
//! a release build) never gets here: parsing comes first, and [`super::nesting`] refuses such
//! a text before it.
//!
//! Which macro a call reaches depends, in tera, on the template that is "active" when it runs:
//! normally the one the call is written in (a macro's own file, an included file), but inside
//! a block it is the template defining the block, and under `{% extends %}` the top parent.
//! So a call `ns::f` written in template L is taken to reach macro `f` of every template that
//! `ns` names for L, for any template with blocks, and for any parent; and `ns` names, for a
//! template, what tera gives it: `self` (its own macros), its imports, what those import, and
//! what its parents name. This can only add edges, never lose one.

use std::collections::{HashMap, HashSet};
use std::fmt;

use miette::Diagnostic;
use tera::ast::{Expr, ExprVal, Node};
use thiserror::Error;

use super::engine::ONE_OFF;

/// How deep a render may nest, counted along the longest chain of includes, macro calls and
/// extends, each template or macro on it counting as deep as its own syntax tree (its blocks,
/// loops, conditions and expressions; at least 1). Tera recurses once or more per level. A
/// debug build overflowed the main thread's 8 MiB stack at about 2,000 levels (99 macros
/// calling one another from inside 20 nested `if`s; 50 of them, 1,000 levels, rendered), a
/// release build not at 8,000; templates in practice nest a few dozen.
pub const MAX_NESTING: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq, Error, Diagnostic)]
pub enum Recursion {
    #[error("{CYCLE}: {0}")]
    #[diagnostic(code(svc::new::template), help("{CYCLE_HELP}"))]
    Cycle(String),
    #[error("the template renders {depth} levels deep, more than {MAX_NESTING}: {chain}")]
    #[diagnostic(
        code(svc::new::template),
        help(
            "each include, macro call, block, loop, condition and expression level takes stack \
             space while it renders; flatten the chain or the nesting"
        )
    )]
    TooDeep { depth: usize, chain: String },
}

/// Starts the message of a [`Recursion::Cycle`], also when it comes wrapped in a tera error.
pub const CYCLE: &str = "the template recurses without end";

pub const CYCLE_HELP: &str = "tera has no depth limit, so a cycle of includes, imports or macro \
    calls would overflow the stack; svc refuses every cycle, even one that a condition would \
    end: unroll the recursion";

/// Checks templates as tera parsed them; `templates` are all the templates of one tera
/// instance, so includes, imports and parents resolve among them.
pub fn check(templates: &[tera::Template]) -> Result<(), Recursion> {
    let graph = Graph::new(templates);
    graph.check(&graph.imports, false)?;
    graph.check(&graph.renders, true)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Unit<'a> {
    /// Rendering the body of a template (top-level, included, or as a parent).
    Template(&'a str),
    /// Running a macro: (the template defining it, its name).
    Macro(&'a str, &'a str),
}

impl fmt::Display for Unit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Unit::Template(name) => f.write_str(name),
            Unit::Macro(ONE_OFF, name) => write!(f, "macro `{name}`"),
            Unit::Macro(file, name) => write!(f, "macro `{name}` of {file}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    Includes,
    Calls,
    Extends,
    Imports,
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Via::Includes => "includes",
            Via::Calls => "calls",
            Via::Extends => "extends",
            Via::Imports => "imports",
        })
    }
}

type Edges<'a> = HashMap<Unit<'a>, Vec<(Unit<'a>, Via)>>;

struct Graph<'a> {
    /// In a stable order (as given, then macros by name), so errors are reproducible.
    units: Vec<Unit<'a>>,
    /// Template -> the templates it imports: tera loads imports recursively, with no guard.
    imports: Edges<'a>,
    /// What running a unit may run next.
    renders: Edges<'a>,
    /// How deep each unit's own syntax tree is (1 for the import graph).
    nesting: HashMap<Unit<'a>, usize>,
}

impl<'a> Graph<'a> {
    fn new(templates: &'a [tera::Template]) -> Self {
        let by_name: HashMap<&str, &tera::Template> =
            templates.iter().map(|t| (t.name.as_str(), t)).collect();

        let mut imports: Edges<'a> = HashMap::new();
        for template in templates {
            let targets = template
                .imported_macro_files
                .iter()
                .filter_map(|(file, _)| by_name.get(file.as_str()))
                .map(|t| (Unit::Template(t.name.as_str()), Via::Imports))
                .collect();
            imports.insert(Unit::Template(&template.name), targets);
        }

        let namespaces = Namespaces::new(templates, &by_name);
        // What a namespace can name wherever a call is written: in the templates with blocks
        // and in the parents, whose namespaces tera may make the active ones.
        let parents: HashSet<&str> = templates
            .iter()
            .filter_map(|t| t.parent.as_deref())
            .collect();
        let mut everywhere: HashMap<&str, Vec<&str>> = HashMap::new();
        for template in templates
            .iter()
            .filter(|t| !t.blocks.is_empty() || parents.contains(t.name.as_str()))
        {
            for (namespace, files) in namespaces.all(&template.name) {
                let known = everywhere.entry(namespace).or_default();
                known.extend(
                    files
                        .iter()
                        .filter(|f| !known.contains(f))
                        .collect::<Vec<_>>(),
                );
            }
        }
        let targets_of_call = |written_in: &'a str, namespace: &str, name: &str| {
            let files = namespaces
                .named(written_in, namespace)
                .iter()
                .chain(everywhere.get(namespace).into_iter().flatten());
            let mut targets = Vec::new();
            for file in files {
                if let Some(t) = by_name.get(file)
                    && let Some((name, _)) = t.macros.get_key_value(name)
                {
                    let unit = Unit::Macro(t.name.as_str(), name.as_str());
                    if !targets.contains(&unit) {
                        targets.push(unit);
                    }
                }
            }
            targets
        };

        let mut units = Vec::new();
        let mut renders: Edges<'a> = HashMap::new();
        let mut nesting = HashMap::new();
        for template in templates {
            let name = template.name.as_str();
            let mut edges = Vec::new();
            if let Some(parent) = template.parent.as_deref()
                && let Some(parent) = by_name.get(parent)
            {
                edges.push((Unit::Template(parent.name.as_str()), Via::Extends));
            }
            let mut links = Vec::new();
            let depth = walk(Work::Nodes(&template.ast), &mut links);
            edges.extend(resolve(links, name, &by_name, &targets_of_call));
            units.push(Unit::Template(name));
            renders.insert(Unit::Template(name), edges);
            nesting.insert(Unit::Template(name), depth);

            let mut macros: Vec<_> = template.macros.iter().collect();
            macros.sort_by_key(|(macro_name, _)| macro_name.as_str());
            for (macro_name, definition) in macros {
                // Default arguments are literals in tera's grammar: only the body can call.
                let mut links = Vec::new();
                let depth = walk(Work::Nodes(&definition.body), &mut links);
                let unit = Unit::Macro(name, macro_name.as_str());
                units.push(unit);
                renders.insert(unit, resolve(links, name, &by_name, &targets_of_call));
                nesting.insert(unit, depth);
            }
        }
        Self {
            units,
            imports,
            renders,
            nesting,
        }
    }

    /// Depth-first over every unit, without recursion (a hostile template can make the graph
    /// as deep as it has files): a unit met again while still on the path is a cycle, and a
    /// finished unit knows the longest chain below it.
    fn check(&self, edges: &Edges<'a>, weighted: bool) -> Result<(), Recursion> {
        let weight = |unit: &Unit<'a>| {
            if weighted {
                self.nesting.get(unit).copied().unwrap_or(1).max(1)
            } else {
                1
            }
        };
        enum State {
            OnPath,
            /// The deepest nesting of a chain from here, this unit included.
            Done(usize),
        }
        let successors = |unit: &Unit<'a>| edges.get(unit).map_or(&[][..], Vec::as_slice);
        let mut states: HashMap<Unit<'a>, State> = HashMap::new();
        for &root in &self.units {
            if states.contains_key(&root) {
                continue;
            }
            // (unit, index of its next edge to follow, how it was reached)
            let mut path: Vec<(Unit<'a>, usize, Option<Via>)> = vec![(root, 0, None)];
            states.insert(root, State::OnPath);
            while let Some((unit, next, _)) = path.last_mut() {
                let unit = *unit;
                if let Some(&(to, via)) = successors(&unit).get(*next) {
                    *next += 1;
                    match states.get(&to) {
                        Some(State::OnPath) => return Err(Recursion::Cycle(cycle(&path, to, via))),
                        Some(State::Done(_)) => {}
                        None => {
                            states.insert(to, State::OnPath);
                            path.push((to, 0, Some(via)));
                        }
                    }
                    continue;
                }
                let depth = weight(&unit)
                    + successors(&unit)
                        .iter()
                        .map(|(to, _)| match states.get(to) {
                            Some(State::Done(depth)) => *depth,
                            _ => 0,
                        })
                        .max()
                        .unwrap_or(0);
                if depth > MAX_NESTING {
                    return Err(Recursion::TooDeep {
                        depth,
                        chain: self.longest_chain(unit, edges, &|u| match states.get(u) {
                            Some(State::Done(depth)) => *depth,
                            _ => 0,
                        }),
                    });
                }
                states.insert(unit, State::Done(depth));
                path.pop();
            }
        }
        Ok(())
    }

    /// The longest chain from `unit`, for the message.
    fn longest_chain(
        &self,
        unit: Unit<'a>,
        edges: &Edges<'a>,
        depth_of: &dyn Fn(&Unit<'a>) -> usize,
    ) -> String {
        let mut chain = vec![(unit, None)];
        let mut current = unit;
        while let Some(&(to, via)) = edges
            .get(&current)
            .and_then(|e| e.iter().max_by_key(|(to, _)| depth_of(to)))
        {
            if depth_of(&to) == 0 {
                break;
            }
            chain.push((to, Some(via)));
            current = to;
        }
        describe(&chain)
    }
}

/// "a includes b, which includes a"; "macro `f` of m calls itself".
fn cycle<'a>(path: &[(Unit<'a>, usize, Option<Via>)], back_to: Unit<'a>, via: Via) -> String {
    let start = path
        .iter()
        .position(|(unit, _, _)| *unit == back_to)
        .expect("a unit on the path is in it");
    if start + 1 == path.len() {
        return format!("{back_to} {via} itself");
    }
    let mut chain: Vec<(Unit<'a>, Option<Via>)> = vec![(back_to, None)];
    chain.extend(
        path[start + 1..]
            .iter()
            .map(|(unit, _, reached)| (*unit, *reached)),
    );
    chain.push((back_to, Some(via)));
    describe(&chain)
}

/// "a includes b, which calls macro `f` of m, …, which includes z": a long chain keeps its
/// first three units and its last.
fn describe(chain: &[(Unit<'_>, Option<Via>)]) -> String {
    let step = |(unit, via): &(Unit<'_>, Option<Via>)| match via {
        Some(via) => format!("{via} {unit}"),
        None => unit.to_string(),
    };
    let Some((first, rest)) = chain.split_first() else {
        return String::new();
    };
    let mut steps: Vec<String> = if rest.len() > 4 {
        let mut kept: Vec<String> = rest[..2].iter().map(step).collect();
        kept.push(format!("… {}", step(&rest[rest.len() - 1])));
        kept
    } else {
        rest.iter().map(step).collect()
    };
    if steps.is_empty() {
        return step(first);
    }
    let head = format!("{} {}", first.0, steps.remove(0));
    std::iter::once(head)
        .chain(steps)
        .collect::<Vec<_>>()
        .join(", which ")
}

/// What a piece of template may lead to running.
enum Link<'a> {
    Include(&'a [String]),
    Call { namespace: &'a str, name: &'a str },
}

fn resolve<'a>(
    links: Vec<Link<'a>>,
    written_in: &'a str,
    by_name: &HashMap<&str, &'a tera::Template>,
    targets_of_call: &dyn Fn(&'a str, &str, &str) -> Vec<Unit<'a>>,
) -> Vec<(Unit<'a>, Via)> {
    let mut edges = Vec::new();
    for link in links {
        match link {
            Link::Include(names) => {
                for name in names {
                    if let Some(t) = by_name.get(name.as_str()) {
                        edges.push((Unit::Template(t.name.as_str()), Via::Includes));
                    }
                }
            }
            Link::Call { namespace, name } => {
                for unit in targets_of_call(written_in, namespace, name) {
                    edges.push((unit, Via::Calls));
                }
            }
        }
    }
    edges
}

enum Work<'a> {
    Nodes(&'a [Node]),
    Expr(&'a Expr),
    Value(&'a ExprVal),
}

/// Collects the includes and macro calls of a body, and returns how deep its syntax tree is,
/// with an explicit stack: the tree can be as deep as tera's parser allowed. Macro
/// definitions are skipped; they are units of their own.
fn walk<'a>(start: Work<'a>, links: &mut Vec<Link<'a>>) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(start, 0)];
    while let Some((work, depth)) = stack.pop() {
        deepest = deepest.max(depth);
        let inner = depth + 1;
        match work {
            Work::Nodes(nodes) => {
                for node in nodes {
                    match node {
                        Node::VariableBlock(_, expr) => stack.push((Work::Expr(expr), inner)),
                        Node::Include(_, names, _) => links.push(Link::Include(names)),
                        Node::Set(_, set) => stack.push((Work::Expr(&set.value), inner)),
                        Node::FilterSection(_, section, _) => {
                            stack.extend(
                                section.filter.args.values().map(|e| (Work::Expr(e), inner)),
                            );
                            stack.push((Work::Nodes(&section.body), inner));
                        }
                        Node::Block(_, block, _) => stack.push((Work::Nodes(&block.body), inner)),
                        Node::Forloop(_, for_loop, _) => {
                            stack.push((Work::Expr(&for_loop.container), inner));
                            stack.push((Work::Nodes(&for_loop.body), inner));
                            if let Some(empty) = &for_loop.empty_body {
                                stack.push((Work::Nodes(empty), inner));
                            }
                        }
                        Node::If(branches, _) => {
                            for (_, condition, body) in &branches.conditions {
                                stack.push((Work::Expr(condition), inner));
                                stack.push((Work::Nodes(body), inner));
                            }
                            if let Some((_, body)) = &branches.otherwise {
                                stack.push((Work::Nodes(body), inner));
                            }
                        }
                        Node::MacroDefinition(..)
                        | Node::Super
                        | Node::Text(_)
                        | Node::Extends(..)
                        | Node::ImportMacro(..)
                        | Node::Raw(..)
                        | Node::Break(_)
                        | Node::Continue(_)
                        | Node::Comment(..) => {}
                    }
                }
            }
            Work::Expr(expr) => {
                stack.push((Work::Value(&expr.val), inner));
                for filter in &expr.filters {
                    stack.extend(filter.args.values().map(|e| (Work::Expr(e), inner)));
                }
            }
            Work::Value(value) => {
                let exprs: Box<dyn Iterator<Item = &Expr>> = match value {
                    ExprVal::MacroCall(call) => {
                        links.push(Link::Call {
                            namespace: &call.namespace,
                            name: &call.name,
                        });
                        Box::new(call.args.values())
                    }
                    ExprVal::FunctionCall(call) => Box::new(call.args.values()),
                    ExprVal::Math(math) => Box::new([&*math.lhs, &*math.rhs].into_iter()),
                    ExprVal::Logic(logic) => Box::new([&*logic.lhs, &*logic.rhs].into_iter()),
                    ExprVal::In(test) => Box::new([&*test.lhs, &*test.rhs].into_iter()),
                    ExprVal::Test(test) => Box::new(test.args.iter()),
                    ExprVal::Array(items) => Box::new(items.iter()),
                    ExprVal::StringConcat(concat) => {
                        stack.extend(concat.values.iter().map(|v| (Work::Value(v), inner)));
                        Box::new(std::iter::empty())
                    }
                    ExprVal::String(_)
                    | ExprVal::Int(_)
                    | ExprVal::Float(_)
                    | ExprVal::Bool(_)
                    | ExprVal::Ident(_) => Box::new(std::iter::empty()),
                };
                stack.extend(exprs.map(|e| (Work::Expr(e), inner)));
            }
        }
    }
    deepest
}

/// What each namespace name can mean in each template, as tera's `MacroCollection` builds it,
/// but keeping every candidate where tera keeps the first.
struct Namespaces<'a> {
    names: HashMap<&'a str, HashMap<&'a str, Vec<&'a str>>>,
}

impl<'a> Namespaces<'a> {
    fn new(templates: &'a [tera::Template], by_name: &HashMap<&str, &'a tera::Template>) -> Self {
        let mut this = Self {
            names: HashMap::new(),
        };
        for template in templates {
            this.fill(template, by_name);
        }
        this
    }

    /// Imports and parents can chain; both chains are walked with an explicit list of
    /// templates still to finish, so a loop (refused later, with a message) cannot hang this.
    fn fill(&mut self, root: &'a tera::Template, by_name: &HashMap<&str, &'a tera::Template>) {
        let mut pending = vec![(root, false)];
        let mut started: HashSet<&str> = HashSet::new();
        while let Some((template, dependencies_done)) = pending.pop() {
            let name = template.name.as_str();
            if self.names.contains_key(name) {
                continue;
            }
            let dependencies: Vec<&'a tera::Template> = template
                .imported_macro_files
                .iter()
                .map(|(file, _)| file.as_str())
                .chain(template.parent.as_deref())
                .filter_map(|file| by_name.get(file).copied())
                .collect();
            if !dependencies_done && started.insert(name) {
                pending.push((template, true));
                for dependency in dependencies {
                    if !self.names.contains_key(dependency.name.as_str()) {
                        pending.push((dependency, false));
                    }
                }
                continue;
            }
            let mut names: HashMap<&'a str, Vec<&'a str>> = HashMap::new();
            let mut add = |namespace: &'a str, file: &'a str| {
                let files = names.entry(namespace).or_default();
                if !files.contains(&file) {
                    files.push(file);
                }
            };
            if !template.macros.is_empty() {
                add("self", name);
            }
            for (file, namespace) in &template.imported_macro_files {
                add(namespace.as_str(), file.as_str());
            }
            for dependency in dependencies {
                for (namespace, files) in self
                    .names
                    .get(dependency.name.as_str())
                    .into_iter()
                    .flatten()
                {
                    for file in files {
                        add(namespace, file);
                    }
                }
            }
            self.names.insert(name, names);
        }
    }

    fn all(&self, template: &str) -> impl Iterator<Item = (&'a str, &[&'a str])> {
        self.names
            .get(template)
            .into_iter()
            .flatten()
            .map(|(namespace, files)| (*namespace, files.as_slice()))
    }

    fn named(&self, template: &str, namespace: &str) -> &[&'a str] {
        self.names
            .get(template)
            .and_then(|names| names.get(namespace))
            .map_or(&[], Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_sources(sources: &[(&str, &str)]) -> Result<(), Recursion> {
        let templates: Vec<tera::Template> = sources
            .iter()
            .map(|(name, text)| tera::Template::new(name, None, text).unwrap())
            .collect();
        check(&templates)
    }

    fn cycle_of(sources: &[(&str, &str)]) -> String {
        match check_sources(sources) {
            Err(Recursion::Cycle(text)) => text,
            other => panic!("expected a cycle, got {other:?}"),
        }
    }

    const MACROS: &str = "{% macro f(n) %}{{ self::f(n=n+1) }}{% endmacro f %}";

    #[test]
    fn a_macro_calling_itself_is_a_cycle() {
        assert_eq!(
            cycle_of(&[
                ("a.txt", "{% import \"m\" as m %}{{ m::f(n=1) }}"),
                ("m", MACROS)
            ]),
            "macro `f` of m calls itself"
        );
        // Even unused.
        assert_eq!(cycle_of(&[("m", MACROS)]), "macro `f` of m calls itself");
    }

    #[test]
    fn mutual_recursion_across_files_is_a_cycle() {
        let text = cycle_of(&[
            (
                "a",
                "{% import \"b\" as b %}{% macro f() %}{% if true %}{{ b::g() | upper }}{% endif %}{% endmacro f %}",
            ),
            (
                "b",
                "{% import \"a\" as a %}{% macro g() %}{{ a::f() }}{% endmacro g %}",
            ),
        ]);
        // The import loop is found first: tera loads imports before it renders anything.
        assert_eq!(text, "a imports b, which imports a");

        let text = cycle_of(&[
            ("root", "{% import \"a\" as a %}{{ a::f() }}"),
            ("a", "{% macro f() %}{% include \"inc\" %}{% endmacro f %}"),
            ("inc", "{% import \"a\" as x %}{{ x::f() }}"),
        ]);
        assert_eq!(
            text,
            "macro `f` of a includes inc, which calls macro `f` of a"
        );
    }

    #[test]
    fn include_loops_are_cycles() {
        assert_eq!(
            cycle_of(&[
                ("a.txt", "{% include \"b.txt\" %}"),
                (
                    "b.txt",
                    "x{% for i in [1] %}{% include \"a.txt\" %}{% endfor %}"
                )
            ]),
            "a.txt includes b.txt, which includes a.txt"
        );
        assert_eq!(
            cycle_of(&[("a", "{% include [\"missing\", \"a\"] ignore missing %}")]),
            "a includes itself"
        );
    }

    #[test]
    fn calls_that_do_not_loop_pass() {
        assert_eq!(
            check_sources(&[
                (
                    "page",
                    "{% import \"m\" as m %}{{ m::outer() }}{% include \"part\" %}{% include \"part\" %}"
                ),
                (
                    "m",
                    "{% macro inner() %}i{% endmacro inner %}{% macro outer() %}{{ self::inner() }}{% endmacro outer %}"
                ),
                // Same macro name in another file: a different macro.
                (
                    "other",
                    "{% import \"m\" as m %}{% macro inner() %}{{ m::inner() }}{% endmacro inner %}"
                ),
                ("part", "{% import \"m\" as m %}{{ m::inner() }}"),
            ]),
            Ok(())
        );
    }

    #[test]
    fn inheritance_and_blocks_are_followed() {
        let base = "{% import \"m\" as m %}<{% block body %}{% endblock body %}>";
        let macros = "{% macro f() %}f{% endmacro f %}";
        assert_eq!(
            check_sources(&[
                ("base", base),
                (
                    "child",
                    "{% extends \"base\" %}{% block body %}{{ m::f() }}{{ super() }}{% endblock body %}"
                ),
                ("m", macros),
            ]),
            Ok(())
        );
        // Including the parent from a macro the child's block calls is no loop: the included
        // parent renders its own (empty) block. Tera agrees; this must not be refused.
        assert_eq!(
            check_sources(&[
                ("base", base),
                (
                    "child",
                    "{% extends \"base\" %}{% block body %}{{ m::f() }}{% endblock body %}"
                ),
                ("m", "{% macro f() %}{% include \"base\" %}{% endmacro f %}"),
            ]),
            Ok(())
        );
        // A loop through a parent's own block is one.
        assert_eq!(
            cycle_of(&[
                (
                    "base",
                    "{% import \"m\" as m %}<{% block body %}{{ m::f() }}{% endblock body %}>"
                ),
                ("child", "{% extends \"base\" %}"),
                ("m", "{% macro f() %}{% include \"base\" %}{% endmacro f %}"),
            ]),
            "base calls macro `f` of m, which includes base"
        );
    }

    #[test]
    fn nesting_inside_each_level_counts_towards_the_limit() {
        // 30 macros, each calling the next from inside 20 nested conditions: about 660 levels.
        let nested = |i: usize| {
            format!(
                "{{% macro f{i}() %}}{}{{{{ self::f{}() }}}}{}{{% endmacro f{i} %}}",
                "{% if true %}".repeat(20),
                i + 1,
                "{% endif %}".repeat(20)
            )
        };
        let mut macros: String = (0..30).map(nested).collect();
        macros.push_str("{% macro f30() %}end{% endmacro f30 %}");
        let Err(Recursion::TooDeep { depth, chain }) = check_sources(&[("m", &macros)]) else {
            panic!("30 levels of 20 nested conditions must be refused");
        };
        assert!(depth > MAX_NESTING, "{depth}");
        assert!(chain.contains("calls macro `f"), "{chain}");
        // The same with 3 nested conditions each: fine.
        let shallow = macros.replace(&"{% if true %}".repeat(20), &"{% if true %}".repeat(3));
        let shallow = shallow.replace(&"{% endif %}".repeat(20), &"{% endif %}".repeat(3));
        assert_eq!(check_sources(&[("m", &shallow)]), Ok(()));
    }

    #[test]
    fn chains_deeper_than_the_limit_are_refused() {
        let names: Vec<String> = (0..=MAX_NESTING).map(|i| format!("p{i}")).collect();
        let bodies: Vec<String> = (0..=MAX_NESTING)
            .map(|i| {
                if i < MAX_NESTING {
                    format!("{{% include \"p{}\" %}}", i + 1)
                } else {
                    "end".to_owned()
                }
            })
            .collect();
        let sources: Vec<(&str, &str)> = names
            .iter()
            .map(String::as_str)
            .zip(bodies.iter().map(String::as_str))
            .collect();
        let Err(Recursion::TooDeep { depth, chain }) = check_sources(&sources) else {
            panic!("{} nested includes must be refused", MAX_NESTING + 1);
        };
        assert_eq!(depth, MAX_NESTING + 1);
        assert_eq!(
            chain,
            format!("p0 includes p1, which includes p2, which … includes p{MAX_NESTING}")
        );
        // One level less is fine.
        assert_eq!(check_sources(&sources[1..]), Ok(()));
    }
}
