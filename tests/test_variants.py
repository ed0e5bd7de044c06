"""Variants the tests make: other column orders and spellings, separators, encodings, blank lines,
missing cells and forms cut short. Each must read the same as the original where it can."""

from pathlib import Path

import pandas as pd
import pytest
from conftest import GUYUAN, RAW, XINGLONG, XINXIANG
from factory import SPEC, render

from perfdata.ingest import read_bytes

VALUE_COLS = ["level1", "level2", "name", "target_raw", "actual_raw", "weight", "score", "deviation_note"]


def tables_of(text: str | bytes, name="variant.txt"):
    data = text.encode("utf-8") if isinstance(text, str) else text
    res = read_bytes(data, name)
    from perfdata.ingest import combine

    return combine([res])


def indicator_values(tables):
    return tables["indicators"][VALUE_COLS].astype(object).where(
        tables["indicators"][VALUE_COLS].notna(), None).values.tolist()


def expected_indicators(spec=SPEC, units=False):
    """The indicators of `spec`; `units`: a form printing 度量单位 apart means its figure with the unit
    ('≥300' | '人' is the target ≥300人), whichever reader takes it."""
    out = []
    for l1, _, l2, name, target, actual, w, s, note, _, unit in spec["indicators"]:
        if units and target[-1:].isdigit():
            target += unit
        out.append([l1, l2, name, target, actual, float(w), float(s), note or None])
    return out


@pytest.mark.parametrize(
    "order",
    [
        pytest.param(("level1", "level2", "name", "target", "actual", "weight", "score", "note"), id="standard"),
        pytest.param(("level1", "level2", "name", "weight", "target", "actual", "score", "note"), id="weight-first"),
        pytest.param(("level1", "level2", "name", "nature", "target", "measure_unit", "actual", "weight",
                      "score", "note"), id="nature-and-unit-columns"),
        pytest.param(("level1", "level2", "name", "actual", "target", "score", "weight", "note"),
                     id="actual-before-target"),
    ],
)
@pytest.mark.parametrize("sep", ["\t", "|", "cell-per-line"])
def test_other_column_orders_and_separators(order, sep):
    t = tables_of(render(indicator_order=order, sep=sep))
    f = t["forms"]
    assert len(f) == 1
    form = f.iloc[0]
    assert (form.project_name, form.department, form.unit, form.year) == (
        "=公益性岗位补贴(测试)", "某某县人力资源和社会保障局", "某某县就业服务中心", 2023)
    assert (form.budget_initial, form.budget_full_year, form.executed) == (120, 110.5, 99.45)
    assert (form.exec_weight, form.exec_rate_reported, form.exec_score_reported) == (10, 90, 9)
    assert (form.total_weight_reported, form.total_score_reported) == (100, 96.8)
    assert indicator_values(t) == expected_indicators(units="measure_unit" in order)
    ind = t["indicators"]
    assert ind.level1_weight.tolist() == [50, 50, 50, 30, 10]
    if "nature" in order:
        assert ind.nature.tolist() == ["正向", "正向", "定性", "定性", "正向"]
        assert ind.measure_unit.tolist()[:2] == ["人", "%"]
    assert len(t["leftovers"]) == 0


def test_funding_without_full_year_column():
    t = tables_of(render(funding_order=("budget_initial", "executed", "exec_weight", "exec_rate", "exec_score")))
    form = t["forms"].iloc[0]
    assert pd.isna(form.budget_full_year) and (form.budget_initial, form.executed) == (120, 99.45)


def _bundled(name: str) -> bytes:
    return (RAW / name).read_bytes()


def _comparable(tables):
    f = tables["forms"].drop(columns=["form_id", "line_start", "line_end", "total_line", "funding_line",
                                      "source_file"])
    i = tables["indicators"][VALUE_COLS + ["level1_weight", "indicator_no"]]
    return f.reset_index(drop=True), i.reset_index(drop=True)


