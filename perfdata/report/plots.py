"""Charts a briefing can use as they are: Chinese text in a bundled CJK font, titles, units, sorted bars.

The font is Noto Sans SC from the `pylopdf-fonts-zh-cn` package (SIL OFL 1.1), installed with the
notebooks extra, so charts render the same on a fresh machine as here; `setup()` registers it with
matplotlib. `save()` writes each chart as PNG (150 dpi) and SVG (text as paths, so the SVG shows
the same glyphs without the font), with fixed metadata so re-runs give the same files.
"""

from __future__ import annotations

import functools
import textwrap
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import font_manager
from matplotlib.ticker import MaxNLocator

DPI = 150
PALETTE = ["#3B6EA8", "#D9822B", "#5B9E4D", "#C0392B", "#8E6BB0", "#7F8C8D"]
SEVERITY_COLORS = {"high": "#C0392B", "medium": "#E67E22", "low": "#F1C40F"}
SEVERITY_NAMES = {"high": "高", "medium": "中", "low": "低"}
REST_COLOR = "#B8C2CC"
LIMIT = 30  # bars a chart shows at most; the rest are one "其余 N 项" bar or a note under the chart
NOTE_SIZE = 7.5
_FONT: str | None = None
_SOURCE: str | None = None


def font_path() -> Path | None:
    """The bundled CJK font file, or None when the package is missing."""
    try:
        import pylopdf_fonts_zh_cn
    except ImportError:
        return None
    path = Path(pylopdf_fonts_zh_cn.sans_path())
    return path if path.exists() else None


def _system_cjk_font() -> str | None:
    for name in ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "SimHei",
                 "Microsoft YaHei", "PingFang SC"):
        try:
            font_manager.findfont(font_manager.FontProperties(family=name), fallback_to_default=False)
            return name
        except ValueError:
            continue
    return None


def setup(source: str | None = None) -> str | None:
    """Register the CJK font and the house style with matplotlib; returns the font's family name.

    `source` is the note save() prints under every chart (e.g. "来源：perfdata 运行 …，4 个输入文件").
    """
    global _FONT, _SOURCE
    if source is not None:
        _SOURCE = source
    if _FONT is None:
        path = font_path()
        if path is not None:
            font_manager.fontManager.addfont(str(path))
            _FONT = font_manager.FontProperties(fname=str(path)).get_name()
        else:
            _FONT = _system_cjk_font()
    plt.rcParams.update({
        "font.family": "sans-serif",
        "font.sans-serif": ([_FONT] if _FONT else []) + ["DejaVu Sans"],
        "axes.unicode_minus": False,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.titleweight": "normal",
        "axes.titlesize": 13,
        "axes.grid": True,
        "axes.axisbelow": True,
        "grid.alpha": 0.3,
        "figure.dpi": 100,
        "savefig.dpi": DPI,
        "savefig.bbox": "tight",
        "svg.hashsalt": "perfdata",
        "svg.fonttype": "path",
    })
    return _FONT


def wrap(label, width: int = 14) -> str:
    """Break a long (Chinese) label over lines of `width` characters.

    >>> wrap("驻村第一书记工作经费和驻村第一书记及工作队员伙食补助", 12)
    '驻村第一书记工作经费和驻\\n村第一书记及工作队员伙食\\n补助'
    """
    text = _label(label)
    return "\n".join(textwrap.wrap(text, width, break_long_words=True)) or text


def _label(*parts) -> str:
    """A group key (tuple of parts) as one label; a missing part reads 未填."""
    return " · ".join("未填" if p is None or (not isinstance(p, str) and pd.isna(p)) else str(p) for p in parts)


def add_note(fig, text: str) -> None:
    """A sentence save() prints under the chart (above the source note), e.g. what the cap left out."""
    notes = getattr(fig, "_perfdata_notes", [])
    notes.append(text)
    fig._perfdata_notes = notes


