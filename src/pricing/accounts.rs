//! The accounts file (`--accounts`, docs/pricing.md "Accounts"): which
//! WhatsApp Business Account and business portfolio a business number
//! belongs to, where the business is based, from when it pays
//! authentication-international rates, and the time zone Meta bills it in.
//!
//! Pricing reads it per business number: the account's time zone decides
//! the dates of its messages (regime switches, rate dates, billing months,
//! free tier and volume tier months), its portfolio the volume tier counter
//! it counts towards, its country and start date authentication-
//! international. A number of the log the file does not list gets the
//! defaults (its own account, the run's one portfolio, no country, the
//! run's `--billing-tz`) and a warning.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use chrono::{NaiveDate, NaiveDateTime, TimeZone as _};
use chrono_tz::Tz;
use polars::prelude::*;

use crate::bad_input;

/// The portfolio of every number the file gives none: one for the run.
pub const DEFAULT_PORTFOLIO: &str = "";

/// What the file says of one business number, defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub account: String,
    pub portfolio: String,
    /// ISO 3166-1 alpha-2 of the primary business location, upper case.
    pub country: Option<String>,
    /// The instant (µs since the epoch, UTC) from which
    /// authentication-international rates apply.
    pub auth_international_from_us: Option<i64>,
    pub timezone: Tz,
}

/// The accounts of a run, by normalised business number.
#[derive(Debug, Clone)]
pub struct Accounts {
    pub path: String,
    pub by_number: BTreeMap<String, Account>,
}

const COLUMNS: [&str; 6] = [
    "business_number",
    "account",
    "portfolio",
    "country",
    "auth_international_from",
    "timezone",
];

impl Accounts {
    /// Reads and checks an accounts file; `billing_tz` is the zone of
    /// accounts that name none.
    pub fn load(path: &Path, billing_tz: Tz) -> Result<Self> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| bad_input!("{name}: cannot read the accounts file ({e})"))?;
        Self::parse(&text, &name, billing_tz)
    }

    pub fn parse(text: &str, name: &str, billing_tz: Tz) -> Result<Self> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| bad_input!("{name}: cannot be read as CSV ({e})"))?
            .iter()
            .map(|h| h.trim().to_lowercase())
            .collect();
        if let Some(unknown) = header.iter().find(|h| !COLUMNS.contains(&h.as_str())) {
            return Err(bad_input!(
                "{name}:1: unknown column {unknown:?}; an accounts file has the columns {}",
                COLUMNS.join(", ")
            ));
        }
        let find = |c: &str| header.iter().position(|h| h == c);
        let Some(number_at) = find("business_number") else {
            return Err(bad_input!(
                "{name}:1: no business_number column; an accounts file has the columns {} (only business_number is required)",
                COLUMNS.join(", ")
            ));
        };
        let mut rows: Vec<(String, RawAccount)> = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| bad_input!("{name}: cannot be read as CSV ({e})"))?;
            let line = record.position().map_or(0, |p| p.line());
            let cell = |c: &str| {
                find(c)
                    .and_then(|i| record.get(i))
                    .map(str::trim)
                    .unwrap_or("")
                    .to_string()
            };
            if record.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            let source = format!("{name}:{line}");
            let number = record.get(number_at).map(str::trim).unwrap_or("");
            if number.is_empty() {
                return Err(bad_input!("{source}: no business_number"));
            }
            rows.push((
                source,
                RawAccount {
                    number: number.to_string(),
                    account: cell("account"),
                    portfolio: cell("portfolio"),
                    country: cell("country"),
                    auth_from: cell("auth_international_from"),
                    timezone: cell("timezone"),
                },
            ));
        }
        let normalized = normalized_numbers(rows.iter().map(|(_, r)| r.number.as_str()))?;
        let mut by_number: BTreeMap<String, Account> = BTreeMap::new();
        let mut lines: BTreeMap<String, String> = BTreeMap::new();
        for ((source, raw), number) in rows.into_iter().zip(normalized) {
            if let Some(first) = lines.get(&number) {
                return Err(bad_input!(
                    "{source}: business number {} is listed twice (also at {first}); keep one row per number",
                    raw.number
                ));
            }
            let account = raw.account(&number, billing_tz, &source)?;
            lines.insert(number.clone(), source);
            by_number.insert(number, account);
        }
        Ok(Accounts {
            path: name.to_string(),
            by_number,
        })
    }

    /// The account of a normalised business number, defaults filled in
    /// when the file does not list it.
    pub fn of(&self, number: &str, billing_tz: Tz) -> Account {
        self.by_number
            .get(number)
            .cloned()
            .unwrap_or_else(|| default_account(number, billing_tz))
    }
}

/// The account of a number no accounts file lists.
pub fn default_account(number: &str, billing_tz: Tz) -> Account {
    Account {
        account: number.to_string(),
        portfolio: DEFAULT_PORTFOLIO.to_string(),
        country: None,
        auth_international_from_us: None,
        timezone: billing_tz,
    }
}

