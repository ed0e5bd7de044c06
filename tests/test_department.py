"""部门（单位）整体绩效自评表 (新乡县 2021, lines 669–743): budget block, goals and tasks, the indicator
table with its 投入/过程/产出/效益 levels; and variants made from the real text (other spacing and
separators, GBK, reordered columns, levels on every row, a header repeated at the page break, a cell
broken over two lines without the blank line, missing cells)."""

import pandas as pd
import pytest
from conftest import RAW, XINXIANG

from perfdata.ingest import combine, read_bytes
from perfdata.tables.department import label_of

LINES = (RAW / XINXIANG).read_text(encoding="utf-8").split("\n")
FORM = LINES[668:745]  # lines 669 (section heading) … 745 (title of the report under the form)
HEADER = FORM.index("一级指标\t二级指标\t三级指标\t指标值\t完成值\t分值\t得分")
VALUES = ["level1", "level1_weight", "level2", "name", "target_raw", "actual_raw", "weight", "score"]
HRSS = "新乡县人力资源和社会保障局"


def read(text_lines: list[str], encoding="utf-8"):
    return combine([read_bytes("\n".join(text_lines).encode(encoding), "variant.txt")])


def indicator_values(t) -> list[list]:
    ind = t["department_indicators"][VALUES]
    return ind.astype(object).where(ind.notna(), None).values.tolist()


@pytest.fixture(scope="module")
def dept(bundled):
    f = bundled["department_forms"]
    form = f[f.source_file == XINXIANG]
    assert len(form) == 1
    ind = bundled["department_indicators"]
    return form.iloc[0], ind[ind.dept_form_id == form.iloc[0].dept_form_id].reset_index(drop=True)


@pytest.fixture(scope="module")
def original():
    t = read(FORM)
    assert len(t["department_indicators"]) == 39
    return t


# -- the bundled form ------------------------------------------------------------------------------------

def test_form_head_and_budget(dept):
    form, _ = dept
    assert (form.line_start, form.line_end, form.title, form.year) == (669, 743, "部门(单位)整体绩效自评表", 2021)
    assert form.department == HRSS
    assert (form.budget_total, form.budget_fiscal, form.budget_basic, form.budget_project) == (
        1687.40, 1687.40, 782.69, 904.71)
    assert pd.isna(form.budget_other) and form.budget_line == 692  # printed blank: null, not 0
    assert form.total_weight == 100 and pd.isna(form.total_score)  # 15 + 25 + 30 + 30, no 总分 row
    assert form.notes.startswith("注:1.自评采用打分评价的形式,满分为100分") and "60%-0%合理确定分值" in form.notes


def test_goals_and_tasks(dept):
    form, _ = dept
    goals = form.goals.split("\n")
    assert form.goal_count == 4 and len(goals) == 4
    assert goals[0] == "目标1:深入贯彻落实各项社保政策,加快建立健全覆盖城乡居民的社会保障体系,不断提高社会保障水平。"
    assert goals[3] == "目标4:强化劳动监察力度,化解劳动争议纠纷,加强信访维稳工作"
    tasks = form.tasks.split("\n")
    assert form.task_count == 11 and len(tasks) == 11
    assert tasks[0].startswith("贯彻执行国家、省、市人力资源和社会保障法律、法规、政策;提高社会保障水平。: 贯彻执行")
    # task 4's content runs over a page break (lines 681-683)
    assert tasks[3].startswith("统筹推进建立覆盖全县城乡的多层次社会保障体系。: 统筹推进")
    assert tasks[3].endswith("按照有关规定做好全县相关社会保障基金预决算草案的编制、审核、汇总等工作。"
                             "会同有关部门实施全民参保计划。")
    assert tasks[10].startswith("会同有关部门拟订全县农民工工作的综合性政策和规划")  # printed "任务 11: …" in column 1


def test_indicator_levels_and_weights(dept):
    _, ind = dept
    assert len(ind) == 39 and ind.seq.tolist() == list(range(1, 40))
    per = ind.groupby("level1", sort=False).agg(n=("name", "size"), points=("level1_weight", "first"),
                                               weights=("weight", "sum"), scores=("score", "sum"),
                                               line=("level1_weight_line", "first"))
    assert per.index.tolist() == ["投入指标", "过程指标", "产出指标", "效益指标"]
    assert per.n.tolist() == [5, 14, 15, 5]
    assert per.points.tolist() == [15, 25, 30, 30] and per.weights.tolist() == [15, 25, 30, 30]
    assert per.scores.tolist() == [15, 25, 30, 25.5]
    assert per.line.tolist() == [698, 703, 718, 733]
    assert ind.level2.unique().tolist() == ["工作目标", "预算配置", "预算执行", "财务管理", "绩效管理",
                                            "重点工作任务完成", "履职目标实现", "履职效益", "满意度"]


