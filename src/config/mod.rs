//! Command-line values → validated settings.
//!
//! Everything a run needs is checked here, before the first row is read: time
//! zones exist, dates parse, the period is not empty. Stages receive these
//! settings and never look at the clock or the environment.

use std::path::PathBuf;

use anyhow::Result;
use chrono::{Datelike, Months, NaiveDate, TimeZone};
use chrono_tz::Tz;

use crate::bad_input;
use crate::cli::{PricingArgs, RunArgs, WindowRule};
use crate::pricing::card::CardFile;
use crate::pricing::{PricingParams, Regime};

/// Which outbound messages a run reports on: `[from, to)` as UTC
/// microseconds, both open-ended when not given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    pub from_us: Option<i64>,
    pub to_us: Option<i64>,
    /// `2026-10`, `2026-10-01_2026-10-15` or `all`: names the run directory.
    pub label: String,
    /// The first day, when the period is one calendar month.
    pub month: Option<NaiveDate>,
}

impl Period {
    /// The calendar month before a one-month period, for comparisons.
    pub fn previous_month(&self, tz: Tz) -> Option<Period> {
        let first = self.month? - Months::new(1);
        Some(Period {
            from_us: Some(local_midnight_us(first, tz)),
            to_us: self.from_us,
            label: first.format("%Y-%m").to_string(),
            month: Some(first),
        })
    }
}

/// Validated settings of one run.
#[derive(Debug, Clone)]
pub struct Settings {
    pub inputs: Vec<PathBuf>,
    pub out_dir: PathBuf,
    pub period: Period,
    pub report_tz: Tz,
    pub input_tz: Tz,
    pub rule: WindowRule,
    pub pricing: PricingParams,
    pub cards: Vec<CardFile>,
    pub markets: Option<PathBuf>,
    pub compare_regime: Option<Regime>,
    pub locale: crate::report::locale::Locale,
    pub show_contacts: bool,
    /// How inputs are read: time zone, mapping, webhook format, send logs.
    pub read: crate::ingest::ReadOptions,
    /// `--meta-analytics`: Meta's own volume and cost to reconcile against.
    pub meta_analytics: Option<PathBuf>,
    /// Limits that fail a scheduled run (exit 3).
    pub thresholds: crate::report::thresholds::Thresholds,
    /// `--queries DIR` (None: ./queries when it exists, else built in).
    pub queries: Option<PathBuf>,
    /// `--now` when given (µs): later timestamps are rejected. Without it
    /// nothing is "in the future": the job never reads the clock to judge
    /// data, so a rerun gives the same answer.
    pub latest_us: Option<i64>,
    /// `--hash-contacts`: the salt contacts are hashed with.
    pub contact_salt: Option<String>,
    /// `--row-tables`: sends and windows as CSV, Parquet or both.
    pub row_tables: crate::cli::RowTables,
    /// `--partition-rows` (`partition`; 0: one pass whatever the size).
    pub partition_rows: u64,
}

impl Settings {
    pub fn resolve(inputs: Vec<PathBuf>, out: Option<PathBuf>, run: &RunArgs) -> Result<Self> {
        let report_tz = parse_tz(&run.tz, "--tz")?;
        let input_tz = parse_tz(&run.input_tz, "--input-tz")?;
        let period = resolve_period(run, report_tz)?;
        let out_dir = out.unwrap_or_else(|| PathBuf::from("reports").join(&period.label));
        let latest_us = match run.now {
            Some(_) => Some(resolve_now(run)?.timestamp_micros()),
            None => None,
        };
        let cards = run
            .pricing
            .rates
            .iter()
            .map(|arg| CardFile::parse(arg))
            .collect::<Result<Vec<_>>>()?;
        Ok(Settings {
            inputs,
            out_dir,
            period,
            report_tz,
            input_tz,
            rule: run.rule,
            pricing: pricing_params(&run.pricing)?,
            cards,
            markets: run.pricing.markets.clone(),
            compare_regime: run.pricing.compare_regime,
            latest_us,
            contact_salt: None,
            locale: crate::report::locale::Locale::load(&run.lang)?,
            show_contacts: run.show_contacts,
            read: crate::ingest::ReadOptions::canonical(input_tz.name()),
            meta_analytics: None,
            thresholds: Default::default(),
            queries: None,
            row_tables: crate::cli::RowTables::Csv,
            partition_rows: run.partition_rows,
        })
    }

