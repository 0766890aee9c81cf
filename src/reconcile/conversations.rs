//! Our conversations (docs/pricing.md §11) against Meta's: under `cbp`,
//! status webhooks carry `conversation.id`, `conversation.origin.type`
//! and, on `sent`, `expiration_timestamp`.
//!
//! Per send of the `cbp` regime that carries Meta's conversation id, three
//! checks:
//! - **boundaries**: the sends Meta put in one conversation are the sends
//!   we put in one (each of our conversations holds one Meta id and each
//!   Meta id one of ours), so both opened it with the same message;
//! - **category**: Meta's origin type, its spellings folded
//!   (`marketing_lite` = `marketing`, `-` = `_`, `referral_conversion` =
//!   `free_entry_point`), is our conversation's category;
//! - **expiry**: Meta's expiration, when some send of the conversation
//!   has it, is within [`EXPIRY_TOLERANCE_S`] of ours (Meta's are seen
//!   rounded to the minute, and its clock starts at delivery, not at the
//!   log's send time).

use anyhow::Result;
use polars::prelude::*;
use serde::Serialize;

use super::MonthAgreement;
use crate::pricing::conversations::{
    CONVERSATION_CATEGORY, CONVERSATION_EXPIRES_US, CONVERSATION_NO,
};
use crate::pricing::{Regime, REGIME};
use crate::rows::{count_where as count, Streamed, Table};
use crate::schema::*;

/// How far Meta's expiry may be from ours and still agree.
pub const EXPIRY_TOLERANCE_S: i64 = 120;

/// Our conversations against Meta's conversation ids, in `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct MetaConversations {
    pub with_meta_conversation: u64,
    pub agreed: u64,
    pub agreement_share: Option<f64>,
    pub expiry_tolerance_s: i64,
    pub by_month: Vec<MonthAgreement>,
}

/// Sends whose regime is `cbp` and that carry Meta's conversation id.
pub fn with_meta_conversation() -> Expr {
    col(CONVERSATION_ID)
        .is_not_null()
        .and(col(REGIME).eq(lit(Regime::Cbp.name())))
        .fill_null(false)
}

/// Meta's origin type in our category's spelling.
fn meta_category() -> Expr {
    let folded = col(CONVERSATION_ORIGIN)
        .str()
        .to_lowercase()
        .str()
        .replace_all(lit("-"), lit("_"), true);
    when(folded.clone().eq(lit("marketing_lite")))
        .then(lit("marketing"))
        .when(folded.clone().eq(lit("referral_conversion")))
        .then(lit(crate::pricing::conversations::FREE_ENTRY_POINT))
        .otherwise(folded)
}

fn instant_text(us: Expr) -> Expr {
    us.cast(DataType::Datetime(
        TimeUnit::Microseconds,
        Some(TimeZone::UTC),
    ))
    .dt()
    .strftime(crate::timestamps::TIME_FORMAT)
}

/// The sends of [`with_meta_conversation`] with `agrees` and `detail`
/// (what differs, in words).
pub fn checked(sends: &impl Table) -> Result<DataFrame> {
    let meta_expires_us = col(CONVERSATION_EXPIRATION)
        .str()
        .strip_chars(lit(NULL))
        .cast(DataType::Int64)
        .min()
        .over([col(CONVERSATION_ID)])?
        * lit(1_000_000i64);
    let frame = sends
        .scan()
        .filter(with_meta_conversation())
        .with_columns([
            col(CONVERSATION_NO)
                .n_unique()
                .over([col(CONVERSATION_ID)])?
                .alias("ours_per_meta"),
            col(CONVERSATION_ID)
                .n_unique()
                .over([col(CONVERSATION_NO)])?
                .alias("meta_per_ours"),
            meta_expires_us.alias("meta_expires_us"),
            meta_category().alias("meta_category"),
        ])
        .with_columns(agreement())
        .streamed()?;
    Ok(frame)
}

