"""benchmarks/external.py: the scoring of the development set, on hand-made tables, and one real run."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pandas as pd
import pytest

from perfdata import schema

ROOT = Path(__file__).resolve().parents[1]


def _load():
    spec = importlib.util.spec_from_file_location("benchmarks_external", ROOT / "benchmarks" / "external.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


ext = _load()

GOLD_COLUMNS = ["file", "form_type", "project_name", "budget_initial", "budget_full_year", "executed",
                "exec_rate", "total_score", "n_indicator_rows_visible", "amount_unit"]


def index(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame([{c: r.get(c, "") for c in GOLD_COLUMNS} for r in rows], dtype=str)


def tables(forms=(), indicators=(), department_forms=(), department_indicators=(), summary_rows=(),
           problems=()) -> dict[str, pd.DataFrame]:
    return {
        "forms": schema.frame("forms", list(forms)),
        "indicators": schema.frame("indicators", list(indicators)),
        "department_forms": schema.frame("department_forms", list(department_forms)),
        "department_indicators": schema.frame("department_indicators", list(department_indicators)),
        "summary_rows": schema.frame("summary_rows", list(summary_rows)),
        "problems": schema.frame("problems", list(problems)),
    }


A = {"file": "a.txt", "form_type": "project", "project_name": "51000021R000000019951-工资性支出",
     "budget_initial": "238.93", "budget_full_year": "251.89", "executed": "251.89", "exec_rate": "100.00%",
     "total_score": "98.5", "n_indicator_rows_visible": "2", "amount_unit": "万元"}
B = {"file": "b.txt", "form_type": "project", "project_name": "委托业务项目", "budget_full_year": "10",
     "executed": "8", "exec_rate": "80 %", "n_indicator_rows_visible": "1", "amount_unit": "万元"}


def form(file, form_id, name, line_start=1, **figures):
    return {"form_id": form_id, "source_file": file, "line_start": line_start, "line_end": line_start + 20,
            "project_name": name, **figures}


def perfect_read():
    forms = [
        form("a.txt", "fa", "51000021R000000019951-工资性支出", budget_initial=238.93, budget_full_year=251.89,
             executed=251.89, exec_rate_reported=100.0, total_score_reported=98.5),
        form("b.txt", "fb", "委托业务项目", budget_full_year=10.0, executed=8.0, exec_rate_reported=80.0),
    ]
    inds = [{"form_id": "fa", "source_file": "a.txt", "seq": k} for k in (1, 2)]
    inds += [{"form_id": "fb", "source_file": "b.txt", "seq": 1}]
    return forms, inds


def test_perfect_read_is_100_percent():
    forms, inds = perfect_read()
    r = ext.score(tables(forms, inds), index(A, B))
    p = r["groups"]["project"]
    assert (p["n"], p["found"], p["fields_total"], p["fields_exact"]) == (2, 2, 10, 10)
    assert p["fields_exact_pct"] == 100.0
    assert r["indicator_rows"] == {"read": 3, "gold": 3}
    assert ext.summary_lines(r)[0] == "found=2/2 fields_exact=100.0%"


def test_one_wrong_rate_costs_exactly_one_field():
    forms, inds = perfect_read()
    forms[1]["exec_rate_reported"] = 0.8  # a fraction instead of percent
    r = ext.score(tables(forms, inds), index(A, B))
    assert r["groups"]["project"]["fields_exact"] == 9
    assert r["groups"]["project"]["fields_exact_pct"] == 90.0
    b = r["files"][1]["fields"]
    assert not b["exec_rate"]["exact"] and all(v["exact"] for k, v in b.items() if k != "exec_rate")


def test_null_read_and_missing_file_are_wrong():
    forms, inds = perfect_read()
    forms[1]["executed"] = None
    r = ext.score(tables(forms[1:], inds), index(A, B))
    p = r["groups"]["project"]
    assert (p["found"], p["fields_exact"], p["fields_total"]) == (1, 3, 10)  # a.txt not found: 6 fields wrong
    assert r["indicator_rows"] == {"read": 1, "gold": 3}


def test_yuan_gold_matches_wan_yuan_read():
    gold = {"file": "y.txt", "form_type": "project", "project_name": "普陀体育中心与委托运营方结 算费用",
            "budget_initial": "250000.00", "executed": "215457.6", "exec_rate": "86.19%", "amount_unit": "元"}
    read = form("y.txt", "fy", "普陀体育中心与委托运营方结算费用", budget_initial=25.0, executed=21.54576,
                exec_rate_reported=86.19)
    r = ext.score(tables([read]), index(gold))
    assert r["groups"]["project"]["fields_exact_pct"] == 100.0
    # the same figure read in 元 (not converted) is wrong
    read["executed"] = 215457.6
    r = ext.score(tables([read]), index(gold))
    assert r["groups"]["project"]["fields_exact"] == 3


def test_traditional_name_with_pinyin_artefacts_matches_simplified():
    pytest.importorskip("opencc")
    assert ext.has_opencc()
    gold = {"file": "t.txt", "form_type": "project", "project_name": "區(qū)級森林防火專項(xiàng)經(jīng)費(fèi)",
            "amount_unit": "万元"}
    r = ext.score(tables([form("t.txt", "ft", "区级森林防火专项经费")]), index(gold))
    assert r["files"][0]["fields"]["project_name"]["exact"]
    r = ext.score(tables([form("t.txt", "ft", "区级森林防火经费")]), index(gold))
    assert not r["files"][0]["fields"]["project_name"]["exact"]


def test_name_normalisation_keeps_tags_and_drops_codes():
    assert ext.normalise_name("51092324T000010263357-2023年 全县项目") == "2023年全县项目"
    assert ext.normalise_name("【体制】自管道路经费") == "【体制】自管道路经费"
    assert ext.normalise_name("水土保持監(jiān)測").startswith("水土保持")
    assert "(" not in ext.normalise_name("水土保持監(jiān)測")
    assert ext.parse_gold("100 %") == 100.0 and ext.parse_gold("238.93") == 238.93
    assert ext.parse_gold("") is None


def test_file_with_two_forms_picks_the_gold_one():
    gold = {"file": "two.txt", "form_type": "project", "project_name": "援滇对口支援及结对帮扶经费",
            "executed": "0.9034", "n_indicator_rows_visible": "1", "amount_unit": "万元"}
    forms = [form("two.txt", "f1", "普陀体育中心与委托运营方结算费用", line_start=1, executed=21.54576),
             form("two.txt", "f2", "援滇对口支援及结对帮扶经费", line_start=40, executed=0.9034)]
    inds = [{"form_id": "f1", "source_file": "two.txt", "seq": k} for k in (1, 2, 3)]
    inds += [{"form_id": "f2", "source_file": "two.txt", "seq": 1}]
    r = ext.score(tables(forms, inds), index(gold))
    f = r["files"][0]
    assert f["form_id"] == "f2" and f["lines"] == [40, 60]
    assert f["fields"]["executed"]["exact"] and f["indicator_rows_read"] == 1
    # no gold name: the first form by line, whatever the table order
    gold["project_name"] = ""
    r = ext.score(tables(forms[::-1], inds), index(gold))
    assert r["files"][0]["form_id"] == "f1"


def test_department_and_summary_rows():
    dept = {"file": "d.txt", "form_type": "department_overall", "project_name": "零陵区林业局",
            "budget_initial": "4753.66", "total_score": "97.93", "n_indicator_rows_visible": "2",
            "amount_unit": "万元"}
    summ = {"file": "s.txt", "form_type": "summary", "budget_full_year": "17758.87", "executed": "14520.34",
            "exec_rate": "81.76%", "n_indicator_rows_visible": "2", "amount_unit": "万元"}
    t = tables(
        department_forms=[{"dept_form_id": "d1", "source_file": "d.txt", "line_start": 3, "department": "零陵区林业局",
                           "budget_total": 4753.66, "total_score": 97.93}],
        department_indicators=[{"dept_form_id": "d1", "source_file": "d.txt", "seq": 1}],
        summary_rows=[
            {"source_file": "s.txt", "line_start": 5, "table_line": 1, "project_name": "合计", "budget": 17758.87,
             "executed": 14520.34, "exec_rate_reported": 81.76, "is_total": True},
            {"source_file": "s.txt", "line_start": 9, "table_line": 1, "project_name": "甲", "budget": 1.0},
            {"source_file": "s.txt", "line_start": 12, "table_line": 1, "project_name": "乙", "budget": 2.0},
        ])
    r = ext.score(t, index(dept, summ))
    d, s = r["groups"]["department_overall"], r["groups"]["summary"]
    assert (d["found"], d["fields_exact"], d["fields_total"]) == (1, 3, 3)
    assert (s["found"], s["fields_exact"], s["fields_total"]) == (1, 3, 3)
    assert r["indicator_rows"] == {"read": 1 + 2, "gold": 4}
    assert ext.summary_lines(r)[1] == "department found=1/1 fields_exact=100.0%  summary found=1/1 fields_exact=100.0%"


def test_missing_folder_exits_2(tmp_path, capsys):
    assert ext.main(["--dir", str(tmp_path / "nowhere")]) == 2
    assert ext.main(["--dir", str(tmp_path)]) == 2  # no index.csv
    assert "index.csv" in capsys.readouterr().err


def test_real_development_set_runs(tmp_path):
    folder = ext.default_dir()
    if not (folder / "index.csv").is_file():
        pytest.skip(f"no development set at {folder}")
    r = ext.score(ext.read_folder(folder), ext.load_index(folder))
    p = r["groups"]["project"]
    assert p["n"] == 17 and 0 <= p["found"] <= 17
    assert 0 <= p["fields_exact_pct"] <= 100
    assert ext.main(["--dir", str(folder), "--json", str(tmp_path / "x.json"), "--verbose"]) == 0
    assert (tmp_path / "x.json").stat().st_size > 0


def test_the_token_reader_alone_reads_the_development_set_as_ingest_does():
    """Every excerpt read by the token reader alone (the three that ingest reads by rows among them: 02, 13
    and 19, markdown rows whose figures sit one cell off their header's) scores as ingest's reading: the
    same forms found, the same fields exact, the same indicator rows."""
    folder = ext.default_dir()
    if not (folder / "index.csv").is_file():
        pytest.skip(f"no development set at {folder}")
    index_ = ext.load_index(folder)
    auto, tokens = (ext.score(ext.read_folder(folder, reader), index_) for reader in ("auto", "tokens"))
    for group in ("project", "department_overall", "summary"):
        a, t = auto["groups"][group], tokens["groups"][group]
        assert (t["found"], t["fields_exact_pct"]) == (a["found"], a["fields_exact_pct"]), group
    assert tokens["groups"]["project"]["found"] == 17
    assert tokens["indicator_rows"] == auto["indicator_rows"]


def test_summary_group_rows_count_as_item_rows_and_the_total_does_not():
    """A summary's visible rows are its items and its group rows (一 / (一), subtotals of the items under
    them), as index.csv counts them; the 合计 row is the table's total, not a row."""
    summ = {"file": "s.txt", "form_type": "summary", "budget_full_year": "30", "n_indicator_rows_visible": "3",
            "amount_unit": "万元"}
    t = tables(summary_rows=[
        {"source_file": "s.txt", "line_start": 5, "table_line": 1, "project_name": "合计", "budget": 30.0,
         "is_total": True, "is_subtotal": False},
        {"source_file": "s.txt", "line_start": 6, "table_line": 1, "project_name": "高校学生资助专项",
         "budget": 30.0, "is_total": True, "is_subtotal": True},
        {"source_file": "s.txt", "line_start": 7, "table_line": 1, "project_name": "甲", "budget": 10.0},
        {"source_file": "s.txt", "line_start": 8, "table_line": 1, "project_name": "乙", "budget": 20.0},
    ])
    r = ext.score(t, index(summ))
    assert r["indicator_rows"] == {"read": 3, "gold": 3}
