//! What a run was asked for ([`Request`], plain values as typed) →
//! validated [`Settings`].
//!
//! Everything a run needs is checked here, before the first row is read: time
//! zones exist, dates parse, the period is not empty, files exist. Stages
//! receive these settings and never look at the clock or the environment
//! (but for `--now`'s default and the salt's variable, read here). The
//! command line (`cli`) fills a [`Request`]; its defaults are the constants
//! below, which `cli` shows in `--help`.

use std::path::PathBuf;

use anyhow::Result;
use chrono::{Datelike, Months, NaiveDate, TimeZone};
use chrono_tz::Tz;

use crate::bad_input;
use crate::ingest::{FormatChoice, Mapping, ReadOptions};
use crate::pricing::card::CardFile;
use crate::pricing::{PricingParams, Regime};
pub mod locale;
pub mod thresholds;

use crate::windows::WindowRule;
pub use locale::Locale;
pub use thresholds::{ThresholdArgs, Thresholds};

/// The zone of reports, inputs and billing when none is given.
pub const DEFAULT_ZONE: &str = "UTC";
/// The language of `report.html` when none is given.
pub const DEFAULT_LANG: &str = "en";
/// Free service messages per business number and month (pmp-2026-10, §5.2).
pub const DEFAULT_SERVICE_FREE_TIER: u64 = 1000;
/// `--partition-rows` when not given. Two parts are held at a time (one
/// checked while the one before it is priced, `pipeline::source`):
/// parts of this many rows keep a run's peak memory near 2.4 GiB (9.7M
/// rows; 3.4 GiB with 2M-row parts, which were no faster).
pub const DEFAULT_PARTITION_ROWS: u64 = 1_000_000;
/// `--hold-bytes` when not given: a log cut into parts whose Parquet row
/// groups hold at most this many bytes uncompressed is cut in memory, not
/// into files (`pipeline::source`). 10M rows of a typical export are about
/// 0.65 GiB so, and about 1 GiB as polars frames.
pub const DEFAULT_HOLD_BYTES: u64 = 1 << 30;
/// The card category an unknown template is priced as (§2).
pub const DEFAULT_UNKNOWN_CATEGORY: &str = "marketing";

/// The file formats of the row tables (`sends`, `windows`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RowTables {
    #[default]
    Csv,
    Parquet,
    Both,
}

impl RowTables {
    pub fn csv(self) -> bool {
        self != RowTables::Parquet
    }

    pub fn parquet(self) -> bool {
        self != RowTables::Csv
    }
}

/// What a run was asked for, as typed: nothing checked yet.
#[derive(Debug, Clone)]
pub struct Request {
    pub inputs: Vec<PathBuf>,
    /// The run directory; `reports/<period>` when `None`.
    pub out: Option<PathBuf>,
    /// `--month`, `--now`, `--from`, `--to`.
    pub month: Option<String>,
    pub now: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub tz: String,
    pub input_tz: String,
    pub rule: WindowRule,
    pub lang: String,
    pub show_contacts: bool,
    pub partition_rows: u64,
    pub hold_bytes: u64,
    pub pricing: PricingRequest,
    pub sources: SourcesRequest,
    pub outputs: OutputsRequest,
    /// `--continue-from`: the run directory of the previous run.
    pub continue_from: Option<PathBuf>,
    /// `--allow-gap`: days missing since the previous run are a warning.
    pub allow_gap: bool,
}

impl Default for Request {
    fn default() -> Self {
        Request {
            inputs: Vec::new(),
            out: None,
            month: None,
            now: None,
            from: None,
            to: None,
            tz: DEFAULT_ZONE.into(),
            input_tz: DEFAULT_ZONE.into(),
            rule: WindowRule::CustomerOnly,
            lang: DEFAULT_LANG.into(),
            show_contacts: false,
            partition_rows: DEFAULT_PARTITION_ROWS,
            hold_bytes: DEFAULT_HOLD_BYTES,
            pricing: PricingRequest::default(),
            sources: SourcesRequest::default(),
            outputs: OutputsRequest::default(),
            continue_from: None,
            allow_gap: false,
        }
    }
}

