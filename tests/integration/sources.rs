//! Issue 5: webhook logs, send logs, column mappings, and reconciliation
//! against Meta's own flags, through the real binary.

use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::common::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/webhooks")
        .join(name)
}

fn mapping_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("mappings")
        .join(name)
}

/// A run that may reject rows (the webhook fixture has unusable lines on
/// purpose): they are checked through rejected.csv and summary.json.
/// The built-in card, and `cbp-card.csv` for the May 2025 exchange
/// (conversation-based pricing).
fn report(out: &Path, args: &[&std::ffi::OsStr]) {
    let built_in = Path::new(env!("CARGO_MANIFEST_DIR")).join("rates/meta-usd.csv");
    ledger()
        .arg("report")
        .arg("--allow-rejected")
        .arg("--rates")
        .arg(built_in)
        .arg("--rates")
        .arg(fixture("cbp-card.csv"))
        .arg("--out")
        .arg(out)
        .args(args)
        .assert()
        .success();
}

fn webhook_run(dir: &TempDir, with_send_log: bool) -> PathBuf {
    let out = dir
        .path()
        .join(if with_send_log { "webhook" } else { "bare" });
    let log = fixture("cloud-api.ndjson");
    let send_log = fixture("send-log.csv");
    let mut args = vec![std::ffi::OsStr::new("--input"), log.as_os_str()];
    if with_send_log {
        args.extend([std::ffi::OsStr::new("--send-log"), send_log.as_os_str()]);
    }
    report(&out, &args);
    out
}

#[test]
fn webhook_log_and_equivalent_canonical_csv_give_identical_tables() {
    let dir = TempDir::new().unwrap();
    let webhook = webhook_run(&dir, true);
    let canonical = dir.path().join("canonical");
    let csv = fixture("canonical.csv");
    report(&canonical, &["--input".as_ref(), csv.as_os_str()]);
    for table in ["sends.csv", "windows.csv", "summary.csv"] {
        let a = std::fs::read_to_string(webhook.join(table)).unwrap();
        let b = std::fs::read_to_string(canonical.join(table)).unwrap();
        assert_eq!(a, b, "{table} differs");
    }
    let sends = webhook.join("sends.csv");
    let class = column_by_id(&sends, "class");
    let status = column_by_id(&sends, "status");
    let rule = column_by_id(&sends, "pricing_rule");
    assert_eq!(class["wamid.m4"], "template_avoidable");
    assert_eq!(class["wamid.m8"], "template_late_reply");
    assert_eq!(status["wamid.m3"], "read", "read without delivered");
    assert_eq!(status["wamid.m5"], "failed");
    assert_eq!(rule["wamid.a3"], "free_entry_point");
    assert_eq!(rule["wamid.c2"], "charged");
    // It opened its conversation, which is named by it.
    assert_eq!(
        column_by_id(&sends, "conversation_id")["wamid.c2"],
        "wamid.c2"
    );
    assert_eq!(
        column_by_id(&sends, "timestamp")["wamid.m2"],
        "2026-03-10T10:05:00Z",
        "the earliest sent status, not the request time of the send log"
    );
}

#[test]
fn every_webhook_row_is_accounted_for() {
    let dir = TempDir::new().unwrap();
    let out = webhook_run(&dir, true);
    let summary = summary_json(&out);
    let webhook = &summary["files"][0];
    assert_eq!(webhook["format"], "webhook");
    // 5 inbound messages (one a retry) + 10 folded outbound + 1 bad line.
    assert_eq!(webhook["rows_read"], 16);
    assert_eq!(webhook["duplicates"], 1);
    assert_eq!(webhook["rejected"], 1);
    assert_eq!(webhook["processed"], 14);
    assert_eq!(webhook["webhook"]["outbound_messages"], 10);
    assert_eq!(webhook["webhook"]["status_notifications"], 21);
    assert_eq!(webhook["webhook"]["skipped_changes"]["account_update"], 1);
    let send_log = &summary["files"][1];
    assert_eq!(send_log["role"], "send_log");
    assert_eq!(send_log["rows_read"], 11);
    assert_eq!(send_log["merged"], 10);
    assert_eq!(send_log["processed"], 1);
    assert_eq!(summary["rows"]["accounted"], true);
    let warnings = summary["warnings"].to_string();
    assert!(warnings.contains("account_update: 1"), "{warnings}");
    let rejected = read_rows(&out.join("rejected.csv"));
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0]["line"], "15");
    assert!(rejected[0]["reason"].starts_with("invalid JSON"));
}

