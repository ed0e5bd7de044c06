"""Aggregations the report notebooks show: execution rates, scores, anomalies, an overview.

Every function takes tidy tables (schema.py) and returns a new DataFrame, so a notebook cell is one
call and a chart. Thresholds default to perfdata/rules/thresholds.csv and grades to grades.csv;
notebooks pass their parameters through.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from perfdata.checks import SEVERITY_ORDER, rule_table
from perfdata.report import display
from perfdata.scoring import execution_rate, grade, grade_bands, thresholds  # noqa: F401 - one source each

# Chinese headers of the columns the aggregations here add (the tidy tables' are in schema.py).
LABELS = {
    "forms": "表单数", "budget": "预算数(万元)", "rate_weighted": "加权执行率(%)", "rate_mean": "平均执行率(%)",
    "rate_median": "执行率中位数(%)", "rate_min": "最低执行率(%)", "below_threshold": "低于阈值表单数",
    "exec_rate": "计算执行率(%)", "exec_score_expected": "按规则执行率得分", "adjustment": "预算调整(万元)",
    "adjustment_pct": "预算调整幅度(%)", "score_mean": "平均自评分", "score_median": "自评分中位数",
    "score_min": "最低自评分", "share_full": "满分占比(%)", "share_near_full": "接近满分占比(%)",
    "high": "高", "medium": "中", "low": "低", "total": "合计", "title_zh": "规则名称",
    "findings": "问题数", "findings_high": "高风险问题数", "indicators": "指标数", "grade": "等级",
    "exec_base": "执行率口径", "rate_gap": "填报与计算执行率之差", "flagged": "超出复核区间", "total_weight": "总分值",
    "score_rate": "得分率(%)", "full": "满分", "near_full": "接近满分", "self_score": "自评得分",
    "rescore": "重算得分", "rescore_min": "重算得分下限", "gap": "自评高出(分)", "part": "比较口径",
    "weight": "分值", "score": "得分", "level1": "一级指标", "near_full_margin": "接近满分差距",
    "leftovers": "未读取(行)", "problems": "文件问题(条)", "rows": "行数", "table": "表", "bin": "区间",
    "share": "占比(%)", "item": "项目", "below": "低于说明阈值", "where": "原文位置", "read": "读取内容",
}
KEY_COLUMNS = ["form_id", "region", "department", "unit", "year", "project_name"]


def as_list(value) -> list:
    """A parameter as a list: None/""/[] mean "all" (empty list); a scalar or "a,b" becomes a list.

    >>> as_list("2021, 2024"), as_list(2024), as_list(None)
    (['2021', '2024'], [2024], [])
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, (list, tuple, set, pd.Series, np.ndarray)):
        return list(value)
    return [value]


# -- filters ---------------------------------------------------------------------------------------

def _matches(s: pd.Series, wanted: list, contains: bool = False) -> pd.Series:
    wanted = [str(w) for w in wanted]
    text = s.astype("string")
    hit = text.isin(wanted)
    if contains:
        for w in wanted:
            hit |= text.str.contains(w, regex=False)
    return hit.fillna(False).astype(bool)


def filter_tables(tables: dict[str, pd.DataFrame], years=None, regions=None,
                  departments=None) -> dict[str, pd.DataFrame]:
    """Keep rows of the chosen years, regions and departments (empty = all) in every table.

    A table is filtered on the columns it has (year, region, department — a department matches when
    its name equals or contains the value, so "人力资源" selects every 人社局); rows tied to a form
    follow their form. Tables without such columns (files, problems) are kept whole.
    """
    years, regions, departments = as_list(years), as_list(regions), as_list(departments)
    if not (years or regions or departments):
        return dict(tables)

    def keep(df: pd.DataFrame) -> pd.Series:
        m = pd.Series(True, index=df.index)
        if years and "year" in df:
            m &= _matches(df["year"], [int(y) for y in years])
        if regions and "region" in df:
            m &= _matches(df["region"], regions)
        if departments and "department" in df:
            m &= _matches(df["department"], departments, contains=True)
        return m

    out = dict(tables)
    forms = tables.get("forms")
    kept_ids = None
    if forms is not None:
        out["forms"] = forms[keep(forms)]
        kept_ids = set(out["forms"]["form_id"].dropna())
    for name, df in tables.items():
        if name == "forms":
            continue
        m = keep(df)
        if kept_ids is not None and "form_id" in df:
            m &= df["form_id"].isna() | df["form_id"].isin(kept_ids)
        out[name] = df[m]
    return out


