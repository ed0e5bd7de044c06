"""Warm report kernels (perfdata/report/kernels.py): started before the data exists, handed their notebook,
and shut down whatever happens to the run."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import nbformat
import pytest

from perfdata import cli, store
from perfdata.report import kernels, runner


def kernel_processes() -> list[int]:
    """Live ipykernel processes started by this process (Linux /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == os.getpid() and fields[0] != "Z" and b"ipykernel" in cmdline:
            out.append(int(entry.name))
    return out


def settled(probe, timeout: float = 30.0):
    """Wait until `probe()` is falsy (a kernel takes a moment to exit), then return its last value."""
    t0 = time.perf_counter()
    while (value := probe()) and time.perf_counter() - t0 < timeout:
        time.sleep(0.2)
    return value


PROBE = [
    'data_dir: str = "."  # tables\noutput_dir: str = "."  # where the run writes',
    # the first cell asks whether pandas was imported before the notebook imported it
    "import os\nimport sys\n\nwarm = 'pandas' in sys.modules\nimport pandas as pd\n"
    "from perfdata.report import plots\nimport perfdata",
    "print(f'warm={warm} cwd={os.getcwd()} forms={len(perfdata.load(data_dir)[\"forms\"])}')",
]


@pytest.fixture
def probe(tmp_path, bundled):
    """A one-notebook report folder: the notebook says whether its kernel was warm, and where it runs."""
    nbdir = tmp_path / "nb"
    nbdir.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(PROBE[0], metadata={"tags": ["parameters"]}),
                *(nbformat.v4.new_code_cell(c) for c in PROBE[1:])]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, nbdir / "probe.ipynb")
    store.write({k: bundled[k] for k in ("forms", "indicators", "funding", "files")}, tmp_path / "data")
    return nbdir


def printed(folder: Path) -> str:
    nb = nbformat.read(folder / "probe.ipynb", as_version=4)
    return "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))


def report_on_warm_kernels(tmp_path, probe, notebooks: dict):
    """run_report of the probe notebook, handed kernels started for `notebooks` (closed whatever happens)."""
    warm = kernels.WarmKernels(notebooks)
    try:
        return runner.run_report(tmp_path / "data", tmp_path / "reports", {}, run_id="r", notebook_dir=probe,
                                 notebooks=["probe"], kernels=warm)
    finally:
        warm.close()


def test_imported_modules_of_the_report_notebooks():
    mods = kernels.imported_modules(runner.NOTEBOOK_DIR / "overview.ipynb")
    assert mods[:4] == ["json", "datetime", "datetime.UTC", "datetime.datetime"]  # tried, skipped when not modules
    assert {"pandas", "IPython.display", "perfdata.audit", "perfdata.report.excel",
            "perfdata.audit.digits"} <= set(mods)


def test_a_notebook_runs_on_its_warm_kernel_in_the_run_folder(tmp_path, probe):
    res = report_on_warm_kernels(tmp_path, probe, {"probe": probe / "probe.ipynb"})
    assert res.status == "ok", res.manifest["failed"]
    assert printed(res.folder) == f"warm=True cwd={tmp_path / 'reports' / '.r.partial'} forms=43\n"
    assert 0 < res.manifest["timings"]["kernel:probe"] < 60
    assert settled(kernel_processes) == []


def test_without_warm_kernels_the_notebook_starts_its_own(tmp_path, probe):
    res = runner.run_report(tmp_path / "data", tmp_path / "reports", {}, run_id="r", notebook_dir=probe,
                            notebooks=["probe"])
    assert res.status == "ok"
    assert printed(res.folder) == f"warm=False cwd={tmp_path / 'reports' / '.r.partial'} forms=43\n"
    assert "kernel:probe" not in res.manifest["timings"]


