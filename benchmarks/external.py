"""Accuracy of the readers on the development set of real forms from other provinces.

Why: the bundled documents come from four units only, and the readers were built on them. The folder
`shared/external` (next to this repository) holds 25 excerpts of real 项目支出绩效自评表 /
部门整体支出绩效自评表 / 汇总表 from ten other provinces, in every serialisation that copying a table out of
a web page or a PDF produces, with the fields a careful person sees in each written down in its
`index.csv`. This script ingests the excerpts with the package and compares the tables to that gold:
how many files yield a form at all, how many visible gold fields are read exactly, how many indicator
rows are read. It measures, it does not gate: the exit status is 0 whatever the figures (2 only when
the folder or its index.csv is missing).

    python benchmarks/external.py [--dir ../shared/external] [--verbose] [--json PATH]

The folder is `--dir`, else $PERFDATA_EXTERNAL, else `../shared/external` from the repository root.
Names are compared after the benchmark's own normalisation (`normalise_name`: NFKC, pinyin artefacts
of machine conversion deleted, traditional → simplified with OpenCC when installed, whitespace and a
leading budget-system code removed), deliberately independent of the package's, so that a change to
the package's normalisation cannot move the yardstick.
"""

from __future__ import annotations

import argparse
import difflib
import json
import math
import os
import re
import shutil
import sys
import tempfile
import unicodedata
from functools import cache
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ENV_DIR = "PERFDATA_EXTERNAL"
INDEX = "index.csv"

FIELDS = ("project_name", "budget_initial", "budget_full_year", "executed", "exec_rate", "total_score")
AMOUNTS = ("budget_initial", "budget_full_year", "executed")
TYPES = ("project", "department_overall", "summary")

# Where each form type is read, and which column holds each gold field there (the first column the
# table has wins; none present reads as null, i.e. wrong). 部门预算总额 (budget_total) is the budget
# the department form states for the year, taken as its 年初预算数 until the table has its own column.
SPECS: dict[str, dict] = {
    "project": {
        "table": "forms", "id": "form_id", "indicators": "indicators",
        "columns": {
            "project_name": ("project_name",),
            "budget_initial": ("budget_initial",),
            "budget_full_year": ("budget_full_year",),
            "executed": ("executed",),
            "exec_rate": ("exec_rate_reported",),
            "total_score": ("total_score_reported",),
        },
    },
    "department_overall": {
        "table": "department_forms", "id": "dept_form_id", "indicators": "department_indicators",
        "columns": {
            "project_name": ("department", "unit"),
            "budget_initial": ("budget_initial", "budget_total"),
            "budget_full_year": ("budget_full_year",),
            "executed": ("executed",),
            "exec_rate": ("exec_rate_reported", "exec_rate"),
            "total_score": ("total_score_reported", "total_score"),
        },
    },
    "summary": {
        "table": "summary_rows", "id": None, "indicators": None,
        "columns": {
            "project_name": ("project_name",),
            "budget_initial": ("budget_initial",),
            "budget_full_year": ("budget", "budget_full_year"),
            "executed": ("executed",),
            "exec_rate": ("exec_rate_reported",),
            "total_score": ("total_score", "total_score_reported"),
        },
    },
}

PINYIN = re.compile(r"\([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]+\)")
CODE_PREFIX = re.compile(r"^\d{6,}[A-Z]\d{6,}[-－—]?")
WHITESPACE = re.compile(r"\s+")
TOTAL_NAMES = {"合计", "总计", "合计数"}


# -- locating and reading the development set -------------------------------------------------------

def default_dir() -> Path:
    """$PERFDATA_EXTERNAL, else the `shared/external` folder next to the repository."""
    env = os.environ.get(ENV_DIR)
    return Path(env) if env else (ROOT.parent / "shared" / "external").resolve()


