"""Reader for text-layer PDFs (pdfplumber) → the same Grid as text.

Each page gives its ruled tables (one Row per table row, cells at their column, merged cells blank
but the top-left one) and its text lines outside the tables (one Row of one cell each), in reading
order from the top. Pages follow each other in one Grid, so a table that crosses a page break reads
on as one table; page numbers printed between the parts are dropped and not read as content.
Lines of a cell wrapped over several printed lines are joined (no space between Chinese characters),
and so are the printed lines of a paragraph outside the tables.
A PDF without a text layer (a scan) is refused with "no text layer: OCR needed".
Provenance: `locations` gives "page P line L" for each line.

Before pdfplumber opens a file, `precheck` refuses what would make it run without end or without
bound, each with a message that says why: more than `MAX_PAGES` pages (counted in the bytes, also
inside compressed object streams, before anything is parsed), more than `MAX_OBJECTS` objects, objects
that refer to each other in a loop (object 2 is `3 0 R` and object 3 is `2 0 R`: pdfminer would follow
them for ever), and a page whose content inflates beyond `MAX_CONTENT` bytes, or beyond
`MAX_CONTENT_INFLATED` at more than `MAX_CONTENT_RATIO` times its stored size (31 KB that inflate to
3 million characters).
"""

from __future__ import annotations

import io
import re
import zlib

from perfdata.grid import DocGrid, ReadError, Row
from perfdata.normalize import clean

MAX_PAGES = 5_000
MAX_OBJECTS = 500_000
MAX_CONTENT = 32 * 2**20  # inflated content streams of one page (with the forms it draws)
MAX_CONTENT_INFLATED, MAX_CONTENT_RATIO = 2 * 2**20, 20  # a page's content past 2 MiB at more than 20:1
_PAGE_DICT = re.compile(rb"/Type\s*/Page(?![A-Za-z0-9])")
_PAGES_COUNT = re.compile(rb"/Type\s*/Pages(?![A-Za-z0-9])[^>]*?/Count\s+(\d{1,12})|"
                          rb"/Count\s+(\d{1,12})[^>]*?/Type\s*/Pages(?![A-Za-z0-9])")
_OBJSTM = re.compile(rb"/Type\s*/ObjStm(?![A-Za-z0-9])")
_STREAM = re.compile(rb"stream\r?\n")

# a line starting like this begins a new paragraph even right under a full line
NEW_ITEM = re.compile(r"^\s*(?:[一二三四五六七八九十]+[、.]|[(（][一二三四五六七八九十\d]+[)）]|\d+[、.．]"
                      r"|第.{1,3}[章节部分条]|注\s*[:：])")
PAGE_NUMBER = re.compile(r"^[-—–_\s]*(?:第\s*)?\d{1,4}\s*(?:页)?\s*(?:(?:/|共)\s*\d{1,4}\s*页?)?[-—–_\s]*$")


def _cell(text: str | None) -> str:
    return clean(text.replace("\n", " ")) if text else ""


def _extract(page, table) -> list[list[str | None]]:
    """Cell texts of a table, each character given to the cell holding its left part.

    pdfplumber gives a character to the cell holding its centre; Chinese punctuation that hangs past
    a cell's right border (、。，at the end of a full line) then lands in the next cell. A quarter of
    the glyph width in from its left edge is always inside the cell it was written in."""
    from bisect import bisect_right

    from pdfplumber.utils import extract_text

    cells = [(i, j, bbox) for i, row in enumerate(table.rows) for j, bbox in enumerate(row.cells) if bbox]
    tops = sorted({bbox[1] for _, _, bbox in cells})
    band: dict[int, list] = {k: [] for k in range(len(tops))}
    for cell in cells:
        _, _, (x0, top, x1, bottom) = cell
        for k in range(bisect_right(tops, top) - 1, bisect_right(tops, bottom - 0.01)):
            band[k].append(cell)
    got: dict[tuple[int, int], list[dict]] = {}
    x0, top, x1, bottom = table.bbox
    for ch in page.chars:
        if not (x0 - 3 <= ch["x0"] <= x1 and top <= (ch["top"] + ch["bottom"]) / 2 <= bottom):
            continue
        x = ch["x0"] + (ch["x1"] - ch["x0"]) / 4
        y = (ch["top"] + ch["bottom"]) / 2
        for i, j, (cx0, ctop, cx1, cbottom) in band.get(bisect_right(tops, y) - 1, ()):
            if cx0 <= x < cx1 and ctop <= y < cbottom:
                got.setdefault((i, j), []).append(ch)
                break
    return [[extract_text(got[(i, j)]) if (i, j) in got else ("" if bbox else None)
             for j, bbox in enumerate(row.cells)] for i, row in enumerate(table.rows)]


def _inside(line: dict, boxes: list[tuple[float, float, float, float]]) -> bool:
    y = (line["top"] + line["bottom"]) / 2
    x = (line["x0"] + line["x1"]) / 2
    return any(x0 - 1 <= x <= x1 + 1 and top - 1 <= y <= bottom + 1 for x0, top, x1, bottom in boxes)


