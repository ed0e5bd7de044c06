"""The working-paper workbook: Chinese headers and labels, numbers as numbers with formats, 原文位置 filled, print
set-up, frozen key columns, wrapped text with row heights, reviewer columns, the 部门×年度 and 说明 sheets; text
from documents stays text; `perfdata check --xlsx` writes the same workbook."""

from __future__ import annotations

import pandas as pd
import pytest
from openpyxl import load_workbook

from perfdata import schema
from perfdata.report import excel
from tests.conftest import RAW, XINGLONG, XINXIANG, form_of
from tests.report_checks import assert_clean_workbook

SHEETS = ["说明", "问题清单", "抽查清单", "按规则统计", "部门×年度", "跨年度对比", "雷同文本", "数字分布检验",
          "项目自评表", "未读取内容", "文件问题"]
FINDING_HEADER = ["序号", "严重程度", "规则名称", "项目名称", "地区", "主管部门", "年度", "类别", "字段", "应为",
                  "实为", "说明", "原文位置", "证据", "复核意见", "处理结果", "复核人", "复核日期"]


@pytest.fixture(scope="module")
def workbook(bundled, tmp_path_factory):
    hire = form_of(bundled, XINXIANG, "事业单位招聘")
    rows = [
        {"rule": "exec_rate_mismatch", "category": "consistency", "severity": "medium", "form_id": hire.form_id,
         "region": "新乡县", "department": hire.department, "year": 2021, "project_name": hire.project_name,
         "field": "exec_rate_reported", "expected": "100", "found": "13.3", "message": "执行率填报与执行数不符",
         "source_file": XINXIANG, "line": int(hire.funding_line)},
        {"rule": "score_above_weight", "category": "consistency", "severity": "high",
         "project_name": "=HYPERLINK(\"x\")", "department": "兴隆县人力资源和社会保障局", "region": "兴隆县",
         "year": 2024, "field": "score", "expected": "≤15", "found": "+86-10", "message": "-以减号开头",
         "source_file": XINGLONG, "line": 3, "lines": "3,17", "evidence": "@原文"},
        {"rule": "missing_target", "category": "completeness", "severity": "low", "message": "模板级问题"},
    ]
    tables = {**bundled, "anomalies": schema.frame("anomalies", rows)}
    info = {"run_id": "r1", "run_date": "2025-01-01 06:00:00 UTC", "data_dir": "/data",
            "parameters": {"years": [2021], "exec_rate_threshold": 85.0}}
    path = excel.anomalies_workbook(tables, tmp_path_factory.mktemp("xlsx") / "anomalies.xlsx", raw_dir=RAW,
                                    info=info)
    return load_workbook(path), bundled, hire


def _columns(ws) -> dict[str, int]:
    return {c.value: c.column for c in ws[1]}


def test_sheets_headers_frozen_filtered_and_printable(workbook):
    wb, bundled, _ = workbook
    assert wb.sheetnames == SHEETS
    ws = wb["问题清单"]
    assert [c.value for c in ws[1]] == FINDING_HEADER
    assert ws.freeze_panes == "E2"  # 序号, 严重程度, 规则名称, 项目名称 stay in view
    assert ws.auto_filter.ref == f"A1:{ws.cell(1, len(FINDING_HEADER)).column_letter}4"
    for name in SHEETS:
        s = wb[name]
        assert s.page_setup.orientation == "landscape" and int(s.page_setup.paperSize) == 9, name  # A4
        assert s.sheet_properties.pageSetUpPr.fitToPage and s.page_setup.fitToWidth == 1, name
        assert s.page_setup.fitToHeight == 0, name
        if name != "说明":
            assert s.print_title_rows.replace("$", "") == "1:1", name  # the header row on every page
    assert wb["项目自评表"].max_row == 1 + len(bundled["forms"]) == 44
    assert wb["未读取内容"].max_row == 1 + len(bundled["leftovers"])
    assert_clean_workbook(wb)


