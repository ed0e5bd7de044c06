"""Folding: one finding per cause (a wrong total explained by a wrong level is not reported twice),
template-level findings once per file, and each finding's file metadata.

All of it works on whole columns: which findings fold into which is a join on the keys that tie them
(form, field, figure), and a folded finding's message and lines are rewritten once per fold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from perfdata.checks.registry import (
    Context,
    _cat,
    _distinct_lines,
    _floats,
    _group_join,
    _ints,
    _ngroup,
    _positions,
    _txt,
)
from perfdata.scoring import _arrow_text, thresholds


def _sorted_lines(codes: np.ndarray, line, n: int) -> np.ndarray:
    """Per group 0…n-1: its distinct lines, sorted, as "12, 15" ("" for a group without a line)."""
    g, text = _distinct_lines(codes, line)
    return _group_join(g, text, ", ", n)


def _collapse(df: pd.DataFrame, per_file: pd.Series, mode: str, share: float, min_forms: int) -> pd.DataFrame:
    """One template-level row per file for a rule that hits (nearly) every form of that file; `per_file`: the
    forms of each source file. The findings come out grouped by (file, pattern), in order of appearance."""
    if df.empty or mode == "no":
        return df
    df = df.reset_index(drop=True)
    pattern = df["pattern"].fillna("") if "pattern" in df else pd.Series("", index=df.index)
    gid = _ngroup(df.source_file, pattern)
    n = int(gid.max()) + 1
    # forms hit per group, forms of the group's file
    fcode = pd.factorize(df.form_id)[0]
    ok = fcode >= 0
    pairs = np.unique(gid[ok].astype(np.int64) * (int(fcode.max()) + 2) + fcode[ok])
    n_hit = np.bincount(pairs // (int(fcode.max()) + 2), minlength=n) if len(pairs) else np.zeros(n, dtype=int)
    _, first = np.unique(gid, return_index=True)
    at = _positions(per_file.index, df.source_file.iloc[first])
    n_all = np.where(at >= 0, per_file.to_numpy()[np.maximum(at, 0)] if len(per_file) else 0, 0).astype(int)
    if mode == "always":
        fold = np.ones(n, dtype=bool)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            fold = (n_all > 0) & (n_hit >= min_forms) & (n_hit / np.maximum(n_all, 1) >= share)
    rows_fold = fold[gid]
    if not rows_fold.any():
        return df.iloc[np.argsort(gid, kind="stable")].reset_index(drop=True)
    # the folded group's first finding by line stands for it, naming every line
    line = _floats(df.line)
    by_line = np.lexsort((np.where(np.isnan(line), np.inf, line), gid))
    lead = by_line[np.r_[True, gid[by_line][1:] != gid[by_line][:-1]]]
    lead = lead[fold[gid[lead]]]
    g = gid[lead]
    lines = _sorted_lines(gid[rows_fold], line[rows_fold], n)[g]  # of the folded groups only
    hit, total = n_hit[g].astype(str), n_all[g].astype(str)
    found = _cat(_txt(df.found.iloc[lead], "<NA>"), "（", hit, "/", total, "张表）")
    message = _cat("模板问题：本文件", total, "张自评表中", hit, "张存在此问题（如“",
                   _txt(df.project_name_first.iloc[lead], "<NA>"), "”：", _txt(df.message.iloc[lead], "<NA>"),
                   "）涉及行：", lines, "。")
    # the rows that stay and the lead rows, grouped: one take of the frame, the lead rows' new cells put in place
    keep = np.flatnonzero(~rows_fold)
    order = np.argsort(np.r_[gid[keep], g], kind="stable")
    out = df.iloc[np.r_[keep, lead][order]].reset_index(drop=True)
    is_lead = order >= len(keep)
    k = order[is_lead] - len(keep)  # each lead row's place among the leads, in the output's order
    cells = out["lines"].to_numpy(object).copy() if "lines" in out else np.full(len(out), None, dtype=object)
    cells[is_lead] = lines[k]
    out["lines"] = cells
    mask = pa.array(is_lead)
    for col, new in (("found", found), ("message", message)):
        now = _arrow_text(out[col])
        out[col] = pd.arrays.ArrowStringArray(pc.replace_with_mask(now, mask, _arrow_text(new).take(pa.array(k))))
    for col in ("form_id", "project_name"):
        out[col] = out[col].mask(is_lead)
    return out


_LEVEL_SCORE_FIELDS = {"output_score": "产出指标", "benefit_score": "效益指标", "satisfaction_score": "满意度指标"}


class _Findings:
    """The findings of a run, read rule by rule: columns of the rows of one rule (or a few), never of all."""

    def __init__(self, out: pd.DataFrame):
        self.out = out
        codes, rules = pd.factorize(out.rule)
        order = np.argsort(codes, kind="stable")
        cuts = np.flatnonzero(np.diff(codes[order])) + 1
        self.rows = dict(zip(rules, np.split(order, cuts), strict=True)) if len(order) else {}

    def of(self, rule: str, *cols: str, where=None) -> pd.DataFrame:
        """The findings of `rule` (index: their row), with cols as objects; `where` filters them."""
        k = self.rows.get(rule, np.array([], dtype=int))
        sub = pd.DataFrame({c: pd.Series(self.out[c].iloc[k].to_numpy(object), index=k, dtype=object)
                            for c in cols}, index=k)
        return sub[where(sub)] if where is not None and len(sub) else sub


def _firsts(sub: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    """The first finding (its row as `i`) per distinct value of cols."""
    first = sub[~sub.duplicated(cols)]
    return first[cols].assign(i=first.index.to_numpy())


def _hits(sub: pd.DataFrame, keys: dict, table: pd.DataFrame) -> pd.DataFrame:
    """The findings of sub (their row as `j`) that find a row of `table` by their keys (the table's column ←
    theirs): columns j, i and the table's other columns, in the findings' order."""
    left = pd.DataFrame({k: pd.Series(sub[v].to_numpy(object) if isinstance(v, str) else np.asarray(v, dtype=object),
                                      dtype=object) for k, v in keys.items()})
    left["j"] = sub.index.to_numpy()
    return left.merge(table, on=list(keys), how="inner", sort=False)


def _num_of(values) -> np.ndarray:
    return pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _one_cause(out: pd.DataFrame, ctx: Context, tol: float, gap: float) -> tuple[pd.DataFrame, np.ndarray, tuple]:
    """One finding per cause: the findings with the lines of those that stay rewritten, which are folded into
    another (to be left out with the final ordering: the frame is taken once), and the messages as (texts,
    each finding's position in them). Folded, with their lines named in the finding that stays:
    - a narrative figure that repeats a wrong summary figure (same form, field, value) → the summary finding;
    - weights (and the total) off by exactly what a level's indicators are off by, and a report giving that
      level its printed points → the level finding;
    - a self-score far above the rescore only because the total does not add up → the total finding;
    - every indicator at full marks on a form already found full-scored despite low execution → that finding;
    - a duplicate name that the form's own title shows to be a wrong name → the title finding."""
    out = out.reset_index(drop=True)
    fx = _Findings(out)
    folds = []  # (i: the finding that stays, j: the one folded into it, its text), in the order they are made
    dropped = np.zeros(len(out), dtype=bool)

    def fold(i, j, text):
        folds.append(pd.DataFrame({"i": np.asarray(i), "j": np.asarray(j), "text": np.asarray(text, dtype=object)}))
        dropped[np.asarray(j, dtype=int)] = True

    def has_form(x):
        return pd.notna(x.form_id).to_numpy(bool)

    # a narrative figure repeating a wrong summary figure
    same = ["form_id", "field", "found"]
    st = fx.of("statement_mismatch", *same, "lines")
    h = _hits(st[has_form(st)], dict(zip(same, same, strict=True)),
              _firsts(fx.of("summary_mismatch", *same), same))
    if len(h):
        fold(h.i, h.j, _cat("（报告第", _txt(st.lines.loc[h.j], "None"), "行同）。"))
    # a report that gives a level the points printed beside it while its indicators add up to less (or more)
    lv = fx.of("level_weight_mismatch", "form_id", "message", "expected", where=has_form)
    lv["level"] = _before(lv.message, "标注")
    ask = st[st.field.isin(list(_LEVEL_SCORE_FIELDS)).to_numpy(bool) & ~dropped[st.index]]
    h = _hits(ask, {"form_id": "form_id", "level": ask.field.map(_LEVEL_SCORE_FIELDS), "expected": "found"},
              _firsts(lv, ["form_id", "level", "expected"]))
    if len(h):
        fold(h.i, h.j, _cat("；报告第", _txt(st.lines.loc[h.j], "None"), "行称该级得分",
                            _txt(st.found.loc[h.j], "<NA>"), "分，同此原因。"))
    # weights (and then the total) off by what the form's levels are off by
    f = ctx.forms_once().set_index("form_id")
    lvr = fx.of("level_weight_mismatch", "form_id", "found", "expected", where=has_form)
    w = fx.of("weights_not_total", "form_id", "found", "expected", "line", where=has_form)
    if len(lvr) and len(w):
        diff = _num_of(lvr.found) - _num_of(lvr.expected)
        codes, forms = pd.factorize(lvr.form_id)
        order = np.argsort(codes, kind="stable")
        starts = np.flatnonzero(np.r_[True, np.diff(codes[order]) != 0])
        per = pd.DataFrame({"form_id": np.asarray(forms, dtype=object), "off": np.add.reduceat(diff[order], starts),
                            "first": lvr.index.to_numpy()[order][starts]})
        h = _hits(w, {"form_id": "form_id"}, per)
        pos = _positions(f.index, h.form_id)
        h, pos = h[pos >= 0], pos[pos >= 0]
        x = f[["total_weight_reported", "indicator_weight"]].iloc[pos]
        tw = _floats(x.total_weight_reported.fillna(thresholds()["full_marks"]))
        off = h.off.to_numpy()
        by = (np.abs(off - (_num_of(w.found.loc[h.j]) - _num_of(w.expected.loc[h.j]))) <= tol) | \
            (np.abs(off - (_floats(x.indicator_weight) - tw)) <= tol)
        h = h[by].reset_index(drop=True)
        if len(h):
            j = h.j.to_numpy()
            made = [pd.DataFrame({"i": h["first"].to_numpy(), "j": j, "w": np.arange(len(h)), "k": -1,
                                  "text": _cat("；各项分值合计因此为", _txt(w.found.loc[j], "<NA>"), "分，与总分值",
                                               _txt(w.expected.loc[j], "<NA>"), "分不符（第", _ints(w.line.loc[j]),
                                               "行）。")})]
            # each weights fold is followed by the folds of its form's totals that the same levels explain
            tot = fx.of("total_mismatch", "form_id", "found", "expected")
            t = _hits(tot, {"form_id": "form_id"}, h[["form_id", "first", "off"]].assign(w=np.arange(len(h))))
            if len(t):
                x = f[["indicator_score_reported"]].iloc[_positions(f.index, t.form_id)]
                tf = _num_of(tot.found.loc[t.j])
                off = t.off.to_numpy()
                t = t[(np.abs(off - (_num_of(tot.expected.loc[t.j]) - tf)) <= tol)
                      | (np.abs(off - (_floats(x.indicator_score_reported) - tf)) <= tol)]
                made.append(pd.DataFrame({"i": t["first"].to_numpy(), "j": t.j.to_numpy(), "w": t.w.to_numpy(),
                                          "k": t.j.to_numpy(),
                                          "text": _cat("；得分合计随之与总分栏", _txt(tot.found.loc[t.j], "<NA>"),
                                                       "分不符。")}))
            made = pd.concat(made, ignore_index=True).sort_values(["w", "k"], kind="stable")
            fold(made.i, made.j, made.text)
    # a self-score that is high only because the total does not add up: the total is the cause
    tot = fx.of("total_mismatch", "form_id", "expected")
    totals = _firsts(tot[~dropped[tot.index]], ["form_id"])
    ss = fx.of("self_score_above_rescore", "form_id", "expected")
    h = _hits(ss, {"form_id": "form_id"}, totals)
    pos = _positions(f.index, h.form_id)
    h, pos = h[pos >= 0], pos[pos >= 0]
    if len(h):
        cap = _floats(f.total_rescore_max.iloc[pos]) + gap
        h = h[_num_of(tot.expected.loc[h.i]) <= cap]
        if len(h):
            fold(h.i, h.j, _cat("；按规则复核最多", _txt(ss.expected.loc[h.j], "<NA>").str.lstrip("≤"),
                                "分，自评偏高即由总分加总错误所致。"))
    # every indicator at full marks while execution is low: one finding of over-scoring
    full = fx.of("full_score_despite_shortfall", "form_id", "field",
                 where=lambda x: (x.field == "total_score_reported").to_numpy(bool))
    af = fx.of("all_full_marks", "form_id", "found", where=has_form)
    h = _hits(af, {"form_id": "form_id"}, _firsts(full, ["form_id"]))
    if len(h):
        fold(h.i, h.j, _cat("；", _txt(af.found.loc[h.j], "<NA>"), "。"))
    titles = fx.of("title_name_mismatch", "source_file", "project_name", "form_id")
    dup = fx.of("duplicate_forms", "source_file", "project_name", "form_id", "found", "line")
    h = _hits(dup, {"source_file": "source_file", "project_name": "project_name"},
              _firsts(titles, ["source_file", "project_name"]))
    if len(h):
        same = pd.Series(titles.form_id.loc[h.i].to_numpy(object)).eq(pd.Series(dup.form_id.loc[h.j].to_numpy(object)))
        other = np.where(same.fillna(False).to_numpy(bool), _txt(dup.found.loc[h.j], "<NA>").to_numpy(object),
                         _cat("第", _ints(dup.line.loc[h.j]), "行的自评表也用此名称"))
        fold(h.i, h.j, _cat("；", other, "，两表重名。"))
    if not folds:
        return out, dropped, (_arrow_text(out.message), np.arange(len(out)))
    # each fold: the finding's lines gain the folded one's, its message the text (in the order folded)
    folds = pd.concat(folds, ignore_index=True)
    i, j = folds.i.to_numpy(), folds.j.to_numpy()
    targets = np.unique(i)
    # a message gains each text in turn, its final '。' dropped before the next: its own text and every text
    # but the last without their final '。's, joined (the same as appending one by one)
    texts = _arrow_text(folds.text.astype(object))
    last = ~pd.Series(i).duplicated(keep="last").to_numpy()
    texts = pc.if_else(pa.array(last), texts, pc.utf8_rtrim(texts, characters="。"))
    own = pc.utf8_rtrim(_arrow_text(out.message.iloc[targets]), characters="。")
    msg = _arrow_text(_group_join(np.r_[np.arange(len(targets)), np.searchsorted(targets, i)],
                                  pa.concat_arrays([own, texts]), "", len(targets), arrow=True))  # per target
    lines = out["lines"]
    rows, line = _each_line(np.r_[lines.iloc[targets].to_numpy(object), lines.iloc[j].to_numpy(object)])
    owner = np.r_[targets, i][rows]
    codes, at = pd.factorize(owner)
    joined = pd.Series(_sorted_lines(codes, line, len(at)), index=at)
    kept = targets[~dropped[targets]]
    new_lines = out["lines"].to_numpy(object).copy()
    new_lines[kept] = joined.reindex(kept).to_numpy(object)
    # the messages: the rewritten ones after all the others, each finding's message found by `src` (taken once,
    # with the final order)
    messages = pa.chunked_array([_arrow_text(out.message), msg.take(pa.array(np.searchsorted(targets, kept)))])
    src = np.arange(len(out))
    src[kept] = len(out) + np.arange(len(kept))
    out["lines"] = new_lines
    return out, dropped, (messages, src)


def _before(text: pd.Series, sep: str) -> np.ndarray:
    """The text before the first `sep` of every cell (all of it without one; null → NaN), as objects."""
    a = _arrow_text(pd.Series(text, dtype=object))
    if a is None:
        return pd.Series(text, dtype=object).str.split(sep).str[0].to_numpy(object)
    head = pc.list_element(pc.split_pattern(a, sep, max_splits=1), 0).to_numpy(zero_copy_only=False)
    return np.where(pd.isna(head), np.nan, head).astype(object)


def _each_line(lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, line number) of every line named in a `lines` cell ("12, 15"; None names none)."""
    a = _arrow_text(pd.Series(lines, dtype=object))
    if a is None:
        parts = pd.Series(lines, dtype=object).str.split(",").explode()
        parts = parts[parts.notna() & parts.str.strip().ne("")]
        return parts.index.to_numpy(), pd.to_numeric(parts.str.strip()).to_numpy()
    split = pc.split_pattern(a, ",")
    each = pc.utf8_trim_whitespace(pc.list_flatten(split))
    rows = pc.list_parent_indices(split).to_numpy()
    ok = pc.not_equal(each, "").to_numpy(zero_copy_only=False)
    return rows[ok], pc.cast(each.filter(pa.array(ok)), pa.int64()).to_numpy()


def _file_meta(out: pd.DataFrame, forms: pd.DataFrame) -> pd.DataFrame:
    """Region, department and year of a finding without a form (a summary row, a narrative figure) from
    its file, where the file's forms agree on one value."""
    for col in ("region", "department", "year"):
        if col not in forms or not out[col].isna().any():
            continue
        g = forms.groupby("source_file")[col]
        agree = (g.nunique() == 1) & (g.count() == g.size())
        per = g.first()[agree]
        out[col] = out[col].where(out[col].notna(), out.source_file.map(per))
    return out
