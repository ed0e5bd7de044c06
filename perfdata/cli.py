"""Command line: `perfdata ingest`, `perfdata check`, `perfdata report` and `perfdata run` (all three in one), and
the audit analyses `perfdata sample`, `perfdata copies`, `perfdata years`, `perfdata digits`, `perfdata runs`.

Exit status, the same for every command: 0 everything ran; 1 some input file could not be read at all (the
rest is written); 2 bad usage or missing input (unknown parameter or value, bad run id, no such or an empty
folder, a selection without any form, another run holding the reports folder), reported before anything is
written; 3 a check or report step failed (the run folder is <run-id>-FAILED).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

from perfdata import __version__, paths, store
from perfdata.ingest import ingest

OK, INPUT_FAILED, USAGE, STEP_FAILED = 0, 1, 2, 3


def _matched(df) -> str:
    counts = df["match"].value_counts()
    return ", ".join(f"{k} {int(counts.get(k, 0))}" for k in ("exact", "key", "contains", "fuzzy", "ambiguous", "none"))


def _summary(tables, seconds: float, out: Path, written) -> str:
    files, forms, problems = tables["files"], tables["forms"], tables["problems"]
    lines = [
        f"perfdata {__version__} — ingest finished in {seconds:.2f} s",
        f"  files       {len(files):>6}   ok {int((files.status == 'ok').sum())}, "
        f"partial {int((files.status == 'partial').sum())}, failed {int((files.status == 'failed').sum())}",
        f"  forms       {len(forms):>6}   complete {int(forms.complete.sum())}",
        f"  funding     {len(tables['funding']):>6}",
        f"  indicators  {len(tables['indicators']):>6}",
        f"  summary rows {len(tables['summary_rows']):>5}   in {tables['summary_rows'].summary_id.nunique()} "
        "自评汇总表",
        f"  dept. forms {len(tables['department_forms']):>6}   indicators {len(tables['department_indicators'])}",
        # -- 绩效目标表 and narrative statements (perfdata.tables.targets, perfdata.tables.statements, perfdata.keys) --
        f"  targets     {len(tables['targets']):>6}   matched to forms {_matched(tables['targets'])}",
        f"  target ind. {len(tables['target_indicators']):>6}",
        f"  statements  {len(tables['statements']):>6}   matched to forms {_matched(tables['statements'])}",
        f"  summary rows matched to forms {_matched(tables['summary_rows'])}",
        f"  leftovers   {len(tables['leftovers']):>6}",
        f"  problems    {len(problems):>6}   " + ", ".join(
            f"{k} {v}" for k, v in problems.severity.value_counts().items()),
        "",
        "  per file:",
    ]
    per = forms.groupby("source_file").size()
    for _, f in files.iterrows():
        lines.append(f"    {f.status:<8} {int(per.get(f.source_file, 0)):>4} forms  {f.source_file}"
                     + (f"  [{f.encoding}]" if pd.notna(f.encoding) and f.encoding != "utf-8" else "")
                     + (f"  [{f.format}]" if pd.notna(f.format) and f.format != "text" else ""))
    shown = problems[problems.severity != "info"]
    if len(shown):
        lines += ["", "  problems:"]
        for _, p in shown.head(20).iterrows():
            where = f"{p.source_file}:{p.line}" if pd.notna(p.line) else p.source_file
            lines.append(f"    {p.severity:<7} {where}: {p.message}")
        if len(shown) > 20:
            lines.append(f"    … {len(shown) - 20} more in problems table")
    lines += ["", f"  tables written to {out}/ ({', '.join(sorted({w.suffix[1:] for w in written}))})"]
    return "\n".join(lines)


def cmd_ingest(args) -> int:
    raw = Path(args.raw)
    if not raw.exists():
        print(f"perfdata: {raw}: no such file or folder", file=sys.stderr)
        return 2
    from perfdata.report.progress import on_terminal

    t0 = time.perf_counter()
    # a bar only on a terminal (never into a redirected log), unless --progress/--no-progress says otherwise
    progress = args.progress if args.progress is not None else (None if on_terminal() else False)
    if args.partitioned or args.cluster:
        return _ingest_dataset(raw, args, progress)
    tables = ingest(raw, jobs=args.jobs, progress=progress)
    if _no_documents(raw, tables):
        return USAGE
    written = store.write(tables, args.out, args.format)
    print(_summary(tables, time.perf_counter() - t0, Path(args.out), written))
    failed = (tables["files"].status == "failed").any()
    return INPUT_FAILED if failed else OK


def _ingest_dataset(raw: Path, args, progress) -> int:
    """--partitioned / --cluster: a partitioned dataset written as the files are read, re-runs reading only the
    files that changed (perfdata.dataset); the summary says how many were read and reused."""
    if args.format != "parquet":
        print(f"perfdata: --format {args.format}: a partitioned dataset is Parquet only", file=sys.stderr)
        return USAGE
    try:
        summary = ingest(raw, jobs=args.jobs, progress=progress, out=args.out, partitioned=True,
                         cluster=args.cluster)
    except (ImportError, ValueError, OSError) as e:  # no dask, flat tables in OUT, no scheduler at the address
        print(f"perfdata: {e}", file=sys.stderr)
        return USAGE
    if _no_documents(raw, summary):
        return USAGE
    print(summary.text())
    return INPUT_FAILED if summary.failed else OK


def _no_documents(raw: Path, tables) -> bool:
    """An input folder without a single file to read is an error (a failed mount must not replace good tables)."""
    if len(tables["files"]):
        return False
    print(f"perfdata: {raw}: no documents to read (the folder is empty); nothing written", file=sys.stderr)
    return True


# -- check -------------------------------------------------------------------------------------------

def _params(items: list[str]) -> dict[str, float]:
    out = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--param {item!r}: write NAME=VALUE")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise ValueError(f"--param {item!r}: {value!r} is not a number") from None
    return out


def _check_names(params: dict, known) -> None:
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise ValueError(f"unknown parameter(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")


def cmd_check(args) -> int:
    from perfdata import checks
    from perfdata.report import display, excel
    from perfdata.report.progress import Steps, rule_bar

    data = Path(args.data)
    steps = Steps()
    # a partitioned dataset is checked one unit (regions and years joined by their documents) at a time, on a
    # cluster when given; the workbook needs every table at once, so --xlsx loads the dataset whole
    units = (data / store.MANIFEST).exists() and not args.xlsx
    if args.cluster and not units:
        print("perfdata: --cluster checks a partitioned dataset (perfdata ingest --partitioned), without --xlsx",
              file=sys.stderr)
        return USAGE
    try:
        params = _params(args.param)
        _check_names(params, checks.default_params())
        tables = None if units else store.load(data)
    except (FileNotFoundError, ValueError) as e:
        print(f"perfdata: {e}", file=sys.stderr)
        return USAGE
    if units:
        from perfdata import dataset

        entries = dataset.read_manifest(data)["files"]
        forms = sum(int((e.get("row") or {}).get("forms") or 0) for e in entries)
        what = f"{len(checks.rule_table())} 条规则，{forms:,} 份项目自评表（按地区和年度分组）"
    else:
        what = f"{len(checks.rule_table())} 条规则，{len(tables.get('forms', [])):,} 份项目自评表"
    t0 = time.perf_counter()
    try:
        with steps.step("check", what), rule_bar(checks, steps):
            if units:
                result = dataset.check_all_partitions(data, raw_dir=args.raw, cluster=args.cluster, **params)
            else:
                result = checks.check_all(tables, raw_dir=args.raw, **params)
    except Exception as e:  # noqa: BLE001 - a rule that fails is the check failing, not a usage error
        print(f"perfdata: check failed: {type(e).__name__}: {e}", file=sys.stderr)
        return STEP_FAILED
    seconds = time.perf_counter() - t0
    found = result["anomalies"]
    if not units and not ("forms" in tables and "indicators" in tables):  # no forms read: no rescoring to keep
        result = {"anomalies": found}
    written = store.write(result, data, "parquet")
    code = OK
    if args.xlsx:
        raw = args.raw or (str(paths.RAW) if paths.RAW.exists() else None)
        try:
            with steps.step("workbook", "anomalies.xlsx"):
                written.append(excel.anomalies_workbook(
                    {**tables, **result}, data / "anomalies.xlsx", raw,
                    info={"run_id": f"perfdata check {data}", "data_dir": str(data.resolve()), "parameters": params}))
        except Exception as e:  # noqa: BLE001 - the findings are written; the workbook step failed
            print(f"perfdata: anomalies workbook failed: {type(e).__name__}: {e}", file=sys.stderr)
            code = STEP_FAILED
    print("\n".join(check_summary(found, seconds, display)
                    + ["", f"  written: {', '.join(str(w) for w in written)}"]))
    return code


def check_summary(found, seconds: float, display=None) -> list[str]:
    """The check's findings per rule, most severe first, in Chinese (the rule id for docs/rules.md last)."""
    from perfdata import checks

    if display is None:
        from perfdata.report import display
    per = checks.summary(found)
    sev = display.value_labels("severity")
    lines = [f"perfdata {__version__} — {len(found)} findings in {seconds:.2f} s "
             f"({int(checks.is_template_level(found).sum())} template-level)", ""]
    for r in per.itertuples():
        lines.append(f"  {sev.get(r.severity, r.severity)}  {r.findings:>5}  {r.title_zh}  ({r.rule})")
    return lines


