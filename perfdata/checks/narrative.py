"""Rules on what the documents say in words: the 偏差原因 column of the indicators and the figures of a narrative
report that no statement row holds.

Reasons. A missing reason where one is due is already deducted_without_reason (and, for execution,
low_exec_unexplained) in quality.py; a note of only 无 / 没有 / — is no reason there, and never a finding here.
Both modules read one word list, rules/reason_phrases.csv (kind `none` there; `vague` and `unmet` here), each
kind compiled into one alternation and tried once per distinct note:

- reason_says_nothing: a reason is due (the indicator lost points beyond its band, or the rescoring finds it
  unmet) and the note names no cause: 其他原因, 正在推进, 按计划执行, or a measure only (继续推进……).
- reason_contradicts_figures: full marks while the note says 未完成 / 未达到 / 滞后; or the note states a figure
  in the indicator's own unit that is neither the form's actual, its target nor their difference.
- reason_on_met_indicator: a reason (with words, not a stray figure) on an indicator that scored full and that
  the rescoring does not find unmet.

Report figures. A report's per-level completion rates ("产出指标完成97.86%") are `statements` (output_rate …)
that statement_mismatch already holds against the form's levels. A department report's per-indicator points
("绩效指标合理性（3分）……该项得分2分") are not statements: department_points_mismatch reads them from the
report's lines (the raw file, as the evidence is read; nothing without it) and holds them against the
部门整体绩效自评表's 分值 and 得分 of that indicator.
"""

from __future__ import annotations

import re
from functools import cache

import numpy as np
import pandas as pd

from perfdata import rules
from perfdata.checks.quality import _noted, _per_form, _quoted
from perfdata.checks.registry import (
    Context,
    _cat,
    _findings,
    _floats,
    _fmt,
    _ints,
    _map_unique,
    _txt,
    rule,
)
from perfdata.normalize import clean, key

_SHORT = ("unmet", "over_ceiling", "partial", "not_achieved")  # statuses of an indicator the rescoring finds unmet
_END = "。.;；,，、 "
_CJK = re.compile(r"[\u4e00-\u9fff]")
_DIGIT = re.compile(r"\d")
_QUOTES = str.maketrans("", "", "“”\"'‘’「」《》 ")


@cache
def phrases() -> dict[str, re.Pattern]:
    """One compiled alternation per kind of rules/reason_phrases.csv (phrases escaped, regexes as written).

    >>> vague = phrases()["vague"]
    >>> bool(vague.fullmatch("继续推进社会保险事业高质量发展")), bool(vague.fullmatch("因疫情影响"))
    (True, False)
    >>> bool(phrases()["unmet"].search("部分项目进度滞后")), bool(phrases()["unmet"].search("不存在滞后"))
    (True, False)
    """
    parts: dict[str, list[str]] = {}
    for r in rules.table("reason_phrases.csv"):
        text = re.escape(key(r["pattern"])) if r["how"] == "phrase" else r["pattern"]
        parts.setdefault(r["kind"], []).append(f"(?:{text})")
    return {k: re.compile("|".join(v)) for k, v in parts.items()}


def note_key(text) -> str:
    """A note as the phrase table compares it: key() without trailing punctuation.

    >>> note_key("正在推进。"), note_key(" 其他原因 ;")
    ('正在推进', '其他原因')
    """
    return key(text).strip(_END) if isinstance(text, str) else ""


def _kinds(ctx: Context) -> pd.DataFrame:
    """Per indicator (positions of ctx.indicators): the note's key, whether it is a reason at all (quality._noted),
    vague, says a target was missed, has words; each test once per distinct note."""
    def make():
        notes = ctx.indicators.deviation_note.reset_index(drop=True)
        codes, uniq = pd.factorize(notes)
        keys = pd.Series([note_key(u) for u in uniq], dtype=object)
        p = phrases()
        tests = pd.DataFrame({"key": keys, "vague": [bool(p["vague"].fullmatch(t)) for t in keys],
                              "unmet": [bool(p["unmet"].search(t)) for t in keys],
                              "words": [bool(_CJK.search(t)) for t in keys],
                              "digits": [bool(_DIGIT.search(t)) for t in keys]}, index=keys.index)
        blank = pd.DataFrame({"key": [""], "vague": [False], "unmet": [False], "words": [False], "digits": [False]})
        out = pd.concat([tests, blank], ignore_index=True).iloc[np.where(codes < 0, len(uniq), codes)]
        # (a batch without a single note has no tests: their columns must still be bool, not float)
        out = out.reset_index(drop=True).astype({"vague": bool, "unmet": bool, "words": bool, "digits": bool})
        out["noted"] = _noted(ctx).to_numpy(bool)
        return out
    return ctx.memo("reason_kinds", make)


