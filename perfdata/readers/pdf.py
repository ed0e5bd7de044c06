"""Reader for text-layer PDFs (pypdfium2) → the same Grid as text.

Each page gives its ruled tables (one Row per table row, cells at their column, merged cells blank
but the top-left one) and its text lines outside the tables (one Row of one cell each), in reading
order from the top. Pages follow each other in one Grid, so a table that crosses a page break reads
on as one table; page numbers printed between the parts are dropped and not read as content.
Lines of a cell wrapped over several printed lines are joined (no space between Chinese characters),
and so are the printed lines of a paragraph outside the tables.
A PDF without a text layer (a scan) is refused with "no text layer: OCR needed".
Provenance: `locations` gives "page P line L" for each line.

PDFium (pypdfium2) gives the characters with their boxes and the ruling lines (the page's path
objects). The rest is pdfplumber's method, done again here on plain tuples and arrays so that a page
costs little more than PDFium's own extraction: its table finder with the default "lines" settings
(edges snapped and joined within 3 pt, cells from their intersections), and its grouping of characters
into words and lines (3 pt tolerances; on arrays for upright text, character by character otherwise).
PDFium reads with its built-in fonts only (`builtin_fonts_only`), so the grid does not depend on the
fonts a machine has installed. Coordinates are pdfplumber's (x from the left, `top` down from the top
of the page, page rotation applied), so every threshold below means what it meant with pdfplumber.
PDFium reads one page at a time; the tables are found page by page and the array work on the characters
(cells into text, the lines outside the tables) is done for `_BATCH` pages at once, where numpy's cost per
call would otherwise be most of it. Python's cyclic collector is paused for the time of a read
(`_collector_paused`): a page makes thousands of small tuples and lists, and in a process holding a large
heap the collections they trigger cost more than the page.

pdfminer.six (the parser under pdfplumber; pdfplumber itself is not used) is still used for `precheck`
and the messages of files it cannot open, and nothing else: PDFium exposes no object graph (no
cross-reference entries, no stream dictionaries or stored and decoded lengths), so the refusals below
cannot be made with it, and pdfminer's verdict on a file it cannot open keeps such files reported as
corrupt, as before, rather than read by PDFium's silent repair.

Before anything reads a file, `precheck` refuses what would make it run without end or without
bound, each with a message that says why: more than `MAX_PAGES` pages (counted in the bytes, also
inside compressed object streams, before anything is parsed), more than `MAX_OBJECTS` objects, objects
that refer to each other in a loop (object 2 is `3 0 R` and object 3 is `2 0 R`: pdfminer would follow
them for ever), and a page whose content inflates beyond `MAX_CONTENT` bytes, or beyond
`MAX_CONTENT_INFLATED` at more than `MAX_CONTENT_RATIO` times its stored size (31 KB that inflate to
3 million characters). Where the file's streams, read from its bytes, show that no page can come near
those limits (`_content_bounded`: most files), the pages are not walked with pdfminer; a page tree that
pdfminer could not follow is then left to PDFium, which reports a page it cannot load.
"""

from __future__ import annotations

import ctypes
import gc
import io
import os
import re
import struct
import threading
import zlib
from bisect import bisect_left, bisect_right
from collections import deque
from contextlib import contextmanager
from functools import cache
from itertools import chain, compress, groupby, repeat
from operator import itemgetter

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

TOLERANCE = 3  # pdfplumber's defaults: text x/y tolerance, edge snap, join and intersection tolerance
EDGE_MIN_PREFILTER, EDGE_MIN = 1, 3  # edges shorter than this are dropped before / after merging
LIGATURES = {"ﬀ": "ff", "ﬃ": "ffi", "ﬄ": "ffl", "ﬁ": "fi", "ﬂ": "fl", "ﬆ": "st", "ﬅ": "st"}

# a character: (text, x0, top, x1, bottom, upright); a word or a line: (text, x0, top, x1, bottom)
_TEXT, _X0, _TOP, _X1, _BOTTOM, _UPRIGHT = range(6)
_x0 = itemgetter(_X0)


def _cell(text: str | None) -> str:
    return clean(text.replace("\n", " ")) if text else ""


class _Cleaned(dict):
    """`_cell` of each text, worked out once."""

    def __missing__(self, text: str | None) -> str:
        got = self[text] = _cell(text)
        return got


# -- characters into words, lines and text (pdfplumber.utils.text, non-layout mode) ----------------------

def _cluster(items: list, k: int, tolerance: float, preserve_order: bool = False) -> list[list]:
    """pdfplumber's cluster_objects on field `k`: values chained within `tolerance` form one cluster; the
    items of a cluster in their order, clusters by value (or, with `preserve_order`, runs of consecutive
    items of one cluster)."""
    keys = [x[k] for x in items]
    values = sorted(set(keys))
    if len(values) < 2:
        return [list(items)] if items else []
    ids: dict = {}
    last = values[0]
    n = 0
    for v in values:
        if v > last + tolerance:
            n += 1
        ids[v] = n
        last = v
    if preserve_order:
        out, prev = [], None
        for x, key in zip(items, keys, strict=True):
            i = ids[key]
            if i != prev:
                out.append([x])
                prev = i
            else:
                out[-1].append(x)
        return out
    groups: list[list] = [[] for _ in range(n + 1)]
    for x, key in zip(items, keys, strict=True):
        groups[ids[key]].append(x)
    return groups


def _line_words(line: list, out: list) -> None:
    """The words of one printed line of upright characters, sorted by x0 (pdfplumber's
    iter_chars_to_words, left to right): a blank character ends a word and is dropped; a character more
    than 3 pt right of the previous one's end, or with a top more than 3 pt off, starts a new word."""
    tol = TOLERANCE
    texts = None
    wx0 = wtop = wx1 = wbottom = px1 = ptop = 0.0
    for t, x0, top, x1, bottom, _ in line:
        if t.isspace():
            if texts is not None:
                out.append(("".join(texts), wx0, wtop, wx1, wbottom))
                texts = None
            continue
        if texts is not None and (x0 > px1 + tol or abs(top - ptop) > tol):  # (x0 < the previous x0: sorted)
            out.append(("".join(texts), wx0, wtop, wx1, wbottom))
            texts = None
        if texts is None:
            texts, wx0, wtop, wx1, wbottom = [t], x0, top, x1, bottom
        else:
            texts.append(t)
            if x1 > wx1:
                wx1 = x1
            if top < wtop:
                wtop = top
            if bottom > wbottom:
                wbottom = bottom
        px1, ptop = x1, top
    if texts is not None:
        out.append(("".join(texts), wx0, wtop, wx1, wbottom))


def _rotated_line_words(line: list, out: list) -> None:
    """The same for a line of rotated characters, sorted by (top, bottom): read top to bottom."""
    tol = TOLERANCE
    cur: list = []
    for c in line:
        if c[_TEXT].isspace():
            if cur:
                out.append(_word(cur))
            cur = []
        elif cur and (c[_TOP] < cur[-1][_TOP] or c[_TOP] > cur[-1][_BOTTOM] + tol or abs(c[_X0] - cur[-1][_X0]) > tol):
            out.append(_word(cur))
            cur = [c]
        else:
            cur.append(c)
    if cur:
        out.append(_word(cur))


def _word(chars: list) -> tuple:
    _, x0s, tops, x1s, bottoms, _ = zip(*chars, strict=True)
    return "".join(c[_TEXT] for c in chars), min(x0s), min(tops), max(x1s), max(bottoms)


def _words(chars: list, upright: bool) -> list[tuple]:
    """pdfplumber's WordExtractor (x and y tolerance 3) on characters in page order: runs of upright and
    of rotated characters, each cut into lines (by `top`, or by `x0` for rotated text) and each line into
    words, in the order pdfplumber yields them. `upright`: all characters are (the common case)."""
    words: list[tuple] = []
    runs = [(True, chars)] if upright else [(u, list(r)) for u, r in groupby(chars, key=itemgetter(_UPRIGHT))]
    for up, run in runs:
        if up:
            for line in _cluster(run, _TOP, TOLERANCE):
                line.sort(key=_x0)
                _line_words(line, words)
        else:
            for line in _cluster(run, _X0, TOLERANCE):
                line.sort(key=itemgetter(_TOP, _BOTTOM))
                _rotated_line_words(line, words)
    return words


def _extract_text(chars: list, upright: bool) -> str:
    """pdfplumber.utils.extract_text (non-layout): words joined by spaces, lines (words clustered by
    `top`) by newlines."""
    if not chars:
        return ""
    first = chars[0][_TOP]
    if upright and all(c[_TOP] == first for c in chars):  # one printed line: its words, one line of them
        words: list[tuple] = []
        _line_words(sorted(chars, key=_x0), words)
        return " ".join(w[_TEXT] for w in words)
    words = _words(chars, upright)
    if not words:
        return ""
    return "\n".join(" ".join(w[_TEXT] for w in line) for line in _cluster(words, _TOP, TOLERANCE))


def _text_lines(chars: list, upright: bool) -> list[tuple]:
    """pdfplumber's Page.extract_text_lines(): (text, x0, top, x1, bottom) of each printed line, lines
    being runs of words whose `top` cluster within 3 pt."""
    words = _words(chars, upright)
    if not words:
        return []
    out = []
    for line in _cluster(words, _TOP, TOLERANCE, preserve_order=True):
        text, x0s, tops, x1s, bottoms = zip(*line, strict=True)
        out.append((" ".join(text), min(x0s), min(tops), max(x1s), max(bottoms)))
    return out


# -- the same for upright text, on arrays: many lines (or many cells) at once ----------------------------

def _chained(group, value) -> tuple:
    """`_cluster` of each group at once: the order that sorts by (group, value), and the cluster number of
    each item in that order (values chained within 3 pt, as `v > last + 3` tells them apart)."""
    import numpy as np

    order = np.lexsort((value, group))
    g, v = group[order], value[order]
    new = np.empty(len(order), dtype=bool)
    new[:1] = True
    new[1:] = (g[1:] != g[:-1]) | (v[1:] > v[:-1] + TOLERANCE)
    return order, np.cumsum(new) - 1


