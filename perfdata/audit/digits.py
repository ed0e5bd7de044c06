"""Digit tests on the funding figures (Benford's law): invented or adjusted amounts rarely have natural digits.

Amounts that grow by multiplication (budgets, payments) have first digits that follow Benford's law (1 leads
about 30 % of them, 9 under 5 %) and last digits that are all equally common. Figures typed to fit a total,
or budgets set in round numbers, leave a pattern a reviewer should look into. Three tests, each per group
(region × year by default) and over all amounts:

- first: the first significant digit, 1–9, against Benford's log10(1 + 1/d);
- first_two: the first two digits, 10–99, against log10(1 + 1/dd), for amounts of 10 万元 or more;
- last: the units digit of the amount in 万元, 0–9, against 1/10 each, for amounts of 100 万元 or more (so that
  digit is the third or a later one, near uniform in honest figures, where the first two are not; the
  decimals are left alone: most forms print whole 万元 or two decimals, and a form in 元 converted to 万元
  would add digits no one printed).

Conformity is read from the mean absolute deviation (MAD) of the observed from the expected shares, with
Nigrini's bounds (rules/digits.csv): 高度符合 / 可接受 / 勉强可接受 / 不符合; a group with fewer amounts than
the test's min_n reads 样本不足 (the MAD is still given). A chi-square statistic and its p-value (Wilson–
Hilferty approximation) sit beside it, and per digit Nigrini's z statistic.

Amounts (`amounts()`): every figure of the funding table (年初预算数, 全年预算数, 全年执行数 of each funding
line: 年度资金总额, 财政拨款, 上年结转, 其他资金) and, for a form without funding lines, the form's own
budget and executed figures. A figure printed twice on one line (全年预算数 equal to 年初预算数, no
adjustment) counts once: it was set once. Zeros, negatives and blanks are left out of every test.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cache

import numpy as np
import pandas as pd

from perfdata import rules, schema
from perfdata.audit.sampling import stratum_labels

TESTS = ("first", "first_two", "last")
FIELDS = ("budget_initial", "budget_full_year", "executed")
GROUPS = ("region", "department", "year")
ALL = "全部"
_BOUNDS = ("close", "acceptable", "marginal")
_SCALE = 10**6  # amounts are read as whole millionths of a 万元 (0.01 元): exact integer digits


@cache
def _table() -> dict[str, dict[str, str]]:
    return {r["name"]: r for r in rules.table("digits.csv")}


def settings(**overrides) -> dict[str, dict[str, float]]:
    """Per test: the MAD bounds, min_n and min_amount of rules/digits.csv; override as `first_min_n=300`.

    >>> s = settings()
    >>> s["first"]["close"], s["first_two"]["marginal"], s["last"]["min_amount"], s["first"]["min_n"]
    (0.006, 0.0022, 100.0, 600.0)
    """
    out = {t: {name: float(row[t]) for name, row in _table().items() if row[t] != ""} for t in TESTS}
    for key, value in overrides.items():
        test, _, name = next(((t, "_", key[len(t) + 1:]) for t in sorted(TESTS, key=len, reverse=True)
                              if key.startswith(t + "_")), (None, "", ""))
        if test is None or name not in out[test]:
            raise ValueError(f"unknown digit-test setting {key!r}; use TEST_NAME with TEST in {', '.join(TESTS)} "
                             f"and NAME in {', '.join(out['first'])}")
        out[test][name] = float(value)
    return out


def verdict_labels() -> dict[str, str]:
    """close / acceptable / marginal / nonconformity / min_n → the Chinese verdict (rules/digits.csv)."""
    return {name: row["verdict"] for name, row in _table().items() if row["verdict"]}


def expected(test: str) -> tuple[np.ndarray, np.ndarray]:
    """The digits of a test and their expected shares (proportions).

    >>> d, p = expected("first")
    >>> d.tolist()[:3], [round(float(x), 4) for x in p[:3]]
    ([1, 2, 3], [0.301, 0.1761, 0.1249])
    """
    if test == "first":
        d = np.arange(1, 10)
    elif test == "first_two":
        d = np.arange(10, 100)
    elif test == "last":
        d = np.arange(10)
        return d, np.full(10, 0.1)
    else:
        raise ValueError(f"test {test!r}: use one of {', '.join(TESTS)}")
    return d, np.log10(1 + 1 / d)


def digits(values, test: str, min_amount: float = 0.0) -> np.ndarray:
    """The digit of each amount for a test; -1 where it is left out (blank, zero, negative, below min_amount).

    >>> digits([139.04, 0.3, 2993.0, 0.0, None], "first").tolist()
    [1, 3, 2, -1, -1]
    >>> digits([139.04, 5.0, 2993.0], "first_two", 10).tolist(), digits([139.04, 5.0, 2993.0], "last", 100).tolist()
    ([13, -1, 29], [9, -1, 3])
    """
    x = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(dtype=float)
    ok = np.isfinite(x) & (x > 0) & (x >= min_amount) & (x < 1e12)  # beyond 10¹² 万元 is a misread, not money
    c = np.where(ok, np.round(np.where(ok, x, 1.0) * _SCALE), 1.0).astype(np.int64)
    ok &= c > 0
    if test == "last":
        d = (c // _SCALE) % 10
        return np.where(ok, d, -1)
    width = 1 if test == "first" else 2
    if test not in ("first", "first_two"):
        raise ValueError(f"test {test!r}: use one of {', '.join(TESTS)}")
    nd = np.floor(np.log10(np.maximum(c, 1))).astype(np.int64) + 1  # number of digits, corrected below
    pw = np.power(10, np.clip(nd - 1, 0, 18)).astype(np.int64)
    nd = np.where(c < pw, nd - 1, nd)
    nd = np.where(c >= np.power(10, np.clip(nd, 0, 18)).astype(np.int64), nd + 1, nd)
    lead = c // np.power(10, np.clip(nd - width, 0, 18)).astype(np.int64)
    ok &= nd >= width
    return np.where(ok, lead, -1)


def amounts(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The figures the tests read, one row each with its form, file and line (see the module docstring).

    Columns: form_id, source_file, line, region, department, year, fund_source, field, amount.
    """
    forms = tables.get("forms")
    funding = tables.get("funding")
    cols = ["form_id", "source_file", "line", *GROUPS, "fund_source", "field", "amount"]
    parts = []
    if funding is not None and len(funding):
        f = funding[["form_id", "source_file", "line", "fund_source", *FIELDS]]
        long = f.melt(id_vars=["form_id", "source_file", "line", "fund_source"], value_vars=list(FIELDS),
                      var_name="field", value_name="amount")
        long["_order"] = np.tile(np.arange(len(f)), len(FIELDS))
        parts.append(long)
    if forms is not None and len(forms):
        have = set(funding["form_id"].dropna()) if funding is not None and len(funding) else set()
        own = forms[~forms["form_id"].isin(have)]
        if len(own):
            line = own["funding_line"] if "funding_line" in own else own["line_start"]
            f = own[["form_id", "source_file", *FIELDS]].assign(line=line.fillna(own["line_start"]),
                                                                fund_source="total")
            long = f.melt(id_vars=["form_id", "source_file", "line", "fund_source"], value_vars=list(FIELDS),
                          var_name="field", value_name="amount")
            long["_order"] = np.tile(np.arange(len(f)), len(FIELDS)) + 10**9
            parts.append(long)
    if not parts:
        return pd.DataFrame({c: pd.Series([], dtype=float if c == "amount" else object) for c in cols})
    a = pd.concat(parts, ignore_index=True)
    a["amount"] = pd.to_numeric(a["amount"], errors="coerce").astype(float)
    a = a[a["amount"].notna()]
    # one figure per line: 全年预算数 equal to 年初预算数 (no adjustment) was set once
    a = a.sort_values("_order", kind="stable").drop_duplicates(["form_id", "source_file", "line", "fund_source",
                                                                 "amount"])
    if forms is not None and len(forms):
        meta = forms.drop_duplicates("form_id").set_index("form_id")[list(GROUPS)]
        a = a.join(meta, on="form_id")
    else:
        a = a.assign(**{g: pd.NA for g in GROUPS})
    return a[cols].reset_index(drop=True)


