//! Raw records → canonical messages, rejected rows and duplicates.
//!
//! Takes the string frame from `ingest` and returns:
//! - `messages`: one row per accepted, first-seen message, with typed and
//!   normalised columns (UTC instant, direction flag, template flag,
//!   category, failed flag, contact key, country);
//! - `rejected`: every record that could not be used, with file, record
//!   number, line and the reason (docs §2, §8.13);
//! - the count of duplicate message ids (webhook retries), per file.
//!
//! Invariant: `rows read = messages + rejected + duplicates`, per file.
//! Order of checks follows §8.4: validate, then dedupe (a retry whose first
//! copy was rejected is kept).

use anyhow::Result;
use polars::prelude::*;

use crate::country;
use crate::frames;
use crate::schema::*;
use crate::timestamps;

/// What normalisation hands to the next stages.
pub struct Normalized {
    pub messages: DataFrame,
    pub rejected: DataFrame,
    /// Duplicates per `file_index`.
    pub duplicates_by_file: Vec<(u32, u64)>,
    /// Rejected rows per `file_index`.
    pub rejected_by_file: Vec<(u32, u64)>,
}

/// The earliest accepted instant, 2010-01-01T00:00:00Z (µs): WhatsApp
/// itself dates from 2009, so anything earlier is a unit or zone mistake
/// (a 0 epoch, a date typed as 1900-…), not a message.
pub const EARLIEST_US: i64 = 1_262_304_000_000_000;

/// How rows are checked besides their own fields.
#[derive(Debug, Clone, Copy)]
pub struct Checks<'a> {
    pub input_tz: &'a str,
    /// `--now`: timestamps after it are rejected.
    pub latest_us: Option<i64>,
}

pub fn normalize(raw: DataFrame, checks: Checks) -> Result<Normalized> {
    let (checked, reasons) = checked(raw, checks)?;
    // The contacts' numbers are worked out for every row, on a thread of
    // their own, while the rows are sorted out: they are the largest step
    // of checking and depend on nothing but the contact (1M rows: 0.15 s
    // of 0.37 s, which ran on about one core).
    let contacts = checked.column(CONTACT)?.str()?.clone();
    std::thread::scope(|scope| {
        let numbers = scope.spawn(move || Numbers::of(&contacts, CONTACT_KEY, true));
        let sorted = sorted_out(checked, reasons);
        let numbers = numbers
            .join()
            .map_err(|_| anyhow::anyhow!("the thread normalising contacts panicked"))?;
        let (mut normalized, kept) = sorted?;
        let contacts = numbers?.of_rows(Some(&kept), CONTACT)?;
        let messages = std::mem::take(&mut normalized.messages);
        normalized.messages = with_numbers(canonical(messages.lazy()), contacts)?.collect()?;
        Ok(normalized)
    })
}

/// The checked rows sorted out into rejected rows, duplicates (counted)
/// and messages (lower-cased, not yet canonical), and which checked rows
/// the messages are.
fn sorted_out(checked: DataFrame, reasons: Expr) -> Result<(Normalized, IdxCa)> {
    // Filtered column by column (frames::filtered): the frame is wide, and
    // later steps add columns to it.
    let rejected = frames::filtered(&checked, col(REJECT_CODE).is_not_null())?
        .lazy()
        .with_column(reasons.alias(REJECT_REASON))
        .select(rejected_columns())
        .collect()?;
    let is_valid = checked.column(REJECT_CODE)?.is_null();
    let valid_rows = row_numbers(&is_valid);
    let mut valid = frames::filtered_by(&checked, &is_valid)?;
    valid.with_column(duplicates(&valid)?)?;
    // The raw columns go as soon as nothing needs them: on 10M rows they are
    // a gigabyte the later steps would otherwise hold on to.
    drop(checked);
    let duplicates_by_file = count_by_file(valid.clone().lazy().filter(col(IS_DUPLICATE)))?;
    let rejected_by_file = count_by_file(rejected.clone().lazy())?;
    // Where a row came from is only needed for rejected rows and counts.
    let first_copies = !valid.column(IS_DUPLICATE)?.bool()?;
    let mut messages = valid
        .drop_many([
            SOURCE_FILE,
            FILE_INDEX,
            SOURCE_ROW,
            SOURCE_LINE,
            INGEST_ERROR,
            TIMESTAMP,
            TIMESTAMP_NATIVE,
            REJECT_CODE,
            IS_DUPLICATE,
        ])
        .drop_many([FORCED_DUPLICATE])
        .filter(&first_copies)?;
    let kept = valid_rows.filter(&first_copies)?;
    drop(valid);
    for column in [DIRECTION, TYPE, STATUS, ENTRY_POINT, CATEGORY] {
        frames::map_per_distinct(&mut messages, column, column, |v| v.str().to_lowercase())?;
    }
    let normalized = Normalized {
        messages,
        rejected,
        duplicates_by_file,
        rejected_by_file,
    };
    Ok((normalized, kept))
}

