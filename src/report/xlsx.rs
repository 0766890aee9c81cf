//! `report.xlsx` for finance (issue 8): one workbook, a sheet per view.
//!
//! Sheets: Summary (headline figures), Spend (month × country × category),
//! Avoidable templates (by template), Late replies (by business number),
//! Windows (daily counts), Rates used (the rate rows that priced anything),
//! Data quality, then one sheet per SQL report section. Money cells are
//! numbers with a format naming the card's currency (`#,##0.0000 "USD"`),
//! shares are percentages, days are dates; every table sheet has a frozen,
//! filterable header row and fitted column widths. Money is exact in the
//! CSV tables; Excel keeps numbers as doubles, exact to far below a cent.
//!
//! The workbook's creation date is fixed, so the same run gives the same
//! bytes.

use std::collections::BTreeMap;

use anyhow::Result;
use polars::prelude::*;

use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook, Worksheet};

use super::safe;
use super::sections::Section;
use super::summary::{Money, Summary};
use super::views::Views;
use crate::pricing::{CURRENCY, MARKET, RATE_FROM};
use crate::schema::*;

/// How a column's cells are written.
#[derive(Clone, Copy)]
enum Kind {
    Text,
    Count,
    /// Nano-units, formatted with the currency in the named column.
    Money(&'static str),
    Share,
    /// Days since 1970-01-01 (polars Date).
    Date,
}

/// (frame column, header, kind) of each column of a sheet.
type Columns = Vec<(&'static str, &'static str, Kind)>;

struct Formats {
    header: Format,
    share: Format,
    date: Format,
    count: Format,
    money: BTreeMap<String, Format>,
}

impl Formats {
    fn new() -> Self {
        Formats {
            header: Format::new().set_bold(),
            share: Format::new().set_num_format("0.0%"),
            date: Format::new().set_num_format("yyyy-mm-dd"),
            count: Format::new().set_num_format("#,##0"),
            money: BTreeMap::new(),
        }
    }

    fn money(&mut self, currency: &str) -> &Format {
        self.money.entry(currency.to_string()).or_insert_with(|| {
            let code = currency.replace('"', "");
            Format::new().set_num_format(format!("#,##0.0000 \"{code}\""))
        })
    }
}

pub fn render(summary: &Summary, views: &Views, sections: &[Section]) -> Result<Vec<u8>> {
    let mut workbook = Workbook::new();
    let created = ExcelDateTime::from_ymd(2000, 1, 1)?;
    workbook.set_properties(&DocProperties::new().set_creation_datetime(&created));
    let mut formats = Formats::new();
    summary_sheet(
        workbook.add_worksheet().set_name("Summary")?,
        summary,
        &mut formats,
    )?;
    let sheets: [(&str, &DataFrame, Columns); 6] = [
        ("Spend", &views.spend_by_month, spend_columns()),
        (
            "Avoidable templates",
            &views.avoidable_templates,
            avoidable_columns(),
        ),
        ("Late replies", &views.late_replies, late_columns()),
        ("Answering in time", &views.answering, answering_columns()),
        ("Windows", &views.daily_windows, window_columns()),
        ("Rates used", &views.rates_used, rate_columns()),
    ];
    for (name, frame, columns) in &sheets {
        let sheet = workbook.add_worksheet().set_name(*name)?;
        table_sheet(sheet, frame, columns, &mut formats)?;
    }
    if summary.conversations.total > 0 {
        conversations_sheet(
            workbook.add_worksheet().set_name("Conversations")?,
            summary,
            &mut formats,
        )?;
    }
    staffing_sheet(
        workbook.add_worksheet().set_name("Staffing")?,
        summary,
        &mut formats,
    )?;
    quality_sheet(
        workbook.add_worksheet().set_name("Data quality")?,
        summary,
        &formats,
    )?;
    for (index, section) in sections.iter().enumerate() {
        let sheet = workbook
            .add_worksheet()
            .set_name(sheet_name(&section.title, index))?;
        let columns: Vec<(String, Kind)> = section
            .table
            .get_column_names()
            .iter()
            .map(|n| (n.to_string(), Kind::Text))
            .collect();
        section_sheet(sheet, &section.table, &columns, &formats)?;
    }
    Ok(workbook.save_to_buffer()?)
}

/// Excel sheet names: at most 31 characters, none of `[]:*?/\`, unique.
fn sheet_name(title: &str, index: usize) -> String {
    let clean: String = title
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { ' ' } else { c })
        .collect();
    let prefix = format!("{}. ", index + 1);
    let room = 31 - prefix.chars().count();
    format!(
        "{prefix}{}",
        clean.trim().chars().take(room).collect::<String>()
    )
}

