"""Reader for HTML pages (.html/.htm, and the "web page" exports of Excel and Word) → the same Grid as text.

Government sites publish many forms as HTML tables. The page is read in document order, so that
everything after the reader is shared with the other formats:
- Text outside tables — the title "2023年度项目支出绩效自评表", the year line, narrative — is one
  one-cell row per block (`<p>`, `<h1>`–`<h6>`, `<div>`, `<li>`, …), so the layout finder sees titles
  as in a text export; a `<br>` there ends a line, as the browser draws it. Blocks without text make
  no row. `<head>`, `<script>`, `<style>`, `<template>`, `<noscript>` and comments are not read.
- Table rows are rows of cells at their grid columns, `rowspan`/`colspan` expanded by the HTML table
  model: a merged cell keeps its text in its top-left position and the positions it covers are
  blank, as the Word and spreadsheet readers do, so a merged amount is never counted twice (this is
  why `pandas.read_html`, which copies it into every covered cell, is not used). Spans are read as
  browsers read them ("2px" → 2; "abc", "-1", "1e9" → 1; rowspan="0" → to the end of the table), a
  rowspan is cut at the table's last row and colspans at `MAX_COLUMNS`, so no attribute decides
  how much is allocated.
- Inside a cell, the text of its `<p>`, `<div>` and `<br>` parts is joined by a space, as the Word
  reader joins paragraphs, non-breaking spaces are spaces, then `normalize.clean`.
- Nested tables: a table of one row inside a cell is read as part of that cell's text. A cell that
  holds a table of two or more rows is a container — old sites lay whole pages out in a table, with
  the form a table inside one of its cells — so it is blank in its own row and its content (text
  and tables) is read right after that row as paragraphs and tables of their own.
- Text inside a table but outside its cells (browsers draw it above the table) is a paragraph
  before the table; a `<caption>` is a row of its own before the first row.
- Provenance: Row.line is the running number of the row in the page, as for every DocGrid (unique
  and increasing: form ids, leftovers and the checks' evidence rely on it). The page's source lines
  are not that: a minified page has all its rows on one line, and libxml2 stops counting at 65535.
  So the source line is in `location`: "table T row R (line L)", "table T caption (line L)",
  "paragraph P (line L)", where T counts every `<table>` of the page in document order (as
  `document.querySelectorAll("table")[T - 1]` in a browser), R the rows of that table, P the
  paragraphs, and L is lxml's `sourceline` of the `<tr>` (of the paragraph's first element),
  left out where it is not known or past libxml2's limit.
- Encoding: a byte-order mark; else the `<meta charset>`, `<meta http-equiv="Content-Type">` or
  XML declaration (GBK, GB2312 and their aliases are decoded as GB18030, their superset); else
  UTF-8; else GB18030. Bytes that are valid UTF-8 (with non-ASCII text) beat a declaration that
  says otherwise — templates copy a gb2312 meta onto UTF-8 pages — as GB18030 bytes with Chinese
  text beat a Western single-byte declaration (iso-8859-1: a server's default, while its HTTP header
  named the real charset); bytes the declaration cannot decode fall back to UTF-8, then GB18030. Each
  is noted as an info problem; bytes nothing decodes are replaced (U+FFFD) with a warning.
- Refused with a ReadError: empty pages, binary data, and before parsing pages above `MAX_BYTES` or
  with more than `MAX_CELLS` cells or `MAX_ROWS` rows; while reading, spans covering more than
  `MAX_SPAN_AREA` positions. Past `MAX_ROWS` rows of text and tables the rest is left with a warning.
  lxml parses with network access and huge trees off; where libxml2 stops (elements nested deeper
  than 256) what it read is kept and a warning says up to which source line.
"""

from __future__ import annotations

import codecs
import re

from perfdata.grid import DocGrid, ReadError, Row
from perfdata.normalize import clean
from perfdata.readers.text import _BOMS  # one list of byte-order marks for the text and HTML readers