struct RawAccount {
    number: String,
    account: String,
    portfolio: String,
    country: String,
    auth_from: String,
    timezone: String,
}

impl RawAccount {
    fn account(self, number: &str, billing_tz: Tz, source: &str) -> Result<Account> {
        let timezone = match self.timezone.as_str() {
            "" => billing_tz,
            zone => zone.parse::<Tz>().map_err(|_| {
                bad_input!(
                    "{source}: timezone {zone:?} is not an IANA time zone; use a name such as UTC or Asia/Riyadh"
                )
            })?,
        };
        let country = match self.country.as_str() {
            "" => None,
            c if c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()) => {
                Some(c.to_ascii_uppercase())
            }
            c => {
                return Err(bad_input!(
                "{source}: country {c:?} is not an ISO 3166-1 alpha-2 code (two letters, e.g. SA)"
            ))
            }
        };
        let auth_international_from_us = match self.auth_from.as_str() {
            "" => None,
            text => Some(instant_in(text, timezone).ok_or_else(|| {
                bad_input!(
                    "{source}: auth_international_from {text:?} is neither a date (YYYY-MM-DD) nor an instant (YYYY-MM-DDTHH:MM:SS, with or without an offset)"
                )
            })?),
        };
        Ok(Account {
            account: if self.account.is_empty() {
                number.to_string()
            } else {
                self.account
            },
            portfolio: self.portfolio,
            country,
            auth_international_from_us,
            timezone,
        })
    }
}

/// A date (its midnight in `zone`), an instant with an offset, or one
/// without (read in `zone`), as µs since the epoch.
fn instant_in(text: &str, zone: Tz) -> Option<i64> {
    if let Ok(instant) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(instant.timestamp_micros());
    }
    let local = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .or_else(|| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })?;
    // A local time a clock change skips is taken at the first instant after.
    let resolved = zone.from_local_datetime(&local).earliest().or_else(|| {
        zone.from_local_datetime(&(local + chrono::Duration::hours(1)))
            .earliest()
    })?;
    Some(resolved.timestamp_micros())
}

/// The numbers as the log's business numbers are normalised (§8.7).
fn normalized_numbers<'a>(numbers: impl Iterator<Item = &'a str>) -> Result<Vec<String>> {
    let raw: Vec<&str> = numbers.collect();
    let frame = DataFrame::new_infer_height(vec![Column::new("n".into(), raw)])?
        .lazy()
        .select([crate::normalize::normalized_business_number(col("n")).alias("n")])
        .collect()?;
    Ok(frame
        .column("n")?
        .str()?
        .iter()
        .map(|n| n.unwrap_or_default().to_string())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const RIYADH: Tz = chrono_tz::Asia::Riyadh;

    #[test]
    fn defaults_and_normalised_numbers() {
        let text = "business_number,portfolio,country,timezone,auth_international_from\n\
                    +966 11 000 0001,p1,sa,Asia/Tokyo,2026-11-01\n\
                    966110000002,,,,\n";
        let accounts = Accounts::parse(text, "a.csv", RIYADH).unwrap();
        let one = accounts.of("966110000001", RIYADH);
        assert_eq!(one.account, "966110000001");
        assert_eq!(one.portfolio, "p1");
        assert_eq!(one.country.as_deref(), Some("SA"));
        assert_eq!(one.timezone, chrono_tz::Asia::Tokyo);
        // Midnight in Tokyo is 15:00 UTC the day before.
        let from = chrono::DateTime::from_timestamp_micros(one.auth_international_from_us.unwrap())
            .unwrap();
        assert_eq!(from.to_rfc3339(), "2026-10-31T15:00:00+00:00");
        let two = accounts.of("966110000002", RIYADH);
        assert_eq!(
            (two.portfolio.as_str(), two.timezone),
            (DEFAULT_PORTFOLIO, RIYADH)
        );
        assert_eq!(accounts.of("1", RIYADH), default_account("1", RIYADH));
    }

    #[test]
    fn bad_rows_name_file_and_line() {
        let err = |text: &str| {
            Accounts::parse(text, "a.csv", RIYADH)
                .unwrap_err()
                .to_string()
        };
        assert!(err("account\nx\n").contains("a.csv:1: no business_number"));
        let dup = err("business_number\n966110000001\n+966110000001\n");
        assert!(dup.contains("a.csv:3") && dup.contains("a.csv:2"), "{dup}");
        assert!(err("business_number,timezone\n1,Mars/Base\n").contains("a.csv:2: timezone"));
        assert!(
            err("business_number,auth_international_from\n1,2026-13-01\n")
                .contains("a.csv:2: auth_international_from")
        );
        assert!(err("business_number,country\n1,KSA\n").contains("a.csv:2: country"));
        assert!(err("business_number,tz\n1,UTC\n").contains("unknown column"));
    }
}
