"""Completeness and quality rules of one form: what is missing, weak target setting and self-scoring."""

from __future__ import annotations

import re
from difflib import SequenceMatcher

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from perfdata import rules
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
    _ngroup,
    _num,
    _positions,
    _txt,
    rule,
)
from perfdata.keys import project_key
from perfdata.normalize import DASHES, key
from perfdata.scoring import _arrow_text


def _reason_phrases(kind: str) -> frozenset[str]:
    """The key() of every `phrase` row of one kind in rules/reason_phrases.csv: the one word list of the rules on
    偏差原因 (here a missing reason, in narrative.py a vague one or one that contradicts the figures)."""
    return frozenset(key(r["pattern"]) for r in rules.table("reason_phrases.csv")
                     if r["kind"] == kind and r["how"] == "phrase")


_TRIVIAL_NOTE = {""} | _reason_phrases("none")  # a note of only these is no reason (rules/reason_phrases.csv)
_DONE_WORDS = {"完成", "已完成", "全部完成", "完成目标", "已达到", "达到", "是", "已完成目标"}
_DOC_NO = re.compile(r"[\[〔(（【]\s*(\d{4})\s*[\]〕)）】]\s*(\d+)\s*号")

# -- completeness and quality of one form -----------------------------------------------------------

def _has_note(notes: pd.Series) -> pd.Series:
    real = _map_unique(notes, lambda t: bool(t) and key(t) not in _TRIVIAL_NOTE and key(t) not in DASHES, False)
    return pd.Series(real.astype(bool), index=notes.index, dtype=bool)


def _keys(text: pd.Series) -> pd.Series:
    """key() of every cell (null → ""), computed once per distinct text."""
    return pd.Series(_map_unique(text, key, ""), index=text.index, dtype=object)


def _key_ids(ctx: Context, table: str, col: str) -> np.ndarray:
    """key() of every cell of a column of the run's tables (null → "") as a number: equal keys, equal numbers,
    in every column (one vocabulary per run). key() runs once per distinct text; the rules compare numbers."""
    def make():
        vocab = ctx.memo("key_vocab", dict)
        codes, uniq = pd.factorize(ctx.table(table)[col])
        ids = [vocab.setdefault(key(u), len(vocab)) for u in uniq]
        return np.array([*ids, vocab.setdefault("", len(vocab))], dtype=np.int64)[codes]
    return ctx.memo(("key_ids", table, col), make)


def _key_in(ctx: Context, ids: np.ndarray, words) -> np.ndarray:
    """Which cells' keys (_key_ids) are one of `words`."""
    vocab = ctx.memo("key_vocab", dict)
    return np.isin(ids, [vocab[w] for w in words if w in vocab])


def _key_test(ctx: Context, ids: np.ndarray, test) -> np.ndarray:
    """test(key) of every cell's key (_key_ids), run once per key of the vocabulary."""
    keys = list(ctx.memo("key_vocab", dict))
    return np.array([bool(test(k)) for k in keys], dtype=bool)[ids] if keys else np.zeros(len(ids), dtype=bool)


def _noted(ctx: Context) -> pd.Series:
    """Which indicators state a reason for a deviation (偏差原因 with content)."""
    return ctx.memo("noted", lambda: _has_note(ctx.indicators.deviation_note))


@rule("low_exec_unexplained")
def low_exec_unexplained(ctx: Context, exec_rate_threshold: float) -> pd.DataFrame:
    f = ctx.f
    fcode, forms = ctx.codes("indicators", "form_id")  # a form noted where any of its indicators is
    noted = np.bincount(fcode[(fcode >= 0) & _noted(ctx).to_numpy(bool)], minlength=len(forms)) > 0
    at = _positions(forms, f.form_id)
    by_form = np.r_[noted, False]  # position -1: a form without indicators
    explained = pd.Series(by_form[at], index=f.index) | _has_note(f.notes)
    h = f[((f.exec_rate < exec_rate_threshold) & ~explained).fillna(False)]
    msg = "执行率" + _fmt(h.exec_rate, 2) + f"%，低于{_num(exec_rate_threshold)}%，偏差原因栏未说明原因。"
    return _findings(h, form_id=h.form_id, line=h.funding_line, field="deviation_note",
                     expected="说明执行率偏低的原因", found="未说明", message=msg)


