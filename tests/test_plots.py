"""Charts: the bundled CJK font resolves and has every glyph the documents use; files are PNG 150 dpi + SVG."""

from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from matplotlib import font_manager
from matplotlib.ft2font import FT2Font
from PIL import Image

from perfdata.report import analysis, plots


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_the_bundled_font_is_registered_and_resolves():
    path = plots.font_path()
    assert path is not None and path.exists(), "pip install the notebooks extra (pylopdf-fonts-zh-cn)"
    name = plots.setup()
    assert name == "Noto Sans SC"
    found = font_manager.findfont(font_manager.FontProperties(family=name), fallback_to_default=False)
    assert found == str(path)
    assert plt.rcParams["font.sans-serif"][0] == name


def test_font_has_a_glyph_for_every_character_of_the_bundled_documents(bundled):
    font = FT2Font(str(plots.font_path()))
    forms = bundled["forms"]
    text = "".join(pd.concat([forms[c].dropna() for c in ("region", "department", "unit", "project_name")]))
    text += "".join(bundled["indicators"]["level1"].dropna().unique()) + "（%）万元·优良中差"
    missing = sorted({ch for ch in text if not ch.isspace() and font.get_char_index(ord(ch)) == 0})
    assert not missing, f"no glyph for {missing}"


def test_charts_render_chinese_without_missing_glyphs(tmp_path, bundled):
    rates = analysis.rate_by(bundled["forms"], ["region", "unit"]).set_index(["region", "unit"])["rate_weighted"]
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*[Gg]lyph.*missing.*")
        warnings.filterwarnings("error", message=".*findfont.*")
        fig = plots.bar(rates, "各实施单位预算执行率", "执行率（%）", threshold=90, threshold_label="90% 阈值")
        png, svg = plots.save(fig, "rates", tmp_path)
    assert png == tmp_path / "charts" / "rates.png" and svg.suffix == ".svg"
    with Image.open(png) as im:
        assert im.info["dpi"] == pytest.approx((150, 150), abs=0.1)
        assert im.width > 900  # 8 in at 150 dpi, trimmed to the drawing
    body = svg.read_text(encoding="utf-8")
    assert "<text" not in body and "<path" in body  # glyphs as paths: viewers need no font


def test_glyph_warning_is_what_the_check_catches(tmp_path):
    """A font without CJK glyphs must make the check above fail (so it is not a test that cannot fail)."""
    fig, ax = plt.subplots()
    ax.set_title("执行率", fontfamily="DejaVu Sans")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.savefig(tmp_path / "x.png")
    assert any("missing" in str(w.message).lower() for w in caught)


def test_a_chart_is_drawn_in_the_cjk_font_alone_unless_a_character_needs_the_fallback(tmp_path):
    """One font instead of two lays each text out once (a third of the drawing time); a character only DejaVu
    Sans has ('Ḃ', U+1E02) keeps the fallback, and still draws without a missing glyph."""
    plots.setup()
    assert plt.rcParams["font.sans-serif"] == ["Noto Sans SC", "DejaVu Sans"]
    fig = plots.bar(pd.Series([95.0, 80.5], index=["档案管理", "就业补助 ≥90%"]), "执行率", "执行率（%）")
    assert plots._fonts_for(fig) == ["Noto Sans SC"]
    assert plots._fonts_for(fig, note="注：Ḃ") == ["Noto Sans SC", "DejaVu Sans"]
    fig.axes[0].set_title("执行率 Ḃ")
    assert plots._fonts_for(fig) == ["Noto Sans SC", "DejaVu Sans"]
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*[Gg]lyph.*missing.*")
        plots.save(fig, "fallback", tmp_path)
    assert plt.rcParams["font.sans-serif"] == ["Noto Sans SC", "DejaVu Sans"]  # as it was


def test_bars_are_sorted_largest_on_top_and_labelled():
    fig = plots.bar(pd.Series({"乙": 50.0, "甲": 99.5, "丙": 7.6}), "标题", "执行率（%）")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["丙", "乙", "甲"]  # barh: bottom to top
    assert ax.get_xlabel() == "执行率（%）" and ax.get_title() == "标题"
    assert sorted(t.get_text() for t in ax.texts) == ["50.0", "7.6", "99.5"]


