"""One Chinese display layer: what a reader of a report, a workbook or a CSV export sees.

The tidy tables keep English column names and codes (an API); people read Chinese. Everything shown
goes through here: column headers (schema.py labels, then analysis.LABELS), codes (severity high → 高,
category, status, 口径 …, from rules/display_values.csv), rule ids (their title_zh in anomalies.csv),
field names (`exec_score_reported` → 执行率得分), the readers' English messages (rules/display_messages.csv),
table names (rules/display_tables.csv) and numbers (万元 with two decimals and thousands separators,
rates with two decimals and %, points with up to two decimals). A missing value reads 未填 where the
document leaves a field blank and — where nothing applies; never `<NA>` or `nan`.

`table()` renders a frame as an HTML table for a notebook output with a size rule (共 N 项，列前 M 项)
instead of pandas' own truncation, and without the index.
"""

from __future__ import annotations

import html
import math
import re
from functools import cache

import pandas as pd

from perfdata import rules, schema

MISSING = "未填"  # the document leaves the field blank
NOT_APPLICABLE = "—"  # nothing applies (a rate without a budget, the line of a file-level finding)
YES, NO = "是", "否"

# columns whose blank means "nothing applies" rather than "not filled in": derived figures and provenance
_DASH_COLUMNS = {"location", "line", "lines", "evidence", "expected", "found", "field", "form_id", "line_start",
                 "line_end", "funding_line", "total_line", "sha256", "encoding", "title", "template", "reason",
                 "rescore", "rescore_min", "gap", "achievement",
                 # the audit tables' derived figures and links (perfdata.audit)
                 "interval", "hit_amount", "selection_probability", "risk_score", "mad", "mad_expected",
                 "chi_square", "p_value", "z_stat", "observed_share", "previous", "change", "previous_run_id",
                 "matched_by", "same_parameters", "prev_year", "prev_form_id", "prev_line", "prev_where",
                 "prev_source_file", "match_score", "where", "note", "similarity"}

# notebook and check parameters as a reader sees them
PARAMETER_LABELS = {
    "years": "年度", "regions": "地区", "departments": "主管部门", "severities": "列出的严重程度",
    "rules": "列出的规则", "exec_rate_threshold": "执行率说明阈值(%)", "exec_rate_low": "执行率复核下限(%)",
    "exec_rate_high": "执行率复核上限(%)", "full_marks": "默认总分值(分)", "near_full_margin": "接近满分差距(分)",
    "max_rows": "每表最多列出(行)", "rule_rows": "每条规则列出(条)", "english": "CSV 用英文列名",
    "money_tol": "金额容差(万元)", "sample_method": "抽查抽样方法", "sample_n": "抽查份数(份)",
    "sample_seed": "抽查随机种子",
}
FILTERS = ("years", "regions", "departments", "severities", "rules")


# -- vocabularies ----------------------------------------------------------------------------------

@cache
def _values() -> dict[tuple[str, str], dict[str, str]]:
    out: dict[tuple[str, str], dict[str, str]] = {}
    for r in rules.table("display_values.csv"):
        out.setdefault((r["table"], r["column"]), {})[r["value"]] = r["label"]
    return out


def frame_of(tables: dict[str, pd.DataFrame], name: str) -> pd.DataFrame:
    """tables[name], or an empty frame of that table when the run has none (built only then)."""
    df = tables.get(name)
    return df if df is not None else schema.frame(name, [])


def value_labels(column: str, table: str | None = None) -> dict[str, str]:
    """Code → Chinese label for a column (a table's own rows override the shared ones).

    >>> value_labels("severity")["high"], value_labels("severity", "problems")["error"]
    ('高', '错误（文件未读取）')
    """
    v = _values()
    return {**v.get(("", column), {}), **(v.get((table, column), {}) if table else {})}


def coded_columns(table: str | None = None) -> set[str]:
    """Columns whose values are codes with Chinese labels: with TABLE, that table's (its own rows and the rows
    without a table); without, every table's but the audit tables' own rows (sample.method is a code,
    indicators.method a text). `field` names columns: see field_label.

    >>> "method" in coded_columns("sample"), "method" in coded_columns(), "severity" in coded_columns()
    (True, False, True)
    """
    v = _values()
    if table is None:
        return {c for t, c in v if t not in schema.AUDIT_TABLES} - {"field"}
    return {c for t, c in v if not t or t == table} - {"field"}


