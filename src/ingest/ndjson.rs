//! Flat NDJSON logs: one JSON object per line, keys as in docs §2 (or
//! as a mapping names them).
//!
//! A line that is not a JSON object is kept as a rejected record with its
//! line number. A required key that no line of the file has is a file error,
//! like a missing CSV column.

use std::collections::{BTreeSet, HashMap};
use std::io::Read;

use anyhow::Result;
use polars::prelude::DataFrame;
use serde_json::Value;

use super::{for_each_line, unreadable_line, RawBuilder, ReadSpec};

pub fn read(input: Box<dyn Read>, name: &str, spec: &ReadSpec) -> Result<DataFrame> {
    let mut builder = RawBuilder::new();
    let mut keys_seen: BTreeSet<String> = BTreeSet::new();
    let mut objects = 0u64;
    // Keys are resolved once per distinct key set, not once per line.
    let mut resolved_for: HashMap<Vec<String>, super::mapping::Resolved> = HashMap::new();
    for_each_line(input, name, |line_no, line| match parse_line(line) {
        Ok(values) => {
            objects += 1;
            let keys: Vec<String> = values.iter().map(|(k, _)| k.clone()).collect();
            let resolved = resolved_for
                .entry(keys.clone())
                .or_insert_with(|| spec.mapping.resolve(&keys));
            let fields = resolved.fields(|c| {
                values
                    .iter()
                    .find(|(k, _)| k == c)
                    .and_then(|(_, v)| v.as_deref())
            });
            keys_seen.extend(keys);
            builder.push(fields, Some(line_no), None);
        }
        Err(reason) => builder.push(unreadable_line(line), Some(line_no), Some(reason)),
    })?;
    if objects > 0 {
        let found: Vec<String> = keys_seen.into_iter().collect();
        spec.mapping
            .resolve(&found)
            .check_required(spec.mapping, name, spec.required, &found)?;
    }
    builder.finish()
}

/// The keys (trimmed, lower-case, first occurrence wins) and scalar texts of
/// one line; numbers and booleans become their text.
fn parse_line(line: &[u8]) -> Result<Vec<(String, Option<String>)>, String> {
    let text = std::str::from_utf8(line).map_err(|_| "invalid UTF-8".to_string())?;
    let value: Value = serde_json::from_str(text).map_err(|e| format!("invalid JSON ({e})"))?;
    let Value::Object(object) = value else {
        return Err("not a JSON object".to_string());
    };
    let mut values: Vec<(String, Option<String>)> = Vec::with_capacity(object.len());
    for (key, value) in object {
        let key = key.trim().to_lowercase();
        if !values.iter().any(|(k, _)| *k == key) {
            values.push((key, scalar_text(value)));
        }
    }
    values.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(values)
}

pub(crate) fn scalar_text(value: Value) -> Option<String> {
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
        let values = parse_line(br#"{" Message_ID ":"w1","timestamp":1773136800,"x":1}"#).unwrap();
        let get = |k: &str| values.iter().find(|(key, _)| key == k).unwrap().1.clone();
        assert_eq!(get("message_id").as_deref(), Some("w1"));
        assert_eq!(get("timestamp").as_deref(), Some("1773136800"));
    }

    #[test]
    fn non_objects_are_rejected_with_a_reason() {
        assert_eq!(parse_line(b"[1,2]").unwrap_err(), "not a JSON object");
        assert!(parse_line(b"{oops")
            .unwrap_err()
            .starts_with("invalid JSON"));
    }

    proptest::proptest! {
        #[test]
        fn random_bytes_are_rows_or_rejections(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let spec = ReadSpec { mapping: &super::super::Mapping::identity(), required: &[], timestamp_text: false };
            read(Box::new(std::io::Cursor::new(bytes)), "x.ndjson", &spec).unwrap();
        }
    }
}
