#!/usr/bin/env bash
# spark/run_local.sh LOG OUT [window-ledger report flags...]
#
# Runs window-ledger's Spark path in local mode on LOG (Parquet files or
# directories of them) and writes the run directory OUT, as
# `window-ledger report --input LOG --out OUT FLAGS` would on one machine.
# Installs what it lacks first: a JDK 17 (Debian's openjdk-17-jre-headless)
# and pyspark in a virtual environment ($WINDOW_LEDGER_SPARK_VENV, default
# ~/.cache/window-ledger/spark-venv). The binary is $WINDOW_LEDGER_BIN, else
# the release build (built if missing).
#
# A LOG named .csv, .csv.gz, .json, .jsonl or .ndjson is read by Spark's
# own reader for that format (a header line for CSV) and staged as Parquet;
# anything else is Parquet.
#
# Environment: SPARK_PART_ROWS (rows per part, default 1000000),
# SPARK_MASTER (default local[*]), SPARK_DRIVER_MEMORY (default 2g),
# SPARK_TABLES (where the driver writes its tables, kept; default OUT.tables,
# removed at the end).
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: spark/run_local.sh LOG OUT [window-ledger report flags...]" >&2
  exit 2
fi
log=$1
out=$2
shift 2
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"

if ! command -v java >/dev/null 2>&1; then
  echo "run_local.sh: installing a JDK 17 (apt)" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null
fi

venv="${WINDOW_LEDGER_SPARK_VENV:-$HOME/.cache/window-ledger/spark-venv}"
if ! "$venv/bin/python" -c "import pyspark, pyarrow" >/dev/null 2>&1; then
  echo "run_local.sh: installing pyspark into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r "$here/requirements.txt"
fi

bin="${WINDOW_LEDGER_BIN:-}"
if [ -z "$bin" ]; then
  target="${CARGO_TARGET_DIR:-$root/target}"
  bin="$target/release/window-ledger"
  if [ ! -x "$bin" ]; then
    (cd "$root" && cargo build --release --locked)
  fi
fi

case "$log" in
  *.csv | *.csv.gz) format=(--format csv --option header=true) ;;
  *.json | *.jsonl | *.ndjson | *.json.gz | *.jsonl.gz | *.ndjson.gz) format=(--format json) ;;
  *) format=(--format parquet) ;;
esac

# Rule flags go to the engine on the executors; report flags (outputs,
# thresholds, language) only to the report. The engine takes them all.
tables="${SPARK_TABLES:-$out.tables}"
rm -rf "$tables"
"$venv/bin/python" "$here/window_ledger_spark.py" \
  --binary "$bin" --tables "$tables" --part-rows "${SPARK_PART_ROWS:-1000000}" \
  --master "${SPARK_MASTER:-local[*]}" --driver-memory "${SPARK_DRIVER_MEMORY:-2g}" \
  "${format[@]}" \
  "$log" -- "$@"
status=0
"$bin" report --from-tables "$tables" --out "$out" "$@" || status=$?
[ -n "${SPARK_TABLES:-}" ] || rm -rf "$tables"
exit $status