def test_labels_of_negative_bars_stay_inside_the_axes():
    """Budgets cut by 86.7 % and 19.7 % (新乡县's adjustments): the labels left of the bars are not drawn
    over the category names."""
    fig = plots.bar(pd.Series({("新乡县", "事业单位招聘"): -86.7, ("新乡县", "建档立卡优秀务工人员奖补"): -19.7}),
                    "全年预算相对年初预算的调整幅度", "调整幅度（%）", value_format="{:,.1f}%", keep="abs")
    ax = fig.axes[0]
    fig.canvas.draw()
    left = ax.get_window_extent().x0
    assert sorted(t.get_text() for t in ax.texts) == ["-19.7%", "-86.7%"]
    assert all(t.get_window_extent().x0 >= left for t in ax.texts)


def test_labels_of_group_keys_and_missing_parts():
    fig = plots.bar(pd.Series([1.0, 2.0], index=pd.MultiIndex.from_tuples([("兴隆县", None), ("新乡县", "监察大队")])),
                    "t", "u")
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["兴隆县 · 未填", "新乡县 · 监察大队"]


def test_saved_files_are_the_same_on_a_rerun(tmp_path):
    paths = []
    for k in range(2):
        money = pd.DataFrame({"预算数": [1.0, 2.0], "执行数": [1.0, 1.5]}, index=["兴隆县", "新乡县"])
        fig = plots.grouped(money, "资金", "金额（万元）")
        paths.append(plots.save(fig, f"money{k}", tmp_path))
    assert paths[0][0].read_bytes() == paths[1][0].read_bytes()
    assert paths[0][1].read_bytes() == paths[1][1].read_bytes()


def test_bars_are_capped_with_a_note_of_the_rest():
    values = pd.Series({f"项目{k:02d}": float(k) for k in range(100)})
    fig = plots.bar(values, "t", "执行率（%）", limit=30, keep="smallest", more="全部见 tables/x.csv")
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert len(labels) == 30 and "项目00" in labels and "项目99" not in labels
    assert fig._perfdata_notes == ["共 100 项，图中列数值最小的 30 项，其余 70 项未列出（全部见 tables/x.csv）。"]
    gaps = plots.bar(pd.Series({"甲": 3.0, "乙": 0.0, "丙": 0.004}), "t", "分", drop_zero=True)
    assert [t.get_text() for t in gaps.axes[0].get_yticklabels()] == ["甲"]  # no bar of nothing


def test_stacked_keeps_the_largest_groups_and_counts_the_rest():
    table = pd.DataFrame({"high": range(50), "low": [1] * 50}, index=[f"部门{k}" for k in range(50)])
    fig = plots.stacked(table, "t", "问题数（条）", limit=30)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == 31 and labels[0] == "其余 20 项" and labels[-1] == "部门49"
    rest = sum(range(20)) + 20
    assert any(f"合计 {rest:,}（高 {sum(range(20))}、低 20）" in t.get_text() for t in ax.texts)
    assert ax.get_xlim()[1] < 60  # the rest is not a bar that dwarfs the others


def test_scatter_counts_points_on_the_same_spot():
    df = pd.DataFrame({"x": [100.0] * 34 + [80.0, 80.04], "y": [100.0] * 34 + [95.0, 95.0],
                       "g": ["兴隆县"] * 20 + ["新乡县"] * 14 + ["固原市"] * 2})
    fig = plots.scatter(df, "x", "y", "t", "执行率（%）", "自评总分（分）", group="g")
    ax = fig.axes[0]
    assert len(ax.collections[0].get_offsets()) == 2  # 36 forms on two spots
    assert {t.get_text() for t in ax.texts} == {"34", "2"}
    assert any("处 34 份：兴隆县 20、新乡县 14" in n for n in fig._perfdata_notes)
    legend_titles = [lg.get_title().get_text() for lg in ax.findobj(plt.matplotlib.legend.Legend)]
    assert "同一位置的表单数" in legend_titles and "地区" in legend_titles


def test_binned_bars_label_counts_and_shares(tmp_path):
    bins = analysis.rate_bins(pd.DataFrame({"exec_rate": [50.0, 100.0, 100.0, 101.0]}))
    fig = plots.binned(bins, "执行率分布", "执行率区间")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()][3] == "100%"
    assert "2 份（50.0%）" in [t.get_text() for t in ax.texts]
    plots.setup(source="来源：测试")
    png, _ = plots.save(fig, "bins", tmp_path, show=False)
    with Image.open(png) as im:
        assert im.mode == "P" and im.info["dpi"] == pytest.approx((150, 150), abs=0.1)  # palette PNG, small
    assert any(t.get_text().endswith("来源：测试") for t in fig.texts)
    plots.setup(source="")
