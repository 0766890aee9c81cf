//! One run of the stages: a [`Source`] of parts, one chain of stages per
//! part, and what spans the parts settled once at the end.
//!
//! ```text
//!  inputs ──source──▶ part 1, part 2, …   (one part unless the log is large)
//!                       │ each part, in order:
//!                       ▼
//!              normalize ──▶ windows ──▶ classify ──▶ pricing
//!                       │        (priced rows and windows kept part by part)
//!                       ▼
//!  settle, once over all parts: the service free tier, missing rates
//!                       ▼
//!                   Analysis ──▶ report
//! ```
//!
//! A run over a small log is a run with one part: the same chain, the same
//! settling, held in memory. Rules that look at one (business number,
//! contact) pair at a time live in the stages; a rule that crosses pairs
//! (the free tier today, volume tiers tomorrow) is settled in [`settle`],
//! over the rows every part kept for it. Nothing here reads the clock: same
//! input and settings, same bytes out.

mod continuation;
pub mod driven;
mod filed;
mod held;
mod settle;
pub mod source;

use std::path::Path;

use anyhow::Result;
use polars::prelude::*;

use crate::config::Settings;
use crate::ingest::{self, FileRead, WebhookStats};
use crate::pricing::{self, card::RateBook, PricingParams};
use crate::rows::{self, Rows, Streamed};
use crate::schema::{FILE_INDEX, LAST_WINDOW_ID, WINDOW_ID};
use crate::{classify, normalize, privacy, windows};
pub use source::Source;

/// Row accounting for one input file (§2: read = processed + rejected +
/// duplicates), as `summary.json` lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FileAccount {
    pub path: String,
    pub format: String,
    /// `messages` or `send_log`.
    pub role: &'static str,
    pub rows_read: u64,
    pub processed: u64,
    pub rejected: u64,
    pub duplicates: u64,
    /// Send-log rows that completed a webhook message: the same message,
    /// so neither processed on their own nor lost.
    pub merged: u64,
    /// What a webhook file's notifications were (none for other formats).
    pub webhook: Option<WebhookStats>,
}

/// Everything a run computed, before anything is written.
pub struct Analysis {
    /// Every accepted message, in the order `windows` sorts them, with
    /// window, class and pricing columns.
    pub messages: Rows,
    /// One row per window (all history).
    pub windows: Rows,
    /// How many conversations (§11) the messages opened (all history).
    pub conversations: u64,
    pub rejected: DataFrame,
    pub files: Vec<FileAccount>,
    pub warnings: Vec<String>,
    /// The rate cards and markets map that priced the run.
    pub rate_sources: Vec<String>,
    /// Whether a rate card gave volume tiers (§9).
    pub volume_tiers: bool,
    /// `--compare-regime`: the same messages priced under another regime.
    pub comparison: Option<Rows>,
    /// `--meta-analytics`: the file and Meta's totals per month × country
    /// × pricing category (and per tier).
    pub meta_analytics: Option<(String, ingest::analytics::MetaAnalytics)>,
}

/// Runs the stages over the run's inputs, telling `stage` what it is doing
/// (for a progress line).
pub fn analyse(settings: &Settings, stage: &mut dyn FnMut(&str)) -> Result<Analysis> {
    // Rate cards are checked before the first message is read.
    stage("checking rate cards");
    let book = load_rates(settings)?;
    let checks = normalize::Checks {
        input_tz: settings.input.read.input_tz.as_str(),
        latest_us: settings.input.latest_us,
    };
    let source = Source::open(settings, checks, stage)?;
    let parts = source.parts();
    let mut chain = Chain::new(settings, &book, source.work_dir());
    stage(&format!("part 1 of {parts}: checking"));
    let read = source.each_checked_part(checks, |index, normalized| {
        stage(&format!(
            "part {} of {parts}: windows and pricing of {} messages{}",
            index + 1,
            normalized.messages.height(),
            if index + 1 < parts {
                format!(" (checking part {})", index + 2)
            } else {
                String::new()
            }
        ));
        chain.push(normalized)
    })?;
    stage("settling the free tier and missing rates");
    let chained = chain.settle()?;
    let files = account_files(&read.files, &chained.rejected_by_file, &chained.duplicates);
    let analysis = Analysis {
        messages: chained.messages,
        comparison: chained.comparison,
        windows: chained.windows,
        conversations: chained.conversations,
        rejected: chained.rejected,
        files,
        warnings: read.warnings,
        rate_sources: book.sources.clone(),
        volume_tiers: book.has_tiers(),
        meta_analytics: meta_analytics(settings)?,
    };
    finished(analysis, settings, &book)
}