def _upright_words(texts: list[str], spaces, x0, top, x1, bottom, group) -> tuple:
    """`_words` on upright characters of several groups (the cells of a table, or one page), in arrays:
    the characters of each group cut into lines by `top`, each line sorted by x0 (ties in page order) and
    cut into words where `_line_words` cuts. Returns the words (texts, x0, top, x1, bottom, group), by
    group, line and x0, as pdfplumber yields them. `spaces`: which characters are blank."""
    import numpy as np

    by_top, line_no = _chained(group, top)
    line = np.empty(len(by_top), dtype=np.int64)
    line[by_top] = line_no
    order = np.lexsort((x0, line))  # stable: page order among equal x0
    ln, s, a0, t, a1, b = line[order], spaces[order], x0[order], top[order], x1[order], bottom[order]
    start = np.empty(len(order), dtype=bool)
    start[:1] = True
    start[1:] = (ln[1:] != ln[:-1]) | s[:-1] | (a0[1:] > a1[:-1] + TOLERANCE) | (np.abs(t[1:] - t[:-1]) > TOLERANCE)
    keep = np.flatnonzero(~s)
    if not len(keep):
        return [], *(np.empty(0),) * 4, np.empty(0, dtype=np.int64)
    begins = np.flatnonzero(start[keep])  # of the kept characters, those that begin a word
    kept_order = order[keep]
    chars = list(map(texts.__getitem__, kept_order.tolist()))
    ends = [*begins[1:].tolist(), len(keep)]
    joined = "".join(chars)
    if len(joined) == len(chars):  # one character each (not a ligature made "fi"): words are slices
        words = list(map(joined.__getitem__, map(slice, begins.tolist(), ends)))
    else:
        words = ["".join(chars[p:q]) for p, q in zip(begins.tolist(), ends, strict=True)]
    kt, kb = t[keep], b[keep]
    return (words, a0[keep][begins], np.minimum.reduceat(kt, begins), np.maximum.reduceat(a1[keep], begins),
            np.maximum.reduceat(kb, begins), group[kept_order][begins])


def _cell_texts(texts: list[str], spaces, x0, top, x1, bottom, group) -> dict[int, str]:
    """`_extract_text` of the upright characters of each group (a cell): its words, clustered by top into
    lines; words joined by spaces, lines by newlines."""
    import numpy as np

    words, _, wtop, _, _, wgroup = _upright_words(texts, spaces, x0, top, x1, bottom, group)
    if not words:
        return {}
    order, line = _chained(wgroup, wtop)  # words by (group, top): lines in order of their top, words in order
    order = order[np.lexsort((order, line))]  # line is sorted already: by line, then in yield order
    ws = list(map(words.__getitem__, order.tolist()))
    n = len(ws)
    starts = (np.flatnonzero(line[1:] != line[:-1]) + 1).tolist()  # where each line begins (lines numbered 0, 1, …)
    texts_ = [" ".join(ws[a:b]) for a, b in zip([0, *starts], [*starts, n], strict=True)]
    g = wgroup[order]
    firsts = [0, *(np.flatnonzero(g[1:] != g[:-1]) + 1).tolist()]  # where each group begins (a line's start)
    at = line[firsts].tolist()
    ends = [*at[1:], len(texts_)]
    return dict(zip(g[firsts].tolist(), ("\n".join(texts_[a:b]) for a, b in zip(at, ends, strict=True)), strict=True))


def _pages_lines(texts: list[str], spaces, x0, top, x1, bottom, page, pages: int, boxes, box_page) -> list[list]:
    """`_text_lines` of pages of upright characters, on arrays, several pages at once (numpy's cost per
    call is spread over them): `page` gives the page (0 … `pages` - 1) of each character, `box_page` that
    of each box (x0, top, x1, bottom); the lines of each page `_outside` its boxes (their text is not even
    joined).

    Lines are made within runs of characters whose tops chain within 3 pt (`_chained`), and a run that
    lies inside a box of its page makes only lines inside it: such runs (the rows of a table) are dropped
    before the words are made."""
    import numpy as np

    out: list[list] = [[] for _ in range(pages)]
    if len(boxes) and len(texts):
        keep = _not_within(x0, top, x1, bottom, page, boxes, box_page)
        if not keep.all():
            at = np.flatnonzero(keep)
            texts = list(map(texts.__getitem__, at.tolist()))
            spaces, x0, top, x1, bottom, page = spaces[at], x0[at], top[at], x1[at], bottom[at], page[at]
    words, wx0, wtop, wx1, wbottom, wpage = _upright_words(texts, spaces, x0, top, x1, bottom, page)
    if not words:
        return out
    order, cluster = _chained(wpage, wtop)
    ids = np.empty(len(words), dtype=np.int64)
    ids[order] = cluster
    begins = np.concatenate([[0], np.flatnonzero(ids[1:] != ids[:-1]) + 1])  # runs of one cluster, in order
    ends = np.append(begins[1:], len(words))
    lx0, ltop = np.minimum.reduceat(wx0, begins), np.minimum.reduceat(wtop, begins)
    lx1, lbottom = np.maximum.reduceat(wx1, begins), np.maximum.reduceat(wbottom, begins)
    lpage = wpage[begins]
    if len(boxes):
        keep = _outside(lx0, ltop, lx1, lbottom, boxes, lpage, box_page)
        begins, ends, lx0, ltop, lx1, lbottom, lpage = (a[keep] for a in (begins, ends, lx0, ltop, lx1, lbottom, lpage))
    for ln in zip(lpage.tolist(), [" ".join(words[a:b]) for a, b in zip(begins.tolist(), ends.tolist(), strict=True)],
                  lx0.tolist(), ltop.tolist(), lx1.tolist(), lbottom.tolist(), strict=True):
        out[ln[0]].append(ln[1:])
    return out


# -- ruling lines into tables (pdfplumber.table, "lines" strategy) ---------------------------------------

# an edge: [x0, top, x1, bottom, width, height, orientation "h" | "v" | None]
_EX0, _ETOP, _EX1, _EBOTTOM, _EW, _EH, _EO = range(7)


def _snap(edges: list, attr: int) -> list:
    """pdfplumber's snap_objects: edges whose `attr` (x0 of vertical, top of horizontal edges) chain
    within 3 pt move to their mean, keeping their length."""
    out = []
    other = _EX1 if attr == _EX0 else _EBOTTOM
    for cluster in _cluster(edges, attr, TOLERANCE):
        avg = sum(e[attr] for e in cluster) / len(cluster)
        for e in cluster:
            d = avg - e[attr]
            if d:  # (an edge already at the mean is kept as it is: edges are never changed in place)
                e = list(e)
                e[attr] += d
                e[other] += d
            out.append(e)
    return out


def _join(edges: list, orientation: str) -> list:
    """pdfplumber's join_edge_group: edges on one line overlapping or within 3 pt of each other become one."""
    lo, hi = (_EX0, _EX1) if orientation == "h" else (_ETOP, _EBOTTOM)
    edges = sorted(edges, key=itemgetter(lo))
    joined = [edges[0]]
    for e in edges[1:]:
        last = joined[-1]
        if e[lo] <= last[hi] + TOLERANCE:
            if e[hi] > last[hi]:
                last = list(last)
                if hi == _EX1:
                    last[_EW] = e[hi] - last[_EX0]
                else:
                    last[_EH] = last[_EH] + (e[hi] - last[hi])
                last[hi] = e[hi]
                joined[-1] = last
        else:
            joined.append(e)
    return joined


def _merged_edges(edges: list) -> list:
    """The edges pdfplumber's TableFinder keeps: long enough, snapped, joined, long enough again."""
    v = [e for e in edges if e[_EO] == "v" and e[_EH] >= EDGE_MIN_PREFILTER]
    h = [e for e in edges if e[_EO] == "h" and e[_EW] >= EDGE_MIN_PREFILTER]
    snapped = _snap(v, _EX0) + _snap(h, _ETOP)

    def group(e):
        return ("h", e[_ETOP]) if e[_EO] == "h" else ("v", e[_EX0])

    out = []
    for (o, _), g in groupby(sorted(snapped, key=group), key=group):
        out += _join(list(g), o)
    return [e for e in out if (e[_EH] if e[_EO] == "v" else e[_EW]) >= EDGE_MIN]


def _tables(edges: list) -> list[list[tuple]]:
    """pdfplumber's edges → intersections → cells → tables, each table a list of cell boxes
    (x0, top, x1, bottom); tables top to bottom, then left to right.

    The edges through an intersection are a bit mask of edge numbers (an int: no container to build
    and collect per point; `a & b` is pdfplumber's "share an edge")."""
    tol = TOLERANCE
    ids: dict[tuple, int] = {}  # edges are told apart by their box, as pdfplumber's edge_connects does
    v_edges = sorted((e for e in edges if e[_EO] == "v"), key=itemgetter(_EX0, _ETOP))
    h_edges = sorted((e for e in edges if e[_EO] == "h"), key=itemgetter(_ETOP, _EX0))
    h_tops = [e[_ETOP] for e in h_edges]
    h_span = [(e[_EX0] - tol, e[_EX1] + tol, e[_ETOP], 1 << ids.setdefault((e[_EX0], e[_ETOP], e[_EX1], e[_EBOTTOM]),
                                                                           len(ids))) for e in h_edges]
    vs: dict[tuple, int] = {}  # intersection → the vertical / horizontal edges through it
    hs: dict[tuple, int] = {}
    single = True  # every intersection on one vertical and one horizontal edge
    for v in v_edges:
        x, vtop, vbottom = v[_EX0], v[_ETOP], v[_EBOTTOM]
        vbit = 1 << ids.setdefault((x, vtop, v[_EX1], vbottom), len(ids))
        # the horizontal edges within reach (a little wider), then pdfplumber's own test on each
        for lo, hi, htop, hbit in h_span[bisect_left(h_tops, vtop - tol - 1):bisect_right(h_tops, vbottom + tol + 1)]:
            if lo <= x <= hi and vtop <= htop + tol and vbottom >= htop - tol:
                p = (x, htop)
                got = vs.get(p)
                if got is None:
                    vs[p], hs[p] = vbit, hbit
                else:
                    vs[p] = got | vbit
                    hs[p] |= hbit
                    single = False
    points = sorted(vs)
    pv = [vs[p] for p in points]  # by point number: its vertical and horizontal edges
    ph = [hs[p] for p in points]
    cells, corners = (_single_edge_cells if single else _masked_cells)(points, pv, ph)
    return _cells_to_tables(cells, corners, len(points))


