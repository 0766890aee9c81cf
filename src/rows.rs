//! Tables with a row per message, send or window, held in memory or (a
//! run cut into parts, `pipeline::source`) as one Parquet file per part in the
//! run's work directory.
//!
//! The report reads such a table through [`Rows::lazy`] (aggregates: only
//! the columns a query names are read) or part by part
//! ([`Rows::for_each_part`]: the row tables, written as they are read), so
//! a run over 100M messages never holds them all at once.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use polars::prelude::*;

/// A table: a frame, or parts on disk, in order.
#[derive(Clone)]
pub enum Rows {
    Frame(DataFrame),
    Parts(Arc<Parts>),
}

/// The files of a table written part by part.
pub struct Parts {
    paths: Vec<PathBuf>,
    heights: Vec<usize>,
    dir: Arc<WorkDir>,
    /// New values of a few columns for a few rows (by [`ROW`]), applied
    /// as the parts are read: a partitioned run learns the free tier of
    /// the whole run after its parts are written.
    patch: Option<DataFrame>,
}

/// The place of a row in its table (0 for the first row of the first
/// part), by which a patch names the rows it changes: an integer key, so
/// that the many scans of a patched table join on integers. Joined on
/// message ids (text), the patch of a 10M-row run made its report after
/// the parts take 13.2 s instead of the 6.6 s it took with no patch; on
/// integers, its summing up and charts took about 1 s less than on text.
pub const ROW: &str = "_row";

impl Parts {
    /// All the files in one scan, as they were written.
    fn scan_unpatched(&self) -> LazyFrame {
        // One scan of all the files (a union of one scan per file
        // miscounts `COUNT(*)` in polars 0.55).
        LazyFrame::scan_parquet_files(ref_paths(&self.paths).into(), Default::default())
            .expect("part files written by this run")
    }

    fn read(&self, index: usize) -> Result<DataFrame> {
        let part = read_parquet(&self.paths[index])?;
        match &self.patch {
            None => Ok(part),
            Some(patch) => {
                let first: usize = self.heights[..index].iter().sum();
                patched_part(part, patch, first)
            }
        }
    }
}

/// `part`, the rows of a table from its row `first` on, with the columns
/// of `patch` replaced where its [`ROW`] names one of them: what
/// [`patched`] does to a lazy scan, for a frame in hand, by each patched
/// row's place rather than a join (joining every part's rows to the patch
/// took as long as reading the part).
fn patched_part(mut part: DataFrame, patch: &DataFrame, first: usize) -> Result<DataFrame> {
    let end = first + part.height();
    let mut at: Vec<Option<IdxSize>> = vec![None; part.height()];
    let mut any = false;
    for (i, row) in patch.column(ROW)?.idx()?.iter().enumerate() {
        if let Some(row) = row.map(|r| r as usize).filter(|r| (first..end).contains(r)) {
            at[row - first] = Some(i as IdxSize);
            any = true;
        }
    }
    if !any {
        return Ok(part);
    }
    let at = IdxCa::from_iter_options(ROW.into(), at.into_iter());
    let is_patched = at.is_not_null();
    for new in patch.columns().iter().filter(|c| c.name() != ROW) {
        let old = part.column(new.name())?;
        let replaced = new
            .take(&at)?
            .cast(old.dtype())?
            .zip_with(&is_patched, old)?;
        part.with_column(replaced)?;
    }
    Ok(part)
}

const PATCHED: &str = "_patched";

