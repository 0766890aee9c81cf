//! The stages of a run, as steps a distributed driver calls (the Spark
//! driver in `spark/`, `window-ledger part`): the driver reads the logs,
//! routes each raw row to a part by its pair, and settles the counters
//! that cross pairs with window functions of its own; every rule stays
//! here, in the engine.
//!
//! ```text
//!  raw rows ──route──▶ (message id if valid, normalised pair) per row
//!  driver: repeated ids → the first valid copy in input order stays
//!          (§8.4); rows grouped into parts by pair
//!  part ──price──▶ messages (with counter keys), windows, rejected, counts
//!  driver: ROW_NUMBER over each counter key in (ts, message_id) order;
//!          window and conversation numbers (`window_id`,
//!          `last_window_id`, `conversation_no`, counted within a part)
//!          made the run's
//!  messages + ranks ──settle──▶ the messages a local run writes
//! ```
//!
//! A part is any set of whole pairs: `price` is the local run's chain of
//! stages for one part, and `settle` is row by row, so the steps give the
//! local run's rows whatever the parts are.

use anyhow::Result;
use polars::prelude::*;

use crate::config::Settings;
use crate::ingest;
use crate::normalize;
use crate::pricing::{self, card::RateBook};
use crate::rows::{self, Rows};
use crate::schema::FILE_INDEX;

/// A row's place in its part's table, by which the driver keeps the
/// local run's order of rows within a pair.
pub const ORDER: &str = "_order";
/// Set by the driver on a raw row whose id has a valid copy earlier in
/// the input.
pub const DUPLICATE: &str = "_duplicate";
/// A message's rank among the rows of its free-tier key and billing month
/// ([`pricing::FREE_TIER_KEY`]), from 1, set by the driver.
pub const FREE_RANK: &str = "_free_rank";
/// A message's rank among the rows of its volume-tier key
/// ([`pricing::VOLUME_TIER_KEY`]), from 1, set by the driver.
pub const TIER_COUNT: &str = "_tier_count";

/// A driver's batch of one file's rows as raw rows (as a local run reads
/// them: mapping applied, every value as text), each with its id ([`ID`],
/// null for a row `normalize` rejects) and its normalised pair
/// ([`PAIR_BUSINESS`], [`PAIR_CONTACT`]). Raw rows of every file have the
/// same columns, so the driver can put files of other layouts together.
pub fn route(batch: DataFrame, settings: &Settings) -> Result<DataFrame> {
    let raw = ingest::driven_raw(batch, &settings.input.read)?;
    let keys = normalize::row_keys(raw.clone(), checks(settings))?;
    let keys = [
        keys.column(crate::schema::MESSAGE_ID)?
            .clone()
            .with_name(ID.into()),
        keys.column(crate::schema::BUSINESS_NUMBER)?
            .clone()
            .with_name(PAIR_BUSINESS.into()),
        keys.column(crate::schema::CONTACT)?
            .clone()
            .with_name(PAIR_CONTACT.into()),
    ];
    Ok(raw.hstack(&keys)?)
}

/// What [`route`] adds to a raw row.
pub const ID: &str = "_id";
pub const PAIR_BUSINESS: &str = "_pair_business";
pub const PAIR_CONTACT: &str = "_pair_contact";

/// What one part gives the driver.
pub struct PartTables {
    /// Accepted messages, priced with the part's own free tier, with
    /// everything `settle` needs, the counter keys and [`ORDER`].
    pub messages: DataFrame,
    /// The part's windows, with [`ORDER`].
    pub windows: DataFrame,
    pub rejected: DataFrame,
    /// Per `file_index`: rejected rows and duplicates.
    pub counts: DataFrame,
}

/// The local run's stages over one part (a driver's batch of [`route`]'s
/// rows, whole pairs of them, with the driver's [`DUPLICATE`] column).
pub fn price(batch: DataFrame, settings: &Settings, book: &RateBook) -> Result<PartTables> {
    refuse_unsupported(settings)?;
    let present: Vec<&str> = [ID, PAIR_BUSINESS, PAIR_CONTACT]
        .into_iter()
        .filter(|c| batch.schema().contains(c))
        .collect();
    let raw = ingest::raw_retyped(batch.drop_many(present))?;
    let raw = raw
        .lazy()
        .with_column(
            col(DUPLICATE)
                .fill_null(false)
                .alias(normalize::FORCED_DUPLICATE),
        )
        .drop(cols([DUPLICATE]))
        .collect()?;
    let normalized = normalize::normalize(raw, checks(settings))?;
    let counts = file_counts(&normalized)?;
    let (classified, part_windows) = super::part_stages(normalized.messages, settings, 0)?;
    let part_windows = part_windows.with_row_index(ORDER.into(), None)?;
    let priced = super::part_prices(classified, book, &settings.rules.pricing)?
        .lazy()
        .with_columns(pricing::counter_keys(book))
        .collect()?
        .with_row_index(ORDER.into(), None)?;
    Ok(PartTables {
        messages: priced,
        windows: part_windows,
        rejected: normalized.rejected,
        counts,
    })
}

