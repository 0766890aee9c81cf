#!/usr/bin/env bash
# Benchmark harness (issue 6, in progress): generates seeded logs with
# `window-ledger generate`, then times `generate` and `report` on each size
# with /usr/bin/time -v (wall, user+sys, peak RSS) and writes
# bench/RESULTS.md. Sizes are given as contact counts; about 18 messages
# per contact over 90 days, so 55000 contacts ≈ 1M rows.
#
#   bench/run.sh                 # 1M and 10M rows
#   bench/run.sh 55000 5500000   # other sizes
set -euo pipefail
cd "$(dirname "$0")/.."

SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(55000 550000)
WORK="${BENCH_DIR:-/tmp/window-ledger-bench}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/window-ledger/target}"
cargo build --release --locked --quiet
BIN="$CARGO_TARGET_DIR/release/window-ledger"
mkdir -p "$WORK"

# Runs a command under /usr/bin/time -v; prints "wall_s cpu_s rss_mib".
measure() {
  local log="$WORK/time.txt"
  /usr/bin/time -v "$@" > /dev/null 2> "$log"
  awk -F': ' '
    /Elapsed \(wall clock\)/ { n = split($2, t, ":"); wall = (n == 3) ? t[1]*3600 + t[2]*60 + t[3] : t[1]*60 + t[2] }
    /User time/ { user = $2 } /System time/ { sys = $2 }
    /Maximum resident set size/ { rss = $2 / 1024 }
    END { printf "%.1f %.1f %.0f\n", wall, user + sys, rss }' "$log"
}


{
  echo "# window-ledger benchmark results"
  echo
  echo "- machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
  echo "- date: $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD)"
  echo "- release build; seed 7; 90 days from 2026-08-01; 3 business numbers"
  echo
  echo "| contacts | rows | generate wall (s) | generate CPU (s) | generate peak RSS (MiB) | report wall (s) | report CPU (s) | report peak RSS (MiB) |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
} > "$WORK/RESULTS.md"

for contacts in "${SIZES[@]}"; do
  log="$WORK/log-$contacts.parquet"
  read -r gw gc gr < <(measure "$BIN" generate --contacts "$contacts" --days 90 --seed 7 --out "$log")
  read -r rw rc rr < <(measure "$BIN" report --quiet --input "$log" --out "$WORK/run-$contacts")
  rows=$(python3 -c "import json;print(json.load(open('$WORK/run-$contacts/summary.json'))['rows']['read'])")
  echo "| $contacts | $rows | $gw | $gc | $gr | $rw | $rc | $rr |" >> "$WORK/RESULTS.md"
done
cp "$WORK/RESULTS.md" bench/RESULTS.md
cat bench/RESULTS.md