@pytest.mark.parametrize("name", [XINGLONG, XINXIANG, GUYUAN])
def test_gbk_and_utf16_read_the_same(name):
    text = _bundled(name).decode("utf-8")
    base = _comparable(tables_of(text, name))
    for enc in ("gb18030", "utf-16"):
        other = tables_of(text.encode(enc), name)
        for a, b in zip(base, _comparable(other), strict=True):
            pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize("name", [XINGLONG, XINXIANG, GUYUAN])
def test_extra_blank_lines_and_crlf_read_the_same(name):
    text = _bundled(name).decode("utf-8")
    spaced = "\r\n\r\n".join(text.split("\n"))
    base, other = _comparable(tables_of(text, name)), _comparable(tables_of(spaced, name))
    for a, b in zip(base, other, strict=True):
        pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize("name", [XINGLONG, XINXIANG])
def test_pipe_separated_reads_the_same(name):
    text = _bundled(name).decode("utf-8")
    piped = "\n".join("| " + " | ".join(ln.split("\t")) + " |" if "\t" in ln else ln for ln in text.split("\n"))
    base, other = _comparable(tables_of(text, name)), _comparable(tables_of(piped, name))
    for a, b in zip(base, other, strict=True):
        pd.testing.assert_frame_equal(a, b)


def test_reordered_columns_in_a_real_form():
    """Move 分值 before 年度指标值 in a bundled 新乡县 form, header and rows alike."""
    lines = _bundled(XINXIANG).decode("utf-8").split("\n")[445:466]  # 劳动监察执法服装
    out = []
    for ln in lines:
        cells = ln.split("\t")
        k = next((i for i, c in enumerate(cells) if c.startswith("指标") or c == "三级指标"), None)
        if k is not None and len(cells) >= k + 5:
            cells = cells[: k + 1] + [cells[k + 3]] + cells[k + 1 : k + 3] + cells[k + 4 :]
        out.append("\t".join(cells))
    t = tables_of("\n".join(out))
    ind = t["indicators"]
    assert t["forms"].iloc[0].layout == "weight|target|actual|score|note"
    assert ind[["name", "target_raw", "actual_raw", "weight", "score"]].iloc[0].tolist() == [
        "购置执法服装", "10套", "10套", 15.0, 15.0]
    assert ind.weight.sum() == 90  # 15+15+10+10+30+10: the rows whose level cell slid stay readable


def test_missing_cells():
    lines = _bundled(XINXIANG).decode("utf-8").split("\n")
    # blank the weight of 办理案件数 (line 438) and the executed figure of its total row (line 431)
    lines[437] = lines[437].replace("\t15\t15\t", "\t\t15\t")
    lines[430] = lines[430].replace("\t4.49\t", "\t\t")
    t = tables_of("\n".join(lines))
    f = t["forms"]
    form = f[f.project_name == "劳动保障监察日常办公经费"].iloc[0]
    assert pd.isna(form.executed) and (form.budget_initial, form.exec_rate_reported) == (4.54, 99)
    ind = t["indicators"]
    row = ind[ind.line == 438].iloc[0]
    assert pd.isna(row.weight) and row.score == 15 and row.target_raw == "509件"
    assert len(f) == 11


def test_form_cut_short_is_reported_with_what_was_read():
    lines = _bundled(GUYUAN).decode("utf-8").split("\n")
    cut = "\n".join(lines[:120])  # inside the third form's indicator table
    t = tables_of(cut, "cut.txt")
    f = t["forms"]
    assert len(f) == 3 and f.complete.tolist() == [True, True, False]
    assert (t["indicators"].form_id == f.form_id.iloc[2]).sum() == 5
    p = t["problems"]
    msg = p[p.severity == "warning"].message.tolist()
    assert any("社会保险网络专线维护费" in m and "cut short" in m for m in msg)
    assert t["files"].status.tolist() == ["partial"]


PROSE = ["本项目资金全部用于就业补助，按时足额发放到位，群众满意度较高。", "资金执行率99.45%，较好完成了年度目标。"]


