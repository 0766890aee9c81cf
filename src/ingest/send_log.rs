//! Completing webhook statuses from the business's own send log
//! (`--send-log`, issue 5).
//!
//! Status notifications (and exports such as Twilio's) say what happened to
//! an outbound message but not whether it was a template, nor its name; the
//! send request the business logged does. A send-log row (canonical
//! columns, only `message_id` required) whose id matches an outbound row of
//! the message logs *completes* it: `type`, `template_name` and `category`
//! come from the send log where it has them; contact, business number,
//! time, country, status and error code from the message log, falling back
//! to the send log where the message log has none. A completed send-log row is
//! counted as `merged` in its file's account, not as a row of its own. A
//! send-log row that no status matches is an outbound message of its own
//! (no status = assumed delivered, docs §5.2); `direction` defaults to
//! outbound there.

use anyhow::Result;
use polars::prelude::*;

use crate::schema::*;

const KEY: &str = "_send_key";

fn key(e: Expr) -> Expr {
    e.str().strip_chars(lit(NULL))
}

/// An outbound row of a message log (directions are mapped, not yet
/// normalised).
fn is_outbound() -> Expr {
    key(col(DIRECTION))
        .str()
        .to_lowercase()
        .eq(lit("outbound"))
        .fill_null(false)
}

/// Null, or nothing but blanks (the CSV reader keeps empty fields as "").
fn empty(e: Expr) -> Expr {
    e.clone()
        .is_null()
        .or(key(e).str().len_bytes().eq(lit(0u32)))
}

fn sent(name: &str) -> String {
    format!("_send_{name}")
}

/// Columns the send log fills (send log first) and completes (webhook first).
const SEND_LOG_FIRST: [&str; 3] = [TYPE, TEMPLATE_NAME, CATEGORY];
const WEBHOOK_FIRST: [&str; 6] = [
    CONTACT,
    BUSINESS_NUMBER,
    TIMESTAMP,
    COUNTRY,
    STATUS,
    ERROR_CODE,
];

/// Returns the completed frame and, per send-log `file_index`, how many of
/// its rows were merged into webhook rows.
pub fn complete(frame: DataFrame, sends: DataFrame) -> Result<(DataFrame, Vec<(u32, u64)>)> {
    let sends = sends.lazy().with_column(
        when(empty(col(DIRECTION)))
            .then(lit("outbound"))
            .otherwise(col(DIRECTION))
            .alias(DIRECTION),
    );
    let outbound_keys = frame
        .clone()
        .lazy()
        .filter(is_outbound())
        .select([key(col(MESSAGE_ID)).alias(KEY)])
        .filter(col(KEY).is_not_null())
        .unique(None, UniqueKeepStrategy::First);
    let mut picked: Vec<Expr> = vec![col(KEY), col(FILE_INDEX), col(SOURCE_ROW)];
    picked.extend(
        SEND_LOG_FIRST
            .iter()
            .chain(WEBHOOK_FIRST.iter())
            .map(|c| col(*c).alias(sent(c))),
    );
    let matched = sends
        .clone()
        .filter(col(INGEST_ERROR).is_null())
        .with_column(key(col(MESSAGE_ID)).alias(KEY))
        .filter(col(KEY).is_not_null().and(col(KEY).is_first_distinct()))
        .join(
            outbound_keys,
            [col(KEY)],
            [col(KEY)],
            JoinArgs::new(JoinType::Semi),
        )
        .select(picked)
        .collect()?;
    let merged = crate::normalize::count_by_file(matched.clone().lazy())?;
    let completed = fill_from_send_log(frame, &matched)?;
    let remaining = sends
        .join(
            matched
                .clone()
                .lazy()
                .select([col(FILE_INDEX), col(SOURCE_ROW)]),
            [col(FILE_INDEX), col(SOURCE_ROW)],
            [col(FILE_INDEX), col(SOURCE_ROW)],
            JoinArgs::new(JoinType::Anti),
        )
        .select(
            super::raw_columns()
                .into_iter()
                .map(col)
                .collect::<Vec<_>>(),
        );
    let all = concat(
        [completed.lazy(), remaining],
        UnionArgs {
            rechunk: true,
            ..Default::default()
        },
    )?
    .collect()?;
    Ok((all, merged))
}

fn fill_from_send_log(frame: DataFrame, matched: &DataFrame) -> Result<DataFrame> {
    let lookup = matched.clone().lazy().drop(cols([FILE_INDEX, SOURCE_ROW]));
    let status_row = is_outbound();
    let mut fills: Vec<Expr> = SEND_LOG_FIRST
        .iter()
        .map(|c| {
            when(status_row.clone().and(empty(col(sent(c))).not()))
                .then(col(sent(c)))
                .otherwise(col(*c))
                .alias(*c)
        })
        .collect();
    fills.extend(WEBHOOK_FIRST.iter().map(|c| {
        when(status_row.clone().and(empty(col(*c))))
            .then(col(sent(c)))
            .otherwise(col(*c))
            .alias(*c)
    }));
    Ok(frame
        .lazy()
        .with_column(key(col(MESSAGE_ID)).alias(KEY))
        .join(
            lookup,
            [col(KEY)],
            [col(KEY)],
            JoinArgs {
                maintain_order: MaintainOrderJoin::Left,
                ..JoinArgs::new(JoinType::Left)
            },
        )
        .with_columns(fills)
        .select(
            super::raw_columns()
                .into_iter()
                .map(col)
                .collect::<Vec<_>>(),
        )
        .collect()?)
}
