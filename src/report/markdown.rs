//! `summary.md`: the short summary a manager reads in a CI job page or a
//! chat message. Built from the run's [`Summary`] alone, as `summary.json`
//! is, so the two always agree.

use super::summary::Summary;
use crate::schema::CLASSES;

pub fn render(summary: &Summary) -> String {
    let mut out = String::new();
    out.push_str(&format!("# window-ledger: {}\n\n", summary.period.label));
    let regimes: Vec<String> = summary
        .pricing
        .regimes_used
        .iter()
        .map(|r| format!("`{r}` ({})", regime_meaning(r)))
        .collect();
    out.push_str(&format!(
        "Window rule: **{}** · report time zone: {}{}\n\n",
        summary.options.rule,
        summary.options.tz,
        match regimes.is_empty() {
            true => String::new(),
            false => format!(" · priced under {}", regimes.join(", ")),
        }
    ));
    if summary.pricing.what_if {
        out.push_str("> **What-if pricing**: these figures are not what Meta billed");
        if let Some(regime) = summary.pricing.regime {
            out.push_str(&format!("; every message is priced under `{regime}`"));
        }
        if let Some(date) = &summary.pricing.rates_as_of {
            out.push_str(&format!("; rates as of {date}"));
        }
        out.push_str(".\n\n");
    }
    thresholds(summary, &mut out);
    spend(summary, &mut out);
    headline(summary, &mut out);
    classes(summary, &mut out);
    staffing(summary, &mut out);
    conversations(summary, &mut out);
    tiers(summary, &mut out);
    charts(&mut out);
    quality(summary, &mut out);
    out
}

/// The thresholds of a scheduled run, breached ones first in the reader's
/// eye (issue 8); nothing when none was given.
fn thresholds(summary: &Summary, out: &mut String) {
    if summary.thresholds.is_empty() {
        return;
    }
    out.push_str("| Threshold | Limit | Actual | |\n|---|---:|---:|---|\n");
    for check in &summary.thresholds {
        let name = match &check.currency {
            Some(c) => format!("{} ({c})", check.name),
            None => check.name.to_string(),
        };
        let verdict = if check.breached { "**breached**" } else { "ok" };
        out.push_str(&format!(
            "| {name} | {} | {} | {verdict} |\n",
            check.limit, check.actual
        ));
    }
    out.push('\n');
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
    duration_in(secs, ["s", "min", "h"])
}

/// A duration with the given units (seconds, minutes, hours), Western
/// digits: `4 min 10 s`.
pub fn duration_in(secs: f64, [sec, min, hour]: [&str; 3]) -> String {
    let s = secs.round() as i64;
    match s {
        s if s < 60 => format!("{s} {sec}"),
        s if s < 3600 => format!("{} {min} {:02} {sec}", s / 60, s % 60),
        s => format!("{} {hour} {:02} {min}", s / 3600, (s % 3600) / 60),
    }
}

fn spend(summary: &Summary, out: &mut String) {
    let rows = &summary.spend.by_currency;
    if rows.is_empty() {
        return;
    }
    let comparison = summary.comparison.as_ref();
    out.push_str("| Template and service spend | Total | Avoidable | Late reply |");
    if let Some(comparison) = comparison {
        out.push_str(&format!(" Total under `{}` (what-if) |", comparison.regime));
    }
    out.push_str("\n|---|---:|---:|---:|");
    if comparison.is_some() {
        out.push_str("---:|");
    }
    out.push('\n');
    for row in rows {
        let share =
            |value: Option<f64>| value.map_or(String::new(), |s| format!(" ({:.1}%)", s * 100.0));
        out.push_str(&format!(
            "| {} | {} | {}{} | {}{} |",
            row.currency,
            row.total,
            row.avoidable,
            share(row.avoidable_share),
            row.late_reply,
            share(row.late_reply_share)
        ));
        if let Some(comparison) = comparison {
            let other = comparison
                .spend
                .by_currency
                .iter()
                .find(|c| c.currency == row.currency)
                .map_or("–".to_string(), |c| c.total.to_string());
            out.push_str(&format!(" {other} |"));
        }
        out.push('\n');
    }
    out.push('\n');
    for row in rows {
        out.push_str(&format!(
            "Could have been saved: **{} {cur}** avoidable + **{} {cur}** by answering in time.\n",
            row.avoidable,
            row.answering_saves,
            cur = row.currency
        ));
    }
    out.push('\n');
}

