"""Consistency rules: figures of one form that disagree with each other."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from perfdata.checks.evidence import _shown
from perfdata.checks.registry import (
    Context,
    _cat,
    _findings,
    _floats,
    _fmt,
    _group_join,
    _ints,
    _map_unique,
    _name,
    _positions,
    _txt,
    rule,
)
from perfdata.scoring import thresholds

# -- consistency: figures of one form ---------------------------------------------------------------

@rule("score_above_weight")
def score_above_weight(ctx: Context, score_tol: float) -> pd.DataFrame:
    i = ctx.indicators
    hit = i[(i.score - i.weight > score_tol).fillna(False)]
    w, s = _fmt(hit.weight), _fmt(hit.score)
    a = _findings(hit, form_id=hit.form_id, line=hit.line, field="score", expected="≤" + w, found=s,
                  message="指标" + _name(hit.name) + "分值" + w + "分，自评得分" + s + "分，得分超过分值。")
    f = ctx.f
    hf = f[(f.exec_score_reported - f.exec_weight > score_tol).fillna(False)]
    w, s = _fmt(hf.exec_weight), _fmt(hf.exec_score_reported)
    b = _findings(hf, form_id=hf.form_id, line=hf.funding_line, field="exec_score_reported", expected="≤" + w,
                  found=s, message="预算执行率分值" + w + "分，得分" + s + "分，得分超过分值。")
    return pd.concat([a, b])


def _base_word(base: pd.Series) -> np.ndarray:
    """全年 for a rate on the full-year budget, 年初 on the initial one."""
    return np.where(base.eq("full_year").fillna(False).to_numpy(bool), "全年", "年初")


@rule("exec_score_mismatch")
def exec_score_mismatch(ctx: Context, exec_score_tol: float) -> pd.DataFrame:
    f = ctx.f
    by_stated = (f.exec_rate_reported / 100 * f.exec_weight).clip(upper=f.exec_weight)
    off = ((f.exec_score_reported - f.exec_score).abs() > exec_score_tol) & \
          ((f.exec_score_reported - by_stated).abs() > exec_score_tol)
    h = f[off.fillna(False)]
    x, s = _fmt(h.exec_score, 2), _fmt(h.exec_score_reported)
    msg = ("全年执行数" + _fmt(h.executed) + "万元÷" + _base_word(h.exec_base) + "预算数" + _fmt(h.budget)
           + "万元，执行率" + _fmt(h.exec_rate, 2) + "%，分值" + _fmt(h.exec_weight) + "分，应得" + x + "分，表中得分"
           + s + "分。")
    return _findings(h, form_id=h.form_id, line=h.funding_line, field="exec_score_reported", expected=x, found=s,
                     message=msg)


@rule("exec_rate_mismatch")
def exec_rate_mismatch(ctx: Context, exec_rate_tol: float) -> pd.DataFrame:
    f = ctx.f
    h = f[((f.exec_rate_reported - f.exec_rate).abs() > exec_rate_tol).fillna(False)]
    by_initial = _floats(h.executed / h.budget_initial * 100)
    # a rate that is executed ÷ 年初预算数 where the form prints a different 全年预算数
    on_initial = h.exec_base.eq("full_year").fillna(False).to_numpy(bool) & \
        (np.abs(by_initial - _floats(h.exec_rate_reported)) <= exec_rate_tol)
    r, rr = _fmt(h.exec_rate, 2), _fmt(h.exec_rate_reported)
    msg = ("全年执行数" + _fmt(h.executed) + "万元÷" + _base_word(h.exec_base) + "预算数" + _fmt(h.budget) + "万元="
           + r + "%，表中执行率为" + rr + "%"
           + np.where(on_initial, "（系按年初预算数计算，应按调整后的全年预算数计算）", "") + "。")
    return _findings(h, form_id=h.form_id, line=h.funding_line, field="exec_rate_reported", expected=r + "%",
                     found=rr + "%", message=msg)


@rule("exec_indicator_mismatch")
def exec_indicator_mismatch(ctx: Context, exec_indicator_tol: float) -> pd.DataFrame:
    ri, i = ctx.ri, ctx.indicators
    # ri is the indicators table row for row; an indicator without its form or number has no actual to compare
    actual = pd.Series(_floats(i.actual_value), index=ri.index).where(
        (i.form_id.notna() & i.seq.notna()).to_numpy(bool))
    execution = ri.status.eq("budget_execution").fillna(False)
    off = ((actual - _floats(ri.form_exec_rate)).abs() > exec_indicator_tol) & execution
    h = ri[off.to_numpy(bool)]
    r = _fmt(h.form_exec_rate, 2)
    msg = "指标“预算执行率”完成值填" + _txt(h.actual_raw, "<NA>") + "，但资金栏全年执行数÷预算数为" + r + "%。"
    return _findings(h, form_id=h.form_id, line=h.line, field="actual_raw", expected=r + "%", found=h.actual_raw,
                     message=msg)


@rule("total_mismatch")
def total_mismatch(ctx: Context, total_tol: float) -> pd.DataFrame:
    f = ctx.f
    only = f.total_basis.eq("indicators_only").fillna(False).to_numpy(bool)
    exec_part = np.where(only, 0.0, _floats(f.exec_score_reported))
    expected = _floats(f.indicator_score_reported) + exec_part
    off = np.abs(_floats(f.total_score_reported) - expected) > total_tol
    h = f[off]
    x = _fmt(expected[off], 2, "python", index=h.index)
    ind = _fmt(h.indicator_score_reported)
    how = np.where(only[off], "各指标得分合计" + ind + "分",
                   "预算执行率得分" + _fmt(h.exec_score_reported) + "分+各指标得分合计" + ind + "分=" + x + "分")
    t = _fmt(h.total_score_reported)
    return _findings(h, form_id=h.form_id, line=h.total_line, field="total_score_reported", expected=x, found=t,
                     message=how + "，总分栏填" + t + "分。")


@rule("weights_not_total")
def weights_not_total(ctx: Context, weight_tol: float) -> pd.DataFrame:
    f = ctx.f
    tw = f.total_weight_reported.fillna(thresholds()["full_marks"])
    with_exec = f.exec_weight.fillna(0) + f.indicator_weight
    off = ((with_exec - tw).abs() > weight_tol) & ((f.indicator_weight - tw).abs() > weight_tol)
    blank = f.exec_weight.isna() & f.funding_line.notna()  # a blank 分值 is missing_exec_figures, not a sum
    h = f[(off & ~blank).fillna(False)]
    w, i = _floats(h.exec_weight), _floats(h.indicator_weight)
    t = _fmt(tw[h.index])
    msg = ("预算执行率分值" + _fmt(h.exec_weight) + "分+各指标分值合计" + _fmt(h.indicator_weight) + "分="
           + _fmt(np.where(np.isnan(w), i, w + i), index=h.index) + "分，总分值为" + t + "分。")
    return _findings(h, form_id=h.form_id, line=h.total_line, field="weights", expected=t,
                     found=_fmt(with_exec[h.index]), message=msg)


@rule("grade_mismatch")
def grade_mismatch(ctx: Context) -> pd.DataFrame:
    f = ctx.f
    printed, own = f.grade_printed, f.grade_reported
    h = f[(printed.notna() & own.notna() & printed.ne(own)).fillna(False)]
    t, g, p = _fmt(h.total_score_reported), _txt(h.grade_reported), _txt(h.grade_printed)
    return _findings(h, form_id=h.form_id, line=h.total_line, field="grade_printed", expected=g, found=p,
                     message="总分" + t + "分，按等级档次应为“" + g + "”，表中等级填“" + p + "”。")


@rule("goal_score_above_points")
def goal_score_above_points(ctx: Context, score_tol: float) -> pd.DataFrame:
    i = ctx.indicators
    i = i[i.goal_no.notna() & i.goal_weight.notna() & i.score.notna()]
    g = i.groupby(["form_id", "goal_no"], sort=False).agg(line=("line", "min"), points=("goal_weight", "first"),
                                                           total=("score", "sum"), n=("score", "size"))
    h = g[g.total - g.points > score_tol].reset_index()
    p, t = _fmt(h.points), _fmt(h.total)
    msg = "年度绩效目标" + _ints(h.goal_no) + "标注" + p + "分，其下" + _ints(h.n) + "项指标得分合计" + t + "分。"
    return _findings(h, form_id=h.form_id, line=h.line, field="score", expected="≤" + p, found=t, message=msg)


@rule("exec_outside_total")
def exec_outside_total(ctx: Context, weight_tol: float) -> pd.DataFrame:
    f = ctx.f
    h = f[((f.total_basis == "indicators_only") & (f.exec_weight > weight_tol)).fillna(False)]
    t = _fmt(h.total_weight_reported.fillna(thresholds()["full_marks"]))
    w, i = _fmt(h.exec_weight), _fmt(h.indicator_weight)
    both = _fmt(_floats(h.exec_weight) + _floats(h.indicator_weight), index=h.index)
    msg = ("预算执行率分值" + w + "分列在资金栏，各指标分值合计已达" + i + "分，合计" + both + "分，超过总分值" + t
           + "分；总分未计入执行率得分。")
    return _findings(h, form_id=h.form_id, line=h.funding_line, field="exec_weight", expected="执行率+指标=" + t,
                     found=w + "+" + i, message=msg)


def _repr(values: pd.Series) -> pd.Series:
    """Numbers as Python prints them (10.0): the pattern that groups one template's findings."""
    return pd.Series(_map_unique(pd.Series(_floats(values)), lambda v: f"{v}", "<NA>"), index=values.index,
                     dtype="string")