MAX_BYTES = 64 * 2**20  # a page of 200,000 cells is ~20 MB; lxml holds several times the bytes in memory
MAX_CELLS = 200_000  # <td>/<th> of one page
MAX_ROWS = 300_000  # <tr> of one page, as the spreadsheet reader's limit
MAX_COLUMNS = 1_000  # colspans are cut so that no row is wider
MAX_SPAN_AREA = 5_000_000  # grid positions covered by spanned cells, summed over the page
LINE_LIMIT = 65_535  # libxml2 reports every later line as 65535

# not drawn as text, or not the page's content (a <select> lists every choice, not the chosen one)
SKIP = frozenset({"head", "script", "style", "template", "noscript", "title", "object", "iframe", "select", "svg",
                  "canvas", "audio", "video", "map"})
# elements that start and end a line (outside tables: a paragraph row; inside a cell: a space)
BLOCK = frozenset({"address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details",
                   "dialog", "dir", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form",
                   "h1", "h2", "h3", "h4", "h5", "h6", "header", "hgroup", "hr", "html", "legend", "li",
                   "main", "menu", "nav", "ol", "p", "pre", "section", "summary", "tbody", "td",
                   "tfoot", "th", "thead", "tr", "ul"})
CELL = frozenset({"td", "th"})
SECTION = frozenset({"thead", "tbody", "tfoot"})

_META_CHARSET = re.compile(rb"""<meta\b[^>]{0,1024}?\bcharset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml\b[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9_.:-]+)""", re.I)
# the WHATWG Encoding Standard's labels of GBK; GB18030 decodes all of them
GB_LABELS = frozenset({"chinese", "csgb2312", "csiso58gb231280", "gb2312", "gb_2312", "gb_2312-80", "gbk",
                       "iso-ir-58", "x-gbk", "cp936", "ms936", "windows-936", "gb18030", "euc-cn"})
# single-byte Western codecs decode any bytes: on a page of Chinese forms they are a wrong default
WESTERN = frozenset({"ascii", "iso8859-1", "cp1252", "iso8859-15"})
_HANZI = re.compile(r"[\u4e00-\u9fff]")
_CELL_TAG = re.compile(r"<t[dh][\s>/]", re.I)
_ROW_TAG = re.compile(r"<tr[\s>/]", re.I)
_SPAN = re.compile(r"\s*(\d+)")


def charset(label: str) -> str | None:
    """The codec for a declared charset label; None for labels Python does not know.

    >>> charset("GB2312"), charset("x-gbk"), charset("UTF8"), charset("no-such")
    ('gb18030', 'gb18030', 'utf-8', None)
    """
    label = label.strip().lower()
    if label in GB_LABELS:
        return "gb18030"
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    return "gb18030" if name in ("gbk", "gb2312") else name


def declared(data: bytes) -> str | None:
    """The charset label a page declares near its start (meta tag or XML declaration), as written."""
    head = data[:16384]
    m = _XML_ENCODING.search(head) or _META_CHARSET.search(head)
    return m.group(1).decode("ascii") if m else None


