//! What a run carries forward to the next one (`--continue-from`): the
//! `state/` directory of every run directory.
//!
//! A run over history up to an end E (its period's end, else just after
//! its last message) keeps the rows a later run needs to continue exactly
//! where it stopped, rather than a summary of them: replaying those rows
//! rebuilds the windows, free entry points, conversations and counters of
//! E with the very stages that made them, so no rule is written twice.
//! Per (business number, contact) pair it keeps:
//!
//! - every row from the start of the pair's *chain* alive at E: its rows
//!   linked by gaps under 72 h (the longest anything lasts: a free entry
//!   point window). After a gap of 72 h nothing of the pair is open;
//! - when the pair's last window before that chain closed unanswered and no
//!   delivered template followed it, that window's customer messages: the
//!   next template is then a late reply (docs §4), whenever it comes;
//! - and every row of a billing or report month still in progress at E
//!   (from the earliest month start in any zone the run uses), so that the
//!   free tier, the volume tiers and a period that began before E are
//!   counted from the same rows as a run over all history.
//!
//! Besides the rows: the message ids of the last 72 h before E (a retry
//! across the boundary is a duplicate), the run's rules (a continued run
//! must price by the same ones), and the period's headline figures for the
//! ▲/▼ comparison of the next month.
//!
//! Files (format version [`VERSION`]): `state/state.json` ([`Meta`]),
//! `state/carried.parquet` (canonical input columns, normalised values,
//! instants in UTC), `state/recent_ids.parquet` (`message_id`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::bad_input;
use crate::rows::Rows;
use crate::schema::*;
use crate::windows::{DAY_US, TS_US};

/// The directory of the state in a run directory.
pub const DIR: &str = "state";
/// The state's format version: a run refuses a state of another.
pub const VERSION: u32 = 1;
const META_FILE: &str = "state.json";
const CARRIED_FILE: &str = "carried.parquet";
const RECENT_IDS_FILE: &str = "recent_ids.parquet";
/// Nothing a row starts lasts longer (a free entry point window, §8.16).
const REACH_US: i64 = 3 * DAY_US;

/// The settings a continued run must share with the run it continues:
/// anything that changes windows, classes or prices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rules {
    pub window_rule: String,
    pub billing_tz: String,
    pub report_tz: String,
    pub service_free_tier: u64,
    pub regime: Option<String>,
    pub unknown_category_as: String,
    /// A digest of the accounts file's bytes (None: no accounts file).
    pub accounts: Option<String>,
    /// Digests of the rate cards (with their dates) and markets map.
    pub cards: Vec<String>,
}

impl Rules {
    /// What differs from `other`, named as the options are.
    pub fn differences(&self, other: &Rules) -> Vec<String> {
        let mut out = Vec::new();
        let mut check = |name: &str, a: String, b: String| {
            if a != b {
                out.push(format!("{name} ({a} then, {b} now)"));
            }
        };
        check(
            "--rule",
            self.window_rule.clone(),
            other.window_rule.clone(),
        );
        check(
            "--billing-tz",
            self.billing_tz.clone(),
            other.billing_tz.clone(),
        );
        check("--tz", self.report_tz.clone(), other.report_tz.clone());
        check(
            "--service-free-tier",
            self.service_free_tier.to_string(),
            other.service_free_tier.to_string(),
        );
        let regime = |r: &Option<String>| r.clone().unwrap_or_else(|| "by date".into());
        check("--regime", regime(&self.regime), regime(&other.regime));
        check(
            "--unknown-category-as",
            self.unknown_category_as.clone(),
            other.unknown_category_as.clone(),
        );
        if self.accounts != other.accounts {
            out.push("the accounts file (--accounts) differs".into());
        }
        if self.cards != other.cards {
            out.push("the rate cards or markets map (--rates, --markets) differ".into());
        }
        out
    }
}

/// A digest of a file's bytes, for [`Rules`].
pub fn file_digest(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(blake3::hash(&bytes).to_hex()[..16].to_string())
}

/// `state/state.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Meta {
    pub state_version: u32,
    pub tool_version: String,
    pub rules: Rules,
    /// Where the run stopped (exclusive), µs and RFC 3339: the next run's
    /// input starts here.
    pub end_us: i64,
    pub end: String,
    /// Every row from here on is carried: a continued run's period may
    /// start here at the earliest.
    pub complete_from_us: i64,
    pub complete_from: String,
    /// The run's last message (its period may reach further), µs and
    /// RFC 3339.
    pub last_message_us: i64,
    pub last_message: String,
    /// The run's period label.
    pub period: String,
    /// The headline figures (`report::html`, as exact text) of the last
    /// month a run of the chain reported: the next month's ▲/▼.
    pub last_month: Option<MonthHeadline>,
    pub carried_rows: u64,
    pub recent_ids: u64,
}

