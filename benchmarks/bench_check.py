"""Benchmark of the checks and the rescoring on a large batch built from the bundled tables.

Why: the bundled documents hold 43 project forms, too few to see what `check()` costs on a province's
decade. This script ingests `data/raw` once and replicates all its tables (project forms with their
funding lines and indicators, summaries, department forms, target tables, narrative statements — all
in the bundled proportions) into copies with fresh form/summary/department/target ids, fresh source
files (copy k's files are `c<k>/<name>`), line numbers shifted per copy and the region numbered per
copy (each copy is another county, so no two copies' forms are duplicates of each other). Figures are
unchanged, so every copy has the same findings as the bundled documents: the script checks that the
findings grow with the copies.

It then times, `--repeat` (3) times each, medians of wall and CPU time (`time.process_time`), side by
side in one run: `rescore()`, `check_all()` (what `check()` and `perfdata check` run: the anomalies
plus the rescoring they are built on) and, as the floor, a plain pandas groupby over the same indicator
rows (weights and scores summed per form). The source files do not exist (the raw folder given to the
check is an empty temporary folder), so no evidence line is read: what is measured is the rules, the
rescoring, the folding and the messages.

    python benchmarks/bench_check.py [--forms 10000 50000 100000] [--repeat 3] [--profile PATH] [--json PATH]
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from perfdata import schema
from perfdata.checks import check_all
from perfdata.ingest import ingest
from perfdata.scoring import rescore

HERE = Path(__file__).resolve().parent
RAW = HERE.parent / "data" / "raw"
ID_COLUMNS = ("form_id", "summary_id", "dept_form_id", "target_id")
LINE_STEP = 10  # copy k's lines are shifted by LINE_STEP * (k % 100)


def _line_columns(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if c == "line" or c.startswith("line_") or c.endswith("_line")]


def replicate(tables: dict[str, pd.DataFrame], copies: int) -> dict[str, pd.DataFrame]:
    """`copies` copies of every table: ids, source files, lines and regions fresh per copy."""
    out = {}
    for name, df in tables.items():
        n = len(df)
        if n == 0:
            out[name] = df
            continue
        big = df.iloc[np.tile(np.arange(n), copies)].reset_index(drop=True)
        k = np.repeat(np.arange(copies), n)
        tag = pd.Series(k, dtype="int64").astype(str).str.zfill(6)
        for c in ID_COLUMNS:
            if c in big:
                big[c] = (big[c] + "-c" + tag.to_numpy()).astype(df[c].dtype)
        if "source_file" in big:
            big["source_file"] = ("c" + tag + "/" + big["source_file"]).astype(df["source_file"].dtype)
        shift = pd.array(LINE_STEP * (k % 100), dtype="Int64")
        for c in _line_columns(big):
            big[c] = (big[c] + shift).astype(df[c].dtype)
        if "region" in big:  # each copy is another county: its forms are not duplicates of another copy's
            big["region"] = (big["region"] + "-" + tag.to_numpy()).astype(df["region"].dtype)
        out[name] = schema.conform(name, big) if name in schema.TABLES else big
    return out


def plain_groupby(ind: pd.DataFrame) -> pd.DataFrame:
    """The floor: weights and scores of the indicator rows summed per form."""
    return ind.groupby("form_id", sort=False)[["weight", "score"]].sum(min_count=1)


def timed(fn, repeat: int) -> tuple[list[float], list[float], object]:
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        result = None
        gc.collect()
        w0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        cpus.append(time.process_time() - c0)
        walls.append(time.perf_counter() - w0)
    return walls, cpus, result


def measure(base: dict[str, pd.DataFrame], n_forms: int, repeat: int, empty: str, raw_name: str,
            profile: Path | None = None) -> dict:
    """The figures of one batch of about n_forms project forms (see the module docstring)."""
    copies = math.ceil(n_forms / len(base["forms"]))
    t0 = time.perf_counter()
    tables = replicate(base, copies)
    built = time.perf_counter() - t0
    sizes = {k: len(v) for k, v in tables.items() if len(v)}
    print(f"{copies} copies of {raw_name}: " + ", ".join(f"{k} {v:,}" for k, v in sizes.items())
          + f" (built in {built:.1f} s)")
    runs = {}
    runs["groupby"] = timed(lambda: plain_groupby(tables["indicators"]), max(repeat, 5))
    runs["rescore"] = timed(lambda: rescore(tables), repeat)
    runs["check_all"] = timed(lambda: check_all(tables, raw_dir=empty), repeat)
    found = runs["check_all"][2]["anomalies"]
    if profile:
        import cProfile
        cProfile.runctx("check_all(tables, raw_dir=empty)", globals(), {"tables": tables, "empty": empty}, str(profile))
    n_ind = sizes.get("indicators", 0)
    med_wall = {k: statistics.median(v[0]) for k, v in runs.items()}
    med_cpu = {k: statistics.median(v[1]) for k, v in runs.items()}
    return {"copies": copies, "rows": sizes, "repeat": repeat,
            "wall_s": {k: v[0] for k, v in runs.items()}, "cpu_s": {k: v[1] for k, v in runs.items()},
            "median_wall_s": med_wall, "median_cpu_s": med_cpu,
            "rows_per_cpu_s": {k: n_ind / v for k, v in med_cpu.items()},
            "cpu_ratio_to_groupby": {k: v / med_cpu["groupby"] for k, v in med_cpu.items()},
            "findings": len(found)}


def report(r: dict, findings_bundled: int) -> None:
    sizes, n_ind, repeat = r["rows"], r["rows"].get("indicators", 0), r["repeat"]
    print()
    print(f"forms {sizes['forms']:,}, indicator rows {n_ind:,}; {repeat} repetitions "
          f"(groupby {max(repeat, 5)}), medians; rows/s = indicator rows / CPU s")
    print(f"{'run':<10} {'wall s':>9} {'CPU s':>9} {'rows/s':>12} {'CPU / groupby':>14} {'ms CPU/form':>12}")
    for k, cpu in r["median_cpu_s"].items():
        print(f"{k:<10} {r['median_wall_s'][k]:>9.3f} {cpu:>9.3f} {n_ind / cpu:>12,.0f} "
              f"{r['cpu_ratio_to_groupby'][k]:>13.0f}x {1000 * cpu / sizes['forms']:>12.3f}")
    print(f"findings: {r['findings']:,} ({r['findings'] / r['copies']:.2f} per copy; the bundled documents alone give "
          f"{findings_bundled})")
    if r["findings"] != r["copies"] * findings_bundled:
        sys.stdout.flush()
        print(f"NOTE: {r['findings']} findings, {r['copies']} × {findings_bundled} expected from the copies",
              file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--forms", type=int, nargs="+", default=[100_000],
                    help="project forms to build (rounded up to whole copies); several sizes show how the cost grows")
    ap.add_argument("--repeat", type=int, default=3, help="timed repetitions of each measurement")
    ap.add_argument("--raw", type=Path, default=RAW, help="folder with the source documents")
    ap.add_argument("--profile", type=Path, help="also write a cProfile of one check_all() run (of the last size) here")
    ap.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = ap.parse_args(argv)

    base = ingest(args.raw, jobs=1, progress=False)
    if not len(base["forms"]):
        print(f"no project forms under {args.raw}", file=sys.stderr)
        return 2
    results = []
    with tempfile.TemporaryDirectory(prefix="perfdata-bench-check-") as empty:
        one = check_all(base, raw_dir=empty)["anomalies"]
        for k, n in enumerate(args.forms):
            last = k == len(args.forms) - 1
            results.append(measure(base, n, args.repeat, empty, args.raw.name, args.profile if last else None))
            report(results[-1], len(one))
            print()
    if len(results) > 1:  # linear growth: the CPU per form stays flat
        print("growth (median CPU s; ms per form; × the smallest batch's ms per form):")
        first = results[0]
        for r in results:
            cells = []
            for k in ("rescore", "check_all"):
                per, per0 = (x["median_cpu_s"][k] / x["rows"]["forms"] for x in (r, first))
                cells.append(f"{k} {r['median_cpu_s'][k]:7.3f} s {1000 * per:6.3f} ms {per / per0:5.2f}×")
            print(f"  forms {r['rows']['forms']:>9,}: " + "   ".join(cells))
    if args.json:
        meta = {"python": platform.python_version(), "pandas": pd.__version__, "cpu_count": os.cpu_count(),
                "findings_bundled": len(one)}
        out = {**results[0], **meta} if len(results) == 1 else {**meta, "runs": results}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
