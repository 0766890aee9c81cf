//! The command line: clap derive types, and how they map onto the
//! library's [`Request`] (the only module besides `main.rs` that knows
//! clap).
//!
//! Every flag's `///` doc is its `--help` text. Values are checked and turned
//! into settings by `config`; this module only describes what can be typed.
//! Defaults are `config`'s constants, shown here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::{
    OutputsRequest, PricingRequest, Request, RowTables, SourcesRequest, ThresholdArgs,
    DEFAULT_LANG, DEFAULT_SERVICE_FREE_TIER, DEFAULT_ZONE,
};
use crate::ingest::FormatChoice;
use crate::pricing::Regime;
use crate::windows::WindowRule;

/// Reconstructs WhatsApp customer service windows from message logs,
/// classifies every outbound message and reports what templates cost.
/// The rules it applies are written out in the docs/ folder of the
/// project (windows and classes, pricing, inputs, outputs).
///
/// Exit codes: 0 success, 1 failure, 2 bad usage or bad input, 3 a
/// threshold given with --max-*/--min-* was breached (the report is still
/// written).
#[derive(Debug, Parser)]
#[command(name = "window-ledger", version, about, long_about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate a demo log and write a full report of it (no arguments needed).
    Demo(DemoArgs),
    /// Read message logs, rebuild every service window, classify every
    /// outbound message and write the run directory.
    Report(Box<ReportArgs>),
    /// Write a seeded synthetic message log (CSV or Parquet, by extension).
    Generate(GenerateArgs),
    /// Run one SQL query over the tables of a run (messages, windows, sends,
    /// summary) and print the result.
    Query(Box<QueryArgs>),
    /// One step of a run spread over many machines by a driver (the Spark
    /// driver in spark/, README "When one machine is not enough"): Arrow IPC
    /// in, Arrow IPC out.
    Part(Box<PartArgs>),
}

/// `part`: what a driver asks of the engine.
#[derive(Debug, Args)]
pub struct PartArgs {
    /// files: list the message logs of --input in reading order (JSON
    /// lines); route: each raw row's id and pair; price: a part's stages;
    /// settle: a part's rows with the run's counters.
    #[arg(value_enum)]
    pub step: PartStepArg,

    /// The Arrow IPC file of rows to work on (route, price, settle).
    #[arg(long, value_name = "FILE", required_unless_present = "inputs")]
    pub batch: Option<PathBuf>,

    /// Where to write: an Arrow IPC file (route, settle) or a directory
    /// (price).
    #[arg(long, value_name = "PATH", required_unless_present = "inputs")]
    pub out: Option<PathBuf>,

    /// Message logs to list (files).
    #[arg(short, long = "input", num_args = 1..)]
    pub inputs: Vec<PathBuf>,

    #[command(flatten)]
    pub sources: SourceArgs,

    #[command(flatten)]
    pub run: RunArgs,

    /// Accepted so that a driver passes `report`'s flags as they are; a
    /// step writes no report.
    #[command(flatten)]
    pub ci: CiArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PartStepArg {
    Files,
    Route,
    Price,
    Settle,
}

impl PartArgs {
    /// The rules the step applies (the same flags as `report`).
    pub fn request(self) -> Request {
        let mut request = self.run.request(self.inputs, None);
        request.sources = self.sources.request();
        request
    }
}

/// `--rule`: the window rule (docs/windows-and-classes.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RuleChoice {
    /// Only customer (inbound) messages open or refresh a window (Meta's rule).
    CustomerOnly,
    /// Business messages sent inside an open window also extend it (the
    /// misreading some guides teach; use it to see what it would cost).
    AnyMessage,
}

impl From<RuleChoice> for WindowRule {
    fn from(choice: RuleChoice) -> Self {
        match choice {
            RuleChoice::CustomerOnly => WindowRule::CustomerOnly,
            RuleChoice::AnyMessage => WindowRule::AnyMessage,
        }
    }
}

