"""`perfdata run` / `perfdata report`: every notebook executed with its defaults and with other parameters,
figures asserted in their outputs, the run folder complete or marked failed, parameters checked first."""

from __future__ import annotations

import json
import re
import shutil
import sys
import types

import nbformat
import pandas as pd
import pytest
from openpyxl import load_workbook

from perfdata import cli, schema
from perfdata.report import runner
from tests.conftest import RAW, XINGLONG
from tests.report_checks import assert_clean_csv, assert_clean_html, assert_clean_workbook


def _outputs(ipynb) -> str:
    """All text a reader sees in an executed notebook (markdown and plain-text outputs)."""
    nb = nbformat.read(ipynb, as_version=4)
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            parts += [data.get("text/markdown", ""), data.get("text/plain", ""), out.get("text", "")]
    return "\n".join(p if isinstance(p, str) else "".join(p) for p in parts)


def _fake_check(tables, raw_dir=None, **params):
    """Stands in for perfdata.checks.check (the checks' own tests cover the rules)."""
    f = tables["forms"]
    hire = f[f.project_name == "事业单位招聘"].iloc[0]
    return schema.frame("anomalies", [
        {"rule": "exec_rate_mismatch", "category": "consistency", "severity": "high", "form_id": hire.form_id,
         "region": hire.region, "department": hire.department, "year": int(hire.year),
         "project_name": hire.project_name, "message": "执行率与执行数不符", "source_file": hire.source_file,
         "line": int(hire.funding_line)},
        {"rule": "weights_not_total", "category": "consistency", "severity": "medium", "region": "兴隆县", "year": 2024,
         "message": "模板：执行率分值在总分100之外", "source_file": XINGLONG, "line": 1},
    ])


def _checks_stub(check):
    """A perfdata.checks whose findings come from `check`; the rescoring and the parameters are the real ones."""
    from perfdata import checks, scoring

    def check_all(tables, raw_dir=None, **params):
        return {"anomalies": check(tables, raw_dir, **params), **scoring.rescore(tables)}

    return types.SimpleNamespace(**{**vars(checks), "check": check, "check_all": check_all})


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """`perfdata run` on the bundled documents, every notebook, default parameters."""
    tmp = tmp_path_factory.mktemp("run")
    mp = pytest.MonkeyPatch()
    mp.setitem(sys.modules, "perfdata.checks", _checks_stub(_fake_check))
    try:
        code = cli.main(["run", str(RAW), "--processed", str(tmp / "processed"), "--out", str(tmp / "reports"),
                         "--run-id", "bundled", "--notebooks", ",".join(runner.ALL_NOTEBOOKS), "--jobs", "3"])
    finally:
        mp.undo()
    return code, tmp


def test_run_writes_a_complete_report_folder(default_run):
    code, tmp = default_run
    assert code == 0
    folder = tmp / "reports" / "bundled"
    assert (tmp / "processed" / "anomalies.parquet").exists()
    assert not (folder / "FAILED").exists() and not list((tmp / "reports").glob(".*partial"))
    assert (tmp / "reports" / "latest").resolve() == folder.resolve()
    for nb in runner.ALL_NOTEBOOKS:
        assert (folder / f"{nb}.ipynb").exists()
        html = (folder / f"{nb}.html").read_text(encoding="utf-8")
        assert "pd.set_option" not in html and "<h1" in html  # text and outputs, no code cells
    assert 'alt="各实施单位预算执行率（加权）"' in (folder / "forms.html").read_text(encoding="utf-8")
    pngs = sorted(p.stem for p in (folder / "charts").glob("*.png"))
    assert len(pngs) >= 12 and pngs == sorted(p.stem for p in (folder / "charts").glob("*.svg"))
    m = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert m["status"] == "ok" and m["failed"] == [] and m["run_id"] == "bundled"
    assert set(m["inputs"]["raw"]) == {p.name for p in RAW.glob("*.txt")}
    assert len(m["inputs"]["raw"][XINGLONG]) == 64 and "anomalies.parquet" in m["inputs"]["data"]
    assert m["versions"]["papermill"] and m["versions"]["perfdata"]
    assert {n["name"] for n in m["notebooks"]} == set(runner.ALL_NOTEBOOKS)
    # all three at once (--jobs 3): their kernels were started, and warmed, while the run ingested and checked;
    # one that could not warm up says why, and its notebook ran on a kernel of its own
    warmed = {k.split(":", 1)[1] for k in m["timings"] if k.startswith("kernel:")}
    why = {n["name"]: n["warm_kernel_error"] for n in m["notebooks"] if n["warm_kernel_error"]}
    assert warmed and warmed | set(why) == set(runner.ALL_NOTEBOOKS) and not warmed & set(why), why
    assert m["steps"]["ingest"]["forms"] == 43 and m["steps"]["check"]["result"] == "2 findings"
    assert "anomalies.xlsx" in m["outputs"] and "charts/execution_by_unit.png" in m["outputs"]


