//! Contact key → ISO 3166-1 alpha-2 country (docs §8.6, §8.7, §8.24).
//!
//! Called once per distinct contact (far fewer than messages), through the
//! `phonenumber` crate's libphonenumber metadata:
//! - a valid number → its region;
//! - a number that is not valid but starts with a known calling code → the
//!   main country of that code (Meta prices by calling code): `+44 7700
//!   900123`, a reserved fictional UK range, → GB;
//! - non-geographic codes (+800, +808, +870, +881, +882, +883, +979), a
//!   national part shorter than 2 or longer than 17 digits, or no known
//!   calling code → `ZZ` (market `Other`).
//!
//! Keys that are not all digits (business-scoped user ids such as
//! `SA.1502…`) take the two-letter prefix before a `.`, else `ZZ`; a
//! `country` column in the input overrides all of this (done in `normalize`).

use std::collections::HashMap;
use std::sync::OnceLock;

use phonenumber::metadata::DATABASE;

/// The country when nothing better is known.
pub const UNKNOWN: &str = "ZZ";

const NON_GEOGRAPHIC: [u16; 7] = [800, 808, 870, 881, 882, 883, 979];

/// Country of a normalised contact key.
pub fn country_of_contact(key: &str) -> String {
    if key.bytes().all(|b| b.is_ascii_digit()) && !key.is_empty() {
        country_of_digits(key)
    } else {
        prefix_country(key).unwrap_or_else(|| UNKNOWN.to_string())
    }
}

fn prefix_country(key: &str) -> Option<String> {
    let (prefix, _) = key.split_once('.')?;
    (prefix.len() == 2 && prefix.bytes().all(|b| b.is_ascii_alphabetic()))
        .then(|| prefix.to_ascii_uppercase())
}

fn country_of_digits(digits: &str) -> String {
    let Some((code, national)) = split_calling_code(digits) else {
        return UNKNOWN.to_string();
    };
    if NON_GEOGRAPHIC.contains(&code.code) || !(2..=17).contains(&national.len()) {
        return UNKNOWN.to_string();
    }
    let main = || code.main.clone().unwrap_or_else(|| UNKNOWN.to_string());
    // A calling code of one region gives that region whether or not the
    // number is valid (valid → its region; invalid → the code's main
    // country, the same one), so the costly validation is only needed for
    // shared codes (+1, +7, +44, +212, …).
    if !code.shared {
        return main();
    }
    valid_region(digits).unwrap_or_else(main)
}

/// What the metadata says of one calling code.
struct CallingCode {
    code: u16,
    /// More than one region uses it.
    shared: bool,
    /// Its main country ([`main_country_of`]).
    main: Option<String>,
}

/// Every known calling code, read from the metadata once: looked up per
/// number, the metadata hands out a new list of its regions each time,
/// which with the country's text was most of the time spent on a log's
/// contacts.
fn calling_codes() -> &'static HashMap<u16, CallingCode> {
    static CODES: OnceLock<HashMap<u16, CallingCode>> = OnceLock::new();
    CODES.get_or_init(|| {
        (1..=999u16)
            .filter_map(|code| {
                let entries = DATABASE.by_code(&code)?;
                Some((
                    code,
                    CallingCode {
                        code,
                        shared: entries.len() > 1,
                        main: main_country_of(code),
                    },
                ))
            })
            .collect()
    })
}

/// Reads the metadata ahead of the first number (it takes tens of
/// milliseconds), e.g. on a thread of its own while the input is read.
pub fn warm_up() {
    calling_codes();
}

/// Calling codes are prefix-free, so at most one of the 1–3 digit prefixes
/// is a known code.
fn split_calling_code(digits: &str) -> Option<(&'static CallingCode, &str)> {
    let codes = calling_codes();
    (1..=3.min(digits.len())).find_map(|len| {
        let code: u16 = digits[..len].parse().ok()?;
        codes.get(&code).map(|c| (c, &digits[len..]))
    })
}

