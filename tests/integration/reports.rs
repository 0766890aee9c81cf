//! The human-facing reports: HTML (English and Arabic), Markdown, charts,
//! the committed example, and a real browser rendering the page.

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use tempfile::TempDir;

use crate::common::*;

const SA: &str = "+966501234567";

fn example_a(dir: &Path) -> PathBuf {
    let rows = [
        format!("m1,{SA},inbound,2026-03-10T10:00:00Z,text,,,"),
        format!("m2,{SA},outbound,2026-03-10T10:05:00Z,text,,delivered,"),
        format!("m4,{SA},outbound,2026-03-10T19:00:00Z,template,marketing,read,"),
        format!("m6,{SA},outbound,2026-03-11T11:00:00Z,template,utility,delivered,"),
        format!("m7,{SA},inbound,2026-03-11T12:00:00Z,text,,,"),
        format!("m8,{SA},outbound,2026-03-13T09:00:00Z,template,marketing,delivered,"),
    ];
    let lines: Vec<&str> = rows.iter().map(String::as_str).collect();
    write_csv(dir, "log.csv", HEADER, &lines)
}

fn run(log: &Path, out: &Path, extra: &[&str]) {
    ledger()
        .args(["report", "--input"])
        .arg(log)
        .arg("--out")
        .arg(out)
        .args(extra)
        .assert()
        .success();
}

#[test]
fn markdown_and_svg_chart_snapshots() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("out");
    run(&example_a(dir.path()), &out, &[]);
    insta::assert_snapshot!(
        "summary_md",
        std::fs::read_to_string(out.join("summary.md")).unwrap()
    );
    insta::assert_snapshot!(
        "spend_by_month_svg",
        std::fs::read_to_string(out.join("charts/spend_by_month.svg")).unwrap()
    );
    for (name, _) in window_ledger::report::charts::CHARTS {
        let png = std::fs::read(out.join(format!("charts/{name}.png"))).unwrap();
        assert!(png.starts_with(b"\x89PNG"), "{name}.png is a PNG");
    }
}

#[test]
fn html_is_self_contained_escaped_and_masked() {
    let dir = TempDir::new().unwrap();
    let header = "message_id,contact,direction,timestamp,type,template_name,category,status";
    let lines = [
        "a1,+966501234567,inbound,2026-03-10T10:00:00Z,text,,,",
        "a2,+966501234567,outbound,2026-03-10T11:00:00Z,template,<script>alert(1)</script>,marketing,delivered",
        "b1,+966501234568,inbound,2026-03-10T12:00:00Z,text,,,",
    ];
    let log = write_csv(dir.path(), "log.csv", header, &lines);
    let out = dir.path().join("en");
    run(&log, &out, &[]);
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(!html.contains("<script"), "no script, and input is escaped");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    for needle in ["src=", "href=", "@import", "url(", "<link"] {
        assert!(!html.contains(needle), "no external request ({needle})");
    }
    assert!(html.contains("<svg"), "charts are inline");
    assert!(
        html.contains("+9665•••••568") && !html.contains("966501234568"),
        "customer numbers masked"
    );

    let shown = dir.path().join("shown");
    run(&log, &shown, &["--show-contacts"]);
    assert!(std::fs::read_to_string(shown.join("report.html"))
        .unwrap()
        .contains("966501234568"));
}

#[test]
fn arabic_report_is_right_to_left_with_the_same_figures() {
    let dir = TempDir::new().unwrap();
    let log = example_a(dir.path());
    let (en, ar) = (dir.path().join("en"), dir.path().join("ar"));
    run(&log, &en, &[]);
    run(&log, &ar, &["--lang", "ar"]);
    let arabic = std::fs::read_to_string(ar.join("report.html")).unwrap();
    let english = std::fs::read_to_string(en.join("report.html")).unwrap();
    assert!(arabic.contains("<html lang=\"ar\" dir=\"rtl\">"));
    assert!(arabic.contains("إجمالي الإنفاق"));
    assert!(
        arabic.contains("<div dir=\"ltr\"><svg"),
        "charts keep left-to-right layout"
    );
    for figure in ["0.1017 USD", "0.0455 USD"] {
        assert!(
            english.contains(figure) && arabic.contains(figure),
            "{figure}"
        );
    }
    // A period keeps its left-to-right order inside the Arabic page.
    let march = dir.path().join("ar-march");
    run(
        &log,
        &march,
        &["--lang", "ar", "--from", "2026-03-01", "--to", "2026-03-31"],
    );
    let march = std::fs::read_to_string(march.join("report.html")).unwrap();
    assert!(
        march.contains("<b><bdi dir=\"ltr\">2026-03-01_2026-03-31</bdi></b>"),
        "the period is isolated left to right"
    );
    // A third language is a file.
    let locale = dir.path().join("fr.json");
    std::fs::write(
        &locale,
        r#"{"lang":"fr","dir":"ltr","total_spend":"Dépense totale"}"#,
    )
    .unwrap();
    let fr = dir.path().join("fr");
    run(&log, &fr, &["--lang", locale.to_str().unwrap()]);
    let french = std::fs::read_to_string(fr.join("report.html")).unwrap();
    assert!(
        french.contains("Dépense totale") && french.contains("Avoidable spend"),
        "missing keys fall back to English"
    );
}

