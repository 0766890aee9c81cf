//! Where a run's parts come from (issue 6): the whole input as one part,
//! or, for a log with more rows than `--partition-rows`, the log cut into
//! parts by ranges of (business number, contact) pairs, so that the stages
//! hold one part at a time (a part is checked while the one before it is
//! priced).
//!
//! Cutting is exact because the rules that look at more than one row look
//! within one pair (windows §3, classes §4, free entry points §8.16), with
//! two exceptions handled across the parts:
//! - duplicate message ids (§2, §8.4) may repeat across pairs: the rows
//!   whose id (hashed) occurs in more than one part are checked together
//!   first, and each part is told which of its rows repeat a valid copy
//!   that comes earlier in the input ([`normalize::FORCED_DUPLICATE`]);
//! - the free tier, which `pipeline::settle` decides over all parts.
//!
//! Parts are contiguous ranges of pairs in the order `windows` sorts them
//! (normalised business number, then contact, as text), so the parts'
//! tables, concatenated in order, are the tables of a single part: window
//! ids continue from one part to the next, and rejected rows are put back
//! in input order.
//!
//! A cut input is read twice before the parts are processed: the two number
//! columns, to count the rows of every pair and cut the ranges; then every
//! column, each slice's rows appended to its part. A log small enough to
//! hold (`--hold-bytes`, uncompressed Parquet bytes) keeps its parts in
//! memory; a larger one writes each part to an Arrow IPC file in a
//! temporary directory beside the run directory (removed at the end). Only
//! Parquet message logs are cut; other inputs, and runs with send logs, are
//! one part.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;
use polars::prelude::*;

use super::filed::{Coder, Dictionaries};
use super::held::Compact;
use crate::config::Settings;
use crate::frames;
use crate::ingest::{self, FileRead, InputFile};
use crate::normalize;
use crate::rows::{WorkDir, WorkFileWriter};
use crate::schema::*;

/// Rows read from a file at a time while the input is cut into parts.
const SLICE_ROWS: usize = 1_000_000;

/// The part of a row while it is routed.
const PART: &str = "_part";
/// A hash of the row's message id, kept in the part files so that the rows
/// of ids that occur in several parts can be found again.
const ID_HASH: &str = "_id_hash";

/// The parts of a run's input.
pub enum Source {
    /// Every input read at once: one part.
    Whole(ingest::Ingested),
    /// A large Parquet log cut into parts on disk.
    Cut(Cut),
}

/// A log cut into parts: their raw rows, in order.
pub struct Cut {
    parts: RawParts,
    forced: Option<Series>,
    files: Vec<FileRead>,
    warnings: Vec<String>,
    dir: Arc<WorkDir>,
}

/// What reading the source told about the input files.
pub struct SourceRead {
    pub files: Vec<FileRead>,
    pub warnings: Vec<String>,
}

impl Source {
    /// Reads the inputs whole, or cuts them into parts when they are a
    /// Parquet log larger than `--partition-rows`.
    pub fn open(
        settings: &Settings,
        checks: normalize::Checks,
        stage: &mut dyn FnMut(&str),
    ) -> Result<Source> {
        // The contacts' countries need the phone-number metadata, which
        // takes tens of milliseconds to load: loaded while the input is read.
        std::thread::spawn(crate::country::warm_up);
        if let Some(plan) = plan(settings)? {
            return Ok(Source::Cut(cut(plan, settings, checks, stage)?));
        }
        stage("reading inputs");
        let ingested = ingest::read_inputs(&settings.input.files, &settings.input.read)?;
        if ingested.frame.height() == 0 {
            return Err(no_rows_error(&ingested));
        }
        Ok(Source::Whole(ingested))
    }

    pub fn parts(&self) -> usize {
        match self {
            Source::Whole(_) => 1,
            Source::Cut(cut) => cut.parts.len(),
        }
    }

    /// Where the parts' tables are kept: `None` keeps them in memory.
    pub fn work_dir(&self) -> Option<Arc<WorkDir>> {
        match self {
            Source::Whole(_) => None,
            Source::Cut(cut) => Some(cut.dir.clone()),
        }
    }