# -- report and run ------------------------------------------------------------------------------

def _report_options(p):
    p.add_argument("--out", default=str(paths.REPORTS), help="reports folder (default reports/); a run goes "
                   "into OUT/<run-id>/")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="notebook parameter, e.g. years=2024 or regions=兴隆县,新乡县 (repeatable)")
    p.add_argument("--run-id", default=None, help="run folder name (default: UTC time, e.g. 20250101T060000Z); "
                   "the same id replaces that run; at most 100 characters, no '/', '..', leading '.' or 'latest'")
    p.add_argument("--jobs", type=int, default=2, help="notebooks run at once (default 2)")
    p.add_argument("--notebooks", default=None, help="comma-separated notebook names (default: the report ones)")
    p.add_argument("--english", action="store_true", help="tables/*.csv with English column names and codes "
                   "(for machine use); by default their headers and codes are Chinese")


def _report_params(runner, args, params=None) -> dict:
    params = runner.parse_params(args.param) if params is None else dict(params)
    if getattr(args, "english", False):
        params["english"] = "true"
    return params


def _finish_report(args, data, raw, extra=None, failures=None, params=None, steps=None, kernels=None) -> int:
    from perfdata.report import runner
    from perfdata.report.progress import Steps

    steps = steps or Steps()
    try:
        params = _report_params(runner, args, params)
        steps.log("report   notebooks and anomalies.xlsx …")
        res = runner.run_report(data, args.out, params, raw_dir=raw, run_id=args.run_id,
                                jobs=args.jobs, notebooks=args.notebooks.split(",") if args.notebooks else None,
                                extra_manifest=extra, failures=failures, progress=steps.bars,
                                log=lambda text: steps.log(f"report   {text}"), kernels=kernels)
    except runner.ReportError as e:
        print(f"perfdata: {e}", file=sys.stderr)
        return USAGE
    for n in res.notebooks:
        print(f"  {n.status:<7} {n.name}.ipynb  {n.seconds:.1f} s")
    if res.status != "ok":
        for line in res.manifest["failed"]:
            print(f"perfdata: {line}", file=sys.stderr)
        print(f"perfdata: report FAILED, see {res.folder}/FAILED", file=sys.stderr)
        return STEP_FAILED
    print(f"report written to {res.folder}/ in {res.manifest['seconds']:.1f} s")
    return OK


