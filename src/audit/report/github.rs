//! `--format github`: GitHub Actions workflow commands, one annotation per finding.
//!
//! `::error file=app/main.py,line=3,col=1,endLine=3,endColumn=9,title=AU001 ...::message`.
//! GitHub reads the paths relative to the repository root: run the audit from there.

use std::io::Write;

use super::{RenderOptions, Report, Reporter};
use crate::audit::rules::Severity;
use crate::plural::count;

pub struct GithubReporter;

impl Reporter for GithubReporter {
    fn write(
        &self,
        report: &Report,
        options: &RenderOptions,
        out: &mut dyn Write,
    ) -> std::io::Result<()> {
        for f in &report.findings {
            let command = match f.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info => "notice",
            };
            let title = format!("{} {}", f.code, f.name);
            let message = format!("{}\nhelp: {}", f.message, f.help);
            writeln!(
                out,
                "::{command} file={},line={},col={},endLine={},endColumn={},title={}::{}",
                escape_property(&f.path),
                f.line,
                f.column,
                f.end_line,
                f.end_column,
                escape_property(&title),
                escape_data(&message),
            )?;
        }
        if !options.quiet {
            let s = &report.summary;
            writeln!(
                out,
                "svc: {} ({}, {}, {} info) in {} across {}.",
                count(s.findings, "finding", "findings"),
                count(s.errors, "error", "errors"),
                count(s.warnings, "warning", "warnings"),
                s.infos,
                count(s.files, "file", "files"),
                count(s.services, "service", "services")
            )?;
        }
        Ok(())
    }
}

/// A command's message: `%`, CR and LF would end or corrupt the command.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A property value: as data, and `:` and `,`, which separate properties.
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_escapes_percent_first_then_newlines() {
        assert_eq!(escape_data("100% done"), "100%25 done");
        assert_eq!(escape_data("a\r\nb"), "a%0D%0Ab");
        // An already-escaped-looking sequence is escaped again, not passed through.
        assert_eq!(escape_data("%0A"), "%250A");
        assert_eq!(escape_data("a: b, c"), "a: b, c");
    }

    #[test]
    fn properties_also_escape_colons_and_commas() {
        assert_eq!(escape_property("a: b, c"), "a%3A b%2C c");
        assert_eq!(escape_property("dir,1/x:y%.py"), "dir%2C1/x%3Ay%25.py");
        assert_eq!(escape_property("t\nx"), "t%0Ax");
    }
}
