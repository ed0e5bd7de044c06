"""抽查复核的抽样: which project forms a reviewer re-checks by hand, drawn so the choice can be defended and repeated.

`sample(tables, method, n, seed)` draws from the forms table (one row per 项目支出绩效自评表) and returns the
`sample` table: one row per drawn form with its file and first line, the stratum it was drawn from, its
chance of being drawn and a Chinese sentence saying why it was drawn. The same tables, method, n and seed
always give the same sample (numpy.random.default_rng(seed)); the population is taken in file order
(source_file, line_start), so the row order of the tables does not matter.

- random: simple random sampling without replacement; every form has the chance n/N.
- stratified: strata by region / department / year (`by`), n shared out `proportional` to the strata's sizes
  or `equal`, rounded by largest remainder so the total is exactly n; a simple random sample in each.
- mus: monetary-unit sampling on the budget (全年预算数, else 年初预算数, in 万元): every 万元 is a sampling
  unit, so a form's chance grows with its money. Systematic selection over the cumulative amount with a
  random start and the interval total/n. A form not smaller than the interval is certain (the top stratum,
  大额): it is taken out, the interval recomputed on the rest, until no form is as large as the interval, so
  exactly n forms are drawn. Forms without a positive budget cannot be reached by the money line; they are
  never dropped: they form their own stratum 未填预算金额 and are all listed (or `unbudgeted` of them drawn
  at random), beside the n money draws.
- risk: sampling without replacement with a chance proportional to the form's risk score, risk_base + the
  findings of `perfdata check` weighted by severity (rules/sampling.csv), so forms with more and graver
  findings come first while every form keeps a chance.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from perfdata import rules, schema

METHODS = ("random", "stratified", "mus", "risk")
ALLOCATIONS = ("proportional", "equal")
STRATA = ("region", "department", "year")
ALL = "全部项目自评表"
TOP = "大额（不小于抽样间距）"
MONEY = "按金额抽样"
UNBUDGETED = "未填预算金额"
MISSING = "未填"
_SEVERITIES = ("high", "medium", "low")


def settings(**overrides) -> dict[str, float]:
    """Sampling settings from rules/sampling.csv as numbers; an unknown name is an error.

    >>> settings()["risk_weight_high"], settings(risk_weight_low=0.5)["risk_weight_low"]
    (4.0, 0.5)
    """
    out = {r["name"]: float(r["value"]) for r in rules.table("sampling.csv")}
    unknown = set(overrides) - set(out)
    if unknown:
        raise ValueError(f"unknown sampling setting(s): {', '.join(sorted(unknown))}; known: {', '.join(out)}")
    return out | {k: float(v) for k, v in overrides.items()}


def budget(forms: pd.DataFrame) -> pd.Series:
    """The amount money sampling weighs a form by: 全年预算数, else 年初预算数 (万元), as floats (NaN: none).

    >>> budget(pd.DataFrame({"budget_full_year": [None, 16.06], "budget_initial": [5.0, 20.0]})).tolist()
    [5.0, 16.06]
    """
    full = pd.to_numeric(forms["budget_full_year"], errors="coerce").astype(float)
    initial = pd.to_numeric(forms["budget_initial"], errors="coerce").astype(float)
    return full.where(full.notna(), initial)


def allocate(sizes: Sequence[int], n: int, allocation: str = "proportional") -> np.ndarray:
    """Forms to draw per stratum: exactly n in all (or every form when n ≥ the population), none above a stratum's
    size. Proportional shares n·N_h/N, with at least one per stratum when n ≥ the number of strata (a stratum
    whose share is below one gets one, the rest is shared among the others); equal shares n/H, a stratum
    smaller than its share giving all its forms and the others sharing the surplus. Fractions are rounded by
    largest remainder (ties: the larger stratum, then the first).

    >>> allocate([24, 11, 8], 10).tolist(), allocate([24, 11, 8], 10, "equal").tolist()
    ([6, 2, 2], [4, 3, 3])
    >>> allocate([100, 1, 1], 5).tolist(), allocate([2, 30, 30], 12, "equal").tolist()
    ([3, 1, 1], [2, 5, 5])
    """
    if allocation not in ALLOCATIONS:
        raise ValueError(f"allocation {allocation!r}: use one of {', '.join(ALLOCATIONS)}")
    sizes = np.asarray(sizes, dtype=np.int64)
    if n >= sizes.sum():
        return sizes.copy()
    fixed = np.zeros(len(sizes), dtype=bool)  # strata whose count is settled: one (proportional) or all (equal)
    quota = np.zeros(len(sizes), dtype=float)
    while True:
        open_ = ~fixed
        settled = np.where(fixed, 1 if allocation == "proportional" else sizes, 0).sum()
        left = n - settled
        if allocation == "proportional":
            quota = np.where(open_, left * sizes / max(sizes[open_].sum(), 1), 1.0)
            new = open_ & (quota < 1) if n >= len(sizes) else np.zeros_like(fixed)
        else:
            share = left / max(open_.sum(), 1)
            quota = np.where(open_, share, sizes.astype(float))
            new = open_ & (sizes <= share)
        if not new.any():
            break
        fixed |= new
    base = np.floor(quota + 1e-9).astype(np.int64)
    rem = np.round(quota - base, 9)
    extra = int(n - base.sum())
    order = np.lexsort((np.arange(len(sizes)), -sizes, -rem))
    base[order[:extra]] += 1
    return base


def sample(tables: dict[str, pd.DataFrame], method: str = "random", n: int | None = None, seed: int | None = None,
           *, by: Sequence[str] = ("region", "year"), allocation: str = "proportional",
           unbudgeted: int | None = None, anomalies: pd.DataFrame | None = None, **weights) -> pd.DataFrame:
    """Draw forms for 抽查复核: the `sample` table (see the module docstring for the methods).

    `n` defaults to rules/sampling.csv; `seed` None draws a fresh seed, recorded in the table so the draw can be
    repeated. `by` and `allocation` are for stratified; `unbudgeted` (mus) draws that many of the forms without
    a budget at random instead of listing them all; `anomalies` defaults to tables["anomalies"], and for risk
    to `perfdata.check(tables)` when the tables have none; `weights` override the risk weights
    (risk_weight_high=6). The findings columns are filled whenever findings are at hand.

    >>> s = sample({"forms": schema.frame("forms", [])}, "mus", n=5, seed=1)
    >>> len(s), list(s.columns) == [c.name for c in schema.TABLES["sample"]]
    (0, True)
    """
    if method not in METHODS:
        raise ValueError(f"method {method!r}: use one of {', '.join(METHODS)}")
    conf = settings(**weights)
    n = int(conf["n"] if n is None else n)
    if n < 0:
        raise ValueError(f"n={n}: the sample size cannot be negative")
    by = [by] if isinstance(by, str) else list(by)
    if method == "stratified" and (not by or set(by) - set(STRATA)):
        raise ValueError(f"by={by!r}: stratify by one or more of {', '.join(STRATA)}")
    if allocation not in ALLOCATIONS:
        raise ValueError(f"allocation {allocation!r}: use one of {', '.join(ALLOCATIONS)}")
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1)[0] >> 1)
    forms = tables.get("forms")
    if forms is None or not len(forms) or n == 0:
        return schema.frame("sample", [])
    keep = ["form_id", "source_file", "line_start", *STRATA, "project_name", "budget_full_year", "budget_initial"]
    pop = (forms[keep].drop_duplicates("form_id")
           .sort_values(["source_file", "line_start", "form_id"], kind="stable", na_position="last")
           .reset_index(drop=True))
    if anomalies is None:
        anomalies = tables.get("anomalies")
        if anomalies is None and method == "risk":
            from perfdata.checks import check

            anomalies = check(tables)
    rng = np.random.default_rng(seed)
    draw = {"random": _random, "stratified": _stratified, "mus": _mus, "risk": _risk}[method]
    found = _findings(pop, anomalies)
    out = draw(pop.assign(**found), n, rng, by=by, allocation=allocation, unbudgeted=unbudgeted, conf=conf, seed=seed)
    out = out.assign(method=method, seed=seed, budget=budget(out))
    return schema.conform("sample", out).reset_index(drop=True)


# -- the methods: each takes the population (file order, findings attached) and returns the drawn rows -----------

def _findings(pop: pd.DataFrame, anomalies: pd.DataFrame | None) -> dict[str, pd.Series]:
    """Findings per form by severity (null when no findings are at hand)."""
    if anomalies is None:
        return {f"findings_{s}": pd.Series(pd.NA, index=pop.index, dtype="Int64") for s in _SEVERITIES} | {
            "findings": pd.Series(pd.NA, index=pop.index, dtype="Int64")}
    a = anomalies[anomalies["form_id"].notna()]
    counts = (a.groupby(["form_id", "severity"]).size().unstack("severity") if len(a)
              else pd.DataFrame(index=pd.Index([], name="form_id")))
    counts = counts.reindex(columns=list(_SEVERITIES), fill_value=0).fillna(0)
    per = counts.reindex(pop["form_id"]).fillna(0).astype("int64").set_axis(pop.index)
    out = {f"findings_{s}": per[s].astype("Int64") for s in _SEVERITIES}
    out["findings"] = per.sum(axis=1).astype("Int64")
    return out


def _take(pop: pd.DataFrame, mask: np.ndarray, **cols) -> pd.DataFrame:
    """The rows of `mask` with columns added: arrays of the population's length are cut to the mask."""
    return pop[mask].assign(**{k: (v[mask] if isinstance(v, np.ndarray) else v) for k, v in cols.items()})