def _cap(s: pd.Series, limit: int | None, keep: str) -> tuple[pd.Series, int]:
    """The `limit` largest (or smallest) values, in their order, and how many were left out.

    >>> _cap(pd.Series([5.0, 1.0, 9.0, 3.0]), 2, "largest")[0].tolist(), _cap(pd.Series([5.0, 1.0]), 2, "smallest")[1]
    ([5.0, 9.0], 0)
    """
    if limit is None or len(s) <= limit:
        return s, 0
    values = (s.abs() if keep == "abs" else s).fillna(float("inf") if keep == "smallest" else float("-inf"))
    values = values.to_numpy()
    order = np.argsort(values, kind="stable")
    chosen = order[:limit] if keep == "smallest" else order[-limit:]
    return s.iloc[np.sort(chosen)], len(s) - limit


def _labels(index, width: int) -> list[str]:
    return [wrap(_label(*i) if isinstance(i, tuple) else _label(i), width) for i in index]


def bar(values: pd.Series, title: str, unit: str, *, sort: bool = True, threshold: float | None = None,
        threshold_label: str | None = None, color=None, value_format: str = "{:,.1f}", wrap_width: int = 20,
        ax=None, limit: int | None = LIMIT, keep: str = "largest", more: str | None = None,
        drop_zero: bool = False):
    """Horizontal bars, largest on top, each labelled with its value; `unit` goes on the value axis.

    At most `limit` bars: the `keep` ("largest" or "smallest") values; a note under the chart says how many
    were left out and where they are (`more`, e.g. "全部见 tables/below_threshold.csv"). `drop_zero` leaves
    out bars of 0 (a gap of nothing is not a finding).
    """
    setup()
    s = pd.to_numeric(values, errors="coerce").astype(float)
    if drop_zero:
        s = s[s.round(2) != 0]
    s, rest = _cap(s, limit, keep)
    s.index = _labels(s.index, wrap_width)
    if sort:
        s = s.sort_values(ascending=True, kind="stable")
    height = max(2.4, 0.42 * len(s) + 1.2 + 0.12 * sum(str(i).count("\n") for i in s.index))
    if ax is None:
        fig, ax = plt.subplots(figsize=(8, height))
    else:
        fig = ax.figure
    colors = color if color is not None else [
        PALETTE[3] if threshold is not None and v < threshold else PALETTE[0] for v in s.fillna(0)]
    bars = ax.barh(range(len(s)), s.fillna(0).to_numpy(), color=colors)
    ax.set_yticks(range(len(s)), s.index)
    ax.bar_label(bars, labels=["" if pd.isna(v) else value_format.format(v) for v in s], padding=3, fontsize=8)
    ax.set_xlabel(unit)
    ax.set_title(title)
    ax.grid(axis="y", visible=False)
    if s.notna().any():  # room for the value labels, on the left too where bars are negative
        lo, hi = min(0, s.min() * 1.15), max(s.max() * 1.15, (threshold or 0) * 1.05, 0)
        if hi > lo:
            ax.set_xlim(lo, hi)
    if threshold is not None:
        ax.axvline(threshold, color=PALETTE[3], linestyle="--", linewidth=1,
                   label=threshold_label or f"{threshold:g}")
        ax.legend(loc="lower right", fontsize=8)
    if rest:
        which = {"largest": "最大", "smallest": "最小", "abs": "绝对值最大"}.get(keep, "")
        add_note(fig, f"共 {len(s) + rest:,} 项，图中列数值{which}的 {len(s)} 项，其余 {rest:,} 项未列出"
                 + (f"（{more}）" if more else "") + "。")
    return fig


