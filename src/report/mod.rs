//! Writing a run directory: every output file of a run.
//!
//! [`write_run`] computes what the outputs show once — the [`Tables`]
//! (row tables of the period), the typed [`Summary`] (every figure, with
//! the thresholds checked), the [`Views`] (the small tables people read),
//! the SQL sections and the charts — and hands them, as one [`Run`], to
//! each [`Exporter`] in [`exporters::ALL`]: one exporter per kind of output
//! file (the row tables, which need only the tables, are written meanwhile). The files go into a staging directory that replaces the run
//! directory in one step at the end (`publish`), so a reader never sees
//! half a report and an interrupted run leaves the previous one as it was.

pub mod charts;
mod csv;
pub mod exporters;
pub mod figures;
pub mod html;
mod markdown;
pub mod publish;
pub mod safe;
pub mod sections;
pub mod staffing;
pub mod summary;
pub mod tables;
pub mod thresholds;
pub mod views;
mod xlsx;

use anyhow::Result;
use polars::prelude::*;

use crate::config::Settings;
use crate::Analysis;
pub use exporters::Exporter;
pub use summary::Summary;
pub use tables::Tables;
pub use views::Views;

pub(crate) use crate::rows::count_where;

/// Everything the outputs of one run are made from, computed once.
pub struct Run<'a> {
    pub settings: &'a Settings,
    pub tables: &'a Tables,
    pub summary: &'a Summary,
    /// The previous month's headline numbers (`html::headline_numbers`),
    /// when the period is a month and the input, or the run it continues,
    /// covers the month before it.
    pub previous: Option<&'a [Option<f64>]>,
    pub views: &'a Views,
    /// The SQL sections as run (their CSV tables keep contacts).
    pub sections: &'a [sections::Section],
    /// The same sections as people see them (contacts masked).
    pub shown_sections: &'a [sections::Section],
    /// Each chart's name and SVG.
    pub charts: &'a [(String, String)],
    pub figures: &'a figures::Figures,
}

/// Writes every output of one run into `settings.output.out_dir`; returns the
/// thresholds checked (breached ones fail the run after it is written).
///
/// The row tables ([`exporters::RowTables`]) are the largest files and
/// need nothing but the tables: they are written on a thread of their own
/// while the figures, charts and the other files are made (at 10M rows,
/// written after everything else, they took 6.5 s with polars' CSV
/// writer; [`csv`] formats them now). So are the rows `state/` keeps for
/// the next run, which need nothing but the messages; `state.json` is
/// written once the summary is made.
pub fn write_run(
    analysis: &Analysis,
    settings: &Settings,
    stage: &mut dyn FnMut(&str),
) -> Result<Vec<thresholds::Check>> {
    let staging = publish::Staging::create(&settings.output.out_dir)?;
    stage("building the tables");
    let tables = Tables::build(analysis, settings)?.reconciled(analysis, settings)?;
    let checks = std::thread::scope(|scope| {
        let row_tables =
            scope.spawn(|| exporters::RowTables::write_tables(settings, &tables, &staging));
        let carried = scope.spawn(|| carried_rows(analysis, settings, &staging));
        let rest = write_figures_and_files(analysis, settings, &tables, &staging, stage);
        stage("writing the state for the next run");
        let carried = carried
            .join()
            .map_err(|_| anyhow::anyhow!("the thread writing the state panicked"))?;
        let rest = rest.and_then(|summary| {
            if let Some(carried) = carried? {
                write_state(settings, &summary, &staging, carried)?;
            }
            Ok(summary.thresholds)
        });
        stage("finishing the row tables");
        let written = row_tables
            .join()
            .map_err(|_| anyhow::anyhow!("the thread writing the row tables panicked"))?;
        // The other files' error first: it is the one a run without the
        // row tables would have given.
        let checks = rest?;
        written.map(|()| checks)
    })?;
    stage("publishing the run directory");
    staging.publish()?;
    Ok(checks)
}

/// Everything but the row tables: the SQL sections, the summary, the
/// views and charts, and every exporter of [`exporters::ALL`].
fn write_figures_and_files(
    analysis: &Analysis,
    settings: &Settings,
    tables: &Tables,
    staging: &publish::Staging,
    stage: &mut dyn FnMut(&str),
) -> Result<Summary> {
    stage("running the SQL sections");
    let queries = sections::load(settings.output.queries.as_deref())?;
    let sections = sections::run_all(&queries, analysis, tables)?;
    let shown_sections: Vec<sections::Section> = sections
        .iter()
        .map(|s| s.for_display(settings.output.show_contacts))
        .collect::<Result<_>>()?;
    stage("summing up");
    let mut summary = Summary::build(analysis, settings, tables)?;
    summary.thresholds = thresholds::evaluate(
        &settings.output.thresholds,
        &summary.spend,
        &summary.windows,
    );
    let previous = previous_month_headline(analysis, settings)?;
    let views = Views::compute(tables, settings.output.report_tz.name())?;
    stage("drawing the charts");
    let figures =
        figures::Figures::compute(tables, &analysis.messages, settings, &summary.staffing)?;
    let charts = charts::CHARTS
        .iter()
        .map(|(name, _)| {
            let svg = charts::svg(name, &figures, &settings.output.locale)?;
            Ok((name.to_string(), svg))
        })
        .collect::<Result<Vec<_>>>()?;
    let run = Run {
        settings,
        tables,
        summary: &summary,
        previous: previous.as_deref(),
        views: &views,
        sections: &sections,
        shown_sections: &shown_sections,
        charts: &charts,
        figures: &figures,
    };
    for exporter in exporters::ALL {
        stage(exporter.stage());
        exporter.write(&run, staging)?;
    }
    Ok(summary)
}

