"""Evidence: the printed line (and its location in the original) behind a finding, read from the raw file
through the same reader as the ingest, cached per file version."""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from perfdata.readers.detect import read_grid, sniff
from perfdata.readers.text import decode, split_lines

# -- evidence: the printed line ---------------------------------------------------------------------

def _source(path: str) -> tuple[dict[int, str], dict[int, str]]:
    """The printed lines of a raw file by 1-based line number, and where each lies in a non-text file.

    Text is split exactly like the ingest; .xlsx/.docx/.pdf are read through their reader's grid (the
    ingest's line numbers and locations), never decoded as text. An unreadable file gives no evidence.
    Cached per file version, so a long notebook session never quotes an edited file's old lines.
    """
    try:
        st = os.stat(path)
    except (OSError, ValueError):  # absent, or a name no file can have (a NUL in it)
        return {}, {}
    return _source_version(path, st.st_mtime_ns, st.st_size)


@cache
def _source_version(path: str, mtime_ns: int, size: int) -> tuple[dict[int, str], dict[int, str]]:
    try:
        data = Path(path).read_bytes()
        if sniff(data) == "text":
            text, _ = decode(data)
            return dict(enumerate(split_lines(text), start=1)), {}
        grid, _ = read_grid(data, Path(path).name)
    except Exception:  # noqa: BLE001 - evidence is a convenience: an unreadable file leaves it null
        return {}, {}
    return {r.line: "\t".join(r.cells) for r in grid.rows}, dict(getattr(grid, "locations", None) or {})


def _path(raw_dir, source_file: str) -> str:
    """RAW_DIR/SOURCE_FILE, one spelling for every lookup (the key of the cache); os.path, not pathlib: a
    check of 100,000 forms looks up 9,000 files."""
    return os.path.join(os.fspath(raw_dir), source_file)


def _lines_of(raw_dir, source_file) -> dict[int, str]:
    if raw_dir is None or not isinstance(source_file, str):
        return {}
    return _source(_path(raw_dir, source_file))[0]


# A match starts only where its run starts ((?<!…)): tried from every character of a long run it was quadratic
_CELLS = re.compile(r"(?<!\s)\s*\t\s*")


def _shown(text: str | None) -> str | None:
    """A printed line as evidence: cells shown as ' | '."""
    if text is None:
        return None
    return _CELLS.sub(" | ", text.strip("\t ")).strip() or None


def line_text(raw_dir: str | Path | None, source_file: str | None, line: int | None) -> str | None:
    """The text of line `line` (1-based) of `source_file` under `raw_dir`, cells shown as ' | '."""
    if line is None or pd.isna(line):
        return None
    return _shown(_lines_of(raw_dir, source_file).get(int(line)))


def sources(raw_dir, source_files) -> dict[str, tuple[dict[int, str], dict[int, str]]]:
    """The printed lines and their locations of every distinct file named (each read or looked up once per check
    run); files that give no line are left out."""
    if raw_dir is None:
        return {}
    out = {}
    root = os.fspath(raw_dir)
    for sf in pd.unique(np.asarray(source_files, dtype=object)):
        if isinstance(sf, str):
            got = _source(_path(root, sf))
            if got[0]:
                out[sf] = got
    return out


def line_texts(files: dict, source_file, line) -> np.ndarray:
    """line_text() of every (file, line) pair, from sources(): None where the file or the line gives none."""
    sf = np.asarray(source_file, dtype=object)
    out = np.full(len(sf), None, dtype=object)
    if not files:
        return out
    ln = pd.Series(line).astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    ask = np.flatnonzero(pd.Series(sf).isin(list(files)).to_numpy(bool) & ~np.isnan(ln))
    shown: dict = {}
    for k in ask:
        at = (sf[k], int(ln[k]))
        if at not in shown:
            shown[at] = _shown(files[at[0]][0].get(at[1]))
        out[k] = shown[at]
    return out


def line_locations(files: dict, source_file, line) -> np.ndarray:
    """line_location() of every (file, line) pair, from sources()."""
    sf = np.asarray(source_file, dtype=object)
    out = np.full(len(sf), None, dtype=object)
    ln = pd.Series(line).astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    with_locations = [f for f, (_, loc) in files.items() if loc]
    if not with_locations:
        return out
    for k in np.flatnonzero(pd.Series(sf).isin(with_locations).to_numpy(bool) & ~np.isnan(ln)):
        out[k] = files[sf[k]][1].get(int(ln[k]))
    return out


def line_location(raw_dir: str | Path | None, source_file: str | None, line: int | None) -> str | None:
    """Where line `line` lies in a non-text source ("表3!12", "page 3 line 14"); None for text files."""
    if raw_dir is None or not isinstance(source_file, str) or line is None or pd.isna(line):
        return None
    return _source(_path(raw_dir, source_file))[1].get(int(line))



def _locate(raw_dir, source_file, start, stop, word) -> int | None:
    """The first line in [start, stop] whose text holds `word` (e.g. the 主管部门 row of a form)."""
    if raw_dir is None or pd.isna(start):
        return None
    return _find(_lines_of(raw_dir, source_file), start, stop, word)


def _find(lines: dict[int, str], start, stop, word) -> int | None:
    stop = int(stop) if pd.notna(stop) else int(start) + 15
    for n in range(int(start), int(stop) + 1):
        if word in lines.get(n, "").replace(" ", ""):
            return n
    return None


def locate(files: dict, source_file, start, stop, word, line) -> np.ndarray:
    """_locate() of every finding that names a word (the row to point at), else its line: from sources()."""
    sf = np.asarray(source_file, dtype=object)
    out = np.asarray(line, dtype=object).copy()
    if not files:
        return out
    start, stop, word = (np.asarray(x, dtype=object) for x in (start, stop, word))
    ask = pd.Series(sf).isin(list(files)).to_numpy(bool) & pd.Series(word).map(type).eq(str).to_numpy(bool) & \
        pd.notna(start)
    for k in np.flatnonzero(ask):
        out[k] = _find(files[sf[k]][0], start[k], stop[k], word[k]) or out[k]
    return out
