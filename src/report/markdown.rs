//! `summary.md`: the short summary a manager reads in a CI job page or a
//! chat message. Built from `summary.json` alone, so the two always agree.

use serde_json::Value;

use crate::schema::CLASSES;

pub fn render(summary: &Value) -> String {
    let mut out = String::new();
    let period = summary["period"]["label"].as_str().unwrap_or("all");
    out.push_str(&format!("# window-ledger: {period}\n\n"));
    out.push_str(&format!(
        "Window rule: **{}** · report time zone: {}\n\n",
        summary["options"]["rule"].as_str().unwrap_or(""),
        summary["options"]["tz"].as_str().unwrap_or("")
    ));
    if summary["pricing"]["what_if"].as_bool() == Some(true) {
        out.push_str("> **What-if pricing**: these figures are not what Meta billed");
        if let Some(regime) = summary["pricing"]["regime"].as_str() {
            out.push_str(&format!("; every message is priced under `{regime}`"));
        }
        if let Some(date) = summary["pricing"]["rates_as_of"].as_str() {
            out.push_str(&format!("; rates as of {date}"));
        }
        out.push_str(".\n\n");
    }
    thresholds(summary, &mut out);
    spend(summary, &mut out);
    headline(summary, &mut out);
    classes(summary, &mut out);
    charts(&mut out);
    quality(summary, &mut out);
    out
}

/// The thresholds of a scheduled run, breached ones first in the reader's
/// eye (issue 8); nothing when none was given.
fn thresholds(summary: &Value, out: &mut String) {
    let Some(checks) = summary["thresholds"].as_array().filter(|c| !c.is_empty()) else {
        return;
    };
    out.push_str("| Threshold | Limit | Actual | |\n|---|---:|---:|---|\n");
    for check in checks {
        let name = match check["currency"].as_str() {
            Some(c) => format!("{} ({c})", check["name"].as_str().unwrap_or("")),
            None => check["name"].as_str().unwrap_or("").to_string(),
        };
        let verdict = if check["breached"].as_bool() == Some(true) {
            "**breached**"
        } else {
            "ok"
        };
        out.push_str(&format!(
            "| {name} | {} | {} | {verdict} |\n",
            check["limit"], check["actual"]
        ));
    }
    out.push('\n');
}

fn int(value: &Value) -> u64 {
    value.as_u64().unwrap_or(0)
}

fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        "–".into()
    } else {
        format!("{:.1}%", part as f64 * 100.0 / whole as f64)
    }
}

/// `95 s`, `4 min 10 s`, `3 h 05 min`.
pub fn duration_text(secs: f64) -> String {
    let s = secs.round() as i64;
    match s {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min {:02} s", s / 60, s % 60),
        s => format!("{} h {:02} min", s / 3600, (s % 3600) / 60),
    }
}

