//! Seeded synthetic message logs: the demo's data and the benchmarks'.
//!
//! The log imitates a Saudi-heavy business on the WhatsApp Business
//! Platform: customers write in bursts; agents answer after seconds, hours,
//! or not within 24 h (then some send a template late, some try free-form and
//! get error 131047); marketing, utility and authentication campaigns go out
//! to slices of the customer base whether or not a window is open; ~1% of
//! sends fail; a few webhook retries repeat a message id. The same options
//! and seed always give the same rows (ChaCha8, no clock, no hashing order).

use std::path::Path;

use anyhow::{Context, Result};
use chrono::NaiveDate;
use polars::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::bad_input;
use crate::ingest::utc_micros;

const MINUTE: i64 = 60_000_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub contacts: u32,
    pub days: u32,
    pub start: NaiveDate,
    pub businesses: u32,
    pub seed: u64,
}

/// Country, weight, calling-code prefix of a mobile number, digits after it.
const COUNTRIES: [(&str, u32, &str, usize); 16] = [
    ("SA", 340, "9665", 8),
    ("AE", 110, "97150", 7),
    ("EG", 90, "2010", 8),
    ("KW", 60, "9655", 7),
    ("QA", 50, "9743", 7),
    ("IN", 70, "919", 9),
    ("ID", 40, "62812", 8),
    ("BR", 35, "55119", 8),
    ("US", 30, "1212", 7),
    ("GB", 30, "447", 9),
    ("NG", 30, "23480", 8),
    ("JO", 25, "9627", 8),
    ("MA", 20, "2126", 8),
    ("PK", 25, "923", 9),
    ("DE", 20, "4915", 9),
    ("TR", 25, "905", 9),
];

const MARKETING: [&str; 4] = [
    "autumn_sale",
    "new_arrivals",
    "win_back_10",
    "loyalty_points",
];
const UTILITY: [&str; 4] = [
    "order_update",
    "delivery_scheduled",
    "payment_reminder",
    "case_update",
];
const FREEFORM: [(&str, u32); 5] = [
    ("text", 80),
    ("image", 8),
    ("document", 6),
    ("audio", 3),
    ("interactive", 3),
];
const INBOUND: [(&str, u32); 7] = [
    ("text", 70),
    ("image", 10),
    ("audio", 8),
    ("button", 5),
    ("interactive", 3),
    ("location", 2),
    ("document", 2),
];

struct Columns {
    message_id: Vec<String>,
    business_number: Vec<String>,
    contact: Vec<String>,
    direction: Vec<&'static str>,
    timestamp: Vec<i64>,
    kind: Vec<&'static str>,
    template_name: Vec<Option<&'static str>>,
    category: Vec<Option<&'static str>>,
    status: Vec<Option<&'static str>>,
    error_code: Vec<Option<i64>>,
    entry_point: Vec<Option<&'static str>>,
}

/// One outbound or inbound message before it is pushed.
struct Msg {
    inbound: bool,
    at: i64,
    kind: &'static str,
    template: Option<(&'static str, &'static str)>,
    error_code: Option<i64>,
    entry_point: Option<&'static str>,
}

impl Msg {
    fn inbound(at: i64, kind: &'static str) -> Self {
        Msg {
            inbound: true,
            at,
            kind,
            template: None,
            error_code: None,
            entry_point: None,
        }
    }
    fn outbound(at: i64, kind: &'static str) -> Self {
        Msg {
            inbound: false,
            at,
            kind,
            template: None,
            error_code: None,
            entry_point: None,
        }
    }
    fn template(at: i64, category: &'static str, name: &'static str) -> Self {
        Msg {
            template: Some((category, name)),
            ..Msg::outbound(at, "template")
        }
    }
}

struct Generator {
    rng: ChaCha8Rng,
    start: i64,
    span: i64,
    next_id: u64,
    seed: u64,
    businesses: Vec<String>,
    out: Columns,
}

/// The whole log as one frame, sorted by (timestamp, message_id).
pub fn generate(options: &GenerateOptions) -> Result<DataFrame> {
    let mut generator = Generator::new(options)?;
    generator.contacts(0..options.contacts)?;
    generator.take_frame()
}

/// Contacts generated and sorted at a time by [`write`]: about 1.8M rows,
/// so a 100M-row log never holds more than one such chunk in memory.
pub const CHUNK_CONTACTS: u32 = 100_000;

/// Writes the log to `path` (Parquet or CSV, by extension) in chunks of
/// [`CHUNK_CONTACTS`] contacts and returns its row count. Each chunk is
/// sorted by (timestamp, message_id); a log of at most one chunk is the
/// frame [`generate`] returns, and larger ones have the same rows, in
/// time order within each chunk (the report does not depend on row order).
pub fn write(options: &GenerateOptions, path: &Path) -> Result<u64> {
    write_in_chunks(options, path, CHUNK_CONTACTS)
}

