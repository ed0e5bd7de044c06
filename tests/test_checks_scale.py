"""The checks as column operations and joins: a batch of several copies of the bundled documents gives every
copy the findings the documents give alone, in the same order (no finding leaks into another copy's forms,
files or summaries), and the rescoring of a copy is the rescoring of the original."""

from __future__ import annotations

import pandas as pd
import pytest

from perfdata.checks import check_all

IDS = ("form_id", "summary_id", "dept_form_id", "target_id")


def _copy(tables: dict[str, pd.DataFrame], tag: str) -> dict[str, pd.DataFrame]:
    """The tables under other ids, files and a region of their own (another county's identical documents)."""
    out = {}
    for name, df in tables.items():
        df = df.copy()
        for c in IDS:
            if c in df:
                df[c] = (df[c] + tag).astype(df[c].dtype)
        if "source_file" in df:
            df["source_file"] = (tag + "/" + df["source_file"]).astype(df["source_file"].dtype)
        if "region" in df:
            df["region"] = (df["region"] + tag).astype(df["region"].dtype)
        out[name] = df
    return out


def _back(df: pd.DataFrame, tag: str) -> pd.DataFrame:
    """A copy's rows with the original ids, files and region."""
    df = df.copy()
    for c in (*IDS, "region"):
        if c in df:
            df[c] = df[c].str.removesuffix(tag)
    df["source_file"] = df["source_file"].str.removeprefix(tag + "/")
    if "field" in df:  # a target table's finding names its table: target_raw[<target_id>]
        df["field"] = df["field"].str.replace(tag + "]", "]", regex=False)
    return df.reset_index(drop=True)


@pytest.fixture(scope="module")
def batch(bundled, tmp_path_factory):
    empty = tmp_path_factory.mktemp("no-raw")  # no evidence: the copies' files do not exist
    alone = check_all(bundled, raw_dir=empty)
    copies = [bundled, _copy(bundled, "-b"), _copy(bundled, "-c")]
    tables = {name: pd.concat([c[name] for c in copies], ignore_index=True) for name in bundled}
    return alone, check_all(tables, raw_dir=empty)


@pytest.mark.parametrize("tag", ["-b", "-c"])
def test_every_copy_has_the_findings_of_the_documents_alone(batch, tag):
    alone, together = batch
    a = together["anomalies"]
    mine = a[a.source_file.str.startswith(tag + "/").fillna(False)]
    assert len(a) == 3 * len(alone["anomalies"])
    pd.testing.assert_frame_equal(_back(mine, tag), alone["anomalies"], check_exact=True)


def test_the_original_is_unchanged_in_the_batch(batch):
    alone, together = batch
    a = together["anomalies"]
    first = a[~a.source_file.str.contains("/", regex=False).fillna(False)].reset_index(drop=True)
    pd.testing.assert_frame_equal(first, alone["anomalies"], check_exact=True)


@pytest.mark.parametrize("table", ["rescored_forms", "rescored_indicators"])
def test_rescoring_of_a_copy(batch, table):
    alone, together = batch
    t = together[table]
    mine = t[t.source_file.str.startswith("-c/").fillna(False)]
    assert len(t) == 3 * len(alone[table])
    pd.testing.assert_frame_equal(_back(mine, "-c"), alone[table].reset_index(drop=True), check_exact=True)



@pytest.mark.parametrize("backend", ["jemalloc", "mimalloc", "system"])
def test_the_checks_allocate_with_malloc_and_give_the_allocator_back(bundled, tmp_path, monkeypatch, backend):
    """The checks and the rescoring allocate with the system allocator while they run (see
    scoring._system_allocator), and leave the process's own in place after, also after an error."""
    import pyarrow as pa

    from perfdata import scoring

    if backend not in pa.supported_memory_backends():
        pytest.skip(f"this pyarrow has no {backend}")
    seen = []
    inner = scoring.rescore_indicators

    def spy(*args, **kwargs):
        seen.append(pa.default_memory_pool().backend_name)
        return inner(*args, **kwargs)
    monkeypatch.setattr(scoring, "rescore_indicators", spy)
    before = pa.default_memory_pool()
    try:
        pa.set_memory_pool(getattr(pa, f"{backend}_memory_pool")())
        check_all(bundled, raw_dir=tmp_path)
        assert seen == ["system"]
        assert pa.default_memory_pool().backend_name == backend
        with pytest.raises(KeyError):
            scoring.rescore({"forms": bundled["forms"]})  # no indicators: fails inside
        assert pa.default_memory_pool().backend_name == backend
    finally:
        pa.set_memory_pool(before)
