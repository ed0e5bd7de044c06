"""Every bundled project form, rendered to .xlsx, .xls, .docx and .pdf, reads back as the text version does."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd
import pytest
from conftest import GUYUAN, RAW, XINGLONG, XINXIANG
from factory import render as render_form
from make_fixtures import FORM_DOCUMENTS, document_rows, render, to_docx, to_pdf, to_xls, to_xlsx

from perfdata.ingest import combine, read_bytes

WRITERS = {"xlsx": lambda rows, out: to_xlsx(rows, [0], out), "xls": lambda rows, out: to_xls(rows, [0], out),
           "docx": to_docx, "pdf": to_pdf}

FORMATS = ("xlsx", "xls", "docx", "pdf")
# provenance differs by construction (lines are running row numbers, form ids hash the file's bytes)
PROVENANCE = {"form_id", "source_file", "location", "line", "line_start", "line_end", "level1_weight_line",
              "total_line", "funding_line"}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("formats")
    render(out)
    return out


@cache
def tables_of(path: Path) -> dict[str, pd.DataFrame]:
    return combine([read_bytes(path.read_bytes(), path.name)])


def content(df: pd.DataFrame) -> pd.DataFrame:
    return df[[c for c in df.columns if c not in PROVENANCE]].reset_index(drop=True)


@pytest.fixture(scope="module")
def text_tables():
    return {name: tables_of(RAW / name) for name in FORM_DOCUMENTS}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", FORM_DOCUMENTS, ids=["xinglong", "xinxiang", "guyuan"])
def test_same_tidy_rows_as_text(rendered, text_tables, fmt, name):
    got = tables_of(rendered / fmt / f"{Path(name).stem}.{fmt}")
    want = text_tables[name]
    for table in ("forms", "funding", "indicators", "leftovers"):
        pd.testing.assert_frame_equal(content(got[table]), content(want[table]), obj=f"{fmt} {table}")
    assert got["files"].format.tolist() == [fmt]
    assert got["files"].status.tolist() == want["files"].status.tolist()


def test_all_43_forms_in_every_format(rendered):
    expected = {XINGLONG: 24, XINXIANG: 11, GUYUAN: 8}
    for fmt in FORMATS:
        counts = {name: len(tables_of(rendered / fmt / f"{Path(name).stem}.{fmt}")["forms"]) for name in expected}
        assert counts == expected, fmt


@pytest.mark.parametrize("fmt,pattern", [("xlsx", r"^表\d+!\d+$"), ("xls", r"^表\d+!\d+$"),
                                         ("docx", r"^(table \d+ row \d+|paragraph \d+)$"),
                                         ("pdf", r"^page \d+ line \d+$")])
def test_rows_carry_their_location(rendered, fmt, pattern):
    t = tables_of(rendered / fmt / f"{Path(XINGLONG).stem}.{fmt}")
    for table in ("forms", "indicators", "funding"):
        loc = t[table].location
        assert loc.notna().all() and loc.str.match(pattern).all(), (table, loc.head().tolist())
    # lines are unique running numbers, so form ids stay distinct
    assert t["forms"].form_id.is_unique


def test_text_files_have_no_location(text_tables):
    t = text_tables[XINGLONG]
    assert t["forms"].location.isna().all()
    assert t["files"].format.tolist() == ["text"]


def test_one_form_per_sheet_and_all_in_one_sheet(rendered):
    xl = tables_of(rendered / "xlsx" / f"{Path(XINGLONG).stem}.xlsx")["forms"]
    one = tables_of(rendered / "xlsx" / f"{Path(XINXIANG).stem}.xlsx")["forms"]
    assert xl.location.str.split("!").str[0].nunique() == 24  # each form on its own sheet
    assert one.location.str.split("!").str[0].unique().tolist() == ["表1"]


def test_pdf_tables_cross_page_breaks(rendered):
    t = tables_of(rendered / "pdf" / f"{Path(XINGLONG).stem}.pdf")
    ind = t["indicators"].merge(t["forms"][["form_id", "location"]], on="form_id", suffixes=("", "_form"))
    page = ind.location.str.extract(r"page (\d+)")[0].astype(int)
    form_page = ind.location_form.str.extract(r"page (\d+)")[0].astype(int)
    crossing = ind[page > form_page].form_id.nunique()
    assert crossing >= 5  # forms whose indicators continue on a later page still read whole
    assert not t["leftovers"].text.str.fullmatch(r"-\s*\d+\s*-").any()  # page numbers are not content


def _blank(text: str, label: str, col: int) -> str:
    """The form with one cell left empty: cell `col` of the row whose first filled cell is `label`."""
    out = []
    for line in text.split("\n"):
        cells = line.split("\t")
        if any(c.startswith(label) for c in cells[:4]) and col < len(cells):
            cells[col] = ""
        out.append("\t".join(cells))
    return "\n".join(out)


ORDERS = {
    "standard": ("level1", "level2", "name", "target", "actual", "weight", "score", "note"),
    "weight-first": ("level1", "level2", "name", "weight", "target", "actual", "score", "note"),
    "nature-and-unit": ("level1", "level2", "name", "nature", "target", "measure_unit", "actual", "weight",
                        "score", "note"),
}
VARIANTS = {
    **{k: render_form(indicator_order=v) for k, v in ORDERS.items()},
    "levels-repeated": render_form(merged_levels=False),
    "no-full-year-column": render_form(funding_order=("budget_initial", "executed", "exec_weight", "exec_rate",
                                                      "exec_score")),
    "missing-score": _blank(render_form(), "发放及时性", 7),
    "missing-unit": _blank(render_form(), "主管部门", 3),
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_generated_variants_same_as_text(tmp_path, fmt, variant):
    text = VARIANTS[variant]
    rows, _ = document_rows(text)
    out = tmp_path / f"form.{fmt}"
    WRITERS[fmt](rows, out)
    want, got = tables_of_bytes(text.encode(), "form.txt"), tables_of_bytes(out.read_bytes(), out.name)
    assert len(want["forms"]) == 1
    for table in ("forms", "funding", "indicators", "leftovers"):
        pd.testing.assert_frame_equal(content(got[table]), content(want[table]), obj=f"{fmt} {variant} {table}")


def tables_of_bytes(data: bytes, name: str) -> dict[str, pd.DataFrame]:
    return combine([read_bytes(data, name)])


# The Ministry of Finance template (财预〔2020〕10号, 项目支出绩效自评表) as departments fill it in: ten
# columns, labels merged over their blocks, "指标1：" numbering, percentages from formulas.
OFFICIAL = [
    ["项目支出绩效自评表"],
    ["（2023年度）"],
    ["项目名称", "", "城乡居民基本养老保险补助"],
    ["主管部门", "", "某某市人力资源和社会保障局", "", "", "", "实施单位", "某某市社会保险事业管理局"],
    ["项目资金（万元）", "", "年初预算数", "全年预算数", "全年执行数", "分值", "执行率", "得分"],
    ["", "年度资金总额", "1,250.00", "1250", "1187.5", "10", "95.00%", "9.5"],
    ["", "其中：当年财政拨款", "1000", "1000", "950", "—", "—", "—"],
    ["", "上年结转资金", "250", "250", "237.5", "—", "—", "—"],
    ["", "其他资金", "", "", "", "—", "—", "—"],
    ["年度总体目标", "预期目标", "", "", "", "实际完成情况"],
    ["", "按时足额发放城乡居民基础养老金，保障参保人员基本生活。", "", "", "",
     "全年按时足额发放基础养老金，参保人员基本生活得到保障。"],
    ["绩效指标", "一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分",
     "偏差原因分析及改进措施"],
    ["", "产出指标", "数量指标", "指标1：享受待遇人数", "≥12万人", "12.3万人", "20", "20"],
    ["", "", "", "指标2：参保人数", "≥45万人", "44.1万人", "10", "9.8", "部分外出务工人员断缴"],
    ["", "", "质量指标", "指标1：养老金发放准确率", "100%", "100%", "10", "10"],
    ["", "", "时效指标", "指标1：按月发放", "按月", "按月", "10", "10"],
    ["", "效益指标", "社会效益指标", "指标1：保障参保人员基本生活", "有效保障", "有效保障", "15", "15"],
    ["", "", "可持续影响指标", "指标1：制度长期运行", "长期", "长期", "15", "14"],
    ["", "满意度指标", "服务对象满意度指标", "指标1：参保人员满意度", "≥90%", "93%", "10", "10"],
    ["总分", "", "", "", "", "", "100", "98.3"],
]


@pytest.mark.parametrize("fmt", ("txt",) + FORMATS)
def test_official_template_layout(tmp_path, fmt):
    text = "\n".join("\t".join(r) for r in OFFICIAL) + "\n"
    if fmt == "txt":
        data, name = text.encode("gbk"), "form.txt"
    else:
        out = tmp_path / f"form.{fmt}"
        WRITERS[fmt](document_rows(text)[0], out)
        data, name = out.read_bytes(), out.name
    t = tables_of_bytes(data, name)
    assert t["leftovers"].empty, t["leftovers"].text.tolist()
    (form,) = t["forms"].itertuples()
    assert (form.project_name, form.department, form.unit, form.year) == (
        "城乡居民基本养老保险补助", "某某市人力资源和社会保障局", "某某市社会保险事业管理局", 2023)
    assert (form.budget_initial, form.budget_full_year, form.executed) == (1250, 1250, 1187.5)
    assert (form.exec_weight, form.exec_rate_reported, form.exec_score_reported) == (10, 95, 9.5)
    assert (form.total_weight_reported, form.total_score_reported, form.region) == (100, 98.3, "某某市")
    assert form.goal_planned.startswith("按时足额发放") and form.goal_achieved.startswith("全年按时足额发放")
    funding = t["funding"]
    assert funding.fund_source.tolist() == ["total", "fiscal", "carryover", "other"]
    assert funding.executed.tolist()[:3] == [1187.5, 950, 237.5]
    ind = t["indicators"]
    assert ind.level1.tolist() == ["产出指标"] * 4 + ["效益指标"] * 2 + ["满意度指标"]
    assert ind.level2.tolist() == ["数量指标", "数量指标", "质量指标", "时效指标", "社会效益指标", "可持续影响指标",
                                   "服务对象满意度指标"]
    assert ind.name.tolist()[:2] == ["享受待遇人数", "参保人数"] and ind.indicator_no.tolist()[:2] == [1, 2]
    assert ind.weight.sum() == 90 and ind.score.sum() == 88.8
    assert ind.target_value.tolist()[:2] == [12, 45] and ind.actual_value.tolist()[1] == 44.1
    assert ind.deviation_note.tolist()[1] == "部分外出务工人员断缴"
