//! Customer service windows, rebuilt with window expressions over one sort.
//!
//! Takes canonical messages and returns them sorted by (business_number,
//! contact, ts, inbound first, message_id) — docs §3; the numbers
//! through `normalize`'s integer keys, which sort as their text — with,
//! per row:
//! `in_window` (a window of the pair is open at the message's time),
//! `window_id` (the open window, numbered 1.. in pair and time order; a
//! part's numbers, used to join within the run), `window_opener` (the
//! message id of the inbound message that opened it: the `window_id` the
//! outputs show, the same whatever else the input holds),
//! `last_window_id` (the pair's most recent window at that time, open or
//! closed) and `last_window_answered`.
//!
//! How, without a per-row loop: call *extending* the messages that can move
//! `closes_at` (inbound ones; under `any-message` also outbound ones that did
//! not fail, §3, §8.1). Within a pair, a chain of extending messages less than
//! 24 h apart is one *segment*; a window starts at a segment's first inbound
//! message and covers every later message of the segment plus what follows
//! its last extending message by less than 24 h. Outbound messages of a
//! segment before its first inbound are outside (they extend nothing, because
//! no window was open). Segments are a cumulative sum of "gap ≥ 24 h or new
//! pair" flags; everything else is a forward fill checked against the pair,
//! so no `.over()` hash grouping is needed on the sorted frame.

use polars::prelude::*;

use crate::frames::ffill;
use crate::schema::*;

/// Which messages open or refresh a window (§1, §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WindowRule {
    /// Only customer (inbound) messages open or refresh a window (Meta's rule).
    #[default]
    CustomerOnly,
    /// Business messages sent inside an open window also extend it (the
    /// misreading some guides teach).
    AnyMessage,
}

impl WindowRule {
    pub fn name(self) -> &'static str {
        match self {
            WindowRule::CustomerOnly => "customer-only",
            WindowRule::AnyMessage => "any-message",
        }
    }
}

/// 24 h in microseconds: windows are half-open `[opened_at, closes_at)`.
pub const DAY_US: i64 = 86_400_000_000;

/// Internal columns later stages reuse.
pub const TS_US: &str = "ts_us";
pub const PAIR_ID: &str = "pair_id";
const PAIR_KEY: &str = "_pair_key";
pub const WINDOW_START: &str = "window_start";
pub const ANSWERS: &str = "answers_window";
/// The id of the message that opened the row's window: what outputs call
/// `window_id` (stable across runs, parts and `--continue-from`).
pub const WINDOW_OPENER: &str = "window_opener";

fn null_i64() -> Expr {
    lit(NULL).cast(DataType::Int64)
}

/// Adds the window columns described in the module docs.
pub fn reconstruct(messages: DataFrame, rule: WindowRule) -> PolarsResult<LazyFrame> {
    let extends = match rule {
        WindowRule::CustomerOnly => col(IS_INBOUND),
        WindowRule::AnyMessage => col(IS_INBOUND).or(col(FAILED).not()),
    };
    let segmented = with_segments(sorted_by_pair(messages)?, extends);
    Ok(with_window_ids(segmented)
        .with_columns(last_window_columns())
        .drop(cols([
            "ext_pair",
            "ext_ts",
            "segment",
            "inbound_segment",
            PAIR_KEY,
        ])))
}

