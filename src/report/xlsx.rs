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

use crate::rows::Streamed;
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook, Worksheet};
use serde_json::Value;

use super::safe;
use super::sections::Section;
use super::tables::{spend_aggregates, Tables};
use crate::pricing::{AVOIDABLE, COST, CURRENCY, MARKET, PRICING_RULE, RATE_FROM};
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

pub fn render(summary: &Value, tables: &Tables, sections: &[Section], tz: &str) -> Result<Vec<u8>> {
    let mut workbook = Workbook::new();
    let created = ExcelDateTime::from_ymd(2000, 1, 1)?;
    workbook.set_properties(&DocProperties::new().set_creation_datetime(&created));
    let mut formats = Formats::new();
    summary_sheet(
        workbook.add_worksheet().set_name("Summary")?,
        summary,
        &mut formats,
    )?;
    let sheets: [(&str, DataFrame, Columns); 5] = [
        ("Spend", spend(tables)?, spend_columns()),
        (
            "Avoidable templates",
            avoidable(tables)?,
            avoidable_columns(),
        ),
        ("Late replies", late_replies(tables)?, late_columns()),
        ("Windows", daily_windows(tables, tz)?, window_columns()),
        ("Rates used", rates_used(tables)?, rate_columns()),
    ];
    for (name, frame, columns) in &sheets {
        let sheet = workbook.add_worksheet().set_name(*name)?;
        table_sheet(sheet, frame, columns, &mut formats)?;
    }
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

fn summary_sheet(sheet: &mut Worksheet, s: &Value, formats: &mut Formats) -> Result<()> {
    let mut row = 0u32;
    let bold = formats.header.clone();
    let mut put = |sheet: &mut Worksheet,
                   label: &str,
                   value: &Value,
                   format: Option<&Format>|
     -> Result<()> {
        sheet.write_string_with_format(row, 0, label, &bold)?;
        match (value, format) {
            (Value::Number(n), Some(f)) => {
                sheet.write_number_with_format(row, 1, n.as_f64().unwrap_or(0.0), f)?;
            }
            (Value::Number(n), None) => {
                sheet.write_number(row, 1, n.as_f64().unwrap_or(0.0))?;
            }
            (Value::String(text), _) => {
                sheet.write_string(row, 1, safe::cell(text))?;
            }
            (Value::Null, _) => {}
            (other, _) => {
                sheet.write_string(row, 1, safe::cell(&other.to_string()))?;
            }
        }
        row += 1;
        Ok(())
    };
    put(sheet, "Period", &s["period"]["label"], None)?;
    put(sheet, "Window rule", &s["options"]["rule"], None)?;
    put(sheet, "Report time zone", &s["options"]["tz"], None)?;
    put(
        sheet,
        "What-if pricing",
        &Value::String(s["pricing"]["what_if"].to_string()),
        None,
    )?;
    for spend in s["spend"]["by_currency"].as_array().into_iter().flatten() {
        let currency = spend["currency"].as_str().unwrap_or("").to_string();
        let money = formats.money(&currency).clone();
        put(
            sheet,
            &format!("Total spend ({currency})"),
            &spend["total"],
            Some(&money),
        )?;
        put(
            sheet,
            &format!("Avoidable spend ({currency})"),
            &spend["avoidable"],
            Some(&money),
        )?;
        put(
            sheet,
            &format!("Late-reply spend ({currency})"),
            &spend["late_reply"],
            Some(&money),
        )?;
        put(
            sheet,
            &format!("Avoidable share ({currency})"),
            &spend["avoidable_share"],
            Some(&formats.share),
        )?;
        put(
            sheet,
            &format!("Late-reply share ({currency})"),
            &spend["late_reply_share"],
            Some(&formats.share),
        )?;
    }
    let outbound = &s["outbound"];
    put(
        sheet,
        "Outbound messages",
        &outbound["total"],
        Some(&formats.count),
    )?;
    put(
        sheet,
        "Templates",
        &outbound["templates"],
        Some(&formats.count),
    )?;
    for class in CLASSES {
        put(
            sheet,
            class,
            &outbound["by_class"][class],
            Some(&formats.count),
        )?;
    }
    let windows = &s["windows"];
    put(
        sheet,
        "Windows opened",
        &windows["opened"],
        Some(&formats.count),
    )?;
    put(
        sheet,
        "Windows answered",
        &windows["answered"],
        Some(&formats.count),
    )?;
    put(
        sheet,
        "Answered share",
        &windows["answered_share"],
        Some(&formats.share),
    )?;
    put(
        sheet,
        "Median first response (s)",
        &windows["median_first_response_secs"],
        None,
    )?;
    sheet.autofit();
    Ok(())
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

fn quality_sheet(sheet: &mut Worksheet, s: &Value, formats: &Formats) -> Result<()> {
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
    let keys = [
        "path",
        "format",
        "role",
        "rows_read",
        "processed",
        "rejected",
        "duplicates",
        "merged",
    ];
    let files = s["files"].as_array().cloned().unwrap_or_default();
    for (r, file) in files.iter().enumerate() {
        for (c, key) in keys.iter().enumerate() {
            let (row, col) = (r as u32 + 1, c as u16);
            match &file[*key] {
                Value::Number(n) => {
                    sheet.write_number_with_format(
                        row,
                        col,
                        n.as_f64().unwrap_or(0.0),
                        &formats.count,
                    )?;
                }
                Value::String(text) => {
                    sheet.write_string(row, col, safe::cell(text))?;
                }
                _ => {}
            }
        }
    }
    let mut row = files.len() as u32 + 2;
    let mut note = |sheet: &mut Worksheet, label: &str, value: String| -> Result<()> {
        sheet.write_string_with_format(row, 0, label, &formats.header)?;
        sheet.write_string(row, 1, value)?;
        row += 1;
        Ok(())
    };
    for (flag, value) in s["data_quality"].as_object().into_iter().flatten() {
        note(sheet, flag, value.to_string())?;
    }
    for warning in s["warnings"].as_array().into_iter().flatten() {
        note(sheet, "warning", warning.as_str().unwrap_or("").to_string())?;
    }
    sheet.set_freeze_panes(1, 0)?;
    sheet.autofilter(0, 0, files.len() as u32, (headers.len() - 1) as u16)?;
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

/// Month × country × category × currency, across classes and markets.
fn spend(tables: &Tables) -> Result<DataFrame> {
    let keys = ["month", COUNTRY, CATEGORY, CURRENCY];
    Ok(tables
        .sends_full
        .clone()
        .lazy()
        .filter(col(CURRENCY).is_not_null().and(col(CURRENCY).neq(lit(""))))
        .group_by(keys.map(col))
        .agg(spend_aggregates())
        .sort(keys, SortMultipleOptions::default().with_nulls_last(false))
        .streamed()?)
}

fn avoidable_columns() -> Columns {
    vec![
        (TEMPLATE_NAME, "Template", Kind::Text),
        (CATEGORY, "Category", Kind::Text),
        (CURRENCY, "Currency", Kind::Text),
        ("templates", "Avoidable templates", Kind::Count),
        ("cost", "Spend", Kind::Money(CURRENCY)),
        ("avoidable", "Avoidable spend", Kind::Money(CURRENCY)),
    ]
}

fn avoidable(tables: &Tables) -> Result<DataFrame> {
    let keys = [TEMPLATE_NAME, CATEGORY, CURRENCY];
    Ok(tables
        .sends_full
        .clone()
        .lazy()
        .filter(col(CLASS).eq(lit("template_avoidable")))
        .group_by(keys.map(col))
        .agg([
            len().cast(DataType::UInt64).alias("templates"),
            col(COST).sum().alias("cost"),
            col(AVOIDABLE).sum().alias("avoidable"),
        ])
        .sort_by_exprs(
            [
                col("avoidable"),
                col(TEMPLATE_NAME),
                col(CATEGORY),
                col(CURRENCY),
            ],
            SortMultipleOptions::default()
                .with_order_descending_multi([true, false, false, false])
                .with_nulls_last(true),
        )
        .streamed()?)
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

fn late_replies(tables: &Tables) -> Result<DataFrame> {
    let late = tables
        .sends_full
        .clone()
        .lazy()
        .filter(col(CLASS).eq(lit("template_late_reply")))
        .group_by([col(BUSINESS_NUMBER), col(CURRENCY)])
        .agg([
            len().cast(DataType::UInt64).alias("late_reply_templates"),
            col(COST).sum().alias("late_reply_cost"),
        ]);
    let windows = super::tables::windows_by_business(tables);
    Ok(late
        .join(
            windows,
            [col(BUSINESS_NUMBER)],
            [col(BUSINESS_NUMBER)],
            JoinArgs::new(JoinType::Full).with_coalesce(JoinCoalesce::CoalesceColumns),
        )
        .sort(
            [BUSINESS_NUMBER, CURRENCY],
            SortMultipleOptions::default().with_nulls_last(true),
        )
        .streamed()?)
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

/// Windows opened per day of the report time zone.
fn daily_windows(tables: &Tables, tz: &str) -> Result<DataFrame> {
    let zone = TimeZone::opt_try_new(Some(tz))?.unwrap_or(TimeZone::UTC);
    let opened = col("opened_at").dt().convert_time_zone(zone).dt().date();
    Ok(tables
        .windows
        .clone()
        .lazy()
        .group_by([opened.alias("day")])
        .agg([
            len().cast(DataType::UInt64).alias("opened"),
            col("answered")
                .cast(DataType::UInt64)
                .sum()
                .alias("answered"),
        ])
        .with_columns([
            (col("opened") - col("answered")).alias("unanswered"),
            (col("answered").cast(DataType::Float64) / col("opened").cast(DataType::Float64))
                .alias("answered_share"),
        ])
        .with_column(col("day").cast(DataType::Int32))
        .sort(["day"], Default::default())
        .streamed()?)
}

fn rate_columns() -> Columns {
    vec![
        (MARKET, "Market", Kind::Text),
        ("price_category", "Category", Kind::Text),
        (CURRENCY, "Currency", Kind::Text),
        ("rate", "Rate", Kind::Money(CURRENCY)),
        (RATE_FROM, "Effective from", Kind::Date),
        ("messages", "Messages priced", Kind::Count),
        ("cost", "Spend", Kind::Money(CURRENCY)),
    ]
}

/// The rate rows that charged at least one message of the period.
fn rates_used(tables: &Tables) -> Result<DataFrame> {
    let keys = [MARKET, "price_category", CURRENCY, RATE_FROM];
    Ok(tables
        .sends_full
        .clone()
        .lazy()
        .filter(col(PRICING_RULE).eq(lit("charged")))
        .group_by([
            col(MARKET),
            col("price_category"),
            col(CURRENCY),
            col(RATE_FROM),
            col(COST).alias("rate"),
        ])
        .agg([
            len().cast(DataType::UInt64).alias("messages"),
            col(COST).sum().alias("cost"),
        ])
        .with_column(col(RATE_FROM).cast(DataType::Int32))
        .sort(keys, SortMultipleOptions::default().with_nulls_last(true))
        .streamed()?)
}
