"""Every tidy table declared once: columns, dtypes, Chinese labels, meaning.

Readers, writers, exports and Excel headers read this module; nothing else spells a column list.
The names in DESIGN.md §2 are an API: add columns, never rename them. Money is in 万元, rates in
percent (93.3, not 0.933), missing values are nulls.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa


class Column(NamedTuple):
    name: str
    dtype: str  # pandas dtype: "string", "Float64", "Int64", "boolean"
    label: str  # Chinese header for people
    doc: str


S, F, I, B = "string", "Float64", "Int64", "boolean"

_PROVENANCE = [
    Column("source_file", S, "来源文件", "file name under the raw folder"),
    Column("location", S, "原文位置", "for .xlsx/.docx/.pdf: sheet!row, 'table T row R', 'page P line L' of the "
           "row's line (lines there are running row numbers); null for text files"),
]

# parsed parts of a target / actual cell (normalize.parse_value), the same in every indicator table
_PARSED_TARGET = [
    Column("target_op", S, "指标值比较符", "≥ ≤ > < = or null (qualitative)"),
    Column("target_value", F, "指标值数值", ""),
    Column("target_unit", S, "指标值单位", ""),
]
_PARSED_ACTUAL = [
    Column("actual_op", S, "完成值比较符", ""),
    Column("actual_value", F, "完成值数值", ""),
    Column("actual_unit", S, "完成值单位", ""),
]
_PARSED_KIND = [
    Column("quantitative", B, "定量指标", "target reads as a number"),
    Column("direction", S, "指标方向", "positive (≥) | ceiling (≤) | exact"),
]
# the last columns of both indicator tables (forms.indicator_values ends with them)
_REVIEW_AND_GOAL = [
    Column("score_reviewed", F, "复核分", "the reviewer's score, where the form has that column (湖北 广水)"),
    Column("goal_no", I, "绩效目标序号", "N of the 年度绩效目标N block the row sits in, where a form prints "
           "several (湖北)"),
    Column("goal_weight", F, "绩效目标分值", "the points printed on that block's label (年度绩效目标1(40分) → 40)"),
]

TABLES: dict[str, list[Column]] = {
    "forms": [
        Column("form_id", S, "表单编号", "stable id: hash of the file's bytes and the form's first line (-2, -3 … "
               "for further forms starting on that line)"),
        *_PROVENANCE,
        Column("line_start", I, "起始行", "first line of the form (its title where present)"),
        Column("line_end", I, "结束行", "last line of the form (总分 row or notes under it)"),
        Column("title", S, "表题", "title line above the form, if any"),
        Column("region", S, "地区", "e.g. 兴隆县; taken from the department name or the document"),
        Column("region_inferred", B, "地区为推断", "region not printed in this form"),
        Column("department", S, "主管部门", "主管部门"),
        Column("department_inferred", B, "主管部门为推断", "blank in the form, filled from the document"),
        Column("unit", S, "实施单位", "实施单位"),
        Column("unit_inferred", B, "实施单位为推断", "blank in the form, filled from neighbouring forms"),
        Column("project_name", S, "项目名称", "项目名称 as printed"),
        Column("year", I, "年度", "budget year of the evaluation"),
        Column("year_inferred", B, "年度为推断", "no year line above this form; taken from the document"),
        Column("budget_initial", F, "年初预算数(万元)", "年初预算数 of the 年度资金总额 row"),
        Column("budget_full_year", F, "全年预算数(万元)", "全年预算数 (调整后); null if absent"),
        Column("executed", F, "全年执行数(万元)", "全年执行数"),
        Column("exec_rate_reported", F, "执行率(%)", "执行率 as printed, in percent"),
        Column("exec_weight", F, "执行率分值", "分值 of the execution row"),
        Column("exec_score_reported", F, "执行率得分", "得分 of the execution row as printed"),
        Column("total_weight_reported", F, "总分值", "分值 printed in the 总分 row"),
        Column("total_score_reported", F, "总得分", "得分 printed in the 总分 row"),
        Column("goal_planned", S, "预期目标", "年度总体目标: 预期目标"),
        Column("goal_achieved", S, "实际完成情况", "年度总体目标: 实际完成情况"),
        Column("notes", S, "表注", "notes printed under the table"),
        Column("layout", S, "版式", "column order of the indicator table, e.g. target|actual|weight|score"),
        Column("complete", B, "表单完整", "the form reached its 总分 row"),
        Column("total_line", I, "总分行", "line of the 总分 row"),
        Column("funding_line", I, "资金总额行", "line of the 年度资金总额 row"),
        Column("project_key", S, "项目匹配键", "normalised project name for joining (keys.project_key)"),
        Column("template", S, "模板", "template the form was read as (rules/templates.csv); null: read by rows"),
        Column("amount_unit", S, "金额单位", "unit the form prints its amounts in (万元 | 元); the table holds 万元"),
        Column("grade_printed", S, "表列等级", "the grade printed beside the 总分 (云南: 总分 | 100 | 96 | 优), as "
               "printed; grade_reported is the one its total gives"),
    ],
    "funding": [
        Column("form_id", S, "表单编号", "form the line belongs to"),
        *_PROVENANCE,
        Column("line", I, "行号", "source line"),
        Column("fund_source", S, "资金来源", "total | fiscal | carryover | other"),
        Column("label", S, "行名", "row label as printed"),
        Column("budget_initial", F, "年初预算数(万元)", ""),
        Column("budget_full_year", F, "全年预算数(万元)", "null where the form has no such column"),
        Column("executed", F, "全年执行数(万元)", ""),
        Column("exec_rate_reported", F, "执行率(%)", "rate printed on this line, if any"),
    ],
    "indicators": [
        Column("form_id", S, "表单编号", "form the indicator belongs to"),
        *_PROVENANCE,
        Column("seq", I, "序号", "1-based order within the form"),
        Column("line", I, "行号", "first source line of the row"),
        Column("line_end", I, "结束行", "last source line (cells broken over lines)"),
        Column("level1", S, "一级指标", "产出指标 | 效益指标 | 满意度指标"),
        Column("level1_weight", F, "一级指标分值", "points printed beside the level (产出指标 50分)"),
        Column("level1_weight_line", I, "一级指标分值行", "line printing the level's points"),
        Column("level2", S, "二级指标", "数量指标 … 服务对象满意度指标"),
        Column("indicator_no", I, "指标序号", "N of a printed '指标N:'"),
        Column("name", S, "三级指标", "indicator name without the '指标N:' prefix"),
        Column("target_raw", S, "年度指标值", "target as printed (normalised spacing); where 指标性质 | 指标值 | "
               "度量单位 are printed apart, the target they spell ('≥' '735' '人次' → ≥735人次)"),
        Column("actual_raw", S, "实际完成值", "actual as printed (normalised spacing)"),
        Column("weight", F, "分值", ""),
        Column("score", F, "得分", ""),
        Column("deviation_note", S, "偏差原因", "偏差原因分析及改进措施 / 未完成原因分析"),
        Column("method", S, "得分计算方法", "scoring method text, where the form has that column"),
        Column("nature", S, "指标性质", "where the form has that column"),
        Column("measure_unit", S, "度量单位", "where the form has that column"),
        Column("is_budget_execution", B, "预算执行率指标", "a 预算执行率 row placed among the indicators"),
        *_PARSED_TARGET,
        *_PARSED_ACTUAL,
        *_PARSED_KIND,
        Column("parent_seq", I, "所属指标序号", "seq of the scored indicator an unscored '其中…' sub-row belongs to"),
        Column("is_core", B, "核心指标", "marked ★ (a core indicator of a 衔接资金 / transfer-payment form), or 是 "
               "in a 是否核心指标 column"),
        Column("target_adjusted_raw", S, "调整指标值", "the adjusted target as printed, where it has that column"),
        Column("score_coefficient", F, "得分系数(%)", "the share of the weight scored, where the form prints it"),
        *_REVIEW_AND_GOAL,
    ],
    "leftovers": [
        *_PROVENANCE,
        Column("line", I, "行号", "source line"),
        Column("text", S, "内容", "the line (or cell) not consumed"),
        Column("reason", S, "原因", "why it was not read"),
        Column("form_id", S, "表单编号", "form the line sits in, if any"),
    ],
    "problems": [
        *_PROVENANCE,
        Column("line", I, "行号", "line the problem was found at, if any"),
        Column("severity", S, "级别", "error (file not read) | warning (read in part) | info"),
        Column("message", S, "说明", "what is wrong, for a person"),
    ],
    "files": [
        *_PROVENANCE,
        Column("sha256", S, "SHA-256", "hash of the file's bytes"),
        Column("bytes", I, "字节数", ""),
        Column("encoding", S, "编码", "encoding used to decode the text"),
        Column("format", S, "格式", "text | xlsx | xls | xlsb | ods | docx | pdf (judged by content)"),
        Column("lines", I, "行数", ""),
        Column("forms", I, "项目自评表数", ""),
        Column("status", S, "状态", "ok | partial | failed"),
        Column("duplicate_of", S, "重复文件", "source_file of an identical file (same SHA-256) read instead of this "
               "one: its tables are listed once, under that file; null for files read"),
        Column("table_lines", I, "表内行数", "lines inside the recognised tables (project forms, summaries, department "
               "forms, target tables), each from its first to its last line; the next five add up to it"),
        Column("lines_consumed", I, "已读行数", "of those, lines read into a record (labels, headers, values, texts)"),
        Column("lines_placeholder", I, "空模板行数", "empty template rows (指标2:, ……) counted and not read; their "
               "lines are in an info problem"),
        Column("lines_leftover", I, "未读行数", "lines with a leftovers row (not read, or read but for a cell)"),
        Column("lines_blank", I, "空行数", "blank lines and rules (---) inside the tables"),
        Column("lines_unaccounted", I, "未记录行数", "lines whose table reader recorded no fate (0 once every table "
               "reader reports the lines it read)"),
        Column("path", S, "文件路径", "where the file was read from (absolute): the checks quote their evidence from "
               "it, whatever the working directory"),
    ],
    "tables": [
        *_PROVENANCE,
        Column("line_start", I, "起始行", ""),
        Column("kind", S, "表类型", "project_form | summary | department_form | target_table | report (narrative)"),
        Column("title", S, "标题", ""),
    ],
    # -- other tables of the documents (summaries, department forms, target tables, narrative) ----------
    "summary_rows": [
        *_PROVENANCE,
        Column("line_start", I, "起始行", "first line of the row"),
        Column("line_end", I, "结束行", "last line of the row (cells broken over lines)"),
        Column("table_line", I, "表起始行", "line of the summary table's title: which table the row is in"),
        Column("unit", S, "单位名称", "部门（单位）名称 printed above the table"),
        Column("summary_date", S, "汇总时间", "汇总时间 as printed"),
        Column("seq", I, "序号", "序号 as printed"),
        Column("project_name", S, "项目名称", "as printed"),
        Column("project_key", S, "项目匹配键", "normalised project name for joining (keys.project_key)"),
        Column("budget", F, "全年预算数(万元)", ""),
        Column("executed", F, "执行数(万元)", ""),
        Column("exec_rate_reported", F, "执行率(%)", ""),
        Column("output_rate", F, "产出指标得分率(%)", ""),
        Column("benefit_rate", F, "效益指标得分率(%)", ""),
        Column("satisfaction_rate", F, "满意度指标得分率(%)", ""),
        Column("total_score", F, "自评得分", ""),
        Column("deviation_note", S, "偏差原因", ""),
        Column("form_id", S, "表单编号", "matched project form, null when none or ambiguous"),
        Column("match", S, "匹配", "exact | key | contains | fuzzy | ambiguous | none"),
        # -- read from the table as well (summary module)
        Column("summary_id", S, "汇总表编号", "stable id of the table: file hash and title line"),
        Column("title", S, "表题", "title of the summary table"),
        Column("unit_inferred", B, "单位为推断", "no unit row: taken from the table continued here"),
        Column("is_total", B, "合计行", "a 合计/总计 row, not a project"),
        Column("budget_initial", F, "年初预算数(万元)", "where the table has that column"),
        # -- added by the token reader (tables/engine.py) --
        Column("seq_label", S, "序号(原文)", "序号 as printed: 一 / (一) / 1; group rows carry 一 and (一)"),
        Column("is_subtotal", B, "小计行", "a group row (一、(一)) adding up the items under it; is_total too"),
        Column("responsible", S, "责任部门", "责任部门 column of the row, where the table has one"),
    ],
    "department_forms": [
        Column("dept_form_id", S, "整体表编号", "stable id: file hash and first line"),
        *_PROVENANCE,
        Column("line_start", I, "起始行", ""),
        Column("line_end", I, "结束行", ""),
        Column("title", S, "表题", ""),
        Column("department", S, "部门（单位）名称", ""),
        Column("year", I, "年度", ""),
        Column("budget_total", F, "部门预算总额(万元)", ""),
        Column("budget_fiscal", F, "财政性资金(万元)", ""),
        Column("budget_other", F, "其他资金(万元)", ""),
        Column("budget_basic", F, "基本支出(万元)", ""),
        Column("budget_project", F, "项目支出(万元)", ""),
        Column("goals", S, "年度履职目标", "text, one goal per line"),
        Column("tasks", S, "年度主要任务", "text, one '名称: 内容' per line"),
        Column("total_weight", F, "总分值", "sum of the printed level points, or the 总分 row"),
        Column("total_score", F, "总得分", "总分 row if printed, else null"),
        Column("notes", S, "表注", ""),
        # -- read from the form as well (department module)
        Column("goal_count", I, "履职目标数", "number of 年度履职目标 (目标1, 目标2, …)"),
        Column("task_count", I, "主要任务数", "number of 年度主要任务 rows"),
        Column("budget_line", I, "预算总额行", "line of the 部门预算总额 row"),
        # -- added by the token reader (tables/engine.py) for 部门整体支出绩效自评表 in the project layout --
        Column("budget_initial", F, "年初预算数(万元)", "年初预算数 of the 年度资金总额 row (project-layout forms)"),
        Column("budget_full_year", F, "全年预算数(万元)", "全年预算数 (project-layout forms)"),
        Column("executed", F, "全年执行数(万元)", "全年执行数 (project-layout forms)"),
        Column("exec_rate_reported", F, "执行率(%)", "执行率 as printed"),
        Column("exec_weight", F, "执行率分值", "分值 of the execution row"),
        Column("exec_score_reported", F, "执行率得分", "得分 of the execution row as printed"),
        Column("template", S, "模板", "template the form was read as (rules/templates.csv); null: read by rows"),
        Column("amount_unit", S, "金额单位", "unit the form prints its amounts in (万元 | 元)"),
    ],
    "department_indicators": [
        Column("dept_form_id", S, "整体表编号", ""),
        *_PROVENANCE,
        Column("seq", I, "序号", ""),
        Column("line", I, "行号", "first source line of the row"),
        Column("line_end", I, "结束行", ""),
        Column("level1", S, "一级指标", "投入指标 | 过程指标 | 产出指标 | 效益指标"),
        Column("level1_weight", F, "一级指标分值", "points printed beside the level"),
        Column("level1_weight_line", I, "一级指标分值行", ""),
        Column("level2", S, "二级指标", ""),
        Column("name", S, "三级指标", ""),
        Column("target_raw", S, "指标值", ""),
        Column("actual_raw", S, "完成值", ""),
        Column("weight", F, "分值", ""),
        Column("score", F, "得分", ""),
        *_PARSED_TARGET,
        *_PARSED_ACTUAL,
        *_PARSED_KIND,
        # -- read from the form as well (department module)
        Column("deviation_note", S, "偏差原因", "未完成原因分析及改进措施, where the form has that column"),
        Column("method", S, "得分计算方法", "where the form has that column"),
        Column("nature", S, "指标性质", "where the form has that column"),
        Column("measure_unit", S, "度量单位", "where the form has that column"),
        Column("is_core", B, "核心指标", "是 in a 是否核心指标 column (Chongqing), or the name marked ★"),
        Column("target_adjusted_raw", S, "调整指标值", "the adjusted target as printed, where it has that column"),
        Column("score_coefficient", F, "得分系数(%)", "the share of the weight scored, where the form prints it"),
        *_REVIEW_AND_GOAL,
    ],
    "targets": [
        Column("target_id", S, "目标表编号", "stable id: file hash and first line"),
        *_PROVENANCE,
        Column("line_start", I, "起始行", ""),
        Column("line_end", I, "结束行", ""),
        Column("table_no", I, "表号", "number printed before the title"),
        Column("title", S, "表题", "title as printed (project name)"),
        Column("project_name", S, "项目名称", "project name taken from the title"),
        Column("project_key", S, "项目匹配键", ""),
        Column("department", S, "主管部门", ""),
        Column("unit", S, "实施单位", ""),
        Column("year", I, "年度", "budget year the targets are for"),
        Column("budget", F, "预算金额(万元)", "amount printed with the table, if any"),
        Column("goal", S, "年度目标", "goal text"),
        Column("form_id", S, "表单编号", "matched project form, null when none or ambiguous"),
        Column("match", S, "匹配", "exact | key | contains | fuzzy | ambiguous | none"),
        # -- added by the target-table reader (perfdata.tables.targets) --
        Column("department_inferred", B, "主管部门为推断", "not printed in the table: the document's department"),
        Column("year_inferred", B, "年度为推断", "not printed in the table: the document's budget year"),
        Column("budget_source", S, "预算金额来源", "table (a 项目资金 row) | goal (stated in the goal text)"),
        Column("goal_line", I, "绩效目标行", "line of the 绩效目标 row"),
        Column("header_line", I, "表头行", "line of the indicator header"),
        Column("indicator_count", I, "指标数", "indicator rows read"),
    ],
    "target_indicators": [
        Column("target_id", S, "目标表编号", ""),
        *_PROVENANCE,
        Column("seq", I, "序号", ""),
        Column("line", I, "行号", ""),
        Column("line_end", I, "结束行", ""),
        Column("level1", S, "一级指标", ""),
        Column("level2", S, "二级指标", ""),
        Column("level3", S, "三级指标", ""),
        Column("description", S, "指标内容", ""),
        Column("target_raw", S, "指标值", ""),
        Column("basis", S, "指标值设定依据", ""),
        *_PARSED_TARGET,
        *_PARSED_KIND,
        # -- added by the target-table reader (perfdata.tables.targets) --
        Column("level1_printed", S, "一级指标(原文)", "level-1 cell as printed; null where carried down"),
        Column("level1_inferred", B, "一级指标为推断", "level-1 cell missing: taken from the level-2 name"),
        Column("level2_printed", S, "二级指标(原文)", "level-2 cell as printed; null where carried down"),
        Column("measure_unit", S, "度量单位", "where the table has that column"),
        Column("nature", S, "指标性质", "where the table has that column"),
        Column("weight", F, "分值", "where the table has that column"),
    ],
    "statements": [
        *_PROVENANCE,
        Column("line", I, "行号", "line of the sentence or table cell"),
        Column("subject", S, "对象", "project or unit the figure is about, as printed"),
        Column("subject_kind", S, "对象类型", "project | unit | department | document"),
        Column("project_key", S, "项目匹配键", "for project subjects"),
        Column("metric", S, "指标", "total_score | exec_rate | budget_initial | budget_full_year | executed | "
               "output_rate | benefit_rate | satisfaction_rate | grade | … (see statements module)"),
        Column("value", F, "数值", "万元 for money, percent for rates, points for scores"),
        Column("value_text", S, "原文数值", "the figure as printed (grades: 优/良/中/差)"),
        Column("text", S, "原文", "the sentence (shortened) the figure comes from"),
        Column("form_id", S, "表单编号", "matched project form, null when none or ambiguous"),
        Column("match", S, "匹配", "exact | key | contains | fuzzy | ambiguous | none"),
        # -- added by the narrative reader (perfdata.tables.statements) --
        Column("value_unit", S, "数值单位", "万元 | % | 分 | null (grades)"),
        Column("section_line", I, "所在报告行", "line of the report title the sentence sits under, if any"),
    ],
    # -- rescoring (scoring.py) -------------------------------------------------------------------------
    "rescored_indicators": [
        Column("form_id", S, "表单编号", ""),
        *_PROVENANCE,
        Column("seq", I, "序号", ""),
        Column("line", I, "行号", "line of the indicator row"),
        Column("level1", S, "一级指标", ""),
        Column("name", S, "三级指标", ""),
        Column("target_raw", S, "年度指标值", ""),
        Column("actual_raw", S, "实际完成值", ""),
        Column("weight", F, "分值", ""),
        Column("score", F, "自评得分", "得分 as printed"),
        Column("status", S, "复核状态", "met | unmet | over_ceiling | achieved | partial | not_achieved | "
               "budget_execution | not_comparable"),
        Column("reason", S, "不可比原因", "why the indicator cannot be rescored, for not_comparable"),
        Column("achievement", F, "完成比例(%)", "actual / target in percent (quantitative and execution rows)"),
        Column("rescore", F, "复核得分", "score under the quantitative rule; null for bands and not_comparable"),
        Column("rescore_min", F, "复核得分下限", "lowest score the rule or band allows"),
        Column("rescore_max", F, "复核得分上限", "highest score the rule or band allows"),
        Column("form_exec_rate", F, "表单执行率(%)", "execution rate from the form's amounts (execution rows)"),
    ],
    "rescored_forms": [
        Column("form_id", S, "表单编号", ""),
        *_PROVENANCE,
        Column("project_name", S, "项目名称", ""),
        Column("exec_base", S, "执行率口径", "full_year (全年预算数) | initial (年初预算数)"),
        Column("exec_rate", F, "复核执行率(%)", "executed / budget in percent"),
        Column("exec_rate_reported", F, "自评执行率(%)", ""),
        Column("exec_weight", F, "执行率分值", ""),
        Column("exec_score", F, "复核执行率得分", "rate × weight, capped at the weight"),
        Column("exec_score_reported", F, "自评执行率得分", ""),
        Column("indicators", I, "指标数", ""),
        Column("indicator_weight", F, "指标分值合计", ""),
        Column("indicator_score_reported", F, "指标自评得分合计", ""),
        Column("indicator_rescore_min", F, "指标复核得分下限", ""),
        Column("indicator_rescore_max", F, "指标复核得分上限", ""),
        Column("not_comparable", I, "不可比指标数", ""),
        Column("unscored_weight", F, "不可比指标分值", "weight of indicators that could not be rescored"),
        Column("total_basis", S, "总分口径", "execution_plus_indicators | indicators_only (execution row outside)"),
        Column("total_weight_reported", F, "总分值", ""),
        Column("total_score_reported", F, "自评总分", ""),
        Column("total_rescore_min", F, "复核总分下限", ""),
        Column("total_rescore_max", F, "复核总分上限", "not-comparable indicators counted at full weight"),
        Column("grade_reported", S, "自评等级", "优 | 良 | 中 | 差 from the reported total"),
        Column("grade_rescored", S, "复核等级", "from total_rescore_max"),
        Column("grade_rescored_min", S, "复核等级(下限)", "from total_rescore_min"),
    ],
    # -- checks ------------------------------------------------------------------------------------
    "anomalies": [
        Column("rule", S, "规则", "rule id (rules/anomalies.csv)"),
        Column("category", S, "类别", "consistency | reconciliation | completeness | quality"),
        Column("severity", S, "严重程度", "high | medium | low"),
        Column("form_id", S, "表单编号", "null for findings about other tables or a template"),
        Column("region", S, "地区", ""),
        Column("department", S, "主管部门", ""),
        Column("year", I, "年度", ""),
        Column("project_name", S, "项目名称", ""),
        Column("field", S, "字段", "column the finding is about"),
        Column("expected", S, "应为", "what the rule expects"),
        Column("found", S, "实为", "what the document says"),
        Column("message", S, "说明", "Chinese, for a working paper"),
        *_PROVENANCE,
        Column("line", I, "行号", "line holding the figure found wrong"),
        Column("evidence", S, "证据", "the source line(s) as printed"),
        # -- checks: one finding may rest on several lines (the same figure in two tables, a repeated sentence)
        Column("lines", S, "涉及行", "every line holding evidence of this finding, comma-separated"),
    ],
}

# Tables of the audit analyses (perfdata.audit): sampling, copied text, years, reasons, digit tests, runs.
# Each analysis declares its tables here, one entry each; they are derived, never ingested.
AUDIT_TABLES: dict[str, list[Column]] = {
    # -- audit/copies.py: copied text across forms, departments and years ---------------------------
    "copies": [
        Column("kind", S, "雷同类型", "shared_text (same text in other departments' forms) | indicator_set (indicator "
               "set reused by another unit) | repeat_year (last year's form with only the year changed) | "
               "actual_is_target (a file's actuals copied from the targets)"),
        Column("field", S, "字段", "column compared: deviation_note, goal_planned, goal_achieved, goals, text; "
               "name/target_raw; form; actual_raw"),
        Column("similarity", F, "相似度(%)", "fuzz.ratio of the normalised texts (shared_text, repeat_year: years "
               "masked), Jaccard of the pairs (indicator_set), share of indicators (actual_is_target)"),
        Column("count", I, "雷同数", "forms carrying the text | pairs in common | indicators unchanged | indicators "
               "whose actual is the target"),
        Column("total", I, "总数", "departments carrying the text | pairs of the two forms | indicators of the later "
               "form | indicators of the file"),
        Column("source_file_a", S, "来源文件(甲)", "file of the earlier text (the one copied from)"),
        Column("location_a", S, "原文位置(甲)", "sheet!row, 'table T row R', 'page P line L' where known; null "
               "for text files"),
        Column("line_a", I, "行号(甲)", "line of the text (a form's goal: its own line where the raw file is at "
               "hand, else the form's first line)"),
        Column("form_id_a", S, "表单编号(甲)", "its form; null for a department form or a sentence of no form"),
        Column("region_a", S, "地区(甲)", ""),
        Column("department_a", S, "主管部门(甲)", ""),
        Column("unit_a", S, "实施单位(甲)", ""),
        Column("year_a", I, "年度(甲)", ""),
        Column("project_name_a", S, "项目名称(甲)", "project, or the department of a department form"),
        Column("text_a", S, "文本(甲)", "the text as printed (indicator_set: the shared pairs; repeat_year: the "
               "form's text, shortened)"),
        Column("source_file_b", S, "来源文件(乙)", "file of the copy"),
        Column("location_b", S, "原文位置(乙)", "sheet!row, 'table T row R', 'page P line L' where known; null "
               "for text files"),
        Column("line_b", I, "行号(乙)", "line of the text (a form's goal: its own line where the raw file is at "
               "hand, else the form's first line)"),
        Column("form_id_b", S, "表单编号(乙)", "its form; null for a department form or a sentence of no form"),
        Column("region_b", S, "地区(乙)", ""),
        Column("department_b", S, "主管部门(乙)", ""),
        Column("unit_b", S, "实施单位(乙)", ""),
        Column("year_b", I, "年度(乙)", ""),
        Column("project_name_b", S, "项目名称(乙)", "project, or the department of a department form"),
        Column("text_b", S, "文本(乙)", "the text as printed (indicator_set: the shared pairs; repeat_year: the "
               "form's text, shortened)"),
        Column("message", S, "说明", "Chinese, for a working paper"),
    ],
    # -- audit/years.py: a project across years ------------------------------------------------------
    "project_years": [
        Column("link_id", S, "跨年度项目编号", "the project across years: form_id (or target_id) of its earliest "
               "linked row"),
        Column("year", I, "年度", ""),
        Column("kind", S, "表类型", "project_form (自评表) / target_table (绩效目标表 of a budget disclosure)"),
        Column("form_id", S, "表单编号", "the 项目支出绩效自评表; null for a target table"),
        Column("target_id", S, "目标表编号", "the 绩效目标表; null for a form"),
        Column("region", S, "地区", "for a target table: the region of its department's forms, if one"),
        Column("department", S, "主管部门", ""),
        Column("unit", S, "实施单位", ""),
        Column("project_name", S, "项目名称", "as printed"),
        Column("project_key", S, "项目匹配键", "keys.project_key of the name: what a key link compares"),
        Column("name_key", S, "跨年度名称键", "project_key without years and document numbers (2024年, "
               "[2023]220号): what a name or fuzzy link compares"),
        *_PROVENANCE,
        Column("line", I, "行号", "first line of the form or target table"),
        Column("budget", F, "预算数(万元)", "全年预算数, else 年初预算数; a target table's 预算金额"),
        Column("executed", F, "全年执行数(万元)", ""),
        Column("exec_rate", F, "执行率(%)", "executed / budget in percent; the printed rate where the amounts are "
               "missing"),
        Column("score", F, "自评总分", "总分 得分 as printed"),
        Column("total_weight", F, "总分值", "总分 分值 as printed, else full marks (rules/thresholds.csv)"),
        Column("prev_year", I, "上年年度", "year of the form this row is linked to"),
        Column("prev_form_id", S, "上年表单编号", "form of the year before this row is linked to; null: none"),
        Column("match", S, "跨年度匹配方式", "key (same project_key in the department) / name (same unit and "
               "name_key) / fuzzy (same unit, name_key at least fuzzy_min alike) / ambiguous (several "
               "candidates: not linked); null: no candidate or no year before"),
        Column("match_score", F, "跨年度匹配得分", "100 for key and name links; rapidfuzz ratio of the name keys "
               "for fuzzy links"),
    ],
    "indicator_years": [
        Column("link_id", S, "跨年度项目编号", "project_years.link_id of the indicator's project"),
        Column("year", I, "年度", ""),
        Column("kind", S, "表类型", "project_form / target_table"),
        Column("form_id", S, "表单编号", "null for a target table's indicator"),
        Column("target_id", S, "目标表编号", "null for a form's indicator"),
        Column("project_name", S, "项目名称", ""),
        Column("indicator_key", S, "指标匹配键", "normalised indicator name (keys.project_key of it)"),
        Column("occurrence", I, "同名指标序次", "1 for the first indicator of that key in its form, 2 for a "
               "second …: what pairs same-named indicators"),
        Column("seq", I, "序号", ""),
        Column("level1", S, "一级指标", ""),
        Column("level2", S, "二级指标", ""),
        Column("name", S, "三级指标", "for a target table its 三级指标, else its 指标内容"),
        Column("target_raw", S, "年度指标值", "as printed"),
        Column("actual_raw", S, "实际完成值", "as printed; null for a target table"),
        *_PARSED_TARGET,
        *_PARSED_ACTUAL,
        Column("direction", S, "指标方向", "positive (≥) / ceiling (≤) / exact"),
        *_PROVENANCE,
        Column("line", I, "行号", "line of the indicator row"),
        Column("prev_form_id", S, "上年表单编号", "form of the year before the indicator's project is linked to"),
        Column("prev_line", I, "上年行号", "line of the same indicator in the linked form of the year before; "
               "null: new this year, or the first year"),
    ],
    "year_findings": [
        Column("rule", S, "规则", "target_set_low / budget_up_exec_down / full_score_exec_down / "
               "indicator_dropped (rules/years.csv)"),
        Column("title", S, "规则名称", "the rule's Chinese title"),
        Column("severity", S, "严重程度", "high / medium / low"),
        Column("link_id", S, "跨年度项目编号", ""),
        Column("region", S, "地区", ""),
        Column("department", S, "主管部门", ""),
        Column("unit", S, "实施单位", ""),
        Column("project_name", S, "项目名称", "this year's name"),
        Column("year", I, "年度", "this year"),
        Column("prev_year", I, "上年年度", ""),
        Column("kind", S, "表类型", "this year's document: project_form / target_table"),
        Column("form_id", S, "表单编号", "this year's form"),
        Column("target_id", S, "目标表编号", "this year's target table"),
        Column("prev_form_id", S, "上年表单编号", "last year's form"),
        Column("indicator", S, "指标名称", "the indicator the finding is about, if one"),
        Column("field", S, "字段", "column the finding is about"),
        Column("expected", S, "应为", "what the rule expects"),
        Column("found", S, "实为", "what this year's document says"),
        Column("message", S, "说明", "Chinese, for a working paper"),
        *_PROVENANCE,
        Column("line", I, "行号", "this year's line: the target, the funding row, the 总分 row, or the form's "
               "first line (a dropped indicator)"),
        Column("where", S, "本年原文位置", "this year's file:line"),
        Column("prev_source_file", S, "上年来源文件", ""),
        Column("prev_line", I, "上年行号", "last year's line: the actual, the funding row, the 总分 row, the "
               "dropped indicator"),
        Column("prev_where", S, "上年原文位置", "last year's file:line"),
        Column("match", S, "跨年度匹配方式", "how this year's row was linked to last year's"),
        Column("match_score", F, "跨年度匹配得分", ""),
    ],
    # -- audit/sampling.py: forms drawn for 抽查复核 -------------------------------------------------------
    "sample": [
        Column("form_id", S, "表单编号", ""),
        Column("source_file", S, "来源文件", "file name under the raw folder"),
        Column("line_start", I, "起始行", "first line of the form"),
        Column("region", S, "地区", ""),
        Column("department", S, "主管部门", ""),
        Column("year", I, "年度", ""),
        Column("project_name", S, "项目名称", ""),
        Column("budget", F, "预算数(万元)", "全年预算数, else 年初预算数: what money sampling weighs the form by"),
        Column("method", S, "抽样方法", "random | stratified | mus (monetary-unit) | risk"),
        Column("stratum", S, "抽样层", "全部项目自评表 (random, risk); the region/department/year values "
               "(stratified); 大额（不小于抽样间距）| 按金额抽样 | 未填预算金额 (mus: forms without a positive "
               "budget are their own stratum, all listed unless `unbudgeted` says how many to draw)"),
        Column("stratum_size", I, "层内项目数", "forms in the stratum"),
        Column("stratum_drawn", I, "层内抽取数", "forms drawn from the stratum"),
        Column("interval", F, "抽样间距(万元)", "mus: cumulative amount between two hits (total of the "
               "non-certain forms / their draws)"),
        Column("hit_amount", F, "抽中金额位置(万元)", "mus: the point on the cumulative amount that fell in this "
               "form; null for certain forms"),
        Column("selection_probability", F, "入选概率(%)", "chance of the form being in the sample: n/N, n_h/N_h, "
               "budget/interval (mus, 100 for certain forms); null for risk (draw by draw, no closed form) "
               "unless every form is drawn"),
        Column("risk_score", F, "风险分", "risk: risk_base + findings weighted by severity (rules/sampling.csv)"),
        Column("findings", I, "问题数", "findings of `perfdata check` on this form; null when none were at hand"),
        Column("findings_high", I, "高风险问题数", "of those, high severity"),
        Column("reason", S, "抽取原因", "why this form was drawn, in Chinese"),
        Column("seed", I, "随机种子", "numpy.random.default_rng seed: the same tables, method, n and seed give "
               "the same sample"),
    ],
    # -- audit/digits.py: Benford and last-digit tests on the funding figures ------------------------------
    "digit_tests": [
        Column("test", S, "检验", "first (首位数字, Benford) | first_two (前两位数字, Benford) | last (万元个位, "
               "uniform)"),
        Column("group", S, "分组", "the group's region/department/year values, or 全部 (every amount)"),
        Column("region", S, "地区", "null for 全部 or when not grouped by it"),
        Column("department", S, "主管部门", "null for 全部 or when not grouped by it"),
        Column("year", I, "年度", "null for 全部 or when not grouped by it"),
        Column("n", I, "金额个数", "amounts tested (funding figures, one per value and line)"),
        Column("excluded", I, "未计入金额数", "amounts of the group left out: zero, negative, or below the test's "
               "min_amount (10 万元 for first_two, 100 万元 for last)"),
        Column("mad", F, "平均绝对偏差(MAD)", "mean |observed − expected| share, as proportions (Nigrini's scale)"),
        Column("mad_expected", F, "符合时的期望MAD", "MAD a sample of this size drawn from the expected "
               "distribution itself shows on average: a small sample's MAD is large even when it conforms"),
        Column("verdict", S, "结论", "高度符合 | 可接受 | 勉强可接受 | 不符合 (MAD bounds of rules/digits.csv); "
               "样本不足 below the test's min_n"),
        Column("chi_square", F, "卡方值", "Σ (observed − expected)² / expected over the digits"),
        Column("dof", I, "自由度", "digits − 1"),
        Column("p_value", F, "卡方检验P值", "upper tail of chi-square (Wilson–Hilferty approximation); unreliable "
               "where expected counts fall below 5 (small groups, first_two)"),
    ],
    "digit_frequencies": [
        Column("test", S, "检验", "first | first_two | last"),
        Column("group", S, "分组", "as in digit_tests"),
        Column("region", S, "地区", ""),
        Column("department", S, "主管部门", ""),
        Column("year", I, "年度", ""),
        Column("digit", I, "数字", "1–9, 10–99, or 0–9"),
        Column("observed", I, "实际个数", "amounts with this digit"),
        Column("observed_share", F, "实际占比(%)", "of the group's amounts tested; null when none"),
        Column("expected_share", F, "期望占比(%)", "Benford's log10(1 + 1/d), or 10 for the last digit"),
        Column("z_stat", F, "Z统计量", "Nigrini's z of the digit's share (continuity-corrected); above 1.96 "
               "differs at the 5 % level"),
    ],
    # -- audit/runs.py: the report runs under reports/ and their findings ----------------------------------
    "runs": [
        Column("run_id", S, "运行编号", "the folder name without -FAILED / .partial (the runner names it by the "
               "run id)"),
        Column("folder", S, "运行目录", "folder name under the reports folder"),
        Column("status", S, "运行状态", "ok | failed (<run-id>-FAILED) | partial (.<run-id>.partial: being written "
               "or interrupted) | unreadable (manifest.json missing or not JSON)"),
        Column("complete", B, "完整运行", "status ok: the only runs counted and compared"),
        Column("note", S, "说明", "why a run is not counted, or what it lacks; null for a complete run"),
        Column("latest", B, "最新运行", "reports/latest points to this run"),
        Column("run_date", S, "运行日期", "the date the run's reports print (the manifest's run_date: now, or "
               "SOURCE_DATE_EPOCH when set)"),
        Column("started", S, "开始时间", "UTC, ISO 8601, from the manifest: the order of the runs"),
        Column("finished", S, "结束时间", "UTC, ISO 8601"),
        Column("seconds", F, "用时(秒)", ""),
        Column("parameters", S, "参数", "the parameters given (--param), as JSON; {} for the defaults"),
        Column("data_dir", S, "数据目录", "tidy tables the report read"),
        Column("raw_dir", S, "原始文件目录", "raw documents, if the run had them"),
        Column("input_basis", S, "输入口径", "raw (the raw documents' hashes) | data (the tidy tables', "
               "without the check's own tables, when the run had no raw folder)"),
        Column("input_files", S, "输入文件", "input file names, sorted, separated by '; '"),
        Column("input_count", I, "输入文件数", ""),
        Column("inputs_sha256", S, "输入指纹", "SHA-256 over the input files' names and SHA-256: equal for runs "
               "of the same files with the same bytes"),
        Column("perfdata_version", S, "程序版本", "perfdata version of the run"),
        Column("forms", I, "表单数", "project forms in the report (tables/table_rows.csv)"),
        Column("findings", I, "问题数", "findings listed (tables/anomalies_by_rule.csv), after the report's filters"),
        Column("findings_high", I, "高风险问题数", ""),
        Column("findings_medium", I, "中风险问题数", ""),
        Column("findings_low", I, "低风险问题数", ""),
        Column("rules_hit", I, "发现问题的规则数", ""),
        Column("findings_by_rule", S, "按规则问题数", "JSON: rule id → {high, medium, low}"),
    ],
    "run_changes": [
        Column("run_id", S, "运行编号", "the run compared"),
        Column("previous_run_id", S, "上次运行编号", "latest complete run before it with the same inputs; null: none"),
        Column("matched_by", S, "比较口径", "hashes (same input files, same bytes) | names (same file names)"),
        Column("same_parameters", B, "参数相同", "both runs were given the same parameters"),
        Column("rule", S, "规则", "rule id (rules/anomalies.csv), or a title no rule has any more"),
        Column("severity", S, "严重程度", "high | medium | low"),
        Column("previous", I, "上次问题数", "null when there is no previous run or it has no counts"),
        Column("current", I, "本次问题数", ""),
        Column("change", I, "变化", "current − previous"),
    ],
}
TABLES.update(AUDIT_TABLES)

# Tables the ingest produces (the checks produce `anomalies` and the rescoring tables).
INGEST_TABLES = [name for name in TABLES
                 if name not in ("anomalies", "rescored_forms", "rescored_indicators", *AUDIT_TABLES)]


def frame(name: str, rows: list[dict] | list[tuple]) -> pd.DataFrame:
    """A DataFrame of table `name` with exactly the declared columns and dtypes."""
    cols = TABLES[name]
    names = [c.name for c in cols]
    if rows and isinstance(rows[0], dict):
        df = pd.DataFrame.from_records(rows, columns=names)
    else:
        df = pd.DataFrame.from_records(rows, columns=names) if rows else pd.DataFrame(columns=names)
    return conform(name, df)


def frame_columns(name: str, columns: dict[str, list]) -> pd.DataFrame:
    """Like frame(), from columns (name → list of values) instead of rows: each column is built
    straight into its declared dtype, which costs a fraction of rows → frame → cast."""
    n = len(next(iter(columns.values()), []))
    return pd.DataFrame(arrays(name, columns, n), index=pd.RangeIndex(n))


def arrays(name: str, columns: dict[str, list], n: int) -> dict:
    """The declared columns of table `name` as typed arrays of length n (all-null where absent). A
    column whose values do not fit that way (e.g. numbers in a text column) takes the conform() path."""
    out = {}
    for c in TABLES[name]:
        values = columns.get(c.name)
        if values is None:
            values = [None] * n
        try:
            out[c.name] = _array(values, c.dtype)
        except (TypeError, ValueError, pa.ArrowException):
            out[c.name] = conform(name, pd.DataFrame({c.name: pd.Series(values, dtype=object)}))[c.name].array
    return out


def frame_arrays(name: str, parts: list[dict]) -> pd.DataFrame:
    """A frame of table `name` from several arrays() results, concatenated in order."""
    out = {}
    for c in TABLES[name]:
        chunks = [p[c.name] for p in parts]
        out[c.name] = type(chunks[0])._concat_same_type(chunks)
    n = len(next(iter(out.values())))
    return pd.DataFrame(out, index=pd.RangeIndex(n))


def _array(values: list, dtype: str):
    """Python values (None for missing) → the declared extension array, without per-value conversion
    in pandas (the same values as pd.array(values, dtype), at about half the cost)."""
    if dtype == S and pd.StringDtype().storage == "pyarrow":
        return pd.arrays.ArrowStringArray(pa.chunked_array([pa.array(values, type=pa.large_string())]))
    if dtype == F:
        data = np.array(values, dtype=np.float64)  # None → NaN, in numpy's loop
        return pd.arrays.FloatingArray(data, np.isnan(data))
    if dtype in (I, B) and set(map(type, values)) <= _EXACT[dtype]:
        objs = np.array(values, dtype=object)
        mask = np.equal(objs, None)
        objs[mask] = 0
        if dtype == I:
            return pd.arrays.IntegerArray(objs.astype(np.int64), mask)
        return pd.arrays.BooleanArray(objs.astype(bool), mask)
    return pd.array(values, dtype=dtype)


_EXACT = {I: {int, type(None)}, B: {bool, type(None)}}


@functools.cache
def _pandas_dtype(dtype: str):
    """The declared dtype as pandas compares it: "string" is the NA-valued StringDtype, not pandas' `str`."""
    return pd.api.types.pandas_dtype(dtype)


