"""Aggregations of the report notebooks, against figures computed by hand from the bundled forms."""

from __future__ import annotations

import pandas as pd
import pytest

from perfdata import schema
from perfdata.ingest import combine, read_bytes
from perfdata.report import analysis
from tests.conftest import GUYUAN, XINGLONG, XINXIANG, form_of
from tests.factory import SPEC, render


def test_execution_rate_uses_full_year_budget_then_initial(bundled):
    f = analysis.with_execution(bundled["forms"])
    jobs = f[(f.source_file == XINGLONG) & (f.budget_full_year == 626.0)].iloc[0]
    assert jobs.exec_rate == pytest.approx(99.45)  # 622.58 / 626
    assert jobs.exec_base == "full_year"
    guyuan = f[f.source_file == GUYUAN]
    assert guyuan.budget_full_year.isna().all() and (guyuan.exec_base == "initial").all()
    assert guyuan.exec_rate.notna().all()
    hire = f[(f.source_file == XINXIANG) & (f.project_name == "事业单位招聘")].iloc[0]
    assert hire.exec_rate == pytest.approx(100.0)  # 1.33 of an adjusted 1.33, not of the initial 10
    assert hire.adjustment == pytest.approx(-8.67) and hire.adjustment_pct == pytest.approx(-86.7)


def test_rate_by_department_matches_an_independent_computation(bundled):
    forms = bundled["forms"]
    got = analysis.rate_by(forms, ["region", "department", "year"]).set_index("region")
    x = forms[forms.region == "新乡县"]
    rates = [float(e) / float(b if pd.notna(b) else i) * 100
             for e, b, i in zip(x.executed, x.budget_full_year, x.budget_initial, strict=True)]
    assert got.loc["新乡县", "forms"] == 11
    assert got.loc["新乡县", "rate_mean"] == pytest.approx(sum(rates) / len(rates), abs=0.01)
    assert got.loc["新乡县", "rate_weighted"] == pytest.approx(
        float(x.executed.sum()) / float(x.budget_full_year.sum()) * 100, abs=0.01)
    assert got.loc["新乡县", "below_threshold"] == sum(r < 90 for r in rates)
    assert list(got.index) == sorted(got.index)


def test_below_threshold_lists_low_execution_lowest_first(bundled):
    low = analysis.below_threshold(bundled["forms"], 90)
    assert low.exec_rate.is_monotonic_increasing and (low.exec_rate < 90).all()
    first = low.iloc[0]
    assert first.project_name == "高校毕业生“三支一扶”计划中央和市补助资金"
    assert first.exec_rate == pytest.approx(1.57 / 20.7 * 100, abs=0.01)
    # 2644 of 2993: printed 93.9 %, computed 88.34 % — listed on the computed rate
    assert "机关事业单位养老保险预算中央补助资金" in set(low.project_name)
    assert len(analysis.below_threshold(bundled["forms"], 75)) == 3


def test_scores_grades_and_ceiling_effect(bundled):
    forms = bundled["forms"]
    s = analysis.with_scores(forms)
    full = int((forms.total_score_reported >= forms.total_weight_reported.fillna(100)).sum())
    ce = analysis.ceiling_effect(forms).iloc[0]
    assert ce.forms == 43 and ce.full == full
    assert ce.share_full == pytest.approx(full / 43 * 100, abs=0.01)
    by = analysis.score_by(forms, "region").set_index("region")
    assert by.loc["固原市", "share_full"] == 0  # 固原市 forms score 90–93 of an unprinted 100
    assert by.loc["固原市", "score_min"] == pytest.approx(90.0)
    assert set(s.grade.dropna()) <= {"优", "良", "中", "差"}
    grades = analysis.grade_counts(forms, "region").set_index("region")
    assert list(grades.columns) == ["优", "良", "中", "差"] and grades.to_numpy().sum() == 43
    by_year = analysis.grade_counts(forms, ["region", "year"])
    groups = list(zip(by_year.region, by_year.year, strict=True))
    assert groups == [("兴隆县", 2024), ("固原市", 2024), ("新乡县", 2021)]  # only groups that exist


