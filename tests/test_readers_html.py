"""HTML reader: pages rendered from the bundled documents read as the text versions, spans, nested
tables, text outside tables, encodings, locations, format sniffing and bad pages."""

from __future__ import annotations

import codecs
import re
from functools import cache
from html import escape
from pathlib import Path

import pandas as pd
import pytest
from conftest import GUYUAN, RAW, XIANGHE, XINGLONG, XINXIANG
from factory import render
from make_fixtures import blocks, document_rows, merge_plan

import perfdata
from perfdata.grid import ReadError
from perfdata.ingest import combine, read_bytes
from perfdata.readers import html as html_reader
from perfdata.readers.detect import read_grid, sniff
from perfdata.readers.html import decode, read_html

# provenance differs by construction (lines are running row numbers, form ids hash the file's bytes)
PROVENANCE = {"form_id", "source_file", "location", "line", "line_start", "line_end", "level1_weight_line",
              "total_line", "funding_line"}
CJK = re.compile(r"[\u4e00-\u9fff]")


def to_html(rows: list[list[str]], charset: str = "utf-8", meta: str = "charset") -> str:
    """A page as a government site publishes it: head with script and style, paragraphs (the title in
    a <p> above its table), tables with merged label and level cells (rowspan/colspan), <th> header
    rows, &nbsp; in empty cells, text in <span>/<p> inside cells and long cells broken by <br>."""
    if meta == "charset":
        decl = f'<meta charset="{charset}">'
    else:
        decl = f'<meta http-equiv="Content-Type" content="text/html; charset={charset}">'
    out = ["<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\">", "<html>", "<head>", decl,
           "<title>项目支出绩效自评表_人力资源和社会保障局</title>",
           "<style>td { border: 1px solid; } /* 项目名称 */</style>",
           "<script>var label = '项目名称\t主管部门';</script>", "</head>", "<body>",
           "<!-- 正文开始 项目名称 -->"]
    for kind, a, b in blocks(rows):
        if kind == "para":
            for cells in rows[a:b]:
                out.append(f"<p class=\"MsoNormal\">{escape(cells[0]) if cells else '&nbsp;'}</p>")
            continue
        part = rows[a:b]
        width = max(len(x) for x in part)
        origin = {(r0, c0): (r1 - r0 + 1, c1 - c0 + 1) for r0, c0, r1, c1 in merge_plan(part, width)}
        covered = {(r, c) for (r0, c0), (rs, cs) in origin.items() for r in range(r0, r0 + rs)
                   for c in range(c0, c0 + cs)} - set(origin)
        out.append('<table border="1" cellspacing="0" cellpadding="0">')
        out.append("<tbody>")
        for r, cells in enumerate(part):
            out.append("  <tr>")
            tag = "th" if r == 0 else "td"
            for c in range(width):
                if (r, c) in covered:
                    continue
                attrs = ""
                if (r, c) in origin:
                    rs, cs = origin[(r, c)]
                    attrs += f' rowspan="{rs}"' if rs > 1 else ""
                    attrs += f" colspan={cs}" if cs > 1 else ""  # unquoted, as old editors write it
                out.append(f"    <{tag}{attrs}>{_cell(cells[c] if c < len(cells) else '', r + c)}</{tag}>")
            out.append("  </tr>")
        out.append("</tbody>")
        out.append("</table>")
    out += ["<script>document.write('<p>项目名称</p>');</script>", "</body>", "</html>"]
    return "\n".join(out) + "\n"


def _cell(text: str, k: int) -> str:
    if not text:
        return "&nbsp;"
    if len(text) > 12 and CJK.match(text[5]) and CJK.match(text[6]):  # a line break between two hanzi
        return f"{escape(text[:6])}<br>\n      {escape(text[6:])}"
    if k % 3 == 0:
        return f'<span style="font-family:宋体">{escape(text)}</span>'
    if k % 3 == 1:
        return f'<p align="center">&nbsp;{escape(text)}&nbsp;</p>'
    return escape(text)


@cache
def tables_of_bytes(data: bytes, name: str) -> dict[str, pd.DataFrame]:
    return combine([read_bytes(data, name)])


def content(df: pd.DataFrame) -> pd.DataFrame:
    return df[[c for c in df.columns if c not in PROVENANCE]].reset_index(drop=True)


def assert_same_as_text(got, want):
    for table in ("forms", "funding", "indicators", "leftovers"):
        pd.testing.assert_frame_equal(content(got[table]), content(want[table]), obj=table)


