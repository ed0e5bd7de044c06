"""Run the report notebooks with papermill into reports/<run-id>/ — complete, or clearly marked failed.

A run folder holds the executed notebooks, their HTML without code, every chart (PNG 150 dpi + SVG),
the report tables as CSV, the anomalies workbook and manifest.json (parameters, input hashes,
package versions, timings, failures). It is built under a hidden temporary name and renamed when
complete; a run with a failing notebook is renamed to <run-id>-FAILED with a FAILED file beside its
manifest, so a folder without that suffix is always a complete report.

Everything that can be checked is checked before a run starts (ReportError): parameter names and types,
the filters against the data (an unknown region, department or year, or a selection without any form),
the run id. One run at a time writes into a reports folder (an flock on OUT/.lock; a second waits up to
PERFDATA_LOCK_TIMEOUT seconds, then gives up). A run that replaces one of the same id does it in steps
that the next run can always finish or undo (install(), recover()): OUT/.<id>.partial is built, the old
folder is moved aside to OUT/.<id>.old, the new one renamed in, OUT/latest repointed, the old one removed.
"""

from __future__ import annotations

import ast
import difflib
import fcntl
import functools
import hashlib
import html
import json
import logging
import os
import platform
import re
import shutil
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager, suppress
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
# Run ids name folders: at most 100 characters (and 200 bytes, so .<id>-FAILED.old fits a file name), no path
# separator, no "..", none of the runner's own names.
MAX_RUN_ID, MAX_RUN_ID_BYTES = 100, 200
RESERVED_RUN_IDS = {"latest"}
FAILED_SUFFIX = "-FAILED"
LOCK_NAME = ".lock"
LOCK_TIMEOUT = 60.0  # seconds a run waits for another one writing into the same reports folder
# The filters (notebook parameters) and the tables whose rows they select: the valid values come from these.
FILTER_COLUMNS = {"years": "year", "regions": "region", "departments": "department"}
CONTENT_TABLES = ("forms", "department_forms", "summary_rows", "targets")


class ReportError(Exception):
    """A report that cannot start (bad parameters, missing data): nothing was run."""


@dataclass
class NotebookRun:
    name: str
    status: str = "pending"  # ok | failed
    seconds: float = 0.0
    error: dict | None = None
    kernel_restarts: int = 0  # kernels that died before they answered, started again (`_execute`)


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
    """The parameters a notebook declares in its `parameters` cell: name → {type, default, help}.

    Read once per version of the file (a run asks for them several times: about 0.1 s each)."""
    p = Path(path)
    st = p.stat()
    return {name: dict(spec) for name, spec in _declared(str(p.resolve()), st.st_mtime_ns, st.st_size).items()}


@functools.lru_cache(maxsize=64)
def _declared(path: str, mtime_ns: int, size: int) -> dict[str, dict]:
    _import_runner()
    from papermill.inspection import inspect_notebook

    return {name: {"type": p["inferred_type_name"], "default": p["default"], "help": p["help"]}
            for name, p in inspect_notebook(path).items()}


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


def _shown(values) -> str:
    return "、".join(str(v) for v in values)


def _years(values: list) -> list[int]:
    """Years as numbers: "2024" and 2024 are the year 2024; anything else is an error (before any data is read).

    >>> _years(["2021", 2024])
    [2021, 2024]
    """
    out, bad = [], []
    for v in values:
        text = str(v).strip()
        if isinstance(v, bool) or not re.fullmatch(r"\d{4}(?:\.0*)?", text):
            bad.append(v)
        else:
            out.append(int(float(text)))
    if bad:
        raise ReportError(f"参数 years（年度）的值 {_shown(repr(b) for b in bad)} 不是年度：应为四位数字，"
                          "如 years=2024 或 years=2021,2024")
    return out


def _severities(values: list) -> list[str]:
    """Severities as codes: high/medium/low or their labels 高/中/低.

    >>> _severities(["高", "LOW"])
    ['high', 'low']
    """
    from perfdata.checks import SEVERITY_ORDER
    from perfdata.report import display

    labels = display.value_labels("severity")
    known = {code: code for code in SEVERITY_ORDER} | {labels.get(code, code): code for code in SEVERITY_ORDER}
    out, bad = [], []
    for v in values:
        code = known.get(str(v).strip()) or known.get(str(v).strip().lower())
        (out if code else bad).append(code or v)
    if bad:
        raise ReportError(f"参数 severities（严重程度）的值 {_shown(bad)} 无效；可选：" +
                          "、".join(f"{labels.get(c, c)}（{c}）" for c in SEVERITY_ORDER))
    return out


