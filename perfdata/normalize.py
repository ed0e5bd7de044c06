"""Cell text normalisation and number/value parsing.

PDF extraction scatters spaces through Chinese text ("全年预 算数", "7.14 万 元"), mixes full- and
half-width forms and leaves LaTeX fragments ("$\\geq 95\\%$"). Everything downstream compares
normalised text, so these rules live in one place.

Documents machine-converted to traditional characters (with pinyin artefacts such as
"項(xiàng)目") are turned back into simplified text by :func:`simplify_document`, once per
document, before the cells are cut; :func:`clean` then works on single cells.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

# CJK ideographs, CJK punctuation and full-width forms: spaces next to them are extraction noise.
_CJK = r"\u2e80-\u2fff\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
# The second alternative starts only where its run starts ((?<!…)): from every space of a run, quadratic
_SPACE_NEAR_CJK = re.compile(rf"(?<=[{_CJK}])\s+|(?<!\s)\s+(?=[{_CJK}])")
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
_OPERATOR_WORDS = (("大于等于", "≥"), ("小于等于", "≤"), (">=", "≥"), ("<=", "≤"), ("≥=", "≥"), ("≤=", "≤"),
                   ("不低于", "≥"), ("不少于", "≥"), ("不小于", "≥"), ("不高于", "≤"), ("不超过", "≤"),
                   ("不大于", "≤"), ("大于", ">"), ("小于", "<"), ("高于", ">"), ("低于", "<"))
# comparison signs that NFKC leaves alone ("﹦" U+FE66 and "＝" U+FF1D it already folds to "="):
# "═" (U+2550, box drawing, used as "=" in Yunnan forms), "≧"/"≦" (U+2267/U+2266), "⩾"/"⩽" (Word's slanted ones)
_SIGN_FOLD = str.maketrans({"═": "=", "≧": "≥", "≦": "≤", "⩾": "≥", "⩽": "≤"})
SIGN_CHARS = "═≧≦⩾⩽"  # (a reader that skips clean() on text NFKC leaves as it is must not skip these)
_SIGNS = re.compile(f"[{SIGN_CHARS}]")
_NOT_ONE_SPACE = re.compile(r"\s\s|[^\S ]")  # what _SPACES.sub(" ", …) changes: runs, and other whitespace
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
    """Normalise one cell: NFKC, comparison signs, LaTeX operators, tags, and spaces that PDF extraction inserted.

    >>> clean("全年预 算数"), clean("<10 万 元"), clean("$\\\\geq 95\\\\%$"), clean("１００％")
    ('全年预算数', '<10万元', '≥95%', '100%')
    >>> clean("﹦"), clean("═100%"), clean("≧ 95 %"), clean("≦30万元")
    ('=', '=100%', '≥95%', '≤30万元')
    """
    if not text:
        return ""
    t = unicodedata.normalize("NFKC", text)
    if _SIGNS.search(t):  # translate() looks up every character: only where there is one to fold
        t = t.translate(_SIGN_FOLD)
    if "$" in t or "\\" in t:
        for pattern, repl in _LATEX:
            t = pattern.sub(repl, t)
        t = t.replace("$", "")
    if "<" in t:
        t = _TAGS.sub(" ", t)
    t = (_SPACES.sub(" ", t) if _NOT_ONE_SPACE.search(t) else t).strip()
    if " " in t:
        if len(t) > 4096:
            return _drop_spaces(t)
        t = _SPACE_NEAR_CJK.sub("", t)
        # spaces between digits and units or operators: "≥ 95 %", "7.14 万元"
        t = _SPACE_IN_FIGURE.sub("", t)
    return t


_SPACE_IN_FIGURE = re.compile(r"(?<=[\d.%≥≤<>=])\s+(?=[\d.%])|(?<=[≥≤<>=])\s+")
_CJK_ONE = re.compile(f"[{_CJK}]").match


def _drop_spaces(t: str) -> str:
    """_SPACE_NEAR_CJK then _SPACE_IN_FIGURE on text whose spaces are single: one pass over its spaces (the two
    look-behind patterns try every position of a long cell)."""
    parts = t.split(" ")
    out = [parts[0]]
    for prev, nxt in zip(parts, parts[1:], strict=False):
        a, b = prev[-1], nxt[0]
        if not (_CJK_ONE(a) or _CJK_ONE(b) or a in "≥≤<>=" or ((a.isdecimal() or a in ".%")
                                                                and (b.isdecimal() or b in ".%"))):
            out.append(" ")
        out.append(nxt)
    return "".join(out)


# --- traditional → simplified (whole documents) -------------------------------------------------
# Web pages machine-converted to traditional characters leave the converter's ruby as text after
# each converted character: "項(xiàng)目", "監(jiān)測", "執(zhí)行數(shù)". Such a bracket holds one
# lowercase pinyin syllable with a tone mark and follows a CJK ideograph; "(A)", "(B/A)", "(万元)",
# "(kg)" and "(xx)" after ASCII are not of that form.
_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_PINYIN = re.compile(
    rf"(?<=[{_HAN}])[(（]([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü\u0300-\u036f]{{1,8}})[)）]"
)
_TONED = re.compile(r"[āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü\u0300-\u036f]")
# neutral-tone syllables carry no tone mark; removed only after a character that t2s changes (們(men))
_NEUTRAL = frozenset({"men", "me", "mo", "ma", "ge", "li", "tou", "ba", "zhe", "ne", "de", "le", "zi"})
_HAN_CHAR = re.compile(rf"[{_HAN}]")
_SURROGATE = re.compile(r"([\ud800-\udfff])")
_SAMPLE_CHARS, _SAMPLE_WINDOWS = 4096, 8


@lru_cache(maxsize=1)
def _converter():
    import opencc  # loaded on first use (about 2 ms), not when perfdata.normalize is imported

    return opencc.OpenCC("t2s")


def _t2s(text: str) -> str:
    """OpenCC "t2s". In opencc 1.4 every dictionary entry maps a key to a value of the same length
    and none holds a line break, so the result has the input's length and its line breaks in place."""
    try:
        return _converter().convert(text)
    except UnicodeEncodeError:  # a lone surrogate (bad decoding upstream): convert around it
        return "".join(p if _SURROGATE.fullmatch(p) else _converter().convert(p)
                       for p in _SURROGATE.split(text))