# -- the bundled documents as web pages -------------------------------------------------------------------

@pytest.mark.parametrize("name, forms", [(XINGLONG, 24), (XINXIANG, 11), (GUYUAN, 8)],
                         ids=["xinglong", "xinxiang", "guyuan"])
def test_bundled_documents_as_pages_read_as_the_text(name, forms):
    page = to_html(document_rows(RAW / name)[0]).encode()
    assert "rowspan=" in page.decode() and "colspan=" in page.decode()
    got = tables_of_bytes(page, f"{Path(name).stem}.html")
    want = tables_of_bytes((RAW / name).read_bytes(), name)
    assert len(got["forms"]) == forms
    assert_same_as_text(got, want)
    assert got["files"].format.tolist() == ["html"]
    assert got["files"].status.tolist() == want["files"].status.tolist()
    lines = r"line\(s\) [\d, …]+$"  # where the placeholders are: a page's lines are its rows, not the file's
    assert got["problems"].message.str.replace(lines, "", regex=True).tolist() == \
        want["problems"].message.str.replace(lines, "", regex=True).tolist()
    for table in ("forms", "indicators", "funding"):
        loc = got[table].location
        assert loc.str.fullmatch(r"(table \d+ row \d+|paragraph \d+) \(line \d+\)").all(), loc.head().tolist()
    assert got["forms"].form_id.is_unique


def test_read_a_folder_of_pages(tmp_path):
    (tmp_path / "guyuan.htm").write_bytes(to_html(document_rows(RAW / GUYUAN)[0]).encode())
    t = perfdata.read(tmp_path)
    want = tables_of_bytes((RAW / GUYUAN).read_bytes(), GUYUAN)
    assert_same_as_text(t, want)
    first = t["forms"].iloc[0]
    assert first.source_file == "guyuan.htm"
    assert first.project_name == want["forms"].iloc[0].project_name
    assert re.fullmatch(r"paragraph \d+ \(line \d+\)|table \d+ row \d+ \(line \d+\)", first.location)


@pytest.mark.parametrize("meta", ["charset", "http-equiv"])
def test_gbk_page_with_a_gb2312_declaration(meta):
    text = render()
    page = to_html(document_rows(text)[0], charset="gb2312", meta=meta).encode("gbk")
    with pytest.raises(UnicodeDecodeError):
        page.decode("utf-8")  # really GBK bytes
    got = tables_of_bytes(page, "form.html")
    assert_same_as_text(got, tables_of_bytes(text.encode(), "form.txt"))
    form = got["forms"].iloc[0]
    assert (form.project_name, form.department, form.year) == ("=公益性岗位补贴(测试)", "某某县人力资源和社会保障局",
                                                               2023)
    assert (form.budget_initial, form.budget_full_year, form.executed) == (120, 110.5, 99.45)
    assert got["indicators"].name.tolist() == ["补贴人数", "发放准确率", "发放及时性", "带动就业", "服务对象满意度"]
    assert got["problems"].message.tolist() == ["decoded as gb18030 (declared gb2312)"]
    assert got["problems"].severity.tolist() == ["info"] and got["files"].status.tolist() == ["ok"]


def test_gbk_page_with_characters_outside_gbk_as_entities():
    rows = document_rows(RAW / XINXIANG)[0]
    page = to_html(rows, charset="GBK").encode("gbk", errors="xmlcharrefreplace")
    got = tables_of_bytes(page, "xinxiang.html")
    assert_same_as_text(got, tables_of_bytes((RAW / XINXIANG).read_bytes(), XINXIANG))


# -- merged cells -------------------------------------------------------------------------------------------

def cells_of(page: str) -> list[list[str]]:
    return [r.cells for r in read_html(page.encode()).rows]


def test_merged_cells_keep_their_text_in_the_top_left_cell_only():
    page = """<table>
      <tr><td rowspan="3">绩效指标</td><td rowspan="2">产出指标(50分)</td><td>补贴人数</td><td>20</td></tr>
      <tr><td>发放准确率</td><td>15</td></tr>
      <tr><td>效益指标</td><td>带动就业</td><td>30</td></tr>
      <tr><td colspan="2">项目资金(万元)</td><td>年初预算数</td><td>全年执行数</td></tr>
      <tr><td colspan="2" rowspan="2">年度资金总额</td><td>120</td><td>99.45</td></tr>
      <tr><td>120</td><td>99.45</td></tr>
    </table>"""
    assert cells_of(page) == [["绩效指标", "产出指标(50分)", "补贴人数", "20"],
                              ["", "", "发放准确率", "15"],
                              ["", "效益指标", "带动就业", "30"],
                              ["项目资金(万元)", "", "年初预算数", "全年执行数"],
                              ["年度资金总额", "", "120", "99.45"],
                              ["", "", "120", "99.45"]]  # the merged 年度资金总额 is not repeated


