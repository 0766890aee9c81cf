//! Pair-partitioned runs (issue 6): a log with more rows than
//! `--partition-rows` is cut into parts by ranges of (business number,
//! contact) pairs, and each part goes through normalize → windows →
//! classify → pricing on its own, so that a stage holds one part at a time
//! (a part is checked while the one before it is priced).
//!
//! This is exact because the rules of DOMAIN.md that look at more than one
//! row look within one pair (windows §3, classes §4, free entry points
//! §8.16), with two exceptions that are handled across the parts:
//! - duplicate message ids (§2, §8.4) may repeat across pairs: the rows
//!   whose id (hashed) occurs in more than one part are checked together
//!   first, and each part is told which of its rows repeat a valid copy
//!   that comes earlier in the input ([`normalize::FORCED_DUPLICATE`]);
//! - the pmp-2026-10 free tier (§5.2) counts a business number's service
//!   messages of a month over all its pairs: each part is priced with its
//!   own tier and keeps the rows that could be free; the run's free ids are
//!   picked from all of them, and each part is repriced with those.
//!
//! Parts are contiguous ranges of pairs in the order `windows` sorts them
//! (normalised business number, then contact, as text), so the parts'
//! tables, concatenated in order, are the tables of a single pass: window
//! ids continue from one part to the next, and rejected rows are put back
//! in input order.
//!
//! The input is read twice before the parts are processed: the two number
//! columns, to count the rows of every pair and cut the ranges; then every
//! column, each slice's rows appended to its part's Arrow IPC file in a
//! temporary directory beside the run directory (removed at the end). Only
//! Parquet message logs are read in slices; other inputs, and runs with
//! send logs, take the single pass.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use polars::prelude::*;

use crate::config::Settings;
use crate::frames;
use crate::ingest::{self, InputFile};
use crate::normalize;
use crate::pricing::{self, card::RateBook};
use crate::report::tables::PeriodSends;
use crate::rows::{PartsWriter, Rows, WorkDir, WorkFileWriter};
use crate::schema::*;
use crate::{classify, windows, Analysis};

/// `--partition-rows` when not given. Two parts are held at a time (one
/// checked while the one before it is priced, [`each_checked_part`]):
/// parts of this many rows keep a run's peak memory near 2.4 GiB (9.7M
/// rows; 3.4 GiB with 2M-row parts, which were no faster).
pub const DEFAULT_PARTITION_ROWS: u64 = 1_000_000;

/// Rows read from a file at a time while the input is cut into parts.
const SLICE_ROWS: usize = 1_000_000;

/// The part of a row while it is routed.
const PART: &str = "_part";
/// A hash of the row's message id, kept in the part files so that the rows
/// of ids that occur in several parts can be found again.
const ID_HASH: &str = "_id_hash";

/// The inputs of a run that is to be partitioned.
pub struct Plan {
    files: Vec<InputFile>,
    /// Rows per file.
    rows: Vec<u64>,
    /// Row ranges (offset, length) of each file, read one at a time.
    slices: Vec<Vec<(usize, usize)>>,
    warnings: Vec<String>,
}

/// The plan of a partitioned run, or `None` when the single pass applies:
/// partitioning is off (`--partition-rows 0`), the input is small enough,
/// or it is not all Parquet message logs.
pub fn plan(settings: &Settings) -> Result<Option<Plan>> {
    if settings.partition_rows == 0 {
        return Ok(None);
    }
    let Some((files, warnings)) = ingest::sliceable_inputs(&settings.inputs, &settings.read)?
    else {
        return Ok(None);
    };
    let mut rows = Vec::with_capacity(files.len());
    let mut slices = Vec::with_capacity(files.len());
    for file in &files {
        let groups = ingest::parquet_row_groups(file)?;
        rows.push(groups.iter().sum::<usize>() as u64);
        slices.push(slices_of(&groups));
    }
    if rows.iter().sum::<u64>() <= settings.partition_rows {
        return Ok(None);
    }
    Ok(Some(Plan {
        files,
        rows,
        slices,
        warnings,
    }))
}

