"""The working-paper workbook: Chinese headers and labels, numbers as numbers with finance formats,
原文位置 filled, A4 landscape fitted to the width with the header row repeated, frozen key columns, wrapped
text with row heights, empty reviewer columns, a pivot-ready 部门×年度 sheet and a 说明 sheet; beside the
findings, the audit analyses (perfdata.audit): the 抽查清单 (a sample of forms to re-check by hand), 跨年度对比,
雷同文本 and 数字分布检验.

A cell whose text starts with = + - @ would be a formula in Excel; every string cell is written as a
string (and marked with Excel's quote prefix), so a project name like "=公益性岗位补贴" shows as printed.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from perfdata import schema
from perfdata.checks import line_text
from perfdata.report import analysis, display

if TYPE_CHECKING:
    from openpyxl import Workbook
# openpyxl is imported where a workbook is written: a report notebook that only quotes evidence
# (with_evidence) does not pay for it

SEVERITY_FILLS = {"high": "F8CBAD", "medium": "FCE4D6", "low": "FFF2CC"}
HEADER_FILL = "DDEBF7"
REVIEW_FILL = "F2F2F2"
WRAP_COLUMNS = {"message", "evidence", "text", "goal_planned", "goal_achieved", "notes", "expected", "found",
                "project_name", "location", "title_zh", "why", "reason", "department", "unit", "deviation_note",
                "review_note", "review_result", "rule", "where", "field", "title", "source_file",
                # the audit sheets (perfdata.audit)
                "kind", "indicator", "prev_where", "where_a", "where_b", "text_a", "text_b", "project_name_a",
                "project_name_b", "department_a", "department_b", "stratum"}
MAX_WIDTH, WRAP_WIDTH = 40, 60
FONT_NAME, FONT_SIZE = "等线", 10  # Office's default font for Chinese
LINE_HEIGHT = 13.5  # points per line of 10-point text
FORMULA_START = ("=", "+", "-", "@")
FORMATS = {"money": "#,##0.00", "rate": "0.00%", "points": "0.0#", "count": "#,##0", "year": "0", "line": "0",
           "number": "#,##0.0#", "stat": "0.0000"}
REVIEW_COLUMNS = {"review_note": "复核意见", "review_result": "处理结果", "reviewer": "复核人",
                  "review_date": "复核日期"}
REVIEW_RESULTS = ["属实，需整改", "属实，已整改", "不成立", "待补充资料"]
# the findings sheet: key columns first (frozen), then where and what, then the reviewer's
FINDING_COLUMNS = ["no", "severity", "rule", "project_name", "region", "department", "year", "category", "field",
                   "expected", "found", "message", "where", "evidence", *REVIEW_COLUMNS]
FINDING_LABELS = {"no": "序号", "rule": "规则名称", "where": "原文位置", **REVIEW_COLUMNS}
# about 215 characters: A4 landscape at three quarters of full size
FINDING_WIDTHS = {"no": 5, "severity": 5, "rule": 16, "project_name": 16, "region": 7, "department": 12, "year": 5,
                  "category": 8, "field": 9, "expected": 9, "found": 9, "message": 30, "where": 16,
                  "evidence": 30, "review_note": 14, "review_result": 9, "reviewer": 6, "review_date": 9}

EXTRA_LABELS = analysis.LABELS  # headers of report tables that are not tidy tables

# The 抽查清单's draw: the overview notebook's parameters of the same names and defaults (a run passes them in
# `info["parameters"]` when given), so the workbook lists the forms the report lists.
SAMPLE = {"sample_method": "risk", "sample_n": 10, "sample_seed": 2024}
SAMPLE_COLUMNS = ["no", "project_name", "region", "department", "year", "budget", "method", "stratum",
                  "selection_probability", "interval", "findings", "findings_high", "risk_score", "reason", "where",
                  "seed",
                  *REVIEW_COLUMNS]
SAMPLE_WIDTHS = {"no": 5, "project_name": 24, "region": 7, "department": 14, "year": 5, "reason": 40, "where": 22,
                 "stratum": 12, "method": 9, "review_note": 16, "review_result": 10, "reviewer": 7, "review_date": 10}
YEAR_COLUMNS = ["no", "severity", "rule", "project_name", "region", "department", "year", "prev_year", "indicator",
                "field", "expected", "found", "message", "where", "prev_where", "match", *REVIEW_COLUMNS]
YEAR_WIDTHS = {"no": 5, "severity": 5, "rule": 14, "project_name": 18, "region": 7, "department": 12, "year": 5,
               "prev_year": 5, "indicator": 12, "field": 9, "expected": 9, "found": 9, "message": 32, "where": 18,
               "prev_where": 18, "match": 10, "review_note": 14, "review_result": 9, "reviewer": 6, "review_date": 9}
COPY_COLUMNS = ["no", "kind", "similarity", "count", "total", "message", "where_b", "department_b", "project_name_b",
                "text_b", "where_a", "department_a", "project_name_a", "text_a", *REVIEW_COLUMNS]
COPY_LABELS = {"where_a": "原文位置(甲)", "where_b": "原文位置(乙)"}
COPY_WIDTHS = {"no": 5, "kind": 11, "similarity": 7, "count": 6, "total": 6, "message": 40, "where_b": 18,
               "department_b": 12, "project_name_b": 16, "text_b": 30, "where_a": 18, "department_a": 12,
               "project_name_a": 16, "text_a": 30, "review_note": 14, "review_result": 9, "reviewer": 6,
               "review_date": 9}
DIGIT_COLUMNS = ["test", "group", "n", "excluded", "mad", "mad_expected", "verdict", "chi_square", "dof", "p_value"]


def display_width(text: str) -> int:
    """Columns a text takes in a spreadsheet: wide (CJK) characters count twice.

    >>> display_width("执行率(%)")
    9
    """
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def headers(df: pd.DataFrame, table: str | None = None) -> list[str]:
    """Chinese header per column: the schema's label for a tidy table, else analysis.LABELS, else the name."""
    return [display.column_label(str(c), table) for c in df.columns]