@pytest.mark.parametrize("value, expected", [
    ("0", [["a", "b"], ["", "c"], ["", "d"]]),  # 0: to the end of the table
    ("1000000000", [["a", "b"], ["", "c"], ["", "d"]]),  # cut at the last row
    ("9" * 5000, [["a", "b"], ["", "c"], ["", "d"]]),
    ("1e9", [["a", "b"], ["c"], ["d"]]),  # browsers read the digits before "e": 1
    ("abc", [["a", "b"], ["c"], ["d"]]),
    ("-2", [["a", "b"], ["c"], ["d"]]),
    ("2px", [["a", "b"], ["", "c"], ["d"]]),
    ("", [["a", "b"], ["c"], ["d"]]),
])
def test_malformed_rowspans_are_read_as_browsers_read_them(value, expected):
    page = f'<table><tr><td rowspan="{value}">a</td><td>b</td></tr><tr><td>c</td></tr><tr><td>d</td></tr></table>'
    assert cells_of(page) == expected


def test_huge_colspans_are_cut_at_the_column_limit():
    rows = cells_of('<table><tr><td colspan="1000000000">a</td><td>b</td></tr>'
                    '<tr><td colspan="0">c</td><td colspan="x">d</td></tr></table>')
    assert rows[0][0] == "a" and rows[0][html_reader.MAX_COLUMNS] == "b" and len(rows[0]) == 1001
    assert set(rows[0][1:-1]) == {""}
    assert rows[1] == ["c", "d"]  # colspan 0 and "x" are 1


def test_overlapping_spans_do_not_break_the_table():
    page = ('<table><tr><td rowspan="2">a</td><td colspan="2">b</td><td rowspan="3" colspan="2">x</td></tr>'
            '<tr><td colspan="3">c</td><td>d</td></tr><tr><td>e</td><td rowspan="-1">f</td></tr></table>')
    # c overlaps x (columns 3-4, rows 1-3): d goes to the next free column, as in a browser
    assert cells_of(page) == [["a", "b", "", "x"], ["", "c", "", "", "", "d"], ["e", "f"]]


def test_spans_covering_too_much_are_refused():
    page = "<table>" + "<tr><td colspan=1000 rowspan=1000>x</td><td>y</td></tr>" * 6000 + "</table>"
    with pytest.raises(ReadError, match=r"refused: the tables' row and column spans cover more than 5,000,000"):
        read_html(page.encode())


# -- nested tables, text outside tables --------------------------------------------------------------------

def test_nested_tables():
    page = """<html><body>
<table><tr><td>项目名称</td><td>就业补助<table><tr><td>(一)</td><td>公益性岗位</td></tr></table></td></tr></table>
<table width="980" align="center"><tr><td>首页 &gt; 信息公开</td></tr>
<tr><td>
  <p>2023年度项目支出绩效自评表</p>
  <table border="1"><tr><td>项目名称</td><td>档案管理</td></tr>
  <tr><td>主管部门</td><td>兴隆县人力资源和社会保障局</td></tr></table>
  <p>注：金额单位为万元</p>
</td></tr></table>
</body></html>"""
    g = read_html(page.encode())
    assert [r.cells for r in g.rows] == [
        ["项目名称", "就业补助(一)公益性岗位"],  # a one-row table in a cell is part of the cell's text
        ["首页>信息公开"],
        ["2023年度项目支出绩效自评表"],  # the layout cell's content is read as the page
        ["项目名称", "档案管理"], ["主管部门", "兴隆县人力资源和社会保障局"],
        ["注:金额单位为万元"]]
    assert list(g.locations.values()) == ["table 1 row 1 (line 2)", "table 3 row 1 (line 3)", "paragraph 1 (line 5)",
                                          "table 4 row 1 (line 6)", "table 4 row 2 (line 7)", "paragraph 2 (line 8)"]


