import pytest

from perfdata.normalize import (
    cell_type,
    clean,
    is_filler,
    key,
    parse_value,
    split_indicator_no,
    split_level_weight,
    to_number,
)


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
     ("68400元", 6.84), ("—", None), ("完成", None), ("", None)],
)
def test_to_number(raw, expected):
    assert to_number(raw) == expected


def test_cell_types():
    assert [cell_type(x) for x in ["10", "10分", "88%", "3.5万元", "—", "完成"]] == [
        "num", "pts", "pct", "money", "dash", "text"]
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
