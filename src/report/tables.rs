//! The output tables of docs §6, as frames: `sends`, `windows`,
//! `summary` and `rejected`.
//!
//! Windows are rebuilt from all history; these tables keep what the
//! reporting period selects: sends sent in it, windows opened in it.
//! Every table has a total sort order, so equal input gives equal bytes.

use anyhow::Result;
use polars::prelude::*;

use crate::rows::Streamed;

use crate::config::Settings;
use crate::frames;
use crate::pricing::conversations::{
    CONVERSATION_CATEGORY, CONVERSATION_ENDS_US, CONVERSATION_EXPIRES_US, CONVERSATION_MESSAGES,
    CONVERSATION_OPENER, OPENS_CONVERSATION,
};
use crate::pricing::money::nanos_text;
use crate::pricing::{
    AVOIDABLE, COST, CURRENCY, MARKET, PRICING_RULE, RATE_CATEGORY, RATE_FROM, REGIME, TIER,
};
use crate::rows::{Rows, Table};
use crate::schema::*;
use crate::timestamps::TIME_FORMAT;
use crate::windows::{TS_US, WINDOW_OPENER};
use crate::Analysis;

pub struct Tables {
    pub windows: Rows,
    /// Conversations opened in the period (§11), typed, in conversation
    /// id order, with their `month` and billing month: parts like the
    /// sends they come from (a long history has millions).
    pub conversations: Rows,
    pub summary: DataFrame,
    pub rejected: DataFrame,
    /// Outbound messages in the period, internal columns kept (for figures),
    /// in the order of the messages: (business number, contact, time,
    /// message_id), the order of `windows.csv`. One customer's sends are
    /// together, and a table made per range of pairs is a slice of it.
    pub sends_full: Rows,
    /// The same sends priced under `--compare-regime`.
    pub comparison: Option<Rows>,
    /// Against Meta's own flags and analytics, when the input has them
    /// (set by [`Tables::reconciled`]).
    pub reconciliation: Option<crate::reconcile::Reconciliation>,
    /// The late-reply sends of the period with the opening instant of the
    /// window each followed (`staffing`): `cost_nanos`, `currency`,
    /// [`super::staffing::LAPSED_OPENED_US`].
    pub late_reply_windows: DataFrame,
}

impl Tables {
    /// The sends are found here, reading every priced message again, not
    /// kept by the chain as it prices each part: tried at 10M rows, the
    /// chain's extra table cost the parts about 5 s of the two cores, and
    /// a table the run's patch must be applied to on every scan cost the
    /// summing up 2 s, for the 3.5 s this step took.
    pub fn build(analysis: &Analysis, settings: &Settings) -> Result<Self> {
        let sends_of = |messages: &Rows| -> Result<Rows> {
            messages.map_parts("sends", |part| period_sends(&part, settings))
        };
        let (sends_full, conversations) = match analysis.conversations {
            0 => {
                let sends = sends_of(&analysis.messages)?;
                let none = conversations_of(&sends.scan().limit(0).collect()?)?;
                (sends, Rows::from(none))
            }
            _ => analysis
                .messages
                .map_parts_paired(["sends", "conversations"], |part| {
                    let sends = period_sends(&part, settings)?;
                    let conversations = conversations_of(&sends)?;
                    Ok((sends, conversations))
                })?,
        };
        let comparison = analysis.comparison.as_ref().map(sends_of).transpose()?;
        Ok(Tables {
            reconciliation: None,
            late_reply_windows: late_reply_windows(&sends_full, &analysis.windows)?,
            windows: windows_table(&analysis.windows, settings)?,
            conversations,
            summary: summary_table(&sends_full)?,
            rejected: rejected_table(&analysis.rejected)?,
            sends_full,
            comparison,
        })
    }
}

