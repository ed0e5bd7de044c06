"""Read one 项目支出绩效自评表 from grid rows into form, funding and indicator records.

The form is read block by block (header fields, 项目资金, 年度总体目标, 绩效指标, 总分, notes). Inside
a block, cells are identified by what they say (level names, row labels, numbers, rates) and
aligned to the block's header, so shifted, split and missing cells still land in the right
field. Every row of the form is either consumed or returned as a leftover with its reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import NamedTuple

from perfdata import rules
from perfdata.grid import Row
from perfdata.normalize import (
    cell_type,
    clean,
    direction,
    is_filler,
    key,
    memo,
    parse_value,
    split_indicator_no,
    split_level_weight,
    to_number,
)
from perfdata.tables import layout
from perfdata.tables.align import align

BUDGET_EXECUTION = re.compile(r"(?:预算|资金)执行率")
# a goal's label and its colon printed before it in its cell, or only the colon (the label in the cell above:
# '预期目标' over '：针对有鉴定需求的人…')
GOAL_PREFIXES = re.compile(
    r"^(?:年初设定目标|预期目标|年度总体目标完成情况综述|实际完成情况(?:综述)?)?[:：]\s*")
# spaces are taken from where they start ((?<!\s)): '\s*</p>…' tried at every space of a long run is quadratic
_P_TAGS = re.compile(r"</p>\s*<p>\s*|(?<!\s)\s+</p>\s*<p>\s*|</?p>")
NOTE_START = re.compile(r"^(?:注|说明|备注)\s*[:：]")
# a weight printed in the 分值 header cell; (?<!\d): tried inside a long run of digits it was quadratic
HEADER_POINTS = re.compile(r"(?<!\d)(\d+(?:\.\d+)?)\s*分")
DEFAULT_FUNDING = ("budget_initial", "budget_full_year", "executed", "exec_weight", "exec_rate",
                   "exec_score")
DEFAULT_INDICATOR = (("level1", 1), ("level2", 2), ("name", 3), ("target", 4), ("actual", 5),
                     ("weight", 6), ("score", 7), ("note", 8))


@dataclass(slots=True)
class Leftover:
    line: int
    text: str
    reason: str


@dataclass(slots=True)
class Indicator:
    line: int
    line_end: int
    level1: str | None
    level1_weight: float | None
    level1_weight_line: int | None
    level2: str | None
    indicator_no: int | None
    name: str | None
    fields: dict[str, str] = field(default_factory=dict)  # may be shared with other rows: replace, never edit
    positions: dict[str, int] = field(default_factory=dict)
    content: tuple | None = None  # indicator_values() past the levels, when known from the row's cells
    parent: int | None = None  # seq of the scored indicator a '其中…' sub-row belongs to (mark_children)
    goal: tuple[int | None, float | None] = (None, None)  # the 年度绩效目标N(P分) block it sits in (goal_block)


@dataclass
class Form:
    line_start: int
    line_end: int = 0
    title: str | None = None
    year: int | None = None
    project_name: str | None = None
    department: str | None = None
    unit: str | None = None
    funding: list[dict] = field(default_factory=list)
    goal_planned: str | None = None
    goal_achieved: str | None = None
    indicators: list[Indicator] = field(default_factory=list)
    total_weight: float | None = None
    total_score: float | None = None
    total_line: int | None = None
    notes: list[str] = field(default_factory=list)
    leftovers: list[Leftover] = field(default_factory=list)
    layout: str | None = None
    complete: bool = False
    stop_reason: str | None = None
    region: str | None = None
    inferred: set = field(default_factory=set)
    template: str | None = None  # rules/templates.csv id: the best match of its title and header cells
    amount_unit: str = "万元"  # as printed; amounts are held in 万元
    grade: str | None = None  # a grade printed beside the 总分 (优 | 良 | 中 | 差: rules/grades.csv)
    placeholders: list[int] = field(default_factory=list)  # lines of empty template rows (指标2, ……)
    consumed: list[int] | None = None  # lines of the rows read into the form (None: not reported)
    kind: str = "project"  # project | department (a 部门整体支出绩效自评表 in the project layout)
    # the department template's own blocks, read by the token reader: goals, tasks ([name, content]),
    # budget (department.BUDGET → 万元) and budget_lines
    department_blocks: dict = field(default_factory=dict)


_GOAL_NO = re.compile(r"(\d{1,2})$")


@lru_cache(maxsize=4096)
def goal_block(text: str) -> tuple[int | None, float | None] | None:
    """The number and points of a 年度绩效目标N(P分) block label (headers.csv: block goal_block); None where
    the cell is no such label. A form that prints several goals, each with its indicators under it (湖北),
    labels each block so: its rows keep the block they sit in.

    >>> goal_block("年度绩效目标1(40分)"), goal_block("年度绩效目标完成情况"), goal_block("一级指标")
    ((1, 40.0), (None, None), None)
    """
    if rules.headers("block").lookup(text) != "goal_block":
        return None
    name, points = split_level_weight(clean(text))
    m = _GOAL_NO.search(name)
    return (int(m.group(1)) if m else None), points


@lru_cache(maxsize=16384)
def level_cell(text: str) -> tuple[rules.Level | None, float | None]:
    """The level a cell names and the points printed with it; (None, 50.0) for a bare "(50分)". A copy's
    cell separator left on the cell ("效益指标(30分) |", a line of one cell) is not part of it."""
    name, weight = split_level_weight(text.rstrip("| ") if text.endswith("|") else text)
    if not name:
        return None, weight if "(" in clean(text) else None
    level = rules.levels().get(name)
    return (level, weight) if level else (None, None)


class RowFacts(NamedTuple):
    """What a row says by its content alone (no reader state): worked out once per distinct row."""

    start_label: str | None  # form label of the first filled cell, as layout._form_label reads it
    title: bool
    year_line: bool
    year: int | None
    other_table: bool  # starts a summary, department form or target table
    section: bool  # a lone "一、…" / "第…部分" heading
    all_filler: bool
    kind: str | None  # the first of the label-driven branches of the dispatch that the row takes
    funding_label: tuple[int, str, str] | None
    note: bool
    may_start: bool  # could end the form by starting something else (_starts_something_else decides)
    plain: bool  # none of the dispatch's label-driven branches takes it: in the 绩效指标 block, an indicator row


_FACTS: dict[tuple[str, ...], RowFacts] = memo()  # row_shape() → facts
_OTHER_TABLES = frozenset({"summary", "department_form", "target_table"})


def row_facts(row: Row) -> RowFacts:
    """The content-only tests of the reader for one row, memoised in the row's shared memo and on its
    row_shape() (template rows repeat in every form of a document); the reader combines them with its state."""
    facts = row.memo.get(RowFacts)
    if facts is not None:
        return facts
    shape = row_shape(row.cells)
    facts = _FACTS.get(shape)
    if facts is not None:
        row.memo[RowFacts] = facts
        return facts
    filled = row.filled
    first = filled[0][1]
    fk = key(first)
    label = rules.headers("form").lookup(fk)
    title, year_line = layout.is_title(row), layout.is_year_line(row)
    if label == "project_name":
        kind = "project_name"
    elif label in ("department", "unit"):
        kind = "dept"
    elif label == "total" or fk.startswith("总分"):
        kind = "total"
    elif layout.is_indicator_header(row):
        kind = "indicator_header"
    elif layout.is_funding_header(row):
        kind = "funding_header"
    elif label == "goal_block" or fk.startswith("年度总体目标") or (
            len(filled) > 1 and rules.headers("goal").lookup(fk) is not None):  # '项目年度目标 | text'
        kind = "goal_header"
    else:
        kind = None
    other_table = layout.other_table_kind(row) in _OTHER_TABLES
    section = len(filled) == 1 and bool(layout.SECTION_HEADING.match(first))
    all_filler = all(is_filler(c) for _, c in filled)
    funding_label = _funding_label(filled) if kind is None else None
    facts = RowFacts(
        start_label=label if fk else None,
        title=title,
        year_line=year_line,
        year=layout.year_of(row) if title or year_line else None,
        other_table=other_table,
        section=section,
        all_filler=all_filler,
        kind=kind,
        funding_label=funding_label,
        note=bool(NOTE_START.match(first)),
        may_start=bool(fk) and label == "project_name" or title or year_line or other_table or section,
        plain=not all_filler and not year_line and kind is None and funding_label is None,
    )
    if len(_FACTS) > 50_000:  # bounded: a long batch of unlike documents must not grow it forever
        _FACTS.clear()
    _FACTS[shape] = row.memo[RowFacts] = facts
    return facts


_FIGURES = frozenset({"num", "money", "pct"})


def row_shape(cells: list[str]) -> tuple[str, ...]:
    """The cells with each figure (number, money, rate) replaced by its type: no fact of a row reads a figure's
    value (labels, titles, headers and headings are text), so funding rows that differ only in their amounts
    share their facts.

    >>> row_shape(["", "年度资金总额", "626", "622.58万元", "99.45%", "10"]) == row_shape(
    ...     ["", "年度资金总额", "12", "3.5万元", "1%", "10"])
    True
    """
    return tuple(["\x00" + t if c and (t := cell_type(c)) in _FIGURES else c for c in cells])


@lru_cache(maxsize=1024)
def value_columns(kinds: tuple[tuple[str, int], ...]) -> tuple[tuple[str, ...], tuple[int, ...], int | None]:
    """The value columns (kinds, positions) of an indicator header and the position of its name column."""
    values = [(k, p) for k, p in kinds if k not in ("level1", "level2", "name")]
    name_pos = next((p for k, p in kinds if k == "name"), None)
    return tuple(k for k, _ in values), tuple(p for _, p in values), name_pos


def _funding_label(filled) -> tuple[int, str, str] | None:
    fr = rules.funding_rows()
    for idx, (_, c) in enumerate(filled[:3]):
        src = fr.get(key(c))
        if src:
            # "预算数" is a row label only where it heads a row of numbers
            return idx, src, c
    return None


_NOTE = re.compile(r"\((?:盖章|万元|元|分|[A-Za-z/×*%]+|\d+分|\d+分\*执行率)\)|[(（]$")


@lru_cache(maxsize=1 << 16)
def label_key(text: str) -> str:
    """A label as the vocabularies spell it: cleaned key, bracketed notes and a dangling '(' dropped.

    >>> label_key("执行数(万元)"), label_key("预算执行情况(20分)")
    ('执行数', '预算执行情况')
    """
    t = _NOTE.sub("", key(text))
    return t.rstrip(":：")


@cache
def templates() -> tuple[dict, ...]:
    return rules.table("templates.csv")


def template_of(present: frozenset[str], title: str | None) -> dict:
    """The template (rules/templates.csv) whose header markers are all among the form's header labels
    (`present`, label_key spellings) and whose title matches best: markers count most, the title half a marker.

    >>> template_of(frozenset({"年初预算数", "调整后预算数", "预算执行数"}), "部门预算项目支出绩效自评表")["template"]
    'sichuan_project'
    """
    best, best_score = templates()[-1], -1.0
    for t in templates():
        markers = [m for m in t["markers"].split("|") if m]
        if markers and not all(label_key(m) in present for m in markers):
            continue
        s = len(markers) + (0.5 if title and t["title"] and t["title"] in key(title) else 0)
        if s > best_score:
            best, best_score = t, s
    return best


@cache
def yuan_labels() -> tuple[str, ...]:
    """Spellings that say a form's amounts are in 元 (form_labels.csv, role amount_unit): '项目资金(元)', '单位:元'."""
    return tuple(key(r["synonym"]) for r in rules.table("form_labels.csv") if r["role"] == "amount_unit")