    /// Adds the thresholds and report sections of a scheduled run (issue 8).
    pub fn apply_ci(&mut self, ci: &crate::cli::CiArgs) -> Result<()> {
        self.thresholds = crate::report::thresholds::Thresholds::resolve(ci)?;
        if let Some(dir) = &ci.queries {
            if !dir.is_dir() {
                return Err(bad_input!(
                    "--queries {}: not a directory; give a directory of .sql files",
                    dir.display()
                ));
            }
        }
        self.queries = ci.queries.clone();
        self.row_tables = ci.row_tables;
        if ci.hash_contacts {
            let salt = ci
                .salt
                .clone()
                .or_else(|| std::env::var("WINDOW_LEDGER_SALT").ok())
                .filter(|s| !s.is_empty());
            self.contact_salt = Some(salt.ok_or_else(|| {
                bad_input!("--hash-contacts needs a salt: set WINDOW_LEDGER_SALT (or pass --salt); keep it secret and the same across runs to compare them")
            })?);
        }
        Ok(())
    }

    /// Adds what `report` says about its inputs (issue 5); checked here,
    /// before the first row is read.
    pub fn apply_sources(&mut self, sources: &crate::cli::SourceArgs) -> Result<()> {
        self.read.mapping = crate::ingest::Mapping::load(sources.mapping.as_deref(), &sources.map)?;
        self.read.format = sources.format;
        self.read.send_logs = sources.send_logs.clone();
        if let Some(path) = &sources.meta_analytics {
            if !path.is_file() {
                return Err(bad_input!(
                    "--meta-analytics {}: no such file; give the JSON that Meta's pricing_analytics request returned",
                    path.display()
                ));
            }
        }
        self.meta_analytics = sources.meta_analytics.clone();
        Ok(())
    }
}

fn pricing_params(args: &PricingArgs) -> Result<PricingParams> {
    Ok(PricingParams {
        billing_tz: parse_tz(&args.billing_tz, "--billing-tz")?,
        regime: args.regime,
        rates_as_of: args
            .rates_as_of
            .as_deref()
            .map(|d| parse_date(d, "--rates-as-of"))
            .transpose()?,
        allow_unpriced: args.allow_unpriced,
        service_free_tier: args.service_free_tier,
        unknown_category_as: args.unknown_category_as.card_name(),
    })
}

pub fn parse_tz(name: &str, flag: &str) -> Result<Tz> {
    name.parse::<Tz>().map_err(|_| {
        bad_input!(
            "{flag} {name:?} is not an IANA time zone; use a name such as UTC or Asia/Riyadh"
        )
    })
}

fn parse_date(value: &str, flag: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map_err(|_| bad_input!("{flag} {value:?} is not a date; write it as YYYY-MM-DD"))
}

/// `--now`: RFC 3339, or a date (its midnight in UTC); the clock when absent.
fn resolve_now(run: &RunArgs) -> Result<chrono::DateTime<chrono::Utc>> {
    let Some(text) = run.now.as_deref() else {
        return Ok(chrono::Utc::now());
    };
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    let day = parse_date(text, "--now").map_err(|_| {
        bad_input!("--now {text:?} is not a time; write it as RFC 3339 (2026-12-01T06:00:00Z) or YYYY-MM-DD")
    })?;
    Ok(day.and_hms_opt(0, 0, 0).expect("midnight").and_utc())
}

/// The first day of the month `--month` names, in `tz`.
fn month_start(month: &str, run: &RunArgs, tz: Tz) -> Result<NaiveDate> {
    if month.eq_ignore_ascii_case("previous") {
        let today = resolve_now(run)?.with_timezone(&tz).date_naive();
        let this_month = today.with_day(1).expect("day 1 exists");
        return Ok(this_month - Months::new(1));
    }
    parse_date(&format!("{month}-01"), "--month").map_err(|_| {
        bad_input!("--month {month:?} is not a month; write it as YYYY-MM or previous")
    })
}

