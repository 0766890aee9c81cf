//! Issue 7: nothing injected, contacts hashed on request, and the same
//! bytes whatever the order of rows and files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::common::{column_by_id, files_under, ledger, read_rows, write_csv};

const HEADER: &str = "message_id,contact,direction,timestamp,type,template_name,category,status";

fn rows_a() -> Vec<&'static str> {
    vec![
        "a1,+966501234567,inbound,2026-10-05T10:00:00Z,text,,,",
        "a2,+966501234567,outbound,2026-10-05T10:05:00Z,template,\"=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",marketing,read",
        "a3,+966501234567,outbound,2026-10-05T10:06:00Z,template,@SUM(A1),utility,read",
        "a4,+971501234567,outbound,2026-10-07T09:00:00Z,template,-2+3+cmd,marketing,delivered",
        "a5,+971501234567,inbound,2026-10-07T09:30:00Z,text,,,",
        "a6,+971501234567,outbound,2026-10-07T09:31:00Z,text,,,read",
    ]
}

fn rows_b() -> Vec<&'static str> {
    vec![
        "b1,+201001234567,inbound,2026-10-09T08:00:00Z,text,,,",
        "b2,+201001234567,outbound,2026-10-10T09:00:00Z,template,win_back,marketing,read",
        "b3,+201001234567,inbound,2026-10-10T10:00:00Z,text,,,",
        "b4,+201001234567,outbound,2026-10-10T10:00:00Z,text,,,read",
        "b5,+966509999999,outbound,2026-10-11T10:00:00Z,template,order_update,utility,failed",
    ]
}

fn report(inputs: &[PathBuf], out: &Path, extra: &[&str]) {
    let mut cmd = ledger();
    cmd.arg("report")
        .arg("--quiet")
        .arg("--allow-rejected")
        .arg("--out")
        .arg(out);
    for input in inputs {
        cmd.arg("--input").arg(input);
    }
    cmd.args(extra).assert().success();
}

/// Every file of a run directory, by relative path.
fn files_of(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    files_under(dir)
        .into_iter()
        .map(|name| {
            (
                name.display().to_string(),
                std::fs::read(dir.join(&name)).unwrap(),
            )
        })
        .collect()
}

#[test]
fn formulas_from_the_input_are_neutralised_and_amounts_are_not() {
    let dir = TempDir::new().unwrap();
    let log = write_csv(dir.path(), "log.csv", HEADER, &rows_a());
    let out = dir.path().join("run");
    report(&[log], &out, &[]);
    let names = column_by_id(&out.join("sends.csv"), "template_name");
    assert_eq!(names["a2"], "'=HYPERLINK(\"http://x\",\"y\")");
    assert_eq!(names["a3"], "'@SUM(A1)");
    assert_eq!(names["a4"], "'-2+3+cmd");
    // Amounts stay numbers (negative ones included: `safe` unit tests).
    for column in ["cost", "avoidable_cost"] {
        for (id, value) in column_by_id(&out.join("sends.csv"), column) {
            assert!(value.parse::<f64>().is_ok(), "{id} {column} {value:?}");
        }
    }
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        !html.contains("=HYPERLINK(\"http"),
        "raw input text in the HTML"
    );
}

#[test]
fn hashed_contacts_replace_numbers_and_the_salt_is_written_nowhere() {
    let dir = TempDir::new().unwrap();
    let log = write_csv(dir.path(), "log.csv", HEADER, &rows_a());
    let salt = "correct-horse-battery-staple";
    let out = dir.path().join("run");
    ledger()
        .args(["report", "--quiet", "--hash-contacts", "--input"])
        .arg(&log)
        .arg("--out")
        .arg(&out)
        .env("WINDOW_LEDGER_SALT", salt)
        .assert()
        .success();
    let expected = window_ledger::privacy::contact_hash(salt, "966501234567");
    let contacts = column_by_id(&out.join("sends.csv"), "contact");
    assert_eq!(contacts["a2"], expected);
    // The state for --continue-from would carry numbers: none is kept.
    assert!(!out.join("state").exists());
    for (name, bytes) in files_of(&out) {
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(salt), "{name} holds the salt");
        assert!(
            !text.contains("966501234567"),
            "{name} holds a contact number"
        );
    }
    // Without a salt it refuses, naming what to set.
    ledger()
        .args(["report", "--quiet", "--hash-contacts", "--input"])
        .arg(&log)
        .arg("--out")
        .arg(dir.path().join("run2"))
        .env_remove("WINDOW_LEDGER_SALT")
        .assert()
        .code(2)
        .stderr(predicates::str::contains("WINDOW_LEDGER_SALT"));
}