/// The numbers of the rows where `mask` is true.
fn row_numbers(mask: &BooleanChunked) -> IdxCa {
    let rows: Vec<IdxSize> = mask
        .iter()
        .enumerate()
        .filter(|(_, m)| *m == Some(true))
        .map(|(row, _)| row as IdxSize)
        .collect();
    IdxCa::from_vec("row".into(), rows)
}

/// Set by a run cut into parts (`pipeline::source`) on rows whose first valid
/// copy is in another part of the input: a duplicate wherever it stands.
pub const FORCED_DUPLICATE: &str = "_forced_duplicate";

/// The raw rows after the checks of §2 and §8: `_reject_code` (null for a
/// good row) and `ts` added, and the expression that gives a code's reason.
fn checked(raw: DataFrame, checks: Checks) -> Result<(DataFrame, Expr)> {
    let trimmed = trimmed_inputs(&raw)?;
    let mut raw = raw.lazy().with_columns(trimmed).collect()?;
    with_fast_instants(&mut raw, checks.input_tz == "UTC")?;
    let all_native = raw.column(TIMESTAMP_NATIVE)?.null_count() == 0;
    frames::map_per_distinct(&mut raw, DIRECTION, KNOWN_DIRECTION, |d| {
        d.str().to_lowercase().is_in(
            lit(Series::new("d".into(), ["inbound", "outbound"])).implode(false),
            false,
        )
    })?;
    let mut checked = raw.lazy();
    if !all_native {
        checked = checked
            .with_column(timestamps::rfc3339_parts(timestamp_text())?.alias(TIMESTAMP_PARTS));
    }
    let (checks, reasons) = row_checks(checks, all_native)?;
    let checked = checked
        .with_columns(checks)
        .drop(by_name([TIMESTAMP_PARTS, KNOWN_DIRECTION], false, false))
        .collect()?;
    Ok((checked, reasons))
}

/// Gives every row whose timestamp text the fast path reads
/// (`timestamps::fast_micros`) its instant as if it had been a native
/// timestamp, so that only the other rows go through the regex (none, in
/// most exports). The text stays as it was, for `rejected.csv`.
fn with_fast_instants(raw: &mut DataFrame, input_is_utc: bool) -> Result<()> {
    let native = raw.column(TIMESTAMP_NATIVE)?.cast(&DataType::Int64)?;
    let text = raw.column(TIMESTAMP)?.str()?.clone();
    let mut parser = timestamps::FastInstants::default();
    let mut values = Vec::with_capacity(text.len());
    let mut valid = polars_arrow::bitmap::MutableBitmap::with_capacity(text.len());
    for (native, text) in native.i64()?.iter().zip(text.iter()) {
        let instant = native.or_else(|| text.and_then(|t| parser.micros(t, input_is_utc)));
        values.push(instant.unwrap_or(0));
        valid.push(instant.is_some());
    }
    let instants =
        Int64Chunked::from_vec_validity(TIMESTAMP_NATIVE.into(), values, Some(valid.into()))
            .into_series()
            .cast(&crate::ingest::utc_micros())?;
    raw.with_column(Column::from(instants))?;
    Ok(())
}

/// §8.4 on valid rows: a repeated id after its first copy (in input
/// order), or a row marked [`FORCED_DUPLICATE`].
fn duplicates(valid: &DataFrame) -> Result<Column> {
    let ids: Vec<Option<&str>> = valid.column(MESSAGE_ID)?.str()?.iter().collect();
    let repeated: BooleanChunked = repeated_ids(&ids).into_iter().map(Some).collect();
    let repeated = match valid.schema().contains(FORCED_DUPLICATE) {
        true => {
            let forced = valid.column(FORCED_DUPLICATE)?.bool()?;
            (&repeated | forced).fill_null_with_values(false)?
        }
        false => repeated,
    };
    Ok(repeated.with_name(IS_DUPLICATE.into()).into_column())
}

