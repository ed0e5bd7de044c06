"""Run folders of `perfdata run` / `perfdata report`: run ids checked first, one run at a time per reports folder,
a re-used run id replaced in steps that survive a kill at any of them, leftovers of killed runs put right, and
`latest` only ever on a complete run; the exit status of each outcome."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import sys
import threading
import time
import types

import nbformat
import pytest

from perfdata import cli, schema, store
from perfdata.report import runner
from tests.conftest import GUYUAN, RAW

# -- helpers ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def data(tmp_path_factory, bundled):
    """The bundled forms as a tables folder (what `perfdata report` reads)."""
    folder = tmp_path_factory.mktemp("data")
    store.write({k: bundled[k] for k in ("forms", "files")}, folder)
    return folder


@pytest.fixture()
def tiny(tmp_path, monkeypatch):
    """A notebook folder with one notebook `tiny` and a stand-in for papermill that writes a few files slowly:
    the run folder mechanics without starting kernels."""
    nbdir = tmp_path / "nb"
    nbdir.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        'data_dir: str = "."  # tables\noutput_dir: str = "."  # out\nrun_id: str = ""  # id\n'
        'run_date: str = ""  # date\nyears: list = []  # years\nregions: list = []  # regions\n'
        'departments: list = []  # departments\nfail: bool = False  # fail the notebook',
        metadata={"tags": ["parameters"]})]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, nbdir / "tiny.ipynb")
    calls = []

    def execute(name, src, folder, params, kernel, timeout, bar=False, km=None):
        calls.append(params)
        (folder / "tables").mkdir(exist_ok=True)
        for k in range(5):
            (folder / "tables" / f"t{k}.csv").write_text(f"{params['run_id']},{k}\n", encoding="utf-8")
            time.sleep(0.02)
        (folder / f"{name}.ipynb").write_text("{}", encoding="utf-8")
        (folder / f"{name}.html").write_text("<html></html>", encoding="utf-8")
        if params.get("fail"):
            return runner.NotebookRun(name, "failed", 0.1, {"cell": 2, "execution_count": 2, "cell_index": 2,
                                                             "ename": "KeyError", "evalue": "'x'"})
        return runner.NotebookRun(name, "ok", 0.1)

    monkeypatch.setattr(runner, "NOTEBOOK_DIR", nbdir)
    monkeypatch.setattr(runner, "_execute", execute)
    return types.SimpleNamespace(dir=nbdir, calls=calls)


def _report(data, out, run_id="r", **kw):
    return runner.run_report(data, out, kw.pop("params", {}), run_id=run_id, notebooks=["tiny"], **kw)


def _complete(folder) -> bool:
    """A run folder with its manifest and every file the manifest lists."""
    m = runner._manifest_of(folder)
    return bool(m) and all((folder / name).is_file() for name in m["outputs"])


def _latest(out):
    link = out / "latest"
    assert link.is_symlink(), "latest is missing"
    target = os.readlink(link)
    assert not target.startswith("."), f"latest points at a hidden folder {target}"
    assert (out / target).is_dir(), f"latest dangles: {target}"
    m = runner._manifest_of(out / target)
    assert m and m["status"] == "ok" and _complete(out / target), f"latest points at an incomplete run {target}"
    return target, m


# -- run ids ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", ["latest", "LATEST", ".hidden", "a/b", "a\\b", "..", "a..b", "x" * 101, "中" * 80,
                                 "nightly-FAILED", "", " padded", "tab\tid"])
def test_bad_run_ids_are_refused(bad):
    with pytest.raises(runner.ReportError, match="--run-id"):
        runner.check_run_id(bad)


@pytest.mark.parametrize("good", ["bundled", "2024-nightly", "兴隆县2024", "x" * 100, "20250101T060000Z"])
def test_plain_run_ids_are_taken(good):
    assert runner.check_run_id(good) == good


@pytest.mark.parametrize("bad", ["latest", "x" * 300, ".x", "../escape"])
def test_a_bad_run_id_is_exit_2_before_the_ingest(tmp_path, monkeypatch, capsys, bad):
    def no_ingest(*a, **kw):
        raise AssertionError("ingest must not start")

    monkeypatch.setattr(cli, "ingest", no_ingest)
    code = cli.main(["run", str(RAW), "--processed", str(tmp_path / "p"), "--out", str(tmp_path / "r"),
                     "--run-id", bad])
    assert code == 2
    assert "--run-id" in capsys.readouterr().err
    assert not (tmp_path / "p").exists() and not (tmp_path / "r").exists()
    code = cli.main(["report", "--data", str(tmp_path / "none"), "--out", str(tmp_path / "r"), "--run-id", bad])
    assert code == 2 and "--run-id" in capsys.readouterr().err and not (tmp_path / "r").exists()


# -- one run at a time per reports folder -----------------------------------------------------------------

def _hold(path):
    """Lock PATH as another process would (its own open file description)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.pwrite(fd, b"pid 4242, perfdata run elsewhere\n", 0)
    return fd


