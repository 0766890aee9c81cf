//! `report.html`: one self-contained page (inline CSS and SVG, no script,
//! no external request) that opens from an e-mail attachment.
//!
//! Order: headline figures (with ▲/▼ against the previous month when the
//! input covers it), charts, tables, SQL sections, data quality,
//! reconciliation. The markup is built with `maud`, which escapes every
//! value it is given: only the charts' SVG (drawn by `charts`) and the
//! style sheet below go in as they are. Customer numbers are masked unless
//! `--show-contacts`.

use anyhow::Result;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use polars::prelude::*;

use super::charts::CHARTS;
use super::markdown::duration_in;
use super::sections::Section;
use super::summary::Summary;
use super::views::{self, Views};
use crate::config::Locale;
use crate::pricing::money::nanos_text;
use crate::pricing::CURRENCY;
use crate::privacy::mask_contact;
use crate::reconcile::{MonthAgreement, Reconciliation, ReconciliationSummary};
use crate::rows::Streamed;
use crate::schema::*;

/// What the page shows.
pub struct Page<'a> {
    pub summary: &'a Summary,
    /// The previous month's [`headline_numbers`], for ▲/▼.
    pub previous: Option<&'a [Option<f64>]>,
    /// Each chart's name and SVG.
    pub charts: &'a [(String, String)],
    pub views: &'a Views,
    pub reconciliation: Option<&'a Reconciliation>,
    pub locale: &'a Locale,
    pub show_contacts: bool,
    /// The SQL report sections (`queries/`), in file order, as shown.
    pub sections: &'a [Section],
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

/// A line break between blocks, as the page has always been laid out.
const NL: &str = "\n";

pub fn render(page: &Page) -> Result<String> {
    let t = page.locale;
    let period = match page.summary.period.label.as_str() {
        "all" => t.get("all_history").to_string(),
        label => label.to_string(),
    };
    let markup = html! {
        (DOCTYPE) (NL)
        html lang=(t.get("lang")) dir=(t.get("dir")) {
            (NL) head {
                (NL) meta charset="utf-8"; (NL)
                meta name="viewport" content="width=device-width, initial-scale=1"; (NL)
                title { (t.get("title")) " · " (period) } (NL)
                style { (PreEscaped(STYLE)) } (NL)
            } (NL)
            body { main {
                (NL)
                (header(page, &period))
                (headline(page))
                h2 { (t.get("charts")) } (NL)
                @for (name, svg) in page.charts {
                    figure {
                        figcaption { (t.get(&format!("chart_{name}"))) }
                        div dir="ltr" { (PreEscaped(svg)) }
                    } (NL)
                }
                h2 { (t.get("tables")) } (NL)
                (report_tables(page)?)
                (sections(page)?)
                (data_quality(page)?)
                (reconciliation(page)?)
                footer { (t.get("footer")) } (NL)
            } } (NL)
        } (NL)
    };
    Ok(markup.into_string())
}

fn header(page: &Page, period: &str) -> Markup {
    let t = page.locale;
    let options = &page.summary.options;
    html! {
        h1 { (t.get("title")) } (NL)
        p class="meta" {
            // Dates read left to right in a right-to-left page too.
            (t.get("period")) ": " b { bdi dir="ltr" { (period) } } " · "
            (t.get("rule")) ": " (t.get(&format!("rule_{}", options.rule))) " · "
            (t.get("report_tz")) ": " (options.tz)
        } (NL)
        @if page.summary.pricing.what_if {
            p class="warn" { (t.get("what_if")) } (NL)
        }
    }
}

struct Figure {
    label: &'static str,
    value: String,
    number: Option<f64>,
    /// Whether a rise is bad (spend) rather than good (answered share).
    rise_is_bad: bool,
}

/// The numbers of the headline cards, in order: what the next month's
/// ▲/▼ compares with (kept in the run's state for `--continue-from`).
pub fn headline_numbers(summary: &Summary) -> Vec<Option<f64>> {
    headline_figures(summary, ["", "", ""])
        .into_iter()
        .map(|f| f.number)
        .collect()
}