def _rules(values: list) -> list[str]:
    """Rule ids (a rule's Chinese title is taken for its id); an unknown rule is an error."""
    from perfdata.checks import rule_table

    table = rule_table()
    known = dict(zip(table["id"], table["id"], strict=True)) | dict(zip(table["title_zh"], table["id"], strict=True))
    out, bad = [], []
    for v in values:
        rule = known.get(str(v).strip())
        (out if rule else bad).append(rule or v)
    if bad:
        raise ReportError(f"参数 rules（规则）的值 {_shown(bad)} 不是规则编号；可选：{', '.join(table['id'])}"
                          "（见 docs/rules.md）")
    return out


# parameter → its values' check, applied after the type (coerce); these need no data
NORMALISE = {"years": _years, "severities": _severities, "rules": _rules}


def _sample_methods() -> tuple[str, ...]:
    from perfdata.audit.sampling import METHODS

    return METHODS


# parameters whose value is one of a closed set, checked before anything runs (exit 2 naming the choices)
CHOICES = {"sample_method": _sample_methods}
# parameters that count something: a negative value is a usage error, not an empty section
COUNTS = {"sample_n", "max_rows"}


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
                    typed = coerce(value, decl[name]["type"])
                except ValueError as e:
                    raise ReportError(f"parameter {name}={value!r}: {e}") from None
                if name in NORMALISE and isinstance(typed, list):
                    typed = NORMALISE[name](typed)
                if name in CHOICES and typed not in (choices := CHOICES[name]()):
                    raise ReportError(f"parameter {name}={value!r}: use one of {', '.join(choices)}")
                if name in COUNTS and isinstance(typed, int) and typed < 0:
                    raise ReportError(f"parameter {name}={value!r}: cannot be negative")
                out[nb][name] = typed
    return out


# -- the filters against the data ------------------------------------------------------------------------

def selection(params: dict | None) -> dict[str, list]:
    """The filters among PARAMS (text as given to --param, or typed), as lists; years as numbers.

    >>> selection({"years": "2021,2024", "regions": "兴隆县", "max_rows": "5"})
    {'years': [2021, 2024], 'regions': ['兴隆县']}
    """
    out = {}
    for name in FILTER_COLUMNS:
        if name in (params or {}):
            values = coerce(params[name], "list")
            values = values if isinstance(values, list) else [values]
            out[name] = _years(values) if name == "years" else [str(v) for v in values]
    return out


def filter_values(tables: dict) -> dict[str, list]:
    """Per filter, the values the data holds (regions and departments as text, years as numbers), sorted."""
    out = {}
    for name, col in FILTER_COLUMNS.items():
        seen = set()
        for t in CONTENT_TABLES:
            df = tables.get(t)
            if df is not None and col in df:
                seen |= set(df[col].dropna().tolist())
        out[name] = sorted(int(v) for v in seen) if name == "years" else sorted(str(v) for v in seen)
    return out


def _listed(values: list, limit: int = 40) -> str:
    if not values:
        return "（数据中没有）"
    shown = _shown(values[:limit])
    return shown + (f" 等，共 {len(values):,} 个" if len(values) > limit else "")