def in_yuan(cell: str) -> bool:
    """Whether a label cell says the amounts are in 元.

    >>> in_yuan("项目资金（元）"), in_yuan("单位：元"), in_yuan("项目资金（万元）")
    (True, True, False)
    """
    k = key(cell)
    return "元" in k and any(u in k for u in yuan_labels())


_MONEY_COLUMNS = ("budget_initial", "budget_full_year", "executed")
_FIELDS = ("project_name", "department", "unit")
_LABEL_VALUE = re.compile(r"^([^:：]{2,12})[:：]\s*(\S.*)$")  # '自评总分:95'


@cache
def field_labels() -> rules.HeaderMap:
    """Header-field labels beyond headers.csv (rules/form_labels.csv, the token reader's vocabulary too), looked
    up as 'role:canonical': a field (项目主管单位 → field:department), a label whose value the form does not keep
    (项目负责人 → stop:contact), and a 自评总分 printed among the fields (score_total:total)."""
    exact = {key(r["synonym"]): f"{r['role']}:{r['canonical']}" for r in rules.table("form_labels.csv")
             if r["role"] in ("field", "stop", "score_total")}
    return rules.HeaderMap(exact, (), {})


SOURCE = "source_"  # funding header kinds source_fiscal / source_other: an amount by source printed as a column
_NO_WEIGHT_CELL = object()  # a funding header without a 分值 cell leaves the weight read so far


