"""绩效目标表 of budget disclosures → `targets` and `target_indicators`.

A disclosure publishes one table per project: a numbered title ("6.劳务派遣服务经费绩效目标表"), the goal text
(绩效目标, often several quoted lines), then indicators 一级/二级/三级指标, 绩效指标描述, 指标值, 指标值确定依据 —
targets only, no actuals. Columns are found from the header through rules/targets.csv, so other orders and
spellings read the same. Level cells left blank carry down; where a level is missing or repeats, the level-2
name's parent (rules/levels.csv) decides. Lines that are not read become leftovers.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field

from perfdata import rules
from perfdata.grid import Row
from perfdata.keys import table_id
from perfdata.normalize import clean, direction, is_filler, key, parse_value
from perfdata.tables import layout

TITLE = re.compile(r"^(?:(?P<no>\d{1,3})\s*[.．、]\s*)?(?P<name>.*?)"
                   r"(?:(?:项目)?(?:支出)?绩效目标(?:申报)?表)?(?:\((?P<year>\d{4})年度?\))?$")
DOC_YEAR = re.compile(r"(20\d{2})\s*年(?:度)?\s*(?:部门|单位)?(?:预算|决算)")
ORG = re.compile(r"^[\u4e00-\u9fff()]{3,40}?(?:局|委员会|委|厅|办公室|中心|院|所|站|大队|办)$")
# the figure a goal text gives for the whole project ("预计全年项目支出数为20万元")
GOAL_BUDGET = re.compile(r"(?:预计)?全年(?:项目)?(?:支出|预算)数?(?:为|是)?\s*(\d+(?:\.\d+)?)\s*万\s*元")
_QUOTES = str.maketrans("", "", '"')
LEVEL_COLUMNS = ("level1", "level2")


@dataclass
class Target:
    line_start: int
    title: str | None = None
    table_no: int | None = None
    project_name: str | None = None
    department: str | None = None
    unit: str | None = None
    year: int | None = None
    year_inferred: bool = False
    department_inferred: bool = False
    budget: float | None = None
    budget_source: str | None = None
    goal: list[str] = field(default_factory=list)
    goal_line: int | None = None
    header_line: int | None = None
    line_end: int = 0
    indicators: list[dict] = field(default_factory=list)
    leftovers: list[tuple[int, str, str]] = field(default_factory=list)
    consumed: list[int] = field(default_factory=list)  # lines of the rows read (their leftovers say the rest)
    placeholders: list[int] = field(default_factory=list)  # lines of "……" rows inside the table
    notes: list[tuple[int, str]] = field(default_factory=list)  # (line, message): worth a look, read anyway


def read_target_table(rows: list[Row], start: layout.TableStart, stop: int, res, sha: str):
    """Table reader for ingest.TABLE_READERS['target_table']: adds targets, target_indicators, leftovers."""
    rows, stop = _join_quoted(rows, start.index, stop)
    t = _read(rows, start.index, stop)
    _context(t, rows)
    target_id = table_id(sha, t.line_start)
    res.add("targets", {
        "target_id": target_id, "line_start": t.line_start, "line_end": t.line_end, "table_no": t.table_no,
        "title": t.title, "project_name": t.project_name, "department": t.department,
        "department_inferred": t.department_inferred, "unit": t.unit, "year": t.year,
        "year_inferred": t.year_inferred, "budget": t.budget, "budget_source": t.budget_source,
        "goal": "\n".join(t.goal) or None, "goal_line": t.goal_line, "header_line": t.header_line,
        "indicator_count": len(t.indicators),
    })
    for seq, ind in enumerate(t.indicators, 1):
        res.add("target_indicators", {"target_id": target_id, "seq": seq, **ind})
    for line, text, reason in t.leftovers:
        res.add("leftovers", {"line": line, "text": text, "reason": reason, "form_id": target_id})
    res.fate(target_id, t.consumed, t.placeholders)
    name = t.title or t.project_name or "?"
    if t.header_line is None:
        res.problem("warning", f"target table “{name}” has no indicator header", t.line_start)
    elif not t.indicators:
        res.problem("warning", f"target table “{name}” has no indicator rows", t.header_line)
    if not t.goal:
        res.problem("info", f"target table “{name}” states no goal (绩效目标)", t.line_start)
    for line, message in t.notes:
        res.problem("info", f"target table “{name}”: {message}", line)
    if t.leftovers:
        res.problem("warning", f"target table “{name}”: {len(t.leftovers)} line(s) not read (see leftovers)",
                    t.leftovers[0][0])


# -- reading one table --------------------------------------------------------------------------------

def _read(rows: list[Row], first: int, stop: int) -> Target:
    t = Target(line_start=rows[first].line)
    labels = layout.target_headers("label")
    state, columns, width, last_used = "head", {}, 0, first
    carried: dict[str, str | None] = {"level1": None, "level2": None}
    i = first
    while i < stop:
        row = rows[i]
        filled = [(j, c) for j, c in enumerate(row.cells) if c and c.translate(_QUOTES).strip()]
        if not filled or all(is_filler(c) for _, c in filled):
            if filled:
                t.placeholders.append(row.line)  # "……" rows
            elif row.joined:
                t.consumed.append(row.line)  # only the quotes of a cell over several lines
            i += 1
            continue
        t.consumed.append(row.line)  # every row below is read, or a leftover with its reason
        if layout.is_target_header(row):
            if state == "indicators" and t.header_line is not None:
                pass  # the header repeated after a page break
            else:
                t.header_line = row.line
            columns, width, state = _columns(row), len(row.cells), "indicators"
            last_used = i
            i += 1
            continue
        if state == "indicators":
            if _ends_table(rows, i, stop, filled, width):
                t.consumed.pop()
                break
            if not _indicator_row(t, row, filled, columns, width, carried):
                t.leftovers.append((row.line, row.raw.strip(), "not an indicator row of the target table"))
            last_used = i
            i += 1
            continue
        first_text = filled[0][1]
        label = labels.lookup(first_text)
        if i == first and len(filled) == 1 and label is None and not layout.is_year_line(row):
            _title(t, first_text)
        elif layout.is_year_line(row) or (state == "head" and len(filled) == 1 and layout.year_of(row)
                                           and len(first_text) < 16):
            t.year = t.year or layout.year_of(row)
        elif label == "goal":
            state, t.goal_line = "goal", row.line
            t.goal += _texts(c for _, c in filled[1:])
        elif state == "goal":
            t.goal += _texts(c for _, c in filled)
        elif label is not None or any(labels.lookup(c) for _, c in filled[1:]):
            _label_row(t, filled, labels)
        else:
            t.leftovers.append((row.line, row.raw.strip(), "text above the indicator table not recognised"))
        last_used = i
        i += 1
    t.line_end = rows[last_used].end
    return t


def _texts(cells) -> list[str]:
    return [s for c in cells if (s := c.translate(_QUOTES).strip())]


def split_title(text: str) -> tuple[int | None, str | None, int | None]:
    """(table number, project name, year) of a target table's title.

    >>> split_title("6.劳务派遣服务经费绩效目标表"), split_title("1.经费补助资金")
    ((6, '劳务派遣服务经费', None), (1, '经费补助资金', None))
    >>> split_title("公益性岗位补贴项目支出绩效目标表(2024年度)")
    (None, '公益性岗位补贴', 2024)
    """
    m = TITLE.match(text.replace(" ", ""))
    if not m:
        return None, text or None, None
    no, year = m.group("no"), m.group("year")
    return (int(no) if no else None), (m.group("name") or None), (int(year) if year else None)


def _title(t: Target, text: str):
    t.title = text
    t.table_no, t.project_name, year = split_title(text)
    t.year = year or t.year


def _label_row(t: Target, filled: list[tuple[int, str]], labels):
    """'项目名称 | X', '主管部门 | A | 实施单位 | B', '项目资金 | 年度资金总额 | 100': label cells and their values."""
    pending = None
    for _, c in filled:
        canon = labels.lookup(c)
        if canon is not None:
            pending = canon
            continue
        if pending == "project_name":
            t.project_name = c
        elif pending in ("department", "unit"):
            setattr(t, pending, c)
        elif pending == "budget" and t.budget is None:
            v = parse_value(c)
            if v.quantitative and v.unit in (None, "万元", "万"):
                t.budget, t.budget_source = v.value, "table"
        pending = None


def _columns(row: Row) -> dict[int, str]:
    cols = layout.target_headers("column")
    out = {}
    for j, c in enumerate(row.cells):
        canon = cols.lookup(c) if c else None
        if canon and canon != "indicator_block" and canon not in out.values():
            out[j] = canon
    return out


def _ends_table(rows: list[Row], i: int, stop: int, filled, width: int) -> bool:
    """A row that does not belong to the indicator table: a section heading, the next table's title, or text
    with no indicator rows after it."""
    row = rows[i]
    if len(filled) != 1 or len(row.cells) == width:
        return False
    text = filled[0][1]
    if layout.SECTION_HEADING.match(text) or layout.other_table_kind(row):
        return True
    ahead = 0
    for r in rows[i + 1 : stop]:
        if not any(r.cells):
            continue
        if len(r.cells) == width or sum(1 for c in r.cells if c) >= 3 or layout.is_target_header(r):
            return False
        ahead += 1
        if ahead >= 3:
            break
    return True


def _indicator_row(t: Target, row: Row, filled, columns: dict[int, str], width: int, carried) -> bool:
    values = _cells_by_column(row, filled, columns, width)
    if values is None:
        return False
    levels = rules.levels()
    p1, p2 = values.get("level1"), values.get("level2")
    lv1, lv2 = (levels.get(key(p)) if p else None for p in (p1, p2))
    if lv1 is not None and lv1.tier == 2 and not p2:  # a level-2 name in the level-1 column
        p1, p2, lv1, lv2 = None, p1, None, lv1
    for p, lv in ((p1, lv1), (p2, lv2)):
        if p and lv is None:
            t.notes.append((row.line, f"level name “{p}” not in rules/levels.csv"))
    if p1:
        carried["level1"], carried["level2"] = (lv1.name if lv1 else key(p1)), None
    if p2:
        carried["level2"] = lv2.name if lv2 else key(p2)
    inferred = False
    parent = levels[key(carried["level2"])].parent if key(carried["level2"] or "") in levels else None
    if parent and carried["level1"] != parent:
        if p1:
            t.notes.append((row.line, f"“{carried['level2']}” printed under “{carried['level1']}”"))
        else:
            carried["level1"], inferred = parent, True  # level 1 missing or carried from another level
    content = {c: values.get(c) for c in ("level3", "description", "target", "basis")}
    if not any(content.values()):
        t.leftovers.append((row.line, row.raw.strip(), "level names without an indicator"))
        return True
    v = parse_value(content["target"])
    t.indicators.append({
        "line": row.line, "line_end": row.end,
        "level1": carried["level1"], "level1_printed": p1, "level1_inferred": inferred,
        "level2": carried["level2"], "level2_printed": p2,
        "level3": content["level3"], "description": content["description"], "target_raw": content["target"],
        "basis": content["basis"], "measure_unit": values.get("measure_unit"), "nature": values.get("nature"),
        "weight": parse_value(values.get("weight")).value,
        "target_op": v.op, "target_value": v.value, "target_unit": v.unit, "quantitative": v.quantitative,
        "direction": direction(v.op),
    })
    return True


def _cells_by_column(row: Row, filled, columns: dict[int, str], width: int) -> dict[str, str] | None:
    """Cells by column: by position when the row is as wide as the header; otherwise leading level names
    first and the other cells right-aligned (layouts that drop empty cells)."""
    if len(row.cells) == width:
        return {canon: row.cells[j].translate(_QUOTES).strip() for j, canon in columns.items()
                if j < len(row.cells) and row.cells[j]}
    cells = [c.translate(_QUOTES).strip() for _, c in filled]
    if len(cells) < 2:
        return None
    levels = rules.levels()
    out: dict[str, str] = {}
    while cells and key(cells[0]) in levels:
        lv = levels[key(cells[0])]
        out["level1" if lv.tier == 1 else "level2"] = cells.pop(0)
    rest = [canon for _, canon in sorted(columns.items()) if canon not in LEVEL_COLUMNS]
    if len(cells) > len(rest):
        return None
    out.update(zip(rest[len(rest) - len(cells):], cells, strict=True))
    return out


# -- document context ---------------------------------------------------------------------------------

def _context(t: Target, rows: list[Row]):
    """Year and department from the document where the table does not print them."""
    t.year_inferred = t.department_inferred = False
    if t.year is None:
        t.year = _doc_year(rows)
        t.year_inferred = t.year is not None
    if t.department is None:
        t.department = _doc_department(rows)
        t.department_inferred = t.department is not None
    if t.budget is None and t.goal:
        m = GOAL_BUDGET.search(clean("".join(t.goal)))
        if m:
            t.budget, t.budget_source = float(m.group(1)), "goal"


def _doc_year(rows: list[Row]) -> int | None:
    for r in rows[:40]:
        m = DOC_YEAR.search(r.joined)
        if m:
            return int(m.group(1))
    return None


def _doc_department(rows: list[Row]) -> str | None:
    seen = 0
    for r in rows:
        filled = [c for c in r.cells if c]
        if not filled:
            continue
        seen += 1
        if len(filled) == 1 and ORG.match(filled[0]):
            return filled[0]
        if seen >= 8:
            return None
    return None


# -- quoted cells over several lines -----------------------------------------------------------------

def _join_quoted(rows: list[Row], first: int, stop: int, limit: int = 6) -> tuple[list[Row], int]:
    """Rows of a tab-separated export whose quoted cell runs over several lines, re-split as one row.
    Returns the rows and the new index of `stop`."""
    if not any(_opens_quote(rows[i]) for i in range(first, stop)):
        return rows, stop
    out = rows[:first]
    i = first
    while i < stop:
        row = rows[i]
        if _opens_quote(row):
            raw, j = row.raw, i + 1
            while j < stop and j - i <= limit and raw.count('"') % 2 and rows[j].raw.strip():
                raw += "\n" + rows[j].raw
                j += 1
            cells = _split_quoted(raw) if raw.count('"') % 2 == 0 and j > i + 1 else None
            if cells is not None:
                out.append(Row(row.line, [clean(c) for c in cells], raw, rows[j - 1].end))
                i = j
                continue
        out.append(row)
        i += 1
    return out + rows[stop:], len(out)


def _split_quoted(raw: str) -> list[str] | None:
    """The cells of one tab-separated record, or None where csv cannot split it (a NUL byte, a cell over
    csv's field limit): the rows then stay as printed."""
    try:
        return next(csv.reader([raw], delimiter="\t"), None)
    except csv.Error:
        return None


def _opens_quote(row: Row) -> bool:
    return "\t" in row.raw and "\n" not in row.raw and row.raw.count('"') % 2 == 1


# -- the document as a whole ----------------------------------------------------------------------------

def check_numbering(rows: list[Row], starts, res, sha: str):
    """Document reader: numbered target tables that repeat or skip a number are reported."""
    targets = [t for t in res.tables.get("targets", []) if t.get("table_no") is not None]
    if len(targets) < 2:
        return
    seen: dict[int, int] = {}
    for t in targets:
        no = t["table_no"]
        if no in seen:
            res.problem("warning", f"target table number {no} printed twice (lines {seen[no]} and "
                        f"{t['line_start']})", t["line_start"])
        seen[no] = t["line_start"]
    missing = sorted(set(range(1, max(seen) + 1)) - set(seen))
    if missing:
        res.problem("warning", "target tables missing from the numbering: " + ", ".join(map(str, missing)),
                    targets[0]["line_start"])