/// The messages in §3's order (pair, time, inbound first, id), with the
/// instant as µs and a `pair_id` counting pairs in that order.
fn sorted_by_pair(messages: DataFrame) -> PolarsResult<LazyFrame> {
    // Both keys in one integer: pairs compare as one value.
    let pair_key = (col(BUSINESS_KEY).cast(DataType::UInt64) * lit(1u64 << 32))
        + col(CONTACT_KEY).cast(DataType::UInt64);
    let pair_change = col(PAIR_KEY).neq_missing(col(PAIR_KEY).shift(lit(1)));
    let sorted = match pair_order(&messages)? {
        Some(order) => messages.take(&order)?.lazy(),
        // A missing key (none after `normalize`): polars' own sort.
        None => messages.lazy().sort_by_exprs(
            [
                pair_key.clone(),
                col(TS),
                col(IS_INBOUND).not(),
                col(MESSAGE_ID),
            ],
            SortMultipleOptions::default(),
        ),
    };
    Ok(sorted.with_column(pair_key.alias(PAIR_KEY)).with_columns([
        col(TS).cast(DataType::Int64).alias(TS_US),
        pair_change
            .cast(DataType::Int64)
            .cum_sum(false)
            .alias(PAIR_ID),
    ]))
}

/// The rows of `messages` in §3's order, or `None` when a key is missing.
///
/// Sorted as integers — (pair, instant and direction) in two `u64`s — on
/// every core, with the ids compared only where those tie: polars' sort on
/// the four columns encodes each row's id into its key, and took a third
/// of a part's windows and pricing (10M rows cut into 40 parts).
fn pair_order(messages: &DataFrame) -> PolarsResult<Option<IdxCa>> {
    use rayon::slice::ParallelSliceMut;
    let business = messages.column(BUSINESS_KEY)?.u32()?;
    let contact = messages.column(CONTACT_KEY)?.u32()?;
    let ts = messages.column(TS)?.cast(&DataType::Int64)?;
    let ts = ts.i64()?;
    let inbound = messages.column(IS_INBOUND)?.bool()?;
    let ids = messages.column(MESSAGE_ID)?.str()?;
    if [
        business.null_count(),
        contact.null_count(),
        ts.null_count(),
        inbound.null_count(),
        ids.null_count(),
    ]
    .iter()
    .any(|&n| n > 0)
        || ts.into_no_null_iter().any(|t| t < 0)
    {
        return Ok(None);
    }
    let mut keyed: Vec<(u64, u64, IdxSize)> = business
        .into_no_null_iter()
        .zip(contact.into_no_null_iter())
        .zip(ts.into_no_null_iter().zip(inbound.iter().flatten()))
        .enumerate()
        .map(|(row, ((b, c), (t, inbound)))| {
            let pair = ((b as u64) << 32) | c as u64;
            // Inbound first at the same instant.
            let when = ((t as u64) << 1) | u64::from(!inbound);
            (pair, when, row as IdxSize)
        })
        .collect();
    keyed.par_sort_unstable();
    // The ids are laid out for lookup only if some rows tie (rarely).
    let mut by_row: Option<Vec<&str>> = None;
    for run in keyed.chunk_by_mut(|a, b| a.0 == b.0 && a.1 == b.1) {
        if run.len() > 1 {
            let ids = by_row.get_or_insert_with(|| ids.iter().flatten().collect());
            run.sort_by(|a, b| ids[a.2 as usize].cmp(ids[b.2 as usize]).then(a.2.cmp(&b.2)));
        }
    }
    Ok(Some(IdxCa::from_vec(
        "order".into(),
        keyed.into_iter().map(|(_, _, row)| row).collect(),
    )))
}

/// A `segment` number that grows at every message that extends a window
/// (`extends`) after more than 24 h without one in its pair, and `in_window`:
/// the message falls within 24 h of its pair's latest extending message,
/// in a segment some inbound message opened.
fn with_segments(sorted: LazyFrame, extends: Expr) -> LazyFrame {
    let latest_extending =
        |value: Expr| ffill(when(col(EXTENDS_WINDOW)).then(value).otherwise(null_i64()));
    sorted
        .with_column(extends.alias(EXTENDS_WINDOW))
        .with_columns([
            latest_extending(col(PAIR_ID)).alias("ext_pair"),
            latest_extending(col(TS_US)).alias("ext_ts"),
        ])
        .with_column(
            col(EXTENDS_WINDOW)
                .and(
                    col("ext_pair")
                        .shift(lit(1))
                        .neq_missing(col(PAIR_ID))
                        .or((col(TS_US) - col("ext_ts").shift(lit(1)))
                            .gt_eq(lit(DAY_US))
                            .fill_null(true)),
                )
                .cast(DataType::Int64)
                .cum_sum(false)
                .alias("segment"),
        )
        .with_column(
            ffill(
                when(col(IS_INBOUND))
                    .then(col("segment"))
                    .otherwise(null_i64()),
            )
            .alias("inbound_segment"),
        )
        .with_column(
            col("ext_pair")
                .eq(col(PAIR_ID))
                .and(col("inbound_segment").eq(col("segment")))
                .and((col(TS_US) - col("ext_ts")).lt(lit(DAY_US)))
                .fill_null(false)
                .alias(IN_WINDOW),
        )
}

