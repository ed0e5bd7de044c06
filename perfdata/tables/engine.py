"""The token reader: self-evaluation forms whose cell boundaries cannot be trusted.

Copying a table out of a web page, a document site or a PDF loses its grid: one cell per line, every cell
its own paragraph, the whole table on one line separated by single spaces, or run-on text with no
separator at all (`年度财政资金总额1010100%20`). This reader does not trust row boundaries. It turns the
document into a stream of tokens (a cell, a piece of a cell between separators, or a known label cut out
of run-on text). A form starts at its title, or, printed without one, at a 项目名称 after the total of the
form before it with a funding header after it; a start that gives no form but holds a table header is
returned as unread (the ingest lists its lines). Each form is read block by block: header fields (a label
and the text after it up to the next label), the funding block (the columns its header names, the rows its
labels open, values given to columns by type and by the form's own arithmetic) and the total. A run of
figures glued together is split only where the form's arithmetic confirms the split (executed / budget ≈
rate, score ≈ weight × rate); otherwise it stays a leftover with its line, never a guessed number.

A department form of the department template (部门（单位）整体绩效自评表) has its own blocks before its
indicators, read as the row reader reads them: 年度履职目标, 年度主要任务 and 预算情况 (department_labels.csv);
its 二级 names (工作目标, 预算配置 …) are levels, and notes under a table without a total row end it.

The 绩效指标 block is read by its header's columns: cell by cell where the copy kept cell boundaries; by
the types of the columns where rows run together (a unit, an operator word, a rate, glued digits cut only
where 得分 ≤ 分值 and the scoring rule confirm the cut, a yes/no column, a value the block repeats row after
row); by the template's column order where the header's cells are scattered among the rows of a scrambled
dump; and, for a PDF that prints all values before all names, by pairing them only where the points add up
to the printed 总分.

The vocabulary is data: headers.csv (header fields, funding, goal and indicator spellings), funding_rows.csv
(row labels), levels.csv, form_labels.csv (fields, labels that end a value, totals, 元), table_titles.csv (what
a title says its table is), units.csv (units that end an indicator's figure), natures.csv (指标性质 cells),
summary_columns.csv and templates.csv (which template a form is, the funding column order when a form's
header is unreadable, the default execution weight). docs/templates.md is generated from them.
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import NamedTuple

from perfdata import rules
from perfdata.grid import Row
from perfdata.normalize import _OPERATOR_WORDS, clean, is_filler, key, split_indicator_no, to_number
from perfdata.tables import summary
from perfdata.tables.forms import (
    _NOTE,
    Form,
    Indicator,
    Leftover,
    continue_indicator,
    goal_block,
    grade_words,
    level_cell,
    mark_children,
    merge_sub_header,
    natures,
    parse_indicator_cells,
    template_of,
    templates,
    units,
    value_columns,
    yuan_labels,
)
from perfdata.tables.forms import label_key as _label_key
from perfdata.tables.layout import title_kind

# -- tokens --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Token:
    text: str  # cleaned
    line: int
    role: str | None = None  # field | stop | goal | total | score_total | funding_header | funding_row | title
    canonical: str | None = None  # the field, column, fund source or template the label names
    joined: bool = False  # cut out of run-on text: it follows the token before it with no separator
    col: int = -1  # the cell of its row it was read from, in a document whose rows kept their cells; else -1


_SEPARATORS = re.compile(r"\s*\|+\s*|\s+")
_YEAR = re.compile(r"((?:19|20)\d{2})\s*年")
# a figure of a form: at most 12 digits before the point (a 万元 amount of a trillion is a run, not a figure)
_FIGURE = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3}){1,3}|\d{1,12})(?:\.\d{1,6})?(?:%|万元|万|元|分)?$")
_GLUED = re.compile(r"^\d[\d.,%]{3,22}[\d%]$")  # figures run together: '1010100%20', '310.2154.741050%5'
_LEAD_FIGURES = re.compile(r"(\d[\d.,%]*\d%?|\d)(?=[^\d.,%])")  # '100100' in '总分100100注:1.…'

_DASH = frozenset({"/", "-", "—", "——", "--", "\\", "–", "无"})


_FIELDS = ("project_name", "department", "unit")
_DEPARTMENT_BLOCKS = ("goals", "tasks", "budget_block", "budget_total")


@cache
def vocabulary() -> dict[str, tuple[str, str]]:
    """Normalised label → (role, canonical), from the rules tables; longer spellings win."""
    vocab: dict[str, tuple[str, str]] = {}
    for r in rules.table("headers.csv"):  # the header fields, as the row reader spells them ('实施单', cut short)
        if r["table"] == "form" and r["canonical"] in _FIELDS and not r["synonym"].endswith("*"):
            vocab.setdefault(_label_key(r["synonym"]), ("field", r["canonical"]))
    for r in rules.table("form_labels.csv"):
        vocab.setdefault(_label_key(r["synonym"]), (r["role"], r["canonical"]))
    for r in rules.table("headers.csv"):
        # (not the amounts by source printed as columns, 中央 | 本级 | 其他: words too common in running text)
        if r["table"] == "funding" and not r["synonym"].endswith("*") and not r["canonical"].startswith("source_"):
            k = _label_key(r["synonym"])
            if len(k) >= 2:
                vocab.setdefault(k, ("funding_header", r["canonical"]))
    for r in rules.table("headers.csv"):
        if r["table"] == "indicator" and not r["synonym"].endswith("*") and len(_label_key(r["synonym"])) >= 3:
            vocab.setdefault(_label_key(r["synonym"]), ("indicator_header", r["canonical"]))
    for r in rules.table("levels.csv"):
        vocab.setdefault(_label_key(r["synonym"]), ("level", r["level"]))
    for r in rules.table("headers.csv"):
        if r["table"] == "goal":
            vocab[_label_key(r["synonym"])] = ("goal", r["canonical"])
    for label, source in rules.funding_row_labels():
        vocab.setdefault(_label_key(label), ("funding_row", source))
    for r in rules.table("department_labels.csv"):  # the department template's blocks: they end the value before
        if r["field"] in _DEPARTMENT_BLOCKS and len(_label_key(r["synonym"])) >= 5:  # ('部门预算' in '部门预算执行')
            vocab.setdefault(_label_key(r["synonym"]), ("stop", f"department_{r['field']}"))
    # a spelling that is a funding header cell in one template and a row label in another (预算数), or a
    # funding row label and the total of the indicators (合计), takes its form_labels.csv meaning: read first
    return vocab


_TITLE = r"[^\s:：,，。;；]{0,24}?(?:绩效(?:目标)?自评表|自评表)(?:\((?:19|20)\d{2}年度?\))?"


@cache
def _cutter() -> re.Pattern:
    """Labels long enough to be cut out of run-on text (longest first), each with the bracketed note
    printed after it ("执行率(B/A)", "预算执行情况(20分)"), and table titles."""
    vocab = vocabulary()
    labels = sorted((k for k in vocab if len(k) >= 3), key=len, reverse=True)
    # two-character labels only where a note or a figure makes them unambiguous: 得分(20分*执行率), 总分100100
    short = sorted(k for k, (role, c) in vocab.items() if len(k) == 2 and role == "funding_header"
                   and c in ("exec_weight", "exec_score"))
    totals = sorted(k for k, (role, _) in vocab.items() if len(k) == 2 and role == "total")
    return re.compile(f"{_TITLE}|(?:{'|'.join(totals)})(?=\\d)|(?:{'|'.join(short)})\\([^()]{{1,15}}\\)"
                      f"|(?:{'|'.join(map(re.escape, labels))})(?:\\([^()]{{0,15}}\\))?")


_NUMBERED = re.compile(r"^指标\d+[:：]")
_EMPTY_CELL = re.compile(r"^\s*\|\s*$")  # a line that is one empty cell of a "one cell per line" copy
_INNER_EMPTY = re.compile(r"(?<=[^|\s])\s*\|\s+\|\s*(?=[^|\s])")  # 'a | | b': one empty cell between two


def tokens(rows: list[Row], simplify=None) -> list[Token]:
    """The document as a stream of tokens, each with its line (and, read from a row of cells, its cell).
    An empty cell that the copy kept (a bare '|' line, or '| |' between two filled cells) is an "empty"
    token: it holds its column."""
    out: list[Token] = []
    per_cell = _line_per_cell(rows)
    for row in rows:
        cells = row.cells
        filled = len(cells) - cells.count("")
        if row.raw and filled <= 1:  # (a long line of run-on text is not kept in the memo)
            read = (_raw_line_tokens if len(row.raw) <= 512 else _raw_line_tokens.__wrapped__)(
                row.raw, per_cell, simplify)
            if filled and len(cells) >= 2 and ("\t" in row.raw or "|" in row.raw):
                at = next(k for k, c in enumerate(cells) if c)  # one filled cell of a row of cells: its cell
                line = row.line
                out += [Token(text, line, role, canonical, joined, at) for text, role, canonical, joined, _ in read]
                continue
        elif filled:
            first = next(k for k, c in enumerate(cells) if c)
            last = max(k for k, c in enumerate(cells) if c)
            raw = row.raw
            real = "\t" in raw or "|" in raw  # cells a separator bounds, not runs of spaces (run-on text)
            read = _cells_tokens(tuple(cells[first:last + 1]), simplify, real)
            if first and real:  # (the cells' columns are counted from the row's first cell)
                line = row.line
                out += [Token(text, line, role, canonical, joined, col + first)
                        for text, role, canonical, joined, col in read]
                continue
        else:
            continue
        line = row.line
        out += [Token(text, line, role, canonical, joined, col) for text, role, canonical, joined, col in read]
    for _ in range(3):  # a word broken over three cells joins in two passes
        merged = _merge_split_labels(out)
        if len(merged) == len(out):
            break
        out = merged
    return out


_EMPTY = ("", "empty", None, False)


@lru_cache(maxsize=1 << 15)
def _raw_line_tokens(raw: str, per_cell: bool, simplify=None) -> tuple[tuple, ...]:
    """The tokens of a line of at most one cell, read from its text (text, role, canonical, joined): worked
    out once per text and way of copying (a copy repeats its figures, labels and empty cells)."""
    if _EMPTY_CELL.match(raw):
        return ((*_EMPTY, -1),)
    split = _CELL_SEPARATORS if per_cell else _SEPARATORS
    # (the empty pieces a separator leaves at an end are no cells)
    pieces = [p for p in split.split(_INNER_EMPTY.sub(" | \x00 | ", raw.strip())) if p]
    return _pieces_tokens([(p, -1) for p in _rejoin_cells(_rejoin(pieces))], simplify)


@lru_cache(maxsize=1 << 15)
def _cells_tokens(cells: tuple[str, ...], simplify=None, real: bool = True) -> tuple[tuple, ...]:
    """The tokens of a row of cells, from its first filled cell to its last (an empty cell between holds
    its column), each with the cell it starts in (counted from the first; -1 for cells that runs of spaces
    cut, `real` False); once per row text."""
    pieces = _rejoin_at([c or "\x00" for c in cells], real)
    return _pieces_tokens(pieces if real else [(p, -1) for p, _ in pieces], simplify)


def _pieces_tokens(pieces: list[tuple[str, int]], simplify) -> tuple[tuple, ...]:
    """(text, role, canonical, joined, col) of each token of the pieces, a piece being (text, col)."""
    out: list[tuple] = []
    for piece, col in pieces:
        if piece == "\x00":
            out.append((*_EMPTY, col))
            continue
        text = clean(simplify(piece) if simplify else piece).strip("|").strip()
        if text in _DASH and text != "无":  # '—': a cell with nothing due, which holds its column
            out.append((*_EMPTY, col))
            continue
        if not text or set(text) <= _FILLER:
            continue
        if col >= 0 and (_PROSE_CELL.search(text) and not _LABEL_AND_COLON.match(text) or _NUMBERED.match(text)):
            # a sentence in a cell, or a numbered name ('指标2:预算执行率'), is one cell
            out.append((text.strip(":：,，;； "), None, None, False, col))
            continue
        out += [(*t, col) for t in _cut_text(text)]
    return tuple(out)


# a cell of a row of cells that is prose (a 得分计算方法 or 偏差原因 text): more than 24 characters, with a
# sentence's punctuation; it names labels ('完成值达到指标值,记满分'), but is no labels run together. Only a
# cell that starts with a label and its colon ('预期目标：…') is cut
_PROSE_CELL = re.compile(r"^(?=.{25})[^|]*?[，。；,;]")
_LABEL_AND_COLON = re.compile(r"^[^，。；,;:：]{2,12}[:：]")


# '|', or spaces then '|' from where the spaces start: tried at every space of a long run that ends in no '|',
# '\s*\|+\s*' took quadratic time (40,000 spaces: 11 s)
_CELL_SEPARATORS = re.compile(r"\|+\s*|(?<!\s)\s+\|+\s*")
# 'text |': a cell of a "one cell per line" copy. Written so that no two parts can match the same character:
# '[^|]*[^|\s][^|]*' took quadratic time on a long line without '|' (a 1.6 M-character line: minutes)
_ONE_CELL_LINE = re.compile(r"^\s*[^|\s][^|]*\|\s*$")


def _line_per_cell(rows: list[Row]) -> bool:
    """Whether each line of the document is one cell: most lines are 'text |' (one cell per line), or
    most lines are paragraphs apart (every cell its own paragraph). Then a space inside a line is part of
    its cell ('保障参保人员权益, 确保参保人员待遇'), not a cell boundary."""
    raws = [r for r in rows if r.raw and len(r.cells) - r.cells.count("") <= 1 and r.raw.strip()]
    if len(raws) < 20:
        return False
    cells = sum(1 for r in raws if _ONE_CELL_LINE.match(r.raw))
    apart = sum(1 for a, b in itertools.pairwise(raws) if b.line - a.line >= 2)
    return cells >= 0.6 * len(raws) or apart >= 0.8 * (len(raws) - 1)


def line_fates(rows: list[Row], first: int, last: int) -> tuple[list[int], list[int]]:
    """(consumed, placeholders): the lines from `first` to `last` of a table the token reader read. It reads
    the whole token stream of its span, so every line there was read into the table, is a leftover (its
    tokens no block took: leftovers say so), or held only fillers that tokens() drops ('……', '— |')."""
    consumed, placeholders = [], []
    for k in range(bisect.bisect_left(rows, first, key=_line), len(rows)):
        row = rows[k]
        if row.line > last:
            break
        if row.joined:
            filler = all(not c or set(c) <= _FILLER or c in _DASH for c in row.cells)
            (placeholders if filler else consumed).append(row.line)
    return consumed, placeholders


def _line(row: Row) -> int:
    return row.line


_FILLER = frozenset("|.…·-—_ ")


def _merge_split_labels(toks: list[Token]) -> list[Token]:
    """A header word broken over two cells or paragraphs ('年度' / '指标值', '实际' / '完成值') made one
    token again, where the join is a label and a part alone is not."""
    out: list[Token] = []
    i = 0
    # the tokens that may start a join (a short CJK piece): every other one is passed on as it is
    match = _CJK_PIECE.match
    for k in [k for k, t in enumerate(toks) if t.role in _MAY_JOIN and len(t.text) <= 16 and match(t.text)]:
        if k < i:
            continue  # joined to the token before it
        out += toks[i:k]
        i = k
        t = toks[i]
        if i + 1 < len(toks) and len(t.text) <= 8:
            u = toks[i + 1]
            joined = t.text + u.text
            rest = not u.joined and i + 2 < len(toks) and toks[i + 2].joined and toks[i + 2].line == u.line
            # (two cells of a row that are each a label stay two: '执行率 | 得分')
            cells = t.role is not None and u.role is not None and t.col >= 0 and u.col >= 0 and t.col != u.col
            if len(u.text) <= 8 and u.role in (None, "indicator_header", "funding_header", "stop") \
                    and not u.text.isdigit() and not rest and not cells and _known(joined):
                # (not where the second piece was cut from the start of a longer cell: '全年' | '完成值达到…')
                merged = _classify(joined, t.line)
                merged.col = t.col
                out.append(merged)
                i += 2
                continue
        if i + 1 < len(toks) and t.role is None and toks[i + 1].role in ("stop", None):
            # '得分未完成原因及拟采取的' / '改进措施': labels whose last one is broken over the two pieces
            parts = _decompose(_label_key(t.text + toks[i + 1].text))
            apart = _decompose(_label_key(t.text))
            if parts and len(parts) > 1 and apart is None:
                out.extend(_with_col(_classify(p, t.line), t.col) for p in parts)
                i += 2
                continue
        out.append(t)
        i += 1
    out += toks[i:]
    return out


def _with_col(t: Token, col: int) -> Token:
    t.col = col
    return t


_CJK_PIECE = re.compile(r"^[\u4e00-\u9fff()（）\d分]+$")
_MAY_JOIN = frozenset({None, "level", "funding_header"})


@lru_cache(maxsize=1 << 16)
def _known(text: str) -> bool:
    """A label of any block: the token vocabulary, an indicator header cell or a level name."""
    return _known_exactly(text) or rules.headers("indicator").lookup(clean(text)) is not None


@lru_cache(maxsize=1 << 16)
def _known_exactly(text: str) -> bool:
    """`_known` but for the header spellings that name only how a cell starts (headers.csv, ending in *)."""
    t = clean(text)
    return (_label_key(t) in vocabulary() or key(t) in rules.headers("indicator").exact
            or level_cell(t)[0] is not None)


def _rejoin(pieces: list[str]) -> list[str]:
    """Pieces that a space split out of one label ('一级 指标', '产 出 指 标 (50分)') joined again.

    Only runs of CJK pieces can join: each piece is classified once, so a long run-on line costs its pieces, not
    eight tests of eight pieces each (a 2.4 M-character line took 13 s here)."""
    return pieces if len(pieces) < 2 else [text for text, _ in _rejoin_at(pieces)]


def _rejoin_at(pieces: list[str], cells: bool = False) -> list[tuple[str, int]]:
    """`_rejoin`, each joined piece with the index of the first piece it is made of. `cells`: the pieces are
    cells a separator bounds, and cells that are each a label stay apart ('执行率 | 得分')."""
    if len(pieces) < 2:
        return [(p, k) for k, p in enumerate(pieces)]
    run = [0] * (len(pieces) + 1)  # CJK pieces from k on
    for k in range(len(pieces) - 1, -1, -1):
        run[k] = run[k + 1] + 1 if _CJK_PIECE.match(pieces[k]) else 0
    out, i = [], 0
    while i < len(pieces):
        sizes = range(min(8, run[i]), 1, -1)
        # a spelling that names only how a header cell starts (偏差原因*) joins only where no exact label does,
        # and never swallows the labels after it: '偏差原因分析及改进措施 产出指标 数量指标 养护公路里程' is four cells
        n = next((n for n in sizes if _known_exactly("".join(pieces[i:i + n]))
                  and not (cells and all(map(_known_exactly, pieces[i:i + n])))), None) or next(
            (n for n in sizes if _known("".join(pieces[i:i + n])) and not any(map(_known, pieces[i + 1:i + n]))
             and not any(p.isdigit() for p in pieces[i + 1:i + n])), 1)  # ('偏差原因 1 建档…': a 序号 and a name)
        out.append(("".join(pieces[i:i + n]), i))
        i += n
    return out


@cache
def _decompose(k: str) -> tuple[str, ...] | None:
    """A text made only of labels, cut into them (the fewest pieces); None when it is not."""
    vocab = vocabulary()
    best: list[tuple[str, ...] | None] = [()] + [None] * len(k)
    for end in range(1, len(k) + 1):
        for start in range(max(0, end - 16), end - 1):
            prev = best[start]
            if prev is not None and k[start:end] in vocab and (best[end] is None or len(prev) + 1 < len(best[end])):
                best[end] = (*prev, k[start:end])
    return best[len(k)]


def _rejoin_cells(pieces: list[str]) -> list[str]:
    """Pieces that a space split out of one cell joined again: a figure and its unit ('171' '人'), an
    indicator number and its name ('指标' '1:事业单位招聘人数')."""
    out: list[str] = []
    for p in pieces:
        if out and (p in units() and re.fullmatch(f"{_OPERATOR_TEXT}?\\d+(?:\\.\\d+)?", out[-1])
                    or out[-1] == "指标" and re.match(r"\d", p)):
            out[-1] += p
        else:
            out.append(p)
    return out


@lru_cache(maxsize=1 << 15)
def _cut_text(text: str) -> tuple[tuple[str, str | None, str | None, bool], ...]:
    """One piece as tokens (text, role, canonical, joined): a whole label, or run-on text cut at the labels
    and titles it holds (worked out once per text: a document's forms repeat their labels)."""
    return tuple((t.text, t.role, t.canonical, t.joined) for t in _cut_tokens(text, 0))


def _cut_tokens(text: str, line: int) -> list[Token]:
    hit = _classify(text, line)
    if hit.role is None and len(text) <= 16:
        parts = _labels_run_together(text, line)
        if len(parts) > 1:
            return parts
    if hit.role is not None or len(text) < 6:
        return [hit]
    k = text.replace(" ", "")
    hits = list(_cutter().finditer(k))
    if _NUMBERED.match(k):  # '指标1:服务对象满意度': a numbered row's name, whatever level it spells
        hits = [m for m in hits if _classify(m.group(), line).role != "level"]
    # a title's words that a sentence goes on after ('…认真填写自评表。社会保险…') are the report's prose
    hits = [m for m in hits if k[m.end():m.end() + 1] not in _SENTENCE_GOES_ON or "自评表" not in m.group()
            or _classify(m.group(), line).role != "title"]
    first = hits[0] if hits else None
    if first is not None and first.start() > 0 and k.endswith("。") and not _LEAD_FIGURES.search(k):
        return [hit]  # a sentence that names labels ('同效益指标得分计算方法。': a 得分计算方法 cell) is one cell
    if first is None or len(hits) == 1 and (first.start() > 0 and first.end() < len(k) or first.start() == 0
                                            and _classify(first.group(), line).role == "stop"
                                            or _name_ending_in_a_level_word(k, first, line)
                                            or _level_word_and_its_text(k, first, line)):
        # prose (or an indicator name: 预算资金拨款率) that holds one label stays whole; a label at the end is
        # cut ('级预算单位名称': its first character lost), and one at the start ('总分100100'), but not a
        # level word ending a name
        return [hit]
    out, at = [], 0
    for m in hits:
        if m.start() > at:
            out.extend(_labels_run_together(k[at:m.start()], line))
        out.append(_classify(m.group(), line))
        at = m.end()
        lead = _LEAD_FIGURES.match(k, at) if out[-1].role in ("total", "score_total", "funding_row") else None
        if lead:
            out.append(Token(lead.group(1), line))
            at = lead.end(1)
        short = k[at:at + 2] if out[-1].role == "indicator_header" else ""
        if short in _short_indicator_headers() and at + 2 < len(k):
            # a two-character header cell ('说明', '得分') is cut only straight after another header cell
            out.append(_classify(short, line))
            at += 2
    if at == 0:
        return [hit]
    if at < len(k):
        out.extend(_labels_run_together(k[at:], line))
    out = [t for t in out if t.text]
    for t in out[1:]:
        t.joined = True
    return out


_SENTENCE_GOES_ON = frozenset("。，；,;、")


def _name_ending_in_a_level_word(k: str, m: re.Match, line: int) -> bool:
    """Whether a piece is a name (or a target) that ends in a level's words or a funding header's:
    '农民工满意度', '创业担保贷款贴息资金服务对象满意度', '政府采购执行率'. The word is spelled as a word, not as a
    table label (…指标), after two Chinese characters or more that are no label ('无满意度指标' is 无 and the
    level 满意度指标; '级预算单位名称' is a label that lost its first character)."""
    return m.end() == len(k) and m.start() >= 2 and not m.group().endswith("指标") \
        and re.fullmatch(r"[\u4e00-\u9fff]+", k[:m.start()]) is not None and not _known(k[:m.start()]) \
        and _classify(m.group(), line).role in ("level", "funding_header")


def _level_word_and_its_text(k: str, m: re.Match, line: int) -> bool:
    """Whether a piece is a level's words, a colon and a text: a department form's indicator name
    ('经济效益:确保各项待遇正常足额发放' under 履职效益), one cell."""
    return m.start() == 0 and k[m.end():m.end() + 1] in (":", "：") and len(k) - m.end() > 4 \
        and not m.group().endswith("指标") and _classify(m.group(), line).role == "level"


@cache
def _short_indicator_headers() -> frozenset[str]:
    """Indicator header cells of two characters (headers.csv): too short to cut out of run-on text anywhere."""
    return frozenset(k for r in rules.table("headers.csv") if r["table"] == "indicator"
                     and len(k := _label_key(r["synonym"])) == 2 and not r["synonym"].endswith("*"))


def _labels_run_together(text: str, line: int) -> list[Token]:
    """A short piece as one token, or as the labels it is made of ('分值得分', '一级指标二级指标')."""
    parts = _decompose(_label_key(text)) if len(text) <= 16 and _classify(text, line).role is None else None
    if parts and len(parts) > 1:
        return [_classify(p, line) for p in parts]
    return [_classify(text, line)]


def _classify(text: str, line: int) -> Token:
    """A piece as a label, a title or a value. A label is looked up without the punctuation around it
    ('项目名称:'); a value keeps the full stop that ends a sentence (a goal text's '。'), and loses only the
    colon and spaces left from a label cut off before it."""
    bare = text.strip(":：,，;；。 ")
    k = _label_key(bare)
    hit = vocabulary().get(k)
    if hit is not None:
        return Token(bare, line, hit[0], hit[1])
    if "自评表" in k and len(k) <= 40 and re.fullmatch(_TITLE, k.lstrip("附件:")):
        return Token(bare, line, "title", None)
    return Token(text.strip(":：,，;； "), line)


# -- values ----------------------------------------------------------------------------------------


def _is_value(t: Token) -> bool:
    return t.role is None and (bool(_FIGURE.match(t.text)) or t.text in _DASH or bool(_GLUED.match(t.text)))


def _figure(text: str) -> float | None:
    return to_number(text.replace("万元", "").replace("万", "")) if _FIGURE.match(text) else None  # 10分 → 10


_SPLIT_NUMBER = re.compile(r"^(?:0|[1-9]\d*)(?:\.\d{1,2})?$")  # a figure cut out of a glued run


def _splits(digits: str, k: int, limit: int = 2000) -> list[list[str]]:
    """Every way to cut a run of digits (and dots) into k plain numbers of at most 12 characters (at most
    `limit` of them): depth-first, a cut only where the piece before it is a number, so a long run costs
    what its readings cost, not every combination of cut points.

    >>> _splits("1010100", 3)[:4]
    [['1', '0', '10100'], ['10', '10', '100'], ['10', '1010', '0'], ['101', '0', '100']]
    """
    out: list[list[str]] = []

    def walk(at: int, left: int, parts: list[str]) -> None:
        if len(out) >= limit:
            return
        rest = len(digits) - at
        if left == 1:
            if rest <= 12 and _SPLIT_NUMBER.match(digits[at:]):
                out.append([*parts, digits[at:]])
            return
        for end in range(at + 1, min(len(digits) - left + 1, at + 12) + 1):
            piece = digits[at:end]
            if _SPLIT_NUMBER.match(piece):
                walk(end, left - 1, [*parts, piece])

    if 0 < k <= len(digits):
        walk(0, k, [])
    return out


def _score(values: dict[str, float | None], weight_default: float | None) -> float:
    """How well figures assigned to funding columns agree with the form's own arithmetic."""
    s = 0.0
    full = values.get("budget_full_year")
    budget = full if full is not None else values.get("budget_initial")
    executed, rate = values.get("executed"), values.get("exec_rate")
    weight, score = values.get("exec_weight"), values.get("exec_score")
    if budget and executed is not None and rate is not None:
        s += 3 if abs(executed / budget * 100 - rate) <= 0.6 else -3
    elif budget == 0 and executed is not None and rate is not None:
        s += 1 if executed == 0 and rate == 0 else -3  # nothing budgeted: nothing executed, rate 0
    rate_ = rate if rate is not None else (executed / budget * 100 if budget and executed is not None else None)
    w = weight if weight is not None else weight_default
    if w is not None and score is not None and rate_ is not None:
        s += 2 if abs(min(w, w * rate_ / 100) - score) <= 0.6 else -1
    if weight is not None:
        s += 1 if weight in (5, 10, 15, 20, 25, 30) else (-5 if weight > 100 else -0.5)
    if weight is not None and score is not None and score > weight + 1e-9:
        s -= 3
    if rate_ is not None and rate_ > 300:  # (printed, or implied by the amounts: 10.21 executed of 3 budgeted)
        s -= 3
    for col in ("budget_full_year", "executed"):
        if values.get(col) is not None:
            s += 0.2
    return s


_POINTS_COLUMNS = ("exec_weight", "exec_score")


@dataclass(slots=True)
class FundingRow:
    label: str
    fund_source: str
    line: int
    values: dict[str, float | None]
    confirmed: bool
    raw: list[str]


def assign(columns: list[str], raw: list[str], weight_default: float | None = None,
           by_source: bool = False, total: dict | None = None) -> tuple[dict, bool] | None:
    """Give a funding row's printed values to the header's columns.

    Values keep their order; a rate printed with % only goes to the rate column; a '/' holds its column
    empty; when fewer values than columns are printed, the blanks go where the row's arithmetic agrees
    best; a run of glued figures is split only where that arithmetic confirms it. A part of the total (其中…)
    is also confirmed by amounts equal to the total's (`total`, read first), and a figure cut out of a run
    without its % is a rate only where 分值 × 执行率 = 得分 confirms it. Returns (column → value, whether the
    arithmetic confirmed it), or None when nothing fits.

    >>> assign(["budget_initial", "budget_full_year", "executed", "exec_weight", "exec_rate", "exec_score"],
    ...        ["880", "880", "880", "10", "10"])[0]["exec_rate"] is None
    True
    >>> v, ok = assign(["budget_full_year", "executed", "exec_rate", "exec_score"], ["1010100%20"], 20)
    >>> (v["budget_full_year"], v["executed"], v["exec_rate"], v["exec_score"], ok)
    (10.0, 10.0, 100.0, 20.0, True)
    >>> cols = ["budget_initial", "executed", "exec_weight", "exec_rate", "exec_score"]
    >>> v, ok = assign(cols, ["310.2154.74"], total={"budget_initial": 310.2, "executed": 154.74})
    >>> (v["budget_initial"], v["executed"], v["exec_rate"], ok)
    (310.2, 154.74, None, True)
    >>> assign(cols, ["310.2154.74"]) is None  # (310.2 | 15 | 4.74 fits 15 / 310.2 = 4.8%: no % was printed)
    True
    """
    options: list[list[tuple]] = [[]]  # each: the value sequence as (kind, value, cut out of a glued run)
    for text in raw:
        if text in _DASH:
            seq = [[("blank", None, False)]]
        elif _FIGURE.match(text):
            seq = [[("rate" if text.endswith("%") else "num", _figure(text), False)]]
            if len(raw) < len(columns) and text.endswith("%") and (_figure(text) or 0) > 1000:
                seq += _glued(text, len(columns), columns)  # '6363100%' is no rate: 63 | 63 | 100%
        else:
            seq = _glued(text, len(columns), columns)
            if not seq:
                return None
        options = [o + s for o in options for s in seq][:2000]
    best, best_score, glued = None, None, False
    for vals in options:
        if len(vals) > len(columns):
            continue
        for slots in itertools.combinations(range(len(columns)), len(vals)):
            got: dict[str, float | None] = dict.fromkeys(columns)
            ok = True
            bare_rate = False  # a rate cut out of a run that printed no %
            for (kind, v, cut), at in zip(vals, slots, strict=True):
                col = columns[at]
                if kind == "rate" and col != "exec_rate":
                    ok = False
                    break
                bare_rate = bare_rate or cut and kind == "num" and col == "exec_rate"
                if col == "method" and kind != "blank":
                    ok = False
                    break
                got[col] = v
            if not ok or bare_rate and not _scored_rate(got, None if "exec_weight" in columns else weight_default):
                continue
            # blanks at the end of the row cost less than blanks in its middle
            # the template's execution weight stands in only where the form prints no 分值 column
            sc = (_score(got, None if "exec_weight" in columns else weight_default)
                  - 0.01 * sum(1 for a in slots if a < len(vals)))
            if by_source:  # a row by source seldom prints a 分值 or 得分 of its own: '5 | 5 | 5 | — | —' are amounts
                sc -= 2 * sum(1 for (kind, _, _), at in zip(vals, slots, strict=True)
                              if kind == "num" and columns[at] in _POINTS_COLUMNS)
            if "budget_initial" in columns and got.get("budget_initial") is None and got.get("budget_full_year"):
                sc += 0.05  # a form without 年初预算数 leaves that column blank
            if total and _as_total(got, total):
                sc += 3
            if best_score is None or sc > best_score:
                best, best_score, glued = got, sc, any(g for _, _, g in vals)
    if best is None:
        return None
    confirmed = best_score is not None and best_score >= 2
    if glued and not confirmed:
        return None
    return best, confirmed


def _scored_rate(values: dict[str, float | None], weight_default: float | None) -> bool:
    """Whether the row's 得分 is its 分值 × 执行率: what confirms a rate printed without its % ('79.27107.93' =
    79.27 | 10 | 7.93); executed / budget alone does not (310.2 | 15 | 4.74 out of '310.2154.74' agrees to 0.1)."""
    rate, score = values.get("exec_rate"), values.get("exec_score")
    w = values.get("exec_weight")
    w = w if w is not None else weight_default
    return None not in (rate, score, w) and abs(min(w, w * rate / 100) - score) <= 0.6


def _as_total(values: dict[str, float | None], total: dict[str, float | None]) -> bool:
    """Whether a row's amounts (two at least) are the total's: the one part of the total that is all of it."""
    got = [(v, total.get(c)) for c, v in values.items() if c in _AMOUNTS and v is not None]
    return len(got) >= 2 and all(t is not None and abs(v - t) < 0.005 for v, t in got)


_AMOUNTS = ("budget_initial", "budget_full_year", "executed")


def _glued(text: str, most: int, columns: list[str] | None = None) -> list[list[tuple]]:
    """The readings of a run of glued figures ('1010100%20'): rates end at each %. With the row's columns,
    the figures before a rate are at most the columns up to the rate column, those after it the rest."""
    if not _GLUED.match(text):
        return []
    text = text.replace(",", "")
    parts = [p for p in re.split(r"(?<=%)", text) if p]
    at_rate = columns.index("exec_rate") + 1 if columns and "exec_rate" in columns else most
    readings: list[list[tuple]] = [[]]
    for n, part in enumerate(parts):
        rate = part.endswith("%")
        digits = part.rstrip("%")
        these = []
        bound = at_rate if rate and n == 0 else most - at_rate if n > 0 and columns else most
        for k in range(1, max(bound, 1) + 1):
            for cut in _splits(digits, k):
                vals = [("num", float(x), True) for x in cut]
                if rate:
                    vals[-1] = ("rate", vals[-1][1], True)
                these.append(vals)
        readings = [r + t for r in readings for t in these if len(r) + len(t) <= most][:2000]
    return readings


# -- forms -----------------------------------------------------------------------------------------


def _in_yuan(toks: list[Token]) -> bool:
    """Whether the form says its amounts are in 元: a spelling of _yuan_labels in a token or two tokens in a row.
    A pair can spell it only where one of its tokens holds a character every spelling has (元): the others
    are not joined and tested."""
    marks = _yuan_marks()
    at = range(len(toks)) if not marks else [k for k, t in enumerate(toks) if any(m in key(t.text) for m in marks)]
    pairs = {p for k in at for p in (k - 1, k) if p >= 0}
    return any(u in key(toks[p].text + (toks[p + 1].text if p + 1 < len(toks) else ""))
               for p in sorted(pairs) for u in yuan_labels())


@cache
def _yuan_marks() -> frozenset[str]:
    """The Chinese characters every 元 spelling holds ('元')."""
    sets = [set(re.findall(r"[\u4e00-\u9fff]", u)) for u in yuan_labels()]
    return frozenset(set.intersection(*sets)) if sets else frozenset()


def _template(tokens_: list[Token], title: str | None) -> dict:
    """The template whose title and markers match the form best (forms.template_of)."""
    return template_of(frozenset(_label_key(t.text) for t in tokens_), title)


def _starts(toks: list[Token]) -> list[int]:
    """Where forms start: each title, or a 项目名称 label with no title before it."""
    starts = [i for i, t in enumerate(toks) if t.role == "title" and not _other_table(t.text)]
    if not starts:
        first = next((i for i, t in enumerate(toks) if t.role == "field" and t.canonical == "project_name"), None)
        starts = [first] if first is not None else []
    # a title repeated inside the form's own 项目名称 cell is not a new form
    kept: list[int] = []
    for i in starts:
        k = _before_merged(toks, i)
        if kept and k > 0 and toks[k - 1].role == "field":
            continue
        kept.append(i)
    return sorted(kept + _untitled_starts(toks, kept))


def _before_merged(toks: list[Token], i: int) -> int:
    """Where the cell of toks[i] starts, the empty cells before it on its row taken in: in a row of cells a
    label's merged cell leaves empty cells between it and its value ('项目名称 | | 名称')."""
    while i > 0 and _merged_cell(toks[i - 1], toks[i].line):
        i -= 1
    return i


def _after_merged(toks: list[Token], i: int) -> int:
    """The token after toks[i], past the empty cells after it on its row (a merged cell's, in a row of
    cells): i + 1 where the copy kept no cells."""
    j = i + 1
    while j < len(toks) and _merged_cell(toks[j], toks[i].line):
        j += 1
    return j


def _merged_cell(t: Token, line: int) -> bool:
    """Whether t is an empty cell of a row of cells on `line`: a merged cell's, which holds no column."""
    return t.role == "empty" and t.col >= 0 and t.line == line


def _wrapped_header_cells(toks: list[Token], first: int, end: int) -> list[tuple[int, str]]:
    """Funding header cells printed on two lines and copied cell by cell, line by line: '全年预算 全年 分
    执行 得分 (万元) 数 执行数 值 率' holds 分值 as '分' … '值'. A piece of the first line that is no label
    is joined with a later piece between `first` and `end` that is none either, where the two make a
    funding header label of a column the header does not have yet; both pieces are then that column (at
    the first one's place)."""
    vocab = vocabulary()
    region = range(first, end)
    have = {toks[i].canonical for i in region if toks[i].role == "funding_header"}
    loose = [i for i in region if toks[i].role is None and len(toks[i].text) <= 4 and _CJK_PIECE.match(toks[i].text)
             and not _is_value(toks[i])]
    out: list[tuple[int, str]] = []
    taken: set[int] = set()
    for n, p in enumerate(loose):
        if p in taken:
            continue
        for q in loose[n + 1:]:
            got = q not in taken and vocab.get(_label_key(toks[p].text + toks[q].text))
            if got and got[0] == "funding_header" and got[1] not in have:
                out += [(p, got[1]), (q, got[1])]
                taken.update((p, q))
                have.add(got[1])
                break
    return out


def _untitled_starts(toks: list[Token], starts: list[int]) -> list[int]:
    """Forms printed without a title: a 项目名称 label after the total row of the form before it, with
    the new form's funding header after it (the copy of a page holding only '(2024年度)' above its table),
    starts a form at that label, or at the year line just before it."""
    out: list[int] = []
    at = set(starts)
    named = None  # the last 项目名称 label of the current form, and whether its total row has been seen
    closed = False
    for i, t in enumerate(toks):
        if i in at:
            named, closed = None, False
        if t.role == "total" and named is not None:
            closed = True
        if t.role != "field" or t.canonical != "project_name":
            continue
        nxt = next((u for u in toks[i + 1:i + 4] if u.role != "empty"), None)
        if t.col >= 0 and nxt is not None and nxt.line == t.line and nxt.role in ("funding_header",
                                                                                   "indicator_header"):
            continue  # a column of a header row ('序号 | 项目名称 | 预算数 | 执行数': a summary's), no field
        if named is not None and closed and any(u.role == "funding_header" for u in toks[i + 1:i + 20]):
            start = i - 1 if i > 0 and _YEAR_ONLY.match(toks[i - 1].text) else i
            if start not in at:
                out.append(start)
                at.add(start)
        named, closed = i, False
    return out


_YEAR_ONLY = re.compile(r"^[(（]?(?:19|20)\d{2}年度?[)）]?$")


def _other_table(title: str) -> bool:
    """A title of a table that is not read as a form (summaries, base-data tables, rubrics)."""
    return title_kind(title) in ("other", "rubric")


def read_document(rows: list[Row], simplify=None) -> list[Form]:
    """Every project (and project-layout department) form of a document whose tables the row reader
    could not read."""
    return read_tokens(tokens(rows, simplify), rows[-1].end if rows else 0)


def read_tokens(toks: list[Token], last_line: int) -> list[Form]:
    """The forms of a token stream (`read_token_tables` without the tables read as none)."""
    return read_token_tables(toks, last_line)[0]


class UnreadTable(NamedTuple):
    """A table the token reader started on but read no form from: its first and last line, its header cells."""

    line: int
    line_end: int
    header: tuple[str, ...]


_PROSE = 40  # a piece longer than this is running text: a table read as none ends before it


def read_token_tables(toks: list[Token], last_line: int) -> tuple[list[Form], list[UnreadTable]]:
    """The forms of a token stream: each from its start to the next. A form is kept with whatever could be
    read of it (the ingest reports what is missing); a title with nothing of a form after it (a document
    site's list of file names) is not a form. Besides, the starts that hold a table header (three header
    cells) but give no form (a report's 项目名称 | 全年预算数 | 执行数 table after a form, a summary copied
    without its rows): up to the running text after them, for the ingest to list as unread."""
    starts = _starts(toks)
    forms, unread = [], []
    for n, at in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(toks)
        form = _segment_form(toks, at, end, last_line)
        if form is not None:
            forms.append(form)
            continue
        header = tuple(dict.fromkeys(t.text for t in toks[at:end] if t.role in ("funding_header", "indicator_header")))
        if len(header) >= 3:
            last = next((k for k in range(at, end) if len(toks[k].text) > _PROSE), end) - 1
            unread.append(UnreadTable(toks[at].line, toks[max(last, at)].line, header))
    return forms, unread


def _segment_form(toks: list[Token], at: int, end: int, last_line: int) -> Form | None:
    """The form of the tokens from one start to the next, or None where they hold none."""
    if not any(t.role in ("funding_row", "funding_header", "field", "score_total") for t in toks[at:end]):
        return None
    if toks[at].role != "title" and not any(t.role == "funding_header" and t.canonical in ("executed", "exec_rate")
                                            for t in toks[at:end]):
        return None  # no title and nothing executed: a 绩效目标表 or 申报表, not a self-evaluation
    form = _read_form(toks[at:end], last_line)
    if form.kind == "department" and not form.department:
        m = _UNIT_IN_TITLE.match(key(form.title))
        if m:  # '重庆市梁平区林业局2023年度部门整体绩效自评表': the unit named by the title
            form.department = m.group(1)
            form.inferred.add("department")
    read = [form.funding, form.indicators, form.total_score, form.project_name]
    if any(x for x in read) and (form.project_name or form.title):
        return form
    return None


_UNIT_IN_TITLE = re.compile(r"^(?:\d+[、.])?(.{4,30}?)(?:19|20)\d{2}年度?")


def _header_cells_at(toks: list[Token], hdr: list[int], columns: list[str]) -> list[int] | None:
    """The cell each funding column's header is printed in, where the header's first row is a row of
    cells naming `columns` in that order; else None (a copy without cells, a header over two rows)."""
    cells = [toks[j] for j in hdr if toks[j].line == toks[hdr[0]].line] if hdr else []
    if not cells or any(t.col < 0 for t in cells):
        return None
    first: dict[str, int] = {}
    for t in cells:
        first.setdefault(t.canonical, t.col)
    at = [first.get(c) for c in columns]
    return at if None not in at and at == sorted(set(at)) else None


def _by_cell(toks: list[Token], i: int, header_cols: list[int], columns: list[str]) \
        -> tuple[list[str], int] | None:
    """The figures of the funding row labelled at toks[i], one per header cell ('/' for none), each taken
    from the cells from its header's cell up to the next header's, and where the row ends. A row whose cells
    all sit one cell off its header's (a markdown row that starts with '|' under a header that does not) is
    read one cell over, where only that puts every figure under a header cell of its own and no rate under
    another column. None where no such reading exists, where the label is not left of the header's cells, or no
    figure follows it on its line (rows that a copy shifted: the order decides)."""
    line, j = toks[i].line, i + 1
    if toks[i].col >= header_cols[0]:
        return None
    figures: list[Token] = []
    while j < len(toks) and toks[j].line == line and (
            _is_value(toks[j]) or toks[j].role in ("empty", None, "funding_header")):
        t = toks[j]
        if t.col < 0:
            return None
        if t.role != "empty" and not _is_value(t):
            k = bisect.bisect_right(header_cols, t.col) - 1
            if k < 0 or columns[k] != "method":
                break
            # the row's 得分计算方法 text, under its header cell ('执行率×该指标分值，最高不得超过分值上限。'): read
            # with the row (the funding table keeps no method), not a leftover
        elif t.role != "empty":
            figures.append(t)
        j += 1
    for shift in (0, 1, -1):
        raw = ["/"] * len(header_cols)
        for t in figures:
            k = bisect.bisect_right(header_cols, t.col + shift) - 1
            if k < 0 or raw[k] != "/" or t.text.endswith("%") and columns[k] != "exec_rate":
                break
            raw[k] = t.text
        else:
            while raw and raw[-1] == "/":
                raw.pop()
            return (raw, j) if raw else None
    return None


def _placed(columns: list[str], raw: list[str], weight_default: float | None) -> tuple[dict, bool] | None:
    """A funding row's figures each under its header cell (`_by_cell`), as `assign` returns them; None where
    a cell is no single figure (figures run together: `assign` tries their cuts) or a rate is not under
    the rate's column."""
    got: dict[str, float | None] = dict.fromkeys(columns)
    for col, text in zip(columns, raw, strict=False):
        if text in _DASH:
            continue
        if not _FIGURE.match(text) or text.endswith("%") and col != "exec_rate" or col == "method":
            return None
        got[col] = _figure(text)
    return got, _score(got, None if "exec_weight" in columns else weight_default) >= 2


def _text_after(toks: list[Token], i: int) -> tuple[str | None, int]:
    """The text of the tokens after a label up to the next label or figure run: a field's value. In a row
    of cells, the empty cells right after the label are the label's own (a merged cell: '项目名称 | | 名称')."""
    parts, j = [], _after_merged(toks, i)
    if j < len(toks) and toks[j].role == "title":
        return toks[j].text, j + 1
    while j < len(toks) and toks[j].role is None and not (_is_value(toks[j]) and parts):
        parts.append(toks[j].text)
        j += 1
        if len(parts) >= 8:
            break
    text = "".join(p if not parts or not p[:1].isascii() else p for p in parts)
    return (text or None), j


_SPLIT_YEAR = re.compile(r"^\(?(?:19|20)\d{2}$")
_YEAR_BITS = re.compile(r"^\(?(?:19|20)\d{2}\)?$|^年度?\)?$|^\($")


def _text_before(toks: list[Token], i: int, used: set[int]) -> tuple[str | None, int]:
    """The text between the previous label (or the title) and a label that has nothing after it."""
    k = i
    while k > 0 and toks[k - 1].role is None and k - 1 not in used and not _is_value(toks[k - 1]):
        k -= 1
    parts = [t.text for t in toks[k:i] if not _YEAR_BITS.match(t.text)]
    return ("".join(parts) or None), k


def _read_form(toks: list[Token], last_line: int) -> Form:
    title_tok = toks[0] if toks[0].role == "title" else None
    form = Form(line_start=toks[0].line, layout="tokens")
    form.title = title_tok.text if title_tok else None
    if form.title and title_kind(form.title) == "department":
        form.kind = "department"
    used: set[int] = set()
    if title_tok:
        used.add(0)
    # year: in the title or the tokens around it, also split by a space ('(2022' '年度)')
    for k, (t, after) in enumerate(zip(toks[:12], [*toks[1:13], Token("", 0)], strict=False)):
        split = _SPLIT_YEAR.match(t.text) and after.text.startswith("年") and after.line == t.line
        if split or _YEAR.search(t.text):
            form.year = int(_YEAR.search(t.text + after.text if split else t.text).group(1))
            if split and k == 1 and title_tok and _YEAR_BITS.match(after.text):
                used.update((1, 2))  # the title's '(2022' '年度)'
            elif not split and k <= 1 and _YEAR_ONLY.match(t.text.replace(" ", "")):
                used.add(k)  # the year line under the title: '( 2021年度)'
            break
    if title_tok and len(toks) > 1 and _YEAR_ONLY.match(toks[1].text.replace(" ", "")):
        used.add(1)  # the year line under a title that names its year too ('2024年…自评表' / '(2024年度)')
    template = _template(toks, form.title)
    form.template = template["template"]
    unit_yuan = _in_yuan(toks)
    form.amount_unit = "元" if unit_yuan else "万元"
    # header fields, printed above the indicators (a 单位 or 项目名称 further down is a later table's: a summary's)
    head = next((i for i, t in enumerate(toks) if t.role == "stop" and t.canonical == "indicator" and i > 0),
                len(toks))
    for i, t in enumerate(toks[:head]):
        if t.role == "field" and getattr(form, t.canonical, None) is None:
            value, j = _text_after(toks, i)
            if value:
                setattr(form, t.canonical, value)
                used.update(range(i, j))
            elif t.canonical == "project_name":
                value, k = _text_before(toks, i, used)
                if value:  # scrambled order: the name printed between the title and its label
                    form.project_name = value
                    used.update(range(k, i + 1))
    if form.kind == "department":
        _department_blocks(toks, used, form)
    # funding block: the header columns, then rows
    hdr = [i for i, t in enumerate(toks) if t.role == "funding_header"]
    columns: list[str] = []
    weight_default = float(template["exec_weight"]) if template["exec_weight"] else None
    header_end = 0  # where figures printed straight after the header would start
    if hdr:
        first = hdr[0]
        # the header is the funding header cells from the first one up to the block's first run of three
        # figures (a scrambled dump prints other cells between them)
        data = next((k for k in range(first, len(toks) - 2) if all(_is_value(toks[k + d]) for d in range(3))),
                    len(toks))
        for j, canonical in _wrapped_header_cells(toks, first, data):
            toks[j] = Token(toks[j].text, toks[j].line, "funding_header", canonical)
            hdr.append(j)
        hdr.sort()
        for j in (i for i in hdr if i < data):
            if toks[j].canonical not in columns:
                columns.append(toks[j].canonical)
            used.add(j)
            w = re.search(r"(?<!\d)(\d+)分", toks[j].text)
            if w and toks[j].canonical in ("exec_weight", "exec_score"):
                weight_default = float(w.group(1))
        if data < len(toks) and toks[data - 1].role == "funding_header":
            header_end = data
    for t in toks:
        if t.role == "stop" and t.canonical == "funding":
            w = re.search(r"\((\d+)分\)", t.text)
            if w:
                weight_default = float(w.group(1))
    if "exec_rate" not in columns and "exec_score" in columns and any(
            _label_key(toks[i].text) == "执行率得分" for i in hdr):
        # run-on '分值执行率得分' is 分值 | 执行率 | 得分 (a form with its own 执行率得分 column prints 执行率 too)
        at = columns.index("exec_score")
        columns[at:at + 1] = ["exec_rate", "exec_score"]
    if len(columns) < 3:
        columns = template["funding_columns"].split("|")
    header_cols = _header_cells_at(toks, hdr, columns)
    funding: list[FundingRow] = []
    first_indicator = next((i for i, t in enumerate(toks) if t.role == "stop" and t.canonical == "indicator"),
                           len(toks))
    for i, t in enumerate(toks):
        if i > first_indicator and t.role == "funding_row" and funding:
            break  # a fund's words under the indicators ('…财政拨款5万元…' in the report below): no funding row
        # a 合计 row right in the funding block (funding by source: 一般预算内拨款 … 合计) is the total
        if t.role == "total" and i < first_indicator and _label_key(t.text) == "合计" and funding:
            t = Token(t.text, t.line, "funding_row", "total")
        elif i == header_end and header_end and _is_value(t):
            # figures straight after the header, their row label printed elsewhere (a PDF or spreadsheet dump
            # whose reading order is scrambled): the block's first row, the total, if its arithmetic agrees
            t, i = Token("年度资金总额", t.line, "funding_row", "total"), i - 1
        elif t.role != "funding_row":
            continue
        by_cell = _by_cell(toks, i, header_cols, columns) if t.col >= 0 and header_cols else None
        if by_cell is not None:  # a row of cells under a header of cells: each figure under its header cell
            raw, j = by_cell
        else:
            raw, j = [], i + 1
            while j < len(toks) and (_is_value(toks[j]) or toks[j].role == "empty") and len(raw) < len(columns) + 2:
                raw.append(toks[j].text or "/")  # an empty cell the copy kept holds its column
                j += 1
            while len(raw) > len(columns) and raw[-1] == "/" and toks[j - 1].role == "empty":
                raw.pop()  # (empty cells within the row's width hold their columns: '120.5 130 117 — — —')
                j -= 1
        if not any(x != "/" for x in raw):
            if not raw and j < len(toks) and toks[j].role is None:
                _garbled_row(toks, j, t, columns, weight_default, funding, used, form)
            elif hdr and hdr[0] < i < first_indicator:
                # a row of the template printed without figures (上年结转资金 with its cells empty): a row of
                # the form all the same, as the row reader keeps it
                funding.append(FundingRow(t.text, t.canonical, t.line, dict.fromkeys(columns), False, raw))
                used.update(range(i, j))
            continue
        total = next((r.values for r in funding if r.fund_source == "total" and r.confirmed), None) \
            if t.canonical != "total" else None
        got = (by_cell is not None and _placed(columns, raw, weight_default)) or assign(
            columns, raw, weight_default, by_source=t.canonical != "total", total=total)
        if got is None and i == header_end - 1:  # the scrambled case: the longest confirmed prefix
            for cut in range(min(len(raw) - 1, len(columns)), 2, -1):
                got = assign(columns, raw[:cut], weight_default)
                if got is not None and got[1]:
                    raw, j = raw[:cut], i + 1 + cut
                    break
                got = None
        if got is None:
            form.leftovers.append(Leftover(t.line, " ".join([t.text, *raw]), "funding figures the form's "
                                           "arithmetic does not confirm (left unread)"))
            used.update(range(i, j))
            continue
        values, confirmed = got
        if i == header_end - 1 and not confirmed:
            continue  # unlabelled figures are only read where the form's arithmetic confirms them
        if values.get("exec_rate") is None and "exec_rate" in columns and i == header_end - 1:
            values["exec_rate"] = _lone_rate(toks, used, values, first_indicator)
        if unit_yuan:
            values = {c: (v / 10000 if v is not None and c in ("budget_initial", "budget_full_year", "executed")
                          else v) for c, v in values.items()}
        funding.append(FundingRow(t.text, t.canonical, t.line, values, confirmed, raw))
        used.update(range(i, j))
    after_header = hdr[0] if hdr else None
    while after_header is not None and after_header + 2 < len(toks) and (
            toks[after_header + 1].role == "funding_header"
            or toks[after_header + 1].role is None and toks[after_header + 2].role == "funding_header"):
        after_header += 1  # the header's cells (one unread between two: 全年(If整) 预算数)
    if after_header is not None and toks[after_header].role != "funding_header":
        after_header -= 1
    if not funding and after_header is not None and after_header + 1 < len(toks) \
            and toks[after_header + 1].role is None:  # figures straight after the header, garbled
        _garbled_row(toks, after_header + 1, Token("年度资金总额", toks[after_header + 1].line, "funding_row", "total"),
                     columns, weight_default, funding, used, form)
    seen_total, first_filled = False, None
    figures = [any(v is not None for c, v in r.values.items() if c not in ("method", "note")) for r in funding]
    filled = {r.fund_source for r, has in zip(funding, figures, strict=True) if has}
    for r, has in zip(funding, figures, strict=True):
        src = r.fund_source
        if not has and (src in filled or src == "total" and filled):
            continue  # an empty row where the same row has figures, or an empty total where rows by source have
        if src == "total":
            if seen_total:
                continue
            seen_total = True
        form.funding.append({"line": r.line, "fund_source": src, "label": r.label,
                             **{c: _text(v) for c, v in r.values.items() if c != "method" and c != "note"}})
        if has and first_filled is None:
            first_filled = form.funding[-1]
    if not seen_total and first_filled is not None:  # only rows by source: the first with figures is the total
        form.funding.insert(0, {**first_filled, "fund_source": "total"})
    _indicators(toks, used, form)
    # total score
    total_end = None
    read_up_to = max(used, default=-1)
    for i, t in enumerate(toks):
        if i > read_up_to and _NOTE_START.match(t.text):
            break  # the notes under the table: a 合计 after them is in the report's text, not the form's total
        if t.role in ("total", "score_total") and i not in used:
            nums = []
            j = i + 1
            while j < len(toks) and len(nums) < 3 and j - i <= 16 and (
                    _is_value(toks[j]) or _merged_cell(toks[j], t.line) or toks[j].role == "empty" and toks[j].col < 0):
                if toks[j].role != "empty":  # (the empty cells of a row of cells: '总分 | | | 100 | 96.97'; of a copy
                    nums.append(toks[j].text)  # one cell per line: bare '|' lines)
                j += 1
            while j > i + 1 and toks[j - 1].role == "empty":
                j -= 1  # (the empty cells after the figures are not the total's)
            figures = [_figure(x) for x in nums]
            if not nums:
                continue
            if len(nums) == 1 and _GLUED.match(nums[0]) and (figures[0] is None or figures[0] > 100):
                figures = [None]  # a total is at most 100: '100100' is 100 | 100 where one split fits
                got = _glued(nums[0], 2)
                pair = [g for g in got if len(g) == 2 and 0 < g[0][1] <= 100 and g[1][1] <= g[0][1]]
                if len(pair) == 1:
                    figures = [pair[0][0][1], pair[0][1][1]]
            figures = [f for f in figures if f is not None]
            if not figures:
                continue
            if t.role == "score_total":
                form.total_score = figures[-1]
            elif len(figures) >= 2:
                form.total_weight, form.total_score = figures[0], figures[1]
            elif figures[0] != 100:
                form.total_score = figures[0]
            else:
                form.total_weight = figures[0]
            form.total_line = t.line
            form.complete = True
            k = next((k for k in range(j, min(j + 3, len(toks))) if toks[k].role != "empty"), None)
            if k is not None and k not in used and toks[k].text in grade_words():
                form.grade, j = toks[k].text, k + 1  # the grade printed after it (云南: 总分 | 100 | 96 | 优)
            used.update(range(i, j))
            total_end = j
            if t.role == "total":
                break
    end = _table_end(toks, used, form, total_end)
    # a 自评总分 printed in the header is no end of the table: it ends after the last token a block read
    end = max(end, max(used, default=-1) + 1)
    _goals(toks[:end], used, form)
    form.line_end = toks[end - 1].line
    if not form.complete:
        form.stop_reason = "end of file" if toks[-1].line >= last_line else "next table"
    form.leftovers.extend(_leftovers(toks[:end], used))
    return form


_NOTE_START = re.compile(r"^(?:注|说明|备注)\s*\d?[:：.、]")


_GLUED_AMOUNT = re.compile(r"[:：]\s*(\d[\d,]*(?:\.\d+)?)\s*(万元|元)?$")


def _department_blocks(toks: list[Token], used: set[int], form: Form) -> None:
    """The blocks of the department template (部门（单位）整体绩效自评表) before its indicators, as the row
    reader reads them (tables/department.py): 年度履职目标 (split at 目标1: 目标2: …), 年度主要任务 (a 任务N: name,
    then its content), and 预算情况 (each label department_labels.csv names, then its figure)."""
    from perfdata.tables import department

    blocks = form.department_blocks
    end = next((k for k, t in enumerate(toks) if t.role == "indicator_header"
                or t.role == "stop" and t.canonical == "indicator"), len(toks))  # the blocks precede the indicators
    i = 0
    while i < end:
        t = toks[i]
        block = t.canonical[len("department_"):] if t.role == "stop" and (t.canonical or "").startswith(
            "department_") else "goals" if t.role == "stop" and t.canonical == "goal" else None
        if block in ("goals", "tasks") and block not in blocks:
            j = i + 1
            while j < end and toks[j].role in (None, "empty") and not _is_value(toks[j]) \
                    and department.label_of(toks[j].text) not in _DEPARTMENT_BLOCKS:
                j += 1  # (up to the next block: '预算情况')
            texts = [u.text for u in toks[i + 1:j] if u.role is None]
            if block == "goals" and texts:
                blocks["goals"] = [p.strip() for p in department.GOAL_SPLIT.split("".join(texts)) if p.strip()]
            elif block == "tasks":
                tasks: list[list[str]] = []
                for k, text in enumerate(texts):
                    if text == "任务" and k + 1 < len(texts) and re.match(r"\d+\s*[:：]", texts[k + 1]):
                        texts[k + 1] = text + texts[k + 1]  # '任务 1:…' split at its space (a copy onto one line)
                        continue
                    if department.TASK_HEADER.match(key(text)):
                        continue  # the header '任务名称 | 主要内容'
                    if department.TASK_START.match(text) or not tasks:
                        tasks.append([department.TASK_START.sub("", text), ""])
                    else:
                        tasks[-1][1] += text
                blocks["tasks"] = tasks
            used.update(range(i, j))
            i = j
            continue
        glued = _GLUED_AMOUNT.search(t.text) if t.role is None else None  # '其中:基本支出:900.47'
        label = t.text[:glued.start()] if glued else t.text
        if block in ("budget_block", "budget_total") or department.label_of(label) in department.BUDGET:
            name = department.label_of(label)
            # one figure after its label ('其他资金 | 585.62'); a row of several is a funding grid's, not this block's
            at = _after_merged(toks, i)  # (in a row of cells, after the label's merged cells)
            then = _after_merged(toks, at) if at < len(toks) else at
            alone = at < len(toks) and _is_value(toks[at]) and not (then < len(toks) and _is_value(toks[then]))
            figure = glued.group(1) if glued else toks[at].text if alone else None
            if name in department.BUDGET and name not in blocks.setdefault("budget", {}) and figure is not None \
                    and to_number(figure) is not None:
                factor = 1e-4 if "(元)" in t.text or glued and glued.group(2) == "元" else 1.0
                blocks["budget"][name] = round(to_number(figure) * factor, 6)
                blocks.setdefault("budget_lines", {})[name] = t.line
                used.update((i,) if glued else range(i, at + 1))
                i += 1 if glued else at + 1 - i
                continue
            if glued:
                i += 1  # a figure this does not read stays a leftover
                continue
            if block is not None or name in department.BUDGET and not (i + 1 < len(toks) and _is_value(toks[i + 1])):
                used.add(i)  # the block's label, or a budget row printed without its figure
        elif department.label_of(t.text) == "budget_block":
            used.add(i)  # '预算情况'
        elif blocks.get("budget") is not None and re.fullmatch(r"\(\d+\)", t.text):
            used.add(i)  # '(2)': a numbered budget row printed empty
        i += 1


def _table_end(toks: list[Token], used: set[int], form: Form, total_end: int | None) -> int:
    """Where the form's table ends: after its total row and the notes printed under it (they are
    consumed as the form's notes: '注: 1.…', and the lines numbered on from it, '2.…', '3.…'); after the
    notes printed straight after the last cell read where the form prints no total row; the whole stream
    when the form is cut short."""
    if total_end is None:
        after = max(used, default=-1) + 1
        while after < len(toks) and toks[after].role == "empty":
            after += 1
        if after >= len(toks) or not _NOTE_START.match(toks[after].text):
            return len(toks)
        total_end = after
    end = total_end
    numbered = 0  # the last item number of the notes so far
    while end < len(toks) and (_NOTE_START.match(toks[end].text) or numbered and (
            m := _NOTE_ITEM.match(toks[end].text)) and int(m.group(1)) == numbered + 1):
        note, line = [], toks[end].line
        while end < len(toks) and toks[end].line == line and toks[end].role not in ("title", "field"):
            note.append(toks[end].text)  # the labels a note mentions are part of its text
            used.add(end)
            end += 1
        text = "".join(note)
        item = re.findall(r"(?:^|[^\d.])(\d{1,2})[.、．]\D", text)
        numbered = int(item[-1]) if item else 0
        if _NOTE_START.match(text) or not form.notes:
            form.notes.append(text)
        else:
            form.notes[-1] += "\n" + text
    return end


_NOTE_ITEM = re.compile(r"^(\d{1,2})[.、．]")


def _goals(toks: list[Token], used: set[int], form: Form) -> None:
    """年度总体目标: the text after 预期目标 / 实际完成情况 (headers.csv, table goal)."""
    goal = rules.headers("goal")

    def field_of(t: Token) -> str | None:
        return goal.lookup(t.text) if t.role == "goal" else None

    i = 0
    while i < len(toks):
        labels, at, j = [], [], i
        while j < len(toks) and field_of(toks[j]):
            labels.append(field_of(toks[j]))
            at.append(toks[j].col)
            j += 1
            k = _after_merged(toks, j - 1)  # past a merged label cell ('预期目标 | | | 实际完成情况')
            while k < len(toks) and k - j < 8 and toks[k].role == "empty" and toks[k].col < 0:
                k += 1  # (its empty cells in a copy one cell per line: bare '|' lines)
            if k > j and k < len(toks) and field_of(toks[k]):
                j = k
        if not labels:
            i += 1
            continue
        if len(labels) > 1 and min(at) >= 0 and (texts := _goal_cells(toks, j, at)) is not None:
            # paired labels in a row of cells: each text is the one under its label's cell
            j, texts = texts
            for field, text in zip(labels, texts, strict=True):
                if text and getattr(form, field) is None:
                    setattr(form, field, text)
        elif len(labels) > 1:  # paired: 项目年度目标 | 年度目标完成情况, then the two texts in that order
            texts = list(itertools.takewhile(lambda t: t.role is None and not _is_value(t), (
                t for t in toks[j:j + 2 * len(labels)] if t.role != "empty")))[:len(labels)]
            if len(texts) < len(labels) and any(t.joined for t in texts):
                # fewer texts than labels, cut out of run-on text: the texts ran together, and which part is
                # whose is not known; they stay leftovers with their line
                used.update(range(i, j))
                i = j
                continue
            for field in labels:
                while j < len(toks) and toks[j].role == "empty":
                    j += 1  # the empty cells a copy kept (the row's label column, under 年度总体目标)
                if j < len(toks) and toks[j].role is None and not _is_value(toks[j]):
                    if getattr(form, field) is None:
                        setattr(form, field, toks[j].text)
                    j += 1
        else:
            parts = []
            while j < len(toks) and toks[j].role == "empty" and j + 1 < len(toks) and toks[j + 1].role is None:
                j += 1
            while j < len(toks) and toks[j].role is None:
                parts.append(toks[j].text)
                j += 1
            if parts and getattr(form, labels[0]) is None:
                setattr(form, labels[0], "".join(parts))
            k = _before_merged(toks, i)
            while labels[0] == "goal_achieved" and k > 0 and toks[k - 1].role is None and k - 1 not in used \
                    and not _is_value(toks[k - 1]):
                k -= 1
            if k < _before_merged(toks, i) and k > 0 and toks[k - 1].role == "stop" \
                    and toks[k - 1].canonical == "goal" and form.goal_planned is None:
                # '年度总体目标 | 保障…服务 | 年度总体目标完成情况综述: …': the target printed under the block's
                # label with no 预期目标 label of its own
                form.goal_planned = "".join(t.text for t in toks[k:i])
                used.update(range(k - 1, i))
        used.update(range(i, j))
        i = j


def _goal_cells(toks: list[Token], j: int, at: list[int]) -> tuple[int, list[str | None]] | None:
    """The texts of the row of cells at toks[j] (the row under the labels'), each under the goal label whose
    cell (`at`) it falls in, and where the row ends; None where that row is no row of cells of texts alone."""
    if j >= len(toks) or toks[j].col < 0 or sorted(at) != at or toks[j].line == toks[j - 1].line:
        return None  # (texts on the labels' own line: rows a copy shifted, read in order)
    line, texts, last = toks[j].line, [None] * len(at), None
    while j < len(toks) and toks[j].line == line and toks[j].role in (None, "empty"):
        t = toks[j]
        if t.role is None:
            k = bisect.bisect_right(at, t.col) - 1
            if k < 0 or t.col < 0 or texts[k] is not None and t.col != last:
                return None
            texts[k] = t.text if texts[k] is None else texts[k] + t.text  # (a cell cut at a label it names)
            last = t.col
        j += 1
    return (j, texts) if any(texts) else None


def _leftovers(toks: list[Token], used: set[int]) -> list[Leftover]:
    """The form's tokens that no block read, one leftover per line (labels alone are not content);
    the 绩效指标 rows of a token-read form are among them until that block is read."""
    indicator_at = next((i for i, t in enumerate(toks) if t.role == "stop" and t.canonical == "indicator"),
                        len(toks))
    by_line: dict[int, list[str]] = {}
    where: dict[int, bool] = {}
    for i, t in enumerate(toks):
        if i in used or t.role is not None:
            continue
        by_line.setdefault(t.line, []).append(t.text)
        where[t.line] = where.get(t.line, False) or i > indicator_at
    return [Leftover(line, " ".join(texts)[:2000],
                     "绩效指标 block of a form read by tokens: its rows are not read yet" if where[line]
                     else "text in a form read by tokens that no block took")
            for line, texts in by_line.items()]


_GARBLED = re.compile(r"^[A-Za-z]{0,2}([\d.,%]{5,})")  # 'O76%107.6', '.32.06.579.27107.93': OCR lost digits


def _garbled_row(toks: list[Token], j: int, label: Token, columns: list[str], weight_default: float | None,
                 funding: list[FundingRow], used: set[int], form: Form) -> None:
    """A funding row whose figures were garbled (OCR lost digits and cell boundaries: '.32.06.579.27107.93'):
    only its 执行率 | 分值 | 得分 at the end are read, where one cut of the run's tail alone makes 得分 =
    分值 × 执行率; the amounts before them are not guessed (a leftover with the line)."""
    m = _GARBLED.match(toks[j].text)
    if m is None or "executed" not in columns:
        return
    tail_cols = columns[columns.index("executed") + 1:]
    if not {"exec_rate", "exec_score"} <= set(tail_cols):
        return
    run = m.group(1).replace(",", "")
    readings: dict[tuple, int] = {}
    for k in range(len(run)):
        if not run[k].isdigit() or not _GLUED.match(run[k:]):
            continue
        got = assign(tail_cols, [run[k:]], weight_default)
        if got is not None and got[1] and all(got[0].get(c) is not None for c in ("exec_rate", "exec_score")):
            readings.setdefault(tuple(got[0].items()), k)
    if len(readings) != 1:
        return
    (values, k), = readings.items()
    head = toks[j].text[:m.start(1) + k] + toks[j].text[m.end(1):]
    if head.strip():
        form.leftovers.append(Leftover(toks[j].line, head, "garbled funding figures before the confirmed 执行率 | "
                                       "分值 | 得分 (not guessed)"))
    row = dict.fromkeys(columns)
    row.update(dict(values))
    funding.append(FundingRow(label.text, label.canonical, label.line, row, True, [toks[j].text]))
    used.add(j)


def _lone_rate(toks: list[Token], used: set[int], values: dict, stop: int) -> float | None:
    """A rate printed away from its row (scrambled reading order), taken only when it is the one rate
    of the funding block that agrees with the row's executed / budget."""
    budget = values.get("budget_full_year") or values.get("budget_initial")
    executed = values.get("executed")
    if not budget or executed is None:
        return None
    own = executed / budget * 100
    fits = [i for i, t in enumerate(toks[:stop]) if i not in used and t.role is None and t.text.endswith("%")
            and _figure(t.text) is not None and abs(_figure(t.text) - own) <= 0.6]
    if len(fits) != 1:
        return None
    used.add(fits[0])
    return _figure(toks[fits[0]].text)


def _text(v: float | None) -> str | None:
    if v is None:
        return None
    return repr(round(v, 6))


# -- the 绩效指标 block --------------------------------------------------------------------------------

_UNIT = re.compile(r"^[^\d\s]{1,4}$")
_ROW_START = ("level1", "level2", "name")


def _header(toks: list[Token], used: set[int], after: int = 0) -> tuple[list[str], int] | None:
    """The indicator header from `after` on: its columns in order and the index after it. A two-row header
    (Yunnan: 年度指标值 split into 指标性质 | 指标值 | 度量单位 under it) is merged into one row of columns."""
    look = rules.headers("indicator").lookup
    start = next((i for i in range(after, len(toks)) if i not in used and toks[i].role != "empty"
                  and look(toks[i].text) in ("level1", "name")), None)
    if start is None:
        return None
    k = start - 1
    while k >= 0 and k not in used and (toks[k].role == "empty" or look(toks[k].text)):
        k -= 1  # the first row of a two-row header (empty cells between)
    start = k + 1
    cols, i = [], start
    while i < len(toks):
        if toks[i].role == "empty" or _NOTE.fullmatch(toks[i].text):  # a broken-off '(B)': the cell before's
            i += 1
            continue
        col = look(toks[i].text)
        if col is None and cols and i + 1 < len(toks) and look(toks[i + 1].text) and toks[i].role is None \
                and _CJK_PIECE.match(toks[i].text) and len(toks[i].text) <= 12:
            # a cell between two header cells that reads as none: its characters out of order (OCR), or a
            # column the rules do not know, which holds its place
            col = _garbled_header(toks[i].text) or "unknown"
        if col is None:
            break
        cols.append(col)
        used.add(i)
        i += 1
    if cols and cols[0] not in _ROW_START:
        p = next(k for k, c in enumerate(cols) if c in _ROW_START)
        row1, row2 = cols[:p], cols[p:]
        cols = row2 + [c for c in row1 if c not in row2 and c != "target"]
    cols = list(dict.fromkeys(cols))
    return (cols, i) if "name" in cols else None


@cache
def _garbled_header(text: str) -> str | None:
    """The indicator column a header cell names with its characters out of order ('年成值全完值' for
    全年完成值): the one spelling of headers.csv made of the same characters; None when none or several."""
    chars = set(key(text))
    hits = {r["canonical"] for r in rules.table("headers.csv") if r["table"] == "indicator"
            and len(k := key(r["synonym"].rstrip("*"))) >= 4 and set(k) == chars and len(text) <= len(k) + 2}
    return hits.pop() if len(hits) == 1 else None


def _placeholder(t: Token) -> bool:
    """An empty row of the template: '指标2' with nothing after it, '……'."""
    if t.role is not None:
        return False
    no, rest = split_indicator_no(t.text)
    return (no is not None or t.text == "指标") and not rest.strip(":： ") or is_filler(t.text)


def _ends_row(toks: list[Token], j: int) -> bool:
    """Whether the row ends before token j (a level, a label, a placeholder row or the end)."""
    return j >= len(toks) or toks[j].role not in (None, "empty", "funding_header") or _placeholder(toks[j]) \
        or level_cell(toks[j].text)[0] is not None


@cache
def _department_levels() -> frozenset[str]:
    """The 二级 names of the department template (department_labels.csv, field level2)."""
    return frozenset(key(r["synonym"]) for r in rules.table("department_labels.csv") if r["field"] == "level2")


def _points_fit(toks: list[Token], k: int, after_name: list[str]) -> bool:
    """Whether a row whose name is token k has figures where its 分值 and 得分 fall (the columns after the
    name in order, an empty cell the copy kept holding its place)."""
    at = _points_at(after_name, k + 1)
    return bool(at) and at[-1] < len(toks) and toks[k].role is None and _figure(toks[k].text) is None \
        and all(toks[a].role is None and _figure(toks[a].text) is not None for a in at)


def _points_at(after: list[str], start: int) -> list[int]:
    """Where a row's 分值 and 得分 fall: the columns after its name (`after`) counted from token `start`."""
    return [start + after.index(c) for c in ("weight", "score") if c in after]


def _level_words_as_cells(toks: list[Token], j: int, after: list[str], level2: str | None) -> None:
    """A row's cells after its name that spell its own 二级 level ('指标1:服务对象满意度 | 服务对象满意度 | 95%':
    the target repeats the level's words) are cells, where a figure follows them, or where the row's 分值 and
    得分 then fall on plain points ('… | 服务对象满意度 | 完成 | 10 | 10'); else they may be the next row's level."""
    k = _level_run(toks, j, len(after), level2)
    if k == j or k >= len(toks):
        return
    at = _points_at(after, j)
    if _figure(toks[k].text) is not None or "%" in toks[k].text or at and at[-1] < len(toks) \
            and all(toks[a].role is None and _points(toks[a].text) is not None for a in at):
        _as_cells(toks, j, k)


def _level_run(toks: list[Token], j: int, most: int, level2: str | None) -> int:
    """Where the run of at most `most` level tokens from j that spell the 二级 level `level2` ends."""
    k = j
    while k < len(toks) and k - j < most and toks[k].role == "level" and level2 is not None \
            and getattr(level_cell(toks[k].text)[0], "name", None) == level2:
        k += 1
    return k


def _as_cells(toks: list[Token], j: int, k: int) -> None:
    """Tokens j … k-1 are a row's cells, whatever label they spell."""
    for m in range(j, k):
        toks[m] = Token(toks[m].text, toks[m].line, "cell", None, toks[m].joined)


def _fits(col: str, t: Token) -> bool:
    if t.role == "empty":
        return True
    if t.role == "cell":
        return col not in ("weight", "score")
    if t.role not in (None, "funding_header") or level_cell(t.text)[0] is not None or _placeholder(t):
        return False
    if col in ("weight", "score"):
        return _figure(t.text) is not None
    if col in ("target", "actual") and _looks_like_a_row(t.text):
        return False  # a name with its figures run together is the next row, not this row's cell
    if col == "nature":
        return t.text in natures()
    if col == "measure_unit":  # a unit the rules know ('有效' is a qualitative value, not a unit), or 元/人
        return bool(_UNIT.match(t.text)) and t.text not in _DASH and (t.text in units() or "/" in t.text
                                                                     or not _CJK_PIECE.match(t.text))
    return True


def _indicators(toks: list[Token], used: set[int], form: Form) -> None:
    """Rows of the 绩效指标 block rebuilt from the header's columns and the cell types: a level name sets
    the level, a name opens a row, the tokens after it fill the row's columns in order when they fit
    (figures for 分值/得分, an operator for 指标性质, a short unit for 度量单位); an empty cell the copy
    kept holds its column. A row without a target, actual, weight or score is a placeholder. A form with
    several blocks (Hubei: 年度绩效目标1(40分), 年度绩效目标2(40分)) has a header before each."""
    at = 0
    while (found := _header(toks, used, at)) is not None:
        first, goal = len(form.indicators), _goal_label(toks, used, found, at)
        at = _indicator_block(toks, used, form, found)
        for ind in form.indicators[first:]:
            ind.goal = goal
        if at < len(toks) and _NOTE_START.match(toks[at].text):
            break  # the notes under the table: the header words they mention open no block
    if not form.indicators:
        _scattered_block(toks, used, form)
    mark_children(form.indicators)


_VALUE_COLUMNS = ("target", "actual", "weight", "score")


def _numbered_goal(toks: list[Token], i: int) -> bool:
    """Whether the label at i is a numbered 年度绩效目标N (by itself or with the piece after it)."""
    g = goal_block(toks[i].text)
    if g is not None and g[0] is None and i + 1 < len(toks) and toks[i + 1].role is None:
        g = goal_block(toks[i].text + toks[i + 1].text)
    return g is not None and g[0] is not None


def _goal_label(toks: list[Token], used: set[int], found: tuple[list[str], int], after: int) \
        -> tuple[int | None, float | None]:
    """The 年度绩效目标N(P分) label just before an indicator header (forms.goal_block): one token (a cell), or the
    label word cut out of run-on text and its '1(40分)' after it; its tokens are then read. (None, None)
    without one."""
    k = found[1] - 1
    while k > after and (k in used or toks[k].role == "empty"):
        k -= 1  # back over the header's cells to what precedes them
    for a in (k, k - 1):
        if a < max(after, 0):
            break
        g = goal_block("".join(t.text for t in toks[a:k + 1]))
        if g is not None:
            used.update(range(a, k + 1))
            return g
    return None, None


def _scattered_block(toks: list[Token], used: set[int], form: Form) -> None:
    """An indicator block whose header cells are scattered among its rows (a spreadsheet or PDF dump whose
    reading order is scrambled: '一级指标 … 年度 实际 指标值 完成值 指标1:… 二级指标 三级指标 … 分值 得分'): the
    cells the form prints, in its template's order (templates.csv indicator_columns). Only complete rows are
    read: a numbered or long name, then one value a column with 分值 and 得分 figures and 得分 ≤ 分值; values
    with no name right after a row say the order is off there, and neither is read."""
    look = rules.headers("indicator").lookup
    start = next((i for i, t in enumerate(toks) if t.role == "indicator_header" and look(t.text) in ("level1", "name")),
                 None)  # (a header that read as no header marked its cells used)
    if start is None:
        return
    end = next((k for k in range(start, len(toks)) if toks[k].role in ("total", "score_total", "title", "field")),
               len(toks))
    header = {k for k in range(start, end) if toks[k].role in ("indicator_header", "funding_header")
              and look(toks[k].text) is not None}
    present = {look(toks[k].text) for k in header}
    if "name" not in present or len(present & set(_VALUE_COLUMNS)) < 3:
        return
    template = next((t for t in templates() if t["template"] == form.template), templates()[-1])
    cols = [c for c in template["indicator_columns"].split("|") if c in present and c in _VALUE_COLUMNS]
    rows: list[tuple[int, int, dict]] = []  # (name index, end index, fields)
    k = start
    while k < end:
        t = toks[k]
        if k in used or k in header or not _scattered_name(t):
            k += 1
            continue
        vals, j = [], k + 1
        while j < end and len(vals) < len(cols) and (j in header or _scattered_value(toks[j])):
            if j not in header:
                vals.append(j)
            j += 1
        fields = dict(zip(cols, (toks[v].text for v in vals), strict=False))
        w, sc = _figure(fields.get("weight", "")), _figure(fields.get("score", ""))
        complete = len(vals) == len(cols) and ("weight" not in cols or w is not None) \
            and ("score" not in cols or sc is not None) and (w is None or sc is None or sc <= w)
        after, m = 0, j
        while m < end and (m in header or _scattered_value(toks[m])):
            after += m not in header
            m += 1
        if complete and after < len(cols):
            rows.append((k, j, fields))
        k = j
    for k, j, fields in rows:
        no, name = split_indicator_no(toks[k].text)
        form.indicators.append(Indicator(toks[k].line, toks[j - 1].line, None, None, None, None, no,
                                         name or toks[k].text, fields))
        used.update(x for x in range(k, j))
    if not rows and not _column_dump(toks, used, form, header, start, end, cols):
        return
    used.update(header)


def _column_dump(toks: list[Token], used: set[int], form: Form, header: set[int], start: int, end: int,
                 cols: list[str]) -> bool:
    """A PDF dump that prints the value columns of every row first and the names after them ('=100% 100% 10
    10 =100% 100% 20 20 … 100 98.62 率 … 合同结算条款完成率 费用结算及时性 …'): the values are cut into rows of
    the header's columns and given to the names in order, only where there are as many names as rows and the
    rows' 分值 and 得分 with the execution row's add up to the 总分 printed after them. A one-character
    fragment ('率') ends the name before it (a name broken over two lines); levels cannot be placed."""
    if not {"weight", "score"} <= set(cols):
        return False
    region = [k for k in range(start, end) if k not in used and k not in header and toks[k].role is None]
    vals = [k for k in region if _scattered_value(toks[k]) and len(toks[k].text) > 1]
    run: list[int] = []  # the longest stretch of values, header cells and levels between them aside
    for k in vals:
        if run and any(toks[x].role is None and x not in vals and x not in header for x in range(run[-1] + 1, k)):
            if len(run) >= 2 * len(cols):
                break
            run = []
        run.append(k)
    n = len(cols)
    if len(run) < 2 * n or (len(run) - 2) % n:
        return False
    groups = [dict(zip(cols, (toks[k].text for k in run[g:g + n]), strict=True)) for g in range(0, len(run) - 2, n)]
    total_w, total_s = (_figure(toks[k].text) for k in run[-2:])
    names: list[list[int]] = []
    for k in range(start, end):
        t = toks[k]
        if k in run or k in header or k in used:
            continue
        if t.role is None and not _is_value(t) and _CJK_PIECE.match(t.text[:1] or "-"):
            if len(t.text) == 1 and names:
                names[-1].append(k)
            else:
                names.append([k])
        elif t.role == "level" and len(t.text) <= 3 and names and names[-1][-1] == k - 1:
            names[-1].append(k)  # '场馆开放' '满意度': a short level word cut out of the name's end
    if len(names) != len(groups) or total_w is None or total_s is None:
        return False
    ws = [_figure(g["weight"]) for g in groups]
    ss = [_figure(g["score"]) for g in groups]
    total = next((r for r in form.funding if r["fund_source"] == "total"), {})
    ew, es = (float(total[c]) if total.get(c) is not None else 0.0 for c in ("exec_weight", "exec_score"))
    if None in ws or None in ss or any(sc > w for sc, w in zip(ss, ws, strict=True)) \
            or abs(sum(ws) + ew - total_w) > 0.01 or abs(sum(ss) + es - total_s) > 0.051:
        return False
    for name, fields in zip(names, groups, strict=True):
        text = "".join(toks[k].text for k in name)
        no, clean_name = split_indicator_no(text)
        form.indicators.append(Indicator(toks[name[0]].line, toks[name[-1]].line, None, None, None, None, no,
                                         clean_name or text, fields))
        used.update(name)
    used.update(run)
    form.total_weight, form.total_score, form.total_line = total_w, total_s, toks[run[-1]].line
    return True


def _scattered_name(t: Token) -> bool:
    """A row's name in a scrambled dump: numbered ('指标6:举办健康教育宣传咨询活动'), or a text of five
    characters or more that is no figure."""
    if t.role is not None or _is_value(t) or _atom().fullmatch(t.text):
        return False
    no, rest = split_indicator_no(t.text)
    return bool(rest) and (no is not None or len(rest) >= 5 and _CJK_PIECE.match(rest[:1]) is not None)


def _scattered_value(t: Token) -> bool:
    """A cell of a row in a scrambled dump: a figure, a figure with its operator and unit, or a short text."""
    return t.role is None and not _scattered_name(t) and (_is_value(t) or bool(_atom().fullmatch(t.text))
                                                         or len(t.text) <= 4)


def _typed_run(toks: list[Token], i: int, after_name: list[str], by_line: bool,
               phrases: tuple[str, ...] = ()) -> tuple[list, list[str], int] | None:
    """The rows of the run-on text from token i on (the pieces a label cut out of it joined again: '政府采购'
    '执行率' '%100%…'), read by the column types (typed_rows); with the index after the run. None when the
    text is no run of rows, or a row of it does not read."""
    j = i + 1
    while j < len(toks) and toks[j].joined and (toks[j].role in (None, "funding_header") or toks[j].role in (
            "stop", "funding_row", "level") and toks[j].canonical != "indicator" and j + 1 < len(toks)
            and toks[j + 1].joined and toks[j + 1].role is None
            and (toks[j].role != "level" or re.match(r"[\d≥≤=<>]", toks[j + 1].text)
                 or toks[j + 1].text.startswith(_nature_words()))):
        # a label inside a row's name ('项目资金' of 项目资金拨付及时率) is part of the name, and so is a level word
        # with the row's figures straight after it ('…户满意度10≥95%'): a level is followed by a name
        j += 1
    text = "".join(t.text for t in toks[i:j])
    points = "weight" in after_name or "score" in after_name
    if len(text) < 8 or not points and (by_line or not {"target", "actual"} <= set(after_name)):
        return None  # without 分值 or 得分 to confirm a reading, only a document whose rows are no lines
    got = typed_rows(text, after_name, phrases)
    if got is None:
        return None
    return got[0], got[1], j


def _indicator_block(toks: list[Token], used: set[int], form: Form, found: tuple[list[str], int]) -> int:
    """The rows under one indicator header; returns the index where the block ends."""
    cols, i = found
    after_name = cols[cols.index("name") + 1:]
    header_lines = Counter(t.line for t in toks[max(0, i - len(cols) - 4):i] if t.role != "empty")
    line, most = header_lines.most_common(1)[0] if header_lines else (None, 0)
    # the header printed on a line of its own: a row is a line (not so in a document that is one line)
    by_line = most >= 4 and sum(1 for t in toks if t.line == line) <= most + 4
    level1 = level2 = level2_at = None
    level1_weight = level1_line = None
    n = len(toks)
    block_end = next((k for k in range(i, n) if toks[k].role in ("total", "score_total", "title", "field")), n)
    # the department template (部门（单位）整体绩效自评表: 二级 工作目标, 预算配置 …), not a department form in the
    # project layout (数量指标 …)
    department = form.kind == "department" and any(
        key(t.text) in _department_levels() and level_cell(t.text)[0] is None for t in toks[i:block_end])
    points = "weight" in after_name or "score" in after_name
    header_cells = _indicator_header_cells(toks, i) if by_line else None
    if header_cells is not None:  # the block's label in the header's row, cut short ('绩效指'): the header's
        block = rules.headers("form").lookup
        k = i - 1
        while k >= 0 and toks[k].line == toks[i - 1].line:
            if k not in used and toks[k].role is None and block(key(toks[k].text)) == "indicator_block":
                used.add(k)
            k -= 1
    phrases = () if by_line else _repeated_phrases([a for t in toks[i:block_end] if t.role is None
                                                    for a in _after_figures(t.text)])
    while i < n:
        t = toks[i]
        if t.role in ("stop", None) and form.indicators and _numbered_goal(toks, i):
            break  # the next goal's block (年度绩效目标2(40分)): its own header follows
        if t.role == "stop" and t.canonical == "indicator" and form.indicators:
            used.add(i)  # the block's own label printed again (a page break in a run-on copy)
            i += 1
            continue
        if t.role in ("total", "score_total", "stop", "field", "title") or _NOTE_START.match(t.text):
            break  # (the notes under a table with no total row: '注:1.自评采用打分评价的形式…')
        if t.role == "empty" or i in used:
            i += 1
            continue
        if department and t.role in (None, "level") and key(t.text) in _department_levels():
            level2, level2_at = t.text, i  # the department template's own 二级 names: 工作目标, 预算配置 …
            used.add(i)
            i += 1
            continue
        level, weight = level_cell(t.text)
        if department and level is not None and level.tier == 2:
            level = None  # a project form's 二级 word is an indicator's name here ('可持续影响')
            toks[i] = t = Token(t.text, t.line, "cell", None, t.joined)
        if level is not None and level.tier == 2 and level.name == level2 and level2_at is not None \
                and all(toks[k].role == "empty" for k in range(level2_at + 1, i)):
            # the level's own words printed again after it ('服务对象满意度指标 | 服务对象满意度 | 服务对象满意度 |
            # 95%'): a row has one 二级 cell, so these are its name (and a target that repeats it)
            _as_cells(toks, i, _level_run(toks, i, len(after_name), level2))
            t, level = toks[i], None
        if level is not None:
            if level.tier == 1 and (level.name != level1 or weight is not None or level1_weight is None):
                level1, level2, level1_weight, level1_line = level.name, None, weight, t.line
            elif level.tier == 1:  # the level printed again on its next row: its points stay those printed first
                level2 = None
            else:
                level2, level2_at = level.name, i
                if level.parent and level.parent != level1:
                    level1, level1_weight, level1_line = level.parent, None, None
            used.add(i)
            i += 1
            continue
        if weight is not None and not level_cell(t.text)[0] and t.text.startswith("("):  # '(50分)' alone
            level1_weight = weight
            used.add(i)
            i += 1
            continue
        if _figure(t.text) is not None or _atom().fullmatch(t.text):  # a figure ('≥5个') where a name should
            i += 1  # be: not ours to guess
            continue
        if t.role not in (None, "funding_header", "cell") or _NOTE.fullmatch(t.text):
            i += 1  # a header word in running text, or a header's broken-off '(B)', never names a row
            continue
        if header_cells is not None and t.col >= 0 and t.role is None \
                and (read := _indicator_cells_row(toks, i, header_cells, form, (level1, level1_weight, level1_line,
                                                                               level2))) is not None:
            used.update(range(i, read))  # a row of cells under a header of cells: read as the row reader reads it
            i = read
            continue
        if _placeholder(t):  # consumed as an empty row of the template (counted on the form)
            form.placeholders.append(t.line)
            used.add(i)
            i += 1
            continue
        # rows ended by a value the block repeats are read by it first (the row-by-row cut would give that
        # value and the next name to one cell)
        typed = _typed_run(toks, i, after_name, by_line, phrases) if phrases and not points else None
        glued = _run_on_rows(t.text, after_name) if typed is None and not by_line and _ends_row(toks, i + 1) \
            else None
        if typed is None and glued is None:
            typed = _typed_run(toks, i, after_name, by_line, phrases)
        if typed is not None:  # rows run together, cut by labels found in them: read by the column types
            rows, tail, j = typed
            for name_text, fields in rows:
                no, name = split_indicator_no(name_text)
                form.indicators.append(Indicator(t.line, toks[j - 1].line, level1, level1_weight, level1_line,
                                                 level2, no, name or name_text, fields))
            for text in tail:
                form.leftovers.append(Leftover(toks[j - 1].line, text, "indicator row with no figure after its "
                                               "name (cut short, or qualitative only): left unread"))
            used.update(range(i, j))
            i = j
            continue
        if glued:  # a whole row (or several) run together in one piece: '监测数据必须合格100%100%10'
            for name_text, fields in glued:
                no, name = split_indicator_no(name_text)
                form.indicators.append(Indicator(t.line, t.line, level1, level1_weight, level1_line, level2,
                                                 no, name or name_text, fields))
            used.add(i)
            i += 1
            continue
        if not by_line and re.search(r"[\u4e00-\u9fff]\d[\d.]*$", t.text):
            i += 1  # a name with figures run into it that no reading confirms: the tokens after it are not its
            continue  # cells (it stays a leftover with its line)
        start, fields, j = i, {}, i + 1
        name_text = t.text
        if j + 1 < n and toks[j].role == "level" and len(toks[j].text) <= 3 and after_name \
                and _fits(after_name[0], toks[j + 1]) and toks[j + 1].role != "empty":
            name_text += toks[j].text  # '指标1学生' / '满意度': a short level word ending a name broken over cells
            j += 1
        row = [u for u in toks[j:j + len(after_name)] if u.line == t.line] if by_line else []
        if by_line and 0 < len(row) <= 2 and all(_figure(u.text) is not None for u in row) \
                and len(row) < len(after_name) and {"weight", "score"} <= set(after_name):
            # 'name 10 10' on a line of its own: the figures are its 分值 and 得分, its values were not printed
            for col, u in zip(["weight", "score"][2 - len(row):], row, strict=True):
                fields[col] = u.text
            j += len(row)
            after = []
        else:
            after = after_name
            _level_words_as_cells(toks, j, after, level2)
        for col in after:
            if col == "method" and j < n and _figure(toks[j].text) is None and toks[j].role != "empty":
                # 得分计算方法: prose over several pieces (the labels it mentions cut it), up to the 得分
                parts = []
                while j < n and _figure(toks[j].text) is None and level_cell(toks[j].text)[0] is None \
                        and toks[j].role not in ("total", "score_total", "title", "field", "empty") and len(parts) < 40:
                    parts.append(toks[j].text)
                    j += 1
                fields[col] = "".join(parts)
                continue
            if col == "method" and j < n and _figure(toks[j].text) is not None:
                continue  # the method cell merged with the row above: the figure is the 得分
            if col in ("weight", "score") and start + 1 < j < n - 1 and toks[j].role is None \
                    and toks[j].text == toks[j - 1].text and _figure(toks[j].text) is None \
                    and _figure(toks[j + 1].text) is not None:
                j += 1  # a text cell printed twice, the row shifted by one ('完成 | 完成 | 10 | 10'): one cell
            if j >= n or not _fits(col, toks[j]):
                continue
            if by_line and toks[j].line != t.line:
                break  # one row a line: the row ends with its line
            if col == "note" and not by_line and toks[j].role is None and toks[j].text not in _DASH \
                    and not _ends_row(toks, j + 1) \
                    and not (_points_fit(toks, j + 1, after_name) and not _points_fit(toks, j, after_name)):
                # text that may be the next row's name: a note only where the row ends with it, or where the
                # next row's 分值 and 得分 fall on figures after it and would not with it as that row's name
                continue
            if toks[j].role != "empty":
                fields[col] = toks[j].text
            j += 1
        if not any(fields.get(c) for c in ("target", "actual", "weight", "score")) or fields.get("target") == "/" \
                and fields.get("actual") == "/" and not fields.get("weight"):
            i += 1  # a name alone (指标2, ……): a placeholder, left for the leftovers
            continue
        no, name = split_indicator_no(name_text)
        form.indicators.append(Indicator(t.line, toks[j - 1].line, level1, level1_weight, level1_line, level2,
                                         no, name or name_text, fields))
        used.update(range(start, j))
        i = j
    return i


def _indicator_header_cells(toks: list[Token], end: int) -> tuple | None:
    """The value columns of an indicator header that is one row of cells ending before toks[end]: (kinds,
    their cells, the name's cell), as the row reader takes them (forms.value_columns); None for a header
    without cells, or over two rows other than a column split in two (forms.merge_sub_header)."""
    if not end or toks[end - 1].col < 0:
        return None
    look, line = rules.headers("indicator").lookup, toks[end - 1].line

    def row_kinds(k: int, stop: int) -> dict[str, int]:
        kinds: dict[str, int] = {}
        for t in toks[k:stop]:
            kind = look(t.text) if t.role != "empty" else None
            if kind is not None and t.col >= 0:
                kinds.setdefault(kind, t.col)
        return kinds

    k = end
    while k > 0 and toks[k - 1].line == line:
        k -= 1
    kinds = row_kinds(k, end)
    if k and toks[k - 1].role in ("indicator_header", "level") and look(toks[k - 1].text):
        # the header's first row is on the line before: its second row splits one of its columns (云南:
        # 指标性质 | 指标值 | 度量单位 under 年度指标值), as forms.merge_sub_header reads it; other two rows are
        # not read by cells
        first = k
        while first > 0 and toks[first - 1].line == toks[k - 1].line:
            first -= 1
        top = row_kinds(first, k)
        if not top or len(kinds) < 2 or kinds.keys() & {"level1", "level2", "name"} or toks[first].col < 0:
            return None
        kinds = dict(merge_sub_header(tuple(sorted(top.items(), key=lambda kv: kv[1])),
                                      tuple(sorted(kinds.items(), key=lambda kv: kv[1]))))
    if "name" not in kinds or len(kinds) < 4:
        return None
    return value_columns(tuple(sorted(kinds.items(), key=lambda kv: kv[1])))


_LONGEST_NAME = 100  # characters of an indicator's name, target or actual read by cells, at most


def _indicator_cells_row(toks: list[Token], i: int, header_cells: tuple, form: Form, levels: tuple) -> int | None:
    """The indicator row of cells whose name is toks[i], read by its cells' places under the header (the row
    reader's forms.parse_indicator_cells): appended to the form, its extra cells leftovers; returns where the
    row ends, or None where the row is no such row (a lone cell, a name that is no text, a label in it)."""
    line, j, at = toks[i].line, i, {}
    while j < len(toks) and toks[j].line == line and toks[j].col >= 0:
        u = toks[j]
        if u.role in ("total", "score_total", "title", "field", "stop", "indicator_header", "funding_row"):
            return None
        if u.role != "empty":
            at[u.col] = at.get(u.col, "") + u.text  # (the pieces of a cell cut at a label it names)
        j += 1
    if not at:
        return None
    cells = [""] * (max(at) + 1)
    for col, text in at.items():
        cells[col] = text
    got = parse_indicator_cells(tuple(cells), *header_cells)
    if got.lone and len(at) == 1 and form.indicators and form.indicators[-1].positions \
            and form.indicators[-1].line_end < line and len(got.c0) <= 8:
        # a short cell alone under a row read by cells: the rest of one of its cells ('劳务派遣人员' / '数')
        return j if continue_indicator(form.indicators[-1], got.p0, got.c0, line) else None
    if got.empty or got.lone or got.levels or got.name is None and got.no is None or len(got.name or "") > \
            _LONGEST_NAME or any(len(v) > _LONGEST_NAME for c, v in got.fields.items() if c not in ("method", "note")):
        return None  # (a paragraph in a cell is no indicator's name, target or actual: text with '|' in it)
    if got.template:  # only template text (a scoring method) on a blank "指标1:" row
        form.placeholders.append(line)
        return j
    level1, level1_weight, level1_line, level2 = levels
    form.indicators.append(Indicator(line, line, level1, level1_weight, level1_line, level2, got.no, got.name,
                                     got.fields, got.positions, got.content))
    form.leftovers.extend(Leftover(line, text, "extra cell in an indicator row") for text in got.extras)
    return j


# -- docs/templates.md ---------------------------------------------------------------------------------

_COLUMN_ZH = {"budget_initial": "年初预算数", "budget_full_year": "全年预算数", "executed": "全年执行数",
              "exec_weight": "分值", "exec_rate": "执行率", "exec_score": "得分", "method": "得分计算方法"}


_INDICATOR_ZH = {"nature": "指标性质", "target": "年度指标值", "measure_unit": "度量单位", "actual": "实际完成值",
                 "weight": "分值", "score": "得分", "note": "偏差原因", "method": "得分计算方法"}


def templates_markdown() -> str:
    """docs/templates.md: the templates the token reader knows and the labels it reads, from the rules."""
    out = ["# 模板 / Templates", "",
           "Generated from `perfdata/rules/templates.csv`, `form_labels.csv`, `headers.csv`, `funding_rows.csv` and "
           "`funding_rows_grid.csv` "
           "by `perfdata.tables.engine.templates_markdown()`; a test fails when the two differ.", "",
           "A form is read as the template whose title and header markers match best (recorded in "
           "`forms.template`). The funding columns are the form's own header cells where they can be read; the "
           "template's order below is used only when they cannot (a scrambled or cut header). The indicator "
           "columns are likewise the form's own header cells; the template's order after 三级指标 is used only "
           "for a header whose cells are scattered among its rows (a scrambled dump), and only for the cells "
           "the form prints.", "",
           "| template | family | title | markers | funding columns | 执行率分值 | levels | indicator columns |",
           "|---|---|---|---|---|---|---|---|"]
    for t in templates():
        cols = " · ".join(_COLUMN_ZH.get(c, c) for c in t["funding_columns"].split("|"))
        markers = " · ".join(t["markers"].split("|")) if t["markers"] else "—"
        ind = " · ".join(_INDICATOR_ZH.get(c, c) for c in t["indicator_columns"].split("|"))
        out.append(f"| `{t['template']}` | {t['family']} | {t['title']} | {markers} | {cols} | "
                   f"{t['exec_weight']} | {t['levels']} | {ind} |")
    out += ["", "## Labels", "", "| role | field | spellings |", "|---|---|---|"]
    groups: dict[tuple[str, str], list[str]] = {}
    for r in rules.table("headers.csv"):
        if r["table"] == "form" and r["canonical"] in _FIELDS and not r["synonym"].endswith("*"):
            groups.setdefault(("field", r["canonical"]), []).append(r["synonym"])
    for r in rules.table("form_labels.csv"):
        groups.setdefault((r["role"], r["canonical"]), []).append(r["synonym"])
    for r in rules.table("headers.csv"):
        if r["table"] in ("funding", "funding_grid", "goal", "indicator", "indicator_grid", "block"):
            groups.setdefault((f"{r['table']} header", r["canonical"]), []).append(r["synonym"])
    for r in [*rules.table("funding_rows.csv"), *rules.table("funding_rows_grid.csv")]:
        groups.setdefault(("funding row", r["fund_source"]), []).append(r["synonym"])
    for (role, field), spellings in groups.items():
        out.append(f"| {role} | `{field}` | {' · '.join(spellings)} |")
    out += ["", "## Adding a template", "",
            "1. Add a row to `perfdata/rules/templates.csv`: its title, the header cells that mark it (all must be "
            "present), the funding column order, the 分值 of the execution row when the form prints none, and how "
            "its levels are printed.",
            "2. Add the spellings it uses that the tables above lack: header cells to `headers.csv`, funding row "
            "labels to `funding_rows.csv`, header fields to `headers.csv` (table form: the row reader reads them "
            "too), other field and stop labels to `form_labels.csv`, level names to `levels.csv`, "
            "指标性质 words to `natures.csv`, units printed after a figure to `units.csv`. A word that also occurs "
            "in running text (评价内容, 备注, 中央补助资金 at the end of a project name) goes where only a grid is "
            "read: `headers.csv` tables `indicator_grid` / `funding_grid`, `funding_rows_grid.csv`.",
            "3. Regenerate this page: `python -c \"from perfdata.tables import engine; "
            "print(engine.templates_markdown(), end='')\" > docs/templates.md`.",
            "4. The generated test (`tests/test_engine.py::test_every_template_reads_in_every_serialisation`) "
            "reads a form of every template row in every serialisation; add a real form of the template to the "
            "tests when you have one, and check the bundled documents still read the same "
            "(`python benchmarks/snapshot.py check data/raw SNAP`).", ""]
    return "\n".join(out)


# -- 汇总表 in a token stream: its rows rebuilt for the one summary reader (tables/summary.py) -------------


def _summary_column(text: str) -> str | None:
    """The summary_rows column a header cell names: the row reader's lookup (tables/summary.py), on the
    label as the token reader spells it (bracketed notes dropped)."""
    return summary.columns().map.lookup(_label_key(text))


_SUMMARY_FIGURES = frozenset(summary.MONEY + summary.RATES + ("total_score",))


def read_summaries(toks: list[Token]) -> list[summary.SummaryTable]:
    """Summary tables (序号 | 责任部门 | 项目名称 | 预算数 | 执行数 | 执行率 …) in a token stream: a header led by
    序号 with a 项目名称 and two figure columns or more. Its rows are rebuilt as a grid, one cell a header
    column (a row: its 序号 or 合计, its text cells, then one figure a figure column), and read by the one
    summary reader (tables/summary.py), as a table printed in rows is."""
    out = []
    i = 0
    while i < len(toks):
        if _summary_column(toks[i].text) != "seq":
            i += 1
            continue
        cols, heads, j = [], [], i
        while j < len(toks):
            if j + 1 < len(toks) and toks[j + 1].joined and (col := _summary_column(toks[j].text + toks[j + 1].text)):
                cols.append(col)  # a header cell that holds a level word, cut in two ('产出指标' '得分率')
                heads.append(_label_key(toks[j].text + toks[j + 1].text))
                j += 2
                continue
            if (col := _summary_column(toks[j].text)) is None:
                if cols and j > i and _CHINESE.fullmatch(toks[j].text) \
                        and _summary_column(toks[j - 1].text + toks[j].text) == cols[-1]:
                    heads[-1] = _label_key(toks[j - 1].text + toks[j].text)
                    j += 1  # the rest of the cell before, cut at its space ('产出指标 得分率', a copy onto one line)
                    continue
                break
            cols.append(col)
            heads.append(_label_key(toks[j].text))
            j += 1
        figures = [c for c in cols if c in _SUMMARY_FIGURES]
        if "project_name" not in cols or len(figures) < 2:
            i = j
            continue
        title = next((t for t in reversed(toks[max(0, i - 12):i]) if "表" in t.text or "明细" in t.text), None)
        grid = [Row(toks[i].line, heads, " ".join(heads), toks[j - 1].line)]
        j, cut = _summary_grid(toks, j, cols, figures, grid)
        t = summary.read_table(grid, 0, len(grid))
        if t.rows:
            above = _summary_above(toks, i)
            t.line = title.line if title is not None else toks[i].line  # (the title's line, as the row reader)
            t.title = title.text if title is not None else None
            t.unit, t.summary_date = above.get("unit"), above.get("summary_date")
            t.factor = above.get("factor", 1.0)
            t.consumed += [title.line] if title is not None else []
            if cut is not None:
                t.leftovers.append(cut)
            out.append(t)
        i = j
    return out


def _summary_grid(toks: list[Token], j: int, cols: list[str], figures: list[str], grid: list[Row]) \
        -> tuple[int, tuple[int, str, str] | None]:
    """The rows of a summary table from toks[j] on, each rebuilt one cell a header column, appended to
    `grid`: where they end, and the row cut short (the excerpt ends) as a leftover, else None."""
    width = len(cols)
    at = {c: k for k, c in enumerate(cols)}
    item = 0  # the last item's 序号: the next row's is one more
    while j < len(toks):
        t = toks[j]
        if t.text.rstrip("、.").isdigit():
            item = int(t.text.rstrip("、."))
        total = t.role in ("total", "score_total") and _label_key(t.text) in ("合计", "总计")
        if not (summary.SEQ.match(t.text) or total):
            break
        texts, k = [], j + 1
        while k < len(toks) and toks[k].role in (None, "field") and not _is_value(toks[k]) and len(texts) < 3:
            texts.append(toks[k].text)
            k += 1
        vals = []
        while k < len(toks) and _is_value(toks[k]) and len(vals) < len(figures) and not (
                len(vals) >= 2 and _summary_row_starts(toks, k, item + 1)):  # ('1' '学工处': the next row's)
            vals.append(toks[k].text)
            k += 1
        if len(vals) < len(figures) and not (len(vals) >= 2 and _summary_row_starts(toks, k, item + 1)):
            # cut short (the excerpt ends), or not a row: left with its line; a row whose last cells are blank
            # (dropped in copying) ends where the next row starts
            return k, (t.line, " ".join([t.text, *texts, *vals]), "summary row without all its figures")
        cells = [""] * width
        cells[at.get("seq", 0)] = t.text
        if "responsible" in at and len(texts) >= 2:
            cells[at["responsible"]], texts = texts[0], texts[1:]
        cells[at["project_name"]] = "".join(texts)  # (a name cut at its spaces, in a copy onto one line)
        for col, v in zip(figures, vals, strict=False):  # (last cells blank: the first figure columns)
            cells[at[col]] = v
        grid.append(Row(t.line, cells, " ".join(x for x in cells if x), toks[k - 1].line))
        j = k
    return j, None


def _summary_row_starts(toks: list[Token], k: int, expect: int) -> bool:
    """Whether toks[k] starts a summary row: 合计, a group's 一 / (一), or the 序号 `expect` (the last item's
    plus one), followed by its text (a figure never is: the texts of a row come before its figures)."""
    if k >= len(toks):
        return False
    t = toks[k]
    if t.role in ("total", "score_total") and _label_key(t.text) in ("合计", "总计"):
        return True
    label = t.text.rstrip("、.")
    return bool(summary.SEQ.match(t.text)) and (not label.isdigit() or int(label) == expect) \
        and k + 1 < len(toks) and not _is_value(toks[k + 1]) and not summary.SEQ.match(toks[k + 1].text)


_CHINESE = re.compile(r"[\u4e00-\u9fff]+")


def _summary_above(toks: list[Token], i: int) -> dict:
    """What a summary table prints above its header (toks[i]), as the row reader reads it (tables/summary.py):
    the unit and the 汇总时间 after their labels (rules/summary_labels.csv), and the money unit ('单位:万元',
    its factor to 万元). Only the tokens between the table's title (or the 12 before the header) and it."""
    out: dict = {}
    start = max(0, i - 12)
    for k in range(i - 1, start - 1, -1):
        if "汇总表" in toks[k].text or "明细" in toks[k].text:
            start = k + 1
            break
    for k in range(start, i):
        t = toks[k]
        money = summary.MONEY_UNIT.match(key(t.text))
        if money:
            out["factor"] = summary.MONEY_FACTOR[money.group(1)]
            continue
        field = summary.columns().label(t.text)
        if field in ("unit", "summary_date") and field not in out:
            j = _after_merged(toks, k)
            if j < i and toks[j].role is None and (toks[j].line == t.line or t.col < 0) \
                    and not summary.columns().label(toks[j].text):  # (the next cell: the next line, in a copy)
                out[field] = toks[j].text
    return out


# -- 评价指标表 / 评分表: a department's scoring rubric -------------------------------------------------

_POINTS = re.compile(r"^(.{1,12}?)\((\d+(?:\.\d+)?)分\)$")  # '规划(15分)', '基础信息(3分)'


def read_rubrics(toks: list[Token], last_line: int) -> list[Form]:
    """Scoring rubrics (序号 | 一级指标(分) | 二级指标(分) | 三级指标 | 指标分值 | 指标解释 | 评分标准 | 自评得分)
    as department forms whose indicators are the rubric's rows: a row opens at the next 序号 once the row
    before has its name and 分值, levels are the cells printed with their points ('规划(15分)'), the first
    figure after the name is its 分值, the last before the next row its 自评得分, the text between them
    the 指标解释 and 评分标准."""
    look = rules.headers("indicator").lookup
    out = []
    for at, t in enumerate(toks):
        if t.role != "title" or title_kind(t.text) != "rubric":
            continue
        header = [k for k in range(at + 1, min(at + 30, len(toks))) if _label_key(toks[k].text) == "序号"]
        if not header:
            continue
        j = header[0] + 1
        cols = []
        while j < len(toks) and (look(toks[j].text) or _label_key(toks[j].text) in ("指标分值", "指标解释",
                                                                                       "指标说明及", "自评得分")):
            cols.append(_label_key(toks[j].text))
            j += 1
        if not any(c in ("三级指标", "指标名称") for c in cols):
            continue
        form = Form(line_start=t.line, title=t.text, layout="tokens", template="rubric", kind="department")
        form.year = int(m.group(1)) if (m := _YEAR.search(t.text)) else None
        unit_at = next((k for k in range(at + 1, header[0]) if _label_key(toks[k].text) in ("单位", "单位名称")), None)
        if unit_at is not None and unit_at + 1 < header[0] and toks[unit_at + 1].role is None:
            form.department = toks[unit_at + 1].text
        rows: list[list[Token]] = []
        expect = 1
        while j < len(toks) and toks[j].role not in ("title", "total", "score_total"):
            u = toks[j]
            nxt = toks[j + 1] if j + 1 < len(toks) else None
            opens = u.text.rstrip("、.") == str(expect) and nxt is not None and _figure(nxt.text) is None \
                and nxt.role not in ("total", "score_total", "title")  # (the score before 合计 is no 序号)
            if opens and (not rows or _has_weight(rows[-1])):
                rows.append([u])
                expect += 1
            elif rows:
                rows[-1].append(u)
            j += 1
        level1 = level2 = None
        level1_weight = level1_line = None
        for r in rows:
            body = [x for x in r[1:] if x.role != "empty"]
            levels = []
            while body and (m := _POINTS.match(body[0].text)) and len(levels) < 2:
                levels.append((m.group(1), float(m.group(2)), body[0].line))
                body = body[1:]
            if len(levels) == 2 or levels and level1 is None:
                level1, level1_weight, level1_line = levels[0]
                level2 = levels[1][0] if len(levels) == 2 else None
            elif levels:
                level2 = levels[0][0]
            figures = [k for k, x in enumerate(body) if _figure(x.text) is not None]
            if not body or not figures or figures[0] == 0:
                form.leftovers.append(Leftover(r[0].line, " ".join(x.text for x in r), "rubric row without its "
                                               "name and 分值"))
                continue
            name = "".join(x.text for x in body[:figures[0]])
            weight = body[figures[0]].text
            score = body[figures[-1]].text if len(figures) > 1 else None
            text_end = figures[-1] if len(figures) > 1 else len(body)
            method = "".join(x.text for x in body[figures[0] + 1:text_end]) or None
            fields = {"weight": weight, "method": method}
            if score is not None:
                fields["score"] = score
            form.indicators.append(Indicator(r[0].line, r[-1].line, level1, level1_weight, level1_line, level2,
                                             int(r[0].text.rstrip("、.")), name, fields))
        if j < len(toks) and toks[j].role == "total" and form.indicators:
            j = _rubric_total(toks, j, form)
        form.line_end = toks[j - 1].line if j > at else t.line
        form.complete = j < len(toks)
        if not form.complete:
            form.stop_reason = "end of file"
        if form.indicators:
            out.append(form)
    return out


def _rubric_total(toks: list[Token], j: int, form: Form) -> int:
    """The rubric's 合计 row at j: its 指标分值 and 自评得分 in that order; a lone figure is the score, unless it is
    the rows' 分值 added up and not their scores'. Returns the index after the row."""
    k, figures = j + 1, []
    while k < len(toks) and len(figures) < 2 and (toks[k].role == "empty" or _figure(toks[k].text) is not None):
        if toks[k].role != "empty":
            figures.append(_figure(toks[k].text))
        k += 1
    if len(figures) == 2:
        form.total_weight, form.total_score = figures
    elif figures:
        weights = sum(to_number(i.fields.get("weight")) or 0 for i in form.indicators)
        scores = sum(to_number(i.fields.get("score")) or 0 for i in form.indicators)
        if abs(figures[0] - weights) < 0.005 and abs(figures[0] - scores) >= 0.005:
            form.total_weight = figures[0]
        else:
            form.total_score = figures[0]
    form.total_line = toks[j].line
    return k


def _has_weight(row: list[Token]) -> bool:
    """Whether a rubric row has its name and its 分值 already (so a bare number may open the next row)."""
    return any(_figure(x.text) is not None for x in row[2:])


# -- indicator rows run together ('安装坡面水标尺10≥266米≥266米10水标尺宽度10≥50厘米≥50厘米10') -------------

_OPERATOR_TEXT = "(?:[≥≤=<>]|" + "|".join(re.escape(w) for w, _ in _OPERATOR_WORDS) + ")"


@cache
def _atom() -> re.Pattern:
    """A figure of an indicator row: an optional operator, a number, an optional unit (rules/units.csv)."""
    units = sorted((r["unit"] for r in rules.table("units.csv")), key=len, reverse=True)
    return re.compile(f"{_OPERATOR_TEXT}?\\d+(?:\\.\\d+)?(?:{'|'.join(map(re.escape, units))})?")


_LIST_MARK = re.compile(r"^\d{1,2}、")  # '2、': a document site's page or list marker in the text


def _atoms(text: str) -> list[tuple[str, str]]:
    """The text as ('T', text) and ('V', figure) pieces, fillers ('......') and a leading list marker
    ('2、监测资料…') dropped."""
    text = _LIST_MARK.sub("", text)
    out, at = [], 0
    for m in _atom().finditer(text):
        if m.start() > at and text[at:m.start()].strip(".…· "):
            out.append(("T", text[at:m.start()].strip(".…· ")))
        out.append(("V", m.group()))
        at = m.end()
    if text[at:].strip(".…· "):
        out.append(("T", text[at:].strip(".…· ")))
    return out


def _points(text: str) -> float | None:
    """A plain figure that can be a 分值 or 得分 (no unit, at most 100)."""
    v = _figure(text) if re.fullmatch(r"\d+(?:\.\d+)?", text) else None
    return v if v is not None and v <= 100 else None


def _looks_like_a_row(text: str) -> bool:
    """Text followed by two figures or more ('2、监测资料100%100%10'): a row run together; a fraction ending a
    text ('…实际缴费额的2/3') is one figure.

    >>> _looks_like_a_row("2、监测资料100%100%10"), _looks_like_a_row("不超过社会保险费实际缴费额的2/3")
    (True, False)
    """
    atoms = _atoms(text) if re.search(r"\d", text) else []
    return len(atoms) >= 3 and atoms[0][0] == "T" and sum(k == "V" for k, _ in atoms[1:]) >= 2 \
        and atoms[-1][0] == "V" and atoms[-2][0] == "V"


def _run_on_rows(text: str, after_name: list[str]) -> list[tuple[str, dict]] | None:
    """Rows run together in one piece, read by the header's value columns: a name, then one figure (or a
    qualitative text) a column; a 分值 run into the target ('20100%') is split off where it is a plain
    number of at most 100. The piece is read only when every row in it is complete and its 得分 is at most
    its 分值; otherwise None (it stays a leftover)."""
    cols = [c for c in after_name if c in ("weight", "target", "actual", "score")]
    if not cols or not re.search(r"\d", text) or "method" in after_name:
        return None  # 得分计算方法 is prose among the values: a qualitative value cannot be told from it
    atoms = _atoms(text)
    if len(atoms) < 2 or atoms[0][0] != "T":
        return None
    rows, i = [], 0
    while i < len(atoms):
        kind, name = atoms[i]
        if kind != "T":
            return None
        i += 1
        fields: dict[str, str] = {}
        k = 0
        while k < len(cols):
            col = cols[k]
            if i >= len(atoms):
                return None
            kind, a = atoms[i]
            if col in ("weight", "score"):
                if kind == "V" and _points(a) is not None:
                    fields[col] = a
                    i += 1
                elif col == "weight" and kind == "V":
                    cut = next((n for n in (1, 2, 3) if _points(a[:n]) is not None and a[n:n + 1] != "0"
                                and _atom().fullmatch(a[n:])), None)
                    if cut is None:
                        return None
                    fields[col] = a[:cut]
                    atoms[i] = ("V", a[cut:])
                else:
                    return None
            elif kind == "T" and col == "target" and k + 1 < len(cols) and cols[k + 1] == "actual" \
                    and len(a) % 2 == 0 and a[:len(a) // 2] == a[len(a) // 2:]:
                fields["target"] = fields["actual"] = a[:len(a) // 2]  # '显著提升显著提升': the same text twice
                i += 1
                k += 1
            else:
                fields[col] = a
                i += 1
            k += 1
        w, sc = _points(fields.get("weight", "")), _points(fields.get("score", ""))
        if w is not None and sc is not None and sc > w:
            return None
        rows.append((name, fields))
    return rows


# -- rows run together, read by the types of the header's columns ---------------------------------------
# ('财政供养人员控制率%定量指标100%92%100%22否', '森林火灾受害率%0.910010': Chongqing's flat tables copied from a
# document site). Each column takes the cells its type allows; a run of glued digits is cut over the numeric
# columns only where the indicator's arithmetic confirms the cut (得分 ≤ 分值, a usual 分值).


@cache
def _nature_words() -> tuple[str, ...]:
    """The 指标性质 words (natures.csv, not the operators), longest first."""
    return tuple(sorted((w for w, kind in natures().items() if kind != "operator"), key=len, reverse=True))


_FLAGS = ("是", "否")  # a yes/no column (是否核心指标)
_USUAL_WEIGHTS = frozenset({1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30})
# what leaving a column blank costs: the values and points are what a row is printed for; an adjusted target
# or a note is usually blank, the other descriptive columns usually filled
_BLANK_COST = {"target": 1.0, "actual": 1.0, "weight": 1.0, "score": 1.0, "target_adjusted": 0.05, "note": 0.05,
               "method": 0.05}
_ACCEPTS = {"measure_unit": {"unit"}, "nature": {"nature"}, "score_rate": {"pct"}, "weight": {"num"},
            "score": {"num"}, "core": {"flag"}, "note": {"text"}, "method": {"text"}}
_VALUE_KINDS = {"pct", "qty", "num", "text"}  # target, actual and a column whose header could not be read
_DIGIT_RUN = re.compile(r"^\d[\d.]*$")


def _accepts(col: str, kind: str) -> bool:
    return kind in _ACCEPTS.get(col, _VALUE_KINDS)


def _item(atom: str) -> tuple[str, str]:
    """A figure of a row as (kind, text): a rate, a plain number (or glued digits), a quantity with a unit or
    an operator."""
    if atom.endswith("%"):
        return "pct", atom
    return ("num", atom) if _DIGIT_RUN.match(atom) else ("qty", atom)


def _points_ok(fields: dict[str, str]) -> float | None:
    """How well a row's 分值 and 得分 agree with each other and with its values; None when they cannot be."""
    w, sc = fields.get("weight"), fields.get("score")
    wv = _figure(w) if w else None
    sv = _figure(sc) if sc else None
    s = 0.0
    if w is not None:
        if wv is None or wv <= 0 or wv > 100:
            return None
        s += 0.5 if wv in _USUAL_WEIGHTS else -0.5
    if sc is not None and (sv is None or sv > 100):
        return None
    if wv is not None and sv is not None:
        if sv > wv + 1e-9:
            return None
        s += 0.5 if sv == wv else 0.0
    t, a = (_figure(fields[c]) if _DIGIT_RUN.match(fields.get(c) or "-") else None for c in ("target", "actual"))
    if t is None and a is not None and (m := _AT_LEAST.fullmatch(fields.get("target") or "")):
        t = _figure(m.group(1))  # '≥120': a target to reach
    if t and a:  # a target and its actual are of one order of magnitude (90 | 100, not 9010 | 0)
        s += 0.3 - 0.3 * min(3.0, abs(math.log10(a / t)))
        if wv is not None and sv and sv < wv and abs(wv * min(a / t, t / a) - sv) <= 0.02 * wv:
            s += 1.0  # 得分 = 分值 × 完成值 / 指标值: the scoring rule confirms the reading
    if fields.get("measure_unit") == "%" and any(v is not None and v > 100 for v in (t, a)):
        s -= 0.5  # a rate above 100 %: possible, but not the likelier reading of glued digits
    return s


def _met_in_full(fields: dict[str, str]) -> bool:
    """A row whose actual reaches its target ('≥120' | '126') and whose 得分 is its whole 分值: the scoring rule
    confirms the reading."""
    m = _AT_LEAST.fullmatch(fields.get("target") or "")
    t, a = (_figure(m.group(1)) if m else None), _figure(fields.get("actual") or "")
    w, sc = _figure(fields.get("weight") or ""), _figure(fields.get("score") or "")
    return None not in (t, a, w, sc) and a >= t and w == sc > 0


_AT_LEAST = re.compile(r"≥?(\d+(?:\.\d+)?)")
_OP_DIGITS = re.compile(r"([≥≤=<>])(\d{3,22})")  # an operator, then a row's figures glued: '≥1201262020'


def _assignments(items: list[tuple[str, str]], cols: list[str]):
    """Every order-keeping way to give the items to the columns (a column may stay blank; a run of glued
    digits may fill several numeric columns in a row, cut where each piece is a plain number)."""
    def walk(i: int, c: int, got: dict[str, str], split: bool | str):
        if i == len(items):
            yield dict(got), split
            return
        if c == len(cols):
            return
        kind, text = items[i]
        yield from walk(i, c + 1, got, split)  # column c blank
        if _accepts(cols[c], kind) and not (kind == "num" and _figure(text) is None):
            got[cols[c]] = text
            yield from walk(i + 1, c + 1, got, split)
            del got[cols[c]]
        if kind in ("pct", "qty") and c + 1 < len(cols) and cols[c] in ("weight", "score"):
            # a 分值 run into the value after it ('10100%' = 10 | 100%)
            for cut in (1, 2, 3):
                head, rest = text[:cut], text[cut:]
                if not (_SPLIT_NUMBER.match(head) and rest[:1].isdigit() and (rest[0] != "0" or rest[1:2] == ".")):
                    continue
                got[cols[c]] = head
                for c2 in range(c + 1, len(cols)):
                    if _accepts(cols[c2], kind):
                        got[cols[c2]] = rest
                        yield from walk(i + 1, c2 + 1, got, True)
                        del got[cols[c2]]
                del got[cols[c]]
        if kind == "qty" and (m := _OP_DIGITS.fullmatch(text)) and _accepts(cols[c], "qty"):
            # a target with the row's other figures glued to it: kept only where the scoring rule confirms it
            for k in range(2, min(4, len(cols) - c) + 1):
                span = cols[c:c + k]
                if not all(_accepts(x, "num") for x in span[1:]):
                    break
                for cut in _splits(m.group(2), k, 200):
                    got.update(zip(span, [m.group(1) + cut[0], *cut[1:]], strict=True))
                    yield from walk(i + 1, c + k, got, "confirm")
                    for x in span:
                        del got[x]
        if kind == "num" and len(text) >= 2:
            for k in range(2, min(4, len(cols) - c) + 1):
                span = cols[c:c + k]
                if not all(_accepts(x, "num") for x in span):
                    break
                for cut in _splits(text, k, 200):
                    got.update(zip(span, cut, strict=True))
                    yield from walk(i + 1, c + k, got, True)
                    for x in span:
                        del got[x]

    yield from walk(0, 0, {}, False)


def _best_fields(items: list[tuple[str, str]], cols: list[str]) -> dict[str, str] | None:
    """The assignment of a row's items to its columns that leaves the fewest cells blank and whose points
    agree; None when none fits, or when two readings of a glued run fit equally well."""
    scored = []
    for got, split in itertools.islice(_assignments(items, cols), 20000):
        points = _points_ok(got)
        if points is None:
            continue
        if split and (points <= 0 or not (got.get("weight") and got.get("score"))):
            continue  # glued digits are cut only where a 分值 and its 得分 confirm the cut
        if split == "confirm" and not _met_in_full(got):
            continue
        s = points - sum(_BLANK_COST.get(c, 0.3) for c in cols if c not in got)
        s -= 0.001 * sum(cols.index(c) for c in got)  # a lone value is the target rather than the actual
        scored.append((s, got))
    if not scored:
        return None
    scored.sort(key=lambda x: -x[0])
    best = scored[0]
    if len(scored) > 1 and abs(scored[1][0] - best[0]) < 1e-6 and scored[1][1] != best[1]:
        return None
    blank = sum(c in cols and c not in best[1] for c in _VALUE_COLUMNS)
    if blank >= 2 and any(_LONG_DIGITS.search(v) for v in best[1].values()):
        return None  # '≥12012620' with its 完成值 and 得分 blank: the values of a row glued, not one target
    return best[1]


_LONG_DIGITS = re.compile(r"\d{5}")


def _repeated_phrases(texts: list[str]) -> tuple[str, ...]:
    """Texts printed whole in the block that also start other pieces: a cell value repeated row after row
    ('达成预期指标' before the next row's name), longest first."""
    whole = {t for t in texts if 2 <= len(t) <= 12}
    return tuple(sorted((w for w in whole if sum(t.startswith(w) for t in texts) >= 3), key=len, reverse=True))


@lru_cache(maxsize=1 << 15)
def _after_figures(text: str) -> tuple[str, ...]:
    """The texts of a run-on piece that follow a figure: where a row's text cells are (names start pieces)."""
    atoms = _typed_atoms(text, False)
    return tuple(a for (k0, _), (k, a) in itertools.pairwise(atoms) if k0 == "V" and k == "T")


def _split_name(text: str, cols: list[str]) -> tuple[str, list[tuple[str, str]]]:
    """A row's name and the descriptive cells printed after it with no separator: its 计量单位 and 指标性质
    ('财政供养人员控制率%定量指标'), or a qualitative target and actual printed the same ('资金使用合规性好好')."""
    items: list[tuple[str, str]] = []
    if "target" in cols and "actual" in cols:
        for n in (1, 2, 3, 4):
            if len(text) > 2 * n + 1 and text[-n:] == text[-2 * n:-n] and _CJK_PIECE.match(text[-n:]):
                text, items = text[:-2 * n], [("text", text[-n:]), ("text", text[-n:])]
                break
    if "nature" in cols:
        w = next((w for w in _nature_words() if text.endswith(w) and len(text) > len(w) + 1), None)
        if w is None:  # its characters out of order (OCR): '性标定指' for 定性指标
            w = next((w for w in _nature_words() if len(w) == 4 and len(text) > 5 and sorted(text[-4:]) == sorted(w)),
                     None)
        if w:
            text, items = text[:-len(w)], [("nature", w), *items]
    if "measure_unit" in cols and (not items or items[0][0] == "nature") and (
            "target" not in cols or cols.index("measure_unit") < cols.index("target")):  # a unit before the values
        u = next((u for u in _units_longest_first() if text.endswith(u) and len(text) > len(u) + 1), None)
        if u:
            text, items = text[:-len(u)], [("unit", u), *items]
    return text, items


@cache
def _glued_atom() -> re.Pattern:
    """A figure of a run-on row, digits and points glued ('0.4100.110'), with its operator and unit."""
    units = _units_longest_first()
    return re.compile(f"{_OPERATOR_TEXT}?\\d(?:[\\d.]*\\d)?(?:{'|'.join(map(re.escape, units))})?")


@cache
def _units_longest_first() -> tuple[str, ...]:
    return tuple(sorted([*units(), "%"], key=len, reverse=True))


def _typed_atoms(text: str, give_back: bool = True) -> list[tuple[str, str]]:
    """The text as ('T', text) and ('V', figure) pieces; where the header has a 计量单位 column (give_back), a
    unit run into the next text ('2110110天保工程区') goes back to that text when it is not the row's 计量单位
    (the unit printed after the row's name)."""
    text = _LIST_MARK.sub("", text)
    out, at, unit = [], 0, None
    for m in _glued_atom().finditer(text):
        if text[max(0, m.start() - 2):m.start()] == "指标" and text[m.end():m.end() + 1] in (":", "："):
            continue  # '指标1:': the number of the row's name
        before = text[at:m.start()].strip(".…· ")
        if before:
            out.append(["T", before])
            unit = next((u for u in _units_longest_first() if before.endswith(u)), None)
        fig = m.group()
        tail = fig[:max(k for k, ch in enumerate(fig) if ch.isdigit()) + 1]  # the figure up to its last digit
        u = fig[len(tail):]
        at = m.end()
        if give_back and u and u != "%" and u != unit and at < len(text) and not text[at].isdigit() \
                and text[at] not in ".…· ":
            fig, at = tail, m.start() + len(tail)  # '天' of '天保工程区': the next name's first character
        out.append(["V", fig])
    if text[at:].strip(".…· "):
        out.append(["T", text[at:].strip(".…· ")])
    merged: list[list[str]] = []
    for kind, a in out:  # the unit given back joins the text after it
        if merged and merged[-1][0] == kind == "T":
            merged[-1][1] += a
        else:
            merged.append([kind, a])
    return [(k, a) for k, a in merged]


def typed_rows(text: str, after_name: list[str], phrases: tuple[str, ...] = ()) \
        -> tuple[list[tuple[str, dict]], list[str]] | None:
    """Rows run together in one piece, read by the types of the header's columns after 指标名称: (rows, the
    texts of rows with no figure, left unread), or None when any row does not read. `phrases`
    are cell values the block repeats row after row (_repeated_phrases).

    >>> rows, unread = typed_rows("森林火灾受害率%0.910010主要林业有害生物成灾率%0.4100.110",
    ...                           ["measure_unit", "nature", "target", "weight", "actual", "score"])
    >>> rows[1][0], rows[1][1]["target"], rows[1][1]["actual"], rows[1][1]["score"], unread
    ('主要林业有害生物成灾率', '0.4', '0.1', '10', [])
    """
    cols = list(after_name)
    if "method" in cols:
        return None  # 得分计算方法 is prose with figures in it ('100-80%(含)'): no cut of it can be confirmed
    if phrases and "weight" not in cols and "score" not in cols:
        return _phrase_rows(text, cols, phrases)
    atoms = _typed_atoms(text, "measure_unit" in cols)
    if len(atoms) < 2 or atoms[0][0] != "T":
        return None
    name, items = _split_name(atoms[0][1], cols)
    # two figures at least, or one after a qualitative value printed twice ('好好2020': 分值 and 得分 glued), or
    # an operator before glued figures ('≥1201262020': read only where the scoring rule confirms a cut)
    values = [a for k, a in atoms if k == "V"]
    if len(values) < 2 and sum(k == "text" for k, _ in items) < 2 and not (
            values and _OP_DIGITS.fullmatch(values[0])):
        return None
    texts = _after_figures(text)
    phrases = _repeated_phrases(texts) if any(c in cols for c in ("actual", "note")) else ()
    rows: list[tuple[str, list[tuple[str, str]]]] = []
    tail: list[str] = []
    i = 1
    while True:
        while i < len(atoms) and atoms[i][0] == "V":
            a = atoms[i][1]
            if re.match(r"0\d", a):  # no figure starts with 0 and a digit: '0100%' is 0 | 100%
                items.append(("num", "0"))
                a = a[1:]
            items.append(_item(a))
            i += 1
        nxt = atoms[i][1] if i < len(atoms) else None
        if nxt is not None and "core" in cols and nxt[:1] in _FLAGS:
            items.append(("flag", nxt[:1]))
            nxt = nxt[1:]
        phrase = next((p for p in phrases if nxt and nxt.startswith(p)), None) if nxt else None
        if phrase:
            items.append(("text", phrase))
            nxt = nxt[len(phrase):]
        rows.append((name, items))
        if nxt is None:
            break
        i += 1
        if not nxt:
            if i < len(atoms):
                return None  # figures with no name before them
            break
        if i >= len(atoms):
            tail = [nxt]  # a name and nothing after it: the piece (or the excerpt) ends there
            break
        name, items = _split_name(nxt, cols)
    out = []
    for name, items in rows:
        if len(name) < 2 or not any(k in ("pct", "qty", "num") for k, _ in items):
            return None
        fields = _best_fields(items, cols)
        points = "weight" in cols or "score" in cols
        if fields is None or points and not (fields.get("weight") or fields.get("score")):
            return None
        out.append((name, fields))
    return out, tail


def _phrase_rows(text: str, cols: list[str], phrases: tuple[str, ...]) \
        -> tuple[list[tuple[str, dict]], list[str]] | None:
    """Rows without 分值 or 得分, each ended by a value the block repeats
    ('森林火灾6小时内扑灭率不低于95%达成预期指标'): a row's figures are the figures at the end of its piece, its
    name all before them (a name may hold a figure: 6小时), the repeated value the next text column's; a piece
    with a name and text cells only is left unread. None when a piece has no name or no figure."""
    pattern = "|".join(map(re.escape, phrases))
    pieces = re.split(f"({pattern})", _LIST_MARK.sub("", text))
    rows, unread = [], []
    for k in range(0, len(pieces), 2):
        body = pieces[k]
        phrase = pieces[k + 1] if k + 1 < len(pieces) else None
        if not body and phrase is not None:
            return None  # a value with no row before it
        if not body:
            continue
        atoms = _typed_atoms(body, False)
        n = len(atoms)
        while n > 0 and atoms[n - 1][0] == "V":
            n -= 1
        name = "".join(a for _, a in atoms[:n])
        values = [_item(a) for _, a in atoms[n:]]
        if not values and len(name) >= 2:
            unread.append(body + (phrase or ""))  # a name, cut short or with text cells only: not guessed
            continue
        if len(name) < 2 or not values:
            return None
        fields = _best_fields([*values, *([("text", phrase)] if phrase else [])], cols)
        if fields is None:
            return None
        rows.append((name, fields))
    return (rows, unread) if rows else None
