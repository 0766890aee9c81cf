//! What a manager acts on (issue 27): when windows lapse, and what
//! answering them in time would have saved, to the cent.

use tempfile::TempDir;

use crate::common::*;

const LOG_HEADER: &str =
    "message_id,business_number,contact,direction,timestamp,type,category,status,error_code";
const CARD: &str = "market,category,price,currency,effective_from\n\
                    Saudi Arabia,utility,0.0115,USD,2025-07-01\n\
                    Saudi Arabia,service,0.004,USD,2026-10-01\n\
                    Saudi Arabia,utility,0.0115,USD,2026-10-01\n";

/// Two windows opened on Friday 22:xx that lapse, each followed by a
/// utility template two days later (late replies), and two opened on
/// weekdays at 10:xx that are answered within minutes.
fn month(fridays: [&str; 2], weekdays: [&str; 2], sundays: [&str; 2], tag: &str) -> Vec<String> {
    let mut rows = Vec::new();
    for (i, ((friday, weekday), sunday)) in fridays.iter().zip(weekdays).zip(sundays).enumerate() {
        let lapsed = format!("+96650000{tag}{i}1");
        let answered = format!("+96650000{tag}{i}2");
        rows.push(format!(
            "{tag}f{i},+966110000001,{lapsed},inbound,{friday}T22:{:02}:00Z,text,,,",
            10 + i
        ));
        rows.push(format!("{tag}l{i},+966110000001,{lapsed},outbound,{sunday}T12:00:00Z,template,utility,delivered,"));
        rows.push(format!(
            "{tag}w{i},+966110000001,{answered},inbound,{weekday}T10:{:02}:00Z,text,,,",
            10 + i
        ));
        rows.push(format!(
            "{tag}r{i},+966110000001,{answered},outbound,{weekday}T10:{:02}:00Z,text,,delivered,",
            15 + i
        ));
    }
    rows
}

#[test]
fn lapses_fall_in_their_slots_and_answering_would_have_saved_them() {
    let dir = TempDir::new().unwrap();
    let mut rows = month(
        ["2026-03-06", "2026-03-13"],
        ["2026-03-02", "2026-03-10"],
        ["2026-03-08", "2026-03-15"],
        "3",
    );
    rows.extend(month(
        ["2026-10-02", "2026-10-09"],
        ["2026-10-05", "2026-10-13"],
        ["2026-10-04", "2026-10-11"],
        "9",
    ));
    let lines: Vec<&str> = rows.iter().map(String::as_str).collect();
    let log = write_csv(dir.path(), "log.csv", LOG_HEADER, &lines);
    let card = dir.path().join("card.csv");
    std::fs::write(&card, CARD).unwrap();
    // pmp-2025: a free-form reply would have cost nothing, so answering
    // saves the whole template; pmp-2026-10: it saves the template minus
    // the service rate (0.0115 - 0.004).
    for (month, saved) in [("2026-03", 0.023), ("2026-10", 0.015)] {
        let out = dir.path().join(month);
        ledger()
            .args(["report", "--month", month, "--input"])
            .arg(&log)
            .arg("--rates")
            .arg(&card)
            .arg("--out")
            .arg(&out)
            .assert()
            .success();
        let summary = summary_json(&out);
        let spend = &summary["spend"]["by_currency"][0];
        assert_eq!(spend["late_reply"].as_f64(), Some(0.023), "{month}");
        assert_eq!(spend["answering_saves"].as_f64(), Some(saved), "{month}");
        let staffing = &summary["staffing"];
        let top = &staffing["top"][0];
        assert_eq!(
            (
                top["weekday"].as_u64(),
                top["hour"].as_u64(),
                top["windows_opened"].as_u64()
            ),
            (Some(5), Some(22), Some(2)),
            "{month}: {staffing}"
        );
        assert_eq!(top["lapsed_share"].as_f64(), Some(1.0));
        assert_eq!(top["late_reply_templates"].as_u64(), Some(2));
        assert_eq!(top["late_reply_spend"].as_f64(), Some(0.023));
        assert_eq!(staffing["top"].as_array().unwrap().len(), 1, "{staffing}");
        // The weekday 10:00 windows were all answered.
        let slots = staffing["slots"].as_array().unwrap();
        let ten: Vec<_> = slots.iter().filter(|s| s["hour"] == 10).collect();
        assert_eq!(ten.len(), 2, "{slots:?}");
        assert!(ten
            .iter()
            .all(|s| s["lapsed"] == 0 && s["lapsed_share"] == 0.0));
        let markdown = std::fs::read_to_string(out.join("summary.md")).unwrap();
        assert!(
            markdown.contains("| Fri 22:00 | 2 | 100.0% | 2 | 0.023 USD |"),
            "{markdown}"
        );
        assert!(
            markdown.contains(&format!("**{saved} USD** by answering in time")),
            "{markdown}"
        );
        assert!(out.join("charts/lapses_by_hour.png").is_file());
    }
}
