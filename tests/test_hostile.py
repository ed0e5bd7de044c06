"""Trust under bad input (issue 12): one bad file never costs the batch, nothing hangs, absurd files are refused.

Every hostile file is built here in a few lines (tests/hostile.py), never shipped as a blob. Each case
asserts a clear problems row and a fast return (well under a second, or the time limit).
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import time
from pathlib import Path

import hostile
import pandas as pd
import pytest
from conftest import GUYUAN, RAW, XINGLONG, XINXIANG

from perfdata import check, store
from perfdata.cli import main
from perfdata.ingest import combine, ingest, limits, read_bytes

ingest_module = importlib.import_module("perfdata.ingest")  # perfdata.ingest is also the function


def timed(fn, *args, **kw):
    """The call's result and the wall seconds it took (an ingest's workers run in other processes)."""
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t0


def cpu_timed(fn, *args, **kw):
    """The call's result and the CPU seconds this process spent on it: for reads that run here, so the bound
    holds on a loaded machine too (a quadratic path shows as CPU spent)."""
    t0 = time.process_time()
    out = fn(*args, **kw)
    return out, time.process_time() - t0


def problems(res) -> list[tuple[str, str]]:
    return [(p["severity"], p["message"]) for p in res.tables.get("problems", [])]


def one_error(res) -> dict:
    errors = [p for p in res.tables.get("problems", []) if p["severity"] == "error"]
    assert len(errors) == 1, problems(res)
    assert res.tables["files"][0]["status"] == "failed"
    return errors[0]


@pytest.fixture
def batch(tmp_path):
    """The bundled documents plus `bad` files, in a raw folder."""
    def make(**bad: bytes) -> Path:
        raw = tmp_path / "raw"
        raw.mkdir(exist_ok=True)
        for p in RAW.iterdir():
            shutil.copy(p, raw / p.name)
        for name, data in bad.items():
            (raw / name.replace("_", ".")).write_bytes(data)
        return raw
    return make


def good_forms(t) -> pd.DataFrame:
    f = t["forms"]
    return f[f.source_file.isin([XINGLONG, XINXIANG, GUYUAN])].reset_index(drop=True)


@pytest.fixture(scope="module")
def bundled_forms():
    return ingest(RAW, progress=False)["forms"]


# -- isolation: a file that kills, hangs or floods its reader costs only that file --------------------------

def _sabotage(monkeypatch, how: str, name: str = "bad.txt"):
    """Make the reader of `name` abort, crash, loop or allocate without end (in the worker: it is forked)."""
    real = ingest_module.read_grid

    def reader(data, source_file=""):
        if source_file == name:
            if how == "abort":
                os.abort()
            if how == "segfault":
                import ctypes

                ctypes.string_at(0)
            if how == "loop":
                while True:
                    pass
            if how == "memory":
                hog = [bytearray(2**26) for _ in range(1000)]  # 64 GiB in 64 MiB pieces
                return hog
            if how == "exit":
                os._exit(3)
        return real(data, source_file)

    monkeypatch.setattr(ingest_module, "read_grid", reader)


@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("how,said", [
    ("abort", "aborted (SIGABRT)"), ("segfault", "crashed (SIGSEGV)"), ("exit", "exited with status 3"),
    ("memory", "needs more memory than the limit of 256 MiB per file"),
])
def test_a_reader_that_dies_costs_only_its_file(batch, monkeypatch, bundled_forms, jobs, how, said):
    raw = batch(bad_txt=b"\xe9\xa1\xb9\xe7\x9b\xae")
    _sabotage(monkeypatch, how)
    t, seconds = timed(ingest, raw, jobs=jobs, progress=False, file_memory=256)
    files = t["files"].set_index("source_file")
    assert files.loc["bad.txt", "status"] == "failed" and files.loc["bad.txt", "sha256"]
    err = t["problems"][t["problems"].source_file == "bad.txt"]
    assert err.severity.tolist() == ["error"] and said in err.message.iloc[0], err.message.tolist()
    pd.testing.assert_frame_equal(good_forms(t), good_forms({"forms": bundled_forms}))
    assert (files.drop(index="bad.txt").status != "failed").all()
    assert seconds < 20


def test_a_file_that_overruns_the_time_limit_is_stopped(batch, monkeypatch, bundled_forms):
    raw = batch(bad_txt=b"x")
    _sabotage(monkeypatch, "loop")
    t, seconds = timed(ingest, raw, jobs=1, progress=False, file_timeout=1)
    err = t["problems"][t["problems"].source_file == "bad.txt"]
    assert "longer than the time limit of 1 s per file" in err.message.iloc[0]
    assert err.severity.iloc[0] == "error" and seconds < 10
    pd.testing.assert_frame_equal(good_forms(t), good_forms({"forms": bundled_forms}))


def test_several_bad_files_in_one_worker_batch(tmp_path, monkeypatch):
    """Deaths and overruns in the middle of a batch: the files before and after them are read again."""
    from factory import SPEC, render

    raw = tmp_path / "raw"
    raw.mkdir()
    for k in range(40):
        (raw / f"f{k:02d}.txt").write_text(render({**SPEC, "name": f"项目{k}"}), encoding="utf-8")
    real = ingest_module.read_grid

    def reader(data, name=""):
        if name in ("f05.txt", "f17.txt"):
            os.abort()
        if name == "f30.txt":
            time.sleep(60)
        return real(data, name)

    monkeypatch.setattr(ingest_module, "read_grid", reader)
    t = ingest(raw, jobs=2, progress=False, file_timeout=2)
    files = t["files"].set_index("source_file")
    assert files.status[files.status == "failed"].index.tolist() == ["f05.txt", "f17.txt", "f30.txt"]
    assert len(t["forms"]) == 37 and t["forms"].form_id.is_unique
    assert sorted(t["forms"].source_file) == [f"f{k:02d}.txt" for k in range(40) if k not in (5, 17, 30)]


def test_calamine_abort_on_a_dense_sheet_is_contained(batch, monkeypatch, bundled_forms):
    """Without the up-front refusal, calamine aborts allocating 512 GiB: the worker dies, the batch goes on."""
    from perfdata.readers import xlsx

    monkeypatch.setattr(xlsx, "MAX_SHEET_CELLS", 10**12)
    monkeypatch.setattr(xlsx, "MAX_BOOK_CELLS", 10**12)
    raw = batch(corner_xlsx=hostile.xlsx_far_corner())
    t = ingest(raw, jobs=1, progress=False)
    err = t["problems"][t["problems"].source_file == "corner.xlsx"].message.iloc[0]
    assert "aborted (SIGABRT)" in err and "memory allocation of 549755813888 bytes failed" in err
    pd.testing.assert_frame_equal(good_forms(t), good_forms({"forms": bundled_forms}))


def test_the_cli_writes_the_tables_when_a_worker_dies(batch, monkeypatch, tmp_path, capsys):
    raw = batch(bad_txt=b"x")
    _sabotage(monkeypatch, "abort")
    assert main(["ingest", str(raw), "--out", str(tmp_path / "out")]) == 1
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    t = pd.read_parquet(tmp_path / "out" / "forms.parquet")
    assert len(t) == 43


def test_limits_from_arguments_and_environment(monkeypatch):
    assert limits() == (60.0, 2048)
    monkeypatch.setenv("PERFDATA_FILE_TIMEOUT", "5.5")
    monkeypatch.setenv("PERFDATA_FILE_MEMORY", "none")
    assert limits() == (5.5, None) and limits(2, 100) == (2.0, 100)
    monkeypatch.setenv("PERFDATA_FILE_TIMEOUT", "soon")
    with pytest.raises(ValueError, match="PERFDATA_FILE_TIMEOUT"):
        limits()


def test_in_process_reading_gives_the_same_tables():
    a = ingest(RAW, progress=False)
    b = ingest(RAW, progress=False, isolate=False)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True)


# -- absurd dimensions refused up front --------------------------------------------------------------------

@pytest.mark.parametrize("build,name,said,where", [
    (hostile.xlsx_far_corner, "corner.xlsx", "refused: sheet Sheet spans A1:XFD1048576 (16,384 columns × 1,048,576 "
     "rows = 17,179,869,184 cells, about 512 GiB to read)", "Sheet!1048576"),
    (hostile.xlsx_far_corner_openpyxl, "corner.xlsx", "refused: sheet Sheet spans A1:XFD1048576", "Sheet!1048576"),
    (hostile.xlsx_shared_sheet, "shared.xlsx", "refused: 500 sheet entries point at 1 worksheet part(s)", None),
    (hostile.docx_span, "span.docx", "refused: table 1 row 1 is 1,000,000,001 grid columns wide (w:gridSpan)",
     "table 1 row 1"),
    (lambda: hostile.docx_span("gridBefore"), "before.docx", "grid columns wide (w:gridBefore)", "table 1 row 1"),
    (hostile.pdf_pages, "pages.pdf", "refused: 200,000 pages, more than 5,000", None),
    (hostile.pdf_inflating, "inflating.pdf", "refused: the content of page 1 inflates from 3 KB to 2.9 MiB",
     "page 1"),
    (hostile.pdf_reference_loop, "loop.pdf", "refused: objects that refer to each other in a loop (object 2 → 3 → 2)",
     "object 2"),
], ids=["xlsx-dimension", "xlsx-openpyxl-dimension", "xlsx-500-sheets-one-part", "docx-gridspan",
        "docx-gridbefore", "pdf-200000-pages", "pdf-inflated-stream", "pdf-reference-loop"])
def test_absurd_files_are_refused_up_front(build, name, said, where):
    data = build()
    res, seconds = cpu_timed(read_bytes, data, name)
    err = one_error(res)
    assert said in err["message"], err["message"]
    assert err.get("location") == where
    t = combine([res])
    assert [None if pd.isna(x) else x for x in t["problems"].location] == [where]
    assert seconds < 1.0, f"{name}: {seconds:.2f} s"
    if name == "loop.pdf":
        assert len(data) == 243


def test_the_openpyxl_path_never_makes_a_cell_per_position():
    """Read directly (no refusal), a sheet with cells at A1 and XFD1048576 costs its rows, not its area."""
    from perfdata.readers.xlsx import MAX_ROWS, _read_openpyxl

    grid, seconds = cpu_timed(_read_openpyxl, hostile.xlsx_far_corner())
    assert grid.rows[0].cells == ["项目名称"] and len(grid.rows) == MAX_ROWS
    assert "more than 300,000 rows" in grid.problems[0][1] and seconds < 5


def test_reasonable_workbooks_and_documents_still_read():
    """The limits leave real files alone: a sheet of 300 x 60, a table of 63 columns, a 30-page PDF."""
    from perfdata.readers.docx import read_docx
    from perfdata.readers.xlsx import read_xlsx

    cells = {"A1": "项目名称", "BH300": "x"}
    assert len(read_xlsx(hostile.xlsx(cells)).rows) == 300
    assert read_docx(hostile.docx_span(value="63")).rows[1].cells[:2] == ["项目名称"] + [""]
    grid = read_bytes(hostile.pdf_pages(30), "blank.pdf")
    assert "no text in the PDF (30 blank page(s))" in one_error(grid)["message"]


# -- no quadratic paths -----------------------------------------------------------------------------------

def test_a_cell_of_50000_digits():
    from perfdata.normalize import split_level_weight

    (name, weight), seconds = cpu_timed(split_level_weight, "1" * 50_000)
    assert (name, weight) == ("1" * 50_000, None) and seconds < 0.05
    res, seconds = cpu_timed(read_bytes, hostile.long_digits(), "digits.txt")
    assert res.tables["files"][0]["forms"] == 1 and seconds < 1.0


def test_a_line_of_40000_spaces():
    from perfdata.readers.text import _PIPE_RULE, read_text

    for line in (" " * 40_000 + "-x", "|--" + " " * 40_000 + "x", "|" + "-- |" * 10_000 + "x"):
        m, seconds = cpu_timed(_PIPE_RULE.match, line)
        assert m is None and seconds < 0.01
    grid, seconds = cpu_timed(read_text, hostile.long_spaces())
    assert len(grid.rows) == 3 and seconds < 0.5


def test_a_10_mb_line_reads_in_linear_time_and_memory():
    import tracemalloc

    from perfdata.readers.detect import read_grid
    from perfdata.readers.text import MAX_LINE

    data = hostile.long_line()
    (grid, found), seconds = cpu_timed(read_grid, data, "line.txt")
    assert len(grid.rows) == 1 and len(grid.rows[0].raw) == MAX_LINE and seconds < 1.0
    assert found == [("warning", "line 1 holds 4,766,253 characters, more than a line of a form: its first "
                      "200,000 are read, the rest is not", 1)]
    (grid, found), _ = cpu_timed(read_grid, ("项目" * (MAX_LINE // 2)).encode(), "line.txt")
    assert len(grid.rows[0].raw) == MAX_LINE and found == []
    del grid
    tracemalloc.start()
    try:
        read_grid(data, "line.txt")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 12 * len(data), f"{peak / 2**20:.0f} MiB for a {len(data) / 2**20:.0f} MiB line"


# -- smaller: encodings, sniffing, symlinks, locations -------------------------------------------------------

@pytest.mark.parametrize("enc", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_bom_is_read(enc):
    text = (RAW / XINGLONG).read_text(encoding="utf-8")
    assert "一" in text  # U+4E00: a NUL byte on the parity of the Chinese characters
    got = combine([read_bytes(text.encode(enc), "x.txt")])
    want = combine([read_bytes(text.encode("utf-8"), "x.txt")])
    assert got["files"].encoding.tolist() == [enc]
    assert len(got["forms"]) == 24
    cols = [c for c in want["forms"].columns if c != "form_id"]
    pd.testing.assert_frame_equal(got["forms"][cols], want["forms"][cols])


def test_text_that_mentions_pdf_in_its_first_kilobyte_is_text():
    text = "说明: 原件为 %PDF-1.7 文件, 转为文本如下\n" + (RAW / XINGLONG).read_text(encoding="utf-8")
    res = read_bytes(text.encode(), "x.txt")
    assert res.tables["files"][0]["format"] == "text" and res.tables["files"][0]["forms"] == 24
    junk = b"HTTP/1.1 200 OK\r\n\r\n" + hostile.pdf_reference_loop()  # a PDF after junk is still a PDF
    assert "refer to each other in a loop" in one_error(read_bytes(junk, "y.txt"))["message"]


def test_symlinks_dangling_and_out_of_the_folder(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(RAW / GUYUAN, raw / "a.txt")
    secret = tmp_path / "secret.txt"
    shutil.copy(RAW / XINGLONG, secret)
    (raw / "out.txt").symlink_to(secret)
    (raw / "gone.txt").symlink_to(tmp_path / "nowhere.txt")
    (raw / "inside.txt").symlink_to(raw / "a.txt")
    (raw / "outdir").symlink_to(tmp_path, target_is_directory=True)
    (raw / "sub").mkdir()
    (raw / "subdir").symlink_to(raw / "sub", target_is_directory=True)
    t = ingest(raw, progress=False)
    p = t["problems"].set_index("source_file")
    assert "dangling symbolic link" in p.loc["gone.txt", "message"] and p.loc["gone.txt", "severity"] == "error"
    assert "outside the raw folder" in p.loc["out.txt", "message"]
    assert "outside the raw folder" in p.loc["outdir", "message"] and p.loc["outdir", "severity"] == "error"
    assert "not followed" in p.loc["subdir", "message"] and p.loc["subdir", "severity"] == "info"
    assert set(t["forms"].source_file) == {"a.txt"} and len(t["forms"]) == 8  # inside.txt: a duplicate
    files = t["files"].set_index("source_file")
    assert files.loc["inside.txt", "duplicate_of"] == "a.txt"
    assert files.loc[["gone.txt", "out.txt"], "status"].tolist() == ["failed", "failed"]
    assert list(t["files"].source_file) == ["a.txt", "gone.txt", "inside.txt", "out.txt", "outdir"]


# -- duplicates -------------------------------------------------------------------------------------------

def test_the_same_document_under_two_names_is_read_once(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(RAW / XINXIANG, raw / "a.txt")
    shutil.copy(RAW / XINXIANG, raw / "b-副本.txt")
    t = ingest(raw, progress=False)
    one = ingest(raw / "a.txt", progress=False)
    assert t["forms"].form_id.is_unique and len(t["forms"]) == len(one["forms"]) == 11
    for name in ("forms", "indicators", "funding", "summary_rows", "department_forms", "statements"):
        assert set(t[name].source_file) == {"a.txt"}, name
    files = t["files"].set_index("source_file")
    assert files.loc["b-副本.txt", "duplicate_of"] == "a.txt" and pd.isna(files.loc["a.txt", "duplicate_of"])
    assert files.loc["b-副本.txt", "sha256"] == files.loc["a.txt", "sha256"]
    assert (files.loc["b-副本.txt", "forms"], files.loc["b-副本.txt", "status"]) == (0, files.loc["a.txt", "status"])
    info = t["problems"][t["problems"].source_file == "b-副本.txt"]
    assert info.severity.tolist() == ["info"] and "identical to a.txt (same SHA-256)" in info.message.iloc[0]


def test_two_copies_of_a_document_go_through_check_and_run(tmp_path):
    """The copy once made 8 of 16 forms share a form_id, and `check` fail on the duplicate labels (exit 2)."""
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(RAW / XINXIANG, raw / "a.txt")
    shutil.copy(RAW / XINXIANG, raw / "b-副本.txt")
    assert main(["ingest", str(raw), "--out", str(tmp_path / "p")]) == 0
    assert main(["check", str(tmp_path / "p")]) == 0
    once = check(ingest(raw / "a.txt", progress=False))
    found = store.load(tmp_path / "p")["anomalies"]
    assert len(found) == len(once) and set(found.source_file.dropna()) == {"a.txt"}
    assert main(["run", str(raw), "--processed", str(tmp_path / "q"), "--out", str(tmp_path / "r"),
                     "--run-id", "copies", "--notebooks", "forms"]) == 0
    assert (tmp_path / "r" / "copies" / "forms.html").exists()
    assert (tmp_path / "r" / "latest").resolve().name == "copies"


def test_a_batch_of_800_files_with_copies(tmp_path):
    from factory import SPEC, render

    raw = tmp_path / "raw"
    (raw / "sub").mkdir(parents=True)
    wrong = {"funding": {**SPEC["funding"], "exec_rate": "80%"}}  # 99.45 of 110.5 is 90 %: a finding per form
    texts = [render({**SPEC, "name": f"项目{k}", **(wrong if k % 4 == 0 else {})}) for k in range(400)]
    for k in range(800):
        where = raw / "sub" if k % 3 == 0 else raw
        (where / f"f{k:03d}.txt").write_text(texts[k % 400] if k < 600 else texts[(k * 7) % 400], encoding="utf-8")
    t = ingest(raw, jobs=2, progress=False)
    files = t["files"]
    assert len(files) == 800 and files.duplicate_of.notna().sum() == 400
    assert len(t["forms"]) == 400 and t["forms"].form_id.is_unique and t["indicators"].groupby(
        ["form_id", "seq"]).size().max() == 1
    dup = files[files.duplicate_of.notna()]
    assert set(dup.duplicate_of) <= set(files[files.duplicate_of.isna()].source_file)
    assert (t["problems"].severity == "info").sum() >= 400
    # … and through the check and the whole run (it once ended in an uncaught InvalidIndexError)
    found = check(t)
    assert found.form_id.dropna().isin(t["forms"].form_id).all()
    wrong_rate = found[found.field == "exec_rate_reported"]
    assert len(wrong_rate) == 100 and wrong_rate.form_id.is_unique  # one per form printed with 80 %, none twice
    assert main(["run", str(raw), "--processed", str(tmp_path / "p"), "--out", str(tmp_path / "r"),
                     "--run-id", "batch"]) == 0
    manifest = json.loads((tmp_path / "r" / "batch" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "ok" and (tmp_path / "r" / "latest").resolve().name == "batch"
    assert len(pd.read_parquet(tmp_path / "p" / "anomalies.parquet")) == len(found)


def test_oversized_files_are_refused_before_they_are_read(tmp_path, monkeypatch):
    from perfdata.readers import text

    monkeypatch.setattr(text, "MAX_BYTES", 1000)
    monkeypatch.setattr(ingest_module, "MAX_FILE_BYTES", 5000)
    (tmp_path / "a.txt").write_bytes("项目名称\t档案管理\n".encode() * 100)
    (tmp_path / "b.pdf").write_bytes(b"%PDF-1.4\n" + bytes(6000))
    t = ingest(tmp_path, progress=False, isolate=False)
    p = t["problems"].set_index("source_file").message
    assert p["a.txt"] == "refused: 0 MiB of text, more than a document of forms holds (limit 0 MiB)"
    assert p["b.pdf"].startswith("refused: 0 MiB, more than a document of forms holds")
    assert t["files"].set_index("source_file").loc["b.pdf", "bytes"] == 6009


def test_what_the_fuzzing_found_in_the_readers():
    """Cases benchmarks/fuzz.py found: each a clear problems row now, not an internal error."""
    from perfdata.normalize import split_indicator_no

    assert split_indicator_no("指标" + "1" * 10_001 + ":x") == (None, "x")  # int() refuses 4,300 digits
    data = bytearray(hostile.xlsx())
    at = data.index(b"PK\x01\x02")  # the first central directory entry: "version needed to extract" 15.0
    data[at + 6 : at + 8] = (150).to_bytes(2, "little")
    err = one_error(read_bytes(bytes(data), "v15.xlsx"))
    assert err["message"].startswith("corrupt or truncated file") and "zip file version 15.0" in err["message"]
    assert "internal error" not in one_error(read_bytes(hostile.docx_span(value="9" * 5000), "d.docx"))["message"]


def test_a_blank_indicator_name_in_a_department_form_keeps_the_form():
    """A 部门整体绩效自评表 row whose 三级指标 cell is blank once raised KeyError and lost the whole form."""
    data = (RAW / XINXIANG).read_bytes().split(b"\n")
    assert data[698].startswith("\t\t工作任务科学性\t".encode())
    data[698] = b"\t\t\t" + data[698].split(b"\t", 3)[3]  # line 699 without its name
    res = read_bytes(b"\n".join(data), "x.txt").tables
    assert not [p for p in res.get("problems", []) if "internal error" in p["message"]]
    row = next(d for d in res["department_indicators"] if d["line"] == 699)
    assert (row["name"], row["target_raw"], row["actual_raw"], row["weight"], row["score"]) == (None, "科学", "科学",
                                                                                              3.0, 3.0)
    assert len(res["department_indicators"]) == 39


def test_a_quoted_cell_csv_cannot_split_stays_as_printed():
    """A tab-separated 绩效目标表 row whose quoted cell runs over the next line and over csv's field limit."""
    from perfdata.grid import Row
    from perfdata.tables.targets import _join_quoted

    big = "x" * 140_000
    rows = [Row(1, ["产出指标", '"' + big], '产出指标\t"' + big, 1), Row(2, ['说明"', "≥5人"], '说明"\t≥5人', 2)]
    assert _join_quoted(rows, 0, 2) == (rows, 2)
    ok = [Row(1, ["产出指标", '"人员'], '产出指标\t"人员', 1), Row(2, ['数量"', "≥5人"], '数量"\t≥5人', 2)]
    joined, stop = _join_quoted(ok, 0, 2)
    assert (stop, joined[0].cells, joined[0].end) == (1, ["产出指标", "人员数量", "≥5人"], 2)


