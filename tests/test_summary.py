"""自评汇总表: every row of the five bundled tables (新乡县 2021), and variants made from the real text
(other spacing and separators, reordered and renamed columns, missing cells, names broken over lines,
a table split across pages with its header repeated, GBK, money in 元)."""

import pandas as pd
import pytest
from conftest import RAW, XINXIANG

from perfdata.ingest import combine, read_bytes

LINES = (RAW / XINXIANG).read_text(encoding="utf-8").split("\n")
COLS = ["seq", "project_name", "budget", "executed", "exec_rate_reported", "output_rate", "benefit_rate",
        "satisfaction_rate", "total_score"]
HRSS = "新乡县人力资源和社会保障局"
# the department's table (header at line 627), as printed
DEPARTMENT_ROWS = [
    (1, "建档立卡优秀务工人员奖补", 16.06, 16.06, 80.3, 100, 91.67, 94.7, 96.97),
    (2, "事业单位招聘", 10, 1.33, 13.3, 97.86, 92.86, 89.5, 99.6),
    (3, "人事局工作经费", 10, 7.14, 71.4, 98.6, 98.6, 96.8, 91.79),
    (4, "高校毕业生”三支一扶”计划中央和市补助资金", 20.7, 1.57, 7.6, 97.34, 92.5, 94.5, 97.22),
    (5, "其他就业补助经费支出", 828.44, 828.44, 100, 100, 100, 100, 100),
    (6, "创业贷款贴息经费支出", 24.52, 24.52, 100, 100, 100, 100, 100),
    (7, "其他普惠发展支出", 20.4, 20.4, 100, 100, 100, 100, 100),
    (8, "社会保险经办工作经费", 5, 3.97, 79.4, 100, 100, 100, 98),
    (9, "自筹人员工资及社保缴费支出", 77.47, 77.47, 100, 100, 100, 100, 100),
    (10, "劳动保障监察日常办公经费", 4.54, 4.49, 99, 100, 100, 100, 100),
    (11, "劳动监察执法服装", 3.5, 3.5, 100, 100, 100, 100, 100),
]


def lines(first: int, last: int) -> list[str]:
    return LINES[first - 1 : last]


# title (622) … last row (639), blank, and the title of the report under the table (641)
DEPARTMENT_TABLE = lines(622, 641)


def read(text_lines: list[str], encoding="utf-8"):
    return combine([read_bytes("\n".join(text_lines).encode(encoding), "variant.txt")])


def values(t) -> list[tuple]:
    rows = t["summary_rows"][COLS].astype(object).where(t["summary_rows"][COLS].notna(), None)
    return [tuple(r) for r in rows.itertuples(index=False, name=None)]


def cells(line: str) -> list[str]:
    return line.split("\t")


def is_grid(line: str) -> bool:
    return line.count("\t") >= 8  # the header and the rows of the table


# -- the bundled tables ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def summary(bundled):
    s = bundled["summary_rows"]
    return s[s.source_file == XINXIANG]


def test_five_tables_every_row(summary):
    per = summary.groupby("table_line").agg(n=("seq", "size"), unit=("unit", "first"),
                                            first=("line_start", "min"))
    assert per.n.to_dict() == {135: 4, 302: 3, 386: 1, 492: 3, 622: 11}
    assert per.unit.to_dict() == {135: HRSS, 302: "新乡县劳动就业服务中心", 386: "新乡县农村社会养老管理中心",
                                  492: "新乡县劳动保障监察大队", 622: HRSS}
    assert per["first"].to_dict() == {135: 141, 302: 308, 386: 392, 492: 498, 622: 628}  # header + 1
    assert set(summary.summary_date) == {"2022年7月11日"}
    assert summary.title.unique().tolist() == ["部门(单位)项目支出自评汇总表"]
    assert summary.summary_id.nunique() == 5 and not summary.is_total.any()
    assert summary.match.isin(["exact", "key"]).all()  # filled by the matching step (keys.link)


def test_row_two_of_the_first_table(summary):
    row = summary[(summary.table_line == 135) & (summary.seq == 2)].iloc[0]
    assert row.project_name == "事业单位招聘" and row.line_start == 142
    assert [row[c] for c in COLS[2:]] == [10, 1.33, 13.3, 97.86, 92.86, 89.5, 99.6]
    assert pd.isna(row.deviation_note) and pd.isna(row.budget_initial)


