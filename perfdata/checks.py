"""Anomaly rules over the tidy tables: one small vectorised function per rule, registered by id.

The rules table (rules/anomalies.csv) gives each rule's title, category, severity, parameters with
their defaults and why an auditor cares; this module holds only the arithmetic. Every finding names
the line holding the figure found wrong and, where the raw files are at hand, quotes that line.

Template-level findings: a rule marked `always` (a template defect such as the execution row printed
outside the total) is reported once per file; a rule marked `auto` (weak target setting) is reported
once per file, form_id null, instead of per form when it hits at least `template_share` of the
file's forms (and `template_min_forms` of them), so the list stays readable. Rules marked `no`
are always reported per form.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from difflib import SequenceMatcher
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from perfdata import paths, schema
from perfdata.keys import project_key
from perfdata.normalize import DASHES, key
from perfdata.readers.detect import read_grid, sniff
from perfdata.readers.text import decode, split_lines
from perfdata.scoring import _rule_rows, rescore, thresholds

SEVERITY_ORDER = ["high", "medium", "low"]  # most severe first
GLOBAL_PARAMS = {"template_share": 0.6, "template_min_forms": 3.0}
RULES: dict[str, Callable] = {}
_TRIVIAL_NOTE = {"", "无", "没有", "暂无", "/", "—", "-", "——", "无偏差", "不存在偏差"}
_DONE_WORDS = {"完成", "已完成", "全部完成", "完成目标", "已达到", "达到", "是", "已完成目标"}
_DOC_NO = re.compile(r"[\[〔(（【]\s*(\d{4})\s*[\]〕)）】]\s*(\d+)\s*号")


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


# -- evidence: the printed line ---------------------------------------------------------------------

def _source(path: str) -> tuple[dict[int, str], dict[int, str]]:
    """The printed lines of a raw file by 1-based line number, and where each lies in a non-text file.

    Text is split exactly like the ingest; .xlsx/.docx/.pdf are read through their reader's grid (the
    ingest's line numbers and locations), never decoded as text. An unreadable file gives no evidence.
    Cached per file version, so a long notebook session never quotes an edited file's old lines.
    """
    try:
        st = Path(path).stat()
    except OSError:
        return {}, {}
    return _source_version(path, st.st_mtime_ns, st.st_size)


@cache
def _source_version(path: str, mtime_ns: int, size: int) -> tuple[dict[int, str], dict[int, str]]:
    try:
        data = Path(path).read_bytes()
        if sniff(data) == "text":
            text, _ = decode(data)
            return dict(enumerate(split_lines(text), start=1)), {}
        grid, _ = read_grid(data, Path(path).name)
    except Exception:  # noqa: BLE001 - evidence is a convenience: an unreadable file leaves it null
        return {}, {}
    return {r.line: "\t".join(r.cells) for r in grid.rows}, dict(getattr(grid, "locations", None) or {})


def _lines_of(raw_dir, source_file) -> dict[int, str]:
    if raw_dir is None or not isinstance(source_file, str):
        return {}
    return _source(str(Path(raw_dir) / source_file))[0]


def line_text(raw_dir: str | Path | None, source_file: str | None, line: int | None) -> str | None:
    """The text of line `line` (1-based) of `source_file` under `raw_dir`, cells shown as ' | '."""
    if line is None or pd.isna(line):
        return None
    text = _lines_of(raw_dir, source_file).get(int(line))
    if text is None:
        return None
    return re.sub(r"(\s*\t\s*)+", " | ", text.strip("\t ")).strip() or None


def line_location(raw_dir: str | Path | None, source_file: str | None, line: int | None) -> str | None:
    """Where line `line` lies in a non-text source ("表3!12", "page 3 line 14"); None for text files."""
    if raw_dir is None or not isinstance(source_file, str) or line is None or pd.isna(line):
        return None
    return _source(str(Path(raw_dir) / source_file))[1].get(int(line))


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


# -- consistency: figures of one form ---------------------------------------------------------------

@rule("score_above_weight")
def score_above_weight(ctx: Context, score_tol: float) -> pd.DataFrame:
    i = ctx.indicators
    hit = i[(i.score - i.weight > score_tol).fillna(False)]
    a = _findings(hit, form_id=hit.form_id, line=hit.line, field="score",
                  expected=["≤" + v for v in _fmt(hit.weight)], found=_fmt(hit.score))
    a["message"] = ("指标" + _name(hit.name) + "分值" + pd.Series(_fmt(hit.weight), index=hit.index) + "分，自评得分"
                    + pd.Series(_fmt(hit.score), index=hit.index) + "分，得分超过分值。")
    f = ctx.f
    hf = f[(f.exec_score_reported - f.exec_weight > score_tol).fillna(False)]
    b = _findings(hf, form_id=hf.form_id, line=hf.funding_line, field="exec_score_reported",
                  expected=["≤" + v for v in _fmt(hf.exec_weight)], found=_fmt(hf.exec_score_reported))
    b["message"] = [f"预算执行率分值{_num(w)}分，得分{_num(s)}分，得分超过分值。"
                    for w, s in zip(hf.exec_weight, hf.exec_score_reported, strict=True)]
    return pd.concat([a, b])


@rule("exec_score_mismatch")
def exec_score_mismatch(ctx: Context, exec_score_tol: float) -> pd.DataFrame:
    f = ctx.f
    by_stated = (f.exec_rate_reported / 100 * f.exec_weight).clip(upper=f.exec_weight)
    off = ((f.exec_score_reported - f.exec_score).abs() > exec_score_tol) & \
          ((f.exec_score_reported - by_stated).abs() > exec_score_tol)
    h = f[off.fillna(False)]
    msg = [f"全年执行数{_num(e)}万元÷{'全年' if b == 'full_year' else '年初'}预算数{_num(bud)}万元，"
           f"执行率{_num(round(r, 2))}%，分值{_num(w)}分，应得{_num(round(x, 2))}分，表中得分{_num(s)}分。"
           for e, b, bud, r, w, x, s in zip(h.executed, h.exec_base, h.budget, h.exec_rate, h.exec_weight,
                                            h.exec_score, h.exec_score_reported, strict=True)]
    return _findings(h, form_id=h.form_id, line=h.funding_line, field="exec_score_reported",
                     expected=[_num(round(x, 2)) for x in h.exec_score], found=_fmt(h.exec_score_reported),
                     message=msg)


@rule("exec_rate_mismatch")
def exec_rate_mismatch(ctx: Context, exec_rate_tol: float) -> pd.DataFrame:
    f = ctx.f
    h = f[((f.exec_rate_reported - f.exec_rate).abs() > exec_rate_tol).fillna(False)]
    by_initial = h.executed / h.budget_initial * 100
    msg = []
    for r, rr, e, bud, bi, base in zip(h.exec_rate, h.exec_rate_reported, h.executed, h.budget, by_initial,
                                       h.exec_base, strict=True):
        s = (f"全年执行数{_num(e)}万元÷{'全年' if base == 'full_year' else '年初'}预算数{_num(bud)}万元="
             f"{_num(round(r, 2))}%，表中执行率为{_num(rr)}%")
        if base == "full_year" and pd.notna(bi) and abs(bi - rr) <= exec_rate_tol:
            s += "（系按年初预算数计算，应按调整后的全年预算数计算）"
        msg.append(s + "。")
    return _findings(h, form_id=h.form_id, line=h.funding_line, field="exec_rate_reported",
                     expected=[_num(round(r, 2)) + "%" for r in h.exec_rate],
                     found=[v + "%" for v in _fmt(h.exec_rate_reported)], message=msg)


@rule("exec_indicator_mismatch")
def exec_indicator_mismatch(ctx: Context, exec_indicator_tol: float) -> pd.DataFrame:
    ri, i = ctx.ri, ctx.indicators
    actual = i.set_index(["form_id", "seq"])["actual_value"]
    ri = ri[ri.status == "budget_execution"].copy()
    ri["actual_value"] = [actual.get((a, b)) for a, b in zip(ri.form_id, ri.seq, strict=True)]
    h = ri[((ri.actual_value - ri.form_exec_rate).abs() > exec_indicator_tol).fillna(False)]
    msg = [f"指标“预算执行率”完成值填{a}，但资金栏全年执行数÷预算数为{_num(round(r, 2))}%。"
           for a, r in zip(h.actual_raw, h.form_exec_rate, strict=True)]
    return _findings(h, form_id=h.form_id, line=h.line, field="actual_raw",
                     expected=[_num(round(r, 2)) + "%" for r in h.form_exec_rate], found=h.actual_raw, message=msg)


@rule("total_mismatch")
def total_mismatch(ctx: Context, total_tol: float) -> pd.DataFrame:
    f = ctx.f
    exec_part = np.where(f.total_basis == "indicators_only", 0.0, f.exec_score_reported.astype(float))
    expected = f.indicator_score_reported.astype(float) + exec_part
    h = f[((f.total_score_reported - expected).abs() > total_tol).fillna(False)]
    e = pd.Series(expected, index=f.index)[h.index]
    msg = []
    for basis, x, ind, ex, t in zip(h.total_basis, e, h.indicator_score_reported, h.exec_score_reported,
                                    h.total_score_reported, strict=True):
        how = (f"各指标得分合计{_num(ind)}分" if basis == "indicators_only"
               else f"预算执行率得分{_num(ex)}分+各指标得分合计{_num(ind)}分={_num(round(x, 2))}分")
        msg.append(f"{how}，总分栏填{_num(t)}分。")
    return _findings(h, form_id=h.form_id, line=h.total_line, field="total_score_reported",
                     expected=[_num(round(x, 2)) for x in e], found=_fmt(h.total_score_reported), message=msg)


@rule("weights_not_total")
def weights_not_total(ctx: Context, weight_tol: float) -> pd.DataFrame:
    f = ctx.f
    tw = f.total_weight_reported.fillna(thresholds()["full_marks"])
    with_exec = f.exec_weight.fillna(0) + f.indicator_weight
    off = ((with_exec - tw).abs() > weight_tol) & ((f.indicator_weight - tw).abs() > weight_tol)
    blank = f.exec_weight.isna() & f.funding_line.notna()  # a blank 分值 is missing_exec_figures, not a sum
    h = f[(off & ~blank).fillna(False)]
    msg = [f"预算执行率分值{_num(w)}分+各指标分值合计{_num(i)}分={_num(w + i if pd.notna(w) else i)}分，"
           f"总分值为{_num(t)}分。"
           for w, i, t in zip(h.exec_weight, h.indicator_weight, tw[h.index], strict=True)]
    return _findings(h, form_id=h.form_id, line=h.total_line, field="weights",
                     expected=_fmt(tw[h.index]), found=_fmt(with_exec[h.index]), message=msg)


@rule("exec_outside_total")
def exec_outside_total(ctx: Context, weight_tol: float) -> pd.DataFrame:
    f = ctx.f
    h = f[((f.total_basis == "indicators_only") & (f.exec_weight > weight_tol)).fillna(False)]
    tw = h.total_weight_reported.fillna(thresholds()["full_marks"])
    msg = [f"预算执行率分值{_num(w)}分列在资金栏，各指标分值合计已达{_num(i)}分，合计{_num(w + i)}分，"
           f"超过总分值{_num(t)}分；总分未计入执行率得分。"
           for w, i, t in zip(h.exec_weight, h.indicator_weight, tw, strict=True)]
    return _findings(h, form_id=h.form_id, line=h.funding_line, field="exec_weight",
                     expected=[f"执行率+指标={_num(t)}" for t in tw],
                     found=[f"{_num(w)}+{_num(i)}" for w, i in zip(h.exec_weight, h.indicator_weight, strict=True)],
                     message=msg)


@rule("level_weight_mismatch")
def level_weight_mismatch(ctx: Context, weight_tol: float) -> pd.DataFrame:
    i = ctx.indicators[ctx.indicators.level1_weight.notna()]
    g = i.groupby(["form_id", "level1", "level1_weight_line"], sort=False).agg(
        printed=("level1_weight", "first"), total=("weight", "sum"), n=("weight", "size")).reset_index()
    h = g[(g.total - g.printed).abs() > weight_tol]
    msg = [f"{lv}标注{_num(p)}分，其下{n}项指标分值合计{_num(t)}分。"
           for lv, p, n, t in zip(h.level1, h.printed, h.n, h.total, strict=True)]
    return _findings(h, form_id=h.form_id, line=h.level1_weight_line, field="level1_weight",
                     expected=_fmt(h.printed), found=_fmt(h.total), message=msg,
                     pattern=[f"{lv}|{p}|{t}" for lv, p, t in zip(h.level1, h.printed, h.total, strict=True)])


_HEADER_WEIGHT = re.compile(r"分值\s*[（(]\s*\d+(\.\d+)?\s*分\s*[）)]")


def _header_weight(raw_dir, source_file, funding_line) -> bool:
    """Whether one of the three lines above the funding row prints the execution weight in its header."""
    if raw_dir is None or pd.isna(funding_line):
        return False
    return any(_HEADER_WEIGHT.search(line_text(raw_dir, source_file, n) or "")
               for n in range(max(1, int(funding_line) - 3), int(funding_line)))


@rule("missing_exec_figures")
def missing_exec_figures(ctx: Context) -> pd.DataFrame:
    """The funding row was read (amounts present) but its 分值 or 得分 cell is blank."""
    f = ctx.f
    has_row = f.funding_line.notna() & f.executed.notna()
    no_w, no_s = f.exec_weight.isna(), f.exec_score_reported.isna()
    # a header that prints the weight ("分值 (10分)", 固原市) leaves the cell blank by design
    no_w &= ~pd.Series([_header_weight(ctx.raw_dir, sf, ln) for sf, ln in zip(f.source_file, f.funding_line,
                                                                                 strict=True)], index=f.index)
    h = f[(has_row & (no_w | no_s)).fillna(False)]
    fields = ["、".join(x for x, m in (("分值", w), ("得分", s)) if m)
              for w, s in zip(no_w[h.index], no_s[h.index], strict=True)]
    return _findings(h, form_id=h.form_id, line=h.funding_line, field="exec_score_reported", expected="填写",
                     found=[f"{x}未填" for x in fields], message=[f"预算执行率栏未填{x}。" for x in fields])


@rule("executed_above_budget")
def executed_above_budget(ctx: Context, money_tol: float) -> pd.DataFrame:
    f = ctx.f
    h = f[(f.executed - f.budget > money_tol).fillna(False)]
    msg = [f"全年执行数{_num(e)}万元超过预算数{_num(b)}万元。" for e, b in zip(h.executed, h.budget, strict=True)]
    return _findings(h, form_id=h.form_id, line=h.funding_line, field="executed",
                     expected=["≤" + v for v in _fmt(h.budget)], found=_fmt(h.executed), message=msg)


@rule("funding_lines_sum")
def funding_lines_sum(ctx: Context, money_tol: float) -> pd.DataFrame:
    fu = ctx.funding
    parts = fu[fu.fund_source != "total"]
    total = fu[fu.fund_source == "total"].drop_duplicates("form_id").set_index("form_id")
    labels = {"budget_initial": "年初预算数", "budget_full_year": "全年预算数", "executed": "全年执行数"}
    out = []
    for col, label in labels.items():
        sums = parts.groupby("form_id")[col].sum(min_count=1).rename("parts")
        both = total.join(sums, how="inner")
        bad = both[((both[col] - both.parts).abs() > money_tol).fillna(False)]
        if bad.empty:
            continue
        p = parts[parts.form_id.isin(bad.index) & parts[col].notna()]
        terms = (p.label.astype(object).fillna("").str.replace(r"^其中[:：]", "", regex=True) + pd.Series(
            _fmt(p[col]), index=p.index)).groupby(p.form_id).agg("+".join)
        out.append(pd.DataFrame({
            "form_id": bad.index, "line": bad.line.to_numpy(), "field": col, "expected": _fmt(bad.parts),
            "found": _fmt(bad[col]),
            "message": [f"{label}：资金总额{_num(t)}万元，{terms.get(fid, '')}={_num(x)}万元，两者不等。"
                        for fid, t, x in zip(bad.index, bad[col], bad.parts, strict=True)]}))
    return pd.concat(out) if out else pd.DataFrame()


# -- completeness and quality of one form -----------------------------------------------------------

def _has_note(notes: pd.Series) -> pd.Series:
    return pd.Series([bool(t) and key(t) not in _TRIVIAL_NOTE and key(t) not in DASHES
                      for t in notes.astype(object).where(notes.notna(), "")], index=notes.index, dtype=bool)


@rule("low_exec_unexplained")
def low_exec_unexplained(ctx: Context, exec_rate_threshold: float) -> pd.DataFrame:
    f = ctx.f
    noted = ctx.indicators.assign(n=_has_note(ctx.indicators.deviation_note)).groupby("form_id")["n"].any()
    explained = f.form_id.map(noted).fillna(False).astype(bool) | _has_note(f.notes)
    h = f[((f.exec_rate < exec_rate_threshold) & ~explained).fillna(False)]
    msg = [f"执行率{_num(round(r, 2))}%，低于{_num(exec_rate_threshold)}%，偏差原因栏未说明原因。" for r in h.exec_rate]
    return _findings(h, form_id=h.form_id, line=h.funding_line, field="deviation_note",
                     expected="说明执行率偏低的原因", found="未说明", message=msg)


@rule("full_score_despite_shortfall")
def full_score_despite_shortfall(ctx: Context, exec_rate_threshold: float, near_full: float,
                                 score_tol: float) -> pd.DataFrame:
    ri = ctx.ri
    h = ri[ri.status.isin(["unmet", "over_ceiling"]) & (ri.score >= ri.weight - score_tol).fillna(False)]
    a = _findings(h, form_id=h.form_id, line=h.line, field="score", expected=[_num(round(x, 2)) for x in h.rescore],
                  found=_fmt(h.score))
    a["message"] = [f"指标“{n}”目标{t}、完成{c}，未达目标仍得满分{_num(s)}分（按规则应得{_num(round(x, 2))}分）。"
                    for n, t, c, s, x in zip(h.name, h.target_raw, h.actual_raw, h.score, h.rescore, strict=True)]
    f = ctx.f
    share = f.indicator_score_reported / f.indicator_weight * 100
    hf = f[((f.exec_rate < exec_rate_threshold) & (share >= near_full)).fillna(False)]
    b = _findings(hf, form_id=hf.form_id, line=hf.total_line, field="total_score_reported",
                  expected=f"执行率低于{_num(exec_rate_threshold)}%时指标得分应相应扣减",
                  found=_fmt(hf.total_score_reported))
    b["message"] = [f"执行率仅{_num(round(r, 2))}%，各指标仍得{_num(s)}分（满分{_num(w)}分），"
                    f"总分{_num(t)}分，自评偏高。"
                    for r, s, w, t in zip(hf.exec_rate, hf.indicator_score_reported, hf.indicator_weight,
                                          hf.total_score_reported, strict=True)]
    return pd.concat([a, b])


@rule("self_score_above_rescore")
def self_score_above_rescore(ctx: Context, rescore_gap: float) -> pd.DataFrame:
    f = ctx.f
    h = f[(f.total_score_reported - f.total_rescore_max > rescore_gap).fillna(False)]
    msg = [f"自评总分{_num(t)}分（{g}），按规则复核最多{_num(round(x, 2))}分（{gr}）。"
           for t, g, x, gr in zip(h.total_score_reported, h.grade_reported, h.total_rescore_max, h.grade_rescored,
                                  strict=True)]
    return _findings(h, form_id=h.form_id, line=h.total_line, field="total_score_reported",
                     expected=["≤" + _num(round(x, 2)) for x in h.total_rescore_max],
                     found=_fmt(h.total_score_reported), message=msg)


def _doc_numbers(text) -> frozenset:
    return frozenset(_DOC_NO.findall(text)) if isinstance(text, str) else frozenset()


_TITLE_FRAME = [re.compile(p) for p in (r"^.*本级部门", r"^[#\s]*((19|20)\d{2}\s*年度?)?", r"(项目)?支出绩效自评表.*$")]


def _title_name(title) -> str | None:
    """The project name a title carries ("2024年人才交流中心档案经费项目支出绩效自评表" → 人才交流中心档案经费); None
    for a bare "项目支出绩效自评表"."""
    if not isinstance(title, str):
        return None
    for frame in _TITLE_FRAME:
        title = frame.sub("", title)
    t = project_key(title)
    return None if t is None or re.fullmatch(r"(某+|[x×*]+)", t) else t  # a template's "某某项目…" names nothing


def _far_apart(title, name, least: float) -> bool:
    t, n = _title_name(title), project_key(name) if isinstance(name, str) else None
    if not t or not n or t in n or n in t:
        return False
    return SequenceMatcher(None, t, n).ratio() < least


@rule("title_name_mismatch")
def title_name_mismatch(ctx: Context, title_similarity: float) -> pd.DataFrame:
    """Different document numbers, or a title that names another project (neither name holds the other and
    they share little: 人才交流中心档案经费 / 档案管理)."""
    f = ctx.f
    t_no, n_no = f.title.map(_doc_numbers), f.project_name.map(_doc_numbers)
    numbers = pd.Series([bool(a) and bool(b) and not (a <= b or b <= a) for a, b in zip(t_no, n_no, strict=True)],
                        index=f.index, dtype=bool)
    names = pd.Series([_far_apart(t, n, title_similarity) for t, n in zip(f.title, f.project_name, strict=True)],
                      index=f.index, dtype=bool)
    h = f[numbers | names]
    msg = [f"表题“{t}”与项目名称“{n}”的{'文号' if by_no else '项目名称'}不同。"
           for t, n, by_no in zip(h.title, h.project_name, numbers[h.index], strict=True)]
    return _findings(h, form_id=h.form_id, line=h.line_start, field="project_name", expected=h.title,
                     found=h.project_name, message=msg)


@rule("missing_department_unit")
def missing_department_unit(ctx: Context) -> pd.DataFrame:
    f = ctx.f
    no_dept = f.department.isna() | f.department_inferred.fillna(False)
    no_unit = f.unit.isna() | f.unit_inferred.fillna(False)
    h = f[no_dept | no_unit]
    fields = ["、".join(x for x, m in (("主管部门", d), ("实施单位", u)) if m)
              for d, u in zip(no_dept[h.index], no_unit[h.index], strict=True)]
    return _findings(h, form_id=h.form_id, line=h.line_start, field="department/unit", expected="填写",
                     found=[f"{x}未填" for x in fields], message=[f"自评表未填{x}。" for x in fields],
                     locate="主管部门")


@rule("duplicate_forms")
def duplicate_forms(ctx: Context, money_tol: float) -> pd.DataFrame:
    f = ctx.f.assign(pkey=ctx.f.project_name.fillna("").map(key)).sort_values(["source_file", "line_start"])
    f = f[f.pkey != ""]
    g = f.groupby([f.region.fillna(""), f.year.fillna(0), f.pkey], sort=False)
    later = g.cumcount() > 0
    if not later.any():
        return pd.DataFrame()
    cols = ["line_start", "executed", "budget_initial", "budget_full_year"]
    first = g[cols].transform("first")
    h, fh = f[later], first[later]
    same = pd.Series(True, index=h.index)
    for c in ("budget_initial", "budget_full_year", "executed"):
        same &= ((h[c].fillna(0) - fh[c].fillna(0)).abs() <= money_tol).fillna(False)
    kind = np.where(same, "内容相同，疑似重复填报", "金额不同，项目名称可能填错")
    msg = [f"项目“{n}”（执行数{_num(e)}万元）与第{int(ln)}行的自评表（执行数{_num(e0)}万元）同名，{k}。"
           for n, e, ln, e0, k in zip(h.project_name, h.executed, fh.line_start, fh.executed, kind, strict=True)]
    return _findings(h, form_id=h.form_id, line=h.line_start, field="project_name", expected="项目名称唯一",
                     found=[f"与第{int(x)}行的表同名" for x in fh.line_start], message=msg, locate="项目名称")


def _per_form(hits: pd.DataFrame, items: pd.Series, field: str, expected: str, what: str) -> pd.DataFrame:
    """Indicator-level hits gathered into one finding per form (line = the first hit); `items` names each hit."""
    if hits.empty:
        return pd.DataFrame()
    g = (pd.DataFrame({"form_id": hits.form_id.astype(object), "line": hits.line.astype(float),
                       "item": items.astype(object)})
         .sort_values("line", kind="stable").groupby("form_id", sort=False)
         .agg(line=("line", "first"), n=("item", "size"), found=("item", "；".join)).reset_index())
    g["field"], g["expected"] = field, expected
    g["message"] = g.n.astype(str) + f"项指标{what}：" + g.found + "。"
    return g.drop(columns="n")


def _quoted(names: pd.Series) -> pd.Series:
    return "“" + names.astype(object).where(names.notna(), "（未填名称）").astype(str) + "”"


def _txt(s: pd.Series) -> pd.Series:
    return s.astype(object).where(s.notna(), "").astype(str)


def _target_findings(hits: pd.DataFrame, ctx: Context, expected: str, what) -> pd.DataFrame:
    """Findings on 绩效目标表 indicators (targets only, no form): form_id null, the table's id in `field`."""
    if hits.empty:
        return pd.DataFrame()
    t = ctx.tables.get("targets", schema.frame("targets", [])).set_index("target_id")
    no = hits.target_id.map(t.table_no) if "table_no" in t else pd.Series(None, index=hits.index)
    title = hits.target_id.map(t.project_name).fillna(hits.target_id.map(t.title))
    # one cell per line: the line holding the target (or the name) rather than the row's first line
    line = [next((n for n in range(int(r.line), int(r.line_end if pd.notna(r.line_end) else r.line) + 1)
                  if key(word) in key(line_text(ctx.raw_dir, r.source_file, n) or "")), r.line)
            if ctx.raw_dir is not None and isinstance(word, str) else r.line
            for r, word in zip(hits.itertuples(), hits.target_raw.where(hits.target_raw.notna(), hits.level3),
                               strict=True)]
    return pd.DataFrame({
        "form_id": None, "source_file": hits.source_file, "line": line, "project_name": title,
        "field": "target_raw[" + hits.target_id.astype(str) + "]", "expected": expected,
        "found": _txt(hits.target_raw).where(hits.target_raw.notna(), "未填"),
        "message": [f"绩效目标表{'' if pd.isna(n) else f'（表{int(n)}）'}“{tt}”：{what(r)}"
                    for n, tt, r in zip(no, title, hits.itertuples(), strict=True)]})


