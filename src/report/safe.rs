//! Text from the input, made safe for spreadsheets (issue 7).
//!
//! Excel, LibreOffice and Google Sheets read a cell that starts with `=`,
//! `+`, `-`, `@`, a tab or a carriage return as a formula, so a template
//! name or a rejected row's raw text could run as code on a finance
//! laptop. Every text cell of the CSV tables and the workbook that starts
//! so gets a `'` in front, except plain decimal numbers (`-0.0107` is an
//! amount, not a formula, and finance needs it as a number). Machine
//! outputs (`summary.json`) keep the text as it was.

use std::borrow::Cow;

use anyhow::Result;
use polars::prelude::*;

use crate::frames::columns_where;

const FORMULA_STARTS: [&str; 6] = ["=", "+", "-", "@", "\t", "\r"];
const PLAIN_NUMBER: &str = r"^[+-]?[0-9]+(\.[0-9]+)?$";

/// One cell's text, neutralised when a spreadsheet would run it.
pub fn cell(text: &str) -> Cow<'_, str> {
    let risky = text.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && !is_plain_number(text) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

fn is_plain_number(text: &str) -> bool {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, "1"));
    !whole.is_empty()
        && !fraction.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit())
}

/// Six prefix tests, not a regex: a string's first bytes sit in its view,
/// so this reads no text (sends.csv tests ~14 columns of every row).
fn starts_like_formula(column: &str) -> Expr {
    FORMULA_STARTS
        .iter()
        .map(|start| col(column).str().starts_with(lit(*start)))
        .reduce(Expr::or)
        .expect("some starts")
        .fill_null(false)
}

/// A cheaper test that every cell [`starts_like_formula`] passes: the
/// text sorts below `"0"` (a tab, a carriage return, `+`, `-`, the empty
/// text and other punctuation) or from `"="` up to `"A"` (`=`, `>`, `?`,
/// `@`). Three comparisons with the view's inline prefix instead of six
/// prefix tests: on 10M sends the six cost seconds, and digits and
/// letters, which start nearly every cell, fail this at once.
fn may_start_like_formula(column: &str) -> Expr {
    let text = || col(column);
    text()
        .lt(lit("0"))
        .or(text().gt_eq(lit("=")).and(text().lt(lit("A"))))
        .fill_null(false)
}

fn risky(column: &str) -> Expr {
    starts_like_formula(column).and(
        col(column)
            .str()
            .contains(lit(PLAIN_NUMBER), true)
            .not()
            .fill_null(false),
    )
}

/// The frame with [`cell`] applied to every text column; columns with no
/// risky cell (the usual case) are left as they are.
pub fn neutralized(frame: &DataFrame) -> Result<DataFrame> {
    let text: Vec<String> = frame
        .columns()
        .iter()
        .filter(|c| c.dtype() == &DataType::String)
        .map(|c| c.name().to_string())
        .collect();
    if frame.height() == 0 {
        return Ok(frame.clone());
    }
    // The cheap comparisons on every column; the prefix and number tests
    // only where some cell may start like a formula (amounts, a few odd
    // names).
    let suspects = columns_where(frame, &text, may_start_like_formula)?;
    let fixes: Vec<Expr> = columns_where(frame, &suspects, risky)?
        .iter()
        .map(|name| {
            when(risky(name))
                .then(concat_str([lit("'"), col(name.as_str())], "", false))
                .otherwise(col(name.as_str()))
                .alias(name.as_str())
        })
        .collect();
    if fixes.is_empty() {
        return Ok(frame.clone());
    }
    Ok(frame.clone().lazy().with_columns(fixes).collect()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_prefixed_and_numbers_kept() {
        for formula in [
            "=1+1",
            "+cmd|' /C calc'!A0",
            "-2+3",
            "@SUM(A1)",
            "\tx",
            "\rx",
            "-",
            "+",
        ] {
            assert_eq!(cell(formula), format!("'{formula}"), "{formula:?}");
        }
        for kept in [
            "-0.0107",
            "+966501234567",
            "12",
            "order_update",
            "",
            "a=b",
            "1.5",
        ] {
            assert_eq!(cell(kept), kept, "{kept:?}");
        }
    }

    #[test]
    fn frames_get_the_same_rule_as_cells() {
        let values = [
            "=HYPERLINK(\"x\")",
            "-0.5",
            "plain",
            "@me",
            "-1e5",
            "\tx",
            "\rx",
            "+1+2",
            ">x",
            "?",
            "",
            "0=1",
            "A=1",
        ];
        let n: Vec<i64> = (0..values.len() as i64).collect();
        let frame = df!("text" => values, "n" => n).unwrap();
        let out = neutralized(&frame).unwrap();
        let got: Vec<&str> = out
            .column("text")
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .flatten()
            .collect();
        let want: Vec<String> = values.iter().map(|v| cell(v).into_owned()).collect();
        assert_eq!(got, want);
        assert_eq!(out.column("n").unwrap(), frame.column("n").unwrap());
    }

    #[test]
    fn a_column_with_one_risky_cell_is_neutralized() {
        // Each risky start alone among safe cells: the cheap column test
        // must not pass it by.
        for risky in ["=1", "+x", "-x", "@x", "\tx", "\rx"] {
            let frame = df!("text" => ["0123", "plain", risky, "Zed"]).unwrap();
            let out = neutralized(&frame).unwrap();
            let third = out.column("text").unwrap().str().unwrap().get(2);
            assert_eq!(third, Some(format!("'{risky}").as_str()), "{risky:?}");
        }
    }
}
