//! A run that continues from a previous one (`--continue-from`, `state`):
//! where the previous run stopped, and whether the new input follows on
//! from there without overlap or gap.

use anyhow::Result;
use chrono::{Datelike, NaiveDate};
use chrono_tz::Tz;
use polars::prelude::*;

use crate::bad_input;
use crate::rows::{count_where, Rows, Streamed, Table};
use crate::state::Continued;
use crate::windows::TS_US;

/// The latest instant (µs) of the messages.
pub fn last_instant(messages: &Rows) -> Result<i64> {
    let latest = messages
        .scan_for(&[col(TS_US)])
        .select([col(TS_US).max()])
        .streamed()?;
    Ok(latest.column(TS_US)?.i64()?.get(0).unwrap_or(0))
}

/// When the month holding `at_us` began in `tz` (µs).
pub fn month_start_us(at_us: i64, tz: Tz) -> i64 {
    let day = local_day(at_us, tz);
    let first = day.with_day(1).expect("day 1 exists");
    crate::config::local_midnight_us(first, tz)
}

fn local_day(at_us: i64, tz: Tz) -> NaiveDate {
    chrono::DateTime::from_timestamp_micros(at_us)
        .expect("an instant of the log")
        .with_timezone(&tz)
        .date_naive()
}

/// Stops a run whose new input starts before the previous run's end
/// (overlap), or after a day with no message since (gap, unless
/// `--allow-gap`: then a warning).
pub fn check(continued: &Continued, messages: &Rows, tz: Tz) -> Result<Vec<String>> {
    let meta = &continued.meta;
    let end = meta.end_us;
    let before = count_where(messages, col(TS_US).lt(lit(end)))?;
    if before > meta.carried_rows {
        // A period reported from a log that stopped early was taken as
        // complete: say so, it is the likely cause.
        let early = match meta.last_message_us + 1 < meta.end_us {
            true => format!(
                " (its period ran to {} but its input stopped at {}; to continue within the period, run that one with --to the last day it has)",
                meta.end, meta.last_message
            ),
            false => String::new(),
        };
        return Err(bad_input!(
            "the input has {} message(s) before {}, where the previous run ({}) ended{early}: give only what came after it (overlap), or run over the whole history without --continue-from",
            before - meta.carried_rows,
            meta.end,
            continued.dir.display()
        ));
    }
    let first_new = messages
        .clone()
        .lazy()
        .filter(col(TS_US).gt_eq(lit(end)))
        .select([col(TS_US).min()])
        .streamed()?
        .column(TS_US)?
        .i64()?
        .get(0);
    let Some(first_new) = first_new else {
        return Ok(Vec::new());
    };
    let missing = missing_days(end, first_new, tz);
    if missing.is_empty() {
        return Ok(Vec::new());
    }
    let days = day_ranges(&missing);
    if continued.allow_gap {
        return Ok(vec![format!(
            "no message between the previous run's end ({}) and the input's first: {days} (accepted by --allow-gap)",
            meta.end
        )]);
    }
    Err(bad_input!(
        "the input starts after a gap: no message on {days}, between the previous run's end ({}) and the input's first message; add the files of those days, or pass --allow-gap if nothing was sent",
        meta.end
    ))
}

/// The whole days (in `tz`) inside `[from_us, to_us)`.
fn missing_days(from_us: i64, to_us: i64, tz: Tz) -> Vec<NaiveDate> {
    let mut days = Vec::new();
    let mut day = local_day(from_us, tz);
    if crate::config::local_midnight_us(day, tz) < from_us {
        day = day.succ_opt().expect("a later day");
    }
    while let Some(next) = day.succ_opt() {
        if crate::config::local_midnight_us(next, tz) > to_us {
            break;
        }
        days.push(day);
        day = next;
    }
    days
}

/// `2026-02-01 … 2026-02-03, 2026-02-05`.
fn day_ranges(days: &[NaiveDate]) -> String {
    let mut ranges: Vec<(NaiveDate, NaiveDate)> = Vec::new();
    for day in days {
        match ranges.last_mut() {
            Some((_, last)) if last.succ_opt() == Some(*day) => *last = *day,
            _ => ranges.push((*day, *day)),
        }
    }
    ranges
        .iter()
        .map(|(a, b)| match a == b {
            true => a.to_string(),
            false => format!("{a} … {b}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us(text: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(text)
            .unwrap()
            .timestamp_micros()
    }

    #[test]
    fn missing_days_are_the_whole_days_between() {
        let tz = chrono_tz::UTC;
        let days = missing_days(us("2026-02-01T00:00:00Z"), us("2026-02-03T10:00:00Z"), tz);
        assert_eq!(day_ranges(&days), "2026-02-01 … 2026-02-02");
        let none = missing_days(us("2026-02-01T00:00:00Z"), us("2026-02-01T23:00:00Z"), tz);
        assert!(none.is_empty());
        // A run that stopped mid-day: that day is not missing.
        let mid = missing_days(us("2026-01-31T18:00:00Z"), us("2026-02-02T01:00:00Z"), tz);
        assert_eq!(day_ranges(&mid), "2026-02-01");
    }

    #[test]
    fn a_month_starts_at_local_midnight() {
        let riyadh = chrono_tz::Asia::Riyadh;
        assert_eq!(
            month_start_us(us("2026-02-28T22:00:00Z"), riyadh),
            us("2026-02-28T21:00:00Z")
        );
        assert_eq!(
            month_start_us(us("2026-02-10T00:00:00Z"), chrono_tz::UTC),
            us("2026-02-01T00:00:00Z")
        );
    }
}