/// How messages are to be priced, as typed.
#[derive(Debug, Clone)]
pub struct PricingRequest {
    pub rates: Vec<String>,
    pub markets: Option<PathBuf>,
    pub billing_tz: String,
    pub allow_unpriced: bool,
    pub service_free_tier: u64,
    /// A card category: `marketing`, `utility`, `authentication` or
    /// `authentication_international`.
    pub unknown_category_as: &'static str,
    pub regime: Option<Regime>,
    pub rates_as_of: Option<String>,
    pub compare_regime: Option<Regime>,
    /// `--accounts`: the accounts file (docs/pricing.md "Accounts").
    pub accounts: Option<PathBuf>,
}

impl Default for PricingRequest {
    fn default() -> Self {
        PricingRequest {
            rates: Vec::new(),
            markets: None,
            billing_tz: DEFAULT_ZONE.into(),
            allow_unpriced: false,
            service_free_tier: DEFAULT_SERVICE_FREE_TIER,
            unknown_category_as: DEFAULT_UNKNOWN_CATEGORY,
            regime: None,
            rates_as_of: None,
            compare_regime: None,
            accounts: None,
        }
    }
}

/// What the inputs are and what Meta itself reported, as typed.
#[derive(Debug, Clone, Default)]
pub struct SourcesRequest {
    pub format: FormatChoice,
    pub map: Vec<String>,
    pub mapping: Option<PathBuf>,
    pub send_logs: Vec<PathBuf>,
    pub meta_analytics: Option<PathBuf>,
    /// The name the only message log goes by in the outputs (the demo's).
    pub label: Option<String>,
}

/// What a run writes besides its tables, and what fails it, as typed.
#[derive(Debug, Clone, Default)]
pub struct OutputsRequest {
    pub thresholds: ThresholdArgs,
    pub hash_contacts: bool,
    pub salt: Option<String>,
    pub row_tables: RowTables,
    pub queries: Option<PathBuf>,
}

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

/// Validated settings of one run, by concern; complete once built
/// ([`Settings::new`]), never amended.
#[derive(Debug, Clone)]
pub struct Settings {
    pub input: InputSettings,
    pub rules: RuleSettings,
    pub output: OutputSettings,
}

/// What is read, and how.
#[derive(Debug, Clone)]
pub struct InputSettings {
    pub files: Vec<PathBuf>,
    /// Time zone of timestamps without an offset, mapping, webhook format,
    /// send logs.
    pub read: ReadOptions,
    /// `--meta-analytics`: Meta's own volume and cost to reconcile against.
    pub meta_analytics: Option<PathBuf>,
    /// `--now` when given (µs): later timestamps are rejected. Without it
    /// nothing is "in the future": the job never reads the clock to judge
    /// data, so a rerun gives the same answer.
    pub latest_us: Option<i64>,
    /// `--partition-rows` (0: one part whatever the size).
    pub partition_rows: u64,
    /// `--hold-bytes`: the largest log (uncompressed Parquet bytes) cut
    /// into parts in memory rather than into files.
    pub hold_bytes: u64,
    /// `--continue-from`: the state of the run this one continues.
    pub continued: Option<crate::state::Continued>,
}

/// How windows are rebuilt and messages priced.
#[derive(Debug, Clone)]
pub struct RuleSettings {
    pub window: WindowRule,
    pub pricing: PricingParams,
    pub cards: Vec<CardFile>,
    pub markets: Option<PathBuf>,
    /// `--compare-regime`: price everything a second time under this one.
    pub compare_regime: Option<Regime>,
}

/// What is reported, and where.
#[derive(Debug, Clone)]
pub struct OutputSettings {
    pub out_dir: PathBuf,
    /// Which outbound messages the report covers.
    pub period: Period,
    pub report_tz: Tz,
    pub locale: Locale,
    pub show_contacts: bool,
    /// Limits that fail a scheduled run (exit 3).
    pub thresholds: Thresholds,
    /// `--queries DIR` (None: ./queries when it exists, else built in).
    pub queries: Option<PathBuf>,
    /// `--row-tables`: sends and windows as CSV, Parquet or both.
    pub row_tables: RowTables,
    /// `--hash-contacts`: the salt contacts are hashed with.
    pub contact_salt: Option<String>,
}

