"""Charts a briefing can use as they are: Chinese text in a bundled CJK font, titles, units, sorted bars.

The font is Noto Sans SC from the `pylopdf-fonts-zh-cn` package (SIL OFL 1.1), installed with the
notebooks extra, so charts render the same on a fresh machine as here; `setup()` registers it with
matplotlib. `save()` writes each chart as PNG (150 dpi) and SVG (text as paths, so the SVG shows
the same glyphs without the font), with fixed metadata so re-runs give the same files.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib import font_manager
from matplotlib.ticker import MaxNLocator

DPI = 150
PALETTE = ["#3B6EA8", "#D9822B", "#5B9E4D", "#C0392B", "#8E6BB0", "#7F8C8D"]
SEVERITY_COLORS = {"high": "#C0392B", "medium": "#E67E22", "low": "#F1C40F"}
SEVERITY_NAMES = {"high": "高", "medium": "中", "low": "低"}
_FONT: str | None = None


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


def setup() -> str | None:
    """Register the CJK font and the house style with matplotlib; returns the font's family name."""
    global _FONT
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
    """A group key (tuple of parts) as one label; a missing part reads （未填）."""
    return " · ".join("（未填）" if p is None or (not isinstance(p, str) and pd.isna(p)) else str(p) for p in parts)


def _labels(index, width: int) -> list[str]:
    return [wrap(_label(*i) if isinstance(i, tuple) else _label(i), width) for i in index]


def bar(values: pd.Series, title: str, unit: str, *, sort: bool = True, threshold: float | None = None,
        threshold_label: str | None = None, color=None, value_format: str = "{:,.1f}", wrap_width: int = 20,
        ax=None):
    """Horizontal bars, largest on top, each labelled with its value; `unit` goes on the value axis."""
    setup()
    s = pd.to_numeric(values, errors="coerce").astype(float)
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
    if len(s) and s.max() > 0:
        ax.set_xlim(0, s.max() * 1.15)
    if threshold is not None:
        ax.axvline(threshold, color=PALETTE[3], linestyle="--", linewidth=1,
                   label=threshold_label or f"{threshold:g}")
        ax.legend(loc="lower right", fontsize=8)
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
            ax=None):
    """Points of two measures, one colour per group (e.g. region)."""
    setup()
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 4.5))
    else:
        fig = ax.figure
    groups = [(None, df)] if group is None else list(df.groupby(group, sort=True, dropna=False))
    for k, (name, d) in enumerate(groups):
        ax.scatter(d[x].astype(float), d[y].astype(float), s=36, alpha=0.8, color=PALETTE[k % len(PALETTE)],
                   label=None if name is None else str(name), edgecolor="white", linewidth=0.5)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if group is not None:
        ax.legend(fontsize=8)
    return fig


def stacked(table: pd.DataFrame, title: str, unit: str, *, colors: dict | None = None, wrap_width: int = 16,
            ax=None):
    """Horizontal stacked bars: rows are groups, columns the parts (e.g. severities or grades)."""
    setup()
    t = table.astype(float)
    t.index = _labels(t.index, wrap_width)
    t = t.loc[t.sum(axis=1).sort_values(ascending=True, kind="stable").index]
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
        ax.text(total, i, f" {total:,.0f}", va="center", fontsize=8)
    ax.set_yticks(range(len(t)), t.index)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if len(t) and left.max() > 0:
        ax.set_xlim(0, left.max() * 1.12)
    ax.set_xlabel(unit)
    ax.set_title(title)
    ax.grid(axis="y", visible=False)
    _legend_below(ax, len(t.columns), 0.6)
    return fig


def grouped(table: pd.DataFrame, title: str, unit: str, *, value_format: str = "{:,.1f}", ax=None):
    """Vertical grouped bars: one group per row (e.g. region · year), one bar per column."""
    setup()
    t = table.astype(float)
    labels = _labels(t.index, 12)
    if ax is None:
        fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(t) * max(1, len(t.columns)) / 2 + 2), 4.2))
    else:
        fig = ax.figure
    n = max(1, len(t.columns))
    width = 0.8 / n
    for k, col in enumerate(t.columns):
        xs = [i + (k - (n - 1) / 2) * width for i in range(len(t))]
        bars = ax.bar(xs, t[col].fillna(0).to_numpy(), width=width, color=PALETTE[k % len(PALETTE)], label=str(col))
        ax.bar_label(bars, labels=["" if pd.isna(v) else value_format.format(v) for v in t[col]], fontsize=7,
                     padding=2)
    ax.set_xticks(range(len(t)), labels)
    ax.set_ylabel(unit)
    ax.set_title(title)
    ax.grid(axis="x", visible=False)
    if n > 1:
        lines = max(str(label).count("\n") + 1 for label in labels) if labels else 1
        _legend_below(ax, n, 0.45 + 0.2 * lines)
    return fig


def _legend_below(ax, n: int, inches: float):
    """Legend under the axis label (`inches` below the axes), so it never covers a bar or the label."""
    height = ax.figure.get_size_inches()[1] * ax.get_position().height
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -inches / height), ncol=min(n, 6),
              frameon=False)


def save(fig, name: str, output_dir: str | Path, show: bool = True) -> list[Path]:
    """Write OUTPUT_DIR/charts/NAME.png (150 dpi) and .svg, then show the PNG in a notebook.

    The figure is closed and the saved PNG displayed instead, so a notebook does not draw every
    chart a third time (drawing, not data, is what a report run spends its time on).
    """
    out = Path(output_dir) / "charts"
    out.mkdir(parents=True, exist_ok=True)
    png, svg = out / f"{name}.png", out / f"{name}.svg"
    # the tight box once for both files (savefig's "tight" draws the whole figure again for each)
    box = fig.get_tightbbox(fig.canvas.get_renderer()).padded(plt.rcParams["savefig.pad_inches"])
    fig.savefig(png, dpi=DPI, bbox_inches=box, metadata={"Software": None})
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


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and shell.__class__.__name__ == "ZMQInteractiveShell"