def test_budget_execution_row(dept):
    _, ind = dept
    row = ind[ind.name == "预算执行率"].iloc[0]
    assert (row.line, row.level1, row.level2, row.target_raw, row.actual_raw, row.weight, row.score) == (
        703, "过程指标", "预算执行", ">90%", "99.66%", 2, 2)
    assert (row.target_op, row.target_value, row.target_unit, row.direction) == (">", 90, "%", "positive")
    assert (row.actual_op, row.actual_value, row.quantitative) == ("=", 99.66, True)
    ceiling = ind[ind.name == "“三公经费”控制率"].iloc[0]
    assert (ceiling.target_op, ceiling.target_value, ceiling.direction, ceiling.actual_value) == (
        "≤", 100, "ceiling", 60.8)
    qualitative = ind[ind.name == "决算真实性"].iloc[0]
    assert not qualitative.quantitative and pd.isna(qualitative.target_value) and pd.isna(qualitative.direction)


def test_rows_that_slid_or_broke(bundled, dept):
    _, ind = dept
    slid = ind[ind.line == 732].iloc[0]  # "年度工作目标 4 实现率" printed in the 一级指标 column
    assert slid[VALUES].tolist() == ["产出指标", 30, "履职目标实现", "年度工作目标4实现率", "100%", "100%", 2, 2]
    broken = ind[ind.line == 734].iloc[0]  # the name goes on at line 736, after the page break
    assert broken["name"] == "社会效益:促进劳动关系的和谐稳定、仲裁信访服务更高效" and broken.line_end == 736
    assert (broken.target_raw, broken.weight, broken.score) == ("促进", 7, 5)
    assert ind[ind.line == 738].iloc[0][["name", "target_raw", "actual_raw", "score"]].tolist() == [
        "可持续影响", "不断提高社会保障水平", "保障", 5.5]
    assert 737 not in ind.line.tolist()  # the blank 生态效益 row is no indicator …
    lo = bundled["leftovers"]
    lo = lo[lo.form_id == ind.dept_form_id.iloc[0]]
    assert lo[["line", "text"]].values.tolist() == [[737, "生态效益"]]  # … and not lost either
    assert lo.reason.iloc[0] == "indicator row without content (生态效益)"


@pytest.mark.parametrize("label, field", [
    ("部门预算总额（万元）", "budget_total"), ("1、资金来源：（1）财政性资金", "budget_fiscal"),
    ("（2）其他资金", "budget_other"), ("2、资金结构：（1）基本支出", "budget_basic"),
    ("（2）项目支出", "budget_project"), ("部门（单位）名称", "department"), ("年度履职目标", "goals"),
    ("年度主要任务", "tasks"), ("预算情况", "budget_block"),
    ("任务 5: 负责全县就业、失业和相关社会保险基金预测预警和信息引导", None),
])
def test_row_labels(label, field):
    assert label_of(label) == field


# -- variants made from the real text --------------------------------------------------------------------

def respace(line: str) -> str:
    return "   ".join(c for c in line.split("\t") if c.strip())


def pipes(line: str) -> str:
    return "| " + " | ".join(line.split("\t")) + " |" if "\t" in line else line


def one_cell_per_line(text_lines: list[str]) -> list[str]:
    out = []
    for ln in text_lines:
        out += (["\t" + c for c in ln.split("\t")] + [""]) if "\t" in ln else [ln]
    return out


def _same_form(t, original):
    keep = ["department", "year", "budget_total", "budget_fiscal", "budget_other", "budget_basic",
            "budget_project", "goal_count", "task_count", "total_weight"]
    got, want = t["department_forms"][keep], original["department_forms"][keep]
    assert got.astype(object).where(got.notna(), None).values.tolist() == want.astype(object).where(
        want.notna(), None).values.tolist()
    assert indicator_values(t) == indicator_values(original)


