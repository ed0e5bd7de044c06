"""Render the bundled documents into .xlsx, .xls, .docx and .pdf the way departments lay them out.

The cells come from the text reader's grid of each bundled file, so every format carries exactly the
text version's content; what changes is the container: typed numbers and percentages stored as
fractions with a % format (a few numbers kept as text), merged label and level cells (a 一级指标 cell
spans its indicator rows, 项目名称 spans the row), one form per sheet or all forms in one sheet, tables
broken by paragraphs (titles, year lines, notes), and in the PDF ruled tables that cross page breaks
with page numbers printed between the parts. Tests call `render`; run as a script to look at them:

    python tests/make_fixtures.py OUT_DIR
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from perfdata.readers.text import read_text
from perfdata.tables import layout

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data" / "raw"
FORM_DOCUMENTS = (
    "hebei-xinglong-county-hrss-2024-project-self-evaluations.txt",
    "henan-xinxiang-county-hrss-2021-self-evaluations.txt",
    "ningxia-guyuan-city-hrss-2024-project-self-evaluations.txt",
)
NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")
PERCENT = re.compile(r"^(\d+(?:\.(\d+))?)%$")


def document_rows(path: Path | bytes | str) -> tuple[list[list[str]], list[int]]:
    """Cleaned cells of each non-blank row of a text document (a path, its bytes or its text), and the
    rows where a table starts."""
    data = path.read_bytes() if isinstance(path, Path) else path.encode() if isinstance(path, str) else path
    grid = read_text(data)
    starts = {st.index for st in layout.find_tables(grid.rows)}
    rows, table_rows = [], []
    for i, r in enumerate(grid.rows):
        cells = list(r.cells)
        while cells and not cells[-1]:
            cells.pop()
        if i in starts:
            table_rows.append(len(rows))
        if any(cells):
            rows.append(cells)
    return rows, table_rows


def is_paragraph(cells: list[str]) -> bool:
    """A row of one cell in the first column is a paragraph (title, year line, note, narrative); an
    empty row is a blank paragraph, which splits a table in two."""
    return not cells or (bool(cells[0]) and not any(cells[1:]))


def blocks(rows: list[list[str]]) -> list[tuple[str, int, int]]:
    """(kind, first, stop) runs of paragraph rows and of table rows."""
    out: list[tuple[str, int, int]] = []
    for i, cells in enumerate(rows):
        kind = "para" if is_paragraph(cells) else "table"
        if out and out[-1][0] == kind == "table":
            out[-1] = (kind, out[-1][1], i + 1)
        else:
            out.append((kind, i, i + 1))
    return out


def merge_plan(rows: list[list[str]], width: int) -> list[tuple[int, int, int, int]]:
    """Merged ranges (row0, col0, row1, col1), inclusive, for one table as departments merge them.

    A label or level cell spans the rows below it that are blank up to its column (绩效指标 over the
    indicator rows, 产出指标 over its indicators); in rows of few cells, a cell spans the blank cells to
    its right (项目名称 and the project name, the goal texts). Only blank cells are ever covered.
    """
    def cell(r, c):
        return rows[r][c] if c < len(rows[r]) else ""

    plan, covered = [], set()
    for r, cells in enumerate(rows):
        filled = [c for c in range(len(cells)) if cells[c]]
        for c in filled:
            if c > 2:
                continue
            r1 = r
            while (r1 + 1 < len(rows) and not any(cell(r1 + 1, k) for k in range(c + 1))
                   and any(cell(r1 + 1, k) for k in range(c + 1, width))):
                r1 += 1
            if r1 > r:
                plan.append((r, c, r1, c))
                covered |= {(k, c) for k in range(r, r1 + 1)}
        if 1 <= len(filled) <= 4:
            for j, c in enumerate(filled):
                end = (filled[j + 1] if j + 1 < len(filled) else width) - 1
                if end > c and (r, c) not in covered and not any((r, k) in covered for k in range(c, end + 1)):
                    plan.append((r, c, r, end))
    return plan


def _typed(text: str, as_text: bool):
    """The value and number format a department's workbook would hold for a printed cell."""
    if as_text or not text:
        return text, None
    if NUMBER.match(text):
        v = float(text)
        if v.is_integer() and "." not in text:
            return int(v), None
        if repr(v) == text:
            return v, None
        return text, None
    m = PERCENT.match(text)
    if m:
        decimals = len(m.group(2) or "")
        return float(m.group(1)) / 100, "0" + ("." + "0" * decimals if decimals else "") + "%"
    return text, None


def _table_row_sets(rows, table_starts, per_table: bool) -> list[tuple[str, list[list[str]]]]:
    if not per_table:
        return [("表1", rows)]
    cuts = sorted({0, *table_starts}) + [len(rows)]
    return [(f"表{k + 1}", rows[a:b]) for k, (a, b) in enumerate(zip(cuts, cuts[1:], strict=False)) if b > a]


def to_xlsx(rows, table_starts, path: Path, per_table: bool = True):
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    n = 0
    for name, part in _table_row_sets(rows, table_starts, per_table):
        ws = wb.create_sheet(name)
        for r, cells in enumerate(part, 1):
            for c, text in enumerate(cells, 1):
                n += 1
                value, fmt = _typed(text, as_text=(n % 7 == 0))  # some numbers stored as text
                if value != "":
                    cell = ws.cell(r, c, value)
                    if isinstance(value, str):
                        cell.data_type = "s"  # "=…" is text typed by a person, not a formula
                    if fmt:
                        cell.number_format = fmt
        for kind, a, b in blocks(part):
            if kind == "table":
                width = max(len(x) for x in part[a:b])
                for r0, c0, r1, c1 in merge_plan(part[a:b], width):
                    ws.merge_cells(start_row=a + r0 + 1, start_column=c0 + 1, end_row=a + r1 + 1, end_column=c1 + 1)
    wb.save(path)