/// `--regime`, `--compare-regime`: the regimes a what-if can price under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RegimeChoice {
    /// Conversation-based pricing (24-hour conversations per category),
    /// 2023-06-01 … 2025-06-30.
    #[value(name = "cbp")]
    Cbp,
    /// Per-message pricing, 2025-07-01 … 2026-09-30.
    #[value(name = "pmp-2025")]
    Pmp2025,
    /// Per-message pricing with paid service messages, from 2026-10-01.
    #[value(name = "pmp-2026-10")]
    Pmp202610,
}

impl From<RegimeChoice> for Regime {
    fn from(choice: RegimeChoice) -> Self {
        match choice {
            RegimeChoice::Cbp => Regime::Cbp,
            RegimeChoice::Pmp2025 => Regime::Pmp2025,
            RegimeChoice::Pmp202610 => Regime::Pmp202610,
        }
    }
}

/// `--format`: how JSON-lines files are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Webhook notifications when the first line has an `entry` or
    /// `object` key, flat rows otherwise.
    Auto,
    /// Flat rows with the columns of docs/inputs.md (or a mapping's).
    Canonical,
    /// Cloud API webhook notifications, one per line.
    Webhook,
}

impl From<FormatArg> for FormatChoice {
    fn from(arg: FormatArg) -> Self {
        match arg {
            FormatArg::Auto => FormatChoice::Auto,
            FormatArg::Canonical => FormatChoice::Canonical,
            FormatArg::Webhook => FormatChoice::Webhook,
        }
    }
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Message log files or directories: CSV, Parquet, flat NDJSON or Cloud
    /// API webhook notifications (.csv, .parquet, .ndjson/.jsonl/.json;
    /// .csv.gz and .ndjson.gz too).
    /// Takes several paths and may be repeated; files are read in the order
    /// given, a directory's files in byte order of their paths.
    #[arg(
        short,
        long = "input",
        required_unless_present = "from_tables",
        num_args = 1..
    )]
    pub inputs: Vec<PathBuf>,

    /// Report the tables a driven run wrote (the Spark driver in spark/)
    /// instead of reading logs: the same run directory a local run of the
    /// same logs and flags writes.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["inputs", "continue_from"])]
    pub from_tables: Option<PathBuf>,

    /// Run directory to write. Default: reports/<period>, e.g. reports/2026-10.
    #[arg(short, long)]
    pub out: Option<PathBuf>,

    /// Continue from a previous run: read only the new files (--input),
    /// starting where that run (its run directory) stopped, with the state
    /// it kept in state/. Same numbers as one run over all history. Without
    /// a period, reports everything after the previous run's end.
    #[arg(long, value_name = "RUN_DIR")]
    pub continue_from: Option<PathBuf>,

    /// With --continue-from: accept days without any message between the
    /// previous run's end and the new input (a warning, not an error).
    #[arg(long, requires = "continue_from")]
    pub allow_gap: bool,

    #[command(flatten)]
    pub sources: SourceArgs,

    #[command(flatten)]
    pub run: RunArgs,

    #[command(flatten)]
    pub ci: CiArgs,
}

/// For scheduled runs: thresholds that fail the job, quiet logs, report
/// sections.
#[derive(Debug, Args)]
pub struct CiArgs {
    /// Fail (exit 3) when the period's spend in any currency exceeds this
    /// amount (a decimal in the rate card's currency).
    #[arg(long, value_name = "AMOUNT")]
    pub max_spend: Option<String>,

    /// Fail (exit 3) when avoidable spend is more than this share of spend
    /// (0.05 = 5%), in any currency.
    #[arg(long, value_name = "SHARE")]
    pub max_avoidable_share: Option<f64>,

    /// Fail (exit 3) when late-reply spend is more than this share of spend.
    #[arg(long, value_name = "SHARE")]
    pub max_late_reply_share: Option<f64>,

    /// Fail (exit 3) when fewer than this share of the period's windows were
    /// answered within 24 h.
    #[arg(long, value_name = "SHARE")]
    pub min_answered_share: Option<f64>,

    /// Write a salted hash instead of each contact number in every table
    /// (sends, windows, rejected, SQL sections), for sharing a run outside
    /// the team. The salt comes from --salt or WINDOW_LEDGER_SALT and is
    /// never written anywhere.
    #[arg(long)]
    pub hash_contacts: bool,

