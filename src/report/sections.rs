//! SQL report sections (issue 8): each `queries/*.sql` file is a section of
//! the report, run with polars' SQL engine over the tables of the run.
//!
//! The file's first comment line (`-- Title`) is the section's title; its
//! stem names `tables/<stem>.csv`. Files run in byte order of their names.
//! A result column named `*_nanos` (money as integer nano-units) is written
//! as an exact decimal under the name without the suffix.
//!
//! Tables (period = `--month`/`--from`/`--to`):
//! - `messages`: every accepted message of all the history given:
//!   `message_id`, `business_number`, `contact`, `direction`, `timestamp`
//!   (RFC 3339 UTC text), `type`, `template_name`, `category`, `country`,
//!   `status`, `failed`, `in_window`, `window_id`, `class`, `regime`,
//!   `pricing_rule`, `cost_nanos`, `avoidable_cost_nanos`, `currency`
//!   (pricing columns are null on inbound rows);
//! - `sends`: the columns of `sends.csv` (the period's outbound messages)
//!   plus `month` (in `--tz`), `cost_nanos` and `avoidable_cost_nanos`;
//! - `windows`: the columns of `windows.csv` (windows opened in the period);
//! - `summary`: the keys of `summary.csv` with `messages`, `failed`,
//!   `unpriced`, `cost_nanos`, `avoidable_cost_nanos`,
//!   `late_reply_cost_nanos`;
//! - `conversations`: the columns of `conversations.csv` (conversations
//!   opened in the period, `cbp`), the cost as `cost_nanos`.

use std::path::{Path, PathBuf};

use anyhow::Result;
use polars::prelude::*;

use crate::rows::Streamed;
use polars::sql::SQLContext;

use super::tables::{spend_aggregates, Tables};
use crate::bad_input;
use crate::pricing::money::nanos_text;
use crate::pricing::{AVOIDABLE, COST, CURRENCY, PRICING_RULE, REGIME};
use crate::schema::*;
use crate::timestamps::TIME_FORMAT;
use crate::Analysis;

/// One SQL file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// File stem: `tables/<name>.csv`.
    pub name: String,
    pub title: String,
    pub sql: String,
    /// The file it came from (for errors), or `built-in`.
    pub origin: String,
}

/// A query's result.
pub struct Section {
    pub name: String,
    pub title: String,
    pub table: DataFrame,
    /// Columns written from `*_nanos` as decimal money text.
    pub money: Vec<String>,
}

impl Section {
    /// The section as shown to people (HTML report, workbook): a `contact`
    /// column masked like every contact there (`tables/<name>.csv` keeps
    /// the numbers, as the other tables do).
    pub fn for_display(&self, show_contacts: bool) -> Result<Section> {
        let mut table = self.table.clone();
        let masked = table
            .column(CONTACT)
            .ok()
            .filter(|c| !show_contacts && c.dtype() == &DataType::String)
            .map(|c| -> Result<Column> {
                let values = c
                    .str()?
                    .apply_values(|v| crate::privacy::mask_contact(v).into());
                Ok(values.into_column())
            })
            .transpose()?;
        if let Some(column) = masked {
            table.with_column(column)?;
        }
        Ok(Section {
            name: self.name.clone(),
            title: self.title.clone(),
            table,
            money: self.money.clone(),
        })
    }
}

const BUILT_IN: [(&str, &str); 4] = [
    (
        "late_replies_by_business",
        include_str!("../../queries/late_replies_by_business.sql"),
    ),
    (
        "response_time_percentiles",
        include_str!("../../queries/response_time_percentiles.sql"),
    ),
    (
        "spend_by_country",
        include_str!("../../queries/spend_by_country.sql"),
    ),
    (
        "top_avoidable_templates",
        include_str!("../../queries/top_avoidable_templates.sql"),
    ),
];

/// `--queries DIR`; without it `./queries` when it exists, else the
/// standard sections built into the binary (the same files).
pub fn load(dir: Option<&Path>) -> Result<Vec<Query>> {
    let dir = match dir {
        Some(d) => Some(d.to_path_buf()),
        None => Some(PathBuf::from("queries")).filter(|d| d.is_dir()),
    };
    let Some(dir) = dir else {
        return Ok(BUILT_IN
            .iter()
            .map(|(name, sql)| query(name, sql, "built-in"))
            .collect());
    };
    let entries = std::fs::read_dir(&dir)
        .map_err(|e| bad_input!("--queries {}: cannot list it ({e})", dir.display()))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|path| {
            let sql = std::fs::read_to_string(path)
                .map_err(|e| bad_input!("{}: cannot read it ({e})", path.display()))?;
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            Ok(query(&sanitized(&name), &sql, &path.display().to_string()))
        })
        .collect()
}

/// A file name safe on every system: letters, digits, `-` and `_`.
fn sanitized(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn query(name: &str, sql: &str, origin: &str) -> Query {
    let title = sql
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .and_then(|l| l.strip_prefix("--"))
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| name.to_string());
    Query {
        name: name.to_string(),
        title,
        sql: sql.to_string(),
        origin: origin.to_string(),
    }
}

/// The tables a query can name, registered in a fresh context.
pub fn context(analysis: &Analysis, tables: &Tables) -> Result<SQLContext> {
    let ctx = SQLContext::new();
    ctx.register("messages", messages_table(&analysis.messages));
    ctx.register("sends", sends_table(tables));
    ctx.register(
        "windows",
        super::tables::windows_text(tables.windows.clone().lazy()),
    );
    ctx.register("summary", summary_table(tables));
    ctx.register("conversations", conversations_table(tables));
    Ok(ctx)
}