# cell text that stands where a target should be: a template's instruction left in place
_PLACEHOLDERS = {"文字描述", "定性描述", "定量", "定性", "指标值", "填写", "详见附件"}


@rule("target_copies_name")
def target_copies_name(ctx: Context) -> pd.DataFrame:
    i = ctx.indicators
    h = i[(i.name.fillna("").map(key) == i.target_raw.fillna("").map(key)) & i.name.notna()]
    out = _per_form(h, _quoted(h.name), "target_raw", "可衡量的指标值", "的年度指标值照抄指标名称")
    ti = ctx.tables.get("target_indicators")
    if ti is not None and not ti.empty:
        tk = ti.target_raw.fillna("").map(key)
        th = ti[(tk != "") & ((tk == ti.level3.fillna("").map(key)) | (tk == ti.description.fillna("").map(key)))]
        out = pd.concat([out, _target_findings(th, ctx, "可衡量的指标值", lambda r: (
            f"指标“{r.level3}”的指标值“{r.target_raw}”照抄指标名称或描述，没有可衡量的目标。"))])
    return out


@rule("actual_only_done")
def actual_only_done(ctx: Context) -> pd.DataFrame:
    i = ctx.indicators
    h = i[i.actual_raw.fillna("").map(key).isin(_DONE_WORDS) & ~i.is_budget_execution.fillna(False)]
    return _per_form(h, _quoted(h.name), "actual_raw", "实际完成数据", "的完成值仅填“完成”")


