"""Rules on reasons and narrative figures (perfdata/checks/narrative.py): the bundled documents' findings, read
against their lines, and generated variants (a bundled form's 偏差原因 changed to 无 / 其他原因 / 未完成 …) that
trigger exactly the expected findings."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import GUYUAN, RAW, XINGLONG, XINXIANG

from perfdata import check
from perfdata.checks import narrative, quality

NEW = ["reason_says_nothing", "reason_contradicts_figures", "reason_on_met_indicator", "department_points_mismatch"]
REASONS = ["deducted_without_reason", *NEW[:3]]


@pytest.fixture(scope="module")
def found(bundled):
    return check(bundled, raw_dir=RAW)


def _with_note(tables, source_file, line, note=None, **cols):
    """The tables with one indicator's 偏差原因 (and other cells) changed."""
    i = tables["indicators"].copy()
    at = (i.source_file == source_file) & (i.line == line)
    assert at.sum() == 1
    if note is not None:
        i.loc[at, "deviation_note"] = note
    for c, v in cols.items():
        i.loc[at, c] = v
    return {**tables, "indicators": i}


def _rules_at(a, source_file, line):
    return sorted(a[(a.source_file == source_file) & (a.line == line)].rule)


# -- one word list ------------------------------------------------------------------------------------

def test_missing_reason_words_come_from_the_phrase_table():
    assert {"", "无", "没有", "暂无", "/", "—", "-", "——", "无偏差", "不存在偏差"} == quality._TRIVIAL_NOTE
    assert quality._TRIVIAL_NOTE - {""} == quality._reason_phrases("none")
    p = narrative.phrases()
    assert p["vague"].fullmatch("按计划执行") and p["vague"].fullmatch("其他原因") and not p["vague"].fullmatch("无")
    assert p["unmet"].search("因疫情影响项目未完成") and not p["unmet"].search("无未完成情况")


# -- the bundled documents ----------------------------------------------------------------------------

def test_bundled_counts(found):
    counts = found[found.rule.isin(NEW)].rule.value_counts().to_dict()
    assert counts == {"department_points_mismatch": 7, "reason_says_nothing": 1, "reason_on_met_indicator": 1}


def test_guyuan_measures_instead_of_reasons_are_one_template_finding(found):
    h = found[found.rule == "reason_says_nothing"]
    assert len(h) == 1
    f = h.iloc[0]
    assert f.source_file == GUYUAN and pd.isna(f.form_id) and f.line == 36
    assert f.lines == "36, 76, 123, 170, 223, 269, 316, 354"
    assert f.message.startswith("模板问题：本文件8张自评表中8张存在此问题")
    assert "“推进社会保险事业高质量发展”6/10分，偏差原因“继续推进社会保险事业高质量发展”" in f.message
    assert f.evidence.startswith("可持续影响指标 | 指标1: 推进社会保险事业高质量发展 | 10 | 成效显著 | 成效显著 | 6 | "
                                 "继续推进")


def test_xinxiang_policy_cancelled_on_a_full_score(found):
    h = found[found.rule == "reason_on_met_indicator"]
    assert len(h) == 1
    f = h.iloc[0]
    assert (f.source_file, f.line, f.project_name) == (XINXIANG, 222, "其他就业补助经费支出")
    assert "“职业技能鉴定补贴人均标准”1/1分，偏差原因“政策取消”" in f.message
    assert f.evidence.endswith("| 0 元 | 1 | 1 | 政策 取消")


@pytest.mark.parametrize(("line", "form_line", "field", "found_", "expected"), [
    pytest.param(839, 700, "score", "分值3分、得分2分", "分值3分、得分3分", id="绩效指标合理性"),
    pytest.param(863, 708, "weight/score", "分值1分、得分1分", "分值2分、得分2分", id="决算真实性"),
    pytest.param(867, 709, "weight/score", "分值1分、得分1分", "分值2分、得分2分", id="资金使用合规性"),
    pytest.param(869, 710, "weight/score", "分值1分、得分1分", "分值2分、得分2分", id="管理制度健全性"),
    pytest.param(879, 715, "weight/score", "分值2分、得分2分", "分值1分、得分1分", id="绩效自评完成率"),
    pytest.param(881, 716, "weight/score", "分值2分、得分2分", "分值1分、得分1分", id="部门绩效评价完成率"),
    pytest.param(883, 717, "weight/score", "分值2分、得分2分", "分值1分、得分1分", id="评价结果应用率"),
])
def test_xinxiang_department_report_points(found, line, form_line, field, found_, expected):
    h = found[(found.rule == "department_points_mismatch") & (found.line == line)]
    assert len(h) == 1
    f = h.iloc[0]
    assert (f.source_file, f.field, f.found, f.expected) == (XINXIANG, field, found_, expected)
    assert f.lines.split(", ")[-1] == str(form_line) and pd.isna(f.form_id)
    assert f.department == "新乡县人力资源和社会保障局" and f.year == 2021
    assert f"（第{form_line}行）" in f.message and " ‖ " in f.evidence


