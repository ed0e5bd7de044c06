"""Across years: each project linked to itself from one year to the next, and what changed between them.

A project's name shifts from year to year. The year and the document number in it change
(2024年保险资格认证 → 2025年…, 冀财社[2023]220号 → [2024]301号), a word gets rewritten (缴费补贴 → 缴费补助),
and the unit is left blank in some years. So a form is linked to a form of the year before, in the same
region and department, by the first of these that fits:

- ``key``: the same project_key (keys.project_key), narrowed to the same unit where the department has
  several such forms;
- ``name``: the same unit and the same name_key (the project_key with years and document numbers taken out);
- ``fuzzy``: the same unit and the one clearly closest name_key: rapidfuzz ratio at least ``fuzzy_min``,
  and ``fuzzy_margin`` ahead of the next candidate on both sides. rapidfuzz.process.cdist runs only
  inside one unit's block.

Every link is one to one. A name that fits several projects is marked ``ambiguous`` and left unlinked,
never guessed. A year's forms are linked the same way to the next year's 绩效目标表 (``targets``) of the
same department. Within linked projects, indicators are linked by their normalised name, and by their
order among indicators of the same name.

Thresholds and the severity of each finding are rows in rules/years.csv; docs/audit.md explains them.
"""

from __future__ import annotations

import re
from functools import cache

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from perfdata import rules, schema
from perfdata.checks.registry import _cat, _fmt, _txt
from perfdata.keys import project_key
from perfdata.normalize import key
from perfdata.scoring import conformed, execution_base, execution_rate, thresholds

SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}
_SEP = "\x1f"
_DOC = re.compile(r"\[(?:19|20)\d{2}\]\d{1,5}号")  # a document number as project_key spells it
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}年度?")


# -- settings ---------------------------------------------------------------------------------------

@cache
def _rows() -> tuple[dict[str, str], ...]:
    return rules.table("years.csv")


def settings(**overrides) -> dict[str, float]:
    """The comparison's thresholds (rules/years.csv). An unknown name is an error, so a typo cannot
    silently leave the default in place.

    >>> settings()["fuzzy_min"], settings(exec_drop_min=10)["exec_drop_min"]
    (85.0, 10.0)
    """
    out = {r["name"]: float(r["value"]) for r in _rows() if r["kind"] == "threshold"}
    unknown = set(overrides) - set(out)
    if unknown:
        raise ValueError(f"unknown years setting(s): {', '.join(sorted(unknown))}; known: {', '.join(out)}")
    return {**out, **{k: float(v) for k, v in overrides.items()}}


@cache
def rule_table() -> pd.DataFrame:
    """The findings the comparison reports (rules/years.csv, kind rule): id, severity, Chinese title, why.

    >>> rule_table().loc["target_set_low", "title_zh"]
    '目标设置偏低'
    """
    rows = [r for r in _rows() if r["kind"] == "rule"]
    return pd.DataFrame({"severity": [r["value"] for r in rows], "title_zh": [r["title_zh"] for r in rows],
                         "why": [r["meaning"] for r in rows]}, index=pd.Index([r["name"] for r in rows], name="id"))


# -- keys -------------------------------------------------------------------------------------------

def name_key(name) -> str | None:
    """project_key with years and document numbers taken out: the part of a recurring project's name that
    stays the same from one year to the next.

    >>> name_key("冀财社[2023]220号省2024年省级就业补助资金") == name_key("冀财社【2024】301号省2025年省级就业补助资金")
    True
    >>> name_key("2024年保险资格认证"), name_key("2024年")
    ('保险资格认证', None)
    """
    k = project_key(name)
    if k is None:
        return None
    return _YEAR.sub("", _DOC.sub("", k)) or None


def _text(s: pd.Series) -> np.ndarray:
    """A text column as an object array, nulls as None."""
    return s.astype("object").where(s.notna(), None).to_numpy(dtype=object)


def _mapped(s: pd.Series, fn) -> np.ndarray:
    """fn of each distinct non-null value of a text column, as an object array (None for nulls and empties)."""
    codes, uniq = pd.factorize(_text(s))
    res = np.array([fn(u) or None for u in uniq] + [None], dtype=object)
    return res[codes]