def test_notebook_figures_with_defaults(default_run):
    _, tmp = default_run
    folder = tmp / "reports" / "bundled"
    assert "共 **43 份项目支出绩效自评表**" in _outputs(folder / "forms.ipynb")
    assert "共 **43 份项目支出绩效自评表**" in _outputs(folder / "overview.ipynb")
    assert "共 **2 条问题**（高 1、中 1、低 0）" in _outputs(folder / "overview.ipynb")
    forms = pd.read_parquet(tmp / "processed" / "forms.parquet")
    x = forms[forms.region == "新乡县"]
    mean_rate = (x.executed / x.budget_full_year.fillna(x.budget_initial) * 100).mean()
    by_dept = pd.read_csv(folder / "tables" / "execution_by_department.csv").set_index("地区")
    assert by_dept.loc["新乡县", "平均执行率(%)"] == pytest.approx(mean_rate, abs=0.01)
    assert by_dept.loc["新乡县", "主管部门"] == "新乡县人力资源和社会保障局"
    listed = pd.read_csv(folder / "tables" / "anomalies.csv")
    assert list(listed["严重程度"]) == ["高", "中"] and "年度资金总额" in listed["证据"].iloc[0]
    assert list(listed["规则"]) == ["执行率与执行数/预算数不符", "分值合计不等于总分值"]
    assert "人事局工作经费" in _outputs(folder / "exploration.ipynb") or "冀财社" in _outputs(
        folder / "exploration.ipynb")


def test_workbook_of_the_run(default_run):
    _, tmp = default_run
    wb = load_workbook(tmp / "reports" / "bundled" / "anomalies.xlsx")
    ws = wb["问题清单"]
    header = [c.value for c in ws[1]]
    assert header[:4] == ["序号", "严重程度", "规则名称", "项目名称"]
    col = {h: k for k, h in enumerate(header, start=1)}
    assert ws.cell(2, col["规则名称"]).value == "执行率与执行数/预算数不符"
    assert ws.cell(2, col["说明"]).value == "执行率与执行数不符"
    assert wb["项目自评表"].max_row == 44
    notes = {r[0]: r[1] for r in wb["说明"].iter_rows(values_only=True) if r[0]}
    assert notes["运行编号"] == "bundled" and notes["问题总数"] == "2 条（高 1、中 1、低 0）"
    assert_clean_workbook(wb)


def test_notebooks_with_other_parameters(default_run):
    _, tmp = default_run
    params = {"years": "2021", "exec_rate_threshold": "75", "severities": "high",
              "example_project": "事业单位招聘"}
    res = runner.run_report(tmp / "processed", tmp / "reports", params, raw_dir=RAW, run_id="xinxiang",
                            notebooks=runner.ALL_NOTEBOOKS)
    assert res.status == "ok", res.manifest["failed"]
    folder = res.folder
    assert "共 **11 份项目支出绩效自评表**" in _outputs(folder / "forms.ipynb")
    low = pd.read_csv(folder / "tables" / "below_threshold.csv")
    forms = pd.read_parquet(tmp / "processed" / "forms.parquet").query("year == 2021")
    rate = forms.executed / forms.budget_full_year.fillna(forms.budget_initial) * 100
    assert sorted(low["项目名称"]) == sorted(forms.project_name[rate < 75])
    assert "执行率低于 75% 的表单 **2 份**" in _outputs(folder / "forms.ipynb")
    assert "共 **1 条问题**（高 1、中 0、低 0）" in _outputs(folder / "overview.ipynb")
    assert list(pd.read_csv(folder / "tables" / "overview.csv")["地区"]) == ["新乡县"]
    assert "事业单位招聘" in _outputs(folder / "exploration.ipynb")
    m = res.manifest["parameters"]["notebooks"]
    assert m["forms"]["years"] == [2021] and m["forms"]["exec_rate_threshold"] == 75.0
    assert "severities" not in m["forms"] and m["overview"]["severities"] == ["high"]
    # the workbook follows the same selection
    wb = load_workbook(folder / "anomalies.xlsx")
    assert wb["项目自评表"].max_row == 12


