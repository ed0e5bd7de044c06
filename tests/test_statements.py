"""Figures stated in narrative text: bundled reports and disclosure, and variants of their sentences."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import GUYUAN, RAW, XIANGHE, XINGLONG, XINXIANG

from perfdata import schema
from perfdata.ingest import read_bytes
from perfdata.tables import statements

XX_LINES = (RAW / XINXIANG).read_text(encoding="utf-8").split("\n")


def read(text: str, encoding: str = "utf-8") -> pd.DataFrame:
    return schema.frame("statements", read_bytes(text.encode(encoding), "variant.txt").tables.get("statements", []))


def figures(st: pd.DataFrame, subject: str) -> dict[str, float]:
    s = st[st.subject == subject]
    return dict(zip(s.metric, s.value, strict=True))


@pytest.fixture(scope="module")
def xinxiang(bundled):
    s = bundled["statements"]
    return s[s.source_file == XINXIANG]


def test_project_figures_of_the_bureau_report(xinxiang):
    s = xinxiang[xinxiang.subject == "事业单位招聘"]
    assert set(s.subject_kind) == {"project"} and set(s.line) == {152, 172}
    assert figures(xinxiang, "事业单位招聘") == {
        "budget_initial": 10, "executed": 1.33, "exec_rate": 13.3, "total_score": 99.6, "output_rate": 97.86,
        "benefit_rate": 92.86, "satisfaction_rate": 89.5}
    first = s.iloc[0]
    assert (first.value_text, first.value_unit, first.section_line) == ("10万元", "万元", 146)
    assert first.text == "1、事业单位招聘:年初预算为10万元,支出决算为1.33万元"


def test_scores_per_level_and_grades(xinxiang):
    assert figures(xinxiang, "其他就业补助经费支出") == {
        "budget": 828.44, "executed": 828.44, "total_score": 100, "exec_score": 10, "output_score": 50,
        "benefit_score": 30, "satisfaction_score": 10}
    unit = xinxiang[xinxiang.subject == "新乡县农村社会养老管理中心"]
    assert set(unit.subject_kind) == {"unit"}
    assert figures(xinxiang, "新乡县农村社会养老管理中心")["total_score"] == 98
    grade = unit[unit.metric == "grade"].iloc[0]
    assert (grade.value_text, grade.line) == ("优", 408) and pd.isna(grade.value)
    dept = xinxiang[(xinxiang.subject_kind == "department") & (xinxiang.metric == "grade")]
    assert dept.line.tolist() == [963] and dept.subject.tolist() == ["新乡县人力资源和社会保障局"]


def test_subject_from_the_heading_above_and_a_sentence_broken_over_lines(xinxiang):
    s = xinxiang[xinxiang.subject == "办公经费"]
    assert s.set_index("metric").value.to_dict() == {
        "output_score": 49, "benefit_score": 30, "satisfaction_score": 10, "total_score": 99, "exec_score": 10}
    # "…其中项" / "目资金执行得分 10 分" (lines 572/574): the figure is on line 574
    assert s[s.metric == "exec_score"].line.tolist() == [574]


def test_clauses_naming_their_project(xinxiang):
    s = xinxiang[xinxiang.line == 508]
    assert s.groupby("subject").metric.apply(list).to_dict() == {
        "自筹人员工资及社保缴费": ["budget_fiscal", "carryover", "executed"],
        "劳动保障监察日常办公经费": ["budget_fiscal", "carryover", "executed"],
        "劳动监察执法服装": ["budget_fiscal", "carryover", "executed"]}
    assert figures(xinxiang, "劳动保障监察日常办公经费") == {"budget_fiscal": 3.81, "carryover": 0.73, "executed": 4.49}


def test_department_figures(xinxiang):
    d = xinxiang[(xinxiang.subject_kind == "department") & (xinxiang.line == 823)]
    assert d.set_index("metric").value.to_dict() == {
        "budget_total": 1693.24, "basic_expenditure": 690.71, "project_expenditure": 1002.53, "executed": 1687.4,
        "balance": 5.84, "exec_rate": 96.66}
    scores = xinxiang[(xinxiang.line.isin([813, 815]))].set_index("metric").value.to_dict()
    assert scores == {"total_score": 94.99, "input_score": 15, "process_score": 25, "output_score": 30,
                      "benefit_score": 25.5}
    # "政府采购执行率100%" is not the department's execution rate
    dept = xinxiang[xinxiang.subject_kind == "department"]
    assert 100 not in dept[dept.metric == "exec_rate"].value.tolist()


def test_figures_inside_tables_are_not_statements(bundled):
    s = bundled["statements"]
    assert not s.source_file.isin([XINGLONG, GUYUAN]).any()
    x = s[s.source_file == XINXIANG]
    for f in bundled["forms"][bundled["forms"].source_file == XINXIANG].itertuples():
        assert not x.line.between(f.line_start, f.line_end).any(), f.project_name
    assert not x.line.between(135, 145).any() and not x.line.between(669, 744).any()  # summary, department form
    t = bundled["targets"]
    h = s[s.source_file == XIANGHE]
    for row in t[t.source_file == XIANGHE].itertuples():
        assert not h.line.between(row.line_start, row.line_end).any()


def test_budget_totals_of_the_disclosure(bundled):
    s = bundled["statements"]
    s = s[s.source_file == XIANGHE]
    assert set(s.subject) == {"香河县人力资源和社会保障局"} and set(s.subject_kind) == {"department"}
    v = s.groupby("metric").value.first().to_dict()
    assert (v["income_total"], v["expenditure_total"], v["basic_expenditure"], v["project_expenditure"]) == (
        39151.12, 39151.12, 3194.81, 35956.31)
    assert (v["three_public"], v["operating_expenses"], v["three_public_abroad"], v["procurement_budget"]) == (
        3.42, 143.47, 0, 0)
    assert (v["budget_total_change"], v["basic_expenditure_change"], v["fixed_assets"]) == (-1134.93, 919.22, 71.8)
    assert s[s.metric == "procurement_budget"].line.tolist() == [2716]  # after the last target table


# -- variants --------------------------------------------------------------------------------------------

def test_variant_spacing_and_full_width_digits():
    s = read("项目支出绩效自评总结报告\n\n1、事业单位招聘：总分：９９.６ 分，产出指标完成 97.86 %，评论等次为“良”。\n")
    assert set(s.subject) == {"事业单位招聘"}
    assert s.set_index("metric").value_text.to_dict() == {"total_score": "99.6分", "output_rate": "97.86%",
                                                          "grade": "良"}
    assert s.set_index("metric").value.dropna().to_dict() == {"total_score": 99.6, "output_rate": 97.86}


def test_variant_gbk_and_lines_broken_anywhere():
    text = "\n".join(XX_LINES[145:160]).replace("支出决算为 1.33", "支出决\n\n算为 1.33")
    s = read(text, encoding="gbk")
    assert figures(s, "事业单位招聘") == {"budget_initial": 10, "executed": 1.33, "exec_rate": 13.3}
    # source line 152, cut from line 146 and broken inside "支出决算": the figure is on the second part
    assert s[(s.metric == "executed") & (s.subject == "事业单位招聘")].line.tolist() == [9]


def test_variant_changes_are_signed():
    s = read("某某县人力资源和社会保障局\n"
             "2024年预算收支安排100万元，较2023年预算减少12.5万元，其中：基本支出增加3万元。\n")
    v = s.set_index("metric").value.to_dict()
    assert v == {"budget_total": 100, "budget_total_change": -12.5, "basic_expenditure_change": 3}
    assert set(s.subject) == {"某某县人力资源和社会保障局"}


def test_every_pattern_reads_a_value():
    ps = statements.patterns()
    assert len({p.metric for p in ps}) >= 40
    for p in ps:
        assert "value" in p.regex.groupindex, p.metric
