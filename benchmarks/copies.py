"""The token reader against the row reader: the bundled documents copied without their rows.

Why: the token reader (perfdata/tables/engine.py) reads the forms whose cell boundaries a copy lost, and it
is meant to replace the row reader one day. On the bundled documents the row reader reads every form
exactly, so their reading is the yardstick: each document's grid is written again as copying a table
produces it (one cell per line ending in ' |', every cell its own paragraph, or the whole document on
one line), read back (the token reader takes it, since no rows are left), and its tables compared with
the row reading, row for row. `rows` is no copy: the document itself, its rows kept, read by the token
reader alone (`perfdata.read(path, reader="tokens")`), the yardstick of the token reader on rows:

- forms: name, year, department, unit, the funding figures, the totals and both goals;
- funding: each fund row's source, initial, full-year and executed amounts;
- indicators: levels, name, target, actual, 分值 and 得分 (duplicates counted);
- department forms: department, year, the budget lines, goals, tasks, counts and totals; department
  indicators as the project indicators; summary rows: name, budget, executed, rate and score;
- leftovers: how many lines each reading leaves unread.

    python benchmarks/copies.py [--raw data/raw] [--how one-cell-per-line paragraphs one-line rows] [--verbose]

It measures, it does not gate (exit 0 whatever the figures); the tests hold the floors
(tests/test_engine.py, "copied without").
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import perfdata  # noqa: E402
from perfdata.readers.detect import read_grid  # noqa: E402

HOW = ("one-cell-per-line", "paragraphs", "one-line", "rows")
FORM = ["project_name", "year", "department", "unit", "budget_initial", "budget_full_year", "executed",
        "exec_rate_reported", "total_score_reported", "goal_planned", "goal_achieved"]
INDICATOR = ["level1", "level2", "name", "target_raw", "actual_raw", "weight", "score"]
DEPARTMENT = ["department", "year", "budget_total", "budget_fiscal", "budget_other", "budget_basic",
              "budget_project", "goals", "tasks", "goal_count", "task_count", "total_weight", "total_score"]
SUMMARY = ["project_name", "budget", "executed", "exec_rate_reported", "total_score"]


def copied(path: Path, how: str) -> str:
    """The document's cells as a copy without rows writes them."""
    grid, _ = read_grid(path.read_bytes(), path.name)
    cells = [c for r in grid.rows for c in r.cells if c]
    if how == "one-cell-per-line":
        return "\n".join(f"{c} |" for c in cells)
    if how == "paragraphs":
        return "\n\n".join(cells)
    return " ".join(c.replace("\n", " ") for c in cells)


def _value(v):
    return None if pd.isna(v) else round(float(v), 4) if isinstance(v, (int, float)) else str(v)


def _rows(t: dict, table: str, cols: list[str], by_name: bool = False) -> Counter:
    df = t.get(table)
    if df is None or df.empty:
        return Counter()
    if by_name:  # funding and indicators: with the name of their form
        df = df.merge(t["forms"][["form_id", "project_name"]], on="form_id")
        cols = ["project_name", *cols]
    return Counter(tuple(_value(v) for v in r) for r in df[[c for c in cols if c in df]].itertuples(index=False))


FUNDING = ["fund_source", "budget_initial", "budget_full_year", "executed"]
TABLES = {"forms": ("forms", FORM, False), "funding": ("funding", FUNDING, True),
          "indicators": ("indicators", INDICATOR, True), "department_forms": ("department_forms", DEPARTMENT, False),
          "department_indicators": ("department_indicators", INDICATOR, False),
          "summary_rows": ("summary_rows", SUMMARY, False)}


def compare(path: Path, how: str, verbose: bool) -> dict[str, tuple[int, int]]:
    rows = perfdata.read(path)
    if how == "rows":
        tokens = perfdata.read(path, reader="tokens")
    else:
        with tempfile.TemporaryDirectory() as d:
            copy = Path(d) / f"{path.stem}.txt"
            copy.write_text(copied(path, how), encoding="utf-8")
            tokens = perfdata.read(copy)
    out = {}
    for name, (table, cols, by_name) in TABLES.items():
        want, got = _rows(rows, table, cols, by_name), _rows(tokens, table, cols, by_name)
        out[name] = (sum((want & got).values()), want.total())
        if verbose:
            for r in (want - got).elements():
                print(f"    - {name} {str(r)[:200]}")
            for r in (got - want).elements():
                print(f"    + {name} {str(r)[:200]}")
    out["leftovers"] = (len(rows["leftovers"]), len(tokens["leftovers"]))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--raw", type=Path, default=HERE.parent / "data" / "raw")
    ap.add_argument("--how", nargs="+", choices=HOW, default=list(HOW))
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args(argv)
    docs = [p for p in sorted(a.raw.iterdir()) if p.is_file() and not perfdata.read(p)["forms"].empty]
    if not docs:
        print(f"no document with forms in {a.raw}", file=sys.stderr)
        return 2
    for how in a.how:
        total: Counter = Counter()
        print(how)
        for p in docs:
            if a.verbose:
                print(f"  {p.name}")
            got = compare(p, how, a.verbose)
            cells = [f"{k} {s}/{n}" for k, (s, n) in got.items() if k != "leftovers" and n]
            before, after = got["leftovers"]
            print(f"  {p.name[:44]:<44} " + "  ".join(cells) + f"  leftovers {before}→{after}")
            for k, (s, n) in got.items():
                total[k, "same"] += s
                total[k, "of"] += n
        print("  all: " + "  ".join(f"{k} {total[k, 'same']}/{total[k, 'of']}" for k in TABLES if total[k, "of"])
              + f"  leftovers {total['leftovers', 'same']}→{total['leftovers', 'of']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