def _header_cells(row: Row, group: str, block: str) -> tuple[list[tuple[int, str, str]], tuple[str, ...]]:
    """(position, cell, column kind) of the header cells that name a column of `group`, and the cells that
    name none; the block's own label (项目资金, 绩效指标) is neither."""
    hm, form = rules.headers(group, grid=True), rules.headers("form")
    known, unknown = [], []
    for p, c in row.filled:
        k = hm.lookup(c)
        if k is not None:
            known.append((p, c, k))
        elif form.lookup(key(c)) != block and goal_block(c) is None:
            unknown.append(c)
    return known, tuple(unknown)


@layout.by_cells  # header rows of a template recur in every form
def _funding_columns(row: Row) -> tuple[tuple[str, ...], tuple[int, ...], object, tuple[str, ...]]:
    """A 项目资金 header row: its column kinds and positions, the weight printed in its 分值 cell ("分值 (10分)";
    _NO_WEIGHT_CELL without such a cell) and the cells that name no column."""
    known, unknown = _header_cells(row, "funding", "funding_block")
    kinds, pos = [], []
    weight = _NO_WEIGHT_CELL
    for p, c, k in known:
        if k == "exec_score" and "exec_score" in kinds:
            continue
        if k == "exec_weight":
            m = HEADER_POINTS.search(c)
            weight = m.group(1) if m else None
        kinds.append(k)
        pos.append(p)
    # "执行" broken from "执行率" and "全年" from "全年执行数" resolve by order
    return tuple(kinds), tuple(pos), weight, unknown


@layout.by_cells
def _indicator_columns(row: Row) -> tuple[tuple[tuple[str, int], ...], tuple[str, ...]]:
    """A 绩效指标 header row: (column kind, position) pairs and the cells that name no column."""
    known, unknown = _header_cells(row, "indicator", "indicator_block")
    return tuple((k, p) for p, _, k in known), unknown


def merge_sub_header(kinds: tuple[tuple[str, int], ...], sub: tuple[tuple[str, int], ...]) \
        -> tuple[tuple[str, int], ...]:
    """An indicator header's columns with its second row's in place of the column that row splits.

    >>> merge_sub_header((("name", 3), ("target", 4), ("actual", 7), ("weight", 8)),
    ...                  (("nature", 4), ("target", 5), ("measure_unit", 6)))
    (('name', 3), ('nature', 4), ('target', 5), ('measure_unit', 6), ('actual', 7), ('weight', 8))
    """
    lo, hi = min(p for _, p in sub), max(p for _, p in sub)
    named = {k for k, _ in sub}
    kept = [(k, p) for k, p in kinds if not lo <= p <= hi and k not in named]
    return tuple(sorted([*kept, *sub], key=lambda kp: kp[1]))


def _goal_text(text: str) -> str:
    return GOAL_PREFIXES.sub("", _P_TAGS.sub("\n", text)).strip()


