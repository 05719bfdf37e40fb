//! Cross-file name resolution inside one service.
//!
//! Files are known by their dotted module path relative to the audited root
//! (`services.orders.app.routers.items`); an import names a module relative to some import
//! root (`app.routers.items`), so a module matches every file whose path ends with it. Names
//! defined at module level are looked up in that file, following imports and re-exports.

use std::hash::BuildHasher;

use rustc_hash::FxHashMap as HashMap;

use crate::audit::model::FnRef;
use crate::audit::model::Project;
use crate::audit::model::code::{CodeFile, FnId, Name, Scope};
use crate::audit::source::FileId;

/// What a dotted name resolves to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Symbol {
    Function(FnRef),
    Class {
        file: FileId,
        index: u32,
    },
    /// An assignment (`router = APIRouter()`), module level or local to a function.
    Assign {
        file: FileId,
        index: u32,
    },
    Module(FileId),
}

#[derive(Debug, Clone, Copy)]
enum Def {
    Function(FnId),
    Class(u32),
    Assign(u32),
    Import(u32),
}

#[derive(Debug, Default)]
pub(crate) struct SymbolTable {
    /// Every dotted suffix of every module path -> files.
    modules: HashMap<Name, Vec<FileId>>,
    /// Module-level definitions of each file.
    defs: HashMap<FileId, HashMap<Name, Def>>,
    /// Every function of each file by qualified name (the first defined, if several), for
    /// methods and functions' locals (`Class.method`, `create_app.app`).
    functions: HashMap<FileId, HashMap<Name, FnId>>,
    /// The first segment of every module path (`api` for `api.utils.core`).
    top_level: rustc_hash::FxHashSet<Box<str>>,
    /// Answers already given: the model and several rules resolve the same names (a
    /// router, `Depends(current_user)`) over and over.
    /// Sharded by the name's hash: rules and the linker resolve from several threads at once.
    cache: [std::sync::Mutex<HashMap<Box<str>, Option<Symbol>>>; CACHE_SHARDS],
}

const CACHE_SHARDS: usize = 16;

/// The state of one resolution.
struct Search {
    /// File look-ups left.
    budget: u32,
    /// Dotted paths looked up so far.
    tried: rustc_hash::FxHashSet<Box<str>>,
}

/// How many imports/re-exports a resolution follows before giving up (cycles).
const MAX_HOPS: u32 = 8;
/// How many file look-ups one resolution may make in all.
const MAX_LOOKUPS: u32 = 32;

/// Module-level definitions of a file.
fn file_defs(code: &CodeFile) -> HashMap<Name, Def> {
    let mut defs = HashMap::default();
    for (i, imp) in code.imports.iter().enumerate() {
        if imp.func.is_none() {
            defs.insert(imp.local.clone(), Def::Import(i as u32));
        }
    }
    for (i, a) in code.assigns.iter().enumerate() {
        if a.scope == Scope::Module {
            defs.insert(a.target.clone(), Def::Assign(i as u32));
        }
    }
    let top_level = format!("{}.", code.module);
    for (i, c) in code.classes.iter().enumerate() {
        if c.qual.strip_prefix(top_level.as_str()) == Some(&*c.name) {
            defs.insert(c.name.clone(), Def::Class(i as u32));
        }
    }
    for (i, f) in code.functions.iter().enumerate() {
        if f.parent.is_none() && f.class.is_none() {
            defs.insert(f.name.clone(), Def::Function(i as FnId));
        }
    }
    defs
}

/// Every function of a file by qualified name, the first defined if several.
fn file_functions(code: &CodeFile) -> HashMap<Name, FnId> {
    let mut functions: HashMap<Name, FnId> = HashMap::default();
    for (i, f) in code.functions.iter().enumerate() {
        functions.entry(f.qual.clone()).or_insert(i as FnId);
    }
    functions
}

impl SymbolTable {
    pub fn build(project: &Project, files: &[FileId]) -> Self {
        use rayon::prelude::*;
        let mut table = SymbolTable::default();
        let code_files: Vec<_> = project.code_files(files).collect();
        // Each file's tables on its own, in parallel.
        let per_file: Vec<(FileId, _, _)> = code_files
            .par_iter()
            .with_max_len(super::PER_TASK)
            .map(|&(id, _, code)| (id, file_defs(code), file_functions(code)))
            .collect();
        for (id, defs, functions) in per_file {
            table.defs.insert(id, defs);
            table.functions.insert(id, functions);
        }
        for (id, _, code) in code_files {
            let top = code.module.split('.').next().unwrap_or_default();
            if !table.top_level.contains(top) {
                table.top_level.insert(top.into());
            }
            let mut suffix: &str = &code.module;
            loop {
                table.modules.entry(suffix.into()).or_default().push(id);
                match suffix.split_once('.') {
                    Some((_, rest)) => suffix = rest,
                    None => break,
                }
            }
        }
        // Prefer service code over tests when a module name is ambiguous.
        for ids in table.modules.values_mut() {
            ids.sort_by_key(|id| (project.file(*id).is_test(), project.file(*id).rel.len()));
        }
        table
    }

