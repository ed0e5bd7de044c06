"""The partitioned dataset: the same tables as the in-memory ingest, re-runs that read only what changed,
filters pushed down, checks per unit, and the reading on other executors."""

import importlib
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest
from conftest import GUYUAN, RAW, XIANGHE, XINGLONG, XINXIANG

from perfdata import check, dataset
from perfdata.ingest import ingest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_ingest  # noqa: E402 - the benchmark's corpus generator

ingest_module = importlib.import_module("perfdata.ingest")  # perfdata.ingest is also the function


def same_tables(got: dict, want: dict, names=None):
    for name in names or want:
        pd.testing.assert_frame_equal(got[name], want[name], obj=name)


def in_memory(raw, **kw) -> dict:
    return dataset.in_file_order(ingest(raw, progress=False, **kw))


@pytest.fixture(scope="module")
def bundled_tables():
    return in_memory(RAW, jobs=1)


@pytest.fixture(scope="module")
def bundled_dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("ds") / "bundled"
    ingest(RAW, out=out, partitioned=True, progress=False)
    return out


@pytest.fixture
def corpus(tmp_path):
    """40 files of 5 generated forms each, many with forms of several regions and years."""
    raw = tmp_path / "corpus"
    bench_ingest.build_corpus(raw, bench_ingest.load_forms(RAW), 200, 5, seed=3)
    return raw


def test_the_dataset_holds_the_bundled_tables(bundled_dataset, bundled_tables):
    same_tables(dataset.load(bundled_dataset), bundled_tables)
    files = {p.relative_to(bundled_dataset).parts[0] for p in bundled_dataset.rglob("*.parquet")}
    assert {"forms", "indicators", "files", "problems", "_staged"} <= files
    assert (bundled_dataset / "forms" / "region=兴隆县" / "year=2024").is_dir()


def test_a_generated_corpus_in_batches_of_several_files(corpus, tmp_path):
    out = tmp_path / "ds"
    summary = ingest(corpus, out=out, partitioned=True, jobs=1, progress=False)
    want = in_memory(corpus, jobs=2)
    same_tables(dataset.load(out), want)
    assert (summary.forms, summary.read, summary.reused) == (200, 40, 0)
    manifest = dataset.read_manifest(out)
    assert max(len(b["files"]) for b in manifest["batches"].values()) == 5  # 40 files // 8
    assert sum(len(e["groups"]) > 1 for e in manifest["files"]) >= 5  # files with forms of several groups


def test_a_rerun_reads_only_what_changed_and_drops_what_is_gone(corpus, tmp_path):
    out = tmp_path / "ds"
    ingest(corpus, out=out, partitioned=True, jobs=1, progress=False)
    again = ingest(corpus, out=out, partitioned=True, jobs=1, progress=False)
    assert (again.read, again.reused, again.removed) == (0, 40, 0)
    names = sorted(p.name for p in corpus.glob("*.txt"))
    text = (corpus / names[3]).read_text(encoding="utf-8")
    (corpus / names[3]).write_text(text.replace("-000015", "-changed"), encoding="utf-8")
    (corpus / names[7]).unlink()
    shutil.copy(corpus / names[0], corpus / "zz-副本.txt")  # a copy: not read, listed as a duplicate
    summary = ingest(corpus, out=out, partitioned=True, jobs=1, progress=False)
    assert (summary.read, summary.changed, summary.reused, summary.removed, summary.duplicates) == (1, 1, 38, 1, 1)
    got = dataset.load(out)
    same_tables(got, in_memory(corpus, jobs=1))
    assert got["forms"].project_name.str.endswith("-changed").sum() == 1
    assert names[7] not in set(got["files"].source_file) and names[7] not in set(got["forms"].source_file)
    # the parts of the last run that held the changed and the deleted file are gone
    listed = {p for b in dataset.read_manifest(out)["batches"].values() for p in b["parts"]}
    on_disk = {str(p.relative_to(out)) for p in out.rglob("*.parquet") if p.name.startswith("part-")}
    assert on_disk == listed


