"""Concrete values read from the three bundled layouts (兴隆县 2024, 新乡县 2021, 固原市 2024)."""

import pandas as pd
import pytest
from conftest import GUYUAN, XINGLONG, XINXIANG, form_of, indicators_of
from factory import SPEC, render

from perfdata.ingest import combine, read_bytes
from perfdata.readers.text import read_text
from perfdata.tables import layout
from perfdata.tables.forms import read_form


def test_all_43_forms_found_and_complete(bundled):
    f = bundled["forms"]
    assert f.groupby("source_file").size().to_dict() == {XINGLONG: 24, XINXIANG: 11, GUYUAN: 8}
    assert f.complete.all()
    assert f.form_id.is_unique


def test_xinglong_employment_subsidy_funding(bundled):
    form = form_of(bundled, XINGLONG, "冀财社[2024]48号中央就业补助", nth=1)
    assert (form.budget_initial, form.budget_full_year, form.executed) == (626.0, 626.0, 622.58)
    assert (form.exec_rate_reported, form.exec_weight, form.exec_score_reported) == (99.45, 10.0, 5.0)
    assert (form.total_weight_reported, form.total_score_reported) == (100.0, 100.0)
    assert form.title == "冀财社[2024]48号中央就业补助资金项目支出绩效自评表"
    assert (form.line_start, form.funding_line, form.total_line) == (314, 322, 339)
    assert (form.department, form.unit, form.region, form.year) == (
        "兴隆县人力资源和社会保障局", "就业促进股", "兴隆县", 2024)
    assert not form.department_inferred and not form.unit_inferred


def test_xinglong_same_name_under_another_title(bundled):
    # the 205号 form prints the 48号 project name: both are kept, with their own titles
    first = form_of(bundled, XINGLONG, "冀财社[2024]48号中央就业补助", nth=0)
    assert first.title.startswith("冀财社[2023]205号")
    assert (first.executed, first.exec_rate_reported, first.total_score_reported) == (439.67, 88.0, 99.5)


def test_xinglong_shifted_funding_row(bundled):
    # "(万元)  年度资金总额  5 5 5 5 100%": numbers one cell to the right, no score printed
    form = form_of(bundled, XINGLONG, "工资网络审批系统建设经费")
    assert (form.budget_initial, form.executed, form.exec_weight, form.exec_rate_reported) == (5, 5, 5, 100)
    assert pd.isna(form.exec_score_reported)


@pytest.mark.parametrize("name, amount", [("工资网络审批系统建设经费", 5), ("技能鉴定考试工作经费", 1),
                                          ("城乡居民基础养老金提标县级补助", 1780.68)])
def test_xinglong_fund_row_by_source_under_a_shifted_header(bundled, name, amount):
    """'其中:当年财政拨款 | 5 | 5 | 5 | — | | —' a cell to the right of its header: the three figures are its
    年初预算数, 全年预算数 and 全年执行数 (a row by source prints no 分值 of its own; its 年初预算数 was read as
    empty and its 执行数 as the 分值)."""
    form = form_of(bundled, XINGLONG, name)
    f = bundled["funding"]
    row = f[(f.form_id == form.form_id) & (f.fund_source == "fiscal")].iloc[0]
    assert (row.budget_initial, row.budget_full_year, row.executed) == (amount, amount, amount)


def test_xinglong_split_header_and_extra_money_cell(bundled):
    form = form_of(bundled, XINGLONG, "档案一体化管理工作经费")
    assert (form.budget_initial, form.budget_full_year, form.executed, form.exec_score_reported) == (2, 2, 2, 10)
    lo = bundled["leftovers"]
    assert lo[(lo.form_id == form.form_id)][["line", "text"]].values.tolist() == [[485, "2"]]


def test_xinglong_satisfaction_block_with_budget_execution_row(bundled):
    form = form_of(bundled, XINGLONG, "印刷干部考核手册及劳动合同")
    ind = indicators_of(bundled, form.form_id)
    sat = ind[ind.level1 == "满意度指标"]
    assert sat.weight.sum() == 15  # printed 满意度 10分 beside them
    assert sat.level1_weight.tolist() == [10.0, 10.0]
    assert sat.is_budget_execution.tolist() == [False, True]
    last = sat.iloc[-1]
    assert (last["name"], last.target_raw, last.actual_raw, last.line) == ("预算执行率", "≥95%", "100%", 233)
    assert (last.target_op, last.target_value, last.direction) == ("≥", 95.0, "positive")


def test_xinglong_broken_words_and_level_only_rows(bundled):
    form = form_of(bundled, XINGLONG, "保险信息系统建设")
    ind = indicators_of(bundled, form.form_id)
    assert len(ind) == 10
    assert ind.loc[1, "name"] == "系统验收合格的模块占比率"
    assert ind.level1.tolist()[:4] == ["产出指标"] * 4
    assert form.unit == "兴隆县社会保险事业管理局"


def test_xinglong_empty_level1_on_continuation_rows(bundled):
    form = form_of(bundled, XINGLONG, "2024年省级城乡居民养老保险补助资金冀财社[2023]219号、[2023]204号")
    ind = indicators_of(bundled, form.form_id)
    eco = ind[ind.level2 == "生态效益指标"].iloc[0]
    assert (eco.level1, eco["name"], eco.target_raw, eco.actual_raw) == ("效益指标", "可持续发放", "可持续", "完成")
    assert pd.isna(eco.weight)  # no weight printed
    assert ind.iloc[-1].level1 == "满意度指标" and ind.iloc[-1].weight == 10


def test_xinglong_blank_department_inferred_from_document(bundled):
    form = form_of(bundled, XINGLONG, "劳务派遣人员经费(人社局)")
    assert form.department == "兴隆县人力资源和社会保障局" and form.department_inferred
    assert pd.isna(form.unit)  # no neighbour agrees: left blank


