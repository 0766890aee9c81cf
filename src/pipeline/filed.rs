//! Raw rows of a cut log in work files, their repetitive text as codes
//! (`pipeline::source`).
//!
//! Most text columns of a message log repeat a handful of values
//! (direction, type, status, category, template name, business number,
//! the file's name). A part's work file holds such a column as `UInt32`
//! codes into one dictionary per column for the whole run, so a part is
//! cut, written and read as integers, and made text again only when it is
//! checked ([`Dictionaries::decoded`]). Written as text, a 10M-row log cut
//! into files took 2.7 s more to cut than one held in memory
//! ([`super::held`]), and its parts took longer to read back.
//!
//! Which columns are coded is decided on the first slice read: a text
//! column whose distinct values there are few, both in number and
//! against its rows (so that a small first file does not mark its unique
//! message ids as repetitive). A work file has one schema, so the choice
//! holds for the run; a coded column that turns out to have many values
//! later is still coded exactly, one dictionary entry per distinct value.

use std::sync::Arc;

use anyhow::Result;
use polars::prelude::*;

use crate::frames;

/// A column is coded when the first slice has at most this many distinct
/// values in it ...
const MAX_CODED_VALUES: usize = 4096;
/// ... and at least this many rows per distinct value.
const MIN_ROWS_PER_VALUE: usize = 16;

/// The run's dictionaries while the log is cut: one per coded column.
pub struct Coder {
    columns: Vec<(PlSmallStr, Dictionary)>,
}

/// One column's distinct values, in order of first appearance.
#[derive(Default)]
struct Dictionary {
    index: PlHashMap<String, u32>,
    values: Vec<String>,
}

impl Dictionary {
    fn code_of(&mut self, value: &str) -> u32 {
        if let Some(&code) = self.index.get(value) {
            return code;
        }
        let code = self.values.len() as u32;
        self.index.insert(value.to_string(), code);
        self.values.push(value.to_string());
        code
    }

    /// The codes of `text`: coded within the slice first (by view, no
    /// allocation), then each distinct value looked up once.
    fn codes(&mut self, text: &StringChunked) -> UInt32Chunked {
        match frames::coded(text, MAX_CODED_VALUES) {
            Some((local, distinct)) => {
                let global: Vec<u32> = distinct
                    .str()
                    .expect("coded gives text")
                    .iter()
                    .map(|value| self.code_of(value.expect("distinct values are not null")))
                    .collect();
                // A missing value's slot holds a code of no meaning.
                local.apply_values(|code| global.get(code as usize).copied().unwrap_or(0))
            }
            None => text
                .iter()
                .map(|value| value.map(|v| self.code_of(v)))
                .collect::<UInt32Chunked>()
                .with_name(text.name().clone()),
        }
    }
}

impl Coder {
    /// A coder for the columns of `first` (the first slice) worth coding.
    pub fn new(first: &DataFrame) -> Coder {
        let columns = first
            .columns()
            .iter()
            .filter(|column| column.dtype() == &DataType::String)
            .filter(|column| {
                let max = MAX_CODED_VALUES.min(first.height() / MIN_ROWS_PER_VALUE);
                frames::coded(column.str().expect("a text column"), max.max(1)).is_some()
            })
            .map(|column| (column.name().clone(), Dictionary::default()))
            .collect();
        Coder { columns }
    }

    /// `raw` with its coded columns as codes; each column is coded on a
    /// thread of its own.
    pub fn encoded(&mut self, raw: DataFrame) -> Result<DataFrame> {
        let codes: Vec<Result<Column>> = std::thread::scope(|scope| {
            let threads: Vec<_> = self
                .columns
                .iter_mut()
                .map(|(name, dictionary)| {
                    let column = raw.column(name);
                    scope.spawn(move || -> Result<Column> {
                        Ok(dictionary.codes(column?.str()?).into_column())
                    })
                })
                .collect();
            threads
                .into_iter()
                .map(|t| {
                    t.join()
                        .map_err(|_| anyhow::anyhow!("a thread coding raw rows panicked"))?
                })
                .collect()
        });
        let mut raw = raw;
        for column in codes {
            raw.with_column(column?)?;
        }
        Ok(raw)
    }

    /// The dictionaries, complete once every slice is coded.
    pub fn finish(self) -> Dictionaries {
        Dictionaries::new(
            self.columns
                .into_iter()
                .map(|(name, dictionary)| {
                    let values = Series::new(name.clone(), dictionary.values);
                    (name, values)
                })
                .collect(),
        )
    }
}

/// Every coded column's values, which its codes index (the work files'
/// for the run, or a held slice's own: [`super::held::Compact`]).
#[derive(Clone, Default)]
pub struct Dictionaries(Arc<Vec<(PlSmallStr, Series)>>);

impl Dictionaries {
    /// Each named column's distinct values.
    pub fn new(values: Vec<(PlSmallStr, Series)>) -> Self {
        Dictionaries(Arc::new(values))
    }

    /// `frame` with the codes of its coded columns made text again.
    pub fn decoded(&self, mut frame: DataFrame) -> Result<DataFrame> {
        for (name, values) in self.0.iter() {
            let codes = frame.column(name)?.u32()?.clone();
            let text = values.take(&codes)?.with_name(name.clone());
            frame.with_column(text.into_column())?;
        }
        Ok(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slice(ids: std::ops::Range<usize>, kinds: &[Option<&str>]) -> DataFrame {
        let n = ids.len();
        df!(
            "id" => ids.map(|i| format!("m{i}")).collect::<Vec<_>>(),
            "kind" => (0..n).map(|i| kinds[i % kinds.len()]).collect::<Vec<_>>(),
            "number" => (0..n as u64).collect::<Vec<_>>(),
        )
        .unwrap()
    }

    #[test]
    fn coded_slices_decode_to_the_slices_they_were() {
        let first = slice(0..64, &[Some("text"), None, Some("template")]);
        // A later slice with values the first did not have, and one with
        // more distinct values than a slice is coded by view.
        let second = slice(64..96, &[Some("image"), Some("text")]);
        let many: Vec<String> = (0..MAX_CODED_VALUES + 5).map(|i| format!("k{i}")).collect();
        let many: Vec<Option<&str>> = many.iter().map(|k| Some(k.as_str())).collect();
        let third = slice(96..96 + many.len(), &many);
        let mut coder = Coder::new(&first);
        // The unique ids are not coded, the few kinds are.
        let coded: Vec<&str> = coder.columns.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(coded, ["kind"]);
        let encoded: Vec<DataFrame> = [&first, &second, &third]
            .into_iter()
            .map(|s| coder.encoded(s.clone()).unwrap())
            .collect();
        assert_eq!(
            encoded[0].column("kind").unwrap().dtype(),
            &DataType::UInt32
        );
        let dictionaries = coder.finish();
        for (encoded, original) in encoded.into_iter().zip([&first, &second, &third]) {
            let decoded = dictionaries.decoded(encoded).unwrap();
            assert!(decoded.equals_missing(original));
        }
    }

    #[test]
    fn a_small_first_slice_does_not_code_its_unique_values() {
        let first = slice(0..10, &[Some("text")]);
        let coder = Coder::new(&first);
        let coded: Vec<&str> = coder.columns.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(coded, ["kind"]);
    }
}