fn agreement() -> Vec<Expr> {
    let ours_missing = col(CONVERSATION_NO).is_null();
    let boundaries_differ = ours_missing
        .clone()
        .or(col("ours_per_meta").neq(lit(1)))
        .or(col("meta_per_ours").neq(lit(1)));
    let category_differs = col("meta_category")
        .is_not_null()
        .and(col("meta_category").neq_missing(col(CONVERSATION_CATEGORY)));
    let expiry_differs = col("meta_expires_us").is_not_null().and(
        (col(CONVERSATION_EXPIRES_US) - col("meta_expires_us"))
            .abs()
            .gt(lit(EXPIRY_TOLERANCE_S * 1_000_000))
            .fill_null(true),
    );
    let text = |differs: Expr, parts: Vec<Expr>| {
        when(differs.fill_null(false))
            .then(concat_str(parts, "", false))
            .otherwise(lit(NULL).cast(DataType::String))
    };
    let ours_no = col(CONVERSATION_NO)
        .cast(DataType::String)
        .fill_null(lit("none"));
    let detail = concat_str(
        [
            text(
                boundaries_differ.clone(),
                vec![
                    lit("boundaries: ours "),
                    ours_no,
                    lit(", Meta "),
                    col(CONVERSATION_ID),
                ],
            ),
            text(
                category_differs.clone(),
                vec![
                    lit("category: ours "),
                    col(CONVERSATION_CATEGORY).fill_null(lit("none")),
                    lit(", Meta "),
                    col(CONVERSATION_ORIGIN),
                ],
            ),
            text(
                expiry_differs.clone(),
                vec![
                    lit("expiry: ours "),
                    instant_text(col(CONVERSATION_EXPIRES_US)).fill_null(lit("none")),
                    lit(", Meta "),
                    instant_text(col("meta_expires_us")),
                ],
            ),
        ],
        "; ",
        true,
    );
    let agrees = boundaries_differ
        .or(category_differs)
        .or(expiry_differs)
        .fill_null(true)
        .not();
    vec![agrees.alias("agrees"), detail.alias("detail")]
}

/// The figures of [`checked`] rows.
pub fn summary(checked: &DataFrame) -> Result<MetaConversations> {
    let total = checked.height() as u64;
    let agreed = count(checked, col("agrees"))?;
    Ok(MetaConversations {
        with_meta_conversation: total,
        agreed,
        agreement_share: crate::frames::share(agreed, total),
        expiry_tolerance_s: EXPIRY_TOLERANCE_S,
        by_month: super::agreement_by_month(checked.clone().lazy())?,
    })
}

/// Our conversations beside Meta's `conversation_analytics`, in
/// `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct ConversationAnalytics {
    pub file: String,
    pub rows: usize,
    pub conversations_ours: i64,
    pub conversations_meta: i64,
    pub rows_with_conversation_difference: u64,
}

/// Our conversations and their cost beside Meta's, per billing month
/// (billing time zone) × country × conversation category (upper case, as
/// Meta writes it; a free entry point conversation is `FREE_ENTRY_POINT`)
/// and our currency.
pub fn analytics_comparison(conversations: &impl Table, points: &DataFrame) -> Result<DataFrame> {
    let keys = ["month", COUNTRY, "conversation_category"];
    let ours = conversations
        .scan()
        .select([
            col(crate::pricing::BILLING_MONTH)
                .dt()
                .strftime("%Y-%m")
                .alias("month"),
            col(COUNTRY),
            col("category")
                .str()
                .to_uppercase()
                .alias("conversation_category"),
            col(crate::pricing::CURRENCY),
            col("cost"),
        ])
        .group_by([
            col("month"),
            col(COUNTRY),
            col("conversation_category"),
            col(crate::pricing::CURRENCY),
        ])
        .agg([
            len().cast(DataType::Int64).alias("conversations_ours"),
            col("cost").sum().alias("cost_ours_nanos"),
        ]);
    super::beside_meta(
        ours,
        points,
        keys,
        ["conversations", "conversation_difference"],
    )
}

pub fn analytics_summary(table: &DataFrame, file: &str) -> Result<ConversationAnalytics> {
    let sum = |name: &str| -> Result<i64> { Ok(table.column(name)?.i64()?.iter().flatten().sum()) };
    Ok(ConversationAnalytics {
        file: file.to_string(),
        rows: table.height(),
        conversations_ours: sum("conversations_ours")?,
        conversations_meta: sum("conversations_meta")?,
        rows_with_conversation_difference: count(
            table,
            col("conversation_difference").neq(lit(0i64)),
        )?,
    })
}
