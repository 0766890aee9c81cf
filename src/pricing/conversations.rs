//! Conversation-based pricing (`cbp`, docs/pricing.md "Conversations"):
//! the 24-hour conversations Meta billed from 2023-06-01 to 2025-06-30,
//! rebuilt per (business number, contact) pair.
//!
//! One linear pass over the rows in `windows`' order (pair, time, inbound
//! first, id). A pair has at most one open conversation per category plus
//! a free entry point one, so its state is a handful of entries: a loop
//! over column slices says it more plainly than window expressions, and
//! is skipped when no row of the part is priced under `cbp`.
//!
//! What the pass decides per row:
//! - which conversation the row opened or joined ([`CONVERSATION_NO`],
//!   numbered 1.. in pair and time order within the frame; the chain
//!   offsets them across parts as it does window ids);
//! - the conversation's category and expiry, and whether the row opened
//!   it ([`OPENS_CONVERSATION`]); on the opening row, when the
//!   conversation ended and how many messages it holds;
//! - whether any conversation of the pair was open just before the row
//!   ([`CONVERSATION_OPEN_BEFORE`]: a free-form message then would have
//!   cost nothing, for the avoidable cost);
//! - after the switch to per-message pricing, whether a utility template
//!   joined a `cbp` utility conversation still open ([`JOINS_ACROSS_SWITCH`]).

use anyhow::Result;
use polars::prelude::*;

use crate::schema::*;
use crate::windows::{DAY_US, PAIR_ID, TS_US};

use super::{Regime, FEP_US, RATE_CATEGORY, REGIME};

/// The conversation a row opened or joined (null outside `cbp`).
pub const CONVERSATION_NO: &str = "conversation_no";
/// The id of the message that opened the row's conversation: what outputs
/// call `conversation_id` (stable across runs, parts and `--continue-from`).
pub const CONVERSATION_OPENER: &str = "conversation_opener";
pub const OPENS_CONVERSATION: &str = "opens_conversation";
/// On every row of a conversation: its category (`marketing`, `utility`,
/// `authentication`, `authentication_international`, `service` or
/// `free_entry_point`) and when it expires, in µs (opened + 24 h, or 72 h).
pub const CONVERSATION_CATEGORY: &str = "conversation_category";
pub const CONVERSATION_EXPIRES_US: &str = "conversation_expires_us";
/// On the opening row: when the conversation ended, in µs (its expiry, or
/// the free entry point conversation that closed it).
pub const CONVERSATION_ENDS_US: &str = "conversation_ends_us";
/// On the opening row: how many messages the conversation holds.
pub const CONVERSATION_MESSAGES: &str = "conversation_messages";
pub const CONVERSATION_OPEN_BEFORE: &str = "conversation_open_before";
pub const JOINS_ACROSS_SWITCH: &str = "joins_across_switch";
/// Set by `with_free_entry_points`: the reply that opens a free entry
/// point window (and, under `cbp`, a free entry point conversation).
pub const OPENS_FEP: &str = "opens_fep";

/// The category of a free entry point conversation.
pub const FREE_ENTRY_POINT: &str = "free_entry_point";

/// An open conversation of the pair being walked.
#[derive(Clone)]
struct Open<'a> {
    no: i64,
    /// Borrowed from the frame's `rate_category` (or a constant): no
    /// allocation per row.
    category: &'a str,
    expires_us: i64,
    opener: usize,
}

/// What the pass writes, one entry per row.
struct Columns<'a> {
    no: Vec<Option<i64>>,
    opener: Vec<Option<IdxSize>>,
    opens: Vec<bool>,
    category: Vec<Option<&'a str>>,
    expires_us: Vec<Option<i64>>,
    ends_us: Vec<Option<i64>>,
    messages: Vec<Option<u32>>,
    open_before: Vec<bool>,
    across_switch: Vec<bool>,
}

impl<'a> Columns<'a> {
    fn new(height: usize) -> Self {
        Columns {
            no: vec![None; height],
            opener: vec![None; height],
            opens: vec![false; height],
            category: vec![None; height],
            expires_us: vec![None; height],
            ends_us: vec![None; height],
            messages: vec![None; height],
            open_before: vec![false; height],
            across_switch: vec![false; height],
        }
    }

    fn open(&mut self, row: usize, conversation: &Open<'a>) {
        self.opens[row] = true;
        self.messages[row] = Some(0);
        self.join(row, conversation);
    }

    fn join(&mut self, row: usize, conversation: &Open<'a>) {
        self.no[row] = Some(conversation.no);
        self.opener[row] = Some(conversation.opener as IdxSize);
        self.category[row] = Some(conversation.category);
        self.expires_us[row] = Some(conversation.expires_us);
        if let Some(n) = &mut self.messages[conversation.opener] {
            *n += 1;
        }
    }

    fn end(&mut self, conversation: &Open<'a>, at_us: i64) {
        self.ends_us[conversation.opener] = Some(at_us.min(conversation.expires_us));
    }
}

