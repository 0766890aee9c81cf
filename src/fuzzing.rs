//! Entry points for the `cargo fuzz` targets under `fuzz/` (issue 7).
//!
//! Each takes arbitrary bytes, runs one input parser to the end and checks
//! what must hold whatever the bytes are:
//! - the parser ends in `Ok` or in an error for the user (an input error,
//!   exit code 2), never a panic and never an internal error;
//! - every record read is a message, a rejected row or a duplicate
//!   (docs §2, §8.13): nothing is lost on the way.
//!
//! A broken invariant panics, which is what a fuzzer reports. The same
//! functions run on the committed corpus in `cargo test`
//! (`tests/integration/fuzz_corpus.rs`), so a crash found once stays fixed.

use polars::prelude::*;

use crate::error::exit_code;
use crate::ingest::{read_bytes, Format};
use crate::normalize::{normalize, Checks};
use crate::pricing::card::RateBook;
use crate::timestamps;

/// The zones the text parsers are tried in: UTC, and one with DST gaps and
/// overlaps.
const ZONES: [&str; 2] = ["UTC", "America/New_York"];

/// A CSV message log read and normalised (the "CSV row normalisation"
/// parser).
pub fn csv_log(bytes: &[u8]) {
    read_and_normalize(bytes, Format::Csv, "fuzz.csv");
}

/// NDJSON message rows, one object per line, read and normalised.
pub fn ndjson_log(bytes: &[u8]) {
    read_and_normalize(bytes, Format::Ndjson, "fuzz.ndjson");
}

/// Cloud API webhook lines, folded and normalised.
pub fn webhook_log(bytes: &[u8]) {
    read_and_normalize(bytes, Format::Webhook, "fuzz-webhook.ndjson");
}

fn read_and_normalize(bytes: &[u8], format: Format, name: &str) {
    let raw = match read_bytes(bytes, name, format) {
        Ok(raw) => raw,
        Err(e) => return assert_input_error(&e, name),
    };
    let read = raw.height() as u64;
    for input_tz in ZONES {
        let checks = Checks {
            input_tz,
            latest_us: Some(1_800_000_000_000_000),
        };
        match normalize(raw.clone(), checks) {
            Ok(normalized) => {
                let duplicates: u64 = normalized.duplicates_by_file.iter().map(|(_, n)| n).sum();
                let kept = normalized.messages.height() as u64;
                let rejected = normalized.rejected.height() as u64;
                assert_eq!(
                    kept + rejected + duplicates,
                    read,
                    "rows lost: {read} read, {kept} kept, {rejected} rejected, {duplicates} duplicates"
                );
            }
            Err(e) => assert_input_error(&e, name),
        }
    }
}

/// Every line of `bytes` (lossy UTF-8) as a timestamp: an instant or null,
/// one value per line, in each zone.
pub fn timestamp_texts(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().collect();
    let frame = df!("raw" => &lines).expect("one column");
    for zone in ZONES {
        let parsed = timestamps::parse(col("raw"), zone).expect("a valid expression");
        let out = frame
            .clone()
            .lazy()
            .select([parsed.micros.alias("us"), parsed.in_dst_gap.alias("gap")])
            .collect()
            .unwrap_or_else(|e| panic!("parsing {lines:?} in {zone} failed: {e}"));
        assert_eq!(out.height(), lines.len(), "one instant per line");
        assert!(out.column("us").unwrap().i64().is_ok(), "instants are i64");
    }
}

/// A rate card (long or wide layout, with and without `--rates-as-of`)
/// and a markets map, from the same bytes.
pub fn rate_card(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let as_of = chrono::NaiveDate::from_ymd_opt(2026, 10, 1);
    for date in [None, as_of] {
        let mut book = RateBook::default();
        if let Err(e) = book.add_card(&text, "card.csv", date) {
            assert_input_error(&e, "card.csv");
        }
    }
    let mut book = RateBook::default();
    if let Err(e) = book.add_markets(&text, "markets.csv") {
        assert_input_error(&e, "markets.csv");
    }
}

fn assert_input_error(error: &anyhow::Error, name: &str) {
    assert_eq!(exit_code(error), 2, "not an input error: {error:#}");
    assert!(
        format!("{error:#}").contains(name),
        "the error does not name {name}: {error:#}"
    );
}
