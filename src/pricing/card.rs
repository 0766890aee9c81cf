//! Rate cards and the markets map (docs §5.1, §8.15, §8.18, §8.22–23).
//!
//! Reads Meta's published layout (`Market,Currency,Marketing,Utility,
//! Authentication,Authentication-International,Service`, `n/a` cells, `$US`)
//! and the long layout (`market,category,price,currency,effective_from`), as
//! many cards as given, into one history: for each (market, category) the
//! prices in force from each date. The markets map says which market a
//! country belonged to from which date. Lookups happen once per distinct
//! (country, category, date) in `pricing`, never per message.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::Result;
use chrono::NaiveDate;

use super::money::parse_price;
use super::tiers::{checked_tiers, parse_tier, Tier};
use crate::bad_input;

/// The categories a card can price.
pub const RATE_CATEGORIES: [&str; 5] = [
    "marketing",
    "utility",
    "authentication",
    "authentication_international",
    "service",
];

/// The market of a country no map row covers (§5.1).
pub const OTHER_MARKET: &str = "Other";

const DEFAULT_RATES: &str = include_str!("../../rates/meta-usd.csv");
const DEFAULT_MARKETS: &str = include_str!("../../rates/markets.csv");
pub const DEFAULT_RATES_NAME: &str = "rates/meta-usd.csv (built-in estimate)";
pub const DEFAULT_MARKETS_NAME: &str = "rates/markets.csv (built-in)";

/// One price in force from a date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rate {
    pub effective_from: NaiveDate,
    pub nanos: i64,
    pub currency: String,
    /// `file:line`, for errors and the "rates used" table.
    pub source: String,
    /// The volume tiers of this rate, in order (empty: one rate for every
    /// message). `nanos` is then the first tier's price.
    pub tiers: Vec<Tier>,
}

/// A rate card file as given on the command line: `[DATE=]PATH`.
#[derive(Debug, Clone)]
pub struct CardFile {
    pub path: PathBuf,
    pub effective_from: Option<NaiveDate>,
}

impl CardFile {
    /// Parses `2026-10-01=path.csv` or `path.csv`.
    pub fn parse(arg: &str) -> Result<Self> {
        if let Some((date, path)) = arg.split_once('=') {
            if let Ok(date) = NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d") {
                return Ok(CardFile {
                    path: PathBuf::from(path),
                    effective_from: Some(date),
                });
            }
        }
        Ok(CardFile {
            path: PathBuf::from(arg),
            effective_from: None,
        })
    }
}

/// Every rate of every card, and the markets map.
#[derive(Debug, Default)]
pub struct RateBook {
    rates: BTreeMap<(String, &'static str), Vec<Rate>>,
    market_names: BTreeMap<String, String>,
    markets: BTreeMap<String, Vec<(Option<NaiveDate>, String)>>,
    currencies: BTreeSet<String>,
    /// Title and footnote lines skipped in Meta's files, and other notes.
    pub notes: Vec<String>,
    /// What was loaded, for the report: card names and the markets map.
    pub sources: Vec<String>,
}

/// The rows of a long-layout card for one (market, category, date).
struct TierRows {
    market: String,
    currency: String,
    tiers: Vec<Tier>,
}

/// Lower-cased, trimmed: how market names are matched (§8.15).
pub fn market_key(name: &str) -> String {
    name.trim().to_lowercase()
}

impl RateBook {
    /// The shipped USD estimate and markets map.
    pub fn built_in() -> Result<Self> {
        let mut book = RateBook::default();
        book.add_card(DEFAULT_RATES, DEFAULT_RATES_NAME, None)?;
        book.add_markets(DEFAULT_MARKETS, DEFAULT_MARKETS_NAME)?;
        Ok(book)
    }

    /// The user's cards (replacing the built-in ones entirely) and markets
    /// map (the built-in one when `markets` is `None`).
    pub fn load(cards: &[CardFile], markets: Option<&Path>) -> Result<Self> {
        if cards.is_empty() && markets.is_none() {
            return Self::built_in();
        }
        let mut book = RateBook::default();
        if cards.is_empty() {
            book.add_card(DEFAULT_RATES, DEFAULT_RATES_NAME, None)?;
        }
        for card in cards {
            let name = card.path.display().to_string();
            book.add_card(
                &read_text(&card.path, "rate card")?,
                &name,
                card.effective_from,
            )?;
        }
        match markets {
            Some(path) => book.add_markets(
                &read_text(path, "markets map")?,
                &path.display().to_string(),
            )?,
            None => book.add_markets(DEFAULT_MARKETS, DEFAULT_MARKETS_NAME)?,
        }
        Ok(book)
    }

