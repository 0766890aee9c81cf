//! The binary as a user runs it: inputs of every format, bad input, exit
//! codes, row accounting, determinism.

use predicates::str::contains;
use tempfile::TempDir;

use crate::common::*;

#[test]
fn missing_column_is_exit_2_and_lists_what_was_found() {
    let dir = TempDir::new().unwrap();
    let log = write_csv(
        dir.path(),
        "bsp.csv",
        "id,phone,direction,timestamp,type",
        &["1,966,inbound,1773136800,text"],
    );
    ledger()
        .args(["report", "--input"])
        .arg(&log)
        .arg("--out")
        .arg(dir.path().join("out"))
        .assert()
        .code(2)
        .stderr(contains(
            "bsp.csv: missing required column(s) message_id, contact",
        ))
        .stderr(contains(
            "columns found: id, phone, direction, timestamp, type",
        ));
    assert!(!dir.path().join("out").exists(), "no half report");
}

#[test]
fn unknown_extension_and_missing_file_are_exit_2() {
    let dir = TempDir::new().unwrap();
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "hello").unwrap();
    ledger()
        .args(["report", "--input"])
        .arg(&notes)
        .assert()
        .code(2)
        .stderr(contains("unknown format"));
    ledger()
        .args(["report", "--input"])
        .arg(dir.path().join("nope.csv"))
        .assert()
        .code(2)
        .stderr(contains("nope.csv: cannot read it"));
}

#[test]
fn bad_rows_are_rejected_with_file_row_line_and_reason() {
    let dir = TempDir::new().unwrap();
    let log = write_csv(
        dir.path(),
        "log.csv",
        HEADER,
        &[
            "a1,+966501234567,inbound,2026-03-10T10:00:00Z,text,,,",
            "a2,+966501234567,sideways,2026-03-10T10:01:00Z,text,,,",
            "a3,+966501234567,outbound,not-a-time,text,,,",
            "a4,,outbound,2026-03-10T10:03:00Z,text,,,",
            "a5,+966501234567,outbound,2026-03-10T10:04:00Z",
            "\"a6\",\"+966 50 123 4567\",OUTBOUND,2026-03-10 10:05:00+00:00,\"te\nxt\",,,",
            "a1,+966501234567,inbound,2026-03-10T10:00:00Z,text,,,",
            "",
            "a7,+966501234567,outbound,2026-03-10T10:06:00Z,text,,delivered,131047",
        ],
    );
    let out = dir.path().join("out");
    // Rejected rows: the whole report is written, then exit 2 (issue 7).
    ledger()
        .args(["report", "--input"])
        .arg(&log)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(2);
    let rejected = read_rows(&out.join("rejected.csv"));
    let reasons: Vec<(&str, &str, &str)> = rejected
        .iter()
        .map(|r| (r["row"].as_str(), r["line"].as_str(), r["reason"].as_str()))
        .collect();
    assert_eq!(
        reasons,
        vec![
            ("2", "3", "unknown direction (expected inbound or outbound)"),
            (
                "3",
                "4",
                "unparseable timestamp (expected RFC 3339 or 10/13-digit Unix time)"
            ),
            ("4", "5", "missing contact"),
            ("5", "6", "expected 8 fields as in the header, found 4"),
        ]
    );
    let summary = summary_json(&out);
    assert_eq!(summary["rows"]["read"], 8);
    assert_eq!(summary["rows"]["processed"], 3);
    assert_eq!(summary["rows"]["rejected"], 4);
    assert_eq!(summary["rows"]["duplicates"], 1);
    assert_eq!(
        summary["data_quality"]["error_code_without_failed_status"],
        1
    );
    let sends = read_rows(&out.join("sends.csv"));
    let quoted = sends.iter().find(|r| r["message_id"] == "a6").unwrap();
    assert_eq!(quoted["contact"], "966501234567", "formatting stripped");
    assert_eq!(
        quoted["type"], "te\nxt",
        "quoted newline kept inside the field"
    );
    let failed = sends.iter().find(|r| r["message_id"] == "a7").unwrap();
    assert_eq!(
        failed["failed"], "true",
        "an error code means failed (§8.20)"
    );
}

#[test]
fn retry_whose_first_copy_was_rejected_is_kept() {
    let dir = TempDir::new().unwrap();
    let log = write_csv(
        dir.path(),
        "log.csv",
        HEADER,
        &[
            "r1,+966501234567,outbound,garbage,text,,,",
            "r1,+966501234567,outbound,2026-03-10T10:00:00Z,text,,,",
        ],
    );
    let out = dir.path().join("out");
    ledger()
        .args(["report", "--allow-rejected", "--input"])
        .arg(&log)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let summary = summary_json(&out);
    assert_eq!(summary["rows"]["rejected"], 1);
    assert_eq!(summary["rows"]["duplicates"], 0);
    assert_eq!(summary["outbound"]["total"], 1);
}