/// The headline cards; durations in `units` (seconds, minutes, hours).
fn headline_figures(s: &Summary, units: [&str; 3]) -> Vec<Figure> {
    let spend = s.first_spend();
    let currency = spend.map_or("", |c| c.currency.as_str());
    let money =
        |label: &'static str, pick: fn(&super::summary::CurrencySpend) -> super::summary::Money| {
            let amount = spend.map(pick);
            Figure {
                label,
                value: format!(
                    "{} {currency}",
                    amount.map_or("null".to_string(), |a| a.to_string())
                ),
                number: amount.map(|a| a.as_f64()),
                rise_is_bad: true,
            }
        };
    let by_class = &s.outbound.by_class;
    let windows = &s.windows;
    let within_hour = match windows.opened {
        0 => None,
        opened => Some(windows.answered_within_1h as f64 / opened as f64),
    };
    let median = windows.median_first_response_secs;
    let percent = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{:.1}%", v * 100.0));
    let count = |label: &'static str, n: u64| Figure {
        label,
        value: n.to_string(),
        number: Some(n as f64),
        rise_is_bad: true,
    };
    vec![
        money("total_spend", |c| c.total),
        money("avoidable_spend", |c| c.avoidable),
        money("late_reply_spend", |c| c.late_reply),
        count("templates_needed", by_class.needed()),
        count("templates_avoidable", by_class.template_avoidable),
        Figure {
            label: "answered_24h",
            value: percent(windows.answered_share),
            number: windows.answered_share,
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
            value: median.map_or("–".to_string(), |secs| duration_in(secs, units)),
            number: median,
            rise_is_bad: true,
        },
    ]
}

/// The change of a figure against the previous month, as a card shows it.
fn delta(page: &Page, now: &Figure, before: Option<f64>) -> Markup {
    let change = before
        .and_then(|b| Some((now.number?, b)))
        .filter(|(_, before)| *before != 0.0)
        .map(|(now, before)| (now - before) / before.abs() * 100.0);
    let Some(change) = change else {
        return html! {};
    };
    let (arrow, class) = match (change > 0.0, now.rise_is_bad) {
        (true, true) => ("▲", "up"),
        (true, false) => ("▲", "down"),
        (false, true) => ("▼", "down"),
        (false, false) => ("▼", "up"),
    };
    html! {
        div class={ "delta " (class) } {
            (arrow) " " (format!("{:.1}%", change.abs())) " " (page.locale.get("vs_previous"))
        }
    }
}

fn headline(page: &Page) -> Markup {
    let t = page.locale;
    let units = [t.get("unit_s"), t.get("unit_min"), t.get("unit_h")];
    let previous = page.previous;
    let figures = headline_figures(page.summary, units);
    html! {
        h2 { (t.get("headline")) } (NL)
        div class="cards" {
            (NL)
            @for (i, figure) in figures.iter().enumerate() {
                div class="card" {
                    div class="label" { (t.get(figure.label)) }
                    div class="value" { bdi { (figure.value) } }
                    (delta(page, figure, previous.and_then(|p| p.get(i).copied().flatten())))
                } (NL)
            }
        } (NL)
        (could_save(page))
    }
}

/// "Could have been saved: X avoidable + Y by answering in time", per
/// currency.
fn could_save(page: &Page) -> Markup {
    let t = page.locale;
    html! {
        @for c in &page.summary.spend.by_currency {
            p class="saving" {
                (t.get("could_save")) " "
                bdi dir="ltr" { (c.avoidable) " " (c.currency) } " " (t.get("saved_avoidable")) " + "
                bdi dir="ltr" { (c.answering_saves) " " (c.currency) } " " (t.get("saved_answering"))
            } (NL)
        }
    }
}

