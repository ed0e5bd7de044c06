"""Ingest: raw files → tidy tables. Each file is read independently (and can run in its own
process); a file that cannot be read yields a problem row, never an exception for the batch.
"""

from __future__ import annotations

import bisect
import gc
import hashlib
import os
import re
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from perfdata import schema
from perfdata.grid import ReadError, Row
from perfdata.keys import link, project_key, table_id
from perfdata.normalize import looks_traditional, simplify, to_number, to_percent
from perfdata.readers.detect import read_grid
from perfdata.tables import engine, layout, summary
from perfdata.tables.forms import INDICATOR_FIELDS as INDICATOR_VALUES
from perfdata.tables.forms import Form, indicator_values, read_form

REGION = re.compile(r"^(.{2,8}?(?:自治州|自治县|地区|盟|市|县|区|旗))")
# a title's region after its year: '2021年度蔡甸区…' → 蔡甸区; '2021年度区级森林防火…' has none (not '2021年度区')
TITLE_REGION = re.compile(r"^(?:(?:19|20)\d{2}\s*年度?)?([\u4e00-\u9fff]{2,8}?(?:自治州|自治县|地区|盟|市|县|区|旗))")
DEPARTMENT_IN_TEXT = re.compile(r"([\u4e00-\u9fff]{2,8}?(?:市|县|区|旗)[\u4e00-\u9fff]{2,20}?局)")


@dataclass
class FileResult:
    """Rows of every table for one file (lists of dicts, turned into frames once per batch).

    The bulk tables of project forms (forms, funding, indicators) are `packed` instead: one tuple of
    field names and a list of value tuples per table, without source_file. Tuples cost far less than
    dicts to build, to pickle back from a worker process and to turn into columns.
    """

    source_file: str
    tables: dict[str, list[dict]] = field(default_factory=dict)
    packed: dict[str, tuple[tuple[str, ...], list[tuple]]] = field(default_factory=dict)
    frozen: dict[str, dict] = field(default_factory=dict)  # packed tables as typed arrays (freeze())
    # table id → (consumed lines or None where the reader does not say, placeholder lines): see account()
    fates: dict[str, tuple[list[int] | None, list[int]]] = field(default_factory=dict)

    def add(self, table: str, row: dict):
        row.setdefault("source_file", self.source_file)
        self.tables.setdefault(table, []).append(row)

    def freeze(self) -> FileResult:
        """Turn the packed tables into typed column arrays. A worker process does this, so that the
        parent only concatenates arrays (cheap to pickle, too)."""
        for name in list(self.packed):
            if name not in self.tables:  # dict rows for the same table: leave it to the general path
                _freeze_together([self], name)
        return self

    def packed_rows(self, table: str, fields: tuple[str, ...]) -> list[tuple]:
        """The list to append value tuples of `table` to, in `fields` order."""
        entry = self.packed.get(table)
        if entry is None:
            entry = self.packed[table] = (fields, [])
        elif entry[0] != fields:
            raise ValueError(f"{table}: packed with two field orders")
        return entry[1]

    def fate(self, table_id: str, consumed: list[int] | None, placeholders: list[int] = ()):
        """What a table reader did with the lines of one table: the lines of the rows it read into its records
        (labels, headers, values, texts, levels, notes) and of the empty template rows it skipped (指标2:, ……).
        Its leftovers say the rest; account() counts the lines of each kind."""
        self.fates[table_id] = (consumed, list(placeholders))

    def problem(self, severity: str, message: str, line: int | None = None, location: str | None = None):
        row = {"line": line, "severity": severity, "message": message}
        if location is not None:
            row["location"] = location
        self.add("problems", row)


def _freeze_together(results: list[FileResult], name: str):
    """Typed arrays of table `name` for consecutive files, put on the first of them (file order kept).
    An array costs a fixed ~0.1 ms to build, so a batch of files shares one set instead of one per file."""
    fields = results[0].packed[name][0]
    values = [v for res in results for v in res.packed[name][1]]
    cols = dict(zip(fields, zip(*values, strict=True), strict=True)) if values else {f: [] for f in fields}
    cols["source_file"] = [res.source_file for res in results for _ in res.packed[name][1]]
    results[0].frozen[name] = schema.arrays(name, cols, len(values))
    for res in results:
        del res.packed[name]


def freeze_batch(results: list[FileResult]) -> list[FileResult]:
    """FileResult.freeze() for a batch of consecutive files, one set of arrays per table. A table with
    dict rows in the batch, or packed with two field orders, is frozen file by file (or not) as before."""
    names = dict.fromkeys(n for res in results for n in res.packed)
    for name in names:
        holders = [res for res in results if name in res.packed]
        if len({res.packed[name][0] for res in holders}) == 1 and not any(name in res.tables for res in results):
            _freeze_together(holders, name)
    for res in results:
        res.freeze()
    return results


MAX_FILE_BYTES = 512 * 2**20  # a file is refused before its bytes are read (the readers' own limits are lower)


def read_file(path: str | Path, name: str | None = None) -> FileResult:
    """Read one raw file into table rows. Never raises for bad input: problems are rows."""
    path = Path(path)
    res = FileResult(name or path.name)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            res.problem("error", f"refused: {size / 2**20:,.0f} MiB, more than a document of forms holds (limit "
                        f"{MAX_FILE_BYTES // 2**20} MiB)")
            res.add("files", {"sha256": None, "bytes": size, "encoding": None, "lines": None, "forms": 0,
                              "status": "failed"})
            return _located(res, path)
        data = path.read_bytes()
    except OSError as e:
        res.problem("error", f"cannot open file: {e.strerror or e}")
        res.add("files", {"sha256": None, "bytes": None, "encoding": None, "lines": None,
                          "forms": 0, "status": "failed"})
        return res
    return _located(read_bytes(data, res.source_file), path)


def _located(res: FileResult, path: Path) -> FileResult:
    """`res` with its files row saying where the file lies (files.path, absolute): the checks quote evidence
    from there, whatever the working directory."""
    for row in res.tables.get("files", []):
        row["path"] = os.path.abspath(path)
    return res


READERS = ("auto", "tokens")