def _random(pop, n, rng, **_):
    size = len(pop)
    k = min(n, size)
    chosen = np.zeros(size, dtype=bool)
    chosen[np.argsort(rng.random(size), kind="stable")[:k]] = True
    reason = f"简单随机抽样：全部 {size:,} 份项目自评表中随机抽取 {k:,} 份，每份入选概率 {k / size:.2%}"
    return _take(pop, chosen, stratum=ALL, stratum_size=size, stratum_drawn=k,
                 selection_probability=100.0 * k / size, reason=reason)


def stratum_labels(pop: pd.DataFrame, by: Sequence[str]) -> pd.Series:
    """The stratum of each form: its `by` values joined by a space, a blank part reading 未填.

    >>> stratum_labels(pd.DataFrame({"region": ["兴隆县", None], "year": [2024, 2021]}), ["region", "year"]).tolist()
    ['兴隆县 2024', '未填 2021']
    """
    parts = []
    for c in by:
        s = pop[c]
        if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
            s = s.astype("Int64")
        parts.append(s.astype("string").fillna(MISSING))
    out = parts[0]
    for p in parts[1:]:
        out = out + " " + p
    return out.astype(object)


def _stratified(pop, n, rng, *, by, allocation, **_):
    codes = pop.groupby(list(by), dropna=False, sort=True).ngroup().to_numpy()
    sizes = np.bincount(codes)
    alloc = allocate(sizes, n, allocation)
    rank = pd.Series(rng.random(len(pop))).groupby(codes).rank(method="first").to_numpy() - 1
    chosen = rank < alloc[codes]
    out = _take(pop, chosen, stratum_size=sizes[codes], stratum_drawn=alloc[codes],
                selection_probability=100.0 * alloc[codes] / sizes[codes], _code=codes)
    out["stratum"] = stratum_labels(out, by).to_numpy()
    how = "按比例分配" if allocation == "proportional" else "等额分配"
    out["reason"] = [f"分层抽样（{how}）：{lab} 层共 {s:,} 项，抽 {a:,} 项" for lab, s, a in
                     zip(out["stratum"], out["stratum_size"], out["stratum_drawn"], strict=True)]
    return out.sort_values(["_code", "source_file", "line_start"], kind="stable").drop(columns="_code")


