//! Thresholds that fail a scheduled job (issue 8): `--max-spend`,
//! `--max-avoidable-share`, `--max-late-reply-share`,
//! `--min-answered-share`, checked against the figures of `summary.json`.
//!
//! Spend and spend shares are checked per currency (currencies are never
//! added); a figure that does not exist (no spend, no window) breaches
//! nothing. Every threshold given is listed in `summary.json`
//! (`thresholds`), breached or not; a breach makes the run exit with 3
//! after the whole report is written.

use serde_json::{json, Value};

use crate::config::Thresholds;
use crate::pricing::money::parse_price;

/// One checked threshold, as `summary.json` lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub name: &'static str,
    pub currency: Option<String>,
    pub limit: Value,
    pub actual: Value,
    pub breached: bool,
}

impl Check {
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "currency": self.currency,
            "limit": self.limit,
            "actual": self.actual,
            "breached": self.breached,
        })
    }

    /// `max_spend (USD): 1623.2 > limit 1500`, for stderr.
    pub fn describe(&self) -> String {
        let currency = self
            .currency
            .as_deref()
            .map_or(String::new(), |c| format!(" ({c})"));
        let relation = if self.name.starts_with("min") {
            "<"
        } else {
            ">"
        };
        format!(
            "{}{currency}: {} {relation} limit {}",
            self.name, self.actual, self.limit
        )
    }
}

/// Checks every given threshold against a built `summary.json`.
pub fn evaluate(limits: &Thresholds, summary: &Value) -> Vec<Check> {
    let mut checks = Vec::new();
    let currencies = summary["spend"]["by_currency"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for row in &currencies {
        let currency = row["currency"].as_str().map(String::from);
        if let Some(limit) = limits.max_spend_nanos {
            let actual = row["total"].clone();
            let breached = parse_price(&actual.to_string()).is_ok_and(|a| a > limit);
            checks.push(Check {
                name: "max_spend",
                currency: currency.clone(),
                limit: super::json::decimal(limit),
                actual,
                breached,
            });
        }
        for (name, limit, key) in [
            (
                "max_avoidable_share",
                limits.max_avoidable_share,
                "avoidable_share",
            ),
            (
                "max_late_reply_share",
                limits.max_late_reply_share,
                "late_reply_share",
            ),
        ] {
            if let Some(limit) = limit {
                let actual = row[key].clone();
                let breached = actual.as_f64().is_some_and(|a| a > limit);
                checks.push(Check {
                    name,
                    currency: currency.clone(),
                    limit: json!(limit),
                    actual,
                    breached,
                });
            }
        }
    }
    if let Some(limit) = limits.min_answered_share {
        let actual = summary["windows"]["answered_share"].clone();
        let breached = actual.as_f64().is_some_and(|a| a < limit);
        checks.push(Check {
            name: "min_answered_share",
            currency: None,
            limit: json!(limit),
            actual,
            breached,
        });
    }
    checks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> Value {
        json!({
            "spend": {"by_currency": [
                {"currency": "USD", "total": 1623.2, "avoidable": 100.0, "late_reply": 0,
                 "avoidable_share": 0.0616, "late_reply_share": 0.0}
            ]},
            "windows": {"answered_share": 0.83},
        })
    }

    #[test]
    fn breaches_are_per_currency_and_named() {
        let limits = Thresholds {
            max_spend_nanos: Some(1_500_000_000_000),
            max_avoidable_share: Some(0.05),
            max_late_reply_share: Some(0.10),
            min_answered_share: Some(0.9),
        };
        let checks = evaluate(&limits, &summary());
        let breached: Vec<&str> = checks
            .iter()
            .filter(|c| c.breached)
            .map(|c| c.name)
            .collect();
        assert_eq!(
            breached,
            ["max_spend", "max_avoidable_share", "min_answered_share"]
        );
        assert_eq!(checks[0].describe(), "max_spend (USD): 1623.2 > limit 1500");
        assert_eq!(checks.len(), 4);
    }
}