@pytest.mark.parametrize("sep", ["\t", "|"])
def test_narrative_under_a_form_cut_short_is_not_read_into_a_cell(sep):
    """The prose of a report right under a truncated form (no 总分 row) has no cell separators: its lines are
    leftovers with their line numbers, never glued to the last indicator as the rest of its cell."""
    lines = _bundled(XINGLONG).decode("utf-8").split("\n")
    form = lines[313:331]  # 冀财社[2024]48号中央就业补助 up to its 资金发放准时率 row
    if sep == "|":
        form = ["| " + " | ".join(ln.split("\t")) + " |" if "\t" in ln else ln for ln in form]
    t = tables_of("\n".join([*form, "", *PROSE]) + "\n", "cut.txt")
    last = t["indicators"].iloc[-1]
    assert (last["name"], last.line, last.line_end) == ("资金发放准时率", 18, 18)
    assert t["leftovers"][["line", "text"]].values.tolist() == [[20, PROSE[0]], [21, PROSE[1]]]
    assert t["leftovers"].reason.str.startswith("text without cells").all()
    msg = t["problems"].message.tolist()
    assert any("cut short: the file ends" in m for m in msg) and any("2 line(s)" in m for m in msg)


def test_form_cut_short_by_a_heading_says_so():
    lines = _bundled(XINGLONG).decode("utf-8").split("\n")
    t = tables_of("\n".join([*lines[313:331], "", "二、项目绩效目标完成情况分析", "", *PROSE]) + "\n", "cut.txt")
    assert t["leftovers"].empty and t["indicators"].iloc[-1]["name"] == "资金发放准时率"
    assert any("cut short: a heading (一、…) starts before its 总分 row (read up to line 18)" in m
               for m in t["problems"].message)


def test_continued_cell_still_joins_its_indicator():
    """A tabbed line holding only the rest of a cell is a continuation, as before (新乡县 line 279 prints "数")."""
    text = render().replace("\t及时\t15\t15\t\n", "\t及时\t15\t15\t\n\t\t\t\t(按月)\n", 1)
    t = tables_of(text)
    assert t["indicators"].set_index("name").loc["发放及时性", "target_raw"] == "及时(按月)"
    assert t["leftovers"].empty


def test_form_without_title_or_name_row_is_still_found():
    text = render().replace("项目名称\t=公益性岗位补贴(测试)\n", "")
    t = tables_of(text)
    assert len(t["forms"]) == 1
    assert pd.isna(t["forms"].iloc[0].project_name)
    assert "form without a 项目名称 row" in t["problems"].message.tolist()
    assert len(t["indicators"]) == 5


def test_unknown_rows_inside_a_form_are_leftovers():
    text = render().replace("年度总体目标", "审核意见\t同意\n年度总体目标")
    t = tables_of(text)
    lo = t["leftovers"]
    assert lo[["line", "text"]].values.tolist() == [[8 + 1, "审核意见\t同意"]] or lo.text.tolist() == [
        "审核意见\t同意"]
    assert lo.reason.iloc[0].startswith("unrecognised row")


def test_written_for_path(tmp_path: Path):
    # the factory output is valid input for the file reader too
    p = tmp_path / "form.txt"
    p.write_text(render(), encoding="gbk")
    from perfdata import read

    t = read(p)
    assert t["files"].encoding.tolist() == ["gb18030"]
    assert len(t["forms"]) == 1


@pytest.mark.parametrize("sep", ["\t", "|", "cell-per-line"])
def test_indicator_headers_spelled_as_chongqing_prints_them(sep, monkeypatch):
    """The header cells of Chongqing's flat tables (指标名称, 全年完成值, 指标权重(分), 指标得分(分);
    rules/headers.csv) read as 三级指标, 实际完成值, 分值, 得分 in any serialisation."""
    import factory

    monkeypatch.setitem(factory.INDICATOR_LABELS, "name", "指标名称")
    monkeypatch.setitem(factory.INDICATOR_LABELS, "actual", "全年完成值")
    monkeypatch.setitem(factory.INDICATOR_LABELS, "weight", "指标权重(分)")
    monkeypatch.setitem(factory.INDICATOR_LABELS, "score", "指标得分(分)")
    t = tables_of(render(sep=sep))
    assert indicator_values(t) == expected_indicators()