@rule("actual_restates_target")
def actual_restates_target(ctx: Context, restate_min_chars: float) -> pd.DataFrame:
    """A copied sentence, or a range (≥95%) as the actual; one short word (及时/及时) reads as achieved."""
    i, ri = ctx.indicators, ctx.ri
    t_key = i.target_raw.fillna("").map(key)
    same = (i.actual_raw.fillna("").map(key) == t_key) & (t_key.str.len() >= restate_min_chars) & \
        ~t_key.str.contains(r"\d", regex=True)
    ranged = ri.reason.eq("完成值为区间（如“≥95%”），不是实际数").fillna(False).to_numpy()
    qual = ~i.quantitative.fillna(False)
    h = i[((same & qual) | ranged) & i.actual_raw.notna() & ~i.actual_raw.fillna("").map(key).isin(_DONE_WORDS)]
    return _per_form(h, _quoted(h.name) + _txt(h.target_raw) + "/" + _txt(h.actual_raw), "actual_raw",
                     "实际完成情况", "的完成值照抄指标值")


@rule("qualitative_only_outputs")
def qualitative_only_outputs(ctx: Context) -> pd.DataFrame:
    i = ctx.indicators[ctx.indicators.level1 == "产出指标"]
    g = i.groupby("form_id").agg(q=("quantitative", lambda s: bool(s.fillna(False).any())), line=("line", "min"),
                                 n=("line", "size"))
    h = g[~g.q].reset_index()
    out = _findings(h, form_id=h.form_id, line=h.line, field="target_raw", expected="至少一项定量产出指标",
                    found=[f"{n}项产出指标均为定性" for n in h.n],
                    message=[f"{n}项产出指标均无可量化的指标值。" for n in h.n])
    ti = ctx.tables.get("target_indicators")
    if ti is not None and not ti.empty:
        o = ti[ti.level1 == "产出指标"]
        q = o.groupby("target_id").quantitative.transform(lambda s: bool(s.fillna(False).any()))
        first = o[~q.astype(bool)].sort_values("line").drop_duplicates("target_id")
        n = o.groupby("target_id").size()
        out = pd.concat([out, _target_findings(first, ctx, "至少一项定量产出指标", lambda r: (
            f"{n[r.target_id]}项产出指标均无可量化的指标值。"))])
    return out