    /// Checks the parts in order (`normalize`) and hands each to `each`.
    pub fn each_checked_part(
        self,
        checks: normalize::Checks,
        each: impl FnMut(usize, normalize::Normalized) -> Result<()>,
    ) -> Result<SourceRead> {
        match self {
            Source::Whole(ingested) => {
                let mut each = each;
                let normalized = normalize::normalize(ingested.frame, checks)?;
                each(0, normalized)?;
                Ok(SourceRead {
                    files: ingested.files,
                    warnings: ingested.warnings,
                })
            }
            Source::Cut(cut) => {
                each_cut_part(cut.parts, &cut.forced, checks, each)?;
                Ok(SourceRead {
                    files: cut.files,
                    warnings: cut.warnings,
                })
            }
        }
    }
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
    crate::bad_input!(
        "no message rows in {}: check that the export finished and the right file was given",
        files.join(", ")
    )
}

/// The inputs of a run that is to be cut into parts.
struct Plan {
    files: Vec<InputFile>,
    /// Rows per file.
    rows: Vec<u64>,
    /// Row ranges (offset, length) of each file, read one at a time.
    slices: Vec<Vec<(usize, usize)>>,
    /// Whether the parts are held in memory rather than written to files.
    held: bool,
    warnings: Vec<String>,
}

/// The plan of a cut run, or `None` when the input is one part: cutting is
/// off (`--partition-rows 0`), the input is small enough, or it is not all
/// Parquet message logs.
fn plan(settings: &Settings) -> Result<Option<Plan>> {
    if settings.input.partition_rows == 0 {
        return Ok(None);
    }
    let Some((files, warnings)) =
        ingest::sliceable_inputs(&settings.input.files, &settings.input.read)?
    else {
        return Ok(None);
    };
    let mut rows = Vec::with_capacity(files.len());
    let mut slices = Vec::with_capacity(files.len());
    let mut bytes = 0u64;
    for file in &files {
        let groups = ingest::parquet_row_groups(file)?;
        let group_rows: Vec<usize> = groups.iter().map(|g| g.0).collect();
        rows.push(group_rows.iter().sum::<usize>() as u64);
        bytes += groups.iter().map(|g| g.1 as u64).sum::<u64>();
        slices.push(slices_of(&group_rows));
    }
    if rows.iter().sum::<u64>() <= settings.input.partition_rows {
        return Ok(None);
    }
    Ok(Some(Plan {
        files,
        rows,
        slices,
        held: bytes <= settings.input.hold_bytes,
        warnings,
    }))
}

