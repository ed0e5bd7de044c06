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
MANIFEST = "_dataset.json"  # in a partitioned dataset's folder (perfdata.dataset); read here without importing it
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# a number as text (-12.5, +3, 1,234.5, 95%) is no formula: it stays as it is
_NUMBER = re.compile(r"[+-]?(?:\d[\d,]*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?%?")
_QUOTED = re.compile(r"'+[=+\-@\t\r]")
_RISKY = r"'*[=+\-@\t\r]"  # what formula_safe looks at more closely


def write(tables: dict[str, pd.DataFrame], out: str | Path, fmt: str = "parquet") -> list[Path]:
    """Write each table to OUT/<table>.<fmt> (one workbook with a sheet per table for xlsx).

    Not the ingest's tables into a partitioned dataset's folder: load() would go on reading the dataset there,
    not these; other tables (anomalies) may sit beside a dataset's.
    """
    out = Path(out)
    if (out / MANIFEST).exists() and set(tables) & set(schema.INGEST_TABLES):
        raise ValueError(f"{out} holds a partitioned dataset ({MANIFEST}): write the tables to another folder, "
                         "or ingest into it with partitioned=True")
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


def load(data_dir: str | Path = "data/processed", years=None, regions=None,
         tables=None) -> dict[str, pd.DataFrame]:
    """The tidy tables written by `perfdata ingest`, with their declared dtypes.

    A partitioned dataset (a folder with _dataset.json, from `ingest(..., partitioned=True)`) is read by
    perfdata.dataset.load: `years` and `regions` are pushed down, so other partitions are never opened. Flat
    tables are read whole and then filtered the same way (dataset.select), so both give the same rows; a table
    beside them (anomalies) keeps the rows of the forms kept, or of the files kept where it names no form.
    `tables` names the tables to read (default: all found).
    """
    data_dir = Path(data_dir)
    if not data_dir.exists():
        raise FileNotFoundError(f"{data_dir}: no such folder; run `perfdata ingest` first")
    names = list(schema.TABLES) if tables is None else list(tables)
    unknown = [n for n in names if n not in schema.TABLES]
    if unknown:
        raise ValueError(f"unknown table(s): {', '.join(unknown)}; known: {', '.join(schema.TABLES)}")
    filtered = years is not None or regions is not None
    if (data_dir / MANIFEST).exists():
        from perfdata import dataset

        ingested = [n for n in names if n in schema.INGEST_TABLES]
        others = _read_flat(data_dir, [n for n in names if n not in schema.INGEST_TABLES])
        if not others:
            return dataset.load(data_dir, years=years, regions=regions, tables=ingested)
        # what the tables beside need to be filtered: the records and the files kept
        kept = dataset.load(data_dir, years=years, regions=regions,
                            tables=list(dict.fromkeys([*ingested, *(RECORDS if filtered else ())])))
        out = {**kept, **{n: _beside(df, kept) if filtered else df for n, df in others.items()}}
        return {n: out[n] for n in names if n in out}
    out = _read_flat(data_dir, list(dict.fromkeys([*names, *(RECORDS if filtered else ())])))
    if not out:
        raise FileNotFoundError(f"{data_dir}: no tables found; run `perfdata ingest` first")
    if filtered:
        from perfdata import dataset

        kept = dataset.select({n: df for n, df in out.items() if n in schema.INGEST_TABLES}, years=years,
                              regions=regions)
        out = {n: kept[n] if n in kept else _beside(df, kept) for n, df in out.items()}
    return {n: out[n] for n in names if n in out}


RECORDS = ("forms", "department_forms", "targets", "files")  # what places the rows of a filtered load


def _read_flat(data_dir: Path, names: list[str]) -> dict[str, pd.DataFrame]:
    """OUT/<table>.parquet (or .csv) of each name found."""
    out = {}
    for name in names:
        for fmt in ("parquet", "csv"):
            path = data_dir / f"{name}.{fmt}"
            if path.exists():
                df = pd.read_parquet(path) if fmt == "parquet" else _unquote(pd.read_csv(path, dtype=str))
                out[name] = schema.conform(name, df)
                break
    return out


def _beside(df: pd.DataFrame, kept: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Rows of a table that is not the ingest's (anomalies) of the forms kept, or of the files kept where a row
    names no form."""
    if "source_file" not in df:
        return df
    ids = set()
    for name, col in (("forms", "form_id"), ("department_forms", "dept_form_id"), ("targets", "target_id")):
        if name in kept:
            ids |= set(kept[name][col].dropna())
    files = set(kept["files"].source_file.dropna()) if "files" in kept else set()
    keep = df.source_file.isin(files)
    if "form_id" in df:
        keep = df.form_id.isin(ids) | (df.form_id.isna() & keep)
    return df[keep.fillna(False).to_numpy(bool)].reset_index(drop=True)