def read_bytes(data: bytes, source_file: str, reader: str = "auto") -> FileResult:
    """Read one file's bytes into table rows. `reader`: "auto" reads the forms row by row and again as a
    token stream where the rows missed them (ingest's way); "tokens" gives the token reader's reading
    wherever it finds a table (to compare the two readings of a document, benchmarks/copies.py)."""
    if reader not in READERS:
        raise ValueError(f"reader must be one of {', '.join(READERS)}, not {reader!r}")
    res = FileResult(source_file)
    sha = hashlib.sha256(data).hexdigest()
    file_row = {"sha256": sha, "bytes": len(data), "encoding": None, "lines": None, "forms": 0,
                "status": "failed"}
    try:
        grid, found = read_grid(data, source_file)  # text, .xlsx/.xls, .docx or .pdf, by content
    except ReadError as e:
        res.problem("error", str(e), e.line, getattr(e, "location", None))
        res.add("files", file_row)
        return res
    except MemoryError:
        res.problem("error", _out_of_memory())
        res.add("files", file_row)
        return res
    except Exception as e:  # noqa: BLE001 - a reader bug must not take down the batch
        res.problem("error", f"internal error while reading: {type(e).__name__}: {e}")
        res.add("files", file_row)
        return res
    file_row["format"] = getattr(grid, "format", None) or "text"
    file_row["encoding"] = grid.encoding if file_row["format"] == "text" else None
    file_row["lines"] = grid.rows[-1].end if grid.rows else 0
    for severity, message, line, *where in found:  # (severity, message, line[, location])
        res.problem(severity, message, line, *where)
    if file_row["format"] == "text" and grid.encoding not in ("utf-8", "utf-8-sig"):
        res.problem("info", f"decoded as {grid.encoding}")
    try:
        rows = _simplified(grid.rows, file_row["format"] != "text")
        if rows is not grid.rows:
            res.problem("info", "traditional characters converted to simplified (OpenCC t2s) for reading; "
                        "evidence keeps the original text")
        early = len(res.tables.get("problems", []))  # the reader's own problems, kept whatever reads the forms
        forms, starts = _read_forms(rows, res, sha)
        if reader == "tokens" or _needs_tokens(res):
            taken = _read_tokens(rows, res, sha, early, starts, force=reader == "tokens")
            if taken is not None:  # the tables it read, and the reports the row reader found (their sections)
                forms, starts = taken[0], sorted(taken[1] + [s for s in starts if s.kind == "report"])
        _read_documents(rows, starts, res, sha)
    except MemoryError:
        res.tables.clear()
        res.packed.clear()
        res.problem("error", _out_of_memory())
        res.add("files", file_row)
        return res
    except Exception as e:  # noqa: BLE001
        res.problem("error", f"internal error while reading forms: {type(e).__name__}: {e}")
        res.add("files", file_row)
        return res
    file_row["forms"] = forms
    _, found = res.packed.get("tables", (TABLE_FIELDS, []))
    # a document where no table was read: its tokens, once, for what it prints that looks like one
    plain = None if any(kind in ACCOUNTED for _, kind, _ in found) else engine.tokens(rows)
    if plain is not None:
        _unread_header(rows, plain, res)
    file_row.update(account(rows, res, sha))
    _locate(res, getattr(grid, "locations", None))
    if not res.packed.get("tables", ((), ()))[1]:
        title = next((t for t in plain if t.role == "title"), None)
        if title is not None:  # a form's title, and nothing under it either reader could read
            res.problem("error", f"no known table found: line {title.line} has a title (“{title.text[:80]}”) but "
                        "nothing after it reads as its table (an unknown layout?)", title.line)
        else:
            res.problem("error", "no known table found (not a self-evaluation document, or an unknown layout)")
        file_row["status"] = "failed"
    elif any(p["severity"] in ("error", "warning") for p in res.tables.get("problems", [])):
        file_row["status"] = "partial"
    else:
        file_row["status"] = "ok"
    res.add("files", file_row)
    return res


def _simplified(rows: list[Row], grid: bool) -> list[Row]:
    """A table machine-converted to traditional characters (normalize.looks_traditional: 績效, 項(xiàng)目) whose
    rows keep their cells (a spreadsheet, Word, PDF or HTML grid, or tab-separated rows) as simplified rows, for
    the row reader as for the token reader; its lines and their places unchanged (the evidence quotes the file).
    Any other document's rows as they are: a copy that lost its grid is the token reader's, which simplifies
    its tokens."""
    if not grid and sum(1 for r in rows if "\t" in r.raw) * 2 < sum(1 for r in rows if r.joined):
        return rows
    if not looks_traditional("\n".join(r.raw for r in rows[:2000] if r.raw)):
        return rows
    seen: dict[str, str] = {}

    def simple(text: str) -> str:
        if not text:
            return text
        out = seen.get(text)
        if out is None:
            out = seen[text] = simplify(text)
        return out

    return [Row(r.line, [simple(c) for c in r.cells], simple(r.raw), r.end) for r in rows]


_UNREAD_LINES = 200  # at most this many lines after an unread header are listed as leftovers


def _unread_header(rows, toks, res: FileResult) -> None:
    """A document in which no table was read (`toks`: its tokens) but which prints a table's header (two
    indicator columns, or three funding columns, on one line: '二级指标 分值 三级指标 分值' of a run-on rubric)
    is not silently passed: a warning names the line and the columns seen, and the lines from there on are
    leftovers."""
    seen: dict[int, dict[str, set[str]]] = {}
    for t in toks:
        if t.role in ("indicator_header", "funding_header"):
            seen.setdefault(t.line, {}).setdefault(t.role, set()).add(t.text)
    line = next((ln for ln, got in sorted(seen.items()) if len(got.get("indicator_header", ())) >= 2
                 or len(got.get("funding_header", ())) >= 3), None)
    if line is None:
        return
    cells = "、".join(sorted(set().union(*seen[line].values())))
    res.problem("warning", f"line {line}: a table header ({cells}) whose rows could not be read (an unknown "
                "layout, or rows run together beyond a confident cut): its lines are leftovers", line)
    _leftover_lines([r for r in rows if line <= r.line < line + _UNREAD_LINES and r.joined], res,
                    f"unread: under the table header at line {line}")


def _leftover_lines(rows, res: FileResult, reason: str) -> None:
    """Rows of a table no reader took, as leftovers of no form."""
    for row in rows:
        res.add("leftovers", {"line": row.line, "text": row.raw.strip()[:2000], "form_id": None, "reason": reason})


# -- line accounting: every line of a recognised table has a recorded fate ------------------------------------
ACCOUNTED = frozenset({"project_form", "summary", "department_form", "target_table"})  # "report" is narrative
SPANS = {"department_forms": ("dept_form_id", "line_start", "line_end"), "targets": ("target_id", "line_start",
         "line_end"), "summary_rows": ("summary_id", "table_line", "line_end")}


def account(rows, res: FileResult, sha: str) -> dict[str, int]:
    """The `files` counts of what became of the lines of the document's recognised tables: from each table's
    first to its last line (its title to its 总分 row or notes), every line is consumed (read into a record;
    FileResult.fate), an empty placeholder (counted, lines in an info problem), a leftover (a `leftovers`
    row), blank, or — where its reader recorded nothing — unaccounted. A line takes the first of these
    that applies (a row read but for one cell is a leftover)."""
    from bisect import bisect_left, bisect_right
    from operator import attrgetter

    _, found = res.packed.get("tables", (TABLE_FIELDS, []))
    starts = sorted({line for line, kind, _ in found if kind in ACCOUNTED})
    if not starts or not rows:
        return {}
    spans = _spans(res)
    also: dict[str, list[str]] = {}  # a table id → the ids of the further tables starting on its line ('…-2')
    for k in spans.keys() | res.fates.keys():
        base, _, n = k.rpartition("-")
        if n.isdigit() and base.count("-") == 1:
            also.setdefault(base, []).append(k)
    left: dict[str | None, list[int]] = {}
    for lo in res.tables.get("leftovers", []):
        left.setdefault(lo.get("form_id"), []).append(lo["line"])
    # columns of the rows, read once (C loops: a batch of 10,000 forms has half a million rows)
    lines, joined = list(map(attrgetter("line"), rows)), list(map(attrgetter("joined"), rows))
    # no row over several lines (only "one cell per line" exports have them): n rows that end at line n
    single = rows[-1].end == lines[-1] == len(rows)
    ends = lines if single else list(map(attrgetter("end"), rows))
    index: dict[int, int] | None = None  # row line → row position, built when a reader names lines
    counts = dict.fromkeys(("table_lines", "lines_consumed", "lines_placeholder", "lines_leftover", "lines_blank",
                            "lines_unaccounted"), 0)
    placeholder_lines: list[int] = []
    done = 0  # last line counted: overlapping spans count once
    for start in starts:
        tid = table_id(sha, start)
        # the tables that start on this line: one, or several where a document was copied onto one line
        ids = [tid, *also.get(tid, ())]
        got = [spans[k] for k in ids if k in spans] or [(start, start)]
        a, b = min(x for x, _ in got), max(y for _, y in got)
        a = max(a, done + 1)
        if b < a:
            continue
        done = b
        i, j = bisect_left(lines, a), bisect_right(lines, b)
        n_blank = joined[i:j].count("") if single else \
            sum(ends[k] - lines[k] + 1 for k in range(i, j) if not joined[k])
        fates = [res.fates[k] for k in ids if k in res.fates]
        consumed = [x for c, _ in fates for x in c or ()]
        placeholders = [x for _, p in fates for x in p]
        seen: set[int] = set()  # rows given a fate: the first one named wins
        fated = 0
        for kind, these in (("lines_leftover", [x for k in ids for x in left.get(k, ())]),
                            ("lines_placeholder", placeholders), ("lines_consumed", consumed)):
            if these and index is None:
                index = dict(zip(lines, range(len(lines)), strict=True))
            for line in these:
                k = index.get(line)
                if k is None:  # a line inside a row over several lines: that row
                    k = bisect_right(lines, line) - 1
                if k < i or k >= j or k in seen:
                    continue
                seen.add(k)
                width = ends[k] - lines[k] + 1
                counts[kind] += width
                fated += width
                if not joined[k]:
                    n_blank -= width  # a blank row its reader names (a rule it read as one)
                if kind == "lines_placeholder":
                    placeholder_lines.append(lines[k])
        total = b - a + 1
        counts["table_lines"] += total
        counts["lines_blank"] += n_blank
        counts["lines_unaccounted"] += total - n_blank - fated
    if placeholder_lines:
        shown = ", ".join(map(str, placeholder_lines[:20])) + (" …" if len(placeholder_lines) > 20 else "")
        res.problem("info", f"{len(placeholder_lines)} empty template row(s) (指标2:, ……) inside the tables, "
                    f"counted and not read: line(s) {shown}", placeholder_lines[0])
    return counts