def test_a_second_run_into_a_locked_folder_gives_up_after_a_bounded_wait(tmp_path, tiny, data, monkeypatch, capsys):
    out = tmp_path / "reports"
    fd = _hold(out / ".lock")
    try:
        t0 = time.monotonic()
        with pytest.raises(runner.ReportError, match=r"another perfdata run.*pid 4242.*0\.3 s"):
            _report(data, out, lock_wait=0.3)
        assert 0.3 <= time.monotonic() - t0 < 5
        assert not tiny.calls and sorted(p.name for p in out.iterdir()) == [".lock"]  # nothing was built
        monkeypatch.setenv("PERFDATA_LOCK_TIMEOUT", "0.2")
        code = cli.main(["report", "--data", str(data), "--out", str(out), "--run-id", "r", "--notebooks", "tiny"])
        assert code == 2 and "PERFDATA_LOCK_TIMEOUT" in capsys.readouterr().err
    finally:
        os.close(fd)
    res = _report(data, out, lock_wait=0.3)  # free again
    assert res.status == "ok" and _latest(out)[0] == "r"


def test_a_second_run_waits_for_the_first(tmp_path):
    out = tmp_path / "reports"
    fd = _hold(out / ".lock")
    threading.Timer(0.3, os.close, [fd]).start()
    t0 = time.monotonic()
    with runner.out_lock(out, timeout=10):
        waited = time.monotonic() - t0
        with runner.out_lock(out, timeout=0):  # re-entrant in one thread (`perfdata run` holds it, the report too)
            pass
    assert 0.25 <= waited < 5


def test_two_runs_of_one_id_into_one_folder_leave_one_complete_run(tmp_path, tiny, data):
    out = tmp_path / "reports"
    errors = []

    def one():
        try:
            _report(data, out, run_id="same", lock_wait=30)
        except BaseException as e:  # noqa: BLE001 - collected for the assertion
            errors.append(e)

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(p.name for p in out.iterdir()) == [".lock", "latest", "same"]
    m = json.loads((out / "same" / "manifest.json").read_text(encoding="utf-8"))
    assert m["status"] == "ok" and _complete(out / "same") and len(m["outputs"]) == 9
    assert _latest(out)[0] == "same"


# -- replacing a run: a kill at any step ------------------------------------------------------------------

class Killed(BaseException):
    """kill -9: nothing after it runs (not even `except Exception`)."""


def _fake_run(folder, run_id, status="ok", marker="old", finished="2025-01-01T06:00:00+00:00"):
    folder.mkdir(parents=True)
    for k in range(3):
        (folder / f"f{k}.txt").write_text(marker, encoding="utf-8")
    outputs = [f"f{k}.txt" for k in range(3)] + ["manifest.json"]
    (folder / "manifest.json").write_text(json.dumps({"run_id": run_id, "status": status, "finished": finished,
                                                      "outputs": outputs, "marker": marker}), encoding="utf-8")
    return folder


def _kill_at(monkeypatch, n: int):
    """Make the n-th file-system step (rename, replace, symlink, rmtree) the moment of a kill -9; an rmtree
    killed half-way has removed one file."""
    count = [0]
    real = {"rename": os.rename, "replace": os.replace, "symlink": os.symlink, "rmtree": shutil.rmtree}

    def wrap(name):
        def step(*a, **kw):
            count[0] += 1
            if count[0] == n:
                if name == "rmtree" and os.path.isdir(a[0]):
                    files = sorted(p for p in os.listdir(a[0]))
                    if files:
                        os.remove(os.path.join(a[0], files[0]))
                raise Killed(f"{name} {a[0]}")
            return real[name](*a, **kw)
        return step

    for name in ("rename", "replace", "symlink"):
        monkeypatch.setattr(os, name, wrap(name))
    monkeypatch.setattr(shutil, "rmtree", wrap("rmtree"))
    return count


def _scene(out, latest="r", failed_too=False):
    """reports/ with a complete run r (and y; and a later failed re-run of r), latest on LATEST, and a finished
    new run of r in .r.partial."""
    _fake_run(out / "r", "r", marker="old", finished="2025-01-02T06:00:00+00:00")
    _fake_run(out / "y", "y", marker="y", finished="2025-01-01T06:00:00+00:00")
    if failed_too:
        _fake_run(out / "r-FAILED", "r", status="failed", marker="failed", finished="2025-01-02T12:00:00+00:00")
    os.symlink(latest, out / "latest")
    return _fake_run(out / ".r.partial", "r", marker="new", finished="2025-01-03T06:00:00+00:00")