/// Cuts the input of `plan` into part files in a work directory.
fn cut(
    plan: Plan,
    settings: &Settings,
    checks: normalize::Checks,
    stage: &mut dyn FnMut(&str),
) -> Result<Cut> {
    let total: u64 = plan.rows.iter().sum();
    stage(&format!("counting the pairs of {total} rows"));
    let routing = routing(&plan, settings)?;
    let dir = WorkDir::create(&settings.output.out_dir)?;
    stage(&format!(
        "cutting {total} rows into {} parts ({})",
        routing.parts,
        if plan.held {
            "held in memory"
        } else {
            "in files"
        }
    ));
    let (parts, id_keys) = split(&plan, &routing, &dir, settings)?;
    let forced = forced_duplicates(&parts, id_keys, checks)?;
    let files = plan
        .files
        .iter()
        .zip(&plan.rows)
        .map(|(file, &rows)| ingest::message_file_read(file, rows, &settings.input.read))
        .collect();
    Ok(Cut {
        parts,
        forced,
        files,
        warnings: plan.warnings,
        dir,
    })
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

/// Checks the cut parts in order (`normalize`) and hands each to `analyse`, in
/// order, while the next part is checked on another thread: each stage
/// alone keeps only about 1.4 of 2 cores busy (perf), and a part's checks
/// do not depend on the parts before it. At most two parts are held at a
/// time, the one analysed and the one checked (besides the raw rows of the
/// parts still waiting, when they are held in memory). The first error, in
/// part order, is the run's, as in a loop that does one part after the
/// other.
fn each_cut_part(
    parts: RawParts,
    forced: &Option<Series>,
    checks: normalize::Checks,
    mut analyse: impl FnMut(usize, normalize::Normalized) -> Result<()>,
) -> Result<()> {
    std::thread::scope(|scope| {
        // A rendezvous channel: the checker waits with its part until the
        // previous one is done, so that no third part is held.
        let (sender, receiver) = std::sync::mpsc::sync_channel(0);
        let checker = scope.spawn(move || {
            for raw in parts.taken() {
                let checked = raw
                    .and_then(|raw| marked_forced(raw, forced))
                    .and_then(|raw| normalize::normalize(raw, checks));
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

/// The raw rows of the parts of a cut log, as [`ingest`] reads them with
/// [`ID_HASH`] added, in part order.
enum RawParts {
    /// Each part's batches, in input order.
    Held(Vec<Vec<Compact>>),
    /// Each part's Arrow IPC file in the work directory, its repetitive
    /// text as codes into the dictionaries.
    Files(Vec<PathBuf>, Dictionaries),
}

impl RawParts {
    fn len(&self) -> usize {
        match self {
            RawParts::Held(parts) => parts.len(),
            RawParts::Files(paths, _) => paths.len(),
        }
    }

    /// Every part's rows, each given up (its file removed) as it is taken.
    fn taken(self) -> Box<dyn Iterator<Item = Result<DataFrame>> + Send> {
        match self {
            RawParts::Held(parts) => Box::new(parts.into_iter().map(|batches| {
                let frames = batches.into_iter().map(Compact::expanded);
                frames::stacked(frames.collect::<Result<_>>()?)
            })),
            RawParts::Files(paths, dictionaries) => Box::new(paths.into_iter().map(move |path| {
                let raw = crate::rows::read_work_file(&path);
                std::fs::remove_file(&path).ok();
                dictionaries.decoded(raw?)
            })),
        }
    }

    /// The rows of all parts where `predicate` (on plain columns such as
    /// [`ID_HASH`]) holds.
    fn rows_where(&self, predicate: Expr) -> Result<DataFrame> {
        match self {
            RawParts::Held(parts) => {
                let found = parts
                    .iter()
                    .flatten()
                    .map(|batch| batch.filtered(predicate.clone())?.expanded())
                    .collect::<Result<Vec<_>>>()?;
                frames::stacked(found)
            }
            RawParts::Files(paths, dictionaries) => dictionaries.decoded(
                crate::rows::scan_work_files(paths)?
                    .filter(predicate)
                    .collect()?,
            ),
        }
    }
}

/// A pair in the order `windows` sorts pairs (a missing contact, which
/// only rejected rows have, first).
type Pair = (String, Option<String>);

/// Which part every distinct raw (business number, contact) of the input
/// goes to.
struct Routing {
    parts: usize,
    lookup: PairLookup,
}

/// How a raw pair is found: by a 64-bit hash of the pair, when no two
/// pairs of the input share one (checked as the routing is built, over
/// every pair the count saw, so a row's hash names its pair exactly); by
/// the text of the pair otherwise. Looking up 10M rows by text took about
/// 2 s of the cores (perf: hashing and comparing strings scattered over
/// the heap); by hash, the table is a compact array of integers. (A row
/// whose pair the count did not see, which cannot happen as both passes
/// read the same rows, is an error by text; by hash only if its hash is
/// not one of the counted pairs'.)
enum PairLookup {
    Hashed(PlHashMap<u64, u32>),
    /// Business number as read (`None`: missing) → contact as read → part.
    Text(PlHashMap<Option<String>, ContactParts>),
}

/// The parts of the raw contacts of one raw business number.
#[derive(Default)]
struct ContactParts {
    missing: Option<u32>,
    by_contact: PlHashMap<String, u32>,
}

/// A hash of each row's raw (business number, contact), missing values
/// included.
fn pair_hashes(frame: &DataFrame) -> Result<Vec<u64>> {
    let hashed = frame
        .clone()
        .lazy()
        .select([
            col(BUSINESS_NUMBER).hash(3, 5, 7, 11).alias("b"),
            col(CONTACT).hash(13, 17, 19, 23).alias("c"),
        ])
        .collect()?;
    let business = hashed.column("b")?.u64()?;
    let contact = hashed.column("c")?.u64()?;
    Ok(business
        .iter()
        .zip(contact.iter())
        .map(|(b, c)| {
            let (b, c) = (b.unwrap_or(0), c.unwrap_or(0));
            b.rotate_left(29) ^ c.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        })
        .collect())
}

impl Routing {
    /// From a table of `business_number`, `contact` as read (each pair
    /// once) and their `_part`.
    fn new(parts: usize, table: &DataFrame) -> Result<Routing> {
        let part = table.column(PART)?.u32()?;
        let mut by_hash: PlHashMap<u64, u32> = PlHashMap::default();
        by_hash.reserve(table.height());
        let mut collided = false;
        for (hash, p) in pair_hashes(table)?.into_iter().zip(part.iter()) {
            let Some(p) = p else { continue };
            collided |= by_hash.insert(hash, p).is_some();
        }
        if collided {
            return Routing::by_text(parts, table);
        }
        Ok(Routing {
            parts,
            lookup: PairLookup::Hashed(by_hash),
        })
    }

    /// [`Routing::new`] by the text of the pairs.
    fn by_text(parts: usize, table: &DataFrame) -> Result<Routing> {
        let part = table.column(PART)?.u32()?;
        let mut by_business: PlHashMap<Option<String>, ContactParts> = PlHashMap::default();
        let business = table.column(BUSINESS_NUMBER)?.str()?;
        let contact = table.column(CONTACT)?.str()?;
        for ((b, c), p) in business.iter().zip(contact.iter()).zip(part.iter()) {
            let Some(p) = p else { continue };
            let contacts = by_business.entry(b.map(String::from)).or_default();
            match c {
                Some(c) => {
                    contacts.by_contact.insert(c.to_string(), p);
                }
                None => contacts.missing = Some(p),
            }
        }
        Ok(Routing {
            parts,
            lookup: PairLookup::Text(by_business),
        })
    }
}

/// How many raw pair counts of slices are gathered, at least, before they
/// are summed into one table with the sum so far (bounds the memory of
/// counting a very large log). They are summed only once they hold as
/// many pairs as the sum so far: summing a table of every pair seen
/// after each few slices made counting 100M rows (10M pairs) take 36 s,
/// 17 times the 10M-row count.
const SLICES_PER_FOLD: usize = 8;

/// Counts the rows of every pair, cuts the pairs, in the order `windows`
/// sorts them, into ranges of about `--partition-rows` rows (a pair is
/// never split, so a part may hold one pair more), and routes every raw
/// pair to its range. Raw pairs are counted first, over all slices, so
/// that each distinct raw pair is normalised once for the whole log.
fn routing(plan: &Plan, settings: &Settings) -> Result<Routing> {
    let raw_pairs = [col(BUSINESS_NUMBER), col(CONTACT)];
    let fold = |counts: Vec<LazyFrame>| -> Result<DataFrame> {
        Ok(concat(counts, UnionArgs::default())?
            .group_by(raw_pairs.clone())
            .agg([col("rows").sum()])
            .collect()?)
    };
    let mut counts: Vec<LazyFrame> = Vec::new();
    let (mut summed, mut pending) = (0usize, 0usize);
    for (file, slices) in plan.files.iter().zip(&plan.slices) {
        for &slice in slices {
            let numbers = ingest::read_numbers(file, &settings.input.read, slice)?
                .lazy()
                .group_by(raw_pairs.clone())
                .agg([len().cast(DataType::UInt64).alias("rows")])
                .collect()?;
            pending += numbers.height();
            counts.push(frames::detached(numbers)?.lazy());
            if counts.len() > SLICES_PER_FOLD && pending >= summed {
                let sum = fold(counts)?;
                (summed, pending) = (sum.height(), 0);
                counts = vec![sum.lazy()];
            }
        }
    }
    let raw = fold(counts)?;
    let normalized = normalize::pair_numbers(&raw)?;
    let mut pairs = normalized.clone();
    pairs.with_column(raw.column("rows")?.clone())?;
    let bounds = pair_bounds(pairs, part_rows(settings.input.partition_rows))?;
    let mut table = raw.select([BUSINESS_NUMBER, CONTACT])?;
    table.with_column(parts_of(&normalized, &bounds)?)?;
    Routing::new(bounds.len() + 1, &table)
}

/// Rows per part of a log cut at `partition_rows`: a quarter of it. Two
/// parts are held at a time (one checked while the one before it is
/// priced), so a cut run holds about half the rows of a one-part run of
/// `partition_rows`, beside the raw rows still waiting. Smaller parts were
/// also faster down to a point (10M rows: 43.5 s in parts of 500k, 49 s in
/// parts of 1M, 56 s in parts of 3.4M; page faults and cache misses grow
/// with a part); parts of 250k took the same time as parts of 500k
/// (42.2-44.2 s against 40.0-44.7 s, alternated) with a lower peak (2.57
/// GiB against 2.99 GiB).
fn part_rows(partition_rows: u64) -> u64 {
    partition_rows.div_ceil(4).max(1)
}

/// The first pair of every part after the first, from the rows of every
/// normalised pair (`rows`).
fn pair_bounds(pairs: DataFrame, limit: u64) -> Result<Vec<Pair>> {
    let firsts = pairs
        .lazy()
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
    let business = firsts.column(BUSINESS_NUMBER)?.str()?.clone();
    let contact = firsts.column(CONTACT)?.str()?.clone();
    Ok(business
        .iter()
        .zip(contact.iter())
        .map(|(b, c)| (b.unwrap_or_default().to_string(), c.map(String::from)))
        .collect())
}

/// The part of each normalised pair: how many bounds are at or before it.
fn parts_of(pairs: &DataFrame, bounds: &[Pair]) -> Result<Column> {
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
    Ok(Column::new(PART.into(), part))
}

/// The part of each row of `raw`, looked up by its raw pair.
fn routed(raw: &DataFrame, routing: &Routing) -> Result<Vec<u32>> {
    let unseen =
        |row: usize| anyhow::anyhow!("row {row} of a slice has a pair the count did not see");
    let by_business = match &routing.lookup {
        PairLookup::Hashed(by_hash) => {
            return pair_hashes(raw)?
                .into_iter()
                .enumerate()
                .map(|(row, hash)| by_hash.get(&hash).copied().ok_or_else(|| unseen(row)))
                .collect();
        }
        PairLookup::Text(by_business) => by_business,
    };
    let business = raw.column(BUSINESS_NUMBER)?.str()?;
    let contact = raw.column(CONTACT)?.str()?;
    // Rows come in runs of one business number: its contacts are looked
    // up once per run.
    let mut last: Option<(Option<&str>, Option<&ContactParts>)> = None;
    business
        .iter()
        .zip(contact.iter())
        .enumerate()
        .map(|(row, (b, c))| {
            let contacts = match last {
                Some((lb, contacts)) if lb == b => contacts,
                _ => {
                    let contacts = by_business.get(&b.map(String::from));
                    last = Some((b, contacts));
                    contacts
                }
            };
            let part = contacts.and_then(|contacts| match c {
                Some(c) => contacts.by_contact.get(c).copied(),
                None => contacts.missing,
            });
            part.ok_or_else(|| unseen(row))
        })
        .collect()
}

/// A stable order of `parts`' rows by part, and the runs (part, offset,
/// length) of that order: a counting sort.
fn by_part(parts: &[u32], count: usize) -> (IdxCa, Vec<(usize, i64, usize)>) {
    let mut sizes = vec![0usize; count];
    for &p in parts {
        sizes[p as usize] += 1;
    }
    let mut starts = Vec::with_capacity(count);
    let mut runs = Vec::new();
    let mut offset = 0usize;
    for (part, &n) in sizes.iter().enumerate() {
        starts.push(offset);
        if n > 0 {
            runs.push((part, offset as i64, n));
        }
        offset += n;
    }
    let mut order = vec![0 as IdxSize; parts.len()];
    for (row, &p) in parts.iter().enumerate() {
        order[starts[p as usize]] = row as IdxSize;
        starts[p as usize] += 1;
    }
    (IdxCa::from_vec("order".into(), order), runs)
}

/// Reads every slice and appends its rows to their parts (held or in
/// files); returns the parts and the [`IdKeys`] of every row with an id.
fn split(
    plan: &Plan,
    routing: &Routing,
    dir: &WorkDir,
    settings: &Settings,
) -> Result<(RawParts, IdKeys)> {
    let mut sink = PartSink::new(plan.held, routing.parts, dir);
    let mut ids = IdKeys::new(routing.parts);
    for (index, (file, slices)) in plan.files.iter().zip(&plan.slices).enumerate() {
        for &slice in slices {
            let raw = ingest::read_slice(file, index as u32, &settings.input.read, slice)?;
            let parts = routed(&raw, routing)?;
            let raw = raw
                .lazy()
                .with_column(col(MESSAGE_ID).hash(7, 11, 13, 17).alias(ID_HASH))
                .collect()?;
            ids.extend(&raw, &parts)?;
            sink.append(raw, by_part(&parts, routing.parts))?;
        }
    }
    Ok((sink.finish()?, ids))
}

/// One integer per row with an id: the id's hash with its low bits
/// replaced by the row's part. Sorted, equal hashes in different parts
/// are neighbours. Kept as two (hash, part) columns and sorted by both
/// (polars encodes the rows of a sort on two keys), they took the cutting
/// of a 100M-row log to 5.5 GB; as one integer column, 3.6 GB. The hash
/// loses `part_bits` bits, so a few more ids than share a hash are
/// checked (by id, so the result is exact).
struct IdKeys {
    keys: Vec<u64>,
    part_bits: u32,
}

impl IdKeys {
    fn new(parts: usize) -> Self {
        IdKeys {
            keys: Vec::new(),
            part_bits: u64::BITS - (parts as u64).leading_zeros(),
        }
    }

    fn extend(&mut self, raw: &DataFrame, parts: &[u32]) -> Result<()> {
        let hashes = raw.column(ID_HASH)?.u64()?;
        let has_id = raw.column(MESSAGE_ID)?.is_not_null();
        let low = (1u64 << self.part_bits) - 1;
        for ((hash, has_id), &part) in hashes.iter().zip(has_id.iter()).zip(parts) {
            if let (Some(hash), Some(true)) = (hash, has_id) {
                self.keys.push((hash & !low) | u64::from(part));
            }
        }
        Ok(())
    }

    /// The hash prefixes (hash without its low `part_bits`) found in more
    /// than one part.
    fn shared(self) -> Result<(Series, u32)> {
        let bits = self.part_bits;
        let sorted = UInt64Chunked::from_vec("".into(), self.keys).sort(false);
        let mut shared: Vec<u64> = sorted
            .cont_slice()?
            .windows(2)
            .filter(|w| w[0] >> bits == w[1] >> bits && w[0] != w[1])
            .map(|w| w[1] >> bits)
            .collect();
        shared.dedup();
        Ok((Series::new(ID_HASH.into(), shared), bits))
    }
}

/// Where the batches of the parts go as the slices are read.
enum PartSink {
    Held(Vec<Vec<Compact>>),
    Files(FileSink),
}

/// The parts of a log cut into work files: the batches wait
/// ([`PENDING_ROWS`]) and are written on a thread of their own, which
/// writes one slice's batches while the next slice is read.
struct FileSink {
    /// Made from the first slice.
    coder: Option<Coder>,
    /// Each part's batches not yet handed to the writer.
    pending: Vec<Pending>,
    /// The rows a part's batches wait for ([`PENDING_ROWS`]).
    enough: usize,
    /// The writer's channel (`None` once closed) and the writer (`None`
    /// once joined).
    to_writer: Option<std::sync::mpsc::SyncSender<Batches>>,
    writer: Option<std::thread::JoinHandle<Result<Vec<PathBuf>>>>,
}

/// Batches handed to the writer: each part's, to be written as one.
type Batches = Vec<(usize, Vec<DataFrame>)>;

/// How many rows the parts' files wait for, together, before a part's
/// batches are written as one: a slice cut into 400 parts gives each
/// about 2,500 rows, and the IPC writer compresses every buffer of a
/// batch in a frame of its own (a context made, a checksum, a hash table
/// cleared). The waiting batches point into the slices they came from,
/// which stay in memory until then: a few slices at most, as every part
/// gets rows from every slice.
const PENDING_ROWS: usize = 4_000_000;

/// A part's batches not yet written, and their rows.
#[derive(Default)]
struct Pending {
    batches: Vec<DataFrame>,
    rows: usize,
}

impl PartSink {
    fn new(held: bool, parts: usize, dir: &WorkDir) -> Self {
        if held {
            return PartSink::Held((0..parts).map(|_| Vec::new()).collect());
        }
        let paths = (0..parts)
            .map(|p| dir.path.join(format!("part-{p:05}.arrow")))
            .collect();
        PartSink::files(paths, (PENDING_ROWS / parts).max(1))
    }

    /// Parts in the files `paths`, each written once `enough` of its
    /// rows wait.
    fn files(paths: Vec<PathBuf>, enough: usize) -> Self {
        // The batches of one slice wait for the writer at most.
        let (to_writer, batches) = std::sync::mpsc::sync_channel(1);
        PartSink::Files(FileSink {
            coder: None,
            pending: paths.iter().map(|_| Pending::default()).collect(),
            enough,
            to_writer: Some(to_writer),
            writer: Some(std::thread::spawn(move || write_parts(paths, batches))),
        })
    }

    /// Appends the rows of `raw`, taken in `order`, to their parts, one
    /// run of that order per part.
    fn append(
        &mut self,
        raw: DataFrame,
        (order, runs): (IdxCa, Vec<(usize, i64, usize)>),
    ) -> Result<()> {
        match self {
            PartSink::Held(parts) => {
                // Compacted first: codes are cheaper to reorder than text.
                let rows = Compact::new(raw)?.take(&order)?;
                for (part, offset, n) in runs {
                    parts[part].push(rows.slice(offset, n));
                }
                Ok(())
            }
            PartSink::Files(sink) => {
                let coder = sink.coder.get_or_insert_with(|| Coder::new(&raw));
                let rows = coder.encoded(raw)?.take(&order)?;
                let mut ready = Vec::new();
                for (part, offset, n) in runs {
                    let waiting = &mut sink.pending[part];
                    waiting.batches.push(rows.slice(offset, n));
                    waiting.rows += n;
                    if waiting.rows >= sink.enough {
                        ready.push((part, std::mem::take(waiting).batches));
                    }
                }
                sink.send(ready)
            }
        }
    }

    fn finish(self) -> Result<RawParts> {
        match self {
            PartSink::Held(parts) => Ok(RawParts::Held(parts)),
            PartSink::Files(sink) => sink.finish(),
        }
    }
}

impl FileSink {
    /// Hands `ready` to the writer.
    fn send(&mut self, ready: Batches) -> Result<()> {
        if ready.is_empty() {
            return Ok(());
        }
        let sent = (self.to_writer.as_ref()).is_some_and(|to| to.send(ready).is_ok());
        if sent {
            return Ok(());
        }
        // The writer stops only on an error, which is the run's.
        Err(self
            .joined()
            .err()
            .unwrap_or_else(|| anyhow::anyhow!("the thread writing the parts of the log stopped")))
    }

    /// Hands every waiting batch to the writer and waits for it to finish
    /// the files.
    fn finish(mut self) -> Result<RawParts> {
        let rest: Batches = std::mem::take(&mut self.pending)
            .into_iter()
            .enumerate()
            .filter(|(_, waiting)| waiting.rows > 0)
            .map(|(part, waiting)| (part, waiting.batches))
            .collect();
        // A writer that stopped has dropped its end; its error follows.
        if let Some(to) = &self.to_writer {
            let _ = to.send(rest);
        }
        let paths = self.joined()?;
        let dictionaries = self.coder.map_or_else(Dictionaries::default, Coder::finish);
        Ok(RawParts::Files(paths, dictionaries))
    }

    /// Closes the writer's channel and waits for it: its files, or its
    /// error.
    fn joined(&mut self) -> Result<Vec<PathBuf>> {
        self.to_writer = None;
        self.writer
            .take()
            .ok_or_else(|| anyhow::anyhow!("the thread writing the parts of the log has ended"))?
            .join()
            .map_err(|_| anyhow::anyhow!("the thread writing the parts of the log panicked"))?
    }
}

/// The writer of a cut's work files: writes the batches it is handed, as
/// they come, then finishes every file.
fn write_parts(
    paths: Vec<PathBuf>,
    batches: std::sync::mpsc::Receiver<Batches>,
) -> Result<Vec<PathBuf>> {
    let mut writers: Vec<Option<WorkFileWriter>> = paths.iter().map(|_| None).collect();
    for ready in batches {
        append_by_part(ready, &paths, &mut writers)?;
    }
    for writer in writers.into_iter().flatten() {
        writer.finish()?;
    }
    Ok(paths)
}

/// Writes each part's batches, as one, to its file, the parts shared out
/// among as many threads as there are cores: the IPC writer compresses a
/// batch on one thread, and compression and the copies into the page
/// cache were about half of cutting 9.7M rows into parts (perf).
fn append_by_part(
    batches: Batches,
    paths: &[PathBuf],
    writers: &mut [Option<WorkFileWriter>],
) -> Result<()> {
    let mut by_part: Vec<Option<Vec<DataFrame>>> = (0..writers.len()).map(|_| None).collect();
    for (part, batch) in batches {
        if writers[part].is_none() {
            writers[part] = Some(WorkFileWriter::create(&paths[part], batch[0].schema())?);
        }
        by_part[part] = Some(batch);
    }
    let mut work: Vec<_> = writers
        .iter_mut()
        .zip(by_part)
        .filter_map(|(writer, batch)| Some((writer.as_mut()?, batch?)))
        .collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let share = work.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let writing: Vec<_> = work
            .chunks_mut(share)
            .map(|share| {
                scope.spawn(move || {
                    share.iter_mut().try_for_each(|(writer, batches)| {
                        writer.write(frames::stacked(std::mem::take(batches))?)
                    })
                })
            })
            .collect();
        writing.into_iter().try_for_each(|thread| {
            thread
                .join()
                .map_err(|_| anyhow::anyhow!("a thread writing a part of the log panicked"))?
        })
    })
}

/// Key of a row of the input: its file and its row in the file.
fn row_key(file_index: Expr, source_row: Expr) -> Expr {
    (file_index.cast(DataType::UInt64) * lit(1u64 << 40)) + source_row.cast(DataType::UInt64)
}

/// The rows (as [`row_key`]s) that repeat an earlier valid copy of their id
/// held by another part. Found by checking together all rows whose id
/// hash occurs in more than one part, in input order.
fn forced_duplicates(
    parts: &RawParts,
    id_keys: IdKeys,
    checks: normalize::Checks,
) -> Result<Option<Series>> {
    let (shared, part_bits) = id_keys.shared()?;
    if shared.is_empty() {
        return Ok(None);
    }
    let prefix = col(ID_HASH).floor_div(lit(1u64 << part_bits));
    let copies = parts
        .rows_where(prefix.is_in(lit(shared).implode(false), false))?
        .lazy()
        .drop(cols([ID_HASH]))
        .sort([FILE_INDEX, SOURCE_ROW], SortMultipleOptions::default())
        .collect()?;
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
fn marked_forced(raw: DataFrame, forced: &Option<Series>) -> Result<DataFrame> {
    let raw = raw.drop(ID_HASH)?;
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

    /// Rows are routed by their raw pair to the part of the pair it
    /// normalises to (a missing business number is `default`).
    #[test]
    fn a_row_goes_where_its_normalised_pair_goes() {
        let bounds: Vec<Pair> = vec![("9661".into(), Some("5".into()))];
        let raw = df!(
            BUSINESS_NUMBER => [Some("+966 1"), Some("00966 1"), None],
            CONTACT => ["+4", "5", "7"],
        )
        .unwrap();
        let normalized = normalize::pair_numbers(&raw).unwrap();
        let mut table = raw.clone();
        table
            .with_column(parts_of(&normalized, &bounds).unwrap())
            .unwrap();
        let rows = df!(
            BUSINESS_NUMBER => [None, Some("+966 1"), Some("00966 1"), Some("+966 1")],
            CONTACT => ["7", "+4", "5", "+4"],
        )
        .unwrap();
        // By hash, and by text (what a run whose pairs share a hash uses).
        let hashed = Routing::new(2, &table).unwrap();
        assert!(matches!(hashed.lookup, PairLookup::Hashed(_)));
        for routing in [hashed, Routing::by_text(2, &table).unwrap()] {
            assert_eq!(routed(&rows, &routing).unwrap(), [1, 0, 1, 0]);
            // A pair the count did not see is an error, not a lost row.
            let unseen = df!(BUSINESS_NUMBER => [Some("+966 1")], CONTACT => ["9"]).unwrap();
            assert!(routed(&unseen, &routing).is_err());
        }
    }

    /// Rows cut into files come back by part in input order, whether a
    /// part's batches were written as the slices came or at the end.
    #[test]
    fn parts_in_files_keep_their_rows_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let paths: Vec<PathBuf> = (0..2).map(|p| dir.path().join(format!("{p}"))).collect();
        let mut sink = PartSink::files(paths, 3);
        let slices = [[0u32, 1, 0], [0, 0, 1], [1, 0, 0]];
        for (s, parts) in slices.iter().enumerate() {
            let ids: Vec<String> = (0..3).map(|r| format!("{s}-{r}")).collect();
            let raw = df!(MESSAGE_ID => ids, "n" => [s as i64; 3]).unwrap();
            sink.append(raw, by_part(parts, 2)).unwrap();
        }
        let parts: Vec<Vec<String>> = sink
            .finish()
            .unwrap()
            .taken()
            .map(|part| {
                let part = part.unwrap();
                let ids = part.column(MESSAGE_ID).unwrap().str().unwrap();
                ids.iter().map(|id| id.unwrap().to_string()).collect()
            })
            .collect();
        assert_eq!(parts[0], ["0-0", "0-2", "1-0", "1-1", "2-1", "2-2"]);
        assert_eq!(parts[1], ["0-1", "1-2", "2-0"]);
    }

    /// A part file that cannot be written fails the cut, naming it.
    #[test]
    fn a_part_file_not_written_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("gone").join("part");
        let mut sink = PartSink::files(vec![missing], 1);
        let raw = df!(MESSAGE_ID => ["a"]).unwrap();
        let appended = sink.append(raw, by_part(&[0], 1));
        let error = appended
            .and_then(|_| sink.finish().map(|_| ()))
            .unwrap_err();
        assert!(format!("{error:#}").contains("gone"), "{error:#}");
    }

    #[test]
    fn rows_are_ordered_by_part_stably() {
        let (order, runs) = by_part(&[2, 0, 2, 0, 0], 4);
        let order: Vec<Option<IdxSize>> = order.iter().collect();
        assert_eq!(order, [1, 3, 4, 0, 2].map(Some).to_vec());
        assert_eq!(runs, [(0, 0, 3), (2, 3, 2)]);
    }
}
