"""Shared fixtures: the bundled real documents and their ingest (read once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from perfdata.ingest import ingest

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data" / "raw"
XINGLONG = "hebei-xinglong-county-hrss-2024-project-self-evaluations.txt"
XINXIANG = "henan-xinxiang-county-hrss-2021-self-evaluations.txt"
GUYUAN = "ningxia-guyuan-city-hrss-2024-project-self-evaluations.txt"
XIANGHE = "hebei-xianghe-county-hrss-2023-budget-disclosure.txt"


@pytest.fixture(scope="session")
def bundled():
    return ingest(RAW, jobs=1, progress=False)


def form_of(tables, source_file: str, project_name: str, nth: int = 0):
    f = tables["forms"]
    hits = f[(f.source_file == source_file) & (f.project_name == project_name)]
    assert len(hits) > nth, f"{project_name!r} not found in {source_file}"
    return hits.iloc[nth]


def indicators_of(tables, form_id: str):
    ind = tables["indicators"]
    return ind[ind.form_id == form_id].reset_index(drop=True)
