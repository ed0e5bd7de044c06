"""Snapshot the ingest's tables and compare a later ingest against them, table by table.

Why: speed work must not change a single output value. Dump the tables once before a change, then
compare after it: every table, every column, every dtype and every value (nulls included).

    python benchmarks/snapshot.py save RAW_DIR SNAP_DIR [--jobs N]
    python benchmarks/snapshot.py check RAW_DIR SNAP_DIR [--jobs N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from perfdata.ingest import ingest


def save(tables: dict[str, pd.DataFrame], snap: Path) -> None:
    snap.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        df.to_parquet(snap / f"{name}.parquet", index=False)
        (snap / f"{name}.dtypes").write_text("\n".join(f"{c} {t}" for c, t in df.dtypes.items()) + "\n")


def differences(tables: dict[str, pd.DataFrame], snap: Path) -> list[str]:
    """What differs between `tables` and the snapshot; empty when identical."""
    out = []
    saved = {p.stem for p in snap.glob("*.parquet")}
    if saved != set(tables):
        out.append(f"table sets differ: only saved {sorted(saved - set(tables))}, "
                   f"only new {sorted(set(tables) - saved)}")
    for name in sorted(saved & set(tables)):
        old, new = pd.read_parquet(snap / f"{name}.parquet"), tables[name]
        dtypes = "\n".join(f"{c} {t}" for c, t in new.dtypes.items()) + "\n"
        if dtypes != (snap / f"{name}.dtypes").read_text():
            out.append(f"{name}: columns or dtypes differ")
            continue
        try:
            pd.testing.assert_frame_equal(new.reset_index(drop=True), old, check_exact=True)
        except AssertionError as e:
            out.append(f"{name}: {str(e).splitlines()[0:6]}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("action", choices=("save", "check"))
    ap.add_argument("raw", type=Path)
    ap.add_argument("snap", type=Path)
    ap.add_argument("--jobs", type=int, default=1)
    args = ap.parse_args(argv)
    tables = ingest(args.raw, jobs=args.jobs, progress=False)
    rows = ", ".join(f"{k} {len(v)}" for k, v in tables.items() if len(v))
    if args.action == "save":
        save(tables, args.snap)
        print(f"saved {rows} to {args.snap}")
        return 0
    diffs = differences(tables, args.snap)
    for d in diffs:
        print(d)
    print(("DIFFERENT: " if diffs else "identical: ") + rows)
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