/// Late replies with the opening of the window they followed, from the
/// windows of all history (it may have opened before the period).
fn late_reply_windows(sends: &Rows, windows: &Rows) -> Result<DataFrame> {
    let opened = windows.clone().lazy().select([
        col(WINDOW_ID).alias(LAST_WINDOW_ID),
        col("opened_at")
            .cast(DataType::Int64)
            .alias(super::staffing::LAPSED_OPENED_US),
    ]);
    Ok(sends
        .clone()
        .lazy()
        .filter(col(CLASS).eq(lit("template_late_reply")))
        .select([col(LAST_WINDOW_ID), col(COST), col(CURRENCY)])
        .join(
            opened,
            [col(LAST_WINDOW_ID)],
            [col(LAST_WINDOW_ID)],
            JoinArgs::new(JoinType::Left),
        )
        .select([
            col(super::staffing::LAPSED_OPENED_US),
            col(COST),
            col(CURRENCY),
        ])
        .streamed()?)
}

/// The outbound messages of the period (of one part), with their month.
pub(crate) fn period_sends(messages: &DataFrame, settings: &Settings) -> Result<DataFrame> {
    let in_period = col(IS_INBOUND).not().and(in_period(col(TS_US), settings));
    let sends = frames::filtered(messages, in_period)?;
    let mut sends = sends.lazy().with_column(quarter_of(col(TS_US))).collect()?;
    let zone = report_zone(settings);
    frames::map_per_distinct(&mut sends, QUARTER_HOUR, "month", |quarter| {
        month_in(quarter_start(quarter), &zone)
            .dt()
            .strftime("%Y-%m")
    })?;
    Ok(sends.drop(QUARTER_HOUR)?)
}

impl Tables {
    /// Adds the reconciliation against Meta's data (only the run's own
    /// period needs it, not the month it is compared with).
    pub fn reconciled(mut self, analysis: &Analysis, settings: &Settings) -> Result<Self> {
        self.reconciliation = crate::reconcile::reconcile(
            &self.sends_full,
            &self.conversations,
            settings.rules.pricing.is_what_if(),
            analysis
                .meta_analytics
                .as_ref()
                .map(|(file, points)| (file.as_str(), points)),
            &analysis
                .files
                .iter()
                .filter_map(|f| f.webhook.as_ref())
                .flat_map(|w| w.tier_updates.iter().cloned())
                .collect::<Vec<_>>(),
        )?;
        Ok(self)
    }
}

/// Local months (here) and weeks, weekdays and hours (`figures`) are found
/// once per quarter hour of the rows, not per row: every zone's offset
/// since 2010 is a whole number of quarter hours, so all instants of a
/// quarter hour fall in one local month, week, day and hour.
pub(crate) const QUARTER_HOUR: &str = "_quarter_hour";
const QUARTER_HOUR_US: i64 = 900_000_000;

/// The quarter hour (since the epoch) of an instant in µs, as
/// [`QUARTER_HOUR`].
pub(crate) fn quarter_of(ts_us: Expr) -> Expr {
    ts_us.floor_div(lit(QUARTER_HOUR_US)).alias(QUARTER_HOUR)
}

/// The first instant of a quarter hour, as a UTC datetime.
pub(crate) fn quarter_start(quarter: Expr) -> Expr {
    (quarter * lit(QUARTER_HOUR_US)).cast(DataType::Datetime(
        TimeUnit::Microseconds,
        Some(TimeZone::UTC),
    ))
}

/// `[from, to)` of the reporting period, on an Int64 µs column.
pub fn in_period(ts_us: Expr, settings: &Settings) -> Expr {
    let from = settings
        .output
        .period
        .from_us
        .map_or(lit(true), |f| ts_us.clone().gt_eq(lit(f)));
    let to = settings
        .output
        .period
        .to_us
        .map_or(lit(true), |t| ts_us.lt(lit(t)));
    from.and(to)
}

/// The report time zone (`--tz`) as polars names it (a name `config`
/// already checked).
pub(crate) fn report_zone(settings: &Settings) -> TimeZone {
    TimeZone::opt_try_new(Some(settings.output.report_tz.name()))
        .ok()
        .flatten()
        .unwrap_or(TimeZone::UTC)
}

/// The month of an instant in the report time zone (§8.12), as the Date
/// of its first day.
fn month_in(ts: Expr, zone: &TimeZone) -> Expr {
    frames::month_start(ts.dt().convert_time_zone(zone.clone()).dt().date())
}

fn utc_text(name: &str) -> Expr {
    col(name).dt().strftime(TIME_FORMAT).alias(name)
}