/// A cell of the Summary sheet.
enum Cell {
    Number(f64),
    Text(String),
    Empty,
}

impl From<u64> for Cell {
    fn from(n: u64) -> Self {
        Cell::Number(n as f64)
    }
}

impl From<Money> for Cell {
    fn from(money: Money) -> Self {
        Cell::Number(money.as_f64())
    }
}

impl From<Option<f64>> for Cell {
    fn from(value: Option<f64>) -> Self {
        value.map_or(Cell::Empty, Cell::Number)
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Self {
        Cell::Text(text.to_string())
    }
}

fn summary_sheet(sheet: &mut Worksheet, s: &Summary, formats: &mut Formats) -> Result<()> {
    for (row, (label, value, format)) in summary_rows(s, formats).into_iter().enumerate() {
        let row = row as u32;
        sheet.write_string_with_format(row, 0, &label, &formats.header)?;
        match (value, format) {
            (Cell::Number(n), Some(f)) => {
                sheet.write_number_with_format(row, 1, n, &f)?;
            }
            (Cell::Number(n), None) => {
                sheet.write_number(row, 1, n)?;
            }
            (Cell::Text(text), _) => {
                sheet.write_string(row, 1, safe::cell(&text))?;
            }
            (Cell::Empty, _) => {}
        }
    }
    sheet.autofit();
    Ok(())
}

/// The Summary sheet's rows: label, value, number format.
fn summary_rows(s: &Summary, formats: &mut Formats) -> Vec<(String, Cell, Option<Format>)> {
    let text = |label: &str, value: &str| (label.to_string(), Cell::from(value), None);
    let what_if = s.pricing.what_if.to_string();
    let tiers = match s.pricing.volume_tiers.applied {
        true => "applied (see Rates used: one row per tier)",
        false => "not applied: no rate card has tier rows, every template at its list rate",
    };
    let mut rows = vec![
        text("Period", &s.period.label),
        text("Window rule", s.options.rule),
        text("Report time zone", &s.options.tz),
        text("What-if pricing", &what_if),
        text("Volume tiers", tiers),
    ];
    for spend in &s.spend.by_currency {
        let currency = &spend.currency;
        let money = formats.money(currency).clone();
        let share = formats.share.clone();
        let figures: [(&str, Cell, &Format); 6] = [
            ("Total spend", spend.total.into(), &money),
            ("Avoidable spend", spend.avoidable.into(), &money),
            ("Late-reply spend", spend.late_reply.into(), &money),
            (
                "Saved by answering in time",
                spend.answering_saves.into(),
                &money,
            ),
            ("Avoidable share", spend.avoidable_share.into(), &share),
            ("Late-reply share", spend.late_reply_share.into(), &share),
        ];
        for (label, value, format) in figures {
            rows.push((format!("{label} ({currency})"), value, Some(format.clone())));
        }
    }
    let count = |label: &str, n: u64| {
        (
            label.to_string(),
            Cell::from(n),
            Some(formats.count.clone()),
        )
    };
    let outbound = &s.outbound;
    rows.push(count("Outbound messages", outbound.total));
    rows.push(count("Templates", outbound.templates));
    for class in CLASSES {
        rows.push(count(class, outbound.by_class.get(class)));
    }
    let windows = &s.windows;
    rows.push(count("Windows opened", windows.opened));
    rows.push(count("Windows answered", windows.answered));
    rows.push((
        "Answered share".into(),
        windows.answered_share.into(),
        Some(formats.share.clone()),
    ));
    rows.push((
        "Median first response (s)".into(),
        windows.median_first_response_secs.into(),
        None,
    ));
    rows
}

fn header_row(sheet: &mut Worksheet, headers: &[&str], formats: &Formats) -> Result<()> {
    for (c, h) in headers.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *h, &formats.header)?;
    }
    Ok(())
}

