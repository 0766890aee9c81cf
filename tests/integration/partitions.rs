//! Pair-partitioned runs (issue 6) give the bytes of a single pass.

use std::fs::File;
use std::path::Path;

use polars::prelude::*;

use crate::common::{files_under, ledger, read_rows, summary_json};

/// A generated log, plus a file of rows that test what crosses parts:
/// ids repeated under other pairs (the first copy valid, or rejected, or in
/// the other file), rejected rows, and business numbers spelled two ways.
fn logs(dir: &Path) -> std::path::PathBuf {
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let generated = logs.join("a.parquet");
    ledger()
        .args([
            "generate",
            "--contacts",
            "400",
            "--days",
            "92",
            "--seed",
            "5",
        ])
        .arg("--out")
        .arg(&generated)
        .assert()
        .success();
    crafted_file(&logs, &generated);
    logs
}

/// `b.parquet` in `logs`: rows that test what crosses parts, some of them
/// repeating the first id of the `generated` log.
pub(crate) fn crafted_file(logs: &Path, generated: &Path) {
    let first_id = ParquetReader::new(File::open(generated).unwrap())
        .finish()
        .unwrap()
        .column("message_id")
        .unwrap()
        .str()
        .unwrap()
        .get(0)
        .unwrap()
        .to_string();
    let rows: [[Option<&str>; 7]; 9] = [
        // id, business_number, contact, direction, timestamp, type, category
        row(
            "x1",
            Some("+966 11 000 0001"),
            Some("+447700900001"),
            "outbound",
            Some("2026-10-03T10:00:00Z"),
            "template",
        ),
        row(
            "x1",
            Some("966110000001"),
            Some("+966500000002"),
            "outbound",
            Some("2026-10-03T11:00:00Z"),
            "template",
        ),
        row(
            "x2",
            None,
            Some("+201000000003"),
            "outbound",
            None,
            "template",
        ),
        row(
            "x2",
            None,
            Some("+201000000004"),
            "outbound",
            Some("2026-10-04T10:00:00Z"),
            "template",
        ),
        row(
            &first_id,
            None,
            Some("+919800000005"),
            "outbound",
            Some("2026-10-05T10:00:00Z"),
            "template",
        ),
        row(
            "x3",
            None,
            None,
            "outbound",
            Some("2026-10-05T10:00:00Z"),
            "text",
        ),
        row(
            "x4",
            None,
            Some("+919800000006"),
            "sideways",
            Some("2026-10-05T10:00:00Z"),
            "text",
        ),
        row(
            "x5",
            Some(" 966110000001 "),
            Some("+966500000002"),
            "inbound",
            Some("2026-10-06T10:00:00Z"),
            "text",
        ),
        row(
            "x6",
            Some("966110000001"),
            Some("+966500000002"),
            "outbound",
            Some("2026-10-06T10:30:00Z"),
            "text",
        ),
    ];
    let names = [
        "message_id",
        "business_number",
        "contact",
        "direction",
        "timestamp",
        "type",
        "category",
    ];
    let columns: Vec<Column> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            Column::new(
                (*name).into(),
                rows.iter().map(|r| r[i]).collect::<Vec<_>>(),
            )
        })
        .collect();
    let mut crafted = DataFrame::new_infer_height(columns).unwrap();
    ParquetWriter::new(File::create(logs.join("b.parquet")).unwrap())
        .finish(&mut crafted)
        .unwrap();
}

fn row<'a>(
    id: &'a str,
    business: Option<&'a str>,
    contact: Option<&'a str>,
    direction: &'a str,
    timestamp: Option<&'a str>,
    kind: &'a str,
) -> [Option<&'a str>; 7] {
    let category = (kind == "template").then_some("marketing");
    [
        Some(id),
        business,
        contact,
        Some(direction),
        timestamp,
        Some(kind),
        category,
    ]
}

/// Runs `report` for October (September is its previous month) on `logs`
/// with `--partition-rows rows`; returns stderr (the stage timings).
fn report(logs: &Path, out: &Path, rows: &str, extra: &[&str]) -> String {
    let output = ledger()
        .env("WINDOW_LEDGER_TIMINGS", "1")
        .args(["report", "--allow-rejected", "--service-free-tier", "25"])
        .args(["--month", "2026-10", "--compare-regime", "pmp-2025"])
        .args(["--partition-rows", rows])
        .args(extra)
        .arg("--input")
        .arg(logs)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    stderr
}

