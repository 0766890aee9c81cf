//! Volume tiers (docs/pricing.md "Volume tiers"): the tiers a rate card
//! row may carry, how a card's tiers are checked, and which tier the n-th
//! message of a month falls in.
//!
//! Meta prices utility and authentication templates "like tax brackets":
//! message n of a (portfolio, market, rate category, billing month) is
//! priced at the tier that contains n. A card writes a tier in Meta's
//! notation `LOWER:UPPER` (`0:100000`, `100001:1000000`, `1000001:MAX`); a
//! lower bound of 0 means 1. A row without a tier, or with `0:MAX`, is an
//! ordinary rate: the `tier` column of `sends` stays empty for it.

use crate::bad_input;

/// Categories whose rates may come in tiers (§9).
pub const TIERED_CATEGORIES: [&str; 3] =
    ["utility", "authentication", "authentication_international"];

/// One tier of a rate: messages `lower..=upper` of a month (`upper` `None`
/// is MAX).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tier {
    pub lower: u64,
    pub upper: Option<u64>,
    pub nanos: i64,
    /// As the card wrote it, `MAX` in capitals: what `sends.tier` says.
    pub notation: String,
    /// `file:line`.
    pub source: String,
}

impl Tier {
    fn contains(&self, n: u64) -> bool {
        self.lower <= n && self.upper.is_none_or(|upper| n <= upper)
    }

    fn covers_everything(&self) -> bool {
        self.lower == 1 && self.upper.is_none()
    }
}

/// The bounds of a tier cell: `None` for an empty cell. `0:MAX` is
/// returned as it is (callers treat a lone tier over everything as no
/// tier).
pub fn parse_tier(cell: &str, source: &str) -> anyhow::Result<Option<(u64, Option<u64>, String)>> {
    let cell = cell.trim();
    if cell.is_empty() {
        return Ok(None);
    }
    let bad = || {
        bad_input!(
            "{source}: tier {cell:?} is not LOWER:UPPER; write it as Meta does, e.g. 0:100000, 100001:1000000, 1000001:MAX"
        )
    };
    let (lower, upper) = cell.split_once(':').ok_or_else(bad)?;
    let lower: u64 = lower.trim().parse().map_err(|_| bad())?;
    let upper = match upper.trim() {
        max if max.eq_ignore_ascii_case("max") => None,
        number => Some(number.parse::<u64>().map_err(|_| bad())?),
    };
    let lower = lower.max(1);
    if upper.is_some_and(|upper| upper < lower) {
        return Err(bad_input!("{source}: tier {cell:?} ends before it starts"));
    }
    let notation = match upper {
        None => format!("{}:MAX", cell.split_once(':').map_or("", |(l, _)| l.trim())),
        Some(_) => cell.replace(' ', ""),
    };
    Ok(Some((lower, upper, notation)))
}

/// Checks the tiers of one (market, category, effective date) of a card
/// and puts them in order: they must cover 1 … MAX with no gap and no
/// overlap, and only [`TIERED_CATEGORIES`] may have more than one.
/// Returns no tiers when the one tier covers everything.
pub fn checked_tiers(
    mut tiers: Vec<Tier>,
    what: &str,
    category: &str,
) -> anyhow::Result<Vec<Tier>> {
    tiers.sort_by_key(|t| (t.lower, t.upper.unwrap_or(u64::MAX)));
    if let [only] = tiers.as_slice() {
        if only.covers_everything() {
            return Ok(Vec::new());
        }
    }
    if !TIERED_CATEGORIES.contains(&category) {
        return Err(bad_input!(
            "{}: {what} has volume tiers, but only {} rates have them (Meta prices {category} at one rate); remove the tier column's value or the extra rows",
            tiers[0].source,
            TIERED_CATEGORIES.join(", ")
        ));
    }
    let mut next = Some(1u64);
    for (i, tier) in tiers.iter().enumerate() {
        let Some(expected) = next else {
            return Err(bad_input!(
                "{}: tier {} of {what} overlaps tier {} ({}), which already runs to MAX",
                tier.source,
                tier.notation,
                tiers[i - 1].notation,
                tiers[i - 1].source
            ));
        };
        if tier.lower > expected {
            return Err(bad_input!(
                "{}: the tiers of {what} leave messages {expected} to {} without a rate; tiers must follow each other (LOWER = the UPPER before + 1)",
                tier.source,
                tier.lower - 1
            ));
        }
        if tier.lower < expected {
            return Err(bad_input!(
                "{}: tier {} of {what} overlaps tier {} ({}); each message count may fall in one tier only",
                tier.source,
                tier.notation,
                tiers[i - 1].notation,
                tiers[i - 1].source
            ));
        }
        next = tier.upper.map(|upper| upper + 1);
    }
    if let (Some(after), Some(last)) = (next, tiers.last()) {
        return Err(bad_input!(
            "{}: the tiers of {what} stop at {}; the last tier must run to MAX (e.g. {after}:MAX)",
            last.source,
            after - 1
        ));
    }
    Ok(tiers)
}

