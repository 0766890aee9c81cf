//! Column and value mappings for exports that do not use docs §2's
//! names (issue 5): `--map contact=customer_phone` on the command line, or
//! a TOML file (`--mapping bsp.toml`, examples in `mappings/`).
//!
//! A mapping says, for each canonical column, where its value comes from:
//! a source column, or one column for inbound rows and another for outbound
//! ones (Twilio writes the customer in `from` on inbound messages and in `to`
//! on outbound ones); a default for rows where it is empty; a prefix to strip
//! (`whatsapp:`); and a table of values to rewrite (`OUT` → `outbound`).
//! Columns a mapping does not name are read under their canonical name, so
//! the identity mapping is what a canonical file needs.
//!
//! The same [`Resolved`] mapping serves the row readers (CSV, NDJSON) through
//! [`Resolved::fields`] and the Parquet reader through [`Resolved::exprs`],
//! so every format maps values the same way.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::Result;
use polars::prelude::*;
use serde::Deserialize;

use crate::bad_input;
use crate::schema::{self, VALUE_COLUMN_COUNT};

/// Where a canonical column's value comes from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Source {
    /// One source column (matched trimmed and case-insensitively).
    Column(String),
    /// A column per direction, chosen after `direction` is mapped.
    ByDirection { inbound: String, outbound: String },
}

/// How one canonical column is filled.
#[derive(Debug, Clone, Default)]
struct ColumnSpec {
    source: Option<Source>,
    default: Option<String>,
    strip_prefix: Option<String>,
    /// Lower-cased source value → canonical value.
    values: Vec<(String, String)>,
}

/// A mapping of every value column (`schema::value_columns`), in order.
#[derive(Debug, Clone)]
pub struct Mapping {
    specs: Vec<ColumnSpec>,
    /// Where it came from, for reports: `identity`, a file, `--map`.
    pub origin: String,
}

/// The TOML form of a mapping file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingFile {
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    #[serde(default)]
    columns: BTreeMap<String, Source>,
    #[serde(default)]
    defaults: BTreeMap<String, String>,
    #[serde(default)]
    strip_prefix: BTreeMap<String, String>,
    #[serde(default)]
    values: BTreeMap<String, BTreeMap<String, String>>,
}

impl Default for Mapping {
    fn default() -> Self {
        Mapping::identity()
    }
}

impl Mapping {
    /// Every column under its own name, values as they are.
    pub fn identity() -> Self {
        Mapping {
            specs: vec![ColumnSpec::default(); VALUE_COLUMN_COUNT],
            origin: "identity".into(),
        }
    }

    pub fn is_identity(&self) -> bool {
        self.origin == "identity"
    }

    /// Reads a mapping file; `--map` pairs are applied on top of it.
    pub fn load(file: Option<&Path>, pairs: &[String]) -> Result<Self> {
        let mut mapping = Mapping::identity();
        if let Some(path) = file {
            mapping.apply_file(path)?;
            mapping.origin = path.display().to_string();
        }
        for pair in pairs {
            let (canonical, source) = pair.split_once('=').ok_or_else(|| {
                bad_input!("--map {pair:?}: write it as CANONICAL=SOURCE, e.g. --map contact=customer_phone")
            })?;
            let index = column_index(canonical.trim(), "--map")?;
            mapping.specs[index].source = Some(Source::Column(source.trim().to_string()));
        }
        if !pairs.is_empty() {
            mapping.origin = match file {
                Some(path) => format!("{} and --map", path.display()),
                None => "--map".into(),
            };
        }
        Ok(mapping)
    }

    fn apply_file(&mut self, path: &Path) -> Result<()> {
        let name = path.display();
        let text = std::fs::read_to_string(path)
            .map_err(|e| bad_input!("--mapping {name}: cannot read it ({e})"))?;
        let file: MappingFile = toml::from_str(&text)
            .map_err(|e| bad_input!("--mapping {name}: not a valid mapping file ({e})"))?;
        let whr = format!("--mapping {name}");
        for (canonical, source) in file.columns {
            self.specs[column_index(&canonical, &whr)?].source = Some(source);
        }
        for (canonical, value) in file.defaults {
            self.specs[column_index(&canonical, &whr)?].default = Some(value);
        }
        for (canonical, prefix) in file.strip_prefix {
            self.specs[column_index(&canonical, &whr)?].strip_prefix = Some(prefix);
        }
        for (canonical, table) in file.values {
            let spec = &mut self.specs[column_index(&canonical, &whr)?];
            spec.values = table
                .into_iter()
                .map(|(from, to)| (from.trim().to_lowercase(), to))
                .collect();
        }
        Ok(())
    }