/// `window_start` (the first message of each window), `window_id`
/// (numbered in sort order) and `answers_window` (§3: a delivered
/// outbound message in a window).
fn with_window_ids(segmented: LazyFrame) -> LazyFrame {
    segmented
        .with_column(
            col(IN_WINDOW)
                .and(
                    col("segment")
                        .neq_missing(col("segment").shift(lit(1)))
                        .or(col(IN_WINDOW).shift(lit(1)).not())
                        .fill_null(true),
                )
                .alias(WINDOW_START),
        )
        .with_columns([
            when(col(IN_WINDOW))
                .then(col(WINDOW_START).cast(DataType::Int64).cum_sum(false))
                .otherwise(null_i64())
                .alias(WINDOW_ID),
            col(IN_WINDOW)
                .and(col(IS_INBOUND).not())
                .and(col(FAILED).not())
                .alias(ANSWERS),
            col(MESSAGE_ID)
                .gather(opener_row(), true)
                .alias(WINDOW_OPENER),
        ])
}

/// The row of each in-window row's window start (null outside windows):
/// an integer forward fill, then one gather of the ids, is far cheaper
/// than filling the text itself.
fn opener_row() -> Expr {
    let row = (col(TS_US) * lit(0i64) + lit(1i64)).cum_sum(false) - lit(1i64);
    when(col(IN_WINDOW))
        .then(ffill(
            when(col(WINDOW_START)).then(row).otherwise(null_i64()),
        ))
        .otherwise(null_i64())
}

/// `last_window_id` and `last_window_answered` (§4's "the pair's most recent
/// window closed unanswered"): the answer count of a window is a running sum
/// from its first row; its last in-window row holds the total, which a
/// forward fill carries to the messages after it.
fn last_window_columns() -> Vec<Expr> {
    let same_pair = ffill(
        when(col(IN_WINDOW))
            .then(col(PAIR_ID))
            .otherwise(null_i64()),
    )
    .eq(col(PAIR_ID));
    let running_answers = col(ANSWERS).cast(DataType::Int64).cum_sum(false);
    let window_base = ffill(
        when(col(WINDOW_START))
            .then(running_answers.clone() - col(ANSWERS).cast(DataType::Int64))
            .otherwise(null_i64()),
    );
    let answers_so_far = ffill(
        when(col(IN_WINDOW))
            .then(running_answers - window_base)
            .otherwise(null_i64()),
    );
    vec![
        when(same_pair.clone())
            .then(ffill(col(WINDOW_ID)))
            .otherwise(null_i64())
            .alias(LAST_WINDOW_ID),
        when(same_pair)
            .then(answers_so_far.gt(lit(0i64)))
            .otherwise(lit(NULL).cast(DataType::Boolean))
            .alias(LAST_WINDOW_ANSWERED),
    ]
}