/// The state of one pair: its open conversations in the order they
/// opened, and its free entry point conversation.
#[derive(Default)]
struct Pair<'a> {
    open: Vec<Open<'a>>,
    fep: Option<Open<'a>>,
}

impl<'a> Pair<'a> {
    /// Ends the conversations that expired at or before `t` (half-open).
    fn expire(&mut self, t: i64, out: &mut Columns<'a>) {
        self.open.retain(|c| {
            let open = c.expires_us > t;
            if !open {
                out.end(c, c.expires_us);
            }
            open
        });
        if let Some(fep) = self.fep.take_if(|c| c.expires_us <= t) {
            out.end(&fep, fep.expires_us);
        }
    }

    /// Ends every open conversation at `t` (a free entry point opened, or
    /// the pair's rows ended: then at their expiry).
    fn close_all(&mut self, t: i64, out: &mut Columns<'a>) {
        for c in self.open.drain(..).chain(self.fep.take()) {
            out.end(&c, t);
        }
    }

    fn any_open(&self) -> bool {
        !self.open.is_empty() || self.fep.is_some()
    }
}

/// Adds the columns of the module docs to `messages` (sorted as
/// `windows` sorts, with `regime`, `rate_category` and [`OPENS_FEP`]).
pub fn with_conversations(messages: DataFrame) -> Result<DataFrame> {
    let regime = messages.column(REGIME)?.str()?;
    let columns = match regime.iter().any(|r| r == Some(Regime::Cbp.name())) {
        true => {
            let ids = messages.column(MESSAGE_ID)?.clone();
            walk(&messages)?.into_columns(&ids)?
        }
        false => no_conversations(messages.height()),
    };
    let mut messages = messages;
    for column in columns {
        messages.with_column(column)?;
    }
    Ok(messages)
}

impl Columns<'_> {
    /// The pass's columns; `ids` are the frame's message ids.
    fn into_columns(self, ids: &Column) -> Result<Vec<Column>> {
        let openers = IdxCa::from_iter_options("".into(), self.opener.into_iter());
        let opener_ids = ids.take(&openers)?.with_name(CONVERSATION_OPENER.into());
        Ok(vec![
            Column::new(CONVERSATION_NO.into(), self.no),
            opener_ids,
            Column::new(OPENS_CONVERSATION.into(), self.opens),
            Column::new(CONVERSATION_CATEGORY.into(), self.category),
            Column::new(CONVERSATION_EXPIRES_US.into(), self.expires_us),
            Column::new(CONVERSATION_ENDS_US.into(), self.ends_us),
            Column::new(CONVERSATION_MESSAGES.into(), self.messages),
            Column::new(CONVERSATION_OPEN_BEFORE.into(), self.open_before),
            Column::new(JOINS_ACROSS_SWITCH.into(), self.across_switch),
        ])
    }
}

/// The columns of a frame with no `cbp` row: nulls and `false`s.
fn no_conversations(height: usize) -> Vec<Column> {
    let null = |name: &str, dtype: DataType| Column::full_null(name.into(), height, &dtype);
    let no = |name: &str| Column::new_scalar(name.into(), Scalar::from(false), height);
    vec![
        null(CONVERSATION_NO, DataType::Int64),
        null(CONVERSATION_OPENER, DataType::String),
        no(OPENS_CONVERSATION),
        null(CONVERSATION_CATEGORY, DataType::String),
        null(CONVERSATION_EXPIRES_US, DataType::Int64),
        null(CONVERSATION_ENDS_US, DataType::Int64),
        null(CONVERSATION_MESSAGES, DataType::UInt32),
        no(CONVERSATION_OPEN_BEFORE),
        no(JOINS_ACROSS_SWITCH),
    ]
}

