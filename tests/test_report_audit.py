"""The audit analyses in what auditors see: the overview's sections 抽查清单, 跨年度对比, 数字分布检验, 雷同文本 and
历次运行, and the workbook's sheets of the same names, on the bundled documents (the real check), run twice into one
reports folder; a generated batch over two years for the findings across years."""

from __future__ import annotations

import ast
import re

import pandas as pd
import pytest
from openpyxl import load_workbook

from perfdata import cli, schema, store
from perfdata.audit import sample
from perfdata.report import display, excel, runner
from tests.conftest import GUYUAN, RAW, XINGLONG, XINXIANG
from tests.report_checks import (
    MISSING,
    assert_clean_csv,
    assert_clean_html,
    assert_clean_workbook,
    english_keys,
    visible_text,
)

SECTIONS = ["7. 抽查清单", "8. 跨年度对比", "9. 数字分布检验", "10. 雷同文本", "11. 历次运行"]
AUDIT_SHEETS = ["抽查清单", "跨年度对比", "雷同文本", "数字分布检验"]
REVIEW = ["复核意见", "处理结果", "复核人", "复核日期"]
# the risk sample of the bundled forms, seed 2024, n 10 (the overview's defaults), in the order drawn
DRAWN = ["人事局工作经费", "高校毕业生“三支一扶”计划中央和市补助资金", "冀财社[2023]205号中央就业补助(就业见习补贴)",
         "冀财社[2024]48号中央就业补助", "机关事业单位养老保险预算中央补助资金", "国有企业退休人员社会化管理补助资金",
         "社会保险经办工作经费", "冀财社[2024]48号中央就业补助", "省级城乡居民村级代办员补助项目支出绩效自评表",
         "劳动监察经费及维稳"]


@pytest.fixture(scope="module")
def audit_run(tmp_path_factory):
    """`perfdata run` on the bundled documents (the overview only), then `perfdata report` of the same inputs into
    the same reports folder: the second run has a previous one to compare with."""
    tmp = tmp_path_factory.mktemp("audit")
    assert cli.main(["run", str(RAW), "--processed", str(tmp / "processed"), "--out", str(tmp / "reports"),
                     "--run-id", "run1", "--notebooks", "overview"]) == 0
    assert cli.main(["report", "--data", str(tmp / "processed"), "--raw", str(RAW), "--out", str(tmp / "reports"),
                     "--run-id", "run2", "--notebooks", "overview"]) == 0
    return tmp


def _page(tmp, run_id: str) -> str:
    return (tmp / "reports" / run_id / "overview.html").read_text(encoding="utf-8")


def _section(page: str, title: str) -> str:
    """The visible text of one <h2> section of a report."""
    parts = re.split(r"(<h2 id=[^>]*>.*?</h2>)", re.sub(r"</?(?:strong|em|code)>", "", page), flags=re.S)
    for k, part in enumerate(parts):
        if part.startswith("<h2") and title in part:
            return re.sub(r"\s+", " ", visible_text(parts[k + 1])).strip()
    raise AssertionError(f"no section {title!r}")


def _new_parts(page: str) -> str:
    return page[page.index('<h2 id="7.'):]


def test_the_new_sections_follow_the_others_in_the_table_of_contents(audit_run):
    page = _page(audit_run, "run1")
    heads = [re.sub(r"<[^>]+>", "", h).replace("¶", "").strip() for h in re.findall(r"<h2 id=[^>]*>(.*?)</h2>", page,
                                                                                     re.S)]
    assert heads[-5:] == SECTIONS and heads[0] == "1. 并列对比"
    toc = re.search(r'<nav class="toc">(.*?)</nav>', page, re.S).group(1)
    assert [re.sub(r"<[^>]+>", "", t) for t in re.findall(r"<li>(.*?)</li>", toc)][-5:] == SECTIONS


def test_the_new_parts_are_chinese_and_show_no_missing_markers(audit_run):
    for run_id in ("run1", "run2"):
        page = _page(audit_run, run_id)
        assert_clean_html(page, f"overview {run_id}")
        text = visible_text(_new_parts(page))
        assert not english_keys(text), english_keys(text)
        assert not MISSING.search(text) and "PosixPath" not in text
    for name in ("sample", "year_findings", "digit_tests", "digit_frequencies", "copies", "runs", "run_changes"):
        assert_clean_csv(audit_run / "reports" / "run2" / "tables" / f"{name}.csv")