/// The columns of `sends.csv` (docs §6) in order, `timestamp` given
/// by the caller and the rate date and the amounts still typed.
fn sends_columns(timestamp: Expr) -> Vec<Expr> {
    vec![
        col(MESSAGE_ID),
        col(BUSINESS_NUMBER),
        col(CONTACT),
        timestamp.alias("timestamp"),
        col(COUNTRY),
        col(MARKET),
        col(TYPE),
        col(TEMPLATE_NAME),
        col(CATEGORY),
        col(STATUS),
        col(FAILED).alias("failed"),
        col(CLASS),
        col(WINDOW_OPENER).alias(WINDOW_ID),
        col(CONVERSATION_OPENER).alias("conversation_id"),
        col(REGIME),
        col(PRICING_RULE),
        col(COST).alias("cost"),
        col(CURRENCY),
        col(AVOIDABLE).alias("avoidable_cost"),
        col(RATE_FROM),
        col(RATE_CATEGORY),
        col(TIER),
    ]
}

/// The `sends` table as text, lazily (for SQL sections: only the columns a
/// query reads are formatted), with `extra` columns after it.
pub fn sends_text(sends_full: LazyFrame, extra: Vec<Expr>) -> LazyFrame {
    let mut columns = sends_columns(utc_text(TS));
    columns.extend(extra);
    sends_full.select(columns).with_columns([
        col(RATE_FROM).dt().strftime("%Y-%m-%d"),
        nanos_text(col("cost")).alias("cost"),
        nanos_text(col("avoidable_cost")).alias("avoidable_cost"),
    ])
}

/// The `sends` table as written to a file: amounts as exact decimal text
/// (formatted once per distinct amount: they repeat, one per rate), the
/// timestamp and rate date typed. The CSV writer formats those as it writes
/// (TIME_FORMAT, `%Y-%m-%d`); Parquet keeps them typed.
fn sends_export(sends_full: DataFrame) -> Result<DataFrame> {
    let mut table = sends_full
        .lazy()
        .select(sends_columns(col(TS)))
        .streamed()?;
    for amount in ["cost", "avoidable_cost"] {
        frames::map_per_distinct(&mut table, amount, amount, nanos_text)?;
    }
    Ok(table)
}

/// Rows of `sends.csv` formatted at a time: the text of a chunk exists only
/// while it is written, so a run of 100M sends does not hold 100M rows of
/// text.
const SENDS_CHUNK: usize = 1 << 20;

/// Writes `sends.csv` from the typed sends, chunk by chunk (the bytes are
/// those of the whole table written at once).
pub fn write_sends_csv(sends_full: &Rows, out: &mut dyn std::io::Write) -> Result<()> {
    sends_full
        .for_each_part(|part, first| write_csv_by(&part, out, first, SENDS_CHUNK, sends_export))
}

/// Writes `sends.parquet`: the columns of `sends.csv`, the timestamp a UTC
/// datetime and the rate date a date; amounts stay exact decimal text.
pub fn write_sends_parquet(sends_full: &Rows, out: &mut dyn std::io::Write) -> Result<()> {
    write_parquet_by(sends_full, out, sends_export)
}

/// Writes a table as one Parquet file; parts become row groups as they
/// are read (so a partitioned run's file has other row groups than a
/// single pass's, with the same rows).
fn write_parquet_by(
    rows: &Rows,
    out: &mut dyn std::io::Write,
    as_written: impl Fn(DataFrame) -> Result<DataFrame>,
) -> Result<()> {
    if let Rows::Frame(frame) = rows {
        ParquetWriter::new(out).finish(&mut as_written(frame.clone())?)?;
        return Ok(());
    }
    let mut parts = rows.iter_parts();
    let first = match parts.next() {
        Some(part) => as_written(part?)?,
        None => return Ok(()),
    };
    // The batched writer takes a frame's chunks as row groups: its
    // columns must be cut alike.
    let aligned = |mut part: DataFrame| {
        part.rechunk_mut_par();
        part
    };
    let mut writer = ParquetWriter::new(out).batched(first.schema())?;
    writer.write_batch(&aligned(first))?;
    for part in parts {
        writer.write_batch(&aligned(as_written(part?)?))?;
    }
    writer.finish()?;
    Ok(())
}