def test_findings_in_chinese_sorted_with_location_and_evidence(workbook):
    wb, _, hire = workbook
    ws = wb["问题清单"]
    col = _columns(ws)
    assert [ws.cell(r, col["严重程度"]).value for r in range(2, 5)] == ["高", "中", "低"]
    assert [ws.cell(r, col["规则名称"]).value for r in range(2, 5)] == ["得分超过分值", "执行率与执行数/预算数不符",
                                                                    "缺少年度指标值或指标名称"]
    assert ws.cell(3, col["类别"]).value == "表内一致性" and ws.cell(3, col["字段"]).value == "执行率"
    assert ws.cell(2, col["严重程度"]).fill.fgColor.rgb.endswith(excel.SEVERITY_FILLS["high"])
    assert ws.cell(3, col["严重程度"]).fill.fgColor.rgb.endswith(excel.SEVERITY_FILLS["medium"])
    # 原文位置: file:line, every line of a finding resting on several; — where no file applies
    assert ws.cell(3, col["原文位置"]).value == f"{XINXIANG}:{int(hire.funding_line)}"
    assert ws.cell(2, col["原文位置"]).value == f"{XINGLONG}:3,17"
    assert ws.cell(4, col["原文位置"]).value == "—" and ws.cell(4, col["主管部门"]).value == "未填"
    evidence = ws.cell(3, col["证据"]).value  # filled from the raw document: the 年度资金总额 line of that form
    assert "年度资金总额" in evidence and "1.33" in evidence
    assert ws.cell(2, col["证据"]).value == "@原文"  # given evidence is kept
    assert ws.cell(3, col["说明"]).alignment.wrap_text and ws.cell(3, col["证据"]).alignment.wrap_text
    assert ws.row_dimensions[3].height and ws.row_dimensions[3].height > excel.LINE_HEIGHT  # wrapped, made room
    assert ws.cell(3, col["序号"]).value == 2 and ws.cell(3, col["年度"]).value == 2021


def test_expected_and_found_are_numbers_formatted_as_their_field(workbook):
    wb, _, _ = workbook
    ws = wb["问题清单"]
    col = _columns(ws)
    exp, fnd = ws.cell(3, col["应为"]), ws.cell(3, col["实为"])  # a rate: 100 and 13.3 percent
    assert exp.value == pytest.approx(1.0) and fnd.value == pytest.approx(0.133)
    assert exp.number_format == fnd.number_format == "0.00%"
    assert ws.cell(2, col["应为"]).value == "≤15"  # not a number: stays as printed


def test_reviewer_columns_are_empty_with_a_choice_of_results(workbook):
    wb, _, _ = workbook
    ws = wb["问题清单"]
    col = _columns(ws)
    for name in ("复核意见", "处理结果", "复核人", "复核日期"):
        assert all(ws.cell(r, col[name]).value is None for r in range(2, 5)), name
    assert ws.cell(2, col["复核日期"]).number_format == "yyyy-mm-dd"
    (dv,) = ws.data_validations.dataValidation
    assert dv.type == "list" and "属实，需整改" in dv.formula1
    assert ws.cell(1, col["处理结果"]).column_letter in str(dv.sqref)


def test_counts_by_rule_and_department_add_up(workbook):
    wb, _, _ = workbook
    ws = wb["按规则统计"]
    col = _columns(ws)
    assert {"规则名称", "类别", "规则严重程度", "高", "中", "低", "合计", "为什么重要"} <= set(col)
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert rows[-1][0] == "合计" and rows[-1][col["合计"] - 1] == 3 == sum(r[col["合计"] - 1] for r in rows[:-1])
    assert {r[0] for r in rows[:-1]} == {"得分超过分值", "执行率与执行数/预算数不符", "缺少年度指标值或指标名称"}
    ws = wb["部门×年度"]
    col = _columns(ws)
    assert [c.value for c in ws[1]] == ["地区", "主管部门", "年度", "高", "中", "低", "合计"]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert rows[-1][0] == "合计" and rows[-1][-1] == 3 == sum(r[-1] for r in rows[:-1])
    assert ("未填", "未填", "未填", 0, 0, 1, 1) in rows  # a finding without department or year is counted
    assert ws.freeze_panes == "D2"


def test_notes_sheet_says_what_the_workbook_is(workbook):
    wb, bundled, _ = workbook
    ws = wb["说明"]
    rows = [r for r in ws.iter_rows(values_only=True) if r[0]]
    keyed = {r[0]: r[1] for r in rows}
    assert keyed["运行编号"] == "r1" and keyed["生成时间"] == "2025-01-01 06:00:00 UTC"
    assert keyed["筛选条件"] == "年度：2021" and keyed["参数"] == "执行率说明阈值(%) 85"
    assert keyed["问题总数"] == "3 条（高 1、中 1、低 1）"
    for name in SHEETS[1:]:
        assert keyed[name], name  # every sheet explained
    for f in bundled["files"].itertuples():
        assert (f.source_file, "文本") == next((r[0], r[1]) for r in rows if r[0] == f.source_file)
        assert any(r[4] == f.sha256 for r in rows)
    rules = {r[0]: r for r in rows if r[0] == "得分超过分值"}
    assert rules["得分超过分值"][3] == 1 and "分值" in rules["得分超过分值"][4]