@pytest.mark.parametrize("encoding", ["utf-8", "gbk"])
@pytest.mark.parametrize("layout", ["spaces", "pipes", "one-cell-per-line"])
def test_other_spacing_separators_and_encodings(layout, encoding, original):
    text = {"spaces": [respace(ln) for ln in FORM], "pipes": [pipes(ln) for ln in FORM],
            "one-cell-per-line": one_cell_per_line(FORM)}[layout]
    t = read(text, encoding)
    _same_form(t, original)
    assert t["leftovers"].text.tolist() == ["生态效益"]


def _indicator_rows(transform) -> list[str]:
    return [transform(ln) if HEADER <= k < HEADER + 46 and "\t" in ln else ln for k, ln in enumerate(FORM)]


def test_weight_column_before_target(original):
    def move(line):
        c = line.split("\t")
        if c[0].startswith("年度工作目标"):  # the row that slid left keeps its cells in the new order
            return "\t".join([c[0], "", c[4], c[2], c[3], c[5], ""])
        return "\t".join([*c[:3], c[5], c[3], c[4], *c[6:]])

    t = read(_indicator_rows(move))
    _same_form(t, original)
    assert t["leftovers"].text.tolist() == ["生态效益"]


def test_levels_printed_on_every_row(original):
    state = {}

    def fill(line):
        c = line.split("\t")
        if not any(c[3:]) or c[0].startswith("年度工作目标"):
            return line
        for k in (0, 1):
            state[k] = c[k] = c[k] or state.get(k, "")
        return "\t".join(c)

    _same_form(read(_indicator_rows(fill)), original)


def test_page_break_without_blank_line_and_with_the_header_repeated(original):
    text = [ln for k, ln in enumerate(FORM) if not (ln == "" and k > 0 and FORM[k - 1].startswith("\t\t社会效益"))]
    assert len(text) == len(FORM) - 1
    at = text.index("\t\t绩效自评完成率\t100%\t100%\t1\t1")
    text.insert(at, FORM[HEADER])
    t = read(text)
    _same_form(t, original)
    ind = t["department_indicators"]
    assert ind[ind.name.str.startswith("社会效益")].iloc[0].line_end == ind[ind.name.str.startswith(
        "社会效益")].iloc[0].line + 1


def test_missing_cells():
    text = [ln.replace("\t≤20%\t0.3%", "\t\t0.3%") for ln in FORM]
    text = [ln.replace("\t相关\t相关\t3\t3", "\t相关\t相关\t3\t") for ln in text]
    ind = read(text)["department_indicators"].set_index("name")
    row = ind.loc["预算调整率"]
    assert pd.isna(row.target_raw) and row.actual_raw == "0.3%" and row.weight == 2
    row = ind.loc["年度履职目标相关性"]
    assert row.target_raw == "相关" and row.weight == 3 and pd.isna(row.score)


def test_form_ends_before_prose_without_a_title():
    prose = "新乡县人力资源和社会保障局机关内设 8 个内设机构：办公室、就业培训股、人力资源流动管理股。"
    t = read(FORM[:-1] + ["", prose])
    assert t["department_forms"].line_end.tolist() == [75] and len(t["department_indicators"]) == 39


def test_form_without_notes_ends_before_a_short_sentence():
    notes = FORM.index(next(ln for ln in FORM if ln.startswith("注：")))
    t = read(FORM[:notes] + ["本局 2021 年度整体绩效自评得分 95.5 分。", "（一）基本情况"])
    ind = t["department_indicators"]
    assert len(ind) == 39 and ind.name.iloc[-1] == "服务对象满意度"
    assert t["department_forms"].line_end.tolist() == [72]  # the last indicator row (line 740)


def test_header_with_note_and_nature_columns(original):
    def widen(line):
        c = line.split("\t")
        if c[0] == "一级指标":
            return "\t".join([*c[:3], "指标性质", *c[3:], "未完成原因分析及改进措施"])
        if c[2] == "预算执行率":
            return "\t".join([*c[:3], "正向", *c[3:], "执行良好"])
        if c[0].startswith("年度工作目标"):
            return line
        return "\t".join([*c[:3], "", *c[3:], ""])

    t = read(_indicator_rows(widen))
    _same_form(t, original)
    ind = t["department_indicators"].set_index("name")
    assert ind.loc["预算执行率", ["nature", "deviation_note"]].tolist() == ["正向", "执行良好"]
    assert ind.deviation_note.notna().sum() == 1 and t["leftovers"].text.tolist() == ["生态效益"]