def cmd_report(args) -> int:
    raw = args.raw if args.raw else (str(paths.RAW) if paths.RAW.exists() else None)
    return _finish_report(args, args.data, raw)


def _split_params(runner, check_names: set[str], args) -> tuple[dict[str, float], dict[str, str]]:
    """--param NAME=VALUE for `run`: check parameters (e.g. exec_rate_threshold) go to check(), notebook
    parameters to the report, a name both take to both; a name neither takes is an error."""
    params = runner.parse_params(args.param)
    notebooks = runner.find_notebooks(args.notebooks.split(",") if args.notebooks else None)
    taken = set().union(*(runner.notebook_parameters(p) for p in notebooks.values()))
    check_params = {k: v for k, v in params.items() if k in check_names}
    report_params = {k: v for k, v in params.items() if k not in check_names or k in taken}
    _params([f"{k}={v}" for k, v in check_params.items()])  # numbers, or the error names the item
    runner.resolve(notebooks, _report_params(runner, args, report_params))  # names, types and values (years=abc)
    return check_params, report_params


def cmd_run(args) -> int:
    """ingest RAW → PROCESSED, check (anomalies.parquet beside the tables), report.

    Usage errors (exit 2) come before anything is written: parameter names, types and values and the run id
    before the ingest, the filters against what was read after it (and before the tables are written).
    """
    raw, processed = Path(args.raw), Path(args.processed)
    if not raw.exists():
        print(f"perfdata: {raw}: no such file or folder", file=sys.stderr)
        return USAGE
    from perfdata.report import runner

    kernels = _warm_kernels(runner, args)  # they start while the parameters are checked and the files read
    try:
        from perfdata.checks import check_all, default_params

        try:  # parameters are checked before anything runs: check() takes its own names, the notebooks theirs
            if args.run_id is not None:
                runner.check_run_id(args.run_id)
            check_params, report_params = _split_params(runner, set(default_params()), args)
        except (runner.ReportError, ValueError) as e:
            print(f"perfdata: {e}", file=sys.stderr)
            return USAGE
        from perfdata.report.progress import Steps, rule_bar

        steps = Steps()
        t0 = time.perf_counter()
        steps.log(f"ingest   {raw} …")
        tables = ingest(raw, progress=None if steps.bars else False)
        if _no_documents(raw, tables):
            return USAGE
        try:  # the filters against what was read (an unknown region, department or year, or nothing selected),
            # then one run at a time into this reports folder, from writing the tables to repointing latest
            runner.check_selection(tables, report_params, str(raw))
            with runner.out_lock(args.out, log=lambda text: steps.log(f"report   {text}"),
                                 what=f"perfdata run {raw}"):
                code = _run_steps(args, raw, processed, tables, check_params, report_params, steps, t0, check_all,
                                  rule_bar, kernels)
        except runner.ReportError as e:  # _run_steps reports its own (through _finish_report)
            print(f"perfdata: {e}", file=sys.stderr)
            return USAGE
    finally:
        if kernels is not None:
            kernels.close()
    failed = (tables["files"].status == "failed").any()
    return code or (INPUT_FAILED if failed else OK)


