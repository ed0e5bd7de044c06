"""Benford and last-digit tests: planted digit patterns, the bundled funding figures, the chart."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from perfdata import schema
from perfdata.audit.digits import amounts, digit_tables, digit_tests, digits, expected, settings
from perfdata.report.plots import plot_digits

RNG = np.random.default_rng(2024)
BENFORD = np.round(10 ** RNG.uniform(1, 6, 6000), 2)  # log-uniform over five decades: Benford's law itself


def verdicts(t: pd.DataFrame) -> dict[str, str]:
    return dict(zip(t["test"], t["verdict"], strict=True))


def test_amounts_that_follow_benford_conform():
    t = digit_tests(BENFORD)
    assert verdicts(t) == {"first": "高度符合", "first_two": "高度符合", "last": "高度符合"}
    assert (t["mad"] < t["mad_expected"] * 1.5).all()
    assert (t["p_value"] > 0.01).all()
    assert t["n"].tolist() == [6000, 6000, 4788]  # last: the amounts of 100 万元 or more
    assert t["group"].unique().tolist() == ["全部"]


def test_amounts_all_starting_with_5_do_not_conform():
    fives = np.round((5 + RNG.uniform(0, 1, 2000)) * 10 ** RNG.integers(1, 5, 2000), 2)
    t = digit_tables(fives)
    tests = verdicts(t["digit_tests"])
    assert tests["first"] == "不符合" and tests["first_two"] == "不符合"
    f = t["digit_frequencies"]
    first = f[f.test == "first"].set_index("digit")
    assert first.loc[5, "observed"] == 2000 and first.loc[5, "observed_share"] == 100.0
    assert first.loc[5, "z_stat"] > 100 and first.loc[1, "observed"] == 0
    assert f[(f.test == "first_two") & (f.observed > 0)].digit.between(50, 59).all()


def test_round_budgets_fail_the_last_digit_test_only():
    rounded = np.round(BENFORD, -1)  # whole tens of 万元: the units digit is always 0
    t = digit_tables(rounded)
    assert verdicts(t["digit_tests"])["last"] == "不符合"
    assert verdicts(t["digit_tests"])["first"] == "高度符合"
    f = t["digit_frequencies"]
    assert f[(f.test == "last") & (f.digit == 0)].observed_share.tolist() == [100.0]


def test_a_tiny_sample_reads_insufficient():
    t = digit_tests(BENFORD[:40])
    assert set(t["verdict"]) == {"样本不足"}
    assert t["mad"].notna().all()  # the MAD is still given
    # the minimum sizes are settings: with a lower one the same amounts get a verdict
    assert digit_tests(BENFORD[:40], first_min_n=30).set_index("test").loc["first", "verdict"] != "样本不足"


def test_zeros_negatives_and_small_amounts_are_left_out():
    t = digit_tests([0.0, -5.0, 3.0, 7.5, 12.0, 480.0, None]).set_index("test")
    assert t.loc["first", "n"] == 4 and t.loc["first", "excluded"] == 2
    assert t.loc["first_two", "n"] == 2 and t.loc["first_two", "excluded"] == 4  # below 10 万元 as well
    assert t.loc["last", "n"] == 1 and t.loc["last", "excluded"] == 5  # below 100 万元 as well
    assert digits([0.07, 9.99, 10.0, 1234.56], "first").tolist() == [7, 9, 1, 1]
    assert digits([0.07, 9.99, 10.0, 1234.56], "first_two", 10).tolist() == [-1, -1, 10, 12]
    assert digits([0.07, 99.99, 100.0, 1234.56], "last", 100).tolist() == [-1, -1, 0, 4]


def test_expected_shares():
    for test, k in (("first", 9), ("first_two", 90), ("last", 10)):
        d, p = expected(test)
        assert len(d) == k and p.sum() == pytest.approx(1.0)
    with pytest.raises(ValueError):
        expected("second")


def test_thresholds_come_from_the_rules_table():
    s = settings()
    assert [s["first"][b] for b in ("close", "acceptable", "marginal")] == [0.006, 0.012, 0.015]
    assert [s["first_two"][b] for b in ("close", "acceptable", "marginal")] == [0.0012, 0.0018, 0.0022]
    assert (s["first"]["min_n"], s["first_two"]["min_n"], s["last"]["min_n"]) == (600, 1700, 600)
    with pytest.raises(ValueError):
        settings(first_cutoff=1)


# -- the bundled documents --------------------------------------------------------------------------------------

def test_amounts_of_the_bundled_forms(bundled):
    a = amounts(bundled)
    assert len(a) == 124 and (a.amount > 0).sum() == 118
    # 劳务派遣人员经费: 139.04 on the 年度资金总额 and the 财政拨款 line, printed three times on each: once per line
    one = a[a.form_id == "b7e31012d4-00003"]
    assert one[["line", "fund_source", "field", "amount"]].values.tolist() == [
        [10, "total", "budget_initial", 139.04], [11, "fiscal", "budget_initial", 139.04]]
    assert a.region.notna().all() and set(a.year) == {2021, 2024}


def test_digit_tests_on_the_bundled_funding_figures(bundled):
    t = digit_tables(bundled)
    tests = t["digit_tests"]
    assert list(tests.columns) == [c.name for c in schema.TABLES["digit_tests"]]
    first = tests[tests.test == "first"].set_index("group")
    assert first.n.to_dict() == {"全部": 118, "兴隆县 2024": 57, "固原市 2024": 16, "新乡县 2021": 45}
    assert first.excluded.to_dict() == {"全部": 6, "兴隆县 2024": 0, "固原市 2024": 0, "新乡县 2021": 6}  # zeros
    assert first.mad.round(4).to_dict() == {"全部": 0.0261, "兴隆县 2024": 0.0404, "固原市 2024": 0.0951,
                                            "新乡县 2021": 0.0354}
    # 118 figures are far from the 600 a verdict needs: every group reads 样本不足
    assert set(tests.verdict) == {"样本不足"}
    assert tests[tests.test == "first_two"].set_index("group").n.to_dict() == {
        "全部": 67, "兴隆县 2024": 34, "固原市 2024": 8, "新乡县 2021": 25}
    f = t["digit_frequencies"]
    overall = f[(f.test == "first") & (f.group == "全部")].set_index("digit")
    assert overall.observed.tolist() == [38, 22, 15, 5, 14, 13, 7, 4, 0]
    assert overall.expected_share.round(1).tolist() == [30.1, 17.6, 12.5, 9.7, 7.9, 6.7, 5.8, 5.1, 4.6]
    # with the minimum lowered the overall first-digit MAD 0.0261 reads 不符合 (5 万元 eight times, 500 four times)
    low = digit_tests(bundled, first_min_n=100).set_index(["test", "group"])
    assert low.loc[("first", "全部"), "verdict"] == "不符合"
    assert low.loc[("first", "兴隆县 2024"), "verdict"] == "样本不足"


def test_groups_by_department_and_bare_frames(bundled):
    t = digit_tests(bundled, by=["department"], tests=["first"])
    assert t.group.tolist() == ["全部", "兴隆县人力资源和社会保障局", "固原市人力资源和社会保障局",
                                "新乡县人力资源和社会保障局"]
    assert t.region.isna().all() and t.department.notna().sum() == 3
    frame = pd.DataFrame({"amount": BENFORD[:700], "region": ["甲"] * 350 + ["乙"] * 350})
    t = digit_tests(frame, by=["region"], tests=["first"]).set_index("group")
    assert t.n.to_dict() == {"全部": 700, "乙": 350, "甲": 350}
    with pytest.raises(ValueError):
        digit_tests(frame, by=["year"])
    with pytest.raises(ValueError):
        digit_tests(frame, by=["unit"])


def test_empty_input():
    t = digit_tables({"forms": schema.frame("forms", []), "funding": schema.frame("funding", [])})
    assert t["digit_tests"].n.tolist() == [0, 0, 0] and set(t["digit_tests"].verdict) == {"样本不足"}
    assert t["digit_frequencies"].observed_share.isna().all() and len(t["digit_frequencies"]) == 9 + 90 + 10


def test_plot_digits_draws_observed_bars_and_the_expected_line(bundled):
    import matplotlib
    import matplotlib.pyplot as plt

    matplotlib.use("Agg")
    f = digit_tables(bundled)["digit_frequencies"]
    fig = plot_digits(f, "first", "全部")
    ax = fig.axes[0]
    assert ax.get_title() == "首位数字分布：全部（n = 118，MAD 0.0261，样本不足）"
    assert len(ax.patches) == 9 and len(ax.lines) == 1
    assert [round(p.get_height(), 2) for p in ax.patches][:2] == [32.2, 18.64]
    assert ax.get_ylabel() == "占比（%）"
    plt.close(fig)
    fig = plot_digits(digit_tables(BENFORD)["digit_frequencies"], "first_two")
    assert len(fig.axes[0].patches) == 90 and "高度符合" in fig.axes[0].get_title()
    plt.close(fig)
