//! Column names shared by every stage.
//!
//! The canonical input columns are the ones `docs/` §2
//! names; the derived ones are added by `normalize`, `windows` and `classify`.
//! Keeping them in one place means a stage cannot misspell another's column.

/// Canonical input columns, in the order `rejected.csv` echoes them.
pub const INPUT_COLUMNS: [&str; 12] = [
    MESSAGE_ID,
    BUSINESS_NUMBER,
    CONTACT,
    DIRECTION,
    TIMESTAMP,
    TYPE,
    TEMPLATE_NAME,
    CATEGORY,
    COUNTRY,
    STATUS,
    ERROR_CODE,
    ENTRY_POINT,
];

/// Optional columns with what Meta itself reported about an outbound
/// message (webhook `statuses[].pricing` and `conversation`, issue 5): not
/// used to classify or price, only to reconcile against (`reconcile`).
pub const META_COLUMNS: [&str; 7] = [
    PRICING_MODEL,
    PRICING_TYPE,
    PRICING_CATEGORY,
    BILLABLE,
    CONVERSATION_ID,
    CONVERSATION_ORIGIN,
    CONVERSATION_EXPIRATION,
];

pub const PRICING_MODEL: &str = "pricing_model";
pub const PRICING_TYPE: &str = "pricing_type";
pub const PRICING_CATEGORY: &str = "pricing_category";
pub const BILLABLE: &str = "billable";
pub const CONVERSATION_ID: &str = "conversation_id";
pub const CONVERSATION_ORIGIN: &str = "conversation_origin";
/// `conversation.expiration_timestamp` (Unix seconds; Meta sends it on the
/// `sent` status only).
pub const CONVERSATION_EXPIRATION: &str = "conversation_expiration";

/// Every string column a reader fills: the input columns, then Meta's.
pub fn value_columns() -> impl Iterator<Item = &'static str> {
    INPUT_COLUMNS.iter().chain(META_COLUMNS.iter()).copied()
}

/// Number of [`value_columns`].
pub const VALUE_COLUMN_COUNT: usize = INPUT_COLUMNS.len() + META_COLUMNS.len();

/// Input columns without which a file cannot be read at all (§2 "required").
pub const REQUIRED_COLUMNS: [&str; 5] = [MESSAGE_ID, CONTACT, DIRECTION, TIMESTAMP, TYPE];

pub const MESSAGE_ID: &str = "message_id";
pub const BUSINESS_NUMBER: &str = "business_number";
pub const CONTACT: &str = "contact";
pub const DIRECTION: &str = "direction";
pub const TIMESTAMP: &str = "timestamp";
pub const TYPE: &str = "type";
pub const TEMPLATE_NAME: &str = "template_name";
pub const CATEGORY: &str = "category";
pub const COUNTRY: &str = "country";
pub const STATUS: &str = "status";
pub const ERROR_CODE: &str = "error_code";
pub const ENTRY_POINT: &str = "entry_point";

/// Where a row came from: set by `ingest`, carried to `rejected.csv`.
pub const SOURCE_FILE: &str = "source_file";
pub const FILE_INDEX: &str = "file_index";
pub const SOURCE_ROW: &str = "source_row";
pub const SOURCE_LINE: &str = "source_line";
/// A reason found while reading (wrong field count, invalid UTF-8, bad JSON).
pub const INGEST_ERROR: &str = "ingest_error";
/// A timestamp that the file stored as a native datetime (Parquet).
pub const TIMESTAMP_NATIVE: &str = "timestamp_native";

/// Derived by `normalize`.
pub const TS: &str = "ts";
/// Integer keys of the normalised numbers, in their text order (sort keys).
pub const BUSINESS_KEY: &str = "business_key";
pub const CONTACT_KEY: &str = "contact_key";
pub const IS_INBOUND: &str = "is_inbound";
pub const IS_TEMPLATE: &str = "is_template";
pub const FAILED: &str = "failed";
pub const HAS_ENTRY_POINT: &str = "has_entry_point";
pub const REJECT_REASON: &str = "reason";
pub const IS_DUPLICATE: &str = "is_duplicate";

/// Derived by `windows`.
pub const IN_WINDOW: &str = "in_window";
pub const WINDOW_ID: &str = "window_id";
pub const LAST_WINDOW_ID: &str = "last_window_id";
pub const LAST_WINDOW_ANSWERED: &str = "last_window_answered";
pub const EXTENDS_WINDOW: &str = "extends_window";

/// Derived by `classify`.
pub const CLASS: &str = "class";

/// The five classes of an outbound message (§4), in report order.
pub const CLASSES: [&str; 5] = [
    "freeform_in_window",
    "freeform_blocked",
    "template_avoidable",
    "template_late_reply",
    "template_needed",
];