def _warm_kernels(runner, args):
    """The report's kernels, started while `run` ingests and checks (when all its notebooks run at once)."""
    try:
        notebooks = runner.find_notebooks(args.notebooks.split(",") if args.notebooks else None)
    except runner.ReportError:  # said by the parameter check that follows
        return None
    if args.jobs < len(notebooks):
        return None
    from perfdata.report.kernels import WarmKernels

    return WarmKernels(notebooks)


def _run_steps(args, raw, processed, tables, check_params, report_params, steps, t0, check_all, rule_bar,
               kernels=None) -> int:
    store.write(tables, processed)
    t_ingest = time.perf_counter() - t0
    print(f"ingest   {len(tables['forms'])} forms from {len(tables['files'])} files → {processed}/ "
          f"({t_ingest:.1f} s)")
    t1 = time.perf_counter()
    for stale in ("anomalies", "rescored_forms", "rescored_indicators"):  # findings of earlier tables
        (processed / f"{stale}.parquet").unlink(missing_ok=True)
    failures = []
    try:  # anomalies plus the rescored totals (the scores notebook's self-score vs rescore)
        import perfdata.checks as checks_module

        steps.log("check    …")
        with rule_bar(checks_module, steps):
            result = check_all(tables, raw_dir=raw if raw.is_dir() else raw.parent, **check_params)
        store.write(result, processed)
    except Exception as e:  # noqa: BLE001 - the report still runs, and the run is marked failed
        check_status = f"failed: {type(e).__name__}: {e}"
        failures.append(f"check {check_status}")
        print(f"perfdata: check {check_status}", file=sys.stderr)
    else:
        check_status = f"{len(result['anomalies'])} findings"
        print(f"check    {check_status} → {processed}/anomalies.parquet ({time.perf_counter() - t1:.1f} s)")
    extra = {"steps": {"ingest": {"seconds": round(t_ingest, 3), "forms": len(tables["forms"])},
                       "check": {"seconds": round(time.perf_counter() - t1, 3), "result": check_status}}}
    return _finish_report(args, processed, raw if raw.is_dir() else raw.parent, extra, failures, report_params,
                          steps, kernels)