def test_other_rules_read_everything_again(corpus, tmp_path, monkeypatch):
    out = tmp_path / "ds"
    ingest(corpus, out=out, partitioned=True, jobs=1, progress=False)
    monkeypatch.setattr(dataset, "rules_version", lambda: "other")
    summary = ingest(corpus, out=out, partitioned=True, jobs=1, progress=False)
    assert (summary.read, summary.reused) == (40, 0)
    same_tables(dataset.load(out), in_memory(corpus, jobs=1))


def test_a_messy_batch(tmp_path):
    """Failed files, copies and symbolic links that are not followed: the same files and problems rows."""
    raw = tmp_path / "raw"
    raw.mkdir()
    for name in (XINGLONG, XIANGHE):
        shutil.copy(RAW / name, raw / name)
    shutil.copy(RAW / XINGLONG, raw / "a-副本.txt")
    (raw / "empty.txt").write_bytes(b"")
    (raw / "narrative.txt").write_text("一、项目支出基本情况\n本单位项目支出由 3 个项目构成。\n", encoding="utf-8")
    (raw / "gone.txt").symlink_to(tmp_path / "nowhere.txt")
    (raw / "sub").mkdir()
    (raw / "subdir").symlink_to(raw / "sub", target_is_directory=True)
    out = tmp_path / "ds"
    summary = ingest(raw, out=out, partitioned=True, progress=False)
    same_tables(dataset.load(out), in_memory(raw))
    assert summary.duplicates == 1 and summary["files"].status.value_counts()["failed"] == 3
    again = ingest(raw, out=out, partitioned=True, progress=False)
    assert again.reused == 4 and again.read == 0  # the two documents and the two files that failed to read
    same_tables(dataset.load(out), in_memory(raw))


def test_filters_are_pushed_down_and_keep_the_files_of_the_rows_kept(bundled_dataset, bundled_tables):
    for kw in ({"years": [2024]}, {"regions": ["新乡县", "香河县"]}, {"years": 2024, "regions": "固原市"},
               {"years": [1999]}):
        same_tables(dataset.load(bundled_dataset, **kw), dataset.select(bundled_tables, **kw))
    t = dataset.load(bundled_dataset, years=[2024], tables=["forms", "files", "problems"])
    assert set(t) == {"forms", "files", "problems"}
    assert set(t["forms"].region) == {"兴隆县", "固原市"} and set(t["files"].source_file) == {XINGLONG, GUYUAN}
    assert dataset.load(bundled_dataset, years=[1999])["forms"].empty
    with pytest.raises(ValueError, match="unknown table"):
        dataset.load(bundled_dataset, tables=["nope"])


def test_rows_without_a_record_take_their_files_group(bundled_dataset):
    t = dataset.load(bundled_dataset, regions=["香河县"])
    assert set(t["targets"].source_file) == {XIANGHE} and len(t["statements"]) > 0
    assert set(t["statements"].source_file) == {XIANGHE} and t["forms"].empty
    dept = dataset.load(bundled_dataset, years=[2021])
    assert set(dept["department_forms"].source_file) == set(dept["summary_rows"].source_file) == {XINXIANG}


def test_check_per_unit_equals_the_whole_check(bundled_dataset, bundled_tables):
    whole = check(bundled_tables, RAW)
    parts = dataset.check_partitions(bundled_dataset, raw_dir=RAW)
    assert len(whole) > 50
    pd.testing.assert_frame_equal(parts, whole)
    units = dataset._units(dataset.read_manifest(bundled_dataset)["files"])
    assert sorted(map(tuple, (u.groups for u in units))) == [
        (("兴隆县", 2024),), (("固原市", 2024),), (("新乡县", 2021),), (("香河县", 2023),)]
    tighter = dataset.check_partitions(bundled_dataset, raw_dir=RAW, exec_rate_threshold=95)
    pd.testing.assert_frame_equal(tighter, check(bundled_tables, RAW, exec_rate_threshold=95))