#[test]
fn csv_ndjson_gzip_and_parquet_inputs_agree() {
    let dir = TempDir::new().unwrap();
    let parquet = dir.path().join("log.parquet");
    ledger()
        .args([
            "generate",
            "--contacts",
            "60",
            "--days",
            "20",
            "--seed",
            "3",
            "--out",
        ])
        .arg(&parquet)
        .assert()
        .success();
    let csv_path = dir.path().join("log.csv");
    ledger()
        .args([
            "generate",
            "--contacts",
            "60",
            "--days",
            "20",
            "--seed",
            "3",
            "--out",
        ])
        .arg(&csv_path)
        .assert()
        .success();
    // The same rows as NDJSON, and the CSV gzipped.
    let rows = read_rows(&csv_path);
    let ndjson: String = rows
        .iter()
        .map(|r| serde_json::to_string(r).unwrap() + "\n")
        .collect();
    std::fs::write(dir.path().join("log.ndjson"), ndjson).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &std::fs::read(&csv_path).unwrap()).unwrap();
    std::fs::write(dir.path().join("log.csv.gz"), gz.finish().unwrap()).unwrap();

    let mut outputs = Vec::new();
    for name in ["log.parquet", "log.csv", "log.ndjson", "log.csv.gz"] {
        let out = dir.path().join(format!("out-{name}"));
        ledger()
            .args(["report", "--input"])
            .arg(dir.path().join(name))
            .arg("--out")
            .arg(&out)
            .assert()
            .success();
        outputs.push(std::fs::read(out.join("sends.csv")).unwrap());
    }
    assert!(outputs[0].len() > 1000);
    for other in &outputs[1..] {
        assert!(
            other == &outputs[0],
            "every format gives the same sends.csv"
        );
    }
}

#[test]
fn same_input_gives_identical_bytes_and_directories_concatenate() {
    let dir = TempDir::new().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    for (i, seed) in [(1, "11"), (2, "12")] {
        ledger()
            .args([
                "generate",
                "--contacts",
                "40",
                "--days",
                "15",
                "--seed",
                seed,
                "--out",
            ])
            .arg(logs.join(format!("part{i}.csv")))
            .assert()
            .success();
    }
    std::fs::write(logs.join("README.txt"), "not a log").unwrap();
    let run = |name: &str| {
        let out = dir.path().join(name);
        ledger()
            .args(["report", "--input"])
            .arg(&logs)
            .arg("--out")
            .arg(&out)
            .assert()
            .success();
        out
    };
    let (a, b) = (run("a"), run("b"));
    for file in [
        "sends.csv",
        "windows.csv",
        "summary.csv",
        "rejected.csv",
        "summary.json",
        "summary.md",
    ] {
        assert!(
            std::fs::read(a.join(file)).unwrap() == std::fs::read(b.join(file)).unwrap(),
            "{file} differs"
        );
    }
    let summary = summary_json(&a);
    assert_eq!(summary["files"].as_array().unwrap().len(), 2);
    assert!(summary["warnings"][0]
        .as_str()
        .unwrap()
        .contains("README.txt: skipped"));
    assert_eq!(summary["rows"]["accounted"], true);
}

#[test]
fn month_selects_sends_but_windows_use_all_history() {
    let dir = TempDir::new().unwrap();
    let log = write_csv(
        dir.path(),
        "log.csv",
        HEADER,
        &[
            "b1,+966501234567,inbound,2026-09-30T23:00:00Z,text,,,",
            "b2,+966501234567,outbound,2026-10-01T01:00:00Z,text,,delivered,",
            "b3,+966501234567,outbound,2026-09-30T23:30:00Z,text,,delivered,",
        ],
    );
    let out = dir.path().join("oct");
    ledger()
        .args(["report", "--month", "2026-10", "--input"])
        .arg(&log)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let class = column_by_id(&out.join("sends.csv"), "class");
    assert_eq!(class.len(), 1);
    assert_eq!(
        class["b2"], "freeform_in_window",
        "window opened in September still counts"
    );
    assert_eq!(summary_json(&out)["period"]["label"], "2026-10");
}

