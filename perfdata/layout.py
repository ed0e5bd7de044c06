"""Layout recognition: which rows start a project form, and which start other known tables.

A project form is anchored on its 项目名称 row when a 主管部门/项目资金/indicator header follows
closely, or on a "…项目支出绩效自评表" title followed by such rows. Summary tables, department-wide
forms and target tables are recognised too, so they are never mistaken for project forms.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from perfdata import rules
from perfdata.normalize import key
from perfdata.readers.text import Row

PROJECT_TITLE = re.compile(r"项目(?:支出)?绩效自评表")
YEAR_ANY = re.compile(r"(20\d{2})\s*年度")
TABLE_HINT = re.compile(r"项目名称|自评表|序号|名称|表|报告")
SECTION_HEADING = re.compile(r"^(?:[一二三四五六七八九十]+、|第[一二三四五六七八九十]+部分|目\s*录)")
OTHER_TITLES = (
    ("summary", re.compile(r"自评汇总表")),
    ("department_form", re.compile(r"整体绩效自评表")),
    ("target_table", re.compile(r"绩效目标表")),
    ("report", re.compile(r"自评(?:总结)?报告")),
)


class TableStart(NamedTuple):
    index: int  # row index of the first row of the table (title where present)
    anchor: int  # row index of the row that identified it
    kind: str
    title: str


def first_key(row: Row) -> str:
    for c in row.cells:
        if c:
            return key(c)
    return ""


def is_title(row: Row) -> bool:
    if "自评表" not in row.joined:
        return False
    filled = [c for c in row.cells if c]
    return len(filled) == 1 and bool(PROJECT_TITLE.search(filled[0])) and len(filled[0]) < 120


def year_of(row: Row) -> int | None:
    """The year of a '(2024 年度)' line or of a title holding '(2021年度)'."""
    filled = [c for c in row.cells if c]
    if len(filled) != 1:
        return None
    m = YEAR_ANY.search(filled[0].replace(" ", ""))
    return int(m.group(1)) if m else None


def is_year_line(row: Row) -> bool:
    if "年度" not in row.joined:
        return False
    filled = [c for c in row.cells if c]
    return len(filled) == 1 and bool(re.fullmatch(r"[(]?\s*\d{4}\s*年度\s*[)]?", filled[0]))


def _form_label(row: Row) -> str | None:
    return rules.headers("form").lookup(first_key(row)) if first_key(row) else None


def is_funding_header(row: Row) -> bool:
    if "预算" not in row.joined and "执行" not in row.joined:
        return False
    hm = rules.headers("funding")
    kinds = {hm.lookup(c) for c in row.cells if c}
    return len(kinds & {"budget_initial", "budget_full_year", "executed", "exec_rate", "exec_weight"}) >= 3


def is_indicator_header(row: Row) -> bool:
    if "指标" not in row.joined:
        return False
    hm = rules.headers("indicator")
    kinds = {hm.lookup(c) for c in row.cells if c}
    return len(kinds & {"level1", "level2", "name"}) >= 2 and len(kinds) >= 4


def other_table_kind(row: Row) -> str | None:
    """Kind of a table other than a project form that this row starts, if any."""
    if not TABLE_HINT.search(row.joined):
        return None
    filled = [c for c in row.cells if c]
    k = key(filled[0])
    if k == "序号" and any("项目名称" in key(c) for c in filled[1:3]):
        return "summary"
    if k.startswith("部门(单位)名称") or k.startswith("部门名称"):
        return "department_form" if any("履职目标" in c for c in filled[1:]) else "unit_header"
    if len(filled) == 1 and len(filled[0]) < 60:
        for kind, pattern in OTHER_TITLES:
            if pattern.search(filled[0]) and not PROJECT_TITLE.search(filled[0]):
                return kind
    return None


def _ahead(rows: list[Row], i: int, count: int):
    """The next `count` non-blank rows after rows[i] (blank lines do not count towards a window)."""
    seen = 0
    for r in rows[i + 1 :]:
        if any(r.cells):
            yield r
            seen += 1
            if seen >= count:
                return


def _confirms_form(rows: list[Row], i: int, horizon: int = 6) -> bool:
    for r in _ahead(rows, i, horizon):
        label = _form_label(r)
        if label in ("department", "unit", "funding_block") or is_funding_header(r) or is_indicator_header(r):
            return True
        if label == "project_name" or other_table_kind(r):
            return False
    return False


def find_tables(rows: list[Row]) -> list[TableStart]:
    """All table starts in document order."""
    out: list[TableStart] = []
    n = len(rows)
    claimed = -1  # title rows already used by a start
    i = 0
    while i < n:
        row = rows[i]
        if not TABLE_HINT.search(row.joined):
            i += 1
            continue
        label = _form_label(row)
        if label == "project_name" and _confirms_form(rows, i):
            start, title = i, ""
            j = i - 1
            looked = 0
            while j > claimed and looked < 4:
                r = rows[j]
                if not any(r.cells):
                    j -= 1
                    continue
                looked += 1
                if is_year_line(r):
                    start = j
                elif is_title(r):
                    start, title = j, next(c for c in r.cells if c)
                    break
                else:
                    break
                j -= 1
            out.append(TableStart(start, i, "project_form", title))
            claimed = i
        elif is_title(row) and not _title_followed_by_name(rows, i):
            # a titled form whose 项目名称 row is missing: still a form, read what is there
            if any(is_funding_header(r) or is_indicator_header(r) for r in _ahead(rows, i, 12)):
                out.append(TableStart(i, i, "project_form", next(c for c in row.cells if c)))
                claimed = i
        else:
            kind = other_table_kind(row)
            prev = out[-1] if out else None
            if kind == "summary" and prev and prev.kind == "summary" and row.joined == rows[prev.anchor].joined:
                kind = None  # the table's header repeated after a page break: the same table goes on
            if kind and kind != "report":
                title = next(c for c in row.cells if c)
                if prev and prev.kind != "project_form" and sum(
                        1 for r in rows[prev.anchor + 1 : i] if any(r.cells)) <= 3:
                    # the rows under a table's title ("部门(单位)名称…", "序号 项目名称…") belong to it
                    if prev.kind == "unit_header":
                        out[-1] = prev._replace(kind=kind)
                    out[-1] = out[-1]._replace(anchor=i)
                else:
                    out.append(TableStart(i, i, kind, title))
        i += 1
    return out


def _title_followed_by_name(rows: list[Row], i: int) -> bool:
    return any(_form_label(r) == "project_name" for r in _ahead(rows, i, 4))
