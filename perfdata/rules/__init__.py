"""Declarative rule tables (header synonyms, level names, funding row labels) loaded once.

Adding a spelling seen in a new region means adding a row to a CSV here, not code.
"""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources
from typing import NamedTuple

from perfdata.normalize import key


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    return list(csv.DictReader(lines))


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
def headers(table: str) -> HeaderMap:
    """Header synonyms of one table ('form', 'funding', 'goal', 'indicator')."""
    exact, prefixes = {}, []
    for row in _rows("headers.csv"):
        if row["table"] != table:
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
def funding_rows() -> dict[str, str]:
    """Normalised 项目资金 row label → fund_source (total | fiscal | carryover | other)."""
    return {key(r["synonym"]): r["fund_source"] for r in _rows("funding_rows.csv")}
