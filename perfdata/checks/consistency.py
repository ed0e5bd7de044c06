"""Consistency rules: figures of one form that disagree with each other."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from perfdata.checks.evidence import line_text
from perfdata.checks.registry import Context, _findings, _fmt, _name, _num, rule
from perfdata.scoring import thresholds

# -- consistency: figures of one form ---------------------------------------------------------------

@rule("score_above_weight")
def score_above_weight(ctx: Context, score_tol: float) -> pd.DataFrame:
    i = ctx.indicators
    hit = i[(i.score - i.weight > score_tol).fillna(False)]
    a = _findings(hit, form_id=hit.form_id, line=hit.line, field="score",
                  expected=["≤" + v for v in _fmt(hit.weight)], found=_fmt(hit.score))
    a["message"] = ("指标" + _name(hit.name) + "分值" + pd.Series(_fmt(hit.weight), index=hit.index) + "分，自评得分"
                    + pd.Series(_fmt(hit.score), index=hit.index) + "分，得分超过分值。")
    f = ctx.f
    hf = f[(f.exec_score_reported - f.exec_weight > score_tol).fillna(False)]
    b = _findings(hf, form_id=hf.form_id, line=hf.funding_line, field="exec_score_reported",
                  expected=["≤" + v for v in _fmt(hf.exec_weight)], found=_fmt(hf.exec_score_reported))
    b["message"] = [f"预算执行率分值{_num(w)}分，得分{_num(s)}分，得分超过分值。"
                    for w, s in zip(hf.exec_weight, hf.exec_score_reported, strict=True)]
    return pd.concat([a, b])


@rule("exec_score_mismatch")
def exec_score_mismatch(ctx: Context, exec_score_tol: float) -> pd.DataFrame:
    f = ctx.f
    by_stated = (f.exec_rate_reported / 100 * f.exec_weight).clip(upper=f.exec_weight)
    off = ((f.exec_score_reported - f.exec_score).abs() > exec_score_tol) & \
          ((f.exec_score_reported - by_stated).abs() > exec_score_tol)
    h = f[off.fillna(False)]
    msg = [f"全年执行数{_num(e)}万元÷{'全年' if b == 'full_year' else '年初'}预算数{_num(bud)}万元，"
           f"执行率{_num(round(r, 2))}%，分值{_num(w)}分，应得{_num(round(x, 2))}分，表中得分{_num(s)}分。"
           for e, b, bud, r, w, x, s in zip(h.executed, h.exec_base, h.budget, h.exec_rate, h.exec_weight,
                                            h.exec_score, h.exec_score_reported, strict=True)]
    return _findings(h, form_id=h.form_id, line=h.funding_line, field="exec_score_reported",
                     expected=[_num(round(x, 2)) for x in h.exec_score], found=_fmt(h.exec_score_reported),
                     message=msg)


@rule("exec_rate_mismatch")
def exec_rate_mismatch(ctx: Context, exec_rate_tol: float) -> pd.DataFrame:
    f = ctx.f
    h = f[((f.exec_rate_reported - f.exec_rate).abs() > exec_rate_tol).fillna(False)]
    by_initial = h.executed / h.budget_initial * 100
    msg = []
    for r, rr, e, bud, bi, base in zip(h.exec_rate, h.exec_rate_reported, h.executed, h.budget, by_initial,
                                       h.exec_base, strict=True):
        s = (f"全年执行数{_num(e)}万元÷{'全年' if base == 'full_year' else '年初'}预算数{_num(bud)}万元="
             f"{_num(round(r, 2))}%，表中执行率为{_num(rr)}%")
        if base == "full_year" and pd.notna(bi) and abs(bi - rr) <= exec_rate_tol:
            s += "（系按年初预算数计算，应按调整后的全年预算数计算）"
        msg.append(s + "。")
    return _findings(h, form_id=h.form_id, line=h.funding_line, field="exec_rate_reported",
                     expected=[_num(round(r, 2)) + "%" for r in h.exec_rate],
                     found=[v + "%" for v in _fmt(h.exec_rate_reported)], message=msg)


@rule("exec_indicator_mismatch")
def exec_indicator_mismatch(ctx: Context, exec_indicator_tol: float) -> pd.DataFrame:
    ri, i = ctx.ri, ctx.indicators
    actual = i.set_index(["form_id", "seq"])["actual_value"]
    ri = ri[ri.status == "budget_execution"].copy()
    ri["actual_value"] = [actual.get((a, b)) for a, b in zip(ri.form_id, ri.seq, strict=True)]
    h = ri[((ri.actual_value - ri.form_exec_rate).abs() > exec_indicator_tol).fillna(False)]
    msg = [f"指标“预算执行率”完成值填{a}，但资金栏全年执行数÷预算数为{_num(round(r, 2))}%。"
           for a, r in zip(h.actual_raw, h.form_exec_rate, strict=True)]
    return _findings(h, form_id=h.form_id, line=h.line, field="actual_raw",
                     expected=[_num(round(r, 2)) + "%" for r in h.form_exec_rate], found=h.actual_raw, message=msg)


@rule("total_mismatch")
def total_mismatch(ctx: Context, total_tol: float) -> pd.DataFrame:
    f = ctx.f
    exec_part = np.where(f.total_basis == "indicators_only", 0.0, f.exec_score_reported.astype(float))
    expected = f.indicator_score_reported.astype(float) + exec_part
    h = f[((f.total_score_reported - expected).abs() > total_tol).fillna(False)]
    e = pd.Series(expected, index=f.index)[h.index]
    msg = []
    for basis, x, ind, ex, t in zip(h.total_basis, e, h.indicator_score_reported, h.exec_score_reported,
                                    h.total_score_reported, strict=True):
        how = (f"各指标得分合计{_num(ind)}分" if basis == "indicators_only"
               else f"预算执行率得分{_num(ex)}分+各指标得分合计{_num(ind)}分={_num(round(x, 2))}分")
        msg.append(f"{how}，总分栏填{_num(t)}分。")
    return _findings(h, form_id=h.form_id, line=h.total_line, field="total_score_reported",
                     expected=[_num(round(x, 2)) for x in e], found=_fmt(h.total_score_reported), message=msg)


@rule("weights_not_total")
def weights_not_total(ctx: Context, weight_tol: float) -> pd.DataFrame:
    f = ctx.f
    tw = f.total_weight_reported.fillna(thresholds()["full_marks"])
    with_exec = f.exec_weight.fillna(0) + f.indicator_weight
    off = ((with_exec - tw).abs() > weight_tol) & ((f.indicator_weight - tw).abs() > weight_tol)
    blank = f.exec_weight.isna() & f.funding_line.notna()  # a blank 分值 is missing_exec_figures, not a sum
    h = f[(off & ~blank).fillna(False)]
    msg = [f"预算执行率分值{_num(w)}分+各指标分值合计{_num(i)}分={_num(w + i if pd.notna(w) else i)}分，"
           f"总分值为{_num(t)}分。"
           for w, i, t in zip(h.exec_weight, h.indicator_weight, tw[h.index], strict=True)]
    return _findings(h, form_id=h.form_id, line=h.total_line, field="weights",
                     expected=_fmt(tw[h.index]), found=_fmt(with_exec[h.index]), message=msg)


@rule("exec_outside_total")
def exec_outside_total(ctx: Context, weight_tol: float) -> pd.DataFrame:
    f = ctx.f
    h = f[((f.total_basis == "indicators_only") & (f.exec_weight > weight_tol)).fillna(False)]
    tw = h.total_weight_reported.fillna(thresholds()["full_marks"])
    msg = [f"预算执行率分值{_num(w)}分列在资金栏，各指标分值合计已达{_num(i)}分，合计{_num(w + i)}分，"
           f"超过总分值{_num(t)}分；总分未计入执行率得分。"
           for w, i, t in zip(h.exec_weight, h.indicator_weight, tw, strict=True)]
    return _findings(h, form_id=h.form_id, line=h.funding_line, field="exec_weight",
                     expected=[f"执行率+指标={_num(t)}" for t in tw],
                     found=[f"{_num(w)}+{_num(i)}" for w, i in zip(h.exec_weight, h.indicator_weight, strict=True)],
                     message=msg)


@rule("level_weight_mismatch")
def level_weight_mismatch(ctx: Context, weight_tol: float) -> pd.DataFrame:
    i = ctx.indicators[ctx.indicators.level1_weight.notna()]
    g = i.groupby(["form_id", "level1", "level1_weight_line"], sort=False).agg(
        printed=("level1_weight", "first"), total=("weight", "sum"), n=("weight", "size")).reset_index()
    h = g[(g.total - g.printed).abs() > weight_tol]
    msg = [f"{lv}标注{_num(p)}分，其下{n}项指标分值合计{_num(t)}分。"
           for lv, p, n, t in zip(h.level1, h.printed, h.n, h.total, strict=True)]
    return _findings(h, form_id=h.form_id, line=h.level1_weight_line, field="level1_weight",
                     expected=_fmt(h.printed), found=_fmt(h.total), message=msg,
                     pattern=[f"{lv}|{p}|{t}" for lv, p, t in zip(h.level1, h.printed, h.total, strict=True)])


_HEADER_WEIGHT = re.compile(r"分值\s*[（(]\s*\d+(\.\d+)?\s*分\s*[）)]")


def _header_weight(raw_dir, source_file, funding_line) -> bool:
    """Whether one of the three lines above the funding row prints the execution weight in its header."""
    if raw_dir is None or pd.isna(funding_line):
        return False
    return any(_HEADER_WEIGHT.search(line_text(raw_dir, source_file, n) or "")
               for n in range(max(1, int(funding_line) - 3), int(funding_line)))


@rule("missing_exec_figures")
def missing_exec_figures(ctx: Context) -> pd.DataFrame:
    """The funding row was read (amounts present) but its 分值 or 得分 cell is blank."""
    f = ctx.f
    has_row = f.funding_line.notna() & f.executed.notna()
    no_w, no_s = f.exec_weight.isna(), f.exec_score_reported.isna()
    # a header that prints the weight ("分值 (10分)", 固原市) leaves the cell blank by design
    no_w &= ~pd.Series([_header_weight(ctx.raw_dir, sf, ln) for sf, ln in zip(f.source_file, f.funding_line,
                                                                                 strict=True)], index=f.index)
    h = f[(has_row & (no_w | no_s)).fillna(False)]
    fields = ["、".join(x for x, m in (("分值", w), ("得分", s)) if m)
              for w, s in zip(no_w[h.index], no_s[h.index], strict=True)]
    return _findings(h, form_id=h.form_id, line=h.funding_line, field="exec_score_reported", expected="填写",
                     found=[f"{x}未填" for x in fields], message=[f"预算执行率栏未填{x}。" for x in fields])


@rule("executed_above_budget")
def executed_above_budget(ctx: Context, money_tol: float) -> pd.DataFrame:
    f = ctx.f
    h = f[(f.executed - f.budget > money_tol).fillna(False)]
    msg = [f"全年执行数{_num(e)}万元超过预算数{_num(b)}万元。" for e, b in zip(h.executed, h.budget, strict=True)]
    return _findings(h, form_id=h.form_id, line=h.funding_line, field="executed",
                     expected=["≤" + v for v in _fmt(h.budget)], found=_fmt(h.executed), message=msg)


@rule("funding_lines_sum")
def funding_lines_sum(ctx: Context, money_tol: float) -> pd.DataFrame:
    fu = ctx.funding
    parts = fu[fu.fund_source != "total"]
    total = fu[fu.fund_source == "total"].drop_duplicates("form_id").set_index("form_id")
    labels = {"budget_initial": "年初预算数", "budget_full_year": "全年预算数", "executed": "全年执行数"}
    out = []
    for col, label in labels.items():
        sums = parts.groupby("form_id")[col].sum(min_count=1).rename("parts")
        both = total.join(sums, how="inner")
        bad = both[((both[col] - both.parts).abs() > money_tol).fillna(False)]
        if bad.empty:
            continue
        p = parts[parts.form_id.isin(bad.index) & parts[col].notna()]
        terms = (p.label.astype(object).fillna("").str.replace(r"^其中[:：]", "", regex=True) + pd.Series(
            _fmt(p[col]), index=p.index)).groupby(p.form_id).agg("+".join)
        out.append(pd.DataFrame({
            "form_id": bad.index, "line": bad.line.to_numpy(), "field": col, "expected": _fmt(bad.parts),
            "found": _fmt(bad[col]),
            "message": [f"{label}：资金总额{_num(t)}万元，{terms.get(fid, '')}={_num(x)}万元，两者不等。"
                        for fid, t, x in zip(bad.index, bad[col], bad.parts, strict=True)]}))
    return pd.concat(out) if out else pd.DataFrame()