#[test]
fn any_row_order_and_file_order_gives_the_same_bytes() {
    let dir = TempDir::new().unwrap();
    let a = write_csv(dir.path(), "a.csv", HEADER, &rows_a());
    let b = write_csv(dir.path(), "b.csv", HEADER, &rows_b());
    let first = dir.path().join("first");
    report(&[a.clone(), b.clone()], &first, &[]);

    let shuffled = dir.path().join("shuffled");
    std::fs::create_dir(&shuffled).unwrap();
    let mut ra = rows_a();
    ra.reverse();
    ra.swap(0, 3);
    let mut rb = rows_b();
    rb.rotate_left(2);
    let a2 = write_csv(&shuffled, "a.csv", HEADER, &ra);
    let b2 = write_csv(&shuffled, "b.csv", HEADER, &rb);
    // Same file names, so the outputs that name files can be compared too.
    let second = dir.path().join("second");
    std::fs::rename(&shuffled, dir.path().join("tmp")).unwrap();
    let _ = (a2, b2);
    std::fs::remove_file(&a).unwrap();
    std::fs::remove_file(&b).unwrap();
    std::fs::rename(dir.path().join("tmp/a.csv"), &a).unwrap();
    std::fs::rename(dir.path().join("tmp/b.csv"), &b).unwrap();
    report(&[b, a], &second, &[]);

    let (one, two) = (files_of(&first), files_of(&second));
    assert_eq!(
        one.keys().collect::<Vec<_>>(),
        two.keys().collect::<Vec<_>>()
    );
    for (name, bytes) in &one {
        assert!(
            bytes == &two[name],
            "{name} differs with rows and files reordered"
        );
    }
}

/// §8.21: values are trimmed and a blank value is missing, in whichever
/// columns the padding occurs (only such columns are rewritten).
#[test]
fn padded_and_blank_values_read_as_trimmed_and_missing() {
    let dir = TempDir::new().unwrap();
    let header = "message_id,contact,direction,timestamp,type,category,status,entry_point";
    let log = write_csv(
        dir.path(),
        "padded.csv",
        header,
        &[
            " p1 ,+966501234567, Inbound ,2026-10-05T10:00:00Z, text ,,, ctwa ",
            "p2,+966501234567,outbound ,2026-10-05T10:05:00Z,TEMPLATE,\tUtility ,  ,",
            "p3,+966501234567,outbound,2026-10-05T10:06:00Z,text,, read ,",
            "p4,   ,inbound,2026-10-05T10:07:00Z,text,,,",
        ],
    );
    let out = dir.path().join("run");
    report(&[log], &out, &[]);
    let sends = read_rows(&out.join("sends.csv"));
    let by_id: BTreeMap<_, _> = sends
        .iter()
        .map(|r| (r["message_id"].as_str(), r))
        .collect();
    assert_eq!(by_id["p2"]["category"], "utility");
    assert_eq!(by_id["p2"]["status"], "", "a blank status is missing");
    assert_eq!(by_id["p2"]["class"], "template_avoidable");
    // The padded ctwa entry point opens a free entry point window at p2.
    assert_eq!(by_id["p2"]["pricing_rule"], "free_entry_point");
    assert_eq!(by_id["p3"]["status"], "read");
    let rejected = read_rows(&out.join("rejected.csv"));
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0]["reason"], "missing contact");
    // The id " p1 " is p1: p1's window is the one p2 and p3 fall in.
    let windows = read_rows(&out.join("windows.csv"));
    assert_eq!(windows.len(), 1);
    assert_eq!(windows[0]["inbound_count"], "1");
}

