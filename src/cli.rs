//! Command-line interface: clap derive only. Behaviour lives in `audit` and `new`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "svc",
    version,
    about = "Start FastAPI microservices right, and audit existing ones against the principles",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Audit a repository's services against the principles.
    Audit(AuditArgs),
    /// List every rule: code, name, principle, severity and the service kinds it applies to.
    Rules(RulesArgs),
    /// Print the documentation of one rule, by code or by name.
    Explain(ExplainArgs),
    /// Show the service model an audit builds: services, kinds, apps, routes, tasks (JSON).
    Inspect(InspectArgs),
    /// Generate a new FastAPI microservice from an embedded (or your own) template.
    New(NewArgs),
    /// Add svc to an existing repository: configuration, pre-commit hook, optional baseline.
    Init(InitArgs),
    /// Bring a generated service to the current template version, keeping its own edits
    /// (a three-way merge of the recorded version, the current one and the project).
    Update(UpdateArgs),
    /// For CI: fail when a generated service is behind its template, or when a file the
    /// template owns has drifted in a way that produces audit findings.
    Check(CheckArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConflictMode {
    /// Conflict markers in the file, as git writes them.
    Inline,
    /// Inline, with the recorded version's lines too (git's diff3 style).
    Diff3,
    /// Keep your file as it is and write the template's change next to it as FILE.rej.
    Rej,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// The generated service (default: the current directory).
    pub path: Option<PathBuf>,
    /// Print what would happen to each file, and a unified diff, and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Update even though the git work tree has uncommitted changes (they are merged too,
    /// and cannot be told apart from the update afterwards).
    #[arg(long)]
    pub allow_dirty: bool,
    /// How to write a change that collides with yours.
    #[arg(long, value_enum, default_value_t = ConflictMode::Inline)]
    pub conflict: ConflictMode,
    /// Answer a variable the new version adds, or change an answer (repeatable): --set k=v
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Take the default for every new variable not given with --set; never prompt.
    #[arg(long, short = 'y', visible_alias = "no-input")]
    pub yes: bool,
    /// The template directory the service was generated from with `svc new --template`
    /// (a git repository: the recorded commit is the base, its work tree the new version).
    #[arg(long, value_name = "DIR")]
    pub template: Option<PathBuf>,
    /// With --template: update to this tag or commit of the template repository instead of
    /// its work tree.
    #[arg(long, value_name = "REF", requires = "template")]
    pub to: Option<String>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Generated services to check (default: the current directory).
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    pub format: CheckFormat,
    /// The template directory the services were generated from with `svc new --template`.
    #[arg(long, value_name = "DIR")]
    pub template: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The repository's root directory (default: the current directory).
    pub path: Option<PathBuf>,
    /// Also record today's findings in this baseline file (relative to PATH), and have the
    /// hook report only new ones.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Print the changes as a unified diff and write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Files or directories to audit (default: the current directory).
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit with status 1 when a finding at or above this severity is reported
    /// [default: warning, or `fail-on` from configuration]
    #[arg(long, value_enum)]
    pub fail_on: Option<FailOn>,
    /// Only run these rules: codes, names, code prefixes or principles (P1..P12). Comma-separated or repeated.
    #[arg(long, value_delimiter = ',', value_name = "RULE")]
    pub select: Vec<String>,
    /// Do not run these rules: codes, names, code prefixes or principles. Comma-separated or repeated.
    #[arg(long, value_delimiter = ',', value_name = "RULE")]
    pub ignore: Vec<String>,
    /// Read configuration from FILE instead of searching for svc.toml / pyproject.toml [tool.svc].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print findings only: no summary, no progress.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Ignore every configuration file (svc.toml, pyproject.toml [tool.svc] and --config): run
    /// with the built-in defaults and the flags on this command line only.
    #[arg(long)]
    pub isolated: bool,
    /// Report only findings not recorded in this baseline file (see --write-baseline).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Record every current finding in FILE, report nothing, and exit 0.
    #[arg(long, value_name = "FILE", conflicts_with = "baseline")]
    pub write_baseline: Option<PathBuf>,
    /// Report only findings on lines changed since this git revision (working tree
    /// included); the whole service is still modelled.
    #[arg(long, value_name = "REV")]
    pub diff: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Human-readable diagnostics with code frames.
    Text,
    /// A stable JSON document (see README, "JSON output").
    Json,
    /// SARIF 2.1.0, for code scanning (GitHub, GitLab, Azure DevOps).
    Sarif,
    /// GitHub Actions annotations (workflow commands).
    Github,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Info,
    Never,
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    pub format: ListFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Directory to inspect (default: the current directory).
    pub path: Option<PathBuf>,
    /// Read configuration from FILE.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Rule code (e.g. AU001) or name (e.g. unauthenticated-route).
    pub rule: String,
}

#[derive(Debug, Args)]
pub struct NewArgs {
    /// Name of the service (a DNS label: lowercase letters, digits and dashes).
    pub name: Option<String>,
    /// Template variant: container, lambda or worker (see --list). Without it, svc asks on a
    /// terminal; otherwise the default is container.
    #[arg(long, conflicts_with = "template")]
    pub variant: Option<String>,
    /// Set a template variable without prompting (repeatable): --set auth=false
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Accept defaults for every variable not given with --set; never prompt. Without a
    /// terminal (CI), defaults are used anyway, with a note naming them.
    #[arg(long, short = 'y', visible_alias = "no-input")]
    pub yes: bool,
    /// Directory to create (default: ./NAME).
    #[arg(long, short = 'o', value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Render this template directory instead of an embedded one.
    #[arg(long, value_name = "DIR")]
    pub template: Option<PathBuf>,
    /// Render an earlier released version of the embedded variant , to match
    /// services generated by an earlier svc; `svc update` brings it to the current one.
    #[arg(long, value_name = "VERSION", conflicts_with = "template")]
    pub template_version: Option<String>,
    /// Print the files that would be written, and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Write into an existing non-empty directory: the generated files overwrite files of the
    /// same name (svc asks first on a terminal, and lists them); every other file is kept.
    #[arg(long)]
    pub force: bool,
    /// List the variants and their options.
    #[arg(long)]
    pub list: bool,
}