def test_notebooks_run_side_by_side_leave_this_process_where_it_was(tmp_path, probe, monkeypatch):
    """Each kernel starts in the run folder; this process stays where it was (papermill's `cwd` moved the whole
    process, and two notebooks in threads left it inside a run folder: relative paths then read nothing)."""
    shutil.copy(probe / "probe.ipynb", probe / "probe2.ipynb")
    monkeypatch.chdir(tmp_path)
    for run_id in ("a", "b", "c"):
        res = runner.run_report("data", "reports", {}, run_id=run_id, notebook_dir=probe,
                                notebooks=["probe", "probe2"], jobs=2)
        assert res.status == "ok" and Path.cwd() == tmp_path
    assert printed(res.folder) == f"warm=False cwd={tmp_path / 'reports' / '.c.partial'} forms=43\n"


def test_a_kernel_that_cannot_warm_up_leaves_the_notebook_to_start_its_own(tmp_path, probe, monkeypatch):
    async def broken(km, code):
        await km.start_kernel()
        raise RuntimeError("the imports failed")

    monkeypatch.setattr(kernels, "_warm_up", broken)
    res = report_on_warm_kernels(tmp_path, probe, {"probe": probe / "probe.ipynb"})
    assert res.status == "ok" and printed(res.folder).startswith("warm=False cwd=")
    assert "kernel:probe" not in res.manifest["timings"]
    assert res.manifest["notebooks"][0]["warm_kernel_error"] == "RuntimeError: the imports failed"
    assert settled(kernel_processes) == []  # the one that failed to warm up was stopped


def test_kernels_for_other_notebooks_are_not_used_and_are_shut_down(tmp_path, probe):
    res = report_on_warm_kernels(tmp_path, probe, {"forms": runner.NOTEBOOK_DIR / "forms.ipynb"})
    assert res.status == "ok" and printed(res.folder).startswith("warm=False")
    assert settled(kernel_processes) == []


def test_a_run_that_stops_before_its_report_shuts_its_kernels_down(tmp_path, capsys):
    raw = tmp_path / "raw"
    raw.mkdir()
    assert cli.main(["run", str(raw), "--processed", str(tmp_path / "p"), "--out", str(tmp_path / "r")]) == 2
    assert "no documents to read" in capsys.readouterr().err
    assert settled(kernel_processes) == []
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


def test_a_parameter_error_stops_the_kernels_mid_start_and_says_so_at_once(tmp_path, capsys):
    from tests.conftest import RAW

    t0 = time.perf_counter()
    code = cli.main(["run", str(RAW), "--processed", str(tmp_path / "p"), "--out", str(tmp_path / "r"),
                     "--param", "no_such_parameter=1"])
    seconds = time.perf_counter() - t0
    assert code == 2 and "no_such_parameter" in capsys.readouterr().err
    assert settled(kernel_processes) == []
    assert seconds < 10  # not the kernels' whole start and imports (about 3.5 s each, on a loaded machine more)
    assert not (tmp_path / "p").exists()


def test_a_kernel_that_dies_before_it_answers_is_started_again_once(tmp_path, probe, monkeypatch):
    """Two kernels started side by side can be given the same free port, and the second dies before it
    answers ("Address already in use"): it ran no cell, so it is started again, once, and the manifest
    says so. A kernel that dies again fails its notebook as before."""
    import papermill

    real, calls = papermill.execute_notebook, []

    def dies_first(*args, **kw):
        calls.append(1)
        if len(calls) <= fails:
            raise RuntimeError(runner.KERNEL_DIED)
        return real(*args, **kw)

    monkeypatch.setattr(papermill, "execute_notebook", dies_first)
    fails = 1
    res = runner.run_report(tmp_path / "data", tmp_path / "reports", {}, run_id="r", notebook_dir=probe,
                            notebooks=["probe"])
    assert res.status == "ok" and len(calls) == 2
    assert res.manifest["notebooks"][0]["kernel_restarts"] == 1
    assert printed(res.folder) == f"warm=False cwd={tmp_path / 'reports' / '.r.partial'} forms=43\n"
    calls.clear()
    fails = 2
    res = runner.run_report(tmp_path / "data", tmp_path / "reports", {}, run_id="s", notebook_dir=probe,
                            notebooks=["probe"])
    assert res.status == "failed" and len(calls) == 2
    assert res.manifest["notebooks"][0]["error"]["evalue"] == runner.KERNEL_DIED