def _paragraphs(lines: list[dict], right: float, table_tops: list[float]) -> list[tuple[float, str]]:
    """Join printed lines wrapped from one paragraph: the line above reaches the right edge of the text,
    the next starts at the left edge (not indented) right below it, and no table lies between them."""
    if not lines:
        return []
    left = min(ln["x0"] for ln in lines)
    out: list[tuple[float, str]] = []
    prev = None
    for ln in lines:
        h = max(ln["bottom"] - ln["top"], 1.0)
        if (prev is not None and prev["x1"] >= right - 1.5 * h and ln["x0"] <= left + 0.5 * h
                and 0 <= ln["top"] - prev["bottom"] < 0.8 * h and not NEW_ITEM.match(ln["text"])
                and not any(prev["bottom"] <= t <= ln["top"] for t in table_tops)):
            top, text = out[-1]
            out[-1] = (top, clean(text + " " + ln["text"]))
        else:
            out.append((ln["top"], clean(ln["text"])))
        prev = ln
    return out


def _read_page(page, pno: int, grid: DocGrid) -> int:
    """Append the rows of one page to the grid; returns how many page-number lines were dropped."""
    items: list[tuple[float, float, list[str]]] = []
    tables = page.find_tables()
    for t in tables:
        for row, cells in zip(t.rows, _extract(page, t), strict=True):
            items.append((row.bbox[1], 0, [_cell(c) for c in cells]))
    boxes = [t.bbox for t in tables]
    lines, dropped = [], 0
    for ln in page.extract_text_lines(return_chars=False):
        if _inside(ln, boxes):
            continue
        if PAGE_NUMBER.match(clean(ln["text"])):
            dropped += 1
            continue
        lines.append(ln)
    right = max([page.width * 0.75] + [b[2] for b in boxes] + [ln["x1"] for ln in lines])
    for top, text in _paragraphs(lines, right, [b[1] for b in boxes]):
        items.append((top, 1, [text]))
    items.sort(key=lambda it: (it[0], it[1]))
    for k, (_, _, cells) in enumerate(items, 1):
        while cells and not cells[-1]:
            cells.pop()
        line = len(grid.rows) + 1
        grid.rows.append(Row(line, cells, "\t".join(cells)))
        grid.locations[line] = f"page {pno} line {k}"
    return dropped


def _inflate(raw: bytes, limit: int) -> bytes | None:
    """At most `limit` + 1 bytes of a zlib stream (None where it is not one)."""
    try:
        d = zlib.decompressobj()
        return d.decompress(raw, limit + 1)
    except zlib.error:
        return None


def _page_count(data: bytes) -> int:
    """The pages a file says it has, from its bytes and its compressed object streams, without parsing:
    the largest /Count of a page tree node, or the number of page objects if more."""
    texts = [data]
    for m in _OBJSTM.finditer(data):
        st = _STREAM.search(data, m.end(), m.end() + 4096)
        if st:
            end = data.find(b"endstream", st.end())
            body = _inflate(data[st.end() : end if end > 0 else len(data)], 64 * 2**20)
            if body:
                texts.append(body)
    counts = [int(a or b) for t in texts for a, b in _PAGES_COUNT.findall(t)]
    return max([*counts, sum(len(_PAGE_DICT.findall(t)) for t in texts)])


def precheck(data: bytes) -> None:
    """Refuse a PDF that would make the reader run without end or bound (see the module docstring). Files
    that pdfminer cannot parse pass: opening them says why."""
    pages = _page_count(data)
    if pages > MAX_PAGES:
        raise ReadError(f"refused: {pages:,} pages, more than {MAX_PAGES:,} (a document of forms is split into "
                        "smaller files)")
    from pdfminer.pdfdocument import PDFDocument
    from pdfminer.pdfpage import PDFPage
    from pdfminer.pdfparser import PDFParser
    from pdfminer.pdftypes import PDFObjRef, PDFStream

    class Checked(PDFDocument):
        """getobj() that follows an object which is only a reference to the object it names, and stops at a loop."""

        def getobj(self, objid):
            obj, chain = super().getobj(objid), [objid]
            while isinstance(obj, PDFObjRef):
                if obj.objid in chain or len(chain) > 64:
                    loop = " → ".join(map(str, [*chain[chain.index(obj.objid):], obj.objid])) \
                        if obj.objid in chain else f"{chain[0]} → … (64 references)"
                    raise ReadError(f"refused: objects that refer to each other in a loop (object {loop}); "
                                    "a reader following them would never stop", location=f"object {chain[0]}")
                chain.append(obj.objid)
                obj = super().getobj(obj.objid)
            return obj

    try:
        doc = Checked(PDFParser(io.BytesIO(data)))
        ids = [i for x in doc.xrefs for i in x.get_objids()]
    except ReadError:
        raise
    except Exception:  # noqa: BLE001 - broken, encrypted: pdfplumber's own opening reports it
        return
    if len(ids) > MAX_OBJECTS:
        raise ReadError(f"refused: {len(ids):,} objects, more than {MAX_OBJECTS:,}")
    for i in ids:
        try:
            doc.getobj(i)
        except ReadError:
            raise
        except Exception:  # noqa: BLE001 - a damaged object is pdfminer's to report, if it is ever used
            pass
    try:
        for pno, page in enumerate(PDFPage.create_pages(doc), 1):
            if pno > MAX_PAGES:
                raise ReadError(f"refused: more than {MAX_PAGES:,} pages")
            _check_content(page, pno, PDFStream)
    except ReadError:
        raise
    except Exception:  # noqa: BLE001
        return


