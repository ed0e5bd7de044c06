"""Layout recognition: which rows start a project form, and which start other known tables.

A project form is anchored on its 项目名称 row when a 主管部门/项目资金/indicator header follows
closely, or on a "…项目支出绩效自评表" title followed by such rows. Summary tables, department-wide
forms and target tables are recognised too, so they are never mistaken for project forms, and so are
the titles of narrative reports, which end the table above them.

A 绩效目标表 is found by its title ("…绩效目标表") or, where the title has another shape ("1.经费补助资金"),
by its indicator header — 一级/二级/三级指标 and 指标值 without any 完成值 or 得分 column — with the title
and the 绩效目标 rows above it. A header repeated after a page break (indicator rows right above it)
starts nothing.
"""

from __future__ import annotations

import re
from functools import cache, wraps
from typing import NamedTuple

from perfdata import rules
from perfdata.grid import Row
from perfdata.normalize import key, memo

PROJECT_TITLE = re.compile("|".join(r["pattern"] for r in rules.table("table_titles.csv") if r["kind"] == "project"))
YEAR_ANY = re.compile(r"(20\d{2})\s*年度")
TABLE_HINT = re.compile(r"项目名称|自评表|序号|名称|表|报告")
SECTION_HEADING = re.compile(r"^(?:[一二三四五六七八九十]+、|第[一二三四五六七八九十]+部分|目\s*录)")
# the titles of the tables that are no project forms (rules/layout_titles.csv): (kind, match, longest, pattern)
LAYOUT_TITLES = tuple((r["kind"], r["match"], int(r["longest"]), re.compile(r["pattern"]))
                      for r in rules.table("layout_titles.csv"))
OTHER_TITLES = tuple((kind, pattern) for kind, match, _, pattern in LAYOUT_TITLES if match == "in_title")
TARGET_HINT = "级指标"  # cheap test before is_target_header: "一级指标", "三级指标"
# rows find_tables looks at: the ones with TARGET_HINT or TABLE_HINT (every other row starts nothing)
_CANDIDATE = re.compile(f"{TARGET_HINT}|{TABLE_HINT.pattern}")


class TableStart(NamedTuple):
    index: int  # row index of the first row of the table (title where present)
    anchor: int  # row index of the row that identified it
    kind: str
    title: str


_MISSING = object()


def by_cells(fn):
    """Memoise a row test (or reading) that depends only on the row's cells, in the memo that rows of equal
    text share and on the cells: the header and label rows of a template recur in every form, and
    find_tables looks at each row from several windows. Bounded, and registered with normalize.CACHES."""
    cache_ = memo()

    @wraps(fn)
    def wrapper(row: Row):
        memo_ = row.memo  # shared by rows of equal text: no key to build
        value = memo_.get(wrapper, _MISSING)
        if value is _MISSING:
            cells = tuple(row.cells)
            value = cache_.get(cells, _MISSING)
            if value is _MISSING:
                value = fn(row)
                if len(cache_) > 50_000:
                    cache_.clear()
                cache_[cells] = value
            memo_[wrapper] = value
        return value

    return wrapper


def first_key(row: Row) -> str:
    for c in row.cells:
        if c:
            return key(c)
    return ""


@cache
def _title_kinds() -> tuple[tuple[str, re.Pattern], ...]:
    return tuple((r["kind"], re.compile(r["pattern"])) for r in rules.table("table_titles.csv"))


def title_kind(title: str) -> str:
    """What a title says its table is (rules/table_titles.csv): project | department | rubric | other.
    The first row that matches wins: a 部门整体绩效自评表 is no project form although it ends like one.

    >>> [title_kind(t) for t in ("2023年度部门整体支出绩效评价自评表", "部门整体支出绩效自评表", "项目支出绩效自评表")]
    ['rubric', 'department', 'project']
    """
    k = key(title)
    return next((kind for kind, pattern in _title_kinds() if pattern.search(k)), "project")


