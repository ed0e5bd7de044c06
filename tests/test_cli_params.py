"""--param of `perfdata run` / `perfdata report`: values checked before anything runs — types before the ingest,
the filters against the data after it (before the check, the report and before any table is written), with
messages naming the parameter, the value and the values there are; an empty selection is an error (exit 2)."""

from __future__ import annotations

import shutil
import sys
import types

import pytest

from perfdata import cli, store
from perfdata.report import runner
from tests.conftest import RAW, XINGLONG, XINXIANG


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    """Two of the bundled documents: 兴隆县 2024 and 新乡县 2021."""
    folder = tmp_path_factory.mktemp("raw")
    for name in (XINGLONG, XINXIANG):
        shutil.copy(RAW / name, folder / name)
    return folder


@pytest.fixture()
def nothing_after_ingest(monkeypatch):
    """The check and the report must not start: both raise if they do."""
    from perfdata import checks

    def check_all(*a, **kw):
        raise AssertionError("the check must not start")

    def run_report(*a, **kw):
        raise AssertionError("the report must not start")

    monkeypatch.setitem(sys.modules, "perfdata.checks",
                        types.SimpleNamespace(**{**vars(checks), "check_all": check_all}))
    monkeypatch.setattr(runner, "run_report", run_report)


def _run(tmp_path, raw, *params):
    args = ["run", str(raw), "--processed", str(tmp_path / "p"), "--out", str(tmp_path / "r")]
    for p in params:
        args += ["--param", p]
    return cli.main(args)


@pytest.mark.parametrize(("param", "said"), [
    pytest.param("regions=兴隆", ["regions", "兴隆", "是否指：兴隆县", "兴隆县、新乡县"], id="typo-of-xinglong"),
    pytest.param("regions=兴隆县,北京市", ["regions", "北京市", "兴隆县、新乡县"], id="one-of-two-unknown"),
    pytest.param("departments=教育局", ["departments", "教育局", "兴隆县人力资源和社会保障局"], id="department"),
    pytest.param("years=2030", ["years", "2030", "2021、2024"], id="year-not-in-data"),
    pytest.param("years=2021,2023", ["years", "2023", "2021、2024"], id="one-year-not-in-data"),
])
def test_a_filter_value_not_in_the_data_is_exit_2_naming_the_valid_ones(tmp_path, raw, capsys, nothing_after_ingest,
                                                                       param, said):
    assert _run(tmp_path, raw, param) == 2
    err = capsys.readouterr().err
    for text in said:
        assert text in err, f"{text!r} not in {err!r}"
    assert not (tmp_path / "p").exists() and not (tmp_path / "r").exists()  # no table written, no report


def test_filters_that_select_nothing_together_are_exit_2(tmp_path, raw, capsys, nothing_after_ingest):
    assert _run(tmp_path, raw, "years=2021", "regions=兴隆县") == 2  # each is in the data, not both at once
    err = capsys.readouterr().err
    assert "筛选结果为空" in err and "兴隆县" in err and "2021" in err
    assert not (tmp_path / "p").exists() and not (tmp_path / "r").exists()


@pytest.mark.parametrize("param", ["years=abc", "years=2024,abc", "years=24", "years=[2024.5]"])
def test_a_year_that_is_not_a_year_is_exit_2_before_the_ingest(tmp_path, monkeypatch, capsys, param):
    def no_ingest(*a, **kw):
        raise AssertionError("ingest must not start")

    monkeypatch.setattr(cli, "ingest", no_ingest)
    assert _run(tmp_path, RAW, param) == 2
    err = capsys.readouterr().err
    assert "years" in err and "不是年度" in err and param.split("=")[1].split(",")[-1].strip("[]") in err


def test_report_checks_filters_against_its_tables(tmp_path, bundled, capsys):
    data = tmp_path / "data"
    store.write({k: bundled[k] for k in ("forms", "files")}, data)
    code = cli.main(["report", "--data", str(data), "--out", str(tmp_path / "r"), "--param", "regions=兴隆"])
    assert code == 2
    err = capsys.readouterr().err
    assert "regions" in err and "兴隆县、固原市、新乡县" in err and not (tmp_path / "r").exists()


@pytest.mark.parametrize(("given", "want"), [
    ("高", ["high"]), ("高,低", ["high", "low"]), ("high", ["high"]), ("中,medium", ["medium", "medium"]),
    ("LOW", ["low"]), ("", []),
])
def test_severities_take_chinese_labels_and_codes(given, want):
    typed = runner.resolve(runner.find_notebooks(["overview"]), {"severities": given})
    assert typed["overview"]["severities"] == want


def test_an_unknown_severity_or_rule_is_an_error_listing_the_valid_ones():
    nbs = runner.find_notebooks(["overview"])
    with pytest.raises(runner.ReportError, match=r"severities.*严重.*高（high）、中（medium）、低（low）"):
        runner.resolve(nbs, {"severities": "严重"})
    with pytest.raises(runner.ReportError, match=r"rules.*no_such_rule.*exec_rate_mismatch"):
        runner.resolve(nbs, {"rules": "exec_rate_mismatch,no_such_rule"})
    # a rule's Chinese title stands for its id
    assert runner.resolve(nbs, {"rules": "执行率与执行数/预算数不符"})["overview"]["rules"] == ["exec_rate_mismatch"]


def test_an_unknown_severity_is_exit_2_before_the_ingest(tmp_path, monkeypatch, capsys):
    def no_ingest(*a, **kw):
        raise AssertionError("ingest must not start")

    monkeypatch.setattr(cli, "ingest", no_ingest)
    assert _run(tmp_path, RAW, "severities=严重") == 2
    assert "severities" in capsys.readouterr().err


def test_years_are_typed_as_numbers():
    typed = runner.resolve(runner.find_notebooks(["forms"]), {"years": "2021, 2024"})
    assert typed["forms"]["years"] == [2021, 2024]


def test_selection_against_the_bundled_tables(bundled):
    assert runner.check_selection(bundled, {"years": "2024", "regions": "兴隆县"}) == {"years": [2024],
                                                                                    "regions": ["兴隆县"]}
    assert runner.check_selection(bundled, {"departments": "人力资源"}) == {"departments": ["人力资源"]}  # a part
    assert runner.check_selection(bundled, {"years": [2023]})  # 香河县's 绩效目标表: no project form, still data
    assert runner.check_selection(bundled, {"regions": "", "max_rows": "5"}) == {"regions": []}
    values = runner.filter_values(bundled)
    assert values["years"] == [2021, 2023, 2024] and values["regions"] == ["兴隆县", "固原市", "新乡县"]
    with pytest.raises(runner.ReportError, match="没有读到任何"):
        runner.check_selection({k: v.iloc[0:0] for k, v in bundled.items()}, {})


@pytest.mark.parametrize(("param", "said"), [
    pytest.param("sample_method=lottery", ["sample_method", "lottery", "random", "stratified", "mus", "risk"],
                 id="unknown-sample-method"),
    pytest.param("sample_n=-3", ["sample_n", "-3", "negative"], id="negative-sample-size"),
])
def test_a_sample_setting_out_of_range_is_exit_2_before_the_ingest(tmp_path, monkeypatch, capsys, param, said):
    def no_ingest(*a, **kw):
        raise AssertionError("ingest must not start")

    monkeypatch.setattr(cli, "ingest", no_ingest)
    assert _run(tmp_path, RAW, param) == 2
    err = capsys.readouterr().err
    for text in said:
        assert text in err, f"{text!r} not in {err!r}"
