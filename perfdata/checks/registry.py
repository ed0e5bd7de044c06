"""The rule registry and what every rule shares: the rules table (rules/anomalies.csv), its parameters, the
context built once per check run (tables plus rescoring) and the findings frame."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from perfdata import schema
from perfdata.checks.evidence import sources as evidence_sources
from perfdata.scoring import (  # noqa: F401 - _positions, _joint_key: the rules' look-ups
    _arrow_text,
    _joint_key,
    _positions,
    _rule_rows,
    rescore,
    thresholds,
)

SEVERITY_ORDER = ["high", "medium", "low"]  # most severe first
GLOBAL_PARAMS = {"template_share": 0.6, "template_min_forms": 3.0}
RULES: dict[str, Callable] = {}


def rule(rule_id: str):
    """Register a rule function under its id in rules/anomalies.csv."""
    def deco(fn):
        RULES[rule_id] = fn
        return fn
    return deco


@cache
def rule_table() -> pd.DataFrame:
    """rules/anomalies.csv as a DataFrame (one row per rule)."""
    return pd.DataFrame(list(_rule_rows("anomalies.csv"))).fillna("")


def _parse_params(text: str) -> dict[str, float]:
    """`name=value;…`; a bare `name` takes its value from rules/thresholds.csv (one place for the reports too)."""
    out = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, sep, value = part.partition("=")
        out[name.strip()] = float(value) if sep else thresholds()[name.strip()]
    return out


def default_params() -> dict[str, float]:
    """Every tunable threshold with its default, from the rules table (shared names share a value)."""
    out = dict(GLOBAL_PARAMS)
    for text in rule_table()["params"]:
        out.update(_parse_params(text))
    return out



# -- context shared by the rules --------------------------------------------------------------------

class Context:
    """The tidy tables plus the rescoring, built once per check run."""

    def __init__(self, tables: dict[str, pd.DataFrame], raw_dir: str | Path | None = None):
        # a batch concatenated from several (a store's parts, copies) holds chunked columns: one chunk each
        self.tables = {name: _one_chunk(t) if isinstance(t, pd.DataFrame) else t for name, t in tables.items()}
        self.raw_dir = raw_dir
        self.forms = self.table("forms")
        self.indicators = self.table("indicators")
        self.funding = self.table("funding")
        self.summary = self.table("summary_rows")
        self.statements = self.table("statements")
        self._sources: dict = {}
        self._memo: dict = {}
        scored = rescore({"forms": self.forms, "indicators": self.indicators})
        self.rf = scored["rescored_forms"]
        self.ri = scored["rescored_indicators"]
        rf = self.rf.drop(columns=["source_file", "location", "project_name", "total_weight_reported",
                                   "total_score_reported", "exec_rate_reported", "exec_score_reported", "exec_weight"])
        if self.forms.form_id.is_unique and not (set(rf.columns) & set(self.forms.columns)) - {"form_id"} and \
                rf.form_id.reset_index(drop=True).equals(self.forms.form_id.reset_index(drop=True)):
            # the rescoring is the forms row for row: its columns beside theirs (what the merge on form_id gives)
            f = pd.concat([self.forms.reset_index(drop=True), rf.drop(columns="form_id").reset_index(drop=True)],
                          axis=1)
        else:
            f = self.forms.merge(rf, on="form_id", how="left")
        f["budget"] = f["budget_full_year"].fillna(f["budget_initial"])
        self.f = f

    def table(self, name: str) -> pd.DataFrame:
        """A tidy table of the batch, empty (with its columns) when the batch has none."""
        t = self.tables.get(name)
        return t if t is not None else schema.frame(name, [])

    def forms_once(self) -> pd.DataFrame:
        """The forms with their rescoring (`f`), each form_id once (its first row)."""
        return self.memo("forms_once", lambda: self.f.drop_duplicates("form_id"))

    def memo(self, name, make: Callable):
        """A value several rules share (level rates, per-file lookups), computed once per check run."""
        if name not in self._memo:
            self._memo[name] = make()
        return self._memo[name]

    def sources(self, source_files) -> dict:
        """evidence.sources() of the files named, each file looked up once per check run."""
        if self.raw_dir is None:
            return {}
        # the distinct names first (in arrow for a text column), then one Python string per file, not per row
        names = pd.unique(source_files if isinstance(source_files, pd.Series) else
                          np.asarray(source_files, dtype=object))
        names = [sf for sf in np.asarray(names, dtype=object) if isinstance(sf, str)]
        new = [sf for sf in names if sf not in self._sources]
        if new:
            got = evidence_sources(self.raw_dir, new)
            self._sources.update({sf: got.get(sf) for sf in new})
        return {sf: self._sources[sf] for sf in names if self._sources.get(sf)}

    def rows_of(self, table: str, col: str, values) -> np.ndarray:
        """Which rows of a table have one of `values` in col (the forms a rule asks about among a million
        indicator rows): by the column's codes, the values looked up once each."""
        codes, uniq = self.codes(table, col)
        at = _positions(uniq, pd.unique(np.asarray(values, dtype=object)))
        wanted = np.zeros(len(uniq) + 1, dtype=bool)  # the last: a null value
        wanted[at[at >= 0]] = True
        return wanted[codes]

    def codes(self, table: str, col: str) -> tuple[np.ndarray, pd.Index]:
        """pd.factorize() of a column of the run's tables (a form id of the million indicator rows), hashed once
        per run: the rules group by these codes rather than by the text."""
        return self.memo(("codes", table, col), lambda: pd.factorize(self.table(table)[col]))