/// Whether each id repeats one before it. By sorting (hash, row) pairs
/// and comparing the text only within runs of equal hashes: a hash set of
/// a million text ids (what `is_first_distinct` builds) misses the cache
/// twice per row and took 0.3 s per million rows.
fn repeated_ids(ids: &[Option<&str>]) -> Vec<bool> {
    use std::hash::BuildHasher;
    let hasher = PlRandomState::default();
    let mut keyed: Vec<(u64, u32)> = ids
        .iter()
        .enumerate()
        .map(|(row, id)| (hasher.hash_one(id), row as u32))
        .collect();
    keyed.sort_unstable();
    let mut repeated = vec![false; ids.len()];
    for run in keyed
        .chunk_by(|a, b| a.0 == b.0)
        .filter(|run| run.len() > 1)
    {
        // Rows in input order within a run: a row repeats an earlier one.
        for (k, &(_, row)) in run.iter().enumerate().skip(1) {
            let id = ids[row as usize];
            repeated[row as usize] = run[..k]
                .iter()
                .any(|&(_, earlier)| ids[earlier as usize] == id);
        }
    }
    repeated
}

/// The rows of `raw` that [`normalize`] counts as duplicates, as
/// (`file_index`, `source_row`): a pair-partitioned run asks this of the
/// rows whose ids occur in more than one part, all of them together.
pub fn duplicate_rows(raw: DataFrame, checks: Checks) -> Result<DataFrame> {
    let (checked, _) = checked(raw, checks)?;
    let valid = frames::filtered(&checked, col(REJECT_CODE).is_null())?;
    let repeated = duplicates(&valid)?;
    Ok(valid
        .select([FILE_INDEX, SOURCE_ROW])?
        .filter(repeated.bool()?)?)
}

/// What a driver needs of each raw row to dedupe and route it
/// (`pipeline::driven`): its message id as checked, when the row is valid
/// (null when [`normalize`] would reject it: §8.4, a rejected copy is not
/// the first), and its pair ([`pair_numbers`]), row for row.
pub fn row_keys(raw: DataFrame, checks: Checks) -> Result<DataFrame> {
    let pairs = pair_numbers(&raw)?;
    let (checked, _) = checked(raw, checks)?;
    let id = checked
        .select([MESSAGE_ID, REJECT_CODE])?
        .lazy()
        .select([when(col(REJECT_CODE).is_null())
            .then(col(MESSAGE_ID))
            .otherwise(lit(NULL).cast(DataType::String))
            .alias(MESSAGE_ID)])
        .collect()?;
    Ok(id.hstack(pairs.columns())?)
}

/// The pair every raw row belongs to, as `windows` will see it: the
/// business number and contact trimmed (§8.21), a missing business number
/// `default`, both normalised (§8.7). Computed once per distinct value.
pub fn pair_numbers(raw: &DataFrame) -> Result<DataFrame> {
    let tidy = |value: Expr| {
        let trimmed = value.str().strip_chars(lit(NULL));
        when(trimmed.clone().str().len_bytes().eq(lit(0u32)))
            .then(lit(NULL).cast(DataType::String))
            .otherwise(trimmed)
    };
    let mut pairs = raw
        .select([BUSINESS_NUMBER, CONTACT])?
        .lazy()
        // A missing value is not one of the distinct values mapped below.
        .with_column(col(BUSINESS_NUMBER).fill_null(lit("default")))
        .collect()?;
    frames::map_per_distinct(&mut pairs, BUSINESS_NUMBER, BUSINESS_NUMBER, |b| {
        normalized_business_number(tidy(b).fill_null(lit("default")))
    })?;
    frames::map_per_distinct(&mut pairs, CONTACT, CONTACT, |c| normalized_number(tidy(c)))?;
    Ok(pairs)
}

