//! window-ledger: WhatsApp customer service windows and template spend.
//!
//! The job is one chain of stages, each a module, each a function over
//! polars frames (see `../shared/spec/DOMAIN.md` for the rules):
//!
//! ```text
//!  files ──ingest──▶ raw strings ──normalize──▶ messages ─┬─▶ rejected
//!                                                         │
//!          windows::reconstruct ◀─────────────────────────┘
//!                 │  (sort once; in_window, window_id, last window)
//!                 ▼
//!          classify ──▶ class of every outbound message
//!                 ▼
//!          pricing ──▶ regime, market, pricing_rule, cost, avoidable cost
//!                 ▼
//!          report ──▶ windows.csv, sends.csv, summary.csv, rejected.csv,
//!                     summary.json, summary.md
//! ```
//!
//! [`analyse`] runs the stages; [`report::write_run`] writes the run
//! directory. Nothing here reads the clock: same input and options, same
//! bytes out.

pub mod classify;
pub mod cli;
pub mod config;
pub mod country;
pub mod error;
pub mod frames;
pub mod fuzzing;
pub mod generate;
pub mod ingest;
pub mod normalize;
pub mod partition;
pub mod pricing;
pub mod privacy;
pub mod reconcile;
pub mod report;
pub mod rows;
pub mod schema;
pub mod timestamps;
pub mod windows;

use anyhow::Result;
use polars::prelude::*;

use config::Settings;
use rows::Streamed;

/// Row accounting for one input file (DOMAIN.md §2: read = processed +
/// rejected + duplicates).
#[derive(Debug, Clone)]
pub struct FileAccount {
    pub path: String,
    pub format: &'static str,
    /// `messages` or `send_log`.
    pub role: &'static str,
    pub rows_read: u64,
    pub processed: u64,
    pub rejected: u64,
    pub duplicates: u64,
    /// Send-log rows that completed a webhook message (issue 5): the same
    /// message, so neither processed on their own nor lost.
    pub merged: u64,
    pub webhook: Option<ingest::WebhookStats>,
}

/// Everything a run computed, before anything is written.
pub struct Analysis {
    /// Every accepted message, sorted as `windows` sorts, with window and
    /// class columns.
    pub messages: rows::Rows,
    /// One row per window (all history).
    pub windows: rows::Rows,
    pub rejected: DataFrame,
    pub files: Vec<FileAccount>,
    pub warnings: Vec<String>,
    /// The rate cards and markets map that priced the run.
    pub rate_sources: Vec<String>,
    /// `--compare-regime`: the same messages priced under another regime.
    pub comparison: Option<rows::Rows>,
    /// `--meta-analytics`: the file and Meta's totals per month × country
    /// × pricing category.
    pub meta_analytics: Option<(String, DataFrame)>,
    /// The sends of the run's period, when the stages made them already
    /// (a partitioned run makes them part by part as it prices).
    pub period_sends: Option<report::tables::PeriodSends>,
}

/// Runs ingest → normalize → windows → classify.
pub fn analyse(settings: &Settings) -> Result<Analysis> {
    analyse_telling(settings, &mut |_| {})
}

/// [`analyse`], telling `stage` what it is doing (for a progress line).
pub fn analyse_telling(settings: &Settings, stage: &mut dyn FnMut(&str)) -> Result<Analysis> {
    // Rate cards are checked before the first message is read.
    stage("checking rate cards");
    let book = load_rates(settings)?;
    if let Some(plan) = partition::plan(settings)? {
        return partition::analyse(plan, &book, settings, stage);
    }
    stage("reading inputs");
    let ingested = ingest::read_inputs(&settings.inputs, &settings.read)?;
    if ingested.frame.height() == 0 {
        return Err(no_rows_error(&ingested));
    }
    analyse_with(ingested, &book, settings, stage)
}