def _check_content(page, pno: int, stream_type) -> None:
    """Refuse a page whose content streams (and the form XObjects it draws) inflate past the limits."""
    from pdfminer.pdftypes import resolve1
    from pdfminer.psparser import literal_name

    streams, seen = [s for s in page.contents if isinstance(s, stream_type)], set()
    todo = [page.resources]
    while todo and len(seen) < 10_000:
        res = resolve1(todo.pop())
        xobjects = resolve1(res.get("XObject")) if isinstance(res, dict) else None
        for x in (xobjects.values() if isinstance(xobjects, dict) else ()):
            x = resolve1(x)
            form = isinstance(x, stream_type) and _name(resolve1(x.get("Subtype")), literal_name) == "Form"
            if form and id(x) not in seen:
                seen.add(id(x))
                streams.append(x)
                todo.append(x.get("Resources"))
    stored = inflated = 0
    for st in streams:
        raw = st.rawdata if st.rawdata is not None else (st.data or b"")
        stored += len(raw)
        filters = [_name(f, literal_name) for f, _ in st.get_filters()]
        if filters in (["FlateDecode"], ["Fl"]):
            body = _inflate(raw, MAX_CONTENT)
            inflated += len(body) if body is not None else len(raw)
        elif not filters:
            inflated += len(raw)
        else:
            inflated += len(st.get_data())  # other filters inflate far less (LZW at most ~2,700:1)
        if inflated > MAX_CONTENT or (inflated > MAX_CONTENT_INFLATED and inflated > MAX_CONTENT_RATIO * stored):
            raise ReadError(f"refused: the content of page {pno} inflates from {stored / 1024:,.0f} KB to "
                            f"{inflated / 2**20:,.1f} MiB ({inflated / max(stored, 1):,.0f}-fold); the limit is "
                            f"{MAX_CONTENT_INFLATED // 2**20} MiB at more than {MAX_CONTENT_RATIO}:1, "
                            f"{MAX_CONTENT // 2**20} MiB in any case", location=f"page {pno}")


def _name(x, literal_name) -> str | None:
    try:
        return literal_name(x)
    except Exception:  # noqa: BLE001 - not a name
        return None


def read_pdf(data: bytes) -> DocGrid:
    import pdfplumber
    from pdfminer.pdfdocument import PDFPasswordIncorrect

    precheck(data)
    try:
        pdf = pdfplumber.open(io.BytesIO(data))
        pages = pdf.pages
    except Exception as e:  # noqa: BLE001 - pdfminer raises many error types for broken files
        cause = e.args[0] if e.args and isinstance(e.args[0], Exception) else e  # pdfplumber wraps them
        if isinstance(cause, PDFPasswordIncorrect):
            raise ReadError("password-protected PDF: cannot be read without the password") from None
        raise ReadError(f"corrupt or truncated PDF: {type(cause).__name__}: {cause}".rstrip(": ")) from None
    grid = DocGrid([], "pdf", "cells", format="pdf")
    no_text: list[int] = []  # pages drawn as images or outlines: scans without a text layer
    blank = 0
    dropped = 0
    with pdf:
        for pno, page in enumerate(pages, 1):
            try:
                before = len(grid.rows)
                if page.chars:
                    dropped += _read_page(page, pno, grid)
                if len(grid.rows) == before:  # nothing but perhaps a page number
                    if page.images or page.curves:
                        no_text.append(pno)
                    else:
                        blank += 1
            except Exception as e:  # noqa: BLE001 - one damaged page must not lose the others
                grid.problems.append(("warning", f"page {pno} cannot be read: {type(e).__name__}: {e}", None,
                                      f"page {pno}"))
            finally:
                page.flush_cache()
    if no_text and not grid.rows:
        raise ReadError(f"no text layer: OCR needed ({len(no_text)} scanned page(s), no text to read)")
    if not grid.rows and not grid.problems:
        raise ReadError(f"no text in the PDF ({blank} blank page(s))" if blank == len(pages) else "no text in the PDF")
    if no_text:
        grid.problems.append(("warning", f"no text layer on page(s) {', '.join(map(str, no_text))}: OCR needed "
                              "for them; the other pages were read", None))
    if dropped:
        grid.notes.append(f"{dropped} page number line(s) dropped")
    return grid
