#!/usr/bin/env bash
# Benchmark harness: window-ledger against the strongest peers we know, all
# in one run on the same logs.
#
# The peers, the floor and the generator are the benchmark kit (KIT,
# default bench/kit, an unchanged copy of the one the project's steering
# repository gives its developers; see bench/kit/README.md): gen.py writes
# the logs, peer_duckdb.py is a competent DuckDB implementation of the same
# rules, peer_polars.py the same in Python polars, floor.py reads the
# needed columns and sorts them (a lower bound for any exact method), and
# test-rates/ is the TEST rate card every tool prices with.
#
# For each size (rows; default 1M and 10M):
#   1. gen.py --rows N --seed 1 --start 2026-07-01 --end 2027-01-01;
#   2. the floor, the DuckDB peer, the polars peer and `window-ledger
#      report` with its default outputs (CSV row tables, HTML, workbook,
#      charts), each under /usr/bin/time -v, best of RUNS (default 3 up to
#      1M rows, 1 above) by wall time;
#   3. bench/agree.py: window-ledger's sends against the DuckDB peer's, on
#      every column but window_id (the harness stops if they disagree).
# bench/RESULTS.md gets the table, the ratios and the stage timings of
# window-ledger (WINDOW_LEDGER_TIMINGS).
#
#   bench/run.sh                     # 1M and 10M rows
#   bench/run.sh 1000000             # one size
#   PEERS_UP_TO=10000000 bench/run.sh 100000000   # peers skipped above
#
# Needs PYTHON (default python3) with duckdb, polars, pyarrow, phonenumbers
# and numpy (pip install -r bench/requirements.txt).
set -euo pipefail
cd "$(dirname "$0")/.."

SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(1000000 10000000)
source bench/setup.sh
RATES="$KIT/test-rates/rates.csv"
MARKETS="$KIT/test-rates/markets.csv"

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
    END { printf "%.2f %.1f %.0f\n", wall, user + sys, rss }' "$log"
}

# The best (lowest wall) of $runs measurements of a command.
best_of() {
  local runs="$1" best="" line
  shift
  for _ in $(seq "$runs"); do
    line=$(measure "$@")
    if [ -z "$best" ] || awk -v a="${line%% *}" -v b="${best%% *}" 'BEGIN { exit !(a + 0 < b + 0) }'; then
      best="$line"
    fi
  done
  echo "$best"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else printf "-" }'; }

cell() { echo "$1 / $2 / $3"; }

{
  echo "# window-ledger benchmark results"
  echo
  echo "- machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
  echo "- date: $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD)"
  echo "- kit: $KIT (bench/kit is an unchanged copy of the steering repository's benchmark kit; checksums in bench/kit/README.md)"
  echo "- logs: the kit's gen.py --rows N --seed 1 --start 2026-07-01 --end 2027-01-01 (Parquet)"
  echo "- every tool prices with the kit's TEST card (test-rates/); window-ledger writes its default outputs"
  echo "- peers: the kit's peer_duckdb.py (DuckDB $("$PY" -c 'import duckdb; print(duckdb.__version__)')) and peer_polars.py (polars $("$PY" -c 'import polars; print(polars.__version__)')); floor: the kit's floor.py"
  echo "- wall s / CPU s (user+sys) / peak RSS MiB from /usr/bin/time -v; $([ -n "${RUNS:-}" ] && echo "best of $RUNS runs at every size" || echo "best of 3 runs up to 1M rows, one run above")"
  echo
  echo "| rows | floor | DuckDB peer | polars peer | window-ledger | / DuckDB peer | / polars peer | / floor |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
} > "$WORK/RESULTS.md"
: > "$WORK/notes.md"

for rows in "${SIZES[@]}"; do
  log="$WORK/bench-$rows.parquet"
  [ -f "$log" ] || "$PY" "$KIT/gen.py" --rows "$rows" --seed 1 --start 2026-07-01 --end 2027-01-01 \
    --format parquet --out "${log%.parquet}" --quiet
  runs="${RUNS:-$([ "$rows" -le 1000000 ] && echo 3 || echo 1)}"
  card=(--rates "$RATES" --markets "$MARKETS")
  read -r lw lc lr < <(WINDOW_LEDGER_TIMINGS=1 best_of "$runs" "$BIN" report --quiet --allow-rejected \
    --input "$log" "${card[@]}" --out "$WORK/wl-$rows")
  timings=$(cat "$WORK/stderr.txt")
  read -r fw fc fr < <(best_of "$runs" "$PY" "$KIT/floor.py" "$log")
  if [ "$rows" -le "${PEERS_UP_TO:-10000000}" ]; then
    read -r dw dc dr < <(best_of "$runs" "$PY" "$KIT/peer_duckdb.py" "$log" "${card[@]}" --out "$WORK/duckdb-$rows")
    read -r pw pc pr < <(best_of "$runs" "$PY" "$KIT/peer_polars.py" "$log" "${card[@]}" --out "$WORK/polars-$rows")
    agreement=$("$PY" bench/agree.py "$WORK/wl-$rows/sends.csv" "$WORK/duckdb-$rows/sends.parquet") || {
      echo "$agreement"
      exit 1
    }
  else
    dw="not run" dc="-" dr="-" pw="not run" pc="-" pr="-" agreement="not checked (peers not run)"
  fi
  read_rows=$("$PY" -c "import json;print(json.load(open('$WORK/wl-$rows/summary.json'))['rows']['read'])")
  echo "| $read_rows | $(cell "$fw" "$fc" "$fr") | $(cell "$dw" "$dc" "$dr") | $(cell "$pw" "$pc" "$pr") | $(cell "$lw" "$lc" "$lr") | $(ratio "$lw" "$dw") | $(ratio "$lw" "$pw") | $(ratio "$lw" "$fw") |" >> "$WORK/RESULTS.md"
  {
    echo
    echo "$read_rows rows: window-ledger and the DuckDB peer $agreement."
    echo
    echo "Stages of \`report\` (seconds since start, its last measured run):"
    echo
    echo '```'
    echo "$timings"
    echo '```'
  } >> "$WORK/notes.md"
done
cat "$WORK/notes.md" >> "$WORK/RESULTS.md"
cp "$WORK/RESULTS.md" bench/RESULTS.md
cat bench/RESULTS.md
