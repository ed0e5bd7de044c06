"""The tidy tables as a partitioned Parquet dataset, written while the batch is read.

Why: the in-memory ingest holds every table of a batch in one process (about 14 MiB per 1,000 forms). Here
each reader process (or each task on an executor, e.g. a dask cluster) writes the tables of its batch of
files as part files and sends back only a small record per file, so memory stays that of one batch however
large the folder; a re-run reads only the files whose bytes changed; load() reads back only the regions,
years and tables asked for.

    perfdata.ingest(raw, out=OUT, partitioned=True)      # → Summary (counts, the files table)
    load(OUT, years=[2024], regions=["兴隆县"], tables=["forms", "indicators"])
    check_partitions(OUT)                                # perfdata.check, one unit of groups at a time

Layout of OUT (Hive partitions: pyarrow.dataset, DuckDB and Spark read them as they are):

    _dataset.json                                    manifest and cache: the rules version, every input file
                                                     with its SHA-256, its files row, its groups and parts
    forms/region=兴隆县/year=2024/part-<key>.parquet   one batch's forms of that region and year
    funding/…, indicators/…, leftovers/…, …           every table but two, partitioned the same way
    files/part-<key>.parquet, problems/…             not partitioned: filtered through source_file
    _staged/summary_rows/…, targets/…, statements/…  those three as read, before they are linked to forms
    summary_rows/region=…/year=…/link-<key>.parquet  … and linked (keys.link), one part per unit and group

<key> hashes the rules version with the names and SHA-256 of the files in the part: a batch read again (a
task retried) writes the same file, and only parts the manifest lists are read. A row's partition is its
record's region and year: a form's own; funding, indicators and leftovers those of their form; department
forms and target tables the region of their department and their year (their indicators theirs); rows of
no record (summary rows, statements, the tables list) those of the file's most frequent group. A hidden
column `_row` keeps each file's reading order: load() returns every table in the ingest's file order and,
within a file, in reading order — the in-memory ingest's order, except that the problems keys.link adds
(appended after all files there) sit at the end of their file's problems (in_file_order() gives the same).

A unit is a set of groups (region, year) that cross-document work must see together: groups joined by a
file with rows in both, or by a year and department that forms and target tables share (keys.link looks
for a target table's form among the forms of its department and year). Linking and check_partitions() run
per unit: for documents of one department and year a unit is one group.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections import defaultdict
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from perfdata import schema
from perfdata.ingest import (
    FileResult,
    _duplicate,
    _progress,
    _refused,
    _region,
    _sha256_of,
    combine,
    default_jobs,
    executor_of,
    executor_slots,
    limits,
    read_files,
    scan,
)
from perfdata.keys import LINKED, link
from perfdata.store import MANIFEST

FORMAT = 1  # of the layout and the manifest: another value reads every file again
STAGED = "_staged"
ROW = "_row"
FLAT = ("files", "problems")  # not partitioned: one row per file or per message, filtered by source_file
LINKED_TABLES = tuple(LINKED)  # summary_rows, targets, statements: linked per unit after the reading
LINK_ROW = 1 << 40  # _row of a problem keys.link adds: after the file's own problems
MAX_BATCH_BYTES = 4 * 2**20  # input bytes per batch: a reader process holds one batch's tables at a time
SHOWN = 20  # error and warning rows the summary lists (all are in the problems table)
MEMO_ENTRIES = 100_000  # a reader process empties the reading memos past this many entries (see _trim_memos)
NULL = "__HIVE_DEFAULT_PARTITION__"  # a null region or year, as pyarrow's Hive partitioning spells it
PARTITIONS = pa.schema([("region", pa.string()), ("year", pa.int64())])
_ARROW = {"string": pa.string(), "Float64": pa.float64(), "Int64": pa.int64(), "boolean": pa.bool_()}
# what a cached reading depends on, besides the package version (see rules_version)
READING = ("grid.py", "normalize.py", "schema.py", "keys.py", "ingest.py", "dataset.py", "readers", "tables",
           "rules")
# settings of the checks, reports and audit analyses under rules/: they do not change what is read
NOT_READING = frozenset({"anomalies.csv", "display_messages.csv", "display_tables.csv", "display_values.csv",
                         "grades.csv", "thresholds.csv", "scoring.csv", "achievement.csv", "reason_phrases.csv",
                         "sampling.csv", "copies.csv", "digits.csv", "years.csv"})


def rules_version() -> str:
    """The package version and a hash of the rules tables and the code that reading depends on: a cached file
    is reused only under the same value, so a changed spelling, template or reader reads every file again
    (a changed check threshold or report label does not)."""
    import perfdata

    root = Path(perfdata.__file__).parent
    h = hashlib.sha256(f"{perfdata.__version__}\n{FORMAT}\n".encode())
    for item in READING:
        path = root / item
        for f in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if f.suffix in (".py", ".csv") and f.is_file() and f.name not in NOT_READING:
                h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    return f"{perfdata.__version__}-{h.hexdigest()[:16]}"


def _key(rules: str, files: list[tuple[str, str | None]]) -> str:
    """The name of a part: the same files with the same bytes under the same rules give the same name."""
    h = hashlib.sha256(rules.encode())
    for name, sha in files:
        h.update(f"\0{name}\0{sha}".encode())
    return h.hexdigest()[:24]


# -- partition keys ------------------------------------------------------------------------------------------

def _objects(s: pd.Series) -> np.ndarray:
    """Values as Python objects, None for missing (partition values)."""
    out = s.astype(object).to_numpy(copy=True)
    out[pd.isna(out)] = None
    return out


def _years(s: pd.Series) -> np.ndarray:
    return np.array([None if v is None else int(v) for v in _objects(s)], dtype=object)


def partition_keys(tables: dict[str, pd.DataFrame]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(region, year) of every row of every partitioned table (see the module docstring): object arrays,
    None where unknown. It depends only on each file's own rows, so a batch gives what the whole does."""
    empty = schema.frame("forms", [])
    forms = tables.get("forms", empty)
    records = [(forms.form_id, forms.source_file, _objects(forms.region), _years(forms.year))]
    for name, rid in (("department_forms", "dept_form_id"), ("targets", "target_id")):
        df = tables.get(name)
        if df is not None and len(df):
            region = np.array([_region(d) if isinstance(d, str) else None for d in _objects(df.department)],
                              dtype=object)
            records.append((df[rid], df.source_file, region, _years(df.year)))
    ids = pd.Index(np.concatenate([_objects(r[0]) for r in records]))
    files = np.concatenate([_objects(r[1]) for r in records])
    reg = np.concatenate([r[2] for r in records])
    yea = np.concatenate([r[3] for r in records])
    # the file's most frequent group (the first of equals, in reading order)
    g = pd.DataFrame({"f": files, "r": reg, "y": yea}).groupby(["f", "r", "y"], sort=False, dropna=False).size()
    g = g.reset_index(name="n")
    g = g.loc[g.groupby("f", sort=False).n.idxmax()] if len(g) else g
    home = {f: (r if isinstance(r, str) else None, None if pd.isna(y) else int(y))
            for f, r, y in zip(g.f, g.r, g.y, strict=True)}
    first = ~ids.duplicated() & ids.notna()
    ids, reg, yea = ids[first], reg[first], yea[first]

    def of_file(df):
        h = [home.get(f, (None, None)) for f in _objects(df.source_file)]
        return (np.array([r for r, _ in h], dtype=object), np.array([y for _, y in h], dtype=object))

    def of_record(df, col):
        pos = ids.get_indexer(_objects(df[col]))
        r, y = of_file(df)
        hit = pos >= 0
        r[hit], y[hit] = reg[pos[hit]], yea[pos[hit]]
        return r, y

    out = {}
    for name, df in tables.items():
        if name in FLAT or name not in schema.INGEST_TABLES:
            continue
        if name in ("forms", "department_forms", "targets", "funding", "indicators", "leftovers"):
            col = {"forms": "form_id", "department_forms": "dept_form_id", "targets": "target_id"}.get(name, "form_id")
            out[name] = of_record(df, col)
        elif name == "department_indicators":
            out[name] = of_record(df, "dept_form_id")
        elif name == "target_indicators":
            out[name] = of_record(df, "target_id")
        else:
            out[name] = of_file(df)
    return out


