"""Matching keys: one spelling of a project name, so that summary rows, narrative statements and target tables
can be joined to the project forms they speak of.

Extraction and typing vary spaces, brackets, quotes and full/half width ("高校毕业生”三支一扶” 计划…" in a summary,
"高校毕业生“三支一扶”计划…" in the form). Document numbers vary only in their bracket shape (冀财社【2022】150号,
冀财社〔2022〕150号, 冀财社[2022]150号) and are kept in the key: two projects that differ only by their
document number are different projects. A name that fits more than one form is reported, never guessed.
"""

from __future__ import annotations

import re
from collections import defaultdict
from difflib import SequenceMatcher
from functools import lru_cache

import pandas as pd

from perfdata import schema
from perfdata.normalize import clean

# "【2022]】150号", "〔2023〕205号", "(2024)48号": a year in brackets, then the number
# A match starts only where its run starts ((?<!…)): tried from every character of a long run it was quadratic
DOC_NO = re.compile(r"(?<![\[【〔［(（{])[\[【〔［(（{]+\s*((?:19|20)\d{2})\s*[\]】〕］)）}]+\s*(\d{1,5})\s*号")
_DROP = re.compile(r"[\s\"'“”‘’「」『』()\[\]【】〔〕［］《》<>{}·•・\-—–―_~、,，.。:：;；!！?？/\\|]+")
_TOKEN = re.compile(r"\x00(\d+)\x00")
FUZZY_MIN, FUZZY_MARGIN, CONTAINS_MIN = 0.6, 0.2, 3  # a loose match must be this close and this clear of the next
LINKED = {  # table → (name column, line column): the tables link() fills
    "summary_rows": ("project_name", "line_start"),
    "targets": ("project_name", "line_start"),
    "statements": ("subject", "line"),
}


@lru_cache(maxsize=65536)
def project_key(name: str | None) -> str | None:
    """Normalised project name for joining.

    >>> project_key("高校毕业生”三支一扶” 计划补助资金") == project_key("高校毕业生“三支一扶”计划补助资金")
    True
    >>> project_key("冀财社【2022]】150号关于提前下达2023年中央就业补助资金（中央-就业补助资金）")
    '冀财社[2022]150号关于提前下达2023年中央就业补助资金中央就业补助资金'
    >>> project_key("冀财社[2023]205号中央就业补助资金") == project_key("冀财社[2024]48号中央就业补助资金")
    False
    """
    if name is None or (not isinstance(name, str) and pd.isna(name)):
        return None
    t = clean(str(name))
    numbers: list[str] = []

    def keep(m: re.Match) -> str:
        numbers.append(f"[{m.group(1)}]{int(m.group(2))}号")
        return f"\x00{len(numbers) - 1}\x00"

    t = DOC_NO.sub(keep, t)
    t = _DROP.sub("", t).lower()
    if t.endswith("项目") and len(t) > 4:
        t = t[:-2]
    t = _TOKEN.sub(lambda m: numbers[int(m.group(1))], t)
    return t or None


def _plain(name) -> str | None:
    """The name as printed, spaces and surrounding punctuation aside: what an 'exact' match compares."""
    if name is None or (not isinstance(name, str) and pd.isna(name)):
        return None
    return clean(str(name)).replace(" ", "") or None


class _FormIndex:
    """Forms by (scope, name) and (scope, key): scope is the source file, or the (year, department) pair."""

    def __init__(self, forms: pd.DataFrame):
        self.forms = forms
        self.by = defaultdict(list)
        self.scope_keys = defaultdict(dict)  # scope → {form position: key}, for loose matches
        for i, (src, name, k, year, dept) in enumerate(zip(
                forms.source_file, forms.project_name, forms.project_key, forms.year, forms.department,
                strict=True)):
            plain, k = _plain(name), (k if isinstance(k, str) else None)
            if pd.isna(year) or dept is None or pd.isna(dept):
                scopes = [("file", src)]
            else:
                scopes = [("file", src), ("dept", int(year), dept)]
            for scope in scopes:
                if plain:
                    self.by[(scope, "exact", plain)].append(i)
                if k:
                    self.by[(scope, "key", k)].append(i)
                    self.scope_keys[scope][i] = k

    def match(self, name, k, scopes, unit=None) -> tuple[str, list[int]]:
        """('exact' | 'key' | 'ambiguous' | 'none', candidate form positions)."""
        plain = _plain(name)
        for scope in scopes:
            for how, value in (("exact", plain), ("key", k)):
                if not value:
                    continue
                hits = self.by.get((scope, how, value), [])
                if len(hits) > 1 and unit:
                    narrowed = [h for h in hits if _plain(self.forms.unit.iat[h]) == _plain(unit)]
                    hits = narrowed or hits
                if len(hits) == 1:
                    return how, hits
                if hits:
                    return "ambiguous", hits
        return self.loose(k, scopes[0]) if k and scopes else ("none", [])

    def loose(self, k: str, scope) -> tuple[str, list[int]]:
        """A short or misspelled name ("执法服装", "其他惠普发展支出"): 'contains' when exactly one form's key
        holds it (or it holds one form's key), else 'fuzzy' when one form is clearly the closest; never a guess
        between two forms that fit equally."""
        keys = self.scope_keys.get(scope, {})
        if not keys:
            return "none", []
        inside = [i for i, v in keys.items() if len(k) >= CONTAINS_MIN and (k in v or v in k)]
        if len(inside) == 1:
            return "contains", inside
        if len(inside) > 1:
            return "ambiguous", inside
        ratio = sorted(((SequenceMatcher(None, k, v).ratio(), i) for i, v in keys.items()), reverse=True)
        best = ratio[0][0]
        second = ratio[1][0] if len(ratio) > 1 else 0.0
        if best >= FUZZY_MIN and best - second >= FUZZY_MARGIN:
            return "fuzzy", [ratio[0][1]]
        return "none", []