/// The rows of a view, its money columns (nano-units) as exact decimals.
fn view_rows(frame: &DataFrame) -> Result<Vec<Vec<String>>> {
    let money: Vec<Expr> = frame
        .get_column_names()
        .into_iter()
        .filter(|n| views::MONEY_COLUMNS.contains(&n.as_str()))
        .map(|n| nanos_text(col(n.as_str())).alias(n.as_str()))
        .collect();
    text_rows(&frame.clone().lazy().with_columns(money).collect()?)
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

/// A titled table: header keys are looked up in the locale; columns from
/// `numeric_from` on are right-aligned numbers.
fn table(
    t: &Locale,
    title: &str,
    headers: &[&str],
    numeric_from: usize,
    rows: &[Vec<String>],
) -> Markup {
    html! {
        h3 { (t.get(title)) } (NL)
        @if rows.is_empty() {
            p { (t.get("none")) } (NL)
        } @else {
            table {
                thead { tr { @for h in headers { th { (t.get(h)) } } } }
                tbody {
                    (NL)
                    @for row in rows {
                        tr {
                            @for (i, cell) in row.iter().enumerate() {
                                td class=[(i >= numeric_from).then_some("n")] { (cell) }
                            }
                        } (NL)
                    }
                }
            } (NL)
        }
    }
}

fn report_tables(page: &Page) -> Result<Markup> {
    let t = page.locale;
    let v = page.views;
    let by_country = [
        "country",
        "market",
        "currency",
        "outbound",
        "templates",
        "spend",
        "avoidable",
        "late_reply",
    ];
    let by_category = [
        "category",
        "currency",
        "templates",
        "spend",
        "avoidable",
        "late_reply",
    ];
    let top_templates = v
        .avoidable_templates
        .head(Some(views::TOP_TEMPLATES))
        .select([
            TEMPLATE_NAME,
            CATEGORY,
            CURRENCY,
            "templates",
            "avoidable_cost",
        ])?;
    let templates = ["template", "category", "currency", "count", "avoidable"];
    let answering = [
        "month",
        "business_number",
        "currency",
        "late_reply_templates",
        "late_reply",
        "answering_saves",
    ];
    let business = [
        "business_number",
        "currency",
        "outbound",
        "windows",
        "lapsed",
        "spend",
        "avoidable",
        "late_reply",
    ];
    Ok(html! {
        (table(t, "by_country", &by_country, 3, &view_rows(&v.by_country)?))
        (table(t, "by_category", &by_category, 2, &view_rows(&v.by_category)?))
        (table(t, "top_templates", &templates, 3, &view_rows(&top_templates)?))
        (table(t, "business_numbers", &business, 2, &view_rows(&v.business_numbers)?))
        (table(t, "answering_table", &answering, 3, &view_rows(&v.answering)?))
        (volume_tiers(page))
        (conversations(page))
        (staffing(page))
        (lapsed_contacts(page)?)
    })
}

/// The weekday-hour slots with the most late-reply spend.
fn staffing(page: &Page) -> Markup {
    let t = page.locale;
    let headers = [
        "weekday",
        "hour",
        "currency",
        "windows_opened",
        "lapsed_share",
        "late_reply_templates",
        "late_reply",
    ];
    let rows: Vec<Vec<String>> = page
        .summary
        .staffing
        .top
        .iter()
        .map(|s| {
            vec![
                t.get(&format!("day_{}", s.weekday)).to_string(),
                format!("{:02}:00", s.hour),
                s.currency.clone(),
                s.windows_opened.to_string(),
                s.lapsed_share
                    .map_or("–".into(), |v| format!("{:.1}%", v * 100.0)),
                s.late_reply_templates.to_string(),
                s.late_reply_spend.to_string(),
            ]
        })
        .collect();
    table(t, "staffing", &headers, 3, &rows)
}

/// Messages and spend per volume tier (§9), or a line saying that no card
/// gave tiers.
fn volume_tiers(page: &Page) -> Markup {
    let t = page.locale;
    let tiers = &page.summary.pricing.volume_tiers;
    if !tiers.applied {
        return html! {
            h3 { (t.get("volume_tiers")) } (NL)
            p { (t.get("volume_tiers_not_applied")) } (NL)
        };
    }
    let headers = [
        "month", "market", "category", "tier", "currency", "messages", "spend",
    ];
    let rows: Vec<Vec<String>> = tiers
        .by_tier
        .iter()
        .map(|r| {
            vec![
                r.month.clone(),
                r.market.clone(),
                r.rate_category.clone(),
                r.tier.clone(),
                r.currency.clone(),
                r.messages.to_string(),
                r.spend.to_string(),
            ]
        })
        .collect();
    table(t, "volume_tiers", &headers, 5, &rows)
}

/// Conversations (`cbp`) per month and category; nothing when the
/// period has none.
fn conversations(page: &Page) -> Markup {
    let figures = &page.summary.conversations;
    if figures.total == 0 {
        return html! {};
    }
    let headers = [
        "month",
        "category",
        "currency",
        "conversations",
        "charged",
        "free",
        "no_rate",
        "spend",
    ];
    let rows: Vec<Vec<String>> = figures
        .by_month
        .iter()
        .map(|m| {
            vec![
                m.month.clone(),
                m.category.clone(),
                m.currency.clone(),
                m.conversations.to_string(),
                m.charged.to_string(),
                m.free.to_string(),
                m.unpriced.to_string(),
                m.cost.to_string(),
            ]
        })
        .collect();
    html! {
        (table(page.locale, "conversations_table", &headers, 3, &rows))
        p { (page.locale.get("conversations_note")) } (NL)
    }
}

fn lapsed_contacts(page: &Page) -> Result<Markup> {
    let mut rows = view_rows(&page.views.lapsed_contacts)?;
    if !page.show_contacts {
        for row in &mut rows {
            row[0] = mask_contact(&row[0]);
        }
    }
    let headers = ["contact", "country", "business_number", "lapsed"];
    let t = page.locale;
    Ok(html! {
        (table(t, "lapsed_contacts", &headers, 3, &rows))
        @if !page.show_contacts {
            p class="meta" { (t.get("masked_note")) } (NL)
        }
    })
}

/// One row of a two-column key/value table.
fn key_row(t: &Locale, key: &str, value: &str) -> Markup {
    html! { tr { th { (t.get(key)) } td { (value) } } (NL) }
}

fn data_quality(page: &Page) -> Result<Markup> {
    let t = page.locale;
    let s = page.summary;
    let unpriced = s.spend.unpriced_rows + s.spend.unpriced_regime_rows;
    let rule = s.options.rule;
    let rows = [
        ("rows_read", s.rows.read.to_string()),
        ("processed", s.rows.processed.to_string()),
        ("rejected", s.rows.rejected.to_string()),
        ("duplicates", s.rows.duplicates.to_string()),
        ("unpriced", unpriced.to_string()),
        (
            "rule",
            format!("{rule} — {}", t.get(&format!("rule_{rule}"))),
        ),
        ("rate_cards", s.pricing.rate_cards.join(", ")),
        ("regimes", s.pricing.regimes_used.join(", ")),
        ("billing_tz", s.pricing.billing_tz.clone()),
    ];
    let flags: Vec<String> = s
        .data_quality
        .flags()
        .iter()
        .filter(|(_, n)| *n != 0)
        .map(|(k, n)| format!("{k}: {n}"))
        .collect();
    Ok(html! {
        h2 { (t.get("data_quality")) } (NL)
        table { tbody {
            (NL)
            @for (key, value) in &rows { (key_row(t, key, value)) }
            @if !flags.is_empty() { (key_row(t, "quality_flags", &flags.join(" · "))) }
        } } (NL)
        div dir="ltr" { (files_table(t, s)) }
        @if !s.warnings.is_empty() {
            h3 { (t.get("warnings")) }
            ul {
                (NL)
                @for warning in &s.warnings { li { (warning) } (NL) }
            } (NL)
        }
    })
}

/// Each input file's row accounting.
fn files_table(t: &Locale, s: &Summary) -> Markup {
    let files: Vec<Vec<String>> = s
        .files
        .iter()
        .map(|f| {
            vec![
                f.path.clone(),
                f.format.to_string(),
                f.rows_read.to_string(),
                f.processed.to_string(),
                f.rejected.to_string(),
                f.duplicates.to_string(),
            ]
        })
        .collect();
    let headers = [
        "file",
        "format",
        "rows_read",
        "processed",
        "rejected",
        "duplicates",
    ];
    table(t, "data_quality", &headers, 2, &files)
}

/// The SQL sections, each under the title of its file's first comment.
fn sections(page: &Page) -> Result<Markup> {
    if page.sections.is_empty() {
        return Ok(html! {});
    }
    let t = page.locale;
    let mut tables = Vec::new();
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
        let rows = text_rows(&section.table)?;
        tables.push(table(t, &section.title, &headers, numeric_from, &rows));
    }
    Ok(html! {
        h2 { (t.get("sections")) } (NL)
        div dir="ltr" { @for markup in &tables { (markup) } }
    })
}