def _spans(res: FileResult) -> dict[str, tuple[int, int]]:
    """Table id → (first line, last line) from the records the readers made (and their leftovers)."""
    spans: dict[str, tuple[int, int]] = {}

    def grow(tid, a, b):
        if tid is None or a is None:
            return
        b = a if b is None else b
        old = spans.get(tid)
        spans[tid] = (a, b) if old is None else (min(old[0], a), max(old[1], b))

    fields, forms = res.packed.get("forms", (FORM_FIELDS, []))
    if forms:
        at = [fields.index(c) for c in ("form_id", "line_start", "line_end")]
        for f in forms:
            grow(f[at[0]], f[at[1]], f[at[2]])
    for table, (tid, a, b) in SPANS.items():
        for r in res.tables.get(table, []):
            grow(r.get(tid), r.get(a), r.get(b))
    for lo in res.tables.get("leftovers", []):
        if lo.get("form_id") in spans:
            grow(lo["form_id"], lo["line"], lo["line"])
    return spans


def _out_of_memory() -> str:
    limit = f"the limit of {_MEMORY_LIMIT:,} MiB per file (file_memory, PERFDATA_FILE_MEMORY)" if _MEMORY_LIMIT \
        else "the memory available"
    return f"not read: reading this file needs more memory than {limit}"


def _locate(res: FileResult, locations: dict[int, str] | None):
    """Where each row's line sits in a spreadsheet, Word or PDF file (sheet!row, table/row, page/line)."""
    if not locations:
        return
    for rows in res.tables.values():
        for r in rows:
            line = r.get("line_start", r.get("line"))
            if line is not None and "location" not in r:
                r["location"] = locations.get(line)
    for name, (fields, values) in list(res.packed.items()):
        if "location" in fields:
            continue
        at = fields.index("line_start" if "line_start" in fields else "line")
        res.packed[name] = (fields + ("location",), [v + (locations.get(v[at]),) for v in values])


# Readers of the other table kinds that layout.find_tables recognises:
#   kind → reader(rows, start: layout.TableStart, stop: int, res: FileResult, sha: str)
# Each adds its rows (and leftovers/problems) to `res`; one entry per kind.
TABLE_READERS: dict[str, Callable] = {}
# Readers of a whole document (e.g. figures stated in narrative text):
#   reader(rows, starts: list[layout.TableStart], res: FileResult, sha: str)
DOCUMENT_READERS: list[Callable] = []

# -- 自评汇总表 and 部门整体绩效自评表 ------------------------------------------------------------------
from perfdata.tables.department import read_department_form  # noqa: E402
from perfdata.tables.summary import read_summary  # noqa: E402

TABLE_READERS["summary"] = read_summary
TABLE_READERS["department_form"] = read_department_form

# -- 绩效目标表 and figures stated in narrative text (perfdata.tables.targets, perfdata.tables.statements) --
from perfdata.tables import statements as _statements  # noqa: E402
from perfdata.tables import targets as _targets  # noqa: E402

TABLE_READERS["target_table"] = _targets.read_target_table
DOCUMENT_READERS.extend([_targets.check_numbering, _statements.read_statements])


def _guarded(reader: Callable, res: FileResult, line: int | None, what: str, *args):
    """Run one table reader; a bug in it costs that table (a warning), not the file's other tables."""
    try:
        reader(*args)
    except Exception as e:  # noqa: BLE001
        res.problem("warning", f"internal error while reading {what}: {type(e).__name__}: {e}", line)


def _read_forms(rows, res: FileResult, sha: str) -> tuple[int, list[layout.TableStart]]:
    """The row reader's tables of the document: how many project forms, and where the tables start."""
    starts = layout.find_tables(rows)
    found = res.packed_rows("tables", TABLE_FIELDS)
    forms: list[tuple[Form, str]] = []
    for k, st in enumerate(starts):
        if st.kind != "project_form":
            _read_other_table(rows, starts, k, res, sha)
            continue
        found.append((rows[st.index].line, st.kind, st.title or None))
        stop = starts[k + 1].index if k + 1 < len(starts) else len(rows)
        form, _ = read_form(rows, st.index, st.anchor, stop)
        form_id = table_id(sha, form.line_start)
        forms.append((form, form_id))
    if not forms:
        return 0, starts
    _infer_context(forms, rows, res)
    for form, form_id in forms:
        _emit(form, form_id, res)
    return len(forms), starts


def _read_other_table(rows, starts: list[layout.TableStart], k: int, res: FileResult, sha: str) -> None:
    """The table that starts at starts[k] (no project form), up to the next start: listed in `tables`, and
    read by the reader of its kind (TABLE_READERS), if any."""
    st = starts[k]
    line = rows[st.index].line
    res.packed_rows("tables", TABLE_FIELDS).append((line, st.kind, st.title or None))
    reader = TABLE_READERS.get(st.kind)
    if reader is not None:
        stop = starts[k + 1].index if k + 1 < len(starts) else len(rows)
        _guarded(reader, res, line, f"the {st.kind} at this line", rows, st, stop, res, sha)


def _read_documents(rows, starts: list[layout.TableStart], res: FileResult, sha: str) -> None:
    """The readers of the whole document (its narrative figures, the numbering of its target tables), once
    the tables are read: `starts` are where the tables that were read begin."""
    for reader in DOCUMENT_READERS:
        _guarded(reader, res, None, f"{reader.__module__}.{reader.__name__}", rows, starts, res, sha)


def _needs_tokens(res: FileResult) -> bool:
    """Whether the row reader missed this document's forms: it found no table at all, or project forms
    without a single funding figure (cell boundaries lost in copying; tables/engine.py reads those)."""
    fields, forms = res.packed.get("forms", (FORM_FIELDS, []))
    if not forms:  # no project form read (the token reader's forms replace other tables only if it finds some)
        return True
    at = [fields.index(c) for c in ("budget_initial", "budget_full_year", "executed")]
    return all(all(f[i] is None for i in at) for f in forms)


# the tables the row reader reads and the token reader does not: read again where the token reader's
# reading replaces the row reader's
_KEPT_BY_ROWS = ("target_table",)


