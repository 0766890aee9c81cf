//! Small polars helpers the stages share.
//!
//! Most columns of a message log repeat a few values (business numbers,
//! months, rate dates), so work on text is done once per distinct value and
//! joined back to the one column that needs it ([`looked_up`]); and a
//! fix-up that rarely applies is only run on the columns where some cell
//! needs it ([`columns_where`]).

use anyhow::Result;
use polars::prelude::*;

/// `frame`'s `column` joined to a per-distinct-value `table` (keyed by
/// `key`, one row per value), in `frame`'s row order, without copying the
/// rest of the frame.
pub fn looked_up(
    frame: &DataFrame,
    column: &str,
    table: DataFrame,
    key: &str,
) -> Result<DataFrame> {
    let aligned = frame
        .select([column])?
        .lazy()
        .join(
            table.lazy(),
            [col(column)],
            [col(key)],
            JoinArgs {
                maintain_order: MaintainOrderJoin::Left,
                ..JoinArgs::new(JoinType::Left)
            },
        )
        .collect()?;
    debug_assert_eq!(aligned.height(), frame.height());
    Ok(aligned)
}

/// The rows of `frame` where `predicate` holds, each column filtered in
/// place. polars' lazy filter cuts a wide frame into one part per thread;
/// a column added to its result afterwards has other chunk bounds, and
/// every later lazy step then re-aligns (copies) all columns.
pub fn filtered(frame: &DataFrame, predicate: Expr) -> Result<DataFrame> {
    let mask = frame
        .clone()
        .lazy()
        .select([predicate.alias("_keep")])
        .collect()?;
    filtered_by(frame, mask.column("_keep")?.bool()?)
}

/// [`filtered`] by a mask already made.
pub fn filtered_by(frame: &DataFrame, keep: &BooleanChunked) -> Result<DataFrame> {
    if keep.null_count() == 0 && keep.all() {
        // Every row: the frame as it is, not a copy (clean exports).
        return Ok(frame.clone());
    }
    Ok(frame.filter(keep)?)
}

/// Sets column `into` to `f` of `column`, evaluated once per distinct
/// value (for columns of a few repeated values: types, statuses, dates).
pub fn map_per_distinct(
    frame: &mut DataFrame,
    column: &str,
    into: &str,
    f: impl Fn(Expr) -> Expr,
) -> Result<()> {
    const KEY: &str = "_value";
    let values = frame.column(column)?;
    if values.dtype() == &DataType::String {
        // Coded in one pass over the text: about a fifth of the time of
        // the join below (checking 10M rows, perf).
        if let Some((codes, distinct)) = coded(values.str()?, MAX_MAPPED_VALUES) {
            let table = DataFrame::new_infer_height(vec![distinct.with_name(KEY.into()).into()])?
                .lazy()
                .with_column(f(col(KEY)).alias("_mapped"))
                .collect()?;
            let mapped = table.column("_mapped")?;
            // Mapped in place to what it was (lower-casing text that is
            // lower-case already): nothing to gather.
            if into == column && mapped.equals_missing(table.column(KEY)?) {
                return Ok(());
            }
            let mapped = mapped.take(&codes)?;
            frame.with_column(mapped.with_name(into.into()))?;
            return Ok(());
        }
    }
    let distinct = values.unique()?.with_name(KEY.into());
    let table = DataFrame::new_infer_height(vec![distinct])?
        .lazy()
        .with_column(f(col(KEY)).alias("_mapped"))
        .collect()?;
    let mapped = looked_up(frame, column, table, KEY)?;
    frame.with_column(mapped.column("_mapped")?.clone().with_name(into.into()))?;
    Ok(())
}

/// Text columns with more distinct values than this are mapped through a
/// join instead of codes.
const MAX_MAPPED_VALUES: usize = 1 << 16;

/// The codes of `text` into its distinct values (in order of first
/// appearance), or `None` when it has more than `max` of them.
pub fn coded(text: &StringChunked, max: usize) -> Option<(UInt32Chunked, Series)> {
    let mut coder = ViewCoder::new(max);
    let chunks: Vec<_> = text
        .downcast_iter()
        .map(|array| coder.codes(array))
        .collect::<Option<_>>()?;
    Some((
        UInt32Chunked::from_chunk_iter(text.name().clone(), chunks),
        Series::new(text.name().clone(), coder.distinct),
    ))
}

