//! The bad-input suite (issue 7): one file per case in `tests/bad_inputs/`,
//! and `cases.toml` beside them saying what the run must do with it — the
//! exit code, the exact error or warning line, and the reasons rows are
//! rejected with. Every case also checks that the run either wrote a whole
//! report whose rows balance, or wrote nothing.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use tempfile::TempDir;

use crate::common::{ledger, read_rows, summary_json};

#[derive(Debug, Deserialize)]
struct Case {
    name: String,
    /// Message logs, in `tests/bad_inputs/` ("missing" = a path that does not exist).
    inputs: Vec<String>,
    #[serde(default)]
    args: Vec<String>,
    exit: i32,
    /// Lines stderr must contain exactly, `{dir}` standing for the cases'
    /// directory and `{out}` for the run directory.
    #[serde(default)]
    stderr: Vec<String>,
    /// `reason` of each rejected row, in rejected.csv's order.
    #[serde(default)]
    rejected: Vec<String>,
    /// Rows processed (outbound and inbound) when the report is written.
    processed: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct Cases {
    case: Vec<Case>,
}

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_inputs")
}

fn run_case(case: &Case) -> Result<(), String> {
    let dir = cases_dir();
    let tmp = TempDir::new().unwrap();
    let out = tmp.path().join("run");
    let fill = |s: &str| {
        s.replace("{dir}", &dir.display().to_string())
            .replace("{out}", &out.display().to_string())
    };
    let mut cmd = ledger();
    cmd.arg("report");
    if !case.args.iter().any(|a| a == "--out") {
        cmd.arg("--out").arg(&out);
    }
    for input in &case.inputs {
        cmd.arg("--input").arg(dir.join(input));
    }
    cmd.args(case.args.iter().map(|a| fill(a)));
    let output = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    let code = output.status.code().unwrap_or(-1);
    if code != case.exit {
        return Err(format!(
            "exit {code}, expected {}; stderr:\n{stderr}",
            case.exit
        ));
    }
    if stderr.contains("panicked") {
        return Err(format!("panicked:\n{stderr}"));
    }
    for line in &case.stderr {
        let line = fill(line);
        if !stderr.lines().any(|l| l == line) {
            return Err(format!(
                "stderr lacks the line\n  {line}\nit was:\n{stderr}"
            ));
        }
    }
    if !out.join("summary.json").exists() {
        return match out.exists() {
            true => Err("a run directory without summary.json was left behind".into()),
            false if case.processed.is_some() => Err("no report was written".into()),
            false => Ok(()),
        };
    }
    let rows = summary_json(&out)["rows"].clone();
    let n = |k: &str| rows[k].as_u64().unwrap_or(0);
    if n("read") != n("processed") + n("rejected") + n("duplicates") + n("merged") {
        return Err(format!("rows do not balance: {rows}"));
    }
    if let Some(processed) = case.processed {
        if n("processed") != processed {
            return Err(format!(
                "processed {}, expected {processed}",
                n("processed")
            ));
        }
    }
    let reasons: Vec<String> = read_rows(&out.join("rejected.csv"))
        .into_iter()
        .map(|row| row["reason"].clone())
        .collect();
    if reasons != case.rejected {
        return Err(format!(
            "rejected reasons {reasons:?}, expected {:?}",
            case.rejected
        ));
    }
    Ok(())
}

#[test]
fn every_bad_input_case_gets_its_exact_answer() {
    let text = std::fs::read_to_string(cases_dir().join("cases.toml")).unwrap();
    let cases: Cases = toml::from_str(&text).unwrap();
    let failures: Vec<String> = cases
        .case
        .iter()
        .filter_map(|case| run_case(case).err().map(|e| format!("{}: {e}", case.name)))
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
    // Every file of the directory is used by some case.
    let used: std::collections::BTreeSet<String> = cases
        .case
        .iter()
        .flat_map(|c| c.inputs.iter().chain(c.args.iter()).cloned())
        .collect();
    for entry in std::fs::read_dir(cases_dir()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        let mentioned = name == "cases.toml" || used.iter().any(|u| u.contains(&name));
        assert!(
            mentioned,
            "{name} is in tests/bad_inputs but no case uses it"
        );
    }
}
