//! Timestamp text → UTC microseconds, as one polars expression.
//!
//! Accepts what docs §2 and §8.9 allow: RFC 3339 with `T`, `t` or a
//! space between date and time, offset `Z`/`z`/`±HH:MM`/`±HHMM` or none (then
//! the local time is read in the input time zone, the earlier instant in a
//! DST overlap, nothing in a DST gap), any number of fraction digits kept to
//! the microsecond; and integers of exactly 10 (seconds) or 13 (milliseconds)
//! digits. Everything else parses to null, which `normalize` rejects.
//! It is an expression rather than a Rust loop so that a hundred million
//! timestamps parse in polars' vectorised kernels.

use polars::prelude::*;

/// How instants are written in every output: RFC 3339 in UTC, fraction
/// digits only when there are any.
pub const TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.fZ";

/// An instant (µs since the epoch) as the outputs write it.
pub fn utc_text(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .map_or_else(|| us.to_string(), |t| t.format(TIME_FORMAT).to_string())
}

const RFC3339: &str = r"^(?P<date>\d{4}-\d{2}-\d{2})[Tt ](?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<frac>\d+))?(?:(?P<zulu>[Zz])|(?P<sign>[+-])(?P<hh>[01]\d|2[0-3]):?(?P<mm>[0-5]\d))?$";

const MICROS_PER_SEC: i64 = 1_000_000;

/// The parsed instant (Int64 µs since the Unix epoch, UTC) of `raw`, and a
/// flag that is true where a local time does not exist in `input_tz`.
pub struct ParsedTimestamp {
    pub micros: Expr,
    pub in_dst_gap: Expr,
}

/// The RFC 3339 parts of `raw` as a struct column. Evaluate it once
/// (`with_column`) and give the column to [`parse_parts`]: every part of the
/// parse reads it, and the regex is the costly step.
pub fn rfc3339_parts(raw: Expr) -> PolarsResult<Expr> {
    raw.str().extract_groups(RFC3339)
}

/// [`parse_parts`] with the parts computed in place (for small frames).
pub fn parse(raw: Expr, input_tz: &str) -> PolarsResult<ParsedTimestamp> {
    let parts = rfc3339_parts(raw.clone())?;
    parse_parts(raw, parts, input_tz)
}

/// The instant of `raw`, given its [`rfc3339_parts`].
pub fn parse_parts(raw: Expr, parts: Expr, input_tz: &str) -> PolarsResult<ParsedTimestamp> {
    let part = |name: &str| parts.clone().struct_().field_by_name(name);

    let wall_clock = concat_str([part("date"), part("time")], " ", false)
        .str()
        .to_datetime(
            Some(TimeUnit::Microseconds),
            None,
            StrptimeOptions {
                format: Some("%Y-%m-%d %H:%M:%S".into()),
                strict: false,
                exact: true,
                cache: false,
            },
            lit("raise"),
        );
    let fraction_us = concat_str([part("frac").fill_null(lit("")), lit("000000")], "", false)
        .str()
        .slice(lit(0), lit(6))
        .cast(DataType::Int64);
    let sign = when(part("sign").eq(lit("-")))
        .then(lit(-1i64))
        .otherwise(lit(1i64));
    let offset_us = (part("hh").cast(DataType::Int64) * lit(3600i64)
        + part("mm").cast(DataType::Int64) * lit(60i64))
        * sign
        * lit(MICROS_PER_SEC);
    let has_offset = part("sign").is_not_null();
    let has_zone = has_offset.clone().or(part("zulu").is_not_null());

    let as_if_utc = wall_clock.clone().cast(DataType::Int64) + fraction_us.clone();
    let zoned = when(has_offset)
        .then(as_if_utc.clone() - offset_us)
        .otherwise(as_if_utc.clone());
    let local = if input_tz == "UTC" {
        as_if_utc
    } else {
        wall_clock
            .clone()
            .dt()
            .replace_time_zone(
                TimeZone::opt_try_new(Some(input_tz))?,
                lit("earliest"),
                NonExistent::Null,
            )
            .cast(DataType::Int64)
            + fraction_us
    };

    let digits = |n: usize| {
        raw.clone()
            .str()
            .contains(lit(format!("^[0-9]{{{n}}}$")), true)
    };
    let epoch = raw.clone().cast(DataType::Int64);
    let micros = when(digits(10))
        .then(epoch.clone() * lit(MICROS_PER_SEC))
        .when(digits(13))
        .then(epoch * lit(1000i64))
        .when(has_zone.clone())
        .then(zoned)
        .otherwise(local.clone());
    let in_dst_gap = wall_clock
        .is_not_null()
        .and(has_zone.not())
        .and(local.is_null());
    Ok(ParsedTimestamp { micros, in_dst_gap })
}