def _level_weights(ctx: Context) -> pd.DataFrame:
    """Per (form, level, line of its printed points), in order of appearance: the points printed, the level's
    indicators' weights added up and counted. Grouped by the keys' codes, the keys then read from each group's
    first row (what a groupby on the text gives, without hashing a million ids again)."""
    ind = ctx.indicators
    fcode, lcode = ctx.codes("indicators", "form_id")[0], ctx.codes("indicators", "level1")[0]
    at = ind.level1_weight_line
    pos = np.flatnonzero(ind.level1_weight.notna().to_numpy(bool) & at.notna().to_numpy(bool) & (fcode >= 0)
                        & (lcode >= 0))
    g = pd.DataFrame({"f": fcode[pos], "l": lcode[pos], "at": at.to_numpy(dtype=np.int64, na_value=0)[pos],
                      "pos": pos, "printed": ind.level1_weight.array[pos], "weight": ind.weight.array[pos]}).groupby(
        ["f", "l", "at"], sort=False).agg(first=("pos", "first"), printed=("printed", "first"),
                                         total=("weight", "sum"), n=("weight", "size"))
    first = g["first"].to_numpy()
    return pd.DataFrame({"form_id": ind.form_id.array[first], "level1": ind.level1.array[first],
                         "level1_weight_line": at.array[first], "printed": g.printed.array,
                         "total": g.total.array, "n": g.n.to_numpy()})


