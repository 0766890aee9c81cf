//! The Spark path (spark/, README "When one machine is not enough") gives
//! the run directory a local run gives, byte for byte: on a generated log
//! of about 200k rows over four business numbers in two portfolios, cut
//! into parts, so that the service free tier, the volume tiers and
//! repeated ids all cross parts. Runs spark/run_local.sh, which installs a
//! JDK and pyspark when the machine lacks them (.ci/run installs them
//! first).

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::common::{files_under, ledger, read_rows};
use crate::partitions::crafted_file;

/// Rows per part of the Spark run: the log is cut into five parts.
const PART_ROWS: &str = "45000";

/// A tiered copy of the default card: every utility and authentication
/// rate becomes two tiers, the first 40 messages a month at the card's
/// price and the rest at 90% of it.
fn tiered_card(dir: &Path) -> PathBuf {
    let default = Path::new(env!("CARGO_MANIFEST_DIR")).join("rates/meta-usd.csv");
    let mut reader = csv::Reader::from_path(default).unwrap();
    let mut text = String::from("market,category,price,currency,effective_from,tier\n");
    for record in reader.records() {
        let r = record.unwrap();
        let (market, category, price, currency, from) = (&r[0], &r[1], &r[2], &r[3], &r[4]);
        let price: f64 = price.parse().unwrap();
        if category == "utility" || category == "authentication" {
            let lower = price * 0.9;
            text.push_str(&format!(
                "{market},{category},{price},{currency},{from},0:40\n"
            ));
            text.push_str(&format!(
                "{market},{category},{lower:.6},{currency},{from},41:MAX\n"
            ));
        } else {
            text.push_str(&format!("{market},{category},{price},{currency},{from},\n"));
        }
    }
    let path = dir.join("tiered.csv");
    std::fs::write(&path, text).unwrap();
    path
}

/// Two of the log's business numbers in one portfolio, the others in
/// another.
fn accounts(dir: &Path, log: &Path) -> PathBuf {
    let frame = ParquetReader::new(File::open(log).unwrap())
        .finish()
        .unwrap();
    let numbers = frame
        .column("business_number")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .flatten()
        .map(String::from)
        .collect::<BTreeSet<_>>();
    assert_eq!(numbers.len(), 4, "the log has four business numbers");
    let mut text = String::from("business_number,portfolio\n");
    for (i, number) in numbers.iter().enumerate() {
        text.push_str(&format!(
            "{number},{}\n",
            if i < 2 { "north" } else { "south" }
        ));
    }
    let path = dir.join("accounts.csv");
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs spark/run_local.sh in `dir` on `log`, five parts of at most
/// `part_rows`; its stderr.
fn run_local(dir: &Path, log: &str, out: &str, part_rows: &str, flags: &[String]) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("spark/run_local.sh");
    let spark = std::process::Command::new(script)
        .current_dir(dir)
        .env("SPARK_TABLES", dir.join(format!("{out}.tables")))
        .args([log, out])
        .args(flags)
        .env("WINDOW_LEDGER_BIN", env!("CARGO_BIN_EXE_window-ledger"))
        .env("SPARK_PART_ROWS", part_rows)
        .env("SPARK_MASTER", "local[2]")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&spark.stderr).into_owned();
    assert!(
        spark.status.success(),
        "spark/run_local.sh failed: {stderr}"
    );
    stderr
}

/// Every file of run directory `b` has the bytes of the same file of `a`.
fn same_run_directories(a: &Path, b: &Path) {
    let files = files_under(a);
    assert_eq!(files, files_under(b));
    for name in &files {
        assert!(
            std::fs::read(a.join(name)).unwrap() == std::fs::read(b.join(name)).unwrap(),
            "{} differs from the local run's",
            b.join(name).display()
        );
    }
}