def _masked_cells(points: list[tuple], pv: list[int], ph: list[int]) -> tuple[list, list]:
    """pdfplumber's find_smallest_cell from each intersection (`points` sorted, with the masks of their
    vertical and horizontal edges): the cells, and the numbers of their corners."""
    px = [p[0] for p in points]
    number = {p: k for k, p in enumerate(points)}
    right: dict[float, list[int]] = {}  # point numbers by top (left to right)
    after: list[int] = []  # of each point, its place in its row
    for k, (_, y) in enumerate(points):
        row = right.get(y)
        if row is None:
            row = right[y] = []
        after.append(len(row) + 1)
        row.append(k)
    col_end: list[int] = []  # of each point, the end of its column (points by x are consecutive)
    for _, col in groupby(range(len(points)), key=px.__getitem__):
        n = len(col_end) + sum(1 for _ in col)
        col_end += [n] * (n - len(col_end))
    cells: list[tuple] = []
    corners: list[tuple[int, int, int, int]] = []
    for k, (x, y) in enumerate(points):  # pdfplumber's find_smallest_cell
        kv, kh = pv[k], ph[k]
        row = None  # the points right of it on one of its horizontal edges (found once, and only if needed)
        done = False
        for b in range(k + 1, col_end[k]):
            if not kv & pv[b]:
                continue
            if row is None:
                row = [r for r in right[y][after[k]:] if kh & ph[r]]
                if not row:
                    break  # no point to the right: no cell, whatever lies below
            hb, by = ph[b], points[b][1]
            for r in row:
                br = number.get((px[r], by))
                if br is not None and pv[br] & pv[r] and ph[br] & hb:
                    cells.append((x, y, px[r], by))
                    corners.append((k, b, r, br))
                    done = True
                    break
            if done:
                break
    return cells, corners


def _single_edge_cells(points: list[tuple], pv: list[int], ph: list[int]) -> tuple[list, list]:
    """`_masked_cells` where every intersection lies on one vertical and one horizontal
    edge (a ruled grid): the points sharing an edge with a point are those on its edge (the same x or
    top), and a corner at (x of r, top of b) joined to r and b is a point on r's vertical edge and b's
    horizontal edge. The same cells, with far fewer points tried."""
    v_of = list(map(int.bit_length, pv))  # the edge number + 1 (each mask has one bit)
    h_of = list(map(int.bit_length, ph))
    at = dict(zip(zip(v_of, h_of, strict=True), range(len(points)), strict=True))  # where two edges meet
    # the points of a vertical edge follow each other (points are by x, then top; a point lies on the
    # edges whose reach holds its top, an interval, so an edge's points are not split by another's)
    n = len(points)
    v_end = [n] * n  # of each point, where the points of its vertical edge end
    for k in range(n - 2, -1, -1):
        v_end[k] = k + 1 if v_of[k + 1] != v_of[k] else v_end[k + 1]
    on_h: dict[int, list[int]] = {}  # edge → its points, left to right
    at_h = []  # of each point, where the points after it on its horizontal edge begin
    for k, h in enumerate(h_of):
        lst = on_h.get(h)
        if lst is None:
            lst = on_h[h] = []
        lst.append(k)
        at_h.append(len(lst))
    cells: list[tuple] = []
    corners: list[tuple[int, int, int, int]] = []
    for k, (x, y) in enumerate(points):
        rs = on_h[h_of[k]]
        start = at_h[k]
        if start == len(rs) or v_end[k] == k + 1:
            continue  # no point right of it, or none below it
        r = rs[start]  # most cells of a grid are the first try: the next point right and the next one down
        br = at.get((v_of[r], h_of[k + 1]))
        if br is not None:
            cells.append((x, y, points[r][0], points[k + 1][1]))
            corners.append((k, k + 1, r, br))
            continue
        found = False
        for b in range(k + 1, v_end[k]):
            hb = h_of[b]
            for r in rs[start:]:
                br = at.get((v_of[r], hb))
                if br is not None:
                    cells.append((x, y, points[r][0], points[b][1]))
                    corners.append((k, b, r, br))
                    found = True
                    break
            if found:
                break
    return cells, corners


def _cells_to_tables(cells: list[tuple], corners: list[tuple], n_points: int) -> list[list[tuple]]:
    """pdfplumber's cells_to_tables: a table is the cells connected through shared corners (pdfplumber
    grows it pass by pass over the remaining cells; the cells a table ends with are the same), tables of
    one cell dropped, the rest by their top left corner. `corners`: the numbers of each cell's corners."""
    parent = list(range(n_points))  # corners joined by the cells they bound (union-find, inlined: it is hot)
    for quad in corners:
        top = quad[0]
        while parent[top] != top:
            parent[top] = top = parent[parent[top]]
        for o in quad[1:]:
            while parent[o] != o:
                parent[o] = o = parent[parent[o]]
            if o != top:
                parent[o] = top
    groups: dict[int, list] = {}
    for cell, quad in zip(cells, corners, strict=True):
        a = quad[0]
        while parent[a] != a:
            parent[a] = a = parent[parent[a]]
        groups.setdefault(a, []).append(cell)
    tables = sorted(groups.values(), key=lambda t: min((c[1], c[0]) for c in t))
    return [t for t in tables if len(t) > 1]


def _rows(cells: list[tuple]) -> list[list[tuple | None]]:
    """pdfplumber's Table.rows: cells by top, each row with a slot for every column's x0 (None where a
    merged cell covers it)."""
    xs = sorted({c[0] for c in cells})
    out = []
    for _, row in groupby(sorted(cells, key=itemgetter(1, 0)), key=itemgetter(1)):
        at = {c[0]: c for c in row}
        out.append(list(map(at.get, xs)))
    return out


def _upright_cells(pages: list[tuple[int, int, list]], texts: list[str], spaces, arrays: tuple) -> list[list]:
    """Cell texts of the tables of pages of upright text, each character given to the cell holding its
    left part (see `_held`); the cells of all tables of all the pages are made into text at once (a
    grouping on arrays costs about the same for one cell or a thousand).

    `pages`: each page's characters (lo:hi in the others) and its tables (rows, bbox); `texts`, `spaces`
    (which are blank) and `arrays` (x0, top, x1, bottom and vertical middle) of the pages' characters in
    turn. Per page, per table, its rows of cell texts (None where a merged cell covers the slot)."""
    counts, picked, which = _held(arrays, [(rows, bbox, lo, hi) for lo, hi, tables in pages for rows, bbox in tables])
    numbered = sum(counts)
    got: dict[int, str] = {}
    if len(picked):
        sub = list(map(texts.__getitem__, picked.tolist()))
        x0s, tops, x1s, bottoms = arrays[:4]
        got = _cell_texts(sub, spaces[picked], x0s[picked], tops[picked], x1s[picked], bottoms[picked], which)
    flat = iter(list(map(got.get, range(numbered), repeat("", numbered))))
    return [[_cell_rows(rows, flat) for rows, _ in tables] for _, _, tables in pages]


def _cell_rows(rows: list[list], texts) -> list[list[str | None]]:
    """A table's rows of cell texts, from an iterator over the texts of its cells in row order (as `_held`
    numbers them); None where a merged cell covers the slot."""
    return [[next(texts) if box else None for box in row] for row in rows]


def _extract(chars: list, arrays: tuple, tables: list[tuple[list, tuple]]) -> list[list[list[str | None]]]:
    """Cell texts of the tables of a page whose text is not all upright (each table its rows and its
    bbox), character by character; `arrays`: the characters' x0, top, x1, bottom and vertical middle."""
    import numpy as np

    n = len(arrays[0])
    counts, picked, which = _held(arrays, [(rows, bbox, 0, n) for rows, bbox in tables])
    got = [""] * sum(counts)
    starts = [0, *(np.flatnonzero(which[1:] != which[:-1]) + 1).tolist(), len(which)]
    members = [chars[m] for m in picked.tolist()]
    for a, b in zip(starts, starts[1:], strict=False):
        got[int(which[a])] = _extract_text(members[a:b], False)
    cells = iter(got)
    return [_cell_rows(rows, cells) for rows, _ in tables]


def _held(arrays: tuple, tables: list[tuple[list, tuple, int, int]]) -> tuple:
    """The characters in the cells of some tables: the number of cells of each table, the characters
    (numbers, by cell, in page order within a cell) and the number of the cell of each (cells numbered
    on through the tables, each table's in row order, as `_cell_rows` takes them).

    `tables`: each table's rows (of cell boxes, `_rows`), its bbox and the characters (lo:hi of `arrays`:
    x0, top, x1, bottom and vertical middle) of its page. pdfplumber gives a character to the cell holding
    its centre; Chinese punctuation that hangs past a cell's right border (、。，at the end of a full
    line) then lands in the next cell. A quarter of the glyph width in from its left edge is always
    inside the cell it was written in.

    A character goes to the first cell of its table, rows from the top and cells from the left, that holds
    the point and covers the band of cell tops the point lies in (the cells that reach less than 0.01 pt
    into a band do not cover it). All the tables at once: numpy's cost per call, not the characters, is
    most of a table's share."""
    import numpy as np

    x0s, _, x1s, _, ys = arrays
    flat: list[tuple] = []
    counts, tops_of, picked_of = [], [], []
    for rows, bbox, lo, hi in tables:
        boxes = [box for row in rows for box in row if box]
        flat += boxes
        counts.append(len(boxes))
        tops_of.append([next(filter(None, row))[1] for row in rows])  # each row's top (`_rows`), in order
        x0, top, x1, bottom = bbox
        a, y = x0s[lo:hi], ys[lo:hi]
        picked_of.append(np.flatnonzero((a >= x0 - 3) & (a <= x1) & (y >= top) & (y <= bottom)) + lo)
    empty = np.empty(0, dtype=np.int64)
    if not flat:
        return counts, empty, empty
    n_tables = len(tables)
    boxes = np.fromiter(chain.from_iterable(flat), np.float64, 4 * len(flat)).reshape(-1, 4)
    bx0, btop, bx1, bbottom = boxes.T
    n_tops = [len(t) for t in tops_of]
    tops = np.fromiter(chain.from_iterable(tops_of), np.float64, sum(n_tops))
    top_table = np.repeat(np.arange(n_tables), n_tops)
    cells = np.asarray(counts)
    # per band (of a table's cell tops), the cells of its table that start at or above its top (as the
    # point: no cell top lies between a band's top and its points) and cover it. Band 0 of a table lies
    # above its first top (no cell); the bands are numbered on through the tables: top i (of table t)
    # opens band i + t + 1
    per_top = cells[top_table]
    pair_top = np.repeat(np.arange(len(tops)), per_top)
    first_cell = np.cumsum(cells) - cells
    pair_cell = np.arange(len(pair_top)) - np.repeat(np.cumsum(per_top) - per_top - first_cell[top_table], per_top)
    tp = tops[pair_top]
    covered = (btop[pair_cell] <= tp) & (tp <= bbottom[pair_cell] - 0.01)
    pair_top, pair_cell = pair_top[covered], pair_cell[covered]  # by band, then cell
    pair_band = pair_top + top_table[pair_top] + 1
    count = np.bincount(pair_band, minlength=len(tops) + n_tables)
    width = max(int(count.max()), 1)
    among = np.zeros((len(count), width), dtype=np.int64)  # per band its covering cells, in order
    among[pair_band, np.arange(len(pair_band)) - (np.cumsum(count) - count)[pair_band]] = pair_cell
    valid = np.arange(width) < count[:, None]
    # the band of each point: the tops at or above it, of its table (tables apart by their keys)
    picked = np.concatenate(picked_of)
    table = np.repeat(np.arange(n_tables), [len(p) for p in picked_of])
    y = ys[picked]
    base = min(b[1] for _, b, _, _ in tables)
    span = max(b[3] for _, b, _, _ in tables) - base + 1
    band = np.searchsorted(top_table * span + (tops - base), table * span + (y - base), side="right") + table
    px0 = x0s[picked]
    x = (px0 + (x1s[picked] - px0) / 4)[:, None]
    cand = among[band]
    holds = valid[band]
    holds &= y[:, None] < bbottom[cand]
    holds &= bx0[cand] <= x
    holds &= x < bx1[cand]
    at = holds.argmax(axis=1)  # the first cell (in row order) that holds the point
    rows_ = np.arange(len(at))
    held = np.flatnonzero(holds[rows_, at])
    first = cand[rows_, at]
    order = held[np.argsort(first[held], kind="stable")]  # by cell, in page order within a cell
    return counts, picked[order], first[order]