/// One month's headline figures, kept as text that reads back to the
/// very same numbers (the ▲/▼ of a continued run must match a run over
/// all history to the byte).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MonthHeadline {
    pub month: String,
    headline: Vec<Option<String>>,
}

impl MonthHeadline {
    pub fn new(month: String, numbers: &[Option<f64>]) -> Self {
        let headline = numbers
            .iter()
            .map(|n| n.map(|n| format!("{n:?}")))
            .collect();
        MonthHeadline { month, headline }
    }

    pub fn numbers(&self) -> Vec<Option<f64>> {
        let number = |n: &Option<String>| n.as_ref().and_then(|n| n.parse().ok());
        self.headline.iter().map(number).collect()
    }
}

/// A state read back by a continued run.
#[derive(Debug, Clone)]
pub struct Continued {
    pub dir: PathBuf,
    pub meta: Meta,
    /// `--allow-gap`: days missing between the runs are a warning.
    pub allow_gap: bool,
}

impl Continued {
    pub fn carried_path(&self) -> PathBuf {
        self.dir.join(DIR).join(CARRIED_FILE)
    }

    pub fn recent_ids_path(&self) -> PathBuf {
        self.dir.join(DIR).join(RECENT_IDS_FILE)
    }
}

/// Reads `run_dir/state/state.json` and checks that it was written with
/// `rules`.
pub fn read(run_dir: &Path, rules: &Rules, allow_gap: bool) -> Result<Continued> {
    let path = run_dir.join(DIR).join(META_FILE);
    let text = std::fs::read_to_string(&path).map_err(|_| {
        bad_input!(
            "--continue-from {}: no {} there; give the run directory of the previous run (every run writes one, but with --hash-contacts)",
            run_dir.display(),
            Path::new(DIR).join(META_FILE).display()
        )
    })?;
    let meta: Meta = serde_json::from_str(&text).map_err(|e| {
        bad_input!(
            "{}: not a window-ledger state ({e}); give the run directory of the previous run",
            path.display()
        )
    })?;
    if meta.state_version != VERSION {
        return Err(bad_input!(
            "{}: state version {} (window-ledger {}), this version reads version {VERSION}; rerun the previous period with this version",
            path.display(),
            meta.state_version,
            meta.tool_version
        ));
    }
    let differences = meta.rules.differences(rules);
    if !differences.is_empty() {
        return Err(bad_input!(
            "--continue-from {}: the previous run used other rules: {}; continue with the same options, or run over the whole history",
            run_dir.display(),
            differences.join("; ")
        ));
    }
    Ok(Continued {
        dir: run_dir.to_path_buf(),
        meta,
        allow_gap,
    })
}

/// Writes the carried rows and recent ids of `messages` (every accepted
/// message, in `windows`' order) into `run_dir/state/`, for a run that
/// stops at `end_us` and whose months in progress started at
/// `complete_from_us`, a part at a time; returns how many of each.
pub fn write_rows(
    run_dir: &Path,
    messages: &Rows,
    end_us: i64,
    complete_from_us: i64,
) -> Result<(u64, u64)> {
    let dir = run_dir.join(DIR);
    std::fs::create_dir_all(&dir)?;
    let mut columns = vec![TS, TS_US, IS_INBOUND, IS_TEMPLATE, FAILED, WINDOW_ID];
    columns.extend(INPUT_COLUMNS.iter().chain(META_COLUMNS.iter()));
    let mut writer = Carried::default();
    let mut recent = Vec::new();
    messages.for_each_part_of(&columns, |part| {
        let keep = carried_mask(&part, complete_from_us.min(end_us))?;
        let ts = part.column(TS_US)?.i64()?;
        let recent_mask: BooleanChunked = ts
            .iter()
            .zip(keep.iter())
            .map(|(t, k)| Some(t.is_some_and(|t| t >= end_us - REACH_US) && k != Some(true)))
            .collect();
        writer.push(&dir, input_columns(&part.filter(&keep)?)?)?;
        recent.push(part.select([MESSAGE_ID])?.filter(&recent_mask)?);
        Ok(())
    })?;
    let carried = writer.finish()?;
    let mut recent = crate::frames::stacked(recent)?.sort([MESSAGE_ID], Default::default())?;
    let file = std::fs::File::create(dir.join(RECENT_IDS_FILE))?;
    ParquetWriter::new(file).finish(&mut recent)?;
    Ok((carried, recent.height() as u64))
}

