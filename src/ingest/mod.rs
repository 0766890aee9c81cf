//! Reading message logs: paths in, one frame of raw string columns out.
//!
//! Takes the files and directories the user named, reads each with the
//! reader for its format, and returns every record as strings together with
//! where it came from (file, record number, physical line). Nothing is
//! interpreted here beyond what reading needs: a record that cannot be read
//! (wrong field count, invalid UTF-8, a line that is not JSON) is kept with an
//! `ingest_error`, so that `normalize` can reject it with the reason and every
//! row stays accounted for (docs §2, §8.13).

pub mod analytics;
mod csv;
pub mod mapping;
mod ndjson;
mod parquet;
mod send_log;
pub mod webhook;

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use polars::prelude::*;

use crate::bad_input;
use crate::schema::{self, VALUE_COLUMN_COUNT};
pub use mapping::Mapping;
pub use webhook::WebhookStats;

/// The formats a log file can have, told apart by extension (and, for
/// JSON lines, by the first line: see [`FormatChoice`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Ndjson,
    Parquet,
    Webhook,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Ndjson => "ndjson",
            Format::Parquet => "parquet",
            Format::Webhook => "webhook",
        }
    }
}

/// `--format`: how JSON-lines files are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FormatChoice {
    /// Webhook notifications when the first line has an `entry` or
    /// `object` key, flat rows otherwise.
    #[default]
    Auto,
    /// Flat rows with the columns of docs §2 (or a mapping's).
    Canonical,
    /// Cloud API webhook notifications, one per line.
    Webhook,
}

/// What a file is to the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A message log.
    Messages,
    /// Outbound send requests (`--send-log`) that complete webhook statuses.
    SendLog,
    /// The rows a previous run carried forward (`--continue-from`): read
    /// first, not an input of this run.
    State,
}

/// How to read the inputs of a run.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    pub input_tz: String,
    pub mapping: Mapping,
    pub format: FormatChoice,
    pub send_logs: Vec<PathBuf>,
    /// The name the message logs go by in every output instead of their
    /// path (the demo reads a log it keeps under another path).
    pub label: Option<String>,
    /// `--continue-from`: the previous run's carried rows (canonical
    /// Parquet, read before every input) and the ids it saw last (their
    /// copies here are duplicates).
    pub carried: Option<PathBuf>,
    pub recent_ids: Option<PathBuf>,
}

/// What a reader needs besides the bytes.
pub(crate) struct ReadSpec<'a> {
    pub mapping: &'a Mapping,
    pub required: &'a [&'a str],
    /// Whether a native Parquet timestamp is also wanted as text: send logs
    /// complete webhook rows with it; message logs only show it in
    /// `rejected.csv`, so theirs is formatted for rejected rows only.
    pub timestamp_text: bool,
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
    pub role: Role,
    pub rows: u64,
    /// Send-log rows that completed a webhook message (not rows of their own).
    pub merged: u64,
    pub webhook: Option<WebhookStats>,
}

/// Every record of every input, as raw string columns plus provenance.
pub struct Ingested {
    pub frame: DataFrame,
    pub files: Vec<FileRead>,
    pub warnings: Vec<String>,
}

impl Ingested {}

/// Send logs need only an id: everything else may come from the webhook
/// statuses they complete.
const SEND_LOG_REQUIRED: [&str; 1] = [schema::MESSAGE_ID];