def binned(table: pd.DataFrame, title: str, unit: str, *, label: str = "bin", value: str = "forms",
           colors: list | None = None, count_unit: str = "份", ax=None):
    """Vertical bars of counts per band (e.g. execution-rate bands, 100 % its own), each labelled with its
    count and share; bands in the given order."""
    setup()
    t = table.reset_index(drop=True)
    if ax is None:
        fig, ax = plt.subplots(figsize=(max(6.0, 1.25 * len(t) + 1.5), 4.0))
    else:
        fig = ax.figure
    counts = t[value].astype(float).to_numpy()
    total = counts.sum()
    bars = ax.bar(range(len(t)), counts, color=colors or PALETTE[0], width=0.7)
    ax.bar_label(bars, labels=[f"{int(c):,} {count_unit}（{c / total * 100:.1f}%）" if total else f"{int(c)}"
                               for c in counts], padding=2, fontsize=8)
    ax.set_xticks(range(len(t)), [wrap(x, 9) for x in t[label]])
    ax.set_xlabel(unit)
    ax.set_ylabel(f"表单数（{count_unit}）")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    if total:
        ax.set_ylim(0, counts.max() * 1.18)
    ax.set_title(title)
    ax.grid(axis="x", visible=False)
    return fig


def hist(values: pd.Series, title: str, unit: str, *, bins=10, threshold: float | None = None,
         threshold_label: str | None = None, ax=None):
    """Distribution of one measure; counts on the vertical axis, an optional threshold line."""
    setup()
    v = pd.to_numeric(values, errors="coerce").dropna().astype(float)
    if ax is None:
        fig, ax = plt.subplots(figsize=(8, 4))
    else:
        fig = ax.figure
    ax.hist(v, bins=bins, color=PALETTE[0], edgecolor="white")
    ax.set_xlabel(unit)
    ax.set_ylabel("表单数（份）")
    ax.set_title(title)
    if threshold is not None:
        ax.axvline(threshold, color=PALETTE[3], linestyle="--", linewidth=1,
                   label=threshold_label or f"{threshold:g}")
        ax.legend(fontsize=8)
    return fig


def scatter(df: pd.DataFrame, x: str, y: str, title: str, xlabel: str, ylabel: str, *, group: str | None = None,
            ax=None, precision: int = 1, labelled: int = 8, colours: int = len(PALETTE)):
    """Points of two measures. Forms on the same spot (rounded to `precision` decimals) are one point whose
    area grows with their number (a size legend says how many), the `labelled` biggest labelled with the
    count, so 34 forms at (100 %, 100 分) read as 34, not as one dot. A point takes its group's colour (the
    `colours` largest groups; the rest share grey) or, where forms of several groups coincide, a colour of its
    own, with the split in a note under the chart."""
    setup()
    if ax is None:
        fig, ax = plt.subplots(figsize=(7.5, 4.8))
    else:
        fig = ax.figure
    d = pd.DataFrame({"x": pd.to_numeric(df[x], errors="coerce").astype(float).round(precision),
                      "y": pd.to_numeric(df[y], errors="coerce").astype(float).round(precision)})
    d["g"] = df[group].astype(object).where(df[group].notna(), "未填").astype(str) if group else ""
    missing = int(d[["x", "y"]].isna().any(axis=1).sum())
    d = d.dropna(subset=["x", "y"])
    sizes = d.groupby("g").size().sort_values(ascending=False, kind="stable")
    named = list(sizes.index[:colours]) if group else []
    colour_of = {g: PALETTE[k % len(PALETTE)] for k, g in enumerate(named)}
    rest_groups = len(sizes) - len(named) if group else 0
    spots = d.groupby(["x", "y"], sort=True).agg(n=("g", "size"), groups=("g", "nunique"), g=("g", "first"))
    spots = spots.reset_index()
    top = int(spots["n"].max()) if len(spots) else 1

    def area(n):
        return 18 + 600 * (np.asarray(n, dtype=float) / max(top, 1)) ** 0.5 if top > 1 else np.full(len(n), 36.0)

    mixed = "#2C3E50"  # forms of several groups on one spot
    colour = [mixed if k > 1 else colour_of.get(g, REST_COLOR) for k, g in zip(spots["groups"], spots["g"],
                                                                                strict=True)]
    order = np.argsort(-spots["n"].to_numpy(), kind="stable")  # small points drawn over big ones
    ax.scatter(spots["x"].to_numpy()[order], spots["y"].to_numpy()[order], s=area(spots["n"])[order],
               c=[colour[i] for i in order], alpha=0.7, edgecolor="white", linewidth=0.6)
    for r in spots.nlargest(labelled, "n").itertuples():
        if int(r.n) > 1:
            ax.annotate(f"{int(r.n):,}", (r.x, r.y), ha="center", va="center", fontsize=7.5, color="#222")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    from matplotlib.lines import Line2D

    def dot(c, ms=7):
        return Line2D([], [], linestyle="", marker="o", markersize=ms, markerfacecolor=c, markeredgecolor="white",
                      alpha=0.8)

    if group:
        handles = [dot(colour_of[g]) for g in named] + ([dot(REST_COLOR)] if rest_groups else []) + \
            ([dot(mixed)] if (spots["groups"] > 1).any() else [])
        names = named + ([f"其余 {rest_groups:,} 个"] if rest_groups else []) + \
            (["多个重合"] if (spots["groups"] > 1).any() else [])
        ax.add_artist(ax.legend(handles, names, title="地区", fontsize=8, title_fontsize=8, loc="upper left",
                                bbox_to_anchor=(1.01, 1.0), frameon=False))
    if top > 1:
        steps = sorted({1, max(1, round(top / 10)), max(1, round(top / 3)), top})
        marks = [dot("#999", float(area([n])[0]) ** 0.5) for n in steps]
        ax.legend(marks, [f"{n:,} 份" for n in steps], title="同一位置的表单数", fontsize=8, title_fontsize=8,
                  loc="lower left", bbox_to_anchor=(1.01, 0.0), frameon=False, labelspacing=1.6, borderpad=0.9)
    for r in spots[spots["groups"] > 1].nlargest(3, "n").itertuples():
        here = d[(d["x"] == r.x) & (d["y"] == r.y)]["g"].value_counts()
        text = "、".join(f"{g} {int(n):,}" for g, n in here.head(5).items())
        if len(here) > 5:
            text += f" 等 {len(here):,} 个地区"
        add_note(fig, f"（{r.x:g}%，{r.y:g} 分）处 {int(r.n):,} 份：{text}。")
    add_note(fig, f"共 {len(d):,} 份表单" + (f"（另有 {missing:,} 份缺执行率或总分，未画出）" if missing else "")
             + f"；位置按 {10 ** -precision:g} 取整，重合的表单合为一点，面积表示份数。")
    return fig


