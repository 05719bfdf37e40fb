//! kustomize: strategic-merge patches of an overlay merged into the workloads of its bases
//! before any rule runs. A patch that adds probes or resources to a container makes the
//! base's container have them; the patch file itself is a fragment, not a workload of its
//! own (its missing image or probes are no finding).

use std::collections::BTreeSet;

use super::Project;
use super::artefacts::join;
use crate::audit::artefact::k8s::{Container, Workload};
use crate::audit::source::FileId;

/// Merge every kustomization's patches into its bases' workloads.
pub fn apply(project: &mut Project) {
    let kustomizations: Vec<(String, Vec<String>, Vec<String>)> = project
        .artefacts
        .iter()
        .enumerate()
        .filter_map(|(id, a)| {
            let k = a.as_ref()?.kustomization()?;
            Some((
                dir_of(&project.files[id].rel).to_string(),
                k.resources.clone(),
                k.patches.clone(),
            ))
        })
        .collect();
    for (dir, resources, patches) in kustomizations {
        let mut bases = BTreeSet::new();
        for r in &resources {
            resource_files(project, &join(&dir, r), &mut bases, 0);
        }
        for p in &patches {
            let Some(patch_file) = file_at(project, &join(&dir, p)) else {
                continue;
            };
            let Some(patch) = project.artefacts[patch_file as usize]
                .as_mut()
                .and_then(|a| a.workloads_mut())
                .map(std::mem::take)
            else {
                continue;
            };
            for pw in &patch {
                for &base in &bases {
                    let Some(ws) = project.artefacts[base as usize]
                        .as_mut()
                        .and_then(|a| a.workloads_mut())
                    else {
                        continue;
                    };
                    for w in ws
                        .iter_mut()
                        .filter(|w| w.kind == pw.kind && w.name == pw.name)
                    {
                        merge(w, pw);
                    }
                }
            }
        }
    }
}

fn dir_of(rel: &str) -> &str {
    rel.rsplit_once('/').map_or("", |(d, _)| d)
}

fn file_at(project: &Project, rel: &str) -> Option<FileId> {
    project
        .files
        .iter()
        .position(|f| f.rel == rel)
        .map(|i| i as FileId)
}

/// The manifest files a `resources:` entry brings in: the file itself, or a directory's
/// kustomization's resources, followed down to a fixed depth (a cycle stops there).
fn resource_files(project: &Project, path: &str, out: &mut BTreeSet<FileId>, depth: usize) {
    if depth > 8 {
        return;
    }
    if let Some(f) = file_at(project, path)
        && project.artefacts[f as usize]
            .as_ref()
            .is_some_and(|a| a.kustomization().is_none())
    {
        out.insert(f);
        return;
    }
    for name in ["kustomization.yaml", "kustomization.yml", "Kustomization"] {
        let Some(k) = file_at(project, &join(path, name))
            .and_then(|f| project.artefacts[f as usize].as_ref()?.kustomization())
        else {
            continue;
        };
        for r in k.resources.clone() {
            resource_files(project, &join(path, &r), out, depth + 1);
        }
    }
}

/// What a patch adds to a base workload's containers (by container name). Probes and
/// resources come from another file: they point at the base container's name, so a finding
/// about them lands in the file that holds the workload.
fn merge(base: &mut Workload, patch: &Workload) {
    for pc in &patch.containers {
        let Some(bc) = base.containers.iter_mut().find(|c| c.name == pc.name) else {
            continue;
        };
        bc.has_requests |= pc.has_requests;
        bc.has_limits |= pc.has_limits;
        let at = bc.name_range;
        let moved = |p: &Option<crate::audit::artefact::k8s::Probe>| {
            p.clone().map(|mut p| {
                p.range = at;
                if let Some((_, r)) = &mut p.http_path {
                    *r = at;
                }
                if let Some((_, r)) = &mut p.port {
                    *r = at;
                }
                p
            })
        };
        let merged: [(_, &Option<_>); 3] = [
            (&mut bc.liveness, &pc.liveness),
            (&mut bc.readiness, &pc.readiness),
            (&mut bc.startup, &pc.startup),
        ];
        for (b, p) in merged {
            if p.is_some() {
                *b = moved(p);
            }
        }
        if pc.image.is_some() {
            bc.image = pc.image.clone().map(|(i, _)| (i, at));
        }
        merge_ports(bc, pc);
    }
}

/// Ports a patch declares that the base does not (a named probe port may need them).
fn merge_ports(base: &mut Container, patch: &Container) {
    for p in &patch.ports {
        if !base.ports.iter().any(|b| b.number == p.number) {
            let mut p = p.clone();
            p.range = base.name_range;
            base.ports.push(p);
        }
    }
}