def _lines(text: str, width: float) -> int:
    """Lines a wrapped text takes in a column `width` characters wide."""
    per = max(1.0, width - 1.5)
    return sum(max(1, math.ceil(display_width(part) / per)) for part in str(text).split("\n"))


def _number(text):
    """'13.3' → 13.3; other text (≥95%, 完成) stays text."""
    if isinstance(text, str) and re.fullmatch(r"-?\d+(?:\.\d+)?", text.strip()):
        return float(text)
    return text


class Sheet:
    """Writes one table: styles registered once per workbook (per-cell styles make large sheets slow)."""

    def __init__(self, wb: Workbook):
        self.wb = wb

    def style(self, fmt: str | None, wrap: bool, severity: str | None = None, bold: bool = False,
              fill: str | None = None) -> str:
        name = "|".join([fmt or "常规", "换行" if wrap else "", severity or "", "粗体" if bold else "", fill or ""])
        if name not in self.wb.named_styles:
            from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Side

            st = NamedStyle(name=name)
            if fmt:
                st.number_format = fmt
            st.alignment = Alignment(wrap_text=wrap, vertical="top", horizontal="left" if wrap else None)
            fg = SEVERITY_FILLS.get(severity or "") or fill
            if fg:
                st.fill = PatternFill("solid", fgColor=fg)
            st.font = Font(name=FONT_NAME, bold=bold, size=FONT_SIZE)
            st.border = Border(bottom=Side(style="hair", color="BFBFBF"))
            self.wb.add_named_style(st)
        return name


