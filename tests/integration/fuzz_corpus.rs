//! The fuzz targets' seeds and every committed crash regression, run
//! through the same `window_ledger::fuzzing` functions the targets call
//! (issue 7): a finding fixed once stays fixed without a fuzzer installed.

use std::path::Path;

use window_ledger::fuzzing;

use crate::common::files_under;

type Target = fn(&[u8]);

const TARGETS: [(&str, Target); 4] = [
    ("csv_log", fuzzing::csv_log),
    ("webhook_log", fuzzing::webhook_log),
    ("timestamp", fuzzing::timestamp_texts),
    ("rate_card", fuzzing::rate_card),
];

fn run_all_under(kind: &str) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(kind);
    let mut ran = 0;
    for (target, run) in TARGETS {
        let dir = root.join(target);
        if !dir.is_dir() {
            continue;
        }
        let mut files = files_under(&dir);
        files.sort();
        for file in files {
            let bytes = std::fs::read(dir.join(&file)).unwrap();
            eprintln!("{kind}/{target}/{}", file.display());
            run(&bytes);
            ran += 1;
        }
    }
    ran
}

#[test]
fn every_seed_and_crash_regression_parses_without_a_panic() {
    let seeds = run_all_under("seeds");
    assert!(
        seeds >= TARGETS.len(),
        "each target has seeds ({seeds} found)"
    );
    run_all_under("regressions");
}