def _not_within(x0, top, x1, bottom, page, boxes, box_page):
    """Which characters belong to a run of tops chained within 3 pt (as `_chained` cuts them, on each
    `page`) that does not lie inside one of the boxes of its page (`box_page`): a run's lines lie inside
    its extent, so each line of a run inside a box has its middle in that box. Runs do not join across a
    run that is taken away (their gap only grows)."""
    import numpy as np

    order = np.lexsort((top, page))
    t, g = top[order], page[order]
    new = np.empty(len(t), dtype=bool)
    new[:1] = True
    new[1:] = (g[1:] != g[:-1]) | (t[1:] > t[:-1] + TOLERANCE)
    begins = np.flatnonzero(new)
    rx0, rx1 = np.minimum.reduceat(x0[order], begins)[:, None], np.maximum.reduceat(x1[order], begins)[:, None]
    rtop, rbottom = t[begins][:, None], np.maximum.reduceat(bottom[order], begins)[:, None]
    b = np.array(boxes, dtype=np.float64)
    inside = np.zeros(len(begins), dtype=bool)
    for (lo, hi), (c, d) in _same_page(g[begins], box_page):
        inside[lo:hi] = ((b[c:d, 0] <= rx0[lo:hi]) & (rx1[lo:hi] <= b[c:d, 2]) & (b[c:d, 1] <= rtop[lo:hi])
                         & (rbottom[lo:hi] <= b[c:d, 3])).any(axis=1)
    keep = np.empty(len(t), dtype=bool)
    keep[order] = ~inside[np.cumsum(new) - 1]
    return keep


def _outside(x0, top, x1, bottom, boxes, page=None, box_page=None):
    """Which lines (their boxes, as arrays) have their middle more than 1 pt outside every box (of their
    `page`, where the boxes' pages are given)."""
    import numpy as np

    y, x = ((top + bottom) / 2)[:, None], ((x0 + x1) / 2)[:, None]
    b = np.array(boxes, dtype=np.float64)

    def clear(x, y, b):
        return ~((b[:, 0] - 1 <= x) & (x <= b[:, 2] + 1) & (b[:, 1] - 1 <= y) & (y <= b[:, 3] + 1)).any(axis=1)

    if page is None:
        return clear(x, y, b)
    keep = np.ones(len(x), dtype=bool)
    for (lo, hi), (c, d) in _same_page(page, box_page):
        keep[lo:hi] = clear(x[lo:hi], y[lo:hi], b[c:d])
    return keep


def _same_page(page, box_page):
    """For each page that has boxes, the slice of the items (`page`, in page order) and of the boxes
    (`box_page`, in page order) on it: items are tested against their own page's boxes only (a batch's
    items against all its boxes would grow with the square of the batch)."""
    import numpy as np

    pages = np.unique(box_page)
    items = np.searchsorted(page, pages), np.searchsorted(page, pages, side="right")
    boxes = np.searchsorted(box_page, pages), np.searchsorted(box_page, pages, side="right")
    return zip(zip(*(a.tolist() for a in items), strict=True), zip(*(a.tolist() for a in boxes), strict=True),
               strict=True)


def _paragraphs(lines: list[tuple], right: float, table_tops: list[float]) -> list[tuple[float, str]]:
    """Join printed lines wrapped from one paragraph: the line above reaches the right edge of the text,
    the next starts at the left edge (not indented) right below it, and no table lies between them."""
    if not lines:
        return []
    left = min(ln[_X0] for ln in lines)
    out: list[tuple[float, str]] = []
    prev = None
    for ln in lines:
        h = max(ln[_BOTTOM] - ln[_TOP], 1.0)
        if (prev is not None and prev[_X1] >= right - 1.5 * h and ln[_X0] <= left + 0.5 * h
                and 0 <= ln[_TOP] - prev[_BOTTOM] < 0.8 * h and not NEW_ITEM.match(ln[_TEXT])
                and not any(prev[_BOTTOM] <= t <= ln[_TOP] for t in table_tops)):
            top, text = out[-1]
            out[-1] = (top, clean(text + " " + ln[_TEXT]))
        else:
            out.append((ln[_TOP], clean(ln[_TEXT])))
        prev = ln
    return out


def _read_pages(pages: list[tuple[int, _Page]], cleaned: _Cleaned) -> list[tuple[list[list[str]], int]]:
    """The rows of some pages (each row its cells) and how many page-number lines each dropped. The
    tables are found page by page; the array work on the characters of pages of upright text is done for
    all the pages at once (numpy's cost per call, not the characters, is most of it on a page).
    `cleaned`: the cell texts cleaned so far in the document (labels recur in every form)."""
    import numpy as np

    laid = []  # per page: its tables (rows, bbox) and their boxes
    for _, page in pages:
        tables, boxes = [], []
        for cells in _tables(_merged_edges(page.edges)):
            cx0, ctop, cx1, cbottom = zip(*cells, strict=True)
            bbox = (min(cx0), min(ctop), max(cx1), max(cbottom))
            boxes.append(bbox)
            tables.append((_rows(cells), bbox))
        laid.append((tables, boxes))
    cell_rows: list = [None] * len(pages)
    lines: list = [None] * len(pages)
    up = [k for k, (_, page) in enumerate(pages) if page.upright_all]
    if up:
        texts = list(chain.from_iterable(pages[k][1].texts for k in up))
        counts = [len(pages[k][1].texts) for k in up]
        ends = np.cumsum(counts)
        x0s, tops, x1s, bottoms = (np.concatenate([pages[k][1].arrays[a] for k in up]) for a in range(4))
        spaces = np.fromiter(map(str.isspace, texts), dtype=bool, count=len(texts))
        spans = [(lo, hi, laid[k][0]) for k, lo, hi in zip(up, (ends - counts).tolist(), ends.tolist(), strict=True)]
        got = _upright_cells(spans, texts, spaces, (x0s, tops, x1s, bottoms, (tops + bottoms) / 2))
        boxes = [b for k in up for b in laid[k][1]]
        box_page = np.array([i for i, k in enumerate(up) for _ in laid[k][1]], dtype=np.int64)
        page_lines = _pages_lines(texts, spaces, x0s, tops, x1s, bottoms, np.repeat(np.arange(len(up)), counts),
                                  len(up), boxes, box_page)
        for k, rows_k, lines_k in zip(up, got, page_lines, strict=True):
            cell_rows[k], lines[k] = rows_k, lines_k
    for k, (_, page) in enumerate(pages):
        if cell_rows[k] is None:  # text that is not all upright: character by character
            x0s, tops, x1s, bottoms = page.arrays
            tables, boxes = laid[k]
            cell_rows[k] = _extract(page.chars, (x0s, tops, x1s, bottoms, (tops + bottoms) / 2), tables)
            lines[k] = _text_lines(page.chars, False)
            if lines[k] and boxes:
                lines[k] = list(compress(lines[k], _outside(*np.array([ln[1:5] for ln in lines[k]]).T, boxes)))
    out = []
    for (_, page), (tables, boxes), rows_k, lines_k in zip(pages, laid, cell_rows, lines, strict=True):
        items: list[tuple[float, int, list[str]]] = []
        for (rows, _), got_rows in zip(tables, rows_k, strict=True):
            for row, got_row in zip(rows, got_rows, strict=True):  # (a row's cells share their top: `_rows`)
                items.append((next(filter(None, row))[1], 0, list(map(cleaned.__getitem__, got_row))))
        kept, dropped = [], 0
        for ln in lines_k:
            if PAGE_NUMBER.match(clean(ln[_TEXT])):
                dropped += 1
            else:
                kept.append(ln)
        right = max([page.width * 0.75] + [b[2] for b in boxes] + [ln[_X1] for ln in kept])
        for top, text in _paragraphs(kept, right, [b[1] for b in boxes]):
            items.append((top, 1, [text]))
        items.sort(key=lambda it: (it[0], it[1]))
        for _, _, cells in items:
            while cells and not cells[-1]:
                cells.pop()
        out.append(([cells for _, _, cells in items], dropped))
    return out


_BATCH = 16  # pages read together by `_read_pages`


# -- PDFium: characters, boxes and ruling lines of a page -------------------------------------------------