def _one_chunk(df: pd.DataFrame) -> pd.DataFrame:
    """The frame with each arrow column in one chunk: a frame concatenated from many (the rules' findings) holds
    chunked columns, and arrow takes rows of a chunked text column by concatenating its chunks on every take."""
    out = df.copy(deep=False)
    for c in df.columns:
        a = df[c].array
        data = getattr(a, "_pa_array", None)
        if isinstance(data, pa.ChunkedArray) and data.num_chunks > 1:
            one = pa.chunked_array([data.combine_chunks()])
            out[c] = pd.Series(type(a)(one, dtype=a.dtype) if isinstance(a, pd.arrays.ArrowStringArray) else
                               type(a)(one), index=df.index)
    return out


def _findings(df: pd.DataFrame, **cols) -> pd.DataFrame:
    """A findings frame: columns given as Series/arrays/scalars aligned with df."""
    out = pd.DataFrame(index=df.index)
    for k, v in cols.items():
        out[k] = v.array if isinstance(v, pd.Series) and not v.index.equals(df.index) else v
    return out


def _num(x) -> str:
    """A figure as an auditor writes it: 9.3, 100, 4.49 (no trailing zeros)."""
    if x is None or pd.isna(x):
        return "空"
    return f"{float(x):.4f}".rstrip("0").rstrip(".")


def _floats(values) -> np.ndarray:
    """Numbers as a float64 array, nulls as NaN."""
    if isinstance(values, (pd.Series, pd.Index)):
        if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
            values = pd.to_numeric(values, errors="coerce")
        return values.to_numpy(dtype=float, na_value=np.nan)
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        return values.astype(float, copy=False)
    return pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _fmt(values, digits: int | None = None, rounding: str = "numpy", index=None) -> pd.Series:
    """_num of every value as a string Series (each distinct value formatted once; null → 空).

    `digits` rounds first, as the rules' messages do: `rounding="numpy"` is numpy's (what round() does to a
    value read from a pandas column), "python" Python's correctly rounded round() of a float (what it does to
    a value of a dict or a Python computation); they differ on ties such as 2.675.

    >>> _fmt(pd.Series([9.3, 100.0, None, 4.49])).tolist()
    ['9.3', '100', '空', '4.49']
    >>> _fmt([2.675], 2).tolist(), _fmt([2.675], 2, "python").tolist()
    (['2.68'], ['2.67'])
    """
    if index is None:
        index = values.index if isinstance(values, pd.Series) else pd.RangeIndex(len(values))
    x = _floats(values)
    if digits is not None and rounding == "numpy":
        x = np.round(x, digits)
    codes, uniq = pd.factorize(x)
    if digits is not None and rounding == "python":
        txt = [_num(round(float(v), digits)) for v in uniq]
    else:
        txt = [_num(v) for v in uniq]
    n = len(txt)
    codes = np.where(codes < 0, n, codes)  # null → 空
    zero = x == 0  # 0.0 and -0.0 are one value to factorize, not to the format
    if zero.any():
        z = -0.0 if digits is None or rounding == "numpy" else round(-0.0, digits)
        codes[zero] = np.where(np.signbit(x[zero]), n + 1, n + 2)
    text = pa.array([*txt, "空", _num(z) if zero.any() else "", _num(0.0)], type=pa.large_string())
    return pd.Series(pd.arrays.ArrowStringArray(text.take(pa.array(codes))), index=index)