def add_report_commands(sub):
    rep = sub.add_parser("report", help="run the report notebooks into reports/<run-id>/")
    rep.add_argument("--data", default=str(paths.PROCESSED), help="tidy tables (default data/processed)")
    rep.add_argument("--raw", default=None, help="raw documents, quoted as evidence (default data/raw if present)")
    _report_options(rep)
    rep.set_defaults(func=cmd_report)
    run = sub.add_parser("run", help="ingest + check + report: the whole job in one command")
    run.add_argument("raw", nargs="?", default=str(paths.RAW), help="raw file or folder (default data/raw)")
    run.add_argument("--processed", default=str(paths.PROCESSED), help="tables folder (default data/processed)")
    _report_options(run)
    run.set_defaults(func=cmd_run)


# -- the audit analyses (perfdata.audit) ---------------------------------------------------------------

def _audit_tables(args):
    """The tidy tables of DATA, with the findings `perfdata check` wrote beside them when there are any."""
    return store.load(Path(args.data))


def _write_csv(df, table: str, folder: Path, english: bool) -> Path:
    """One audit table as UTF-8 CSV (Excel opens it): Chinese headers and codes unless --english, formula-safe."""
    from perfdata.report import display

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{table}.csv"
    store.formula_safe(display.for_csv(df, table, english)).to_csv(path, index=False, encoding="utf-8-sig",
                                                                   lineterminator="\r\n")
    return path


def _audit_out(args) -> Path:
    return Path(args.out) if args.out else Path(args.data) / "audit"


def _print_rows(df, table: str, columns: list[str], limit: int) -> None:
    """The first rows of an audit table on the terminal, Chinese headers, no index."""
    from perfdata.report import display

    if not len(df):
        return
    shown = display.for_csv(df[columns].head(limit), table)
    print(shown.to_string(index=False, max_colwidth=40))
    if len(df) > limit:
        print(f"  … 共 {len(df):,} 行，列前 {limit} 行，全部见 CSV")


def _audit_command(run):
    """Wrap an audit command: missing tables and bad values are usage errors (exit 2) named in one line."""
    def cmd(args) -> int:
        try:
            return run(args)
        except (FileNotFoundError, ValueError) as e:
            print(f"perfdata: {e}", file=sys.stderr)
            return USAGE
    return cmd