/// `rows` (with a [`ROW`] column, which goes) with the columns of `patch`
/// replaced where its [`ROW`] matches (row order kept).
pub(crate) fn patched(rows: LazyFrame, patch: &DataFrame) -> LazyFrame {
    let names: Vec<String> = patch
        .get_column_names()
        .into_iter()
        .filter(|n| n.as_str() != ROW)
        .map(|n| n.to_string())
        .collect();
    let new = |n: &str| format!("_new_{n}");
    let mut right = vec![col(ROW), lit(true).alias(PATCHED)];
    right.extend(names.iter().map(|n| col(n.as_str()).alias(new(n))));
    let joined = rows.join(
        patch.clone().lazy().select(right),
        [col(ROW)],
        [col(ROW)],
        JoinArgs {
            maintain_order: MaintainOrderJoin::Left,
            ..JoinArgs::new(JoinType::Left)
        },
    );
    let replaced: Vec<Expr> = names
        .iter()
        .map(|n| {
            when(col(PATCHED).is_not_null())
                .then(col(new(n)))
                .otherwise(col(n.as_str()))
                .alias(n.as_str())
        })
        .collect();
    let mut helpers = vec![PATCHED.to_string(), ROW.to_string()];
    helpers.extend(names.iter().map(|n| new(n)));
    joined.with_columns(replaced).drop(cols(helpers))
}

impl From<DataFrame> for Rows {
    fn from(frame: DataFrame) -> Self {
        Rows::Frame(frame)
    }
}

impl Rows {
    /// The whole table, lazily (parts are scanned, not read).
    pub fn lazy(self) -> LazyFrame {
        match self {
            Rows::Frame(frame) => frame.lazy(),
            Rows::Parts(parts) => match &parts.patch {
                None => parts.scan_unpatched(),
                Some(patch) => patched(parts.scan_unpatched().with_row_index(ROW, None), patch),
            },
        }
    }

    pub fn height(&self) -> usize {
        match self {
            Rows::Frame(frame) => frame.height(),
            Rows::Parts(parts) => parts.heights.iter().sum(),
        }
    }

    /// Calls `each` with every part in order (a frame is one part);
    /// `each` learns whether the part is the first.
    pub fn for_each_part(&self, mut each: impl FnMut(DataFrame, bool) -> Result<()>) -> Result<()> {
        match self {
            Rows::Frame(frame) => each(frame.clone(), true),
            Rows::Parts(parts) => {
                for i in 0..parts.paths.len() {
                    each(parts.read(i)?, i == 0)?;
                }
                Ok(())
            }
        }
    }

    /// [`Rows::for_each_part`] reading only `columns` (those present) of
    /// each part: far less to decode when the parts are on disk. The
    /// columns must be ones no patch changes (they are read unpatched).
    pub fn for_each_part_of(
        &self,
        columns: &[&str],
        mut each: impl FnMut(DataFrame) -> Result<()>,
    ) -> Result<()> {
        match self {
            Rows::Frame(frame) => {
                let schema = frame.schema();
                each(frame.select(columns.iter().filter(|c| schema.contains(c)).copied())?)
            }
            Rows::Parts(parts) => {
                for path in &parts.paths {
                    let file =
                        File::open(path).with_context(|| format!("reading {}", path.display()))?;
                    let mut reader = ParquetReader::new(file);
                    let schema = reader.schema()?;
                    let wanted = columns
                        .iter()
                        .filter(|c| schema.contains(c))
                        .map(|c| c.to_string())
                        .collect();
                    let projected = reader.with_columns(Some(wanted)).finish()?;
                    each(projected)?;
                }
                Ok(())
            }
        }
    }

