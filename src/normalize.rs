//! Raw records → canonical messages, rejected rows and duplicates.
//!
//! Takes the string frame from `ingest` and returns:
//! - `messages`: one row per accepted, first-seen message, with typed and
//!   normalised columns (UTC instant, direction flag, template flag,
//!   category, failed flag, contact key, country);
//! - `rejected`: every record that could not be used, with file, record
//!   number, line and the reason (DOMAIN.md §2, §8.13);
//! - the count of duplicate message ids (webhook retries), per file.
//!
//! Invariant: `rows read = messages + rejected + duplicates`, per file.
//! Order of checks follows §8.4: validate, then dedupe (a retry whose first
//! copy was rejected is kept).

use anyhow::Result;
use polars::prelude::*;

use crate::country;
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

pub fn normalize(raw: DataFrame, input_tz: &str) -> Result<Normalized> {
    let checked = raw
        .lazy()
        .with_columns(trimmed_inputs())
        .with_column(timestamps::rfc3339_parts(timestamp_text())?.alias(TIMESTAMP_PARTS))
        .with_columns(reject_reason(input_tz)?)
        .drop(cols([TIMESTAMP_PARTS]))
        .collect()?;
    let rejected = checked
        .clone()
        .lazy()
        .filter(col(REJECT_REASON).is_not_null())
        .select(rejected_columns())
        .collect()?;
    let valid = checked
        .lazy()
        .filter(col(REJECT_REASON).is_null())
        .with_column(
            col(MESSAGE_ID)
                .is_first_distinct()
                .not()
                .alias(IS_DUPLICATE),
        )
        .collect()?;
    let duplicates_by_file = count_by_file(valid.clone().lazy().filter(col(IS_DUPLICATE)))?;
    let rejected_by_file = count_by_file(rejected.clone().lazy())?;
    let messages = valid.lazy().filter(col(IS_DUPLICATE).not());
    let messages = with_countries(canonical(messages))?.collect()?;
    Ok(Normalized {
        messages,
        rejected,
        duplicates_by_file,
        rejected_by_file,
    })
}

/// §8.21: every field is trimmed; empty after trimming is missing.
fn trimmed_inputs() -> Vec<Expr> {
    value_columns()
        .map(|c| {
            let trimmed = col(c).str().strip_chars(lit(NULL));
            when(trimmed.clone().str().len_bytes().eq(lit(0u32)))
                .then(lit(NULL).cast(DataType::String))
                .otherwise(trimmed)
                .alias(c)
        })
        .collect()
}

/// The timestamp text still to parse: none where the file stored a native
/// instant (Parquet), so those rows skip the regex.
fn timestamp_text() -> Expr {
    when(col(TIMESTAMP_NATIVE).is_null())
        .then(col(TIMESTAMP))
        .otherwise(lit(NULL).cast(DataType::String))
}

const TIMESTAMP_PARTS: &str = "_timestamp_parts";

fn reject_reason(input_tz: &str) -> Result<Vec<Expr>> {
    let parsed = timestamps::parse_parts(timestamp_text(), col(TIMESTAMP_PARTS), input_tz)?;
    let ts = col(TIMESTAMP_NATIVE)
        .cast(DataType::Int64)
        .fill_null(parsed.micros.clone());
    let direction = col(DIRECTION).str().to_lowercase();
    let known_direction = direction.is_in(
        lit(Series::new("d".into(), ["inbound", "outbound"])).implode(false),
        false,
    );
    let reason = when(col(INGEST_ERROR).is_not_null())
        .then(col(INGEST_ERROR))
        .when(col(MESSAGE_ID).is_null())
        .then(lit("missing message_id"))
        .when(col(CONTACT).is_null())
        .then(lit("missing contact"))
        .when(col(DIRECTION).is_null())
        .then(lit("missing direction"))
        .when(known_direction.not())
        .then(lit("unknown direction (expected inbound or outbound)"))
        .when(
            col(TIMESTAMP)
                .is_null()
                .and(col(TIMESTAMP_NATIVE).is_null()),
        )
        .then(lit("missing timestamp"))
        .when(col(TIMESTAMP_NATIVE).is_null().and(parsed.in_dst_gap))
        .then(lit(
            "local time does not exist in the input time zone (DST gap)",
        ))
        .when(ts.clone().is_null())
        .then(lit(
            "unparseable timestamp (expected RFC 3339 or 10/13-digit Unix time)",
        ))
        .otherwise(lit(NULL).cast(DataType::String));
    Ok(vec![reason.alias(REJECT_REASON), ts.alias(TS)])
}

