//! `--format text`: miette code frames with the rule, message and a help line.

use std::fmt;
use std::io::Write;

use miette::{
    Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError,
    MietteSpanContents, SourceCode, SourceSpan, SpanContents,
};
use rayon::prelude::*;

use super::{RenderOptions, Report, ReportedFinding, Reporter};
use crate::audit::rules::Severity;
use crate::plural::count;

/// Findings rendered together before they are written: enough to keep both threads busy,
/// few enough that a report of many findings is not held whole.
const RENDER_SLICE: usize = 256;

pub struct TextReporter;

struct Rendered<'a> {
    finding: &'a ReportedFinding,
    source: Window<'a>,
}

/// The lines of a file around a finding, as miette reads them. Handing miette the whole
/// file made it count lines from the top for every finding: on a large repository with
/// findings deep in long files, that was most of the time spent reporting.
struct Window<'a> {
    name: &'a str,
    /// Whole lines of the file, from `start`.
    text: &'a str,
    /// Byte offset of `text` in the file.
    start: usize,
    /// Zero-based line number of `text`'s first line.
    line: usize,
}

/// Lines of context kept on each side of a finding: more than miette shows.
const WINDOW_LINES: usize = 4;

impl<'a> Window<'a> {
    fn around(name: &'a str, file: &'a str, offset: usize, len: usize) -> Window<'a> {
        let bytes = file.as_bytes();
        let offset = offset.min(bytes.len());
        let end = (offset + len).min(bytes.len());
        let mut start = offset;
        for _ in 0..=WINDOW_LINES {
            match memchr::memrchr(b'\n', &bytes[..start]) {
                Some(nl) => start = nl,
                None => {
                    start = 0;
                    break;
                }
            }
        }
        if start > 0 {
            start += 1;
        }
        let mut stop = end;
        for _ in 0..=WINDOW_LINES {
            match memchr::memchr(b'\n', &bytes[stop..]) {
                Some(nl) => stop += nl + 1,
                None => {
                    stop = bytes.len();
                    break;
                }
            }
        }
        // Lines end at \n, \r\n or a lone \r (as in the rest of the report): a window
        // cut at \n only starts where a line starts. Its first line's number is miette's
        // count (of \n), found with one SIMD pass instead of miette's walk through the text.
        let line = memchr::memchr_iter(b'\n', &bytes[..start]).count();
        Window {
            name,
            text: &file[start..stop],
            start,
            line,
        }
    }
}

impl SourceCode for Window<'_> {
    fn read_span<'b>(
        &'b self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'b> + 'b>, MietteError> {
        let local = SourceSpan::new(span.offset().saturating_sub(self.start).into(), span.len());
        let inner = self
            .text
            .read_span(&local, context_lines_before, context_lines_after)?;
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.to_string(),
            inner.data(),
            SourceSpan::new(
                (inner.span().offset() + self.start).into(),
                inner.span().len(),
            ),
            inner.line() + self.line,
            inner.column(),
            inner.line_count(),
        )))
    }
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
        let render = |finding: &ReportedFinding| -> std::io::Result<String> {
            let (path, text) = &report.sources[finding.source];
            let rendered = Rendered {
                finding,
                source: Window::around(path, text, finding.offset, finding.len),
            };
            let mut buf = String::new();
            handler
                .render_report(&mut buf, &rendered)
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            Ok(buf)
        };
        // Rendered on the audit's threads, a slice at a time, and written in order.
        for slice in report.findings.chunks(RENDER_SLICE) {
            let rendered: Vec<std::io::Result<String>> =
                crate::audit::deep_pool().install(|| slice.par_iter().map(render).collect());
            for buf in rendered {
                out.write_all(buf?.as_bytes())?;
                writeln!(out)?;
            }
        }
        if !options.quiet {
            let s = &report.summary;
            if s.findings == 0 {
                writeln!(
                    out,
                    "No findings: {}, {} audited.",
                    count(s.files, "file", "files"),
                    count(s.services, "service", "services")
                )?;
            } else {
                writeln!(
                    out,
                    "Found {} ({}, {}, {} info) in {} across {}.",
                    count(s.findings, "finding", "findings"),
                    count(s.errors, "error", "errors"),
                    count(s.warnings, "warning", "warnings"),
                    s.infos,
                    count(s.files, "file", "files"),
                    count(s.services, "service", "services")
                )?;
            }
        }
        Ok(())
    }
}
