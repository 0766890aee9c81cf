//! Money as integer nano-units (10⁻⁹ of a currency unit).
//!
//! Prices are parsed from decimal text without floating point and summed as
//! integers, so totals over a hundred million messages are exact to the
//! cent and below; they become decimal text again only when written.

use polars::prelude::*;

pub const NANOS_PER_UNIT: i64 = 1_000_000_000;

/// `"0.0455"` → 45_500_000. At most 9 fraction digits; no sign, no exponent.
pub fn parse_price(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let (units, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if text.starts_with('-') {
        return Err(format!("negative price {text:?}"));
    }
    if (units.is_empty() && fraction.is_empty()) || !digits_only(units) || !digits_only(fraction) {
        return Err(format!("{text:?} is not a price (write it like 0.0455)"));
    }
    if fraction.len() > 9 {
        return Err(format!("price {text:?} has more than 9 decimals"));
    }
    let units: i64 = if units.is_empty() {
        0
    } else {
        units
            .parse()
            .map_err(|_| format!("price {text:?} is too large"))?
    };
    let fraction: i64 = format!("{fraction:0<9}").parse().unwrap_or(0);
    units
        .checked_mul(NANOS_PER_UNIT)
        .and_then(|u| u.checked_add(fraction))
        .ok_or_else(|| format!("price {text:?} is too large"))
}

/// 45_500_000 → `"0.0455"`; -2_000_000 → `"-0.002"`; 0 → `"0"`.
pub fn format_nanos(nanos: i64) -> String {
    let sign = if nanos < 0 { "-" } else { "" };
    let abs = nanos.unsigned_abs();
    let units = abs / NANOS_PER_UNIT as u64;
    let fraction = format!("{:09}", abs % NANOS_PER_UNIT as u64);
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() {
        format!("{sign}{units}")
    } else {
        format!("{sign}{units}.{fraction}")
    }
}

/// [`format_nanos`] as a polars expression over an Int64 column.
pub fn nanos_text(nanos: Expr) -> Expr {
    let abs = nanos.clone().abs();
    let units = abs
        .clone()
        .floor_div(lit(NANOS_PER_UNIT))
        .cast(DataType::String);
    let fraction = (abs % lit(NANOS_PER_UNIT))
        .cast(DataType::String)
        .str()
        .pad_start(lit(9), '0')
        .str()
        .strip_chars_end(lit("0"));
    let sign = when(nanos.clone().lt(lit(0i64)))
        .then(lit("-"))
        .otherwise(lit(""));
    let dotted = when(fraction.clone().eq(lit("")))
        .then(lit(""))
        .otherwise(concat_str([lit("."), fraction], "", false));
    when(nanos.is_null())
        .then(lit(NULL).cast(DataType::String))
        .otherwise(concat_str([sign, units, dotted], "", false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_parse_exactly() {
        assert_eq!(parse_price("0.0455"), Ok(45_500_000));
        assert_eq!(parse_price(".0107"), Ok(10_700_000));
        assert_eq!(parse_price("2"), Ok(2 * NANOS_PER_UNIT));
        assert_eq!(parse_price(" 0.123456789 "), Ok(123_456_789));
        assert!(parse_price("-0.01").unwrap_err().contains("negative"));
        assert!(parse_price("0.1234567891").is_err());
        assert!(parse_price("abc").is_err());
        assert!(parse_price("1e-3").is_err());
        assert!(parse_price(".").is_err());
    }

    #[test]
    fn nanos_format_in_rust_and_polars_alike() {
        let values = [
            0i64,
            45_500_000,
            -2_000_000,
            34_800_000,
            12 * NANOS_PER_UNIT + 5,
            -NANOS_PER_UNIT,
        ];
        let frame = df!("n" => values).unwrap();
        let out = frame
            .lazy()
            .select([nanos_text(col("n")).alias("t")])
            .collect()
            .unwrap();
        let texts: Vec<String> = out
            .column("t")
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .flatten()
            .map(String::from)
            .collect();
        let expected: Vec<String> = values.iter().map(|n| format_nanos(*n)).collect();
        assert_eq!(texts, expected);
        assert_eq!(
            expected,
            ["0", "0.0455", "-0.002", "0.0348", "12.000000005", "-1"]
        );
    }
}