@cache
def _table_labels() -> dict[str, str]:
    return {r["table"]: r["label"] for r in rules.table("display_tables.csv")}


def table_label(name: str) -> str:
    """The Chinese name of a tidy table (for headings, sheet names and table counts).

    >>> table_label("leftovers")
    '未读取内容'
    """
    return _table_labels().get(name, name)


@cache
def _messages() -> tuple[tuple[re.Pattern, str], ...]:
    return tuple((re.compile(r["pattern"]), r["replacement"]) for r in rules.table("display_messages.csv"))


# A match starts only where its run starts ((?<!…)): tried from every character of a long run it was quadratic
_PLACE = re.compile(r"(?<![\w.+-])([\w.+-]+\.[A-Za-z][A-Za-z0-9]{1,4})第(\d+)行")


def places(text: str) -> str:
    """A place written 文件第N行 inside a sentence as the reports write every place, 文件:N.

    >>> places("与兴隆县“劳务派遣”（a-2024.txt第15行）相同")
    '与兴隆县“劳务派遣”（a-2024.txt:15）相同'
    """
    return _PLACE.sub(r"\1:\2", text)


@cache
def message(text: str) -> str:
    """A reader's English message or reason in Chinese (rules/display_messages.csv); others as printed.

    >>> message("form “劳务派遣”: 3 line(s) or cell(s) not read (see leftovers)")
    '自评表“劳务派遣”：3 行或单元格未读取（见未读取内容）'
    """
    for pattern, repl in _messages():
        text = pattern.sub(repl, text)
    return text


@cache
def rule_titles() -> dict[str, str]:
    """Rule id → Chinese title: the checks' rules (rules/anomalies.csv) and the findings of the across-years
    comparison (rules/years.csv, kind rule)."""
    from perfdata.checks import rule_table

    t = rule_table()
    years = {r["name"]: r["title_zh"] for r in rules.table("years.csv") if r["kind"] == "rule"}
    return {**years, **dict(zip(t["id"], t["title_zh"], strict=True))}


def rule_title(rule: str) -> str:
    """A rule id's Chinese title (rules/anomalies.csv, rules/years.csv); an unknown id as given.

    >>> rule_title("target_set_low"), rule_title("no_such_rule")
    ('目标设置偏低', 'no_such_rule')
    """
    return rule_titles().get(rule, rule)


@cache
def _all_labels() -> dict[str, str]:
    """Every column label of every tidy table (the first table naming a column wins), report labels on top."""
    from perfdata.report.analysis import LABELS

    out: dict[str, str] = {}
    for name in ["forms", "anomalies", *schema.TABLES]:  # the project form's and the findings' words first
        for c in schema.TABLES[name]:
            out.setdefault(c.name, c.label)
    return {**out, **LABELS}


def column_label(name: str, table: str | None = None) -> str:
    """The Chinese header of a column: its table's label, a report label, any table's label, a code's label.

    >>> column_label("rate_mean"), column_label("exec_rate", "rescored_forms"), column_label("project_form")
    ('平均执行率(%)', '复核执行率(%)', '项目支出绩效自评表')
    """
    if table in schema.TABLES:
        own = schema.labels(table).get(name)
        if own:
            return own
    hit = _all_labels().get(name)
    if hit:
        return hit
    kind = value_labels("kind").get(name)
    if kind:
        return kind
    if name in schema.TABLES:
        return table_label(name)
    return name


_UNIT = re.compile(r"\((?:万元|%|分)\)$")


def field_label(field, table: str | None = None) -> str:
    """What a finding's `field` names, in Chinese: a column or a stated metric; "a/b" both; "[id]" dropped. A
    table's own field names (rules/display_values.csv, column field: copies' `form`) come first.

    >>> field_label("exec_score_reported"), field_label("department/unit"), field_label("target_raw[dfa8-01279]")
    ('执行率得分', '主管部门/实施单位', '年度指标值')
    >>> field_label("form", "copies"), field_label("name/target_raw", "copies")
    ('整张表（目标及全部指标）', '三级指标/年度指标值')
    """
    if is_missing(field):
        return NOT_APPLICABLE
    out = []
    metrics = value_labels("metric")
    own = value_labels("field", table)
    for part in str(field).split("/"):
        base = re.sub(r"\[[^\]]*\]$", "", part.strip())
        label = (own.get(base) or schema.labels("forms").get(base) or metrics.get(base) or _all_labels().get(base)
                 or base)
        out.append(_UNIT.sub("", label))
    return "/".join(out)