# -- execution -------------------------------------------------------------------------------------

def with_execution(forms: pd.DataFrame, threshold: float | None = None, low: float | None = None,
                   high: float | None = None) -> pd.DataFrame:
    """Forms with the computed rate, the budget adjustment and the execution score the rule gives.

    Adds exec_rate (%), exec_base (full_year | initial), adjustment (全年 − 年初, 万元), adjustment_pct,
    rate_gap (printed − computed), exec_score_expected (rate × 分值, capped at 分值), below_threshold,
    flagged (outside [low, high]).
    """
    th = thresholds()
    threshold = th["exec_rate_threshold"] if threshold is None else float(threshold)
    low = th["exec_rate_low"] if low is None else float(low)
    high = th["exec_rate_high"] if high is None else float(high)
    out = forms.copy()
    out["exec_rate"] = execution_rate(forms).round(2)
    out["exec_base"] = pd.Series(np.where(forms["budget_full_year"].notna(), "full_year", "initial"),
                                 index=forms.index, dtype="string")
    out["adjustment"] = (forms["budget_full_year"] - forms["budget_initial"]).round(4)
    out["adjustment_pct"] = (out["adjustment"] / forms["budget_initial"].where(forms["budget_initial"] > 0)
                             * 100).round(2)
    out["rate_gap"] = (forms["exec_rate_reported"] - out["exec_rate"]).round(2)
    weight = forms["exec_weight"]
    out["exec_score_expected"] = (out["exec_rate"] / 100 * weight).clip(upper=weight).round(2)
    out["below_threshold"] = (out["exec_rate"] < threshold).astype("boolean")
    out["flagged"] = ((out["exec_rate"] < low) | (out["exec_rate"] > high)).astype("boolean")
    return out


def rate_by(forms: pd.DataFrame, by: str | list[str], threshold: float | None = None) -> pd.DataFrame:
    """Execution per group: forms, budget and executed (万元), weighted and mean rate (%), forms below.

    The weighted rate is Σ执行数 / Σ预算数 (what the group spent of what it had); the mean rate is
    the plain mean of the forms' rates (how a typical project did).
    """
    by = as_list(by)
    f = with_execution(forms, threshold)
    f["budget"] = f["budget_full_year"].fillna(f["budget_initial"])
    g = f.groupby(by, dropna=False, sort=True)
    out = pd.DataFrame({
        "forms": g.size(),
        "budget": g["budget"].sum(min_count=1),
        "executed": g["executed"].sum(min_count=1),
        "rate_mean": g["exec_rate"].mean(),
        "rate_median": g["exec_rate"].median(),
        "rate_min": g["exec_rate"].min(),
        "below_threshold": g["below_threshold"].sum(),
    })
    out["rate_weighted"] = out["executed"] / out["budget"].where(out["budget"] > 0) * 100
    cols = ["forms", "budget", "executed", "rate_weighted", "rate_mean", "rate_median", "rate_min",
            "below_threshold"]
    return out[cols].astype({"forms": "Int64", "below_threshold": "Int64"}).round(2).reset_index()


def below_threshold(forms: pd.DataFrame, threshold: float | None = None) -> pd.DataFrame:
    """Forms whose computed execution rate is below the threshold, lowest first."""
    f = with_execution(forms, threshold)
    cols = [*KEY_COLUMNS, "budget_initial", "budget_full_year", "executed", "exec_rate",
            "exec_rate_reported", "exec_score_reported", "exec_score_expected", "total_score_reported",
            "source_file", "funding_line"]
    return (f[f["below_threshold"].fillna(False)][cols]
            .sort_values(["exec_rate", "form_id"], ignore_index=True))


