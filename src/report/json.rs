//! `summary.json`: the machine summary CI reads.
//!
//! Keys come out in the order written here (serde_json `preserve_order`),
//! so the file is stable byte for byte. `schema_version` changes whenever a
//! key is renamed or removed; adding keys keeps it.

use anyhow::Result;
use polars::prelude::*;

use crate::rows::Streamed;

use crate::rows::Table;
use serde_json::{json, Map, Value};

use super::tables::Tables;
use crate::config::Settings;
use crate::frames::share;
use crate::rows::counts_where;
use crate::schema::*;
use crate::Analysis;

pub const SCHEMA_VERSION: u32 = 1;

pub fn summary_json(analysis: &Analysis, settings: &Settings, tables: &Tables) -> Result<Value> {
    let files: Vec<Value> = analysis.files.iter().map(file_json).collect();
    let sum = |pick: fn(&crate::FileAccount) -> u64| analysis.files.iter().map(pick).sum::<u64>();
    let (read, processed, rejected, duplicates, merged) = (
        sum(|f| f.rows_read),
        sum(|f| f.processed),
        sum(|f| f.rejected),
        sum(|f| f.duplicates),
        sum(|f| f.merged),
    );
    Ok(json!({
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "window-ledger", "version": env!("CARGO_PKG_VERSION")},
        "period": {
            "label": settings.period.label,
            "from": settings.period.from_us.map(micros_text),
            "to_exclusive": settings.period.to_us.map(micros_text),
        },
        "options": {
            "rule": settings.rule.name(),
            "tz": settings.report_tz.name(),
            "input_tz": settings.input_tz.name(),
        },
        "rows": {
            "read": read, "processed": processed, "rejected": rejected, "duplicates": duplicates,
            "merged": merged,
            "accounted": read == processed + rejected + duplicates + merged,
        },
        "files": files,
        "outbound": outbound_figures(&tables.sends_full)?,
        "windows": window_figures(&tables.windows)?,
        "pricing": {
            "what_if": settings.pricing.is_what_if(),
            "regime": settings.pricing.regime.map(|r| r.name()),
            "rates_as_of": settings.pricing.rates_as_of.map(|d| d.to_string()),
            "billing_tz": settings.pricing.billing_tz.name(),
            "service_free_tier": settings.pricing.service_free_tier,
            "rate_cards": analysis.rate_sources,
            "regimes_used": regimes_used(&tables.sends_full)?,
        },
        "spend": spend_by_currency(&tables.sends_full)?,
        "comparison": match (&tables.comparison, settings.compare_regime) {
            (Some(frame), Some(regime)) => json!({
                "regime": regime.name(),
                "what_if": true,
                "spend": spend_by_currency(frame)?,
            }),
            _ => Value::Null,
        },
        "reconciliation": tables.reconciliation.as_ref().map_or(Value::Null, |r| r.summary.clone()),
        "data_quality": data_quality(&analysis.messages)?,
        "warnings": analysis.warnings,
    }))
}

/// One input file's account; `webhook` holds what a webhook file's
/// notifications were (null for other formats).
fn file_json(f: &crate::FileAccount) -> Value {
    let webhook = f.webhook.as_ref().map(|w| {
        json!({
            "lines": w.lines,
            "notifications": w.notifications,
            "inbound_messages": w.inbound_messages,
            "status_notifications": w.status_notifications,
            "outbound_messages": w.outbound_messages,
            "malformed_lines": w.malformed_lines,
            "skipped_changes": w.skipped_changes,
            "value_errors": w.value_errors,
        })
    });
    json!({
        "path": f.path, "format": f.format, "role": f.role, "rows_read": f.rows_read,
        "processed": f.processed, "rejected": f.rejected, "duplicates": f.duplicates,
        "merged": f.merged, "webhook": webhook,
    })
}

/// An instant as RFC 3339 UTC text.
pub fn micros_text(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .map(|t| t.format(crate::timestamps::TIME_FORMAT).to_string())
        .unwrap_or_default()
}

fn outbound_figures(sends: &impl Table) -> Result<Value> {
    let mut predicates: Vec<Expr> = CLASSES.iter().map(|c| col(CLASS).eq(lit(*c))).collect();
    predicates.extend([col(IS_TEMPLATE), col(FAILED)]);
    let counts = counts_where(sends, predicates)?;
    let mut by_class = Map::new();
    for (class, n) in CLASSES.iter().zip(&counts) {
        by_class.insert((*class).into(), json!(n));
    }
    Ok(json!({
        "total": sends.rows(),
        "templates": counts[CLASSES.len()],
        "failed": counts[CLASSES.len() + 1],
        "by_class": by_class,
    }))
}

