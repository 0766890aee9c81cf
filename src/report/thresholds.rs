//! Thresholds that fail a scheduled job (issue 8): `--max-spend`,
//! `--max-avoidable-share`, `--max-late-reply-share`,
//! `--min-answered-share`, checked against the run's [`Summary`] figures.
//!
//! Spend and spend shares are checked per currency (currencies are never
//! added); a figure that does not exist (no spend, no window) breaches
//! nothing. Every threshold given is listed in `summary.json`
//! (`thresholds`), breached or not; a breach makes the run exit with 3
//! after the whole report is written.

use std::fmt;

use serde::{Serialize, Serializer};

use super::summary::{Money, Spend, WindowFigures};
use crate::config::Thresholds;

/// A limit or the figure it is checked against.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Figure {
    Money(Money),
    /// A share from 0 to 1; none when there is nothing to divide.
    Share(Option<f64>),
}

impl Serialize for Figure {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Figure::Money(money) => money.serialize(serializer),
            Figure::Share(share) => share.serialize(serializer),
        }
    }
}

impl fmt::Display for Figure {
    /// As `summary.json` writes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = serde_json::to_string(self).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

/// One checked threshold, as `summary.json` lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub currency: Option<String>,
    pub limit: Figure,
    pub actual: Figure,
    pub breached: bool,
}

impl Check {
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

/// Checks every given threshold against a run's spend and windows.
pub fn evaluate(limits: &Thresholds, spend: &Spend, windows: &WindowFigures) -> Vec<Check> {
    let mut checks = Vec::new();
    for row in &spend.by_currency {
        let currency = Some(row.currency.clone());
        if let Some(limit) = limits.max_spend_nanos {
            checks.push(Check {
                name: "max_spend",
                currency: currency.clone(),
                limit: Figure::Money(Money(limit)),
                actual: Figure::Money(row.total),
                breached: row.total.0 > limit,
            });
        }
        for (name, limit, actual) in [
            (
                "max_avoidable_share",
                limits.max_avoidable_share,
                row.avoidable_share,
            ),
            (
                "max_late_reply_share",
                limits.max_late_reply_share,
                row.late_reply_share,
            ),
        ] {
            if let Some(limit) = limit {
                checks.push(Check {
                    name,
                    currency: currency.clone(),
                    limit: Figure::Share(Some(limit)),
                    actual: Figure::Share(actual),
                    breached: actual.is_some_and(|a| a > limit),
                });
            }
        }
    }
    if let Some(limit) = limits.min_answered_share {
        let actual = windows.answered_share;
        checks.push(Check {
            name: "min_answered_share",
            currency: None,
            limit: Figure::Share(Some(limit)),
            actual: Figure::Share(actual),
            breached: actual.is_some_and(|a| a < limit),
        });
    }
    checks
}

#[cfg(test)]
mod tests {
    use super::super::summary::CurrencySpend;
    use super::*;

    fn spend() -> Spend {
        let nanos = |units: f64| Money((units * 1e9).round() as i64);
        Spend {
            by_currency: vec![CurrencySpend {
                currency: "USD".into(),
                total: nanos(1623.2),
                avoidable: nanos(100.0),
                late_reply: nanos(0.0),
                answering_saves: nanos(0.0),
                avoidable_share: Some(0.0616),
                late_reply_share: Some(0.0),
            }],
            unpriced_rows: 0,
            unpriced_regime_rows: 0,
        }
    }

    fn windows() -> WindowFigures {
        WindowFigures {
            opened: 100,
            answered: 83,
            unanswered: 17,
            answered_within_1h: 50,
            answered_share: Some(0.83),
            median_first_response_secs: Some(600.0),
        }
    }

    #[test]
    fn breaches_are_per_currency_and_named() {
        let limits = Thresholds {
            max_spend_nanos: Some(1_500_000_000_000),
            max_avoidable_share: Some(0.05),
            max_late_reply_share: Some(0.10),
            min_answered_share: Some(0.9),
        };
        let checks = evaluate(&limits, &spend(), &windows());
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

    #[test]
    fn a_figure_that_does_not_exist_breaches_nothing() {
        let limits = Thresholds {
            min_answered_share: Some(0.9),
            ..Thresholds::default()
        };
        let none = WindowFigures {
            answered_share: None,
            ..windows()
        };
        let checks = evaluate(&limits, &spend(), &none);
        assert!(!checks[0].breached);
        assert_eq!(checks[0].actual.to_string(), "null");
    }
}
