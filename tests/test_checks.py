"""Anomaly rules: specific findings on the bundled documents, small frames for reconciliation, a clean form."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import GUYUAN, RAW, XINGLONG, XINXIANG, form_of
from factory import SPEC, render

from perfdata import check, schema
from perfdata.checks import (
    RULES,
    SEVERITY_ORDER,
    Context,
    check_all,
    default_params,
    line_location,
    line_text,
    rule_table,
    rules_markdown,
)
from perfdata.cli import main
from perfdata.ingest import combine, read_bytes

ROOT = RAW.parents[1]


@pytest.fixture(scope="module")
def found(bundled):
    return check(bundled, raw_dir=RAW)


def test_evidence_is_quoted_from_where_the_files_were_read_whatever_the_working_directory(
        bundled, found, tmp_path, monkeypatch):
    """A notebook runs in notebooks/, a scheduled report anywhere: without raw_dir the checks read the files
    where the ingest found them (files.path), not data/raw under the working directory (every finding had no
    evidence from elsewhere, and the 7 department_points_mismatch findings, which read the form's lines,
    were missing)."""
    assert set(bundled["files"].path) == {str(RAW.absolute() / f) for f in bundled["files"].source_file}
    from perfdata import paths

    monkeypatch.chdir(tmp_path)  # no data/raw here
    monkeypatch.setattr(paths, "RAW", tmp_path / "data" / "raw")
    anywhere = check(bundled)
    pd.testing.assert_frame_equal(anywhere, found)
    assert anywhere.evidence.notna().all() and (anywhere.rule == "department_points_mismatch").sum() == 7
    moved = {**bundled, "files": bundled["files"].assign(path=None)}  # files no longer where they were read
    assert check(moved).evidence.isna().all()


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
    # one cause: the weights (115 of 100) and the scores' sum are off by the level's 5 points → one finding
    assert h.lines.iloc[0] == "232, 234" and "115分" in h.message.iloc[0]
    for rule in ("weights_not_total", "total_mismatch"):
        assert _hits(found, rule, XINGLONG, "印刷干部考核手册及劳动合同").empty


def test_xinglong_score_above_weight_and_execution_score(found):
    h = _hits(found, "score_above_weight", XINGLONG, "劳务派遣人员经费(人社局)")
    assert h[["line", "expected", "found"]].values.tolist() == [[18, "≤15", "20"]]
    e = _hits(found, "exec_score_mismatch", XINGLONG)
    assert sorted(e.line.tolist()) == [322, 349]  # 99.45 % scored 5; 74.98 % scored 4
    assert e.set_index("line").loc[322, "expected"] == "9.95"


def test_xinglong_title_and_duplicate(found):
    t = _hits(found, "title_name_mismatch", XINGLONG, "冀财社[2024]48号中央就业补助")
    assert t.line.tolist() == [287] and "205号" in t.expected.iloc[0] and "48号" in t.found.iloc[0]
    # the duplicate name is the title's evidence that the name is wrong: one finding naming both forms
    assert t.lines.iloc[0] == "287, 318" and "第318行" in t.message.iloc[0]
    assert _hits(found, "duplicate_forms", XINGLONG, "冀财社[2024]48号中央就业补助").empty
    # the second 档案管理 form is titled 人才交流中心档案经费: the title names the project, the name is wrong
    a = _hits(found, "title_name_mismatch", XINGLONG, "档案管理")
    assert a[["line", "lines"]].values.tolist() == [[181, "181, 185"]] and "与第104行的表同名" in a.message.iloc[0]
    assert _hits(found, "duplicate_forms", XINGLONG).empty


@pytest.mark.parametrize("title,name,far", [
    ("2024年人才交流中心档案经费项目支出绩效自评表", "档案管理", True),
    ("兴隆县机关事业单位养老保险预算县级补助资金项目支出绩效自评表", "机关事业单位养老保险预算县级补助资金", False),
    ("2024年保险资格认证项目支出绩效自评表", "2024年保险资格认证", False),
    ("#固原市本级部门项目支出绩效自评表", "聘用人员经费", False),  # a bare title names no project
    ("项目支出绩效自评表(2021年度)", "事业单位招聘", False),
    ("某某项目支出绩效自评表", "公益性岗位补贴", False),  # the template's placeholder title
    ("省级城乡居民养老保险补助资金项目支出绩效自评表", "2024年省级城乡居民养老保险补助资金冀财社[2023]219号", False),
])
def test_title_naming_another_project(title, name, far):
    from perfdata.checks import _far_apart
    assert _far_apart(title, name, default_params()["title_similarity"]) is far


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
    assert "weights_not_total" not in set(a.rule)  # the same 5 points: folded into the level finding


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
    # 固原市 prints the weight in the header ("分值 (10分)"): a blank cell there is not a missing figure
    assert _hits(found, "missing_exec_figures", GUYUAN).empty
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
    low = check(bundled, raw_dir=RAW, exec_rate_threshold=70)
    assert not len(low[low.rule == "low_exec_unexplained"].query("line == 295"))  # 87.9 % no longer low
    with pytest.raises(ValueError, match="unknown parameter"):
        check(bundled, nonsense=1)
    assert default_params()["exec_rate_threshold"] == 90


def test_cli_check(tmp_path, capsys):
    assert main(["ingest", str(RAW / XINGLONG), "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["check", str(tmp_path), "--raw", str(RAW), "--xlsx", "--param", "exec_rate_threshold=85"]) == 0
    out = capsys.readouterr().out
    assert "level_weight_mismatch" in out and (tmp_path / "anomalies.xlsx").exists()
    a = pd.read_parquet(tmp_path / "anomalies.parquet")
    assert len(a) and set(a.source_file.dropna()) == {XINGLONG}
    assert len(pd.read_parquet(tmp_path / "rescored_forms.parquet")) == 24
    assert main(["check", str(tmp_path), "--param", "bogus=1"]) == 2


# -- one finding per cause, and the reconciliations with the other tables -------------------------------------

def _one(h, **cols):
    for k, v in cols.items():
        h = h[h[k] == v]
    assert len(h) == 1, cols
    return h.iloc[0]


def test_summary_figure_repeated_in_two_tables_and_the_report_is_one_finding(found):
    s = _hits(found, "summary_mismatch", XINXIANG)
    r = _one(s, project_name="建档立卡优秀务工人员奖补", field="benefit_rate")
    assert (r.line, r.lines, r.found, r.expected) == (141, "141, 176, 628", "91.67", "92.5")
    b = _one(s, project_name="事业单位招聘", field="budget")
    assert b.lines == "142, 629" and "年初预算数" in b.message  # 10 is the form's 年初, its 全年 is 1.33
    assert _one(s, project_name="其他普惠发展支出", field="budget/executed")[["found", "expected"]].tolist() == \
        ["20.4", "20.04"]
    # the unit summary's 100 % for 16.06 of 16.06 is right; the form's 80.3 % is the wrong figure …
    assert s[(s.line == 141) & (s.field == "exec_rate_reported")].empty
    assert _one(_hits(found, "exec_rate_mismatch", XINXIANG), line=8).found == "80.3%"
    # … while the department summary copies 80.3 % beside 16.06 of 16.06
    assert _one(s, line=628, field="exec_rate_reported").found == "80.3%"
    assert s[s.project_name == "社会保险经办工作经费"].empty  # 79.4 % is 3.97 ÷ 5; the form prints 80 %
    # the known case stays found, once per summary table (13.3 % in the unit's, 99 % in the department's)
    assert _one(s, line=499, field="exec_rate_reported").found == "13.3%"
    assert _one(s, field="total_score", project_name="劳动保障监察日常办公经费").lines == "499, 638"
    assert _hits(found, "statement_mismatch", XINXIANG).query("field == 'output_rate'").empty


def test_narrative_figures_against_the_forms(found):
    st = _hits(found, "statement_mismatch", XINXIANG)
    r = _one(st, line=574)  # "办公经费" is the report's short name of 劳动保障监察日常办公经费
    assert (r.field, r.expected, r.found, r.project_name) == (
        "exec_score_reported", "9.9", "10", "劳动保障监察日常办公经费")
    # "其他惠普发展支出" (misspelt, one form fits) gives 产出 the 50 points printed beside it; its indicators add
    # up to 49: the same cause as the form's level finding, folded into it
    assert st[st.line == 334].empty
    lv = _one(_hits(found, "level_weight_mismatch", XINXIANG), line=272)
    assert lv.lines == "272, 300, 334" and "报告第334行称该级得分50分" in lv.message
    dept = st[st.form_id.isna()].set_index("field")
    assert dept.loc["exec_rate", ["expected", "found", "lines"]].tolist() == ["99.66", "96.66", "823, 853"]
    assert dept.loc["budget_total", ["expected", "found"]].tolist() == ["1687.4", "1693.24"]
    assert dept.loc["total_score", ["expected", "found", "lines"]].tolist() == ["95.5", "94.99", "813, 941, 963"]
    assert set(dept.index) == {"exec_rate", "budget_total", "basic_expenditure", "project_expenditure", "total_score"}
    assert "1687.4" in dept.loc["exec_rate", "message"] and "96.66%" in dept.loc["exec_rate", "evidence"]


def test_department_form_against_its_summary(found):
    d = _hits(found, "department_summary_mismatch", XINXIANG).set_index("field")
    assert d.loc["budget_project", ["line", "expected", "found"]].tolist() == [692, "1020.63", "904.71"]
    assert d.loc["exec_rate", ["line", "expected", "found"]].tolist() == [703, "96.89%", "99.66%"]
    assert "level1_weight" not in d.index  # 投入 15, 过程 25, 产出 30, 效益 30: each level adds up


def test_department_level_points_and_summary_in_small_frames():
    dept = schema.frame("department_forms", [{"dept_form_id": "d", "source_file": "s.txt", "line_start": 1,
                                              "department": "某县人社局", "budget_project": 30.0, "budget_line": 5}])
    di = schema.frame("department_indicators", [
        {"dept_form_id": "d", "source_file": "s.txt", "line": 10 + n, "level1": "产出指标", "level1_weight": 30.0,
         "level1_weight_line": 10, "name": name, "weight": w, "score": w, "actual_value": v}
        for n, (name, w, v) in enumerate([("预算执行率", 10.0, 99.0), ("重点工作完成率", 15.0, 100.0)])])
    summary = schema.frame("summary_rows", [
        {"source_file": "s.txt", "line_start": 40 + n, "unit": "某县人社局", "project_name": p, "budget": b,
         "executed": e, "summary_id": "t"} for n, (p, b, e) in enumerate([("甲", 20.0, 20.0), ("乙", 10.0, 5.0)])])
    a = check({"department_forms": dept, "department_indicators": di, "summary_rows": summary})
    d = a[a.rule == "department_summary_mismatch"].set_index("field")
    assert d.loc["level1_weight", ["line", "expected", "found"]].tolist() == [10, "30", "25"]
    assert d.loc["exec_rate", ["expected", "found"]].tolist() == ["83.33%", "99%"]
    assert "budget_project" not in d.index  # 30 = 20 + 10


def test_folded_findings(found):
    x = _hits(found, "total_mismatch", XINXIANG)
    assert sorted(x.line) == [33, 65, 99, 133, 444]
    assert _hits(found, "self_score_above_rescore", XINXIANG).empty  # high only because the totals do not add up
    assert "复核最多89.47分" in _one(x, line=33).message
    lv = _one(_hits(found, "level_weight_mismatch", XINXIANG), line=113)  # 产出 43 of 50 → weights 93 of 100
    assert lv.lines == "113, 133" and _hits(found, "weights_not_total", XINXIANG).empty
    f = _one(_hits(found, "full_score_despite_shortfall", XINXIANG), line=384)
    assert f.lines == "368, 384" and _hits(found, "all_full_marks", XINXIANG).empty


def test_target_tables_weak_targets(found):
    xianghe = "hebei-xianghe-county-hrss-2023-budget-disclosure.txt"
    m = _one(_hits(found, "missing_target", xianghe))
    assert (m.found, m.line, m.form_id is pd.NA or pd.isna(m.form_id)) == ("文字描述", 1331, True)
    assert m.field.startswith("target_raw[") and "表19" in m.message and m.evidence == "文字描述"
    c = _one(_hits(found, "target_copies_name", xianghe))
    assert "表15" in c.message and c.found == "对就业起到积极作用、保障就业形势稳定"
    assert _hits(found, "qualitative_only_outputs", xianghe).empty  # every table has a quantitative output


def test_total_off_by_a_tenth(found):
    """劳动保障监察日常办公经费: 9.9 + 49 + 30 + 10 = 98.9, the 总分 row prints 99 (the report says 执行得分 10)."""
    t = _one(_hits(found, "total_mismatch", XINXIANG), line=444)
    assert (t.expected, t.found) == ("98.9", "99")


# -- other formats, provenance, one source for each setting ----------------------------------------------------

@pytest.fixture(scope="module")
def xlsx_batch(tmp_path_factory):
    from make_fixtures import render as render_formats

    from perfdata.ingest import ingest

    out = tmp_path_factory.mktemp("xlsx-batch")
    render_formats(out, formats=("xlsx",))
    return out / "xlsx", ingest(out / "xlsx", jobs=1, progress=False)


def test_findings_on_spreadsheets_quote_the_grid_and_name_the_cell_row(xlsx_batch):
    raw, tables = xlsx_batch
    a = check(tables, raw_dir=raw)
    xinglong = XINGLONG.replace(".txt", ".xlsx")
    f = _one(a, rule="score_above_weight", source_file=xinglong, line=14)
    assert f.location == "表1!14"  # the finding's own row, as the reader numbered it
    assert f.evidence.startswith("质量指标 | 指标1:经费专款专用率") and "| 15 | 20 |" in f.evidence
    lined = a[a.line.notna()]
    assert len(lined) > 50 and lined.location.str.fullmatch(r"表\d+!\d+").all() and lined.evidence.notna().all()
    # the rescoring keeps the provenance, and the rules see one location column
    scored = check_all(tables, raw_dir=raw)
    rf, ri = scored["rescored_forms"], scored["rescored_indicators"]
    assert rf.location.notna().all() and rf.location.tolist() == tables["forms"].location.tolist()
    assert ri.location.tolist() == tables["indicators"].location.tolist()
    assert "location_x" not in Context(tables).f


def test_an_unreadable_source_leaves_evidence_null_never_raises(xlsx_batch, tmp_path):
    raw, tables = xlsx_batch
    for p in raw.iterdir():
        (tmp_path / p.name).write_bytes(b"PK\x03\x04 not a workbook" if "xinglong" in p.name else p.read_bytes())
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.7 \x00\x01 garbage")
    assert line_text(tmp_path, "broken.pdf", 3) is None and line_location(tmp_path, "broken.pdf", 3) is None
    a = check(tables, raw_dir=tmp_path)
    x = a[a.source_file == XINGLONG.replace(".txt", ".xlsx")]
    assert len(x) and x.evidence.isna().all()
    assert x[x.form_id.notna()].location.notna().all()  # the form's own location, from the ingest
    assert a[a.source_file != XINGLONG.replace(".txt", ".xlsx")].evidence.notna().any()


def test_template_findings_carry_their_file_region(found):
    t = found[found.form_id.isna()]
    # 16 of the templates and summaries, and 8 of the narratives: one vague 偏差原因 printed in 8 固原市 forms
    # (reason_says_nothing) and 7 department-report points against the 部门整体绩效自评表 (department_points_mismatch)
    assert len(t) == 24
    assert t.rule.value_counts()[["reason_says_nothing", "department_points_mismatch"]].tolist() == [1, 7]
    assert t[t.source_file == XINGLONG].region.eq("兴隆县").all()
    assert t[t.source_file == XINXIANG].region.eq("新乡县").all()  # summary and narrative findings of the file


def test_execution_threshold_is_set_once(bundled):
    from perfdata import scoring
    from perfdata.report import analysis

    assert default_params()["exec_rate_threshold"] == analysis.thresholds()["exec_rate_threshold"] == 90
    assert analysis.grade is scoring.grade and not any(k.startswith("grade_") for k in scoring.settings())
    assert analysis.execution_rate is scoring.execution_rate and analysis.SEVERITY_ORDER is SEVERITY_ORDER
    lows = check(bundled, raw_dir=RAW, exec_rate_threshold=85)
    msg = lows[lows.rule == "low_exec_unexplained"].message
    assert len(msg) and msg.str.contains("低于85%").all()


def test_run_passes_check_parameters_and_rejects_unknown_names():
    import argparse

    from perfdata.cli import _split_params
    from perfdata.report import runner

    names = set(default_params())

    args = argparse.Namespace(param=["exec_rate_threshold=85", "money_tol=0.1", "years=2024"], notebooks=None)
    to_check, to_report = _split_params(runner, names, args)
    assert to_check == {"exec_rate_threshold": "85", "money_tol": "0.1"}
    assert to_report == {"exec_rate_threshold": "85", "years": "2024"}
    with pytest.raises(runner.ReportError, match="bogus"):
        _split_params(runner, names, argparse.Namespace(param=["bogus=1"], notebooks=None))
    with pytest.raises(ValueError, match="not a number"):
        _split_params(runner, names, argparse.Namespace(param=["money_tol=lots"], notebooks=None))


def test_cli_check_rescoring_once_and_through_the_store(tmp_path, capsys, monkeypatch):
    from openpyxl import load_workbook

    from perfdata import scoring
    from perfdata.checks import registry

    assert main(["ingest", str(RAW / GUYUAN), "--out", str(tmp_path)]) == 0
    calls = []
    monkeypatch.setattr(registry, "rescore", lambda *a, **k: calls.append(1) or scoring.rescore(*a, **k))
    assert main(["check", str(tmp_path), "--raw", str(RAW), "--xlsx"]) == 0
    assert len(calls) == 1
    a = pd.read_parquet(tmp_path / "anomalies.parquet")
    assert a.dtypes.to_dict() == schema.frame("anomalies", []).dtypes.to_dict()
    wb = load_workbook(tmp_path / "anomalies.xlsx")
    # the working-paper workbook (perfdata/report/excel.py; tests/test_excel.py checks it in full)
    assert wb.sheetnames[:2] == ["说明", "问题清单"] and wb["问题清单"]["C1"].value == "规则名称"
    assert wb["问题清单"].max_row == len(a) + 1


@pytest.mark.parametrize("text, want", [
    ("公务接待费为3000元。", []),
    ("公务接待费为3,000元。", []),
    ("因公出国(境)费用为5000元,公务接待费为0.3万元。", [("three_public_reception", 0.3)]),
    ("因公出国(境)费0,公务接待费0万元。", [("three_public_abroad", 0.0), ("three_public_reception", 0.0)]),
])
def test_three_public_figures_in_yuan_are_not_read_as_wan(text, want):
    from perfdata.normalize import clean
    from perfdata.tables.statements import figures

    assert [(m, v) for m, _, v, *_ in figures(clean(text))] == want


def test_evidence_follows_an_edited_raw_file(tmp_path):
    from perfdata.checks import line_text

    f = tmp_path / "a.txt"
    f.write_text("总分\t100\t98\n", encoding="utf-8")
    assert line_text(tmp_path, "a.txt", 1) == "总分 | 100 | 98"
    f.write_text("总分\t100\t97.5\n", encoding="utf-8")
    assert line_text(tmp_path, "a.txt", 1) == "总分 | 100 | 97.5"


def test_target_table_findings_carry_the_tables_department_and_year(found):
    """香河县's budget disclosure has no project form: its department and year come from the 绩效目标表 itself."""
    t = found[found.field.str.startswith("target_raw[").fillna(False)]
    assert sorted(t.rule) == ["missing_target", "target_copies_name"]
    assert t.department.eq("香河县人力资源和社会保障局").all() and t.year.eq(2023).all() and t.region.isna().all()
    d = found[found.rule == "department_summary_mismatch"]  # and a department form's findings, from that form
    assert len(d) and d.department.eq("新乡县人力资源和社会保障局").all() and d.year.eq(2021).all()


