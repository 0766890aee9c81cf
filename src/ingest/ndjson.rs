//! Flat NDJSON logs: one JSON object per line, keys as in DOMAIN.md §2.
//!
//! A line that is not a JSON object is kept as a rejected record with its
//! line number. A required key that no line of the file has is a file error,
//! like a missing CSV column.

use std::io::{BufRead, BufReader, Read};

use anyhow::Result;
use polars::prelude::DataFrame;
use serde_json::Value;

use super::{check_required, RawBuilder};
use crate::bad_input;
use crate::schema::{INPUT_COLUMNS, REQUIRED_COLUMNS};

pub fn read(input: Box<dyn Read>, name: &str) -> Result<DataFrame> {
    let mut reader = BufReader::new(input);
    let mut builder = RawBuilder::new();
    let mut keys_seen = vec![false; INPUT_COLUMNS.len()];
    let mut objects = 0u64;
    let mut line = Vec::new();
    let mut line_no = 0u64;
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| bad_input!("{name}: cannot be read ({e})"))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match parse_line(&line) {
            Ok(fields) => {
                objects += 1;
                for (seen, value) in keys_seen.iter_mut().zip(&fields) {
                    *seen |= value.is_some();
                }
                builder.push(fields, Some(line_no), None);
            }
            Err(reason) => {
                let raw = String::from_utf8_lossy(&line).trim().to_string();
                let mut fields = vec![None; INPUT_COLUMNS.len()];
                fields[0] = Some(raw.chars().take(200).collect());
                builder.push(fields, Some(line_no), Some(reason));
            }
        }
    }
    if objects > 0 {
        let found: Vec<String> = INPUT_COLUMNS
            .iter()
            .zip(&keys_seen)
            .filter(|(_, seen)| **seen)
            .map(|(c, _)| c.to_string())
            .collect();
        if REQUIRED_COLUMNS
            .iter()
            .any(|c| !found.iter().any(|f| f == c))
        {
            check_required(name, &found)?;
        }
    }
    builder.finish()
}

/// The values of one line, in `INPUT_COLUMNS` order; keys are matched
/// trimmed and case-insensitively, numbers and booleans become their text.
fn parse_line(line: &[u8]) -> Result<Vec<Option<String>>, String> {
    let text = std::str::from_utf8(line).map_err(|_| "invalid UTF-8".to_string())?;
    let value: Value = serde_json::from_str(text).map_err(|e| format!("invalid JSON ({e})"))?;
    let Value::Object(object) = value else {
        return Err("not a JSON object".to_string());
    };
    let mut fields = vec![None; INPUT_COLUMNS.len()];
    for (key, value) in object {
        let key = key.trim().to_lowercase();
        if let Some(i) = INPUT_COLUMNS.iter().position(|c| *c == key) {
            if fields[i].is_none() {
                fields[i] = scalar_text(value);
            }
        }
    }
    Ok(fields)
}

fn scalar_text(value: Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        other => Some(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_case_insensitive_and_numbers_become_text() {
        let fields = parse_line(br#"{" Message_ID ":"w1","timestamp":1773136800,"x":1}"#).unwrap();
        assert_eq!(fields[0].as_deref(), Some("w1"));
        assert_eq!(fields[4].as_deref(), Some("1773136800"));
    }

    #[test]
    fn non_objects_are_rejected_with_a_reason() {
        assert_eq!(parse_line(b"[1,2]").unwrap_err(), "not a JSON object");
        assert!(parse_line(b"{oops")
            .unwrap_err()
            .starts_with("invalid JSON"));
    }
}