def check_selection(tables: dict, params: dict | None, where: str = "") -> dict[str, list]:
    """The filters of PARAMS checked against the data: every region, department (or part of one) and year
    must occur in it, and together they must select something. Returns the selection (as selection());
    raises ReportError naming the parameter, the values not found and the values there are."""
    from perfdata.report import analysis, display

    sel = selection(params)
    have = filter_values(tables)
    for name, wanted in sel.items():
        valid = have[name]
        if name == "departments":  # a department matches when its name contains the value
            missing = [w for w in wanted if not any(w in d for d in valid)]
        else:
            missing = [w for w in wanted if w not in valid]
        if missing:
            close = [] if name == "years" else sorted({c for w in missing for c in
                                                       difflib.get_close_matches(w, valid, n=3, cutoff=0.5)
                                                       + [v for v in valid if w in v or v in w]})
            hint = f"（是否指：{_shown(close)}？）" if close else ""
            label = display.parameter_label(name)
            raise ReportError(f"参数 {name}（{label}）的值 {_shown(missing)} 在数据中不存在{hint}；"
                              f"数据中的{label}：{_listed(valid)}")
    picked = analysis.filter_tables(tables, **sel)
    active = {FILTER_COLUMNS[k] for k, v in sel.items() if v}
    # a table without one of the filtered columns is kept whole by filter_tables: it cannot say the selection holds
    counted = [t for t in CONTENT_TABLES if t in picked and active <= set(picked[t].columns)]
    if not any(len(picked[t]) for t in counted):
        where = f"{where}: " if where else ""
        if any(sel.values()):
            chosen = "，".join(f"{display.parameter_label(k)} {_shown(v)}" for k, v in sel.items() if v)
            raise ReportError(f"{where}筛选结果为空：{chosen} 下没有任何自评表；不生成报告（reports/latest 不变）")
        raise ReportError(f"{where}没有读到任何项目支出绩效自评表、部门整体绩效自评表、自评汇总表或绩效目标表；"
                          "不生成报告（reports/latest 不变）")
    return sel


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


KERNEL_DIED = "Kernel died before replying to kernel_info"  # jupyter_client's words (client.wait_for_ready)