def load_index(folder: Path) -> pd.DataFrame:
    """index.csv with every cell as text ('' for empty), so gold values stay as printed."""
    return pd.read_csv(folder / INDEX, dtype=str, keep_default_na=False)


def read_folder(folder: Path, reader: str = "auto") -> dict[str, pd.DataFrame]:
    """The package's tables of the folder's .txt files (index.csv and the README are not inputs); `reader`
    "tokens": the token reader's reading alone (perfdata.read's `reader`)."""
    import perfdata
    from perfdata import ingest

    with tempfile.TemporaryDirectory(prefix="perfdata-external-") as tmp:
        for p in sorted(folder.glob("*.txt")):
            shutil.copyfile(p, Path(tmp) / p.name)
        return ingest(tmp, jobs=1, progress=False) if reader == "auto" else perfdata.read(tmp, reader=reader)


# -- normalisation and comparison (the benchmark's own) ----------------------------------------------

@cache
def _t2s():
    """OpenCC's traditional → simplified converter, or None when opencc is not installed."""
    try:
        import opencc
    except ImportError:
        return None
    for config in ("t2s", "t2s.json"):
        try:
            return opencc.OpenCC(config)
        except Exception:  # a packaging variant that spells its configs differently
            continue
    return None


def has_opencc() -> bool:
    return _t2s() is not None


def normalise_name(text) -> str:
    """Name for comparison: NFKC, pinyin artefacts deleted, simplified, no whitespace, no code prefix.

    >>> normalise_name("51000021R000000019951-工资性支出"), normalise_name("普陀体育中心 结 算费用")
    ('工资性支出', '普陀体育中心结算费用')
    """
    if text is None or _isna(text):
        return ""
    s = unicodedata.normalize("NFKC", str(text))
    s = PINYIN.sub("", s)
    conv = _t2s()
    if conv is not None:
        s = conv.convert(s)
    s = WHITESPACE.sub("", s)
    return CODE_PREFIX.sub("", s)


def parse_gold(text: str) -> float | None:
    """A gold figure as printed: '100.00%' / '100 %' → 100.0, '238.93' → 238.93; '' → None.

    >>> parse_gold("100 %"), parse_gold("238.93"), parse_gold("1,548.447"), parse_gold("")
    (100.0, 238.93, 1548.447, None)
    """
    s = WHITESPACE.sub("", unicodedata.normalize("NFKC", str(text))).replace(",", "").rstrip("%")
    if not s:
        return None
    try:
        return float(s)
    except ValueError:
        return None


def gold_value(field: str, text: str, amount_unit: str) -> float | None:
    """The gold figure in the tables' units: amounts printed in 元 are expected in 万元."""
    v = parse_gold(text)
    if v is not None and field in AMOUNTS and str(amount_unit).strip() == "元":
        v = v / 10000
    return v


def numbers_equal(read, gold: float) -> bool:
    """Exact up to float noise; a null read is wrong."""
    if read is None or _isna(read):
        return False
    return abs(float(read) - gold) <= 1e-6 * max(1.0, abs(gold))


def _isna(v) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _plain(v):
    """A cell as a JSON-able Python value (None for nulls)."""
    if v is None or _isna(v):
        return None
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


# -- choosing the gold form ------------------------------------------------------------------------

def _table(tables: dict, name: str | None) -> pd.DataFrame:
    df = tables.get(name) if name else None
    return df if df is not None else pd.DataFrame()


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    return df[name] if name in df.columns else pd.Series([None] * len(df), index=df.index, dtype=object)


def _eq(series: pd.Series, value) -> pd.Series:
    """Element-wise equality where a null on either side is False (no NA in the mask)."""
    if value is None or _isna(value):
        return pd.Series(False, index=series.index)
    return series.astype(object).map(lambda x: not _isna(x) and x == value).astype(bool)