/// Slices that follow the row groups (a group is decoded once), joining
/// small groups and cutting large ones to about [`SLICE_ROWS`] rows.
fn slices_of(groups: &[usize]) -> Vec<(usize, usize)> {
    let mut slices = Vec::new();
    let (mut start, mut len) = (0usize, 0usize);
    for &group in groups {
        if len > 0 && len + group > SLICE_ROWS {
            slices.push((start, len));
            (start, len) = (start + len, 0);
        }
        len += group;
        while len > 2 * SLICE_ROWS {
            slices.push((start, SLICE_ROWS));
            (start, len) = (start + SLICE_ROWS, len - SLICE_ROWS);
        }
    }
    if len > 0 {
        slices.push((start, len));
    }
    slices
}

/// Runs the stages of [`crate::analyse_with`] part by part.
pub fn analyse(
    plan: Plan,
    book: &RateBook,
    settings: &Settings,
    stage: &mut dyn FnMut(&str),
) -> Result<Analysis> {
    let total: u64 = plan.rows.iter().sum();
    stage(&format!("counting the pairs of {total} rows"));
    let bounds = pair_bounds(&plan, settings)?;
    let parts = bounds.len() + 1;
    let dir = WorkDir::create(&settings.out_dir)?;
    stage(&format!("cutting {total} rows into {parts} parts"));
    let (inputs, id_parts) = split(&plan, &bounds, &dir, settings)?;
    let forced = forced_duplicates(&inputs, id_parts, settings)?;
    let checks = normalize::Checks {
        input_tz: settings.input_tz.name(),
        latest_us: settings.latest_us,
    };
    let mut priced = Priced::new(&dir, settings.compare_regime.is_some());
    let mut windows = PartsWriter::new(&dir, "windows");
    let mut windows_before = 0i64;
    let (mut duplicates, mut rejected_counts, mut rejected) = (Vec::new(), Vec::new(), Vec::new());
    stage(&format!("part 1 of {parts}: checking"));
    each_checked_part(&inputs, &forced, checks, |index, normalized| {
        duplicates.extend(normalized.duplicates_by_file);
        rejected_counts.extend(normalized.rejected_by_file);
        rejected.push(frames::detached(normalized.rejected)?);
        stage(&format!(
            "part {} of {parts}: windows and pricing of {} messages{}",
            index + 1,
            normalized.messages.height(),
            if index + 1 < parts {
                format!(" (checking part {})", index + 2)
            } else {
                String::new()
            }
        ));
        let part_windows = analyse_part(
            normalized.messages,
            windows_before,
            book,
            settings,
            &mut priced,
        )?;
        windows_before += part_windows.height() as i64;
        windows.push(part_windows)
    })?;
    stage("pricing the free tier");
    let (messages, comparison, period_sends) = priced.with_run_tier(settings)?;
    let files = plan
        .files
        .iter()
        .zip(&plan.rows)
        .map(|(file, &rows)| ingest::message_file_read(file, rows))
        .collect::<Vec<_>>();
    let rejected =
        stacked(rejected)?.sort(["file_index", "row"], SortMultipleOptions::default())?;
    crate::finish_analysis(
        crate::Stages {
            period_sends: Some(period_sends),
            messages,
            comparison,
            windows: windows.finish(),
            rejected,
            files: crate::account_files(
                &files,
                &sum_by_file(rejected_counts),
                &sum_by_file(duplicates),
            ),
            warnings: plan.warnings,
        },
        book,
        settings,
    )
}

/// Checks the parts in order (`normalize`) and hands each to `analyse`, in
/// order, while the next part is checked on another thread: each stage
/// alone keeps only about 1.4 of 2 cores busy (perf), and a part's checks
/// do not depend on the parts before it. At most two parts are held at a
/// time, the one analysed and the one checked. The first error, in part
/// order, is the run's, as in a loop that does one part after the other.
fn each_checked_part(
    paths: &[PathBuf],
    forced: &Option<Series>,
    checks: normalize::Checks,
    mut analyse: impl FnMut(usize, normalize::Normalized) -> Result<()>,
) -> Result<()> {
    std::thread::scope(|scope| {
        // A rendezvous channel: the checker waits with its part until the
        // previous one is done, so that no third part is held.
        let (sender, receiver) = std::sync::mpsc::sync_channel(0);
        let checker = scope.spawn(move || {
            for path in paths {
                let checked = read_part(path, forced).and_then(|raw| {
                    std::fs::remove_file(path).ok();
                    normalize::normalize(raw, checks)
                });
                let failed = checked.is_err();
                if sender.send(checked).is_err() || failed {
                    break;
                }
            }
        });
        let analysed = receiver
            .iter()
            .enumerate()
            .try_for_each(|(index, checked)| analyse(index, checked?));
        // Dropping the receiver stops a checker that is still at work.
        drop(receiver);
        checker
            .join()
            .map_err(|_| anyhow::anyhow!("the thread checking the parts of the log panicked"))?;
        analysed
    })
}

