//! Reading message logs: paths in, one frame of raw string columns out.
//!
//! Takes the files and directories the user named, reads each with the
//! reader for its format, and returns every record as strings together with
//! where it came from (file, record number, physical line). Nothing is
//! interpreted here beyond what reading needs: a record that cannot be read
//! (wrong field count, invalid UTF-8, a line that is not JSON) is kept with an
//! `ingest_error`, so that `normalize` can reject it with the reason and every
//! row stays accounted for (DOMAIN.md §2, §8.13).

mod csv;
mod ndjson;
mod parquet;

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use polars::prelude::*;

use crate::bad_input;
use crate::schema::{self, INPUT_COLUMNS};

/// The formats a log file can have, told apart by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Ndjson,
    Parquet,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Ndjson => "ndjson",
            Format::Parquet => "parquet",
        }
    }
}

/// One file to read.
#[derive(Debug, Clone)]
pub struct InputFile {
    pub path: PathBuf,
    pub format: Format,
    pub gzip: bool,
}

/// What was read from one file.
#[derive(Debug, Clone)]
pub struct FileRead {
    pub path: String,
    pub format: Format,
    pub rows: u64,
}

/// Every record of every input, as raw string columns plus provenance.
pub struct Ingested {
    pub frame: DataFrame,
    pub files: Vec<FileRead>,
    pub warnings: Vec<String>,
}

impl Ingested {
    /// Gives the only input file another name in every output (the demo
    /// reads a temporary file that it keeps under another path).
    pub fn renamed_single_input(mut self, name: &str) -> Result<Self> {
        for file in &mut self.files {
            file.path = name.to_string();
        }
        let height = self.frame.height();
        self.frame.with_column(Column::new_scalar(
            schema::SOURCE_FILE.into(),
            Scalar::new(DataType::String, AnyValue::StringOwned(name.into())),
            height,
        ))?;
        Ok(self)
    }
}

/// Reads every input in order and concatenates the records.
pub fn read_inputs(inputs: &[PathBuf], input_tz: &str) -> Result<Ingested> {
    let (files, mut warnings) = expand_inputs(inputs)?;
    if files.is_empty() {
        return Err(bad_input!(
            "no message log found in {}; give CSV, Parquet or NDJSON files",
            display_paths(inputs)
        ));
    }
    let mut frames = Vec::with_capacity(files.len());
    let mut reads = Vec::with_capacity(files.len());
    for (index, file) in files.iter().enumerate() {
        let name = file.path.display().to_string();
        let frame = read_file(file, &name, input_tz)?;
        let frame = add_provenance(frame, &name, index as u32)?;
        if frame.height() == 0 && std::fs::metadata(&file.path).is_ok_and(|m| m.len() == 0) {
            warnings.push(format!(
                "{name}: the file is empty (0 bytes); it has no rows"
            ));
        }
        reads.push(FileRead {
            path: name,
            format: file.format,
            rows: frame.height() as u64,
        });
        frames.push(frame);
    }
    let frame = concat_frames(frames)?;
    Ok(Ingested {
        frame,
        files: reads,
        warnings,
    })
}

fn display_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Files named directly must have a known format; files found inside a
/// directory are taken when their format is known and listed as skipped
/// otherwise, so that a README beside the logs does not stop the run.
fn expand_inputs(inputs: &[PathBuf]) -> Result<(Vec<InputFile>, Vec<String>)> {
    let mut files = Vec::new();
    let mut warnings = Vec::new();
    for path in inputs {
        let meta = std::fs::metadata(path)
            .map_err(|e| bad_input!("{}: cannot read it ({e})", path.display()))?;
        if meta.is_dir() {
            let mut found = Vec::new();
            walk_dir(path, &mut found)?;
            found.sort_by(|a, b| {
                a.as_os_str()
                    .as_encoded_bytes()
                    .cmp(b.as_os_str().as_encoded_bytes())
            });
            for file in found {
                match detect_format(&file) {
                    Some(input) => files.push(input),
                    None => warnings.push(format!(
                        "{}: skipped, not a .csv, .parquet or .ndjson file",
                        file.display()
                    )),
                }
            }
        } else {
            let input = detect_format(path).ok_or_else(|| {
                bad_input!(
                    "{}: unknown format; name the file .csv, .parquet, .ndjson, .jsonl or .json (.gz for csv and ndjson)",
                    path.display()
                )
            })?;
            files.push(input);
        }
    }
    Ok((files, warnings))
}

fn walk_dir(dir: &Path, found: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| bad_input!("{}: cannot list the directory ({e})", dir.display()))?;
    for entry in entries {
        let path = entry
            .with_context(|| format!("listing {}", dir.display()))?
            .path();
        if path.is_dir() {
            walk_dir(&path, found)?;
        } else {
            found.push(path);
        }
    }
    Ok(())
}

pub fn detect_format(path: &Path) -> Option<InputFile> {
    let name = path.file_name()?.to_str()?.to_ascii_lowercase();
    let (stem, gzip) = match name.strip_suffix(".gz") {
        Some(stem) => (stem.to_string(), true),
        None => (name, false),
    };
    let ext = stem.rsplit_once('.')?.1;
    let format = match ext {
        "csv" => Format::Csv,
        "ndjson" | "jsonl" | "json" => Format::Ndjson,
        "parquet" | "pq" if !gzip => Format::Parquet,
        _ => return None,
    };
    Some(InputFile {
        path: path.to_path_buf(),
        format,
        gzip,
    })
}

