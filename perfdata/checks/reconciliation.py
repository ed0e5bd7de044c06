"""Reconciliation rules: two sources (form and summary, form and narrative, department form and statements)
that disagree.

Each rule is a join: a summary row or a statement takes the figures of the form (or department form) it is
linked to by key, every pair of figures is compared as a column, and the findings of one row keep the order
in which the row's figures are read (so a row's findings come out in the same order whatever the batch)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from perfdata.checks.registry import (
    Context,
    _cat,
    _distinct_lines,
    _floats,
    _fmt,
    _group_join,
    _ints,
    _joint_key,
    _map_unique,
    _ngroup,
    _positions,
    _txt,
    rule,
)
from perfdata.normalize import key
from perfdata.scoring import _arrow_text

# -- reconciliation: two sources --------------------------------------------------------------------

_LEVEL_RATES = {"产出指标": "output_rate", "效益指标": "benefit_rate", "满意度指标": "satisfaction_rate"}


def _level_rates(ctx: Context) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A level's score rate two ways: over its indicators' weights, and over the points printed beside it."""
    return ctx.memo("level_rates", lambda: _level_rates_of(ctx))


def _level_rates_of(ctx: Context) -> tuple[pd.DataFrame, pd.DataFrame]:
    ind = ctx.indicators
    # grouped by the keys' codes (the rules look forms up by id, so the rows' order is free): the same sums
    (fcode, forms), (lcode, levels) = ctx.codes("indicators", "form_id"), ctx.codes("indicators", "level1")
    ok = ~ind.is_budget_execution.fillna(False).to_numpy(bool) & (fcode >= 0) & (lcode >= 0)
    n = max(len(levels), 1)  # one number per (form, level): one integer key to group by
    g = ind[["score", "weight", "level1_weight"]][ok].groupby(fcode[ok].astype(np.int64) * n + lcode[ok]).agg(
        score=("score", "sum"), weight=("weight", "sum"), printed=("level1_weight", "first"))
    key = g.index.to_numpy()
    rows = np.unique(key // n)  # the forms, in the order of their codes
    at = np.searchsorted(rows, key // n)
    cols = [_LEVEL_RATES.get(lv, lv) for lv in levels]

    def table(values: pd.Series) -> pd.DataFrame:
        grid = np.full((len(rows), len(cols)), np.nan)
        grid[at, key % n] = _floats(values)
        t = pd.DataFrame(grid, columns=cols)[[c for c in cols if c in _LEVEL_RATES.values()]]
        return t.reindex(columns=list(_LEVEL_RATES.values())).set_axis(
            pd.Index(forms.take(rows), name="form_id"))
    return table(g.score / g.weight * 100), table(g.score / g.printed * 100)


def _at(values, pos: np.ndarray) -> np.ndarray:
    """values[pos] as floats, NaN where pos is -1 (no match)."""
    v = _floats(values)
    out = v[np.where(pos >= 0, pos, 0)] if len(v) else np.full(len(pos), np.nan)
    return np.where(pos >= 0, out, np.nan)


def _pick(values: pd.Series, pos: np.ndarray) -> pd.Series:
    """values[pos] keeping their dtype, null where pos is -1."""
    out = values.iloc[np.where(pos >= 0, pos, 0)].reset_index(drop=True) if len(values) else \
        pd.Series([None] * len(pos), dtype=values.dtype)
    return out.where(pd.Series(pos >= 0))


def _ordered(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Findings of several kinds in the order each source row reads them: by row (`pos`), then `slot`."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True).sort_values(["pos", "slot"], kind="stable").reset_index(drop=True)


_SUMMARY_LABEL = {"budget/executed": "全年预算数和执行数", "budget": "全年预算数", "executed": "执行数",
                  "exec_rate_reported": "执行率", "total_score": "自评得分", "output_rate": "产出指标得分率",
                  "benefit_rate": "效益指标得分率", "satisfaction_rate": "满意度指标得分率"}
_SUMMARY_UNIT = {"budget/executed": "万元", "budget": "万元", "executed": "万元", "total_score": "分"}


@rule("summary_mismatch")
def summary_mismatch(ctx: Context, money_tol: float, exec_rate_tol: float, total_tol: float) -> pd.DataFrame:
    s = ctx.summary
    if s.empty:
        return pd.DataFrame()
    s = s.reset_index(drop=True)
    tol = {"budget": money_tol, "executed": money_tol, "exec_rate_reported": exec_rate_tol, "total_score": total_tol,
           "output_rate": exec_rate_tol, "benefit_rate": exec_rate_tol, "satisfaction_rate": exec_rate_tol}
    pn = _txt(s.project_name, "<NA>")
    sb, se, ser = _floats(s.budget), _floats(s.executed), _floats(s.exec_rate_reported)
    with np.errstate(divide="ignore", invalid="ignore"):
        own = np.where(~np.isnan(sb) & ~np.isnan(se) & (sb != 0), se / sb * 100, np.nan)
    frames = []
    # the summary's own rate against its own figures
    by_own = np.abs(ser - own) > exec_rate_tol
    if by_own.any():
        k = np.flatnonzero(by_own)
        r = _fmt(own[k], 2)
        frames.append(pd.DataFrame({
            "pos": k, "slot": 0, "field": "exec_rate_reported", "expected": r + "%", "found": _fmt(ser[k]) + "%",
            "message": _cat("汇总表“", pn[k], "”执行数", _fmt(se[k]), "万元÷预算数", _fmt(sb[k]), "万元=", r,
                            "%，汇总表执行率填", _fmt(ser[k]), "%。")}))
    # the summary against the form it is linked to
    f = ctx.forms_once()
    fpos = _positions(f.form_id, s.form_id)
    if (fpos >= 0).any():
        rates, printed = _level_rates(ctx)
        rpos, ppos = _positions(rates.index, s.form_id), _positions(printed.index, s.form_id)
        fx = _at(f.exec_rate, fpos)
        # a summary rate that its own figures and the form's amounts both give is right: the form's printed rate is
        # the wrong one, and exec_rate_mismatch reports it there
        right = (np.abs(ser - own) <= exec_rate_tol) & (np.abs(ser - fx) <= exec_rate_tol)
        pairs = {"budget": (sb, _at(f.budget, fpos)), "executed": (se, _at(f.executed, fpos)),
                 "total_score": (_floats(s.total_score), _at(f.total_score_reported, fpos)),
                 "exec_rate_reported": (np.where(right, np.nan, ser), _at(f.exec_rate_reported, fpos))}
        for c in _LEVEL_RATES.values():
            # a level rate is wrong only if neither way of computing it from the form gives it
            a, lp = _floats(s[c]), _at(printed[c], ppos)
            pairs[c] = (np.where(np.abs(a - lp) <= tol[c], np.nan, a), _at(rates[c], rpos))
        off = {c: (np.abs(a - b) > tol[c]) & (fpos >= 0) for c, (a, b) in pairs.items()}
        off["exec_rate_reported"] &= ~by_own
        # one figure typed into both money columns
        both = off["budget"] & off["executed"] & (sb == se) & (pairs["budget"][1] == pairs["executed"][1])
        pairs["budget/executed"] = pairs["budget"]
        off["budget/executed"] = both
        off["budget"] &= ~both
        off["executed"] &= ~both
        line = _ints(_pick(f.line_start, fpos))
        initial = _at(f.budget_initial, fpos)
        for slot, c in enumerate(["budget/executed", "budget", "executed", "total_score", "exec_rate_reported",
                                  *_LEVEL_RATES.values()], start=1):
            k = np.flatnonzero(off[c])
            if not len(k):
                continue
            a, b = pairs[c][0][k], pairs[c][1][k]
            unit = _SUMMARY_UNIT.get(c, "%")
            x, y = _fmt(a), _fmt(b, 2)
            note = np.abs(a - initial[k]) <= money_tol if c == "budget" else np.zeros(len(k), dtype=bool)
            frames.append(pd.DataFrame({
                "pos": k, "slot": slot, "field": c, "expected": y, "found": x,
                "message": _cat("汇总表“", pn[k], "”", _SUMMARY_LABEL[c], "为", x, unit, "，项目自评表（第", line[k],
                                "行）为", y, unit, np.where(note, "（汇总表填的是年初预算数）", ""), "。")}))
    out = _ordered(frames)
    if out.empty:
        return out
    pos = out.pos.to_numpy()
    for c, col in (("line", "line_start"), ("source_file", "source_file"), ("project_name", "project_name"),
                   ("form_id", "form_id")):
        out[c] = s[col].iloc[pos].to_numpy()
    # the same figure in the unit's and the department's summary is one finding naming both rows
    out["who"] = out.form_id.fillna(out.project_name)
    return _merge_lines(out.drop(columns=["pos", "slot"]), ["source_file", "who", "field", "found", "expected"],
                        "汇总表")


# statement metric → (form column or level, label, unit, field name shared with summary_mismatch)
_STATEMENT_FIELDS = {"total_score": ("total_score_reported", "总分", "分", "total_score"),
                     "exec_rate": ("exec_rate_reported", "执行率", "%", "exec_rate_reported"),
                     "exec_score": ("exec_score_reported", "预算执行率得分", "分", "exec_score_reported"),
                     "budget_initial": ("budget_initial", "年初预算数", "万元", "budget_initial"),
                     "budget_full_year": ("budget", "全年预算数", "万元", "budget"),
                     "budget": ("budget", "预算数", "万元", "budget"),
                     "executed": ("executed", "执行数", "万元", "executed"),
                     "output_score": ("产出指标", "产出指标得分", "分", "output_score"),
                     "benefit_score": ("效益指标", "效益指标得分", "分", "benefit_score"),
                     "satisfaction_score": ("满意度指标", "满意度指标得分", "分", "satisfaction_score"),
                     "output_rate": ("output_rate", "产出指标得分率", "%", "output_rate"),
                     "benefit_rate": ("benefit_rate", "效益指标得分率", "%", "benefit_rate"),
                     "satisfaction_rate": ("satisfaction_rate", "满意度指标得分率", "%", "satisfaction_rate"),
                     "budget_fiscal": ("fiscal", "财政拨款", "万元", "budget_fiscal"),
                     "carryover": ("carryover", "上年结转", "万元", "carryover")}
# department statement metric → (department_forms column or level, label, unit)
_DEPT_FIELDS = {"budget_total": ("budget_total", "部门预算总额", "万元"),
                "basic_expenditure": ("budget_basic", "基本支出", "万元"),
                "project_expenditure": ("budget_project", "项目支出", "万元"),
                "total_score": ("total_score", "总分", "分"),
                "input_score": ("投入指标", "投入指标得分", "分"),
                "process_score": ("过程指标", "过程指标得分", "分"),
                "output_score": ("产出指标", "产出指标得分", "分"),
                "benefit_score": ("效益指标", "效益指标得分", "分"),
                "exec_rate": ("预算执行率", "预算执行率", "%")}


def _level_scores(ind: pd.DataFrame, key: str) -> pd.Series:
    """Sum of the indicator scores per (table, level1), budget-execution rows aside."""
    if "is_budget_execution" in ind:
        ind = ind.loc[~ind.is_budget_execution.fillna(False), [key, "level1", "score"]]
    return ind.groupby([key, "level1"]).score.sum(min_count=1)


def _project_statements(ctx: Context, st: pd.DataFrame, tol_of: dict) -> pd.DataFrame:
    """Project figures of the narrative against the form each sentence is linked to: the form's columns, its
    level scores and rates (either way of computing them), its funding lines."""
    proj = (st.form_id.notna() & ~st.subject_kind.isin(["department", "unit"]).fillna(False)).to_numpy(bool)
    f = ctx.forms_once()
    fpos = np.where(proj, _positions(f.form_id, st.form_id), -1)
    linked = fpos >= 0
    if not linked.any():
        return pd.DataFrame()
    subj, value, metric = _txt(st.subject, "<NA>"), _floats(st.value), st.metric.to_numpy(object)
    frames = []
    # a grade against the grade of the form's own total
    g = _pick(f.grade_reported, fpos)
    vt = st.value_text.reset_index(drop=True)
    k = np.flatnonzero(linked & (metric == "grade") & (vt.notna() & g.notna() & (vt != g)).fillna(False).to_numpy())
    if len(k):
        gk, vk = _txt(g[k]), _txt(vt[k])
        frames.append(pd.DataFrame({
            "pos": k, "slot": 0, "field": "grade", "expected": gk.array, "found": vk.array,
            "message": _cat("报告称“", subj[k], "”评价等级为“", vk, "”，自评表总分",
                            _fmt(_at(f.total_score_reported, fpos[k])), "分对应“", gk, "”。")}))
    # a figure against the form's: the first figure the form has is the one quoted, any of them may match
    fields = pd.DataFrame.from_dict(_STATEMENT_FIELDS, orient="index", columns=["col", "label", "unit", "field"])
    known = _positions(pd.Index(fields.index), st.metric)
    ask = linked & (known >= 0) & ~np.isnan(value)
    first, second = np.full(len(st), np.nan), np.full(len(st), np.nan)
    col = pd.Series(np.where(known >= 0, fields.col.to_numpy(object)[known], None), dtype=object)
    fid = st.form_id
    # either way of computing a level's rate from the form
    k = np.flatnonzero(ask & col.isin(list(_LEVEL_RATES.values())).to_numpy(bool))
    if len(k):
        rates, printed = _level_rates(ctx)
        rp = _positions(rates.index, fid.iloc[k])
        pp = rp if printed.index.equals(rates.index) else _positions(printed.index, fid.iloc[k])
        for c in _LEVEL_RATES.values():
            m = (col.iloc[k] == c).to_numpy(bool)
            first[k[m]], second[k[m]] = _at(rates[c], rp[m]), _at(printed[c], pp[m])
    # a level's score, a funding line's amount: of the forms asked about only
    for names, name, what in ((list(_LEVEL_RATES), "indicators", "level1"),
                              (["fiscal", "carryover"], "funding", "fund_source")):
        k = np.flatnonzero(ask & col.isin(names).to_numpy(bool))
        if not len(k):
            continue
        used = ["form_id", what, *(["is_budget_execution", "score"] if what == "level1" else
                                   ["budget_full_year", "budget_initial"])]
        table = ctx.table(name)
        asked = table[[c for c in used if c in table]][ctx.rows_of(name, "form_id", fid.iloc[k])]
        if what == "level1":
            got = _level_scores(asked, "form_id")
            keys, values = [got.index.get_level_values(n) for n in range(2)], got
        else:
            asked = asked.assign(amount=asked.budget_full_year.fillna(asked.budget_initial)).drop_duplicates(
                ["form_id", "fund_source"])
            keys, values = [asked.form_id, asked.fund_source], asked.amount
        first[k] = _at(values, _positions(_joint_key(*keys), _joint_key(fid.iloc[k], col.iloc[k])))
    ccode, cols = pd.factorize(col)
    for c in pd.unique(col[ask]):
        if c in _LEVEL_RATES.values() or c in _LEVEL_RATES or c in ("fiscal", "carryover"):
            continue
        k = np.flatnonzero(ask & (ccode == cols.get_loc(c)))
        first[k] = _at(f[c], fpos[k])
    tol = np.array([tol_of.get(u, np.nan) for u in fields.unit])[np.where(known >= 0, known, 0)]
    close = (np.abs(value - first) <= tol) | (np.abs(value - second) <= tol)
    k = np.flatnonzero(ask & ~(np.isnan(first) & np.isnan(second)) & ~close)
    if len(k):
        quoted = np.where(np.isnan(first[k]), second[k], first[k])
        spec = fields.iloc[known[k]].reset_index(drop=True)
        b, v = _fmt(quoted, 2, "python"), _fmt(value[k])
        name = _txt(_pick(f.project_name, fpos[k]), "None")
        at = _ints(_pick(f.line_start, fpos[k])).replace("<NA>", "None")
        frames.append(pd.DataFrame({
            "pos": k, "slot": 0, "field": spec.field.to_numpy(object), "expected": b.array,
            "found": v.array,
            "message": _cat("报告称“", subj[k], "”", spec.label, v, spec.unit, "，项目自评表“", name, "”（第", at,
                            "行）为", b, spec.unit, "。")}))
    out = _ordered(frames)
    if len(out):
        out["form_id"] = st.form_id.iloc[out.pos].to_numpy()
        out["who"] = out.form_id
        out["project_name"] = None  # a linked form's own name is filled in later
    return out


@rule("statement_mismatch")
def statement_mismatch(ctx: Context, money_tol: float, exec_rate_tol: float,
                       statement_score_tol: float) -> pd.DataFrame:
    """A figure of the narrative report against the form it speaks of (matched by keys.link(), misspelled and
    short names included), and the department's figures against the 部门整体绩效自评表. The same figure
    repeated in several sentences is one finding that names every line."""
    st = ctx.statements
    if st.empty:
        return pd.DataFrame()
    st = st.reset_index(drop=True)
    tol_of = {"%": exec_rate_tol, "分": statement_score_tol, "万元": money_tol}
    parts = [x for x in (_project_statements(ctx, st, tol_of), _department_statements(ctx, st, tol_of)) if len(x)]
    if not parts:
        return pd.DataFrame()
    out = pd.concat(parts, ignore_index=True)
    out["line"] = st.line.iloc[out.pos].to_numpy()
    out["source_file"] = st.source_file.iloc[out.pos].to_numpy()
    return _merge_lines(out.drop(columns=["pos", "slot"]), ["source_file", "who", "field", "found"], "报告")


def _department_statements(ctx: Context, st: pd.DataFrame, tol_of: dict) -> pd.DataFrame:
    """Department figures of the narrative against the department's 整体绩效自评表 of the same file; a stated
    execution rate also against executed ÷ budget stated in the same sentence."""
    dept = ctx.tables.get("department_forms")
    if dept is None or dept.empty:
        return pd.DataFrame()
    di = ctx.table("department_indicators")
    metric = st.metric.to_numpy(object)
    fields = pd.DataFrame.from_dict(_DEPT_FIELDS, orient="index", columns=["col", "label", "unit"])
    known = _positions(pd.Index(fields.index), st.metric)
    in_dept = (st.subject_kind.eq("department") & st.source_file.isin(dept.source_file)).fillna(False).to_numpy(bool)
    value = _floats(st.value)
    k = np.flatnonzero(in_dept & (known >= 0) & ~np.isnan(value))
    if not len(k):
        return pd.DataFrame()
    used = ["source_file", "dept_form_id", "budget_line", "line_start", "total_score", "department", "year"]
    used += [c for c in fields.col if c in dept and c not in used]
    by_file = dept.drop_duplicates("source_file")[used].reset_index(drop=True)  # not the long texts
    d = by_file.iloc[_positions(pd.Index(by_file.source_file), st.source_file.iloc[k])].reset_index(drop=True)
    spec = fields.iloc[known[k]].reset_index(drop=True)
    col = spec.col.to_numpy(object)
    v = value[k]
    # the department form's figure, and the line that prints it
    budget_row = pd.Series(col).str.startswith("budget").to_numpy(bool) & d.budget_line.notna().to_numpy(bool)
    where = "部门整体绩效自评表（第" + _ints(d.budget_line.where(budget_row, d.line_start)) + "行）"
    b = np.full(len(k), np.nan)
    ids = d.dept_form_id.astype(object)
    levels = _level_scores(di, "dept_form_id")
    is_level = np.isin(col, [*_LEVEL_RATES, "投入指标", "过程指标"])
    if is_level.any():
        levels_key = _joint_key(*(levels.index.get_level_values(n) for n in range(2)))
        b[is_level] = _at(levels, _positions(levels_key, _joint_key(ids[is_level], pd.Series(col[is_level]))))
    is_rate = col == "预算执行率"
    if is_rate.any():
        rate_rows = di[_map_unique(di.name, key, "") == "预算执行率"].drop_duplicates("dept_form_id")
        b[is_rate] = _at(rate_rows.actual_value, _positions(pd.Index(rate_rows.dept_form_id), ids[is_rate]))
    plain = ~is_level & ~is_rate
    for c in pd.unique(col[plain]):
        m = col == c
        b[m] = _floats(d[c])[m]
    # no 总分 row printed: its indicators' scores
    summed = (col == "total_score") & d.total_score.isna().to_numpy(bool)
    if summed.any():
        sums = di.groupby("dept_form_id").score.sum(min_count=1)
        b[summed] = _at(sums, _positions(sums.index, ids[summed]))
        where = where.where(~summed, "部门整体绩效自评表（第" + _ints(d.line_start) + "行）各指标得分合计")
    tol = np.array([tol_of[u] for u in fields.unit])[known[k]]
    hit = np.abs(v - b) > tol
    if not hit.any():
        return pd.DataFrame()
    # a stated execution rate against executed ÷ budget stated in the same sentence (its last figure of each)
    extra = pd.Series("", index=range(len(k)), dtype="string")
    is_exec = (metric[k] == "exec_rate") & hit
    if is_exec.any():
        said = st.loc[in_dept & st.source_file.notna().to_numpy(bool) & st.line.notna().to_numpy(bool),
                      ["source_file", "line", "metric", "value"]]
        said = said.drop_duplicates(["source_file", "line", "metric"], keep="last")
        said_key = _joint_key(said.source_file, said.line, said.metric)
        at = [st.source_file.iloc[k], st.line.iloc[k]]
        e = _at(said.value, _positions(said_key, _joint_key(*at, "executed")))
        bt = _at(said.value, _positions(said_key, _joint_key(*at, "budget_total")))
        with np.errstate(divide="ignore", invalid="ignore"):
            own = e / bt * 100
        m = is_exec & ~np.isnan(e) & ~np.isnan(bt) & (bt != 0)
        extra[m] = _cat("；同句执行数", _fmt(e[m]), "万元÷预算总额", _fmt(bt[m]), "万元=", _fmt(own[m], 2), "%")
    bx, vx = _fmt(b), _fmt(v)
    msg = _cat("报告称“", _txt(st.subject.iloc[k], "<NA>"), "”", spec.label, vx, spec.unit, "，", where, "为", bx,
               spec.unit, extra, "。")
    out = pd.DataFrame({"pos": k, "slot": 1, "field": metric[k], "expected": bx.array,
                        "found": vx.array, "message": msg, "form_id": None,
                        "who": st.subject.iloc[k].to_numpy(object), "project_name": st.subject.iloc[k].to_numpy(object),
                        "department": d.department.to_numpy(object), "year": d.year.to_numpy(object)})
    return out[hit].reset_index(drop=True)


def _merge_lines(df: pd.DataFrame, by: list[str], what: str) -> pd.DataFrame:
    """Rows with the same `by` values become one finding at the first line; the message names the other lines."""
    line = _floats(df.line)
    order = np.argsort(line, kind="stable")  # by line, a finding without one last (as sort_values puts it)
    gid = _ngroup(*(df[c].iloc[order] for c in by))
    n = int(gid.max()) + 1 if len(gid) else 0
    g, text = _distinct_lines(gid, line[order])
    count = np.bincount(g, minlength=n)
    lines, dotted = _group_join(g, text, ", ", n), _group_join(g, text, "、", n)
    first = ~pd.Series(gid).duplicated().to_numpy()
    out = df.iloc[order[first]].reset_index(drop=True)  # each group's first finding by line: one take
    gk = gid[first]
    many = count[gk] > 1
    msg = _arrow_text(out.message)
    if msg is None:
        msg = out.message.to_numpy(object).copy()
        msg[many] = _cat(pd.Series(msg[many], dtype="string").str.rstrip("。"), f"（{what}第", dotted[gk[many]],
                         "行均同）。")
    else:  # the messages of the rows met again rewritten, taken in arrow in place of theirs
        k = np.flatnonzero(many)
        again = _cat(pd.Series(pd.arrays.ArrowStringArray(msg.take(pa.array(k)))).str.rstrip("。"),
                     f"（{what}第", dotted[gk[many]], "行均同）。")
        src = np.arange(len(out))
        src[k] = len(out) + np.arange(len(k))
        msg = pd.arrays.ArrowStringArray(pa.concat_arrays([msg, _arrow_text(again)]).take(pa.array(src)))
    out["message"] = msg
    out["lines"] = lines[gk]
    return out.drop(columns=[c for c in ("who",) if c in out])


@rule("department_summary_mismatch")
def department_summary_mismatch(ctx: Context, money_tol: float, exec_rate_tol: float,
                                weight_tol: float) -> pd.DataFrame:
    """The 部门整体绩效自评表 against the department's own 项目支出自评汇总表 (the summary whose unit is the
    department): its 项目支出 against the projects' budgets added up, its 预算执行率 against the projects'
    executed ÷ budget, and each level's printed points against its indicators."""
    dept = ctx.tables.get("department_forms")
    if dept is None or dept.empty:
        return pd.DataFrame()
    dept = dept.reset_index(drop=True)
    di = ctx.table("department_indicators")
    frames = []
    own = _department_summary(ctx, dept)
    if own is not None:
        # the department's summary figures, per department form (NaN where it has no summary of its own)
        upos = _positions(own.index, pd.MultiIndex.from_arrays([dept.source_file.astype(object),
                                                                 _map_unique(dept.department, key, "")]))
        budget, executed = _at(own.budget, upos), _at(own.executed, upos)
        n, first = _ints(_pick(own.n, upos)), _ints(_pick(own.first, upos))
        bp = _floats(dept.budget_project)
        k = np.flatnonzero(np.abs(bp - budget) > money_tol)
        if len(k):
            x = _fmt(budget[k], 2)
            frames.append(pd.DataFrame({
                "pos": k, "slot": 0, "line": dept.budget_line.iloc[k].to_numpy(object), "field": "budget_project",
                "expected": x.array, "found": _fmt(bp[k]).array,
                "message": _cat("部门整体绩效自评表项目支出", _fmt(bp[k]), "万元，部门项目支出自评汇总表（第", first[k],
                                "行起）", n[k], "个项目全年预算数合计", x, "万元。")}))
        # its 预算执行率 indicator (the first one) against the summary's executed ÷ budget
        rate = di[_map_unique(di.name, key, "") == "预算执行率"].drop_duplicates("dept_form_id")
        rpos = _positions(pd.Index(rate.dept_form_id), dept.dept_form_id)
        av = _at(rate.actual_value, rpos)
        with np.errstate(divide="ignore", invalid="ignore"):
            got = np.where(~np.isnan(budget) & (budget != 0) & ~np.isnan(executed), executed / budget * 100, np.nan)
        k = np.flatnonzero(np.abs(av - got) > exec_rate_tol)
        if len(k):
            g = _fmt(got[k], 2)
            frames.append(pd.DataFrame({
                "pos": k, "slot": 1, "line": rate.line.iloc[rpos[k]].to_numpy(object), "field": "exec_rate",
                "expected": (g + "%").array, "found": (_fmt(av[k]) + "%").array,
                "message": _cat("部门整体绩效自评表预算执行率完成值", _fmt(av[k]), "%，部门项目支出自评汇总表（第",
                                first[k], "行起）执行数合计", _fmt(executed[k], 2), "万元÷预算数合计",
                                _fmt(budget[k], 2), "万元=", g, "%。")}))
    # each level's printed points against its indicators' weights
    mine = di[di.level1_weight.notna()]
    g = mine.groupby(["dept_form_id", "level1", "level1_weight_line"], sort=False).agg(
        printed=("level1_weight", "first"), total=("weight", "sum"), n=("weight", "size")).reset_index()
    g = g[((g.total - g.printed).abs() > weight_tol).fillna(False)]
    if len(g):
        # every department form of that id reports them, in the order its levels are printed
        dpos = pd.DataFrame({"dept_form_id": dept.dept_form_id.astype(object), "pos": np.arange(len(dept))})
        g = g.assign(sub=np.arange(len(g)), dept_form_id=g.dept_form_id.astype(object)).merge(dpos, on="dept_form_id")
        p, t = _fmt(g.printed), _fmt(g.total)
        frames.append(pd.DataFrame({
            "pos": g.pos.to_numpy(), "slot": 2 + g["sub"].to_numpy(), "line": g.level1_weight_line.to_numpy(object),
            "field": "level1_weight", "expected": p.array, "found": t.array,
            "message": _cat("部门整体绩效自评表", _txt(g.level1, "<NA>"), "标注", p, "分，其下", _ints(g.n),
                            "项指标分值合计", t, "分。")}))
    out = _ordered(frames)
    if out.empty:
        return out
    pos = out.pos.to_numpy()
    out["source_file"] = dept.source_file.iloc[pos].to_numpy()
    out["project_name"] = dept.department.iloc[pos].to_numpy()
    out["department"] = dept.department.iloc[pos].to_numpy()  # the department form knows its department and year
    out["year"] = dept.year.iloc[pos].to_numpy()
    out["form_id"] = None
    return out.drop(columns=["pos", "slot"])


def _department_summary(ctx: Context, dept: pd.DataFrame) -> pd.DataFrame | None:
    """Per (file, unit) of the department forms' files: the unit's own summary table (the one with most rows when
    it prints several) with its budget and executed added up, its rows and first line."""
    s = ctx.summary
    s = s[~s.is_total.fillna(False)] if "is_total" in s else s
    s = s[s.source_file.isin(dept.source_file)]
    if s.empty:
        return None
    s = pd.DataFrame({"source_file": s.source_file.astype(object), "unit": _map_unique(s.unit, key, ""),
                      "summary_id": s.summary_id.astype(object), "budget": s.budget.array,
                      "executed": s.executed.array, "line_start": s.line_start.array, "pos": np.arange(len(s))})
    # the tables of the departments' own units only: each (file, unit) is chosen and added up on its own
    want = pd.MultiIndex.from_arrays([dept.source_file.astype(object), _map_unique(dept.department, key, "")])
    s = s[pd.MultiIndex.from_arrays([s.source_file, s.unit]).isin(want)]
    keys = ["source_file", "unit"]
    tables = s[s.summary_id.notna()].groupby([*keys, "summary_id"], sort=False, dropna=False).pos.agg(["size", "min"])
    best = tables.reset_index().sort_values(["size", "min"], ascending=[False, True], kind="stable") \
        .drop_duplicates(keys)[[*keys, "summary_id"]]
    own = s.merge(best, on=[*keys, "summary_id"]).sort_values("pos", kind="stable")
    if own.empty:
        return None
    # a Series sum per table (numpy's pairwise sum over the rows in order), as the figures are added up by hand
    codes, uniq = pd.factorize(pd.MultiIndex.from_arrays([own.source_file, own.unit]))
    order = np.argsort(codes, kind="stable")
    codes = codes[order]
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    ends = np.r_[starts[1:], len(codes)]
    out = {"n": ends - starts}
    for c in ("budget", "executed"):
        arr = own[c].array[order]
        data, mask = arr.to_numpy(dtype=float, na_value=0.0), arr.isna()
        out[c] = [np.sum(data[a:b], where=~mask[a:b]) if (~mask[a:b]).any() else np.nan
                  for a, b in zip(starts, ends, strict=True)]
    out["first"] = own.line_start.array[order].to_numpy(dtype=float, na_value=np.nan)
    out["first"] = np.fmin.reduceat(out["first"], starts)
    return pd.DataFrame(out, index=uniq[codes[starts]] if len(uniq) else uniq)
