//! Small aggregates behind the charts and the HTML tables.
//!
//! Everything here is computed with polars on the period's sends and
//! windows; what comes out is a handful of rows, so reports of a
//! hundred-million-message run draw in milliseconds.

use anyhow::Result;
use chrono::NaiveDate;
use polars::prelude::*;

use crate::rows::Streamed;

use crate::rows::Table;

use super::tables::{quarter_of, Tables, QUARTER_HOUR};
use crate::config::Settings;
use crate::pricing::{COST, CURRENCY};
use crate::schema::*;
use crate::windows::TS_US;

/// Spend of one month, split the way the spend chart stacks it.
#[derive(Debug, Clone, PartialEq)]
pub struct MonthSpend {
    pub month: String,
    pub needed: i64,
    pub late_reply: i64,
    pub avoidable: i64,
    pub service: i64,
    /// The regime of the month's last send: the spend chart marks where
    /// it changes (the July 2025 switch).
    pub regime: String,
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
    /// Windows opened and lapsed unanswered by weekday (Monday first) ×
    /// hour they opened, report time zone.
    pub lapse_grid: [[(u64, u64); 24]; 7],
    /// The period's first and last day in the report time zone, where it
    /// has them: the weekly charts mark the weeks it covers only in part.
    pub period_days: (Option<NaiveDate>, Option<NaiveDate>),
}

impl Figures {
    pub fn compute(
        tables: &Tables,
        messages: &impl Table,
        settings: &Settings,
        staffing: &super::staffing::Staffing,
    ) -> Result<Self> {
        let currency = main_currency(&tables.sends_full)?;
        Ok(Figures {
            spend_by_month: spend_by_month(&tables.sends_full, &currency)?,
            spend_by_country: spend_by_country(&tables.sends_full, &currency, 8)?,
            classes_by_week: classes_by_week(&tables.sends_full, settings)?,
            response_buckets: response_buckets(&tables.windows)?,
            unanswered: tables.windows.rows() as u64 - answered(&tables.windows)?,
            windows_by_week: windows_by_week(&tables.windows, settings)?,
            inbound_heat: inbound_heat(messages, settings)?,
            lapse_grid: staffing.grid(),
            period_days: period_days(settings),
            currency,
        })
    }
}

/// Charts count by local week, weekday and hour, found per quarter hour
/// (`tables::quarter_of`): the rows are first counted by that integer key,
/// and only the few thousand quarter hours are placed in the report time
/// zone. On the 53M sends of a 97M-message run, the local time of each row
/// was most of the charts' half minute.
fn quarter_start() -> Expr {
    super::tables::quarter_start(col(QUARTER_HOUR))
}

/// `rows` summed by report-time-zone week: `counts` per quarter hour of
/// `ts_us`, then their sums per week (sorted by week).
fn by_week(
    rows: LazyFrame,
    ts_us: Expr,
    counts: Vec<(&str, Expr)>,
    settings: &Settings,
) -> LazyFrame {
    let sums: Vec<Expr> = counts.iter().map(|(name, _)| col(*name).sum()).collect();
    let counts: Vec<Expr> = counts.into_iter().map(|(name, e)| e.alias(name)).collect();
    rows.group_by([quarter_of(ts_us)])
        .agg(counts)
        .group_by([week_of(quarter_start(), settings).alias("week")])
        .agg(sums)
        .sort(["week"], Default::default())
}

fn period_days(settings: &Settings) -> (Option<NaiveDate>, Option<NaiveDate>) {
    let local_day = |us: i64| {
        chrono::DateTime::from_timestamp_micros(us)
            .map(|t| t.with_timezone(&settings.output.report_tz).date_naive())
    };
    let period = &settings.output.period;
    (
        period.from_us.and_then(local_day),
        // `to_us` is the first instant after the period.
        period.to_us.and_then(|to| local_day(to - 1)),
    )
}