def decode(data: bytes) -> tuple[str, str, list[tuple[str, str, int | None]]]:
    """The page's text, the codec used and notes on the way (BOM, declaration, UTF-8, GB18030).

    >>> page = '<meta charset="gb2312"><p>项目支出绩效自评表</p>'.encode("gbk")
    >>> decode(page)[:2]
    ('<meta charset="gb2312"><p>项目支出绩效自评表</p>', 'gb18030')
    """
    for bom, enc in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(enc), enc, []
            except UnicodeDecodeError as e:
                raise ReadError(f"undecodable bytes for {enc} at byte {e.start}",
                                data.count(b"\n", 0, e.start) + 1) from None
    if b"\x00" in data:
        raise ReadError("binary file (NUL bytes): not an HTML page", data.count(b"\n", 0, data.index(0)) + 1)
    label = declared(data)
    enc = charset(label) if label else None
    notes: list[tuple[str, str, int | None]] = []
    if label and enc is None:
        notes.append(("info", f"unknown charset {label!r} declared: ignored", None))
    if enc and enc.startswith(("utf-16", "utf-32")):
        enc = "utf-8"  # bytes without NULs are not UTF-16: browsers read such a declaration as UTF-8
    if enc and enc != "utf-8" and not data.isascii():
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            notes.append(("info", f"declared charset {label} but the bytes are UTF-8: decoded as utf-8", None))
            return text, "utf-8", notes
        if enc in WESTERN:  # a server's default declaration on a Chinese page (its HTTP header said GBK)
            try:
                text = data.decode("gb18030")
            except UnicodeDecodeError:
                pass
            else:
                if _HANZI.search(text):
                    notes.append(("info", f"declared charset {label} but the bytes are Chinese: decoded as gb18030",
                                  None))
                    return text, "gb18030", notes
    tried = [enc] if enc else []
    for codec in tried + [c for c in ("utf-8", "gb18030") if c not in tried]:
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        if enc and codec != enc:
            notes.append(("info", f"declared charset {label} does not decode the bytes: decoded as {codec}", None))
        return text, codec, notes
    codec = enc or "gb18030"
    at = None
    try:
        data.decode(codec)
    except UnicodeDecodeError as e:
        at = data.count(b"\n", 0, e.start) + 1
    text = data.decode(codec, errors="replace")
    notes.append(("warning", f"undecodable bytes (neither {' nor '.join(dict.fromkeys(tried + ['utf-8', 'gb18030']))})"
                             f" replaced by U+FFFD; the first at line {at}", at))
    return text, codec, notes


def _looks_binary(text: str) -> bool:
    sample = text[:4096]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\r\n\f")
    return controls > len(sample) // 50


def span(value: str | None, zero: int = 1) -> int:
    """A rowspan/colspan as browsers parse it: leading digits, 1 where there are none; `zero` for "0".

    >>> span("3"), span(" 2px"), span("abc"), span("-2"), span("1e9"), span("0", zero=7), span("9" * 5000)
    (3, 2, 1, 1, 1, 7, 10000000)
    """
    m = _SPAN.match(value or "")
    if not m:
        return 1
    digits = m.group(1).lstrip("0")
    if not digits:
        return zero
    return 10_000_000 if len(digits) > 7 else int(digits)  # no int() of a 5000-digit string


def _tag(el) -> str | None:
    """Tag of an element (libxml2 gives HTML tags in lower case); None for comments and entities."""
    tag = el.tag
    return tag if type(tag) is str else None


class _Full(Exception):
    """More rows than MAX_ROWS: stop reading."""


class _Table:
    """The rows of one <table>: lists of cell elements, with the text found outside any cell."""

    __slots__ = ("rows", "stray", "captions", "misplaced")

    def __init__(self, table):
        self.rows: list[tuple[object, list]] = []  # (<tr> or first loose cell, cells)
        self.stray: list[tuple[str, object]] = []  # (text, element) inside the table, outside its cells
        self.captions: list = []
        self.misplaced: list = []  # tables directly inside the table, not in a cell
        self._visit(table, loose=False)

    def _text(self, text: str | None, el):
        if text and text.strip():
            self.stray.append((text, el))

    def _visit(self, el, loose: bool):
        """Rows of `el` (a table, a row group or anything the parser left between them)."""
        self._text(el.text, el)
        for ch in el:
            tag = _tag(ch)
            if tag == "tr":
                self.rows.append((ch, list(self._cells(ch))))
                loose = False
            elif tag in CELL:  # a cell outside any row: the loose cells in a run make one row
                if not loose:
                    self.rows.append((ch, []))
                    loose = True
                self.rows[-1][1].append(ch)
            elif tag == "caption":
                self.captions.append(ch)
            elif tag == "table":
                self.misplaced.append(ch)
            elif tag in SECTION or (tag is not None and tag not in SKIP and tag not in ("col", "colgroup")):
                self._visit(ch, loose=False)
                loose = False
            self._text(ch.tail, ch)

    def _cells(self, tr):
        """Cells of a row, also those the parser left inside a stray element (a <form> in the row)."""
        self._text(tr.text, tr)
        for ch in tr:
            tag = _tag(ch)
            if tag in CELL:
                yield ch
            elif tag == "table":
                self.misplaced.append(ch)
            elif tag is not None and tag not in SKIP:
                yield from self._cells(ch)
            self._text(ch.tail, ch)


