//! Meta's `pricing_analytics` and `conversation_analytics` responses
//! (`--meta-analytics`, issues 5 and 25; Meta's analytics page, listed in
//! `docs/README.md`): data points of delivered volume (or conversations)
//! and approximate cost per country and category.
//!
//! Accepts a response as saved (`{"pricing_analytics":{"data":[{
//! "data_points":[…]}]}}`, or `conversation_analytics`), its inner
//! `{"data":[…]}`, or a JSON array of such pages, the two kinds mixed: a
//! point with a `conversation` count is a conversation point. Conversation
//! points are summed per billing month, country and category, where a
//! `FREE_ENTRY_POINT` conversation type counts as category
//! `FREE_ENTRY_POINT` (our free entry point conversations). Points are summed per billing month (of `start`, in the
//! billing time zone), country and pricing category; points outside the
//! reporting period are left out. Points with a `tier` (Meta's volume tier
//! dimension) are also summed per tier, for `reconcile::tiers`.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use chrono_tz::Tz;
use polars::prelude::*;
use serde_json::Value;

use crate::bad_input;

type Totals = BTreeMap<(String, String, String), (i64, Option<f64>)>;
/// Per (month, country, category): the points of each kind.
struct Points {
    pricing: Totals,
    conversations: Totals,
    tiers: TierTotals,
}
/// Volume per (month, country, category in lower case, tier).
type TierTotals = BTreeMap<(String, String, String, String), i64>;

/// Meta's analytics of a run: totals per month × country × category, and
/// per tier where the points have one.
pub struct MetaAnalytics {
    pub totals: DataFrame,
    /// `month`, `country`, `conversation_category`, `conversations_meta`,
    /// `cost_meta`, from `conversation_analytics` points.
    pub conversations: DataFrame,
    /// `month`, `country`, `category`, `tier`, `volume_meta`.
    pub tiers: DataFrame,
}

/// A reporting period: `[from, to)` in UTC µs, either end open.
type Period = (Option<i64>, Option<i64>);

/// Meta's totals per month × country × pricing category of the points in
/// `period`.
pub fn read(path: &Path, billing_tz: Tz, period: Period) -> Result<MetaAnalytics> {
    let name = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| bad_input!("--meta-analytics {name}: cannot read it ({e})"))?;
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| bad_input!("--meta-analytics {name}: not JSON ({e})"))?;
    let pages: Vec<&Value> = match &value {
        Value::Array(pages) => pages.iter().collect(),
        other => vec![other],
    };
    let mut points = Points {
        pricing: Totals::new(),
        conversations: Totals::new(),
        tiers: TierTotals::new(),
    };
    let mut index = 0usize;
    for page in pages {
        let root = page
            .get("pricing_analytics")
            .or_else(|| page.get("conversation_analytics"))
            .unwrap_or(page);
        let Some(data) = root.get("data").and_then(Value::as_array) else {
            return Err(bad_input!(
                "--meta-analytics {name}: no pricing_analytics.data or conversation_analytics.data array; save the whole response of the analytics request"
            ));
        };
        for point in data.iter().flat_map(|d| {
            d.get("data_points")
                .and_then(Value::as_array)
                .map_or(&[][..], Vec::as_slice)
        }) {
            index += 1;
            add_point(&mut points, point, billing_tz, period)
                .map_err(|why| bad_input!("--meta-analytics {name}: data point {index}: {why}"))?;
        }
    }
    Ok(MetaAnalytics {
        totals: frame(points.pricing, "pricing_category", "volume_meta")?,
        conversations: frame(
            points.conversations,
            "conversation_category",
            "conversations_meta",
        )?,
        tiers: tier_frame(points.tiers)?,
    })
}

fn add_point(points: &mut Points, point: &Value, tz: Tz, period: Period) -> Result<(), String> {
    let start = point
        .get("start")
        .and_then(Value::as_i64)
        .ok_or("no integer start")?;
    let start_us = start.checked_mul(1_000_000).ok_or("start out of range")?;
    if period.0.is_some_and(|f| start_us < f) || period.1.is_some_and(|t| start_us >= t) {
        return Ok(());
    }
    let month = chrono::DateTime::from_timestamp(start, 0)
        .ok_or("start out of range")?
        .with_timezone(&tz)
        .format("%Y-%m")
        .to_string();
    let text = |key: &str| {
        point
            .get(key)
            .and_then(Value::as_str)
            .map(|s| s.trim().to_uppercase())
    };
    let country = text("country").unwrap_or_else(|| "ZZ".into());
    let cost = point.get("cost").and_then(Value::as_f64);
    if let Some(count) = point.get("conversation") {
        let count = count.as_i64().ok_or("conversation is not an integer")?;
        let category = match text("conversation_type").as_deref() {
            Some("FREE_ENTRY_POINT") | Some("FREE_ENTRY") => "FREE_ENTRY_POINT".to_string(),
            _ => text("conversation_category")
                .unwrap_or_else(|| "UNKNOWN".into())
                .replace('-', "_"),
        };
        add(
            &mut points.conversations,
            (month, country, category),
            count,
            cost,
        );
        return Ok(());
    }
    let category = text("pricing_category").unwrap_or_else(|| "UNKNOWN".into());
    let volume = point
        .get("volume")
        .and_then(Value::as_i64)
        .ok_or("no integer volume")?;
    if let Some(tier) = point.get("tier").and_then(Value::as_str) {
        let key = (
            month.clone(),
            country.clone(),
            category.to_lowercase().replace('-', "_"),
            tier.trim().to_string(),
        );
        *points.tiers.entry(key).or_default() += volume;
    }
    add(
        &mut points.pricing,
        (month, country, category),
        volume,
        cost,
    );
    Ok(())
}

fn add(totals: &mut Totals, key: (String, String, String), count: i64, cost: Option<f64>) {
    let entry = totals.entry(key).or_insert((0, None));
    entry.0 += count;
    if let Some(c) = cost {
        entry.1 = Some(entry.1.unwrap_or(0.0) + c);
    }
}

fn tier_frame(tiers: TierTotals) -> Result<DataFrame> {
    let column = |name: &str, pick: fn(&(String, String, String, String)) -> &str| {
        Column::new(name.into(), tiers.keys().map(pick).collect::<Vec<_>>())
    };
    Ok(DataFrame::new_infer_height(vec![
        column("month", |k| &k.0),
        column(crate::schema::COUNTRY, |k| &k.1),
        column("category", |k| &k.2),
        column("tier", |k| &k.3),
        Column::new(
            "volume_meta".into(),
            tiers.values().copied().collect::<Vec<_>>(),
        ),
    ])?)
}

fn frame(totals: Totals, category_name: &str, count_name: &str) -> Result<DataFrame> {
    let mut months = Vec::new();
    let mut countries = Vec::new();
    let mut categories = Vec::new();
    let mut volumes = Vec::new();
    let mut costs = Vec::new();
    for ((month, country, category), (volume, cost)) in totals {
        months.push(month);
        countries.push(country);
        categories.push(category);
        volumes.push(volume);
        costs.push(cost);
    }
    Ok(DataFrame::new_infer_height(vec![
        Column::new("month".into(), months),
        Column::new(crate::schema::COUNTRY.into(), countries),
        Column::new(category_name.into(), categories),
        Column::new(count_name.into(), volumes),
        Column::new("cost_meta".into(), costs),
    ])?)
}