def write_sheet(wb: Workbook, title: str, df: pd.DataFrame, table: str | None = None, *,
                labels: dict[str, str] | None = None, widths: dict[str, float] | None = None,
                freeze: str = "A2", kinds: dict[str, str] | None = None, severity_column: str = "severity",
                total_row: dict | None = None, fills: dict[str, str] | None = None,
                header_title: str | None = None, blank: set[str] | frozenset = frozenset()):
    """One table as a sheet: Chinese headers, codes as labels, numbers with formats, wrapped text with row
    heights, frozen panes, a filter, and a print set-up (A4 landscape, one page wide, header row repeated).

    A blank number stays blank; a blank text or key reads 未填 or — (display.missing_text), except in the
    `blank` columns (the reviewer's, to be filled in).
    """
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(title=title[:31])
    sheet = Sheet(wb)
    cols = [str(c) for c in df.columns]
    labels = labels or {}
    head = [labels.get(c) or display.column_label(c, table) for c in cols]
    kinds = {c: (kinds or {}).get(c) or display.column_kind(c, h, df[c].dtype) for c, h in zip(cols, head,
                                                                                            strict=True)}
    head = [h.replace("(%)", "") if kinds[c] == "rate" else h for c, h in zip(cols, head, strict=True)]
    values = display.translate(df, table)
    ws.append(head)
    header_style = sheet.style(None, True, bold=True, fill=HEADER_FILL)
    for cell in ws[1]:
        cell.style = header_style
    # widths: fitted to the content, wrapped columns capped
    width = {}
    for c, h in zip(cols, head, strict=True):
        if widths and c in widths:
            width[c] = widths[c]
            continue
        sample = values[c].head(2000)
        longest = max([display_width(h)] + [display_width(display.fmt(v, kinds[c], "")) for v in sample
                                              if not display.is_missing(v)] or [0])
        limit = WRAP_WIDTH if c in WRAP_COLUMNS else MAX_WIDTH
        width[c] = min(max(longest + 2, 6), limit)
    wrap = {c: c in WRAP_COLUMNS or width[c] < display_width(h) for c, h in zip(cols, head, strict=True)}
    ws.row_dimensions[1].height = LINE_HEIGHT * max(_lines(h, width[c]) for c, h in zip(cols, head, strict=True))
    sev = df[severity_column].tolist() if severity_column in df else [None] * len(df)
    styles: dict = {}
    for r, (row, severity) in enumerate(zip(values.itertuples(index=False, name=None), sev, strict=True), start=2):
        severity = severity if severity in SEVERITY_FILLS else None
        lines = 1
        for k, (c, v) in enumerate(zip(cols, row, strict=True), start=1):
            kind = kinds[c]
            if display.is_missing(v):  # numbers stay blank; a key or text says why it is blank
                v = display.missing_text(c) if kind in ("text", "year", "line", "bool") and c not in blank else None
            elif hasattr(v, "item"):
                v = v.item()
            if kind == "rate" and isinstance(v, (int, float)):
                v = v / 100
            cell = ws.cell(row=r, column=k, value=v)
            fill = (fills or {}).get(c)
            key = (kind, wrap[c], severity if c == severity_column else None, fill)
            if key not in styles:
                styles[key] = sheet.style(FORMATS.get(kind), wrap[c], key[2], fill=fill)
            cell.style = styles[key]
            if isinstance(v, str):
                cell.data_type = "s"  # never a formula, whatever the text starts with
                if v.startswith(FORMULA_START):
                    cell.quotePrefix = True  # after the style, which would reset it
                if wrap[c]:
                    lines = max(lines, _lines(v, width[c]))
        if lines > 1:
            ws.row_dimensions[r].height = min(409.0, LINE_HEIGHT * lines)
    if total_row and len(df):
        r = len(df) + 2
        bold = sheet.style(None, False, bold=True)
        for k, c in enumerate(cols, start=1):
            v = total_row.get(c)
            cell = ws.cell(row=r, column=k, value=v)
            cell.style = sheet.style(FORMATS.get(kinds[c]), False, bold=True) if isinstance(v, (int, float)) else bold
    for k, c in enumerate(cols, start=1):
        ws.column_dimensions[get_column_letter(k)].width = width[c]
    ws.freeze_panes = freeze
    if cols:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(cols))}{max(1, len(df) + 1)}"
    _print_setup(ws, header_title or title)
    return ws