def test_level_scores_show_the_satisfaction_weights_that_add_to_15(bundled):
    form = form_of(bundled, XINGLONG, "印刷干部考核手册及劳动合同")
    lv = analysis.level_scores(bundled["indicators"], include_execution=True)
    sat = lv[(lv.form_id == form.form_id) & (lv.level1 == "满意度指标")].iloc[0]
    assert sat.weight == pytest.approx(15.0) and sat.indicators == 2  # 满意度 10 + a 预算执行率 row of 5
    lv = analysis.level_scores(bundled["indicators"])
    sat = lv[(lv.form_id == form.form_id) & (lv.level1 == "满意度指标")].iloc[0]
    assert sat.weight == pytest.approx(10.0) and sat.score_rate == pytest.approx(100.0)


def test_execution_score_rescore(bundled):
    r = analysis.score_vs_rescore(bundled["forms"]).set_index("project_name")
    row = r.loc["高校毕业生“三支一扶”计划中央和市补助资金"]
    assert row.part == "execution" and row.self_score == pytest.approx(7.6) and row.rescore == pytest.approx(0.76)
    rescored = pd.DataFrame({"form_id": bundled["forms"].form_id, "total_rescore_max": 90.0,
                             "total_rescore_min": 80.0})
    both = analysis.score_vs_rescore(bundled["forms"], rescored)
    assert (both.part == "total").all() and both.gap.max() == pytest.approx(10.0)
    assert (both.rescore_min == 80.0).all() and both.gap.is_monotonic_decreasing


@pytest.mark.parametrize(("kw", "n"), [
    pytest.param({"years": [2021]}, 11, id="year-2021"),
    pytest.param({"years": "2024"}, 32, id="year-as-text"),
    pytest.param({"regions": ["兴隆县", "固原市"]}, 32, id="two-regions"),
    pytest.param({"departments": ["固原"]}, 8, id="department-part"),
    pytest.param({"years": [2021], "regions": ["兴隆县"]}, 0, id="nothing"),
    pytest.param({}, 43, id="all"),
])
def test_filter_tables_keeps_rows_of_kept_forms(bundled, kw, n):
    t = analysis.filter_tables(bundled, **kw)
    assert len(t["forms"]) == n
    ids = set(t["forms"].form_id)
    assert set(t["indicators"].form_id) <= ids and set(t["funding"].form_id) <= ids
    assert len(t["files"]) == len(bundled["files"])


def test_overview_side_by_side(bundled):
    an = schema.frame("anomalies", [
        {"rule": "r1", "severity": "high", "form_id": bundled["forms"].form_id.iloc[0], "region": "兴隆县"},
        {"rule": "r2", "severity": "low", "form_id": bundled["forms"].form_id.iloc[1], "region": "兴隆县"},
    ])
    ov = analysis.overview({**bundled, "anomalies": an}).set_index("region")
    assert ov.forms.to_dict() == {"兴隆县": 24, "固原市": 8, "新乡县": 11}
    assert ov.loc["兴隆县", "findings"] == 2 and ov.loc["兴隆县", "findings_high"] == 1
    assert ov.loc["新乡县", "findings"] == 0
    assert ov.indicators.sum() == len(bundled["indicators"])


def test_anomaly_counts_and_selection():
    an = schema.frame("anomalies", [
        {"rule": "b", "severity": "low", "source_file": "f", "line": 9},
        {"rule": "a", "severity": "high", "source_file": "f", "line": 20},
        {"rule": "a", "severity": "medium", "source_file": "f", "line": 3},
        {"rule": "a", "severity": "high", "source_file": "e", "line": 50},
    ])
    c = analysis.anomaly_counts(an, "rule")
    assert c.to_dict("records")[0] == {"rule": "a", "high": 2, "medium": 1, "low": 0, "total": 3}
    s = analysis.select_anomalies(an)
    assert list(zip(s.severity, s.line, strict=True)) == [("high", 50), ("high", 20), ("medium", 3), ("low", 9)]
    assert len(analysis.select_anomalies(an, severities="high,low", rules=["a"])) == 2


