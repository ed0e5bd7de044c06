"""PDF reader: ruled tables and text lines in reading order, tables across page breaks, scans, bad files."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from factory import render
from make_fixtures import document_rows, to_pdf

from perfdata.grid import ReadError
from perfdata.ingest import combine, read_bytes
from perfdata.readers.pdf import PAGE_NUMBER, read_pdf

PROVENANCE = ["form_id", "source_file", "location", "line", "line_start", "line_end", "level1_weight_line",
              "total_line", "funding_line"]


def pdf_of(rows, **kw) -> bytes:
    buf = io.BytesIO()
    to_pdf(rows, buf, **kw)
    return buf.getvalue()


def tables(data: bytes, name: str = "form.pdf"):
    return combine([read_bytes(data, name)])


def content(df):
    return df.drop(columns=[c for c in PROVENANCE if c in df.columns]).reset_index(drop=True)


def scan_pdf(pages: int = 1, text_page: bool = False, page_numbers: bool = False, blank: int = 0) -> bytes:
    """Pages holding only an image, as a scanner makes them (optionally one text page first, page
    numbers printed as text on the scans, blank pages after them)."""
    from PIL import Image
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    if text_page:
        c.drawString(72, 720, "Project 2024")
        c.showPage()
    img = ImageReader(Image.new("L", (200, 100), 200))
    for k in range(pages):
        c.drawImage(img, 72, 500, 400, 200)
        if page_numbers:
            c.drawCentredString(300, 30, f"- {k + 1} -")
        c.showPage()
    for _ in range(blank):
        c.showPage()
    c.save()
    return buf.getvalue()


@pytest.mark.parametrize("top_space", [0, 245, 265, 385], ids=["one-page", "break-in-levels", "break-in-output",
                                                              "break-before-funding"])
def test_form_across_a_page_break_same_as_text(top_space):
    text = render()
    rows, _ = document_rows(text)
    got = tables(pdf_of(rows, top_space=top_space))
    want = tables(text.encode(), "form.txt")
    assert got["problems"].empty, got["problems"].message.tolist()
    for t in ("forms", "funding", "indicators"):
        pd.testing.assert_frame_equal(content(got[t]), content(want[t]))
    pages = got["indicators"].location.str.extract(r"page (\d)")[0].astype(int).tolist()
    assert pages == {0: [1] * 5, 245: [1, 1, 1, 1, 2], 265: [1, 1, 1, 2, 2], 385: [2] * 5}[top_space]


def test_rows_in_reading_order_with_page_lines():
    rows = [["某某项目支出绩效自评表"], ["(2023年度)"], ["项目名称", "", "就业补助"],
            ["主管部门", "人社局", "实施单位", "就业中心"], ["注:得分一档最高不能超过该指标分值上限。"]]
    grid = read_pdf(pdf_of(rows))
    assert [r.cells for r in grid.rows] == [["某某项目支出绩效自评表"], ["(2023年度)"], ["项目名称", "", "就业补助"],
                                            ["主管部门", "人社局", "实施单位", "就业中心"],
                                            ["注:得分一档最高不能超过该指标分值上限。"]]
    assert grid.locations[1] == "page 1 line 1" and grid.locations[5] == "page 1 line 5"
    assert "1 page number line(s) dropped" in grid.notes


@pytest.mark.parametrize("text,is_number", [("- 3 -", True), ("第 2 页 共 10 页", True), ("12", True), ("3/10", True),
                                             ("(2024年度)", False), ("2024年", False), ("100%", False)])
def test_page_number_lines(text, is_number):
    assert bool(PAGE_NUMBER.match(text)) is is_number


def test_scanned_pdf_needs_ocr():
    t = tables(scan_pdf(2))
    assert t["problems"][["severity", "message"]].values.tolist() == [
        ["error", "no text layer: OCR needed (2 scanned page(s), no text to read)"]]
    assert t["files"].status.tolist() == ["failed"]


def test_scan_with_printed_page_numbers_and_blank_pages():
    t = tables(scan_pdf(3, page_numbers=True, blank=1))
    assert t["problems"].message.tolist() == ["no text layer: OCR needed (3 scanned page(s), no text to read)"]
    (msg,) = tables(scan_pdf(0, blank=2))["problems"].message.tolist()
    assert msg == "no text in the PDF (2 blank page(s))"


def test_scanned_page_among_text_pages():
    t = tables(scan_pdf(1, text_page=True))
    msgs = t["problems"].message.tolist()
    assert "no text layer on page(s) 2: OCR needed for them; the other pages were read" in msgs


def test_bad_pdfs():
    good = pdf_of(document_rows(render())[0])
    cases = {
        "password": (pdf_of([["x"]], password="secret"), "password-protected PDF: cannot be read without the password"),
        "truncated": (good[: len(good) // 2], "corrupt or truncated PDF"),
        "garbage": (b"%PDF-1.4\n" + bytes(range(256)) * 4, "corrupt or truncated PDF"),
    }
    for name, (data, start) in cases.items():
        t = tables(data)
        (msg,) = t["problems"].message.tolist()
        assert msg.startswith(start), (name, msg)
        assert t["files"].status.tolist() == ["failed"]


def test_wrapped_paragraphs_join_titles_do_not():
    long = "我局高度重视项目支出绩效自评工作,严格按照文件要求组织开展自评," * 6
    rows = [["某某项目支出绩效自评表"], ["(2023年度)"], [long], ["二、绩效目标完成情况"], [long + "完毕。"]]
    grid = read_pdf(pdf_of(rows))
    assert [r.cells[0] for r in grid.rows] == [rows[0][0], rows[1][0], long, rows[3][0], long + "完毕。"]
    assert grid.locations[4] == "page 1 line 4"


# -- PDFium's fonts: built-in only for a read, the platform's for everyone else ----------------------------

def pdfium_boxes(data: bytes) -> list[tuple]:
    """What another user of pypdfium2 in this process sees: the loose box of every character of page 1."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(data)
    tp = doc[0].get_textpage()
    boxes = [tp.get_charbox(i, loose=True) for i in range(tp.count_chars())]
    tp.close()
    doc.close()
    return boxes


