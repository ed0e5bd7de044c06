"""Command line: `perfdata ingest RAW_DIR --out OUT_DIR`."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

from perfdata import __version__, paths, store
from perfdata.ingest import ingest


def _summary(tables, seconds: float, out: Path, written) -> str:
    files, forms, problems = tables["files"], tables["forms"], tables["problems"]
    lines = [
        f"perfdata {__version__} — ingest finished in {seconds:.2f} s",
        f"  files       {len(files):>6}   ok {int((files.status == 'ok').sum())}, "
        f"partial {int((files.status == 'partial').sum())}, failed {int((files.status == 'failed').sum())}",
        f"  forms       {len(forms):>6}   complete {int(forms.complete.sum())}",
        f"  funding     {len(tables['funding']):>6}",
        f"  indicators  {len(tables['indicators']):>6}",
        f"  leftovers   {len(tables['leftovers']):>6}",
        f"  problems    {len(problems):>6}   " + ", ".join(
            f"{k} {v}" for k, v in problems.severity.value_counts().items()),
        "",
        "  per file:",
    ]
    per = forms.groupby("source_file").size()
    for _, f in files.iterrows():
        lines.append(f"    {f.status:<8} {int(per.get(f.source_file, 0)):>4} forms  {f.source_file}"
                     + (f"  [{f.encoding}]" if pd.notna(f.encoding) and f.encoding != "utf-8" else "")
                     + (f"  [{f.format}]" if pd.notna(f.format) and f.format != "text" else ""))
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
    args = p.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