def _scored(ctx: Context, score_tol: float) -> pd.DataFrame:
    """Per indicator: lost points beyond its band (a reason is due, as deducted_without_reason asks), unmet by the
    rescoring, scored full; execution rows aside (their reason is the form's execution, low_exec_unexplained)."""
    return ctx.memo(("reason_scored", score_tol), lambda: _scored_of(ctx, score_tol))


def _scored_of(ctx: Context, score_tol: float) -> pd.DataFrame:
    i = ctx.indicators.reset_index(drop=True)
    ri = ctx.ri.reset_index(drop=True)
    w, s, lo = _floats(i.weight), _floats(i.score), _floats(ri.rescore_min)
    codes, names = ctx.memo(("codes", "ri", "status"), lambda: pd.factorize(ri.status))  # each status tested once

    def status(*which) -> np.ndarray:
        return np.array([*(n in which for n in names), False], dtype=bool)[codes]
    short = status(*_SHORT)
    lost = (w - s > score_tol) & (short | status("not_comparable") | (s < lo - score_tol))
    plain = ~status("budget_execution") & ~i.is_budget_execution.fillna(False).to_numpy(bool)
    return pd.DataFrame({"due": (lost | short) & plain, "short": short & plain,
                         "full": (w > 0) & (s >= w - score_tol) & plain})


@rule("reason_says_nothing")
def reason_says_nothing(ctx: Context, score_tol: float) -> pd.DataFrame:
    """A reason is due and the note only says 其他原因 / 正在推进 / 按计划执行 / 继续推进…… (no cause)."""
    k, sc = _kinds(ctx), _scored(ctx, score_tol)
    i = ctx.indicators.reset_index(drop=True)
    h = i.loc[(sc.due & k.noted & k.vague).to_numpy(bool), ["form_id", "line", "name", "score", "weight",
                                                           "deviation_note"]]
    items = _quoted(h.name) + _fmt(h.score) + "/" + _fmt(h.weight) + "分，偏差原因“" + _txt(h.deviation_note) + "”"
    return _per_form(h, items, "deviation_note", "说明偏差的具体原因", "扣分或未完成，偏差原因未说明具体原因")


@rule("reason_contradicts_figures")
def reason_contradicts_figures(ctx: Context, score_tol: float, reason_figure_tol: float) -> pd.DataFrame:
    """Full marks while the note says the target was missed; or a figure in the note, in the indicator's unit, that
    is neither the form's actual nor its target nor their difference (the reason tells another result)."""
    k, sc = _kinds(ctx), _scored(ctx, score_tol)
    i = ctx.indicators.reset_index(drop=True)
    # full marks, yet the note says the target was not reached
    said = i.iloc[np.flatnonzero((sc.full & k.noted & k.unmet).to_numpy(bool))]
    note = _txt(said.deviation_note)
    a = _findings(said, form_id=said.form_id, line=said.line, field="score",
                  expected="按未完成扣分，或更正偏差原因", found="满分；偏差原因“" + note + "”")
    a["message"] = ("指标" + _quoted(said.name) + "得满分（" + _fmt(said.score) + "/" + _fmt(said.weight)
                    + "分），偏差原因却称“" + note + "”。")
    # a figure in the indicator's unit that the form does not print
    b = _figures_off(i, k, reason_figure_tol)
    return pd.concat([a, b]).sort_values("line", kind="stable") if len(a) or len(b) else pd.DataFrame()