def test_other_pypdfium2_users_keep_the_platform_fonts():
    from perfdata.readers.pdf import builtin_fonts_only

    data = pdf_of([["某某项目支出绩效自评表"], ["项目名称", "", "就业补助"]])
    before = pdfium_boxes(data)
    read_pdf(data)
    assert pdfium_boxes(data) == before
    with pytest.raises(ReadError):
        read_pdf(data[:300])  # a read that fails puts them back too
    assert pdfium_boxes(data) == before
    with builtin_fonts_only():
        builtin = pdfium_boxes(data)
    assert pdfium_boxes(data) == before
    assert read_pdf(data).rows[0].cells == ["某某项目支出绩效自评表"] and len(builtin) == len(before)


def test_the_collector_is_paused_for_a_read_and_put_back_as_it_was(monkeypatch):
    import gc

    from perfdata.readers import pdf

    data = pdf_of([["某某项目支出绩效自评表"], ["项目名称", "", "就业补助"]])
    seen, real = [], pdf._read

    def spy(d):
        seen.append(gc.isenabled())
        return real(d)

    def fails(d):
        raise RuntimeError("damaged")

    assert gc.isenabled()
    monkeypatch.setattr(pdf, "_read", spy)
    assert read_pdf(data).rows[0].cells == ["某某项目支出绩效自评表"]
    assert seen == [False] and gc.isenabled()
    monkeypatch.setattr(pdf, "_read", fails)
    with pytest.raises(RuntimeError, match="damaged"):
        read_pdf(data)
    assert gc.isenabled()
    monkeypatch.setattr(pdf, "_read", spy)
    gc.disable()  # a caller that turned it off keeps it off
    try:
        read_pdf(data)
        assert seen == [False, False] and not gc.isenabled()
    finally:
        gc.enable()