fn rejected_columns() -> Vec<Expr> {
    let mut columns = vec![
        col(SOURCE_FILE).alias("file"),
        col(SOURCE_ROW).alias("row"),
        col(SOURCE_LINE).alias("line"),
        col(REJECT_REASON),
        col(FILE_INDEX),
    ];
    columns.extend(INPUT_COLUMNS.iter().map(|c| col(*c)));
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

/// Typed, canonical columns of accepted messages.
fn canonical(messages: LazyFrame) -> LazyFrame {
    let is_inbound = col(DIRECTION).str().to_lowercase().eq(lit("inbound"));
    let kind = col(TYPE).str().to_lowercase();
    let is_template = is_inbound
        .clone()
        .not()
        .and(kind.clone().eq(lit("template")).fill_null(false));
    let status = col(STATUS).str().to_lowercase();
    let failed = is_inbound.clone().not().and(
        status
            .clone()
            .eq(lit("failed"))
            .fill_null(false)
            .or(col(ERROR_CODE).is_not_null()),
    );
    let entry_point = col(ENTRY_POINT).str().to_lowercase();
    messages.with_columns([
        normalized_number(col(CONTACT)).alias(CONTACT),
        normalized_number(col(BUSINESS_NUMBER))
            .fill_null(lit("default"))
            .alias(BUSINESS_NUMBER),
        is_inbound.clone().alias(IS_INBOUND),
        when(is_inbound.clone())
            .then(lit("inbound"))
            .otherwise(lit("outbound"))
            .alias(DIRECTION),
        kind.alias(TYPE),
        col(CATEGORY).alias("category_given"),
        is_template.clone().alias(IS_TEMPLATE),
        when(is_template)
            .then(normalized_category())
            .otherwise(lit(NULL).cast(DataType::String))
            .alias(CATEGORY),
        status.alias(STATUS),
        failed.alias(FAILED),
        is_inbound
            .and(entry_point.is_in(
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

/// §8.3: spelling variants of Meta's categories; anything else on a
/// template (missing included) is `unknown`.
fn normalized_category() -> Expr {
    let c = col(CATEGORY).str().to_lowercase();
    when(
        c.clone()
            .eq(lit("marketing"))
            .or(c.clone().eq(lit("marketing_lite"))),
    )
    .then(lit("marketing"))
    .when(c.clone().eq(lit("utility")))
    .then(lit("utility"))
    .when(c.clone().eq(lit("authentication")))
    .then(lit("authentication"))
    .when(
        c.clone()
            .eq(lit("authentication_international"))
            .or(c.eq(lit("authentication-international"))),
    )
    .then(lit("authentication_international"))
    .otherwise(lit("unknown"))
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
        .replace_all(lit(r"[\s\-\.\(\)]"), lit(""), false)
        .str()
        .replace(lit(r"^(\+00|\+|00)"), lit(""), false);
    let all_digits = digits.clone().str().contains(lit("^[0-9]+$"), true);
    when(all_digits).then(digits).otherwise(value)
}

/// Adds `country`: the input's own value when it is a two-letter code,
/// otherwise derived once per distinct contact (`country` module) and
/// joined back.
fn with_countries(messages: LazyFrame) -> Result<LazyFrame> {
    let given = col(COUNTRY).str().to_uppercase();
    let valid_given = when(given.clone().str().contains(lit("^[A-Z]{2}$"), true))
        .then(given)
        .otherwise(lit(NULL).cast(DataType::String));
    let messages = messages
        .with_column(valid_given.alias("country_given"))
        .collect()?;
    let derived = derive_countries(messages.column(CONTACT)?)?;
    Ok(messages
        .lazy()
        .join(
            derived.lazy(),
            [col(CONTACT)],
            [col(CONTACT)],
            JoinArgs {
                maintain_order: MaintainOrderJoin::Left,
                ..JoinArgs::new(JoinType::Left)
            },
        )
        .with_column(
            col("country_given")
                .fill_null(col("country_derived"))
                .alias(COUNTRY),
        )
        .drop(cols(["country_given", "country_derived"])))
}

/// Countries of the distinct contact keys, one libphonenumber parse each.
fn derive_countries(contacts: &Column) -> Result<DataFrame> {
    let distinct = contacts.unique()?;
    let keys = distinct.str()?;
    let countries: Vec<Option<String>> = keys
        .iter()
        .map(|key| key.map(country::country_of_contact))
        .collect();
    Ok(DataFrame::new_infer_height(vec![
        distinct.clone().with_name(CONTACT.into()),
        Column::new("country_derived".into(), countries),
    ])?)
}