class FormReader:
    """Reads one form starting at rows[start]; stops at the form's end or the next table."""

    def __init__(self, rows: list[Row], start: int, anchor: int, stop: int):
        self.rows, self.start, self.anchor, self.stop = rows, start, anchor, stop
        self.form = Form(line_start=rows[start].line)
        self.state = "head"
        self.funding_kinds: tuple[str, ...] = DEFAULT_FUNDING
        self.funding_pos: tuple[int, ...] = tuple(range(2, 2 + len(DEFAULT_FUNDING)))
        self.goal_pos: dict[str, int] = {}
        self._set_indicator_columns(DEFAULT_INDICATOR)
        self.level1: str | None = None
        self.level1_weight: float | None = None
        self.level1_weight_line: int | None = None
        self.goal: tuple[int | None, float | None] = (None, None)  # the 年度绩效目标N(P分) block read (goal_block)
        self.sub_header_next = False  # the row after the indicator header may be its second row (_sub_header)
        self.level2: str | None = None
        self.pending_weight: tuple[float, int] | None = None
        self.header_exec_weight: str | None = None
        self.source_labels: dict[int, str] = {}  # position → 中央 / 本级 …: a header naming the sources as columns
        self.header_labels: set[str] = set()  # the funding and indicator header cells (label_key): the template
        self.separator: str | None = None  # between the cells of the indicator header ("\t", "|"), if any

    # -- driver -------------------------------------------------------------------------------
    def read(self) -> tuple[Form, int]:
        """Returns the form and the index of the first row after it."""
        f = self.form
        rows, stop = self.rows, self.stop
        i = self.start
        last_used = self.start
        f.consumed = consumed = []  # every row the loop hands on; its leftovers and placeholders say the rest
        while i < stop:
            row = rows[i]
            if not row.joined:  # no filled cell
                if row.raw.strip() and not row.cells:  # markdown rule
                    last_used = i
                i += 1
                continue
            facts = row_facts(row)
            if facts.may_start and i > self.anchor and (ends := self._starts_something_else(row, facts)):
                f.stop_reason = ends
                break
            if self.state == "indicators" and facts.plain:
                self._indicator_row(row)  # (what _dispatch does with it, without its tests)
            elif self.state == "after_total":
                if self._note_row(row, row.filled):
                    consumed.append(row.line)
                    last_used = i
                    i += 1
                    continue
                break
            else:
                self._dispatch(row, row.filled, facts)
            consumed.append(row.line)
            last_used = i
            i += 1
        else:
            if not f.complete:
                f.stop_reason = "end of file"
        end = self.rows[last_used]
        f.line_end = end.end
        if self.header_labels:
            f.template = template_of(frozenset(self.header_labels), f.title)["template"]
        if f.amount_unit == "元":  # amounts are held in 万元, as the token reader holds them
            for rec in f.funding:
                for c in _MONEY_COLUMNS:  # (a figure with its own unit, '387664.62元', is converted by to_number)
                    if cell_type(x := rec.get(c) or "") == "num" and (v := to_number(x)) is not None:
                        rec[c] = repr(round(v / 10000, 6))
        return f, last_used + 1

    def _starts_something_else(self, row: Row, facts: RowFacts | None = None) -> str | None:
        """Why the row ends the form ("next table", "heading"), or None when it belongs to it."""
        facts = facts or row_facts(row)
        if facts.start_label == "project_name" and (self.form.project_name or self.state != "head"):
            return "next table"
        if self.state != "head" and (facts.title or facts.year_line):
            return "next table"
        if facts.other_table:
            return "next table"
        return "heading" if self.state != "goal" and facts.section else None

    def _left(self, row: Row, reason: str, text: str | None = None):
        self.form.leftovers.append(Leftover(row.line, text if text is not None else row.raw.strip(), reason))

    def _dispatch(self, row: Row, filled: list[tuple[int, str]], facts: RowFacts | None = None):
        f = self.form
        facts = facts or row_facts(row)
        if facts.all_filler:  # "....." rows and markdown rules
            f.placeholders.append(row.line)
            return
        if self.state == "head" and facts.title:
            f.title = f.title or filled[0][1]
            f.year = f.year or facts.year
            return
        if facts.year_line:
            f.year = f.year or facts.year
            return
        if self.state == "head" and len(filled) == 1 and in_yuan(filled[0][1]):
            f.amount_unit = "元"  # '单位:元' above the form
            return
        kind = facts.kind
        if kind == "project_name":
            return self._name_row(row, filled)
        if kind == "dept":
            return self._fields_row(row, filled)
        if kind == "total":
            return self._total_row(row, filled)
        if kind == "indicator_header":
            return self._indicator_header(row, filled)
        if kind == "funding_header":
            return self._funding_header(row, filled)
        if kind == "goal_header":
            return self._goal_header(row, filled)
        if facts.funding_label is not None:
            if self.state == "indicators" and facts.funding_label[1] == "total":
                return self._total_row(row, filled)  # '合计 | 100' under the indicators: the form's total (四川)
            return self._funding_row(row, filled, facts.funding_label)
        if self.state == "funding" and not self.form.funding:
            return self._funding_fragment(row, filled)
        if self.state == "goal":
            return self._goal_content(row, filled)
        if self.state == "indicators":
            return self._indicator_row(row)
        if facts.note:
            f.notes.append(" ".join(c for _, c in filled))
            return
        self._left(row, f"unrecognised row in the {self.state} block of the form")

    # -- header fields ----------------------------------------------------------------------
    def _name_row(self, row, filled):
        if self.form.project_name is not None and len(filled) > 1:
            self._left(row, "second 项目名称 row")
        elif len(filled) == 2:  # 项目名称 | its name: most forms (the name is no label: not looked up)
            self.form.project_name = filled[1][1]
        else:
            self._fields_row(row, filled)

    def _fields_row(self, row, filled):
        """项目名称 | X | 主管部门 | Y | 项目负责人 | Z | 自评总分:95: each label (headers.csv, and the further header
        field labels of rules/form_labels.csv, which the token reader reads too) followed by its value; a value
        broken over cells is joined. A second value of 项目名称, a value before any label and the value of a
        label the form does not keep (项目负责人) are leftovers."""
        hm, more = rules.headers("form"), field_labels()
        f = self.form
        current, named = None, False
        for _, c in filled:
            lab = hm.lookup(c)
            role, _, canonical = ("field:" + lab if lab in _FIELDS else more.lookup(c) or "").partition(":")
            if not role and (m := _LABEL_VALUE.match(c)) and (more.lookup(m.group(1)) or "").startswith("score_total"):
                role, canonical, c = "score_total", "total", m.group(2)  # '自评总分:95', label and value in one cell
            elif role:
                current = canonical if role in ("field", "score_total") else ""
                continue
            if role == "score_total" or current == "total":
                if f.total_score is None:
                    f.total_score = to_number(c)
                current = None
            elif current is None:
                self._left(row, "cell before any label in the 主管部门 row", c)
            elif current == "":
                self._left(row, "value of a header field the form does not keep", c)
            elif current == "project_name":
                if named or f.project_name is not None:
                    self._left(row, "extra cell in the 项目名称 row", c)
                else:
                    f.project_name, named = c, True
            elif getattr(f, current) is None:
                setattr(f, current, c)
            else:
                setattr(f, current, getattr(f, current) + c)  # broken over cells

    # -- 项目资金 -------------------------------------------------------------------------------
    def _funding_header(self, row, filled):
        kinds, pos, weight, unknown = _funding_columns(row)
        self.header_labels.update(label_key(c) for _, c in filled)
        if any(in_yuan(c) for _, c in filled):  # '项目资金(元)': the amounts are in 元 (held in 万元)
            self.form.amount_unit = "元"
        for c in unknown:
            self._left(row, "unknown header cell in the 项目资金 block", c)
        if weight is not _NO_WEIGHT_CELL:
            self.header_exec_weight = weight
        elif (m := HEADER_POINTS.search(label := filled[0][1])) and \
                rules.headers("form").lookup(label) == "funding_block":
            self.header_exec_weight = m.group(1)  # the points in the block's label: '预算执行情况(万元)(20分)' (湖北)
        self.funding_kinds, self.funding_pos = kinds, pos
        cells = dict(filled)
        self.source_labels = {p: cells[p] for k, p in zip(kinds, pos, strict=True) if k.startswith(SOURCE)}
        self.state = "funding"

    def _funding_row(self, row, filled, found):
        idx, source, label = found  # (idx -1: a row with no label, under a header that names its sources)
        for _, c in filled[:idx] if idx > 0 else ():
            if rules.headers("form").lookup(key(c)) != "funding_block":
                self._left(row, "cell before the row label in the 项目资金 block", c)
        cells = filled[idx + 1 :]
        texts = [c for _, c in cells]
        kinds = self.funding_kinds
        # a row by source (其中:当年财政拨款 …) prints no 分值 or 得分 of its own: its figures are amounts, also where
        # the header sits a cell to the left of them ('1 | 1 | 1 | — | | —' under 年初预算数 … 得分)
        fit = kinds if source == "total" else tuple("source_points" if k in ("exec_weight", "exec_score") else k
                                                     for k in kinds)
        assign, extras = align(fit, self.funding_pos, tuple(map(cell_type, texts)), tuple([p for p, _ in cells]))
        rec = {"line": row.line, "fund_source": source, "label": label}
        by_source = []  # the amounts under the source columns (中央 | 省、地 | 本级 | 其他): rows of their own
        for c, a in zip(texts, assign, strict=True):
            if a < 0:
                continue
            if self.source_labels and kinds[a].startswith(SOURCE):
                by_source.append({"line": row.line, "fund_source": kinds[a][len(SOURCE):],
                                  "label": self.source_labels.get(self.funding_pos[a]), "budget_full_year": c})
            else:
                rec[kinds[a]] = c
        for e in extras:
            self._left(row, "extra cell in a 项目资金 row", texts[e])
        if source == "total" and "exec_weight" not in rec and self.header_exec_weight:
            rec["exec_weight"] = self.header_exec_weight  # printed in the header: "分值 (10分)"
        self.form.funding.append(rec)
        self.form.funding += by_source
        self.state = "funding"

    def _funding_fragment(self, row, filled):
        # header cells broken over two lines ("(万元) 数 值") carry no figures
        if all(cell_type(c) == "text" for _, c in filled) and all(len(c) <= 8 for _, c in filled):
            return
        if self.source_labels and sum(cell_type(c) in _FIGURES for _, c in filled) >= 2:
            # under a header that names the sources as columns the one row of figures is the total, unlabelled
            return self._funding_row(row, filled, (-1, "total", None))
        self._left(row, "unrecognised row in the 项目资金 block")

    # -- 年度总体目标 -----------------------------------------------------------------------------
    def _goal_header(self, row, filled):
        hm = rules.headers("goal")
        self.state = "goal"
        texts = []
        for p, c in filled[1:]:
            k = hm.lookup(c)
            if k:
                self.goal_pos[k] = p
            else:
                texts.append((p, c))
        if texts:
            self._goal_content(row, texts)

    def _goal_content(self, row, filled):
        f = self.form
        if len(filled) > 2:
            # a goal is one or two texts (预期目标, 实际完成情况): a row of more cells after it is another block this
            # template prints there (a 项目决策 rubric: 项目权重 | 评价内容 | 分值 | 自评分 …), left with its line
            # rather than run into the goal text
            self._left(row, "row of several cells after the goal block (not a goal text)")
            return
        if len(filled) >= 2 or (f.goal_planned is None and f.goal_achieved is None):
            parts = [c for _, c in filled]
            planned, achieved = parts[0], " ".join(parts[1:]) or None
            if f.goal_planned is None:
                f.goal_planned = _goal_text(planned)
                f.goal_achieved = _goal_text(achieved) if achieved else f.goal_achieved
            else:
                f.goal_planned += _goal_text(planned)
                if achieved:
                    f.goal_achieved = (f.goal_achieved or "") + _goal_text(achieved)
            return
        # one cell: a continuation of whichever goal column it sits under
        p, c = filled[0]
        ach = self.goal_pos.get("goal_achieved")
        if ach is not None and p >= ach and f.goal_achieved is not None:
            f.goal_achieved += _goal_text(c)
        elif f.goal_achieved is None and f.goal_planned is not None and ach is not None and p >= ach:
            f.goal_achieved = _goal_text(c)
        else:
            f.goal_planned = (f.goal_planned or "") + _goal_text(c)

    # -- 绩效指标 ---------------------------------------------------------------------------------
    def _indicator_header(self, row, filled):
        kinds, unknown = _indicator_columns(row)
        self.header_labels.update(label_key(c) for _, c in filled)
        self.goal = next((g for _, c in filled if (g := goal_block(c)) is not None), (None, None))
        for c in unknown:
            self._left(row, "unknown header cell in the 绩效指标 block", c)
        self._set_indicator_columns(kinds)
        self.form.layout = "|".join(self.val_kinds)
        self.separator = "\t" if "\t" in row.raw else "|" if row.raw.count("|") >= 2 else None
        self.state = "indicators"
        self.sub_header_next = True

    def _sub_header(self, row) -> bool:
        """The header's second row, right under it: 指标性质 | 指标值 | 度量单位 under a 年度指标值 printed across
        them (云南; a page's merged header cell). Its columns replace the one they split."""
        sub, unknown = _indicator_columns(row)
        if len(sub) < 2 or unknown or any(k in ("level1", "level2", "name") for k, _ in sub):
            return False
        self._set_indicator_columns(merge_sub_header(self.ind_kinds, sub))
        self.header_labels.update(label_key(c) for _, c in row.filled)
        self.form.layout = "|".join(self.val_kinds)
        return True

    def _score_pos(self) -> int | None:
        return self.val_pos[self.val_kinds.index("score")] if "score" in self.val_kinds else None

    def _set_indicator_columns(self, kinds: tuple[tuple[str, int], ...]):
        self.ind_kinds = kinds
        self.ind_columns = value_columns(kinds)
        self.val_kinds, self.val_pos, self.name_pos = self.ind_columns

    def _indicator_row(self, row):
        if self.sub_header_next:
            self.sub_header_next = False
            if self._sub_header(row):
                return
        columns = self.ind_columns
        memo_ = row.memo  # rows of equal text share it: their cells are read once per header
        hit = memo_.get(IndicatorCells)
        if hit is not None and (hit[0] is columns or hit[0] == columns):
            cells = hit[1]
        else:
            cells = parse_indicator_cells(tuple(row.cells), *columns)
            memo_[IndicatorCells] = (columns, cells)
        if cells.lone and cells.p0 == 0 and self.separator and self.separator not in row.raw:
            # a line without any cell separator in a table that has them: text run into the table (the
            # narrative under a form cut short), never the rest of a cell
            return self._left(row, "text without cells in the 绩效指标 block (narrative below a form cut short?)")
        line = row.line
        for step in cells.levels:  # the levels the row names, applied to the levels read so far
            if step[0] == 0:  # "(50分)" broken off its level
                self.pending_weight = (step[2], line)
            elif step[0] == 1:
                _, level, weight, _ = step
                if self.pending_weight and weight is None:
                    weight, wline = self.pending_weight
                else:
                    wline = line
                self.pending_weight = None
                if level.name != self.level1 or weight is not None:
                    self.level1, self.level1_weight = level.name, weight
                    self.level1_weight_line = wline if weight is not None else None
                self.level2 = None
            else:
                _, level, _, saw1 = step
                if level.parent and level.parent != self.level1 and not saw1:
                    self.level1, self.level1_weight, self.level1_weight_line = level.parent, None, None
                self.level2 = level.name
        if self.pending_weight and not cells.saw1 and self.level1 and self.level1_weight is None:
            self.level1_weight, self.level1_weight_line = self.pending_weight
            self.pending_weight = None
        if cells.empty:  # a row that only names a level, or a blank "指标2:" row
            if not cells.levels:
                self.form.placeholders.append(line)
            return
        if cells.lone and self.form.indicators:
            return self._continuation(row, cells.p0, cells.c0)
        for text in cells.extras:
            self._left(row, "extra cell in an indicator row", text)
        if cells.template:  # only template text (a scoring method) on a blank "指标1:" row
            self.form.placeholders.append(line)
            return
        self.form.indicators.append(Indicator(line, row.end, self.level1, self.level1_weight,
                                              self.level1_weight_line, self.level2, cells.no, cells.name,
                                              cells.fields, cells.positions, cells.content, goal=self.goal))

    def _continuation(self, row, pos, text):
        """A lone cell under an indicator row: the rest of a cell broken over two lines."""
        if not continue_indicator(self.form.indicators[-1], pos, text, row.end):
            self._left(row, "lone cell in the 绩效指标 block")

    # -- 总分 and notes ---------------------------------------------------------------------------
    def _total_row(self, row, filled):
        f = self.form
        weight, score, f.grade, left = total_cells(filled)
        if weight is None and score is not None and self.separator and "weight" in self.val_kinds and \
                filled[-1][0] == self.val_pos[self.val_kinds.index("weight")] != self._score_pos():
            weight, score = score, None  # its one figure under the 权重 column: the weights' total (四川 合计 | 100)
        if weight is not None:
            f.total_weight = weight
        if score is not None:
            f.total_score = score
        for text, reason in left:
            self._left(row, reason, text)
        f.total_line = row.line
        f.complete = True
        self.state = "after_total"

    def _note_row(self, row, filled) -> bool:
        first = filled[0][1]
        if NOTE_START.match(first) or (self.form.notes and re.match(r"^\d+[.、]", first)):
            self.form.notes.append(" ".join(c for _, c in filled))
            return True
        return False


