"""Ingest: raw files → tidy tables. Each file is read independently (and can run in its own
process); a file that cannot be read yields a problem row, never an exception for the batch.
"""

from __future__ import annotations

import gc
import hashlib
import os
import re
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from perfdata import schema
from perfdata.grid import ReadError
from perfdata.keys import link, project_key
from perfdata.normalize import to_number, to_percent
from perfdata.readers.detect import read_grid
from perfdata.tables import engine, layout
from perfdata.tables.forms import INDICATOR_FIELDS as INDICATOR_VALUES
from perfdata.tables.forms import Form, indicator_values, read_form

REGION = re.compile(r"^(.{2,8}?(?:自治州|自治县|地区|盟|市|县|区|旗))")
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

    def problem(self, severity: str, message: str, line: int | None = None):
        self.add("problems", {"line": line, "severity": severity, "message": message})


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


def read_file(path: str | Path, name: str | None = None) -> FileResult:
    """Read one raw file into table rows. Never raises for bad input: problems are rows."""
    path = Path(path)
    res = FileResult(name or path.name)
    try:
        data = path.read_bytes()
    except OSError as e:
        res.problem("error", f"cannot open file: {e.strerror or e}")
        res.add("files", {"sha256": None, "bytes": None, "encoding": None, "lines": None,
                          "forms": 0, "status": "failed"})
        return res
    return read_bytes(data, res.source_file)


def read_bytes(data: bytes, source_file: str) -> FileResult:
    res = FileResult(source_file)
    sha = hashlib.sha256(data).hexdigest()
    file_row = {"sha256": sha, "bytes": len(data), "encoding": None, "lines": None, "forms": 0,
                "status": "failed"}
    try:
        grid, found = read_grid(data, source_file)  # text, .xlsx/.xls, .docx or .pdf, by content
    except ReadError as e:
        res.problem("error", str(e), e.line)
        res.add("files", file_row)
        return res
    except Exception as e:  # noqa: BLE001 - a reader bug must not take down the batch
        res.problem("error", f"internal error while reading: {type(e).__name__}: {e}")
        res.add("files", file_row)
        return res
    file_row["format"] = getattr(grid, "format", None) or "text"
    file_row["encoding"] = grid.encoding if file_row["format"] == "text" else None
    file_row["lines"] = grid.rows[-1].end if grid.rows else 0
    for severity, message, line in found:
        res.problem(severity, message, line)
    if file_row["format"] == "text" and grid.encoding not in ("utf-8", "utf-8-sig"):
        res.problem("info", f"decoded as {grid.encoding}")
    try:
        early = len(res.tables.get("problems", []))  # the reader's own problems, kept whatever reads the forms
        forms = _read_forms(grid.rows, res, sha)
        if _needs_tokens(res):
            forms = _read_tokens(grid.rows, res, sha, early) or forms
    except Exception as e:  # noqa: BLE001
        res.problem("error", f"internal error while reading forms: {type(e).__name__}: {e}")
        res.add("files", file_row)
        return res
    file_row["forms"] = forms
    _locate(res, getattr(grid, "locations", None))
    if not res.packed.get("tables", ((), ()))[1]:
        res.problem("error", "no known table found (not a self-evaluation document, or an unknown layout)")
        file_row["status"] = "failed"
    elif any(p["severity"] in ("error", "warning") for p in res.tables.get("problems", [])):
        file_row["status"] = "partial"
    else:
        file_row["status"] = "ok"
    res.add("files", file_row)
    return res


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


