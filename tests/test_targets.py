"""绩效目标表 of the 香河县 2023 budget disclosure, and variants made from its real lines."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import RAW, XIANGHE

from perfdata.ingest import combine, read_bytes

TEXT = (RAW / XIANGHE).read_text(encoding="utf-8")
LINES = TEXT.split("\n")

TITLES = [
    (1, "经费补助资金"), (2, "年终一次性奖"), (3, "办公用房租金"), (4, "高校毕业生人事档案管理专项经费"),
    (5, "劳动仲裁办案专项经费"), (6, "劳务派遣服务经费"), (7, "流动人员档案数字化管理经费"), (8, "培训经费"),
    (9, "人事管理经费"), (10, "社会保障队伍建设管理经费"),
    (11, "香河县政府系统事业单位工作人员2022年度考核奖励奖金专项经费"), (12, "招聘工作专项经费"),
    (13, "年终一次性奖"), (14, "创业扶持资金"), (15, "促就业资金"), (16, "公共就业服务经费"),
    (17, "冀财社【2022]】150号关于提前下达2023年中央就业补助资金预算指标的通知(中央-就业补助资金)"),
    (18, "冀财社【2022]】162号关于提前下达2023年省级就业补助资金预算指标的通知(就业创业补助资金)"),
    (19, "就业帮扶资金"), (20, "灵活就业人员档案管理经费"), (21, "日常业务经费"), (22, "奖励性绩效工资"),
    (23, "年终一次性奖"), (24, "财政对机关事业单位养老保险基金的补助"), (25, "财政负担职业年金"),
    (26, "城乡居民养老保险办公经费"), (27, "城乡居民养老保险县级配套资金"), (28, "工伤保险管理中心办公经费"),
    (29, "工伤网报系统技术服务费用"),
    (30, "冀财社【2022】145号关于提前下达2023年中央财政城乡居民基本养老保险补助经费补助的通知(城乡居民基本养老保险)"),
    (31, "冀财社【2022】151号关于提前下达2023年中央财政机关事业单位养老保险制度改革补助经费预算的通知"
         "(机关事业单位基本养老保险)"),
    (32, "冀财社【2022】170号关于提前下达2023年省级城乡居民基本养老保险补助资金预算的通知(城乡居民基本养老保险)"),
    (33, "冀财社【2022】170号关于提前下达2023年省级城乡居民基本养老保险补助资金预算的通知(城乡居民基本养老保险)"),
    (34, "冀财社【2022】174号关于提前下达2023年省级城乡居民社会保险代办员补助资金预算指标的通知"),
    (35, "扩面征缴工作专项经费"), (36, "企业退休社会化管理经费"), (37, "企业养老保险专项经费"), (38, "社保工作经费"),
    (39, "社会保险个人权益记录单邮寄经费"), (40, "社会保险业务档案一体化管理信息系统费用"), (41, "信息网络维护经费"),
]


def read(text: str, encoding: str = "utf-8", name: str = "variant.txt") -> dict[str, pd.DataFrame]:
    out = combine([read_bytes(text.encode(encoding), name)])
    return {t: out[t] for t in ("targets", "target_indicators", "leftovers", "problems", "tables", "forms")}


def lines(a: int, b: int) -> list[str]:
    """Source lines a..b (1-based, inclusive)."""
    return LINES[a - 1 : b]


def indicators(tables, project: str) -> pd.DataFrame:
    t = tables["targets"]
    tid = t[t.project_name == project].target_id
    assert len(tid) == 1, f"{project!r}: {len(tid)} tables"
    ind = tables["target_indicators"]
    return ind[ind.target_id == tid.iloc[0]].reset_index(drop=True)


@pytest.fixture(scope="module")
def xianghe(bundled):
    return {t: bundled[t][bundled[t].source_file == XIANGHE] for t in bundled}


def test_all_41_tables_with_number_and_title(xianghe):
    t = xianghe["targets"]
    assert list(zip(t.table_no, t.project_name, strict=True)) == TITLES
    assert t.title.iloc[0] == "1.经费补助资金" and t.title.iloc[5] == "6.劳务派遣服务经费绩效目标表"
    assert t.line_start.tolist()[:3] == [114, 177, 242] and t.line_end.iloc[-1] == 2710
    assert (t.year == 2023).all() and t.year_inferred.all()
    assert (t.department == "香河县人力资源和社会保障局").all() and t.department_inferred.all()
    assert (t.indicator_count >= 7).all() and t.indicator_count.sum() == len(xianghe["target_indicators"]) == 289
    assert xianghe["leftovers"].empty and not xianghe["problems"].severity.isin(["error", "warning"]).any()


def test_labour_dispatch_targets(xianghe):
    ind = indicators(xianghe, "劳务派遣服务经费")
    assert len(ind) == 7 and ind.line.tolist()[0] == 448
    first, cost = ind.iloc[0], ind[ind.level2 == "成本指标"].iloc[0]
    assert (first.level1, first.level2, first.level3, first.description) == (
        "产出指标", "数量指标", "劳务派遣人员数量", "服务劳务派遣人员数量")
    assert (first.target_raw, first.target_op, first.target_value, first.target_unit, first.direction) == (
        "≥3690人", "≥", 3690, "人", "positive")
    assert (cost.target_raw, cost.target_op, cost.target_value, cost.target_unit, cost.direction) == (
        "≤720元", "≤", 720, "元", "ceiling")
    assert cost.basis == "根据预算申请明细" and cost.level1 == "产出指标" and pd.isna(cost.level1_printed)
    benefit = ind[ind.level2 == "社会效益指标"].iloc[0]
    assert (benefit.level1, benefit.level1_printed) == ("效益指标", "效果指标")


def test_ratio_targets_read_as_percent(xianghe):
    ind = indicators(xianghe, "创业扶持资金")
    sat = ind[ind.level1 == "满意度指标"].iloc[0]
    assert (sat.target_raw, sat.target_value, sat.target_unit, sat.direction) == ("≥95比率", 95, "%", "positive")
    qual = ind[ind.level2 == "可持续影响指标"].iloc[0]
    assert qual.target_raw == "有助于促进就业" and not qual.quantitative and pd.isna(qual.direction)


def test_goal_text_over_quoted_lines(xianghe):
    t = xianghe["targets"].set_index("table_no")
    goal = t.goal[26].split("\n")
    assert len(goal) == 3 and goal[1].startswith("目标内容2:2023年度") and goal[2].startswith("目标内容3:")
    assert '"' not in "".join(t.goal.dropna())
    assert t.goal[32].endswith("个人账户建立与管理及代缴工作")  # quoted cell broken over lines 2101-2102
    assert t.goal_line[1] == 115 and t.header_line[1] == 118


def test_budget_stated_in_the_goal(xianghe):
    t = xianghe["targets"].set_index("table_no")
    assert (t.budget[14], t.budget[15], t.budget[17], t.budget[19]) == (100, 20, 1059, 9.6)
    assert t.budget_source[14] == "goal" and pd.isna(t.budget[1])


def test_cell_broken_over_lines_is_joined(xianghe):
    ind = indicators(xianghe, "劳动仲裁办案专项经费")
    assert "加强劳动关系调解仲裁" in ind.level3.tolist()


def test_levels_missing_or_repeated(xianghe):
    ind = indicators(xianghe, "财政负担职业年金")
    assert len(ind) == 8
    # the 满意度 row without its level-1 cell: its level 2 says where it belongs
    sat = ind[ind.level2 == "服务对象满意度指标"].iloc[0]
    assert sat.level1 == "满意度指标" and sat.level1_inferred
    # "满意度指标 | 数量指标" as printed: kept, and pointed out
    last = ind.iloc[-1]
    assert (last.level1, last.level2) == ("满意度指标", "数量指标")
    p = xianghe["problems"]
    assert p[p.line == last.line].message.str.contains("数量指标").any()
    repeated = indicators(xianghe, "公共就业服务经费")
    assert repeated.level2.tolist().count("数量指标") == 2 and len(repeated) == 8


# -- variants -----------------------------------------------------------------------------------------

DISPATCH = "\n".join(lines(436, 496))  # table 6, title to the blank line after its last row
PREAMBLE = "\n".join(lines(1, 3))  # department and year lines of the disclosure


def _dispatch_values(tables):
    ind = indicators(tables, "劳务派遣服务经费")
    return ind[["level1", "level2", "level3", "description", "target_raw", "basis"]].values.tolist()


@pytest.fixture(scope="module")
def dispatch_expected():
    return _dispatch_values(read(PREAMBLE + "\n\n" + DISPATCH))


def test_variant_other_spacing(dispatch_expected):
    text = DISPATCH.replace("≥3690人", "≥ 3690 人").replace("≤720元", "≤ 720 元").replace("\t服务劳务", "\t 服务 劳务")
    tables = read(PREAMBLE + "\n\n\n" + text.replace("\n\n", "\n\n\n"))
    assert _dispatch_values(tables) == dispatch_expected
    assert tables["targets"].year.tolist() == [2023]


def test_variant_gbk(dispatch_expected):
    tables = read(PREAMBLE + "\n\n" + DISPATCH, encoding="gbk")
    assert _dispatch_values(tables) == dispatch_expected


def test_variant_missing_level_cells():
    # every level-1 cell blanked: each row's level 2 tells its level 1
    text = DISPATCH
    for level in ("\t产出指标\n", "\t效果指标\n", "\t满意度指标\n"):
        text = text.replace(level, "\t\n")
    ind = indicators(read(text), "劳务派遣服务经费")
    assert ind.level1.tolist() == ["产出指标"] * 4 + ["效益指标"] * 2 + ["满意度指标"]
    assert ind.level1_inferred.tolist() == [True, False, False, False, True, False, True]


def test_variant_quoted_cell_over_lines(dispatch_expected):
    text = DISPATCH.replace("\t服务劳务派遣人员数量\n", '\t"服务劳务派遣\n人员数量"\n')
    assert _dispatch_values(read(text)) == dispatch_expected


def test_variant_tab_rows_with_quoted_cell_over_lines():
    """The same table exported one row per line (tab-separated), a cell quoted over two lines."""
    rows = ["6.劳务派遣服务经费绩效目标表", "", "绩效目标\t保障劳务派遣人员服务工作", "",
            "一级指标\t二级指标\t三级指标\t绩效指标描述\t指标值\t指标值确定依据",
            "产出指标\t数量指标\t劳务派遣人员数量\t\"服务劳务派遣\n人员数量\"\t≥3690人\t根据实际统计",
            "\t成本指标\t预算控制数\t年人均预算控制数\t≤720元\t根据预算申请明细",
            "满意度指标\t服务对象满意度指标\t劳务派遣人员满意度\t劳务派遣人员满意度\t≥95%\t根据实际调查"]
    tables = read("\n".join(rows))
    ind = indicators(tables, "劳务派遣服务经费")
    assert ind.description.tolist()[0] == "服务劳务派遣人员数量" and ind.line_end.tolist()[0] == 7
    assert ind.target_raw.tolist() == ["≥3690人", "≤720元", "≥95%"]
    assert ind.level1.tolist() == ["产出指标", "产出指标", "满意度指标"] and tables["leftovers"].empty


def test_variant_reordered_columns(dispatch_expected):
    """指标值 before 绩效指标描述: columns are found from the header, not by position."""
    out = []
    for block in DISPATCH.strip("\n").split("\n\n"):
        cells = block.split("\n")
        if len(cells) == 6 and cells[0].startswith("\t"):
            cells[3], cells[4] = cells[4], cells[3]
        out.append("\n".join(cells))
    assert _dispatch_values(read("\n\n".join(out))) == dispatch_expected


def test_variant_split_across_pages(dispatch_expected):
    """A page break inside the table: page number and the header repeated."""
    header = "\n".join(lines(441, 446))
    text = DISPATCH.replace("\n\n\t效果指标", f"\n\n\n- 7 -\n\n{header}\n\n\t效果指标", 1)
    tables = read(text)
    assert _dispatch_values(tables) == dispatch_expected
    assert len(tables["targets"]) == 1 and (tables["tables"].kind == "target_table").sum() == 1
    assert tables["leftovers"].text.tolist() == ["- 7 -"]


def _spaced(text: str) -> list[str]:
    rows = []
    for block in text.split("\n\n"):
        cells = [c.strip("\t") for c in block.split("\n") if c.strip("\t")]
        rows.append("    ".join(cells))
    return rows


def test_variant_spaces_layout_drops_empty_cells(dispatch_expected):
    """Cells separated by runs of spaces: blank level cells vanish, the others are aligned from the right."""
    tables = read("\n\n".join(_spaced(DISPATCH)))
    assert _dispatch_values(tables) == dispatch_expected


def test_variant_spaces_layout_split_across_pages(dispatch_expected):
    rows = _spaced(DISPATCH)
    tables = read("\n".join(rows[:8] + ["", "第 7 页", ""] + rows[8:]))
    assert _dispatch_values(tables) == dispatch_expected and tables["leftovers"].text.tolist() == ["第 7 页"]


def test_variant_template_with_project_rows_is_a_target_table_not_a_form():
    text = "\n".join([
        "项目支出绩效目标表", "(2024年度)",
        "项目名称\t公益性岗位补贴", "主管部门\t某某县人力资源和社会保障局\t实施单位\t某某县就业服务中心",
        "项目资金(万元)\t年度资金总额\t120", "\t其中:财政拨款\t120",
        "年度绩效目标\t保障公益性岗位补贴按时足额发放",
        "绩效指标\t一级指标\t二级指标\t三级指标\t指标值",
        "\t产出指标\t数量指标\t补贴人数\t≥300人",
        "\t满意度指标\t服务对象满意度指标\t服务对象满意度\t≥90%",
    ])
    tables = read(text)
    assert tables["forms"].empty
    t = tables["targets"].iloc[0]
    assert (t.project_name, t.department, t.unit, t.budget, t.budget_source, t.year) == (
        "公益性岗位补贴", "某某县人力资源和社会保障局", "某某县就业服务中心", 120, "table", 2024)
    assert t.goal == "保障公益性岗位补贴按时足额发放" and not t.year_inferred
    ind = tables["target_indicators"]
    assert ind.target_raw.tolist() == ["≥300人", "≥90%"] and ind.level3.tolist()[0] == "补贴人数"


def test_numbering_gaps_and_repeats_reported():
    text = "\n".join(lines(114, 176) + lines(436, 496) + [""] + lines(371, 435)).replace("5.劳动仲裁", "6.劳动仲裁")
    tables = read(text)
    assert tables["targets"].table_no.tolist() == [1, 6, 6]
    msgs = " ".join(tables["problems"].message)
    assert "number 6 printed twice" in msgs and "missing from the numbering: 2, 3, 4, 5" in msgs