/// Monday of the week, in the report time zone.
fn week_of(ts: Expr, settings: &Settings) -> Expr {
    ts.dt()
        .convert_time_zone(super::tables::report_zone(settings))
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

pub(crate) fn i64_values(frame: &DataFrame, name: &str) -> Result<Vec<i64>> {
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
    let in_currency = || sends.scan().filter(col(CURRENCY).eq(lit(currency)));
    let frame = in_currency()
        .group_by([col("month")])
        .agg([
            class_cost("template_needed").alias("needed"),
            class_cost("template_late_reply").alias("late"),
            class_cost("template_avoidable").alias("avoidable"),
            class_cost("freeform_in_window").alias("service"),
            col(crate::windows::TS_US).max().alias(LAST_US),
        ])
        .sort(["month"], Default::default())
        .streamed()?;
    let months = str_values(&frame, "month")?;
    let regimes = last_regimes(in_currency(), &frame)?;
    let (needed, late) = (i64_values(&frame, "needed")?, i64_values(&frame, "late")?);
    let (avoidable, service) = (
        i64_values(&frame, "avoidable")?,
        i64_values(&frame, "service")?,
    );
    Ok((0..frame.height())
        .map(|i| MonthSpend {
            regime: regimes.get(&months[i]).cloned().unwrap_or_default(),
            month: months[i].clone(),
            needed: needed[i],
            late_reply: late[i],
            avoidable: avoidable[i],
            service: service[i],
        })
        .collect())
}

/// A month's last instant, found with its spend.
const LAST_US: &str = "_last_us";

/// The regime of each month's last send, in (time, message_id) order: a
/// streamed scan for the few sends at each month's [`LAST_US`] (of
/// `months`). A sort within each month's group (`sort_by(…).last()`)
/// cannot stream: it held every send's instant, id and regime, 1.7 GB of
/// the 5.1 GB peak of a 30M-row run.
fn last_regimes(
    sends: LazyFrame,
    months: &DataFrame,
) -> Result<std::collections::BTreeMap<String, String>> {
    let at_last = sends
        .join(
            months.select(["month", LAST_US])?.lazy(),
            [col("month"), col(crate::windows::TS_US)],
            [col("month"), col(LAST_US)],
            JoinArgs::new(JoinType::Inner),
        )
        .select([col("month"), col(MESSAGE_ID), col(crate::pricing::REGIME)])
        .sort(["month", MESSAGE_ID], Default::default())
        .streamed()?;
    let (months, regimes) = (
        str_values(&at_last, "month")?,
        str_values(&at_last, crate::pricing::REGIME)?,
    );
    // Sorted by id: the last row of a month is its last send.
    Ok(months.into_iter().zip(regimes).collect())
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
    let counts = CLASSES
        .map(|c| (c, col(CLASS).eq(lit(c)).cast(DataType::Int64).sum()))
        .to_vec();
    let frame = by_week(sends.scan(), col(TS_US), counts, settings).streamed()?;
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
    let opened_us = col("opened_at").dt().timestamp(TimeUnit::Microseconds);
    let counts = vec![
        ("opened", len().cast(DataType::Int64)),
        ("lapsed", col("answered").not().cast(DataType::Int64).sum()),
    ];
    let frame = by_week(windows.scan(), opened_us, counts, settings).streamed()?;
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
    let local = quarter_start()
        .dt()
        .convert_time_zone(super::tables::report_zone(settings));
    let frame = messages
        .scan_for(&[col(IS_INBOUND), col(TS_US)])
        .filter(col(IS_INBOUND).and(super::tables::in_period(col(TS_US), settings)))
        .group_by([quarter_of(col(TS_US))])
        .agg([len().cast(DataType::Int64).alias("n")])
        .group_by([
            local
                .clone()
                .dt()
                .weekday()
                .cast(DataType::Int64)
                .alias("weekday"),
            local.dt().hour().cast(DataType::Int64).alias("hour"),
        ])
        .agg([col("n").sum()])
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, Duration, TimeZone as _, Timelike};

    #[test]
    fn a_months_regime_is_that_of_its_last_send_in_the_chosen_currency() {
        let sends = df! {
            "month" => ["2026-09", "2026-09", "2026-10", "2026-10", "2026-10", "2026-10"],
            crate::windows::TS_US => [5i64, 9, 20, 30, 30, 40],
            MESSAGE_ID => ["a", "b", "c", "e", "d", "f"],
            crate::pricing::REGIME => ["pmp-2025", "cbp", "pmp-2025", "pmp-2026-10", "cbp", "cbp"],
            CURRENCY => ["USD", "USD", "USD", "USD", "USD", "EUR"],
            COST => [1i64, 1, 1, 1, 1, 1],
            CLASS => ["template_needed"; 6],
        }
        .unwrap();
        let months = spend_by_month(&sends, "USD").unwrap();
        let regimes: Vec<(&str, &str)> = months
            .iter()
            .map(|m| (m.month.as_str(), m.regime.as_str()))
            .collect();
        // September: the later instant; October: of the two sends at its
        // last USD instant, the larger id ("e"); the later EUR send is
        // not of this currency.
        assert_eq!(regimes, [("2026-09", "cbp"), ("2026-10", "pmp-2026-10")]);
    }

    fn settings(zone: &str) -> Settings {
        Settings::new(crate::config::Request {
            tz: zone.into(),
            ..Default::default()
        })
        .unwrap()
    }

    /// Instants every 7 min 13 s over two weeks around a DST change and
    /// a week boundary: local weeks, weekdays and hours change inside
    /// quarter hours of no zone, and counting by quarter hour must give
    /// what a per-row conversion gives.
    fn instants() -> Vec<chrono::DateTime<chrono::Utc>> {
        let start = chrono::Utc.with_ymd_and_hms(2026, 10, 24, 0, 0, 0).unwrap();
        (0..2800)
            .map(|i| start + Duration::seconds(i * 433))
            .collect()
    }

    fn frame(inbound: bool) -> DataFrame {
        let instants = instants();
        let us: Vec<i64> = instants.iter().map(|t| t.timestamp_micros()).collect();
        let classes: Vec<&str> = (0..us.len()).map(|i| CLASSES[i % 5]).collect();
        df!(
            TS_US => &us,
            CLASS => &classes,
            IS_INBOUND => vec![inbound; us.len()],
        )
        .unwrap()
        .lazy()
        .with_column(
            col(TS_US)
                .cast(DataType::Datetime(
                    TimeUnit::Microseconds,
                    Some(TimeZone::UTC),
                ))
                .alias(TS),
        )
        .collect()
        .unwrap()
    }

    const ZONES: [&str; 4] = ["UTC", "Europe/London", "America/New_York", "Asia/Kathmandu"];

    #[test]
    fn weeks_by_quarter_hour_are_the_local_weeks_of_each_row() {
        for zone in ZONES {
            let tz: chrono_tz::Tz = zone.parse().unwrap();
            let mut expected: std::collections::BTreeMap<String, [u64; 5]> = Default::default();
            for (i, t) in instants().iter().enumerate() {
                let local = t.with_timezone(&tz).date_naive();
                let monday = local - Duration::days(local.weekday().num_days_from_monday() as i64);
                expected
                    .entry(monday.format("%Y-%m-%d").to_string())
                    .or_default()[i % 5] += 1;
            }
            let got = classes_by_week(&frame(false), &settings(zone)).unwrap();
            let got: Vec<(String, [u64; 5])> =
                got.into_iter().map(|w| (w.week, w.counts)).collect();
            assert_eq!(got, expected.into_iter().collect::<Vec<_>>(), "{zone}");
        }
    }

    #[test]
    fn heat_by_quarter_hour_is_the_local_weekday_and_hour_of_each_row() {
        for zone in ZONES {
            let tz: chrono_tz::Tz = zone.parse().unwrap();
            let mut expected = [[0u64; 24]; 7];
            for t in instants() {
                let local = t.with_timezone(&tz);
                expected[local.weekday().num_days_from_monday() as usize][local.hour() as usize] +=
                    1;
            }
            let got = inbound_heat(&frame(true), &settings(zone)).unwrap();
            assert_eq!(got, expected, "{zone}");
        }
    }
}