fn finish_table(sheet: &mut Worksheet, rows: usize, columns: usize) -> Result<()> {
    sheet.set_freeze_panes(1, 0)?;
    if columns > 0 {
        sheet.autofilter(0, 0, rows as u32, (columns - 1) as u16)?;
    }
    sheet.autofit();
    Ok(())
}

fn table_sheet(
    sheet: &mut Worksheet,
    frame: &DataFrame,
    columns: &[(&str, &str, Kind)],
    formats: &mut Formats,
) -> Result<()> {
    let headers: Vec<&str> = columns.iter().map(|c| c.1).collect();
    header_row(sheet, &headers, formats)?;
    for (c, (name, _, kind)) in columns.iter().enumerate() {
        let column = frame.column(name)?.as_materialized_series().clone();
        let currency = match kind {
            Kind::Money(currency) => Some(frame.column(currency)?.str()?.clone()),
            _ => None,
        };
        for r in 0..frame.height() {
            let value = column.get(r)?;
            if value.is_null() {
                continue;
            }
            let (row, col) = (r as u32 + 1, c as u16);
            match kind {
                Kind::Text => {
                    sheet.write_string(row, col, safe::cell(&value.str_value()))?;
                }
                Kind::Count => {
                    sheet.write_number_with_format(row, col, number(&value), &formats.count)?;
                }
                Kind::Share => {
                    sheet.write_number_with_format(row, col, number(&value), &formats.share)?;
                }
                Kind::Money(_) => {
                    let code = currency.as_ref().and_then(|c| c.get(r)).unwrap_or("");
                    let f = formats.money(code).clone();
                    sheet.write_number_with_format(row, col, number(&value) / 1e9, &f)?;
                }
                Kind::Date => {
                    let days = number(&value) as i64;
                    let day = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")
                        + chrono::TimeDelta::days(days);
                    use chrono::Datelike;
                    let date = ExcelDateTime::from_ymd(
                        day.year() as u16,
                        day.month() as u8,
                        day.day() as u8,
                    )?;
                    sheet.write_datetime_with_format(row, col, &date, &formats.date)?;
                }
            }
        }
    }
    finish_table(sheet, frame.height(), columns.len())
}

fn number(value: &AnyValue) -> f64 {
    value.extract::<f64>().unwrap_or(0.0)
}

fn section_sheet(
    sheet: &mut Worksheet,
    frame: &DataFrame,
    columns: &[(String, Kind)],
    formats: &Formats,
) -> Result<()> {
    let headers: Vec<&str> = columns.iter().map(|c| c.0.as_str()).collect();
    header_row(sheet, &headers, formats)?;
    for (c, (name, _)) in columns.iter().enumerate() {
        let series = frame.column(name)?.as_materialized_series().clone();
        let numeric = series.dtype().is_primitive_numeric();
        for r in 0..frame.height() {
            let value = series.get(r)?;
            let (row, col) = (r as u32 + 1, c as u16);
            match value {
                AnyValue::Null => {}
                v if numeric => {
                    sheet.write_number(row, col, number(&v))?;
                }
                v => {
                    // Decimal text (money) stays a number in Excel.
                    let text = v.str_value().to_string();
                    match text.parse::<f64>() {
                        Ok(n)
                            if text
                                .chars()
                                .all(|ch| ch.is_ascii_digit() || ch == '.' || ch == '-') =>
                        {
                            sheet.write_number(row, col, n)?;
                        }
                        _ => {
                            sheet.write_string(row, col, safe::cell(&text))?;
                        }
                    }
                }
            }
        }
    }
    finish_table(sheet, frame.height(), columns.len())
}