fn open_text(file: &InputFile, name: &str) -> Result<Box<dyn Read>> {
    let handle = File::open(&file.path).map_err(|e| bad_input!("{name}: cannot open it ({e})"))?;
    let reader = BufReader::with_capacity(1 << 20, handle);
    Ok(if file.gzip {
        Box::new(flate2::read::MultiGzDecoder::new(reader))
    } else {
        Box::new(reader)
    })
}

fn read_file(file: &InputFile, name: &str, input_tz: &str) -> Result<DataFrame> {
    match file.format {
        Format::Csv => csv::read(open_text(file, name)?, name),
        Format::Ndjson => ndjson::read(open_text(file, name)?, name),
        Format::Parquet => parquet::read(&file.path, name, input_tz),
    }
}

/// Names the required columns a file lacks, and lists what it has.
pub(crate) fn check_required(name: &str, found: &[String]) -> Result<()> {
    let missing: Vec<&str> = schema::REQUIRED_COLUMNS
        .iter()
        .copied()
        .filter(|c| !found.iter().any(|f| f == c))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(bad_input!(
        "{name}: missing required column(s) {}; columns found: {}. Rename the columns to the names in DOMAIN.md §2",
        missing.join(", "),
        if found.is_empty() { "none".to_string() } else { found.join(", ") }
    ))
}

/// Collects records as optional strings, one vector per canonical column.
pub(crate) struct RawBuilder {
    values: Vec<Vec<Option<String>>>,
    rows: Vec<u64>,
    lines: Vec<Option<u64>>,
    errors: Vec<Option<String>>,
}

impl RawBuilder {
    pub fn new() -> Self {
        RawBuilder {
            values: vec![Vec::new(); INPUT_COLUMNS.len()],
            rows: Vec::new(),
            lines: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// `fields[i]` is the value of `INPUT_COLUMNS[i]`.
    pub fn push(&mut self, fields: Vec<Option<String>>, line: Option<u64>, error: Option<String>) {
        for (column, value) in self.values.iter_mut().zip(fields) {
            column.push(value);
        }
        self.rows.push(self.rows.len() as u64 + 1);
        self.lines.push(line);
        self.errors.push(error);
    }

    pub fn finish(self) -> Result<DataFrame> {
        let height = self.rows.len();
        let mut columns: Vec<Column> = INPUT_COLUMNS
            .iter()
            .zip(self.values)
            .map(|(name, values)| Column::new((*name).into(), values))
            .collect();
        columns.push(Column::new(schema::SOURCE_ROW.into(), self.rows));
        columns.push(Column::new(schema::SOURCE_LINE.into(), self.lines));
        columns.push(Column::new(schema::INGEST_ERROR.into(), self.errors));
        columns.push(Column::full_null(
            schema::TIMESTAMP_NATIVE.into(),
            height,
            &utc_micros(),
        ));
        Ok(DataFrame::new(height, columns)?)
    }
}

pub fn utc_micros() -> DataType {
    DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC))
}

fn add_provenance(frame: DataFrame, name: &str, index: u32) -> Result<DataFrame> {
    let height = frame.height();
    let mut frame = frame;
    frame.with_column(Column::new_scalar(
        schema::SOURCE_FILE.into(),
        Scalar::new(DataType::String, AnyValue::StringOwned(name.into())),
        height,
    ))?;
    frame.with_column(Column::new_scalar(
        schema::FILE_INDEX.into(),
        Scalar::new(DataType::UInt32, AnyValue::UInt32(index)),
        height,
    ))?;
    Ok(frame)
}

/// The column order every reader's frame has, so frames stack.
pub fn raw_columns() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = INPUT_COLUMNS.to_vec();
    names.extend([
        schema::SOURCE_ROW,
        schema::SOURCE_LINE,
        schema::INGEST_ERROR,
        schema::TIMESTAMP_NATIVE,
        schema::SOURCE_FILE,
        schema::FILE_INDEX,
    ]);
    names
}

fn concat_frames(frames: Vec<DataFrame>) -> Result<DataFrame> {
    let order = raw_columns();
    let mut stacked: Option<DataFrame> = None;
    for frame in frames {
        let frame = frame.select(order.iter().copied())?;
        match stacked.as_mut() {
            None => stacked = Some(frame),
            Some(all) => {
                all.vstack_mut(&frame)?;
            }
        }
    }
    let mut all = stacked.expect("at least one file");
    all.rechunk_mut_par();
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_by_extension() {
        let f = |p: &str| detect_format(Path::new(p)).map(|i| (i.format, i.gzip));
        assert_eq!(f("a/log.CSV"), Some((Format::Csv, false)));
        assert_eq!(f("log.csv.gz"), Some((Format::Csv, true)));
        assert_eq!(f("log.jsonl"), Some((Format::Ndjson, false)));
        assert_eq!(f("log.parquet"), Some((Format::Parquet, false)));
        assert_eq!(f("log.parquet.gz"), None);
        assert_eq!(f("README.md"), None);
    }

    #[test]
    fn missing_columns_are_named_with_what_was_found() {
        let found = vec!["message_id".to_string(), "phone".to_string()];
        let err = check_required("x.csv", &found).unwrap_err().to_string();
        assert!(err.contains("contact, direction, timestamp, type"), "{err}");
        assert!(err.contains("columns found: message_id, phone"), "{err}");
    }
}