/// `price`'s messages with the run's free tier and volume tiers from the
/// driver's ranks ([`FREE_RANK`], [`TIER_COUNT`]), checked for missing
/// rates, without the working columns: the rows a local run writes (and
/// [`ORDER`]).
pub fn settle(messages: DataFrame, settings: &Settings, book: &RateBook) -> Result<DataFrame> {
    let params = &settings.rules.pricing;
    let free_tier = params.service_free_tier.min(i64::MAX as u64) as i64;
    let in_tier = col(FREE_RANK).cast(DataType::Int64).lt_eq(lit(free_tier));
    let messages = pricing::with_run_free_tier(messages, in_tier)?;
    let messages = with_volume_tiers(messages, book)?;
    pricing::report_missing_rates(pricing::missing_rates(&messages)?, params)?;
    // ORDER stays: the driver puts the rows back in a local run's order.
    let helpers = [
        FREE_RANK,
        TIER_COUNT,
        pricing::FREE_TIER_KEY,
        pricing::VOLUME_TIER_KEY,
    ];
    Ok(super::settle::without_working_columns(
        messages.drop_many(helpers),
    ))
}

/// The rows the driver counted towards a volume tier, priced at their
/// count (`pricing::priced_at_counts`).
fn with_volume_tiers(messages: DataFrame, book: &RateBook) -> Result<DataFrame> {
    let numbered = messages.with_row_index(rows::ROW.into(), None)?;
    let counted = crate::frames::filtered(&numbered, col(TIER_COUNT).is_not_null())?;
    if counted.height() == 0 {
        return Ok(numbered.drop(rows::ROW)?);
    }
    let counts = crate::frames::u64_values(&counted, TIER_COUNT)?;
    let patch =
        pricing::priced_at_counts(&counted, &counts, book)?.drop(crate::schema::MESSAGE_ID)?;
    // The same patch a local run applies to its parts (`rows::patched`).
    Ok(rows::patched(numbered.lazy(), &patch).collect()?)
}

/// Per `file_index`: how many rows of the part were rejected and how many
/// were duplicates.
fn file_counts(normalized: &normalize::Normalized) -> Result<DataFrame> {
    let frame = |pairs: &[(u32, u64)], name: &str| -> Result<DataFrame> {
        Ok(df!(
            FILE_INDEX => pairs.iter().map(|p| p.0).collect::<Vec<_>>(),
            name => pairs.iter().map(|p| p.1).collect::<Vec<_>>(),
        )?)
    };
    let rejected = frame(&normalized.rejected_by_file, "rejected")?;
    let duplicates = frame(&normalized.duplicates_by_file, "duplicates")?;
    Ok(rejected
        .lazy()
        .join(
            duplicates.lazy(),
            [col(FILE_INDEX)],
            [col(FILE_INDEX)],
            JoinArgs::new(JoinType::Full).with_coalesce(JoinCoalesce::CoalesceColumns),
        )
        .select([
            col(FILE_INDEX),
            col("rejected").fill_null(lit(0u64)),
            col("duplicates").fill_null(lit(0u64)),
        ])
        .sort([FILE_INDEX], Default::default())
        .collect()?)
}

fn checks(settings: &Settings) -> normalize::Checks<'_> {
    normalize::Checks {
        input_tz: settings.input.read.input_tz.as_str(),
        latest_us: settings.input.latest_us,
    }
}

/// What a driven run does not do (yet): said before any row is read.
fn refuse_unsupported(settings: &Settings) -> Result<()> {
    let unsupported = [
        (settings.rules.compare_regime.is_some(), "--compare-regime"),
        (!settings.input.read.send_logs.is_empty(), "--send-log"),
        (settings.input.continued.is_some(), "--continue-from"),
    ];
    match unsupported.iter().find(|(given, _)| *given) {
        Some((_, flag)) => Err(crate::bad_input!(
            "{flag} is not supported by a driven (Spark) run; run window-ledger report on one machine for it"
        )),
        None => Ok(()),
    }
}

/// What a driver writes beside its tables (`run.json`): the accounting of
/// every input file, and what the report cannot learn from the rows.
#[derive(Debug, serde::Deserialize)]
pub struct DrivenRun {
    pub files: Vec<DrivenFile>,
    /// Conversations (§11) the messages opened.
    pub conversations: u64,
    /// What the driver warned about (files it skipped).
    #[serde(default)]
    pub warnings: Vec<String>,
}

#[derive(Debug, serde::Deserialize)]
pub struct DrivenFile {
    pub path: String,
    /// The log's format as the driver read it (`parquet` when not said).
    #[serde(default = "parquet")]
    pub format: String,
    pub rows_read: u64,
    pub rejected: u64,
    pub duplicates: u64,
}

fn parquet() -> String {
    String::from("parquet")
}