/// windows → classify → pricing of one part's messages; returns the part's
/// windows.
fn analyse_part(
    messages: DataFrame,
    windows_before: i64,
    book: &RateBook,
    settings: &Settings,
    priced: &mut Priced,
) -> Result<DataFrame> {
    let reconstructed = windows::reconstruct(messages.lazy(), settings.rule).with_columns([
        (col(WINDOW_ID) + lit(windows_before)).alias(WINDOW_ID),
        (col(LAST_WINDOW_ID) + lit(windows_before)).alias(LAST_WINDOW_ID),
    ]);
    let classified = classify::classify(reconstructed).collect()?;
    let windows = windows::windows_table(classified.clone().lazy()).collect()?;
    // Missing rates are looked for once all parts are priced, so that the
    // error names the same first gap as a single pass would.
    let price = |params: &pricing::PricingParams| -> Result<DataFrame> {
        let params = pricing::PricingParams {
            allow_unpriced: true,
            ..params.clone()
        };
        pricing::price(classified.clone(), book, &params)
    };
    if let (Some(regime), Some(compared)) = (settings.compare_regime, priced.compared.as_mut()) {
        let params = pricing::PricingParams {
            regime: Some(regime),
            ..settings.pricing.clone()
        };
        compared.push(price(&params)?)?;
    }
    priced.main.push(price(&settings.pricing)?)?;
    Ok(windows)
}

/// The priced parts of a run (and of `--compare-regime`), before the free
/// tier of the whole run is known.
struct Priced {
    main: PricedParts,
    compared: Option<PricedParts>,
}

struct PricedParts {
    /// The parts, without pricing's working columns. Their sends are made
    /// from them once the run's free tier is known: written here, the
    /// sends would be written twice, since the tier changes some of them.
    parts: PartsWriter,
    /// Each part's rows in its own free tier, with every column: the only
    /// rows whose price can change once the run's tier is known (the run's
    /// first N of a business number and month are among each part's).
    free_rows: Vec<DataFrame>,
    /// Each part's missing rates (`pricing::missing_rates`).
    missing: Vec<DataFrame>,
}

impl PricedParts {
    fn new(dir: &Arc<WorkDir>) -> Self {
        PricedParts {
            parts: PartsWriter::new(dir, "messages"),
            free_rows: Vec::new(),
            missing: Vec::new(),
        }
    }

    fn push(&mut self, priced: DataFrame) -> Result<()> {
        // Kept across parts: detached from this part's buffers.
        self.free_rows
            .push(frames::detached(pricing::free_tier_rows(&priced)?)?);
        self.missing
            .push(frames::detached(pricing::missing_rates(&priced)?)?);
        self.parts.push(crate::without_working_columns(priced)?)
    }

    /// The parts with the run's free tier (a patch of the rows that lose
    /// their part's, applied as they are read), checked for missing rates,
    /// and their sends in the run's period (`report::tables::period_sends`),
    /// written with the patch applied: the report reads them many times.
    fn with_run_tier(
        mut self,
        free_tier: u64,
        params: &pricing::PricingParams,
        settings: &Settings,
    ) -> Result<(Rows, Rows)> {
        let locally_free = stacked(std::mem::take(&mut self.free_rows))?;
        let free = pricing::free_tier_ids(vec![locally_free.clone()], free_tier)?;
        let ids = free.column(MESSAGE_ID)?.as_materialized_series().clone();
        let lost = locally_free
            .lazy()
            .filter(col(MESSAGE_ID).is_in(lit(ids).implode(false), false).not())
            .collect()?;
        let repriced = pricing::with_free_ids(lost, &free)?;
        self.missing.push(pricing::missing_rates(&repriced)?);
        pricing::report_missing_rates(stacked(self.missing)?, params)?;
        let patch = (repriced.height() > 0)
            .then(|| repriced.select(pricing::TIER_PRICED_COLUMNS))
            .transpose()?;
        let messages = self.parts.finish_with_patch(patch);
        let sends = messages.map_parts("sends", |part| {
            crate::report::tables::period_sends(&part, settings)
        })?;
        Ok((messages, sends))
    }
}

