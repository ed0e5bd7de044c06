"""What every reader produces: a grid of rows of cleaned cells, with where each row came from.

Readers (text, spreadsheet, Word, PDF, HTML) build a `Grid` (or a `DocGrid`, which also maps each
row to its place in the original file); everything after them reads only this.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import compress


class ReadError(Exception):
    """Input that cannot be read at all; the message names the problem for the user, `line` and
    `location` where in the file it is, when the reader knows ("Sheet1!12", "table 2 row 5", "page 3")."""

    def __init__(self, message: str, line: int | None = None, location: str | None = None):
        super().__init__(message)
        self.line = line
        self.location = location


@dataclass(slots=True, init=False)
class Row:
    """One table row: 1-based first and last source line, cleaned cells, the raw text.

    `memo` holds what readers work out from the row's content alone (its facts, header tests): rows of
    equal text share one memo, as they share one cells list, so a template row recurring in every form
    is judged once. Rows are read, never changed.
    """

    line: int
    cells: list[str]
    raw: str
    end: int = 0
    joined: str = ""  # the cleaned cells run together: cheap substring tests before real checks
    _filled: list | None = field(default=None, repr=False, compare=False)
    memo: dict = field(default_factory=dict, repr=False, compare=False)

    def __init__(self, line: int, cells: list[str], raw: str, end: int = 0, joined: str | None = None,
                 filled: list | None = None, memo: dict | None = None):
        # one call per row (not a generated __init__ plus __post_init__): a document has thousands of rows
        self.line = line
        self.cells = cells
        self.raw = raw
        self.end = end or line
        self.joined = "".join(cells) if joined is None else joined  # a caller passes it only when it has it
        self._filled = filled
        self.memo = {} if memo is None else memo

    @property
    def filled(self) -> list[tuple[int, str]]:
        """(position, text) of the non-empty cells; computed once (rows are read, never changed)."""
        f = self._filled
        if f is None:  # worked out once for all rows of equal text: many are never asked
            memo_ = self.memo
            f = memo_.get(_filled)
            if f is None:
                f = memo_[_filled] = _filled(self.cells)
            self._filled = f
        return f


def _filled(cells: list[str]) -> list[tuple[int, str]]:
    return list(compress(enumerate(cells), cells))


@dataclass(slots=True)
class Grid:
    rows: list[Row]
    encoding: str
    mode: str
    notes: list[str] = field(default_factory=list)
    problems: list[tuple] = field(default_factory=list)  # (severity, message, line[, location])


@dataclass(slots=True)
class DocGrid(Grid):
    """A Grid read from a spreadsheet, Word document, PDF or HTML page.

    Row.line is the running number of the row in the whole document (sheets, tables and pages in
    order), so lines stay unique and ordered as in a text file; `locations` maps each line to where
    it sits in the original: "Sheet1!12" (sheet and row), "table 2 row 5" / "paragraph 7", "page 3 line 14",
    "table 2 row 5 (line 123)" (an HTML page: its table, row and source line).
    """

    format: str = ""
    locations: dict[int, str] = field(default_factory=dict)
