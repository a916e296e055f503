"""Figures draw exactly the table values (read back from the artists)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hsc_research.report import plots


@pytest.fixture
def agree4(codebook):
    return codebook.scales["agree4"]


def _dist(rows):
    return pd.DataFrame(rows, columns=["row", "answer", "pct", "n"])


def test_diverging_bars_widths_and_sides(agree4):
    # Hand-made: row A is 10/20/30/40 (SD/D/A/SA), row B 40/30/20/10.
    labels = ["Strongly disagree", "Disagree", "Agree", "Strongly agree"]
    rows = [("A", lb, v, 50) for lb, v in zip(labels, [10, 20, 30, 40], strict=True)]
    rows += [("B", lb, v, 60) for lb, v in zip(labels, [40, 30, 20, 10], strict=True)]
    fig = plots.diverging_bars(_dist(rows), agree4, "Trust")
    bars = {p.get_gid(): p for p in fig.axes[0].patches if p.get_gid()}
    assert bars["A|Agree"].get_width() == 30 and bars["A|Agree"].get_x() == 0
    assert bars["A|Strongly agree"].get_x() == 30
    assert bars["A|Disagree"].get_x() == -20 and bars["A|Strongly disagree"].get_x() == -30
    assert bars["B|Strongly disagree"].get_x() == -70
    # Row order is the order given: A on top (y = 0), B below.
    assert bars["A|Agree"].get_y() < bars["B|Agree"].get_y()
    assert "n=50" in fig.axes[0].get_yticklabels()[0].get_text()
    assert "A: 70% at the high end" in fig.alt_text


def test_diverging_bars_centre_the_midpoint(codebook):
    scale = codebook.scales["frequency5"]
    labels = scale.labels  # Never .. Very frequently
    rows = [("A", lb, v, 40) for lb, v in zip(labels, [10, 10, 40, 20, 20], strict=True)]
    fig = plots.diverging_bars(_dist(rows), scale, "Frequency")
    bars = {p.get_gid(): p for p in fig.axes[0].patches if p.get_gid()}
    assert bars["A|Sometimes"].get_x() == -20 and bars["A|Sometimes"].get_width() == 40
    assert bars["A|Frequently"].get_x() == 20
    assert bars["A|Never"].get_x() == -40


def test_suppressed_row_is_drawn_empty(agree4):
    rows = [("A", lb, np.nan, np.nan) for lb in agree4.labels]
    fig = plots.diverging_bars(_dist(rows), agree4, "Trust")
    assert not [p for p in fig.axes[0].patches if p.get_gid()]
    assert "suppressed" in fig.axes[0].texts[0].get_text()


def test_matrix_heatmap_masks_diagonal_and_matches_table():
    order = ["a", "b", "c"]
    m = pd.DataFrame({"rater": ["a", "a", "b", "b", "c", "c"], "target": ["b", "c", "a", "c", "a", "b"],
                      "mean": [3.5, 2.0, 1.5, np.nan, 4.0, 3.0], "n": [12, 20, 15, np.nan, 30, 11]})  # fmt: skip
    fig = plots.matrix_heatmap(m, order, {o: o.upper() for o in order}, "Rel")
    grid = fig.cell_values
    assert np.isnan(grid.loc["a", "a"]) and grid.loc["a", "b"] == 3.5 and grid.loc["c", "a"] == 4.0
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "3.50\nn=12" in texts and "supp." in texts
    # The quadmesh holds the drawn colours' values: masked diagonal, table values elsewhere.
    drawn = fig.axes[0].collections[0].get_array()  # 3 x 3, rows = raters
    assert drawn.mask[0, 0] and drawn.mask[1, 2] and drawn[0, 1] == 3.5 and drawn[2, 0] == 4.0
    assert "Lowest: B rating A (1.50)" in fig.alt_text


def test_asymmetry_heatmap_is_antisymmetric():
    asym = pd.DataFrame({"a": ["a"], "b": ["b"], "diff": [0.8], "significant": [True]})
    fig = plots.asymmetry_heatmap(asym, ["a", "b"], {"a": "A", "b": "B"}, "Asym")
    assert fig.cell_values.loc["a", "b"] == 0.8 and fig.cell_values.loc["b", "a"] == -0.8
    assert "+0.80*" in [t.get_text() for t in fig.axes[0].texts]


def test_ranked_chart_plots_site_and_national_values():
    site = pd.DataFrame(
        {"label": ["x", "y"], "estimate": [0.2, 0.6], "ci_low": [0.1, 0.5], "ci_high": [0.3, 0.7]}
    )
    nat = pd.DataFrame(
        {
            "label": ["x", "y"],
            "estimate": [0.4, 0.5],
            "ci_low": [0.35, 0.45],
            "ci_high": [0.45, 0.55],
        }
    )
    fig = plots.ranked_chart(site, nat, "Ranked", "%")
    ax = fig.axes[0]
    # Ordered by the site's estimate: y (60%) first.
    assert [t.get_text() for t in ax.get_yticklabels()] == ["y", "x"]
    site_line, nat_line = ax.lines[0], ax.lines[3]  # each errorbar adds a data line and two caps
    assert list(site_line.get_xdata()) == [pytest.approx(60), pytest.approx(20)]
    assert list(nat_line.get_xdata()) == [pytest.approx(50), pytest.approx(40)]


def test_funnel_plot_points_and_limits():
    fun = pd.DataFrame({"scope": ["s1", "s2"], "n": [50, 200], "k": [10, 80], "estimate": [0.2, 0.4],
                        "national": [0.36, 0.36], "outside": ["below 95%", "within"]})  # fmt: skip
    fig = plots.funnel_plot(fun, "Trust", {"s1": "Site one"})
    offsets = fig.axes[0].collections[0].get_offsets()
    assert offsets[:, 0].tolist() == [50, 200] and offsets[:, 1].tolist() == [
        pytest.approx(20),
        pytest.approx(40),
    ]
    assert any(t.get_text() == "Site one" for t in fig.axes[0].texts)


def test_site_heatmap_stars_significant_cells_after_masking():
    # Once masked, ``significant`` is 1.0 / 0.0 / NaN: 1.0 must still draw a star.
    heat = pd.DataFrame({"scope": ["a", "a", "b", "b"], "indicator": ["x", "y", "x", "y"],
                         "diff": [0.125, -0.02, np.nan, 0.3],
                         "significant": [1.0, 0.0, np.nan, 1.0]})  # fmt: skip
    fig = plots.site_indicator_heatmap(heat, {"a": "A", "b": "B"}, {"x": "X", "y": "Y"}, "t")
    texts = sorted(t.get_text() for t in fig.axes[0].texts)
    # 12.5 points rounds half away from zero: +13, in figures as in text.
    assert texts == ["+13*", "+30*", "-2"]


def test_funnel_plot_draws_the_adjusted_limits_when_overdispersed():
    fun = pd.DataFrame({"scope": ["s1", "s2"], "n": [50, 200], "k": [10, 80], "estimate": [0.2, 0.4],
                        "national": [0.36, 0.36], "outside": ["within", "within"],
                        "adjusted": [True, True], "tau2": [0.01, 0.01]})  # fmt: skip
    fig = plots.funnel_plot(fun, "Trust", {})
    upper95 = fig.axes[0].lines[1]
    n = upper95.get_xdata()[0]
    expected = 0.36 + 1.959964 * np.sqrt(0.36 * 0.64 / n + 0.01)
    assert upper95.get_ydata()[0] == pytest.approx(100 * expected, abs=1e-4)
    assert "overdispersion-adjusted" in fig.alt_text


#: A site name that matplotlib would parse as a (broken) formula.
FORMULA = r"$\frac{1}{$ North"


def _draw(fig) -> None:
    import io

    fig.savefig(io.BytesIO(), format="png")
    plots.plt.close(fig)


def test_bar_labels_from_data_draw_as_plain_text(agree4):
    rows = [(FORMULA, lv, 25.0, 40) for lv in agree4.labels]
    fig = plots.diverging_bars(_dist(rows), agree4, f"Trust, {FORMULA}")
    assert fig.axes[0].get_yticklabels()[0].get_text() == f"{FORMULA} (n=40)"
    _draw(fig)  # mathtext would raise ValueError here


def test_funnel_site_names_draw_as_plain_text():
    fun = pd.DataFrame({"scope": ["s1"], "n": [50], "k": [10], "estimate": [0.2],
                        "national": [0.36], "outside": ["below 95%"]})  # fmt: skip
    fig = plots.funnel_plot(fun, "Trust", {"s1": FORMULA})
    _draw(fig)


def test_heatmap_site_names_draw_as_plain_text():
    svr = pd.DataFrame({"scope": ["s1", "s2"], "indicator": ["i1", "i1"], "diff": [0.1, -0.1],
                        "significant": [True, False]})  # fmt: skip
    fig = plots.site_indicator_heatmap(svr, {"s1": FORMULA, "s2": "$x$"}, {"i1": "$y$"}, "Sites")
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels == [FORMULA, "$x$"]
    _draw(fig)


def test_plain_text_leaves_matplotlib_settings_as_they_were(agree4):
    before = plots.matplotlib.rcParams["text.parse_math"]
    plots.diverging_bars(_dist([("a", lv, 25.0, 40) for lv in agree4.labels]), agree4, "t")
    assert plots.matplotlib.rcParams["text.parse_math"] == before


def _decorations_inside(fig) -> tuple[np.ndarray, np.ndarray]:
    """The figure's decorations as matplotlib itself measures them when drawing
    (inches), and the figure's size."""
    fig.canvas.draw()
    box = fig.get_tightbbox(fig.canvas.get_renderer())
    return np.array(box.extents), fig.get_size_inches()