/// §8.21: every field is trimmed; empty after trimming is missing. Only
/// the columns where some value is blank or has whitespace around it are
/// rewritten (clean exports have none).
fn trimmed_inputs(raw: &DataFrame) -> Result<Vec<Expr>> {
    let present: Vec<String> = value_columns()
        .filter(|c| {
            raw.column(c)
                .is_ok_and(|column| column.null_count() < raw.height())
        })
        .map(String::from)
        .collect();
    // A value has whitespace at an end exactly when trimming shortens it
    // (`char::is_whitespace` and polars' trimming both use Unicode
    // White_Space). Looked at in place: trimming every cell to compare
    // lengths took a fifth of checking a part.
    let untidy: Vec<String> = present
        .into_iter()
        .filter(|c| {
            raw.column(c).is_ok_and(|column| {
                column
                    .str()
                    .is_ok_and(|text| text.iter().flatten().any(is_untidy))
            })
        })
        .collect();
    Ok(untidy
        .iter()
        .map(|c| {
            let c = c.as_str();
            let trimmed = col(c).str().strip_chars(lit(NULL));
            when(trimmed.clone().str().len_bytes().eq(lit(0u32)))
                .then(lit(NULL).cast(DataType::String))
                .otherwise(trimmed)
                .alias(c)
        })
        .collect())
}

/// Whether trimming changes a cell or leaves it empty (§8.21).
fn is_untidy(value: &str) -> bool {
    // An ASCII end is looked at as a byte (every cell of every column
    // passes here); anything else is decoded.
    let ascii_space = |b: u8| matches!(b, b'\t'..=b'\r' | b' ');
    let bytes = value.as_bytes();
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
        return true;
    };
    let starts = match first.is_ascii() {
        true => ascii_space(first),
        false => value.starts_with(char::is_whitespace),
    };
    let ends = match last.is_ascii() {
        true => ascii_space(last),
        false => value.ends_with(char::is_whitespace),
    };
    starts || ends
}

/// The timestamp text still to parse: none where the file stored a native
/// instant (Parquet), so those rows skip the regex (and when every row has
/// one, no text is parsed at all).
fn timestamp_text() -> Expr {
    when(col(TIMESTAMP_NATIVE).is_null())
        .then(col(TIMESTAMP))
        .otherwise(lit(NULL).cast(DataType::String))
}

const TIMESTAMP_PARTS: &str = "_timestamp_parts";

/// `true` where the row's direction is inbound or outbound, any case.
const KNOWN_DIRECTION: &str = "_known_direction";
/// Which check a row failed (its index in the list of [`row_checks`]).
const REJECT_CODE: &str = "_reject_code";

/// The row checks, in the order §2 and §8 give them: an expression that
/// sets `_reject_code` (null for a good row) and the parsed `ts`, and one
/// that turns a code into its reason. Codes are small integers so that the
/// check costs integer work per row; the text is only made for rejected
/// rows.
fn row_checks(checks: Checks, all_native: bool) -> Result<(Vec<Expr>, Expr)> {
    let parsed = if all_native {
        timestamps::ParsedTimestamp {
            micros: lit(NULL).cast(DataType::Int64),
            in_dst_gap: lit(false),
        }
    } else {
        timestamps::parse_parts(timestamp_text(), col(TIMESTAMP_PARTS), checks.input_tz)?
    };
    let ts = col(TIMESTAMP_NATIVE)
        .cast(DataType::Int64)
        .fill_null(parsed.micros.clone());
    let text = |t: &str| lit(t.to_string());
    let failures: Vec<(Expr, Expr)> = vec![
        (col(INGEST_ERROR).is_not_null(), col(INGEST_ERROR)),
        (col(MESSAGE_ID).is_null(), text("missing message_id")),
        (col(CONTACT).is_null(), text("missing contact")),
        (
            empty_number(col(CONTACT)),
            text("empty contact (nothing is left once formatting is removed)"),
        ),
        (col(DIRECTION).is_null(), text("missing direction")),
        (
            col(KNOWN_DIRECTION).not(),
            text("unknown direction (expected inbound or outbound)"),
        ),
        (
            col(TIMESTAMP).is_null().and(col(TIMESTAMP_NATIVE).is_null()),
            text("missing timestamp"),
        ),
        (
            col(TIMESTAMP_NATIVE).is_null().and(parsed.in_dst_gap),
            text("local time does not exist in the input time zone (DST gap)"),
        ),
        (
            ts.clone().is_null(),
            text("unparseable timestamp (expected RFC 3339 or 10/13-digit Unix time)"),
        ),
        (
            ts.clone().lt(lit(EARLIEST_US)),
            text("timestamp before 2010-01-01, older than WhatsApp Business (check the unit: 10 digits are seconds, 13 milliseconds)"),
        ),
        (
            match checks.latest_us {
                Some(latest) => ts.clone().gt(lit(latest)),
                None => lit(false),
            },
            text("timestamp after --now (a clock or zone mistake at the source?)"),
        ),
    ];
    // The first failing check wins: build the chain from the last one.
    let mut code = lit(NULL).cast(DataType::Int32);
    let mut reason = lit(NULL).cast(DataType::String);
    for (i, (failed, why)) in failures.into_iter().enumerate().rev() {
        code = when(failed.fill_null(false))
            .then(lit(i as i32))
            .otherwise(code);
        reason = when(col(REJECT_CODE).eq(lit(i as i32)))
            .then(why)
            .otherwise(reason);
    }
    Ok((vec![code.alias(REJECT_CODE), ts.alias(TS)], reason))
}