impl Priced {
    fn new(dir: &Arc<WorkDir>, compare: bool) -> Self {
        Priced {
            main: PricedParts::new(dir),
            compared: compare.then(|| PricedParts::new(dir)),
        }
    }

    /// Messages, the comparison's messages, and the period's sends of both.
    fn with_run_tier(self, settings: &Settings) -> Result<(Rows, Option<Rows>, PeriodSends)> {
        let free_tier = settings.pricing.service_free_tier;
        // As in a single pass, the comparison is priced (and checked) first.
        let comparison = match (self.compared, settings.compare_regime) {
            (Some(compared), Some(regime)) => {
                let params = pricing::PricingParams {
                    regime: Some(regime),
                    ..settings.pricing.clone()
                };
                Some(compared.with_run_tier(free_tier, &params, settings)?)
            }
            _ => None,
        };
        let (messages, sends) = self
            .main
            .with_run_tier(free_tier, &settings.pricing, settings)?;
        let (comparison, compared_sends) = comparison.unzip();
        let period_sends = PeriodSends::new(settings, sends, compared_sends);
        Ok((messages, comparison, period_sends))
    }
}

fn stacked(frames: Vec<DataFrame>) -> Result<DataFrame> {
    let mut frames = frames.into_iter();
    let mut all = frames.next().context("a run has at least one part")?;
    for frame in frames {
        all.vstack_mut_owned(frame)?;
    }
    all.rechunk_mut_par();
    Ok(all)
}

fn sum_by_file(counts: Vec<(u32, u64)>) -> Vec<(u32, u64)> {
    let mut sums: std::collections::BTreeMap<u32, u64> = Default::default();
    for (file, n) in counts {
        *sums.entry(file).or_default() += n;
    }
    sums.into_iter().collect()
}

/// A pair in the order `windows` sorts pairs (a missing contact, which
/// only rejected rows have, first).
type Pair = (String, Option<String>);

/// The first pair of every part after the first: pairs are taken in order
/// and a part is closed once it holds `--partition-rows` rows (a pair is
/// never split, so a part may hold one pair more).
fn pair_bounds(plan: &Plan, settings: &Settings) -> Result<Vec<Pair>> {
    let mut counts = Vec::new();
    for (file, slices) in plan.files.iter().zip(&plan.slices) {
        for &slice in slices {
            // Raw pairs are counted first: normalising is then done once
            // per distinct raw pair, not per row.
            let numbers = ingest::read_numbers(file, &settings.read, slice)?
                .lazy()
                .group_by([col(BUSINESS_NUMBER), col(CONTACT)])
                .agg([len().cast(DataType::UInt64).alias("rows")])
                .collect()?;
            let mut pairs = normalize::pair_numbers(&numbers)?;
            pairs.with_column(numbers.column("rows")?.clone())?;
            counts.push(frames::detached(pairs)?.lazy());
        }
    }
    let limit = settings.partition_rows;
    let pairs = concat(counts, UnionArgs::default())?
        .group_by([col(BUSINESS_NUMBER), col(CONTACT)])
        .agg([col("rows").sum()])
        .sort([BUSINESS_NUMBER, CONTACT], SortMultipleOptions::default())
        .with_column(
            (col("rows").cum_sum(false) - col("rows"))
                .floor_div(lit(limit))
                .alias(PART),
        )
        .filter(col(PART).neq(col(PART).shift(lit(1))))
        .collect()?;
    let business = pairs.column(BUSINESS_NUMBER)?.str()?.clone();
    let contact = pairs.column(CONTACT)?.str()?.clone();
    Ok(business
        .iter()
        .zip(contact.iter())
        .map(|(b, c)| (b.unwrap_or_default().to_string(), c.map(String::from)))
        .collect())
}