def test_reads_in_threads_give_the_same_grid():
    from concurrent.futures import ThreadPoolExecutor

    data = pdf_of(document_rows(render())[0])
    want = [r.cells for r in read_pdf(data).rows]
    with ThreadPoolExecutor(4) as pool:
        grids = list(pool.map(lambda _: [r.cells for r in read_pdf(data).rows], range(8)))
    assert all(g == want for g in grids)


def marked_pdf() -> bytes:
    """A page with what PDFium's text page writes apart from its characters: an /ActualText span standing
    for the glyphs under it, a word hyphenated at a line end (PDFium's unicode 2) and Chinese text."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.setFont("Helvetica", 12)
    c.drawString(72, 700, "Budget executed 98.5%")
    c._code.append("/Span <</ActualText (fi)>> BDC")  # noqa: SLF001 - raw content: reportlab has no call for it
    c.drawString(72, 680, "ABC")
    c._code.append("EMC")  # noqa: SLF001
    c.drawString(72, 660, "a long hyphen-")
    c.drawString(72, 646, "ated word")
    c.setFont("STSong-Light", 12)
    c.drawString(72, 620, "项目支出绩效自评表")
    c.showPage()
    c.save()
    return buf.getvalue()


def page_chars(data: bytes, one_call: bool) -> list[tuple]:
    """Every page's texts, boxes and whether its text came from one FPDFText_GetText (`one_call`: else
    character by character, as where the two could differ)."""
    import ctypes

    from perfdata.readers import pdf

    pdfium_c, _ = pdf._pdfium()
    out = []
    with pdf.builtin_fonts_only():
        buf = ctypes.create_string_buffer(data, len(data))
        doc = pdfium_c.FPDF_LoadMemDocument64(buf, len(data), None)
        try:
            for i in range(pdfium_c.FPDF_GetPageCount(doc)):
                page = pdf._Page(doc, i)
                try:
                    fast = page._page_text(pdfium_c.FPDFText_CountChars(page.textpage)) is not None
                    if not one_call:
                        page.actual_text = True  # what makes `_page_text` give way
                        page._chars()
                    out.append((page.texts, [a.tolist() for a in page.arrays], fast))
                finally:
                    page.close()
        finally:
            pdfium_c.FPDF_CloseDocument(doc)
    return out


@pytest.mark.parametrize("seed", range(3))
def test_the_text_of_a_page_in_one_call_as_character_by_character(seed):
    """A page's characters from one FPDFText_GetText are those FPDFText_GetUnicode gives one by one (the
    hyphen PDFium marks 2 in both) and the boxes are the same (all a grid is made of); a page with an
    /ActualText is read character by character."""
    import random

    rows = document_rows(render())[0]
    rnd = random.Random(seed)
    rows = [[c + ("、" if c and rnd.random() < 0.2 else "") for c in row] for row in rows]
    plain, marked = pdf_of(rows, top_space=60 * seed), marked_pdf()
    for data in (plain, marked):
        fast, slow = page_chars(data, True), page_chars(data, False)
        assert [p[:2] for p in fast] == [p[:2] for p in slow]
    assert all(p[2] for p in page_chars(plain, True))  # the one call was taken on every page
    marked = page_chars(marked, True)[0]
    assert not marked[2]
    text = "".join(marked[0])
    assert "fi" in text and "ABC" not in text and "hyphen-ated" in text and "项目支出绩效自评表" in text


def test_a_page_that_fails_costs_that_page_only(monkeypatch):
    """Pages are read in batches; a page whose reading fails is told as a warning and the pages beside it
    in its batch are read as they are without it."""
    from perfdata.readers import pdf

    rows = document_rows(render())[0] * 4
    data = pdf_of(rows)
    whole = read_pdf(data)
    pages = sorted({int(loc.split()[1]) for loc in whole.locations.values()})
    assert len(pages) >= 3
    merged, bad = pdf._merged_edges, []

    def failing(edges):
        if not bad and len(seen) == 1:
            bad.append(id(edges))
        seen.add(id(edges))
        if id(edges) in bad:
            raise RuntimeError("damaged")
        return merged(edges)

    seen: set = set()
    monkeypatch.setattr(pdf, "_merged_edges", failing)
    grid = read_pdf(data)
    assert grid.problems == [("warning", "page 2 cannot be read: RuntimeError: damaged", None, "page 2")]
    want = [(r.cells, whole.locations[r.line]) for r in whole.rows if not whole.locations[r.line].startswith("page 2 ")]
    assert [(r.cells, grid.locations[r.line]) for r in grid.rows] == want


def _read_in_child(data: bytes, out) -> None:
    out.put((pdfium_boxes(data), len(read_pdf(data).rows)))


def test_a_process_forked_during_a_read_reads_too():
    """A worker forked while a thread of its parent is inside a read (holding the lock, fonts off) gets a
    free lock and the platform's fonts."""
    import multiprocessing as mp
    import sys
    import threading

    if not sys.platform.startswith("linux"):
        pytest.skip("fork")
    from perfdata.readers.pdf import builtin_fonts_only

    data = pdf_of([["某某项目支出绩效自评表"], ["项目名称", "", "就业补助"]])
    before = pdfium_boxes(data)
    inside, leave = threading.Event(), threading.Event()

    def hold():
        with builtin_fonts_only():
            inside.set()
            leave.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert inside.wait(30)
        ctx = mp.get_context("fork")
        out = ctx.Queue()
        child = ctx.Process(target=_read_in_child, args=(data, out))
        child.start()
        got = out.get(timeout=30)
        child.join(30)
    finally:
        leave.set()
        holder.join()
    assert child.exitcode == 0 and got == (before, len(read_pdf(data).rows))
    assert pdfium_boxes(data) == before