@rule("level_weight_mismatch")
def level_weight_mismatch(ctx: Context, weight_tol: float) -> pd.DataFrame:
    g = _level_weights(ctx)
    h = g[(g.total - g.printed).abs() > weight_tol]
    p, t, lv = _fmt(h.printed), _fmt(h.total), _txt(h.level1, "<NA>")
    msg = lv + "标注" + p + "分，其下" + _ints(h.n) + "项指标分值合计" + t + "分。"
    return _findings(h, form_id=h.form_id, line=h.level1_weight_line, field="level1_weight", expected=p, found=t,
                     message=msg, pattern=lv + "|" + _repr(h.printed) + "|" + _repr(h.total))


_HEADER_WEIGHT = re.compile(r"分值\s*[（(]\s*\d+(\.\d+)?\s*分\s*[）)]")


def _header_weight(lines: dict[int, str], funding_line) -> bool:
    """Whether one of the three lines above the funding row prints the execution weight in its header."""
    if pd.isna(funding_line):
        return False
    return any(_HEADER_WEIGHT.search(_shown(lines.get(n)) or "")
               for n in range(max(1, int(funding_line) - 3), int(funding_line)))


@rule("missing_exec_figures")
def missing_exec_figures(ctx: Context) -> pd.DataFrame:
    """The funding row was read (amounts present) but its 分值 or 得分 cell is blank."""
    f = ctx.f
    has_row = (f.funding_line.notna() & f.executed.notna()).to_numpy(bool)
    no_w, no_s = f.exec_weight.isna().to_numpy(bool), f.exec_score_reported.isna().to_numpy(bool)
    # a header that prints the weight ("分值 (10分)", 固原市) leaves the cell blank by design
    files = ctx.sources(f.source_file[has_row & no_w]) if (has_row & no_w).any() else {}
    ask = np.flatnonzero(has_row & no_w & f.source_file.isin(list(files)).to_numpy(bool))
    if len(ask):
        no_w = no_w.copy()
        no_w[ask] = [not _header_weight(files[sf][0], ln)
                     for sf, ln in zip(f.source_file.iloc[ask].to_numpy(object),
                                       f.funding_line.iloc[ask].to_numpy(object), strict=True)]
    hit = has_row & (no_w | no_s)
    h = f[hit]
    w, s = no_w[hit], no_s[hit]
    fields = np.where(w & s, "分值、得分", np.where(w, "分值", "得分"))
    fields = pd.Series(fields, index=h.index, dtype="string")
    return _findings(h, form_id=h.form_id, line=h.funding_line, field="exec_score_reported", expected="填写",
                     found=fields + "未填", message="预算执行率栏未填" + fields + "。")