def _read_forms(rows, res: FileResult, sha: str) -> int:
    starts = layout.find_tables(rows)
    found = res.packed_rows("tables", TABLE_FIELDS)
    forms: list[tuple[Form, str]] = []
    for k, st in enumerate(starts):
        found.append((rows[st.index].line, st.kind, st.title or None))
        stop = starts[k + 1].index if k + 1 < len(starts) else len(rows)
        if st.kind != "project_form":
            reader = TABLE_READERS.get(st.kind)
            if reader is not None:
                _guarded(reader, res, rows[st.index].line, f"the {st.kind} at this line", rows, st, stop, res, sha)
            continue
        form, _ = read_form(rows, st.index, st.anchor, stop)
        form_id = f"{sha[:10]}-{form.line_start:05d}"
        forms.append((form, form_id))
    for reader in DOCUMENT_READERS:
        _guarded(reader, res, None, f"{reader.__module__}.{reader.__name__}", rows, starts, res, sha)
    if not forms:
        return 0
    _infer_context(forms, rows, res)
    for form, form_id in forms:
        _emit(form, form_id, res)
    return len(forms)


def _needs_tokens(res: FileResult) -> bool:
    """Whether the row reader missed this document's forms: it found no table at all, or project forms
    without a single funding figure (cell boundaries lost in copying; tables/engine.py reads those)."""
    fields, forms = res.packed.get("forms", (FORM_FIELDS, []))
    if not forms:  # no project form read (the token reader's forms replace other tables only if it finds some)
        return True
    at = [fields.index(c) for c in ("budget_initial", "budget_full_year", "executed")]
    return all(all(f[i] is None for i in at) for f in forms)


def _read_tokens(rows, res: FileResult, sha: str, early: int) -> int:
    """Read the document again with the token reader; when it finds forms, they replace the row reader's
    reading of this file (its other tables, problems and leftovers included)."""
    from perfdata.normalize import looks_traditional, simplify

    trad = looks_traditional("\n".join(r.raw for r in rows[:2000] if r.raw))
    toks = engine.tokens(rows, simplify if trad else None)
    forms = engine.read_tokens(toks, rows[-1].end if rows else 0)
    forms += engine.read_rubrics(toks, rows[-1].end if rows else 0)
    summaries = engine.read_summaries(toks)
    # where the row reader read other tables (target tables, summaries, department forms), the token
    # reader's reading replaces it only when it finds project forms the row reader missed
    read_by_rows = any(res.tables.get(t) for t in ("target_indicators", "summary_rows", "department_forms"))
    if not forms and not summaries or read_by_rows and not any(f.kind == "project" and f.funding for f in forms):
        return 0
    kept = res.tables.get("problems", [])[:early]
    res.tables.clear()
    res.packed.clear()
    res.tables["problems"] = kept
    if trad:
        res.problem("info", "traditional characters converted to simplified (OpenCC t2s) for reading; "
                    "evidence keeps the original text")
    found = res.packed_rows("tables", TABLE_FIELDS)
    pairs = []
    for form in forms:
        found.append((form.line_start, f"{form.kind}_form", form.title))
        form_id = f"{sha[:10]}-{form.line_start:05d}"
        if form.kind == "department":
            _emit_department(form, form_id, res)
        else:
            pairs.append((form, form_id))
    for table in summaries:
        found.append((table.line, "summary", table.title))
        summary_id = f"{sha[:10]}-{table.line:05d}"
        for r in table.rows:
            res.add("summary_rows", {**r, "table_line": table.line, "summary_id": summary_id, "title": table.title,
                                     "project_key": None if r["is_total"] else project_key(r["project_name"])})
        for lo in table.leftovers:
            res.add("leftovers", {"line": lo.line, "text": lo.text, "reason": lo.reason})
        if table.leftovers:
            res.problem("warning", f"summary table at line {table.line}: {len(table.leftovers)} row(s) not read "
                        "(see leftovers)", table.leftovers[0].line)
    if pairs:
        _infer_context(pairs, rows, res)
    for form, form_id in pairs:
        _emit(form, form_id, res)
    return len(pairs)