def _of_file(df: pd.DataFrame, file: str) -> pd.DataFrame:
    if df.empty or "source_file" not in df.columns:
        return df.iloc[0:0]
    rows = df[_eq(df["source_file"], file)]
    if "line_start" in rows.columns:
        rows = rows.assign(_line=pd.to_numeric(rows["line_start"], errors="coerce"))
        rows = rows.sort_values("_line", kind="stable", na_position="last").drop(columns="_line")
    return rows


def _value(row: pd.Series | None, columns: tuple[str, ...]):
    """The first of `columns` the row fills, else None: a department form read by rows has 部门预算总额
    (budget_total) where one read in the project layout has 年初预算数 (budget_initial)."""
    if row is None:
        return None
    for c in columns:
        if c in row.index and _plain(row[c]) is not None:
            return _plain(row[c])
    return None


def pick_form(candidates: pd.DataFrame, gold_name: str, name_columns: tuple[str, ...]) -> pd.Series | None:
    """The candidate whose normalised name best matches the gold name (difflib ratio); the first by line
    when the gold name is empty or nothing resembles it."""
    if candidates.empty:
        return None
    target = normalise_name(gold_name)
    if not target:
        return candidates.iloc[0]
    best, best_ratio = 0, 0.0
    for k in range(len(candidates)):
        name = normalise_name(_value(candidates.iloc[k], name_columns))
        ratio = difflib.SequenceMatcher(None, target, name).ratio() if name else 0.0
        if ratio > best_ratio:
            best, best_ratio = k, ratio
    return candidates.iloc[best]


def _is_total(row: pd.Series) -> bool:
    if _plain(row.get("is_total")) is True:
        return True
    return any(normalise_name(_plain(row.get(c))) in TOTAL_NAMES for c in ("project_name", "unit"))


def pick_summary_total(rows: pd.DataFrame) -> pd.Series | None:
    """The first 合计/总计 row of the file's summary rows."""
    for k in range(len(rows)):
        if _is_total(rows.iloc[k]):
            return rows.iloc[k]
    return None


# -- scoring ---------------------------------------------------------------------------------------

def _index_rows(index) -> list[dict]:
    rows = index.to_dict("records") if isinstance(index, pd.DataFrame) else list(index)
    return [{k: "" if v is None or _isna(v) else str(v) for k, v in r.items()} for r in rows]


def _lines(row: pd.Series | None) -> list[int | None] | None:
    if row is None:
        return None
    return [_plain(row.get("line_start")), _plain(row.get("line_end"))]


def score_file(tables: dict, gold: dict) -> dict:
    """One index row against the tables: found, the chosen form, each visible field, indicator rows."""
    file, kind = gold.get("file", ""), gold.get("form_type", "")
    spec = SPECS.get(kind)
    out: dict = {"file": file, "form_type": kind, "found": False, "table": spec["table"] if spec else None,
                 "forms_in_file": 0, "lines": None, "fields": {}, "indicator_rows_read": 0,
                 "indicator_rows_gold": None}
    if spec is None:
        out["error"] = f"unknown form_type {kind!r}"
        return out
    cols = spec["columns"]
    candidates = _of_file(_table(tables, spec["table"]), file)
    out["found"] = not candidates.empty
    out["forms_in_file"] = len(candidates)
    if kind == "summary":
        row = pick_summary_total(candidates)
        if row is not None and "table_line" in candidates.columns and not _isna(row.get("table_line")):
            items = candidates[_eq(candidates["table_line"], row["table_line"])]
        else:
            items = candidates
        # item rows: projects and group rows (一 / (一), subtotals of the items under them), not the 合计
        n_read = sum(not _is_total(items.iloc[k]) or _plain(items.iloc[k].get("is_subtotal")) is True
                     for k in range(len(items)))
    else:
        row = pick_form(candidates, gold.get("project_name", ""), cols["project_name"])
        n_read = 0
        if row is not None and spec["id"] and spec["id"] in row.index:
            ind = _table(tables, spec["indicators"])
            if spec["id"] in ind.columns:
                n_read = int(_eq(ind[spec["id"]], row[spec["id"]]).sum())
    out["lines"] = _lines(row)
    if row is not None and spec["id"]:
        out["form_id"] = _value(row, (spec["id"],))

    for field in FIELDS:
        printed = gold.get(field, "").strip()
        if not printed:
            continue
        read = _value(row, cols[field])
        if field == "project_name":
            expected = normalise_name(printed)
            ok = bool(expected) and normalise_name(read) == expected
        else:
            expected = gold_value(field, printed, gold.get("amount_unit", ""))
            ok = expected is not None and numbers_equal(read, expected)
        out["fields"][field] = {"gold": printed, "expected": expected, "read": read, "exact": ok}

    n_gold = parse_gold(gold.get("n_indicator_rows_visible", ""))
    out["indicator_rows_gold"] = None if n_gold is None else int(n_gold)
    out["indicator_rows_read"] = int(n_read)
    out["problems"] = _problems(tables, file)
    out["seen_as"] = _kinds(tables, file)
    return out