def test_department_table_across_the_page_break(summary):
    t = summary[summary.table_line == 622]
    assert values({"summary_rows": t}) == DEPARTMENT_ROWS
    assert t.line_start.tolist() == [*range(628, 636), *range(637, 640)]  # blank line 636 between 8 and 9


def test_names_broken_by_extraction_are_joined(summary):
    first = summary[summary.table_line == 135].project_name.tolist()
    assert first[0] == "建档立卡优秀务工人员奖补"  # printed "建档立卡优秀务工人员 奖补"
    assert first[3] == "高校毕业生”三支一扶”计划中央和市补助资金"


def test_nothing_inside_the_tables_left_over(bundled, summary):
    lo = bundled["leftovers"]
    assert lo[lo.form_id.isin(summary.summary_id)].empty
    tables = bundled["tables"]
    assert (tables[(tables.source_file == XINXIANG) & (tables.kind == "summary")].line_start.tolist()
            == [135, 302, 386, 492, 622])


# -- variants made from the real text --------------------------------------------------------------------

def respace(line: str) -> str:
    return "   ".join(c for c in cells(line) if c.strip())


def pipes(line: str) -> str:
    return "| " + " | ".join(cells(line)) + " |" if "\t" in line else line


def one_cell_per_line(text_lines: list[str]) -> list[str]:
    out = []
    for ln in text_lines:
        if "\t" in ln:
            out += ["\t" + c for c in cells(ln)] + [""]
        else:
            out.append(ln)
    return out


@pytest.mark.parametrize("encoding", ["utf-8", "gbk", "utf-16"])
@pytest.mark.parametrize("layout", ["tabs", "spaces", "pipes", "one-cell-per-line"])
def test_other_spacing_separators_and_encodings(layout, encoding):
    text = {"tabs": DEPARTMENT_TABLE, "spaces": [respace(ln) for ln in DEPARTMENT_TABLE],
            "pipes": [pipes(ln) for ln in DEPARTMENT_TABLE],
            "one-cell-per-line": one_cell_per_line(DEPARTMENT_TABLE)}[layout]
    t = read(text, encoding)
    assert values(t) == DEPARTMENT_ROWS
    s = t["summary_rows"]
    assert set(s.unit) == {HRSS} and set(s.summary_date) == {"2022年7月11日"}
    assert t["leftovers"].empty


ORDERS = {
    "executed-first": [0, 1, 3, 2, 4, 5, 6, 7, 8, 9],
    "score-before-rates": [0, 1, 2, 3, 4, 8, 5, 6, 7, 9],
    "name-first": [1, 0, 2, 3, 4, 5, 6, 7, 8, 9],
    "rates-reversed": [0, 1, 2, 3, 7, 6, 5, 4, 8, 9],
}


@pytest.mark.parametrize("order", ORDERS.values(), ids=ORDERS.keys())
@pytest.mark.parametrize("sep", ["\t", "   "])
def test_reordered_columns(order, sep):
    text = []
    for ln in DEPARTMENT_TABLE:
        if is_grid(ln):
            c = cells(ln)
            c = [c[k] for k in order] + c[len(order):]
            ln = sep.join(c) if sep == "\t" else sep.join(x for x in c if x)
        text.append(ln)
    assert values(read(text)) == DEPARTMENT_ROWS


def test_other_header_spellings():
    header = "\t".join(["序号", "项目名称", "调整后预算数", "全年执行数", "预算执行率", "产出指标完成率",
                        "效益指标完成率", "满意度得分率", "自评总分", "备注"])
    text = [header if ln.startswith("序号") else ln for ln in DEPARTMENT_TABLE]
    assert values(read(text)) == DEPARTMENT_ROWS


def test_missing_columns_and_cells():
    text = []
    for ln in DEPARTMENT_TABLE:
        if is_grid(ln):
            c = cells(ln)
            del c[5]  # no 产出指标得分率 column
            if c[0] == "3":
                c[6] = ""  # 满意度 of row 3 left blank
            ln = "\t".join(c)
        text.append(ln)
    got = read(text)["summary_rows"]
    assert got.output_rate.isna().all()
    assert got.satisfaction_rate.isna().tolist() == [k == 2 for k in range(11)]
    assert got.benefit_rate.tolist() == [r[6] for r in DEPARTMENT_ROWS]
    assert got.total_score.tolist() == [r[8] for r in DEPARTMENT_ROWS]


def _with_row(replace: dict[int, list[str]]) -> list[str]:
    out = []
    for ln in DEPARTMENT_TABLE:
        seq = cells(ln)[0]
        out += replace.get(int(seq), [ln]) if seq.isdigit() else [ln]
    return out