def _print_setup(ws, title: str, repeat_header: bool = True):
    """A4 landscape, fitted to one page wide, the header row on every page, page numbers in the footer."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    if repeat_header:
        ws.print_title_rows = "1:1"
    ws.print_options.gridLines = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    ws.oddHeader.left.text = title
    ws.oddHeader.left.size = 9
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"
    ws.oddFooter.center.size = 9


def write_workbook(sheets: dict[str, tuple[pd.DataFrame, str | None]], path: str | Path) -> Path:
    """Write sheets {title: (frame, tidy table name or None)} to PATH atomically."""
    from openpyxl import Workbook

    path = Path(path)
    wb = Workbook()
    wb.remove(wb.active)
    for title, (df, table) in sheets.items():
        write_sheet(wb, title, df, table)
    return _save(wb, path)


_RUN_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?")
_CORE_DATES = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:(?:created|modified)>)")


def stamp_of(run_date) -> datetime | None:
    """The moment a workbook is stamped with: the run's date as the runner writes it (UTC), None when it has none.
    Zip entries cannot be dated before 1980, so an earlier date is 1980-01-01.

    >>> stamp_of("2026-01-01 00:00:00 UTC"), stamp_of("1970-01-01 00:00 UTC"), stamp_of(None)
    (datetime.datetime(2026, 1, 1, 0, 0), datetime.datetime(1980, 1, 1, 0, 0), None)
    """
    m = _RUN_DATE.match(str(run_date)) if run_date else None
    if not m:
        return None
    when = datetime(*(int(g or 0) for g in m.groups()))
    return max(when, datetime(1980, 1, 1))


def _stamped(data: bytes, when: datetime) -> bytes:
    """The workbook's bytes with every zip entry and docProps/core.xml's created/modified dated WHEN: openpyxl
    dates both with the time of saving, so two runs of the same inputs would differ in bytes."""
    import io
    import zipfile

    out = io.BytesIO()
    iso = when.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            body = src.read(item)
            if item.filename == "docProps/core.xml":
                body = _CORE_DATES.sub(lambda m: m.group(1) + iso + m.group(2), body)
            entry = zipfile.ZipInfo(item.filename, date_time=when.timetuple()[:6])
            entry.compress_type, entry.external_attr = zipfile.ZIP_DEFLATED, item.external_attr
            dst.writestr(entry, body)
    return out.getvalue()


def _save(wb: Workbook, path: Path, when: datetime | None = None) -> Path:
    """Write atomically (a reader never sees half a workbook); dated WHEN (the run date) when given."""
    import io

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    if when is None:
        wb.save(tmp)
    else:
        wb.properties.created = wb.properties.modified = when
        buf = io.BytesIO()
        wb.save(buf)
        tmp.write_bytes(_stamped(buf.getvalue(), when))
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


where = display.where


def findings_sheet(anomalies: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """The findings as the working paper lists them: numbered, 原文位置 filled, 应为/实为 as numbers where
    they are numbers, and the empty reviewer columns. Returns the frame and each column's kind."""
    a = anomalies.reset_index(drop=True)
    out = pd.DataFrame({"no": pd.array(range(1, len(a) + 1), dtype="Int64")})
    for c in ("severity", "rule", "project_name", "region", "department", "year", "category", "field", "message",
              "evidence"):
        out[c] = a[c].to_numpy() if c in a else None
    out["year"] = out["year"].astype("Int64")
    out["where"] = where(a).to_numpy() if len(a) else []
    kinds = {"expected": "text", "found": "text", "where": "text"}
    for c in ("expected", "found"):
        out[c] = pd.Series([_number(v) for v in a[c]], dtype=object) if c in a and len(a) else None
    # a number's format follows the field it is about (a rate, money, points); mixed columns: per cell below
    for c in REVIEW_COLUMNS:
        out[c] = None
    return out[FINDING_COLUMNS], kinds


def review_columns(ws, frame: pd.DataFrame) -> None:
    """The reviewer's columns of a sheet written from FRAME (REVIEW_COLUMNS, empty and shaded by write_sheet):
    处理结果 a drop-down of REVIEW_RESULTS, 复核日期 formatted as a date."""
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    dv = DataValidation(type="list", formula1='"' + ",".join(REVIEW_RESULTS) + '"', allow_blank=True)
    ws.add_data_validation(dv)
    col = {c: get_column_letter(k) for k, c in enumerate(frame.columns, start=1)}
    last = max(2, len(frame) + 1)
    dv.add(f"{col['review_result']}2:{col['review_result']}{last}")
    for r in range(2, len(frame) + 2):
        ws[f"{col['review_date']}{r}"].number_format = "yyyy-mm-dd"