def test_text_outside_tables_in_document_order():
    page = """<!doctype html><html><head><title>自评表</title><script>var x = "项目名称";</script></head>
<body><!-- 项目名称 -->
<h1>2023年度项目支出绩效自评表</h1>
<div class="year">(2023年度)</div>
<div>一、基本情况<br>本项目资金<b>120</b>万元。<br/><br/></div>
<table><tr><td>项目名称</td><td>档案<br>管理</td></tr></table>
<pre>总分：99.6 分
等级：优</pre>
<p>&nbsp;</p><style>p {}</style>
尾注<ul><li>第一项</li><li>第二项</li></ul>
</body></html>"""
    g = read_html(page.encode())
    assert [r.cells for r in g.rows] == [["2023年度项目支出绩效自评表"], ["(2023年度)"], ["一、基本情况"],
                                         ["本项目资金120万元。"], ["项目名称", "档案管理"], ["总分:99.6分"],
                                         ["等级:优"], ["尾注"], ["第一项"], ["第二项"]]
    assert [r.line for r in g.rows] == list(range(1, 11))
    assert g.locations[1] == "paragraph 1 (line 3)" and g.locations[5] == "table 1 row 1 (line 6)"
    assert g.locations[6] == "paragraph 5 (line 7)"


def test_text_in_a_table_outside_cells_and_captions():
    page = ("<table><caption>表1 项目支出绩效自评表</caption>单位：万元<tr><td>a</td></tr>"
            "<td>loose</td><td>cells</td></table>")
    g = read_html(page.encode())
    assert [r.cells for r in g.rows] == [["单位:万元"], ["表1项目支出绩效自评表"], ["a"], ["loose", "cells"]]
    assert list(g.locations.values()) == ["paragraph 1 (line 1)", "table 1 caption (line 1)",
                                          "table 1 row 1 (line 1)", "table 1 row 2 (line 1)"]


# -- locations and lines ------------------------------------------------------------------------------------

def test_lines_are_running_numbers_and_locations_carry_the_source_line():
    page = "\n".join(["<html>", "<body>", "<p>标题</p>", "", "<table>", "<tr><td>a</td></tr>", "<tr>",
                      "<td>b</td></tr>", "</table>", "<table><tr><td>c</td></tr></table>", "<p>尾</p>", "</body>"])
    g = read_html(page.encode())
    assert [(r.line, r.end, r.cells) for r in g.rows] == [(1, 1, ["标题"]), (2, 2, ["a"]), (3, 3, ["b"]),
                                                         (4, 4, ["c"]), (5, 5, ["尾"])]
    assert g.locations == {1: "paragraph 1 (line 3)", 2: "table 1 row 1 (line 6)", 3: "table 1 row 2 (line 7)",
                           4: "table 2 row 1 (line 10)", 5: "paragraph 2 (line 11)"}


def test_minified_page_keeps_unique_increasing_lines():
    page = to_html(document_rows(render())[0]).replace("\n", "")
    g = read_html(page.encode())
    lines = [r.line for r in g.rows]
    assert lines == list(range(1, len(lines) + 1)) and len(lines) > 15
    assert all(loc.endswith("(line 1)") for loc in g.locations.values())


def test_source_lines_past_libxml2s_limit_are_left_out():
    page = "<html><body>" + "<br>\n" * 70_000 + "<table><tr><td>a</td></tr></table></body></html>"
    g = read_html(page.encode())
    assert [r.cells for r in g.rows] == [["a"]] and g.locations == {1: "table 1 row 1"}


# -- encodings ------------------------------------------------------------------------------------------------

PAGE = "<html><head>{meta}</head><body><p>项目支出绩效自评表</p><table><tr><td>项目名称</td></tr></table></body></html>"


