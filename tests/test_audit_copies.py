"""Copied text across forms, departments and years (perfdata/audit/copies.py): copies planted in batches built
from the bundled tables (rows copied under fresh ids, departments, years and files, their text changed) are found,
template wording and stock phrases are not, and the bundled documents give only the finding read in them."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from conftest import GUYUAN, XINGLONG, XINXIANG

from perfdata import schema
from perfdata.audit.copies import KINDS, copies, near_duplicates, normalise, stop_phrases

REASON = "因案件比上年度减少,年度指标值设置偏高。加强资金分配,提高资金利用率。"  # Xinxiang line 441


def _form(tables, form_id, tag, *, source_file=None, names=True, **fields):
    """A copy of one bundled form (its forms and indicators rows) under a fresh id and file: `fields` replace the
    form's columns (region, department, unit, year, project_name, goal_planned, goal_achieved); `names=False`
    renames every indicator, so no (name, target) pair is shared."""
    f = tables["forms"][tables["forms"].form_id == form_id].copy()
    i = tables["indicators"][tables["indicators"].form_id == form_id].copy()
    sf = source_file or f"{tag}.txt"
    f["form_id"], i["form_id"] = form_id + tag, form_id + tag
    f["source_file"], i["source_file"] = sf, sf
    for c, v in fields.items():
        f[c] = v
    if not names:
        i["name"] = i["name"].astype(str) + f"（{tag}新设）"
    return f, i


def _batch(tables, *parts):
    out = dict(tables)
    for f, i in parts:
        out["forms"] = pd.concat([out["forms"], f], ignore_index=True)
        out["indicators"] = pd.concat([out["indicators"], i], ignore_index=True)
    return out


def _note(i, k, text):
    i = i.copy()
    i.iloc[k, i.columns.get_loc("deviation_note")] = text
    return i


def _other(tables, tag, region, **kw):
    """A form of another county: Xinglong's 劳务派遣人员经费 with its own project and indicator names, no goals."""
    return _form(tables, "b7e31012d4-00003", tag, names=False, region=region,
                 department=f"{region}人力资源和社会保障局", unit=f"{region}就业服务中心", year=2022,
                 project_name=f"{region}公益性岗位补贴", goal_planned=None, goal_achieved=None, **kw)


# -- the bundled documents ----------------------------------------------------------------------------

def test_bundled_documents_give_only_guyuans_copied_actuals(bundled):
    c = copies(bundled)
    assert list(c.columns) == [col.name for col in schema.TABLES["copies"]]
    assert len(c) == 1
    r = c.iloc[0]
    # every one of Guyuan's 68 indicators prints its target as the actual (显著提高/显著提高, 400个/400个, ≥90%/≥90%)
    assert (r.kind, r.field, r.source_file_b, r.line_b, r["count"], r.total, r.similarity) == \
        ("actual_is_target", "actual_raw", GUYUAN, 15, 68, 68, 100.0)
    assert r.text_a == r.text_b == "市本级及原州区职工和城镇居民"
    assert r.message.startswith("本文件68项指标中68项（100%）的实际完成值与年度指标值相同")


def test_repeats_inside_one_department_are_not_copies(bundled):
    # Guyuan repeats 继续推动社会保险事业高质量发展 in three forms of one unit, Xinglong's 就业促进股 one indicator set
    # in four projects: one owner's habits, not text taken from another department
    c = copies(bundled, min_owners=1, set_similarity=50)
    assert set(c.kind) == {"actual_is_target"}


# -- normalising and stock phrases ------------------------------------------------------------------------

def test_stock_phrases_and_short_texts_are_not_texts():
    assert {"无", "达到预期", "按计划执行", "服务对象满意度"} <= stop_phrases()
    assert normalise("达到 预期。") == "达到预期" and normalise(" 因疫情，延期 ") == "因疫情延期"
    assert near_duplicates([], 90).tolist() == [] and near_duplicates(["一"], 90).tolist() == [0]


def test_unknown_setting_raises(bundled):
    with pytest.raises(ValueError, match="unknown setting"):
        copies(bundled, text_similarity_typo=80)


# -- (a) the same 偏差原因 in another department's form --------------------------------------------------------

