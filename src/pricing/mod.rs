//! Classified messages → what each outbound message costs, and why.
//!
//! Adds to every outbound row (docs §5, §8.10, §8.16–§8.22):
//! `regime` (by the message's date in the billing time zone, or forced),
//! `market`, `pricing_rule`, `cost`, `currency`, `avoidable_cost` and
//! `rate_effective_from`. Money is Int64 nano-units (`money`). Under
//! conversation-based pricing (`cbp`, §11) the price is the conversation's:
//! [`conversations`] decides which message opened which conversation, and
//! the rules here charge the opening message.
//!
//! Rates are looked up once per distinct (country, category, date), not per
//! message, and joined back; a charged message without a rate stops the run
//! naming market, category and date unless `--allow-unpriced`.

pub mod accounts;
pub mod card;
pub mod conversations;
pub mod money;
pub mod tiers;

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Result;
use chrono::NaiveDate;
use chrono_tz::Tz;
use polars::prelude::*;

use crate::bad_input;
use crate::frames::ffill;
use crate::schema::*;
use crate::windows::{ANSWERS, PAIR_ID, TS_US};
use accounts::Accounts;
use card::RateBook;

/// A free entry point window lasts 72 h from the reply (§5.2, §8.16).
pub const FEP_US: i64 = 72 * 3600 * 1_000_000;

/// Meta's pricing regimes (§5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Regime {
    /// Conversation-based pricing, 2023-06-01 … 2025-06-30
    /// (`conversations`).
    Cbp,
    /// Per-message pricing, 2025-07-01 … 2026-09-30.
    Pmp2025,
    /// Per-message pricing with paid service messages, from 2026-10-01.
    Pmp202610,
}

impl Regime {
    pub fn name(self) -> &'static str {
        match self {
            Regime::Cbp => "cbp",
            Regime::Pmp2025 => "pmp-2025",
            Regime::Pmp202610 => "pmp-2026-10",
        }
    }
}

/// The regime of rows before 2023-06-01 (user- and business-initiated
/// conversations): not priced, rule `unpriced_regime` (§8.19).
pub const CBP_2022: &str = "cbp-2022";