def _p_value(chi2: np.ndarray, dof: int) -> np.ndarray:
    """Upper tail of the chi-square distribution (Wilson–Hilferty; within about 0.005 for 8 or more dof).

    >>> [round(float(p), 3) for p in _p_value(np.array([15.507, 2.733]), 8)]  # exact: 0.05, 0.95
    [0.05, 0.949]
    """
    k = float(dof)
    z = ((np.asarray(chi2, dtype=float) / k) ** (1 / 3) - (1 - 2 / (9 * k))) / math.sqrt(2 / (9 * k))
    return np.array([0.5 * math.erfc(v / math.sqrt(2)) if np.isfinite(v) else np.nan for v in z])


def verdict(mad: float, n: int, test: str, conf: dict | None = None) -> str:
    """The conformity verdict of a MAD for a test (样本不足 below the test's min_n).

    >>> [verdict(m, 1000, "first") for m in (0.004, 0.013, 0.03)], verdict(0.0, 50, "first")
    (['高度符合', '勉强可接受', '不符合'], '样本不足')
    """
    s = (conf or settings())[test]
    labels = verdict_labels()
    if n < s["min_n"] or not np.isfinite(mad):
        return labels["min_n"]
    return next((labels[b] for b in _BOUNDS if mad <= s[b]), labels["nonconformity"])