@pytest.mark.parametrize("data, encoding, note", [
    pytest.param(PAGE.format(meta="").encode(), "utf-8", None, id="utf8"),
    pytest.param(codecs.BOM_UTF8 + PAGE.format(meta='<meta charset="gbk">').encode(), "utf-8-sig", None,
                 id="bom-beats-meta"),
    pytest.param(PAGE.format(meta="").encode("utf-16"), "utf-16", None, id="utf16-bom"),
    pytest.param(PAGE.format(meta="").encode("gbk"), "gb18030", None, id="gbk-undeclared"),
    pytest.param(PAGE.format(meta="<META HTTP-EQUIV='Content-Type' CONTENT='text/html; charset=GB2312'>").encode("gbk"),
                 "gb18030", None, id="http-equiv"),
    pytest.param(b'<?xml version="1.0" encoding="gb18030"?>' + PAGE.format(meta="").encode("gb18030"),
                 "gb18030", None, id="xml-declaration"),
    pytest.param(PAGE.format(meta='<meta charset="gb2312">').encode(), "utf-8",
                 "declared charset gb2312 but the bytes are UTF-8: decoded as utf-8", id="wrong-gb2312-meta"),
    pytest.param(PAGE.format(meta='<meta charset="utf-8">').encode("gbk"), "gb18030",
                 "declared charset utf-8 does not decode the bytes: decoded as gb18030", id="wrong-utf8-meta"),
    pytest.param(PAGE.format(meta='<meta charset="iso-8859-1">').encode("gbk"), "gb18030",
                 "declared charset iso-8859-1 but the bytes are Chinese: decoded as gb18030", id="latin1-meta"),
    pytest.param(PAGE.format(meta='<meta charset="utf-16">').encode(), "utf-8", None, id="utf16-meta-no-nuls"),
    pytest.param(PAGE.format(meta='<meta charset="klingon">').encode(), "utf-8",
                 "unknown charset 'klingon' declared: ignored", id="unknown-charset"),
])
def test_encodings(data, encoding, note):
    text, used, notes = decode(data)
    assert used == encoding
    assert "项目支出绩效自评表" in text
    assert [n[1] for n in notes] == ([note] if note else [])
    g = read_html(data)
    assert [r.cells for r in g.rows] == [["项目支出绩效自评表"], ["项目名称"]]
    assert g.encoding == encoding


def test_undecodable_bytes_are_replaced_with_a_warning():
    data = PAGE.format(meta="").encode("gbk") + b"\n<p>\x81\x30\xff\xff</p>"
    g = read_html(data)
    severity, message, line = g.problems[0]
    assert severity == "warning" and line == 2
    assert message.startswith("undecodable bytes (neither utf-8 nor gb18030) replaced by U+FFFD")
    assert g.rows[0].cells == ["项目支出绩效自评表"]


# -- format by bytes ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("data", [
    b"<!DOCTYPE html>\n<html><body></body></html>",
    b"<!doctype HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\"><html>",
    codecs.BOM_UTF8 + b"\r\n  \t<HTML lang=zh>",
    b"<!-- saved from url=(0057)http://www.example.gov.cn/xxgk/2023.html -->\n<html>",
    b'<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN">',
    b"<table border=1><tr><td>x</td></tr></table>",
    b'<meta http-equiv="Content-Type" content="text/html; charset=gb2312"><table>',
    "<div class=\"content\"><p>2023年度项目支出绩效自评表</p><table>".encode(),
    "<html><body>项目</body></html>".encode("utf-16"),
    "<div><b>项目</b><table>".encode("utf-16"),
])
def test_sniff_html(data):
    assert sniff(data) == "html"


@pytest.mark.parametrize("name", [XINGLONG, XINXIANG, GUYUAN, XIANGHE])
def test_bundled_text_documents_stay_text(name):
    data = (RAW / name).read_bytes()
    assert sniff(data) == "text"
    assert read_grid(data, name)[0].mode != "cells"


def test_text_that_mentions_tags_stays_text():
    assert b"<p>" in (RAW / XINXIANG).read_bytes()
    for data in ("项目名称\t<p>目标 1</p> <p>目标 2</p>".encode(), b"<p>only a note</p>\nline two",
                 "说明：<table> 标签\n".encode(), "<br>".encode("gbk")):
        assert sniff(data) == "text", data


def test_sniff_is_quick_on_pathological_starts():
    import time

    start = time.perf_counter()
    for data in (b"<!---->" * 10_000 + b"<html>", b"<!--" + b"x" * 100_000, b"<?" * 50_000, b"<meta" * 10_000):
        assert sniff(data) == "text"
    assert html_reader.declared(b"<meta" * 4000) is None
    assert time.perf_counter() - start < 1


