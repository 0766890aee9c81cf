#!/usr/bin/env python3
"""The benchmark's DuckDB peer (issue 6).

    peer.py run LOG.parquet OUT.parquet      # classify and price with DuckDB
    peer.py compare PEER.parquet SENDS.csv   # every class and cost agrees?

`run` executes bench/peer.sql (window functions over the log) with the
shipped rate card. `compare` joins the peer's sends with window-ledger's
`sends.csv` on message_id and exits 1 naming each column that differs.
"""
import os
import pathlib
import sys

import duckdb
import phonenumbers

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent


def run(log, out):
    sql = (HERE / "peer.sql").read_text()
    sql = sql.format(
        input=log,
        output=out,
        rates=ROOT / "rates" / "meta-usd.csv",
        markets=ROOT / "rates" / "markets.csv",
    )
    first, second = sql.split(SPLIT)
    con = duckdb.connect()
    con.execute(f"SET threads = {len(os.sched_getaffinity(0))}")
    con.execute(first)
    shared = con.execute(
        "SELECT contact FROM countries WHERE country IN ('US', 'GB')"
    ).fetchall()
    fixes = [(contact, region_of(contact)) for (contact,) in shared]
    con.execute("CREATE TEMP TABLE shared_regions(contact VARCHAR, region VARCHAR)")
    con.executemany("INSERT INTO shared_regions VALUES (?, ?)", fixes)
    con.execute(
        "UPDATE countries SET country = s.region FROM shared_regions s "
        "WHERE countries.contact = s.contact"
    )
    con.execute(second)


SPLIT = "-- peer.py: countries of shared calling codes (+1, +44) from libphonenumber.\n"


def region_of(digits):
    """A valid number's region, else the calling code's main country."""
    number = phonenumbers.parse("+" + digits)
    return phonenumbers.region_code_for_number(number) or phonenumbers.region_code_for_country_code(
        number.country_code
    )


COMPARED = ["class", "window_id", "country", "market", "pricing_rule", "cost", "avoidable_cost", "currency"]


def compare(peer, sends):
    con = duckdb.connect()
    con.execute(f"CREATE VIEW p AS SELECT * FROM read_parquet('{peer}')")
    con.execute(f"CREATE VIEW w AS SELECT * FROM read_csv('{sends}', all_varchar = true)")
    (peer_rows,) = con.execute("SELECT count(*) FROM p").fetchone()
    (ours,) = con.execute("SELECT count(*) FROM w").fetchone()
    (joined,) = con.execute("SELECT count(*) FROM p JOIN w USING (message_id)").fetchone()
    failures = []
    if not (peer_rows == ours == joined):
        failures.append(f"rows: peer {peer_rows}, window-ledger {ours}, matched {joined}")
    for column in COMPARED:
        if column in ("cost", "avoidable_cost"):
            ours_expr = f"CAST(nullif(w.{column}, '') AS DECIMAL(18, 9))"
        elif column == "window_id":
            ours_expr = "CAST(nullif(w.window_id, '') AS BIGINT)"
        else:
            ours_expr = f"nullif(w.{column}, '')"
        (differ,) = con.execute(
            f"SELECT count(*) FROM p JOIN w USING (message_id) "
            f"WHERE p.{column} IS DISTINCT FROM {ours_expr}"
        ).fetchone()
        if differ:
            sample = con.execute(
                f"SELECT message_id, p.{column}, {ours_expr} FROM p JOIN w USING (message_id) "
                f"WHERE p.{column} IS DISTINCT FROM {ours_expr} ORDER BY message_id LIMIT 3"
            ).fetchall()
            failures.append(f"{column}: {differ} rows differ, e.g. (id, peer, ours) {sample}")
    if failures:
        print("peer and window-ledger disagree:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print(f"peer and window-ledger agree on {joined} sends ({', '.join(COMPARED)})")


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in ("run", "compare"):
        sys.exit(__doc__)
    {"run": run, "compare": compare}[sys.argv[1]](sys.argv[2], sys.argv[3])
