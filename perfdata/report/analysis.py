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
        out = f[KEY_COLUMNS + ["total_score_reported"]].merge(r, on="form_id", how="left")
        out = out.rename(columns={"total_score_reported": "self_score"})
        out["part"] = "total"
    else:
        out = f[KEY_COLUMNS + ["exec_score_reported", "exec_score_expected"]].rename(
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
    """Findings per group, with a column per severity (high, medium, low) and the total, most first."""
    by = as_list(by)
    a = anomalies.assign(severity=pd.Categorical(anomalies["severity"], categories=SEVERITY_ORDER))
    t = pd.crosstab([a[c].fillna("（无）") if a[c].dtype == "string" else a[c] for c in by], a["severity"],
                    dropna=False)
    t = t.reindex(columns=SEVERITY_ORDER, fill_value=0)
    t.columns = [str(c) for c in t.columns]
    t["total"] = t.sum(axis=1)
    t = t[t["total"] > 0].reset_index()
    return t.sort_values(["total", *by], ascending=[False] + [True] * len(by), ignore_index=True)


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
        cnt = a.groupby(by, dropna=False).agg(findings=("rule", "size"),
                                               findings_high=("severity", lambda s: int((s == "high").sum())))
        out = out.merge(cnt.reset_index(), on=by, how="left")
        out[["findings", "findings_high"]] = out[["findings", "findings_high"]].fillna(0).astype("Int64")
    return out


def coverage(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Tables recognised per input file and kind, beside the file's status and what was not read."""
    from perfdata import schema

    t = tables.get("tables", schema.frame("tables", []))
    files = tables.get("files", schema.frame("files", []))
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


def save_table(df: pd.DataFrame, name: str, output_dir: str | Path) -> Path:
    """Write a report table as UTF-8 CSV (Excel opens it) under OUTPUT_DIR/tables, rows as shown."""
    path = Path(output_dir) / "tables" / f"{name}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\n")
    return path