def is_project_title(text: str) -> bool:
    """A project form's title (table_titles.csv, kind project), not a title another kind claims first.

    >>> [is_project_title(t) for t in ("绩效目标自评表(2023年度)", "部门整体绩效自评表", "项目支出绩效自评汇总表")]
    [True, False, False]
    """
    return bool(PROJECT_TITLE.search(text)) and title_kind(text) == "project"


def is_title(row: Row) -> bool:
    return "自评表" in row.joined and _is_title(row)


@by_cells
def _is_title(row: Row) -> bool:
    filled = [c for c in row.cells if c]
    return len(filled) == 1 and len(filled[0]) < 120 and is_project_title(filled[0])


def year_of(row: Row) -> int | None:
    """The year of a '(2024 年度)' line or of a title holding '(2021年度)'."""
    filled = [c for c in row.cells if c]
    if len(filled) != 1:
        return None
    m = YEAR_ANY.search(filled[0].replace(" ", ""))
    return int(m.group(1)) if m else None


def is_year_line(row: Row) -> bool:
    return "年度" in row.joined and _is_year_line(row)


@by_cells
def _is_year_line(row: Row) -> bool:
    filled = [c for c in row.cells if c]
    return len(filled) == 1 and bool(re.fullmatch(r"[(]?\s*\d{4}\s*年度\s*[)]?", filled[0]))


@by_cells
def _form_label(row: Row) -> str | None:
    return rules.headers("form").lookup(first_key(row)) if first_key(row) else None


def is_funding_header(row: Row) -> bool:
    return ("预算" in row.joined or "执行" in row.joined) and _is_funding_header(row)


@by_cells
def _is_funding_header(row: Row) -> bool:
    hm = rules.headers("funding", grid=True)
    kinds = {hm.lookup(c) for c in row.cells if c}
    return len(kinds & {"budget_initial", "budget_full_year", "executed", "exec_rate", "exec_weight"}) >= 3


def is_indicator_header(row: Row) -> bool:
    joined = row.joined
    return any(c in joined for c in _indicator_header_cues()) and _is_indicator_header(row)


@cache
def _indicator_header_cues() -> tuple[str, ...]:
    """What an indicator header's text holds (a quick test before its cells are looked up): 指标, or a name or
    level column spelled without it (headers.csv: 评价内容, 项目权重)."""
    hm = rules.headers("indicator", grid=True)
    spelled = {s for s, c in [*hm.exact.items(), *hm.prefixes] if c in ("level1", "level2", "name")}
    return ("指标", *sorted(s for s in spelled if "指标" not in s))


@by_cells
def _is_indicator_header(row: Row) -> bool:
    hm = rules.headers("indicator", grid=True)
    kinds = {hm.lookup(c) for c in row.cells if c}
    return len(kinds & {"level1", "level2", "name"}) >= 2 and len(kinds) >= 4


def other_table_kind(row: Row) -> str | None:
    """Kind of a table other than a project form that this row starts, if any."""
    if not TABLE_HINT.search(row.joined):
        return None
    return _other_table_kind(row)


@by_cells
def _other_table_kind(row: Row) -> str | None:
    filled = [c for c in row.cells if c]
    k = key(filled[0])
    if k == "序号" and any("项目名称" in key(c) for c in filled[1:3]):
        return "summary"
    if k.startswith("部门(单位)名称") or k.startswith("部门名称"):
        return "department_form" if any("履职目标" in c for c in filled[1:]) else "unit_header"
    if len(filled) == 1:
        text = filled[0]
        for kind, match, longest, pattern in LAYOUT_TITLES:
            if len(text) >= longest:
                continue
            if match == "in_title" and pattern.search(text) and not is_project_title(text) \
                    or match == "title_end" and pattern.search(text.replace(" ", "")):
                return kind
    return None