@rule("full_score_despite_shortfall")
def full_score_despite_shortfall(ctx: Context, exec_rate_threshold: float, near_full: float,
                                 score_tol: float) -> pd.DataFrame:
    ri = ctx.ri
    h = ri[ri.status.isin(["unmet", "over_ceiling"]) & (ri.score >= ri.weight - score_tol).fillna(False)]
    x, s = _fmt(h.rescore, 2), _fmt(h.score)
    a = _findings(h, form_id=h.form_id, line=h.line, field="score", expected=x, found=s)
    a["message"] = ("指标“" + _txt(h.name, "<NA>") + "”目标" + _txt(h.target_raw, "<NA>") + "、完成"
                    + _txt(h.actual_raw, "<NA>") + "，未达目标仍得满分" + s + "分（按规则应得" + x + "分）。")
    f = ctx.f
    share = f.indicator_score_reported / f.indicator_weight * 100
    hf = f[((f.exec_rate < exec_rate_threshold) & (share >= near_full)).fillna(False)]
    t = _fmt(hf.total_score_reported)
    b = _findings(hf, form_id=hf.form_id, line=hf.total_line, field="total_score_reported",
                  expected=f"执行率低于{_num(exec_rate_threshold)}%时指标得分应相应扣减", found=t)
    b["message"] = ("执行率仅" + _fmt(hf.exec_rate, 2) + "%，各指标仍得" + _fmt(hf.indicator_score_reported)
                    + "分（满分" + _fmt(hf.indicator_weight) + "分），总分" + t + "分，自评偏高。")
    return pd.concat([a, b])


@rule("self_score_above_rescore")
def self_score_above_rescore(ctx: Context, rescore_gap: float) -> pd.DataFrame:
    f = ctx.f
    # (a form that prints no 分值 for its indicators, 湖北's, has no points to rescore them against)
    h = f[((f.total_score_reported - f.total_rescore_max > rescore_gap) & (f.indicator_weight > 0)).fillna(False)]
    t, x = _fmt(h.total_score_reported), _fmt(h.total_rescore_max, 2)
    msg = ("自评总分" + t + "分（" + _txt(h.grade_reported, "<NA>") + "），按规则复核最多" + x + "分（"
           + _txt(h.grade_rescored, "<NA>") + "）。")
    return _findings(h, form_id=h.form_id, line=h.total_line, field="total_score_reported", expected="≤" + x,
                     found=t, message=msg)


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


def _title_test(title, name, least: float) -> tuple[bool, bool]:
    """(the document numbers differ, the names are far apart) for one title and project name."""
    a, b = _doc_numbers(title), _doc_numbers(name)
    return bool(a) and bool(b) and not (a <= b or b <= a), _far_apart(title, name, least)


@rule("title_name_mismatch")
def title_name_mismatch(ctx: Context, title_similarity: float) -> pd.DataFrame:
    """Different document numbers, or a title that names another project (neither name holds the other and
    they share little: 人才交流中心档案经费 / 档案管理)."""
    f = ctx.f
    # one test per distinct (title, name): forms of one template repeat them
    codes = _ngroup(f.title, f.project_name)  # numbered in order of appearance: a pair's first row
    first = np.unique(codes, return_index=True)[1]
    pairs = zip(f.title.iloc[first].to_numpy(object), f.project_name.iloc[first].to_numpy(object), strict=True)
    tests = np.array([_title_test(t, n, title_similarity) for t, n in pairs], dtype=bool).reshape(-1, 2)[codes]
    numbers, names = tests[:, 0], tests[:, 1]
    hit = numbers | names
    h = f[hit]
    what = np.where(numbers[hit], "文号", "项目名称")
    msg = "表题“" + _txt(h.title, "<NA>") + "”与项目名称“" + _txt(h.project_name, "<NA>") + "”的" + what + "不同。"
    return _findings(h, form_id=h.form_id, line=h.line_start, field="project_name", expected=h.title,
                     found=h.project_name, message=msg)


def _two(a: np.ndarray, b: np.ndarray, first: str, second: str) -> np.ndarray:
    """Which of two things is missing, as "first、second", "first" or "second" (one of a, b is true)."""
    return np.where(a & b, f"{first}、{second}", np.where(a, first, second))


