#!/usr/bin/env bash
# Large-log record: window-ledger alone on 10M and 100M rows, for the
# memory and scaling targets (100M rows in at most 8 GiB, in at most 11x
# the time of 10M). The peers are not run: the DuckDB and polars peers
# hold the whole log (5.3-5.4 GiB at 10M rows in bench/RESULTS.md), so at
# 100M rows they would need far more than the 24 GiB of the machines this
# is run on; bench/run.sh compares with them.
#
# The kit's gen.py builds a log in memory and cannot write 100M rows in
# 24 GiB, so the 100M-row log is ten 10M-row logs of seeds 1 to 10 (same
# period, same business numbers, other contacts and ids), read as one
# directory; the 10M-row log is the first of them.
#
#   bench/large.sh        # writes bench/LARGE.md
#
# Needs PYTHON (default python3) with bench/requirements.txt, and about
# 2 GB of disk for the logs, 9 GB for the run's work directory and 13 GB
# for its run directory (sends.csv is 11.6 GB): remove the work
# directories of stopped runs (.<out>.parts-<pid>) first.
set -euo pipefail
cd "$(dirname "$0")/.."

source bench/setup.sh
LOGS="$WORK/bench-100m"
mkdir -p "$LOGS" "$WORK/first-10m"
for seed in 01 02 03 04 05 06 07 08 09 10; do
  [ -f "$LOGS/seed-$seed.parquet" ] || "$PY" "$KIT/gen.py" --rows 10000000 --seed "$((10#$seed))" \
    --start 2026-07-01 --end 2027-01-01 --format parquet --out "$LOGS/seed-$seed" --quiet
done
ln -sf "$LOGS/seed-01.parquet" "$WORK/first-10m/seed-01.parquet"

# Runs window-ledger on a directory of logs; prints "wall_s cpu_s rss_mib
# disk_mib", disk being the largest its work directory grew.
measure() {
  local input="$1" out="$2" max=0 size
  rm -rf "$out"
  WINDOW_LEDGER_TIMINGS=1 /usr/bin/time -v -o "$WORK/time.txt" "$BIN" report --quiet \
    --allow-rejected --input "$input" --rates "$KIT/test-rates/rates.csv" \
    --markets "$KIT/test-rates/markets.csv" --out "$out" > /dev/null 2> "$WORK/stderr.txt" &
  local pid=$!
  while kill -0 "$pid" 2> /dev/null; do
    # No work directory yet (or any more) is no disk, not an error.
    size=$({ du -sk "$(dirname "$out")"/."$(basename "$out")".parts-* 2> /dev/null || true; } |
      awk '{t += $1} END {print t + 0}')
    [ "$size" -gt "$max" ] && max=$size
    sleep 1
  done
  wait "$pid"
  awk -F': ' -v disk="$max" '
    /Elapsed \(wall clock\)/ { n = split($2, t, ":"); wall = (n == 3) ? t[1]*3600 + t[2]*60 + t[3] : t[1]*60 + t[2] }
    /User time/ { user = $2 } /System time/ { sys = $2 }
    /Maximum resident set size/ { rss = $2 / 1024 }
    END { printf "%.1f %.1f %.0f %.0f\n", wall, user + sys, rss, disk / 1024 }' "$WORK/time.txt"
}

read -r w10 c10 r10 d10 < <(measure "$WORK/first-10m" "$WORK/wl-large-10m")
read -r w100 c100 r100 d100 < <(measure "$LOGS" "$WORK/wl-large-100m")
timings=$(cat "$WORK/stderr.txt" | grep -v ' of 400: ')
rows100=$("$PY" -c "import json;print(json.load(open('$WORK/wl-large-100m/summary.json'))['rows']['read'])")
{
  echo "# window-ledger large-log record"
  echo
  echo "- machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
  echo "- date: $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD)"
  echo "- kit: $KIT (bench/kit is an unchanged copy of the steering repository's benchmark kit; checksums in bench/kit/README.md)"
  echo "- peers: not run (they hold the whole log, 5.3-5.4 GiB at 10M rows); the side-by-side record with the DuckDB and polars peers is bench/RESULTS.md"
  echo "- logs: the kit's gen.py --rows 10000000 --start 2026-07-01 --end 2027-01-01, seeds 1 to 10 (100M rows) and seed 1 alone (10M rows)"
  echo "- window-ledger report with its default outputs and the kit's TEST card; one run each"
  echo "- wall s / CPU s (user+sys) / peak RSS MiB from /usr/bin/time -v; work directory: its largest size"
  echo
  echo "| rows | wall s | CPU s | peak RSS MiB | work directory MiB |"
  echo "|---:|---:|---:|---:|---:|"
  echo "| 10M | $w10 | $c10 | $r10 | $d10 |"
  echo "| $rows100 | $w100 | $c100 | $r100 | $d100 |"
  echo
  echo "100M rows took $(awk -v a="$w100" -v b="$w10" 'BEGIN { printf "%.1f", a / b }')x the time of 10M (target: at most 11x) in $(awk -v r="$r100" 'BEGIN { printf "%.2f", r / 1024 }') GiB (target: at most 8 GiB)."
  echo
  echo "Stages of the 100M-row run (seconds since start; the 400 parts left out):"
  echo
  echo '```'
  echo "$timings"
  echo '```'
} > bench/LARGE.md
cat bench/LARGE.md
