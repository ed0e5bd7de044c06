"""Anomaly rules: specific findings on the bundled documents, small frames for reconciliation, a clean form."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import GUYUAN, RAW, XINGLONG, XINXIANG, form_of
from factory import SPEC, render

from perfdata import check, schema
from perfdata.checks import RULES, default_params, rule_table, rules_markdown
from perfdata.cli import main
from perfdata.ingest import combine, read_bytes

ROOT = RAW.parents[1]


@pytest.fixture(scope="module")
def found(bundled):
    return check(bundled, raw_dir=RAW)


def _hits(found, rule, source_file=None, project=None):
    h = found[found.rule == rule]
    if source_file:
        h = h[h.source_file == source_file]
    if project:
        h = h[h.project_name == project]
    return h


def test_rules_table_and_registry_agree():
    rt = rule_table()
    assert set(rt.id) == set(RULES)
    assert set(rt.category) <= {"consistency", "reconciliation", "completeness", "quality"}
    assert set(rt.severity) <= {"high", "medium", "low"} and set(rt.template) <= {"no", "auto", "always"}


def test_docs_match_the_rules_table():
    assert (ROOT / "docs" / "rules.md").read_text(encoding="utf-8") == rules_markdown()


def test_output_follows_the_schema(found):
    assert list(found.columns) == [c.name for c in schema.TABLES["anomalies"]]
    assert found.severity.map({"high": 0, "medium": 1, "low": 2}).is_monotonic_increasing
    assert found.message.notna().all() and found.line.notna().all() and found.evidence.notna().all()


def test_xinglong_satisfaction_weights_add_to_15(found):
    h = _hits(found, "level_weight_mismatch", XINGLONG, "印刷干部考核手册及劳动合同")
    assert h[["line", "expected", "found"]].values.tolist() == [[232, "10", "15"]]
    assert "满意度 指标 10分" in h.evidence.iloc[0]
    w = _hits(found, "weights_not_total", XINGLONG, "印刷干部考核手册及劳动合同")
    assert w[["line", "found"]].values.tolist() == [[234, "115"]]


def test_xinglong_score_above_weight_and_execution_score(found):
    h = _hits(found, "score_above_weight", XINGLONG, "劳务派遣人员经费(人社局)")
    assert h[["line", "expected", "found"]].values.tolist() == [[18, "≤15", "20"]]
    e = _hits(found, "exec_score_mismatch", XINGLONG)
    assert sorted(e.line.tolist()) == [322, 349]  # 99.45 % scored 5; 74.98 % scored 4
    assert e.set_index("line").loc[322, "expected"] == "9.95"


def test_xinglong_title_and_duplicate(found):
    t = _hits(found, "title_name_mismatch", XINGLONG)
    assert t.line.tolist() == [287] and "205号" in t.expected.iloc[0] and "48号" in t.found.iloc[0]
    d = _hits(found, "duplicate_forms", XINGLONG, "冀财社[2024]48号中央就业补助")
    assert len(d) == 1


def test_template_level_findings_reported_once(found):
    t = _hits(found, "exec_outside_total", XINGLONG)
    assert len(t) == 1 and t.form_id.isna().all() and "18/24" in t.found.iloc[0]
    g = _hits(found, "level_weight_mismatch", GUYUAN)
    template = g[g.form_id.isna()]
    assert len(template) == 1 and "8/8" in template.found.iloc[0]  # 满意度 printed 20, indicators 10
    assert len(g[g.form_id.notna()]) == 4  # form-specific ones (产出 50 or 55 of 40, 效益 30 or 25 of 40) stay
    assert len(_hits(found, "target_copies_name", XINGLONG)) == 1


def test_xinxiang_rate_on_initial_budget(found, bundled):
    f = form_of(bundled, XINXIANG, "事业单位招聘")
    h = found[(found.rule == "exec_rate_mismatch") & (found.form_id == f.form_id)]
    assert h[["line", "expected", "found"]].values.tolist() == [[40, "100%", "13.3%"]]
    assert "年初预算数" in h.message.iloc[0]


def test_findings_on_misread_forms_are_absent(found):
    # 工资网络审批系统建设经费 prints a shifted funding row without a score: no execution findings for it
    assert not len(found[(found.project_name == "工资网络审批系统建设经费") & found.rule.str.startswith("exec")])


def test_clean_synthetic_form_has_no_findings():
    t = combine([read_bytes(render().encode(), "synthetic.txt")])
    assert len(t["forms"]) == 1
    assert check(t).empty


ORDERS = [("level1", "level2", "name", "target", "actual", "weight", "score", "note"),
          ("level1", "level2", "name", "weight", "target", "actual", "score", "note"),
          ("level1", "level2", "name", "nature", "target", "measure_unit", "actual", "weight", "score", "note"),
          ("level1", "level2", "name", "actual", "target", "score", "weight", "note")]


@pytest.mark.parametrize("order", ORDERS, ids=["standard", "weight-first", "nature-unit", "actual-first"])
@pytest.mark.parametrize("sep,encoding", [("\t", "utf-8"), ("|", "gb18030"), ("cell-per-line", "utf-16")])
def test_clean_form_in_other_layouts_has_no_findings(order, sep, encoding):
    t = combine([read_bytes(render(indicator_order=order, sep=sep).encode(encoding), "variant.txt")])
    assert check(t).empty


@pytest.mark.parametrize("order", ORDERS[:2], ids=["standard", "weight-first"])
def test_satisfaction_weights_over_the_level_in_any_layout(order):
    """The 印刷干部考核手册 pattern: a second satisfaction indicator pushes the level to 15 of 10."""
    sat = ("满意度指标", 10, "服务对象满意度指标")
    spec = {**SPEC, "indicators": [*SPEC["indicators"][:-1],
                                   (*sat, "服务对象满意度", "≥90%", "95%", "10", "10", "", "正向", "%"),
                                   (*sat, "预算执行率", "≥95%", "90%", "5", "5", "", "正向", "%")],
            "total": ("100", "101.8")}
    text = render(spec, indicator_order=order)
    t = combine([read_bytes(text.encode(), "variant.txt")])
    a = check(t)
    lv = a[a.rule == "level_weight_mismatch"]
    line_no = next(n for n, ln in enumerate(text.splitlines(), 1) if "满意度指标(10分)" in ln)
    assert lv[["line", "expected", "found"]].values.tolist() == [[line_no, "10", "15"]]
    assert "weights_not_total" in set(a.rule)


def test_empty_and_partial_inputs():
    assert check({}).empty
    only_summary = schema.frame("summary_rows", [{"source_file": "s.txt", "line_start": 3, "project_name": "x",
                                                  "budget": 10.0, "executed": 5.0, "exec_rate_reported": 80.0}])
    a = check({"summary_rows": only_summary})
    assert a[["rule", "line", "expected"]].values.tolist() == [["summary_mismatch", 3, "50%"]]


def test_synthetic_variant_with_errors():
    spec = dict(SPEC)
    spec["indicators"] = [list(x) for x in SPEC["indicators"]]
    spec["indicators"][0][7] = "25"  # score 25 on a weight of 20
    spec["funding"] = dict(SPEC["funding"], exec_score="10")
    text = render({**spec, "indicators": [tuple(x) for x in spec["indicators"]]}, sep="|")
    a = check(combine([read_bytes(text.encode("gb18030"), "variant.txt")]))
    assert {"score_above_weight", "exec_score_mismatch", "total_mismatch"} <= set(a.rule)
    assert a[a.rule == "score_above_weight"].found.tolist() == ["25"]


def test_funding_lines_that_do_not_add_up(found, bundled):
    f = form_of(bundled, XINXIANG, "创业贷款贴息经费支出")
    h = found[(found.rule == "funding_lines_sum") & (found.form_id == f.form_id)].set_index("field")
    assert (h.loc["budget_full_year", "expected"], h.loc["budget_full_year", "found"]) == ("12.52", "24.52")
    assert "上年结转资金6.26" in h.loc["budget_full_year", "message"]  # 18.26 at the start of the year
    assert set(h.line) == {241}


def test_missing_figures(found):
    m = _hits(found, "missing_exec_figures", XINGLONG)
    assert sorted(m.line.tolist()) == [61, 510, 538]  # 得分 blank beside 10分 | 100%
    g = _hits(found, "missing_exec_figures", GUYUAN)
    assert g[["line", "found"]].values.tolist() == [[103, "分值未填"]]
    t = _hits(found, "missing_target", XINXIANG)
    assert t.line.tolist() == [130] and "≥90%" in t.found.iloc[0]  # '指标 2:' row with a target and no name
    d = _hits(found, "missing_department_unit", XINXIANG)
    assert d[["line", "project_name"]].values.tolist() == [[451, "劳动监察执法服装"]]


def test_summary_rows_against_the_bundled_form(bundled):
    """新乡县 劳动保障监察大队's summary prints 13.3 % for 4.49 of 4.54 (raw line 499) and 100 for a form of 99."""
    f = form_of(bundled, XINXIANG, "劳动保障监察日常办公经费")
    summary = schema.frame("summary_rows", [
        {"source_file": XINXIANG, "line_start": 499, "unit": "新乡县劳动保障监察大队", "seq": 2,
         "project_name": "劳动保障监察日常办公经费", "budget": 4.54, "executed": 4.49, "exec_rate_reported": 13.3,
         "output_rate": 99.0, "benefit_rate": 100.0, "satisfaction_rate": 100.0, "total_score": 100.0,
         "form_id": f.form_id, "match": "exact"}])
    a = check({**bundled, "summary_rows": summary}, raw_dir=RAW)
    h = a[a.rule == "summary_mismatch"].set_index("field")
    assert h.loc["exec_rate_reported", "expected"] == "98.9%" and h.loc["exec_rate_reported", "found"] == "13.3%"
    assert (h.loc["total_score", "expected"], h.loc["total_score", "found"]) == ("99", "100")
    assert set(h.line) == {499} and "13.3%" in h.loc["exec_rate_reported", "evidence"]
    assert h.loc["exec_rate_reported", "form_id"] == f.form_id