    /// The market of `country` on `date`: the map row with the latest
    /// `effective_from` on or before it (no date = always), else `Other`.
    pub fn market_of(&self, country: &str, date: NaiveDate) -> String {
        self.markets
            .get(country)
            .and_then(|rows| {
                rows.iter()
                    .rev()
                    .find(|(from, _)| from.is_none_or(|f| f <= date))
            })
            .map(|(_, market)| market.clone())
            .unwrap_or_else(|| OTHER_MARKET.to_string())
    }

    /// The display name of a market (as the first card spelled it).
    pub fn market_name(&self, market: &str) -> String {
        self.market_names
            .get(&market_key(market))
            .cloned()
            .unwrap_or_else(|| market.to_string())
    }

    /// Whether any rate of any card comes in volume tiers.
    pub fn has_tiers(&self) -> bool {
        self.rates.values().flatten().any(|r| !r.tiers.is_empty())
    }

    /// The rate in force for (market, category) on `date` (§5.1).
    pub fn rate(&self, market: &str, category: &str, date: NaiveDate) -> Option<&Rate> {
        let category = RATE_CATEGORIES.iter().find(|c| **c == category)?;
        self.rates
            .get(&(market_key(market), *category))?
            .iter()
            .rev()
            .find(|r| r.effective_from <= date)
    }

    /// §8.22: the currency of the card in force for a market on a date (any
    /// category); with none in force, the card set's only currency, else "".
    pub fn currency_in_force(&self, market: &str, date: NaiveDate) -> String {
        let key = market_key(market);
        let in_force = RATE_CATEGORIES
            .iter()
            .filter_map(|c| self.rates.get(&(key.clone(), *c)))
            .filter_map(|rates| rates.iter().rev().find(|r| r.effective_from <= date))
            .max_by_key(|r| r.effective_from);
        match in_force {
            Some(rate) => rate.currency.clone(),
            None if self.currencies.len() == 1 => {
                self.currencies.iter().next().cloned().unwrap_or_default()
            }
            None => String::new(),
        }
    }

    fn insert(&mut self, market: &str, category: &'static str, rate: Rate) -> Result<()> {
        let key = market_key(market);
        self.market_names
            .entry(key.clone())
            .or_insert_with(|| market.trim().to_string());
        self.currencies.insert(rate.currency.clone());
        let rates = self.rates.entry((key, category)).or_default();
        if let Some(same) = rates
            .iter()
            .find(|r| r.effective_from == rate.effective_from)
        {
            return Err(bad_input!(
                "{}: a second {category} rate for {market} from {} (the first is at {}); keep one row per market, category and date",
                rate.source,
                rate.effective_from,
                same.source
            ));
        }
        rates.push(rate);
        rates.sort_by_key(|r| r.effective_from);
        Ok(())
    }

    pub(crate) fn add_card(
        &mut self,
        text: &str,
        name: &str,
        date: Option<NaiveDate>,
    ) -> Result<()> {
        let records = read_records(text, name)?;
        let Some(header_at) = records
            .iter()
            .position(|(_, cells)| first_cell(cells) == "market")
        else {
            return Err(bad_input!(
                "{name}: no header row starting with `market`; a rate card has the columns market,category,price,currency,effective_from or Meta's Market,Currency,Marketing,…"
            ));
        };
        for (line, cells) in &records[..header_at] {
            self.notes.push(format!(
                "{name}:{line}: skipped title line {:?}",
                cells.join(",")
            ));
        }
        let header: Vec<String> = records[header_at].1.iter().map(|h| column_key(h)).collect();
        let body = &records[header_at + 1..];
        if header.iter().any(|h| h == "category") && header.iter().any(|h| h == "price") {
            self.add_long_rows(&header, body, name, date)?;
        } else if header.iter().any(|h| h == "marketing") {
            self.add_meta_rows(&header, body, name, date)?;
        } else {
            return Err(bad_input!(
                "{name}: the header has neither category/price columns nor Meta's Marketing/Utility columns"
            ));
        }
        self.sources.push(name.to_string());
        Ok(())
    }

