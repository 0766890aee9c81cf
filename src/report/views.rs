//! The small tables the human-facing outputs show, computed once per run
//! from the run's [`Tables`]: the HTML report and the workbook render the
//! same frames, so they cannot disagree (one order, one tie-break). Money
//! stays in nano-units here; each renderer formats it.

use anyhow::Result;
use polars::prelude::*;

use super::tables::{money_aggregates, spend_aggregates, windows_by_business, Tables};
use crate::pricing::{
    ANSWERING_SAVES, AVOIDABLE, COST, CURRENCY, MARKET, PRICING_RULE, RATE_CATEGORY, RATE_FROM,
    TIER,
};
use crate::rows::Streamed;
use crate::schema::*;

/// Rows of [`Views::by_country`] shown: the countries with most spend.
pub const TOP_COUNTRIES: u32 = 20;
/// Rows of [`Views::avoidable_templates`] the HTML report shows (the
/// workbook shows them all; the SQL section `top_avoidable_templates`
/// sorts the same way).
pub const TOP_TEMPLATES: usize = 10;
/// Rows of [`Views::lapsed_contacts`].
pub const TOP_LAPSED_CONTACTS: u32 = 10;

/// Money columns of the views, in nano-units.
pub const MONEY_COLUMNS: [&str; 5] = [
    "cost",
    "avoidable_cost",
    "late_reply_cost",
    "answering_saves",
    "rate",
];

pub struct Views {
    /// Country × market × currency: outbound messages, templates, spend;
    /// most spend first, top [`TOP_COUNTRIES`].
    pub by_country: DataFrame,
    /// Template category × currency: templates and spend.
    pub by_category: DataFrame,
    /// Avoidable templates by name × category × currency: count, spend,
    /// avoidable spend; most avoidable spend first, then by name, category,
    /// currency.
    pub avoidable_templates: DataFrame,
    /// Business number × currency: outbound, windows, lapsed, spend.
    pub business_numbers: DataFrame,
    /// Business number × currency: late-reply templates and spend, with
    /// the number's windows and lapsed windows.
    pub late_replies: DataFrame,
    /// Month × business number × currency: late-reply templates, their
    /// spend, and what answering in time would have saved.
    pub answering: DataFrame,
    /// Contacts with most windows that lapsed unanswered.
    pub lapsed_contacts: DataFrame,
    /// Month × country × category × currency spend.
    pub spend_by_month: DataFrame,
    /// Windows opened and answered per day of the report time zone.
    pub daily_windows: DataFrame,
    /// Each rate row that charged a message of the period.
    pub rates_used: DataFrame,
}

impl Views {
    pub fn compute(tables: &Tables, report_tz: &str) -> Result<Self> {
        Ok(Views {
            by_country: by_country(tables)?,
            by_category: by_category(tables)?,
            avoidable_templates: avoidable_templates(tables)?,
            business_numbers: business_numbers(tables)?,
            late_replies: late_replies(tables)?,
            answering: answering(tables)?,
            lapsed_contacts: lapsed_contacts(tables)?,
            spend_by_month: spend_by_month(tables)?,
            daily_windows: daily_windows(tables, report_tz)?,
            rates_used: rates_used(tables)?,
        })
    }
}

fn by_country(tables: &Tables) -> Result<DataFrame> {
    let keys = [col(COUNTRY), col(MARKET), col(CURRENCY)];
    let mut aggregates = vec![
        len().cast(DataType::UInt64).alias("outbound"),
        col(IS_TEMPLATE)
            .cast(DataType::UInt64)
            .sum()
            .alias("templates"),
    ];
    aggregates.extend(money_aggregates());
    Ok(tables
        .sends_full
        .clone()
        .lazy()
        .group_by(keys.clone())
        .agg(aggregates)
        .sort_by_exprs(
            [col("cost"), col(COUNTRY), col(MARKET), col(CURRENCY)],
            SortMultipleOptions::default()
                .with_order_descending_multi([true, false, false, false])
                .with_nulls_last(true),
        )
        .limit(TOP_COUNTRIES)
        .streamed()?)
}

fn by_category(tables: &Tables) -> Result<DataFrame> {
    let mut aggregates = vec![len().cast(DataType::UInt64).alias("templates")];
    aggregates.extend(money_aggregates());
    Ok(tables
        .sends_full
        .clone()
        .lazy()
        .filter(col(IS_TEMPLATE))
        .group_by([col(CATEGORY), col(CURRENCY)])
        .agg(aggregates)
        .sort([CATEGORY, CURRENCY], Default::default())
        .streamed()?)
}

fn avoidable_templates(tables: &Tables) -> Result<DataFrame> {
    let keys = [TEMPLATE_NAME, CATEGORY, CURRENCY];
    Ok(tables
        .sends_full
        .clone()
        .lazy()
        .filter(col(CLASS).eq(lit("template_avoidable")))
        .group_by(keys.map(col))
        .agg([
            len().cast(DataType::UInt64).alias("templates"),
            col(COST).sum().alias("cost"),
            col(AVOIDABLE).sum().alias("avoidable_cost"),
        ])
        .sort_by_exprs(
            [
                col("avoidable_cost"),
                col(TEMPLATE_NAME),
                col(CATEGORY),
                col(CURRENCY),
            ],
            SortMultipleOptions::default()
                .with_order_descending_multi([true, false, false, false])
                .with_nulls_last(true),
        )
        .streamed()?)
}

