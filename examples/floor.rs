//! The benchmark's floor (issue 6): read the columns window-ledger needs
//! from a Parquet log and sort them by (business_number, contact,
//! timestamp) — no exact method can do less. `bench/run.sh` times it.
//!
//!     cargo run --release --example floor -- LOG.parquet

use polars::prelude::*;

const NEEDED: [&str; 10] = [
    "message_id",
    "business_number",
    "contact",
    "direction",
    "timestamp",
    "type",
    "category",
    "status",
    "error_code",
    "entry_point",
];

fn main() -> PolarsResult<()> {
    let path = std::env::args().nth(1).expect("usage: floor LOG.parquet");
    let file = std::fs::File::open(&path)?;
    let frame = ParquetReader::new(file)
        .with_columns(Some(NEEDED.map(String::from).to_vec()))
        .finish()?;
    let sorted = frame
        .lazy()
        .sort(
            ["business_number", "contact", "timestamp"],
            SortMultipleOptions::default(),
        )
        .collect()?;
    println!("{} rows sorted", sorted.height());
    Ok(())
}
