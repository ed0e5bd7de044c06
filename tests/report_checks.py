"""What the report tests look for in every output (HTML, workbook, CSV): English keys, missing-value markers,
pandas' own truncation and network references. Shared by test_report.py, test_excel.py and test_report_scale.py."""

from __future__ import annotations

import csv
import html
import re
from pathlib import Path

from perfdata import rules, schema
from perfdata.report import analysis

# codes the tables hold (severity high, status partial, 口径 full_year …) and their column names
CODES = {r["value"] for r in rules.table("display_values.csv")} - {"pdf", "html"}
COLUMNS = {c.name for cols in schema.TABLES.values() for c in cols} | set(analysis.LABELS) | {"rule_severity", "why"}
SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
WORD = re.compile(r"\b[a-z][a-z0-9_]*\b")
FILE = re.compile(r"[\w./-]+\.(?:csv|xlsx|json|txt|ipynb|png|svg|html|xls|docx|pdf)\b")
COMMANDS = re.compile(r"perfdata (?:run|check|report|ingest)")
PATH = re.compile(r"(?:/[\w.+-]+)+/?")
LATEX = re.compile(r"\\[A-Za-z]+")  # a document's own LaTeX (\text{…}, \geq) quoted as evidence
MISSING = re.compile(r"<NA>|&lt;NA&gt;|\bnan\b|\bNaN\b|\bNaT\b|\bNone\b")
TRUNCATED = re.compile(r"rows × \d+ columns|\d+ rows × |<td>\.\.\.</td>|<th>\.\.\.</th>|^\s*\.\.\.\s*$", re.M)
NETWORK = re.compile(r"cdnjs|require\.js|require\.min\.js|mathjax|MathJax|<script|https?://", re.I)


def english_keys(text: str) -> set[str]:
    """Identifiers and codes in a text a reader sees (file names and perfdata commands allowed)."""
    text = COMMANDS.sub(" ", PATH.sub(" ", FILE.sub(" ", LATEX.sub(" ", text))))
    found = set(SNAKE.findall(text))
    found |= {w for w in WORD.findall(text) if w in CODES or w in COLUMNS}
    return found


def visible_text(page: str) -> str:
    """The text of an HTML page as a reader sees it (no styles, no images, tags removed)."""
    page = re.sub(r"<style.*?</style>", " ", page, flags=re.S)
    page = re.sub(r'src="data:[^"]+"', "", page)
    page = re.sub(r"<[^>]+>", " ", page)
    return html.unescape(page)


def assert_clean_html(page: str, name: str = "page"):
    markup = re.sub(r'src="data:[^"]+"', "", page)  # embedded charts' base64 may spell anything
    assert not NETWORK.search(markup), f"{name}: network reference {NETWORK.search(markup).group(0)!r}"
    text = visible_text(page)
    assert not MISSING.search(text), f"{name}: {MISSING.search(text).group(0)!r} shown"
    assert not TRUNCATED.search(markup), f"{name}: pandas truncation {TRUNCATED.search(markup).group(0)!r}"
    keys = english_keys(text)
    assert not keys, f"{name}: English keys shown: {sorted(keys)[:20]}"
    assert '<html lang="zh-CN">' in page and "<title>Notebook</title>" not in page
    assert 'class="dataframe"' not in page  # every table goes through the display layer


def assert_clean_csv(path: Path):
    """A Chinese report CSV: Chinese headers, no codes or missing markers in any cell."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    assert not english_keys(" ".join(header)), f"{path.name}: English header {header}"
    for row in body:
        for cell in row:
            assert cell not in CODES, f"{path.name}: code {cell!r}"
            assert not MISSING.fullmatch(cell) and cell not in ("nan", "<NA>", "None"), f"{path.name}: {cell!r}"
    return header, body


def assert_clean_workbook(wb):
    """Every sheet: Chinese headers and codes; no missing-value marker, no English key in any cell."""
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            for v in row:
                if isinstance(v, str):
                    assert v not in CODES, f"{ws.title}: code {v!r}"
                    assert not MISSING.search(v), f"{ws.title}: {v!r}"
                    keys = english_keys(v)
                    assert not keys, f"{ws.title}: English keys {sorted(keys)} in {v[:80]!r}"