def _cmd_sample(args) -> int:
    from perfdata.audit.sampling import sample

    tables = _audit_tables(args)
    by = tuple(b.strip() for b in args.by.split(",") if b.strip())
    drawn = sample(tables, method=args.method, n=args.n, seed=args.seed, by=by, allocation=args.allocation)
    path = _write_csv(drawn, "sample", _audit_out(args), args.english)
    seed = int(drawn.seed.iloc[0]) if len(drawn) else args.seed
    print(f"perfdata {__version__} — 抽查清单: {len(drawn):,} of {len(tables.get('forms', [])):,} forms, "
          f"method {args.method}, seed {seed}")
    _print_rows(drawn, "sample", ["region", "department", "year", "project_name", "budget", "source_file",
                                  "line_start", "reason"], args.limit)
    print(f"\n  written: {path}")
    return OK


def _cmd_copies(args) -> int:
    from perfdata.audit.copies import copies

    found = copies(_audit_tables(args), raw_dir=args.raw)
    path = _write_csv(found, "copies", _audit_out(args), args.english)
    kinds = found.kind.value_counts()
    print(f"perfdata {__version__} — 雷同文本: {len(found):,} findings"
          + (" (" + ", ".join(f"{k} {v}" for k, v in kinds.items()) + ")" if len(found) else ""))
    for m in found.message.head(args.limit):
        print(f"  {m}")
    if len(found) > args.limit:
        print(f"  … 共 {len(found):,} 项，列前 {args.limit} 项，全部见 CSV")
    print(f"\n  written: {path}")
    return OK


def _cmd_years(args) -> int:
    from perfdata.audit.years import compare_years

    result = compare_years(_audit_tables(args))
    out = _audit_out(args)
    written = [_write_csv(df, name, out, args.english) for name, df in result.items()]
    py, found = result["project_years"], result["year_findings"]
    linked = int(py.prev_year.notna().sum()) if len(py) else 0
    print(f"perfdata {__version__} — 跨年度对比: {len(py):,} project-years, {linked:,} linked to the year before, "
          f"{len(found):,} findings")
    for m in found.message.head(args.limit):
        print(f"  {m}")
    print("\n  written: " + ", ".join(str(w) for w in written))
    return OK


def _cmd_digits(args) -> int:
    from perfdata.audit.digits import digit_tables

    by = tuple(b.strip() for b in args.by.split(",") if b.strip())
    result = digit_tables(_audit_tables(args), by=by)
    out = _audit_out(args)
    written = [_write_csv(df, name, out, args.english) for name, df in result.items()]
    tests = result["digit_tests"]
    print(f"perfdata {__version__} — 数字分布检验: {len(tests):,} tests")
    _print_rows(tests, "digit_tests", ["test", "group", "n", "mad", "verdict"], args.limit)
    print("\n  written: " + ", ".join(str(w) for w in written))
    return OK


def _cmd_runs(args) -> int:
    from perfdata.audit.runs import runs

    found = runs(args.reports)
    print(f"perfdata {__version__} — {len(found):,} report runs in {args.reports}")
    _print_rows(found, "runs", ["run_id", "status", "run_date", "forms", "findings", "findings_high"], args.limit)
    if args.out:
        print(f"\n  written: {_write_csv(found, 'runs', Path(args.out), args.english)}")
    return OK