impl Settings {
    /// Checks everything `request` says, before any row is read.
    pub fn new(request: Request) -> Result<Self> {
        let mut settings = Settings::checked(request.clone())?;
        if let Some(dir) = &request.continue_from {
            let continued = crate::state::read(dir, &settings.state_rules()?, request.allow_gap)?;
            settings.continue_from(continued, &request)?;
        }
        Ok(settings)
    }

    /// The rules a run's state records (`crate::state::Rules`).
    pub fn state_rules(&self) -> Result<crate::state::Rules> {
        let pricing = &self.rules.pricing;
        let mut cards = Vec::new();
        for card in &self.rules.cards {
            let date = card
                .effective_from
                .map_or(String::new(), |d| format!("{d}="));
            cards.push(format!("{date}{}", crate::state::file_digest(&card.path)?));
        }
        if let Some(markets) = &self.rules.markets {
            cards.push(format!("markets={}", crate::state::file_digest(markets)?));
        }
        let accounts = match &pricing.accounts {
            Some(a) => Some(crate::state::file_digest(std::path::Path::new(&a.path))?),
            None => None,
        };
        Ok(crate::state::Rules {
            window_rule: self.rules.window.name().to_string(),
            billing_tz: pricing.billing_tz.name().to_string(),
            report_tz: self.output.report_tz.name().to_string(),
            service_free_tier: pricing.service_free_tier,
            regime: pricing.regime.map(|r| r.name().to_string()),
            unknown_category_as: pricing.unknown_category_as.to_string(),
            accounts,
            cards,
        })
    }

    /// A continued run reads the carried rows first, and reports from the
    /// previous run's end unless a period is given; a period may not start
    /// before the rows the state holds in full.
    fn continue_from(
        &mut self,
        continued: crate::state::Continued,
        request: &Request,
    ) -> Result<()> {
        let meta = &continued.meta;
        let period = &mut self.output.period;
        match period.from_us {
            None if period.to_us.is_none() => {
                let tz = self.output.report_tz;
                let day = chrono::DateTime::from_timestamp_micros(meta.end_us)
                    .expect("an instant the previous run wrote")
                    .with_timezone(&tz)
                    .date_naive();
                period.from_us = Some(meta.end_us);
                period.label = format!("{day}_end");
                if request.out.is_none() {
                    self.output.out_dir = PathBuf::from("reports").join(&period.label);
                }
            }
            None => period.from_us = Some(meta.end_us),
            Some(from) if from < meta.complete_from_us => {
                return Err(bad_input!(
                    "the period starts before what the previous run ({}) carried forward: it holds every message from {} only (its month in progress); report from there or later, or run over the whole history",
                    continued.dir.display(),
                    meta.complete_from
                ));
            }
            Some(_) => {}
        }
        self.input.read.carried = Some(continued.carried_path());
        self.input.read.recent_ids = Some(continued.recent_ids_path());
        self.input.continued = Some(continued);
        Ok(())
    }

    fn checked(request: Request) -> Result<Self> {
        let report_tz = parse_tz(&request.tz, "--tz")?;
        let input_tz = parse_tz(&request.input_tz, "--input-tz")?;
        let period = resolve_period(&request, report_tz)?;
        let out_dir = request
            .out
            .clone()
            .unwrap_or_else(|| PathBuf::from("reports").join(&period.label));
        let latest_us = match request.now {
            Some(_) => Some(resolve_now(&request)?.timestamp_micros()),
            None => None,
        };
        let pricing = &request.pricing;
        let cards = pricing
            .rates
            .iter()
            .map(|arg| CardFile::parse(arg))
            .collect::<Result<Vec<_>>>()?;
        let outputs = &request.outputs;
        Ok(Settings {
            rules: RuleSettings {
                window: request.rule,
                pricing: pricing_params(pricing)?,
                cards,
                markets: pricing.markets.clone(),
                compare_regime: pricing.compare_regime,
            },
            output: OutputSettings {
                out_dir,
                period,
                report_tz,
                locale: Locale::load(&request.lang)?,
                show_contacts: request.show_contacts,
                thresholds: Thresholds::resolve(&outputs.thresholds)?,
                queries: queries_dir(outputs)?,
                row_tables: outputs.row_tables,
                contact_salt: contact_salt(outputs)?,
            },
            input: InputSettings {
                read: read_options(&request.sources, input_tz)?,
                meta_analytics: meta_analytics(&request.sources)?,
                latest_us,
                partition_rows: request.partition_rows,
                hold_bytes: request.hold_bytes,
                files: request.inputs,
                continued: None,
            },
        })
    }
}