def page_lines(texts, spaces, x0, top, x1, bottom, boxes=()):
    """`_pages_lines` of one page."""
    import numpy as np

    from perfdata.readers import pdf

    return pdf._pages_lines(texts, spaces, x0, top, x1, bottom, np.zeros(len(texts), dtype=np.int64), 1, boxes,
                            np.zeros(len(boxes), dtype=np.int64))[0]


@pytest.mark.parametrize("seed", range(40))
def test_words_on_arrays_as_character_by_character(seed):
    """The array form of pdfplumber's word and line grouping (upright text) gives what the character by
    character form gives: on random characters near each other, with blanks, on lines within 3 pt."""
    import random

    import numpy as np

    from perfdata.readers import pdf

    rnd = random.Random(seed)
    chars = []
    for _ in range(rnd.randint(1, 120)):
        x0, top = rnd.choice([rnd.uniform(0, 60), round(rnd.uniform(0, 60))]), rnd.choice([0, 2.5, 3, 6, 7.5, 20])
        top += rnd.choice([0, 0, rnd.uniform(-1, 1)])
        w = rnd.choice([0, 2, 4.5, 7])
        chars.append((rnd.choice("项目 名称a1 、"), x0, top, x0 + w, top + rnd.choice([7, 9]), True))
    arrays = [np.array([c[k] for c in chars], dtype=float) for k in (1, 2, 3, 4)]
    texts = [c[0] for c in chars]
    spaces = np.array([t.isspace() for t in texts])
    assert page_lines(texts, spaces, *arrays) == pdf._text_lines(chars, True)
    boxes = [(rnd.uniform(-5, 40), rnd.choice([0, 3, 8]), rnd.uniform(40, 70), rnd.choice([5, 9, 30]))
             for _ in range(2)]
    outside = [ln for ln in pdf._text_lines(chars, True)  # a line's middle more than 1 pt outside each box
               if not any(a - 1 <= (ln[1] + ln[3]) / 2 <= c + 1 and t - 1 <= (ln[2] + ln[4]) / 2 <= b + 1
                          for a, t, c, b in boxes)]
    assert page_lines(texts, spaces, *arrays, boxes) == outside
    group = np.array([rnd.randrange(4) for _ in chars])
    want = {g: pdf._extract_text([c for c, k in zip(chars, group, strict=True) if k == g], True) for g in set(group)}
    got = pdf._cell_texts(texts, spaces, *arrays, group)
    assert {g: t for g, t in want.items() if t} == got