def test_a_report_sentence_over_two_lines_quotes_both(found):
    f = found[(found.rule == "department_points_mismatch") & (found.line == 883)].iloc[0]
    assert f.lines == "883, 884, 717"
    assert f.evidence.startswith("④评价结果应用率（2分）：评价结果应用到实际工作。 ‖ "
                                 "根据评分标准，本部门该项指标得2分。")


def test_without_the_raw_files_no_report_points_are_read(bundled, tmp_path):
    a = check(bundled, raw_dir=tmp_path)
    assert "department_points_mismatch" not in set(a.rule)


# -- generated variants ---------------------------------------------------------------------------------

@pytest.mark.parametrize("note", ["其他原因", "正在推进", "按计划执行", "继续加强绿色办公。"])
def test_a_reason_that_says_nothing_replaces_the_missing_reason(bundled, note):
    # 劳务派遣人员经费, 绿色办公 5/10 with 无: a missing reason; with a vague one: a reason that says nothing
    assert _rules_at(check(bundled, raw_dir=None), XINGLONG, 23) == ["deducted_without_reason"]
    a = check(_with_note(bundled, XINGLONG, 23, note), raw_dir=None)
    assert _rules_at(a[a.rule.isin(REASONS)], XINGLONG, 23) == ["reason_says_nothing"]
    f = a[(a.rule == "reason_says_nothing") & (a.line == 23)].iloc[0]
    assert f.project_name == "劳务派遣人员经费(人社局)" and f"偏差原因“{note}”" in f.message


def test_a_real_reason_is_no_finding(bundled):
    a = check(_with_note(bundled, XINGLONG, 23, "因办公用房调整，绿色办公改造推迟到下年度实施"), raw_dir=None)
    assert _rules_at(a[a.rule.isin(REASONS)], XINGLONG, 23) == []


@pytest.mark.parametrize("note", ["项目进度滞后，部分任务未完成", "未达到预期目标"])
def test_full_marks_with_a_reason_saying_unmet(bundled, note):
    # 城乡居民基础养老金提标县级补助, 对社会经济发展的影响 10/10
    a = check(_with_note(bundled, XINGLONG, 441, note), raw_dir=None)
    h = a[a.rule.isin(REASONS) & (a.line == 441) & (a.source_file == XINGLONG)]
    assert list(h.rule) == ["reason_contradicts_figures"]
    assert h.iloc[0].field == "score" and f"偏差原因却称“{note}”" in h.iloc[0].message


def test_a_figure_in_the_reason_that_the_form_does_not_print(bundled):
    # 劳动保障监察日常办公经费 4.54万元 / 4.49万元, 9/10
    a = check(_with_note(bundled, XINXIANG, 441, "实际支出4.2万元，因案件比上年度减少"), raw_dir=None)
    h = a[(a.rule == "reason_contradicts_figures") & (a.line == 441)]
    assert len(h) == 1
    assert (h.iloc[0].field, h.iloc[0].found, h.iloc[0].expected) == ("actual_raw", "4.2万元", "4.49万元")
    # the actual, the target and their difference are the form's own figures; a figure in another unit is not compared
    for note in ("实际支出4.49万元，低于目标4.54万元0.05万元", "目标4.54万元设置偏高", "案件减少20%，支出相应减少"):
        a = check(_with_note(bundled, XINXIANG, 441, note), raw_dir=None)
        assert a[a.rule == "reason_contradicts_figures"].empty, note


def test_a_reason_on_a_met_indicator(bundled):
    a = check(_with_note(bundled, XINGLONG, 441, "因资金提前拨付"), raw_dir=None)
    h = a[a.rule.isin(REASONS) & (a.source_file == XINGLONG) & (a.line == 441)]
    assert list(h.rule) == ["reason_on_met_indicator"]
    # a stray figure in the reason column (Xinglong line 501: "5" beside 预算执行率 5/5) and 完成 are no reason
    for note in ("5", "完成", "无"):
        a = check(_with_note(bundled, XINGLONG, 441, note), raw_dir=None)
        assert a[a.rule.isin(REASONS) & (a.line == 441) & (a.source_file == XINGLONG)].empty, note


def test_department_points_follow_the_form(bundled):
    di = bundled["department_indicators"].copy()
    di.loc[di.name == "绩效指标合理性", "score"] = 2.0  # the form now says what the report says
    di.loc[di.name == "决算真实性", "weight"] = 1.0
    a = check({**bundled, "department_indicators": di}, raw_dir=RAW)
    h = a[a.rule == "department_points_mismatch"]
    assert 839 not in set(h.line) and len(h) == 6
    assert h[h.line == 863].iloc[0].field == "score"  # 1 point printed in both; scored 2 in the form, 1 in the report


def test_report_level_rates_are_held_against_the_form(bundled):
    """产出指标完成97.86% (Xinxiang line 172) is a statement compared by statement_mismatch: folded into the summary
    finding while the summary prints the same wrong figure, its own finding once the summary is right."""
    s = bundled["summary_rows"].copy()
    s.loc[s.project_name == "事业单位招聘", "output_rate"] = 100.0
    a = check({**bundled, "summary_rows": s}, raw_dir=RAW)
    h = a[(a.rule == "statement_mismatch") & (a.field == "output_rate")]
    assert list(h.line) == [172] and h.iloc[0].found == "97.86" and h.iloc[0].expected == "100"