def adjustments(forms: pd.DataFrame) -> pd.DataFrame:
    """Forms whose 全年预算数 differs from the 年初预算数, largest change first."""
    f = with_execution(forms)
    f = f[f["adjustment"].notna() & (f["adjustment"] != 0)]
    cols = [*KEY_COLUMNS, "budget_initial", "budget_full_year", "adjustment", "adjustment_pct", "executed",
            "exec_rate"]
    return f[cols].assign(_abs=f["adjustment"].abs()).sort_values(["_abs", "form_id"], ascending=[False, True]) \
        .drop(columns="_abs").reset_index(drop=True)


def rate_bins(forms: pd.DataFrame, threshold: float | None = None, low: float | None = None,
              high: float | None = None) -> pd.DataFrame:
    """Forms per execution-rate band, exactly 100 % a band of its own: below `low`, up to the threshold, up
    to 100, 100, over 100 up to `high`, over `high` (and 未能计算 where a form has no rate).

    Columns bin, forms, share (%), below (the band is under the threshold: an explanation is due) and flagged
    (outside [low, high]: reviewers' focus), so every count a report states is a sum of this table.

    >>> rate_bins(pd.DataFrame({"exec_rate": [50.0, 85.0, 99.99, 100.0, 100.0, 104.0, 130.0]}))["forms"].tolist()
    [1, 1, 1, 2, 1, 1]
    """
    th = thresholds()
    threshold = th["exec_rate_threshold"] if threshold is None else float(threshold)
    low = th["exec_rate_low"] if low is None else float(low)
    high = th["exec_rate_high"] if high is None else float(high)
    r = forms["exec_rate"].astype("Float64")
    edges = sorted(e for e in {low, threshold} if e < 100)
    bands = []  # (label, mask, upper end of the band, lower end)
    if edges:
        bands.append((f"低于 {edges[0]:g}%", r < edges[0], edges[0], float("-inf")))
    for a, b in zip(edges, [*edges[1:], 100.0], strict=True):
        bands.append((f"{a:g}%–<{b:g}%", (r >= a) & (r < b), b, a))
    if not edges:
        bands.append(("低于 100%", r < 100, 100.0, float("-inf")))
    bands.append(("100%", r == 100, 100.0, 100.0))
    if high > 100:
        bands.append((f"高于 100% 至 {high:g}%", (r > 100) & (r <= high), high, 100.0))
        bands.append((f"高于 {high:g}%", r > high, float("inf"), high))
    else:
        bands.append(("高于 100%", r > 100, float("inf"), 100.0))
    rows = [(name, int(m.fillna(False).sum()), hi <= threshold and name != "100%",
             (hi <= low and name != "100%") or lo >= high) for name, m, hi, lo in bands]
    out = pd.DataFrame(rows, columns=["bin", "forms", "below", "flagged"])
    if r.isna().any():
        out.loc[len(out)] = ["未能计算", int(r.isna().sum()), False, False]
    out["share"] = (out["forms"] / max(len(forms), 1) * 100).round(2)
    return out[["bin", "forms", "share", "below", "flagged"]].astype({"below": "boolean", "flagged": "boolean"})


def score_bins(forms: pd.DataFrame) -> pd.DataFrame:
    """Forms per self-score band (the grade bands, 90–100 split at 95, full marks a band of its own).

    Needs with_scores() columns (`full`); columns bin, forms, share (%).
    """
    s = forms["total_score_reported"].astype("Float64")
    full = forms["full"].fillna(False).astype(bool) if "full" in forms else s >= 100
    bands = grade_bands().sort_values("min_score")
    edges = [float(x) for x in bands["min_score"]] + [float("inf")]
    rows = []
    for (lo, hi), g in zip(zip(edges[:-1], edges[1:], strict=True), bands["grade"], strict=True):
        if hi == float("inf"):
            rows.append((f"{lo:g}–<95 分（{g}）", (s >= lo) & (s < 95) & ~full))
            rows.append((f"≥95 分未满分（{g}）", (s >= 95) & ~full))
            rows.append((f"满分（{g}）", full & s.notna()))
        else:
            label = f"低于 {hi:g} 分（{g}）" if lo <= 0 else f"{lo:g}–<{hi:g} 分（{g}）"
            rows.append((label, (s >= lo) & (s < hi) & ~full))
    out = pd.DataFrame([(k, int(m.fillna(False).sum())) for k, m in rows], columns=["bin", "forms"])
    if s.isna().any():
        out.loc[len(out)] = ["未填总分", int(s.isna().sum())]
    out["share"] = (out["forms"] / max(len(forms), 1) * 100).round(2)
    return out