def test_fitted_margins_keep_long_labels_inside_the_figure():
    label = "A factor with a long label that wraps onto a second line of text"
    d = pd.DataFrame({"label": [label, "Short"], "estimate": [0.5, 0.2],
                      "ci_low": [0.4, 0.1], "ci_high": [0.6, 0.3]})  # fmt: skip
    fig = plots.ranked_chart(None, d, "Title", "% frequently")
    (x0, y0, x1, y1), (w, h) = _decorations_inside(fig)
    assert x0 >= 0 and y0 >= 0 and x1 <= w and y1 <= h
    # The margins tight_layout would give (its own measurement), within 0.15 inch.
    mine = fig.subplotpars.left * w
    fig.tight_layout()
    assert abs(mine - fig.subplotpars.left * w) < 0.15


def test_fitted_margins_make_room_for_a_heatmap_colourbar():
    order = ["asc", "gp"]
    m = pd.DataFrame(
        {"rater": ["asc", "gp"], "target": ["gp", "asc"], "mean": [3.5, 2.0], "n": [12, 20]}
    )
    labels = {"asc": "Adult social care staff", "gp": "General practitioners"}
    fig = plots.matrix_heatmap(m, order, labels, "Relationships")
    (x0, y0, x1, y1), (w, h) = _decorations_inside(fig)
    assert x0 >= 0 and y0 >= 0 and x1 <= w and y1 <= h
    assert fig.axes[1].get_label() == "<colorbar>"
    # The colourbar's label is inside the figure, right of the colourbar.
    assert fig.axes[1].get_position().x1 < 1