def stacked(table: pd.DataFrame, title: str, unit: str, *, colors: dict | None = None, wrap_width: int = 16,
            ax=None, limit: int | None = LIMIT, rest_label: str = "其余 {n} 项"):
    """Horizontal stacked bars: rows are groups, columns the parts (e.g. severities or grades), largest on top.

    At most `limit` groups: the largest, and a last row "其余 N 项" stating the sum of the others (by part) in
    words, without a bar that would dwarf the rest, so the chart still accounts for the whole.
    """
    setup()
    t = table.astype(float)
    t.index = _labels(t.index, wrap_width)
    t = t.groupby(level=0, sort=False).sum() if t.index.has_duplicates else t
    t = t.loc[t.sum(axis=1).sort_values(ascending=True, kind="stable").index]
    rest, n_rest = None, 0
    if limit is not None and len(t) > limit:
        rest = t.iloc[: len(t) - limit].sum()
        n_rest = len(t) - limit
        t = pd.concat([pd.DataFrame([[0.0] * len(t.columns)], columns=t.columns,
                                    index=[rest_label.format(n=f"{n_rest:,}")]), t.iloc[len(t) - limit:]])
    if ax is None:
        fig, ax = plt.subplots(figsize=(8, max(2.4, 0.42 * len(t) + 1.4)))
    else:
        fig = ax.figure
    left = pd.Series(0.0, index=t.index)
    for k, col in enumerate(t.columns):
        c = (colors or {}).get(col, PALETTE[k % len(PALETTE)])
        ax.barh(range(len(t)), t[col].to_numpy(), left=left.to_numpy(), color=c,
                label=SEVERITY_NAMES.get(str(col), str(col)))
        left += t[col]
    for i, total in enumerate(left):
        if rest is not None and i == 0:
            parts = "、".join(f"{SEVERITY_NAMES.get(str(c), str(c))} {v:,.0f}" for c, v in rest.items() if v)
            ax.text(0, 0, f" 合计 {rest.sum():,.0f}（{parts}），未逐项画出", va="center", fontsize=8, color="#555555")
        else:
            ax.text(total, i, f" {total:,.0f}", va="center", fontsize=8)
    ax.set_yticks(range(len(t)), t.index)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if len(t) and left.max() > 0:
        ax.set_xlim(0, left.max() * 1.12)
    ax.set_xlabel(unit)
    ax.set_title(title)
    ax.grid(axis="y", visible=False)
    _legend_below(ax, len(t.columns), 0.6)
    if rest is not None:
        ax.get_yticklabels()[0].set_color("#555555")
    return fig