@rule("missing_department_unit")
def missing_department_unit(ctx: Context) -> pd.DataFrame:
    f = ctx.f
    no_dept = (f.department.isna() | f.department_inferred.fillna(False)).to_numpy(bool)
    no_unit = (f.unit.isna() | f.unit_inferred.fillna(False)).to_numpy(bool)
    hit = no_dept | no_unit
    h = f[hit]
    fields = pd.Series(_two(no_dept[hit], no_unit[hit], "主管部门", "实施单位"), index=h.index, dtype="string")
    return _findings(h, form_id=h.form_id, line=h.line_start, field="department/unit", expected="填写",
                     found=fields + "未填", message="自评表未填" + fields + "。", locate="主管部门")


@rule("duplicate_forms")
def duplicate_forms(ctx: Context, money_tol: float) -> pd.DataFrame:
    f = ctx.f.assign(pkey=_keys(ctx.f.project_name)).sort_values(["source_file", "line_start"])
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
    ln = _ints(fh.line_start)
    msg = ("项目“" + _txt(h.project_name, "<NA>") + "”（执行数" + _fmt(h.executed) + "万元）与第" + ln
           + "行的自评表（执行数" + _fmt(fh.executed) + "万元）同名，" + kind + "。")
    return _findings(h, form_id=h.form_id, line=h.line_start, field="project_name", expected="项目名称唯一",
                     found="与第" + ln + "行的表同名", message=msg, locate="项目名称")


def _by_form_id(ctx: Context, g: pd.DataFrame) -> pd.DataFrame:
    """Rows grouped by the indicators' form codes as a groupby on form_id gives them: form_id first, sorted by
    it, a null id (code -1) left out."""
    codes, forms = ctx.codes("indicators", "form_id")
    g = g[g.index >= 0]
    out = g.reset_index(drop=True)
    out.insert(0, "form_id", forms.take(g.index.to_numpy()))
    return out.sort_values("form_id", kind="stable", ignore_index=True)


def _per_form(hits: pd.DataFrame, items: pd.Series, field: str, expected: str, what: str) -> pd.DataFrame:
    """Indicator-level hits gathered into one finding per form (line = the first hit); `items` names each hit."""
    if hits.empty:
        return pd.DataFrame()
    line = _floats(hits.line)
    order = np.argsort(line, kind="stable")  # NaN last, as sort_values puts it
    codes, uniq = pd.factorize(hits.form_id.iloc[order])
    keep = codes >= 0
    codes, line = codes[keep], line[order][keep]
    items = _arrow_text(items).take(pa.array(order[keep]))
    n = np.bincount(codes, minlength=len(uniq))
    # the codes number the forms in order of their first (lowest) line, a form without lines last
    lines = line[np.unique(codes, return_index=True)[1]] if len(codes) else np.array([], dtype=float)
    found = _group_join(codes, items, "；", len(uniq), arrow=True)
    g = pd.DataFrame({"form_id": uniq, "line": lines, "found": found})
    g["field"], g["expected"] = field, expected
    g["message"] = _cat(pc.cast(pa.array(n), pa.large_string()), f"项指标{what}：", found, "。")
    return g


def _quoted(names: pd.Series) -> pd.Series:
    return "“" + _txt(names, "（未填名称）") + "”"


def _target_findings(hits: pd.DataFrame, ctx: Context, expected: str, what: pd.Series) -> pd.DataFrame:
    """Findings on 绩效目标表 indicators (targets only, no form): form_id null, the table's id in `field`, the
    table's department and year."""
    if hits.empty:
        return pd.DataFrame()
    t = ctx.table("targets")
    at = _positions(t.target_id, hits.target_id)  # one look-up for every column taken from the target table

    def of(col: str) -> pd.Series:
        return pd.Series(t[col].array.take(at, allow_fill=True), index=hits.index)
    no = of("table_no") if "table_no" in t else pd.Series(None, index=hits.index)
    title = of("project_name").fillna(of("title"))
    # one cell per line: the line holding the target (or the name) rather than the row's first line
    word = hits.target_raw.where(hits.target_raw.notna(), hits.level3)
    line = hits.line.to_numpy(object).copy()
    files = ctx.sources(hits.source_file)
    ask = hits.source_file.isin(list(files)).to_numpy(bool) & word.map(type).eq(str).to_numpy(bool)
    for k in np.flatnonzero(ask):
        sf, start, stop, w = hits.source_file.iat[k], line[k], hits.line_end.iat[k], word.iat[k]
        stop = stop if pd.notna(stop) else start
        printed = files[sf][0]
        line[k] = next((n for n in range(int(start), int(stop) + 1)
                        if key(w) in key(_shown(printed.get(n)) or "")), start)
    table = pd.Series(np.where(no.isna().to_numpy(bool), "", "（表" + _ints(no) + "）"), index=hits.index)
    out = pd.DataFrame({
        "form_id": None, "source_file": hits.source_file, "line": line, "project_name": title,
        "field": "target_raw[" + hits.target_id.astype(str) + "]", "expected": expected,
        "found": _txt(hits.target_raw).where(hits.target_raw.notna(), "未填"),
        "message": "绩效目标表" + table + "“" + _txt(title, "<NA>") + "”：" + what})
    for col in ("department", "year"):  # the target table knows them, though no form of its file does
        if col in t:
            out[col] = of(col)
    return out


