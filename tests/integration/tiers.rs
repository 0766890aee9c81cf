//! Volume tiers, authentication-international and the accounts file
//! (docs/pricing.md "Volume tiers", "Authentication-international",
//! "Accounts"), hand-worked to the cent.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::common::*;

const LOG_HEADER: &str =
    "message_id,business_number,contact,direction,timestamp,type,category,status,error_code";
const CARD_HEADER: &str = "market,category,price,currency,effective_from,tier";

fn file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

type Sends = BTreeMap<String, BTreeMap<String, String>>;

const ONE_UTILITY: &str =
    "u1,+966110000001,+966500000001,outbound,2026-03-10T10:00:00Z,template,utility,delivered,";

/// Runs `report` on a one-message log with `args` added; returns the exit
/// code and stderr.
fn failing_run(dir: &Path, args: &[&std::ffi::OsStr]) -> (Option<i32>, String) {
    let log = write_csv(dir, "log.csv", LOG_HEADER, &[ONE_UTILITY]);
    let output = ledger()
        .args(["report", "--input"])
        .arg(&log)
        .args(args)
        .arg("--out")
        .arg(dir.join("out"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.code(), stderr)
}

/// Runs `report` on `rows` with the long-layout card `card_rows` (and an
/// accounts file when given); returns the run directory and its sends.
fn run(dir: &Path, rows: &[&str], card_rows: &[&str], accounts: Option<&str>) -> (PathBuf, Sends) {
    let log = write_csv(dir, "log.csv", LOG_HEADER, rows);
    let card = write_csv(dir, "card.csv", CARD_HEADER, card_rows);
    let out = dir.join("out");
    let mut command = ledger();
    command
        .args(["report", "--input"])
        .arg(&log)
        .arg("--rates")
        .arg(&card)
        .arg("--out")
        .arg(&out);
    if let Some(text) = accounts {
        command
            .arg("--accounts")
            .arg(file(dir, "accounts.csv", text));
    }
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let sends = read_rows(&out.join("sends.csv"))
        .into_iter()
        .map(|row| (row["message_id"].clone(), row))
        .collect();
    (out, sends)
}

/// (id, pricing rule, cost, tier, rate category) of each named send.
fn assert_sends(sends: &Sends, expected: &[(&str, &str, &str, &str, &str)]) {
    for (id, rule, cost, tier, category) in expected {
        let row = &sends[*id];
        assert_eq!(
            (
                row["pricing_rule"].as_str(),
                row["cost"].as_str(),
                row["tier"].as_str(),
                row["rate_category"].as_str()
            ),
            (*rule, *cost, *tier, *category),
            "{id}"
        );
    }
}

const SA_TIERS: [&str; 5] = [
    "Saudi Arabia,marketing,0.0455,USD,2025-07-01,",
    "Saudi Arabia,utility,0.01,USD,2025-07-01,0:2",
    "Saudi Arabia,utility,0.005,USD,2025-07-01,3:MAX",
    "Saudi Arabia,authentication,0.0107,USD,2025-07-01,",
    "Saudi Arabia,service,0.0107,USD,2025-07-01,",
];

#[test]
fn a_portfolio_of_two_numbers_crosses_a_tier_and_only_charged_templates_count() {
    let dir = TempDir::new().unwrap();
    let rows = [
        "u1,+966110000001,+966500000001,outbound,2026-03-02T10:00:00Z,template,utility,delivered,",
        // In a window under pmp-2025: free, so not counted.
        "c2,+966110000001,+966500000002,inbound,2026-03-02T10:30:00Z,text,,,",
        "w2,+966110000001,+966500000002,outbound,2026-03-02T10:40:00Z,template,utility,delivered,",
        // Failed: not charged, not counted.
        "f1,+966110000002,+966500000003,outbound,2026-03-02T11:00:00Z,template,utility,failed,131026",
        "u2,+966110000002,+966500000004,outbound,2026-03-02T12:00:00Z,template,utility,delivered,",
        "u3,+966110000001,+966500000005,outbound,2026-03-02T13:00:00Z,template,utility,delivered,",
        "u4,+966110000002,+966500000006,outbound,2026-03-02T14:00:00Z,template,utility,read,",
        // Another portfolio counts on its own.
        "q1,+966110000003,+966500000007,outbound,2026-03-02T15:00:00Z,template,utility,delivered,",
        "m1,+966110000001,+966500000008,outbound,2026-03-02T16:00:00Z,template,marketing,delivered,",
    ];
    let accounts = "business_number,portfolio\n\
                    966110000001,P\n\
                    966110000002,P\n\
                    966110000003,Q\n";
    let (out, sends) = run(dir.path(), &rows, &SA_TIERS, Some(accounts));
    assert_sends(
        &sends,
        &[
            ("u1", "charged", "0.01", "0:2", "utility"),
            ("w2", "free_in_window_utility", "0", "", "utility"),
            ("f1", "failed_not_charged", "0", "", "utility"),
            ("u2", "charged", "0.01", "0:2", "utility"),
            ("u3", "charged", "0.005", "3:MAX", "utility"),
            ("u4", "charged", "0.005", "3:MAX", "utility"),
            ("q1", "charged", "0.01", "0:2", "utility"),
            ("m1", "charged", "0.0455", "", "marketing"),
        ],
    );
    // A template needed outside any window saves nothing: its avoidable
    // cost stays 0 whatever its tier.
    assert_eq!(sends["u3"]["avoidable_cost"], "0");
    let tiers = &summary_json(&out)["pricing"]["volume_tiers"];
    assert_eq!(tiers["applied"], true);
    let by_tier: Vec<(String, u64, f64)> = tiers["by_tier"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["tier"].as_str().unwrap().to_string(),
                t["messages"].as_u64().unwrap(),
                t["spend"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        by_tier,
        vec![("0:2".to_string(), 3, 0.03), ("3:MAX".to_string(), 2, 0.01)]
    );
    // summary.csv splits the utility spend by tier too.
    let utility: Vec<(String, String, String)> = read_rows(&out.join("summary.csv"))
        .into_iter()
        .filter(|r| r["category"] == "utility" && r["cost"] != "0")
        .map(|r| (r["tier"].clone(), r["messages"].clone(), r["cost"].clone()))
        .collect();
    assert_eq!(
        utility,
        [("0:2", "3", "0.03"), ("3:MAX", "2", "0.01")].map(|(t, n, c)| (
            t.into(),
            n.into(),
            c.into()
        ))
    );
}

#[test]
fn the_counter_restarts_with_each_accounts_own_month() {
    let dir = TempDir::new().unwrap();
    // 13:00 and 15:00 UTC on 31 March: in Brisbane (UTC+10) the second is
    // already 1 April.
    let rows = [
        "a1,+966110000001,+966500000001,outbound,2026-03-31T13:00:00Z,template,utility,delivered,",
        "a2,+966110000001,+966500000002,outbound,2026-03-31T15:00:00Z,template,utility,delivered,",
        "b1,+966110000002,+966500000003,outbound,2026-03-31T13:00:00Z,template,utility,delivered,",
        "b2,+966110000002,+966500000004,outbound,2026-03-31T15:00:00Z,template,utility,delivered,",
    ];
    let card = [
        "Saudi Arabia,utility,0.01,USD,2025-07-01,0:1",
        "Saudi Arabia,utility,0.005,USD,2025-07-01,2:MAX",
    ];
    let accounts = "business_number,portfolio,timezone\n\
                    966110000001,A,Australia/Brisbane\n\
                    966110000002,B,UTC\n";
    let (_, sends) = run(dir.path(), &rows, &card, Some(accounts));
    assert_sends(
        &sends,
        &[
            ("a1", "charged", "0.01", "0:1", "utility"),
            ("a2", "charged", "0.01", "0:1", "utility"),
            ("b1", "charged", "0.01", "0:1", "utility"),
            ("b2", "charged", "0.005", "2:MAX", "utility"),
        ],
    );
}

#[test]
fn a_card_from_the_15th_changes_the_price_not_the_count() {
    let dir = TempDir::new().unwrap();
    let rows = [
        "u1,+966110000001,+966500000001,outbound,2026-03-10T10:00:00Z,template,utility,delivered,",
        "u2,+966110000001,+966500000002,outbound,2026-03-12T10:00:00Z,template,utility,delivered,",
        "u3,+966110000001,+966500000003,outbound,2026-03-16T10:00:00Z,template,utility,delivered,",
    ];
    let card = [
        "Saudi Arabia,utility,0.01,USD,2026-03-01,0:1",
        "Saudi Arabia,utility,0.005,USD,2026-03-01,2:MAX",
        "Saudi Arabia,utility,0.02,USD,2026-03-15,0:1",
        "Saudi Arabia,utility,0.008,USD,2026-03-15,2:MAX",
    ];
    let (_, sends) = run(dir.path(), &rows, &card, None);
    assert_sends(
        &sends,
        &[
            ("u1", "charged", "0.01", "0:1", "utility"),
            ("u2", "charged", "0.005", "2:MAX", "utility"),
            ("u3", "charged", "0.008", "2:MAX", "utility"),
        ],
    );
    assert_eq!(sends["u3"]["rate_effective_from"], "2026-03-15");
}

#[test]
fn without_tier_rows_every_message_gets_the_list_rate_and_the_summary_says_so() {
    let dir = TempDir::new().unwrap();
    let card = ["Saudi Arabia,utility,0.01,USD,2025-07-01,0:MAX"];
    let (out, sends) = run(dir.path(), &[ONE_UTILITY], &card, None);
    assert_sends(&sends, &[("u1", "charged", "0.01", "", "utility")]);
    let summary = summary_json(&out);
    assert_eq!(summary["pricing"]["volume_tiers"]["applied"], false);
    let markdown = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(markdown.contains("Volume tiers: not applied"), "{markdown}");
}

#[test]
fn bad_tiers_stop_the_run_naming_file_and_line() {
    let cases: [(&[&str], &str, &str); 3] = [
        (
            &[
                "Saudi Arabia,utility,0.01,USD,2025-07-01,0:100",
                "Saudi Arabia,utility,0.005,USD,2025-07-01,102:MAX",
            ],
            "card.csv:3",
            "without a rate",
        ),
        (
            &[
                "Saudi Arabia,utility,0.01,USD,2025-07-01,0:100",
                "Saudi Arabia,utility,0.005,USD,2025-07-01,90:MAX",
            ],
            "card.csv:3",
            "overlaps",
        ),
        (
            &[
                "Saudi Arabia,marketing,0.04,USD,2025-07-01,0:100",
                "Saudi Arabia,marketing,0.03,USD,2025-07-01,101:MAX",
            ],
            "card.csv:2",
            "only utility",
        ),
    ];
    for (card_rows, line, why) in cases {
        let dir = TempDir::new().unwrap();
        let card = write_csv(dir.path(), "card.csv", CARD_HEADER, card_rows);
        let (code, stderr) = failing_run(dir.path(), &["--rates".as_ref(), card.as_os_str()]);
        assert_eq!(code, Some(2), "{stderr}");
        assert!(stderr.contains(line) && stderr.contains(why), "{stderr}");
    }
}

#[test]
fn authentication_international_follows_the_accounts_country_and_start() {
    let dir = TempDir::new().unwrap();
    let ae = "+971400000001";
    let rows: Vec<String> = [
        (
            "a1",
            ae,
            "+966500000001",
            "2026-03-09T12:00:00Z",
            "authentication",
        ),
        (
            "a2",
            ae,
            "+966500000001",
            "2026-03-11T12:00:00Z",
            "authentication",
        ),
        (
            "a3",
            ae,
            "+971501234567",
            "2026-03-11T12:00:00Z",
            "authentication",
        ),
        (
            "a4",
            ae,
            "+201001234567",
            "2026-03-11T12:00:00Z",
            "authentication",
        ),
        (
            "a5",
            ae,
            "+201001234568",
            "2026-03-11T13:00:00Z",
            "authentication-international",
        ),
        (
            "a6",
            "+966110000009",
            "+966500000002",
            "2026-03-11T12:00:00Z",
            "authentication",
        ),
    ]
    .iter()
    .map(|(id, business, contact, ts, category)| {
        format!("{id},{business},{contact},outbound,{ts},template,{category},delivered,")
    })
    .collect();
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let card = [
        "Saudi Arabia,authentication,0.0107,USD,2025-07-01,",
        "Saudi Arabia,authentication_international,0.0598,USD,2025-07-01,",
        "United Arab Emirates,authentication,0.0157,USD,2025-07-01,",
        "United Arab Emirates,authentication_international,0.051,USD,2025-07-01,",
        "Egypt,authentication,0.0036,USD,2025-07-01,",
    ];
    let accounts = "business_number,country,auth_international_from\n971400000001,AE,2026-03-10\n";
    let (out, sends) = run(dir.path(), &rows, &card, Some(accounts));
    let auth = "authentication";
    let intl = "authentication_international";
    assert_sends(
        &sends,
        &[
            ("a1", "charged", "0.0107", "", auth),
            ("a2", "charged", "0.0598", "", intl),
            ("a3", "charged", "0.0157", "", auth),
            ("a4", "charged", "0.0036", "", auth),
            ("a5", "charged", "0.0036", "", auth),
            ("a6", "charged", "0.0107", "", auth),
        ],
    );
    let summary = summary_json(&out);
    assert_eq!(
        summary["data_quality"]["auth_international_without_rate"], 1,
        "a5 only"
    );
    let warnings = summary["warnings"].to_string();
    assert!(
        warnings.contains("966110000009") && warnings.contains("not in the accounts file"),
        "{warnings}"
    );
}

#[test]
fn bad_accounts_files_stop_the_run_naming_file_and_line() {
    let cases = [
        ("account,portfolio\nx,y\n", "accounts.csv:1"),
        (
            "business_number\n966110000001\n+966 11 000 0001\n",
            "accounts.csv:3",
        ),
        (
            "business_number,timezone\n966110000001,Asia/Nowhere\n",
            "accounts.csv:2",
        ),
        (
            "business_number,auth_international_from\n966110000001,2026-02-30\n",
            "accounts.csv:2",
        ),
    ];
    for (text, line) in cases {
        let dir = TempDir::new().unwrap();
        let accounts = file(dir.path(), "accounts.csv", text);
        let (code, stderr) =
            failing_run(dir.path(), &["--accounts".as_ref(), accounts.as_os_str()]);
        assert_eq!(code, Some(2), "{stderr}");
        assert!(stderr.contains(line), "{line}: {stderr}");
    }
}

/// A status webhook line: `id` delivered at `epoch`, a regular utility
/// message to `contact`.
fn status_line(id: &str, contact: &str, epoch: i64) -> String {
    format!(
        r#"{{"object":"whatsapp_business_account","entry":[{{"id":"1","changes":[{{"value":{{"messaging_product":"whatsapp","metadata":{{"phone_number_id":"966110000001"}},"statuses":[{{"id":"{id}","status":"delivered","timestamp":"{epoch}","recipient_id":"{contact}","pricing":{{"billable":true,"pricing_model":"PMP","type":"regular","category":"utility"}}}}]}},"field":"messages"}}]}}]}}"#
    )
}

fn tier_update_line(epoch: i64) -> String {
    format!(
        r#"{{"object":"whatsapp_business_account","entry":[{{"id":"1","time":{epoch},"changes":[{{"value":{{"volume_tier_info":{{"tier_update_time":{epoch},"pricing_category":"UTILITY","tier":"3:MAX","effective_month":"2026-03","region":"Saudi Arabia"}},"event":"VOLUME_BASED_PRICING_TIER_UPDATE"}},"field":"account_update"}}]}}]}}"#
    )
}

#[test]
fn tier_entries_are_shown_beside_metas_tier_updates_and_analytics() {
    let dir = TempDir::new().unwrap();
    // 2026-03-02 10:00, 11:00, 12:00, 13:00 UTC.
    let at = |hour: i64| 1_772_445_600 + (hour - 10) * 3600;
    let sends = ["u1", "u2", "u3", "u4"];
    let mut lines: Vec<String> = sends
        .iter()
        .enumerate()
        .map(|(i, id)| status_line(id, &format!("96650000000{}", i + 1), at(10 + i as i64)))
        .collect();
    // Meta says the tier was reached twice for one switch: the first counts.
    lines.push(tier_update_line(at(12) + 5));
    lines.push(tier_update_line(at(12) + 60));
    let webhooks = file(dir.path(), "hooks.ndjson", &(lines.join("\n") + "\n"));
    let mut send_log = String::from(
        "message_id,business_number,contact,direction,timestamp,type,template_name,category\n",
    );
    for (i, id) in sends.iter().enumerate() {
        send_log.push_str(&format!(
            "{id},966110000001,+96650000000{},outbound,2026-03-02T{}:00:00Z,template,notice,utility\n",
            i + 1,
            10 + i
        ));
    }
    let send_log = file(dir.path(), "send-log.csv", &send_log);
    let analytics = file(
        dir.path(),
        "analytics.json",
        &format!(
            r#"{{"data":[{{"data_points":[{{"start":{s},"end":{e},"country":"SA","pricing_category":"UTILITY","tier":"0:2","volume":2,"cost":0.02}},{{"start":{s},"end":{e},"country":"SA","pricing_category":"UTILITY","tier":"3:MAX","volume":3,"cost":0.015}}]}}]}}"#,
            s = at(0),
            e = at(24)
        ),
    );
    let card = write_csv(dir.path(), "card.csv", CARD_HEADER, &SA_TIERS);
    let out = dir.path().join("out");
    let output = ledger()
        .args(["report", "--input"])
        .arg(&webhooks)
        .arg("--send-log")
        .arg(&send_log)
        .arg("--meta-analytics")
        .arg(&analytics)
        .arg("--rates")
        .arg(&card)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rows = read_rows(&out.join("tier_reconciliation.csv"));
    let row = |tier: &str| rows.iter().find(|r| r["tier"] == tier).unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    let (low, high) = (row("0:2"), row("3:MAX"));
    assert_eq!(
        (
            low["our_first_message_id"].as_str(),
            low["our_messages"].as_str()
        ),
        ("u1", "2")
    );
    assert_eq!(
        (low["meta_reached_at"].as_str(), low["meta_volume"].as_str()),
        ("", "2")
    );
    assert_eq!(
        (
            high["our_first_message_id"].as_str(),
            high["our_first_at"].as_str(),
            high["meta_reached_at"].as_str(),
            high["meta_volume"].as_str()
        ),
        ("u3", "2026-03-02T12:00:00Z", "2026-03-02T12:00:05Z", "3")
    );
    assert_eq!(high["market"], "Saudi Arabia");
    let summary = summary_json(&out);
    assert_eq!(summary["reconciliation"]["tiers"]["with_both"], 1);
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("where we enter each tier") && html.contains("2026-03-02T12:00:05Z"));
}

#[test]
fn each_accounts_zone_moves_its_regime_switch_and_free_tier_month() {
    let dir = TempDir::new().unwrap();
    // 22:00 UTC on 30 September is already 1 October in Riyadh (UTC+3).
    let mut rows = Vec::new();
    for (business, prefix) in [("+966110000001", "a"), ("+966110000002", "b")] {
        for (id, contact, direction, ts, kind, category) in [
            (
                "in1",
                "+966500000001",
                "inbound",
                "2026-09-30T21:00:00Z",
                "text",
                "",
            ),
            (
                "s1",
                "+966500000001",
                "outbound",
                "2026-09-30T22:00:00Z",
                "text",
                "",
            ),
            (
                "u1",
                "+966500000001",
                "outbound",
                "2026-09-30T22:05:00Z",
                "template",
                "utility",
            ),
            // Riyadh: 31 October 23:00 and 1 November 01:00.
            (
                "in2",
                "+966500000002",
                "inbound",
                "2026-10-31T19:30:00Z",
                "text",
                "",
            ),
            (
                "s2",
                "+966500000002",
                "outbound",
                "2026-10-31T20:00:00Z",
                "text",
                "",
            ),
            (
                "s3",
                "+966500000002",
                "outbound",
                "2026-10-31T22:00:00Z",
                "text",
                "",
            ),
        ] {
            rows.push(format!(
                "{prefix}{id},{business},{contact},{direction},{ts},{kind},{category},delivered,"
            ));
        }
    }
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let card = [
        "Saudi Arabia,utility,0.0115,USD,2025-07-01,",
        "Saudi Arabia,service,0.0115,USD,2026-10-01,",
        "Saudi Arabia,utility,0.0115,USD,2026-10-01,",
    ];
    let accounts = "business_number,timezone\n966110000001,Asia/Riyadh\n966110000002,UTC\n";
    let log = write_csv(dir.path(), "log.csv", LOG_HEADER, &rows);
    let card = write_csv(dir.path(), "card.csv", CARD_HEADER, &card);
    let out = dir.path().join("out");
    let output = ledger()
        .args(["report", "--service-free-tier", "1", "--input"])
        .arg(&log)
        .arg("--rates")
        .arg(&card)
        .arg("--accounts")
        .arg(file(dir.path(), "accounts.csv", accounts))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let sends: Sends = read_rows(&out.join("sends.csv"))
        .into_iter()
        .map(|row| (row["message_id"].clone(), row))
        .collect();
    let got = |id: &str| {
        (
            sends[id]["regime"].clone(),
            sends[id]["pricing_rule"].clone(),
        )
    };
    let want = |regime: &str, rule: &str| (regime.to_string(), rule.to_string());
    // Riyadh: October already, so s1 takes October's one free reply and s2
    // pays; s3 is November's first.
    assert_eq!(got("as1"), want("pmp-2026-10", "free_service_tier"));
    assert_eq!(got("au1"), want("pmp-2026-10", "charged"));
    assert_eq!(got("as2"), want("pmp-2026-10", "charged"));
    assert_eq!(got("as3"), want("pmp-2026-10", "free_service_tier"));
    // UTC: still September, then both replies in October's tier of one.
    assert_eq!(got("bs1"), want("pmp-2025", "free_not_template"));
    assert_eq!(got("bu1"), want("pmp-2025", "free_in_window_utility"));
    assert_eq!(got("bs2"), want("pmp-2026-10", "free_service_tier"));
    assert_eq!(got("bs3"), want("pmp-2026-10", "charged"));
}

#[test]
fn what_ifs_count_their_own_tiers() {
    let dir = TempDir::new().unwrap();
    let rows = [
        "c1,+966110000001,+966500000001,inbound,2026-03-10T09:00:00Z,text,,,",
        // In the window: free under pmp-2025 (not counted), charged and
        // counted under pmp-2026-10.
        "w1,+966110000001,+966500000001,outbound,2026-03-10T10:00:00Z,template,utility,delivered,",
        "u2,+966110000001,+966500000002,outbound,2026-03-12T10:00:00Z,template,utility,delivered,",
        "u3,+966110000001,+966500000003,outbound,2026-03-16T10:00:00Z,template,utility,delivered,",
    ];
    let card = [
        "Saudi Arabia,utility,0.01,USD,2026-03-01,0:1",
        "Saudi Arabia,utility,0.005,USD,2026-03-01,2:MAX",
        "Saudi Arabia,utility,0.02,USD,2026-03-15,0:1",
        "Saudi Arabia,utility,0.008,USD,2026-03-15,2:MAX",
        "Saudi Arabia,service,0.004,USD,2026-03-01,",
    ];
    let log = write_csv(dir.path(), "log.csv", LOG_HEADER, &rows);
    let card = write_csv(dir.path(), "card.csv", CARD_HEADER, &card);
    let report = |name: &str, extra: &[&str]| {
        let out = dir.path().join(name);
        ledger()
            .args(["report", "--input"])
            .arg(&log)
            .arg("--rates")
            .arg(&card)
            .args(extra)
            .arg("--out")
            .arg(&out)
            .assert()
            .success();
        out
    };
    let compared = report("compared", &["--compare-regime", "pmp-2026-10"]);
    let summary = summary_json(&compared);
    let total = |spend: &serde_json::Value| spend["by_currency"][0]["total"].as_f64();
    // As billed: u2 is message 1 (0.01), u3 message 2 on the new card (0.008).
    assert_eq!(total(&summary["spend"]), Some(0.018));
    // Under pmp-2026-10 w1 counts too: 0.01 + 0.005 + 0.008.
    assert_eq!(total(&summary["comparison"]["spend"]), Some(0.023));
    // With the cards of 20 March for every message, the count is the same
    // and the prices are the new card's: 0.02 + 0.008.
    let as_of = report("as-of", &["--rates-as-of", "2026-03-20"]);
    let sends: Sends = read_rows(&as_of.join("sends.csv"))
        .into_iter()
        .map(|row| (row["message_id"].clone(), row))
        .collect();
    assert_sends(
        &sends,
        &[
            ("w1", "free_in_window_utility", "0", "", "utility"),
            ("u2", "charged", "0.02", "0:1", "utility"),
            ("u3", "charged", "0.008", "2:MAX", "utility"),
        ],
    );
}