def to_xls(rows, table_starts, path: Path, per_table: bool = True):
    """The same workbook as `to_xlsx` in the legacy format (xlwt)."""
    import xlwt

    wb = xlwt.Workbook(encoding="utf-8")
    styles: dict[str | None, xlwt.XFStyle] = {None: xlwt.XFStyle()}
    n = 0
    for name, part in _table_row_sets(rows, table_starts, per_table):
        ws = wb.add_sheet(name)
        merged: dict[tuple[int, int], tuple[int, int]] = {}
        for kind, a, b in blocks(part):
            if kind == "table":
                width = max(len(x) for x in part[a:b])
                for r0, c0, r1, c1 in merge_plan(part[a:b], width):
                    merged[(a + r0, c0)] = (a + r1, c1)
        for r, cells in enumerate(part):
            for c, text in enumerate(cells):
                n += 1
                value, fmt = _typed(text, as_text=(n % 7 == 0))
                if fmt not in styles:
                    styles[fmt] = xlwt.easyxf(num_format_str=fmt)
                if (r, c) in merged:
                    r1, c1 = merged[(r, c)]
                    ws.write_merge(r, r1, c, c1, value, styles[fmt])
                elif value != "":
                    ws.write(r, c, value, styles[fmt])
    wb.save(path)


def to_docx(rows, path: Path):
    import docx
    from docx.shared import Pt

    d = docx.Document()
    d.styles["Normal"].font.size = Pt(8)
    for kind, a, b in blocks(rows):
        if kind == "para":
            for cells in rows[a:b]:
                d.add_paragraph(cells[0] if cells else "")
            continue
        part = rows[a:b]
        width = max(len(x) for x in part)
        t = d.add_table(rows=len(part), cols=width)
        t.style = "Table Grid"
        grid = [row.cells for row in t.rows]  # t.cell() walks the whole table on every call
        for r, cells in enumerate(part):
            for c, text in enumerate(cells):
                if text:
                    grid[r][c].text = text
        for r0, c0, r1, c1 in merge_plan(part, width):
            grid[r0][c0].merge(grid[r1][c1])
    d.save(path)


def to_pdf(rows, path: Path, top_space: float = 0, password: str | None = None):
    """Ruled tables on A4 landscape, Chinese text in the viewer's built-in Song font (no font file).

    `top_space` pushes the content down the first page, to move where tables break between pages."""
    from xml.sax.saxutils import escape

    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.pdfencrypt import StandardEncryption
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    body = ParagraphStyle("body", fontName="STSong-Light", fontSize=8, leading=10, wordWrap="CJK")
    cell_style = ParagraphStyle("cell", parent=body, fontSize=7, leading=8.5)
    page = landscape(A4)
    doc = SimpleDocTemplate(path if hasattr(path, "write") else str(path), pagesize=page, leftMargin=30,
                            rightMargin=30, topMargin=30, bottomMargin=36,
                            encrypt=StandardEncryption(password, canPrint=1) if password else None)

    def footer(canvas, d):
        canvas.setFont("STSong-Light", 8)
        canvas.drawCentredString(page[0] / 2, 16, f"- {d.page} -")

    story = [Spacer(1, top_space)] if top_space else []
    for kind, a, b in blocks(rows):
        if kind == "para":
            story += [Paragraph(escape(cells[0]) if cells else "", body) for cells in rows[a:b]]
            continue
        part = rows[a:b]
        width = max(len(x) for x in part)
        data = [[Paragraph(escape(c), cell_style) if c else "" for c in cells] + [""] * (width - len(cells))
                for cells in part]
        # tight padding: a full line's trailing 、。 hangs past the cell border, as WPS and Word print them
        style = [("GRID", (0, 0), (-1, -1), 0.5, colors.black), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                 ("LEFTPADDING", (0, 0), (-1, -1), 2), ("RIGHTPADDING", (0, 0), (-1, -1), 2)]
        for r0, c0, r1, c1 in merge_plan(part, width):
            if r1 - r0 <= 4:  # reportlab breaks a table between pages only outside its row spans
                style.append(("SPAN", (c0, r0), (c1, r1)))
        story.append(Table(data, colWidths=[doc.width / width] * width, style=TableStyle(style)))
    doc.build(story, onFirstPage=footer, onLaterPages=footer)


def render(out: Path, formats=("xlsx", "xls", "docx", "pdf"), documents=FORM_DOCUMENTS) -> dict[str, list[Path]]:
    """Write every document in every format under `out`; returns format → paths."""
    out.mkdir(parents=True, exist_ok=True)
    made: dict[str, list[Path]] = {f: [] for f in formats}
    for k, name in enumerate(documents):
        rows, starts = document_rows(RAW / name)
        stem = Path(name).stem
        for fmt in formats:
            path = out / fmt / f"{stem}.{fmt}"
            path.parent.mkdir(exist_ok=True)
            if fmt == "xlsx":
                to_xlsx(rows, starts, path, per_table=(k % 2 == 0))  # one form per sheet, or all in one
            elif fmt == "xls":
                to_xls(rows, starts, path, per_table=(k % 2 == 1))
            elif fmt == "docx":
                to_docx(rows, path)
            else:
                to_pdf(rows, path)
            made[fmt].append(path)
    return made


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--formats", default="xlsx,xls,docx,pdf")
    a = ap.parse_args(argv)
    for fmt, paths in render(a.out, tuple(a.formats.split(","))).items():
        for p in paths:
            print(fmt, p, p.stat().st_size)


if __name__ == "__main__":
    sys.exit(main())