/// Writes `windows.parquet`: the columns of `windows.csv`, instants as UTC
/// datetimes.
pub fn write_windows_parquet(windows: &Rows, out: &mut dyn std::io::Write) -> Result<()> {
    write_parquet_by(windows, out, Ok)
}

/// Writes `windows.csv` chunk by chunk, instants as RFC 3339 text.
pub fn write_windows_csv(windows: &Rows, out: &mut dyn std::io::Write) -> Result<()> {
    // The CSV writer formats the instants as it writes (TIME_FORMAT).
    windows.for_each_part(|part, first| write_csv_by(&part, out, first, SENDS_CHUNK, Ok))
}

/// The windows table with `opened_at` and `closes_at` as text, as in
/// `windows.csv` and the SQL sections.
pub fn windows_text(windows: LazyFrame) -> LazyFrame {
    windows.with_columns([utc_text("opened_at"), utc_text("closes_at")])
}

/// Writes `frame` as CSV (after a header row when `header`), `chunk_rows`
/// rows made text by `as_text` at a time.
fn write_csv_by(
    frame: &DataFrame,
    out: &mut dyn std::io::Write,
    header: bool,
    chunk_rows: usize,
    as_text: impl Fn(DataFrame) -> Result<DataFrame>,
) -> Result<()> {
    let mut offset = 0;
    loop {
        let table = as_text(frame.slice(offset as i64, chunk_rows))?;
        super::write_csv(&table, out, header && offset == 0)?;
        offset += chunk_rows;
        if offset >= frame.height() {
            return Ok(());
        }
    }
}

/// The windows of the period as they stood at `end_us`: answered only by
/// a reply before it (the previous month of a run over later history, as
/// that month's own report saw it).
pub fn as_of(windows: &Rows, end_us: i64) -> Result<Rows> {
    let first_reply_us = col("opened_at").cast(DataType::Int64)
        + (col("first_response_secs") * lit(1e6))
            .round(0, RoundMode::HalfToEven)
            .cast(DataType::Int64);
    let replied = first_reply_us.lt(lit(end_us)).fill_null(false);
    windows.map_parts("windows_as_of", |part| {
        Ok(part
            .lazy()
            .with_columns([
                col("answered").and(replied.clone()).alias("answered"),
                when(replied.clone())
                    .then(col("first_response_secs"))
                    .otherwise(lit(NULL).cast(DataType::Float64))
                    .alias("first_response_secs"),
            ])
            .collect()?)
    })
}

fn windows_table(windows: &Rows, settings: &Settings) -> Result<Rows> {
    windows.map_parts("windows", |part| windows_in_period(part, settings))
}

fn windows_in_period(windows: DataFrame, settings: &Settings) -> Result<DataFrame> {
    Ok(windows
        .lazy()
        .filter(in_period(col("opened_at").cast(DataType::Int64), settings))
        .select([
            col(WINDOW_OPENER).alias(WINDOW_ID),
            col(BUSINESS_NUMBER),
            col(CONTACT),
            col(COUNTRY),
            col("opened_at"),
            col("closes_at"),
            col("inbound_count"),
            col("outbound_count"),
            col("answered"),
            col("first_response_secs"),
        ])
        .streamed()?)
}

/// The columns of `conversations.csv` (§11), instants and amounts typed.
pub const CONVERSATION_COLUMNS: [&str; 15] = [
    "conversation_id",
    BUSINESS_NUMBER,
    CONTACT,
    COUNTRY,
    MARKET,
    "category",
    "opened_at",
    "expires_at",
    "closed_at",
    "opening_message_id",
    "messages",
    REGIME,
    PRICING_RULE,
    "cost",
    CURRENCY,
];