/// A run over logs with no rows at all is a failed export, not an empty
/// month (a file of 0 bytes among others is only a warning, §8.13).
fn no_rows_error(ingested: &ingest::Ingested) -> anyhow::Error {
    let files: Vec<String> = ingested
        .files
        .iter()
        .map(|f| {
            let bytes = std::fs::metadata(&f.path).map_or(0, |m| m.len());
            let what = if bytes == 0 { "0 bytes" } else { "no rows" };
            format!("{} ({what})", f.path)
        })
        .collect();
    bad_input!(
        "no message rows in {}: check that the export finished and the right file was given",
        files.join(", ")
    )
}

/// The rate cards and markets map of a run.
pub fn load_rates(settings: &Settings) -> Result<pricing::card::RateBook> {
    pricing::card::RateBook::load(&settings.cards, settings.markets.as_deref())
}

/// The stages after `ingest`, for callers that read the input themselves.
pub fn analyse_with(
    ingested: ingest::Ingested,
    book: &pricing::card::RateBook,
    settings: &Settings,
    stage: &mut dyn FnMut(&str),
) -> Result<Analysis> {
    stage(&format!("checking {} rows", ingested.frame.height()));
    let checks = normalize::Checks {
        input_tz: settings.input_tz.name(),
        latest_us: settings.latest_us,
    };
    let normalized = normalize::normalize(ingested.frame, checks)?;
    let files = account_files(
        &ingested.files,
        &normalized.rejected_by_file,
        &normalized.duplicates_by_file,
    );
    stage(&format!(
        "rebuilding windows of {} messages",
        normalized.messages.height()
    ));
    let classified = classify::classify(windows::reconstruct(
        normalized.messages.lazy(),
        settings.rule,
    ))
    .collect()?;
    let windows = windows::windows_table(classified.clone().lazy()).collect()?;
    stage("pricing");
    let comparison = match settings.compare_regime {
        Some(regime) => {
            let params = pricing::PricingParams {
                regime: Some(regime),
                ..settings.pricing.clone()
            };
            Some(pricing::price(classified.clone(), book, &params)?)
        }
        None => None,
    };
    let messages = pricing::price(classified, book, &settings.pricing)?;
    finish_analysis(
        Stages {
            period_sends: None,
            messages: without_working_columns(messages)?.into(),
            comparison: comparison
                .map(without_working_columns)
                .transpose()?
                .map(Into::into),
            windows: windows.into(),
            rejected: normalized.rejected,
            files,
            warnings: ingested.warnings,
        },
        book,
        settings,
    )
}

/// What the stages up to pricing made, in one pass or part by part
/// (`partition`).
///
/// Messages come without the working columns of pricing.
pub(crate) struct Stages {
    pub period_sends: Option<report::tables::PeriodSends>,
    pub messages: rows::Rows,
    pub comparison: Option<rows::Rows>,
    pub windows: rows::Rows,
    pub rejected: DataFrame,
    pub files: Vec<FileAccount>,
    pub warnings: Vec<String>,
}

/// The analysis of priced messages: Meta's analytics read, warnings about
/// rates, contacts hashed when asked.
pub(crate) fn finish_analysis(
    stages: Stages,
    book: &pricing::card::RateBook,
    settings: &Settings,
) -> Result<Analysis> {
    let meta_analytics = match &settings.meta_analytics {
        Some(path) => Some((
            path.display().to_string(),
            ingest::analytics::read(path, settings.pricing.billing_tz, &settings.period)?,
        )),
        None => None,
    };
    let mut files = stages.files;
    // Outputs list files by path, so the order they were named in changes
    // nothing but which copy of a repeated id is first (§8.4).
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let mut warnings = stages.warnings;
    warnings.extend(rate_warnings(
        book,
        &stages.messages,
        settings.markets.as_deref(),
    )?);
    let mut analysis = Analysis {
        messages: stages.messages,
        comparison: stages.comparison,
        windows: stages.windows,
        rejected: stages.rejected,
        files,
        warnings,
        rate_sources: book.sources.clone(),
        meta_analytics,
        period_sends: stages.period_sends,
    };
    if let Some(salt) = &settings.contact_salt {
        privacy::hash_contacts(&mut analysis, salt)?;
    }
    Ok(analysis)
}

