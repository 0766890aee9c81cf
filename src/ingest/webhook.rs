//! Cloud API webhook logs: one notification per line, as Meta sends them
//! (`{"object":"whatsapp_business_account","entry":[{"changes":[…]}]}`,
//! Meta's webhook reference, listed in `docs/README.md`).
//!
//! - `value.messages[]` are inbound rows: `id`, `timestamp`, `type`; the
//!   contact is `from` (the customer's phone number; `contacts[].wa_id`,
//!   then `user_id`, only when it is absent); a `referral` marks the entry
//!   point `ctwa`; `metadata.phone_number_id` is the business number.
//! - `value.statuses[]` are notifications about one outbound message each.
//!   They arrive several per message (sent, delivered, read, failed), out of
//!   order and repeated by retries, possibly across files, so they are
//!   *folded* over all webhook files into one row per message id by
//!   [`fold`]: see [`FoldedStatus`] for which notification gives what.
//! - Changes of other fields (account updates, quality changes) and
//!   `value.errors[]` are skipped and counted; a line that is not a
//!   notification is a rejected row with its line number.
//!
//! Row accounting: a webhook file's rows are its inbound messages, its
//! malformed lines, and the folded outbound messages whose earliest
//! notification (in read order) it holds.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;

use anyhow::Result;
use polars::prelude::DataFrame;
use serde_json::Value;

use super::ndjson::scalar_text;
use super::RawBuilder;
use crate::schema::{self, VALUE_COLUMN_COUNT};

/// What one webhook file held, counted for `summary.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct WebhookStats {
    /// Non-blank lines.
    pub lines: u64,
    pub notifications: u64,
    pub inbound_messages: u64,
    pub status_notifications: u64,
    /// Folded outbound messages attributed to this file.
    pub outbound_messages: u64,
    pub malformed_lines: u64,
    /// Changes of fields other than `messages`, by field name.
    pub skipped_changes: BTreeMap<String, u64>,
    /// Entries in `value.errors[]` (system or account errors).
    pub value_errors: u64,
    /// `VOLUME_BASED_PRICING_TIER_UPDATE` account updates: when Meta says
    /// a tier was reached (compared with ours, `reconcile::tiers`).
    #[serde(skip)]
    pub tier_updates: Vec<TierUpdate>,
}

/// One `account_update` change with `volume_tier_info`: Meta entered `tier`
/// of (`effective_month`, `region`, `pricing_category`) at `time_us`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TierUpdate {
    /// `YYYY-MM`.
    pub month: String,
    /// Meta's market name, as written.
    pub region: String,
    /// Lower case, `_` for `-` (`utility`, `authentication_international`).
    pub category: String,
    pub tier: String,
    /// `tier_update_time`, µs since the epoch.
    pub time_us: i64,
}

/// The tier update of an `account_update` change value, if it is one.
fn tier_update(value: &Value) -> Option<TierUpdate> {
    let info = value.get("volume_tier_info")?;
    let time = info
        .get("tier_update_time")
        .and_then(|t| t.as_i64().or_else(|| t.as_str()?.trim().parse().ok()))?;
    Some(TierUpdate {
        month: text(info, "effective_month")?,
        region: text(info, "region")?,
        category: text(info, "pricing_category")?
            .to_lowercase()
            .replace('-', "_"),
        tier: text(info, "tier")?,
        time_us: time.checked_mul(1_000_000)?,
    })
}

/// One record before folding: an inbound message, a malformed line, or a
/// status notification.
struct Record {
    line: u64,
    /// Position within the line (several messages per notification).
    seq: u32,
    kind: RecordKind,
}

enum RecordKind {
    Row(Vec<Option<String>>, Option<String>),
    Status(Box<StatusEvent>),
}

