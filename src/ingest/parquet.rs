//! Parquet logs. Columns may be strings or native types: integer
//! timestamps are read as epoch text (10 or 13 digits, §8.9) and native
//! timestamp columns are kept as instants (no zone = the input time zone).

use std::fs::File;
use std::path::Path;

use anyhow::Result;
use polars::prelude::*;

use super::{check_required, utc_micros};
use crate::bad_input;
use crate::schema::{self, INPUT_COLUMNS};

pub fn read(path: &Path, name: &str, input_tz: &str) -> Result<DataFrame> {
    let file = File::open(path).map_err(|e| bad_input!("{name}: cannot open it ({e})"))?;
    let mut frame = ParquetReader::new(file)
        .finish()
        .map_err(|e| bad_input!("{name}: cannot be read as Parquet ({e})"))?;
    let names: Vec<String> = frame
        .get_column_names()
        .iter()
        .map(|n| n.trim().to_lowercase())
        .collect();
    frame.set_column_names(&names)?;
    check_required(name, &names)?;
    let height = frame.height();
    let mut exprs: Vec<Expr> = INPUT_COLUMNS
        .iter()
        .map(|c| match frame.schema().get(c) {
            Some(_) => col(*c).cast(DataType::String),
            None => lit(NULL).cast(DataType::String).alias(*c),
        })
        .collect();
    exprs.push(native_timestamp(
        frame.schema().get(schema::TIMESTAMP),
        input_tz,
    )?);
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

fn native_timestamp(dtype: Option<&DataType>, input_tz: &str) -> Result<Expr> {
    let ts = col(schema::TIMESTAMP);
    let expr = match dtype {
        Some(DataType::Datetime(_, Some(_))) => ts.cast(utc_micros()),
        Some(DataType::Datetime(unit, None)) => ts
            .cast(DataType::Datetime(*unit, None))
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
