//! `report.html`: one self-contained page (inline CSS and SVG, no script,
//! no external request) that opens from an e-mail attachment.
//!
//! Order: headline figures (with ▲/▼ against the previous month when the
//! input covers it), charts, tables, data quality. Every string that came
//! from the input is HTML-escaped; customer numbers are masked unless
//! `--show-contacts`.

use std::fmt::Write as _;

use anyhow::Result;
use polars::prelude::*;

use crate::rows::Streamed;
use serde_json::Value;

use super::charts::CHARTS;
use super::markdown::duration_text;
use super::tables::Tables;
use crate::config::Locale;
use crate::pricing::money::nanos_text;
use crate::pricing::{AVOIDABLE, COST, CURRENCY, MARKET};
use crate::schema::*;

/// What the page needs besides the tables.
pub struct Page<'a> {
    pub summary: &'a Value,
    pub previous: Option<&'a Value>,
    pub charts: &'a [(String, String)],
    pub locale: &'a Locale,
    pub show_contacts: bool,
    /// The SQL report sections (`queries/`), in file order.
    pub sections: &'a [super::sections::Section],
}

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `966501234567` → `+9665•••••567`; other keys keep 3 + 2 characters.
pub fn mask_contact(contact: &str) -> String {
    let chars: Vec<char> = contact.chars().collect();
    let digits = chars.iter().all(char::is_ascii_digit);
    let (head, tail) = if digits { (4, 3) } else { (3, 2) };
    if chars.len() <= head + tail {
        return "•".repeat(chars.len());
    }
    let shown: String = chars[..head].iter().collect();
    let end: String = chars[chars.len() - tail..].iter().collect();
    format!(
        "{}{shown}{}{end}",
        if digits { "+" } else { "" },
        "•".repeat(chars.len() - head - tail)
    )
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',Tahoma,sans-serif;margin:0;background:#f6f7f9;color:#222}\
main{max-width:1040px;margin:0 auto;padding:24px}h1{font-size:26px;margin:0 0 4px}h2{margin-top:36px;border-bottom:2px solid #0072b2;padding-bottom:4px}\
.meta{color:#555;font-size:14px}.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:12px;margin-top:16px}\
.card{background:#fff;border-radius:8px;padding:14px 16px;box-shadow:0 1px 3px rgba(0,0,0,.12)}.card .label{font-size:13px;color:#555}\
.card .value{font-size:24px;font-weight:600;margin-top:4px}.delta{font-size:13px;margin-top:4px;color:#555}.up{color:#d55e00}.down{color:#009e73}\
.warn{background:#fff4e0;border-left:4px solid #e69f00;padding:8px 12px}figure{background:#fff;margin:16px 0;padding:8px;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.12)}\
figcaption{font-weight:600;margin:4px 8px}figure svg{max-width:100%;height:auto}table{border-collapse:collapse;background:#fff;width:100%;font-size:14px;margin:8px 0}\
th,td{padding:6px 10px;border-bottom:1px solid #e3e3e3;text-align:start}td.n{text-align:end;font-variant-numeric:tabular-nums}th{background:#eef3f8}\
footer{color:#666;font-size:12px;margin:32px 0}";

pub fn render(page: &Page, tables: &Tables) -> Result<String> {
    let t = page.locale;
    let mut out = String::new();
    let period = page.summary["period"]["label"].as_str().unwrap_or("all");
    let period = if period == "all" {
        t.get("all_history").to_string()
    } else {
        period.to_string()
    };
    writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"{}\" dir=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{} · {}</title>\n<style>{STYLE}</style>\n</head>\n<body><main>",
        escape(t.get("lang")),
        escape(t.get("dir")),
        escape(t.get("title")),
        escape(&period)
    )?;
    header(&mut out, page, &period)?;
    headline(&mut out, page)?;
    writeln!(out, "<h2>{}</h2>", escape(t.get("charts")))?;
    for (name, svg) in page.charts {
        let caption = t.get(&format!("chart_{name}")).to_string();
        writeln!(
            out,
            "<figure><figcaption>{}</figcaption><div dir=\"ltr\">{svg}</div></figure>",
            escape(&caption)
        )?;
    }
    writeln!(out, "<h2>{}</h2>", escape(t.get("tables")))?;
    report_tables(&mut out, page, tables)?;
    sections(&mut out, page)?;
    data_quality(&mut out, page)?;
    reconciliation(&mut out, page, tables)?;
    writeln!(
        out,
        "<footer>{}</footer>\n</main></body>\n</html>",
        escape(t.get("footer"))
    )?;
    Ok(out)
}