#[test]
fn demo_writes_a_full_run() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("demo");
    ledger()
        .args(["demo", "--contacts", "300", "--out"])
        .arg(&out)
        .assert()
        .success();
    for file in [
        "sends.csv",
        "windows.csv",
        "summary.csv",
        "rejected.csv",
        "summary.json",
        "summary.md",
        "input/demo-log.parquet",
    ] {
        assert!(out.join(file).exists(), "{file}");
    }
    let summary = summary_json(&out);
    let by_class = &summary["outbound"]["by_class"];
    for class in [
        "freeform_in_window",
        "freeform_blocked",
        "template_avoidable",
        "template_late_reply",
        "template_needed",
    ] {
        assert!(by_class[class].as_u64().unwrap() > 0, "demo has {class}");
    }
    assert!(summary["rows"]["duplicates"].as_u64().unwrap() <= 20);
    assert_in_pair_order(&out.join("sends.csv"));
}

/// Rows are ordered by (business_number, contact, timestamp, message_id),
/// the order of `windows.csv` (README, "Row order").
fn assert_in_pair_order(sends: &std::path::Path) {
    let key = |row: &std::collections::BTreeMap<String, String>| {
        let at = chrono::DateTime::parse_from_rfc3339(&row["timestamp"]).unwrap();
        (
            row["business_number"].clone(),
            row["contact"].clone(),
            at,
            row["message_id"].clone(),
        )
    };
    let keys: Vec<_> = read_rows(sends).iter().map(key).collect();
    assert!(keys.len() > 100, "{} sends", keys.len());
    for pair in keys.windows(2) {
        assert!(pair[0] <= pair[1], "{:?} before {:?}", pair[0], pair[1]);
    }
}

#[test]
fn help_explains_every_subcommand() {
    for sub in ["report", "demo", "generate"] {
        ledger()
            .args([sub, "--help"])
            .assert()
            .success()
            .stdout(contains("Usage"));
    }
    ledger()
        .arg("--help")
        .assert()
        .success()
        .stdout(contains("Exit codes"));
}

/// Every file under `dir` with its bytes, by path relative to `dir`.
fn snapshot(dir: &std::path::Path) -> std::collections::BTreeMap<std::path::PathBuf, Vec<u8>> {
    let mut files = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).unwrap().to_path_buf();
                files.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

/// kill -9 at several moments of a run: the run directory is always either
/// the whole previous report or the whole new one, never a mix, and a
/// later run cleans up what the killed one left.
#[test]
fn a_killed_run_never_leaves_half_a_report() {
    let dir = TempDir::new().unwrap();
    let log = dir.path().join("log.parquet");
    ledger()
        .args(["generate", "--contacts", "4000", "--days", "30", "--out"])
        .arg(&log)
        .assert()
        .success();
    let run = |out: &std::path::Path, rule: &str| {
        ledger()
            .args(["report", "--quiet", "--rule", rule, "--input"])
            .arg(&log)
            .arg("--out")
            .arg(out)
            .assert()
            .success();
    };
    let out = dir.path().join("run");
    run(&out, "customer-only");
    let previous = snapshot(&out);
    let fresh = dir.path().join("fresh");
    run(&fresh, "any-message");
    let new = snapshot(&fresh);
    assert_ne!(previous, new);
    for delay_ms in [300, 900, 1500, 2500, 4000] {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("window-ledger"))
            .args(["report", "--quiet", "--rule", "any-message", "--input"])
            .arg(&log)
            .arg("--out")
            .arg(&out)
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let now = snapshot(&out);
        assert!(
            now == previous || now == new,
            "half a report after a kill at {delay_ms} ms"
        );
        if now == new {
            run(&out, "customer-only");
        }
    }
    run(&out, "customer-only");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".run."))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn rejected_rows_of_a_native_parquet_timestamp_show_it_in_utc() {
    use polars::prelude::*;
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("log.parquet");
    let at = 1_773_136_800_500_000i64; // 2026-03-10T10:00:00.5Z
    let mut frame = df!(
        "message_id" => ["m1", "m2", "m3"],
        "contact" => [Some("+966501234567"), None, Some("+966501234567")],
        "direction" => ["inbound", "outbound", "outbound"],
        "timestamp" => [at, at + 60_000_000, at + 120_000_000],
        "type" => ["text", "text", "text"],
    )
    .unwrap()
    .lazy()
    .with_column(col("timestamp").cast(DataType::Datetime(
        TimeUnit::Microseconds,
        Some(TimeZone::UTC),
    )))
    .collect()
    .unwrap();
    ParquetWriter::new(std::fs::File::create(&path).unwrap())
        .finish(&mut frame)
        .unwrap();
    let out = dir.path().join("out");
    ledger()
        .args(["report", "--allow-rejected", "--input"])
        .arg(&path)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let rejected = read_rows(&out.join("rejected.csv"));
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert_eq!(rejected[0]["message_id"], "m2");
    assert_eq!(rejected[0]["reason"], "missing contact");
    assert_eq!(rejected[0]["timestamp"], "2026-03-10T10:01:00.500Z");
    assert_eq!(read_rows(&out.join("sends.csv")).len(), 1);
}