def _numbered(df: pd.DataFrame, columns: list[str], **extra) -> pd.DataFrame:
    """DF's COLUMNS with 序号 first and the empty reviewer columns last (EXTRA: columns computed here)."""
    d = df.reset_index(drop=True)
    out = pd.DataFrame({"no": pd.array(range(1, len(d) + 1), dtype="Int64")})
    for c in columns:
        if c == "no":
            continue
        if c in REVIEW_COLUMNS:
            out[c] = None
        elif c in extra:
            out[c] = extra[c].to_numpy() if hasattr(extra[c], "to_numpy") else extra[c]
        else:
            out[c] = d[c].to_numpy() if c in d else None
            if c in d:
                out[c] = out[c].astype(d[c].dtype)
    return out[columns]


def _review_sheet(wb: Workbook, title: str, frame: pd.DataFrame, table: str, *, labels=None, widths=None,
                  freeze: str = "C2"):
    ws = write_sheet(wb, title, frame, table, labels={**FINDING_LABELS, **(labels or {})}, widths=widths,
                     freeze=freeze, kinds={"no": "line"}, fills={c: REVIEW_FILL for c in REVIEW_COLUMNS},
                     blank=set(REVIEW_COLUMNS))
    review_columns(ws, frame)
    return ws


def sample_parameters(info: dict | None) -> dict:
    """The 抽查清单's method, n and seed: the run's parameters where given (info["parameters"]), else SAMPLE."""
    given = (info or {}).get("parameters") or {}
    return {k: given.get(k, v) if given.get(k) not in (None, "") else v for k, v in SAMPLE.items()}


def sample_sheet(wb: Workbook, tables: dict, anomalies: pd.DataFrame, info: dict | None):
    """抽查清单: the forms perfdata.audit.sample() draws with the run's sample_method / sample_n / sample_seed,
    with why each was drawn, where it starts, and the reviewer's columns."""
    from perfdata.audit import sample

    p = sample_parameters(info)
    drawn = sample(tables, method=str(p["sample_method"]), n=int(p["sample_n"]), seed=int(p["sample_seed"]),
                   anomalies=anomalies)
    columns = [c for c in SAMPLE_COLUMNS if c not in ("selection_probability", "interval", "risk_score")
               or (c in drawn and drawn[c].notna().any())]  # a method's own figures (risk: no closed-form chance)
    frame = _numbered(drawn, columns, where=where(drawn, "line_start") if len(drawn) else [])
    return _review_sheet(wb, "抽查清单", frame, "sample", widths=SAMPLE_WIDTHS)