/// Reads every input in order and concatenates the records; webhook
/// statuses are folded over all webhook files, then completed from the
/// send logs.
pub fn read_inputs(inputs: &[PathBuf], options: &ReadOptions) -> Result<Ingested> {
    let (mut files, mut message_files, mut warnings) = all_files(inputs, options)?;
    let carried = options.carried.is_some();
    if let Some(path) = &options.carried {
        let file = InputFile {
            path: path.clone(),
            format: Format::Parquet,
            gzip: false,
        };
        files.insert(0, file);
        message_files += 1;
    }
    let role_of = |index: usize| match index < message_files {
        true if carried && index == 0 => Role::State,
        true => Role::Messages,
        false => Role::SendLog,
    };
    let (frames, mut stats_of) = read_files(&files, &role_of, options, &mut warnings)?;
    let mut reads = Vec::with_capacity(files.len());
    let (mut messages, mut sends) = (Vec::new(), Vec::new());
    for (index, (file, frame)) in files.iter().zip(frames).enumerate() {
        let name = match role_of(index) {
            Role::Messages => shown_name(file, options),
            Role::SendLog | Role::State => file.path.display().to_string(),
        };
        let frame = add_provenance(frame, &name, index as u32)?;
        if frame.height() == 0 && std::fs::metadata(&file.path).is_ok_and(|m| m.len() == 0) {
            warnings.push(format!(
                "{name}: the file is empty (0 bytes); it has no rows"
            ));
        }
        reads.push(FileRead {
            path: name,
            format: file.format,
            role: role_of(index),
            rows: frame.height() as u64,
            merged: 0,
            webhook: stats_of[index].take(),
        });
        match role_of(index) {
            Role::Messages | Role::State => messages.push(frame),
            Role::SendLog => sends.push(frame),
        }
    }
    let mut frame = concat_frames(messages)?;
    if let Some(path) = &options.recent_ids {
        frame = with_recent_duplicates(frame, path)?;
    }
    if !sends.is_empty() {
        let merged;
        (frame, merged) = send_log::complete(frame, concat_frames(sends)?)?;
        for (index, n) in merged {
            reads[index as usize].merged = n;
        }
    }
    Ok(Ingested {
        frame,
        files: reads,
        warnings,
    })
}

/// Marks the rows whose id a previous run saw in its last 72 h: the same
/// message again, so a duplicate (§8.4) wherever it stands.
fn with_recent_duplicates(frame: DataFrame, path: &Path) -> Result<DataFrame> {
    let ids = ParquetReader::new(
        File::open(path).with_context(|| format!("cannot read {}", path.display()))?,
    )
    .finish()?;
    let ids = ids
        .column(schema::MESSAGE_ID)?
        .as_materialized_series()
        .clone();
    Ok(frame
        .lazy()
        .with_column(
            col(schema::MESSAGE_ID)
                .str()
                .strip_chars(lit(NULL))
                .is_in(lit(ids).implode(false), false)
                .fill_null(false)
                .alias(crate::normalize::FORCED_DUPLICATE),
        )
        .collect()?)
}

/// The message logs, then the send logs, of a run; how many of them are
/// message logs; warnings about files skipped.
fn all_files(
    inputs: &[PathBuf],
    options: &ReadOptions,
) -> Result<(Vec<InputFile>, usize, Vec<String>)> {
    let (mut files, mut warnings) = expand_inputs(inputs, options.format)?;
    if files.is_empty() {
        return Err(bad_input!(
            "no message log found in {}; give CSV, Parquet or NDJSON files",
            display_paths(inputs)
        ));
    }
    let message_files = files.len();
    let (send_files, send_warnings) = expand_inputs(&options.send_logs, FormatChoice::Canonical)?;
    warnings.extend(send_warnings);
    files.extend(send_files);
    Ok((files, message_files, warnings))
}

/// Every file's rows, in order; webhook files are folded together (a
/// message's notifications may be spread over them), with their counts.
fn read_files(
    files: &[InputFile],
    role_of: &dyn Fn(usize) -> Role,
    options: &ReadOptions,
    warnings: &mut Vec<String>,
) -> Result<(Vec<DataFrame>, Vec<Option<WebhookStats>>)> {
    let mut frames: Vec<Option<DataFrame>> = Vec::with_capacity(files.len());
    let mut webhooks = Vec::new();
    for (index, file) in files.iter().enumerate() {
        let name = file.path.display().to_string();
        if file.format == Format::Webhook {
            webhooks.push((index, webhook::parse(open_text(file, &name)?, &name)?));
            frames.push(None);
            continue;
        }
        let spec = match role_of(index) {
            Role::Messages => message_spec(options),
            Role::State => ReadSpec {
                mapping: &Mapping::identity(),
                required: &schema::REQUIRED_COLUMNS,
                timestamp_text: false,
            },
            Role::SendLog => ReadSpec {
                mapping: &Mapping::identity(),
                required: &SEND_LOG_REQUIRED,
                timestamp_text: true,
            },
        };
        frames.push(Some(read_file(file, &name, &options.input_tz, &spec)?));
    }
    let mut stats_of = vec![None; files.len()];
    let (indexes, parsed): (Vec<usize>, Vec<_>) = webhooks.into_iter().unzip();
    for (index, (frame, stats)) in indexes.into_iter().zip(webhook::fold(parsed)?) {
        warnings.extend(skipped_warning(&files[index].path, &stats));
        frames[index] = Some(frame);
        stats_of[index] = Some(stats);
    }
    let frames = frames
        .into_iter()
        .map(|f| f.expect("every file read"))
        .collect();
    Ok((frames, stats_of))
}