def _read_tokens(rows, res: FileResult, sha: str, early: int, row_starts: list[layout.TableStart],
                 force: bool = False) -> tuple[int, list[layout.TableStart]] | None:
    """Read the document again with the token reader; when it finds forms, they replace the row reader's
    reading of this file (its other tables, problems and leftovers included; the tables only the row reader
    reads, `_KEPT_BY_ROWS`, are read again): then the project forms read and where the tables read start
    (for the readers of the whole document), else None. `force`: its reading replaces the row reader's
    wherever it finds a form or summary, even where the row reader read other tables."""
    trad = looks_traditional("\n".join(r.raw for r in rows[:2000] if r.raw))  # (a copy _simplified left)
    toks = engine.tokens(rows, simplify if trad else None)
    forms, unread = engine.read_token_tables(toks, rows[-1].end if rows else 0)
    forms += engine.read_rubrics(toks, rows[-1].end if rows else 0)
    summaries = engine.read_summaries(toks)
    # where the row reader read other tables (target tables, summaries, department forms with their indicator
    # rows), the token reader's reading replaces it only when it finds project forms the row reader missed
    read_by_rows = any(res.tables.get(t) for t in ("target_indicators", "summary_rows", "department_indicators"))
    if not forms and not summaries or read_by_rows and not force and not any(
            f.kind == "project" and f.funding for f in forms):
        return None
    kept = res.tables.get("problems", [])[:early]
    res.tables.clear()
    res.packed.clear()
    res.fates.clear()
    res.tables["problems"] = kept
    if trad:
        res.problem("info", "traditional characters converted to simplified (OpenCC t2s) for reading; "
                    "evidence keeps the original text")
    found = res.packed_rows("tables", TABLE_FIELDS)
    pairs = []
    taken: set[str] = set()  # several forms on one line (a document copied onto one line): an id each
    for form in forms:
        form.consumed, fillers = engine.line_fates(rows, form.line_start, form.line_end)
        form.placeholders += fillers  # besides the blank template rows (指标2:) the reader named
        found.append((form.line_start, f"{form.kind}_form", form.title))
        form_id = table_id(sha, form.line_start, taken)
        if form.kind == "department":
            _emit_department(form, form_id, res)
        else:
            pairs.append((form, form_id))
    read = []  # the first and last line of each summary table read
    for table in summaries:
        found.append((table.line, "summary", table.title))
        last = max([table.line, *(r.end for r in table.rows), *(lo[0] for lo in table.leftovers)])
        read.append((table.line, last))
        summary.add_table(table, table_id(sha, table.line, taken), res, engine.line_fates(rows, table.line, last))
    for table in unread:
        _unread_table(rows, table, read, res)
    if pairs:
        _infer_context(pairs, rows, res)
    for form, form_id in pairs:
        _emit(form, form_id, res)
    at = [r.line for r in rows]
    starts = [layout.TableStart(k, k, kind, title or "")  # (the kinds layout.find_tables names)
              for line, kind, title in [(f.line_start, f"{f.kind}_form", f.title) for f in forms]
              + [(t.line, "summary", t.title) for t in summaries]
              for k in [bisect.bisect_left(at, line)] if k < len(rows)]
    spans = [(f.line_start, f.line_end) for f in forms] + read
    for k, st in enumerate(row_starts):
        if st.kind in _KEPT_BY_ROWS and not any(a <= rows[st.index].line <= b for a, b in spans):
            _read_other_table(rows, row_starts, k, res, sha)
            starts.append(st)
    return len(pairs), sorted(starts)


def _unread_table(rows, table: engine.UnreadTable, read: list[tuple[int, int]], res: FileResult) -> None:
    """A table the token reader started on and read no form from (a report's 项目名称 | 全年预算数 | 执行数 table
    after a form): a warning naming its line and header cells, and its lines as leftovers; nothing where a
    summary table was read from there (`read`: their first and last lines)."""
    if any(a <= table.line <= b for a, b in read):
        return
    lines = [r for r in rows if table.line <= r.line <= table.line_end and r.joined][:_UNREAD_LINES]
    if not lines:
        return
    cells = "、".join(table.header[:8])
    res.problem("warning", f"line {table.line}: a table ({cells}) that reads as no form: its lines are leftovers",
                table.line)
    _leftover_lines(lines, res, f"unread: in the table at line {table.line}")


def _emit_department(form: Form, form_id: str, res: FileResult):
    """A 部门整体支出绩效自评表 in the project layout, read by the token reader, into the department tables."""
    from perfdata.tables import department
    from perfdata.tables.forms import indicator_record

    t = next((r for r in form.funding if r["fund_source"] == "total"), {})
    blocks = form.department_blocks
    budget = blocks.get("budget", {})
    goals = blocks.get("goals") or list(filter(None, (form.goal_planned, form.goal_achieved)))
    tasks = blocks.get("tasks", [])
    total_weight = form.total_weight
    if total_weight is None and blocks:  # the template's level points add up to its total (as the row reader)
        points = {ind.level1: ind.level1_weight for ind in form.indicators if ind.level1_weight is not None}
        if points and len(points) == len({ind.level1 for ind in form.indicators}):
            total_weight = sum(points.values())
    res.add("department_forms", {
        "dept_form_id": form_id, "line_start": form.line_start, "line_end": form.line_end, "title": form.title,
        "department": form.department or form.unit, "year": form.year,
        "budget_initial": to_number(t.get("budget_initial")), "budget_full_year": to_number(t.get("budget_full_year")),
        "executed": to_number(t.get("executed")), "exec_rate_reported": to_percent(t.get("exec_rate")),
        "exec_weight": to_number(t.get("exec_weight")), "exec_score_reported": to_number(t.get("exec_score")),
        "goals": "\n".join(goals) or None,
        "tasks": "\n".join(f"{n}: {c}" if c else n for n, c in tasks) or None,
        **{k: budget.get(k) for k in department.BUDGET},
        "total_weight": total_weight, "total_score": form.total_score,
        "notes": "\n".join([*form.notes, *(["部门名称取自表题 (no unit row printed; named by the title)"]
                                          if "department" in form.inferred else [])]) or None,
        "budget_line": blocks.get("budget_lines", {}).get("budget_total", t.get("line")), "template": form.template,
        "amount_unit": form.amount_unit, "goal_count": len(blocks.get("goals", [])), "task_count": len(tasks),
    })
    for seq, ind in enumerate(form.indicators, 1):
        rec = indicator_record(ind)
        rec.update(dept_form_id=form_id, seq=seq)
        res.add("department_indicators", rec)
    res.fate(form_id, form.consumed, form.placeholders)
    name = form.department or form.unit or form.title or "整体绩效自评表"
    for lo in form.leftovers:
        res.add("leftovers", {"line": lo.line, "text": lo.text, "reason": lo.reason, "form_id": form_id})
    if not form.indicators:
        res.problem("warning", f"department form “{name}” has no indicator rows", form.line_start)
    if form.leftovers:
        res.problem("warning", f"department form “{name}”: {len(form.leftovers)} line(s) or cell(s) not read "
                    "(see leftovers)", form.leftovers[0].line)


def _dominant(values: list[str | None]) -> str | None:
    c = Counter(v for v in values if v)
    if not c:
        return None
    (top, n), *rest = c.most_common(2) + [(None, 0)]
    return top if n > rest[0][1] else None


def _infer_context(forms: list[tuple[Form, str]], rows, res: FileResult):
    """Fill blank department, unit, year and region from the document, marking them inferred."""
    fs = [f for f, _ in forms]
    doc_dept = _dominant([f.department for f in fs])
    if doc_dept is None:
        found = [m.group(1) for r in rows[:400] for c in r.cells if c for m in DEPARTMENT_IN_TEXT.finditer(c)]
        doc_dept = _dominant(found)
    doc_year = _dominant([str(f.year) for f in fs if f.year])
    doc_region = _dominant([_region(f.department) for f in fs]) or _region(doc_dept)
    if doc_region is None:
        titles = [m.group(1) for f in fs if f.title for m in [TITLE_REGION.match(f.title)] if m]
        doc_region = _dominant(titles)
    for i, f in enumerate(fs):
        f.inferred = set()
        if not f.department and doc_dept:
            f.department = doc_dept
            f.inferred.add("department")
        if not f.unit:
            before = next((g.unit for g in reversed(fs[:i]) if g.unit and "unit" not in g.inferred), None)
            after = next((g.unit for g in fs[i + 1 :] if g.unit), None)
            if before and before == after:
                f.unit = before
                f.inferred.add("unit")
        if not f.year and doc_year:
            f.year = int(doc_year)
            f.inferred.add("year")
        f.region = _region(f.department) if "department" not in f.inferred else None
        if not f.region:
            f.region = doc_region
            f.inferred.add("region")