# cell text that stands where a target should be: a template's instruction left in place
_PLACEHOLDERS = {"文字描述", "定性描述", "定量", "定性", "指标值", "填写", "详见附件"}


@rule("target_copies_name")
def target_copies_name(ctx: Context) -> pd.DataFrame:
    i = ctx.indicators
    hit = (_key_ids(ctx, "indicators", "name") == _key_ids(ctx, "indicators", "target_raw")) & \
        i.name.notna().to_numpy(bool)
    h = i.loc[hit, ["form_id", "line", "name"]]
    out = _per_form(h, _quoted(h.name), "target_raw", "可衡量的指标值", "的年度指标值照抄指标名称")
    ti = ctx.tables.get("target_indicators")
    if ti is not None and not ti.empty:
        tk = _key_ids(ctx, "target_indicators", "target_raw")
        th = ti[~_key_in(ctx, tk, [""]) & ((tk == _key_ids(ctx, "target_indicators", "level3"))
                                          | (tk == _key_ids(ctx, "target_indicators", "description")))]
        what = ("指标“" + _txt(th.level3, "<NA>") + "”的指标值“" + _txt(th.target_raw, "<NA>")
                + "”照抄指标名称或描述，没有可衡量的目标。")
        out = pd.concat([out, _target_findings(th, ctx, "可衡量的指标值", what)])
    return out


@rule("actual_only_done")
def actual_only_done(ctx: Context) -> pd.DataFrame:
    i = ctx.indicators
    h = i.loc[_key_in(ctx, _key_ids(ctx, "indicators", "actual_raw"), _DONE_WORDS)
              & ~i.is_budget_execution.fillna(False).to_numpy(bool),
              ["form_id", "line", "name"]]
    return _per_form(h, _quoted(h.name), "actual_raw", "实际完成数据", "的完成值仅填“完成”")


@rule("actual_restates_target")
def actual_restates_target(ctx: Context, restate_min_chars: float) -> pd.DataFrame:
    """A copied sentence, or a range (≥95%) as the actual; one short word (及时/及时) reads as achieved."""
    i, ri = ctx.indicators, ctx.ri
    t_key, a_key = _key_ids(ctx, "indicators", "target_raw"), _key_ids(ctx, "indicators", "actual_raw")
    # a sentence (long enough, no figure): the tests run once per distinct key
    words = _key_test(ctx, t_key, lambda t: len(t) >= restate_min_chars and not re.search(r"\d", t))
    same = (a_key == t_key) & words
    ranged = ri.reason.eq("完成值为区间（如“≥95%”），不是实际数").fillna(False).to_numpy()
    qual = ~i.quantitative.fillna(False).to_numpy(bool)
    h = i.loc[((same & qual) | ranged) & i.actual_raw.notna().to_numpy(bool) & ~_key_in(ctx, a_key, _DONE_WORDS),
              ["form_id", "line", "name", "target_raw", "actual_raw"]]
    return _per_form(h, _quoted(h.name) + _txt(h.target_raw) + "/" + _txt(h.actual_raw), "actual_raw",
                     "实际完成情况", "的完成值照抄指标值")