    fn add_long_rows(
        &mut self,
        header: &[String],
        body: &[(u64, Vec<String>)],
        name: &str,
        date: Option<NaiveDate>,
    ) -> Result<()> {
        let find = |c: &str| header.iter().position(|h| h == c);
        let (market, category, price) = (find("market"), find("category"), find("price"));
        let (currency, from, tier) = (find("currency"), find("effective_from"), find("tier"));
        // The rows of one (market, category, date) are its tiers: checked
        // together once the card is read.
        let mut groups: BTreeMap<(String, &'static str, NaiveDate), TierRows> = BTreeMap::new();
        for (line, cells) in body {
            let cell =
                |i: Option<usize>| i.and_then(|i| cells.get(i)).map(|s| s.trim()).unwrap_or("");
            let source = format!("{name}:{line}");
            let market_name = clean_market(cell(market));
            if market_name.is_empty() {
                self.notes
                    .push(format!("{source}: skipped a line with no market"));
                continue;
            }
            let category = rate_category(cell(category)).ok_or_else(|| {
                bad_input!(
                    "{source}: unknown category {:?}; use one of {}",
                    cell(category),
                    RATE_CATEGORIES.join(", ")
                )
            })?;
            if is_not_applicable(cell(price)) {
                continue;
            }
            let nanos = parse_price(cell(price)).map_err(|e| bad_input!("{source}: {e}"))?;
            let (lower, upper, notation) =
                parse_tier(cell(tier), &source)?.unwrap_or((1, None, "0:MAX".into()));
            let effective_from = effective_date(cell(from), date, &source)?;
            let group = groups
                .entry((market_key(&market_name), category, effective_from))
                .or_insert_with(|| TierRows {
                    market: market_name.clone(),
                    currency: currency_name(cell(currency)),
                    tiers: Vec::new(),
                });
            if group.currency != currency_name(cell(currency)) {
                return Err(bad_input!(
                    "{source}: the tiers of {category} for {market_name} from {effective_from} are in {} and {}; one rate is in one currency",
                    group.currency,
                    currency_name(cell(currency))
                ));
            }
            group.tiers.push(Tier {
                lower,
                upper,
                nanos,
                notation,
                source,
            });
        }
        for ((_, category, effective_from), group) in groups {
            self.insert_tiers(group, category, effective_from)?;
        }
        Ok(())
    }

    /// One rate from the rows of one (market, category, date): a plain
    /// rate, or checked tiers.
    fn insert_tiers(
        &mut self,
        group: TierRows,
        category: &'static str,
        effective_from: NaiveDate,
    ) -> Result<()> {
        let TierRows {
            market,
            currency,
            tiers,
        } = group;
        // Two rows of which one has no tier are two rates for one date:
        // said as such, not as overlapping tiers.
        if tiers.len() > 1 && tiers.iter().any(|t| t.lower == 1 && t.upper.is_none()) {
            return Err(bad_input!(
                "{}: a second {category} rate for {market} from {effective_from} (the first is at {}); keep one row per market, category and date, or give each row a tier",
                tiers[1].source,
                tiers[0].source
            ));
        }
        let what = format!("{category} for {market} from {effective_from}");
        let (nanos, source) = (tiers[0].nanos, tiers[0].source.clone());
        let tiers = checked_tiers(tiers, &what, category)?;
        let rate = Rate {
            effective_from,
            nanos: tiers.first().map_or(nanos, |t| t.nanos),
            currency,
            source: tiers.first().map_or(source, |t| t.source.clone()),
            tiers,
        };
        self.insert(&market, category, rate)
    }

    fn add_meta_rows(
        &mut self,
        header: &[String],
        body: &[(u64, Vec<String>)],
        name: &str,
        date: Option<NaiveDate>,
    ) -> Result<()> {
        let find = |c: &str| header.iter().position(|h| h == c);
        let prices: Vec<(usize, &'static str)> = RATE_CATEGORIES
            .iter()
            .filter_map(|c| find(c).map(|i| (i, *c)))
            .collect();
        let (currency, from) = (find("currency"), find("effective_from"));
        for (line, cells) in body {
            let source = format!("{name}:{line}");
            let cell =
                |i: Option<usize>| i.and_then(|i| cells.get(i)).map(|s| s.trim()).unwrap_or("");
            let market_name = clean_market(cell(Some(0)));
            let looks_like_rates = prices.iter().any(|(i, _)| {
                let v = cell(Some(*i));
                is_not_applicable(v) && !v.is_empty()
                    || parse_price(v).is_ok()
                    || v.starts_with('-')
            });
            if market_name.is_empty() || !looks_like_rates {
                self.notes.push(format!(
                    "{source}: skipped footnote line {:?}",
                    cells.join(",")
                ));
                continue;
            }
            let effective_from = effective_date(cell(from), date, &source)?;
            for (i, category) in &prices {
                let value = cell(Some(*i));
                if is_not_applicable(value) {
                    continue;
                }
                let rate = Rate {
                    effective_from,
                    nanos: parse_price(value)
                        .map_err(|e| bad_input!("{source}: {category}: {e}"))?,
                    currency: currency_name(cell(currency)),
                    source: source.clone(),
                    tiers: Vec::new(),
                };
                self.insert(&market_name, category, rate)?;
            }
        }
        Ok(())
    }

    pub(crate) fn add_markets(&mut self, text: &str, name: &str) -> Result<()> {
        let records = read_records(text, name)?;
        let Some(((_, header), body)) = records.split_first() else {
            return Err(bad_input!(
                "{name}: empty markets map; it needs the columns country,market[,effective_from]"
            ));
        };
        let header: Vec<String> = header.iter().map(|h| column_key(h)).collect();
        let find = |c: &str| header.iter().position(|h| h == c);
        let (Some(country), Some(market)) = (find("country"), find("market")) else {
            return Err(bad_input!(
                "{name}: a markets map needs the columns country,market[,effective_from]; found {}",
                header.join(",")
            ));
        };
        let from = find("effective_from");
        for (line, cells) in body {
            let source = format!("{name}:{line}");
            let cell =
                |i: Option<usize>| i.and_then(|i| cells.get(i)).map(|s| s.trim()).unwrap_or("");
            let code = cell(Some(country)).to_ascii_uppercase();
            if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
                return Err(bad_input!(
                    "{source}: {:?} is not an ISO 3166-1 alpha-2 country code",
                    cell(Some(country))
                ));
            }
            let market_name = clean_market(cell(Some(market)));
            if market_name.is_empty() {
                return Err(bad_input!("{source}: no market for {code}"));
            }
            let effective_from = match cell(from) {
                "" => None,
                text => Some(parse_date(text, &source)?),
            };
            let rows = self.markets.entry(code.clone()).or_default();
            if rows.iter().any(|(f, _)| *f == effective_from) {
                return Err(bad_input!(
                    "{source}: a second row for {code} from {}; keep one row per country and date",
                    effective_from.map_or("always".to_string(), |d| d.to_string())
                ));
            }
            rows.push((effective_from, market_name));
            rows.sort_by_key(|(f, _)| *f);
        }
        self.sources.push(name.to_string());
        Ok(())
    }

    /// Markets the map names that no card prices (a warning: an error only
    /// when a message needs one, §8.15).
    pub fn unpriced_map_markets(&self) -> Vec<String> {
        let mut names: BTreeSet<String> = BTreeSet::new();
        for rows in self.markets.values() {
            for (_, market) in rows {
                if !self.market_names.contains_key(&market_key(market)) {
                    names.insert(market.clone());
                }
            }
        }
        names.into_iter().collect()
    }
}

fn read_text(path: &Path, what: &str) -> Result<String> {
    let bytes = std::fs::read(path)
        .map_err(|e| bad_input!("{}: cannot read the {what} ({e})", path.display()))?;
    String::from_utf8(bytes)
        .map_err(|_| bad_input!("{}: the {what} is not UTF-8 text", path.display()))
}

/// Non-blank records with their physical line numbers.
fn read_records(text: &str, name: &str) -> Result<Vec<(u64, Vec<String>)>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| bad_input!("{name}: cannot be read as CSV ({e})"))?;
        let line = record.position().map_or(0, |p| p.line());
        let cells: Vec<String> = record.iter().map(String::from).collect();
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        out.push((line, cells));
    }
    Ok(out)
}