fn messages_table(messages: &crate::rows::Rows) -> LazyFrame {
    messages.clone().lazy().select([
        col(MESSAGE_ID),
        col(BUSINESS_NUMBER),
        col(CONTACT),
        col(DIRECTION),
        col(TS).dt().strftime(TIME_FORMAT).alias("timestamp"),
        col(TYPE),
        col(TEMPLATE_NAME),
        col(CATEGORY),
        col(COUNTRY),
        col(STATUS),
        col(FAILED),
        col(IN_WINDOW),
        col(crate::windows::WINDOW_OPENER).alias(WINDOW_ID),
        col(CLASS),
        col(REGIME),
        col(PRICING_RULE),
        col(COST).alias("cost_nanos"),
        col(AVOIDABLE).alias("avoidable_cost_nanos"),
        col(CURRENCY),
    ])
}

/// The columns of `conversations.csv`, instants as text, `cost_nanos`.
fn conversations_table(tables: &Tables) -> LazyFrame {
    let time = |name: &str| col(name).dt().strftime(TIME_FORMAT).alias(name);
    let columns: Vec<Expr> = super::tables::CONVERSATION_COLUMNS
        .iter()
        .map(|name| match *name {
            "opened_at" | "expires_at" | "closed_at" => time(name),
            "cost" => col("cost").alias("cost_nanos"),
            other => col(other),
        })
        .collect();
    tables.conversations.clone().lazy().select(columns)
}

fn sends_table(tables: &Tables) -> LazyFrame {
    crate::report::tables::sends_text(
        tables.sends_full.clone().lazy(),
        vec![
            col("month"),
            col(COST).alias("cost_nanos"),
            col(AVOIDABLE).alias("avoidable_cost_nanos"),
        ],
    )
}

fn summary_table(tables: &Tables) -> LazyFrame {
    let keys = [
        "month",
        COUNTRY,
        crate::pricing::MARKET,
        CATEGORY,
        CLASS,
        CURRENCY,
    ];
    tables
        .sends_full
        .clone()
        .lazy()
        .group_by(keys.map(col))
        .agg(spend_aggregates())
        .rename(
            ["cost", "avoidable_cost", "late_reply_cost"],
            [
                "cost_nanos",
                "avoidable_cost_nanos",
                "late_reply_cost_nanos",
            ],
            true,
        )
        .sort(keys, SortMultipleOptions::default().with_nulls_last(false))
}

/// Runs one query; a bad one is an error naming its file and polars' reason.
pub fn run(ctx: &mut SQLContext, query: &Query) -> Result<DataFrame> {
    Ok(run_with_money(ctx, query)?.0)
}

/// [`run`], also naming the columns that became decimal money text.
fn run_with_money(ctx: &mut SQLContext, query: &Query) -> Result<(DataFrame, Vec<String>)> {
    let failed = |e: PolarsError| {
        bad_input!(
            "{}: the SQL query failed ({e}); tables are messages, windows, sends and summary (see README)",
            query.origin
        )
    };
    // Streamed, as the report's own aggregates are: a query over the sends
    // of a 100M-message run holds its groups, not the sends' text.
    let frame = ctx
        .execute(&query.sql)
        .map_err(failed)?
        .streamed()
        .map_err(failed)?;
    decimals(frame)
}

/// `*_nanos` integer columns → exact decimal text without the suffix.
fn decimals(frame: DataFrame) -> Result<(DataFrame, Vec<String>)> {
    let money: Vec<String> = frame
        .schema()
        .iter()
        .filter_map(|(name, dtype)| {
            let stem = name.strip_suffix("_nanos")?;
            (dtype.is_integer() && !stem.is_empty()).then(|| stem.to_string())
        })
        .collect();
    let exprs: Vec<Expr> = frame
        .schema()
        .iter()
        .map(|(name, dtype)| match name.strip_suffix("_nanos") {
            Some(stem) if dtype.is_integer() && !stem.is_empty() => {
                nanos_text(col(name.as_str()).cast(DataType::Int64)).alias(stem)
            }
            _ => col(name.as_str()),
        })
        .collect();
    Ok((frame.lazy().select(exprs).streamed()?, money))
}

/// Every section of the run, in file order.
pub fn run_all(queries: &[Query], analysis: &Analysis, tables: &Tables) -> Result<Vec<Section>> {
    if queries.is_empty() {
        return Ok(Vec::new());
    }
    let mut ctx = context(analysis, tables)?;
    queries
        .iter()
        .map(|q| {
            let (table, money) = run_with_money(&mut ctx, q)?;
            Ok(Section {
                name: q.name.clone(),
                title: q.title.clone(),
                table,
                money,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_is_the_first_comment_line_and_names_are_safe() {
        let q = query("x", "\n-- Spend by country\nSELECT 1", "f.sql");
        assert_eq!(q.title, "Spend by country");
        assert_eq!(query("x", "SELECT 1", "f.sql").title, "x");
        assert_eq!(sanitized("../evil name"), "___evil_name");
    }

    #[test]
    fn built_in_sections_are_the_files_in_queries() {
        let from_dir = load(Some(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/queries"
        ))))
        .unwrap();
        let names: Vec<&str> = from_dir.iter().map(|q| q.name.as_str()).collect();
        assert_eq!(names, BUILT_IN.map(|(n, _)| n));
        for (q, (_, sql)) in from_dir.iter().zip(BUILT_IN) {
            assert_eq!(q.sql, sql);
        }
    }
}