/// Columns the windows, classify and pricing stages work with that no
/// report reads (17 of the 53): dropped so that the tables, which copy the
/// outbound rows, are built from a narrower frame.
const WORKING_COLUMNS: [&str; 17] = [
    "extends_window",
    "window_start",
    "answers_window",
    "last_window_id",
    "last_window_answered",
    "pair_id",
    "billing_date",
    "price_date",
    "rate_nanos",
    "service_nanos",
    "currency_in_force",
    "rate_currency",
    "is_service",
    "in_free_tier",
    "contact_key",
    "business_key",
    "has_entry_point",
];

pub(crate) fn without_working_columns(messages: DataFrame) -> Result<DataFrame> {
    let present: Vec<&str> = WORKING_COLUMNS
        .into_iter()
        .filter(|c| messages.schema().contains(c))
        .collect();
    Ok(messages.drop_many(present))
}

fn rate_warnings(
    book: &pricing::card::RateBook,
    messages: &rows::Rows,
    markets: Option<&std::path::Path>,
) -> Result<Vec<String>> {
    let mut warnings: Vec<String> = book.notes.clone();
    let unpriced_regime = messages
        .clone()
        .lazy()
        .select([col(pricing::PRICING_RULE)
            .eq(lit("unpriced_regime"))
            .cast(DataType::UInt64)
            .sum()
            .alias("n")])
        .streamed()?
        .column("n")?
        .u64()?
        .get(0)
        .unwrap_or(0);
    if unpriced_regime > 0 {
        warnings.push(format!(
            "{unpriced_regime} outbound message(s) before 2025-07-01 fall under conversation-based pricing, which is not priced yet: they are listed as unpriced_regime and left out of spend totals"
        ));
    }
    let unmapped = book.unpriced_map_markets();
    if !unmapped.is_empty() {
        let map = markets.map_or("the built-in markets map".to_string(), |p| {
            format!("the markets map {}", p.display())
        });
        warnings.push(format!(
            "{map} names market(s) no rate card prices: {}; their countries are priced only if a card adds those markets (check the spelling against --rates)",
            unmapped.join(", ")
        ));
    }
    Ok(warnings)
}

pub(crate) fn account_files(
    reads: &[ingest::FileRead],
    rejected_by_file: &[(u32, u64)],
    duplicates_by_file: &[(u32, u64)],
) -> Vec<FileAccount> {
    let count = |pairs: &[(u32, u64)], index: usize| {
        pairs
            .iter()
            .find(|(f, _)| *f as usize == index)
            .map_or(0, |(_, n)| *n)
    };
    reads
        .iter()
        .enumerate()
        .map(|(index, read)| {
            let rejected = count(rejected_by_file, index);
            let duplicates = count(duplicates_by_file, index);
            FileAccount {
                path: read.path.clone(),
                format: read.format.name(),
                role: match read.role {
                    ingest::Role::Messages => "messages",
                    ingest::Role::SendLog => "send_log",
                },
                rows_read: read.rows,
                processed: read.rows - rejected - duplicates - read.merged,
                rejected,
                duplicates,
                merged: read.merged,
                webhook: read.webhook.clone(),
            }
        })
        .collect()
}

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
    let analysis = analyse_telling(settings, stage)?;
    let checks = report::write_run(&analysis, settings, stage)?;
    Ok(Outcome {
        checks,
        rejected: rejected_notes(&analysis.rejected, &settings.out_dir)?,
        warnings: analysis.warnings,
    })
}

/// `FILE row R (line L): REASON; N rows like it are in OUT/rejected.csv`,
/// per reason, in the order the reasons first occur.
fn rejected_notes(rejected: &DataFrame, out_dir: &std::path::Path) -> Result<Vec<String>> {
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
    let analysis = analyse(settings)?;
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
