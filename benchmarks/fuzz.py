"""Fuzzing the ingest: mutated documents read in batches beside the good files.

Why: issue 12. One bad file must never cost the batch, nothing may hang, and a file that cannot be read
must say so. The script mutates the bundled documents (data/raw) and the fixture formats the tests
generate (tests/factory.py, tests/make_fixtures.py: .txt, .xlsx, .xls, .docx, .pdf, .html, .ods) — bytes
flipped, cut and spliced, lines moved, runs of 50,000 characters, re-encodings (GBK, UTF-16/32 with and
without a BOM), XML members of the containers edited (cell references far out, spans of a billion,
repeated rows, duplicated sheet entries), PDF objects made to loop or to promise a million pages — and
ingests them in batches, each batch a raw folder holding the bundled documents beside `--batch` mutants,
through the command line (`python -m perfdata.cli ingest RAW --out OUT`) as a user runs it.

    python benchmarks/fuzz.py [--n 10000] [--seed S] [--batch 100] [--jobs N] [--file-timeout 60] [--json PATH]

It prints:
    cases        mutated files ingested
    crashes      batches whose ingest died or wrote no tables (exit status other than 0 or 1)
    tracebacks   Python tracebacks in the output of the ingests
    hangs        files stopped by the time limit, and batches that overran their whole time budget
    peak RSS     the largest resident size of the ingest or any of its reader processes (Linux: VmHWM)
    forms lost   forms of the bundled documents missing or different in a batch's tables
and, for the record, internal errors (a reader's exception, caught: a problems row "internal error …"),
the mutants' files by status and the most frequent problem messages. Exit status 1 when any of the first
five is not 0 (peak RSS: not under 1 GiB). The same --seed gives the same cases.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RAW = ROOT / "data" / "raw"
sys.path.insert(0, str(ROOT / "tests"))

GiB = 2**30
MAX_MUTANT = 80 * 2**20  # bytes: past the readers' own limits (64 MiB of text), short of the fuzzer's memory


# -- seeds -----------------------------------------------------------------------------------------------

def seeds() -> list[tuple[str, str, bytes]]:
    """(name, extension, bytes) of the documents to mutate: the bundled texts and the fixture formats."""
    import hostile
    from factory import SPEC, render
    from make_fixtures import FORM_DOCUMENTS, document_rows, to_docx, to_pdf, to_xls, to_xlsx
    from test_readers_html import to_html

    out = [(p.stem, ".txt", p.read_bytes()) for p in sorted(RAW.glob("*.txt"))]
    form = render()
    out += [("form-tab", ".txt", form.encode()), ("form-pipe", ".txt", render(sep="|").encode()),
            ("form-cells", ".txt", render(sep="cell-per-line").encode()),
            ("form-gbk", ".txt", render({**SPEC, "name": "档案管理"}).encode("gbk"))]
    small, starts = document_rows(form)
    big, big_starts = document_rows(RAW / FORM_DOCUMENTS[2])

    from reportlab import rl_config

    rl_config.invariant = 1  # no creation date or random id in the PDF: the same seed bytes every run

    def made(fn, *args, **kw) -> bytes:
        buf = io.BytesIO()
        fn(*args, buf, **kw)
        return _fixed(buf.getvalue())

    out += [("form", ".xlsx", made(to_xlsx, small, starts)), ("doc", ".xlsx", made(to_xlsx, big, big_starts)),
            ("form", ".xls", made(to_xls, small, starts)), ("form", ".docx", made(to_docx, small)),
            ("doc", ".docx", made(to_docx, big)), ("form", ".pdf", made(to_pdf, small)),
            ("form", ".html", to_html(small).encode()), ("doc-gbk", ".html", to_html(big, "gbk").encode("gbk")),
            ("form", ".ods", _fixed(hostile.ods(small))), ("doc", ".ods", _fixed(hostile.ods(big)))]
    return out


_STAMP = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z?")


def _fixed(data: bytes) -> bytes:
    """A container with its timestamps fixed (zip entry times, document properties): the same bytes every run."""
    if not data.startswith(b"PK"):
        return data
    return _zip({i.filename: _STAMP.sub(b"2024-01-01T00:00:00Z", z.read(i.filename))
                 for z in [zipfile.ZipFile(io.BytesIO(data))] for i in z.infolist()})


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for n, b in members.items():
            info = zipfile.ZipInfo(n, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED if n == "mimetype" else zipfile.ZIP_DEFLATED
            dst.writestr(info, b)
    return out.getvalue()


# -- mutations ---------------------------------------------------------------------------------------------

RUNS = ["1", " ", "|", "-", "\t", "分", "(", "%", "。", "一", "\u3000", "<td>", "&#x4e00;", "\\geq ", "9.", "|--",
        "　", "\n", "\r", "项目名称", "<", "]]>", "$"]
TOKENS = ["%PDF-1.7", "<table><tr><td rowspan=99999999 colspan=99999999>x", "\x00", "\ufeff", "\u202e", "\ud800",
          "项目名称\t", "总分\t100\t99", "$\\geq$", "<![CDATA[", "&#0;", "&#xD800;", "<!DOCTYPE html>", "PK\x03\x04",
          "\xd0\xcf\x11\xe0", "\r\n\r", "年度资金总额\t1e309\t-0\tNaN", "9" * 400, "１２３４５．６７万元",
          "(50分)" * 200]
HUGE = ["1048576", "16384", "1000000000", "4294967296", "99999999999", "-1", "0", "abc", "1e9", " 7", "2147483648"]


def _text_mutation(rng: random.Random, t: str) -> tuple[str, str]:
    lines = t.split("\n")
    op = rng.choice(["delete", "duplicate", "swap", "shuffle", "join", "run", "token", "numbers", "oneline",
                     "separators", "long line", "cut"])
    if op == "delete" and lines:
        k = rng.randrange(len(lines))
        del lines[k : k + rng.randint(1, 20)]
    elif op == "duplicate" and lines:
        k = rng.randrange(len(lines))
        lines[k:k] = lines[k : k + rng.randint(1, 40)] * rng.randint(1, 20)
    elif op == "swap" and len(lines) > 1:
        a, b = rng.randrange(len(lines)), rng.randrange(len(lines))
        lines[a], lines[b] = lines[b], lines[a]
    elif op == "shuffle" and lines:
        k = rng.randrange(len(lines))
        block = lines[k : k + rng.randint(2, 30)]
        rng.shuffle(block)
        lines[k : k + len(block)] = block
    elif op == "join" and len(lines) > 1:
        k = rng.randrange(len(lines) - 1)
        n = rng.randint(2, 50)
        lines[k : k + n] = [rng.choice(["", " ", "\t", "|"]).join(lines[k : k + n])]
    elif op == "run":
        at = rng.randrange(len(t) + 1)
        return t[:at] + rng.choice(RUNS) * rng.choice([100, 1000, 10_000, 50_000]) + t[at:], op
    elif op == "token":
        at = rng.randrange(len(t) + 1)
        return t[:at] + rng.choice(TOKENS) + t[at:], op
    elif op == "numbers":
        return re.sub(r"\d+(?:\.\d+)?", lambda m: rng.choice(HUGE + [m.group()] * 8), t), op
    elif op == "oneline":
        return t.replace("\n", rng.choice(["", " ", "\t"])), op
    elif op == "separators":
        return t.replace("\t", rng.choice(["|", "  ", "\t\t", " | ", "", "\u3000"])), op
    elif op == "long line" and lines:
        k = rng.randrange(len(lines))
        lines[k] = lines[k] * min(rng.choice([100, 1000, 5000]), max(1, MAX_MUTANT // 4 // max(len(lines[k]), 1)))
    elif op == "cut":
        return t[: rng.randrange(len(t) + 1)], op
    return "\n".join(lines), op


def _bytes_mutation(rng: random.Random, data: bytes, other: bytes) -> tuple[bytes, str]:
    b = bytearray(data)
    op = rng.choice(["flip", "truncate", "insert", "chunk", "splice", "zero"])
    if not b:
        return bytes(rng.randbytes(rng.randint(1, 100))), "random"
    if op == "flip":
        for _ in range(rng.choice([1, 2, 8, 64])):
            b[rng.randrange(len(b))] = rng.randrange(256)
    elif op == "truncate":
        del b[rng.randrange(len(b)) :]
    elif op == "insert":
        at = rng.randrange(len(b) + 1)
        b[at:at] = rng.randbytes(rng.randint(1, 64))
    elif op == "chunk":
        at, n = rng.randrange(len(b)), rng.randint(1, 4096)
        b[at:at] = b[at : at + n] * rng.randint(1, 50)
    elif op == "splice":
        b = b[: rng.randrange(len(b) + 1)] + other[rng.randrange(len(other) + 1) :]
    elif op == "zero":
        at = rng.randrange(len(b))
        b[at : at + rng.randint(1, 512)] = bytes(min(len(b) - at, 512))
    return bytes(b), "bytes " + op


def _encoding_mutation(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    text = data.decode("utf-8", "replace")
    enc = rng.choice(["gbk", "utf-16-le", "utf-16-be", "utf-16", "utf-32", "utf-8-sig", "gb18030", "big5"])
    body = text.encode(enc, "replace")
    if rng.random() < 0.2:
        body = body[:-1]  # odd length
    return body, "encode " + enc


def _zip_mutation(rng: random.Random, data: bytes, ext: str) -> tuple[bytes, str]:
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        members = {i.filename: z.read(i.filename) for i in z.infolist()}
    except Exception:  # noqa: BLE001
        return _bytes_mutation(rng, data, data)
    xml = [n for n in members if n.endswith((".xml", ".rels"))] or list(members)
    name = rng.choice(xml)
    body = members[name].decode("utf-8", "surrogateescape")
    op = rng.choice(["text", "attribute", "attribute", "hostile", "drop", "duplicate sheets"])
    if op == "text":
        body, sub = _text_mutation(rng, body)
        op = "member " + sub
    elif op == "attribute":  # a number in an attribute value
        nums = list(re.finditer(r'="(\d+)"', body))
        if nums:
            m = rng.choice(nums)
            body = body[: m.start(1)] + rng.choice(HUGE) + body[m.end(1) :]
    elif op == "hostile":
        if ext == ".xlsx" and "sheetData" in body:
            body = body.replace("</sheetData>", f'<row r="{rng.choice(HUGE)}"><c r="{rng.choice(["XFD", "A", "ZZ"])}'
                                f'{rng.choice(HUGE)}" t="inlineStr"><is><t>x</t></is></c></row></sheetData>', 1)
        elif ext == ".docx" and "<w:tc>" in body:
            tag = rng.choice(["<w:tcPr><w:gridSpan w:val=\"%s\"/></w:tcPr>", "<w:tcPr><w:vMerge/></w:tcPr>"])
            body = body.replace("<w:tc>", "<w:tc>" + (tag % rng.choice(HUGE) if "%s" in tag else tag), 1)
        elif ext == ".ods" and "<table:table-row>" in body:
            rows, cols = rng.choice(HUGE), rng.choice(HUGE)
            body = body.replace("<table:table-row>", f'<table:table-row table:number-rows-repeated="{rows}">', 1)
            body = body.replace("<table:table-cell ", f'<table:table-cell table:number-columns-repeated="{cols}" ', 1)
        else:
            body, _ = _text_mutation(rng, body)
    elif op == "drop":
        del members[name]
        body = None
    elif op == "duplicate sheets" and "<sheet " in body:
        m = re.search(r"<sheet [^>]*/>", body)
        if m:
            body = body.replace(m.group(0), m.group(0) * rng.randint(2, 600), 1)
    if body is not None:
        try:
            members[name] = body.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # a lone surrogate the mutation put in
            members[name] = body.encode("utf-8", "surrogatepass")
    return _zip(members), f"zip {op} {name}"


def _pdf_mutation(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    text = data.decode("latin-1")
    op = rng.choice(["count", "loop", "stream", "xref", "length", "object"])
    if op == "count":
        text = re.sub(r"/Count \d+", f"/Count {rng.choice(HUGE)}", text)
    elif op == "loop":
        refs = re.findall(r"(\d+) 0 obj", text)
        if len(refs) > 2:
            a, b = rng.sample(refs, 2)
            text = re.sub(rf"\b{a} 0 obj\b.*?endobj", f"{a} 0 obj\n{b} 0 R\nendobj", text, count=1, flags=re.S)
            text = re.sub(rf"\b{b} 0 obj\b.*?endobj", f"{b} 0 obj\n{a} 0 R\nendobj", text, count=1, flags=re.S)
    elif op == "stream":
        spans = [m.span(1) for m in re.finditer(r"stream\r?\n(.*?)endstream", text, re.S)]
        if spans:
            a, b = rng.choice(spans)
            raw = bytearray(text[a:b].encode("latin-1"))
            for _ in range(rng.randint(1, 16)):
                if raw:
                    raw[rng.randrange(len(raw))] = rng.randrange(256)
            if rng.random() < 0.3:
                chars = rng.choice([10**4, 10**6, 3 * 10**6])
                raw = bytearray(zlib.compress(b"BT /F1 1 Tf (" + b"A" * chars + b") Tj ET"))
            text = text[:a] + raw.decode("latin-1") + text[b:]
    elif op == "xref":
        text = text.replace("xref", "xrfe", 1) if rng.random() < 0.5 else text.replace("startxref", "", 1)
    elif op == "length":
        text = re.sub(r"/Length \d+", lambda m: f"/Length {rng.choice(HUGE)}", text, count=rng.randint(1, 3))
    elif op == "object":
        m = list(re.finditer(r"\d+ 0 obj.*?endobj", text, re.S))
        if m:
            o = rng.choice(m).group(0)
            text = text.replace(o, o * rng.randint(2, 50), 1)
    return text.encode("latin-1"), "pdf " + op


def mutate(rng: random.Random, pool: list[tuple[str, str, bytes]]) -> tuple[str, bytes, str]:
    """(extension, bytes, what was done) of one mutant of a seed."""
    name, ext, data = rng.choice(pool)
    other = rng.choice(pool)[2]
    steps = []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        r = rng.random()
        if ext in (".xlsx", ".docx", ".ods") and r < 0.6:
            data, what = _zip_mutation(rng, data, ext)
        elif ext == ".pdf" and r < 0.6:
            data, what = _pdf_mutation(rng, data)
        elif ext in (".txt", ".html") and r < 0.6:
            enc = "gbk" if b"charset=\"gbk\"" in data[:2000] or name.endswith("gbk") else "utf-8"
            text, what = _text_mutation(rng, data.decode(enc, "replace"))
            data = text.encode(enc, "surrogatepass" if enc == "utf-8" else "replace")
        elif ext in (".txt", ".html") and r < 0.7:
            data, what = _encoding_mutation(rng, data)
        else:
            data, what = _bytes_mutation(rng, data, other)
        steps.append(what)
        if len(data) > MAX_MUTANT:
            data = data[:MAX_MUTANT]
            steps.append("cut to 80 MiB")
    if rng.random() < 0.1:
        ext = rng.choice([".txt", ".xlsx", ".pdf", ".docx", ".html", ".xls", ".csv", ""])  # names lie
        steps.append("renamed " + (ext or "(none)"))
    return ext, data, f"{name}: " + "; ".join(steps)


# -- running ---------------------------------------------------------------------------------------------

def good_baseline() -> tuple[list[str], object]:
    from perfdata.ingest import ingest

    names = sorted(p.name for p in RAW.iterdir() if p.is_file() and not p.name.startswith("."))
    forms = ingest(RAW, progress=False)["forms"]
    return names, forms.drop(columns=["location"]).reset_index(drop=True)


def _peak_kib(pid: int) -> int:
    """The high-water resident size (VmHWM, KiB) of a process; 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return next((int(ln.split()[1]) for ln in f if ln.startswith("VmHWM:")), 0)
    except (OSError, ValueError):
        return 0


