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
///
/// On a long line (minified JSON, generated code) the window is an excerpt of the line
/// around the finding instead, and the label covers at most the start of a long span: miette
/// prints every line it is given whole, once per finding.
struct Window<'a> {
    name: &'a str,
    /// Whole lines of the file from `start`, or an excerpt of a long line.
    text: &'a str,
    /// Byte offset of `text` in the file.
    start: usize,
    /// Zero-based line number of `text`'s first line.
    line: usize,
    /// Added to the column of a span on `text`'s first line: an excerpt starts mid-line.
    column: usize,
    /// The span the label covers (offset, length).
    span: (usize, usize),
    /// The text is an excerpt of a long line.
    excerpt: bool,
}

/// Lines of context kept on each side of a finding: more than miette shows.
const WINDOW_LINES: usize = 4;
/// A code frame shows whole lines up to this long (bytes): the lines of the finding and the
/// one on each side of it, which miette prints. A finding on or next to a longer line gets
/// an excerpt.
const MAX_LINE: usize = 1024;
/// A longer span gets an excerpt too, with the label on its first bytes.
const MAX_SPAN: usize = 4096;
/// How far the other context lines are looked for (miette does not print them).
const MAX_SCAN: usize = 16 << 10;
/// Bytes of the line kept on each side of the span in an excerpt.
const EXCERPT_CONTEXT: usize = 40;
/// Bytes of a span kept in an excerpt.
const EXCERPT_SPAN: usize = 160;

/// Counts `\n` from the top of a file, remembering how far it got: findings come in file
/// order, so each counts only the bytes since the one before.
#[derive(Default)]
struct NewlineCount {
    source: usize,
    at: usize,
    count: usize,
}

impl NewlineCount {
    fn before(&mut self, source: usize, bytes: &[u8], at: usize) -> usize {
        if source != self.source {
            *self = NewlineCount {
                source,
                ..NewlineCount::default()
            };
        }
        if at >= self.at {
            self.count += memchr::memchr_iter(b'\n', &bytes[self.at..at]).count();
        } else {
            self.count -= memchr::memchr_iter(b'\n', &bytes[at..self.at]).count();
        }
        self.at = at;
        self.count
    }
}

