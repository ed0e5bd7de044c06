"""Reader for PDF-extracted text: bytes → decoded lines → a grid of rows of cleaned cells.

Handles the separators extraction tools produce (tabs, `|` rows, runs of spaces in layout mode,
one cell per line with blank lines between rows) and reports which encoding it used.
"""

from __future__ import annotations

import codecs
import re
import unicodedata

from perfdata.grid import Grid, ReadError, Row
from perfdata.normalize import SIGN_CHARS, clean, memo

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def decode(data: bytes) -> tuple[str, str]:
    """Decode bytes as UTF-8 (with or without BOM), UTF-16/32 (BOM or NUL pattern) or GB18030.

    Returns (text, encoding used). Raises ReadError for empty, binary or undecodable input.
    """
    if not data.strip():
        raise ReadError("empty file" if not data else "file holds only whitespace")
    for bom, enc in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(enc), enc
            except UnicodeDecodeError as e:
                raise ReadError(f"undecodable bytes for {enc} at byte {e.start}",
                                _line_of(data, e.start)) from None
    head = data[:4096]
    nuls = head.count(0)
    if nuls:
        enc = _utf16_without_bom(data)
        if enc:
            try:
                text = data.decode(enc)
                if not _looks_binary(text):
                    return text, enc
            except UnicodeDecodeError:
                pass
        raise ReadError("binary file (NUL bytes): not a text export", _line_of(data, data.index(0)))
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as utf8_error:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            raise ReadError(
                f"undecodable bytes at byte {utf8_error.start} (neither UTF-8 nor GB18030)",
                _line_of(data, utf8_error.start),
            ) from None
        if _looks_binary(text):
            raise ReadError("binary file: not a text export", 1) from None
        return text, "gb18030"