_VALUE_FIELDS = frozenset({"target", "actual", "weight", "score"})
_NOTHING = frozenset({"无", "—", "-"})


def total_cells(filled: list[tuple[int, str]]) \
        -> tuple[float | None, float | None, str | None, list[tuple[str, str]]]:
    """A 总分 row's 分值 and 得分 (its first two figures; one figure alone is the 得分), the grade printed after
    them (a word of rules/grades.csv: 云南 prints '总分 | 100 | 96 | 优'), and its other cells as (text, reason)
    leftovers: figures past the second, text other than a dash or 无.

    >>> total_cells([(0, "总分"), (6, "100"), (7, "96.97")])
    (100.0, 96.97, None, [])
    >>> total_cells([(0, "总分"), (8, "100"), (9, "96"), (10, "优")])
    (100.0, 96.0, '优', [])
    """
    nums = [to_number(c) for _, c in filled[1:] if cell_type(c) in ("num", "pts")]
    left = [(str(n), "extra number in the 总分 row") for n in nums[2:]]
    texts = [c for _, c in filled[1:] if cell_type(c) not in ("num", "pts", "dash") and c not in _NOTHING]
    grade = texts.pop(0) if texts and texts[0] in grade_words() and nums else None
    left += [(c, "extra cell in the 总分 row") for c in texts]
    if len(nums) >= 2:
        return nums[0], nums[1], grade, left
    return None, (nums[0] if nums else None), grade, left