def _problems(tables: dict, file: str) -> list[dict]:
    rows = _of_file(_table(tables, "problems"), file)
    return [{"severity": _plain(r.get("severity")), "line": _plain(r.get("line")),
             "message": _plain(r.get("message"))} for _, r in rows.iterrows()]


def _kinds(tables: dict, file: str) -> list[str]:
    rows = _of_file(_table(tables, "tables"), file)
    return [str(_plain(k)) for k in _col(rows, "kind")]


def score(tables: dict[str, pd.DataFrame], index) -> dict:
    """Figures of the whole set: per form type found/N and exact/all visible gold fields; indicator rows
    as sum(min(read, gold)) / sum(gold) over every file with a count (a file not found reads 0)."""
    files = [score_file(tables, g) for g in _index_rows(index)]
    groups = {}
    for kind in TYPES:
        mine = [f for f in files if f["form_type"] == kind]
        exact = sum(v["exact"] for f in mine for v in f["fields"].values())
        total = sum(len(f["fields"]) for f in mine)
        groups[kind] = {"n": len(mine), "found": sum(f["found"] for f in mine), "fields_exact": exact,
                        "fields_total": total, "fields_exact_pct": 100 * exact / total if total else None}
    counted = [f for f in files if f["indicator_rows_gold"] is not None]
    read = sum(min(f["indicator_rows_read"], f["indicator_rows_gold"]) for f in counted)
    gold = sum(f["indicator_rows_gold"] for f in counted)
    return {"groups": groups, "indicator_rows": {"read": read, "gold": gold}, "files": files}


# -- printing --------------------------------------------------------------------------------------

def _pct(g: dict) -> str:
    p = g["fields_exact_pct"]
    return "n/a" if p is None else f"{p:.1f}%"


def summary_lines(result: dict) -> list[str]:
    g = result["groups"]
    p, d, s = g["project"], g["department_overall"], g["summary"]
    ind = result["indicator_rows"]
    return [
        f"found={p['found']}/{p['n']} fields_exact={_pct(p)}",
        f"department found={d['found']}/{d['n']} fields_exact={_pct(d)}  "
        f"summary found={s['found']}/{s['n']} fields_exact={_pct(s)}",
        f"indicator_rows={ind['read']}/{ind['gold']}",
    ]


def _width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def _pad(s: str, width: int) -> str:
    return s + " " * max(0, width - _width(s))


def _short(s: str, width: int) -> str:
    if _width(s) <= width:
        return s
    out = ""
    for ch in s:
        if _width(out + ch) > width - 1:
            break
        out += ch
    return out + "…"


def _show(v) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return format(v, ".10g")
    return str(v)


