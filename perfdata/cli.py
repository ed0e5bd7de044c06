"""Command line: `perfdata ingest RAW_DIR --out OUT_DIR`."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

from perfdata import __version__, paths, schema, store
from perfdata.ingest import ingest


def _matched(df) -> str:
    counts = df["match"].value_counts()
    return ", ".join(f"{k} {int(counts.get(k, 0))}" for k in ("exact", "key", "contains", "fuzzy", "ambiguous", "none"))


def _summary(tables, seconds: float, out: Path, written) -> str:
    files, forms, problems = tables["files"], tables["forms"], tables["problems"]
    lines = [
        f"perfdata {__version__} — ingest finished in {seconds:.2f} s",
        f"  files       {len(files):>6}   ok {int((files.status == 'ok').sum())}, "
        f"partial {int((files.status == 'partial').sum())}, failed {int((files.status == 'failed').sum())}",
        f"  forms       {len(forms):>6}   complete {int(forms.complete.sum())}",
        f"  funding     {len(tables['funding']):>6}",
        f"  indicators  {len(tables['indicators']):>6}",
        f"  summary rows {len(tables['summary_rows']):>5}   in {tables['summary_rows'].summary_id.nunique()} "
        "自评汇总表",
        f"  dept. forms {len(tables['department_forms']):>6}   indicators {len(tables['department_indicators'])}",
        # -- 绩效目标表 and narrative statements (perfdata.targets, perfdata.statements, perfdata.keys) --
        f"  targets     {len(tables['targets']):>6}   matched to forms {_matched(tables['targets'])}",
        f"  target ind. {len(tables['target_indicators']):>6}",
        f"  statements  {len(tables['statements']):>6}   matched to forms {_matched(tables['statements'])}",
        f"  summary rows matched to forms {_matched(tables['summary_rows'])}",
        f"  leftovers   {len(tables['leftovers']):>6}",
        f"  problems    {len(problems):>6}   " + ", ".join(
            f"{k} {v}" for k, v in problems.severity.value_counts().items()),
        "",
        "  per file:",
    ]
    per = forms.groupby("source_file").size()
    for _, f in files.iterrows():
        lines.append(f"    {f.status:<8} {int(per.get(f.source_file, 0)):>4} forms  {f.source_file}"
                     + (f"  [{f.encoding}]" if pd.notna(f.encoding) and f.encoding != "utf-8" else ""))
    shown = problems[problems.severity != "info"]
    if len(shown):
        lines += ["", "  problems:"]
        for _, p in shown.head(20).iterrows():
            where = f"{p.source_file}:{p.line}" if pd.notna(p.line) else p.source_file
            lines.append(f"    {p.severity:<7} {where}: {p.message}")
        if len(shown) > 20:
            lines.append(f"    … {len(shown) - 20} more in problems table")
    lines += ["", f"  tables written to {out}/ ({', '.join(sorted({w.suffix[1:] for w in written}))})"]
    return "\n".join(lines)


def cmd_ingest(args) -> int:
    raw = Path(args.raw)
    if not raw.exists():
        print(f"perfdata: {raw}: no such file or folder", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    tables = ingest(raw, jobs=args.jobs, progress=None if args.progress is None else args.progress)
    written = store.write(tables, args.out, args.format)
    print(_summary(tables, time.perf_counter() - t0, Path(args.out), written))
    failed = (tables["files"].status == "failed").any()
    return 1 if failed else 0


# -- check -------------------------------------------------------------------------------------------

def _params(items: list[str]) -> dict[str, float]:
    out = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--param {item!r}: write NAME=VALUE")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise ValueError(f"--param {item!r}: {value!r} is not a number") from None
    return out


def cmd_check(args) -> int:
    from perfdata import checks, scoring

    data = Path(args.data)
    try:
        params = _params(args.param)
        tables = store.load(data)
        t0 = time.perf_counter()
        found = checks.check(tables, raw_dir=args.raw, **params)
    except (FileNotFoundError, ValueError) as e:
        print(f"perfdata: {e}", file=sys.stderr)
        return 2
    found.to_parquet(data / "anomalies.parquet", index=False)
    written = [data / "anomalies.parquet"]
    if "forms" in tables and "indicators" in tables:
        written += store.write(scoring.rescore(tables), data, "parquet")
    if args.xlsx:
        xlsx = data / "anomalies.xlsx"
        with pd.ExcelWriter(xlsx, engine="openpyxl") as xw:
            store._excel_safe(found).rename(columns=schema.labels("anomalies")).to_excel(
                xw, sheet_name="anomalies", index=False)
            checks.summary(found).to_excel(xw, sheet_name="by_rule", index=False)
        written.append(xlsx)
    per = checks.summary(found)
    lines = [f"perfdata {__version__} — {len(found)} findings in {time.perf_counter() - t0:.2f} s "
             f"({int(checks.is_template_level(found).sum())} template-level)", ""]
    for r in per.itertuples():
        lines.append(f"  {r.severity:<7} {r.findings:>4}  {r.rule:<30} {r.title_zh}")
    lines += ["", f"  written: {', '.join(str(w) for w in written)}"]
    print("\n".join(lines))
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="perfdata", description=__doc__)
    p.add_argument("--version", action="version", version=f"perfdata {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    ing = sub.add_parser("ingest", help="read raw documents into tidy tables")
    ing.add_argument("raw", nargs="?", default=str(paths.RAW), help="raw file or folder (default data/raw)")
    ing.add_argument("--out", default=str(paths.PROCESSED), help="output folder (default data/processed)")
    ing.add_argument("--format", choices=store.FORMATS, default="parquet")
    ing.add_argument("--jobs", type=int, default=None, help="processes (default: all cores for ≥8 files)")
    ing.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                     help="progress bar (default: on a terminal, for ≥20 files)")
    ing.set_defaults(func=cmd_ingest)
    chk = sub.add_parser("check", help="rescore the forms and list anomalies (writes anomalies.parquet)")
    chk.add_argument("data", nargs="?", default=str(paths.PROCESSED),
                     help="folder of tidy tables (default data/processed)")
    chk.add_argument("--raw", default=None, help="raw folder, to quote the evidence lines (default data/raw)")
    chk.add_argument("--xlsx", action="store_true", help="also write anomalies as an Excel workbook")
    chk.add_argument("--param", action="append", metavar="NAME=VALUE",
                     help="override a threshold or tolerance (see docs/rules.md); repeatable")
    chk.set_defaults(func=cmd_check)
    args = p.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