def test_a_narrative_line_with_thousands_of_figures_reads_in_linear_time():
    """statements.figures tested each figure against every earlier one: 16,000 figures took 3.6 s."""
    from perfdata.normalize import clean
    from perfdata.tables.statements import figures

    text = clean("1、事业单位招聘：年初预算为 10 万元。完成年初预算的 13.3%。" * 8000)
    start = time.process_time()
    found = figures(text)
    assert time.process_time() - start < 1.0
    assert len(found) == 16000 and found[:2] == [("budget_initial", "万元", 10.0, "10万元", 14, 16),
                                                 ("exec_rate", "%", 13.3, "13.3%", 26, 30)]


@pytest.mark.parametrize("run", [" ", "1", "(", "a", "中 ", " |"])
def test_a_line_of_one_repeated_character_in_unrecognised_text_reads_in_linear_time(run):
    """What fuzzing found (seed 20261202, case 1654): a line of 200,000 characters in text no reader recognises
    took minutes in the token engine (_ONE_CELL_LINE and _CELL_SEPARATORS were quadratic); now under a second."""
    data = hostile.garbled_with_long_line((RAW / XINXIANG).read_text(encoding="utf-8"), run)
    res, seconds = cpu_timed(read_bytes, data, "garbled.txt")
    assert res.tables["files"][0]["status"] in ("ok", "partial", "failed") and seconds < 5.0, seconds