/// The pass itself: rows of each pair in order, state reset at each new
/// pair.
fn walk(messages: &DataFrame) -> Result<Columns<'_>> {
    let height = messages.height();
    let pair = messages.column(PAIR_ID)?.i64()?;
    let ts = messages.column(TS_US)?.i64()?;
    let flag =
        |name: &str| -> Result<BooleanChunked> { Ok(messages.column(name)?.bool()?.clone()) };
    let (inbound, template, failed, opens_fep) = (
        flag(IS_INBOUND)?,
        flag(IS_TEMPLATE)?,
        flag(FAILED)?,
        flag(OPENS_FEP)?,
    );
    let class = messages.column(CLASS)?.str()?;
    let category = messages.column(RATE_CATEGORY)?.str()?;
    let regime = messages.column(REGIME)?.str()?;
    let cbp = Regime::Cbp.name();

    let mut out = Columns::new(height);
    let mut state = Pair::default();
    let mut next_no = 1i64;
    let mut current_pair = None;
    for row in 0..height {
        let this_pair = pair.get(row);
        if this_pair != current_pair {
            state.close_all(i64::MAX, &mut out);
            current_pair = this_pair;
        }
        let delivered = inbound.get(row) == Some(false)
            && failed.get(row) != Some(true)
            && class.get(row) != Some("freeform_blocked");
        if !delivered {
            continue;
        }
        let t = ts.get(row).unwrap_or(i64::MIN);
        state.expire(t, &mut out);
        out.open_before[row] = state.any_open();
        let is_template = template.get(row) == Some(true);
        let rate_category = category.get(row).unwrap_or("service");
        if regime.get(row) != Some(cbp) {
            // After the switch only a utility template meets a conversation:
            // the cbp utility conversation of the pair, while it is open.
            if is_template && rate_category == "utility" {
                if let Some(open) = state.open.iter().find(|c| c.category == "utility") {
                    out.join(row, open);
                    out.across_switch[row] = true;
                }
            }
            continue;
        }
        let mut open_new = |category, length_us: i64| {
            let conversation = Open {
                no: next_no,
                category,
                expires_us: t.saturating_add(length_us),
                opener: row,
            };
            next_no += 1;
            out.open(row, &conversation);
            conversation
        };
        if opens_fep.get(row) == Some(true) {
            let fep = open_new(FREE_ENTRY_POINT, FEP_US);
            state.close_all(t, &mut out);
            state.fep = Some(fep);
            continue;
        }
        // A free-form message joins the oldest open conversation (`open`
        // is in opening order); a template the open one of its category.
        let joined = match &state.fep {
            Some(fep) => Some(fep),
            None if is_template => state.open.iter().find(|c| c.category == rate_category),
            None => state.open.first(),
        };
        match joined {
            Some(conversation) => out.join(row, conversation),
            None => {
                let category = if is_template {
                    rate_category
                } else {
                    "service"
                };
                let opened = open_new(category, DAY_US);
                state.open.push(opened);
            }
        }
    }
    state.close_all(i64::MAX, &mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One pair's sorted rows: `(ts in hours, inbound, template, regime,
    /// rate category)`.
    fn frame(rows: &[(i64, bool, bool, &str, Option<&str>)]) -> DataFrame {
        let hour = 3_600_000_000i64;
        df!(
            MESSAGE_ID => (0..rows.len()).map(|i| format!("m{i}")).collect::<Vec<_>>(),
            PAIR_ID => vec![1i64; rows.len()],
            TS_US => rows.iter().map(|r| r.0 * hour).collect::<Vec<_>>(),
            IS_INBOUND => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            IS_TEMPLATE => rows.iter().map(|r| r.2).collect::<Vec<_>>(),
            FAILED => vec![false; rows.len()],
            OPENS_FEP => vec![false; rows.len()],
            CLASS => rows.iter().map(|r| (!r.1).then_some("template_needed")).collect::<Vec<_>>(),
            REGIME => rows.iter().map(|r| r.3).collect::<Vec<_>>(),
            RATE_CATEGORY => rows.iter().map(|r| r.4).collect::<Vec<_>>(),
        )
        .unwrap()
    }

    #[test]
    fn a_part_without_conversations_has_the_columns_of_one_with_them() {
        // Parts of one run are scanned as one table: same names, same types.
        let with = with_conversations(frame(&[(0, false, true, "cbp", Some("utility"))])).unwrap();
        let without =
            with_conversations(frame(&[(0, false, true, "pmp-2025", Some("utility"))])).unwrap();
        assert_eq!(with.schema(), without.schema());
        assert_eq!(
            with.column(CONVERSATION_NO).unwrap().i64().unwrap().get(0),
            Some(1)
        );
        assert_eq!(without.column(CONVERSATION_NO).unwrap().null_count(), 1);
    }

    #[test]
    fn a_conversation_counts_its_messages_and_ends_at_its_expiry() {
        let out = with_conversations(frame(&[
            (0, false, true, "cbp", Some("marketing")),
            (1, true, false, "cbp", None),
            (2, false, false, "cbp", Some("service")),
            (30, false, true, "cbp", Some("marketing")),
        ]))
        .unwrap();
        let no: Vec<Option<i64>> = out
            .column(CONVERSATION_NO)
            .unwrap()
            .i64()
            .unwrap()
            .iter()
            .collect();
        // The reply joins the open marketing conversation; 30 h later a
        // new one opens.
        assert_eq!(no, [Some(1), None, Some(1), Some(2)]);
        // Outputs name a conversation by the message that opened it.
        let openers: Vec<Option<&str>> = out
            .column(CONVERSATION_OPENER)
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .collect();
        assert_eq!(openers, [Some("m0"), None, Some("m0"), Some("m3")]);
        let messages: Vec<Option<u32>> = out
            .column(CONVERSATION_MESSAGES)
            .unwrap()
            .u32()
            .unwrap()
            .iter()
            .collect();
        assert_eq!(messages, [Some(2), None, None, Some(1)]);
        let ends = out
            .column(CONVERSATION_ENDS_US)
            .unwrap()
            .i64()
            .unwrap()
            .get(0);
        assert_eq!(ends, Some(24 * 3_600_000_000));
    }
}
