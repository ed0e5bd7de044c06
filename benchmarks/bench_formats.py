"""Reading speed per input format, and calamine against openpyxl on the same workbooks.

Why: the ingest reads .txt, .xlsx, .xls, .docx and .pdf through one grid; the container readers differ
by orders of magnitude in speed, and the two .xlsx engines differ in what they can see. The script
renders the 43 bundled project forms into every format (tests/make_fixtures.py), then times
1. the whole ingest of each file (read + layout + forms) per format, in forms per second;
2. the .xlsx engines on the same workbooks: calamine, openpyxl (full) and openpyxl (read-only), with
   what each reports (percent formats, merged ranges, hidden rows);
3. a 100,000-row sheet through each engine, each in a fresh process (time, and peak resident memory
   above the process's size after imports; Linux only);
4. the PDF reader against bare pypdfium2 character extraction (each page's text and every character's
   loose box) on the same pages, both with PDFium's built-in fonts only, as the reader reads: CPU time
   per page, the two taken in turn in each of `--repeat` rounds (at least 3), medians, and their ratio
   (the aim is at most 1.5).

    python benchmarks/bench_formats.py [--repeat 3] [--rows 100000] [--json PATH] [--pdf-only]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from make_fixtures import FORM_DOCUMENTS, RAW, render  # noqa: E402

from perfdata.ingest import read_bytes  # noqa: E402

FORMATS = ("txt", "xlsx", "xls", "docx", "pdf")


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def per_format(out: Path, repeat: int) -> dict:
    rows = {}
    for fmt in FORMATS:
        paths = [RAW / n for n in FORM_DOCUMENTS] if fmt == "txt" else \
            [out / fmt / f"{Path(n).stem}.{fmt}" for n in FORM_DOCUMENTS]
        blobs = [(p.read_bytes(), p.name) for p in paths]
        forms = sum(read_bytes(b, n).tables["files"][0]["forms"] for b, n in blobs)
        if forms != 43:
            raise SystemExit(f"{fmt}: {forms} forms read, expected the 43 bundled forms")
        secs = best(lambda blobs=blobs: [read_bytes(b, n) for b, n in blobs], repeat)
        rows[fmt] = {"files": len(blobs), "bytes": sum(len(b) for b, _ in blobs), "forms": forms,
                     "seconds": round(secs, 4), "forms_per_s": round(forms / secs, 1)}
    return rows


def engines(out: Path, repeat: int) -> dict:
    import warnings

    from openpyxl import load_workbook
    from python_calamine import CalamineWorkbook

    blobs = [(out / "xlsx" / f"{Path(n).stem}.xlsx").read_bytes() for n in FORM_DOCUMENTS]

    def calamine():
        cells = merges = 0
        for b in blobs:
            wb = CalamineWorkbook.from_filelike(io.BytesIO(b))
            for name in wb.sheet_names:
                sh = wb.get_sheet_by_name(name)
                cells += sum(1 for row in sh.iter_rows() for v in row if v != "")
                merges += len(sh.merged_cell_ranges or [])
        return {"cells": cells, "merged_ranges": merges, "percent_cells": None, "hidden_rows": None}

    def openpyxl(read_only: bool):
        cells = merges = pct = hidden = 0
        for b in blobs:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                wb = load_workbook(io.BytesIO(b), data_only=True, read_only=read_only)
            for ws in wb.worksheets:
                for row in ws.iter_rows():
                    for c in row:
                        if c.value is not None:
                            cells += 1
                            pct += isinstance(c.value, float | int) and "%" in (c.number_format or "")
                if not read_only:
                    merges += len(ws.merged_cells.ranges)
                    hidden += sum(1 for d in ws.row_dimensions.values() if d.hidden)
            wb.close()
        return {"cells": cells, "merged_ranges": None if read_only else merges, "percent_cells": pct,
                "hidden_rows": None if read_only else hidden}

    res = {}
    for name, fn in (("calamine", calamine), ("openpyxl", lambda: openpyxl(False)),
                     ("openpyxl_read_only", lambda: openpyxl(True))):
        seen = fn()
        res[name] = {"seconds": round(best(fn, repeat), 4), **seen}
    return res


def pdf_pages(blobs: list[bytes]) -> tuple[int, int]:
    """Pages and characters of the PDFs, as PDFium's text pages count them."""
    import pypdfium2 as pdfium

    pages = chars = 0
    for b in blobs:
        doc = pdfium.PdfDocument(b)
        for i in range(len(doc)):
            page = doc[i]
            tp = page.get_textpage()
            pages, chars = pages + 1, chars + tp.count_chars()
            tp.close()
            page.close()
        doc.close()
    return pages, chars


