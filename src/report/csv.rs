//! CSV text of the tables this tool writes, byte for byte as polars' CSV
//! writer gives it with the options of [`super::write_csv`] (quotes only
//! where needed, missing as nothing, instants in
//! [`crate::timestamps::TIME_FORMAT`], dates as `%Y-%m-%d`), but made a
//! row at a time from the columns' arrays. At 10M messages polars' writer
//! took about a sixth of the CPU of everything after the parts: it
//! formats every instant through chrono and goes through a boxed
//! serializer per cell. Frames with a column of another type (floats,
//! nested types) are left to polars ([`write`] says so).

use std::io::Write;

use anyhow::Result;
use chrono::{DateTime, NaiveDate};
use polars::prelude::*;
use polars_arrow::array::{Array, BooleanArray, PrimitiveArray, Utf8ViewArray};

use crate::timestamps::TIME_FORMAT;

/// Rows formatted at a time by each of the two threads.
const BLOCK_ROWS: usize = 1 << 15;

/// One column's cells.
enum Cells<'a> {
    Text(&'a Utf8ViewArray),
    Flag(&'a BooleanArray),
    Integer(PrimitiveArray<i64>),
    Unsigned(PrimitiveArray<u64>),
    /// µs since the epoch, UTC.
    Instant(PrimitiveArray<i64>),
    /// Days since the epoch.
    Day(PrimitiveArray<i32>),
}

/// The last day an instant or date fell on, and its text: rows of a table
/// come a day at a time far more often than not.
#[derive(Default)]
struct DayText {
    day: Option<i64>,
    text: Vec<u8>,
}

/// Writes `frame` as CSV (after a header row when `header`); `false` when
/// a column is of a type this does not write (nothing is written then).
pub fn write(frame: &DataFrame, out: &mut dyn Write, header: bool) -> Result<bool> {
    if frame.height() == 0 {
        return Ok(false);
    }
    let mut frame = frame.clone();
    frame.rechunk_mut_par();
    let Some(columns) = frame
        .columns()
        .iter()
        .map(cells_of)
        .collect::<Result<Option<Vec<_>>>>()?
    else {
        return Ok(false);
    };
    if header {
        let mut line = Vec::new();
        for (k, name) in frame.get_column_names().iter().enumerate() {
            if k > 0 {
                line.push(b',');
            }
            write_text(name.as_bytes(), &mut line);
        }
        line.push(b'\n');
        out.write_all(&line)?;
    }
    let height = frame.height();
    let mut start = 0;
    while start < height {
        let halves = [start, (start + BLOCK_ROWS).min(height)];
        let blocks: Vec<Vec<u8>> = std::thread::scope(|scope| {
            let threads: Vec<_> = halves
                .iter()
                .map(|&from| {
                    let columns = &columns;
                    scope.spawn(move || rows_text(columns, from, (from + BLOCK_ROWS).min(height)))
                })
                .collect();
            threads
                .into_iter()
                .map(|t| t.join().expect("a thread formatting CSV rows panicked"))
                .collect()
        });
        for block in blocks {
            out.write_all(&block)?;
        }
        start = (start + 2 * BLOCK_ROWS).min(height);
    }
    Ok(true)
}

fn cells_of(column: &Column) -> Result<Option<Cells<'_>>> {
    let physical = |dtype: DataType| -> Result<Series> {
        Ok(column
            .as_materialized_series()
            .to_physical_repr()
            .cast(&dtype)?)
    };
    Ok(Some(match column.dtype() {
        DataType::String => Cells::Text(column.str()?.downcast_as_array()),
        DataType::Boolean => Cells::Flag(column.bool()?.downcast_as_array()),
        DataType::UInt64 => Cells::Unsigned(column.u64()?.downcast_as_array().clone()),
        dtype if dtype.is_integer() => Cells::Integer(
            physical(DataType::Int64)?
                .i64()?
                .downcast_as_array()
                .clone(),
        ),
        DataType::Datetime(TimeUnit::Microseconds, zone)
            if zone.as_ref().is_none_or(|z| z == &TimeZone::UTC) =>
        {
            Cells::Instant(
                physical(DataType::Int64)?
                    .i64()?
                    .downcast_as_array()
                    .clone(),
            )
        }
        DataType::Date => Cells::Day(
            physical(DataType::Int32)?
                .i32()?
                .downcast_as_array()
                .clone(),
        ),
        _ => return Ok(None),
    }))
}

