"""Reader for workbooks (.xlsx/.xlsm, and .xls/.xlsb/.ods through calamine) → the same Grid as text.

Every sheet is read in order into one Grid, one Row per sheet row, cells at their column index (A = 0),
so the layout and form readers see what a text export of the sheet would give. Choices:
- Merged ranges keep their value in the top-left cell and leave the covered cells blank, as a PDF text
  export does; the form reader already carries a level cell down to the rows under it, so a merged
  一级指标 belongs to every row it spans. (Copying the value into every covered cell would repeat row
  labels such as 绩效指标 into each indicator row.)
- Numbers are written back as text the way they print: with the decimals their number format fixes
  (a formula's 0.99453674… under "0.00%" → "99.45%"), else without float noise (10.0 → "10"); a
  fraction under a percentage format → "93.3%" (0.933). Numbers stored as text stay text.
- Hidden rows and sheets are read like the others (nothing lost) and named in an info problem.
- Engines (`benchmarks/bench_formats.py` measures them): calamine (Rust) reads values ~20x faster than
  openpyxl and streams large sheets, but knows nothing of number formats or hidden rows. So .xlsx is
  read by calamine, and what it cannot see (which cells carry a percentage or fixed-decimals format,
  which rows are hidden) comes from a scan of the sheet XML; openpyxl reads a workbook whose cells have no
  references. .xlsb/.ods go through calamine; legacy .xls through xlrd, which keeps number formats.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
import zlib
from contextlib import suppress
from functools import lru_cache

from perfdata.grid import DocGrid, ReadError, Row
from perfdata.normalize import clean
from perfdata.readers.detect import check_zip

MAX_ROWS = 300_000  # rows read per workbook; beyond that the rest is reported, not read
# calamine holds a sheet as one dense block of its used range, 32 bytes a cell: cells at A1 and XFD1048576
# make 16,384 x 1,048,576 of them (512 GiB). A range of more cells is refused before any engine reads it.
MAX_SHEET_CELLS = 10_000_000  # 320 MB in calamine; a sheet of 300,000 rows x 33 columns fits
MAX_BOOK_CELLS = 20_000_000  # all sheets together
CALAMINE_CELL_BYTES = 32
NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
      "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
      "rel": "http://schemas.openxmlformats.org/package/2006/relationships"}
_CELL_TAG = re.compile(rb"<(?:\w+:)?c\b[^>]*>")
_STYLE_ATTR = re.compile(rb'\bs="(\d+)"')
_REF_ATTR = re.compile(rb'\br="([A-Z]{1,3})(\d+)"')
_ROW_TAG = re.compile(rb"<(?:\w+:)?row\b[^>]*>")
_HIDDEN_ATTR = re.compile(rb'\bhidden="(?:1|true)"')
_CELL = re.compile(rb"<(?:\w+:)?c\b([^>]*)(?<!/)>(.*?)</(?:\w+:)?c>", re.S)  # cells with content
_VALUE = re.compile(rb"<(?:\w+:)?v>\s*[^<\s]")
# the reference of every cell with content (a self-closing <c r="A1" s="1"/> holds none, and no engine
# counts it in the used range)
_FILLED_REF = re.compile(rb'\sr="([A-Z]{1,3})(\d{1,7})"[^>/]*>')
_FILLED_REF_SP = re.compile(rb' r="([A-Z]{1,3})(\d{1,7})"[^>/]*>')  # the same where r= follows a space only: faster
_ROW_BODY = re.compile(rb"<(?:\w+:)?row\b.*?</(?:\w+:)?row>", re.S)
_ROW_REF = re.compile(rb'<(?:\w+:)?row\b[^>]*?\sr="(\d{1,7})"')


# Built-in number formats (ECMA-376 §18.8.30) that fix the decimals or show a percentage.
BUILTIN_FORMATS = {1: "0", 2: "0.00", 3: "#,##0", 4: "#,##0.00", 9: "0%", 10: "0.00%", 11: "0.00E+00",
                   37: "#,##0 ;(#,##0)", 38: "#,##0 ;[Red](#,##0)", 39: "#,##0.00;(#,##0.00)",
                   40: "#,##0.00;[Red](#,##0.00)"}
# a bracket of a format ([Red], [$-804], [>=100], [DBNum1]) is short: bounded, so a code of thousands of '['
# (a hostile file's) costs one pass, not one per '['
_QUOTED = re.compile(r'"[^"]*"|\\.|\[[^\]]{0,64}\]')
_FIXED = re.compile(r"[0#?,]+(?:\.([0#?]*))?")


@lru_cache(maxsize=1024)
def display(code: str | None) -> tuple[bool, int | None] | None:
    """How a number format prints a number: (percentage?, fixed decimals or None); None for General/text/dates.

    >>> display("0.0%"), display("#,##0.00_ "), display('0.00_);[Red](0.00)'), display("General")
    ((True, 1), (False, 2), (False, 2), None)
    """
    if not code:
        return None
    section = _QUOTED.sub("", code.split(";")[0])
    if "E" in section.upper() or any(ch in section.lower() for ch in "ymdhs@"):
        return None  # scientific, dates and text keep the value as stored
    m = _FIXED.search(section)
    if m is None:
        return (True, None) if "%" in section else None
    return "%" in section, len(m.group(1) or "")


def number_text(v: float | int, percent: bool = False, decimals: int | None = None) -> str:
    """A stored number as it prints: the format's decimals, or without float noise; percentages ×100.

    >>> number_text(139.04), number_text(10.0), number_text(0.933, percent=True), number_text(1, True)
    ('139.04', '10', '93.3%', '100%')
    >>> number_text(0.994536741214058, True, 2), number_text(622.5799999999, False, 2), number_text(7, False, 1)
    ('99.45%', '622.58', '7.0')
    """
    if percent:
        return number_text(round(v * 100, 10), False, decimals) + "%"
    if decimals is not None:
        return f"{v:.{decimals}f}"
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return format(v, ".15g")
    return str(v)


def cell_text(v, fmt: tuple[bool, int | None] | None = None) -> str:
    """A cell value as text; `fmt` is `display()` of its number format (numbers only)."""
    if v is None or v == "":
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int | float):
        return number_text(v, *fmt) if fmt else number_text(v)
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
    if fmt == "ods":
        check_ods(data)
    if fmt == "xls":
        grid, engine = _read_xlrd(data), "xlrd"
    elif fmt != "xlsx":
        grid, engine = _read_calamine(data, fmt, {}), "calamine"
    else:
        try:
            styles = _sheet_styles(data)
        except (KeyError, ValueError, SyntaxError, zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError):
            # SyntaxError: ElementTree ParseError; the others: members that cannot be inflated
            styles = None
        if styles is None:  # cells without references or unreadable parts: let openpyxl make sense of them
            grid, engine = _read_openpyxl(data), "openpyxl"
        else:
            grid, engine = _read_calamine(data, fmt, styles[0]), "calamine"
            for sheet, rows in styles[1].items():
                grid.problems.append(("info", f"hidden rows read like the others ({sheet}: rows "
                                      f"{', '.join(map(str, rows[:10]))}{' …' if len(rows) > 10 else ''})", None))
            if styles[2]:
                grid.problems.append(("warning", f"{len(styles[2])} formula cell(s) saved without a computed value, "
                                      f"read as blank (e.g. {', '.join(styles[2][:5])}): the workbook was saved "
                                      "without calculating; open and save it in Excel or WPS", None))
    grid.notes.append(f"engine: {engine}")
    return grid


def _col(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n - 1


Styled = dict[tuple[int, int], tuple[bool, int | None]]  # (row, column) → display() of its format


def column_letters(n: int) -> str:
    """Spreadsheet column letters of a 0-based column index.

    >>> column_letters(0), column_letters(25), column_letters(26), column_letters(16383)
    ('A', 'Z', 'AA', 'XFD')
    """
    out = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def used_range(xml: bytes) -> tuple[int, int, int, int] | None:
    """(first row, first column, last row, last column), 1-based rows and 0-based columns, of the cells with
    content in a sheet's XML, as an engine lays them out; None for a sheet without such cells.

    >>> used_range(b'<row r="2"><c r="B2" t="s"><v>0</v></c><c r="XFD7" s="1"/></row>'
    ...            b'<row r="9"><c r="C9"><v>1</v></c></row>')
    (2, 1, 9, 2)
    """
    spaced = b'\nr="' in xml or b'\tr="' in xml or b'\rr="' in xml
    refs = (_FILLED_REF if spaced else _FILLED_REF_SP).findall(xml)
    box = None
    if refs:
        rows = [int(r) for r in {r for _, r in refs}]
        cols = [_col(c) for c in {c for c, _ in refs}]
        box = [min(rows), min(cols), max(rows), max(cols)]
    # cells without a reference sit at running positions of their row: the row tags and the cells per row bound them
    cells = xml.count(b"<c ") + xml.count(b"<c>")
    if b"<c>" in xml or cells > xml.count(b' r="') - xml.count(b"<row "):
        tagged = [int(r) for r in _ROW_REF.findall(xml)] or [1]
        widest = max((len(_CELL_TAG.findall(m.group(0))) for m in _ROW_BODY.finditer(xml)), default=0)
        if widest:
            r0, c0, r1, c1 = box or [min(tagged), 0, max(tagged), 0]
            box = [min(r0, min(tagged)), 0, max(r1, max(tagged), len(tagged)), max(c1, widest - 1)]
    return tuple(box) if box else None


def check_extent(sheet: str, box: tuple[int, int, int, int] | None, total: int) -> int:
    """Refuse a sheet whose used range holds more than MAX_SHEET_CELLS cells (or a workbook whose sheets hold
    more than MAX_BOOK_CELLS together); returns the total so far."""
    if box is None:
        return total
    r0, c0, r1, c1 = box
    rows, cols = r1 - r0 + 1, c1 - c0 + 1
    cells = rows * cols
    where = f"{column_letters(c0)}{r0}:{column_letters(c1)}{r1}"
    if cells > MAX_SHEET_CELLS:
        raise ReadError(f"refused: sheet {sheet} spans {where} ({cols:,} columns × {rows:,} rows = {cells:,} cells, "
                        f"about {cells * CALAMINE_CELL_BYTES / 2**30:,.0f} GiB to read); the limit is "
                        f"{MAX_SHEET_CELLS:,} cells per sheet", location=f"{sheet}!{r1}")
    total += cells
    if total > MAX_BOOK_CELLS:
        raise ReadError(f"refused: the sheets span more than {MAX_BOOK_CELLS:,} cells together (at sheet {sheet}, "
                        f"{where})", location=f"{sheet}!{r0}")
    return total


def _sheet_styles(data: bytes) -> tuple[dict[str, Styled], dict[str, list[int]], list[str]] | None:
    """Per sheet name: the cells whose number format fixes decimals or shows a percentage, and the
    hidden rows; and the formula cells saved without a computed value ("Sheet!F6").

    calamine gives values only; this scans the sheet XML for what it cannot see, with regular
    expressions over the bytes (no tree is built: a 100,000-row sheet costs a fraction of a second).
    None where a formatted cell has no reference (then openpyxl reads the workbook)."""
    import xml.etree.ElementTree as ET

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = set(z.namelist())
        formats: dict[bytes, tuple[bool, int | None]] = {}  # style index → display
        if "xl/styles.xml" in names:
            st = ET.fromstring(z.read("xl/styles.xml"))
            codes = dict(BUILTIN_FORMATS)
            codes.update({int(f.get("numFmtId", -1)): f.get("formatCode") or ""
                          for f in st.iterfind("m:numFmts/m:numFmt", NS)})
            xfs = st.find("m:cellXfs", NS)
            for k, xf in enumerate(xfs if xfs is not None else []):
                shown = display(codes.get(int(xf.get("numFmtId", 0))))
                if shown:
                    formats[str(k).encode()] = shown
        wb = ET.fromstring(z.read("xl/workbook.xml"))
        rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
        target = {r.get("Id"): r.get("Target", "") for r in rels.iterfind("rel:Relationship", NS)}
        styled: dict[str, Styled] = {}
        hidden: dict[str, list[int]] = {}
        uncomputed: list[str] = []
        sheets = []
        for sh in wb.iterfind("m:sheets/m:sheet", NS):
            t = target.get(sh.get(f"{{{NS['r']}}}id"), "")
            sheets.append((sh, t.lstrip("/") if t.startswith("/") else "xl/" + t))
        check_sheet_parts([(sh.get("name"), path) for sh, path in sheets if path in names])
        total, refless = 0, False
        for sh, path in sheets:
            if path not in names:
                continue
            xml = z.read(path)
            total = check_extent(sh.get("name"), used_range(xml), total)
            cells: Styled = {}
            if formats and not refless:
                for m in _CELL_TAG.finditer(xml):
                    tag = m.group(0)
                    s = _STYLE_ATTR.search(tag)
                    if s and s.group(1) in formats:
                        ref = _REF_ATTR.search(tag)
                        if ref is None:
                            refless = True  # openpyxl reads the workbook (the extents of the others are still checked)
                            break
                        cells[(int(ref.group(2)), _col(ref.group(1)))] = formats[s.group(1)]
            styled[sh.get("name")] = cells
            rows = [int(r.group(1)) for m in _ROW_TAG.finditer(xml) if _HIDDEN_ATTR.search(m.group(0))
                    for r in [re.search(rb'\br="(\d+)"', m.group(0))] if r]
            if rows:
                hidden[sh.get("name")] = rows
            if b"<f" in xml or b":f>" in xml:
                for m in _CELL.finditer(xml):
                    body = m.group(2)
                    if (b"<f" in body or b":f" in body) and not _VALUE.search(body):
                        ref = _REF_ATTR.search(m.group(1))
                        uncomputed.append(f"{sh.get('name')}!{(ref.group(1) + ref.group(2)).decode() if ref else '?'}")
    return None if refless else (styled, hidden, uncomputed)


MAX_SHEETS = 2_000  # sheet entries of one workbook
_ODS_TABLE = re.compile(rb'<table:table\b[^>]*?table:name="([^"]*)"')
_ODS_ROW = re.compile(rb"<table:table-row\b([^>]*?)(?:/>|>(.*?)</table:table-row>)", re.S)
_ODS_CELL = re.compile(rb"<table:(?:covered-)?table-cell\b([^>]*?)(/?)>")
_ODS_ROWS_REPEATED = re.compile(rb'table:number-rows-repeated="(\d{1,10})"')
_ODS_COLS_REPEATED = re.compile(rb'table:number-columns-repeated="(\d{1,10})"')


def check_ods(data: bytes):
    """Refuse an OpenDocument spreadsheet whose repeated rows and cells (table:number-rows-repeated,
    table:number-columns-repeated) expand to more cells with content than a sheet may hold: calamine
    writes out every repetition (a 1 KB file can ask for 17 billion cells). Empty repetitions, which
    LibreOffice writes to the end of every sheet, cost nothing and are not counted."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            content = z.read("content.xml")
    except Exception:  # noqa: BLE001 - no content.xml, or one that cannot be inflated: calamine says so
        return
    tables = [(m.start(), m.group(1).decode("utf-8", "replace")) for m in _ODS_TABLE.finditer(content)]
    total = 0
    for k, (at, name) in enumerate(tables):
        end = tables[k + 1][0] if k + 1 < len(tables) else len(content)
        row = last = width = 0
        for m in _ODS_ROW.finditer(content, at, end):
            rr = _ODS_ROWS_REPEATED.search(m.group(1))
            repeat = int(rr.group(1)) if rr else 1
            col = used = 0
            for c in _ODS_CELL.finditer(m.group(2) or b""):
                cr = _ODS_COLS_REPEATED.search(c.group(1))
                col += int(cr.group(1)) if cr else 1
                if not c.group(2):  # not self-closing: the cell has content
                    used = col
            if used:
                last, width = row + repeat, max(width, used)
            row += repeat
        total = check_extent(name, (1, 0, last, width - 1) if last else None, total)