# Patterns used only anchored (.match at one position): a run that defeats them costs one pass, not one per
# character, so the scan below skips them.
ANCHORED = {
    "perfdata.tables.engine._LEAD_FIGURES": "match(k, at) after a total's label",
    "perfdata.readers.docx._DIGITS": "match of a gridSpan/vMerge attribute",
    "perfdata.readers.html._SPAN": "match of a colspan/rowspan attribute",
}


def test_no_pattern_takes_quadratic_time_on_a_long_run():
    """Every module-level pattern of the package searched and substituted over runs of 20,000 of a character
    a document may repeat: a pattern that retries a run from each of its characters ('\\s*\\|', '[^|]*x[^|]*')
    takes seconds here, a linear one milliseconds."""
    import pkgutil
    import re

    import perfdata

    patterns = {}
    for mod in pkgutil.walk_packages(perfdata.__path__, "perfdata."):
        for name, value in vars(importlib.import_module(mod.name)).items():
            if isinstance(value, re.Pattern):
                patterns[f"{mod.name}.{name}"] = value
    assert len(patterns) > 100
    runs = [" ", "a", "中", "1", "|", "(", "（", ".", "0.", "年", "\n", "\t", "分", "-", "%", "1 ", "a ", "( ",
            "万元", "—", "[", "<p>"]
    slow = []
    for name, rx in patterns.items():
        if name in ANCHORED:
            continue
        text_of = (lambda t: t.encode()) if isinstance(rx.pattern, bytes) else (lambda t: t)
        for run in runs:
            # first short, after a keyword a pattern may open with: an exponential pattern shows there
            # (2^24 steps) before a long run could hang the test; then long, for a quadratic one
            for text in (text_of("obj" + run * 24 + "x"), text_of(run * (20_000 // len(run)))):
                _, seconds = cpu_timed(lambda rx=rx, text=text: (rx.search(text), rx.sub(text[:0], text)))
                if seconds > 0.25:
                    slow.append((name, run, len(text), round(seconds, 2)))
                    break
            else:
                continue
            break
    assert not slow, slow


def test_a_pdf_whose_bytes_hold_a_run_of_comment_marks_is_prechecked_at_once():
    """'obj' and 40 '%' (a comment run): the precheck's pattern for an object's value tried 2^40 ways to cut
    the run; a number after the comment's line end is still seen (object 2 is a bare reference)."""
    from perfdata.readers.pdf import _may_hold_bare_references, precheck

    data = b"%PDF-1.4\n1 0 obj" + b"%" * 40 + b"x\nendobj\n2 0 obj " + b"%" * 40 + b"\n3 0 R\nendobj\n%%EOF"
    found, seconds = cpu_timed(_may_hold_bare_references, data)
    assert found is True and seconds < 0.1
    assert cpu_timed(precheck, data)[1] < 1.0