def test_sample_section_lists_the_forms_drawn_and_why(audit_run):
    text = _section(_page(audit_run, "run1"), "抽查清单")
    assert "抽样方法：按风险抽样，从 43 份项目支出绩效自评表中抽取 10 份（随机种子 2024）" in text
    assert "风险分 = 1 + 高风险问题数 × 4 + 中风险 × 2 + 低风险 × 1" in text
    positions = [text.index(name) for name in DRAWN[:7]]
    assert positions == sorted(positions)  # in the order drawn: the highest risk first
    assert ("人事局工作经费 新乡县 新乡县人力资源和社会保障局 2021 10.00 7 5 24 按风险抽样：本项目发现问题 7 条"
            "（高 5、中 1、低 1），风险分 24，占全部 43 份表单风险分的 8.25% " + XINXIANG + ":67") in text
    assert "抽取原因" in text and "原文位置" in text and "入选概率" not in text  # risk: no closed-form chance
    csv = pd.read_csv(audit_run / "reports" / "run1" / "tables" / "sample.csv")
    assert csv["项目名称"].tolist() == DRAWN and set(csv["抽样方法"]) == {"按风险抽样"}
    assert set(csv["随机种子"]) == {2024}


def test_the_sample_is_the_one_perfdata_sample_draws(audit_run):
    tables = store.load(audit_run / "processed")
    drawn = sample(tables, method="risk", n=10, seed=2024, anomalies=tables["anomalies"])
    assert drawn["project_name"].tolist() == DRAWN
    assert drawn["findings"].tolist()[:3] == [7, 8, 4]


def test_years_section_says_why_nothing_is_compared(audit_run):
    text = _section(_page(audit_run, "run1"), "跨年度对比")
    assert ("各地区只有一个年度的表单（兴隆县 2024、固原市 2024、新乡县 2021），无可比较的上年项目，未作跨年度对比；"
            "绩效目标表（香河县人力资源和社会保障局 2023 年 41 张）没有同一部门上一年度的自评表可比。") in text


def test_digit_section_shows_mad_to_four_decimals_and_too_small_samples(audit_run):
    page = _page(audit_run, "run1")
    text = _section(page, "数字分布检验")
    assert "共检验 118 个金额（另有 6 个为零或负数，未计入）" in text
    assert "12 组检验中：样本不足 12 组" in text
    assert "首位数字 全部 118 6 0.0261 0.0216 样本不足" in text
    assert "首位数字 固原市 2024 16 0 0.0951 0.0587 样本不足" in text
    assert "末位数字（万元个位） 固原市 2024 0 16 — — 样本不足" in text  # no amount of 100 万元: nothing to test
    assert 'alt="首位数字分布：全部（n = 118，MAD 0.0261，样本不足）"' in page
    assert (audit_run / "reports" / "run1" / "charts" / "digits_first.svg").exists()
    csv = pd.read_csv(audit_run / "reports" / "run1" / "tables" / "digit_tests.csv")
    row = csv[(csv["检验"] == "首位数字") & (csv["分组"] == "固原市 2024")].iloc[0]
    assert row["结论"] == "样本不足" and row["金额个数"] == 16
    assert row["平均绝对偏差(MAD)"] == pytest.approx(0.0951, abs=1e-4)


def test_copies_section_quotes_the_copied_file(audit_run):
    text = _section(_page(audit_run, "run1"), "雷同文本")
    assert "发现雷同 1 处：实际完成值照抄指标值 1 处" in text
    assert "实际完成值照抄指标值 100.00% 68 68 本文件68项指标中68项（100%）的实际完成值与年度指标值相同" in text
    assert f"（{GUYUAN}:15）" in text and "第15行" not in text  # places as everywhere else: file:line


def test_runs_section_first_run_then_the_change_since_it(audit_run):
    first = _section(_page(audit_run, "run1"), "历次运行")
    assert "首次运行：报告目录中没有输入文件相同的上一次完整运行，无可比较。" in first
    assert "run1 2" in first and "已完成 43 117" in first and "本次运行" in first
    second = _section(_page(audit_run, "run2"), "历次运行")
    assert "与上一次输入文件相同的完整运行 run1（" in second
    assert "筛选条件相同：各规则的问题数均未变化（共 117 条）。" in second
    assert re.search(r"共 2 次 .* run2 .* 本次运行 run1 .* 输入文件与本次相同", second)
    runs = pd.read_csv(audit_run / "reports" / "run2" / "tables" / "runs.csv")
    assert runs["运行编号"].tolist() == ["run2", "run1"] and runs["问题数"].tolist() == [117, 117]
    changes = pd.read_csv(audit_run / "reports" / "run2" / "tables" / "run_changes.csv")
    assert changes["变化"].eq(0).all() and changes["本次问题数"].sum() == 117
    assert set(changes["上次运行编号"]) == {"run1"}