def add_audit_commands(sub) -> None:
    def common(p, what: str):
        p.add_argument("data", nargs="?", default=str(paths.PROCESSED),
                       help="folder of tidy tables (default data/processed)")
        p.add_argument("--out", default=None, help=f"folder for {what} (default DATA/audit)")
        p.add_argument("--english", action="store_true", help="English column names and codes in the CSV")
        p.add_argument("--limit", type=int, default=20, help="rows printed (default 20; the CSV has all)")

    from perfdata.audit.sampling import ALLOCATIONS, METHODS

    sam = sub.add_parser("sample", help="draw forms for 抽查复核 (sample.csv: why each form was drawn)")
    common(sam, "sample.csv")
    sam.add_argument("--method", choices=METHODS, default="risk",
                     help="random, stratified, mus (each 万元 an item) or risk (by the findings); default risk")
    sam.add_argument("--n", type=int, default=None, help="forms to draw (default rules/sampling.csv)")
    sam.add_argument("--seed", type=int, default=None, help="seed (the same data, method, n and seed give the "
                     "same sample; default a fresh one, printed and kept in the table)")
    sam.add_argument("--by", default="region,year", help="strata for stratified (region, department, year)")
    sam.add_argument("--allocation", choices=ALLOCATIONS, default="proportional", help="stratified allocation")
    sam.set_defaults(func=_audit_command(_cmd_sample))
    cop = sub.add_parser("copies", help="copied text across forms, departments and years (copies.csv)")
    common(cop, "copies.csv")
    cop.add_argument("--raw", default=None, help="the raw folder the tables were read from: goal texts are then "
                     "placed on their own line")
    cop.set_defaults(func=_audit_command(_cmd_copies))
    yrs = sub.add_parser("years", help="each project across years, and what changed (year_findings.csv)")
    common(yrs, "project_years.csv, indicator_years.csv, year_findings.csv")
    yrs.set_defaults(func=_audit_command(_cmd_years))
    dig = sub.add_parser("digits", help="Benford and last-digit tests on the amounts (digit_tests.csv)")
    common(dig, "digit_tests.csv, digit_frequencies.csv")
    dig.add_argument("--by", default="region,year", help="groups tested besides the whole batch")
    dig.set_defaults(func=_audit_command(_cmd_digits))
    run = sub.add_parser("runs", help="the report runs in a reports folder and their headline figures")
    run.add_argument("reports", nargs="?", default=str(paths.REPORTS), help="reports folder (default reports/)")
    run.add_argument("--out", default=None, help="also write runs.csv into this folder")
    run.add_argument("--english", action="store_true", help="English column names and codes in the CSV")
    run.add_argument("--limit", type=int, default=20, help="rows printed (default 20)")
    run.set_defaults(func=_audit_command(_cmd_runs))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="perfdata", description=__doc__)
    p.add_argument("--version", action="version", version=f"perfdata {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    ing = sub.add_parser("ingest", help="read raw documents into tidy tables")
    ing.add_argument("raw", nargs="?", default=str(paths.RAW), help="raw file or folder (default data/raw)")
    ing.add_argument("--out", default=str(paths.PROCESSED), help="output folder (default data/processed)")
    ing.add_argument("--format", choices=store.FORMATS, default="parquet")
    ing.add_argument("--jobs", type=int, default=None, help="processes (default: all cores for ≥8 files)")
    ing.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                     help="progress bar (default: on a terminal, for ≥20 files)")
    ing.add_argument("--partitioned", action="store_true",
                     help="write a partitioned Parquet dataset (by region and year) as the files are read: bounded "
                          "memory, and a re-run reads only the files that changed (see docs/scale.md)")
    ing.add_argument("--cluster", default=None, metavar="ADDRESS",
                     help="read on the Dask cluster whose scheduler is at ADDRESS (e.g. tcp://host:8786); its "
                          "workers write the partitions (implies --partitioned; pip install 'perfdata[cluster]')")
    ing.set_defaults(func=cmd_ingest)
    chk = sub.add_parser("check", help="rescore the forms and list anomalies (writes anomalies.parquet)")
    chk.add_argument("data", nargs="?", default=str(paths.PROCESSED),
                     help="folder of tidy tables (default data/processed)")
    chk.add_argument("--raw", default=None, help="raw folder, to quote the evidence lines (default data/raw)")
    chk.add_argument("--xlsx", action="store_true", help="also write anomalies as an Excel workbook")
    chk.add_argument("--param", action="append", metavar="NAME=VALUE",
                     help="override a threshold or tolerance (see docs/rules.md); repeatable")
    chk.add_argument("--cluster", default=None, metavar="ADDRESS",
                     help="check a partitioned dataset unit by unit on the Dask cluster at ADDRESS "
                          "(e.g. tcp://host:8786; pip install 'perfdata[cluster]')")
    chk.set_defaults(func=cmd_check)
    add_report_commands(sub)
    add_audit_commands(sub)
    args = p.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