#[test]
fn meta_flags_agree_with_the_reconstruction_of_a_consistent_log() {
    let dir = TempDir::new().unwrap();
    let out = webhook_run(&dir, true);
    let rec = &summary_json(&out)["reconciliation"];
    assert_eq!(rec["re_engagement_131047"]["failures"], 1);
    assert_eq!(rec["re_engagement_131047"]["outside_window"], 1);
    // m2, m3, m4, m6, m8, a2, a3 carry PMP flags; c2 is CBP, m5/m9 failed.
    assert_eq!(rec["pricing"]["compared"], 7);
    assert_eq!(rec["pricing"]["agreed"], 7);
    assert_eq!(rec["pricing"]["by_month"][0]["month"], "2026-03");
    // c2's conversation (utility, opened by c2, expiring 24 h later) is
    // Meta's.
    let conversations = &rec["conversations"];
    assert_eq!(conversations["with_meta_conversation"], 1);
    assert_eq!(conversations["agreed"], 1);
    assert_eq!(conversations["by_month"][0]["month"], "2025-05");
    let rows = read_rows(&out.join("reconciliation.csv"));
    assert!(rows.is_empty(), "{rows:?}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Reconciliation with Meta"));
}

#[test]
fn without_a_send_log_templates_are_known_by_meta_pricing_category() {
    let dir = TempDir::new().unwrap();
    let out = webhook_run(&dir, false);
    let sends = out.join("sends.csv");
    let kind = column_by_id(&sends, "type");
    let category = column_by_id(&sends, "category");
    assert_eq!(kind["wamid.m3"], "template");
    assert_eq!(category["wamid.m3"], "utility");
    assert_eq!(kind["wamid.m4"], "template", "pricing on delivered only");
    assert_eq!(category["wamid.c2"], "utility", "CBP pricing shape");
    assert_eq!(kind["wamid.m2"], "", "a service message is no template");
    assert_eq!(kind["wamid.m9"], "", "a failed template has no pricing");
    let summary = summary_json(&out);
    assert_eq!(summary["data_quality"]["outbound_missing_type"], 4);
}

/// A canonical log with Meta's flags as columns: one pricing flag that
/// disagrees, and a 131047 failure inside a window.
#[test]
fn disagreements_are_listed_with_what_differs() {
    let dir = TempDir::new().unwrap();
    let header = "message_id,contact,direction,timestamp,type,category,status,error_code,pricing_model,pricing_type,pricing_category,billable";
    let log = write_csv(
        dir.path(),
        "log.csv",
        header,
        &[
            "m1,+966501234567,inbound,2026-03-10T10:00:00Z,text,,,,,,,",
            "m2,+966501234567,outbound,2026-03-10T10:05:00Z,text,,failed,131047,,,,",
            "m3,+966501234567,outbound,2026-03-10T11:00:00Z,template,marketing,delivered,,PMP,regular,marketing,true",
            "m4,+966501234567,outbound,2026-03-12T11:00:00Z,template,utility,delivered,,PMP,free_customer_service,utility,false",
        ],
    );
    let out = dir.path().join("run");
    report(&out, &["--input".as_ref(), log.as_os_str()]);
    let rec = &summary_json(&out)["reconciliation"];
    assert_eq!(rec["re_engagement_131047"]["inside_window"], 1);
    assert_eq!(rec["pricing"]["compared"], 2);
    assert_eq!(rec["pricing"]["agreed"], 1);
    assert_eq!(rec["pricing"]["agreement_share"], 0.5);
    let rows = read_rows(&out.join("reconciliation.csv"));
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["check"], "re_engagement_in_window");
    assert_eq!(rows[0]["message_id"], "m2");
    assert_eq!(rows[1]["check"], "pricing");
    assert_eq!(rows[1]["message_id"], "m4");
    assert_eq!(
        rows[1]["detail"],
        "type: ours regular, Meta free_customer_service; billable: ours true, Meta false"
    );
}