def test_same_inputs_give_the_same_tables(default_run):
    _, tmp = default_run
    first = tmp / "reports" / "bundled" / "tables"
    before = {p.name: p.read_bytes() for p in first.glob("*.csv")}
    res = runner.run_report(tmp / "processed", tmp / "reports", {}, raw_dir=RAW, run_id="again",
                            notebooks=["forms"])
    again = {p.name: p.read_bytes() for p in (res.folder / "tables").glob("*.csv")}
    assert again and all(again[name] == before[name] for name in again)


def test_unknown_parameter_is_an_error_before_anything_runs(tmp_path, capsys):
    code = cli.main(["run", str(RAW), "--processed", str(tmp_path / "p"), "--out", str(tmp_path / "r"),
                     "--param", "threshhold=80"])
    assert code == 2
    err = capsys.readouterr().err
    assert "unknown parameter(s): threshhold" in err and "exec_rate_threshold" in err
    assert not (tmp_path / "p").exists() and not (tmp_path / "r").exists()
    with pytest.raises(runner.ReportError, match="--data/--raw/--out"):
        runner.resolve(runner.find_notebooks(), {"data_dir": "x"})
    with pytest.raises(runner.ReportError, match="--run-id"):
        runner.resolve(runner.find_notebooks(), {"run_id": "x"})
    with pytest.raises(runner.ReportError, match="NAME=VALUE"):
        runner.parse_params(["years"])
    with pytest.raises(runner.ReportError, match="exec_rate_threshold"):
        runner.resolve(runner.find_notebooks(["forms"]), {"exec_rate_threshold": "ninety"})


def test_a_failing_notebook_fails_the_command_and_is_named(tmp_path, monkeypatch, capsys, bundled):
    nbdir = tmp_path / "nb"
    nbdir.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell('data_dir: str = "."  # tables', metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("import perfdata\nforms = perfdata.load(data_dir)['forms']"),
                nbformat.v4.new_code_cell("forms['no_such_column']")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, nbdir / "broken.ipynb")
    data = tmp_path / "data"
    from perfdata import store

    store.write({"forms": bundled["forms"]}, data)
    monkeypatch.setattr(runner, "NOTEBOOK_DIR", nbdir)
    code = cli.main(["report", "--data", str(data), "--out", str(tmp_path / "reports"), "--run-id", "r",
                     "--notebooks", "broken"])
    assert code == 3
    err = capsys.readouterr().err
    assert "notebook broken.ipynb failed at cell 3 (In [4] of the executed copy): KeyError" in err
    folder = tmp_path / "reports" / "r-FAILED"
    assert (folder / "FAILED").read_text(encoding="utf-8").startswith("notebook broken.ipynb failed at cell 3")
    m = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert m["status"] == "failed" and m["notebooks"][0]["error"]["ename"] == "KeyError"
    assert (folder / "broken.ipynb").exists() and (folder / "broken.html").exists()
    assert not (tmp_path / "reports" / "r").exists() and not (tmp_path / "reports" / "latest").exists()


@pytest.mark.parametrize(("text", "type_name", "want"), [
    ("2021,2024", "list", [2021, 2024]),
    ("[2024]", "list", [2024]),
    ("兴隆县,新乡县", "list", ["兴隆县", "新乡县"]),
    ("", "list", []),
    ("85", "float", 85.0),
    ("yes", "bool", True),
    ("data/x", "str", "data/x"),
])
def test_coerce_parameter_values(text, type_name, want):
    assert runner.coerce(text, type_name) == want


def test_every_notebook_declares_typed_commented_parameters():
    for name in runner.ALL_NOTEBOOKS:
        params = runner.notebook_parameters(runner.NOTEBOOK_DIR / f"{name}.ipynb")
        assert "data_dir" in params, name
        assert ("output_dir" in params) == (name in runner.NOTEBOOKS), name  # only reports write files
        for p, d in params.items():
            assert d["type"] not in ("None", ""), f"{name}.{p} has no type"
            assert d["help"], f"{name}.{p} has no comment"


def test_report_without_data_is_an_error(tmp_path, capsys):
    assert cli.main(["report", "--data", str(tmp_path / "none"), "--out", str(tmp_path / "r")]) == 2
    assert "perfdata ingest" in capsys.readouterr().err
    shutil.rmtree(tmp_path / "r", ignore_errors=True)


