"""Run the report notebooks with papermill into reports/<run-id>/ — complete, or clearly marked failed.

A run folder holds the executed notebooks, their HTML without code, every chart (PNG 150 dpi + SVG),
the report tables as CSV, the anomalies workbook and manifest.json (parameters, input hashes,
package versions, timings, failures). It is built under a hidden temporary name and renamed when
complete; a run with a failing notebook is renamed to <run-id>-FAILED with a FAILED file beside its
manifest, so a folder without that suffix is always a complete report.
"""

from __future__ import annotations

import ast
import hashlib
import html
import json
import logging
import platform
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"
# Report notebooks, run side by side on two cores: each kernel start costs more than most analyses,
# so analyses are grouped (forms: execution and scores; overview: departments and years, findings).
NOTEBOOKS = ["forms", "overview"]
# Every notebook in notebooks/ (exploration.ipynb is a tour of the API for newcomers, not a report).
ALL_NOTEBOOKS = [*NOTEBOOKS, "exploration"]
# Set by the runner from its options, never by --param.
MANAGED = {"data_dir", "raw_dir", "output_dir"}
PACKAGES = ["perfdata", "pandas", "numpy", "pyarrow", "matplotlib", "openpyxl", "papermill", "nbconvert",
            "nbclient", "ipykernel", "pylopdf-fonts-zh-cn"]


class ReportError(Exception):
    """A report that cannot start (bad parameters, missing data): nothing was run."""


@dataclass
class NotebookRun:
    name: str
    status: str = "pending"  # ok | failed
    seconds: float = 0.0
    error: dict | None = None


@dataclass
class RunResult:
    run_id: str
    folder: Path
    status: str
    notebooks: list[NotebookRun] = field(default_factory=list)
    manifest: dict = field(default_factory=dict)

    @property
    def failures(self) -> list[NotebookRun]:
        return [n for n in self.notebooks if n.status != "ok"]


# -- parameters ------------------------------------------------------------------------------------

def _import_runner() -> None:
    """Import papermill and nbformat without jsonschema's IRI grammar.

    jsonschema (imported by nbformat) builds that grammar at import when rfc3987-syntax is installed:
    about 1.5 s of every report run, for a format no notebook schema uses. The module is hidden only while
    the runner's libraries import, and only when jsonschema is not loaded yet, so importing perfdata.report
    leaves the process (e.g. a user's notebook) as it was.
    """
    if "jsonschema" in sys.modules:
        return
    hidden = "rfc3987_syntax" not in sys.modules
    if hidden:
        sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]
    try:
        import nbformat  # noqa: F401
        import papermill  # noqa: F401
    finally:
        if hidden and sys.modules.get("rfc3987_syntax", 0) is None:
            del sys.modules["rfc3987_syntax"]


def notebook_parameters(path: str | Path) -> dict[str, dict]:
    """The parameters a notebook declares in its `parameters` cell: name → {type, default, help}."""
    _import_runner()
    from papermill.inspection import inspect_notebook

    return {name: {"type": p["inferred_type_name"], "default": p["default"], "help": p["help"]}
            for name, p in inspect_notebook(str(path)).items()}


def _literal(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def coerce(value, type_name: str):
    """A --param value (text) as the type its notebook declares.

    >>> coerce("2021,2024", "list"), coerce("[2024]", "list"), coerce("85", "float"), coerce("兴隆县", "list")
    ([2021, 2024], [2024], 85.0, ['兴隆县'])
    """
    if not isinstance(value, str):
        return value
    t = (type_name or "").lower()
    if t.startswith("list"):
        v = _literal(value)
        if isinstance(v, (list, tuple)):
            return list(v)
        return [_literal(p.strip()) for p in value.split(",") if p.strip()]
    if t == "float":
        return float(value)
    if t == "int":
        return int(value)
    if t == "bool":
        low = value.strip().lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"not a yes/no value: {value!r}")
    return value


def parse_params(pairs: list[str] | None) -> dict[str, str]:
    """NAME=VALUE strings → dict (values stay text until checked against a notebook)."""
    out = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ReportError(f"--param {pair!r}: expected NAME=VALUE")
        out[name.strip()] = value.strip()
    return out


