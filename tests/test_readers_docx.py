"""Word reader: paragraphs and tables in order, merged cells, a form split over two tables, bad files."""

from __future__ import annotations

import io

import docx
import pandas as pd
import pytest
from factory import SPEC, render
from make_fixtures import document_rows, to_docx

from perfdata.ingest import combine, read_bytes
from perfdata.readers.docx import read_docx

PROVENANCE = ["form_id", "source_file", "location", "line", "line_start", "line_end", "level1_weight_line",
              "total_line", "funding_line"]


def doc_bytes(d) -> bytes:
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def tables(data: bytes, name: str = "form.docx"):
    return combine([read_bytes(data, name)])


def content(df):
    return df.drop(columns=[c for c in PROVENANCE if c in df.columns]).reset_index(drop=True)


def test_merged_cells_keep_their_text_in_the_first_cell():
    d = docx.Document()
    d.add_paragraph("某某项目支出绩效自评表")
    t = d.add_table(rows=3, cols=4)
    t.cell(0, 0).text, t.cell(0, 1).text = "项目名称", "公益性岗位补贴"
    t.cell(0, 1).merge(t.cell(0, 3))
    t.cell(1, 0).text, t.cell(1, 1).text, t.cell(1, 2).text = "产出指标", "数量指标", "补贴人数"
    t.cell(2, 2).text = "发放准确率"
    t.cell(1, 0).merge(t.cell(2, 0))
    t.cell(1, 1).merge(t.cell(2, 1))
    grid = read_docx(doc_bytes(d))
    assert [r.cells for r in grid.rows] == [["某某项目支出绩效自评表"], ["项目名称", "公益性岗位补贴"],
                                            ["产出指标", "数量指标", "补贴人数"], ["", "", "发放准确率"]]
    assert grid.locations == {1: "paragraph 1", 2: "table 1 row 1", 3: "table 1 row 2", 4: "table 1 row 3"}


def test_cell_paragraphs_and_line_breaks_join():
    d = docx.Document()
    t = d.add_table(rows=1, cols=2)
    t.cell(0, 0).text = "年度总体目标"
    cell = t.cell(0, 1)
    cell.paragraphs[0].add_run("保障公益性岗位")
    cell.add_paragraph("补贴按时发放")
    run = cell.add_paragraph().add_run("完成 ")
    run.add_break()
    run.add_text("95 %")
    assert read_docx(doc_bytes(d)).rows[0].cells == ["年度总体目标", "保障公益性岗位补贴按时发放完成95%"]


@pytest.mark.parametrize("split_at", ["项目资金", "绩效指标", "效益指标"])
def test_form_split_over_two_tables_reads_as_one(split_at):
    text = render()
    rows, _ = document_rows(text)
    k = next(i for i, r in enumerate(rows) if any(c.startswith(split_at) for c in r))
    d_rows = rows[:k] + [[]] + rows[k:]  # an empty paragraph between the two parts
    buf = io.BytesIO()
    to_docx(d_rows, buf)
    got = tables(buf.getvalue())
    want = tables(text.encode(), "form.txt")
    assert got["problems"].empty, got["problems"].message.tolist()
    for t in ("forms", "funding", "indicators"):
        pd.testing.assert_frame_equal(content(got[t]), content(want[t]))
    assert got["indicators"].level1.tolist() == [i[0] for i in SPEC["indicators"]]
    assert got["indicators"].location.str.match(r"table \d row \d+").all()
    assert got["indicators"].location.str[:7].nunique() == (2 if split_at == "效益指标" else 1)


def test_reordered_columns_and_gbk_free_text():
    order = ("level1", "level2", "name", "weight", "target", "actual", "score", "note")
    text = render(indicator_order=order)
    rows, _ = document_rows(text)
    buf = io.BytesIO()
    to_docx(rows, buf)
    ind = tables(buf.getvalue())["indicators"]
    assert ind.weight.tolist() == [20.0, 15.0, 15.0, 30.0, 10.0]
    assert ind.actual_raw.tolist() == ["320", "97", "及时", "有效带动", "95%"]


def test_bad_word_files():
    good = doc_bytes(docx.Document())
    for bad, start in ((good[:2000], "corrupt or truncated file"),
                       (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "corrupt or truncated Office file")):
        t = tables(bad, "bad.docx")
        (msg,) = t["problems"].message.tolist()
        assert msg.startswith(start), msg
        assert t["files"].status.tolist() == ["failed"]


def test_zip_that_is_not_a_document():
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("readme.txt", "hello")
    (msg,) = tables(buf.getvalue(), "x.docx")["problems"].message.tolist()
    assert msg == "a zip archive that is neither a workbook nor a Word document"


def test_cells_and_tables_inside_content_controls():
    from docx.oxml import OxmlElement

    d = docx.Document()
    t = d.add_table(rows=1, cols=3)
    for c, text in enumerate(["分值", "10", "得分"]):
        t.cell(0, c).text = text
    tr = t._tbl.tr_lst[0]
    tc = tr.tc_lst[1]
    sdt, content = OxmlElement("w:sdt"), OxmlElement("w:sdtContent")  # a form field wrapping one cell
    tc.addprevious(sdt)
    sdt.append(content)
    content.append(tc)
    body_sdt, body_content = OxmlElement("w:sdt"), OxmlElement("w:sdtContent")  # and one wrapping the table
    t._tbl.addprevious(body_sdt)
    body_sdt.append(body_content)
    body_content.append(t._tbl)
    grid = read_docx(doc_bytes(d))
    assert [r.cells for r in grid.rows] == [["分值", "10", "得分"]]
    assert grid.locations == {1: "table 1 row 1"}