def test_xinglong_goal_printed_after_the_colon_of_its_label(bundled):
    """'预期目标' heads its column and the goal below starts with the label's colon ('：针对有鉴定需求的人…'):
    the goal is read without it."""
    form = form_of(bundled, XINGLONG, "技能鉴定考试工作经费")
    assert form.goal_planned == "针对有鉴定需求的人进行职业技能鉴定,有计划的组织鉴定考核和发证,发证率达到93%。"
    assert not bundled["forms"].goal_planned.dropna().str.match("[:：]").any()


@pytest.mark.parametrize("cell", ["：按时足额发放", "预期目标：按时足额发放", ":按时足额发放",
                                  "年初设定目标: 按时足额发放"])
def test_goal_read_without_its_label_and_colon(cell):
    from perfdata.tables.forms import _goal_text

    assert _goal_text(cell) == "按时足额发放"


def test_xinglong_untitled_form(bundled):
    forms = bundled["forms"]
    untitled = forms[(forms.source_file == XINGLONG) & forms.title.isna()]
    assert untitled.project_name.tolist() == ["档案管理"]
    assert untitled.line_start.tolist() == [104]


def test_xinxiang_funding_with_carryover(bundled):
    form = form_of(bundled, XINXIANG, "其他就业补助经费支出")
    fund = bundled["funding"]
    rows = fund[fund.form_id == form.form_id].set_index("fund_source")
    assert rows.loc["total", ["budget_initial", "budget_full_year", "executed"]].tolist() == [828.44] * 3
    assert rows.loc["fiscal", ["budget_initial", "executed"]].tolist() == [804.05, 828.44]
    assert rows.loc["carryover", ["budget_initial", "budget_full_year", "executed"]].tolist() == [
        24.39, 24.39, 828.44]
    assert rows.loc["other", "budget_initial"] == 0
    ind = indicators_of(bundled, form.form_id)
    assert len(ind) == 22
    cost = ind[ind["name"] == "职业技能鉴定补贴人均标准"].iloc[0]
    assert (cost.target_raw, cost.actual_raw, cost.weight, cost.deviation_note) == (
        "按技能鉴定实际缴费给予补贴", "0元", 1.0, "政策取消")


def test_xinxiang_adjusted_budget_and_blank_indicator_rows(bundled):
    form = form_of(bundled, XINXIANG, "事业单位招聘")
    assert (form.budget_initial, form.budget_full_year, form.executed, form.exec_rate_reported) == (
        10, 1.33, 1.33, 13.3)
    ind = indicators_of(bundled, form.form_id)
    # 16 "指标N:" rows, 8 with content
    assert len(ind) == 8
    assert ind[["level2", "indicator_no", "name"]].values.tolist()[:2] == [
        ["数量指标", 1, "事业单位招聘人数"], ["数量指标", 2, "公开招聘次数"]]
    assert ind.iloc[-1][["level1", "level1_weight", "target_raw", "actual_raw", "score"]].tolist() == [
        "满意度指标", 10.0, "≥95%", "98%", 9.8]


def test_xinxiang_rows_sliding_left(bundled):
    form = form_of(bundled, XINXIANG, "建档立卡优秀务工人员奖补")
    ind = indicators_of(bundled, form.form_id)
    cost = ind[ind.level2 == "成本指标"].iloc[0]
    assert (cost.level1, cost.target_raw, cost.actual_raw, cost.weight, cost.score) == (
        "产出指标", "符合标准", "符合", 10.0, 10.0)
    assert ind.level1_weight.dropna().unique().tolist() == [50.0, 30.0, 10.0]
    assert form.total_score_reported == 96.97


def test_xinxiang_deviation_note_and_cell_broken_over_lines(bundled):
    form = form_of(bundled, XINXIANG, "劳动保障监察日常办公经费")
    ind = indicators_of(bundled, form.form_id)
    cost = ind[ind.level2 == "成本指标"].iloc[0]
    assert (cost.target_raw, cost.actual_raw, cost.score) == ("4.54万元", "4.49万元", 9.0)
    assert cost.deviation_note.startswith("因案件比上年度减少")
    other = form_of(bundled, XINXIANG, "其他普惠发展支出")
    ind = indicators_of(bundled, other.form_id)
    row = ind[ind["name"] == "劳务派遣人员数"].iloc[0]
    assert (row.line, row.line_end, row.target_raw, row.weight) == (277, 279, "≤10人", 4.0)


def test_xinxiang_level_weight_split_off_its_level(bundled):
    form = form_of(bundled, XINXIANG, "社会保险经办工作经费")
    ind = indicators_of(bundled, form.form_id)
    first = ind.iloc[0]
    assert (first.level1, first.level1_weight, first.level2, first["name"]) == (
        "产出指标", 50.0, "数量指标", "通信光纤")
    assert len(ind) == 15 and ind.weight.sum() == 90


def test_xinxiang_unit_inferred_between_neighbours(bundled):
    form = form_of(bundled, XINXIANG, "劳动监察执法服装")
    assert (form.unit, form.unit_inferred) == ("新乡县劳动保障监察大队", True)
    assert (form.department, form.department_inferred) == ("新乡县人力资源和社会保障局", True)


def test_guyuan_layout_without_full_year_budget(bundled):
    form = form_of(bundled, GUYUAN, "社会保障卡预制卡及制卡机耗材费及电子印章经费")
    assert pd.isna(form.budget_full_year)
    assert (form.budget_initial, form.executed, form.exec_weight, form.exec_score_reported) == (5, 5, 10, 10)
    assert form.total_score_reported == 92 and form.layout == "weight|target|actual|method|score|note"
    assert form.notes.startswith("注: 1.得分一档最高不能超过该指标分值上限。")
    ind = indicators_of(bundled, form.form_id)
    assert len(ind) == 10
    stamp = ind[ind["name"] == "电子印章价格"].iloc[0]
    assert (stamp.target_raw, stamp.actual_raw) == ("75元/个", "75元/个")
    assert pd.isna(stamp.weight)
    social = ind[ind.level2 == "社会效益指标"].iloc[0]
    assert (social.level1, social.level1_weight, social.weight, social.score) == ("效益指标", 40.0, 10.0, 6.0)
    sus = ind[ind.level2 == "可持续影响指标"].iloc[0]
    assert sus.deviation_note == "继续推进社会保险事业高质量发展"


