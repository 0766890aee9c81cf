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
    read_rows(path, name, input_tz, spec, None)
}

/// Rows `[offset, offset + len)` of a file (all of it for `None`), read as
/// [`read`] reads the file; `SOURCE_ROW` counts from the file's first row,
/// so a slice's rows keep the numbers they have in the whole file.
pub fn read_rows(
    path: &Path,
    name: &str,
    input_tz: &str,
    spec: &ReadSpec,
    slice: Option<(usize, usize)>,
) -> Result<DataFrame> {
    let reader = open(path, name)?;
    let first_row = slice.map_or(0, |(offset, _)| offset as u64);
    let frame = reader
        .with_slice(slice)
        .finish()
        .map_err(|e| bad_input!("{name}: cannot be read as Parquet ({e})"))?;
    let rows: Vec<u64> = (first_row + 1..=first_row + frame.height() as u64).collect();
    raw_rows(frame, name, input_tz, spec, rows)
}

/// A Parquet file's columns, as read, made raw rows as [`read`] makes
/// them; `rows` are the rows' numbers in their file (a driver that read
/// the file itself, `pipeline::driven`, says which rows it hands over).
pub fn raw_rows(
    mut frame: DataFrame,
    name: &str,
    input_tz: &str,
    spec: &ReadSpec,
    rows: Vec<u64>,
) -> Result<DataFrame> {
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

/// Only the canonical columns `wanted`, as the mapping makes them, of rows
/// `[offset, offset + len)`: only the file columns they are made from are
/// read (a run cut into parts reads the numbers first, `pipeline::source`).
pub fn read_columns(
    path: &Path,
    name: &str,
    spec: &ReadSpec,
    wanted: &[&str],
    slice: (usize, usize),
) -> Result<DataFrame> {
    let mut reader = open(path, name)?;
    let schema = reader
        .schema()
        .map_err(|e| bad_input!("{name}: cannot be read as Parquet ({e})"))?;
    let names = header_names(schema.iter_names().map(|n| n.as_str()));
    let resolved = spec.mapping.resolve(&names);
    resolved.check_required(spec.mapping, name, spec.required, &names)?;
    let exprs: Vec<Expr> = resolved
        .exprs()
        .into_iter()
        .filter(|e| {
            e.clone()
                .meta()
                .output_name()
                .is_ok_and(|n| wanted.contains(&n.as_str()))
        })
        .collect();
    let mut roots: Vec<usize> = Vec::new();
    for e in &exprs {
        for root in e.clone().meta().root_names() {
            if let Some(i) = names.iter().position(|n| n.as_str() == root.as_str()) {
                if !roots.contains(&i) {
                    roots.push(i);
                }
            }
        }
    }
    roots.sort_unstable();
    let mut frame = reader
        .with_projection(Some(roots.clone()))
        .with_slice(Some(slice))
        .finish()
        .map_err(|e| bad_input!("{name}: cannot be read as Parquet ({e})"))?;
    let projected: Vec<String> = roots.iter().map(|&i| names[i].clone()).collect();
    frame.set_column_names(&projected)?;
    Ok(frame.lazy().select(exprs).collect()?)
}

/// The number of rows and of uncompressed bytes of each row group of a
/// file, in order.
pub fn row_groups(path: &Path, name: &str) -> Result<Vec<(usize, usize)>> {
    let mut reader = open(path, name)?;
    let metadata = reader
        .get_metadata()
        .map_err(|e| bad_input!("{name}: cannot be read as Parquet ({e})"))?;
    Ok(metadata
        .row_groups
        .iter()
        .map(|g| (g.num_rows(), g.total_byte_size()))
        .collect())
}

fn open(path: &Path, name: &str) -> Result<ParquetReader<File>> {
    let file = File::open(path).map_err(|e| bad_input!("{name}: cannot open it ({e})"))?;
    Ok(ParquetReader::new(file))
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