#[test]
fn a_run_in_parts_writes_the_bytes_of_a_single_pass() {
    let dir = tempfile::tempdir().unwrap();
    let logs = logs(dir.path());
    let single = dir.path().join("single");
    let parts = dir.path().join("parts");
    // Parts of a log this small are held in memory; `--hold-bytes 0` cuts
    // them into files.
    let in_files = dir.path().join("parts-in-files");
    let single_log = report(&logs, &single, "0", &[]);
    let parts_log = report(&logs, &parts, "900", &[]);
    let in_files_log = report(&logs, &in_files, "900", &["--hold-bytes", "0"]);
    assert!(parts_log.contains("parts (held in memory)"), "{parts_log}");
    assert!(in_files_log.contains("parts (in files)"), "{in_files_log}");
    // A single pass is the same chain over one part.
    assert!(single_log.contains("part 1 of 1: windows"), "{single_log}");
    let count = parts_log
        .lines()
        .find_map(|l| l.split("part 1 of ").nth(1))
        .and_then(|rest| rest.split(':').next())
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or_else(|| panic!("no parts in {parts_log}"));
    assert!(count >= 5, "{count} parts");

    let files = files_under(&single);
    for run in [&parts, &in_files] {
        assert_eq!(files, files_under(run));
        for file in &files {
            let (a, b) = (
                std::fs::read(single.join(file)).unwrap(),
                std::fs::read(run.join(file)).unwrap(),
            );
            assert!(a == b, "{} differs in {}", file.display(), run.display());
        }
    }
    // The part files are gone.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".parts-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");

    // What the crafted rows test happened: x1's second copy (another pair)
    // and the repeated generated id are duplicates; x2's first copy is
    // rejected, so its second is kept.
    let sends = read_rows(&single.join("sends.csv"));
    let sent = |id: &str| sends.iter().filter(|r| r["message_id"] == id).count();
    assert_eq!((sent("x1"), sent("x2"), sent("x6")), (1, 1, 1));
    let x1 = sends.iter().find(|r| r["message_id"] == "x1").unwrap();
    assert_eq!(x1["contact"], "447700900001");
    let rejected = read_rows(&single.join("rejected.csv"));
    let reasons: Vec<&str> = rejected.iter().map(|r| r["reason"].as_str()).collect();
    assert_eq!(rejected.len(), 3, "{reasons:?}");
    let summary = summary_json(&single);
    let b = summary["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with("b.parquet"))
        .unwrap();
    assert_eq!(b["duplicates"], 2, "{b}");
    // The free tier binds over the parts: 25 per business number and month.
    let free = sends
        .iter()
        .filter(|r| r["pricing_rule"] == "free_service_tier")
        .count();
    assert!(free > 0 && free % 25 == 0, "{free} free service messages");
}

#[test]
fn parquet_row_tables_and_hashed_contacts_of_a_run_in_parts_hold_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let logs = logs(dir.path());
    let extra = [
        "--row-tables",
        "both",
        "--hash-contacts",
        "--salt",
        "s3cret",
    ];
    let (single, parts) = (dir.path().join("single"), dir.path().join("parts"));
    report(&logs, &single, "0", &extra);
    report(&logs, &parts, "700", &extra);
    for table in ["sends.csv", "windows.csv", "summary.json", "rejected.csv"] {
        let (a, b) = (single.join(table), parts.join(table));
        assert!(
            std::fs::read(&a).unwrap() == std::fs::read(b).unwrap(),
            "{table}"
        );
    }
    let read = |path: &Path| {
        ParquetReader::new(File::open(path).unwrap())
            .finish()
            .unwrap()
    };
    for table in ["sends.parquet", "windows.parquet"] {
        let (a, b) = (read(&single.join(table)), read(&parts.join(table)));
        assert!(a.height() > 100, "{table}: {}", a.height());
        assert!(a.equals_missing(&b), "{table} differs");
    }
    let sends = read_rows(&parts.join("sends.csv"));
    assert!(
        sends.iter().all(|r| r["contact"].len() == 32),
        "contacts are hashed"
    );
}

#[test]
fn a_query_over_a_log_in_parts_answers_as_over_one_pass() {
    let dir = tempfile::tempdir().unwrap();
    let logs = logs(dir.path());
    let answer = |rows: &str, table: &str| {
        let output = ledger()
            .current_dir(dir.path())
            .args(["query", "--csv", "--partition-rows", rows])
            .arg(format!("SELECT COUNT(*) AS n FROM {table}"))
            .arg("--input")
            .arg(&logs)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    // COUNT(*) over a union of one scan per part file failed in polars.
    for table in ["sends", "windows", "messages"] {
        let single = answer("0", table);
        assert!(single.lines().count() == 2, "{single}");
        assert_eq!(answer("900", table), single, "{table}");
    }
    // Nothing is left in the working directory (no work files, no reports/).
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["logs"]);
}