    /// The salt for --hash-contacts (prefer the WINDOW_LEDGER_SALT
    /// environment variable: arguments show in process lists).
    #[arg(long, value_name = "SALT", requires = "hash_contacts")]
    pub salt: Option<String>,

    /// Exit 0 even when input rows were rejected. Without it, a run with
    /// rejected rows writes the whole report (rejected.csv included) and then
    /// exits 2, so that an unattended job notices rows it could not use.
    #[arg(long)]
    pub allow_rejected: bool,

    /// How the row tables (sends, windows) are written: `csv` (the
    /// default, docs §6), `parquet` (much faster on large logs: the
    /// same columns, instants as UTC datetimes, dates as dates, amounts as
    /// exact decimal text), or `both`.
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = RowTablesArg::Csv)]
    pub row_tables: RowTablesArg,

    /// Print nothing but errors and breached thresholds (no progress, no
    /// "wrote …" line, no warnings).
    #[arg(short, long)]
    pub quiet: bool,

    /// Directory of SQL report sections (*.sql). Default: ./queries when it
    /// exists, else the standard sections built into the binary.
    #[arg(long, value_name = "DIR")]
    pub queries: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The SQL to run (polars SQL) over the tables messages, windows, sends
    /// and summary.
    pub sql: String,

    /// Message log files or directories, as for `report`.
    #[arg(short, long = "input", required = true, num_args = 1..)]
    pub inputs: Vec<PathBuf>,

    /// Print CSV instead of a table.
    #[arg(long)]
    pub csv: bool,

    #[command(flatten)]
    pub sources: SourceArgs,

    #[command(flatten)]
    pub run: RunArgs,
}

/// What the inputs are and what Meta itself reported (issue 5).
#[derive(Debug, Args)]
pub struct SourceArgs {
    /// How JSON-lines inputs are read: webhook notifications, flat rows, or
    /// told apart by their first line (auto).
    #[arg(long, value_enum, default_value_t = FormatArg::Auto)]
    pub format: FormatArg,

    /// Read a canonical column from a column of another name, e.g.
    /// --map timestamp=created_at --map contact=customer_phone. Applies to
    /// every message log; overrides --mapping. Repeatable.
    #[arg(long = "map", value_name = "CANONICAL=SOURCE")]
    pub map: Vec<String>,

    /// TOML mapping file for an export: column names, per-direction
    /// columns, defaults, prefixes to strip and value rewrites (examples in
    /// mappings/).
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,

    /// The business's own log of outbound send requests (canonical columns;
    /// message_id required): completes outbound messages of the logs
    /// (webhook statuses, exports) with type, template name and category,
    /// joined on message id. Repeatable.
    #[arg(long = "send-log", value_name = "FILE")]
    pub send_logs: Vec<PathBuf>,

    /// Meta's pricing_analytics response (JSON) to compare delivered volume
    /// and cost against, per country, category and month.
    #[arg(long, value_name = "FILE")]
    pub meta_analytics: Option<PathBuf>,
}