/// The conversations opened by `sends` (of one part).
fn conversations_of(sends: &DataFrame) -> Result<DataFrame> {
    let sends = frames::filtered(sends, col(OPENS_CONVERSATION))?.lazy();
    let instant = |us: Expr| {
        us.cast(DataType::Datetime(
            TimeUnit::Microseconds,
            Some(TimeZone::UTC),
        ))
    };
    let columns = [
        col(CONVERSATION_OPENER).alias("conversation_id"),
        col(BUSINESS_NUMBER),
        col(CONTACT),
        col(COUNTRY),
        col(MARKET),
        col(CONVERSATION_CATEGORY).alias("category"),
        col(TS).alias("opened_at"),
        instant(col(CONVERSATION_EXPIRES_US)).alias("expires_at"),
        instant(col(CONVERSATION_ENDS_US)).alias("closed_at"),
        col(MESSAGE_ID).alias("opening_message_id"),
        col(CONVERSATION_MESSAGES).alias("messages"),
        col(REGIME),
        col(PRICING_RULE),
        col(COST).alias("cost"),
        col(CURRENCY),
        col("month"),
        col(crate::pricing::BILLING_MONTH),
    ];
    // Sends are in pair and time order, the order conversation ids follow.
    Ok(sends.select(columns).collect()?)
}

/// `conversations.csv` as written: amounts as exact decimal text, without
/// the months.
fn conversations_export(conversations: DataFrame) -> Result<DataFrame> {
    let mut table = conversations.select(CONVERSATION_COLUMNS)?;
    frames::map_per_distinct(&mut table, "cost", "cost", nanos_text)?;
    Ok(table)
}

/// Writes `conversations.csv` part by part.
pub fn write_conversations_csv(conversations: &Rows, out: &mut dyn std::io::Write) -> Result<()> {
    conversations.for_each_part(|part, first| {
        write_csv_by(&part, out, first, SENDS_CHUNK, conversations_export)
    })
}

/// Writes `conversations.parquet`: instants as UTC datetimes, amounts as
/// exact decimal text.
pub fn write_conversations_parquet(
    conversations: &Rows,
    out: &mut dyn std::io::Write,
) -> Result<()> {
    write_parquet_by(conversations, out, conversations_export)
}

/// Month × country × market × category × tier × class × conversation
/// category (`cbp`; empty otherwise) × currency (§5.4, §6, §11), with how
/// many conversations the group's sends opened.
pub fn summary_table(sends: &impl Table) -> Result<DataFrame> {
    let keys = [
        "month",
        COUNTRY,
        MARKET,
        CATEGORY,
        TIER,
        CLASS,
        CONVERSATION_CATEGORY,
        CURRENCY,
    ];
    let mut order: Vec<Expr> = keys.map(col).into();
    order.insert(4, crate::pricing::tiers::lower_bound(col(TIER)));
    let mut aggregates = spend_aggregates().to_vec();
    aggregates.push(
        col(OPENS_CONVERSATION)
            .cast(DataType::UInt64)
            .sum()
            .alias("conversations"),
    );
    Ok(sends
        .scan()
        .group_by(keys.map(col))
        .agg(aggregates)
        .sort_by_exprs(order, SortMultipleOptions::default().with_nulls_last(false))
        .with_columns(
            ["cost", "avoidable_cost", "late_reply_cost"].map(|c| nanos_text(col(c)).alias(c)),
        )
        .streamed()?)
}

/// Windows opened and lapsed unanswered per business number, in the period.
pub fn windows_by_business(tables: &Tables) -> LazyFrame {
    tables
        .windows
        .clone()
        .lazy()
        .group_by([col(BUSINESS_NUMBER)])
        .agg([
            len().cast(DataType::UInt64).alias("windows"),
            col("answered")
                .not()
                .cast(DataType::UInt64)
                .sum()
                .alias("lapsed"),
        ])
}

/// Counts and spend of a group of sends, spend still in nano-units.
pub fn spend_aggregates() -> [Expr; 6] {
    let unpriced = col(PRICING_RULE)
        .eq(lit("unpriced"))
        .or(col(PRICING_RULE).eq(lit("unpriced_regime")));
    let [cost, avoidable, late] = money_aggregates();
    [
        len().cast(DataType::UInt64).alias("messages"),
        col(FAILED).cast(DataType::UInt64).sum().alias("failed"),
        unpriced.cast(DataType::UInt64).sum().alias("unpriced"),
        cost,
        avoidable,
        late,
    ]
}

/// `cost`, `avoidable_cost` and `late_reply_cost` of a group of sends, in
/// nano-units.
pub fn money_aggregates() -> [Expr; 3] {
    let late = col(CLASS).eq(lit("template_late_reply"));
    [
        col(COST).sum().alias("cost"),
        col(AVOIDABLE).sum().alias("avoidable_cost"),
        when(late)
            .then(col(COST))
            .otherwise(lit(0i64))
            .sum()
            .alias("late_reply_cost"),
    ]
}