GROUPS = 12  # groups of vertical bars a chart shows at most (at 14 in wide)


def grouped(table: pd.DataFrame, title: str, unit: str, *, value_format: str = "{:,.1f}", ax=None,
            limit: int | None = GROUPS, more: str | None = None):
    """Vertical grouped bars: one group per row (e.g. region · year), one bar per column.

    At most `limit` groups (the first rows: sort before), a note says how many were left out; at most 14 in
    wide, and bars too narrow for a value label go without one.
    """
    setup()
    given_ax = ax is not None
    t = table.astype(float)
    rest = 0
    if limit is not None and len(t) > limit:
        rest = len(t) - limit
        t = t.iloc[:limit]
    if ax is None:
        fig, ax = plt.subplots(figsize=(min(14.0, max(6, 1.6 * len(t) * max(1, len(t.columns)) / 2 + 2)), 4.2))
    else:
        fig = ax.figure
    # labels wrapped to the room of a group (about 7 characters of 10-point text per inch of the axis)
    room = fig.get_size_inches()[0] * (ax.get_position().width if given_ax else 0.8)
    labels = _labels(t.index, max(4, min(12, int(room * 7 / max(1, len(t))) - 1)))
    n = max(1, len(t.columns))
    width = 0.8 / n
    bar_inches = fig.get_size_inches()[0] * 0.8 * width / max(1, len(t))
    for k, col in enumerate(t.columns):
        xs = [i + (k - (n - 1) / 2) * width for i in range(len(t))]
        bars = ax.bar(xs, t[col].fillna(0).to_numpy(), width=width, color=PALETTE[k % len(PALETTE)], label=str(col))
        if bar_inches >= 0.3:
            ax.bar_label(bars, labels=["" if pd.isna(v) else value_format.format(v) for v in t[col]], fontsize=7,
                         padding=2)
    ax.set_xticks(range(len(t)), labels)
    ax.set_ylabel(unit)
    ax.set_title(title)
    ax.grid(axis="x", visible=False)
    if n > 1:
        lines = max(str(label).count("\n") + 1 for label in labels) if labels else 1
        _legend_below(ax, n, 0.45 + 0.2 * lines)
    if rest and not given_ax:
        add_note(fig, f"共 {len(t) + rest:,} 组，图中列前 {len(t)} 组，其余 {rest:,} 组未列出"
                 + (f"（{more}）" if more else "") + "。")
    return fig


def panels(parts: list[tuple[pd.DataFrame, str, str, str]], title: str, *, limit: int | None = GROUPS,
           more: str | None = None):
    """Grouped bars of measures in different units side by side, one axis per unit (e.g. rates in % left,
    scores in 分 right): `parts` are (table, panel title, unit, value format); rows are the same groups."""
    setup()
    n = len(parts[0][0]) if parts else 0
    shown = min(n, limit) if limit is not None else n
    widths = [max(1.6, len(t.columns)) for t, *_ in parts]
    fig, axes = plt.subplots(1, len(parts), figsize=(min(14.0, max(8.0, 0.5 * shown * sum(widths) + 2)), 4.4),
                             gridspec_kw={"width_ratios": widths}, squeeze=False)
    for ax, (t, sub, unit, value_format) in zip(axes[0], parts, strict=True):
        grouped(t, sub, unit, value_format=value_format, ax=ax, limit=limit)
    fig.suptitle(title, fontsize=13, y=1.04)
    if n > shown:
        add_note(fig, f"共 {n:,} 组，图中列前 {shown} 组，其余 {n - shown:,} 组未列出"
                 + (f"（{more}）" if more else "") + "。")
    return fig


