"""Write and load the tidy tables: Parquet by default, CSV or Excel for people.

Text from documents stays text in a spreadsheet: a CSV or workbook cell whose text starts with = + - @ (or a tab
or carriage return) would be a formula in Excel, so it is written with Excel's quote prefix (formula_safe); CSV
is read back without it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from perfdata import schema

FORMATS = ("parquet", "csv", "xlsx")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# a number as text (-12.5, +3, 1,234.5, 95%) is no formula: it stays as it is
_NUMBER = re.compile(r"[+-]?(?:\d[\d,]*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?%?")
_QUOTED = re.compile(r"'+[=+\-@\t\r]")
_RISKY = r"'*[=+\-@\t\r]"  # what formula_safe looks at more closely


def write(tables: dict[str, pd.DataFrame], out: str | Path, fmt: str = "parquet") -> list[Path]:
    """Write each table to OUT/<table>.<fmt> (one workbook with a sheet per table for xlsx)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    if fmt == "xlsx":
        path = out / "tables.xlsx"
        with pd.ExcelWriter(path, engine="openpyxl") as xw:
            for name, df in tables.items():
                formula_safe(df).to_excel(xw, sheet_name=name, index=False)
        return [path]
    for name, df in tables.items():
        path = out / f"{name}.{fmt}"
        tmp = path.with_suffix(path.suffix + ".tmp")
        if fmt == "parquet":
            df.to_parquet(tmp, index=False)
        elif fmt == "csv":
            # CRLF line ends (RFC 4180): a cell holding a carriage return is then quoted, not a broken row
            formula_safe(df).to_csv(tmp, index=False, encoding="utf-8-sig", lineterminator="\r\n")
        else:
            raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
        tmp.replace(path)  # never leave a half-written table behind
        written.append(path)
    return written


def is_formula(text) -> bool:
    """Whether a text cell would be taken for a formula by a spreadsheet (a number as text is not).

    >>> is_formula("=HYPERLINK(\\"x\\")"), is_formula("-12.5"), is_formula("-2+3"), is_formula("兴隆县")
    (True, False, True, False)
    """
    return isinstance(text, str) and text.startswith(FORMULA_START) and not _NUMBER.fullmatch(text)


def _quote(text):
    """The text with Excel's quote prefix when it would be a formula (or already starts with quotes before one, so
    that reading it back takes exactly one quote off)."""
    if isinstance(text, str) and (is_formula(text) or _QUOTED.match(text)):
        return "'" + text
    return text


def formula_safe(df: pd.DataFrame) -> pd.DataFrame:
    """The frame with every text cell that would be a formula prefixed with ' (numbers and numeric columns as
    they are), for CSV and workbooks people open in Excel.

    >>> formula_safe(pd.DataFrame({"t": ["=1+1", "-12.5", "@x"], "n": [-12.5, 1.0, 2.0]})).to_dict("list")
    {'t': ["'=1+1", '-12.5', "'@x"], 'n': [-12.5, 1.0, 2.0]}
    """
    out = None
    for k in range(df.shape[1]):
        s = df.iloc[:, k]
        if not (pd.api.types.is_string_dtype(s.dtype) or s.dtype == object):
            continue
        risky = s.astype(object).str.match(_RISKY, na=False).to_numpy(bool)  # one C pass; few cells are risky
        if not risky.any():
            continue
        values = s.astype(object).to_numpy(copy=True)
        values[risky] = [_quote(v) for v in values[risky]]
        if out is None:
            out = df.copy()
        out.isetitem(k, pd.Series(values, index=s.index, dtype=s.dtype))
    return df if out is None else out


def _unquote(df: pd.DataFrame) -> pd.DataFrame:
    """A CSV table as written before formula_safe: one quote taken off the cells it quoted."""
    for col in df.columns:
        s = df[col]
        if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
            quoted = s.str.match(_QUOTED.pattern, na=False)
            if quoted.any():
                df.loc[quoted, col] = s[quoted].str.slice(1)
    return df


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
                df = pd.read_parquet(path) if fmt == "parquet" else _unquote(pd.read_csv(path, dtype=str))
                tables[name] = schema.conform(name, df)
                break
    if not tables:
        raise FileNotFoundError(f"{data_dir}: no tables found; run `perfdata ingest` first")
    return tables