def test_findings_without_a_check_run(tmp_path, bundled):
    from perfdata import store

    store.write({k: bundled[k] for k in ("forms", "indicators", "funding", "files")}, tmp_path / "data")
    res = runner.run_report(tmp_path / "data", tmp_path / "reports", {}, run_id="nocheck", notebooks=["overview"])
    assert res.status == "ok", res.manifest["failed"]
    text = _outputs(res.folder / "overview.ipynb")
    assert "未找到 anomalies 表" in text and "共 **0 条问题**" in text
    assert load_workbook(res.folder / "anomalies.xlsx")["问题清单"].max_row == 1


def test_a_failing_check_marks_the_run_failed(tmp_path, monkeypatch, capsys):
    def broken(tables, raw_dir=None, **params):
        raise RuntimeError("rule table unreadable")

    processed = tmp_path / "processed"
    processed.mkdir()
    (processed / "anomalies.parquet").write_bytes(b"stale")  # findings of an earlier run must not be reported
    monkeypatch.setitem(sys.modules, "perfdata.checks", _checks_stub(broken))
    code = cli.main(["run", str(RAW), "--processed", str(processed), "--out", str(tmp_path / "reports"),
                     "--run-id", "c", "--notebooks", "overview"])
    assert code == 3
    assert "check failed: RuntimeError: rule table unreadable" in capsys.readouterr().err
    assert not (processed / "anomalies.parquet").exists()
    m = json.loads((tmp_path / "reports" / "c-FAILED" / "manifest.json").read_text(encoding="utf-8"))
    assert m["status"] == "failed" and m["failed"] == ["check failed: RuntimeError: rule table unreadable"]
    assert m["notebooks"][0]["status"] == "ok"