fn rejected_columns() -> Vec<Expr> {
    let mut columns = vec![
        col(SOURCE_FILE).alias("file"),
        col(SOURCE_ROW).alias("row"),
        col(SOURCE_LINE).alias("line"),
        col(REJECT_REASON),
        col(FILE_INDEX),
    ];
    columns.extend(INPUT_COLUMNS.iter().map(|&c| {
        match c {
            // A native Parquet instant has no text (ingest::parquet): shown in UTC.
            TIMESTAMP => col(TIMESTAMP).fill_null(
                col(TIMESTAMP_NATIVE)
                    .dt()
                    .strftime(crate::timestamps::TIME_FORMAT),
            ),
            _ => col(c),
        }
    }));
    columns
}

pub(crate) fn count_by_file(rows: LazyFrame) -> Result<Vec<(u32, u64)>> {
    let counts = rows
        .group_by([col(FILE_INDEX)])
        .agg([len().cast(DataType::UInt64).alias("n")])
        .sort([FILE_INDEX], Default::default())
        .collect()?;
    let files = counts.column(FILE_INDEX)?.u32()?.clone();
    let n = counts.column("n")?.u64()?.clone();
    Ok(files
        .iter()
        .zip(n.iter())
        .filter_map(|(f, n)| Some((f?, n?)))
        .collect())
}

/// Typed, canonical columns of accepted messages whose direction, type,
/// status, entry point and category are already lower-case.
fn canonical(messages: LazyFrame) -> LazyFrame {
    let lowered = messages.with_columns([
        col(CATEGORY).alias("category_given"),
        col(BUSINESS_NUMBER).fill_null(lit("default")),
    ]);
    let flagged = lowered.with_columns([
        col(DIRECTION).eq(lit("inbound")).alias(IS_INBOUND),
        col(DIRECTION)
            .neq(lit("inbound"))
            .and(col(TYPE).eq(lit("template")).fill_null(false))
            .alias(IS_TEMPLATE),
    ]);
    let failed = col(IS_INBOUND).not().and(
        col(STATUS)
            .eq(lit("failed"))
            .fill_null(false)
            .or(col(ERROR_CODE).is_not_null()),
    );
    flagged.with_columns([
        when(col(IS_INBOUND))
            .then(lit("inbound"))
            .otherwise(lit("outbound"))
            .alias(DIRECTION),
        when(col(IS_TEMPLATE))
            .then(normalized_category())
            .otherwise(lit(NULL).cast(DataType::String))
            .alias(CATEGORY),
        failed.alias(FAILED),
        col(IS_INBOUND)
            .and(col(ENTRY_POINT).is_in(
                lit(Series::new("e".into(), ["ctwa", "fb_page_cta"])).implode(false),
                false,
            ))
            .fill_null(false)
            .alias(HAS_ENTRY_POINT),
        col(TS).cast(DataType::Datetime(
            TimeUnit::Microseconds,
            Some(TimeZone::UTC),
        )),
    ])
}