def audit_sheets(wb: Workbook, tables: dict, raw_dir=None) -> dict[str, str]:
    """跨年度对比, 雷同文本 and 数字分布检验 (perfdata.audit); returns what each holds, for the 说明 sheet."""
    from perfdata.audit import compare_years, copies, digit_tables

    across = compare_years(tables)
    found = across["year_findings"]
    _review_sheet(wb, "跨年度对比", _numbered(found, YEAR_COLUMNS), "year_findings", widths=YEAR_WIDTHS, freeze="E2")
    linked = int(across["project_years"]["prev_form_id"].notna().sum())
    years_what = ("各项目与同一地区、主管部门上一年度自评表对比发现的变化（目标设置偏低、预算增加而执行率下降、"
                  "执行率下降仍自评满分、指标被删除），本年与上年的原文位置，右侧为复核栏；"
                  + (f"本次 {linked:,} 份表单或绩效目标表与上年对应，发现 {len(found):,} 条" if linked else
                     "本次没有一个项目有上一年度的自评表（各地区只有一个年度的表单），无可比较，表为空"))

    copied = copies(tables, raw_dir=raw_dir)
    sides = {f"where_{s}": where(pd.DataFrame({"source_file": copied[f"source_file_{s}"],
                                               "line": copied[f"line_{s}"], "location": copied[f"location_{s}"]}))
             if len(copied) else [] for s in ("a", "b")}
    _review_sheet(wb, "雷同文本", _numbered(copied, COPY_COLUMNS, **sides), "copies", labels=COPY_LABELS,
                  widths=COPY_WIDTHS, freeze="C2")
    copies_what = ("不同部门表单中相同的文字、成套相同的指标及指标值、与上年几乎相同的表单、实际完成值照抄指标值的"
                   f"文件；甲为先出现的一处，乙为雷同的一处，右侧为复核栏；本次 {len(copied):,} 处")

    digit = digit_tables(tables)["digit_tests"]
    write_sheet(wb, "数字分布检验", digit[DIGIT_COLUMNS], "digit_tests", freeze="C2")
    short = int((digit["verdict"] == "样本不足").sum())
    digits_what = ("资金来源明细金额的首位、前两位数字与本福特定律、末位数字（万元个位）与均匀分布的比较，按地区和"
                   "年度分组并合计（全部）：平均绝对偏差（MAD）、结论、卡方检验；"
                   f"本次 {len(digit):,} 组，其中样本不足 {short:,} 组（金额个数少于检验所需，不下结论）")
    return {"跨年度对比": years_what, "雷同文本": copies_what, "数字分布检验": digits_what}


def _field_kind(field) -> str:
    if display.is_missing(field):
        return "number"
    base = re.sub(r"\[[^\]]*\]$", "", str(field).split("/")[0])
    label = schema.labels("forms").get(base) or display.column_label(base)
    if base in display.value_labels("metric"):
        label = label or ""
        if base.endswith("_rate"):
            return "rate"
        if "score" in base:
            return "points"
        if base != "grade":
            return "money"
    kind = display.column_kind(base, label, "Float64")
    return kind if kind in ("money", "rate", "points") else "number"


def _format_findings(ws, frame: pd.DataFrame, cols: list[str]):
    """应为/实为: each number formatted as its field (rate 0.00 %, money #,##0.00, points 0.0#)."""
    sheet = Sheet(ws.parent)
    idx = {c: cols.index(c) + 1 for c in ("expected", "found")}
    for r, (field, exp, fnd) in enumerate(zip(frame["field"], frame["expected"], frame["found"], strict=True),
                                          start=2):
        kind = _field_kind(field)
        for c, v in (("expected", exp), ("found", fnd)):
            if isinstance(v, float):
                cell = ws.cell(row=r, column=idx[c])
                if kind == "rate":
                    cell.value = v / 100
                cell.style = sheet.style(FORMATS[kind], True)


