//! Conversation-based pricing (docs/pricing.md "Conversations", issue 25),
//! hand-worked: each test writes out the rows it expects.
//!
//! One business number and one Saudi contact unless a test says
//! otherwise; times UTC; the card below prices `cbp` conversations from
//! 2023-06-01 and per-message pricing from 2025-07-01.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::common::*;

const LOG_HEADER: &str = "message_id,business_number,contact,direction,timestamp,type,category,status,error_code,entry_point";
const CARD_HEADER: &str = "market,category,price,currency,effective_from";
const CARD: [&str; 8] = [
    "Saudi Arabia,marketing,0.045,USD,2023-06-01",
    "Saudi Arabia,utility,0.0115,USD,2023-06-01",
    "Saudi Arabia,authentication,0.0108,USD,2023-06-01",
    "Saudi Arabia,service,0.01,USD,2023-06-01",
    "Saudi Arabia,marketing,0.0455,USD,2025-07-01",
    "Saudi Arabia,utility,0.0107,USD,2025-07-01",
    "Saudi Arabia,authentication,0.0107,USD,2025-07-01",
    "Saudi Arabia,service,0.0107,USD,2025-07-01",
];

const BUSINESS: &str = "+966110000001";
const CONTACT: &str = "+966500000001";

/// A delivered outbound message: `kind` `text` or a template category.
fn out(id: &str, at: &str, kind: &str) -> String {
    match kind {
        "text" => format!("{id},{BUSINESS},{CONTACT},outbound,{at},text,,delivered,,"),
        category => {
            format!("{id},{BUSINESS},{CONTACT},outbound,{at},template,{category},delivered,,")
        }
    }
}

fn inbound(id: &str, at: &str, entry_point: &str) -> String {
    format!("{id},{BUSINESS},{CONTACT},inbound,{at},text,,,,{entry_point}")
}

type Table = BTreeMap<String, BTreeMap<String, String>>;

struct Run {
    out: PathBuf,
    sends: Table,
}

impl Run {
    fn new(dir: &Path, rows: &[String], extra: &[&str]) -> Run {
        let lines: Vec<&str> = rows.iter().map(String::as_str).collect();
        let log = write_csv(dir, "log.csv", LOG_HEADER, &lines);
        let card = write_csv(dir, "card.csv", CARD_HEADER, &CARD);
        let out = dir.join("out");
        let output = ledger()
            .args(["report", "--input"])
            .arg(&log)
            .arg("--rates")
            .arg(&card)
            .args(extra)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let sends = by_key(&out.join("sends.csv"), "message_id");
        Run { out, sends }
    }

    /// Each send's (pricing rule, cost, conversation id, regime,
    /// avoidable cost).
    fn assert_sends(&self, expected: &[(&str, &str, &str, &str, &str, &str)]) {
        for (id, rule, cost, conversation, regime, avoidable) in expected {
            let row = &self.sends[*id];
            let got = [
                "pricing_rule",
                "cost",
                "conversation_id",
                "regime",
                "avoidable_cost",
            ]
            .map(|c| row[c].as_str());
            assert_eq!(
                got,
                [*rule, *cost, *conversation, *regime, *avoidable],
                "send {id}"
            );
        }
        assert_eq!(self.sends.len(), expected.len(), "every send is expected");
    }

    /// Each conversation's (id, category, opened_at, expires_at, closed_at,
    /// opening message, messages, pricing rule, cost).
    fn assert_conversations(&self, expected: &[[&str; 9]]) {
        let rows = read_rows(&self.out.join("conversations.csv"));
        let got: Vec<[String; 9]> = rows
            .iter()
            .map(|r| {
                [
                    "conversation_id",
                    "category",
                    "opened_at",
                    "expires_at",
                    "closed_at",
                    "opening_message_id",
                    "messages",
                    "pricing_rule",
                    "cost",
                ]
                .map(|c| r[c].clone())
            })
            .collect();
        let expected: Vec<[String; 9]> = expected.iter().map(|r| r.map(String::from)).collect();
        assert_eq!(got, expected);
    }
}

fn by_key(path: &Path, key: &str) -> Table {
    read_rows(path)
        .into_iter()
        .map(|row| (row[key].clone(), row))
        .collect()
}

