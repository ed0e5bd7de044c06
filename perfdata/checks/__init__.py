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

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from perfdata import paths, schema
from perfdata.checks import consistency, narrative, quality, reconciliation  # noqa: F401 - each registers its rules
from perfdata.checks.evidence import (  # noqa: F401 - line_text and line_location are the package's interface
    line_location,
    line_locations,
    line_text,
    line_texts,
    locate,
)
from perfdata.checks.folding import _collapse, _file_meta, _one_cause
from perfdata.checks.quality import _far_apart  # noqa: F401 - tested
from perfdata.checks.registry import (  # noqa: F401 - the package's interface
    RULES,
    SEVERITY_ORDER,
    Context,
    _group_join,
    _ints,
    _one_chunk,
    _parse_params,
    _positions,
    default_params,
    rule_table,
    rules_markdown,
)
from perfdata.scoring import _arrow_text, _cast, _named, _system_allocator, conformed


def check(tables: dict[str, pd.DataFrame], raw_dir: str | Path | None = None, **params) -> pd.DataFrame:
    """Run every rule of rules/anomalies.csv over the tidy tables: the `anomalies` table.

    `raw_dir` is where the source files lie (evidence lines are quoted from it; default: the folder the
    ingest read them from (files.path), else data/raw when it holds them). Parameters (thresholds,
    tolerances) default to the rules table; unknown names raise.
    """
    return check_all(tables, raw_dir, **params)["anomalies"]


def read_from(files: pd.DataFrame | None) -> str | None:
    """The folder the batch's files were read from (each files.path ends in its source_file), when they share
    one that is still there; else None."""
    if files is None or "path" not in files or files.empty:
        return None
    roots = {p[: len(p) - len(sf)] for p, sf in zip(files.path.to_numpy(object), files.source_file.to_numpy(object),
                                                   strict=True)
             if isinstance(p, str) and isinstance(sf, str) and p.endswith(sf)}
    root = roots.pop() if len(roots) == 1 else None
    return root if root and os.path.isdir(root) else None


def check_all(tables: dict[str, pd.DataFrame], raw_dir: str | Path | None = None,
              **params) -> dict[str, pd.DataFrame]:
    """check() plus the rescoring it is built on: {'anomalies', 'rescored_forms', 'rescored_indicators'}."""
    with _system_allocator():
        return _check_all(tables, raw_dir, **params)


def _check_all(tables: dict[str, pd.DataFrame], raw_dir: str | Path | None, **params) -> dict[str, pd.DataFrame]:
    defaults = default_params()
    unknown = set(params) - set(defaults)
    if unknown:
        raise ValueError(f"unknown parameter(s): {', '.join(sorted(unknown))}; known: {', '.join(sorted(defaults))}")
    values = {**defaults, **{k: float(v) for k, v in params.items()}}
    if raw_dir is None:
        raw_dir = read_from(tables.get("files")) or (paths.RAW if paths.RAW.exists() else None)
    ctx = Context(tables, raw_dir)
    meta = ctx.forms_once().set_index("form_id").reindex(
        columns=["source_file", "location", "region", "department", "year", "project_name", "line_start",
                 "funding_line"])
    columns = {c: meta[c].array for c in meta.columns}  # taken per rule, column by column
    per_file = ctx.forms.groupby("source_file").size()  # forms per file, for the template-level findings
    ran = []
    for spec in rule_table().itertuples():
        fn = RULES[spec.id]
        names = _parse_params(spec.params)
        found = fn(ctx, **{k: values[k] for k in names})
        if found is not None and not found.empty:
            ran.append((spec, _one_chunk(found.reset_index(drop=True))))
    parts = []
    for (spec, found), pos in zip(ran, _form_positions(meta.index, [found.form_id for _, found in ran]), strict=True):
        for col in ("locate", "pattern"):
            if col not in found:
                found[col] = pd.Series(pd.NA, index=found.index, dtype="string")
        at = np.where(pos >= 0, pos, -1)  # the finding's form among the forms, -1: none (its fields null)

        def of(col, at=at, index=found.index):
            return pd.Series(columns[col].take(at, allow_fill=True), index=index)
        # the form's file, location, name, region, department and year, where the rule does not give them
        for col in ("source_file", "location", "project_name", "region", "department", "year"):
            given = found[col].notna() if col in found else None
            if given is None or not given.any():
                found[col] = of(col)
            elif not given.all():
                found[col] = found[col].where(given, of(col))
        if found.locate.notna().any() and raw_dir is not None:
            files = ctx.sources(found.source_file[found.locate.notna()])
            found["line"] = locate(files, found.source_file, of("line_start"), of("funding_line"), found.locate,
                                   found.line)
        found["project_name_first"] = found.project_name
        found = _collapse(_typed(found), per_file, spec.template, values["template_share"],
                          int(values["template_min_forms"]))
        parts.append(_typed(found))
    out = _one_chunk(pd.concat(parts, ignore_index=True)) if parts else pd.DataFrame(columns=["rule"])
    if len(out):
        # each part's rule, category and severity: named once per rule, not once per finding
        which = np.repeat(np.arange(len(parts)), [len(x) for x in parts])
        for col in ("rule", "category", "severity"):
            out[col] = _named([str(getattr(spec, "id" if col == "rule" else col)) for spec, _ in ran], which)
        if "lines" not in out:
            out["lines"] = None
        own = _ints(out.line).where(out.line.notna(), None).astype(object)
        out["lines"] = out["lines"].astype(object).where(out["lines"].notna(), own)
        out, folded, (messages, src) = _one_cause(out.reset_index(drop=True), ctx, values["weight_tol"],
                                                  values["rescore_gap"])
        out["evidence"] = _evidence(ctx, out)
        out = _file_meta(out, ctx.forms)
        # where the finding's own line lies in a non-text source; else the form's location
        files = ctx.sources(out.source_file)
        where = pd.Series(line_locations(files, out.source_file, out.line), index=out.index)
        loc = out.location.astype(object)
        out["location"] = where.where(where.notna(), loc.where(loc.map(type).eq(str), None))
        for col in ("expected", "found"):
            if isinstance(out[col].dtype, pd.StringDtype):  # text already: conformed() keeps it
                continue
            s = out[col].astype(object)
            out[col] = s.where(s.notna(), None) if pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty") \
                else s.map(lambda v: None if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v))
        order = _in_order(out)
        # the one take of the whole frame (of the table's columns): sorted, the folded ones left out
        table = {c.name for c in schema.TABLES["anomalies"]} - {"message"}
        rows = order[~folded[order]]
        out = out[[c for c in out.columns if c in table]].iloc[rows]
        out["message"] = pd.arrays.ArrowStringArray(messages.take(pa.array(src[rows])))
    return {"anomalies": conformed("anomalies", out.reset_index(drop=True)),
            "rescored_forms": ctx.rf, "rescored_indicators": ctx.ri}


