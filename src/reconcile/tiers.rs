//! Volume tiers against Meta's word on them (docs/pricing.md "Volume
//! tiers"): per billing month, market, rate category and tier, the message
//! at which our counter entered the tier beside the time Meta's
//! `VOLUME_BASED_PRICING_TIER_UPDATE` webhook says the tier was reached
//! (several notifications of one switch: the earliest), and Meta's
//! `pricing_analytics` volume in that tier beside ours.
//!
//! Markets are matched by name, case-insensitively (Meta's `region` is its
//! market name). Analytics points name a country: it is put in the market
//! our sends put that country in (the country itself when we sent it
//! nothing). Our entry is the earliest message of the tier over every
//! portfolio of the run.

use anyhow::Result;
use polars::prelude::*;

use crate::ingest::webhook::TierUpdate;
use crate::pricing::{BILLING_MONTH, MARKET, RATE_CATEGORY, TIER};
use crate::rows::{Streamed, Table};
use crate::schema::{COUNTRY, MESSAGE_ID, TS};

const KEY: &str = "_market_key";
const KEYS: [&str; 4] = ["month", KEY, "category", "tier"];

/// The rows of `tier_reconciliation.csv`, or `None` when Meta said nothing
/// about tiers (no tier update, no analytics point with a tier).
pub fn tier_entries(
    sends: &impl Table,
    updates: &[TierUpdate],
    analytics: Option<&DataFrame>,
) -> Result<Option<DataFrame>> {
    let analytics = analytics.filter(|a| a.height() > 0);
    if updates.is_empty() && analytics.is_none() {
        return Ok(None);
    }
    let mut joined = ours(sends);
    for theirs in [meta_updates(updates)?, meta_volumes(sends, analytics)?] {
        joined = joined.join(
            theirs,
            KEYS.map(col),
            KEYS.map(col),
            JoinArgs::new(JoinType::Full).with_coalesce(JoinCoalesce::CoalesceColumns),
        );
    }
    let utc = || DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC));
    let table = joined
        .with_columns([
            coalesce(&[col(MARKET), col("update_market"), col("volume_market")]).alias(MARKET),
            crate::pricing::tiers::lower_bound(col("tier")).alias("_lower"),
        ])
        .sort_by_exprs(
            [
                col("month"),
                col(KEY),
                col("category"),
                col("_lower"),
                col("tier"),
            ],
            SortMultipleOptions::default(),
        )
        .select([
            col("month"),
            col(MARKET),
            col("category"),
            col("tier"),
            col("our_first_message_id"),
            col("our_first_at").cast(utc()),
            col("our_messages"),
            col("meta_reached_at").cast(utc()),
            col("meta_volume"),
        ])
        .streamed()?;
    Ok(Some(table))
}

/// Our sends priced from a tier: the first of each tier and how many.
fn ours(sends: &impl Table) -> LazyFrame {
    let order = SortMultipleOptions::default();
    sends
        .scan()
        .filter(col(TIER).is_not_null())
        .group_by([
            col(BILLING_MONTH).dt().strftime("%Y-%m").alias("month"),
            col(MARKET).str().to_lowercase().alias(KEY),
            col(RATE_CATEGORY).alias("category"),
            col(TIER).alias("tier"),
        ])
        .agg([
            col(MARKET).first(),
            col(MESSAGE_ID)
                .sort_by([col(TS), col(MESSAGE_ID)], order)
                .first()
                .alias("our_first_message_id"),
            col(TS).min().cast(DataType::Int64).alias("our_first_at"),
            len().cast(DataType::UInt64).alias("our_messages"),
        ])
}

/// Meta's tier updates, the earliest of each switch.
fn meta_updates(updates: &[TierUpdate]) -> Result<LazyFrame> {
    let pick = |f: fn(&TierUpdate) -> String| updates.iter().map(f).collect::<Vec<_>>();
    let frame = df! {
        "month" => pick(|u| u.month.clone()),
        "update_market" => pick(|u| u.region.clone()),
        "category" => pick(|u| u.category.clone()),
        "tier" => pick(|u| u.tier.clone()),
        "meta_reached_at" => updates.iter().map(|u| u.time_us).collect::<Vec<_>>(),
    }?;
    Ok(frame
        .lazy()
        .with_column(col("update_market").str().to_lowercase().alias(KEY))
        .group_by(KEYS.map(col))
        .agg([col("update_market").first(), col("meta_reached_at").min()]))
}

/// Meta's analytics volume per tier, its countries put in our markets.
fn meta_volumes(sends: &impl Table, analytics: Option<&DataFrame>) -> Result<LazyFrame> {
    let points = match analytics {
        Some(points) => points.clone(),
        None => df! {
            "month" => Vec::<String>::new(),
            COUNTRY => Vec::<String>::new(),
            "category" => Vec::<String>::new(),
            "tier" => Vec::<String>::new(),
            "volume_meta" => Vec::<i64>::new(),
        }?,
    };
    let markets = sends
        .scan()
        .select([col(COUNTRY), col(MARKET)])
        .unique_stable(None, UniqueKeepStrategy::First)
        .sort([COUNTRY, MARKET], Default::default())
        .group_by([col(COUNTRY)])
        .agg([col(MARKET).first().alias("analytics_market")])
        .streamed()?;
    Ok(points
        .lazy()
        .join(
            markets.lazy(),
            [col(COUNTRY)],
            [col(COUNTRY)],
            JoinArgs::new(JoinType::Left),
        )
        .with_column(coalesce(&[col("analytics_market"), col(COUNTRY)]).alias("volume_market"))
        .with_column(col("volume_market").str().to_lowercase().alias(KEY))
        .group_by(KEYS.map(col))
        .agg([
            col("volume_market").first(),
            col("volume_meta").sum().alias("meta_volume"),
        ]))
}