def _figures_off(i: pd.DataFrame, k: pd.DataFrame, tol: float) -> pd.DataFrame:
    """Notes that state figures in the indicator's unit (4.2万元 where the actual is in 万元), none of which is the
    actual, and one of which is neither the actual, the target nor their difference."""
    with_figures = np.flatnonzero((k.noted & k.digits).to_numpy(bool))  # the few notes with a figure
    i, k = i.iloc[with_figures].reset_index(drop=True), k.iloc[with_figures].reset_index(drop=True)
    unit = i.actual_unit.astype(object).where(i.actual_unit.notna(), i.target_unit.astype(object))
    actual, target = _floats(i.actual_value), _floats(i.target_value)
    ask = unit.notna().to_numpy(bool) & ~np.isnan(actual)
    rows = []
    for u in pd.unique(unit[ask]):
        m = np.flatnonzero(ask & (unit == u).to_numpy(bool))
        pattern = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)" + re.escape(str(u)))
        found = k.key.iloc[m].str.findall(pattern)
        x = found.explode().dropna()
        if x.empty:
            continue
        rows.append(pd.DataFrame({"pos": x.index.to_numpy(), "value": pd.to_numeric(x).to_numpy(float)}))
    if not rows:
        return pd.DataFrame()
    f = pd.concat(rows, ignore_index=True)
    at, v = f.pos.to_numpy(), f.value.to_numpy(float)
    a, t = actual[at], target[at]
    is_actual = np.abs(v - a) <= tol
    known = is_actual | (np.abs(v - t) <= tol) | (np.abs(v - np.abs(t - a)) <= tol)
    known |= (unit.to_numpy(object)[at] == "年") & (v >= 1900) & (v <= 2100)  # a year is no result
    g = pd.DataFrame({"pos": at, "actual": is_actual, "other": ~known}).groupby("pos").agg(
        actual=("actual", "any"), other=("other", "any"))
    pos = g.index[~g.actual & g.other].to_numpy()
    if not len(pos):
        return pd.DataFrame()
    first = f[np.isin(at, pos) & ~known].drop_duplicates("pos").set_index("pos").value.reindex(pos)
    h = i.iloc[pos]
    u = _txt(unit.iloc[pos])
    note = _txt(h.deviation_note)
    said = _fmt(first.to_numpy()) + u.to_numpy()
    out = _findings(h, form_id=h.form_id, line=h.line, field="actual_raw", expected=_txt(h.actual_raw),
                    found=said.to_numpy())
    out["message"] = ("指标" + _quoted(h.name) + "完成值为" + _txt(h.actual_raw, "<NA>") + "，偏差原因称“" + note
                      + "”，其中" + said.to_numpy() + "与表中完成值和指标值都不符。")
    return out


@rule("reason_on_met_indicator")
def reason_on_met_indicator(ctx: Context, score_tol: float) -> pd.DataFrame:
    """A reason with words on an indicator at full marks that the rescoring does not find unmet: a deviation
    explained where the form shows none (the note belongs elsewhere, or the score hides a shortfall)."""
    k, sc = _kinds(ctx), _scored(ctx, score_tol)
    i = ctx.indicators.reset_index(drop=True)
    h = i.loc[(sc.full & ~sc.short & k.noted & k.words & ~k.vague & ~k.unmet).to_numpy(bool),
              ["form_id", "line", "name", "score", "weight", "deviation_note"]]
    items = _quoted(h.name) + _fmt(h.score) + "/" + _fmt(h.weight) + "分，偏差原因“" + _txt(h.deviation_note) + "”"
    return _per_form(h, items, "deviation_note", "得满分的指标无偏差可说明", "得满分，偏差原因栏却写有原因")


# -- a department report's per-indicator points ---------------------------------------------------------

def _name_key(text) -> str:
    """An indicator name as a report and a form both print it: cleaned, no quotes or spaces, no enumerator.

    >>> _name_key("①“三公经费”控制率"), _name_key("重点工作 1 计划完成率")
    ('三公经费控制率', '重点工作1计划完成率')
    """
    if not isinstance(text, str):
        return ""
    t = clean(text).translate(_QUOTES)
    return re.sub(r"^(?:\d+|[一二三四五六七八九十]+)[、.)]?", "", t)


def _paragraphs(lines: dict[int, str], skip: list[tuple[int, int]]):
    """(text, [(offset, line)]) of every run of non-blank one-cell lines outside the spans in `skip` (the
    department forms): a report's paragraph, its sentences run over lines as printed."""
    text, at = "", []
    for n in sorted(lines):
        raw = lines[n].strip()
        inside = any(a <= n <= b for a, b in skip)
        if not raw or "\t" in raw or inside:
            if text:
                yield text, at
            text, at = "", []
            continue
        at.append((len(text), n))
        text += clean(raw).replace(" ", "")
    if text:
        yield text, at


def _line_at(at: list[tuple[int, int]], offset: int) -> int:
    line = at[0][1]
    for start, n in at:
        if start > offset:
            break
        line = n
    return line


