import os
import re
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perfdata.normalize import (
    cell_type,
    clean,
    drop_thousands,
    is_filler,
    key,
    looks_traditional,
    parse_value,
    simplify,
    simplify_document,
    split_indicator_no,
    split_level_weight,
    strip_pinyin,
    to_number,
)

RAW = Path(__file__).resolve().parents[1] / "data" / "raw"
BUNDLED = sorted(RAW.glob("*.txt"))
# the development set of real forms from other provinces (not part of the repository)
EXTERNAL = Path(os.environ.get("PERFDATA_EXTERNAL", "/work/shared/external"))
EXTERNAL_FILES = sorted(EXTERNAL.glob("[0-9][0-9]_*.txt"))
TRADITIONAL = ("06_", "11_", "18_")  # machine-converted to traditional characters, with pinyin artefacts
needs_external = pytest.mark.skipif(not EXTERNAL_FILES, reason=f"no development set at {EXTERNAL}")


@pytest.mark.parametrize(
    "raw, expected",
    [
        pytest.param("全年预 算数", "全年预算数", id="word-broken-across-cells"),
        pytest.param("<10 万 元", "<10万元", id="spaced-unit"),
        pytest.param("$\\geq 95\\%$", "≥95%", id="latex-geq"),
        pytest.param("１００％", "100%", id="full-width-digits"),
        pytest.param("其中：当年财政拨款", "其中:当年财政拨款", id="full-width-colon"),
        pytest.param("兴隆县社会保险事业管理 局", "兴隆县社会保险事业管理局", id="space-before-cjk"),
        pytest.param("<b>总 分</b>", "总分", id="html-bold"),
        pytest.param("  LPR-150BP  ", "LPR-150BP", id="ascii-kept"),
        pytest.param("\u3000满意度\u3000指标\u00a010分", "满意度指标10分", id="ideographic-and-nbsp"),
        # comparison signs from Yunnan forms (#11, #15): "| 项目验收合格率 | ﹦ | 100 | % |", "| ≧ | 735 | 人次"
        pytest.param("\ufe66", "=", id="small-equals-U+FE66-by-NFKC"),
        pytest.param("\uff1d100%", "=100%", id="full-width-equals-by-NFKC"),
        pytest.param("\u2550", "=", id="box-double-horizontal-U+2550"),
        pytest.param("\u2267 95 %", "≥95%", id="geqq-U+2267"),
        pytest.param("\u2266 30万元", "≤30万元", id="leqq-U+2266"),
        pytest.param("\u2a7e90%", "≥90%", id="slanted-geq-U+2A7E"),
        pytest.param("生均补助标准达标率 ═ 100", "生均补助标准达标率=100", id="yunnan-15-row"),
    ],
)
def test_clean(raw, expected):
    assert clean(raw) == expected


def test_key_drops_bracketed_notes_and_colons():
    assert key("全年执行数 (B)") == "全年执行数"
    assert key("分值 (10分)") == "分值"
    assert key("年度资金总额:") == "年度资金总额"


@pytest.mark.parametrize(
    "raw, expected",
    [("100.57万元", 100.57), ("93.90%", 93.9), ("10分", 10.0), ("1,780.68", 1780.68),
     ("68400元", 6.84), ("—", None), ("完成", None), ("", None),
     # amounts as other provinces print them (#04, #17, #07, #23, #21, #11)
     ("150万", 150.0), ("125.25万", 125.25), ("4753.66万元", 4753.66), ("3824.26万元", 3824.26),
     ("215,457.6", 215457.6), ("17,758.87", 17758.87), ("1,548.447", 1548.447), ("9,034", 9034.0),
     ("12,345,678.9", 12345678.9), ("100 %", 100.0), ("4753.66 万元", 4753.66), ("10.00", 10.0),
     ("207.4538", 207.4538), ("0.00", 0.0), ("-1,234.5", -1234.5),
     # 1 亿 = 10,000 万: the tidy tables hold 万元
     ("2.6亿元", 26000.0), ("3亿", 30000.0), ("0.07亿元", 700.0),
     # commas that are not thousands separators
     ("1,5", None), ("1,50", None), ("10,0000", None), ("1,234,5", None), ("100 200", None)],
)
def test_to_number(raw, expected):
    assert to_number(raw) == expected


def test_drop_thousands_only_3_digit_groups():
    assert drop_thousands("17,758.87 | 14,520.34 | 81.76%") == "17758.87 | 14520.34 | 81.76%"
    assert drop_thousands("1,5") == "1,5"
    assert drop_thousands("0.123,456") == "0.123,456"
    assert drop_thousands("第1,2,3项") == "第1,2,3项"


