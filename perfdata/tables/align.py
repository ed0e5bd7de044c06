"""Align the filled cells of a row to the columns a header declares.

Extracted rows slide left or right, lose empty cells and gain stray ones, so positions alone
mislead. Cells keep their order, though, and their content says what they can be: a weight is a
number, a rate has "%", a scoring method is prose about 分值. A small dynamic programme finds the
order-preserving assignment that fits the types best, with closeness to the header's positions
as the tie-breaker. Cells that fit no column are returned as extras (they become leftovers).
"""

from __future__ import annotations

from functools import lru_cache

# How well a cell type fits a column kind (0 = never). Rules as data: one table, no if-chains.
FIT: dict[str, dict[str, int]] = {
    "target": {"text": 3, "pct": 3, "money": 3, "num": 2, "pts": 1, "dash": 1},
    "actual": {"text": 3, "pct": 3, "money": 3, "num": 2, "pts": 1, "dash": 1},
    "weight": {"pts": 4, "num": 3, "dash": 1},
    "score": {"num": 3, "pts": 3, "dash": 1},
    "score_reviewed": {"num": 3, "pts": 3, "dash": 1},
    "exec_weight": {"pts": 4, "num": 3, "dash": 1},
    "exec_score": {"num": 3, "pts": 2, "dash": 1},
    "source_points": {"pts": 4, "num": 1, "dash": 1},  # 分值/得分 of a funding row by source: an amount fits first
    "exec_rate": {"pct": 4, "num": 1, "dash": 1},
    "budget_initial": {"num": 3, "money": 3, "dash": 1},
    "budget_full_year": {"num": 3, "money": 3, "dash": 1},
    "executed": {"num": 3, "money": 3, "dash": 1},
    # an amount by source printed as a column (中央 | 省、地 | 本级 | 其他 | 合计 | 执行数): the total's columns
    # fit first, so a row that lost its empty cells gives its figures to 合计 and 执行数
    "source_fiscal": {"num": 2, "money": 2, "dash": 1},
    "source_other": {"num": 2, "money": 2, "dash": 1},
    "method": {"method": 4, "text": 2, "dash": 1},  # (a method in the form's own words: 'B≥A,得满分')
    "note": {"text": 2, "method": 1, "num": 1, "pts": 1, "pct": 1, "money": 1, "dash": 1},
    "nature": {"text": 2, "nature": 4},  # (nature, unit: a 指标性质 word or unit, typed so where those columns exist)
    "measure_unit": {"text": 2, "unit": 4},
}
EXTRA_CELL = -4  # cost of leaving a cell unassigned


@lru_cache(maxsize=16384)
def align(kinds: tuple[str, ...], kind_pos: tuple[int, ...], types: tuple[str, ...],
          cell_pos: tuple[int, ...], shift: int = 0) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Return (column index per cell or -1, indices of extra cells).

    >>> align(("target", "actual", "weight", "score", "note"), (4, 5, 6, 7, 8),
    ...       ("text", "text", "text", "num", "num"), (4, 5, 6, 7, 8))
    ((0, 1, -1, 2, 3), (2,))
    """
    n, m = len(types), len(kinds)
    neg = (-10**9, 0)
    # best[i][j]: best (fit, -distance) using the first i cells and the first j columns
    best = [[neg] * (m + 1) for _ in range(n + 1)]
    move = [[0] * (m + 1) for _ in range(n + 1)]
    best[0] = [(0, 0)] * (m + 1)
    for i in range(1, n + 1):
        t, p = types[i - 1], cell_pos[i - 1]
        for j in range(0, m + 1):
            # cell i-1 left over
            a = best[i - 1][j]
            cand, mv = (a[0] + EXTRA_CELL, a[1]), 1
            if j:
                b = best[i][j - 1]  # column j-1 left empty
                if b > cand:
                    cand, mv = b, 2
                fit = FIT.get(kinds[j - 1], {}).get(t, 0)
                if fit:
                    c = best[i - 1][j - 1]
                    c = (c[0] + fit, c[1] - abs(p - kind_pos[j - 1] - shift))
                    if c > cand:
                        cand, mv = c, 3
            best[i][j], move[i][j] = cand, mv
    assign, extras = [-1] * n, []
    i, j = n, m
    while i > 0:
        mv = move[i][j]
        if mv == 3:
            assign[i - 1] = j - 1
            i, j = i - 1, j - 1
        elif mv == 2:
            j -= 1
        else:
            extras.append(i - 1)
            i -= 1
    return tuple(assign), tuple(sorted(extras))
