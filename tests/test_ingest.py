"""Batches: every file read independently, bad input reported clearly, the rest still processed."""

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import GUYUAN, RAW, XINGLONG, XINXIANG

from perfdata import load
from perfdata.cli import main
from perfdata.ingest import ingest


@pytest.fixture
def messy_batch(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(RAW / XINGLONG, raw / XINGLONG)
    (raw / "empty.txt").write_bytes(b"")
    (raw / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    (raw / "broken.txt").write_bytes("项目名称\t档案管理\n".encode() + b"\x81\x30\xff\xfe\xfa\n")
    (raw / "narrative.txt").write_text("一、项目支出基本情况\n本单位项目支出由 3 个项目构成。\n", encoding="utf-8")
    lines = (RAW / XINGLONG).read_text(encoding="utf-8").split("\n")
    (raw / "cut.txt").write_text("\n".join(lines[:40]), encoding="gbk")
    return raw


def test_bad_files_do_not_stop_the_batch(messy_batch):
    t = ingest(messy_batch, jobs=2, progress=False)
    files = t["files"].set_index("source_file")
    assert files.loc[XINGLONG, "status"] == "partial" and files.loc[XINGLONG, "forms"] == 24
    assert files.loc["cut.txt", "encoding"] == "gb18030" and files.loc["cut.txt", "forms"] == 2
    assert files.loc[["empty.txt", "image.txt", "broken.txt", "narrative.txt"], "status"].tolist() == [
        "failed"] * 4
    p = t["problems"].set_index("source_file")
    assert p.loc["empty.txt", "message"] == "empty file"
    assert "binary" in p.loc["image.txt", "message"]
    broken = p.loc["broken.txt"]
    assert "undecodable bytes" in broken.message and broken.line == 2
    assert "no known table" in p.loc["narrative.txt", "message"]
    cut = t["problems"][(t["problems"].source_file == "cut.txt") & (t["problems"].severity == "warning")]
    assert cut.message.str.contains("cut short").any()
    assert len(t["forms"]) == 26


def test_parallel_and_serial_agree(messy_batch):
    a = ingest(messy_batch, jobs=1, progress=False)
    b = ingest(messy_batch, jobs=2, progress=False)
    for name in ("forms", "indicators", "funding", "leftovers", "problems"):
        pd.testing.assert_frame_equal(a[name], b[name])


def test_form_ids_are_stable_across_runs_and_names(tmp_path):
    a = ingest(RAW / XINGLONG, progress=False)["forms"].form_id
    copy = tmp_path / "renamed.txt"
    shutil.copy(RAW / XINGLONG, copy)
    b = ingest(copy, progress=False)["forms"].form_id
    assert a.tolist() == b.tolist()


def test_cli_ingest_writes_tables_and_exit_status(messy_batch, tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["ingest", str(messy_batch), "--out", str(out)])
    text = capsys.readouterr().out
    assert rc == 1  # some files failed
    assert "forms           26" in text and "empty.txt: empty file" in text
    t = load(out)
    assert len(t["forms"]) == 26 and t["forms"]["budget_initial"].dtype == "Float64"
    rc = main(["ingest", str(RAW / XINGLONG), "--out", str(tmp_path / "csv"), "--format", "csv"])
    assert rc == 0
    t = load(tmp_path / "csv")
    row = t["forms"][t["forms"].executed == 622.58].iloc[0]
    assert (row.budget_initial, row.complete, row.year) == (626.0, True, 2024)


def test_cli_xlsx_keeps_document_text_as_text(tmp_path):
    from factory import render
    from openpyxl import load_workbook

    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "f.txt").write_text(render(), encoding="utf-8")
    assert main(["ingest", str(raw), "--out", str(tmp_path / "x"), "--format", "xlsx"]) == 0
    wb = load_workbook(tmp_path / "x" / "tables.xlsx")
    ws = wb["forms"]
    header = [c.value for c in ws[1]]
    cell = ws.cell(row=2, column=header.index("project_name") + 1)
    assert cell.data_type == "s" and cell.value.endswith("=公益性岗位补贴(测试)")


def test_cli_missing_input(tmp_path, capsys):
    assert main(["ingest", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_console_script_runs_on_bundled_data(tmp_path):
    r = subprocess.run([sys.executable, "-m", "perfdata.cli", "ingest", str(RAW), "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "forms               43" in r.stdout or "forms           43" in r.stdout
    assert "Traceback" not in r.stdout + r.stderr


# -- combining per-file results: tuples, typed arrays from workers, and dict rows of other readers ------

def _results(names):
    from perfdata.ingest import read_file

    return [read_file(RAW / n, n) for n in names]


def test_combine_same_tables_from_tuples_and_from_worker_arrays():
    from conftest import GUYUAN, XINXIANG

    from perfdata.ingest import combine

    names = [XINGLONG, XINXIANG, GUYUAN]
    serial = combine(_results(names))
    frozen = combine([r.freeze() for r in _results(names)])
    mixed = combine([r.freeze() if i % 2 else r for i, r in enumerate(_results(names))])
    assert len(serial["indicators"]) > 300 and serial["forms"]["form_id"].is_unique
    for name, df in serial.items():
        pd.testing.assert_frame_equal(frozen[name], df, check_exact=True)
        pd.testing.assert_frame_equal(mixed[name], df, check_exact=True)


def test_combine_keeps_dict_rows_added_to_a_packed_table():
    from perfdata.ingest import combine

    a, b = _results([XINGLONG, XINGLONG])
    a.freeze()
    b.add("indicators", {"form_id": "extra", "seq": 1, "line": 7, "name": "另加指标", "weight": "5"})
    t = combine([a, b])["indicators"]
    assert len(t) == 2 * len(combine([a])["indicators"]) + 1
    extra = t[t.form_id == "extra"].iloc[0]
    assert (extra["name"], extra["weight"], extra["line"]) == ("另加指标", 5.0, 7)
    assert str(t["weight"].dtype) == "Float64" and str(t["line"].dtype) == "Int64"
    first = combine([a])["indicators"].iloc[0]
    assert (t.iloc[0]["source_file"], t.iloc[0]["form_id"]) == (XINGLONG, first["form_id"])


def test_a_worker_batch_of_files_combines_like_the_files_one_by_one():
    from conftest import GUYUAN, XINXIANG

    from perfdata.ingest import combine, freeze_batch

    names = [XINGLONG, XINXIANG, GUYUAN, XINGLONG]
    serial = combine(_results(names))
    results = _results(names)
    batched = freeze_batch(results)
    assert "indicators" in batched[0].frozen and not any("indicators" in r.frozen for r in batched[1:])
    assert not any(r.packed for r in batched)
    for name, df in serial.items():
        pd.testing.assert_frame_equal(combine(batched)[name], df, check_exact=True)
    # dict rows added to a packed table in the batch: that table is frozen file by file, order kept
    plain, batch = _results(names[:2]), _results(names[:2])
    for rs in (plain, batch):
        rs[1].add("indicators", {"form_id": "extra", "seq": 1, "line": 7, "name": "另加指标"})
    freeze_batch(batch)
    n0 = len(combine(_results(names[:1]))["indicators"])
    assert len(batch[0].frozen["indicators"]["seq"]) == n0 and "indicators" in batch[1].packed
    assert len(batch[0].frozen["funding"]["line"]) == len(serial["funding"].query("source_file == @XINGLONG")) // 2 \
        + len(serial["funding"].query("source_file == @XINXIANG"))
    pd.testing.assert_frame_equal(combine(batch)["indicators"], combine(plain)["indicators"], check_exact=True)


def test_a_file_whose_forms_have_no_funding_rows_freezes():
    from perfdata.ingest import combine, freeze_batch

    def results():
        rs = _results([XINGLONG, XINGLONG])
        rs[0].packed["funding"][1].clear()  # forms without a 年度资金总额 or other funding row
        return rs

    serial = combine(results())
    one = combine(_results([XINGLONG]))["funding"]
    assert len(serial["funding"]) == len(one) > 0  # only the second file's funding rows
    for frozen in ([r.freeze() for r in results()], freeze_batch(results())):
        pd.testing.assert_frame_equal(combine(frozen)["funding"], serial["funding"], check_exact=True)
    alone = freeze_batch(results()[:1])
    assert combine(alone)["funding"].empty
    assert list(combine(alone)["funding"].columns) == list(serial["funding"].columns)


def test_a_failing_table_reader_costs_its_table_not_the_file(monkeypatch):
    import importlib

    ingest = importlib.import_module("perfdata.ingest")  # the module (perfdata.ingest is also the function)

    def broken(*args):
        raise RuntimeError("boom")

    monkeypatch.setitem(ingest.TABLE_READERS, "summary", broken)
    res = ingest.read_file(RAW / XINXIANG)
    problems = res.tables["problems"]
    assert any("internal error while reading the summary" in p["message"] and "boom" in p["message"]
               and p["severity"] == "warning" for p in problems)
    assert res.tables["files"][0]["status"] == "partial" and res.tables["files"][0]["forms"] == 11
    assert "summary_rows" not in res.tables and len(res.tables["department_forms"]) == 1


# -- line accounting: every line of a recognised table has a recorded fate ---------------------------------

FATES = ["lines_consumed", "lines_placeholder", "lines_leftover", "lines_blank", "lines_unaccounted"]


@pytest.mark.parametrize("name", [XINGLONG, XINXIANG, "ningxia-guyuan-city-hrss-2024-project-self-evaluations.txt",
                                  "hebei-xianghe-county-hrss-2023-budget-disclosure.txt"])
def test_the_fates_of_table_lines_add_up_to_the_tables_span(bundled, name):
    """For every bundled file: consumed + placeholder + leftover + blank (+ unaccounted) = the lines from each
    recognised table's first line to its last; leftovers and blank lines counted where they are."""
    from perfdata.readers.text import read_text

    f = bundled["files"].set_index("source_file").loc[name]
    assert f.table_lines > 0 and sum(int(f[c]) for c in FATES) == f.table_lines
    rows = read_text((RAW / name).read_bytes()).rows
    spans = []
    for t, (_, a, b) in {"forms": ("form_id", "line_start", "line_end"),
                           "department_forms": ("dept_form_id", "line_start", "line_end"),
                           "targets": ("target_id", "line_start", "line_end")}.items():
        df = bundled[t][bundled[t].source_file == name]
        spans += [(int(x), int(y)) for x, y in zip(df[a], df[b], strict=True)]
    s = bundled["summary_rows"][bundled["summary_rows"].source_file == name]
    spans += [(int(g.table_line.min()), int(g.line_end.max())) for _, g in s.groupby("summary_id")]
    inside = {line for a, b in spans for line in range(a, b + 1)}
    assert len(inside) == f.table_lines
    blank = sum(1 for r in rows if not r.joined and r.line in inside)
    left = set(bundled["leftovers"].query("source_file == @name").line) & inside
    assert (f.lines_blank, f.lines_leftover) == (blank, len(left))


@pytest.mark.parametrize("name", [XINGLONG, XINXIANG, "ningxia-guyuan-city-hrss-2024-project-self-evaluations.txt",
                                  "hebei-xianghe-county-hrss-2023-budget-disclosure.txt"])
def test_every_line_of_a_recognised_table_has_a_recorded_fate(bundled, name):
    f = bundled["files"].set_index("source_file").loc[name]
    assert f.lines_unaccounted == 0
    p = bundled["problems"].query("source_file == @name")
    if f.lines_placeholder:  # "指标2:" and "....." rows: counted, with their lines
        assert p.message.str.contains(f"{f.lines_placeholder} empty template row").any()


def test_placeholders_and_consumed_lines_a_reader_reports_are_counted():
    from factory import render

    from perfdata.ingest import FileResult, account
    from perfdata.readers.text import read_text

    text = render()
    rows = read_text(text.encode()).rows
    res = FileResult("f.txt")
    sha = "0" * 64
    res.packed_rows("tables", ("line_start", "kind", "title")).append((1, "project_form", "t"))
    n = len(rows)
    res.packed["forms"] = (("form_id", "line_start", "line_end"), [(f"{sha[:10]}-00001", 1, n)])
    res.add("leftovers", {"line": 3, "text": "x", "reason": "r", "form_id": f"{sha[:10]}-00001"})
    res.fate(f"{sha[:10]}-00001", consumed=[r.line for r in rows if r.line not in (3, 4)], placeholders=[4, 3])
    counts = account(rows, res, sha)
    assert counts == {"table_lines": n, "lines_consumed": n - 2, "lines_placeholder": 1, "lines_leftover": 1,
                      "lines_blank": 0, "lines_unaccounted": 0}
    assert res.tables["problems"][0]["message"].startswith("1 empty template row(s)")
    res.fates.clear()
    assert account(rows, res, sha)["lines_unaccounted"] == n - 1


def test_the_placeholders_of_the_bundled_forms_are_counted_with_their_lines(bundled):
    """固原市 prints a blank "指标2:" and a "....." row under every 二级指标: counted as placeholders, each line
    named in an info problem; the 兴隆县 "------" rules and 新乡县's blank "指标2：" rows too."""
    f = bundled["files"].set_index("source_file")
    assert f.lines_placeholder.to_dict() == {"hebei-xianghe-county-hrss-2023-budget-disclosure.txt": 0,
                                             XINGLONG: 2, XINXIANG: 30,
                                             GUYUAN: 141}
    p = bundled["problems"]
    said = p[(p.source_file == GUYUAN)
             & p.message.str.startswith("141 empty template row(s)")]
    assert said.line.tolist() == [17] and "line(s) 17, 19, 20, 22, 23," in said.message.iloc[0]
    assert (bundled["indicators"].line.isin([17, 19, 20]) & (bundled["indicators"].source_file == GUYUAN)).sum() == 0


EXTERNAL = Path(__file__).resolve().parents[1].parent / "shared" / "external"


@pytest.mark.skipif(not EXTERNAL.is_dir(), reason="development set ../shared/external absent")
def test_every_table_line_of_the_development_set_has_a_fate():
    """The other provinces' forms, read by rows or by tokens: no line of a recognised table is unaccounted."""
    t = ingest(EXTERNAL, jobs=1, progress=False)
    f = t["files"].dropna(subset=["table_lines"])
    assert len(f) >= 20 and f.lines_unaccounted.sum() == 0
    fates = ["lines_consumed", "lines_placeholder", "lines_leftover", "lines_blank"]
    assert (f[fates].sum(axis=1) == f.table_lines).all()


def test_a_title_with_nothing_readable_under_it_is_named_with_its_line():
    from perfdata.ingest import read_bytes

    text = "说明\n某某县2023年度项目支出绩效自评表\n这里只有一句话，没有表格。\n"
    (p,) = read_bytes(text.encode(), "x.txt").tables["problems"]
    assert (p["severity"], p["line"]) == ("error", 2)
    assert p["message"] == ("no known table found: line 2 has a title (“某某县2023年度项目支出绩效自评表”) but nothing "
                            "after it reads as its table (an unknown layout?)")
    (q,) = read_bytes("一段文字\n没有表题\n".encode(), "y.txt").tables["problems"]
    assert q["line"] is None and q["message"].startswith("no known table found (not a self-evaluation document")


def test_a_region_read_from_a_title_follows_its_year():
    """A form whose department names no region takes one from its title, after the title's year: '2021年度蔡甸区…'
    is 蔡甸区; '2021年度区级森林防火专项经费…' (湖北 #18) names none, where '2021年度区' was taken for one."""
    from perfdata.ingest import TITLE_REGION

    assert [m.group(1) if (m := TITLE_REGION.match(t)) else None for t in (
        "2021年度蔡甸区森林防火项目绩效自评表", "2021年度区级森林防火专项经费项目绩效自评表",
        "兴隆县2024年项目支出绩效自评表", "项目支出绩效自评表")] == ["蔡甸区", None, "兴隆县", None]