# what a document of forms is written in: ASCII, CJK ideographs and punctuation, full-width forms
_LIKELY = re.compile(r"[\t\n\r\x20-\x7e\u00a0-\u00ff\u2000-\u206f\u2190-\u22ff\u2460-\u24ff\u3000-\u303f"
                     r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")


def _utf16_without_bom(data: bytes) -> str | None:
    """The UTF-16 byte order of text without a BOM: the one whose decoding reads as a document (ASCII, Chinese,
    punctuation), where at least 60 % of the characters do. The NUL bytes that sent the text here are the high
    bytes of ASCII characters (digits, tabs, line ends) and the low bytes of 一 (4E00), 丰 (4E30)…; the other
    byte order makes them Gurmukhi, Devanagari and Bopomofo. None for binary data.

    >>> text = "一级指标\\t10\\n"
    >>> _utf16_without_bom(text.encode("utf-16-le")), _utf16_without_bom(text.encode("utf-16-be"))
    ('utf-16-le', 'utf-16-be')
    >>> _utf16_without_bom(bytes(range(256)) * 4) is None
    True
    """
    if len(data) % 2:
        return None
    head = data[:8192]
    scores = []
    for enc in ("utf-16-le", "utf-16-be"):
        text = head.decode(enc, errors="replace")
        scores.append((len(_LIKELY.findall(text)) / max(len(text), 1), enc))
    score, enc = max(scores)
    return enc if score >= 0.6 and score > min(scores)[0] else None


def _looks_binary(text: str) -> bool:
    sample = text[:4096]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\r\n\f")
    return controls > len(sample) // 50


# a markdown rule ("| --- | :--: |"). Possessive quantifiers: the runs of spaces, bars and dashes it is made of
# never give characters back, so a line of 40,000 spaces is one pass, not 40,000 (the plain pattern is quadratic)
_PIPE_RULE = re.compile(r"^\s*+\|?\s*+:?-{2,}+:?\s*+(?:\|\s*+:?-{2,}+:?\s*+)*+\|?\s*+$")
_SPACE_SPLIT = re.compile(r"\s{2,}|\u3000+")


def split_lines(text: str) -> list[str]:
    """Lines without their endings; CRLF, CR and form feeds all end a line."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last line
    return lines


def _detect_mode(lines: list[str]) -> str:
    tabs = pipes = 0
    for ln in lines:
        if "\t" in ln:
            tabs += 1
        elif ln.count("|") >= 2:
            pipes += 1
    if tabs >= pipes and tabs:
        return "tab"
    if pipes:
        return "pipe"
    return "spaces"


def _split(line: str, mode: str) -> list[str]:
    if "\t" in line:
        parts = line.split("\t")
    elif line.count("|") >= 2:
        s = line.strip()
        if s.startswith("|"):
            s = s[1:]
        if s.endswith("|"):
            s = s[:-1]
        parts = s.split("|")
    elif mode == "spaces":
        parts = _SPACE_SPLIT.split(line.strip())
    else:
        parts = [line]
    return [clean(p) if len(p) < LONG else _clean_long(p) for p in parts]


# Lines and cells longer than this are cleaned without entering the memos (a memo keyed by a 10 MB line would
# keep it for the rest of the batch): documents repeat short lines, never long ones.
LONG = 4096
_clean_long = clean.__wrapped__  # clean() without its lru_cache


def _one_cell_line(line: str) -> bool:
    return line.startswith("\t") and "\t" not in line[1:]


# Characters clean() can change in NFKC-normal text (whitespace that survives NFKC, LaTeX, tags).
# A tab-separated line with none of them is already clean: its cells are its parts, as they are.
# what clean() changes beyond NFKC: spaces, LaTeX, tags, and the comparison signs it folds ('≧' → '≥')
_DIRTY = re.compile(r"[ \x0b\x0c\x1c-\x1f\x85\u1680\u2028\u2029$\\<" + SIGN_CHARS + "]")
_CLEANED: dict[str, str] = memo()
# tab-separated line → (cells, joined, filled or None, memo): template lines recur in every form of a document.
# Rows of equal lines share them (rows are read, never changed). The empty line is one of them.
Content = tuple[list[str], str, list | None, dict]  # cells, joined, filled (once asked), memo
_LINES: dict[str, Content] = memo()


def _clean_cells(parts: list[str]) -> list[str]:
    """clean() of each part, through a plain dict: a hit costs less than the lru_cache call."""
    cells = list(map(_CLEANED.get, parts))
    if None in cells:
        if len(_CLEANED) > 200_000:
            _CLEANED.clear()
        for k, c in enumerate(cells):
            if c is None:
                part = parts[k]
                if len(part) < LONG:
                    cells[k] = _CLEANED[part] = clean(part)
                else:
                    cells[k] = _clean_long(part)
    return cells


# the other lines that are a row by themselves (no tab, or not led by one), by mode: how they split depends on it
_UNTABBED: dict[str, dict[str, Content]] = {m: memo() for m in ("tab", "pipe", "spaces")}


def _content(cells: list[str]) -> Content:
    """What rows of equal text share: cells, joined text, filled cells (worked out when first asked) and memo."""
    return cells, "".join(cells), None, {}


def _contents(lines: list[str], mode: str) -> list[Content | None]:
    """The shared content of each line that is a row by itself: one dict look-up per line seen before. None for
    a line led by a tab without another one, which may belong to a "one cell per line" row (to_grid reads
    those in order)."""
    hits = list(map(_LINES.get, lines))
    if None not in hits:
        return hits
    untabbed = _UNTABBED[mode]
    for memo_ in (_LINES, untabbed):
        if len(memo_) > 100_000:
            memo_.clear()
    dirty, normal = _DIRTY.search, unicodedata.is_normalized
    for k, hit in enumerate(hits):
        if hit is not None:
            continue
        line = lines[k]
        if not line:
            hit = _LINES[line] = _content([""])
        elif line.find("\t", 1) > 0:  # tab-separated, and not a one-cell line ("\tcell")
            if "--" in line and _PIPE_RULE.match(line):
                hit = _content([])  # a markdown rule: no cells
            else:
                parts = line.split("\t")
                hit = _content(parts if not dirty(line) and normal("NFKC", line) else _clean_cells(parts))
            if len(line) < LONG:
                _LINES[line] = hit
        elif line[0] == "\t":
            continue
        else:
            hit = untabbed.get(line)
            if hit is None:
                rule = _PIPE_RULE.match(line) and "-" in line  # a markdown rule: no cells
                hit = _content([] if rule else _split(line, mode))
                if len(line) < LONG:
                    untabbed[line] = hit
        hits[k] = hit
    return hits


# A whole form copied onto one line is a few thousand characters, a whole document of forms some tens of
# thousands; past this a line is not text of a form (a blob, files run together): it is read only up to here
MAX_LINE = 200_000


def to_grid(text: str, encoding: str = "str") -> Grid:
    """Split decoded text into rows of cleaned cells.

    Runs of lines that each hold one tab-led cell, separated by blank lines, are one row each
    (a "one cell per line" export); an untabbed line inside such a run continues the cell above.
    A line longer than MAX_LINE characters is read up to there, with a warning.
    """
    lines = split_lines(text)
    cut = []
    if max(map(len, lines), default=0) > MAX_LINE:
        for k, line in enumerate(lines):
            if len(line) > MAX_LINE:
                cut.append(("warning", f"line {k + 1} holds {len(line):,} characters, more than a line of a form: "
                            f"its first {MAX_LINE:,} are read, the rest is not", k + 1))
                lines[k] = line[:MAX_LINE]
    mode = _detect_mode(lines) if "|" in text else "tab" if "\t" in text else "spaces"
    hits = _contents(lines, mode)
    if None not in hits:  # no "one cell per line" rows: a row each
        rows = [Row(no, h[0], line, 0, h[1], h[2], h[3])
                for no, line, h in zip(range(1, len(lines) + 1), lines, hits, strict=True)]
        return Grid(rows, encoding, mode, problems=cut)
    rows: list[Row] = []
    append = rows.append
    i, n = 0, len(lines)
    while i < n:
        line, hit = lines[i], hits[i]
        if hit is not None:
            append(Row(i + 1, hit[0], line, 0, hit[1], hit[2], hit[3]))
            i += 1
            continue
        if _one_cell_line(line) and i + 1 < n and _one_cell_line(lines[i + 1]):
            # gather one row made of one-cell lines (and untabbed continuation lines)
            start, cells, raw = i, [], []
            while i < n and lines[i].strip(" ") != "":
                ln = lines[i]
                if _one_cell_line(ln):
                    cells.append(ln[1:])
                elif "\t" not in ln:
                    cells[-1] += ln  # a cell broken over lines
                else:
                    break
                raw.append(ln)
                i += 1
            cleaned = [clean(c) if len(c) < LONG else _clean_long(c) for c in (c.strip('"') for c in cells)]
            append(Row(start + 1, [""] + cleaned, "\n".join(raw), i))
            continue
        if _PIPE_RULE.match(line) and "-" in line:  # a tab-led line on its own ("\tcell", "\t---")
            append(Row(i + 1, [], line))  # a markdown rule: no cells
        else:
            append(Row(i + 1, _split(line, mode), line))
        i += 1
    return Grid(rows, encoding, mode, problems=cut)


# A text export of 10,000 forms is ~22 MB; past this a file is not a document of forms, and reading it would
# take several times its size in memory (decoded text, lines, cells)
MAX_BYTES = 64 * 2**20


def read_text(data: bytes) -> Grid:
    """Decode and split; raises ReadError for input that is not text."""
    if len(data) > MAX_BYTES:
        raise ReadError(f"refused: {len(data) / 2**20:,.0f} MiB of text, more than a document of forms holds "
                        f"(limit {MAX_BYTES // 2**20} MiB)")
    text, encoding = decode(data)
    if "\x00" in text:
        raise ReadError("binary content (NUL characters) in decoded text", _line_of(data, data.index(0)))
    return to_grid(text, encoding)
