"""Completeness and quality rules of one form: what is missing, weak target setting and self-scoring."""

from __future__ import annotations

import re
from difflib import SequenceMatcher

import numpy as np
import pandas as pd

from perfdata import schema
from perfdata.checks.evidence import line_text
from perfdata.checks.registry import Context, _findings, _fmt, _num, rule
from perfdata.keys import project_key
from perfdata.normalize import DASHES, key

_TRIVIAL_NOTE = {"", "无", "没有", "暂无", "/", "—", "-", "——", "无偏差", "不存在偏差"}
_DONE_WORDS = {"完成", "已完成", "全部完成", "完成目标", "已达到", "达到", "是", "已完成目标"}
_DOC_NO = re.compile(r"[\[〔(（【]\s*(\d{4})\s*[\]〕)）】]\s*(\d+)\s*号")

# -- completeness and quality of one form -----------------------------------------------------------

def _has_note(notes: pd.Series) -> pd.Series:
    return pd.Series([bool(t) and key(t) not in _TRIVIAL_NOTE and key(t) not in DASHES
                      for t in notes.astype(object).where(notes.notna(), "")], index=notes.index, dtype=bool)


@rule("low_exec_unexplained")
def low_exec_unexplained(ctx: Context, exec_rate_threshold: float) -> pd.DataFrame:
    f = ctx.f
    noted = ctx.indicators.assign(n=_has_note(ctx.indicators.deviation_note)).groupby("form_id")["n"].any()
    explained = f.form_id.map(noted).fillna(False).astype(bool) | _has_note(f.notes)
    h = f[((f.exec_rate < exec_rate_threshold) & ~explained).fillna(False)]
    msg = [f"执行率{_num(round(r, 2))}%，低于{_num(exec_rate_threshold)}%，偏差原因栏未说明原因。" for r in h.exec_rate]
    return _findings(h, form_id=h.form_id, line=h.funding_line, field="deviation_note",
                     expected="说明执行率偏低的原因", found="未说明", message=msg)


@rule("full_score_despite_shortfall")
def full_score_despite_shortfall(ctx: Context, exec_rate_threshold: float, near_full: float,
                                 score_tol: float) -> pd.DataFrame:
    ri = ctx.ri
    h = ri[ri.status.isin(["unmet", "over_ceiling"]) & (ri.score >= ri.weight - score_tol).fillna(False)]
    a = _findings(h, form_id=h.form_id, line=h.line, field="score", expected=[_num(round(x, 2)) for x in h.rescore],
                  found=_fmt(h.score))
    a["message"] = [f"指标“{n}”目标{t}、完成{c}，未达目标仍得满分{_num(s)}分（按规则应得{_num(round(x, 2))}分）。"
                    for n, t, c, s, x in zip(h.name, h.target_raw, h.actual_raw, h.score, h.rescore, strict=True)]
    f = ctx.f
    share = f.indicator_score_reported / f.indicator_weight * 100
    hf = f[((f.exec_rate < exec_rate_threshold) & (share >= near_full)).fillna(False)]
    b = _findings(hf, form_id=hf.form_id, line=hf.total_line, field="total_score_reported",
                  expected=f"执行率低于{_num(exec_rate_threshold)}%时指标得分应相应扣减",
                  found=_fmt(hf.total_score_reported))
    b["message"] = [f"执行率仅{_num(round(r, 2))}%，各指标仍得{_num(s)}分（满分{_num(w)}分），"
                    f"总分{_num(t)}分，自评偏高。"
                    for r, s, w, t in zip(hf.exec_rate, hf.indicator_score_reported, hf.indicator_weight,
                                          hf.total_score_reported, strict=True)]
    return pd.concat([a, b])


@rule("self_score_above_rescore")
def self_score_above_rescore(ctx: Context, rescore_gap: float) -> pd.DataFrame:
    f = ctx.f
    h = f[(f.total_score_reported - f.total_rescore_max > rescore_gap).fillna(False)]
    msg = [f"自评总分{_num(t)}分（{g}），按规则复核最多{_num(round(x, 2))}分（{gr}）。"
           for t, g, x, gr in zip(h.total_score_reported, h.grade_reported, h.total_rescore_max, h.grade_rescored,
                                  strict=True)]
    return _findings(h, form_id=h.form_id, line=h.total_line, field="total_score_reported",
                     expected=["≤" + _num(round(x, 2)) for x in h.total_rescore_max],
                     found=_fmt(h.total_score_reported), message=msg)


def _doc_numbers(text) -> frozenset:
    return frozenset(_DOC_NO.findall(text)) if isinstance(text, str) else frozenset()


