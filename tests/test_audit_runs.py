"""Results across runs: run folders in the runner's layout (written by the runner itself, and by hand for the
cases a test cannot wait for), read back into one table, and the change since the last run of the same inputs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from perfdata import schema
from perfdata.audit.runs import change_since_previous, inputs_key, previous_run, read_counts, runs
from perfdata.report import analysis
from tests.conftest import RAW

RAW_HASHES = {"a.txt": "1" * 64, "b.txt": "2" * 64}


def findings(counts: dict[tuple[str, str], int]) -> pd.DataFrame:
    rows = [{"rule": rule, "severity": sev, "category": "consistency", "form_id": f"f-{k}"}
            for (rule, sev), n in counts.items() for k in range(n)]
    return schema.frame("anomalies", rows)


def write_run(root: Path, run_id: str, counts: dict, *, started: str, raw: dict | None = None, params=None,
              status: str = "ok", folder: str | None = None, english: bool = False, forms: int = 43) -> Path:
    """A run folder as runner.run_report leaves it: manifest.json with the runner's keys, the overview's
    tables/anomalies_by_rule.csv and table_rows.csv written by the report code (Chinese unless english)."""
    out = root / (folder or (run_id if status == "ok" else f"{run_id}-FAILED"))
    out.mkdir(parents=True)
    a = findings(counts)
    analysis.save_table(analysis.anomaly_counts(a, ["rule", "category"]), "anomalies_by_rule", out, "anomalies",
                        english=english)
    fake_forms = schema.frame("forms", [{"form_id": f"f{k}"} for k in range(forms)])
    analysis.save_table(analysis.table_rows({"forms": fake_forms, "anomalies": a}), "table_rows", out,
                        english=english)
    given = dict(params or {})
    manifest = {
        "run_id": run_id, "status": status, "run_date": started[:10] + " 06:00:00 UTC", "started": started,
        "finished": started, "seconds": 9.5,
        "command": ["perfdata", "run"], "data_dir": "/srv/perfdata/data/processed",
        "raw_dir": "/srv/perfdata/data/raw" if raw else None,
        "parameters": {"given": given, "notebooks": {"overview": {"run_id": run_id, **given}}},
        "inputs": {"data": {"forms.parquet": "f" * 64, "anomalies.parquet": "a" * 64}, "raw": raw or {}},
        "versions": {"python": "3.11.7", "perfdata": "0.1.0"}, "timings": {"workbook": 1.0},
        "notebooks": [{"name": "overview", "status": "ok" if status == "ok" else "failed", "seconds": 7.0,
                       "error": None}],
        "failed": [] if status == "ok" else ["notebook overview.ipynb failed at cell 4: KeyError: 'x'"],
        "outputs": sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    if status != "ok":
        (out / "FAILED").write_text("\n".join(manifest["failed"]) + "\n", encoding="utf-8")
    return out


@pytest.fixture
def reports(tmp_path):
    root = tmp_path / "reports"
    write_run(root, "20250101T060000Z", {("total_mismatch", "high"): 5, ("summary_mismatch", "high"): 15,
                                         ("copied_actual", "low"): 9}, started="2025-01-01T06:00:00+00:00",
              raw=RAW_HASHES)
    write_run(root, "20250102T060000Z", {("total_mismatch", "high"): 3, ("summary_mismatch", "high"): 15,
                                         ("copied_actual", "low"): 11, ("exec_low_unexplained", "medium"): 2},
              started="2025-01-02T06:00:00+00:00", raw=RAW_HASHES, english=True)
    write_run(root, "20250103T060000Z", {("total_mismatch", "high"): 1}, started="2025-01-03T06:00:00+00:00",
              raw=RAW_HASHES, status="failed")
    # the same file names, one of them republished with other bytes
    write_run(root, "20250104T060000Z", {("total_mismatch", "high"): 2}, started="2025-01-04T06:00:00+00:00",
              raw={"a.txt": "1" * 64, "b.txt": "3" * 64}, params={"years": "2024"})
    partial = root / ".20250105T060000Z.partial"
    (partial / "tables").mkdir(parents=True)
    (root / "interactive" / "charts").mkdir(parents=True)  # charts of a notebook opened by hand: not a run
    (root / "README.md").write_text("generated reports\n", encoding="utf-8")
    (root / "latest").symlink_to("20250104T060000Z", target_is_directory=True)
    return root


def test_runs_lists_every_run_folder_and_counts_only_complete_ones(reports):
    r = runs(reports)
    assert list(r.columns) == [c.name for c in schema.TABLES["runs"]]
    assert r.run_id.tolist() == ["20250101T060000Z", "20250102T060000Z", "20250103T060000Z", "20250104T060000Z",
                                 "20250105T060000Z"]
    assert r.status.tolist() == ["ok", "ok", "failed", "ok", "partial"]
    assert r.complete.tolist() == [True, True, False, True, False]
    assert r.folder.tolist()[2:] == ["20250103T060000Z-FAILED", "20250104T060000Z", ".20250105T060000Z.partial"]
    assert r.note.iloc[2] == "运行失败，不计入：notebook overview.ipynb failed at cell 4: KeyError: 'x'"
    assert r.note.iloc[4] == "未完成：.20250105T060000Z.partial，运行目录仍为隐藏的临时目录（正在写入或已中断），不计入"
    assert r.findings.tolist()[:2] == [29, 31] and pd.isna(r.findings.iloc[2]) and pd.isna(r.findings.iloc[4])
    assert r.findings_high.tolist()[:2] == [20, 18] and r.findings_medium.tolist()[:2] == [0, 2]
    assert r.rules_hit.tolist()[:2] == [3, 4] and r.forms.tolist()[:2] == [43, 43]
    assert r.latest.tolist() == [False, False, False, True, False]
    assert r.run_date.iloc[0] == "2025-01-01 06:00:00 UTC" and r.started.iloc[0] == "2025-01-01T06:00:00+00:00"
    assert r.input_files.iloc[0] == "a.txt; b.txt" and r.input_basis.iloc[0] == "raw"
    assert r.inputs_sha256.iloc[0] == r.inputs_sha256.iloc[1] != r.inputs_sha256.iloc[3]
    assert r.inputs_sha256.iloc[0] == inputs_key(RAW_HASHES)
    assert json.loads(r.parameters.iloc[3]) == {"years": "2024"} and r.parameters.iloc[0] == "{}"
    # Chinese headers and rule titles (the default) and English ones (--english) read the same
    assert json.loads(r.findings_by_rule.iloc[0])["total_mismatch"] == {"high": 5, "medium": 0, "low": 0}
    assert json.loads(r.findings_by_rule.iloc[1])["total_mismatch"] == {"high": 3, "medium": 0, "low": 0}


def test_change_since_the_previous_run_of_the_same_inputs(reports):
    r = runs(reports)
    c = change_since_previous(r, "20250102T060000Z")
    assert list(c.columns) == [c.name for c in schema.TABLES["run_changes"]]
    assert set(c.previous_run_id) == {"20250101T060000Z"} and set(c.matched_by) == {"hashes"}
    assert c.same_parameters.all()
    assert c[["rule", "severity", "previous", "current", "change"]].values.tolist() == [
        ["total_mismatch", "high", 5, 3, -2], ["exec_low_unexplained", "medium", 0, 2, 2],
        ["copied_actual", "low", 9, 11, 2], ["summary_mismatch", "high", 15, 15, 0]]  # largest change first
    # 04: other bytes in b.txt, so no earlier run of the same inputs (the failed 03 never counts) …
    first = change_since_previous(r, "20250104T060000Z")
    assert first.previous_run_id.isna().all() and first.change.isna().all() and first.current.tolist() == [2]
    # … but the same file names as 02
    by_name = change_since_previous(r, "20250104T060000Z", match="names")
    assert set(by_name.previous_run_id) == {"20250102T060000Z"} and not by_name.same_parameters.any()
    assert by_name.set_index("rule").change.to_dict() == {"copied_actual": -11, "summary_mismatch": -15,
                                                          "exec_low_unexplained": -2, "total_mismatch": -1}
    assert previous_run(r, "20250101T060000Z") is None


def test_incomplete_runs_and_bad_arguments(reports):
    r = runs(reports)
    for run_id in ("20250103T060000Z", "20250105T060000Z", "nope"):
        with pytest.raises(ValueError, match="no complete run"):
            change_since_previous(r, run_id)
    with pytest.raises(ValueError):
        change_since_previous(r, "20250102T060000Z", match="dates")
    assert len(runs(reports / "missing")) == 0


def test_a_complete_run_without_the_overview_table_is_listed_without_counts(reports):
    (reports / "20250102T060000Z" / "tables" / "anomalies_by_rule.csv").unlink()
    (reports / "20250101T060000Z" / "manifest.json").write_text("{not json", encoding="utf-8")
    r = runs(reports).set_index("run_id")
    two = r.loc["20250102T060000Z"]
    assert two.complete and pd.isna(two.findings) and "问题数未知" in two.note and two.forms == 43
    assert r.loc["20250101T060000Z", "status"] == "unreadable" and not r.loc["20250101T060000Z", "complete"]
    with pytest.raises(ValueError, match="no findings per rule"):
        change_since_previous(runs(reports), "20250102T060000Z")


def test_a_rule_title_no_rule_has_any_more_is_kept(tmp_path):
    path = tmp_path / "anomalies_by_rule.csv"
    path.write_text("\ufeff规则,类别,高,中,低,合计\n得分超过分值,表内一致性,1,0,0,1\n旧规则,完整性,0,2,0,2\n",
                    encoding="utf-8")
    assert read_counts(path) == {"score_above_weight": {"high": 1, "medium": 0, "low": 0},
                                 "旧规则": {"high": 0, "medium": 2, "low": 0}}
    assert read_counts(tmp_path / "missing.csv") is None


def _notebook(path: Path, body: str) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# 运行记录测试"),
                nbformat.v4.new_code_cell('data_dir: str = ""\noutput_dir: str = ""\nrun_id: str = ""\n'
                                          'run_date: str = ""\nenglish: bool = False',
                                          metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(body)]
    nbformat.write(nb, path)


def test_runs_reads_what_the_runner_writes(bundled, tmp_path):
    """The runner's own folder: a notebook writing the overview's two tables as the overview does, run by
    run_report on the bundled documents, then read back (a failed run's folder is the fixture's, above)."""
    pytest.importorskip("papermill")
    from perfdata import check, store
    from perfdata.report import runner

    data = tmp_path / "processed"
    found = check(bundled)
    store.write({**bundled, "anomalies": found}, data)
    books = tmp_path / "notebooks"
    books.mkdir()
    _notebook(books / "mini.ipynb", "import perfdata\nfrom perfdata.report import analysis\n"
              "t = perfdata.load(data_dir)\n"
              "analysis.save_table(analysis.anomaly_counts(t['anomalies'], ['rule', 'category']), 'anomalies_by_rule', "
              "output_dir, 'anomalies', english=english)\n"
              "analysis.save_table(analysis.table_rows(t), 'table_rows', output_dir, english=english)")
    out = tmp_path / "reports"
    res = runner.run_report(data, out, {}, raw_dir=RAW, run_id="first", notebooks=["mini"], notebook_dir=books,
                            jobs=1)
    assert res.status == "ok"
    r = runs(out)
    assert r.run_id.tolist() == ["first"]
    first = r.iloc[0]
    assert first.complete and first.latest and first.forms == 43 and first.findings == len(found)
    assert (first.findings_high, first.findings_medium, first.findings_low) == tuple(
        int((found.severity == s).sum()) for s in ("high", "medium", "low"))
    assert first.input_count == 4 and first.input_basis == "raw" and first.perfdata_version == "0.1.0"
    assert first.started == res.manifest["started"] and first.parameters == "{}"
    assert first.run_date == res.manifest.get("run_date")
    per_rule = json.loads(first.findings_by_rule)
    assert per_rule["summary_mismatch"]["high"] == int((found.rule == "summary_mismatch").sum())
    c = change_since_previous(r, "first")
    assert c.previous_run_id.isna().all() and int(c.current.sum()) == len(found)
    # a copy of the run a day later, on the same documents, is compared with it
    again = out / "again"
    shutil.copytree(out / "first", again)
    manifest = json.loads((again / "manifest.json").read_text(encoding="utf-8"))
    manifest |= {"run_id": "again", "started": "9999-01-01T00:00:00+00:00"}
    (again / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    c = change_since_previous(runs(out), "again")
    assert set(c.previous_run_id) == {"first"} and (c.change == 0).all()


def test_a_finished_run_left_hidden_is_not_counted(tmp_path):
    # killed while being put in place: the manifest is written, the folder still .<id>.partial
    write_run(tmp_path, "x", {("total_mismatch", "high"): 1}, started="2025-02-01T06:00:00+00:00",
              raw=RAW_HASHES, folder=".x.partial")
    (tmp_path / ".x.old").mkdir()  # the run it was replacing, moved aside: not a run to list
    r = runs(tmp_path)
    assert r.folder.tolist() == [".x.partial"] and r.status.tolist() == ["partial"]
    assert r.note.iloc[0] == "未完成：.x.partial，运行已结束但未放入位（放入时被中断，下次运行会补上），不计入"
    assert pd.isna(r.findings.iloc[0]) and r.started.iloc[0] == "2025-02-01T06:00:00+00:00"