def conform(name: str, df: pd.DataFrame, cast=None) -> pd.DataFrame:
    """Cast to the declared dtypes (after reading CSV or concatenating). Columns that have their declared
    dtype already (as perfdata writes them) are kept as they are; `cast(dtype, column)` casts the others
    (default: cast(); scoring.conformed passes one that skips the trip through Python objects)."""
    cast = cast or _cast
    out = {}
    for c in TABLES[name]:
        s = df[c.name] if c.name in df else pd.Series([None] * len(df), index=df.index)
        out[c.name] = s if s.dtype == _pandas_dtype(c.dtype) else cast(c.dtype, s)
    return pd.DataFrame(out, index=df.index)


def _cast(dtype: str, s: pd.Series) -> pd.Series:
    """One column cast to a declared dtype: text through Python objects (nulls as NA), yes/no text as booleans,
    numbers parsed from text."""
    if dtype == S:
        return s.astype("object").where(s.notna(), None).astype(S)
    text = s.dtype == object or str(s.dtype) in ("str", "string")
    if dtype == B:
        if text:
            s = s.map({"True": True, "False": False, "true": True, "false": False, True: True, False: False})
        return s.astype(B)
    return pd.to_numeric(s, errors="coerce").astype(dtype) if text else s.astype(dtype)


