//! The Python front end: parse with Ruff's parser (the tree in the parse arena), extract
//! [`CodeFile`] facts, free the tree.

mod extract;

use ruff_python_ast::{Stmt, token::TokenKind};
use ruff_text_size::{Ranged, TextRange};

use crate::alloc::InArena;
use crate::audit::model::code::CodeFile;
use crate::audit::suppress::parse_suppression;

/// A file that does not parse.
#[derive(Debug, Clone)]
pub struct SyntaxError {
    pub message: String,
    pub range: TextRange,
}

/// Parse `source` (module `module`) and extract its facts.
pub fn analyze(source: &str, module: &str, is_package: bool) -> Result<CodeFile, SyntaxError> {
    // The tree lives in the parse arena and is only borrowed: the facts are made outside it.
    let parsed = InArena::new(|| ruff_python_parser::parse_module(source));
    let parsed = match &*parsed {
        Ok(parsed) => parsed,
        Err(e) => {
            return Err(SyntaxError {
                message: e.error.to_string(),
                range: e.location,
            });
        }
    };
    let mut suppressions = Vec::new();
    if source.contains("svc:") {
        for token in parsed.tokens().iter() {
            if token.kind() == TokenKind::Comment
                && let Some(s) = parse_suppression(&source[token.range()], token.range())
            {
                suppressions.push(s);
            }
        }
    }
    let module_ast = parsed.syntax();
    let mut file = extract::Extractor::new(source, module, is_package).run(&module_ast.body);
    if !suppressions.is_empty() {
        collect_statement_ranges(&module_ast.body, source, &mut file.statement_ranges);
    }
    file.suppressions = suppressions;
    file.shrink();
    Ok(file)
}

/// Ranges a suppression comment can cover: every multi-line simple statement, and the header
/// (decorators through the colon) of every compound statement.
fn collect_statement_ranges(body: &[Stmt], source: &str, out: &mut Vec<TextRange>) {
    for stmt in body {
        let (header_end, children): (_, Vec<&[Stmt]>) = match stmt {
            Stmt::FunctionDef(f) => (f.body.first().map(|s| s.start()), vec![&f.body]),
            Stmt::ClassDef(c) => (c.body.first().map(|s| s.start()), vec![&c.body]),
            Stmt::If(i) => {
                let mut kids: Vec<&[Stmt]> = vec![&i.body];
                kids.extend(i.elif_else_clauses.iter().map(|c| c.body.as_slice()));
                (i.body.first().map(|s| s.start()), kids)
            }
            Stmt::For(f) => (f.body.first().map(|s| s.start()), vec![&f.body, &f.orelse]),
            Stmt::While(w) => (w.body.first().map(|s| s.start()), vec![&w.body, &w.orelse]),
            Stmt::With(w) => (w.body.first().map(|s| s.start()), vec![&w.body]),
            Stmt::Try(t) => {
                let mut kids: Vec<&[Stmt]> = vec![&t.body, &t.orelse, &t.finalbody];
                for h in &t.handlers {
                    let ruff_python_ast::ExceptHandler::ExceptHandler(h) = h;
                    kids.push(&h.body);
                }
                (t.body.first().map(|s| s.start()), kids)
            }
            Stmt::Match(m) => (None, m.cases.iter().map(|c| c.body.as_slice()).collect()),
            _ => (None, Vec::new()),
        };
        let range = match header_end {
            Some(end) => TextRange::new(stmt.start(), end),
            None if children.is_empty() => stmt.range(),
            None => continue,
        };
        if source[range].trim_end().contains('\n') {
            out.push(range);
        }
        for kid in children {
            collect_statement_ranges(kid, source, out);
        }
    }
}