/// Rows `[from, to)` as CSV lines.
fn rows_text(columns: &[Cells], from: usize, to: usize) -> Vec<u8> {
    let mut text = Vec::with_capacity((to - from) * 64 * columns.len().max(1) / 4);
    let mut days: Vec<DayText> = columns.iter().map(|_| DayText::default()).collect();
    for row in from..to {
        for (k, (cells, day)) in columns.iter().zip(&mut days).enumerate() {
            if k > 0 {
                text.push(b',');
            }
            write_cell(cells, row, day, &mut text);
        }
        text.push(b'\n');
    }
    text
}

fn write_cell(cells: &Cells, row: usize, day: &mut DayText, text: &mut Vec<u8>) {
    match cells {
        Cells::Text(array) => {
            if array.is_valid(row) {
                write_text(array.value(row).as_bytes(), text);
            }
        }
        Cells::Flag(array) => {
            if array.is_valid(row) {
                let flag: &[u8] = if array.value(row) { b"true" } else { b"false" };
                text.extend_from_slice(flag);
            }
        }
        Cells::Integer(array) => {
            if array.is_valid(row) {
                write!(text, "{}", array.value(row)).expect("writing to memory");
            }
        }
        Cells::Unsigned(array) => {
            if array.is_valid(row) {
                write!(text, "{}", array.value(row)).expect("writing to memory");
            }
        }
        Cells::Instant(array) => {
            if array.is_valid(row) {
                write_instant(array.value(row), day, text);
            }
        }
        Cells::Day(array) => {
            if array.is_valid(row) {
                write_day(i64::from(array.value(row)), day, text);
            }
        }
    }
}

/// A text cell: quoted when it holds a comma, a line break or a quote
/// (quotes doubled), `""` when empty (missing is nothing).
fn write_text(value: &[u8], text: &mut Vec<u8>) {
    if value.is_empty() {
        text.extend_from_slice(b"\"\"");
        return;
    }
    if !value
        .iter()
        .any(|b| matches!(b, b',' | b'\n' | b'\r' | b'"'))
    {
        text.extend_from_slice(value);
        return;
    }
    text.push(b'"');
    for &b in value {
        if b == b'"' {
            text.push(b'"');
        }
        text.push(b);
    }
    text.push(b'"');
}

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// An instant in [`TIME_FORMAT`], as chrono writes it: the fraction
/// (`%.f`) has 3 or 6 digits as the instant needs, none when whole.
fn write_instant(us: i64, day: &mut DayText, text: &mut Vec<u8>) {
    let (days, of_day) = (us.div_euclid(MICROS_PER_DAY), us.rem_euclid(MICROS_PER_DAY));
    if !day_text(days, day) {
        // A year chrono writes otherwise (beyond 0-9999), or none.
        let formatted = DateTime::from_timestamp_micros(us)
            .map_or_else(|| us.to_string(), |t| t.format(TIME_FORMAT).to_string());
        text.extend_from_slice(formatted.as_bytes());
        return;
    }
    text.extend_from_slice(&day.text);
    let seconds = of_day / 1_000_000;
    let micros = of_day % 1_000_000;
    let two = |n: i64, text: &mut Vec<u8>| {
        text.extend_from_slice(&[b'0' + (n / 10) as u8, b'0' + (n % 10) as u8])
    };
    text.push(b'T');
    two(seconds / 3600, text);
    text.push(b':');
    two(seconds / 60 % 60, text);
    text.push(b':');
    two(seconds % 60, text);
    if micros != 0 {
        let (value, digits) = match micros % 1000 {
            0 => (micros / 1000, 3),
            _ => (micros, 6),
        };
        write!(text, ".{value:0digits$}").expect("writing to memory");
    }
    text.push(b'Z');
}