def parameter_label(name: str) -> str:
    return PARAMETER_LABELS.get(name, name)


# -- kinds of columns and their formats ------------------------------------------------------------

# whole numbers shown without thousands separators: lines, numbers in a document, a random seed
_LINE_NAMES = {"line", "line_start", "line_end", "seq", "table_no", "indicator_no", "lines", "line_a", "line_b",
               "prev_line", "seed"}
# statistics read to four decimals (a MAD of 0.0261 against a bound of 0.015; p-values)
_STAT_NAMES = {"mad", "mad_expected", "p_value", "z_stat", "chi_square"}  # fixed four decimals, one table alike
_POINT_NAMES = {"weight", "score", "gap", "self_score", "rescore", "rescore_min", "rescore_max", "total_weight",
                "score_mean", "score_median", "score_min", "exec_score_expected", "near_full_margin"}
_POINT_WORDS = ("得分", "分值", "总分", "自评分", "(分)", "重算")


def column_kind(name: str, label: str = "", dtype=None) -> str:
    """money | rate | points | count | year | line | bool | stat | number | text, from the name, label and dtype.

    >>> column_kind("budget_initial", "年初预算数(万元)", "Float64"), column_kind("exec_rate", "执行率(%)", "Float64")
    ('money', 'rate')
    >>> column_kind("exec_score_reported", "执行率得分", "Float64"), column_kind("forms", "表单数", "Int64")
    ('points', 'count')
    >>> column_kind("mad", "平均绝对偏差(MAD)", "Float64"), column_kind("prev_year", "上年年度", "Int64")
    ('stat', 'year')
    """
    if name in ("year", "prev_year", "year_a", "year_b"):
        return "year"
    if name in _LINE_NAMES or name.endswith("_line"):
        return "line"
    kind = str(dtype) if dtype is not None else ""
    if kind in ("boolean", "bool"):
        return "bool"
    numeric = dtype is not None and _is_numeric(dtype)
    if not numeric:
        return "text"
    if name in _STAT_NAMES:
        return "stat"
    if "万元" in label:
        return "money"
    if "(%)" in label or "%" in label or name.endswith("_pct") or name in ("rate_gap",):
        return "rate"
    if name in _POINT_NAMES or any(w in label for w in _POINT_WORDS):
        return "points"
    if pd.api.types.is_integer_dtype(dtype):
        return "count"
    return "number"


def _is_numeric(dtype) -> bool:
    try:
        return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    except TypeError:
        return False


def is_missing(v) -> bool:
    if v is None or v is pd.NA:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    try:
        return bool(pd.isna(v)) if not isinstance(v, (str, list, tuple, dict)) else False
    except (TypeError, ValueError):
        return False


def fmt(v, kind: str = "text", missing: str = MISSING) -> str:
    """One value as shown in a report.

    >>> fmt(11050.69, "money"), fmt(83.2322, "rate"), fmt(100.0, "points"), fmt(7.65, "points"), fmt(None)
    ('11,050.69', '83.23%', '100', '7.65', '未填')
    >>> fmt(0.026122, "stat"), fmt(2.3e-05, "stat")
    ('0.0261', '0.0000')
    """
    if is_missing(v):
        return missing
    if kind == "stat":
        return f"{float(v):.4f}"
    if kind == "money":
        return f"{float(v):,.2f}"
    if kind == "rate":
        return f"{float(v):,.2f}%"
    if kind in ("points", "number"):
        text = f"{float(v):,.2f}"
        return text.rstrip("0").rstrip(".") if "." in text else text
    if kind == "count":
        return f"{int(v):,}"
    if kind in ("year", "line"):
        return str(int(v)) if isinstance(v, (int, float)) or hasattr(v, "item") else str(v)
    if kind == "bool":
        return v if isinstance(v, str) else YES if bool(v) else NO
    return str(v)


