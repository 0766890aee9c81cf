#!/usr/bin/env bash
# The Spark path in local mode beside the binary and the kit's DuckDB peer
# (the strongest peer we know), on the kit's 1M-row log, one run each in
# this one invocation (README "When one machine is not enough"). The
# binary and the Spark path write a run directory from the same log and
# flags; the script checks they are the same bytes, checks the binary's
# sends against the peer's (bench/agree.py), and writes bench/SPARK.md.
#
#   bench/spark.sh
#
# Needs PYTHON (default python3) with bench/requirements.txt for the log
# and the peer, and what spark/run_local.sh installs (a JDK 17, pyspark).
set -euo pipefail
cd "$(dirname "$0")/.."

source bench/setup.sh
LOG="$WORK/bench-1000000"
[ -f "$LOG.parquet" ] || "$PY" "$KIT/gen.py" --rows 1000000 --seed 1 \
  --start 2026-07-01 --end 2027-01-01 --format parquet --out "$LOG" --quiet
FLAGS=(--allow-rejected --quiet --rates "$KIT/test-rates/rates.csv" --markets "$KIT/test-rates/markets.csv")
PARTS_ROWS=250000

cd "$WORK"
rm -rf spark-local spark-spark
/usr/bin/time -f "%e %M" -o time-local.txt "$BIN" report --input bench-1000000.parquet \
  --out spark-local "${FLAGS[@]}"
WINDOW_LEDGER_BIN="$BIN" SPARK_PART_ROWS=$PARTS_ROWS WINDOW_LEDGER_TIMINGS=1 \
  /usr/bin/time -f "%e %M" -o time-spark.txt \
  "$OLDPWD/spark/run_local.sh" bench-1000000.parquet spark-spark "${FLAGS[@]}" 2> spark-stderr.txt
rm -rf spark-duckdb
/usr/bin/time -f "%e %M" -o time-duckdb.txt "$PY" "$KIT/peer_duckdb.py" bench-1000000.parquet \
  --rates "$KIT/test-rates/rates.csv" --markets "$KIT/test-rates/markets.csv" --out spark-duckdb > /dev/null
same=$(diff -rq spark-local spark-spark > /dev/null && echo "identical" || echo "DIFFERENT")
agreement=$("$PY" "$OLDPWD/bench/agree.py" spark-local/sends.csv spark-duckdb/sends.parquet || true)
read -r local_s local_kb < time-local.txt
read -r spark_s spark_kb < time-spark.txt
read -r duckdb_s duckdb_kb < time-duckdb.txt
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
stages=$(grep '\] spark:' spark-stderr.txt || true)
cd "$OLDPWD"

cat > bench/SPARK.md <<MD
# The Spark path beside the binary (bench/spark.sh)

- machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)
- date: $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD), release build
- log: the kit's gen.py --rows 1000000 --seed 1 --start 2026-07-01 --end 2027-01-01; every tool prices with the kit's TEST card
- peer: the kit's peer_duckdb.py (DuckDB $("$PY" -c 'import duckdb; print(duckdb.__version__)')), $KIT
- Spark path: spark/run_local.sh in local mode (local[*], parts of $PARTS_ROWS rows, pyspark $("${WINDOW_LEDGER_SPARK_VENV:-$HOME/.cache/window-ledger/spark-venv}/bin/python" -c 'import pyspark; print(pyspark.__version__)')), the driver and the report from its tables
- one run each, one after the other in this invocation; wall s and the largest process's peak RSS from /usr/bin/time

| tool | wall s | peak RSS | / DuckDB peer | / window-ledger |
|---|---:|---:|---:|---:|
| DuckDB peer | $duckdb_s | $((duckdb_kb / 1024)) MiB | 1.00 | $(ratio "$duckdb_s" "$local_s") |
| window-ledger report | $local_s | $((local_kb / 1024)) MiB | $(ratio "$local_s" "$duckdb_s") | 1.00 |
| spark/run_local.sh | $spark_s | $((spark_kb / 1024)) MiB | $(ratio "$spark_s" "$duckdb_s") | $(ratio "$spark_s" "$local_s") |

Run directories of window-ledger and the Spark path: **$same**.
window-ledger and the DuckDB peer: $agreement.

The driver's stages (each names where the driver's lazy plan is run up to):

\`\`\`text
$stages
\`\`\`
MD
cat bench/SPARK.md
