#!/usr/bin/env python3
"""Compare window-ledger's sends.csv with a peer's sends.parquet, send by send.

  agree.py RUN_DIR/sends.csv PEER_DIR/sends.parquet

Joins on message_id and compares every column both have but window_id
(each numbers windows in its own order): business_number, contact,
country, market, class, category, regime, pricing_rule, currency, cost
and avoidable_cost (as exact decimals; an empty cost is 0). Prints one
line, `agree on N of N sends, every column but window_id`, and exits 1 on
the first column that differs (with up to five examples)."""
import sys
from decimal import Decimal

import polars as pl

COLUMNS = ["business_number", "contact", "country", "market", "class", "category",
           "regime", "pricing_rule", "currency"]
MONEY = ["cost", "avoidable_cost"]


def money(values):
    return [Decimal(v) if v not in (None, "") else Decimal(0) for v in values]


def main(ours_path, peer_path):
    ours = pl.read_csv(ours_path, infer_schema_length=0)
    peer = pl.read_parquet(peer_path).with_columns(
        [pl.col(c).cast(pl.String) for c in COLUMNS + MONEY])
    if ours.height != peer.height:
        print(f"disagree: {ours.height} sends here, {peer.height} in the peer")
        return 1
    joined = ours.select(["message_id"] + COLUMNS + MONEY).join(
        peer.select(["message_id"] + COLUMNS + MONEY), on="message_id", how="inner", suffix="_peer")
    if joined.height != ours.height:
        print(f"disagree: only {joined.height} of {ours.height} message ids in both")
        return 1
    for c in COLUMNS:
        a, b = pl.col(c).fill_null(""), pl.col(f"{c}_peer").fill_null("")
        bad = joined.filter(a != b)
        if bad.height:
            print(f"disagree on {c}: {bad.height} sends, e.g.\n{bad.select(['message_id', c, c + '_peer']).head(5)}")
            return 1
    for c in MONEY:
        ours_values, peer_values = money(joined[c].to_list()), money(joined[c + "_peer"].to_list())
        bad = [i for i, (x, y) in enumerate(zip(ours_values, peer_values)) if x != y]
        if bad:
            examples = [(joined["message_id"][i], str(ours_values[i]), str(peer_values[i])) for i in bad[:5]]
            print(f"disagree on {c}: {len(bad)} sends, e.g. {examples}")
            return 1
    print(f"agree on {joined.height} of {ours.height} sends, every column but window_id")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