def digit_tables(data, by: Sequence[str] = ("region", "year"), tests: Sequence[str] = TESTS,
                 **overrides) -> dict[str, pd.DataFrame]:
    """The tests per group and over all amounts: {"digit_tests": …, "digit_frequencies": …}.

    `data` is the tidy tables (the funding figures are read with amounts()), a frame with an `amount`
    column (and the `by` columns), or the amounts themselves. `overrides` change rules/digits.csv values
    (first_min_n=300).

    >>> rng = np.random.default_rng(1)
    >>> t = digit_tables(10 ** rng.uniform(0, 5, 3000), tests=["first"])["digit_tests"]
    >>> t[["test", "group", "n", "verdict"]].values.tolist(), bool(t["mad"].iloc[0] < 0.006)
    ([['first', '全部', 3000, '高度符合']], True)
    """
    conf = settings(**overrides)
    if isinstance(data, dict):
        a = amounts(data)
    elif isinstance(data, pd.DataFrame):
        a = data
    else:
        a = pd.DataFrame({"amount": pd.to_numeric(pd.Series(list(data), dtype=object), errors="coerce")})
    by = [by] if isinstance(by, str) else list(by or [])
    if set(by) - set(GROUPS):
        raise ValueError(f"by={by!r}: group by one or more of {', '.join(GROUPS)}")
    if not isinstance(data, (dict, pd.DataFrame)):
        by = []  # bare amounts: no groups to form
    elif set(by) - set(a.columns):
        raise ValueError(f"by={by!r}: the amounts have no column {', '.join(sorted(set(by) - set(a.columns)))}")
    a = a.reset_index(drop=True)
    for c in GROUPS:
        if c not in a:
            a[c] = pd.NA
    if by and len(a):
        codes = a.groupby(by, dropna=False, sort=True).ngroup().to_numpy() + 1
        first = pd.Series(np.arange(len(a))).groupby(codes).first()
        keys = a.loc[first.to_numpy(), list(GROUPS)].reset_index(drop=True)
        keys = keys.assign(**{c: pd.NA for c in GROUPS if c not in by})
        keys["group"] = stratum_labels(keys, by).to_numpy()
    else:
        codes = np.zeros(len(a), dtype=np.int64) + 1
        keys = pd.DataFrame(columns=[*GROUPS, "group"])
    overall = pd.DataFrame([{**{c: pd.NA for c in GROUPS}, "group": ALL}])
    keys = pd.concat([overall, keys], ignore_index=True) if len(keys) else overall
    n_groups = len(keys)
    amount = a["amount"].to_numpy(dtype=float) if len(a) else np.zeros(0)
    present = np.isfinite(amount)
    tests_rows, freq_rows = [], []
    for test in tests:
        d, p = expected(test)
        s = conf[test]
        dig = digits(amount, test, s.get("min_amount", 0.0))
        ok = dig >= 0
        k = len(d)
        pos = np.searchsorted(d, dig[ok])
        counts = np.zeros((n_groups, k), dtype=np.int64)
        counts[0] = np.bincount(pos, minlength=k)
        if by:
            counts[1:] = np.bincount(codes[ok] * k + pos, minlength=n_groups * k).reshape(n_groups, k)[1:]
        listed = np.zeros(n_groups, dtype=np.int64)
        listed[0] = present.sum()
        if by:
            listed[1:] = np.bincount(codes[present], minlength=n_groups)[1:]
        n = counts.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = counts / n[:, None]
            mad = np.abs(share - p).mean(axis=1)
            mad_expected = (math.sqrt(2 / math.pi) * np.sqrt(p * (1 - p))[None, :] / np.sqrt(n)[:, None]).mean(axis=1)
            chi2 = (((counts - n[:, None] * p) ** 2) / (n[:, None] * p)).sum(axis=1)
            dev = np.abs(share - p)
            sd = np.sqrt(p * (1 - p) / n[:, None])
            corr = 1 / (2 * n[:, None])
            z = np.where(corr < dev, dev - corr, dev) / sd
        empty = n == 0
        mad, mad_expected, chi2 = (np.where(empty, np.nan, v) for v in (mad, mad_expected, chi2))
        pv = _p_value(chi2, k - 1)
        tests_rows.append(keys.assign(test=test, n=n, excluded=listed - n, mad=mad, mad_expected=mad_expected,
                                      verdict=[verdict(m, int(c), test, conf) for m, c in zip(mad, n, strict=True)],
                                      chi_square=chi2, dof=k - 1, p_value=pv))
        g = np.repeat(np.arange(n_groups), k)
        freq_rows.append(keys.iloc[g].reset_index(drop=True).assign(
            test=test, digit=np.tile(d, n_groups), observed=counts.ravel(),
            observed_share=np.where(np.repeat(empty, k), np.nan, 100 * share.ravel()),
            expected_share=100 * np.tile(p, n_groups),
            z_stat=np.where(np.repeat(empty, k), np.nan, z.ravel())))
    return {"digit_tests": schema.conform("digit_tests", pd.concat(tests_rows, ignore_index=True)),
            "digit_frequencies": schema.conform("digit_frequencies", pd.concat(freq_rows, ignore_index=True))}


def digit_tests(data, by: Sequence[str] = ("region", "year"), tests: Sequence[str] = TESTS,
                **overrides) -> pd.DataFrame:
    """The `digit_tests` table of digit_tables()."""
    return digit_tables(data, by, tests, **overrides)["digit_tests"]

