//! Reconciliation: our reconstruction against what Meta itself reported
//! (issue 5). Runs on the priced sends of the reporting period.
//!
//! Four checks, each only when its data is present:
//! - **131047** (re-engagement) failures: one outside every reconstructed
//!   window confirms the reconstruction; one inside an open window means the
//!   log misses customer messages or the rule differs, and is listed.
//! - **Pricing flags** of status webhooks (`pricing.type`, `category`,
//!   `billable`, `pricing_model`) against the `pricing_rule` and regime we
//!   derived: agreement per month, and every disagreeing row. What we
//!   expect Meta to say, by our rule: `charged`/`unpriced` → `regular`
//!   (billable); `free_in_window_utility`, `free_not_template`,
//!   `free_service_tier` → `free_customer_service`; `free_entry_point` →
//!   `free_entry_point` (category not compared: Meta writes
//!   `referral_conversion` or `service` there). Failed, blocked and
//!   `cbp` rows carry no comparable flags (under `cbp` they describe the
//!   conversation: the next check). A what-if run
//!   (`--regime`, `--rates-as-of`) is not compared: it is not what Meta billed.
//!   Categories compare after Meta's spellings are folded
//!   (`marketing_lite` = marketing, `-` = `_`); a non-template is `service`.
//! - **Conversations** (`cbp`): Meta's conversation id, origin and expiry
//!   of each send against ours (`conversations`); not for what-if runs.
//! - **`--meta-analytics`**: Meta's `pricing_analytics` data points against
//!   our delivered (not failed, not blocked) volume and cost per billing
//!   month (`--billing-tz`) × country × pricing category, where a message
//!   of a free entry point window counts as SERVICE as Meta reports it;
//!   `conversation_analytics` points against our conversations
//!   (`conversations::analytics_comparison`).

pub mod conversations;
pub mod tiers;

use anyhow::Result;
use polars::prelude::*;

use crate::rows::Streamed;
use serde::Serialize;

use crate::ingest::analytics::MetaAnalytics;
use crate::ingest::webhook::TierUpdate;
use crate::pricing::money::nanos_text;
use crate::pricing::{BILLING_MONTH, COST, CURRENCY, PRICING_RULE, REGIME};
use crate::rows::count_where as count;
use crate::rows::Table;
use crate::schema::*;

/// Rows of `reconciliation.csv`, the analytics comparison, and the figures
/// of `summary.json` (agreement by month among them).
pub struct Reconciliation {
    pub rows: DataFrame,
    pub analytics: Option<DataFrame>,
    /// Our conversations beside Meta's `conversation_analytics`.
    pub conversation_analytics: Option<DataFrame>,
    /// Our tier entries beside Meta's tier updates and analytics
    /// (`tiers`), when Meta said anything about tiers.
    pub tiers: Option<DataFrame>,
    pub summary: ReconciliationSummary,
}

/// The reconciliation's figures in `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct ReconciliationSummary {
    pub re_engagement_131047: ReEngagement,
    pub pricing: MetaPricing,
    /// Our conversations against Meta's conversation ids (`cbp`), when
    /// the webhooks carry them.
    pub conversations: Option<conversations::MetaConversations>,
    pub analytics: Option<AnalyticsSummary>,
    pub conversation_analytics: Option<conversations::ConversationAnalytics>,
    /// Rows of `tier_reconciliation.csv`, and how many have both our entry
    /// and Meta's time.
    pub tiers: Option<TierSummary>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TierSummary {
    pub rows: usize,
    pub with_both: u64,
}

/// Error 131047 failures, and how many fell inside a window we rebuilt.
#[derive(Debug, Clone, Serialize)]
pub struct ReEngagement {
    pub failures: u64,
    pub outside_window: u64,
    pub inside_window: u64,
}