def year_pivot(table: pd.DataFrame, index: list[str], values: list[str]) -> pd.DataFrame:
    """One row per `index` group, a column per (measure, year): the same measure side by side across years."""
    p = table.pivot_table(index=index, columns="year", values=values, aggfunc="first", dropna=False, observed=True)
    p = p.reindex(columns=values, level=0).dropna(how="all")
    p.columns = [(m, int(y)) if pd.notna(y) else (m, "未填") for m, y in p.columns]
    return p.reset_index().round(2)


def table_rows(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Rows per table (the tidy tables of the run), in the schema's order."""
    from perfdata import schema

    names = [n for n in schema.TABLES if n in tables] + [n for n in tables if n not in schema.TABLES]
    return pd.DataFrame({"table": pd.array(names, dtype="string"),
                         "rows": pd.array([len(tables[n]) for n in names], dtype="Int64")})


def item_labels(df: pd.DataFrame, parts=("region", "project_name")) -> pd.Series:
    """One label per row that tells same-named projects apart: region · project, then · unit, then · 第 N 行
    (then the file) where the shorter label is shared.

    >>> item_labels(pd.DataFrame({"region": ["甲", "甲"], "project_name": ["经费", "经费"], "unit": ["一", "一"],
    ...                           "line_start": [3, 40]})).tolist()
    ['甲 · 经费 · 一 · 第 3 行', '甲 · 经费 · 一 · 第 40 行']
    """
    def text(v):
        return "未填" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)

    label = pd.Series([" · ".join(text(r[c]) for c in parts if c in df) for _, r in df.iterrows()],
                      index=df.index, dtype=object)
    for extra in ("unit", "line_start", "source_file"):
        if extra not in df:
            continue
        dup = label.duplicated(keep=False)
        if not dup.any():
            break
        add = df.loc[dup, extra].map(lambda v, e=extra: f"第 {int(v)} 行" if e == "line_start" and pd.notna(v)
                                      else text(v))
        label[dup] = label[dup] + " · " + add
    dup = label.duplicated(keep=False)
    if dup.any():  # nothing tells them apart: number them
        label[dup] = label[dup] + "（" + (label[dup].groupby(label[dup]).cumcount() + 1).astype(str) + "）"
    return label


def low_but_full(forms: pd.DataFrame, threshold: float | None = None, full_marks: float | None = None,
                 near_full_margin: float | None = None) -> pd.DataFrame:
    """Forms whose execution rate is below the threshold but whose self-score is full or near-full marks
    (the pattern reviewers call 自评偏高), lowest rate first."""
    f = with_scores(with_execution(forms, threshold), full_marks, near_full_margin)
    hit = f["below_threshold"].fillna(False) & f["near_full"].fillna(False)
    cols = [*KEY_COLUMNS, "exec_rate", "exec_score_reported", "exec_score_expected", "total_score_reported",
            "total_weight", "source_file", "line_start"]
    return f.loc[hit, cols].sort_values(["exec_rate", "form_id"], ignore_index=True)


# -- scores ----------------------------------------------------------------------------------------