/// One row per window (§3, §8.11), from the output of [`reconstruct`].
pub fn windows_table(messages: LazyFrame) -> LazyFrame {
    let outbound = col(IS_INBOUND).not();
    let opened_us = col(TS_US).min();
    messages
        .filter(col(IN_WINDOW))
        .group_by([col(WINDOW_ID)])
        .agg([
            col(WINDOW_OPENER).first(),
            col(BUSINESS_NUMBER).first(),
            col(CONTACT).first(),
            col(COUNTRY).first(),
            col(TS).min().alias("opened_at"),
            (when(col(EXTENDS_WINDOW))
                .then(col(TS_US))
                .otherwise(null_i64())
                .max()
                + lit(DAY_US))
            .cast(DataType::Datetime(
                TimeUnit::Microseconds,
                Some(TimeZone::UTC),
            ))
            .alias("closes_at"),
            col(IS_INBOUND)
                .cast(DataType::UInt32)
                .sum()
                .alias("inbound_count"),
            outbound
                .cast(DataType::UInt32)
                .sum()
                .alias("outbound_count"),
            col(ANSWERS).any(true).alias("answered"),
            ((when(col(ANSWERS))
                .then(col(TS_US))
                .otherwise(null_i64())
                .min()
                - opened_us)
                .cast(DataType::Float64)
                / lit(1e6))
            .alias("first_response_secs"),
        ])
        .sort([WINDOW_ID], Default::default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A frame of `rows` (business key, contact key, µs, inbound, id).
    fn frame(rows: &[(u32, u32, i64, bool, String)]) -> DataFrame {
        df!(
            BUSINESS_KEY => rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            CONTACT_KEY => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            TS => rows.iter().map(|r| r.2).collect::<Vec<_>>(),
            IS_INBOUND => rows.iter().map(|r| r.3).collect::<Vec<_>>(),
            MESSAGE_ID => rows.iter().map(|r| r.4.clone()).collect::<Vec<_>>(),
        )
        .unwrap()
        .lazy()
        .with_column(col(TS).cast(DataType::Datetime(
            TimeUnit::Microseconds,
            Some(TimeZone::UTC),
        )))
        .collect()
        .unwrap()
    }

    fn ids(frame: &DataFrame) -> Vec<String> {
        frame
            .column(MESSAGE_ID)
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .map(|id| id.unwrap().to_string())
            .collect()
    }

    proptest! {
        /// The integer sort gives §3's order, as polars' sort on the four
        /// keys does: ties of pair and instant broken inbound first, then
        /// by id.
        #[test]
        fn the_pair_order_is_polars_sort_of_the_keys(
            rows in proptest::collection::vec(
                (0u32..3, 0u32..3, 0i64..4, any::<bool>(), "[a-c]{1,3}"),
                1..60,
            )
        ) {
            // Ids are unique after `normalize`'s dedupe: make them so.
            let rows: Vec<_> = rows
                .into_iter()
                .enumerate()
                .map(|(i, (b, c, t, inbound, id))| (b, c, EARLIEST_TEST_US + t, inbound, format!("{id}{i:03}")))
                .collect();
            let messages = frame(&rows);
            let ours = messages.take(&pair_order(&messages).unwrap().unwrap()).unwrap();
            let polars = messages
                .lazy()
                .sort_by_exprs(
                    [
                        col(BUSINESS_KEY),
                        col(CONTACT_KEY),
                        col(TS),
                        col(IS_INBOUND).not(),
                        col(MESSAGE_ID),
                    ],
                    SortMultipleOptions::default(),
                )
                .collect()
                .unwrap();
            prop_assert_eq!(ids(&ours), ids(&polars));
        }
    }

    const EARLIEST_TEST_US: i64 = 1_700_000_000_000_000;

    #[test]
    fn a_missing_key_falls_back_to_polars_sort() {
        let mut messages = frame(&[(0, 0, 1, true, "b".into()), (0, 0, 0, true, "a".into())]);
        messages
            .with_column(Column::new(CONTACT_KEY.into(), [Some(0u32), None]))
            .unwrap();
        assert!(pair_order(&messages).unwrap().is_none());
        let sorted = sorted_by_pair(messages).unwrap().collect().unwrap();
        assert_eq!(ids(&sorted), ["a", "b"]);
    }
}
