"""Read 部门（单位）项目支出自评汇总表 into `summary_rows`: every project row, with the unit's name and
the 汇总时间 printed above the table.

Columns are found from the header row through the synonyms in rules/summary_columns.csv, so reordered,
renamed or missing columns read the same; a row's cells are aligned to the header by what they hold
(numbers, rates, text), so rows that lost their empty cells still land in the right columns. A header
repeated after a page break, blank lines, and project names broken over two lines are part of the
table; any other line inside it becomes a leftover. The table ends at the first line that is none of
these (usually the title of the narrative report under it). 序号 may number hierarchically (一 / (一) / 1):
a group row adds up the rows numbered deeper under it (is_subtotal, and is_total, so sums over projects
count each once); a 责任部门 column is read where the header has one.

This is the one summary reader: a table copied without its rows (one cell per line, one line) is rebuilt
into rows from its token stream first (tables/engine.py, read_summaries) and read here too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

from perfdata import rules
from perfdata.grid import Row
from perfdata.keys import table_id
from perfdata.normalize import cell_type, clean, is_filler, key, to_number, to_percent
from perfdata.tables import layout
from perfdata.tables.align import align

TITLE = re.compile(r"自评汇总表")
MONEY_UNIT = re.compile(r"^(?:单位|金额单位)[:：]?\(?(万元|元|千元)\)?$")
MONEY_FACTOR = {"万元": 1.0, "元": 1e-4, "千元": 0.1}
NOTE_START = re.compile(r"^(?:注|说明|备注)\s*\d*\s*[:：.、]")
CONTINUED_WITHIN = 12  # lines between a table's last row and a title without a unit row that continues it
FRAGMENT_MAX = 40  # a project-name fragment on its own line is short; longer lone lines end the table
MONEY = ("budget_initial", "budget", "executed")
RATES = ("exec_rate_reported", "output_rate", "benefit_rate", "satisfaction_rate")
SEQ = re.compile(r"^(?:[一二三四五六七八九十]+|\([一二三四五六七八九十]+\)|\d{1,4})[、.]?$")  # 一 / (一) / 1
GROUP = re.compile(r"^(?:[一二三四五六七八九十]+|\([一二三四五六七八九十]+\))[、.]?$")  # a group of items: 一 / (一)


class Columns:
    """Header synonyms of the summary table: column → cell kind, and a lookup for header cells."""

    def __init__(self):
        exact, prefixes, self.fits = {}, [], {}
        for r in rules._rows("summary_columns.csv"):
            syn, col = r["synonym"], r["column"]
            self.fits[col] = r["fits_as"] or None
            if syn.endswith("*"):
                prefixes.append((key(syn[:-1]), col))
            else:
                exact[key(syn)] = col
        self.map = rules.HeaderMap(exact, tuple(prefixes), {})
        self.labels = {key(r["synonym"]): r["field"] for r in rules._rows("summary_labels.csv")}

    def header(self, row: Row) -> list[tuple[str, int]] | None:
        """(column, position) of each header cell, or None when the row is not a header."""
        cols = [(self.map.lookup(c), p) for p, c in row.filled]
        named = {c for c, _ in cols if c}
        if "project_name" not in named or len(named) < 3 or sum(c is None for c, _ in cols) > len(named) // 2:
            return None
        return cols

    def label(self, text: str) -> str | None:
        return self.labels.get(key(text))


@cache
def columns() -> Columns:
    return Columns()


@dataclass
class SummaryRow:
    line: int
    end: int
    seq: int | None = None
    seq_label: str | None = None  # 序号 as printed: 一 / (一) / 1
    name: str | None = None
    responsible: str | None = None
    values: dict[str, str] = field(default_factory=dict)
    is_total: bool = False
    is_subtotal: bool = False


@dataclass
class SummaryTable:
    line: int
    title: str | None = None
    unit: str | None = None
    summary_date: str | None = None
    factor: float = 1.0
    header: list[tuple[str | None, int]] | None = None
    rows: list[SummaryRow] = field(default_factory=list)
    leftovers: list[tuple[int, str, str]] = field(default_factory=list)
    consumed: list[int] = field(default_factory=list)  # lines of the rows read (their leftovers say the rest)
    placeholders: list[int] = field(default_factory=list)  # lines of "……" rows inside the table
    inherited: bool = False


class SummaryReader:
    """Reads one summary table from rows[start] up to (not including) rows[stop]."""

    def __init__(self, rows: list[Row], start: int, stop: int):
        self.rows, self.start, self.stop = rows, start, stop
        self.table = SummaryTable(rows[start].line)
        self.cols = columns()
        self.pending: list[tuple[Row, str]] = []  # name fragments printed above their row

    def read(self) -> SummaryTable:
        t = self.table
        consumed = t.consumed
        for i in range(self.start, self.stop):
            row = self.rows[i]
            filled = row.filled
            if not filled:
                continue
            if all(is_filler(c) for _, c in filled):
                t.placeholders.append(row.line)
                continue
            header = self.cols.header(row)
            if header is not None:
                self._header(row, header)
                consumed.append(row.line)
                continue
            if self._title_or_label(row, filled):
                consumed.append(row.line)
                continue
            if t.header is None:
                t.leftovers.append((row.line, row.raw.strip(), "row above the header of the summary table"))
                continue
            kind = self._kind(i, filled)
            if kind in ("data", "fragment"):
                consumed.append(row.line)  # a fragment never joined to a row ends as a leftover below
            if kind == "data":
                self._data(row, filled)
            elif kind == "fragment":
                self._fragment(i, row, filled)
            elif kind == "note":
                t.leftovers.append((row.line, row.raw.strip(), "note under the summary table (not read)"))
            else:
                break
        for r, text in self.pending:
            t.leftovers.append((r.line, text, "name fragment without a row below it"))
        subtotals(t.rows)
        return t

    # -- rows around the data -----------------------------------------------------------------------
    def _header(self, row: Row, header):
        t = self.table
        if t.header is not None and [c for c, _ in header] == [c for c, _ in t.header]:
            t.header = header  # repeated after a page break: same columns, maybe other positions
            return
        if t.header is not None:
            t.leftovers.append((row.line, row.raw.strip(), "second header with other columns (columns re-read)"))
        for (col, _), (_, text) in zip(header, row.filled, strict=True):
            if col is None:
                t.leftovers.append((row.line, text, "unknown header cell in the summary table"))
        t.header = header

    def _title_or_label(self, row: Row, filled) -> bool:
        t = self.table
        first = filled[0][1]
        if len(filled) == 1 and TITLE.search(first):
            t.title = t.title or first
            return True
        m = MONEY_UNIT.match(key(first))
        if len(filled) == 1 and m:
            t.factor = MONEY_FACTOR[m.group(1)]
            return True
        if self.cols.label(first) in ("unit", "summary_date"):
            _labels(t, row, filled)
            return True
        return False

    def _kind(self, i: int, filled) -> str:
        """data | fragment | note | end, from what the row holds and what surrounds it."""
        first = filled[0][1]
        if NOTE_START.match(first):
            return "note"
        if _has_figures(filled):
            return "data"
        if self._ends_table(filled):
            return "end"
        text = "".join(c for _, c in filled)
        if len(text) > FRAGMENT_MAX or any(cell_type(c) != "text" for _, c in filled):
            return "end"
        above = self.rows[i - 1]
        below = next((r for r in self.rows[i + 1 : self.stop] if r.filled), None)
        if (above.filled and self.table.rows and self.table.rows[-1].end == above.end) or (
                below is not None and _has_figures(below.filled)):
            return "fragment"
        return "end"

    @staticmethod
    def _ends_table(filled) -> bool:
        first = filled[0][1]
        if len(filled) == 1 and (layout.SECTION_HEADING.match(first) or layout.is_project_title(first)
                                 or any(p.search(first) for _, p in layout.OTHER_TITLES)):
            return True
        return layout._form_label(Row(0, [c for _, c in filled], "")) == "project_name"

    # -- a row of the table -------------------------------------------------------------------------
    def _data(self, row: Row, filled):
        t = self.table
        pos = {c: p for c, p in t.header if c}
        cells = list(filled)
        rec = SummaryRow(row.line, row.end)
        if self.cols.label(cells[0][1]) == "total":
            rec.is_total, rec.name = True, cells[0][1]
            cells = cells[1:]
        else:
            # 序号: an integer or a group's 一 / (一) at the 序号 column, or leading the row
            for k, (p, c) in enumerate(cells[:2]):
                if SEQ.match(c) and (p == pos.get("seq") or k == 0):
                    rec.seq_label = c.rstrip("、.")
                    rec.is_subtotal = bool(GROUP.match(c))  # until the rows under it say otherwise (subtotals)
                    rec.seq = None if rec.is_subtotal else int(rec.seq_label)
                    del cells[k]
                    break
            # 项目名称: the text cell nearest the 项目名称 column; 责任部门: the one nearer its own column
            texts = [(k, p, c) for k, (p, c) in enumerate(cells) if cell_type(c) == "text"]
            if texts:
                npos = pos.get("project_name", 1)
                k, p, c = min(texts, key=lambda x: (abs(x[1] - npos), x[1]))
                rec.name = c
                rpos = pos.get("responsible")
                near = [x for x in texts if rpos is not None and x[0] != k and abs(x[1] - rpos) < abs(x[1] - npos)]
                gone = [k]
                if near:
                    k2, _, rec.responsible = min(near, key=lambda x: abs(x[1] - rpos))
                    gone.append(k2)
                cells = [c for j, c in enumerate(cells) if j not in gone]
        if self.pending and not rec.is_total:
            rec.name = "".join(text for _, text in self.pending) + (rec.name or "")
            rec.line = self.pending[0][0].line
            self.pending = []
        if rec.seq is None and rec.name is None:
            t.leftovers.append((row.line, row.raw.strip(), "figures without 序号 or 项目名称 in the summary table"))
            return
        value_cols = [(c, p) for c, p in t.header if c and self.cols.fits.get(c)]
        kinds = tuple(self.cols.fits[c] for c, _ in value_cols)
        name_p = pos.get("project_name")
        shift = 0
        if rec.name and name_p is not None and not rec.is_total:
            shift = next((p for p, c in filled if c == rec.name), name_p) - name_p
        values = [(p, c) for p, c in cells if not is_filler(c)]
        assign, extras = align(kinds, tuple(p for _, p in value_cols), tuple(cell_type(c) for _, c in values),
                               tuple(p for p, _ in values), shift)
        for (_, c), a in zip(values, assign, strict=True):
            if a >= 0:
                rec.values[value_cols[a][0]] = c
        for e in extras:
            t.leftovers.append((row.line, values[e][1], "extra cell in a summary row"))
        t.rows.append(rec)

    def _fragment(self, i: int, row: Row, filled):
        """A project name broken over lines: joins the row above it (no blank between) or the row below."""
        t = self.table
        text = "".join(c for _, c in filled)
        above = self.rows[i - 1]
        if t.rows and above.filled and t.rows[-1].end == above.end and not self.pending:
            prev = t.rows[-1]
            pos = {c: p for c, p in t.header if c}
            p = filled[0][0]
            if "deviation_note" in prev.values and abs(p - pos["deviation_note"]) < abs(p - pos["project_name"]):
                prev.values["deviation_note"] += text  # the 偏差原因 cell goes on
            else:
                prev.name = (prev.name or "") + text
            prev.end = row.end
        else:
            self.pending.append((row, text))


def depth(label: str | None) -> int:
    """How deep a 序号 numbers its row: 一 → 1, (一) → 2, 1 → 3.

    >>> [depth(x) for x in ("四", "(一)", "12", None)]
    [1, 2, 3, 0]
    """
    if not label:
        return 0
    return 3 if label.isascii() and label.isdigit() else 2 if label.startswith("(") else 1


def subtotals(rows: list[SummaryRow]) -> None:
    """A group row (一, (一)) adds up the rows numbered deeper under it (a subtotal, counted as a total);
    one with none under it is a project of its own (二、不可预见费)."""
    for k, r in enumerate(rows):
        if r.is_subtotal and depth(rows[k + 1].seq_label if k + 1 < len(rows) else None) <= depth(r.seq_label):
            r.is_subtotal = False


def read_table(rows: list[Row], start: int, stop: int) -> SummaryTable:
    return SummaryReader(rows, start, stop).read()


def records(t: SummaryTable, summary_id: str) -> list[dict]:
    """`summary_rows` records of one table (money in 万元, rates in percent)."""
    out = []
    for r in t.rows:
        v = r.values
        money = {c: (None if to_number(v.get(c)) is None else round(to_number(v.get(c)) * t.factor, 6))
                 for c in MONEY}
        note = v.get("deviation_note")
        out.append({
            "summary_id": summary_id, "line_start": r.line, "line_end": r.end, "table_line": t.line,
            "title": t.title, "unit": t.unit, "unit_inferred": t.inherited, "summary_date": t.summary_date,
            "seq": r.seq, "seq_label": r.seq_label, "project_name": clean(r.name) if r.name else None,
            "is_total": r.is_total or r.is_subtotal, "is_subtotal": r.is_subtotal, "responsible": r.responsible,
            **money, **{c: to_percent(v.get(c)) for c in RATES},
            "total_score": to_number(v.get("total_score")),
            "deviation_note": note if note and cell_type(note) != "dash" and note != "无" else None,
        })
    return out


def read_summary(rows: list[Row], start: layout.TableStart, stop: int, res, sha: str):
    """TABLE_READERS["summary"]: add the table's rows, leftovers and problems to `res` (ingest guards the call)."""
    t = read_table(rows, start.index, stop)
    if t.unit is None:  # the same table continued after a page break whose title was repeated but not its unit row
        t.unit, date, t.inherited = continued(rows, start.index)
        t.summary_date = t.summary_date or date
    add_table(t, table_id(sha, t.line), res)


