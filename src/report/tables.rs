//! The output tables of DOMAIN.md §6, as frames: `sends`, `windows`,
//! `summary` and `rejected`.
//!
//! Windows are rebuilt from all history; these tables keep what the
//! reporting period selects: sends sent in it, windows opened in it.
//! Every table has a total sort order, so equal input gives equal bytes.

use anyhow::Result;
use polars::prelude::*;

use crate::config::Settings;
use crate::frames;
use crate::pricing::money::nanos_text;
use crate::pricing::{AVOIDABLE, COST, CURRENCY, MARKET, PRICING_RULE, RATE_FROM, REGIME};
use crate::schema::*;
use crate::windows::TS_US;
use crate::Analysis;

/// RFC 3339 in UTC, fraction digits only when there are any.
pub const TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.fZ";

pub struct Tables {
    pub sends: DataFrame,
    pub windows: DataFrame,
    pub summary: DataFrame,
    pub rejected: DataFrame,
    /// Outbound messages in the period, internal columns kept (for figures).
    pub sends_full: DataFrame,
    /// The same sends priced under `--compare-regime`.
    pub comparison: Option<DataFrame>,
    /// Against Meta's own flags and analytics, when the input has them
    /// (set by [`Tables::reconciled`]).
    pub reconciliation: Option<crate::reconcile::Reconciliation>,
}

impl Tables {
    pub fn build(analysis: &Analysis, settings: &Settings) -> Result<Self> {
        let period_sends = |messages: &DataFrame| -> Result<DataFrame> {
            let mut sends = messages
                .clone()
                .lazy()
                .filter(col(IS_INBOUND).not().and(in_period(col(TS_US), settings)))
                .with_column(month_of(col(TS), settings)?.alias("month"))
                .sort_by_exprs([col(TS), col(MESSAGE_ID)], SortMultipleOptions::default())
                .collect()?;
            frames::dates_as_text(&mut sends, "month", "%Y-%m")?;
            Ok(sends)
        };
        let sends_full = period_sends(&analysis.messages)?;
        let comparison = analysis.comparison.as_ref().map(period_sends).transpose()?;
        Ok(Tables {
            reconciliation: None,
            sends: sends_table(&sends_full)?,
            windows: windows_table(&analysis.windows, settings)?,
            summary: summary_table(&sends_full)?,
            rejected: rejected_table(&analysis.rejected)?,
            sends_full,
            comparison,
        })
    }
}

impl Tables {
    /// Adds the reconciliation against Meta's data (only the run's own
    /// period needs it, not the month it is compared with).
    pub fn reconciled(mut self, analysis: &Analysis, settings: &Settings) -> Result<Self> {
        self.reconciliation = crate::reconcile::reconcile(
            &self.sends_full,
            settings.pricing.is_what_if(),
            analysis
                .meta_analytics
                .as_ref()
                .map(|(file, points)| (file.as_str(), points)),
        )?;
        Ok(self)
    }
}

/// `[from, to)` of the reporting period, on an Int64 µs column.
pub fn in_period(ts_us: Expr, settings: &Settings) -> Expr {
    let from = settings
        .period
        .from_us
        .map_or(lit(true), |f| ts_us.clone().gt_eq(lit(f)));
    let to = settings
        .period
        .to_us
        .map_or(lit(true), |t| ts_us.lt(lit(t)));
    from.and(to)
}

/// The month of an instant in the report time zone (§8.12), as the Date
/// of its first day (`frames::dates_as_text` makes it `YYYY-MM`).
pub fn month_of(ts: Expr, settings: &Settings) -> Result<Expr> {
    let tz = TimeZone::opt_try_new(Some(settings.report_tz.name()))?.unwrap_or(TimeZone::UTC);
    Ok(frames::month_start(
        ts.dt().convert_time_zone(tz).dt().date(),
    ))
}

fn utc_text(name: &str) -> Expr {
    col(name).dt().strftime(TIME_FORMAT).alias(name)
}

fn sends_table(sends: &DataFrame) -> Result<DataFrame> {
    let mut table = sends
        .clone()
        .lazy()
        .select([
            col(MESSAGE_ID),
            col(BUSINESS_NUMBER),
            col(CONTACT),
            utc_text(TS).alias("timestamp"),
            col(COUNTRY),
            col(MARKET),
            col(TYPE),
            col(TEMPLATE_NAME),
            col(CATEGORY),
            col(STATUS),
            col(FAILED).alias("failed"),
            col(CLASS),
            col(WINDOW_ID),
            col(REGIME),
            col(PRICING_RULE),
            col(COST).alias("cost"),
            col(CURRENCY),
            col(AVOIDABLE).alias("avoidable_cost"),
            col(RATE_FROM),
        ])
        .collect()?;
    frames::dates_as_text(&mut table, RATE_FROM, "%Y-%m-%d")?;
    // Amounts repeat (one per rate): formatted once per distinct amount.
    for amount in ["cost", "avoidable_cost"] {
        frames::map_per_distinct(&mut table, amount, amount, nanos_text)?;
    }
    Ok(table)
}

fn windows_table(windows: &DataFrame, settings: &Settings) -> Result<DataFrame> {
    Ok(windows
        .clone()
        .lazy()
        .filter(in_period(col("opened_at").cast(DataType::Int64), settings))
        .select([
            col(WINDOW_ID),
            col(BUSINESS_NUMBER),
            col(CONTACT),
            col(COUNTRY),
            utc_text("opened_at"),
            utc_text("closes_at"),
            col("inbound_count"),
            col("outbound_count"),
            col("answered"),
            col("first_response_secs"),
        ])
        .collect()?)
}

/// Month × country × market × category × class × currency (§5.4, §6).
pub fn summary_table(sends: &DataFrame) -> Result<DataFrame> {
    let keys = ["month", COUNTRY, MARKET, CATEGORY, CLASS, CURRENCY];
    Ok(sends
        .clone()
        .lazy()
        .group_by(keys.map(col))
        .agg(spend_aggregates())
        .sort(keys, SortMultipleOptions::default().with_nulls_last(false))
        .with_columns(
            ["cost", "avoidable_cost", "late_reply_cost"].map(|c| nanos_text(col(c)).alias(c)),
        )
        .collect()?)
}

/// `opened_at` of the windows table (RFC 3339 text) as a UTC instant.
pub fn opened_at_instant() -> Expr {
    col("opened_at").str().to_datetime(
        Some(TimeUnit::Microseconds),
        Some(TimeZone::UTC),
        StrptimeOptions {
            format: Some(TIME_FORMAT.into()),
            ..Default::default()
        },
        lit("raise"),
    )
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
    let late = col(CLASS).eq(lit("template_late_reply"));
    let unpriced = col(PRICING_RULE)
        .eq(lit("unpriced"))
        .or(col(PRICING_RULE).eq(lit("unpriced_regime")));
    [
        len().cast(DataType::UInt64).alias("messages"),
        col(FAILED).cast(DataType::UInt64).sum().alias("failed"),
        unpriced.cast(DataType::UInt64).sum().alias("unpriced"),
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
        .collect()?)
}
