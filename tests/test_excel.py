"""The anomalies workbook: Chinese headers, frozen filtered header, widths, colours, evidence, text stays text."""

from __future__ import annotations

import pandas as pd
import pytest
from openpyxl import load_workbook

from perfdata import schema
from perfdata.report import excel
from tests.conftest import RAW, XINGLONG, XINXIANG, form_of


@pytest.fixture(scope="module")
def workbook(bundled, tmp_path_factory):
    hire = form_of(bundled, XINXIANG, "事业单位招聘")
    rows = [
        {"rule": "exec_rate_stated", "category": "consistency", "severity": "medium", "form_id": hire.form_id,
         "region": "新乡县", "year": 2021, "project_name": hire.project_name, "field": "exec_rate_reported",
         "expected": "100", "found": "13.3", "message": "执行率填报与执行数不符", "source_file": XINXIANG,
         "line": int(hire.funding_line)},
        {"rule": "formula_like", "category": "quality", "severity": "high", "project_name": "=HYPERLINK(\"x\")",
         "found": "+86-10", "message": "-以减号开头", "source_file": XINGLONG, "line": 3, "evidence": "@原文"},
        {"rule": "template", "category": "completeness", "severity": "low", "message": "模板级问题"},
    ]
    tables = {**bundled, "anomalies": schema.frame("anomalies", rows)}
    path = excel.anomalies_workbook(tables, tmp_path_factory.mktemp("xlsx") / "anomalies.xlsx", raw_dir=RAW)
    return load_workbook(path), bundled, hire


def test_sheets_headers_frozen_and_filtered(workbook):
    wb, bundled, _ = workbook
    assert wb.sheetnames == ["问题清单", "按规则统计", "项目自评表", "未读取内容", "文件问题"]
    ws = wb["问题清单"]
    header = [c.value for c in ws[1]]
    assert header[:3] == ["规则", "类别", "严重程度"] and "证据" in header and "说明" in header
    assert header == [schema.labels("anomalies")[c.name] for c in schema.TABLES["anomalies"]]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:{ws.cell(1, len(header)).column_letter}4"
    forms = wb["项目自评表"]
    assert forms.max_row == 1 + len(bundled["forms"]) == 44
    assert wb["未读取内容"].max_row == 1 + len(bundled["leftovers"])


def test_findings_sorted_coloured_and_with_evidence(workbook):
    wb, _, hire = workbook
    ws = wb["问题清单"]
    col = {c.value: c.column for c in ws[1]}
    sev = [ws.cell(r, col["严重程度"]).value for r in range(2, 5)]
    assert sev == ["high", "medium", "low"]
    assert ws.cell(2, 1).fill.fgColor.rgb.endswith(excel.SEVERITY_FILLS["high"])
    assert ws.cell(3, 1).fill.fgColor.rgb.endswith(excel.SEVERITY_FILLS["medium"])
    # evidence filled from the raw document: the 年度资金总额 line of that form
    evidence = ws.cell(3, col["证据"]).value
    assert "年度资金总额" in evidence and "1.33" in evidence
    assert ws.cell(3, col["行号"]).value == int(hire.funding_line)
    assert ws.cell(2, col["证据"]).value == "@原文"  # given evidence is kept
    assert ws.cell(3, col["说明"]).alignment.wrap_text


def test_text_starting_with_formula_characters_stays_text(workbook):
    wb, _, _ = workbook
    ws = wb["问题清单"]
    col = {c.value: c.column for c in ws[1]}
    for name, want in (("项目名称", '=HYPERLINK("x")'), ("实为", "+86-10"), ("说明", "-以减号开头"), ("证据", "@原文")):
        cell = ws.cell(2, col[name])
        assert cell.value == want and cell.data_type == "s", name
        assert cell.quotePrefix, name


def test_values_and_fitted_widths(workbook):
    wb, bundled, _ = workbook
    ws = wb["项目自评表"]
    col = {c.value: c.column for c in ws[1]}
    names = [ws.cell(r, col["项目名称"]).value for r in range(2, ws.max_row + 1)]
    assert "印刷干部考核手册及劳动合同" in names
    r = names.index("冀财社[2023]205号中央就业补助(就业见习补贴)") + 2
    assert ws.cell(r, col["全年执行数(万元)"]).value == pytest.approx(374.94)
    assert ws.cell(r, col["计算执行率(%)"]).value == pytest.approx(74.99)
    assert ws.cell(r, col["年度"]).value == 2024
    width = ws.column_dimensions[ws.cell(1, col["项目名称"]).column_letter].width
    assert excel.MAX_WIDTH >= width > 30  # long Chinese names: wide, but capped
    assert ws.column_dimensions[ws.cell(1, col["年度"]).column_letter].width < 14


def test_empty_findings_still_give_a_workbook(tmp_path, bundled):
    path = excel.anomalies_workbook({"forms": bundled["forms"]}, tmp_path / "a.xlsx")
    wb = load_workbook(path)
    assert wb["问题清单"].max_row == 1 and wb["按规则统计"].max_row == 1
    assert not (tmp_path / "a.xlsx.tmp").exists()


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
