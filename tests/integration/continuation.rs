//! `--continue-from`: runs that read only the new files give, for their
//! period, the outputs of one run over all history (README "Monthly runs").

use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::common::{files_under, ledger, summary_json};

/// Options every run of these tests shares: a small free tier, so that
/// October (pmp-2026-10) counts past it.
const RULES: [&str; 4] = ["--quiet", "--allow-rejected", "--service-free-tier", "20"];

/// A generated log of July … October 2026, one CSV file per part:
/// `[from, to)` by timestamp text (`2026-08`, `2026-10-16`, …).
fn split_log(dir: &Path, cuts: &[(&str, &str, &str)]) -> Vec<PathBuf> {
    split_log_from(dir, "2026-07-01", cuts)
}

/// [`split_log`] of a log of 123 days from `start`.
fn split_log_from(dir: &Path, start: &str, cuts: &[(&str, &str, &str)]) -> Vec<PathBuf> {
    let all = dir.join("all.csv");
    ledger()
        .args([
            "generate",
            "--contacts",
            "300",
            "--days",
            "123",
            "--businesses",
            "2",
        ])
        .args(["--start", start, "--seed", "11", "--out"])
        .arg(&all)
        .assert()
        .success();
    let text = std::fs::read_to_string(&all).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let rows: Vec<&str> = lines.collect();
    let at = header.split(',').position(|c| c == "timestamp").unwrap();
    cuts.iter()
        .map(|(name, from, to)| {
            let path = dir.join(name);
            let mut out = format!("{header}\n");
            for row in &rows {
                let ts = row.split(',').nth(at).unwrap();
                if ts >= *from && ts < *to {
                    out.push_str(row);
                    out.push('\n');
                }
            }
            std::fs::write(&path, out).unwrap();
            path
        })
        .collect()
}