@rule("missing_target")
def missing_target(ctx: Context) -> pd.DataFrame:
    """A weighted indicator without a target, or without a name (a row that reads only '指标2:')."""
    i = ctx.indicators
    empty = i.target_raw.isna() | i.target_raw.fillna("").map(key).isin(DASHES)
    h = i[(empty | i.name.isna()) & (i.weight > 0).fillna(False)]
    items = _quoted(h.name) + np.where(h.target_raw.isna(), "未填指标值", "（指标值" + _txt(h.target_raw) + "）")
    out = _per_form(h, items, "target_raw", "年度指标值和指标名称", "未填年度指标值或指标名称")
    ti = ctx.tables.get("target_indicators")
    if ti is not None and not ti.empty:
        tk = ti.target_raw.fillna("").map(key)
        th = ti[ti.target_raw.isna() | tk.isin(DASHES) | tk.isin(_PLACEHOLDERS) | ti.level3.isna()]
        out = pd.concat([out, _target_findings(th, ctx, "年度指标值和指标名称", lambda r: (
            f"指标“{r.level3 if isinstance(r.level3, str) else '（未填名称）'}”"
            + (f"的指标值只写“{r.target_raw}”，未设定目标值。" if isinstance(r.target_raw, str) else "未填指标值。")))])
    return out


@rule("deducted_without_reason")
def deducted_without_reason(ctx: Context, score_tol: float) -> pd.DataFrame:
    """Points lost on an unmet indicator; a deduction inside the achieved band (28 of 30) needs no reason."""
    i = ctx.indicators.reset_index(drop=True)
    ri = ctx.ri.reset_index(drop=True)
    unmet = ri.status.isin(["unmet", "over_ceiling", "partial", "not_achieved", "not_comparable"]) | \
        (ri.score < ri.rescore_min - score_tol).fillna(False)
    h = i[(i.weight - i.score > score_tol).fillna(False) & ~_has_note(i.deviation_note) & unmet.fillna(False)
          & ri.status.ne("budget_execution").fillna(True)]
    items = _quoted(h.name) + pd.Series(_fmt(h.score), index=h.index) + "/" + \
        pd.Series(_fmt(h.weight), index=h.index) + "分"
    return _per_form(h, items, "deviation_note", "说明扣分原因", "扣分但未说明偏差原因")