    /// Binds the mapping to the columns a file has.
    pub fn resolve(&self, found: &[String]) -> Resolved {
        let have = |name: &str| {
            let name = name.trim().to_lowercase();
            found.contains(&name).then_some(name)
        };
        let picks = schema::value_columns()
            .zip(&self.specs)
            .map(|(canonical, spec)| match &spec.source {
                None => have(canonical).map(Pick::Column),
                Some(Source::Column(c)) => have(c).map(Pick::Column),
                Some(Source::ByDirection { inbound, outbound }) => {
                    match (have(inbound), have(outbound)) {
                        (None, None) => None,
                        (i, o) => Some(Pick::ByDirection(i, o)),
                    }
                }
            })
            .collect();
        Resolved {
            picks,
            specs: self.specs.clone(),
        }
    }

    /// The source a canonical column is expected under, for error messages.
    fn expected(&self, index: usize) -> String {
        match &self.specs[index].source {
            None => schema::value_columns().nth(index).unwrap_or("").to_string(),
            Some(Source::Column(c)) => c.clone(),
            Some(Source::ByDirection { inbound, outbound }) => format!("{inbound}/{outbound}"),
        }
    }
}

fn column_index(canonical: &str, whr: &str) -> Result<usize> {
    let key = canonical.trim().to_lowercase();
    schema::value_columns()
        .position(|c| c == key)
        .ok_or_else(|| {
            bad_input!(
                "{whr}: {canonical:?} is not a column window-ledger reads; use one of {}",
                schema::value_columns().collect::<Vec<_>>().join(", ")
            )
        })
}

/// A source column picked for one canonical column of one file.
#[derive(Debug, Clone)]
enum Pick {
    Column(String),
    ByDirection(Option<String>, Option<String>),
}

/// A mapping bound to one file's columns.
#[derive(Debug, Clone)]
pub struct Resolved {
    picks: Vec<Option<Pick>>,
    specs: Vec<ColumnSpec>,
}

const DIRECTION_INDEX: usize = 3;

impl Resolved {
    /// Names the `required` canonical columns this file cannot fill, with
    /// what the mapping looked for and the columns found.
    pub fn check_required(
        &self,
        mapping: &Mapping,
        name: &str,
        required: &[&str],
        found: &[String],
    ) -> Result<()> {
        let missing: Vec<String> = schema::value_columns()
            .enumerate()
            .filter(|(i, c)| {
                required.contains(c) && self.picks[*i].is_none() && self.specs[*i].default.is_none()
            })
            .map(|(i, c)| {
                let expected = mapping.expected(i);
                if expected == c {
                    c.to_string()
                } else {
                    format!("{c} (mapped from {expected})")
                }
            })
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let advice = if mapping.is_identity() {
            "Rename the columns to the names in docs §2, or map them with --map CANONICAL=SOURCE or --mapping FILE"
        } else {
            "Fix the mapping (--map / --mapping) to name columns the file has"
        };
        Err(bad_input!(
            "{name}: missing required column(s) {}; columns found: {}. {advice}",
            missing.join(", "),
            if found.is_empty() {
                "none".to_string()
            } else {
                found.join(", ")
            }
        ))
    }