def test_guyuan_missing_execution_weight_and_last_form(bundled):
    form = form_of(bundled, GUYUAN, "社会保险网络专线维护费")
    assert form.exec_weight == 10  # blank in the 年度资金总额 row, printed in the header: "分值 (10分)"
    assert form.exec_score_reported == 10
    ind = indicators_of(bundled, form.form_id)
    assert len(ind) == 8  # the blank 生态效益 "指标1:" row with only template text is not an indicator
    last = form_of(bundled, GUYUAN, "国有企业退休人员社会化管理补助资金")
    assert last.total_score_reported == 90 and last.line_end == 369
    ind = indicators_of(bundled, last.form_id)
    assert ind.iloc[-1][["level1", "level1_weight", "weight", "score"]].tolist() == ["满意度指标", 20.0, 10, 10]


@pytest.mark.parametrize(
    "source, count",
    [(XINGLONG, 229), (XINXIANG, 122), (GUYUAN, 68)],
)
def test_indicator_counts(bundled, source, count):
    assert (bundled["indicators"].source_file == source).sum() == count


def test_nothing_dropped_silently(bundled):
    lo = bundled["leftovers"]
    lo = lo[lo.form_id.isin(bundled["forms"].form_id)]  # leftovers of the project forms
    assert sorted(lo[["line", "text"]].itertuples(index=False, name=None)) == [
        (485, "2"), (573, "完成"), (574, "完成"), (575, "完成")]
    assert set(lo.reason) == {"extra cell in a 项目资金 row", "extra cell in an indicator row"}



def _two_forms(first: str, second: str) -> dict[str, pd.DataFrame]:
    return combine([read_bytes((first + "\n\n" + second).encode("utf-8"), "two.txt")])


def test_equal_rows_share_their_reading_but_not_a_continuation():
    """Rows of equal text are read once (a shared memo); a cell continued on the next line in one form must
    not reach the same row of another form, and amounts that differ are each read."""
    first = render().replace("\t及时\t15\t15\t\n", "\t及时\t15\t15\t\n\t\t\t\t(按月)\n", 1)
    assert "(按月)" in first
    other = {**SPEC, "name": "另一项目", "funding": {**SPEC["funding"], "budget_initial": "80",
                                                      "executed": "70.2"}}
    t = _two_forms(first, render(other))
    f = t["forms"].set_index("project_name")
    assert f.loc["=公益性岗位补贴(测试)", ["budget_initial", "executed"]].tolist() == [120.0, 99.45]
    assert f.loc["另一项目", ["budget_initial", "executed"]].tolist() == [80.0, 70.2]
    ind = t["indicators"].merge(t["forms"][["form_id", "project_name"]], on="form_id")
    timely = ind[ind["name"] == "发放及时性"].set_index("project_name")
    assert timely.loc["=公益性岗位补贴(测试)", "target_raw"] == "及时(按月)"
    assert timely.loc["另一项目", "target_raw"] == "及时"
    assert timely.target_op.isna().all() and (~timely.quantitative).all()
    assert t["leftovers"].empty
    # the records themselves, not only the tables built from them
    rows = read_text((first + "\n\n" + render(other)).encode("utf-8")).rows
    starts = layout.find_tables(rows)
    forms = [read_form(rows, s.index, s.anchor, nxt.index if nxt else len(rows))[0]
             for s, nxt in zip(starts, [*starts[1:], None], strict=True)]
    assert [next(i.fields["target"] for i in f.indicators if i.name == "发放及时性") for f in forms] == [
        "及时(按月)", "及时"]


# 湖北 广水 财政预算支出项目绩效目标自评表 (external #21, there a scrambled PDF dump) printed as a grid: the amounts by
# source as columns over one unlabelled row of figures, 项目主管单位 / 项目负责人 / 自评总分:95 among the header
# fields, the goal beside its label, and a 项目决策 rubric between the goal and the indicators
GUANGSHUI = [["广水市财政预算支出项目绩效目标自评表"],
             ["项目名称", "乡村道路建设养护项目", "项目主管单位", "广水市交通运输局", "自评总分:95"],
             ["项目实施单位", "广水市交通运输局", "项目负责人", "孙章勇"],
             ["项目资金来源", "中央(万元)", "省、地(万元)", "本级(万元)", "其他(万元)", "合计(万元)", "执行数(万元)",
              "执行率"],
             ["", "", "", "309", "", "309", "309", "100%"],
             ["项目年度目标", "1.完成乡村道路建设养护里程300公里;"],
             ["项目权重", "评价内容", "", "分值", "自评分", "复核分", "评价标准及依据"],
             ["项目决策2分", "决策依据", "", "2", "2", "", "有项目年度工作计划或有上级文件计2分"],
             ["项目管理13分", "财务制度", "", "3", "3", "", "1、单位财务管理制度1分"],
             ["", "组织机构", "", "2", "2", "2", "有明确的绩效管理机构或专人负责2分"],
             ["一级指标", "二级指标", "指标名称(三级指标)", "年初指标值", "年终完成值", "自评分", "复核分", "评价标准"],
             ["产出指标40分", "数量指标15分", "乡村道路建设养护里程", "300公里", "300公里", "15", "", "提供佐证资料"],
             ["", "质量指标12分", "农村公路养护验收合格率", "100%", "100%", "12", "", ""]]