_TITLE_FRAME = [re.compile(p) for p in (r"^.*本级部门", r"^[#\s]*((19|20)\d{2}\s*年度?)?", r"(项目)?支出绩效自评表.*$")]


def _title_name(title) -> str | None:
    """The project name a title carries ("2024年人才交流中心档案经费项目支出绩效自评表" → 人才交流中心档案经费); None
    for a bare "项目支出绩效自评表"."""
    if not isinstance(title, str):
        return None
    for frame in _TITLE_FRAME:
        title = frame.sub("", title)
    t = project_key(title)
    return None if t is None or re.fullmatch(r"(某+|[x×*]+)", t) else t  # a template's "某某项目…" names nothing


def _far_apart(title, name, least: float) -> bool:
    t, n = _title_name(title), project_key(name) if isinstance(name, str) else None
    if not t or not n or t in n or n in t:
        return False
    return SequenceMatcher(None, t, n).ratio() < least


@rule("title_name_mismatch")
def title_name_mismatch(ctx: Context, title_similarity: float) -> pd.DataFrame:
    """Different document numbers, or a title that names another project (neither name holds the other and
    they share little: 人才交流中心档案经费 / 档案管理)."""
    f = ctx.f
    t_no, n_no = f.title.map(_doc_numbers), f.project_name.map(_doc_numbers)
    numbers = pd.Series([bool(a) and bool(b) and not (a <= b or b <= a) for a, b in zip(t_no, n_no, strict=True)],
                        index=f.index, dtype=bool)
    names = pd.Series([_far_apart(t, n, title_similarity) for t, n in zip(f.title, f.project_name, strict=True)],
                      index=f.index, dtype=bool)
    h = f[numbers | names]
    msg = [f"表题“{t}”与项目名称“{n}”的{'文号' if by_no else '项目名称'}不同。"
           for t, n, by_no in zip(h.title, h.project_name, numbers[h.index], strict=True)]
    return _findings(h, form_id=h.form_id, line=h.line_start, field="project_name", expected=h.title,
                     found=h.project_name, message=msg)


@rule("missing_department_unit")
def missing_department_unit(ctx: Context) -> pd.DataFrame:
    f = ctx.f
    no_dept = f.department.isna() | f.department_inferred.fillna(False)
    no_unit = f.unit.isna() | f.unit_inferred.fillna(False)
    h = f[no_dept | no_unit]
    fields = ["、".join(x for x, m in (("主管部门", d), ("实施单位", u)) if m)
              for d, u in zip(no_dept[h.index], no_unit[h.index], strict=True)]
    return _findings(h, form_id=h.form_id, line=h.line_start, field="department/unit", expected="填写",
                     found=[f"{x}未填" for x in fields], message=[f"自评表未填{x}。" for x in fields],
                     locate="主管部门")


@rule("duplicate_forms")
def duplicate_forms(ctx: Context, money_tol: float) -> pd.DataFrame:
    f = ctx.f.assign(pkey=ctx.f.project_name.fillna("").map(key)).sort_values(["source_file", "line_start"])
    f = f[f.pkey != ""]
    g = f.groupby([f.region.fillna(""), f.year.fillna(0), f.pkey], sort=False)
    later = g.cumcount() > 0
    if not later.any():
        return pd.DataFrame()
    cols = ["line_start", "executed", "budget_initial", "budget_full_year"]
    first = g[cols].transform("first")
    h, fh = f[later], first[later]
    same = pd.Series(True, index=h.index)
    for c in ("budget_initial", "budget_full_year", "executed"):
        same &= ((h[c].fillna(0) - fh[c].fillna(0)).abs() <= money_tol).fillna(False)
    kind = np.where(same, "内容相同，疑似重复填报", "金额不同，项目名称可能填错")
    msg = [f"项目“{n}”（执行数{_num(e)}万元）与第{int(ln)}行的自评表（执行数{_num(e0)}万元）同名，{k}。"
           for n, e, ln, e0, k in zip(h.project_name, h.executed, fh.line_start, fh.executed, kind, strict=True)]
    return _findings(h, form_id=h.form_id, line=h.line_start, field="project_name", expected="项目名称唯一",
                     found=[f"与第{int(x)}行的表同名" for x in fh.line_start], message=msg, locate="项目名称")


