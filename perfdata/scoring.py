"""Rescore each form under the official rules (DESIGN.md §3), beside what the form reports.

Conventions that differ between provinces and vendor systems are settings (rules/scoring.csv), passed
by name to `rescore(...)`. Where an indicator cannot be scored from what is printed — a numeric
target with an actual of "完成", units that differ — the status says so and the rescore stays null
rather than a guess; qualitative indicators get the band's range (rescore_min … rescore_max).
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from functools import cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from perfdata import rules, schema
from perfdata.normalize import key, parse_value

_rule_rows = rules.table


@contextmanager
def _system_allocator():
    """Arrow's allocations made by the system allocator for the while: pyarrow's default (mimalloc) hands the
    pages of a freed column back to the kernel at once, so every new column of the million-row tables paid for
    fresh pages (checking 100,000 forms: 0.7 of 5.2 s of CPU was system time; 0.17 s with malloc, which keeps them).
    Buffers remember their pool: those made before or after are freed where they were made."""
    before = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(before)


def conformed(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """schema.conform(name, df) with the cast below: the same frame, without a Python object per text value
    (most of the cost on the million-row tables of the rescoring and the checks)."""
    return schema.conform(name, df, cast=_cast)


def _cast(dtype: str, s: pd.Series) -> pd.Series:
    """One column cast to `dtype` as schema._cast casts it, text without the trip through Python objects."""
    if dtype == "string":
        if isinstance(s.dtype, pd.StringDtype):  # "str": the same text, nulls as NA (no round trip needed)
            return s.astype(dtype)
        if s.dtype == object and pd.StringDtype().storage == "pyarrow" and \
                pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty"):
            # text and nulls only: straight into arrow, without a Python object per value on the way
            text = pa.array(s.to_numpy(), type=pa.large_string(), from_pandas=True)
            return pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([text])), index=s.index, name=s.name)
    return schema._cast(dtype, s)


def _arrow_text(values) -> pa.Array | None:
    """Text as one arrow large_string array (None when the values are not text)."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        a = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
        return a.cast(pa.large_string()) if pa.types.is_string(a.type) else a \
            if pa.types.is_large_string(a.type) else None
    arr = values.array if isinstance(values, (pd.Series, pd.Index)) else values
    try:
        a = pa.array(arr, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return None
    if isinstance(a, pa.ChunkedArray):
        a = a.combine_chunks()
    if pa.types.is_null(a.type):
        return a.cast(pa.large_string())
    if not (pa.types.is_string(a.type) or pa.types.is_large_string(a.type)):
        return None
    return a.cast(pa.large_string()) if not pa.types.is_large_string(a.type) else a


def _positions(index, keys) -> np.ndarray:
    """Where each key first occurs in `index` (an Index or the values of one), -1 where absent; a null key is
    absent. Text keys are looked up with arrow's hash join, other keys with pandas.

    >>> _positions(pd.Index(["a", "b"]), pd.Series(["b", None, "c", "a"])).tolist()
    [1, -1, -1, 0]
    """
    if isinstance(index, pd.MultiIndex) or isinstance(keys, pd.MultiIndex):
        return index.get_indexer(keys)
    vs, ks = _arrow_text(index), _arrow_text(keys)
    if vs is not None and ks is not None:
        return pc.index_in(ks, value_set=vs, skip_nulls=True).fill_null(-1).to_numpy(zero_copy_only=False) \
            .astype(np.int64)
    index, keys = pd.Index(index), pd.Index(keys)
    first = ~index.duplicated()
    pos = index[first].get_indexer(keys)
    at = np.r_[np.flatnonzero(first), -1]  # position -1: absent
    return np.where(keys.isna(), -1, at[pos])


def _labels(values) -> pd.arrays.ArrowStringArray:
    """A text column of few distinct values (a status, a reason) as a string array, nulls as nulls: built
    from the distinct values, without a Python object per row."""
    codes, uniq = pd.factorize(np.asarray(values, dtype=object))
    arr = pa.array([str(u) for u in uniq], type=pa.large_string()).take(pa.array(codes, mask=codes < 0))
    return pd.arrays.ArrowStringArray(arr)


def _named(names: list[str], codes: np.ndarray) -> pd.arrays.ArrowStringArray:
    """Numbers into `names` as a string array (-1: null), what _labels() gives of the names themselves."""
    return pd.arrays.ArrowStringArray(pa.array(names, type=pa.large_string()).take(pa.array(codes, mask=codes < 0)))


def _joint_key(*parts) -> pa.Array:
    """One text key per row from several columns (text, or whole numbers), null where a part is null: for
    looking rows up by a pair of columns with _positions(). A str part is the same in every row."""
    n = next(len(p) for p in parts if not isinstance(p, str))
    arrays = []
    for p in parts:
        if isinstance(p, str):
            arrays.append(pa.scalar(p, pa.large_string()))
            continue
        s = p if isinstance(p, (pd.Series, pd.Index)) else pd.Series(p)
        if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
            s = pd.Series(s).astype("Float64").astype("Int64")
        arrays.append(_arrow_text(pd.Series(s).astype("string")))
    out = pc.binary_join_element_wise(*arrays, pa.scalar("\x1f", pa.large_string()))
    return out if len(out) == n else pa.repeat(out, n)


def settings(**overrides) -> dict[str, object]:
    """Scoring settings from rules/scoring.csv, numbers as floats; unknown names are an error.

    >>> settings()["ceiling_rule"], settings(band_partial_low=60)["band_partial_low"]
    ('ratio', 60.0)
    """
    out: dict[str, object] = {}
    for row in _rule_rows("scoring.csv"):
        v = row["value"]
        try:
            out[row["name"]] = float(v)
        except ValueError:
            out[row["name"]] = v
    unknown = set(overrides) - set(out)
    if unknown:
        raise ValueError(f"unknown scoring setting(s): {', '.join(sorted(unknown))}; known: {', '.join(out)}")
    for k, v in overrides.items():
        out[k] = type(out[k])(v) if isinstance(out[k], float) else str(v)
    return out


@cache
def thresholds() -> dict[str, float]:
    """Named thresholds shared by the checks and the reports (rules/thresholds.csv), e.g. full_marks.

    >>> thresholds()["exec_rate_threshold"], thresholds()["full_marks"]
    (90.0, 100.0)
    """
    return {r["name"]: float(r["value"]) for r in _rule_rows("thresholds.csv")}


@cache
def grade_bands() -> pd.DataFrame:
    """Grade bands of a total score, highest first (rules/grades.csv, the one place they are set)."""
    t = pd.DataFrame(list(_rule_rows("grades.csv")))
    t["min_score"] = t["min_score"].astype(float)
    return t.sort_values("min_score", ascending=False, ignore_index=True)


def _bands() -> list[tuple[str, re.Pattern]]:
    return [(r["band"], re.compile(r["pattern"])) for r in _rule_rows("achievement.csv")]


def achievement_band(actual: str | None) -> str | None:
    """How a qualitative actual reads: achieved | partial | not_achieved, or None when it says nothing.

    >>> [achievement_band(x) for x in ["完成", "基本完成", "未完成", "显著提高", "—", None]]
    ['achieved', 'partial', 'not_achieved', 'achieved', None, None]
    """
    if not actual:
        return None
    t = key(actual)
    for band, pattern in _bands():
        if pattern.search(t):
            return band
    return None


# -- execution --------------------------------------------------------------------------------------

def execution_base(forms: pd.DataFrame, base: str = "full_year") -> pd.Series:
    """The denominator of the execution rate: 全年预算数, or 年初预算数 where the form has none."""
    if base == "initial":
        return forms["budget_initial"].astype("Float64")
    return forms["budget_full_year"].astype("Float64").fillna(forms["budget_initial"].astype("Float64"))


def execution_rate(forms: pd.DataFrame, base: str = "full_year") -> pd.Series:
    """全年执行数 / 全年预算数 in percent; falls back to 年初预算数 where a form has no 全年预算数.

    >>> execution_rate(pd.DataFrame({"budget_initial": [626.0], "budget_full_year": [626.0],
    ...                              "executed": [622.58]})).round(2).tolist()
    [99.45]
    """
    b = execution_base(forms, base)
    return (forms["executed"].astype("Float64") / b.where(b > 0) * 100).astype("Float64")


def execution_score(rate: pd.Series, weight: pd.Series) -> pd.Series:
    """执行率 × 分值, never above 分值.

    >>> execution_score(pd.Series([93.3, 120.0]), pd.Series([10.0, 10.0])).tolist()
    [9.33, 10.0]
    """
    w = weight.astype("Float64")
    return (rate.astype("Float64") / 100 * w).clip(upper=w).round(4)


def grade(total: pd.Series) -> pd.Series:
    """Grade of a total score: 优 ≥ 90, 良 80–90, 中 60–80, 差 < 60 (rules/grades.csv).

    >>> grade(pd.Series([96.97, 85.0, 60.0, 59.9, None])).tolist()
    ['优', '良', '中', '差', <NA>]
    """
    bands = grade_bands().iloc[::-1]  # lowest first: a score takes the highest band whose minimum it reaches
    s = pd.to_numeric(total, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    at = np.searchsorted(bands["min_score"].to_numpy(float), s, side="right") - 1
    at[np.isnan(s)] = -1
    return pd.Series(_named([str(g) for g in bands["grade"]], at), index=total.index, name="grade",
                     dtype="string")


# -- indicators -------------------------------------------------------------------------------------

_UNIT_SAME = {"万元": "万", "元/人": "元/人", "%": "%"}


def _coded(values) -> tuple[np.ndarray, list]:
    """A text column of few distinct values (operators, units) as numbers into its distinct values (-1: null):
    tests on it are made once per distinct value, not once per row."""
    codes, uniq = pd.factorize(values)
    return codes.astype(np.int64), list(uniq)


def _in(codes: np.ndarray, vocab: list, words) -> np.ndarray:
    """Which rows' coded value is one of `words`.

    >>> _in(np.array([0, 1, -1, 0]), ["≤", "="], {"≤", "<"}).tolist()
    [True, False, False, True]
    """
    return np.array([*(v in words for v in vocab), False], dtype=bool)[codes]


def _parsed(ind: pd.DataFrame, side: str) -> tuple[np.ndarray, list, np.ndarray, np.ndarray, list]:
    """Operator, value, unit of target/actual: the ingest's columns, re-read from the raw text where empty.
    Operator and unit come _coded() (codes, distinct values)."""
    cols = [f"{side}_op", f"{side}_value", f"{side}_unit"]
    n = len(ind)
    if all(c in ind for c in cols):
        (op, ops), (unit, units) = _coded(ind[cols[0]]), _coded(ind[cols[2]])
        value = pd.to_numeric(ind[cols[1]], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    else:
        op, unit, value, ops, units = np.full(n, -1), np.full(n, -1), np.full(n, np.nan), [], []
    raw = ind.get(f"{side}_raw", pd.Series(pd.NA, index=ind.index))
    missing = np.isnan(value) & raw.notna().to_numpy(bool)
    if missing.any():
        # each distinct text parsed once: the texts of one template repeat
        codes, uniq = pd.factorize(raw[missing].astype(str))
        parsed = [parse_value(t) for t in uniq]
        op[missing] = _code_of(ops, [v.op for v in parsed])[codes]
        unit[missing] = _code_of(units, [v.unit for v in parsed])[codes]
        value[missing] = pd.to_numeric(pd.Series([v.value for v in parsed], dtype=object), errors="coerce") \
            .to_numpy(dtype=float, na_value=np.nan)[codes]
    return op, ops, value, unit, units


def _code_of(vocab: list, values: list) -> np.ndarray:
    """The codes of values in vocab (-1 for None), new values appended to it."""
    at = {v: k for k, v in enumerate(vocab)}
    codes = []
    for v in values:
        if v is not None and v not in at:
            at[v] = len(vocab)
            vocab.append(v)
        codes.append(-1 if v is None else at[v])
    return np.array(codes, dtype=np.int64)


def _in_wan(value: np.ndarray, unit: np.ndarray, units: list) -> tuple[np.ndarray, np.ndarray]:
    """Money in 元 converted to 万元, so "≤20000元" compares with "1万元" (new arrays where any is in 元;
    `units` may gain "万元").

    >>> _in_wan(np.array([20000.0, 3.0]), np.array([0, 1]), ["元", "%"])
    (array([2., 3.]), array([2, 1]))
    """
    yuan = _in(unit, units, {"元"})
    if yuan.any():
        value, unit = value.copy(), unit.copy()
        value[yuan] = value[yuan] / 10000
        unit[yuan] = _code_of(units, ["万元"])[0]
    return value, unit


def _unit_key(u) -> str | None:
    if u is None or u is pd.NA or (isinstance(u, float) and np.isnan(u)):
        return None
    return _UNIT_SAME.get(str(u), str(u))


def _unit_ids(*units: tuple[np.ndarray, list]) -> list[np.ndarray]:
    """_unit_key of every unit of each _coded() column as a number (equal keys, equal numbers; no unit → -1),
    each distinct unit keyed once: units compare as integers, not as a million Python strings."""
    vocab: dict[str, int] = {}
    out = []
    for codes, uniq in units:
        keys = (_unit_key(x) for x in uniq)
        ids = np.array([*(-1 if k is None else vocab.setdefault(k, len(vocab)) for k in keys), -1], dtype=np.int64)
        out.append(ids[codes])
    return out


_STATUSES = ["not_comparable", "met", "unmet", "over_ceiling", "achieved", "partial", "not_achieved",
             "budget_execution"]
_REASONS = ["指标值为数值，完成值不是数值", "指标值与完成值单位不同", "完成值为区间（如“≥95%”），不是实际数",
            "完成值未说明完成程度", "无指标值"]


def rescore_indicators(indicators: pd.DataFrame, forms: pd.DataFrame | None = None, **overrides) -> pd.DataFrame:
    """Each indicator under the quantitative rule or the qualitative bands (schema `rescored_indicators`).

    status: met | unmet | over_ceiling (quantitative); achieved | partial | not_achieved (bands);
    budget_execution (scored from the form's amounts); not_comparable (reason says why).
    """
    cfg = settings(**overrides)
    ind = indicators.reset_index(drop=True)
    n = len(ind)
    w = ind["weight"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    t_op, t_ops, tv, tu, t_units = _parsed(ind, "target")
    a_op, a_ops, av, au, a_units = _parsed(ind, "actual")
    (tv, tu), (av, au) = _in_wan(tv, tu, t_units), _in_wan(av, au, a_units)
    t_unit, a_unit = _unit_ids((tu, t_units), (au, a_units))
    units_ok = (t_unit < 0) | (a_unit < 0) | (t_unit == a_unit)
    exact_as = "≤" if cfg["exact_rule"] == "ceiling" else "≥"
    cost_as = "≤" if cfg["cost_exact_rule"] == "ceiling" else exact_as
    is_cost = ind.get("level2", pd.Series(None, index=ind.index)).eq("成本指标").fillna(False).to_numpy(bool)
    below = {"≤", "<"}
    ceiling = np.where(_in(t_op, t_ops, {"="}), np.where(is_cost, cost_as in below, exact_as in below),
                       _in(t_op, t_ops, below))
    t_num, a_num = ~np.isnan(tv), ~np.isnan(av)
    a_range = _in(a_op, a_ops, {"≥", "≤", ">", "<"})

    # status and reason as numbers into _STATUSES / _REASONS (-1: no reason), named once at the end
    st = {name: k for k, name in enumerate(_STATUSES)}
    why = {name: k for k, name in enumerate(_REASONS)}
    status = np.full(n, st["not_comparable"], dtype=np.int64)
    reason = np.full(n, -1, dtype=np.int64)
    achievement = np.full(n, np.nan)
    rescore = np.full(n, np.nan)
    lo = np.full(n, np.nan)
    hi = np.full(n, np.nan)

    quant = t_num & a_num & units_ok & ~a_range
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(ceiling, tv / av, av / tv)  # share of the target reached, 1 = on target
    ratio = np.where(ceiling & (av <= tv), 1.0, ratio)
    ratio = np.where(~ceiling & (av >= tv), 1.0, ratio)
    if cfg["ceiling_rule"] == "linear_2x":
        with np.errstate(divide="ignore", invalid="ignore"):
            linear = np.clip(2 - av / tv, 0, 1)
        ratio = np.where(ceiling & (av > tv), linear, ratio)
    ratio = np.clip(np.nan_to_num(ratio, nan=0.0, posinf=1.0), 0, 1)
    status[quant] = np.where(ratio[quant] >= 1, st["met"], np.where(ceiling[quant], st["over_ceiling"], st["unmet"]))
    with np.errstate(divide="ignore", invalid="ignore"):
        achievement[quant] = np.where(tv[quant] != 0, av[quant] / tv[quant] * 100, np.nan)
    rescore[quant] = (w * ratio)[quant]
    lo[quant] = hi[quant] = rescore[quant]

    reason[t_num & ~a_num] = why["指标值为数值，完成值不是数值"]
    reason[t_num & a_num & ~units_ok] = why["指标值与完成值单位不同"]
    reason[t_num & a_num & a_range] = why["完成值为区间（如“≥95%”），不是实际数"]

    # qualitative targets: the bands of the actual text
    codes, uniq = pd.factorize(ind["actual_raw"])  # each distinct actual read once
    bands = [achievement_band(a) if isinstance(a, str) else None for a in uniq]
    # -1: says nothing; a band the settings do not score matches no status
    band = np.array([*(-1 if b is None else st.get(b, len(st)) for b in bands), -1], dtype=np.int64)[codes]
    qual = ~t_num & ind["target_raw"].notna().to_numpy(bool)
    a_hi, p_lo = cfg["band_achieved_low"] / 100, cfg["band_partial_low"] / 100
    shares = {"achieved": (a_hi, 1.0), "partial": (p_lo, a_hi), "not_achieved": (0.0, p_lo)}
    for name, (s_lo, s_hi) in shares.items():
        m = qual & (band == st[name])
        status[m] = st[name]
        lo[m], hi[m] = w[m] * s_lo, w[m] * s_hi
    # a numeric actual to a qualitative target reads as achieved when it is a positive amount
    m = qual & (band < 0) & a_num & (av > 0) & ~a_range
    status[m] = st["achieved"]
    lo[m], hi[m] = w[m] * a_hi, w[m]
    reason[qual & (status == st["not_comparable"])] = why["完成值未说明完成程度"]
    reason[ind["target_raw"].isna().to_numpy(bool)] = why["无指标值"]

    # budget-execution rows among the indicators: the form's own amounts decide
    budget_rows = ind.get("is_budget_execution", pd.Series(False, index=ind.index)).fillna(False).to_numpy(bool)
    # every row carries its form's rate (not only where some row of the batch is a budget row: a batch checked
    # region by region gives the same table as checked whole)
    form_rate = pd.Series(np.nan, index=ind.index)
    if forms is not None and len(forms):
        rates = execution_rate(forms, str(cfg["exec_rate_base"]))
        pos = _positions(forms["form_id"], ind["form_id"])
        by_form = rates.to_numpy(dtype=float, na_value=np.nan)
        form_rate = pd.Series(np.where(pos >= 0, by_form[np.maximum(pos, 0)] if len(by_form) else np.nan, np.nan),
                              index=ind.index)
        ok = budget_rows & form_rate.notna().to_numpy()
        fr = form_rate.to_numpy()
        share = np.minimum(fr / 100, 1.0)  # the execution rule: rate × weight, capped
        status[ok] = st["budget_execution"]
        reason[ok] = -1
        achievement[ok] = fr[ok]
        rescore[ok] = lo[ok] = hi[ok] = (w * share)[ok]

    out = pd.DataFrame({
        "form_id": ind["form_id"], "source_file": ind.get("source_file"), "location": ind.get("location"),
        "seq": ind["seq"], "line": ind["line"],
        "level1": ind["level1"], "name": ind["name"], "target_raw": ind["target_raw"],
        "actual_raw": ind["actual_raw"], "weight": ind["weight"], "score": ind["score"],
        "status": _named(_STATUSES, status), "reason": _named(_REASONS, reason), "achievement": achievement,
        "rescore": np.round(rescore, 4), "rescore_min": np.round(lo, 4), "rescore_max": np.round(hi, 4),
        "form_exec_rate": form_rate.to_numpy(),
    })
    return conformed("rescored_indicators", out)


def rescore(tables: dict[str, pd.DataFrame], **overrides) -> dict[str, pd.DataFrame]:
    """Per-form and per-indicator rescoring: {'rescored_forms': …, 'rescored_indicators': …}.

    The total follows the form's own arithmetic where its weights show the execution row outside the
    printed total (indicator weights alone make the total: total_basis 'indicators_only'); otherwise
    total = execution score + indicator scores ('execution_plus_indicators').
    """
    with _system_allocator():
        return _rescore(tables, **overrides)


def _rescore(tables: dict[str, pd.DataFrame], **overrides) -> dict[str, pd.DataFrame]:
    cfg = settings(**overrides)
    forms, ind = tables["forms"], tables["indicators"]
    ri = rescore_indicators(ind, forms, **overrides)
    rate = execution_rate(forms, str(cfg["exec_rate_base"]))
    exec_w = forms["exec_weight"].astype("Float64")
    exec_score = execution_score(rate, exec_w)

    # one grouping of the million indicator rows (its keys hashed once) for every sum
    g = pd.DataFrame({"weight": ri["weight"], "score": ri["score"], "rescore_min": ri["rescore_min"],
                      "rescore_max": ri["rescore_max"], "not_comparable": ri["status"].eq("not_comparable"),
                      # the unmet cells in a comparable total: indicators without a rescore count at their weight
                      "unscored": ri["weight"].where(ri["rescore_max"].isna())}).groupby(
        _positions(forms["form_id"], ri["form_id"]), sort=False)  # by the first row of the form's id (-1: none)
    agg = pd.DataFrame({
        "indicator_weight": g["weight"].sum(min_count=1),
        "indicator_score_reported": g["score"].sum(min_count=1),
        "indicator_rescore_min": g["rescore_min"].sum(min_count=1),
        "indicator_rescore_max": g["rescore_max"].sum(min_count=1),
        "indicators": g.size(),
        "not_comparable": g["not_comparable"].sum(),
        "unscored_weight": g["unscored"].sum(),
    })
    agg = agg[agg.index >= 0]
    f = forms.reindex(columns=["form_id", "source_file", "location", "project_name", "total_weight_reported",
                               "total_score_reported", "exec_rate_reported", "exec_score_reported"])
    f["exec_base"] = np.where(forms["budget_full_year"].notna() & (cfg["exec_rate_base"] != "initial"),
                              "full_year", "initial")
    f["exec_rate"] = rate.round(4)
    f["exec_weight"] = exec_w
    f["exec_score"] = exec_score
    f = pd.concat([f, agg.reindex(_positions(forms["form_id"], forms["form_id"])).set_axis(f.index)], axis=1)
    total_w = f["total_weight_reported"].astype("Float64").fillna(thresholds()["full_marks"])
    tol = cfg["weight_tol"]
    inside = ((f["exec_weight"].fillna(0) + f["indicator_weight"]) - total_w).abs() <= tol
    only = (f["indicator_weight"] - total_w).abs() <= tol
    f["total_basis"] = np.where(~inside.fillna(False) & only.fillna(False), "indicators_only",
                                "execution_plus_indicators")
    add_exec = pd.Series(np.where(f["total_basis"] == "indicators_only", 0.0, 1.0), index=f.index)
    ex = f["exec_score"].fillna(0) * add_exec
    # without the amounts the execution part is unscoreable: like an unscoreable indicator, it may earn its weight
    ex_max = f["exec_score"].fillna(f["exec_weight"]).fillna(0) * add_exec
    f["unscored_weight"] = f["unscored_weight"].fillna(0.0).astype("Float64")
    f["total_rescore_min"] = (ex + f["indicator_rescore_min"].fillna(0)).round(4)
    f["total_rescore_max"] = (ex_max + f["indicator_rescore_max"].fillna(0) + f["unscored_weight"]).round(4)
    f["grade_reported"] = grade(f["total_score_reported"])
    f["grade_rescored"] = grade(f["total_rescore_max"])
    f["grade_rescored_min"] = grade(f["total_rescore_min"])
    return {"rescored_forms": conformed("rescored_forms", f), "rescored_indicators": ri}