#[test]
fn two_templates_of_one_category_within_24_hours_are_one_conversation() {
    let dir = TempDir::new().unwrap();
    let rows = [
        out("k1", "2024-03-10T10:00:00Z", "marketing"),
        out("k2", "2024-03-11T09:59:59Z", "marketing"),
    ];
    let run = Run::new(dir.path(), &rows, &[]);
    run.assert_sends(&[
        ("k1", "charged", "0.045", "k1", "cbp", "0"),
        ("k2", "in_conversation", "0", "k1", "cbp", "0"),
    ]);
    run.assert_conversations(&[[
        "k1",
        "marketing",
        "2024-03-10T10:00:00Z",
        "2024-03-11T10:00:00Z",
        "2024-03-11T10:00:00Z",
        "k1",
        "2",
        "charged",
        "0.045",
    ]]);
}

#[test]
fn templates_of_two_categories_open_two_conversations() {
    let dir = TempDir::new().unwrap();
    let rows = [
        out("u1", "2024-03-10T10:00:00Z", "utility"),
        out("k1", "2024-03-10T11:00:00Z", "marketing"),
        out("u2", "2024-03-10T12:00:00Z", "utility"),
    ];
    let run = Run::new(dir.path(), &rows, &[]);
    run.assert_sends(&[
        ("u1", "charged", "0.0115", "u1", "cbp", "0"),
        ("k1", "charged", "0.045", "k1", "cbp", "0"),
        ("u2", "in_conversation", "0", "u1", "cbp", "0"),
    ]);
    let summary = summary_json(&run.out);
    let months = &summary["conversations"]["by_month"];
    assert_eq!(summary["conversations"]["total"], 2);
    assert_eq!(months[0]["category"], "marketing");
    assert_eq!(months[1]["category"], "utility");
    assert_eq!(months[1]["conversations"], 1);
    assert_eq!(months[1]["cost"], 0.0115);
    // summary.csv: conversations by the category of the conversation the
    // sends were in (u2 joined u1's utility conversation).
    let summary: Vec<(String, String, String, String)> = read_rows(&run.out.join("summary.csv"))
        .into_iter()
        .map(|r| {
            (
                r["month"].clone(),
                r["conversation_category"].clone(),
                r["messages"].clone(),
                r["conversations"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("2024-03".into(), "marketing".into(), "1".into(), "1".into()),
            ("2024-03".into(), "utility".into(), "2".into(), "1".into()),
        ]
    );
}

#[test]
fn a_template_exactly_24_hours_after_the_first_opens_a_new_conversation() {
    let dir = TempDir::new().unwrap();
    let rows = [
        out("k1", "2024-03-10T10:00:00Z", "marketing"),
        out("k2", "2024-03-11T10:00:00Z", "marketing"),
    ];
    let run = Run::new(dir.path(), &rows, &[]);
    run.assert_sends(&[
        ("k1", "charged", "0.045", "k1", "cbp", "0"),
        ("k2", "charged", "0.045", "k2", "cbp", "0"),
    ]);
}

#[test]
fn a_reply_opens_a_service_conversation_and_a_marketing_template_a_second() {
    let dir = TempDir::new().unwrap();
    let rows = [
        inbound("c1", "2024-03-10T10:00:00Z", ""),
        out("r1", "2024-03-10T10:05:00Z", "text"),
        out("k1", "2024-03-10T10:10:00Z", "marketing"),
        // A free-form message joins the oldest open conversation.
        out("r2", "2024-03-10T11:00:00Z", "text"),
    ];
    let run = Run::new(dir.path(), &rows, &[]);
    // The service conversation is the first of the month: free tier. The
    // template saves its whole cost (a conversation was open: a free-form
    // message would have cost nothing).
    run.assert_sends(&[
        ("r1", "free_service_tier", "0", "r1", "cbp", "0"),
        ("k1", "charged", "0.045", "k1", "cbp", "0.045"),
        ("r2", "in_conversation", "0", "r1", "cbp", "0"),
    ]);
    assert_eq!(run.sends["k1"]["class"], "template_avoidable");
    run.assert_conversations(&[
        [
            "r1",
            "service",
            "2024-03-10T10:05:00Z",
            "2024-03-11T10:05:00Z",
            "2024-03-11T10:05:00Z",
            "r1",
            "2",
            "free_service_tier",
            "0",
        ],
        [
            "k1",
            "marketing",
            "2024-03-10T10:10:00Z",
            "2024-03-11T10:10:00Z",
            "2024-03-11T10:10:00Z",
            "k1",
            "1",
            "charged",
            "0.045",
        ],
    ]);
}

#[test]
fn an_avoidable_template_with_no_conversation_open_saves_its_cost_less_a_service_conversation() {
    let dir = TempDir::new().unwrap();
    let rows = [
        inbound("c1", "2024-10-10T10:00:00Z", ""),
        out("u1", "2024-10-10T10:30:00Z", "utility"),
        // From 2024-11-01 a service conversation is free.
        inbound("c2", "2024-11-10T10:00:00Z", ""),
        out("u2", "2024-11-10T10:30:00Z", "utility"),
    ];
    let run = Run::new(dir.path(), &rows, &[]);
    run.assert_sends(&[
        ("u1", "charged", "0.0115", "u1", "cbp", "0.0015"),
        ("u2", "charged", "0.0115", "u2", "cbp", "0.0115"),
    ]);
}

#[test]
fn a_free_entry_point_conversation_closes_an_open_marketing_one() {
    let dir = TempDir::new().unwrap();
    let rows = [
        out("k1", "2024-03-10T09:00:00Z", "marketing"),
        inbound("c1", "2024-03-10T10:00:00Z", "ctwa"),
        out("r1", "2024-03-10T10:05:00Z", "text"),
        out("k2", "2024-03-10T11:00:00Z", "marketing"),
        // 72 h after the reply: the free entry point conversation is over.
        out("k3", "2024-03-13T10:05:00Z", "marketing"),
    ];
    let run = Run::new(dir.path(), &rows, &[]);
    run.assert_sends(&[
        ("k1", "charged", "0.045", "k1", "cbp", "0"),
        ("r1", "free_entry_point", "0", "r1", "cbp", "0"),
        // The conversation's other messages: in_conversation (§11).
        ("k2", "in_conversation", "0", "r1", "cbp", "0"),
        ("k3", "charged", "0.045", "k3", "cbp", "0"),
    ]);
    run.assert_conversations(&[
        [
            "k1",
            "marketing",
            "2024-03-10T09:00:00Z",
            "2024-03-11T09:00:00Z",
            "2024-03-10T10:05:00Z",
            "k1",
            "1",
            "charged",
            "0.045",
        ],
        [
            "r1",
            "free_entry_point",
            "2024-03-10T10:05:00Z",
            "2024-03-13T10:05:00Z",
            "2024-03-13T10:05:00Z",
            "r1",
            "2",
            "free_entry_point",
            "0",
        ],
        [
            "k3",
            "marketing",
            "2024-03-13T10:05:00Z",
            "2024-03-14T10:05:00Z",
            "2024-03-14T10:05:00Z",
            "k3",
            "1",
            "charged",
            "0.045",
        ],
    ]);
}

/// 1,001 contacts of one business number each write and get a reply on
/// `day`, one second apart (ids prefixed with `id`).
fn thousand_and_one_service_conversations(id: &str, day: &str) -> Vec<String> {
    (1..=1001)
        .flat_map(|i| {
            let contact = format!("+9665{:08}", i);
            [
                format!("{id}c{i:04},{BUSINESS},{contact},inbound,{day}T09:00:00Z,text,,,,"),
                format!(
                    "{id}r{i:04},{BUSINESS},{contact},outbound,{day}T10:{:02}:{:02}Z,text,,delivered,,",
                    i / 60,
                    i % 60
                ),
            ]
        })
        .collect()
}

#[test]
fn the_1001st_service_conversation_of_a_month_is_charged_until_november_2024() {
    let dir = TempDir::new().unwrap();
    let mut rows = thousand_and_one_service_conversations("", "2024-10-05");
    rows.extend(thousand_and_one_service_conversations("n", "2024-11-05"));
    let run = Run::new(dir.path(), &rows, &[]);
    let rule_cost = |id: &str| {
        let row = &run.sends[id];
        (row["pricing_rule"].as_str(), row["cost"].as_str())
    };
    // Each reply opens its own service conversation, which is named by it.
    assert_eq!(rule_cost("r1000"), ("free_service_tier", "0"));
    assert_eq!(rule_cost("r1001"), ("charged", "0.01"));
    let october: Vec<&str> = ["r0001", "r0500", "r1000", "r1001"]
        .iter()
        .map(|id| run.sends[*id]["conversation_id"].as_str())
        .collect();
    assert_eq!(october, ["r0001", "r0500", "r1000", "r1001"]);
    let november_sends: Vec<_> = run
        .sends
        .values()
        .filter(|r| r["timestamp"].starts_with("2024-11"))
        .collect();
    assert_eq!(november_sends.len(), 1001);
    assert!(november_sends
        .iter()
        .all(|r| (r["pricing_rule"].as_str(), r["cost"].as_str()) == ("free_service", "0")));
    let summary = summary_json(&run.out);
    let months = &summary["conversations"]["by_month"];
    let figures = |i: usize| {
        let m = &months[i];
        (
            m["month"].as_str().unwrap().to_string(),
            m["category"].as_str().unwrap().to_string(),
            m["conversations"].as_u64().unwrap(),
            m["charged"].as_u64().unwrap(),
            m["free"].as_u64().unwrap(),
            m["cost"].as_f64().unwrap(),
        )
    };
    assert_eq!(
        figures(0),
        ("2024-10".into(), "service".into(), 1001, 1, 1000, 0.01)
    );
    assert_eq!(
        figures(1),
        ("2024-11".into(), "service".into(), 1001, 0, 1001, 0.0)
    );
}

#[test]
fn the_service_free_tier_counts_per_account_across_its_numbers() {
    let dir = TempDir::new().unwrap();
    let second = "+966110000002";
    let rows = [
        inbound("c1", "2024-03-10T10:00:00Z", ""),
        out("r1", "2024-03-10T10:05:00Z", "text"),
        format!("c2,{second},{CONTACT},inbound,2024-03-10T11:00:00Z,text,,,,"),
        format!("r2,{second},{CONTACT},outbound,2024-03-10T11:05:00Z,text,,delivered,,"),
    ];
    let accounts = dir.path().join("accounts.csv");
    std::fs::write(
        &accounts,
        "business_number,account\n966110000001,waba-1\n966110000002,waba-1\n",
    )
    .unwrap();
    let run = Run::new(
        dir.path(),
        &rows,
        &[
            "--service-free-tier",
            "1",
            "--accounts",
            accounts.to_str().unwrap(),
        ],
    );
    run.assert_sends(&[
        ("r1", "free_service_tier", "0", "r1", "cbp", "0"),
        ("r2", "charged", "0.01", "r2", "cbp", "0"),
    ]);
}

#[test]
fn failed_templates_and_blocked_free_form_messages_open_nothing() {
    let dir = TempDir::new().unwrap();
    let rows = [
        format!("f1,{BUSINESS},{CONTACT},outbound,2024-03-10T10:00:00Z,template,marketing,failed,131049,"),
        out("b1", "2024-03-10T10:30:00Z", "text"),
        out("k1", "2024-03-10T11:00:00Z", "marketing"),
    ];
    let run = Run::new(dir.path(), &rows, &[]);
    run.assert_sends(&[
        ("f1", "failed_not_charged", "0", "", "cbp", "0"),
        ("b1", "blocked_not_delivered", "0", "", "cbp", "0"),
        ("k1", "charged", "0.045", "k1", "cbp", "0"),
    ]);
    assert_eq!(run.sends["b1"]["class"], "freeform_blocked");
}

#[test]
fn a_utility_conversation_open_across_the_switch_makes_later_utility_templates_free() {
    let dir = TempDir::new().unwrap();
    let rows = [
        out("u1", "2025-06-30T20:00:00Z", "utility"),
        out("u2", "2025-07-01T10:00:00Z", "utility"),
        out("k1", "2025-07-01T11:00:00Z", "marketing"),
        // The conversation expires at 20:00: per-message pricing from then.
        out("u3", "2025-07-01T20:00:00Z", "utility"),
    ];
    let run = Run::new(dir.path(), &rows, &[]);
    run.assert_sends(&[
        ("u1", "charged", "0.0115", "u1", "cbp", "0"),
        ("u2", "in_conversation", "0", "u1", "cbp", "0"),
        ("k1", "charged", "0.0455", "", "pmp-2025", "0"),
        ("u3", "charged", "0.0107", "", "pmp-2025", "0"),
    ]);
}

#[test]
fn a_window_opened_before_june_2023_prices_only_what_follows_the_change() {
    let dir = TempDir::new().unwrap();
    let rows = [
        inbound("c1", "2023-05-31T20:00:00Z", ""),
        out("r1", "2023-05-31T21:00:00Z", "text"),
        out("r2", "2023-06-01T01:00:00Z", "text"),
        out("k1", "2023-06-01T02:00:00Z", "marketing"),
    ];
    let run = Run::new(dir.path(), &rows, &[]);
    run.assert_sends(&[
        ("r1", "unpriced_regime", "", "", "cbp-2022", "0"),
        ("r2", "free_service_tier", "0", "r2", "cbp", "0"),
        ("k1", "charged", "0.045", "k1", "cbp", "0.045"),
    ]);
    assert_eq!(run.sends["r2"]["class"], "freeform_in_window");
}

#[test]
fn what_ifs_price_a_per_message_period_by_conversations_and_back() {
    let dir = TempDir::new().unwrap();
    // Under pmp-2025 by date: the utility template in the window is free.
    let rows = [
        inbound("c1", "2026-03-10T10:00:00Z", ""),
        out("r1", "2026-03-10T10:05:00Z", "text"),
        out("u1", "2026-03-10T10:10:00Z", "utility"),
        out("k1", "2026-03-10T11:00:00Z", "marketing"),
        out("k2", "2026-03-10T12:00:00Z", "marketing"),
    ];
    let run = Run::new(dir.path(), &rows, &["--regime", "cbp"]);
    run.assert_sends(&[
        ("r1", "free_service", "0", "r1", "cbp", "0"),
        ("u1", "charged", "0.0107", "u1", "cbp", "0.0107"),
        ("k1", "charged", "0.0455", "k1", "cbp", "0.0455"),
        ("k2", "in_conversation", "0", "k1", "cbp", "0"),
    ]);
    let dir = TempDir::new().unwrap();
    let run = Run::new(dir.path(), &rows, &["--compare-regime", "cbp"]);
    run.assert_sends(&[
        ("r1", "free_not_template", "0", "", "pmp-2025", "0"),
        ("u1", "free_in_window_utility", "0", "", "pmp-2025", "0"),
        ("k1", "charged", "0.0455", "", "pmp-2025", "0.0455"),
        ("k2", "charged", "0.0455", "", "pmp-2025", "0.0455"),
    ]);
    // Priced per message, the period has no conversations: no file.
    assert!(!run.out.join("conversations.csv").exists());
    let comparison = &summary_json(&run.out)["comparison"];
    assert_eq!(comparison["regime"], "cbp");
    assert_eq!(comparison["spend"]["by_currency"][0]["total"], 0.0562);
}

#[test]
fn a_conversation_without_a_rate_stops_the_run_and_says_to_pass_the_card_of_its_period() {
    let dir = TempDir::new().unwrap();
    let log = write_csv(
        dir.path(),
        "log.csv",
        LOG_HEADER,
        &[&out("k1", "2024-03-10T10:00:00Z", "marketing")],
    );
    ledger()
        .args(["report", "--input"])
        .arg(&log)
        .arg("--out")
        .arg(dir.path().join("out"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "no marketing rate for market Saudi Arabia on 2024-03-10",
        ))
        .stderr(predicates::str::contains(
            "before 2025-07-01 Meta priced conversations: pass the card of that period",
        ));
}

#[test]
fn conversations_are_reconciled_with_metas_conversation_objects_and_analytics() {
    let dir = TempDir::new().unwrap();
    let header = "message_id,business_number,contact,direction,timestamp,type,category,status,conversation_id,conversation_origin,conversation_expiration";
    let other = "+966500000002";
    let meta = |id: &str, contact: &str, at: &str, category: &str, conversation: &str| {
        format!(
            "{id},{BUSINESS},{contact},outbound,{at},template,{category},delivered,{conversation}"
        )
    };
    let rows = [
        meta(
            "u1",
            CONTACT,
            "2024-03-10T10:00:00Z",
            "utility",
            "A,utility,1710151200",
        ),
        meta(
            "u2",
            CONTACT,
            "2024-03-10T11:00:00Z",
            "utility",
            "A,utility,",
        ),
        // Meta's own spelling, and an expiry a minute off: both agree.
        meta(
            "k1",
            CONTACT,
            "2024-03-10T12:00:00Z",
            "marketing",
            "B,marketing_lite,1710158460",
        ),
        // Ten minutes off.
        meta(
            "a1",
            CONTACT,
            "2024-03-10T12:30:00Z",
            "authentication",
            "D,authentication,1710160800",
        ),
        // Meta opened a new conversation where we joined u1's: all three
        // of ours disagree on boundaries.
        meta(
            "u3",
            CONTACT,
            "2024-03-10T13:00:00Z",
            "utility",
            "C,utility,",
        ),
        meta(
            "p1",
            other,
            "2024-03-10T10:00:00Z",
            "utility",
            "E,marketing,",
        ),
    ];
    let lines: Vec<&str> = rows.iter().map(String::as_str).collect();
    let log = write_csv(dir.path(), "log.csv", header, &lines);
    let card = write_csv(dir.path(), "card.csv", CARD_HEADER, &CARD);
    let analytics = dir.path().join("analytics.json");
    let point = |category: &str, n: u32, cost: f64| {
        format!(
            r#"{{"start":1709251200,"end":1711929600,"conversation":{n},"country":"SA","conversation_type":"REGULAR","conversation_direction":"BUSINESS_INITIATED","conversation_category":"{category}","cost":{cost}}}"#
        )
    };
    std::fs::write(
        &analytics,
        format!(
            r#"{{"conversation_analytics":{{"data":[{{"data_points":[{},{},{}]}}]}}}}"#,
            point("UTILITY", 3, 0.0345),
            point("MARKETING", 1, 0.045),
            point("AUTHENTICATION", 1, 0.0108)
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    ledger()
        .args(["report", "--input"])
        .arg(&log)
        .arg("--rates")
        .arg(&card)
        .arg("--meta-analytics")
        .arg(&analytics)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let rec = &summary_json(&out)["reconciliation"];
    let conversations = &rec["conversations"];
    assert_eq!(conversations["with_meta_conversation"], 6);
    assert_eq!(conversations["agreed"], 1, "{conversations}");
    assert_eq!(conversations["by_month"][0]["month"], "2024-03");
    let details: BTreeMap<String, String> = read_rows(&out.join("reconciliation.csv"))
        .into_iter()
        .filter(|r| r["check"] == "conversation")
        .map(|r| (r["message_id"].clone(), r["detail"].clone()))
        .collect();
    assert_eq!(
        details.keys().collect::<Vec<_>>(),
        ["a1", "p1", "u1", "u2", "u3"]
    );
    assert_eq!(details["u3"], "boundaries: ours 1, Meta C");
    assert_eq!(details["p1"], "category: ours utility, Meta marketing");
    assert_eq!(
        details["a1"],
        "expiry: ours 2024-03-11T12:30:00Z, Meta 2024-03-11T12:40:00Z"
    );
    // Per billing month × country × category: ours 2 utility (u1's and
    // p1's), Meta 3.
    let table = read_rows(&out.join("conversation_analytics.csv"));
    let by_category: BTreeMap<String, (String, String, String)> = table
        .into_iter()
        .map(|r| {
            (
                r["conversation_category"].clone(),
                (
                    r["conversations_ours"].clone(),
                    r["conversations_meta"].clone(),
                    r["cost_ours"].clone(),
                ),
            )
        })
        .collect();
    assert_eq!(
        by_category["UTILITY"],
        ("2".into(), "3".into(), "0.023".into())
    );
    assert_eq!(
        by_category["MARKETING"],
        ("1".into(), "1".into(), "0.045".into())
    );
    assert_eq!(
        by_category["AUTHENTICATION"],
        ("1".into(), "1".into(), "0.0108".into())
    );
    let analytics = &rec["conversation_analytics"];
    assert_eq!(analytics["conversations_ours"], 4);
    assert_eq!(analytics["conversations_meta"], 5);
    assert_eq!(analytics["rows_with_conversation_difference"], 1);
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("Our conversations against Meta&#39;s, by month")
            || html.contains("Our conversations against Meta's, by month")
    );
    assert!(html.contains("conversation analytics"));
}

#[test]
fn a_query_can_read_the_conversations() {
    let dir = TempDir::new().unwrap();
    let rows = [
        out("u1", "2024-03-10T10:00:00Z", "utility"),
        out("k1", "2024-03-10T11:00:00Z", "marketing"),
        out("u2", "2024-03-10T12:00:00Z", "utility"),
    ];
    let lines: Vec<&str> = rows.iter().map(String::as_str).collect();
    let log = write_csv(dir.path(), "log.csv", LOG_HEADER, &lines);
    let card = write_csv(dir.path(), "card.csv", CARD_HEADER, &CARD);
    let output = ledger()
        .args(["query", "--csv"])
        .arg("SELECT category, messages, cost_nanos, opened_at FROM conversations ORDER BY opened_at")
        .arg("--input")
        .arg(&log)
        .arg("--rates")
        .arg(&card)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        // `*_nanos` columns are written as decimals, without the suffix.
        "category,messages,cost,opened_at\n\
         utility,2,0.0115,2024-03-10T10:00:00Z\n\
         marketing,1,0.045,2024-03-10T11:00:00Z\n"
    );
}
