"""window-ledger on Apache Spark: the engine's steps run on the executors.

The rules live in the window-ledger binary (its `part` command); this
driver only moves rows and counts. In order:

1. list the message logs as the engine reads them (`part files`);
2. read every log with Spark, numbering each file's rows from 1 (logs in
   another format, `--format`, are read by Spark's reader and staged as
   Parquet first);
3. `part route` on every file's batches: the engine's raw rows (mapping
   applied), each with its id (null when the engine would reject the row)
   and its normalised (business number, contact) pair;
4. a repeated id keeps its first valid copy in input order (files in the
   order listed, rows in file order); the others are duplicates (§8.4);
5. rows grouped into parts by a hash of their pair (a pair is never
   split); `part price` on each part: windows, classes, conversations,
   prices with the part's own free tier, and the keys of the counters
   that cross pairs, kept as Arrow IPC blobs;
6. the counters settled with window functions, on the messages' key
   columns only (ADJUSTMENTS): ROW_NUMBER over each free
   tier (business number or account, and billing month) and each volume
   tier (portfolio, market, rate category, billing month), in (timestamp,
   message_id) order; window and conversation numbers made the run's
   (pairs in (business number, contact) order, as a local run numbers
   them);
7. `part settle` on each part (its blobs and its rows' ranks and shifts,
   cogrouped): the run's free tier and volume tiers priced by the engine
   from those ranks;
8. the tables written as Parquet (`messages`, `windows`, `rejected`, with
   the engine's types beside them, and `run.json`), in a local run's
   order. `window-ledger report --from-tables DIR` then writes the run
   directory on one machine.

Usage (local mode or spark-submit):
    window_ledger_spark.py --binary PATH --tables DIR [--part-rows N]
        [--master M] [--driver-memory M] [--format F --option K=V ...]
        LOG... [-- ENGINE_FLAGS...]
ENGINE_FLAGS are `window-ledger report`'s rule flags (--rates, --regime,
--service-free-tier, --billing-tz, --accounts, --month, ...); files they
name are shipped to the executors.
"""

import argparse
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc
from pyspark import SparkFiles, StorageLevel, TaskContext
from pyspark.sql import SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema

BINARY = "window-ledger"
# Columns the driver adds to every raw row (ingest::DRIVEN_*).
FILE_INDEX, SOURCE_FILE, SOURCE_ROW = "_file_index", "_source_file", "_source_row"
ID, PAIR_BUSINESS, PAIR_CONTACT = "_id", "_pair_business", "_pair_contact"
DUPLICATE = "_duplicate"


def parse_args(argv):
    engine = []
    if "--" in argv:
        cut = argv.index("--")
        argv, engine = argv[:cut], argv[cut + 1 :]
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", required=True, help="the window-ledger binary")
    parser.add_argument("--tables", required=True, help="directory to write the tables to")
    parser.add_argument(
        "--part-rows",
        type=int,
        default=1_000_000,
        help="about how many rows a part holds (default 1000000)",
    )
    parser.add_argument("--master", help="Spark master (default: spark-submit's, else local[*])")
    parser.add_argument(
        "--driver-memory", help="spark.driver.memory (local mode: the executors' too)"
    )
    parser.add_argument(
        "--format",
        default="parquet",
        help="the logs' format as Spark names it (parquet, csv, json, orc, ...; default parquet)",
    )
    parser.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an option of Spark's reader for --format (e.g. header=true for csv)",
    )
    parser.add_argument("logs", nargs="+", help="message logs or directories of them")
    args = parser.parse_args(argv)
    args.engine = engine
    return args


def shipped(spark, binary, engine_flags):
    """The binary and every file the engine flags name, shipped to the
    executors; the flags as the executors must give them."""
    spark.sparkContext.addFile(os.path.abspath(binary))
    flags = []
    for flag in engine_flags:
        if os.path.isfile(flag):
            spark.sparkContext.addFile(os.path.abspath(flag))
            flags.append("@shipped:" + os.path.basename(flag))
        else:
            flags.append(flag)
    return flags