def _tables_on_sets(edges):
    """The table finder's intersections and smallest cells done plainly, on sets of edges per point."""
    from bisect import bisect_left, bisect_right

    from perfdata.readers import pdf

    tol = pdf.TOLERANCE
    ids = {}
    v_edges = sorted((e for e in edges if e[6] == "v"), key=lambda e: (e[0], e[1]))
    h_edges = sorted((e for e in edges if e[6] == "h"), key=lambda e: (e[1], e[0]))
    h_tops = [e[1] for e in h_edges]
    h_span = [(e[0] - tol, e[2] + tol, e[1], ids.setdefault(tuple(e[:4]), len(ids))) for e in h_edges]
    vs, hs = {}, {}
    for v in v_edges:
        x, vtop, vbottom = v[0], v[1], v[3]
        vid = ids.setdefault(tuple(v[:4]), len(ids))
        for lo, hi, htop, hid in h_span[bisect_left(h_tops, vtop - tol - 1):bisect_right(h_tops, vbottom + tol + 1)]:
            if lo <= x <= hi and vtop <= htop + tol and vbottom >= htop - tol:
                vs.setdefault((x, htop), set()).add(vid)
                hs.setdefault((x, htop), set()).add(hid)
    points = sorted(vs)
    number = {p: k for k, p in enumerate(points)}
    cells, corners = [], []
    for k, (x, y) in enumerate(points):
        col = [b for b, p in enumerate(points) if p[0] == x and b > k]
        row = [r for r, p in enumerate(points) if p[1] == y and r > k]
        done = False
        for b in col:
            if vs[points[k]].isdisjoint(vs[points[b]]):
                continue
            for r in row:
                if hs[points[k]].isdisjoint(hs[points[r]]):
                    continue
                br = number.get((points[r][0], points[b][1]))
                if (br is not None and not vs[points[br]].isdisjoint(vs[points[r]])
                        and not hs[points[br]].isdisjoint(hs[points[b]])):
                    cells.append((x, y, points[r][0], points[b][1]))
                    corners.append((k, b, r, br))
                    done = True
                    break
            if done:
                break
    return pdf._cells_to_tables(cells, corners, len(points))


@pytest.mark.parametrize("seed", range(20))
def test_lines_of_pages_at_once_as_page_by_page(seed):
    """`_pages_lines` (the pages of a batch at once, each page's characters against its own boxes) gives
    each page the lines it gives that page alone: random characters and boxes on four pages, one of
    them without boxes and one without characters."""
    import random

    import numpy as np

    from perfdata.readers import pdf

    rnd = random.Random(seed)
    pages = []
    for k in range(4):
        chars = [] if k == 3 else [(rnd.choice("项目 名称a1 、"), x0, top, x0 + rnd.choice([0, 2, 4.5, 7]),
                                    top + rnd.choice([7, 9]))
                                   for x0, top in ((rnd.uniform(0, 60), rnd.choice([0, 2.5, 6, 7.5, 20, 31]))
                                                   for _ in range(rnd.randint(1, 80)))]
        boxes = [] if k == 1 else [(rnd.uniform(-5, 40), rnd.choice([0, 3, 8]), rnd.uniform(40, 70),
                                    rnd.choice([5, 9, 30])) for _ in range(rnd.randint(1, 3))]
        pages.append((chars, boxes))
    texts = [c[0] for chars, _ in pages for c in chars]
    arrays = [np.array([c[i] for chars, _ in pages for c in chars], dtype=float) for i in (1, 2, 3, 4)]
    spaces = np.array([t.isspace() for t in texts], dtype=bool)
    page = np.repeat(np.arange(4), [len(chars) for chars, _ in pages])
    boxes = [b for _, bs in pages for b in bs]
    box_page = np.repeat(np.arange(4), [len(bs) for _, bs in pages])
    got = pdf._pages_lines(texts, spaces, *arrays, page, 4, boxes, box_page)
    want = []
    for k, (chars, bs) in enumerate(pages):
        at = page == k
        want.append(page_lines([c[0] for c in chars], spaces[at], *(a[at] for a in arrays), bs))
    assert got == want and any(got)


