"""Reader for workbooks (.xlsx/.xlsm, and .xls/.xlsb/.ods through calamine) → the same Grid as text.

Every sheet is read in order into one Grid, one Row per sheet row, cells at their column index (A = 0),
so the layout and form readers see what a text export of the sheet would give. Choices:
- Merged ranges keep their value in the top-left cell and leave the covered cells blank, as a PDF text
  export does; the form reader already carries a level cell down to the rows under it, so a merged
  一级指标 belongs to every row it spans. (Copying the value into every covered cell would repeat row
  labels such as 绩效指标 into each indicator row.)
- Numbers are written back as text the way they print: 10.0 → "10", and a fraction whose number format
  is a percentage → "93.3%" (0.933). Numbers stored as text stay text.
- Hidden rows and sheets are read like the others (nothing lost) and named in an info problem.
- Engines: calamine (Rust) reads values about ten times faster but knows nothing of number formats
  or hidden rows; openpyxl knows both. openpyxl is used where the workbook defines a percentage format
  and is small enough to load whole; calamine everywhere else (no percentage style, large sheets,
  .xlsb/.ods). Legacy .xls goes through xlrd, which keeps its number formats and hidden rows.
  `benchmarks/bench_formats.py` measures them.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

from perfdata.normalize import clean
from perfdata.readers.detect import DocGrid, check_zip
from perfdata.readers.text import ReadError, Row

OPENPYXL_MAX_XML = 16 * 2**20  # uncompressed sheet XML above this is read by calamine (streaming, compact)
MAX_ROWS = 300_000  # rows read per workbook; beyond that the rest is reported, not read
_PERCENT_STYLE = re.compile(rb'formatCode="[^"]*%')
_BUILTIN_PERCENT = re.compile(rb'<xf [^>]*numFmtId="(?:9|10)"')
_HIDDEN_ROW = re.compile(rb'<row [^>]*hidden="(?:1|true)"[^>]*>')
_ROW_NO = re.compile(rb'\br="(\d+)"')


def number_text(v: float | int, percent: bool = False) -> str:
    """A stored number as it prints: no float noise, integers without ".0", percentages ×100.

    >>> number_text(139.04), number_text(10.0), number_text(0.933, percent=True), number_text(1, True)
    ('139.04', '10', '93.3%', '100%')
    """
    if percent:
        return number_text(round(v * 100, 10)) + "%"
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return format(v, ".15g")
    return str(v)


def cell_text(v, percent: bool = False) -> str:
    if v is None or v == "":
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int | float):
        return number_text(v, percent)
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time() else v.isoformat(sep=" ")
    if isinstance(v, dt.date | dt.time):
        return v.isoformat()
    if isinstance(v, dt.timedelta):
        return str(v)
    return clean(str(v))


class _Builder:
    """Appends sheet rows to one grid with running line numbers and sheet!row locations."""

    def __init__(self, fmt: str):
        self.grid = DocGrid([], fmt, "cells", format=fmt)
        self.line = 0
        self.full = False

    def add(self, sheet: str, r: int, cells: list[str]):
        if self.full:
            return
        if len(self.grid.rows) >= MAX_ROWS:
            self.full = True
            self.grid.problems.append(("warning", f"more than {MAX_ROWS:,} rows: read the first {MAX_ROWS:,} only "
                                       f"(stopped in sheet {sheet} at row {r})", self.line))
            return
        while cells and not cells[-1]:
            cells.pop()
        self.line += 1
        self.grid.rows.append(Row(self.line, cells, "\t".join(cells)))
        self.grid.locations[self.line] = f"{sheet}!{r}"


def read_xlsx(data: bytes, fmt: str = "xlsx") -> DocGrid:
    """Read a workbook; raises ReadError for files that are not readable workbooks."""
    if fmt in ("xlsx", "xlsb", "ods"):
        check_zip(data)
    engine = "calamine"
    if fmt == "xlsx":
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            sheets_xml = sum(i.file_size for i in z.infolist() if i.filename.startswith("xl/worksheets/"))
            styles = z.read("xl/styles.xml") if "xl/styles.xml" in z.namelist() else b""
            hidden = _hidden_rows(z)
        if (_PERCENT_STYLE.search(styles) or _BUILTIN_PERCENT.search(styles)) and sheets_xml <= OPENPYXL_MAX_XML:
            engine = "openpyxl"
    else:
        hidden = {}
    if fmt == "xls":
        engine = "xlrd"
        grid = _read_xlrd(data)
    else:
        grid = _read_openpyxl(data) if engine == "openpyxl" else _read_calamine(data, fmt)
    grid.notes.append(f"engine: {engine}")
    if engine == "calamine" and fmt == "xlsx" and sheets_xml > OPENPYXL_MAX_XML:
        grid.notes.append("large workbook: number formats not read (percentages stored as fractions stay fractions)")
    if hidden:
        where = "; ".join(f"{s}: rows {', '.join(map(str, rs[:10]))}{' …' if len(rs) > 10 else ''}"
                          for s, rs in hidden.items())
        grid.problems.append(("info", f"hidden rows read like the others ({where})", None))
    return grid


def _hidden_rows(z: zipfile.ZipFile) -> dict[str, list[int]]:
    """Hidden rows per sheet file, found in the sheet XML without parsing it (small sheets only)."""
    out = {}
    for i in z.infolist():
        if i.filename.startswith("xl/worksheets/sheet") and i.file_size <= OPENPYXL_MAX_XML:
            xml = z.read(i.filename)
            rows = [int(m.group(1)) for h in _HIDDEN_ROW.finditer(xml) for m in [_ROW_NO.search(h.group(0))] if m]
            if rows:
                out[i.filename.rsplit("/", 1)[-1].removesuffix(".xml")] = rows
    return out


def _read_calamine(data: bytes, fmt: str) -> DocGrid:
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as e:  # noqa: BLE001 - calamine raises its own error types for broken files
        raise ReadError(f"corrupt or unreadable {fmt} workbook: {e}") from None
    b = _Builder(fmt)
    for meta in wb.sheets_metadata:
        sheet = wb.get_sheet_by_name(meta.name)
        if str(getattr(meta, "visible", "")).lower().endswith("hidden"):
            b.grid.problems.append(("info", f"hidden sheet {meta.name} read like the others", None))
        # iter_rows yields rows from the sheet's first row but columns from its first used column
        pad = [""] * (sheet.start[1] if sheet.start else 0)
        for k, values in enumerate(sheet.iter_rows(), 1):
            b.add(meta.name, k, pad + [cell_text(v) for v in values])
    return b.grid


def _read_xlrd(data: bytes) -> DocGrid:
    """Legacy .xls through xlrd, which keeps number formats (calamine would lose percentages)."""
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=data, formatting_info=True, on_demand=True)
    except Exception as e:  # noqa: BLE001 - xlrd raises its own error types for broken files
        raise ReadError(f"corrupt or unreadable xls workbook: {type(e).__name__}: {e}") from None
    b = _Builder("xls")
    percent_xf = {i for i, xf in enumerate(book.xf_list)
                  if "%" in getattr(book.format_map.get(xf.format_key), "format_str", "")}
    for k in range(book.nsheets):
        sh = book.sheet_by_index(k)
        if sh.visibility:
            b.grid.problems.append(("info", f"hidden sheet {sh.name} read like the others", None))
        hidden = [r + 1 for r, info in sh.rowinfo_map.items() if info.hidden]
        if hidden:
            b.grid.problems.append(("info", f"hidden rows read like the others ({sh.name}: rows "
                                    f"{', '.join(map(str, sorted(hidden)[:10]))})", None))
        for r in range(sh.nrows):
            cells = []
            for c in range(sh.row_len(r)):
                cell = sh.cell(r, c)
                v = cell.value
                if cell.ctype == xlrd.XL_CELL_DATE:
                    v = xlrd.xldate_as_datetime(v, book.datemode)
                elif cell.ctype == xlrd.XL_CELL_BOOLEAN:
                    v = bool(v)
                elif cell.ctype == xlrd.XL_CELL_ERROR:
                    v = xlrd.error_text_from_code.get(v, "#ERR")
                cells.append(cell_text(v, cell.ctype == xlrd.XL_CELL_NUMBER and cell.xf_index in percent_xf))
            b.add(sh.name, r + 1, cells)
        book.unload_sheet(k)
    return b.grid


def _read_openpyxl(data: bytes) -> DocGrid:
    import warnings

    from openpyxl import load_workbook

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about unsupported extensions and styles
            wb = load_workbook(io.BytesIO(data), data_only=True)
    except Exception as e:  # noqa: BLE001 - openpyxl raises many error types for broken files
        raise ReadError(f"corrupt or unreadable xlsx workbook: {type(e).__name__}: {e}") from None
    b = _Builder("xlsx")
    for ws in wb.worksheets:
        if ws.sheet_state != "visible":
            b.grid.problems.append(("info", f"hidden sheet {ws.title} read like the others", None))
        for r, row in enumerate(ws.iter_rows(), 1):
            cells = []
            for c in row:
                v = c.value
                pct = isinstance(v, int | float) and "%" in (c.number_format or "")
                cells.append(cell_text(v, pct))
            b.add(ws.title, r, cells)
    wb.close()
    return b.grid