/// §8.3: spelling variants of Meta's categories (already lower-cased);
/// anything else on a template (missing included) is `unknown`.
fn normalized_category() -> Expr {
    let is = |spellings: &[&str]| {
        spellings
            .iter()
            .map(|s| col(CATEGORY).eq(lit(*s)))
            .reduce(|a, b| a.or(b))
            .expect("a spelling")
    };
    frames::text_case(
        vec![
            (is(&["marketing", "marketing_lite"]), Some("marketing")),
            (is(&["utility"]), Some("utility")),
            (is(&["authentication"]), Some("authentication")),
            (
                is(&[
                    "authentication_international",
                    "authentication-international",
                ]),
                Some("authentication_international"),
            ),
        ],
        "unknown",
    )
}

/// §8.7 and §8.24: strip formatting, map Arabic-Indic digits, drop one
/// leading `+00`, `+` or `00`. A value that is then not all digits (a
/// business-scoped user id) is kept as it was given.
pub fn normalized_number(value: Expr) -> Expr {
    let eastern: Vec<String> = ('\u{0660}'..='\u{0669}')
        .chain('\u{06F0}'..='\u{06F9}')
        .map(String::from)
        .collect();
    let western: Vec<String> = (0..2)
        .flat_map(|_| (0..10).map(|d| d.to_string()))
        .collect();
    let digits = value
        .clone()
        .str()
        .replace_many(
            lit(Series::new("from".into(), eastern)).implode(false),
            lit(Series::new("to".into(), western)).implode(false),
            false,
            true,
        )
        .str()
        .replace_all(lit(FORMATTING), lit(""), false)
        .str()
        .replace(lit(r"^(\+00|\+|00)"), lit(""), false);
    let all_digits = digits.clone().str().contains(lit("^[0-9]+$"), true);
    when(all_digits).then(digits).otherwise(value)
}

/// Characters §8.7 removes from a number wherever they stand.
const FORMATTING: &str = r"[\s\-\.\(\)]";

/// `true` where a number is empty once normalised: nothing but formatting,
/// with at most one leading `+`, `00` or `+00` (zeros in any of the digit
/// sets §8.7 maps). Decided with one anchored match per row, the same
/// outcome as [`normalized_number`] giving an empty string; a test checks
/// the two agree.
pub fn empty_number(value: Expr) -> Expr {
    let zero = "[0\u{0660}\u{06F0}]";
    let pattern =
        format!("^{FORMATTING}*(\\+{FORMATTING}*)?({zero}{FORMATTING}*{zero}{FORMATTING}*)?$");
    value.str().contains(lit(pattern), true)
}

/// A business number as §8.7 normalises it; one that is empty once
/// normalised (`+ -`) is missing, so `default` (the one business).
pub fn normalized_business_number(value: Expr) -> Expr {
    when(empty_number(value.clone()))
        .then(lit("default"))
        .otherwise(normalized_number(value))
}

/// Normalises `contact` and `business_number` (§8.7), adds `country` and
/// the integer sort keys `contact_key` and `business_key`, the contacts'
/// from `contacts` ([`Numbers::of_rows`]). All of it is computed once per
/// distinct value: a log has far fewer numbers than messages, and
/// `windows` then sorts integers, not text.
fn with_numbers(messages: LazyFrame, contacts: DataFrame) -> Result<LazyFrame> {
    let valid_given = |country: Expr| {
        let given = country.str().to_uppercase();
        when(given.clone().str().contains(lit("^[A-Z]{2}$"), true))
            .then(given)
            .otherwise(lit(NULL).cast(DataType::String))
    };
    let mut messages = messages.collect()?;
    // A log has a few dozen countries: checked once each, not per row.
    frames::map_per_distinct(&mut messages, COUNTRY, "country_given", valid_given)?;
    let businesses = messages.column(BUSINESS_NUMBER)?.str()?;
    let businesses =
        Numbers::of(businesses, BUSINESS_KEY, false)?.of_rows(None, BUSINESS_NUMBER)?;
    for column in contacts.columns().iter().chain(businesses.columns()) {
        messages.with_column(column.clone())?;
    }
    Ok(messages
        .lazy()
        .with_column(
            col("country_given")
                .fill_null(col("country_derived"))
                .alias(COUNTRY),
        )
        .drop(cols(["country_given", "country_derived"])))
}

