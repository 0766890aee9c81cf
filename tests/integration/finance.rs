//! Issue 8: the Excel workbook, thresholds that fail the job, `--month
//! previous`, SQL report sections and `window-ledger query`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use calamine::{open_workbook, Data, Reader, Xlsx};
use tempfile::TempDir;

use crate::common::*;

/// The §7 example A log (March 2026, pmp-2025) plus a second contact.
fn log(dir: &TempDir) -> PathBuf {
    let mut rows = example_rows("2026-03-10", "2026-03-11", "2026-03-13");
    rows.push("e1,+201001234567,inbound,2026-03-12T08:00:00Z,text,,,".into());
    rows.push(
        "e2,+201001234567,outbound,2026-03-12T09:00:00Z,template,marketing,delivered,".into(),
    );
    rows.push("e3,+201001234567,inbound,2026-03-20T08:00:00Z,text,,,".into());
    let lines: Vec<&str> = rows.iter().map(String::as_str).collect();
    write_csv(dir.path(), "log.csv", HEADER, &lines)
}

/// `report` on [`log`] into `dir/run`, with `extra` flags; must succeed.
fn run_report(dir: &TempDir, extra: &[&std::ffi::OsStr]) -> PathBuf {
    let out = dir.path().join("run");
    ledger()
        .args(["report", "--input"])
        .arg(log(dir))
        .arg("--out")
        .arg(&out)
        .args(extra)
        .assert()
        .success();
    out
}

fn cell_text(cell: &Data) -> String {
    match cell {
        Data::String(s) => s.clone(),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Empty => String::new(),
        other => other.to_string(),
    }
}

fn sheet(path: &Path, name: &str) -> Vec<Vec<Data>> {
    let mut workbook: Xlsx<_> = open_workbook(path).unwrap();
    workbook
        .worksheet_range(name)
        .unwrap()
        .rows()
        .map(|r| r.to_vec())
        .collect()
}

#[test]
fn workbook_spend_sheet_matches_summary_csv() {
    let dir = TempDir::new().unwrap();
    let out = run_report(&dir, &[]);
    let xlsx = out.join("report.xlsx");
    let workbook: Xlsx<_> = open_workbook(&xlsx).unwrap();
    let names = workbook.sheet_names();
    for wanted in [
        "Summary",
        "Spend",
        "Avoidable templates",
        "Late replies",
        "Windows",
        "Rates used",
        "Data quality",
    ] {
        assert!(
            names.iter().any(|n| n == wanted),
            "{wanted} missing in {names:?}"
        );
    }
    // summary.csv summed over class and market = the Spend sheet.
    let mut expected: BTreeMap<(String, String, String), f64> = BTreeMap::new();
    for row in read_rows(&out.join("summary.csv")) {
        if row["currency"].is_empty() {
            continue;
        }
        let key = (
            row["month"].clone(),
            row["country"].clone(),
            row["category"].clone(),
        );
        *expected.entry(key).or_default() += row["cost"].parse::<f64>().unwrap();
    }
    let spend = sheet(&xlsx, "Spend");
    assert_eq!(cell_text(&spend[0][5]), "Spend");
    let mut found: BTreeMap<(String, String, String), f64> = BTreeMap::new();
    for row in &spend[1..] {
        let key = (cell_text(&row[0]), cell_text(&row[1]), cell_text(&row[2]));
        let Data::Float(cost) = row[5] else {
            panic!("spend is not a number: {row:?}")
        };
        found.insert(key, cost);
    }
    assert_eq!(found.len(), expected.len(), "{found:?} vs {expected:?}");
    for (key, cost) in &expected {
        assert!(
            (found[key] - cost).abs() < 1e-9,
            "{key:?}: {} vs {cost}",
            found[key]
        );
    }
    let summary = summary_json(&out);
    let total = summary["spend"]["by_currency"][0]["total"]
        .as_f64()
        .unwrap();
    let headline = sheet(&xlsx, "Summary");
    let row = headline
        .iter()
        .find(|r| cell_text(&r[0]) == "Total spend (USD)")
        .expect("total spend row");
    assert_eq!(row[1], Data::Float(total));
    // The rate that priced the marketing templates, with its date.
    let rates = sheet(&xlsx, "Rates used");
    assert!(rates.iter().any(|r| cell_text(&r[0]) == "Saudi Arabia"
        && cell_text(&r[1]) == "marketing"
        && r[3] == Data::Float(0.0455)));
}