def with_scores(forms: pd.DataFrame, full_marks: float | None = None,
                near_full_margin: float | None = None) -> pd.DataFrame:
    """Forms with total_weight (printed, else full_marks), score_rate (%), full, near_full and grade."""
    th = thresholds()
    full_marks = th["full_marks"] if full_marks is None else float(full_marks)
    margin = th["near_full_margin"] if near_full_margin is None else float(near_full_margin)
    out = forms.copy()
    out["total_weight"] = forms["total_weight_reported"].fillna(full_marks)
    score = forms["total_score_reported"]
    out["score_rate"] = (score / out["total_weight"].where(out["total_weight"] > 0) * 100).round(2)
    out["full"] = (score >= out["total_weight"]).astype("boolean")
    out["near_full"] = (score >= out["total_weight"] - margin).astype("boolean")
    out["grade"] = grade(score)
    return out


def level_scores(indicators: pd.DataFrame, include_execution: bool = False) -> pd.DataFrame:
    """Per form and 一级指标: indicators, Σ分值, Σ得分, score rate (%), share of indicators at full marks.

    预算执行率 rows that a region prints among the indicators (兴隆县 under 满意度指标) are left out
    unless `include_execution`: they score the budget, not the level's outputs or effects.
    """
    ind = indicators[indicators["level1"].notna()].copy()
    if "is_budget_execution" in ind and not include_execution:
        ind = ind[~ind["is_budget_execution"].fillna(False).astype(bool)]
    ind["at_full"] = (ind["score"] >= ind["weight"]).astype("Float64")
    g = ind.groupby(["form_id", "level1"], sort=True)
    out = pd.DataFrame({
        "indicators": g.size().astype("Int64"),
        "weight": g["weight"].sum(min_count=1),
        "score": g["score"].sum(min_count=1),
        "share_full": (g["at_full"].mean() * 100),
    })
    out["score_rate"] = out["score"] / out["weight"].where(out["weight"] > 0) * 100
    return out.round(2).reset_index()


def score_by(forms: pd.DataFrame, by: str | list[str], **kw) -> pd.DataFrame:
    """Scores per group: forms, mean/median/min total, share at full marks and near-full (%)."""
    by = as_list(by)
    f = with_scores(forms, **kw)
    g = f.groupby(by, dropna=False, sort=True)
    out = pd.DataFrame({
        "forms": g.size().astype("Int64"),
        "score_mean": g["total_score_reported"].mean(),
        "score_median": g["total_score_reported"].median(),
        "score_min": g["total_score_reported"].min(),
        "share_full": g["full"].mean() * 100,
        "share_near_full": g["near_full"].mean() * 100,
    })
    return out.astype("Float64").astype({"forms": "Int64"}).round(2).reset_index()


def grade_counts(forms: pd.DataFrame, by: str | list[str]) -> pd.DataFrame:
    """Forms per grade (columns 优 良 中 差, all present) in each group."""
    f = with_scores(forms)
    by = as_list(by)
    grades = list(grade_bands()["grade"])
    t = f.groupby([*by, "grade"], dropna=False, sort=True).size().unstack("grade", fill_value=0)
    t = t.reindex(columns=grades, fill_value=0).astype("int64")
    t.columns.name = None
    return t.reset_index()


def ceiling_effect(forms: pd.DataFrame, **kw) -> pd.DataFrame:
    """How many forms give themselves full marks or near-full: counts and shares (%), one row."""
    f = with_scores(forms, **kw)
    n = len(f)
    full, near = int(f["full"].fillna(False).sum()), int(f["near_full"].fillna(False).sum())
    return pd.DataFrame({"forms": [n], "full": [full], "near_full": [near],
                         "share_full": [round(full / n * 100, 2) if n else np.nan],
                         "share_near_full": [round(near / n * 100, 2) if n else np.nan]})