def bare_extraction(blobs: list[bytes]) -> list[tuple[str, list]]:
    """pypdfium2's own character extraction, the floor under any reader built on it: every page's text and
    the loose box of each character."""
    import pypdfium2 as pdfium

    out = []
    for b in blobs:
        doc = pdfium.PdfDocument(b)
        for i in range(len(doc)):
            page = doc[i]
            tp = page.get_textpage()
            n = tp.count_chars()
            out.append((tp.get_text_range(0, n), [tp.get_charbox(k, loose=True) for k in range(n)]))
            tp.close()
            page.close()
        doc.close()
    return out


def pdf_reader(out: Path, repeat: int) -> dict:
    """CPU time per page of read_pdf and of bare pypdfium2 extraction (built-in fonts only, as read_pdf
    sets them; also with the platform's fonts, for reference), in turn in each round; medians."""
    from perfdata.readers.pdf import builtin_fonts_only, read_pdf

    blobs = [(out / "pdf" / f"{Path(n).stem}.pdf").read_bytes() for n in FORM_DOCUMENTS]
    pages, chars = pdf_pages(blobs)

    def bare_builtin():
        with builtin_fonts_only():
            bare_extraction(blobs)

    runs = {"reader": lambda: [read_pdf(b) for b in blobs], "bare_builtin_fonts": bare_builtin,
            "bare_platform_fonts": lambda: bare_extraction(blobs)}
    for fn in runs.values():  # warm up: imports, PDFium's start, caches
        fn()
    cpu: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(max(3, repeat)):
        for name, fn in runs.items():
            t0 = time.process_time()
            fn()
            cpu[name].append((time.process_time() - t0) * 1000 / pages)
    med = {k: statistics.median(v) for k, v in cpu.items()}
    return {"files": len(blobs), "pages": pages, "chars": chars, "rounds": len(cpu["reader"]),
            "ms_per_page": {k: round(v, 2) for k, v in med.items()},
            "runs_ms_per_page": {k: [round(x, 2) for x in v] for k, v in cpu.items()},
            "ratio": round(med["reader"] / med["bare_builtin_fonts"], 2),
            "ratio_platform_fonts": round(med["reader"] / med["bare_platform_fonts"], 2)}


def print_pdf(r: dict) -> None:
    ms = r["ms_per_page"]
    print(f"PDF reader and bare pypdfium2 extraction on the same {r['pages']} pages ({r['files']} files, "
          f"{r['chars']:,} characters), CPU ms per page, medians of {r['rounds']} rounds:")
    print(f"  read_pdf                                  {ms['reader']:>7.2f}")
    print(f"  pypdfium2 chars + boxes, built-in fonts   {ms['bare_builtin_fonts']:>7.2f}")
    print(f"  pypdfium2 chars + boxes, platform fonts   {ms['bare_platform_fonts']:>7.2f}")
    print(f"  ratio read_pdf / bare (built-in fonts): {r['ratio']:.2f} (aim <= 1.5); "
          f"against the platform fonts: {r['ratio_platform_fonts']:.2f}")


