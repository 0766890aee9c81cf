//! The library's modules form layers, top down: command line → commands →
//! report → pipeline → settings → stages → storage → base. A module may use
//! modules of its own layer or below, never above; the build itself does
//! not stop an upward `use`, so this test reads the sources and does.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Every top-level module of `src/`, lowest layer first.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "base",
        &["schema", "frames", "timestamps", "error", "country"],
    ),
    ("storage", &["rows"]),
    (
        "stages",
        &[
            "ingest",
            "normalize",
            "windows",
            "classify",
            "pricing",
            "reconcile",
            "privacy",
            "state",
        ],
    ),
    ("settings", &["config"]),
    ("pipeline", &["pipeline"]),
    ("report", &["report"]),
    ("commands", &["commands", "generate", "fuzzing"]),
    ("command line", &["cli"]),
];

/// What the crate root re-exports, by the module that defines it.
const ROOT_ITEMS: &[(&str, &str)] = &[
    ("bad_input", "error"),
    ("Analysis", "pipeline"),
    ("FileAccount", "pipeline"),
    ("analyse", "pipeline"),
    ("load_rates", "pipeline"),
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS
        .iter()
        .position(|(_, modules)| modules.contains(&module))
}

/// The top-level module a source file belongs to (`src/report/html.rs`
/// → `report`); `None` for the crate root and the binary.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src).ok()?;
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.trim_end_matches(".rs");
    (!matches!(name, "lib" | "main")).then(|| name.to_string())
}

/// The top-level modules named by `crate::…` paths in `text`, including
/// the members of `use crate::{a, b::c}`.
fn crate_uses(text: &str) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    for (at, _) in text.match_indices("crate::") {
        // `window_ledger::…` in doc examples is not `crate::`.
        if text[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &text[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            for part in split_top_level(group) {
                let name = ident(part.trim());
                if !name.is_empty() {
                    used.insert(name);
                }
            }
        } else {
            let name = ident(rest);
            if !name.is_empty() {
                used.insert(name);
            }
        }
    }
    used
}

/// The top-level members of a `{…}` group (the text after its `{`).
fn split_top_level(group: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                parts.push(&group[start..i]);
                return parts;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&group[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// Every `(file, used module)` where the used module is in a higher layer.
fn upward_uses(src: &Path) -> Vec<String> {
    let mut wrong = Vec::new();
    for file in rust_files(src) {
        let Some(module) = module_of(src, &file) else {
            continue;
        };
        let own = layer_of(&module)
            .unwrap_or_else(|| panic!("{}: module {module} is in no layer", file.display()));
        let text = std::fs::read_to_string(&file).unwrap();
        for used in crate_uses(&text) {
            let target = ROOT_ITEMS
                .iter()
                .find(|(item, _)| *item == used)
                .map_or(used.as_str(), |(_, m)| m);
            let Some(layer) = layer_of(target) else {
                panic!("{}: crate::{used} is in no layer", file.display());
            };
            if layer > own || (target == "cli" && module != "cli") {
                wrong.push(format!(
                    "{} ({}) uses crate::{used} ({})",
                    file.strip_prefix(src).unwrap().display(),
                    LAYERS[own].0,
                    LAYERS[layer].0
                ));
            }
        }
    }
    wrong
}

#[test]
fn no_module_uses_a_higher_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let wrong = upward_uses(&src);
    assert!(wrong.is_empty(), "upward uses:\n{}", wrong.join("\n"));
}

/// The check itself finds an upward use, in any of the forms a path takes.
#[test]
fn an_upward_use_is_found() {
    let dir = tempfile::TempDir::new().unwrap();
    let src = dir.path();
    std::fs::create_dir(src.join("report")).unwrap();
    std::fs::write(src.join("report/html.rs"), "use crate::rows::Rows;\n").unwrap();
    std::fs::write(src.join("lib.rs"), "pub use crate::cli::Cli;\n").unwrap();
    std::fs::write(src.join("windows.rs"), "use crate::{schema::*, report};\n").unwrap();
    std::fs::write(
        src.join("normalize.rs"),
        "let f = crate::cli::Cli::parse;\n",
    )
    .unwrap();
    std::fs::write(src.join("config.rs"), "fn f(a: &crate::Analysis) {}\n").unwrap();
    assert_eq!(
        upward_uses(src),
        [
            "config.rs (settings) uses crate::Analysis (pipeline)",
            "normalize.rs (stages) uses crate::cli (command line)",
            "windows.rs (stages) uses crate::report (report)",
        ]
    );
}