fn resolve_period(run: &RunArgs, tz: Tz) -> Result<Period> {
    if let Some(month) = &run.month {
        let first = month_start(month, run, tz)?;
        let next = first + Months::new(1);
        return Ok(Period {
            from_us: Some(local_midnight_us(first, tz)),
            to_us: Some(local_midnight_us(next, tz)),
            label: first.format("%Y-%m").to_string(),
            month: Some(first),
        });
    }
    let from = run
        .from
        .as_deref()
        .map(|v| parse_date(v, "--from"))
        .transpose()?;
    let to = run
        .to
        .as_deref()
        .map(|v| parse_date(v, "--to"))
        .transpose()?;
    if let (Some(f), Some(t)) = (from, to) {
        if t < f {
            return Err(bad_input!(
                "--to {t} is before --from {f}: the period is empty"
            ));
        }
    }
    let label = match (from, to) {
        (None, None) => "all".to_string(),
        (f, t) => format!(
            "{}_{}",
            f.map_or("start".into(), |d| d.to_string()),
            t.map_or("end".into(), |d| d.to_string())
        ),
    };
    Ok(Period {
        from_us: from.map(|d| local_midnight_us(d, tz)),
        to_us: to.map(|d| local_midnight_us(d.succ_opt().unwrap_or(d), tz)),
        label,
        month: None,
    })
}

/// The UTC instant (µs) at which `day` starts in `tz`; a midnight skipped by
/// a DST change starts at the first instant that exists.
pub fn local_midnight_us(day: NaiveDate, tz: Tz) -> i64 {
    let mut local = day.and_hms_opt(0, 0, 0).expect("midnight exists");
    loop {
        if let Some(instant) = tz.from_local_datetime(&local).earliest() {
            return instant.timestamp_micros();
        }
        local += chrono::TimeDelta::minutes(15);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_args(month: Option<&str>, from: Option<&str>, to: Option<&str>) -> RunArgs {
        RunArgs {
            month: month.map(String::from),
            from: from.map(String::from),
            to: to.map(String::from),
            tz: "Asia/Riyadh".into(),
            input_tz: "UTC".into(),
            now: None,
            rule: WindowRule::CustomerOnly,
            lang: "en".into(),
            show_contacts: false,
            partition_rows: 0,
            pricing: PricingArgs::default(),
        }
    }

    #[test]
    fn month_is_local_calendar_month() {
        let p = resolve_period(
            &run_args(Some("2026-10"), None, None),
            chrono_tz::Asia::Riyadh,
        )
        .unwrap();
        // Riyadh is UTC+3: October starts at 2026-09-30T21:00Z.
        assert_eq!(p.from_us, Some(1_790_802_000_000_000));
        assert_eq!(p.label, "2026-10");
    }

    #[test]
    fn previous_month_counts_from_now_in_the_report_zone() {
        let mut args = run_args(Some("previous"), None, None);
        // 2026-11-30T22:00Z is already December 1st in Riyadh (UTC+3).
        args.now = Some("2026-11-30T22:00:00Z".into());
        let p = resolve_period(&args, chrono_tz::Asia::Riyadh).unwrap();
        assert_eq!(p.label, "2026-11");
        args.now = Some("2026-01-15".into());
        assert_eq!(
            resolve_period(&args, chrono_tz::UTC).unwrap().label,
            "2025-12"
        );
        args.now = Some("yesterday".into());
        assert!(resolve_period(&args, chrono_tz::UTC).is_err());
    }

    #[test]
    fn to_before_from_is_rejected() {
        let err = resolve_period(
            &run_args(None, Some("2026-10-05"), Some("2026-10-01")),
            chrono_tz::UTC,
        )
        .unwrap_err();
        assert!(err.to_string().contains("period is empty"));
    }

    #[test]
    fn unknown_zone_names_the_flag() {
        let err = parse_tz("Mars/Olympus", "--tz").unwrap_err();
        assert!(err.to_string().contains("--tz"));
        assert_eq!(crate::error::exit_code(&err), 2);
    }
}