def verbose_lines(result: dict) -> list[str]:
    """The per-file table (file, type, found and lines, field, gold, read, ✓/✗) and the problem rows."""
    widths = (36, 10, 16, 16, 34, 34)
    head = ("file", "type", "found", "field", "gold", "read")
    out = ["  ".join(_pad(h, w) for h, w in zip(head, widths, strict=True)) + "  ok",
           "  ".join("-" * w for w in widths) + "  --"]
    for f in result["files"]:
        if f["found"]:
            a, b = f["lines"] or (None, None)
            found = f"yes {_show(a)}-{_show(b)}" + (f" ({f['forms_in_file']})" if f["forms_in_file"] > 1 else "")
        else:
            found = "no"
        first = [_short(f["file"], widths[0]), f["form_type"].replace("department_overall", "department"), found]
        rows = []
        for field, v in f["fields"].items():
            gold = v["gold"]
            if field in AMOUNTS and isinstance(v["expected"], float) and parse_gold(gold) != v["expected"]:
                gold = f"{gold} (={_show(v['expected'])}万元)"
            rows.append((field, gold, _show(v["read"]), "✓" if v["exact"] else "✗"))
        if f["indicator_rows_gold"] is not None:
            ok = "✓" if f["indicator_rows_read"] == f["indicator_rows_gold"] else "✗"
            rows.append(("indicator_rows", str(f["indicator_rows_gold"]), str(f["indicator_rows_read"]), ok))
        if f.get("seen_as"):
            rows.append(("(tables seen)", "", ", ".join(f["seen_as"]), ""))
        for k, (field, gold, read, ok) in enumerate(rows or [("", "", "", "")]):
            cells = (first if k == 0 else ["", "", ""]) + [field, _short(gold, widths[4]), _short(read, widths[5])]
            out.append("  ".join(_pad(c, w) for c, w in zip(cells, widths, strict=True)) + "  " + ok)
    with_problems = [f for f in result["files"] if f.get("problems")]
    if with_problems:
        out.append("")
        out.append("problems:")
        for f in with_problems:
            out.append(f"  {f['file']}")
            for p in f["problems"]:
                line = f" line {p['line']}" if p["line"] is not None else ""
                out.append(f"    {p['severity']}{line}: {str(p['message'] or '')[:80]}")
    return out


def _json_default(v):
    """numpy scalars and pandas nulls that reach the JSON (anything else as text)."""
    v = _plain(v)
    return v if v is None or isinstance(v, (bool, int, float, str)) else str(v)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, default=None,
                    help=f"development set folder (default ${ENV_DIR}, else ../shared/external from the repo)")
    ap.add_argument("--verbose", action="store_true", help="per-file table of gold vs read, and problem rows")
    ap.add_argument("--json", type=Path, help="also write the figures (summary and per file) as JSON here")
    ap.add_argument("--reader", choices=("auto", "tokens"), default="auto",
                    help="tokens: the token reader alone on every file (to compare it with ingest's reading)")
    args = ap.parse_args(argv)

    folder = (args.dir or default_dir()).resolve()
    if not folder.is_dir():
        print(f"external: no folder {folder} (give --dir or set {ENV_DIR})", file=sys.stderr)
        return 2
    if not (folder / INDEX).is_file():
        print(f"external: {folder} has no {INDEX}", file=sys.stderr)
        return 2
    try:
        index = load_index(folder)
    except (OSError, ValueError, pd.errors.ParserError) as e:
        print(f"external: cannot read {folder / INDEX}: {e}", file=sys.stderr)
        return 2
    missing = [c for c in ("file", "form_type", *FIELDS) if c not in index.columns]
    if missing:
        print(f"external: {folder / INDEX} lacks columns {', '.join(missing)}", file=sys.stderr)
        return 2

    tables = read_folder(folder, args.reader)
    result = score(tables, index)
    result["dir"] = str(folder)
    result["opencc"] = has_opencc()

    if args.verbose:
        for line in verbose_lines(result):
            print(line)
        print()
    for line in summary_lines(result):
        print(line)

    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=_json_default),
                             encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