/// The normalised number, key (and country) of every distinct value of a
/// column of numbers, and each row's code into them: worked out once per
/// distinct value and gathered back by the rows' codes (one pass over
/// the text; a `unique` and a join back took four times as long on 1M
/// rows). The keys rank the distinct values given, so numbers of the
/// rejected rows among them take ranks too: the keys still sort as the
/// numbers do, which is all `windows` asks of them.
struct Numbers {
    codes: UInt32Chunked,
    numbers: DataFrame,
}

impl Numbers {
    /// The numbers of `text`, with their integer keys named `key` and, for
    /// contacts, their countries.
    fn of(text: &StringChunked, key: &str, with_country: bool) -> Result<Numbers> {
        let (codes, distinct) = frames::coded(text, usize::MAX)
            .ok_or_else(|| anyhow::anyhow!("more distinct {} values than rows", text.name()))?;
        let numbers = distinct_numbers(&distinct.into_column(), key, with_country)?;
        Ok(Numbers { codes, numbers })
    }

    /// The numbers of the given rows (all of them: `None`), in that order,
    /// the normalised number named `column`.
    fn of_rows(&self, rows: Option<&IdxCa>, column: &str) -> Result<DataFrame> {
        let codes = match rows {
            Some(rows) => self.codes.take(rows)?,
            None => self.codes.clone(),
        };
        let mut columns = Vec::with_capacity(self.numbers.width());
        for number in self.numbers.columns() {
            let name = match number.name().as_str() {
                NORMALIZED_NUMBER => column.into(),
                _ => number.name().clone(),
            };
            columns.push(number.take(&codes)?.with_name(name));
        }
        Ok(DataFrame::new(codes.len(), columns)?)
    }
}

const NORMALIZED_NUMBER: &str = "_normalized_number";

/// One row per distinct value (contacts with their country, else business
/// numbers), in the order given: the normalised number, its integer key
/// (dense, in the text order of the normalised numbers, so sorting by key
/// sorts as the text would) and, for contacts, the derived country.
fn distinct_numbers(values: &Column, key: &str, with_country: bool) -> Result<DataFrame> {
    const RAW: &str = "_raw_number";
    const PLACE: &str = "_place";
    let normalized = match with_country {
        true => normalized_number(col(RAW)),
        false => normalized_business_number(col(RAW)),
    }
    .alias(NORMALIZED_NUMBER);
    let mut numbers = DataFrame::new_infer_height(vec![values.clone().with_name(RAW.into())])?
        .lazy()
        .with_row_index(PLACE, None)
        .with_column(normalized)
        .sort([NORMALIZED_NUMBER], SortMultipleOptions::default())
        .with_column(
            col(NORMALIZED_NUMBER)
                .neq_missing(col(NORMALIZED_NUMBER).shift(lit(1)))
                .cast(DataType::UInt32)
                .cum_sum(false)
                .alias(key),
        )
        .collect()?;
    if with_country {
        let countries = countries_of(numbers.column(NORMALIZED_NUMBER)?.str()?);
        numbers.with_column(Column::new("country_derived".into(), countries))?;
    }
    // Back in the order of `values`, which the rows' codes index.
    Ok(numbers
        .sort([PLACE], SortMultipleOptions::default())?
        .drop_many([RAW, PLACE]))
}