def test_name_broken_over_two_lines():
    row1 = cells(DEPARTMENT_TABLE[6])
    assert row1[:2] == ["1", "建档立卡优秀务工人员 奖补"]
    below = ["\t".join(["1", "建档立卡优秀务工人员"] + row1[2:]), "\t奖补" + "\t" * 8]
    above = ["\t建档立卡优秀务工人员" + "\t" * 8, "\t".join(["1", "奖补"] + row1[2:])]
    for variant in (below, above):
        t = read(_with_row({1: variant}))
        assert values(t) == DEPARTMENT_ROWS and t["leftovers"].empty
        first = t["summary_rows"].iloc[0]
        assert (first.line_start, first.line_end) == (7, 8)


def test_split_across_pages_with_the_header_repeated():
    header = next(ln for ln in DEPARTMENT_TABLE if ln.startswith("序号"))
    rows9 = [ln for ln in DEPARTMENT_TABLE if cells(ln)[0] == "9"]
    for page_top in ([header], DEPARTMENT_TABLE[:5] + [header]):  # header only; title, unit row and header
        text = _with_row({9: ["", *page_top, "", *rows9]})
        t = read(text)
        assert values(t) == DEPARTMENT_ROWS and t["leftovers"].empty
        assert set(t["summary_rows"].unit) == {HRSS}


def test_money_in_yuan_and_a_total_row():
    text = []
    for ln in DEPARTMENT_TABLE:
        if ln == "单位：万元":
            ln = "单位：元"
        elif is_grid(ln) and cells(ln)[0].isdigit():
            c = cells(ln)
            c[2], c[3] = (f"{float(x) * 10000:.0f}" for x in c[2:4])
            ln = "\t".join(c)
        text.append(ln)
    text.insert(18, "合计\t\t10105900\t9931900\t\t\t\t\t\t")
    s = read(text)["summary_rows"]
    rows = s[~s.is_total]
    assert values({"summary_rows": rows}) == DEPARTMENT_ROWS
    total = s[s.is_total].iloc[0]
    assert (total.project_name, total.budget, total.executed) == ("合计", 1010.59, 993.19)
    assert pd.isna(total.seq)


def test_stray_lines_inside_the_table_are_left_over():
    text = _with_row({3: [DEPARTMENT_TABLE[8].replace("91.79\t", "91.79\t无\t多余"), "3.1\t2.2\t1.1\t0.5"]})
    t = read(text)
    assert values(t)[:3] == DEPARTMENT_ROWS[:3]
    lo = t["leftovers"]
    assert lo.text.tolist() == ["多余", "3.1\t2.2\t1.1\t0.5"] and lo.line.tolist() == [9, 10]
    assert lo.form_id.notna().all() and len(t["summary_rows"]) == 11
    assert t["summary_rows"].deviation_note.isna().all()  # "无"


def test_table_ends_before_the_report_under_it():
    t = read(DEPARTMENT_TABLE + ["", "本部门 2021 年度项目支出共 11 项。", "1、事业单位招聘：年初预算为 10 万元。"])
    assert len(t["summary_rows"]) == 11 and t["leftovers"].empty


def test_title_repeated_without_its_unit_row_continues_the_table():
    rows9 = [ln for ln in DEPARTMENT_TABLE if cells(ln)[0] == "9"]
    header = next(ln for ln in DEPARTMENT_TABLE if ln.startswith("序号"))
    t = read(_with_row({9: ["", DEPARTMENT_TABLE[0], "", header, *rows9]}))
    s = t["summary_rows"]
    assert values(t) == DEPARTMENT_ROWS and set(s.unit) == {HRSS}
    assert s.unit_inferred.tolist() == [False] * 8 + [True] * 3


def test_a_table_without_unit_row_far_from_others_gets_no_unit():
    t = read(DEPARTMENT_TABLE[:4] + DEPARTMENT_TABLE[5:])
    s = t["summary_rows"]
    assert values(t) == DEPARTMENT_ROWS and s.unit.isna().all() and not s.unit_inferred.any()
    assert "no 部门（单位）名称" in t["problems"].message.iloc[0]


def test_deviation_note_broken_over_two_lines():
    row = cells(DEPARTMENT_TABLE[7])  # 2 事业单位招聘, 执行率 13.3%
    row[9] = "招聘考试延期,"
    text = _with_row({2: ["\t".join(row), "\t" * 9 + "经费结转下年"]})
    s = read(text)["summary_rows"]
    assert values({"summary_rows": s}) == DEPARTMENT_ROWS
    assert s.deviation_note.tolist()[1] == "招聘考试延期,经费结转下年" and s.line_end.iloc[1] == 9


