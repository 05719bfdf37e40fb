//! `--format text`: miette code frames with the rule, message and a help line.

use std::fmt;
use std::io::Write;

use miette::{
    Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceCode,
};

use super::{RenderOptions, Report, ReportedFinding, Reporter};
use crate::audit::rules::Severity;

pub struct TextReporter;

struct Rendered<'a> {
    finding: &'a ReportedFinding,
    source: NamedSource<std::sync::Arc<str>>,
}

impl fmt::Debug for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.finding.message)
    }
}

impl fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.finding.message)
    }
}

impl std::error::Error for Rendered<'_> {}

impl Diagnostic for Rendered<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(format!(
            "{} {} ({})",
            self.finding.code,
            self.finding.name,
            self.finding.principle.code()
        )))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.finding.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Info => miette::Severity::Advice,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        let mut help = self.finding.help.clone();
        help.push_str(&format!(
            "\n`svc explain {}` for details",
            self.finding.name
        ));
        Some(Box::new(help))
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let label = match &self.finding.service {
            Some(s) => format!("{} [service {s}]", self.finding.severity),
            None => self.finding.severity.to_string(),
        };
        Some(Box::new(std::iter::once(LabeledSpan::new(
            Some(label),
            self.finding.offset,
            self.finding.len,
        ))))
    }
}

impl Reporter for TextReporter {
    fn write(
        &self,
        report: &Report,
        options: &RenderOptions,
        out: &mut dyn Write,
    ) -> std::io::Result<()> {
        let theme = if options.color {
            GraphicalTheme::unicode()
        } else {
            GraphicalTheme::unicode_nocolor()
        };
        let handler = GraphicalReportHandler::new_themed(theme)
            .with_width(100)
            .with_links(false);
        for finding in &report.findings {
            let (path, text) = &report.sources[finding.source];
            let rendered = Rendered {
                finding,
                source: NamedSource::new(path.clone(), text.clone()),
            };
            let mut buf = String::new();
            handler
                .render_report(&mut buf, &rendered)
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            out.write_all(buf.as_bytes())?;
            writeln!(out)?;
        }
        if !options.quiet {
            let s = &report.summary;
            if s.findings == 0 {
                writeln!(
                    out,
                    "No findings: {} files, {} services audited.",
                    s.files, s.services
                )?;
            } else {
                writeln!(
                    out,
                    "Found {} findings ({} errors, {} warnings, {} info) in {} files across {} services.",
                    s.findings, s.errors, s.warnings, s.infos, s.files, s.services
                )?;
            }
        }
        Ok(())
    }
}