def test_units_join_groups_through_files_and_departments():
    entries = [
        {"name": "a", "groups": [["甲县", 2024], ["乙县", 2024]], "depts": [], "linked": 0},
        {"name": "b", "groups": [["乙县", 2024]], "depts": [], "linked": 2},
        {"name": "c", "groups": [["丙县", 2023]], "depts": [[2023, "人社局", "丙县"]], "linked": 1},
        {"name": "d", "groups": [[None, 2023]], "depts": [[2023, "人社局", None]], "linked": 0},
        {"name": "e", "groups": [["丁县", 2021]], "depts": [], "linked": 0},
        {"name": "f", "groups": [], "depts": [], "linked": 0},
    ]
    units = {tuple(u.files): (u.groups, u.linked) for u in dataset._units(entries)}
    assert units == {("a", "b"): ([("乙县", 2024), ("甲县", 2024)], 2),
                     ("c", "d"): ([("丙县", 2023), (None, 2023)], 1), ("e",): ([("丁县", 2021)], 0)}


def test_a_batch_written_twice_gives_the_same_part_files(tmp_path):
    """A retried task writes the same files (named by the rules and the files' names and bytes)."""
    args = [(RAW / XINXIANG, XINXIANG), (RAW / GUYUAN, GUYUAN)]
    first = dataset.write_batch(str(tmp_path), "r1", [ingest_module._read_one(a) for a in args])
    before = {p: p.read_bytes() for p in tmp_path.rglob("*.parquet")}
    second = dataset.write_batch(str(tmp_path), "r1", [ingest_module._read_one(a) for a in args])
    assert first[0].parts == second[0].parts and {p: p.read_bytes() for p in tmp_path.rglob("*.parquet")} == before
    assert first[0].batch == second[1].batch and len(set(first[0].parts)) == len(first[0].parts)
    assert dataset.write_batch(str(tmp_path), "r2", [ingest_module._read_one(args[0])])[0].batch != first[0].batch


@pytest.mark.parametrize("make", [lambda: ThreadPoolExecutor(2), lambda: ProcessPoolExecutor(2)],
                         ids=["threads", "processes"])
def test_any_executor_reads_the_same_tables(make, bundled_tables, tmp_path):
    with make() as ex:
        same_tables(dataset.in_file_order(ingest(RAW, executor=ex, progress=False)), bundled_tables)
        summary = ingest(RAW, executor=ex, out=tmp_path / "ds", partitioned=True, progress=False)
        assert summary.read == 4
        same_tables(dataset.load(tmp_path / "ds"), bundled_tables)
        pd.testing.assert_frame_equal(dataset.check_partitions(tmp_path / "ds", executor=ex, raw_dir=RAW),
                                      check(bundled_tables, RAW))


def test_a_task_over_the_time_limit_costs_its_file_on_an_executor(tmp_path, monkeypatch, bundled_tables):
    raw = tmp_path / "raw"
    shutil.copytree(RAW, raw)
    (raw / "slow.txt").write_text("项目名称", encoding="utf-8")
    real = ingest_module.read_grid

    def reader(data, source_file=""):
        if source_file == "slow.txt":
            time.sleep(4)
        return real(data, source_file)

    monkeypatch.setattr(ingest_module, "read_grid", reader)
    with ThreadPoolExecutor(2) as ex:
        t0 = time.monotonic()
        t = ingest(raw, executor=ex, file_timeout=1, progress=False)
        assert time.monotonic() - t0 < 4
    p = t["problems"][t["problems"].source_file == "slow.txt"]
    assert p.severity.tolist() == ["error"] and "time limit of 1 s per file" in p.message.iloc[0]
    good = dataset.in_file_order(t)["forms"]
    pd.testing.assert_frame_equal(good[good.source_file != "slow.txt"].reset_index(drop=True),
                                  bundled_tables["forms"])