def plot_digits(frequencies: pd.DataFrame, test: str = "first", group: str = "全部", *, ax=None, **overrides):
    """Observed shares (bars) against the expected ones (line) of one digit test and group of
    perfdata.audit.digits.digit_tables()["digit_frequencies"], titled with n, the MAD and the verdict; a group
    below the test's minimum sample says so under the chart. `overrides` are the test's settings
    (first_min_n=300), as digit_tables takes them."""
    from perfdata.audit import digits
    from perfdata.report import display

    setup()
    f = frequencies[(frequencies["test"] == test) & (frequencies["group"] == group)].sort_values("digit")
    if ax is None:
        fig, ax = plt.subplots(figsize=(8 if test != "first_two" else 12, 4))
    else:
        fig = ax.figure
    x = np.arange(len(f))
    obs = f["observed_share"].astype(float).fillna(0).to_numpy()
    exp = f["expected_share"].astype(float).to_numpy()
    ax.bar(x, obs, color=PALETTE[0], width=0.7, label="实际占比")
    ax.plot(x, exp, color=PALETTE[3], marker="o", markersize=3 if test == "first_two" else 5, linewidth=1.5,
            label="本福特定律期望占比" if test != "last" else "均匀分布期望占比")
    labels = f["digit"].astype(int).astype(str).tolist()
    if test == "first_two":
        ax.set_xticks(x[::5], labels[::5])
    else:
        ax.set_xticks(x, labels)
    name = display.value_labels("test").get(test, test)
    conf = digits.settings(**overrides)
    n = int(f["observed"].sum())
    mad = float(np.abs(obs - exp).mean() / 100) if n else float("nan")
    verdict = digits.verdict(mad, n, test, conf)
    ax.set_xlabel(name)
    ax.set_ylabel("占比（%）")
    shown = f"n = {n:,}，MAD {mad:.4f}，{verdict}" if n else "无金额"
    ax.set_title(f"{name}分布：{group}（{shown}）")
    ax.grid(axis="x", visible=False)
    ax.legend(fontsize=8, frameon=False)
    add_note(fig, "金额取资金来源明细的年初预算数、全年预算数、全年执行数（同一行相同的数只计一次），"
             "不含零和负数" + {"first_two": "；只计 10 万元及以上的金额",
                           "last": "；只计 100 万元及以上的金额"}.get(test, "") + "。")
    if n < conf[test]["min_n"]:
        add_note(fig, f"金额少于检验所需的 {conf[test]['min_n']:,.0f} 个，不下结论（{verdict}）：样本小时，"
                 "真实的数字也常偏离期望占比，MAD 仅供参考。")
    return fig

def _legend_below(ax, n: int, inches: float):
    """Legend under the axis label (`inches` below the axes), so it never covers a bar or the label."""
    height = ax.figure.get_size_inches()[1] * ax.get_position().height
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -inches / height), ncol=min(n, 6),
              frameon=False)


def _notes(fig, note: str | None, box):
    """Print the chart's notes and the source under everything drawn (`box`, the figure's tight box in
    inches), wrapped to the figure's width; returns the box grown to hold them."""
    lines = [*getattr(fig, "_perfdata_notes", []), *([note] if note else []), *([_SOURCE] if _SOURCE else [])]
    if not lines:
        return box
    from matplotlib.transforms import Bbox

    w, h = fig.get_size_inches()
    per_line = max(20, int(box.width * 72 / NOTE_SIZE) - 2)
    text = "\n".join(wrap_text for line in lines for wrap_text in textwrap.wrap(line, per_line) or [line])
    t = fig.text(box.x0 / w, (box.y0 - 0.1) / h, text, ha="left", va="top", fontsize=NOTE_SIZE, color="#555555",
                 linespacing=1.4)
    extent = t.get_window_extent(fig.canvas.get_renderer()).transformed(fig.dpi_scale_trans.inverted())
    return Bbox.union([box, extent])