/// The warnings a run's messages give, and the contacts hashed when asked:
/// the same for a local run and a driven one.
fn finished(mut analysis: Analysis, settings: &Settings, book: &RateBook) -> Result<Analysis> {
    if let Some(continued) = &settings.input.continued {
        analysis.warnings.extend(continuation::check(
            continued,
            &analysis.messages,
            settings.output.report_tz,
        )?);
    }
    analysis.warnings.extend(rate_warnings(
        book,
        &analysis.messages,
        settings.rules.markets.as_deref(),
    )?);
    analysis
        .warnings
        .extend(accounts_warning(settings, &analysis.messages)?);
    if let Some(salt) = &settings.output.contact_salt {
        hash_contacts(&mut analysis, salt)?;
    }
    Ok(analysis)
}

/// The rate cards and markets map of a run.
pub fn load_rates(settings: &Settings) -> Result<RateBook> {
    RateBook::load(&settings.rules.cards, settings.rules.markets.as_deref())
}

/// The stages every part goes through, and what they keep of each part
/// until the run is settled.
struct Chain<'a> {
    settings: &'a Settings,
    book: &'a RateBook,
    priced: settle::Priced,
    compared: Option<settle::Priced>,
    windows: rows::RowsWriter,
    /// Windows of the parts before: a part's window ids continue from them.
    windows_before: i64,
    rejected: Vec<DataFrame>,
    rejected_by_file: Vec<(u32, u64)>,
    duplicates: Vec<(u32, u64)>,
}

/// What the chain made of all parts, settled.
struct Chained {
    messages: Rows,
    comparison: Option<Rows>,
    windows: Rows,
    conversations: u64,
    rejected: DataFrame,
    rejected_by_file: Vec<(u32, u64)>,
    duplicates: Vec<(u32, u64)>,
}

impl<'a> Chain<'a> {
    fn new(
        settings: &'a Settings,
        book: &'a RateBook,
        work_dir: Option<std::sync::Arc<rows::WorkDir>>,
    ) -> Self {
        let writer = |name: &str| rows::RowsWriter::new(work_dir.as_ref(), name);
        Chain {
            settings,
            book,
            priced: settle::Priced::new(writer("messages"), settings.rules.pricing.clone()),
            compared: settings.rules.compare_regime.map(|regime| {
                let params = pricing::PricingParams {
                    regime: Some(regime),
                    ..settings.rules.pricing.clone()
                };
                settle::Priced::new(writer("compared"), params)
            }),
            windows: writer("windows"),
            windows_before: 0,
            rejected: Vec::new(),
            rejected_by_file: Vec::new(),
            duplicates: Vec::new(),
        }
    }

    /// windows → classify → pricing of one checked part.
    fn push(&mut self, normalized: normalize::Normalized) -> Result<()> {
        self.duplicates.extend(normalized.duplicates_by_file);
        self.rejected_by_file.extend(normalized.rejected_by_file);
        self.rejected
            .push(crate::frames::detached(normalized.rejected)?);
        let (classified, part_windows) =
            part_stages(normalized.messages, self.settings, self.windows_before)?;
        self.windows_before += part_windows.height() as i64;
        self.windows.push(part_windows)?;
        if let Some(compared) = &mut self.compared {
            compared.push(classified.clone(), self.book)?;
        }
        self.priced.push(classified, self.book)
    }

    /// The free tier of the whole run, then the missing-rate check (the
    /// comparison first, as its rates are looked up first).
    fn settle(self) -> Result<Chained> {
        let book = self.book;
        let comparison = self.compared.map(|c| c.settle(book)).transpose()?;
        let conversations = self.priced.conversations();
        let messages = self.priced.settle(book)?;
        let mut rejected = crate::frames::stacked(self.rejected)?;
        // Parts hold ranges of pairs: rejected rows go back to input order.
        rejected = rejected.sort(
            [FILE_INDEX, "row"],
            SortMultipleOptions::default().with_maintain_order(true),
        )?;
        Ok(Chained {
            messages,
            comparison,
            windows: self.windows.finish(None)?,
            conversations,
            rejected,
            rejected_by_file: sum_by_file(self.rejected_by_file),
            duplicates: sum_by_file(self.duplicates),
        })
    }
}