def test_a_failed_task_is_retried_file_by_file(tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    shutil.copytree(RAW, raw)
    calls = []
    real = ingest_module._read_one

    def read_one(a):
        calls.append(a[1])
        if a[1] == XIANGHE and len(calls) < 4:
            raise KeyboardInterrupt  # not a reader's exception: the task itself fails
        return real(a)

    monkeypatch.setattr(ingest_module, "_read_one", read_one)
    with ThreadPoolExecutor(1) as ex:
        t = ingest(raw, executor=ex, progress=False, jobs=1)
    assert t["files"].status.tolist().count("failed") == 1
    err = t["problems"][t["problems"].source_file == XIANGHE].message.iloc[0]
    assert "failed on the executor (KeyboardInterrupt" in err
    assert len(t["forms"]) == 43


def test_an_empty_folder_leaves_the_dataset_as_it_was(bundled_dataset, tmp_path):
    before = dataset.read_manifest(bundled_dataset)
    (tmp_path / "raw").mkdir()
    summary = ingest(tmp_path / "raw", out=bundled_dataset, partitioned=True, progress=False)
    assert summary["files"].empty and dataset.read_manifest(bundled_dataset) == before


def test_other_tools_read_the_partitions_as_they_are(bundled_dataset):
    import pyarrow.dataset as pads

    forms = pads.dataset(bundled_dataset / "forms", partitioning="hive").to_table(filter=pads.field("year") == 2024)
    assert forms.num_rows == 32 and set(forms.column("region").to_pylist()) == {"兴隆县", "固原市"}


def test_partitioned_needs_a_folder_and_load_a_dataset(tmp_path):
    with pytest.raises(ValueError, match="needs out="):
        ingest(RAW, partitioned=True)
    with pytest.raises(FileNotFoundError, match="_dataset.json"):
        dataset.load(tmp_path)


def test_out_without_partitions_writes_the_flat_tables(tmp_path, bundled_tables):
    from perfdata import load

    t = ingest(RAW / XINGLONG, out=tmp_path / "flat", progress=False)
    assert (tmp_path / "flat" / "forms.parquet").exists()
    pd.testing.assert_frame_equal(load(tmp_path / "flat")["forms"], t["forms"])


def test_the_summary_says_what_was_read_and_reused(tmp_path):
    ingest(RAW, out=tmp_path, partitioned=True, progress=False)
    summary = ingest(RAW, out=tmp_path, partitioned=True, progress=False)
    text = summary.text()
    assert "read 0 (changed 0), reused 4" in text and "forms           43" in text
    assert summary["files"].source_file.tolist() == sorted(p.name for p in RAW.iterdir())
    assert summary.units == 4 and str(tmp_path) in text


FILTERS = [{"years": [2024]}, {"regions": ["新乡县", "香河县"]}, {"years": 2024, "regions": "固原市"},
           {"years": [2023, 2021]}, {"years": [1999]}]


def test_perfdata_load_reads_a_dataset_as_the_ingest_returned_the_tables(bundled_dataset):
    """On the bundled documents the dataset's order is the ingest's: perfdata.load gives the same frames."""
    from perfdata import load

    want = ingest(RAW, jobs=1, progress=False)
    got = load(bundled_dataset)
    assert set(got) == set(want)
    for name in want:
        pd.testing.assert_frame_equal(got[name], want[name].reset_index(drop=True), obj=name)


@pytest.mark.parametrize("kw", FILTERS, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()))
def test_perfdata_load_filters_a_dataset_and_flat_tables_alike(kw, bundled_dataset, bundled_tables, tmp_path):
    from perfdata import load, store

    store.write(bundled_tables, tmp_path / "flat")
    got = load(bundled_dataset, **kw)
    same_tables(got, dataset.select(bundled_tables, **kw))
    same_tables(load(tmp_path / "flat", **kw), got)
    some = load(tmp_path / "flat", tables=["indicators", "files"], **kw)
    assert set(some) == {"indicators", "files"}
    same_tables(some, got, ["indicators", "files"])


def test_perfdata_load_opens_only_the_partitions_asked_for(bundled_dataset, tmp_path):
    """Parts of other regions are never opened: here they are not even Parquet any more."""
    from perfdata import load

    out = tmp_path / "ds"
    shutil.copytree(bundled_dataset, out)
    want = load(out, regions=["兴隆县"])
    for part in out.rglob("*.parquet"):
        if "region=兴隆县" not in part.as_posix() and part.parts[len(out.parts)] not in ("files", "problems"):
            part.write_bytes(b"not parquet")
    same_tables(load(out, regions=["兴隆县"]), want)
    assert len(want["forms"]) == 24
    with pytest.raises(Exception):  # noqa: B017 - pyarrow's own error for a broken file
        load(out, regions=["固原市"])