/// The part of each row of `raw`: how many bounds are at or before its
/// pair. The pair is worked out once per distinct raw (business number,
/// contact) and joined back.
fn parts_of(raw: &DataFrame, bounds: &[Pair]) -> Result<Column> {
    let numbers = raw.select([BUSINESS_NUMBER, CONTACT])?;
    let distinct = numbers.unique_stable(None, UniqueKeepStrategy::First, None)?;
    let pairs = normalize::pair_numbers(&distinct)?;
    let business = pairs.column(BUSINESS_NUMBER)?.str()?.clone();
    let contact = pairs.column(CONTACT)?.str()?.clone();
    let part: Vec<u32> = business
        .iter()
        .zip(contact.iter())
        .map(|(b, c)| {
            let pair = (b.unwrap_or_default(), c);
            bounds.partition_point(|(bb, bc)| (bb.as_str(), bc.as_deref()) <= pair) as u32
        })
        .collect();
    let mut table = distinct;
    table.with_column(Column::new(PART.into(), part))?;
    let aligned = numbers
        .lazy()
        .join(
            table.lazy(),
            [col(BUSINESS_NUMBER), col(CONTACT)],
            [col(BUSINESS_NUMBER), col(CONTACT)],
            JoinArgs {
                maintain_order: MaintainOrderJoin::Left,
                nulls_equal: true,
                ..JoinArgs::new(JoinType::Left)
            },
        )
        .collect()?;
    Ok(aligned.column(PART)?.clone())
}

/// Reads every slice and appends its rows to their parts' files; returns
/// the files and, for every row with an id, (id hash, part).
fn split(
    plan: &Plan,
    bounds: &[Pair],
    dir: &WorkDir,
    settings: &Settings,
) -> Result<(Vec<PathBuf>, DataFrame)> {
    let parts = bounds.len() + 1;
    let paths: Vec<PathBuf> = (0..parts)
        .map(|p| dir.path.join(format!("part-{p:05}.arrow")))
        .collect();
    let mut writers: Vec<Option<WorkFileWriter>> = (0..parts).map(|_| None).collect();
    let mut ids = Vec::new();
    for (index, (file, slices)) in plan.files.iter().zip(&plan.slices).enumerate() {
        for &slice in slices {
            let mut raw = ingest::read_slice(file, index as u32, &settings.read, slice)?;
            let part = parts_of(&raw, bounds)?;
            raw.with_column(part)?;
            let mut raw = raw
                .lazy()
                .with_column(col(MESSAGE_ID).hash(7, 11, 13, 17).alias(ID_HASH))
                .collect()?;
            ids.push(
                raw.clone()
                    .lazy()
                    .filter(col(MESSAGE_ID).is_not_null())
                    .select([col(ID_HASH), col(PART)])
                    .collect()?
                    .lazy(),
            );
            raw = raw.sort(
                [PART],
                SortMultipleOptions::default().with_maintain_order(true),
            )?;
            append_by_part(raw, &paths, &mut writers)?;
        }
    }
    for writer in writers.into_iter().flatten() {
        writer.finish()?;
    }
    Ok((paths, concat(ids, UnionArgs::default())?.collect()?))
}

/// Writes the rows of `raw` (sorted by part) to their parts' files, each
/// part's batch on a thread of its own: the IPC writer compresses a batch
/// on one thread, and compression and the copies into the page cache were
/// about half of cutting 9.7M rows into parts (perf).
fn append_by_part(
    raw: DataFrame,
    paths: &[PathBuf],
    writers: &mut [Option<WorkFileWriter>],
) -> Result<()> {
    let mut batches: Vec<Option<DataFrame>> = (0..writers.len()).map(|_| None).collect();
    for (part, batch) in batches_by_part(raw)? {
        if writers[part].is_none() {
            writers[part] = Some(WorkFileWriter::create(&paths[part], batch.schema())?);
        }
        batches[part] = Some(batch);
    }
    std::thread::scope(|scope| {
        let writing: Vec<_> = writers
            .iter_mut()
            .zip(batches)
            .filter_map(|(writer, batch)| Some((writer.as_mut()?, batch?)))
            .map(|(writer, batch)| scope.spawn(move || writer.write(batch)))
            .collect();
        writing.into_iter().try_for_each(|thread| {
            thread
                .join()
                .map_err(|_| anyhow::anyhow!("a thread writing a part of the log panicked"))?
        })
    })
}

/// The rows of `raw` (sorted by part) cut into one batch per part.
fn batches_by_part(raw: DataFrame) -> Result<Vec<(usize, DataFrame)>> {
    let runs = raw
        .clone()
        .lazy()
        .group_by([col(PART)])
        .agg([len().alias("rows")])
        .sort([PART], SortMultipleOptions::default())
        .collect()?;
    let rows = raw.drop(PART)?;
    let mut offset = 0i64;
    let mut batches = Vec::new();
    for (part, n) in runs
        .column(PART)?
        .u32()?
        .iter()
        .zip(runs.column("rows")?.u32()?.iter())
    {
        let (part, n) = (
            part.unwrap_or_default() as usize,
            n.unwrap_or_default() as usize,
        );
        batches.push((part, rows.slice(offset, n)));
        offset += n as i64;
    }
    Ok(batches)
}