def missing_text(column, table: str | None = None, numeric: bool = False) -> str:
    """未填 for a document's field, — for a derived figure (a pivot's cell, a report table's number) or a
    provenance column."""
    from perfdata.report.analysis import LABELS

    if isinstance(column, tuple) or str(column).startswith("("):
        return NOT_APPLICABLE
    if numeric and table not in schema.TABLES:
        return NOT_APPLICABLE
    return NOT_APPLICABLE if column in _DASH_COLUMNS or column in LABELS else MISSING


# -- frames ----------------------------------------------------------------------------------------

def translate(df: pd.DataFrame, table: str | None = None) -> pd.DataFrame:
    """Codes as their Chinese labels (severity, category, status, 口径, kind …), rule ids as titles, field
    names as labels, readers' messages in Chinese, booleans 是/否; numbers stay numbers, columns keep names.

    >>> list(translate(pd.DataFrame({"severity": ["high"], "rule": ["total_mismatch"]})).iloc[0])
    ['高', '总分不等于执行率得分与各指标得分之和']
    """
    out = df.copy()
    coded = coded_columns(table)
    for c in out.columns:
        s = out[c]
        if c in coded and not _is_numeric(s.dtype):
            labels = value_labels(c, table)
            if c == "layout":
                out[c] = s.map(lambda v, lb=labels: v if is_missing(v) else "|".join(lb.get(p, p) for p in
                                                                                  str(v).split("|")))
            else:
                out[c] = s.map(lambda v, lb=labels: v if is_missing(v) else lb.get(str(v), v))
        elif c == "rule":
            out[c] = s.map(lambda v: v if is_missing(v) else rule_title(str(v)))
        elif c == "field":
            out[c] = s.map(lambda v, t=table: v if is_missing(v) else field_label(v, t))
        elif c == "table" and not _is_numeric(s.dtype):
            out[c] = s.map(lambda v: v if is_missing(v) else table_label(str(v)))
        elif (c == "message" and table == "problems") or (c == "reason" and table == "leftovers"):
            out[c] = s.map(lambda v: v if is_missing(v) else message(str(v)))
        elif c == "message" and table == "copies":
            out[c] = s.map(lambda v: v if is_missing(v) else places(str(v)))
        elif pd.api.types.is_bool_dtype(s.dtype):
            out[c] = s.map(lambda v: v if is_missing(v) else (YES if v else NO)).astype(object)
    return out


def headers(df: pd.DataFrame, table: str | None = None, *, percent_in_values: bool = False) -> list[str]:
    """Chinese header per column; with percent_in_values, "(%)" is left out where the cells show %."""
    out = []
    for c in df.columns:
        label = column_label(str(c), table) if not isinstance(c, tuple) else " · ".join(
            column_label(str(p), table) if not isinstance(p, (int, float)) else str(p) for p in c)
        if percent_in_values and column_kind(str(c), label, df[c].dtype) == "rate":
            label = label.replace("(%)", "")
        out.append(label)
    return out


def for_csv(df: pd.DataFrame, table: str | None = None, english: bool = False) -> pd.DataFrame:
    """A report table as written to CSV: Chinese headers and labels (numbers stay numbers, a blank text cell
    reads 未填 or —), or with english=True the names and codes as they are (for machine use)."""
    if english:
        if any(isinstance(c, tuple) for c in df.columns):
            return df.set_axis(["_".join(str(p) for p in c) if isinstance(c, tuple) else c for c in df.columns],
                               axis=1)
        return df
    out = translate(df, table)
    for c in out.columns:
        if not _is_numeric(out[c].dtype):
            out[c] = out[c].astype(object).where(out[c].notna(), missing_text(c))
    out.columns = headers(df, table)
    return out


# -- HTML tables for the reports -------------------------------------------------------------------

_CLIPPED = {"evidence", "message", "text", "where"}
_LONG = {"message", "evidence", "text", "goal_planned", "goal_achieved", "goal", "notes", "deviation_note",
         "project_name", "title", "reason"}


def _width(text: str) -> int:
    return sum(2 if "\u2e80" <= ch <= "\uffef" else 1 for ch in text)


class Table:
    """A rendered report table: HTML for the report, a plain-text rendering for a console."""

    def __init__(self, html_text: str, text: str):
        self.html = html_text
        self.text = text

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return self.text