fn headline(summary: &Summary, out: &mut String) {
    let outbound = &summary.outbound;
    let by_class = &outbound.by_class;
    let windows = &summary.windows;
    let (opened, answered) = (windows.opened, windows.answered);
    let median = windows
        .median_first_response_secs
        .map_or("–".to_string(), duration_text);
    out.push_str("| Figure | Value |\n|---|---:|\n");
    out.push_str(&format!("| Outbound messages | {} |\n", outbound.total));
    out.push_str(&format!(
        "| Templates needed (incl. late reply) | {} |\n",
        by_class.needed()
    ));
    out.push_str(&format!(
        "| Templates sent late (window lapsed unanswered) | {} |\n",
        by_class.template_late_reply
    ));
    out.push_str(&format!(
        "| Templates avoidable (window was open) | {} |\n",
        by_class.template_avoidable
    ));
    out.push_str(&format!(
        "| Free-form messages blocked (no window) | {} |\n",
        by_class.freeform_blocked
    ));
    out.push_str(&format!("| Windows opened | {opened} |\n"));
    out.push_str(&format!(
        "| Windows answered | {answered} ({}) |\n",
        percent(answered, opened)
    ));
    out.push_str(&format!(
        "| Answered within 1 h | {} ({}) |\n",
        windows.answered_within_1h,
        percent(windows.answered_within_1h, opened)
    ));
    out.push_str(&format!("| Median first response | {median} |\n\n"));
}

fn classes(summary: &Summary, out: &mut String) {
    let outbound = &summary.outbound;
    out.push_str(
        "## Outbound messages by class\n\n| Class | Messages | Share |\n|---|---:|---:|\n",
    );
    for class in CLASSES {
        let n = outbound.by_class.get(class);
        out.push_str(&format!(
            "| `{class}` | {n} | {} |\n",
            percent(n, outbound.total)
        ));
    }
    out.push('\n');
}

/// The weekday-hour slots whose lapsed windows cost the most in late
/// replies: where staffing would pay.
fn staffing(summary: &Summary, out: &mut String) {
    let top = &summary.staffing.top;
    if top.is_empty() {
        return;
    }
    out.push_str("## When windows lapse\n\n| Opened (report time zone) | Windows opened | Share lapsed unanswered | Late-reply templates | Late-reply spend |\n|---|---:|---:|---:|---:|\n");
    for s in top {
        let day = super::staffing::WEEKDAYS[(s.weekday as usize).clamp(1, 7) - 1];
        let share = s
            .lapsed_share
            .map_or("–".to_string(), |v| format!("{:.1}%", v * 100.0));
        out.push_str(&format!(
            "| {day} {:02}:00 | {} | {share} | {} | {} {} |\n",
            s.hour, s.windows_opened, s.late_reply_templates, s.late_reply_spend, s.currency
        ));
    }
    out.push('\n');
}

/// What a regime name means, for a reader who does not know Meta's
/// pricing history (docs/pricing.md §5.2).
fn regime_meaning(regime: &str) -> &'static str {
    match regime {
        "cbp-2022" => "2022 conversation rules, not priced",
        "cbp" => "per conversation",
        "pmp-2025" => "per template message",
        "pmp-2026-10" => "per message, service messages too",
        _ => "",
    }
}

/// Conversations per month and category (`cbp`, §11), when the period
/// has any.
fn conversations(summary: &Summary, out: &mut String) {
    let figures = &summary.conversations;
    if figures.total == 0 {
        return;
    }
    out.push_str("## Conversations (billed per conversation until June 2025)\n\n| Month | Category | Conversations | Charged | Free | No rate | Cost |\n|---|---|---:|---:|---:|---:|---:|\n");
    for m in &figures.by_month {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} {} |\n",
            m.month, m.category, m.conversations, m.charged, m.free, m.unpriced, m.cost, m.currency
        ));
    }
    out.push('\n');
}

/// Messages and spend per volume tier (§9), or that no card gave tiers.
fn tiers(summary: &Summary, out: &mut String) {
    let tiers = &summary.pricing.volume_tiers;
    if !tiers.applied {
        out.push_str(
            "Volume tiers: not applied (no rate card has tier rows; every template is priced at its list rate).\n\n",
        );
        return;
    }
    if tiers.by_tier.is_empty() {
        out.push_str(
            "Volume tiers: applied, but no message of the period was priced from a tiered rate.\n\n",
        );
        return;
    }
    out.push_str("## Volume tiers\n\n| Billing month | Market | Category | Tier | Messages | Spend |\n|---|---|---|---|---:|---:|\n");
    for t in &tiers.by_tier {
        out.push_str(&format!(
            "| {} | {} | `{}` | {} | {} | {} {} |\n",
            t.month, t.market, t.rate_category, t.tier, t.messages, t.spend, t.currency
        ));
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

fn quality(summary: &Summary, out: &mut String) {
    let rows = &summary.rows;
    out.push_str("## Data quality\n\n");
    out.push_str(&format!(
        "Rows read {} = processed {} + rejected {} + duplicates {}.",
        rows.read, rows.processed, rows.rejected, rows.duplicates
    ));
    if rows.rejected > 0 {
        out.push_str(" Rejected rows and their reasons are in `rejected.csv`.");
    }
    let unpriced = summary.spend.unpriced_rows + summary.spend.unpriced_regime_rows;
    if unpriced > 0 {
        out.push_str(&format!(
            " {unpriced} outbound message(s) could not be priced and are left out of spend totals."
        ));
    }
    out.push('\n');
    if !summary.warnings.is_empty() {
        out.push_str("\nWarnings:\n\n");
        for warning in &summary.warnings {
            out.push_str(&format!("- {warning}\n"));
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