@cache
def grade_words() -> frozenset[str]:
    """The grades a form may print beside its total (rules/grades.csv: 优, 良, 中, 差)."""
    return frozenset(r["grade"] for r in rules.table("grades.csv"))


def continue_indicator(prev: Indicator, pos: int, text: str, end: int) -> bool:
    """A lone cell at `pos` under the indicator row `prev`: the rest of the text cell of that row nearest
    to it (a cell broken over two lines: '劳务派遣人员' / '数'), joined to it; False where the row has no
    text cell to continue."""
    candidates = {k: p for k, p in prev.positions.items() if k in ("name", "target", "actual", "note", "method")}
    if not candidates:
        return False
    field_name = min(candidates, key=lambda k: abs(candidates[k] - pos))
    if field_name == "name":
        prev.name = (prev.name or "") + text
    else:
        prev.fields = {**prev.fields, field_name: prev.fields.get(field_name, "") + text}
    prev.content = None
    prev.line_end = end
    return True


class IndicatorCells(NamedTuple):
    """What an indicator row's cells say under given columns, before the reader's level state applies."""

    levels: tuple  # steps: (0, None, weight, _) a bare "(50分)"; (1, level, weight, _); (2, level, _, saw_tier1)
    saw1: bool  # the row names a 一级指标
    empty: bool  # nothing after the levels (or a blank "指标2:"): not an indicator
    lone: bool  # one text cell and no level: the rest of the cell above, if there is one
    p0: int | None
    c0: str | None
    no: int | None
    name: str | None
    fields: dict[str, str]
    positions: dict[str, int]
    extras: tuple[str, ...]  # cells that fit no column (leftovers)
    template: bool  # neither a name nor a target, actual, weight or score
    content: tuple  # indicator_values() past the levels: what the row's cells alone decide