/// A driven run's tables (`messages`, `windows`, `rejected`: directories of
/// Parquet files read in name order, each beside `NAME.schema.arrow`, the
/// engine's types, which a driver's own types may lose) and `run.json`, as
/// the analysis a local run makes.
pub fn analysis_from_tables(dir: &std::path::Path, settings: &Settings) -> Result<super::Analysis> {
    let book = super::load_rates(settings)?;
    let run_file = dir.join("run.json");
    let text = std::fs::read_to_string(&run_file).map_err(|e| {
        crate::bad_input!(
            "{}: cannot read it ({e}); give --from-tables the directory a driven run (spark/) wrote",
            run_file.display()
        )
    })?;
    let run: DrivenRun = serde_json::from_str(&text).map_err(|e| {
        crate::bad_input!("{}: not a driven run's run.json ({e})", run_file.display())
    })?;
    let mut files: Vec<super::FileAccount> = run
        .files
        .iter()
        .map(|f| super::FileAccount {
            path: f.path.clone(),
            format: f.format.clone(),
            role: "messages",
            rows_read: f.rows_read,
            processed: f.rows_read - f.rejected - f.duplicates,
            rejected: f.rejected,
            duplicates: f.duplicates,
            merged: 0,
            webhook: None,
        })
        .collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let partition_rows = settings.input.partition_rows;
    let mut work = WorkFor {
        out_dir: &settings.output.out_dir,
        dir: None,
    };
    let messages = DrivenTable::open(dir, "messages")?;
    let windows = DrivenTable::open(dir, "windows")?;
    let analysis = super::Analysis {
        messages: messages.rows_table(partition_rows, &mut work, "messages")?,
        windows: windows.rows_table(partition_rows, &mut work, "windows")?,
        conversations: run.conversations,
        rejected: DrivenTable::open(dir, "rejected")?.frame()?,
        files,
        warnings: run.warnings,
        rate_sources: book.sources.clone(),
        volume_tiers: book.has_tiers(),
        comparison: None,
        meta_analytics: super::meta_analytics(settings)?,
    };
    super::finished(analysis, settings, &book)
}

/// The work directory of a report from tables, made when a table first
/// needs it (small tables are held in memory).
struct WorkFor<'a> {
    out_dir: &'a std::path::Path,
    dir: Option<std::sync::Arc<rows::WorkDir>>,
}

impl WorkFor<'_> {
    fn dir(&mut self) -> Result<&std::sync::Arc<rows::WorkDir>> {
        if self.dir.is_none() {
            self.dir = Some(rows::WorkDir::create(self.out_dir)?);
        }
        Ok(self.dir.as_ref().expect("made above"))
    }
}

/// Table `name` of a driven run's directory: its Parquet files in name
/// order, each read with the engine's types.
struct DrivenTable {
    schema: Schema,
    paths: Vec<std::path::PathBuf>,
}

impl DrivenTable {
    fn open(dir: &std::path::Path, name: &str) -> Result<Self> {
        let schema_file = dir.join(format!("{name}.schema.arrow"));
        let file = std::fs::File::open(&schema_file)
            .map_err(|e| crate::bad_input!("{}: cannot read it ({e})", schema_file.display()))?;
        let schema = IpcReader::new(file).finish()?.schema().as_ref().clone();
        let mut paths: Vec<std::path::PathBuf> = std::fs::read_dir(dir.join(name))
            .map_err(|e| crate::bad_input!("{}: cannot read it ({e})", dir.join(name).display()))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
            .collect();
        paths.sort();
        Ok(DrivenTable { schema, paths })
    }

    /// How many rows the files hold (from their footers).
    fn rows(&self) -> Result<usize> {
        let mut rows = 0;
        for path in &self.paths {
            rows += ParquetReader::new(std::fs::File::open(path)?).num_rows()?;
        }
        Ok(rows)
    }

    /// File `index`, with the engine's types.
    fn read(&self, index: usize) -> Result<DataFrame> {
        let frame = ParquetReader::new(std::fs::File::open(&self.paths[index])?).finish()?;
        let typed: Vec<Expr> = self
            .schema
            .iter()
            .map(|(name, dtype)| col(name.clone()).cast(dtype.clone()))
            .collect();
        Ok(frame.lazy().select(typed).collect()?)
    }

    /// The whole table in memory.
    fn frame(&self) -> Result<DataFrame> {
        let frames = (0..self.paths.len())
            .map(|i| self.read(i))
            .collect::<Result<Vec<_>>>()?;
        match frames.is_empty() {
            true => Ok(DataFrame::empty_with_schema(&self.schema)),
            false => crate::frames::stacked(frames),
        }
    }

    /// The table as a local run holds it: in memory when it has at most
    /// `partition_rows` rows (as a log of one part), else file by file in
    /// `work` (as a log cut into parts: the same rows, and Parquet row
    /// tables then differ from a one-part run's only in their row groups).
    fn rows_table(&self, partition_rows: u64, work: &mut WorkFor<'_>, name: &str) -> Result<Rows> {
        if partition_rows == 0 || self.rows()? as u64 <= partition_rows || self.paths.len() < 2 {
            return Ok(self.frame()?.into());
        }
        let mut writer = rows::RowsWriter::new(Some(work.dir()?), name);
        for i in 0..self.paths.len() {
            writer.push(self.read(i)?)?;
        }
        writer.finish(None)
    }
}
