"""Figures stated in narrative text → `statements`, one row per figure, naming what it is about.

Reports beside the forms restate figures in sentences ("1、事业单位招聘:年初预算为 10 万元,支出决算为 1.33
万元。完成年初预算的 13.3%。", "总分:99.6 分,产出指标完成 97.86%", "等次为“优”"), and budget disclosures state
their totals (收入/支出, 基本支出, 项目支出, 三公经费, 机关运行经费). Auditors hold these against the forms, so
each figure becomes a row with its subject: the project an enumerated line or clause names, else the unit of
the report, else the document's department. Wordings are data (rules/statements.csv for figures,
rules/statement_subjects.csv for subjects). Only text outside recognised tables is read.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache

from perfdata import rules
from perfdata.grid import Row
from perfdata.keys import project_key
from perfdata.normalize import clean, is_filler
from perfdata.tables import layout

NUM = r"(?P<value>\d+(?:\.\d+)?)"
NEGATIVE = {"减少", "下降", "降低"}
SENTENCE_END = tuple("。!?;:")
ORG = re.compile(r"(?:局|中心|大队|所|站|院|办公室|委员会|委|厅)$")
# tables whose rows mark how far a recognised table really goes (readers emit line_start/line_end or line)
TABLE_ROWS = ("targets", "target_indicators", "summary_rows", "department_forms", "department_indicators",
              "leftovers")


@dataclass(frozen=True)
class Pattern:
    metric: str
    unit: str | None
    regex: re.Pattern


@cache
def patterns() -> tuple[Pattern, ...]:
    return tuple(Pattern(r["metric"], r["unit"] or None, re.compile(r["pattern"].replace("{num}", NUM)))
                 for r in rules._rows("statements.csv"))


@cache
def subject_rules() -> dict[str, re.Pattern]:
    return {r["kind"]: re.compile(r["pattern"]) for r in rules._rows("statement_subjects.csv")}


@dataclass
class Paragraph:
    text: str
    lines: list[tuple[int, int]]  # (offset in text, source line)
    section: int | None  # line of the report title above, if any

    def line_at(self, offset: int) -> int:
        line = self.lines[0][1]
        for start, ln in self.lines:
            if start > offset:
                break
            line = ln
        return line


def read_statements(rows: list[Row], starts: list[layout.TableStart], res, sha: str):
    """Document reader for ingest.DOCUMENT_READERS: adds one `statements` row per figure found."""
    paragraphs = list(_paragraphs(rows, starts, res))
    if not paragraphs:
        return
    known = _known_names(rows, res)
    department = _document_department(rows)
    heading: str | None = None
    section_unit: str | None = None
    section = None
    for para in paragraphs:
        if para.section != section:
            section, heading = para.section, None
            section_unit = _section_unit(rows, starts, para.section)
        found = figures(para.text)
        item = _item_name(para.text)
        if not found:
            if item is not None and _is_heading(para.text, item) and _is_subject(item, known):
                heading = item
            elif layout.SECTION_HEADING.match(para.text):
                heading = None
            continue
        line_subject = item if item is not None and _is_subject(item, known) else None
        unit = _unit_name(para.text)
        for metric, unit_of_value, value, value_text, start, end in found:
            clause_start = max(para.text.rfind(c, 0, start) for c in "。;") + 1
            clause_end = min((i for i in (para.text.find(c, end) for c in "。;") if i >= 0), default=len(para.text))
            clause = para.text[clause_start:clause_end]
            subject, kind = _subject(clause, line_subject, heading, unit, section_unit, department, known)
            res.add("statements", {
                "line": para.line_at(start), "subject": subject, "subject_kind": kind,
                "project_key": project_key(subject) if kind == "project" else None,
                "metric": metric, "value": value, "value_text": value_text, "value_unit": unit_of_value,
                "text": clause[:160], "section_line": para.section,
            })


def figures(text: str) -> list[tuple]:
    """(metric, unit, value, value as printed, start, end) of every figure the patterns find, in text order.

    >>> [f[:4] for f in figures(clean("1、事业单位招聘：年初预算为 10 万元。完成年初预算的 13.3%。"))]
    [('budget_initial', '万元', 10.0, '10万元'), ('exec_rate', '%', 13.3, '13.3%')]
    """
    starts: list[int] = []  # the spans taken so far: disjoint, kept sorted, so one overlap test is a bisection
    ends: list[int] = []
    out = []
    for p in patterns():
        for m in p.regex.finditer(text):
            s, e = m.span("value")
            i = bisect.bisect_right(starts, s)
            if (i and ends[i - 1] > s) or (i < len(starts) and starts[i] < e):
                continue
            starts.insert(i, s)
            ends.insert(i, e)
            raw = m.group("value")
            if p.unit is None:
                value = None
            else:
                value = float(raw)
                sign = m.groupdict().get("sign")
                if sign in NEGATIVE:
                    value = -value
            printed = m.group(0)[m.start("value") - m.start():]
            out.append((p.metric, p.unit, value, printed, s, e))
    return sorted(out, key=lambda f: f[4])


# -- subjects -------------------------------------------------------------------------------------------

def _subject(clause: str, line_subject, heading, unit, section_unit, department, known) -> tuple[str | None, str]:
    m = subject_rules()["clause"].match(clause)
    if m and _is_subject(m.group("name"), known):
        return m.group("name"), "project"
    if line_subject:
        return line_subject, "unit" if ORG.search(line_subject) else "project"
    if unit:
        return unit, _org_kind(unit, department)
    if heading:
        return heading, "project"
    if section_unit:
        return section_unit, _org_kind(section_unit, department)
    if department:
        return department, "department"
    return None, "document"


def _org_kind(name: str, department: str | None) -> str:
    return "department" if department and name == department else "unit"


def _item_name(text: str) -> str | None:
    m = subject_rules()["item"].match(text)
    return m.group("name").strip() if m else None


def _is_heading(text: str, name: str) -> bool:
    """A line that is only an enumerator and a name ("(一)、执法服装:", "2、办公经费")."""
    return text.rstrip(":.。 ").endswith(name) and len(text) <= len(name) + 8


def _unit_name(text: str) -> str | None:
    m = subject_rules()["unit"].match(text)
    return m.group("name") if m else None


def _is_subject(name: str, known: dict[str, str]) -> bool:
    """A project or unit name, not a heading ("产出指标完成情况分析") or a term."""
    k = project_key(name)
    if k and (k in known or any(k in other for other in known if len(k) >= 4)):
        return True
    return not subject_rules()["not_subject"].search(name)


def _known_names(rows: list[Row], res) -> dict[str, str]:
    """Project names the document prints elsewhere (项目名称 rows, target and summary tables), by key."""
    names = []
    for r in rows:
        if "项目名称" in r.joined and layout._form_label(r) == "project_name":
            filled = [c for c in r.cells if c]
            if len(filled) > 1:
                names.append(filled[1])
    for table in ("targets", "summary_rows"):
        names += [t.get("project_name") for t in res.tables.get(table, [])]
    return {k: n for n in names if n and (k := project_key(n))}


def _document_department(rows: list[Row]) -> str | None:
    """The 主管部门 most forms print, else an organisation's name heading the document."""
    depts = Counter()
    for r in rows:
        if "主管" in r.joined and layout._form_label(r) == "department":
            filled = [c for c in r.cells if c]
            if len(filled) > 1 and rules.headers("form").lookup(filled[1]) is None:
                depts[filled[1]] += 1
    if depts:
        return depts.most_common(1)[0][0]
    seen = 0
    for r in rows:
        filled = [c for c in r.cells if c]
        if filled:
            seen += 1
            if len(filled) == 1 and len(filled[0]) <= 30 and ORG.search(filled[0]):
                return filled[0]
            if seen >= 8:
                break
    return None


