"""Styled workbooks for working papers: Chinese headers, frozen header row, filters, fitted widths,
severity colours, the evidence lines — and text from documents always stays text.

A cell whose text starts with = + - @ would be a formula in Excel; every string cell is written as a
string (and marked with Excel's quote prefix), so a project name like "=公益性岗位补贴" shows as printed.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, NamedStyle, PatternFill
from openpyxl.utils import get_column_letter

from perfdata import schema
from perfdata.checks import line_text
from perfdata.report import analysis

SEVERITY_FILLS = {"high": "F8CBAD", "medium": "FCE4D6", "low": "FFF2CC"}
HEADER_FILL = "DDEBF7"
WRAP_COLUMNS = {"message", "evidence", "text", "goal_planned", "goal_achieved", "notes", "expected", "found"}
MAX_WIDTH, WRAP_WIDTH = 48, 60
FORMULA_START = ("=", "+", "-", "@")

EXTRA_LABELS = analysis.LABELS  # headers of report tables that are not tidy tables


def display_width(text: str) -> int:
    """Columns a text takes in a spreadsheet: wide (CJK) characters count twice.

    >>> display_width("执行率(%)")
    9
    """
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def headers(df: pd.DataFrame, table: str | None = None) -> list[str]:
    """Chinese header per column: the schema's label for a tidy table, else analysis.LABELS, else the name."""
    labels = schema.labels(table) if table in schema.TABLES else {}
    return [labels.get(c) or EXTRA_LABELS.get(c) or c for c in df.columns]


def _value(v):
    if v is None or v is pd.NA:
        return None
    if isinstance(v, float) and v != v:
        return None
    if hasattr(v, "item"):  # numpy scalar
        return v.item()
    return v


def write_sheet(wb: Workbook, title: str, df: pd.DataFrame, table: str | None = None):
    """One table as a sheet: bold coloured header, frozen, filtered, fitted widths, colours by severity."""
    ws = wb.create_sheet(title=title[:31])
    cols = list(df.columns)
    ws.append(headers(df, table))
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor=HEADER_FILL)
        cell.alignment = Alignment(vertical="center", wrap_text=True)
    sev_col = cols.index("severity") if "severity" in cols else None
    wrap = [c in WRAP_COLUMNS for c in cols]
    widths = [display_width(str(c.value)) for c in ws[1]]
    for r, row in enumerate(df.itertuples(index=False, name=None), start=2):
        severity = row[sev_col] if sev_col is not None and row[sev_col] in SEVERITY_FILLS else None
        for c, v in enumerate(row, start=1):
            v = _value(v)
            cell = ws.cell(row=r, column=c, value=v)
            if isinstance(v, str):
                cell.data_type = "s"  # never a formula, whatever the text starts with
                longest = max((display_width(part) for part in v.split("\n")), default=0)
            else:
                longest = len(f"{v:,.2f}") if isinstance(v, float) else len(str(v)) if v is not None else 0
            if severity or wrap[c - 1]:
                cell.style = _named_style(wb, severity, wrap[c - 1])
            if isinstance(v, str) and v.startswith(FORMULA_START):
                cell.quotePrefix = True  # after the style, which would reset it
            widths[c - 1] = max(widths[c - 1], longest)
    for c, w in enumerate(widths, start=1):
        limit = WRAP_WIDTH if cols[c - 1] in WRAP_COLUMNS else MAX_WIDTH
        ws.column_dimensions[get_column_letter(c)].width = min(max(w + 2, 6), limit)
    ws.freeze_panes = "A2"
    if len(cols):
        ws.auto_filter.ref = f"A1:{get_column_letter(len(cols))}{max(1, len(df) + 1)}"
    return ws


def _named_style(wb: Workbook, severity: str | None, wrap: bool) -> str:
    """A cell style registered once per workbook (per-cell styles make large sheets slow to write)."""
    name = "-".join(([f"严重程度{ {'high': '高', 'medium': '中', 'low': '低'}[severity]}"] if severity else [])
                    + (["换行"] if wrap else []))
    if name not in wb.named_styles:
        style = NamedStyle(name=name)
        if severity:
            style.fill = PatternFill("solid", fgColor=SEVERITY_FILLS[severity])
        if wrap:
            style.alignment = Alignment(wrap_text=True, vertical="top")
        wb.add_named_style(style)
    return name


def write_workbook(sheets: dict[str, tuple[pd.DataFrame, str | None]], path: str | Path) -> Path:
    """Write sheets {title: (frame, tidy table name or None)} to PATH atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook()
    wb.remove(wb.active)
    for title, (df, table) in sheets.items():
        write_sheet(wb, title, df, table)
    tmp = path.with_name(path.name + ".tmp")
    wb.save(tmp)
    tmp.replace(path)
    return path


def with_evidence(anomalies: pd.DataFrame, raw_dir: str | Path | None) -> pd.DataFrame:
    """Fill blank `evidence` from the raw documents: the printed text of each finding's line (as check() quotes it)."""
    out = anomalies.copy()
    if raw_dir is None or not len(out) or "line" not in out:
        return out
    need = out["evidence"].isna() & out["line"].notna() & out["source_file"].notna()
    out.loc[need, "evidence"] = [line_text(raw_dir, sf, ln) for sf, ln in
                                 zip(out.loc[need, "source_file"], out.loc[need, "line"], strict=True)]
    return out


def anomalies_workbook(tables: dict[str, pd.DataFrame], path: str | Path, raw_dir=None) -> Path:
    """The auditors' workbook: every finding with its evidence, counts by rule, the forms, what was not read."""
    empty = schema.frame("anomalies", [])
    an = analysis.sort_anomalies(with_evidence(tables.get("anomalies", empty), raw_dir))
    by_rule = analysis.anomaly_counts(an, ["rule", "category"]) if len(an) else \
        pd.DataFrame(columns=["rule", "category", "high", "medium", "low", "total"])
    forms = tables.get("forms", schema.frame("forms", []))
    sheets = {
        "问题清单": (an, "anomalies"),
        "按规则统计": (by_rule, "anomalies"),
        "项目自评表": (analysis.with_execution(forms).sort_values(["source_file", "line_start"]), "forms"),
        "未读取内容": (tables.get("leftovers", schema.frame("leftovers", [])), "leftovers"),
        "文件问题": (tables.get("problems", schema.frame("problems", [])), "problems"),
    }
    return write_workbook(sheets, path)
