"""Property-based tests (hypothesis) over the readers, for the classes of issue 12: arbitrary and damaged
bytes are read or refused (never an exception), long runs of one character cost linear time, absurd
dimensions are refused, encodings round-trip."""

from __future__ import annotations

import io
import re
import time
import zipfile
from functools import cache

import hostile
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perfdata.grid import ReadError
from perfdata.ingest import read_bytes
from perfdata.readers.detect import read_grid
from perfdata.readers.text import read_text

CJK = "项目名称资金年度总额执行率一级指标二级三产出效益满意度分万元"
ALPHABET = CJK + "0123456789.%()（）:：|\t \n\r-—…=≥≤<>$\\分"
QUICK = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def increasing(grid) -> bool:
    lines = [r.line for r in grid.rows]
    return all(a < b for a, b in zip(lines, lines[1:], strict=False)) and all(r.end >= r.line for r in grid.rows)


@QUICK
@given(st.binary(max_size=3000))
def test_any_bytes_are_read_or_refused(data):
    try:
        grid, found = read_grid(data, "x.bin")
    except ReadError as e:
        assert str(e)
        return
    assert increasing(grid)
    assert all(sev in ("error", "warning", "info") for sev, *_ in found)


@QUICK
@given(st.text(alphabet=ALPHABET, max_size=400),
       st.sampled_from(["utf-8", "utf-8-sig", "gbk", "utf-16", "utf-16-le", "utf-16-be", "utf-32"]))
def test_text_in_any_encoding_reads_to_one_file_row(text, enc):
    res = read_bytes(text.encode(enc), "x.txt")
    (row,) = res.tables["files"]
    assert row["status"] in ("ok", "partial", "failed")
    assert all(p["severity"] in ("error", "warning", "info") for p in res.tables.get("problems", []))


@QUICK
@given(st.text(alphabet=CJK + "0123456789\t", min_size=4, max_size=300).filter(lambda t: "\t" in t or
                                                                                re.search(r"\d", t)),
       st.sampled_from(["utf-16-le", "utf-16-be"]))
def test_utf16_without_a_bom_round_trips(text, enc):
    text = text + "\n1\t2\n"  # any real document has digits, tabs or line ends: ASCII, whose high byte is NUL
    grid = read_text(text.encode(enc))
    assert grid.encoding == enc
    assert [r.raw for r in grid.rows] == text.split("\n")[:-1]


RUNS = ["1", " ", "|", "-", "\t", "分", "(", "%", "。", "一", "\u3000", ".", "9.", "|--", " -", "(5", "1分", "≥", "$",
        "\\", "<", "项目", "a b", "1 1", "1,", ",000"]


@settings(max_examples=50, deadline=None)
@given(st.sampled_from(RUNS), st.integers(1_000, 20_000), st.sampled_from(["", "分", ")", "x", "%"]))
def test_long_runs_cost_linear_time(piece, n, tail):
    from perfdata import normalize as nz

    cell = piece * n + tail
    t0 = time.perf_counter()
    nz.clean.__wrapped__(cell)
    nz.split_level_weight(cell)
    nz.cell_type.__wrapped__(cell)
    nz.to_number(cell)
    nz.parse_value(cell)
    nz.key.__wrapped__(cell)
    nz.split_indicator_no(cell)
    read_text(("项目名称\t" + cell + "\n" + cell + "\n").encode())
    assert time.perf_counter() - t0 < 0.5, (piece, n, tail)


_OLD_LEVEL_WEIGHT = re.compile(r"\(?(\d+(?:\.\d+)?)分\)?$")
_BRACKETED_POINTS = re.compile(r"(?<=.)\((\d{1,4})\)$")
_OLD_PIPE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="1234.分()指标: a٣", max_size=12))
def test_split_level_weight_reads_as_the_regular_expression_did(text):
    from perfdata.normalize import clean, split_level_weight

    k = clean(text).replace(" ", "").rstrip(":")
    m = _OLD_LEVEL_WEIGHT.search(k)
    bare = _BRACKETED_POINTS.search(k)  # since: the points without 分, '产出指标(50)' (湖南)
    assert split_level_weight(text) == ((k[: bare.start()], float(bare.group(1))) if bare else
                                        (k, None) if not m else (k[: m.start()].rstrip(":("), float(m.group(1))))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=" |:-x\t", max_size=14))