/// The instant (µs, UTC) of the spellings of §8.9 that exports write most,
/// read in one pass over the text's bytes: ASCII RFC 3339 with `Z` or an
/// offset (or with neither when the input zone is UTC), and 10- or 13-digit
/// Unix times. `None` for anything else, including what is merely unusual
/// (a second of 60, a year before 1000, non-ASCII digits): the expression
/// path ([`parse_parts`]) then decides, so the two cannot disagree on what
/// is accepted. Parsing 10M timestamps this way takes a fraction of the
/// regex's time.
pub fn fast_micros(text: &str, input_is_utc: bool) -> Option<i64> {
    FastInstants::default().micros(text, input_is_utc)
}

/// [`fast_micros`] over a column: the first instant of the last date read
/// is kept, because a log's rows mostly share their date with the row
/// before (chrono's date arithmetic was half the time of each parse).
#[derive(Default)]
pub struct FastInstants {
    date: [u8; 10],
    day_us: Option<i64>,
}

impl FastInstants {
    /// As [`fast_micros`].
    pub fn micros(&mut self, text: &str, input_is_utc: bool) -> Option<i64> {
        parse_fast(text, input_is_utc, self)
    }

    /// The first instant (µs, UTC) of the date spelled by `date`
    /// (`YYYY-MM-DD`, its dashes checked).
    fn day_us(&mut self, date: &[u8]) -> Option<i64> {
        if let Some(day_us) = self.day_us.filter(|_| self.date == date) {
            return Some(day_us);
        }
        let number = |from: usize, to: usize| ascii_number(&date[from..to]);
        let (year, month, day) = (number(0, 4)?, number(5, 7)?, number(8, 10)?);
        if year < 1000 {
            return None;
        }
        let day_us = chrono::NaiveDate::from_ymd_opt(year as i32, month, day)?
            .and_hms_opt(0, 0, 0)?
            .and_utc()
            .timestamp_micros();
        self.date.copy_from_slice(date);
        self.day_us = Some(day_us);
        Some(day_us)
    }
}

/// The number written by ASCII digits only.
fn ascii_number(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |n, &d| {
        d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
    })
}