fn rejected_table(rejected: &DataFrame) -> Result<DataFrame> {
    Ok(rejected
        .clone()
        .lazy()
        .sort(["file", "row"], Default::default())
        .drop(cols([FILE_INDEX]))
        .streamed()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Typed sends of `n` rows with repeating amounts and dates, a formula
    /// look-alike and nulls, as the pricing stage leaves them.
    fn sends(n: usize) -> DataFrame {
        let i: Vec<i64> = (0..n as i64).collect();
        let text = |prefix: &str| -> Vec<Option<String>> {
            i.iter()
                .map(|k| (k % 4 != 3).then(|| format!("{prefix}{}", k % 5)))
                .collect()
        };
        let frame = df!(
            MESSAGE_ID => i.iter().map(|k| format!("m{k}")).collect::<Vec<_>>(),
            BUSINESS_NUMBER => text("9665"),
            CONTACT => text("=2+"),
            TS => i.iter().map(|k| 1_773_136_800_000_000 + k * 61_000_123).collect::<Vec<_>>(),
            COUNTRY => text("S"),
            MARKET => text("Market "),
            TYPE => text("t"),
            TEMPLATE_NAME => text("-x"),
            CATEGORY => text("c"),
            STATUS => text("s"),
            FAILED => i.iter().map(|k| k % 3 == 0).collect::<Vec<_>>(),
            CLASS => text("k"),
            WINDOW_OPENER => i.iter().map(|k| (k % 7 != 0).then(|| format!("in{k}"))).collect::<Vec<_>>(),
            CONVERSATION_OPENER => i.iter().map(|k| (k % 5 == 0).then(|| format!("m{k}"))).collect::<Vec<_>>(),
            REGIME => text("r"),
            PRICING_RULE => text("p"),
            COST => i.iter().map(|k| (k % 6 != 5).then_some((k % 4) * 12_345_000 - 20_000_000)).collect::<Vec<_>>(),
            CURRENCY => text("USD"),
            AVOIDABLE => i.iter().map(|k| (k % 5 != 4).then_some(k % 3 * 1_000)).collect::<Vec<_>>(),
            RATE_FROM => i.iter().map(|k| (k % 8 != 7).then_some(20_000 + (k % 3) as i32)).collect::<Vec<_>>(),
            RATE_CATEGORY => text("utility"),
            TIER => i.iter().map(|k| (k % 2 == 0).then(|| format!("{}:MAX", k % 3))).collect::<Vec<_>>(),
        )
        .unwrap();
        frame
            .lazy()
            .with_columns([
                col(TS).cast(DataType::Datetime(
                    TimeUnit::Microseconds,
                    Some(TimeZone::UTC),
                )),
                col(RATE_FROM).cast(DataType::Date),
            ])
            .collect()
            .unwrap()
    }

    fn csv_by(frame: &DataFrame, chunk_rows: usize) -> String {
        let mut bytes = Vec::new();
        write_csv_by(frame, &mut bytes, true, chunk_rows, sends_export).unwrap();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn sends_csv_in_chunks_is_the_table_written_at_once() {
        let frame = sends(23);
        let whole = csv_by(&frame, 1000);
        assert_eq!(whole.lines().count(), 24, "{whole}");
        assert!(whole.contains("'=2+1"), "neutralised: {whole}");
        for chunk_rows in [1, 4, 22, 23] {
            assert_eq!(csv_by(&frame, chunk_rows), whole, "chunks of {chunk_rows}");
        }
        assert_eq!(
            csv_by(&sends(0), 4).lines().count(),
            1,
            "a header when empty"
        );
    }

    #[test]
    fn sql_text_of_sends_matches_the_csv() {
        let frame = sends(23);
        let text = sends_text(frame.clone().lazy(), vec![]).collect().unwrap();
        let mut bytes = Vec::new();
        super::super::write_csv(&text, &mut bytes, true).unwrap();
        assert_eq!(String::from_utf8(bytes).unwrap(), csv_by(&frame, 5));
    }
}
