"""Rescoring: the quantitative rule, ceiling targets, qualitative bands, settings, and bundled forms."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import GUYUAN, XINGLONG, XINXIANG, form_of

from perfdata.scoring import achievement_band, rescore, rescore_indicators, settings


def _ind(rows):
    cols = ["form_id", "seq", "line", "level1", "name", "target_raw", "actual_raw", "weight", "score"]
    df = pd.DataFrame(rows, columns=cols)
    df["is_budget_execution"] = df["name"].eq("预算执行率")
    return df


ROWS = [
    ("f", 1, 10, "产出指标", "补贴人数", "≥300人", "320人", 20.0, 20.0),
    ("f", 2, 11, "产出指标", "发放准确率", "≥98%", "49%", 10.0, 10.0),
    ("f", 3, 12, "产出指标", "人均成本", "≤1700元/人", "2000元/人", 10.0, 10.0),
    ("f", 4, 13, "产出指标", "完成时间", "12月", "12月", 5.0, 5.0),
    ("f", 5, 14, "效益指标", "带动就业", "有效带动", "基本实现", 10.0, 10.0),
    ("f", 6, 15, "效益指标", "培训人次", "≥500人次", "完成", 10.0, 10.0),
    ("f", 7, 16, "效益指标", "补贴金额", "≥10万元", "95人", 10.0, 10.0),
    ("f", 8, 17, "满意度指标", "满意度", "≥90%", "≥90%", 10.0, 10.0),
    ("f", 9, 18, "满意度指标", "发放及时", "按时完成", "未完成", 5.0, 5.0),
]


def test_quantitative_rule_ceiling_and_bands():
    r = rescore_indicators(_ind(ROWS)).set_index("seq")
    assert r.loc[1, "status"] == "met" and r.loc[1, "rescore"] == 20
    assert r.loc[2, "status"] == "unmet" and r.loc[2, "rescore"] == pytest.approx(10 * 49 / 98)
    assert r.loc[3, "status"] == "over_ceiling" and r.loc[3, "rescore"] == pytest.approx(10 * 1700 / 2000, abs=1e-3)
    assert r.loc[4, "status"] == "met"  # "12月" reads as a number with a unit
    assert r.loc[5, "status"] == "partial" and (r.loc[5, "rescore_min"], r.loc[5, "rescore_max"]) == (5, 8)
    assert pd.isna(r.loc[5, "rescore"])  # a band gives a range, not a guess
    assert r.loc[6, "status"] == "not_comparable" and "不是数值" in r.loc[6, "reason"]
    assert r.loc[7, "status"] == "not_comparable" and "单位不同" in r.loc[7, "reason"]
    assert r.loc[8, "status"] == "not_comparable" and "区间" in r.loc[8, "reason"]
    assert r.loc[9, "status"] == "not_achieved" and r.loc[9, "rescore_max"] == 2.5


def test_settings_change_the_result():
    r = rescore_indicators(_ind(ROWS), ceiling_rule="linear_2x", band_partial_low=60).set_index("seq")
    assert r.loc[3, "rescore"] == pytest.approx(10 * (2 - 2000 / 1700), abs=1e-3)
    assert r.loc[5, "rescore_min"] == 6
    with pytest.raises(ValueError, match="unknown scoring setting"):
        settings(nonsense=1)


@pytest.mark.parametrize("text,band", [("完成", "achieved"), ("基本完成", "partial"), ("未完成", "not_achieved"),
                                       ("尚未完成", "not_achieved"), ("显著提高", "achieved"), ("其他", None)])
def test_achievement_band(text, band):
    assert achievement_band(text) == band


def test_budget_execution_row_scored_from_the_amounts():
    forms = pd.DataFrame({"form_id": ["f"], "budget_initial": [500.0], "budget_full_year": [500.0],
                          "executed": [439.67]})
    ind = _ind([("f", 1, 20, "满意度指标", "预算执行率", "≥95%", "100%", 5.0, 4.5)])
    r = rescore_indicators(ind, forms).iloc[0]
    assert r.status == "budget_execution"
    assert r.form_exec_rate == pytest.approx(87.934)
    assert r.rescore == pytest.approx(5 * 0.87934, abs=1e-3)


def test_bundled_xinglong_execution_score(bundled):
    f = form_of(bundled, XINGLONG, "冀财社[2024]48号中央就业补助", nth=1)  # 622.58 of 626, scored 5
    rf = rescore(bundled)["rescored_forms"].set_index("form_id").loc[f.form_id]
    assert rf.exec_rate == pytest.approx(99.4537, abs=1e-3)
    assert rf.exec_score == pytest.approx(9.9454, abs=1e-3)
    assert rf.exec_score_reported == 5
    assert rf.total_basis == "indicators_only"  # 10 + 100 printed: the execution row sits outside the total


def test_bundled_xinxiang_rescore_and_grade(bundled):
    f = form_of(bundled, XINXIANG, "建档立卡优秀务工人员奖补")
    rf = rescore(bundled)["rescored_forms"].set_index("form_id").loc[f.form_id]
    assert rf.exec_rate == 100.0  # 16.06 of a full-year budget of 16.06 (the form prints 80.3 % of 20)
    assert rf.indicator_weight == 80  # 效益 prints 30 points but holds two indicators of 10
    assert rf.total_rescore_max == pytest.approx(89.4737, abs=1e-3)
    assert (rf.grade_reported, rf.grade_rescored) == ("优", "良")


def test_bundled_guyuan_falls_back_to_initial_budget(bundled):
    f = form_of(bundled, GUYUAN, "聘用人员经费")
    rf = rescore(bundled)["rescored_forms"].set_index("form_id").loc[f.form_id]
    assert rf.exec_base == "initial" and rf.exec_rate == 100.0 and rf.exec_score == 10.0


def test_unscoreable_execution_counts_its_weight_in_the_maximum():
    from perfdata import schema

    forms = schema.frame("forms", [
        {"form_id": "a", "exec_weight": 10.0, "total_weight_reported": 100.0, "total_score_reported": 95.0,
         "budget_initial": 50.0, "budget_full_year": 50.0, "executed": 45.0},
        {"form_id": "b", "exec_weight": 10.0, "total_weight_reported": 100.0, "total_score_reported": 95.0}])
    rows = [(f, 1, 10, "产出指标", "补贴人数", "≥300人", "320人", 50.0, 50.0) for f in "ab"]
    rows += [(f, 2, 11, "效益指标", "培训人次", "≥500人次", "完成", 40.0, 40.0) for f in "ab"]  # not comparable
    rf = rescore({"forms": forms, "indicators": _ind(rows)})["rescored_forms"].set_index("form_id")
    assert rf.loc["a", "exec_score"] == 9.0 and pd.isna(rf.loc["b", "exec_score"])
    # amounts missing: the execution part may earn up to its weight, like the unscoreable indicator
    assert rf.loc["a", "total_rescore_max"] == 9.0 + 50 + 40 and rf.loc["b", "total_rescore_max"] == 10 + 50 + 40
    assert rf.loc["b", "total_rescore_min"] == 50 and rf.loc["b", "grade_rescored"] == "优"


def test_every_indicator_carries_its_forms_rate_with_or_without_budget_rows_in_the_batch(bundled):
    """form_exec_rate is the form's own rate on every row: a batch without a single 预算执行率 row among its
    indicators (one region's forms, checked unit by unit) gives the same rows as the whole batch."""
    ind = bundled["indicators"]
    whole = rescore(bundled)["rescored_indicators"].set_index(["form_id", "seq"]).form_exec_rate
    plain = ind.groupby("form_id").is_budget_execution.apply(lambda s: not s.fillna(False).any())
    ids = list(plain[plain].index[:3])
    assert len(ids) == 3 and ind.is_budget_execution.fillna(False).any()  # the whole batch has budget rows
    part = {"forms": bundled["forms"][bundled["forms"].form_id.isin(ids)],
            "indicators": ind[ind.form_id.isin(ids)], "funding": bundled["funding"]}
    got = rescore(part)["rescored_indicators"].set_index(["form_id", "seq"]).form_exec_rate
    assert got.notna().all()
    pd.testing.assert_series_equal(got, whole.loc[got.index])
