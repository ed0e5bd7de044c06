"""Folding: one finding per cause (a wrong total explained by a wrong level is not reported twice),
template-level findings once per file, and each finding's file metadata."""

from __future__ import annotations

import pandas as pd

from perfdata.checks.registry import Context
from perfdata.scoring import thresholds


def _collapse(df: pd.DataFrame, forms: pd.DataFrame, mode: str, share: float, min_forms: int) -> pd.DataFrame:
    """One template-level row per file for a rule that hits (nearly) every form of that file."""
    if df.empty or mode == "no":
        return df
    per_file = forms.groupby("source_file").size()
    out = []
    df = df.assign(pattern=df["pattern"].fillna("") if "pattern" in df else "")
    for (sf, _), g in df.groupby(["source_file", "pattern"], sort=False, dropna=False):
        n_hit, n_all = g.form_id.nunique(), int(per_file.get(sf, 0))
        if mode == "always" or (n_all and n_hit >= min_forms and n_hit / n_all >= share):
            first = g.sort_values("line").iloc[0].copy()
            lines = ", ".join(str(int(x)) for x in sorted(g.line.dropna().unique()))
            first["form_id"] = pd.NA
            first["project_name"] = pd.NA
            first["lines"] = lines
            first["found"] = f"{first['found']}（{n_hit}/{n_all}张表）"
            first["message"] = (f"模板问题：本文件{n_all}张自评表中{n_hit}张存在此问题"
                                f"（如“{first['project_name_first']}”："
                                f"{first['message']}）涉及行：{lines}。")
            out.append(first.to_frame().T)
        else:
            out.append(g)
    return pd.concat(out, ignore_index=True)


def _note(out: pd.DataFrame, i, j, text: str) -> None:
    """Fold finding j into finding i: i's message gains `text`, i's lines gain j's lines."""
    lines = {int(x) for x in f"{out.at[i, 'lines']},{out.at[j, 'lines']}".split(",") if x.strip()}
    out.at[i, "lines"] = ", ".join(map(str, sorted(lines)))
    out.at[i, "message"] = out.at[i, "message"].rstrip("。") + text


_LEVEL_SCORE_FIELDS = {"output_score": "产出指标", "benefit_score": "效益指标", "satisfaction_score": "满意度指标"}


def _first_of(out: pd.DataFrame, mask: pd.Series, cols: list[str]) -> dict:
    """{(values of cols): index of the first finding with them} among the findings under mask."""
    sub = out[mask]
    found = {}
    for i, k in zip(sub.index, zip(*(sub[c] for c in cols), strict=True), strict=True):
        found.setdefault(k, i)
    return found


