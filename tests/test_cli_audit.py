"""`perfdata sample | copies | years | digits | runs`: the audit analyses from the command line, on the tables
`perfdata ingest` and `perfdata check` wrote, each writing its CSV (Chinese headers) and exiting 2 on bad usage."""

from __future__ import annotations

import pandas as pd
import pytest

from perfdata import cli, store
from tests.conftest import GUYUAN, RAW


@pytest.fixture(scope="module")
def data(tmp_path_factory, bundled):
    """The bundled tables and their findings, as `perfdata ingest` + `perfdata check` leave them."""
    folder = tmp_path_factory.mktemp("processed")
    store.write(bundled, folder)
    assert cli.main(["check", str(folder)]) == 0
    return folder


def _csv(path) -> pd.DataFrame:
    return pd.read_csv(path, encoding="utf-8-sig", dtype=str)


def test_sample_is_reproducible_from_its_seed_and_says_why(data, tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    assert cli.main(["sample", str(data), "--method", "risk", "--n", "5", "--seed", "7", "--out", str(a)]) == 0
    assert cli.main(["sample", str(data), "--method", "risk", "--n", "5", "--seed", "7", "--out", str(b)]) == 0
    got = _csv(a / "sample.csv")
    assert (a / "sample.csv").read_bytes() == (b / "sample.csv").read_bytes()
    assert len(got) == 5 and {"项目名称", "来源文件", "抽取原因"} <= set(got.columns)
    assert got["抽取原因"].str.startswith("按风险抽样").all()
    # the most exposed form comes first: 新乡县 人事局工作经费, 7 findings of which 5 high
    assert got["项目名称"].iloc[0] == "人事局工作经费" and "7 条（高 5" in got["抽取原因"].iloc[0]
    out = capsys.readouterr().out
    assert "5 of 43 forms, method risk, seed 7" in out and "人事局工作经费" in out


def test_stratified_sample_draws_per_region_in_proportion(data, tmp_path):
    assert cli.main(["sample", str(data), "--method", "stratified", "--n", "6", "--seed", "1", "--by", "region",
                     "--out", str(tmp_path), "--english"]) == 0
    got = _csv(tmp_path / "sample.csv")
    # 43 forms: 兴隆县 24, 新乡县 11, 固原市 8 → 6 drawn as 3 / 2 / 1 (largest remainders)
    assert got.region.value_counts().to_dict() == {"兴隆县": 3, "新乡县": 2, "固原市": 1}
    assert got.method.eq("stratified").all()


@pytest.mark.parametrize("argv", [
    ["sample", "{data}", "--by", "region,county", "--method", "stratified"],
    ["sample", "{data}", "--n", "-1"],
    ["sample", "/nonexistent/processed"],
    ["years", "/nonexistent/processed"],
])
def test_bad_usage_is_exit_2_with_one_line(data, argv, capsys):
    assert cli.main([a.format(data=data) for a in argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err and err[-1].startswith("perfdata: ") and "Traceback" not in "\n".join(err)


def test_copies_finds_the_targets_copied_into_the_actuals_and_places_them(data, tmp_path, capsys):
    assert cli.main(["copies", str(data), "--raw", str(RAW), "--out", str(tmp_path)]) == 0
    got = _csv(tmp_path / "copies.csv")
    assert len(got) == 1  # the bundled documents copy nothing across departments (read by hand)
    assert "68项指标中68项" in got["说明"].iloc[0] and f"{GUYUAN}:15" in got["说明"].iloc[0]
    assert "雷同文本: 1 findings (actual_is_target 1)" in capsys.readouterr().out


def test_years_and_digits_write_their_tables(data, tmp_path, capsys):
    assert cli.main(["years", str(data), "--out", str(tmp_path)]) == 0
    assert len(_csv(tmp_path / "project_years.csv")) == 84  # 43 forms + 41 香河县 targets, one year each
    assert len(_csv(tmp_path / "year_findings.csv")) == 0
    assert cli.main(["digits", str(data), "--out", str(tmp_path)]) == 0
    tests = _csv(tmp_path / "digit_tests.csv")
    assert tests["结论"].eq("样本不足").all()  # 118 amounts; a verdict needs 600
    out = capsys.readouterr().out
    assert "84 project-years, 0 linked" in out and "数字分布检验: 12 tests" in out


def test_runs_lists_nothing_in_an_empty_reports_folder(tmp_path, capsys):
    assert cli.main(["runs", str(tmp_path)]) == 0
    assert "0 report runs" in capsys.readouterr().out