fn run(inputs: &[&PathBuf], out: &Path, extra: &[&str]) {
    let mut command = ledger();
    command.arg("report").arg("--input").args(inputs);
    command.args(RULES).args(extra).arg("--out").arg(out);
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Fails with exit 2 and returns stderr.
fn refused(inputs: &[&PathBuf], out: &Path, extra: &[&str]) -> String {
    let mut command = ledger();
    command.arg("report").arg("--input").args(inputs);
    command.args(RULES).args(extra).arg("--out").arg(out);
    let output = command.output().unwrap();
    assert_eq!(output.status.code(), Some(2), "{:?}", output);
    String::from_utf8_lossy(&output.stderr).to_string()
}

/// `summary.json` without what describes the run's own input files.
fn summary_of_period(dir: &Path) -> serde_json::Value {
    let mut summary = summary_json(dir);
    let object = summary.as_object_mut().unwrap();
    object.remove("rows");
    object.remove("files");
    summary
}

/// The ▲/▼ changes of the headline cards.
fn deltas(dir: &Path) -> Vec<String> {
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    html.split("<div class=\"delta ")
        .skip(1)
        .map(|s| s.split("</div>").next().unwrap().to_string())
        .collect()
}

/// Every table, chart and the summary of `a` and `b` are the same bytes
/// (the report pages differ only in the input accounting they show).
fn assert_same_period(a: &Path, b: &Path) {
    let files: Vec<PathBuf> = files_under(a)
        .into_iter()
        .filter(|f| {
            let name = f.to_string_lossy();
            (name.ends_with(".csv") || name.ends_with(".svg"))
                && !name.starts_with("state")
                && name != "rejected.csv"
        })
        .collect();
    assert!(files.iter().any(|f| f == Path::new("sends.csv")));
    assert_eq!(
        files,
        files_under(b)
            .into_iter()
            .filter(|f| files.contains(f))
            .collect::<Vec<_>>()
    );
    for file in &files {
        let x = std::fs::read(a.join(file)).unwrap();
        let y = std::fs::read(b.join(file)).unwrap();
        assert!(x == y, "{} differs between {a:?} and {b:?}", file.display());
    }
    assert_eq!(summary_of_period(a), summary_of_period(b));
    assert_eq!(deltas(a), deltas(b));
}

/// Runs each month of `files` (one file a month) twice: over all the files
/// with `--month`, and over its own file continuing from the month before;
/// checks that they agree. Returns the chained run directories.
fn chain_months(d: &Path, files: &[PathBuf], months: &[&str], extra: &[&str]) -> Vec<PathBuf> {
    let all: Vec<&PathBuf> = files.iter().collect();
    let mut chained: Vec<PathBuf> = Vec::new();
    for (file, month) in files.iter().zip(months) {
        let whole = d.join(format!("whole-{month}"));
        let mut options = vec!["--month", month];
        options.extend(extra);
        run(&all, &whole, &options);
        let previous = chained.last().map(|p| p.to_string_lossy().to_string());
        if let Some(p) = &previous {
            options.extend(["--continue-from", p.as_str()]);
        }
        let this = d.join(format!("chained-{month}"));
        run(&[file], &this, &options);
        assert_same_period(&whole, &this);
        chained.push(this);
    }
    chained
}

#[test]
fn four_monthly_runs_continued_give_the_months_of_one_run_over_all_history() {
    let dir = TempDir::new().unwrap();
    let files = split_log(
        dir.path(),
        &[
            ("07.csv", "2026-07", "2026-08"),
            ("08.csv", "2026-08", "2026-09"),
            ("09.csv", "2026-09", "2026-10"),
            ("10.csv", "2026-10", "2026-11"),
        ],
    );
    let months = ["2026-07", "2026-08", "2026-09", "2026-10"];
    let chained = chain_months(dir.path(), &files, &months, &[]);
    // August onwards compares with the month before, from the state.
    assert!(deltas(&chained[0]).is_empty());
    assert!(!deltas(&chained[1]).is_empty());
    // October is priced with the free tier the runs must count alike.
    let summary = summary_json(&chained[3]);
    assert_eq!(summary["pricing"]["regimes_used"][0], "pmp-2026-10");
}

#[test]
fn continued_months_of_conversation_pricing_count_conversations_alike() {
    let dir = TempDir::new().unwrap();
    let files = split_log_from(
        dir.path(),
        "2024-08-01",
        &[
            ("08.csv", "2024-08", "2024-09"),
            ("09.csv", "2024-09", "2024-10"),
            ("10.csv", "2024-10", "2024-11"),
        ],
    );
    // The built-in card has no conversation rates: counts, not costs.
    let months = ["2024-08", "2024-09", "2024-10"];
    let chained = chain_months(dir.path(), &files, &months, &["--allow-unpriced"]);
    for run in &chained {
        assert!(run.join("conversations.csv").exists());
    }
}

#[test]
fn two_half_month_runs_give_the_month_of_one_run() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let files = split_log(
        d,
        &[
            ("before.csv", "2026-07", "2026-10"),
            ("first-half.csv", "2026-10", "2026-10-16"),
            ("second-half.csv", "2026-10-16", "2026-11"),
        ],
    );
    let whole = d.join("whole");
    run(
        &files.iter().collect::<Vec<_>>(),
        &whole,
        &["--month", "2026-10"],
    );
    let september = d.join("september");
    run(&[&files[0]], &september, &["--month", "2026-09"]);
    let first = d.join("first-half");
    let from = september.to_string_lossy().to_string();
    run(
        &[&files[1]],
        &first,
        &[
            "--from",
            "2026-10-01",
            "--to",
            "2026-10-15",
            "--continue-from",
            &from,
        ],
    );
    // The state holds October so far: the second half reports the month.
    let second = d.join("second-half");
    let from = first.to_string_lossy().to_string();
    run(
        &[&files[2]],
        &second,
        &["--month", "2026-10", "--continue-from", &from],
    );
    assert_same_period(&whole, &second);
}