def _is_artefact(m: re.Match) -> bool:
    syllable = m.group(1)
    if _TONED.search(syllable):
        return True
    if syllable in _NEUTRAL:
        prev = m.string[m.start() - 1]
        return _t2s(prev) != prev
    return False


def strip_pinyin(text: str) -> str:
    """Delete the pinyin the traditional-character converter left after converted characters.

    >>> strip_pinyin("項(xiàng)目"), strip_pinyin("監(jiān)測"), strip_pinyin("執(zhí)行數(shù)")
    ('項目', '監測', '執行數')
    >>> [strip_pinyin(x) for x in ["得分(20分*執(zhí)行率)", "執行率(B/A)", "面積(km)", "x(xx)"]]
    ['得分(20分*執行率)', '執行率(B/A)', '面積(km)', 'x(xx)']
    """
    if "(" not in text and "（" not in text:
        return text
    return _PINYIN.sub(lambda m: "" if _is_artefact(m) else m.group(), text)


def simplify(text: str) -> str:
    """Traditional → simplified: pinyin artefacts deleted, then OpenCC "t2s"; line breaks untouched.

    Meant for documents that :func:`looks_traditional`; on simplified text t2s may still change the
    odd character (著 → 着), which is why :func:`simplify_document` asks first.

    >>> simplify("2020年度水土保持監(jiān)測項(xiàng)目績效自評表")
    '2020年度水土保持监测项目绩效自评表'
    >>> simplify("區(qū)級森林防火專項(xiàng)經(jīng)費(fèi)")
    '区级森林防火专项经费'
    """
    if not text:
        return text
    t = _t2s(strip_pinyin(text))
    return text if t == text else t


def _sample(text: str) -> str:
    """The whole text if short, else evenly spaced windows of it (4,096 characters in all)."""
    n = len(text)
    if n <= _SAMPLE_CHARS:
        return text
    width = _SAMPLE_CHARS // _SAMPLE_WINDOWS
    step = (n - width) / (_SAMPLE_WINDOWS - 1)
    return "\n".join(text[int(i * step): int(i * step) + width] for i in range(_SAMPLE_WINDOWS))


def looks_traditional(text: str) -> bool:
    """Whether a whole document needs :func:`simplify`: traditional characters or pinyin artefacts.

    Decided on a sample of at most 4,096 characters: True if it holds 2 or more pinyin artefacts, or
    if t2s changes at least 5% of its CJK characters, and at least 3 distinct ones. Machine-converted
    documents run at about 40% (50-70 distinct characters in a 1,000-character excerpt). Simplified
    text rarely has any: t2s leaves 著, 乾, 於 alone in most phrases, and of all the characters in the
    four bundled documents it changes only 覆, and only in phrases (覆文 → 复文).

    >>> looks_traditional("年度資金總額 | 7.29 | 7.29"), looks_traditional("年度资金总额 | 7.29 | 7.29")
    (True, False)
    >>> looks_traditional("项(xiàng)目监(jiān)测"), looks_traditional("乾隆年间著作"), looks_traditional("覆文覆文")
    (True, False, False)
    """
    if not text:
        return False
    sample = _sample(text)
    if ("(" in sample or "（" in sample) and sum(map(_is_artefact, _PINYIN.finditer(sample))) >= 2:
        return True
    converted = _t2s(sample)
    if converted == sample:
        return False
    changed = [a for a, b in zip(sample, converted, strict=False) if a != b]  # t2s keeps lengths
    return len(set(changed)) >= 3 and len(changed) >= 0.05 * len(_HAN_CHAR.findall(sample))