def score_vs_rescore(forms: pd.DataFrame, rescored: pd.DataFrame | None = None,
                     column: str = "total_rescore_max", low_column: str = "total_rescore_min") -> pd.DataFrame:
    """Self-reported score beside a rescore, per form; gap > 0 means the form scored itself higher.

    With the checks' `rescored_forms` table (rescored total in `column`: the upper bound, where
    indicators that cannot be compared count at full weight; `low_column` the lower bound), the totals
    are compared; without one, the execution row is rescored here (rate × 分值, capped), the part of
    the rules that needs no indicator parsing.
    """
    f = with_execution(forms)
    if rescored is not None and column in rescored and len(rescored):
        keep = ["form_id", column] + ([low_column] if low_column in rescored else [])
        r = rescored[keep].rename(columns={column: "rescore", low_column: "rescore_min"})
        out = f[KEY_COLUMNS + ["source_file", "line_start", "total_score_reported"]].merge(r, on="form_id", how="left")
        out = out.rename(columns={"total_score_reported": "self_score"})
        out["part"] = "total"
    else:
        out = f[KEY_COLUMNS + ["source_file", "line_start", "exec_score_reported", "exec_score_expected"]].rename(
            columns={"exec_score_reported": "self_score", "exec_score_expected": "rescore"})
        out["part"] = "execution"
    out["gap"] = (out["self_score"] - out["rescore"]).round(2)
    return out.sort_values(["gap", "form_id"], ascending=[False, True], na_position="last", ignore_index=True)


# -- anomalies -------------------------------------------------------------------------------------

def sort_anomalies(anomalies: pd.DataFrame) -> pd.DataFrame:
    """Findings in reading order: severity (high first), then file and line."""
    sev = pd.Categorical(anomalies["severity"], categories=SEVERITY_ORDER, ordered=True)
    return (anomalies.assign(_sev=sev)
            .sort_values(["_sev", "source_file", "line", "rule", "form_id"], na_position="last", kind="stable")
            .drop(columns="_sev").reset_index(drop=True))


def select_anomalies(anomalies: pd.DataFrame, severities=None, rules=None) -> pd.DataFrame:
    """Findings of the chosen severities and rules (empty = all), in reading order."""
    a = anomalies
    if as_list(severities):
        a = a[_matches(a["severity"], as_list(severities))]
    if as_list(rules):
        a = a[_matches(a["rule"], as_list(rules))]
    return sort_anomalies(a)


def rule_titles() -> dict[str, str]:
    """Rule id → Chinese title, from rules/anomalies.csv."""
    t = rule_table()
    return dict(zip(t["id"], t["title_zh"], strict=True))


def anomaly_counts(anomalies: pd.DataFrame, by: str | list[str]) -> pd.DataFrame:
    """Findings per group, with a column per severity (high, medium, low) and the total, most first.

    A finding without a value for a group column (a 绩效目标表 finding with no year) is its own group
    with a null key, so the totals always add up to the number of findings.
    """
    by = as_list(by)
    if not len(anomalies):
        return pd.DataFrame({**{c: anomalies[c].iloc[:0] if c in anomalies else [] for c in by},
                             **{k: pd.Series([], dtype="int64") for k in [*SEVERITY_ORDER, "total"]}})
    a = anomalies.assign(_one=1)
    t = a.pivot_table(index=by, columns="severity", values="_one", aggfunc="sum", fill_value=0, dropna=False,
                      observed=True)
    t = t.reindex(columns=SEVERITY_ORDER, fill_value=0).astype("int64")
    t.columns = [str(c) for c in t.columns]
    t["total"] = t.sum(axis=1)
    t = t[t["total"] > 0].reset_index()
    for c in by:
        if c in anomalies:
            t[c] = t[c].astype(anomalies[c].dtype)
    return t.sort_values(["total", *by], ascending=[False] + [True] * len(by), ignore_index=True,
                         na_position="last")


def severity_counts(anomalies: pd.DataFrame) -> pd.DataFrame:
    """One row: findings per severity and the total (what a headline states)."""
    n = anomalies["severity"].value_counts() if len(anomalies) else pd.Series(dtype="int64")
    row = {k: int(n.get(k, 0)) for k in SEVERITY_ORDER}
    return pd.DataFrame([{**row, "total": sum(row.values())}])


# -- overview --------------------------------------------------------------------------------------