    /// Every part in order, read as it is reached.
    pub fn iter_parts(&self) -> Box<dyn Iterator<Item = Result<DataFrame>> + '_> {
        match self {
            Rows::Frame(frame) => Box::new(std::iter::once(Ok(frame.clone()))),
            Rows::Parts(parts) => Box::new((0..parts.paths.len()).map(|i| parts.read(i))),
        }
    }

    /// `f` of every part: a frame for a frame, new parts for parts.
    pub fn map_parts(
        &self,
        name: &str,
        mut f: impl FnMut(DataFrame) -> Result<DataFrame>,
    ) -> Result<Rows> {
        match self {
            Rows::Frame(frame) => Ok(Rows::Frame(f(frame.clone())?)),
            Rows::Parts(parts) => {
                let mut out = PartsWriter::new(&parts.dir, name);
                for i in 0..parts.paths.len() {
                    out.push(f(parts.read(i)?)?)?;
                }
                out.finish()
            }
        }
    }

    /// [`Rows::map_parts`] for an `f` that makes two tables of each part
    /// (read once for both).
    pub fn map_parts_paired(
        &self,
        names: [&str; 2],
        mut f: impl FnMut(DataFrame) -> Result<(DataFrame, DataFrame)>,
    ) -> Result<(Rows, Rows)> {
        match self {
            Rows::Frame(frame) => {
                let (a, b) = f(frame.clone())?;
                Ok((Rows::Frame(a), Rows::Frame(b)))
            }
            Rows::Parts(parts) => {
                let mut a = PartsWriter::new(&parts.dir, names[0]);
                let mut b = PartsWriter::new(&parts.dir, names[1]);
                for i in 0..parts.paths.len() {
                    let (x, y) = f(parts.read(i)?)?;
                    a.push(x)?;
                    b.push(y)?;
                }
                Ok((a.finish()?, b.finish()?))
            }
        }
    }

    /// The whole table in memory (for small tables and tests).
    pub fn to_frame(&self) -> Result<DataFrame> {
        match self {
            Rows::Frame(frame) => Ok(frame.clone()),
            Rows::Parts(_) => Ok(self.clone().lazy().collect()?),
        }
    }
}

