"""Peak memory and CPU time of the ingest as the batch grows, each run in a fresh process.

Why: the in-memory ingest keeps every table of the batch in the parent process, so its memory grows with
the batch; the dataset mode (perfdata.dataset) writes partitions as the files are read and should stay
flat. This builds corpora of generated project forms (benchmarks/bench_ingest.py's generator) and runs,
each `--repeat` times in a new Python process:

    memory    ingest(raw) then store.write(...)   (what `perfdata ingest RAW --out OUT` does)
    dataset   ingest(raw, out=OUT, partitioned=True) into an empty folder
    rerun     the same again over that dataset: every file reused, nothing read
    change    the same again after one file's bytes changed (a line end appended): that file read, the rest reused

and prints the medians: peak RSS of the ingest process (VmHWM) and of its largest reader process
(ru_maxrss of the children), CPU seconds (user + system, the process and its readers), wall seconds,
and the slope of the peak between the smallest and the largest corpus, in MiB per 1,000 forms.

    python benchmarks/bench_memory.py [--forms 10000 50000 100000] [--modes memory dataset rerun change]
                                      [--repeat 3] [--aim 600]

It ends with the aim of issue 15: the dataset's peak under --aim MiB at the largest corpus and flat (the
peak at the largest corpus within 25 % of the peak at the smallest).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_ingest  # noqa: E402 - the corpus generator lives beside this file

MODES = ("memory", "dataset", "rerun", "change")


def corpus(root: Path, n_forms: int, per_file: int, seed: int) -> Path:
    """The corpus of n_forms generated forms under root (built once, kept for the next run)."""
    out = root / f"corpus-{n_forms}"
    manifest = out / bench_ingest.MANIFEST
    if manifest.exists() and len(json.loads(manifest.read_text(encoding="utf-8"))) == n_forms:
        return out
    t0 = time.perf_counter()
    bench_ingest.build_corpus(out, bench_ingest.load_forms(bench_ingest.RAW), n_forms, per_file, seed)
    print(f"  built {out} in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return out


def child(mode: str, raw: str, out: str, jobs: int) -> dict:
    """One measured run, in this (fresh) process."""
    t0 = time.perf_counter()
    if mode == "memory":
        from perfdata import store
        from perfdata.ingest import ingest

        tables = ingest(raw, jobs=jobs, progress=False)
        store.write(tables, out)
        forms, reused, read = len(tables["forms"]), 0, len(tables["files"])
    else:
        from perfdata.ingest import ingest

        summary = ingest(raw, jobs=jobs, progress=False, out=out, partitioned=True)
        forms, reused, read = summary.forms, summary.reused, summary.read
    wall = time.perf_counter() - t0
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"forms": forms, "reused": reused, "read": read, "wall_s": wall,
            "cpu_s": me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime,
            "rss_parent_mib": own_peak_mib(me), "rss_worker_mib": kids.ru_maxrss / 1024}


def own_peak_mib(me) -> float:
    """This process's peak RSS: VmHWM on Linux, which starts afresh at exec. ru_maxrss does not: Linux carries
    the peak of the process that started this one across exec (here the benchmark's, which may have built a
    corpus of 100,000 forms in memory), so it would be a floor under every figure."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return me.ru_maxrss / 1024


def run(mode: str, raw: Path, out: Path, jobs: int) -> dict:
    """child() in a new interpreter (nothing imported or cached from this one)."""
    if mode in ("memory", "dataset") and out.exists():
        shutil.rmtree(out)
    if mode == "change":
        first = min(raw.glob("*.txt"))
        with open(first, "ab") as f:
            f.write(b"\n")
    cmd = [sys.executable, __file__, "--child", mode, str(raw), str(out), str(jobs)]
    env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{mode} run failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def aim(by_n: dict[int, dict], limit: float) -> str:
    """The issue's aim for the dataset mode, met or not: under `limit` MiB at the largest batch, and flat."""
    if not by_n:
        return ""
    lo, hi = min(by_n), max(by_n)
    peak_lo, peak_hi = by_n[lo]["peak_mib"], by_n[hi]["peak_mib"]
    under, flat = peak_hi < limit, peak_hi <= 1.25 * peak_lo
    return (f"aim {'MET' if under and flat else 'NOT MET'}: dataset peak {peak_hi:.0f} MiB at {hi} forms "
            f"({'<' if under else '>='} {limit:.0f} MiB), {peak_lo:.0f} MiB at {lo} forms "
            f"({'flat' if flat else 'growing'}: x{peak_hi / peak_lo:.2f})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--forms", type=int, nargs="+", default=[10000, 100000])
    ap.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--per-file", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--root", type=Path, default=HERE / "out" / "memory", help="corpora and outputs")
    ap.add_argument("--json", type=Path, help="also write the figures as JSON here")
    ap.add_argument("--aim", type=float, default=600.0, help="peak MiB the dataset mode must stay under")
    ap.add_argument("--child", nargs=4, metavar=("MODE", "RAW", "OUT", "JOBS"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        mode, raw, out, jobs = args.child
        print(json.dumps(child(mode, raw, out, int(jobs))))
        return 0

    results: dict[str, dict[int, dict]] = {m: {} for m in args.modes}
    print(f"{'mode':<8} {'forms':>8} {'peak MiB':>9} {'parent':>8} {'worker':>8} {'CPU s':>8} {'wall s':>8} "
          f"{'forms/CPU s':>11} {'read':>6} {'reused':>7}  (medians of {args.repeat}, {args.jobs} reader processes)")
    for n in args.forms:
        raw = corpus(args.root, n, args.per_file, args.seed)
        for mode in args.modes:
            out = args.root / f"out-{'dataset' if mode in ('rerun', 'change') else mode}-{n}"
            if mode in ("rerun", "change") and not (out / "_dataset.json").exists():
                run("dataset", raw, out, args.jobs)
            runs = [run(mode, raw, out, args.jobs) for _ in range(args.repeat)]
            med = {k: statistics.median(r[k] for r in runs) for k in runs[0] if k not in ("forms", "reused", "read")}
            med["peak_mib"] = statistics.median(max(r["rss_parent_mib"], r["rss_worker_mib"]) for r in runs)
            med["forms"], med["reused"], med["read"], med["runs"] = (runs[0]["forms"], runs[0]["reused"],
                                                                     runs[0].get("read"), runs)
            results[mode][n] = med
            print(f"{mode:<8} {n:>8} {med['peak_mib']:>9.0f} {med['rss_parent_mib']:>8.0f} "
                  f"{med['rss_worker_mib']:>8.0f} {med['cpu_s']:>8.1f} {med['wall_s']:>8.1f} "
                  f"{n / med['cpu_s']:>11.0f} {max(r['read'] for r in runs):>6} "
                  f"{min(r['reused'] for r in runs):>7}", flush=True)
        if not args.json:
            shutil.rmtree(args.root / f"out-memory-{n}", ignore_errors=True)
    if len(args.forms) > 1:
        lo, hi = min(args.forms), max(args.forms)
        for mode, by_n in results.items():
            slope = (by_n[hi]["peak_mib"] - by_n[lo]["peak_mib"]) / ((hi - lo) / 1000)
            par = (by_n[hi]["rss_parent_mib"] - by_n[lo]["rss_parent_mib"]) / ((hi - lo) / 1000)
            print(f"slope {mode:<8} peak {slope:+.2f} MiB per 1,000 forms (parent {par:+.2f}) from {lo} to {hi}")
    verdict = aim(results.get("dataset", {}), args.aim)
    if verdict:
        print(verdict)
    print(f"load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