/// One `statuses[]` element.
#[derive(Debug, Clone)]
struct StatusEvent {
    id: Option<String>,
    status: Option<String>,
    timestamp: Option<String>,
    recipient: Option<String>,
    business: Option<String>,
    pricing: Option<Pricing>,
    conversation: Option<(Option<String>, Option<String>)>,
    /// `conversation.expiration_timestamp`, on `sent` statuses only.
    conversation_expiration: Option<String>,
    error_code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Pricing {
    model: Option<String>,
    kind: Option<String>,
    category: Option<String>,
    billable: Option<String>,
}

/// A parsed webhook file, waiting for [`fold`].
pub struct WebhookFile {
    records: Vec<Record>,
    pub stats: WebhookStats,
}

/// True when the first non-blank line looks like a webhook notification.
pub fn looks_like_webhook(first_line: &str) -> bool {
    match serde_json::from_str::<Value>(first_line) {
        Ok(Value::Object(o)) => o.contains_key("entry") || o.contains_key("object"),
        _ => false,
    }
}

pub fn parse(input: Box<dyn Read>, name: &str) -> Result<WebhookFile> {
    let mut file = WebhookFile {
        records: Vec::new(),
        stats: WebhookStats::default(),
    };
    super::for_each_line(input, name, |line_no, line| {
        file.stats.lines += 1;
        match notification(line) {
            Ok(value) => {
                file.stats.notifications += 1;
                file.read_notification(&value, line_no);
            }
            Err(reason) => {
                file.stats.malformed_lines += 1;
                file.records.push(Record {
                    line: line_no,
                    seq: 0,
                    kind: RecordKind::Row(super::unreadable_line(line), Some(reason)),
                });
            }
        }
    })?;
    Ok(file)
}

fn notification(line: &[u8]) -> Result<Value, String> {
    let text = std::str::from_utf8(line).map_err(|_| "invalid UTF-8".to_string())?;
    let value: Value = serde_json::from_str(text).map_err(|e| format!("invalid JSON ({e})"))?;
    if !value.get("entry").is_some_and(Value::is_array) {
        return Err("not a webhook notification (no \"entry\" array)".to_string());
    }
    Ok(value)
}

fn text(value: &Value, key: &str) -> Option<String> {
    value
        .get(key)
        .cloned()
        .and_then(scalar_text)
        .filter(|s| !s.trim().is_empty())
}

fn array<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value
        .get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

impl WebhookFile {
    fn read_notification(&mut self, notification: &Value, line: u64) {
        let mut seq = 0u32;
        for entry in array(notification, "entry") {
            for change in array(entry, "changes") {
                let field = text(change, "field").unwrap_or_else(|| "messages".into());
                let Some(value) = change.get("value").filter(|_| field == "messages") else {
                    if let Some(update) = change.get("value").and_then(tier_update) {
                        self.stats.tier_updates.push(update);
                    }
                    *self.stats.skipped_changes.entry(field).or_default() += 1;
                    continue;
                };
                let business = value.get("metadata").and_then(|m| {
                    text(m, "phone_number_id").or_else(|| text(m, "display_phone_number"))
                });
                let contact_fallback = array(value, "contacts")
                    .first()
                    .and_then(|c| text(c, "wa_id").or_else(|| text(c, "user_id")));
                for message in array(value, "messages") {
                    seq += 1;
                    self.stats.inbound_messages += 1;
                    let fields = inbound_fields(message, &business, &contact_fallback);
                    self.records.push(Record {
                        line,
                        seq,
                        kind: RecordKind::Row(fields, None),
                    });
                }
                for status in array(value, "statuses") {
                    seq += 1;
                    self.stats.status_notifications += 1;
                    self.records.push(Record {
                        line,
                        seq,
                        kind: RecordKind::Status(Box::new(status_event(status, &business))),
                    });
                }
                self.stats.value_errors += array(value, "errors").len() as u64;
            }
        }
    }
}

fn set(fields: &mut [Option<String>], column: &str, value: Option<String>) {
    if let Some(i) = schema::value_columns().position(|c| c == column) {
        fields[i] = value;
    }
}

fn inbound_fields(
    message: &Value,
    business: &Option<String>,
    contact_fallback: &Option<String>,
) -> Vec<Option<String>> {
    let mut fields = vec![None; VALUE_COLUMN_COUNT];
    let contact = text(message, "from")
        .or_else(|| contact_fallback.clone())
        .or_else(|| text(message, "from_user_id"));
    set(&mut fields, schema::MESSAGE_ID, text(message, "id"));
    set(&mut fields, schema::BUSINESS_NUMBER, business.clone());
    set(&mut fields, schema::CONTACT, contact);
    set(&mut fields, schema::DIRECTION, Some("inbound".into()));
    set(&mut fields, schema::TIMESTAMP, text(message, "timestamp"));
    set(&mut fields, schema::TYPE, text(message, "type"));
    if message.get("referral").is_some_and(|r| !r.is_null()) {
        set(&mut fields, schema::ENTRY_POINT, Some("ctwa".into()));
    }
    fields
}

fn status_event(status: &Value, business: &Option<String>) -> StatusEvent {
    let pricing = status
        .get("pricing")
        .filter(|p| p.is_object())
        .map(|p| Pricing {
            model: text(p, "pricing_model"),
            kind: text(p, "type"),
            category: text(p, "category"),
            billable: text(p, "billable"),
        });
    let conversation = status
        .get("conversation")
        .filter(|c| c.is_object())
        .map(|c| (text(c, "id"), c.get("origin").and_then(|o| text(o, "type"))));
    let conversation_expiration = status
        .get("conversation")
        .and_then(|c| text(c, "expiration_timestamp"));
    StatusEvent {
        id: text(status, "id"),
        status: text(status, "status").map(|s| s.trim().to_lowercase()),
        timestamp: text(status, "timestamp"),
        recipient: text(status, "recipient_id").or_else(|| text(status, "recipient_user_id")),
        business: business.clone(),
        pricing,
        conversation,
        conversation_expiration,
        error_code: array(status, "errors")
            .first()
            .and_then(|e| text(e, "code")),
    }
}

/// How far along its life a status puts a message: `read` implies
/// delivered, and a delivered message counts as delivered even when a
/// `failed` notification also came.
fn rank(status: Option<&str>) -> u8 {
    match status {
        Some("read") | Some("played") => 4,
        Some("delivered") => 3,
        Some("failed") => 2,
        Some("sent") => 1,
        _ => 0,
    }
}

/// Unix seconds for ordering; unparseable text sorts last.
fn seconds(timestamp: &Option<String>) -> i64 {
    timestamp
        .as_deref()
        .and_then(|t| t.trim().parse::<i64>().ok())
        .unwrap_or(i64::MAX)
}

/// One outbound message folded from its status notifications:
/// - `status`: the furthest along (read > delivered > failed > sent);
/// - `timestamp`: the earliest `sent`, else the earliest notification;
/// - error code: of the earliest `failed`, only when the message failed;
/// - pricing and conversation: from the furthest-along notification that
///   has them (delivered and read carry what Meta billed); the
///   conversation's expiry from the earliest that has it (`sent` only);
/// - contact and business number: of the earliest notification that has
///   them.
///
/// Every choice depends on the notifications only, not their order in the
/// files, so a shuffled log folds the same.
struct FoldedStatus;

impl FoldedStatus {
    fn fields(events: &[StatusEvent]) -> Vec<Option<String>> {
        let mut by_time: Vec<&StatusEvent> = events.iter().collect();
        by_time.sort_by(|a, b| {
            (
                seconds(&a.timestamp),
                rank(b.status.as_deref()),
                &a.timestamp,
            )
                .cmp(&(
                    seconds(&b.timestamp),
                    rank(a.status.as_deref()),
                    &b.timestamp,
                ))
                .then_with(|| format!("{a:?}").cmp(&format!("{b:?}")))
        });
        let furthest = by_time
            .iter()
            .max_by_key(|e| rank(e.status.as_deref()))
            .copied();
        let status = match furthest.map(|e| rank(e.status.as_deref())) {
            Some(0) | None => by_time.iter().find_map(|e| e.status.clone()),
            _ => furthest.and_then(|e| e.status.clone()),
        };
        let timestamp = by_time
            .iter()
            .find(|e| e.status.as_deref() == Some("sent") && e.timestamp.is_some())
            .or_else(|| by_time.iter().find(|e| e.timestamp.is_some()))
            .and_then(|e| e.timestamp.clone());
        let failed = status.as_deref() == Some("failed");
        let error_code = by_time
            .iter()
            .filter(|e| failed && e.status.as_deref() == Some("failed"))
            .find_map(|e| e.error_code.clone());
        let mut by_rank = by_time.clone();
        by_rank.sort_by_key(|e| std::cmp::Reverse(rank(e.status.as_deref())));
        let pricing = by_rank.iter().find_map(|e| e.pricing.clone());
        let conversation = by_rank.iter().find_map(|e| e.conversation.clone());
        let mut fields = vec![None; VALUE_COLUMN_COUNT];
        let category = pricing.as_ref().and_then(|p| p.category.clone());
        let template = category.as_deref().is_some_and(is_template_category);
        set(&mut fields, schema::MESSAGE_ID, events[0].id.clone());
        set(
            &mut fields,
            schema::BUSINESS_NUMBER,
            by_time.iter().find_map(|e| e.business.clone()),
        );
        set(
            &mut fields,
            schema::CONTACT,
            by_time.iter().find_map(|e| e.recipient.clone()),
        );
        set(&mut fields, schema::DIRECTION, Some("outbound".into()));
        set(&mut fields, schema::TIMESTAMP, timestamp);
        if template {
            set(&mut fields, schema::TYPE, Some("template".into()));
            set(&mut fields, schema::CATEGORY, category);
        }
        set(&mut fields, schema::STATUS, status);
        set(&mut fields, schema::ERROR_CODE, error_code);
        if let Some(p) = pricing {
            set(&mut fields, schema::PRICING_MODEL, p.model);
            set(&mut fields, schema::PRICING_TYPE, p.kind);
            set(&mut fields, schema::PRICING_CATEGORY, p.category);
            set(&mut fields, schema::BILLABLE, p.billable);
        }
        if let Some((id, origin)) = conversation {
            set(&mut fields, schema::CONVERSATION_ID, id);
            set(&mut fields, schema::CONVERSATION_ORIGIN, origin);
        }
        set(
            &mut fields,
            schema::CONVERSATION_EXPIRATION,
            by_time
                .iter()
                .find_map(|e| e.conversation_expiration.clone()),
        );
        fields
    }
}

/// Meta's pricing categories that only templates have.
fn is_template_category(category: &str) -> bool {
    matches!(
        category.trim().to_lowercase().as_str(),
        "marketing"
            | "marketing_lite"
            | "utility"
            | "authentication"
            | "authentication-international"
            | "authentication_international"
    )
}

/// (file, line, position in the line) of a record.
type Place = (usize, u64, u32);
/// A row with its line, position in the line, fields and read error.
type PlacedRow = (u64, u32, Vec<Option<String>>, Option<String>);

/// Folds the status notifications of every webhook file (they may spread
/// over several) and builds each file's raw frame.
pub fn fold(files: Vec<WebhookFile>) -> Result<Vec<(DataFrame, WebhookStats)>> {
    // Message id → (file, line, seq) of its earliest notification in read
    // order, and every notification about it.
    let mut groups: HashMap<String, (Place, Vec<StatusEvent>)> = HashMap::new();
    let mut rows: Vec<Vec<PlacedRow>> = files.iter().map(|_| Vec::new()).collect();
    let mut stats: Vec<WebhookStats> = Vec::with_capacity(files.len());
    for (index, file) in files.into_iter().enumerate() {
        stats.push(file.stats);
        for record in file.records {
            match record.kind {
                RecordKind::Row(fields, error) => {
                    rows[index].push((record.line, record.seq, fields, error))
                }
                RecordKind::Status(event) => match event.id.clone() {
                    Some(id) => groups
                        .entry(id.trim().to_string())
                        .or_insert_with(|| ((index, record.line, record.seq), Vec::new()))
                        .1
                        .push(*event),
                    None => rows[index].push((
                        record.line,
                        record.seq,
                        FoldedStatus::fields(&[*event]),
                        None,
                    )),
                },
            }
        }
    }
    for ((index, line, seq), events) in groups.into_values() {
        stats[index].outbound_messages += 1;
        rows[index].push((line, seq, FoldedStatus::fields(&events), None));
    }
    rows.into_iter()
        .zip(stats)
        .map(|(mut file_rows, stats)| {
            file_rows.sort_by_key(|r| (r.0, r.1));
            let mut builder = RawBuilder::new();
            for (line, _, fields, error) in file_rows {
                builder.push(fields, Some(line), error);
            }
            Ok((builder.finish()?, stats))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(id: &str, status: &str, ts: &str, extra: &str) -> StatusEvent {
        let json = format!(
            r#"{{"id":"{id}","status":"{status}","timestamp":"{ts}","recipient_id":"16505551234"{extra}}}"#
        );
        status_event(
            &serde_json::from_str(&json).unwrap(),
            &Some("106540352242922".into()),
        )
    }

    fn field(fields: &[Option<String>], column: &str) -> Option<String> {
        fields[schema::value_columns().position(|c| c == column).unwrap()].clone()
    }

    #[test]
    fn read_without_delivered_is_read_and_sent_time_wins() {
        let pricing = r#","pricing":{"billable":true,"pricing_model":"PMP","type":"regular","category":"marketing"}"#;
        let events = [
            status("w", "read", "1750030090", pricing),
            status("w", "sent", "1750030073", ""),
            status("w", "sent", "1750030073", ""),
        ];
        let fields = FoldedStatus::fields(&events);
        assert_eq!(field(&fields, schema::STATUS).as_deref(), Some("read"));
        assert_eq!(
            field(&fields, schema::TIMESTAMP).as_deref(),
            Some("1750030073")
        );
        assert_eq!(field(&fields, schema::TYPE).as_deref(), Some("template"));
        assert_eq!(
            field(&fields, schema::PRICING_TYPE).as_deref(),
            Some("regular")
        );
        assert_eq!(field(&fields, schema::ERROR_CODE), None);
    }

    #[test]
    fn failed_keeps_its_error_code() {
        let errors = r#","errors":[{"code":131047,"title":"Re-engagement message"}]"#;
        let events = [
            status("w", "failed", "1751142888", errors),
            status("w", "sent", "1751142880", ""),
        ];
        let fields = FoldedStatus::fields(&events);
        assert_eq!(field(&fields, schema::STATUS).as_deref(), Some("failed"));
        assert_eq!(
            field(&fields, schema::ERROR_CODE).as_deref(),
            Some("131047")
        );
        assert_eq!(field(&fields, schema::TYPE), None);
    }

    #[test]
    fn other_fields_are_skipped_and_counted() {
        let log = concat!(
            r#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"account_update","value":{"event":"VERIFIED_ACCOUNT"}}]}]}"#,
            "\n",
            "not json\n"
        );
        let file = parse(Box::new(log.as_bytes()), "w.ndjson").unwrap();
        assert_eq!(file.stats.skipped_changes.get("account_update"), Some(&1));
        assert_eq!(file.stats.malformed_lines, 1);
        assert_eq!(file.records.len(), 1);
    }

    use proptest::prelude::*;

    /// JSON made of the keys a webhook has, nested at random.
    fn webhook_like() -> impl Strategy<Value = Value> {
        let keys = prop::sample::select(vec![
            "id",
            "status",
            "timestamp",
            "recipient_id",
            "from",
            "type",
            "pricing",
            "category",
            "errors",
            "code",
            "messages",
            "statuses",
            "contacts",
            "wa_id",
            "metadata",
            "phone_number_id",
            "referral",
            "conversation",
            "origin",
            "field",
        ]);
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            "[0-9a-z\\.]{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec((keys.clone(), inner), 0..5).prop_map(|pairs| {
                    Value::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
                }),
            ]
        })
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            let file = parse(Box::new(std::io::Cursor::new(bytes)), "x.ndjson").unwrap();
            fold(vec![file]).unwrap();
        }

        #[test]
        fn random_notifications_fold_without_panic(values in prop::collection::vec(webhook_like(), 1..6)) {
            let lines: Vec<String> = values
                .iter()
                .map(|v| format!(r#"{{"entry":[{{"changes":[{{"field":"messages","value":{v}}}]}}]}}"#))
                .collect();
            let file = parse(Box::new(std::io::Cursor::new(lines.join("\n").into_bytes())), "x").unwrap();
            let folded = fold(vec![file]).unwrap();
            prop_assert_eq!(folded.len(), 1);
        }
    }
}
