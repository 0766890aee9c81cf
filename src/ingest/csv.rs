//! CSV logs, read with the `csv` crate rather than polars' reader because
//! every record must be accounted for: a record with the wrong number of
//! fields or invalid UTF-8 is kept and rejected with its record number and
//! physical line (docs §8.13), where a bulk reader would stop or guess.

use std::borrow::Cow;
use std::io::Read;

use anyhow::Result;
use polars::prelude::DataFrame;

use super::mapping::{header_names, positions};
use super::{RawBuilder, ReadSpec};
use crate::bad_input;

pub fn read(input: Box<dyn Read>, name: &str, spec: &ReadSpec) -> Result<DataFrame> {
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
    let header = header_names(
        record
            .iter()
            .map(|h| String::from_utf8_lossy(h))
            .collect::<Vec<_>>()
            .iter()
            .map(|h| h.as_ref()),
    );
    let resolved = spec.mapping.resolve(&header);
    resolved.check_required(spec.mapping, name, spec.required, &header)?;
    let at = positions(&header);
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
        // §8.13: invalid UTF-8 in *any* field rejects the record, also in
        // columns we do not use.
        let texts: Vec<Cow<str>> = record
            .iter()
            .enumerate()
            .map(|(i, bytes)| match std::str::from_utf8(bytes) {
                Ok(text) => Cow::Borrowed(text),
                Err(_) => {
                    error.get_or_insert_with(|| match header.get(i) {
                        Some(column) => format!("invalid UTF-8 in column {column}"),
                        None => format!("invalid UTF-8 in field {}", i + 1),
                    });
                    String::from_utf8_lossy(bytes)
                }
            })
            .collect();
        let fields = resolved.fields(|c| at.get(c).and_then(|&i| texts.get(i)).map(|t| t.as_ref()));
        builder.push(fields, line, error);
    }
    builder.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::Mapping;

    proptest::proptest! {
        /// Any bytes after a valid header are rows, rejected rows or a
        /// clean "cannot be read" error, never a panic.
        #[test]
        fn random_bytes_never_panic(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            let mut bytes = b"message_id,contact,direction,timestamp,type\n".to_vec();
            bytes.extend(body);
            let spec = ReadSpec { mapping: &Mapping::identity(), required: &crate::schema::REQUIRED_COLUMNS, timestamp_text: false };
            if let Err(e) = read(Box::new(std::io::Cursor::new(bytes)), "x.csv", &spec) {
                proptest::prop_assert_eq!(crate::error::exit_code(&e), 2, "{}", e);
            }
        }
    }
}