/// Every weekday-hour slot with windows (opened, lapsed, lapsed share),
/// then the slots with the most late-reply spend.
/// Conversations (`cbp`) per month, category and currency.
fn conversations_sheet(sheet: &mut Worksheet, s: &Summary, formats: &mut Formats) -> Result<()> {
    let headers = [
        "Month",
        "Category",
        "Currency",
        "Conversations",
        "Charged",
        "Free",
        "No rate",
        "Cost",
    ];
    header_row(sheet, &headers, formats)?;
    for (r, month) in s.conversations.by_month.iter().enumerate() {
        let row = r as u32 + 1;
        for (c, text) in [&month.month, &month.category, &month.currency]
            .into_iter()
            .enumerate()
        {
            sheet.write_string(row, c as u16, safe::cell(text))?;
        }
        let counts = [
            month.conversations,
            month.charged,
            month.free,
            month.unpriced,
        ];
        for (c, n) in counts.into_iter().enumerate() {
            sheet.write_number_with_format(row, c as u16 + 3, n as f64, &formats.count)?;
        }
        let money = formats.money(&month.currency).clone();
        sheet.write_number_with_format(row, 7, month.cost.as_f64(), &money)?;
    }
    finish_table(sheet, s.conversations.by_month.len(), headers.len())
}

fn staffing_sheet(sheet: &mut Worksheet, s: &Summary, formats: &mut Formats) -> Result<()> {
    use super::staffing::WEEKDAYS;
    let day = |d: u32| WEEKDAYS[(d as usize).clamp(1, 7) - 1];
    header_row(
        sheet,
        &[
            "Weekday",
            "Hour",
            "Windows opened",
            "Lapsed unanswered",
            "Lapsed share",
        ],
        formats,
    )?;
    for (r, slot) in s.staffing.slots.iter().enumerate() {
        let row = r as u32 + 1;
        sheet.write_string(row, 0, day(slot.weekday))?;
        sheet.write_number_with_format(row, 1, slot.hour as f64, &formats.count)?;
        sheet.write_number_with_format(row, 2, slot.windows_opened as f64, &formats.count)?;
        sheet.write_number_with_format(row, 3, slot.lapsed as f64, &formats.count)?;
        if let Some(share) = slot.lapsed_share {
            sheet.write_number_with_format(row, 4, share, &formats.share)?;
        }
    }
    let start = s.staffing.slots.len() as u32 + 2;
    let top = [
        "Top late-reply slots: weekday",
        "Hour",
        "Currency",
        "Windows opened",
        "Lapsed share",
        "Late-reply templates",
        "Late-reply spend",
    ];
    for (c, h) in top.iter().enumerate() {
        sheet.write_string_with_format(start, c as u16, *h, &formats.header)?;
    }
    for (r, slot) in s.staffing.top.iter().enumerate() {
        let row = start + 1 + r as u32;
        sheet.write_string(row, 0, day(slot.weekday))?;
        sheet.write_number_with_format(row, 1, slot.hour as f64, &formats.count)?;
        sheet.write_string(row, 2, safe::cell(&slot.currency))?;
        sheet.write_number_with_format(row, 3, slot.windows_opened as f64, &formats.count)?;
        if let Some(share) = slot.lapsed_share {
            sheet.write_number_with_format(row, 4, share, &formats.share)?;
        }
        sheet.write_number_with_format(row, 5, slot.late_reply_templates as f64, &formats.count)?;
        let money = formats.money(&slot.currency).clone();
        sheet.write_number_with_format(row, 6, slot.late_reply_spend.as_f64(), &money)?;
    }
    Ok(())
}

