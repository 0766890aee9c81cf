//! docs §7, the public test vectors, through the real binary.

use tempfile::TempDir;

use crate::common::*;

/// The messages of §7 example A, with day 1 = `day1` (YYYY-MM-DD).
fn example_log(dir: &TempDir, day1: &str, day2: &str, day4: &str) -> std::path::PathBuf {
    let rows = example_rows(day1, day2, day4);
    let lines: Vec<&str> = rows.iter().map(String::as_str).collect();
    write_csv(dir.path(), "log.csv", HEADER, &lines)
}

fn run(log: &std::path::Path, out: &std::path::Path, extra: &[&str]) {
    ledger()
        .arg("report")
        .arg("--input")
        .arg(log)
        .arg("--out")
        .arg(out)
        .args(extra)
        .assert()
        .success();
}

#[test]
fn example_a_classes() {
    let dir = TempDir::new().unwrap();
    let log = example_log(&dir, "2026-03-10", "2026-03-11", "2026-03-13");
    let out = dir.path().join("run");
    run(&log, &out, &[]);
    let class = column_by_id(&out.join("sends.csv"), "class");
    let expected = [
        ("m2", "freeform_in_window"),
        ("m3", "template_avoidable"),
        ("m4", "template_avoidable"),
        ("m5", "freeform_blocked"),
        ("m6", "template_needed"),
        ("m8", "template_late_reply"),
        ("m9", "template_needed"),
    ];
    for (id, want) in expected {
        assert_eq!(class[id], want, "{id}");
    }
    assert_eq!(class.len(), 7, "inbound messages are not sends");

    let windows = read_rows(&out.join("windows.csv"));
    assert_eq!(windows.len(), 2);
    assert_eq!(windows[0]["opened_at"], "2026-03-10T10:00:00Z");
    assert_eq!(windows[0]["closes_at"], "2026-03-11T10:00:00Z");
    assert_eq!(windows[0]["answered"], "true");
    assert_eq!(windows[0]["outbound_count"], "3");
    assert_eq!(
        windows[0]["first_response_secs"].parse::<f64>().unwrap(),
        300.0
    );
    assert_eq!(windows[1]["closes_at"], "2026-03-12T12:00:00Z");
    assert_eq!(windows[1]["answered"], "false");

    let summary = summary_json(&out);
    assert_eq!(summary["outbound"]["by_class"]["template_late_reply"], 1);
    assert_eq!(summary["windows"]["unanswered"], 1);
    assert_eq!(summary["options"]["rule"], "customer-only");
    assert_eq!(summary["rows"]["accounted"], true);
}

#[test]
fn example_c_any_message_rule() {
    let dir = TempDir::new().unwrap();
    let log = example_log(&dir, "2026-03-10", "2026-03-11", "2026-03-13");
    let out = dir.path().join("run");
    run(&log, &out, &["--rule", "any-message"]);
    let class = column_by_id(&out.join("sends.csv"), "class");
    let expected = [
        ("m2", "freeform_in_window"),
        ("m3", "template_avoidable"),
        ("m4", "template_avoidable"),
        ("m5", "freeform_in_window"),
        ("m6", "template_avoidable"),
        ("m8", "template_needed"),
        ("m9", "template_needed"),
    ];
    for (id, want) in expected {
        assert_eq!(class[id], want, "{id}");
    }
    let windows = read_rows(&out.join("windows.csv"));
    assert_eq!(windows.len(), 1, "one window in all");
    assert_eq!(windows[0]["closes_at"], "2026-03-12T12:00:00Z");
    assert_eq!(summary_json(&out)["options"]["rule"], "any-message");
}