def simplify_document(text: str) -> tuple[str, bool]:
    """A document as simplified text, and whether it was converted.

    Simplified documents come back as the very same string object (the cost is one
    :func:`looks_traditional`). Conversion keeps the number of lines: only characters change, and
    pinyin artefacts go, so line lengths may shrink. The caller keeps the original as evidence.

    >>> simplify_document("預(yù)算數(shù)(A)執(zhí)行數(shù)(B)\\n合計(jì)6363100%")
    ('预算数(A)执行数(B)\\n合计6363100%', True)
    >>> simplify_document("预算数(A)\\n10")
    ('预算数(A)\\n10', False)
    """
    if not looks_traditional(text):
        return text, False
    out = simplify(text)
    return out, out is not text


@lru_cache(maxsize=65536)
def key(text: str) -> str:
    """A matching key for labels: cleaned, no spaces, bracketed notes and trailing colons dropped.

    >>> key("年初预算数 (A)"), key("年度资金总额:"), key("偏差原因 分析及改进措施")
    ('年初预算数', '年度资金总额', '偏差原因分析及改进措施')
    """
    t = clean(text).replace(" ", "")
    t = re.sub(r"\((?:[A-Za-z/]+|\d+分)\)", "", t)
    return t.rstrip(":：")


def split_level_weight(text: str) -> tuple[str, float | None]:
    """Split a printed level weight off a level cell: "(50分)" or "10分" at its end.

    Read from the end of the cell (a regular expression searched from every start position would take
    quadratic time on a cell of 50,000 digits).

    >>> split_level_weight("产出指标 (50分)"), split_level_weight("满意度 指标10分")
    (('产出指标', 50.0), ('满意度指标', 10.0))
    >>> split_level_weight("数量指标"), split_level_weight("效益指标(2.5.5分)"), split_level_weight("指标.5分")
    (('数量指标', None), ('效益指标(2.', 5.5), ('指标.', 5.0))
    >>> split_level_weight("产出指标 (50)"), split_level_weight("产出指标(第1项)")  # the points without 分 (湖南)
    (('产出指标', 50.0), ('产出指标(第1项)', None))
    """
    k = clean(text).replace(" ", "").rstrip(":")
    end = len(k) - 1 if k.endswith(")") else len(k)
    if end >= 2 and end < len(k) and k[end - 1].isdecimal():  # '(50)': a bracketed figure alone
        start = end
        while start > 0 and k[start - 1].isdecimal() and end - start < 4:
            start -= 1
        if start > 1 and k[start - 1] == "(":
            return k[:start - 1], float(k[start:end])
        return k, None
    if end < 2 or k[end - 1] != "分":
        return k, None
    start = stop = end - 1  # the figure before 分: digits, or digits.digits
    while start > 0 and k[start - 1].isdecimal():
        start -= 1
    if start == stop:
        return k, None
    if start > 1 and k[start - 1] == "." and k[start - 2].isdecimal():
        start -= 1
        while start > 0 and k[start - 1].isdecimal():
            start -= 1
    return k[:start].rstrip(":("), float(k[start:stop])


_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_PLAIN_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:分)?$")
_PERCENT = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+))%$")
_MONEY = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(万元|万|元|亿元|亿)$")
# "215,457.6", "1,548.447", "12,345,678": thousands separators only where every group has 3 digits,
# so that "1,5" (a list, or a decimal comma) is not read as 15
_THOUSANDS = re.compile(r"(?<![\d,.])\d{1,3}(?:,\d{3})+(?![\d,])")
# "100 %", "4753.66 万元": a space between a number and its unit
_SPACE_BEFORE_UNIT = re.compile(r"(?<=[\d.])\s+(?=(?:%|分|万元|万|元|亿元|亿)$)")


def drop_thousands(text: str) -> str:
    """Remove thousands separators from numbers whose groups all have 3 digits; other commas stay.

    >>> drop_thousands("215,457.6"), drop_thousands("17,758.87"), drop_thousands("1,548.447")
    ('215457.6', '17758.87', '1548.447')
    >>> drop_thousands("1,5"), drop_thousands("1,50"), drop_thousands("10,0000"), drop_thousands("2,3,4")
    ('1,5', '1,50', '10,0000', '2,3,4')
    """
    if "," not in text:
        return text
    return _THOUSANDS.sub(lambda m: m.group().replace(",", ""), text)


