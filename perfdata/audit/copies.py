"""Copied text across forms, departments and years → the `copies` table (schema.AUDIT_TABLES).

A reviewer reading a province's forms asks which of them were written from another one. Four kinds:

- `shared_text`: the same text in forms of different owners (owner: region and 主管部门) — a 偏差原因, a form's
  年度总体目标 (预期目标 / 实际完成情况), a department's 年度履职目标, a narrative sentence (the fields are rows of
  rules/copies.csv). Texts are normalised (NFKC, no spaces or punctuation); equal texts are one, and near-equal
  ones (rapidfuzz fuzz.ratio ≥ text_similarity) are joined with `process.cdist`, run only between texts of
  similar length (a ratio r needs the longer text within (200 − r) / r of the shorter), so the work grows with
  the texts of one length band, never with all pairs.
- `indicator_set`: two forms of different owners (region, 主管部门 and 实施单位) and projects whose sets of
  (三级指标, 年度指标值) pairs are nearly the same (Jaccard ≥ set_similarity, ≥ set_min_shared pairs in common),
  found by joining the forms on their pairs.
- `repeat_year`: one owner's project in two years whose whole text (goals, every indicator's name, target, actual
  and reason) is the same once the years are masked (fuzz.ratio ≥ year_similarity).
- `actual_is_target`: a file in which at least copy_share percent of the indicators' 实际完成值 is the 年度指标值.

Template wording is not a copy. A text counts only when (1) at least min_chars characters are left after removing
digits, punctuation and spaces (无, 达到预期, 100% are not texts), (2) it is not a stop phrase (rules/copies.csv, plus
the exact `none` and `vague` phrases of rules/reason_phrases.csv: 按计划执行 copied is no copy), and (3) it is not
seen in template_regions or more distinct regions: a text that many regions print is the template's own wording
(服务对象满意度 ≥ 95% in every form), while a copy is one department's text in a few others' forms. The same three
tests filter the (三级指标, 年度指标值) pairs, and a pair in more than set_item_cap forms is common wording too.

Every row names both places (file and line of the earlier text, `_a`, and of the copy, `_b`), both texts, the
field, the similarity in percent and the kind.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from perfdata import rules, schema
from perfdata.checks.evidence import _lines_of
from perfdata.keys import project_key
from perfdata.normalize import clean

KINDS = ("shared_text", "indicator_set", "repeat_year", "actual_is_target")
_NOT_WORD = re.compile(r"[\W_]+")
_DIGITS = re.compile(r"\d+")
_YEARS = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")
_CHUNK = 2000  # rows of one cdist call: its matrix is _CHUNK × (texts in reach) bytes


@cache
def settings() -> dict[str, float]:
    """The thresholds of rules/copies.csv (kind `setting`)."""
    return {r["name"]: float(r["value"]) for r in rules.table("copies.csv") if r["kind"] == "setting"}


@cache
def fields() -> tuple[tuple[str, str, float | None], ...]:
    """(table, column, its own min_chars or None) of every text shared_text compares (rules/copies.csv, `field`)."""
    return tuple((*r["name"].split(".", 1), float(r["value"]) if r["value"] else None)
                 for r in rules.table("copies.csv") if r["kind"] == "field")


@cache
def stop_phrases() -> frozenset[str]:
    """Normalised stock phrases: rules/copies.csv `stop` rows and the exact none/vague phrases of reason_phrases.csv."""
    own = [r["name"] for r in rules.table("copies.csv") if r["kind"] == "stop"]
    reasons = [r["pattern"] for r in rules.table("reason_phrases.csv")
               if r["kind"] in ("none", "vague") and r["how"] == "phrase"]
    return frozenset(filter(None, (normalise(t) for t in own + reasons)))


def normalise(text) -> str:
    """A text as copies compare it: NFKC, no spaces, punctuation or symbols (digits kept).

    >>> normalise("因疫情影响， 培训 人数减少20人。"), normalise(None)
    ('因疫情影响培训人数减少20人', '')
    """
    if not isinstance(text, str):
        return ""
    return _NOT_WORD.sub("", clean(text))


def bare_length(norm: str) -> int:
    """Characters of a normalised text without its digits: what min_chars is measured on.

    >>> bare_length("减少20人"), bare_length("100")
    (3, 0)
    """
    return len(_DIGITS.sub("", norm))


def near_duplicates(texts, similarity: float) -> np.ndarray:
    """A cluster number for every text: texts with fuzz.ratio ≥ similarity are one cluster (and so, transitively,
    are their neighbours). Texts are compared only with texts at most (200 − s) / s times their length; above
    _EXACT_UP_TO texts only candidate pairs from MinHash blocks are (see _candidates).

    >>> texts = ["继续推进社会保险事业高质量发展", "继续推动社会保险事业高质量发展", "提高资金利用率"]
    >>> near_duplicates(texts, 90).tolist()
    [0, 0, 2]
    """
    texts = list(texts)
    n = len(texts)
    label = np.arange(n)
    if n < 2:
        return label
    a, b = (_banded_pairs if n <= _EXACT_UP_TO else _candidate_pairs)(texts, similarity)
    if len(a):
        linked, root = _spanning(a, b, n)  # every member of a component takes its smallest number
        label[linked] = root
    return label


_EXACT_UP_TO = 3000  # distinct texts of a field compared all against all (within length bands)
_BANDS, _ROWS = 12, 2  # MinHash: a pair is a candidate when the 2 hashes of one of 12 bands agree


def _reach(similarity: float) -> float:
    """How much longer than a text another may be and still reach `similarity`: ratio = 2·common / (la + lb)."""
    return (200.0 - similarity) / similarity


def _banded_pairs(texts: list[str], similarity: float) -> tuple[np.ndarray, np.ndarray]:
    """Every pair at or above `similarity`, by cdist over rows of texts sorted by length against the texts of a
    reachable length (each pair once)."""
    n = len(texts)
    lengths = np.array([len(t) for t in texts])
    order = np.argsort(lengths, kind="stable")
    ls = lengths[order]
    reach = _reach(similarity)
    a_all, b_all = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
    for i0 in range(0, n, _CHUNK):
        i1 = min(n, i0 + _CHUNK)
        j1 = int(np.searchsorted(ls, ls[i1 - 1] * (1 + reach) + 1e-9, side="right"))
        rows = [texts[k] for k in order[i0:i1]]
        cols = [texts[k] for k in order[i0:j1]]
        m = process.cdist(rows, cols, scorer=fuzz.ratio, score_cutoff=similarity, dtype=np.uint8, workers=-1)
        r, c = np.nonzero(m)
        upper = c > r  # each pair once, never a text with itself
        a_all.append(order[i0 + r[upper]])
        b_all.append(order[i0 + c[upper]])
    return np.concatenate(a_all), np.concatenate(b_all)


def _candidate_pairs(texts: list[str], similarity: float) -> tuple[np.ndarray, np.ndarray]:
    """Pairs at or above `similarity` (enough of them to connect every cluster) among texts that share a MinHash
    band of their character bigrams.

    Two texts at fuzz.ratio 90 share about two thirds of their bigrams (Jaccard J ≈ 0.65); with 12 bands of 2
    hashes such a pair falls in one block with probability 1 − (1 − J²)¹² > 99.5 %, while texts that share a tenth
    of their bigrams do one time in nine. A block is scored with cdist (see _links) unless its texts are one cluster
    already; the clusters grow as the bands are read (union–find), so a block met again in another band is free."""
    n = len(texts)
    lengths = np.array([len(t) for t in texts], dtype=np.int64)
    # the code points of all texts in one array; a bigram is two code points, a one-character text its character
    cp = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    ends = np.repeat(np.cumsum(lengths), lengths)
    owner = np.repeat(np.arange(n), lengths)
    inner = np.arange(len(cp)) + 1 < ends
    gram = np.where(inner, cp * np.uint64(1 << 21) + np.roll(cp, -1), cp)
    keep = inner | (np.repeat(lengths, lengths) == 1)
    gram, owner = gram[keep], owner[keep]
    first = np.searchsorted(owner, np.arange(n))
    has = np.bincount(owner, minlength=n) > 0
    rng = np.random.default_rng(14)
    mult = rng.integers(1, 2**63, size=_BANDS * _ROWS, dtype=np.uint64) | np.uint64(1)
    add = rng.integers(0, 2**63, size=_BANDS * _ROWS, dtype=np.uint64)
    sig = np.empty((_BANDS * _ROWS, n), dtype=np.uint64)
    label = np.arange(n)
    with np.errstate(over="ignore"):
        for k in range(_BANDS * _ROWS):  # multiply-shift hashing, wrapping at 2⁶⁴
            h = (gram * mult[k] + add[k]) >> np.uint64(20)
            m = np.arange(n, dtype=np.uint64) + np.uint64(2**62)  # a text without bigrams: a band of its own
            m[has] = np.minimum.reduceat(h, first[has])
            sig[k] = m
        for band in range(_BANDS):
            key = sig[band * _ROWS] * np.uint64(0x9E3779B97F4A7C15) ^ sig[band * _ROWS + 1]
            order = np.argsort(key, kind="stable")
            k = key[order]
            cut = np.flatnonzero(np.r_[True, k[1:] != k[:-1], True])
            size = np.diff(cut)
            # small blocks: their pairs of texts not yet in one cluster, scored together with one cpdist call
            small = np.flatnonzero((size > 1) & (size <= _SMALL))
            if len(small):
                a, b = _block_pairs(order, cut[small], size[small])
                apart = _root(label, a) != _root(label, b)
                a, b = a[apart], b[apart]
                if len(a):
                    score = process.cpdist([texts[x] for x in a], [texts[x] for x in b], scorer=fuzz.ratio,
                                           score_cutoff=similarity, workers=-1)
                    hit = score >= similarity
                    _join(label, np.arange(n), (a[hit], b[hit]))
            for g in np.flatnonzero(size > _SMALL):
                members = np.sort(order[cut[g]:cut[g + 1]])
                # a block already one cluster is not compared again; a large one by a member of each cluster
                root = _root(label, members)
                if (root == root[0]).all():
                    continue
                if len(members) > _LEADS:
                    members = members[np.unique(root, return_index=True)[1]]
                _join(label, members, _links(texts, members, similarity))
    linked = np.flatnonzero(_root(label, np.arange(n)) != np.arange(n))
    return linked, _root(label, linked)


_SMALL = 16  # blocks up to this size give their pairs to one cpdist call per band


def _block_pairs(order: np.ndarray, starts: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every pair (i < j within a block) of blocks order[start:start + size]."""
    a_all, b_all = [], []
    for g in np.unique(sizes):
        st = starts[sizes == g]
        i, j = np.triu_indices(int(g), 1)
        a_all.append(order[(st[:, None] + i[None, :]).ravel()])
        b_all.append(order[(st[:, None] + j[None, :]).ravel()])
    return np.concatenate(a_all), np.concatenate(b_all)


