"""Read 部门（单位）整体绩效自评表 into `department_forms` and `department_indicators`.

The form is read block by block: 部门（单位）名称, 年度履职目标, 年度主要任务 (name and content per task),
the budget block (部门预算总额, 财政性资金, 其他资金, 基本支出, 项目支出) and the indicator table with
its 投入/过程/产出/效益 levels. Row labels come from rules/department_labels.csv, the indicator columns
from the header row (rules/headers.csv). Indicator rows are read by position where the row kept its
empty cells and by count and content where it did not (rows that slid left, other spacing). A cell
broken over two lines joins the row above; a row naming only a level (a blank 生态效益 row) is not an
indicator and becomes a leftover. The form ends at its notes or at the first line that is none of these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache, lru_cache

from perfdata import rules
from perfdata.grid import Row
from perfdata.keys import table_id
from perfdata.normalize import cell_type, is_filler, key, to_number
from perfdata.tables import layout
from perfdata.tables.align import align
from perfdata.tables.forms import Indicator, continue_indicator, indicator_record, level_cell, total_cells

TITLE = re.compile(r"整体(?:支出)?绩效自评表")
SECTION_NO = re.compile(r"^(?:[一二三四五六七八九十]+、|\d+[、.])\s*")
LABEL_NUMBERING = re.compile(r"^\d+[、.]\s*(?:资金来源|资金结构|支出结构)?[:：]?|^\(\d+\)|^[①-⑩]")
GOAL_SPLIT = re.compile(r"(?=目标\s*\d+\s*[:：])")
TASK_START = re.compile(r"^任务\s*\d+\s*[:：]\s*")
TASK_HEADER = re.compile(r"^(?:任务名称|主要内容)")
NOTE_START = re.compile(r"^(?:注|说明|备注)\s*[:：]")
NOTE_MORE = re.compile(r"^\d+[.、]")
FRAGMENT_MAX = 60  # a cell broken off its row is short; a longer lone line is prose after the form
BUDGET = ("budget_total", "budget_fiscal", "budget_other", "budget_basic", "budget_project")
LEVEL_NAMES = ("level1", "level2", "name")


@cache
def labels() -> tuple[dict[str, str], tuple[tuple[str, str], ...]]:
    """Exact label → field, and budget labels (longest first) that may sit inside a longer label."""
    exact, inside = {}, []
    for r in rules._rows("department_labels.csv"):
        k = key(r["synonym"])
        exact[k] = r["field"]
        if r["field"] in BUDGET:
            inside.append((k, r["field"]))
    return exact, tuple(sorted(inside, key=lambda x: -len(x[0])))


@lru_cache(maxsize=16384)
def label_of(text: str) -> str | None:
    """The field a row label names, numbering and units ignored.

    >>> label_of("2、资金结构：（1）基本支出"), label_of("部门预算总额（万元）"), label_of("任务 5: 负责全县就业")
    ('budget_basic', 'budget_total', None)
    """
    exact, inside = labels()
    k = LABEL_NUMBERING.sub("", key(text))
    k = LABEL_NUMBERING.sub("", k)  # "1、资金来源：(1)财政性资金": both numberings
    hit = exact.get(k) or exact.get(key(text))
    if hit:
        return hit
    return next((f for syn, f in inside if syn in k and len(k) <= len(syn) + 12), None)


@dataclass
class DeptForm:
    line_start: int
    line_end: int = 0
    title: str | None = None
    year: int | None = None
    department: str | None = None
    goals: list[str] = field(default_factory=list)
    tasks: list[list[str]] = field(default_factory=list)  # [name, content]
    budget: dict[str, float | None] = field(default_factory=dict)
    budget_lines: dict[str, int] = field(default_factory=dict)
    indicators: list[Indicator] = field(default_factory=list)
    level_weights: dict[str, float] = field(default_factory=dict)
    total_weight: float | None = None
    total_score: float | None = None
    notes: list[str] = field(default_factory=list)
    leftovers: list[tuple[int, str, str]] = field(default_factory=list)
    consumed: list[int] = field(default_factory=list)  # lines of the rows read (their leftovers say the rest)
    placeholders: list[int] = field(default_factory=list)  # lines of "……" rows inside the form


class DepartmentReader:
    """Reads one department-wide form from rows[start] up to (not including) rows[stop]."""

    def __init__(self, rows: list[Row], start: int, stop: int):
        self.rows, self.start, self.stop = rows, start, stop
        self.form = DeptForm(rows[start].line)
        self.state = "head"
        self.cols: dict[str, int] = {}
        self.val_kinds: tuple[str, ...] = ()
        self.val_pos: tuple[int, ...] = ()
        self.level1: str | None = None
        self.level1_weight: float | None = None
        self.level1_line: int | None = None
        self.level2: str | None = None

    def read(self) -> DeptForm:
        f = self.form
        last = self.start
        for i in range(self.start, self.stop):
            row = self.rows[i]
            filled = row.filled
            if not filled:
                continue
            if all(is_filler(c) for _, c in filled):
                f.placeholders.append(row.line)
                continue
            if i > self.start and self._ends(row, filled):
                break
            self._dispatch(row, filled)
            f.consumed.append(row.line)
            last = i
        f.line_end = self.rows[last].end
        return f

    def _ends(self, row: Row, filled) -> bool:
        first = filled[0][1]
        if self.state == "notes":
            return not (NOTE_START.match(first) or NOTE_MORE.match(first))
        if layout.other_table_kind(row) in ("summary", "target_table"):
            return True
        if layout._form_label(row) == "project_name" and self.state != "head":
            return True
        if len(filled) != 1 or self.state in ("head", "goals", "tasks") or NOTE_START.match(first):
            return False
        return bool(layout.SECTION_HEADING.match(first) or len(first) > FRAGMENT_MAX
                    or any(p.search(first) for _, p in layout.OTHER_TITLES)
                    or (len(row.cells) == 1 and first.endswith("。")))  # a sentence, not a broken cell

    def _left(self, row: Row, reason: str, text: str | None = None):
        self.form.leftovers.append((row.line, text if text is not None else row.raw.strip(), reason))

    def _dispatch(self, row: Row, filled):
        f = self.form
        first = filled[0][1]
        if len(filled) == 1 and TITLE.search(first) and self.state == "head":
            f.title = SECTION_NO.sub("", first)
            f.year = f.year or layout.year_of(row)
            return
        if len(filled) == 1 and self.state == "head" and layout.year_of(row):
            f.year = layout.year_of(row)
            return
        if NOTE_START.match(first):
            f.notes.append(" ".join(c for _, c in filled))
            self.state = "notes"
            return
        if self.state == "notes":
            f.notes[-1] += " " + " ".join(c for _, c in filled)
            return
        if layout.is_indicator_header(row):
            return self._indicator_header(row, filled)
        lab = label_of(first)
        if lab == "total":
            return self._total(row, filled)
        if self.state == "indicators":
            return self._indicator(row, filled)
        if lab == "department":
            return self._department(row, filled)
        if lab == "goals":
            self.state = "goals"
            return self._goals([c for _, c in filled[1:]])
        if lab == "tasks":
            self.state = "tasks"
            return self._tasks(row, filled[1:])
        budget = next(((k, label_of(c)) for k, (_, c) in enumerate(filled[:3]) if label_of(c) in BUDGET), None)
        if lab == "budget_block" or budget:
            self.state = "budget"
            return self._budget(row, filled, budget)
        if self.state == "goals":
            return self._goals([c for _, c in filled])
        if self.state == "tasks":
            return self._tasks(row, filled)
        self._left(row, f"unrecognised row in the {self.state} block of the department form")

    # -- head blocks ------------------------------------------------------------------------------
    def _department(self, row, filled):
        values = [c for _, c in filled[1:]]
        if values and self.form.department is None:
            self.form.department = values[0]
            for extra in values[1:]:
                self._left(row, "extra cell in the 部门（单位）名称 row", extra)
        elif values:
            self._left(row, "second 部门（单位）名称 row")

    def _goals(self, cells: list[str]):
        text = "".join(cells)
        parts = [p.strip() for p in GOAL_SPLIT.split(text) if p.strip()]
        if not parts:
            return
        if self.form.goals and not GOAL_SPLIT.match(parts[0]):
            self.form.goals[-1] += parts.pop(0)  # a goal broken over lines
        self.form.goals += parts

    def _tasks(self, row, filled):
        cells = [(p, c) for p, c in filled if not TASK_HEADER.match(key(c))]
        if not cells:
            return  # the header "任务名称 | 主要内容"
        tasks = self.form.tasks
        if len(cells) >= 2 or TASK_START.match(cells[0][1]) or not tasks:
            name = TASK_START.sub("", cells[0][1])
            tasks.append([name, "".join(c for _, c in cells[1:])])
        else:
            tasks[-1][1] += cells[0][1]  # content broken over lines (or a page)

    def _budget(self, row, filled, found):
        f = self.form
        if found is None:
            for _, c in filled[1:]:
                self._left(row, "cell without a label in the budget block", c)
            return
        k, name = found
        for _, c in filled[:k]:
            if label_of(c) != "budget_block":
                self._left(row, "cell before the label in the budget block", c)
        numbers = [(c, to_number(c)) for _, c in filled[k + 1 :]]
        values = [(c, v) for c, v in numbers if v is not None]
        factor = 1e-4 if re.search(r"\(元\)", filled[k][1]) else 1.0
        if name in f.budget_lines:
            self._left(row, f"second {name} row in the budget block")
            return
        f.budget[name] = round(values[0][1] * factor, 6) if values else None
        f.budget_lines[name] = row.line
        for c, v in numbers:
            if v is None and cell_type(c) != "dash":
                self._left(row, "text in the budget block", c)
        for c, _ in values[1:]:
            self._left(row, "extra figure in the budget block", c)

    # -- indicators -------------------------------------------------------------------------------
    def _indicator_header(self, row, filled):
        hm = rules.headers("indicator", grid=True)
        self.cols = {}
        for p, c in filled:
            k = hm.lookup(c)
            if k is None or k in self.cols:
                self._left(row, "unknown header cell in the indicator table", c)
                continue
            self.cols[k] = p
        values = sorted((p, k) for k, p in self.cols.items() if k not in LEVEL_NAMES)
        self.val_kinds = tuple(k for _, k in values)
        self.val_pos = tuple(p for p, _ in values)
        self.state = "indicators"

    def _set_level1(self, text: str, row: Row) -> bool:
        level, weight = level_cell(text)
        if level is None or level.tier != 1:
            return False
        if level.name != self.level1 or weight is not None:
            self.level1, self.level1_weight = level.name, weight
            self.level1_line = row.line if weight is not None else None
            if weight is not None:
                self.form.level_weights[level.name] = weight
        self.level2 = None
        return True

    def _leading(self, row: Row, filled):
        """Split a row into level1, level2, name cells and the value cells after them."""
        cols = self.cols
        name_p = cols.get("name")
        delimited = len(row.cells) > len(filled) or len(filled) == len(cols)
        at = dict(filled)
        values = [(p, c) for p, c in filled if name_p is not None and p > name_p]
        if delimited and name_p is not None and (cell_type(at[name_p]) == "text" if name_p in at else values):
            # the cells keep their columns: a blank 三级指标 with figures beside it is an unnamed indicator
            lead = [(p, c) for p, c in filled if p < name_p]
            l1 = [c for p, c in lead if p <= cols.get("level1", -1)]
            l2 = [c for p, c in lead if p > cols.get("level1", -1)]
            return l1, l2, (name_p, at.get(name_p, "")), values, 0
        # the row lost its empty cells (or slid left): levels and name lead, the values follow
        cells = list(filled)
        l1, l2 = [], []
        level, weight = level_cell(cells[0][1])
        if level and level.tier == 1 and (weight is not None or key(cells[0][1]).endswith("指标")
                                          or (delimited and cells[0][0] == cols.get("level1"))):
            l1 = [cells.pop(0)[1]]
        if len(cells) >= 2 and label_of(cells[0][1]) == "level2":
            l2 = [cells.pop(0)[1]]
        if not cells:
            return l1, l2, None, [], 0
        n_core = len([k for k in self.val_kinds if k in ("target", "actual", "weight", "score")])
        tail = len(cells)
        if "note" in self.val_kinds:
            # text after the last figure is a 偏差原因 note, not part of the name
            figures = [k for k, (_, c) in enumerate(cells) if cell_type(c) in ("num", "pts")]
            if figures and figures[-1] < tail - 1:
                tail = figures[-1] + 1
        n_lead = max(1, tail - n_core)
        lead, values = cells[:n_lead], cells[n_lead:]
        before = [c for _, c in lead[:-1]]
        if before and not l1 and not l2 and len(before) >= 2:
            l1, before = before[:1], before[1:]
        l2 += before
        name = lead[-1]
        shift = name[0] - name_p if name_p is not None else 0
        return l1, l2, name, values, shift

    def _indicator(self, row: Row, filled):
        f = self.form
        l1, l2, name, values, shift = self._leading(row, filled)
        for c in l1:
            if not self._set_level1(c, row):
                self._left(row, "unknown level in the 一级指标 column", c)
        if l2:
            self.level2 = "".join(l2)
        if name is None:
            return  # a row that only names a level
        name_p, name_text = name
        if not values and not l1 and not l2:
            level, _ = level_cell(name_text)
            if level is not None:
                return self._left(row, f"indicator row without content ({name_text})", name_text)
            if f.indicators and len(name_text) <= FRAGMENT_MAX:
                return self._continuation(row, name_p, name_text)
        values = [(p, c) for p, c in values if not is_filler(c)]
        assign, extras = align(self.val_kinds, self.val_pos, tuple(cell_type(c) for _, c in values),
                               tuple(p for p, _ in values), shift)
        ind = Indicator(row.line, row.end, self.level1, self.level1_weight, self.level1_line, self.level2,
                        None, name_text or None)
        ind.positions["name"] = name_p
        for (p, c), a in zip(values, assign, strict=True):
            if a >= 0:
                ind.fields[self.val_kinds[a]] = c
                ind.positions[self.val_kinds[a]] = p
        for e in extras:
            self._left(row, "extra cell in an indicator row", values[e][1])
        if not ind.fields:
            level, _ = level_cell(name_text)
            if level is not None or not f.indicators:
                return self._left(row, f"indicator row without content ({name_text})", name_text)
        f.indicators.append(ind)

    def _continuation(self, row: Row, pos: int, text: str):
        """A lone cell under an indicator row: the rest of a cell broken over two lines (or pages)."""
        if not continue_indicator(self.form.indicators[-1], pos, text, row.end):
            self._left(row, "lone cell in the indicator table", text)

    def _total(self, row, filled):
        weight, score, grade, left = total_cells(filled)
        if grade is not None:  # (the department tables keep no printed grade)
            left.append((grade, "grade beside the total (the department tables keep none)"))
        if weight is not None:
            self.form.total_weight = weight
        if score is not None:
            self.form.total_score = score
        for text, reason in left:
            self._left(row, reason, text)
        self.state = "after_total"


def read_form(rows: list[Row], start: int, stop: int) -> DeptForm:
    return DepartmentReader(rows, start, stop).read()


def form_record(f: DeptForm, form_id: str) -> dict:
    total_weight = f.total_weight
    if total_weight is None and f.level_weights:
        total_weight = sum(f.level_weights.values())
    return {
        "dept_form_id": form_id, "line_start": f.line_start, "line_end": f.line_end, "title": f.title,
        "department": f.department, "year": f.year, **{k: f.budget.get(k) for k in BUDGET},
        "goals": "\n".join(f.goals) or None,
        "tasks": "\n".join(f"{n}: {c}" if c else n for n, c in f.tasks) or None,
        "goal_count": len(f.goals), "task_count": len(f.tasks),
        "total_weight": total_weight, "total_score": f.total_score, "notes": "\n".join(f.notes) or None,
        "budget_line": f.budget_lines.get("budget_total"),
    }


def indicator_records(f: DeptForm, form_id: str) -> list[dict]:
    """The project-form indicator record (forms.indicator_record); only 偏差原因 is read more strictly here:
    any dash-like cell is no note."""
    out = []
    for seq, ind in enumerate(f.indicators, 1):
        note = ind.fields.get("note")
        rec = indicator_record(ind)
        rec.update(dept_form_id=form_id, seq=seq, deviation_note=note if note and cell_type(note) != "dash" else None)
        out.append(rec)
    return out


def read_department_form(rows: list[Row], start: layout.TableStart, stop: int, res, sha: str):
    """TABLE_READERS["department_form"]: add the form, its indicators, leftovers and problems to `res`
    (ingest guards the call: a bug here costs this table, not the file)."""
    f = read_form(rows, start.index, stop)
    form_id = table_id(sha, f.line_start)
    res.add("department_forms", form_record(f, form_id))
    for rec in indicator_records(f, form_id):
        res.add("department_indicators", rec)
    for line, text, reason in f.leftovers:
        res.add("leftovers", {"line": line, "text": text, "reason": reason, "form_id": form_id})
    res.fate(form_id, f.consumed, f.placeholders)
    name = f.department or f.title or "整体绩效自评表"
    if not f.indicators:
        res.problem("warning", f"department form “{name}” has no indicator rows", f.line_start)
    if "budget_total" not in f.budget_lines:
        res.problem("warning", f"department form “{name}” has no 部门预算总额 row", f.line_start)
    unread = [lo for lo in f.leftovers if not lo[2].startswith("indicator row without content")]
    if unread:
        res.problem("warning", f"department form “{name}”: {len(unread)} line(s) or cell(s) not read "
                    "(see leftovers)", unread[0][0])
