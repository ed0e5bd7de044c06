"""The ingest and the checks on a real dask.distributed cluster (two worker processes on this machine): the
same tables and findings as the local run."""

import pandas as pd
import pytest
from conftest import RAW

from perfdata import check, dataset
from perfdata.ingest import ingest

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None,
                                  silence_logs=40) as c, distributed.Client(c) as client:
        yield c, client


@pytest.fixture(scope="module")
def local():
    return dataset.in_file_order(ingest(RAW, jobs=1, progress=False))


def same(got, want):
    for name in want:
        pd.testing.assert_frame_equal(got[name], want[name], obj=name)


def test_the_cluster_reads_the_same_tables(cluster, local):
    _, client = cluster
    same(dataset.in_file_order(ingest(RAW, executor=client.get_executor(), progress=False)), local)


def test_workers_write_the_dataset_and_check_it_per_unit(cluster, local, tmp_path):
    c, client = cluster
    summary = ingest(RAW, cluster=c.scheduler_address, out=tmp_path, partitioned=True, progress=False)
    assert (summary.read, summary.forms, summary.units) == (4, 43, 4)
    same(dataset.load(tmp_path), local)
    # the parts were written by the worker processes (this process never wrote a batch)
    assert all(client.run(lambda: __import__("sys").modules.get("perfdata.dataset") is not None).values())
    assert len(client.run(lambda: 0)) == 2
    again = ingest(RAW, executor=client.get_executor(), out=tmp_path, partitioned=True, progress=False)
    assert (again.read, again.reused) == (0, 4) and "reused 4" in again.text()
    found = dataset.check_partitions(tmp_path, executor=client.get_executor(), raw_dir=RAW)
    pd.testing.assert_frame_equal(found, check(local, RAW))


def test_workers_under_other_rules_are_refused(cluster, tmp_path, monkeypatch):
    """Workers with another perfdata would label their parts with this process's rules: nothing is read."""
    _, client = cluster
    monkeypatch.setattr(dataset, "rules_version", lambda: "0.0.0-elsewhere")
    with pytest.raises(ValueError, match="2 dask worker"):
        ingest(RAW, executor=client.get_executor(), out=tmp_path, partitioned=True, progress=False)
    assert not (tmp_path / dataset.MANIFEST).exists()
