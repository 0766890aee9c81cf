//! The run's summary: every figure the outputs show, computed once, typed.
//! `summary.json` is this structure serialised; `summary.md`, the HTML
//! report, the workbook and the thresholds read the same fields, so they
//! always agree.
//!
//! Fields serialise in the order written here, so the file is stable byte
//! for byte. `schema_version` changes whenever a key is renamed or
//! removed, or a section is added (CHANGELOG lists each change).

use std::fmt;

use anyhow::Result;
use polars::prelude::*;
use serde::{Serialize, Serializer};

use super::tables::Tables;
use super::thresholds::Check;
use crate::config::Settings;
use crate::frames::{share, signed_share};
use crate::reconcile::ReconciliationSummary;
use crate::rows::{counts_where, Streamed, Table};
use crate::schema::*;
use crate::{Analysis, FileAccount};

/// 2: `conversations` (§11) added, and regime `cbp` priced.
pub const SCHEMA_VERSION: u32 = 2;

/// An amount of money in nano-units, written as its exact decimal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Money(pub i64);

impl Money {
    /// The decimal as JSON has it (a number, its digits exact).
    fn json(self) -> serde_json::Value {
        let text = crate::pricing::money::format_nanos(self.0);
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
    }

    pub fn as_f64(self) -> f64 {
        self.json().as_f64().unwrap_or(0.0)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.json().serialize(serializer)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.json())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub schema_version: u32,
    pub tool: Tool,
    pub period: PeriodSummary,
    pub options: RunOptions,
    pub rows: RowCounts,
    pub files: Vec<FileAccount>,
    pub outbound: Outbound,
    pub windows: WindowFigures,
    /// When windows lapse unanswered, and what the lapses cost
    /// (`staffing`).
    pub staffing: super::staffing::Staffing,
    pub pricing: PricingSummary,
    pub spend: Spend,
    /// Conversations opened in the period under conversation-based
    /// pricing (`cbp`, §11).
    pub conversations: ConversationFigures,
    /// `--compare-regime`: the spend under the other regime.
    pub comparison: Option<Comparison>,
    /// Against Meta's own flags and analytics, when the input has them.
    pub reconciliation: Option<ReconciliationSummary>,
    pub data_quality: DataQuality,
    pub warnings: Vec<String>,
    /// Every threshold given, breached or not (set once checked).
    pub thresholds: Vec<Check>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct PeriodSummary {
    /// `2026-10`, `2026-10-01_2026-10-15` or `all`.
    pub label: String,
    pub from: Option<String>,
    pub to_exclusive: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunOptions {
    pub rule: &'static str,
    pub tz: String,
    pub input_tz: String,
}

/// §2: `read = processed + rejected + duplicates` (+ merged send-log rows).
#[derive(Debug, Clone, Serialize)]
pub struct RowCounts {
    pub read: u64,
    pub processed: u64,
    pub rejected: u64,
    pub duplicates: u64,
    pub merged: u64,
    pub accounted: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Outbound {
    pub total: u64,
    pub templates: u64,
    pub failed: u64,
    pub by_class: ByClass,
}

/// Outbound messages per class (§4), in the order of [`CLASSES`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct ByClass {
    pub freeform_in_window: u64,
    pub freeform_blocked: u64,
    pub template_avoidable: u64,
    pub template_late_reply: u64,
    pub template_needed: u64,
}

impl ByClass {
    pub fn get(&self, class: &str) -> u64 {
        match class {
            "freeform_in_window" => self.freeform_in_window,
            "freeform_blocked" => self.freeform_blocked,
            "template_avoidable" => self.template_avoidable,
            "template_late_reply" => self.template_late_reply,
            "template_needed" => self.template_needed,
            _ => 0,
        }
    }

    /// Templates that were needed: late replies included.
    pub fn needed(&self) -> u64 {
        self.template_needed + self.template_late_reply
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct WindowFigures {
    pub opened: u64,
    pub answered: u64,
    pub unanswered: u64,
    pub answered_within_1h: u64,
    pub answered_share: Option<f64>,
    pub median_first_response_secs: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PricingSummary {
    pub what_if: bool,
    pub regime: Option<&'static str>,
    pub rates_as_of: Option<String>,
    pub billing_tz: String,
    pub service_free_tier: u64,
    pub rate_cards: Vec<String>,
    pub regimes_used: Vec<String>,
    /// `--accounts`: the accounts file that priced the run.
    pub accounts: Option<String>,
    pub volume_tiers: VolumeTiers,
}

/// Volume tiers (§9): whether any card gave tier rows, and the messages
/// and spend of the period per tier.
#[derive(Debug, Clone, Serialize)]
pub struct VolumeTiers {
    pub applied: bool,
    pub by_tier: Vec<TierSpend>,
}

/// The sends of one billing month, market, rate category and tier.
#[derive(Debug, Clone, Serialize)]
pub struct TierSpend {
    /// The billing month (YYYY-MM, in the account's time zone).
    pub month: String,
    pub market: String,
    pub rate_category: String,
    pub tier: String,
    pub currency: String,
    pub messages: u64,
    pub spend: Money,
}

/// Spend per currency (never added across currencies).
#[derive(Debug, Clone, Serialize)]
pub struct Spend {
    pub by_currency: Vec<CurrencySpend>,
    pub unpriced_rows: u64,
    pub unpriced_regime_rows: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CurrencySpend {
    pub currency: String,
    pub total: Money,
    pub avoidable: Money,
    pub late_reply: Money,
    /// What answering every lapsed window in time would have saved: the
    /// late-reply spend minus what free-form replies would have cost.
    pub answering_saves: Money,
    pub avoidable_share: Option<f64>,
    pub late_reply_share: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ConversationFigures {
    pub total: u64,
    /// Per month (report time zone) × category × currency, in that order.
    pub by_month: Vec<ConversationMonth>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConversationMonth {
    pub month: String,
    pub category: String,
    pub currency: String,
    pub conversations: u64,
    /// Opened by a message charged for it (`charged`).
    pub charged: u64,
    /// Free: service conversations (`free_service`, `free_service_tier`)
    /// and free entry point ones.
    pub free: u64,
    /// Opened by a message with no rate (`unpriced`, with
    /// `--allow-unpriced`): left out of `cost`.
    pub unpriced: u64,
    pub cost: Money,
}

#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub regime: &'static str,
    pub what_if: bool,
    pub spend: Spend,
}

/// Counts of rows the data-quality section flags.
#[derive(Debug, Clone, Serialize)]
pub struct DataQuality {
    pub templates_unknown_category: u64,
    pub templates_missing_category: u64,
    pub outbound_missing_type: u64,
    pub inbound_missing_type: u64,
    pub error_code_without_failed_status: u64,
    pub contacts_unknown_country: u64,
    /// Templates the log marks authentication-international sent to a
    /// market with no such rate: priced as authentication (§10).
    pub auth_international_without_rate: u64,
}

impl DataQuality {
    /// Every flag by its name, in the order of `summary.json`.
    pub fn flags(&self) -> [(&'static str, u64); 7] {
        [
            (
                "templates_unknown_category",
                self.templates_unknown_category,
            ),
            (
                "templates_missing_category",
                self.templates_missing_category,
            ),
            ("outbound_missing_type", self.outbound_missing_type),
            ("inbound_missing_type", self.inbound_missing_type),
            (
                "error_code_without_failed_status",
                self.error_code_without_failed_status,
            ),
            ("contacts_unknown_country", self.contacts_unknown_country),
            (
                "auth_international_without_rate",
                self.auth_international_without_rate,
            ),
        ]
    }
}

impl Summary {
    /// The figures of one period (`settings.output.period`) of an analysis.
    pub fn build(analysis: &Analysis, settings: &Settings, tables: &Tables) -> Result<Self> {
        let sum = |pick: fn(&FileAccount) -> u64| analysis.files.iter().map(pick).sum::<u64>();
        let (read, processed, rejected, duplicates, merged) = (
            sum(|f| f.rows_read),
            sum(|f| f.processed),
            sum(|f| f.rejected),
            sum(|f| f.duplicates),
            sum(|f| f.merged),
        );
        let pricing = &settings.rules.pricing;
        Ok(Summary {
            schema_version: SCHEMA_VERSION,
            tool: Tool {
                name: "window-ledger",
                version: env!("CARGO_PKG_VERSION"),
            },
            period: PeriodSummary {
                label: settings.output.period.label.clone(),
                from: settings.output.period.from_us.map(micros_text),
                to_exclusive: settings.output.period.to_us.map(micros_text),
            },
            options: RunOptions {
                rule: settings.rules.window.name(),
                tz: settings.output.report_tz.name().to_string(),
                input_tz: settings.input.read.input_tz.as_str().to_string(),
            },
            rows: RowCounts {
                read,
                processed,
                rejected,
                duplicates,
                merged,
                accounted: read == processed + rejected + duplicates + merged,
            },
            files: analysis.files.clone(),
            outbound: outbound_figures(&tables.sends_full)?,
            windows: window_figures(&tables.windows)?,
            staffing: super::staffing::Staffing::compute(tables, settings)?,
            pricing: PricingSummary {
                what_if: pricing.is_what_if(),
                regime: pricing.regime.map(|r| r.name()),
                rates_as_of: pricing.rates_as_of.map(|d| d.to_string()),
                billing_tz: pricing.billing_tz.name().to_string(),
                service_free_tier: pricing.service_free_tier,
                rate_cards: analysis.rate_sources.clone(),
                regimes_used: regimes_used(&tables.sends_full)?,
                accounts: pricing.accounts.as_ref().map(|a| a.path.clone()),
                volume_tiers: VolumeTiers {
                    applied: analysis.volume_tiers,
                    by_tier: tier_spend(&tables.sends_full)?,
                },
            },
            spend: spend_by_currency(&tables.sends_full)?,
            conversations: conversation_figures(&tables.conversations)?,
            comparison: match (&tables.comparison, settings.rules.compare_regime) {
                (Some(frame), Some(regime)) => Some(Comparison {
                    regime: regime.name(),
                    what_if: true,
                    spend: spend_by_currency(frame)?,
                }),
                _ => None,
            },
            reconciliation: tables.reconciliation.as_ref().map(|r| r.summary.clone()),
            data_quality: data_quality(&analysis.messages, settings)?,
            warnings: analysis.warnings.clone(),
            thresholds: Vec::new(),
        })
    }

    /// `summary.json`'s text.
    pub fn to_json(&self) -> Result<String> {
        let mut text = serde_json::to_string_pretty(self)?;
        text.push('\n');
        Ok(text)
    }

    /// The spend of the first currency (the one headline cards show).
    pub fn first_spend(&self) -> Option<&CurrencySpend> {
        self.spend.by_currency.first()
    }
}

/// An instant as RFC 3339 UTC text.
pub fn micros_text(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .map(|t| t.format(crate::timestamps::TIME_FORMAT).to_string())
        .unwrap_or_default()
}

fn outbound_figures(sends: &impl Table) -> Result<Outbound> {
    let mut predicates: Vec<Expr> = CLASSES.iter().map(|c| col(CLASS).eq(lit(*c))).collect();
    predicates.extend([col(IS_TEMPLATE), col(FAILED)]);
    let counts = counts_where(sends, predicates)?;
    Ok(Outbound {
        total: sends.rows() as u64,
        templates: counts[CLASSES.len()],
        failed: counts[CLASSES.len() + 1],
        by_class: ByClass {
            freeform_in_window: counts[0],
            freeform_blocked: counts[1],
            template_avoidable: counts[2],
            template_late_reply: counts[3],
            template_needed: counts[4],
        },
    })
}

/// Spend per currency (never summed across currencies), as exact decimals.
/// The conversations of the period per month, category and currency.
pub fn conversation_figures(conversations: &impl Table) -> Result<ConversationFigures> {
    let rule_is = |rules: &[&str]| {
        let list = Series::new("rules".into(), rules);
        col(crate::pricing::PRICING_RULE)
            .is_in(lit(list).implode(false), false)
            .cast(DataType::UInt64)
            .sum()
    };
    let keys = ["month", "category", crate::pricing::CURRENCY];
    let grouped = conversations
        .scan()
        .with_column(col(crate::pricing::CURRENCY).fill_null(lit("")))
        .group_by(keys.map(col))
        .agg([
            len().cast(DataType::UInt64).alias("conversations"),
            rule_is(&["charged"]).alias("charged"),
            rule_is(&["free_service", "free_service_tier", "free_entry_point"]).alias("free"),
            rule_is(&["unpriced"]).alias("unpriced"),
            col("cost").sum().alias("cost"),
        ])
        .sort(keys, Default::default())
        .collect()?;
    let text = |name: &str| -> Result<Vec<String>> {
        Ok(grouped
            .column(name)?
            .str()?
            .iter()
            .map(|v| v.unwrap_or_default().to_string())
            .collect())
    };
    let count = |name: &str| -> Result<Vec<u64>> {
        Ok(grouped
            .column(name)?
            .u64()?
            .iter()
            .map(|v| v.unwrap_or(0))
            .collect())
    };
    let (months, categories, currencies) = (
        text("month")?,
        text("category")?,
        text(crate::pricing::CURRENCY)?,
    );
    let (n, charged, free) = (count("conversations")?, count("charged")?, count("free")?);
    let unpriced = count("unpriced")?;
    let cost: Vec<i64> = grouped
        .column("cost")?
        .i64()?
        .iter()
        .map(|v| v.unwrap_or(0))
        .collect();
    let by_month: Vec<ConversationMonth> = (0..grouped.height())
        .map(|i| ConversationMonth {
            month: months[i].clone(),
            category: categories[i].clone(),
            currency: currencies[i].clone(),
            conversations: n[i],
            charged: charged[i],
            free: free[i],
            unpriced: unpriced[i],
            cost: Money(cost[i]),
        })
        .collect();
    Ok(ConversationFigures {
        total: n.iter().sum(),
        by_month,
    })
}

pub fn spend_by_currency(sends: &impl Table) -> Result<Spend> {
    let totals = sends
        .scan()
        .filter(
            col(crate::pricing::CURRENCY)
                .is_not_null()
                .and(col(crate::pricing::CURRENCY).neq(lit(""))),
        )
        .group_by([col(crate::pricing::CURRENCY)])
        .agg({
            let mut aggregates = super::tables::spend_aggregates().to_vec();
            aggregates.push(
                col(crate::pricing::ANSWERING_SAVES)
                    .sum()
                    .alias("answering_saves"),
            );
            aggregates
        })
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
    let (cost, avoidable, late, answering) = (
        column("cost")?,
        column("avoidable_cost")?,
        column("late_reply_cost")?,
        column("answering_saves")?,
    );
    let currencies = totals.column(crate::pricing::CURRENCY)?.str()?.clone();
    let by_currency = (0..totals.height())
        .map(|i| CurrencySpend {
            currency: currencies.get(i).unwrap_or_default().to_string(),
            total: Money(cost[i]),
            avoidable: Money(avoidable[i]),
            late_reply: Money(late[i]),
            answering_saves: Money(answering[i]),
            avoidable_share: signed_share(avoidable[i], cost[i]),
            late_reply_share: signed_share(late[i], cost[i]),
        })
        .collect();
    let rule = || col(crate::pricing::PRICING_RULE);
    let unpriced = counts_where(
        sends,
        vec![
            rule().eq(lit("unpriced")),
            rule().eq(lit("unpriced_regime")),
        ],
    )?;
    Ok(Spend {
        by_currency,
        unpriced_rows: unpriced[0],
        unpriced_regime_rows: unpriced[1],
    })
}

/// Messages and spend per (month, market, rate category, tier, currency)
/// of the sends a tiered rate priced, tiers in the order of their bounds
/// (`tiers::lower_bound`, as in `summary.csv`).
fn tier_spend(sends: &impl Table) -> Result<Vec<TierSpend>> {
    use crate::pricing::{BILLING_MONTH, COST, CURRENCY, MARKET, RATE_CATEGORY, TIER};
    let keys = [
        col(BILLING_MONTH).dt().strftime("%Y-%m").alias("month"),
        col(MARKET),
        col(RATE_CATEGORY),
        col(TIER),
        col(CURRENCY),
    ];
    let groups = sends
        .scan()
        .filter(col(TIER).is_not_null())
        .group_by(keys)
        .agg([
            len().cast(DataType::UInt64).alias("messages"),
            col(COST).sum().alias("spend"),
        ])
        .sort_by_exprs(
            [
                col("month"),
                col(MARKET),
                col(RATE_CATEGORY),
                crate::pricing::tiers::lower_bound(col(TIER)),
                col(TIER),
                col(CURRENCY),
            ],
            SortMultipleOptions::default(),
        )
        .streamed()?;
    let text = |c: &str| -> Result<Vec<String>> {
        Ok(groups
            .column(c)?
            .str()?
            .iter()
            .map(|v| v.unwrap_or_default().to_string())
            .collect())
    };
    let (month, market, category) = (text("month")?, text(MARKET)?, text(RATE_CATEGORY)?);
    let (tier, currency) = (text(TIER)?, text(CURRENCY)?);
    let messages = groups.column("messages")?.u64()?.clone();
    let spend = groups.column("spend")?.i64()?.clone();
    Ok((0..groups.height())
        .map(|i| TierSpend {
            month: month[i].clone(),
            market: market[i].clone(),
            rate_category: category[i].clone(),
            tier: tier[i].clone(),
            currency: currency[i].clone(),
            messages: messages.get(i).unwrap_or(0),
            spend: Money(spend.get(i).unwrap_or(0)),
        })
        .collect())
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

fn window_figures(windows: &impl Table) -> Result<WindowFigures> {
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
    Ok(WindowFigures {
        opened,
        answered,
        unanswered: opened - answered,
        answered_within_1h: within_hour,
        answered_share: share(answered, opened),
        median_first_response_secs: median,
    })
}

/// The flags of the period's messages (all of them, inbound too, by their
/// time): a month's report flags its own month, whatever history it read.
fn data_quality(messages: &impl Table, settings: &Settings) -> Result<DataQuality> {
    let outbound = col(IS_INBOUND).not();
    let in_period = super::tables::in_period(col(crate::windows::TS_US), settings);
    let flags = vec![
        col(CATEGORY).eq(lit("unknown")).fill_null(false),
        col(IS_TEMPLATE).and(col("category_given").is_null()),
        outbound.clone().and(col(TYPE).is_null()),
        col(IS_INBOUND).and(col(TYPE).is_null()),
        outbound
            .and(col(ERROR_CODE).is_not_null())
            .and(col(STATUS).neq(lit("failed")))
            .fill_null(false),
        col(CATEGORY)
            .eq(lit("authentication_international"))
            .and(col(crate::pricing::RATE_CATEGORY).eq(lit("authentication")))
            .fill_null(false),
    ];
    let counts = counts_where(
        messages,
        flags
            .into_iter()
            .map(|f| f.and(in_period.clone()))
            .collect(),
    )?;
    let unknown_country_contacts = messages
        .scan_for(&[col(COUNTRY), col(CONTACT), in_period.clone()])
        .filter(col(COUNTRY).eq(lit(crate::country::UNKNOWN)).and(in_period))
        .select([col(CONTACT).n_unique().cast(DataType::UInt64).alias("n")])
        .streamed()?;
    Ok(DataQuality {
        templates_unknown_category: counts[0],
        templates_missing_category: counts[1],
        outbound_missing_type: counts[2],
        inbound_missing_type: counts[3],
        error_code_without_failed_status: counts[4],
        auth_international_without_rate: counts[5],
        contacts_unknown_country: unknown_country_contacts
            .column("n")?
            .u64()?
            .get(0)
            .unwrap_or(0),
    })
}