def test_funnel_plot_draws_the_limits_it_is_given():
    fun = pd.DataFrame({"scope": ["s1"], "n": [50], "k": [10], "estimate": [0.2],
                        "national": [0.3], "outside": ["within"]})  # fmt: skip
    limits = pd.DataFrame({"at_base": [40.0, 60.0], "lo95": [0.10, 0.15], "hi95": [0.50, 0.45],
                           "lo998": [0.05, 0.08], "hi998": [0.60, 0.55]})  # fmt: skip
    lines = plots.funnel_plot(fun, "Trust", {}, limits).axes[0].lines
    assert lines[0].get_xdata().tolist() == [40.0, 60.0]
    assert lines[0].get_ydata().tolist() == [pytest.approx(10), pytest.approx(15)]
    assert lines[3].get_ydata().tolist() == [pytest.approx(60), pytest.approx(55)]


def _indicators(scope_rows):
    return pd.DataFrame(scope_rows, columns=["indicator", "label", "wave", "estimate", "ci_low",
                                             "ci_high"])  # fmt: skip


def _trend_panels(fig):
    """Each panel of a trend chart as drawn: its title and the data y of its frame's
    bottom (0%) and top (100%), first panel first."""
    ax = fig.axes[0]
    frames = next(c for c in ax.collections if c.get_label() == "_frames")
    edges = [(seg[:, 1].min(), seg[:, 1].max()) for seg in frames.get_segments()]
    titles = [t.get_text() for t in ax.texts if t.get_label() == "_panel_title"]
    return list(zip(titles, edges, strict=True))