def labels(name: str) -> dict[str, str]:
    """Column name → Chinese label, for Excel headers."""
    return {c.name: c.label for c in TABLES[name]}


TABLE_DOCS = {
    "forms": "one row per 项目支出绩效自评表",
    "funding": "one row per funding line of a form (年度资金总额, 财政拨款, 上年结转, 其他资金)",
    "indicators": "one row per 三级指标 with content",
    "leftovers": "one row per line or cell inside a recognised table that was not consumed",
    "problems": "one row per file-level message (error: not read; warning: read in part; info)",
    "files": "one row per input file",
    "tables": "one row per table recognised in the documents",
    "summary_rows": "one row per row of a 部门（单位）项目支出自评汇总表",
    "department_forms": "one row per 部门（单位）整体绩效自评表",
    "department_indicators": "one row per indicator of a 部门整体绩效自评表",
    "targets": "one row per 绩效目标表 of a budget disclosure",
    "target_indicators": "one row per indicator of a 绩效目标表 (targets only, no actuals)",
    "statements": "one row per figure stated in narrative text (自评报告, budget disclosure)",
    "anomalies": "one row per finding of `perfdata check`",
    "rescored_forms": "one row per form: execution rate, score, total and grade under the official rules",
    "rescored_indicators": "one row per indicator: its score under the official rules, or why it cannot be compared",
    # audit tables (AUDIT_TABLES), one line each
    "copies": "one row per copied text: both places, both texts, the field, the similarity and the kind",
    "sample": "one row per form drawn for 抽查复核 (random, stratified, monetary-unit or risk sampling), with why",
    "digit_tests": "one row per digit test (first, first two, last digit) and group of funding figures: MAD, verdict",
    "digit_frequencies": "one row per digit test, group and digit: observed and expected shares",
    "runs": "one row per report run folder under reports/: manifest, inputs, findings by severity and rule",
    "run_changes": "one row per rule and severity: findings of a run beside the previous run of the same inputs",
    "project_years": "one row per form or 绩效目标表 per year, linked to the same project's form of the year before",
    "indicator_years": "one row per indicator of a project linked across years, with its line the year before",
    "year_findings": "one row per change between a project's linked years (target set low, budget up and "
                     "execution down, full marks while execution fell, indicator dropped)",
}


def markdown() -> str:
    """The data dictionary (docs/tables.md): every table and column with dtype, Chinese label and meaning."""
    out = ["# Tables", "",
           "Generated from `perfdata/schema.py` (`python -c \"import perfdata.schema as s; "
           "print(s.markdown(), end='')\" > docs/tables.md`). Column names are an API: columns are added, never "
           "renamed. Money is in 万元, rates in percent (93.3, not 0.933), weights and scores in points; missing "
           "values are nulls. `source_file` + `line` (or `line_start`/`line_end`) trace every row to the document; "
           "`location` adds sheet/row, table/row or page/line for spreadsheets, Word and PDF files.", ""]
    for name, cols in TABLES.items():
        out += [f"## `{name}`", "", TABLE_DOCS.get(name, ""), "", "| column | dtype | 中文 | meaning |",
                "|---|---|---|---|"]
        out += [f"| `{c.name}` | {c.dtype} | {c.label} | {c.doc.replace('|', '/')} |" for c in cols]
        out.append("")
    return "\n".join(out)
