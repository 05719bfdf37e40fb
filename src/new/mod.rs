//! `svc new`: template -> answers -> render (tera) -> record -> atomic write.
//!
//! Templates live in `templates/<variant>/` (embedded in the binary by `build.rs`) or in any
//! directory given with `--template`, each with a `template.toml` manifest (see [`manifest`]).
//!
//! Answers come from `--set KEY=VALUE` first. The rest are asked on the terminal when stdin
//! and stderr are both terminals and `--yes` is not given; otherwise (CI has no stdin) every
//! unanswered variable takes its default, and a note on stderr says which. The service name
//! has no default: without a terminal it must be given as an argument.
//!
//! Only `--list` and `--dry-run` print to stdout; notes, prompts and next steps go to stderr.

pub mod answers;
pub mod constraint;
mod engine;
pub mod interrupt;
pub mod manifest;
pub mod nesting;
mod output;
pub mod record;
pub mod recursion;
pub mod render;
pub mod service_name;
mod skip;
pub mod templates;
pub mod write;

use std::io;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use miette::Diagnostic;
use thiserror::Error;

use self::answers::{AnswerError, Ask};
use self::render::Builtins;
use self::templates::{DEFAULT_VARIANT, Template};
use crate::cli::NewArgs;
use crate::plural;

const SVC_VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Debug, Error, Diagnostic)]
#[error("cannot write to standard output")]
#[diagnostic(code(svc::new::io))]
struct StdoutError(#[source] io::Error);

pub fn run(args: &NewArgs) -> miette::Result<ExitCode> {
    if args.list {
        return list(args);
    }
    match generate(args) {
        // Ctrl-C or Escape at a prompt: not a failure, and nothing was written.
        Err(report) if matches!(report.downcast_ref(), Some(AnswerError::Cancelled)) => {
            eprintln!("cancelled; nothing was written");
            Ok(ExitCode::from(interrupt::EXIT_CODE))
        }
        Err(report)
            if matches!(
                report.downcast_ref(),
                Some(write::WriteError::Interrupted { .. })
            ) =>
        {
            eprintln!("{report}");
            Ok(ExitCode::from(interrupt::EXIT_CODE))
        }
        result => result,
    }
}

fn generate(args: &NewArgs) -> miette::Result<ExitCode> {
    let mut ask = answers::asker(args.yes);

    // Everything given on the command line is checked before the first question.
    let given_name = args.name.as_deref().map(service_name::parse).transpose()?;
    let template = choose_template(args, ask.as_mut())?;
    let package = render::uses_package(&template);
    if package && let Some(name) = &given_name {
        service_name::check_package(name)?;
    }
    let sets = answers::parse_sets(&args.set, &template.manifest)?;

    let name = match given_name {
        Some(name) => name,
        None => ask.service_name(package)?,
    };
    if let Some(typed) = &name.slugged_from {
        eprintln!(
            "note: using {:?} as the service name (from {typed:?})",
            name.slug
        );
    }
    let target = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from(&name.slug));
    let state = write::check_target(&target, args.force)?;

    let answers = answers::resolve(&template.manifest, sets, ask.as_mut())?;
    for ignored in &answers.ignored {
        eprintln!("warning: {ignored}");
    }
    if !args.yes && !answers.defaulted.is_empty() {
        eprintln!(
            "note: no terminal to ask on, so these take their defaults: {} \
             (answer with --set KEY=VALUE; --yes accepts the defaults without this note)",
            answers.defaulted.join(", ")
        );
    }

    let builtins = Builtins {
        name: &name,
        svc_version: SVC_VERSION,
        year: current_year(),
    };
    let context = render::context(&template.manifest, &builtins, &answers)?;
    let mut tree = render::render(&template, &context, &answers)?;
    // A template directory in git: its commit is what `svc update` re-renders as the base.
    let commit = args.template.as_deref().and_then(|dir| {
        let commit = crate::update::template_commit(dir);
        if commit.is_none() && crate::update::in_git(dir) {
            eprintln!(
                "note: {} has uncommitted changes, so no template commit is recorded; \
                 svc update can reproduce this service's base only from a committed template",
                dir.display()
            );
        }
        commit
    });
    let (manifest, version) = (&template.manifest, SVC_VERSION);
    record::record(
        &mut tree,
        manifest,
        &name,
        &answers,
        version,
        commit.as_deref(),
    )?;
    let plan = write::plan(&tree, &target, state)?;
    let overwritten = plan.overwritten(&tree);

    let shown = target.display().to_string();
    if args.dry_run {
        print(&output::tree(&shown, &tree))?;
        let files = plural::count(tree.files.len(), "file", "files");
        match overwritten.is_empty() {
            true => eprintln!("dry run: {files} would be written to {shown}; nothing was written"),
            false => eprintln!(
                "dry run: {files} would be written to {shown}, overwriting {}: {}; \
                 nothing was written",
                plural::count(overwritten.len(), "existing file", "existing files"),
                overwritten.join(", ")
            ),
        }
        return Ok(ExitCode::SUCCESS);
    }
    // A person at a terminal says yes first; otherwise --force is the yes, and the list below
    // says what it overwrote.
    if !overwritten.is_empty() && ask.is_interactive() && !ask.overwrite(&shown, &overwritten)? {
        return Err(AnswerError::Cancelled.into());
    }
    drop(ask);

    let written = write::write(&tree, &target, &plan)?;
    if !written.overwritten.is_empty() {
        eprintln!(
            "overwrote {} in {shown} (every other file was kept):",
            plural::count(written.overwritten.len(), "existing file", "existing files")
        );
        for file in &written.overwritten {
            eprintln!("    {file}");
        }
    }
    if interrupt::requested() {
        eprintln!("interrupted after the project was complete; it is in {shown}");
        return Ok(ExitCode::from(interrupt::EXIT_CODE));
    }
    eprint!(
        "{}",
        output::next_steps(&shown, &template.manifest, &answers)
    );
    Ok(ExitCode::SUCCESS)
}