def _forms():
    return schema.frame("forms", [{"form_id": "x", "source_file": "a.txt", "line_start": 424, "total_line": 444,
                                   "funding_line": 431, "project_name": "劳动保障监察日常办公经费",
                                   "region": "新乡县", "budget_initial": 4.54, "budget_full_year": 4.54,
                                   "executed": 4.49, "exec_rate_reported": 99.0, "exec_weight": 10.0,
                                   "exec_score_reported": 9.9, "total_weight_reported": 100.0,
                                   "total_score_reported": 99.0}])


def test_summary_row_rate_differs():
    summary = schema.frame("summary_rows", [
        {"source_file": "s.txt", "line_start": 520, "unit": "新乡县劳动保障监察大队",
         "project_name": "劳动保障监察日常办公经费",
         "budget": 4.54, "executed": 4.49, "exec_rate_reported": 13.3, "total_score": 95.0, "form_id": "x"}])
    a = check({"forms": _forms(), "summary_rows": summary}, raw_dir=None)
    h = a[a.rule == "summary_mismatch"]
    assert h[["field", "line", "found"]].values.tolist() == [
        ["exec_rate_reported", 520, "13.3%"], ["total_score", 520, "95"]]
    assert h.expected.tolist() == ["98.9%", "99"]


def test_statement_differs():
    st = schema.frame("statements", [{"source_file": "n.txt", "line": 12, "subject": "劳动保障监察日常办公经费",
                                      "metric": "total_score", "value": 96.0, "form_id": "x"}])
    a = check({"forms": _forms(), "statements": st}, raw_dir=None)
    h = a[a.rule == "statement_mismatch"]
    assert h[["line", "expected", "found"]].values.tolist() == [[12, "99", "96"]]


def test_params_change_and_unknown_params_fail(bundled):
    low = check(bundled, raw_dir=RAW, exec_threshold=70)
    assert not len(low[low.rule == "low_exec_unexplained"].query("line == 295"))  # 87.9 % no longer low
    with pytest.raises(ValueError, match="unknown parameter"):
        check(bundled, nonsense=1)
    assert default_params()["exec_threshold"] == 90


def test_cli_check(tmp_path, capsys):
    assert main(["ingest", str(RAW / XINGLONG), "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["check", str(tmp_path), "--raw", str(RAW), "--xlsx", "--param", "exec_threshold=85"]) == 0
    out = capsys.readouterr().out
    assert "level_weight_mismatch" in out and (tmp_path / "anomalies.xlsx").exists()
    a = pd.read_parquet(tmp_path / "anomalies.parquet")
    assert len(a) and set(a.source_file.dropna()) == {XINGLONG}
    assert len(pd.read_parquet(tmp_path / "rescored_forms.parquet")) == 24
    assert main(["check", str(tmp_path), "--param", "bogus=1"]) == 2