def _txt(values, na: str = "", index=None) -> pd.Series:
    """Text as a string Series with nulls written `na` (f-strings print a pandas null as "<NA>")."""
    s = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    s = s.astype("string")
    if index is not None:
        s.index = index
    return s.fillna(na)


def _ints(values, index=None) -> pd.Series:
    """Whole numbers as text ("12"); null → "<NA>"."""
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    out = s.astype("Int64").astype("string").fillna("<NA>")
    if index is not None:
        out.index = index
    return out


def _map_unique(values: pd.Series, fn, na=None) -> np.ndarray:
    """fn of every value, computed once per distinct value (nulls give `na`): for text tests such as key()."""
    codes, uniq = pd.factorize(values)
    res = np.empty(len(uniq) + 1, dtype=object)
    res[:-1] = [fn(u) for u in uniq]
    res[-1] = na
    return res[codes]


def _group_join(codes: np.ndarray, items, sep: str, n: int, arrow: bool = False):
    """Items joined with `sep` per group code 0…n-1, in their order within the group ("" for a group without);
    as objects, or with `arrow` as a string array (no Python string per group).

    >>> _group_join(np.array([1, 0, 1]), np.array(["a", "b", "c"], dtype=object), "、", 3).tolist()
    ['b', 'a、c', '']
    """
    codes = np.asarray(codes, dtype=np.int64)
    if len(codes) == 0:
        out = np.full(n, "", dtype=object)
        return pd.arrays.ArrowStringArray(pa.array(out, pa.large_string())) if arrow else out
    order = np.argsort(codes, kind="stable")
    offsets = np.r_[0, np.cumsum(np.bincount(codes, minlength=n))]
    values = _arrow_text(items if isinstance(items, (pd.Series, pa.Array, pa.ChunkedArray))
                         else np.asarray(items, dtype=object))
    lists = pa.LargeListArray.from_arrays(pa.array(offsets, pa.int64()), values.take(pa.array(order)))
    joined = pc.binary_join(lists, pa.scalar(sep, pa.large_string()))
    return pd.arrays.ArrowStringArray(joined) if arrow else joined.to_numpy(zero_copy_only=False)


def _distinct_lines(codes: np.ndarray, line) -> tuple[np.ndarray, pa.Array]:
    """Each group's distinct lines, sorted: (group code, line as text) per (group, line), by group then line.

    >>> g, t = _distinct_lines(np.array([1, 0, 1, 1]), [15, 3, 12, 15])
    >>> g.tolist(), t.to_pylist()
    ([0, 1, 1], ['3', '12', '15'])
    """
    ln = _floats(line)
    ok = ~np.isnan(ln)
    g, ln = np.asarray(codes)[ok].astype(np.int64), ln[ok].astype(np.int64)
    order = np.lexsort((ln, g))
    g, ln = g[order], ln[order]
    first = np.r_[True, (g[1:] != g[:-1]) | (ln[1:] != ln[:-1])]
    return g[first], pc.cast(pa.array(ln[first]), pa.large_string())


def _ngroup(*cols) -> np.ndarray:
    """groupby(cols, sort=False, dropna=False).ngroup(), from the columns' codes: each group numbered in order of
    its first row, nulls a group of their own.

    >>> _ngroup(pd.Series(["a", "b", "a", None]), pd.Series([1, 2, 1, 3])).tolist()
    [0, 1, 0, 2]
    """
    key = np.zeros(len(cols[0]), dtype=np.int64)
    for c in cols:
        codes, uniq = pd.factorize(c)
        codes = np.where(codes < 0, len(uniq), codes)
        key = pd.factorize(key * (len(uniq) + 1) + codes)[0]
    return key