/// The rows `state/` keeps for the next run, written (`crate::state`)
/// while the figures and files are made: they need nothing but the
/// messages. None with `--hash-contacts`, whose runs hold no customer
/// number, so write no state.
fn carried_rows(
    analysis: &Analysis,
    settings: &Settings,
    staging: &publish::Staging,
) -> Result<Option<CarriedRows>> {
    if settings.output.contact_salt.is_some() {
        return Ok(None);
    }
    let bounds = crate::pipeline::state_bounds(settings, &analysis.messages)?;
    let (rows, recent_ids) = crate::state::write_rows(
        staging.path(),
        &analysis.messages,
        bounds.end_us,
        bounds.complete_from_us,
    )?;
    Ok(Some(CarriedRows {
        bounds,
        rows,
        recent_ids,
    }))
}

/// What [`carried_rows`] wrote.
struct CarriedRows {
    bounds: crate::pipeline::StateBounds,
    rows: u64,
    recent_ids: u64,
}

/// `state/`: what a run continuing from this one needs (`crate::state`),
/// its rows already written.
fn write_state(
    settings: &Settings,
    summary: &Summary,
    staging: &publish::Staging,
    carried: CarriedRows,
) -> Result<()> {
    let crate::pipeline::StateBounds {
        end_us,
        complete_from_us,
        last_us,
    } = carried.bounds;
    let period = &settings.output.period;
    let meta = crate::state::Meta {
        state_version: crate::state::VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        rules: settings.state_rules()?,
        end_us,
        end: crate::timestamps::utc_text(end_us),
        complete_from_us,
        complete_from: crate::timestamps::utc_text(complete_from_us),
        last_message_us: last_us,
        last_message: crate::timestamps::utc_text(last_us),
        period: period.label.clone(),
        last_month: match period.month {
            Some(month) => Some(crate::state::MonthHeadline::new(
                month.format("%Y-%m").to_string(),
                &html::headline_numbers(summary),
            )),
            // A run over part of a month passes its chain's month on.
            None => settings
                .input
                .continued
                .as_ref()
                .and_then(|c| c.meta.last_month.clone()),
        },
        carried_rows: carried.rows,
        recent_ids: carried.recent_ids,
    };
    crate::state::write_meta(staging.path(), &meta)
}

/// The previous month's headline numbers, when the period is one month
/// and the input has outbound messages in the month before it; a continued
/// run takes them from the run it continues, when that run was that month.
///
/// The month is taken as it stood at its end (as its own report was): a
/// window it opened counts as answered only if answered before the month
/// ended, whatever later rows say.
fn previous_month_headline(
    analysis: &Analysis,
    settings: &Settings,
) -> Result<Option<Vec<Option<f64>>>> {
    let Some(period) = settings
        .output
        .period
        .previous_month(settings.output.report_tz)
    else {
        return Ok(None);
    };
    if let Some(continued) = &settings.input.continued {
        let meta = &continued.meta;
        if let Some(last) = meta.last_month.as_ref().filter(|m| m.month == period.label) {
            return Ok(Some(last.numbers()));
        }
        // Only rows from `complete_from` on are at hand: an earlier month
        // would be counted from part of its rows.
        if period
            .from_us
            .is_none_or(|from| from < meta.complete_from_us)
        {
            return Ok(None);
        }
    }
    let end = period.to_us;
    let mut previous = settings.clone();
    previous.output.period = period;
    let mut tables = Tables::build(analysis, &previous)?;
    if tables.sends_full.height() == 0 {
        return Ok(None);
    }
    if let Some(end) = end {
        tables.windows = tables::as_of(&tables.windows, end)?;
    }
    let summary = Summary::build(analysis, &previous, &tables)?;
    Ok(Some(html::headline_numbers(&summary)))
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
    if csv::write(&frame, out, header)? {
        return Ok(());
    }
    CsvWriter::new(out)
        .include_header(header)
        .with_datetime_format(Some(crate::timestamps::TIME_FORMAT.into()))
        .finish(&mut frame)?;
    Ok(())
}