def overview(tables: dict[str, pd.DataFrame], by=("region", "department", "year"), threshold=None) -> pd.DataFrame:
    """Departments and years side by side: forms, money, execution, self-scores, findings."""
    by = as_list(by)
    forms = tables["forms"]
    rates = rate_by(forms, by, threshold)
    scores = score_by(forms, by)[[*by, "score_mean", "share_full"]]
    out = rates.merge(scores, on=by, how="left")
    ind = tables.get("indicators")
    if ind is not None:
        n = ind.merge(forms[["form_id", *by]], on="form_id").groupby(by, dropna=False).size()
        out = out.merge(n.rename("indicators").reset_index(), on=by, how="left")
    an = tables.get("anomalies")
    if an is not None and len(an):
        # each finding's own region/department/year: a template-level finding has no form but has those
        a = an.copy()
        of_form = forms.drop_duplicates("form_id").set_index("form_id")
        for c in by:
            own = a[c] if c in a else pd.Series(pd.NA, index=a.index)
            a[c] = own.where(own.notna(), a["form_id"].map(of_form[c]))
        a["_high"] = (a["severity"] == "high").astype("int64")
        cnt = a.groupby(by, dropna=False).agg(findings=("rule", "size"), findings_high=("_high", "sum"))
        cnt = cnt.reset_index()
        for c in by:  # the same dtypes on both sides, so the merge meets null keys too
            cnt[c] = cnt[c].astype(out[c].dtype)
        # outer: findings of a group without project forms (a 绩效目标表, a department form) keep a row
        out = out.merge(cnt, on=by, how="outer")
        out[["findings", "findings_high"]] = out[["findings", "findings_high"]].fillna(0).astype("Int64")
        out["forms"] = out["forms"].fillna(0).astype("Int64")
        out = out.sort_values(by, na_position="last", ignore_index=True)
    return out


def coverage(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Tables recognised per input file and kind, beside the file's status and what was not read."""
    t = display.frame_of(tables, "tables")
    files = display.frame_of(tables, "files")
    kinds = t.groupby(["source_file", "kind"]).size().unstack("kind", fill_value=0)
    kinds.columns.name = None
    out = files[["source_file", "status"]].set_index("source_file").join(kinds, how="outer")
    for name in ("leftovers", "problems"):
        df = tables.get(name)
        n = df.groupby("source_file").size() if df is not None and len(df) else pd.Series(dtype="int64")
        out[name] = n.reindex(out.index).fillna(0).astype("int64")
    return out.fillna({c: 0 for c in kinds.columns}).reset_index().sort_values("source_file", ignore_index=True)


# -- output ----------------------------------------------------------------------------------------

def labelled(df: pd.DataFrame, table: str = "forms") -> pd.DataFrame:
    """The frame with Chinese column headers, for reading in a report (saved tables keep the names).

    >>> list(labelled(pd.DataFrame(columns=["region", "rate_mean", "other"])).columns)
    ['地区', '平均执行率(%)', 'other']
    """
    from perfdata import schema

    names = {**schema.labels(table), **LABELS} if table in schema.TABLES else dict(LABELS)
    for other in ("forms", "anomalies"):
        names = {**schema.labels(other), **names}
    return df.rename(columns=names)


def save_table(df: pd.DataFrame, name: str, output_dir: str | Path, table: str | None = None,
               english: bool = False) -> Path:
    """Write a report table as UTF-8 CSV (Excel opens it) under OUTPUT_DIR/tables, all rows.

    Headers and codes are Chinese (display.for_csv: 严重程度 高, 执行率口径 全年预算数; numbers stay
    numbers); `english=True` keeps the column names and codes, for machine use. A text cell that Excel would
    take for a formula (= + - @, tab, CR) gets its quote prefix (store.formula_safe); numbers stay numbers.
    Lines end in CRLF (RFC 4180), so a cell holding a line break is quoted.
    """
    from perfdata import store
    from perfdata.report import display

    path = Path(output_dir) / "tables" / f"{name}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    store.formula_safe(display.for_csv(df, table, english)).to_csv(path, index=False, encoding="utf-8-sig",
                                                                   lineterminator="\r\n")
    return path
