import codecs

import pytest

from perfdata.readers.text import ReadError, decode, read_text, to_grid

SAMPLE = "项目名称\t\t档案管理\n主管部门\t兴隆县人力资源和社会保障局\t实施单位\t人才交流中心\n"


@pytest.mark.parametrize(
    "data, encoding",
    [
        pytest.param(SAMPLE.encode("utf-8"), "utf-8", id="utf8"),
        pytest.param(codecs.BOM_UTF8 + SAMPLE.encode("utf-8"), "utf-8-sig", id="utf8-bom"),
        pytest.param(SAMPLE.encode("gbk"), "gb18030", id="gbk"),
        pytest.param(SAMPLE.encode("gb18030"), "gb18030", id="gb18030"),
        pytest.param(SAMPLE.encode("utf-16"), "utf-16", id="utf16-bom"),
        pytest.param(SAMPLE.encode("utf-16-le"), "utf-16-le", id="utf16le-no-bom"),
        pytest.param(SAMPLE.encode("utf-16-be"), "utf-16-be", id="utf16be-no-bom"),
    ],
)
def test_encodings_are_detected_and_named(data, encoding):
    text, used = decode(data)
    assert used == encoding
    assert text.replace("\ufeff", "") == SAMPLE


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty file"),
        (b"  \n\n\t\n", "only whitespace"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary"),
        ("项目名称\t档案管理\n".encode() + b"\xff\xfe\xfa\n", "undecodable bytes"),
    ],
)
def test_bad_input_raises_clear_read_error(data, message):
    with pytest.raises(ReadError) as e:
        read_text(data)
    assert message in str(e.value)


def test_undecodable_error_names_the_line():
    data = "第一行\n第二行\n".encode() + b"\x81\x30\xff\xff\n"
    with pytest.raises(ReadError) as e:
        read_text(data)
    assert e.value.line == 3


def test_pipe_rows_and_markdown_rules():
    g = to_grid("| 项目名称 | 档案管理 |\n|---|---|\n| 主管部门 | 兴隆县人力资源和社会保障局 |\n")
    assert g.mode == "pipe"
    assert [r.cells for r in g.rows[:3]] == [["项目名称", "档案管理"], [], ["主管部门", "兴隆县人力资源和社会保障局"]]


def test_crlf_and_line_numbers():
    g = to_grid("a\tb\r\n\r\nc\td\r\n")
    assert [(r.line, r.cells) for r in g.rows] == [(1, ["a", "b"]), (2, [""]), (3, ["c", "d"])]


def test_one_cell_per_line_rows_are_regrouped():
    text = "\t一级指标\n\t二级指标\n\t三级指标\n\n\t产出指标\n\t数量指标\n\t保障人力资源市场\n全年正常运转\n\n"
    g = to_grid(text)
    rows = [r for r in g.rows if any(r.cells)]
    assert rows[0].cells == ["", "一级指标", "二级指标", "三级指标"]
    assert rows[1].cells == ["", "产出指标", "数量指标", "保障人力资源市场全年正常运转"]
    assert (rows[1].line, rows[1].end) == (5, 8)


def test_space_separated_layout_mode():
    g = to_grid("项目名称    档案管理\n主管部门    兴隆县人力资源和社会保障局    实施单位   人才交流中心\n")
    assert g.mode == "spaces"
    assert g.rows[1].cells == ["主管部门", "兴隆县人力资源和社会保障局", "实施单位", "人才交流中心"]


@pytest.mark.parametrize("cell", [
    "全年预算数", "全年预 算数", "１００％", "≥ 95 %", "$\\geq 95\\%$", "<p>完成</p>", "7.14 万 元", "a\u00a0b",
    "指标1：享受人数", "\u3000产出指标", "x\x0by", "e\u0301", "ｶ", "(50分)", "—", "", " ", "\u2028",
])
def test_tab_rows_are_cleaned_like_clean(cell):
    from itertools import permutations

    from perfdata.normalize import clean

    others = ["产出指标", "10", "≥95%"]
    for parts in permutations([cell, *others]):
        line = "\t".join(parts)
        row = to_grid(line + "\n" + line + "\n").rows[1]  # the second copy goes through the memo
        assert row.cells == [clean(p) for p in parts], line


def test_comparison_signs_nfkc_leaves_are_folded_in_tab_rows():
    """A tab row NFKC leaves unchanged skipped clean(), and with it the folding of Yunnan's '≧' and '═': the
    indicator's operator read as '=' from the .txt where the same cells from a spreadsheet read '≥'."""
    g = read_text("三级指标\t指标性质\t指标值\n营养改善计划覆盖率\t≧\t100\n政策知晓率\t═\t100\n".encode())
    assert [r.cells[1] for r in g.rows[1:]] == ["≥", "="]