_INDICATOR_CELLS: dict[tuple, IndicatorCells] = memo()


def parse_indicator_cells(cells: tuple[str, ...], kinds: tuple[str, ...], kind_pos: tuple[int, ...],
                          name_pos: int | None) -> IndicatorCells:
    """Read an indicator row's cells against the value columns `kinds` at `kind_pos`. Pure, and memoised:
    rows such as "满意度指标 服务对象满意度 ≥95% 98% 10 10" recur in every form of a template."""
    memo_key = (cells, kinds, kind_pos, name_pos)
    try:
        return _INDICATOR_CELLS[memo_key]
    except KeyError:
        pass
    filled = [(i, c) for i, c in enumerate(cells) if c]
    steps, idx, saw1, saw2 = [], 0, False, False
    while idx < len(filled):
        level, weight = level_cell(filled[idx][1])
        if level is None and weight is not None:
            steps.append((0, None, weight, False))
        elif level and level.tier == 1 and not saw1 and not saw2:
            steps.append((1, level, weight, False))
            saw1 = True
        elif level and level.tier == 2 and not saw2:
            steps.append((2, level, None, saw1))
            saw2 = True
        elif level and level.tier == 1 and saw1 and not saw2 and name_pos is not None and filled[idx][0] < name_pos:
            # a 一级 word in the 二级 column, '效益指标 | 满意度指标 | 整编资料审核' (the templates before 2021
            # put 满意度 under 效益)
            steps.append((2, level, None, True))
            saw2 = True
        else:
            break
        idx += 1
    rest = filled[idx:]
    p0 = c0 = no = name = None
    empty = lone = False
    fields, positions, extras = {}, {}, ()
    if not rest:
        empty = True
    else:
        p0, c0 = rest[0]
        t0 = cell_type(c0)
        if t0 == "text":
            no, name = split_indicator_no(c0)
            rest = rest[1:]
            empty = not rest and not name
            lone = not rest and no is None and not saw1 and not saw2
        if not empty:
            values = [pc for pc in rest if not is_filler(pc[1])]
            shift = p0 - name_pos if t0 == "text" and name_pos is not None else 0
            types = tuple([cell_type(c) for _, c in values])
            if "nature" in kinds or "measure_unit" in kinds:  # a 指标性质 word, a unit: the columns that take them
                types = tuple([_word_type(c, t) for (_, c), t in zip(values, types, strict=True)])
            assign, extra_idx = align(kinds, kind_pos, types, tuple([p for p, _ in values]), shift)
            if t0 == "text":
                positions["name"] = p0
            for (p, c), a in zip(values, assign, strict=True):
                if a >= 0:
                    fields[kinds[a]] = c
                    positions[kinds[a]] = p
            extras = tuple(values[e][1] for e in extra_idx)
    out = IndicatorCells(tuple(steps), saw1, empty, lone, p0, c0, no, name or None, fields, positions, extras,
                         not name and not (fields.keys() & _VALUE_FIELDS), _content(no, name or None, fields))
    if len(_INDICATOR_CELLS) > 50_000:
        _INDICATOR_CELLS.clear()
    _INDICATOR_CELLS[memo_key] = out
    return out