/// The first day of each regime (in the billing time zone).
fn cbp_start() -> NaiveDate {
    ymd(2023, 6, 1)
}
fn pmp_2025_start() -> NaiveDate {
    ymd(2025, 7, 1)
}
fn pmp_2026_10_start() -> NaiveDate {
    ymd(2026, 10, 1)
}
/// From this day service conversations are free (`cbp`).
fn free_service_start() -> NaiveDate {
    ymd(2024, 11, 1)
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

/// How to price a run.
#[derive(Debug, Clone)]
pub struct PricingParams {
    pub billing_tz: Tz,
    /// `--regime`: price every message under this regime (a what-if).
    pub regime: Option<Regime>,
    /// `--rates-as-of`: use the cards and markets in force on this date.
    pub rates_as_of: Option<NaiveDate>,
    pub allow_unpriced: bool,
    pub service_free_tier: u64,
    /// The card category an `unknown` template is priced as.
    pub unknown_category_as: &'static str,
    /// `--accounts`: accounts, portfolios, countries and time zones of the
    /// business numbers (`accounts`).
    pub accounts: Option<Arc<Accounts>>,
}

impl PricingParams {
    pub fn is_what_if(&self) -> bool {
        self.regime.is_some() || self.rates_as_of.is_some()
    }
}

/// Output columns added by [`price`].
pub const REGIME: &str = "regime";
pub const MARKET: &str = "market";
pub const PRICING_RULE: &str = "pricing_rule";
pub const COST: &str = "cost_nanos";
pub const CURRENCY: &str = "currency";
pub const AVOIDABLE: &str = "avoidable_nanos";
/// What answering the lapsed window in time would have saved on a
/// `template_late_reply` row: its cost minus what a free-form reply at that
/// moment would have cost (as the avoidable cost is reckoned); 0 on other
/// rows.
pub const ANSWERING_SAVES: &str = "answering_saves_nanos";
pub const RATE_FROM: &str = "rate_effective_from";
pub const IN_FEP: &str = "in_free_entry_point";
pub const BILLING_MONTH: &str = "billing_month";
/// The card category the price was taken for, after authentication-
/// international is decided (§10).
pub const RATE_CATEGORY: &str = "rate_category";
/// The volume tier that priced the row, in Meta's notation (§9).
pub const TIER: &str = "tier";
pub const PRICE_DATE: &str = "price_date";
const PRICE_CATEGORY: &str = "price_category";
/// Per row, from the accounts file (`accounts`): the portfolio, the
/// account's country, its authentication-international start (µs) and
/// which of [`billing_zones`] bills it.
pub const PORTFOLIO: &str = "_portfolio";
/// The WABA of a row's business number (§12; the number itself by
/// default): the `cbp` service free tier counts per account.
pub const ACCOUNT: &str = "_account";
const ACCOUNT_COUNTRY: &str = "_account_country";
const AUTH_INTL_FROM: &str = "_auth_international_from_us";
const ZONE: &str = "_billing_zone";

/// Prices the output of `classify` (sorted as `windows` sorts).
pub fn price(messages: DataFrame, book: &RateBook, params: &PricingParams) -> Result<DataFrame> {
    let zones = billing_zones(params);
    let billing_date = billing_date(&zones)?;
    let framed = with_accounts(with_free_entry_points(messages.lazy()), params, &zones)?
        .with_columns([
            billing_date.clone().alias("billing_date"),
            crate::frames::month_start(billing_date.clone()).alias(BILLING_MONTH),
            match params.rates_as_of {
                Some(d) => lit(d).cast(DataType::Date).alias(PRICE_DATE),
                None => billing_date.alias(PRICE_DATE),
            },
        ])
        .with_column(price_category(params.unknown_category_as).alias(PRICE_CATEGORY))
        .collect()?;
    let lookups = rate_lookups(&framed, book)?;
    let priced = framed
        .lazy()
        .join(
            lookups.lazy(),
            [col(COUNTRY), col(PRICE_CATEGORY), col(PRICE_DATE)],
            [col(COUNTRY), col(PRICE_CATEGORY), col(PRICE_DATE)],
            JoinArgs {
                maintain_order: MaintainOrderJoin::Left,
                ..JoinArgs::new(JoinType::Left)
            },
        )
        .with_column(regime_expr(params).alias(REGIME))
        .collect()?;
    let priced = conversations::with_conversations(priced)?;
    // Utility templates that joined a cbp conversation after the switch
    // are priced by it (§11); most runs have none, and keep their column.
    let priced = match crate::frames::count_true(&priced, conversations::JOINS_ACROSS_SWITCH)? {
        0 => priced.lazy(),
        _ => priced.lazy().with_column(
            when(col(conversations::JOINS_ACROSS_SWITCH))
                .then(lit(Regime::Cbp.name()))
                .otherwise(col(REGIME))
                .alias(REGIME),
        ),
    };
    let priced = with_service_tier(priced, params)?
        .with_column(pricing_rule().alias(PRICING_RULE))
        .collect()?;
    check_missing_rates(&priced, params)?;
    Ok(priced
        .lazy()
        .with_columns(money_columns())
        .with_column(lit(NULL).cast(DataType::String).alias(TIER))
        .collect()?)
}

/// The time zones that bill a run: `--billing-tz` first (numbers the
/// accounts file does not list), then each other zone the file names.
fn billing_zones(params: &PricingParams) -> Vec<Tz> {
    let mut zones = vec![params.billing_tz];
    for account in params.accounts.iter().flat_map(|a| a.by_number.values()) {
        if !zones.contains(&account.timezone) {
            zones.push(account.timezone);
        }
    }
    zones
}

/// A message's date where its account is billed (§12): one conversion
/// per zone of the run, the row's zone chosen by [`ZONE`].
fn billing_date(zones: &[Tz]) -> Result<Expr> {
    let date_in = |zone: &Tz| -> Result<Expr> {
        let zone = TimeZone::opt_try_new(Some(zone.name()))?.unwrap_or(TimeZone::UTC);
        Ok(col(TS).dt().convert_time_zone(zone).dt().date())
    };
    let mut date = date_in(&zones[0])?;
    for (i, zone) in zones.iter().enumerate().skip(1).rev() {
        date = when(col(ZONE).eq(lit(i as u32)))
            .then(date_in(zone)?)
            .otherwise(date);
    }
    Ok(date)
}

/// The accounts columns of every row ([`PORTFOLIO`] and the others),
/// joined by business number; numbers the file does not list get the
/// defaults (`accounts::default_account`).
fn with_accounts(messages: LazyFrame, params: &PricingParams, zones: &[Tz]) -> Result<LazyFrame> {
    let Some(accounts) = &params.accounts else {
        return Ok(messages.with_columns([
            col(BUSINESS_NUMBER).alias(ACCOUNT),
            lit(accounts::DEFAULT_PORTFOLIO).alias(PORTFOLIO),
            lit(NULL).cast(DataType::String).alias(ACCOUNT_COUNTRY),
            lit(NULL).cast(DataType::Int64).alias(AUTH_INTL_FROM),
            lit(0u32).alias(ZONE),
        ]));
    };
    let rows = accounts.by_number.iter();
    let table = df! {
        BUSINESS_NUMBER => rows.clone().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ACCOUNT => rows.clone().map(|(_, a)| a.account.as_str()).collect::<Vec<_>>(),
        PORTFOLIO => rows.clone().map(|(_, a)| a.portfolio.as_str()).collect::<Vec<_>>(),
        ACCOUNT_COUNTRY => rows.clone().map(|(_, a)| a.country.clone()).collect::<Vec<_>>(),
        AUTH_INTL_FROM => rows.clone().map(|(_, a)| a.auth_international_from_us).collect::<Vec<_>>(),
        ZONE => rows
            .map(|(_, a)| zones.iter().position(|z| *z == a.timezone).unwrap_or(0) as u32)
            .collect::<Vec<_>>(),
    }?;
    Ok(messages
        .join(
            table.lazy(),
            [col(BUSINESS_NUMBER)],
            [col(BUSINESS_NUMBER)],
            JoinArgs {
                maintain_order: MaintainOrderJoin::Left,
                ..JoinArgs::new(JoinType::Left)
            },
        )
        .with_columns([
            col(ACCOUNT).fill_null(col(BUSINESS_NUMBER)),
            col(PORTFOLIO).fill_null(lit(accounts::DEFAULT_PORTFOLIO)),
            col(ZONE).fill_null(lit(0u32)),
        ]))
}

/// `in_free_entry_point` (§5.2, §8.16): the first delivered business
/// message after an entry-point message, in the same customer service
/// window, opens 72 h in which everything sent to that contact is free; a
/// later answered entry point restarts the 72 h. Same technique as
/// `windows`: running sums and forward fills checked against the pair.
fn with_free_entry_points(messages: LazyFrame) -> LazyFrame {
    let null_i64 = || lit(NULL).cast(DataType::Int64);
    let running_answers = col(ANSWERS).cast(DataType::Int64).cum_sum(false);
    let entry = col(HAS_ENTRY_POINT).and(col(IN_WINDOW));
    let answers_at_entry = ffill(
        when(entry.clone())
            .then(running_answers.clone())
            .otherwise(null_i64()),
    );
    let window_of_entry = ffill(when(entry).then(col(WINDOW_ID)).otherwise(null_i64()));
    let opens_fep = col(ANSWERS)
        .and(window_of_entry.eq(col(WINDOW_ID)))
        .and(running_answers.eq(answers_at_entry + lit(1i64)))
        .fill_null(false);
    messages
        .with_column(opens_fep.alias(conversations::OPENS_FEP))
        .with_columns([
            ffill(
                when(col(conversations::OPENS_FEP))
                    .then(col(TS_US))
                    .otherwise(null_i64()),
            )
            .alias("fep_from"),
            ffill(
                when(col(conversations::OPENS_FEP))
                    .then(col(PAIR_ID))
                    .otherwise(null_i64()),
            )
            .alias("fep_pair"),
        ])
        .with_column(
            col(IS_INBOUND)
                .not()
                .and(col("fep_pair").eq(col(PAIR_ID)))
                .and((col(TS_US) - col("fep_from")).lt(lit(FEP_US)))
                .fill_null(false)
                .alias(IN_FEP),
        )
        .drop(cols(["fep_from", "fep_pair"]))
}

/// The card category that prices a row: the template's category (an
/// `unknown` one as configured), `service` for a non-template message; an
/// authentication template of an account based abroad, from its
/// `auth_international_from`, asks for `authentication_international`
/// (§10; whether the market has that rate is decided in [`rate_lookups`]).
fn price_category(unknown_as: &'static str) -> Expr {
    let category = when(col(CATEGORY).eq(lit("unknown")))
        .then(lit(unknown_as))
        .otherwise(col(CATEGORY));
    let abroad = col(ACCOUNT_COUNTRY)
        .neq(col(COUNTRY))
        .and(col(TS).cast(DataType::Int64).gt_eq(col(AUTH_INTL_FROM)))
        .fill_null(false);
    when(col(IS_INBOUND))
        .then(lit(NULL).cast(DataType::String))
        .when(col(IS_TEMPLATE).not())
        .then(lit("service"))
        .when(category.clone().eq(lit("authentication")).and(abroad))
        .then(lit(AUTH_INTL))
        .otherwise(category)
}

const AUTH_INTL: &str = "authentication_international";

fn regime_expr(params: &PricingParams) -> Expr {
    if let Some(regime) = params.regime {
        return when(col(IS_INBOUND))
            .then(lit(NULL).cast(DataType::String))
            .otherwise(lit(regime.name()));
    }
    let before = |date: NaiveDate| col("billing_date").lt(lit(date));
    crate::frames::text_case(
        vec![
            (col(IS_INBOUND), None),
            (before(cbp_start()), Some(CBP_2022)),
            (before(pmp_2025_start()), Some(Regime::Cbp.name())),
            (before(pmp_2026_10_start()), Some(Regime::Pmp2025.name())),
        ],
        Regime::Pmp202610.name(),
    )
}

/// One row per distinct (country, category, date) of an outbound message:
/// its market, rate, the market's service rate and the currency in force.
fn rate_lookups(framed: &DataFrame, book: &RateBook) -> Result<DataFrame> {
    let keys = framed
        .clone()
        .lazy()
        .filter(col(IS_INBOUND).not())
        .select([col(COUNTRY), col(PRICE_CATEGORY), col(PRICE_DATE)])
        .unique_stable(None, UniqueKeepStrategy::First)
        .collect()?;
    let countries = keys.column(COUNTRY)?.str()?.clone();
    let categories = keys.column(PRICE_CATEGORY)?.str()?.clone();
    let dates = keys.column(PRICE_DATE)?.date()?.clone();
    let mut out: BTreeMap<&str, Vec<Option<String>>> =
        [MARKET, "rate_currency", "currency_in_force"]
            .map(|c| (c, Vec::new()))
            .into();
    let (mut rate, mut service) = (Vec::new(), Vec::new());
    let (mut rate_from, mut rate_category) = (Vec::new(), Vec::new());
    for i in 0..keys.height() {
        let country = countries.get(i).unwrap_or(crate::country::UNKNOWN);
        let category = categories.get(i).unwrap_or("service");
        let day = dates
            .phys
            .get(i)
            .map(days_to_date)
            .unwrap_or(ymd(1970, 1, 1));
        let market = book.market_name(&book.market_of(country, day));
        // §10: authentication-international only where the market has
        // that rate on the day; else the domestic authentication rate.
        let category = match book.rate(&market, category, day) {
            None if category == AUTH_INTL => "authentication",
            _ => category,
        };
        let found = book.rate(&market, category, day);
        rate_category.push(category.to_string());
        rate.push(found.map(|r| r.nanos));
        rate_from.push(found.map(|r| r.effective_from));
        service.push(book.rate(&market, "service", day).map(|r| r.nanos));
        out.entry("rate_currency")
            .or_default()
            .push(found.map(|r| r.currency.clone()));
        out.entry("currency_in_force")
            .or_default()
            .push(Some(book.currency_in_force(&market, day)));
        out.entry(MARKET).or_default().push(Some(market));
    }
    let mut columns = vec![
        keys.column(COUNTRY)?.clone(),
        keys.column(PRICE_CATEGORY)?.clone(),
        keys.column(PRICE_DATE)?.clone(),
        Column::new("rate_nanos".into(), rate),
        Column::new("service_nanos".into(), service),
        Column::new(RATE_FROM.into(), rate_from),
        Column::new(RATE_CATEGORY.into(), rate_category),
    ];
    for (name, values) in out {
        columns.push(Column::new(name.into(), values));
    }
    Ok(DataFrame::new_infer_height(columns)?)
}

fn days_to_date(days: i32) -> NaiveDate {
    ymd(1970, 1, 1) + chrono::Days::new(days.max(0) as u64)
}

/// Marks the delivered service messages that are among the first
/// `free_tier` of their business number and billing month, in (timestamp,
/// message_id) order (§5.2 pmp-2026-10 free tier). Messages made free by a
/// free entry point do not use the tier (§8.16). Only the service rows are
/// sorted, on integer keys; the ids that fit in the tier are few (at most
/// `free_tier` per business and month) and are marked back by their row
/// (matching 1M rows' ids against them, hashing every id, took about a
/// quarter of this step).
fn with_service_tier(priced: LazyFrame, params: &PricingParams) -> Result<LazyFrame> {
    const ROW_IN_PART: &str = "_row_in_part";
    let mut priced = priced
        .with_column(is_service().alias(IS_SERVICE))
        .collect()?;
    let rows = priced
        .clone()
        .lazy()
        .with_row_index(ROW_IN_PART, None)
        .filter(col(IS_SERVICE));
    // Without an accounts file each number is its own account, and the
    // integer key sorts faster than the text.
    let (rows, group) = match params.accounts {
        None => (rows, BUSINESS_KEY),
        Some(_) => (rows.with_column(tier_group()), TIER_GROUP),
    };
    let free = first_in_tier(rows, group, params.service_free_tier, Some(ROW_IN_PART))
        .select([col(ROW_IN_PART)])
        .collect()?;
    // Every row of the tier is a service row (`is_service`).
    let mut in_tier = vec![false; priced.height()];
    for row in free.column(ROW_IN_PART)?.idx()?.into_no_null_iter() {
        in_tier[row as usize] = true;
    }
    priced.with_column(Column::new(IN_FREE_TIER.into(), in_tier))?;
    Ok(priced.lazy())
}

const IS_SERVICE: &str = "is_service";
const TIER_GROUP: &str = "_tier_group";

/// Who a free tier belongs to: the account under `cbp` (§11), the
/// business number under pmp-2026-10 (§5.2). A (group, billing month)
/// never mixes the two: both follow the account's billing date.
fn tier_group() -> Expr {
    when(col(REGIME).eq(lit(Regime::Cbp.name())))
        .then(col(ACCOUNT))
        .otherwise(col(BUSINESS_NUMBER))
        .alias(TIER_GROUP)
}
const IN_FREE_TIER: &str = "in_free_tier";

/// A delivered free-form reply in a window under pmp-2026-10: a service
/// message, free within the tier (§5.2) unless a free entry point already
/// made it free (§8.16).
///
/// Under `cbp` the tier counts service conversations opened before
/// 2024-11-01 (§11): their opening messages.
fn is_service() -> Expr {
    let pmp = col(REGIME)
        .eq(lit(Regime::Pmp202610.name()))
        .and(col(IS_INBOUND).not())
        .and(col(IS_TEMPLATE).not())
        .and(col(FAILED).not())
        .and(col(IN_WINDOW))
        .and(col(IN_FEP).not());
    let cbp = opens_service_conversation().and(col("billing_date").lt(lit(free_service_start())));
    pmp.or(cbp).fill_null(false)
}

fn opens_service_conversation() -> Expr {
    col(REGIME)
        .eq(lit(Regime::Cbp.name()))
        .and(col(conversations::OPENS_CONVERSATION))
        .and(col(conversations::CONVERSATION_CATEGORY).eq(lit("service")))
}

/// The service `rows` among the first `free_tier` of their business number
/// (`business`: its key or its text, which sort alike) and billing month,
/// in (timestamp, message_id) order, with their sort keys and the column
/// `carried`.
fn first_in_tier(
    rows: LazyFrame,
    business: &str,
    free_tier: u64,
    carried: Option<&str>,
) -> LazyFrame {
    let group_change = col(business)
        .neq_missing(col(business).shift(lit(1)))
        .or(col(BILLING_MONTH).neq_missing(col(BILLING_MONTH).shift(lit(1))));
    let order = [col(business), col(BILLING_MONTH), col(TS), col(MESSAGE_ID)];
    let mut kept = order.to_vec();
    kept.extend(carried.map(col));
    rows.select(kept)
        .sort_by_exprs(order, SortMultipleOptions::default())
        .with_row_index("seq", None)
        .with_column(
            (col("seq").cast(DataType::Int64)
                - ffill(
                    when(group_change)
                        .then(col("seq").cast(DataType::Int64))
                        .otherwise(lit(NULL).cast(DataType::Int64)),
                ))
            .lt(lit(free_tier.min(i64::MAX as u64) as i64))
            .alias("in_tier"),
        )
        .filter(col("in_tier"))
        .drop(cols(["seq", "in_tier"]))
}

/// A run prices each part on its own, then (`pipeline::settle`) fixes the free
/// tier, which spans the parts (a business number's service messages are
/// spread over them). A part's [`free_tier_rows`] are the only rows of it
/// that can be free in the run; [`free_tier_ids`] picks the free ones of
/// all parts' rows; [`with_free_ids`] reprices rows with them, which
/// changes the [`TIER_PRICED_COLUMNS`].
pub fn free_tier_rows(priced: &DataFrame) -> Result<DataFrame> {
    let kept: Vec<&str> = FREE_TIER_COLUMNS
        .into_iter()
        .filter(|c| priced.schema().contains(c))
        .collect();
    crate::frames::filtered(&priced.select(kept)?, col(IN_FREE_TIER))
}

/// What [`free_tier_ids`] and [`with_free_ids`] read of a part's free tier
/// rows (and [`missing_rates`] of the repriced ones), with the rows'
/// [`crate::rows::ROW`]. Every part keeps these rows until the run is
/// settled, and every part has a tier of its own: with every column they
/// were 0.33 GB of a 30M-row run's peak (3.14 GB against 2.81 GB, 120
/// parts), and they grow with the number of parts.
const FREE_TIER_COLUMNS: [&str; 28] = [
    crate::rows::ROW,
    MESSAGE_ID,
    BUSINESS_NUMBER,
    ACCOUNT,
    TS,
    BILLING_MONTH,
    "billing_date",
    PRICE_DATE,
    IS_INBOUND,
    IS_TEMPLATE,
    FAILED,
    IN_WINDOW,
    IN_FEP,
    CLASS,
    REGIME,
    MARKET,
    RATE_CATEGORY,
    conversations::OPENS_CONVERSATION,
    conversations::CONVERSATION_CATEGORY,
    conversations::CONVERSATION_OPEN_BEFORE,
    IS_SERVICE,
    IN_FREE_TIER,
    "rate_nanos",
    "service_nanos",
    "rate_currency",
    "currency_in_force",
    TIER,
    PRICING_RULE,
];

/// The columns the free tier and the volume tiers decide, with the id
/// they belong to.
pub const TIER_PRICED_COLUMNS: [&str; 7] = [
    MESSAGE_ID,
    PRICING_RULE,
    COST,
    AVOIDABLE,
    ANSWERING_SAVES,
    CURRENCY,
    TIER,
];

/// Whether a priced row counts towards volume tiers (§9): a charged
/// template of a tiered category, not under `cbp`.
fn counts_towards_tiers() -> Expr {
    let tiered = lit(Series::new("c".into(), tiers::TIERED_CATEGORIES)).implode(false);
    col(PRICING_RULE)
        .eq(lit("charged"))
        .and(col(REGIME).neq(lit(Regime::Cbp.name())))
        .and(col(RATE_CATEGORY).is_in(tiered, false))
        .fill_null(false)
}

/// The rows of a priced part that count towards volume tiers (§9): charged
/// templates of a tiered category, with what [`volume_tiered`] needs (and
/// the rows' [`crate::rows::ROW`], when the caller numbered them). None
/// when no card has tiers.
pub fn tier_counted_rows(priced: &DataFrame, book: &RateBook) -> Result<Option<DataFrame>> {
    if !book.has_tiers() {
        return Ok(None);
    }
    let counted = counts_towards_tiers();
    // The rows' places in their table, when the caller numbered them.
    let place = priced
        .schema()
        .contains(crate::rows::ROW)
        .then_some(crate::rows::ROW);
    Ok(Some(crate::frames::filtered(priced, counted)?.select(
        place.into_iter().chain([
            MESSAGE_ID,
            PORTFOLIO,
            MARKET,
            RATE_CATEGORY,
            BILLING_MONTH,
            TS,
            PRICE_DATE,
            CLASS,
            REGIME,
            "service_nanos",
            PRICING_RULE,
            CURRENCY,
        ]),
    )?))
}

/// The rows of [`tier_counted_rows`] (of every part) priced from a tiered
/// rate, with the [`TIER_PRICED_COLUMNS`] their tier gives them. Message
/// n of a (portfolio, market, rate category, billing month), in
/// (timestamp, message_id) order, is priced at the tier that holds n in
/// the card in force on its date: a card that changes mid-month changes
/// the price, not the count. The rows' [`crate::rows::ROW`] is kept.
pub fn volume_tiered(counted: DataFrame, book: &RateBook) -> Result<DataFrame> {
    let group = [PORTFOLIO, MARKET, RATE_CATEGORY, BILLING_MONTH];
    let mut order: Vec<&str> = group.to_vec();
    order.extend([TS, MESSAGE_ID]);
    let rows = counted.sort(order, SortMultipleOptions::default())?;
    let text = |c: &str| -> Result<StringChunked> { Ok(rows.column(c)?.str()?.clone()) };
    let (portfolio, market, category) = (text(PORTFOLIO)?, text(MARKET)?, text(RATE_CATEGORY)?);
    let month = rows.column(BILLING_MONTH)?.date()?.phys.clone();
    let mut counts = Vec::with_capacity(rows.height());
    let mut n = 0u64;
    for i in 0..rows.height() {
        let key = (
            portfolio.get(i),
            market.get(i),
            category.get(i),
            month.get(i),
        );
        let same_group = i > 0
            && key
                == (
                    portfolio.get(i - 1),
                    market.get(i - 1),
                    category.get(i - 1),
                    month.get(i - 1),
                );
        n = if same_group { n + 1 } else { 1 };
        counts.push(n);
    }
    priced_at_counts(&rows, &counts, book)
}

/// Rows of [`tier_counted_rows`] priced as message `counts[i]` of their
/// (portfolio, market, rate category, billing month): what
/// [`volume_tiered`] gives once it has counted them. A driver that counts
/// with window functions of its own (`pipeline::driven`) prices with it.
pub fn priced_at_counts(rows: &DataFrame, counts: &[u64], book: &RateBook) -> Result<DataFrame> {
    let text = |c: &str| -> Result<StringChunked> { Ok(rows.column(c)?.str()?.clone()) };
    let (market, category) = (text(MARKET)?, text(RATE_CATEGORY)?);
    let day = rows.column(PRICE_DATE)?.date()?.phys.clone();
    let (class, regime) = (text(CLASS)?, text(REGIME)?);
    let service = rows.column("service_nanos")?.i64()?.clone();
    let mut rates: BTreeMap<(&str, &str, i32), Option<&card::Rate>> = BTreeMap::new();
    let (mut keep, mut cost, mut tier) = (vec![], vec![], vec![]);
    let (mut avoidable, mut answering) = (vec![], vec![]);
    for (i, &n) in counts.iter().enumerate() {
        let (market, category) = (market.get(i).unwrap_or(""), category.get(i).unwrap_or(""));
        let day = day.get(i).unwrap_or(0);
        let rate = *rates
            .entry((market, category, day))
            .or_insert_with(|| book.rate(market, category, days_to_date(day)));
        let Some(found) = rate.and_then(|r| tiers::tier_of(&r.tiers, n)) else {
            continue;
        };
        let freeform = match regime.get(i) == Some(Regime::Pmp202610.name()) {
            true => service.get(i),
            false => Some(0),
        };
        let saving = |of: &str| match class.get(i) == Some(of) {
            true => freeform.map(|f| found.nanos - f),
            false => Some(0),
        };
        keep.push(i as IdxSize);
        cost.push(found.nanos);
        avoidable.push(saving("template_avoidable"));
        answering.push(saving("template_late_reply"));
        tier.push(found.notation.clone());
    }
    let kept = rows.take(&IdxCa::from_vec("i".into(), keep))?;
    let place = kept.column(crate::rows::ROW).ok().cloned();
    Ok(DataFrame::new_infer_height(
        place
            .into_iter()
            .chain([
                kept.column(MESSAGE_ID)?.clone(),
                kept.column(PRICING_RULE)?.clone(),
                Column::new(COST.into(), cost),
                Column::new(AVOIDABLE.into(), avoidable),
                Column::new(ANSWERING_SAVES.into(), answering),
                kept.column(CURRENCY)?.clone(),
                Column::new(TIER.into(), tier),
            ])
            .collect(),
    )?)
}

/// What a driver that settles the counters itself (`pipeline::driven`)
/// ranks: a service row's free-tier group ([`FREE_TIER_KEY`], ranked
/// within it and its billing month), and a tier-counted row's volume-tier
/// group ([`VOLUME_TIER_KEY`]), both in (timestamp, message_id) order;
/// null for rows that count in neither.
pub fn counter_keys(book: &RateBook) -> Vec<Expr> {
    let counted = counts_towards_tiers().and(lit(book.has_tiers()));
    let volume_group = concat_str(
        [
            col(PORTFOLIO),
            col(MARKET),
            col(RATE_CATEGORY),
            col(BILLING_MONTH).cast(DataType::String),
        ]
        .map(|c| c.fill_null(lit(""))),
        "\u{1f}",
        false,
    );
    vec![
        when(col(IS_SERVICE))
            .then(tier_group())
            .otherwise(lit(NULL).cast(DataType::String))
            .alias(FREE_TIER_KEY),
        when(counted)
            .then(volume_group)
            .otherwise(lit(NULL).cast(DataType::String))
            .alias(VOLUME_TIER_KEY),
    ]
}

pub const FREE_TIER_KEY: &str = "_free_tier_key";
pub const VOLUME_TIER_KEY: &str = "_volume_tier_key";

/// Rows priced by [`price`] (each part with its own free tier), with the
/// run's instead: `in_tier` says which of them are among the first
/// `--service-free-tier` of their [`FREE_TIER_KEY`] and billing month.
pub fn with_run_free_tier(priced: DataFrame, in_tier: Expr) -> Result<DataFrame> {
    Ok(priced
        .lazy()
        .with_column(
            col(IS_SERVICE)
                .and(in_tier.fill_null(false))
                .alias(IN_FREE_TIER),
        )
        .with_column(pricing_rule().alias(PRICING_RULE))
        .with_columns(money_columns())
        .collect()?)
}

/// The ids in the free tier of the run, from every part's [`free_tier_rows`].
pub fn free_tier_ids(candidates: Vec<DataFrame>, free_tier: u64) -> Result<DataFrame> {
    if candidates.is_empty() {
        return Ok(DataFrame::new_infer_height(vec![Column::new_empty(
            MESSAGE_ID.into(),
            &DataType::String,
        )])?);
    }
    let all = concat(
        candidates
            .into_iter()
            .map(IntoLazy::lazy)
            .collect::<Vec<_>>(),
        UnionArgs::default(),
    )?;
    Ok(
        first_in_tier(all.with_column(tier_group()), TIER_GROUP, free_tier, None)
            .select([col(MESSAGE_ID)])
            .collect()?,
    )
}

/// A part priced by [`price`], with the run's free tier instead of its own.
pub fn with_free_ids(priced: DataFrame, free: &DataFrame) -> Result<DataFrame> {
    let ids = free.column(MESSAGE_ID)?.as_materialized_series().clone();
    with_run_free_tier(
        priced,
        col(MESSAGE_ID).is_in(lit(ids).implode(false), false),
    )
}

/// §5.3 and the precedence of §8.10 (with §8.19 first).
fn pricing_rule() -> Expr {
    let regime = |r: Regime| col(REGIME).eq(lit(r.name()));
    crate::frames::text_case(
        vec![
            (col(IS_INBOUND), None),
            (col(REGIME).eq(lit(CBP_2022)), Some("unpriced_regime")),
            (col(FAILED), Some("failed_not_charged")),
            (
                col(CLASS).eq(lit("freeform_blocked")),
                Some("blocked_not_delivered"),
            ),
            // Under `cbp` the conversation decides: every message but its
            // first is `in_conversation`, in a free entry point one too (§11).
            (
                regime(Regime::Cbp).and(col(conversations::OPENS_CONVERSATION).not()),
                Some("in_conversation"),
            ),
            (col(IN_FEP), Some("free_entry_point")),
            (
                opens_service_conversation()
                    .and(col("billing_date").gt_eq(lit(free_service_start()))),
                Some("free_service"),
            ),
            (
                regime(Regime::Pmp2025).and(col(IS_TEMPLATE).not()),
                Some("free_not_template"),
            ),
            (
                regime(Regime::Pmp2025)
                    .and(col(IN_WINDOW))
                    .and(col(RATE_CATEGORY).eq(lit("utility"))),
                Some("free_in_window_utility"),
            ),
            (col("in_free_tier"), Some("free_service_tier")),
            (col("rate_nanos").is_null(), Some("unpriced")),
        ],
        "charged",
    )
}

/// A needed rate that is missing stops the run (§5.1, §8.5) unless the user
/// allowed unpriced rows. Avoidable templates under pmp-2026-10 also need
/// the market's service rate (§5.4, §8.18).
/// Stops the run when a row needs a rate no card has (unless
/// `--allow-unpriced`), naming the first such market, category and date.
pub fn check_missing_rates(priced: &DataFrame, params: &PricingParams) -> Result<()> {
    report_missing_rates(missing_rates(priced)?, params)
}

/// The (market, category, date) combinations rows of `priced` need a rate
/// for and have none; the missing rates of a run are those of its parts.
pub fn missing_rates(priced: &DataFrame) -> Result<DataFrame> {
    let needs_service = col(CLASS)
        .eq(lit("template_avoidable"))
        .and(col(PRICING_RULE).eq(lit("charged")))
        .and(freeform_pays())
        .and(col("service_nanos").is_null());
    Ok(priced
        .clone()
        .lazy()
        .filter(
            col(PRICING_RULE)
                .eq(lit("unpriced"))
                .or(needs_service.clone())
                .fill_null(false),
        )
        .select([
            col(MARKET),
            when(needs_service)
                .then(lit("service"))
                .otherwise(col(RATE_CATEGORY))
                .alias("category"),
            col(PRICE_DATE),
        ])
        .unique_stable(None, UniqueKeepStrategy::First)
        .collect()?)
}

/// The error of [`check_missing_rates`] for the missing rates of a run.
pub fn report_missing_rates(missing: DataFrame, params: &PricingParams) -> Result<()> {
    let missing = missing
        .lazy()
        .unique_stable(None, UniqueKeepStrategy::First)
        .sort([PRICE_DATE, MARKET, "category"], Default::default())
        .collect()?;
    if missing.height() == 0 || params.allow_unpriced {
        return Ok(());
    }
    let market = missing.column(MARKET)?.str()?.get(0).unwrap_or("");
    let category = missing.column("category")?.str()?.get(0).unwrap_or("");
    let date = missing
        .column(PRICE_DATE)?
        .date()?
        .phys
        .get(0)
        .map(days_to_date);
    let conversation_hint = match date {
        Some(d) if d < pmp_2025_start() => "; before 2025-07-01 Meta priced conversations: pass the card of that period as well (for example --rates rates/meta-usd.csv --rates 2024-08-01=meta-cbp-usd.csv; rates/meta-usd-cbp.csv holds the few conversation rates this project could source)",
        _ => "",
    };
    Err(bad_input!(
        "no {category} rate for market {market} on {} ({} market/category/date combination(s) lack a rate); add the rate to your card (--rates), or pass --allow-unpriced to report such rows as unpriced{conversation_hint}",
        date.map_or("?".to_string(), |d| d.to_string()),
        missing.height()
    ))
}

/// Whether a free-form message at a row's moment would have cost the
/// market's service rate, the free tier ignored (§5.4, §11): always under
/// pmp-2026-10; under `cbp` when no conversation of the pair was open
/// (it would have opened a service one) before 2024-11-01.
fn freeform_pays() -> Expr {
    let cbp = col(REGIME)
        .eq(lit(Regime::Cbp.name()))
        .and(col(conversations::CONVERSATION_OPEN_BEFORE).not())
        .and(col("billing_date").lt(lit(free_service_start())));
    col(REGIME).eq(lit(Regime::Pmp202610.name())).or(cbp)
}

/// `cost_nanos`, `currency`, `avoidable_nanos` from the rule (§5.3, §5.4,
/// §8.17, §8.22).
fn money_columns() -> Vec<Expr> {
    let rule = col(PRICING_RULE);
    let unpriced = rule
        .clone()
        .eq(lit("unpriced"))
        .or(rule.clone().eq(lit("unpriced_regime")));
    let cost = when(rule.clone().eq(lit("charged")))
        .then(col("rate_nanos"))
        .when(unpriced.clone())
        .then(lit(NULL).cast(DataType::Int64))
        .otherwise(lit(0i64));
    let freeform_equivalent = when(
        rule.clone()
            .eq(lit("failed_not_charged"))
            .or(rule.clone().eq(lit("free_entry_point"))),
    )
    .then(lit(0i64))
    .when(freeform_pays())
    .then(col("service_nanos"))
    .otherwise(lit(0i64));
    let saving = |class: &str| {
        when(col(IS_INBOUND))
            .then(lit(NULL).cast(DataType::Int64))
            .when(col(CLASS).neq(lit(class)))
            .then(lit(0i64))
            .otherwise(cost.clone() - freeform_equivalent.clone())
    };
    let (avoidable, answering) = (saving("template_avoidable"), saving("template_late_reply"));
    let currency = when(col(IS_INBOUND))
        .then(lit(NULL).cast(DataType::String))
        .when(rule.eq(lit("charged")))
        .then(col("rate_currency"))
        .otherwise(col("currency_in_force"));
    vec![
        when(col(IS_INBOUND))
            .then(lit(NULL).cast(DataType::Int64))
            .otherwise(cost)
            .alias(COST),
        avoidable.alias(AVOIDABLE),
        answering.alias(ANSWERING_SAVES),
        currency.alias(CURRENCY),
    ]
}