/// The country of each number (`country::country_of_contact`), the
/// numbers shared among the cores: libphonenumber's parsing is the costly
/// part of checking a log with many contacts.
fn countries_of(numbers: &StringChunked) -> Vec<Option<String>> {
    let numbers: Vec<Option<&str>> = numbers.iter().collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = numbers.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = numbers
            .chunks(chunk)
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|number| number.map(country::country_of_contact))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("deriving countries does not panic"))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_repeats_only_the_copies_before_it() {
        let ids = [
            Some("a"),
            Some("b"),
            Some("a"),
            None,
            None,
            Some("b"),
            Some("a"),
        ];
        assert_eq!(
            repeated_ids(&ids),
            [false, false, true, false, true, true, true]
        );
        let ids: Vec<String> = (0..5000).map(|i| format!("wamid.{}", i % 3000)).collect();
        let ids: Vec<Option<&str>> = ids.iter().map(|s| Some(s.as_str())).collect();
        let repeated = repeated_ids(&ids);
        assert!(repeated[..3000].iter().all(|r| !r));
        assert!(repeated[3000..].iter().all(|r| *r));
    }

    /// A cell is untidy exactly when trimming (as polars trims) changes it
    /// or leaves nothing, Unicode spaces included.
    #[test]
    fn untidy_cells_are_those_trimming_changes() {
        for value in [
            "",
            " ",
            "a",
            "a b",
            " a",
            "a ",
            "\ta",
            "a\n",
            "\u{00A0}966",
            "966\u{3000}",
            "\u{200B}a",
            "٠١٢",
        ] {
            let trimmed = value.trim();
            let expected = trimmed.len() != value.len() || trimmed.is_empty();
            assert_eq!(is_untidy(value), expected, "{value:?}");
        }
        // Every ASCII character at either end (the byte path).
        for c in (0u8..=127).map(char::from) {
            for value in [format!("{c}a"), format!("a{c}"), c.to_string()] {
                let trimmed = value.trim();
                let expected = trimmed.len() != value.len() || trimmed.is_empty();
                assert_eq!(is_untidy(&value), expected, "{value:?}");
            }
        }
    }

    /// `empty_number` says empty exactly where `normalized_number` leaves
    /// nothing (the row check and the key must not disagree).
    #[test]
    fn empty_number_agrees_with_normalisation() {
        let values = [
            "+ - ",
            "+",
            "00",
            "+00",
            "+ 0 0",
            "(-)",
            "٠٠",
            "+۰۰",
            " . ",
            "0",
            "000",
            "+0",
            "+966501234567",
            "00966 50",
            "SA.1502",
            "+-1",
            "0-0-0",
            "+000",
        ];
        let frame = df!("v" => values).unwrap();
        let out = frame
            .lazy()
            .select([
                empty_number(col("v")).alias("empty"),
                normalized_number(col("v")).alias("normalized"),
            ])
            .collect()
            .unwrap();
        let empty: Vec<bool> = out
            .column("empty")
            .unwrap()
            .bool()
            .unwrap()
            .iter()
            .map(|b| b == Some(true))
            .collect();
        let normalized = out.column("normalized").unwrap().str().unwrap();
        for (i, value) in values.iter().enumerate() {
            // What is left once the formatting and one leading prefix go.
            let stripped: String = value
                .chars()
                .filter(|c| !c.is_whitespace() && !"-.()".contains(*c))
                .map(|c| match c {
                    '\u{0660}' | '\u{06F0}' => '0',
                    c => c,
                })
                .collect();
            let rest = ["+00", "+", "00"]
                .iter()
                .find_map(|p| stripped.strip_prefix(p))
                .unwrap_or(&stripped);
            assert_eq!(empty[i], rest.is_empty(), "{value:?}");
            if !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit()) {
                assert_eq!(normalized.get(i), Some(rest), "{value:?}");
            }
        }
        assert!(empty[0] && empty[3] && empty[6] && !empty[9] && !empty[12]);
    }

    /// The columns `trimmed_inputs` rewrites, by name.
    fn untidy(raw: &DataFrame) -> Vec<String> {
        let exprs = trimmed_inputs(raw).unwrap();
        exprs
            .iter()
            .map(|e| e.clone().meta().output_name().unwrap().to_string())
            .collect()
    }

    /// Whitespace at either end, of any Unicode kind, or an empty value
    /// marks a column; whitespace inside a value does not.
    #[test]
    fn a_column_is_rewritten_when_a_value_has_whitespace_at_an_end_or_is_empty() {
        let cases = [
            ("a b", false),
            ("\u{00A0}x", true),
            ("x\u{2003}", true),
            ("x\n", true),
            ("\tx", true),
            ("", true),
            ("é", false),
            ("x\u{200B}", false), // zero-width space is not White_Space
        ];
        for (value, expected) in cases {
            let raw = df!(
                MESSAGE_ID => ["m1", "m2"],
                CONTACT => ["+966501234567", value],
            )
            .unwrap();
            let expected: Vec<String> = if expected {
                vec![CONTACT.into()]
            } else {
                vec![]
            };
            assert_eq!(untidy(&raw), expected, "{value:?}");
        }
    }
}
