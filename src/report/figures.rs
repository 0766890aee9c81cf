//! Small aggregates behind the charts and the HTML tables.
//!
//! Everything here is computed with polars on the period's sends and
//! windows; what comes out is a handful of rows, so reports of a
//! hundred-million-message run draw in milliseconds.

use anyhow::Result;
use polars::prelude::*;

use crate::rows::Streamed;

use crate::rows::Table;

use super::tables::Tables;
use crate::config::Settings;
use crate::pricing::{COST, CURRENCY};
use crate::schema::*;

/// Spend of one month, split the way the spend chart stacks it.
#[derive(Debug, Clone, PartialEq)]
pub struct MonthSpend {
    pub month: String,
    pub needed: i64,
    pub late_reply: i64,
    pub avoidable: i64,
    pub service: i64,
}

/// Outbound messages of one week by class, in `CLASSES` order.
#[derive(Debug, Clone, PartialEq)]
pub struct WeekClasses {
    pub week: String,
    pub counts: [u64; 5],
}

#[derive(Debug, Clone, PartialEq)]
pub struct WeekWindows {
    pub week: String,
    pub opened: u64,
    pub lapsed: u64,
}

/// First-response buckets: upper bounds in seconds and their labels.
pub const RESPONSE_BUCKETS: [(f64, &str); 8] = [
    (60.0, "<1 min"),
    (300.0, "1–5 min"),
    (900.0, "5–15 min"),
    (3600.0, "15–60 min"),
    (3.0 * 3600.0, "1–3 h"),
    (6.0 * 3600.0, "3–6 h"),
    (12.0 * 3600.0, "6–12 h"),
    (24.0 * 3600.0, "12–24 h"),
];

/// Everything the charts draw.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    /// The currency the spend charts show (the one with the most spend).
    pub currency: String,
    pub spend_by_month: Vec<MonthSpend>,
    /// Top countries by spend, then `Rest`.
    pub spend_by_country: Vec<(String, i64)>,
    pub classes_by_week: Vec<WeekClasses>,
    /// Answered windows per bucket, then the count never answered.
    pub response_buckets: [u64; 8],
    pub unanswered: u64,
    pub windows_by_week: Vec<WeekWindows>,
    /// Customer messages by weekday (Monday first) × hour, report time zone.
    pub inbound_heat: [[u64; 24]; 7],
}

impl Figures {
    pub fn compute(tables: &Tables, messages: &impl Table, settings: &Settings) -> Result<Self> {
        let currency = main_currency(&tables.sends_full)?;
        Ok(Figures {
            spend_by_month: spend_by_month(&tables.sends_full, &currency)?,
            spend_by_country: spend_by_country(&tables.sends_full, &currency, 8)?,
            classes_by_week: classes_by_week(&tables.sends_full, settings)?,
            response_buckets: response_buckets(&tables.windows)?,
            unanswered: tables.windows.rows() as u64 - answered(&tables.windows)?,
            windows_by_week: windows_by_week(&tables.windows, settings)?,
            inbound_heat: inbound_heat(messages, settings)?,
            currency,
        })
    }
}

fn report_tz(settings: &Settings) -> TimeZone {
    TimeZone::opt_try_new(Some(settings.report_tz.name()))
        .ok()
        .flatten()
        .unwrap_or(TimeZone::UTC)
}

/// Monday of the week, in the report time zone.
fn week_of(ts: Expr, settings: &Settings) -> Expr {
    ts.dt()
        .convert_time_zone(report_tz(settings))
        .dt()
        .truncate(lit("1w"))
        .dt()
        .strftime("%Y-%m-%d")
}

fn main_currency(sends: &impl Table) -> Result<String> {
    let top = sends
        .scan()
        .filter(col(CURRENCY).is_not_null().and(col(CURRENCY).neq(lit(""))))
        .group_by([col(CURRENCY)])
        .agg([col(COST).sum().alias("spend"), len().alias("n")])
        .sort_by_exprs(
            [col("spend"), col("n"), col(CURRENCY)],
            SortMultipleOptions::default().with_order_descending_multi([true, true, false]),
        )
        .limit(1)
        .streamed()?;
    if top.height() == 0 {
        return Ok(String::new());
    }
    Ok(top
        .column(CURRENCY)?
        .str()?
        .get(0)
        .unwrap_or("")
        .to_string())
}

fn i64_values(frame: &DataFrame, name: &str) -> Result<Vec<i64>> {
    Ok(frame
        .column(name)?
        .cast(&DataType::Int64)?
        .i64()?
        .iter()
        .map(|v| v.unwrap_or(0))
        .collect())
}

fn str_values(frame: &DataFrame, name: &str) -> Result<Vec<String>> {
    Ok(frame
        .column(name)?
        .str()?
        .iter()
        .map(|v| v.unwrap_or("").to_string())
        .collect())
}

fn class_cost(class: &str) -> Expr {
    when(col(CLASS).eq(lit(class)))
        .then(col(COST))
        .otherwise(lit(0i64))
        .sum()
}

