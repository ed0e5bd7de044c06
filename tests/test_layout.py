from conftest import GUYUAN, RAW, XIANGHE, XINGLONG, XINXIANG

from perfdata.readers.text import read_text
from perfdata.tables import layout


def test_other_tables_are_recognised_not_read_as_project_forms(bundled):
    t = bundled["tables"]
    kinds = t.groupby(["source_file", "kind"]).size().to_dict()
    assert kinds[(XINXIANG, "summary")] == 5
    assert kinds[(XINXIANG, "department_form")] == 1
    assert kinds[(XIANGHE, "target_table")] == 41
    assert (bundled["forms"].source_file == XIANGHE).sum() == 0
    summary_lines = t[(t.source_file == XINXIANG) & (t.kind == "summary")].line_start.tolist()
    assert summary_lines == [135, 302, 386, 492, 622]


def test_form_counts_unchanged(bundled):
    f = bundled["forms"]
    assert f.groupby("source_file").size().to_dict() == {XINGLONG: 24, XINXIANG: 11, GUYUAN: 8}
    t = bundled["tables"]
    assert (t.kind == "project_form").sum() == 43


def test_target_tables_of_other_title_shapes(bundled):
    t = bundled["tables"]
    t = t[(t.source_file == XIANGHE) & (t.kind == "target_table")]
    lines = t.line_start.tolist()
    assert lines[0] == 114 and t.title.iloc[0] == "1.经费补助资金"  # no "绩效目标表" in the title
    assert {1977, 2038, 2099, 2161} <= set(lines)  # titles longer than 60 characters


def test_report_titles_end_the_table_above():
    rows = read_text((RAW / XINXIANG).read_bytes()).rows
    starts = layout.find_tables(rows)
    reports = [rows[s.index].line for s in starts if s.kind == "report"]
    assert reports == [146, 312, 394, 502, 641, 745]
    summary = next(k for k, s in enumerate(starts) if s.kind == "summary")
    assert rows[starts[summary + 1].index].line == 146  # the narrative is not part of the summary table


def test_procurement_table_with_a_project_name_column_is_not_a_form(bundled):
    # 香河县 line 2729 has a "项目名称" cell in a 政府采购 table: no form there
    f = bundled["forms"]
    assert not (f.source_file == XIANGHE).any()


def _starts(text: str):
    rows = read_text(text.encode()).rows
    return [(rows[s.index].line, rows[s.anchor].line, s.kind) for s in layout.find_tables(rows)]


HEADER = "一级指标\t二级指标\t三级指标\t绩效指标描述\t指标值\t指标值确定依据"
ROW = "产出指标\t数量指标\t人员数量\t服务人员数量\t≥5人\t根据工作计划"


def test_target_table_found_by_its_header_and_goal_rows():
    text = "\n".join(["1.经费补助资金", "绩效目标\t保障5人工资性支出", HEADER, ROW,
                      "2.另一个项目", "绩效目标\t保障日常运转", "\t第二行目标", HEADER, ROW])
    assert _starts(text) == [(1, 3, "target_table"), (5, 8, "target_table")]


def test_header_repeated_after_a_page_break_starts_nothing():
    text = "\n".join(["6.劳务派遣服务经费绩效目标表", "绩效目标\t服务工作", HEADER, ROW, ROW, "", "- 7 -", "",
                      HEADER, ROW])
    assert _starts(text) == [(1, 3, "target_table")]


def test_self_evaluation_header_is_not_a_target_header():
    rows = read_text("一级指标\t二级指标\t三级指标\t年度指标值\t实际完成值\t分值\t得分".encode()).rows
    assert not layout.is_target_header(rows[0])
    assert layout.is_target_header(read_text(HEADER.encode()).rows[0])


def test_a_project_named_like_a_title_and_a_two_row_header_open_one_project_form():
    """A copy one cell per line (云南 #11 once simplified): the value under a lone 项目名称 ends in 绩效自评表 but is
    no title, and an indicator header whose second row reads like a 绩效目标表's (一级指标 | 二级指标 | 三级指标 |
    指标性质 | 指标值 | 度量单位) under a first row with 实际完成值 | 得分, after a funding header, is a form's."""
    from perfdata.readers.text import to_grid

    text = "\n".join([
        "| 2020年度项目支出绩效自评表 |", "| 项目名称 |", "2020年省级自然资源卫片执法补助经费支出绩效自评表 |",
        "| 主管部门 | 丽江市自然资源和规划局 | 实施单位 | 丽江市古城区自然资源局 |",
        "项目资金 (万元) | 年初预算数 | 全年预算数 | 全年执行数 | 分值 | 执行率 | 得分 |",
        "| 年度资金总额 | 7.29 | 7.29 | 7.29 | 10.00 | 100% | 10.00 |",
        "| 绩效指标 | 年度指标值 | 实际完成值 | 分值 | 得分 | 偏差原因分析及改进措施 |",
        "| 一级指标 | 二级指标 | 三级指标 | 指标性质 | 指标值 | 度量单位 |",
        "| 产出指标 | 数量指标 | 卫片执法补助经费 | ﹦ | 72890 | 元 | 72890 | 10.00 | 9.00 |"])
    starts = layout.find_tables(to_grid(text).rows)
    assert [(s.kind, s.title) for s in starts] == [("project_form", "2020年度项目支出绩效自评表")]