def test_a_reason_copied_into_another_countys_form(bundled):
    f, i = _other(bundled, "-hx", "滑县")
    # punctuation and a word changed
    i = _note(i, 2, "因案件较上年度减少，年度指标值设置偏高；加强资金分配，提高资金利用率。")
    c = copies(_batch(bundled, (f, i)))
    h = c[c.kind == "shared_text"]
    assert len(h) == 1 and set(c.kind) == {"shared_text", "actual_is_target"}
    r = h.iloc[0]
    assert (r.field, r.source_file_a, r.line_a, r.department_a, r.year_a) == \
        ("deviation_note", XINXIANG, 441, "新乡县人力资源和社会保障局", 2021)
    assert (r.source_file_b, r.line_b, r.region_b, r["count"], r.total) == ("-hx.txt", i.line.iloc[2], "滑县", 2, 2)
    assert 90 <= r.similarity < 100 and r.text_a == REASON
    assert "滑县人力资源和社会保障局（滑县就业服务中心）" in r.message and "新乡县人力资源和社会保障局" in r.message


def test_a_goal_copied_into_another_countys_form(bundled):
    xin = bundled["forms"].set_index("form_id").loc["cc92d7d1ac-00194"]
    f, i = _other(bundled, "-hx", "滑县")
    f["goal_achieved"] = xin.goal_achieved
    c = copies(_batch(bundled, (f, i)))
    h = c[c.kind == "shared_text"]
    assert list(h.field) == ["goal_achieved"] and h.iloc[0].similarity == 100
    assert h.iloc[0].project_name_a == "其他就业补助经费支出" and h.iloc[0].project_name_b == "滑县公益性岗位补贴"


def test_template_wording_stock_phrases_and_short_reasons_are_not_copies(bundled):
    # the reason in four regions' forms is the template's own wording (template_regions = 4)
    parts = [_other(bundled, f"-r{k}", r) for k, r in enumerate(["滑县", "辉县市", "延津县"])]
    parts = [(f, _note(i, 2, REASON)) for f, i in parts]
    c = copies(_batch(bundled, *parts))
    assert "shared_text" not in set(c.kind)
    # with three regions it is a copy: Xinxiang's line 441 and the first form of each other county
    c = copies(_batch(bundled, *parts[:2]))
    assert list(c[c.kind == "shared_text"].region_b) == ["滑县", "辉县市"]
    # stock phrases (rules/copies.csv, reason_phrases.csv) and texts under min_chars are never copies
    for text in ("达到预期目标", "按计划执行", "政策取消", "无"):
        parts = [(f, _note(i, 2, text)) for f, i in (_other(bundled, "-a", "滑县"), _other(bundled, "-b", "辉县市"))]
        assert "shared_text" not in set(copies(_batch(bundled, *parts)).kind), text


# -- (b) one department's indicator set reused by another ------------------------------------------------------

def test_an_indicator_set_reused_by_another_county(bundled):
    # Xinxiang's 其他就业补助经费支出 (22 indicators) as 滑县's 公益性岗位补贴, two targets changed
    f, i = _form(bundled, "cc92d7d1ac-00194", "-hx", region="滑县", department="滑县人力资源和社会保障局",
                 unit="滑县就业服务中心", year=2022, project_name="公益性岗位补贴",
                 goal_planned="滑县公益性岗位补贴按月发放", goal_achieved="滑县补贴已按月发放")
    i = i.assign(deviation_note=None)
    i.iloc[[0, 1], i.columns.get_loc("target_raw")] = ["≥320人", "≥310人"]
    c = copies(_batch(bundled, (f, i)))
    h = c[c.kind == "indicator_set"]
    assert len(h) == 1
    r = h.iloc[0]
    assert (r.project_name_a, r.project_name_b, r["count"], r.total, r.similarity) == \
        ("其他就业补助经费支出", "公益性岗位补贴", 20, 24, 83.33)
    assert (r.source_file_a, r.source_file_b, r.field) == (XINXIANG, "-hx.txt", "name/target_raw")
    assert r.line_a == r.line_b == i.line.iloc[2]  # the first pair they share, in each form
    assert r.text_b.startswith("享受就业见习补贴人员数量：≥15人")
    # three targets changed: 19 of 25, below set_similarity
    i.iloc[2, i.columns.get_loc("target_raw")] = "≥20人"
    assert "indicator_set" not in set(copies(_batch(bundled, (f, i))).kind)


# -- (c) last year's form with only the year changed ------------------------------------------------------------

def _last_year(tables, form_id="b7e31012d4-00421", change_actuals=False):
    f, i = _form(tables, form_id, "-2023", source_file="hebei-xinglong-county-hrss-2023-project-self-evaluations.txt",
                 year=2023)
    for c in ("goal_planned", "goal_achieved", "project_name"):
        f[c] = f[c].str.replace("2024", "2023")
    for c in ("name", "target_raw", "actual_raw", "deviation_note"):
        i[c] = i[c].astype("string").str.replace("2024", "2023")
    if change_actuals:
        i["actual_raw"] = ["推动" + str(k) for k in range(len(i))]
    return f, i


