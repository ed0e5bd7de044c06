"""Across years on generated batches: the bundled forms of a region copied as the next year under fresh ids,
with planted changes (a lowered target, a raised ceiling, a raised budget spent less, full marks while the
execution fell, a dropped indicator, renamed projects). Every planted change is found, nothing else is; no
link crosses a region; the bundled documents alone link nothing."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from conftest import GUYUAN, XIANGHE, XINGLONG, XINXIANG

from perfdata import schema
from perfdata.audit import years
from perfdata.keys import project_key

DIRECT = {"positive", "ceiling"}


def _num(x: float) -> str:
    return f"{float(x):.4f}".rstrip("0").rstrip(".")


def _raise_targets(ind: pd.DataFrame) -> pd.DataFrame:
    """Next year's targets where last year already did better: a ≥ target at least the actual, a ≤ ceiling at
    most the actual (same unit) — what a target set at the level reached looks like."""
    ind = ind.copy()
    same = ind.target_unit.fillna("") == ind.actual_unit.fillna("")
    tv, av = ind.target_value, ind.actual_value
    up = ((ind.direction == "positive") & same & (av > tv)) | ((ind.direction == "ceiling") & same & (av < tv))
    up = up.fillna(False).astype(bool)
    ind.loc[up, "target_value"] = av[up]
    ind.loc[up, "target_raw"] = [f"{op}{_num(v)}{u or ''}" for op, v, u in
                                 zip(ind.target_op[up], av[up], ind.target_unit[up], strict=True)]
    return ind


def _next_year(tables: dict, source_file: str, tag: str, *, region: str | None = None) -> dict:
    """One document's forms and indicators as the same document a year later: fresh form ids, year + 1, the
    file renamed, targets raised to what was achieved (region and department renamed when `region` is given)."""
    f = tables["forms"][tables["forms"].source_file == source_file].copy()
    ind = tables["indicators"][tables["indicators"].form_id.isin(f.form_id)].copy()
    year = int(f.year.iloc[0])
    new_file = source_file.replace(str(year), str(year + 1))
    if region:
        new_file = f"{region}-{new_file}"
        old = f.region.iloc[0]
        f["department"] = f.department.str.replace(old, region)
        f["region"] = region
    f["form_id"] = f.form_id + tag
    f["year"] = f.year + 1
    f["source_file"] = new_file
    ind["form_id"] = ind.form_id + tag
    ind["source_file"] = new_file
    return {"forms": schema.conform("forms", f), "indicators": schema.conform("indicators", _raise_targets(ind))}


def _form(t: dict, name: str) -> pd.Index:
    hit = t["forms"].index[t["forms"].project_name == name]
    assert len(hit) == 1, name
    return hit


def _set_indicator(t: dict, form_name: str, indicator: str, raw: str, op: str, value: float) -> None:
    fid = t["forms"].loc[_form(t, form_name), "form_id"].iloc[0]
    ind = t["indicators"]
    hit = ind.index[(ind.form_id == fid) & (ind.name == indicator)]
    assert len(hit) == 1, indicator
    ind.loc[hit, ["target_raw", "target_op", "target_value"]] = [raw, op, value]


def _rename(t: dict, old: str, new: str) -> None:
    hit = _form(t, old)
    t["forms"].loc[hit, "project_name"] = new
    t["forms"].loc[hit, "project_key"] = project_key(new)


def _targets_from_form(t: dict, form_name: str, target_id: str, source_file: str) -> dict:
    """A next-year 绩效目标表 for one form of `t`: the same project and indicators, targets raised to the form's
    actuals."""
    f = t["forms"].loc[_form(t, form_name)].iloc[0]
    ind = _raise_targets(t["indicators"][t["indicators"].form_id == f.form_id])
    targets = schema.frame("targets", [{
        "target_id": target_id, "source_file": source_file, "line_start": 10, "line_end": 60, "table_no": 1,
        "title": f.project_name, "project_name": f.project_name, "project_key": project_key(f.project_name),
        "department": f.department, "year": int(f.year) + 1, "budget": 900.0}])
    ti = schema.frame("target_indicators", [{
        "target_id": target_id, "source_file": source_file, "seq": i + 1, "line": 20 + i, "level1": r.level1,
        "level2": r.level2, "level3": r["name"], "description": r["name"], "target_raw": r.target_raw,
        "target_op": r.target_op, "target_value": r.target_value, "target_unit": r.target_unit,
        "quantitative": r.quantitative, "direction": r.direction} for i, (_, r) in enumerate(ind.iterrows())])
    return {"targets": targets, "target_indicators": ti}


def _concat(*parts: dict) -> dict:
    names = {n for p in parts for n in p}
    return {n: schema.conform(n, pd.concat([p[n] for p in parts if n in p], ignore_index=True)) for n in names}


XX_2022 = "henan-xinxiang-county-hrss-2022-budget-disclosure.txt"


@pytest.fixture(scope="module")
def planted(bundled):
    """The bundled tables plus 新乡县 2022 and 2023, 兴隆县 2025, a 2022 绩效目标表 of 新乡县 and 隆德县 2025 (固原市's
    forms under another county's name), with the planted changes."""
    xx = _next_year(bundled, XINXIANG, "-2022")
    _set_indicator(xx, "其他就业补助经费支出", "城镇新增就业人数", "≥5000人", "≥", 5000.0)  # achieved 8020
    _set_indicator(xx, "创业贷款贴息经费支出", "贴息利率", "≤3%", "≤", 3.0)  # a ceiling: achieved 2.35 %
    hit = _form(xx, "建档立卡优秀务工人员奖补")  # 16.06 of 16.06 → 16.06 of 30: budget up, rate 100 → 53.5
    xx["forms"].loc[hit, ["budget_initial", "budget_full_year", "exec_rate_reported"]] = [30.0, 30.0, 53.53]
    xx_2023 = _next_year(xx, XINXIANG.replace("2021", "2022"), "-2023")  # a third year, nothing changed

    xl = _next_year(bundled, XINGLONG, "-2025")
    hit = _form(xl, "劳务派遣人员经费(人社局)")  # 139.04 of 139.04 → 100 of 139.04, still 100 points
    xl["forms"].loc[hit, ["executed", "exec_rate_reported"]] = [100.0, 71.92]
    fid = xl["forms"].loc[_form(xl, "创业孵化基地租金及基地运行经费"), "form_id"].iloc[0]
    ind = xl["indicators"]
    xl["indicators"] = ind[~((ind.form_id == fid) & (ind.name == "绿色办公"))]
    _rename(xl, "城乡居民养老保险缴费补贴", "城乡居民养老保险缴费补助")  # fuzzy
    _rename(xl, "2024年保险资格认证", "2025年保险资格认证")  # name: the year in it
    _rename(xl, "冀财社[2023]220号省2024年省级就业补助资金", "冀财社[2024]301号省2025年省级就业补助资金")  # name

    targets = _targets_from_form(bundled, "其他就业补助经费支出", "t-xinxiang-2022-01", XX_2022)
    ti = targets["target_indicators"]
    ti.loc[ti.level3 == "享受社会保险补贴人员数量", ["target_raw", "target_value"]] = ["≥400人", 400.0]  # achieved 434

    longde = _next_year(bundled, GUYUAN, "-longde", region="隆德县")  # same names and unit, another county
    tables = _concat(bundled, xx, xx_2023, xl, targets, longde)
    return tables, years.compare_years(tables)


PLANTED = {
    ("target_set_low", "新乡县", 2022, "其他就业补助经费支出", "城镇新增就业人数", "project_form"),
    ("target_set_low", "新乡县", 2022, "创业贷款贴息经费支出", "贴息利率", "project_form"),
    ("target_set_low", "新乡县", 2022, "其他就业补助经费支出", "享受社会保险补贴人员数量", "target_table"),
    ("budget_up_exec_down", "新乡县", 2022, "建档立卡优秀务工人员奖补", None, "project_form"),
    ("full_score_exec_down", "兴隆县", 2025, "劳务派遣人员经费(人社局)", None, "project_form"),
    ("indicator_dropped", "兴隆县", 2025, "创业孵化基地租金及基地运行经费", "绿色办公", "project_form"),
}


def _found(yf: pd.DataFrame) -> set:
    return {(r.rule, r.region, r.year, r.project_name, None if pd.isna(r.indicator) else r.indicator, r.kind)
            for r in yf.itertuples()}


def test_every_planted_change_is_found_and_nothing_else(planted):
    _, out = planted
    yf = out["year_findings"]
    assert _found(yf) == PLANTED
    assert len(yf) == len(PLANTED)
    assert yf.message.str.contains(r"[\u4e00-\u9fff]").all() and yf.title.notna().all()
    for name, df in out.items():
        assert [str(t) for t in df.dtypes] == [str(pd.api.types.pandas_dtype(c.dtype)) for c in schema.TABLES[name]]
    assert list(yf.severity) == sorted(yf.severity, key=years.SEVERITY_ORDER.get)


@pytest.mark.parametrize(("rule", "indicator", "where", "prev_where", "expected", "found"), [
    pytest.param("target_set_low", "城镇新增就业人数", "henan-xinxiang-county-hrss-2022-self-evaluations.txt:225",
                 "henan-xinxiang-county-hrss-2021-self-evaluations.txt:225", "≥8020人", "≥5000人", id="lowered"),
    pytest.param("target_set_low", "贴息利率", "henan-xinxiang-county-hrss-2022-self-evaluations.txt:253",
                 "henan-xinxiang-county-hrss-2021-self-evaluations.txt:253", "≤2.35%", "≤3%", id="ceiling-raised"),
    pytest.param("target_set_low", "享受社会保险补贴人员数量", f"{XX_2022}:20",
                 "henan-xinxiang-county-hrss-2021-self-evaluations.txt:209", "≥434人", "≥400人", id="target-table"),
    pytest.param("indicator_dropped", "绿色办公", "hebei-xinglong-county-hrss-2025-project-self-evaluations.txt:28",
                 "hebei-xinglong-county-hrss-2024-project-self-evaluations.txt:48", "绿色办公", "无", id="dropped"),
])
def test_findings_name_both_places(planted, rule, indicator, where, prev_where, expected, found):
    yf = planted[1]["year_findings"]
    r = yf[(yf.rule == rule) & (yf.indicator == indicator)].iloc[0]
    assert (r["where"], r.prev_where, r.expected, r.found) == (where, prev_where, expected, found)


def test_budget_and_full_marks_findings_read_the_funding_and_total_rows(planted):
    yf = planted[1]["year_findings"].set_index("rule")
    b = yf.loc["budget_up_exec_down"]
    # the rate from the amounts (16.06 of a full-year 16.06 = 100 %), not the 80.3 % printed on 年初预算数 20
    assert (b.expected, b.found, b.line, b.prev_line) == ("≥100%", "53.53%", 8, 8)
    assert "预算由16.06万元（2021年）增至30万元（2022年，增86.8%），执行率却由100%降至53.53%（降46.47个百分点）" \
        in b.message
    s = yf.loc["full_score_exec_down"]
    assert (s.found, s.line, s.prev_line) == ("100", 26, 26)
    assert "执行率由100%（2024年）降至71.92%（2025年，降28.08个百分点），总分仍自评满分100分" in s.message


def test_links_key_name_fuzzy_and_ambiguous(planted):
    py = planted[1]["project_years"]
    xl = py[(py.region == "兴隆县") & (py.year == 2025)].set_index("project_name")
    assert xl.loc["城乡居民养老保险缴费补助", "match"] == "fuzzy"
    assert 85 <= xl.loc["城乡居民养老保险缴费补助", "match_score"] < 100
    assert xl.loc["2025年保险资格认证", "match"] == "name"
    assert xl.loc["冀财社[2024]301号省2025年省级就业补助资金", "match"] == "name"
    assert xl.loc["劳务派遣人员经费(人社局)", ["match", "match_score"]].tolist() == ["key", 100.0]
    # the two forms of one name in one unit: never guessed which is which
    assert list(xl.loc["冀财社[2024]48号中央就业补助", "match"]) == ["ambiguous", "ambiguous"]
    assert xl.loc["冀财社[2024]48号中央就业补助", "prev_form_id"].isna().all()
    # 档案管理 in two units of one department: each linked to its own unit's form of the year before
    arch = xl.loc[["档案管理"]]
    assert (arch.match == "key").all()
    assert set(arch.prev_form_id.str.removesuffix("")) == {"b7e31012d4-00104", "b7e31012d4-00181"}
    counts = xl.match.value_counts().to_dict()
    assert counts == {"key": 19, "name": 2, "fuzzy": 1, "ambiguous": 2}


def test_three_years_chain_into_one_series(planted):
    py = planted[1]["project_years"]
    xx = py[(py.region == "新乡县") & (py.kind == "project_form")]
    assert xx.groupby("link_id").year.apply(list).map(tuple).value_counts().to_dict() == {(2021, 2022, 2023): 11}
    assert set(xx.link_id) == set(xx[xx.year == 2021].form_id)
    t = py[py.kind == "target_table"].set_index("target_id")
    row = t.loc["t-xinxiang-2022-01"]
    assert (row.match, row.prev_year, row.region) == ("key", 2021, "新乡县")
    assert row.link_id == xx[(xx.year == 2021) & (xx.project_name == "其他就业补助经费支出")].form_id.iloc[0]


def test_no_link_crosses_a_region(planted):
    py = planted[1]["project_years"]
    linked = py[py.prev_form_id.notna()]
    prev = py.drop_duplicates("form_id").set_index("form_id").reindex(linked.prev_form_id)
    assert (prev.region.to_numpy() == linked.region.to_numpy()).all()
    assert (prev.year.to_numpy() == linked.year.to_numpy() - 1).all()
    # 固原市's forms under 隆德县 a year later: same names, same unit, other county — none linked
    longde = py[py.region == "隆德县"]
    assert len(longde) == 8 and longde.prev_form_id.isna().all() and longde.match.isna().all()
    assert py[py.kind == "project_form"].prev_form_id.dropna().is_unique  # one to one (a target table may share)


def test_indicator_series(planted):
    iy = planted[1]["indicator_years"]
    fid = planted[0]["forms"].query("project_name == '其他就业补助经费支出' and year == 2021").form_id.iloc[0]
    s = iy[(iy.link_id == fid) & (iy.name == "城镇新增就业人数")]
    assert s[["year", "kind", "target_raw", "actual_value", "line", "prev_line"]].astype(object).values.tolist() == [
        [2021, "project_form", "≥5300人", 8020.0, 225, pd.NA],
        [2022, "project_form", "≥5000人", 8020.0, 225, 225],
        [2022, "target_table", "≥8020人", pd.NA, 36, 225],
        [2023, "project_form", "≥8020人", 8020.0, 225, 225]]
    # projects seen in one year only have no series
    assert not iy.link_id.isin(planted[1]["project_years"].query("region == '隆德县'").link_id).any()


def test_thresholds_are_settings(planted):
    tables, _ = planted
    strict = years.compare_years(tables, fuzzy_min=95, exec_drop_min=50)  # the planted drops: 46.47, 28.08
    py = strict["project_years"]
    assert py.loc[py.project_name == "城乡居民养老保险缴费补助", "match"].isna().all()
    assert {r[0] for r in _found(strict["year_findings"])} == {"target_set_low", "indicator_dropped"}
    assert years.settings(target_low_tol_pct=5)["target_low_tol_pct"] == 5.0
    with pytest.raises(ValueError, match="unknown years setting"):
        years.compare_years(tables, fuzzy_threshold=90)


def test_bundled_documents_alone_link_nothing(bundled):
    """The bundled forms are three regions in one year each (兴隆县 2024, 新乡县 2021, 固原市 2024) and the 香河县 2023
    绩效目标表 has no 2022 forms beside it: every row stands alone, and there is nothing to find."""
    out = years.compare_years(bundled)
    py = out["project_years"]
    assert len(py) == len(bundled["forms"]) + len(bundled["targets"])
    assert py.prev_form_id.isna().all() and py.match.isna().all()
    t = py[py.kind == "target_table"]
    assert set(t.source_file) == {XIANGHE} and set(t.year) == {2023} and t.region.isna().all()
    assert out["indicator_years"].empty and out["year_findings"].empty
    for name, df in out.items():
        assert list(df.columns) == [c.name for c in schema.TABLES[name]]
        assert [str(t) for t in df.dtypes] == [str(pd.api.types.pandas_dtype(c.dtype)) for c in schema.TABLES[name]]


def _tagged(tables: dict, tag: str) -> dict:
    """The same batch as another county's: ids, files, region and department tagged."""
    out = {}
    for name, df in tables.items():
        df = df.copy()
        for c in ("form_id", "target_id", "region", "department"):
            if c in df:
                df[c] = (df[c] + tag).astype(df[c].dtype)
        if "source_file" in df:
            df["source_file"] = (tag + "/" + df["source_file"]).astype(df["source_file"].dtype)
        out[name] = df
    return out


def test_copies_of_the_batch_each_find_their_own_changes(planted):
    tables, alone = planted
    out = years.compare_years(_concat(tables, _tagged(tables, "-b"), _tagged(tables, "-c")))
    yf = out["year_findings"]
    assert len(yf) == 3 * len(alone["year_findings"])
    for tag in ("", "-b", "-c"):
        mine = yf[yf.region.isin([r + tag for r in ("新乡县", "兴隆县")])]
        assert {(r[0], r[1].removesuffix(tag), *r[2:]) for r in _found(mine)} == PLANTED
    assert len(out["project_years"]) == 3 * len(alone["project_years"])
    assert (out["project_years"].match.value_counts() == 3 * alone["project_years"].match.value_counts()).all()


def test_two_names_equally_close_are_not_linked():
    forms = schema.frame("forms", [
        {"form_id": fid, "source_file": "x.txt", "line_start": i, "region": "某县", "department": "某县人社局",
         "unit": "某中心", "project_name": name, "year": year}
        for i, (fid, name, year) in enumerate([("a", "劳动保障监察执法经费", 2021),
                                                ("b", "劳动保障监察执法经费甲", 2022),
                                                ("c", "劳动保障监察执法经费乙", 2022)])])
    py = years.link_projects({"forms": forms}).set_index("form_id")
    assert py.loc[["b", "c"], "prev_form_id"].isna().all()
    py = years.link_projects({"forms": forms[forms.form_id != "c"]}).set_index("form_id")
    assert (py.loc["b", "prev_form_id"], py.loc["b", "match"]) == ("a", "fuzzy")


def test_empty_and_missing_tables():
    out = years.compare_years({})
    assert all(df.empty for df in out.values())
    assert list(out["year_findings"].columns) == [c.name for c in schema.TABLES["year_findings"]]


def _scaled(bundled, copies: int, span: range) -> dict:
    """`copies` counties of the bundled forms over the years of `span` (all key links but one rename a year;
    targets from the second year on raised to what was achieved)."""
    forms, ind = bundled["forms"], bundled["indicators"]
    fs, inds = [], []
    for c in range(copies):
        for k, y in enumerate(span):
            tag = f"-{c}-{y}"
            f = forms.assign(form_id=forms.form_id + tag, year=y, region=forms.region + str(c),
                             department=forms.department + str(c), source_file=forms.source_file + tag)
            if k:  # a project renamed a little every year: the fuzzy tier has work in every block
                f.loc[f.project_name == "社会保险经办业务经费", "project_name"] = "社会保险经办业务经费" + "支出" * k
            fs.append(f)
            later = _raise_targets(ind) if k else ind
            inds.append(later.assign(form_id=ind.form_id + tag, source_file=ind.source_file + tag))
    f = pd.concat(fs, ignore_index=True)
    f["project_key"] = f.project_name.map(project_key)
    return {"forms": schema.conform("forms", f), "indicators": schema.conform("indicators", pd.concat(
        inds, ignore_index=True))}


def test_ten_thousand_forms_over_three_years_in_seconds(bundled):
    tables = _scaled(bundled, 78, range(2022, 2025))  # 43 forms × 78 counties × 3 years = 10,062 forms
    t0 = time.perf_counter()
    out = years.compare_years(tables)
    took = time.perf_counter() - t0
    py = out["project_years"]
    assert len(py) == 10_062
    later = py[py.year > 2022]
    assert later.match.value_counts().to_dict() == {"key": 78 * 2 * 40, "ambiguous": 78 * 2 * 2, "fuzzy": 78 * 2}
    assert out["year_findings"].empty  # copies of one year: nothing changed
    assert took < 30, took
    assert np.isfinite(later.match_score.dropna()).all()