/// A date as `%Y-%m-%d`.
fn write_day(days: i64, day: &mut DayText, text: &mut Vec<u8>) {
    if day_text(days, day) {
        text.extend_from_slice(&day.text);
        return;
    }
    let formatted = days_date(days).map_or_else(|| days.to_string(), |d| d.to_string());
    text.extend_from_slice(formatted.as_bytes());
}

fn days_date(days: i64) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(1970, 1, 1)?.checked_add_signed(chrono::TimeDelta::try_days(days)?)
}

/// Makes `day.text` the `YYYY-MM-DD` of `days` since the epoch; `false`
/// when its year is not four plain digits.
fn day_text(days: i64, day: &mut DayText) -> bool {
    if day.day == Some(days) {
        return !day.text.is_empty();
    }
    day.day = Some(days);
    day.text.clear();
    if let Some(date) = days_date(days).filter(|d| (0..=9999).contains(&chrono::Datelike::year(d)))
    {
        write!(day.text, "{}", date.format("%Y-%m-%d")).expect("writing to memory");
    }
    !day.text.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn polars_csv(frame: &DataFrame, header: bool) -> Vec<u8> {
        let mut bytes = Vec::new();
        CsvWriter::new(&mut bytes)
            .include_header(header)
            .with_datetime_format(Some(TIME_FORMAT.into()))
            .finish(&mut frame.clone())
            .unwrap();
        bytes
    }

    /// Every kind of cell this writes, against polars' writer: texts that
    /// need quotes or not, empty and missing; flags; integers; instants
    /// whole, to the millisecond and to the microsecond, before 1970 and
    /// far out; dates. More rows than a block, so the halves join up.
    #[test]
    fn rows_are_written_as_polars_writes_them() {
        let texts = [
            Some("plain"),
            Some(""),
            None,
            Some("a,b"),
            Some("say \"hi\""),
            Some("two\nlines"),
            Some("cr\r"),
            Some("'=1+1"),
            Some("عربي"),
            Some("a text longer than a view"),
        ];
        let instants = [
            1_797_877_189_000_000i64,
            1_797_877_189_500_000,
            1_797_877_189_000_001,
            -1_000_001,
            0,
            253_402_300_799_999_999,
            -62_135_596_800_000_000,
        ];
        let rows = 2 * BLOCK_ROWS + 77;
        let mut frame = df!(
            "text" => (0..rows).map(|i| texts[i % texts.len()]).collect::<Vec<_>>(),
            "flag" => (0..rows).map(|i| (i % 5 != 0).then_some(i % 2 == 0)).collect::<Vec<_>>(),
            "n" => (0..rows as i64).map(|i| (i % 7 != 0).then_some(i * 7919 - 99_000)).collect::<Vec<_>>(),
            "u" => (0..rows as u32).collect::<Vec<_>>(),
            "big" => (0..rows as u64).map(|i| u64::MAX - i).collect::<Vec<_>>(),
            "at" => (0..rows).map(|i| (i % 11 != 0).then_some(instants[i % instants.len()] + (i as i64 / 13) * 86_400_000_000)).collect::<Vec<_>>(),
            "day" => (0..rows as i32).map(|i| (i % 3 != 0).then_some(i / 40 - 800)).collect::<Vec<_>>(),
        )
        .unwrap();
        frame
            .apply("at", |c| {
                c.cast(&DataType::Datetime(
                    TimeUnit::Microseconds,
                    Some(TimeZone::UTC),
                ))
                .unwrap()
            })
            .unwrap();
        frame
            .apply("day", |c| c.cast(&DataType::Date).unwrap())
            .unwrap();
        for header in [true, false] {
            let mut ours = Vec::new();
            assert!(write(&frame, &mut ours, header).unwrap());
            let theirs = polars_csv(&frame, header);
            let line = ours
                .split(|&b| b == b'\n')
                .zip(theirs.split(|&b| b == b'\n'))
                .position(|(a, b)| a != b);
            assert_eq!(line, None, "first line that differs");
            assert_eq!(ours, theirs);
        }
    }

    #[test]
    fn other_column_types_are_left_to_polars() {
        let frame = df!("x" => [1.5f64]).unwrap();
        let mut ours = Vec::new();
        assert!(!write(&frame, &mut ours, true).unwrap());
        assert!(ours.is_empty());
    }
}