def continued(rows: list[Row], start: int) -> tuple[str | None, str | None, bool]:
    """The unit and 汇总时间 of the summary table that rows[start] goes on from (a page break repeated its
    title but not its unit row): the rows above it end in a summary row within CONTINUED_WITHIN lines,
    and the unit row is that table's, above its header. (None, None, False) when it goes on from nothing."""
    cols = columns()
    k = start - 1  # the last summary row above, within CONTINUED_WITHIN lines (page marks may lie between)
    while k >= 0 and rows[k].end >= rows[start].line - CONTINUED_WITHIN and not (
            rows[k].filled and _has_figures(rows[k].filled)):
        k -= 1
    if k < 0 or rows[k].end < rows[start].line - CONTINUED_WITHIN:
        return None, None, False
    for r in reversed(rows[:k]):  # up through the table above (its rows, headers, titles) to its unit row
        filled = r.filled
        if not filled:
            continue
        first = filled[0][1]
        if cols.label(first) in ("unit", "summary_date"):
            probe = SummaryTable(r.line)
            _labels(probe, r, filled)
            if probe.unit is not None:
                return probe.unit, probe.summary_date, True
        elif not (_has_figures(filled) or cols.header(r) is not None or TITLE.search(first)
                  or MONEY_UNIT.match(key(first)) or len(r.joined) <= FRAGMENT_MAX):
            break  # not a summary table above
    return None, None, False