def _cat(*parts) -> pd.arrays.ArrowStringArray:
    """Text joined row by row, by position: each part a str (the same in every row) or a column (Series or array
    of text without nulls, see _txt and _fmt). A message column built from the finding's columns.

    >>> _cat("执行率", pd.Series(["9.3", "100"], index=[7, 8]), "%").tolist()
    ['执行率9.3%', '执行率100%']
    """
    cols = [_arrow_text(p if not isinstance(p, np.ndarray) or p.dtype == object else p.astype(object))
            for p in parts if not isinstance(p, str)]
    n = len(cols[0])
    arrays = [pa.scalar(p, pa.large_string()) if isinstance(p, str) else None for p in parts]
    it = iter(cols)
    arrays = [a if a is not None else next(it) for a in arrays]
    joined = pc.binary_join_element_wise(*arrays, pa.scalar("", pa.large_string())) if n else \
        pa.array([], type=pa.large_string())
    return pd.arrays.ArrowStringArray(joined)


def _name(s: pd.Series) -> pd.Series:
    return "“" + _txt(s) + "”"



def rules_markdown() -> str:
    """docs/rules.md, generated from the rules table (a test keeps the two in step)."""
    rt = rule_table()
    out = ["# 异常规则 / Anomaly rules", "",
           "Generated from `perfdata/rules/anomalies.csv` by `perfdata.checks.rules_markdown()`; "
           "a test fails when the two differ.", "",
           "类别 category: consistency 表内数字互相矛盾 · reconciliation 两个来源不一致 · "
           "completeness 必填内容缺失 · quality 目标设置或自评质量问题。",
           "模板级 template: `always` 每个文件报告一次 · `auto` 同一文件多数表出现时合并为一条（form_id 为空）· "
           "`no` 逐表报告。", "",
           "| id | 规则 | Rule | category | severity | template | params |",
           "|---|---|---|---|---|---|---|"]
    for r in rt.itertuples():
        out.append(f"| `{r.id}` | {r.title_zh} | {r.title_en} | {r.category} | {r.severity} | {r.template} | "
                   f"{r.params.replace(';', '; ') or '—'} |")
    out += ["", "## 说明 / What each rule means and why an auditor cares", ""]
    for r in rt.itertuples():
        out += [f"### `{r.id}` — {r.title_zh} / {r.title_en}", "", f"- 中文：{r.why_zh}", f"- English: {r.why_en}", ""]
    out += ["## 一因一条 / One finding per cause", "",
            "同一原因只报一条发现，其余证据行并入该条的说明和 `lines` 列 / One cause is one finding; the other "
            "evidence lines go into its message and the `lines` column:", "",
            "- 单位汇总表与部门汇总表中的同一错误数字、报告中重复的同一句数字 → 一条，列出各行 / the same wrong "
            "figure in two summary tables, or a sentence repeated in the report → one finding naming every line;",
            "- 报告数字与汇总表同错 → 并入 `summary_mismatch` / a narrative figure repeating a wrong summary "
            "figure → folded into `summary_mismatch`;",
            "- 分值合计（及得分合计）之差恰为某一级指标之差 → 并入 `level_weight_mismatch` / weights (and the "
            "total) off by exactly what a level is off by → folded into `level_weight_mismatch`;",
            "- 总分加总错误后自评仍不高于复核上限 → `self_score_above_rescore` 并入 `total_mismatch` / a "
            "self-score high only because the total does not add up → folded into `total_mismatch`;",
            "- 已报“执行率偏低仍接近满分”的表的 `all_full_marks` → 并入 `full_score_despite_shortfall`;",
            "- 表题文号显示项目名称填错而造成的重名 → `duplicate_forms` 并入 `title_name_mismatch` / a duplicate "
            "name that the form's own title shows to be wrong → folded into `title_name_mismatch`.", ""]
    out += ["## 参数 / Parameters", "",
            "Pass as `check(tables, NAME=VALUE)` or `perfdata check DIR --param NAME=VALUE`; unknown names are an "
            "error.", "", "| name | default |", "|---|---|"]
    out += [f"| `{k}` | {_num(v)} |" for k, v in sorted(default_params().items())]
    out += ["", "## 复核设置 / Rescoring settings (`perfdata/rules/scoring.csv`)", "", "| name | value | meaning |",
            "|---|---|---|"]
    out += [f"| `{r['name']}` | {r['value']} | {r['meaning']} |" for r in _rule_rows("scoring.csv")]
    return "\n".join(out) + "\n"