@pytest.mark.parametrize("sep", ["\t", "|"])
def test_a_printed_grade_is_kept_and_checked_against_the_total(sep):
    """云南 prints a grade beside the total ('总分 | 100 | 96 | 优'): forms.grade_printed keeps it (it was an
    extra cell), and grade_mismatch flags one that is not the band of the printed total (rules/grades.csv)."""
    text = render(sep=sep)
    total = next(ln for ln in text.splitlines() if ln.strip(" |").startswith("总分"))
    score = float([c for c in total.split(sep) if c.strip()][-1])
    band = "优" if score >= 90 else "良"
    for printed, expected in [(band, []), ("差", [[band, "差"]])]:
        graded = total.rstrip(" |") + f" {sep} {printed}" + (" |" if sep == "|" else "")
        t = combine([read_bytes(text.replace(total, graded).encode(), "graded.txt")])
        assert t["forms"].grade_printed.tolist() == [printed] and t["leftovers"].empty
        a = check(t)
        assert a[a.rule == "grade_mismatch"][["expected", "found"]].values.tolist() == expected
        assert set(a.rule) <= {"grade_mismatch"}


def _huanggang(tmp_path, score: str):
    from test_forms import HUANGGANG_GOALS

    rows = [r[:] for r in HUANGGANG_GOALS]
    rows[6][6] = score  # 整编资料审核, under 年度绩效目标1(40分) with 监测数据必须合格's 10
    rows[-1][-1] = str(20 + 10 + float(score) + 20)  # the total as the form adds it up
    path = tmp_path / "huanggang.txt"
    path.write_text("\n".join("\t".join(r) for r in rows) + "\n", encoding="utf-8")
    return combine([read_bytes(path.read_bytes(), path.name)])


def test_scores_under_a_goal_above_its_points(tmp_path):
    """goal_score_above_points: 10 + 35 under 年度绩效目标1(40分). The form prints no 分值 and no 偏差原因: the checks
    ran into a TypeError on a batch without a single note (the note tests' columns came out float), and a form
    without 分值 was 'at most 20 by the rules' (self_score_above_rescore) though there is nothing to rescore."""
    a = check(_huanggang(tmp_path, "35"))
    assert a[["rule", "expected", "found"]].values.tolist() == [["goal_score_above_points", "≤40", "45"]]
    assert a.message.iloc[0] == "年度绩效目标1标注40分，其下2项指标得分合计45分。"
    assert check(_huanggang(tmp_path, "19.6")).empty
