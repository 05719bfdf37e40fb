//! `--format json`: one JSON document, schema version 1 (documented in the README).

use std::io::Write;

use serde::Serialize;

use super::{RenderOptions, Report, ReportedFinding, ReportedService, Reporter, Summary};

pub struct JsonReporter;

#[derive(Serialize)]
struct Document<'a> {
    version: u32,
    tool: Tool,
    summary: &'a Summary,
    services: &'a [ReportedService],
    findings: &'a [ReportedFinding],
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

impl Reporter for JsonReporter {
    fn write(
        &self,
        report: &Report,
        _: &RenderOptions,
        out: &mut dyn Write,
    ) -> std::io::Result<()> {
        let doc = Document {
            version: 1,
            tool: Tool {
                name: "svc",
                version: env!("CARGO_PKG_VERSION"),
            },
            summary: &report.summary,
            services: &report.services,
            findings: &report.findings,
        };
        serde_json::to_writer_pretty(&mut *out, &doc)?;
        writeln!(out)
    }
}