/// A card that tiers utility and authentication in every market of the
/// built-in card from 2026-10-15 (the built-in rates before that).
fn tier_card(dir: &Path) -> std::path::PathBuf {
    let built_in = Path::new(env!("CARGO_MANIFEST_DIR")).join("rates/meta-usd.csv");
    let markets: std::collections::BTreeSet<String> = read_rows(&built_in)
        .into_iter()
        .map(|row| row["market"].clone())
        .collect();
    let mut text = String::from("market,category,price,currency,effective_from,tier\n");
    for market in &markets {
        for category in ["utility", "authentication"] {
            text.push_str(&format!("{market},{category},0.02,USD,2026-10-15,0:3\n"));
            text.push_str(&format!("{market},{category},0.01,USD,2026-10-15,4:MAX\n"));
        }
    }
    let path = dir.join("tiers.csv");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn volume_tiers_of_a_run_in_parts_are_those_of_a_single_pass() {
    let dir = tempfile::tempdir().unwrap();
    let logs = logs(dir.path());
    let built_in = Path::new(env!("CARGO_MANIFEST_DIR")).join("rates/meta-usd.csv");
    let tiers = tier_card(dir.path());
    let (built_in, tiers) = (built_in.to_str().unwrap(), tiers.to_str().unwrap());
    let extra = ["--rates", built_in, "--rates", tiers];
    let (single, parts) = (dir.path().join("single"), dir.path().join("parts"));
    report(&logs, &single, "0", &extra);
    report(&logs, &parts, "900", &extra);
    let differing: Vec<_> = files_under(&single)
        .into_iter()
        .filter(|file| {
            std::fs::read(single.join(file)).unwrap() != std::fs::read(parts.join(file)).unwrap()
        })
        .collect();
    assert!(
        differing.is_empty(),
        "{differing:?} differ between the two runs"
    );
    // The counter crosses business numbers and contacts, hence parts.
    let sends = read_rows(&single.join("sends.csv"));
    let in_tier = |tier: &str| sends.iter().filter(|r| r["tier"] == tier).count();
    assert!(
        in_tier("0:3") > 0 && in_tier("4:MAX") > in_tier("0:3"),
        "{} / {}",
        in_tier("0:3"),
        in_tier("4:MAX")
    );
}

/// Conversations (docs/pricing.md §11) span a pair only, their numbers and
/// the `cbp` service free tier span the run: over two years across the
/// July 2025 switch, a run in parts writes the bytes of one pass.
#[test]
fn conversations_across_the_switch_in_parts_are_those_of_a_single_pass() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("two-years.parquet");
    ledger()
        .args(["generate", "--start", "2024-01-01", "--days", "731"])
        .args(["--contacts", "150", "--seed", "11", "--out"])
        .arg(&log)
        .assert()
        .success();
    let rates = Path::new(env!("CARGO_MANIFEST_DIR")).join("rates");
    let run = |out: &Path, rows: &str, extra: &[&str]| {
        let output = ledger()
            .env("WINDOW_LEDGER_TIMINGS", "1")
            .args(["report", "--allow-rejected", "--allow-unpriced"])
            .args(["--service-free-tier", "3", "--row-tables", "both"])
            .args(["--partition-rows", rows])
            .args(extra)
            .arg("--rates")
            .arg(rates.join("meta-usd.csv"))
            .arg("--rates")
            .arg(rates.join("meta-usd-cbp.csv"))
            .arg("--input")
            .arg(&log)
            .arg("--out")
            .arg(out)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(output.status.success(), "{stderr}");
        stderr
    };
    let single = dir.path().join("single");
    run(&single, "0", &[]);
    let conversations = read_rows(&single.join("conversations.csv"));
    assert!(
        conversations.len() > 200,
        "{} conversations",
        conversations.len()
    );
    let rules: std::collections::BTreeSet<String> = read_rows(&single.join("sends.csv"))
        .into_iter()
        .map(|r| r["pricing_rule"].clone())
        .collect();
    for rule in [
        "in_conversation",
        "free_service",
        "free_service_tier",
        "charged",
    ] {
        assert!(rules.contains(rule), "no {rule} in {rules:?}");
    }
    for (name, extra) in [("parts", vec![]), ("in-files", vec!["--hold-bytes", "0"])] {
        let parts = dir.path().join(name);
        let log = run(&parts, "2000", &extra);
        assert!(log.contains("part 3 of"), "{log}");
        let files = files_under(&single);
        assert_eq!(files, files_under(&parts));
        for file in files
            .iter()
            .filter(|f| !f.to_string_lossy().ends_with(".parquet"))
        {
            let (a, b) = (
                std::fs::read(single.join(file)).unwrap(),
                std::fs::read(parts.join(file)).unwrap(),
            );
            assert!(a == b, "{} differs in {name}", file.display());
        }
    }
}