/// Codes text arrays into their distinct values. A row is matched by its
/// 16-byte view first (a short text is its view; copies of one long text,
/// as a reader or a gather makes them, share one) and only a view not seen
/// before is looked up by its text: hashing and comparing the text of
/// every row was most of the cost of coding a column (perf, 1M rows).
pub struct ViewCoder<'a> {
    max: usize,
    by_text: PlHashMap<&'a str, u32>,
    pub distinct: Vec<&'a str>,
}

/// Rows after which a chunk whose views rarely repeat (each text at a
/// place of its own) is coded by text alone.
const VIEW_TRIAL_ROWS: usize = 1 << 14;

impl<'a> ViewCoder<'a> {
    pub fn new(max: usize) -> Self {
        ViewCoder {
            max,
            by_text: PlHashMap::default(),
            distinct: Vec::new(),
        }
    }

    /// The codes of `array`'s rows (a missing row's code is 0 under its
    /// validity), or `None` once more than `max` distinct texts are seen.
    pub fn codes(
        &mut self,
        array: &'a polars_arrow::array::Utf8ViewArray,
    ) -> Option<polars_arrow::array::PrimitiveArray<u32>> {
        use polars_arrow::array::{Array, PrimitiveArray};
        let mut by_view: PlHashMap<u128, u32> = PlHashMap::default();
        let (mut use_views, mut view_hits) = (true, 0usize);
        let validity = array.validity();
        let mut codes: Vec<u32> = Vec::with_capacity(array.len());
        for (i, view) in array.views().iter().enumerate() {
            if validity.is_some_and(|v| !v.get_bit(i)) {
                codes.push(0);
                continue;
            }
            let view = view.as_u128();
            if use_views && i >= VIEW_TRIAL_ROWS && view_hits < VIEW_TRIAL_ROWS / 2 {
                use_views = false;
            }
            if use_views {
                if let Some(&code) = by_view.get(&view) {
                    view_hits += 1;
                    codes.push(code);
                    continue;
                }
            }
            // SAFETY: `i` is in bounds.
            let value = unsafe { array.value_unchecked(i) };
            let code = match self.by_text.get(value) {
                Some(&code) => code,
                None => {
                    if self.distinct.len() == self.max {
                        return None;
                    }
                    let code = self.distinct.len() as u32;
                    self.by_text.insert(value, code);
                    self.distinct.push(value);
                    code
                }
            };
            if use_views {
                by_view.insert(view, code);
            }
            codes.push(code);
        }
        Some(PrimitiveArray::new(
            polars_arrow::datatypes::ArrowDataType::UInt32,
            codes.into(),
            validity.cloned(),
        ))
    }
}

/// The first outcome of `cases` whose condition holds (`None`: missing),
/// else `otherwise`: a `when … then` chain of fixed texts, worked out on
/// integer codes and made text once. A chain of a dozen text outcomes made
/// a text column of every row a dozen times (pricing 1M rows: 150 ms).
pub fn text_case(cases: Vec<(Expr, Option<&str>)>, otherwise: &str) -> Expr {
    let mut names: Vec<String> = vec![otherwise.to_string()];
    let mut code_of = |text: Option<&str>| match text {
        None => lit(NULL).cast(IDX_DTYPE),
        Some(text) => {
            let code = match names.iter().position(|n| n == text) {
                Some(code) => code,
                None => {
                    names.push(text.to_string());
                    names.len() - 1
                }
            };
            lit(code as IdxSize)
        }
    };
    let mut codes = lit(0 as IdxSize);
    let coded: Vec<(Expr, Expr)> = cases
        .into_iter()
        .map(|(condition, text)| (condition, code_of(text)))
        .collect();
    for (condition, code) in coded.into_iter().rev() {
        codes = when(condition).then(code).otherwise(codes);
    }
    lit(Series::new("names".into(), names)).gather(codes, false)
}

/// The first day of a date's month: a month key with no text per row.
pub fn month_start(date: Expr) -> Expr {
    (date.clone().cast(DataType::Int32) - (date.dt().day().cast(DataType::Int32) - lit(1i32)))
        .cast(DataType::Date)
}

