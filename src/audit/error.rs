//! Errors that stop an audit (exit 2). Problems inside audited files are findings instead.

use std::path::PathBuf;

use miette::{Diagnostic, NamedSource, SourceSpan};
use thiserror::Error;

#[derive(Debug, Error, Diagnostic)]
pub enum AuditError {
    #[error("path not found: {}", .0.display())]
    #[diagnostic(
        code(svc::path_not_found),
        help("check the path, or run svc audit from the repository root")
    )]
    PathNotFound(PathBuf),

    #[error("no files to audit under {}", .0.display())]
    #[diagnostic(
        code(svc::no_files),
        help(
            "svc audits Python files, Dockerfiles, YAML manifests and dependency files; check the path and the exclude settings"
        )
    )]
    NoFiles(PathBuf),

    #[error("invalid glob `{glob}`: {reason}")]
    #[diagnostic(code(svc::bad_glob))]
    BadGlob { glob: String, reason: String },

    #[error("cannot read {}: {source}", path.display())]
    #[diagnostic(code(svc::io))]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot write {}: {source}", path.display())]
    #[diagnostic(code(svc::io))]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{} is a symbolic link to {}, outside the audited repository {}", .path.display(), .points_to.display(), .root.display())]
    #[diagnostic(
        code(svc::link),
        help(
            "svc writes through a link only into the repository; remove the link or name the file itself; nothing was written"
        )
    )]
    LinkOutside {
        path: PathBuf,
        points_to: PathBuf,
        root: PathBuf,
    },

    #[error("{} is a symbolic link to {}, which does not exist", .path.display(), .points_to.display())]
    #[diagnostic(
        code(svc::link),
        help("remove the link or create its target; nothing was written")
    )]
    DanglingLink { path: PathBuf, points_to: PathBuf },

    #[error(transparent)]
    #[diagnostic(transparent)]
    Config(Box<ConfigError>),

    #[error("unknown rule or principle `{0}` in {1}")]
    #[diagnostic(
        code(svc::unknown_rule),
        help("`svc rules` lists every code and name; principles are P1..P12")
    )]
    UnknownSelector(String, &'static str),

    #[error("cannot start the audit's threads: {0}")]
    #[diagnostic(
        code(svc::threads),
        help(
            "the process may not start a thread (address-space or process limit): raise `ulimit -v` / `ulimit -u`, or the container's memory or pids limit"
        )
    )]
    Threads(String),

    #[error("unknown rule `{0}`")]
    #[diagnostic(code(svc::unknown_rule), help("`svc rules` lists every code and name"))]
    UnknownRule(String),
}

/// A bad configuration file, pointing at the offending key or value.
#[derive(Debug, Error, Diagnostic)]
#[error("{message}")]
#[diagnostic(code(svc::config))]
pub struct ConfigError {
    pub message: String,
    #[source_code]
    pub src: NamedSource<String>,
    #[label("{label}")]
    pub span: SourceSpan,
    pub label: String,
    #[help]
    pub help: Option<String>,
}