def test_cell_types():
    assert [cell_type(x) for x in ["10", "10分", "88%", "3.5万元", "—", "完成"]] == [
        "num", "pts", "pct", "money", "dash", "text"]
    assert [cell_type(x) for x in ["150万", "4753.66万元", "125.25万", "215,457.6", "17,758.87", "1,548.447",
                                   "100 %", "10.00", "2.6亿元"]] == [
        "money", "money", "money", "num", "num", "num", "pct", "num", "money"]
    assert cell_type("1,5") == "text"
    assert cell_type(clean("执行率×该指标分值, 最高不得超过分值上限。")) == "method"
    assert cell_type("同效益指标得分计算方式。") == "method"


@pytest.mark.parametrize(
    "raw, op, value, unit, quantitative",
    [
        ("≥300 人", "≥", 300.0, "人", True),
        ("≤1700 元/人", "≤", 1700.0, "元/人", True),
        ("100%", "=", 100.0, "%", True),
        ("12月", "=", 12.0, "月", True),
        ("≥95比率", "≥", 95.0, "%", True),
        ("大于600 元", ">", 600.0, "元", True),
        ("$\\geq 95\\%$", "≥", 95.0, "%", True),
        ("按时完成", None, None, None, False),
        ("8月31日前", None, None, None, False),
        ("2024年年底", None, None, None, False),
        # other provinces (#15 "≧ | 735 | 人次", "═ | 100 | %"; #18 traditional text after simplify)
        ("≧95%", "≥", 95.0, "%", True),
        ("≧735人次", "≥", 735.0, "人次", True),
        ("═100%", "=", 100.0, "%", True),
        ("﹦72890元", "=", 72890.0, "元", True),
        ("不低于95%", "≥", 95.0, "%", True),
        ("不低于90%", "≥", 90.0, "%", True),
        ("小于0.9‰", "<", 0.9, "‰", True),
        ("不少于12 种", "≥", 12.0, "种", True),
        (">=90%", "≥", 90.0, "%", True),
        ("≥=90%", "≥", 90.0, "%", True),
        ("0人次", "=", 0.0, "人次", True),
        ("2.6亿元", "=", 2.6, "亿元", True),  # an indicator value keeps its printed unit
        ("215,457.6元", "=", 215457.6, "元", True),
        ("1,5个", None, None, None, False),
        # a deadline (#24 "| 自然村庄验收时间 | 9月前 | 7月 | 5 |") is not a quantity; callers keep the raw text
        ("9月前", None, None, None, False),
        ("11月前", None, None, None, False),
        ("═", None, None, None, False),
    ],
)
def test_parse_value(raw, op, value, unit, quantitative):
    v = parse_value(raw)
    assert (v.op, v.value, v.unit, v.quantitative) == (op, value, unit, quantitative)


def test_levels_and_indicator_numbers():
    assert split_level_weight("产出 指标 (40 分)") == ("产出指标", 40.0)
    assert split_level_weight("(50分)") == ("", 50.0)
    assert split_indicator_no(clean("指标 1：享受人数")) == (1, "享受人数")
    assert split_indicator_no("指标2:") == (2, "")
    assert split_indicator_no(": 服务对象满意度") == (None, "服务对象满意度")
    assert is_filler(".....") and is_filler("------") and not is_filler("完成")


# --- traditional → simplified -----------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("項(xiàng)目", "項目"),
        ("監(jiān)測", "監測"),
        ("執(zhí)行數(shù)", "執行數"),
        ("得分(20分*執(zhí)行率)", "得分(20分*執行率)"),  # #06, an artefact inside a real bracket
        ("項（xiàng）目", "項目"),  # full-width brackets
        ("項(xia\u0300ng)目", "項目"),  # decomposed tone mark
        ("我們(men)的", "我們的"),  # neutral tone, after a converted character
        # legitimate brackets stay
        ("預算數(A)", "預算數(A)"),
        ("執行率(B/A)", "執行率(B/A)"),
        ("项目资金(万元)", "项目资金(万元)"),
        ("重量(kg)", "重量(kg)"),
        ("長度(km)", "長度(km)"),
        ("指标(a)", "指标(a)"),
        ("xx(xx)", "xx(xx)"),
        ("LPR(bǎ)", "LPR(bǎ)"),  # after ASCII
        ("的(de)", "的(de)"),  # neutral tone after an unconverted character: not an artefact
    ],
)
def test_strip_pinyin(raw, expected):
    assert strip_pinyin(raw) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        # #06
        ("2020年度水土保持監(jiān)測項(xiàng)目績效自評表", "2020年度水土保持监测项目绩效自评表"),
        ("預(yù)算數(shù)(A)執(zhí)行數(shù)(B)執(zhí)行率(B/A)得分(20分*執(zhí)行率)年度財(cái)政資金總額1010100%20",
         "预算数(A)执行数(B)执行率(B/A)得分(20分*执行率)年度财政资金总额1010100%20"),
        # #11
        ("| 年度資金總額 | 7.29 | 7.29 | 7.29 | 10.00 | 100% | 10.00 | ||||",
         "| 年度资金总额 | 7.29 | 7.29 | 7.29 | 10.00 | 100% | 10.00 | ||||"),
        ("| 質量指標(biāo) | 項(xiàng)目驗(yàn)收合格率 | ﹦ | 100 | % | 100 | 20 | 19 | |||",
         "| 质量指标 | 项目验收合格率 | ﹦ | 100 | % | 100 | 20 | 19 | |||"),
        # #18
        ("區(qū)級森林防火專項(xiàng)經(jīng)費(fèi)", "区级森林防火专项经费"),
        ("森林火災(zāi)受害面積小于0.9‰達(dá)成預(yù)期指標(biāo)", "森林火灾受害面积小于0.9‰达成预期指标"),
    ],
)
def test_simplify_real_lines(raw, expected):
    assert simplify(raw) == expected