@cache
def target_headers(group: str) -> rules.HeaderMap:
    """Cell spellings of 绩效目标表 (rules/targets.csv): group 'column' (header cells) or 'label' (row labels)."""
    exact, prefixes = {}, []
    for r in rules._rows("targets.csv"):
        if r["group"] == group:
            syn = r["synonym"]
            if syn.endswith("*"):
                prefixes.append((key(syn[:-1]), r["canonical"]))
            else:
                exact[key(syn)] = r["canonical"]
    return rules.HeaderMap(exact, tuple(prefixes), {})


_TARGET_EXCLUDES = {"actual", "score"}


def is_target_header(row: Row) -> bool:
    """一级/二级/三级指标 and 指标值, no 完成值/得分 column: the header of a 绩效目标表, not of a self-evaluation."""
    if "一级指标" not in row.joined and "三级指标" not in row.joined:
        return False
    return _is_target_header(row)


@by_cells
def _is_target_header(row: Row) -> bool:
    cols = target_headers("column")
    kinds = {cols.lookup(c) for c in row.cells if c}
    if "target" not in kinds or len(kinds & {"level1", "level2", "level3"}) < 2:
        return False
    indicator = rules.headers("indicator")
    return not any(indicator.lookup(c) in _TARGET_EXCLUDES for c in row.cells if c)


def is_goal_label(row: Row) -> bool:
    """A '绩效目标' / '年度绩效目标' row (the goal text follows in the row or in the rows below)."""
    filled = [c for c in row.cells if c]
    return bool(filled) and target_headers("label").lookup(filled[0]) == "goal"


def _is_target_section(rows: list[Row], i: int, horizon: int = 25) -> bool:
    """Whether the indicator header ahead of rows[i] (within the head block of a table) is a target header."""
    seen, before = 0, None
    for j in range(i + 1, len(rows)):
        r = rows[j]
        if not r.joined:
            continue
        seen += 1
        if seen > horizon:
            return False
        if is_funding_header(r):
            return False  # a budget executed (全年执行数, 执行率): a self-evaluation, not a 绩效目标表
        if TARGET_HINT in r.joined and is_target_header(r):
            nxt = next(_ahead(rows, j, 1), None)
            # a form header broken over two rows carries 完成值/得分 on the second one (or on the first)
            indicator = rules.headers("indicator")
            return not any(x is not None and any(indicator.lookup(c) in _TARGET_EXCLUDES for c in x.cells if c)
                           for x in (nxt, before))
        if TARGET_HINT in r.joined and is_indicator_header(r):
            return False
        before = r
    return False


def _rows_between(rows: list[Row], a: int, b: int) -> int:
    return sum(1 for r in rows[a + 1 : b] if r.joined)


def _target_start(rows: list[Row], i: int, floor: int) -> tuple[int, str] | None:
    """Start (title row, else 绩效目标 row) of the target table whose header is rows[i]; None for a header
    repeated after a page break (indicator rows right above it)."""
    seen = 0
    j = i - 1
    goal = None
    while j > floor and seen < 15:
        r = rows[j]
        filled = [c for c in r.cells if c]
        if not filled:
            j -= 1
            continue
        seen += 1
        if is_goal_label(r):
            goal = j
            break
        if is_target_header(r) or _form_label(r) in ("project_name", "department", "unit"):
            return None
        if len(filled) >= 3 and goal is None and _indicator_like(r):
            return None  # indicator rows of the table above: a repeated header
        j -= 1
    if goal is None:
        return None
    k = goal - 1
    while k > floor:
        r = rows[k]
        filled = [c for c in r.cells if c]
        if not filled:
            k -= 1
            continue
        if is_year_line(r):
            k -= 1
            continue
        if len(filled) == 1 and len(filled[0]) < 200 and not SECTION_HEADING.match(filled[0]):
            return k, filled[0]
        break
    return goal, ""