def _segment(value) -> str:
    """A partition value as a folder name (pyarrow decodes %XX)."""
    if value is None:
        return NULL
    return str(value).replace("%", "%25").replace("/", "%2F")


def _group_of(rel: str) -> tuple[str | None, int | None]:
    """The (region, year) of a part file from its path."""
    from urllib.parse import unquote

    parts = dict(p.split("=", 1) for p in Path(rel).parts if "=" in p)
    region, year = (None if parts.get(k, NULL) == NULL else unquote(parts[k]) for k in ("region", "year"))
    return region, None if year is None else int(year)


def _folder(table: str, group, staged: bool | None = None) -> str:
    """The folder of a table's parts of `group` (None: not partitioned); linked tables as read are staged."""
    base = f"{STAGED}/{table}" if (table in LINKED_TABLES if staged is None else staged) else table
    if group is None:
        return base
    return f"{base}/region={_segment(group[0])}/year={_segment(group[1])}"


# -- writing parts ---------------------------------------------------------------------------------------------

def arrow_schema(name: str) -> pa.Schema:
    """The Parquet schema of a table's part files: its declared columns and _row; a partitioned table's
    region and year are in the folder names only (as pyarrow's write_dataset leaves them), so that tools
    that read Hive partitions do not meet them twice."""
    drop = () if name in FLAT else PARTITIONS.names
    return pa.schema([(c.name, _ARROW[c.dtype]) for c in schema.TABLES[name] if c.name not in drop]
                     + [(ROW, pa.int64())])


def _arrow(name: str, df: pd.DataFrame) -> pa.Table:
    """A frame with _row as a part file's table (arrow_schema)."""
    s = arrow_schema(name)
    return pa.Table.from_pandas(df[s.names], schema=s, preserve_index=False)


def _with_row(df: pd.DataFrame) -> pd.DataFrame:
    """The table with _row: each row's position among its file's rows (the frame is in file order)."""
    codes = pd.factorize(df.source_file, use_na_sentinel=False)[0]
    return df.assign(**{ROW: pd.Series(codes).groupby(codes).cumcount().to_numpy(np.int64)})