_UNCHECKED = ("FPDFText_GetUnicode", "FPDFText_GetLooseCharBox", "FPDFText_GetMatrix", "FPDFText_IsGenerated",
              "FPDFPageObj_CountMarks", "FPDFPageObj_GetMark", "FPDFPageObjMark_GetParamValueType",
              "FPDFPage_GetObject", "FPDFPageObj_GetType", "FPDFPageObj_GetMatrix", "FPDFPageObj_GetBounds",
              "FPDFFormObj_GetObject", "FPDFPath_CountSegments", "FPDFPath_GetPathSegment",
              "FPDFPathSegment_GetPoint", "FPDFPathSegment_GetType", "FPDFPathSegment_GetClose")


@cache
def _pdfium():
    """pypdfium2's raw module, and unchecked twins of the calls made once per character or page object.

    pypdfium2's bindings convert and check every argument (about 0.6 µs a call); the same symbols called
    without argument types cost about 0.25 µs. They are only ever given what they expect: handles that
    PDFium returned (kept in the bindings' own pointer types), Python ints below the counts PDFium gave,
    and pointers into buffers of the right size."""
    import pypdfium2  # noqa: F401 - initialises the library
    import pypdfium2.raw as pdfium_c

    def unchecked(fn):
        twin = type(fn)(ctypes.cast(fn, ctypes.c_void_p).value)
        twin.restype = fn.restype
        return twin

    return pdfium_c, {name: unchecked(getattr(pdfium_c, name)) for name in _UNCHECKED}


class _BoxBuffer:
    """One buffer for the character boxes of a page, with a pointer to each box made once: PDFium writes
    every box into it and one `tolist()` reads them all (reading them one by one costs more than the
    calls). Used under its lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.buf = ctypes.create_string_buffer(0)
        self.refs: list = []

    def pointers(self, n: int) -> list:
        if n > len(self.refs):
            size = max(n, 2 * len(self.refs), 4096)
            self.buf = ctypes.create_string_buffer(16 * size)
            self.refs = [ctypes.byref(self.buf, 16 * i) for i in range(size)]
        return self.refs

    def array(self, n: int):
        """The `n` boxes PDFium wrote, as an n × 4 array of float64."""
        import numpy as np

        return np.frombuffer(self.buf, dtype=np.float32, count=4 * n).reshape(n, 4).astype(np.float64)


_BOXES = _BoxBuffer()
_ODD = re.compile("[\x00\x02\ufb00-\ufb06]")  # characters PDFium gives that pdfminer would not
_NOT_ONE_TO_ONE = re.compile("[\ud800-\udfff\ufffe]")  # in FPDFText_GetText: see `_Page._page_text`


_READING = threading.Lock()  # PDFium is not thread-safe: this module's reads run one at a time in a process
_fonts_off = False  # within a read: PDFium has no platform font info
_default_fonts: list = []  # the platform font info this module put back, to free when it is taken away again


@contextmanager
def builtin_fonts_only():
    """PDFium with its built-in fonts only, for the time of a read; the platform's fonts afterwards.

    What PDFium reads from a font file is the glyphs' outlines: they widen a character's loose box where
    they reach past its advance and the font's ascent and descent, and decide which text objects the text
    page keeps (see `_Page._walk_objects`). A font that is not embedded is taken from the machine, so the
    boxes, and the grid, would depend on which fonts are installed (a machine with Noto CJK gives Chinese
    characters outlines, one without does not). With the built-in fonts only, a file reads the same
    everywhere; characters and widths come from the file. Loading no large CJK faces also makes pages
    cheaper (bare pypdfium2 extraction of the bundled documents: about 25 → 7 ms of CPU a page with Noto
    CJK installed; benchmarks/bench_formats.py --pdf-only).

    The font info is PDFium's, for the whole process: it is taken away while the lock is held (reads in
    other threads wait) and PDFium's default (what pypdfium2 starts with, no extra font folders) is put
    back before the lock is released, also when the read fails. Other code using pypdfium2 in the same
    process sees the platform's fonts, as long as it does not call PDFium while a read runs (PDFium allows
    no concurrent calls at all). A process forked during a read starts with the fonts put back."""
    global _fonts_off
    pdfium_c, _ = _pdfium()
    with _READING:
        pdfium_c.FPDF_SetSystemFontInfo(None)  # PDFium releases the font info it had
        _fonts_off = True
        while _default_fonts:  # released with it: only the struct is left to free
            pdfium_c.FPDF_FreeDefaultSystemFontInfo(_default_fonts.pop())
        try:
            yield
        finally:
            _restore_fonts(pdfium_c)


def _restore_fonts(pdfium_c) -> None:
    """Give PDFium a new default font info (the one it had is released when it was taken away)."""
    global _fonts_off
    info = pdfium_c.FPDF_GetDefaultSystemFontInfo()
    if info:
        _default_fonts.append(info)
        pdfium_c.FPDF_SetSystemFontInfo(info)
    _fonts_off = False


def _after_fork_in_child() -> None:
    """A process forked while a thread of its parent was reading: a free lock, and the fonts back."""
    global _READING
    _READING = threading.Lock()
    if _fonts_off:
        _restore_fonts(_pdfium()[0])


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _rotation_ctm(rotate: int, mediabox: tuple) -> tuple:
    """pdfminer's page matrix (PDFPageInterpreter.process_page): PDF space → its page space."""
    x0, y0, x1, y1 = mediabox
    return {90: (0, -1, 1, 0, -y0, x1), 180: (-1, 0, 0, -1, x1, y1),
            270: (0, 1, -1, 0, y1, -x0)}.get(rotate, (1, 0, 0, 1, -x0, -y0))


def _mul(m1: tuple, m2: tuple) -> tuple:
    """m1 then m2 (PDF row-vector convention, as pdfminer's mult_matrix)."""
    a1, b1, c1, d1, e1, f1 = m1
    a0, b0, c0, d0, e0, f0 = m2
    return (a0 * a1 + c0 * b1, b0 * a1 + d0 * b1, a0 * c1 + c0 * d1, b0 * c1 + d0 * d1,
            a0 * e1 + c0 * f1 + e0, b0 * e1 + d0 * f1 + f0)