def _per_form(hits: pd.DataFrame, items: pd.Series, field: str, expected: str, what: str) -> pd.DataFrame:
    """Indicator-level hits gathered into one finding per form (line = the first hit); `items` names each hit."""
    if hits.empty:
        return pd.DataFrame()
    g = (pd.DataFrame({"form_id": hits.form_id.astype(object), "line": hits.line.astype(float),
                       "item": items.astype(object)})
         .sort_values("line", kind="stable").groupby("form_id", sort=False)
         .agg(line=("line", "first"), n=("item", "size"), found=("item", "；".join)).reset_index())
    g["field"], g["expected"] = field, expected
    g["message"] = g.n.astype(str) + f"项指标{what}：" + g.found + "。"
    return g.drop(columns="n")


def _quoted(names: pd.Series) -> pd.Series:
    return "“" + names.astype(object).where(names.notna(), "（未填名称）").astype(str) + "”"


def _txt(s: pd.Series) -> pd.Series:
    return s.astype(object).where(s.notna(), "").astype(str)


def _target_findings(hits: pd.DataFrame, ctx: Context, expected: str, what) -> pd.DataFrame:
    """Findings on 绩效目标表 indicators (targets only, no form): form_id null, the table's id in `field`."""
    if hits.empty:
        return pd.DataFrame()
    t = ctx.tables.get("targets", schema.frame("targets", [])).set_index("target_id")
    no = hits.target_id.map(t.table_no) if "table_no" in t else pd.Series(None, index=hits.index)
    title = hits.target_id.map(t.project_name).fillna(hits.target_id.map(t.title))
    # one cell per line: the line holding the target (or the name) rather than the row's first line
    line = [next((n for n in range(int(r.line), int(r.line_end if pd.notna(r.line_end) else r.line) + 1)
                  if key(word) in key(line_text(ctx.raw_dir, r.source_file, n) or "")), r.line)
            if ctx.raw_dir is not None and isinstance(word, str) else r.line
            for r, word in zip(hits.itertuples(), hits.target_raw.where(hits.target_raw.notna(), hits.level3),
                               strict=True)]
    return pd.DataFrame({
        "form_id": None, "source_file": hits.source_file, "line": line, "project_name": title,
        "field": "target_raw[" + hits.target_id.astype(str) + "]", "expected": expected,
        "found": _txt(hits.target_raw).where(hits.target_raw.notna(), "未填"),
        "message": [f"绩效目标表{'' if pd.isna(n) else f'（表{int(n)}）'}“{tt}”：{what(r)}"
                    for n, tt, r in zip(no, title, hits.itertuples(), strict=True)]})


# cell text that stands where a target should be: a template's instruction left in place
_PLACEHOLDERS = {"文字描述", "定性描述", "定量", "定性", "指标值", "填写", "详见附件"}


@rule("target_copies_name")
def target_copies_name(ctx: Context) -> pd.DataFrame:
    i = ctx.indicators
    h = i[(i.name.fillna("").map(key) == i.target_raw.fillna("").map(key)) & i.name.notna()]
    out = _per_form(h, _quoted(h.name), "target_raw", "可衡量的指标值", "的年度指标值照抄指标名称")
    ti = ctx.tables.get("target_indicators")
    if ti is not None and not ti.empty:
        tk = ti.target_raw.fillna("").map(key)
        th = ti[(tk != "") & ((tk == ti.level3.fillna("").map(key)) | (tk == ti.description.fillna("").map(key)))]
        out = pd.concat([out, _target_findings(th, ctx, "可衡量的指标值", lambda r: (
            f"指标“{r.level3}”的指标值“{r.target_raw}”照抄指标名称或描述，没有可衡量的目标。"))])
    return out


@rule("actual_only_done")
def actual_only_done(ctx: Context) -> pd.DataFrame:
    i = ctx.indicators
    h = i[i.actual_raw.fillna("").map(key).isin(_DONE_WORDS) & ~i.is_budget_execution.fillna(False)]
    return _per_form(h, _quoted(h.name), "actual_raw", "实际完成数据", "的完成值仅填“完成”")


@rule("actual_restates_target")
def actual_restates_target(ctx: Context, restate_min_chars: float) -> pd.DataFrame:
    """A copied sentence, or a range (≥95%) as the actual; one short word (及时/及时) reads as achieved."""
    i, ri = ctx.indicators, ctx.ri
    t_key = i.target_raw.fillna("").map(key)
    same = (i.actual_raw.fillna("").map(key) == t_key) & (t_key.str.len() >= restate_min_chars) & \
        ~t_key.str.contains(r"\d", regex=True)
    ranged = ri.reason.eq("完成值为区间（如“≥95%”），不是实际数").fillna(False).to_numpy()
    qual = ~i.quantitative.fillna(False)
    h = i[((same & qual) | ranged) & i.actual_raw.notna() & ~i.actual_raw.fillna("").map(key).isin(_DONE_WORDS)]
    return _per_form(h, _quoted(h.name) + _txt(h.target_raw) + "/" + _txt(h.actual_raw), "actual_raw",
                     "实际完成情况", "的完成值照抄指标值")