def _indicator_like(row: Row) -> bool:
    lv = rules.levels()
    return any(key(c) in lv for c in row.cells[:4] if c) or len([c for c in row.cells if c]) >= 4


def _ahead(rows: list[Row], i: int, count: int):
    """The next `count` non-blank rows after rows[i] (blank lines do not count towards a window)."""
    seen = 0
    for j in range(i + 1, len(rows)):  # not rows[i + 1 :]: that copies the rest of the document per call
        r = rows[j]
        if r.joined:
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
    claimed = -1  # title rows already used by a start
    hint = _CANDIDATE.search
    for i in [i for i, r in enumerate(rows) if hint(r.joined)]:
        row = rows[i]
        if TARGET_HINT in row.joined and is_target_header(row):
            _add_target_header(rows, i, out, claimed)
            continue
        if not TABLE_HINT.search(row.joined):
            continue
        label = _form_label(row)
        if label == "project_name" and _confirms_form(rows, i):
            start, title = i, ""
            j = i - 1
            looked = 0
            while j > claimed and looked < 4:
                r = rows[j]
                if not r.joined:
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
            kind = "target_table" if _is_target_section(rows, i) else "project_form"
            prev = out[-1] if out else None
            if kind == "target_table" and prev and prev.kind == kind and _rows_between(rows, prev.anchor, i) <= 3:
                out[-1] = prev._replace(anchor=i)  # the 项目名称 row under a 绩效目标表 title
            else:
                out.append(TableStart(start, i, kind, title))
            claimed = i
        elif is_title(row) and not _title_followed_by_name(rows, i) and not _value_of_a_name_label(rows, i):
            # a titled form whose 项目名称 row is missing: still a form, read what is there
            if any(is_funding_header(r) or is_indicator_header(r) for r in _ahead(rows, i, 12)):
                out.append(TableStart(i, i, "project_form", next(c for c in row.cells if c)))
                claimed = i
        else:
            kind = other_table_kind(row)
            prev = out[-1] if out else None
            if kind == "summary" and prev and prev.kind == "summary" and row.joined == rows[prev.anchor].joined:
                kind = None  # the table's header repeated after a page break: the same table goes on
            if kind == "report":
                # a narrative report: not a table, but it ends the table above it
                out.append(TableStart(i, i, kind, next(c for c in row.cells if c)))
            elif kind:
                title = next(c for c in row.cells if c)
                if prev and prev.kind not in ("project_form", "report") and sum(
                        1 for r in rows[prev.anchor + 1 : i] if r.joined) <= 3:
                    # the rows under a table's title ("部门(单位)名称…", "序号 项目名称…") belong to it
                    if prev.kind == "unit_header":
                        out[-1] = prev._replace(kind=kind)
                    out[-1] = out[-1]._replace(anchor=i)
                else:
                    out.append(TableStart(i, i, kind, title))
    return out


def _value_of_a_name_label(rows: list[Row], i: int) -> bool:
    """Whether rows[i] is the value of a 项目名称 printed alone on the row before it (a copy one cell per line):
    a project named '…补助经费支出绩效自评表' is no title."""
    prev = next((r for r in reversed(rows[max(0, i - 3):i]) if r.joined), None)
    return prev is not None and len(prev.filled) == 1 and _form_label(prev) == "project_name"


def _add_target_header(rows: list[Row], i: int, out: list[TableStart], claimed: int):
    prev = out[-1] if out else None
    if prev and prev.kind == "target_table" and not is_target_header(rows[prev.anchor]):
        out[-1] = prev._replace(anchor=i)  # the header under a title already found
        return
    floor = max(claimed, prev.anchor if prev else -1)
    found = _target_start(rows, i, floor)
    if found is not None:
        out.append(TableStart(found[0], i, "target_table", found[1]))


def _title_followed_by_name(rows: list[Row], i: int) -> bool:
    return any(_form_label(r) == "project_name" for r in _ahead(rows, i, 4))
