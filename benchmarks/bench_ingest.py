"""Benchmark of the ingest on a scaled corpus built from the bundled project forms.

Why: the raw folder holds only 43 project forms, too few to see how the ingest scales. This script
cuts those forms out of the source documents (with the package's own layout finder), writes many
deterministic variants of them (spacing noise, scaled money figures, distinct project names) and
times three things on the same files: a bare read/decode/split baseline, the ingest in one process
and the ingest with one process per core. It also checks that every generated form is found.
`--dataset` also times the ingest into a partitioned dataset (perfdata.dataset, into an empty folder
each time) and checks that the dataset holds the same tables as the in-memory ingest (same rows, order
and dtypes, after dataset.in_file_order).

    python benchmarks/bench_ingest.py [--forms 10000] [--repeat 5] [--out DIR] [--json PATH] [--dataset]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from perfdata import dataset, normalize
from perfdata.ingest import ingest
from perfdata.readers.text import decode, read_text, split_lines
from perfdata.tables import layout

HERE = Path(__file__).resolve().parent
RAW = HERE.parent / "data" / "raw"
DEFAULT_OUT = HERE / "out" / "corpus"
FILE_PREFIX = "bench-forms-"
MANIFEST = ".manifest.json"  # hidden: the ingest skips dot files

CJK_PAIR = re.compile(r"(?<=[\u4e00-\u9fff])(?=[\u4e00-\u9fff])")
NUMBER = re.compile(r"^(\d+(?:\.\d+)?)(万元|元)?$")
MONEY_ROW = ("年度资金总额", "财政拨款")


@dataclass
class SourceForm:
    """The raw lines of one project form as cut from a bundled document."""

    doc: str
    line: int
    lines: list[str]


@dataclass
class GeneratedForm:
    """Where a generated form landed, so a form the ingest misses can be traced back."""

    file: str
    line_start: int
    line_end: int
    source: str
    serial: int


def load_forms(raw: Path) -> list[SourceForm]:
    """Cut every project form out of the raw documents: from its first line to the next table start."""
    forms: list[SourceForm] = []
    for path in sorted(raw.glob("*.txt")):
        data = path.read_bytes()
        grid = read_text(data)
        lines = split_lines(decode(data)[0])
        starts = layout.find_tables(grid.rows)
        for k, st in enumerate(starts):
            if st.kind != "project_form":
                continue
            first = grid.rows[st.index].line
            stop = grid.rows[starts[k + 1].index].line if k + 1 < len(starts) else len(lines) + 1
            forms.append(SourceForm(path.name, first, lines[first - 1 : stop - 1]))
    return forms


def _money_cells(cells: list[str]) -> list[int]:
    """Cells holding money in a funding row: the plain numbers after the label, up to the first other
    filled cell. When that cell is the execution rate (a %) and three or more numbers precede it, the
    last one is the weight (分值), not money. Headers and values are not column-aligned in these
    extractions, so position in the row is the only reliable guide."""
    label = next((i for i, c in enumerate(cells) if any(m in c for m in MONEY_ROW)), None)
    if label is None:
        return []
    run: list[int] = []
    stop = ""
    for i in range(label + 1, len(cells)):
        c = cells[i].strip()
        if not c:
            continue
        if not NUMBER.match(c):
            stop = c
            break
        run.append(i)
    if "%" in stop and len(run) >= 3:
        run.pop()
    return run


def _space_inside(cell: str, rng: random.Random) -> str:
    """Insert one space between two Chinese characters, as PDF extraction often does."""
    gaps = [m.start() for m in CJK_PAIR.finditer(cell)]
    if not gaps:
        return cell
    at = rng.choice(gaps)
    return cell[:at] + " " + cell[at:]


def vary(form: SourceForm, rng: random.Random, serial: int) -> list[str]:
    """A deterministic variant of one form; cells between tabs keep their places."""
    factor = rng.uniform(0.3, 3.0)
    out: list[str] = []
    for line in form.lines:
        cells = line.split("\t")
        filled = [i for i, c in enumerate(cells) if c.strip()]
        if filled and cells[filled[0]].replace(" ", "").startswith("项目名称") and len(filled) > 1:
            i = filled[1]
            cells[i] = f"{cells[i].rstrip()}-{serial:06d}"
        for i in _money_cells(cells):
            m = NUMBER.match(cells[i].strip())
            cells[i] = f"{float(m.group(1)) * factor:.2f}{m.group(2) or ''}"
        for i in filled:
            if rng.random() < 0.15:
                cells[i] = _space_inside(cells[i], rng)
        text = "\t".join(cells)
        if "\t" in text and rng.random() < 0.10:
            text += "\t" * rng.randint(1, 2)
        out.append(text)
        if text.strip() and rng.random() < 0.05:
            out.extend([""] * rng.randint(1, 2))
    return out


def build_corpus(out: Path, sources: list[SourceForm], n_forms: int, per_file: int,
                 seed: int) -> list[GeneratedForm]:
    """Write n_forms variants, per_file to a file, and a hidden manifest of where each one is."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob(f"{FILE_PREFIX}*.txt"):
        old.unlink()
    rng = random.Random(seed)
    manifest: list[GeneratedForm] = []
    serial = 0
    n_files = -(-n_forms // per_file)
    for f in range(n_files):
        name = f"{FILE_PREFIX}{f:05d}.txt"
        lines: list[str] = []
        for _ in range(min(per_file, n_forms - serial)):
            src = sources[serial % len(sources)]
            body = vary(src, rng, serial)
            while body and not body[-1].strip():
                body.pop()
            if lines:
                lines.extend([""] * rng.randint(1, 3))
            first = len(lines) + 1
            lines.extend(body)
            manifest.append(GeneratedForm(name, first, len(lines), f"{src.doc}:{src.line}", serial))
            serial += 1
        (out / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    (out / MANIFEST).write_text(json.dumps([asdict(m) for m in manifest], ensure_ascii=False, indent=0),
                                encoding="utf-8")
    return manifest


def clear_caches():
    """The ingest memoises cleaned cells and lookups in-process; clear them so every run starts cold."""
    for name, module in list(sys.modules.items()):
        if name == "perfdata" or name.startswith("perfdata."):
            for obj in list(vars(module).values()):
                if callable(getattr(obj, "cache_clear", None)) and getattr(obj, "__module__", None) == name:
                    obj.cache_clear()
    for cache in getattr(normalize, "CACHES", ()):
        cache.clear()


def baseline(paths: list[Path]) -> int:
    """The floor: read, decode and split into cells, nothing else."""
    n_rows = 0
    for p in paths:
        rows = [line.split("\t") for line in p.read_bytes().decode("utf-8").splitlines()]
        n_rows += len(rows)
    return n_rows


def timed(fn, repeat: int) -> tuple[list[float], object]:
    """Run fn `repeat` times (caches cleared before each; forked workers inherit the parent's)."""
    times, result = [], None
    for _ in range(repeat):
        clear_caches()
        gc.collect()
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return times, result


def fresh_dataset(raw: Path, where: Path, jobs: int):
    """The ingest into a partitioned dataset in an empty folder (nothing reused from a run before)."""
    shutil.rmtree(where, ignore_errors=True)
    return ingest(raw, jobs=jobs, progress=False, out=where, partitioned=True)


def compare_dataset(where: Path, tables) -> list[str]:
    """Tables of the dataset that differ from the in-memory ingest's (in the dataset's documented order)."""
    import pandas as pd

    got, want = dataset.load(where), dataset.in_file_order(tables)
    differ = []
    for name in want:
        try:
            pd.testing.assert_frame_equal(got[name], want[name], obj=name)
        except AssertionError as e:
            differ.append(f"{name}: {str(e).splitlines()[0]}")
    return differ


def explain_misses(manifest: list[GeneratedForm], tables) -> list[str]:
    """Name the generated forms the ingest did not find, with what it saw around them."""
    forms, problems = tables["forms"], tables["problems"]
    found: dict[str, list[int]] = {}
    for f, ln in zip(forms["source_file"], forms["line_start"], strict=True):
        found.setdefault(f, []).append(int(ln))
    out = []
    for g in manifest:
        hits = [ln for ln in found.get(g.file, []) if g.line_start <= ln <= g.line_end]
        if len(hits) == 1:
            continue
        here = (problems["source_file"] == g.file) & problems["line"].between(g.line_start, g.line_end)
        near = problems[here]
        notes = "; ".join(f"line {int(r.line)}: {r.message}" for r in near.itertuples()) or "no problem rows"
        what = "missed" if not hits else f"found {len(hits)} times (lines {hits})"
        out.append(f"{g.file} lines {g.line_start}-{g.line_end} (from {g.source}, serial {g.serial}): "
                   f"{what}; {notes}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--forms", type=int, default=10000, help="project forms to generate")
    ap.add_argument("--per-file", type=int, default=100, help="forms per generated file")
    ap.add_argument("--repeat", type=int, default=5, help="timed repetitions of each measurement")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes for the parallel run")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="corpus folder (benchmarks/out/corpus)")
    ap.add_argument("--tmp", action="store_true", help="build the corpus in a temporary folder instead")
    ap.add_argument("--raw", type=Path, default=RAW, help="folder with the source documents")
    ap.add_argument("--json", type=Path, help="also write the figures as JSON here")
    ap.add_argument("--dataset", action="store_true", help="also time the ingest into a partitioned dataset "
                    "and check that it holds the same tables")
    args = ap.parse_args(argv)

    sources = load_forms(args.raw)
    if not sources:
        print(f"no project forms found under {args.raw}", file=sys.stderr)
        return 2
    by_doc: dict[str, int] = {}
    for s in sources:
        by_doc[s.doc] = by_doc.get(s.doc, 0) + 1
    print("source forms: " + ", ".join(f"{d} {n}" for d, n in by_doc.items()))

    tmp = tempfile.TemporaryDirectory(prefix="perfdata-bench-") if args.tmp else None
    out = Path(tmp.name) if tmp else args.out
    try:
        t0 = time.perf_counter()
        manifest = build_corpus(out, sources, args.forms, args.per_file, args.seed)
        paths = sorted(out.glob(f"{FILE_PREFIX}*.txt"))
        size = sum(p.stat().st_size for p in paths)
        print(f"corpus: {len(manifest)} forms in {len(paths)} files, {size / 1e6:.1f} MB in {out} "
              f"(built in {time.perf_counter() - t0:.1f} s)")

        base_t, _ = timed(lambda: baseline(paths), args.repeat)
        one_t, tables = timed(lambda: ingest(out, jobs=1, progress=False), args.repeat)
        par_t, par_tables = timed(lambda: ingest(out, jobs=args.jobs, progress=False), args.repeat)
        differ: list[str] = []
        if args.dataset:
            with tempfile.TemporaryDirectory(prefix="perfdata-bench-ds-") as where:
                ds_t, _ = timed(lambda: fresh_dataset(out, Path(where) / "ds", args.jobs), args.repeat)
                differ = compare_dataset(Path(where) / "ds", tables)
    finally:
        if tmp:
            tmp.cleanup()

    n = len(manifest)
    found, indicators = len(tables["forms"]), len(tables["indicators"])
    found_par = len(par_tables["forms"])
    runs = {"baseline": base_t, "ingest_1": one_t, f"ingest_{args.jobs}": par_t}
    if args.dataset:
        runs[f"dataset_{args.jobs}"] = ds_t
    med = {k: statistics.median(v) for k, v in runs.items()}
    best = {k: min(v) for k, v in runs.items()}

    print()
    print(f"forms {n}, files {len(paths)}, {size / 1e6:.1f} MB; {args.repeat} repetitions, "
          f"forms/s from the median time")
    print(f"{'run':<12} {'median s':>9} {'min s':>9} {'forms/s':>10} {'time / baseline':>16}")
    for k in runs:
        ratio = med[k] / med["baseline"]
        print(f"{k:<12} {med[k]:>9.3f} {best[k]:>9.3f} {n / med[k]:>10.0f} {ratio:>15.1f}x")
    speedup = med["ingest_1"] / med[f"ingest_{args.jobs}"]
    print(f"parallel speed-up: {speedup:.2f}x with {args.jobs} processes")
    print(f"forms found: {found} of {n} (parallel run: {found_par}); indicators: {indicators}")
    print(f"problems: {len(tables['problems'])} rows, leftovers: {len(tables['leftovers'])} rows")

    if args.dataset:
        print("dataset: " + ("the same tables as the in-memory ingest" if not differ else
                             "DIFFERENT: " + "; ".join(differ)))
    misses = explain_misses(manifest, tables)
    for m in misses[:50]:
        print("  " + m)
    if len(misses) > 50:
        print(f"  … and {len(misses) - 50} more")

    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "forms": n, "files": len(paths), "bytes": size, "repeat": args.repeat, "jobs": args.jobs,
            "seed": args.seed, "per_file": args.per_file, "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "seconds": runs, "median_s": med, "min_s": best,
            "forms_per_s": {k: n / v for k, v in med.items()},
            "ratio_to_baseline": {k: v / med["baseline"] for k, v in med.items()},
            "forms_found": found, "forms_found_parallel": found_par, "indicators": indicators,
            "problems": len(tables["problems"]), "leftovers": len(tables["leftovers"]), "misses": misses,
            "dataset_differs": differ,
        }, indent=2, ensure_ascii=False), encoding="utf-8")
    if differ:
        print("FAIL: the dataset's tables differ from the in-memory ingest's", file=sys.stderr)
        return 1
    if found != n or found_par != n or misses:
        sys.stdout.flush()
        print(f"FAIL: generated {n} forms, ingest found {found} (parallel {found_par})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