def test_simplify_document_is_identity_on_simplified_text():
    text = "| 年度资金总额 | 7.29 | 7.29 |\n乾隆年间的著作\n"
    out, converted = simplify_document(text)
    assert out is text and converted is False
    assert simplify_document("") == ("", False)


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.name[:24])
def test_bundled_documents_are_not_traditional(path):
    text = path.read_text(encoding="utf-8")
    assert not looks_traditional(text)
    out, converted = simplify_document(text)
    assert out is text and not converted


def test_looks_traditional_is_cheap():
    text = max((p.read_text(encoding="utf-8") for p in BUNDLED), key=len)
    looks_traditional(text)  # OpenCC loaded
    n = 20
    start = time.perf_counter()
    for _ in range(n):
        looks_traditional(text)
    assert (time.perf_counter() - start) / n < 0.005  # measured ≈ 0.2 ms on the 29,375-character document


@needs_external
@pytest.mark.parametrize("path", EXTERNAL_FILES, ids=lambda p: p.name[:2])
def test_external_documents(path):
    text = path.read_text(encoding="utf-8")
    out, converted = simplify_document(text)
    assert looks_traditional(text) is converted is path.name.startswith(TRADITIONAL)
    assert len(out.splitlines()) == len(text.splitlines()) and out.count("\n") == text.count("\n")
    if converted:
        assert not re.search(r"\((?:[a-z]*[āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü][a-z]*)+\)", out)
        assert simplify(out) == out
    else:
        assert out is text


@needs_external
@pytest.mark.parametrize(
    "prefix, expected",
    [("06_", ["水土保持监测", "黄冈市水土保持与农田水利科研所", "预算数(A)执行数(B)执行率(B/A)",
              "年度财政资金总额1010100%20", "服务对象满意度指标整编资料审核98%98%19.6", "总分99.6"]),
     ("11_", ["2020年省级自然资源卫片执法补助经费支出绩效自评表",
              "| 年度资金总额 | 7.29 | 7.29 | 7.29 | 10.00 | 100% | 10.00 |", "| 其中:当年财政拨款 |",
              "| 质量指标 | 项目验收合格率 | ﹦ | 100 | % | 100 | 20 | 19 |"]),
     ("18_", ["区级森林防火专项经费", "蔡甸区园林和林业局", "一般预算内拨款6363100%合计6363100%",
              "森林火灾火因查明率不低于95%达成预期指标", "森林火灾受害面积小于0.9‰"])],
)
def test_external_traditional_documents_convert(prefix, expected):
    path = next(p for p in EXTERNAL_FILES if p.name.startswith(prefix))
    out, converted = simplify_document(path.read_text(encoding="utf-8"))
    assert converted
    for fragment in expected:
        assert fragment in out


_BUNDLED_CHARS = "".join(sorted(set("".join(p.read_text(encoding="utf-8") for p in BUNDLED))))
_TRADITIONAL_BITS = ["項(xiàng)", "監(jiān)", "數(shù)", "執(zhí)", "標(biāo)", "區(qū)", "經(jīng)費(fèi)", "們(men)",
                     "績效", "預算", "(A)", "(kg)", "乾隆", "著", "\n", "\r\n", "\r", "\u2028", "\x0c", "\x85"]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=_BUNDLED_CHARS, max_size=400))
def test_simplify_document_identity_on_bundled_characters(text):
    out, converted = simplify_document(text)
    assert out is text and not converted
    assert len(simplify(text).splitlines()) == len(text.splitlines())


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_TRADITIONAL_BITS), st.text(max_size=8)), max_size=60).map("".join))
def test_simplify_keeps_lines(text):
    out, _ = simplify_document(text)
    assert len(out.splitlines()) == len(text.splitlines()) and out.count("\n") == text.count("\n")
    assert len(simplify(text).splitlines()) == len(text.splitlines())


def test_simplify_survives_a_lone_surrogate():
    assert simplify("項\ud800目") == "项\ud800目"