def resolve(notebooks: dict[str, Path], params: dict) -> dict[str, dict]:
    """Per notebook, the parameters to pass, typed. Unknown or runner-managed names raise ReportError."""
    declared = {name: notebook_parameters(path) for name, path in notebooks.items()}
    known = set().union(*declared.values()) if declared else set()
    managed = sorted(set(params) & MANAGED)
    if managed:
        raise ReportError(f"parameter(s) {', '.join(managed)} are set with --data/--raw/--out, not --param")
    unknown = sorted(set(params) - known)
    if unknown:
        raise ReportError(f"unknown parameter(s): {', '.join(unknown)}; the notebooks take: "
                          f"{', '.join(sorted(known - MANAGED))}")
    out = {}
    for nb, decl in declared.items():
        out[nb] = {}
        for name, value in params.items():
            if name in decl:
                try:
                    out[nb][name] = coerce(value, decl[name]["type"])
                except ValueError as e:
                    raise ReportError(f"parameter {name}={value!r}: {e}") from None
    return out


# -- run -------------------------------------------------------------------------------------------

def find_notebooks(names: list[str] | None = None, notebook_dir: str | Path | None = None) -> dict[str, Path]:
    folder = Path(notebook_dir) if notebook_dir else NOTEBOOK_DIR
    names = names or NOTEBOOKS
    found = {}
    for n in names:
        path = folder / f"{n.removesuffix('.ipynb')}.ipynb"
        if not path.exists():
            raise ReportError(f"{path}: no such notebook")
        found[path.stem] = path
    return found


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _hashes(folder: Path | None) -> dict[str, str]:
    if folder is None or not folder.exists():
        return {}
    return {str(p.relative_to(folder)): _sha256(p) for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.startswith(".")}


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def _execute(name: str, src: Path, folder: Path, params: dict, kernel: str, timeout: int) -> NotebookRun:
    import papermill
    from papermill.exceptions import PapermillExecutionError

    run = NotebookRun(name)
    t0 = time.perf_counter()
    out = folder / f"{name}.ipynb"
    try:
        papermill.execute_notebook(str(src), str(out), parameters=params, kernel_name=kernel, progress_bar=False,
                                   request_save_on_cell_execute=False, cwd=str(folder), execution_timeout=timeout,
                                   # the kernel's own start/stop chatter would fill a cron mail; cell
                                   # errors still come back through the notebook
                                   extra_arguments=["--IPKernelApp.log_level=CRITICAL"])
        run.status = "ok"
    except PapermillExecutionError as e:
        run.status = "failed"
        run.error = {"cell": _source_cell(out, e.cell_index), "execution_count": e.exec_count,
                     "cell_index": e.cell_index, "ename": e.ename, "evalue": e.evalue}
    except Exception as e:  # noqa: BLE001 - a kernel that dies or times out fails this notebook only
        run.status = "failed"
        run.error = {"cell": None, "cell_index": None, "ename": type(e).__name__, "evalue": str(e)}
    if out.exists():
        try:
            _to_html(out)
        except Exception as e:  # noqa: BLE001
            if run.status == "ok":
                run.status = "failed"
                run.error = {"cell": None, "cell_index": None, "ename": type(e).__name__,
                             "evalue": f"HTML export: {e}"}
    run.seconds = round(time.perf_counter() - t0, 3)
    return run


def _source_cell(executed: Path, index: int) -> int | None:
    """1-based number of the failing cell in the notebook as written (without papermill's injected cell)."""
    import nbformat

    try:
        cells = nbformat.read(executed, as_version=4).cells
    except Exception:  # noqa: BLE001
        return None
    injected = sum("injected-parameters" in c.metadata.get("tags", []) for c in cells[:index])
    return index + 1 - injected