/// Our pricing rule against Meta's webhook pricing flags.
#[derive(Debug, Clone, Serialize)]
pub struct MetaPricing {
    pub with_meta_pricing: u64,
    pub compared: u64,
    pub agreed: u64,
    pub agreement_share: Option<f64>,
    pub skipped_what_if: bool,
    pub by_month: Vec<MonthAgreement>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MonthAgreement {
    pub month: Option<String>,
    pub compared: u64,
    pub agreed: u64,
    pub agreement_share: Option<f64>,
}

/// Our volume beside Meta's `pricing_analytics`.
#[derive(Debug, Clone, Serialize)]
pub struct AnalyticsSummary {
    pub file: String,
    pub rows: usize,
    pub volume_ours: i64,
    pub volume_meta: i64,
    pub rows_with_volume_difference: u64,
}

const EXPECTED_TYPE: &str = "expected_pricing_type";

fn lower(name: &str) -> Expr {
    col(name).str().to_lowercase()
}

fn rule_in(rules: &[&str]) -> Expr {
    let list = Series::new("rules".into(), rules);
    col(PRICING_RULE).is_in(lit(list).implode(false), false)
}

/// What Meta's `pricing.type` should be for our pricing rule.
///
/// Under `cbp` Meta's flags describe the conversation, not the message:
/// those sends are compared by conversation (`conversations`) instead.
fn expected_type() -> Expr {
    when(col(REGIME).eq(lit(crate::pricing::Regime::Cbp.name())))
        .then(lit(NULL).cast(DataType::String))
        .when(rule_in(&["free_entry_point"]))
        .then(lit("free_entry_point"))
        .when(rule_in(&["charged", "unpriced"]))
        .then(lit("regular"))
        .when(rule_in(&[
            "free_in_window_utility",
            "free_not_template",
            "free_service_tier",
        ]))
        .then(lit("free_customer_service"))
        .otherwise(lit(NULL).cast(DataType::String))
}

fn our_category() -> Expr {
    when(col(IS_TEMPLATE))
        .then(col(CATEGORY))
        .otherwise(lit("service"))
}

fn meta_category() -> Expr {
    let c = lower(PRICING_CATEGORY)
        .str()
        .replace_all(lit("-"), lit("_"), true);
    when(c.clone().eq(lit("marketing_lite")))
        .then(lit("marketing"))
        .otherwise(c)
}

/// Failed with Meta's "re-engagement message" error.
fn is_re_engagement() -> Expr {
    col(ERROR_CODE).eq(lit("131047")).fill_null(false)
}

/// `None` when there is nothing of Meta's to compare with.
pub fn reconcile(
    sends: &impl Table,
    our_conversations: &impl Table,
    what_if: bool,
    analytics: Option<(&str, &MetaAnalytics)>,
    tier_updates: &[TierUpdate],
) -> Result<Option<Reconciliation>> {
    // Most logs carry nothing of Meta's: check that before any other work.
    let with_pricing = count(sends, col(PRICING_TYPE).is_not_null())?;
    let re_engagement = count(sends, is_re_engagement())?;
    // A what-if run's conversations are not what Meta billed.
    let with_conversation = match what_if {
        true => 0,
        false => count(sends, conversations::with_meta_conversation())?,
    };
    if with_pricing == 0
        && re_engagement == 0
        && with_conversation == 0
        && analytics.is_none()
        && tier_updates.is_empty()
    {
        return Ok(None);
    }
    let conversation_rows = match with_conversation {
        0 => None,
        _ => Some(conversations::checked(sends)?),
    };
    let tiers = tiers::tier_entries(sends, tier_updates, analytics.map(|(_, a)| &a.tiers))?;
    // Only rows with Meta's pricing or a 131047 failure are compared or
    // listed: the rest of the sends (most of them, in an export without
    // Meta's fields) are never copied.
    let checked = sends
        .scan()
        .filter(col(PRICING_TYPE).is_not_null().or(is_re_engagement()))
        .with_columns([
            expected_type().alias(EXPECTED_TYPE),
            is_re_engagement().alias("re_engagement"),
        ])
        .with_columns(agreement(what_if))
        .streamed()?;
    let inside = count(&checked, col("re_engagement").and(col(IN_WINDOW)))?;
    let compared = count(&checked, col("compared"))?;
    let agreed = count(&checked, col("compared").and(col("agrees")))?;
    let by_month = agreement_by_month(checked.clone().lazy().filter(col("compared")))?;
    // A file of conversation points only is not compared by message.
    let analytics_table = analytics
        .filter(|(_, points)| points.totals.height() > 0 || points.conversations.height() == 0)
        .map(|(_, points)| analytics_comparison(sends, &points.totals))
        .transpose()?;
    let conversation_analytics = analytics
        .filter(|(_, points)| points.conversations.height() > 0)
        .map(|(_, points)| {
            conversations::analytics_comparison(our_conversations, &points.conversations)
        })
        .transpose()?;
    let summary = ReconciliationSummary {
        re_engagement_131047: ReEngagement {
            failures: re_engagement,
            outside_window: re_engagement - inside,
            inside_window: inside,
        },
        pricing: MetaPricing {
            with_meta_pricing: with_pricing,
            compared,
            agreed,
            agreement_share: crate::frames::share(agreed, compared),
            skipped_what_if: what_if && with_pricing > 0,
            by_month,
        },
        conversations: conversation_rows
            .as_ref()
            .map(conversations::summary)
            .transpose()?,
        analytics: match (&analytics_table, analytics) {
            (Some(table), Some((file, _))) => Some(analytics_summary(table, file)?),
            _ => None,
        },
        conversation_analytics: match (&conversation_analytics, analytics) {
            (Some(table), Some((file, _))) => Some(conversations::analytics_summary(table, file)?),
            _ => None,
        },
        tiers: tiers
            .as_ref()
            .map(|t| -> Result<TierSummary> {
                Ok(TierSummary {
                    rows: t.height(),
                    with_both: count(
                        t,
                        col("our_first_at")
                            .is_not_null()
                            .and(col("meta_reached_at").is_not_null()),
                    )?,
                })
            })
            .transpose()?,
    };
    Ok(Some(Reconciliation {
        rows: disagreements(&checked, conversation_rows.as_ref())?,
        analytics: analytics_table,
        conversation_analytics,
        tiers,
        summary,
    }))
}

/// `compared`, `agrees` and `detail` (what differs, in words).
fn agreement(what_if: bool) -> Vec<Expr> {
    let expected = col(EXPECTED_TYPE);
    let meta_type = lower(PRICING_TYPE);
    let compared = meta_type
        .clone()
        .is_not_null()
        .and(expected.clone().is_not_null())
        .and(lit(!what_if));
    let type_differs = meta_type.clone().neq(expected.clone());
    let category_differs = expected
        .clone()
        .neq(lit("free_entry_point"))
        .and(meta_category().is_not_null())
        .and(meta_category().neq(our_category()).fill_null(true));
    let expected_billable = when(expected.clone().eq(lit("regular")))
        .then(lit("true"))
        .otherwise(lit("false"));
    let billable_differs = lower(BILLABLE)
        .is_not_null()
        .and(lower(BILLABLE).neq(expected_billable.clone()));
    let model_differs = lower(PRICING_MODEL)
        .is_not_null()
        .and(lower(PRICING_MODEL).neq(lit("pmp")));
    // Each check that differs says what we and Meta have.
    let checks = [
        (type_differs.clone(), "type", expected.clone(), meta_type),
        (
            category_differs.clone(),
            "category",
            our_category().fill_null(lit("unknown")),
            col(PRICING_CATEGORY),
        ),
        (
            billable_differs.clone(),
            "billable",
            expected_billable,
            col(BILLABLE),
        ),
        (
            model_differs.clone(),
            "model",
            col(REGIME),
            col(PRICING_MODEL),
        ),
    ];
    let parts: Vec<Expr> = checks
        .into_iter()
        .map(|(differs, what, ours, meta)| {
            let text = concat_str(
                [lit(format!("{what}: ours ")), ours, lit(", Meta "), meta],
                "",
                false,
            );
            when(differs.fill_null(false))
                .then(text)
                .otherwise(lit(NULL).cast(DataType::String))
        })
        .collect();
    let detail = concat_str(parts, "; ", true);
    let agrees = type_differs
        .or(category_differs)
        .or(billable_differs)
        .or(model_differs)
        .fill_null(false)
        .not();
    vec![
        compared.clone().alias("compared"),
        agrees.alias("agrees"),
        detail.alias("detail"),
    ]
}

/// `reconciliation.csv`: 131047 failures inside a window, pricing and
/// conversation disagreements, in time order.
fn disagreements(checked: &DataFrame, conversations: Option<&DataFrame>) -> Result<DataFrame> {
    let inside = checked
        .clone()
        .lazy()
        .filter(col("re_engagement").and(col(IN_WINDOW)))
        .with_columns([
            lit("re_engagement_in_window").alias("check"),
            concat_str(
                [
                    lit("Meta: outside the window (131047); the log: inside window "),
                    col(crate::windows::WINDOW_OPENER),
                ],
                "",
                true,
            )
            .alias("detail"),
        ]);
    let pricing = checked
        .clone()
        .lazy()
        .filter(col("compared").and(col("agrees").not()))
        .with_column(lit("pricing").alias("check"));
    let columns = [
        col("check"),
        col(MESSAGE_ID),
        col(BUSINESS_NUMBER),
        col(CONTACT),
        col(TS)
            .dt()
            .strftime(crate::timestamps::TIME_FORMAT)
            .alias("timestamp"),
        col("month"),
        col(CLASS),
        col(crate::windows::WINDOW_OPENER).alias(crate::schema::WINDOW_ID),
        col(REGIME),
        col(PRICING_RULE),
        col(CATEGORY),
        col(ERROR_CODE),
        col(EXPECTED_TYPE),
        col(PRICING_MODEL).alias("meta_pricing_model"),
        col(PRICING_TYPE).alias("meta_pricing_type"),
        col(PRICING_CATEGORY).alias("meta_pricing_category"),
        col(BILLABLE).alias("meta_billable"),
        col(CONVERSATION_ID).alias("meta_conversation_id"),
        col(CONVERSATION_ORIGIN).alias("meta_conversation_origin"),
        col("detail"),
    ];
    let mut tables = vec![
        inside.select(columns.clone()),
        pricing.select(columns.clone()),
    ];
    if let Some(rows) = conversations {
        let differing = rows
            .clone()
            .lazy()
            .filter(col("agrees").not())
            .with_columns([
                lit("conversation").alias("check"),
                lit(NULL).cast(DataType::String).alias(EXPECTED_TYPE),
            ]);
        tables.push(differing.select(columns));
    }
    Ok(concat(tables, UnionArgs::default())?
        .sort_by_exprs(
            [col("timestamp"), col(MESSAGE_ID), col("check")],
            SortMultipleOptions::default(),
        )
        .streamed()?)
}

/// How many of the compared `rows` (with `month` and `agrees`) agree,
/// per month.
pub(crate) fn agreement_by_month(rows: LazyFrame) -> Result<Vec<MonthAgreement>> {
    let by_month = rows
        .group_by([col("month")])
        .agg([
            len().cast(DataType::UInt64).alias("compared"),
            col("agrees").cast(DataType::UInt64).sum().alias("agreed"),
        ])
        .sort(["month"], Default::default())
        .streamed()?;
    let months = by_month.column("month")?.str()?;
    let compared = by_month.column("compared")?.u64()?;
    let agreed = by_month.column("agreed")?.u64()?;
    Ok((0..by_month.height())
        .map(|i| {
            let (c, a) = (compared.get(i).unwrap_or(0), agreed.get(i).unwrap_or(0));
            MonthAgreement {
                month: months.get(i).map(String::from),
                compared: c,
                agreed: a,
                agreement_share: crate::frames::share(a, c),
            }
        })
        .collect())
}

/// Our delivered volume and cost beside Meta's, per billing month ×
/// country × pricing category (and our currency).
fn analytics_comparison(sends: &impl Table, points: &DataFrame) -> Result<DataFrame> {
    let keys = ["month", COUNTRY, "pricing_category"];
    let category = when(col(PRICING_RULE).eq(lit("free_entry_point")))
        .then(lit("SERVICE"))
        .when(col(IS_TEMPLATE))
        .then(col(CATEGORY).str().to_uppercase())
        .otherwise(lit("SERVICE"));
    let ours = sends
        .scan()
        .filter(
            col(FAILED)
                .not()
                .and(col(CLASS).neq(lit("freeform_blocked"))),
        )
        .with_columns([
            col(BILLING_MONTH).dt().strftime("%Y-%m").alias("month"),
            category.alias("pricing_category"),
        ])
        .group_by([
            col("month"),
            col(COUNTRY),
            col("pricing_category"),
            col(CURRENCY),
        ])
        .agg([
            len().cast(DataType::Int64).alias("volume_ours"),
            col(COST).sum().alias("cost_ours_nanos"),
        ]);
    beside_meta(ours, points, keys, ["volume", "volume_difference"])
}

/// `ours` (grouped by `keys` and currency, with `<count>_ours` and
/// `cost_ours_nanos`) beside Meta's `points` (`<count>_meta`,
/// `cost_meta`): every key either side has, a missing count 0, and the
/// difference of the counts named `names[1]`.
pub(crate) fn beside_meta(
    ours: LazyFrame,
    points: &DataFrame,
    keys: [&str; 3],
    names: [&str; 2],
) -> Result<DataFrame> {
    let [count, difference] = names;
    let (ours_n, meta_n) = (format!("{count}_ours"), format!("{count}_meta"));
    let mut order = keys.to_vec();
    order.push("currency_ours");
    let joined = ours
        .join(
            points.clone().lazy(),
            keys.map(col),
            keys.map(col),
            JoinArgs::new(JoinType::Full).with_coalesce(JoinCoalesce::CoalesceColumns),
        )
        .with_columns([
            col(&ours_n).fill_null(lit(0i64)),
            col(&meta_n).fill_null(lit(0i64)),
        ])
        .select([
            col(keys[0]),
            col(keys[1]),
            col(keys[2]),
            col(&ours_n),
            col(&meta_n),
            (col(&ours_n) - col(&meta_n)).alias(difference),
            nanos_text(col("cost_ours_nanos").fill_null(lit(0i64))).alias("cost_ours"),
            col(CURRENCY).alias("currency_ours"),
            col("cost_meta")
                .round(6, RoundMode::HalfAwayFromZero)
                .alias("cost_meta"),
        ])
        .sort(order, SortMultipleOptions::default().with_nulls_last(true));
    Ok(joined.streamed()?)
}

fn analytics_summary(table: &DataFrame, file: &str) -> Result<AnalyticsSummary> {
    let sum = |name: &str| -> Result<i64> { Ok(table.column(name)?.i64()?.iter().flatten().sum()) };
    let differing = count(table, col("volume_difference").neq(lit(0i64)))?;
    Ok(AnalyticsSummary {
        file: file.to_string(),
        rows: table.height(),
        volume_ours: sum("volume_ours")?,
        volume_meta: sum("volume_meta")?,
        rows_with_volume_difference: differing,
    })
}