/// windows → classify over one part's checked messages, and the part's
/// windows table; window ids count on from `windows_before`. The local
/// run and a driven one (`driven::price`) run a part through this.
fn part_stages(
    messages: DataFrame,
    settings: &Settings,
    windows_before: i64,
) -> Result<(DataFrame, DataFrame)> {
    let messages = until_period_end(messages, settings)?;
    let before = lit(windows_before);
    let reconstructed = windows::reconstruct(messages, settings.rules.window)?.with_columns([
        (col(WINDOW_ID) + before.clone()).alias(WINDOW_ID),
        (col(LAST_WINDOW_ID) + before).alias(LAST_WINDOW_ID),
    ]);
    let classified = classify::classify(reconstructed).collect()?;
    let part_windows = windows::windows_table(classified.clone().lazy()).collect()?;
    Ok((classified, part_windows))
}

/// The prices of a part before the run's counters are known: missing rates
/// are allowed here and checked once the run is settled.
fn part_prices(
    classified: DataFrame,
    book: &RateBook,
    params: &PricingParams,
) -> Result<DataFrame> {
    let deferring = PricingParams {
        allow_unpriced: true,
        ..params.clone()
    };
    pricing::price(classified, book, &deferring)
}

/// A report for a period is the history as it stood at the period's end:
/// later rows take no part (they are read and counted, but cannot answer,
/// refresh or count in anything of the period), so a month's outputs are
/// the same whenever it is reported and whatever later files are given
/// (`--continue-from` relies on it).
fn until_period_end(messages: DataFrame, settings: &Settings) -> Result<DataFrame> {
    let Some(end) = settings.output.period.to_us else {
        return Ok(messages);
    };
    crate::frames::filtered(
        &messages,
        col(crate::schema::TS).cast(DataType::Int64).lt(lit(end)),
    )
}

/// Where a run stops — its period's end, else just after its last message
/// — and from when it keeps every row for the next (`state`): the start of
/// the month in progress there in the earliest of its zones. A period is
/// taken as complete: a month reported from a log that stops on the 20th
/// ends on the 1st of the next (the next run is told so if it overlaps).
pub fn state_bounds(settings: &Settings, messages: &Rows) -> Result<StateBounds> {
    let last_us = continuation::last_instant(messages)?;
    let end_us = settings.output.period.to_us.unwrap_or(last_us + 1);
    let mut zones = vec![settings.output.report_tz, settings.rules.pricing.billing_tz];
    if let Some(accounts) = &settings.rules.pricing.accounts {
        zones.extend(accounts.by_number.values().map(|a| a.timezone));
    }
    let complete_from_us = zones
        .into_iter()
        .map(|tz| continuation::month_start_us(end_us, tz))
        .min()
        .unwrap_or(end_us);
    Ok(StateBounds {
        end_us,
        complete_from_us,
        last_us,
    })
}

/// Where a run stops, from when it keeps every row, and its last message.
pub struct StateBounds {
    pub end_us: i64,
    pub complete_from_us: i64,
    pub last_us: i64,
}

fn sum_by_file(counts: Vec<(u32, u64)>) -> Vec<(u32, u64)> {
    let mut sums: std::collections::BTreeMap<u32, u64> = Default::default();
    for (file, n) in counts {
        *sums.entry(file).or_default() += n;
    }
    sums.into_iter().collect()
}

fn meta_analytics(
    settings: &Settings,
) -> Result<Option<(String, ingest::analytics::MetaAnalytics)>> {
    let Some(path) = &settings.input.meta_analytics else {
        return Ok(None);
    };
    let period = (settings.output.period.from_us, settings.output.period.to_us);
    let points = ingest::analytics::read(path, settings.rules.pricing.billing_tz, period)?;
    Ok(Some((path.display().to_string(), points)))
}