fn write_in_chunks(options: &GenerateOptions, path: &Path, chunk: u32) -> Result<u64> {
    let mut generator = Generator::new(options)?;
    let mut sink = LogSink::create(path)?;
    let mut from = 0;
    while from < options.contacts {
        let to = from.saturating_add(chunk).min(options.contacts);
        generator.contacts(from..to)?;
        sink.write(&mut generator.take_frame()?)?;
        from = to;
    }
    sink.finish()
}

impl Generator {
    fn new(options: &GenerateOptions) -> Result<Self> {
        if options.contacts == 0 || options.days == 0 || options.businesses == 0 {
            return Err(bad_input!(
                "--contacts, --days and --businesses must be at least 1"
            ));
        }
        let start = options
            .start
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_utc()
            .timestamp_micros();
        Ok(Generator {
            rng: ChaCha8Rng::seed_from_u64(options.seed),
            start,
            span: options.days as i64 * DAY,
            next_id: 0,
            seed: options.seed,
            businesses: (1..=options.businesses)
                .map(|i| format!("9661100{i:05}"))
                .collect(),
            out: Columns::with_capacity(options.contacts.min(CHUNK_CONTACTS) as usize * 30),
        })
    }

    /// Generates the histories of the contacts `range`, in order (the
    /// random stream continues from the previous call).
    fn contacts(&mut self, range: std::ops::Range<u32>) -> Result<()> {
        for index in range {
            let (country, contact) = self.contact_number(index);
            let business = self.businesses[index as usize % self.businesses.len()].clone();
            for message in self.contact_history(country) {
                self.push(&business, &contact, message);
            }
        }
        Ok(())
    }
}

impl Columns {
    fn with_capacity(n: usize) -> Self {
        Columns {
            message_id: Vec::with_capacity(n),
            business_number: Vec::with_capacity(n),
            contact: Vec::with_capacity(n),
            direction: Vec::with_capacity(n),
            timestamp: Vec::with_capacity(n),
            kind: Vec::with_capacity(n),
            template_name: Vec::with_capacity(n),
            category: Vec::with_capacity(n),
            status: Vec::with_capacity(n),
            error_code: Vec::with_capacity(n),
            entry_point: Vec::with_capacity(n),
        }
    }
}

fn pick<T: Copy>(rng: &mut ChaCha8Rng, weighted: &[(T, u32)]) -> T {
    let total: u32 = weighted.iter().map(|(_, w)| w).sum();
    let mut roll = rng.random_range(0..total);
    for (value, weight) in weighted {
        if roll < *weight {
            return *value;
        }
        roll -= weight;
    }
    weighted[0].0
}

impl Generator {
    fn contact_number(&mut self, index: u32) -> (&'static str, String) {
        let weighted: Vec<(usize, u32)> = COUNTRIES
            .iter()
            .enumerate()
            .map(|(i, c)| (i, c.1))
            .collect();
        let (country, _, prefix, digits) = COUNTRIES[pick(&mut self.rng, &weighted)];
        let modulus = 10u64.pow(digits as u32);
        let subscriber = (self.rng.random_range(0..modulus) + index as u64) % modulus;
        (country, format!("{prefix}{subscriber:0digits$}"))
    }

    /// A time of day weighted towards 08:00–23:00 (Riyadh is UTC+3).
    fn moment(&mut self) -> i64 {
        let day = self.rng.random_range(0..self.span / DAY);
        let hour = if self.rng.random_bool(0.85) {
            self.rng.random_range(5..20)
        } else {
            self.rng.random_range(0..24)
        };
        self.start + day * DAY + hour * HOUR + self.rng.random_range(0..HOUR)
    }

    fn contact_history(&mut self, country: &str) -> Vec<Msg> {
        let mut messages = Vec::new();
        let conversations = self
            .rng
            .random_range(0..=(self.span / DAY / 15).max(1) as u32);
        for _ in 0..conversations {
            let at = self.moment();
            self.conversation(at, &mut messages);
        }
        self.campaigns(country, &mut messages);
        messages.retain(|m| m.at < self.start + self.span);
        messages
    }