def test_ingest_writes_and_counts_the_new_tables(tmp_path, capsys):
    from perfdata.cli import main

    assert main(["ingest", str(RAW / XINXIANG), "--out", str(tmp_path), "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert "summary rows    22   in 5 自评汇总表" in out and "dept. forms      1   indicators 39" in out
    written = pd.read_csv(tmp_path / "summary_rows.csv")
    assert len(written) == 22 and written.budget.sum() == pytest.approx(2040.9)  # units 1020.27 + department 1020.63


# -- a summary with hierarchical numbering and a 责任部门 column, printed in rows ---------------------------
# (the one summary reader reads it in every format; its one-cell-per-line copy is external #23)
HIERARCHY = [["2022年度部门项目支出绩效自评汇总表"], ["部门(单位)名称", "某某大学", "汇总时间", "2023年3月"],
             ["单位:万元"],
             ["序号", "责任部门", "项目名称", "预算数", "执行数", "执行率", "自评得分"],
             ["合计", "", "", "300", "270", "90%", ""],
             ["一", "", "教育专项", "200", "180", "90%", ""],
             ["(一)", "", "学生资助", "120", "110", "91.67%", ""],
             ["1", "学工处", "学生资助专项-高职", "70", "65", "92.86%", "95"],
             ["2", "学工处", "学生资助专项-中职", "50", "45", "90%", "92"],
             ["(二)", "", "教学改革", "80", "70", "87.5%", ""],
             ["3", "", "教学改革专项", "80", "70", "87.5%", "90"],
             ["二", "", "不可预见费", "100", "90", "90%", "88"]]
HIERARCHY_READ = [  # seq_label, seq, responsible, project_name, budget, is_total, is_subtotal
    (None, None, None, "合计", 300.0, True, False),
    ("一", None, None, "教育专项", 200.0, True, True),
    ("(一)", None, None, "学生资助", 120.0, True, True),
    ("1", 1, "学工处", "学生资助专项-高职", 70.0, False, False),
    ("2", 2, "学工处", "学生资助专项-中职", 50.0, False, False),
    ("(二)", None, None, "教学改革", 80.0, True, True),
    ("3", 3, None, "教学改革专项", 80.0, False, False),
    ("二", None, None, "不可预见费", 100.0, False, False),  # a group with nothing under it: a project
]


def _hierarchy_file(how: str, path):
    import make_fixtures

    if how == "xlsx":
        make_fixtures.to_xlsx(HIERARCHY, [0], path.with_suffix(".xlsx"))
        return path.with_suffix(".xlsx")
    if how == "html":
        body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in HIERARCHY[1:])
        path.with_suffix(".html").write_bytes(
            f'<meta charset="gbk"><p>{HIERARCHY[0][0]}</p><table>{body}</table>'.encode("gbk"))
        return path.with_suffix(".html")
    if how == "tabs-without-empty-cells":  # a copy that drops the empty cells: read by what the cells hold
        text = "\n".join("\t".join(c for c in r if c) for r in HIERARCHY)
    else:
        text = {"tabs": "\n".join("\t".join(r) for r in HIERARCHY),
                "one-cell-per-line": "\n".join(c + " |" if len(r) > 1 else c for r in HIERARCHY for c in r if c)}[how]
    path.write_text(text + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("how", ["tabs", "tabs-without-empty-cells", "xlsx", "html", "one-cell-per-line"])
def test_hierarchical_numbering_and_a_responsible_column_in_every_format(how, tmp_path):
    import perfdata

    t = perfdata.read(_hierarchy_file(how, tmp_path / "summary.txt"))
    s = t["summary_rows"]
    cols = ["seq_label", "seq", "responsible", "project_name", "budget", "is_total", "is_subtotal"]
    got = [tuple(None if pd.isna(v) else v for v in r) for r in s[cols].itertuples(index=False, name=None)]
    assert got == HIERARCHY_READ
    assert set(s.unit) == {"某某大学"} and set(s.summary_date) == {"2023年3月"}
    assert set(s.table_line) == {1}  # the title's line
    assert t["leftovers"].empty
    # the groups add up the items under them; the projects alone add up to the 合计
    projects = s[~s.is_total]
    assert projects.budget.sum() == s[s.project_name == "合计"].budget.iloc[0]