def mus_interval(amounts: np.ndarray, n: int) -> tuple[float, np.ndarray]:
    """The sampling interval of monetary-unit sampling and the certain (top-stratum) items: items not smaller
    than total/n are taken out and the interval recomputed on the rest, until none is as large as the interval.

    >>> j, top = mus_interval(np.array([500.0, 30.0, 40.0, 30.0]), 3)
    >>> float(j), top.tolist()
    (50.0, [True, False, False, False])
    """
    b = np.asarray(amounts, dtype=float)
    top = np.zeros(len(b), dtype=bool)
    m = n
    interval = b.sum() / n if n else np.inf
    while m > 0 and (~top).any():
        interval = b[~top].sum() / m
        new = ~top & (b >= interval)
        if not new.any():
            break
        top |= new
        m -= int(new.sum())
    return float(interval), top


def mus_select(amounts: np.ndarray, n: int, rng: np.random.Generator) -> tuple[float, np.ndarray, np.ndarray]:
    """Monetary-unit selection over positive amounts: (interval, certain items, hit point per item — NaN where
    none). Certain items come from mus_interval(); the others are hit by the points start + k × interval on
    their cumulative amount, start uniform in [0, interval): an item of amount b < interval is drawn with
    chance b / interval, and exactly n items are drawn in all (every item when n ≥ their number).

    >>> j, top, hit = mus_select(np.array([500.0, 30.0, 40.0, 30.0]), 3, np.random.default_rng(0))
    >>> float(j), top.tolist(), np.isfinite(hit).sum() + top.sum()
    (50.0, [True, False, False, False], np.int64(3))
    """
    b = np.asarray(amounts, dtype=float)
    k = min(n, len(b))
    hit_at = np.full(len(b), np.nan)
    if not k:
        return np.nan, np.zeros(len(b), dtype=bool), hit_at
    interval, top = mus_interval(b, k)
    rest = np.flatnonzero(~top)
    m = k - int(top.sum())
    if m > 0 and len(rest):
        cum = np.cumsum(b[rest])
        points = rng.uniform(0.0, interval) + interval * np.arange(m)
        # every item here is smaller than the interval, so it holds at most one point: m distinct items
        hit = np.minimum(np.searchsorted(cum, points, side="left"), len(rest) - 1)
        hit_at[rest[hit]] = points
    return interval, top, hit_at