def test_tables_beside_the_ingests_keep_the_rows_of_the_forms_kept(bundled_dataset, bundled_tables, tmp_path):
    """anomalies.parquet (perfdata check) beside flat tables or beside a dataset: filtered by the forms kept."""
    from perfdata import load, store

    found = check(bundled_tables, RAW)
    store.write({**bundled_tables, "anomalies": found}, tmp_path / "flat")
    ds_dir = tmp_path / "ds"
    shutil.copytree(bundled_dataset, ds_dir)
    store.write({"anomalies": found}, ds_dir)
    kept = set(dataset.select(bundled_tables, regions=["兴隆县"])["forms"].form_id)
    want = found[found.form_id.isin(kept) | (found.form_id.isna() & (found.source_file == XINGLONG))]
    want = want.reset_index(drop=True)
    assert 0 < len(want) < len(found)
    for where in (tmp_path / "flat", ds_dir):
        pd.testing.assert_frame_equal(load(where, regions=["兴隆县"])["anomalies"], want)
        pd.testing.assert_frame_equal(load(where, tables=["anomalies"])["anomalies"], found)
        assert list(load(where, regions="兴隆县", tables=["anomalies", "forms"])) == ["anomalies", "forms"]


def test_the_ingests_tables_are_not_written_over_a_dataset(bundled_dataset, bundled_tables):
    from perfdata import store

    with pytest.raises(ValueError, match="holds a partitioned dataset"):
        store.write(bundled_tables, bundled_dataset)


def test_a_dataset_is_not_written_over_flat_tables(tmp_path):
    ingest(RAW / XINGLONG, out=tmp_path, progress=False)
    with pytest.raises(ValueError, match="holds flat tables"):
        ingest(RAW, out=tmp_path, partitioned=True, progress=False)


def test_cli_partitioned_rerun_says_reused(tmp_path, capsys):
    from perfdata.cli import main

    assert main(["ingest", str(RAW), "--out", str(tmp_path), "--partitioned"]) == 0
    assert main(["ingest", str(RAW), "--out", str(tmp_path), "--partitioned"]) == 0
    assert "reused 4" in capsys.readouterr().out


def test_check_all_per_unit_equals_the_whole(bundled_dataset, bundled_tables, corpus, tmp_path):
    """The anomalies and both rescored tables, unit by unit, as on the whole: the bundled documents (four units)
    and a generated corpus of 200 forms over many regions and years (batches of several files)."""
    from perfdata.checks import check_all

    same_tables(dataset.check_all_partitions(bundled_dataset, raw_dir=RAW), check_all(bundled_tables, RAW))
    ingest(corpus, out=tmp_path / "ds", partitioned=True, progress=False)
    units = dataset._units(dataset.read_manifest(tmp_path / "ds")["files"])
    assert len(units) >= 2  # files holding forms of several regions join their groups into one unit
    same_tables(dataset.check_all_partitions(tmp_path / "ds", raw_dir=corpus),
                check_all(in_memory(corpus, jobs=1), corpus))


def test_cli_check_on_a_dataset_checks_it_unit_by_unit(bundled_dataset, bundled_tables, tmp_path, capsys):
    from perfdata import store
    from perfdata.checks import check_all
    from perfdata.cli import main

    ds = tmp_path / "ds"
    shutil.copytree(bundled_dataset, ds)
    assert main(["check", str(ds), "--raw", str(RAW)]) == 0
    said = capsys.readouterr()
    assert "117 findings" in said.out and "按地区和年度分组" in said.out + said.err
    want = check_all(bundled_tables, RAW)
    for name in ("anomalies", "rescored_forms", "rescored_indicators"):
        got = store.load(ds, tables=[name])[name]
        pd.testing.assert_frame_equal(got, store.load(_flat(tmp_path, want), tables=[name])[name], obj=name)
    flat = tmp_path / "flat"
    ingest(RAW, out=flat, progress=False)
    assert main(["check", str(flat), "--cluster", "tcp://127.0.0.1:1"]) == 2
    assert "--cluster checks a partitioned dataset" in capsys.readouterr().err


def _flat(tmp_path, tables: dict) -> Path:
    """TABLES written and read back as flat Parquet (what a check writes beside its tables)."""
    from perfdata import store

    out = tmp_path / "want"
    store.write(tables, out, "parquet")
    return out