def run_watched(cmd: list[str], env: dict, timeout: float) -> tuple[object, str, int]:
    """Run a command; (exit status or "timeout", its output, the largest resident size in KiB that it or any
    process under it reached). The sizes are the kernel's high-water marks (VmHWM), read every 50 ms from
    every descendant, so a reader process that swells and is stopped is counted too."""
    import psutil

    with tempfile.TemporaryFile() as out:
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        peak, t0, code = 0, time.perf_counter(), None
        root = psutil.Process(p.pid)
        while code is None:
            try:
                pids = [p.pid] + [c.pid for c in root.children(recursive=True)]
            except psutil.Error:
                pids = [p.pid]
            peak = max([peak] + [_peak_kib(x) for x in pids])
            if time.perf_counter() - t0 > timeout:
                for x in pids:
                    with contextlib.suppress(OSError):
                        os.kill(x, 9)
                p.wait()
                code = "timeout"
                break
            with contextlib.suppress(subprocess.TimeoutExpired):
                code = p.wait(0.05)
        out.seek(0)
        return code, out.read().decode("utf-8", "replace"), peak


def rss_of_one(path: Path, file_timeout: float) -> int:
    """Peak resident KiB of ingesting one file alone (to name the file behind a batch's peak)."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw"
        raw.mkdir()
        shutil.copy(path, raw / path.name)
        env = {**os.environ, "PERFDATA_FILE_TIMEOUT": str(file_timeout)}
        cmd = [sys.executable, "-m", "perfdata.cli", "ingest", str(raw), "--out", str(Path(tmp) / "o"), "--no-progress"]
        return run_watched(cmd, env, 120 + file_timeout)[2]


def run_batch(cases: list[tuple[int, str, bytes, str]], good: list[str], work: Path, jobs: int | None,
              file_timeout: float) -> dict:
    import pandas as pd

    raw, out = work / "raw", work / "out"
    shutil.rmtree(work, ignore_errors=True)
    raw.mkdir(parents=True)
    for name in good:
        shutil.copy(RAW / name, raw / name)
    names = {}
    for k, ext, data, what in cases:
        name = f"zz-fuzz-{k:05d}{ext}"  # after the good files: a copy of one is its duplicate, never the reverse
        (raw / name).write_bytes(data)
        names[name] = what
    cmd = [sys.executable, "-m", "perfdata.cli", "ingest", str(raw), "--out", str(out), "--no-progress"]
    if jobs:
        cmd += ["--jobs", str(jobs)]
    env = {**os.environ, "PERFDATA_FILE_TIMEOUT": str(file_timeout)}
    budget = 120 + file_timeout * (len(cases) + len(good))
    t0 = time.perf_counter()
    code, text, peak = run_watched(cmd, env, budget)
    seconds = time.perf_counter() - t0
    res = {"seconds": seconds, "code": code, "rss_kib": peak,
           "tracebacks": text.count("Traceback (most recent call last)"),
           "output": text[-4000:] if "Traceback" in text or code not in (0, 1) else "", "names": names}
    try:
        res["forms"] = pd.read_parquet(out / "forms.parquet")
        res["problems"] = pd.read_parquet(out / "problems.parquet")
        res["files"] = pd.read_parquet(out / "files.parquet")
    except Exception as e:  # noqa: BLE001 - no tables: a crash
        res["missing"] = f"{type(e).__name__}: {e}"
    return res


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000, help="mutated files (cases)")
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--batch", type=int, default=100, help="mutants per ingest, beside the bundled documents")
    ap.add_argument("--jobs", type=int, default=None, help="the ingest's --jobs (default: its own choice)")
    ap.add_argument("--file-timeout", type=float, default=60.0, help="PERFDATA_FILE_TIMEOUT of the ingests")
    ap.add_argument("--json", type=Path, help="write the figures here")
    ap.add_argument("--keep", type=Path, help="copy the mutants of failing batches here")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)

    import pandas as pd

    rng = random.Random(args.seed)
    pool = seeds()
    good, want = good_baseline()
    totals = collections.Counter()
    messages: collections.Counter = collections.Counter()
    internal: collections.Counter = collections.Counter()
    status: collections.Counter = collections.Counter()
    failures: list[dict] = []
    t0 = time.perf_counter()
    case = peak_kib = 0
    with tempfile.TemporaryDirectory(prefix="perfdata-fuzz-") as tmp:
        while case < args.n:
            cases = []
            for _ in range(min(args.batch, args.n - case)):
                ext, data, what = mutate(rng, pool)
                cases.append((case, ext, data, what))
                case += 1
            r = run_batch(cases, good, Path(tmp) / "batch", args.jobs, args.file_timeout)
            totals["cases"] += len(cases)
            totals["tracebacks"] += r["tracebacks"]
            crashed = r["code"] not in (0, 1) or "missing" in r
            totals["crashes"] += crashed
            totals["hangs"] += r["code"] == "timeout"
            lost = len(want)
            if "forms" in r:
                got = r["forms"][r["forms"].source_file.isin(good)].drop(columns=["location"]).reset_index(drop=True)
                try:
                    pd.testing.assert_frame_equal(got, want, check_exact=True)
                    lost = 0
                except AssertionError:
                    lost = len(set(want.form_id) - set(got.form_id)) or len(want)
                p, f = r["problems"], r["files"]
                mine = p[p.source_file.str.startswith("zz-fuzz-")]
                hung = mine[mine.message.str.contains("longer than the time limit")]
                totals["hangs"] += len(hung)
                errs = mine[mine.message.str.contains("internal error")]
                totals["internal errors"] += len(errs)
                for m in errs.message:
                    internal[re.sub(r"\d+", "N", m)[:160]] += 1
                for m in mine.message:
                    messages[re.sub(r"\d[\d,.]*", "N", m)[:90]] += 1
                status.update(f[f.source_file.str.startswith("zz-fuzz-")].status.fillna("?"))
                named = [(n, "hang") for n in hung.source_file]
                named += list(zip(errs.source_file, errs.message, strict=True))
                for name, why in named:
                    failures.append({"file": name, "mutation": r["names"].get(name), "why": why[:200]})
                    if args.keep:
                        args.keep.mkdir(parents=True, exist_ok=True)
                        shutil.copy(Path(tmp) / "batch" / "raw" / name, args.keep / name)
            totals["forms lost"] += lost
            if crashed or r["tracebacks"] or lost:
                failures.append({"batch": cases[0][0], "code": r["code"], "output": r["output"],
                                 "missing": r.get("missing"), "lost": lost})
                if args.keep:
                    args.keep.mkdir(parents=True, exist_ok=True)
                    shutil.copytree(Path(tmp) / "batch" / "raw", args.keep / f"batch-{cases[0][0]:05d}",
                                    dirs_exist_ok=True)
            peak_kib = max(peak_kib, r["rss_kib"])
            if r["rss_kib"] * 1024 >= GiB:  # name the mutant(s) behind it
                for k, ext, _, what in cases:
                    name = f"zz-fuzz-{k:05d}{ext}"
                    kib = rss_of_one(Path(tmp) / "batch" / "raw" / name, args.file_timeout)
                    if kib * 1024 >= GiB / 2:
                        failures.append({"file": name, "mutation": what, "why": f"peak RSS {kib // 1024} MiB"})
                        if args.keep:
                            args.keep.mkdir(parents=True, exist_ok=True)
                            shutil.copy(Path(tmp) / "batch" / "raw" / name, args.keep / name)
            if not args.quiet:
                print(f"  {case:>6} cases  {time.perf_counter() - t0:7.0f} s  exit {r['code']}  "
                      f"batch {r['seconds']:.1f} s  peak {r['rss_kib'] // 1024} MiB", file=sys.stderr, flush=True)
    peak = peak_kib * 1024
    result = {"cases": totals["cases"], "crashes": totals["crashes"], "tracebacks": totals["tracebacks"],
              "hangs": totals["hangs"], "peak_rss_mib": round(peak / 2**20), "forms_lost": totals["forms lost"],
              "internal_errors": totals["internal errors"], "seconds": round(time.perf_counter() - t0),
              "seed": args.seed, "mutant_status": dict(status), "top_messages": messages.most_common(15),
              "internal_error_messages": internal.most_common(15), "failures": failures[:50]}
    print(f"cases {result['cases']}  crashes {result['crashes']}  tracebacks {result['tracebacks']}  "
          f"hangs {result['hangs']}  peak RSS {result['peak_rss_mib']} MiB  forms lost {result['forms_lost']}  "
          f"(internal errors {result['internal_errors']}; {result['seconds']} s, seed {args.seed})")
    print("mutants by status: " + ", ".join(f"{k} {v}" for k, v in status.most_common()))
    for m, n in messages.most_common(15):
        print(f"  {n:>6}  {m}")
    for m, n in internal.most_common(15):
        print(f"  internal {n:>4}  {m}")
    for f in failures[:10]:
        print("  failure:", json.dumps(f, ensure_ascii=False)[:600])
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=1, default=str))
    result["ok"] = not (result["crashes"] or result["tracebacks"] or result["hangs"] or result["forms_lost"]
                        or peak >= GiB)
    return result


if __name__ == "__main__":
    sys.exit(0 if main()["ok"] else 1)