@pytest.mark.parametrize("seed", range(60))
def test_table_finder_as_on_sets(seed):
    """The table finder (bit masks of edges, and its shortcut for points on one edge each) finds the cells
    found on plain sets: on random ruled grids with missing, broken and nearly meeting lines."""
    import random

    from perfdata.readers import pdf

    rnd = random.Random(seed)
    xs = sorted({rnd.choice([0, 1.5, 2.5]) + 20 * k for k in range(rnd.randint(2, 7))})
    ys = sorted({rnd.choice([0, 1.5, 2.5]) + 15 * k for k in range(rnd.randint(2, 7))})
    edges = []
    for x in xs:  # vertical lines, some in pieces that end near a horizontal one
        cuts = sorted({ys[0], ys[-1], *rnd.sample(ys, rnd.randint(0, len(ys)))})
        for a, b in zip(cuts, cuts[1:], strict=False):
            if rnd.random() < 0.85:
                a, b = a - rnd.choice([0, 0, 1, 2]), b + rnd.choice([0, 0, 1, 2])
                edges.append([x, a, x, b, 0, b - a, "v"])
    for y in ys:
        cuts = sorted({xs[0], xs[-1], *rnd.sample(xs, rnd.randint(0, len(xs)))})
        for a, b in zip(cuts, cuts[1:], strict=False):
            if rnd.random() < 0.85:
                a, b = a - rnd.choice([0, 0, 1, 2]), b + rnd.choice([0, 0, 1, 2])
                edges.append([a, y, b, y, b - a, 0, "h"])
    rnd.shuffle(edges)
    assert pdf._tables(edges) == _tables_on_sets(edges)
    merged = pdf._merged_edges(edges)
    assert pdf._tables(merged) == _tables_on_sets(merged)


def _random_table(rnd, dx: float = 0.0, dy: float = 0.0):
    """A random table with merged cells (moved by dx, dy), random characters around it, and the cells
    pdfplumber's rule (the point in the first cell that covers its band) gives them, tested against every
    cell: its rows, bbox, arrays (x0, top, x1, bottom, middle), and the characters held and their cells."""
    import numpy as np

    from perfdata.readers import pdf

    xs = sorted({dx + 20 * k + rnd.choice([0, 0.5]) for k in range(rnd.randint(2, 6))})
    ys = sorted({dy + 12 * k + rnd.choice([0, 0.5]) for k in range(rnd.randint(2, 6))})
    cells = []
    for i in range(len(ys) - 1):
        j = 0
        while j < len(xs) - 1:
            span = rnd.choice([1, 1, 1, 2])
            j1 = min(j + span, len(xs) - 1)
            down = min(i + rnd.choice([1, 1, 2]), len(ys) - 1)
            cells.append((xs[j], ys[i], xs[j1], ys[down]))
            j = j1
    rows = pdf._rows(cells)
    bbox = (min(c[0] for c in cells), min(c[1] for c in cells), max(c[2] for c in cells), max(c[3] for c in cells))
    n = rnd.randint(0, 200)
    x0 = np.array([rnd.uniform(xs[0] - 5, xs[-1] + 5) for _ in range(n)])
    x1 = x0 + np.array([rnd.choice([0, 3, 7]) for _ in range(n)])
    top = np.array([rnd.choice([rnd.uniform(ys[0] - 3, ys[-1] + 3), rnd.choice(ys)]) for _ in range(n)])
    bottom = top + 7
    arrays = (x0, top, x1, bottom, (top + bottom) / 2)

    boxes = np.array([box for row in rows for box in row if box])
    tops = np.unique(boxes[:, 1])
    picked = np.flatnonzero((x0 >= bbox[0] - 3) & (x0 <= bbox[2]) & (arrays[4] >= bbox[1]) & (arrays[4] <= bbox[3]))
    y, x = arrays[4][picked], (x0[picked] + (x1[picked] - x0[picked]) / 4)[:, None]
    bx0, btop, bx1, bbottom = boxes.T
    covers = np.zeros((len(tops) + 1, len(boxes)), dtype=bool)
    covers[1:] = (btop <= tops[:, None]) & (tops[:, None] <= bbottom - 0.01)
    holds = covers[np.searchsorted(tops, y, side="right")] & (y[:, None] < bbottom) & (bx0 <= x) & (x < bx1)
    first = holds.argmax(axis=1)
    held = np.flatnonzero(holds[np.arange(len(first)), first])
    order = held[np.argsort(first[held], kind="stable")]
    return rows, bbox, arrays, len(boxes), picked[order].tolist(), first[order].tolist()