/// The lower bound of a tier in Meta's notation (`100001:1000000` →
/// 100001), to put tiers in the order of their bounds, not of their text.
pub fn lower_bound(tier: polars::prelude::Expr) -> polars::prelude::Expr {
    use polars::prelude::*;
    tier.str()
        .extract(lit(r"^\s*(\d+)"), 1)
        .cast(DataType::UInt64)
}

/// The tier of `tiers` that holds message `n` (1-based) of a month.
pub fn tier_of(tiers: &[Tier], n: u64) -> Option<&Tier> {
    tiers.iter().find(|t| t.contains(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tier(cell: &str, line: u32) -> Tier {
        let (lower, upper, notation) = parse_tier(cell, "t.csv").unwrap().unwrap();
        Tier {
            lower,
            upper,
            nanos: i64::from(line),
            notation,
            source: format!("t.csv:{line}"),
        }
    }

    #[test]
    fn brackets_are_found_by_count() {
        let tiers = checked_tiers(
            vec![
                tier("1000001:max", 4),
                tier("0:100000", 2),
                tier("100001:1000000", 3),
            ],
            "utility for India",
            "utility",
        )
        .unwrap();
        let at = |n| tier_of(&tiers, n).unwrap().notation.clone();
        assert_eq!(at(1), "0:100000");
        assert_eq!(at(100_000), "0:100000");
        assert_eq!(at(100_001), "100001:1000000");
        assert_eq!(at(5_000_000), "1000001:MAX");
    }

    #[test]
    fn one_tier_over_everything_is_no_tier() {
        assert!(checked_tiers(vec![tier("0:MAX", 2)], "m", "marketing")
            .unwrap()
            .is_empty());
    }

    #[test]
    fn gaps_overlaps_open_ends_and_marketing_tiers_are_refused() {
        let err = |tiers: Vec<Tier>, category: &str| {
            checked_tiers(tiers, "x", category).unwrap_err().to_string()
        };
        let gap = err(vec![tier("0:100", 2), tier("102:MAX", 3)], "utility");
        assert!(
            gap.contains("t.csv:3") && gap.contains("101 to 101"),
            "{gap}"
        );
        let overlap = err(vec![tier("0:100", 2), tier("100:MAX", 3)], "utility");
        assert!(
            overlap.contains("overlaps") && overlap.contains("t.csv:2"),
            "{overlap}"
        );
        let open = err(vec![tier("0:100", 2), tier("101:200", 3)], "utility");
        assert!(open.contains("must run to MAX"), "{open}");
        let marketing = err(vec![tier("0:100", 2), tier("101:MAX", 3)], "marketing");
        assert!(marketing.contains("only utility"), "{marketing}");
        assert!(parse_tier("100:50", "t.csv").is_err());
        assert!(parse_tier("a:b", "t.csv").is_err());
    }
}
