#!/usr/bin/env bash
# Benchmark harness (issue 6). For each size (a contact count; about 18
# messages per contact over 90 days, so 55000 contacts ≈ 1M rows):
#   1. generate a seeded Parquet log with `window-ledger generate`;
#   2. time `window-ledger report` on it (release build), with its stage
#      timings (WINDOW_LEDGER_TIMINGS), and again with --row-tables parquet;
#   3. time the DuckDB peer (bench/peer.sql) on the same file; on the
#      first size, check that it agrees with window-ledger's sends.csv on
#      every class and cost (the run stops if not);
#   4. time the floor (examples/floor.rs: read the needed columns, sort by
#      business_number, contact, timestamp).
# Each is measured with /usr/bin/time -v (wall, user+sys, peak RSS), and
# bench/RESULTS.md gets the table with the ratios.
#
#   bench/run.sh                 # 1M and 10M rows
#   bench/run.sh 55000 5500000   # other sizes
#
# Above PEER_UP_TO contacts (default 550000, ~10M rows) only `report` and
# the floor run: the DuckDB peer took 18.5 GiB at 10M rows. A command that
# fails (the floor sorts everything in memory) is recorded as failed.
#
# Needs python3 with duckdb and phonenumbers (pip install -r bench/requirements.txt).
set -euo pipefail
cd "$(dirname "$0")/.."

SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(55000 550000)
WORK="${BENCH_DIR:-/tmp/window-ledger-bench}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/window-ledger/target}"
cargo build --release --locked --quiet --bin window-ledger --example floor
BIN="$CARGO_TARGET_DIR/release/window-ledger"
FLOOR="$CARGO_TARGET_DIR/release/examples/floor"
mkdir -p "$WORK"

# Runs a command under /usr/bin/time -v; prints "wall_s cpu_s rss_mib"
# ("failed - -" when it exits non-zero). Its stderr is left in $WORK/stderr.txt.
measure() {
  local log="$WORK/time.txt"
  if ! /usr/bin/time -v -o "$log" "$@" > /dev/null 2> "$WORK/stderr.txt"; then
    echo "failed - -"
    return
  fi
  awk -F': ' '
    /Elapsed \(wall clock\)/ { n = split($2, t, ":"); wall = (n == 3) ? t[1]*3600 + t[2]*60 + t[3] : t[1]*60 + t[2] }
    /User time/ { user = $2 } /System time/ { sys = $2 }
    /Maximum resident set size/ { rss = $2 / 1024 }
    END { printf "%.1f %.1f %.0f\n", wall, user + sys, rss }' "$log"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else printf "-" }'; }

{
  echo "# window-ledger benchmark results"
  echo
  echo "- machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
  echo "- date: $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD)"
  echo "- release build; seed 7; 90 days from 2026-08-01; 3 business numbers"
  echo "- wall s / CPU s (user+sys) / peak RSS MiB, each from /usr/bin/time -v"
  echo
  echo "| rows | generate | window-ledger report | report, Parquet row tables | DuckDB peer | floor | report / peer | report / floor | Parquet run / peer | Parquet run / floor |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
} > "$WORK/RESULTS.md"
: > "$WORK/stages.md"

# The agreement check runs on the first size the peer runs on.
first=1
echo "not checked (the peer ran on no size of this run)" > "$WORK/agreement.txt"
for contacts in "${SIZES[@]}"; do
  log="$WORK/log-$contacts.parquet"
  read -r gw gc gr < <(measure "$BIN" generate --contacts "$contacts" --days 90 --seed 7 --out "$log")
  read -r rw rc rr < <(WINDOW_LEDGER_TIMINGS=1 measure "$BIN" report --quiet --input "$log" --out "$WORK/run-$contacts")
  cp "$WORK/stderr.txt" "$WORK/stages-$contacts.txt"
  if [ "$contacts" -gt "${PEER_UP_TO:-550000}" ]; then
    # The peer needed 18.5 GiB at 10M rows; the Parquet variant would add
    # another full run. Both are measured up to PEER_UP_TO contacts.
    qw="not run" qc="-" qr="-" pw="not run" pc="-" pr="-"
  else
    read -r qw qc qr < <(measure "$BIN" report --quiet --row-tables parquet --input "$log" --out "$WORK/run-parquet-$contacts")
    read -r pw pc pr < <(measure python3 bench/peer.py run "$log" "$WORK/peer-$contacts.parquet")
  fi
  if [ "$first" = 1 ] && [ "$pw" != "not run" ]; then
    python3 bench/peer.py compare "$WORK/peer-$contacts.parquet" "$WORK/run-$contacts/sends.csv" | tee "$WORK/agreement.txt"
    first=0
  fi
  read -r fw fc fr < <(measure "$FLOOR" "$log")
  rows=$(python3 -c "import json;print(json.load(open('$WORK/run-$contacts/summary.json'))['rows']['read'])")
  echo "| $rows | $gw / $gc / $gr | $rw / $rc / $rr | $qw / $qc / $qr | $pw / $pc / $pr | $fw / $fc / $fr | $(ratio "$rw" "$pw") | $(ratio "$rw" "$fw") | $(ratio "$qw" "$pw") | $(ratio "$qw" "$fw") |" >> "$WORK/RESULTS.md"
  { echo; echo "Stages of \`report\` on $rows rows (seconds since start):"; echo; echo '```'; cat "$WORK/stages-$contacts.txt"; echo '```'; } >> "$WORK/stages.md"
done
{
  echo
  echo "Peer agreement on the first size: $(cat "$WORK/agreement.txt")"
  cat "$WORK/stages.md"
} >> "$WORK/RESULTS.md"
cp "$WORK/RESULTS.md" bench/RESULTS.md
cat bench/RESULTS.md
