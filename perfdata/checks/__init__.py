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

from pathlib import Path

import pandas as pd

from perfdata import paths, schema
from perfdata.checks import consistency, quality, reconciliation  # noqa: F401 - each registers its rules
from perfdata.checks.evidence import _locate, line_location, line_text
from perfdata.checks.folding import _collapse, _file_meta, _one_cause
from perfdata.checks.quality import _far_apart  # noqa: F401 - tested
from perfdata.checks.registry import (  # noqa: F401 - the package's interface
    RULES,
    SEVERITY_ORDER,
    Context,
    _parse_params,
    default_params,
    rule_table,
    rules_markdown,
)


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