/// `carried.parquet`, written as the parts come, in row groups of a fixed
/// size: the same bytes whether the run had one part or many.
#[derive(Default)]
struct Carried {
    writer: Option<crate::rows::ParquetGroups>,
    pending: Option<DataFrame>,
    rows: u64,
}

impl Carried {
    const ROW_GROUP: usize = 1 << 16;

    fn push(&mut self, dir: &Path, rows: DataFrame) -> Result<()> {
        self.rows += rows.height() as u64;
        if self.writer.is_none() {
            let file = std::fs::File::create(dir.join(CARRIED_FILE))?;
            // Encoded as the work parts are (LZ4, dictionaries coded by
            // view, no statistics): written on every run, read back at
            // most once. (Through polars' writer, encoding the 1.4M
            // carried rows of 10M took 0.8 s; this way the state step
            // took 0.1-0.15 s less.)
            self.writer = Some(crate::rows::ParquetGroups::new(file, rows.schema())?);
        }
        let mut pending = match self.pending.take() {
            Some(mut pending) => {
                pending.vstack_mut(&rows)?;
                pending
            }
            None => rows,
        };
        while pending.height() >= Self::ROW_GROUP {
            self.write(pending.slice(0, Self::ROW_GROUP))?;
            pending = pending.slice(Self::ROW_GROUP as i64, usize::MAX);
        }
        self.pending = Some(pending);
        Ok(())
    }

    fn write(&mut self, mut rows: DataFrame) -> Result<()> {
        rows.rechunk_mut();
        if let Some(writer) = self.writer.as_mut() {
            writer.write_group(&rows)?;
        }
        Ok(())
    }

    fn finish(mut self) -> Result<u64> {
        if let Some(pending) = self.pending.take() {
            self.write(pending)?;
        }
        if let Some(writer) = self.writer.take() {
            writer.finish()?;
        }
        Ok(self.rows)
    }
}

/// Writes `run_dir/state/state.json`.
pub fn write_meta(run_dir: &Path, meta: &Meta) -> Result<()> {
    let mut text = serde_json::to_string_pretty(meta)?;
    text.push('\n');
    std::fs::write(run_dir.join(DIR).join(META_FILE), text)?;
    Ok(())
}

/// The canonical columns of carried rows, as a reader takes them back.
fn input_columns(rows: &DataFrame) -> Result<DataFrame> {
    let schema = rows.schema();
    let mut columns: Vec<Expr> = Vec::new();
    for name in INPUT_COLUMNS.iter().chain(META_COLUMNS.iter()) {
        let column = match *name {
            TIMESTAMP => col(TS).alias(TIMESTAMP),
            // `default` stands for "no business number" (§8.7): carried as
            // missing, it comes back as `default`.
            BUSINESS_NUMBER => when(col(BUSINESS_NUMBER).eq(lit("default")))
                .then(lit(NULL).cast(DataType::String))
                .otherwise(col(BUSINESS_NUMBER))
                .alias(BUSINESS_NUMBER),
            name if schema.contains(name) => col(name).cast(DataType::String),
            name if INPUT_COLUMNS.contains(&name) => lit(NULL).cast(DataType::String).alias(name),
            _ => continue,
        };
        columns.push(column);
    }
    Ok(rows.clone().lazy().select(columns).collect()?)
}

/// Which rows of one part (whole pairs, sorted) to carry past `at`: the
/// module docs' three rules.
fn carried_mask(part: &DataFrame, at: i64) -> Result<BooleanChunked> {
    let n = part.height();
    // Into slices once: `get` on a chunked column looks for the chunk.
    let business: Vec<Option<&str>> = part.column(BUSINESS_NUMBER)?.str()?.iter().collect();
    let contact: Vec<Option<&str>> = part.column(CONTACT)?.str()?.iter().collect();
    let ts: Vec<i64> = part
        .column(TS_US)?
        .i64()?
        .iter()
        .map(|t| t.unwrap_or(i64::MIN))
        .collect();
    let flag = |name: &str| -> Result<Vec<bool>> {
        Ok(part
            .column(name)?
            .bool()?
            .iter()
            .map(|v| v == Some(true))
            .collect())
    };
    let (inbound, template, failed) = (flag(IS_INBOUND)?, flag(IS_TEMPLATE)?, flag(FAILED)?);
    let window: Vec<Option<i64>> = part.column(WINDOW_ID)?.i64()?.iter().collect();
    let mut keep = vec![false; n];
    let mut start = 0;
    while start < n {
        let mut end = start + 1;
        while end < n && business[end] == business[start] && contact[end] == contact[start] {
            end += 1;
        }
        let pair = Pair {
            ts: &ts[start..end],
            inbound: &inbound[start..end],
            template: &template[start..end],
            failed: &failed[start..end],
            window: &window[start..end],
        };
        pair.mark(at, &mut keep[start..end]);
        start = end;
    }
    Ok(keep.into_iter().map(Some).collect())
}