def test_importing_the_report_module_leaves_the_process_alone():
    import subprocess

    code = ("import sys, perfdata.report.runner as r; a = sys.modules.get('rfc3987_syntax', 'absent'); "
            "r.notebook_parameters(r.NOTEBOOK_DIR / 'forms.ipynb'); "
            "print(a, sys.modules.get('rfc3987_syntax', 'absent'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == "absent" and out[1] != "None"  # nothing hidden at import, nor left hidden after the runner


def _count(pattern: str, text: str) -> int:
    m = re.search(pattern, text)
    assert m, f"{pattern!r} not in the report"
    return int(m.group(1).replace(",", ""))


def test_html_reports_are_chinese_offline_and_say_what_they_cover(default_run):
    _, tmp = default_run
    folder = tmp / "reports" / "bundled"
    m = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    for nb, title in (("forms", "项目支出绩效自评：预算执行与自评得分"), ("overview", "总览与问题清单")):
        page = (folder / f"{nb}.html").read_text(encoding="utf-8")
        assert_clean_html(page, nb)
        assert f"<title>{title}</title>" in page and "@media print" in page
        # the header block: run id and date, filters, every input file with its hash and what was read of it
        assert "运行编号</th><td>bundled<" in page and m["started"][:10] in page
        assert "筛选条件</th><td>年度：全部；地区：全部；主管部门：全部" in page
        for name, sha in m["inputs"]["raw"].items():
            assert name in page and sha in page
        assert "项目支出绩效自评表 24；未读取 4 行；问题 3 条" in page  # 兴隆县: what was read of it
        # a table of contents linking every section
        toc = re.search(r'<nav class="toc">(.*?)</nav>', page, re.S).group(1)
        sections = re.findall(r'<h2 id="([^"]+)"', page)
        assert sections and re.findall(r'href="#([^"]+)"', toc) == sections
        assert page.index('<nav class="toc">') < page.index(f'id="{sections[0]}"')


def test_report_tables_show_finance_formats_without_index(default_run):
    _, tmp = default_run
    page = (tmp / "reports" / "bundled" / "forms.html").read_text(encoding="utf-8")
    assert '<td class="num">11,050.69</td>' in page  # 兴隆县 budget: 万元, thousands separator, two decimals
    assert '<td class="num">95.04%</td>' in page  # weighted rate: two decimals and %
    assert '<td class="num">7.6</td>' in page and '<td class="num">0.76</td>' in page  # points: up to two
    assert "<th></th>" not in page and 'class="dataframe"' not in page  # no index column
    assert "text-align:left" in page


def test_csv_exports_are_chinese_and_english_on_request(default_run, capsys):
    _, tmp = default_run
    folder = tmp / "reports" / "bundled" / "tables"
    for path in sorted(folder.glob("*.csv")):
        assert_clean_csv(path)
    header, _ = assert_clean_csv(folder / "anomalies.csv")
    assert header[:3] == ["规则", "类别", "严重程度"]
    code = cli.main(["report", "--data", str(tmp / "processed"), "--raw", str(RAW), "--out", str(tmp / "reports"),
                     "--run-id", "english", "--notebooks", "overview", "--english"])
    assert code == 0
    err = capsys.readouterr().err  # not a terminal: one plain line per step, no bar
    assert re.search(r"\d\d:\d\d:\d\d report   notebook overview.ipynb ok \(", err) and "%|" not in err
    listed = pd.read_csv(tmp / "reports" / "english" / "tables" / "anomalies.csv")
    assert list(listed.severity) == ["high", "medium"] and list(listed.rule) == ["exec_rate_mismatch",
                                                                                "weights_not_total"]
    m = json.loads((tmp / "reports" / "english" / "manifest.json").read_text(encoding="utf-8"))
    assert m["parameters"]["notebooks"]["overview"]["english"] is True
    # the HTML stays Chinese
    assert_clean_html((tmp / "reports" / "english" / "overview.html").read_text(encoding="utf-8"), "overview")


def test_headline_counts_equal_the_sums_of_their_tables(default_run):
    _, tmp = default_run
    folder = tmp / "reports" / "bundled"
    tables = folder / "tables"
    text = _outputs(folder / "overview.ipynb")
    n = _count(r"共 \*\*([\d,]+) 条问题\*\*", text)
    assert n == len(pd.read_parquet(tmp / "processed" / "anomalies.parquet")) == 2
    by_dept = pd.read_csv(tables / "anomalies_by_department.csv")
    assert by_dept["合计"].sum() == n == _count(r"合计 \*\*([\d,]+) 条\*\*", text)
    assert "未填" in set(by_dept["主管部门"])  # the finding without a department is counted, as 未填
    assert pd.read_csv(tables / "anomalies_by_rule.csv")["合计"].sum() == n
    assert pd.read_csv(tables / "anomalies_by_category.csv")["合计"].sum() == n
    assert pd.read_csv(tables / "overview.csv")["问题数"].sum() == n
    forms = _outputs(folder / "forms.ipynb")
    bins = pd.read_csv(tables / "execution_distribution.csv")
    assert bins["表单数"].sum() == 43
    below = bins.loc[bins["低于说明阈值"] == "是", "表单数"].sum()
    assert _count(r"执行率低于 90% 的表单 \*\*(\d+) 份\*\*", forms) == below
    assert _count(r"恰为 100% 的 (\d+) 份", forms) == bins.loc[bins["区间"] == "100%", "表单数"].sum() == 34
    assert _count(r"高于 120% 的 \*\*(\d+) 份\*\*", forms) == bins.loc[bins["超出复核区间"] == "是", "表单数"].sum()
    assert _count(r"执行率低于 90% 的项目 \*\*(\d+) 个\*\*", forms) == len(pd.read_csv(tables / "below_threshold.csv"))
    assert _count(r"预算有调整的 \*\*(\d+) 份\*\*", forms) == len(pd.read_csv(tables / "budget_adjustments.csv"))
    assert _count(r"距满分不足 1 分的表单 \*\*(\d+) 份\*\*", forms) == len(
        pd.read_csv(tables / "low_execution_full_score.csv"))
    gaps = pd.read_csv(tables / "self_vs_rescore.csv")
    over = int((gaps["自评高出(分)"] >= 0.01).sum())
    assert f"高于按规则重算的表单 **{over} 份**" in forms
    # the §5 table says what its heading says: every row is below the threshold and at (near) full marks
    low_full = pd.read_csv(tables / "low_execution_full_score.csv")
    assert (low_full["计算执行率(%)"] < 90).all() and (low_full["总得分"] >= low_full["总分值"] - 1).all()


# -- exports: nothing Excel would run, the same bytes for the same inputs -------------------------------------

FORMULA_TEXTS = ['=HYPERLINK("http://example.org","点此")', "+86 10 1234", "-2+3", "@SUM(A1:A9)", "\t缩进",
                 "\r回车", "兴隆县", "-12.5", "95%", "'=已加引号"]
QUOTED = ["'" + t for t in FORMULA_TEXTS[:6]] + ["兴隆县", "-12.5", "95%", "''=已加引号"]


def _csv_rows(path):
    import csv

    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def test_report_csv_cells_that_excel_would_run_are_quoted(tmp_path):
    from perfdata.report import analysis

    df = pd.DataFrame({"project_name": pd.array(FORMULA_TEXTS, dtype="string"),
                       "executed": pd.array([-12.5] * len(FORMULA_TEXTS), dtype="Float64")})
    for english in (False, True):
        rows = _csv_rows(analysis.save_table(df, f"t{english}", tmp_path, "forms", english=english))
        assert rows[0] == (["project_name", "executed"] if english else ["项目名称", "全年执行数(万元)"])
        assert [r[0] for r in rows[1:]] == QUOTED
        assert {r[1] for r in rows[1:]} == {"-12.5"}  # a number stays a number
    assert df["project_name"].tolist() == FORMULA_TEXTS  # the frame itself is not changed


def test_ingest_csv_cells_that_excel_would_run_are_quoted_and_read_back_as_they_were(tmp_path):
    from perfdata import store

    forms = schema.frame("forms", [{"form_id": f"f{k}", "project_name": t, "executed": -12.5}
                                   for k, t in enumerate(FORMULA_TEXTS)])
    store.write({"forms": forms}, tmp_path / "csv", "csv")
    rows = _csv_rows(tmp_path / "csv" / "forms.csv")
    col = {name: k for k, name in enumerate(rows[0])}
    assert [r[col["project_name"]] for r in rows[1:]] == QUOTED
    assert {r[col["executed"]] for r in rows[1:]} == {"-12.5"}
    back = store.load(tmp_path / "csv")["forms"]
    assert back["project_name"].tolist() == FORMULA_TEXTS and back["executed"].tolist() == [-12.5] * 10


def test_cli_ingest_csv_quotes_a_project_name_starting_with_equals(tmp_path):
    from factory import render

    from perfdata import store

    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "f.txt").write_text(render(), encoding="utf-8")  # 项目名称 =公益性岗位补贴(测试)
    assert cli.main(["ingest", str(raw), "--out", str(tmp_path / "csv"), "--format", "csv"]) == 0
    for path in (tmp_path / "csv").glob("*.csv"):
        for row in _csv_rows(path)[1:]:
            for cell in row:
                assert not store.is_formula(cell), f"{path.name}: {cell!r}"
    names = store.load(tmp_path / "csv")["forms"]["project_name"].tolist()
    assert names and names[0].endswith("=公益性岗位补贴(测试)")