@rule("all_full_marks")
def all_full_marks(ctx: Context) -> pd.DataFrame:
    """Full marks everywhere while most actuals carry no figure that shows the target met."""
    i = ctx.indicators.reset_index(drop=True)
    verified = ctx.ri.reset_index(drop=True).status.isin(["met", "budget_execution"])
    i = i.assign(full=(i.score >= i.weight).fillna(False), verified=verified)[i.weight.notna()]
    g = i.groupby("form_id").agg(full=("full", "all"), n=("full", "size"), line=("line", "min"),
                                 verified=("verified", "mean"))
    h = g[g.full & (g.n >= 3) & (g.verified < 0.5)].reset_index()
    return _findings(h, form_id=h.form_id, line=h.line, field="score", expected="按实际完成情况评分",
                     found=[f"{n}项指标全部满分" for n in h.n], message=[f"{n}项指标全部满分。" for n in h.n])


# -- reconciliation: two sources --------------------------------------------------------------------

def _compare(pairs, tol_of) -> list[tuple[str, float, float]]:
    return [(name, a, b) for name, a, b in pairs if pd.notna(a) and pd.notna(b) and abs(a - b) > tol_of(name)]


_LEVEL_RATES = {"产出指标": "output_rate", "效益指标": "benefit_rate", "满意度指标": "satisfaction_rate"}


