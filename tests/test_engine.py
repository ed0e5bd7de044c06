"""The token reader (perfdata/tables/engine.py): real excerpts of other provinces' forms, whose cell
boundaries were lost in copying, and generated variants of one form in every serialisation copying produces."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import conftest
import pandas as pd
import pytest

import perfdata
from perfdata.grid import Row
from perfdata.normalize import simplify
from perfdata.readers.text import to_grid
from perfdata.tables import engine

EXTERNAL = Path(__file__).resolve().parents[1].parent / "shared" / "external"
needs_external = pytest.mark.skipif(not EXTERNAL.is_dir(), reason="development set ../shared/external absent")


def _form(name: str, start: str | None = None) -> dict:
    """The gold form of one excerpt as ingest reads it: the forms row (by project name start, else first)."""
    path = next(EXTERNAL.glob(f"{name}_*.txt"))
    forms = perfdata.read(path)["forms"]
    if start is not None:
        forms = forms[forms.project_name.fillna("").str.startswith(start)]
    assert len(forms), f"no form read from {path.name}"
    return forms.iloc[0].to_dict()


FUNDING = ["budget_initial", "budget_full_year", "executed", "exec_rate_reported", "exec_weight", "exec_score_reported"]


@needs_external
@pytest.mark.parametrize("file, name, want", [
    # Sichuan 部门预算项目支出绩效自评表, one cell per line ending ' |', 得分 left empty
    ("01", "51000021R000000019951-工资性支出", [238.93, 251.89, 251.89, 100.0, 10.0, None]),
    # the same template as markdown rows, after the tail of the previous project's table
    ("02", "51092324T000010263357-2023年全县安可替代补助资金项目", [0.0, 3.36, 3.36, 100.0, 10.0, 10.0]),
    # 衔接资金 绩效目标自评表: no 年初预算数
    ("13", "河西村特色种养补贴到户项目", [None, 9.48, 9.48, 100.0, 10.0, 10.0]),
    # run-on text: '202010100.00%10' = 20 | 20 | 10 | 100.00% | 10, confirmed by the form's arithmetic
    ("14", "中江县农业水价综合改革精准补贴和节水奖励项目小型水库水标尺制作安装", [None, 20.0, 20.0, 100.0, 10.0, 10.0]),
    # Hubei, traditional characters with pinyin artefacts, budget weight 20, '1010100%20'
    ("06", "水土保持监测", [None, 10.0, 10.0, 100.0, None, 20.0]),
    # Hubei district: funding by source (一般预算内拨款 … 合计), '6363100%', no weights or scores at all
    ("18", "区级森林防火专项经费", [None, 63.0, 63.0, 100.0, None, None]),
    # Beijing: no 全年预算数, '310.2154.741050%5' = 310.2 | 154.74 | 10 | 50% | 5
    ("25", "【体制】自管道路清扫保洁外包工作经费", [310.2, None, 154.74, 50.0, 10.0, 5.0]),
    # plain rows with missing cells absent: '880 880 880 10 10' (执行率 blank)
    ("22", "水旱灾害防御经费", [880.0, 880.0, 880.0, None, 10.0, 10.0]),
    # Yunnan, amounts in 元 (converted to 万元), only two amounts printed before 分值
    ("15", "义务教育营养改善计划专项资金", [None, 38.766462, 38.766462, 100.0, 10.0, 10.0]),
    # blank-line paragraphs: every cell its own paragraph
    ("08", "办公宿舍楼、食堂及餐厅暖通改造经费", [43.2, 43.2, 37.24, 86.0, 10.0, 9.0]),
    # a PDF dump in scrambled reading order, amounts in 元: the name before its label, the figures straight
    # after the header (confirmed: 8.62 = 10 × 215457.6 / 250000), the rate printed far away (86.19%)
    ("07", "普陀体育中心与委托运营方结算费用", [25.0, 25.0, 21.54576, 86.19, 10.0, 8.62]),
])
def test_real_forms_of_other_provinces(file, name, want):
    f = _form(file)
    assert f["project_name"] == name
    got = [None if pd.isna(f[c]) else round(float(f[c]), 6) for c in FUNDING]
    assert got == want


@needs_external
def test_totals_as_printed():
    assert (_form("14")["total_weight_reported"], _form("14")["total_score_reported"]) == (100.0, 100.0)  # 总分100100
    assert _form("15")["total_score_reported"] == 96.0  # 总分 | 100 | 96 | 优
    assert _form("22")["total_score_reported"] == 100.0
    t = perfdata.read(next(EXTERNAL.glob("06_*.txt")))
    assert "traditional characters converted" in " ".join(t["problems"].message)


@needs_external
def test_the_bundled_reading_is_kept_where_the_row_reader_reads_the_form():
    """A form the row reader reads (tab-separated bundled documents) never goes through the token reader."""
    raw = Path(__file__).resolve().parents[1] / "data" / "raw"
    forms = perfdata.ingest(raw, jobs=1, progress=False)["forms"]
    assert len(forms) == 43 and not (forms.layout == "tokens").any()


# -- the funding arithmetic -------------------------------------------------------------------------

T1 = ["budget_initial", "budget_full_year", "executed", "exec_weight", "exec_rate", "exec_score"]


def test_assign_puts_the_blank_where_the_arithmetic_agrees():
    v, ok = engine.assign(T1, ["880", "880", "880", "10", "10"])
    assert (v["exec_rate"], v["exec_score"], ok) == (None, 10.0, True)
    v, ok = engine.assign(T1, ["387664.62", "387664.62", "10", "100%", "10"])
    assert (v["budget_initial"], v["budget_full_year"], v["executed"], v["exec_weight"]) == (None, 387664.62,
                                                                                             387664.62, 10.0)


def test_a_glued_run_is_split_only_when_the_form_confirms_it():
    v, ok = engine.assign(["budget_full_year", "executed", "exec_weight", "exec_rate", "exec_score"],
                          ["202010100.00%10"])
    assert ([v[c] for c in ("budget_full_year", "executed", "exec_weight", "exec_rate", "exec_score")], ok) == (
        [20.0, 20.0, 10.0, 100.0, 10.0], True)
    # no segmentation of '98765%' makes executed / budget equal the rate: no guessed number
    assert engine.assign(["budget_full_year", "executed", "exec_rate"], ["98765%"]) is None


# -- generated variants of one form in every serialisation ------------------------------------------

CELLS = [
    ["项目支出绩效自评表(2023年度)"],
    ["项目名称", "乡村公路养护经费"],
    ["主管部门", "某县交通运输局", "实施单位", "某县公路事务中心"],
    ["项目资金(万元)", "年初预算数", "全年预算数", "全年执行数", "分值", "执行率", "得分"],
    ["年度资金总额", "120.5", "130", "117", "10", "90%", "9"],
    ["其中:当年财政拨款", "120.5", "130", "117", "", "90%", ""],
    ["上年结转资金", "0", "0", "0", "", "—", ""],
    ["总分", "100", "93.5"],
]
WANT = [120.5, 130.0, 117.0, 90.0, 10.0, 9.0]


def _one_cell_per_line(rows):
    return "\n".join(f"{c} |" for r in rows for c in r)


def _paragraphs(rows):
    return "\n\n".join(c for r in rows for c in r if c)


def _one_line(rows):
    return " ".join(c for r in rows for c in r if c)


def _run_on(rows):
    return "".join(c for r in rows for c in r if c)


def _markdown(rows):
    width = max(map(len, rows))
    return "\n".join("| " + " | ".join(r) + " |" + "|" * (width - len(r)) for r in rows)


@pytest.mark.parametrize("render", [_one_cell_per_line, _paragraphs, _one_line, _markdown],
                         ids=["one-cell-per-line", "paragraphs", "one-line", "markdown"])
@pytest.mark.parametrize("traditional", [False, True], ids=["simplified", "traditional"])
def test_every_serialisation_reads_the_same(render, traditional, tmp_path):
    text = render(CELLS)
    if traditional:
        opencc = pytest.importorskip("opencc")
        text = opencc.OpenCC("s2t").convert(text)
    path = tmp_path / "form.txt"
    path.write_text(text, encoding="utf-8")
    f = perfdata.read(path)["forms"].iloc[0]
    assert f.project_name == "乡村公路养护经费"
    if render is not _markdown:  # a markdown grid keeps its rows: the row reader reads it
        assert f.year == 2023 and f.layout == "tokens"
    assert [None if pd.isna(f[c]) else float(f[c]) for c in FUNDING] == WANT
    assert (f.total_weight_reported, f.total_score_reported) == (100.0, 93.5)


def test_run_on_text_with_its_figures_glued():
    """No separator at all: the labels cut the text, the figures of the total row are split by arithmetic."""
    rows = [r if r[0] != "其中:当年财政拨款" else ["其中:当年财政拨款"] for r in CELLS]
    rows = [["年度资金总额", "120.513011710", "90%", "9"] if r[0] == "年度资金总额" else r for r in rows]
    forms = engine.read_document(to_grid(_run_on(rows)).rows)
    total = next(r for r in forms[0].funding if r["fund_source"] == "total")
    assert [total[c] for c in ("budget_initial", "budget_full_year", "executed", "exec_weight", "exec_rate",
                               "exec_score")] == ["120.5", "130.0", "117.0", "10.0", "90.0", "9.0"]


def test_an_unconfirmed_run_is_a_leftover_with_its_line():
    rows = [Row(1, ["项目支出绩效自评表(2023年度)"], "项目支出绩效自评表(2023年度)"),
            Row(2, ["项目名称", "甲项目"], "项目名称\t甲项目"),
            Row(3, ["预算数(A)", "执行数(B)", "执行率(B/A)"], "预算数(A)\t执行数(B)\t执行率(B/A)"),
            Row(4, ["年度资金总额", "98765%"], "年度资金总额\t98765%")]
    (form,) = engine.read_document(rows)  # the form is kept with what was read: its name, no figures
    assert form.project_name == "甲项目" and form.funding == []
    assert [(lo.line, lo.text) for lo in form.leftovers] == [(4, "年度资金总额 98765%")]
    assert form.leftovers[0].reason.startswith("funding figures the form's arithmetic does not confirm")


def test_simplify_is_what_the_token_reader_uses_for_traditional_documents():
    assert simplify("項(xiàng)目名稱") == "项目名称"


@needs_external
@pytest.mark.parametrize("file, template, unit", [
    ("01", "sichuan_project", "万元"), ("14", "xianjie_target", "万元"), ("06", "hubei_project", "万元"),
    ("25", "beijing_project", "万元"), ("15", "mof_project", "元"), ("22", "mof_project", "万元"),
])
def test_the_template_and_the_printed_unit_are_recorded(file, template, unit):
    f = _form(file)
    assert (f["template"], f["amount_unit"]) == (template, unit)


@needs_external
def test_nothing_in_a_token_read_form_is_silently_dropped():
    """Goal texts are read (the paired 项目年度目标 | 年度目标完成情况 layout too); what no block reads, the
    indicator rows among it for now, is a leftover with its line."""
    t = perfdata.read(next(EXTERNAL.glob("01_*.txt")))
    f = t["forms"].iloc[0]
    assert f.goal_planned.startswith("严格执行相关政策,保障工资及时、足额发放")
    lo = t["leftovers"]
    # section headings and the budget note, with their line; the '/' of the 其他资金 row's 权重/得分 are its
    # empty cells (nothing due), which hold their columns
    assert list(lo.line) == [15, 20, 38]
    assert t["funding"].fund_source.tolist()[-1] == "other"
    assert lo.text.iloc[0] == "1."  # its label 项目年度目标完成情况 is read as a label
    assert "not read" in " ".join(t["problems"].message)
    t = perfdata.read(next(EXTERNAL.glob("14_*.txt")))
    assert t["forms"].iloc[0].notes.startswith("注:1.一级指标分值统一设置为")


@needs_external
@pytest.mark.parametrize("file, n, first", [
    # Sichuan: 指标性质 | 指标值 | 度量单位 joined into one target; 完成值 and 得分 empty in the source
    ("01", 2, ("产出指标", "数量指标", "发放(缴纳)覆盖率", "=100%", None, 60.0, None)),
    # a whole table on one line separated by single spaces
    ("03", 9, ("产出指标", "数量指标", "基建工程委托业务项目数量", "≥50个", "50", 8.0, 8.0)),
    # every cell its own paragraph, 年度/指标值 split; 指标2 / …… placeholders are not indicators
    ("08", 9, ("产出指标", "数量指标", "工程资金金额", "43.2", "37.24", 10.0, 9.0)),
    # Yunnan: a two-row header (年度指标值 over 指标性质 | 指标值 | 度量单位), traditional characters
    ("11", 5, ("产出指标", "数量指标", "卫片执法补助经费", "=72890元", "72890", 10.0, 9.0)),
])
def test_indicator_rows_of_token_read_forms(file, n, first):
    ind = perfdata.read(next(EXTERNAL.glob(f"{file}_*.txt")))["indicators"]
    assert len(ind) == n
    r = ind.iloc[0]
    got = tuple(None if pd.isna(r[c]) else r[c] for c in ("level1", "level2", "name", "target_raw", "actual_raw",
                                                          "weight", "score"))
    assert got == first


@needs_external
def test_a_row_of_its_own_line_with_two_figures_is_weight_and_score():
    ind = perfdata.read(next(EXTERNAL.glob("22_*.txt")))["indicators"]
    r = ind[ind.name == "工程质量合格"].iloc[0]
    assert (r.indicator_no, pd.isna(r.target_raw), pd.isna(r.actual_raw), r.weight, r.score) == (1, True, True, 10.0,
                                                                                               10.0)


@needs_external
@pytest.mark.parametrize("file, name, want", [
    # 部门整体支出绩效自评表 in the project layout: execution above the budget, 得分 empty
    ("24", "金寨县茶谷和美丽乡村建设服务中心", [329.77, 329.77, 338.31, 102.59, 10.0, None]),
    # preceded by a 绩效评价基础数据表 whose figures (874.20 / 308.17 / 1025.20) are decoys
    ("09", "衡山县贯塘乡人民政府", [861.10, 2030.12, 2030.12, 100.0, 10.0, 10.0]),
    # first characters lost ('级预算单位名称', ' 陵区林业局'), amounts with 万元 in the cell, 100% as printed
    ("17", "陵区林业局", [4753.66, 4753.66, 3824.26, 100.0, 10.0, 10.0]),
])
def test_department_forms_in_the_project_layout_land_in_the_department_tables(file, name, want):
    t = perfdata.read(next(EXTERNAL.glob(f"{file}_*.txt")))
    assert t["forms"].empty
    d = t["department_forms"].iloc[0]
    assert d.department == name
    assert [None if pd.isna(d[c]) else round(float(d[c]), 6) for c in (
        "budget_initial", "budget_full_year", "executed", "exec_rate_reported", "exec_weight",
        "exec_score_reported")] == want


@needs_external
def test_a_scrambled_spreadsheet_dump_reads_only_what_its_arithmetic_confirms():
    """#20: '全年预算数 全年执行数 分值 执行率 得分 0 207.4538 10 100% 10 207.4538 — 100% —' — the longest run
    the arithmetic confirms is 年初 0 | 全年 207.4538 | 分值 10 | 100% | 10; 全年执行数 is printed out of order
    and is not guessed."""
    f = _form("20")
    assert f["project_name"] == "国家基本公共卫生服务"
    assert [None if pd.isna(f[c]) else float(f[c]) for c in FUNDING] == [0.0, 207.4538, None, 100.0, 10.0, 10.0]


# -- a generated form of every template in rules/templates.csv --------------------------------------

def _template_form(t: dict) -> tuple[list[list[str]], list]:
    """A form of template `t`: its title, its funding columns spelled as its markers (else the first
    spelling of headers.csv), figures that agree with each other, and the values to expect."""
    from perfdata import rules

    spell = {}
    for r in rules.table("headers.csv"):
        if r["table"] == "funding" and not r["synonym"].endswith("*"):
            spell.setdefault(r["canonical"], r["synonym"])
    look = rules.headers("funding").lookup
    for m in filter(None, t["markers"].split("|")):
        spell[look(m)] = m
    cols = t["funding_columns"].split("|")
    weight = float(t["exec_weight"])
    initial = "120.5" if "budget_full_year" in cols else "130"  # the rate's denominator: 117 / 130 = 90%
    value = {"budget_initial": initial, "budget_full_year": "130", "executed": "117", "exec_weight": f"{weight:g}",
             "exec_rate": "90%", "exec_score": f"{weight * 0.9:g}", "method": ""}
    title = t["title"] if "自评表" in t["title"] else "项目支出绩效自评表"
    rows = [[f"{title}(2023年度)"], ["项目名称", "乡村公路养护经费"], ["主管部门", "某县交通运输局"],
            ["项目资金(万元)", *[spell[c] for c in cols]], ["年度资金总额", *[value[c] for c in cols]],
            ["总分", "100", "93.5"]]
    budget = {c: (float(value[c].rstrip("%")) if c in cols else None)
              for c in ("budget_initial", "budget_full_year", "executed", "exec_rate", "exec_weight", "exec_score")}
    return rows, [budget[c] for c in ("budget_initial", "budget_full_year", "executed", "exec_rate", "exec_weight",
                                      "exec_score")]


def _html(rows, encoding="utf-8"):
    """An HTML page of the form as such pages print it: the title in a <p>, the rest one table whose
    项目资金(万元) cell spans the header row and the 年度资金总额 row, and the 项目名称 value spanning
    the columns."""
    head = f'<meta charset="{encoding}"><p>{rows[0][0]}</p><table border="1">'
    width = len(rows[3])
    body = []
    for r in rows[1:]:
        if r[0] == "项目资金(万元)":
            cells = [f'<td rowspan="2">{r[0]}</td><td></td>'] + [f"<th>{c}</th>" for c in r[1:]]
        elif r[0] == "年度资金总额":
            cells = [f"<td>{c}</td>" for c in r]
        else:
            cells = [f"<td>{r[0]}</td>", f'<td colspan="{width}">{"".join(r[1:2])}</td>'] + [
                f"<td>{c}</td>" for c in r[2:]]
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (head + "".join(body) + "</table>").encode(encoding)


@pytest.mark.parametrize("template", [t["template"] for t in engine.templates()])
@pytest.mark.parametrize("render", [_one_cell_per_line, _paragraphs, _one_line, _run_on],
                         ids=["one-cell-per-line", "paragraphs", "one-line", "run-on"])
@pytest.mark.parametrize("chars", ["simplified", "traditional-gbk"])
def test_every_template_reads_in_every_serialisation(template, render, chars, tmp_path):
    t = next(t for t in engine.templates() if t["template"] == template)
    rows, want = _template_form(t)
    path = tmp_path / "form.txt"
    text = render(rows)
    if chars == "simplified":
        path.write_text(text, encoding="utf-8")
    else:  # machine-converted to traditional characters, pinyin artefacts and all, saved as GB18030
        opencc = pytest.importorskip("opencc")
        text = opencc.OpenCC("s2t").convert(text).replace("項目", "項(xiàng)目").replace("執行", "執(zhí)行")
        path.write_bytes(text.encode("gb18030"))
    f = perfdata.read(path)["forms"].iloc[0]
    assert f.project_name == "乡村公路养护经费" and f.year == 2023
    assert [None if pd.isna(f[c]) else float(f[c]) for c in FUNDING] == want
    assert f.total_score_reported == 93.5


@pytest.mark.parametrize("template", [t["template"] for t in engine.templates()])
def test_every_template_reads_from_a_gbk_html_page_with_spans(template, tmp_path):
    t = next(t for t in engine.templates() if t["template"] == template)
    rows, want = _template_form(t)
    path = tmp_path / "form.html"
    path.write_bytes(_html(rows, "gbk"))
    f = perfdata.read(path)["forms"].iloc[0]
    assert f.project_name == "乡村公路养护经费"
    assert [None if pd.isna(f[c]) else float(f[c]) for c in FUNDING] == want


# a whole form of every template: fields, funding, paired goal texts, an indicator grid whose levels are merged
# down, and the total, in every serialisation and format it reaches auditors in
_INDICATORS = [  # level1, level2, name, target, actual, weight, score, measure_unit, nature
    ("产出指标", "数量指标", "养护公路里程", "≥120", "126", "20", "20", "公里", "正向"),
    ("产出指标", "质量指标", "路面完好率", "≥95%", "96%", "20", "20", "%", "正向"),
    ("产出指标", "时效指标", "养护及时率", "100%", "98%", "10", "9", "%", "正向"),
    ("效益指标", "社会效益指标", "群众出行条件", "明显改善", "明显改善", "20", "20", "", "定性"),
    ("满意度指标", "服务对象满意度指标", "沿线群众满意度", "≥90%", "88%", "10", "8.5", "%", "正向"),
]
_INDICATOR_SPELLING = {"nature": "指标性质", "target": "年度指标值", "measure_unit": "度量单位", "actual": "实际完成值",
                       "weight": "分值", "score": "得分", "note": "偏差原因分析及改进措施", "method": "得分计算方法"}
_GOALS = ("完成全县乡村公路日常养护", "已完成全县乡村公路日常养护")


def _whole_form(t: dict, merged: bool) -> tuple[list[list[str]], list, list[tuple]]:
    """`_template_form` with the goal texts and an indicator grid in the template's column order (levels.csv
    levels as columns; `merged`: a level cell printed once for the rows it spans); with the funding and the
    indicators to expect. A form that prints 度量单位 apart prints bare figures (its unit beside them)."""
    rows, want = _template_form(t)
    cols = t["indicator_columns"].split("|")
    body, expect, above = [], [], (None, None)
    for l1, l2, name, target, actual, weight, score, unit, nature in _INDICATORS:
        if "measure_unit" in cols:
            target, actual = target.rstrip("%"), actual.rstrip("%")
        value = {"nature": nature, "target": target, "measure_unit": unit, "actual": actual, "weight": weight,
                 "score": score, "note": "", "method": "按完成比例计分"}
        body.append(["" if merged and l1 == above[0] else l1, "" if merged and l2 == above[1] else l2, name,
                     *(value[c] for c in cols)])
        above = (l1, l2)
        spelled = target + unit if "measure_unit" in cols and target[-1].isdigit() else target  # '≥120公里'
        expect.append((l1, l2, name, spelled, actual, float(weight) if "weight" in cols else None, float(score)))
    first = {}
    for r in body:  # a level's points printed on its first row: '产出指标(50分)'
        if r[0] and r[0] not in first:
            first[r[0]] = r[0] = f"{r[0]}({_LEVEL_POINTS[r[0]]}分)"
    grid = [["一级指标", "二级指标", "三级指标", *(_INDICATOR_SPELLING[c] for c in cols)], *body]
    # 实施单位 beside 主管部门, and the funding rows by source under the total (dashes where nothing is due)
    funding = t["funding_columns"].split("|")
    total = dict(zip(funding, rows[4][1:], strict=True))
    head = [rows[0], rows[1], [*rows[2], "实施单位", "某县公路管理站"], rows[3], rows[4]]
    head += [[label, *((total[c] if amount is None else amount) if c in _AMOUNTS else "—" for c in funding)]
             for label, amount in (("其中:当年财政拨款", None), ("上年结转资金", "0"), ("其他资金", "0"))]
    return [*head, ["年度总体目标", "预期目标", "实际完成情况"], ["", *_GOALS], *grid, rows[-1]], want, expect


_LEVEL_POINTS = {"产出指标": 50, "效益指标": 20, "满意度指标": 10}
_AMOUNTS = ("budget_initial", "budget_full_year", "executed")


def _html_with_spans(rows: list[list[str]]) -> bytes:
    """A GBK page: the title a <p>, the rest one table; a level cell merged down its rows (rowspan, the cells
    it covers absent), a row's last cell spanning to the table's width."""
    width = max(len(r) for r in rows[1:])
    out = []
    for k, r in enumerate(rows[1:], 1):
        cells = []
        for c, text in enumerate(r):
            if c < 2 and not text and k > 1 and rows[k - 1][c:c + 1] and r[2:3] and r[2] and rows[k - 1][2]:
                continue  # covered by the level cell above
            span = 1
            while c < 2 and text and k + span < len(rows) and len(rows[k + span]) > 2 and not rows[k + span][c] \
                    and rows[k + span][2]:
                span += 1
            attrs = (f' rowspan="{span}"' if span > 1 else "") + (
                f' colspan="{width - len(r) + 1}"' if c == len(r) - 1 and len(r) < width else "")
            cells.append(f"<td{attrs}>{text}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<meta charset="gbk"><p>{rows[0][0]}</p><table border="1">' + "".join(out) + "</table>").encode("gbk")


def _traditional_gbk(rows) -> bytes:
    opencc = pytest.importorskip("opencc")
    text = opencc.OpenCC("s2t").convert(_one_cell_per_line(rows)).replace("項目", "項(xiàng)目")
    return text.encode("gb18030")


def _written(rows, how: str, path: Path) -> Path:
    import make_fixtures

    if how in ("xlsx", "docx", "pdf"):
        path = path.with_suffix(f".{how}")
        {"xlsx": lambda: make_fixtures.to_xlsx(rows, [0], path), "docx": lambda: make_fixtures.to_docx(rows, path),
         "pdf": lambda: make_fixtures.to_pdf(rows, path)}[how]()
        return path
    if how == "html":
        path.with_suffix(".html").write_bytes(_html_with_spans(rows))
        return path.with_suffix(".html")
    if how == "traditional-gbk":
        path.write_bytes(_traditional_gbk(rows))
        return path
    text = {"tabs": lambda r: "\n".join("\t".join(x) for x in r), "markdown": _markdown,
            "one-cell-per-line": _one_cell_per_line, "paragraphs": _paragraphs, "one-line": _one_line}[how](rows)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("template", [t["template"] for t in engine.templates()])
@pytest.mark.parametrize("how, merged", [
    ("tabs", True), ("markdown", False), ("one-cell-per-line", True), ("paragraphs", False), ("one-line", False),
    ("traditional-gbk", False), ("html", True), ("xlsx", True), ("docx", True), ("pdf", False)])
def test_a_whole_form_of_every_template_reads_the_same_in_every_serialisation(template, how, merged, tmp_path):
    _reads_the_whole_form(template, how, merged, tmp_path, "auto")


@pytest.mark.parametrize("template", [t["template"] for t in engine.templates()])
@pytest.mark.parametrize("how, merged", [("tabs", True), ("markdown", False), ("html", True), ("xlsx", True),
                                         ("docx", True), ("pdf", False)])
def test_a_whole_form_of_every_template_in_rows_of_cells_reads_the_same_by_the_token_reader(
        template, how, merged, tmp_path):
    """The token reader alone (reader="tokens") on the same forms with their rows kept."""
    _reads_the_whole_form(template, how, merged, tmp_path, "tokens")


@pytest.mark.parametrize("template", [t["template"] for t in engine.templates()])
@pytest.mark.parametrize("how", ["tabs", "html", "xlsx", "docx", "pdf"])
@pytest.mark.parametrize("reader", ["auto", "tokens"])
def test_a_whole_form_printed_with_merged_label_cells_reads_the_same_by_either_reader(
        template, how, reader, tmp_path):
    """The form as a Word or PDF table prints it (Guyuan's layout, `_as_printed`): labels merged over two
    cells, 项目资金 over three columns, the goal texts under their labels three cells apart, the total's
    figures under 分值 and 得分, and a 得分计算方法 sentence that names labels. Both readers read it alike;
    the token reader read no project name after a merged label cell, no funding figure after one, the
    planned goal as the achieved one and no 总分 after the row's empty cells."""
    _reads_the_whole_form(template, how, True, tmp_path, reader, printed=True)


_METHOD_SENTENCE = "完成值达到指标值，记满分；未达到指标值，按完成比例计分。"


def _as_printed(rows: list[list[str]]) -> list[list[str]]:
    """`_whole_form`'s rows as a Word or PDF table prints them, each merged cell's covered cells empty."""
    out, header, after_goal = [], None, False
    for r in rows:
        first = r[0] if r else ""
        if len(r) == 1:
            out.append(r)  # the title
        elif first in ("项目名称", "主管部门"):
            out.append([c for x in r for c in (x, "")])  # each label and value over two cells
        elif first.startswith("项目资金"):
            out.append([first, "", "", *r[1:]])
        elif first == "年度总体目标" or after_goal:
            out.append([first, r[1], "", "", r[2]])
        elif first == "一级指标":
            header = ["绩效指标", *r]
            out.append(header)
        elif header is not None and first in ("总分", "合计"):
            at = {c: k for k, c in enumerate(header)}
            score = at["得分"]
            total = [first] + [""] * (len(header) - 1)
            total[at.get("分值", score - 1)], total[score] = r[1], r[2]
            out.append(total)
        elif header is not None:
            out.append(["", *(_METHOD_SENTENCE if c == "按完成比例计分" else c for c in r)])
        else:
            out.append(["", first, "", *r[1:]])  # a funding row: its label over two cells under 项目资金
        after_goal = first == "年度总体目标"
    return out


def _reads_the_whole_form(template: str, how: str, merged: bool, tmp_path: Path, reader: str,
                          printed: bool = False) -> None:
    t = next(t for t in engine.templates() if t["template"] == template)
    rows, want, expect = _whole_form(t, merged)
    if printed:
        rows = _as_printed(rows)
    tables = perfdata.read(_written(rows, how, tmp_path / "form.txt"), reader=reader)
    assert reader == "auto" or (tables["forms"].layout == "tokens").all()
    f = tables["forms"].iloc[0]
    assert (f.project_name, f.year, f.goal_planned, f.goal_achieved) == ("乡村公路养护经费", 2023, *_GOALS)
    assert [None if pd.isna(f[c]) else float(f[c]) for c in FUNDING] == want
    assert (f.total_weight_reported, f.total_score_reported) == (100.0, 93.5)
    assert (f.department, f.unit) == ("某县交通运输局", "某县公路管理站")
    funding = tables["funding"]
    assert funding.fund_source.tolist() == ["total", "fiscal", "carryover", "other"]
    assert funding.executed.tolist() == [117.0, 117.0, 0.0, 0.0]
    ind = tables["indicators"]
    ind = ind[~ind.is_budget_execution]
    assert [(r.level1, r.level2, r.name, r.target_raw, r.actual_raw, None if pd.isna(r.weight) else r.weight,
             r.score) for r in ind.itertuples()] == expect
    assert ind.level1_weight.tolist() == [_LEVEL_POINTS[r[0]] for r in expect]
    assert tables["leftovers"].empty


@pytest.mark.parametrize("template", [t["template"] for t in engine.templates()])
def test_a_whole_form_run_together_reads_what_its_scoring_confirms_and_leaves_the_rest(template, tmp_path):
    """The same form with no separator at all: a row's figures glued ('养护公路里程≥1201262020') are cut only
    where 得分 and 分值 confirm the cut (≥120 | 126 reached: 20 of 20); a form without 分值, or with 得分计算方法
    prose among its values, keeps such rows as leftovers; the two goal texts run together are whose is not
    known: a leftover, never 预期目标."""
    t = next(t for t in engine.templates() if t["template"] == template)
    rows, want, expect = _whole_form(t, merged=False)
    path = tmp_path / "form.txt"
    path.write_text(_run_on(rows), encoding="utf-8")
    tables = perfdata.read(path)
    f = tables["forms"].iloc[0]
    assert f.project_name == "乡村公路养护经费"
    assert [None if pd.isna(f[c]) else float(f[c]) for c in FUNDING] == want
    assert pd.isna(f.goal_planned) and pd.isna(f.goal_achieved)
    ind = tables["indicators"]
    got = [(r.level1, r.level2, r.name, r.target_raw, r.actual_raw, None if pd.isna(r.weight) else r.weight,
            r.score) for r in ind[~ind.is_budget_execution].itertuples()]
    assert set(got) <= set(expect)  # nothing misread
    cols = t["indicator_columns"].split("|")
    if {"weight", "score"} <= set(cols) and "method" not in cols:
        assert got == expect
    else:
        assert len(got) < len(expect)
    leftovers = " ".join(tables["leftovers"].text)
    assert _GOALS[1] in leftovers
    # (a level word ending a name, 满意度 of 沿线群众满意度, is read as the level it spells)
    assert all(name[:4] in leftovers for _, _, name, *_ in expect if name not in {g[2] for g in got})


@pytest.mark.parametrize("how", ["one-line", "paragraphs", "tabs"])
def test_two_forms_of_a_document_copied_onto_one_line_keep_their_own_rows(how, tmp_path):
    """Two forms starting on one line (a document site's dump) are two forms with an id each: their funding and
    indicator rows are never merged into one."""
    first, second = (next(t for t in engine.templates() if t["template"] == n) for n in ("mof_project",
                                                                                         "sichuan_project"))
    rows, want, expect = _whole_form(first, merged=False)
    rows2, want2, expect2 = _whole_form(second, merged=False)
    rows2 = [list(r) for r in rows2]
    rows2[1][1] = "农村饮水安全维修经费"
    t = perfdata.read(_written([*rows, *rows2], how, tmp_path / "two.txt"))
    f = t["forms"]
    assert f.project_name.tolist() == ["乡村公路养护经费", "农村饮水安全维修经费"] and f.form_id.is_unique
    assert [[None if pd.isna(x) else float(x) for x in r] for r in f[FUNDING].values] == [want, want2]
    ind = t["indicators"][~t["indicators"].is_budget_execution]
    assert ind.groupby("form_id", sort=False).size().tolist() == [5, 5]
    assert t["funding"].groupby("form_id", sort=False).size().tolist() == [4, 4]


@needs_external
def test_the_two_forms_of_a_pdf_dump_on_one_line_are_two():
    f = perfdata.read(next(EXTERNAL.glob("07_*.txt")))["forms"]
    assert [i.split("-", 1)[1] for i in f.form_id] == ["00002", "00002-2"]
    assert f.project_name.tolist() == ["普陀体育中心与委托运营方结算费用", "援滇对口支援及结对帮扶经费"]


def test_docs_templates_is_generated_from_the_rules():
    assert (Path(__file__).resolve().parents[1] / "docs" / "templates.md").read_text(encoding="utf-8") == \
        engine.templates_markdown()


@needs_external
def test_a_summary_with_hierarchical_numbering_and_subtotals():
    """#23: a 汇总表 inside a notice, one cell per line: 合计, groups 一 / (一) with items under them
    (subtotals: is_total and is_subtotal), items 1…n, a 责任部门 column some rows leave out, the truncated
    last row a leftover."""
    t = perfdata.read(next(EXTERNAL.glob("23_*.txt")))
    s = t["summary_rows"]
    total = s.iloc[0]
    assert (total.project_name, total.budget, total.executed, total.exec_rate_reported, total.is_total) == (
        "合计", 17758.87, 14520.34, 81.76, True)
    group = s[s.seq_label == "(一)"].iloc[0]
    assert (group.project_name, group.budget, bool(group.is_subtotal)) == ("开大教育(终身、开放、成人、社区教育)专项",
                                                                          4739.8, True)
    item = s[s.project_name == "学生资助专项-高职"].iloc[0]
    assert (item.seq, item.responsible, item.budget, item.executed, bool(item.is_total)) == (1, "学工处", 1537.45,
                                                                                           1528.47, False)
    assert len(s) == 21 and (~s.is_total).sum() == 16  # 13 numbered items and 二/三/四, projects of their own
    assert s[s.seq_label == "四"].iloc[0].is_total == False  # noqa: E712 - 不可预见费 has no items under it
    assert t["leftovers"].text.tolist() == ["12 图书信息中心"]


@needs_external
def test_a_form_is_kept_with_what_could_be_read():
    """Chongqing #16 (OCR'd, figures garbled): the form is kept with its unit (named by the title, marked
    inferred in the notes of the ingest) and its 自评总分, and the unreadable funding lines are leftovers."""
    t = perfdata.read(next(EXTERNAL.glob("16_*.txt")))
    d = t["department_forms"].iloc[0]
    assert (d.department, d.total_score) == ("重庆市梁平区林业局", 97.93)
    assert "部门名称取自表题" in d.notes
    assert pd.isna(d.budget_initial) and len(t["leftovers"]) > 0
    # #21: a label spelled '项目主管单 位' is a label, never read as the project's name
    f = perfdata.read(next(EXTERNAL.glob("21_*.txt")))["forms"].iloc[0]
    assert pd.isna(f.project_name) and f.total_score_reported == 95.0


@needs_external
def test_a_table_header_whose_rows_cannot_be_read_is_reported_with_its_lines():
    """#10: a 部门整体支出绩效评价指标表 rubric OCR'd into run-on prose, scores glued to its explanations: no row
    can be cut with confidence, so nothing is read, but the file says so (partial, a warning naming the line
    and the columns seen) and its lines from the header on are leftovers."""
    t = perfdata.read(next(EXTERNAL.glob("10_*.txt")))
    assert t["department_forms"].empty and t["forms"].empty
    assert t["files"].status.tolist() == ["partial"]
    warning = t["problems"][t["problems"].severity == "warning"].iloc[0]
    assert warning.line == 3 and "二级指标" in warning.message and "三级指标" in warning.message
    assert t["leftovers"].line.tolist() == [3, 4, 5]
    assert "在职人员控制率" in t["leftovers"].text.iloc[0]


def test_a_generated_header_with_rows_no_reader_takes_is_no_silent_skip(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("某县2023年度部门整体支出绩效自评报告\n\n一、基本情况\n一级指标 二级指标 三级指标 分值 得分\n"
                    "投入13预算配置13在职人员控制率5以100%为标准计5分5\n", encoding="utf-8")
    t = perfdata.read(path)
    assert t["files"].status.tolist() == ["partial"]
    assert t["problems"].line.tolist() == [4]
    assert t["leftovers"].line.tolist() == [4, 5]
    path.write_text("某县2023年度部门整体支出绩效自评报告\n\n一、基本情况\n全年预算执行良好。\n", encoding="utf-8")
    assert perfdata.read(path)["leftovers"].empty  # a report without a table header: nothing to say


@needs_external
def test_a_scoring_rubric_lands_in_the_department_tables():
    """#05: 序号 | 一级指标(分) | 二级指标(分) | 三级指标 | 指标分值 | 指标解释 | 评分标准 | 自评得分, long
    explanation cells, a 分值 equal to the next 序号; the last row cut before its 自评得分."""
    t = perfdata.read(next(EXTERNAL.glob("05_*.txt")))
    assert t["forms"].empty and t["department_forms"].iloc[0].title == "2023年度部门整体支出绩效评价自评表"
    ind = t["department_indicators"]
    got = [(r.level1, r.level2, r.name, r.weight, None if pd.isna(r.score) else r.score) for r in ind.itertuples()]
    assert got == [("规划", "基础信息", "基础信息完整性", 3.0, 3.0),
                   ("规划", "工作计划", "年度工作计划完整性", 3.0, 3.0),
                   ("规划", "工作计划", "年度工作计划明确性", 3.0, 3.0),
                   ("规划", "绩效目标", "年度绩效目标合理性", 4.0, 4.0),
                   ("规划", "绩效目标", "年度绩效目标明确性", 2.0, 2.0),
                   ("执行", "预算执行", "预算执行率", 5.0, None)]
    assert ind.level1_weight.tolist()[:1] == [15.0] and ind.method.iloc[0].startswith("部门及所属二级单位预算基础信息")


@needs_external
def test_sub_rows_are_children_of_the_scored_indicator_and_core_indicators_are_marked():
    """#13 (衔接资金, read by rows): 其中… rows carry values but no weight: children, never scored; ★ marks
    core indicators; a spaced level line ending in a lone '|' ('效 益 指 标 (30分) |') is a level."""
    ind = perfdata.read(next(EXTERNAL.glob("13_*.txt")))["indicators"]
    first = ind.iloc[0]
    assert (first["name"], first.weight, bool(first.is_core), pd.isna(first.parent_seq)) == (
        "★补助各类瓜果蔬菜种植面积", 20.0, True, True)
    kids = ind[ind.parent_seq == 1]
    assert kids.name.tolist() == ["其中桃树种植面积", "其中苹果树种植面积", "其中露天蔬菜", "其中大棚蔬菜"]
    assert kids.weight.isna().all() and kids.target_raw.tolist() == ["1.5亩", "5亩", "20亩", "3亩"]
    assert (ind.parent_seq.isna()).sum() == 7  # the 7 scored indicators
    assert ind[ind.name == "特色产业带动增加受益农户收入(总收入)"].iloc[0].level1 == "效益指标"


def test_a_long_glued_run_costs_milliseconds_and_guesses_nothing():
    """A hostile run of 38 digits after a funding label: the readings are bounded, the row is a leftover."""
    import time

    rows = [Row(1, ["项目支出绩效自评表(2023年度)"], "项目支出绩效自评表(2023年度)"),
            Row(2, ["项目名称", "甲项目"], "项目名称\t甲项目"),
            Row(3, ["年初预算数", "全年预算数", "全年执行数", "分值", "执行率", "得分"], "x"),
            *[Row(4 + k, ["年度资金总额", "1" * 38], "x") for k in range(20)]]
    started = time.process_time()
    (form,) = engine.read_document(rows)
    assert time.process_time() - started < 2.0
    assert form.funding == [] and len(form.leftovers) == 20


@needs_external
def test_indicator_rows_run_together_are_cut_by_their_figures():
    """Run-on text: '安装坡面水标尺10≥266米≥266米10水标尺宽度10≥50厘米≥50厘米10' is two rows of
    分值 | 年度指标值 | 全年实际值 | 得分 (#14); a 分值 run into its target ('20100%') is split off; the same
    qualitative text twice ('显著提升显著提升') is the target and the actual; Hubei #06 has two 年度绩效目标
    blocks with no 分值 column, and '取得2018-2022' before a row is not taken for one."""
    ind = perfdata.read(next(EXTERNAL.glob("14_*.txt")))["indicators"]
    rows = [(r.name, r.target_raw, r.actual_raw, r.weight, r.score) for r in ind.itertuples()]
    assert rows[:3] == [("安装坡面水标尺", "≥266米", "≥266米", 10.0, 10.0),
                        ("水标尺宽度", "≥50厘米", "≥50厘米", 10.0, 10.0),
                        ("项目(工程)验收合格率", "100%", "100%", 20.0, 20.0)]
    assert ("群众生产生活条件改善状况", "显著提升", "显著提升", 10.0, 10.0) in rows and len(rows) == 9  # as index.csv
    ind = perfdata.read(next(EXTERNAL.glob("06_*.txt")))["indicators"]
    assert ind.name.tolist() == ["监测数据必须合格", "监测资料", "整编资料审核", "监测数据资料整编", "完成年度资料上报"]
    assert ind.score.tolist() == [10.0, 10.0, 19.6, 20.0, 20.0] and ind.weight.isna().all()


def test_a_piece_that_does_not_make_complete_rows_is_not_read():
    assert engine._run_on_rows("监测数据必须合格100%100%", ["target", "actual", "score"]) is None  # no 得分
    assert engine._run_on_rows("甲指标10≥5个≥5个20", ["weight", "target", "actual", "score"]) is None  # 得分 > 分值


# -- the bundled documents, copied as other sites copy them -----------------------------------------

RAW = Path(__file__).resolve().parents[1] / "data" / "raw"


def _reserialise(src: Path, how: str) -> str:
    cells = [c.strip() for ln in src.read_text(encoding="utf-8").splitlines() for c in ln.split("\t") if c.strip()]
    return {"one-cell-per-line": "\n".join(f"{c} |" for c in cells), "paragraphs": "\n\n".join(cells),
            "one-line": " ".join(cells)}[how]


@pytest.mark.parametrize("how", ["one-cell-per-line", "paragraphs", "one-line"])
@pytest.mark.parametrize("name, least", [("hebei-xinglong", 21), ("henan-xinxiang", 11), ("ningxia-guyuan", 8)])
def test_the_bundled_forms_copied_without_their_grid(name, least, how, tmp_path):
    """The bundled documents with their tabs gone (one cell per line, paragraphs, one line): the token
    reader finds every form again, and the funding figures and totals of at least `least` of them (all
    of Xinxiang's and Guyuan's) equal the reading of the original."""
    src = next(RAW.glob(f"{name}*.txt"))
    cols = ["budget_initial", "budget_full_year", "executed", "exec_rate_reported", "total_score_reported"]
    orig = perfdata.read(src)["forms"].set_index("project_name")[cols]
    path = tmp_path / "copy.txt"
    path.write_text(_reserialise(src, how), encoding="utf-8")
    got = perfdata.read(path)["forms"]
    assert (got.layout == "tokens").all() and set(orig.index) <= set(got.project_name)
    got = got.drop_duplicates("project_name").set_index("project_name")[cols]
    same = (orig == got.loc[orig.index]) | (orig.isna() & got.loc[orig.index].isna())
    assert same.all(axis=1).sum() >= least


@pytest.mark.parametrize("name", ["hebei-xinglong", "henan-xinxiang", "ningxia-guyuan"])
def test_the_bundled_forms_read_by_the_token_reader_with_their_rows(name):
    """The bundled documents as they are (rows of tab-separated cells, merged cells left empty), read by the
    token reader alone: every form, funding row and indicator as the row reader reads it, but Xinglong's
    档案一体化管理工作经费 (its merged budget cell prints one figure twice: seven figures under six columns,
    left unread). Before, it read no project name after a merged label cell (none of the 43 forms), no
    funding figure after one, and no 得分 after a 得分计算方法 cell."""
    src = next(RAW.glob(f"{name}*.txt"))
    rows, toks = perfdata.read(src), perfdata.read(src, reader="tokens")
    assert (toks["forms"].layout == "tokens").all()

    def forms(t):
        cols = ["project_name", "year", "department", "unit", "budget_initial", "budget_full_year", "executed",
                "exec_rate_reported", "total_score_reported", "goal_planned", "goal_achieved"]
        f = t["forms"].sort_values("line_start")
        return [tuple(None if pd.isna(v) else v for v in r) for r in f[cols].itertuples(index=False)]

    def counted(t, table, cols):
        df = t[table].merge(t["forms"][["form_id", "project_name"]], on="form_id")
        return Counter(tuple(None if pd.isna(v) else v for v in r) for r in df[cols].itertuples(index=False))

    want, got = forms(rows), forms(toks)
    assert [w for w in want if w not in got] == ([w for w in want if w[0] == "档案一体化管理工作经费"]
                                                 if name == "hebei-xinglong" else [])
    ind = ["project_name", "level1", "level2", "name", "target_raw", "actual_raw", "weight", "score"]
    assert counted(toks, "indicators", ind) == counted(rows, "indicators", ind)
    fund = ["project_name", "fund_source", "budget_initial", "budget_full_year", "executed"]
    lost = counted(rows, "funding", fund) - counted(toks, "funding", fund)
    assert list(lost) == ([("档案一体化管理工作经费", "total", 2.0, 2.0, 2.0)] if name == "hebei-xinglong" else [])


@pytest.mark.parametrize("how", ["one-cell-per-line", "paragraphs"])
@pytest.mark.parametrize("name", ["hebei-xinglong", "henan-xinxiang", "ningxia-guyuan"])
def test_the_bundled_indicator_rows_copied_one_cell_a_line(name, how, tmp_path):
    """One cell a line (or a paragraph): a space inside a line is part of its cell, so a name printed with a
    space ('保障参保人员权益, 确保参保人员待遇') stays one name and its row reads as in the original. Row for row
    (name, target, actual, 分值, 得分, duplicates counted), at least 98% of the original rows come back and at
    most one row of the copy is not in the original: every row of Xinglong and Guyuan, 120 of Xinxiang's 122
    (its '劳务派遣人员数', whose 数 wraps onto a row of its own, is read as 劳务派遣人员; a row printed without
    its name is not read)."""
    src = next(RAW.glob(f"{name}*.txt"))
    key = ["name", "target_raw", "actual_raw", "weight", "score"]
    orig = Counter(tuple(r) for r in perfdata.read(src)["indicators"][key].astype(str).values)
    path = tmp_path / "copy.txt"
    path.write_text(_reserialise(src, how), encoding="utf-8")
    got = Counter(tuple(r) for r in perfdata.read(path)["indicators"][key].astype(str).values)
    same = sum((got & orig).values())
    assert same >= 0.98 * orig.total()
    assert got.total() - same <= 1


# -- flat tables run together (Chongqing 部门整体绩效自评表), read by the types of their columns -----------

@needs_external
def test_a_flat_table_run_together_is_read_by_its_column_types():
    """#16: '天然林和公益林管护当期任务完成率%901010010…': 指标名称 | 计量单位 | 指标性质 | 指标值 | 指标权重(分) |
    全年完成值 | 指标得分(分) | 说明 with the figures glued; '901010010' is cut into 90 | 10 | 100 | 10 where 得分 ≤
    分值 and a usual 分值 confirm it, '0.910010' into 0.9 | 10 | 0 | 10; '天' of '2110110天保工程区' is the next
    name's, not a unit; the name cut short at the end of the excerpt is a leftover."""
    t = perfdata.read(next(EXTERNAL.glob("16_*.txt")))
    ind = t["department_indicators"]
    rows = [(r.name, r.target_raw, r.actual_raw, r.weight, r.score, r.measure_unit) for r in ind.itertuples()]
    assert len(rows) == 6
    assert rows[0] == ("天然林和公益林管护当期任务完成率", "90%", "100", 10.0, 10.0, "%")
    assert rows[3] == ("天保工程区森林资源管护面积", "250万亩", "50", 10.0, 10.0, "万亩")
    assert rows[4] == ("森林火灾受害率", "0.9%", "0", 10.0, 10.0, "%")
    assert rows[5] == ("主要林业有害生物成灾率", "0.4%", "0.1", 10.0, 10.0, "%")
    lo = t["leftovers"]
    assert "公益林提供管" in lo.text.tolist()


@needs_external
def test_an_ocr_copy_with_a_garbled_header_cell_and_flag_column():
    """#12: the header cell '年成值全完值' is 全年完成值 with its characters out of order (OCR) and holds its
    column; 是否核心指标 is a yes/no column that ends each row ('…100%22否“三公经费…'); 得分系数 '100%' and
    the glued '22' = 权重 2 | 得分 2; an adjusted target left blank; '0100%' is 0 | 100%; the page's repeated
    绩效指标 label does not end the block; qualitative values printed twice ('好好') are target and actual."""
    ind = perfdata.read(next(EXTERNAL.glob("12_*.txt")))["department_indicators"]
    rows = {r.name: (r.target_raw, r.actual_raw, r.weight, r.score) for r in ind.itertuples()}
    assert len(ind) == 19
    assert rows["财政供养人员控制率"] == ("100%", "92%", 2.0, 2.0)
    assert rows["预算调整率"] == ("3%", "0", 2.0, 2.0)
    assert rows["资金使用合规性"] == ("好", "好", 5.0, 5.0)
    assert rows["管理制度健全性"] == ("高", "高", 3.0, 3.0)  # '性标定指': 定性指标 scrambled, split off
    assert rows["播发稿件数量tot扁"] == ("2200篇", "2859篇", 10.0, 10.0)
    assert ind.nature.dropna().unique().tolist() == ["定量指标", "定性指标"]
    # 得分系数 kept (the share of the weight scored); 调整指标值 is a column, blank on this form
    coef = dict(zip(ind.name, ind.score_coefficient, strict=True))
    assert coef["财政供养人员控制率"] == 100.0 and ind.score_coefficient.notna().sum() >= 15
    assert ind.target_adjusted_raw.isna().all()


@needs_external
def test_rows_ended_by_a_value_the_block_repeats():
    """#18 (Hubei, no 分值 or 得分 anywhere): '森林火灾6小时内扑灭率不低于95%达成预期指标': the value
    达成预期指标 that ends row after row cuts the rows; a row's figures are those at the end of its piece, so
    a name holding a figure (6小时) stays whole; '63' is never cut (no 分值 to confirm a cut); a row with
    text cells only is a leftover, not a guess."""
    t = perfdata.read(next(EXTERNAL.glob("18_*.txt")))
    rows = [(r.name, r.target_raw, r.actual_raw) for r in t["indicators"].itertuples()]
    assert len(rows) == 10
    assert ("森林火灾6小时内扑灭率", "不低于95%", "达成预期指标") in rows
    assert ("重大森林火灾", "0起", "达成预期指标") in rows
    assert ("成本控制数(万元)", "63", "达成预期指标") in rows
    assert "公众知晓度是否明显提高是达成预期指标" in t["leftovers"].text.tolist()


@needs_external
def test_a_header_scattered_among_its_rows():
    """#20 (a spreadsheet dump): 年度指标值 / 实际完成值 / 二级指标 / 三级指标 / 分值 / 得分 printed among the rows;
    the template's order (target, actual, 分值, 得分) reads the complete rows; 指标25, whose values are followed
    by another row's values with no name, is not read (the order is off there), nor are 指标1–5."""
    ind = perfdata.read(next(EXTERNAL.glob("20_*.txt")))["indicators"]
    rows = {r.indicator_no: (r.name, r.target_raw, r.actual_raw, r.weight, r.score) for r in ind.itertuples()}
    assert sorted(rows) == list(range(6, 24))
    assert rows[8] == ("适龄儿童疫苗接种率", "100.00%", "97.30%", 2.0, 1.9)
    assert rows[21] == ("肺结核健康规范管理数", "8例", "8例", 2.0, 2.0)


CHONGQING = [
    ["重庆市某区农业农村委员会2023年度部门整体绩效自评表"],
    ["主管部门", "重庆市某区农业农村委员会", "部门联系人", "张三", "联系电话", "12345678", "自评总分(分)", "96.75"],
    ["年初预算数", "全年(调整)预算数", "全年执行数", "执行率", "执行率权重", "执行率得分"],
    ["年度总金额", "500", "520", "494", "95%", "10", "9.5"],
    ["绩效指标"],
    ["指标名称", "计量单位", "指标性质", "指标值", "指标权重(分)", "全年完成值", "指标得分(分)", "说明"],
    ["高标准农田建设面积", "万亩", "定量指标", "2.5", "20", "2.6", "20"],
    ["农业技术培训人次", "人次", "定量指标", "1200", "15", "1100", "13.75"],
    ["农产品质量安全抽检合格率", "%", "定量指标", "98", "15", "99", "15"],
    ["项目资金拨付及时率", "%", "定量指标", "100", "10", "95", "9.5"],
]
CHONGQING_ROWS = [("高标准农田建设面积", "2.5万亩", "2.6", 20.0, 20.0),
                  ("农业技术培训人次", "1200人次", "1100", 15.0, 13.75),
                  ("农产品质量安全抽检合格率", "98%", "99", 15.0, 15.0),
                  ("项目资金拨付及时率", "100%", "95", 10.0, 9.5)]


@pytest.mark.parametrize("render", [_run_on, _one_line], ids=["run-on", "one-line"])
def test_a_generated_flat_department_table_reads_the_same_glued_or_spaced(render, tmp_path):
    """A Chongqing-layout form made here, run together with no separator ('…人次定量指标120015110013.75…':
    13.75 = 15 × 1100 / 1200 confirms the cut) and spaced on one line: the same rows, the label 项目资金 inside
    项目资金拨付及时率 part of the name, and the 自评总分 in the header."""
    path = tmp_path / "form.txt"
    path.write_text(render(CHONGQING), encoding="utf-8")
    t = perfdata.read(path)
    d = t["department_forms"].iloc[0]
    assert (d.department, d.total_score) == ("重庆市某区农业农村委员会", 96.75)
    ind = t["department_indicators"]
    assert [(r.name, r.target_raw, r.actual_raw, r.weight, r.score) for r in ind.itertuples()] == CHONGQING_ROWS
    assert set(ind.measure_unit) == {"万亩", "人次", "%"} and set(ind.nature) == {"定量指标"}


@pytest.mark.parametrize("how", ["tabs", "xlsx", "docx", "html"])
def test_a_generated_flat_department_table_printed_in_rows_of_cells(how, tmp_path):
    """The Chongqing layout as a spreadsheet, a Word table or an HTML page: the row reader's department form
    reads none of its rows (no 部门预算总额 row, no 一级/二级 columns), so the token reader's reading, which does,
    is kept (the empty department form kept it out before: no indicators, no unit, no 自评总分)."""
    path = _written(CHONGQING, how, tmp_path / "form.txt")
    t = perfdata.read(path)
    d = t["department_forms"].iloc[0]
    assert (d.department, d.total_score) == ("重庆市某区农业农村委员会", 96.75)
    ind = t["department_indicators"]
    assert [(r.name, r.target_raw, r.actual_raw, r.weight, r.score) for r in ind.itertuples()] == CHONGQING_ROWS
    assert not t["problems"].message.str.contains("has no indicator rows").any()


# 湖南 部门整体支出绩效自评表 in the project layout (external #17, there one cell per blank-line paragraph) as a grid:
# the budget by 收入性质 and 支出性质 as 'label:amount' cells under their group labels, a level's points printed
# without 分 ('产出指标(50)')
HUNAN = [["部门整体支出绩效自评表"], ["(2021年度)"], ["一级预算单位名称", "零陵区林业局"],
         ["年度预算申请(万元)", "", "年初预算数", "全年预算数", "全年执行数", "分值", "执行率", "得分"],
         ["", "年度资金总额", "4753.66万元", "4753.66万元", "3824.26万元", "10", "80.45%", "8.05"],
         ["", "按收入性质分:", "", "", "按支出性质分:"],
         ["", "其中:一般公共预算:1873.66万元", "", "", "其中:基本支出:1768.16万元"],
         ["", "其他资金:2880万元", "", "", "项目支出:2985.5万元"],
         ["年度总体目标", "预期目标", "", "", "实际完成情况"],
         ["", "目标1:造林1.2万亩", "", "", "目标1:造林1.2万亩"],
         ["绩效指标", "一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分",
          "偏差原因分析及改进措施"],
         ["", "产出指标(50)", "数量指标", "造林面积", "1.2万亩", "1.2万亩", "10", "10", ""],
         ["", "", "", "病虫害防治面积", "3.45万亩", "3.45万亩", "7", "7", ""],
         ["", "", "质量指标", "造林成活率", "85%", "85%", "7", "7", ""],
         ["总分", "", "", "", "", "", "100", "95", ""]]


@pytest.mark.parametrize("how", ["tabs", "xlsx", "one-cell-per-line"])
def test_a_department_form_in_the_project_layout_with_its_budget_by_nature(how, tmp_path):
    t = perfdata.read(_written(HUNAN, how, tmp_path / "form.txt"))
    d = t["department_forms"].iloc[0]
    assert (d.department, d.budget_initial, d.executed, d.exec_rate_reported, d.total_score) == (
        "零陵区林业局", 4753.66, 3824.26, 80.45, 95)
    assert (d.budget_fiscal, d.budget_other, d.budget_basic, d.budget_project) == (1873.66, 2880, 1768.16, 2985.5)
    ind = t["department_indicators"]
    assert [(r.level1, r.level1_weight, r.level2, r.name, r.weight, r.score) for r in ind.itertuples()] == [
        ("产出指标", 50, "数量指标", "造林面积", 10, 10), ("产出指标", 50, "数量指标", "病虫害防治面积", 7, 7),
        ("产出指标", 50, "质量指标", "造林成活率", 7, 7)]
    assert t["leftovers"].empty  # the group labels 按收入性质分 / 按支出性质分 are labels, read


def test_typed_rows_cut_glued_figures_only_where_the_points_confirm_it():
    cols = ["measure_unit", "nature", "target", "weight", "actual", "score", "note"]
    rows, unread = engine.typed_rows("森林火灾受害率%0.910010主要林业有害生物成灾率%0.4100.110公益林", cols)
    assert rows == [("森林火灾受害率", {"measure_unit": "%", "target": "0.9", "weight": "10", "actual": "0",
                                        "score": "10"}),
                    ("主要林业有害生物成灾率", {"measure_unit": "%", "target": "0.4", "weight": "10", "actual": "0.1",
                                                "score": "10"})]
    assert unread == ["公益林"]
    # a score above every possible weight: no cut is confirmed, nothing is read
    assert engine.typed_rows("甲项指标完成率%90101000", cols) is None
    # without 分值 or 得分 columns a glued run is never cut
    assert engine.typed_rows("成本控制数63达成预期指标人员伤亡事故0人次达成预期指标",
                             ["target", "actual", "note"], ("达成预期指标",)) == (
        [("成本控制数", {"target": "63", "actual": "达成预期指标"}),
         ("人员伤亡事故", {"target": "0人次", "actual": "达成预期指标"})], [])
    # 得分计算方法 is prose with figures: never cut
    assert engine.typed_rows("甲指标10≥5个≥5个完成值达到指标值记满分10", ["weight", "target", "actual", "method",
                                                                             "score"]) is None


def test_a_header_cell_with_its_characters_out_of_order():
    assert engine._garbled_header("年成值全完值") == "actual"  # 全年完成值, OCR
    assert engine._garbled_header("标值指年度") == "target"
    assert engine._garbled_header("甲乙丙丁") is None


@needs_external
def test_yunnan_rows_with_their_level_spelled_with_a_trailing_deng_and_qualitative_values():
    """#15: '服务对象满意度指标等' is the level (levels.csv), not a row; '有效 | 有效 10 10' is target and actual
    ('有效' is no 度量单位); 其他需要说明事项 ends the block (form_labels.csv). All nine rows, 96 in all."""
    t = perfdata.read(next(EXTERNAL.glob("15_*.txt")))
    rows = [(r.level2, r.name, r.target_raw, r.actual_raw, r.weight, r.score) for r in t["indicators"].itertuples()]
    assert len(rows) == 9 and sum(r[5] for r in rows) + 10 == t["forms"].iloc[0].total_score_reported == 96
    assert rows[4] == ("经济效益指标", "减轻贫困学生家庭经济负担", "有效", "有效", 10.0, 10.0)
    assert rows[7] == ("服务对象满意度指标", "学生满意度", "≥95%", "100%", 10.0, 10.0)


@needs_external
def test_a_level_word_cut_out_of_a_run_on_name_stays_in_the_name():
    """#14: '…受益脱贫(含监测对象)户满意度10≥95%≥95%10': 满意度 is cut out as a level name, but a level is followed
    by a name, never by figures: it ends this row's name."""
    ind = perfdata.read(next(EXTERNAL.glob("14_*.txt")))["indicators"]
    r = ind.iloc[-1]
    assert (r.level1, r["name"], r.target_raw, r.weight, r.score) == ("满意度指标", "受益脱贫(含监测对象)户满意度",
                                                                      "≥95%", 10.0, 10.0)
    assert len(ind) == 9


@needs_external
@pytest.mark.parametrize("file, rate, weight, score", [("12", 76.0, 10.0, 7.6), ("16", 79.27, 10.0, 7.93)])
def test_garbled_funding_figures_give_only_the_rate_the_points_confirm(file, rate, weight, score):
    """OCR lost the amounts' digits ('O76%107.6', '.32.06.579.27107.93'): the tail 执行率 | 执行率权重 | 执行率得分
    is read where one cut makes 得分 = 权重 × 执行率 (7.6 = 10 × 76%, 7.93 ≈ 10 × 79.27%); the amounts are not
    guessed, and the garbled head is a leftover."""
    t = perfdata.read(next(EXTERNAL.glob(f"{file}_*.txt")))
    d = t["department_forms"].iloc[0]
    assert (d.exec_rate_reported, d.exec_weight, d.exec_score_reported) == (rate, weight, score)
    assert pd.isna(d.budget_initial) and pd.isna(d.executed)
    assert t["leftovers"].reason.str.startswith("garbled funding figures").any()


def test_a_generated_form_with_garbled_amounts_reads_its_confirmed_rate(tmp_path):
    rows = [r if r[:1] != ["年度总金额"] else ["年度总金额", "O", "95%", "10", "9.5"] for r in CHONGQING]
    path = tmp_path / "form.txt"
    path.write_text(_run_on(rows), encoding="utf-8")
    t = perfdata.read(path)
    d = t["department_forms"].iloc[0]
    assert (d.exec_rate_reported, d.exec_weight, d.exec_score_reported) == (95.0, 10.0, 9.5)
    assert pd.isna(d.budget_full_year) and len(t["department_indicators"]) == 4


@needs_external
def test_a_pdf_dump_with_the_values_before_the_names():
    """#07: the PDF prints every row's values first ('=100% 100% 10 10 =100% 100% 20 20 及时 及时 20 20 …
    100 98.62') and the names after them, one broken over two lines ('与委托运营方合同完成' '率'): five rows of
    values, five names, and 10 + 20 + 20 + 30 + 10 + the execution row's 10 = 100, 90 + 8.62 = 98.62 confirm
    the pairing; the form's 总分 is read from the same figures."""
    t = perfdata.read(next(EXTERNAL.glob("07_*.txt")))
    f = t["forms"].iloc[0]
    ind = t["indicators"][t["indicators"].form_id == f.form_id]
    assert [(r.name, r.target_raw, r.actual_raw, r.weight, r.score) for r in ind.itertuples()] == [
        ("与委托运营方结算完成率", "=100%", "100%", 10.0, 10.0), ("合同结算条款完成率", "=100%", "100%", 20.0, 20.0),
        ("费用结算及时性", "及时", "及时", 20.0, 20.0), ("与委托运营方合同完成率", "=100%", "100%", 30.0, 30.0),
        ("场馆开放满意度", ">=90%", "100%", 10.0, 10.0)]
    assert (f.total_weight_reported, f.total_score_reported) == (100.0, 98.62)


def test_a_column_dump_whose_points_do_not_add_up_is_not_read(tmp_path):
    """The same layout made here, with a 总分 that the rows' points do not make: no pairing is guessed."""
    head = ["项目支出绩效自评表(2022年度)", "项目名称", "某某经费", "年初预算数", "全年预算数", "全年执行数", "分值",
            "执行率", "得分", "年度资金总额", "10", "10", "10", "10", "100%", "10", "一级指标", "二级指标", "三级指标",
            "年度指标值", "实际完成值", "分值", "得分"]
    values = ["≥5个", "5个", "40", "40", "≥90%", "95%", "50", "50"]
    names = ["产出指标", "数量指标", "完成培训场次数", "效益指标", "社会效益指标", "群众满意度提升", "总分"]
    for total, rows in (("100", 2), ("90", 0)):
        path = tmp_path / f"dump{total}.txt"
        path.write_text(" ".join([*head, *values, total, "100", *names]), encoding="utf-8")
        ind = perfdata.read(path)["indicators"]
        assert len(ind) == rows
        if rows:
            assert ind["name"].tolist() == ["完成培训场次数", "群众满意度提升"]


@needs_external
def test_the_core_indicator_column_marks_is_core():
    """#12's 是否核心指标 column (是/否 ending each run-together row) feeds is_core, as ★ does on project forms."""
    ind = perfdata.read(next(EXTERNAL.glob("12_*.txt")))["department_indicators"]
    core = dict(zip(ind.name, ind.is_core, strict=True))
    assert [n for n, c in core.items() if c][:4] == ["预算完成率", "结转结余率", "公用经费控制率", "政府采购执行率"]
    assert not core["财政供养人员控制率"] and ind.is_core.sum() == 7


@pytest.mark.parametrize("render", [_run_on, _one_line], ids=["run-on", "one-line"])
def test_a_generated_core_indicator_column(render, tmp_path):
    """The Chongqing form made here with a 是否核心指标 column last: the same rows, 是 → is_core."""
    flags = ["是", "否", "否", "是"]
    rows = [*CHONGQING[:5], [*CHONGQING[5][:-1], "是否核心指标"],
            *([*r, f] for r, f in zip(CHONGQING[6:], flags, strict=True))]
    path = tmp_path / "form.txt"
    path.write_text(render(rows), encoding="utf-8")
    ind = perfdata.read(path)["department_indicators"]
    assert [(r.name, r.weight, r.score, r.is_core) for r in ind.itertuples()] == [
        (name, w, s, f == "是") for (name, _, _, w, s), f in zip(CHONGQING_ROWS, flags, strict=True)]


# -- the bundled documents, copied one cell per line (their cell boundaries kept, their rows lost) -------------

def _funding_rows(tables) -> list[tuple]:
    f = tables["funding"].merge(tables["forms"][["form_id", "project_name"]], on="form_id")
    return sorted(((r.project_name, r.fund_source, *(None if pd.isna(v) else float(v) for v in
                                                    (r.budget_initial, r.budget_full_year, r.executed)))
                   for r in f.itertuples()), key=repr)


@pytest.mark.parametrize("name", [conftest.GUYUAN, conftest.XINXIANG])
def test_a_bundled_document_copied_one_cell_per_line_keeps_its_funding_rows_and_full_stops(name, bundled, tmp_path):
    from perfdata.readers.detect import read_grid

    raw = (conftest.RAW / name).read_bytes()
    grid, _ = read_grid(raw, name)
    path = tmp_path / name
    path.write_text("\n".join(f"{c} |" for r in grid.rows for c in r.cells if c), encoding="utf-8")
    tables = perfdata.read(path)
    assert set(tables["forms"].layout) == {"tokens"}
    as_rows = {k: v[v.source_file == name] if "source_file" in v else v for k, v in bundled.items()}
    as_rows["funding"] = bundled["funding"][bundled["funding"].form_id.isin(as_rows["forms"].form_id)]
    want, got = _funding_rows(as_rows), _funding_rows(tables)
    # every row the row reader reads, the template's empty 上年结转资金 / 其他资金 rows too, is read alike
    assert [r for r in want if r not in got] == []
    assert len([r for r in want if r[1] in ("carryover", "other") and r[2:] == (None, None, None)]) >= 8
    if name == conftest.XINXIANG:  # a goal text keeps the full stop it ends with
        f = tables["forms"].set_index("project_name").loc["建档立卡优秀务工人员奖补"]
        assert f.goal_achieved == "激励更多贫困劳动力实现就业,帮助有劳动能力贫困户,通过劳动脱贫。"


@pytest.mark.parametrize("how", ["one-cell-per-line", "paragraphs", "one-line"])
def test_a_form_printed_without_its_title_after_the_total_of_the_form_before_is_a_form_of_its_own(how, tmp_path):
    """The second form of a copy has only '(2023年度)' above its table: it starts at its 项目名称 after the first
    form's 总分, and its funding and indicators are its own (they were read into the first form)."""
    first, second = (next(t for t in engine.templates() if t["template"] == n) for n in ("mof_project",
                                                                                         "sichuan_project"))
    rows, want, _ = _whole_form(first, merged=False)
    rows2, want2, _ = _whole_form(second, merged=False)
    rows2 = [["(2023年度)"], ["项目名称", "农村饮水安全维修经费"], *(list(r) for r in rows2[2:])]
    t = perfdata.read(_written([*rows, *rows2], how, tmp_path / "two.txt"))
    f = t["forms"]
    assert f.project_name.tolist() == ["乡村公路养护经费", "农村饮水安全维修经费"]
    assert f.year.tolist() == [2023, 2023]
    assert [[None if pd.isna(x) else float(x) for x in r] for r in f[FUNDING].values] == [want, want2]
    ind = t["indicators"][~t["indicators"].is_budget_execution]
    assert ind.groupby("form_id", sort=False).size().tolist() == [5, 5]


def test_a_table_after_a_form_that_repeats_its_project_name_label_is_not_read_into_it(tmp_path):
    """A narrative's tables after a form's 总分 (项目名称 | 全年预算数 | 执行数 | 执行率, then the funds by source, as
    in Xinxiang's report): their figures are not the form's funding rows (they were read as more 财政拨款 and
    上年结转 rows of the form); they stay leftovers with their lines."""
    t = next(t for t in engine.templates() if t["template"] == "mof_project")
    rows, want, _ = _whole_form(t, merged=False)
    rows += [["绩效自评结果"], ["项目名称", "全年预算数", "执行数", "执行率"],
             ["乡村公路养护经费", "130", "117", "90%"], ["资金来源"], ["财政拨款", "3.5"], ["上年结转资金", "0.73"]]
    got = perfdata.read(_written(rows, "one-cell-per-line", tmp_path / "form.txt"))
    assert len(got["forms"]) == 1 and len(got["funding"]) == 4
    assert [None if pd.isna(x) else float(x) for x in got["forms"][FUNDING].values[0]] == want
    assert {"财政拨款", "3.5", "0.73"} <= {x.rstrip(" |") for x in got["leftovers"].text}
    warning = got["problems"][got["problems"].message.str.contains("reads as no form")]
    assert warning.line.tolist() == [got["leftovers"].line.min()]


@pytest.mark.parametrize("how", ["one-cell-per-line", "paragraphs", "one-line"])
def test_funding_header_cells_wrapped_over_two_lines_and_copied_line_by_line(how, tmp_path):
    """A header whose cells wrap ('全年预算' over '数', '分' over '值') copied cell by cell, line after line: the
    pieces of the second line are joined to those of the first where together they make a column (分值 was
    lost, and the figures shifted)."""
    rows = [["项目支出绩效自评表(2024年度)"], ["项目名称", "档案管理"], ["主管部门", "某县人力资源和社会保障局"],
            ["项目资金", "年初预算数", "全年预算", "全年", "分", "执行", "得分"],
            ["(万元)", "数", "执行数", "值", "率"],
            ["年度资金总额", "20", "20", "18", "10分", "90%", "9"],
            ["一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分"],
            ["产出指标", "数量指标", "整理档案数", "≥500卷", "520卷", "90", "90"], ["总分", "100", "99"]]
    f = perfdata.read(_written(rows, how, tmp_path / "form.txt"))["forms"].iloc[0]
    assert [float(f[c]) for c in FUNDING] == [20, 20, 18, 90, 10, 9]


@pytest.mark.parametrize("how", ["one-cell-per-line", "paragraphs"])
def test_a_name_and_target_that_spell_the_row_level_are_cells(how, tmp_path):
    """'服务对象满意度指标 | 服务对象满意度 | 服务对象满意度 | 95%' (Hebei's template repeats the level's words as the
    name and the target): the two cells after the 二级 level are the row's name and target, not two levels
    more; also where the name is numbered ('指标1:服务对象满意度') and only the target spells the level."""
    t = next(t for t in engine.templates() if t["template"] == "mof_project")
    rows, _, _ = _whole_form(t, merged=False)
    at = next(k for k, r in enumerate(rows) if "沿线群众满意度" in r)
    plain, numbered, done = list(rows[at]), list(rows[at]), list(rows[at])
    plain[2:4] = ["服务对象满意度", "服务对象满意度"]
    numbered[2:4] = ["指标1:服务对象满意度", "服务对象满意度"]
    done[2:5] = ["指标1:服务对象满意度", "服务对象满意度", "完成"]  # a qualitative actual: the points place them
    for row, actual in ((plain, "88%"), (numbered, "88%"), (done, "完成")):
        got = perfdata.read(_written([*rows[:at], row, *rows[at + 1:]], how, tmp_path / "form.txt"))
        ind = got["indicators"][~got["indicators"].is_budget_execution].iloc[-1]
        assert (ind.level2, ind["name"], ind.target_raw, ind.actual_raw, ind.weight, ind.score) == (
            "服务对象满意度指标", "服务对象满意度", "服务对象满意度", actual, 10, 8.5)
        assert len(got["indicators"][~got["indicators"].is_budget_execution]) == 5


@pytest.mark.parametrize("how", ["one-cell-per-line", "paragraphs", "one-line"])
def test_a_text_cell_printed_twice_shifts_the_row_by_one(how, tmp_path):
    """'为经济发展和社会稳定提供安全保障 | 社会稳定 | 完成 | 完成 | 10 | 10' (a cell copied twice in the published
    form, as in Xinglong's 省级城乡居民养老保险补助资金): one row, with its 分值 and 得分 (it was two rows)."""
    t = next(t for t in engine.templates() if t["template"] == "mof_project")
    rows, _, expect = _whole_form(t, merged=False)
    at = next(k for k, r in enumerate(rows) if "群众出行条件" in r)
    rows[at] = [*rows[at][:4], "明显改善", *rows[at][4:]]
    got = perfdata.read(_written(rows, how, tmp_path / "form.txt"))["indicators"]
    got = got[~got.is_budget_execution]
    assert len(got) == 5
    row = got[got["name"] == "群众出行条件"].iloc[0]
    assert (row.target_raw, row.actual_raw, row.weight, row.score) == ("明显改善", "明显改善", 20, 20)


@pytest.mark.parametrize("how", ["one-cell-per-line", "paragraphs", "one-line"])
def test_every_bundled_form_copied_without_its_grid_keeps_its_own_funding_rows(how, tmp_path):
    """The bundled documents copied without their rows: every form is found in its order, each with the number
    of funding rows the row reading gives it (a form printed without its title was read into the one before,
    and a header wrapped over two lines lost its rows), but Xinglong's 档案一体化管理工作经费, whose merged
    budget cell prints one figure twice (seven figures under six columns), and its rows left unread."""
    for name in ("hebei-xinglong", "henan-xinxiang", "ningxia-guyuan"):
        src = next(RAW.glob(f"{name}*.txt"))
        path = tmp_path / f"{name}.txt"
        path.write_text(_reserialise(src, how), encoding="utf-8")
        seq = []
        for tables in (perfdata.read(src), perfdata.read(path)):
            n = tables["funding"].groupby("form_id").size()
            f = tables["forms"].sort_values("line_start")
            seq.append([(r.project_name, int(n.get(r.form_id, 0))) for r in f.itertuples()])
        want, got = seq
        assert len(got) == len(want)
        assert [w for w, g in zip(want, got, strict=True) if w != g] == (
            [("档案一体化管理工作经费", 4)] if name == "hebei-xinglong" else [])


@pytest.mark.parametrize("how", ["one-cell-per-line", "paragraphs"])
def test_a_goal_printed_under_the_block_label_with_no_label_of_its_own(how, tmp_path):
    """Guyuan's '年度总体目标 | 保障…服务 | 年度总体目标完成情况综述:按时完成…': the text between the block's label
    and the 完成情况 label is the target (it was lost)."""
    t = next(t for t in engine.templates() if t["template"] == "mof_project")
    rows, _, _ = _whole_form(t, merged=False)
    at = next(k for k, r in enumerate(rows) if r[:1] == ["年度总体目标"])
    rows[at:at + 2] = [["年度总体目标", _GOALS[0], f"年度总体目标完成情况综述:{_GOALS[1]}"]]
    f = perfdata.read(_written(rows, how, tmp_path / "form.txt"))["forms"].iloc[0]
    assert (f.goal_planned, f.goal_achieved) == _GOALS


@pytest.mark.parametrize("how", ["one-cell-per-line", "one-line"])
def test_a_summary_copied_one_cell_per_line_with_level_words_in_its_header(how, tmp_path):
    """Xinxiang's 汇总表 copied one cell per line (or onto one line): '产出指标得分率' (a level word and 得分率, cut
    in two) is one column, and a 序号 after the 偏差原因 header cell is the first row's (they were joined, also
    with the name after it: '偏差原因1建档立卡…'; no row was read)."""
    head = ["序号", "项目名称", "全年预算数", "执行数", "执行率", "产出指标得分率", "效益指标得分率",
            "满意度指标得分率", "自评得分", "偏差原因"]
    rows = [["项目支出绩效自评结果汇总表"], head,
            ["1", "建档立卡优秀务工人员奖补", "16.06", "16.06", "100%", "100%", "91.67%", "94.7%", "96.97"],
            ["2", "事业单位招聘", "10", "1.33", "13.3%", "97.86%", "92.86%", "89.5%", "99.6"]]
    got = perfdata.read(_written(rows, how, tmp_path / "summary.txt"))["summary_rows"]
    assert got.project_name.tolist() == ["建档立卡优秀务工人员奖补", "事业单位招聘"]
    assert got.executed.tolist() == [16.06, 1.33] and got.total_score.tolist() == [96.97, 99.6]
    assert got.output_rate.tolist() == [100, 97.86] and got.satisfaction_rate.tolist() == [94.7, 89.5]


@pytest.mark.parametrize("how", ["one-cell-per-line", "paragraphs", "one-line"])
def test_a_header_field_label_printed_cut_short(how, tmp_path):
    """Xinxiang prints '实施单' for 实施单位 (headers.csv knows the spelling for the row reader, and now the token
    reader takes it from there too): the 主管部门 ends before it (it ran on: '…保障局实施单新乡县…')."""
    t = next(t for t in engine.templates() if t["template"] == "mof_project")
    rows, _, _ = _whole_form(t, merged=False)
    at = next(k for k, r in enumerate(rows) if "实施单位" in r)
    rows[at] = [c.replace("实施单位", "实施单") for c in rows[at]]
    f = perfdata.read(_written(rows, how, tmp_path / "form.txt"))["forms"].iloc[0]
    assert (f.department, f.unit) == ("某县交通运输局", "某县公路管理站")


@pytest.mark.parametrize("how", ["one-cell-per-line", "paragraphs"])
def test_a_note_ending_a_row_before_the_next_row_name_and_a_fraction_in_a_target(how, tmp_path):
    """Xinxiang's '职业技能鉴定补贴人均标准 | … | 0元 | 1 | 1 | 政策取消 | 社会保险补贴人均标准 | 单位应缴纳的…的2/3 |
    符合标准 | 3 | 3' copied one cell per line: 政策取消 is the row's 偏差原因 (the next row's 分值 and 得分 fall on
    figures after it, and would not with it as that row's name), and a target ending in a fraction is a
    target, not a row run together (both rows were misread)."""
    t = next(t for t in engine.templates() if t["template"] == "mof_project")
    rows, _, expect = _whole_form(t, merged=False)
    at = next(k for k, r in enumerate(rows) if "养护及时率" in r)
    rows[at] = [*rows[at][:-1], "雨季延误"]
    rows[at + 1] = [*rows[at + 1][:3], "不超过实际缴费额的2/3", "符合标准", *rows[at + 1][5:]]
    got = perfdata.read(_written(rows, how, tmp_path / "form.txt"))["indicators"]
    got = got[~got.is_budget_execution].set_index("name")
    assert len(got) == 5 and got.loc["养护及时率", "deviation_note"] == "雨季延误"
    assert tuple(got.loc["群众出行条件", ["target_raw", "actual_raw", "weight", "score"]]) == (
        "不超过实际缴费额的2/3", "符合标准", 20, 20)


@pytest.mark.parametrize("how", ["one-cell-per-line", "paragraphs", "one-line"])
def test_a_name_ending_in_a_level_word_and_a_value_before_a_method_starting_with_a_header_word(how, tmp_path):
    """Xinxiang's '创业担保贷款贴息资金服务对象满意度' is one name (its 服务对象满意度 was cut off as a level and read
    as the target); Guyuan's '全年 | 全年 | 完成值达到指标值, 记满分; …' (得分计算方法 after the values): the second
    全年 is the 全年实际值, not joined to the method's first word into the header 全年完成值."""
    t = next(t for t in engine.templates() if t["template"] == "beijing_project")
    rows, _, _ = _whole_form(t, merged=False)
    cols = t["indicator_columns"].split("|")
    at = next(k for k, r in enumerate(rows) if "沿线群众满意度" in r)
    rows[at][2] = "创业担保贷款贴息资金服务对象满意度"
    at = next(k for k, r in enumerate(rows) if "群众出行条件" in r)
    rows[at][3 + cols.index("target")] = rows[at][3 + cols.index("actual")] = "全年"
    rows[at][3 + cols.index("method")] = "完成值达到指标值, 记满分; 未达到指标值, 按B/A×该指标分值记分。"
    got = perfdata.read(_written(rows, how, tmp_path / "form.txt"))["indicators"]
    got = got[~got.is_budget_execution].set_index("name")
    assert len(got) == 5
    assert tuple(got.loc["创业担保贷款贴息资金服务对象满意度", ["target_raw", "actual_raw", "weight", "score"]]) == (
        "≥90%", "88%", 10, 8.5)
    assert tuple(got.loc["群众出行条件", ["target_raw", "actual_raw", "weight", "score"]]) == ("全年", "全年", 20, 20)


@pytest.mark.parametrize("how", ["one-cell-per-line", "paragraphs", "one-line"])
def test_a_method_sentence_that_names_labels_is_one_cell(how, tmp_path):
    """Guyuan's 得分计算方法 '同效益指标得分计算方法。' is a sentence (it ends with 。), not the labels it names: the
    row keeps its 得分 and no row '得分计算方法 | 。 | 10' is made under 效益指标."""
    t = next(t for t in engine.templates() if t["template"] == "beijing_project")
    rows, _, _ = _whole_form(t, merged=False)
    cols = t["indicator_columns"].split("|")
    at = next(k for k, r in enumerate(rows) if "沿线群众满意度" in r)
    rows[at][3 + cols.index("method")] = "同效益指标得分计算方法。"
    got = perfdata.read(_written(rows, how, tmp_path / "form.txt"))["indicators"]
    got = got[~got.is_budget_execution]
    assert got["name"].tolist()[-1] == "沿线群众满意度" and len(got) == 5
    assert tuple(got.iloc[-1][["level1", "method", "weight", "score"]]) == (
        "满意度指标", "同效益指标得分计算方法。", 10, 8.5)


def test_target_tables_kept_beside_forms_copied_without_their_grid(tmp_path):
    """Xianghe's 绩效目标表 (read by rows) and then Guyuan's forms copied one cell per line (read by tokens), in
    one document: the token reader's reading replaces the row reader's, and the target tables, which only
    the row reader reads, are read again, not dropped."""
    alone = perfdata.read(next(RAW.glob("hebei-xianghe*.txt")))
    path = tmp_path / "both.txt"
    path.write_text(next(RAW.glob("hebei-xianghe*.txt")).read_text(encoding="utf-8") + "\n\n"
                    + _reserialise(next(RAW.glob("ningxia-guyuan*.txt")), "one-cell-per-line"), encoding="utf-8")
    got = perfdata.read(path)
    assert len(got["forms"]) == 8 and (got["forms"].layout == "tokens").all()
    assert (len(got["targets"]), len(got["target_indicators"]), len(got["statements"])) == (41, 289, 27)
    cols = ["line", "level1", "level2", "level3", "target_raw", "target_value"]
    assert got["target_indicators"][cols].equals(alone["target_indicators"][cols])
    assert got["tables"].kind.value_counts()["target_table"] == alone["tables"].kind.value_counts()["target_table"]


@pytest.mark.parametrize("how", ["one-cell-per-line", "paragraphs"])
def test_the_narrative_of_a_document_copied_without_its_grid_is_read(how, tmp_path):
    """Xinxiang copied without its rows: the token reader reads its forms, and the figures of its 自评报告
    are still read as from the original (they were dropped with the row reader's reading the token reader
    replaces; a unit's report took the department as its subject, and a cell's ' |' stayed in the text)."""
    src = next(RAW.glob("henan-xinxiang*.txt"))
    orig = perfdata.read(src)["statements"]
    path = tmp_path / "copy.txt"
    path.write_text(_reserialise(src, how), encoding="utf-8")
    got = perfdata.read(path)
    st = got["statements"]
    assert (got["forms"].layout == "tokens").all() and len(got["forms"]) == 11

    def figures(t):
        return Counter(map(tuple, t[["subject", "metric", "value", "text"]].astype(str).values.tolist()))

    # every figure of the report, with its subject (a unit's report names the unit of the table above) and clause
    assert len(orig) == 118 and figures(st) == figures(orig)
    one = st[st.subject == "事业单位招聘"].set_index("metric").value.to_dict()
    assert {"budget_initial": 10.0, "executed": 1.33, "exec_rate": 13.3, "total_score": 99.6}.items() <= one.items()


@pytest.mark.parametrize("how", ["one-cell-per-line", "paragraphs", "one-line", "rows"])
def test_summary_rows_keep_the_unit_and_date_printed_above_the_table(how, tmp_path):
    """Xinxiang's 5 汇总表 read by the token reader (copied without rows, or rows kept): each row has the
    unit and 汇总时间 printed above its table, as the row reading gives them (none had them; copied onto one
    line, no row was read: a header cell cut at its space, '产出指标 得分率', ended the header, and a name cut at
    its spaces kept only its last piece)."""
    src = next(RAW.glob("henan-xinxiang*.txt"))
    if how == "rows":
        got = perfdata.read(src, reader="tokens")["summary_rows"]
    else:
        path = tmp_path / "copy.txt"
        path.write_text(_reserialise(src, how), encoding="utf-8")
        got = perfdata.read(path)["summary_rows"]
    orig = perfdata.read(src)["summary_rows"]

    def rows(t):  # (the 自评得分 of a table's last row too: no 序号 of a next row, though a number before prose)
        return Counter(tuple(map(str, r)) for r in zip(t.project_name, t.unit, t.summary_date, t.budget,
                                                            t.total_score, t.seq_label, strict=True))

    assert len(orig) == 22 and rows(got) == rows(orig)
    assert set(got.unit) == {"新乡县人力资源和社会保障局", "新乡县劳动就业服务中心", "新乡县农村社会养老管理中心",
                             "新乡县劳动保障监察大队"} and set(got.summary_date) == {"2022年7月11日"}


@pytest.mark.parametrize("unit, factor", [("元", 1e-4), ("万元", 1.0)])
def test_a_summary_copied_without_its_rows_reads_its_amounts_in_wan_yuan(unit, factor, tmp_path):
    """A 汇总表 whose money unit is printed above it ('单位:元'), one cell per line: amounts in 万元."""
    rows = [["某县部门(单位)项目支出自评汇总表"], [f"单位:{unit}"],
            ["单位名称", "某县交通运输局", "汇总时间", "2023年3月1日"],
            ["序号", "项目名称", "全年预算数", "执行数", "执行率", "自评得分"],
            ["1", "乡村公路养护经费", "1200000", "1100000", "91.67%", "95"],
            ["2", "农村客运补贴", "300000", "300000", "100%", "98"]]
    got = perfdata.read(_written(rows, "one-cell-per-line", tmp_path / "s.txt"))["summary_rows"]
    assert [(r.project_name, r.budget, r.executed, r.unit, r.summary_date) for r in got.itertuples()] == [
        ("乡村公路养护经费", round(1200000 * factor, 6), round(1100000 * factor, 6), "某县交通运输局", "2023年3月1日"),
        ("农村客运补贴", round(300000 * factor, 6), round(300000 * factor, 6), "某县交通运输局", "2023年3月1日")]


@pytest.mark.parametrize("how", ["one-cell-per-line", "paragraphs"])
def test_the_bundled_department_form_copied_without_its_grid(how, tmp_path):
    """Xinxiang's 部门（单位）整体绩效自评表 copied without its rows reads as its row reading: the department name
    ends at 年度履职目标 (it ran on through the goals and tasks), the goals, the 11 tasks and the budget block
    (部门预算总额, 财政性资金, 基本支出, 项目支出) are read, the template's 二级 names (工作目标, 预算配置 …) are levels
    and the project 二级 words under 履职效益 (可持续影响) names, the notes under the table end it (a 合计 in the
    report after them was taken for its total, and the notes' header words opened a block of rows). (Copied onto
    one line, the spaces inside its cells cut '任务 5 :…' and '1、资金来源: (1)财政性资金' apart: not read yet.)"""
    src = next(RAW.glob("henan-xinxiang*.txt"))
    path = tmp_path / "copy.txt"
    path.write_text(_reserialise(src, how), encoding="utf-8")
    want, got = perfdata.read(src), perfdata.read(path)
    cols = ["department", "year", "budget_total", "budget_fiscal", "budget_other", "budget_basic", "budget_project",
            "goals", "tasks", "goal_count", "task_count", "total_weight", "total_score"]
    w, g = want["department_forms"].iloc[0], got["department_forms"].iloc[0]
    assert [None if pd.isna(w[c]) else w[c] for c in cols] == [None if pd.isna(g[c]) else g[c] for c in cols]
    assert (g.department, g.budget_total, g.budget_basic, g.task_count) == (
        "新乡县人力资源和社会保障局", 1687.4, 782.69, 11)
    assert g.notes.startswith("注:1.自评采用打分评价的形式,满分为100分")
    key = ["level1", "level2", "name", "target_raw", "actual_raw", "weight", "score"]
    a = Counter(tuple(map(str, r)) for r in want["department_indicators"][key].values)
    b = Counter(tuple(map(str, r)) for r in got["department_indicators"][key].values)
    assert sum((a & b).values()) >= a.total() - 1 and b.total() == a.total()  # (one name wraps over two lines)


@pytest.mark.parametrize("how", ["one-cell-per-line", "paragraphs"])
def test_the_notes_under_a_form_are_read_with_their_numbered_lines(how, tmp_path):
    """Guyuan's '注: 1.…' and the lines numbered on from it ('2.定性根据…', '3.…', '4.…') are the form's notes, as
    the row reader reads them (only the first line was kept, the others were leftovers)."""
    src = next(RAW.glob("ningxia-guyuan*.txt"))
    path = tmp_path / "copy.txt"
    path.write_text(_reserialise(src, how), encoding="utf-8")
    want = perfdata.read(src)["forms"].set_index("project_name").notes
    got = perfdata.read(path)["forms"].set_index("project_name").notes
    assert (got.loc[want.index] == want).all() and want.str.count("\n").min() == 3


@needs_external
@pytest.mark.parametrize("file, want", [
    ("09_", {"budget_other": 585.62, "budget_basic": 900.47, "budget_project": 1025.2}),
    ("17_", {"budget_other": 2880.0, "budget_basic": 1768.16, "budget_project": 2985.5})])
def test_a_department_form_in_the_project_layout_reads_its_budget_lines_printed_with_their_figures(file, want):
    """Hunan's 部门整体支出绩效自评表 prints '其中:基本支出:900.47', '项目支出:1025.20' and '其他资金 | 585.62' under
    its funding grid: they are the department's budget lines (they were leftovers)."""
    t = perfdata.read(next(EXTERNAL.glob(f"{file}*.txt")))
    d = t["department_forms"].iloc[0]
    assert {k: float(d[k]) for k in want} == want
    assert not t["leftovers"].text.str.contains("基本支出|项目支出").any()


def test_the_copies_benchmark_counts_what_the_token_reader_reads_alike(capsys):
    """benchmarks/copies.py: one command for the token reader against the row reader on the bundled documents;
    its counts are the rows both readings have (Guyuan copied one cell per line: every form, fund row and
    indicator)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("benchmarks_copies", RAW.parents[1] / "benchmarks" / "copies.py")
    copies = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(copies)
    got = copies.compare(next(RAW.glob("ningxia-guyuan*.txt")), "one-cell-per-line", verbose=False)
    assert {k: got[k] for k in ("forms", "funding", "indicators")} == {
        "forms": (8, 8), "funding": (24, 24), "indicators": (68, 68)}
    assert copies.main(["--raw", str(RAW), "--how", "paragraphs"]) == 0
    assert "all: forms" in capsys.readouterr().out


@pytest.mark.parametrize("how", ["one-cell-per-line", "paragraphs", "one-line"])
def test_a_fund_row_by_source_whose_amounts_look_like_points(how, tmp_path):
    """'其中:当年财政拨款 | 5 | 5 | 5 | — | —' (Xinglong's 2024年保险资格认证 copied): the figures are the row's
    amounts, though 5 is a likely 分值 (its 年初预算数 was read as empty and its 全年执行数 as a 分值)."""
    rows = [["项目支出绩效自评表(2024年度)"], ["项目名称", "2024年保险资格认证"],
            ["主管部门", "某县人力资源和社会保障局"],
            ["项目资金(万元)", "年初预算数", "全年预算数", "全年执行数", "分值", "执行率", "得分"],
            ["年度资金总额", "5", "5", "5", "10分", "100%", "10"], ["其中:当年财政拨款", "5", "5", "5", "—", "—"],
            ["上年结转资金", "—", "—"],  # (the copy drops the empty 执行率 cell: five values under six columns)
            ["一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分"],
            ["产出指标", "数量指标", "认证人数", "≥5000人", "5200人", "90", "90"], ["总分", "100", "100"]]
    f = perfdata.read(_written(rows, how, tmp_path / "form.txt"))["funding"].set_index("fund_source")
    assert [float(f.loc["fiscal", c]) for c in ("budget_initial", "budget_full_year", "executed")] == [5, 5, 5]


@needs_external
@pytest.mark.parametrize("file, want", [("03_", (90.0, 89.974, 89.974)), ("08_", (43.2, 43.2, 37.24))])
def test_fund_rows_by_source_of_real_forms_read_as_printed(file, want):
    """Anhui's '其中:本年财政拨款 90 89.974 89.974' and Hebei's '其中:当年财政拨款 43.2 43.2 37.24' (one cell a
    paragraph): three amounts under 年初预算数 | 全年预算数 | 全年执行数 (they were read one column to the right)."""
    f = perfdata.read(next(EXTERNAL.glob(f"{file}*.txt")))["funding"]
    row = f[f.fund_source == "fiscal"].iloc[0]
    assert (row.budget_initial, row.budget_full_year, row.executed) == want


@needs_external
def test_several_goal_blocks_keep_their_number_and_points():
    """湖北 黄冈 (#06, run-on, traditional): 年度绩效目标1(40分) and 年度绩效目标2(40分) each head their own
    indicator header; every row keeps the goal it sits in and that goal's points, and the second block is
    not read as rows of the first (its label had been taken for a page-break repeat)."""
    t = perfdata.read(next(EXTERNAL.glob("06_*.txt")))
    ind = t["indicators"]
    assert list(zip(ind["name"], ind.goal_no, ind.goal_weight, ind.score, strict=True)) == [
        ("监测数据必须合格", 1, 40.0, 10.0), ("监测资料", 1, 40.0, 10.0), ("整编资料审核", 1, 40.0, 19.6),
        ("监测数据资料整编", 2, 40.0, 20.0), ("完成年度资料上报", 2, 40.0, 20.0)]
    assert not t["leftovers"].text.str.contains("(40分)", regex=False).any()


@needs_external
def test_a_part_of_the_total_run_together_is_read_where_it_equals_the_total():
    """北京 (#25, run-on): '其中:本年一般公共预算拨款310.2154.74' is 310.2 | 154.74, the total's own amounts
    (310.2154.741050%5 read before it); 310.2 | 15 | 4.74 also agrees to 0.1 (15 / 310.2 = 4.8%), but a
    rate cut out of a run without its % is read only where 分值 × 执行率 = 得分 confirms it."""
    t = perfdata.read(next(EXTERNAL.glob("25_*.txt")))
    fiscal = t["funding"].set_index("fund_source").loc["fiscal"]
    assert (fiscal.label, fiscal.budget_initial, fiscal.executed) == ("其中:本年一般公共预算拨款", 310.2, 154.74)
    assert pd.isna(fiscal.exec_rate_reported)


# 安徽 寿县 (external #05, there one cell per line) printed as a grid, with the 合计 row its excerpt cuts off
RUBRIC = [["2023年度部门整体支出绩效评价自评表"],
          ["单位", "寿县财政局"],
          ["序号", "一级指标", "二级指标", "三级指标", "指标分值", "指标解释", "指标说明及评分标准", "自评得分"],
          ["1", "规划(15分)", "基础信息(3分)", "基础信息完整性", "3", "预算基础信息是否符合相关规定。",
           "基础数据信息是否真实(1分)", "3"],
          ["2", "", "工作计划(6分)", "年度工作计划完整性", "3", "年度工作计划是否完整可行。", "是否完整可行(3分)", "3"],
          ["3", "", "", "年度工作计划明确性", "3", "年度工作计划是否明确可操作。", "是否明确可操作(3分)", "2.5"],
          ["4", "管理(45分)", "预算执行(20分)", "预算完成率", "5", "预算完成率=…", "100%计满分,每低于5%扣2分", "5"],
          ["合计", "", "", "", "14", "", "", "13.5"]]


@pytest.mark.parametrize("how", ["tabs", "xlsx", "docx", "pdf"])
def test_a_rubric_in_a_grid_reads_its_rows_and_its_total(how, tmp_path):
    """The 合计 row ended the rubric's rows and was then read by no one (no total, no leftover): its 指标分值
    and 自评得分 are the department form's total_weight and total_score."""
    import make_fixtures

    path = tmp_path / f"rubric.{'txt' if how == 'tabs' else how}"
    if how == "tabs":
        path.write_text("\n".join("\t".join(r) for r in RUBRIC) + "\n", encoding="utf-8")
    else:
        {"xlsx": lambda: make_fixtures.to_xlsx(RUBRIC, [0], path), "docx": lambda: make_fixtures.to_docx(RUBRIC, path),
         "pdf": lambda: make_fixtures.to_pdf(RUBRIC, path)}[how]()
    t = perfdata.read(path)
    d = t["department_forms"].iloc[0]
    assert (d.department, d.template, d.total_weight, d.total_score) == ("寿县财政局", "rubric", 14.0, 13.5)
    ind = t["department_indicators"]
    assert [(r.level1, r.level1_weight, r.level2, r.name, r.weight, r.score) for r in ind.itertuples()] == [
        ("规划", 15.0, "基础信息", "基础信息完整性", 3.0, 3.0),
        ("规划", 15.0, "工作计划", "年度工作计划完整性", 3.0, 3.0),
        ("规划", 15.0, "工作计划", "年度工作计划明确性", 3.0, 2.5),
        ("管理", 45.0, "预算执行", "预算完成率", 5.0, 5.0)]
    assert t["leftovers"].empty


def test_a_rubric_total_of_one_figure_is_the_score_unless_it_is_only_the_points_added_up():
    form = engine.Form(line_start=1)
    form.indicators = [engine.Indicator(2, 2, None, None, None, None, 1, "a", {"weight": "3", "score": "2"}),
                       engine.Indicator(3, 3, None, None, None, None, 2, "b", {"weight": "5", "score": "5"})]
    toks = [engine.Token("合计", 4, "total"), engine.Token("8", 4)]
    assert engine._rubric_total(toks, 0, form) == 2 and (form.total_weight, form.total_score) == (8.0, None)
    form.total_weight = None
    toks[1] = engine.Token("7", 4)
    assert engine._rubric_total(toks, 0, form) == 2 and (form.total_weight, form.total_score) == (None, 7.0)


@needs_external
def test_grid_only_header_words_are_not_cut_out_of_a_scrambled_dump():
    """广水 (#21, a PDF dump whose reading order is scrambled): its 项目权重 | 评价内容 | 分值 | 自评分 | 复核分
    rubric is read where the rows keep their cells (tests/test_forms.py), but its words are headers.csv `indicator_grid`
    spellings, which the token reader does not cut out of running text: no rows are made up from the dump
    ('告计', '1、单位财务管理制度' were read as indicator names when they were), the rubric stays a leftover."""
    t = perfdata.read(next(EXTERNAL.glob("21_*.txt")))
    assert t["indicators"].empty and t["forms"].total_score_reported.tolist() == [95.0]
    assert t["leftovers"].text.str.contains("项目决策2分").any()
    assert [w for w in ("评价内容", "项目权重", "支出数", "备注") if w in engine.vocabulary()] == []