fn list(args: &NewArgs) -> miette::Result<ExitCode> {
    // The default is marked where it applies: when no variant or template is chosen.
    let mut default = None;
    let templates: Vec<Template> = if let Some(dir) = &args.template {
        vec![templates::directory(dir)?]
    } else if let Some(variant) = &args.variant {
        vec![templates::embedded(variant)?]
    } else {
        let variants = templates::visible_variants();
        default = templates::default_variant(&variants)
            .ok()
            .map(|index| variants[index]);
        variants
            .into_iter()
            .map(templates::embedded)
            .collect::<Result<_, _>>()?
    };
    if templates.is_empty() {
        eprintln!("no templates are embedded in this build; use --template DIR");
    }
    let manifests: Vec<_> = templates.iter().map(|t| &t.manifest).collect();
    print(&output::list(&manifests, default))?;
    Ok(ExitCode::SUCCESS)
}

/// `--template DIR`, else `--variant`, else a prompt over the embedded variants, else the
/// default one.
fn choose_template(args: &NewArgs, ask: &mut dyn Ask) -> miette::Result<Template> {
    let template = choose_current_template(args, ask)?;
    let Some(version) = &args.template_version else {
        return Ok(template);
    };
    let variant = template.manifest.name.clone();
    match templates::embedded_at(&variant, version)? {
        Some(template) => Ok(template),
        None => {
            let mut known = templates::released_versions(&variant);
            known.push(template.manifest.version);
            Err(miette::miette!(
                code = "svc::new::usage",
                "the {variant} template has no version {version}; this svc has versions {}",
                known.join(", ")
            ))
        }
    }
}

fn choose_current_template(args: &NewArgs, ask: &mut dyn Ask) -> miette::Result<Template> {
    if let Some(dir) = &args.template {
        return Ok(templates::directory(dir)?);
    }
    if let Some(variant) = &args.variant {
        return Ok(templates::embedded(variant)?);
    }
    let variants = templates::visible_variants();
    let index = if variants.len() > 1 && ask.is_interactive() {
        let mut options = Vec::new();
        for variant in &variants {
            let manifest = templates::embedded(variant)?.manifest;
            options.push((manifest.name, manifest.description));
        }
        let default = variants
            .iter()
            .position(|v| *v == DEFAULT_VARIANT)
            .unwrap_or(0);
        ask.variant(&options, default)?
    } else {
        templates::default_variant(&variants)?
    };
    Ok(templates::embedded(variants[index])?)
}

/// Writes to stdout; a closed pipe (`svc new --list | head -1`) is not an error.
fn print(text: &str) -> Result<(), StdoutError> {
    crate::stdout::write_with(|out| out.write_all(text.as_bytes())).map_err(StdoutError)
}

/// The `year` built-in. `SOURCE_DATE_EPOCH` (reproducible-builds.org) pins it.
pub(crate) fn current_year() -> i32 {
    let seconds = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        });
    year_of(seconds)
}

/// The proleptic Gregorian year of a Unix time (Howard Hinnant's `civil_from_days`).
fn year_of(unix_seconds: i64) -> i32 {
    let z = unix_seconds.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153; // 0 = March
    let year = year_of_era + era * 400 + i64::from(month_index >= 10);
    i32::try_from(year).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn year_of_known_instants() {
        assert_eq!(year_of(0), 1970);
        assert_eq!(year_of(-1), 1969);
        assert_eq!(year_of(951_782_400), 2000); // 2000-02-29
        assert_eq!(year_of(1_704_067_199), 2023); // 2023-12-31T23:59:59Z
        assert_eq!(year_of(1_704_067_200), 2024);
        assert_eq!(year_of(4_102_444_800), 2100); // 2100-01-01
    }
}
