pub mod in_process_shared_storage;
pub mod local_disk_write;
pub mod mutable_global_state;
pub mod sqlite_service_database;

use std::collections::BTreeMap;

use crate::audit::rules::prelude::*;

/// Functions on the request or task path of the unit's service: every entry point, plus the
/// same-service functions an entry point calls directly (one call deeper). Each maps to the
/// entry point it was reached from (itself for entry points). Test files are left out.
pub(super) fn request_path(cx: &Context) -> BTreeMap<FnRef, FnRef> {
    let mut out = BTreeMap::new();
    let Some(service) = cx.service else {
        return out;
    };
    let is_service_code = |f: FnRef| {
        cx.project.file(f.file).role == FileRole::Service && cx.project.code(f.file).is_some()
    };
    for &entry in service.entry_points.iter().filter(|f| is_service_code(**f)) {
        out.insert(entry, entry);
    }
    for &entry in service.entry_points.iter().filter(|f| is_service_code(**f)) {
        let Some(code) = cx.project.code(entry.file) else {
            continue;
        };
        for call in code.calls.iter().filter(|c| c.func == Some(entry.func)) {
            if let Some(helper) = cx.project.resolve_function(service, &call.callee)
                && is_service_code(helper)
            {
                out.entry(helper).or_insert(entry);
            }
        }
    }
    out
}

/// How to name where a function sits on the request path, for messages: "`save`" or
/// "`save` (called from `upload`)".
pub(super) fn describe(cx: &Context, func: FnRef, via: FnRef) -> String {
    let name = &cx.project.function(func).name;
    if func == via {
        format!("`{name}`")
    } else {
        format!("`{name}` (called from `{}`)", cx.project.function(via).name)
    }
}
