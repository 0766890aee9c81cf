//! Report strings, one JSON file per language in `locales/`.
//!
//! English and Arabic are built in (`--lang en`, `--lang ar`); `--lang
//! path/to/xx.json` loads a third language from a file with the same keys,
//! so adding a language needs no code. Keys a file lacks fall back to
//! English.

use std::collections::BTreeMap;

use anyhow::Result;

use crate::bad_input;

const EN: &str = include_str!("../../locales/en.json");
const AR: &str = include_str!("../../locales/ar.json");

#[derive(Debug, Clone)]
pub struct Locale {
    strings: BTreeMap<String, String>,
    fallback: BTreeMap<String, String>,
}

impl Locale {
    pub fn load(lang: &str) -> Result<Self> {
        let fallback: BTreeMap<String, String> = serde_json::from_str(EN)?;
        let text = match lang {
            "en" => EN.to_string(),
            "ar" => AR.to_string(),
            path => std::fs::read_to_string(path).map_err(|e| {
                bad_input!("--lang {path:?}: not a built-in language (en, ar) nor a readable locale file ({e})")
            })?,
        };
        let strings = serde_json::from_str(&text).map_err(|e| {
            bad_input!(
                "--lang {lang:?}: the locale file is not a flat JSON object of strings ({e})"
            )
        })?;
        Ok(Locale { strings, fallback })
    }

    /// The string for `key`; the key itself if no file has it.
    pub fn get<'a>(&'a self, key: &'a str) -> &'a str {
        self.strings
            .get(key)
            .or_else(|| self.fallback.get(key))
            .map_or(key, String::as_str)
    }

    pub fn is_rtl(&self) -> bool {
        self.get("dir") == "rtl"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_languages_have_every_english_key() {
        let en: BTreeMap<String, String> = serde_json::from_str(EN).unwrap();
        let ar: BTreeMap<String, String> = serde_json::from_str(AR).unwrap();
        assert_eq!(en.keys().collect::<Vec<_>>(), ar.keys().collect::<Vec<_>>());
        let locale = Locale::load("ar").unwrap();
        assert!(locale.is_rtl());
        assert_eq!(locale.get("no-such-key"), "no-such-key");
    }
}