def _one_cause(out: pd.DataFrame, ctx: Context, tol: float, gap: float) -> pd.DataFrame:
    """One finding per cause. Folded, with their lines named in the finding that stays:
    - a narrative figure that repeats a wrong summary figure (same form, field, value) → the summary finding;
    - weights (and the total) off by exactly what a level's indicators are off by, and a report giving that
      level its printed points → the level finding;
    - a self-score far above the rescore only because the total does not add up → the total finding;
    - every indicator at full marks on a form already found full-scored despite low execution → that finding;
    - a duplicate name that the form's own title shows to be a wrong name → the title finding."""
    drop = set()
    summ = _first_of(out, out.rule == "summary_mismatch", ["form_id", "field", "found"])
    for j, r in out[(out.rule == "statement_mismatch") & out.form_id.notna()].iterrows():
        hit = summ.get((r.form_id, r.field, r.found))
        if hit is not None:
            _note(out, hit, j, f"（报告第{r.lines}行同）。")
            drop.add(j)
    # a report that gives a level the points printed beside it while its indicators add up to less (or more)
    lv = out[(out.rule == "level_weight_mismatch") & out.form_id.notna()]
    lv_first = _first_of(lv.assign(level=lv.message.str.split("标注").str[0]), lv.index == lv.index,
                         ["form_id", "level", "expected"])
    for j, r in out[(out.rule == "statement_mismatch") & out.field.isin(_LEVEL_SCORE_FIELDS)].iterrows():
        hit = lv_first.get((r.form_id, _LEVEL_SCORE_FIELDS[r.field], r.found))
        if hit is not None and j not in drop:
            _note(out, hit, j, f"；报告第{r.lines}行称该级得分{r.found}分，同此原因。")
            drop.add(j)
    f = ctx.f.drop_duplicates("form_id").set_index("form_id")
    lv_rows = out[out.rule == "level_weight_mismatch"]
    levels = {k: g for k, g in lv_rows.groupby("form_id")}
    totals_of = {k: g for k, g in out[out.rule == "total_mismatch"].groupby("form_id")}
    for j, w in out[out.rule == "weights_not_total"].iterrows():
        lv = levels.get(w.form_id)
        if lv is None or w.form_id not in f.index:
            continue
        off = (lv.found.astype(float) - lv.expected.astype(float)).sum()
        x = f.loc[w.form_id]
        tw = x.total_weight_reported if pd.notna(x.total_weight_reported) else thresholds()["full_marks"]
        ways = [float(w.found) - float(w.expected), x.indicator_weight - tw]
        if not any(abs(off - d) <= tol for d in ways):
            continue
        first = lv.index[0]
        _note(out, first, j, f"；各项分值合计因此为{w.found}分，与总分值{w.expected}分不符（第{int(w.line)}行）。")
        drop.add(j)
        for k, t in totals_of.get(w.form_id, out.iloc[:0]).iterrows():
            score_ways = [float(t.expected) - float(t.found), x.indicator_score_reported - float(t.found)]
            if any(abs(off - d) <= tol for d in score_ways):
                _note(out, first, k, f"；得分合计随之与总分栏{t.found}分不符。")
                drop.add(k)
    # a self-score that is high only because the total does not add up: the total is the cause
    totals = _first_of(out, (out.rule == "total_mismatch") & ~out.index.isin(drop), ["form_id"])
    for j, r in out[out.rule == "self_score_above_rescore"].iterrows():
        hit = totals.get((r.form_id,))
        if hit is not None and r.form_id in f.index and \
                float(out.at[hit, "expected"]) <= f.at[r.form_id, "total_rescore_max"] + gap:
            _note(out, hit, j, f"；按规则复核最多{r.expected.lstrip('≤')}分，自评偏高即由总分加总错误所致。")
            drop.add(j)
    # every indicator at full marks while execution is low: one finding of over-scoring
    full = _first_of(out, (out.rule == "full_score_despite_shortfall") & (out.field == "total_score_reported"),
                     ["form_id"])
    for j, r in out[(out.rule == "all_full_marks") & out.form_id.notna()].iterrows():
        hit = full.get((r.form_id,))
        if hit is not None:
            _note(out, hit, j, f"；{r.found}。")
            drop.add(j)
    titles = _first_of(out, out.rule == "title_name_mismatch", ["source_file", "project_name"])
    for j, d in out[out.rule == "duplicate_forms"].iterrows():
        hit = titles.get((d.source_file, d.project_name))
        if hit is not None:
            other = d.found if out.at[hit, "form_id"] == d.form_id else f"第{int(d.line)}行的自评表也用此名称"
            _note(out, hit, j, f"；{other}，两表重名。")
            drop.add(j)
    return out.drop(index=sorted(drop))


def _file_meta(out: pd.DataFrame, forms: pd.DataFrame) -> pd.DataFrame:
    """Region, department and year of a finding without a form (a summary row, a narrative figure) from
    its file, where the file's forms agree on one value."""
    for col in ("region", "department", "year"):
        if col not in forms or not out[col].isna().any():
            continue
        per = forms.groupby("source_file")[col].agg(lambda s: s.iloc[0] if s.nunique() == 1 and s.notna().all()
                                                    else None)
        out[col] = out[col].where(out[col].notna(), out.source_file.map(per))
    return out
