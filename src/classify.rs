//! The five classes of an outbound message (docs §4).
//!
//! Takes the output of `windows::reconstruct` and adds `class` to every
//! outbound row (inbound rows get null). The only rule that needs more than
//! the row's own window state is `template_late_reply`: a template outside
//! every window, after the pair's most recent window closed unanswered, that
//! is the first template since — where failed templates do not take that
//! place (§8.1). Counting "templates since the window closed" is a running
//! sum measured from the window's first row, because the rows that share a
//! `last_window_id` are contiguous after the sort.

use polars::prelude::*;

use crate::frames::ffill;
use crate::schema::*;
use crate::windows::WINDOW_START;

pub fn classify(messages: LazyFrame) -> LazyFrame {
    let outbound = col(IS_INBOUND).not();
    let outside_template = outbound
        .clone()
        .and(col(IS_TEMPLATE))
        .and(col(IN_WINDOW).not());
    let takes_first_place = outside_template
        .clone()
        .and(col(FAILED).not())
        .cast(DataType::Int64);
    let running = takes_first_place.clone().cum_sum(false);
    let base = ffill(
        when(col(WINDOW_START))
            .then(running.clone())
            .otherwise(lit(NULL).cast(DataType::Int64)),
    );
    let earlier_templates = running - takes_first_place - base;
    let late_reply = outside_template
        .and(col(LAST_WINDOW_ID).is_not_null())
        .and(col(LAST_WINDOW_ANSWERED).not())
        .and(earlier_templates.eq(lit(0i64)))
        .fill_null(false);
    let class = crate::frames::text_case(
        vec![
            (col(IS_INBOUND), None),
            (
                col(IS_TEMPLATE).not().and(col(IN_WINDOW)),
                Some("freeform_in_window"),
            ),
            (col(IS_TEMPLATE).not(), Some("freeform_blocked")),
            (col(IN_WINDOW), Some("template_avoidable")),
            (late_reply, Some("template_late_reply")),
        ],
        "template_needed",
    );
    messages.with_column(class.alias(CLASS))
}