def _put(root: Path, rel: str, table: pa.Table) -> str:
    """Write one part file atomically (a half-written part never has its final name)."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)
    return rel


@dataclass
class FileInfo:
    """What the parent keeps of a file read into part files: small, whatever the file held."""

    source_file: str
    sha256: str | None
    row: dict  # its files row
    groups: list = field(default_factory=list)  # (region, year) of its partitioned rows
    depts: list = field(default_factory=list)  # (year, department, region) of its forms and target tables
    linked: int = 0  # rows of summary_rows, targets and statements
    severities: dict = field(default_factory=dict)  # problems per severity
    batch: str | None = None  # key of the parts holding its rows
    parts: list = field(default_factory=list)  # those parts (one list for the whole batch)


def _sha(res: FileResult) -> str | None:
    return next((r.get("sha256") for r in res.tables.get("files", [])), None)


def write_batch(root: str, rules: str, results: list[FileResult]) -> list[FileInfo]:
    """Write the tables of a batch of files as part files under `root` (in the worker that read them) and
    return one FileInfo per file. Summary rows, targets and statements go to _staged/ unlinked."""
    root_path = Path(root)
    files = [(res.source_file, _sha(res)) for res in results]
    key = _key(rules, files)
    tables = combine(results, linked=False)
    keys = partition_keys(tables)
    parts: list[str] = []
    groups: dict[str, dict] = defaultdict(dict)
    for name, df in tables.items():
        if not len(df):
            continue
        table = _arrow(name, _with_row(df))
        if name in FLAT:
            parts.append(_put(root_path, f"{name}/part-{key}.parquet", table))
            continue
        region, year = keys[name]
        frame = pd.DataFrame({"f": _objects(df.source_file), "r": region, "y": year})
        for (r, y), idx in frame.groupby(["r", "y"], sort=False, dropna=False).indices.items():
            group = (r if isinstance(r, str) else None, None if pd.isna(y) else int(y))
            parts.append(_put(root_path, f"{_folder(name, group)}/part-{key}.parquet", table.take(idx)))
        for f, r, y in frame.drop_duplicates().itertuples(index=False):
            groups[f][(r if isinstance(r, str) else None, None if pd.isna(y) else int(y))] = None
    depts: dict[str, dict] = defaultdict(dict)
    for name, (region, year) in keys.items():
        if name in ("forms", "targets"):
            df = tables[name]
            for f, d, r, y in zip(_objects(df.source_file), _objects(df.department), region, year, strict=True):
                if isinstance(d, str) and y is not None:
                    depts[f][(y, d, r)] = None
    linked = {f: 0 for f, _ in files}
    for name in LINKED_TABLES:
        for f, n in tables[name].source_file.value_counts().items():
            linked[f] = linked.get(f, 0) + int(n)
    out = []
    for res, (name, sha) in zip(results, files, strict=True):
        problems = res.tables.get("problems", [])
        sev: dict[str, int] = {}
        for p in problems:
            sev[p["severity"]] = sev.get(p["severity"], 0) + 1
        row = next(iter(res.tables.get("files", [])), {})
        out.append(FileInfo(name, sha, {k: v for k, v in row.items() if k != "source_file"},
                            list(groups.get(name, {})), list(depts.get(name, {})), linked.get(name, 0), sev,
                            key, parts))
    _trim_memos()
    return out


def _trim_memos():
    """Empty the reader's memos once its plain-dict ones (normalize.CACHES) hold MEMO_ENTRIES entries: those
    keep every distinct line and figure seen, so a process reading batch after batch would grow with the
    whole folder (about 7 KiB per form), and the bounded lru_caches fill up to ~150 MiB. Emptied, a reader
    holds about what one batch needs, for a little time spent filling them again."""
    import sys

    from perfdata.normalize import CACHES

    if sum(map(len, CACHES)) <= MEMO_ENTRIES:
        return
    for d in CACHES:
        d.clear()
    for name, module in list(sys.modules.items()):
        if name.startswith("perfdata.") and module is not None:
            for obj in list(vars(module).values()):
                info = getattr(obj, "cache_info", None)
                if callable(info) and getattr(obj, "__module__", None) == name and info().maxsize is not None:
                    obj.cache_clear()


# -- the manifest ----------------------------------------------------------------------------------------------

def read_manifest(root: str | Path) -> dict | None:
    path = Path(root) / MANIFEST
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def _write_manifest(root: Path, manifest: dict):
    tmp = root / f".{MANIFEST}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(manifest, ensure_ascii=False, default=_plain), encoding="utf-8")
    os.replace(tmp, root / MANIFEST)


def _plain(v):
    """numpy scalars (and anything else) as JSON."""
    return v.item() if hasattr(v, "item") else str(v)


def _tuples(items) -> list[tuple]:
    return [tuple(x) for x in items]


# -- ingest into a dataset -------------------------------------------------------------------------------------

@dataclass
class Summary:
    """What an ingest into a dataset did: counts and the files table (the tables themselves are in `out`)."""

    out: Path
    files: pd.DataFrame  # one row per input, as the in-memory ingest's files table
    problems: pd.DataFrame  # the first SHOWN error and warning rows (all rows: the dataset's problems table)
    forms: int = 0
    read: int = 0  # files read this run
    reused: int = 0  # files whose tables were kept from the last run (same bytes, same rules)
    removed: int = 0  # files of the last run whose tables were dropped: gone, or now a copy of another
    changed: int = 0  # files of the last run read again: other bytes (or their parts were missing)
    duplicates: int = 0
    failed: int = 0
    severities: dict = field(default_factory=dict)
    units: int = 0
    parts: int = 0
    seconds: float = 0.0

    def __getitem__(self, name: str) -> pd.DataFrame:
        """summary["files"], summary["problems"]: what the CLI reads of the in-memory tables."""
        return {"files": self.files, "problems": self.problems}[name]

    def text(self) -> str:
        from perfdata import __version__

        status = self.files.status.value_counts() if len(self.files) else pd.Series(dtype=int)
        lines = [f"perfdata {__version__} — ingest into a dataset finished in {self.seconds:.2f} s",
                 f"  files       {len(self.files):>6}   read {self.read} (changed {self.changed}), reused "
                 f"{self.reused}, removed {self.removed}, copies {self.duplicates}; ok {int(status.get('ok', 0))}, "
                 f"partial {int(status.get('partial', 0))}, failed {int(status.get('failed', 0))}",
                 f"  forms       {self.forms:>6}",
                 "  problems    " + f"{sum(self.severities.values()):>6}   "
                 + ", ".join(f"{k} {v}" for k, v in sorted(self.severities.items())),
                 f"  units       {self.units:>6}   (groups of region and year checked together)",
                 f"  part files  {self.parts:>6}"]
        shown = self.problems
        if len(shown):
            lines += ["", "  problems:"]
            for p in shown.head(20).itertuples():
                where = f"{p.source_file}:{p.line}" if pd.notna(p.line) else p.source_file
                lines.append(f"    {p.severity:<7} {where}: {p.message}")
            more = self.severities.get("error", 0) + self.severities.get("warning", 0) - len(shown.head(20))
            if more > 0:
                lines.append(f"    … {more} more in the problems table (perfdata.load(OUT, tables=['problems']))")
        lines += ["", f"  dataset written to {self.out}/ (perfdata.load)"]
        return "\n".join(lines)

    __str__ = text


def _batch_size(args: list[tuple[Path, str]], workers: int) -> int:
    """Files per batch: about 8 batches per worker, and no more input bytes than MAX_BATCH_BYTES."""
    sizes = []
    for path, _ in args:
        try:
            sizes.append(path.stat().st_size)
        except OSError:
            sizes.append(0)
    mean = max(1.0, sum(sizes) / max(1, len(sizes)))
    return max(1, min(len(args) // (workers * 8) or 1, int(MAX_BATCH_BYTES // mean) or 1))


def write(raw: str | Path, out: str | Path, *, jobs: int | None = None, progress: bool | None = None,
          file_timeout: float | None = None, file_memory: int | None = None, isolate: bool = True,
          executor=None, cluster: str | None = None) -> Summary:
    """Ingest `raw` into the dataset at `out` (perfdata.ingest(..., out=, partitioned=True) calls this).

    Files whose name and SHA-256 are in the manifest under the same rules_version() are not read again;
    parts holding files that are gone, changed or now copies of another are rewritten without them. The
    reading runs like perfdata.ingest's (local worker processes under the limits, or `executor`/`cluster`);
    each batch's tables are written by the process that read them. Then summary rows, targets and
    statements are linked to the forms, per unit, and unreferenced part files are deleted.
    """
    t0 = time.perf_counter()
    raw, root = Path(raw), Path(out)
    rules = rules_version()
    old = read_manifest(root)
    if old is not None and (old.get("format") != FORMAT or old.get("rules") != rules):
        old = None  # other rules or layout: nothing reused
    found, refused = scan(raw)
    if not found and not refused:  # an empty folder (a failed mount?) must not empty the dataset
        return Summary(root, schema.frame("files", []), schema.frame("problems", []),
                       seconds=time.perf_counter() - t0)
    flat = [p.name for p in root.glob("forms.*") if p.suffix in (".parquet", ".csv")]
    if flat and old is None and not (root / MANIFEST).exists():
        raise ValueError(f"{root} holds flat tables ({flat[0]}, …) of an ingest without partitioned=True: "
                         "write the dataset to another folder")
    root.mkdir(parents=True, exist_ok=True)
    shas = []
    for path, _ in found:
        try:
            shas.append(_sha256_of(path))
        except OSError:
            shas.append(None)  # the reader says why
    first: dict[str, int] = {}
    copies: dict[int, int] = {}
    for k, sha in enumerate(shas):
        if sha is not None and sha in first:
            copies[k] = first[sha]
        elif sha is not None:
            first[sha] = k
    originals = [k for k in range(len(found)) if k not in copies]
    cached = {e["name"]: e for e in (old or {}).get("files", []) if e.get("batch")}
    batches = (old or {}).get("batches", {})
    have = {key for key, b in batches.items() if all((root / p).exists() for p in b["parts"])}
    keep = [k for k in originals if (e := cached.get(found[k][1])) and shas[k] and e["sha256"] == shas[k]
            and e["batch"] in have]
    kept = {found[k][1] for k in keep}
    todo = [k for k in originals if found[k][1] not in kept]
    batches, moved = _compact(root, batches, cached, kept, rules)
    names = {found[k][1] for k in originals}
    removed, changed = len(set(cached) - names), len(set(cached) & names - kept)

    timeout, memory = limits(file_timeout, file_memory)
    jobs = default_jobs(len(found)) if jobs is None else jobs
    bar = _progress(len(todo), progress)
    with executor_of(executor, cluster) as ex:
        _same_rules(ex, rules)
        args = [((found[k][0].absolute() if ex else found[k][0]), found[k][1]) for k in todo]
        size = _batch_size(args, executor_slots(ex, jobs) if ex else max(1, jobs))
        got = read_files(args, bar, jobs=jobs, timeout=timeout, memory=memory, isolate=isolate, executor=ex,
                         finish=partial(write_batch, str(root.absolute()), rules), size=size)
        bar.close()
        info: dict[int, FileInfo | dict] = {}
        extra: list[FileResult] = []
        for k, res in zip(todo, got, strict=True):
            if isinstance(res, FileInfo):
                info[k] = res
                batches.setdefault(res.batch, {"files": [], "parts": res.parts})
                batches[res.batch]["files"].append(res.source_file)
            else:  # stopped by a limit or a worker's death: an error row, written here, read again next run
                extra.append(res)
                info[k] = _info_of(res)
        for k in keep:
            e = dict(cached[found[k][1]])
            e["batch"] = moved.get(e["name"], e["batch"])
            info[k] = e
        for k, orig in copies.items():
            o = info[orig]
            src = FileResult(found[orig][1])
            src.add("files", dict(o.row if isinstance(o, FileInfo) else o["row"]))
            res = _duplicate(found[k][1], src, found[k][0])
            extra.append(res)
            info[k] = _info_of(res)
        entries = [_entry(info[k]) for k in range(len(found))]
        for r in refused:
            res = _refused(*r)
            extra.append(res)
            entries.append(_entry(_info_of(res)))
        entries.sort(key=lambda e: Path(e["name"]).parts)
        extra_parts = _write_extra(root, rules, extra)
        units = _units(entries)
        links = _link_all(root, rules, entries, units, batches, (old or {}).get("links", {}), ex)
    manifest = {"format": FORMAT, "rules": rules, "raw": str(raw.absolute()), "written": time.time(),
                "files": entries, "batches": batches, "links": links, "extra": extra_parts}
    _write_manifest(root, manifest)
    _collect_garbage(root, manifest)
    return _summary(root, manifest, read=len(todo), reused=len(keep), removed=removed, changed=changed,
                    duplicates=len(copies), seconds=time.perf_counter() - t0, units=len(units))


def _worker_rules() -> str:
    """rules_version() where a dask worker runs it (by reference: the worker's own perfdata)."""
    return rules_version()


def _same_rules(executor, rules: str):
    """A dask cluster whose workers read under other rules (another perfdata installed there) would write parts
    labelled with ours: refused before anything is read. Other executors run this process's code."""
    client = getattr(executor, "_client", None)
    if client is None or not hasattr(client, "run"):
        return
    other = {w: r for w, r in client.run(_worker_rules).items() if r != rules}
    if other:
        w, r = next(iter(other.items()))
        raise ValueError(f"{len(other)} dask worker(s) read under other rules than this process ({w}: {r}, here: "
                         f"{rules}): install the same perfdata on the workers")


def _info_of(res: FileResult) -> dict:
    """The manifest entry of a file whose rows the parent writes (a copy, a refused link, a file a limit
    stopped): never cached."""
    row = next(iter(res.tables.get("files", [])), None)
    problems = res.tables.get("problems", [])
    sev: dict[str, int] = {}
    for p in problems:
        sev[p["severity"]] = sev.get(p["severity"], 0) + 1
    return {"name": res.source_file, "sha256": row.get("sha256") if row else None, "batch": None,
            "row": None if row is None else {k: v for k, v in row.items() if k != "source_file"},
            "groups": [], "depts": [], "linked": 0, "severities": sev}


def _entry(info: FileInfo | dict) -> dict:
    if isinstance(info, dict):
        return info
    return {"name": info.source_file, "sha256": info.sha256, "batch": info.batch, "row": info.row,
            "groups": [list(g) for g in info.groups], "depts": [list(d) for d in info.depts], "linked": info.linked,
            "severities": info.severities}


def _compact(root: Path, batches: dict, cached: dict, kept: set[str], rules: str) -> tuple[dict, dict]:
    """The batches of the last run without the files not kept: a part holding only kept files stays, one
    holding some is rewritten without the others (under the key of the files left), one holding none goes."""
    out, moved = {}, {}
    for key, b in batches.items():
        stay = [n for n in b["files"] if n in kept]
        if len(stay) == len(b["files"]):
            out[key] = b
            continue
        if not stay:
            continue
        new = _key(rules, [(n, cached[n]["sha256"]) for n in stay])
        parts = []
        values = pa.array(stay, type=pa.string())
        for rel in b["parts"]:
            table = pq.ParquetFile(root / rel).read()
            table = table.filter(pc.is_in(table["source_file"], value_set=values))
            if table.num_rows:
                parts.append(_put(root, str(Path(rel).with_name(f"part-{new}.parquet")), table))
        out[new] = {"files": stay, "parts": parts}
        moved.update(dict.fromkeys(stay, new))
    return out, moved


def _write_extra(root: Path, rules: str, extra: list[FileResult]) -> list[str]:
    """The files and problems rows the parent makes (copies, refused entries, files a limit stopped)."""
    if not extra:
        return []
    extra = sorted(extra, key=lambda r: Path(r.source_file).parts)
    tables = combine(extra, linked=False)
    key = _key(rules, [(r.source_file, json.dumps(r.tables, default=_plain, sort_keys=True)) for r in extra])
    parts = []
    for name in FLAT:
        df = tables[name]
        if len(df):
            parts.append(_put(root, f"{name}/extra-{key}.parquet", _arrow(name, _with_row(df))))
    return parts


# -- units: groups that cross-document work sees together ------------------------------------------------------

@dataclass
class Unit:
    """Groups of (region, year) that linking and the checks must see together, and the files in them."""

    groups: list  # (region, year), sorted
    files: list  # names, in file order
    linked: int = 0  # rows to link

    def key(self, rules: str, shas: dict) -> str:
        return _key(rules, [(n, shas.get(n)) for n in self.files])


def _units(entries: list[dict]) -> list[Unit]:
    """Groups joined by a file with rows in both or by a (year, department) of forms and target tables."""
    parent: dict = {}

    def find(g):
        while parent.setdefault(g, g) != g:
            parent[g] = parent[parent[g]]
            g = parent[g]
        return g

    def join(gs):
        roots = [find(g) for g in gs]
        for g in roots[1:]:
            if g != roots[0]:
                parent[g] = roots[0]

    by_dept = defaultdict(list)
    for e in entries:
        gs = _tuples(e["groups"])
        for g in gs:
            find(g)
        join(gs)
        for y, d, r in e["depts"]:
            by_dept[(y, d)].append((r, y))
    for gs in by_dept.values():
        join(gs)
    units: dict = {}
    for e in entries:
        gs = _tuples(e["groups"])
        if not gs:
            continue
        u = units.setdefault(find(gs[0]), Unit([], []))
        u.files.append(e["name"])
        u.linked += e["linked"]
    for g in list(parent):
        units[find(g)].groups.append(g)
    for u in units.values():
        u.groups.sort(key=lambda g: (g[0] is None, g[0] or "", g[1] is None, g[1] or 0))
    return list(units.values())


def _parts_in(parts: list[str], table: str, groups: set, staged: bool = False) -> list[str]:
    prefix = f"{STAGED}/{table}/" if staged else f"{table}/"
    return [p for p in parts if p.startswith(prefix) and _group_of(p) in groups]


def _link_all(root: Path, rules: str, entries: list[dict], units: list[Unit], batches: dict, old: dict,
              executor) -> dict:
    """Link the summary rows, targets and statements of every unit that has any (reusing the parts of a unit
    whose files are unchanged), on `executor` when given."""
    shas = {e["name"]: e["sha256"] for e in entries}
    parts = [p for b in batches.values() for p in b["parts"]]
    links, tasks = {}, []
    for u in units:
        if not u.linked:
            continue
        key = u.key(rules, shas)
        if key in old and all((root / p).exists() for p in old[key]["parts"]):
            links[key] = old[key]
            continue
        groups = set(u.groups)
        job = (str(root.absolute()), key, u.files,
               {t: _parts_in(parts, t, groups, staged=True) for t in LINKED_TABLES},
               _parts_in(parts, "forms", groups))
        tasks.append((key, u, executor.submit(link_unit, *job) if executor else job))
    for key, u, job in tasks:
        done = job.result() if executor else link_unit(*job)
        links[key] = {"parts": done, "groups": [list(g) for g in u.groups]}
    return links


LINK_FORM_COLUMNS = ["form_id", "source_file", "project_name", "project_key", "year", "department", "unit"]


def link_unit(root: str, key: str, files: list[str], staged: dict[str, list[str]], form_parts: list[str]) -> list:
    """keys.link for one unit: its forms and its staged summary rows, targets and statements, in file order;
    the linked rows go to their tables' partitions, the problems it finds (a name that fits several forms)
    to problems/link-<key>.parquet."""
    root_path = Path(root)
    order = pd.Index(files)
    forms = _read(root_path, "forms", form_parts, order, columns=LINK_FORM_COLUMNS)
    tables = {"forms": forms}
    where = {}
    for name, parts in staged.items():
        df = _read(root_path, name, parts, order, staged=True, keep=True)
        where[name] = df[["region", "year", ROW]].reset_index(drop=True)
        tables[name] = schema.conform(name, df).reset_index(drop=True)
    linked = link(tables)
    written = []
    for name in staged:
        df, at = linked[name], where[name]
        if not len(df):
            continue
        table = _arrow(name, df.assign(**{ROW: at[ROW].to_numpy(np.int64)}))
        frame = pd.DataFrame({"r": _objects(at.region), "y": _years(at.year)})
        for (r, y), idx in frame.groupby(["r", "y"], sort=False, dropna=False).indices.items():
            group = (r if isinstance(r, str) else None, None if pd.isna(y) else int(y))
            written.append(_put(root_path, f"{_folder(name, group, staged=False)}/link-{key}.parquet",
                                table.take(idx)))
    found = linked.get("problems")
    if found is not None and len(found):
        rows = _with_row(found)
        rows[ROW] += LINK_ROW
        table = _arrow("problems", rows)
        written.append(_put(root_path, f"problems/link-{key}.parquet", table))
    return written


# -- reading ---------------------------------------------------------------------------------------------------

def _dataset_schema(name: str) -> pa.Schema:
    s = arrow_schema(name)
    if name in FLAT:
        return s
    for f in PARTITIONS:
        if f.name not in s.names:
            s = s.append(f)
    return s


_PANDAS = {pa.string(): pd.StringDtype(), pa.int64(): pd.Int64Dtype(), pa.float64(): pd.Float64Dtype(),
           pa.bool_(): pd.BooleanDtype()}


def _read(root: Path, name: str, parts: list[str], order: pd.Index, filter=None, columns=None,
          staged: bool = False, keep: bool = False) -> pd.DataFrame:
    """Rows of table `name` from `parts` (paths under root), sorted in file order (`order`: the names) and
    reading order, with the declared dtypes (`keep`: also region, year and _row)."""
    if not parts:
        df = schema.frame(name, [])
        if keep:
            df = df.assign(region=pd.Series(dtype=object), year=pd.Series(dtype=object),
                           **{ROW: pd.Series(dtype=np.int64)})
        return df if columns is None else df[columns]
    base = root / (f"{STAGED}/{name}" if staged else name)
    partitioning = None if name in FLAT else ds.partitioning(PARTITIONS, flavor="hive")
    d = ds.dataset([str(root / p) for p in parts], schema=_dataset_schema(name), format="parquet",
                   partitioning=partitioning, partition_base_dir=str(base))
    wanted = None
    if columns is not None:
        wanted = list(dict.fromkeys([*columns, "source_file", ROW]))
    elif keep:
        wanted = d.schema.names
    table = d.to_table(columns=wanted, filter=filter)
    rank = order.get_indexer(table["source_file"].to_numpy(zero_copy_only=False))
    at = np.lexsort((table[ROW].to_numpy(), rank))
    df = table.take(at).to_pandas(types_mapper=_PANDAS.get)
    if columns is not None:
        return df[columns].reset_index(drop=True)
    if keep:
        return df
    from perfdata.scoring import conformed

    return conformed(name, df)


def _current(manifest: dict) -> list[str]:
    """Every part file the manifest's tables are read from (staged parts aside)."""
    parts = [p for b in manifest["batches"].values() for p in b["parts"] if not p.startswith(f"{STAGED}/")]
    parts += [p for u in manifest["links"].values() for p in u["parts"]]
    return parts + list(manifest.get("extra", []))


def _match(values: list | None, field_name: str):
    """The pyarrow filter `field_name` in values (None in them: or null)."""
    if values is None:
        return None
    known = [v for v in values if v is not None]
    f = ds.field(field_name)
    expr = f.isin(pa.array(known, type=PARTITIONS.field(field_name).type))
    return expr | f.is_null() if len(known) < len(values) else expr


def _selected(group, years, regions) -> bool:
    r, y = group
    return (regions is None or r in regions) and (years is None or y in years)


def load(data_dir: str | Path, years=None, regions=None, tables=None) -> dict[str, pd.DataFrame]:
    """The tables of a dataset written by ingest(..., partitioned=True), with their declared dtypes.

    `years` and `regions` keep the rows of those partitions (pushed down to pyarrow: other partitions are
    never opened); the files and problems rows of the files that have rows there. `tables` names the tables
    to read (default: all the ingest's). Rows are in file order and reading order (see the module).
    """
    root = Path(data_dir)
    manifest = read_manifest(root)
    if manifest is None:
        raise FileNotFoundError(f"{root}: no {MANIFEST}; ingest with partitioned=True first")
    names = list(schema.INGEST_TABLES) if tables is None else list(tables)
    unknown = [n for n in names if n not in schema.INGEST_TABLES]
    if unknown:
        raise ValueError(f"unknown table(s): {', '.join(unknown)}; known: {', '.join(schema.INGEST_TABLES)}")
    years = None if years is None else [None if y is None else int(y) for y in _listed(years)]
    regions = None if regions is None else _listed(regions)
    groups = None
    if years is not None or regions is not None:
        groups = {g for e in manifest["files"] for g in _tuples(e["groups"]) if _selected(g, years, regions)}
    return _load(root, manifest, names, years, regions, groups)


def _listed(values) -> list:
    return [values] if isinstance(values, str | int) else list(values)


def _load(root: Path, manifest: dict, names: list[str], years=None, regions=None, groups=None,
          files=None) -> dict[str, pd.DataFrame]:
    """load() of `names`: rows of `groups` (all when None) filtered by years and regions, and the files and
    problems rows of the files with rows there (or of `files`)."""
    order = pd.Index([e["name"] for e in manifest["files"]])
    parts = _current(manifest)
    expr = None
    for values, name in ((years, "year"), (regions, "region")):
        m = _match(values, name)
        expr = m if expr is None else (expr if m is None else expr & m)
    if files is None and groups is not None:
        files = [e["name"] for e in manifest["files"] if any(tuple(g) in groups for g in e["groups"])]
    out = {}
    for name in names:
        mine = [p for p in parts if p.startswith(f"{name}/")]
        if name in FLAT:
            flt = None if files is None else ds.field("source_file").isin(pa.array(files, type=pa.string()))
            out[name] = _read(root, name, mine, order, filter=flt)
        else:
            if groups is not None:
                mine = [p for p in mine if _group_of(p) in groups]
            out[name] = _read(root, name, mine, order, filter=expr)
    return out


# -- in-memory equivalents (what load() returns, from the tables of perfdata.ingest) ---------------------------

def in_file_order(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The tables as load() orders them: by file in the ingest's file order, then as read (a stable sort:
    only the problems keys.link appends after all files move, to the end of their file's)."""
    names = sorted({f for df in tables.values() if "source_file" in df for f in df.source_file.dropna().unique()},
                   key=lambda f: Path(f).parts)
    order = pd.Index(names)
    out = {}
    for name, df in tables.items():
        if "source_file" not in df:
            out[name] = df
            continue
        at = np.argsort(order.get_indexer(_objects(df.source_file)), kind="stable")
        out[name] = df.iloc[at].reset_index(drop=True)
    return out


def select(tables: dict[str, pd.DataFrame], years=None, regions=None) -> dict[str, pd.DataFrame]:
    """The rows load(OUT, years=, regions=) returns, from in-memory tables of the same files."""
    years = None if years is None else [None if y is None else int(y) for y in _listed(years)]
    regions = None if regions is None else _listed(regions)
    if years is None and regions is None:
        return dict(tables)
    keys = partition_keys(tables)
    out, files = {}, set()
    for name, (r, y) in keys.items():
        keep = np.array([_selected((a, b), years, regions) for a, b in zip(r, y, strict=True)], dtype=bool)
        out[name] = tables[name][keep].reset_index(drop=True)
        files |= set(_objects(tables[name].source_file[keep]))
    for name in FLAT:
        if name in tables:
            df = tables[name]
            out[name] = df[df.source_file.isin(files)].reset_index(drop=True)
    return out


# -- checks per unit -------------------------------------------------------------------------------------------

def check_partitions(data_dir: str | Path, executor=None, raw_dir: str | Path | None = None, *,
                     cluster: str | None = None, **params) -> pd.DataFrame:
    """perfdata.check on a dataset one unit at a time (on `executor` or `cluster` when given), concatenated:
    the anomalies perfdata.check gives on the whole, sorted as it sorts them (severity, file, line, rule).

    Every rule looks within a form, a file, a region and year (duplicate_forms), or across documents joined by
    keys.link or by their file (summary, statements, department forms); a unit holds all of these, so no rule
    crosses units. Memory is that of the largest unit."""
    return _per_unit(data_dir, executor, raw_dir, cluster, params, rescored=False)["anomalies"]


def check_all_partitions(data_dir: str | Path, executor=None, raw_dir: str | Path | None = None, *,
                         cluster: str | None = None, **params) -> dict[str, pd.DataFrame]:
    """checks.check_all on a dataset one unit at a time, as check_partitions: the anomalies and the rescored
    forms and indicators (each form is rescored on its own; rows in the order of the dataset's forms)."""
    return _per_unit(data_dir, executor, raw_dir, cluster, params, rescored=True)


def _per_unit(data_dir, executor, raw_dir, cluster, params, rescored: bool) -> dict[str, pd.DataFrame]:
    from perfdata.checks import SEVERITY_ORDER
    from perfdata.scoring import conformed

    root = Path(data_dir)
    manifest = read_manifest(root)
    if manifest is None:
        raise FileNotFoundError(f"{root}: no {MANIFEST}; ingest with partitioned=True first")
    units = _units(manifest["files"])
    raw = None if raw_dir is None else str(raw_dir)
    with executor_of(executor, cluster) as ex:
        jobs = [(str(root.absolute()), [list(g) for g in u.groups], u.files, raw, params, rescored) for u in units]
        results = [f.result() for f in [ex.submit(check_unit, *j) for j in jobs]] if ex else \
            [check_unit(*j) for j in jobs]
    results = [r if isinstance(r, dict) else {"anomalies": r} for r in results]
    out = {}
    found = [r["anomalies"] for r in results if len(r["anomalies"])]
    if not found:
        out["anomalies"] = conformed("anomalies", pd.DataFrame(columns=["rule"]))
    else:
        a = pd.concat(found, ignore_index=True)
        sev = a.severity.map({s: i for i, s in enumerate(SEVERITY_ORDER)})
        a = a.assign(_sev=sev).sort_values(["_sev", "source_file", "line", "rule"], na_position="last",
                                           kind="stable")
        out["anomalies"] = conformed("anomalies", a.drop(columns="_sev").reset_index(drop=True))
    for name in ("rescored_forms", "rescored_indicators") if rescored else ():
        parts = [r[name] for r in results if name in r and len(r[name])]
        # a unit holds whole files: in file order, the rows are as the whole check orders them
        out[name] = in_file_order({name: pd.concat(parts, ignore_index=True)})[name] if parts else \
            conformed(name, pd.DataFrame())
    return out


def check_unit(root: str, groups: list, files: list[str], raw_dir: str | None, params: dict,
               rescored: bool = False) -> pd.DataFrame | dict[str, pd.DataFrame]:
    """perfdata.check on one unit of a dataset (a task of check_partitions); with `rescored`, checks.check_all
    (the anomalies and the unit's rescored tables)."""
    from perfdata.checks import check, check_all

    path = Path(root)
    manifest = read_manifest(path)
    names = [n for n in schema.INGEST_TABLES if n not in FLAT]
    tables = _load(path, manifest, names, groups={tuple(g) for g in groups}, files=files)
    return check_all(tables, raw_dir, **params) if rescored else check(tables, raw_dir, **params)


# -- the summary and the garbage ------------------------------------------------------------------------------

def _summary(root: Path, manifest: dict, **counts) -> Summary:
    entries = manifest["files"]
    files = schema.frame("files", [{**e["row"], "source_file": e["name"]} for e in entries if e["row"] is not None])
    order = pd.Index([e["name"] for e in entries])
    problems = [p for p in _current(manifest) if p.startswith("problems/")]
    shown = _read(root, "problems", problems, order, filter=ds.field("severity") != "info").head(SHOWN)
    sev: dict[str, int] = {}
    for e in entries:
        for k, v in e["severities"].items():
            sev[k] = sev.get(k, 0) + v
    parts = len(_current(manifest)) + sum(1 for b in manifest["batches"].values() for p in b["parts"]
                                          if p.startswith(f"{STAGED}/"))
    return Summary(root, files, shown, forms=int(files.forms.fillna(0).sum()),
                   failed=int((files.status == "failed").sum()), severities=sev, parts=parts, **counts)


def _collect_garbage(root: Path, manifest: dict):
    """Delete the part files the manifest does not list (of earlier runs, of retried tasks) and empty folders,
    under the tables' folders only."""
    listed = {str(root / p) for b in manifest["batches"].values() for p in b["parts"]}
    listed |= {str(root / p) for p in _current(manifest)}
    for name in [*schema.INGEST_TABLES, STAGED]:
        top = root / name
        if not top.is_dir():
            continue
        for folder, _, names in os.walk(top, topdown=False):
            for n in names:
                path = os.path.join(folder, n)
                if path not in listed and (n.endswith(".parquet") or n.endswith(".tmp")):
                    os.unlink(path)
            if folder != str(top) and not os.listdir(folder):
                os.rmdir(folder)
