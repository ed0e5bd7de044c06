"""历次运行: the report runs under reports/ side by side, and what changed since the last run of the same inputs.

A run folder is what perfdata/report/runner.py writes: `reports/<run-id>/` with manifest.json (run id, status,
start and end, parameters, the SHA-256 of every input file, package versions) and the report tables under
tables/ — the findings per rule and severity (tables/anomalies_by_rule.csv, Chinese headers and rule titles by
default, the codes with --english) and the rows per table (tables/table_rows.csv). A run still being written
or interrupted is `.<run-id>.partial/`; a failed one `<run-id>-FAILED/` with a FAILED file; `latest` points to
the newest complete run. Only complete runs are counted: the others are listed with complete = false and a
note saying why, their counts left blank. Folders with neither a manifest nor a run's name (interactive/)
are not runs and are not listed.

The counts are the report's: findings after its filters (years, regions, departments, severities, rules:
the `parameters` column). "The same inputs" means the same input files with the same bytes (the SHA-256 of
the raw documents in the manifest, or of the tidy tables when the run had no raw folder): the change then comes
from the program or its parameters, not from the documents. `match="names"` compares runs of the same file
names instead, to follow documents republished with corrections.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import pandas as pd

from perfdata import rules, schema

MANIFEST = "manifest.json"
FAILED = "FAILED"
FAILED_SUFFIX = "-FAILED"
PARTIAL_SUFFIX = ".partial"
LATEST = "latest"
BY_RULE = Path("tables") / "anomalies_by_rule.csv"
TABLE_ROWS = Path("tables") / "table_rows.csv"
SEVERITIES = ("high", "medium", "low")
# tidy tables the check derives (they change with its parameters, not with the documents)
DERIVED = ("anomalies", "rescored_forms", "rescored_indicators")
MATCHES = {"hashes": "inputs_sha256", "names": "input_files"}


def runs(reports_dir: str | Path = "reports") -> pd.DataFrame:
    """One row per run folder under REPORTS_DIR, oldest first: the `runs` table (see the module docstring).

    >>> len(runs("/nonexistent")), "findings_by_rule" in runs("/nonexistent")
    (0, True)
    """
    root = Path(reports_dir)
    if not root.is_dir():
        return schema.frame("runs", [])
    latest = _latest(root)
    rows = []
    for folder in sorted(root.iterdir()):
        if not folder.is_dir() or folder.is_symlink():
            continue
        row = _read(folder)
        if row is not None:
            row["latest"] = folder.name == latest
            rows.append(row)
    out = schema.frame("runs", rows)
    return out.sort_values(["started", "run_id", "folder"], na_position="last", kind="stable", ignore_index=True)


def _latest(root: Path) -> str | None:
    link = root / LATEST
    try:
        return Path(link.readlink()).name if link.is_symlink() else None
    except OSError:
        return None


def _read(folder: Path) -> dict | None:
    """A run folder as a row of `runs`; None for a folder that is not a run."""
    name = folder.name
    partial = name.startswith(".") and name.endswith(PARTIAL_SUFFIX)
    failed = name.endswith(FAILED_SUFFIX)
    manifest_path = folder / MANIFEST
    if name.startswith(".") and not partial:
        return None
    if not (partial or failed or manifest_path.exists()):
        return None
    run_id = name[1:-len(PARTIAL_SUFFIX)] if partial else name.removesuffix(FAILED_SUFFIX) if failed else name
    row: dict = {"run_id": run_id, "folder": name}
    manifest, problem = {}, None
    if manifest_path.exists():
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            problem = f"manifest.json 无法读取：{type(e).__name__}"
    else:
        problem = "没有 manifest.json"
    row |= _from_manifest(manifest)
    row["run_id"] = run_id  # the folder's name: the runner names it by the run id, and a copy keeps it apart
    status = manifest.get("status")
    if partial:
        why = ("运行已结束但未放入位（放入时被中断，下次运行会补上）" if manifest
               else "运行目录仍为隐藏的临时目录（正在写入或已中断）")
        row |= {"status": "partial", "note": f"未完成：{name}，{why}，不计入"}
    elif failed or status == "failed":
        why = _first_line(folder / FAILED) or "; ".join(manifest.get("failed") or []) or "见 manifest.json"
        row |= {"status": "failed", "note": f"运行失败，不计入：{why}"}
    elif problem:
        row |= {"status": "unreadable", "note": f"{problem}，不计入"}
    elif status != "ok":
        row |= {"status": str(status), "note": f"manifest.json 的状态为 {status!r}，不计入"}
    else:
        row |= {"status": "ok", "complete": True}
        counts, note = _counts(folder)
        row |= counts
        if note:
            row["note"] = note
    row.setdefault("complete", False)
    return row


def _first_line(path: Path) -> str | None:
    try:
        return next((ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()), None)
    except OSError:
        return None


def _from_manifest(m: dict) -> dict:
    inputs = m.get("inputs") or {}
    raw = inputs.get("raw") or {}
    basis, files = ("raw", raw) if raw else ("data", {k: v for k, v in (inputs.get("data") or {}).items()
                                                       if Path(k).stem not in DERIVED})
    params = (m.get("parameters") or {}).get("given") or {}
    return {
        "run_date": m.get("run_date"), "started": m.get("started"), "finished": m.get("finished"),
        "seconds": m.get("seconds"),
        "parameters": json.dumps(params, ensure_ascii=False, sort_keys=True) if m else None,
        "data_dir": m.get("data_dir"), "raw_dir": m.get("raw_dir"),
        "input_basis": basis if files else None,
        "input_files": "; ".join(sorted(files)) if files else None,
        "input_count": len(files) if m else None,
        "inputs_sha256": inputs_key(files) if files else None,
        "perfdata_version": (m.get("versions") or {}).get("perfdata"),
    }


def inputs_key(files: dict[str, str]) -> str:
    """One fingerprint of a run's input files: SHA-256 over the sorted (name, SHA-256) pairs.

    >>> inputs_key({"b.txt": "22", "a.txt": "11"}) == inputs_key({"a.txt": "11", "b.txt": "22"})
    True
    """
    text = "".join(f"{name}\t{sha}\n" for name, sha in sorted(files.items()))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _csv(path: Path) -> list[list[str]] | None:
    try:
        return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    except (OSError, UnicodeDecodeError, csv.Error):
        return None


def _severity_of_header() -> dict[str, str]:
    out = {s: s for s in SEVERITIES}
    for r in rules.table("display_values.csv"):
        if r["column"] == "severity" and r["table"] == "" and r["value"] in SEVERITIES:
            out[r["label"]] = r["value"]
    return out


def _rule_of_title() -> dict[str, str]:
    return {r["title_zh"]: r["id"] for r in rules.table("anomalies.csv")}


def read_counts(path: str | Path) -> dict[str, dict[str, int]] | None:
    """Findings per rule and severity from a run's tables/anomalies_by_rule.csv (Chinese or English headers):
    {rule id: {high, medium, low}}. A Chinese rule title is read back to its id (rules/anomalies.csv); a title
    no rule has any more is kept as printed. None when the file is missing or unreadable."""
    rows = _csv(Path(path))
    if not rows:
        return None
    header, body = rows[0], rows[1:]
    sev = _severity_of_header()
    cols = {sev[h]: k for k, h in enumerate(header) if h in sev}
    if len(cols) != len(SEVERITIES):
        return None
    titles = _rule_of_title()
    out: dict[str, dict[str, int]] = {}
    for r in body:
        if not r or not r[0]:
            continue
        rule = titles.get(r[0], r[0])
        per = out.setdefault(rule, dict.fromkeys(SEVERITIES, 0))
        for s, k in cols.items():
            try:
                per[s] += int(float(r[k] or 0))
            except (ValueError, IndexError):
                continue
    return out


def _forms(folder: Path) -> int | None:
    """Project forms of the run (tables/table_rows.csv: table, rows; the table named or labelled)."""
    rows = _csv(folder / TABLE_ROWS)
    if not rows:
        return None
    names = {"forms"} | {r["label"] for r in rules.table("display_tables.csv") if r["table"] == "forms"}
    for r in rows[1:]:
        if len(r) >= 2 and r[0] in names:
            try:
                return int(float(r[1]))
            except ValueError:
                return None
    return None


def _counts(folder: Path) -> tuple[dict, str | None]:
    per_rule = read_counts(folder / BY_RULE)
    forms = _forms(folder)
    out: dict = {"forms": forms}
    if per_rule is None:
        return out, f"没有可读的 {BY_RULE.as_posix()}（未运行总览报告？），问题数未知"
    totals = {s: sum(v[s] for v in per_rule.values()) for s in SEVERITIES}
    out |= {"findings": sum(totals.values()), **{f"findings_{s}": totals[s] for s in SEVERITIES},
            "rules_hit": sum(1 for v in per_rule.values() if sum(v.values())),
            "findings_by_rule": json.dumps(per_rule, ensure_ascii=False, sort_keys=True)}
    return out, None


def previous_run(runs_df: pd.DataFrame, run_id: str, match: str = "hashes") -> pd.Series | None:
    """The latest complete run before RUN_ID with the same inputs (match="hashes": same files and bytes;
    "names": same file names); None when there is none."""
    if match not in MATCHES:
        raise ValueError(f"match {match!r}: use one of {', '.join(MATCHES)}")
    this = _run(runs_df, run_id)
    key = MATCHES[match]
    done = runs_df[runs_df["complete"].fillna(False).astype(bool) & (runs_df["run_id"] != run_id)]
    same = done[(done[key] == this[key]).fillna(False).astype(bool) & (done["input_basis"] == this["input_basis"])
                .fillna(False).astype(bool)]
    started = this["started"]
    if pd.notna(started):
        same = same[(same["started"] < started).fillna(False).astype(bool)
                    | ((same["started"] == started).fillna(False).astype(bool) & (same["run_id"] < run_id))]
    if not len(same):
        return None
    return same.sort_values(["started", "run_id"], kind="stable").iloc[-1]


def _run(runs_df: pd.DataFrame, run_id: str) -> pd.Series:
    hit = runs_df[(runs_df["run_id"] == run_id) & runs_df["complete"].fillna(False).astype(bool)]
    if not len(hit):
        known = ", ".join(runs_df.loc[runs_df["complete"].fillna(False).astype(bool), "run_id"].astype(str))
        raise ValueError(f"run {run_id!r}: no complete run of that id (complete runs: {known or 'none'})")
    return hit.iloc[-1]


def _per_rule(row: pd.Series | None) -> dict[str, dict[str, int]]:
    if row is None or pd.isna(row["findings_by_rule"]):
        return {}
    return json.loads(row["findings_by_rule"])


def change_since_previous(runs_df: pd.DataFrame, run_id: str, match: str = "hashes") -> pd.DataFrame:
    """Findings per rule and severity in RUN_ID beside the previous complete run of the same inputs (see
    previous_run), largest change first: the `run_changes` table. Without a previous run the counts are listed
    with previous and change blank."""
    this = _run(runs_df, run_id)
    if pd.isna(this["findings_by_rule"]):
        raise ValueError(f"run {run_id!r} has no findings per rule ({BY_RULE.as_posix()}): nothing to compare")
    prev = previous_run(runs_df, run_id, match)
    known = prev is not None and pd.notna(prev["findings_by_rule"])  # a previous run without the table: unknown
    now, before = _per_rule(this), _per_rule(prev if known else None)
    rows = []
    for rule in sorted(set(now) | set(before)):
        for s in SEVERITIES:
            cur = now.get(rule, {}).get(s, 0)
            old = before.get(rule, {}).get(s, 0) if known else None
            if cur == 0 and not old:
                continue
            rows.append({"run_id": run_id, "previous_run_id": None if prev is None else prev["run_id"],
                         "matched_by": None if prev is None else match,
                         "same_parameters": None if prev is None else bool(prev["parameters"] == this["parameters"]),
                         "rule": rule, "severity": s, "previous": old, "current": cur,
                         "change": None if old is None else cur - old})
    out = schema.frame("run_changes", rows)
    if not len(out):
        return out
    order = out["change"].abs().fillna(-1).astype(float)
    sev = out["severity"].map({s: k for k, s in enumerate(SEVERITIES)})
    return (out.assign(_o=-order, _s=sev).sort_values(["_o", "_s", "rule"], kind="stable")
            .drop(columns=["_o", "_s"]).reset_index(drop=True))