class _Page:
    """One page as pdfplumber would show it: `chars`, `edges`, `width`, and whether it holds images or
    curves (a scan), from PDFium's text page and page objects."""

    def __init__(self, doc, index: int):
        pdfium_c, fast = _pdfium()
        self._c, self._fast = pdfium_c, fast
        self.raw = pdfium_c.FPDF_LoadPage(doc, index)
        if not self.raw:
            raise ReadError("PDFium cannot load the page")
        page = self.raw
        rotate = pdfium_c.FPDFPage_GetRotation(page) % 4 * 90
        box = [ctypes.c_float() for _ in range(4)]
        if not pdfium_c.FPDFPage_GetMediaBox(page, *box):
            box[2].value, box[3].value = pdfium_c.FPDF_GetPageWidthF(page), pdfium_c.FPDF_GetPageHeightF(page)
        x0, y0, x1, y1 = (b.value for b in box)
        x0, x1 = sorted((x0, x1))
        y0, y1 = sorted((y0, y1))
        # pdfplumber's page box: the mediabox, turned for 90° and 270°; `top` = height - y + its top
        nx0, ny0, nx1, ny1 = (y0, x0, y1, x1) if rotate in (90, 270) else (x0, y0, x1, y1)
        self.width, self.height = nx1 - nx0, ny1 - ny0
        self._ctm = _rotation_ctm(rotate, (x0, y0, x1, y1))
        self._dx, self._top0 = nx0, self.height - ny0  # x + dx, top0 - y (pdfminer page space)
        self.upright_all = True
        self.actual_text = False  # some text object is marked with an /ActualText (see `_page_text`)
        self.images = 0
        self._paths: list[tuple] = []  # (matrix, segments) of every path object, in drawing order; (None,
        # its two points on the page) of a ruling line
        self.textpage = None
        self._edges: list | None = None
        self._curves = 0
        self.arrays: tuple = ()  # x0, top, x1, bottom of the characters, as arrays
        self.texts: list[str] = []
        self._tuples: list[tuple] | None = None
        try:
            self._walk_objects()
            self.textpage = pdfium_c.FPDFText_LoadPage(page)
            if not self.textpage:
                raise ReadError("PDFium cannot read the page's text")
            self._chars()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self.textpage:
            self._c.FPDFText_ClosePage(self.textpage)
            self.textpage = None
        if self.raw:
            self._c.FPDF_ClosePage(self.raw)
            self.raw = None

    def _walk_objects(self) -> None:
        """Collect the path objects (inside form XObjects too, with the form's matrix), count the images,
        note whether any text is not upright, and make sure PDFium's text page keeps every text object.

        PDFium's text page drops a text object whose box is less than 0.01 pt wide (cpdf_textpage.cpp,
        ProcessTextObject). The box comes from the glyph outlines of the font, so a font that is not
        embedded and not installed (STSong-Light, SimSun on a server without Chinese fonts) has empty
        boxes, and a text object of one Chinese character (the last character of a wrapped cell line, a
        cell holding 无) would vanish. A stroked text object's box includes half its line width: such
        objects are set to fill-and-stroke with a line width of 1 pt and their box recomputed (an identity
        transform), which changes nothing else the text page reads (character boxes come from the font's
        widths and ascent and descent)."""
        c, fast = self._c, self._fast
        get_object, get_type, get_matrix, get_bounds, form_object = (
            fast["FPDFPage_GetObject"], fast["FPDFPageObj_GetType"], fast["FPDFPageObj_GetMatrix"],
            fast["FPDFPageObj_GetBounds"], fast["FPDFFormObj_GetObject"])
        count_segments, get_segment, get_point, segment_type, get_close = (
            fast["FPDFPath_CountSegments"], fast["FPDFPath_GetPathSegment"], fast["FPDFPathSegment_GetPoint"],
            fast["FPDFPathSegment_GetType"], fast["FPDFPathSegment_GetClose"])
        text_kind, path_kind, image_kind, form_kind = (c.FPDF_PAGEOBJ_TEXT, c.FPDF_PAGEOBJ_PATH,
                                                       c.FPDF_PAGEOBJ_IMAGE, c.FPDF_PAGEOBJ_FORM)
        count_marks, get_mark, param_type = (fast["FPDFPageObj_CountMarks"], fast["FPDFPageObj_GetMark"],
                                             fast["FPDFPageObjMark_GetParamValueType"])
        move = c.FPDF_SEGMENT_MOVETO
        buf = ctypes.create_string_buffer(24)
        m_ref, f0, f1, f2, f3 = ctypes.byref(buf), *(ctypes.byref(buf, k) for k in (0, 4, 8, 12))
        six, two, four = (struct.Struct(f).unpack_from for f in ("6f", "2f", "4f"))
        ctm = self._ctm
        turned = ctm[1] != 0  # else the page matrix only scales by ±1 and moves
        sxy = 1 if turned else ctm[0] * ctm[3]  # the page's own flips, where it is not turned
        line_to = c.FPDF_SEGMENT_LINETO
        paths = self._paths
        upright_all, actual_text = True, False
        todo = [(c.FPDFPage_CountObjects(self.raw), get_object, self.raw, None)]
        while todo:
            count, get, holder, form = todo.pop()
            matrices: dict[bytes, tuple] = {}  # a path's matrix → with the form's (this one's) and the page's
            for k in range(count):
                obj = get(holder, k)
                kind = get_type(obj)
                if kind == text_kind:
                    if upright_all:
                        get_matrix(obj, m_ref)
                        if form is not None or turned:
                            mat = _mul(six(buf) if form is None else _mul(six(buf), form), ctm)
                        else:
                            mat = four(buf)
                        # upright: a·d > 0 and b·c <= 0 for (a·sx, b·sy, c·sx, d·sy), whose signs are these
                        upright_all = mat[0] * mat[3] * sxy > 0 and mat[1] * mat[2] * sxy <= 0
                    if not actual_text and count_marks(obj):
                        actual_text = any(param_type(get_mark(obj, j), b"ActualText") for j in range(count_marks(obj)))
                    get_bounds(obj, f0, f1, f2, f3)
                    left, _, right, _ = four(buf)
                    if abs(right - left) < 0.01:
                        c.FPDFTextObj_SetTextRenderMode(obj, c.FPDF_TEXTRENDERMODE_FILL_STROKE)
                        c.FPDFPageObj_SetStrokeWidth(obj, 1.0)
                        c.FPDFPageObj_Transform(obj, 1, 0, 0, 1, 0, 0)
                elif kind == path_kind:
                    get_matrix(obj, m_ref)
                    raw = buf.raw  # the paths of a table mostly share one matrix: worked out once (by its bytes)
                    mat = matrices.get(raw)
                    if mat is None:
                        mat = matrices[raw] = _mul(six(buf) if form is None else _mul(six(buf), form), ctm)
                    n = count_segments(obj)
                    if n == 2:  # a ruling line (most paths of a table): its two points, on the page
                        first, last = get_segment(obj, 0), get_segment(obj, 1)
                        if segment_type(first) == move and segment_type(last) == line_to:
                            a, b, cc, d, e, f = mat
                            get_point(first, f0, f1)
                            x, y = two(buf)
                            get_point(last, f0, f1)
                            x2, y2 = two(buf)
                            paths.append((None, ((a * x + cc * y + e, b * x + d * y + f),
                                                 (a * x2 + cc * y2 + e, b * x2 + d * y2 + f))))
                            continue
                    segments = []
                    for j in range(n):
                        seg = get_segment(obj, j)
                        get_point(seg, f0, f1)
                        segments.append([segment_type(seg), *two(buf), False])
                    # the close mark matters at the end of a subpath (pdfminer's "h" after its last segment)
                    for j in range(n):
                        if j + 1 == n or segments[j + 1][0] == move:
                            segments[j][3] = bool(get_close(get_segment(obj, j)))
                    paths.append((mat, segments))
                elif kind == image_kind:
                    self.images += 1
                elif kind == form_kind:
                    get_matrix(obj, m_ref)
                    mat = six(buf)
                    todo.append((c.FPDFFormObj_CountObjects(obj), form_object, obj,
                                 mat if form is None else _mul(mat, form)))
        self.upright_all, self.actual_text = upright_all, actual_text

    @property
    def chars(self) -> list[tuple]:
        """(text, x0, top, x1, bottom, upright) of each character (made when first asked for: pages of
        upright text are read from `texts` and `arrays`)."""
        if self._tuples is None:
            self._tuples = list(zip(self.texts, *(a.tolist() for a in self.arrays), repeat(True)))
        return self._tuples

    def _chars(self) -> None:
        """`texts` and `arrays` (x0, top, x1, bottom) of every character PDFium's text page holds, but the
        spaces and line breaks it makes up (IsGenerated). The box is PDFium's loose box (the advance
        width by the font's ascent and descent, with the glyph's own outline where it reaches further),
        as pdfminer's box is the advance width by the font size."""
        fast = self._fast
        get_unicode, get_box, is_generated = (fast["FPDFText_GetUnicode"], fast["FPDFText_GetLooseCharBox"],
                                              fast["FPDFText_IsGenerated"])
        tp = self.textpage
        n = self._c.FPDFText_CountChars(tp)
        if n <= 0:
            return
        import numpy as np

        as_read = self._page_text(n)
        if as_read is None:  # map() over the calls: no Python frame or loop step per character
            as_read = "".join(map(chr, map(get_unicode, repeat(tp, n), range(n))))
        with _BOXES.lock:  # every box into one buffer, read back in one go
            deque(map(get_box, repeat(tp, n), range(n), _BOXES.pointers(n)), maxlen=0)  # (more pointers than boxes)
            boxes = _BOXES.array(n)  # rows of left, top, right, bottom (FS_RECTF)
        texts = as_read  # one character per index: the made-up ones are found by their index
        if _ODD.search(as_read):  # 2: PDFium's mark of a hyphen at a line end; 0; ligatures
            texts = list(as_read)
            for m in _ODD.finditer(as_read):
                i, u = m.start(), ord(m.group())
                texts[i] = "-" if u == 2 else "\ufffd" if not u else LIGATURES.get(texts[i], texts[i])
        # but the spaces and line breaks PDFium made up (found in as_read, not the texts: a ligature made
        # "fi" would shift every index)
        codes = np.frombuffer(as_read.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        blanks = np.flatnonzero((codes == 32) | (codes == 13) | (codes == 10))  # what PDFium makes up: " \r\n"
        made_up = np.fromiter(map(is_generated, repeat(tp, len(blanks)), blanks.tolist()), np.int64, len(blanks))
        kept = np.ones(n, dtype=bool)
        kept[blanks[made_up == 1]] = False
        keep = kept.tolist()
        a, b, c, d, e, f = self._ctm
        dx, top0 = self._dx, self._top0
        if ((a, b, c, d) == (1, 0, 0, 1) and self.upright_all and (boxes[:, 0] <= boxes[:, 2]).all()
                and (boxes[:, 3] <= boxes[:, 1]).all()):
            ex, fy = e + dx, top0 - f  # x + e + dx, top0 - (y + f)
            self.arrays = (boxes[kept, 0] + ex, fy - boxes[kept, 1], boxes[kept, 2] + ex, fy - boxes[kept, 3])
            self.texts = list(compress(texts, keep))
            return
        lefts, tops, rights, bottoms = (boxes[:, k].tolist() for k in range(4))
        get_matrix = fast["FPDFText_GetMatrix"]
        buf = ctypes.create_string_buffer(24)
        ref = ctypes.byref(buf)
        mat = struct.Struct("4f").unpack_from  # FS_MATRIX: a, b, c, d (e, f unused)
        turned = b != 0  # 90° or 270°: x comes from y and y from x
        out: list[tuple] = []
        upright = True
        for i in compress(range(n), keep):
            left, top, right, bottom = lefts[i], tops[i], rights[i], bottoms[i]
            if not self.upright_all:
                get_matrix(tp, i, ref)
                ma, mb, mc, md = mat(buf)
                ua, ub, uc, ud = ma * a + mb * c, ma * b + mb * d, mc * a + md * c, mc * b + md * d
                upright = ua * ud > 0 and ub * uc <= 0
            if turned:  # pdfminer x = a x + c y + e, y = b x + d y + f
                xa, xb = c * bottom + e, c * top + e
                ya, yb = b * left + f, b * right + f
            else:
                xa, xb = a * left + e, a * right + e
                ya, yb = d * bottom + f, d * top + f
            if xa > xb:
                xa, xb = xb, xa
            if ya > yb:
                ya, yb = yb, ya
            out.append((texts[i], xa + dx, top0 - yb, xb + dx, top0 - ya, upright))
        self.arrays = tuple(np.array([ch[k] for ch in out], dtype=np.float64) for k in (_X0, _TOP, _X1, _BOTTOM))
        self.texts, self._tuples = [ch[_TEXT] for ch in out], out

    def _page_text(self, n: int) -> str | None:
        """What `FPDFText_GetUnicode` gives for each of the `n` characters, from one `FPDFText_GetText`
        (one call a page instead of one a character, as pypdfium2's `get_text_range`); None where the two
        may differ, and the page is read character by character.

        PDFium fills a text buffer beside its character list (cpdf_textpage.cpp), and GetText maps
        character indices onto it. The buffer has one unit for each character unless a character is left
        out of it (control characters, a character with neither unicode nor code: the text is then
        shorter), takes two units (outside the BMP: a surrogate) or is written as U+FFFE (unicode 0). A
        text object marked with an /ActualText (`actual_text`) puts the marked text into the list, which
        some PDFium versions do not keep in step with the buffer."""
        if self.actual_text:
            return None
        buf = ctypes.create_string_buffer(2 * n + 2)
        written = self._c.FPDFText_GetText(self.textpage, 0, n, ctypes.cast(buf, ctypes.POINTER(ctypes.c_ushort)))
        if written != n + 1:
            return None
        text = buf.raw[: 2 * n].decode("utf-16-le", "surrogatepass")
        return None if _NOT_ONE_TO_ONE.search(text) else text

    @property
    def edges(self) -> list:
        """pdfplumber's page.edges: of its lines, then its rectangles (four edges each), then its curves
        (an edge per segment), from the path objects classified as pdfminer does (paint_path)."""
        if self._edges is None:
            lines, rects, curves = [], [], []
            for matrix, segments in self._paths:
                if matrix is None:  # a ruling line, on the page already (`_walk_objects`): what _subpaths gives
                    lines.append(segments)
                    continue
                for kind, pts in _subpaths(segments, matrix):
                    (lines if kind == "line" else rects if kind == "rect" else curves).append(pts)
            self._curves = len(curves)
            dx, top0 = self._dx, self._top0
            edges = []
            for (xa, ya), (xb, yb) in lines:
                x0, x1, y0, y1 = min(xa, xb), max(xa, xb), min(ya, yb), max(ya, yb)
                top, bottom = top0 - y1, top0 - y0
                edges.append([x0 + dx, top, x1 + dx, bottom, x1 - x0, y1 - y0, "h" if top == bottom else "v"])
            for pts in rects:
                xs, ys = [p[0] for p in pts], [p[1] for p in pts]
                x0, x1, y0, y1 = min(xs) + dx, max(xs) + dx, min(ys), max(ys)
                top, bottom, w, h = top0 - y1, top0 - y0, max(xs) - min(xs), y1 - y0
                edges += [[x0, top, x1, top, w, 0, "h"], [x0, top + h, x1, bottom, w, 0, "h"],
                          [x0, top, x0, bottom, 0, h, "v"], [x1, top, x1, bottom, 0, h, "v"]]
            for pts in curves:
                pts = [(x + dx, top0 - y) for x, y in pts]
                for (xa, ya), (xb, yb) in zip(pts, pts[1:], strict=False):
                    edges.append([min(xa, xb), min(ya, yb), max(xa, xb), max(ya, yb), abs(xa - xb), abs(ya - yb),
                                  "v" if xa == xb else "h" if ya == yb else None])
            self._edges = edges
        return self._edges

    @property
    def curves(self) -> int:
        self.edges  # noqa: B018 - classifies the paths
        return self._curves


def _subpaths(segments: list, matrix: tuple):
    """("line" | "rect" | "curve", points) of each subpath, as pdfminer's paint_path sorts them: a
    subpath per move; its points are the ends of its segments (a Bézier curve's end, not its control
    points), and the start again where it is closed ("h")."""
    pdfium_c, _ = _pdfium()
    move, bezier = pdfium_c.FPDF_SEGMENT_MOVETO, pdfium_c.FPDF_SEGMENT_BEZIERTO
    a, b, c, d, e, f = matrix
    paths: list[list] = []  # [points, has a curve segment, closed, ends in a curve segment]
    k = 0
    for kind, x, y, closed in segments:
        if kind == move:
            paths.append([[], False, False, False])
            k = 0
        elif not paths:
            continue  # pdfminer ignores what comes before the first move
        path = paths[-1]
        if kind == bezier:
            path[1] = True
            k += 1
            if k % 3:
                continue  # a control point
        else:
            k = 0
        path[0].append((a * x + c * y + e, b * x + d * y + f))
        path[2], path[3] = closed, kind == bezier
    for pts, curved, closed, ends_curved in paths:
        if len(pts) < 2:
            continue  # a lone move
        # PDFium closes a subpath with a line back to its start, or, when it is already there, by marking
        # the last point closed; pdfminer's "h" adds the start again, but drops a last line to the start
        if closed and ends_curved:
            pts.append(pts[0])
        if curved:
            yield "curve", pts
        elif len(pts) == 2 or (len(pts) == 3 and closed and pts[2] == pts[0]):
            yield "line", pts[:2]
        elif len(pts) == 5 and pts[4] == pts[0]:
            (x0, y0), (x1, y1), (x2, y2), (x3, y3), _ = pts
            if (x0 == x1 and y1 == y2 and x2 == x3 and y3 == y0) or (y0 == y1 and x1 == x2 and y2 == y3 and x3 == x0):
                yield "rect", [pts[0], pts[2]]
            else:
                yield "curve", pts
        else:
            yield "curve", pts


# -- refusals before reading ------------------------------------------------------------------------------

def _inflate(raw: bytes, limit: int) -> bytes | None:
    """At most `limit` + 1 bytes of a zlib stream (None where it is not one)."""
    try:
        d = zlib.decompressobj()
        return d.decompress(raw, limit + 1)
    except zlib.error:
        return None


def _page_count(texts: list[bytes]) -> int:
    """The pages a file says it has, from its bytes and its compressed object streams (`_object_texts`),
    without parsing: the largest /Count of a page tree node, or the number of page objects if more."""
    counts = [int(a or b) for t in texts for a, b in _PAGES_COUNT.findall(t)]
    return max([*counts, sum(len(_PAGE_DICT.findall(t)) for t in texts)])


def _object_texts(data: bytes) -> list[bytes]:
    """The file's bytes and the inflated bodies of its compressed object streams: where every object that
    is not a stream is written."""
    texts = [data]
    for m in _OBJSTM.finditer(data):
        st = _STREAM.search(data, m.end(), m.end() + 4096)
        if st:
            end = data.find(b"endstream", st.end())
            body = _inflate(data[st.end() : end if end > 0 else len(data)], 64 * 2**20)
            if body:
                texts.append(body)
    return texts


def precheck(data: bytes) -> None:
    """Refuse a PDF that would make the reader run without end or bound (see the module docstring). Files
    that pdfminer cannot parse pass: opening them says why."""
    _precheck(data)


def _precheck(data: bytes) -> Exception | None:
    """`precheck`, returning pdfminer's error where it cannot open the file (None where it can)."""
    texts = _object_texts(data)
    pages = _page_count(texts)
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
    except ReadError:
        raise
    except Exception as e:  # noqa: BLE001 - broken, encrypted: the caller reports it
        return e
    try:
        ids = [i for x in doc.xrefs for i in x.get_objids()]
    except Exception:  # noqa: BLE001 - pdfminer cannot list them: nothing to count
        return None
    if len(ids) > MAX_OBJECTS:
        raise ReadError(f"refused: {len(ids):,} objects, more than {MAX_OBJECTS:,}")
    for i in ids if _may_hold_bare_references(data) else ():
        try:
            doc.getobj(i)
        except ReadError:
            raise
        except Exception:  # noqa: BLE001 - a damaged object is pdfminer's to report, if it is ever used
            pass
    if _content_bounded(data, texts):
        return None
    pages_of = PDFPage.create_pages(doc)
    pno = 0
    while True:
        try:
            page = next(pages_of)
        except StopIteration:
            return None
        except Exception as e:  # noqa: BLE001 - a broken page tree: the file cannot be opened as before
            return e
        pno += 1
        if pno > MAX_PAGES:
            raise ReadError(f"refused: more than {MAX_PAGES:,} pages")
        try:
            _check_content(page, pno, PDFStream)
        except ReadError:
            raise
        except Exception:  # noqa: BLE001 - what pdfminer cannot follow here is not counted
            return None


# the stream objects of a file, read from its bytes: "N G obj", its dictionary, the data up to "endstream"
_STREAM_OR_HEAD = re.compile(rb"(\d{1,10})\s+\d{1,5}\s+obj(?![A-Za-z0-9])|(?<![A-Za-z0-9])stream(?![A-Za-z0-9])")
_FILTER = re.compile(rb"/Filter\s*(?:/([A-Za-z0-9]+)|\[\s*((?:/[A-Za-z0-9]+\s*)*)\])")
_CONTENTS = re.compile(rb"/Contents(?![A-Za-z0-9])\s*(?:(\d{1,10})\s+\d{1,5}\s+R"  # one stream, an array of them,
                       rb"|\[((?:\s*\d{1,10}\s+\d{1,5}\s+R)*)\s*\]|(\((?s:.)|<(?!<)))")  # or a string (an annotation's)
_CONTENTS_KEY = re.compile(rb"/Contents(?![A-Za-z0-9])")
_REF = re.compile(rb"(\d{1,10})\s+\d{1,5}\s+R")
# filter lists as `_check_content` reads them: Flate alone, ASCII85 then Flate (what reportlab writes), and
# image filters whose bytes pdfminer passes on as they are
_FLATE, _A85_FLATE = (["FlateDecode"], ["Fl"]), (["ASCII85Decode", "FlateDecode"], ["A85", "Fl"])
_RAW_FILTERS = frozenset({"DCTDecode", "DCT", "JPXDecode", "JBIG2Decode"})


def _content_bounded(data: bytes, texts: list[bytes]) -> bool:
    """Whether no page's content can pass the limits of `_check_content`, shown from the bytes alone: then
    the pages need not be walked (pdfminer parses every page object and its content streams in Python,
    ~0.3 ms a page, more than a third of the time PDFium takes to read one).

    A page's content is some of the file's streams: its /Contents (each named once, as checked here; a
    stream named twice would count twice there) and the form XObjects it draws (each once), and a stream
    can be both; so it inflates to at most twice what all streams together inflate to. Every stream is
    decoded as `_check_content` decodes it (Flate bounded; ASCII85 + Flate; unfiltered and image-only
    filters at their stored size). Bounded: twice the total is within `MAX_CONTENT`, and either within
    `MAX_CONTENT_INFLATED` or no stream inflates by more than half of `MAX_CONTENT_RATIO` (a stream's
    stored size here may be a little larger than pdfminer's: its /Length). Anything this does not follow
    (another filter, a zlib stream that does not end, encryption, a stream without its "obj", a
    /Contents that is not a stream object or names one twice) is not bounded: the pages are walked."""
    total, steep, streams, pos = 0, False, set(), 0
    head_end, number = -1, None
    while (m := _STREAM_OR_HEAD.search(data, pos)) is not None:
        if m.group(1) is not None:  # an object's head
            head_end, number, pos = m.end(), int(m.group(1)), m.end()
            continue
        if number is None:
            return False  # a stream keyword outside an object
        head = data[head_end:m.start()].strip()
        if not (head.startswith(b"<<") and head.endswith(b">>")):
            return False
        start = m.end()
        start += 2 if data.startswith(b"\r\n", start) else 1 if data[start:start + 1] in (b"\r", b"\n") else 0
        end = data.find(b"endstream", start)
        if end < 0:
            return False
        raw = data[start:end].rstrip(b"\r\n")
        filters = _FILTER.findall(head)
        if len(filters) != head.count(b"/Filter"):
            return False  # a filter this cannot read (an indirect one)
        if len(filters) > 1:
            return False
        names = [n.strip().decode() for one, many in filters for n in ([one] if one else many.split(b"/")[1:])]
        if not names:
            inflated, stored = len(raw), len(raw)
        elif names in _FLATE:
            d = zlib.decompressobj()
            try:
                body = d.decompress(raw, MAX_CONTENT + 1)
            except zlib.error:
                return False
            if not d.eof:
                return False
            inflated, stored = len(body), len(raw) - len(d.unused_data)
        elif names in _A85_FLATE and b"/DecodeParms" not in head:
            body = _a85_flate_bytes(raw)
            if body is None:
                return False
            inflated, stored = len(body), len(raw)
        elif len(names) == 1 and names[0] in _RAW_FILTERS:
            inflated, stored = len(raw), len(raw)
        else:
            return False
        total += inflated
        steep = steep or inflated > MAX_CONTENT_RATIO / 2 * stored
        if 2 * total > MAX_CONTENT:
            return False
        streams.add(number)
        number, pos = None, end + 9
    if 2 * total > MAX_CONTENT_INFLATED and steep:
        return False
    for text in texts:
        for m in _CONTENTS_KEY.finditer(text):
            got = _CONTENTS.match(text, m.start())
            if got is None:
                return False
            one, many, _ = got.groups()
            refs = [int(one)] if one is not None else [int(r) for r in _REF.findall(many)] if many is not None else []
            if len(set(refs)) != len(refs) or not streams.issuperset(refs):
                return False
    return True


# what may follow an "obj" keyword before its value: white space and comments, taken whole (possessive: a run
# of '%' or of spaces is cut one way only; "%[^\r\n]*" inside "(…)*" took minutes on 'obj' + 30 '%')
_AFTER_OBJ = re.compile(rb"(?:[\x00-\x20]++|%[^\r\n]*+)*+")
_NUMBER_START = frozenset(b"-+.0123456789")


def _may_hold_bare_references(data: bytes) -> bool:
    """Whether some object could be only a reference to another, so that resolving every object is needed
    to find loops: an object stream (its objects are not in the bytes), or an "obj" keyword (not "endobj")
    whose value starts with a number. Files of dictionaries, arrays and streams only (what most writers make)
    have none. One pass: an "obj" inside the space or comments after another is not a keyword.

    >>> _may_hold_bare_references(b"2 0 obj %% a comment %%%%\\r3 0 R"), _may_hold_bare_references(b"2 0 obj <<>>")
    (True, False)
    """
    if _OBJSTM.search(data):
        return True
    pos = 0
    while (at := data.find(b"obj", pos)) >= 0:
        after = _AFTER_OBJ.match(data, at + 3).end()
        if not data[at - 1:at].isalpha() and after < len(data) and data[after] in _NUMBER_START:
            return True
        pos = max(at + 3, after)
    return False


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
        if filters in _FLATE:
            body = _inflate(raw, MAX_CONTENT)
            inflated += len(body) if body is not None else len(raw)
        elif not filters:
            inflated += len(raw)
        else:
            a85 = filters in _A85_FLATE
            body = _a85_flate(st, raw, filters) if a85 else None
            # other filters inflate far less (LZW at most ~2,700:1)
            inflated += len(body) if body is not None else len(st.get_data())
        if inflated > MAX_CONTENT or (inflated > MAX_CONTENT_INFLATED and inflated > MAX_CONTENT_RATIO * stored):
            raise ReadError(f"refused: the content of page {pno} inflates from {stored / 1024:,.0f} KB to "
                            f"{inflated / 2**20:,.1f} MiB ({inflated / max(stored, 1):,.0f}-fold); the limit is "
                            f"{MAX_CONTENT_INFLATED // 2**20} MiB at more than {MAX_CONTENT_RATIO}:1, "
                            f"{MAX_CONTENT // 2**20} MiB in any case", location=f"page {pno}")


def _a85_flate(st, raw: bytes, filters: list) -> bytes | None:
    """What pdfminer's get_data() gives for an unencrypted ASCII85 + Flate stream (the encoding reportlab
    writes): the same bytes, without decoding ASCII85 a group at a time in Python. None where the stream
    has anything this does not do exactly as pdfminer (decode parameters, "z", bad digits, a damaged or
    long zlib stream): pdfminer decodes it then."""
    if st.decipher is not None or any(params for _, params in st.get_filters()):
        return None
    return _a85_flate_bytes(raw)


def _a85_flate_bytes(raw: bytes) -> bytes | None:
    """`_a85_flate` of a stream's bytes (not encrypted, no decode parameters)."""
    import numpy as np
    from pdfminer.ascii85 import end_re, start_re

    text = _strip_end(start_re.sub(b"", raw), end_re).translate(None, b" \t\n\r\x0b")  # as base64.a85decode skips
    digits = np.frombuffer(text, dtype=np.uint8)
    if not len(digits) or digits.min() < 33 or digits.max() > 117:  # outside "!".."u" (also "z")
        return None
    pad = -len(digits) % 5
    groups = np.concatenate([digits, np.full(pad, 117, np.uint8)]).reshape(-1, 5).astype(np.uint64) - 33
    value = (((groups[:, 0] * 85 + groups[:, 1]) * 85 + groups[:, 2]) * 85 + groups[:, 3]) * 85 + groups[:, 4]
    if (value > 0xFFFFFFFF).any():  # "Ascii85 overflow"
        return None
    decoded = value.astype(">u4").tobytes()
    d = zlib.decompressobj()
    try:
        body = d.decompress(decoded[: len(decoded) - pad], MAX_CONTENT + 1)
    except zlib.error:
        return None
    return body if d.eof else None


def _strip_end(data: bytes, end_re) -> bytes:
    """`end_re.sub(b"", data)` for pdfminer's end mark (white space, "~", ">" and white space at the end),
    run on the tail only: a match holds the last "~" and starts where the white space before it does
    (the regex, tried at every position, costs ~35 µs on a page's content stream)."""
    k = data.rfind(b"~")
    if k < 0:
        return data
    j = len(data[:k].rstrip())  # (bytes.rstrip strips what \s matches)
    return data[:j] + end_re.sub(b"", data[j:])


def _name(x, literal_name) -> str | None:
    try:
        return literal_name(x)
    except Exception:  # noqa: BLE001 - not a name
        return None


def _open_error(e: Exception) -> ReadError:
    """The message for a file that cannot be opened, as pdfplumber's opening reported it."""
    from pdfminer.pdfdocument import PDFPasswordIncorrect

    if isinstance(e, PDFPasswordIncorrect):
        return ReadError("password-protected PDF: cannot be read without the password")
    return ReadError(f"corrupt or truncated PDF: {type(e).__name__}: {e}".rstrip(": "))


def read_pdf(data: bytes) -> DocGrid:
    failed = _precheck(data)
    if failed is not None:
        raise _open_error(failed) from None
    with builtin_fonts_only(), _collector_paused():
        return _read(data)


@contextmanager
def _collector_paused():
    """Python's cyclic garbage collector off for the time of a read (under `_READING`: one at a time).

    A page makes thousands of small tuples and lists, which trigger collections, and a full collection
    walks every object the process holds: in a process holding a large heap (pandas tables in an ingest
    worker, a document library's objects) they cost more than the page itself. What a read makes holds no
    reference cycles and is freed as it goes; the collector is put back as it was, also when the read
    fails, and catches up on its next run."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _read(data: bytes) -> DocGrid:
    pdfium_c, _ = _pdfium()
    buf = ctypes.create_string_buffer(data, len(data))  # PDFium reads from it until the document is closed
    doc = pdfium_c.FPDF_LoadMemDocument64(buf, len(data), None)
    if not doc:
        code = pdfium_c.FPDF_GetLastError()
        if code == pdfium_c.FPDF_ERR_PASSWORD:
            raise ReadError("password-protected PDF: cannot be read without the password")
        why = {pdfium_c.FPDF_ERR_FILE: "file error", pdfium_c.FPDF_ERR_FORMAT: "format error",
               pdfium_c.FPDF_ERR_SECURITY: "unsupported security scheme"}.get(code, f"error {code}")
        raise ReadError(f"corrupt or truncated PDF: PDFium: {why}")
    grid = DocGrid([], "pdf", "cells", format="pdf")
    cleaned = _Cleaned()
    no_text: list[int] = []  # pages drawn as images or outlines: scans without a text layer
    blank = 0
    dropped = 0
    batch: list[tuple[int, _Page]] = []  # pages of text, read (closed), their rows not made yet

    def failed(pno: int, e: Exception) -> None:
        grid.problems.append(("warning", f"page {pno} cannot be read: {type(e).__name__}: {e}", None, f"page {pno}"))

    def flush() -> None:
        nonlocal blank, dropped
        try:
            read = _read_pages(batch, cleaned)
        except Exception:  # noqa: BLE001 - one damaged page must not lose the others: each on its own
            read = []
            for pno, page in batch:
                try:
                    read += _read_pages([(pno, page)], cleaned)
                except Exception as e:  # noqa: BLE001
                    failed(pno, e)
                    read.append(None)
        for (pno, page), got in zip(batch, read, strict=True):
            if got is None:
                continue
            rows, d = got
            dropped += d
            for k, cells in enumerate(rows, 1):
                line = len(grid.rows) + 1
                grid.rows.append(Row(line, cells, "\t".join(cells)))
                grid.locations[line] = f"page {pno} line {k}"
            if not rows:  # nothing but perhaps a page number
                if page.images or page.curves:
                    no_text.append(pno)
                else:
                    blank += 1
        batch.clear()

    try:
        pages = pdfium_c.FPDF_GetPageCount(doc)
        for pno in range(1, pages + 1):
            page = None
            try:
                page = _Page(doc, pno - 1)
            except Exception as e:  # noqa: BLE001 - one damaged page must not lose the others
                flush()  # (its warning after those of the pages before it)
                failed(pno, e)
                continue
            finally:
                if page is not None:
                    page.close()
            if page.texts:
                batch.append((pno, page))
                if len(batch) == _BATCH:
                    flush()
            elif page.images or page.curves:
                no_text.append(pno)
            else:
                blank += 1
        flush()
    finally:
        pdfium_c.FPDF_CloseDocument(doc)
    no_text.sort()  # (a page in a batch is told after the pages that follow it)
    if no_text and not grid.rows:
        raise ReadError(f"no text layer: OCR needed ({len(no_text)} scanned page(s), no text to read)")
    if not grid.rows and not grid.problems:
        raise ReadError(f"no text in the PDF ({blank} blank page(s))" if blank == pages else "no text in the PDF")
    if no_text:
        grid.problems.append(("warning", f"no text layer on page(s) {', '.join(map(str, no_text))}: OCR needed "
                              "for them; the other pages were read", None))
    if dropped:
        grid.notes.append(f"{dropped} page number line(s) dropped")
    return grid