def test_text_starting_with_formula_characters_stays_text(workbook):
    wb, _, _ = workbook
    ws = wb["问题清单"]
    col = _columns(ws)
    for name, want in (("项目名称", '=HYPERLINK("x")'), ("实为", "+86-10"), ("说明", "-以减号开头"), ("证据", "@原文")):
        cell = ws.cell(2, col[name])
        assert cell.value == want and cell.data_type == "s", name
        assert cell.quotePrefix, name


def test_forms_sheet_values_formats_and_widths(workbook):
    wb, _, _ = workbook
    ws = wb["项目自评表"]
    col = _columns(ws)
    names = [ws.cell(r, col["项目名称"]).value for r in range(2, ws.max_row + 1)]
    assert "印刷干部考核手册及劳动合同" in names
    r = names.index("冀财社[2023]205号中央就业补助(就业见习补贴)") + 2
    assert ws.cell(r, col["全年执行数(万元)"]).value == pytest.approx(374.94)
    assert ws.cell(r, col["全年执行数(万元)"]).number_format == "#,##0.00"
    assert ws.cell(r, col["计算执行率"]).value == pytest.approx(0.7499)  # 74.99 %
    assert ws.cell(r, col["计算执行率"]).number_format == "0.00%"
    assert ws.cell(r, col["年度"]).value == 2024
    assert ws.cell(r, col["执行率口径"]).value == "全年预算数"
    assert ws.cell(r, col["原文位置"]).value.startswith(XINGLONG + ":")
    width = ws.column_dimensions[ws.cell(1, col["项目名称"]).column_letter].width
    assert excel.WRAP_WIDTH >= width > 30  # long Chinese names: wide, but capped
    assert ws.column_dimensions[ws.cell(1, col["年度"]).column_letter].width < 14
    assert "版式" not in col and "项目匹配键" not in col  # reader internals left out


def test_empty_findings_still_give_a_workbook(tmp_path, bundled):
    path = excel.anomalies_workbook({"forms": bundled["forms"]}, tmp_path / "a.xlsx")
    wb = load_workbook(path)
    assert wb["问题清单"].max_row == 1 and wb["按规则统计"].max_row == 1
    assert not (tmp_path / "a.xlsx.tmp").exists()


def test_check_xlsx_writes_the_working_paper(tmp_path, bundled, capsys):
    from perfdata import cli, store

    store.write(bundled, tmp_path / "data")
    assert cli.main(["check", str(tmp_path / "data"), "--raw", str(RAW), "--xlsx"]) == 0
    out = capsys.readouterr().out
    assert "高  " in out and "执行率得分与执行率×分值不符" in out  # the summary in Chinese
    wb = load_workbook(tmp_path / "data" / "anomalies.xlsx")
    assert wb.sheetnames == SHEETS
    found = pd.read_parquet(tmp_path / "data" / "anomalies.parquet")
    ws = wb["问题清单"]
    assert ws.max_row == len(found) + 1 and [c.value for c in ws[1]] == FINDING_HEADER
    col = _columns(ws)
    assert all(ws.cell(r, col["原文位置"]).value not in (None, "—") for r in range(2, ws.max_row + 1))
    rows = list(wb["部门×年度"].iter_rows(min_row=2, values_only=True))
    assert rows[-1][-1] == len(found) == sum(r[-1] for r in rows[:-1])
    assert_clean_workbook(wb)


def test_display_width_and_unknown_columns():
    df = pd.DataFrame({"rate_mean": [1.0], "custom": ["x"]})
    assert excel.headers(df) == ["平均执行率(%)", "custom"]
    assert excel.display_width("ab中文") == 6


def test_evidence_is_quoted_as_the_checks_quote_it(bundled):
    from perfdata import check

    found = check(bundled, raw_dir=RAW)
    single = found[found.lines.isna() | ~found.lines.fillna("").str.contains(",")]
    filled = excel.with_evidence(single.assign(evidence=None), RAW)
    assert len(single) > 50 and filled.evidence.tolist() == single.evidence.tolist()
    assert filled.evidence.str.contains(" | ").any()  # cells shown as the checks show them