    fn conversation(&mut self, at: i64, out: &mut Vec<Msg>) {
        let mut t = at;
        let burst = self.rng.random_range(1..=3);
        for i in 0..burst {
            let mut msg = Msg::inbound(t, pick(&mut self.rng, &INBOUND));
            if i == 0 && self.rng.random_bool(0.05) {
                msg.entry_point = Some(if self.rng.random_bool(0.8) {
                    "ctwa"
                } else {
                    "fb_page_cta"
                });
            }
            out.push(msg);
            t += self.rng.random_range(5_000_000..10 * MINUTE);
        }
        let roll: f64 = self.rng.random();
        let delay = if roll < 0.45 {
            self.rng.random_range(10_000_000..10 * MINUTE)
        } else if roll < 0.70 {
            self.rng.random_range(10 * MINUTE..3 * HOUR)
        } else if roll < 0.82 {
            self.rng.random_range(3 * HOUR..23 * HOUR)
        } else {
            return self.lapsed(t, out);
        };
        self.replies(t + delay, out);
        if self.rng.random_bool(0.35) {
            let again = t + delay + self.rng.random_range(MINUTE..6 * HOUR);
            out.push(Msg::inbound(again, "text"));
            let delay = self.rng.random_range(30_000_000..2 * HOUR);
            self.replies(again + delay, out);
        }
    }

    fn replies(&mut self, at: i64, out: &mut Vec<Msg>) {
        let mut t = at;
        for _ in 0..self.rng.random_range(1..=3) {
            out.push(Msg::outbound(t, pick(&mut self.rng, &FREEFORM)));
            t += self.rng.random_range(10_000_000..5 * MINUTE);
        }
        if self.rng.random_bool(0.10) {
            let name = UTILITY[self.rng.random_range(0..UTILITY.len())];
            out.push(Msg::template(
                t + self.rng.random_range(MINUTE..2 * HOUR),
                "utility",
                name,
            ));
        }
        if self.rng.random_bool(0.03) {
            let name = MARKETING[self.rng.random_range(0..MARKETING.len())];
            out.push(Msg::template(
                t + self.rng.random_range(MINUTE..4 * HOUR),
                "marketing",
                name,
            ));
        }
    }

    /// Nobody answered within 24 h: a late template, a blocked free-form
    /// attempt, or silence.
    fn lapsed(&mut self, last_inbound: i64, out: &mut Vec<Msg>) {
        let at = last_inbound + self.rng.random_range(25 * HOUR..60 * HOUR);
        let roll: f64 = self.rng.random();
        if roll < 0.6 {
            let name = UTILITY[self.rng.random_range(0..UTILITY.len())];
            out.push(Msg::template(at, "utility", name));
        } else if roll < 0.8 {
            let mut blocked = Msg::outbound(at, "text");
            blocked.error_code = Some(131047);
            out.push(blocked);
        }
    }

    fn campaigns(&mut self, country: &str, out: &mut Vec<Msg>) {
        // Meta charges authentication-international only in these markets.
        let international = ["AE", "EG", "IN", "ID", "NG", "PK"].contains(&country);
        let weeks = (self.span / (7 * DAY)).max(1);
        for week in 0..weeks {
            let week_start = self.start + week * 7 * DAY;
            if week % 2 == 0 && self.rng.random_bool(0.2) {
                let name = MARKETING[(week as usize / 2) % MARKETING.len()];
                out.push(Msg::template(
                    week_start + 2 * DAY + 14 * HOUR + self.rng.random_range(0..HOUR),
                    "marketing",
                    name,
                ));
            }
            if self.rng.random_bool(0.12) {
                let name = UTILITY[self.rng.random_range(0..UTILITY.len())];
                out.push(Msg::template(
                    week_start + self.rng.random_range(0..7 * DAY),
                    "utility",
                    name,
                ));
            }
            if self.rng.random_bool(0.06) {
                let category = if international && self.rng.random_bool(0.1) {
                    "authentication-international"
                } else {
                    "authentication"
                };
                out.push(Msg::template(
                    week_start + self.rng.random_range(0..7 * DAY),
                    category,
                    "login_code",
                ));
            }
        }
    }

    fn push(&mut self, business: &str, contact: &str, msg: Msg) {
        self.next_id += 1;
        let id = format!("wamid.G{:04X}{:010X}", self.seed & 0xFFFF, self.next_id);
        let (status, error_code) = if msg.inbound {
            (None, None)
        } else if msg.error_code.is_some() {
            (Some("failed"), msg.error_code)
        } else if self.rng.random_bool(0.01) {
            (
                Some("failed"),
                Some(if self.rng.random_bool(0.5) {
                    131049
                } else {
                    131026
                }),
            )
        } else if self.rng.random_bool(0.7) {
            (Some("read"), None)
        } else {
            (Some("delivered"), None)
        };
        let repeats = if self.rng.random_bool(0.0005) { 2 } else { 1 };
        for _ in 0..repeats {
            let c = &mut self.out;
            c.message_id.push(id.clone());
            c.business_number.push(business.to_string());
            c.contact.push(format!("+{contact}"));
            c.direction
                .push(if msg.inbound { "inbound" } else { "outbound" });
            c.timestamp.push(msg.at);
            c.kind.push(msg.kind);
            c.template_name.push(msg.template.map(|t| t.1));
            c.category.push(msg.template.map(|t| t.0));
            c.status.push(status);
            c.error_code.push(error_code);
            c.entry_point.push(msg.entry_point);
        }
    }

