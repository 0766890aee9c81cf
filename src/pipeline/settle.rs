//! What is decided once over all parts of a run: the pmp-2026-10 service
//! free tier (§5.2), counted per business number and month across every
//! contact; volume tiers (§9), counted per portfolio, market, rate
//! category and month; and the check that every charged row has a rate
//! (§8.5).
//!
//! Each part is priced with its own free tier and keeps the rows that tier
//! made free: the run's first N of a business number and month are among
//! them, so the run's free rows are picked from those alone, and only the
//! rows that lose their place are priced again (a patch applied as the
//! parts are read). With one part, its own tier is the run's and nothing
//! changes. Volume tiers are decided here for every run: each part keeps
//! its charged utility and authentication templates (only when a card has
//! tiers), and the rows a tiered rate prices are patched alike.

use anyhow::Result;
use polars::prelude::*;

use crate::frames;
use crate::pricing::conversations::{CONVERSATION_NO, OPENS_CONVERSATION};
use crate::pricing::{self, card::RateBook, PricingParams};
use crate::rows::{self, Rows, RowsWriter};
use crate::schema::MESSAGE_ID;

/// Columns the windows, classify and pricing stages work with that no
/// report reads: dropped so that the tables, which copy the
/// outbound rows, are built from a narrower frame.
const WORKING_COLUMNS: [&str; 24] = [
    "extends_window",
    "window_start",
    "answers_window",
    "last_window_answered",
    "pair_id",
    "billing_date",
    "price_date",
    "rate_nanos",
    "service_nanos",
    "currency_in_force",
    "rate_currency",
    "is_service",
    "in_free_tier",
    "contact_key",
    "business_key",
    "has_entry_point",
    "_portfolio",
    "_account_country",
    "_auth_international_from_us",
    "_billing_zone",
    "_account",
    "opens_fep",
    "conversation_open_before",
    "joins_across_switch",
];

pub(super) fn without_working_columns(messages: DataFrame) -> DataFrame {
    let present: Vec<&str> = WORKING_COLUMNS
        .into_iter()
        .chain([rows::ROW])
        .filter(|c| messages.schema().contains(c))
        .collect();
    messages.drop_many(present)
}

/// The priced parts of a run under one set of pricing parameters (the
/// run's, or `--compare-regime`'s), before the run's free tier is known.
pub(super) struct Priced {
    params: PricingParams,
    /// The parts, without pricing's working columns.
    parts: RowsWriter,
    /// Each part's rows in its own free tier, with every column.
    free_rows: Vec<DataFrame>,
    /// Each part's missing rates (`pricing::missing_rates`).
    missing: Vec<DataFrame>,
    /// Each part's rows that count towards volume tiers
    /// (`pricing::tier_counted_rows`), when a card has tiers.
    tier_counted: Vec<DataFrame>,
    /// Conversations of the parts before: a part's conversation numbers
    /// continue from them, as window ids do.
    conversations_before: i64,
    /// Messages of the parts before: where a part's rows stand in the
    /// table ([`rows::ROW`]), by which the patch names them.
    messages_before: IdxSize,
}

impl Priced {
    pub(super) fn new(parts: RowsWriter, params: PricingParams) -> Self {
        Priced {
            params,
            parts,
            free_rows: Vec::new(),
            missing: Vec::new(),
            tier_counted: Vec::new(),
            conversations_before: 0,
            messages_before: 0,
        }
    }

    /// Prices one classified part; missing rates are looked for once all
    /// parts are priced, so that the error names the run's first gap.
    pub(super) fn push(&mut self, classified: DataFrame, book: &RateBook) -> Result<()> {
        let priced = self.numbered(super::part_prices(classified, book, &self.params)?)?;
        let priced = priced.with_row_index(rows::ROW.into(), Some(self.messages_before))?;
        self.messages_before += priced.height() as IdxSize;
        // Kept across parts: detached from this part's buffers.
        self.free_rows
            .push(frames::detached(pricing::free_tier_rows(&priced)?)?);
        self.missing
            .push(frames::detached(pricing::missing_rates(&priced)?)?);
        if let Some(counted) = pricing::tier_counted_rows(&priced, book)? {
            self.tier_counted.push(frames::detached(counted)?);
        }
        self.parts.push(without_working_columns(priced))
    }

    /// How many conversations (§11) the parts so far opened.
    pub(super) fn conversations(&self) -> u64 {
        self.conversations_before as u64
    }

    /// The part's conversation numbers after those of the parts before.
    fn numbered(&mut self, priced: DataFrame) -> Result<DataFrame> {
        let opened = frames::count_true(&priced, OPENS_CONVERSATION)?;
        if opened == 0 {
            return Ok(priced);
        }
        let before = lit(self.conversations_before);
        self.conversations_before += opened as i64;
        Ok(priced
            .lazy()
            .with_column(col(CONVERSATION_NO) + before)
            .collect()?)
    }

    /// The parts with the run's free tier and volume tiers, checked for
    /// missing rates.
    pub(super) fn settle(mut self, book: &RateBook) -> Result<Rows> {
        let locally_free = frames::stacked(std::mem::take(&mut self.free_rows))?;
        let free =
            pricing::free_tier_ids(vec![locally_free.clone()], self.params.service_free_tier)?;
        let ids = free.column(MESSAGE_ID)?.as_materialized_series().clone();
        let lost = locally_free
            .lazy()
            .filter(col(MESSAGE_ID).is_in(lit(ids).implode(false), false).not())
            .collect()?;
        let repriced = pricing::with_free_ids(lost, &free)?;
        self.missing.push(pricing::missing_rates(&repriced)?);
        pricing::report_missing_rates(frames::stacked(self.missing)?, &self.params)?;
        let mut kept = vec![rows::ROW];
        kept.extend(pricing::TIER_PRICED_COLUMNS);
        let mut patches = vec![repriced.select(kept)?];
        if !self.tier_counted.is_empty() {
            let counted = frames::stacked(std::mem::take(&mut self.tier_counted))?;
            patches.push(pricing::volume_tiered(counted, book)?);
        }
        let patch = frames::stacked(patches)?.drop(MESSAGE_ID)?;
        self.parts.finish((patch.height() > 0).then_some(patch))
    }
}