/// The columns of `names` in which `cell_test` is true for some row.
pub fn columns_where(
    frame: &DataFrame,
    names: &[String],
    cell_test: impl Fn(&str) -> Expr,
) -> Result<Vec<String>> {
    if names.is_empty() || frame.height() == 0 {
        return Ok(Vec::new());
    }
    let found = frame
        .clone()
        .lazy()
        .select(
            names
                .iter()
                .map(|c| cell_test(c).any(true).alias(c))
                .collect::<Vec<_>>(),
        )
        .collect()?;
    let mut hits = Vec::new();
    for name in names {
        if found.column(name)?.bool()?.get(0) == Some(true) {
            hits.push(name.clone());
        }
    }
    Ok(hits)
}

/// `frame` with its text in buffers of its own. A filtered or gathered
/// string column keeps pointing into the buffers of the column it came
/// from: a few rows kept from each part of a partitioned run would keep
/// every part's text alive.
pub fn detached(frame: DataFrame) -> Result<DataFrame> {
    let columns = frame
        .columns()
        .iter()
        .map(|c| -> Result<Column> {
            if c.dtype() != &DataType::String {
                return Ok(c.clone());
            }
            let text = c.str()?;
            let chunks: Vec<_> = text.downcast_iter().map(|a| a.clone().gc()).collect();
            Ok(StringChunked::from_chunk_iter(text.name().clone(), chunks).into_column())
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(DataFrame::new(frame.height(), columns)?)
}

/// How many rows of a boolean column are true.
pub fn count_true(frame: &DataFrame, column: &str) -> Result<u64> {
    Ok(frame.column(column)?.bool()?.num_trues() as u64)
}

/// The values of an integer column without nulls (a row number or a
/// count a driver gave), as `u64`.
pub fn u64_values(frame: &DataFrame, column: &str) -> Result<Vec<u64>> {
    Ok(frame
        .column(column)?
        .cast(&DataType::UInt64)?
        .u64()?
        .into_no_null_iter()
        .collect())
}

/// The frames one under the other, in one chunk per column.
pub fn stacked(frames: Vec<DataFrame>) -> anyhow::Result<DataFrame> {
    let mut frames = frames.into_iter();
    let mut all = frames
        .next()
        .ok_or_else(|| anyhow::anyhow!("nothing to stack: a run has at least one part"))?;
    for frame in frames {
        all.vstack_mut_owned(frame)?;
    }
    all.rechunk_mut_par();
    Ok(all)
}

/// Each null replaced by the last non-null value before it (a running
/// "latest" over a sorted frame).
pub fn ffill(e: Expr) -> Expr {
    e.fill_null_with_strategy(FillNullStrategy::Forward(None))
}

/// A share rounded to 4 decimals, null when there is nothing to divide.
pub fn share(part: u64, whole: u64) -> Option<f64> {
    signed_share(part as i64, whole as i64)
}

/// [`share`] of amounts that may be negative (net avoidable spend); null
/// unless the whole is positive.
pub fn signed_share(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 / whole as f64 * 10_000.0).round() / 10_000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_bytes(frame: &DataFrame) -> usize {
        frame
            .column("t")
            .unwrap()
            .str()
            .unwrap()
            .downcast_iter()
            .map(|a| a.total_buffer_len())
            .sum()
    }

    /// Few distinct values go through codes, many through the join: both
    /// give every row `f` of its value, and a missing value stays missing.
    #[test]
    fn a_value_mapped_per_distinct_is_the_value_mapped_per_row() {
        for distinct in [3, MAX_MAPPED_VALUES + 1] {
            let values: Vec<Option<String>> = (0..MAX_MAPPED_VALUES + 7)
                .map(|i| (i % 5 != 0).then(|| format!("V{}", i % distinct)))
                .collect();
            let mut frame = df!("v" => values).unwrap();
            map_per_distinct(&mut frame, "v", "lower", |v| v.str().to_lowercase()).unwrap();
            let expected = frame
                .clone()
                .lazy()
                .select([col("v").str().to_lowercase().alias("lower")])
                .collect()
                .unwrap();
            let lower = frame.column("lower").unwrap();
            assert!(lower.equals_missing(expected.column("lower").unwrap()));
        }
    }

    /// Rows coded by view and by text (long texts sharing a view, as a
    /// gather makes them, and each at a place of its own beyond the trial
    /// rows, so views are given up), with missing rows and two chunks.
    #[test]
    fn codes_index_each_rows_text_in_order_of_first_appearance() {
        let rows = 3 * VIEW_TRIAL_ROWS;
        let own_places: Vec<Option<String>> = (0..rows)
            .map(|i| (i % 7 != 0).then(|| format!("a text longer than a view {}", i % 5)))
            .collect();
        let mut text = StringChunked::from_iter_options("t".into(), own_places.into_iter());
        let few = StringChunked::new("t".into(), ["short", "a long text shared by view", "x"]);
        let gathered = IdxCa::from_vec("i".into(), (0..rows as IdxSize).map(|i| i % 3).collect());
        text.append(&few.take(&gathered).unwrap()).unwrap();
        assert_eq!(text.chunks().len(), 2);
        let (codes, distinct) = coded(&text, 16).unwrap();
        let decoded = distinct.take(&codes).unwrap();
        assert!(decoded.equals_missing(&text.clone().into_series()));
        let firsts: Vec<&str> = distinct.str().unwrap().iter().flatten().collect();
        assert_eq!(firsts.len(), 8);
        assert_eq!(firsts[0], "a text longer than a view 1");
        assert_eq!(&firsts[5..], ["short", "a long text shared by view", "x"]);
        assert!(
            coded(&text, 7).is_none(),
            "more distinct texts than the most"
        );
    }

    /// A case of fixed texts is the `when … then` chain of those texts:
    /// the first condition that holds decides, a missing condition does
    /// not hold, and a missing outcome is missing.
    #[test]
    fn a_text_case_is_its_when_then_chain() {
        let rows = 64;
        let flag = |bit: usize| -> Vec<Option<bool>> {
            (0..rows)
                .map(|i| (i % 7 != bit).then_some(i >> bit & 1 == 1))
                .collect()
        };
        let frame = df!("a" => flag(0), "b" => flag(1), "c" => flag(2)).unwrap();
        let cases = || {
            vec![
                (col("a"), None),
                (col("b"), Some("second")),
                (col("c").and(col("b").not()), Some("third")),
                (col("c"), Some("second")),
            ]
        };
        let chain = when(col("a"))
            .then(lit(NULL).cast(DataType::String))
            .when(col("b"))
            .then(lit("second"))
            .when(col("c").and(col("b").not()))
            .then(lit("third"))
            .when(col("c"))
            .then(lit("second"))
            .otherwise(lit("none"));
        let both = frame
            .lazy()
            .select([
                text_case(cases(), "none").alias("case"),
                chain.alias("chain"),
            ])
            .collect()
            .unwrap();
        assert_eq!(both.height(), rows);
        assert!(both
            .column("case")
            .unwrap()
            .equals_missing(both.column("chain").unwrap()));
    }

    /// In place, a mapping that changes nothing leaves the column as it
    /// was, and one that changes some value changes every row of it.
    #[test]
    fn a_column_mapped_in_place_is_the_column_mapped_per_row() {
        for first in ["already lower", "Not Lower"] {
            let values = [Some(first), None, Some("x"), Some(first)];
            let mut frame = df!("v" => values).unwrap();
            let expected = frame
                .clone()
                .lazy()
                .select([col("v").str().to_lowercase()])
                .collect()
                .unwrap();
            map_per_distinct(&mut frame, "v", "v", |v| v.str().to_lowercase()).unwrap();
            assert!(frame.equals_missing(&expected), "{first}");
        }
    }

    #[test]
    fn detached_rows_hold_only_their_own_text() {
        let long: Vec<String> = (0..10_000)
            .map(|i| format!("a long enough text {i:08}"))
            .collect();
        let frame = df!("t" => long, "n" => (0..10_000i64).collect::<Vec<_>>()).unwrap();
        let kept = filtered(&frame, col("n").lt(lit(2i64))).unwrap();
        assert!(text_bytes(&kept) > 100_000, "a filter keeps the buffers");
        let detached = detached(kept.clone()).unwrap();
        assert!(detached.equals(&kept));
        assert!(text_bytes(&detached) < 100, "{}", text_bytes(&detached));
    }
}
