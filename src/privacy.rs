//! `--hash-contacts` (issue 7): every contact number in the run's tables
//! becomes a salted BLAKE3 hash (the first 16 bytes, hex), so a run can leave
//! the team while still telling contacts apart — and the same contact is
//! the same hash in every run with the same salt. The salt itself is
//! never written (not to `summary.json`, not to a log line).
//!
//! Human-facing pages mask contacts anyway ([`mask_contact`]); hashing is
//! for the tables.

use anyhow::Result;
use polars::prelude::*;

use crate::schema::CONTACT;

/// The hash that stands for `contact`.
pub fn contact_hash(salt: &str, contact: &str) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(salt.as_bytes());
    hasher.update(&[0u8]);
    hasher.update(contact.as_bytes());
    hasher.finalize().as_bytes()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `966501234567` → `+9665•••••567`; other keys keep 3 + 2 characters:
/// how the human-facing reports show a contact.
pub fn mask_contact(contact: &str) -> String {
    let chars: Vec<char> = contact.chars().collect();
    let digits = chars.iter().all(char::is_ascii_digit);
    let (head, tail) = if digits { (4, 3) } else { (3, 2) };
    if chars.len() <= head + tail {
        return "•".repeat(chars.len());
    }
    let shown: String = chars[..head].iter().collect();
    let end: String = chars[chars.len() - tail..].iter().collect();
    format!(
        "{}{shown}{}{end}",
        if digits { "+" } else { "" },
        "•".repeat(chars.len() - head - tail)
    )
}

/// `frame` with every contact replaced by its hash (a frame without a
/// contact column as it is): one hash per distinct contact, joined back to
/// the contact column only.
pub fn hashed(frame: &DataFrame, salt: &str) -> Result<DataFrame> {
    let Ok(contacts) = frame.column(CONTACT) else {
        return Ok(frame.clone());
    };
    let distinct = contacts.unique()?.with_name("_contact".into());
    let hashes: Vec<Option<String>> = distinct
        .str()?
        .iter()
        .map(|c| c.map(|c| contact_hash(salt, c)))
        .collect();
    let table = DataFrame::new_infer_height(vec![distinct, Column::new("_hash".into(), hashes)])?;
    let aligned = crate::frames::looked_up(frame, CONTACT, table, "_contact")?;
    let mut out = frame.clone();
    out.with_column(aligned.column("_hash")?.clone().with_name(CONTACT.into()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contacts_are_masked_keeping_a_few_characters() {
        assert_eq!(mask_contact("966501234567"), "+9665•••••567");
        assert_eq!(mask_contact("SA.15021234"), "SA.••••••34");
        assert_eq!(mask_contact("123"), "•••");
    }

    #[test]
    fn hashes_depend_on_salt_and_contact_only() {
        let a = contact_hash("s1", "966501234567");
        assert_eq!(a.len(), 32);
        assert_eq!(a, contact_hash("s1", "966501234567"));
        assert_ne!(a, contact_hash("s2", "966501234567"));
        assert_ne!(a, contact_hash("s1", "966501234568"));
        assert!(!a.contains("966501234567"));
    }
}
