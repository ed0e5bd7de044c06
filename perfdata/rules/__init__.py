"""Declarative rule tables (header synonyms, level names, funding row labels) loaded once.

Adding a spelling seen in a new region means adding a row to a CSV here, not code.
"""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources
from typing import NamedTuple

from perfdata.normalize import key


@cache
def table(name: str) -> tuple[dict[str, str], ...]:
    """Rows of rules/<name>, loaded once."""
    return parse_table(resources.files(__package__).joinpath(name).read_text(encoding="utf-8"), name)


def parse_table(text: str, name: str) -> tuple[dict[str, str], ...]:
    r"""A rules CSV (`#` lines are comments). A row with more or fewer fields than the header is an
    error naming the line: an unquoted comma must not shift a rule's columns silently.

    >>> parse_table("id,title\n# note\na,b\n", "x.csv")
    ({'id': 'a', 'title': 'b'},)
    """
    numbered = [(n, ln) for n, ln in enumerate(text.splitlines(), 1) if ln.strip() and not ln.startswith("#")]
    parsed = list(csv.reader([ln for _, ln in numbered]))
    header, rows = parsed[0], parsed[1:]
    for (n, _), row in zip(numbered[1:], rows, strict=True):
        if len(row) != len(header):
            raise ValueError(f"perfdata/rules/{name}:{n}: {len(row)} fields, the header has {len(header)} "
                             "(quote a field that holds a comma)")
    return tuple(dict(zip(header, row, strict=True)) for row in rows)


_rows = table


class HeaderMap(NamedTuple):
    exact: dict[str, str]
    prefixes: tuple[tuple[str, str], ...]
    memo: dict[str, str | None]

    def lookup(self, cell: str) -> str | None:
        try:
            return self.memo[cell]
        except KeyError:
            pass
        k = key(cell)
        hit = self.exact.get(k)
        if hit is None:
            hit = next((canonical for prefix, canonical in self.prefixes if k.startswith(prefix)), None)
        if len(self.memo) < 100_000:
            self.memo[cell] = hit
        return hit


@cache
def headers(table: str, grid: bool = False) -> HeaderMap:
    """Header synonyms of one table ('form', 'funding', 'goal', 'indicator'); with `grid`, also those read only
    where a row keeps its cells (table '<table>_grid': a spelling too loose to be cut out of running text)."""
    tables = (table, f"{table}_grid") if grid else (table,)
    exact, prefixes = {}, []
    for row in _rows("headers.csv"):
        if row["table"] not in tables:
            continue
        syn = row["synonym"]
        if syn.endswith("*"):
            prefixes.append((key(syn[:-1]), row["canonical"]))
        else:
            exact[key(syn)] = row["canonical"]
    return HeaderMap(exact, tuple(prefixes), {})


class Level(NamedTuple):
    tier: int
    name: str
    parent: str | None


@cache
def levels() -> dict[str, Level]:
    """Normalised level spelling → canonical level (tier 1 = 一级指标, tier 2 = 二级指标)."""
    return {
        key(r["synonym"]): Level(int(r["tier"]), r["level"], r["parent"] or None)
        for r in _rows("levels.csv")
    }


@cache
def funding_row_labels(grid: bool = False) -> tuple[tuple[str, str], ...]:
    """(row label, fund_source) of funding_rows.csv (with `grid`, also funding_rows_grid.csv: labels read only
    where rows keep their cells); a part of the total is also spelled with and without its '其中'
    ('其中:本年财政拨款', '其中本年财政拨款' and '本年财政拨款' are one row), so the table lists each once.

    >>> [lab for lab, src in funding_row_labels() if lab.endswith("本年一般公共预算拨款")]
    ['其中:本年一般公共预算拨款', '本年一般公共预算拨款', '其中本年一般公共预算拨款']
    """
    out: dict[str, str] = {}
    for r in [*_rows("funding_rows.csv"), *(_rows("funding_rows_grid.csv") if grid else ())]:
        label, source = r["synonym"], r["fund_source"]
        out.setdefault(label, source)
        if source == "total":
            continue
        bare = label.removeprefix("其中").lstrip(":：")
        for spelling in (bare, f"其中{bare}", f"其中:{bare}"):
            out.setdefault(spelling, source)
    return tuple(out.items())


@cache
def funding_rows() -> dict[str, str]:
    """Normalised 项目资金 row label → fund_source (total | fiscal | carryover | other), as the row reader reads
    them (grid labels included)."""
    return {key(label): source for label, source in funding_row_labels(grid=True)}
