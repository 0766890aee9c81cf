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
pub mod locale;
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

pub(crate) use json::count_where;
pub use json::{share, summary_json};

/// Writes every output of one run into `settings.out_dir`; returns the
/// thresholds checked (breached ones fail the run after it is written).
pub fn write_run(
    analysis: &Analysis,
    settings: &Settings,
    stage: &mut dyn FnMut(&str),
) -> Result<Vec<thresholds::Check>> {
    stage("building the tables");
    let tables = tables::Tables::build(analysis, settings)?.reconciled(analysis, settings)?;
    stage("running the SQL sections");
    let queries = sections::load(settings.queries.as_deref())?;
    let sections = sections::run_all(&queries, analysis, &tables)?;
    let mut summary = json::summary_json(analysis, settings, &tables)?;
    let checks = thresholds::evaluate(&settings.thresholds, &summary);
    summary["thresholds"] = Value::Array(checks.iter().map(thresholds::Check::to_json).collect());
    let previous = previous_month_summary(analysis, settings)?;
    stage("drawing the charts");
    let figures = figures::Figures::compute(&tables, &analysis.messages, settings)?;
    let mut svgs = Vec::new();
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for (name, _) in charts::CHARTS {
        let svg = charts::svg(name, &figures)?;
        files.push((format!("charts/{name}.png"), charts::png(name, &figures)?));
        files.push((format!("charts/{name}.svg"), svg.clone().into_bytes()));
        svgs.push((name.to_string(), svg));
    }
    let page = html::Page {
        summary: &summary,
        previous: previous.as_ref(),
        charts: &svgs,
        locale: &settings.locale,
        show_contacts: settings.show_contacts,
        sections: &sections,
    };
    stage("writing the HTML report and tables");
    files.push((
        "report.html".into(),
        html::render(&page, &tables)?.into_bytes(),
    ));
    let named: Vec<(&str, Vec<u8>)> = vec![
        ("sends.csv", csv_bytes(&tables.sends)?),
        ("windows.csv", csv_bytes(&tables.windows)?),
        ("summary.csv", csv_bytes(&tables.summary)?),
        ("rejected.csv", csv_bytes(&tables.rejected)?),
    ];
    files.extend(named.into_iter().map(|(n, b)| (n.to_string(), b)));
    if let Some(reconciliation) = &tables.reconciliation {
        files.push((
            "reconciliation.csv".into(),
            csv_bytes(&reconciliation.rows)?,
        ));
        if let Some(analytics) = &reconciliation.analytics {
            files.push(("analytics.csv".into(), csv_bytes(analytics)?));
        }
    }
    let mut json_text = serde_json::to_string_pretty(&summary)?;
    json_text.push('\n');
    files.push(("summary.json".into(), json_text.into_bytes()));
    files.push(("summary.md".into(), markdown::render(&summary).into_bytes()));
    stage("writing the workbook");
    files.push((
        "report.xlsx".into(),
        xlsx::render(&summary, &tables, &sections, settings.report_tz.name())?,
    ));
    for section in &sections {
        files.push((
            format!("tables/{}.csv", section.name),
            csv_bytes(&section.table)?,
        ));
    }
    stage("publishing the run directory");
    publish::publish(&settings.out_dir, &files)?;
    Ok(checks)
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
    let mut frame = safe::neutralized(frame)?;
    CsvWriter::new(&mut bytes)
        .include_header(true)
        .finish(&mut frame)?;
    Ok(bytes)
}