def test_read_grid_dispatches_pages_by_their_bytes():
    page = PAGE.format(meta="").encode()
    grid, found = read_grid(page, "form.html")
    assert grid.format == "html" and found == []
    grid, found = read_grid(page, "form.xls")  # sites serve Excel's "web page" export as .xls
    assert grid.format == "html" and found == [("info", "named .xls but holds a html file: read as html", None)]
    grid, found = read_grid(page, "form")
    assert grid.format == "html" and found == []
    # a fragment with a text line above its table is text whatever its name, as the checks re-read it
    fragment = "项目支出绩效自评表\n<table><tr><td>项目名称</td></tr></table>".encode()
    assert sniff(fragment) == "text" and not hasattr(read_grid(fragment, "page.htm")[0], "format")


# -- bad pages --------------------------------------------------------------------------------------------------

def test_malformed_markup_is_read_as_browsers_repair_it():
    page = ("<html><body><p>标题</td></tr><table><tr><td>项目名称<td>档案管理</tr>"
            "<tr><td>主管部门</td></td><td>兴隆县人力资源和社会保障局<tr><td>尾</table></div></span><p>后记")
    g = read_html(page.encode())
    assert [r.cells for r in g.rows] == [["标题"], ["项目名称", "档案管理"], ["主管部门", "兴隆县人力资源和社会保障局"],
                                         ["尾"], ["后记"]]
    assert g.problems == []


def test_page_without_tables():
    g = read_html("<html><body><h2>2023年部门预算信息公开情况说明</h2><p>一、部门职责</p></body></html>".encode())
    assert [r.cells for r in g.rows] == [["2023年部门预算信息公开情况说明"], ["一、部门职责"]]
    assert g.problems == [("info", "the page has no <table>: its text is read as paragraphs", None)]
    t = tables_of_bytes("<html><body><p>你好</p></body></html>".encode(), "empty.html")
    assert t["problems"].message.tolist()[-1].startswith("no known table found")
    assert t["files"].status.tolist() == ["failed"]


@pytest.mark.parametrize("data, message", [
    (b"", "empty file"),
    (b" \n\t ", "file holds only whitespace"),
    (b"<html><body>" + bytes(range(256)) * 4, "binary file (NUL bytes): not an HTML page"),
    (b"<html>" + bytes(range(1, 32)) * 100, "binary file: not an HTML page"),
    (b"<table>" + b"<td>" * 200_001, "refused: 200,001 table cells (<td>/<th>), more than 200,000"),
    (b"<table>" + b"<tr>" * 300_001, "refused: 300,001 table rows (<tr>), more than 300,000"),
])
def test_bad_pages_raise_a_clear_read_error(data, message):
    with pytest.raises(ReadError) as e:
        read_html(data)
    assert str(e.value).startswith(message)


def test_oversized_page_is_refused_up_front(monkeypatch):
    monkeypatch.setattr(html_reader, "MAX_BYTES", 1000)
    with pytest.raises(ReadError, match=r"refused: .* MiB is more than an HTML page of forms holds"):
        read_html(b"<html>" + b" " * 1001)


@pytest.mark.parametrize("data, name, message", [
    (b"<html>\x00\x01\x02\xff\xfe" * 50, "page.html", "binary file (NUL bytes): not an HTML page"),
    (bytes(range(256)) * 8, "page.html", "binary file (NUL bytes): not a text export"),  # does not look like HTML
    (b"<html><body><table>" + b"<td>" * 200_001, "big.htm", "refused: 200,001 table cells"),
])
def test_bad_pages_through_the_ingest(data, name, message):
    t = combine([read_bytes(data, name)])
    (msg,) = t["problems"].message.tolist()
    assert msg.startswith(message), msg
    assert t["files"].status.tolist() == ["failed"]


def test_deep_nesting_is_read_up_to_the_parsers_limit_with_a_warning():
    page = "<html><body><p>前言</p>\n" + "<div>" * 5000 + "深" + "</div>" * 5000 + "<p>后记</p>"
    g = read_html(page.encode())
    assert [r.cells for r in g.rows] == [["前言"]]
    severity, message, _, where = g.problems[0]
    assert severity == "warning" and message.startswith("the page is read up to its source line 2 only")
    assert where == "source line 2"
    assert g.problems[1:] == [("info", "the page has no <table>: its text is read as paragraphs", None)]
    nested = read_html(("<table><tr><td>x</td></tr><tr><td>" * 500 + "深").encode())
    assert nested.rows[0].cells == ["x"] and len(nested.rows) == 85  # libxml2 keeps 85 levels of tables
    assert nested.problems[0][0] == "warning"
    t = combine([read_bytes(page.encode(), "deep.html")])
    assert "the page is read up to its source line 2 only" in t["problems"].message.tolist()[0]
