#!/usr/bin/env bash
# The Spark path in local mode beside the binary, on the kit's 1M-row log,
# one run each in this one invocation (README "When one machine is not
# enough"). Both write a run directory from the same log and flags; the
# script checks they are the same bytes and writes bench/SPARK.md.
#
#   bench/spark.sh
#
# Needs PYTHON (default python3) with bench/requirements.txt for the log,
# and what spark/run_local.sh installs (a JDK 17, pyspark).
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
same=$(diff -rq spark-local spark-spark > /dev/null && echo "identical" || echo "DIFFERENT")
read -r local_s local_kb < time-local.txt
read -r spark_s spark_kb < time-spark.txt
stages=$(grep '\] spark:' spark-stderr.txt || true)
cd "$OLDPWD"

cat > bench/SPARK.md <<MD
# The Spark path beside the binary (bench/spark.sh)

One run each, one after the other in one invocation, on $(nproc) cores
($(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD)); the kit's
1M-row log (gen.py seed 1), its test rate card, release build. The Spark
path is spark/run_local.sh in local mode (local[*], parts of $PARTS_ROWS
rows), the driver and the report from its tables.

| path | wall s | peak RSS (largest process) |
|---|---|---|
| window-ledger report | $local_s | $((local_kb / 1024)) MiB |
| spark/run_local.sh | $spark_s | $((spark_kb / 1024)) MiB |

Run directories: **$same**.

The driver's stages (each names where the driver's lazy plan is run up to):

\`\`\`text
$stages
\`\`\`
MD
cat bench/SPARK.md
