"""Reader for Word documents (.docx) → the same Grid as text.

The body is read in order: a paragraph is a row of one cell, a table row is a row of cells at their
grid columns. Paragraphs between tables stay rows, so titles, year lines, notes and narrative are
seen as in a text export, and a form split over two tables reads on as one. Merged cells keep their
text in the first (top-left) grid cell and leave the covered ones blank, as in the spreadsheet reader;
python-docx's `row.cells` repeats a merged cell's text in each covered cell, so the XML is read.
Provenance: `locations` gives "table T row R" or "paragraph P" for each line.
"""

from __future__ import annotations

import io
import re

from perfdata.grid import DocGrid, ReadError, Row
from perfdata.normalize import clean
from perfdata.readers.detect import check_zip

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
# Word draws at most 63 columns; a w:gridSpan or w:gridBefore that makes a row wider than this is refused
# before anything is allocated (gridSpan="1000000000" would be a billion cells), and so is a document
# whose rows together span more grid positions than MAX_GRID_CELLS.
MAX_COLUMNS = 1_000
MAX_GRID_CELLS = 5_000_000
_DIGITS = re.compile(r"\s*\+?(\d+)")


def span(value: str | None) -> int:
    """A w:gridSpan / w:gridBefore value as Word reads it: its leading digits, else 1 (gridBefore: 0 is allowed).

    >>> span("3"), span(" 2 "), span("abc"), span(None), span("0"), span("9" * 5000)
    (3, 2, 1, 1, 0, 1000000000)
    """
    m = _DIGITS.match(value or "")
    if not m:
        return 1
    return 10**9 if len(m.group(1)) > 9 else int(m.group(1))  # no int() of a 5,000-digit string


def _text(el) -> str:
    """Text of a cell or paragraph element: paragraphs and line breaks joined by a space."""
    parts = []
    for p in el.iter(f"{W}p"):
        buf = []
        for node in p.iter():
            if node.tag == f"{W}t" and node.text:
                buf.append(node.text)
            elif node.tag in (f"{W}br", f"{W}cr") or node.tag == f"{W}tab":
                buf.append(" ")
        if buf:
            parts.append("".join(buf))
    return clean(" ".join(parts))


WRAPPERS = (f"{W}sdt", f"{W}sdtContent", f"{W}customXml", f"{W}smartTag")


def _children(el, tag: str):
    """Child elements with `tag`, looking through content controls and custom XML that wrap them."""
    for ch in el.iterchildren():
        if ch.tag == tag:
            yield ch
        elif ch.tag in WRAPPERS:
            yield from _children(ch, tag)


def _blocks(el):
    """Paragraphs and tables of the body in order, also those inside content controls."""
    for ch in el.iterchildren():
        if ch.tag in (f"{W}p", f"{W}tbl"):
            yield ch
        elif ch.tag in WRAPPERS:
            yield from _blocks(ch)


def read_docx(data: bytes) -> DocGrid:
    check_zip(data)
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as e:  # noqa: BLE001 - python-docx raises many error types for broken files
        raise ReadError(f"corrupt or unreadable Word document: {type(e).__name__}: {e}") from None
    grid = DocGrid([], "docx", "cells", format="docx")
    n_par = n_tab = 0

    def add(cells: list[str], where: str):
        while cells and not cells[-1]:
            cells.pop()
        line = len(grid.rows) + 1
        grid.rows.append(Row(line, cells, "\t".join(cells)))
        grid.locations[line] = where

    area = 0

    def table(tbl, label: str):
        nonlocal area
        for r, tr in enumerate(_children(tbl, f"{W}tr"), 1):  # nested tables read as their cell's text
            pr = tr.find(f"{W}trPr")
            before = pr.find(f"{W}gridBefore") if pr is not None else None
            widths = [span(before.get(f"{W}val", "0")) if before is not None else 0]
            tcs = []
            for tc in _children(tr, f"{W}tc"):
                tcpr = tc.find(f"{W}tcPr")
                gs = tcpr.find(f"{W}gridSpan") if tcpr is not None else None
                vm = tcpr.find(f"{W}vMerge") if tcpr is not None else None
                widths.append(max(1, span(gs.get(f"{W}val", "1"))) if gs is not None else 1)
                tcs.append((tc, None if vm is None else vm.get(f"{W}val", "continue")))
            width = sum(widths)
            area += width
            if width > MAX_COLUMNS or area > MAX_GRID_CELLS:
                what = "w:gridBefore" if widths[0] > MAX_COLUMNS else "w:gridSpan"
                message = (f"refused: {label} row {r} is {width:,} grid columns wide ({what}); a Word table has at "
                           "most 63" if width > MAX_COLUMNS else
                           f"refused: the tables span more than {MAX_GRID_CELLS:,} grid cells (at {label} row {r})")
                raise ReadError(message, len(grid.rows) + 1, f"{label} row {r}")
            cells: list[str] = [""] * widths[0]
            for (tc, vmerge), w in zip(tcs, widths[1:], strict=True):
                cells += ["" if vmerge == "continue" else _text(tc)] + [""] * (w - 1)
            add(cells, f"{label} row {r}")

    body = document.element.body
    for el in _blocks(body):
        if el.tag == f"{W}p":
            n_par += 1
            add([_text(el)], f"paragraph {n_par}")
        else:
            n_tab += 1
            table(el, f"table {n_tab}")
    return grid