def _emit_department(form: Form, form_id: str, res: FileResult):
    """A 部门整体支出绩效自评表 in the project layout, read by the token reader, into the department tables."""
    from perfdata.tables.forms import indicator_record

    t = next((r for r in form.funding if r["fund_source"] == "total"), {})
    res.add("department_forms", {
        "dept_form_id": form_id, "line_start": form.line_start, "line_end": form.line_end, "title": form.title,
        "department": form.department or form.unit, "year": form.year,
        "budget_initial": to_number(t.get("budget_initial")), "budget_full_year": to_number(t.get("budget_full_year")),
        "executed": to_number(t.get("executed")), "exec_rate_reported": to_percent(t.get("exec_rate")),
        "exec_weight": to_number(t.get("exec_weight")), "exec_score_reported": to_number(t.get("exec_score")),
        "goals": "\n".join(filter(None, (form.goal_planned, form.goal_achieved))) or None,
        "total_weight": form.total_weight, "total_score": form.total_score,
        "notes": "\n".join([*form.notes, *(["部门名称取自表题 (no unit row printed; named by the title)"]
                                          if "department" in form.inferred else [])]) or None,
        "budget_line": t.get("line"), "template": form.template, "amount_unit": form.amount_unit,
        "goal_count": 0, "task_count": 0,
    })
    for seq, ind in enumerate(form.indicators, 1):
        rec = indicator_record(ind)
        rec.update(dept_form_id=form_id, seq=seq)
        res.add("department_indicators", rec)
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
        titles = [m.group(1) for f in fs if f.title for m in [REGION.match(f.title)] if m]
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
    "complete", "total_line", "funding_line", "project_key", "template", "amount_unit",
)
INDICATOR_FIELDS = ("form_id", "seq", *INDICATOR_VALUES)


# Form.stop_reason → how the cut-short warning says it
_STOPPED_BY = {"next table": "the next table starts", "heading": "a heading (一、…) starts",
               "end of file": "the file ends"}


def _emit(form: Form, form_id: str, res: FileResult):
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
        t.get("line"), project_key(form.project_name), form.template, form.amount_unit,
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
    """Files to ingest: a single file, or every non-hidden file under a folder (sorted)."""
    raw = Path(raw)
    if raw.is_file():
        return [raw]
    return sorted(p for p in raw.rglob("*") if p.is_file() and not p.name.startswith(".")
                  and p.name != "README.md")


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


def _read_batch(batch) -> list[FileResult]:
    """_read_one of consecutive files in a worker process: their results go back as typed arrays, one set
    per table for the whole batch."""
    with _gc_paused():
        return freeze_batch([_read_one(a) for a in batch])


def ingest(raw: str | Path, jobs: int | None = None, progress: bool | None = None) -> dict[str, pd.DataFrame]:
    """Read every file under `raw`; returns the tidy tables. Uses `jobs` processes for large batches."""
    raw = Path(raw)
    paths = list_inputs(raw)
    base = raw if raw.is_dir() else raw.parent
    args = [(p, str(p.relative_to(base))) for p in paths]
    if jobs is None:
        jobs = min(os.cpu_count() or 1, 8) if len(paths) >= 8 else 1
    bar = _progress(len(args), progress)
    with _gc_paused():
        return _ingest(args, jobs, bar)


def _ingest(args, jobs: int, bar) -> dict[str, pd.DataFrame]:
    results: list[FileResult] = []
    if jobs > 1 and len(args) > 1:
        size = max(1, len(args) // (jobs * 8))
        batches = [args[k : k + size] for k in range(0, len(args), size)]
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            for batch in pool.map(_read_batch, batches):
                results.extend(batch)
                bar.update(len(batch))
    else:
        for a in args:
            results.append(_read_one(a))
            bar.update(1)
    bar.close()
    return combine(results)


def _progress(total: int, enabled: bool | None):
    from tqdm.auto import tqdm

    disable = (total < 20) if enabled is None else not enabled
    return tqdm(total=total, unit="file", desc="ingest", disable=disable, leave=False)


def combine(results: list[FileResult]) -> dict[str, pd.DataFrame]:
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
    return link(out)


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


def read(path: str | Path) -> dict[str, pd.DataFrame]:
    """Read one raw file (or folder) into the tidy tables, for notebooks."""
    return ingest(path, jobs=1, progress=False)