def count_note(total: int, shown: int, unit: str = "项", more: str | None = "全部见 anomalies.xlsx") -> str:
    """The size rule's sentence: 共 N 项 or 共 N 项，列前 M 项，全部见 …

    >>> count_note(1200, 30, more="全部见 tables/below_threshold.csv")
    '共 1,200 项，列前 30 项，全部见 tables/below_threshold.csv'
    """
    if shown >= total:
        return f"共 {total:,} {unit}"
    return f"共 {total:,} {unit}，列前 {shown:,} {unit}" + (f"，{more}" if more else "")


def table(df: pd.DataFrame, table: str | None = None, *, limit: int | None = 30,
          more: str | None = "全部见 anomalies.xlsx",
          unit: str = "项", total: int | None = None, empty: str = "无。", caption: str | None = None,
          clip: int | None = None) -> Table:
    """A frame as an HTML table without the index: Chinese headers and labels, finance formats, numbers right
    and text left; at most `limit` rows, with 共 N 项，列前 M 项，{more} above it (never pandas' `...`).
    `clip` shortens long evidence and messages to that many characters (the workbook has them whole)."""
    n = len(df) if total is None else int(total)
    if not len(df):
        return Table(f'<p class="pd-empty">{html.escape(empty)}</p>', empty)
    shown = df if limit is None or len(df) <= limit else df.head(int(limit))
    note = count_note(n, len(shown), unit, more) if n > 1 or len(shown) < n else ""  # no 共 1 项 over one row
    heads = headers(shown, table, percent_in_values=True)
    values = translate(shown, table)
    kinds = [column_kind(str(c), lb, shown[c].dtype) for c, lb in zip(shown.columns, headers(shown, table),
                                                                         strict=True)]
    cols = list(shown.columns)
    blanks = [missing_text(c, table, k in ("money", "rate", "points", "count", "stat", "number"))
              for c, k in zip(cols, kinds, strict=True)]
    cells = [[fmt(v, k, b) for v, k, b in zip(row, kinds, blanks, strict=True)]
             for row in values.itertuples(index=False, name=None)]
    if clip:
        cells = [[v if len(v) <= clip or str(c) not in _CLIPPED else
                  v[:clip] + f"…（共 {len(v):,} 字，全文见 anomalies.xlsx）"
                  for v, c in zip(row, cols, strict=True)] for row in cells]
    widest = [max([_width(h)] + [_width(r[i]) for r in cells]) for i, h in enumerate(heads)]
    classes = ["num" if k in ("money", "rate", "points", "count", "stat", "number") else
               "long" if str(c) in _LONG else "mid" if w > 24 else "nw"
               for c, k, w in zip(cols, kinds, widest, strict=True)]
    rows_html, rows_text = [], []
    for row in cells:
        rows_text.append("\t".join(row))
        rows_html.append("<tr>" + "".join(f'<td class="{cl}">{html.escape(v)}</td>' for v, cl in
                                          zip(row, classes, strict=True)) + "</tr>")
    head = "".join(f'<th class="{cl}">{html.escape(h)}</th>' for h, cl in zip(heads, classes, strict=True))
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    count = f'<p class="pd-count">{html.escape(note)}</p>' if note else ""
    body = (f'<div class="pd-table">{count}'
            f'<table class="pd tex2jax_ignore">{cap}<thead><tr>{head}</tr></thead><tbody>'
            + "".join(rows_html) + "</tbody></table></div>")
    text = "\n".join([*([note] if note else []), "\t".join(heads), *rows_text])
    return Table(body, text)


def where(df: pd.DataFrame, line: str = "line") -> pd.Series:
    """原文位置 of each row: file:line (every line of the finding, where it rests on several), and the
    sheet!row, table/row or page/line of a spreadsheet, Word or PDF source.

    >>> where(pd.DataFrame({"source_file": ["a.txt", "b.xlsx", None], "line": [12, 3, None],
    ...                     "location": [None, "Sheet1!4", None]})).tolist()
    ['a.txt:12', 'b.xlsx:3（Sheet1!4）', '—']
    """
    out = []
    lines = df["lines"] if "lines" in df else pd.Series([None] * len(df), index=df.index)
    loc = df["location"] if "location" in df else pd.Series([None] * len(df), index=df.index)
    for sf, ln, ls, lc in zip(df["source_file"], df[line], lines, loc, strict=True):
        if is_missing(sf):
            out.append(NOT_APPLICABLE)
            continue
        text = str(sf)
        if isinstance(ls, str) and ls.strip():
            text += ":" + ls.replace(" ", "")
        elif not is_missing(ln):
            text += f":{int(ln)}"
        if isinstance(lc, str) and lc:
            text += f"（{lc}）"
        out.append(text)
    return pd.Series(out, index=df.index, dtype=object)