/// Key of a row of the input: its file and its row in the file.
fn row_key(file_index: Expr, source_row: Expr) -> Expr {
    (file_index.cast(DataType::UInt64) * lit(1u64 << 40)) + source_row.cast(DataType::UInt64)
}

/// The rows (as [`row_key`]s) that repeat an earlier valid copy of their id
/// held by another part. Found by checking together all rows whose id
/// hash occurs in more than one part, in input order.
fn forced_duplicates(
    paths: &[PathBuf],
    id_parts: DataFrame,
    settings: &Settings,
) -> Result<Option<Series>> {
    let shared = id_parts
        .lazy()
        .sort([ID_HASH, PART], SortMultipleOptions::default())
        .filter(
            col(ID_HASH)
                .eq(col(ID_HASH).shift(lit(1)))
                .and(col(PART).neq(col(PART).shift(lit(1)))),
        )
        .select([col(ID_HASH)])
        .unique(None, UniqueKeepStrategy::Any)
        .collect()?;
    if shared.height() == 0 {
        return Ok(None);
    }
    let hashes = shared.column(ID_HASH)?.as_materialized_series().clone();
    let copies = crate::rows::scan_work_files(paths)?
        .filter(col(ID_HASH).is_in(lit(hashes).implode(false), false))
        .drop(cols([ID_HASH]))
        .sort([FILE_INDEX, SOURCE_ROW], SortMultipleOptions::default())
        .collect()?;
    let checks = normalize::Checks {
        input_tz: settings.input_tz.name(),
        latest_us: settings.latest_us,
    };
    let duplicates = normalize::duplicate_rows(copies, checks)?
        .lazy()
        .select([row_key(col(FILE_INDEX), col(SOURCE_ROW)).alias("key")])
        .collect()?;
    Ok(Some(
        duplicates.column("key")?.as_materialized_series().clone(),
    ))
}

/// A part's raw rows, as `ingest` gives them, with the forced duplicates
/// marked.
fn read_part(path: &Path, forced: &Option<Series>) -> Result<DataFrame> {
    let raw = crate::rows::read_work_file(path)?.drop(ID_HASH)?;
    let Some(forced) = forced else {
        return Ok(raw);
    };
    Ok(raw
        .lazy()
        .with_column(
            row_key(col(FILE_INDEX), col(SOURCE_ROW))
                .is_in(lit(forced.clone()).implode(false), false)
                .alias(normalize::FORCED_DUPLICATE),
        )
        .collect()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_follow_row_groups() {
        let m = SLICE_ROWS;
        assert_eq!(slices_of(&[10, 20]), vec![(0, 30)]);
        assert_eq!(slices_of(&[m, m]), vec![(0, m), (m, m)]);
        assert_eq!(slices_of(&[m / 2, m / 2, 1]), vec![(0, m), (m, 1)]);
        // A large group is cut; every row is in exactly one slice.
        let cut = slices_of(&[5 * m + 3]);
        assert_eq!(cut.iter().map(|s| s.1).sum::<usize>(), 5 * m + 3);
        assert!(cut.windows(2).all(|w| w[0].0 + w[0].1 == w[1].0));
        assert!(cut.iter().all(|s| s.1 <= 2 * m));
        assert_eq!(slices_of(&[]), vec![]);
    }

    #[test]
    fn a_pair_is_in_the_part_its_range_starts() {
        let bounds: Vec<Pair> = vec![
            ("1".into(), Some("5".into())),
            ("2".into(), Some("1".into())),
        ];
        let pairs = DataFrame::new_infer_height(vec![
            Column::new(BUSINESS_NUMBER.into(), ["1", "1", "1", "2", "10", "3", "1"]),
            Column::new(
                CONTACT.into(),
                [
                    Some("4"),
                    Some("5"),
                    Some("6"),
                    Some("0"),
                    Some("9"),
                    None,
                    None,
                ],
            ),
        ])
        .unwrap();
        let parts = parts_of(&pairs, &bounds).unwrap();
        let parts: Vec<Option<u32>> = parts.u32().unwrap().iter().collect();
        // "10" sorts before "2" as text, as `windows` sorts it.
        assert_eq!(parts, [0, 1, 1, 1, 1, 2, 0].map(Some).to_vec());
    }
}