def _report_points(ctx: Context) -> pd.DataFrame:
    """Every "name（W分）……得S分" of the department forms' files outside the forms: file, name key, weight,
    score, the lines of the head and the score, the text quoted."""
    def make():
        dept = ctx.table("department_forms")
        cols = ["source_file", "name_key", "name", "weight", "score", "line", "score_line", "text"]
        if dept.empty:
            return pd.DataFrame(columns=cols)
        heads = [re.compile(r["pattern"]) for r in rules.table("reason_phrases.csv") if r["kind"] == "points_head"]
        scores = [re.compile(r["pattern"]) for r in rules.table("reason_phrases.csv") if r["kind"] == "points_score"]
        out = []
        for sf, (lines, _) in ctx.sources(dept.source_file).items():
            mine = dept[dept.source_file == sf]
            skip = list(zip(_floats(mine.line_start), _floats(mine.line_end).clip(min=_floats(mine.line_start)),
                            strict=True))
            skip = [(a, b) for a, b in skip if not np.isnan(a)]
            for text, at in _paragraphs(lines, skip):
                found = sorted((m for h in heads for m in h.finditer(text)), key=lambda m: m.start())
                for n, m in enumerate(found):
                    stop = found[n + 1].start() if n + 1 < len(found) else len(text)
                    seg = text[m.end():stop]
                    s = min((x for p in scores for x in [p.search(seg)] if x), key=lambda x: x.start(), default=None)
                    out.append({"source_file": sf, "name_key": _name_key(m.group("name")),
                                "name": _name_key(m.group("name")), "weight": float(m.group("weight")),
                                "score": float(s.group("score")) if s else np.nan,
                                "line": _line_at(at, m.start()),
                                "score_line": _line_at(at, m.end() + s.start()) if s else np.nan,
                                "text": text[m.start():stop][:160]})
        return pd.DataFrame(out, columns=cols)
    return ctx.memo("report_points", make)


@rule("department_points_mismatch")
def department_points_mismatch(ctx: Context, statement_score_tol: float) -> pd.DataFrame:
    """A department report's "indicator（W分）……得S分" against the 分值 and 得分 of that indicator in the
    department form of the same file (the last one above the sentence when the file prints several)."""
    rp = _report_points(ctx)
    di = ctx.table("department_indicators")
    dept = ctx.table("department_forms")
    if rp.empty or di.empty:
        return pd.DataFrame()
    d = di.assign(name_key=_map_unique(di.name, _name_key, ""))[["dept_form_id", "source_file", "name_key", "line",
                                                                  "weight", "score"]]
    d = d[d.name_key != ""].drop_duplicates(["dept_form_id", "name_key"]).astype({"source_file": object})
    start = dept.drop_duplicates("dept_form_id").set_index("dept_form_id").line_start
    d["form_start"] = _floats(d.dept_form_id.map(start))
    r = rp.reset_index(names="pos").astype({"source_file": object, "name_key": object})
    m = r.merge(d, on=["source_file", "name_key"], suffixes=("", "_form"))
    if m.empty:
        return pd.DataFrame()
    # the department form the sentence speaks of: the last one starting above it, else the first
    above = (m.form_start <= m.line).to_numpy(bool)
    m = m.assign(_above=above, _start=np.where(above, -m.form_start, m.form_start))
    m = m.sort_values(["pos", "_above", "_start"], ascending=[True, False, True], kind="stable").drop_duplicates("pos")
    rw, rs, fw, fs = (_floats(m[c]) for c in ("weight", "score", "weight_form", "score_form"))
    off_w = np.abs(rw - fw) > statement_score_tol
    off_s = ~np.isnan(rs) & (np.abs(rs - fs) > statement_score_tol)
    h = m[off_w | off_s].reset_index(drop=True)
    if h.empty:
        return pd.DataFrame()
    ow, os_ = off_w[off_w | off_s], off_s[off_w | off_s]
    field = np.where(ow & os_, "weight/score", np.where(ow, "weight", "score"))
    got = "分值" + _fmt(h.weight) + "分、得分" + _fmt(h.score) + "分"
    want = "分值" + _fmt(h.weight_form) + "分、得分" + _fmt(h.score_form) + "分"
    line_form = _ints(h.line_form)
    sl = _floats(h.score_line)
    lines = np.where(~np.isnan(sl) & (sl != _floats(h.line)), _ints(h.line) + ", " + _ints(h.score_line),
                     _ints(h.line)) + ", " + line_form
    meta = dept.drop_duplicates("dept_form_id").set_index("dept_form_id")
    out = pd.DataFrame({
        "form_id": None, "source_file": h.source_file.to_numpy(object), "line": h.line.to_numpy(),
        "lines": np.asarray(lines, dtype=object), "field": field, "expected": want.to_numpy(object),
        "found": got.to_numpy(object),
        "message": _cat("报告称“", _txt(h.name), "”（", _fmt(h.weight), "分）得", _fmt(h.score),
                        "分，部门整体绩效自评表（第", line_form, "行）该指标分值", _fmt(h.weight_form), "分、得分",
                        _fmt(h.score_form), "分。"),
        "project_name": h.dept_form_id.map(meta.department).to_numpy(object),
        "department": h.dept_form_id.map(meta.department).to_numpy(object),
        "year": h.dept_form_id.map(meta.year).to_numpy(object)})
    return out