/// Our reconstruction against Meta's own flags (issue 5): the 131047
/// check, agreement per month, and the first disagreeing rows.
fn reconciliation(page: &Page) -> Result<Markup> {
    let (Some(rec), Some(s)) = (page.reconciliation, &page.summary.reconciliation) else {
        return Ok(html! {});
    };
    let t = page.locale;
    let re = &s.re_engagement_131047;
    let pricing = &s.pricing;
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
    let disagreements = [
        "rec_check",
        "message_id",
        "timestamp",
        "class",
        "rec_detail",
    ];
    let analytics = [
        "month",
        "country",
        "category",
        "rec_volume_ours",
        "rec_volume_meta",
        "rec_volume_diff",
        "rec_cost_ours",
        "currency",
        "rec_cost_meta",
    ];
    let analytics_rows = rec.analytics.as_ref().map(text_rows).transpose()?;
    let conversation_analytics = [
        "month",
        "country",
        "category",
        "rec_conversations_ours",
        "rec_conversations_meta",
        "rec_volume_diff",
        "rec_cost_ours",
        "currency",
        "rec_cost_meta",
    ];
    let conversation_rows = rec
        .conversation_analytics
        .as_ref()
        .map(text_rows)
        .transpose()?;
    let tiers = [
        "month",
        "market",
        "category",
        "tier",
        "rec_tier_first_ours",
        "rec_tier_first_at",
        "rec_volume_ours",
        "rec_tier_meta_at",
        "rec_volume_meta",
    ];
    let tier_rows = rec
        .tiers
        .as_ref()
        .map(|tiers| -> Result<Vec<Vec<String>>> {
            let instant = |c: &str| col(c).dt().strftime(crate::timestamps::TIME_FORMAT);
            text_rows(
                &tiers
                    .clone()
                    .lazy()
                    .with_columns([instant("our_first_at"), instant("meta_reached_at")])
                    .collect()?,
            )
        })
        .transpose()?;
    Ok(html! {
        h3 { (t.get("reconciliation")) } (NL)
        (reconciliation_figures(t, s))
        @if re.inside_window > 0 {
            p { (t.get("rec_131047_explained")) } (NL)
        }
        div dir="ltr" {
            @if pricing.with_meta_pricing > 0 {
                (table(t, "rec_by_month", &["month", "rec_compared", "rec_agreed", "rec_share"], 1, &agreement_by_month(&pricing.by_month)))
            }
            @if let Some(conversations) = &s.conversations {
                (table(t, "rec_conversations_by_month", &["month", "rec_compared", "rec_agreed", "rec_share"], 1, &agreement_by_month(&conversations.by_month)))
            }
            (table(t, "rec_disagreements", &disagreements, usize::MAX, &text_rows(&shown)?))
            @if rec.rows.height() > RECONCILIATION_ROWS_SHOWN as usize {
                p { (t.get("rec_more")) " " bdi dir="ltr" { (rec.rows.height()) } } (NL)
            }
            @if let Some(rows) = &analytics_rows {
                (table(t, "rec_analytics", &analytics, 3, rows))
            }
            @if let Some(rows) = &conversation_rows {
                (table(t, "rec_conversation_analytics", &conversation_analytics, 3, rows))
            }
            @if let Some(rows) = &tier_rows {
                (table(t, "rec_tiers", &tiers, 6, rows))
            }
        }
    })
}

