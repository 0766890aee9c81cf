//! Parquet logs. Columns may be strings or native types: integer
//! timestamps are read as epoch text (10 or 13 digits, §8.9) and native
//! timestamp columns are kept as instants (no zone = the input time zone).
//! A mapping applies as polars expressions, the same rules as for CSV.

use std::fs::File;
use std::path::Path;

use anyhow::Result;
use polars::prelude::*;

use super::mapping::header_names;
use super::{utc_micros, ReadSpec};
use crate::bad_input;
use crate::schema;

pub fn read(path: &Path, name: &str, input_tz: &str, spec: &ReadSpec) -> Result<DataFrame> {
    let file = File::open(path).map_err(|e| bad_input!("{name}: cannot open it ({e})"))?;
    let mut frame = ParquetReader::new(file)
        .finish()
        .map_err(|e| bad_input!("{name}: cannot be read as Parquet ({e})"))?;
    let names = header_names(frame.get_column_names().iter().map(|n| n.as_str()));
    frame.set_column_names(&names)?;
    let resolved = spec.mapping.resolve(&names);
    resolved.check_required(spec.mapping, name, spec.required, &names)?;
    let height = frame.height();
    let timestamp_source = resolved.plain_source(schema::TIMESTAMP).map(String::from);
    let native = timestamp_source
        .as_deref()
        .and_then(|s| frame.schema().get(s).map(|d| (s, d.clone())));
    let mut exprs = resolved.exprs();
    if matches!(native, Some((_, DataType::Datetime(..)))) && !spec.timestamp_text {
        // Formatting 10M instants as text costs seconds; `normalize` formats
        // the few that rejected rows show.
        for e in exprs.iter_mut() {
            if e.clone().meta().output_name()?.as_str() == schema::TIMESTAMP {
                *e = lit(NULL).cast(DataType::String).alias(schema::TIMESTAMP);
            }
        }
    }
    exprs.push(native_timestamp(native, input_tz)?);
    let rows: Vec<u64> = (1..=height as u64).collect();
    let mut raw = frame.lazy().select(exprs).collect()?;
    raw.with_column(Column::new(schema::SOURCE_ROW.into(), rows))?;
    raw.with_column(Column::full_null(
        schema::SOURCE_LINE.into(),
        height,
        &DataType::UInt64,
    ))?;
    raw.with_column(Column::full_null(
        schema::INGEST_ERROR.into(),
        height,
        &DataType::String,
    ))?;
    Ok(raw)
}

fn native_timestamp(source: Option<(&str, DataType)>, input_tz: &str) -> Result<Expr> {
    let expr = match source {
        Some((name, DataType::Datetime(_, Some(_)))) => col(name).cast(utc_micros()),
        Some((name, DataType::Datetime(unit, None))) => col(name)
            .cast(DataType::Datetime(unit, None))
            .dt()
            .replace_time_zone(
                TimeZone::opt_try_new(Some(input_tz))?,
                lit("earliest"),
                NonExistent::Null,
            )
            .cast(utc_micros()),
        _ => lit(NULL).cast(utc_micros()),
    };
    Ok(expr.alias(schema::TIMESTAMP_NATIVE))
}