def _form_positions(index: pd.Index, form_ids: list[pd.Series]) -> list[np.ndarray]:
    """_positions() of every rule's form ids in one look-up: the forms' hash table is built once, not per rule."""
    keys = [_arrow_text(ids) for ids in form_ids]
    if not keys or any(k is None for k in keys):
        return [_positions(index, ids) for ids in form_ids]
    pos = _positions(index, pa.concat_arrays(keys))
    return np.split(pos, np.cumsum([len(k) for k in keys])[:-1])


# the findings' working columns beside the table's own: text
_WORKING = {"locate": "string", "pattern": "string", "project_name_first": "string"}


def _typed(found: pd.DataFrame) -> pd.DataFrame:
    """A rule's findings with the anomalies table's dtypes: the rules' frames concatenate without falling
    back to Python objects (a form id null in one rule and text in another made the column objects)."""
    dtypes = {**{c.name: c.dtype for c in schema.TABLES["anomalies"]}, **_WORKING}
    for col in found.columns:
        dtype = dtypes.get(col)
        if dtype is not None and found[col].dtype != schema._pandas_dtype(dtype):
            found[col] = _cast(dtype, found[col])
    return found


def _in_order(out: pd.DataFrame) -> np.ndarray:
    """The order of the findings: by severity, file, line and rule (a missing file or line last), ties as
    found; one sort of numbers rather than of the frame's text columns."""
    sev = _positions(pd.Index(SEVERITY_ORDER), out.severity)
    keys = [np.where(sev < 0, len(SEVERITY_ORDER), sev)]
    for col in ("source_file", "line", "rule"):
        codes, uniq = pd.factorize(out[col], sort=True)  # codes in sorted order, a missing value -1
        keys.append(np.where(codes < 0, len(uniq), codes))
    return np.lexsort(keys[::-1])


def _evidence(ctx: Context, out: pd.DataFrame) -> np.ndarray:
    """The printed line of every finding; of a finding on several lines, each of them joined by ' ‖ '."""
    ev = np.full(len(out), None, dtype=object)
    files = ctx.sources(out.source_file)
    if not files:
        return ev
    ls = out["lines"].astype(object)
    many = ls.map(type).eq(str).to_numpy(bool)
    one = np.flatnonzero(~many)
    ev[one] = line_texts(files, out.source_file.iloc[one], out.line.iloc[one])
    each = ls[many].str.split(",").explode()
    each = each[each.str.strip().ne("")]
    rows = each.index.to_numpy()
    text = line_texts(files, out.source_file.to_numpy(object)[rows], pd.to_numeric(each.str.strip()).to_numpy())
    have = pd.notna(text)
    joined = _group_join(rows[have], text[have], " ‖ ", len(out))
    k = np.flatnonzero(many)
    ev[k] = np.where(joined[k] == "", None, joined[k])
    return ev


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