#[test]
fn breached_thresholds_exit_3_after_writing_the_report() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("run");
    let assert = ledger()
        .args(["report", "--input"])
        .arg(log(&dir))
        .arg("--out")
        .arg(&out)
        .args([
            "--max-spend",
            "0.05",
            "--max-late-reply-share",
            "0.9",
            "--min-answered-share",
            "0.9",
        ])
        .assert()
        .code(3);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(
        stderr.contains("threshold breached: max_spend (USD)"),
        "{stderr}"
    );
    assert!(stderr.contains("min_answered_share"), "{stderr}");
    assert!(!stderr.contains("max_late_reply_share"), "{stderr}");
    let thresholds = summary_json(&out)["thresholds"].clone();
    let breached: Vec<(String, bool)> = thresholds
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_string(),
                t["breached"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        breached,
        [
            ("max_spend".to_string(), true),
            ("max_late_reply_share".to_string(), false),
            ("min_answered_share".to_string(), true),
        ]
    );
    assert!(out.join("report.html").exists());
    let markdown = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(
        markdown.contains("| max_spend (USD) | 0.05 |"),
        "{markdown}"
    );
    assert!(markdown.contains("| **breached** |"), "{markdown}");

    ledger()
        .args(["report", "--quiet", "--input"])
        .arg(log(&dir))
        .arg("--out")
        .arg(dir.path().join("ok"))
        .args(["--max-spend", "1500", "--max-avoidable-share", "1"])
        .assert()
        .code(0)
        .stderr("");
}

#[test]
fn month_previous_names_the_run_directory_after_the_month_before_now() {
    let dir = TempDir::new().unwrap();
    let log = log(&dir);
    ledger()
        .current_dir(dir.path())
        .args([
            "report",
            "--month",
            "previous",
            "--now",
            "2026-04-02T10:00:00Z",
            "--input",
        ])
        .arg(&log)
        .assert()
        .success();
    let summary = summary_json(&dir.path().join("reports/2026-03"));
    assert_eq!(summary["period"]["label"], "2026-03");
    assert_eq!(summary["outbound"]["total"], 8);
}

#[test]
fn standard_sections_are_written_as_tables_and_shown() {
    let dir = TempDir::new().unwrap();
    let out = run_report(&dir, &[]);
    let by_country = read_rows(&out.join("tables/spend_by_country.csv"));
    let sa = by_country.iter().find(|r| r["country"] == "SA").unwrap();
    // m4 and m8 marketing, m6 and m9 utility (pmp-2025): 2×0.0455 + 2×0.0107.
    assert_eq!(sa["spend"], "0.1124");
    assert_eq!(sa["late_reply"], "0.0455");
    let percentiles = read_rows(&out.join("tables/response_time_percentiles.csv"));
    assert_eq!(percentiles[0]["windows"], "4");
    assert_eq!(percentiles[0]["answered"], "2");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Spend by country"));
    assert!(html.contains("Response-time percentiles"));
}

