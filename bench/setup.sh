# Sourced by bench/run.sh and bench/large.sh, from the repository root:
# the benchmark kit (KIT), Python (PYTHON), the work directory (BENCH_DIR)
# and a release build of window-ledger ($BIN).
KIT="$(cd "${KIT:-bench/kit}" && pwd)"
PY="${PYTHON:-python3}"
WORK="${BENCH_DIR:-/tmp/window-ledger-bench}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/window-ledger/target}"
cargo build --release --locked --quiet --bin window-ledger
BIN="$CARGO_TARGET_DIR/release/window-ledger"
mkdir -p "$WORK"