def _grid_file(rows, how: str, tmp_path):
    import make_fixtures

    path = tmp_path / f"form.{how if how in ('xlsx', 'docx', 'html') else 'txt'}"
    if how == "xlsx":
        make_fixtures.to_xlsx(rows, [0], path)
    elif how == "docx":
        make_fixtures.to_docx(rows, path)
    elif how == "html":
        body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows[1:])
        path.write_bytes(f'<meta charset="gbk"><p>{rows[0][0]}</p><table>{body}</table>'.encode("gbk"))
    else:
        path.write_text("\n".join("\t".join(r) for r in rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("how", ["tabs", "xlsx", "docx", "html"])
def test_funding_by_source_columns_and_fields_beside_the_project_name(how, tmp_path):
    import perfdata

    t = perfdata.read(_grid_file(GUANGSHUI, how, tmp_path))
    f = t["forms"].iloc[0]
    assert (f.project_name, f.department, f.unit) == ("乡村道路建设养护项目", "广水市交通运输局", "广水市交通运输局")
    assert (f.budget_full_year, f.executed, f.exec_rate_reported, f.total_score_reported) == (309, 309, 100, 95)
    assert f.goal_planned == "1.完成乡村道路建设养护里程300公里;" and pd.isna(f.goal_achieved)
    funding = [(r.fund_source, None if pd.isna(r.label) else r.label, r.budget_full_year,
                None if pd.isna(r.executed) else r.executed) for r in t["funding"].itertuples()]
    assert funding == [("total", None, 309.0, 309.0), ("fiscal", "本级(万元)", 309.0, None)]
    ind = t["indicators"].astype(object).where(t["indicators"].notna(), None)
    # the rubric of the project's 决策 and 管理 (项目权重 | 评价内容 | 分值 | 自评分 | 复核分 | 评价标准及依据): scored
    # rows of the form (its 自评总分 95 counts them), no longer leftovers
    assert [(r.level1, r.level1_weight, r.level2, r.name, r.target_raw, r.weight, r.score, r.score_reviewed,
             r.method) for r in ind.itertuples()] == [
        ("项目决策", 2.0, None, "决策依据", None, 2.0, 2.0, None, "有项目年度工作计划或有上级文件计2分"),
        ("项目管理", 13.0, None, "财务制度", None, 3.0, 3.0, None, "1、单位财务管理制度1分"),
        ("项目管理", 13.0, None, "组织机构", None, 2.0, 2.0, 2.0, "有明确的绩效管理机构或专人负责2分"),
        ("产出指标", 40.0, "数量指标", "乡村道路建设养护里程", "300公里", None, 15.0, None, "提供佐证资料"),
        ("产出指标", 40.0, "质量指标", "农村公路养护验收合格率", "100%", None, 12.0, None, None)]
    left = t["leftovers"].set_index("text").reason
    assert left.to_dict() == {"孙章勇": "value of a header field the form does not keep"}


def test_funding_by_source_columns_in_a_row_that_lost_its_empty_cells():
    """'309 309 309 100%' under 中央 | 省、地 | 本级 | 其他 | 合计 | 执行数 | 执行率: the total's columns take the
    figures they fit first (合计, 执行数, 执行率); the first 309 goes to a source column."""
    rows = [[c for c in r if c] for r in GUANGSHUI]
    t = combine([read_bytes(("\n".join("\t".join(r) for r in rows) + "\n").encode(), "guangshui.txt")])
    f = t["forms"].iloc[0]
    assert (f.budget_full_year, f.executed, f.exec_rate_reported) == (309, 309, 100)
    assert t["funding"].fund_source.tolist() == ["total", "fiscal"]


def test_the_template_of_a_form_read_by_rows_is_recorded(bundled):
    """forms.template for the row reader's forms too (it was null): the best match of the form's header cells and
    title among rules/templates.csv; a header that spells none of a template's markers is generic."""
    f = bundled["forms"]
    assert set(f[f.source_file == GUYUAN].template) == {"beijing_project"}  # 宁夏: 得分计算方法, no 全年预算数
    xinglong = f[f.source_file == XINGLONG].set_index("project_name").template
    assert (xinglong == "mof_project").sum() == 21 and xinglong["档案一体化管理工作经费"] == "generic_project"
    assert form_of(bundled, XINXIANG, "事业单位招聘").template == "generic_project"  # '全年执行', not 全年执行数


# 湖北 黄冈 项目绩效自评表 (external #06, there run-on traditional text) as a grid: the execution's points in the
# block's label, 预算数(A) | 执行数(B) | 执行率(B/A) | 得分(20分*执行率), two 年度绩效目标 blocks with no 分值 column
HUANGGANG = [["2020年度水土保持监测项目绩效自评表"],
             ["项目名称", "水土保持监测", "主管部门", "黄冈市水利和湖泊局"],
             ["预算执行情况(万元)(20分)", "", "预算数(A)", "执行数(B)", "执行率(B/A)", "得分(20分*执行率)"],
             ["", "年度财政资金总额", "10", "10", "100%", "20"],
             ["年度绩效目标1(40分)", "一级指标", "二级指标", "三级指标", "年初目标值(A)", "实际完成值(B)", "得分"],
             ["", "产出指标", "质量指标", "监测数据必须合格", "100%", "100%", "10"],
             ["年度绩效目标2(40分)", "一级指标", "二级指标", "三级指标", "年初目标值(A)", "实际完成值(B)", "得分"],
             ["", "产出指标", "质量指标", "监测数据资料整编", "100%", "100%", "20"],
             ["总分", "", "", "", "", "", "99.6"]]


@pytest.mark.parametrize("how", ["tabs", "xlsx"])
def test_the_execution_points_printed_in_the_funding_block_label(how, tmp_path):
    import perfdata

    t = perfdata.read(_grid_file(HUANGGANG, how, tmp_path))
    f = t["forms"].iloc[0]
    assert (f.budget_full_year, f.executed, f.exec_rate_reported, f.exec_weight, f.exec_score_reported) == (
        10, 10, 100, 20, 20)
    assert f.total_score_reported == 99.6 and f.template == "hubei_project"
    assert t["indicators"].name.tolist() == ["监测数据必须合格", "监测数据资料整编"]
    assert "预算执行情况(万元)(20分)" not in set(t["leftovers"].text)  # the block's label, read


# 云南 永德 (external #15, there an HTML table flattened with its rows misaligned) as a grid: amounts in 元 (the
# funding block's label says so), 指标性质 | 指标值 | 度量单位 apart with Yunnan's signs ≧ and ═
YONGDE = [["2022年度项目支出绩效自评表"], ["项目名称", "义务教育营养改善计划专项资金"],
          ["主管部门", "永德县教育体育局", "", "", "实施单位", "永德县明朗中学"],
          ["项目资金(元)", "", "年初预算数", "全年预算数", "全年执行数", "分值", "执行率", "得分"],
          ["", "年度资金总额", "", "387664.62", "387664.62", "10", "100%", "10"],
          ["", "其中:当年财政拨款", "", "387664.62", "387664.62元", "—", "", "—"],
          ["绩效指标", "一级指标", "二级指标", "三级指标", "指标性质", "指标值", "度量单位", "实际完成值", "分值",
           "得分"],
          ["", "产出指标", "质量指标", "营养改善计划覆盖率", "≧", "100", "%", "100%", "10", "10"],
          ["", "效益指标", "社会效益指标", "政策知晓率", "═", "100", "%", "98%", "10", "9"],
          ["总分", "", "", "", "", "", "", "", "100", "96"]]


@pytest.mark.parametrize("how", ["tabs", "xlsx", "html"])
def test_amounts_printed_in_yuan_are_held_in_wan_yuan(how, tmp_path):
    """The row reader took '项目资金(元)' for an unknown header cell and kept 387664.62 as 万元 (10,000 times the
    amount); a figure printed with its own unit ('387664.62元') is converted once."""
    import perfdata

    t = perfdata.read(_grid_file(YONGDE, how, tmp_path))
    f = t["forms"].iloc[0]
    assert (f.budget_full_year, f.executed, f.exec_rate_reported, f.amount_unit) == (38.766462, 38.766462, 100, "元")
    assert t["funding"].executed.tolist() == [38.766462, 38.766462]
    ind = t["indicators"]
    assert ind.target_raw.tolist() == ["≥100%", "=100%"] and ind.target_op.tolist() == ["≥", "="]
    assert t["leftovers"].empty


# 四川 部门预算项目支出绩效自评表 (external #01, there one cell per line) as a grid: 完成值 and 得分 blank as
# published, 指标性质 | 指标值 | 度量单位 apart, and the 合计 row printing only the weights' total
QINGSHEN = [["部门预算项目支出绩效自评表"], ["(2023年度)"], ["项目名称", "51000021R000000019951-工资性支出"],
            ["主管部门及代码", "青神县发展和改革局", "", "", "实施单位", "青神县发展和改革局本级"],
            ["项目预算执行情况(万元)", "", "年初预算", "调整后预算数", "预算执行数", "预算执行率", "权重", "得分",
             "原因"],
            ["", "总额", "238.93", "251.89", "251.89", "100.00%", "10", "", ""],
            ["", "财政资金", "238.93", "251.89", "251.89", "100.00%", "", "", ""],
            ["", "单位资金", "", "", "", "", "", "", ""],
            ["绩效指标", "一级指标", "二级指标", "三级指标", "指标性质", "指标值", "度量单位", "完成值", "权重", "得分",
             "未完成原因分析"],
            ["", "产出指标", "数量指标", "保障人数", "=", "35", "人", "", "45", "", ""],
            ["", "效益指标", "社会效益指标", "保障单位正常运转", "定性", "保障", "", "", "45", "", ""],
            ["合计", "", "", "", "", "", "", "", "100", "", ""]]


@pytest.mark.parametrize("how", ["tabs", "xlsx"])
def test_a_sichuan_form_with_its_values_blank_as_published(how, tmp_path):
    """Before: '人' (the unit) was read as the 完成值 and '定性' as the target (a text fits those columns better
    than the unit and nature columns), and '合计 | 100' was a second 总额 funding row."""
    import perfdata

    t = perfdata.read(_grid_file(QINGSHEN, how, tmp_path))
    f = t["forms"].iloc[0]
    assert (f.budget_initial, f.budget_full_year, f.executed, f.exec_weight, f.template) == (
        238.93, 251.89, 251.89, 10, "sichuan_project")
    assert (f.total_weight_reported, pd.isna(f.total_score_reported)) == (100, True)
    assert t["funding"].fund_source.tolist() == ["total", "fiscal", "other"]
    ind = t["indicators"]
    got = [(r.target_raw, r.nature, None if pd.isna(r.measure_unit) else r.measure_unit, pd.isna(r.actual_raw),
            r.weight) for r in ind.itertuples()]
    assert got == [("=35人", "=", "人", True, 45), ("保障", "定性", None, True, 45)]
    assert t["leftovers"].empty


# 湖北 黄冈 (external #06, there run-on) printed as a grid: the budget weight 20 in the block label, two
# 年度绩效目标N(40分) blocks each with its own header, 满意度指标 printed in the 二级 column under 效益指标 (the
# templates before 2021), and no 分值 column
HUANGGANG_GOALS = [["2020年度水土保持监测项目绩效自评表"],
                   ["项目名称", "水土保持监测", "主管部门", "黄冈市水利和湖泊局", "项目实施单位", "本单位"],
                   ["预算执行情况(万元)(20分)", "预算数(A)", "执行数(B)", "执行率(B/A)", "得分(20分*执行率)"],
                   ["年度财政资金总额", "10", "10", "100%", "20"],
                   ["年度绩效目标1(40分)", "一级指标", "二级指标", "三级指标", "年初目标值(A)", "实际完成值(B)",
                    "得分"],
                   ["", "产出指标", "质量指标", "监测数据必须合格", "100%", "100%", "10"],
                   ["", "效益指标", "满意度指标", "整编资料审核", "98%", "98%", "19.6"],
                   ["年度绩效目标2(40分)", "一级指标", "二级指标", "三级指标", "年初目标值(A)", "实际完成值(B)",
                    "得分"],
                   ["", "产出指标", "数量指标", "监测站点数", "5个", "5个", "20"],
                   ["总分", "", "", "", "", "", "69.6"]]


@pytest.mark.parametrize("how", ["tabs", "xlsx", "docx", "html"])
def test_several_goal_blocks_in_a_grid(how, tmp_path):
    import perfdata

    t = perfdata.read(_grid_file(HUANGGANG_GOALS, how, tmp_path))
    f = t["forms"].iloc[0]
    assert (f.budget_full_year, f.executed, f.exec_weight, f.exec_score_reported, f.total_score_reported) == (
        10, 10, 20, 20, 69.6)
    ind = t["indicators"]
    assert [(r.level1, r.level2, r.name, r.target_raw, r.score, r.goal_no, r.goal_weight)
            for r in ind.itertuples()] == [
        ("产出指标", "质量指标", "监测数据必须合格", "100%", 10.0, 1, 40.0),
        ("效益指标", "满意度指标", "整编资料审核", "98%", 19.6, 1, 40.0),
        ("产出指标", "数量指标", "监测站点数", "5个", 20.0, 2, 40.0)]
    assert ind.weight.isna().all()  # no 分值 column: none is made up
    assert t["leftovers"].empty


# 北京 (external #25, there run-on; the bundled 宁夏 forms are its family) printed as a grid: no 全年预算数, the
# fund row 其中:本年一般公共预算拨款, and a 得分计算方法 column in the indicators holding the form's own words
BEIJING = [["项目支出绩效自评表"], ["(2016年度)"],
           ["项目名称", "【体制】自管道路清扫保洁外包工作经费"],
           ["主管部门及代码", "北京市海淀区人民政府学院路街道办事处", "", "实施单位",
            "北京市海淀区学院路街道城市运行服务中心"],
           ["项目资金(万元)", "", "年初预算数(A)", "全年执行数(B)", "分值(10分)", "执行率(B/A)", "得分",
            "得分计算方法"],
           ["", "年度资金总额:", "310.2", "154.74", "10", "50%", "5", "执行率*该指标分值,最高不得超过分值上限。"],
           ["", "其中:本年一般公共预算拨款", "310.2", "154.74", "", "", "", ""],
           ["", "其他资金", "", "", "", "", "", ""],
           ["绩效指标", "一级指标", "二级指标", "三级指标", "分值", "年度指标值(A)", "全年实际值(B)", "得分计算方法",
            "得分", "未完成原因分析"],
           ["", "产出指标(50分)", "数量指标", "道路清扫保洁条数", "20", "20条", "20条", "B≥A,得满分", "20", ""],
           ["", "", "质量指标", "清扫保洁达标率", "15", "≥95%", "96%", "B/A*分值", "14.4", ""],
           ["", "效益指标(30分)", "社会效益指标", "环境改善", "30", "明显改善", "明显改善", "", "28", "个别路段"],
           ["总分", "", "", "", "65", "", "", "", "67.4", ""]]


@pytest.mark.parametrize("how", ["tabs", "xlsx", "docx", "html"])
def test_a_scoring_method_in_the_forms_own_words_and_the_general_budget_row(how, tmp_path):
    import perfdata

    t = perfdata.read(_grid_file(BEIJING, how, tmp_path))
    fund = [(r.fund_source, r.budget_initial, r.executed) for r in t["funding"].itertuples()
            if r.fund_source != "other"]
    assert fund == [("total", 310.2, 154.74), ("fiscal", 310.2, 154.74)]
    ind = t["indicators"]
    ind = ind[["name", "weight", "target_raw", "actual_raw", "method", "score", "deviation_note"]].astype(object)
    assert [tuple("" if pd.isna(v) else v for v in r) for r in ind.itertuples(index=False)] == [
        ("道路清扫保洁条数", 20.0, "20条", "20条", "B≥A,得满分", 20.0, ""),
        ("清扫保洁达标率", 15.0, "≥95%", "96%", "B/A*分值", 14.4, ""),
        ("环境改善", 30.0, "明显改善", "明显改善", "", 28.0, "个别路段")]
    assert t["leftovers"].empty


# 湖北 蔡甸 (external #18, there run-on): the fund rows under a 资金来源 column, the indicators under
# 年度绩效目标完成情况, and no 分值 or 得分 anywhere
CAIDIAN = [["2021年度区级森林防火专项经费项目绩效自评表"],
           ["项目名称", "区级森林防火专项经费"],
           ["主管部门", "区园林和林业局", "项目实施单位", "区园林和林业局"],
           ["预算执行情况(万元)", "资金来源", "预算数(A)", "执行数(B)", "执行率(B/A)"],
           ["", "一般预算内拨款", "63", "63", "100%"],
           ["", "合计", "63", "63", "100%"],
           ["年度绩效目标完成情况", "一级指标", "二级指标", "三级指标", "年初目标值", "实际完成值",
            "未完成原因及改进措施"],
           ["", "产出指标", "产出数量", "灭火设备配备率", "100%", "1000件", "达成预期指标"],
           ["", "", "产出质量", "森林火灾火因查明率", "不低于95%", "达成预期指标", ""]]


@pytest.mark.parametrize("how", ["tabs", "xlsx", "html"])
def test_fund_rows_under_a_source_column_and_no_points_anywhere(how, tmp_path):
    import perfdata

    t = perfdata.read(_grid_file(CAIDIAN, how, tmp_path))
    f = t["forms"].iloc[0]
    assert (f.budget_full_year, f.executed, f.exec_rate_reported) == (63, 63, 100)
    assert pd.isna(f.exec_weight) and pd.isna(f.total_score_reported)
    assert t["funding"].fund_source.tolist() == ["fiscal", "total"]
    ind = t["indicators"]
    assert [(r.name, r.target_raw, r.actual_raw) for r in ind.itertuples()] == [
        ("灭火设备配备率", "100%", "1000件"), ("森林火灾火因查明率", "不低于95%", "达成预期指标")]
    assert ind.weight.isna().all() and ind.score.isna().all()
    assert t["leftovers"].empty


# 安徽 萧县 衔接资金 绩效目标自评表 (external #13, there markdown-like rows) printed as a grid: 资金情况(万元) as the
# block's label, no 年初预算数, 分值 before the values, ★ core indicators and their 其中… sub-rows
XIANJIE = [["绩效目标自评表"], ["(2023年度)"],
           ["项目名称", "河西村特色种养补贴到户项目", "", "", "项目负责人及电话", "李宁0557-5788003"],
           ["主管部门", "县农业农村局", "", "", "实施单位", "张庄寨镇人民政府"],
           ["资金情况(万元)", "", "全年预算数(A)", "全年执行数(B)", "分值", "执行率(B/A)", "得分"],
           ["", "年度资金总额:", "9.48", "9.48", "10", "100%", "10"],
           ["", "其中:本年财政拨款", "9.48", "9.48", "", "", ""],
           ["", "其他资金", "-", "-", "", "", ""],
           ["绩效指标", "一级指标", "二级指标", "三级指标", "分值", "年度指标值", "全年实际值", "得分",
            "未完成原因及拟采取的改进措施"],
           ["", "产出指标(50分)", "数量指标", "★补助各类瓜果蔬菜种植面积", "20", "29.5亩", "29.5亩", "20", ""],
           ["", "", "", "其中桃树种植面积", "", "1.5亩", "1.5亩", "", ""],
           ["", "满意度指标(10分)", "服务对象满意度指标", "受益群众满意度", "10", "≥95%", "98%", "10", ""],
           ["总分", "", "", "", "40", "", "", "40", ""]]


@pytest.mark.parametrize("how", ["tabs", "xlsx", "docx", "html"])
def test_a_transfer_payment_form_in_a_grid(how, tmp_path):
    import perfdata

    t = perfdata.read(_grid_file(XIANJIE, how, tmp_path))
    f = t["forms"].iloc[0]
    assert (f.budget_initial is pd.NA, f.budget_full_year, f.executed, f.exec_weight, f.template) == (
        True, 9.48, 9.48, 10, "xianjie_target")
    ind = t["indicators"]
    assert [(r.name, r.weight, r.target_raw, r.score, bool(r.is_core)) for r in ind.fillna({"weight": -1}).itertuples()
            if r.weight != -1] == [("★补助各类瓜果蔬菜种植面积", 20.0, "29.5亩", 20.0, True),
                                   ("受益群众满意度", 10.0, "≥95%", 10.0, False)]
    child = ind.iloc[1]
    assert (child["name"], child.parent_seq, pd.isna(child.weight)) == ("其中桃树种植面积", 1, True)
    assert t["leftovers"].text.tolist() == ["李宁0557-5788003"]  # (a contact the form does not keep)


# 云南 永德 (external #15, there pipes misaligned) printed as a grid: 年度指标值 printed across a second header row
# 指标性质 | 指标值 | 度量单位, amounts in 元, and a grade beside the total
YONGDE_SPLIT = [["项目支出绩效自评表"], ["(2022年度)"],
                ["项目名称", "", "明朗中学学生营养改善计划"],
                ["主管部门", "", "永德县教育体育局", "", "", "", "实施单位", "", "临沧市永德县明朗中学"],
                ["项目资金(元)", "", "", "", "年初预算数", "全年预算数", "全年执行数", "分值", "执行率", "得分"],
                ["", "", "年度资金总额", "", "387,664.62", "387,664.62", "387,664.62", "10", "100%", "10"],
                ["绩效指标", "一级指标", "二级指标", "三级指标", "年度指标值", "", "", "实际完成值", "分值", "得分",
                 "偏差原因分析及改进措施"],
                ["", "", "", "", "指标性质", "指标值", "度量单位", "", "", "", ""],
                ["", "产出指标", "数量指标", "受益学生人数", "≥", "735", "人次", "735人次", "25", "25", ""],
                ["", "效益指标", "社会效益指标", "学生营养改善", "定性", "明显", "", "明显", "30", "28",
                 "部分学生挑食"],
                ["总分", "", "", "", "", "", "", "", "100", "98", "优"]]


def _yongde_html_with_spans() -> str:
    """The same form as a government page prints it: the header's 年度指标值 over three columns (colspan) and its
    other cells down two rows (rowspan), so the second header row holds only the three it splits into."""
    head = ('<tr><td rowspan="5">绩效指标</td><td rowspan="2">一级指标</td><td rowspan="2">二级指标</td>'
            '<td rowspan="2">三级指标</td><td colspan="3">年度指标值</td><td rowspan="2">实际完成值</td>'
            '<td rowspan="2">分值</td><td rowspan="2">得分</td><td rowspan="2">偏差原因分析及改进措施</td></tr>'
            '<tr><td>指标性质</td><td>指标值</td><td>度量单位</td></tr>')
    cells = lambda r: "<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>"  # noqa: E731
    top = "".join(cells([c for c in r if c]) for r in YONGDE_SPLIT[2:6])
    rows = "".join(cells(r[1:]) for r in YONGDE_SPLIT[8:10]) + cells(["总分"] + YONGDE_SPLIT[-1][8:])
    return f'<meta charset="utf-8"><p>{YONGDE_SPLIT[0][0]}</p><table>{top}{head}{rows}</table>'


@pytest.mark.parametrize("how", ["tabs", "xlsx", "docx", "html", "html-spans"])
def test_a_second_header_row_splits_the_target_column(how, tmp_path):
    """The row under the indicator header (指标性质 | 指标值 | 度量单位) was read as an indicator named 指标性质, and
    the rows' values as extra cells: it is the header's second row, whose columns replace the one it splits."""
    import perfdata

    if how == "html-spans":
        path = tmp_path / "form.html"
        path.write_text(_yongde_html_with_spans(), encoding="utf-8")
    else:
        path = _grid_file(YONGDE_SPLIT, how, tmp_path)
    t = perfdata.read(path)
    f = t["forms"].iloc[0]
    assert (f.budget_full_year, f.amount_unit, f.total_score_reported, f.grade_printed) == (38.766462, "元", 98, "优")
    ind = t["indicators"]
    assert [(r.name, r.target_raw, r.nature, r.actual_raw, r.weight, r.score) for r in ind.itertuples()] == [
        ("受益学生人数", "≥735人次", "≥", "735人次", 25.0, 25.0), ("学生营养改善", "明显", "定性", "明显", 30.0, 28.0)]
    assert t["leftovers"].empty


@pytest.mark.parametrize("how", ["tabs", "xlsx", "html"])
def test_goal_blocks_of_a_department_form_in_the_project_layout(how, tmp_path):
    """The same blocks in a 部门整体支出绩效自评表 (read by the token reader, cell by cell): each 年度绩效目标N(40分)
    cell opens its block, and department_indicators keep goal_no and goal_weight (the columns were missing)."""
    import perfdata

    rows = [["2020年度部门整体支出绩效自评表"], ["部门(单位)名称", "黄冈市水利和湖泊局"], *HUANGGANG_GOALS[2:]]
    t = perfdata.read(_grid_file(rows, how, tmp_path))
    assert t["forms"].empty
    ind = t["department_indicators"]
    assert list(zip(ind["name"], ind.goal_no, ind.goal_weight, strict=True)) == [
        ("监测数据必须合格", 1, 40.0), ("整编资料审核", 1, 40.0), ("监测站点数", 2, 40.0)]
    assert t["leftovers"].empty


@pytest.mark.parametrize("how", ["tabs", "xlsx", "docx", "html"])
def test_a_grid_in_traditional_characters_reads_as_its_simplified_twin(how, tmp_path):
    """A grid machine-converted to traditional characters (績效指標, 項目資金) was left to the token reader (the row
    reader's labels are simplified), which does not merge a second header row: four rows lost their figures. Its
    cells are simplified for both readers now, so it reads as the simplified form does."""
    import opencc

    import perfdata

    to_trad = opencc.OpenCC("s2t").convert
    t = perfdata.read(_grid_file([[to_trad(c) for c in r] for r in YONGDE_SPLIT], how, tmp_path))
    f = t["forms"].iloc[0]
    assert (f.project_name, f.budget_full_year, f.total_score_reported) == ("明朗中学学生营养改善计划", 38.766462, 98)
    ind = t["indicators"]
    assert [(r.name, r.target_raw, r.weight, r.score) for r in ind.itertuples()] == [
        ("受益学生人数", "≥735人次", 25.0, 25.0), ("学生营养改善", "明显", 30.0, 28.0)]
    assert t["leftovers"].empty
    assert t["problems"].message.str.contains("traditional characters converted").any()


# spellings of templates outside the development set, printed as a grid: 支出数 for the executed amount, fund rows
# by source (中央补助资金, 自筹资金), and an indicator header 指标内容 | 目标值 | 实际值 | 指标分值 | 自评分 | 备注
OTHER_SPELLINGS = [["项目支出绩效自评表"], ["(2023年度)"],
                   ["项目名称", "农村饮水安全维修养护"],
                   ["主管部门", "某县水利局", "实施单位", "某县农村供水站"],
                   ["项目资金(万元)", "", "年初预算数", "全年预算数", "支出数", "分值", "执行率", "得分"],
                   ["", "资金总额", "120", "135.5", "128.73", "10", "95%", "9.5"],
                   ["", "中央补助资金", "100", "100", "100", "", "", ""],
                   ["", "自筹资金", "20", "35.5", "28.73", "", "", ""],
                   ["绩效指标", "一级指标", "二级指标", "指标内容", "目标值", "实际值", "指标分值", "自评分", "备注"],
                   ["", "产出指标", "数量指标", "维修养护工程数量", "≥30处", "32处", "50", "50", ""],
                   ["", "效益指标", "社会效益指标", "受益人口", "≥5万人", "5.2万人", "30", "28", "部分延后"],
                   ["总分", "", "", "", "", "", "90", "87.5", ""]]


@pytest.mark.parametrize("how", ["tabs", "xlsx", "html"])
def test_spellings_of_other_templates(how, tmp_path):
    import perfdata

    t = perfdata.read(_grid_file(OTHER_SPELLINGS, how, tmp_path))
    f = t["forms"].iloc[0]
    assert (f.budget_full_year, f.executed, f.exec_rate_reported) == (135.5, 128.73, 95)
    assert [(r.fund_source, r.executed) for r in t["funding"].itertuples()] == [
        ("total", 128.73), ("fiscal", 100.0), ("other", 28.73)]
    ind = t["indicators"]
    assert [(r.name, r.target_raw, r.actual_raw, r.weight, r.score) for r in ind.itertuples()] == [
        ("维修养护工程数量", "≥30处", "32处", 50.0, 50.0), ("受益人口", "≥5万人", "5.2万人", 30.0, 28.0)]
    assert ind.deviation_note.tolist()[1] == "部分延后" and t["leftovers"].empty


@pytest.mark.parametrize("how", ["tabs", "xlsx", "html"])
def test_the_token_reader_reads_a_second_header_row_as_the_row_reader_does(how, tmp_path):
    """The token reader's cell-by-cell reading took a header over two rows for unreadable by cells: the split
    target (指标性质 | 指标值 | 度量单位) gave '≥' as the target, '735' as the actual, and lost 分值 and 得分."""
    import perfdata

    t = perfdata.read(_grid_file(YONGDE_SPLIT, how, tmp_path), reader="tokens")
    assert [(r.name, r.target_raw, r.actual_raw, r.weight, r.score) for r in t["indicators"].itertuples()] == [
        ("受益学生人数", "≥735人次", "735人次", 25.0, 25.0), ("学生营养改善", "明显", "明显", 30.0, 28.0)]
    assert t["leftovers"].empty