@pytest.mark.parametrize("latest", ["r", "y"])
@pytest.mark.parametrize("failed_too", [False, True])
def test_replacing_a_run_survives_a_kill_at_every_step(tmp_path, monkeypatch, latest, failed_too):
    steps = None
    for n in range(1, 12):
        for m in range(0, 8):  # and the recovery itself killed at its m-th step (0: not killed)
            out = tmp_path / f"{n}-{m}"
            out.mkdir()
            partial = _scene(out, latest, failed_too)
            with monkeypatch.context() as mp:
                count = _kill_at(mp, n)
                try:
                    runner.install(out, partial, "r", ok=True)
                except Killed:
                    pass
                else:
                    steps = steps or count[0]
            if m:
                with monkeypatch.context() as mp, contextlib.suppress(Killed):
                    _kill_at(mp, m)
                    runner.recover(out)
            runner.recover(out)
            where = f"killed at step {n}, recovery at {m}"
            assert _latest(out)[0] == "r", where  # what the killed run was about to do, recovery does
            assert _complete(out / "r"), where
            assert runner._manifest_of(out / "r")["marker"] == "new", where  # the finished run is installed
            assert _complete(out / "y"), where
            assert not [p.name for p in out.iterdir() if p.name.startswith(".")], where
            assert not (out / "r-FAILED").exists(), where  # superseded by the complete run
    # latest to be (symlink), rename aside, rename in, latest (replace), remove the old folder (and the failed run)
    assert steps == (6 if failed_too else 5)


def test_a_run_killed_while_it_builds_leaves_the_old_run_in_place(tmp_path):
    out = tmp_path / "reports"
    out.mkdir()
    _fake_run(out / "r", "r")
    os.symlink("r", out / "latest")
    (out / ".r.partial").mkdir()
    (out / ".r.partial" / "forms.html").write_text("half", encoding="utf-8")  # no manifest: unfinished
    (out / ".latest.tmp").symlink_to("gone")  # a latest-to-be that names no complete run
    done = runner.recover(out)
    assert done == ["removed the unfinished run folder .r.partial"]
    assert sorted(p.name for p in out.iterdir()) == ["latest", "r"] and _latest(out)[0] == "r"


def test_a_failed_replacement_never_touches_the_complete_run(tmp_path, monkeypatch):
    for n in range(1, 6):
        out = tmp_path / str(n)
        out.mkdir()
        _fake_run(out / "r", "r", finished="2025-01-01T06:00:00+00:00")
        _fake_run(out / "r-FAILED", "r", status="failed", marker="failed-old", finished="2025-01-02T06:00:00+00:00")
        os.symlink("r", out / "latest")
        partial = _fake_run(out / ".r.partial", "r", status="failed", marker="failed-new",
                            finished="2025-01-03T06:00:00+00:00")
        with monkeypatch.context() as mp, contextlib.suppress(Killed):
            _kill_at(mp, n)
            runner.install(out, partial, "r", ok=False)
        runner.recover(out)
        assert _latest(out)[0] == "r" and runner._manifest_of(out / "r")["marker"] == "old"
        assert runner._manifest_of(out / "r-FAILED")["marker"] == "failed-new"
        assert not [p.name for p in out.iterdir() if p.name.startswith(".")]


def test_latest_pointing_nowhere_is_pointed_at_the_newest_complete_run(tmp_path):
    out = tmp_path / "reports"
    out.mkdir()
    _fake_run(out / "a", "a", finished="2025-01-01T00:00:00+00:00")
    _fake_run(out / "b", "b", finished="2025-02-01T00:00:00+00:00")
    _fake_run(out / "c-FAILED", "c", status="failed", finished="2025-03-01T00:00:00+00:00")
    os.symlink("gone", out / "latest")
    runner.recover(out)
    assert os.readlink(out / "latest") == "b"
    shutil.rmtree(out / "a")
    shutil.rmtree(out / "b")
    runner.recover(out)
    assert not (out / "latest").is_symlink()  # no complete run left: no latest rather than a dangling one


def test_the_next_run_removes_stale_partial_folders_and_puts_back_hidden_runs(tmp_path, tiny, data):
    out = tmp_path / "reports"
    out.mkdir()
    (out / ".killed.partial" / "charts").mkdir(parents=True)  # a run killed while it built
    _fake_run(out / ".kept.old", "kept")  # a run moved aside by a replacement that was killed before renaming in
    res = _report(data, out, run_id="new")
    assert res.status == "ok"
    assert sorted(p.name for p in out.iterdir()) == [".lock", "kept", "latest", "new"]
    assert _complete(out / "kept") and _latest(out)[0] == "new"


