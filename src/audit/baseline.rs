//! Baselines: adopt svc in a repository with findings, and fail only on new ones.
//!
//! `--write-baseline FILE` records every finding as rule + path + the fingerprint of the
//! offending line (see [`crate::audit::report::fingerprint`]) with a count. `--baseline FILE`
//! then drops up to `count` findings per key: code that moves keeps its key, while a second
//! copy of a baselined violation in the same file exceeds the count and is reported. Entries
//! whose findings are gone are stale: fixed, or changed beyond recognition.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use miette::Diagnostic;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::audit::report::Report;

/// The file format's version: bumped when keys change meaning.
const VERSION: u32 = 1;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    pub version: u32,
    pub findings: Vec<Entry>,
}

/// Findings of one rule, in one file, on lines with the same normalized text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Entry {
    pub path: String,
    pub code: String,
    /// The rule's name, for readers of the file; matching uses the code.
    pub name: String,
    pub fingerprint: String,
    pub count: u32,
}

/// A baseline entry that matched fewer findings than it records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stale {
    pub entry: Entry,
    /// How many of `entry.count` findings are gone.
    pub missing: u32,
}

#[derive(Debug, Error, Diagnostic)]
pub enum BaselineError {
    #[error("cannot read the baseline {}: {source}", path.display())]
    #[diagnostic(
        code(svc::baseline),
        help("create it with `svc audit --write-baseline {}`", path.display())
    )]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not an svc baseline: {reason}", path.display())]
    #[diagnostic(
        code(svc::baseline),
        help("write it again with `svc audit --write-baseline {}`", path.display())
    )]
    Parse { path: PathBuf, reason: String },
    #[error("cannot write the baseline {}: {source}", path.display())]
    #[diagnostic(code(svc::baseline))]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

type Key = (String, String, String);

fn key_of(path: &str, code: &str, fingerprint: &str) -> Key {
    (path.to_string(), code.to_string(), fingerprint.to_string())
}

impl Baseline {
    /// Every finding of `report`, counted per key, sorted so the file diffs well.
    pub fn from_report(report: &Report) -> Baseline {
        let mut counts: BTreeMap<Key, (&'static str, u32)> = BTreeMap::new();
        for f in &report.findings {
            let key = key_of(&f.path, f.code, &f.fingerprint.code_hex());
            counts.entry(key).or_insert((f.name, 0)).1 += 1;
        }
        Baseline {
            version: VERSION,
            findings: counts
                .into_iter()
                .map(|((path, code, fingerprint), (name, count))| Entry {
                    path,
                    code,
                    name: name.to_string(),
                    fingerprint,
                    count,
                })
                .collect(),
        }
    }

    pub fn read(path: &Path) -> Result<Baseline, BaselineError> {
        let text = std::fs::read_to_string(path).map_err(|source| BaselineError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let baseline: Baseline = serde_json::from_str(&text).map_err(|e| BaselineError::Parse {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        if baseline.version != VERSION {
            return Err(BaselineError::Parse {
                path: path.to_path_buf(),
                reason: format!(
                    "version {} (this svc reads version {VERSION})",
                    baseline.version
                ),
            });
        }
        Ok(baseline)
    }

    /// The file's content: pretty JSON and a final newline.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a baseline serializes");
        text.push('\n');
        text
    }

    /// Drop the baselined findings from `report`. Returns the entries that matched fewer
    /// findings than they record, among those `covered` says this audit could have found
    /// (its paths and rules: an audit of one file says nothing about the others).
    pub fn apply(&self, report: &mut Report, covered: impl Fn(&Entry) -> bool) -> Vec<Stale> {
        let mut left: BTreeMap<Key, u32> = self
            .findings
            .iter()
            .map(|e| (key_of(&e.path, &e.code, &e.fingerprint), e.count))
            .collect();
        report.retain(|f| {
            let key = key_of(&f.path, f.code, &f.fingerprint.code_hex());
            match left.get_mut(&key) {
                Some(n) if *n > 0 => {
                    *n -= 1;
                    false
                }
                _ => true,
            }
        });
        self.findings
            .iter()
            .filter(|e| covered(e))
            .filter_map(|e| {
                let missing = left[&key_of(&e.path, &e.code, &e.fingerprint)];
                (missing > 0).then(|| Stale {
                    entry: e.clone(),
                    missing,
                })
            })
            .collect()
    }
}