def _level_rates(ctx: Context) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A level's score rate two ways: over its indicators' weights, and over the points printed beside it."""
    i = ctx.indicators[~ctx.indicators.is_budget_execution.fillna(False)]
    g = i.groupby(["form_id", "level1"]).agg(score=("score", "sum"), weight=("weight", "sum"),
                                             printed=("level1_weight", "first"))
    names = list(_LEVEL_RATES.values())
    by_weight = (g.score / g.weight * 100).unstack().rename(columns=_LEVEL_RATES).reindex(columns=names)
    by_printed = (g.score / g.printed * 100).unstack().rename(columns=_LEVEL_RATES).reindex(columns=names)
    return by_weight, by_printed


@rule("summary_mismatch")
def summary_mismatch(ctx: Context, money_tol: float, exec_rate_tol: float, total_tol: float) -> pd.DataFrame:
    s = ctx.summary
    if s.empty:
        return pd.DataFrame()
    tol = {"budget": money_tol, "executed": money_tol, "exec_rate_reported": exec_rate_tol,
           "total_score": total_tol, "output_rate": exec_rate_tol, "benefit_rate": exec_rate_tol,
           "satisfaction_rate": exec_rate_tol}.get
    label = {"budget": "全年预算数", "executed": "执行数", "exec_rate_reported": "执行率", "total_score": "自评得分",
             "output_rate": "产出指标得分率", "benefit_rate": "效益指标得分率", "satisfaction_rate": "满意度指标得分率"}
    forms = ctx.f.set_index("form_id")
    rates, rates_printed = _level_rates(ctx)
    rows = []
    for r in s.itertuples():
        own = r.executed / r.budget * 100 if pd.notna(r.budget) and pd.notna(r.executed) and r.budget else None
        done = set()
        for name, a, b in _compare([("exec_rate_reported", r.exec_rate_reported, own)], tol):
            done.add(name)
            rows.append({"line": r.line_start, "source_file": r.source_file, "project_name": r.project_name,
                         "form_id": r.form_id, "field": name, "expected": _num(round(b, 2)) + "%",
                         "found": _num(a) + "%",
                         "message": f"汇总表“{r.project_name}”执行数{_num(r.executed)}万元÷预算数{_num(r.budget)}万元="
                                    f"{_num(round(b, 2))}%，汇总表执行率填{_num(a)}%。"})
        if pd.isna(r.form_id) or r.form_id not in forms.index:
            continue
        f = forms.loc[r.form_id]
        lv = rates.loc[r.form_id] if r.form_id in rates.index else pd.Series(dtype=float)
        lp = rates_printed.loc[r.form_id] if r.form_id in rates_printed.index else pd.Series(dtype=float)
        pairs = [("budget", r.budget, f.budget), ("executed", r.executed, f.executed),
                 ("total_score", r.total_score, f.total_score_reported)]
        # a summary rate that its own figures and the form's amounts both give is right: the form's printed
        # rate is the wrong one, and exec_rate_mismatch reports it there
        if not (own is not None and pd.notna(r.exec_rate_reported) and pd.notna(f.exec_rate)
                and abs(r.exec_rate_reported - own) <= exec_rate_tol
                and abs(r.exec_rate_reported - f.exec_rate) <= exec_rate_tol):
            pairs.append(("exec_rate_reported", r.exec_rate_reported, f.exec_rate_reported))
        # a level rate is wrong only if neither way of computing it from the form gives it
        pairs += [(c, getattr(r, c), lv.get(c)) for c in _LEVEL_RATES.values()
                  if pd.isna(lp.get(c)) or pd.isna(getattr(r, c)) or abs(getattr(r, c) - lp.get(c)) > tol(c)]
        off = [(n, a, b) for n, a, b in _compare(pairs, tol) if n not in done]
        money = [(n, a, b) for n, a, b in off if n in ("budget", "executed")]
        if len(money) == 2 and money[0][1:] == money[1][1:]:  # one figure typed into both money columns
            off = [("budget/executed", *money[0][1:])] + [x for x in off if x not in money]
            label["budget/executed"] = "全年预算数和执行数"
        for name, a, b in off:
            unit = "万元" if name in ("budget", "executed", "budget/executed") else (
                "分" if name == "total_score" else "%")
            rows.append({"line": r.line_start, "source_file": r.source_file, "project_name": r.project_name,
                         "form_id": r.form_id, "field": name, "expected": _num(round(b, 2)), "found": _num(a),
                         "message": f"汇总表“{r.project_name}”{label[name]}为{_num(a)}{unit}，"
                                    f"项目自评表（第{f.line_start}行）为{_num(round(b, 2))}{unit}"
                                    + ("（汇总表填的是年初预算数）" if name == "budget" and pd.notna(f.budget_initial)
                                       and abs(a - f.budget_initial) <= money_tol else "") + "。"})
    if not rows:
        return pd.DataFrame()
    # the same figure in the unit's and the department's summary is one finding naming both rows
    df = pd.DataFrame(rows)
    df["group"] = list(zip(df.source_file, df.form_id.fillna(df.project_name), df.field, df.found, df.expected,
                           strict=True))
    return _merge_lines(df, "group", "汇总表")


# statement metric → (form column or level, label, unit, field name shared with summary_mismatch)
_STATEMENT_FIELDS = {"total_score": ("total_score_reported", "总分", "分", "total_score"),
                     "exec_rate": ("exec_rate_reported", "执行率", "%", "exec_rate_reported"),
                     "exec_score": ("exec_score_reported", "预算执行率得分", "分", "exec_score_reported"),
                     "budget_initial": ("budget_initial", "年初预算数", "万元", "budget_initial"),
                     "budget_full_year": ("budget", "全年预算数", "万元", "budget"),
                     "budget": ("budget", "预算数", "万元", "budget"),
                     "executed": ("executed", "执行数", "万元", "executed"),
                     "output_score": ("产出指标", "产出指标得分", "分", "output_score"),
                     "benefit_score": ("效益指标", "效益指标得分", "分", "benefit_score"),
                     "satisfaction_score": ("满意度指标", "满意度指标得分", "分", "satisfaction_score"),
                     "output_rate": ("output_rate", "产出指标得分率", "%", "output_rate"),
                     "benefit_rate": ("benefit_rate", "效益指标得分率", "%", "benefit_rate"),
                     "satisfaction_rate": ("satisfaction_rate", "满意度指标得分率", "%", "satisfaction_rate"),
                     "budget_fiscal": ("fiscal", "财政拨款", "万元", "budget_fiscal"),
                     "carryover": ("carryover", "上年结转", "万元", "carryover")}
# department statement metric → (department_forms column or level, label, unit)
_DEPT_FIELDS = {"budget_total": ("budget_total", "部门预算总额", "万元"),
                "basic_expenditure": ("budget_basic", "基本支出", "万元"),
                "project_expenditure": ("budget_project", "项目支出", "万元"),
                "total_score": ("total_score", "总分", "分"),
                "input_score": ("投入指标", "投入指标得分", "分"),
                "process_score": ("过程指标", "过程指标得分", "分"),
                "output_score": ("产出指标", "产出指标得分", "分"),
                "benefit_score": ("效益指标", "效益指标得分", "分"),
                "exec_rate": ("预算执行率", "预算执行率", "%")}


def _level_scores(ind: pd.DataFrame, key: str) -> pd.Series:
    """Sum of the indicator scores per (table, level1), budget-execution rows aside."""
    if "is_budget_execution" in ind:
        ind = ind[~ind.is_budget_execution.fillna(False)]
    return ind.groupby([key, "level1"]).score.sum(min_count=1)


def _form_values(ctx: Context) -> dict:
    """Every figure a project statement may be held against, per form: form columns, level scores and rates,
    funding lines."""
    forms = ctx.f.drop_duplicates("form_id").set_index("form_id").to_dict("index")
    levels = _level_scores(ctx.indicators, "form_id").to_dict()
    rates, printed = (x.to_dict("index") for x in _level_rates(ctx))
    fu = ctx.funding
    fu = fu.assign(amount=fu.budget_full_year.fillna(fu.budget_initial))
    lines = fu.drop_duplicates(["form_id", "fund_source"]).set_index(["form_id", "fund_source"]).amount.to_dict()

    def values(fid, col):
        if col in _LEVEL_RATES.values():  # either way of computing the rate from the form
            got = [rates.get(fid, {}).get(col), printed.get(fid, {}).get(col)]
        elif col in _LEVEL_RATES:
            got = [levels.get((fid, col))]
        elif col in ("fiscal", "carryover"):
            got = [lines.get((fid, col))]
        else:
            got = [forms[fid].get(col)]
        return [v for v in got if v is not None and pd.notna(v)]
    return {"values": values, "forms": forms}


def _stmt_row(r, field, expected, found, message, form_id=None) -> dict:
    return {"line": r.line, "source_file": r.source_file, "form_id": form_id, "field": field,
            "expected": expected, "found": found, "message": message,
            "project_name": None if form_id else r.subject,  # a linked form's own name is filled in later
            "group": (r.source_file, form_id or r.subject, field, found)}


@rule("statement_mismatch")
def statement_mismatch(ctx: Context, money_tol: float, exec_rate_tol: float,
                       statement_score_tol: float) -> pd.DataFrame:
    """A figure of the narrative report against the form it speaks of (matched by keys.link(), misspelled and
    short names included), and the department's figures against the 部门整体绩效自评表. The same figure
    repeated in several sentences is one finding that names every line."""
    st = ctx.statements
    if st.empty:
        return pd.DataFrame()
    tol_of = {"%": exec_rate_tol, "分": statement_score_tol, "万元": money_tol}
    rows = []
    proj = st[st.form_id.notna() & ~st.subject_kind.isin(["department", "unit"]).fillna(False)]
    if not proj.empty:
        fv = _form_values(ctx)
        for r in proj.itertuples():
            f = fv["forms"].get(r.form_id)
            if f is None:
                continue
            if r.metric == "grade":
                g = f["grade_reported"]
                if pd.notna(r.value_text) and pd.notna(g) and r.value_text != g:
                    rows.append(_stmt_row(r, "grade", g, r.value_text,
                                          f"报告称“{r.subject}”评价等级为“{r.value_text}”，自评表总分"
                                          f"{_num(f['total_score_reported'])}分对应“{g}”。", r.form_id))
                continue
            if r.metric not in _STATEMENT_FIELDS or pd.isna(r.value):
                continue
            col, label, unit, field = _STATEMENT_FIELDS[r.metric]
            have = fv["values"](r.form_id, col)
            if not have or any(abs(r.value - b) <= tol_of[unit] for b in have):
                continue
            b = round(have[0], 2)
            rows.append(_stmt_row(r, field, _num(b), _num(r.value),
                                  f"报告称“{r.subject}”{label}{_num(r.value)}{unit}，项目自评表“{f['project_name']}”"
                                  f"（第{f['line_start']}行）为{_num(b)}{unit}。", r.form_id))
    rows += _department_statements(ctx, st, tol_of)
    if not rows:
        return pd.DataFrame()
    return _merge_lines(pd.DataFrame(rows), "group", "报告")


def _department_statements(ctx: Context, st: pd.DataFrame, tol_of: dict) -> list[dict]:
    """Department figures of the narrative against the department's 整体绩效自评表 of the same file; a stated
    execution rate also against executed ÷ budget stated in the same sentence."""
    dept = ctx.tables.get("department_forms")
    if dept is None or dept.empty:
        return []
    di = ctx.tables.get("department_indicators", schema.frame("department_indicators", []))
    levels = _level_scores(di, "dept_form_id")
    rate_rows = di[di.name.fillna("").map(key).eq("预算执行率")].drop_duplicates("dept_form_id") \
        .set_index("dept_form_id").actual_value
    d_st = st[st.subject_kind.eq("department") & st.source_file.isin(dept.source_file)]
    by_file = dept.drop_duplicates("source_file").set_index("source_file", drop=False)
    sentence = d_st.groupby(["source_file", "line"]).apply(lambda g: dict(zip(g.metric, g.value, strict=True)))
    sums = di.groupby("dept_form_id").score.sum(min_count=1)
    rows = []
    for r in d_st.itertuples():
        if r.metric not in _DEPT_FIELDS or pd.isna(r.value):
            continue
        d = by_file.loc[r.source_file]
        col, label, unit = _DEPT_FIELDS[r.metric]
        where_line = d.budget_line if col.startswith("budget") and pd.notna(d.budget_line) else d.line_start
        where = f"部门整体绩效自评表（第{int(where_line)}行）"
        if col in _LEVEL_RATES or col in ("投入指标", "过程指标"):
            b = levels.get((d.dept_form_id, col))
        elif col == "预算执行率":
            b = rate_rows.get(d.dept_form_id)
        elif col == "total_score" and pd.isna(d.total_score):  # no 总分 row printed: its indicators' scores
            b = sums.get(d.dept_form_id)
            where = f"部门整体绩效自评表（第{int(d.line_start)}行）各指标得分合计"
        else:
            b = d[col]
        if b is None or pd.isna(b) or abs(r.value - b) <= tol_of[unit]:
            continue
        extra = ""
        if r.metric == "exec_rate":
            same = sentence.get((r.source_file, r.line), {})
            if pd.notna(same.get("executed")) and pd.notna(same.get("budget_total")) and same["budget_total"]:
                own = same["executed"] / same["budget_total"] * 100
                extra = (f"；同句执行数{_num(same['executed'])}万元÷预算总额{_num(same['budget_total'])}万元"
                         f"={_num(round(own, 2))}%")
        rows.append(_stmt_row(r, r.metric, _num(b), _num(r.value),
                              f"报告称“{r.subject}”{label}{_num(r.value)}{unit}，{where}为{_num(b)}{unit}{extra}。"))
    return rows


def _merge_lines(df: pd.DataFrame, by: str, what: str) -> pd.DataFrame:
    """Rows with the same `by` value become one finding at the first line; the message names the other lines."""
    df = df.assign(**{by: df[by].map(repr)}).sort_values("line", kind="stable").reset_index(drop=True)
    lines = df.groupby(by, sort=False).line.agg(lambda x: sorted({int(v) for v in x.dropna()})).to_dict()
    first = df.drop_duplicates(by).copy()
    ls = [lines[k] for k in first[by]]
    first["lines"] = [", ".join(map(str, x)) for x in ls]
    first["message"] = [m.rstrip("。") + f"（{what}第{'、'.join(map(str, x))}行均同）。" if len(x) > 1 else m
                        for m, x in zip(first.message, ls, strict=True)]
    return first.drop(columns=[by])


@rule("department_summary_mismatch")
def department_summary_mismatch(ctx: Context, money_tol: float, exec_rate_tol: float,
                                weight_tol: float) -> pd.DataFrame:
    """The 部门整体绩效自评表 against the department's own 项目支出自评汇总表 (the summary whose unit is the
    department): its 项目支出 against the projects' budgets added up, its 预算执行率 against the projects'
    executed ÷ budget, and each level's printed points against its indicators."""
    dept = ctx.tables.get("department_forms")
    if dept is None or dept.empty:
        return pd.DataFrame()
    di = ctx.tables.get("department_indicators", schema.frame("department_indicators", []))
    s = ctx.summary
    s = s[~s.is_total.fillna(False)] if "is_total" in s else s
    s = s[s.source_file.isin(dept.source_file)]
    s_by = {k: g for k, g in s.assign(unit_key=s.unit.map(_plain_name)).groupby(["source_file", "unit_key"])}
    di_by = {k: g for k, g in di.groupby("dept_form_id")}
    none = di.iloc[:0]
    rows = []
    for d in dept.itertuples():
        own = s_by.get((d.source_file, _plain_name(d.department)), s.iloc[:0])
        mine_all = di_by.get(d.dept_form_id, none)
        if len(own) and "summary_id" in own:  # the unit's own table aside: the department's, with most rows
            own = own[own.summary_id == own.summary_id.value_counts().idxmax()]
        base = {"source_file": d.source_file, "project_name": d.department, "form_id": None}
        if len(own):
            budget, executed = own.budget.sum(min_count=1), own.executed.sum(min_count=1)
            n, first = len(own), int(own.line_start.min())
            if pd.notna(d.budget_project) and pd.notna(budget) and abs(d.budget_project - budget) > money_tol:
                rows.append({**base, "line": d.budget_line, "field": "budget_project",
                             "expected": _num(round(budget, 2)), "found": _num(d.budget_project),
                             "message": f"部门整体绩效自评表项目支出{_num(d.budget_project)}万元，部门项目支出"
                                        f"自评汇总表（第{first}行起）{n}个项目全年预算数合计"
                                        f"{_num(round(budget, 2))}万元。"})
            rate = mine_all[mine_all.name.fillna("").map(key).eq("预算执行率")]
            if len(rate) and pd.notna(budget) and budget and pd.notna(executed):
                r, got = rate.iloc[0], executed / budget * 100
                if pd.notna(r.actual_value) and abs(r.actual_value - got) > exec_rate_tol:
                    rows.append({**base, "line": r.line, "field": "exec_rate", "expected": _num(round(got, 2)) + "%",
                                 "found": _num(r.actual_value) + "%",
                                 "message": f"部门整体绩效自评表预算执行率完成值{_num(r.actual_value)}%，部门项目支出"
                                            f"自评汇总表（第{first}行起）执行数合计{_num(round(executed, 2))}万元÷"
                                            f"预算数合计{_num(round(budget, 2))}万元={_num(round(got, 2))}%。"})
        mine = mine_all[mine_all.level1_weight.notna()]
        g = mine.groupby(["level1", "level1_weight_line"], sort=False).agg(
            printed=("level1_weight", "first"), total=("weight", "sum"), n=("weight", "size")).reset_index()
        for x in g[(g.total - g.printed).abs() > weight_tol].itertuples():
            rows.append({**base, "line": x.level1_weight_line, "field": "level1_weight", "expected": _num(x.printed),
                         "found": _num(x.total),
                         "message": f"部门整体绩效自评表{x.level1}标注{_num(x.printed)}分，其下{x.n}项指标分值合计"
                                    f"{_num(x.total)}分。"})
    return pd.DataFrame(rows)


