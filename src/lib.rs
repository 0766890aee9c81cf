//! window-ledger: WhatsApp customer service windows and template spend.
//!
//! The rules are in the repository's `docs/` (cited as §N in comments).
//! Modules form layers, top down; each uses only its own layer and those
//! below (a test, `tests/integration/layers.rs`, checks it):
//!
//! ```text
//!  command line  cli (clap types; with main.rs the only users of clap)
//!  commands      commands (report, query, demo), generate, fuzzing
//!  report        report: tables, summary, HTML, workbook, charts, SQL
//!  pipeline      pipeline: a source of parts → one stage chain per part
//!                → what spans parts settled once (free tier, missing rates)
//!  settings      config: a Request as typed → checked Settings
//!  stages        ingest → normalize → windows → classify → pricing;
//!                reconcile, privacy, state (what a run carries forward)
//!  storage       rows: tables in memory or in parts on disk
//!  base          schema, frames, timestamps, country, error
//! ```
//!
//! [`pipeline::analyse`] runs the stages; [`report::write_run`] writes the
//! run directory. Nothing here reads the clock: same input and options,
//! same bytes out.

pub mod classify;
pub mod cli;
pub mod commands;
pub mod config;
pub mod country;
pub mod error;
pub mod frames;
pub mod fuzzing;
pub mod generate;
pub mod ingest;
pub mod normalize;
pub mod pipeline;
pub mod pricing;
pub mod privacy;
pub mod reconcile;
pub mod report;
pub mod rows;
pub mod schema;
pub mod state;
pub mod timestamps;
pub mod windows;

pub use pipeline::{analyse, load_rates, Analysis, FileAccount};