def test_a_form_the_same_as_last_years(bundled):
    f, i = _last_year(bundled)
    c = copies(_batch(bundled, (f, i)))
    h = c[c.kind == "repeat_year"]
    assert len(h) == 1 and set(c.kind) == {"repeat_year", "actual_is_target"}
    r = h.iloc[0]
    assert (r.year_a, r.year_b, r.project_name_b, r.similarity) == (2023, 2024, "城乡居民基础养老金提标县级补助", 100)
    assert (r.line_a, r.line_b, r.source_file_b) == (f.line_start.iloc[0], f.line_start.iloc[0], XINGLONG)
    assert r["count"] == r.total == len(i) and "除年份外几乎相同" in r.message


def test_a_form_with_new_actuals_is_not_last_years(bundled):
    c = copies(_batch(bundled, _last_year(bundled, change_actuals=True)))
    assert "repeat_year" not in set(c.kind)


# -- (d) targets copied into the actuals across a file ----------------------------------------------------------

def test_a_file_whose_actuals_are_its_targets(bundled):
    ids = bundled["forms"][bundled["forms"].source_file == XINXIANG].form_id
    parts = []
    for fid in ids:
        f, i = _form(bundled, fid, "-copy", source_file="henan-xinxiang-copy.txt")
        parts.append((f, i.assign(actual_raw=i.target_raw)))
    c = copies(_batch(bundled, *parts))
    h = c[c.kind == "actual_is_target"].set_index("source_file_b")
    assert list(h.index) == ["henan-xinxiang-copy.txt", GUYUAN]
    n = bundled["indicators"]
    n = n[(n.source_file == XINXIANG) & n.target_raw.notna() & n.actual_raw.notna() & ~n.is_budget_execution]
    assert h.loc["henan-xinxiang-copy.txt", "count"] == h.loc["henan-xinxiang-copy.txt", "total"] == len(n)
    assert set(c.kind) == {"actual_is_target"}  # one department's own forms copied: no other kind


# -- scale ---------------------------------------------------------------------------------------------------------

def test_ten_thousand_forms(bundled):
    """233 copies of the bundled documents (10,019 forms, 50 regions): half of every copy's texts as printed (template
    wording: each is in 50 regions), the other half its own words (no two alike), and one reason planted in two
    other counties' forms: that reason is the only shared text found, in a few seconds."""
    rng = np.random.default_rng(5)
    chars = np.array(list("保障就业培训补贴资金发放社会保险经办服务提高完善推进落实管理规范人员项目单位工作"
                          "机制全年按时足额考核审核监督检查信息系统平台建设维护档案整理合同印刷招聘鉴定仲裁调解监察"))
    parts = {name: [] for name in ("forms", "indicators", "statements", "department_forms")}
    for k in range(233):
        for name in parts:
            df = bundled[name].copy()
            for c in ("form_id", "dept_form_id"):
                if c in df:
                    df[c] = df[c] + f"-k{k}"
            df["source_file"] = f"c{k}/" + df["source_file"]
            if "region" in df:
                df["region"] = df["region"] + str(k % 50)
            for c in ("deviation_note", "goal_planned", "goal_achieved", "text", "goals"):
                if c in df:
                    own = rng.random(len(df)) < 0.5
                    df.loc[own, c] = ["".join(rng.choice(chars, rng.integers(12, 60))) for _ in range(own.sum())]
            parts[name].append(df)
    tables = {name: pd.concat(v, ignore_index=True) for name, v in parts.items()}
    planted = "因培训机构资质审核延迟，第四季度培训班次顺延至次年一季度开班"
    i = tables["indicators"]
    rows = np.flatnonzero((i.source_file.str.endswith(XINGLONG) & (i.line == 23)).to_numpy())[[7, 11]]
    i.iloc[rows, i.columns.get_loc("deviation_note")] = planted
    assert len(tables["forms"]) > 10_000
    t0 = time.process_time()
    c = copies(tables, raw_dir=None)
    cpu = time.process_time() - t0
    print(f"copies() on {len(tables['forms']):,} forms: {cpu:.1f} s CPU")
    h = c[c.kind == "shared_text"]
    assert len(h) == 1 and h.iloc[0].text_a == planted == h.iloc[0].text_b
    assert {h.iloc[0].region_a, h.iloc[0].region_b} == {"兴隆县7", "兴隆县11"}
    assert set(c.kind) <= set(KINDS) and (c.kind == "actual_is_target").sum() == 233
    assert cpu < 120, cpu