@rule("qualitative_only_outputs")
def qualitative_only_outputs(ctx: Context) -> pd.DataFrame:
    i = ctx.indicators[ctx.indicators.level1 == "产出指标"]
    g = i.groupby("form_id").agg(q=("quantitative", lambda s: bool(s.fillna(False).any())), line=("line", "min"),
                                 n=("line", "size"))
    h = g[~g.q].reset_index()
    out = _findings(h, form_id=h.form_id, line=h.line, field="target_raw", expected="至少一项定量产出指标",
                    found=[f"{n}项产出指标均为定性" for n in h.n],
                    message=[f"{n}项产出指标均无可量化的指标值。" for n in h.n])
    ti = ctx.tables.get("target_indicators")
    if ti is not None and not ti.empty:
        o = ti[ti.level1 == "产出指标"]
        q = o.groupby("target_id").quantitative.transform(lambda s: bool(s.fillna(False).any()))
        first = o[~q.astype(bool)].sort_values("line").drop_duplicates("target_id")
        n = o.groupby("target_id").size()
        out = pd.concat([out, _target_findings(first, ctx, "至少一项定量产出指标", lambda r: (
            f"{n[r.target_id]}项产出指标均无可量化的指标值。"))])
    return out


@rule("missing_target")
def missing_target(ctx: Context) -> pd.DataFrame:
    """A weighted indicator without a target, or without a name (a row that reads only '指标2:')."""
    i = ctx.indicators
    empty = i.target_raw.isna() | i.target_raw.fillna("").map(key).isin(DASHES)
    h = i[(empty | i.name.isna()) & (i.weight > 0).fillna(False)]
    items = _quoted(h.name) + np.where(h.target_raw.isna(), "未填指标值", "（指标值" + _txt(h.target_raw) + "）")
    out = _per_form(h, items, "target_raw", "年度指标值和指标名称", "未填年度指标值或指标名称")
    ti = ctx.tables.get("target_indicators")
    if ti is not None and not ti.empty:
        tk = ti.target_raw.fillna("").map(key)
        th = ti[ti.target_raw.isna() | tk.isin(DASHES) | tk.isin(_PLACEHOLDERS) | ti.level3.isna()]
        out = pd.concat([out, _target_findings(th, ctx, "年度指标值和指标名称", lambda r: (
            f"指标“{r.level3 if isinstance(r.level3, str) else '（未填名称）'}”"
            + (f"的指标值只写“{r.target_raw}”，未设定目标值。" if isinstance(r.target_raw, str) else "未填指标值。")))])
    return out


@rule("deducted_without_reason")
def deducted_without_reason(ctx: Context, score_tol: float) -> pd.DataFrame:
    """Points lost on an unmet indicator; a deduction inside the achieved band (28 of 30) needs no reason."""
    i = ctx.indicators.reset_index(drop=True)
    ri = ctx.ri.reset_index(drop=True)
    unmet = ri.status.isin(["unmet", "over_ceiling", "partial", "not_achieved", "not_comparable"]) | \
        (ri.score < ri.rescore_min - score_tol).fillna(False)
    h = i[(i.weight - i.score > score_tol).fillna(False) & ~_has_note(i.deviation_note) & unmet.fillna(False)
          & ri.status.ne("budget_execution").fillna(True)]
    items = _quoted(h.name) + pd.Series(_fmt(h.score), index=h.index) + "/" + \
        pd.Series(_fmt(h.weight), index=h.index) + "分"
    return _per_form(h, items, "deviation_note", "说明扣分原因", "扣分但未说明偏差原因")


@rule("all_full_marks")
def all_full_marks(ctx: Context) -> pd.DataFrame:
    """Full marks everywhere while most actuals carry no figure that shows the target met."""
    i = ctx.indicators.reset_index(drop=True)
    verified = ctx.ri.reset_index(drop=True).status.isin(["met", "budget_execution"])
    i = i.assign(full=(i.score >= i.weight).fillna(False), verified=verified)[i.weight.notna()]
    g = i.groupby("form_id").agg(full=("full", "all"), n=("full", "size"), line=("line", "min"),
                                 verified=("verified", "mean"))
    h = g[g.full & (g.n >= 3) & (g.verified < 0.5)].reset_index()
    return _findings(h, form_id=h.form_id, line=h.line, field="score", expected="按实际完成情况评分",
                     found=[f"{n}项指标全部满分" for n in h.n], message=[f"{n}项指标全部满分。" for n in h.n])