def test_a_generated_form_with_reordered_columns():
    spec = {**SPEC, "funding": {**SPEC["funding"], "executed": "55.25"}}
    text = render(spec, funding_order=("executed", "budget_full_year", "budget_initial", "exec_weight", "exec_score",
                                       "exec_rate"))
    tables = combine([read_bytes(text.encode("gbk"), "generated.txt")])
    f = analysis.with_execution(tables["forms"], threshold=90).iloc[0]
    assert f.exec_rate == pytest.approx(50.0)  # 55.25 of the adjusted 110.5, not of the initial 120
    assert f.below_threshold and f.flagged
    assert f.exec_score_expected == pytest.approx(5.0)


def test_coverage_per_file(bundled):
    cov = analysis.coverage(bundled).set_index("source_file")
    assert cov.loc[XINGLONG, "project_form"] == 24 and cov.loc[GUYUAN, "project_form"] == 8
    assert cov.loc[XINGLONG, "leftovers"] == int((bundled["leftovers"].source_file == XINGLONG).sum())
    assert cov.loc[XINGLONG, "status"] == "partial"
    assert len(analysis.coverage({k: v for k, v in bundled.items() if k != "tables"})) == len(bundled["files"])


def test_overview_counts_template_level_findings(bundled):
    from perfdata import check

    found = check(bundled)
    ov = analysis.overview({**bundled, "anomalies": found})
    own = found.groupby("region").size()
    assert found.form_id.isna().sum() == 24 and own["兴隆县"] == 45
    with_region = ov[ov.region.notna()].set_index("region")
    assert with_region.findings.to_dict() == own.to_dict()  # 5 template-level findings of 兴隆县 included
    # findings without a region (香河县 target tables here) keep a row of their own: the column adds up
    assert ov.findings.sum() == len(found)
    assert ov[ov.region.isna()].findings.sum() == found.region.isna().sum()
    assert ov[ov.region.isna()].forms.tolist() == [0] * int(ov.region.isna().sum())


def test_counts_keep_findings_without_a_group_key():
    an = schema.frame("anomalies", [
        {"rule": "a", "severity": "high", "department": "甲", "year": 2024},
        {"rule": "a", "severity": "low", "department": None, "year": None},
        {"rule": "b", "severity": "medium", "department": "甲", "year": None},
    ])
    c = analysis.anomaly_counts(an, ["department", "year"])
    assert c.total.sum() == 3 and len(c) == 3
    assert analysis.severity_counts(an).iloc[0].to_dict() == {"high": 1, "medium": 1, "low": 1, "total": 3}
    assert analysis.anomaly_counts(an.iloc[:0], ["rule"]).empty


def test_rate_bins_give_100_percent_its_own_band():
    f = pd.DataFrame({"exec_rate": [50.0, 85.0, 89.99, 99.99, 100.0, 100.0, 104.0, 130.0, None]})
    b = analysis.rate_bins(f, 90, 80, 120)
    assert b.bin.tolist() == ["低于 80%", "80%–<90%", "90%–<100%", "100%", "高于 100% 至 120%", "高于 120%", "未能计算"]
    assert b.forms.tolist() == [1, 2, 1, 2, 1, 1, 1] and b.forms.sum() == len(f)
    assert b.loc[b.below, "forms"].sum() == 3 and b.loc[b.flagged, "forms"].sum() == 2
    assert analysis.rate_bins(f, 75, 80).bin.tolist()[:3] == ["低于 75%", "75%–<80%", "80%–<100%"]


def test_item_labels_tell_same_named_projects_apart(bundled):
    low = analysis.below_threshold(bundled["forms"], 101)
    labels = analysis.item_labels(low)
    assert labels.is_unique and len(labels) == len(low)