def test_workbook_has_the_audit_sheets_with_reviewer_columns(audit_run):
    wb = load_workbook(audit_run / "reports" / "run1" / "anomalies.xlsx")
    assert wb.sheetnames == ["说明", "问题清单", "抽查清单", "按规则统计", "部门×年度", "跨年度对比", "雷同文本",
                             "数字分布检验", "项目自评表", "未读取内容", "文件问题"]
    ws = wb["抽查清单"]
    head = [c.value for c in ws[1]]
    assert head[:3] == ["序号", "项目名称", "地区"] and head[-4:] == REVIEW and "抽取原因" in head
    col = {h: k for k, h in enumerate(head, start=1)}
    assert [ws.cell(r, col["项目名称"]).value for r in range(2, ws.max_row + 1)] == DRAWN
    assert ws.cell(2, col["抽取原因"]).value.startswith("按风险抽样：本项目发现问题 7 条（高 5、中 1、低 1），风险分")
    assert ws.cell(2, col["原文位置"]).value == f"{XINXIANG}:67" and ws.cell(2, col["抽样方法"]).value == "按风险抽样"
    assert ws.cell(2, col["预算数(万元)"]).number_format == "#,##0.00" and ws.cell(2, col["复核意见"]).value is None
    letter = ws.cell(1, col["处理结果"]).column_letter
    assert [str(r) for dv in ws.data_validations.dataValidation for r in dv.sqref.ranges] == [f"{letter}2:{letter}11"]
    assert ws.freeze_panes == "C2"
    digit = wb["数字分布检验"]
    head = [c.value for c in digit[1]]
    assert head[:7] == ["检验", "分组", "金额个数", "未计入金额数", "平均绝对偏差(MAD)", "符合时的期望MAD", "结论"]
    rows = {(r[0], r[1]): r for r in digit.iter_rows(min_row=2, values_only=True)}
    assert rows[("首位数字", "固原市 2024")][6] == "样本不足" and rows[("首位数字", "全部")][2] == 118
    assert digit.cell(2, 5).number_format == "0.0000" and digit.cell(2, 5).value == pytest.approx(0.0261, abs=1e-4)
    copies = wb["雷同文本"]
    assert [c.value for c in copies[1]][:3] == ["序号", "雷同类型", "相似度"]
    assert copies.cell(2, 2).value == "实际完成值照抄指标值" and copies.cell(2, 3).number_format == "0.00%"
    years = wb["跨年度对比"]
    assert [c.value for c in years[1]][:4] == ["序号", "严重程度", "规则名称", "项目名称"] and years.max_row == 1
    for name in AUDIT_SHEETS:
        s = wb[name]
        assert s.page_setup.orientation == "landscape" and s.sheet_properties.pageSetUpPr.fitToPage, name
        assert s.print_title_rows.replace("$", "") == "1:1", name
    notes = {r[0]: r[1] for r in wb["说明"].iter_rows(values_only=True) if r[0]}
    assert "按风险抽样抽取 10 份（随机种子 2024" in notes["抽查清单"]
    assert "无可比较" in notes["跨年度对比"] and "样本不足 12 组" in notes["数字分布检验"]
    assert_clean_workbook(wb)


def test_sample_parameters_are_declared_typed_and_shared_with_the_workbook(tmp_path, bundled):
    declared = runner.notebook_parameters(runner.NOTEBOOK_DIR / "overview.ipynb")
    assert {k: ast.literal_eval(declared[k]["default"]) for k in excel.SAMPLE} == excel.SAMPLE  # one draw, two places
    assert [declared[k]["type"] for k in excel.SAMPLE] == ["str", "int", "int"]
    typed = runner.resolve(runner.find_notebooks(["overview"]), {"sample_method": "mus", "sample_n": "5",
                                                                  "sample_seed": "7"})
    assert typed["overview"] == {"sample_method": "mus", "sample_n": 5, "sample_seed": 7}
    from perfdata import check

    tables = {**bundled, "anomalies": check(bundled)}
    path = excel.anomalies_workbook(tables, tmp_path / "a.xlsx", RAW, info={"parameters": typed["overview"]})
    ws = load_workbook(path)["抽查清单"]
    col = {c.value: c.column for c in ws[1]}
    want = sample(tables, method="mus", n=5, seed=7, anomalies=tables["anomalies"])
    assert [ws.cell(r, col["项目名称"]).value for r in range(2, ws.max_row + 1)] == want["project_name"].tolist()
    assert ws.cell(2, col["抽样方法"]).value == "按金额抽样"
    assert ws.cell(2, col["抽样层"]).value == "大额（不小于抽样间距）"
    notes = {r[0]: r[1] for r in load_workbook(path)["说明"].iter_rows(values_only=True) if r[0]}
    assert "抽查抽样方法 按金额抽样；抽查份数(份) 5；抽查随机种子 7" in notes["参数"]