def _to_html(ipynb: Path) -> Path:
    """HTML of an executed notebook without its code cells (what a reader of the report sees)."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(ipynb, as_version=4)
    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    exporter.log.setLevel(logging.ERROR)  # its "alternative text is missing" is handled below
    body, _ = exporter.from_notebook_node(nb)
    # the lab template drops the charts' alt text (their titles); put it back, in output order
    alts = [(o.get("metadata", {}).get("image/png") or {}).get("alt") for c in nb.cells
            for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    placeholder = 'alt="No description has been provided for this image"'
    for alt in alts:
        if alt and placeholder in body:
            body = body.replace(placeholder, f'alt="{html.escape(alt)}"', 1)
    out = ipynb.with_suffix(".html")
    out.write_text(body, encoding="utf-8")
    return out


def describe_failure(run: NotebookRun) -> str:
    e = run.error or {}
    if e.get("cell") is not None:
        where = f"cell {e['cell']}" + (f" (In [{e['execution_count']}] of the executed copy)"
                                       if e.get("execution_count") else "")
    else:
        where = "before any cell"
    return f"notebook {run.name}.ipynb failed at {where}: {e.get('ename')}: {e.get('evalue')}"


def run_report(data_dir: str | Path, out_root: str | Path = "reports", params: dict | None = None, *,
               raw_dir: str | Path | None = None, run_id: str | None = None, notebooks: list[str] | None = None,
               notebook_dir: str | Path | None = None, jobs: int = 2, kernel: str = "python3",
               timeout: int = 600, extra_manifest: dict | None = None,
               failures: list[str] | None = None) -> RunResult:
    """Execute the report notebooks on DATA_DIR into OUT_ROOT/RUN_ID; see the module docstring.

    `failures` are earlier steps that failed (e.g. the check): the run is then marked failed too.

    Raises ReportError before running anything for unknown parameters or a missing data folder.
    """
    from perfdata import store
    from perfdata.report import analysis, excel

    started = datetime.now(UTC)
    t0 = time.perf_counter()
    data_dir = Path(data_dir).resolve()
    raw_dir = Path(raw_dir).resolve() if raw_dir else None
    out_root = Path(out_root).resolve()
    if not data_dir.is_dir():
        raise ReportError(f"{data_dir}: no such folder; run `perfdata ingest` (or `perfdata run`) first")
    nbs = find_notebooks(notebooks, notebook_dir)
    per_nb = resolve(nbs, params or {})
    try:
        tables = store.load(data_dir)
    except FileNotFoundError as e:
        raise ReportError(str(e)) from None
    run_id = run_id or started.strftime("%Y%m%dT%H%M%SZ")
    if "/" in run_id or run_id.startswith("."):
        raise ReportError(f"run id {run_id!r}: use a plain folder name")

    out_root.mkdir(parents=True, exist_ok=True)
    tmp = out_root / f".{run_id}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    timings: dict[str, float] = {}

    common = {"data_dir": str(data_dir), "output_dir": str(tmp)}
    if raw_dir is not None:
        common["raw_dir"] = str(raw_dir)
    jobs_params = {}
    for nb, path in nbs.items():
        declared = notebook_parameters(path)
        jobs_params[nb] = {k: v for k, v in common.items() if k in declared} | per_nb[nb]

    runs: list[NotebookRun] = []
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(_execute, nb, nbs[nb], tmp, jobs_params[nb], kernel, timeout) for nb in nbs]
        # the workbook is built here while the kernels start
        w0 = time.perf_counter()
        wb_error = None
        try:
            sel = {k: v for k, v in (params or {}).items() if k in ("years", "regions", "departments")}
            sel = {k: coerce(v, "list") for k, v in sel.items()}
            excel.anomalies_workbook(analysis.filter_tables(tables, **sel), tmp / "anomalies.xlsx", raw_dir)
        except Exception as e:  # noqa: BLE001
            wb_error = f"{type(e).__name__}: {e}"
        timings["workbook"] = round(time.perf_counter() - w0, 3)
        runs = [f.result() for f in futures]
    for r in runs:
        timings[f"notebook:{r.name}"] = r.seconds

    failed = [r for r in runs if r.status != "ok"]
    status = "failed" if failed or wb_error or failures else "ok"
    manifest = {
        "run_id": run_id,
        "status": status,
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - t0, 3),
        "command": sys.argv,
        "data_dir": str(data_dir),
        "raw_dir": str(raw_dir) if raw_dir else None,
        "parameters": {"given": dict(params or {}), "notebooks": jobs_params},
        "inputs": {"data": _hashes(data_dir), "raw": _hashes(raw_dir)},
        "versions": _versions(),
        "timings": timings,
        "notebooks": [{"name": r.name, "status": r.status, "seconds": r.seconds, "error": r.error} for r in runs],
        "failed": list(failures or []) + [describe_failure(r) for r in failed]
        + ([f"anomalies workbook: {wb_error}"] if wb_error else []),
        **(extra_manifest or {}),
    }
    manifest["outputs"] = sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.is_file())
    (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2, default=str),
                                       encoding="utf-8")
    final = out_root / (run_id if status == "ok" else f"{run_id}-FAILED")
    if status != "ok":
        (tmp / "FAILED").write_text("\n".join(manifest["failed"]) + "\n", encoding="utf-8")
    # a failed re-run leaves an earlier complete run of the same id in place
    for old in ([out_root / run_id] if status == "ok" else []) + [out_root / f"{run_id}-FAILED"]:
        if old.exists():
            shutil.rmtree(old)
    tmp.rename(final)
    if status == "ok":
        _point_latest(out_root, run_id)
    return RunResult(run_id, final, status, runs, manifest)


def _point_latest(out_root: Path, run_id: str):
    """reports/latest → the newest complete run (replaced atomically)."""
    link, tmp = out_root / "latest", out_root / ".latest.tmp"
    try:
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(run_id, target_is_directory=True)
        tmp.replace(link)
    except OSError:
        pass
