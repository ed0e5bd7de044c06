"""Write and load the tidy tables: Parquet by default, CSV or Excel for people."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from perfdata import schema

FORMATS = ("parquet", "csv", "xlsx")


def write(tables: dict[str, pd.DataFrame], out: str | Path, fmt: str = "parquet") -> list[Path]:
    """Write each table to OUT/<table>.<fmt> (one workbook with a sheet per table for xlsx)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    if fmt == "xlsx":
        path = out / "tables.xlsx"
        with pd.ExcelWriter(path, engine="openpyxl") as xw:
            for name, df in tables.items():
                _excel_safe(df).to_excel(xw, sheet_name=name, index=False)
        return [path]
    for name, df in tables.items():
        path = out / f"{name}.{fmt}"
        tmp = path.with_suffix(path.suffix + ".tmp")
        if fmt == "parquet":
            df.to_parquet(tmp, index=False)
        elif fmt == "csv":
            df.to_csv(tmp, index=False, encoding="utf-8-sig")
        else:
            raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
        tmp.replace(path)  # never leave a half-written table behind
        written.append(path)
    return written


def _excel_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Text from documents stays text: a cell starting with = + - @ must not become a formula."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == "string":
            s = out[col]
            risky = s.str.match(r"^[=+\-@]", na=False)
            if risky.any():
                out.loc[risky, col] = "'" + s[risky]
    return out


def load(data_dir: str | Path = "data/processed") -> dict[str, pd.DataFrame]:
    """The tidy tables written by `perfdata ingest`, with their declared dtypes."""
    data_dir = Path(data_dir)
    if not data_dir.exists():
        raise FileNotFoundError(f"{data_dir}: no such folder; run `perfdata ingest` first")
    tables = {}
    for name in schema.TABLES:
        for fmt in ("parquet", "csv"):
            path = data_dir / f"{name}.{fmt}"
            if path.exists():
                df = pd.read_parquet(path) if fmt == "parquet" else pd.read_csv(path, dtype=str)
                tables[name] = schema.conform(name, df)
                break
    if not tables:
        raise FileNotFoundError(f"{data_dir}: no tables found; run `perfdata ingest` first")
    return tables