/// Options shared by `report` and `demo`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Report only outbound messages sent in this calendar month (YYYY-MM, in
    /// --tz), or `previous` for the month before --now. Windows are still
    /// rebuilt from all the history given up to the month's end.
    #[arg(long, value_name = "YYYY-MM|previous", conflicts_with_all = ["from", "to"])]
    pub month: Option<String>,

    /// The moment `--month previous` counts from (RFC 3339 or YYYY-MM-DD).
    /// Default: the system clock.
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,

    /// First day to report (YYYY-MM-DD, in --tz, inclusive).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub from: Option<String>,

    /// Last day to report (YYYY-MM-DD, in --tz, inclusive).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub to: Option<String>,

    /// Time zone for months, days and hours in reports (IANA name).
    #[arg(long, default_value = DEFAULT_ZONE, value_name = "ZONE")]
    pub tz: String,

    /// Time zone of input timestamps that carry no offset (IANA name).
    #[arg(long, default_value = DEFAULT_ZONE, value_name = "ZONE")]
    pub input_tz: String,

    /// Which messages open or refresh a customer service window.
    #[arg(long, value_enum, default_value_t = RuleChoice::CustomerOnly)]
    pub rule: RuleChoice,

    /// Language of report.html: en, ar (right to left), or a locale JSON
    /// file with the keys of locales/en.json.
    #[arg(long, default_value = DEFAULT_LANG, value_name = "LANG")]
    pub lang: String,

    /// Show customer numbers in the human-facing reports instead of masking
    /// them (+9665•••••567).
    #[arg(long)]
    pub show_contacts: bool,

    /// Parquet logs with more rows than this are processed in parts of
    /// about a quarter as many rows, by ranges of (business number, contact)
    /// pairs, two parts in memory at a time: the same results with far less
    /// memory. 0 never splits.
    #[arg(long, value_name = "ROWS", default_value_t = crate::config::DEFAULT_PARTITION_ROWS)]
    pub partition_rows: u64,

    /// A log cut into parts is cut in memory when its Parquet row groups
    /// hold at most this many bytes uncompressed, else into files beside
    /// the run directory. Same results either way (tests use 0 to cut into
    /// files).
    #[arg(long, value_name = "BYTES", hide = true, default_value_t = crate::config::DEFAULT_HOLD_BYTES)]
    pub hold_bytes: u64,

    #[command(flatten)]
    pub pricing: PricingArgs,
}

/// How messages are priced (docs/pricing.md).
#[derive(Debug, Args)]
pub struct PricingArgs {
    /// Rate card, as YYYY-MM-DD=FILE for Meta's layout (the date it takes
    /// effect) or FILE with an effective_from column. Repeat for a history
    /// of cards. Replaces the built-in USD estimate entirely.
    #[arg(long = "rates", value_name = "[DATE=]FILE")]
    pub rates: Vec<String>,

    /// Markets map: country,market[,effective_from]. Default: the built-in
    /// map of Meta's markets with their documented moves.
    #[arg(long, value_name = "FILE")]
    pub markets: Option<PathBuf>,

    /// Time zone of the WhatsApp Business Account: rate and regime changes
    /// and the service free-tier month follow its midnight.
    #[arg(long, default_value = DEFAULT_ZONE, value_name = "ZONE")]
    pub billing_tz: String,

    /// Report messages that need a missing rate as `unpriced` instead of
    /// stopping with an error.
    #[arg(long)]
    pub allow_unpriced: bool,

    /// Free service messages per business number per month (pmp-2026-10).
    #[arg(long, default_value_t = DEFAULT_SERVICE_FREE_TIER, value_name = "N")]
    pub service_free_tier: u64,

    /// Card category used to price templates whose category is unknown.
    #[arg(long, value_enum, default_value_t = PriceCategory::Marketing, value_name = "CATEGORY")]
    pub unknown_category_as: PriceCategory,

    /// What-if: price every message under this regime.
    #[arg(long, value_enum, value_name = "REGIME")]
    pub regime: Option<RegimeChoice>,

    /// What-if: use the rate cards and markets in force on this date for
    /// every message (YYYY-MM-DD).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub rates_as_of: Option<String>,

    /// Also price everything under this regime and show it beside the
    /// as-billed figures.
    #[arg(long, value_enum, value_name = "REGIME")]
    pub compare_regime: Option<RegimeChoice>,

    /// Accounts file (CSV): business_number and optionally account,
    /// portfolio, country, auth_international_from, timezone. Decides each
    /// number's billing time zone, volume tier portfolio and
    /// authentication-international rates (docs/pricing.md "Accounts").
    #[arg(long, value_name = "FILE")]
    pub accounts: Option<PathBuf>,
}

/// `--row-tables`: the file formats of the row tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RowTablesArg {
    Csv,
    Parquet,
    Both,
}

impl From<RowTablesArg> for RowTables {
    fn from(arg: RowTablesArg) -> Self {
        match arg {
            RowTablesArg::Csv => RowTables::Csv,
            RowTablesArg::Parquet => RowTables::Parquet,
            RowTablesArg::Both => RowTables::Both,
        }
    }
}