@cache
def units() -> frozenset[str]:
    """The units printed after an indicator's figure (rules/units.csv)."""
    return frozenset(r["unit"] for r in rules.table("units.csv"))


def _word_type(cell: str, kind: str) -> str:
    """A text cell that is a 指标性质 word (natures.csv: '定性', '=') or a unit (units.csv: '人', '%') is typed as
    such, so the nature and unit columns take it before a target or actual column does: a Sichuan row whose
    完成值 is blank ('= | 35 | 人 | | 45') otherwise gave 人 to the actual.

    >>> _word_type("定性", "text"), _word_type("人", "text"), _word_type("35", "num"), _word_type("保障", "text")
    ('nature', 'unit', 'num', 'text')
    """
    if kind != "text":
        return kind
    return "nature" if cell in natures() else "unit" if cell in units() else kind


def read_form(rows: list[Row], start: int, anchor: int, stop: int) -> tuple[Form, int]:
    form, at = FormReader(rows, start, anchor, stop).read()
    mark_children(form.indicators)
    return form, at


# Column order of indicator_values(): the `indicators` contract without form_id/seq/source_file.
INDICATOR_FIELDS = (
    "line", "line_end", "level1", "level1_weight", "level1_weight_line", "level2", "indicator_no", "name",
    "target_raw", "actual_raw", "weight", "score", "deviation_note", "method", "nature", "measure_unit",
    "is_budget_execution", "target_op", "target_value", "target_unit", "actual_op", "actual_value",
    "actual_unit", "quantitative", "direction", "parent_seq", "is_core", "target_adjusted_raw", "score_coefficient",
    "score_reviewed", "goal_no", "goal_weight",
)
_NO_NOTE = (None, "—", "-")


def indicator_values(ind: Indicator, *lead) -> tuple:
    """An Indicator as a tuple in INDICATOR_FIELDS order, after the `lead` values (the ingest builds its
    columns from these)."""
    content = ind.content
    if content is None:
        content = _content(ind.indicator_no, ind.name, ind.fields)
    get = ind.fields.get
    return (*lead, ind.line, ind.line_end, ind.level1, ind.level1_weight, ind.level1_weight_line,
            ind.level2) + content + (ind.parent, is_core(ind), get("target_adjusted"), to_number(get("score_rate")),
                                     to_number(get("score_reviewed"))) + ind.goal


def is_core(ind: Indicator) -> bool:
    """A core indicator: its name marked ★ (衔接资金 forms), or 是 in a 是否核心指标 column (Chongqing).

    >>> is_core(Indicator(1, 1, None, None, None, None, None, "预算完成率", {"core": "是"}))
    True
    """
    return bool(ind.name and ind.name.startswith(CORE_MARK)) or (ind.fields.get("core") or "").strip() == "是"


CORE_MARK = "★"
SUB_ROW = "其中"


def mark_children(indicators: list[Indicator]) -> None:
    """An unscored '其中…' sub-row (其中桃树种植面积 under ★补助各类瓜果蔬菜种植面积) belongs to the scored
    indicator above it: it keeps its values, its parent's seq, and is never scored (no weight of its own)."""
    parent = None
    for seq, ind in enumerate(indicators, 1):
        name = ind.name
        if name and name.startswith(SUB_ROW) and parent is not None and ind.fields.get("weight") is None:
            ind.parent = parent
        else:
            parent = seq


@cache
def natures() -> dict[str, str]:
    """指标性质 cell → its kind (rules/natures.csv): operator | quantitative | qualitative | direction."""
    return {r["nature"]: r["kind"] for r in rules.table("natures.csv")}


@cache
def _operator_natures() -> tuple[str, ...]:
    return tuple(w for w, kind in natures().items() if kind == "operator")


def spelled_target(fields: dict[str, str]) -> str | None:
    """The target as one text. A form that prints 指标性质 | 指标值 | 度量单位 apart (Yunnan, Sichuan) means
    the target they spell together, as other forms print it in one cell; so it reads the same whichever
    reader took its row. The operator and unit cells stay as printed in `nature` and `measure_unit`.

    >>> spelled_target({"nature": "≥", "target": "735", "measure_unit": "人次"})
    '≥735人次'
    >>> spelled_target({"nature": "正向", "target": "≥95", "measure_unit": "%"})
    '≥95%'
    """
    target, nature, unit = fields.get("target"), fields.get("nature"), fields.get("measure_unit")
    if not target:
        return target
    if natures().get(nature) == "operator" and not target.startswith(_operator_natures()):
        target = nature + target
    if unit and target[-1].isdigit():
        target += unit
    return target


def _content(no: int | None, name: str | None, fields: dict[str, str]) -> tuple:
    """The INDICATOR_FIELDS from indicator_no on: what the indicator's own cells say, parsed."""
    get = fields.get
    target, actual, note = spelled_target(fields), get("actual"), get("note")
    tv, av = parse_value(target), parse_value(actual)
    return (
        no, name, target, actual, to_number(get("weight")), to_number(get("score")),
        note if note not in _NO_NOTE else None, get("method"), get("nature"), get("measure_unit"),
        bool(name and BUDGET_EXECUTION.search(name)),
        tv.op, tv.value, tv.unit, av.op, av.value, av.unit, tv.quantitative, direction(tv.op),
    )


def indicator_record(ind: Indicator) -> dict:
    """Flatten an Indicator into the `indicators` contract (without form_id/seq/source_file)."""
    return dict(zip(INDICATOR_FIELDS, indicator_values(ind), strict=True))