fn business_numbers(tables: &Tables) -> Result<DataFrame> {
    let mut aggregates = vec![len().cast(DataType::UInt64).alias("outbound")];
    aggregates.extend(money_aggregates());
    Ok(tables
        .sends_full
        .clone()
        .lazy()
        .group_by([col(BUSINESS_NUMBER), col(CURRENCY)])
        .agg(aggregates)
        .join(
            windows_by_business(tables),
            [col(BUSINESS_NUMBER)],
            [col(BUSINESS_NUMBER)],
            JoinArgs::new(JoinType::Left),
        )
        .select([
            col(BUSINESS_NUMBER),
            col(CURRENCY),
            col("outbound"),
            col("windows"),
            col("lapsed"),
            col("cost"),
            col("avoidable_cost"),
            col("late_reply_cost"),
        ])
        .sort([BUSINESS_NUMBER, CURRENCY], Default::default())
        .streamed()?)
}

fn late_replies(tables: &Tables) -> Result<DataFrame> {
    let late = tables
        .sends_full
        .clone()
        .lazy()
        .filter(col(CLASS).eq(lit("template_late_reply")))
        .group_by([col(BUSINESS_NUMBER), col(CURRENCY)])
        .agg([
            len().cast(DataType::UInt64).alias("late_reply_templates"),
            col(COST).sum().alias("late_reply_cost"),
        ]);
    Ok(late
        .join(
            windows_by_business(tables),
            [col(BUSINESS_NUMBER)],
            [col(BUSINESS_NUMBER)],
            JoinArgs::new(JoinType::Full).with_coalesce(JoinCoalesce::CoalesceColumns),
        )
        .sort(
            [BUSINESS_NUMBER, CURRENCY],
            SortMultipleOptions::default().with_nulls_last(true),
        )
        .streamed()?)
}

fn answering(tables: &Tables) -> Result<DataFrame> {
    let keys = ["month", BUSINESS_NUMBER, CURRENCY];
    Ok(tables
        .sends_full
        .clone()
        .lazy()
        .filter(col(CLASS).eq(lit("template_late_reply")))
        .group_by(keys.map(col))
        .agg([
            len().cast(DataType::UInt64).alias("late_reply_templates"),
            col(COST).sum().alias("late_reply_cost"),
            col(ANSWERING_SAVES).sum().alias("answering_saves"),
        ])
        .sort(keys, SortMultipleOptions::default().with_nulls_last(true))
        .streamed()?)
}

fn lapsed_contacts(tables: &Tables) -> Result<DataFrame> {
    Ok(tables
        .windows
        .clone()
        .lazy()
        .filter(col("answered").not())
        .group_by([col(CONTACT), col(COUNTRY), col(BUSINESS_NUMBER)])
        .agg([len().cast(DataType::UInt64).alias("lapsed")])
        .sort_by_exprs(
            [col("lapsed"), col(CONTACT), col(BUSINESS_NUMBER)],
            SortMultipleOptions::default().with_order_descending_multi([true, false, false]),
        )
        .limit(TOP_LAPSED_CONTACTS)
        .streamed()?)
}

/// Month × country × category × currency, across classes and markets.
fn spend_by_month(tables: &Tables) -> Result<DataFrame> {
    let keys = ["month", COUNTRY, CATEGORY, CURRENCY];
    Ok(tables
        .sends_full
        .clone()
        .lazy()
        .filter(col(CURRENCY).is_not_null().and(col(CURRENCY).neq(lit(""))))
        .group_by(keys.map(col))
        .agg(spend_aggregates())
        .sort(keys, SortMultipleOptions::default().with_nulls_last(false))
        .streamed()?)
}

/// Windows opened per day of the report time zone (days as day numbers).
fn daily_windows(tables: &Tables, tz: &str) -> Result<DataFrame> {
    let zone = TimeZone::opt_try_new(Some(tz))?.unwrap_or(TimeZone::UTC);
    let opened = col("opened_at").dt().convert_time_zone(zone).dt().date();
    Ok(tables
        .windows
        .clone()
        .lazy()
        .group_by([opened.alias("day")])
        .agg([
            len().cast(DataType::UInt64).alias("opened"),
            col("answered")
                .cast(DataType::UInt64)
                .sum()
                .alias("answered"),
        ])
        .with_columns([
            (col("opened") - col("answered")).alias("unanswered"),
            (col("answered").cast(DataType::Float64) / col("opened").cast(DataType::Float64))
                .alias("answered_share"),
        ])
        .with_column(col("day").cast(DataType::Int32))
        .sort(["day"], Default::default())
        .streamed()?)
}

/// The rate rows (a tier of a tiered rate is a row of its own) that
/// charged at least one message of the period.
fn rates_used(tables: &Tables) -> Result<DataFrame> {
    let keys = [MARKET, "price_category", CURRENCY, RATE_FROM, "rate", TIER];
    Ok(tables
        .sends_full
        .clone()
        .lazy()
        .filter(col(PRICING_RULE).eq(lit("charged")))
        .group_by([
            col(MARKET),
            col(RATE_CATEGORY).alias("price_category"),
            col(CURRENCY),
            col(RATE_FROM),
            col(COST).alias("rate"),
            col(TIER),
        ])
        .agg([
            len().cast(DataType::UInt64).alias("messages"),
            col(COST).sum().alias("cost"),
        ])
        .with_column(col(RATE_FROM).cast(DataType::Int32))
        .sort(keys, SortMultipleOptions::default().with_nulls_last(true))
        .streamed()?)
}
