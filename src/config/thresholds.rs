//! The limits that fail a scheduled run (`--max-spend`,
//! `--max-avoidable-share`, `--max-late-reply-share`,
//! `--min-answered-share`), checked when given; `report::thresholds`
//! compares them with a run's figures.

use anyhow::Result;

use crate::bad_input;
use crate::pricing::money::parse_price;

/// The limits a run was given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Thresholds {
    pub max_spend_nanos: Option<i64>,
    pub max_avoidable_share: Option<f64>,
    pub max_late_reply_share: Option<f64>,
    pub min_answered_share: Option<f64>,
}

/// The thresholds as given, unchecked (`--max-spend` as typed).
#[derive(Debug, Clone, Default)]
pub struct ThresholdArgs {
    pub max_spend: Option<String>,
    pub max_avoidable_share: Option<f64>,
    pub max_late_reply_share: Option<f64>,
    pub min_answered_share: Option<f64>,
}

impl Thresholds {
    pub fn resolve(args: &ThresholdArgs) -> Result<Self> {
        let share = |value: Option<f64>, flag: &str| -> Result<Option<f64>> {
            match value {
                Some(v) if !(0.0..=1.0).contains(&v) => Err(bad_input!(
                    "{flag} {v} is not a share; give a number from 0 to 1 (0.05 = 5%)"
                )),
                other => Ok(other),
            }
        };
        let max_spend_nanos = args
            .max_spend
            .as_deref()
            .map(|text| {
                parse_price(text).map_err(|why| {
                    bad_input!(
                        "--max-spend {text:?}: {why}; give an amount such as 1500 or 1500.50"
                    )
                })
            })
            .transpose()?;
        Ok(Thresholds {
            max_spend_nanos,
            max_avoidable_share: share(args.max_avoidable_share, "--max-avoidable-share")?,
            max_late_reply_share: share(args.max_late_reply_share, "--max-late-reply-share")?,
            min_answered_share: share(args.min_answered_share, "--min-answered-share")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_share_outside_zero_to_one_is_refused() {
        let args = ThresholdArgs {
            max_avoidable_share: Some(5.0),
            ..ThresholdArgs::default()
        };
        assert!(Thresholds::resolve(&args).is_err());
        let args = ThresholdArgs {
            max_spend: Some("lots".into()),
            ..ThresholdArgs::default()
        };
        assert!(Thresholds::resolve(&args).is_err());
    }
}