/// The message logs of a run when a pair-partitioned run can read them in
/// slices (`pipeline::source`): every one Parquet, and no send logs (they complete
/// rows by message id across the whole input). `None` otherwise; the
/// warnings are those `read_inputs` gives about skipped files.
pub fn sliceable_inputs(
    inputs: &[PathBuf],
    options: &ReadOptions,
) -> Result<Option<(Vec<InputFile>, Vec<String>)>> {
    // Send logs complete rows across the whole input; a continued run
    // reads the carried rows first.
    if !options.send_logs.is_empty() || options.carried.is_some() {
        return Ok(None);
    }
    let (files, warnings) = expand_inputs(inputs, options.format)?;
    if files.is_empty() || files.iter().any(|f| f.format != Format::Parquet) {
        return Ok(None);
    }
    Ok(Some((files, warnings)))
}

fn message_spec(options: &ReadOptions) -> ReadSpec<'_> {
    ReadSpec {
        mapping: &options.mapping,
        required: &schema::REQUIRED_COLUMNS,
        timestamp_text: false,
    }
}

/// Rows `[offset, offset + len)` of a Parquet message log, as
/// `read_inputs` reads them: raw strings with provenance (`index` is the
/// file's place among the inputs), columns in [`raw_columns`] order.
pub fn read_slice(
    file: &InputFile,
    index: u32,
    options: &ReadOptions,
    slice: (usize, usize),
) -> Result<DataFrame> {
    let name = shown_name(file, options);
    let spec = message_spec(options);
    let frame = parquet::read_rows(&file.path, &name, &options.input_tz, &spec, Some(slice))?;
    Ok(add_provenance(frame, &name, index)?.select(raw_columns())?)
}

/// What a driver that reads the logs itself (`pipeline::driven`) adds to
/// each row it hands over: the file's name as the outputs show it, the
/// file's place among the inputs, and the row's number in its file (from 1).
pub const DRIVEN_FILE: &str = "_source_file";
pub const DRIVEN_FILE_INDEX: &str = "_file_index";
pub const DRIVEN_ROW: &str = "_source_row";

/// A driver's batch (a Parquet log's columns as the driver read them, with
/// the [`DRIVEN_FILE`], [`DRIVEN_FILE_INDEX`] and [`DRIVEN_ROW`] columns)
/// as raw rows, exactly as [`read_inputs`] would have read those rows of
/// that file (a batch holds rows of one file: the mapping and the column
/// types are the file's).
pub fn driven_raw(batch: DataFrame, options: &ReadOptions) -> Result<DataFrame> {
    let name = match batch.column(DRIVEN_FILE)?.str()?.get(0) {
        Some(name) => name.to_string(),
        None => String::from("(driver batch)"),
    };
    let rows = crate::frames::u64_values(&batch, DRIVEN_ROW)?;
    let provenance = [
        batch
            .column(DRIVEN_FILE)?
            .clone()
            .with_name(schema::SOURCE_FILE.into()),
        batch
            .column(DRIVEN_FILE_INDEX)?
            .cast(&DataType::UInt32)?
            .with_name(schema::FILE_INDEX.into()),
    ];
    let log = batch.drop_many([DRIVEN_FILE, DRIVEN_FILE_INDEX, DRIVEN_ROW]);
    let raw = parquet::raw_rows(log, &name, &options.input_tz, &message_spec(options), rows)?;
    Ok(raw.hstack(&provenance)?.select(raw_columns())?)
}

