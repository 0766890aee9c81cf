//! CSV logs, read with the `csv` crate rather than polars' reader because
//! every record must be accounted for: a record with the wrong number of
//! fields or invalid UTF-8 is kept and rejected with its record number and
//! physical line (DOMAIN.md §8.13), where a bulk reader would stop or guess.

use std::io::Read;

use anyhow::Result;
use polars::prelude::DataFrame;

use super::{check_required, RawBuilder};
use crate::bad_input;
use crate::schema::INPUT_COLUMNS;

pub fn read(input: Box<dyn Read>, name: &str) -> Result<DataFrame> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(input);
    let mut record = csv::ByteRecord::new();
    let mut builder = RawBuilder::new();
    let read_error = |e: csv::Error| bad_input!("{name}: cannot be read as CSV ({e})");
    if !reader.read_byte_record(&mut record).map_err(read_error)? {
        return builder.finish();
    }
    let header: Vec<String> = record
        .iter()
        .map(|h| {
            String::from_utf8_lossy(h)
                .trim()
                .trim_start_matches('\u{feff}')
                .trim()
                .to_lowercase()
        })
        .collect();
    check_required(name, &header)?;
    let positions: Vec<Option<usize>> = INPUT_COLUMNS
        .iter()
        .map(|c| header.iter().position(|h| h == c))
        .collect();
    while reader.read_byte_record(&mut record).map_err(read_error)? {
        let line = record.position().map(|p| p.line());
        let mut error = None;
        if record.len() != header.len() {
            error = Some(format!(
                "expected {} fields as in the header, found {}",
                header.len(),
                record.len()
            ));
        }
        let fields = positions
            .iter()
            .zip(INPUT_COLUMNS)
            .map(|(pos, column)| {
                let bytes = pos.and_then(|i| record.get(i))?;
                match std::str::from_utf8(bytes) {
                    Ok(text) => Some(text.to_string()),
                    Err(_) => {
                        error.get_or_insert_with(|| format!("invalid UTF-8 in column {column}"));
                        Some(String::from_utf8_lossy(bytes).into_owned())
                    }
                }
            })
            .collect();
        if error.is_none() {
            error = invalid_utf8_elsewhere(&record, &positions);
        }
        builder.push(fields, line, error);
    }
    builder.finish()
}

/// §8.13: invalid UTF-8 in *any* field rejects the record, also in columns
/// we do not use.
fn invalid_utf8_elsewhere(record: &csv::ByteRecord, used: &[Option<usize>]) -> Option<String> {
    record
        .iter()
        .enumerate()
        .filter(|(i, _)| !used.contains(&Some(*i)))
        .find(|(_, bytes)| std::str::from_utf8(bytes).is_err())
        .map(|(i, _)| format!("invalid UTF-8 in field {}", i + 1))
}
