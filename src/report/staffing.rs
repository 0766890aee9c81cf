//! When the team lets windows lapse: the windows of the period by the
//! weekday and hour they opened (report time zone), the share of them that
//! lapsed unanswered, and the late-reply spend those lapses caused. A
//! late-reply template counts in the slot where the window it followed
//! opened (that window may have opened before the period).
//!
//! `summary.json` (`staffing`), the HTML report, the workbook and the chart
//! `lapses_by_hour` all read this one [`Staffing`].

use anyhow::Result;
use polars::prelude::*;
use serde::Serialize;

use super::summary::Money;
use super::tables::{quarter_of, quarter_start, report_zone, Tables, QUARTER_HOUR};
use crate::config::Settings;
use crate::rows::{Streamed, Table};

/// Slots of [`Staffing::top`].
pub const TOP_SLOTS: usize = 5;

/// ISO weekday names, Monday (1) first.
pub const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

#[derive(Debug, Clone, Default, Serialize)]
pub struct Staffing {
    /// Every weekday × hour in which a window of the period opened.
    pub slots: Vec<Slot>,
    /// The slots with the most late-reply spend (per currency), most
    /// first; ties by weekday and hour.
    pub top: Vec<TopSlot>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Slot {
    /// 1 = Monday … 7 = Sunday.
    pub weekday: u32,
    pub hour: u32,
    pub windows_opened: u64,
    pub lapsed: u64,
    pub lapsed_share: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TopSlot {
    pub weekday: u32,
    pub hour: u32,
    pub currency: String,
    pub windows_opened: u64,
    pub lapsed_share: Option<f64>,
    pub late_reply_templates: u64,
    pub late_reply_spend: Money,
}

impl Staffing {
    pub fn compute(tables: &Tables, settings: &Settings) -> Result<Self> {
        let opened = by_slot(
            tables.windows.scan(),
            col("opened_at").cast(DataType::Int64),
            vec![
                len().cast(DataType::UInt64).alias("windows_opened"),
                col("answered")
                    .not()
                    .cast(DataType::UInt64)
                    .sum()
                    .alias("lapsed"),
            ],
            vec![],
            settings,
        )
        .sort(["weekday", "hour"], Default::default())
        .streamed()?;
        let spend = by_slot(
            tables.late_reply_windows.clone().lazy(),
            col(LAPSED_OPENED_US),
            vec![
                len().cast(DataType::UInt64).alias("late_reply_templates"),
                col(crate::pricing::COST).sum().alias("late_reply_spend"),
            ],
            vec![col(crate::pricing::CURRENCY)],
            settings,
        )
        .streamed()?;
        let slots = slots(&opened)?;
        let top = top_slots(&spend, &slots)?;
        Ok(Staffing { slots, top })
    }

    /// Windows opened and lapsed per weekday (Monday first) × hour.
    pub fn grid(&self) -> [[(u64, u64); 24]; 7] {
        let mut grid = [[(0, 0); 24]; 7];
        for s in &self.slots {
            grid[(s.weekday as usize - 1).min(6)][(s.hour as usize).min(23)] =
                (s.windows_opened, s.lapsed);
        }
        grid
    }
}

/// The column of [`Tables::late_reply_windows`] with the opening instant
/// (µs) of the window a late reply followed.
pub const LAPSED_OPENED_US: &str = "lapsed_window_opened_us";

/// `sums` of `rows` per local weekday and hour of `instant_us` (and
/// `keys`): counted per quarter hour first, which falls in one local hour.
fn by_slot(
    rows: LazyFrame,
    instant_us: Expr,
    sums: Vec<Expr>,
    keys: Vec<Expr>,
    settings: &Settings,
) -> LazyFrame {
    let names: Vec<String> = sums
        .iter()
        .map(|e| e.clone().meta().output_name().map(|n| n.to_string()))
        .collect::<PolarsResult<_>>()
        .expect("named sums");
    let mut first = vec![quarter_of(instant_us)];
    first.extend(keys.clone());
    let local = quarter_start(col(QUARTER_HOUR))
        .dt()
        .convert_time_zone(report_zone(settings));
    let mut slot = vec![
        local
            .clone()
            .dt()
            .weekday()
            .cast(DataType::UInt32)
            .alias("weekday"),
        local.dt().hour().cast(DataType::UInt32).alias("hour"),
    ];
    slot.extend(keys);
    rows.group_by(first).agg(sums).group_by(slot).agg(
        names
            .iter()
            .map(|n| col(n.as_str()).sum())
            .collect::<Vec<_>>(),
    )
}

/// A count column's values (counts are never negative).
fn values(frame: &DataFrame, name: &str) -> Result<Vec<u64>> {
    Ok(super::figures::i64_values(frame, name)?
        .into_iter()
        .map(|v| v.max(0) as u64)
        .collect())
}

fn slots(opened: &DataFrame) -> Result<Vec<Slot>> {
    let (days, hours) = (values(opened, "weekday")?, values(opened, "hour")?);
    let (n, lapsed) = (values(opened, "windows_opened")?, values(opened, "lapsed")?);
    Ok((0..opened.height())
        .map(|i| Slot {
            weekday: days[i] as u32,
            hour: hours[i] as u32,
            windows_opened: n[i],
            lapsed: lapsed[i],
            lapsed_share: crate::frames::share(lapsed[i], n[i]),
        })
        .collect())
}

fn top_slots(spend: &DataFrame, slots: &[Slot]) -> Result<Vec<TopSlot>> {
    let (days, hours) = (values(spend, "weekday")?, values(spend, "hour")?);
    let templates = values(spend, "late_reply_templates")?;
    let cost = spend.column("late_reply_spend")?.i64()?.clone();
    let currency = spend.column(crate::pricing::CURRENCY)?.str()?.clone();
    let mut top: Vec<TopSlot> = (0..spend.height())
        .map(|i| {
            let slot = slots
                .iter()
                .find(|s| (s.weekday as u64, s.hour as u64) == (days[i], hours[i]));
            TopSlot {
                weekday: days[i] as u32,
                hour: hours[i] as u32,
                currency: currency.get(i).unwrap_or_default().to_string(),
                windows_opened: slot.map_or(0, |s| s.windows_opened),
                lapsed_share: slot.and_then(|s| s.lapsed_share),
                late_reply_templates: templates[i],
                late_reply_spend: Money(cost.get(i).unwrap_or(0)),
            }
        })
        .collect();
    top.sort_by(|a, b| {
        b.late_reply_spend
            .0
            .cmp(&a.late_reply_spend.0)
            .then_with(|| (a.weekday, a.hour, &a.currency).cmp(&(b.weekday, b.hour, &b.currency)))
    });
    top.truncate(TOP_SLOTS);
    Ok(top)
}