def check_sheet_parts(sheets: list[tuple[str, str]]):
    """Refuse a workbook whose sheet entries share a worksheet part (each would read it again: 500 entries
    on one 1 MB part are 500 MB of XML from a small file), or that lists more than MAX_SHEETS sheets."""
    if len(sheets) > MAX_SHEETS:
        raise ReadError(f"refused: {len(sheets):,} sheets, more than {MAX_SHEETS:,}")
    by_part: dict[str, list[str]] = {}
    for name, path in sheets:
        by_part.setdefault(path, []).append(name)
    shared = {p: ns for p, ns in by_part.items() if len(ns) > 1}
    if shared:
        part, ns = max(shared.items(), key=lambda kv: len(kv[1]))
        raise ReadError(f"refused: {sum(map(len, shared.values())):,} sheet entries point at "
                        f"{len(shared)} worksheet part(s) ({part} is sheets {', '.join(ns[:3])}"
                        f"{' …' if len(ns) > 3 else ''}): a workbook's sheets each have their own part")


def _read_calamine(data: bytes, fmt: str, styled: dict[str, Styled]) -> DocGrid:
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as e:  # noqa: BLE001 - calamine raises its own error types for broken files
        raise ReadError(f"corrupt or unreadable {fmt} workbook: {e}") from None
    b = _Builder(fmt)
    for meta in wb.sheets_metadata:
        try:
            sheet = wb.get_sheet_by_name(meta.name)
            rows = sheet.iter_rows()
        except Exception as e:  # noqa: BLE001 - a sheet calamine cannot parse: the workbook is damaged
            raise ReadError(f"corrupt or unreadable {fmt} workbook: sheet {meta.name}: {type(e).__name__}: {e}",
                            b.line or None, f"{meta.name}") from None
        if str(getattr(meta, "visible", "")).lower().endswith("hidden"):
            b.grid.problems.append(("info", f"hidden sheet {meta.name} read like the others", None))
        # iter_rows yields rows from the sheet's first row but columns from its first used column
        first = sheet.start[1] if sheet.start else 0
        pad = [""] * first
        shown = styled.get(meta.name)
        for k, values in enumerate(rows, 1):
            if shown:
                cells = [cell_text(v, shown.get((k, first + c))) for c, v in enumerate(values)]
            else:
                cells = [cell_text(v) for v in values]
            b.add(meta.name, k, pad + cells)
            if b.full:
                break
    return b.grid


