//! Writing a run directory: tables, `summary.json`, `summary.md`.
//!
//! Every exporter turns frames into bytes; only [`write_run`] touches the
//! file system. The run is written into a staging directory beside the
//! target and renamed into place at the end, so a reader never sees half a
//! report and an interrupted run leaves the previous one as it was.

pub mod charts;
pub mod figures;
pub mod html;
mod json;
mod markdown;
mod publish;
pub mod safe;
pub mod sections;
pub mod tables;
pub mod thresholds;
mod xlsx;

use anyhow::Result;
use polars::prelude::*;
use serde_json::Value;

use crate::config::Settings;
use crate::Analysis;

pub(crate) use crate::rows::count_where;
pub use json::summary_json;

/// Writes every output of one run into `settings.out_dir`; returns the
/// thresholds checked (breached ones fail the run after it is written).
pub fn write_run(
    analysis: &Analysis,
    settings: &Settings,
    stage: &mut dyn FnMut(&str),
) -> Result<Vec<thresholds::Check>> {
    let run = publish::Staging::create(&settings.out_dir)?;
    stage("building the tables");
    let tables = tables::Tables::build(analysis, settings)?.reconciled(analysis, settings)?;
    stage("running the SQL sections");
    let queries = sections::load(settings.queries.as_deref())?;
    let sections = sections::run_all(&queries, analysis, &tables)?;
    let mut summary = json::summary_json(analysis, settings, &tables)?;
    let checks = thresholds::evaluate(&settings.thresholds, &summary);
    summary["thresholds"] = Value::Array(checks.iter().map(thresholds::Check::to_json).collect());
    let previous = previous_month_summary(analysis, settings)?;
    let shown: Vec<sections::Section> = sections
        .iter()
        .map(|s| s.for_display(settings.show_contacts))
        .collect::<Result<_>>()?;
    stage("drawing the charts");
    let figures = figures::Figures::compute(&tables, &analysis.messages, settings)?;
    let mut svgs = Vec::new();
    for (name, _) in charts::CHARTS {
        let svg = charts::svg(name, &figures)?;
        run.write(&format!("charts/{name}.png"), &charts::png(name, &figures)?)?;
        run.write(&format!("charts/{name}.svg"), svg.as_bytes())?;
        svgs.push((name.to_string(), svg));
    }
    let page = html::Page {
        summary: &summary,
        previous: previous.as_ref(),
        charts: &svgs,
        locale: &settings.locale,
        show_contacts: settings.show_contacts,
        sections: &shown,
    };
    stage("writing the HTML report");
    run.write("report.html", html::render(&page, &tables)?.as_bytes())?;
    stage("writing the tables");
    write_row_tables(&run, &tables, settings.row_tables)?;
    let mut named: Vec<(&str, &DataFrame)> = vec![
        ("summary.csv", &tables.summary),
        ("rejected.csv", &tables.rejected),
    ];
    if let Some(reconciliation) = &tables.reconciliation {
        named.push(("reconciliation.csv", &reconciliation.rows));
        if let Some(analytics) = &reconciliation.analytics {
            named.push(("analytics.csv", analytics));
        }
    }
    for (name, frame) in named {
        run.write_with(name, |out| write_csv(frame, out, true))?;
    }
    let mut json_text = serde_json::to_string_pretty(&summary)?;
    json_text.push('\n');
    run.write("summary.json", json_text.as_bytes())?;
    run.write("summary.md", markdown::render(&summary).as_bytes())?;
    stage("writing the workbook");
    let workbook = xlsx::render(&summary, &tables, &shown, settings.report_tz.name())?;
    run.write("report.xlsx", &workbook)?;
    for section in &sections {
        let name = format!("tables/{}.csv", section.name);
        run.write_with(&name, |out| write_csv(&section.table, out, true))?;
    }
    stage("publishing the run directory");
    run.publish()?;
    Ok(checks)
}

/// `sends` and `windows`, the tables with a row per message or window, in
/// the formats `--row-tables` asks for.
fn write_row_tables(
    run: &publish::Staging,
    tables: &tables::Tables,
    formats: crate::config::RowTables,
) -> Result<()> {
    if formats.csv() {
        run.write_with("sends.csv", |out| {
            tables::write_sends_csv(&tables.sends_full, out)
        })?;
        run.write_with("windows.csv", |out| {
            tables::write_windows_csv(&tables.windows, out)
        })?;
    }
    if formats.parquet() {
        run.write_with("sends.parquet", |out| {
            tables::write_sends_parquet(&tables.sends_full, out)
        })?;
        run.write_with("windows.parquet", |out| {
            tables::write_windows_parquet(&tables.windows, out)
        })?;
    }
    Ok(())
}

/// The previous month's summary, when the period is one month and the
/// input has outbound messages in the month before it.
fn previous_month_summary(
    analysis: &Analysis,
    settings: &Settings,
) -> Result<Option<serde_json::Value>> {
    let Some(period) = settings.period.previous_month(settings.report_tz) else {
        return Ok(None);
    };
    let previous = Settings {
        period,
        ..settings.clone()
    };
    let tables = tables::Tables::build(analysis, &previous)?;
    if tables.sends_full.height() == 0 {
        return Ok(None);
    }
    Ok(Some(json::summary_json(analysis, &previous, &tables)?))
}

/// A frame as CSV text with a header row, text cells made safe for
/// spreadsheets (`safe`).
pub fn csv_bytes(frame: &DataFrame) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    write_csv(frame, &mut bytes, true)?;
    Ok(bytes)
}

/// Writes a frame as CSV, text cells made safe for spreadsheets (`safe`);
/// `header` false continues a table written in parts.
pub fn write_csv(frame: &DataFrame, out: &mut dyn std::io::Write, header: bool) -> Result<()> {
    let mut frame = safe::neutralized(frame)?;
    CsvWriter::new(out)
        .include_header(header)
        .with_datetime_format(Some(crate::timestamps::TIME_FORMAT.into()))
        .finish(&mut frame)?;
    Ok(())
}