fn spend(summary: &Value, out: &mut String) {
    let rows = summary["spend"]["by_currency"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if rows.is_empty() {
        return;
    }
    let comparison = &summary["comparison"];
    out.push_str("| Template and service spend | Total | Avoidable | Late reply |");
    if !comparison.is_null() {
        out.push_str(&format!(
            " Total under `{}` (what-if) |",
            comparison["regime"].as_str().unwrap_or("")
        ));
    }
    out.push_str("\n|---|---:|---:|---:|");
    if !comparison.is_null() {
        out.push_str("---:|");
    }
    out.push('\n');
    for row in rows {
        let currency = row["currency"].as_str().unwrap_or("");
        let share = |key: &str| {
            row[key]
                .as_f64()
                .map_or(String::new(), |s| format!(" ({:.1}%)", s * 100.0))
        };
        out.push_str(&format!(
            "| {currency} | {} | {}{} | {}{} |",
            row["total"],
            row["avoidable"],
            share("avoidable_share"),
            row["late_reply"],
            share("late_reply_share")
        ));
        if !comparison.is_null() {
            let other = comparison["spend"]["by_currency"]
                .as_array()
                .and_then(|r| r.iter().find(|c| c["currency"] == row["currency"]))
                .map_or("–".to_string(), |c| c["total"].to_string());
            out.push_str(&format!(" {other} |"));
        }
        out.push('\n');
    }
    out.push('\n');
}

fn headline(summary: &Value, out: &mut String) {
    let outbound = &summary["outbound"];
    let by_class = &outbound["by_class"];
    let windows = &summary["windows"];
    let opened = int(&windows["opened"]);
    let answered = int(&windows["answered"]);
    let median = windows["median_first_response_secs"]
        .as_f64()
        .map_or("–".to_string(), duration_text);
    out.push_str("| Figure | Value |\n|---|---:|\n");
    out.push_str(&format!(
        "| Outbound messages | {} |\n",
        int(&outbound["total"])
    ));
    out.push_str(&format!(
        "| Templates needed (incl. late reply) | {} |\n",
        int(&by_class["template_needed"]) + int(&by_class["template_late_reply"])
    ));
    out.push_str(&format!(
        "| Templates sent late (window lapsed unanswered) | {} |\n",
        int(&by_class["template_late_reply"])
    ));
    out.push_str(&format!(
        "| Templates avoidable (window was open) | {} |\n",
        int(&by_class["template_avoidable"])
    ));
    out.push_str(&format!(
        "| Free-form messages blocked (no window) | {} |\n",
        int(&by_class["freeform_blocked"])
    ));
    out.push_str(&format!("| Windows opened | {opened} |\n"));
    out.push_str(&format!(
        "| Windows answered | {answered} ({}) |\n",
        percent(answered, opened)
    ));
    out.push_str(&format!(
        "| Answered within 1 h | {} ({}) |\n",
        int(&windows["answered_within_1h"]),
        percent(int(&windows["answered_within_1h"]), opened)
    ));
    out.push_str(&format!("| Median first response | {median} |\n\n"));
}

fn classes(summary: &Value, out: &mut String) {
    let outbound = &summary["outbound"];
    let total = int(&outbound["total"]);
    out.push_str(
        "## Outbound messages by class\n\n| Class | Messages | Share |\n|---|---:|---:|\n",
    );
    for class in CLASSES {
        let n = int(&outbound["by_class"][class]);
        out.push_str(&format!("| `{class}` | {n} | {} |\n", percent(n, total)));
    }
    out.push('\n');
}

fn charts(out: &mut String) {
    out.push_str("## Charts\n\n");
    for (name, title) in super::charts::CHARTS {
        out.push_str(&format!("![{title}](charts/{name}.png)\n"));
    }
    out.push_str("\nThe full report with tables is `report.html`.\n\n");
}

fn quality(summary: &Value, out: &mut String) {
    let rows = &summary["rows"];
    out.push_str("## Data quality\n\n");
    out.push_str(&format!(
        "Rows read {} = processed {} + rejected {} + duplicates {}.",
        int(&rows["read"]),
        int(&rows["processed"]),
        int(&rows["rejected"]),
        int(&rows["duplicates"])
    ));
    if int(&rows["rejected"]) > 0 {
        out.push_str(" Rejected rows and their reasons are in `rejected.csv`.");
    }
    let unpriced =
        int(&summary["spend"]["unpriced_rows"]) + int(&summary["spend"]["unpriced_regime_rows"]);
    if unpriced > 0 {
        out.push_str(&format!(
            " {unpriced} outbound message(s) could not be priced and are left out of spend totals."
        ));
    }
    out.push('\n');
    if let Some(warnings) = summary["warnings"].as_array().filter(|w| !w.is_empty()) {
        out.push_str("\nWarnings:\n\n");
        for warning in warnings {
            out.push_str(&format!("- {}\n", warning.as_str().unwrap_or("")));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration_text(42.4), "42 s");
        assert_eq!(duration_text(250.0), "4 min 10 s");
        assert_eq!(duration_text(3.0 * 3600.0 + 300.0), "3 h 05 min");
    }
}