/// `--hash-contacts`: every table's contacts hashed (`privacy`).
fn hash_contacts(analysis: &mut Analysis, salt: &str) -> Result<()> {
    for rows in [&mut analysis.messages, &mut analysis.windows] {
        *rows = rows.map_parts("hashed", |part| privacy::hashed(&part, salt))?;
    }
    analysis.rejected = privacy::hashed(&analysis.rejected, salt)?;
    if let Some(comparison) = &mut analysis.comparison {
        *comparison = comparison.map_parts("hashed", |part| privacy::hashed(&part, salt))?;
    }
    Ok(())
}

/// Business numbers of the log that the accounts file does not list: they
/// are priced with the defaults (own account, the run's portfolio, no
/// country, `--billing-tz`).
fn accounts_warning(settings: &Settings, messages: &Rows) -> Result<Option<String>> {
    let Some(accounts) = &settings.rules.pricing.accounts else {
        return Ok(None);
    };
    let numbers = messages
        .clone()
        .lazy()
        .select([col(crate::schema::BUSINESS_NUMBER)
            .unique()
            .sort(Default::default())])
        .streamed()?;
    let missing: Vec<String> = numbers
        .column(crate::schema::BUSINESS_NUMBER)?
        .str()?
        .iter()
        .flatten()
        .filter(|n| !accounts.by_number.contains_key(*n))
        .map(String::from)
        .collect();
    if missing.is_empty() {
        return Ok(None);
    }
    let shown: Vec<&str> = missing.iter().take(10).map(String::as_str).collect();
    Ok(Some(format!(
        "{} business number(s) of the log are not in the accounts file {}: {}{}; they are priced as their own account in the run's one portfolio, with no business country and the --billing-tz time zone",
        missing.len(),
        accounts.path,
        shown.join(", "),
        if missing.len() > shown.len() { ", …" } else { "" }
    )))
}

fn rate_warnings(book: &RateBook, messages: &Rows, markets: Option<&Path>) -> Result<Vec<String>> {
    let mut warnings: Vec<String> = book.notes.clone();
    let unpriced_regime = messages
        .clone()
        .lazy()
        .select([col(pricing::PRICING_RULE)
            .eq(lit("unpriced_regime"))
            .cast(DataType::UInt64)
            .sum()
            .alias("n")])
        .streamed()?
        .column("n")?
        .u64()?
        .get(0)
        .unwrap_or(0);
    if unpriced_regime > 0 {
        warnings.push(format!(
            "{unpriced_regime} outbound message(s) before 2023-06-01 fall under the 2022 conversation rules (user- and business-initiated conversations, regime cbp-2022), which are not priced: they are listed as unpriced_regime and left out of spend totals"
        ));
    }
    let unmapped = book.unpriced_map_markets();
    if !unmapped.is_empty() {
        let map = markets.map_or("the built-in markets map".to_string(), |p| {
            format!("the markets map {}", p.display())
        });
        warnings.push(format!(
            "{map} names market(s) no rate card prices: {}; their countries are priced only if a card adds those markets (check the spelling against --rates)",
            unmapped.join(", ")
        ));
    }
    Ok(warnings)
}

fn account_files(
    reads: &[FileRead],
    rejected_by_file: &[(u32, u64)],
    duplicates_by_file: &[(u32, u64)],
) -> Vec<FileAccount> {
    let count = |pairs: &[(u32, u64)], index: usize| {
        pairs
            .iter()
            .find(|(f, _)| *f as usize == index)
            .map_or(0, |(_, n)| *n)
    };
    let mut files: Vec<FileAccount> = reads
        .iter()
        .enumerate()
        // The carried rows were the previous run's input, not this one's.
        .filter(|(_, read)| read.role != ingest::Role::State)
        .map(|(index, read)| {
            let rejected = count(rejected_by_file, index);
            let duplicates = count(duplicates_by_file, index);
            FileAccount {
                path: read.path.clone(),
                format: read.format.name().to_string(),
                role: match read.role {
                    ingest::Role::SendLog => "send_log",
                    _ => "messages",
                },
                rows_read: read.rows,
                processed: read.rows - rejected - duplicates - read.merged,
                rejected,
                duplicates,
                merged: read.merged,
                webhook: read.webhook.clone(),
            }
        })
        .collect();
    // Outputs list files by path, so the order they were named in changes
    // nothing but which copy of a repeated id is first (§8.4).
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}
