"""Spreadsheet reader: values as printed, merged cells, hidden rows, both engines, bad workbooks."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from factory import SPEC, render
from make_fixtures import document_rows, to_xlsx
from openpyxl import Workbook, load_workbook

from perfdata.ingest import combine, ingest, read_bytes
from perfdata.readers.detect import read_grid
from perfdata.readers.xlsx import cell_text, read_xlsx

CONTENT = ["level1", "level1_weight", "level2", "name", "target_raw", "actual_raw", "weight", "score",
           "deviation_note"]


def xlsx_bytes(wb: Workbook) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def form_workbook(text: str, **kw) -> bytes:
    rows, starts = document_rows(text)
    buf = io.BytesIO()
    to_xlsx(rows, starts, buf, **kw)
    return buf.getvalue()


def tables(data: bytes, name: str = "book.xlsx"):
    return combine([read_bytes(data, name)])


def problems(t) -> list[tuple[str, str]]:
    return list(zip(t["problems"].severity, t["problems"].message, strict=True))


@pytest.mark.parametrize("value,fmt,text", [
    (0.933, "0.0%", "93.3%"), (1, "0%", "100%"), (0.8512, "0.00%", "85.12%"), (139.04, "General", "139.04"),
    (10.0, "General", "10"), ("98.50", "@", "98.50"), ("≥95%", "General", "≥95%"), (7.14, "0.00", "7.14"),
])
def test_numbers_read_as_printed(value, fmt, text):
    wb = Workbook()
    ws = wb.active
    ws["B2"] = value
    ws["B2"].number_format = fmt
    grid = read_xlsx(xlsx_bytes(wb))
    assert grid.rows[1].cells == ["", text]
    assert grid.locations[2] == "Sheet!2"


def test_cell_text_other_types():
    import datetime as dt

    assert cell_text(dt.datetime(2024, 12, 31)) == "2024-12-31"
    assert cell_text(True) == "TRUE"
    assert cell_text(None) == "" and cell_text(" 全年预 算数 ") == "全年预算数"


def test_synthetic_form_same_as_text():
    text = render()
    want = tables(text.encode(), "form.txt")
    got = tables(form_workbook(text))
    for t in ("forms", "funding", "indicators"):
        cols = [c for c in want[t].columns if c not in ("form_id", "source_file", "location", "line", "line_start",
                                                          "line_end", "level1_weight_line", "total_line",
                                                          "funding_line")]
        pd.testing.assert_frame_equal(got[t][cols], want[t][cols])
    assert got["forms"].exec_rate_reported.tolist() == [90.0]  # "90%" stored as 0.9 with a % format


@pytest.mark.parametrize("order", [
    ("level1", "level2", "name", "target", "actual", "weight", "score", "note"),
    ("level1", "level2", "name", "weight", "target", "actual", "score", "note"),
    ("level1", "level2", "name", "nature", "target", "measure_unit", "actual", "weight", "score", "note"),
])
def test_reordered_columns_and_merged_levels(order):
    text = render(indicator_order=order, merged_levels=True)
    ind = tables(form_workbook(text))["indicators"]
    assert ind.level1.tolist() == [i[0] for i in SPEC["indicators"]]  # a merged 一级指标 belongs to each row
    assert ind.level2.tolist() == [i[2] for i in SPEC["indicators"]]
    assert ind.weight.tolist() == [20.0, 15.0, 15.0, 30.0, 10.0]
    # 度量单位 printed apart: the target is the figure with its unit, as a copy of the same form reads it
    assert ind.target_raw.tolist()[:2] == (["≥300人", "≥98%"] if "measure_unit" in order else ["≥300", "≥98"])


def test_merged_ranges_keep_the_top_left_value_only():
    wb = Workbook()
    ws = wb.active
    ws["A1"], ws["B2"], ws["C2"] = "绩效指标", "产出指标(50分)", "指标1"
    ws["C3"] = "指标2"
    ws.merge_cells("A1:A3")
    ws.merge_cells("B2:B3")
    ws["A5"] = "项目名称"
    ws["B5"] = "就业补助"
    ws.merge_cells("B5:E5")
    ws["A5"].number_format = "0%"
    grid = read_xlsx(xlsx_bytes(wb))
    assert [r.cells for r in grid.rows] == [["绩效指标"], ["", "产出指标(50分)", "指标1"], ["", "", "指标2"], [],
                                            ["项目名称", "就业补助"]]


def test_several_sheets_run_on_with_sheet_locations():
    wb = Workbook()
    wb.active.title = "封面"
    wb.active["A1"] = "2024年度项目支出绩效自评"
    ws = wb.create_sheet("表2")
    ws["C4"] = 5
    grid = read_xlsx(xlsx_bytes(wb))
    assert [r.line for r in grid.rows] == [1, 2, 3, 4, 5]
    assert grid.locations[1] == "封面!1" and grid.locations[5] == "表2!4"
    assert grid.rows[-1].cells == ["", "", "5"]


def test_calamine_engine_without_percent_styles_gives_the_same_grid():
    text = render()
    rows, starts = document_rows(text)
    rows = [[c.replace("%", " %") if c.endswith("%") else c for c in r] for r in rows]  # kept as text: no % style
    buf = io.BytesIO()
    to_xlsx(rows, starts, buf)
    grid = read_xlsx(buf.getvalue())
    assert "engine: calamine" in grid.notes
    wb = load_workbook(io.BytesIO(buf.getvalue()))
    for ws in wb.worksheets:  # calamine starts at the first used cell: positions must still be A=0
        assert ws.min_column == 1
    ind = tables(buf.getvalue())["indicators"]
    assert ind.weight.tolist() == [20.0, 15.0, 15.0, 30.0, 10.0]


def test_calamine_keeps_columns_when_the_sheet_starts_late():
    wb = Workbook()
    ws = wb.active
    ws["C3"], ws["D3"], ws["E4"] = "项目名称", "补贴", 12.5
    grid = read_xlsx(xlsx_bytes(wb))
    assert "engine: calamine" in grid.notes
    assert [r.cells for r in grid.rows] == [[], [], ["", "", "项目名称", "补贴"], ["", "", "", "", "12.5"]]
    assert grid.locations[3] == "Sheet!3"


def test_hidden_rows_are_read_and_reported():
    text = render()
    data = form_workbook(text)
    wb = load_workbook(io.BytesIO(data))
    wb.worksheets[0].row_dimensions[12].hidden = True
    data = xlsx_bytes(wb)
    t = tables(data)
    assert len(t["indicators"]) == 5
    assert any(s == "info" and "hidden rows" in m and "12" in m for s, m in problems(t))


# -- bad input: one clear problem each, the batch goes on -------------------------------------------------

def test_password_protected_workbook():
    from msoffcrypto.format.ooxml import OOXMLFile

    plain = form_workbook(render())
    out = io.BytesIO()
    OOXMLFile(io.BytesIO(plain)).encrypt("secret", out)
    t = tables(out.getvalue())
    assert problems(t) == [("error", "password-protected (encrypted) Office file: cannot be read without "
                                     "the password")]
    assert t["files"].status.tolist() == ["failed"]


def test_truncated_and_corrupt_workbooks():
    data = form_workbook(render())
    for bad in (data[: len(data) // 2], b"PK\x03\x04" + bytes(range(256)) * 20):
        t = tables(bad)
        (sev, msg), = problems(t)
        assert sev == "error" and msg.startswith("corrupt or truncated file"), msg
    # a zip directory intact but a member damaged
    broken = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        info = z.getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename) + 10
    broken[start:start + 40] = bytes(40)
    (sev, msg), = problems(tables(bytes(broken)))
    assert sev == "error" and ("corrupt" in msg or "checksum" in msg), msg


def test_zip_bomb_refused_before_inflating():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        with z.open("xl/worksheets/sheet1.xml", "w") as f:
            chunk = bytes(2**20)
            for _ in range(64):
                f.write(chunk)
    t0 = time.perf_counter()
    (sev, msg), = problems(tables(buf.getvalue()))
    assert sev == "error" and "zip bomb" in msg
    assert time.perf_counter() - t0 < 2


def test_csv_named_xlsx_read_as_text():
    data = render(sep=",").encode("gb18030")
    t = tables(data, "自评表.xlsx")
    assert ("warning", "named .xlsx but the bytes are plain text (e.g. a CSV renamed): read as text") in problems(t)
    assert t["files"].format.tolist() == ["text"]


def test_large_sheet_bounded_time():
    from openpyxl import Workbook as WB

    wb = WB(write_only=True)
    ws = wb.create_sheet("data")
    for i in range(100_000):
        ws.append([i, f"项目{i}", i * 0.5])
    buf = io.BytesIO()
    wb.save(buf)
    t0 = time.perf_counter()
    grid, _ = read_grid(buf.getvalue(), "big.xlsx")
    took = time.perf_counter() - t0
    assert len(grid.rows) == 100_000 and grid.rows[-1].cells == ["99999", "项目99999", "49999.5"]
    assert took < 20, took
    t = tables(buf.getvalue(), "big.xlsx")
    assert [s for s, _ in problems(t)] == ["error"]  # no known table: one clear row


def test_batch_goes_on(tmp_path: Path):
    (tmp_path / "good.xlsx").write_bytes(form_workbook(render()))
    (tmp_path / "truncated.xlsx").write_bytes(form_workbook(render())[:3000])
    (tmp_path / "empty.xlsx").write_bytes(b"")
    (tmp_path / "random.xlsx").write_bytes(bytes(range(256)) * 10)
    t = ingest(tmp_path, jobs=1, progress=False)
    assert t["forms"].source_file.tolist() == ["good.xlsx"]
    status = dict(zip(t["files"].source_file, t["files"].status, strict=True))
    assert status == {"good.xlsx": "ok", "truncated.xlsx": "failed", "empty.xlsx": "failed", "random.xlsx": "failed"}
    assert t["problems"].groupby("source_file").size().to_dict() == {"empty.xlsx": 1, "random.xlsx": 1,
                                                                     "truncated.xlsx": 1}
    msg = dict(zip(t["problems"].source_file, t["problems"].message, strict=True))
    assert msg["empty.xlsx"] == "empty file"
    assert msg["random.xlsx"].startswith("corrupt file: named .xlsx but its bytes are neither that format nor text")
    assert msg["truncated.xlsx"].startswith("corrupt or truncated file")


def test_legacy_xls_keeps_percentages_and_reports_hidden_rows():
    import xlwt

    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("表1")
    ws.write_merge(0, 0, 0, 1, "执行率")
    ws.write(0, 2, 0.933, xlwt.easyxf(num_format_str="0.0%"))
    ws.write(1, 1, 139.04)
    ws.write(2, 0, "98.50")
    ws.row(1).hidden = True
    buf = io.BytesIO()
    wb.save(buf)
    grid, found = read_grid(buf.getvalue(), "old.xls")
    assert [r.cells for r in grid.rows] == [["执行率", "", "93.3%"], ["", "139.04"], ["98.50"]]
    assert grid.format == "xls" and grid.locations[2] == "表1!2"
    assert found == [("info", "hidden rows read like the others (表1: rows 2)", None)]


def test_cells_without_references_fall_back_to_openpyxl():
    wb = Workbook()
    ws = wb.active
    ws["A1"], ws["B1"] = "执行率", 0.933
    ws["B1"].number_format = "0.0%"
    ws["A2"], ws["B2"] = "分值", 10
    src = xlsx_bytes(wb)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(src)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            body = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                import re

                body = re.sub(rb'(<c) r="[A-Z]+\d+"', rb"\1", body)  # some generators write cells in order only
            zout.writestr(item, body)
    grid = read_xlsx(out.getvalue())
    assert "engine: openpyxl" in grid.notes
    assert [r.cells for r in grid.rows] == [["执行率", "93.3%"], ["分值", "10"]]


@pytest.mark.parametrize("value,fmt,text", [
    (0.994536741214058, "0.00%", "99.45%"), (622.5799999999, "0.00", "622.58"), (7, "0.0", "7.0"),
    (1234.5, "#,##0.00_ ", "1234.50"), (0.5, '0.0"分"', "0.5"), (45657, "yyyy-mm-dd", "2024-12-31"),
])
@pytest.mark.parametrize("engine", ["xlsx", "xls"])
def test_formulas_print_with_their_format_decimals(value, fmt, text, engine):
    if engine == "xlsx":
        wb = Workbook()
        wb.active["A1"] = value
        wb.active["A1"].number_format = fmt
        data = xlsx_bytes(wb)
    else:
        import xlwt

        book = xlwt.Workbook()
        book.add_sheet("s").write(0, 0, value, xlwt.easyxf(num_format_str=fmt))
        buf = io.BytesIO()
        book.save(buf)
        data = buf.getvalue()
    grid, _ = read_grid(data, f"f.{engine}")
    assert grid.rows[0].cells == [text]


def test_rows_beyond_the_limit_are_reported_not_read(monkeypatch):
    import perfdata.readers.xlsx as reader

    monkeypatch.setattr(reader, "MAX_ROWS", 5)
    wb = Workbook()
    for i in range(1, 9):
        wb.active.cell(i, 1, f"第{i}行")
    grid = read_xlsx(xlsx_bytes(wb))
    assert [r.cells for r in grid.rows] == [[f"第{i}行"] for i in range(1, 6)]
    assert grid.problems == [("warning", "more than 5 rows: read the first 5 only (stopped in sheet Sheet at row 6)",
                              5)]


def test_formulas_saved_without_values_are_reported():
    wb = Workbook()
    ws = wb.active
    ws["A1"], ws["B1"], ws["C1"] = 626, 622.58, "=B1/A1"  # written by a program: no cached value
    ws["C1"].number_format = "0.00%"
    grid, found = read_grid(xlsx_bytes(wb), "made.xlsx")
    assert grid.rows[0].cells == ["626", "622.58"]
    assert found == [("warning", "1 formula cell(s) saved without a computed value, read as blank (e.g. Sheet!C1): "
                      "the workbook was saved without calculating; open and save it in Excel or WPS", None)]
    out = io.BytesIO()  # the same file after Excel computed it: the cached value prints with its format
    with zipfile.ZipFile(io.BytesIO(xlsx_bytes(wb))) as zin, zipfile.ZipFile(out, "w") as zout:
        for item in zin.infolist():
            body = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                body = body.replace(b"<f>B1/A1</f><v></v>", b"<f>B1/A1</f><v>0.99453674121405748</v>")
                assert b"0.9945" in body
            zout.writestr(item, body)
    grid, found = read_grid(out.getvalue(), "saved.xlsx")
    assert grid.rows[0].cells == ["626", "622.58", "99.45%"] and found == []