def link(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Fill project_key, form_id and match of summary_rows, targets and statements (and forms.project_key).

    Matching looks within the same source file first, then among forms of the same year and department;
    'exact' = the name as printed, 'key' = the same project_key, 'contains' = the only form whose key holds the
    name (or is held by it), 'fuzzy' = the one clearly closest name in the same file (a misspelling),
    'ambiguous' = several forms fit (also a problems row), 'none' = no form. Statements about a unit or
    department are not matched (match null).
    Returns new frames; the input is not changed.
    """
    out = dict(tables)
    forms = tables.get("forms")
    if forms is None:
        return out
    keyed = "project_key" in forms and not (forms.project_key.isna() & forms.project_name.notna()).any()
    if not keyed:  # the ingest keys its forms as it reads them; other callers' frames are keyed here
        forms = forms.assign(project_key=forms.project_name.map(project_key, na_action="ignore"))
        out["forms"] = schema.conform("forms", forms)
    index = None
    problems = []
    for name, (name_col, line_col) in LINKED.items():
        df = tables.get(name)
        if df is None or df.empty:
            continue
        index = index or _FormIndex(forms.reset_index(drop=True))
        out[name], found = _link_one(name, df, name_col, line_col, index)
        problems += found
    if problems:
        out["problems"] = schema.conform("problems", pd.concat(
            [tables.get("problems", schema.frame("problems", [])), schema.frame("problems", problems)],
            ignore_index=True))
    return out


def _link_one(table: str, df: pd.DataFrame, name_col: str, line_col: str, index: _FormIndex):
    keys, ids, matches, problems = [], [], [], []
    form_ids = index.forms.form_id
    for row in df.itertuples(index=False):
        name = getattr(row, name_col)
        if table == "statements" and row.subject_kind != "project":
            keys.append(None), ids.append(None), matches.append(None)
            continue
        k = project_key(name)
        scopes = [("file", row.source_file)]
        year, dept = getattr(row, "year", None), getattr(row, "department", None)
        if year is not None and not pd.isna(year) and isinstance(dept, str):
            scopes.append(("dept", int(year), dept))
        unit = getattr(row, "unit", None)
        how, hits = index.match(name, k, scopes, unit if isinstance(unit, str) else None)
        keys.append(k)
        ids.append(form_ids.iat[hits[0]] if how in ("exact", "key", "contains", "fuzzy") else None)
        matches.append(how)
        if how == "ambiguous":
            line = getattr(row, line_col)
            problems.append({
                "source_file": row.source_file, "line": None if pd.isna(line) else int(line), "severity": "warning",
                "message": f"{table} “{name}” fits {len(hits)} project forms ("
                           + ", ".join(str(form_ids.iat[h]) for h in hits[:5]) + "): not linked",
            })
    linked = df.assign(project_key=keys, form_id=ids, match=matches)
    return schema.conform(table, linked), problems


def table_id(sha: str, line: int, taken: set[str] | None = None) -> str:
    """A table's id: the file's hash and the table's first line. A table that starts on a line another
    table of the file (`taken`) already starts on, as in a document copied onto one line, gets '-2', '-3'…

    >>> taken = set(); [table_id("fa968ce8da11", 2, taken) for _ in range(3)]
    ['fa968ce8da-00002', 'fa968ce8da-00002-2', 'fa968ce8da-00002-3']
    """
    tid = base = f"{sha[:10]}-{line:05d}"
    if taken is not None:
        k = 1
        while tid in taken:
            k += 1
            tid = f"{base}-{k}"
        taken.add(tid)
    return tid