def _execute(name: str, src: Path, folder: Path, params: dict, kernel: str, timeout: int,
             bar: dict | bool = False, km=None) -> NotebookRun:
    """Run one notebook into FOLDER with papermill, then its HTML. `km`: a kernel already started in FOLDER
    (kernels.WarmKernels), else papermill starts one there.

    The kernel is started in FOLDER through the client's resources, not papermill's `cwd`: papermill changes
    the working directory of this whole process for the run, and two notebooks run side by side in threads
    would leave it in a run folder (a caller's relative paths then point into a report)."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from perfdata.report.kernels import KERNEL_ARGUMENTS

    run = NotebookRun(name)
    t0 = time.perf_counter()
    out = folder / f"{name}.ipynb"
    try:
        while True:
            try:
                papermill.execute_notebook(str(src), str(out), parameters=params, kernel_name=kernel,
                                           progress_bar=bar, request_save_on_cell_execute=False,
                                           execution_timeout=timeout, extra_arguments=KERNEL_ARGUMENTS,
                                           **({"km": km} if km is not None else
                                              {"resources": {"metadata": {"path": str(folder)}}}))
                break
            except RuntimeError as e:
                # a kernel that exits before it answers ran no cell: started again, once (two kernels
                # started side by side can both be given a free port, and the second cannot bind it)
                if km is not None or run.kernel_restarts or str(e) != KERNEL_DIED:
                    raise
                run.kernel_restarts += 1
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


_EXPORT_LOCK = threading.Lock()


@functools.cache
def _exporter():
    """The HTML exporter of the reports (compiling its templates costs more than rendering a report)."""
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
                            template_name="lab", template_file="perfdata.html.j2", language_code="zh",
                            extra_loaders=[DictLoader({"perfdata.html.j2": TEMPLATE})])
    exporter.log.setLevel(logging.ERROR)  # its "alternative text is missing" is handled in _to_html
    return exporter


def _to_html(ipynb: Path) -> Path:
    """HTML of an executed notebook without its code cells (what a reader of the report sees): lang zh-CN, the
    report's title, a table of contents, no script and no network access, a print stylesheet. The same
    notebook outputs give the same bytes."""
    import nbformat

    nb = nbformat.read(ipynb, as_version=4)
    nb.metadata["title"] = _title(nb)
    for cell in nb.cells:  # papermill gives its injected cell a random id, which the page would carry
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell["id"] = "injected-parameters"
    with _EXPORT_LOCK:  # one exporter, its templates compiled once: an exporter is not for two threads at once
        body, _ = _exporter().from_notebook_node(nb)
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


def check_run_id(run_id: str) -> str:
    """A run id that names a folder of its own, or ReportError: at most 100 characters (200 bytes), no path
    separator or "..", not `latest`, not starting with "." (the runner's hidden folders) and not ending in
    -FAILED (a failed run's name).

    >>> check_run_id("2024-nightly")
    '2024-nightly'
    """
    why = None
    if not isinstance(run_id, str) or not run_id.strip():
        why = "it is empty"
    elif len(run_id) > MAX_RUN_ID or len(run_id.encode("utf-8")) > MAX_RUN_ID_BYTES:
        why = f"it is {len(run_id)} characters long (at most {MAX_RUN_ID}, and {MAX_RUN_ID_BYTES} bytes in UTF-8)"
    elif any(sep in run_id for sep in {"/", "\\", os.sep, os.altsep or "/"}) or ".." in run_id:
        why = "it holds a path separator or '..'"
    elif run_id.lower() in RESERVED_RUN_IDS:
        why = f"'{run_id}' is reserved (reports/latest points to the newest complete run)"
    elif run_id.startswith("."):
        why = "names starting with '.' are the runner's own (partial and replaced runs, the lock)"
    elif run_id.endswith(FAILED_SUFFIX):
        why = f"names ending in {FAILED_SUFFIX} are failed runs"
    elif any(ord(ch) < 32 or ord(ch) == 127 for ch in run_id) or run_id != run_id.strip():
        why = "it holds a control character or surrounding spaces"
    if why:
        shown = run_id if len(str(run_id)) <= 60 else f"{run_id[:40]}…"
        raise ReportError(f"--run-id {shown!r}: not a usable run folder name: {why}")
    return run_id


def run_time() -> datetime:
    """When a run is dated: now (UTC), or SOURCE_DATE_EPOCH when set, so that the same inputs give the same
    bytes (the date is printed in the reports, their charts and the workbook)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not epoch:
        return datetime.now(UTC).replace(microsecond=0)
    try:
        return datetime.fromtimestamp(int(epoch), UTC)
    except (ValueError, OverflowError, OSError):
        raise ReportError(f"SOURCE_DATE_EPOCH={epoch!r}: seconds since 1970-01-01 expected") from None


# -- one run at a time per reports folder ---------------------------------------------------------------

_held: dict[tuple[Path, int], list] = {}
_held_guard = threading.Lock()


def lock_timeout(value: float | None = None) -> float:
    """Seconds to wait for the reports folder: VALUE, else PERFDATA_LOCK_TIMEOUT, else LOCK_TIMEOUT."""
    if value is not None:
        return max(0.0, float(value))
    text = os.environ.get("PERFDATA_LOCK_TIMEOUT", "").strip()
    try:
        return max(0.0, float(text)) if text else LOCK_TIMEOUT
    except ValueError:
        raise ReportError(f"PERFDATA_LOCK_TIMEOUT={text!r}: seconds expected") from None


@contextmanager
def out_lock(out_root: str | Path, timeout: float | None = None, log=None, what: str = ""):
    """Hold OUT_ROOT/.lock (fcntl.flock) while writing into OUT_ROOT: another run into the same folder waits
    up to `timeout` seconds (lock_timeout()) and then raises ReportError naming the run that holds it.
    Re-entrant within a thread (`perfdata run` holds it over ingest, check and report)."""
    out_root = Path(out_root).resolve()
    key = (out_root, threading.get_ident())
    with _held_guard:
        mine = _held.get(key)
        if mine is not None:
            mine[1] += 1
    if mine is not None:
        try:
            yield out_root
        finally:
            with _held_guard:
                mine[1] -= 1
        return
    wait = lock_timeout(timeout)
    out_root.mkdir(parents=True, exist_ok=True)
    path = out_root / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except (BlockingIOError, PermissionError):
                holder = _holder(path)
                if time.monotonic() >= deadline:
                    raise ReportError(f"{out_root}: another perfdata run is writing into this folder ({holder}); "
                                      f"gave up after waiting {wait:g} s (PERFDATA_LOCK_TIMEOUT sets the wait)"
                                      ) from None
                if not told and log:
                    log(f"waiting up to {wait:g} s for the run writing into {out_root} ({holder}) …")
                    told = True
                time.sleep(min(0.2, max(0.01, deadline - time.monotonic())))
        os.ftruncate(fd, 0)
        os.pwrite(fd, (f"pid {os.getpid()}, {what or 'perfdata'}, since "
                       f"{datetime.now(UTC).isoformat(timespec='seconds')}\n").encode(), 0)
        with _held_guard:
            _held[key] = [fd, 1]
        try:
            yield out_root
        finally:
            with _held_guard:
                del _held[key]
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _holder(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip() or "unknown process"
    except OSError:
        return "unknown process"


# -- run folders: built aside, replaced in steps that recover() can always finish or undo ----------------

def _partial(out_root: Path, run_id: str) -> Path:
    return out_root / f".{run_id}.partial"


def _aside(out_root: Path, name: str) -> Path:
    return out_root / f".{name}.old"


def _manifest_of(folder: Path) -> dict | None:
    """The manifest of a finished run folder (written last, atomically), or None."""
    try:
        return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _final_name(manifest: dict) -> str:
    return manifest["run_id"] + ("" if manifest.get("status") == "ok" else FAILED_SUFFIX)


def install(out_root: str | Path, partial: str | Path, run_id: str, ok: bool) -> Path:
    """Put the finished run folder PARTIAL in place as OUT_ROOT/<run_id> (or <run_id>-FAILED), in steps:

    1. (a complete run) `.latest.tmp` → <run_id>: what `latest` is to become;
    2. the folder of that name, if any, moved aside to .<name>.old;
    3. PARTIAL renamed in;
    4. (a complete run) `.latest.tmp` renamed onto `latest`;
    5. the old folder removed (and, for a complete run, a failed run of the same id it supersedes).

    A process killed at any step leaves names recover() puts right: `latest` never points nowhere and a
    complete run is never left hidden.
    """
    out_root, partial = Path(out_root), Path(partial)
    name = run_id if ok else f"{run_id}{FAILED_SUFFIX}"
    final, old = out_root / name, _aside(out_root, name)
    if ok:
        _intend_latest(out_root, name)
    if final.exists():
        if old.exists():  # left by an earlier replacement that got as far as renaming in
            shutil.rmtree(old)
        os.rename(final, old)
    os.rename(partial, final)
    if ok:
        _commit_latest(out_root)
    if old.exists():
        shutil.rmtree(old)
    failed = out_root / f"{run_id}{FAILED_SUFFIX}"
    if ok and failed.exists():  # an earlier failure of this id is superseded
        shutil.rmtree(failed)
    return final


def recover(out_root: str | Path, log=None) -> list[str]:
    """Put right what a killed run left in OUT_ROOT (called under the lock, before a run starts); returns what
    was done, one line each.

    - a finished .<id>.partial (its manifest written) is installed as the killed run would have;
    - an unfinished one is removed;
    - .<name>.old is removed when <name> is in place, else put back;
    - a pending `.latest.tmp` (step 1 of install()) is renamed onto `latest` when it names a complete run;
    - <id>-FAILED is removed when a later run <id> is complete (the killed run was removing it);
    - `latest` pointing nowhere (or at a hidden folder) is pointed at the newest complete run, or removed.
    """
    out_root = Path(out_root)
    done: list[str] = []
    if not out_root.is_dir():
        return done
    entries = sorted(p for p in out_root.iterdir() if p.name.startswith("."))
    for p in entries:
        if p.name.endswith(".partial") and p.is_dir() and not p.is_symlink():
            m = _manifest_of(p)
            if m and m.get("run_id") and f".{m['run_id']}.partial" == p.name:
                final = install(out_root, p, m["run_id"], m.get("status") == "ok")
                done.append(f"finished the interrupted installation of {final.name}")
            else:
                shutil.rmtree(p, ignore_errors=True)
                done.append(f"removed the unfinished run folder {p.name}")
    for p in entries:
        if p.name.endswith(".old") and p.exists() and p.is_dir() and not p.is_symlink():
            name = p.name[1:-len(".old")]
            final = out_root / name
            if final.exists():
                shutil.rmtree(p, ignore_errors=True)
                done.append(f"removed {p.name} (replaced by {name})")
            else:
                os.rename(p, final)
                done.append(f"put back {name} (its replacement did not finish)")
    pending = out_root / ".latest.tmp"
    if pending.is_symlink():
        target = os.readlink(pending)
        if _is_run(out_root, target):
            _commit_latest(out_root)
            done.append(f"latest pointed at {target} (the run that put it in place was stopped before)")
        else:
            pending.unlink()
    for p in sorted(out_root.iterdir()):  # a failed run that a later complete run of its id superseded
        if p.name.endswith(FAILED_SUFFIX) and not p.name.startswith(".") and p.is_dir() and not p.is_symlink():
            good, failed = _manifest_of(out_root / p.name[:-len(FAILED_SUFFIX)]), _manifest_of(p)
            if good and good.get("status") == "ok" and (
                    failed is None or str(good.get("finished") or "") > str(failed.get("finished") or "")):
                shutil.rmtree(p, ignore_errors=True)
                done.append(f"removed {p.name} (a later run of that id is complete)")
    link = out_root / "latest"
    target = os.readlink(link) if link.is_symlink() else None
    if target is not None and not _is_run(out_root, target):
        newest = newest_run(out_root)
        if newest:
            _point_latest(out_root, newest)
            done.append(f"latest pointed at {newest} (it pointed at {target}, which is not a complete run)")
        else:
            link.unlink()
            done.append(f"latest removed (it pointed at {target}; no complete run is left)")
    for line in done:
        (log or (lambda text: None))(f"recovered: {line}")
    return done


def _is_run(out_root: Path, name: str) -> bool:
    """Whether NAME is a complete run folder in OUT_ROOT (not hidden, not failed, its manifest written)."""
    if not name or name.startswith(".") or "/" in name or name.endswith(FAILED_SUFFIX):
        return False
    m = _manifest_of(out_root / name)
    return bool(m) and m.get("status") == "ok"


def newest_run(out_root: str | Path) -> str | None:
    """Name of the newest complete run folder in OUT_ROOT (by the time its manifest says it finished)."""
    runs = []
    for p in Path(out_root).iterdir():
        if p.name.startswith(".") or p.name == "latest" or p.name.endswith(FAILED_SUFFIX) or not p.is_dir():
            continue
        m = _manifest_of(p)
        if m and m.get("status") == "ok":
            runs.append((str(m.get("finished") or ""), p.name))
    return max(runs)[1] if runs else None


def _write_atomic(path: Path, text: str):
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def run_report(data_dir: str | Path, out_root: str | Path = "reports", params: dict | None = None, *,
               raw_dir: str | Path | None = None, run_id: str | None = None, notebooks: list[str] | None = None,
               notebook_dir: str | Path | None = None, jobs: int = 2, kernel: str = "python3",
               timeout: int = 600, extra_manifest: dict | None = None,
               failures: list[str] | None = None, progress: bool = False, log=None,
               lock_wait: float | None = None, kernels=None) -> RunResult:
    """Execute the report notebooks on DATA_DIR into OUT_ROOT/RUN_ID; see the module docstring.

    `failures` are earlier steps that failed (e.g. the check): the run is then marked failed too.
    `progress` shows a bar of cells per notebook (on a terminal); `log(text)` is called as each step ends
    (plain one-line logs, e.g. for cron). `lock_wait`: seconds to wait for another run writing into OUT_ROOT
    (default PERFDATA_LOCK_TIMEOUT, else 60). `kernels`: a kernels.WarmKernels started for these notebooks
    (e.g. while `perfdata run` ingested), used instead of starting kernels here.

    Raises ReportError before running anything for unknown parameters or values, a bad run id, a missing data
    folder, filters that select nothing, or another run holding OUT_ROOT for longer than `lock_wait`.
    """
    from perfdata import store
    from perfdata.report import analysis, excel

    log = log or (lambda text: None)
    started = datetime.now(UTC)
    when = run_time()
    t0 = time.perf_counter()
    data_dir = Path(data_dir).resolve()
    raw_dir = Path(raw_dir).resolve() if raw_dir else None
    out_root = Path(out_root).resolve()
    run_id = check_run_id(run_id or when.strftime("%Y%m%dT%H%M%SZ"))
    if not data_dir.is_dir():
        raise ReportError(f"{data_dir}: no such folder; run `perfdata ingest` (or `perfdata run`) first")
    nbs = find_notebooks(notebooks, notebook_dir)
    per_nb = resolve(nbs, params or {})
    try:
        tables = store.load(data_dir)
    except FileNotFoundError as e:
        raise ReportError(str(e)) from None
    sel = check_selection(tables, params, str(data_dir))

    with out_lock(out_root, lock_wait, log, f"run {run_id}"):
        recover(out_root, log)
        tmp = _partial(out_root, run_id)
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        warm = kernels if kernels is not None and kernels.covers(nbs, kernel) else None
        res = _build(tmp, data_dir, raw_dir, run_id, when, nbs, per_nb, sel, params, tables, jobs, kernel,
                     timeout, progress, log, failures, extra_manifest, started, t0, analysis, excel, warm)
        res.folder = install(out_root, tmp, run_id, res.status == "ok")
    return res


def _build(tmp: Path, data_dir: Path, raw_dir: Path | None, run_id: str, when: datetime, nbs: dict,
           per_nb: dict, sel: dict, params: dict | None, tables: dict, jobs: int, kernel: str, timeout: int,
           progress: bool, log, failures, extra_manifest, started: datetime, t0: float, analysis,
           excel, warm=None) -> RunResult:
    """Everything of a run inside its partial folder TMP, the manifest last (so a manifest means finished)."""
    timings: dict[str, float] = {}
    run_date = when.strftime("%Y-%m-%d %H:%M:%S UTC")
    common = {"data_dir": str(data_dir), "output_dir": str(tmp), "run_id": run_id, "run_date": run_date}
    if raw_dir is not None:
        common["raw_dir"] = str(raw_dir)
    jobs_params = {}
    for nb, path in nbs.items():
        declared = notebook_parameters(path)
        jobs_params[nb] = {k: v for k, v in common.items() if k in declared} | per_nb[nb]

    runs: list[NotebookRun] = []
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        bars = {nb: ({"desc": f"{nb}.ipynb", "position": k, "leave": False, "unit": "单元格"} if progress else False)
                for k, nb in enumerate(nbs)}
        if warm is not None:  # kernels already started (and their imports loaded) for these notebooks
            futures = {warm.submit(nb, nbs[nb], tmp, jobs_params[nb], kernel, timeout, bars[nb]): nb for nb in nbs}
        else:
            futures = {pool.submit(_execute, nb, nbs[nb], tmp, jobs_params[nb], kernel, timeout, bars[nb]): nb
                       for nb in nbs}
        # the workbook is built here while the kernels start
        w0 = time.perf_counter()
        wb_error = None
        try:
            typed = {k: v for nb in per_nb.values() for k, v in nb.items()}
            shown = {k: sel[k] if k in sel else typed.get(k, v) for k, v in (params or {}).items() if k not in MANAGED}
            excel.anomalies_workbook(analysis.filter_tables(tables, **sel), tmp / "anomalies.xlsx", raw_dir,
                                     info={"run_id": run_id, "run_date": run_date, "data_dir": str(data_dir),
                                           "parameters": shown})
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
    if warm is not None:  # started before this report: the kernel's start and imports, not counted above
        timings |= {f"kernel:{name}": s for name, s in warm.warm_seconds().items()}
        for name, why in warm.warm_errors().items():
            log(f"kernel for {name}.ipynb not warmed up ({why}); the notebook started its own")

    failed = [r for r in runs if r.status != "ok"]
    status = "failed" if failed or wb_error or failures else "ok"
    manifest = {
        "run_id": run_id,
        "status": status,
        "run_date": run_date,
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
        "notebooks": [{"name": r.name, "status": r.status, "seconds": r.seconds, "error": r.error,
                       **({"kernel_restarts": r.kernel_restarts} if r.kernel_restarts else {}),
                       **({"warm_kernel_error": warm.warm_errors().get(r.name)} if warm is not None else {})}
                      for r in runs],
        "failed": list(failures or []) + [describe_failure(r) for r in failed]
        + ([f"anomalies workbook: {wb_error}"] if wb_error else []),
        **(extra_manifest or {}),
    }
    if status != "ok":
        (tmp / "FAILED").write_text("\n".join(manifest["failed"]) + "\n", encoding="utf-8")
    manifest["outputs"] = sorted({str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.is_file()} | {"manifest.json"})
    _write_atomic(tmp / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2, default=str))
    return RunResult(run_id, tmp, status, runs, manifest)


def _point_latest(out_root: Path, run_id: str):
    """reports/latest → the newest complete run (replaced atomically)."""
    _intend_latest(out_root, run_id)
    _commit_latest(out_root)


def _intend_latest(out_root: Path, run_id: str):
    """`.latest.tmp` → RUN_ID: what `latest` is to become (install() step 1; recover() finishes it)."""
    tmp = out_root / ".latest.tmp"
    with suppress(OSError):
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(run_id, target_is_directory=True)


def _commit_latest(out_root: Path):
    """`.latest.tmp` renamed onto `latest` (atomic: `latest` is the old link or the new one, never missing)."""
    with suppress(OSError):
        os.replace(out_root / ".latest.tmp", out_root / "latest")