class _Reader:
    """Walks the page in document order, appending its paragraphs and table rows to one DocGrid."""

    def __init__(self, root, encoding: str):
        self.grid = DocGrid([], encoding, "cells", format="html")
        self.numbers = {t: k for k, t in enumerate(root.iter("table"), 1)}
        self.tables: dict[object, _Table] = {}
        self.paragraphs = 0
        self.area = 0
        self.buf: list[str] = []
        self.buf_line: int | None = None
        self.pre = 0

    # -- rows -------------------------------------------------------------------------------------------

    def add(self, cells: list[str], where: str, source_line: int | None):
        if len(self.grid.rows) >= MAX_ROWS:
            self.grid.problems.append(("warning", f"more than {MAX_ROWS:,} rows: read the first {MAX_ROWS:,} only "
                                       f"(stopped at {where})", len(self.grid.rows)))
            raise _Full
        while cells and not cells[-1]:
            cells.pop()
        line = len(self.grid.rows) + 1
        self.grid.rows.append(Row(line, cells, "\t".join(cells)))
        if source_line and source_line < LINE_LIMIT:
            where = f"{where} (line {source_line})"
        self.grid.locations[line] = where

    # -- text outside tables ----------------------------------------------------------------------------

    def text(self, text: str | None, el):
        if not text:
            return
        if self.pre and "\n" in text:  # preformatted text keeps its lines
            first, *rest = text.split("\n")
            self.text(first, el)
            for part in rest:
                self.flush()
                self.text(part, el)
            return
        if not self.buf:
            if not text.strip():
                return
            self.buf_line = el.sourceline
        self.buf.append(text)

    def flush(self):
        if self.buf:
            text = clean("".join(self.buf).replace("\xa0", " "))
            self.buf = []
            if text:
                self.paragraphs += 1
                self.add([text], f"paragraph {self.paragraphs}", self.buf_line)

    def block(self, el):
        """An element read as a part of the page: its text as paragraph rows, its tables as tables."""
        tag = _tag(el)
        self.flush()
        self.pre += tag == "pre"
        self.text(el.text, el)
        self.walk(el)
        self.pre -= tag == "pre"
        self.flush()

    def walk(self, el):
        for ch in el:
            tag = _tag(ch)
            if tag is None or tag in SKIP:
                pass
            elif tag == "table":
                self.flush()
                self.table(ch)
            elif tag == "br":
                self.flush()
            elif tag in BLOCK:
                self.block(ch)
            else:
                self.text(ch.text, ch)
                self.walk(ch)
            self.text(ch.tail, ch)

    # -- tables -----------------------------------------------------------------------------------------

    def structure(self, table) -> _Table:
        t = self.tables.get(table)
        if t is None:
            t = self.tables[table] = _Table(table)
        return t

    def cell_text(self, cell) -> str | None:
        """A cell's text; None for a container (a cell holding a table of two or more rows)."""
        if not len(cell):  # most cells: text only
            return clean(cell.text.replace("\xa0", " ")) if cell.text else ""
        parts: list[str] = [cell.text or ""]

        def visit(el) -> bool:
            for ch in el:
                tag = _tag(ch)
                if tag is None or tag in SKIP:
                    pass
                elif tag == "table" and len(self.structure(ch).rows) >= 2:
                    return False
                elif tag in BLOCK or tag in ("br", "table"):
                    parts.append(" ")
                    parts.append(ch.text or "")
                    if not visit(ch):
                        return False
                    parts.append(" ")
                else:
                    parts.append(ch.text or "")
                    if not visit(ch):
                        return False
                parts.append(ch.tail or "")
            return True

        if not visit(cell):
            return None
        return clean("".join(parts).replace("\xa0", " "))

    def table(self, table):
        t = self.structure(table)
        no = self.numbers.get(table, 0)
        for text, el in t.stray:
            self.text(text, el)
            self.flush()
        for cap in t.captions:
            text = self.cell_text(cap)
            if text is None:  # a table inside the caption
                self.block(cap)
            elif text:
                self.add([text], f"table {no} caption", cap.sourceline)
        n = len(t.rows)
        carry: dict[int, int] = {}  # column → first row no longer covered by a rowspan from above
        for r, (tr, cells) in enumerate(t.rows):
            out: list[str] = []
            containers = []
            col = 0
            for cell in cells:
                while carry.get(col, 0) > r:
                    col += 1
                cs = rs = 1
                if (v := cell.get("colspan")) is not None:
                    cs = min(span(v), max(1, MAX_COLUMNS - col))
                if (v := cell.get("rowspan")) is not None:
                    rs = min(span(v, zero=n - r), n - r)
                if cs > 1 or rs > 1:
                    self.area += cs * rs
                    if self.area > MAX_SPAN_AREA:
                        raise ReadError(f"refused: the tables' row and column spans cover more than "
                                        f"{MAX_SPAN_AREA:,} cells (at table {no} row {r + 1})",
                                        location=f"table {no} row {r + 1}")
                text = self.cell_text(cell)
                if text is None:
                    containers.append(cell)
                    text = ""
                if len(out) < col:
                    out.extend([""] * (col - len(out)))
                out.append(text)
                if rs > 1:
                    for k in range(col, col + cs):
                        carry[k] = max(carry.get(k, 0), r + rs)
                col += cs
            if not containers or any(out):  # a row that only lays out its containers is not a row
                self.add(out, f"table {no} row {r + 1}", tr.sourceline)
            for cell in containers:
                self.block(cell)
        for inner in t.misplaced:
            self.table(inner)