impl<'a> Window<'a> {
    fn around(
        name: &'a str,
        file: &'a str,
        finding: &ReportedFinding,
        newlines: &mut NewlineCount,
    ) -> Window<'a> {
        let bytes = file.as_bytes();
        let offset = finding.offset.min(bytes.len());
        let end = (offset + finding.len).min(bytes.len());
        Self::whole_lines(name, file, offset, end, finding.source, newlines)
            .unwrap_or_else(|| Self::excerpt(name, file, offset, end, finding))
    }

    /// Whole lines around `offset..end`; None when a line miette would print is too long.
    fn whole_lines(
        name: &'a str,
        file: &'a str,
        offset: usize,
        end: usize,
        source: usize,
        newlines: &mut NewlineCount,
    ) -> Option<Window<'a>> {
        let bytes = file.as_bytes();
        if end - offset > MAX_SPAN {
            return None;
        }
        // Back to the start of the WINDOW_LINES-th line above: the finding's line and the
        // one above it (printed) must be short; the others are looked for within MAX_SCAN.
        let mut start = offset;
        for i in 0..=WINDOW_LINES {
            let limit = match i {
                0 | 1 => MAX_LINE + 1,
                _ => MAX_SCAN,
            };
            let from = start.saturating_sub(limit);
            match memchr::memrchr(b'\n', &bytes[from..start]) {
                Some(nl) => start = from + nl,
                None if from == 0 => {
                    start = 0;
                    break;
                }
                // A long line: the finding's own or the one above.
                None if i < 2 => return None,
                // A long line further up, which miette does not print: the window starts
                // below it.
                None => break,
            }
        }
        if start > 0 {
            start += 1;
        }
        let mut stop = end;
        for i in 0..=WINDOW_LINES {
            let limit = match i {
                0 | 1 => MAX_LINE + 1,
                _ => MAX_SCAN,
            };
            let to = (stop + limit).min(bytes.len());
            match memchr::memchr(b'\n', &bytes[stop..to]) {
                Some(nl) => stop += nl + 1,
                None if to == bytes.len() => {
                    stop = bytes.len();
                    break;
                }
                None if i < 2 => return None,
                None => break,
            }
        }
        // Lines end at \n, \r\n or a lone \r (as in the rest of the report): a window
        // cut at \n only starts where a line starts. Its first line's number is miette's
        // count (of \n), carried from the finding before instead of counted from the top.
        let line = newlines.before(source, bytes, start);
        Some(Window {
            name,
            text: &file[start..stop],
            start,
            line,
            column: 0,
            span: (offset, end - offset),
            excerpt: false,
        })
    }

    /// The finding's own line if it is short (a long line next to it is left out), else a
    /// few bytes of it on each side of the span (cut at its first EXCERPT_SPAN bytes),
    /// numbered with the finding's own line and column.
    fn excerpt(
        name: &'a str,
        file: &'a str,
        offset: usize,
        end: usize,
        finding: &ReportedFinding,
    ) -> Window<'a> {
        let bytes = file.as_bytes();
        let is_break = |b: &u8| matches!(b, b'\n' | b'\r');
        let end = match end - offset > EXCERPT_SPAN {
            true => file.floor_char_boundary(offset + EXCERPT_SPAN).max(offset),
            false => end,
        };
        // Where the line starts, or a cut EXCERPT_CONTEXT bytes before the span.
        let line_start = |context: usize| {
            let from = file.floor_char_boundary(offset.saturating_sub(context));
            match bytes[from..offset].iter().rposition(is_break) {
                Some(i) => (from + i + 1, false),
                None => (from, from > 0),
            }
        };
        let line_end = |context: usize| {
            let to = file.floor_char_boundary((end + context).min(bytes.len()));
            match bytes[end..to].iter().position(is_break) {
                Some(i) => (end + i, false),
                None => (to, to < bytes.len()),
            }
        };
        let (start, stop, cut) = match (line_start(MAX_LINE + 1), line_end(MAX_LINE + 1)) {
            ((start, false), (stop, false)) if end - offset <= MAX_SPAN => (start, stop, false),
            _ => {
                let ((start, cut_start), (stop, cut_end)) =
                    (line_start(EXCERPT_CONTEXT), line_end(EXCERPT_CONTEXT));
                (
                    start,
                    stop,
                    cut_start || cut_end || end < offset + finding.len,
                )
            }
        };
        Window {
            name,
            text: &file[start..stop],
            start,
            // No line break between `start` and the span: its line is the excerpt's first.
            line: (finding.line as usize).saturating_sub(1),
            // miette counts the bytes from the excerpt's start; cut mid-line, the finding
            // knows its column.
            column: match start > 0 && !is_break(&bytes[start - 1]) {
                true => (finding.column as usize)
                    .saturating_sub(1)
                    .saturating_sub(offset - start),
                false => 0,
            },
            span: (offset, end - offset),
            excerpt: cut,
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
            match inner.line() {
                0 => inner.column() + self.column,
                _ => inner.column(),
            },
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
        let mut label = match &self.finding.service {
            Some(s) => format!("{} [service {s}]", self.finding.severity),
            None => self.finding.severity.to_string(),
        };
        if self.source.excerpt {
            label.push_str(" (excerpt of a long line)");
        }
        let (offset, len) = self.source.span;
        Some(Box::new(std::iter::once(LabeledSpan::new(
            Some(label),
            offset,
            len,
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
        let render = |rendered: Rendered| -> std::io::Result<String> {
            let mut buf = String::new();
            handler
                .render_report(&mut buf, &rendered)
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            Ok(buf)
        };
        // Windows found in order (each carries the line count on from the one before), then
        // rendered on the audit's threads, a slice at a time, and written in order.
        let mut newlines = NewlineCount::default();
        for slice in report.findings.chunks(RENDER_SLICE) {
            let windows: Vec<Rendered> = slice
                .iter()
                .map(|finding| {
                    let (path, text) = &report.sources[finding.source];
                    Rendered {
                        finding,
                        source: Window::around(path, text, finding, &mut newlines),
                    }
                })
                .collect();
            let rendered: Vec<std::io::Result<String>> =
                crate::audit::deep_pool().install(|| windows.into_par_iter().map(render).collect());
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