fn spend_by_month(sends: &impl Table, currency: &str) -> Result<Vec<MonthSpend>> {
    let frame = sends
        .scan()
        .filter(col(CURRENCY).eq(lit(currency)))
        .group_by([col("month")])
        .agg([
            class_cost("template_needed").alias("needed"),
            class_cost("template_late_reply").alias("late"),
            class_cost("template_avoidable").alias("avoidable"),
            class_cost("freeform_in_window").alias("service"),
        ])
        .sort(["month"], Default::default())
        .streamed()?;
    let months = str_values(&frame, "month")?;
    let (needed, late) = (i64_values(&frame, "needed")?, i64_values(&frame, "late")?);
    let (avoidable, service) = (
        i64_values(&frame, "avoidable")?,
        i64_values(&frame, "service")?,
    );
    Ok((0..frame.height())
        .map(|i| MonthSpend {
            month: months[i].clone(),
            needed: needed[i],
            late_reply: late[i],
            avoidable: avoidable[i],
            service: service[i],
        })
        .collect())
}

fn spend_by_country(sends: &impl Table, currency: &str, top: usize) -> Result<Vec<(String, i64)>> {
    let frame = sends
        .scan()
        .filter(col(CURRENCY).eq(lit(currency)))
        .group_by([col(COUNTRY)])
        .agg([col(COST).sum().alias("spend")])
        .sort_by_exprs(
            [col("spend"), col(COUNTRY)],
            SortMultipleOptions::default().with_order_descending_multi([true, false]),
        )
        .streamed()?;
    let countries = str_values(&frame, COUNTRY)?;
    let spend = i64_values(&frame, "spend")?;
    let mut rows: Vec<(String, i64)> = countries.into_iter().zip(spend).collect();
    if rows.len() > top + 1 {
        let rest: i64 = rows[top..].iter().map(|(_, s)| s).sum();
        rows.truncate(top);
        rows.push(("Rest".to_string(), rest));
    }
    Ok(rows)
}

fn classes_by_week(sends: &impl Table, settings: &Settings) -> Result<Vec<WeekClasses>> {
    let frame = sends
        .scan()
        .with_column(week_of(col(TS), settings).alias("week"))
        .group_by([col("week")])
        .agg(CLASSES.map(|c| col(CLASS).eq(lit(c)).cast(DataType::Int64).sum().alias(c)))
        .sort(["week"], Default::default())
        .streamed()?;
    let weeks = str_values(&frame, "week")?;
    let counts: Vec<Vec<i64>> = CLASSES
        .iter()
        .map(|c| i64_values(&frame, c))
        .collect::<Result<_>>()?;
    Ok(weeks
        .into_iter()
        .enumerate()
        .map(|(i, week)| WeekClasses {
            week,
            counts: std::array::from_fn(|c| counts[c][i] as u64),
        })
        .collect())
}

fn answered(windows: &impl Table) -> Result<u64> {
    super::count_where(windows, col("answered"))
}

fn response_buckets(windows: &impl Table) -> Result<[u64; 8]> {
    let secs = col("first_response_secs");
    let mut bucket = lit(7i64);
    for (i, (upper, _)) in RESPONSE_BUCKETS.iter().enumerate().rev() {
        bucket = when(secs.clone().lt(lit(*upper)))
            .then(lit(i as i64))
            .otherwise(bucket);
    }
    let frame = windows
        .scan()
        .filter(secs.is_not_null())
        .group_by([bucket.alias("bucket")])
        .agg([len().cast(DataType::Int64).alias("n")])
        .streamed()?;
    let mut buckets = [0u64; 8];
    for (b, n) in i64_values(&frame, "bucket")?
        .into_iter()
        .zip(i64_values(&frame, "n")?)
    {
        buckets[b.clamp(0, 7) as usize] = n as u64;
    }
    Ok(buckets)
}

fn windows_by_week(windows: &impl Table, settings: &Settings) -> Result<Vec<WeekWindows>> {
    let opened = col("opened_at");
    let frame = windows
        .scan()
        .with_column(week_of(opened, settings).alias("week"))
        .group_by([col("week")])
        .agg([
            len().cast(DataType::Int64).alias("opened"),
            col("answered")
                .not()
                .cast(DataType::Int64)
                .sum()
                .alias("lapsed"),
        ])
        .sort(["week"], Default::default())
        .streamed()?;
    let weeks = str_values(&frame, "week")?;
    let (opened, lapsed) = (i64_values(&frame, "opened")?, i64_values(&frame, "lapsed")?);
    Ok(weeks
        .into_iter()
        .enumerate()
        .map(|(i, week)| WeekWindows {
            week,
            opened: opened[i] as u64,
            lapsed: lapsed[i] as u64,
        })
        .collect())
}

fn inbound_heat(messages: &impl Table, settings: &Settings) -> Result<[[u64; 24]; 7]> {
    let local = col(TS).dt().convert_time_zone(report_tz(settings));
    let frame = messages
        .scan()
        .filter(col(IS_INBOUND).and(super::tables::in_period(
            col(crate::windows::TS_US),
            settings,
        )))
        .group_by([
            local
                .clone()
                .dt()
                .weekday()
                .cast(DataType::Int64)
                .alias("weekday"),
            local.dt().hour().cast(DataType::Int64).alias("hour"),
        ])
        .agg([len().cast(DataType::Int64).alias("n")])
        .streamed()?;
    let mut heat = [[0u64; 24]; 7];
    let (days, hours, n) = (
        i64_values(&frame, "weekday")?,
        i64_values(&frame, "hour")?,
        i64_values(&frame, "n")?,
    );
    for i in 0..frame.height() {
        // polars weekdays are 1 (Monday) to 7 (Sunday).
        let (d, h) = (
            (days[i] - 1).clamp(0, 6) as usize,
            hours[i].clamp(0, 23) as usize,
        );
        heat[d][h] = n[i] as u64;
    }
    Ok(heat)
}