fn valid_region(digits: &str) -> Option<String> {
    let number = phonenumber::parse(None, format!("+{digits}")).ok()?;
    if !phonenumber::is_valid(&number) {
        return None;
    }
    let region = number.metadata(&DATABASE)?.id().to_string();
    (region.len() == 2 && region != "001").then_some(region)
}

fn main_country_of(code: u16) -> Option<String> {
    let entries = DATABASE.by_code(&code)?;
    let main = entries
        .iter()
        .find(|m| m.is_main_country_for_code())
        .or(entries.first())?;
    let id = main.id();
    (id.len() == 2 && id != "001").then(|| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_numbers_get_their_region() {
        assert_eq!(country_of_contact("966501234567"), "SA");
        assert_eq!(country_of_contact("971501234567"), "AE");
        assert_eq!(country_of_contact("201001234567"), "EG");
        assert_eq!(country_of_contact("919812345678"), "IN");
        assert_eq!(country_of_contact("14155552671"), "US");
        assert_eq!(country_of_contact("16135550123"), "CA");
    }

    #[test]
    fn invalid_numbers_fall_back_to_the_calling_code() {
        assert_eq!(country_of_contact("447700900123"), "GB");
        assert_eq!(country_of_contact("15555550100"), "US");
    }

    #[test]
    fn single_region_codes_need_no_validation_and_agree_with_it() {
        for digits in ["966501234567", "966123", "20100123456789", "9715012345678"] {
            let (code, _) = split_calling_code(digits).unwrap();
            assert_eq!(DATABASE.by_code(&code.code).unwrap().len(), 1);
            let validated = valid_region(digits).or_else(|| main_country_of(code.code));
            assert_eq!(Some(country_of_contact(digits)), validated, "{digits}");
        }
        // Shared codes still tell their regions apart.
        assert_eq!(country_of_contact("16135550123"), "CA");
        assert_eq!(country_of_contact("14155552671"), "US");
    }

    /// The country as worked out from the metadata afresh for each number
    /// (as before the calling codes were read once).
    fn from_metadata(digits: &str) -> String {
        let code = (1..=3.min(digits.len()))
            .find_map(|len| {
                let code: u16 = digits[..len].parse().ok()?;
                DATABASE.by_code(&code).map(|_| code)
            })
            .expect("a known calling code");
        let national = digits.len() - code.to_string().len();
        if NON_GEOGRAPHIC.contains(&code) || !(2..=17).contains(&national) {
            return UNKNOWN.to_string();
        }
        valid_region(digits)
            .or_else(|| main_country_of(code))
            .unwrap_or_else(|| UNKNOWN.to_string())
    }

    #[test]
    fn every_calling_code_gives_the_country_its_metadata_gives() {
        let mut known = 0;
        for code in 1..=999u16 {
            if DATABASE.by_code(&code).is_none() {
                continue;
            }
            known += 1;
            let nationals = [
                "5",
                "501234567",
                "2025550123",
                "6135550123",
                "7012345678",
                "7700900123",
                "123456789012345678",
            ];
            for national in nationals {
                let digits = format!("{code}{national}");
                assert_eq!(
                    country_of_contact(&digits),
                    from_metadata(&digits),
                    "{digits}"
                );
            }
        }
        assert!(known > 200, "{known} calling codes");
    }

    #[test]
    fn non_geographic_and_odd_lengths_are_unknown() {
        assert_eq!(country_of_contact("80012345678"), "ZZ");
        assert_eq!(country_of_contact("8823456789"), "ZZ");
        assert_eq!(country_of_contact("9665"), "ZZ");
        assert_eq!(country_of_contact("966123456789012345678"), "ZZ");
        assert_eq!(country_of_contact(""), "ZZ");
    }

    #[test]
    fn scoped_ids_use_their_prefix() {
        assert_eq!(country_of_contact("SA.150212345"), "SA");
        assert_eq!(country_of_contact("eg.99"), "EG");
        assert_eq!(country_of_contact("user-42"), "ZZ");
    }
}