def test_trend_chart_draws_each_wave_of_each_indicator():
    nat = _indicators([("a", "Trust A", 2017, 0.40, 0.35, 0.45),
                       ("a", "Trust A", 2019, 0.50, 0.45, 0.55),
                       ("b", "Ties B", 2017, 0.20, 0.15, 0.25),
                       ("b", "Ties B", 2019, 0.30, 0.25, 0.35)])  # fmt: skip
    # The site has no 2017 value for b (suppressed): a gap, not a zero.
    site = _indicators([("a", "Trust A", 2017, 0.10, 0.02, 0.20),
                        ("a", "Trust A", 2019, 0.60, 0.50, 0.70),
                        ("b", "Ties B", 2019, 0.90, 0.80, 0.95)])  # fmt: skip
    fig = plots.trend_chart(site, nat, [2017, 2019], "Trends")
    (title_a, (a0, a100)), (title_b, (b0, b100)) = _trend_panels(fig)
    assert (title_a, title_b) == ("Trust A", "Ties B")
    assert a100 - a0 == pytest.approx(100) and b100 - b0 == pytest.approx(100)
    ax = fig.axes[0]
    # Each errorbar draws its data line first, then two caps: site, then all sites.
    # A panel's points are its percentages above its frame's bottom, one per wave (the
    # site just left of the wave, all sites just right); NaN ends a panel.
    site_line, nat_line = ax.lines[0], ax.lines[3]
    site_x, site_y = site_line.get_xdata(), site_line.get_ydata()
    nat_x, nat_y = nat_line.get_xdata(), nat_line.get_ydata()
    assert site_x[[0, 1, 3, 4]].tolist() == [pytest.approx(-0.04), pytest.approx(0.96)] * 2
    assert nat_x[[0, 1, 3, 4]].tolist() == [pytest.approx(0.04), pytest.approx(1.04)] * 2
    assert (site_y[:2] - a0).tolist() == [pytest.approx(10), pytest.approx(60)]
    assert (nat_y[:2] - a0).tolist() == [pytest.approx(40), pytest.approx(50)]
    assert np.isnan(site_y[2]) and np.isnan(site_y[3])  # panel end; b's 2017 gap
    assert site_y[4] - b0 == pytest.approx(90)
    assert (nat_y[3:5] - b0).tolist() == [pytest.approx(20), pytest.approx(30)]
    # The site's intervals, by position: (x, low, high) above each panel's 0%.
    drawn = [(seg[0, 0], *(seg[:, 1])) for seg in ax.collections[0].get_segments() if len(seg)]
    expected = [(-0.04, a0 + 2, a0 + 20), (0.96, a0 + 50, a0 + 70), (0.96, b0 + 80, b0 + 95)]
    assert drawn == [tuple(pytest.approx(v) for v in row) for row in expected]
    assert fig.series[("b", "national")].tolist() == [pytest.approx(20), pytest.approx(30)]


def test_trend_chart_labels_waves_once_and_keeps_its_legend_inside():
    nat = _indicators([(i, f"Indicator {i}", w, 0.5, 0.4, 0.6)
                       for i in "abc" for w in (2014, 2017, 2019)])  # fmt: skip
    fig = plots.trend_chart(nat.copy(), nat, [2014, 2017, 2019], "Trends")
    ax = fig.axes[0]
    assert len(fig.axes) == 1
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2014", "2017", "2019"]
    scale = [t.get_text() for t in ax.texts if t.get_label() == "_panel_scale"]
    assert scale == ["0%", "50%", "100%"] * 3
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["This site", "All sites"]
    (x0, y0, x1, y1), (w, h) = _decorations_inside(fig)
    assert x0 >= 0 and y0 >= 0 and x1 <= w and y1 <= h