def _plain_name(x) -> str:
    return key(x) if isinstance(x, str) else ""


# -- running the rules ------------------------------------------------------------------------------

def _locate(raw_dir, source_file, start, stop, word) -> int | None:
    """The first line in [start, stop] whose text holds `word` (e.g. the 主管部门 row of a form)."""
    if raw_dir is None or pd.isna(start):
        return None
    lines = _lines_of(raw_dir, source_file)
    stop = int(stop) if pd.notna(stop) else int(start) + 15
    for n in range(int(start), int(stop) + 1):
        if word in lines.get(n, "").replace(" ", ""):
            return n
    return None


def _collapse(df: pd.DataFrame, forms: pd.DataFrame, mode: str, share: float, min_forms: int) -> pd.DataFrame:
    """One template-level row per file for a rule that hits (nearly) every form of that file."""
    if df.empty or mode == "no":
        return df
    per_file = forms.groupby("source_file").size()
    out = []
    df = df.assign(pattern=df["pattern"].fillna("") if "pattern" in df else "")
    for (sf, _), g in df.groupby(["source_file", "pattern"], sort=False, dropna=False):
        n_hit, n_all = g.form_id.nunique(), int(per_file.get(sf, 0))
        if mode == "always" or (n_all and n_hit >= min_forms and n_hit / n_all >= share):
            first = g.sort_values("line").iloc[0].copy()
            lines = ", ".join(str(int(x)) for x in sorted(g.line.dropna().unique()))
            first["form_id"] = pd.NA
            first["project_name"] = pd.NA
            first["lines"] = lines
            first["found"] = f"{first['found']}（{n_hit}/{n_all}张表）"
            first["message"] = (f"模板问题：本文件{n_all}张自评表中{n_hit}张存在此问题"
                                f"（如“{first['project_name_first']}”："
                                f"{first['message']}）涉及行：{lines}。")
            out.append(first.to_frame().T)
        else:
            out.append(g)
    return pd.concat(out, ignore_index=True)


def _note(out: pd.DataFrame, i, j, text: str) -> None:
    """Fold finding j into finding i: i's message gains `text`, i's lines gain j's lines."""
    lines = {int(x) for x in f"{out.at[i, 'lines']},{out.at[j, 'lines']}".split(",") if x.strip()}
    out.at[i, "lines"] = ", ".join(map(str, sorted(lines)))
    out.at[i, "message"] = out.at[i, "message"].rstrip("。") + text


_LEVEL_SCORE_FIELDS = {"output_score": "产出指标", "benefit_score": "效益指标", "satisfaction_score": "满意度指标"}


def _first_of(out: pd.DataFrame, mask: pd.Series, cols: list[str]) -> dict:
    """{(values of cols): index of the first finding with them} among the findings under mask."""
    sub = out[mask]
    found = {}
    for i, k in zip(sub.index, zip(*(sub[c] for c in cols), strict=True), strict=True):
        found.setdefault(k, i)
    return found