@rule("executed_above_budget")
def executed_above_budget(ctx: Context, money_tol: float) -> pd.DataFrame:
    f = ctx.f
    h = f[(f.executed - f.budget > money_tol).fillna(False)]
    b = _fmt(h.budget)
    return _findings(h, form_id=h.form_id, line=h.funding_line, field="executed", expected="≤" + b,
                     found=_fmt(h.executed), message="全年执行数" + _fmt(h.executed) + "万元超过预算数" + b + "万元。")


@rule("funding_lines_sum")
def funding_lines_sum(ctx: Context, money_tol: float) -> pd.DataFrame:
    fu = ctx.funding
    labels = {"budget_initial": "年初预算数", "budget_full_year": "全年预算数", "executed": "全年执行数"}
    fu = fu[["form_id", "fund_source", "label", "line", *labels]]
    parts = fu[fu.fund_source != "total"]
    total = fu[fu.fund_source == "total"].drop_duplicates("form_id").set_index("form_id")
    out = []
    all_sums = parts.groupby("form_id")[list(labels)].sum(min_count=1)
    at = _positions(all_sums.index, total.index)  # total.join(sums, how="inner")
    for col, label in labels.items():
        sums = all_sums[col]
        both = total[at >= 0].assign(parts=sums.to_numpy()[at[at >= 0]])
        bad = both[((both[col] - both.parts).abs() > money_tol).fillna(False)]
        if bad.empty:
            continue
        codes = _positions(bad.index, parts.form_id)
        keep = (codes >= 0) & parts[col].notna().to_numpy(bool)
        p, codes = parts[keep], codes[keep]
        items = _txt(p.label).str.replace(r"^其中[:：]", "", regex=True) + _fmt(p[col])
        terms = _group_join(codes, items.to_numpy(object), "+", len(bad))
        t, x = _fmt(bad[col]), _fmt(bad.parts)
        out.append(pd.DataFrame({
            "form_id": bad.index, "line": bad.line.to_numpy(), "field": col, "expected": x.array,
            "found": t.array,
            "message": _cat(label, "：资金总额", t, "万元，", terms, "=", x, "万元，两者不等。")}))
    return pd.concat(out) if out else pd.DataFrame()