# -- the header block of a report -------------------------------------------------------------------

def _param_value(name: str, value) -> str:
    if isinstance(value, (list, tuple)):
        if not value:
            return "全部"
        if name == "severities":
            value = [value_labels("severity").get(str(v), str(v)) for v in value]
        elif name == "rules":
            value = [rule_title(str(v)) for v in value]
        return "、".join(str(v) for v in value)
    if isinstance(value, bool):
        return YES if value else NO
    if name == "sample_method":
        return value_labels("method", "sample").get(str(value), str(value))
    if isinstance(value, float):
        return f"{value:g}"
    return "全部" if value in (None, "") else str(value)


def header(title: str, tables: dict[str, pd.DataFrame], params: dict, *, run_id: str = "", run_date: str = "",
           files_shown: int = 10) -> Table:
    """The block a report opens with: run id and date, filters and parameters, the input files with their
    hashes and what was read of each; a <!--pd-toc--> mark where the runner puts the table of contents."""
    from perfdata.report.analysis import coverage

    if not run_date:
        run_date = pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d %H:%M UTC")
    filters = "；".join(f"{parameter_label(k)}：{_param_value(k, v)}" for k, v in params.items() if k in FILTERS)
    others = "；".join(f"{parameter_label(k)} {_param_value(k, v)}" for k, v in params.items()
                      if k not in FILTERS and k not in ("data_dir", "output_dir", "raw_dir", "run_id", "run_date"))
    files = frame_of(tables, "files")
    forms = frame_of(tables, "forms")
    counts = "，".join(f"{table_label(k)} {len(tables[k]):,} 行" for k in ("forms", "indicators", "summary_rows",
                                                                            "department_forms", "targets",
                                                                            "statements", "anomalies")
                       if k in tables)
    meta = [("运行编号", run_id or "交互运行（未经 perfdata report）"), ("运行时间", run_date),
            ("筛选条件", filters or "全部"), ("参数", others or "默认"),
            ("输入", f"{len(files):,} 个文件，{len(forms):,} 份项目支出绩效自评表（筛选后）；{counts}")]
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in meta)
    cov = coverage(tables)
    kinds = [c for c in value_labels("kind") if c in cov]
    read = []
    for r in cov.to_dict("records"):
        parts = [f"{value_labels('kind')[k]} {int(r[k])}" for k in kinds if r.get(k)]
        if r.get("leftovers"):
            parts.append(f"未读取 {int(r['leftovers']):,} 行")
        if r.get("problems"):
            parts.append(f"问题 {int(r['problems']):,} 条")
        read.append("；".join(parts) or "无可识别的表格")
    cov = cov.assign(read=read)
    if "duplicate_of" in files and files["duplicate_of"].notna().any():  # a copy of a file read once
        dup = files.set_index("source_file")["duplicate_of"]
        same = cov["source_file"].map(dup)
        cov["read"] = cov["read"].where(same.isna(), "与 " + same.astype(str) + " 相同，只读取一次")
    rank = {"failed": 0, "partial": 1}  # files not (fully) read first
    cov = cov.assign(_rank=cov["status"].map(lambda s: rank.get(s, 2))).sort_values(
        ["_rank", "source_file"], kind="stable").drop(columns="_rank")
    info = files.set_index("source_file")[["format", "sha256"]] if len(files) else None
    shown = cov.head(files_shown)
    frows = []
    for r in shown.to_dict("records"):
        fmt_, sha = ("", "")
        if info is not None and r["source_file"] in info.index:
            fmt_, sha = info.loc[r["source_file"], "format"], info.loc[r["source_file"], "sha256"]
        status = value_labels("status", "files").get(str(r.get("status")), r.get("status"))
        frows.append("<tr>" + "".join(
            f"<td{cl}>{html.escape(fmt(v))}</td>" for v, cl in (
                (r["source_file"], ""), (value_labels("format").get(str(fmt_), fmt_) if fmt_ else None, ""),
                (status if not is_missing(status) else None, ""), (r["read"], ' class="long"'),
                (sha or None, ' class="hash"'))) + "</tr>")
    more = (f'<p class="pd-count">{html.escape(count_note(len(cov), len(shown), "个文件", "全部见 manifest.json"))}</p>'
            if len(cov) > len(shown) else "")
    body = (f'<div class="pd-header"><p class="pd-kicker">{html.escape(title)}</p>'
            f'<table class="pd-meta">{rows}</table>'
            f'<p class="pd-sub">输入文件（{len(cov):,} 个）</p>{more}'
            '<table class="pd tex2jax_ignore"><thead><tr><th>文件</th><th>格式</th><th>读取状态</th>'
            '<th class="long">读取内容</th><th>SHA-256</th></tr></thead><tbody>' + "".join(frows)
            + "</tbody></table></div><!--pd-toc-->")
    text = "\n".join(f"{k}：{v}" for k, v in meta)
    return Table(body, text)