@pytest.mark.parametrize("seed", range(30))
def test_characters_to_cells_as_on_the_full_matrix(seed):
    """Characters go to the cells `_held` picks among those covering their band as they do when every
    character is tested against every cell: on random tables with merged cells."""
    import random

    from perfdata.readers import pdf

    rows, bbox, arrays, n_cells, chars, cells = _random_table(random.Random(seed))
    counts, got_chars, got_cell = pdf._held(arrays, [(rows, bbox, 0, len(arrays[0]))])
    assert counts == [n_cells]
    assert got_chars.tolist() == chars and got_cell.tolist() == cells


@pytest.mark.parametrize("seed", range(20))
def test_characters_to_cells_of_several_tables_at_once(seed):
    """Tables of several pages, read at once (their characters one after the other, cells numbered on
    through the tables): each table's characters and cells are those it has alone. Tables of one page may
    overlap (a character then goes to a cell of each), pages share coordinates, a table may hold no
    character, and one of them lies far down its page."""
    import random

    import numpy as np

    from perfdata.readers import pdf

    rnd = random.Random(seed)
    tables, arrays, want_chars, want_cells, lo, numbered = [], [], [], [], 0, 0
    for _ in range(rnd.randint(1, 4)):  # pages
        made = [_random_table(rnd, rnd.choice([0, 5, 300]), rnd.choice([0, 7, 40, 700]))
                for _ in range(rnd.randint(1, 3))]
        page = [np.concatenate([m[2][k] for m in made]) for k in range(5)]  # the page's characters, table by table
        at = 0
        for rows, bbox, own, n_cells, chars, cells in made:
            # on its page, a table holds what it held alone, and what another table's characters give it
            alone = pdf._held(page, [(rows, bbox, 0, len(page[0]))])
            mine = [(c - at, k) for c, k in zip(alone[1].tolist(), alone[2].tolist(), strict=True)
                    if at <= c < at + len(own[0])]
            assert mine == list(zip(chars, cells, strict=True))
            tables.append((rows, bbox, lo, lo + len(page[0])))
            want_chars += [c + lo for c in alone[1].tolist()]
            want_cells += [k + numbered for k in alone[2].tolist()]
            at += len(own[0])
            numbered += n_cells
        arrays.append(page)
        lo += len(page[0])
    arrays = tuple(np.concatenate([p[k] for p in arrays]) for k in range(5))
    counts, got_chars, got_cell = pdf._held(arrays, tables)
    assert sum(counts) == numbered
    assert got_chars.tolist() == want_chars and got_cell.tolist() == want_cells


@pytest.mark.parametrize("seed", range(20))
def test_ascii85_end_mark_stripped_as_by_the_regex(seed):
    import random

    from pdfminer.ascii85 import end_re

    from perfdata.readers.pdf import _strip_end

    rnd = random.Random(seed)
    for _ in range(200):
        data = bytes(rnd.choice(b"ab~> \t\n\r\x0b\x0c") for _ in range(rnd.randint(0, 12)))
        assert _strip_end(data, end_re) == end_re.sub(b"", data), data


def _a85(raw: bytes) -> bytes:
    import base64

    return base64.a85encode(raw) + b"~>"


