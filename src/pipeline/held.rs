//! Raw rows of a cut log held in memory, compactly (`pipeline::source`).
//!
//! A raw row is text: every cell a 16-byte string view, most of them
//! repeating a handful of values (direction, type, status, category,
//! template name, business number, the file's name). Held as they are
//! read, 10M rows took 3.3 GiB. A [`Compact`] frame keeps a text column
//! with few distinct values as integer codes into its distinct values, a
//! column that is one value (or all missing) as that value, and the rest
//! as they were; [`Compact::expanded`] gives back the frame it was made
//! from, cell for cell.

use anyhow::Result;
use polars::prelude::*;

use super::filed::Dictionaries;
use crate::frames;

/// A text column is coded when a slice has at most this many distinct
/// values in it (codes and values then take far less than the views).
const MAX_CODED_VALUES: usize = 4096;

/// A frame with some columns coded (see the module docs).
#[derive(Clone)]
pub struct Compact {
    frame: DataFrame,
    /// The coded columns: their names and distinct values, which the codes
    /// (the frame's `UInt32` column of that name) index.
    values: Dictionaries,
}

impl Compact {
    /// `frame`, compacted. Each column is coded on a thread of its own.
    pub fn new(frame: DataFrame) -> Result<Compact> {
        let height = frame.height();
        let compacted: Vec<(Column, Option<Series>)> = std::thread::scope(|scope| {
            let threads: Vec<_> = frame
                .columns()
                .iter()
                .map(|column| scope.spawn(move || compacted(column, height)))
                .collect();
            threads
                .into_iter()
                .map(|t| {
                    t.join()
                        .map_err(|_| anyhow::anyhow!("a thread compacting raw rows panicked"))?
                })
                .collect::<Result<_>>()
        })?;
        let mut columns = Vec::with_capacity(compacted.len());
        let mut values = Vec::new();
        for (column, distinct) in compacted {
            if let Some(distinct) = distinct {
                values.push((column.name().clone(), distinct));
            }
            columns.push(column);
        }
        Ok(Compact {
            frame: DataFrame::new(height, columns)?,
            values: Dictionaries::new(values),
        })
    }

    /// The rows where `predicate`, which may read only the columns kept as
    /// they were, holds.
    pub fn filtered(&self, predicate: Expr) -> Result<Compact> {
        Ok(Compact {
            frame: self.frame.clone().lazy().filter(predicate).collect()?,
            values: self.values.clone(),
        })
    }

    /// The rows in `order`.
    pub fn take(&self, order: &IdxCa) -> Result<Compact> {
        Ok(Compact {
            frame: self.frame.take(order)?,
            values: self.values.clone(),
        })
    }

    /// Rows `[offset, offset + len)`.
    pub fn slice(&self, offset: i64, len: usize) -> Compact {
        Compact {
            frame: self.frame.slice(offset, len),
            values: self.values.clone(),
        }
    }

    /// The frame this was made from.
    pub fn expanded(self) -> Result<DataFrame> {
        self.values.decoded(self.frame)
    }
}

/// A column as held: one repeated value, codes (with the distinct values
/// they index), or as it was.
fn compacted(column: &Column, height: usize) -> Result<(Column, Option<Series>)> {
    if column.null_count() == height {
        return Ok((
            Column::full_null(column.name().clone(), height, column.dtype()),
            None,
        ));
    }
    if column.dtype() != &DataType::String {
        return Ok((column.clone(), None));
    }
    let Some((codes, distinct)) = frames::coded(column.str()?, MAX_CODED_VALUES) else {
        return Ok((column.clone(), None));
    };
    if distinct.len() == 1 && column.null_count() == 0 {
        let value = Scalar::new(DataType::String, distinct.get(0)?.into_static());
        return Ok((
            Column::new_scalar(column.name().clone(), value, height),
            None,
        ));
    }
    Ok((codes.into_column(), Some(distinct)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_compact_frame_expands_to_the_frame_it_was_made_from() {
        let many: Vec<String> = (0..MAX_CODED_VALUES + 1).map(|i| format!("m{i}")).collect();
        let n = many.len();
        let frame = df!(
            "few" => (0..n).map(|i| [Some("a"), None, Some("b")][i % 3]).collect::<Vec<_>>(),
            "many" => many,
            "one" => vec!["file.parquet"; n],
            "none" => vec![None::<&str>; n],
            "number" => (0..n as u64).collect::<Vec<_>>(),
        )
        .unwrap();
        let compact = Compact::new(frame.clone()).unwrap();
        // Coded, one value, all missing, and as it was.
        let held = &compact.frame;
        assert_eq!(held.column("few").unwrap().dtype(), &DataType::UInt32);
        assert!(matches!(held.column("one").unwrap(), Column::Scalar(_)));
        assert!(matches!(held.column("none").unwrap(), Column::Scalar(_)));
        assert_eq!(held.column("many").unwrap().dtype(), &DataType::String);
        assert!(compact.clone().expanded().unwrap().equals_missing(&frame));
        let slice = compact.slice(4, 7).expanded().unwrap();
        assert!(slice.equals_missing(&frame.slice(4, 7)));
    }
}
