//! The vectorised window and class code against a plain per-pair loop
//! written from docs §3–§4, on random small logs full of the hard cases:
//! ties, gaps of exactly 24 h, outbound before any inbound, failed sends.

use std::collections::BTreeMap;

use proptest::prelude::*;
use tempfile::TempDir;

use window_ledger::config::{PricingRequest, Request, Settings};
use window_ledger::windows::WindowRule;

const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;
const T0: i64 = 1_773_100_800; // 2026-03-10T00:00:00Z

#[derive(Debug, Clone)]
struct Msg {
    id: String,
    contact: usize,
    business: usize,
    inbound: bool,
    template: bool,
    failed: bool,
    at: i64,
}

fn message() -> impl Strategy<Value = (usize, usize, bool, bool, bool, i64)> {
    (
        0..3usize,
        0..2usize,
        any::<bool>(),
        prop::bool::weighted(0.4),
        prop::bool::weighted(0.15),
        // Multiples of 6 h give many exact 24 h gaps; odd minutes give the rest.
        prop_oneof![
            (0..20i64).prop_map(|k| k * 6 * HOUR),
            (0..5000i64).prop_map(|m| m * 60)
        ],
    )
}

fn logs() -> impl Strategy<Value = Vec<Msg>> {
    prop::collection::vec(message(), 1..40).prop_map(|raw| {
        raw.into_iter()
            .enumerate()
            .map(
                |(i, (contact, business, inbound, template, failed, offset))| Msg {
                    id: format!("w{i:03}"),
                    contact,
                    business,
                    inbound,
                    template: template && !inbound,
                    failed: failed && !inbound,
                    at: T0 + offset,
                },
            )
            .collect()
    })
}

/// docs §3–§4 as a loop over one pair's messages in order.
fn reference(messages: &[Msg], any_message: bool) -> BTreeMap<String, (String, bool)> {
    let mut pairs: BTreeMap<(usize, usize), Vec<&Msg>> = BTreeMap::new();
    for m in messages {
        pairs.entry((m.business, m.contact)).or_default().push(m);
    }
    let mut classes = BTreeMap::new();
    for (_, mut pair) in pairs {
        pair.sort_by(|a, b| (a.at, !a.inbound, &a.id).cmp(&(b.at, !b.inbound, &b.id)));
        let mut closes_at: Option<i64> = None;
        let mut answered = false;
        let mut late_slot_free = false;
        for m in pair {
            let open = closes_at.is_some_and(|c| m.at < c);
            if m.inbound {
                if !open {
                    answered = false;
                    late_slot_free = true;
                }
                closes_at = Some(m.at + DAY);
                continue;
            }
            let class = match (m.template, open) {
                (false, true) => "freeform_in_window",
                (false, false) => "freeform_blocked",
                (true, true) => "template_avoidable",
                (true, false) if closes_at.is_some() && !answered && late_slot_free => {
                    if !m.failed {
                        late_slot_free = false;
                    }
                    "template_late_reply"
                }
                (true, false) => {
                    if !m.failed && closes_at.is_some() {
                        late_slot_free = false;
                    }
                    "template_needed"
                }
            };
            if open && !m.failed {
                answered = true;
                if any_message {
                    closes_at = Some(m.at + DAY);
                }
            }
            classes.insert(m.id.clone(), (class.to_string(), open));
        }
    }
    classes
}

fn csv_line(m: &Msg) -> String {
    let ts = chrono::DateTime::from_timestamp(m.at, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%SZ");
    format!(
        "{},{},+96650000000{},{},{},{},{},{}",
        m.id,
        9661100000 + m.business,
        m.contact,
        if m.inbound { "inbound" } else { "outbound" },
        ts,
        if m.template { "template" } else { "text" },
        if m.template { "utility" } else { "" },
        if m.failed {
            "failed"
        } else if m.inbound {
            ""
        } else {
            "delivered"
        },
    )
}

fn run(
    dir: &TempDir,
    name: &str,
    messages: &[Msg],
    rule: WindowRule,
) -> (BTreeMap<String, (String, bool)>, Vec<u8>) {
    let lines: Vec<String> = messages.iter().map(csv_line).collect();
    let path = dir.path().join(format!("{name}.csv"));
    std::fs::write(
        &path,
        format!(
            "message_id,business_number,contact,direction,timestamp,type,category,status\n{}\n",
            lines.join("\n")
        ),
    )
    .unwrap();
    let out = dir.path().join(format!("{name}-out"));
    let settings = Settings::new(Request {
        inputs: vec![path],
        out: Some(out.clone()),
        rule,
        pricing: PricingRequest {
            allow_unpriced: true,
            ..Default::default()
        },
        ..Default::default()
    })
    .unwrap();
    window_ledger::commands::run_report(&settings).unwrap();
    let sends = crate::common::read_rows(&out.join("sends.csv"));
    let classes = sends
        .into_iter()
        .map(|row| {
            (
                row["message_id"].clone(),
                (row["class"].clone(), !row["window_id"].is_empty()),
            )
        })
        .collect();
    (classes, std::fs::read(out.join("sends.csv")).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn vectorised_equals_reference_and_ignores_row_order(
        messages in logs(),
        any_message in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let rule = if any_message { WindowRule::AnyMessage } else { WindowRule::CustomerOnly };
        let dir = TempDir::new().unwrap();
        let (got, bytes) = run(&dir, "ordered", &messages, rule);
        prop_assert_eq!(&got, &reference(&messages, any_message));

        let mut shuffled = messages.clone();
        let mut state = seed | 1;
        for i in (1..shuffled.len()).rev() {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17;
            shuffled.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let (_, shuffled_bytes) = run(&dir, "shuffled", &shuffled, rule);
        prop_assert!(bytes == shuffled_bytes, "row order changed sends.csv");
    }
}