/// Raw rows that went through a driver (which may have widened their
/// types: no unsigned integers in Spark) with the types [`read_inputs`]
/// gives them; the driver's other columns are kept after them.
pub fn raw_retyped(rows: DataFrame) -> Result<DataFrame> {
    let typed = |name: &str| -> DataType {
        match name {
            schema::SOURCE_ROW | schema::SOURCE_LINE => DataType::UInt64,
            schema::FILE_INDEX => DataType::UInt32,
            schema::TIMESTAMP_NATIVE => utc_micros(),
            _ => DataType::String,
        }
    };
    let raw = raw_columns();
    let columns: Vec<Expr> = rows
        .get_column_names()
        .iter()
        .map(|name| match raw.contains(&name.as_str()) {
            true => col(name.as_str()).cast(typed(name)),
            false => col(name.as_str()),
        })
        .collect();
    Ok(rows.lazy().select(columns).collect()?)
}

/// A message log as a run lists it: the name it goes by in the outputs,
/// its path and its format.
pub type ListedLog = (String, PathBuf, &'static str);

/// The message logs `inputs` name, in the order a run reads them, and the
/// warnings about files skipped.
pub fn message_logs(
    inputs: &[PathBuf],
    options: &ReadOptions,
) -> Result<(Vec<ListedLog>, Vec<String>)> {
    let (files, _, warnings) = all_files(inputs, options)?;
    let listed = files
        .iter()
        .map(|f| (shown_name(f, options), f.path.clone(), f.format.name()))
        .collect();
    Ok((listed, warnings))
}

/// The name a message log goes by in the outputs.
fn shown_name(file: &InputFile, options: &ReadOptions) -> String {
    match &options.label {
        Some(label) => label.clone(),
        None => file.path.display().to_string(),
    }
}

/// Only the raw `business_number` and `contact` of rows `[offset, offset +
/// len)` of a Parquet message log (a pair-partitioned run's first pass).
pub fn read_numbers(
    file: &InputFile,
    options: &ReadOptions,
    slice: (usize, usize),
) -> Result<DataFrame> {
    let name = file.path.display().to_string();
    let spec = message_spec(options);
    parquet::read_columns(
        &file.path,
        &name,
        &spec,
        &[schema::BUSINESS_NUMBER, schema::CONTACT],
        slice,
    )
}

/// The rows and uncompressed bytes of a Parquet file's row groups.
pub fn parquet_row_groups(file: &InputFile) -> Result<Vec<(usize, usize)>> {
    parquet::row_groups(&file.path, &file.path.display().to_string())
}

/// The accounting entry of a message log read in slices.
pub fn message_file_read(file: &InputFile, rows: u64, options: &ReadOptions) -> FileRead {
    FileRead {
        path: shown_name(file, options),
        format: file.format,
        role: Role::Messages,
        rows,
        merged: 0,
        webhook: None,
    }
}

fn skipped_warning(path: &Path, stats: &WebhookStats) -> Option<String> {
    if stats.skipped_changes.is_empty() && stats.value_errors == 0 {
        return None;
    }
    let mut parts: Vec<String> = stats
        .skipped_changes
        .iter()
        .map(|(field, n)| format!("{field}: {n}"))
        .collect();
    if stats.value_errors > 0 {
        parts.push(format!("value.errors: {}", stats.value_errors));
    }
    Some(format!(
        "{}: skipped webhook changes that are not messages ({})",
        path.display(),
        parts.join(", ")
    ))
}

/// Calls `each` with the number and bytes of every non-blank line; lines
/// are numbered from 1 as an editor shows them.
pub(crate) fn for_each_line(
    input: Box<dyn Read>,
    name: &str,
    mut each: impl FnMut(u64, &[u8]),
) -> Result<()> {
    let mut reader = BufReader::new(input);
    let mut line = Vec::new();
    let mut line_no = 0u64;
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| bad_input!("{name}: cannot be read ({e})"))?;
        if n == 0 {
            return Ok(());
        }
        line_no += 1;
        if !line.iter().all(u8::is_ascii_whitespace) {
            each(line_no, &line);
        }
    }
}