def _one_cause(out: pd.DataFrame, ctx: Context, tol: float, gap: float) -> pd.DataFrame:
    """One finding per cause. Folded, with their lines named in the finding that stays:
    - a narrative figure that repeats a wrong summary figure (same form, field, value) → the summary finding;
    - weights (and the total) off by exactly what a level's indicators are off by, and a report giving that
      level its printed points → the level finding;
    - a self-score far above the rescore only because the total does not add up → the total finding;
    - every indicator at full marks on a form already found full-scored despite low execution → that finding;
    - a duplicate name that the form's own title shows to be a wrong name → the title finding."""
    drop = set()
    summ = _first_of(out, out.rule == "summary_mismatch", ["form_id", "field", "found"])
    for j, r in out[(out.rule == "statement_mismatch") & out.form_id.notna()].iterrows():
        hit = summ.get((r.form_id, r.field, r.found))
        if hit is not None:
            _note(out, hit, j, f"（报告第{r.lines}行同）。")
            drop.add(j)
    # a report that gives a level the points printed beside it while its indicators add up to less (or more)
    lv = out[(out.rule == "level_weight_mismatch") & out.form_id.notna()]
    lv_first = _first_of(lv.assign(level=lv.message.str.split("标注").str[0]), lv.index == lv.index,
                         ["form_id", "level", "expected"])
    for j, r in out[(out.rule == "statement_mismatch") & out.field.isin(_LEVEL_SCORE_FIELDS)].iterrows():
        hit = lv_first.get((r.form_id, _LEVEL_SCORE_FIELDS[r.field], r.found))
        if hit is not None and j not in drop:
            _note(out, hit, j, f"；报告第{r.lines}行称该级得分{r.found}分，同此原因。")
            drop.add(j)
    f = ctx.f.drop_duplicates("form_id").set_index("form_id")
    lv_rows = out[out.rule == "level_weight_mismatch"]
    levels = {k: g for k, g in lv_rows.groupby("form_id")}
    totals_of = {k: g for k, g in out[out.rule == "total_mismatch"].groupby("form_id")}
    for j, w in out[out.rule == "weights_not_total"].iterrows():
        lv = levels.get(w.form_id)
        if lv is None or w.form_id not in f.index:
            continue
        off = (lv.found.astype(float) - lv.expected.astype(float)).sum()
        x = f.loc[w.form_id]
        tw = x.total_weight_reported if pd.notna(x.total_weight_reported) else thresholds()["full_marks"]
        ways = [float(w.found) - float(w.expected), x.indicator_weight - tw]
        if not any(abs(off - d) <= tol for d in ways):
            continue
        first = lv.index[0]
        _note(out, first, j, f"；各项分值合计因此为{w.found}分，与总分值{w.expected}分不符（第{int(w.line)}行）。")
        drop.add(j)
        for k, t in totals_of.get(w.form_id, out.iloc[:0]).iterrows():
            score_ways = [float(t.expected) - float(t.found), x.indicator_score_reported - float(t.found)]
            if any(abs(off - d) <= tol for d in score_ways):
                _note(out, first, k, f"；得分合计随之与总分栏{t.found}分不符。")
                drop.add(k)
    # a self-score that is high only because the total does not add up: the total is the cause
    totals = _first_of(out, (out.rule == "total_mismatch") & ~out.index.isin(drop), ["form_id"])
    for j, r in out[out.rule == "self_score_above_rescore"].iterrows():
        hit = totals.get((r.form_id,))
        if hit is not None and r.form_id in f.index and \
                float(out.at[hit, "expected"]) <= f.at[r.form_id, "total_rescore_max"] + gap:
            _note(out, hit, j, f"；按规则复核最多{r.expected.lstrip('≤')}分，自评偏高即由总分加总错误所致。")
            drop.add(j)
    # every indicator at full marks while execution is low: one finding of over-scoring
    full = _first_of(out, (out.rule == "full_score_despite_shortfall") & (out.field == "total_score_reported"),
                     ["form_id"])
    for j, r in out[(out.rule == "all_full_marks") & out.form_id.notna()].iterrows():
        hit = full.get((r.form_id,))
        if hit is not None:
            _note(out, hit, j, f"；{r.found}。")
            drop.add(j)
    titles = _first_of(out, out.rule == "title_name_mismatch", ["source_file", "project_name"])
    for j, d in out[out.rule == "duplicate_forms"].iterrows():
        hit = titles.get((d.source_file, d.project_name))
        if hit is not None:
            other = d.found if out.at[hit, "form_id"] == d.form_id else f"第{int(d.line)}行的自评表也用此名称"
            _note(out, hit, j, f"；{other}，两表重名。")
            drop.add(j)
    return out.drop(index=sorted(drop))


def _file_meta(out: pd.DataFrame, forms: pd.DataFrame) -> pd.DataFrame:
    """Region, department and year of a finding without a form (a summary row, a narrative figure) from
    its file, where the file's forms agree on one value."""
    for col in ("region", "department", "year"):
        if col not in forms or not out[col].isna().any():
            continue
        per = forms.groupby("source_file")[col].agg(lambda s: s.iloc[0] if s.nunique() == 1 and s.notna().all()
                                                    else None)
        out[col] = out[col].where(out[col].notna(), out.source_file.map(per))
    return out


def check(tables: dict[str, pd.DataFrame], raw_dir: str | Path | None = None, **params) -> pd.DataFrame:
    """Run every rule of rules/anomalies.csv over the tidy tables: the `anomalies` table.

    `raw_dir` is where the source files lie (evidence lines are quoted from it; default data/raw when it
    holds them). Parameters (thresholds, tolerances) default to the rules table; unknown names raise.
    """
    return check_all(tables, raw_dir, **params)["anomalies"]


def check_all(tables: dict[str, pd.DataFrame], raw_dir: str | Path | None = None,
              **params) -> dict[str, pd.DataFrame]:
    """check() plus the rescoring it is built on: {'anomalies', 'rescored_forms', 'rescored_indicators'}."""
    defaults = default_params()
    unknown = set(params) - set(defaults)
    if unknown:
        raise ValueError(f"unknown parameter(s): {', '.join(sorted(unknown))}; known: {', '.join(sorted(defaults))}")
    values = {**defaults, **{k: float(v) for k, v in params.items()}}
    if raw_dir is None and paths.RAW.exists():
        raw_dir = paths.RAW
    ctx = Context(tables, raw_dir)
    meta = ctx.f.set_index("form_id").reindex(columns=["source_file", "location", "region", "department", "year",
                                                       "project_name", "line_start", "funding_line"])
    parts = []
    for spec in rule_table().itertuples():
        fn = RULES[spec.id]
        names = _parse_params(spec.params)
        found = fn(ctx, **{k: values[k] for k in names})
        if found is None or found.empty:
            continue
        found = found.reset_index(drop=True).copy()
        for col in ("source_file", "location", "project_name", "locate", "pattern"):
            if col not in found:
                found[col] = pd.NA
        known = found.form_id.notna() & found.form_id.isin(meta.index)
        m = meta.reindex(found.form_id.where(known))
        for col in ("source_file", "location", "project_name"):
            found[col] = found[col].where(found[col].notna(), pd.Series(m[col].to_numpy(), index=found.index))
        for col in ("region", "department", "year"):
            found[col] = m[col].to_numpy()
        if found.locate.notna().any() and raw_dir is not None:
            found["line"] = [(_locate(raw_dir, sf, st, fl, w) or ln) if isinstance(w, str) else ln
                             for sf, st, fl, w, ln in zip(found.source_file, m.line_start, m.funding_line,
                                                          found.locate, found.line, strict=True)]
        found["rule"], found["category"], found["severity"] = spec.id, spec.category, spec.severity
        found["project_name_first"] = found.project_name
        found = _collapse(found, ctx.forms, spec.template, values["template_share"],
                          int(values["template_min_forms"]))
        parts.append(found)
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["rule"])
    if len(out):
        if "lines" not in out:
            out["lines"] = None
        out["lines"] = out["lines"].where(out["lines"].notna(), out.line.map(
            lambda x: None if pd.isna(x) else str(int(x))))
        out = _one_cause(out, ctx, values["weight_tol"], values["rescore_gap"]).reset_index(drop=True)
        out["evidence"] = [" ‖ ".join(filter(None, (line_text(raw_dir, sf, int(x)) for x in str(ls).split(",")
                                                    if x.strip()))) or None if isinstance(ls, str) else
                           line_text(raw_dir, sf, ln)
                           for sf, ln, ls in zip(out.source_file, out.line, out.lines, strict=True)]
        out = _file_meta(out, ctx.forms)
        # where the finding's own line lies in a non-text source; else the form's location
        out["location"] = [line_location(raw_dir, sf, ln) or (loc if isinstance(loc, str) else None)
                           for sf, ln, loc in zip(out.source_file, out.line, out.location, strict=True)]
        for col in ("expected", "found"):
            out[col] = out[col].map(lambda v: None if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v))
        out["_sev"] = out.severity.map({s: i for i, s in enumerate(SEVERITY_ORDER)})
        out = out.sort_values(["_sev", "source_file", "line", "rule"], na_position="last", kind="stable")
    return {"anomalies": schema.conform("anomalies", out.reset_index(drop=True)),
            "rescored_forms": ctx.rf, "rescored_indicators": ctx.ri}


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


def is_template_level(anomalies: pd.DataFrame) -> pd.Series:
    """Findings that stand for a pattern across a file's forms (other findings without a form are about a
    summary, a department form or a target table)."""
    return anomalies.form_id.isna() & anomalies.message.fillna("").str.startswith("模板问题")


def summary(anomalies: pd.DataFrame) -> pd.DataFrame:
    """Findings per rule with title and severity, most severe first (for the CLI and reports)."""
    rt = rule_table().set_index("id")
    counts = anomalies.groupby("rule").size().rename("findings")
    out = rt[["title_zh", "category", "severity"]].join(counts, how="inner")
    out["template_level"] = anomalies[is_template_level(anomalies)].groupby("rule").size()
    out["template_level"] = out["template_level"].fillna(0).astype(int)
    return out.sort_values(["severity", "findings"], key=lambda s: s.map(SEVERITY_ORDER.index) if s.name == "severity"
                           else -s).reset_index(names="rule")
