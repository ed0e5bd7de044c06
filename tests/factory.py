"""Render synthetic 项目支出绩效自评表 text the way other provinces lay them out.

Tests use it to make variants the bundled documents do not contain: other column orders and
header spellings (权重, 调整后预算数, 指标性质/度量单位), `|` rows, one cell per line, merged level cells.
"""

from __future__ import annotations

SPEC = {
    "title": "某某项目支出绩效自评表",
    "year": 2023,
    "name": "=公益性岗位补贴(测试)",
    "department": "某某县人力资源和社会保障局",
    "unit": "某某县就业服务中心",
    "funding": {"budget_initial": "120", "budget_full_year": "110.5", "executed": "99.45",
                "exec_weight": "10", "exec_rate": "90%", "exec_score": "9"},
    "planned": "保障公益性岗位补贴按时足额发放",
    "achieved": "已按时足额发放",
    "indicators": [
        # level1, level1 points, level2, name, target, actual, weight, score, note, nature, unit
        ("产出指标", 50, "数量指标", "补贴人数", "≥300", "320", "20", "20", "", "正向", "人"),
        ("产出指标", 50, "质量指标", "发放准确率", "≥98", "97", "15", "14.8", "个别信息有误", "正向", "%"),
        ("产出指标", 50, "时效指标", "发放及时性", "及时", "及时", "15", "15", "", "定性", ""),
        ("效益指标", 30, "社会效益指标", "带动就业", "有效带动", "有效带动", "30", "28", "", "定性", ""),
        ("满意度指标", 10, "服务对象满意度指标", "服务对象满意度", "≥90%", "95%", "10", "10", "", "正向", "%"),
    ],
    "total": ("100", "96.8"),
}

FUNDING_LABELS = {"budget_initial": "年初预算数", "budget_full_year": "调整后预算数", "executed": "全年执行数",
                  "exec_weight": "权重", "exec_rate": "执行率", "exec_score": "得分"}
INDICATOR_LABELS = {"level1": "一级指标", "level2": "二级指标", "name": "三级指标", "nature": "指标性质",
                    "target": "年度指标值", "measure_unit": "度量单位", "actual": "实际完成值",
                    "weight": "权重", "score": "得分", "note": "偏差原因分析及改进措施"}
FIELD_INDEX = {"level1": 0, "level2": 2, "name": 3, "target": 4, "actual": 5, "weight": 6, "score": 7,
               "note": 8, "nature": 9, "measure_unit": 10}
DEFAULT_INDICATOR_ORDER = ("level1", "level2", "name", "target", "actual", "weight", "score", "note")


def render(spec=SPEC, indicator_order=DEFAULT_INDICATOR_ORDER,
           funding_order=("budget_initial", "budget_full_year", "executed", "exec_weight", "exec_rate",
                          "exec_score"),
           sep="\t", merged_levels=True) -> str:
    """Rows as text; `merged_levels` leaves the level cells blank on continuation rows."""
    rows = [[spec["title"]], [f"({spec['year']}年度)"], ["项目名称", spec["name"]],
            ["主管部门", spec["department"], "实施单位", spec["unit"]],
            ["项目资金(万元)", ""] + [FUNDING_LABELS[k] for k in funding_order],
            ["", "年度资金总额"] + [spec["funding"][k] for k in funding_order],
            ["", "其中:财政拨款"] + [spec["funding"][k] if k in ("budget_initial", "budget_full_year",
                                                             "executed") else "—" for k in funding_order],
            ["", "上年结转资金"] + ["" if k != "exec_weight" else "—" for k in funding_order],
            ["年度总体目标", "预期目标", "实际完成情况"], ["", spec["planned"], spec["achieved"]],
            ["绩效指标"] + [INDICATOR_LABELS[k] for k in indicator_order]]
    last1 = last2 = None
    for ind in spec["indicators"]:
        cells = [""]
        for k in indicator_order:
            v = ind[FIELD_INDEX[k]]
            if k == "level1":
                v = f"{ind[0]}({ind[1]}分)" if not (merged_levels and ind[0] == last1) else ""
            if k == "level2" and merged_levels and ind[2] == last2:
                v = ""
            cells.append(str(v))
        last1, last2 = ind[0], ind[2]
        rows.append(cells)
    w, s = spec["total"]
    rows.append(["总分"] + [""] * (indicator_order.index("weight")) + [w, s])
    return _join(rows, sep) + "\n"


def _join(rows, sep):
    if sep == "|":
        return "\n".join("| " + " | ".join(r) + " |" if len(r) > 1 else r[0] for r in rows)
    if sep == "cell-per-line":
        out = []
        for r in rows:
            if len(r) == 1:
                out += [r[0], ""]
            else:
                out += ["\t" + c for c in r] + [""]
        return "\n".join(out)
    return "\n".join(sep.join(r) for r in rows)
