//! `svc rules` and `svc explain`: the registry as a table or JSON, and one rule's doc.

use std::process::ExitCode;

use crate::audit::error::AuditError;
use crate::audit::rules::{self, Principle, REGISTRY, Severity};
use crate::cli::{ExplainArgs, ListFormat, RulesArgs};

use super::print_output;

#[derive(serde::Serialize)]
struct RuleInfo {
    code: &'static str,
    name: &'static str,
    principle: Principle,
    severity: Severity,
    kinds: Vec<&'static str>,
    help: &'static str,
}

pub fn list_rules(args: &RulesArgs) -> miette::Result<ExitCode> {
    print_output(|out| match args.format {
        ListFormat::Json => {
            let infos: Vec<RuleInfo> = REGISTRY
                .iter()
                .map(|r| RuleInfo {
                    code: r.code,
                    name: r.name,
                    principle: r.principle,
                    severity: r.severity,
                    kinds: r.kinds.iter().map(|k| k.as_str()).collect(),
                    help: r.help,
                })
                .collect();
            serde_json::to_writer_pretty(&mut *out, &infos)?;
            writeln!(out)
        }
        ListFormat::Text => {
            writeln!(
                out,
                "{:<7} {:<36} {:<5} {:<8} kinds",
                "code", "name", "prin.", "severity"
            )?;
            for r in REGISTRY {
                let kinds: Vec<&str> = r.kinds.iter().map(|k| k.as_str()).collect();
                writeln!(
                    out,
                    "{:<7} {:<36} {:<5} {:<8} {}",
                    r.code,
                    r.name,
                    r.principle.code(),
                    r.severity.as_str(),
                    kinds.join(",")
                )?;
            }
            Ok(())
        }
    })
}

pub fn explain(args: &ExplainArgs) -> miette::Result<ExitCode> {
    let rule = rules::find(&args.rule).ok_or_else(|| AuditError::UnknownRule(args.rule.clone()))?;
    let kinds: Vec<&str> = rule.kinds.iter().map(|k| k.as_str()).collect();
    let text = format!(
        "# {} {}\n\nPrinciple: {} ({})\nDefault severity: {}\nApplies to: {}\n\n{}",
        rule.code,
        rule.name,
        rule.principle.code(),
        rule.principle.title(),
        rule.severity,
        kinds.join(", "),
        rule.doc.trim_end()
    );
    print_output(|out| writeln!(out, "{text}"))
}