fn parse_fast(text: &str, input_is_utc: bool, days: &mut FastInstants) -> Option<i64> {
    let b = text.as_bytes();
    if b.iter().all(u8::is_ascii_digit) {
        let n: i64 = text.parse().ok()?;
        return match b.len() {
            10 => n.checked_mul(MICROS_PER_SEC),
            13 => n.checked_mul(1000),
            _ => None,
        };
    }
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let number = |from: usize, to: usize| ascii_number(&b[from..to]);
    let (hour, minute, second) = (number(11, 13)?, number(14, 16)?, number(17, 19)?);
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let day_us = days.day_us(&b[..10])?;
    let mut rest = &b[19..];
    let mut fraction_us = 0i64;
    if let Some(after_dot) = rest.strip_prefix(b".") {
        let digits = after_dot.iter().take_while(|d| d.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        for place in 0..6 {
            let digit = after_dot.get(place).filter(|_| place < digits);
            fraction_us = fraction_us * 10 + digit.map_or(0, |d| i64::from(d - b'0'));
        }
        rest = &after_dot[digits..];
    }
    let as_if_utc =
        day_us + i64::from(hour * 3600 + minute * 60 + second) * MICROS_PER_SEC + fraction_us;
    match rest {
        [] if input_is_utc => Some(as_if_utc),
        [] => None,
        [b'Z' | b'z'] => Some(as_if_utc),
        [sign @ (b'+' | b'-'), offset @ ..] => {
            let (hh, mm) = match offset {
                [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => ([*h1, *h2], [*m1, *m2]),
                _ => return None,
            };
            let two = |d: [u8; 2]| -> Option<i64> {
                (d[0].is_ascii_digit() && d[1].is_ascii_digit())
                    .then(|| i64::from(d[0] - b'0') * 10 + i64::from(d[1] - b'0'))
            };
            let (hh, mm) = (two(hh)?, two(mm)?);
            if hh > 23 || mm > 59 {
                return None;
            }
            let offset_us = (hh * 3600 + mm * 60) * MICROS_PER_SEC;
            Some(match sign {
                b'-' => as_if_utc + offset_us,
                _ => as_if_utc - offset_us,
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The date a column's parser keeps from row to row never answers for
    /// another row: each text parses as it does on its own.
    #[test]
    fn a_column_parses_each_text_as_alone() {
        let texts = [
            "2026-02-28T10:00:00Z",
            "2026-02-28T23:59:59.5+03:00",
            "2026-02-29T10:00:00Z",
            "2026-02-28T24:00:00Z",
            "2026-02-28T10:00:00",
            "2024-02-29T00:00:00Z",
            "2024-02-29 00:00:01Z",
            "0999-02-28T10:00:00Z",
            "2026-0a-28T10:00:00Z",
            "1767225600",
            "2026-02-28T10:00:00Z",
        ];
        for utc in [true, false] {
            let mut column = FastInstants::default();
            for text in texts {
                assert_eq!(column.micros(text, utc), fast_micros(text, utc), "{text}");
            }
        }
        assert_eq!(fast_micros("2026-02-29T10:00:00Z", true), None);
        assert_eq!(
            fast_micros("2026-02-28T23:59:59.5+03:00", true),
            Some(1_772_312_399_500_000)
        );
    }

    /// Where the fast path gives an instant, the expression path gives the
    /// same one; values it leaves to the expression path are marked.
    #[test]
    fn the_fast_path_agrees_with_the_expressions() {
        let values = [
            "2026-03-10T10:00:00Z",
            "2026-03-10t10:00:00z",
            "2026-03-10 13:00:00+03:00",
            "2026-03-10T13:00:00+0300",
            "2026-03-10T05:30:00-04:30",
            "2026-03-10T10:00:00.1234567Z",
            "2026-03-10T10:00:00.5+01:00",
            "2026-03-10T10:00:00",
            "2024-02-29T00:00:00Z",
            "2025-02-29T00:00:00Z",
            "2026-13-10T10:00:00Z",
            "2026-03-10T24:00:00Z",
            "2026-03-10T10:00:60Z",
            "2026-03-10T10:00:00.Z",
            "2026-03-10T10:00:00+24:00",
            "2026-03-10T10:00:00+03:60",
            "2026-03-10T10:00:00+3:00",
            "0999-03-10T10:00:00Z",
            "٢٠٢٦-03-10T10:00:00Z",
            "1773136800",
            "1773136800123",
            "177313680",
            "17731368000",
            "0000000000",
        ];
        for tz in ["UTC", "America/New_York"] {
            let slow = parse_all(&values, tz);
            for (value, (expected, _)) in values.iter().zip(slow) {
                if let Some(fast) = fast_micros(value, tz == "UTC") {
                    assert_eq!(Some(fast), expected, "{value} in {tz}");
                }
            }
        }
        assert_eq!(fast_micros("2026-03-10T10:00:00Z", false), Some(T));
        assert_eq!(fast_micros("2026-03-10T10:00:00", true), Some(T));
        assert_eq!(fast_micros("2026-03-10T10:00:00", false), None);
        assert_eq!(fast_micros("2026-03-10T10:00:60Z", true), None);
        assert_eq!(fast_micros("1773136800", false), Some(T));
    }

    fn parse_all(values: &[&str], tz: &str) -> Vec<(Option<i64>, bool)> {
        let frame = df!("raw" => values).unwrap();
        let parsed = parse(col("raw"), tz).unwrap();
        let out = frame
            .lazy()
            .select([parsed.micros.alias("us"), parsed.in_dst_gap.alias("gap")])
            .collect()
            .unwrap();
        let us = out.column("us").unwrap().i64().unwrap().clone();
        let gap = out.column("gap").unwrap().bool().unwrap().clone();
        us.iter()
            .zip(gap.iter())
            .map(|(u, g)| (u, g.unwrap_or(false)))
            .collect()
    }

    const T: i64 = 1_773_136_800_000_000; // 2026-03-10T10:00:00Z

    #[test]
    fn every_accepted_spelling_of_one_instant() {
        let values = [
            "2026-03-10T10:00:00Z",
            "2026-03-10t10:00:00z",
            "2026-03-10 13:00:00+03:00",
            "2026-03-10T13:00:00+0300",
            "2026-03-10T07:30:00-02:30",
            "2026-03-10T10:00:00.000000000Z",
            "1773136800",
            "1773136800000",
            "2026-03-10T10:00:00",
        ];
        for (value, (us, _)) in values.iter().zip(parse_all(&values, "UTC")) {
            assert_eq!(us, Some(T), "{value}");
        }
    }

    #[test]
    fn fractions_are_kept_to_the_microsecond() {
        let got = parse_all(
            &["2026-03-10T10:00:00.1234567Z", "2026-03-10T10:00:00.5Z"],
            "UTC",
        );
        assert_eq!(got[0].0, Some(T + 123_456));
        assert_eq!(got[1].0, Some(T + 500_000));
    }

    #[test]
    fn malformed_values_are_null() {
        let values = [
            "2026-13-10T10:00:00Z",
            "2026-03-10",
            "177313680",
            "-1773136800",
            "17731368000",
            "2026-03-10T10:00:00+24:00",
            "yesterday",
        ];
        for (value, (us, _)) in values.iter().zip(parse_all(&values, "UTC")) {
            assert_eq!(us, None, "{value}");
        }
    }

    #[test]
    fn naive_times_use_the_input_zone_and_dst_rules() {
        let got = parse_all(
            &[
                "2026-03-10T13:00:00", // Riyadh, UTC+3, no DST
            ],
            "Asia/Riyadh",
        );
        assert_eq!(got[0].0, Some(T));
        // Berlin 2026-03-29 02:30 does not exist; 2026-10-25 02:30 happens twice.
        let got = parse_all(
            &["2026-03-29T02:30:00", "2026-10-25T02:30:00"],
            "Europe/Berlin",
        );
        assert_eq!(got[0], (None, true));
        assert_eq!(got[1].0, Some(1_792_888_200_000_000)); // 00:30Z, the earlier (CEST) instant
    }

    proptest::proptest! {
        /// Random text, and text shaped almost like a timestamp, parses to
        /// an instant or to null (a rejected row): never an error or a
        /// panic, in UTC or a zone with DST (issue 7).
        #[test]
        fn random_text_parses_or_is_null(
            text in "\\PC{0,40}",
            near in "[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,12})?([Zz]|[+-][0-9]{2}:?[0-9]{2})?",
            digits in "-?[0-9]{0,20}",
        ) {
            for tz in ["UTC", "America/New_York"] {
                let values = [text.as_str(), near.as_str(), digits.as_str()];
                let parsed = parse_all(&values, tz);
                proptest::prop_assert_eq!(parsed.len(), 3);
                // The fast path never disagrees with the expressions.
                for (value, (expected, _)) in values.iter().zip(&parsed) {
                    if let Some(fast) = fast_micros(value, tz == "UTC") {
                        proptest::prop_assert_eq!(Some(fast), *expected, "{}", value);
                    }
                }
            }
        }
    }
}