def _notes_sheet(wb: Workbook, info: dict, tables: dict, an: pd.DataFrame, sheets: dict[str, str]):
    """说明: what the workbook is, the run, its parameters and inputs, what each sheet holds, the rules.

    Five columns: a key (A), three narrow ones (B–D) and a wide one (E); a key's text spans B–E.
    """
    from openpyxl.styles import Font

    ws = wb.create_sheet("说明", 0)
    sheet = Sheet(wb)
    widths = {"A": 30, "B": 12, "C": 12, "D": 12, "E": 72}
    for col, w in widths.items():
        ws.column_dimensions[col].width = w
    bold, wrap = sheet.style(None, True, bold=True), sheet.style(None, True)
    head = sheet.style(None, True, bold=True, fill=HEADER_FILL)
    row = 1

    def put(values, style=wrap, first=None, span=False):
        """One row; with span, the second value fills B–E."""
        nonlocal row
        for k, v in enumerate(values, start=1):
            cell = ws.cell(row=row, column=k, value=v)
            cell.style = first if (first and k == 1) else style
            if isinstance(v, str):
                cell.data_type = "s"
        cols = "ABCDE"
        if span:
            ws.merge_cells(f"B{row}:E{row}")
            room = {"A": widths["A"], "B": sum(widths[c] for c in "BCDE")}
        else:
            room = widths
        n = max((_lines(v, room[c]) for v, c in zip(values, cols, strict=False) if isinstance(v, str) and c in room),
                default=1)
        if n > 1:
            ws.row_dimensions[row].height = min(409.0, LINE_HEIGHT * n)
        row += 1

    title = info.get("title") or "预算绩效自评问题清单（工作底稿）"
    ws.cell(row=1, column=1, value=title).font = Font(bold=True, size=14)
    ws.row_dimensions[1].height = 24
    row = 3
    sev = analysis.severity_counts(an).iloc[0]
    params = info.get("parameters") or {}
    filters = "；".join(f"{display.parameter_label(k)}：{display._param_value(k, v)}" for k, v in params.items()
                        if k in display.FILTERS) or "全部"
    others = "；".join(f"{display.parameter_label(k)} {display._param_value(k, v)}" for k, v in params.items()
                       if k not in display.FILTERS) or "默认"
    files = display.frame_of(tables, "files")
    for k, v in [("运行编号", info.get("run_id") or "—"),
                 ("生成时间", info.get("run_date") or datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")),
                 ("数据目录", info.get("data_dir") or "—"), ("筛选条件", filters), ("参数", others),
                 ("问题总数", f"{int(sev['total']):,} 条（高 {int(sev['high']):,}、中 {int(sev['medium']):,}、"
                              f"低 {int(sev['low']):,}）"),
                 ("输入", f"{len(files):,} 个文件，{len(tables.get('forms', [])):,} 份项目支出绩效自评表"),
                 ("复核栏", "“问题清单”右侧的复核意见、处理结果（下拉选择）、复核人、复核日期留给复核人填写。"),
                 ("原文位置", "文件:行号（一条问题涉及多行时列出各行）；Excel、Word、PDF 文件另注 "
                              "工作表!行、表/行、页/行。")]:
        put([k, v], wrap, bold, span=True)
    row += 1
    put(["工作表", "内容"], head, span=True)
    for name, what in sheets.items():
        put([name, what], wrap, bold, span=True)
    row += 1
    put(["输入文件", "格式", "读取状态", "项目自评表(份)", "SHA-256"], head)
    for f in files.to_dict("records"):
        put([f["source_file"], display.value_labels("format").get(str(f["format"]), f["format"] or "—"),
             display.value_labels("status", "files").get(str(f["status"]), f["status"] or "—"),
             None if display.is_missing(f["forms"]) else int(f["forms"]), f["sha256"] or "—"])
    row += 1
    put(["规则名称", "类别", "严重程度", "问题数(条)", "为什么重要"], head)
    from perfdata.checks import rule_table

    counts = an["rule"].value_counts() if len(an) else pd.Series(dtype="int64")
    for r in rule_table().to_dict("records"):
        put([r["title_zh"], display.value_labels("category").get(r["category"], r["category"]),
             display.value_labels("severity").get(r["severity"], r["severity"]), int(counts.get(r["id"], 0)),
             r["why_zh"]])
    _print_setup(ws, "说明", repeat_header=False)
    ws.print_options.gridLines = False
    return ws


def anomalies_workbook(tables: dict[str, pd.DataFrame], path: str | Path, raw_dir=None,
                       info: dict | None = None) -> Path:
    """The auditors' working paper: 说明, every finding with its evidence and reviewer columns, counts by rule and
    by department × year, the forms, what was not read and the files' problems.

    `info`: run_id, run_date, parameters, data_dir, title — shown on the 说明 sheet.
    """
    from openpyxl import Workbook

    info = info or {}
    an = analysis.sort_anomalies(with_evidence(display.frame_of(tables, "anomalies"), raw_dir))
    wb = Workbook()
    wb.remove(wb.active)

    frame, kinds = findings_sheet(an)
    ws = write_sheet(wb, "问题清单", frame, "anomalies", labels=FINDING_LABELS, widths=FINDING_WIDTHS,
                     freeze="E2", kinds={"no": "line", **kinds}, fills={c: REVIEW_FILL for c in REVIEW_COLUMNS},
                     header_title="问题清单", blank=set(REVIEW_COLUMNS))
    _format_findings(ws, frame, list(frame.columns))
    review_columns(ws, frame)
    sample_sheet(wb, tables, an, info)

    by_rule = analysis.anomaly_counts(an, ["rule", "category"])
    from perfdata.checks import rule_table

    rt = rule_table().set_index("id")
    by_rule.insert(2, "severity", by_rule["rule"].map(rt["severity"]).astype("string"))
    by_rule["why"] = by_rule["rule"].map(rt["why_zh"]).astype("string")
    totals = {"rule": "合计", **{k: int(by_rule[k].sum()) for k in ("high", "medium", "low", "total")}}
    write_sheet(wb, "按规则统计", by_rule, "anomalies", labels={"rule": "规则名称", "severity": "规则严重程度",
                                                          "why": "为什么重要"},
                widths={"rule": 30, "why": 60}, freeze="B2", total_row=totals)

    by_dept = analysis.anomaly_counts(an, ["region", "department", "year"]).sort_values(
        ["region", "department", "year"], na_position="last", ignore_index=True)
    write_sheet(wb, "部门×年度", by_dept, "anomalies", freeze="D2",
                total_row={"region": "合计", **{k: int(by_dept[k].sum()) for k in ("high", "medium", "low", "total")}})

    forms = display.frame_of(tables, "forms")
    fx = analysis.with_execution(forms).sort_values(["source_file", "line_start"])
    # (the sheet's 原文位置 is file:line with the place in the original: the bare location would repeat its label)
    fx = fx.drop(columns=[c for c in ("layout", "project_key") if c in fx])
    fx.insert(3, "where", where(fx, "line_start").to_numpy() if len(fx) else [])
    fx = fx.drop(columns=[c for c in ("location",) if c in fx])
    write_sheet(wb, "项目自评表", fx, "forms", labels={"where": "原文位置"}, freeze="F2")
    lo = display.frame_of(tables, "leftovers")
    lo = lo.assign(where=where(lo).to_numpy() if len(lo) else [])[["where", "text", "reason", "form_id"]]
    write_sheet(wb, "未读取内容", lo, "leftovers", labels={"where": "原文位置"}, freeze="B2")
    pr = display.frame_of(tables, "problems")
    pr = pr.assign(where=where(pr).to_numpy() if len(pr) else [])[["where", "severity", "message"]]
    write_sheet(wb, "文件问题", pr, "problems", labels={"where": "原文位置"}, freeze="B2")
    audit = audit_sheets(wb, tables, raw_dir)
    for k, name in enumerate(("抽查清单", "按规则统计", "部门×年度", "跨年度对比", "雷同文本", "数字分布检验")):
        wb.move_sheet(name, offset=wb.sheetnames.index("问题清单") + 1 + k - wb.sheetnames.index(name))
    p = sample_parameters(info)
    method = display.value_labels("method", "sample").get(str(p["sample_method"]), str(p["sample_method"]))

    _notes_sheet(wb, info, tables, an, {
        "说明": "本页：运行信息、参数、输入文件及其 SHA-256、各规则的含义与问题数",
        "问题清单": "每条问题一行：严重程度、规则、项目、应为/实为、说明、原文位置与原文（证据），右侧为复核栏；"
                "可直接筛选或作数据透视表的数据源",
        "抽查清单": f"供人工逐份复核的项目自评表：{method}抽取 {int(p['sample_n']):,} 份（随机种子 "
                f"{int(p['sample_seed'])}，同一数据、方法、份数和种子总得到同一清单），抽取原因、原文位置，右侧为复核栏",
        "按规则统计": "各规则发现的问题数（按严重程度），末行合计",
        "部门×年度": "各地区、主管部门、年度的问题数（一行一组，可作数据透视），末行合计；"
                 "未填表示该问题所在的表未印部门或年度",
        **audit,
        "项目自评表": "读取的每份项目支出绩效自评表及计算执行率、预算调整",
        "未读取内容": "已识别表格中未能读取的行或单元格（应逐条核对，确保没有遗漏）",
        "文件问题": "文件级问题：未能读取、部分未读取和提示",
    })
    wb.active = 0
    return _save(wb, Path(path), stamp_of(info.get("run_date")))