def test_run_folders_are_built_hidden_and_installed_whole(tmp_path, tiny, data):
    out = tmp_path / "reports"
    first = _report(data, out, run_id="r")
    seen = []
    real = runner.install

    def spy(out_root, partial, run_id, ok):
        seen.append((partial.name, sorted(p.name for p in out_root.iterdir())))
        return real(out_root, partial, run_id, ok)

    runner_install = pytest.MonkeyPatch()
    runner_install.setattr(runner, "install", spy)
    try:
        again = _report(data, out, run_id="r")
    finally:
        runner_install.undo()
    assert seen == [(".r.partial", [".lock", ".r.partial", "latest", "r"])]
    assert first.folder == again.folder == out / "r" and _complete(out / "r")
    assert json.loads((out / "r" / "manifest.json").read_text())["outputs"][-1] == "tiny.ipynb"


# -- latest and the exit status ----------------------------------------------------------------------------

def test_a_failed_report_is_exit_3_and_latest_stays(tmp_path, tiny, data, capsys):
    out = tmp_path / "reports"
    assert _report(data, out, run_id="good").status == "ok"
    code = cli.main(["report", "--data", str(data), "--out", str(out), "--run-id", "good", "--notebooks", "tiny",
                     "--param", "fail=true"])
    assert code == 3
    assert "notebook tiny.ipynb failed at cell 2" in capsys.readouterr().err
    assert _latest(out)[0] == "good" and runner._manifest_of(out / "good")["status"] == "ok"
    assert (out / "good-FAILED" / "FAILED").exists()
    m = runner._manifest_of(out / "good-FAILED")
    assert m["status"] == "failed" and _complete(out / "good-FAILED")


def _checks_raising():
    from perfdata import checks

    def check_all(tables, raw_dir=None, **params):
        raise RuntimeError("rule table unreadable")

    return types.SimpleNamespace(**{**vars(checks), "check_all": check_all})


def test_a_failed_check_is_exit_3(tmp_path, tiny, monkeypatch, capsys):
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(RAW / GUYUAN, raw / GUYUAN)
    monkeypatch.setitem(sys.modules, "perfdata.checks", _checks_raising())
    code = cli.main(["run", str(raw), "--processed", str(tmp_path / "p"), "--out", str(tmp_path / "r"),
                     "--run-id", "c", "--notebooks", "tiny"])
    assert code == 3 and "check failed: RuntimeError" in capsys.readouterr().err
    assert (tmp_path / "r" / "c-FAILED" / "FAILED").exists() and not (tmp_path / "r" / "latest").exists()


def test_a_failed_check_command_is_exit_3(tmp_path, monkeypatch, capsys):
    from perfdata import checks

    def broken(tables, raw_dir=None, **params):
        raise RuntimeError("rule table unreadable")

    monkeypatch.setattr(checks, "check_all", broken)
    store.write({"forms": schema.frame("forms", [])}, tmp_path / "d")
    assert cli.main(["check", str(tmp_path / "d")]) == 3
    assert "check failed: RuntimeError: rule table unreadable" in capsys.readouterr().err
    assert cli.main(["check", str(tmp_path / "d"), "--param", "bogus=1"]) == 2  # a usage error stays 2


def test_an_empty_input_folder_is_exit_2_and_changes_nothing(tmp_path, tiny, data, capsys):
    out, processed = tmp_path / "reports", tmp_path / "processed"
    assert _report(data, out, run_id="good").status == "ok"
    store.write({"forms": schema.frame("forms", [])}, processed)
    before = {p.name: p.stat().st_mtime_ns for p in processed.iterdir()}
    empty = tmp_path / "mount"  # a failed mount: the folder is there, the documents are not
    empty.mkdir()
    (empty / ".hidden").write_text("x", encoding="utf-8")
    code = cli.main(["run", str(empty), "--processed", str(processed), "--out", str(out), "--notebooks", "tiny"])
    assert code == 2 and "no documents to read" in capsys.readouterr().err
    assert not tiny.calls[1:] and _latest(out)[0] == "good"
    assert sorted(p.name for p in out.iterdir()) == [".lock", "good", "latest"]
    assert {p.name: p.stat().st_mtime_ns for p in processed.iterdir()} == before
    assert cli.main(["ingest", str(empty), "--out", str(tmp_path / "tables")]) == 2
    assert not (tmp_path / "tables").exists()


def test_a_run_whose_documents_hold_no_form_is_exit_2(tmp_path, tiny, capsys):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "notes.txt").write_text("会议纪要\n今天天气很好。\n", encoding="utf-8")
    code = cli.main(["run", str(raw), "--processed", str(tmp_path / "p"), "--out", str(tmp_path / "r"),
                     "--notebooks", "tiny"])
    assert code == 2 and "没有读到任何" in capsys.readouterr().err
    assert not tiny.calls and not (tmp_path / "p").exists() and not (tmp_path / "r").exists()