fn header(out: &mut String, page: &Page, period: &str) -> Result<()> {
    let t = page.locale;
    let s = page.summary;
    let rule = s["options"]["rule"].as_str().unwrap_or("");
    writeln!(out, "<h1>{}</h1>", escape(t.get("title")))?;
    writeln!(
        out,
        "<p class=\"meta\">{}: <b>{}</b> · {}: {} · {}: {}</p>",
        escape(t.get("period")),
        escape(period),
        escape(t.get("rule")),
        escape(t.get(&format!("rule_{rule}"))),
        escape(t.get("report_tz")),
        escape(s["options"]["tz"].as_str().unwrap_or(""))
    )?;
    if s["pricing"]["what_if"].as_bool() == Some(true) {
        writeln!(out, "<p class=\"warn\">{}</p>", escape(t.get("what_if")))?;
    }
    Ok(())
}

struct Figure {
    label: &'static str,
    value: String,
    number: Option<f64>,
    /// Whether a rise is bad (spend) rather than good (answered share).
    rise_is_bad: bool,
}

fn headline_figures(s: &Value) -> Vec<Figure> {
    let spend = &s["spend"]["by_currency"][0];
    let currency = spend["currency"].as_str().unwrap_or("");
    let money = |key: &str| Figure {
        label: match key {
            "total" => "total_spend",
            "avoidable" => "avoidable_spend",
            _ => "late_reply_spend",
        },
        value: format!("{} {currency}", spend[key]),
        number: spend[key].as_f64(),
        rise_is_bad: true,
    };
    let by_class = &s["outbound"]["by_class"];
    let count = |v: &Value| v.as_u64().unwrap_or(0);
    let needed = count(&by_class["template_needed"]) + count(&by_class["template_late_reply"]);
    let avoidable = count(&by_class["template_avoidable"]);
    let windows = &s["windows"];
    let share = windows["answered_share"].as_f64();
    let within_hour = match count(&windows["opened"]) {
        0 => None,
        opened => Some(count(&windows["answered_within_1h"]) as f64 / opened as f64),
    };
    let median = windows["median_first_response_secs"].as_f64();
    let percent = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{:.1}%", v * 100.0));
    vec![
        money("total"),
        money("avoidable"),
        money("late_reply"),
        Figure {
            label: "templates_needed",
            value: needed.to_string(),
            number: Some(needed as f64),
            rise_is_bad: true,
        },
        Figure {
            label: "templates_avoidable",
            value: avoidable.to_string(),
            number: Some(avoidable as f64),
            rise_is_bad: true,
        },
        Figure {
            label: "answered_24h",
            value: percent(share),
            number: share,
            rise_is_bad: false,
        },
        Figure {
            label: "answered_1h",
            value: percent(within_hour),
            number: within_hour,
            rise_is_bad: false,
        },
        Figure {
            label: "median_response",
            value: median.map_or("–".to_string(), duration_text),
            number: median,
            rise_is_bad: true,
        },
    ]
}

fn headline(out: &mut String, page: &Page) -> Result<()> {
    let t = page.locale;
    writeln!(
        out,
        "<h2>{}</h2>\n<div class=\"cards\">",
        escape(t.get("headline"))
    )?;
    let previous = page.previous.map(headline_figures);
    for (i, figure) in headline_figures(page.summary).iter().enumerate() {
        let delta = previous
            .as_ref()
            .and_then(|p| p.get(i))
            .and_then(|p| Some((figure.number?, p.number?)))
            .filter(|(_, before)| *before != 0.0)
            .map(|(now, before)| {
                let change = (now - before) / before.abs() * 100.0;
                let (arrow, class) = match (change > 0.0, figure.rise_is_bad) {
                    (true, true) => ("▲", "up"),
                    (true, false) => ("▲", "down"),
                    (false, true) => ("▼", "down"),
                    (false, false) => ("▼", "up"),
                };
                format!(
                    "<div class=\"delta {class}\">{arrow} {:.1}% {}</div>",
                    change.abs(),
                    escape(t.get("vs_previous"))
                )
            })
            .unwrap_or_default();
        writeln!(
            out,
            "<div class=\"card\"><div class=\"label\">{}</div><div class=\"value\"><bdi dir=\"ltr\">{}</bdi></div>{delta}</div>",
            escape(t.get(figure.label)),
            escape(&figure.value)
        )?;
    }
    writeln!(out, "</div>")?;
    Ok(())
}