def source_note(tables: dict[str, pd.DataFrame], run_id: str = "", run_date: str = "") -> str:
    """The line under every chart: which run, when, from how many input files."""
    n = len(tables.get("files", []))
    when = run_date or pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d %H:%M UTC")
    return (f"来源：perfdata 运行 {run_id or '（交互运行）'}，{when}；{n:,} 个输入文件（文件及其 SHA-256 见报告开头）；"
            "金额单位万元。")


# -- findings grouped by rule, then department -------------------------------------------------------

FINDING_COLUMNS = ["severity", "project_name", "department", "year", "field", "expected", "found", "message",
                   "where", "evidence"]


def findings(anomalies: pd.DataFrame, per_rule: int = 20, departments: int = 6,
             more: str = "全部见 anomalies.xlsx", clip: int | None = 200) -> Table:
    """Every rule's findings under its own heading, most severe rules first: how many (by severity), which
    departments (the largest `departments`, the rest counted), and the first `per_rule` findings with their
    evidence; the counts always cover all findings, the rows are capped."""
    from perfdata.checks import SEVERITY_ORDER, rule_table

    if not len(anomalies):
        return Table('<p class="pd-empty">无问题。</p>', "无问题。")
    rt = rule_table().set_index("id")
    a = anomalies.reset_index(drop=True).copy()
    a["where"] = where(a).to_numpy()
    rank = {s: i for i, s in enumerate(SEVERITY_ORDER)}
    a["_rule_sev"] = a["rule"].map(lambda r: rank.get(rt["severity"].get(r, "low"), 9) if r in rt.index else 9)
    order = (a.groupby("rule", sort=False).agg(n=("rule", "size"), sev=("_rule_sev", "first"))
             .sort_values(["sev", "n"], ascending=[True, False], kind="stable").index)
    parts, texts = [], []
    sev_names = value_labels("severity")
    for rule in order:
        g = a[a["rule"] == rule]
        by_sev = g["severity"].value_counts()
        sev_text = "、".join(f"{sev_names.get(s, s)} {int(by_sev[s]):,}" for s in SEVERITY_ORDER if s in by_sev)
        head = f"{rule_title(rule)}（{len(g):,} 条：{sev_text}）"
        dept = (g["department"].astype(object).where(g["department"].notna(), MISSING).value_counts(sort=True))
        shown = "、".join(f"{k} {int(v):,} 条" for k, v in dept.head(departments).items())
        if len(dept) > departments:
            shown += f"，其余 {len(dept) - departments:,} 个部门 {int(dept.iloc[departments:].sum()):,} 条"
        why = rt["why_zh"].get(rule, "") if rule in rt.index else ""
        rows = g.sort_values(["department", "source_file", "line"], na_position="last", kind="stable")
        tbl = table(rows[FINDING_COLUMNS], "anomalies", limit=per_rule, more=more, unit="条", clip=clip)
        parts.append(f'<section class="pd-rule"><h3>{html.escape(head)}</h3>'
                     + (f'<p class="pd-where">{html.escape(why)}</p>' if why else "")
                     + f'<p class="pd-where">涉及：{html.escape(shown)}</p>{tbl.html}</section>')
        texts.append(f"{head}\n涉及：{shown}\n{tbl.text}")
    return Table("".join(parts), "\n\n".join(texts))
