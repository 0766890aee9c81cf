//! Pricing end to end (docs §5, §7 examples A and B), to the cent.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use predicates::str::contains;
use tempfile::TempDir;

use crate::common::*;

const SA: &str = "+966501234567";
/// §7's illustrative Saudi rates, as Meta's layout.
const SA_CARD: &str =
    "Market,Currency,Marketing,Utility,Authentication,Authentication-International,Service\n\
                       Saudi Arabia,$US,0.0455,0.0107,0.0107,0.0598,0.0107\n";

fn card(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs `report` and returns sends.csv rows by message id.
fn report(
    dir: &Path,
    rows: &[String],
    args: &[&str],
) -> (PathBuf, BTreeMap<String, BTreeMap<String, String>>) {
    let lines: Vec<&str> = rows.iter().map(String::as_str).collect();
    let log = write_csv(dir, "log.csv", HEADER, &lines);
    let out = dir.join("out");
    ledger()
        .args(["report", "--input"])
        .arg(&log)
        .arg("--out")
        .arg(&out)
        .args(args)
        .assert()
        .success();
    let sends = read_rows(&out.join("sends.csv"))
        .into_iter()
        .map(|row| (row["message_id"].clone(), row))
        .collect();
    (out, sends)
}

fn assert_priced(
    sends: &BTreeMap<String, BTreeMap<String, String>>,
    expected: &[(&str, &str, &str, &str)],
) {
    for (id, rule, cost, avoidable) in expected {
        let row = &sends[*id];
        assert_eq!(
            (
                row["pricing_rule"].as_str(),
                row["cost"].as_str(),
                row["avoidable_cost"].as_str()
            ),
            (*rule, *cost, *avoidable),
            "{id}"
        );
    }
}

#[test]
fn example_a_under_pmp_2025() {
    let dir = TempDir::new().unwrap();
    let rates = card(dir.path(), "sa.csv", SA_CARD);
    let rates_arg = format!("2025-07-01={}", rates.display());
    let (out, sends) = report(
        dir.path(),
        &example_rows("2026-03-10", "2026-03-11", "2026-03-13"),
        &["--rates", &rates_arg],
    );
    assert_priced(
        &sends,
        &[
            ("m2", "free_not_template", "0", "0"),
            ("m3", "free_in_window_utility", "0", "0"),
            ("m4", "charged", "0.0455", "0.0455"),
            ("m5", "blocked_not_delivered", "0", "0"),
            ("m6", "charged", "0.0107", "0"),
            ("m8", "charged", "0.0455", "0"),
            ("m9", "charged", "0.0107", "0"),
        ],
    );
    assert!(sends.values().all(|r| r["regime"] == "pmp-2025"
        && r["currency"] == "USD"
        && r["market"] == "Saudi Arabia"));
    let spend = &summary_json(&out)["spend"]["by_currency"][0];
    assert_eq!(spend["currency"], "USD");
    assert_eq!(spend["total"].to_string(), "0.1124");
    assert_eq!(spend["avoidable"].to_string(), "0.0455");
    assert_eq!(spend["late_reply"].to_string(), "0.0455");
}

#[test]
fn example_b_under_pmp_2026_10_with_the_free_tier_used_up() {
    let dir = TempDir::new().unwrap();
    let rates = card(dir.path(), "sa.csv", SA_CARD);
    let rates_arg = format!("2026-10-01={}", rates.display());
    let (out, sends) = report(
        dir.path(),
        &example_rows("2026-10-20", "2026-10-21", "2026-10-23"),
        &["--rates", &rates_arg, "--service-free-tier", "0"],
    );
    assert_priced(
        &sends,
        &[
            ("m2", "charged", "0.0107", "0"),
            ("m3", "charged", "0.0107", "0"),
            ("m4", "charged", "0.0455", "0.0348"),
            ("m5", "blocked_not_delivered", "0", "0"),
            ("m6", "charged", "0.0107", "0"),
            ("m8", "charged", "0.0455", "0"),
            ("m9", "charged", "0.0107", "0"),
        ],
    );
    let spend = &summary_json(&out)["spend"]["by_currency"][0];
    assert_eq!(spend["total"].to_string(), "0.1338");
    assert_eq!(spend["avoidable"].to_string(), "0.0348");
}

#[test]
fn the_1001st_service_message_of_a_month_is_charged() {
    let dir = TempDir::new().unwrap();
    let mut rows = vec![format!("i1,{SA},inbound,2026-10-31T00:59:00Z,text,,,")];
    for i in 0..1001 {
        rows.push(format!(
            "o{i:04},{SA},outbound,2026-10-31T{:02}:{:02}:{:02}Z,text,,delivered,",
            1 + i / 3600,
            (i / 60) % 60,
            i % 60
        ));
    }
    // November starts a new tier, even inside the same window.
    rows.push(format!(
        "n1,{SA},outbound,2026-11-01T00:30:00Z,text,,delivered,"
    ));
    let (out, sends) = report(dir.path(), &rows, &[]);
    assert_eq!(sends["o0999"]["pricing_rule"], "free_service_tier");
    assert_eq!(sends["o1000"]["pricing_rule"], "charged");
    assert_eq!(
        sends["o1000"]["cost"], "0.0107",
        "built-in card: Saudi service = utility rate"
    );
    assert_eq!(sends["n1"]["pricing_rule"], "free_service_tier");
    let charged = sends
        .values()
        .filter(|r| r["pricing_rule"] == "charged")
        .count();
    assert_eq!(charged, 1);
    assert!(summary_json(&out)["pricing"]["regimes_used"] == serde_json::json!(["pmp-2026-10"]));
}

#[test]
fn regime_follows_the_billing_time_zone() {
    let dir = TempDir::new().unwrap();
    let rows = vec![
        format!("i1,{SA},inbound,2026-09-30T22:00:00Z,text,,,"),
        format!("o1,{SA},outbound,2026-09-30T22:30:00Z,text,,delivered,"),
    ];
    let (_, utc) = report(dir.path(), &rows, &["--service-free-tier", "0"]);
    assert_eq!(
        (utc["o1"]["regime"].as_str(), utc["o1"]["cost"].as_str()),
        ("pmp-2025", "0")
    );
    let (_, riyadh) = report(
        dir.path(),
        &rows,
        &["--service-free-tier", "0", "--billing-tz", "Asia/Riyadh"],
    );
    assert_eq!(
        (
            riyadh["o1"]["regime"].as_str(),
            riyadh["o1"]["cost"].as_str()
        ),
        ("pmp-2026-10", "0.0107")
    );
}

#[test]
fn rate_changes_and_market_moves_apply_on_their_dates() {
    let dir = TempDir::new().unwrap();
    let long = "market,category,price,currency,effective_from\n\
                Saudi Arabia,marketing,0.0455,USD,2026-03-01\n\
                Saudi Arabia,marketing,0.0501,USD,2026-03-15\n\
                Rest of Middle East,utility,0.0091,USD,2025-07-01\n\
                Qatar,utility,0.0120,USD,2026-07-01\n";
    let rates = card(dir.path(), "long.csv", long);
    let qa = "+97433123456";
    let rows = vec![
        format!("a,{SA},outbound,2026-03-10T10:00:00Z,template,marketing,delivered,"),
        format!("b,{SA},outbound,2026-03-20T10:00:00Z,template,marketing,delivered,"),
        format!("c,{qa},outbound,2026-06-30T10:00:00Z,template,utility,delivered,"),
        format!("d,{qa},outbound,2026-07-01T10:00:00Z,template,utility,delivered,"),
    ];
    let (_, sends) = report(dir.path(), &rows, &["--rates", rates.to_str().unwrap()]);
    assert_eq!(sends["a"]["cost"], "0.0455");
    assert_eq!(sends["b"]["cost"], "0.0501");
    assert_eq!(sends["b"]["rate_effective_from"], "2026-03-15");
    assert_eq!(
        (sends["c"]["market"].as_str(), sends["c"]["cost"].as_str()),
        ("Rest of Middle East", "0.0091")
    );
    assert_eq!(
        (sends["d"]["market"].as_str(), sends["d"]["cost"].as_str()),
        ("Qatar", "0.012")
    );
}

#[test]
fn free_entry_point_makes_72_hours_free() {
    let dir = TempDir::new().unwrap();
    let header = "message_id,contact,direction,timestamp,type,category,status,entry_point";
    let lines = [
        "e1,+966501234567,inbound,2026-03-10T10:00:00Z,text,,,CTWA",
        "e2,+966501234567,outbound,2026-03-10T11:00:00Z,text,,delivered,",
        "e3,+966501234567,outbound,2026-03-12T12:00:00Z,template,marketing,delivered,",
        "e4,+966501234567,outbound,2026-03-13T11:00:00Z,template,marketing,delivered,",
        "x1,+966501234568,inbound,2026-03-10T10:00:00Z,text,,,",
        "x2,+966501234568,outbound,2026-03-10T11:00:00Z,text,,delivered,",
        "x3,+966501234568,outbound,2026-03-12T12:00:00Z,template,marketing,delivered,",
    ];
    let log = write_csv(dir.path(), "fep.csv", header, &lines);
    let out = dir.path().join("out");
    ledger()
        .args(["report", "--input"])
        .arg(&log)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let rule = column_by_id(&out.join("sends.csv"), "pricing_rule");
    assert_eq!(rule["e2"], "free_entry_point");
    assert_eq!(rule["e3"], "free_entry_point", "inside 72 h of the reply");
    assert_eq!(rule["e4"], "charged", "exactly 72 h after the reply");
    assert_eq!(rule["x3"], "charged", "no entry point, no free window");
}

#[test]
fn failed_templates_cost_nothing() {
    let dir = TempDir::new().unwrap();
    let rows = vec![
        format!("f1,{SA},outbound,2026-03-10T10:00:00Z,template,marketing,failed,131049"),
        format!("f2,{SA},outbound,2026-03-10T10:01:00Z,template,marketing,delivered,"),
    ];
    let (_, sends) = report(dir.path(), &rows, &[]);
    assert_eq!(
        (
            sends["f1"]["pricing_rule"].as_str(),
            sends["f1"]["cost"].as_str()
        ),
        ("failed_not_charged", "0")
    );
    assert_eq!(
        sends["f1"]["currency"], "USD",
        "free rows carry the card's currency (§8.22)"
    );
    assert_eq!(sends["f2"]["cost"], "0.0455");
}

#[test]
fn two_currencies_are_never_summed() {
    let dir = TempDir::new().unwrap();
    let long = "market,category,price,currency,effective_from\n\
                Saudi Arabia,marketing,0.17,SAR,2025-07-01\n\
                Egypt,marketing,0.0644,USD,2025-07-01\n";
    let rates = card(dir.path(), "two.csv", long);
    let rows = vec![
        format!("s1,{SA},outbound,2026-03-10T10:00:00Z,template,marketing,delivered,"),
        "e1,+201001234567,outbound,2026-03-10T10:00:00Z,template,marketing,delivered,".to_string(),
    ];
    let (out, _) = report(dir.path(), &rows, &["--rates", rates.to_str().unwrap()]);
    let spend = summary_json(&out)["spend"]["by_currency"].clone();
    assert_eq!(spend[0]["currency"], "SAR");
    assert_eq!(spend[0]["total"].to_string(), "0.17");
    assert_eq!(spend[1]["currency"], "USD");
    assert_eq!(spend[1]["total"].to_string(), "0.0644");
    let summary = read_rows(&out.join("summary.csv"));
    assert!(summary
        .iter()
        .all(|r| r["currency"] == "SAR" || r["currency"] == "USD"));
}

#[test]
fn a_missing_rate_stops_the_run_unless_allowed() {
    let dir = TempDir::new().unwrap();
    let rates = card(dir.path(), "sa.csv", SA_CARD);
    let rates_arg = format!("2025-07-01={}", rates.display());
    let log = write_csv(
        dir.path(),
        "log.csv",
        HEADER,
        &["g1,+201001234567,outbound,2026-03-10T10:00:00Z,template,utility,delivered,"],
    );
    ledger()
        .args(["report", "--rates", &rates_arg, "--input"])
        .arg(&log)
        .arg("--out")
        .arg(dir.path().join("out"))
        .assert()
        .code(2)
        .stderr(contains("no utility rate for market Egypt on 2026-03-10"));
    let out = dir.path().join("allowed");
    ledger()
        .args([
            "report",
            "--allow-unpriced",
            "--rates",
            &rates_arg,
            "--input",
        ])
        .arg(&log)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let sends = read_rows(&out.join("sends.csv"));
    assert_eq!(
        (sends[0]["pricing_rule"].as_str(), sends[0]["cost"].as_str()),
        ("unpriced", "")
    );
    assert_eq!(summary_json(&out)["spend"]["unpriced_rows"], 1);
}

#[test]
fn before_june_2023_is_unpriced_regime_with_a_warning() {
    let dir = TempDir::new().unwrap();
    // Failed or not, every row before 2023-06-01 is unpriced_regime (§8.19).
    let rows = vec![
        format!("c1,{SA},outbound,2023-05-31T23:59:59Z,template,marketing,failed,"),
        format!("c2,{SA},outbound,2023-05-31T10:00:00Z,template,marketing,delivered,"),
    ];
    let (out, sends) = report(dir.path(), &rows, &[]);
    for id in ["c1", "c2"] {
        assert_eq!(
            (
                sends[id]["regime"].as_str(),
                sends[id]["pricing_rule"].as_str(),
                sends[id]["cost"].as_str()
            ),
            ("cbp-2022", "unpriced_regime", ""),
            "{id}"
        );
    }
    let summary = summary_json(&out);
    assert_eq!(summary["spend"]["unpriced_regime_rows"], 2);
    assert!(summary["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w.as_str().unwrap().contains("2022 conversation rules")));
}

#[test]
fn what_if_regime_is_labelled_and_compared() {
    let dir = TempDir::new().unwrap();
    let rates = card(dir.path(), "sa.csv", SA_CARD);
    let rates_arg = format!("2025-07-01={}", rates.display());
    let rows = example_rows("2026-03-10", "2026-03-11", "2026-03-13");
    let (out, sends) = report(
        dir.path(),
        &rows,
        &[
            "--rates",
            &rates_arg,
            "--compare-regime",
            "pmp-2026-10",
            "--service-free-tier",
            "0",
        ],
    );
    assert_eq!(
        sends["m3"]["pricing_rule"], "free_in_window_utility",
        "as billed"
    );
    let summary = summary_json(&out);
    assert_eq!(summary["pricing"]["what_if"], false);
    assert_eq!(summary["comparison"]["regime"], "pmp-2026-10");
    assert_eq!(
        summary["comparison"]["spend"]["by_currency"][0]["total"].to_string(),
        "0.1338"
    );
    let markdown = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(
        markdown.contains("under `pmp-2026-10` (what-if)"),
        "{markdown}"
    );

    let (forced, _) = report(
        dir.path(),
        &rows,
        &["--rates", &rates_arg, "--regime", "pmp-2026-10"],
    );
    assert_eq!(summary_json(&forced)["pricing"]["what_if"], true);
    assert!(std::fs::read_to_string(forced.join("summary.md"))
        .unwrap()
        .contains("What-if pricing"));
}

#[test]
fn rates_as_of_prices_history_with_one_card() {
    let dir = TempDir::new().unwrap();
    let rows = vec![format!(
        "r1,{SA},outbound,2026-03-10T10:00:00Z,template,marketing,delivered,"
    )];
    let (_, billed) = report(dir.path(), &rows, &[]);
    assert_eq!(
        billed["r1"]["cost"], "0.0455",
        "built-in card in force on 2026-03-10"
    );
    let (out, what_if) = report(dir.path(), &rows, &["--rates-as-of", "2026-10-01"]);
    assert_eq!(
        what_if["r1"]["cost"], "0.0576",
        "built-in card of 2026-10-01"
    );
    assert_eq!(what_if["r1"]["rate_effective_from"], "2026-10-01");
    assert_eq!(summary_json(&out)["pricing"]["what_if"], true);
}