def _read_xlrd(data: bytes) -> DocGrid:
    """Legacy .xls through xlrd, which keeps number formats (calamine would lose percentages)."""
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=data, formatting_info=True, on_demand=True)
    except Exception as e:  # noqa: BLE001 - xlrd raises its own error types for broken files
        raise ReadError(f"corrupt or unreadable xls workbook: {type(e).__name__}: {e}") from None
    b = _Builder("xls")
    shown = {i: display(getattr(book.format_map.get(xf.format_key), "format_str", None))
             for i, xf in enumerate(book.xf_list)}
    for k in range(book.nsheets):
        try:
            sh = book.sheet_by_index(k)  # parsed here (on demand): a damaged sheet fails here
        except Exception as e:  # noqa: BLE001 - xlrd raises its own error types for broken records
            raise ReadError(f"corrupt or unreadable xls workbook: sheet {k + 1}: {type(e).__name__}: {e}",
                            b.line or None, f"sheet {k + 1}") from None
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
                    with suppress(ValueError, OverflowError):  # a date out of range: the number as stored
                        v = xlrd.xldate_as_datetime(v, book.datemode)
                elif cell.ctype == xlrd.XL_CELL_BOOLEAN:
                    v = bool(v)
                elif cell.ctype == xlrd.XL_CELL_ERROR:
                    v = xlrd.error_text_from_code.get(v, "#ERR")
                cells.append(cell_text(v, shown.get(cell.xf_index) if cell.ctype == xlrd.XL_CELL_NUMBER else None))
            b.add(sh.name, r + 1, cells)
            if b.full:
                break
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
        for r, row in _sheet_rows(ws):
            cells = []
            for c in row:
                v = None if c is None else c.value
                cells.append(cell_text(v, display(c.number_format) if isinstance(v, int | float) else None))
            b.add(ws.title, r, cells)
            if b.full:
                break
    wb.close()
    return b.grid


def _sheet_rows(ws):
    """(row number, cells) from row 1 to the last row with a cell, each row as wide as its last cell (None where
    none is): what ws.iter_rows() gives once trailing blanks are dropped, without making a cell for every
    position of the used range (cells at A1 and XFD1048576 would make 17 billion)."""
    cells = getattr(ws, "_cells", None)
    if cells is None:  # another openpyxl: its own iteration
        yield from enumerate(ws.iter_rows(), 1)
        return
    by_row: dict[int, dict[int, object]] = {}
    for (r, c), cell in cells.items():
        by_row.setdefault(r, {})[c] = cell
    for r in range(1, max(by_row, default=0) + 1):
        row = by_row.get(r)
        yield r, ([row.get(c) for c in range(1, max(row) + 1)] if row else [])