/// Each column of a small frame as display text, row by row.
fn text_rows(frame: &DataFrame) -> Result<Vec<Vec<String>>> {
    let columns: Vec<Vec<String>> = frame
        .columns()
        .iter()
        .map(|c| -> Result<Vec<String>> {
            let text = c.cast(&DataType::String)?;
            Ok(text
                .str()?
                .iter()
                .map(|v| v.unwrap_or("").to_string())
                .collect())
        })
        .collect::<Result<_>>()?;
    Ok((0..frame.height())
        .map(|r| columns.iter().map(|c| c[r].clone()).collect())
        .collect())
}

fn table(
    out: &mut String,
    t: &Locale,
    title: &str,
    headers: &[&str],
    numeric_from: usize,
    rows: &[Vec<String>],
) -> Result<()> {
    writeln!(out, "<h3>{}</h3>", escape(t.get(title)))?;
    if rows.is_empty() {
        writeln!(out, "<p>{}</p>", escape(t.get("none")))?;
        return Ok(());
    }
    out.push_str("<table><thead><tr>");
    for h in headers {
        write!(out, "<th>{}</th>", escape(t.get(h)))?;
    }
    out.push_str("</tr></thead><tbody>\n");
    for row in rows {
        out.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let class = if i >= numeric_from {
                " class=\"n\""
            } else {
                ""
            };
            write!(out, "<td{class}>{}</td>", escape(cell))?;
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table>\n");
    Ok(())
}

fn spend_columns() -> [Expr; 3] {
    [
        nanos_text(col(COST).sum()).alias("spend"),
        nanos_text(col(AVOIDABLE).sum()).alias("avoidable"),
        nanos_text(
            when(col(CLASS).eq(lit("template_late_reply")))
                .then(col(COST))
                .otherwise(lit(0i64))
                .sum(),
        )
        .alias("late_reply"),
    ]
}

fn report_tables(out: &mut String, page: &Page, tables: &Tables) -> Result<()> {
    let t = page.locale;
    let sends = tables.sends_full.clone().lazy();
    let count = |e: Expr| e.cast(DataType::UInt64).sum();
    let by_country = sends
        .clone()
        .group_by([col(COUNTRY), col(MARKET), col(CURRENCY)])
        .agg([
            len().cast(DataType::UInt64).alias("outbound"),
            count(col(IS_TEMPLATE)).alias("templates"),
            col(COST).sum().alias("order"),
        ])
        .join(
            sends
                .clone()
                .group_by([col(COUNTRY), col(MARKET), col(CURRENCY)])
                .agg(spend_columns()),
            [col(COUNTRY), col(MARKET), col(CURRENCY)],
            [col(COUNTRY), col(MARKET), col(CURRENCY)],
            JoinArgs::new(JoinType::Inner),
        )
        .sort_by_exprs(
            [col("order"), col(COUNTRY), col(MARKET), col(CURRENCY)],
            SortMultipleOptions::default()
                .with_order_descending_multi([true, false, false, false])
                .with_nulls_last(true),
        )
        .drop(cols(["order"]))
        .limit(20)
        .streamed()?;
    let headers = [
        "country",
        "market",
        "currency",
        "outbound",
        "templates",
        "spend",
        "avoidable",
        "late_reply",
    ];
    table(out, t, "by_country", &headers, 3, &text_rows(&by_country)?)?;

    let by_category = sends
        .clone()
        .filter(col(IS_TEMPLATE))
        .group_by([col(CATEGORY), col(CURRENCY)])
        .agg(
            [
                vec![len().cast(DataType::UInt64).alias("templates")],
                spend_columns().to_vec(),
            ]
            .concat(),
        )
        .sort([CATEGORY, CURRENCY], Default::default())
        .streamed()?;
    let headers = [
        "category",
        "currency",
        "templates",
        "spend",
        "avoidable",
        "late_reply",
    ];
    table(
        out,
        t,
        "by_category",
        &headers,
        2,
        &text_rows(&by_category)?,
    )?;

    let top_templates = sends
        .clone()
        .filter(col(CLASS).eq(lit("template_avoidable")))
        .group_by([col(TEMPLATE_NAME), col(CATEGORY), col(CURRENCY)])
        .agg([
            len().cast(DataType::UInt64).alias("count"),
            col(AVOIDABLE).sum().alias("avoidable"),
        ])
        .sort_by_exprs(
            [col("avoidable"), col("count"), col(TEMPLATE_NAME)],
            SortMultipleOptions::default()
                .with_order_descending_multi([true, true, false])
                .with_nulls_last(true),
        )
        .limit(10)
        .with_column(nanos_text(col("avoidable")).alias("avoidable"))
        .streamed()?;
    let headers = ["template", "category", "currency", "count", "avoidable"];
    table(
        out,
        t,
        "top_templates",
        &headers,
        3,
        &text_rows(&top_templates)?,
    )?;

    business_numbers(out, page, tables)?;
    lapsed_contacts(out, page, tables)
}

fn business_numbers(out: &mut String, page: &Page, tables: &Tables) -> Result<()> {
    let windows = super::tables::windows_by_business(tables);
    let frame = tables
        .sends_full
        .clone()
        .lazy()
        .group_by([col(BUSINESS_NUMBER), col(CURRENCY)])
        .agg(
            [
                vec![len().cast(DataType::UInt64).alias("outbound")],
                spend_columns().to_vec(),
            ]
            .concat(),
        )
        .join(
            windows,
            [col(BUSINESS_NUMBER)],
            [col(BUSINESS_NUMBER)],
            JoinArgs::new(JoinType::Left),
        )
        .select([
            col(BUSINESS_NUMBER),
            col(CURRENCY),
            col("outbound"),
            col("windows"),
            col("lapsed"),
            col("spend"),
            col("avoidable"),
            col("late_reply"),
        ])
        .sort([BUSINESS_NUMBER, CURRENCY], Default::default())
        .streamed()?;
    let headers = [
        "business_number",
        "currency",
        "outbound",
        "windows",
        "lapsed",
        "spend",
        "avoidable",
        "late_reply",
    ];
    table(
        out,
        page.locale,
        "business_numbers",
        &headers,
        2,
        &text_rows(&frame)?,
    )
}

fn lapsed_contacts(out: &mut String, page: &Page, tables: &Tables) -> Result<()> {
    let frame = tables
        .windows
        .clone()
        .lazy()
        .filter(col("answered").not())
        .group_by([col(CONTACT), col(COUNTRY), col(BUSINESS_NUMBER)])
        .agg([len().cast(DataType::UInt64).alias("lapsed")])
        .sort_by_exprs(
            [col("lapsed"), col(CONTACT), col(BUSINESS_NUMBER)],
            SortMultipleOptions::default().with_order_descending_multi([true, false, false]),
        )
        .limit(10)
        .streamed()?;
    let mut rows = text_rows(&frame)?;
    if !page.show_contacts {
        for row in &mut rows {
            row[0] = mask_contact(&row[0]);
        }
    }
    let headers = ["contact", "country", "business_number", "lapsed"];
    table(out, page.locale, "lapsed_contacts", &headers, 3, &rows)?;
    if !page.show_contacts {
        writeln!(
            out,
            "<p class=\"meta\">{}</p>",
            escape(page.locale.get("masked_note"))
        )?;
    }
    Ok(())
}

fn data_quality(out: &mut String, page: &Page) -> Result<()> {
    let t = page.locale;
    let s = page.summary;
    writeln!(
        out,
        "<h2>{}</h2>\n<table><tbody>",
        escape(t.get("data_quality"))
    )?;
    let unpriced = s["spend"]["unpriced_rows"].as_u64().unwrap_or(0)
        + s["spend"]["unpriced_regime_rows"].as_u64().unwrap_or(0);
    let join = |v: &Value| {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    let rule = s["options"]["rule"].as_str().unwrap_or("");
    let rows = [
        ("rows_read", s["rows"]["read"].to_string()),
        ("processed", s["rows"]["processed"].to_string()),
        ("rejected", s["rows"]["rejected"].to_string()),
        ("duplicates", s["rows"]["duplicates"].to_string()),
        ("unpriced", unpriced.to_string()),
        (
            "rule",
            format!("{rule} — {}", t.get(&format!("rule_{rule}"))),
        ),
        ("rate_cards", join(&s["pricing"]["rate_cards"])),
        ("regimes", join(&s["pricing"]["regimes_used"])),
        (
            "billing_tz",
            s["pricing"]["billing_tz"]
                .as_str()
                .unwrap_or("")
                .to_string(),
        ),
    ];
    for (key, value) in rows {
        writeln!(
            out,
            "<tr><th>{}</th><td>{}</td></tr>",
            escape(t.get(key)),
            escape(&value)
        )?;
    }
    if let Some(flags) = s["data_quality"].as_object() {
        let text: Vec<String> = flags
            .iter()
            .filter(|(_, v)| v.as_u64() != Some(0))
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        if !text.is_empty() {
            writeln!(
                out,
                "<tr><th>{}</th><td>{}</td></tr>",
                escape(t.get("quality_flags")),
                escape(&text.join(" · "))
            )?;
        }
    }
    writeln!(out, "</tbody></table>")?;
    let files: Vec<Vec<String>> = s["files"]
        .as_array()
        .map(|files| {
            files
                .iter()
                .map(|f| {
                    [
                        "path",
                        "format",
                        "rows_read",
                        "processed",
                        "rejected",
                        "duplicates",
                    ]
                    .iter()
                    .map(|k| {
                        f[*k]
                            .as_str()
                            .map_or_else(|| f[*k].to_string(), String::from)
                    })
                    .collect()
                })
                .collect()
        })
        .unwrap_or_default();
    let headers = [
        "file",
        "format",
        "rows_read",
        "processed",
        "rejected",
        "duplicates",
    ];
    out.push_str("<div dir=\"ltr\">");
    table(out, t, "data_quality", &headers, 2, &files)?;
    out.push_str("</div>");
    if let Some(warnings) = s["warnings"].as_array().filter(|w| !w.is_empty()) {
        writeln!(out, "<h3>{}</h3><ul>", escape(t.get("warnings")))?;
        for w in warnings {
            writeln!(out, "<li>{}</li>", escape(w.as_str().unwrap_or("")))?;
        }
        writeln!(out, "</ul>")?;
    }
    Ok(())
}

/// The SQL sections, each under the title of its file's first comment.
fn sections(out: &mut String, page: &Page) -> Result<()> {
    if page.sections.is_empty() {
        return Ok(());
    }
    let t = page.locale;
    writeln!(out, "<h2>{}</h2>", escape(t.get("sections")))?;
    out.push_str("<div dir=\"ltr\">");
    for section in page.sections {
        let headers: Vec<String> = section
            .table
            .get_column_names()
            .iter()
            .map(|n| n.to_string())
            .collect();
        let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
        let numeric_from = section
            .table
            .columns()
            .iter()
            .position(|c| {
                c.dtype().is_primitive_numeric()
                    || section.money.iter().any(|m| m == c.name().as_str())
            })
            .unwrap_or(usize::MAX);
        table(
            out,
            t,
            &section.title,
            &headers,
            numeric_from,
            &text_rows(&section.table)?,
        )?;
    }
    out.push_str("</div>");
    Ok(())
}

/// Our reconstruction against Meta's own flags (issue 5): the 131047
/// check, agreement per month, and the first disagreeing rows.
fn reconciliation(out: &mut String, page: &Page, tables: &Tables) -> Result<()> {
    let Some(rec) = &tables.reconciliation else {
        return Ok(());
    };
    let t = page.locale;
    let s = &rec.summary;
    writeln!(
        out,
        "<h3>{}</h3>\n<table><tbody>",
        escape(t.get("reconciliation"))
    )?;
    let re = &s["re_engagement_131047"];
    let pricing = &s["pricing"];
    let rows = [
        ("rec_131047_outside", re["outside_window"].to_string()),
        ("rec_131047_inside", re["inside_window"].to_string()),
        ("rec_with_pricing", pricing["with_meta_pricing"].to_string()),
        (
            "rec_agreement",
            match pricing["agreement_share"].as_f64() {
                Some(share) => format!(
                    "{:.1}% ({} / {})",
                    share * 100.0,
                    pricing["agreed"],
                    pricing["compared"]
                ),
                None => "—".into(),
            },
        ),
    ];
    for (key, value) in rows {
        writeln!(
            out,
            "<tr><th>{}</th><td><bdi dir=\"ltr\">{}</bdi></td></tr>",
            escape(t.get(key)),
            escape(&value)
        )?;
    }
    writeln!(out, "</tbody></table>")?;
    if re["inside_window"].as_u64().unwrap_or(0) > 0 {
        writeln!(out, "<p>{}</p>", escape(t.get("rec_131047_explained")))?;
    }
    out.push_str("<div dir=\"ltr\">");
    if pricing["with_meta_pricing"].as_u64().unwrap_or(0) > 0 {
        let by_month: Vec<Vec<String>> = pricing["by_month"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| {
                vec![
                    m["month"].as_str().unwrap_or("").to_string(),
                    m["compared"].to_string(),
                    m["agreed"].to_string(),
                    m["agreement_share"]
                        .as_f64()
                        .map_or("—".into(), |s| format!("{:.1}%", s * 100.0)),
                ]
            })
            .collect();
        table(
            out,
            t,
            "rec_by_month",
            &["month", "rec_compared", "rec_agreed", "rec_share"],
            1,
            &by_month,
        )?;
    }
    let shown = rec
        .rows
        .clone()
        .lazy()
        .select([
            col("check"),
            col(MESSAGE_ID),
            col("timestamp"),
            col(CLASS),
            col("detail"),
        ])
        .limit(RECONCILIATION_ROWS_SHOWN)
        .streamed()?;
    table(
        out,
        t,
        "rec_disagreements",
        &[
            "rec_check",
            "message_id",
            "timestamp",
            "class",
            "rec_detail",
        ],
        usize::MAX,
        &text_rows(&shown)?,
    )?;
    if rec.rows.height() > RECONCILIATION_ROWS_SHOWN as usize {
        writeln!(
            out,
            "<p>{} <bdi dir=\"ltr\">{}</bdi></p>",
            escape(t.get("rec_more")),
            rec.rows.height()
        )?;
    }
    if let Some(analytics) = &rec.analytics {
        table(
            out,
            t,
            "rec_analytics",
            &[
                "month",
                "country",
                "category",
                "rec_volume_ours",
                "rec_volume_meta",
                "rec_volume_diff",
                "rec_cost_ours",
                "currency",
                "rec_cost_meta",
            ],
            3,
            &text_rows(analytics)?,
        )?;
    }
    out.push_str("</div>");
    Ok(())
}

const RECONCILIATION_ROWS_SHOWN: u32 = 20;

/// Only used to keep `CHARTS` and the locale keys in step (a test).
pub fn chart_caption_keys() -> Vec<String> {
    CHARTS
        .iter()
        .map(|(name, _)| format!("chart_{name}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_text_is_escaped_and_contacts_masked() {
        assert_eq!(
            escape("<img src=x onerror=\"a\">&'"),
            "&lt;img src=x onerror=&quot;a&quot;&gt;&amp;&#39;"
        );
        assert_eq!(mask_contact("966501234567"), "+9665•••••567");
        assert_eq!(mask_contact("SA.15021234"), "SA.••••••34");
        assert_eq!(mask_contact("123"), "•••");
    }

    #[test]
    fn every_chart_has_a_caption_in_every_language() {
        for lang in ["en", "ar"] {
            let locale = Locale::load(lang).unwrap();
            for key in chart_caption_keys() {
                assert_ne!(locale.get(&key), key, "{lang} lacks {key}");
            }
        }
    }
}