def test_the_audit_tables_and_their_codes_have_chinese_names():
    from perfdata.audit import years

    for name in schema.AUDIT_TABLES:
        assert re.search(r"[\u4e00-\u9fff]", display.table_label(name)), name
    for rule in years.rule_table().itertuples():  # titles read from rules/years.csv, not copied
        assert display.rule_title(rule.Index) == rule.title_zh
    assert display.value_labels("method", "sample")["mus"] == "按金额抽样"
    assert display.value_labels("test")["last"] == "末位数字（万元个位）"
    assert display.value_labels("match", "project_years")["name"] == "名称（去掉年份、文号后）一致"
    assert display.value_labels("status", "runs")["ok"] == "已完成" and display.value_labels("status", "files")["ok"] \
        == "已全部读取"
    assert display.field_label("form", "copies") == "整张表（目标及全部指标）"
    t = display.table(pd.DataFrame({"mad": [0.026122, None], "p_value": [0.0486054, 2e-7]}).astype("Float64"),
                      "digit_tests")
    assert '<td class="num">0.0261</td>' in t.html and '<td class="num">0.0000</td>' in t.html and ">—<" in t.html


# -- across years: a batch over two years -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def two_years(bundled, tmp_path_factory):
    """The bundled tables plus 新乡县 again as 2022 (fresh form ids), one project's budget raised from 16.06 to 30
    万元 with the same execution, and 兴隆县 as 2025 with one indicator dropped; the overview run on them."""
    from tests.test_audit_years import _concat, _form, _next_year

    xx = _next_year(bundled, XINXIANG, "-2022")
    hit = _form(xx, "建档立卡优秀务工人员奖补")
    xx["forms"].loc[hit, ["budget_initial", "budget_full_year", "exec_rate_reported"]] = [30.0, 30.0, 53.53]
    xl = _next_year(bundled, XINGLONG, "-2025")
    fid = xl["forms"].loc[_form(xl, "创业孵化基地租金及基地运行经费"), "form_id"].iloc[0]
    xl["indicators"] = xl["indicators"][~((xl["indicators"].form_id == fid) & (xl["indicators"].name == "绿色办公"))]
    tables = _concat({k: v for k, v in bundled.items()}, xx, xl)
    tmp = tmp_path_factory.mktemp("years")
    store.write(tables, tmp / "processed")
    res = runner.run_report(tmp / "processed", tmp / "reports", {}, raw_dir=RAW, run_id="years",
                            notebooks=["overview"])
    assert res.status == "ok", res.manifest["failed"]
    return res.folder


def test_findings_across_years_are_grouped_by_rule_with_both_places(two_years):
    page = (two_years / "overview.html").read_text(encoding="utf-8")
    assert_clean_html(page, "overview across years")
    text = _section(page, "跨年度对比")
    assert re.search(r"[\d,]+ 份表单或绩效目标表与上一年度同一项目的自评表对应（名称规范后一致 [\d,]+", text)
    heads = re.findall(r"<h3[^>]*>(.*?)<", page[page.index('<h2 id="8.'):page.index('<h2 id="9.')])
    assert "预算增加而执行率下降（1 条）" in heads and "指标被删除（1 条）" in heads
    assert "建档立卡优秀务工人员奖补" in text and "绿色办公" in text
    assert "henan-xinxiang-county-hrss-2022-self-evaluations.txt:" in text  # this year's place
    assert f"{XINXIANG}:" in text  # last year's place
    ws = load_workbook(two_years / "anomalies.xlsx")["跨年度对比"]
    col = {c.value: c.column for c in ws[1]}
    rules = [ws.cell(r, col["规则名称"]).value for r in range(2, ws.max_row + 1)]
    assert "预算增加而执行率下降" in rules and "指标被删除" in rules
    assert ws.cell(2, col["上年原文位置"]).value.startswith(("henan-", "hebei-"))
    assert_clean_workbook(load_workbook(two_years / "anomalies.xlsx"))