/// A SQL section that selects contacts shows them masked in the HTML report
/// and the workbook (human-facing), and keeps them in its CSV table.
#[test]
fn contacts_from_sql_sections_are_masked_where_people_read_them() {
    use calamine::{open_workbook, Reader, Xlsx};
    let dir = TempDir::new().unwrap();
    let log = write_csv(dir.path(), "a.csv", HEADER, &rows_a());
    let queries = dir.path().join("queries");
    std::fs::create_dir(&queries).unwrap();
    std::fs::write(
        queries.join("by_contact.sql"),
        "-- Sends by contact\nSELECT contact, COUNT(*) AS sends FROM sends GROUP BY contact ORDER BY contact\n",
    )
    .unwrap();
    let out = dir.path().join("run");
    let queries_arg = queries.display().to_string();
    report(&[log], &out, &["--queries", &queries_arg]);
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        !html.contains("966501234567"),
        "a contact shown in report.html"
    );
    assert!(
        html.contains("+9665•••••567"),
        "the masked contact is shown"
    );
    let mut workbook: Xlsx<_> = open_workbook(out.join("report.xlsx")).unwrap();
    let mut cells = Vec::new();
    for name in workbook.sheet_names() {
        let range = workbook.worksheet_range(&name).unwrap();
        cells.extend(range.rows().flatten().map(|c| c.to_string()));
    }
    // The mask starts with "+", so the workbook cell is neutralised too.
    assert!(cells.iter().any(|c| c == "'+9665•••••567"), "{cells:?}");
    assert!(
        !cells.iter().any(|c| c.contains("966501234567")),
        "{cells:?}"
    );
    let table = read_rows(&out.join("tables/by_contact.csv"));
    assert_eq!(
        table[0]["contact"], "966501234567",
        "the table keeps numbers"
    );
}

/// `--row-tables parquet` writes sends and windows as Parquet with the
/// rows and values of the CSV tables (instants typed), and no CSV of them;
/// `both` writes both, and the CSV is the default run's.
#[test]
fn parquet_row_tables_hold_what_the_csv_tables_hold() {
    use polars::prelude::*;
    let dir = TempDir::new().unwrap();
    let log = write_csv(dir.path(), "a.csv", HEADER, &rows_a());
    let (csv_run, both, parquet_only) = (
        dir.path().join("csv"),
        dir.path().join("both"),
        dir.path().join("parquet"),
    );
    report(std::slice::from_ref(&log), &csv_run, &[]);
    report(std::slice::from_ref(&log), &both, &["--row-tables", "both"]);
    report(&[log], &parquet_only, &["--row-tables", "parquet"]);
    for table in ["sends", "windows"] {
        let csv = std::fs::read(csv_run.join(format!("{table}.csv"))).unwrap();
        assert_eq!(
            std::fs::read(both.join(format!("{table}.csv"))).unwrap(),
            csv
        );
        assert!(!parquet_only.join(format!("{table}.csv")).exists());
        let parquet = parquet_only.join(format!("{table}.parquet"));
        assert_eq!(
            std::fs::read(&parquet).unwrap(),
            std::fs::read(both.join(format!("{table}.parquet"))).unwrap(),
            "{table}.parquet is the same in both runs"
        );
        let frame = ParquetReader::new(std::fs::File::open(&parquet).unwrap())
            .finish()
            .unwrap();
        let rows = read_rows(&csv_run.join(format!("{table}.csv")));
        assert_eq!(frame.height(), rows.len(), "{table}");
        let instant = if table == "sends" {
            "timestamp"
        } else {
            "opened_at"
        };
        let texts = frame
            .clone()
            .lazy()
            .select([col(instant).dt().strftime("%Y-%m-%dT%H:%M:%S%.fZ")])
            .collect()
            .unwrap();
        let texts = texts.column(instant).unwrap().str().unwrap().clone();
        for (i, row) in rows.iter().enumerate() {
            assert_eq!(texts.get(i), Some(row[instant].as_str()), "{table} row {i}");
        }
        if table == "sends" {
            let costs = frame.column("cost").unwrap().str().unwrap().clone();
            let ids = frame.column("message_id").unwrap().str().unwrap().clone();
            for (i, row) in rows.iter().enumerate() {
                assert_eq!(ids.get(i), Some(row["message_id"].as_str()));
                assert_eq!(costs.get(i).unwrap_or(""), row["cost"], "cost of row {i}");
            }
        }
    }
}