    pub fn resolve(&self, project: &Project, path: &str) -> Option<Symbol> {
        let shard = &self.cache[(rustc_hash::FxBuildHasher.hash_one(path) as usize) % CACHE_SHARDS];
        if let Some(hit) = shard.lock().ok().and_then(|c| c.get(path).copied()) {
            return hit;
        }
        let mut search = Search {
            budget: MAX_LOOKUPS,
            tried: Default::default(),
        };
        let found = self.resolve_hops(project, path, 0, &mut search);
        if let Ok(mut c) = shard.lock() {
            c.insert(path.into(), found);
        }
        found
    }

    fn resolve_hops(
        &self,
        project: &Project,
        path: &str,
        hops: u32,
        search: &mut Search,
    ) -> Option<Symbol> {
        // A path this resolution already tried found nothing (or is being tried further up:
        // a re-export cycle, `pkg/__init__.py` importing from `pkg.core` and back).
        if hops > MAX_HOPS || !search.tried.insert(path.into()) {
            return None;
        }
        if let Some(files) = self.modules.get(path) {
            return Some(Symbol::Module(files[0]));
        }
        // Split `module.rest` at each dot from the right: the longest module wins.
        let mut split = path.len();
        while let Some(dot) = path[..split].rfind('.') {
            split = dot;
            let (module, rest) = (&path[..dot], &path[dot + 1..]);
            let Some(files) = self.modules.get(module) else {
                continue;
            };
            for &file in files {
                if let Some(sym) = self.lookup_in(project, file, rest, hops, search) {
                    return Some(sym);
                }
            }
        }
        // The audited directory is inside its package (`svc audit src/langflow`): module names
        // start below it (`api.utils.core`) while imports name the package
        // (`langflow.api.utils.core`, `dstack._internal.server.routers` audited from
        // `.../server`). Drop the leading segments that are no module of the project when
        // what follows starts with one.
        let mut start = 0;
        for segment in path.split('.') {
            if self.top_level.contains(segment) {
                if start > 0 {
                    return self.resolve_hops(project, &path[start..], hops + 1, search);
                }
                break;
            }
            start += segment.len() + 1;
            if start >= path.len() {
                break;
            }
        }
        None
    }

    /// Look up `rest` (`name` or `Class.method` or `func.local`) in one file.
    fn lookup_in(
        &self,
        project: &Project,
        file: FileId,
        rest: &str,
        hops: u32,
        search: &mut Search,
    ) -> Option<Symbol> {
        // Several files can share a module name (two copies of a package); following every
        // candidate through every re-export multiplies: bound the work per resolution.
        if search.budget == 0 {
            return None;
        }
        search.budget -= 1;
        let code = project.code(file)?;
        let (first, tail) = match rest.split_once('.') {
            Some((f, t)) => (f, Some(t)),
            None => (rest, None),
        };
        let def = *self.defs.get(&file)?.get(first)?;
        match (def, tail) {
            (Def::Function(f), None) => Some(Symbol::Function(FnRef { file, func: f })),
            (Def::Class(i), None) => Some(Symbol::Class { file, index: i }),
            (Def::Assign(i), None) => Some(Symbol::Assign { file, index: i }),
            (Def::Import(i), _) => {
                let target = &code.imports[i as usize].target;
                let full = match tail {
                    Some(t) => format!("{target}.{t}"),
                    None => target.to_string(),
                };
                self.resolve_hops(project, &full, hops + 1, search)
            }
            (Def::Class(_) | Def::Function(_), Some(t)) => {
                // A method (`Class.method`) or a function's local (`create_app.app`).
                let qual = format!("{}.{first}", code.module);
                let functions = self.functions.get(&file)?;
                if let Some(&owner) = functions.get(qual.as_str())
                    && let Some(i) = code
                        .assigns
                        .iter()
                        .rposition(|a| a.scope == Scope::Function(owner) && &*a.target == t)
                {
                    return Some(Symbol::Assign {
                        file,
                        index: i as u32,
                    });
                }
                let want = format!("{qual}.{t}");
                functions
                    .get(want.as_str())
                    .map(|&func| Symbol::Function(FnRef { file, func }))
            }
            (Def::Assign(_), Some(_)) => None,
        }
    }
}