#[test]
fn the_spark_path_writes_the_run_directory_a_local_run_writes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let logs = root.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let generated = logs.join("a.parquet");
    ledger()
        .args(["generate", "--contacts", "16000", "--days", "61"])
        .args(["--start", "2026-09-15", "--businesses", "4", "--seed", "11"])
        .arg("--out")
        .arg(&generated)
        .assert()
        .success();
    crafted_file(&logs, &generated);
    let card = tiered_card(root);
    let accounts = accounts(root, &generated);
    let flags: Vec<String> = vec![
        "--rates".into(),
        card.display().to_string(),
        "--accounts".into(),
        accounts.display().to_string(),
        "--service-free-tier".into(),
        "150".into(),
        "--allow-rejected".into(),
        "--row-tables".into(),
        "both".into(),
    ];

    ledger()
        .current_dir(root)
        .args(["report", "--input", "logs", "--out", "local"])
        .args(&flags)
        .assert()
        .success();
    let stderr = run_local(root, "logs", "spark", PART_ROWS, &flags);
    assert!(
        stderr.contains("in 5 parts"),
        "the log was cut into five parts: {stderr}"
    );

    // The counters that cross parts did bind.
    let sends = read_rows(&root.join("local/sends.csv"));
    let rule = |r: &str| sends.iter().filter(|s| s["pricing_rule"] == r).count();
    assert!(rule("free_service_tier") > 0);
    let charged_service = sends
        .iter()
        .filter(|s| s["pricing_rule"] == "charged" && s["rate_category"] == "service")
        .count();
    assert!(charged_service > 0, "the free tier of 150 ran out");
    let tiers: BTreeSet<&str> = sends.iter().map(|s| s["tier"].as_str()).collect();
    assert!(
        tiers.contains("0:40") && tiers.contains("41:MAX"),
        "{tiers:?}"
    );

    same_run_directories(&root.join("local"), &root.join("spark"));

    // Tables larger than --partition-rows are reported file by file, as a
    // local run reads its parts: the same files, but for the row groups of
    // the Parquet row tables.
    ledger()
        .current_dir(root)
        .args([
            "report",
            "--from-tables",
            "spark.tables",
            "--out",
            "spark-parts",
        ])
        .args(["--partition-rows", "40000"])
        .args(&flags)
        .assert()
        .success();
    let files = files_under(&root.join("local"));
    assert_eq!(files, files_under(&root.join("spark-parts")));
    let sends = |run: &str| std::fs::read(root.join(run).join("sends.parquet")).unwrap();
    assert!(
        sends("local") != sends("spark-parts"),
        "the tables were read file by file: other row groups"
    );
    for name in &files {
        let read = |run: &str| root.join(run).join(name);
        if name.extension().is_some_and(|e| e == "parquet") {
            let frame = |path: PathBuf| {
                ParquetReader::new(File::open(path).unwrap())
                    .finish()
                    .unwrap()
            };
            assert!(
                frame(read("local")).equals_missing(&frame(read("spark-parts"))),
                "{}",
                name.display()
            );
        } else {
            assert!(
                std::fs::read(read("local")).unwrap()
                    == std::fs::read(read("spark-parts")).unwrap(),
                "{} differs from the local run's",
                name.display()
            );
        }
    }

    // A CSV log, read by Spark's CSV reader, gives the local run's bytes
    // too (a clean log: Spark's reader knows no line numbers).
    ledger()
        .args([
            "generate",
            "--contacts",
            "600",
            "--days",
            "40",
            "--seed",
            "3",
        ])
        .args(["--out", "small.csv"])
        .current_dir(root)
        .assert()
        .success();
    let flags = &flags[..6];
    ledger()
        .current_dir(root)
        .args(["report", "--input", "small.csv", "--out", "local-csv"])
        .args(flags)
        .assert()
        .success();
    let stderr = run_local(root, "small.csv", "spark-csv", "1500", flags);
    assert!(stderr.contains(" parts"), "{stderr}");
    same_run_directories(&root.join("local-csv"), &root.join("spark-csv"));
}

#[test]
fn report_from_tables_says_what_it_needs_when_the_directory_is_not_a_driven_run() {
    let dir = tempfile::tempdir().unwrap();
    let output = ledger()
        .args(["report", "--from-tables"])
        .arg(dir.path())
        .arg("--out")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("run.json"), "{stderr}");
    assert!(stderr.contains("spark/"), "{stderr}");
    assert!(!dir.path().join("out").exists());
}