def _norm(s: pd.Series) -> np.ndarray:
    """normalize.key of a text column ("" for nulls): the spelling blocks are compared in."""
    out = _mapped(s, key)
    out[pd.isna(out)] = ""
    return out


def _join(*parts: np.ndarray, need: np.ndarray | None = None) -> np.ndarray:
    """Parts joined row by row into one group key; None where any part is None (or `need` is False)."""
    n = len(parts[0])
    ok = np.ones(n, dtype=bool) if need is None else need.copy()
    for p in parts:
        ok &= ~pd.isna(p)
    out = np.full(n, None, dtype=object)
    if ok.any():
        joined = pd.Series(parts[0][ok], dtype="string")
        for p in parts[1:]:
            joined = joined + _SEP + pd.Series(p[ok], dtype="string")
        out[ok] = joined.to_numpy(dtype=object)
    return out


# -- one-to-one matching ----------------------------------------------------------------------------

def _codes(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Group codes of two object arrays over their union (-1 for None) and the number of groups."""
    codes, uniq = pd.factorize(np.concatenate([a, b]))
    return codes[:len(a)], codes[len(a):], len(uniq)


def _unique_pairs(pg: np.ndarray, cg: np.ndarray):
    """Pairs (prev position, current position) of groups holding exactly one row on each side, plus which
    rows sit in groups with candidates on both sides but more than one on a side."""
    cp, cc, n = _codes(pg, cg)
    hp, hc = cp >= 0, cc >= 0
    n_p = np.bincount(cp[hp], minlength=n)
    n_c = np.bincount(cc[hc], minlength=n)
    one = (n_p == 1) & (n_c == 1)
    pos_p, pos_c = np.full(n, -1), np.full(n, -1)
    pos_p[cp[hp]] = np.flatnonzero(hp)
    pos_c[cc[hc]] = np.flatnonzero(hc)
    groups = np.flatnonzero(one)
    multi = np.r_[(n_p >= 1) & (n_c >= 1) & ~one, False]  # index -1: no group
    return pos_p[groups], pos_c[groups], multi[cp], multi[cc], (cp, cc, n)


def _tier(pg, cg, pn, cn, free_p, free_c):
    """One tier of the matching among the rows still free: unique pairs by the group key, then, among
    groups with several candidates, unique pairs by group and narrowing key (the unit). Rows of a group left
    with candidates on both sides are ambiguous."""
    pg, cg = np.where(free_p, pg, None), np.where(free_c, cg, None)
    pi, ci, mp, mc, (cp, cc, n) = _unique_pairs(pg, cg)
    if pn is not None and (mp.any() and mc.any()):
        pi2, ci2, *_ = _unique_pairs(_join(pg, pn, need=mp), _join(cg, cn, need=mc))
        pi, ci = np.r_[pi, pi2], np.r_[ci, ci2]
    left_p, left_c = mp.copy(), mc.copy()
    left_p[pi], left_c[ci] = False, False
    both = np.r_[(np.bincount(cp[left_p], minlength=n) > 0) & (np.bincount(cc[left_c], minlength=n) > 0), False]
    return pi, ci, left_p & both[cp], left_c & both[cc]


def _second(s: np.ndarray, axis: int) -> np.ndarray:
    """The second highest score along an axis (0 where there is only one candidate)."""
    if s.shape[axis] < 2:
        return np.zeros(s.shape[1 - axis], dtype=s.dtype)
    return -np.partition(-s, 1, axis=axis).take(1, axis=axis)


def _fuzzy(pb, pk, cb, ck, cutoff: float, margin: float):
    """Pairs of the one clearly closest name within each block: mutual best, at least `cutoff`, and
    `margin` ahead of the second best in its row and its column. Returns (prev pos, current pos, score)."""
    cp, cc, _ = _codes(np.where(pd.isna(pk), None, pb), np.where(pd.isna(ck), None, cb))
    shared = np.intersect1d(cp[cp >= 0], cc[cc >= 0])
    if not len(shared):
        return np.array([], dtype=int), np.array([], dtype=int), np.array([])
    by_p = pd.Series(np.arange(len(cp)))[cp >= 0].groupby(cp[cp >= 0]).indices
    by_c = pd.Series(np.arange(len(cc)))[cc >= 0].groupby(cc[cc >= 0]).indices
    rows_p = np.flatnonzero(cp >= 0)
    rows_c = np.flatnonzero(cc >= 0)
    out_p, out_c, out_s = [], [], []
    for g in shared:
        ip, ic = rows_p[by_p[g]], rows_c[by_c[g]]
        s = process.cdist(list(pk[ip]), list(ck[ic]), scorer=fuzz.ratio, dtype=np.float32, workers=1)
        bj = s.argmax(axis=1)
        best = s[np.arange(len(ip)), bj]
        mutual = s.argmax(axis=0)[bj] == np.arange(len(ip))
        ok = mutual & (best >= cutoff) & (best - _second(s, 1) >= margin) & (best - _second(s, 0)[bj] >= margin)
        out_p.append(ip[ok]), out_c.append(ic[bj[ok]]), out_s.append(best[ok].astype(float))
    return np.concatenate(out_p), np.concatenate(out_c), np.concatenate(out_s)


def _match(tiers, fuzzy, n_p: int, n_c: int, cfg: dict):
    """Each current row's previous row (-1: none), match kind and score, tier by tier, then fuzzy."""
    prev = np.full(n_c, -1)
    kind = np.full(n_c, None, dtype=object)
    score = np.full(n_c, np.nan)
    free_p, free_c = np.ones(n_p, dtype=bool), np.ones(n_c, dtype=bool)
    for k, pg, cg, pn, cn in tiers:
        pi, ci, amb_p, amb_c = _tier(pg, cg, pn, cn, free_p, free_c)
        prev[ci], kind[ci], score[ci] = pi, k, 100.0
        free_p[pi], free_c[ci] = False, False
        kind[amb_c] = "ambiguous"
        free_p &= ~amb_p
        free_c &= ~amb_c
    pb, pk, cb, ck = fuzzy
    pi, ci, s = _fuzzy(np.where(free_p, pb, None), pk, np.where(free_c, cb, None), ck,
                       cfg["fuzzy_min"], cfg["fuzzy_margin"])
    prev[ci], kind[ci], score[ci] = pi, "fuzzy", np.round(s, 2)
    return prev, kind, score


# -- the projects -----------------------------------------------------------------------------------

def _link_years(prev_year: np.ndarray, year: np.ndarray, build, cfg: dict):
    """For every row of YEAR, the row of PREV_YEAR of the year before that it continues (-1: none), the match
    kind and score, one year at a time; build(p, c) gives _match's tiers and fuzzy inputs for those rows."""
    prev = np.full(len(year), -1)
    kind = np.full(len(year), None, dtype=object)
    score = np.full(len(year), np.nan)
    for y in np.unique(year[~np.isnan(year)]):
        p, c = np.flatnonzero(prev_year == y - 1), np.flatnonzero(year == y)
        if not len(p) or not len(c):
            continue
        tiers, fuzzy = build(p, c)
        pi, k, s = _match(tiers, fuzzy, len(p), len(c), cfg)
        linked = pi >= 0
        prev[c[linked]] = p[pi[linked]]
        kind[c] = k
        score[c] = s
    return prev, kind, score


def _keys(df: pd.DataFrame) -> np.ndarray:
    """project_key as the table holds it, computed from the name where it is missing (frames not keyed by the
    ingest)."""
    have = _text(df["project_key"]) if "project_key" in df else np.full(len(df), None, dtype=object)
    return np.where(pd.isna(have), _mapped(df["project_name"], project_key), have)


def _take(values: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """values[pos] where pos >= 0, None elsewhere (an object array)."""
    out = np.full(len(pos), None, dtype=object)
    hit = pos >= 0
    out[hit] = values[pos[hit]]
    return out


def _forms_frame(forms: pd.DataFrame) -> pd.DataFrame:
    """forms as project_years rows (before linking)."""
    rate = execution_rate(forms).fillna(forms["exec_rate_reported"].astype("Float64"))
    return pd.DataFrame({
        "year": forms["year"].astype("Int64"), "kind": "project_form", "form_id": forms["form_id"],
        "target_id": None, "region": forms["region"], "department": forms["department"], "unit": forms["unit"],
        "project_name": forms["project_name"], "project_key": _keys(forms), "source_file": forms["source_file"],
        "location": forms["location"], "line": forms["line_start"], "budget": execution_base(forms),
        "executed": forms["executed"], "exec_rate": rate.round(4), "score": forms["total_score_reported"],
        "total_weight": forms["total_weight_reported"].astype("Float64").fillna(thresholds()["full_marks"]),
    })


def _targets_frame(targets: pd.DataFrame, region_of_dept: dict[str, str]) -> pd.DataFrame:
    """targets (next year's 绩效目标表) as project_years rows (before linking)."""
    region = pd.Series(_norm(targets["department"]), index=targets.index).map(region_of_dept)
    return pd.DataFrame({
        "year": targets["year"].astype("Int64"), "kind": "target_table", "form_id": None,
        "target_id": targets["target_id"], "region": region, "department": targets["department"],
        "unit": targets["unit"], "project_name": targets["project_name"], "project_key": _keys(targets),
        "source_file": targets["source_file"], "location": targets["location"], "line": targets["line_start"],
        "budget": targets["budget"], "executed": None, "exec_rate": None, "score": None, "total_weight": None,
    })


def link_projects(tables: dict[str, pd.DataFrame], **params) -> pd.DataFrame:
    """project_years: every form and every 绩效目标表 of the batch, each linked to the form of the same project
    in the year before (prev_form_id, match, match_score) and given the link_id of its series.

    A form links to a form of year − 1 in the same region and department (key, then name, then fuzzy, see the
    module); a target table of year Y links to a form of year Y − 1 of the same department. Forms and target
    tables of other regions, or more than one year apart, never link.
    """
    cfg = settings(**params)
    forms = tables.get("forms")
    forms = schema.frame("forms", []) if forms is None else forms.reset_index(drop=True)
    targets = tables.get("targets")
    targets = schema.frame("targets", []) if targets is None else targets.reset_index(drop=True)
    f = _forms_frame(forms)
    f_region, f_dept, f_unit = _norm(f["region"]), _norm(f["department"]), _norm(f["unit"])
    f_key = _text(f["project_key"])
    f_name = _mapped(f["project_name"], name_key)
    blk = _join(f_region, f_dept, need=(f_region != "") | (f_dept != ""))
    blk_unit = _join(blk, f_unit)
    year = f["year"].to_numpy(dtype=float, na_value=np.nan)

    prev, kind, score = _link_years(year, year, lambda p, c: (
        [("key", _join(blk[p], f_key[p]), _join(blk[c], f_key[c]), f_unit[p], f_unit[c]),
         ("name", _join(blk_unit[p], f_name[p]), _join(blk_unit[c], f_name[c]), None, None)],
        (blk_unit[p], f_name[p], blk_unit[c], f_name[c])), cfg)

    # the series: a form takes the link id of the form it follows (years in order, so chains carry through)
    ids = f["form_id"].to_numpy(dtype=object, na_value=None)
    link = ids.copy()
    for y in np.unique(year[~np.isnan(year)]):
        c = np.flatnonzero((year == y) & (prev >= 0))
        link[c] = link[prev[c]]
    f = f.assign(link_id=link, prev_form_id=_take(ids, prev), prev_year=pd.array(_take(year, prev), dtype="Float64"),
                 match=kind, match_score=score, name_key=f_name)

    # next year's target tables, linked to this year's forms of the same department
    dr = pd.DataFrame({"d": f_dept, "r": _text(f["region"])}).query("d != ''").dropna().drop_duplicates()
    dr = dr[~dr["d"].duplicated(keep=False)]  # a department of one region only
    t = _targets_frame(targets, dict(zip(dr["d"], dr["r"], strict=True)))
    t_dept, t_unit = _norm(t["department"]), _norm(t["unit"])
    t_key, t_name = _text(t["project_key"]), _mapped(t["project_name"], name_key)
    t_blk = np.where(t_dept != "", t_dept, None)
    f_dblk = np.where(f_dept != "", f_dept, None)
    t_year = t["year"].to_numpy(dtype=float, na_value=np.nan)
    t_prev, t_kind, t_score = _link_years(year, t_year, lambda p, c: (
        [("key", _join(f_dblk[p], f_key[p]), _join(t_blk[c], t_key[c]), f_unit[p], t_unit[c]),
         ("name", _join(f_dblk[p], f_name[p]), _join(t_blk[c], t_name[c]), f_unit[p], t_unit[c])],
        (f_dblk[p], f_name[p], t_blk[c], t_name[c])), cfg)
    tids = t["target_id"].to_numpy(dtype=object, na_value=None)
    t = t.assign(link_id=np.where(t_prev >= 0, _take(link, t_prev), tids), prev_form_id=_take(ids, t_prev),
                 prev_year=pd.array(_take(year, t_prev), dtype="Float64"), match=t_kind, match_score=t_score,
                 name_key=t_name)
    out = pd.concat([f, t], ignore_index=True) if len(t) else f
    out = conformed("project_years", out)
    return out.sort_values(["link_id", "year", "kind"], na_position="last", kind="stable", ignore_index=True)


# -- the indicators ---------------------------------------------------------------------------------

def _indicator_rows(tables: dict[str, pd.DataFrame], form_ids, target_ids) -> pd.DataFrame:
    """The indicators of the forms and target tables named, one frame (doc_id: form_id or target_id), with
    their key and their order among indicators of the same key in their document."""
    ind = tables.get("indicators")
    ind = schema.frame("indicators", []) if ind is None else ind
    ti = tables.get("target_indicators")
    ti = schema.frame("target_indicators", []) if ti is None else ti
    ind = ind[ind["form_id"].isin(form_ids)]
    ti = ti[ti["target_id"].isin(target_ids)]
    cols = ["seq", "level1", "level2", "target_raw", "target_op", "target_value", "target_unit", "direction",
            "source_file", "location", "line"]
    a = ind[["form_id", "name", "actual_raw", "actual_op", "actual_value", "actual_unit", *cols]] \
        .rename(columns={"form_id": "doc_id"}).assign(from_form=True)
    if len(ti):
        b = ti[["target_id", *cols]].rename(columns={"target_id": "doc_id"}).assign(
            name=ti["level3"].where(ti["level3"].notna(), ti["description"]), from_form=False)
        a = pd.concat([a, b], ignore_index=True)
    a = a.reset_index(drop=True)
    a["indicator_key"] = _mapped(a["name"], project_key)
    a["occurrence"] = a.groupby(["from_form", "doc_id", "indicator_key"], sort=False, dropna=True) \
        .cumcount().add(1).where(a["indicator_key"].notna()).astype("Int64")
    return a


def link_indicators(tables: dict[str, pd.DataFrame], project_years: pd.DataFrame) -> pd.DataFrame:
    """indicator_years: the indicators of every project linked across years, each with the line of the same
    indicator (same normalised name, same order among same-named ones) in the form of the year before.

    Projects seen in one year only are left out: there is no series to read.
    """
    py = project_years
    series = py["link_id"].map(py["link_id"].value_counts()) > 1
    py = py[series.fillna(False).astype(bool)]
    is_form = (py["kind"] == "project_form").fillna(False).astype(bool)
    rows = pd.DataFrame({"doc_id": py["form_id"].where(is_form, py["target_id"]), "from_form": is_form,
                         "link_id": py["link_id"], "year": py["year"], "kind": py["kind"],
                         "form_id": py["form_id"], "target_id": py["target_id"], "project_name": py["project_name"],
                         "prev_form_id": py["prev_form_id"]})
    ind = _indicator_rows(tables, py["form_id"].dropna(), py["target_id"].dropna())
    ind = ind.merge(rows, on=["doc_id", "from_form"], how="inner")
    # the form of the year before is in the same series: its indicators are in the frame already
    prev = ind.loc[ind["from_form"] & ind["indicator_key"].notna(), ["doc_id", "indicator_key", "occurrence", "line"]] \
        .rename(columns={"doc_id": "prev_form_id", "line": "prev_line"})
    ind = ind.merge(prev, on=["prev_form_id", "indicator_key", "occurrence"], how="left")
    out = conformed("indicator_years", ind)
    return out.sort_values(["link_id", "indicator_key", "occurrence", "year", "kind"], na_position="last",
                           kind="stable", ignore_index=True)


# -- the findings -----------------------------------------------------------------------------------

def _where(files: pd.Series, lines: pd.Series) -> pd.Series:
    """file:line of each row (null where either is unknown)."""
    lines = pd.Series(lines, index=files.index).astype("Int64")
    text = pd.Series(_cat(_txt(files), ":", _txt(lines.astype("string"))), index=files.index)
    return text.where(files.notna().to_numpy() & lines.notna().to_numpy())


def _finding_frame(rule: str, df: pd.DataFrame, **cols) -> pd.DataFrame:
    """Findings of one rule: its severity and title, the columns given, and both places as file:line."""
    rt = rule_table()
    out = pd.DataFrame({"rule": rule, "title": rt.loc[rule, "title_zh"], "severity": rt.loc[rule, "severity"],
                        **{c: df[c] for c in ("link_id", "region", "department", "unit", "project_name", "year",
                                              "prev_year", "kind", "form_id", "target_id", "prev_form_id",
                                              "match", "match_score") if c in df}}, index=df.index)
    for k, v in cols.items():
        out[k] = v
    out["where"] = _where(out["source_file"], out["line"])
    out["prev_where"] = _where(out["prev_source_file"], out["prev_line"])
    return out


def find_changes(tables: dict[str, pd.DataFrame], project_years: pd.DataFrame, indicator_years: pd.DataFrame,
                 **params) -> pd.DataFrame:
    """year_findings: what changed between a project's linked years that a reviewer should ask about.

    target_set_low: the next year's target (form or 绩效目标表) for the same indicator, in the same unit, is
    below last year's actual (≥ indicators) or above it (≤ ceilings). budget_up_exec_down: the budget rose by
    more than budget_rise_pct while the execution rate fell by at least exec_drop_min points.
    full_score_exec_down: full marks in both years while the rate fell that much. indicator_dropped: an
    indicator of last year's form is missing from this year's form (forms whose indicators were not read at
    all are left out: that is a reading problem, not a dropped indicator).
    """
    cfg = settings(**params)
    py = project_years
    forms = tables.get("forms")
    forms = schema.frame("forms", []) if forms is None else forms
    fl = forms.drop_duplicates("form_id").set_index("form_id")[["source_file", "funding_line", "total_line",
                                                                 "line_start"]]
    found = []

    # target_set_low -------------------------------------------------------------------------------
    iy = indicator_years
    keyed = iy[(iy["kind"] == "project_form").fillna(False).astype(bool) & iy["indicator_key"].notna()]
    before = keyed[["form_id", "indicator_key", "occurrence", "source_file", "line", "actual_raw", "actual_value",
                    "actual_unit", "direction"]]
    before = before.rename(columns=lambda c: c if c in ("indicator_key", "occurrence") else "p_" + c) \
        .rename(columns={"p_form_id": "prev_form_id"})
    m = iy[iy["prev_line"].notna()].merge(before, on=["prev_form_id", "indicator_key", "occurrence"], how="inner")
    m = m.merge(py[["form_id", "target_id", "kind", "region", "department", "unit", "prev_year", "match",
                    "match_score"]].drop_duplicates(["kind", "form_id", "target_id"]),
                on=["kind", "form_id", "target_id"], how="left", suffixes=("", "_p"))
    tv, av = m["target_value"].astype("Float64"), m["p_actual_value"].astype("Float64")
    same_unit = m["target_unit"].fillna("").str.strip() == m["p_actual_unit"].fillna("").str.strip()
    tol = cfg["target_low_tol_pct"] / 100
    opposite = {"positive": "ceiling", "ceiling": "positive"}
    agree = m["p_direction"].astype("object").ne(m["direction"].astype("object").map(opposite))
    low = ((m["direction"] == "positive") & (tv < av - av.abs() * tol)) | \
          ((m["direction"] == "ceiling") & (tv > av + av.abs() * tol))
    m = m[(low & same_unit & agree).fillna(False).astype(bool)]
    if len(m):
        sign = np.where(m["direction"] == "positive", "≥", "≤")
        doc = np.where(m["kind"] == "target_table", "绩效目标表", "自评表")
        word = np.where(m["direction"] == "positive", "低于上年已达到的水平",
                        "高于上年实际（上限指标），比已达到的水平宽松")
        unit = _txt(m["p_actual_unit"])
        found.append(_finding_frame(
            "target_set_low", m, indicator=m["name"], field="target_value",
            expected=_cat(sign, _fmt(m["p_actual_value"]), unit), found=_txt(m["target_raw"]),
            message=_cat("“", _txt(m["name"]), "”上年（", _txt(m["prev_year"].astype("string")), "年）实际完成",
                         _txt(m["p_actual_raw"]), "，本年（", _txt(m["year"].astype("string")), "年）", doc,
                         "目标值定为", _txt(m["target_raw"]), "，", word, "，目标未按已达到的水平设定"),
            source_file=m["source_file"], location=m["location"], line=m["line"],
            prev_source_file=m["p_source_file"], prev_line=m["p_line"]))

    # budget and execution ---------------------------------------------------------------------------
    cur = py[(py["kind"] == "project_form") & py["prev_form_id"].notna()]
    prev = py[py["kind"] == "project_form"].drop_duplicates("form_id").set_index("form_id")
    p = prev.reindex(cur["prev_form_id"].astype("object"))
    p.index = cur.index
    b0, b1 = p["budget"].astype("Float64"), cur["budget"].astype("Float64")
    r0, r1 = p["exec_rate"].astype("Float64"), cur["exec_rate"].astype("Float64")
    drop = r0 - r1
    fell = drop >= cfg["exec_drop_min"]
    here = fl.reindex(cur["form_id"].astype("object"))
    there = fl.reindex(cur["prev_form_id"].astype("object"))
    here.index = there.index = cur.index
    rise = (b1 > b0 * (1 + cfg["budget_rise_pct"] / 100)) & (b1 > b0) & fell
    sel = rise.fillna(False).astype(bool)
    if sel.any():
        c, pp = cur[sel], p[sel]
        line = here.loc[sel, "funding_line"].fillna(here.loc[sel, "line_start"])
        pline = there.loc[sel, "funding_line"].fillna(there.loc[sel, "line_start"])
        pct = (b1[sel] / b0[sel] * 100 - 100)
        found.append(_finding_frame(
            "budget_up_exec_down", c, indicator=None, field="exec_rate",
            expected=_cat("≥", _fmt(r0[sel], 2), "%"), found=_cat(_fmt(r1[sel], 2), "%"),
            message=_cat("预算由", _fmt(b0[sel], 2), "万元（", _txt(c["prev_year"].astype("string")), "年）增至",
                         _fmt(b1[sel], 2), "万元（", _txt(c["year"].astype("string")), "年，增", _fmt(pct, 1),
                         "%），执行率却由", _fmt(r0[sel], 2), "%降至", _fmt(r1[sel], 2), "%（降", _fmt(drop[sel], 2),
                         "个百分点）"),
            source_file=c["source_file"], location=c["location"], line=line,
            prev_source_file=pp["source_file"], prev_line=pline))
    tol = cfg["full_marks_tol"]
    full = (cur["score"].astype("Float64") >= cur["total_weight"].astype("Float64") - tol) & \
           (p["score"].astype("Float64") >= p["total_weight"].astype("Float64") - tol)
    sel = (full & fell).fillna(False).astype(bool)
    if sel.any():
        c, pp = cur[sel], p[sel]
        line = here.loc[sel, "total_line"].fillna(here.loc[sel, "line_start"])
        pline = there.loc[sel, "total_line"].fillna(there.loc[sel, "line_start"])
        found.append(_finding_frame(
            "full_score_exec_down", c, indicator=None, field="total_score_reported",
            expected=_cat("<", _fmt(c["total_weight"])), found=_fmt(c["score"]),
            message=_cat("执行率由", _fmt(r0[sel], 2), "%（", _txt(c["prev_year"].astype("string")), "年）降至",
                         _fmt(r1[sel], 2), "%（", _txt(c["year"].astype("string")), "年，降", _fmt(drop[sel], 2),
                         "个百分点），总分仍自评满分", _fmt(c["score"]), "分（上年亦为满分", _fmt(pp["score"]), "分）"),
            source_file=c["source_file"], location=c["location"], line=line,
            prev_source_file=pp["source_file"], prev_line=pline))

    # indicator_dropped ----------------------------------------------------------------------------
    cur = cur[cur["form_id"].isin(keyed["form_id"].unique())]
    if len(cur):
        last = cur[["form_id", "prev_form_id", "link_id", "region", "department", "unit", "project_name", "year",
                    "prev_year", "kind", "target_id", "match", "match_score", "source_file", "location"]].merge(
            keyed[["form_id", "indicator_key", "occurrence", "name", "target_raw", "source_file", "location", "line"]]
            .rename(columns={"form_id": "prev_form_id"}), on="prev_form_id", suffixes=("", "_p"))
        now = keyed[["form_id", "indicator_key", "occurrence"]]
        gone = last.merge(now.assign(_here=True), on=["form_id", "indicator_key", "occurrence"], how="left")
        gone = gone[gone["_here"].isna()]
        if len(gone):
            line = fl.reindex(gone["form_id"].astype("object"))["line_start"].to_numpy()
            found.append(_finding_frame(
                "indicator_dropped", gone, indicator=gone["name"], field="name",
                expected=_txt(gone["name"]), found="无",
                message=_cat("上年（", _txt(gone["prev_year"].astype("string")), "年）自评表有指标“",
                             _txt(gone["name"]), "”（指标值", _txt(gone["target_raw"]), "），本年（",
                             _txt(gone["year"].astype("string")), "年）同一项目的自评表中没有该指标，也未说明"),
                source_file=gone["source_file"], location=gone["location"], line=pd.array(line, dtype="Int64"),
                prev_source_file=gone["source_file_p"], prev_line=gone["line"]))

    out = conformed("year_findings", pd.concat(found, ignore_index=True)) if found else \
        schema.frame("year_findings", [])
    out["_sev"] = out["severity"].map(SEVERITY_ORDER)
    out = out.sort_values(["_sev", "region", "department", "link_id", "year", "rule", "source_file", "line"],
                          na_position="last", kind="stable", ignore_index=True)
    return out.drop(columns="_sev")


def compare_years(tables: dict[str, pd.DataFrame], **params) -> dict[str, pd.DataFrame]:
    """project_years, indicator_years and year_findings of a batch (thresholds by name, rules/years.csv).

    Every form and 绩效目标表 is a project-year; one links to the year before when the batch holds it. 香河县's
    2023 disclosure has 41 target tables and no 2022 forms to compare them with:

    >>> from perfdata import read
    >>> r = compare_years(read("data/raw/hebei-xianghe-county-hrss-2023-budget-disclosure.txt"))
    >>> py = r["project_years"]
    >>> len(py), py.kind.unique().tolist(), int(py.prev_year.notna().sum())
    (41, ['target_table'], 0)
    """
    py = link_projects(tables, **params)
    iy = link_indicators(tables, py)
    return {"project_years": py, "indicator_years": iy, "year_findings": find_changes(tables, py, iy, **params)}