def _title_layout(fig):
    """Display boxes of the suptitle and each panel title, each panel's frame (bottom,
    top) in display y, and the title pad in pixels."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    to_y = lambda v: ax.transData.transform((0, v))[1]  # noqa: E731
    titles = [t.get_window_extent(renderer) for t in ax.texts if t.get_label() == "_panel_title"]
    frames = [(to_y(b), to_y(t)) for _, (b, t) in _trend_panels(fig)]
    pad = plots.matplotlib.rcParams["axes.titlepad"] * fig.dpi / 72
    return fig._suptitle.get_window_extent(renderer), titles, frames, pad


@pytest.mark.parametrize("words", [12, 25])  # titles of two and of three or four lines
def test_trend_chart_titles_sit_between_panels_without_overlap(words):
    long = " ".join(["indicator"] * words)
    nat = _indicators([(i, label, 2019, 0.5, 0.4, 0.6)
                       for i, label in (("a", "Short"), ("b", long), ("c", long))])  # fmt: skip
    fig = plots.trend_chart(None, nat, [2019], "Trends")
    suptitle, titles, frames, pad = _title_layout(fig)
    assert fig.axes[0].texts[1].get_text().count("\n") >= 1
    for k, (box, (_, top)) in enumerate(zip(titles, frames, strict=True)):
        # Over its own frame, by the title pad (as an Axes title sits) ...
        assert top - 1 <= box.y0 <= top + pad + 0.25 * 13 * fig.dpi / 72
        # ... and clear of the frame or suptitle above it.
        assert box.y1 < (frames[k - 1][0] if k else suptitle.y0)
    # The panels keep the same height on the page, whatever their titles.
    heights = [top - bottom for bottom, top in frames]
    assert max(heights) - min(heights) < 0.5
    short = plots.trend_chart(None, nat.assign(label="Short"), [2019], "Trends")
    _, _, short_frames, _ = _title_layout(short)
    assert heights[0] == pytest.approx(short_frames[0][1] - short_frames[0][0], abs=1)


def test_trend_chart_suptitle_stays_clear_of_the_first_title_in_a_tall_figure():
    nat = _indicators([(f"i{k}", f"Indicator {k}", 2019, 0.5, 0.4, 0.6) for k in range(15)])
    fig = plots.trend_chart(None, nat, [2019], "Trends")
    suptitle, titles, _, _ = _title_layout(fig)
    assert suptitle.y0 > titles[0].y1
    (x0, y0, x1, y1), (w, h) = _decorations_inside(fig)
    assert y1 <= h


def test_asymmetry_colourbar_label_fits_in_the_figure(codebook):
    order = [p.id for p in codebook.professions]
    labels = {p.id: p.short for p in codebook.professions}
    asym = pd.DataFrame({"a": order[:-1], "b": order[1:], "diff": 0.3, "significant": False})
    fig = plots.asymmetry_heatmap(asym, order, labels, "Asymmetry of relationships, a site")
    (x0, y0, x1, y1), (w, h) = _decorations_inside(fig)
    assert x0 >= 0 and y0 >= 0 and x1 <= w and y1 <= h
    # Antisymmetric cells, read back from the drawn mesh (rows are raters).
    drawn = fig.axes[0].collections[0].get_array().reshape(len(order), len(order))
    assert drawn[0, 1] == pytest.approx(0.3) and drawn[1, 0] == pytest.approx(-0.3)


def test_rating_heatmap_colourbar_ticks_are_the_scale_points():
    m = pd.DataFrame({"rater": ["a", "b"], "target": ["b", "a"], "mean": [2.5, 4.0], "n": [20, 30]})
    fig = plots.matrix_heatmap(m, ["a", "b"], {"a": "A", "b": "B"}, "Ties")
    bar = fig.axes[1]
    fig.canvas.draw()
    shown = [t for t in bar.get_yticks() if 1 <= t <= 5]
    assert shown == [1, 2, 3, 4, 5]


def test_funnel_legend_sits_below_the_plot_not_over_its_sites():
    fun = pd.DataFrame({"scope": ["s1", "s2"], "n": [50, 200], "k": [18, 72],
                        "estimate": [0.36, 0.36], "national": [0.36, 0.36],
                        "outside": ["within", "within"]})  # fmt: skip
    fig = plots.funnel_plot(fun, "Trust", {})
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legend = fig.legends[0].get_window_extent(renderer)
    plot = fig.axes[0].get_tightbbox(renderer)
    assert legend.y1 <= plot.y0
    (x0, y0, x1, y1), (w, h) = _decorations_inside(fig)
    assert x0 >= 0 and y0 >= 0 and x1 <= w and y1 <= h


def test_trend_chart_refuses_a_wave_given_twice():
    nat = _indicators([("a", "Trust A", 2019, 0.50, 0.45, 0.55),
                       ("a", "Trust A", 2019, 0.90, 0.80, 0.95)])  # fmt: skip
    with pytest.raises(ValueError, match="indicator 'a' in wave 2019 more than once"):
        plots.trend_chart(None, nat, [2019], "Trends")