LARGE = r"""
import io, re, sys, time, warnings
def peak_mib():  # the high-water mark of resident memory since clear_refs was written
    return int(re.search(r"VmHWM:\s+(\d+)", open("/proc/self/status").read()).group(1)) // 1024
engine, path = sys.argv[1], sys.argv[2]
data = open(path, "rb").read()
import python_calamine, openpyxl, perfdata.ingest  # imports are not part of the measure
open("/proc/self/clear_refs", "w").write("5")  # reset the peak (the forked parent's is inherited)
base = peak_mib()
t0 = time.perf_counter()
if engine == "perfdata":
    from perfdata.readers.detect import read_grid
    n = len(read_grid(data, "big.xlsx")[0].rows)
elif engine == "calamine":
    from python_calamine import CalamineWorkbook
    n = sum(1 for _ in CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).iter_rows())
else:
    from openpyxl import load_workbook
    warnings.simplefilter("ignore")
    wb = load_workbook(io.BytesIO(data), read_only=engine == "openpyxl_read_only", data_only=True)
    n = sum(1 for _ in wb.worksheets[0].iter_rows(values_only=True))
print(n, time.perf_counter() - t0, peak_mib() - base)
"""


def large_sheet(rows: int, tmp: Path) -> dict:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("data")
    for i in range(rows):
        ws.append([i, f"项目{i}", i * 0.5, "≥95%", None, "完成"])
    path = tmp / "big.xlsx"
    wb.save(path)
    res = {"rows": rows, "file_bytes": path.stat().st_size}
    for engine in ("perfdata", "calamine", "openpyxl_read_only", "openpyxl"):
        out = subprocess.run([sys.executable, "-c", LARGE, engine, str(path)], capture_output=True, text=True,
                             check=True).stdout.split()
        res[engine] = {"rows_read": int(out[0]), "seconds": round(float(out[1]), 3), "peak_rss_mib": int(out[2])}
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--pdf-only", action="store_true", help="only the PDF reader against bare pypdfium2")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as d:
        out = Path(d)
        t0 = time.perf_counter()
        if a.pdf_only:
            render(out, formats=("pdf",))
            report = {"render_seconds": round(time.perf_counter() - t0, 2), "pdf_reader": pdf_reader(out, a.repeat)}
            print_pdf(report["pdf_reader"])
            if a.json:
                a.json.write_text(json.dumps(report, indent=2, ensure_ascii=False))
            return
        render(out)
        report = {"render_seconds": round(time.perf_counter() - t0, 2),
                  "per_format": per_format(out, a.repeat), "xlsx_engines": engines(out, a.repeat),
                  "large_sheet": large_sheet(a.rows, out), "pdf_reader": pdf_reader(out, a.repeat)}
    print(f"{'format':<6} {'files':>5} {'forms':>5} {'KiB':>7} {'seconds':>8} {'forms/s':>8}")
    for fmt, r in report["per_format"].items():
        print(f"{fmt:<6} {r['files']:>5} {r['forms']:>5} {r['bytes'] // 1024:>7} {r['seconds']:>8.3f} "
              f"{r['forms_per_s']:>8.1f}")
    print("\n.xlsx engines on the same 3 workbooks (43 forms):")
    for name, r in report["xlsx_engines"].items():
        print(f"  {name:<20} {r['seconds']:>7.3f} s  cells {r['cells']}, merged ranges {r['merged_ranges']}, "
              f"percent cells {r['percent_cells']}, hidden rows {r['hidden_rows']}")
    big = report["large_sheet"]
    print(f"\n{big['rows']:,}-row sheet ({big['file_bytes'] // 1024} KiB), each engine in a fresh process:")
    for name in ("perfdata", "calamine", "openpyxl_read_only", "openpyxl"):
        r = big[name]
        print(f"  {name:<20} {r['seconds']:>7.3f} s  peak RSS +{r['peak_rss_mib']} MiB  rows {r['rows_read']}")
    print()
    print_pdf(report["pdf_reader"])
    spread = statistics.mean(r["forms_per_s"] for r in report["per_format"].values())
    print(f"\nmean over formats: {spread:.1f} forms/s (render took {report['render_seconds']} s)")
    if a.json:
        a.json.write_text(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