fn queries_dir(outputs: &OutputsRequest) -> Result<Option<PathBuf>> {
    if let Some(dir) = &outputs.queries {
        if !dir.is_dir() {
            return Err(bad_input!(
                "--queries {}: not a directory; give a directory of .sql files",
                dir.display()
            ));
        }
    }
    Ok(outputs.queries.clone())
}

/// `--hash-contacts`: the salt, from `--salt` or `WINDOW_LEDGER_SALT`.
fn contact_salt(outputs: &OutputsRequest) -> Result<Option<String>> {
    if !outputs.hash_contacts {
        return Ok(None);
    }
    let salt = outputs
        .salt
        .clone()
        .or_else(|| std::env::var("WINDOW_LEDGER_SALT").ok())
        .filter(|s| !s.is_empty());
    salt.map(Some).ok_or_else(|| {
        bad_input!("--hash-contacts needs a salt: set WINDOW_LEDGER_SALT (or pass --salt); keep it secret and the same across runs to compare them")
    })
}

fn read_options(sources: &SourcesRequest, input_tz: Tz) -> Result<ReadOptions> {
    Ok(ReadOptions {
        input_tz: input_tz.name().to_string(),
        mapping: Mapping::load(sources.mapping.as_deref(), &sources.map)?,
        format: sources.format,
        send_logs: sources.send_logs.clone(),
        label: sources.label.clone(),
        carried: None,
        recent_ids: None,
    })
}

fn meta_analytics(sources: &SourcesRequest) -> Result<Option<PathBuf>> {
    if let Some(path) = &sources.meta_analytics {
        if !path.is_file() {
            return Err(bad_input!(
                "--meta-analytics {}: no such file; give the JSON that Meta's pricing_analytics request returned",
                path.display()
            ));
        }
    }
    Ok(sources.meta_analytics.clone())
}

fn pricing_params(args: &PricingRequest) -> Result<PricingParams> {
    let billing_tz = parse_tz(&args.billing_tz, "--billing-tz")?;
    Ok(PricingParams {
        billing_tz,
        regime: args.regime,
        rates_as_of: args
            .rates_as_of
            .as_deref()
            .map(|d| parse_date(d, "--rates-as-of"))
            .transpose()?,
        allow_unpriced: args.allow_unpriced,
        service_free_tier: args.service_free_tier,
        unknown_category_as: args.unknown_category_as,
        accounts: args
            .accounts
            .as_deref()
            .map(|path| crate::pricing::accounts::Accounts::load(path, billing_tz))
            .transpose()?
            .map(std::sync::Arc::new),
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
fn resolve_now(run: &Request) -> Result<chrono::DateTime<chrono::Utc>> {
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
fn month_start(month: &str, run: &Request, tz: Tz) -> Result<NaiveDate> {
    if month.eq_ignore_ascii_case("previous") {
        let today = resolve_now(run)?.with_timezone(&tz).date_naive();
        let this_month = today.with_day(1).expect("day 1 exists");
        return Ok(this_month - Months::new(1));
    }
    parse_date(&format!("{month}-01"), "--month").map_err(|_| {
        bad_input!("--month {month:?} is not a month; write it as YYYY-MM or previous")
    })
}

fn resolve_period(run: &Request, tz: Tz) -> Result<Period> {
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

    fn run_args(month: Option<&str>, from: Option<&str>, to: Option<&str>) -> Request {
        Request {
            month: month.map(String::from),
            from: from.map(String::from),
            to: to.map(String::from),
            tz: "Asia/Riyadh".into(),
            ..Request::default()
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