fn quality_sheet(sheet: &mut Worksheet, s: &Summary, formats: &Formats) -> Result<()> {
    let headers = [
        "File",
        "Format",
        "Role",
        "Rows read",
        "Processed",
        "Rejected",
        "Duplicates",
        "Merged",
    ];
    header_row(sheet, &headers, formats)?;
    for (r, file) in s.files.iter().enumerate() {
        let row = r as u32 + 1;
        for (c, text) in [file.path.as_str(), &file.format, file.role]
            .into_iter()
            .enumerate()
        {
            sheet.write_string(row, c as u16, safe::cell(text))?;
        }
        let counts = [
            file.rows_read,
            file.processed,
            file.rejected,
            file.duplicates,
            file.merged,
        ];
        for (c, n) in counts.into_iter().enumerate() {
            sheet.write_number_with_format(row, c as u16 + 3, n as f64, &formats.count)?;
        }
    }
    let mut row = s.files.len() as u32 + 2;
    let mut note = |sheet: &mut Worksheet, label: &str, value: String| -> Result<()> {
        sheet.write_string_with_format(row, 0, label, &formats.header)?;
        sheet.write_string(row, 1, value)?;
        row += 1;
        Ok(())
    };
    for (flag, value) in s.data_quality.flags() {
        note(sheet, flag, value.to_string())?;
    }
    for warning in &s.warnings {
        note(sheet, "warning", warning.clone())?;
    }
    sheet.set_freeze_panes(1, 0)?;
    sheet.autofilter(0, 0, s.files.len() as u32, (headers.len() - 1) as u16)?;
    sheet.autofit();
    Ok(())
}

fn spend_columns() -> Columns {
    vec![
        ("month", "Month", Kind::Text),
        (COUNTRY, "Country", Kind::Text),
        (CATEGORY, "Category", Kind::Text),
        (CURRENCY, "Currency", Kind::Text),
        ("messages", "Messages", Kind::Count),
        ("cost", "Spend", Kind::Money(CURRENCY)),
        ("avoidable_cost", "Avoidable", Kind::Money(CURRENCY)),
        ("late_reply_cost", "Late reply", Kind::Money(CURRENCY)),
    ]
}

fn avoidable_columns() -> Columns {
    vec![
        (TEMPLATE_NAME, "Template", Kind::Text),
        (CATEGORY, "Category", Kind::Text),
        (CURRENCY, "Currency", Kind::Text),
        ("templates", "Avoidable templates", Kind::Count),
        ("cost", "Spend", Kind::Money(CURRENCY)),
        ("avoidable_cost", "Avoidable spend", Kind::Money(CURRENCY)),
    ]
}

fn late_columns() -> Columns {
    vec![
        (BUSINESS_NUMBER, "Business number", Kind::Text),
        (CURRENCY, "Currency", Kind::Text),
        ("late_reply_templates", "Late-reply templates", Kind::Count),
        ("late_reply_cost", "Late-reply spend", Kind::Money(CURRENCY)),
        ("windows", "Windows opened", Kind::Count),
        ("lapsed", "Windows lapsed unanswered", Kind::Count),
    ]
}

fn answering_columns() -> Columns {
    vec![
        ("month", "Month", Kind::Text),
        (BUSINESS_NUMBER, "Business number", Kind::Text),
        (CURRENCY, "Currency", Kind::Text),
        ("late_reply_templates", "Late-reply templates", Kind::Count),
        ("late_reply_cost", "Late-reply spend", Kind::Money(CURRENCY)),
        (
            "answering_saves",
            "Saved by answering in time",
            Kind::Money(CURRENCY),
        ),
    ]
}

fn window_columns() -> Columns {
    vec![
        ("day", "Day", Kind::Date),
        ("opened", "Opened", Kind::Count),
        ("answered", "Answered", Kind::Count),
        ("unanswered", "Lapsed unanswered", Kind::Count),
        ("answered_share", "Answered share", Kind::Share),
    ]
}

fn rate_columns() -> Columns {
    vec![
        (MARKET, "Market", Kind::Text),
        ("price_category", "Category", Kind::Text),
        (CURRENCY, "Currency", Kind::Text),
        ("rate", "Rate", Kind::Money(CURRENCY)),
        (crate::pricing::TIER, "Volume tier", Kind::Text),
        (RATE_FROM, "Effective from", Kind::Date),
        ("messages", "Messages priced", Kind::Count),
        ("cost", "Spend", Kind::Money(CURRENCY)),
    ]
}
