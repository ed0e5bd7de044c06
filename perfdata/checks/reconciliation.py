"""Reconciliation rules: two sources (form and summary, form and narrative, department form and statements)
that disagree."""

from __future__ import annotations

import pandas as pd

from perfdata import schema
from perfdata.checks.registry import Context, _num, rule
from perfdata.normalize import key

# -- reconciliation: two sources --------------------------------------------------------------------

def _compare(pairs, tol_of) -> list[tuple[str, float, float]]:
    return [(name, a, b) for name, a, b in pairs if pd.notna(a) and pd.notna(b) and abs(a - b) > tol_of(name)]


_LEVEL_RATES = {"产出指标": "output_rate", "效益指标": "benefit_rate", "满意度指标": "satisfaction_rate"}


def _level_rates(ctx: Context) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A level's score rate two ways: over its indicators' weights, and over the points printed beside it."""
    i = ctx.indicators[~ctx.indicators.is_budget_execution.fillna(False)]
    g = i.groupby(["form_id", "level1"]).agg(score=("score", "sum"), weight=("weight", "sum"),
                                             printed=("level1_weight", "first"))
    names = list(_LEVEL_RATES.values())
    by_weight = (g.score / g.weight * 100).unstack().rename(columns=_LEVEL_RATES).reindex(columns=names)
    by_printed = (g.score / g.printed * 100).unstack().rename(columns=_LEVEL_RATES).reindex(columns=names)
    return by_weight, by_printed


@rule("summary_mismatch")
def summary_mismatch(ctx: Context, money_tol: float, exec_rate_tol: float, total_tol: float) -> pd.DataFrame:
    s = ctx.summary
    if s.empty:
        return pd.DataFrame()
    tol = {"budget": money_tol, "executed": money_tol, "exec_rate_reported": exec_rate_tol,
           "total_score": total_tol, "output_rate": exec_rate_tol, "benefit_rate": exec_rate_tol,
           "satisfaction_rate": exec_rate_tol}.get
    label = {"budget": "全年预算数", "executed": "执行数", "exec_rate_reported": "执行率", "total_score": "自评得分",
             "output_rate": "产出指标得分率", "benefit_rate": "效益指标得分率", "satisfaction_rate": "满意度指标得分率"}
    forms = ctx.f.set_index("form_id")
    rates, rates_printed = _level_rates(ctx)
    rows = []
    for r in s.itertuples():
        own = r.executed / r.budget * 100 if pd.notna(r.budget) and pd.notna(r.executed) and r.budget else None
        done = set()
        for name, a, b in _compare([("exec_rate_reported", r.exec_rate_reported, own)], tol):
            done.add(name)
            rows.append({"line": r.line_start, "source_file": r.source_file, "project_name": r.project_name,
                         "form_id": r.form_id, "field": name, "expected": _num(round(b, 2)) + "%",
                         "found": _num(a) + "%",
                         "message": f"汇总表“{r.project_name}”执行数{_num(r.executed)}万元÷预算数{_num(r.budget)}万元="
                                    f"{_num(round(b, 2))}%，汇总表执行率填{_num(a)}%。"})
        if pd.isna(r.form_id) or r.form_id not in forms.index:
            continue
        f = forms.loc[r.form_id]
        lv = rates.loc[r.form_id] if r.form_id in rates.index else pd.Series(dtype=float)
        lp = rates_printed.loc[r.form_id] if r.form_id in rates_printed.index else pd.Series(dtype=float)
        pairs = [("budget", r.budget, f.budget), ("executed", r.executed, f.executed),
                 ("total_score", r.total_score, f.total_score_reported)]
        # a summary rate that its own figures and the form's amounts both give is right: the form's printed
        # rate is the wrong one, and exec_rate_mismatch reports it there
        if not (own is not None and pd.notna(r.exec_rate_reported) and pd.notna(f.exec_rate)
                and abs(r.exec_rate_reported - own) <= exec_rate_tol
                and abs(r.exec_rate_reported - f.exec_rate) <= exec_rate_tol):
            pairs.append(("exec_rate_reported", r.exec_rate_reported, f.exec_rate_reported))
        # a level rate is wrong only if neither way of computing it from the form gives it
        pairs += [(c, getattr(r, c), lv.get(c)) for c in _LEVEL_RATES.values()
                  if pd.isna(lp.get(c)) or pd.isna(getattr(r, c)) or abs(getattr(r, c) - lp.get(c)) > tol(c)]
        off = [(n, a, b) for n, a, b in _compare(pairs, tol) if n not in done]
        money = [(n, a, b) for n, a, b in off if n in ("budget", "executed")]
        if len(money) == 2 and money[0][1:] == money[1][1:]:  # one figure typed into both money columns
            off = [("budget/executed", *money[0][1:])] + [x for x in off if x not in money]
            label["budget/executed"] = "全年预算数和执行数"
        for name, a, b in off:
            unit = "万元" if name in ("budget", "executed", "budget/executed") else (
                "分" if name == "total_score" else "%")
            rows.append({"line": r.line_start, "source_file": r.source_file, "project_name": r.project_name,
                         "form_id": r.form_id, "field": name, "expected": _num(round(b, 2)), "found": _num(a),
                         "message": f"汇总表“{r.project_name}”{label[name]}为{_num(a)}{unit}，"
                                    f"项目自评表（第{f.line_start}行）为{_num(round(b, 2))}{unit}"
                                    + ("（汇总表填的是年初预算数）" if name == "budget" and pd.notna(f.budget_initial)
                                       and abs(a - f.budget_initial) <= money_tol else "") + "。"})
    if not rows:
        return pd.DataFrame()
    # the same figure in the unit's and the department's summary is one finding naming both rows
    df = pd.DataFrame(rows)
    df["group"] = list(zip(df.source_file, df.form_id.fillna(df.project_name), df.field, df.found, df.expected,
                           strict=True))
    return _merge_lines(df, "group", "汇总表")


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
        ind = ind[~ind.is_budget_execution.fillna(False)]
    return ind.groupby([key, "level1"]).score.sum(min_count=1)


def _form_values(ctx: Context) -> dict:
    """Every figure a project statement may be held against, per form: form columns, level scores and rates,
    funding lines."""
    forms = ctx.f.drop_duplicates("form_id").set_index("form_id").to_dict("index")
    levels = _level_scores(ctx.indicators, "form_id").to_dict()
    rates, printed = (x.to_dict("index") for x in _level_rates(ctx))
    fu = ctx.funding
    fu = fu.assign(amount=fu.budget_full_year.fillna(fu.budget_initial))
    lines = fu.drop_duplicates(["form_id", "fund_source"]).set_index(["form_id", "fund_source"]).amount.to_dict()

    def values(fid, col):
        if col in _LEVEL_RATES.values():  # either way of computing the rate from the form
            got = [rates.get(fid, {}).get(col), printed.get(fid, {}).get(col)]
        elif col in _LEVEL_RATES:
            got = [levels.get((fid, col))]
        elif col in ("fiscal", "carryover"):
            got = [lines.get((fid, col))]
        else:
            got = [forms[fid].get(col)]
        return [v for v in got if v is not None and pd.notna(v)]
    return {"values": values, "forms": forms}


def _stmt_row(r, field, expected, found, message, form_id=None) -> dict:
    return {"line": r.line, "source_file": r.source_file, "form_id": form_id, "field": field,
            "expected": expected, "found": found, "message": message,
            "project_name": None if form_id else r.subject,  # a linked form's own name is filled in later
            "group": (r.source_file, form_id or r.subject, field, found)}


@rule("statement_mismatch")
def statement_mismatch(ctx: Context, money_tol: float, exec_rate_tol: float,
                       statement_score_tol: float) -> pd.DataFrame:
    """A figure of the narrative report against the form it speaks of (matched by keys.link(), misspelled and
    short names included), and the department's figures against the 部门整体绩效自评表. The same figure
    repeated in several sentences is one finding that names every line."""
    st = ctx.statements
    if st.empty:
        return pd.DataFrame()
    tol_of = {"%": exec_rate_tol, "分": statement_score_tol, "万元": money_tol}
    rows = []
    proj = st[st.form_id.notna() & ~st.subject_kind.isin(["department", "unit"]).fillna(False)]
    if not proj.empty:
        fv = _form_values(ctx)
        for r in proj.itertuples():
            f = fv["forms"].get(r.form_id)
            if f is None:
                continue
            if r.metric == "grade":
                g = f["grade_reported"]
                if pd.notna(r.value_text) and pd.notna(g) and r.value_text != g:
                    rows.append(_stmt_row(r, "grade", g, r.value_text,
                                          f"报告称“{r.subject}”评价等级为“{r.value_text}”，自评表总分"
                                          f"{_num(f['total_score_reported'])}分对应“{g}”。", r.form_id))
                continue
            if r.metric not in _STATEMENT_FIELDS or pd.isna(r.value):
                continue
            col, label, unit, field = _STATEMENT_FIELDS[r.metric]
            have = fv["values"](r.form_id, col)
            if not have or any(abs(r.value - b) <= tol_of[unit] for b in have):
                continue
            b = round(have[0], 2)
            rows.append(_stmt_row(r, field, _num(b), _num(r.value),
                                  f"报告称“{r.subject}”{label}{_num(r.value)}{unit}，项目自评表“{f['project_name']}”"
                                  f"（第{f['line_start']}行）为{_num(b)}{unit}。", r.form_id))
    rows += _department_statements(ctx, st, tol_of)
    if not rows:
        return pd.DataFrame()
    return _merge_lines(pd.DataFrame(rows), "group", "报告")


def _department_statements(ctx: Context, st: pd.DataFrame, tol_of: dict) -> list[dict]:
    """Department figures of the narrative against the department's 整体绩效自评表 of the same file; a stated
    execution rate also against executed ÷ budget stated in the same sentence."""
    dept = ctx.tables.get("department_forms")
    if dept is None or dept.empty:
        return []
    di = ctx.tables.get("department_indicators", schema.frame("department_indicators", []))
    levels = _level_scores(di, "dept_form_id")
    rate_rows = di[di.name.fillna("").map(key).eq("预算执行率")].drop_duplicates("dept_form_id") \
        .set_index("dept_form_id").actual_value
    d_st = st[st.subject_kind.eq("department") & st.source_file.isin(dept.source_file)]
    by_file = dept.drop_duplicates("source_file").set_index("source_file", drop=False)
    sentence = d_st.groupby(["source_file", "line"]).apply(lambda g: dict(zip(g.metric, g.value, strict=True)))
    sums = di.groupby("dept_form_id").score.sum(min_count=1)
    rows = []
    for r in d_st.itertuples():
        if r.metric not in _DEPT_FIELDS or pd.isna(r.value):
            continue
        d = by_file.loc[r.source_file]
        col, label, unit = _DEPT_FIELDS[r.metric]
        where_line = d.budget_line if col.startswith("budget") and pd.notna(d.budget_line) else d.line_start
        where = f"部门整体绩效自评表（第{int(where_line)}行）"
        if col in _LEVEL_RATES or col in ("投入指标", "过程指标"):
            b = levels.get((d.dept_form_id, col))
        elif col == "预算执行率":
            b = rate_rows.get(d.dept_form_id)
        elif col == "total_score" and pd.isna(d.total_score):  # no 总分 row printed: its indicators' scores
            b = sums.get(d.dept_form_id)
            where = f"部门整体绩效自评表（第{int(d.line_start)}行）各指标得分合计"
        else:
            b = d[col]
        if b is None or pd.isna(b) or abs(r.value - b) <= tol_of[unit]:
            continue
        extra = ""
        if r.metric == "exec_rate":
            same = sentence.get((r.source_file, r.line), {})
            if pd.notna(same.get("executed")) and pd.notna(same.get("budget_total")) and same["budget_total"]:
                own = same["executed"] / same["budget_total"] * 100
                extra = (f"；同句执行数{_num(same['executed'])}万元÷预算总额{_num(same['budget_total'])}万元"
                         f"={_num(round(own, 2))}%")
        rows.append(_stmt_row(r, r.metric, _num(b), _num(r.value),
                              f"报告称“{r.subject}”{label}{_num(r.value)}{unit}，{where}为{_num(b)}{unit}{extra}。"))
    return rows


def _merge_lines(df: pd.DataFrame, by: str, what: str) -> pd.DataFrame:
    """Rows with the same `by` value become one finding at the first line; the message names the other lines."""
    df = df.assign(**{by: df[by].map(repr)}).sort_values("line", kind="stable").reset_index(drop=True)
    lines = df.groupby(by, sort=False).line.agg(lambda x: sorted({int(v) for v in x.dropna()})).to_dict()
    first = df.drop_duplicates(by).copy()
    ls = [lines[k] for k in first[by]]
    first["lines"] = [", ".join(map(str, x)) for x in ls]
    first["message"] = [m.rstrip("。") + f"（{what}第{'、'.join(map(str, x))}行均同）。" if len(x) > 1 else m
                        for m, x in zip(first.message, ls, strict=True)]
    return first.drop(columns=[by])


@rule("department_summary_mismatch")
def department_summary_mismatch(ctx: Context, money_tol: float, exec_rate_tol: float,
                                weight_tol: float) -> pd.DataFrame:
    """The 部门整体绩效自评表 against the department's own 项目支出自评汇总表 (the summary whose unit is the
    department): its 项目支出 against the projects' budgets added up, its 预算执行率 against the projects'
    executed ÷ budget, and each level's printed points against its indicators."""
    dept = ctx.tables.get("department_forms")
    if dept is None or dept.empty:
        return pd.DataFrame()
    di = ctx.tables.get("department_indicators", schema.frame("department_indicators", []))
    s = ctx.summary
    s = s[~s.is_total.fillna(False)] if "is_total" in s else s
    s = s[s.source_file.isin(dept.source_file)]
    s_by = {k: g for k, g in s.assign(unit_key=s.unit.map(_plain_name)).groupby(["source_file", "unit_key"])}
    di_by = {k: g for k, g in di.groupby("dept_form_id")}
    none = di.iloc[:0]
    rows = []
    for d in dept.itertuples():
        own = s_by.get((d.source_file, _plain_name(d.department)), s.iloc[:0])
        mine_all = di_by.get(d.dept_form_id, none)
        if len(own) and "summary_id" in own:  # the unit's own table aside: the department's, with most rows
            own = own[own.summary_id == own.summary_id.value_counts().idxmax()]
        base = {"source_file": d.source_file, "project_name": d.department, "form_id": None}
        if len(own):
            budget, executed = own.budget.sum(min_count=1), own.executed.sum(min_count=1)
            n, first = len(own), int(own.line_start.min())
            if pd.notna(d.budget_project) and pd.notna(budget) and abs(d.budget_project - budget) > money_tol:
                rows.append({**base, "line": d.budget_line, "field": "budget_project",
                             "expected": _num(round(budget, 2)), "found": _num(d.budget_project),
                             "message": f"部门整体绩效自评表项目支出{_num(d.budget_project)}万元，部门项目支出"
                                        f"自评汇总表（第{first}行起）{n}个项目全年预算数合计"
                                        f"{_num(round(budget, 2))}万元。"})
            rate = mine_all[mine_all.name.fillna("").map(key).eq("预算执行率")]
            if len(rate) and pd.notna(budget) and budget and pd.notna(executed):
                r, got = rate.iloc[0], executed / budget * 100
                if pd.notna(r.actual_value) and abs(r.actual_value - got) > exec_rate_tol:
                    rows.append({**base, "line": r.line, "field": "exec_rate", "expected": _num(round(got, 2)) + "%",
                                 "found": _num(r.actual_value) + "%",
                                 "message": f"部门整体绩效自评表预算执行率完成值{_num(r.actual_value)}%，部门项目支出"
                                            f"自评汇总表（第{first}行起）执行数合计{_num(round(executed, 2))}万元÷"
                                            f"预算数合计{_num(round(budget, 2))}万元={_num(round(got, 2))}%。"})
        mine = mine_all[mine_all.level1_weight.notna()]
        g = mine.groupby(["level1", "level1_weight_line"], sort=False).agg(
            printed=("level1_weight", "first"), total=("weight", "sum"), n=("weight", "size")).reset_index()
        for x in g[(g.total - g.printed).abs() > weight_tol].itertuples():
            rows.append({**base, "line": x.level1_weight_line, "field": "level1_weight", "expected": _num(x.printed),
                         "found": _num(x.total),
                         "message": f"部门整体绩效自评表{x.level1}标注{_num(x.printed)}分，其下{x.n}项指标分值合计"
                                    f"{_num(x.total)}分。"})
    return pd.DataFrame(rows)


def _plain_name(x) -> str:
    return key(x) if isinstance(x, str) else ""