const RECONCILIATION_ROWS_SHOWN: u32 = 20;

/// The 131047 check and the agreement with Meta's pricing flags.
fn reconciliation_figures(t: &Locale, s: &ReconciliationSummary) -> Markup {
    let (re, pricing) = (&s.re_engagement_131047, &s.pricing);
    let agreement = match pricing.agreement_share {
        Some(share) => format!(
            "{:.1}% ({} / {})",
            share * 100.0,
            pricing.agreed,
            pricing.compared
        ),
        None => "—".into(),
    };
    let rows = [
        ("rec_131047_outside", re.outside_window.to_string()),
        ("rec_131047_inside", re.inside_window.to_string()),
        ("rec_with_pricing", pricing.with_meta_pricing.to_string()),
        ("rec_agreement", agreement),
    ];
    html! {
        table { tbody {
            (NL)
            @for (key, value) in &rows {
                tr { th { (t.get(key)) } td { bdi dir="ltr" { (value) } } } (NL)
            }
        } } (NL)
    }
}

fn agreement_by_month(months: &[MonthAgreement]) -> Vec<Vec<String>> {
    months
        .iter()
        .map(|m| {
            vec![
                m.month.clone().unwrap_or_default(),
                m.compared.to_string(),
                m.agreed.to_string(),
                m.agreement_share
                    .map_or("—".into(), |s| format!("{:.1}%", s * 100.0)),
            ]
        })
        .collect()
}

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

    /// Input text in a table cell comes out escaped: the engine escapes
    /// what it is given, so no cell can open a tag or an attribute.
    #[test]
    fn input_text_is_escaped() {
        let locale = Locale::load("en").unwrap();
        let rows = vec![vec!["<img src=x onerror=\"a\">&".to_string()]];
        let html = table(&locale, "by_country", &["country"], 1, &rows).into_string();
        assert!(
            html.contains("<td>&lt;img src=x onerror=&quot;a&quot;&gt;&amp;</td>"),
            "{html}"
        );
        assert!(!html.contains("<img"));
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