def save(fig, name: str, output_dir: str | Path, show: bool = True, note: str | None = None) -> list[Path]:
    """Write OUTPUT_DIR/charts/NAME.png (150 dpi) and .svg, then show the PNG in a notebook.

    Under the chart: its own notes (what a cap left out), `note`, and the source set with setup(source=…).
    The figure is closed and the saved PNG displayed instead, so a notebook does not draw every
    chart a third time (drawing, not data, is what a report run spends its time on).
    """
    out = Path(output_dir) / "charts"
    out.mkdir(parents=True, exist_ok=True)
    png, svg = out / f"{name}.png", out / f"{name}.svg"
    with plt.rc_context({"font.sans-serif": _fonts_for(fig, note)}):
        # the tight box once for both files (savefig's "tight" draws the whole figure again for each)
        box = _notes(fig, note, fig.get_tightbbox(fig.canvas.get_renderer()))
        box = box.padded(plt.rcParams["savefig.pad_inches"])
        _save_png(fig, png, box)
        fig.savefig(svg, bbox_inches=box, metadata={"Date": None, "Creator": None})
    title = next((ax.get_title() for ax in fig.axes if ax.get_title()), name)
    plt.close(fig)
    if show and _in_notebook():
        import base64

        from IPython.display import display

        data = png.read_bytes()
        width = int.from_bytes(data[16:20], "big")  # PNG IHDR: shown at 100 dpi, like an inline chart
        display({"image/png": base64.b64encode(data).decode("ascii")}, raw=True,
                metadata={"image/png": {"width": round(width * 100 / DPI), "alt": title}})
    return [png, svg]


def _fonts_for(fig, note: str | None = None) -> list[str]:
    """The fonts to draw FIG with: the CJK font alone when it has a glyph for every character of the figure's
    texts and notes (a fallback font in the list costs a third of the drawing time, as each text is laid out
    in both), else the whole list (a character only DejaVu Sans has still shows)."""
    fonts = list(plt.rcParams["font.sans-serif"])
    covered = _covered(_FONT) if _FONT and fonts and fonts[0] == _FONT else None
    if not covered or len(fonts) < 2:
        return fonts
    texts = [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text") and hasattr(a, "get_fontfamily"))]
    texts += [*getattr(fig, "_perfdata_notes", []), note or "", _SOURCE or ""]
    chars = set().union(*map(set, texts)) - set("\n\t ")
    return [_FONT] if all(ord(c) in covered for c in chars) else fonts


@functools.cache
def _covered(family: str) -> frozenset[int] | None:
    """The characters FAMILY's font file has glyphs for (None when it cannot be read)."""
    from matplotlib.ft2font import FT2Font

    try:
        path = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
        return frozenset(FT2Font(path).get_charmap())
    except (ValueError, OSError, RuntimeError):
        return None


def _save_png(fig, png: Path, box) -> None:
    """The chart as a PNG with a 256-colour palette: flat colours and anti-aliased text look the same, and
    the file (and a report embedding it) is about a third of the size. Drawn once to raw pixels and
    compressed once (cheaper than writing a full-colour PNG and converting it)."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="rgba", dpi=DPI, bbox_inches=box)
    data = buf.getvalue()
    n, w0 = len(data) // 4, box.width * DPI
    width = next((w for w in sorted({int(w0), int(w0) + 1, int(w0) - 1, round(w0)}, key=lambda w: abs(w - w0))
                  if w > 0 and n % w == 0), None)
    if width is None:  # cannot tell the size: the plain way
        fig.savefig(png, dpi=DPI, bbox_inches=box, metadata={"Software": None})
        with Image.open(png) as im:
            image = im.convert("RGB")
    else:
        image = Image.frombuffer("RGBA", (width, n // width), data, "raw", "RGBA", 0, 1).convert("RGB")
    image.quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(
        png, format="PNG", dpi=(DPI, DPI))


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and shell.__class__.__name__ == "ZMQInteractiveShell"