fn first_cell(cells: &[String]) -> String {
    cells.first().map(|c| column_key(c)).unwrap_or_default()
}

/// `Authentication-International` → `authentication_international`.
fn column_key(header: &str) -> String {
    header.trim().to_lowercase().replace(['-', ' '], "_")
}

fn rate_category(text: &str) -> Option<&'static str> {
    let key = column_key(text);
    RATE_CATEGORIES.iter().copied().find(|c| *c == key)
}

/// §8.23: a `*` footnote marker after a market name is not part of it.
fn clean_market(name: &str) -> String {
    name.trim().trim_end_matches('*').trim().to_string()
}

fn is_not_applicable(cell: &str) -> bool {
    cell.is_empty() || cell.eq_ignore_ascii_case("n/a") || cell.eq_ignore_ascii_case("na")
}

fn currency_name(cell: &str) -> String {
    if cell == "$US" {
        "USD".to_string()
    } else {
        cell.to_string()
    }
}

fn parse_date(text: &str, source: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| bad_input!("{source}: {text:?} is not a date; write it as YYYY-MM-DD"))
}

fn effective_date(cell: &str, given: Option<NaiveDate>, source: &str) -> Result<NaiveDate> {
    match (cell, given) {
        ("", Some(date)) => Ok(date),
        ("", None) => Err(bad_input!(
            "{source}: no effective date; add an effective_from column or pass the file as --rates YYYY-MM-DD=FILE"
        )),
        (text, _) => parse_date(text, source),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn meta_layout_with_titles_footnotes_and_na() {
        let text = "Cost per message in USD,,,,,,\n\
                    Market,Currency,Marketing,Utility,Authentication,Authentication-International,Service\n\
                    Saudi Arabia*,$US,0.0455,0.0107,0.0107,0.0598,0.0107\n\
                    Other,$US,0.0604,0.0077,0.0077,n/a,0.0077\n\
                    \n\
                    * Rates apply from the date above.,,,,,,\n";
        let mut book = RateBook::default();
        book.add_card(text, "meta.csv", Some(date("2026-10-01")))
            .unwrap();
        let sa = book
            .rate("saudi arabia ", "marketing", date("2026-10-20"))
            .unwrap();
        assert_eq!(
            (sa.nanos, sa.currency.as_str(), sa.source.as_str()),
            (45_500_000, "USD", "meta.csv:3")
        );
        assert!(book
            .rate("Other", "authentication_international", date("2026-10-20"))
            .is_none());
        assert!(
            book.rate("Other", "marketing", date("2026-09-30"))
                .is_none(),
            "not yet in force"
        );
        assert_eq!(book.notes.len(), 2, "{:?}", book.notes);
    }

    #[test]
    fn newer_card_with_na_leaves_older_rate_in_force() {
        let mut book = RateBook::default();
        let head = "Market,Currency,Marketing,Utility,Authentication,Authentication-International,Service\n";
        book.add_card(
            &format!("{head}India,$US,0.0107,0.0014,0.0014,0.0280,n/a\n"),
            "a.csv",
            Some(date("2025-07-01")),
        )
        .unwrap();
        book.add_card(
            &format!("{head}India,$US,0.0118,0.0014,0.0014,n/a,0.0014\n"),
            "b.csv",
            Some(date("2026-01-01")),
        )
        .unwrap();
        let d = date("2026-02-01");
        assert_eq!(
            book.rate("India", "marketing", d).unwrap().nanos,
            11_800_000
        );
        assert_eq!(
            book.rate("India", "authentication_international", d)
                .unwrap()
                .nanos,
            28_000_000
        );
    }

    #[test]
    fn duplicates_negative_prices_and_unknown_categories_stop_the_run() {
        let long = "market,category,price,currency,effective_from\n";
        let mut book = RateBook::default();
        let dup = format!(
            "{long}Egypt,utility,0.0036,USD,2026-01-01\negypt ,utility,0.004,USD,2026-01-01\n"
        );
        let err = book.add_card(&dup, "r.csv", None).unwrap_err().to_string();
        assert!(err.contains("r.csv:3") && err.contains("r.csv:2"), "{err}");
        let neg = format!("{long}Egypt,utility,-0.1,USD,2026-01-01\n");
        assert!(RateBook::default()
            .add_card(&neg, "n.csv", None)
            .unwrap_err()
            .to_string()
            .contains("n.csv:2: negative"));
        let cat = format!("{long}Egypt,promo,0.1,USD,2026-01-01\n");
        assert!(RateBook::default()
            .add_card(&cat, "c.csv", None)
            .unwrap_err()
            .to_string()
            .contains("unknown category"));
        let undated = "market,category,price,currency\nEgypt,utility,0.1,USD\n";
        assert!(RateBook::default()
            .add_card(undated, "u.csv", None)
            .unwrap_err()
            .to_string()
            .contains("--rates YYYY-MM-DD=FILE"));
    }

    #[test]
    fn markets_move_on_their_dates() {
        let book = RateBook::built_in().unwrap();
        assert_eq!(book.market_of("ZW", date("2025-09-30")), "Other");
        assert_eq!(book.market_of("ZW", date("2025-10-01")), "Rest of Africa");
        assert_eq!(
            book.market_of("QA", date("2026-06-30")),
            "Rest of Middle East"
        );
        assert_eq!(book.market_of("QA", date("2026-07-01")), "Qatar");
        assert_eq!(book.market_of("KW", date("2026-10-01")), "Kuwait");
        assert_eq!(book.market_of("KZ", date("2026-09-30")), "Other");
        assert_eq!(book.market_of("US", date("2026-01-01")), "North America");
        assert_eq!(book.market_of("ZZ", date("2026-01-01")), "Other");
    }

    #[test]
    fn markets_map_rejects_duplicates_and_bad_codes() {
        let mut book = RateBook::default();
        let err = book
            .add_markets(
                "country,market\nSA,Saudi Arabia\nsa,Saudi Arabia\n",
                "m.csv",
            )
            .unwrap_err();
        assert!(
            err.to_string().contains("m.csv:3: a second row for SA"),
            "{err}"
        );
        let err = RateBook::default()
            .add_markets("country,market\nSaudi,Saudi Arabia\n", "m.csv")
            .unwrap_err();
        assert!(err.to_string().contains("not an ISO 3166-1"));
    }

    /// The shipped card covers every market of the map, in every category
    /// but authentication-international, on every date it claims.
    #[test]
    fn built_in_card_covers_every_market_on_every_date() {
        let book = RateBook::built_in().unwrap();
        assert!(
            book.unpriced_map_markets().is_empty(),
            "{:?}",
            book.unpriced_map_markets()
        );
        let countries: Vec<String> = book.markets.keys().cloned().collect();
        for day in [
            "2025-07-01",
            "2025-10-01",
            "2026-01-01",
            "2026-04-01",
            "2026-07-01",
            "2026-10-01",
            "2026-11-15",
        ] {
            let d = date(day);
            for country in countries.iter().map(String::as_str).chain(["ZZ"]) {
                let market = book.market_of(country, d);
                for category in ["marketing", "utility", "authentication"] {
                    assert!(
                        book.rate(&market, category, d).is_some(),
                        "{market} {category} {day}"
                    );
                }
                if d >= date("2026-10-01") {
                    assert!(
                        book.rate(&market, "service", d).is_some(),
                        "{market} service {day}"
                    );
                }
            }
        }
        assert_eq!(
            book.rate("Saudi Arabia", "marketing", date("2026-04-01"))
                .unwrap()
                .nanos,
            50_100_000
        );
        assert_eq!(
            book.rate("Saudi Arabia", "marketing", date("2026-03-31"))
                .unwrap()
                .nanos,
            45_500_000
        );
    }

    proptest::proptest! {
        /// Rate cards and markets maps of random bytes, or random cells
        /// under a real header, load or fail with a typed input error
        /// naming the file: never a panic (issue 7).
        #[test]
        fn random_cards_load_or_fail_with_an_input_error(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
            cells in proptest::collection::vec("[ -~]{0,12}", 0..12),
        ) {
            let head = ["market,category,price,currency,effective_from\n",
                        "Market,Currency,Marketing,Utility,Authentication,Authentication-International,Service\n",
                        "country,market,effective_from\n"];
            let mut texts = vec![String::from_utf8_lossy(&bytes).to_string()];
            for h in head {
                texts.push(format!("{h}{}\n", cells.join(",")));
            }
            for text in texts {
                for date in [None, Some(date("2026-10-01"))] {
                    let mut book = RateBook::default();
                    if let Err(e) = book.add_card(&text, "card.csv", date) {
                        proptest::prop_assert!(e.chain().any(|c| c.is::<crate::error::InputError>()), "{e:#}");
                        proptest::prop_assert!(e.to_string().contains("card.csv"), "{e:#}");
                    }
                }
                let mut book = RateBook::default();
                if let Err(e) = book.add_markets(&text, "markets.csv") {
                    proptest::prop_assert!(e.chain().any(|c| c.is::<crate::error::InputError>()), "{e:#}");
                }
            }
        }
    }
}