/// One pair's rows, in time order.
struct Pair<'a> {
    ts: &'a [i64],
    inbound: &'a [bool],
    template: &'a [bool],
    failed: &'a [bool],
    window: &'a [Option<i64>],
}

impl Pair<'_> {
    fn mark(&self, at: i64, keep: &mut [bool]) {
        let before = self.ts.partition_point(|t| *t < at);
        keep[before..].iter_mut().for_each(|k| *k = true);
        if before == 0 {
            return;
        }
        // The chain alive at `at`, if any.
        let mut chain = before;
        if at - self.ts[before - 1] < REACH_US {
            chain = before - 1;
            while chain > 0 && self.ts[chain] - self.ts[chain - 1] < REACH_US {
                chain -= 1;
            }
            keep[chain..before].iter_mut().for_each(|k| *k = true);
        }
        self.mark_lapsed_window(chain, keep);
    }

    /// The customer messages of the last window before row `chain`, when it
    /// closed unanswered and no delivered template has followed it.
    fn mark_lapsed_window(&self, chain: usize, keep: &mut [bool]) {
        let Some(last) = (0..chain).rev().find(|&i| self.window[i].is_some()) else {
            return;
        };
        let id = self.window[last];
        let first = (0..=last)
            .rev()
            .take_while(|&i| self.window[i] == id)
            .last()
            .unwrap_or(last);
        let delivered_out = |i: usize| !self.inbound[i] && !self.failed[i];
        let answered = (first..=last).any(delivered_out);
        let template_since = (last + 1..chain).any(|i| delivered_out(i) && self.template[i]);
        if answered || template_since {
            return;
        }
        let inbound = &self.inbound[first..=last];
        for (keep, inbound) in keep[first..=last].iter_mut().zip(inbound) {
            *keep |= *inbound;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000_000;

    /// One pair: `(hour, inbound, template, window)`; which rows are kept
    /// past hour `at`.
    fn kept(rows: &[(i64, bool, bool, Option<i64>)], at: i64) -> Vec<bool> {
        let ts: Vec<i64> = rows.iter().map(|r| r.0 * H).collect();
        let inbound: Vec<bool> = rows.iter().map(|r| r.1).collect();
        let template: Vec<bool> = rows.iter().map(|r| r.2).collect();
        let failed = vec![false; rows.len()];
        let window: Vec<Option<i64>> = rows.iter().map(|r| r.3).collect();
        let pair = Pair {
            ts: &ts,
            inbound: &inbound,
            template: &template,
            failed: &failed,
            window: &window,
        };
        let mut keep = vec![false; rows.len()];
        pair.mark(at * H, &mut keep);
        keep
    }

    #[test]
    fn a_chain_alive_at_the_end_is_carried_from_its_start() {
        // 0 and 100 are 100 h apart: the chain alive at 150 starts at 100.
        let rows = [
            (0, true, false, Some(1)),
            (1, false, false, Some(1)),
            (100, true, false, Some(2)),
            (130, false, true, None),
            (140, true, false, Some(3)),
        ];
        assert_eq!(kept(&rows, 150), [false, false, true, true, true]);
    }

    #[test]
    fn a_pair_quiet_for_72_hours_carries_nothing_unless_a_window_lapsed() {
        let answered = [(0, true, false, Some(1)), (1, false, false, Some(1))];
        assert_eq!(kept(&answered, 100), [false, false]);
        let lapsed = [(0, true, false, Some(1)), (2, true, false, Some(1))];
        assert_eq!(kept(&lapsed, 100), [true, true]);
        // A delivered template after it took the late-reply place.
        let used = [(0, true, false, Some(1)), (20, false, true, None)];
        assert_eq!(kept(&used, 100), [false, false]);
    }

    #[test]
    fn headline_numbers_read_back_exactly() {
        let numbers = [Some(0.1 + 0.2), None, Some(1461.1981065), Some(1e-9)];
        let kept = MonthHeadline::new("2026-10".into(), &numbers);
        let text = serde_json::to_string(&kept).unwrap();
        let read: MonthHeadline = serde_json::from_str(&text).unwrap();
        assert_eq!(read.numbers(), numbers);
    }

    #[test]
    fn rows_after_the_point_are_all_carried() {
        let rows = [(0, true, false, Some(1)), (200, false, true, None)];
        assert_eq!(kept(&rows, 150), [true, true]);
    }
}