def _section_unit(rows: list[Row], starts: list[layout.TableStart], section: int | None) -> str | None:
    """The unit a report is about: named in its title, else in the 部门(单位)名称 row of the table above it."""
    if section is None:
        return None
    st = next((s for s in starts if rows[s.index].line == section), None)
    if st is None:
        return None
    m = subject_rules()["report"].match(clean(st.title).replace(" ", ""))
    if m and ORG.search(m.group("name")) and not subject_rules()["not_subject"].search(m.group("name")):
        return m.group("name")
    # the 15 rows above, or the table above and the 15 rows before it (in a copy without rows, a row per cell)
    prev = max((s.index for s in starts if s.index < st.index), default=st.index)
    above = rows[max(0, min(st.index, prev) - 15):st.index]
    for k in range(len(above) - 1, -1, -1):
        r = above[k]
        filled = [c for c in r.cells if c]
        if not (filled and layout.other_table_kind(r) in ("unit_header", "department_form", "summary")
                and filled[0].replace(" ", "").startswith(("部门(单位)名称", "部门名称", "单位名称"))):
            continue
        if len(filled) > 1:
            return filled[1]
        after = next((c.strip("| ") for n in above[k + 1:] for c in n.cells if c), None)  # the label a cell alone
        if after is not None and ORG.search(after):
            return after
    return None