#[test]
fn overlap_gap_and_other_rules_are_refused() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let files = split_log(
        d,
        &[
            ("07.csv", "2026-07", "2026-08"),
            ("08.csv", "2026-08", "2026-09"),
            ("09.csv", "2026-09", "2026-10"),
        ],
    );
    let july = d.join("july");
    run(&[&files[0]], &july, &["--month", "2026-07"]);
    let from = july.to_string_lossy().to_string();
    let continuing = ["--continue-from", from.as_str()];

    let overlap = refused(&[&files[0], &files[1]], &d.join("x1"), &continuing);
    assert!(overlap.contains("overlap"), "{overlap}");
    assert!(overlap.contains("2026-08-01T00:00:00Z"), "{overlap}");

    let gap = refused(&[&files[2]], &d.join("x2"), &continuing);
    assert!(gap.contains("2026-08-01 … 2026-08-31"), "{gap}");
    let mut allowed = continuing.to_vec();
    allowed.push("--allow-gap");
    run(&[&files[2]], &d.join("gap-allowed"), &allowed);

    let mut other = continuing.to_vec();
    other.extend(["--billing-tz", "Asia/Riyadh"]);
    let rules = refused(&[&files[1]], &d.join("x3"), &other);
    assert!(
        rules.contains("--billing-tz (UTC then, Asia/Riyadh now)"),
        "{rules}"
    );

    let early = refused(
        &[&files[1]],
        &d.join("x4"),
        &["--continue-from", &from, "--month", "2026-07"],
    );
    assert!(early.contains("carried forward"), "{early}");

    // A month reported from a log that stops mid-month is taken as whole.
    let early = d.join("early");
    let half = split_log(
        d,
        &[
            ("aug-a.csv", "2026-08", "2026-08-16"),
            ("aug-b.csv", "2026-08-16", "2026-09"),
        ],
    );
    run(
        &[&half[0]],
        &early,
        &["--month", "2026-08", "--continue-from", &from],
    );
    let early = early.to_string_lossy().to_string();
    let stopped = refused(&[&half[1]], &d.join("x7"), &["--continue-from", &early]);
    assert!(
        stopped
            .contains("its period ran to 2026-09-01T00:00:00Z but its input stopped at 2026-08-15"),
        "{stopped}"
    );

    let nowhere = d.join("nowhere").to_string_lossy().to_string();
    let missing = refused(&[&files[1]], &d.join("x6"), &["--continue-from", &nowhere]);
    assert!(missing.contains("no state/state.json there"), "{missing}");

    let state = july.join("state/state.json");
    let text = std::fs::read_to_string(&state).unwrap();
    std::fs::write(
        &state,
        text.replace("\"state_version\": 1", "\"state_version\": 7"),
    )
    .unwrap();
    let version = refused(&[&files[1]], &d.join("x5"), &continuing);
    assert!(version.contains("state version 7"), "{version}");
}

#[test]
fn a_window_is_named_by_the_message_that_opened_it() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let files = split_log(d, &[("07.csv", "2026-07", "2026-08")]);
    let out = d.join("run");
    run(&[&files[0]], &out, &[]);
    let windows = crate::common::read_rows(&out.join("windows.csv"));
    let log = crate::common::read_rows(&files[0]);
    let inbound_at: std::collections::BTreeMap<&str, (&str, &str)> = log
        .iter()
        .filter(|r| r["direction"] == "inbound")
        .map(|r| {
            (
                r["message_id"].as_str(),
                (r["timestamp"].as_str(), r["business_number"].as_str()),
            )
        })
        .collect();
    assert!(!windows.is_empty());
    for window in &windows {
        let (ts, business) = inbound_at[window["window_id"].as_str()];
        assert_eq!(ts, window["opened_at"]);
        assert_eq!(business, window["business_number"]);
    }
}