/// A category of Meta's rate card, for `--unknown-category-as`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PriceCategory {
    Marketing,
    Utility,
    Authentication,
    AuthenticationInternational,
}

impl PriceCategory {
    pub fn card_name(self) -> &'static str {
        match self {
            PriceCategory::Marketing => "marketing",
            PriceCategory::Utility => "utility",
            PriceCategory::Authentication => "authentication",
            PriceCategory::AuthenticationInternational => "authentication_international",
        }
    }
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Run directory to write.
    #[arg(short, long, default_value = "reports/demo")]
    pub out: PathBuf,

    /// Number of customers in the generated log.
    #[arg(long, default_value_t = 3000)]
    pub contacts: u32,

    /// Seed of the generated log; the same seed gives the same log.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,

    /// Language of report.html: en or ar.
    #[arg(long, default_value = DEFAULT_LANG, value_name = "LANG")]
    pub lang: String,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// File to write: .parquet or .csv.
    #[arg(short, long)]
    pub out: PathBuf,

    /// Number of customers.
    #[arg(long, default_value_t = 50_000)]
    pub contacts: u32,

    /// Number of days the log covers.
    #[arg(long, default_value_t = 90)]
    pub days: u32,

    /// First day of the log (YYYY-MM-DD, UTC).
    #[arg(long, default_value = "2026-08-01")]
    pub start: String,

    /// Number of business phone numbers the customers are spread over.
    #[arg(long, default_value_t = 3)]
    pub businesses: u32,

    /// Random seed; the same seed and options give the same file.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

impl ReportArgs {
    /// What `report` was asked for.
    pub fn request(self) -> Request {
        let mut request = self.run.request(self.inputs, self.out);
        request.sources = self.sources.request();
        request.outputs = self.ci.outputs();
        request.continue_from = self.continue_from;
        request.allow_gap = self.allow_gap;
        request
    }
}

impl QueryArgs {
    /// What `query` was asked for (the run directory is never written).
    pub fn request(self) -> Request {
        let mut request = self.run.request(self.inputs, None);
        request.sources = self.sources.request();
        request
    }
}

impl RunArgs {
    pub fn request(self, inputs: Vec<PathBuf>, out: Option<PathBuf>) -> Request {
        let pricing = self.pricing;
        Request {
            inputs,
            out,
            month: self.month,
            now: self.now,
            from: self.from,
            to: self.to,
            tz: self.tz,
            input_tz: self.input_tz,
            rule: self.rule.into(),
            lang: self.lang,
            show_contacts: self.show_contacts,
            partition_rows: self.partition_rows,
            hold_bytes: self.hold_bytes,
            pricing: PricingRequest {
                rates: pricing.rates,
                markets: pricing.markets,
                billing_tz: pricing.billing_tz,
                allow_unpriced: pricing.allow_unpriced,
                service_free_tier: pricing.service_free_tier,
                unknown_category_as: pricing.unknown_category_as.card_name(),
                regime: pricing.regime.map(Into::into),
                rates_as_of: pricing.rates_as_of,
                compare_regime: pricing.compare_regime.map(Into::into),
                accounts: pricing.accounts,
            },
            sources: SourcesRequest::default(),
            outputs: OutputsRequest::default(),
            continue_from: None,
            allow_gap: false,
        }
    }
}

impl SourceArgs {
    fn request(self) -> SourcesRequest {
        SourcesRequest {
            format: self.format.into(),
            map: self.map,
            mapping: self.mapping,
            send_logs: self.send_logs,
            meta_analytics: self.meta_analytics,
            label: None,
        }
    }
}

impl CiArgs {
    fn outputs(&self) -> OutputsRequest {
        OutputsRequest {
            thresholds: ThresholdArgs {
                max_spend: self.max_spend.clone(),
                max_avoidable_share: self.max_avoidable_share,
                max_late_reply_share: self.max_late_reply_share,
                min_answered_share: self.min_answered_share,
            },
            hash_contacts: self.hash_contacts,
            salt: self.salt.clone(),
            row_tables: self.row_tables.into(),
            queries: self.queries.clone(),
        }
    }
}