# -- narrative text --------------------------------------------------------------------------------------

def _narrative(rows: list[Row], starts: list[layout.TableStart], res) -> list[int | None | bool]:
    """For each row: the line of its report title (narrative under a report), None (narrative outside any
    report: before the first table, or after the rows a table reader consumed), or False (inside a table)."""
    marks: list[int | None | bool] = [False] * len(rows)
    first = starts[0].index if starts else len(rows)
    for i in range(first):
        marks[i] = None
    spans = []
    for row in (r for t in TABLE_ROWS for r in res.tables.get(t, [])):
        ls = row.get("line_start", row.get("line"))
        if ls is not None:
            spans.append((ls, row.get("line_end") or ls))
    for k, st in enumerate(starts):
        stop = starts[k + 1].index if k + 1 < len(starts) else len(rows)
        if st.kind == "report":
            for i in range(st.index, stop):
                marks[i] = rows[st.index].line
            continue
        if st.kind == "project_form":
            continue
        lo = rows[st.index].line
        hi = rows[stop].line if stop < len(rows) else float("inf")
        ends = [e for s, e in spans if lo <= s < hi]
        if ends:
            end = max(ends)
            for i in range(st.index, stop):
                if rows[i].line > end:
                    marks[i] = None
    return marks


def _heading_like(text: str) -> bool:
    """A short enumerated line without punctuation ("1、资金到位及执行情况"): a heading, never run on."""
    return (len(text) <= 20 and not re.search(r"[,。;:]", text)
            and bool(subject_rules()["item"].match(text) or layout.SECTION_HEADING.match(text)))


def _paragraphs(rows: list[Row], starts, res):
    """Narrative lines joined into paragraphs where a sentence runs over a line ("其中项" / "目资金执行得分…")."""
    marks = _narrative(rows, starts, res)
    item = subject_rules()["item"]
    start_rows = {s.index for s in starts}
    cur: Paragraph | None = None
    last = -2
    for i in [i for i, m in enumerate(marks) if m is not False]:  # rows inside tables end a paragraph
        if i != last + 1 and cur:
            yield cur
            cur = None
        last = i
        row, mark = rows[i], marks[i]
        filled = [c for c in row.cells if c]
        if not filled:
            continue
        if len(filled) != 1 or is_filler(filled[0]) or i in start_rows:
            if cur:
                yield cur
                cur = None
            continue
        text = clean(filled[0]).strip("| ").lstrip("-*# ").strip()  # ('text |': a cell of a copy, a line each)
        text = re.sub(r"(?<=\d),(?=\d{3})", "", text)
        if not text:
            continue
        if cur and (cur.section != mark or cur.text.endswith(SENTENCE_END) or item.match(text)
                    or layout.SECTION_HEADING.match(text) or _heading_like(cur.text)):
            yield cur
            cur = None
        if cur is None:
            cur = Paragraph(text, [(0, row.line)], mark)
        else:
            cur.lines.append((len(cur.text), row.line))
            cur.text += text
    if cur:
        yield cur
