"""The rule registry and what every rule shares: the rules table (rules/anomalies.csv), its parameters, the
context built once per check run (tables plus rescoring) and the findings frame."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

import pandas as pd

from perfdata import schema
from perfdata.scoring import _rule_rows, rescore, thresholds

SEVERITY_ORDER = ["high", "medium", "low"]  # most severe first
GLOBAL_PARAMS = {"template_share": 0.6, "template_min_forms": 3.0}
RULES: dict[str, Callable] = {}


def rule(rule_id: str):
    """Register a rule function under its id in rules/anomalies.csv."""
    def deco(fn):
        RULES[rule_id] = fn
        return fn
    return deco


@cache
def rule_table() -> pd.DataFrame:
    """rules/anomalies.csv as a DataFrame (one row per rule)."""
    return pd.DataFrame(list(_rule_rows("anomalies.csv"))).fillna("")


def _parse_params(text: str) -> dict[str, float]:
    """`name=value;…`; a bare `name` takes its value from rules/thresholds.csv (one place for the reports too)."""
    out = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, sep, value = part.partition("=")
        out[name.strip()] = float(value) if sep else thresholds()[name.strip()]
    return out


def default_params() -> dict[str, float]:
    """Every tunable threshold with its default, from the rules table (shared names share a value)."""
    out = dict(GLOBAL_PARAMS)
    for text in rule_table()["params"]:
        out.update(_parse_params(text))
    return out



# -- context shared by the rules --------------------------------------------------------------------

class Context:
    """The tidy tables plus the rescoring, built once per check run."""

    def __init__(self, tables: dict[str, pd.DataFrame], raw_dir: str | Path | None = None):
        self.tables = tables
        self.raw_dir = raw_dir
        empty = {name: schema.frame(name, []) for name in schema.TABLES}
        self.forms = tables.get("forms", empty["forms"])
        self.indicators = tables.get("indicators", empty["indicators"])
        self.funding = tables.get("funding", empty["funding"])
        self.summary = tables.get("summary_rows", empty["summary_rows"])
        self.statements = tables.get("statements", empty["statements"])
        scored = rescore({"forms": self.forms, "indicators": self.indicators})
        self.rf = scored["rescored_forms"]
        self.ri = scored["rescored_indicators"]
        f = self.forms.merge(self.rf.drop(columns=["source_file", "location", "project_name", "total_weight_reported",
                                                     "total_score_reported", "exec_rate_reported",
                                                     "exec_score_reported", "exec_weight"]),
                             on="form_id", how="left")
        f["budget"] = f["budget_full_year"].fillna(f["budget_initial"])
        self.f = f


def _findings(df: pd.DataFrame, **cols) -> pd.DataFrame:
    """A findings frame: columns given as Series/arrays/scalars aligned with df."""
    out = pd.DataFrame(index=df.index)
    for k, v in cols.items():
        out[k] = v
    return out


def _num(x) -> str:
    """A figure as an auditor writes it: 9.3, 100, 4.49 (no trailing zeros)."""
    if x is None or pd.isna(x):
        return "空"
    return f"{float(x):.4f}".rstrip("0").rstrip(".")


def _fmt(values) -> list[str]:
    return [_num(v) for v in values]


def _name(s: pd.Series) -> pd.Series:
    return "“" + s.fillna("").astype(str) + "”"



def rules_markdown() -> str:
    """docs/rules.md, generated from the rules table (a test keeps the two in step)."""
    rt = rule_table()
    out = ["# 异常规则 / Anomaly rules", "",
           "Generated from `perfdata/rules/anomalies.csv` by `perfdata.checks.rules_markdown()`; "
           "a test fails when the two differ.", "",
           "类别 category: consistency 表内数字互相矛盾 · reconciliation 两个来源不一致 · "
           "completeness 必填内容缺失 · quality 目标设置或自评质量问题。",
           "模板级 template: `always` 每个文件报告一次 · `auto` 同一文件多数表出现时合并为一条（form_id 为空）· "
           "`no` 逐表报告。", "",
           "| id | 规则 | Rule | category | severity | template | params |",
           "|---|---|---|---|---|---|---|"]
    for r in rt.itertuples():
        out.append(f"| `{r.id}` | {r.title_zh} | {r.title_en} | {r.category} | {r.severity} | {r.template} | "
                   f"{r.params.replace(';', '; ') or '—'} |")
    out += ["", "## 说明 / What each rule means and why an auditor cares", ""]
    for r in rt.itertuples():
        out += [f"### `{r.id}` — {r.title_zh} / {r.title_en}", "", f"- 中文：{r.why_zh}", f"- English: {r.why_en}", ""]
    out += ["## 一因一条 / One finding per cause", "",
            "同一原因只报一条发现，其余证据行并入该条的说明和 `lines` 列 / One cause is one finding; the other "
            "evidence lines go into its message and the `lines` column:", "",
            "- 单位汇总表与部门汇总表中的同一错误数字、报告中重复的同一句数字 → 一条，列出各行 / the same wrong "
            "figure in two summary tables, or a sentence repeated in the report → one finding naming every line;",
            "- 报告数字与汇总表同错 → 并入 `summary_mismatch` / a narrative figure repeating a wrong summary "
            "figure → folded into `summary_mismatch`;",
            "- 分值合计（及得分合计）之差恰为某一级指标之差 → 并入 `level_weight_mismatch` / weights (and the "
            "total) off by exactly what a level is off by → folded into `level_weight_mismatch`;",
            "- 总分加总错误后自评仍不高于复核上限 → `self_score_above_rescore` 并入 `total_mismatch` / a "
            "self-score high only because the total does not add up → folded into `total_mismatch`;",
            "- 已报“执行率偏低仍接近满分”的表的 `all_full_marks` → 并入 `full_score_despite_shortfall`;",
            "- 表题文号显示项目名称填错而造成的重名 → `duplicate_forms` 并入 `title_name_mismatch` / a duplicate "
            "name that the form's own title shows to be wrong → folded into `title_name_mismatch`.", ""]
    out += ["## 参数 / Parameters", "",
            "Pass as `check(tables, NAME=VALUE)` or `perfdata check DIR --param NAME=VALUE`; unknown names are an "
            "error.", "", "| name | default |", "|---|---|"]
    out += [f"| `{k}` | {_num(v)} |" for k, v in sorted(default_params().items())]
    out += ["", "## 复核设置 / Rescoring settings (`perfdata/rules/scoring.csv`)", "", "| name | value | meaning |",
            "|---|---|---|"]
    out += [f"| `{r['name']}` | {r['value']} | {r['meaning']} |" for r in _rule_rows("scoring.csv")]
    return "\n".join(out) + "\n"