def _region(dept: str | None) -> str | None:
    if not dept:
        return None
    m = REGION.match(dept)
    return m.group(1) if m else None


TABLE_FIELDS = ("line_start", "kind", "title")
FUNDING_FIELDS = ("form_id", "line", "fund_source", "label", "budget_initial", "budget_full_year", "executed",
                  "exec_rate_reported")
FORM_FIELDS = (
    "form_id", "line_start", "line_end", "title", "region", "region_inferred", "department",
    "department_inferred", "unit", "unit_inferred", "project_name", "year", "year_inferred", "budget_initial",
    "budget_full_year", "executed", "exec_rate_reported", "exec_weight", "exec_score_reported",
    "total_weight_reported", "total_score_reported", "goal_planned", "goal_achieved", "notes", "layout",
    "complete", "total_line", "funding_line", "project_key", "template", "amount_unit", "grade_printed",
)
INDICATOR_FIELDS = ("form_id", "seq", *INDICATOR_VALUES)


# Form.stop_reason → how the cut-short warning says it
_STOPPED_BY = {"next table": "the next table starts", "heading": "a heading (一、…) starts",
               "end of file": "the file ends"}


def _emit(form: Form, form_id: str, res: FileResult):
    res.fate(form_id, getattr(form, "consumed", None), form.placeholders)
    total = next((r for r in form.funding if r["fund_source"] == "total"), None)
    funding = res.packed_rows("funding", FUNDING_FIELDS)
    for r in form.funding:
        get = r.get
        funding.append((form_id, r["line"], r["fund_source"], r["label"], to_number(get("budget_initial")),
                        to_number(get("budget_full_year")), to_number(get("executed")),
                        to_percent(get("exec_rate"))))
    t = total or {}
    inferred = form.inferred
    res.packed_rows("forms", FORM_FIELDS).append((
        form_id, form.line_start, form.line_end, form.title, form.region, "region" in inferred,
        form.department, "department" in inferred, form.unit, "unit" in inferred, form.project_name,
        form.year, "year" in inferred, to_number(t.get("budget_initial")), to_number(t.get("budget_full_year")),
        to_number(t.get("executed")), to_percent(t.get("exec_rate")), to_number(t.get("exec_weight")),
        to_number(t.get("exec_score")), form.total_weight, form.total_score, form.goal_planned,
        form.goal_achieved, "\n".join(form.notes) or None, form.layout, form.complete, form.total_line,
        t.get("line"), project_key(form.project_name), form.template, form.amount_unit, form.grade,
    ))
    indicators = res.packed_rows("indicators", INDICATOR_FIELDS)
    for seq, ind in enumerate(form.indicators, 1):
        indicators.append(indicator_values(ind, form_id, seq))
    for lo in form.leftovers:
        res.add("leftovers", {"line": lo.line, "text": lo.text, "reason": lo.reason, "form_id": form_id})
    name = form.project_name or form.title or "?"
    if not form.complete:
        where = _STOPPED_BY.get(form.stop_reason or "", "it stops")
        res.problem("warning", f"form “{name}” is cut short: {where} before its 总分 row (read up to "
                    f"line {form.line_end})", form.line_end)
    if form.project_name is None:
        res.problem("warning", "form without a 项目名称 row", form.line_start)
    if total is None:
        res.problem("warning", f"form “{name}” has no 年度资金总额 row", form.line_start)
    if not form.indicators:
        res.problem("warning", f"form “{name}” has no indicator rows", form.line_start)
    if form.leftovers:
        res.problem("warning", f"form “{name}”: {len(form.leftovers)} line(s) or cell(s) not read "
                    "(see leftovers)", form.leftovers[0].line)


# -- batches -------------------------------------------------------------------------------------

def list_inputs(raw: str | Path) -> list[Path]:
    """Files to ingest: a single file, or every non-hidden file under a folder (sorted). Symbolic links
    that point outside the folder, dangle or loop are not listed (scan() reports them)."""
    return [p for p, _ in scan(raw)[0]]


def scan(raw: str | Path) -> tuple[list[tuple[Path, str]], list[tuple[str, str, str]]]:
    """(path, name under the raw folder) of every file to read, and (name, severity, message) of the
    entries that are not read: symbolic links that dangle, loop or point outside the raw folder, and
    links to folders (their files are read where they are). A single file is read as named."""
    raw = Path(raw)
    if not raw.is_dir():
        return [(raw, raw.name)], []
    root = raw.resolve()
    found: list[tuple[Path, str]] = []
    refused: list[tuple[str, str, str]] = []
    for folder, dirs, files in os.walk(raw, followlinks=False):
        dirs.sort()
        here = Path(folder)
        for d in [d for d in dirs if (here / d).is_symlink()]:
            dirs.remove(d)  # os.walk does not enter them; a link out of the folder is reported all the same
            if not d.startswith("."):
                refused.append(_link_problem(here / d, raw, root, folder=True))
        for f in files:
            path = here / f
            if f.startswith(".") or f == "README.md":
                continue
            if path.is_symlink():
                problem = _link_problem(path, raw, root)
                if problem is not None:
                    refused.append(problem)
                    continue
            elif not path.is_file():
                continue  # sockets, fifos, devices: not documents
            found.append((path, str(path.relative_to(raw))))
    found.sort(key=lambda pn: Path(pn[1]).parts)  # as paths sort: a folder's files before "a-b.txt"
    refused.sort(key=lambda r: Path(r[0]).parts)
    return found, refused


def _link_problem(path: Path, raw: Path, root: Path, folder: bool = False) -> tuple[str, str, str] | None:
    """Why a symbolic link is not read (name, severity, message); None for a link to a file inside the folder."""
    name = str(path.relative_to(raw))
    target = os.readlink(path)
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError) as e:
        why = "a loop of symbolic links" if isinstance(e, RuntimeError) or getattr(e, "errno", 0) == 40 else \
            "its target does not exist"
        return name, "error", f"cannot open file: dangling symbolic link to {target} ({why})"
    if real != root and root not in real.parents:
        return name, "error", f"not read: a symbolic link to {target}, outside the raw folder (links are followed " \
            "only inside it)"
    if folder or real.is_dir():
        return name, "info", f"a symbolic link to the folder {target}: not followed (its files are read where they are)"
    if not real.is_file():
        return name, "error", f"not read: a symbolic link to {target}, which is not a regular file"
    return None


