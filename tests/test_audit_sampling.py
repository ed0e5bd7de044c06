"""Sampling for 抽查复核: pinned draws on the bundled forms, and the methods' properties on generated batches."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from perfdata import schema
from perfdata.audit.sampling import METHODS, allocate, mus_interval, mus_select, sample, settings


@pytest.fixture(scope="module")
def checked(bundled):
    from perfdata import check

    return {**bundled, "anomalies": check(bundled)}


def forms(budgets, **cols) -> dict[str, pd.DataFrame]:
    """Generated forms with known budgets (年初预算数), in one file, one form every 30 lines."""
    n = len(budgets)
    data = {"form_id": [f"gen-{i:05d}" for i in range(n)], "source_file": ["generated.txt"] * n,
            "line_start": [1 + 30 * i for i in range(n)], "project_name": [f"项目{i}" for i in range(n)],
            "budget_initial": [None if b is None else float(b) for b in budgets], **cols}
    return {"forms": schema.frame_columns("forms", data)}


# -- the bundled documents: a sample pinned for a seed ------------------------------------------------------------

def test_random_sample_of_the_bundled_forms_is_pinned(checked):
    s = sample(checked, "random", n=5, seed=2024)
    assert s.form_id.tolist() == ["b7e31012d4-00153", "b7e31012d4-00314", "b7e31012d4-00368", "cc92d7d1ac-00234",
                                  "8668c52e56-00190"]
    assert s.project_name.tolist()[:2] == ["劳动仲裁工作经费", "冀财社[2024]48号中央就业补助"]
    assert s.selection_probability.round(2).unique().tolist() == [11.63]  # 5 of 43
    assert s.reason.iloc[0] == "简单随机抽样：全部 43 份项目自评表中随机抽取 5 份，每份入选概率 11.63%"
    assert list(s.columns) == [c.name for c in schema.TABLES["sample"]]
    assert (s.seed == 2024).all() and (s.method == "random").all()


def test_stratified_sample_of_the_bundled_forms_is_pinned(checked):
    s = sample(checked, "stratified", n=5, seed=2024)
    assert s.groupby("stratum", sort=False).size().to_dict() == {"兴隆县 2024": 3, "固原市 2024": 1, "新乡县 2021": 1}
    assert s.project_name.tolist() == ["劳动仲裁工作经费", "冀财社[2024]48号中央就业补助", "保险信息系统建设",
                                       "驻村第一书记工作经费和驻村第一书记及工作队员伙食补助、通信补贴",
                                       "创业贷款贴息经费支出"]
    assert s.reason.iloc[0] == "分层抽样（按比例分配）：兴隆县 2024 层共 24 项，抽 3 项"
    assert s.set_index("stratum").stratum_size.to_dict() == {"兴隆县 2024": 24, "固原市 2024": 8, "新乡县 2021": 11}


def test_monetary_unit_sample_of_the_bundled_forms_is_pinned(checked):
    s = sample(checked, "mus", n=5, seed=2024)
    # 2,993 万元 is above total/5; without it 2,432.4 is above the rest / 4; the other three are drawn on 6,748.19
    assert s.form_id.tolist() == ["b7e31012d4-00529", "b7e31012d4-00556", "b7e31012d4-00314", "b7e31012d4-00421",
                                  "cc92d7d1ac-00194"]
    assert s.stratum.tolist() == ["大额（不小于抽样间距）"] * 2 + ["按金额抽样"] * 3
    assert s.interval.round(2).unique().tolist() == [2249.40]
    assert s.hit_amount.round(2).tolist()[2:] == [1520.21, 3769.61, 6019.01]
    assert s.selection_probability.round(2).tolist() == [100.0, 100.0, 27.83, 79.16, 36.83]  # budget / interval
    assert s.reason.iloc[2] == ("按金额抽样：累计金额区间 901.04–1,527.04 万元中的第 1,520.21 万元落在本项目"
                                "（抽样间距 2,249.40 万元，随机起点 1,520.21 万元）")
    assert s.reason.iloc[0] == "按金额抽样：项目金额 2,993.00 万元不小于抽样间距 2,249.40 万元，必抽（大额层）"
    # 固原市 prints no 全年预算数: its forms are weighed by 年初预算数, none is left out
    assert s.budget.tolist() == [2993.0, 2432.4, 626.0, 1780.68, 828.44]


def test_risk_sample_of_the_bundled_forms_is_pinned(checked):
    s = sample(checked, "risk", n=5, seed=2024)
    assert s.form_id.tolist() == ["cc92d7d1ac-00101", "b7e31012d4-00341", "b7e31012d4-00529", "8668c52e56-00330",
                                  "cc92d7d1ac-00354"]
    # 1 + 4 × high + 2 × medium + 1 × low (rules/sampling.csv): 8 findings, 4 of them high
    assert s.risk_score.tolist() == [24.0, 11.0, 9.0, 9.0, 7.0]
    assert s.findings.tolist() == [8, 4, 4, 2, 3] and s.findings_high.tolist() == [4, 1, 0, 2, 0]
    assert s.reason.iloc[0] == ("按风险抽样：本项目发现问题 8 条（高 4、中 3、低 1），风险分 24，"
                                "占全部 43 份表单风险分的 8.25%")
    assert s.selection_probability.isna().all()  # draw by draw: no closed form


def test_risk_sample_checks_the_tables_when_they_have_no_findings(bundled, checked):
    assert sample(bundled, "risk", n=5, seed=2024).form_id.tolist() == \
        sample(checked, "risk", n=5, seed=2024).form_id.tolist()
    assert sample(bundled, "random", n=5, seed=1).findings.isna().all()  # no findings at hand: blank, not 0


# -- properties -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("method", METHODS)
def test_the_same_seed_gives_the_same_sample_whatever_the_row_order(checked, method):
    a = sample(checked, method, n=7, seed=11)
    shuffled = {**checked, "forms": checked["forms"].sample(frac=1, random_state=3)}
    pd.testing.assert_frame_equal(a, sample(shuffled, method, n=7, seed=11))
    others = [set(sample(checked, method, n=7, seed=s).form_id) for s in range(12, 17)]
    assert any(o != set(a.form_id) for o in others)


def test_a_seed_drawn_for_the_caller_is_recorded_and_repeats_the_draw(checked):
    s = sample(checked, "random", n=5)
    seed = int(s.seed.iloc[0])
    assert sample(checked, "random", n=5, seed=seed).form_id.tolist() == s.form_id.tolist()


@pytest.mark.parametrize("method", METHODS)
def test_n_larger_than_the_population_takes_every_form_once(checked, method):
    s = sample(checked, method, n=100, seed=1)
    assert len(s) == 43 and s.form_id.is_unique
    assert set(s.form_id) == set(checked["forms"].form_id)
    assert (s.selection_probability == 100).all()


@pytest.mark.parametrize("method", METHODS)
def test_empty_input_gives_an_empty_sample(method):
    for tables in ({"forms": schema.frame("forms", [])}, {}):
        s = sample(tables, method, n=5, seed=1)
        assert len(s) == 0 and list(s.columns) == [c.name for c in schema.TABLES["sample"]]
    assert len(sample(forms([1.0, 2.0]), method, n=0, seed=1)) == 0


def test_bad_arguments_are_errors(checked):
    for kw in ({"method": "cluster"}, {"n": -1}, {"method": "stratified", "by": ["unit"]},
               {"method": "stratified", "allocation": "neyman"}, {"risk_weight_critical": 9}):
        with pytest.raises(ValueError):
            sample(checked, **kw)


def test_stratum_sizes_proportional_and_equal(checked):
    prop = sample(checked, "stratified", n=10, seed=3)
    assert prop.groupby("stratum").size().to_dict() == {"兴隆县 2024": 6, "新乡县 2021": 2, "固原市 2024": 2}
    equal = sample(checked, "stratified", n=10, seed=3, allocation="equal")
    assert equal.groupby("stratum").size().to_dict() == {"兴隆县 2024": 4, "新乡县 2021": 3, "固原市 2024": 3}
    assert equal.reason.iloc[0].startswith("分层抽样（等额分配）：")
    for s in (prop, equal):
        assert (s.groupby("stratum").size() == s.groupby("stratum").stratum_drawn.first()).all()
        assert np.allclose(s.selection_probability, 100 * s.stratum_drawn / s.stratum_size)


def test_strata_by_department_with_a_blank_one():
    t = forms([1.0] * 12, department=["甲局"] * 8 + ["乙局"] * 3 + [None])
    s = sample(t, "stratified", n=4, seed=5, by=["department"])
    # quotas 2.67 / 1 / 0.33: the blank department still gets one, largest remainder settles the rest
    assert s.groupby("stratum").size().to_dict() == {"甲局": 2, "乙局": 1, "未填": 1}


def test_allocation_adds_up_and_keeps_one_per_stratum():
    rng = np.random.default_rng(0)
    for _ in range(300):
        sizes = rng.integers(1, 60, rng.integers(1, 9))
        n = int(rng.integers(1, sizes.sum() + 5))
        for how in ("proportional", "equal"):
            a = allocate(sizes, n, how)
            assert a.sum() == min(n, sizes.sum()) and (a <= sizes).all() and (a >= 0).all()
            if n >= len(sizes):
                assert (a >= 1).all()
        quota = n * sizes / sizes.sum()
        a = allocate(sizes, n)
        if n < sizes.sum() and (quota >= 1).all():  # nothing bumped up: within one of the exact share
            assert (np.abs(a - quota) < 1).all()


def test_monetary_unit_selection_frequency_is_amount_over_interval():
    rng = np.random.default_rng(7)
    budgets = np.round(rng.lognormal(3.0, 1.3, 200), 2)
    budgets[[5, 50]] = [3000.0, 2500.0]  # two forms larger than any interval: certain
    t = forms(budgets.tolist())
    interval, top = mus_interval(budgets, 20)
    ids = t["forms"].form_id.to_numpy()
    for seed in range(5):  # sample() draws what mus_select() draws from the same seed
        s = sample(t, "mus", n=20, seed=seed)
        j, certain, hit = mus_select(budgets, 20, np.random.default_rng(seed))
        assert len(s) == 20 and s.form_id.is_unique and set(s.form_id) == set(ids[certain | np.isfinite(hit)])
        assert s.interval.unique().tolist() == [pytest.approx(interval)] and j == pytest.approx(interval)
        assert set(s.form_id[s.stratum == "大额（不小于抽样间距）"]) == set(ids[top]) >= {"gen-00005", "gen-00050"}
    assert (budgets[top] >= interval).all() and (budgets[~top] < interval).all()
    runs = 4000
    hits = np.zeros(len(budgets))
    for seed in range(runs):
        _, certain, hit = mus_select(budgets, 20, np.random.default_rng(seed))
        assert certain.sum() + np.isfinite(hit).sum() == 20
        hits += certain | np.isfinite(hit)
    p = np.minimum(1.0, budgets / interval)
    freq = hits / runs
    assert (np.abs(freq - p) <= 4.5 * np.sqrt(p * (1 - p) / runs) + 1e-9).all()
    assert (freq[top] == 1).all() and np.abs(freq - p).max() < 0.03


def test_forms_without_a_budget_are_their_own_stratum_in_mus():
    t = forms([100.0, None, 40.0, 0.0, 60.0, None, 30.0])
    s = sample(t, "mus", n=2, seed=1)
    none = s[s.stratum == "未填预算金额"]
    assert set(none.form_id) == {"gen-00001", "gen-00003", "gen-00005"}  # blank or zero: listed, not dropped
    assert (none.stratum_size == 3).all() and none.interval.isna().all()
    assert none.reason.iloc[0].endswith("共 3 项，全部列出另行复核")
    assert (s.stratum != "未填预算金额").sum() == 2
    two = sample(t, "mus", n=2, seed=1, unbudgeted=1)
    assert (two.stratum == "未填预算金额").sum() == 1
    assert two[two.stratum == "未填预算金额"].selection_probability.round(2).tolist() == [33.33]


def test_risk_sampling_favours_forms_with_graver_findings():
    t = forms([10.0] * 100)
    risky = [f"gen-{i:05d}" for i in range(0, 100, 10)]
    t["anomalies"] = schema.frame("anomalies", [{"rule": "x", "severity": "high", "form_id": f} for f in risky
                                                for _ in range(3)])
    hits = pd.Series(0, index=t["forms"].form_id)
    for seed in range(60):
        hits[sample(t, "risk", n=10, seed=seed).form_id] += 1
    # risk score 13 against 1: a risky form is drawn in most samples, another rarely
    assert hits[risky].mean() / 60 > 0.5 and hits.drop(risky).mean() / 60 < 0.07
    s = sample(t, "risk", n=10, seed=0)
    assert set(s.risk_score) <= {13.0, 1.0}
    heavier = sample(t, "risk", n=10, seed=0, risk_weight_high=0)
    assert set(heavier.risk_score) == {1.0}


def test_settings_come_from_the_rules_table():
    s = settings()
    assert (s["risk_base"], s["risk_weight_high"], s["risk_weight_medium"], s["risk_weight_low"]) == (1, 4, 2, 1)
    assert len(sample(forms([1.0] * 30), "random", seed=1)) == s["n"] == 20
