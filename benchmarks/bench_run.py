"""Benchmark of `perfdata run` (ingest + check + report) on the bundled documents.

Why: a report run is dominated by kernel starts, imports and chart drawing, not by the data; this
measures the whole command as a scheduled job runs it — a fresh process each time, in a scratch
copy of the checkout's data/raw — and checks the run folder is complete.

    python benchmarks/bench_run.py [--repeat 5] [--jobs 2] [--json PATH]

Prints every run's wall time and the median, and the report's own timings of the last run
(per notebook). Exits 1 if a run fails or the median exceeds --limit seconds (default 10, the aim of issue 15).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one_run(work: Path, k: int, jobs: int) -> tuple[float, dict]:
    cmd = [sys.executable, "-m", "perfdata.cli", "run", "--run-id", f"bench{k}", "--jobs", str(jobs)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"run {k} failed with exit status {proc.returncode}")
    manifest = json.loads((work / "reports" / f"bench{k}" / "manifest.json").read_text(encoding="utf-8"))
    return seconds, manifest


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--jobs", type=int, default=2, help="notebooks at once (the command's default is 2)")
    p.add_argument("--limit", type=float, default=10.0, help="median seconds allowed")
    p.add_argument("--json", default=None, help="also write the figures to this file")
    args = p.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="perfdata-bench-run-") as tmp:
        work = Path(tmp)
        shutil.copytree(ROOT / "data" / "raw", work / "data" / "raw")
        times, manifest = [], {}
        for k in range(args.repeat):
            seconds, manifest = one_run(work, k, args.jobs)
            times.append(seconds)
            print(f"run {k + 1}/{args.repeat}: {seconds:6.2f} s")
        median = statistics.median(times)
        print(f"\nperfdata run on {ROOT / 'data' / 'raw'}: median {median:.2f} s, min {min(times):.2f} s, "
              f"max {max(times):.2f} s over {len(times)} runs ({os.cpu_count()} cores, jobs {args.jobs})")
        print("last run, as its manifest records it:")
        for step, info in manifest.get("steps", {}).items():
            print(f"  {step:<24} {info['seconds']:6.2f} s")
        for name, seconds in manifest.get("timings", {}).items():
            print(f"  {name:<24} {seconds:6.2f} s")
        print(f"  {'report (all notebooks)':<24} {manifest.get('seconds', 0):6.2f} s")
        figures = {"runs": times, "median": median, "min": min(times), "max": max(times), "jobs": args.jobs,
                   "cores": os.cpu_count(), "python": platform.python_version(),
                   "last_manifest_timings": manifest.get("timings"), "last_steps": manifest.get("steps")}
        if args.json:
            Path(args.json).write_text(json.dumps(figures, indent=2), encoding="utf-8")
    if median > args.limit:
        print(f"median {median:.2f} s is over the {args.limit:g} s limit", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