/// The fields of a line that could not be read: its first 200 characters
/// under `message_id`, so `rejected.csv` shows what it was.
pub(crate) fn unreadable_line(line: &[u8]) -> Vec<Option<String>> {
    let raw = String::from_utf8_lossy(line).trim().to_string();
    let mut fields = vec![None; VALUE_COLUMN_COUNT];
    fields[0] = Some(raw.chars().take(200).collect());
    fields
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
fn expand_inputs(
    inputs: &[PathBuf],
    choice: FormatChoice,
) -> Result<(Vec<InputFile>, Vec<String>)> {
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
                    Some(input) => files.push(refine_format(input, choice)?),
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
            files.push(refine_format(input, choice)?);
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

/// JSON lines are webhook notifications or flat rows: `--format` says, or
/// the first non-blank line does.
fn refine_format(mut input: InputFile, choice: FormatChoice) -> Result<InputFile> {
    if input.format != Format::Ndjson {
        return Ok(input);
    }
    let webhook = match choice {
        FormatChoice::Canonical => false,
        FormatChoice::Webhook => true,
        FormatChoice::Auto => {
            let name = input.path.display().to_string();
            let mut reader = BufReader::new(open_text(&input, &name)?);
            let mut line = String::new();
            loop {
                line.clear();
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => break false,
                    Ok(_) if line.trim().is_empty() => continue,
                    Ok(_) => break webhook::looks_like_webhook(line.trim()),
                }
            }
        }
    };
    if webhook {
        input.format = Format::Webhook;
    }
    Ok(input)
}

fn read_file(file: &InputFile, name: &str, input_tz: &str, spec: &ReadSpec) -> Result<DataFrame> {
    match file.format {
        Format::Csv => csv::read(open_text(file, name)?, name, spec),
        Format::Ndjson => ndjson::read(open_text(file, name)?, name, spec),
        Format::Parquet => parquet::read(&file.path, name, input_tz, spec),
        Format::Webhook => unreachable!("webhook files are folded together"),
    }
}

/// Reads one message log held in memory as `read_inputs` reads a file of
/// that format (webhook lines folded on their own), with provenance: the
/// fuzz targets and property tests feed parsers through here.
pub fn read_bytes(bytes: &[u8], name: &str, format: Format) -> Result<DataFrame> {
    let input = || -> Box<dyn Read> { Box::new(std::io::Cursor::new(bytes.to_vec())) };
    let spec = ReadSpec {
        mapping: &Mapping::identity(),
        required: &schema::REQUIRED_COLUMNS,
        timestamp_text: false,
    };
    let frame = match format {
        Format::Csv => csv::read(input(), name, &spec)?,
        Format::Ndjson => ndjson::read(input(), name, &spec)?,
        Format::Parquet => anyhow::bail!("{name}: Parquet is read from a file, not from memory"),
        Format::Webhook => {
            let parsed = webhook::parse(input(), name)?;
            let mut folded = webhook::fold(vec![parsed])?;
            folded
                .pop()
                .map(|(frame, _)| frame)
                .expect("one file folded")
        }
    };
    add_provenance(frame, name, 0)
}

/// Collects records as optional strings, one vector per value column.
pub(crate) struct RawBuilder {
    values: Vec<Vec<Option<String>>>,
    rows: Vec<u64>,
    lines: Vec<Option<u64>>,
    errors: Vec<Option<String>>,
}

impl RawBuilder {
    pub fn new() -> Self {
        RawBuilder {
            values: vec![Vec::new(); VALUE_COLUMN_COUNT],
            rows: Vec::new(),
            lines: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// `fields[i]` is the value of the i-th of `schema::value_columns`.
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
        let mut columns: Vec<Column> = schema::value_columns()
            .zip(self.values)
            .map(|(name, values)| Column::new(name.into(), values))
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
    let mut names: Vec<&'static str> = schema::value_columns().collect();
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
}
