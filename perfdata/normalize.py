"""Cell text normalisation and number/value parsing.

PDF extraction scatters spaces through Chinese text ("全年预 算数", "7.14 万 元"), mixes full- and
half-width forms and leaves LaTeX fragments ("$\\geq 95\\%$"). Everything downstream compares
normalised text, so these rules live in one place.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

# CJK ideographs, CJK punctuation and full-width forms: spaces next to them are extraction noise.
_CJK = r"\u2e80-\u2fff\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_SPACE_NEAR_CJK = re.compile(rf"(?<=[{_CJK}])\s+|\s+(?=[{_CJK}])")
_SPACES = re.compile(r"\s+")
_TAGS = re.compile(r"</?(?:p|b|i|br|span|strong|em)\s*/?>", re.I)
_LATEX = (
    (re.compile(r"\\(?:geq|ge)\b\s*"), "≥"),
    (re.compile(r"\\(?:leq|le)\b\s*"), "≤"),
    (re.compile(r"\\%"), "%"),
    (re.compile(r"\\text\{([^}]*)\}"), r"\1"),
    (re.compile(r"\\times\b\s*"), "×"),
    (re.compile(r"\\div\b\s*"), "÷"),
    (re.compile(r"\\\*"), "*"),
)
_OPERATOR_WORDS = (("大于等于", "≥"), ("小于等于", "≤"), (">=", "≥"), ("<=", "≤"), ("不低于", "≥"),
                   ("不少于", "≥"), ("不高于", "≤"), ("不超过", "≤"), ("大于", ">"), ("小于", "<"))
# Plain-dict memos of the hot paths (a hit costs less than an lru_cache call), registered here
# so that a benchmark can clear them all and start cold.
CACHES: list[dict] = []


def memo() -> dict:
    """A new registered memo dict."""
    d: dict = {}
    CACHES.append(d)
    return d


DASHES = frozenset({"—", "——", "-", "--", "―", "─", "/", "\\", "–", "-—"})


@lru_cache(maxsize=65536)
def clean(text: str) -> str:
    """Normalise one cell: NFKC, LaTeX operators, tags, and spaces that PDF extraction inserted.

    >>> clean("全年预 算数"), clean("<10 万 元"), clean("$\\\\geq 95\\\\%$"), clean("１００％")
    ('全年预算数', '<10万元', '≥95%', '100%')
    """
    if not text:
        return ""
    t = unicodedata.normalize("NFKC", text)
    if "$" in t or "\\" in t:
        for pattern, repl in _LATEX:
            t = pattern.sub(repl, t)
        t = t.replace("$", "")
    if "<" in t:
        t = _TAGS.sub(" ", t)
    t = _SPACES.sub(" ", t).strip()
    if " " in t:
        t = _SPACE_NEAR_CJK.sub("", t)
        # spaces between digits and units or operators: "≥ 95 %", "7.14 万元"
        t = re.sub(r"(?<=[\d.%≥≤<>=])\s+(?=[\d.%])|(?<=[≥≤<>=])\s+", "", t)
    return t


@lru_cache(maxsize=65536)
def key(text: str) -> str:
    """A matching key for labels: cleaned, no spaces, bracketed notes and trailing colons dropped.

    >>> key("年初预算数 (A)"), key("年度资金总额:"), key("偏差原因 分析及改进措施")
    ('年初预算数', '年度资金总额', '偏差原因分析及改进措施')
    """
    t = clean(text).replace(" ", "")
    t = re.sub(r"\((?:[A-Za-z/]+|\d+分)\)", "", t)
    return t.rstrip(":：")


_LEVEL_WEIGHT = re.compile(r"\(?(\d+(?:\.\d+)?)分\)?$")


def split_level_weight(text: str) -> tuple[str, float | None]:
    """Split a printed level weight off a level cell.

    >>> split_level_weight("产出指标 (50分)"), split_level_weight("满意度 指标10分")
    (('产出指标', 50.0), ('满意度指标', 10.0))
    >>> split_level_weight("数量指标")
    ('数量指标', None)
    """
    k = clean(text).replace(" ", "").rstrip(":")
    m = _LEVEL_WEIGHT.search(k)
    if not m:
        return k, None
    return k[: m.start()].rstrip(":("), float(m.group(1))


_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_PLAIN_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:分)?$")
_PERCENT = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+))%$")
_MONEY = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(万元|万|元)$")


@lru_cache(maxsize=65536)
def cell_type(text: str) -> str:
    """Coarse type of a cleaned cell: 'num', 'pts' (10分), 'pct', 'money', 'dash', 'method', 'text'.

    >>> [cell_type(x) for x in ["10", "10分", "93.3%", "100.57万元", "—", "执行率×该指标分值", "完成"]]
    ['num', 'pts', 'pct', 'money', 'dash', 'method', 'text']
    """
    t = text.replace(",", "") if "," in text and text[:1].isdigit() else text
    if _PLAIN_NUMBER.match(t):
        return "pts" if t.endswith("分") else "num"
    if _PERCENT.match(t):
        return "pct"
    if _MONEY.match(t):
        return "money"
    if t in DASHES:
        return "dash"
    if ("记分" in t or "计分" in t or "分值上限" in t or "记满分" in t or "三档" in t
            or "得分计算方" in t or "×该指标分值" in t):
        return "method"
    return "text"


_NUMBERS: dict[str, float | None] = memo()


def to_number(text: str | None) -> float | None:
    """A plain number, "10分", "100.57万元", "93.90%" or "1,780.68" as float; None otherwise.

    >>> to_number("10分"), to_number("100.57万元"), to_number("93.90%"), to_number("—"), to_number("完成")
    (10.0, 100.57, 93.9, None, None)
    """
    if not text:
        return None
    try:
        return _NUMBERS[text]
    except KeyError:
        pass
    value = None
    t = text.replace(",", "")
    m = _PLAIN_NUMBER.match(t) or _PERCENT.match(t)
    if m:
        value = float(_NUMBER.match(t).group())
    else:
        m = _MONEY.match(t)
        if m:
            value = float(m.group(1))
            value = value / 10000 if m.group(2) == "元" else value
    if len(_NUMBERS) < 200_000:
        _NUMBERS[text] = value
    return value


def to_percent(text: str | None) -> float | None:
    """A rate in percent: "93.3%" → 93.3, "100" → 100.0, "0.933" stays 0.933 (as printed).

    >>> to_percent("99.45%"), to_percent("100"), to_percent("—")
    (99.45, 100.0, None)
    """
    return to_number(text)


class Value(NamedTuple):
    """A target or actual read as comparison operator, number and unit."""

    op: str | None
    value: float | None
    unit: str | None
    quantitative: bool


_VALUE = re.compile(
    r"^(?P<op>≥|≤|>|<|=|≧|≦|＞|＜)?(?P<num>[+-]?(?:\d+(?:\.\d*)?|\.\d+))(?P<unit>[^\d].*)?$"
)
_UNIT_ALIASES = {"比率": "%", "百分比": "%", "％": "%"}


@lru_cache(maxsize=65536)
def parse_value(text: str | None) -> Value:
    """Read a target or actual such as "≥300人", "≤1700元/人", "100%", "12月", "≥95比率" or "按时完成".

    >>> parse_value("≥300人"), parse_value("≥95比率").unit, parse_value("按时完成").quantitative
    (Value(op='≥', value=300.0, unit='人', quantitative=True), '%', False)
    """
    if not text:
        return Value(None, None, None, False)
    t = clean(text).replace(" ", "").replace(",", "")
    for word, op in _OPERATOR_WORDS:
        if t.startswith(word):
            t = op + t[len(word):]
            break
    m = _VALUE.match(t)
    if not m:
        return Value(None, None, None, False)
    op = {"≧": "≥", "≦": "≤", "＞": ">", "＜": "<"}.get(m.group("op") or "", m.group("op") or "=")
    unit = m.group("unit") or None
    if unit:
        unit = _UNIT_ALIASES.get(unit, unit)
        # "8月31日前", "2024年年底": a date, not a quantity
        if len(unit) > 6 or re.search(r"[日前后底内]", unit):
            return Value(None, None, None, False)
    return Value(op, float(m.group("num")), unit, True)


def direction(op: str | None) -> str | None:
    """'positive' for ≥/>, 'ceiling' for ≤/<, 'exact' for a bare value."""
    if op in ("≥", ">"):
        return "positive"
    if op in ("≤", "<"):
        return "ceiling"
    if op == "=":
        return "exact"
    return None


_INDICATOR_NO = re.compile(r"^指标\s*(\d+)\s*[:：.、]?\s*")


@lru_cache(maxsize=65536)
def split_indicator_no(text: str) -> tuple[int | None, str]:
    """'指标1:享受人数' → (1, '享受人数'); ': 服务对象满意度' → (None, '服务对象满意度').

    >>> split_indicator_no("指标 2: ....."), split_indicator_no(":服务对象满意度")
    ((2, ''), (None, '服务对象满意度'))
    """
    m = _INDICATOR_NO.match(text)
    no = None
    if m:
        no, text = int(m.group(1)), text[m.end():]
    text = text.lstrip(":：.、 ").rstrip(":： ")
    if set(text) <= {".", "…", "·"}:
        text = ""
    return no, text


_FILLER = re.compile(r"^[.…·。\-—_=|:]{3,}$")


_FILLER_FIRST = frozenset(".…·。-—_=|: ")


def is_filler(text: str) -> bool:
    """'.....' rows and markdown rules ('------') carry no content."""
    if not text or text[0] not in _FILLER_FIRST:  # almost every cell: no regex needed
        return False
    return bool(_FILLER.match(text.replace(" ", "")))