def _number_text(text: str) -> str:
    """A cell as the number patterns expect it: thousands separators and a space before the unit gone."""
    t = drop_thousands(text) if "," in text else text
    if " " in t:
        t = _SPACE_BEFORE_UNIT.sub("", t)
    return t


@lru_cache(maxsize=65536)
def cell_type(text: str) -> str:
    """Coarse type of a cleaned cell: 'num', 'pts' (10分), 'pct', 'money', 'dash', 'method', 'text'.

    >>> [cell_type(x) for x in ["10", "10分", "93.3%", "100.57万元", "—", "执行率×该指标分值", "完成"]]
    ['num', 'pts', 'pct', 'money', 'dash', 'method', 'text']
    >>> [cell_type(x) for x in ["150万", "17,758.87", "100 %", "2.6亿元", "1,5"]]
    ['money', 'num', 'pct', 'money', 'text']
    """
    t = _number_text(text)
    if _PLAIN_NUMBER.match(t):
        return "pts" if t.endswith("分") else "num"
    if _PERCENT.match(t):
        return "pct"
    if _MONEY.match(t):
        return "money"
    if t in DASHES:
        return "dash"
    if any(p in t for p in _method_phrases()):
        return "method"
    return "text"


@lru_cache(maxsize=1)
def _method_phrases() -> tuple[str, ...]:
    """The words of a scoring method (rules/method_phrases.csv), cleaned as cells are."""
    from perfdata import rules  # (rules imports this module)

    return tuple(_number_text(clean(r["phrase"])) for r in rules.table("method_phrases.csv"))


_NUMBERS: dict[str, float | None] = memo()


def to_number(text: str | None) -> float | None:
    """A plain number, "10分", "100.57万元", "93.90%" or "1,780.68" as float; None otherwise.

    Amounts come out in 万元: "68400元" → 6.84, "2.6亿元" → 26000.0 (1 亿 = 10,000 万).

    >>> to_number("10分"), to_number("100.57万元"), to_number("93.90%"), to_number("—"), to_number("完成")
    (10.0, 100.57, 93.9, None, None)
    >>> to_number("125.25万"), to_number("215,457.6"), to_number("100 %"), to_number("2.6亿元"), to_number("1,5")
    (125.25, 215457.6, 100.0, 26000.0, None)
    """
    if not text:
        return None
    try:
        return _NUMBERS[text]
    except KeyError:
        pass
    value = None
    t = _number_text(text)
    m = _PLAIN_NUMBER.match(t) or _PERCENT.match(t)
    if m:
        value = float(_NUMBER.match(t).group())
    else:
        m = _MONEY.match(t)
        if m:
            value = float(m.group(1))
            unit = m.group(2)
            if unit == "元":
                value = value / 10000
            elif unit[0] == "亿":
                value = round(value * 10000, 6)
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
_DIGIT_COMMA = re.compile(r"\d,\d")


@lru_cache(maxsize=65536)
def parse_value(text: str | None) -> Value:
    """Read a target or actual such as "≥300人", "≤1700元/人", "100%", "12月", "≥95比率" or "按时完成".

    >>> parse_value("≥300人"), parse_value("≥95比率").unit, parse_value("按时完成").quantitative
    (Value(op='≥', value=300.0, unit='人', quantitative=True), '%', False)

    Signs and words from other provinces' forms (Yunnan "≧"/"═", Hubei "不低于", "小于0.9‰"):

    >>> parse_value("≧95%"), parse_value("═100%")
    (Value(op='≥', value=95.0, unit='%', quantitative=True), Value(op='=', value=100.0, unit='%', quantitative=True))
    >>> parse_value("不低于95%"), parse_value("小于0.9‰")
    (Value(op='≥', value=95.0, unit='%', quantitative=True), Value(op='<', value=0.9, unit='‰', quantitative=True))

    A deadline is not a quantity (the caller keeps the raw text):

    >>> parse_value("9月前").quantitative, parse_value("8月31日前").quantitative
    (False, False)
    """
    if not text:
        return Value(None, None, None, False)
    t = drop_thousands(clean(text).replace(" ", ""))
    if _DIGIT_COMMA.search(t):  # "1,5": not one number
        return Value(None, None, None, False)
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
    if m:  # a number of more than 9 digits is no indicator's (and int() refuses 4,300 digits)
        no, text = (int(m.group(1)) if len(m.group(1)) <= 9 else None), text[m.end():]
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