#[test]
fn a_section_is_added_by_adding_a_file_and_a_bad_one_is_named() {
    let dir = TempDir::new().unwrap();
    let queries = dir.path().join("queries");
    std::fs::create_dir(&queries).unwrap();
    std::fs::write(
        queries.join("blocked.sql"),
        "-- Blocked free-form messages\nSELECT contact, COUNT(*) AS blocked FROM sends WHERE class = 'freeform_blocked' GROUP BY contact ORDER BY contact\n",
    )
    .unwrap();
    let out = run_report(&dir, &["--queries".as_ref(), queries.as_os_str()]);
    let rows = read_rows(&out.join("tables/blocked.csv"));
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0]["contact"].as_str(), rows[0]["blocked"].as_str()),
        ("966501234567", "1")
    );
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Blocked free-form messages"));
    let workbook: Xlsx<_> = open_workbook(out.join("report.xlsx")).unwrap();
    assert!(workbook
        .sheet_names()
        .iter()
        .any(|n| n == "1. Blocked free-form messages"));

    std::fs::write(
        queries.join("broken.sql"),
        "-- Broken\nSELECT nope FROM sends\n",
    )
    .unwrap();
    let assert = ledger()
        .args(["report", "--input"])
        .arg(log(&dir))
        .arg("--out")
        .arg(dir.path().join("bad"))
        .arg("--queries")
        .arg(&queries)
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(
        stderr.contains("broken.sql: the SQL query failed"),
        "{stderr}"
    );
    assert!(stderr.contains("nope"), "{stderr}");
}

#[test]
fn query_prints_one_ad_hoc_result() {
    let dir = TempDir::new().unwrap();
    let assert = ledger()
        .args([
            "query",
            "SELECT class, COUNT(*) AS n FROM sends GROUP BY class ORDER BY class",
            "--csv",
            "--input",
        ])
        .arg(log(&dir))
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert_eq!(
        stdout,
        "class,n\nfreeform_blocked,1\nfreeform_in_window,1\ntemplate_avoidable,3\ntemplate_late_reply,1\ntemplate_needed,2\n"
    );
}

/// The HTML report, the workbook and the SQL section list the avoidable
/// templates in one order: most avoidable spend first, then by name (a tie
/// is no longer broken differently by each), a template without a name
/// last.
#[test]
fn top_templates_are_listed_alike_everywhere() {
    let dir = TempDir::new().unwrap();
    let header = "message_id,contact,direction,timestamp,type,template_name,category,status";
    let mut rows = vec!["i1,+966501234567,inbound,2026-03-10T10:00:00Z,text,,,".to_string()];
    // Sent in the open window: avoidable. Marketing costs, utility is free
    // (pmp-2025), so `b_*` and `a_*` tie at 0 and `m_big` leads.
    let templates = [
        ("b_utility", "utility", 3),
        ("a_utility", "utility", 1),
        ("m_big", "marketing", 2),
        ("", "marketing", 1),
        ("m_small", "marketing", 1),
    ];
    let mut n = 0;
    for (name, category, count) in templates {
        for _ in 0..count {
            n += 1;
            rows.push(format!(
                "t{n},+966501234567,outbound,2026-03-10T11:{n:02}:00Z,template,{name},{category},read"
            ));
        }
    }
    let lines: Vec<&str> = rows.iter().map(String::as_str).collect();
    let log = write_csv(dir.path(), "log.csv", header, &lines);
    let out = dir.path().join("run");
    ledger()
        .args(["report", "--input"])
        .arg(&log)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let expected = ["m_big", "m_small", "", "a_utility", "b_utility"];
    let section: Vec<String> = read_rows(&out.join("tables/top_avoidable_templates.csv"))
        .iter()
        .map(|r| r["template_name"].clone())
        .collect();
    assert_eq!(section, expected, "SQL section");
    let workbook: Vec<String> = sheet(&out.join("report.xlsx"), "Avoidable templates")
        .iter()
        .skip(1)
        .map(|r| cell_text(&r[0]))
        .collect();
    assert_eq!(workbook, expected, "workbook");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let top = html
        .split("<h3>Top templates by avoidable spend</h3>")
        .nth(1)
        .and_then(|rest| rest.split("</table>").next())
        .unwrap();
    let shown: Vec<&str> = top
        .split("<tr><td>")
        .skip(1)
        .map(|row| row.split("</td>").next().unwrap())
        .collect();
    assert_eq!(shown, expected, "HTML report");
}