def engine(step, table, flags, name=BINARY):
    """Runs `window-ledger part STEP` on an executor over `table`; the
    path of what it wrote (a file, or a directory for price)."""
    binary = SparkFiles.get(name)
    mode = os.stat(binary).st_mode
    if not mode & stat.S_IXUSR:
        os.chmod(binary, mode | stat.S_IXUSR)
    resolved = [SparkFiles.get(f[len("@shipped:") :]) if f.startswith("@shipped:") else f for f in flags]
    work = tempfile.mkdtemp(prefix="window-ledger-")
    batch, out = os.path.join(work, "batch.arrow"), os.path.join(work, "out")
    with ipc.new_file(batch, table.schema) as writer:
        writer.write_table(table)
    done = subprocess.run(
        [binary, "part", step, "--batch", batch, "--out", out] + resolved,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        shutil.rmtree(work, ignore_errors=True)
        raise RuntimeError(f"window-ledger part {step}: {done.stderr.strip()}")
    return work, out


def read_arrow(path):
    with open(path, "rb") as f:
        return ipc.open_file(f).read_all()


def spark_friendly(schema):
    """The engine's Arrow types as Spark takes them: no unsigned integers,
    no string views."""

    def friendly(t):
        if pa.types.is_unsigned_integer(t):
            return pa.int64()
        if pa.types.is_string_view(t) or pa.types.is_large_string(t):
            return pa.string()
        if pa.types.is_binary_view(t) or pa.types.is_large_binary(t):
            return pa.binary()
        if pa.types.is_dictionary(t):
            return friendly(t.value_type)
        if pa.types.is_timestamp(t):
            return pa.timestamp("us", tz="UTC")
        return t

    return pa.schema([pa.field(f.name, friendly(f.type)) for f in schema])


def as_schema(table, schema):
    """`table` with the columns of `schema`, cast to its types."""
    return pa.table([table.column(f.name).cast(f.type) for f in schema], schema=schema)


BLOB_SCHEMA = "table STRING, part INT, data BINARY"
BLOB_ARROW = pa.schema([("table", pa.string()), ("part", pa.int32()), ("data", pa.binary())])
BLOB_ROWS = 4096
SCHEMA_SUFFIX = ".schema"


def blob_batch(name, part, blob):
    return pa.RecordBatch.from_arrays(
        [pa.array([name], pa.string()), pa.array([part], pa.int32()), pa.array([blob], pa.binary())],
        schema=BLOB_ARROW,
    )


def stream_bytes(schema, batch):
    """One record batch (or none: the schema alone) as an Arrow IPC stream."""
    sink = io.BytesIO()
    with ipc.new_stream(sink, schema) as writer:
        if batch is not None:
            writer.write_batch(batch)
    return sink.getvalue()


def engine_blobs(step, table, flags, part):
    """`table` through `part STEP`; each table the engine wrote as blobs
    of Arrow IPC, tagged with the part."""
    work, out = engine(step, table, flags)
    try:
        paths = (
            [(n[: -len(".arrow")], os.path.join(out, n)) for n in sorted(os.listdir(out))]
            if os.path.isdir(out)
            else [(step, out)]
        )
        batches = []
        for name, path in paths:
            written = read_arrow(path)
            # The engine's own types go first, as a schema alone; the rows
            # follow in Spark's types (a slice of a string view still
            # points at all of its column's text, which an IPC writer
            # writes again for every slice), in blobs of a few thousand
            # rows (a Spark row is not meant to hold a part).
            batches.append(blob_batch(name + SCHEMA_SUFFIX, part, stream_bytes(written.schema, None)))
            friendly = as_schema(written, spark_friendly(written.schema))
            for batch in friendly.to_batches(max_chunksize=BLOB_ROWS):
                batches.append(blob_batch(name, part, stream_bytes(friendly.schema, batch)))
        return batches
    finally:
        shutil.rmtree(work, ignore_errors=True)


def price_step(flags):
    """A mapInArrow function: the partition's rows, a part, priced."""

    def run(batches):
        collected = [b for b in batches if b.num_rows > 0]
        if collected:
            part = TaskContext.get().partitionId()
            yield from engine_blobs("price", pa.Table.from_batches(collected), flags, part)

    return run


def settle_step(flags, schema_bytes):
    """A cogrouped applyInArrow function: a part's priced messages (blobs)
    and their adjustments (ADJUSTMENTS), settled by the engine."""

    def run(blobs, adjustments):
        if blobs.num_rows == 0:
            return BLOB_ARROW.empty_table()
        part = blobs.column("part")[0].as_py()
        decoded = [ipc.open_stream(pa.py_buffer(d)).read_all() for d in blobs.column("data").to_pylist()]
        messages = cast_back(pa.concat_tables(decoded), schema_bytes).sort_by("_order")
        adjustments = adjustments.sort_by("_order")
        if adjustments.num_rows != messages.num_rows:
            raise RuntimeError(f"part {part}: {messages.num_rows} messages, {adjustments.num_rows} adjustments")
        for column, shift in [
            ("window_id", "_window_shift"),
            ("last_window_id", "_window_shift"),
            ("conversation_no", "_conversation_shift"),
        ]:
            index = messages.schema.get_field_index(column)
            old = messages.column(index)
            new = pc.add(old.cast(pa.int64()), adjustments.column(shift).cast(pa.int64()))
            messages = messages.set_column(index, column, new.cast(old.type))
        for rank in ("_free_rank", "_tier_count"):
            messages = messages.append_column(rank, adjustments.column(rank).cast(pa.int64()))
        return pa.Table.from_batches(engine_blobs("settle", messages, flags, part), schema=BLOB_ARROW)

    return run


def cast_back(table, schema_bytes):
    """Spark's rows with the engine's own types again (unsigned integers,
    timestamps' zones), plus the columns the driver added."""
    schema = ipc.read_schema(pa.py_buffer(schema_bytes))
    columns, fields = [], []
    for name in table.column_names:
        column = table.column(name)
        index = schema.get_field_index(name)
        if index >= 0:
            wanted = schema.field(index).type
            if pa.types.is_string_view(wanted) or pa.types.is_large_string(wanted):
                wanted = pa.string()
            column = column.cast(wanted)
        columns.append(column)
        fields.append(pa.field(name, column.type))
    return pa.table(columns, schema=pa.schema(fields))


def decoded(blobs, name, columns=None):
    """Table `name` of a blob step as a Spark frame (only `columns`, with
    each row's `_part`, when given), and the engine's Arrow schema of the
    whole table (serialised)."""
    first = blobs.filter(F.col("table") == name + SCHEMA_SUFFIX).limit(1).collect()
    if not first:
        raise RuntimeError(f"no part wrote a {name} table")
    schema = ipc.open_stream(pa.py_buffer(first[0]["data"])).schema
    friendly = spark_friendly(schema)
    if columns is not None:
        fields = [friendly.field(c) for c in columns] + [pa.field("_part", pa.int32())]
        friendly = pa.schema(fields)

    def decode(batches):
        for batch in batches:
            for part, data in zip(batch.column("part").to_pylist(), batch.column("data").to_pylist()):
                table = ipc.open_stream(pa.py_buffer(data)).read_all()
                if columns is not None:
                    table = table.select(columns)
                    table = table.append_column("_part", pa.array([part] * table.num_rows, pa.int32()))
                yield from as_schema(table, friendly).to_batches()

    frame = blobs.filter(F.col("table") == name).select("part", "data").mapInArrow(
        decode, from_arrow_schema(friendly)
    )
    return frame, schema.serialize().to_pybytes()


def list_logs(spark, binary, logs, flags):
    """The message logs in reading order (names, paths), and warnings about
    files skipped: the engine lists local paths itself; logs on a
    cluster's file system (hdfs://, s3a://, ...) are listed here alike."""
    if any("://" in log for log in logs):
        return cluster_logs(spark, logs), []
    listed = subprocess.run(
        [binary, "part", "files", "--input"] + logs + flags,
        capture_output=True,
        text=True,
    )
    if listed.returncode != 0:
        sys.exit(f"window-ledger part files: {listed.stderr.strip()}")
    lines = [json.loads(line) for line in listed.stdout.splitlines() if line]
    files = [f for f in lines if "path" in f]
    warnings = [w["warning"] for w in lines if "warning" in w]
    others = [f["path"] for f in files if f["format"] != "parquet"]
    if others:
        sys.exit(
            "these logs are not Parquet: give their format with --format (and "
            "--option for its reader; one format per run), or run window-ledger "
            "report on one machine: " + ", ".join(others)
        )
    return files, warnings


def numbered(spark, files):
    """Each file with its log's place among the inputs (`index`), its row
    count (from the footer) and the rows of its log before it (`offset`):
    the Parquet files a log in another format was staged as are one log."""
    index, offset, last = -1, 0, None
    for f in files:
        if f["name"] != last:
            index, offset, last = index + 1, 0, f["name"]
        f["index"], f["offset"] = index, offset
        f["rows"] = spark.read.parquet(f["path"]).count()
        offset += f["rows"]
    return files


def staged(spark, args):
    """Logs in another format, read by Spark's own reader (its rules for
    that format, not the engine's: columns as Spark types them, no line
    numbers) and staged as Parquet beside the tables, one log per path
    given, rows in the order Spark reads them. Outputs name each log by
    its path as given."""
    options = dict(o.split("=", 1) for o in args.option)
    files = []
    for index, log in enumerate(args.logs):
        path = os.path.join(args.tables, "_staged", str(index))
        spark.read.format(args.format).options(**options).load(log).write.mode(
            "overwrite"
        ).parquet(path)
        found = sorted(
            (os.path.join(path, n) for n in os.listdir(path) if n.endswith(".parquet")),
            key=lambda p: p.encode(),
        )
        # Named as a local run names the format it reads alike.
        shown = {"json": "ndjson"}.get(args.format, args.format)
        files += [{"name": log, "path": f, "format": shown} for f in found]
    return files


def cluster_logs(spark, logs):
    """Every .parquet file under each log, in byte order of the paths within
    a directory (the engine's order for local directories)."""
    jvm = spark._jvm
    conf = spark._jsc.hadoopConfiguration()
    files = []
    for log in logs:
        path = jvm.org.apache.hadoop.fs.Path(log)
        fs = path.getFileSystem(conf)
        if not fs.getFileStatus(path).isDirectory():
            found = [log]
        else:
            found, listing = [], fs.listFiles(path, True)
            while listing.hasNext():
                name = listing.next().getPath().toString()
                if name.endswith(".parquet"):
                    found.append(name)
            found.sort(key=lambda p: p.encode())
        files += [{"name": f, "path": f, "format": "parquet"} for f in found]
    return files


def raw_rows(spark, files, binary, engine_flags, flags):
    """Every file's rows as the engine's raw rows (mapping applied, values
    as text, with file name, index and row number), with each row's id and
    pair (`part route`), all files together."""
    routed, schema = [], None
    for f in files:
        frame = spark.read.parquet(f["path"])
        frame = frame.select(
            *[F.col(f"`{c}`") for c in frame.columns],
            F.lit(f["name"]).alias(SOURCE_FILE),
            F.lit(f["index"]).cast("long").alias(FILE_INDEX),
            (F.col("_metadata.row_index") + 1 + F.lit(f["offset"])).alias(SOURCE_ROW),
        )
        if schema is None:
            schema = route_schema(frame, binary, engine_flags)
        routed.append(frame.mapInArrow(route_step(flags, schema), from_arrow_schema(schema)))
    raw = routed[0]
    for frame in routed[1:]:
        raw = raw.union(frame)
    return raw


def route_schema(frame, binary, engine_flags):
    """The Spark-friendly schema of `part route`'s rows, from one row run
    on the driver."""
    sample = frame.limit(1).toArrow()
    work = tempfile.mkdtemp(prefix="window-ledger-")
    try:
        batch, out = os.path.join(work, "batch.arrow"), os.path.join(work, "out.arrow")
        with ipc.new_file(batch, sample.schema) as writer:
            writer.write_table(sample)
        done = subprocess.run(
            [binary, "part", "route", "--batch", batch, "--out", out] + engine_flags,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            sys.exit(f"window-ledger part route: {done.stderr.strip()}")
        return spark_friendly(read_arrow(out).schema)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def route_step(flags, schema):
    def route(batches):
        for batch in batches:
            if batch.num_rows == 0:
                continue
            work, out = engine("route", pa.Table.from_batches([batch]), flags)
            try:
                yield from as_schema(read_arrow(out), schema).to_batches()
            finally:
                shutil.rmtree(work, ignore_errors=True)

    return route


def deduped(raw):
    """§8.4: the first valid copy of an id, in input order, is kept; the
    others are duplicates. Only ids that repeat are looked at (few, in a
    log of webhook retries), so the rows themselves are not shuffled."""
    ids = raw.select(ID, "file_index", "source_row").filter(F.col(ID).isNotNull())
    repeated = ids.groupBy(ID).count().filter(F.col("count") > 1).select(ID)
    first = Window.partitionBy(ID).orderBy("file_index", "source_row")
    later = (
        ids.join(repeated, ID)
        .withColumn("_copy", F.row_number().over(first))
        .filter(F.col("_copy") > 1)
        .select("file_index", "source_row", F.lit(True).alias(DUPLICATE))
    )
    return raw.join(F.broadcast(later), ["file_index", "source_row"], "left").withColumn(
        DUPLICATE, F.coalesce(F.col(DUPLICATE), F.lit(False))
    )


# The counters that cross pairs, ranked in portable SQL (Spark 3.5 and 4,
# DuckDB): message n of a free tier or a volume tier, in (timestamp,
# message_id) order. What a rank means (free or not, which tier's price)
# is the engine's, in `part settle`. With them, per message, what makes
# its window and conversation numbers the run's. All on narrow rows: the
# wide messages are joined once, to the result.
ADJUSTMENTS = """
WITH free AS (
  SELECT message_id,
         ROW_NUMBER() OVER (PARTITION BY _free_tier_key, billing_month
                            ORDER BY ts ASC NULLS LAST, message_id ASC NULLS LAST) AS _free_rank
  FROM message_keys
  WHERE _free_tier_key IS NOT NULL
),
tiers AS (
  SELECT message_id,
         ROW_NUMBER() OVER (PARTITION BY _volume_tier_key
                            ORDER BY ts ASC NULLS LAST, message_id ASC NULLS LAST) AS _tier_count
  FROM message_keys
  WHERE _volume_tier_key IS NOT NULL
)
SELECT k._part, k._order, free._free_rank, tiers._tier_count,
       w._window_shift, c._conversation_shift
FROM message_keys k
LEFT JOIN free ON k.message_id = free.message_id
LEFT JOIN tiers ON k.message_id = tiers.message_id
LEFT JOIN window_shifts w
  ON k.business_number = w.business_number AND k.contact = w.contact
LEFT JOIN conversation_shifts c
  ON k.business_number = c.business_number AND k.contact = c.contact
"""


def adjustments(spark, message_keys, window_shifts, conversation_shifts):
    """Per message, by its part and place in it: its ranks, and what makes
    its window and conversation numbers the run's (ADJUSTMENTS)."""
    message_keys.createOrReplaceTempView("message_keys")
    window_shifts.createOrReplaceTempView("window_shifts")
    conversation_shifts.createOrReplaceTempView("conversation_shifts")
    return spark.sql(ADJUSTMENTS)


def shifts(per_pair, name):
    """Per pair (its first number in its part, how many): what to add to its
    numbers to make them the run's, pairs in (business number, contact)
    order as a local run numbers them."""
    before = Window.orderBy("business_number", "contact").rowsBetween(
        Window.unboundedPreceding, -1
    )
    base = per_pair.agg(F.min("first")).collect()[0][0]
    start = F.coalesce(F.sum("n").over(before), F.lit(0)) + F.lit(base)
    return per_pair.select("business_number", "contact", (start - F.col("first")).alias(name))


START = time.monotonic()


def timing(stage):
    """WINDOW_LEDGER_TIMINGS=1: each stage's start on stderr, as the
    binary logs its own."""
    if os.environ.get("WINDOW_LEDGER_TIMINGS", "0") != "0":
        print(f"[{time.monotonic() - START:7.2f} s] spark: {stage}", file=sys.stderr)


def main(argv):
    args = parse_args(argv)
    # Local mode: the executors' Python is this one (with pyarrow).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder
    if args.master:
        builder = builder.master(args.master)
    if args.driver_memory:
        builder = builder.config("spark.driver.memory", args.driver_memory)
    spark = (
        builder.appName("window-ledger")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.showConsoleProgress", "false")
        # A Parquet timestamp without a zone stays one (the engine reads it
        # in --input-tz, as a local run does), not an instant in UTC.
        .config("spark.sql.parquet.inferTimestampNTZ.enabled", "true")
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        # Each Arrow batch is one run of the engine's binary: fewer, larger.
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "200000")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    if args.format == "parquet":
        files, warnings = list_logs(spark, args.binary, args.logs, args.engine)
    else:
        files, warnings = staged(spark, args), []
    flags = shipped(spark, args.binary, args.engine)
    timing("reading and routing the logs")

    # Row counts from the files' footers; the routed rows are read twice
    # (ids, then rows), so they are kept.
    files = numbered(spark, files)
    read_by_file = {}
    for f in files:
        read_by_file[f["index"]] = read_by_file.get(f["index"], 0) + f["rows"]
    total = sum(read_by_file.values())
    raw = raw_rows(spark, files, args.binary, args.engine, flags).persist(StorageLevel.DISK_ONLY)
    parts = max(1, -(-total // args.part_rows))
    print(f"window-ledger spark: {total} rows in {parts} parts", file=sys.stderr)
    # Shuffles (ranks, joins, the part groups) in as many partitions as
    # there are parts or cores, not Spark's default 200 small ones.
    shuffled = max(parts, spark.sparkContext.defaultParallelism)
    spark.conf.set("spark.sql.shuffle.partitions", str(shuffled))

    timing("pricing the parts")
    rows = deduped(raw)
    by_pair = rows.repartition(parts, PAIR_BUSINESS, PAIR_CONTACT)
    priced = by_pair.mapInArrow(price_step(flags), BLOB_SCHEMA)
    # Blobs are read more than once: kept on the executors' disks, not in
    # the heap.
    priced = priced.persist(StorageLevel.DISK_ONLY)

    # The wide messages stay in their blobs until they are settled; the
    # driver's counting reads only these columns of them.
    key_columns = [
        "message_id", "business_number", "contact", "ts", "billing_month",
        "_free_tier_key", "_volume_tier_key", "conversation_no", "opens_conversation", "_order",
    ]
    message_keys, messages_schema = decoded(priced, "messages", key_columns)
    message_keys = message_keys.persist(StorageLevel.DISK_ONLY)
    windows, windows_schema = decoded(priced, "windows")
    rejected, rejected_schema = decoded(priced, "rejected")
    counts, _ = decoded(priced, "counts")

    timing("numbering windows and conversations")
    window_shifts = shifts(
        windows.groupBy("business_number", "contact").agg(
            F.min("window_id").alias("first"), F.count("*").alias("n")
        ),
        "_window_shift",
    )
    conversation_shifts = shifts(
        message_keys.filter(F.col("conversation_no").isNotNull())
        .groupBy("business_number", "contact")
        .agg(
            F.min("conversation_no").alias("first"),
            F.sum(F.col("opens_conversation").cast("long")).alias("n"),
        ),
        "_conversation_shift",
    )
    windows = windows.join(window_shifts, ["business_number", "contact"], "left")
    windows = windows.withColumn("window_id", F.col("window_id") + F.col("_window_shift"))
    windows = windows.drop("_window_shift")

    timing("ranking the counters and settling the parts")
    adjusted = adjustments(spark, message_keys, window_shifts, conversation_shifts)
    settled_blobs = (
        priced.filter(F.col("table") == "messages")
        .groupBy("part")
        .cogroup(adjusted.groupBy("_part"))
        .applyInArrow(settle_step(flags, messages_schema), BLOB_SCHEMA)
        .persist(StorageLevel.DISK_ONLY)
    )
    settled, settled_schema = decoded(settled_blobs, "settle")
    settled = settled.persist(StorageLevel.DISK_ONLY)

    timing("writing the tables")
    tables = args.tables
    os.makedirs(tables, exist_ok=True)
    # In a local run's order, and no pair split between two files: a
    # report that reads the files one by one (`report --from-tables` of a
    # large run) reads whole pairs, as a local run reads its parts.
    write(by_pair_in_order(settled, "_order").drop("_order"),
          tables, "messages", without(settled_schema, "_order"))
    write(by_pair_in_order(windows, "window_id").drop("_order"),
          tables, "windows", without(windows_schema, "_order"))
    write(rejected.orderBy("file_index", "row"), tables, "rejected", rejected_schema)

    sums = {
        r[0]: (r[1], r[2])
        for r in counts.groupBy("file_index")
        .agg(F.sum("rejected"), F.sum("duplicates"))
        .collect()
    }
    conversations = settled.agg(F.sum(F.col("opens_conversation").cast("long"))).collect()[0][0]
    run = {
        "engine": "spark",
        "files": [
            {
                "path": f["name"],
                "format": f["format"],
                "rows_read": read_by_file.get(f["index"], 0),
                "rejected": (sums.get(f["index"]) or (0, 0))[0] or 0,
                "duplicates": (sums.get(f["index"]) or (0, 0))[1] or 0,
            }
            for f in files
            if f["offset"] == 0
        ],
        "conversations": conversations or 0,
        "warnings": warnings,
        "parts": parts,
    }
    with open(os.path.join(tables, "run.json"), "w") as f:
        json.dump(run, f, indent=2)
    shutil.rmtree(os.path.join(tables, "_staged"), ignore_errors=True)
    timing("done")
    spark.stop()


def by_pair_in_order(frame, within):
    """`frame` in files of whole pairs, pairs in (business number, contact)
    order, each pair's rows in `within` order."""
    pairs = ["business_number", "contact"]
    ranged = frame.repartitionByRange(int(frame.sparkSession.conf.get("spark.sql.shuffle.partitions")), *pairs)
    return ranged.sortWithinPartitions(*pairs, within)


def without(schema_bytes, name):
    schema = ipc.read_schema(pa.py_buffer(schema_bytes))
    index = schema.get_field_index(name)
    return (schema.remove(index) if index >= 0 else schema).serialize().to_pybytes()


def write(frame, tables, name, schema_bytes):
    """A table as Parquet files in row order, and the engine's types of it."""
    frame.write.mode("overwrite").parquet(os.path.join(tables, name))
    schema = ipc.read_schema(pa.py_buffer(schema_bytes))
    # An Arrow IPC file with the schema and no rows.
    ipc.new_file(os.path.join(tables, f"{name}.schema.arrow"), schema).close()


if __name__ == "__main__":
    main(sys.argv[1:])
