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
import re
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
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
MANAGED = {"data_dir", "raw_dir", "output_dir", "run_id", "run_date"}
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
        raise ReportError(f"parameter(s) {', '.join(managed)} are set with --data/--raw/--out/--run-id, "
                          "not --param")
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


def _execute(name: str, src: Path, folder: Path, params: dict, kernel: str, timeout: int,
             bar: dict | bool = False) -> NotebookRun:
    import papermill
    from papermill.exceptions import PapermillExecutionError

    run = NotebookRun(name)
    t0 = time.perf_counter()
    out = folder / f"{name}.ipynb"
    try:
        papermill.execute_notebook(str(src), str(out), parameters=params, kernel_name=kernel, progress_bar=bar,
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


# The HTML template: JupyterLab's without any script (no require.js, MathJax or mermaid from a CDN: a report
# opens offline, and `$…$` in quoted evidence is never typeset) and with a small stylesheet of its own
# (the lab theme is 260 KB) that prints on A4.
CSS = """
:root{--ink:#1f2328;--muted:#57606a;--line:#d0d7de;--head:#eef3f9;--accent:#3b6ea8}
html{font-size:15px}
body{margin:0;color:var(--ink);line-height:1.6;font-family:"Noto Sans SC","Noto Sans CJK SC","Source Han Sans SC",
"PingFang SC","Microsoft YaHei","WenQuanYi Micro Hei",sans-serif;background:#fff}
main{max-width:1200px;margin:0 auto;padding:20px 32px 64px}
h1{font-size:1.75rem;margin:.3em 0 .5em;line-height:1.3}
h2{font-size:1.3rem;margin:2.2em 0 .6em;padding-bottom:.2em;border-bottom:2px solid var(--accent)}
h3{font-size:1.08rem;margin:1.6em 0 .4em}
p{margin:.5em 0}
a{color:var(--accent)}
a.anchor-link{display:none}
code{background:#f3f4f6;padding:0 .25em;border-radius:3px;font-size:.92em}
.jp-OutputArea-output img{max-width:100%;height:auto;display:block;margin:.6em 0}
.jp-RenderedText pre,pre{white-space:pre-wrap;font-size:.85rem;color:var(--muted)}
.jp-OutputArea-output{overflow-x:auto}
table.pd{border-collapse:collapse;font-size:.84rem;margin:.3em 0 1.2em;max-width:100%}
table.pd th,table.pd td{border:1px solid var(--line);padding:3px 7px;text-align:left;vertical-align:top}
table.pd thead th{background:var(--head);font-weight:600;position:sticky;top:0}
table.pd td.num,table.pd th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.pd td.long{min-width:12em;max-width:34em;word-break:break-all}
table.pd td.mid{min-width:7em;max-width:16em;word-break:break-all}
table.pd .nw{white-space:nowrap}
table.pd td.hash{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.75rem;word-break:break-all}
.pd-count{color:var(--muted);font-size:.85rem;margin:.8em 0 .2em}
.pd-empty{color:var(--muted)}
.pd-header{border:1px solid var(--line);border-radius:6px;padding:10px 16px;margin:0 0 1em;background:#fafbfc}
.pd-kicker{font-weight:600;margin:0 0 .3em}
.pd-sub{font-weight:600;margin:.8em 0 0}
table.pd-meta{border-collapse:collapse;font-size:.88rem}
table.pd-meta th{text-align:left;color:var(--muted);font-weight:normal;padding:1px 14px 1px 0;white-space:nowrap;
vertical-align:top}
table.pd-meta td{padding:1px 0}
nav.toc{border-left:3px solid var(--accent);padding:4px 16px;margin:0 0 1.5em;background:#f6f8fa}
nav.toc p{font-weight:600;margin:.2em 0}
nav.toc ul{margin:.2em 0 .4em;padding-left:.4em;list-style:none}
.pd-rule{margin-top:1.6em}
.pd-rule h3{margin-bottom:.1em}
.pd-where{color:var(--muted);font-size:.85rem}
@media print{
@page{size:A4;margin:14mm 12mm}
html{font-size:12px}
main{max-width:none;padding:0}
h2{page-break-after:avoid;break-after:avoid}
h3{page-break-after:avoid;break-after:avoid}
img,tr{page-break-inside:avoid;break-inside:avoid}
thead{display:table-header-group}
table.pd thead th{position:static}
.jp-OutputArea-output{overflow:visible}
a{color:inherit;text-decoration:none}
nav.toc{background:none}
}
"""

TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block notebook_css -%}<style type="text/css">""" + CSS + """</style>{%- endblock notebook_css -%}
"""

_H1 = re.compile(r"<h1[^>]*>(.*?)(?:<a class=\"anchor-link\"|</h1>)", re.S)
_H2 = re.compile(r'<h2 id="([^"]+)">(.*?)(?:<a class="anchor-link"|</h2>)', re.S)


def _title(nb) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return "perfdata 报告"


def toc(body: str) -> str:
    """目录 of a report: a link to every <h2> of the page."""
    items = [(hid, re.sub(r"<[^>]+>", "", text).strip()) for hid, text in _H2.findall(body)]
    if not items:
        return ""
    return ('<nav class="toc"><p>目录</p><ul>' + "".join(f'<li><a href="#{hid}">{text}</a></li>' for hid, text in items)
            + "</ul></nav>")


def _to_html(ipynb: Path) -> Path:
    """HTML of an executed notebook without its code cells (what a reader of the report sees): lang zh-CN, the
    report's title, a table of contents, no script and no network access, a print stylesheet."""
    import nbformat
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    nb = nbformat.read(ipynb, as_version=4)
    nb.metadata["title"] = _title(nb)
    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
                            template_name="lab", template_file="perfdata.html.j2", language_code="zh",
                            extra_loaders=[DictLoader({"perfdata.html.j2": TEMPLATE})])
    exporter.log.setLevel(logging.ERROR)  # its "alternative text is missing" is handled below
    body, _ = exporter.from_notebook_node(nb)
    # the lab template drops the charts' alt text (their titles); put it back, in output order
    alts = [(o.get("metadata", {}).get("image/png") or {}).get("alt") for c in nb.cells
            for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    placeholder = 'alt="No description has been provided for this image"'
    for alt in alts:
        if alt and placeholder in body:
            body = body.replace(placeholder, f'alt="{html.escape(alt)}"', 1)
    body = body.replace('<html lang="zh">', '<html lang="zh-CN">', 1)
    nav = toc(body)
    if "<!--pd-toc-->" in body:
        body = body.replace("<!--pd-toc-->", nav, 1)
    else:
        body = re.sub(r"(</h1>)", lambda m: m.group(1) + nav, body, count=1)
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
               failures: list[str] | None = None, progress: bool = False, log=None) -> RunResult:
    """Execute the report notebooks on DATA_DIR into OUT_ROOT/RUN_ID; see the module docstring.

    `failures` are earlier steps that failed (e.g. the check): the run is then marked failed too.
    `progress` shows a bar of cells per notebook (on a terminal); `log(text)` is called as each step ends
    (plain one-line logs, e.g. for cron).

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

    run_date = started.strftime("%Y-%m-%d %H:%M:%S UTC")
    common = {"data_dir": str(data_dir), "output_dir": str(tmp), "run_id": run_id, "run_date": run_date}
    if raw_dir is not None:
        common["raw_dir"] = str(raw_dir)
    jobs_params = {}
    for nb, path in nbs.items():
        declared = notebook_parameters(path)
        jobs_params[nb] = {k: v for k, v in common.items() if k in declared} | per_nb[nb]

    log = log or (lambda text: None)
    runs: list[NotebookRun] = []
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        bars = {nb: ({"desc": f"{nb}.ipynb", "position": k, "leave": False, "unit": "单元格"} if progress else False)
                for k, nb in enumerate(nbs)}
        futures = {pool.submit(_execute, nb, nbs[nb], tmp, jobs_params[nb], kernel, timeout, bars[nb]): nb
                   for nb in nbs}
        # the workbook is built here while the kernels start
        w0 = time.perf_counter()
        wb_error = None
        try:
            sel = {k: v for k, v in (params or {}).items() if k in ("years", "regions", "departments")}
            sel = {k: coerce(v, "list") for k, v in sel.items()}
            shown = {k: v for k, v in (params or {}).items() if k not in MANAGED}
            excel.anomalies_workbook(analysis.filter_tables(tables, **sel), tmp / "anomalies.xlsx", raw_dir,
                                     info={"run_id": run_id, "run_date": run_date, "data_dir": str(data_dir),
                                           "parameters": {k: coerce(v, "list") if k in sel else v
                                                          for k, v in shown.items()}})
        except Exception as e:  # noqa: BLE001
            wb_error = f"{type(e).__name__}: {e}"
        timings["workbook"] = round(time.perf_counter() - w0, 3)
        log(f"workbook anomalies.xlsx {'failed: ' + wb_error if wb_error else 'written'} "
            f"({timings['workbook']:.1f} s)")
        done = {}
        for f in as_completed(futures):
            r = f.result()
            done[r.name] = r
            log(f"notebook {r.name}.ipynb {r.status} ({r.seconds:.1f} s)")
        runs = [done[nb] for nb in nbs]
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