#[test]
fn meta_analytics_volume_and_cost_beside_ours() {
    let dir = TempDir::new().unwrap();
    let analytics = dir.path().join("analytics.json");
    // 2026-03-10T00:00Z and 2026-03-13T00:00Z, DAILY points.
    std::fs::write(
        &analytics,
        r#"{"pricing_analytics":{"data":[{"data_points":[
 {"start":1773100800,"end":1773187200,"country":"SA","pricing_type":"REGULAR","pricing_category":"MARKETING","volume":1,"cost":0.0455},
 {"start":1773360000,"end":1773446400,"country":"SA","pricing_type":"REGULAR","pricing_category":"MARKETING","volume":1,"cost":0.0455},
 {"start":1773100800,"end":1773187200,"country":"SA","pricing_type":"FREE_CUSTOMER_SERVICE","pricing_category":"SERVICE","volume":1,"cost":0},
 {"start":1773100800,"end":1773187200,"country":"AE","pricing_type":"FREE_ENTRY_POINT","pricing_category":"SERVICE","volume":3,"cost":0}
]}]}}"#,
    )
    .unwrap();
    let log = fixture("cloud-api.ndjson");
    let send_log = fixture("send-log.csv");
    let out = dir.path().join("run");
    report(
        &out,
        &[
            "--input".as_ref(),
            log.as_os_str(),
            "--send-log".as_ref(),
            send_log.as_os_str(),
            "--meta-analytics".as_ref(),
            analytics.as_os_str(),
            "--month".as_ref(),
            "2026-03".as_ref(),
        ],
    );
    let rows = read_rows(&out.join("analytics.csv"));
    let find = |country: &str, category: &str| {
        rows.iter()
            .find(|r| r["country"] == country && r["pricing_category"] == category)
            .unwrap_or_else(|| panic!("{country} {category}: {rows:?}"))
            .clone()
    };
    let marketing = find("SA", "MARKETING");
    assert_eq!(marketing["volume_ours"], "2", "m4 and m8");
    assert_eq!(marketing["volume_meta"], "2");
    assert_eq!(marketing["cost_ours"], "0.091");
    let fep = find("AE", "SERVICE");
    assert_eq!(
        (
            fep["volume_ours"].as_str(),
            fep["volume_difference"].as_str()
        ),
        ("2", "-1")
    );
    let utility = find("SA", "UTILITY");
    assert_eq!(
        utility["volume_meta"], "0",
        "Meta has no utility point: {utility:?}"
    );
    let summary = summary_json(&out);
    assert_eq!(summary["reconciliation"]["analytics"]["volume_meta"], 6);
}

#[test]
fn a_generic_inbox_export_reads_through_its_mapping_file() {
    let dir = TempDir::new().unwrap();
    let export = write_csv(
        dir.path(),
        "inbox.csv",
        "Message ID,Channel Number,Customer Phone,Direction,Created At,Message Type,Template Name,Template Category,Delivery Status,Error Code,Country",
        &[
            "m1,15550783881,+966 50 123 4567,IN,2026-03-10T10:00:00Z,text,,,,,",
            "m2,15550783881,+966 50 123 4567,OUT,2026-03-10T10:05:00Z,text,,,DELIVERED,,",
            "m4,15550783881,+966 50 123 4567,OUT,2026-03-10T19:00:00Z,HSM,autumn_sale,MARKETING,READ,,",
            "m5,15550783881,+966 50 123 4567,OUT,2026-03-11T10:00:00Z,text,,,FAILED,131047,",
        ],
    );
    let out = dir.path().join("run");
    let mapping = mapping_file("generic-inbox.toml");
    report(
        &out,
        &[
            "--input".as_ref(),
            export.as_os_str(),
            "--mapping".as_ref(),
            mapping.as_os_str(),
        ],
    );
    let sends = out.join("sends.csv");
    let class = column_by_id(&sends, "class");
    assert_eq!(class["m2"], "freeform_in_window");
    assert_eq!(class["m4"], "template_avoidable");
    assert_eq!(class["m5"], "freeform_blocked");
    assert_eq!(column_by_id(&sends, "contact")["m4"], "966501234567");
    assert_eq!(column_by_id(&sends, "cost")["m4"], "0.0455");
}

#[test]
fn a_twilio_bulk_export_reads_through_its_mapping_file() {
    let dir = TempDir::new().unwrap();
    let export = dir.path().join("2026-03-10.json");
    std::fs::write(
        &export,
        concat!(
            r#"{"sid":"SM1","from":"whatsapp:+966501234567","to":"whatsapp:+14155238886","direction":"inbound","status":"received","error_code":null,"date_sent":"2026-03-10T10:00:00Z","num_media":"0"}"#, "\n",
            r#"{"sid":"SM2","from":"whatsapp:+14155238886","to":"whatsapp:+966501234567","direction":"outbound-reply","status":"read","error_code":0,"date_sent":"2026-03-10T10:05:00Z"}"#, "\n",
            r#"{"sid":"SM3","from":"whatsapp:+14155238886","to":"whatsapp:+966501234567","direction":"outbound-api","status":"undelivered","error_code":63016,"date_sent":"2026-03-12T10:05:00Z"}"#, "\n",
            r#"{"sid":"SM4","from":"whatsapp:+14155238886","to":"whatsapp:+966501234567","direction":"outbound-api","status":"delivered","error_code":null,"date_sent":"2026-03-12T11:00:00Z"}"#, "\n",
        ),
    )
    .unwrap();
    let templates = write_csv(
        dir.path(),
        "templates.csv",
        "message_id,type,template_name,category",
        &["SM4,template,case_update,utility"],
    );
    let out = dir.path().join("run");
    let mapping = mapping_file("twilio-bulk-export.toml");
    report(
        &out,
        &[
            "--input".as_ref(),
            export.as_os_str(),
            "--mapping".as_ref(),
            mapping.as_os_str(),
            "--send-log".as_ref(),
            templates.as_os_str(),
        ],
    );
    let sends = out.join("sends.csv");
    assert_eq!(column_by_id(&sends, "class")["SM2"], "freeform_in_window");
    assert_eq!(
        column_by_id(&sends, "failed")["SM2"],
        "false",
        "error_code 0 is success"
    );
    assert_eq!(column_by_id(&sends, "class")["SM3"], "freeform_blocked");
    assert_eq!(column_by_id(&sends, "class")["SM4"], "template_needed");
    assert_eq!(
        column_by_id(&sends, "business_number")["SM4"],
        "14155238886"
    );
    let rec = &summary_json(&out)["reconciliation"]["re_engagement_131047"];
    assert_eq!(rec["outside_window"], 1, "Twilio 63016 read as 131047");
}