#[test]
fn a_month_is_compared_with_the_month_before() {
    let dir = TempDir::new().unwrap();
    let rows = [
        format!("s1,{SA},outbound,2026-09-10T10:00:00Z,template,marketing,delivered,"),
        format!("o1,{SA},outbound,2026-10-10T10:00:00Z,template,marketing,delivered,"),
        format!("o2,{SA},outbound,2026-10-11T10:00:00Z,template,marketing,delivered,"),
    ];
    let lines: Vec<&str> = rows.iter().map(String::as_str).collect();
    let log = write_csv(dir.path(), "log.csv", HEADER, &lines);
    let out = dir.path().join("oct");
    run(&log, &out, &["--month", "2026-10"]);
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    // Two templates against one: spend and count up 100% (a rise in spend is bad).
    assert!(
        html.contains("<div class=\"delta up\">▲ 100.0% vs previous month</div>"),
        "{html}"
    );
    let first = dir.path().join("sep");
    run(&log, &first, &["--month", "2026-09"]);
    assert!(!std::fs::read_to_string(first.join("report.html"))
        .unwrap()
        .contains("vs previous month"));
}

/// Renders the page in headless Chromium (installed by .ci/run) and checks
/// it is not blank and logs no console error.
#[test]
fn report_renders_in_a_real_browser() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("out");
    ledger()
        .args(["demo", "--contacts", "200", "--out"])
        .arg(&out)
        .assert()
        .success();
    let shot = dir.path().join("shot.png");
    let profile = dir.path().join("profile");
    let output = Process::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--window-size=1280,2400",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", out.join("report.html").display()))
        .output()
        .expect("chromium is needed for this test: apt-get install chromium (.ci/run does)");
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(!log.contains(":CONSOLE"), "console output: {log}");
    let image = image::open(&shot).expect("a screenshot").to_rgb8();
    let coloured = image
        .pixels()
        .filter(|p| p.0.iter().any(|c| *c < 200))
        .count();
    let share = coloured as f64 / (image.width() * image.height()) as f64;
    assert!(
        share > 0.05,
        "the page looks blank ({share:.3} of pixels drawn)"
    );
}

/// `reports/example/` and `reports/example-ar/` are exactly what
/// `window-ledger demo` writes today in English and Arabic (regenerate:
/// `cargo run -- demo --out reports/example` and `cargo run -- demo --lang
/// ar --out reports/example-ar`). This also proves that two runs give the
/// same bytes.
#[test]
fn committed_examples_match_a_fresh_demo() {
    for (example, lang) in [("example", "en"), ("example-ar", "ar")] {
        let committed = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("reports")
            .join(example);
        let dir = TempDir::new().unwrap();
        let fresh = dir.path().join(example);
        ledger()
            .args(["demo", "--lang", lang, "--out"])
            .arg(&fresh)
            .assert()
            .success();
        assert_eq!(files_under(&committed), files_under(&fresh));
        for file in files_under(&committed) {
            assert!(
                std::fs::read(committed.join(&file)).unwrap()
                    == std::fs::read(fresh.join(&file)).unwrap(),
                "{example}/{} differs: regenerate with `cargo run -- demo --lang {lang} --out reports/{example}`",
                file.display()
            );
        }
    }
}

/// Arabic charts carry the Arabic text of the locale file, shaped into the
/// PNG too: the Arabic picture is not the English one.
#[test]
fn arabic_charts_speak_arabic_in_svg_and_png() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("reports");
    let ar: serde_json::Value =
        serde_json::from_str(include_str!("../../locales/ar.json")).unwrap();
    let title = ar["c_spend_by_month"]
        .as_str()
        .unwrap()
        .replace("{currency}", "USD");
    let svg = std::fs::read_to_string(root.join("example-ar/charts/spend_by_month.svg")).unwrap();
    assert!(svg.contains(&title), "{title} not in the Arabic SVG");
    let days = ar["c_day_5"].as_str().unwrap();
    let heat = std::fs::read_to_string(root.join("example-ar/charts/lapses_by_hour.svg")).unwrap();
    assert!(heat.contains(days));
    for chart in ["spend_by_month", "lapses_by_hour"] {
        let png = |example: &str| {
            std::fs::read(root.join(example).join(format!("charts/{chart}.png"))).unwrap()
        };
        assert_ne!(png("example"), png("example-ar"), "{chart}");
        let image = image::load_from_memory(&png("example-ar")).unwrap();
        assert_eq!((image.width(), image.height()), (960, 480));
    }
}