/// Spend per currency (never summed across currencies), as exact decimals.
pub fn spend_by_currency(sends: &impl Table) -> Result<Value> {
    let totals = sends
        .scan()
        .filter(
            col(crate::pricing::CURRENCY)
                .is_not_null()
                .and(col(crate::pricing::CURRENCY).neq(lit(""))),
        )
        .group_by([col(crate::pricing::CURRENCY)])
        .agg(super::tables::spend_aggregates())
        .sort([crate::pricing::CURRENCY], Default::default())
        .streamed()?;
    let column = |name: &str| -> Result<Vec<i64>> {
        Ok(totals
            .column(name)?
            .i64()?
            .iter()
            .map(|v| v.unwrap_or(0))
            .collect())
    };
    let (cost, avoidable, late) = (
        column("cost")?,
        column("avoidable_cost")?,
        column("late_reply_cost")?,
    );
    let currencies = totals.column(crate::pricing::CURRENCY)?.str()?.clone();
    let mut rows = Vec::new();
    for i in 0..totals.height() {
        rows.push(json!({
            "currency": currencies.get(i),
            "total": decimal(cost[i]),
            "avoidable": decimal(avoidable[i]),
            "late_reply": decimal(late[i]),
            "avoidable_share": ratio(avoidable[i], cost[i]),
            "late_reply_share": ratio(late[i], cost[i]),
        }));
    }
    let rule = || col(crate::pricing::PRICING_RULE);
    let unpriced = counts_where(
        sends,
        vec![
            rule().eq(lit("unpriced")),
            rule().eq(lit("unpriced_regime")),
        ],
    )?;
    let (unpriced, unpriced_regime) = (unpriced[0], unpriced[1]);
    Ok(
        json!({"by_currency": rows, "unpriced_rows": unpriced, "unpriced_regime_rows": unpriced_regime}),
    )
}

/// Nano-units as a JSON number with the exact decimal digits.
pub fn decimal(nanos: i64) -> Value {
    let text = crate::pricing::money::format_nanos(nanos);
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

fn ratio(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 / whole as f64 * 10_000.0).round() / 10_000.0)
}

fn regimes_used(sends: &impl Table) -> Result<Vec<String>> {
    let regimes = sends
        .scan()
        .select([col(crate::pricing::REGIME)
            .unique()
            .sort(Default::default())])
        .streamed()?;
    Ok(regimes
        .column(crate::pricing::REGIME)?
        .str()?
        .iter()
        .flatten()
        .map(String::from)
        .collect())
}

fn window_figures(windows: &impl Table) -> Result<Value> {
    let figures = windows
        .scan()
        .select([
            col("answered")
                .cast(DataType::UInt64)
                .sum()
                .alias("answered"),
            col("first_response_secs")
                .lt(lit(3600.0))
                .fill_null(false)
                .cast(DataType::UInt64)
                .sum()
                .alias("within_hour"),
            col("first_response_secs").median().alias("median"),
        ])
        .streamed()?;
    let count =
        |name: &str| -> Result<u64> { Ok(figures.column(name)?.u64()?.get(0).unwrap_or(0)) };
    let (answered, within_hour) = (count("answered")?, count("within_hour")?);
    let median = figures.column("median")?.f64()?.get(0);
    let opened = windows.rows() as u64;
    Ok(json!({
        "opened": opened,
        "answered": answered,
        "unanswered": opened - answered,
        "answered_within_1h": within_hour,
        "answered_share": share(answered, opened),
        "median_first_response_secs": median,
    }))
}

fn data_quality(messages: &impl Table) -> Result<Value> {
    let outbound = col(IS_INBOUND).not();
    let counts = counts_where(
        messages,
        vec![
            col(CATEGORY).eq(lit("unknown")).fill_null(false),
            col(IS_TEMPLATE).and(col("category_given").is_null()),
            outbound.clone().and(col(TYPE).is_null()),
            col(IS_INBOUND).and(col(TYPE).is_null()),
            outbound
                .and(col(ERROR_CODE).is_not_null())
                .and(col(STATUS).neq(lit("failed")))
                .fill_null(false),
        ],
    )?;
    let unknown_country_contacts = messages
        .scan()
        .filter(col(COUNTRY).eq(lit(crate::country::UNKNOWN)))
        .select([col(CONTACT).n_unique().cast(DataType::UInt64).alias("n")])
        .streamed()?;
    Ok(json!({
        "templates_unknown_category": counts[0],
        "templates_missing_category": counts[1],
        "outbound_missing_type": counts[2],
        "inbound_missing_type": counts[3],
        "error_code_without_failed_status": counts[4],
        "contacts_unknown_country": unknown_country_contacts.column("n")?.u64()?.get(0).unwrap_or(0),
    }))
}