@contextmanager
def _gc_paused():
    """Reading allocates millions of small lists and tuples and makes no reference cycles: cyclic
    collections would only rescan them (and every result kept so far), at a cost of up to half the
    reading time. Collection resumes afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _read_one(args) -> FileResult:
    path, name = args
    with _gc_paused():
        return read_file(path, name)


def _read_batch(batch, finish: Callable | None = None) -> list:
    """_read_one of consecutive files in a worker process (or an executor's task): their results go back as
    typed arrays, one set per table for the whole batch, or as what `finish` makes of them (the dataset
    writes them as part files there and returns a small record per file)."""
    with _gc_paused():
        out = [_read_one(a) for a in batch]
        return finish(out) if finish else freeze_batch(out)


# -- limits: every file is read in a worker process, under a time and a memory limit ----------------------
FILE_TIMEOUT = 60.0  # seconds one file may take to read (PERFDATA_FILE_TIMEOUT; 0 or "none": no limit)
FILE_MEMORY = 2048  # MiB of memory a worker may take on top of its size at start (PERFDATA_FILE_MEMORY; 0: none)


def limits(file_timeout: float | None = None, file_memory: int | None = None) -> tuple[float | None, int | None]:
    """The time limit (s) and memory limit (MiB) per file: the arguments, else PERFDATA_FILE_TIMEOUT and
    PERFDATA_FILE_MEMORY, else FILE_TIMEOUT and FILE_MEMORY; 0 (or "none") is no limit.

    >>> limits(30, 0)
    (30.0, None)
    """
    def pick(value, env: str, default, kind):
        if value is None:
            text = os.environ.get(env, "").strip().lower()
            if text in ("none", "off", "no"):
                return None
            try:
                value = kind(text) if text else default
            except ValueError:
                raise ValueError(f"{env}={os.environ[env]!r}: a number is expected (0 or 'none': no limit)") from None
        return kind(value) if value and value > 0 else None

    return pick(file_timeout, "PERFDATA_FILE_TIMEOUT", FILE_TIMEOUT, float), \
        pick(file_memory, "PERFDATA_FILE_MEMORY", FILE_MEMORY, int)


def ingest(raw: str | Path, jobs: int | None = None, progress: bool | None = None, *,
           file_timeout: float | None = None, file_memory: int | None = None,
           isolate: bool = True, out: str | Path | None = None, partitioned: bool = False,
           executor=None, cluster: str | None = None):
    """Read every file under `raw`; returns the tidy tables.

    Files are read in `jobs` worker processes (default: one per core up to 8 for 8 files or more, else
    one), each file under a time limit of `file_timeout` seconds and a memory limit of `file_memory` MiB
    (see limits()). A file that overruns either, or whose reader crashes its process, is one `error`
    problem; the worker is replaced and the other files are read. Identical files (same SHA-256) are read
    once: the copies get `files.duplicate_of` and an info problem. `isolate=False` reads in this process,
    without limits (for profilers and debuggers).

    `out` also writes the tables there (store.write). `partitioned=True` writes them to `out` as a
    partitioned dataset instead, as the files are read (bounded memory; files unchanged since the last run
    are not read again) and returns a dataset.Summary, not the tables: see perfdata/dataset.py.
    `executor` (any concurrent.futures.Executor, e.g. a dask Client's get_executor()) or `cluster` (a dask
    scheduler address such as "tcp://host:8786") reads the files there instead of in local processes; the
    time limit is then per task and the memory limit the workers' own (see _run_tasks).
    """
    if partitioned:
        if out is None:
            raise ValueError("partitioned=True needs out=: the folder of the dataset")
        from perfdata import dataset

        return dataset.write(raw, out, jobs=jobs, progress=progress, file_timeout=file_timeout,
                             file_memory=file_memory, isolate=isolate, executor=executor, cluster=cluster)
    raw = Path(raw)
    found, refused = scan(raw)
    timeout, memory = limits(file_timeout, file_memory)
    originals, copies = _duplicates(found)
    args = [found[k] for k in originals]
    bar = _progress(len(args), progress)
    with _gc_paused(), executor_of(executor, cluster) as ex:
        read = read_files([(p.absolute(), n) for p, n in args] if ex else args, bar,
                          jobs=default_jobs(len(found)) if jobs is None else jobs, timeout=timeout, memory=memory,
                          isolate=isolate, executor=ex)
        bar.close()
        results: list[FileResult] = [None] * len(found)  # type: ignore[list-item]
        for k, res in zip(originals, read, strict=True):
            results[k] = res
        for k, orig in copies.items():
            results[k] = _duplicate(found[k][1], results[orig], found[k][0])
        results += [_refused(*r) for r in refused]
        tables = combine(sorted(results, key=lambda r: Path(r.source_file).parts) if refused else results)
    if out is not None:
        from perfdata import store

        store.write(tables, out)
    return tables


def default_jobs(n_files: int) -> int:
    """Reader processes for a batch of n files: one per core (up to 8) from 8 files on, else one."""
    return min(os.cpu_count() or 1, 8) if n_files >= 8 else 1


def read_files(args: list[tuple[Path, str]], bar, *, jobs: int | None = None, timeout: float | None = None,
               memory: int | None = None, isolate: bool = True, executor=None, finish: Callable | None = None,
               size: int | None = None) -> list:
    """The result of every (path, name) in `args`, in order: a FileResult, or what `finish` made of it in the
    worker (a file the worker could not finish is a FileResult all the same, its error row). The reading runs
    on `executor` if given, else in `jobs` worker processes under the limits, else (isolate=False, or in a
    daemonic process) here; `size` files go to a worker at a time (default: about 8 batches per worker)."""
    if jobs is None:
        jobs = default_jobs(len(args))
    if executor is not None:
        return _run_tasks(executor, args, bar, timeout, finish, size, jobs)
    if isolate and not _daemonic():
        return _Pool(max(1, jobs), timeout, memory, finish).run(args, bar, size)
    out: list = []
    size = size or max(1, len(args))
    for k in range(0, len(args), size):
        with _gc_paused():
            done = [_read_one(a) for a in args[k : k + size]]
        out += finish(done) if finish else done
        bar.update(len(done))
    return out


def _daemonic() -> bool:
    """Whether this is a daemonic process (a worker of a multiprocessing pool), which may not start processes:
    the ingest then reads in this process."""
    import multiprocessing as mp

    return bool(mp.current_process().daemon)


def _duplicates(found: list[tuple[Path, str]]) -> tuple[list[int], dict[int, int]]:
    """The files to read, and copy → original for files whose bytes equal an earlier file's (same size
    first, then SHA-256: only files of equal size are hashed)."""
    by_size: dict[int, list[int]] = {}
    for k, (path, _) in enumerate(found):
        with suppress(OSError):  # the reader reports it
            by_size.setdefault(path.stat().st_size, []).append(k)
    copies: dict[int, int] = {}
    for same in by_size.values():
        if len(same) < 2:
            continue
        first: dict[str, int] = {}
        for k in same:
            try:
                sha = _sha256_of(found[k][0])
            except OSError:
                continue
            if sha in first:
                copies[k] = first[sha]
            else:
                first[sha] = k
    return [k for k in range(len(found)) if k not in copies], copies


def _sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _duplicate(name: str, orig: FileResult, path: Path | None = None) -> FileResult:
    """The result of a file identical to one already read (at `path`): its files row (no forms of its own) and
    an info row."""
    res = FileResult(name)
    row = next(iter(_unpacked(orig, "files")), {})
    res.add("files", {**{k: v for k, v in row.items() if k not in ("source_file", "location")}, "forms": 0,
                      "duplicate_of": orig.source_file, "path": None if path is None else os.path.abspath(path)})
    res.problem("info", f"identical to {orig.source_file} (same SHA-256): read once, its tables are listed under "
                "that file")
    return res


def _refused(name: str, severity: str, message: str) -> FileResult:
    """A directory entry that is not read (a symbolic link that dangles or leads out of the raw folder)."""
    res = FileResult(name)
    res.problem(severity, message)
    if severity == "error":
        res.add("files", {"sha256": None, "bytes": None, "encoding": None, "lines": None, "forms": 0,
                          "status": "failed"})
    return res


def _failed(path: Path, name: str, message: str) -> FileResult:
    """The result of a file whose reading was stopped (time limit) or whose worker died."""
    res = FileResult(name)
    row = {"sha256": None, "bytes": None, "encoding": None, "lines": None, "forms": 0, "status": "failed"}
    try:
        data = path.read_bytes()
        row.update(sha256=hashlib.sha256(data).hexdigest(), bytes=len(data))
        from perfdata.readers.detect import sniff

        row["format"] = sniff(data)
    except Exception:  # noqa: BLE001 - the row says what is known
        pass
    res.problem("error", message)
    res.add("files", row)
    return _located(res, path)


_SIGNALS = {getattr(signal, name): f"{what} ({name})" for name, what in (
    ("SIGABRT", "aborted"), ("SIGSEGV", "crashed"), ("SIGKILL", "was killed"), ("SIGBUS", "crashed"),
    ("SIGFPE", "crashed"), ("SIGILL", "crashed")) if hasattr(signal, name)}
_MEMORY_LIMIT: int | None = None  # MiB, in a worker process: what read_bytes says on a MemoryError


class _Worker:
    """One reader process: takes a batch of files, says in shared memory which file it is reading and
    since when, and sends the batch's results back; its standard error goes to a file, for the message
    when it dies."""

    def __init__(self, ctx, memory: int | None, finish: Callable | None = None):
        import tempfile

        # open for the worker's life, removed by stop(); a path, not a descriptor, so that spawned workers open it too
        self.err = tempfile.NamedTemporaryFile(prefix="perfdata-worker-", suffix=".err")  # noqa: SIM115
        self.state = ctx.RawArray("d", 2)  # index of the file being read in the batch, monotonic start (0: none)
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_work, args=(child, self.state, memory, self.err.name, finish), daemon=True)
        self.proc.start()
        child.close()
        self.task: list[tuple[int, tuple[Path, str]]] | None = None
        self.err_at = 0

    def give(self, task):
        self.task = task
        self.err_at = self.err.seek(0, os.SEEK_END)
        self.state[1] = 0.0
        self.conn.send([a for _, a in task])

    def stderr_tail(self) -> str:
        """The first line the worker wrote to standard error during its last task (a native reader's message)."""
        self.err.seek(self.err_at)
        text = self.err.read(4096).decode("utf-8", "replace")
        line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
        return line[:200]

    def stop(self, kill: bool = False):
        if self.proc.is_alive():
            if kill:
                self.proc.kill()
            else:
                try:
                    self.conn.send(None)
                except OSError:
                    self.proc.kill()
            self.proc.join(5)
            if self.proc.is_alive():
                self.proc.kill()
                self.proc.join()
        self.conn.close()
        if not kill:  # what the reader printed (warnings), as if it had run in this process
            self.err.seek(0)
            out = self.err.read().decode("utf-8", "replace")
            if out.strip():
                sys.stderr.write(out)
        self.err.close()


def _work(conn, state, memory: int | None, err_path: str, finish: Callable | None = None):
    """A worker process: read batches of files until told to stop (and send back each batch's results, or what
    `finish` makes of them)."""
    global _MEMORY_LIMIT
    import faulthandler

    err = os.open(err_path, os.O_WRONLY | os.O_APPEND)
    os.dup2(err, 2)  # what native code writes (an abort's message) lands there
    # and Python's own output too, not the parent's streams (a notebook's are sockets)
    sys.stdout = sys.stderr = open(2, "w", buffering=1, errors="replace", closefd=False)  # noqa: SIM115
    if faulthandler.is_enabled():  # (pytest, python -X faulthandler) its dump of a crash goes with the rest
        faulthandler.enable(file=2)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops the workers
    if memory:
        _MEMORY_LIMIT = memory
        _limit_memory(memory)
    try:
        while True:
            try:
                batch = conn.recv()
            except EOFError:
                return
            if batch is None:
                return
            out = []
            with _gc_paused():
                for k, a in enumerate(batch):
                    state[1] = 0.0  # in this order: the parent never sees a new file with the last one's start
                    state[0] = k
                    state[1] = time.monotonic()
                    out.append(_read_one(a))
                state[1] = 0.0
                conn.send(finish(out) if finish else freeze_batch(out))
                del out
    except BaseException:  # noqa: BLE001 - e.g. MemoryError returning the results: the parent retries file by file
        os._exit(70)


def _limit_memory(mib: int):
    """Cap the process's address space at its present size plus `mib` MiB (Linux, where it is measurable)."""
    try:
        import resource

        with open("/proc/self/statm") as f:
            size = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        cap = size + mib * 2**20
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            cap = min(cap, hard)
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    except (ImportError, OSError, ValueError):
        pass  # no /proc or no RLIMIT_AS: the time limit still holds


class _Pool:
    """`jobs` worker processes reading batches of files. A worker that dies or overruns the time limit costs
    the file it was reading (an error row): it is replaced, and the other files of its batch are read again."""

    def __init__(self, jobs: int, timeout: float | None, memory: int | None, finish: Callable | None = None):
        import multiprocessing as mp

        # fork on Linux: a worker starts in milliseconds with everything imported (and what a test patched);
        # elsewhere the platform's default (spawn on macOS and Windows)
        self.ctx = mp.get_context("fork") if sys.platform.startswith("linux") else mp.get_context()
        self.jobs, self.timeout, self.memory, self.finish = jobs, timeout, memory, finish

    def run(self, args: list[tuple[Path, str]], bar, size: int | None = None) -> list:
        from collections import deque
        from multiprocessing.connection import wait

        if not args:
            return []
        size = size or max(1, len(args) // (self.jobs * 8))
        todo = deque([list(enumerate(args))[k : k + size] for k in range(0, len(args), size)])
        out: list[FileResult | None] = [None] * len(args)
        workers: list[_Worker] = []
        try:
            workers = [_Worker(self.ctx, self.memory, self.finish) for _ in range(min(self.jobs, len(todo)))]
            while todo or any(w.task for w in workers):
                for w in workers:
                    if w.task is None and todo:
                        w.give(todo.popleft())
                busy = [w for w in workers if w.task]
                ready = wait([w.conn for w in busy] + [w.proc.sentinel for w in busy], self._wait(busy))
                for k, w in enumerate(workers):
                    if not w.task:
                        continue
                    if w.conn in ready or w.proc.sentinel in ready:
                        done = self._collect(w, out)
                        if done is None:  # died
                            todo.extendleft(reversed(self._lost(w, out, self._death(w))))
                            workers[k] = self._replace(w)
                        else:
                            bar.update(done)
                    elif self._overran(w):
                        state = (w.state[0], w.state[1])  # before the kill: the worker may move on meanwhile
                        w.proc.kill()
                        todo.extendleft(reversed(self._lost(w, out, self._overrun(), state)))
                        workers[k] = self._replace(w)
        finally:
            for w in workers:
                w.stop(kill=any(w.task for w in workers))
        return out  # type: ignore[return-value]

    def _wait(self, busy: list[_Worker]) -> float | None:
        if self.timeout is None:
            return None
        now = time.monotonic()
        starts = [w.state[1] or now for w in busy]
        return max(0.01, min(starts) + self.timeout - now + 0.01)

    def _overran(self, w: _Worker) -> bool:
        start = w.state[1]
        return self.timeout is not None and start > 0 and time.monotonic() - start > self.timeout

    def _collect(self, w: _Worker, out) -> int | None:
        """Store a finished batch's results; None when the worker died instead."""
        try:
            if not w.conn.poll():
                return None
            results = w.conn.recv()
        except (EOFError, OSError, MemoryError):
            return None
        except Exception:  # noqa: BLE001 - a result that cannot be unpickled: read the files again one by one
            return None
        for (k, _), res in zip(w.task, results, strict=True):
            out[k] = res
        n = len(w.task)
        w.task = None
        return n

    def _lost(self, w: _Worker, out, why: str, state: tuple[float, float] | None = None) -> list[list]:
        """After a death or a timeout: the file being read fails with `why`; the rest of the batch is read again
        (one file per batch when the worker was not inside a file)."""
        task, w.task = w.task, None
        at, start = state or (w.state[0], w.state[1])
        at = int(at)
        if start > 0 or len(task) == 1:
            at = at if start > 0 else 0
            k, (path, name) = task[at]
            out[k] = _failed(path, name, why)
            rest = task[:at] + task[at + 1 :]
            return [rest] if rest else []
        return [[t] for t in task]

    def _death(self, w: _Worker) -> str:
        w.proc.join(5)
        code = w.proc.exitcode
        said = w.stderr_tail()
        mem = f"{self.memory:,} MiB" if self.memory else "no limit"
        if code is not None and code < 0:
            what = _SIGNALS.get(-code, f"was stopped by signal {-code}")
        elif code == 70:
            what = "failed returning its tables (out of memory?)"
        else:
            what = f"exited with status {code}"
        hint = ""
        if code == -signal.SIGABRT:
            hint = f"; a native reader aborts this way when it runs out of memory (limit {mem} per file)"
        elif code == -signal.SIGKILL:
            hint = "; probably the system's out-of-memory killer"
        return (f"not read: the reader process {what} while reading this file{': ' + said if said else ''}{hint}. "
                "The other files were read")

    def _overrun(self) -> str:
        return (f"not read: reading took longer than the time limit of {self.timeout:g} s per file "
                "(file_timeout, PERFDATA_FILE_TIMEOUT); stopped. The other files were read")

    def _replace(self, w: _Worker) -> _Worker:
        w.stop(kill=True)
        return _Worker(self.ctx, self.memory, self.finish)


# -- executors: the same reading as tasks on any concurrent.futures.Executor (threads, processes, a dask cluster) --

@contextmanager
def executor_of(executor=None, cluster: str | None = None):
    """The executor to read on: `executor` itself, or a dask.distributed Client's connected to the scheduler
    at `cluster` (closed afterwards), or None for the local worker processes."""
    if cluster is None:
        yield executor
        return
    if executor is not None:
        raise ValueError("give executor= or cluster=, not both")
    try:
        from distributed import Client
    except ImportError:
        raise ImportError("cluster= needs dask.distributed: pip install 'perfdata[cluster]'") from None
    client = Client(cluster)
    try:
        yield client.get_executor()
    finally:
        client.close()


def executor_slots(executor, default: int) -> int:
    """How many tasks `executor` runs at once (its workers' threads for a dask client): tasks are submitted
    that many at a time, so that a task's time limit starts about when it does."""
    client = getattr(executor, "_client", None)
    if client is not None:
        with suppress(Exception):
            return max(1, sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values()))
    return max(1, getattr(executor, "_max_workers", None) or default)


def _run_tasks(executor, args: list[tuple[Path, str]], bar, timeout: float | None, finish: Callable | None,
               size: int | None, jobs: int) -> list:
    """read_files() on an executor: batches of files as tasks, `slots` of them in flight.

    Limits mean less than in the local pool, which kills a reader process: a task that takes longer than
    `timeout` × its files (counted from its submission) is given up — its future is cancelled, a batch of
    several files is tried again one file per task, and a single file becomes an error row — but a task
    already running cannot be stopped, so its worker thread stays busy until the reader returns. Memory is the
    workers' own limit (dask-worker --memory-limit: a worker over it is restarted and its task fails, which
    costs the same). A task that fails in any way (an exception, a worker that died) is
    handled like an overrun: its files one by one, then an error row for the file that fails alone.
    """
    from collections import deque
    from concurrent.futures import FIRST_COMPLETED, wait

    slots = executor_slots(executor, jobs)
    size = size or max(1, len(args) // (slots * 8))
    todo = deque([list(enumerate(args))[k : k + size] for k in range(0, len(args), size)])
    out: list = [None] * len(args)
    running: dict = {}  # future → (task, deadline or None)

    def give_up(task, why: str):
        if len(task) > 1:
            todo.extendleft([t] for t in reversed(task))
        else:
            (k, (path, name)), = task
            out[k] = _failed(path, name, why)
            bar.update(1)

    try:
        while todo or running:
            while todo and len(running) < slots:
                task = todo.popleft()
                fut = executor.submit(_read_batch, [a for _, a in task], finish)
                running[fut] = (task, time.monotonic() + timeout * len(task) if timeout else None)
            deadlines = [d for _, d in running.values() if d is not None]
            wait_s = max(0.01, min(deadlines) - time.monotonic()) if deadlines else None
            done, _ = wait(list(running), timeout=wait_s, return_when=FIRST_COMPLETED)
            for fut in done:
                task, _ = running.pop(fut)
                try:
                    results = fut.result()
                except BaseException as e:  # noqa: BLE001 - a failed task costs its files, never the batch
                    give_up(task, f"not read: the task reading this file failed on the executor ({type(e).__name__}: "
                            f"{str(e)[:200]}). The other files were read")
                    continue
                for (k, _), res in zip(task, results, strict=True):
                    out[k] = res
                bar.update(len(task))
            now = time.monotonic()
            for fut, (task, deadline) in list(running.items()):
                if deadline is not None and now > deadline:
                    fut.cancel()
                    del running[fut]
                    give_up(task, f"not read: reading took longer than the time limit of {timeout:g} s per file "
                            "(file_timeout, PERFDATA_FILE_TIMEOUT) on the executor; given up. The other files were "
                            "read")
    finally:
        for fut in running:
            fut.cancel()
    return out


def _progress(total: int, enabled: bool | None):
    from tqdm.auto import tqdm

    disable = (total < 20) if enabled is None else not enabled
    return tqdm(total=total, unit="file", desc="ingest", disable=disable, leave=False)


def combine(results: list[FileResult], linked: bool = True) -> dict[str, pd.DataFrame]:
    """The tables of a batch of results, in file order; `linked=False` leaves summary rows, targets and
    statements unlinked to the forms (the dataset links them per group of region and year, keys.link)."""
    out = {}
    for name in schema.INGEST_TABLES:
        rows = [r for res in results for r in res.tables.get(name, [])]
        packed = [res for res in results if name in res.packed]
        frozen = [res for res in results if name in res.frozen]
        if not packed and not frozen:
            out[name] = schema.frame_columns(name, _dict_columns(name, rows))
        elif rows or len({res.packed[name][0] for res in packed}) > 1:
            # dicts and tuples for one table (or two field orders): the general path, in file order
            rows = [r for res in results for r in _unpacked(res, name)]
            out[name] = schema.frame(name, rows)
        elif frozen:
            for res in packed:
                res.freeze()
            out[name] = schema.frame_arrays(name, [res.frozen[name] for res in results if name in res.frozen])
        else:
            out[name] = schema.frame_columns(name, _columns(name, packed))
    return link(out) if linked else out


def _dict_columns(name: str, rows: list[dict]) -> dict[str, list]:
    """Columns of table `name` from dict rows: typed arrays from columns cost a fraction of a frame from
    records that is cast afterwards (most of the small tables are empty, too)."""
    get = [r.get for r in rows]
    return {c.name: [g(c.name) for g in get] for c in schema.TABLES[name]}


def _unpacked(res: FileResult, name: str) -> list[dict]:
    fields, values = res.packed.get(name, ((), []))
    rows = [{**dict(zip(fields, v, strict=True)), "source_file": res.source_file} for v in values]
    if name in res.frozen:
        cols = {k: a.to_numpy(dtype=object, na_value=None) for k, a in res.frozen[name].items()}
        rows += [dict(zip(cols, v, strict=True)) for v in zip(*cols.values(), strict=True)]
    return rows + res.tables.get(name, [])


def _columns(name: str, packed: list[FileResult]) -> dict[str, list]:
    """Concatenate the packed tuples of all files and turn them into columns (with source_file)."""
    fields = packed[0].packed[name][0]
    values = [v for res in packed for v in res.packed[name][1]]
    cols = dict(zip(fields, zip(*values, strict=True), strict=True)) if values else \
        {f: [] for f in fields}
    cols["source_file"] = [res.source_file for res in packed for _ in res.packed[name][1]]
    return cols


def read(path: str | Path, reader: str = "auto") -> dict[str, pd.DataFrame]:
    """Read one raw file (or folder) into the tidy tables, for notebooks. `reader="tokens"`: the token
    reader's reading of a file wherever it finds a table (see read_bytes), to compare with ingest's."""
    if reader == "auto":
        return ingest(path, jobs=1, progress=False)
    return combine(freeze_batch([read_bytes(f.read_bytes(), f.name, reader) for f in list_inputs(path)]))