def test_the_markdown_rule_matches_what_it_matched(line):
    from perfdata.readers.text import _PIPE_RULE

    assert bool(_PIPE_RULE.match(line)) == bool(_OLD_PIPE_RULE.match(line))


# -- containers: damaged, and with random dimensions -----------------------------------------------------------

@cache
def containers() -> dict[str, bytes]:
    from factory import render
    from make_fixtures import document_rows, to_docx, to_pdf, to_xlsx
    from test_readers_html import to_html

    rows, starts = document_rows(render())

    def made(fn, *args) -> bytes:
        buf = io.BytesIO()
        fn(*args, buf)
        return buf.getvalue()

    return {"form.xlsx": made(to_xlsx, rows, starts), "form.docx": made(to_docx, rows), "form.pdf": made(to_pdf, rows),
            "form.html": to_html(rows).encode(), "form.ods": hostile.ods(rows)}


def _members_edited(data: bytes, pick: int, at: int, junk: bytes) -> bytes:
    """The zip with junk put into one of its XML members."""
    def edit(name, body):
        if name == names[pick % len(names)]:
            k = at % (len(body) + 1)
            return body[:k] + junk + body[k:]
        return body
    names = [n for n in zipfile.ZipFile(io.BytesIO(data)).namelist() if n.endswith(".xml")]
    return hostile.rezip(data, edit)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["form.xlsx", "form.docx", "form.pdf", "form.html", "form.ods"]), st.data())
def test_damaged_containers_never_raise(name, data):
    raw = containers()[name]
    how = data.draw(st.sampled_from(["flip", "cut", "member"] if name.endswith(("x", "s")) and "html" not in name
                                    else ["flip", "cut"]))
    if how == "flip":
        b = bytearray(raw)
        for k in data.draw(st.lists(st.integers(0, len(b) - 1), min_size=1, max_size=20)):
            b[k] = data.draw(st.integers(0, 255))
        mutant = bytes(b)
    elif how == "cut":
        mutant = raw[: data.draw(st.integers(0, len(raw)))]
    else:
        mutant = _members_edited(raw, data.draw(st.integers(0, 20)), data.draw(st.integers(0, 10**6)),
                                 data.draw(st.sampled_from([b"<", b"&", b'r="XFD1048576"', b"<c r=\"A1\"><v>1</v></c>",
                                                            b"\x00", b'w:val="1000000000"', "项".encode(),
                                                            b'table:number-columns-repeated="99999999"'])))
    res = read_bytes(mutant, name)
    (row,) = res.tables["files"]
    assert row["status"] in ("ok", "partial", "failed")
    errors = [p for p in res.tables.get("problems", []) if p["severity"] == "error"]
    assert (row["status"] == "failed") == bool(errors) or row["status"] == "failed"


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 1_048_576), st.integers(0, 16_383))
def test_a_far_cell_is_read_or_refused_never_allocated(row, col):
    from perfdata.readers.xlsx import MAX_SHEET_CELLS, column_letters

    data = hostile.xlsx({"A1": "项目名称", f"{column_letters(col)}{row}": "x"})
    t0 = time.process_time()  # CPU time: the bound holds on a loaded machine (the read runs in this process)
    res = read_bytes(data, "far.xlsx")
    if row * (col + 1) > MAX_SHEET_CELLS:
        assert res.tables["problems"][0]["message"].startswith("refused: sheet Sheet spans A1:")
    else:
        assert res.tables["files"][0]["lines"] == min(row, 300_000)
    assert time.process_time() - t0 < 15  # a cell per position would be 10^10 cells: minutes and GiB, not seconds


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["gridSpan", "gridBefore"]), st.one_of(st.integers(-5, 2_000).map(str),
                                                              st.sampled_from(["1e9", "abc", "", " 3", "99999999999"])))
def test_any_grid_span_is_read_or_refused(attr, value):
    from perfdata.readers.docx import MAX_COLUMNS, read_docx

    data = hostile.docx_span(attr, value)
    try:
        grid = read_docx(data)
    except ReadError as e:
        assert "grid columns wide" in str(e) and e.location == "table 1 row 1"
        return
    assert max(len(r.cells) for r in grid.rows) <= MAX_COLUMNS + 2


@pytest.mark.parametrize("pages", [1, 5_000, 5_001])
def test_the_page_limit(pages):
    from perfdata.readers.pdf import precheck

    data = hostile.pdf_pages(pages)
    if pages > 5_000:
        with pytest.raises(ReadError, match="5,001 pages"):
            precheck(data)
    else:
        precheck(data)
