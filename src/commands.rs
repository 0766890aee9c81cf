//! What each subcommand does, over the library: `report` (analyse, then
//! write the run directory), `query` (one SQL query over a run's tables) and
//! `demo` (generate a log, then exactly what `report` does). The binary maps
//! the command line onto these and their outcome onto an exit code.

use std::path::Path;

use anyhow::Result;
use polars::prelude::*;

use crate::config::Settings;
use crate::{pipeline, report, schema};

/// What a written run tells its caller beyond the files.
pub struct Outcome {
    pub checks: Vec<report::thresholds::Check>,
    /// One line per reason rows were rejected: the first such row and
    /// how many there are (all of them are in `rejected.csv`).
    pub rejected: Vec<String>,
    pub warnings: Vec<String>,
}

/// `analyse`, then write the run directory.
pub fn run_report(settings: &Settings) -> Result<Outcome> {
    run_report_with(settings, &mut |_| {})
}

/// [`run_report`], telling `stage` what it is doing (for a progress line).
pub fn run_report_with(settings: &Settings, stage: &mut dyn FnMut(&str)) -> Result<Outcome> {
    let analysis = pipeline::analyse(settings, stage)?;
    let checks = report::write_run(&analysis, settings, stage)?;
    Ok(Outcome {
        checks,
        rejected: rejected_notes(&analysis.rejected, &settings.output.out_dir)?,
        warnings: analysis.warnings,
    })
}

/// `FILE row R (line L): REASON; N rows like it are in OUT/rejected.csv`,
/// per reason, in the order the reasons first occur.
fn rejected_notes(rejected: &DataFrame, out_dir: &Path) -> Result<Vec<String>> {
    let firsts = rejected
        .clone()
        .lazy()
        .sort(["file", "row"], Default::default())
        .group_by_stable([col(schema::REJECT_REASON)])
        .agg([
            col("file").first(),
            col("row").first(),
            col("line").first(),
            len().alias("rows"),
        ])
        .collect()?;
    let column = |name: &str| firsts.column(name).cloned();
    let (reasons, files) = (column(schema::REJECT_REASON)?, column("file")?);
    let (rows, lines, counts) = (column("row")?, column("line")?, column("rows")?);
    let csv = out_dir.join("rejected.csv");
    (0..firsts.height())
        .map(|i| {
            let text = |c: &Column| -> Result<String> {
                let value = c.get(i)?;
                Ok(match value.get_str() {
                    Some(s) => s.to_string(),
                    None if value.is_null() => String::new(),
                    None => value.to_string(),
                })
            };
            let line = match text(&lines)? {
                l if l.is_empty() => String::new(),
                l => format!(" (line {l})"),
            };
            Ok(format!(
                "{} row {}{line}: {}; {} row(s) rejected for this reason, all listed in {} (fix them at the source and rerun, or pass --allow-rejected to accept them)",
                text(&files)?,
                text(&rows)?,
                text(&reasons)?,
                text(&counts)?,
                csv.display()
            ))
        })
        .collect()
}

/// `window-ledger query`: one SQL query over the tables of a run
/// (`report::sections` documents them).
pub fn run_query(settings: &Settings, sql: &str) -> Result<DataFrame> {
    let analysis = pipeline::analyse(settings, &mut |_| {})?;
    let tables = report::tables::Tables::build(&analysis, settings)?;
    let mut ctx = report::sections::context(&analysis, &tables)?;
    let query = report::sections::Query {
        name: "query".into(),
        title: "query".into(),
        sql: sql.to_string(),
        origin: "the query".into(),
    };
    report::sections::run(&mut ctx, &query)
}