def _members(path) -> dict[str, bytes]:
    import zipfile

    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def test_the_same_inputs_give_the_same_html_bytes(default_run, monkeypatch):
    _, tmp = default_run
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")  # 2026-01-01 00:00:00 UTC: the date the run is given
    a, b = (runner.run_report(tmp / "processed", tmp / f"same-{k}", {}, raw_dir=RAW, run_id="same",
                              notebooks=["forms"]).folder for k in (1, 2))
    page = (a / "forms.html").read_bytes()
    assert page == (b / "forms.html").read_bytes()
    assert "2026-01-01 00:00:00 UTC" in page.decode("utf-8") and 'id="cell-id=injected-parameters"' in page.decode()
    for p in sorted(a.rglob("*")):
        if p.suffix in (".png", ".svg", ".csv", ".html"):
            assert p.read_bytes() == (b / p.relative_to(a)).read_bytes(), p.name
    # the workbook: the same bytes, its zip entries and document properties dated with the run date
    assert (a / "anomalies.xlsx").read_bytes() == (b / "anomalies.xlsx").read_bytes()
    assert _members(a / "anomalies.xlsx") == _members(b / "anomalies.xlsx")
    notes = {r[0]: r[1] for r in load_workbook(a / "anomalies.xlsx")["说明"].iter_rows(values_only=True) if r[0]}
    assert notes["生成时间"] == "2026-01-01 00:00:00 UTC"


def test_the_workbook_is_stamped_with_the_run_date(tmp_path, bundled):
    import zipfile
    from datetime import datetime

    from perfdata.report import excel

    path = excel.anomalies_workbook({k: bundled[k] for k in ("forms", "files")}, tmp_path / "a.xlsx",
                                    info={"run_id": "same", "run_date": "2026-01-01 00:00:00 UTC"})
    wb = load_workbook(path)
    assert wb.properties.created == wb.properties.modified == datetime(2026, 1, 1)
    with zipfile.ZipFile(path) as z:
        assert {i.date_time for i in z.infolist()} == {(2026, 1, 1, 0, 0, 0)}