@rule("qualitative_only_outputs")
def qualitative_only_outputs(ctx: Context) -> pd.DataFrame:
    outputs = (ctx.indicators.level1 == "产出指标").fillna(False).to_numpy(bool)
    i = ctx.indicators.loc[outputs, ["quantitative", "line"]]
    g = i.assign(q=i.quantitative.fillna(False).astype(bool)).groupby(
        ctx.codes("indicators", "form_id")[0][outputs]).agg(q=("q", "any"), line=("line", "min"), n=("line", "size"))
    h = _by_form_id(ctx, g[~g.q])
    n = _ints(h.n)
    out = _findings(h, form_id=h.form_id, line=h.line, field="target_raw", expected="至少一项定量产出指标",
                    found=n + "项产出指标均为定性", message=n + "项产出指标均无可量化的指标值。")
    ti = ctx.tables.get("target_indicators")
    if ti is not None and not ti.empty:
        o = ti.loc[ti.level1 == "产出指标", ["target_id", "quantitative", "line", "line_end", "source_file",
                                          "target_raw", "level3"]]
        q = o.quantitative.fillna(False).astype(bool).groupby(o.target_id).transform("any")
        first = o[~q].sort_values("line", kind="stable").drop_duplicates("target_id")
        n = first.target_id.map(o.groupby("target_id").size())
        out = pd.concat([out, _target_findings(first, ctx, "至少一项定量产出指标",
                                               _ints(n) + "项产出指标均无可量化的指标值。")])
    return out


@rule("missing_target")
def missing_target(ctx: Context) -> pd.DataFrame:
    """A weighted indicator without a target, or without a name (a row that reads only '指标2:')."""
    i = ctx.indicators
    empty = i.target_raw.isna().to_numpy(bool) | _key_in(ctx, _key_ids(ctx, "indicators", "target_raw"), DASHES)
    h = i.loc[(empty | i.name.isna()) & (i.weight > 0).fillna(False), ["form_id", "line", "name", "target_raw"]]
    items = _quoted(h.name) + np.where(h.target_raw.isna(), "未填指标值", "（指标值" + _txt(h.target_raw) + "）")
    out = _per_form(h, items, "target_raw", "年度指标值和指标名称", "未填年度指标值或指标名称")
    ti = ctx.tables.get("target_indicators")
    if ti is not None and not ti.empty:
        tk = _key_ids(ctx, "target_indicators", "target_raw")
        th = ti[ti.target_raw.isna().to_numpy(bool) | _key_in(ctx, tk, DASHES | _PLACEHOLDERS)
                | ti.level3.isna().to_numpy(bool)]
        what = ("指标“" + _txt(th.level3, "（未填名称）") + "”"
                + np.where(th.target_raw.notna(), "的指标值只写“" + _txt(th.target_raw) + "”，未设定目标值。",
                           "未填指标值。"))
        out = pd.concat([out, _target_findings(th, ctx, "年度指标值和指标名称", what)])
    return out


@rule("deducted_without_reason")
def deducted_without_reason(ctx: Context, score_tol: float) -> pd.DataFrame:
    """Points lost on an unmet indicator; a deduction inside the achieved band (28 of 30) needs no reason."""
    i = ctx.indicators.reset_index(drop=True)
    ri = ctx.ri.reset_index(drop=True)
    unmet = ri.status.isin(["unmet", "over_ceiling", "partial", "not_achieved", "not_comparable"]) | \
        (ri.score < ri.rescore_min - score_tol).fillna(False)
    noted = _noted(ctx).reset_index(drop=True)
    h = i.loc[(i.weight - i.score > score_tol).fillna(False) & ~noted & unmet.fillna(False)
              & ri.status.ne("budget_execution").fillna(True), ["form_id", "line", "name", "score", "weight"]]
    items = _quoted(h.name) + _fmt(h.score) + "/" + _fmt(h.weight) + "分"
    return _per_form(h, items, "deviation_note", "说明扣分原因", "扣分但未说明偏差原因")


@rule("all_full_marks")
def all_full_marks(ctx: Context) -> pd.DataFrame:
    """Full marks everywhere while most actuals carry no figure that shows the target met."""
    i = ctx.indicators[["form_id", "line", "score", "weight"]].reset_index(drop=True)
    verified = ctx.ri.reset_index(drop=True).status.isin(["met", "budget_execution"])
    weighted = i.weight.notna().to_numpy(bool)
    i = i.assign(full=(i.score >= i.weight).fillna(False), verified=verified)[weighted]
    g = i.groupby(ctx.codes("indicators", "form_id")[0][weighted]).agg(
        full=("full", "all"), n=("full", "size"), line=("line", "min"), verified=("verified", "mean"))
    h = _by_form_id(ctx, g[g.full & (g.n >= 3) & (g.verified < 0.5)])
    n = _ints(h.n)
    return _findings(h, form_id=h.form_id, line=h.line, field="score", expected="按实际完成情况评分",
                     found=n + "项指标全部满分", message=n + "项指标全部满分。")