#[test]
fn map_flags_rename_columns_and_a_missing_one_lists_what_was_found() {
    let dir = TempDir::new().unwrap();
    let log = write_csv(
        dir.path(),
        "export.csv",
        "id,phone,dir,created_at,kind",
        &[
            "m1,+966501234567,inbound,2026-03-10T10:00:00Z,text",
            "m2,+966501234567,outbound,2026-03-10T10:05:00Z,text",
        ],
    );
    let out = dir.path().join("run");
    let maps = [
        "message_id=id",
        "contact=phone",
        "direction=dir",
        "timestamp=created_at",
        "type=kind",
    ];
    let mut args: Vec<&std::ffi::OsStr> = vec!["--input".as_ref(), log.as_os_str()];
    for m in &maps {
        args.extend(["--map".as_ref(), std::ffi::OsStr::new(m)]);
    }
    report(&out, &args);
    assert_eq!(
        column_by_id(&out.join("sends.csv"), "class")["m2"],
        "freeform_in_window"
    );

    let assert = ledger()
        .args(["report", "--input"])
        .arg(&log)
        .args(["--map", "contact=customer_phone", "--out"])
        .arg(dir.path().join("bad"))
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(
        stderr.contains("contact (mapped from customer_phone)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("columns found: id, phone, dir, created_at, kind"),
        "{stderr}"
    );
}

#[test]
fn format_canonical_reads_a_webhook_file_as_flat_rows_and_says_what_is_missing() {
    let dir = TempDir::new().unwrap();
    let assert = ledger()
        .args(["report", "--format", "canonical", "--input"])
        .arg(fixture("cloud-api.ndjson"))
        .arg("--out")
        .arg(dir.path().join("run"))
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(
        stderr.contains("missing required column(s) message_id"),
        "{stderr}"
    );
    assert!(stderr.contains("columns found: entry, object"), "{stderr}");
}

/// Statuses fold the same whatever their order and however the lines are
/// spread over files (one file a day, read in another order).
#[test]
fn shuffled_and_split_webhook_logs_fold_the_same() {
    let dir = TempDir::new().unwrap();
    let whole = webhook_run(&dir, true);
    let text = std::fs::read_to_string(fixture("cloud-api.ndjson")).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    // A fixed shuffle: reverse, then interleave the halves.
    lines.reverse();
    let (a, b) = lines.split_at(lines.len() / 2);
    let mut mixed: Vec<&str> = Vec::new();
    for i in 0..a.len().max(b.len()) {
        mixed.extend(b.get(i));
        mixed.extend(a.get(i));
    }
    let (first, second) = mixed.split_at(mixed.len() / 3);
    let parts = dir.path().join("parts");
    std::fs::create_dir(&parts).unwrap();
    std::fs::write(parts.join("b.ndjson"), first.join("\n")).unwrap();
    std::fs::write(parts.join("a.ndjson"), second.join("\n")).unwrap();
    let out = dir.path().join("split");
    let send_log = fixture("send-log.csv");
    report(
        &out,
        &[
            "--input".as_ref(),
            parts.as_os_str(),
            "--send-log".as_ref(),
            send_log.as_os_str(),
        ],
    );
    for table in [
        "sends.csv",
        "windows.csv",
        "summary.csv",
        "reconciliation.csv",
    ] {
        let a = std::fs::read_to_string(whole.join(table)).unwrap();
        let b = std::fs::read_to_string(out.join(table)).unwrap();
        assert_eq!(a, b, "{table} differs");
    }
    let summary = summary_json(&out);
    // Files are listed by path, so the send log may come before or after the
    // parts depending on where the repository lives: pick the parts by name.
    let parts: Vec<&serde_json::Value> = summary["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["path"].as_str().unwrap().ends_with(".ndjson"))
        .collect();
    assert_eq!(parts.len(), 2, "{summary}");
    let outbound: u64 = parts
        .iter()
        .map(|f| f["webhook"]["outbound_messages"].as_u64().unwrap())
        .sum();
    assert_eq!(outbound, 10, "each message is counted in one file");
    assert_eq!(summary["rows"]["accounted"], true);
}