def _root(label: np.ndarray, x: np.ndarray) -> np.ndarray:
    r = label[x]
    while True:
        up = label[r]
        if np.array_equal(up, r):
            return r
        r = up


def _join(label: np.ndarray, reps: np.ndarray, links: tuple[np.ndarray, np.ndarray]) -> None:
    """Union of the clusters of reps[a] and reps[b] for every link (a, b): the smaller root wins."""
    a, b = links
    if not len(a):
        return
    la, lb = _root(label, reps[a]), _root(label, reps[b])
    sub_a, sub_b = _spanning(*_dense(la, lb))
    roots = np.unique(np.r_[la, lb])
    label[roots[sub_a]] = roots[sub_b]


def _dense(la: np.ndarray, lb: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    roots, inv = np.unique(np.r_[la, lb], return_inverse=True)
    return inv[: len(la)], inv[len(la):], len(roots)


_LEADS = 256  # members of a large block compared at a time against each other and the block's leaders


def _links(texts: list[str], reps: np.ndarray, similarity: float) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (positions in reps) at or above `similarity`. A block of up to _LEADS texts is compared all against
    all; a larger one in chunks of _LEADS, each against itself and against the leaders (the texts that joined no
    earlier text), so a block of many near-equal texts costs a few comparisons per text, not all pairs."""
    block = [texts[x] for x in reps]
    if len(block) <= _LEADS:
        r, c = np.nonzero(process.cdist(block, block, scorer=fuzz.ratio, score_cutoff=similarity, dtype=np.uint8,
                                        workers=-1))
        up = c > r
        return r[up], c[up]
    a_all, b_all, leaders = [], [], np.zeros(0, dtype=np.int64)
    for i0 in range(0, len(block), _LEADS):
        chunk = np.arange(i0, min(len(block), i0 + _LEADS))
        rows = [block[x] for x in chunk]
        r, c = np.nonzero(process.cdist(rows, rows, scorer=fuzz.ratio, score_cutoff=similarity, dtype=np.uint8,
                                        workers=-1))
        up = c > r
        a_all.append(chunk[r[up]])
        b_all.append(chunk[c[up]])
        joined = np.zeros(len(chunk), dtype=bool)
        joined[c[up]] = True  # joined an earlier text of its chunk
        if len(leaders):
            r, c = np.nonzero(process.cdist(rows, [block[x] for x in leaders], scorer=fuzz.ratio,
                                            score_cutoff=similarity, dtype=np.uint8, workers=-1))
            a_all.append(chunk[r])
            b_all.append(leaders[c])
            joined[r] = True
        leaders = np.r_[leaders, chunk[~joined]]
    return np.concatenate(a_all), np.concatenate(b_all)


def _spanning(a: np.ndarray, b: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Links (member, smallest member of its component) that connect what the links a–b connect."""
    label = np.arange(n)
    while True:
        low = np.minimum(label[a], label[b])
        new = label.copy()
        np.minimum.at(new, a, low)
        np.minimum.at(new, b, low)
        new = new[new]
        if np.array_equal(new, label):
            break
        label = new
    linked = np.flatnonzero(label != np.arange(n))
    return linked, label[linked]


# -- whose text: owners of the rows of any table ------------------------------------------------------

_META = ["form_id", "region", "department", "unit", "year", "project_name"]


def _form_meta(tables: dict) -> pd.DataFrame:
    f = tables.get("forms")
    if f is None or f.empty:
        return pd.DataFrame(columns=["form_id", *_META[1:], "source_file", "line_start", "location"])
    return f.drop_duplicates("form_id")[["form_id", *_META[1:], "source_file", "line_start", "location"]]


def _owned(df: pd.DataFrame, tables: dict) -> pd.DataFrame:
    """df's rows with form_id, region, department, unit, year and project_name: their own columns, else their
    form's (form_id), else their department form's (dept_form_id), else the file's first form's."""
    out = pd.DataFrame(index=df.index)
    for c in _META:
        out[c] = df[c].astype(object) if c in df else None
    forms = _form_meta(tables)
    if "form_id" in df and len(forms):
        m = forms.set_index("form_id")
        for c in _META[1:]:
            out[c] = out[c].where(out[c].notna(), df.form_id.map(m[c]).astype(object))
    dept = tables.get("department_forms")
    if "dept_form_id" in df and dept is not None and len(dept):
        m = dept.drop_duplicates("dept_form_id").set_index("dept_form_id")
        for c, col in (("department", "department"), ("year", "year"), ("project_name", "department")):
            out[c] = out[c].where(out[c].notna(), df.dept_form_id.map(m[col]).astype(object))
    if "source_file" in df and len(forms):
        m = forms.drop_duplicates("source_file").set_index("source_file")
        for c in ("region", "department", "year"):
            out[c] = out[c].where(out[c].notna(), df.source_file.map(m[c]).astype(object))
    if "project_name" not in df and "department" in df and "dept_form_id" in df:
        out["project_name"] = out.project_name.where(out.project_name.notna(), df.department.astype(object))
    return out


def _owner(meta: pd.DataFrame, cols) -> pd.Series:
    """One key per owner (nulls as empty): region + 主管部门 (+ 实施单位)."""
    parts = [meta[c].astype(object).where(meta[c].notna(), "").astype(str) for c in cols]
    out = parts[0]
    for p in parts[1:]:
        out = out + "\x00" + p
    return out


def _line(df: pd.DataFrame) -> pd.Series:
    for c in ("line", "line_start"):
        if c in df:
            return df[c].astype("Float64")
    return pd.Series(np.nan, index=df.index, dtype="Float64")


# -- shared_text ---------------------------------------------------------------------------------------------

def _occurrences(tables: dict, s: dict, raw_dir) -> pd.DataFrame:
    """Every text of the compared fields with its place, owner and normalised form, stock phrases left out."""
    parts = []
    for table, col, least in fields():
        df = tables.get(table)
        if df is None or df.empty or col not in df:
            continue
        df = df[df[col].notna()]
        if df.empty:
            continue
        meta = _owned(df, tables)
        part = pd.DataFrame({"field": col, "text": df[col].astype(object), "source_file": df.source_file.astype(object),
                             "location": df.location.astype(object) if "location" in df else None,
                             "line": _line(df).to_numpy(dtype=float, na_value=np.nan),
                             "line_end": _floats_or_nan(df, "line_end"), **{c: meta[c] for c in _META},
                             "least": s["min_chars"] if least is None else least}, index=df.index)
        parts.append(part.reset_index(drop=True))
    if not parts:
        return pd.DataFrame()
    occ = pd.concat(parts, ignore_index=True)
    codes, uniq = pd.factorize(occ.text)
    norms = np.array([normalise(u) for u in uniq] + [""], dtype=object)
    occ["norm"] = norms[codes]
    bare = np.array([bare_length(t) for t in norms])[codes]
    occ = occ[(bare >= occ.least.to_numpy(float)) & ~occ.norm.isin(stop_phrases())].reset_index(drop=True)
    occ["line"] = _text_lines(occ, raw_dir)
    return occ


def _floats_or_nan(df: pd.DataFrame, col: str) -> np.ndarray:
    if col not in df:
        return np.full(len(df), np.nan)
    return df[col].astype("Float64").to_numpy(dtype=float, na_value=np.nan)


def _text_lines(occ: pd.DataFrame, raw_dir) -> np.ndarray:
    """The line printing a form's goal text (forms know only where they start): the first line from line_start
    to line_end holding the text's first characters, where the raw file is at hand; else line_start."""
    line = occ.line.to_numpy(dtype=float).copy()
    if raw_dir is None:
        return line
    ask = occ.field.isin(["goal_planned", "goal_achieved", "goals"]).to_numpy(bool) & ~np.isnan(line)
    files = {sf: got for sf in pd.unique(occ.source_file[ask]) if (got := _lines_of(raw_dir, sf))}
    ask &= occ.source_file.isin(list(files)).to_numpy(bool)
    sf, norm, end = occ.source_file.to_numpy(object), occ.norm.to_numpy(object), occ.line_end.to_numpy(float)
    for k in np.flatnonzero(ask):
        lines, head = files[sf[k]], norm[k][:10]
        stop = end[k] if not np.isnan(end[k]) else line[k] + 40
        hit = next((n for n in range(int(line[k]), int(stop) + 1) if head in normalise(lines.get(n, ""))), None)
        if hit is not None:
            line[k] = hit
    return line


def _shared_text(tables: dict, s: dict, raw_dir) -> pd.DataFrame:
    occ = _occurrences(tables, s, raw_dir)
    if occ.empty:
        return pd.DataFrame()
    occ["owner"] = _owner(occ, ["region", "department"])
    # one cluster per text and its near copies, within a field
    cluster = np.empty(len(occ), dtype=np.int64)
    base = 0
    for _, idx in occ.groupby("field", sort=False).indices.items():
        codes, uniq = pd.factorize(occ.norm.iloc[idx])
        lab = near_duplicates(list(uniq), s["text_similarity"])
        cluster[idx] = base + lab[codes]
        base += len(uniq)
    occ["cluster"] = cluster
    occ["where"] = occ.form_id.where(occ.form_id.notna(), occ.source_file.astype(str) + ":" + occ.line.astype(str))
    g = occ.groupby("cluster")
    regions, owners, forms = g.region.nunique(), g.owner.nunique(), g["where"].nunique()
    keep = regions.index[(regions < s["template_regions"]) & (owners >= s["min_owners"])]
    occ = occ[occ.cluster.isin(keep)]
    if occ.empty:
        return pd.DataFrame()
    # the earliest text of the cluster (year, file, line) against the first text of every other owner
    occ = occ.assign(_y=pd.to_numeric(occ.year, errors="coerce").fillna(np.inf)).sort_values(
        ["cluster", "_y", "source_file", "line"], kind="stable")
    first = occ.drop_duplicates("cluster").set_index("cluster")
    others = occ.drop_duplicates(["cluster", "owner"])
    others = others[others.owner.to_numpy() != first.owner.reindex(others.cluster).to_numpy()]
    a = first.reindex(others.cluster).reset_index(drop=True)
    b = others.reset_index(drop=True)
    sim = np.array([fuzz.ratio(x, y) for x, y in zip(a.norm, b.norm, strict=True)], dtype=float)
    out = _pairs("shared_text", b.field, sim, a, b)
    out["count"] = forms.reindex(b.cluster).to_numpy()
    out["total"] = owners.reindex(b.cluster).to_numpy()
    return out


# -- indicator_set ---------------------------------------------------------------------------------------

def _items(tables: dict, s: dict) -> pd.DataFrame:
    """The (三级指标, 年度指标值) pairs of every form, stock names and template pairs left out."""
    ind = tables.get("indicators")
    if ind is None or ind.empty:
        return pd.DataFrame()
    ind = ind[ind.name.notna() & ind.target_raw.notna() & ~ind.is_budget_execution.fillna(False)]
    name = _norms(ind.name)
    target = _norms(ind.target_raw)
    ok = (name != "") & (target != "") & ~pd.Series(name).isin(stop_phrases()).to_numpy(bool)
    ind = ind[ok]
    meta = _owned(ind, tables)
    it = pd.DataFrame({"form_id": ind.form_id.astype(object).to_numpy(), "item": (name[ok] + "|" + target[ok]),
                       "line": _line(ind).to_numpy(dtype=float, na_value=np.nan), "seq": _floats_or_nan(ind, "seq"),
                       "shown": (ind.name.astype(str) + "：" + ind.target_raw.astype(str)).to_numpy(object),
                       "region": meta.region.to_numpy(object)})
    it = it.drop_duplicates(["form_id", "item"])
    g = it.groupby("item")
    common = (g.region.nunique() >= s["template_regions"]) | (g.size() > s["set_item_cap"])
    return it[~it.item.map(common).to_numpy(bool)].reset_index(drop=True)


def _norms(values: pd.Series) -> np.ndarray:
    codes, uniq = pd.factorize(values)
    return np.array([normalise(u) for u in uniq] + [""], dtype=object)[codes]


def _indicator_set(tables: dict, s: dict) -> pd.DataFrame:
    it = _items(tables, s)
    forms = _form_meta(tables)
    if it.empty or forms.empty:
        return pd.DataFrame()
    fm = forms.set_index("form_id")
    size = it.groupby("form_id").size()
    code = pd.Series(np.arange(len(fm)), index=fm.index)
    it["code"] = it.form_id.map(code).to_numpy()
    it = it[it.code.notna()]
    pairs = it[["item", "code"]].merge(it[["item", "code"]], on="item", suffixes=("_a", "_b"))
    pairs = pairs[pairs.code_a < pairs.code_b]
    if pairs.empty:
        return pd.DataFrame()
    shared = pairs.groupby(["code_a", "code_b"]).size().rename("shared").reset_index()
    fa, fb = fm.index[shared.code_a.astype(int)], fm.index[shared.code_b.astype(int)]
    na, nb = size.reindex(fa).to_numpy(), size.reindex(fb).to_numpy()
    jac = shared.shared.to_numpy() / (na + nb - shared.shared.to_numpy()) * 100
    unit_owner = _owner(fm.reset_index(), ["region", "department", "unit"]).to_numpy(object)
    pkey = np.array([project_key(_YEARS.sub("", p)) if isinstance(p, str) else None for p in fm.project_name],
                    dtype=object)
    ca, cb = shared.code_a.astype(int).to_numpy(), shared.code_b.astype(int).to_numpy()
    keep = (shared.shared.to_numpy() >= s["set_min_shared"]) & (jac >= s["set_similarity"]) & \
        (unit_owner[ca] != unit_owner[cb]) & ~((pkey[ca] == pkey[cb]) & (pkey[ca] != None))  # noqa: E711
    shared, jac, na, nb = shared[keep].reset_index(drop=True), jac[keep], na[keep], nb[keep]
    if shared.empty:
        return pd.DataFrame()
    # the earlier form is `a`: by year, file and line
    ca, cb = shared.code_a.astype(int).to_numpy(), shared.code_b.astype(int).to_numpy()
    swap = _later(fm.iloc[ca].reset_index(), fm.iloc[cb].reset_index())
    a2 = fm.iloc[np.where(swap, cb, ca)].reset_index()
    b2 = fm.iloc[np.where(swap, ca, cb)].reset_index()
    # the pairs they share, as each form prints them (in its own order), and the first shared line of each
    common = it[["item", "code"]]
    texts, lines = {}, {}
    for side, frame in (("a", a2), ("b", b2)):
        other = b2 if side == "a" else a2
        want = pd.DataFrame({"pair": np.arange(len(frame)), "code": frame.form_id.map(code).to_numpy(),
                             "other": other.form_id.map(code).to_numpy()})
        mine = want.merge(it, on="code").merge(common.rename(columns={"code": "other"}), on=["other", "item"])
        mine = mine.sort_values(["pair", "seq", "line"], kind="stable")
        texts[side] = mine.groupby("pair").shown.agg(lambda x: "；".join(x)[:200]).reindex(range(len(frame)))
        lines[side] = mine.groupby("pair").line.min().reindex(range(len(frame)))
    a2 = a2.assign(text=texts["a"].to_numpy(), line=lines["a"].to_numpy())
    b2 = b2.assign(text=texts["b"].to_numpy(), line=lines["b"].to_numpy())
    out = _pairs("indicator_set", "name/target_raw", jac, a2, b2)
    out["count"] = shared.shared.to_numpy()
    out["total"] = (na + nb - shared.shared.to_numpy())
    return out


def _later(a: pd.DataFrame, b: pd.DataFrame) -> np.ndarray:
    """Rows where b comes before a (year, then file, then first line)."""
    ya, yb = (x.year.astype("Float64").to_numpy(dtype=float, na_value=np.inf) for x in (a, b))
    fa, fb = a.source_file.astype(str).to_numpy(), b.source_file.astype(str).to_numpy()
    la, lb = (x.line_start.astype("Float64").to_numpy(dtype=float, na_value=np.inf) for x in (a, b))
    return (yb < ya) | ((yb == ya) & ((fb < fa) | ((fb == fa) & (lb < la))))


# -- repeat_year ---------------------------------------------------------------------------------------------

def _form_texts(tables: dict) -> pd.DataFrame:
    """Per form: its goals and every indicator (name, target, actual, reason) in order, as one text."""
    forms = tables.get("forms")
    ind = tables.get("indicators")
    goals = (forms.goal_planned.astype(object).fillna("") + "｜" + forms.goal_achieved.astype(object).fillna(""))
    out = pd.DataFrame({"form_id": forms.form_id.astype(object).to_numpy(), "goals": goals.to_numpy(object)})
    if ind is not None and len(ind):
        i = ind.sort_values(["form_id", "seq"], kind="stable")
        row = (i.name.astype(object).fillna("") + "｜" + i.target_raw.astype(object).fillna("") + "｜"
               + i.actual_raw.astype(object).fillna("") + "｜" + i.deviation_note.astype(object).fillna(""))
        joined = row.groupby(i.form_id.astype(object).to_numpy()).agg("；".join)
        n = row.groupby(i.form_id.astype(object).to_numpy()).size()
        out["indicators"] = out.form_id.map(joined).fillna("").to_numpy(object)
        out["n"] = out.form_id.map(n).fillna(0).astype(int).to_numpy()
        rows = pd.DataFrame({"form_id": i.form_id.astype(object).to_numpy(), "row": _norms(row)})
    else:
        out["indicators"], out["n"] = "", 0
        rows = pd.DataFrame(columns=["form_id", "row"])
    out["text"] = out.goals + "；" + out.indicators
    return out.drop_duplicates("form_id"), rows


def _repeat_year(tables: dict, s: dict) -> pd.DataFrame:
    forms = _form_meta(tables)
    if forms.empty or tables.get("forms") is None:
        return pd.DataFrame()
    f = forms[forms.year.notna() & forms.project_name.notna()].reset_index(drop=True)
    if f.empty:
        return pd.DataFrame()
    f["block"] = _owner(f, ["region", "department"]) + "\x00" + pd.Series(
        [project_key(_YEARS.sub("", p)) or "" for p in f.project_name], index=f.index)
    years = f.groupby("block").year.nunique()
    f = f[f.block.map(years).to_numpy() >= 2]
    if f.empty:
        return pd.DataFrame()
    texts, rows = _form_texts(tables)
    f = f.merge(texts, on="form_id", how="left")
    mask = _DIGITS if s["year_mask_digits"] else _YEARS
    f["masked"] = [normalise(mask.sub("", t)) if isinstance(t, str) else "" for t in f.text]
    f = f.sort_values(["block", "year", "source_file", "line_start"], kind="stable").reset_index(drop=True)
    # every form against each form of the block's previous year
    f["yrank"] = f.groupby("block").year.rank(method="dense").astype(int)
    prev = f[["block", "yrank"]].assign(yrank=f.yrank + 1, pos_a=np.arange(len(f)))
    pairs = f[["block", "yrank"]].assign(pos_b=np.arange(len(f))).merge(prev, on=["block", "yrank"])
    if pairs.empty:
        return pd.DataFrame()
    a = f.iloc[pairs.pos_a].reset_index(drop=True)
    b = f.iloc[pairs.pos_b].reset_index(drop=True)
    sim = process.cpdist(a.masked.tolist(), b.masked.tolist(), scorer=fuzz.ratio, workers=-1).astype(float)
    least = s["year_min_chars"]
    long = (a.masked.str.len().to_numpy() >= least) & (b.masked.str.len().to_numpy() >= least)
    keep = long & (sim >= s["year_similarity"])
    a, b, sim = a[keep].reset_index(drop=True), b[keep].reset_index(drop=True), sim[keep]
    if a.empty:
        return pd.DataFrame()
    # indicators of the later form printed the same (name, target, actual, reason) in the earlier one
    key_rows = rows.assign(row=[mask.sub("", r) for r in rows.row])
    pair_ids = pd.DataFrame({"pair": np.arange(len(a)), "fa": a.form_id.to_numpy(object),
                             "fb": b.form_id.to_numpy(object)})
    same = pair_ids.merge(key_rows.rename(columns={"form_id": "fb"}), on="fb").merge(
        key_rows.rename(columns={"form_id": "fa"}).drop_duplicates(), on=["fa", "row"])
    count = same.groupby("pair").size().reindex(range(len(a)), fill_value=0).to_numpy()
    a = a.assign(line=a.line_start, text=a.text.str.slice(0, 200))
    b = b.assign(line=b.line_start, text=b.text.str.slice(0, 200))
    out = _pairs("repeat_year", "form", sim, a, b)
    out["count"], out["total"] = count, b.n.to_numpy()
    return out


# -- actual_is_target ------------------------------------------------------------------------------------

def _actual_is_target(tables: dict, s: dict) -> pd.DataFrame:
    ind = tables.get("indicators")
    if ind is None or ind.empty:
        return pd.DataFrame()
    i = ind[ind.target_raw.notna() & ind.actual_raw.notna() & ~ind.is_budget_execution.fillna(False)]
    i = i.sort_values(["source_file", "line"], kind="stable").reset_index(drop=True)
    eq = _norms(i.target_raw) == _norms(i.actual_raw)
    g = pd.DataFrame({"source_file": i.source_file.astype(object), "eq": eq}).groupby("source_file", sort=False)
    n, k = g.size(), g.eq.sum()
    share = k / n * 100
    files = share.index[(n >= s["copy_min_indicators"]) & (share >= s["copy_share"])]
    if not len(files):
        return pd.DataFrame()
    first = i[eq & i.source_file.isin(files).to_numpy(bool)].drop_duplicates("source_file").reset_index(drop=True)
    meta = _owned(first, tables)
    side = pd.DataFrame({"source_file": first.source_file.astype(object), "location": first.location.astype(object),
                         "line": first.line.astype("Float64"), **{c: meta[c] for c in _META}})
    a = side.assign(text=first.target_raw.astype(object).to_numpy())
    b = side.assign(text=first.actual_raw.astype(object).to_numpy())
    out = _pairs("actual_is_target", "actual_raw", share.reindex(first.source_file).to_numpy(), a, b)
    out["count"] = k.reindex(first.source_file).to_numpy()
    out["total"] = n.reindex(first.source_file).to_numpy()
    out["_name"] = first.name.astype(object).to_numpy()
    return out


# -- the table ---------------------------------------------------------------------------------------------

def _pairs(kind: str, field, similarity, a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Findings of one kind from the two sides' columns (source_file, location, line, form meta, text)."""
    out = pd.DataFrame({"kind": kind, "field": field if isinstance(field, str) else np.asarray(field, dtype=object),
                        "similarity": np.round(np.asarray(similarity, dtype=float), 2)}, index=range(len(a)))
    for side, df in (("a", a), ("b", b)):
        for c in ("source_file", "location", "line", *_META, "text"):
            out[f"{c}_{side}"] = df[c].to_numpy(object) if c in df else None
    return out


_FIELD_ZH = {"deviation_note": "偏差原因", "goal_planned": "预期目标", "goal_achieved": "实际完成情况",
             "goals": "年度履职目标", "text": "报告文字"}


def _place(df: pd.DataFrame, side: str) -> pd.Series:
    """file:line of one side, the form auditors search for in the raw folder."""
    line = df[f"line_{side}"].astype("Float64").astype("Int64").astype("string").fillna("?")
    return df[f"source_file_{side}"].astype("string").fillna("?") + ":" + line


def _who(df: pd.DataFrame, side: str) -> pd.Series:
    """Whose text: the department (or the region), with the unit where it is another one."""
    out = []
    for r, d, u in zip(*(df[f"{c}_{side}"].astype(object) for c in ("region", "department", "unit")), strict=True):
        r, d, u = (x if isinstance(x, str) else "" for x in (r, d, u))
        who = d or r or "未填单位"
        out.append(who + (f"（{u}）" if u and u != d else ""))
    return pd.Series(out, index=df.index, dtype="string")


def _messages(out: pd.DataFrame) -> pd.Series:
    """The Chinese sentence of every finding, for a working paper."""
    sim = out.similarity.map(lambda v: f"{v:.4g}" if pd.notna(v) else "?").astype("string")
    count, total = (out[c].astype("Int64").astype("string").fillna("?") for c in ("count", "total"))
    pa, pb = _place(out, "a"), _place(out, "b")
    wa, wb = _who(out, "a"), _who(out, "b")
    ta, tb = (out[f"text_{s}"].astype("string").fillna("").str.slice(0, 60) for s in ("a", "b"))
    na, nb = (out[f"project_name_{s}"].astype("string").fillna("未填项目名称") for s in ("a", "b"))
    ya, yb = (out[f"year_{s}"].astype("Int64").astype("string").fillna("?") for s in ("a", "b"))
    field = out.field.map(_FIELD_ZH).fillna(out.field).astype("string")
    msg = pd.Series("", index=out.index, dtype="string")
    k = out.kind
    m = k == "shared_text"
    msg[m] = (wb + "“" + nb + "”的" + field + "“" + tb + "”（" + pb + "）与" + wa + "“" + na + "”（" + pa
              + "）相同，相似度" + sim + "%；共" + count + "张表、" + total + "个部门使用此文本。")[m]
    m = k == "indicator_set"
    msg[m] = (wb + "“" + nb + "”（" + pb + "起）与" + wa + "“" + na + "”（" + pa + "起）有" + count
              + "项三级指标及指标值相同（两表合计" + total + "项，相似度" + sim + "%），疑似套用其他单位的指标。")[m]
    m = k == "repeat_year"
    msg[m] = ("“" + nb + "”" + yb + "年的自评表（" + pb + "）与" + ya + "年的（" + pa + "）除年份外几乎相同（相似度"
              + sim + "%），" + total + "项指标中" + count + "项的指标值、完成值和偏差原因未变。")[m]
    m = k == "actual_is_target"
    if m.any():
        name = out["_name"].astype("string").fillna("") if "_name" in out else ""
        msg[m] = ("本文件" + total + "项指标中" + count + "项（" + sim + "%）的实际完成值与年度指标值相同，如“" + name
                  + "”指标值" + ta + "、完成值" + tb + "（" + pb + "），疑似照抄指标值。")[m]
    return msg


def copies(tables: dict[str, pd.DataFrame], raw_dir: str | Path | None = None, **params) -> pd.DataFrame:
    """Copied text across forms, departments and years: the `copies` table (kinds in KINDS).

    `params` override rules/copies.csv settings (unknown names raise); `raw_dir`, the folder the tables were read
    from, only places goal texts on their own line instead of the form's first line (never guessed: the tables
    may come from another folder than data/raw).

    固原市's file prints every 实际完成值 as its 年度指标值 (read by hand: 68 of 68 indicators):

    >>> from perfdata import read
    >>> t = read("data/raw/ningxia-guyuan-city-hrss-2024-project-self-evaluations.txt")
    >>> copies(t)[["kind", "count", "total"]].values.tolist()
    [['actual_is_target', 68, 68]]
    """
    s = settings()
    unknown = set(params) - set(s)
    if unknown:
        raise ValueError(f"unknown setting(s): {', '.join(sorted(unknown))}; known: {', '.join(sorted(s))}")
    s = {**s, **{k: float(v) for k, v in params.items()}}
    parts = [p for p in (_shared_text(tables, s, raw_dir), _indicator_set(tables, s), _repeat_year(tables, s),
                         _actual_is_target(tables, s)) if len(p)]
    if not parts:
        return schema.frame("copies", [])
    out = pd.concat(parts, ignore_index=True)
    out["message"] = _messages(out)
    out = out.sort_values(["kind", "source_file_b", "line_b"], key=lambda c: c.map(KINDS.index) if c.name == "kind"
                          else c, kind="stable", na_position="last")
    return schema.conform("copies", out.reset_index(drop=True))
