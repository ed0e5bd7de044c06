"""`perfdata run` on a generated batch of 100 files (25 copies of the bundled documents, each copy's regions
renamed, so 100 departments and thousands of findings): every table and chart keeps its size rule, every count
stays true, the pages stay small, and nothing English, missing or truncated shows.

The same tests on the large batch of 800 files (8,600 forms, about 21,600 findings; several minutes):
PERFDATA_SCALE_COPIES=200 python -m pytest tests/test_report_scale.py"""

from __future__ import annotations

import json
import os
import re

import pandas as pd
import pytest
from openpyxl import load_workbook
from PIL import Image

from perfdata import cli
from tests.conftest import RAW
from tests.report_checks import assert_clean_csv, assert_clean_html, assert_clean_workbook

COPIES = int(os.environ.get("PERFDATA_SCALE_COPIES", "25"))
TAGS = "东西南北中上下前后左右甲乙丙丁戊己庚辛壬癸子丑寅卯"
REGIONS = ("兴隆县", "新乡县", "固原市", "香河县")


@pytest.fixture(scope="session")
def batch(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("batch")
    raw = tmp / "raw"
    raw.mkdir()
    for k in range(COPIES):
        for f in sorted(RAW.glob("*.txt")):
            text = f.read_text(encoding="utf-8")
            tag = TAGS[k % len(TAGS)] + (TAGS[k // len(TAGS) - 1] if k >= len(TAGS) else "")
            for r in REGIONS:
                text = text.replace(r, r[:-1] + tag + r[-1])
            (raw / f"{f.stem}-{k:02d}.txt").write_text(text, encoding="utf-8")
    code = cli.main(["run", str(raw), "--processed", str(tmp / "processed"), "--out", str(tmp / "reports"),
                     "--run-id", "batch"])
    assert code == 0
    return tmp, tmp / "reports" / "batch"


def _text(folder, name):
    return (folder / f"{name}.html").read_text(encoding="utf-8")


def test_pages_stay_small_and_clean(batch):
    tmp, folder = batch
    found = pd.read_parquet(tmp / "processed" / "anomalies.parquet")
    forms = pd.read_parquet(tmp / "processed" / "forms.parquet")
    assert len(forms) == 43 * COPIES and len(found) > 2000 and forms.department.nunique() > 60
    for nb in ("forms", "overview"):
        page = _text(folder, nb)
        assert len(page.encode("utf-8")) < 2_000_000, f"{nb}.html is {len(page.encode()):,} bytes"
        assert_clean_html(page, nb)


def test_every_table_has_a_size_rule(batch):
    _, folder = batch
    for nb in ("forms", "overview"):
        page = _text(folder, nb)
        for table in re.findall(r'<table class="pd tex2jax_ignore">(.*?)</table>', page, re.S):
            assert table.count("<tr>") <= 31, nb  # a header and at most 30 rows
        capped = re.findall(r"共 ([\d,]+) (?:项|条|个文件)，列前 (\d+) (?:项|条|个文件)，全部见 ", page)
        assert capped, nb
        assert all(int(n.replace(",", "")) > int(m) for n, m in capped)
    assert f"共 {4 * COPIES:,} 个文件，列前 10 个文件，全部见 manifest.json" in _text(folder, "forms")


def test_charts_are_capped(batch):
    _, folder = batch
    for png in (folder / "charts").glob("*.png"):
        with Image.open(png) as im:
            assert im.height < 3200 and im.width < 2400, f"{png.name}: {im.size}"
    listing = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert listing["status"] == "ok"


def test_counts_stay_true_on_the_batch(batch):
    tmp, folder = batch
    found = pd.read_parquet(tmp / "processed" / "anomalies.parquet")
    tables = folder / "tables"
    overview = _text(folder, "overview")
    n = len(found)
    assert f"共 <strong>{n:,} 条问题</strong>" in overview
    for name in ("anomalies_by_department", "anomalies_by_rule", "anomalies_by_category"):
        assert pd.read_csv(tables / f"{name}.csv")["合计"].sum() == n, name
    assert pd.read_csv(tables / "overview.csv")["问题数"].sum() == n
    heads = re.findall(r"（([\d,]+) 条：[^）]*）</h3>", overview)
    assert sum(int(h.replace(",", "")) for h in heads) == n  # the grouped findings cover every finding
    header, body = assert_clean_csv(tables / "anomalies.csv")
    assert len(body) == n and "证据" in header  # the CSV holds all of them
    forms = _text(folder, "forms")
    assert f"共 <strong>{43 * COPIES:,} 份项目支出绩效自评表</strong>" in forms
    bins = pd.read_csv(tables / "execution_distribution.csv")
    assert bins["表单数"].sum() == 43 * COPIES
    below = bins.loc[bins["低于说明阈值"] == "是", "表单数"].sum()
    assert f"执行率低于 90% 的表单 <strong>{below:,} 份</strong>" in forms
    low = pd.read_csv(tables / "below_threshold.csv")
    assert f"执行率低于 90% 的项目 <strong>{len(low):,} 个</strong>" in forms


def test_workbook_of_the_batch(batch):
    tmp, folder = batch
    found = pd.read_parquet(tmp / "processed" / "anomalies.parquet")
    wb = load_workbook(folder / "anomalies.xlsx")
    ws = wb["问题清单"]
    assert ws.max_row == len(found) + 1
    rows = list(wb["部门×年度"].iter_rows(min_row=2, values_only=True))
    assert rows[-1][-1] == len(found) == sum(r[-1] for r in rows[:-1])
    assert_clean_workbook(wb)