/// §2, §8.7: a contact with nothing left once formatting is removed (`+ - `,
/// `00`) is an empty contact and is rejected; a business number like that
/// is missing, so the one business `default`.
#[test]
fn a_contact_that_normalises_to_nothing_is_rejected() {
    let dir = TempDir::new().unwrap();
    let header = "message_id,business_number,contact,direction,timestamp,type,category,status";
    let log = write_csv(
        dir.path(),
        "empty.csv",
        header,
        &[
            "e1,111,+966501234567,inbound,2026-10-05T10:00:00Z,text,,",
            "e2,111,+ - ,inbound,2026-10-05T10:01:00Z,text,,",
            "e3,111,00,outbound,2026-10-05T10:02:00Z,template,marketing,read",
            "e4,+ -,+966501234567,outbound,2026-10-05T10:03:00Z,text,,read",
            "e5,,+966501234567,outbound,2026-10-05T10:04:00Z,text,,read",
        ],
    );
    {
        let out = dir.path().join("run");
        report(&[log], &out, &[]);
        let rejected = read_rows(&out.join("rejected.csv"));
        let rows: Vec<(&str, &str)> = rejected
            .iter()
            .map(|r| (r["row"].as_str(), r["reason"].as_str()))
            .collect();
        let reason = "empty contact (nothing is left once formatting is removed)";
        assert_eq!(rows, vec![("2", reason), ("3", reason)]);
        let business = column_by_id(&out.join("sends.csv"), "business_number");
        assert_eq!(business["e4"], "default", "`+ -` is no business number");
        assert_eq!(business["e5"], "default");
    }
}

/// Contacts are normalised for every checked row at once and given back
/// to the messages kept: rejected rows and retries between them must not
/// shift a message's contact or country onto another's.
#[test]
fn rejected_rows_and_retries_do_not_shift_contacts() {
    let dir = TempDir::new().unwrap();
    let input = write_csv(
        dir.path(),
        "log.csv",
        HEADER,
        &[
            "r1,+44 7700 900123,sideways,2026-10-01T09:00:00Z,text,,,",
            "m1,+966501234567,inbound,2026-10-01T10:00:00Z,text,,,",
            "m1,+1 212 555 0100,inbound,2026-10-01T10:05:00Z,text,,,",
            "r2,,inbound,2026-10-01T10:06:00Z,text,,,",
            "m2,0044 7700 900456,outbound,2026-10-01T11:00:00Z,template,promo,marketing,sent",
            "m3,+966501234567,outbound,2026-10-01T10:30:00Z,text,,,sent",
            "r3,+49 30 1234567,outbound,not a time,text,,,sent",
            "m4,+20 100 123 4567,outbound,2026-10-02T08:00:00Z,template,promo,utility,sent",
        ],
    );
    let out = dir.path().join("out");
    report(&[input], &out, &[]);
    let sends = out.join("sends.csv");
    let contacts = column_by_id(&sends, "contact");
    let countries = column_by_id(&sends, "country");
    let expected = [
        ("m2", "447700900456", "GB"),
        ("m3", "966501234567", "SA"),
        ("m4", "201001234567", "EG"),
    ];
    assert_eq!(contacts.len(), expected.len(), "{contacts:?}");
    for (id, contact, country) in expected {
        assert_eq!(contacts[id], contact, "{id}");
        assert_eq!(countries[id], country, "{id}");
    }
    let windows = read_rows(&out.join("windows.csv"));
    let opened: Vec<(&str, &str)> = windows
        .iter()
        .map(|w| (w["contact"].as_str(), w["country"].as_str()))
        .collect();
    assert_eq!(opened, [("966501234567", "SA")]);
    let rejected = read_rows(&out.join("rejected.csv"));
    let rejected: Vec<&str> = rejected.iter().map(|r| r["contact"].as_str()).collect();
    // As given, neutralised against formulas (a leading `+`).
    assert_eq!(rejected, ["'+44 7700 900123", "", "'+49 30 1234567"]);
}