def _random_pdf(rnd) -> bytes:
    """Pages whose content streams (Flate, ASCII85 + Flate, none; text that inflates a lot, or a little),
    named once or twice in /Contents, and form XObjects drawn by them (the same stream as content and form,
    sometimes), written with a correct xref table."""
    import zlib

    import hostile

    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b""]
    streams = []
    for _ in range(rnd.randint(1, 5)):
        if rnd.random() < 0.5:
            body = b"BT (" + b"A" * rnd.randint(10, 6000) + b") Tj ET"
        else:
            body = b"BT (" + bytes(rnd.randrange(65, 91) for _ in range(rnd.randint(10, 3000))) + b") Tj ET"
        kind = rnd.choice(["flate", "a85", "none"])
        data, filt = ((zlib.compress(body, 9), b"/Filter /FlateDecode") if kind == "flate" else
                      (_a85(zlib.compress(body, 9)), b"/Filter [/ASCII85Decode /FlateDecode]") if kind == "a85" else
                      (body, b""))
        form = rnd.random() < 0.3
        kind = b" /Type /XObject /Subtype /Form /BBox [0 0 9 9]" if form else b""
        head = b"<< /Length %d %s%s >>" % (len(data), filt, kind)
        objects.append(head + b"\nstream\n" + data + b"\nendstream")
        streams.append((len(objects), form))
    pages = []
    for _ in range(rnd.randint(1, 3)):
        named = [n for n, _ in rnd.sample(streams, rnd.randint(1, len(streams)))]
        if rnd.random() < 0.3:
            named.append(named[0])  # named twice: counted twice
        contents = b"%d 0 R" % named[0] if len(named) == 1 and rnd.random() < 0.5 else \
            b"[%s]" % b" ".join(b"%d 0 R" % n for n in named)
        forms = b" ".join(b"/X%d %d 0 R" % (n, n) for n, form in streams if form and rnd.random() < 0.7)
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %s "
                       b"/Resources << /XObject << %s >> >> >>" % (contents, forms))
        pages.append(len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % n for n in pages), len(pages))
    return hostile.pdf(objects)


@pytest.mark.parametrize("seed", range(40))
def test_content_judged_from_the_bytes_only_where_no_page_can_pass_the_limits(seed, monkeypatch):
    """Where the bytes show that no page's content can inflate past the limits, the pages are not walked;
    on random files (limits made small, so that some files pass them), a file judged so is one the walk
    passes too, and a file the walk refuses is walked and refused."""
    import random

    from perfdata.readers import pdf

    monkeypatch.setattr(pdf, "MAX_CONTENT", 40_000)
    monkeypatch.setattr(pdf, "MAX_CONTENT_INFLATED", 8_000)
    rnd = random.Random(seed)
    verdicts = set()
    for _ in range(25):
        data = _random_pdf(rnd)
        bounded = pdf._content_bounded(data, pdf._object_texts(data))
        with monkeypatch.context() as m:
            m.setattr(pdf, "_content_bounded", lambda data, texts: False)
            try:
                walked = pdf._precheck(data)
            except ReadError as e:
                walked = e
        assert not (bounded and isinstance(walked, ReadError)), walked
        try:
            got = pdf._precheck(data)
        except ReadError as e:
            got = e
        assert str(got) == str(walked)
        verdicts.add((bounded, isinstance(walked, ReadError)))
    assert (True, False) in verdicts  # the bytes are enough for some files


def test_the_pages_of_the_bundled_documents_need_no_walk():
    from perfdata.readers import pdf

    data = pdf_of(document_rows(render())[0])
    assert pdf._content_bounded(data, pdf._object_texts(data))
    import re

    twice = re.sub(rb"/Contents (\d+) 0 R", rb"/Contents [\1 0 R \1 0 R]", data, count=1)  # a stream named twice
    assert twice != data and not pdf._content_bounded(twice, pdf._object_texts(twice))
    assert pdf._precheck(twice) is None  # walked, and read
