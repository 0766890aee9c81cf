//! One [`Exporter`] per kind of output file. Each turns the run's computed
//! figures ([`Run`]) into bytes and hands them to the staging directory;
//! none computes a figure another output shows.

use anyhow::Result;

use super::publish::Staging;
use super::{charts, html, markdown, tables, write_csv, xlsx, Run, Tables};
use crate::config::Settings;

/// An output of a run.
pub trait Exporter: Sync {
    /// What the progress line says while it writes.
    fn stage(&self) -> &'static str;
    /// Writes its files into the run's staging directory.
    fn write(&self, run: &Run, out: &Staging) -> Result<()>;
}

/// Every output made from the figures, in the order they are written.
/// [`RowTables`] is not among them: `write_run` writes it on a thread of
/// its own, from the tables alone, while these are made.
pub const ALL: &[&dyn Exporter] = &[
    &Charts,
    &HtmlReport,
    &SummaryTables,
    &SummaryJson,
    &SummaryMarkdown,
    &Workbook,
    &SectionTables,
];

/// `charts/<name>.png` and `charts/<name>.svg`.
pub struct Charts;

impl Exporter for Charts {
    fn stage(&self) -> &'static str {
        "writing the charts"
    }

    fn write(&self, run: &Run, out: &Staging) -> Result<()> {
        for (name, svg) in run.charts {
            out.write(&format!("charts/{name}.png"), &charts::png(svg)?)?;
            out.write(&format!("charts/{name}.svg"), svg.as_bytes())?;
        }
        Ok(())
    }
}

/// `report.html`.
pub struct HtmlReport;

impl Exporter for HtmlReport {
    fn stage(&self) -> &'static str {
        "writing the HTML report"
    }

    fn write(&self, run: &Run, out: &Staging) -> Result<()> {
        let page = html::Page {
            summary: run.summary,
            previous: run.previous,
            charts: run.charts,
            views: run.views,
            reconciliation: run.tables.reconciliation.as_ref(),
            locale: &run.settings.output.locale,
            show_contacts: run.settings.output.show_contacts,
            sections: run.shown_sections,
        };
        out.write("report.html", html::render(&page)?.as_bytes())
    }
}

/// `sends`, `windows` and `conversations`, the tables with a row per
/// message, window or conversation, in
/// the formats `--row-tables` asks for.
pub struct RowTables;

impl RowTables {
    /// Writes the row tables: they need the tables and nothing else.
    pub fn write_tables(settings: &Settings, t: &Tables, out: &Staging) -> Result<()> {
        let formats = settings.output.row_tables;
        // Only a period priced by conversations has any (§11): most runs
        // get no empty file.
        let conversations = t.conversations.height() > 0;
        if formats.csv() {
            out.write_with("sends.csv", |w| tables::write_sends_csv(&t.sends_full, w))?;
            out.write_with("windows.csv", |w| tables::write_windows_csv(&t.windows, w))?;
            if conversations {
                out.write_with("conversations.csv", |w| {
                    tables::write_conversations_csv(&t.conversations, w)
                })?;
            }
        }
        if formats.parquet() {
            out.write_with("sends.parquet", |w| {
                tables::write_sends_parquet(&t.sends_full, w)
            })?;
            out.write_with("windows.parquet", |w| {
                tables::write_windows_parquet(&t.windows, w)
            })?;
            if conversations {
                out.write_with("conversations.parquet", |w| {
                    tables::write_conversations_parquet(&t.conversations, w)
                })?;
            }
        }
        Ok(())
    }
}

/// `summary.csv`, `rejected.csv`, and `reconciliation.csv`,
/// `tier_reconciliation.csv`, `analytics.csv` and
/// `conversation_analytics.csv` when there is something to reconcile.
pub struct SummaryTables;

impl Exporter for SummaryTables {
    fn stage(&self) -> &'static str {
        "writing the summary tables"
    }

    fn write(&self, run: &Run, out: &Staging) -> Result<()> {
        let t = run.tables;
        let mut named = vec![("summary.csv", &t.summary), ("rejected.csv", &t.rejected)];
        if let Some(reconciliation) = &t.reconciliation {
            named.push(("reconciliation.csv", &reconciliation.rows));
            if let Some(tiers) = &reconciliation.tiers {
                named.push(("tier_reconciliation.csv", tiers));
            }
            if let Some(analytics) = &reconciliation.analytics {
                named.push(("analytics.csv", analytics));
            }
            if let Some(analytics) = &reconciliation.conversation_analytics {
                named.push(("conversation_analytics.csv", analytics));
            }
        }
        for (name, frame) in named {
            out.write_with(name, |w| write_csv(frame, w, true))?;
        }
        Ok(())
    }
}

/// `summary.json`, for CI.
pub struct SummaryJson;

impl Exporter for SummaryJson {
    fn stage(&self) -> &'static str {
        "writing summary.json"
    }

    fn write(&self, run: &Run, out: &Staging) -> Result<()> {
        out.write("summary.json", run.summary.to_json()?.as_bytes())
    }
}

/// `summary.md`, for a CI job page or a chat message.
pub struct SummaryMarkdown;

impl Exporter for SummaryMarkdown {
    fn stage(&self) -> &'static str {
        "writing summary.md"
    }

    fn write(&self, run: &Run, out: &Staging) -> Result<()> {
        out.write("summary.md", markdown::render(run.summary).as_bytes())
    }
}

/// `report.xlsx`, for finance.
pub struct Workbook;

impl Exporter for Workbook {
    fn stage(&self) -> &'static str {
        "writing the workbook"
    }

    fn write(&self, run: &Run, out: &Staging) -> Result<()> {
        let bytes = xlsx::render(run.summary, run.views, run.shown_sections)?;
        out.write("report.xlsx", &bytes)
    }
}

/// `tables/<name>.csv`: one per SQL section.
pub struct SectionTables;

impl Exporter for SectionTables {
    fn stage(&self) -> &'static str {
        "writing the SQL sections"
    }

    fn write(&self, run: &Run, out: &Staging) -> Result<()> {
        for section in run.sections {
            let name = format!("tables/{}.csv", section.name);
            out.write_with(&name, |w| write_csv(&section.table, w, true))?;
        }
        Ok(())
    }
}
