"""The Chinese display layer: labels of tables, columns, codes, rules, fields and messages; finance formats;
missing values; report tables with a size rule instead of pandas' truncation; findings grouped by rule."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from perfdata import schema
from perfdata.checks import rule_table
from perfdata.report import analysis, display
from tests.report_checks import english_keys


def test_every_code_of_the_tables_has_a_label(bundled):
    from perfdata import check

    tables = {**bundled, "anomalies": check(bundled)}
    for name, df in tables.items():
        for column in display.coded_columns():
            if column in df and not pd.api.types.is_numeric_dtype(df[column]):
                labels = display.value_labels(column, name)
                codes = set(df[column].dropna().astype(str))
                if column == "layout":
                    codes = {p for c in codes for p in c.split("|")}
                assert codes <= set(labels) | set(labels.values()), f"{name}.{column}: {codes - set(labels)}"
    assert display.value_labels("status", "files")["partial"] == "部分未读取"
    assert display.value_labels("status", "rescored_indicators")["partial"] == "部分完成（定性）"


def test_every_table_column_and_rule_has_a_chinese_name():
    for name in schema.TABLES:
        assert re.search(r"[\u4e00-\u9fff]", display.table_label(name)), name
        for c in schema.TABLES[name]:
            assert not english_keys(display.column_label(c.name, name)), (name, c.name)
    for r in rule_table().itertuples():
        assert display.rule_title(r.id) == r.title_zh
    for c in analysis.LABELS:
        assert not english_keys(display.column_label(c)), c


@pytest.mark.parametrize(("field", "label"), [
    ("level1_weight", "一级指标分值"), ("exec_score_reported", "执行率得分"), ("department/unit", "主管部门/实施单位"),
    ("budget/executed", "预算数/全年执行数"), ("target_raw[dfa8d952fe-01279]", "年度指标值"),
    ("basic_expenditure", "基本支出"), ("output_rate", "产出指标得分率"), ("budget_project", "项目支出"),
    (None, "—"),
])
def test_field_labels(field, label):
    assert display.field_label(field) == label


def test_fields_of_the_bundled_findings_are_all_chinese(bundled):
    from perfdata import check

    for field in check(bundled).field.dropna().unique():
        assert not english_keys(display.field_label(field)), field


def test_readers_messages_in_chinese(bundled):
    for text in pd.concat([bundled["problems"].message, bundled["leftovers"].reason]).dropna().unique():
        shown = display.message(text)
        assert not re.search(r"[A-Za-z]{3,}", shown.replace("OpenCC", "")), (text, shown)
    assert display.message("target table “25.表”: “数量指标” printed under “满意度指标”") == \
        "绩效目标表“25.表”：“数量指标”列在“满意度指标”之下"
    assert display.message("some new message") == "some new message"  # unknown: as printed


@pytest.mark.parametrize(("value", "kind", "shown"), [
    (11050.69, "money", "11,050.69"), (1.5, "money", "1.50"), (83.2322, "rate", "83.23%"), (100.0, "rate", "100.00%"),
    (100.0, "points", "100"), (83.2322, "points", "83.23"), (7.6, "points", "7.6"), (12345, "count", "12,345"),
    (2024, "year", "2024"), (1205, "line", "1205"), (True, "bool", "是"), (None, "money", "未填"),
    (float("nan"), "rate", "未填"), (pd.NA, "text", "未填"),
])
def test_finance_formats(value, kind, shown):
    assert display.fmt(value, kind) == shown


def test_report_table_has_a_size_rule_and_no_index_or_missing_markers():
    df = pd.DataFrame({"region": ["兴隆县"] * 45 + [None] * 5, "severity": ["high"] * 50,
                       "budget": [1234.5] * 49 + [None], "exec_rate": [99.456] * 50,
                       "rule": ["total_mismatch"] * 50}).astype({"budget": "Float64"})
    t = display.table(df, limit=30, more="全部见 tables/x.csv")
    page = t._repr_html_()
    assert "共 50 项，列前 30 项，全部见 tables/x.csv" in page
    assert page.count("<tr>") == 31  # header and 30 rows
    assert "<th>" not in page.split("</thead>")[0].replace('<th class="', "")  # every header has its class
    assert "地区" in page and "严重程度" in page and ">高<" in page and "总分不等于" in page
    assert '<td class="num">1,234.50</td>' in page and '<td class="num">99.46%</td>' in page
    assert "执行率(%)" not in page and ">计算执行率<" in page  # the % is in the cells
    assert not re.search(r"NaN|<NA>|&lt;NA&gt;|None|\.\.\.", page)
    full = display.table(df, limit=None)._repr_html_()
    assert "共 50 项" in full and "列前" not in full and ">未填<" in full
    assert display.table(df.iloc[:0]).text == "无。"
    one = display.table(df.iloc[:1])
    assert "共 1 项" not in one._repr_html_() and one.text.splitlines()[0].startswith("地区")
    assert display.table(df.iloc[:2]).text.startswith("共 2 项")


def test_csv_frame_is_chinese_and_keeps_numbers(tmp_path):
    df = pd.DataFrame({"severity": ["high", "low"], "exec_base": ["full_year", None], "forms": [3, 4],
                       "rate_mean": [91.5, None]})
    out = display.for_csv(df)
    assert list(out.columns) == ["严重程度", "执行率口径", "表单数", "平均执行率(%)"]
    assert out.iloc[0].tolist()[:3] == ["高", "全年预算数", 3] and out.iloc[1, 1] == "—"  # derived: nothing applies
    assert pd.isna(out.iloc[1, 3])  # a blank number stays blank (a number column in Excel)
    assert display.for_csv(df, english=True) is df
    path = analysis.save_table(df, "x", tmp_path)
    assert path.read_text(encoding="utf-8-sig").splitlines()[1] == "高,全年预算数,3,91.5"


def test_findings_grouped_by_rule_count_every_finding(bundled):
    from perfdata import check

    found = check(bundled)
    t = display.findings(found, per_rule=3)
    page = t._repr_html_()
    heads = re.findall(r"<h3>(.*?)（([\d,]+) 条：[^）]*）</h3>", page)
    assert sum(int(n.replace(",", "")) for _, n in heads) == len(found)
    assert len(heads) == found.rule.nunique()
    assert heads[0][0] in set(rule_table().query("severity == 'high'").title_zh)  # most severe rules first
    assert page.count("，列前 3 条，全部见 anomalies.xlsx") == sum(int(n) > 3 for _, n in heads)
    assert "涉及：" in page and not english_keys(re.sub(r"<[^>]+>", " ", page).replace("anomalies.xlsx", ""))


def test_header_block_lists_inputs_with_hashes(bundled):
    h = display.header("报告", bundled, {"years": [], "regions": ["兴隆县"], "exec_rate_threshold": 85.0},
                       run_id="r1", run_date="2025-01-01 06:00 UTC")
    page = h._repr_html_()
    assert "运行编号</th><td>r1<" in page and "地区：兴隆县" in page and "执行率说明阈值(%) 85" in page
    for f in bundled["files"].itertuples():
        assert f.source_file in page and f.sha256 in page
    assert page.index("部分未读取") < page.index("已全部读取")  # files not fully read first
    assert page.endswith("<!--pd-toc-->")
    assert not english_keys(re.sub(r"<[^>]+>", " ", page))


def test_a_digit_test_row_shows_its_statistics_alike():
    """MAD, χ² and p of one digit test, all to four decimals (a χ² of 38 read "38" beside "15.57")."""
    row = pd.DataFrame({"mad": [0.08], "chi_square": [38.0], "p_value": [0.00001]}).astype("Float64")
    kinds = [display.column_kind(c, "", "Float64") for c in row.columns]
    assert kinds == ["stat", "stat", "stat"]
    assert [display.fmt(v, k) for v, k in zip(row.iloc[0], kinds, strict=True)] == ["0.0800", "38.0000", "0.0000"]


def test_every_field_a_rule_names_has_a_chinese_label():
    """A finding's `field` is shown by its label: 'weights' (weights_not_total) was shown as the code. Every field a
    rule spells in the checks modules has one (a column's, a metric's, or rules/display_values.csv)."""
    import re
    from pathlib import Path

    import perfdata.checks as checks
    from perfdata.report.display import field_label

    spelled = {f for p in Path(checks.__file__).parent.glob("*.py")
               for f in re.findall(r'field="([a-z_/]+)"', p.read_text(encoding="utf-8"))}
    assert "weights" in spelled
    assert [f for f in sorted(spelled) if re.search(r"[a-z]", field_label(f))] == []
