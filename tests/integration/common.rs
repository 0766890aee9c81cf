//! Helpers shared by the integration tests.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

pub const HEADER: &str = "message_id,contact,direction,timestamp,type,category,status,error_code";

/// Writes `lines` under a header as a CSV file and returns its path.
pub fn write_csv(dir: &Path, name: &str, header: &str, lines: &[&str]) -> PathBuf {
    let path = dir.join(name);
    let mut text = String::from(header);
    text.push('\n');
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    std::fs::write(&path, text).unwrap();
    path
}

pub fn ledger() -> Command {
    Command::cargo_bin("window-ledger").unwrap()
}

/// Rows of a CSV file as maps from column name to value.
pub fn read_rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut reader =
        csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            headers
                .iter()
                .map(String::from)
                .zip(r.iter().map(String::from))
                .collect()
        })
        .collect()
}

/// `message_id → value of column` in a table.
pub fn column_by_id(path: &Path, column: &str) -> BTreeMap<String, String> {
    read_rows(path)
        .into_iter()
        .map(|row| (row["message_id"].clone(), row[column].clone()))
        .collect()
}

pub fn summary_json(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

/// The messages of docs §7 (contact +966501234567), day 1, 2 and 4 given.
pub fn example_rows(day1: &str, day2: &str, day4: &str) -> Vec<String> {
    vec![
        format!("m1,+966501234567,inbound,{day1}T10:00:00Z,text,,,"),
        format!("m2,+966501234567,outbound,{day1}T10:05:00Z,text,,delivered,"),
        format!("m3,+966501234567,outbound,{day1}T18:00:00Z,template,utility,delivered,"),
        format!("m4,+966501234567,outbound,{day1}T19:00:00Z,template,marketing,read,"),
        format!("m5,+966501234567,outbound,{day2}T10:00:00Z,text,,delivered,"),
        format!("m6,+966501234567,outbound,{day2}T11:00:00Z,template,utility,delivered,"),
        format!("m7,+966501234567,inbound,{day2}T12:00:00Z,text,,,"),
        format!("m8,+966501234567,outbound,{day4}T09:00:00Z,template,marketing,delivered,"),
        format!("m9,+966501234567,outbound,{day4}T09:30:00Z,template,utility,delivered,"),
    ]
}

/// Every file under `root`, relative to it, sorted.
pub fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path.strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    files.sort();
    files
}