def _mus(pop, n, rng, *, unbudgeted, **_):
    amount = budget(pop).to_numpy()
    has = np.nan_to_num(amount, nan=0.0) > 0
    idx = np.flatnonzero(has)
    interval, top, hit = mus_select(amount[idx], n, rng)
    parts = []
    if top.any():
        sel = np.zeros(len(pop), dtype=bool)
        sel[idx[top]] = True
        out = _take(pop, sel, stratum=TOP, stratum_size=int(top.sum()), stratum_drawn=int(top.sum()),
                    interval=interval, selection_probability=100.0)
        out["reason"] = [f"按金额抽样：项目金额 {v:,.2f} 万元不小于抽样间距 {interval:,.2f} 万元，必抽（大额层）"
                         for v in amount[sel]]
        parts.append(out)
    if np.isfinite(hit).any():
        rest = idx[~top]
        hit_at = np.full(len(pop), np.nan)
        hit_at[idx] = hit
        low = np.full(len(pop), np.nan)
        low[rest] = np.cumsum(amount[rest]) - amount[rest]
        sel = ~np.isnan(hit_at)
        start = float(np.nanmin(hit))
        out = _take(pop, sel, stratum=MONEY, stratum_size=len(rest), stratum_drawn=int(sel.sum()),
                    interval=interval, hit_amount=hit_at, selection_probability=100.0 * amount / interval)
        out["reason"] = [f"按金额抽样：累计金额区间 {a:,.2f}–{a + v:,.2f} 万元中的第 {p:,.2f} 万元落在本项目"
                         f"（抽样间距 {interval:,.2f} 万元，随机起点 {start:,.2f} 万元）"
                         for a, v, p in zip(low[sel], amount[sel], hit_at[sel], strict=True)]
        parts.append(out)
    none = np.flatnonzero(~has)
    if len(none):
        k = len(none) if unbudgeted is None else max(0, min(int(unbudgeted), len(none)))
        sel = np.zeros(len(pop), dtype=bool)
        sel[none[np.argsort(rng.random(len(none)), kind="stable")[:k]]] = True
        why = "全部列出另行复核" if k == len(none) else f"随机抽取其中 {k:,} 项另行复核"
        parts.append(_take(pop, sel, stratum=UNBUDGETED, stratum_size=len(none), stratum_drawn=k,
                           selection_probability=100.0 * k / len(none),
                           reason=f"按金额抽样：未填预算金额（全年预算数、年初预算数均未填或不大于零），金额抽样抽不到，"
                                  f"共 {len(none):,} 项，{why}"))
    return pd.concat(parts) if parts else pop.iloc[:0]


def risk_scores(findings: pd.DataFrame, conf: dict[str, float] | None = None) -> np.ndarray:
    """risk_base + the findings weighted by severity (rules/sampling.csv).

    >>> risk_scores(pd.DataFrame({"findings_high": [2, 0], "findings_medium": [1, 0], "findings_low": [0, 0]})).tolist()
    [11.0, 1.0]
    """
    conf = conf or settings()
    score = np.full(len(findings), conf["risk_base"], dtype=float)
    for s in _SEVERITIES:
        score += conf[f"risk_weight_{s}"] * pd.to_numeric(findings[f"findings_{s}"]).fillna(0).to_numpy(float)
    return score


def _risk(pop, n, rng, *, conf, **_):
    score = risk_scores(pop, conf)
    size = len(pop)
    k = min(n, size)
    total = score.sum()
    if total <= 0:
        raise ValueError("risk sampling: every risk score is zero; set risk_base above 0 in rules/sampling.csv")
    chosen = np.zeros(size, dtype=bool)
    chosen[rng.choice(size, size=k, replace=False, p=score / total)] = True
    out = _take(pop, chosen, stratum=ALL, stratum_size=size, stratum_drawn=k, risk_score=score,
                selection_probability=100.0 if k == size else np.nan)
    f = {s: out[f"findings_{s}"].fillna(0).astype(int).tolist() for s in _SEVERITIES}
    out["reason"] = [f"按风险抽样：本项目发现问题 {h + m + lo:,} 条（高 {h:,}、中 {m:,}、低 {lo:,}），风险分 {sc:g}，"
                     f"占全部 {size:,} 份表单风险分的 {sc / total:.2%}"
                     for h, m, lo, sc in zip(f["high"], f["medium"], f["low"], out["risk_score"], strict=True)]
    return out.sort_values(["risk_score", "source_file", "line_start"], ascending=[False, True, True], kind="stable")
