"""Project keys and link(): names as printed in summaries, narrative and target tables joined to forms."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import XINGLONG, XINXIANG

from perfdata import schema
from perfdata.keys import link, project_key


@pytest.mark.parametrize("a, b", [
    pytest.param("高校毕业生”三支一扶” 计划中央和市补助资金", "高校毕业生“三支一扶”计划中央和市补助资金",
                 id="xinxiang-quotes-space"),
    pytest.param("劳务派遣人员经费（人社局）", "劳务派遣人员经费(人社局)", id="full-width-brackets"),
    pytest.param("冀财社【2022]】150号关于提前下达", "冀财社〔2022〕150号关于提前下达", id="document-number-brackets"),
    pytest.param("冀财社[2023]205号 中央就业补助资金", "冀财社［２０２３］２０５号中央就业补助资金",
                 id="full-width-digits"),
    pytest.param("建档立卡优秀务工人员 奖补", "建档立卡优秀务工人员奖补", id="summary-cell-broken"),
    pytest.param("公共就业服务经费项目", "公共就业服务经费", id="trailing-xiangmu"),
    pytest.param("中央-就业补助资金", "中央—就业补助资金", id="dashes"),
])
def test_same_project_same_key(a, b):
    assert project_key(a) == project_key(b)


@pytest.mark.parametrize("a, b", [
    pytest.param("冀财社[2023]205号中央就业补助资金", "冀财社[2024]48号中央就业补助资金",
                 id="xinglong-document-numbers"),
    pytest.param("冀财社[2023]205号中央就业补助资金", "冀财社[2023]250号中央就业补助资金", id="number-only"),
    pytest.param("冀财社[2023]205号中央就业补助资金", "冀财社[2023]205号中央就业补助资金(就业见习补贴)",
                 id="bracketed-part-kept"),
    pytest.param("其他普惠发展支出", "其他惠普发展支出", id="typo-is-not-hidden"),
])
def test_different_projects_different_keys(a, b):
    assert project_key(a) != project_key(b)


def test_document_number_spelled_one_way():
    assert project_key("冀财社【2022]】150号关于…通知") == "冀财社[2022]150号关于通知"
    assert project_key(None) is None and project_key("  ") is None


def test_bundled_forms_differing_by_document_number_keep_apart(bundled):
    f = bundled["forms"]
    f = f[f.source_file == XINGLONG]
    keys = f.set_index("title").project_key
    assert keys["冀财社[2023]205号中央就业补助资金(就业见习补贴)项目支出绩效自评表"] != keys[
        "冀财社[2024]48号中央就业补助资金项目支出绩效自评表"]
    assert f.project_key.notna().all()


# -- link() on small frames ---------------------------------------------------------------------------

def _forms(*rows):
    return schema.frame("forms", [
        {"form_id": fid, "source_file": src, "project_name": name, "unit": unit, "year": year, "department": dept,
         "line_start": 1}
        for fid, src, name, unit, year, dept in rows])


def _summary(*rows):
    return schema.frame("summary_rows", [
        {"source_file": src, "line_start": line, "project_name": name, "unit": unit}
        for src, line, name, unit in rows])


FORMS = _forms(
    ("a-1", "a.txt", "事业单位招聘", "人社局", 2021, "某县人社局"),
    ("a-2", "a.txt", "高校毕业生“三支一扶”计划补助资金", "人社局", 2021, "某县人社局"),
    ("a-3", "a.txt", "档案管理", "人才中心", 2021, "某县人社局"),
    ("a-4", "a.txt", "档案管理", "档案馆", 2021, "某县人社局"),
    ("b-1", "b.txt", "公共就业服务经费", "就业中心", 2023, "某县人社局"),
)


def test_link_exact_key_ambiguous_none():
    summary = _summary(("a.txt", 10, "事业单位招聘", None), ("a.txt", 11, "高校毕业生”三支一扶” 计划补助资金", None),
                       ("a.txt", 12, "档案管理", None), ("a.txt", 13, "不存在的项目", None))
    out = link({"forms": FORMS, "summary_rows": summary, "problems": schema.frame("problems", [])})
    s = out["summary_rows"]
    assert s.match.tolist() == ["exact", "key", "ambiguous", "none"]
    assert s.form_id.tolist()[:2] == ["a-1", "a-2"] and s.form_id[2:].isna().all()
    p = out["problems"]
    assert len(p) == 1 and p.line.iloc[0] == 12 and "a-3" in p.message.iloc[0] and "a-4" in p.message.iloc[0]
    assert out["forms"].project_key.tolist()[0] == "事业单位招聘"
    assert summary.match.isna().all()  # the input frames are not changed


def test_link_narrows_by_unit_before_calling_ambiguous():
    out = link({"forms": FORMS, "summary_rows": _summary(("a.txt", 12, "档案管理", "档案馆"))})
    assert out["summary_rows"].form_id.tolist() == ["a-4"]


def test_link_other_files_only_within_year_and_department():
    targets = schema.frame("targets", [
        {"source_file": "c.txt", "line_start": 5, "project_name": "公共就业服务经费", "year": 2023,
         "department": "某县人社局"},
        {"source_file": "c.txt", "line_start": 9, "project_name": "公共就业服务经费", "year": 2022,
         "department": "某县人社局"},
    ])
    t = link({"forms": FORMS, "targets": targets})["targets"]
    assert t.match.tolist() == ["exact", "none"] and t.form_id.tolist()[0] == "b-1"


def test_link_matches_only_project_statements():
    st = schema.frame("statements", [
        {"source_file": "a.txt", "line": 3, "subject": "事业单位招聘", "subject_kind": "project", "metric": "x"},
        {"source_file": "a.txt", "line": 4, "subject": "某县人社局", "subject_kind": "department", "metric": "x"},
    ])
    s = link({"forms": FORMS, "statements": st})["statements"]
    assert s.match.tolist()[0] == "exact" and pd.isna(s.match.iloc[1]) and pd.isna(s.project_key.iloc[1])


def test_bundled_statements_linked_to_their_forms(bundled):
    s, f = bundled["statements"], bundled["forms"]
    s = s[(s.source_file == XINXIANG) & (s.subject_kind == "project")]
    hit = s[s.subject == "事业单位招聘"]
    assert set(hit.match) == {"exact"}
    assert set(f.set_index("form_id").loc[hit.form_id, "project_name"]) == {"事业单位招聘"}
    quoted = s[s.subject.str.startswith("高校毕业生")]
    assert set(quoted.match) == {"key"} and quoted.form_id.nunique() == 1
    f = f.set_index("form_id")
    for subject, how, name in [("其他惠普发展支出", "fuzzy", "其他普惠发展支出"),  # the report misspells it
                               ("自筹人员工资及保险", "fuzzy", "自筹人员工资及社保缴费支出"),
                               ("执法服装", "contains", "劳动监察执法服装"),
                               ("办公经费", "contains", "劳动保障监察日常办公经费"),
                               ("自筹人员工资及社保缴费", "contains", "自筹人员工资及社保缴费支出")]:
        hit = s[s.subject == subject]
        assert len(hit) and set(hit.match) == {how}, subject
        assert set(f.loc[hit.form_id, "project_name"]) == {name}
    assert s.match.isin(["exact", "key", "contains", "fuzzy"]).all()


def test_loose_match_never_guesses_between_two_forms():
    forms = schema.frame("forms", [
        {"form_id": "a", "source_file": "r.txt", "project_name": "劳动监察执法服装"},
        {"form_id": "b", "source_file": "r.txt", "project_name": "法院执法服装"},
        {"form_id": "c", "source_file": "r.txt", "project_name": "其他普惠发展支出"},
        {"form_id": "d", "source_file": "r.txt", "project_name": "其他惠普发展资金"}])
    st = schema.frame("statements", [
        {"source_file": "r.txt", "line": n, "subject": subj, "subject_kind": "project", "metric": "x"}
        for n, subj in enumerate(["执法服装", "其他惠普发展支出", "劳动监察执法服装采购", "完全无关的名称"], 1)])
    s = link({"forms": forms, "statements": st})
    assert s["statements"].match.tolist() == ["ambiguous", "none", "contains", "none"]
    assert s["statements"].form_id.tolist()[2] == "a" and s["statements"].form_id.iloc[:2].isna().all()
    assert len(s["problems"]) == 1  # the ambiguous one is reported


def test_bundled_summary_rows_linked(bundled):
    s, f = bundled["summary_rows"], bundled["forms"].set_index("form_id")
    s = s[s.source_file == XINXIANG]
    assert s.match.value_counts().to_dict() == {"exact": 20, "key": 2}
    quoted = s[s.project_name.str.startswith("高校毕业生”")]  # the summary's quotes differ from the form's
    assert set(quoted.match) == {"key"} and len(quoted) == 2
    assert (f.loc[s.form_id, "project_key"].to_numpy() == s.project_key.to_numpy()).all()