    /// The canonical values of one record; `get` returns a source column's
    /// text by its lower-case name.
    pub fn fields<'a>(&self, get: impl Fn(&str) -> Option<&'a str>) -> Vec<Option<String>> {
        let direction = self.value(DIRECTION_INDEX, None, &get);
        let outbound = direction
            .as_deref()
            .is_some_and(|d| d.trim().eq_ignore_ascii_case("outbound"));
        (0..self.picks.len())
            .map(|i| {
                if i == DIRECTION_INDEX {
                    direction.clone()
                } else {
                    self.value(i, Some(outbound), &get)
                }
            })
            .collect()
    }

    fn value<'a>(
        &self,
        index: usize,
        outbound: Option<bool>,
        get: &impl Fn(&str) -> Option<&'a str>,
    ) -> Option<String> {
        let raw = match &self.picks[index] {
            None => None,
            Some(Pick::Column(c)) => get(c),
            Some(Pick::ByDirection(i, o)) => {
                let name = if outbound == Some(true) { o } else { i };
                name.as_deref().and_then(get)
            }
        };
        let spec = &self.specs[index];
        let raw = raw.filter(|v| !v.trim().is_empty());
        let mut value = match (raw, &spec.default) {
            (Some(v), _) => v.to_string(),
            (None, Some(d)) => d.clone(),
            (None, None) => return None,
        };
        if let Some(prefix) = &spec.strip_prefix {
            if let Some(rest) = value.trim().strip_prefix(prefix.as_str()) {
                value = rest.to_string();
            }
        }
        if !spec.values.is_empty() {
            let key = value.trim().to_lowercase();
            if let Some((_, to)) = spec.values.iter().find(|(from, _)| *from == key) {
                value = to.clone();
            }
        }
        Some(value)
    }

    /// The source column a canonical column is read from, when it is one
    /// plain column (Parquet keeps native timestamps of that column).
    pub fn plain_source(&self, canonical: &str) -> Option<&str> {
        let index = schema::value_columns().position(|c| c == canonical)?;
        match &self.picks[index] {
            Some(Pick::Column(c)) if self.specs[index].default.is_none() => Some(c),
            _ => None,
        }
    }

    /// The same mapping as polars expressions over string-cast columns, one
    /// per value column, aliased to the canonical names.
    pub fn exprs(&self) -> Vec<Expr> {
        let direction = self.expr(DIRECTION_INDEX, None);
        let outbound = direction
            .clone()
            .str()
            .strip_chars(lit(NULL))
            .str()
            .to_lowercase()
            .eq(lit("outbound"))
            .fill_null(false);
        schema::value_columns()
            .enumerate()
            .map(|(i, name)| {
                let e = if i == DIRECTION_INDEX {
                    direction.clone()
                } else {
                    self.expr(i, Some(outbound.clone()))
                };
                e.alias(name)
            })
            .collect()
    }

    fn expr(&self, index: usize, outbound: Option<Expr>) -> Expr {
        let text = |c: &str| col(c).cast(DataType::String);
        let null = || lit(NULL).cast(DataType::String);
        let raw = match &self.picks[index] {
            None => null(),
            Some(Pick::Column(c)) => text(c),
            Some(Pick::ByDirection(i, o)) => {
                let side = |n: &Option<String>| n.as_deref().map_or_else(null, text);
                when(outbound.unwrap_or(lit(false)))
                    .then(side(o))
                    .otherwise(side(i))
            }
        };
        let spec = &self.specs[index];
        // Blank values become missing in `normalize` (§8.21); only a default
        // needs to know it here already.
        let mut value = raw;
        if let Some(default) = &spec.default {
            let blank = value
                .clone()
                .str()
                .strip_chars(lit(NULL))
                .str()
                .len_bytes()
                .eq(lit(0u32));
            value = when(blank)
                .then(lit(default.clone()))
                .otherwise(value)
                .fill_null(lit(default.clone()));
        }
        if let Some(prefix) = &spec.strip_prefix {
            let trimmed = value.clone().str().strip_chars(lit(NULL));
            value = when(trimmed.clone().str().starts_with(lit(prefix.clone())))
                .then(trimmed.str().strip_prefix(lit(prefix.clone())))
                .otherwise(value);
        }
        if !spec.values.is_empty() {
            let key = value
                .clone()
                .str()
                .strip_chars(lit(NULL))
                .str()
                .to_lowercase();
            for (from, to) in spec.values.iter().rev() {
                value = when(key.clone().eq(lit(from.clone())))
                    .then(lit(to.clone()))
                    .otherwise(value);
            }
        }
        value
    }
}

/// Lower-case, trimmed names: how headers are matched.
pub fn header_names<'a>(names: impl Iterator<Item = &'a str>) -> Vec<String> {
    names
        .map(|h| {
            h.trim()
                .trim_start_matches('\u{feff}')
                .trim()
                .to_lowercase()
        })
        .collect()
}

/// Header name → position, first occurrence wins.
pub fn positions(header: &[String]) -> HashMap<&str, usize> {
    let mut map = HashMap::new();
    for (i, h) in header.iter().enumerate() {
        map.entry(h.as_str()).or_insert(i);
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    fn twilio() -> Mapping {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.toml");
        std::fs::write(
            &path,
            r#"
[columns]
message_id = "Sid"
contact = { inbound = "From", outbound = "To" }
timestamp = "date_sent"
[defaults]
type = "text"
[strip_prefix]
contact = "whatsapp:"
[values.direction]
"outbound-api" = "outbound"
"#,
        )
        .unwrap();
        Mapping::load(Some(&path), &[]).unwrap()
    }

    #[test]
    fn by_direction_prefix_default_and_values() {
        let header = header_names(["sid", "From", "to", "direction", "date_sent"].into_iter());
        let resolved = twilio().resolve(&header);
        let row = [
            "SM1",
            "whatsapp:+966501234567",
            "whatsapp:+15550001",
            "outbound-api",
            "x",
        ];
        let at = positions(&header);
        let fields = resolved.fields(|c| at.get(c).map(|&i| row[i]));
        assert_eq!(fields[0].as_deref(), Some("SM1"));
        assert_eq!(fields[2].as_deref(), Some("+15550001"));
        assert_eq!(fields[3].as_deref(), Some("outbound"));
        assert_eq!(fields[5].as_deref(), Some("text"));
    }

    #[test]
    fn missing_mapped_column_names_the_source_and_what_was_found() {
        let mapping = twilio();
        let header = header_names(["sid", "direction"].into_iter());
        let err = mapping
            .resolve(&header)
            .check_required(&mapping, "x.csv", &schema::REQUIRED_COLUMNS, &header)
            .unwrap_err()
            .to_string();
        assert!(err.contains("contact (mapped from From/To)"), "{err}");
        assert!(err.contains("columns found: sid, direction"), "{err}");
    }

    #[test]
    fn unknown_canonical_name_is_an_error() {
        let err = Mapping::load(None, &["phone=Phone".into()]).unwrap_err();
        assert!(
            err.to_string().contains("\"phone\" is not a column"),
            "{err}"
        );
        assert!(Mapping::load(None, &["contact".into()]).is_err());
    }
}