impl Drop for Parts {
    fn drop(&mut self) {
        // A table's files go with it: a 100M-row run makes several.
        for path in &self.paths {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// How the report collects its queries: with polars' streaming engine,
/// which reads a table's parts as it goes, so that an aggregate over 50M
/// sends holds its groups, not the rows.
pub trait Streamed {
    fn streamed(self) -> PolarsResult<DataFrame>;
}

impl Streamed for LazyFrame {
    fn streamed(self) -> PolarsResult<DataFrame> {
        Ok(self.collect_with_engine(Engine::Streaming)?.unwrap_single())
    }
}

/// What the report's aggregates read: a frame or [`Rows`].
pub trait Table {
    /// The table, lazily.
    fn scan(&self) -> LazyFrame;
    fn rows(&self) -> usize;

    /// The table, lazily, for a query that reads no column but those
    /// `exprs` name: a table in parts then skips its patch when the query
    /// reads no column the patch changes.
    fn scan_for(&self, exprs: &[Expr]) -> LazyFrame {
        let _ = exprs;
        self.scan()
    }
}

impl Table for DataFrame {
    fn scan(&self) -> LazyFrame {
        self.clone().lazy()
    }

    fn rows(&self) -> usize {
        self.height()
    }
}

impl Table for Rows {
    fn scan(&self) -> LazyFrame {
        self.clone().lazy()
    }

    fn rows(&self) -> usize {
        self.height()
    }

    /// Joining the patch to every row is most of a narrow scan's time
    /// (10M messages: the data-quality counts took 0.93 s with it), and
    /// most scans read no priced column.
    fn scan_for(&self, exprs: &[Expr]) -> LazyFrame {
        if let Rows::Parts(parts) = self {
            if let Some(patch) = &parts.patch {
                let patched = patch.get_column_names();
                let reads_patched = exprs
                    .iter()
                    .flat_map(|e| e.clone().meta().root_names())
                    .any(|name| patched.contains(&&name));
                if !reads_patched {
                    return parts.scan_unpatched();
                }
            }
        }
        self.scan()
    }
}

/// How many rows of the table match `predicate`.
pub fn count_where(frame: &impl Table, predicate: Expr) -> Result<u64> {
    Ok(counts_where(frame, vec![predicate])?[0])
}

/// How many rows match each predicate, in one scan of the table (a run in
/// parts reads its files once, not once per count).
pub fn counts_where(frame: &impl Table, predicates: Vec<Expr>) -> Result<Vec<u64>> {
    let sums: Vec<Expr> = predicates
        .into_iter()
        .enumerate()
        .map(|(i, p)| p.cast(DataType::UInt64).sum().alias(format!("n{i}")))
        .collect();
    let n = sums.len();
    let out = frame.scan_for(&sums).select(sums).streamed()?;
    (0..n)
        .map(|i| Ok(out.column(&format!("n{i}"))?.u64()?.get(0).unwrap_or(0)))
        .collect()
}

/// Paths as polars' scans take them.
fn ref_paths(paths: &[PathBuf]) -> Vec<PlRefPath> {
    paths
        .iter()
        .map(|p| PlRefPath::new(p.to_string_lossy().as_ref()))
        .collect()
}

/// A part of a table, whole.
fn read_parquet(path: &Path) -> Result<DataFrame> {
    let file = File::open(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(ParquetReader::new(file).finish()?)
}

/// How the parts of a table are written: Parquet, which the report scans
/// many times (a column at a time, compact); LZ4 and no statistics, for
/// speed. Arrow IPC work files ([`WorkFileWriter`]) instead, cheaper to
/// write, made the report's scans far slower: 59 s against 41 s for 10M
/// rows (building the tables 11 s against 5 s, summing up 9 s against 3 s).
/// Every text column plain-encoded, which skips building dictionaries,
/// made the report's scans slower by more (8.4-9.5 s against 5.6-5.9 s).
///
/// So each column is written as polars' writer would, except:
/// - the [`PLAIN_COLUMNS`] columns, (nearly) one value per row, are written
///   plain: polars hashed every value to estimate how many there are (and
///   built a dictionary of the window openers, a third as many as rows);
/// - a text column of few values gets its dictionary from
///   [`view_coded`], which hashes 16-byte views, not text: encoding the
///   parts of 10M messages took a fifth of the run's CPU, most of it
///   hashing text into dictionaries.
fn write_part(frame: &mut DataFrame, file: File) -> Result<()> {
    frame.rechunk_mut_par();
    let mut writer = ParquetGroups::new(file, frame.schema())?;
    let mut offset = 0;
    while offset < frame.height() {
        let group = frame.slice(offset as i64, PART_ROW_GROUP);
        offset += group.height();
        writer.write_group(&group)?;
    }
    writer.finish()
}

/// A Parquet file written a row group at a time (a group per chunk of
/// the frames given), each column encoded as [`write_part`] says.
pub(crate) struct ParquetGroups {
    writer: polars_parquet::write::FileWriter<File>,
    plain: Vec<bool>,
    encodings: Vec<Vec<polars_parquet::write::Encoding>>,
    options: polars_parquet::write::WriteOptions,
}

impl ParquetGroups {
    pub fn new(file: File, schema: &Schema) -> Result<Self> {
        use polars_parquet::write::{
            get_dtype_encoding, CompressionOptions, Encoding, FileWriter, StatisticsOptions,
            Version, WriteOptions,
        };
        let schema = schema.to_arrow(CompatLevel::newest());
        let plain: Vec<bool> = schema
            .iter_values()
            .map(|field| PLAIN_COLUMNS.contains(&field.name.as_str()))
            .collect();
        let encodings = schema
            .iter_values()
            .zip(&plain)
            .map(|(field, &plain)| match plain {
                true => vec![Encoding::Plain],
                false => get_dtype_encoding(&field.dtype),
            })
            .collect();
        let options = WriteOptions {
            statistics: StatisticsOptions::empty(),
            version: Version::V1,
            compression: CompressionOptions::Lz4Raw,
            data_page_size: None,
        };
        Ok(ParquetGroups {
            writer: FileWriter::try_new(file, schema, options)?,
            plain,
            encodings,
            options,
        })
    }

    /// Writes each chunk of `rows` (its columns cut alike) as a row group.
    pub fn write_group(&mut self, rows: &DataFrame) -> Result<()> {
        for batch in rows.iter_chunks(CompatLevel::newest(), false) {
            let height = batch.len() as u64;
            let arrays: Vec<Box<dyn polars_arrow::array::Array>> = batch
                .into_arrays()
                .into_iter()
                .zip(&self.plain)
                .map(|(array, &plain)| match plain {
                    true => array,
                    false => view_coded(array.as_ref()).unwrap_or(array),
                })
                .collect();
            let batch = polars_arrow::record_batch::RecordBatchT::new(
                height as usize,
                self.writer.schema().clone().into(),
                arrays,
            );
            let fields = self.writer.parquet_schema().fields().to_vec();
            let groups = polars_parquet::write::row_group_iter(
                batch,
                self.encodings.clone().into(),
                fields,
                self.options,
            );
            self.writer.write(height, groups)?;
        }
        Ok(())
    }

    pub fn finish(mut self) -> Result<()> {
        self.writer.end(None)?;
        Ok(())
    }
}

/// Columns of (nearly) one value per row: written plain. (The windows'
/// and conversations' openers are named as text: `windows` and `pricing`
/// are stages, above this module.)
const PLAIN_COLUMNS: [&str; 4] = [
    crate::schema::MESSAGE_ID,
    "window_opener",
    "conversation_opener",
    crate::schema::WINDOW_ID,
];

/// Rows per row group of a part file, as polars' writer cuts them.
const PART_ROW_GROUP: usize = 512 * 512;

/// A text column of at most this many values is written with the
/// dictionary [`view_coded`] makes.
const MAX_VIEW_CODED: usize = 1 << 12;

/// `array` as a dictionary of its distinct texts, when it is text with at
/// most [`MAX_VIEW_CODED`] of them (coded by view first,
/// [`crate::frames::ViewCoder`]).
fn view_coded(
    array: &dyn polars_arrow::array::Array,
) -> Option<Box<dyn polars_arrow::array::Array>> {
    use polars_arrow::array::{DictionaryArray, Utf8ViewArray};
    use polars_arrow::datatypes::{ArrowDataType, IntegerType};
    let text = array.as_any().downcast_ref::<Utf8ViewArray>()?;
    let mut coder = crate::frames::ViewCoder::new(MAX_VIEW_CODED);
    let keys = coder.codes(text)?;
    let distinct = coder.distinct;
    let values = Utf8ViewArray::from_slice_values(&distinct);
    let dtype = ArrowDataType::Dictionary(
        IntegerType::UInt32,
        Box::new(ArrowDataType::Utf8View),
        false,
    );
    DictionaryArray::try_new(dtype, keys, values.boxed())
        .ok()
        .map(|d| d.boxed())
}

/// A work file written once and read once (the raw rows of a part,
/// `pipeline::source`), lazily: only the columns and rows a query asks for are
/// read.
pub(crate) fn scan_work_files(paths: &[PathBuf]) -> Result<LazyFrame> {
    let options = IpcScanOptions {
        // SAFETY: a work file is written by this run ([`WorkFileWriter`])
        // from polars' own string columns, which are valid UTF-8, into a
        // directory of its own; checking every string again as it is read
        // cost more than the read itself (perf, 9.7M rows).
        checked: unsafe { polars::polars_utils::bool::UnsafeBool::new_false() },
        ..IpcScanOptions::default()
    };
    LazyFrame::scan_ipc_sources(
        ScanSources::Paths(ref_paths(paths).into()),
        options,
        UnifiedScanArgs::default(),
    )
    .map_err(|e| anyhow::anyhow!("reading the work files of this run: {e}"))
}

/// A work file, whole.
pub(crate) fn read_work_file(path: &Path) -> Result<DataFrame> {
    Ok(scan_work_files(&[path.to_path_buf()])?.collect()?)
}

/// A work file written a batch at a time: Arrow IPC, LZ4-compressed. Such
/// a file is written once and read once, on the same machine: as Parquet,
/// its dictionary and RLE encoding took a third of the time of cutting
/// 9.7M rows into parts (perf); uncompressed, it took 10x the disk (text
/// views are 16 bytes a cell), which at 100M rows is tens of gigabytes.
pub(crate) struct WorkFileWriter(polars::io::ipc::BatchedWriter<File>);

impl WorkFileWriter {
    pub fn create(path: &Path, schema: &Schema) -> Result<Self> {
        let file = File::create(path).with_context(|| format!("writing {}", path.display()))?;
        let arrow = schema.to_arrow(CompatLevel::newest());
        let fields = polars_arrow::io::ipc::write::default_ipc_fields(arrow.iter_values());
        let writer = IpcWriter::new(file).with_compression(Some(IpcCompression::LZ4));
        Ok(WorkFileWriter(writer.batched(schema, fields)?))
    }

    pub fn write(&mut self, batch: DataFrame) -> Result<()> {
        // The IPC writer writes every text buffer a column points into,
        // not only the bytes of its rows: a batch cut from a larger frame
        // gets buffers of its own first (else each part's file held every
        // slice's text again, 10x the bytes on 9.7M rows). It also takes a
        // frame's chunks as record batches: its columns must be cut alike.
        let mut batch = crate::frames::detached(batch)?;
        batch.align_chunks_par();
        Ok(self.0.write_batch(&batch)?)
    }

    pub fn finish(mut self) -> Result<()> {
        Ok(self.0.finish()?)
    }
}

/// Writes a table part by part into a work directory.
pub struct PartsWriter {
    dir: Arc<WorkDir>,
    name: String,
    paths: Vec<PathBuf>,
    heights: Vec<usize>,
    /// The part being written, on a thread of its own: encoding a part as
    /// Parquet took a third of each part's turn in the chain (10M rows),
    /// and the next part's stages need not wait for it.
    writing: Option<std::thread::JoinHandle<Result<()>>>,
}

impl PartsWriter {
    pub fn new(dir: &Arc<WorkDir>, name: &str) -> Self {
        PartsWriter {
            dir: dir.clone(),
            name: format!("{name}-{}", dir.next_table()),
            paths: Vec::new(),
            heights: Vec::new(),
            writing: None,
        }
    }

    /// Starts writing `frame` as the next part, once the part before it is
    /// written (at most one part waits in memory).
    pub fn push(&mut self, mut frame: DataFrame) -> Result<()> {
        self.written()?;
        let path = self
            .dir
            .path
            .join(format!("{}-{:05}.parquet", self.name, self.paths.len()));
        self.paths.push(path.clone());
        self.heights.push(frame.height());
        self.writing = Some(std::thread::spawn(move || {
            let file =
                File::create(&path).with_context(|| format!("writing {}", path.display()))?;
            write_part(&mut frame, file)?;
            Ok(())
        }));
        Ok(())
    }

    /// Waits for the part being written.
    fn written(&mut self) -> Result<()> {
        match self.writing.take() {
            None => Ok(()),
            Some(writing) => writing
                .join()
                .map_err(|_| anyhow::anyhow!("a thread writing a part of a table panicked"))?,
        }
    }

    pub fn finish(self) -> Result<Rows> {
        self.finish_with_patch(None)
    }

    /// The table, `patch` applied as it is read ([`Parts::patch`]).
    pub fn finish_with_patch(mut self, patch: Option<DataFrame>) -> Result<Rows> {
        self.written()?;
        Ok(Rows::Parts(Arc::new(Parts {
            paths: std::mem::take(&mut self.paths),
            heights: std::mem::take(&mut self.heights),
            dir: self.dir.clone(),
            patch,
        })))
    }
}

/// Writes a table part by part: kept in memory when the run has no work
/// directory (a run of one part), else as files in it ([`PartsWriter`]).
pub enum RowsWriter {
    Memory(Vec<DataFrame>),
    Files(PartsWriter),
}

impl RowsWriter {
    pub fn new(dir: Option<&Arc<WorkDir>>, name: &str) -> Self {
        match dir {
            Some(dir) => RowsWriter::Files(PartsWriter::new(dir, name)),
            None => RowsWriter::Memory(Vec::new()),
        }
    }

    pub fn push(&mut self, frame: DataFrame) -> Result<()> {
        match self {
            RowsWriter::Memory(frames) => frames.push(frame),
            RowsWriter::Files(writer) => writer.push(frame)?,
        }
        Ok(())
    }

    /// The table, with the columns of `patch` replaced where its [`ROW`]
    /// matches.
    pub fn finish(self, patch: Option<DataFrame>) -> Result<Rows> {
        match self {
            RowsWriter::Files(writer) => writer.finish_with_patch(patch),
            RowsWriter::Memory(frames) => {
                let all = crate::frames::stacked(frames)?;
                Ok(Rows::Frame(match patch {
                    None => all,
                    Some(patch) => patched_part(all, &patch, 0)?,
                }))
            }
        }
    }
}

/// The temporary directory of a partitioned run, beside the run directory
/// (same disk, and a place the user chose to write to) or in the current
/// directory; removed when the last table in it is dropped.
pub struct WorkDir {
    pub path: PathBuf,
    tables: AtomicUsize,
}

impl WorkDir {
    pub fn create(out_dir: &Path) -> Result<Arc<Self>> {
        // A parent that does not exist yet is not made for it (`query`
        // names a run directory it never writes): the current one serves.
        let parent = match out_dir.parent() {
            Some(p) if !p.as_os_str().is_empty() && p.is_dir() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = out_dir
            .file_name()
            .map_or("run".into(), |n| n.to_string_lossy().into_owned());
        let path = parent.join(format!(".{name}.parts-{}", std::process::id()));
        std::fs::create_dir_all(&path).with_context(|| {
            format!(
                "creating {} for the parts of a large input (check that the output's directory is writable and has room, or pass --partition-rows 0)",
                path.display()
            )
        })?;
        Ok(Arc::new(WorkDir {
            path,
            tables: AtomicUsize::new(0),
        }))
    }

    fn next_table(&self) -> usize {
        self.tables.fetch_add(1, Ordering::Relaxed)
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_read_back_as_the_frame_they_were_cut_from() {
        let dir = tempfile::tempdir().unwrap();
        let work = WorkDir::create(&dir.path().join("out")).unwrap();
        let frame = df!("a" => [1i64, 2, 3, 4, 5], "b" => ["x", "y", "z", "w", "v"]).unwrap();
        let mut writer = PartsWriter::new(&work, "t");
        for (offset, len) in [(0, 2), (2, 0), (2, 3)] {
            writer.push(frame.slice(offset, len)).unwrap();
        }
        let rows = writer.finish().unwrap();
        assert_eq!(rows.height(), 5);
        assert!(rows.to_frame().unwrap().equals(&frame));
        let doubled = rows
            .map_parts("u", |p| {
                Ok(p.lazy().with_column(col("a") * lit(2i64)).collect()?)
            })
            .unwrap();
        let firsts = std::cell::RefCell::new(Vec::new());
        doubled
            .for_each_part(|p, first| {
                firsts.borrow_mut().push((p.height(), first));
                Ok(())
            })
            .unwrap();
        assert_eq!(firsts.into_inner(), [(2, true), (0, false), (3, false)]);
        let path = work.path.clone();
        drop((work, rows, doubled));
        assert!(!path.exists(), "the work directory goes with its tables");
    }

    /// Every way `write_part` writes a text column reads back cell for
    /// cell: a dictionary coded by views (short texts, copies of one long
    /// text, nulls) or by text (a long text at a place of its own in every
    /// row), the fallback when there are too many values, and plain
    /// columns.
    #[test]
    fn a_part_reads_back_as_it_was_written() {
        let rows = 5 * MAX_VIEW_CODED;
        let long = |i: usize| format!("a text longer than a view, number {}", i % 3);
        let copies = Series::new("x".into(), ["template_late_reply", "freeform_in_window"])
            .take(&IdxCa::from_vec(
                "i".into(),
                (0..rows as IdxSize).map(|i| i % 2).collect(),
            ))
            .unwrap();
        let mut frame = df!(
            "short" => (0..rows).map(|i| (i % 5 != 0).then(|| ["in", "out"][i % 2])).collect::<Vec<_>>(),
            "copies" => copies,
            "own_places" => (0..rows).map(long).collect::<Vec<_>>(),
            "many" => (0..rows).map(|i| format!("v{i}")).collect::<Vec<_>>(),
            crate::schema::MESSAGE_ID => (0..rows).map(|i| format!("wamid.{i:030}")).collect::<Vec<_>>(),
            "n" => (0..rows as i64).collect::<Vec<_>>(),
        )
        .unwrap();
        let text = |name: &str| {
            let array = frame
                .column(name)
                .unwrap()
                .as_materialized_series()
                .rechunk();
            view_coded(array.chunks()[0].as_ref()).is_some()
        };
        assert!(text("short") && text("copies") && text("own_places"));
        assert!(!text("many") && !text("n"));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("part.parquet");
        write_part(&mut frame, File::create(&path).unwrap()).unwrap();
        let read = read_parquet(&path).unwrap();
        assert!(read.equals_missing(&frame));
        assert_eq!(read.schema(), frame.schema());
    }

    /// A patch names rows by their place in the whole table, across parts,
    /// and every way of reading the table applies it alike.
    #[test]
    fn a_patch_changes_the_rows_it_names_however_the_table_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let work = WorkDir::create(&dir.path().join("out")).unwrap();
        let frame = df!(
            "id" => ["m0", "m1", "m2", "m3", "m4"],
            "cost" => [10i64, 11, 12, 13, 14],
            "rule" => ["a", "b", "c", "d", "e"],
        )
        .unwrap();
        // Rows 1 (first part) and 3 (second part); a new value may be none.
        let patch = df!(
            ROW => [3 as IdxSize, 1],
            "cost" => [0i64, 1],
            "rule" => [Some("x"), None],
        )
        .unwrap();
        let expected = df!(
            "id" => ["m0", "m1", "m2", "m3", "m4"],
            "cost" => [10i64, 1, 12, 0, 14],
            "rule" => [Some("a"), None, Some("c"), Some("x"), Some("e")],
        )
        .unwrap();
        let mut on_disk = RowsWriter::new(Some(&work), "t");
        let mut in_memory = RowsWriter::new(None, "t");
        for (offset, len) in [(0, 2), (2, 3)] {
            on_disk.push(frame.slice(offset, len)).unwrap();
            in_memory.push(frame.slice(offset, len)).unwrap();
        }
        for rows in [
            on_disk.finish(Some(patch.clone())).unwrap(),
            in_memory.finish(Some(patch)).unwrap(),
        ] {
            assert!(rows
                .clone()
                .lazy()
                .collect()
                .unwrap()
                .equals_missing(&expected));
            let parts: Vec<DataFrame> = rows.iter_parts().collect::<Result<_>>().unwrap();
            assert!(crate::frames::stacked(parts)
                .unwrap()
                .equals_missing(&expected));
            let mut ids = Vec::new();
            rows.for_each_part_of(&["id"], |part| {
                ids.extend(part.column("id")?.str()?.iter().flatten().map(String::from));
                Ok(())
            })
            .unwrap();
            assert_eq!(ids, ["m0", "m1", "m2", "m3", "m4"]);
            // A scan for patched columns gets the patch; one for others
            // need not, and reads the same values either way.
            for names in [vec!["id"], vec!["cost"], vec!["id", "rule"]] {
                let exprs: Vec<Expr> = names.iter().map(|n| col(*n)).collect();
                let scanned = rows.scan_for(&exprs).select(exprs).collect().unwrap();
                assert!(scanned.equals_missing(&expected.select(names).unwrap()));
            }
        }
    }
}