def _parse(text: str) -> tuple[object, list[tuple[str, str, int | None]]]:
    """The page's tree, and a warning where libxml2 gave up part of the page (it repairs the rest)."""
    from lxml import etree

    # libxml2's HTML parser, as lxml.html uses it, with plain elements (lxml.html's element classes
    # cost a lookup per element) that never loads anything from the network
    parser = etree.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True, no_network=True,
                              huge_tree=False, default_doctype=False)
    try:
        root = etree.fromstring(text.encode("utf-8", "surrogatepass"), parser=parser)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError) as e:
        raise ReadError(f"unreadable HTML page: {e}") from None
    if root is None:
        raise ReadError("unreadable HTML page: the parser found no elements")
    fatal = next((e for e in parser.error_log if e.level >= etree.ErrorLevels.FATAL), None)
    if fatal is None:
        return root, []
    return root, [("warning", f"the page is read up to its source line {fatal.line} only: the parser stopped "
                   f"there ({fatal.message.strip()})", None, f"source line {fatal.line}")]


def read_html(data: bytes) -> DocGrid:
    """Read an HTML page's tables and text; raises ReadError for what is not a readable page."""
    if len(data) > MAX_BYTES:
        raise ReadError(f"refused: {len(data) / 2**20:,.0f} MiB is more than an HTML page of forms holds "
                        f"(limit {MAX_BYTES // 2**20} MiB)")
    if not data.strip():
        raise ReadError("empty file" if not data else "file holds only whitespace")
    text, encoding, notes = decode(data)
    if _looks_binary(text):
        raise ReadError("binary file: not an HTML page", 1)
    cells = len(_CELL_TAG.findall(text))
    if cells > MAX_CELLS:
        raise ReadError(f"refused: {cells:,} table cells (<td>/<th>), more than {MAX_CELLS:,}")
    rows = len(_ROW_TAG.findall(text))
    if rows > MAX_ROWS:
        raise ReadError(f"refused: {rows:,} table rows (<tr>), more than {MAX_ROWS:,}")
    root, stopped = _parse(text)
    notes += stopped
    reader = _Reader(root, encoding)
    grid = reader.grid
    try:
        reader.block(root)
    except _Full:
        pass
    except RecursionError:
        raise ReadError("refused: elements nested too deeply to read") from None
    if encoding not in ("utf-8", "utf-8-sig"):
        notes.append(("info", f"decoded as {encoding}" + (f" (declared {declared(data)})" if declared(data) else ""),
                      None))
    if not reader.numbers:
        notes.append(("info", "the page has no <table>: its text is read as paragraphs", None))
    grid.problems[:0] = notes
    return grid
