//! What each subcommand does, over the library: `report` (analyse, then
//! write the run directory), `query` (one SQL query over a run's tables) and
//! `demo` (generate a log, then exactly what `report` does). The binary maps
//! the command line onto these and their outcome onto an exit code.

use std::path::{Path, PathBuf};

use anyhow::Result;
use chrono::NaiveDate;
use polars::prelude::*;

use crate::config::{Request, Settings, SourcesRequest};
use crate::generate::{self, GenerateOptions};
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
    written(analysis, settings, stage)
}

/// The run directory of `analysis`, and what the caller is told of it.
fn written(
    analysis: pipeline::Analysis,
    settings: &Settings,
    stage: &mut dyn FnMut(&str),
) -> Result<Outcome> {
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

/// What `demo` makes.
pub struct Demo {
    /// The run directory.
    pub out: PathBuf,
    pub contacts: u32,
    pub seed: u64,
    pub lang: String,
}

/// Where `demo` keeps its log, relative to the run directory: the name the
/// outputs give the log.
pub const DEMO_LOG: &str = "input/demo-log.parquet";

/// `demo`: generates a log of 92 days from 2026-08-01, then has `report`
/// (the caller's, which prints what `report` prints) run on it as
/// `report --from 2026-08-01 --to 2026-10-31 --tz Asia/Riyadh` would, and
/// keeps the log as [`DEMO_LOG`] in the run directory so that the run can
/// be repeated by hand. Returns `report`'s exit code and the log's rows.
pub fn demo(demo: &Demo, report: impl FnOnce(&Settings) -> Result<u8>) -> Result<(u8, u64)> {
    let options = GenerateOptions {
        contacts: demo.contacts,
        days: 92,
        start: NaiveDate::from_ymd_opt(2026, 8, 1).expect("valid date"),
        businesses: 3,
        seed: demo.seed,
    };
    // Written beside the run directory (the run replaces that directory
    // whole when it is done), then moved into it.
    let name = demo
        .out
        .file_name()
        .map_or("demo".into(), |n| n.to_string_lossy().into_owned());
    let log = demo
        .out
        .with_file_name(format!(".{name}.demo-log-{}.parquet", std::process::id()));
    if let Some(parent) = log.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let rows = generate::write(&options, &log)?;
    // The log covers UTC days; reporting whole Riyadh days keeps a few
    // hours of November out of the charts as an almost empty month.
    let settings = Settings::new(Request {
        inputs: vec![log.clone()],
        out: Some(demo.out.clone()),
        from: Some("2026-08-01".into()),
        to: Some("2026-10-31".into()),
        tz: "Asia/Riyadh".into(),
        lang: demo.lang.clone(),
        sources: SourcesRequest {
            label: Some(DEMO_LOG.into()),
            ..SourcesRequest::default()
        },
        ..Request::default()
    });
    let code = settings.and_then(|settings| report(&settings));
    let kept = demo.out.join(DEMO_LOG);
    let moved = match &code {
        Ok(_) => std::fs::create_dir_all(demo.out.join("input"))
            .and_then(|()| std::fs::rename(&log, &kept)),
        Err(_) => Ok(()),
    };
    let _ = std::fs::remove_file(&log);
    let code = code?;
    moved.map_err(|e| anyhow::anyhow!("keeping the demo log as {}: {e}", kept.display()))?;
    Ok((code, rows))
}

/// `report --from-tables DIR`: the run directory from the tables a driven
/// run (`spark/`) wrote.
pub fn run_report_from_tables(
    settings: &Settings,
    tables: &Path,
    stage: &mut dyn FnMut(&str),
) -> Result<Outcome> {
    stage("reading the tables");
    let analysis = pipeline::driven::analysis_from_tables(tables, settings)?;
    written(analysis, settings, stage)
}

/// A step of a driven run (`pipeline::driven`), as `window-ledger part`
/// runs it.
#[derive(Debug, Clone, Copy)]
pub enum PartStep {
    /// The message logs of `--input`, in reading order, as JSON lines.
    Files,
    Route,
    Price,
    Settle,
}

/// Runs `step` over the Arrow IPC file `batch`, writing `out`: an Arrow
/// IPC file, or for `price` a directory of them (`messages`, `windows`,
/// `rejected`, `counts`). `Files` needs neither: it prints to standard
/// output.
pub fn run_part(
    step: PartStep,
    settings: &Settings,
    batch: Option<&Path>,
    out: Option<&Path>,
) -> Result<()> {
    use pipeline::driven;
    let missing = || crate::bad_input!("part: give --batch FILE and --out PATH");
    let read = || -> Result<DataFrame> {
        let batch = batch.ok_or_else(missing)?;
        let file = std::fs::File::open(batch)
            .map_err(|e| crate::bad_input!("{}: cannot open it ({e})", batch.display()))?;
        Ok(IpcReader::new(file).finish()?)
    };
    let out = || out.ok_or_else(missing);
    match step {
        PartStep::Files => {
            let (logs, warnings) =
                crate::ingest::message_logs(&settings.input.files, &settings.input.read)?;
            for (name, path, format) in logs {
                let line = serde_json::json!({"name": name, "path": path, "format": format});
                println!("{line}");
            }
            for warning in warnings {
                println!("{}", serde_json::json!({ "warning": warning }));
            }
            Ok(())
        }
        PartStep::Route => write_ipc(driven::route(read()?, settings)?, out()?),
        PartStep::Price => {
            let book = pipeline::load_rates(settings)?;
            let tables = driven::price(read()?, settings, &book)?;
            let out = out()?;
            std::fs::create_dir_all(out)?;
            write_ipc(tables.messages, &out.join("messages.arrow"))?;
            write_ipc(tables.windows, &out.join("windows.arrow"))?;
            write_ipc(tables.rejected, &out.join("rejected.arrow"))?;
            write_ipc(tables.counts, &out.join("counts.arrow"))
        }
        PartStep::Settle => {
            let book = pipeline::load_rates(settings)?;
            write_ipc(driven::settle(read()?, settings, &book)?, out()?)
        }
    }
}

fn write_ipc(mut frame: DataFrame, path: &Path) -> Result<()> {
    let file = std::fs::File::create(path)
        .map_err(|e| anyhow::anyhow!("cannot write {} ({e})", path.display()))?;
    IpcWriter::new(file).finish(&mut frame)?;
    Ok(())
}