    /// The rows generated since the last call, sorted by time.
    fn take_frame(&mut self) -> Result<DataFrame> {
        let c = std::mem::replace(&mut self.out, Columns::with_capacity(0));
        let height = c.message_id.len();
        let frame = DataFrame::new(
            height,
            vec![
                Column::new("message_id".into(), c.message_id),
                Column::new("business_number".into(), c.business_number),
                Column::new("contact".into(), c.contact),
                Column::new("direction".into(), c.direction),
                Column::new("timestamp".into(), c.timestamp).cast(&utc_micros())?,
                Column::new("type".into(), c.kind),
                Column::new("template_name".into(), c.template_name),
                Column::new("category".into(), c.category),
                Column::new("status".into(), c.status),
                Column::new("error_code".into(), c.error_code),
                Column::new("entry_point".into(), c.entry_point),
            ],
        )?;
        Ok(frame
            .lazy()
            .sort(
                ["timestamp", "message_id"],
                SortMultipleOptions::default().with_maintain_order(true),
            )
            .collect()?)
    }
}

/// Where [`write`] puts the chunks: one Parquet file written a row group
/// at a time, or one CSV table.
struct LogSink {
    file: std::io::BufWriter<std::fs::File>,
    parquet: Option<polars::io::parquet::write::BatchedWriter<std::fs::File>>,
    is_parquet: bool,
    header_written: bool,
    rows: u64,
}

impl LogSink {
    fn create(path: &Path) -> Result<Self> {
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        if !matches!(extension.as_str(), "parquet" | "csv") {
            return Err(bad_input!(
                "{}: name the output .parquet or .csv",
                path.display()
            ));
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        let file = std::fs::File::create(path)
            .map_err(|e| bad_input!("{}: cannot write it ({e})", path.display()))?;
        Ok(LogSink {
            file: std::io::BufWriter::new(file),
            parquet: None,
            is_parquet: extension == "parquet",
            header_written: false,
            rows: 0,
        })
    }

    fn write(&mut self, frame: &mut DataFrame) -> Result<()> {
        if self.is_parquet {
            if self.parquet.is_none() {
                let handle = self.file.get_ref().try_clone()?;
                self.parquet = Some(ParquetWriter::new(handle).batched(frame.schema())?);
            }
            self.parquet.as_mut().expect("created").write_batch(frame)?;
        } else {
            let mut text = frame
                .clone()
                .lazy()
                .with_column(col("timestamp").dt().strftime("%Y-%m-%dT%H:%M:%S%.fZ"))
                .collect()?;
            CsvWriter::new(&mut self.file)
                .include_header(!self.header_written)
                .finish(&mut text)?;
            self.header_written = true;
        }
        self.rows += frame.height() as u64;
        Ok(())
    }

    fn finish(mut self) -> Result<u64> {
        use std::io::Write;
        match self.parquet {
            Some(writer) => {
                writer.finish()?;
            }
            None => self.file.flush()?,
        }
        Ok(self.rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(contacts: u32) -> GenerateOptions {
        GenerateOptions {
            contacts,
            days: 30,
            start: NaiveDate::from_ymd_opt(2026, 3, 1).expect("date"),
            businesses: 2,
            seed: 11,
        }
    }

    fn read_parquet(path: &Path) -> DataFrame {
        ParquetReader::new(std::fs::File::open(path).unwrap())
            .finish()
            .unwrap()
    }

    fn sorted(frame: DataFrame) -> DataFrame {
        let keys: Vec<PlSmallStr> = frame.get_column_names_owned();
        frame
            .lazy()
            .sort(keys, SortMultipleOptions::default())
            .collect()
            .unwrap()
    }

    #[test]
    fn chunks_hold_the_rows_of_the_whole_log() {
        let dir = tempfile::tempdir().unwrap();
        let whole = generate(&options(40)).unwrap();
        let one = dir.path().join("one.parquet");
        let rows = write_in_chunks(&options(40), &one, 40).unwrap();
        assert_eq!(rows as usize, whole.height());
        assert!(
            read_parquet(&one).equals_missing(&whole),
            "one chunk is the frame itself"
        );

        let chunked = dir.path().join("chunked.parquet");
        assert_eq!(write_in_chunks(&options(40), &chunked, 7).unwrap(), rows);
        let chunked = read_parquet(&chunked);
        assert!(
            !chunked.equals_missing(&whole),
            "chunks are sorted one by one"
        );
        assert!(sorted(chunked).equals_missing(&sorted(whole)));
    }

    #[test]
    fn chunked_csv_has_one_header() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.csv");
        let rows = write_in_chunks(&options(20), &path, 3).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count() as u64, rows + 1);
        assert_eq!(text.matches("message_id").count(), 1);
    }
}