def _labels(t: SummaryTable, row: Row, filled):
    """部门（单位）名称 | xxx | 汇总时间 | xxx, into `t`."""
    current = None
    for _, c in filled:
        lab = columns().label(c)
        if lab in ("unit", "summary_date"):
            current = lab
        elif current and getattr(t, current) is None:
            setattr(t, current, c)
        elif current:
            setattr(t, current, getattr(t, current) + c)  # a value broken over two cells
        else:
            t.leftovers.append((row.line, c, "cell before any label above the summary table"))


def _has_figures(filled) -> bool:
    return columns().label(filled[0][1]) == "total" or sum(cell_type(c) in ("num", "pct", "money")
                                                           for _, c in filled) >= 2


def add_table(t: SummaryTable, summary_id: str, res, fates: tuple[list[int], list[int]] | None = None):
    """Add one summary table read (by rows, or rebuilt from a token stream) to `res`: its rows, its leftovers,
    the fate of its lines (`fates`: consumed and placeholder lines, else the reader's) and its problems."""
    for rec in records(t, summary_id):
        res.add("summary_rows", rec)
    for line, text, reason in t.leftovers:
        res.add("leftovers", {"line": line, "text": text, "reason": reason, "form_id": summary_id})
    res.fate(summary_id, *(fates or (t.consumed, t.placeholders)))
    title = t.title or "自评汇总表"
    if t.header is None:
        res.problem("warning", f"{title}: no header row (序号, 项目名称, …) found; rows not read", t.line)
    elif not t.rows:
        res.problem("warning", f"{title}: header without rows", t.line)
    if t.unit is None:
        res.problem("warning", f"{title}: no 部门（单位）名称 printed above the table", t.line)
    if t.leftovers:
        res.problem("warning", f"{title}: {len(t.leftovers)} line(s) or cell(s) not read (see leftovers)",
                    t.leftovers[0][0])
