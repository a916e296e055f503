"""Report figures (matplotlib; heatmaps drawn as seaborn draws them), drawn from aggregate tables.

Every function returns a :class:`matplotlib.figure.Figure` with a title, axis labels and
alt text (``fig.alt_text``). Data are passed to matplotlib in the order they are drawn,
never through seaborn's ``hue`` (which can misassign groups in seaborn 0.13.2); tests
read the drawn values back from the artists. Colours come from the Okabe-Ito
colour-blind-safe palette and ColorBrewer diverging maps.
"""

from __future__ import annotations

import functools
import itertools

# No backend is chosen here: a library leaves that to its user. Report kernels
# get MPLBACKEND=Agg from the build (hsc_research.report.engine).
import matplotlib
import matplotlib.colors
import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import pandas as pd
from matplotlib import transforms
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.text import Text

from hsc_research.instrument import Codebook, Scale, load_codebook
from hsc_research.report import layout
from hsc_research.report.formatting import fixed, pct_value, signed
from hsc_research.report.lookup import first_values

#: Okabe-Ito palette (colour-blind safe).
OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000")
SITE_COLOUR, NATIONAL_COLOUR = "#0072B2", "#E69F00"


#: Text sizes for report figures. A report shows a 9-inch figure at its natural width
#: (about 860 px), where 12 pt is 16 px: never smaller than the body text. Titles sit
#: just above their Axes (``axes.titley``), where matplotlib would put them anyway (no
#: plot draws ticks above an Axes), without measuring the Axes again at every draw.
READABLE = {"font.size": 12, "axes.titlesize": 13, "axes.labelsize": 12, "xtick.labelsize": 12,
            "ytick.labelsize": 12, "legend.fontsize": 11, "figure.titlesize": 13,
            "axes.titley": 1.0}  # fmt: skip


def readable(fn):
    """Draw ``fn``'s figure with :data:`READABLE` text sizes (local to the call: no
    global matplotlib state changes)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with plt.rc_context(READABLE):
            return fn(*args, **kwargs)

    return wrapper


def plain_text(draw):
    """Decorator of figure functions: every text drawn is plain text, never mathtext.

    Site names and codebook labels come from the data: one holding ``$\\frac{1}{$``
    would otherwise be parsed as a formula and stop the report. Text objects created
    while the figure is drawn (titles, tick labels, legend entries, annotations, also
    those seaborn adds) get ``parse_math=False`` through ``text.parse_math``; the
    setting is restored afterwards.
    """

    @functools.wraps(draw)
    def wrapper(*args, **kwargs) -> Figure:
        with matplotlib.rc_context({"text.parse_math": False}):
            return draw(*args, **kwargs)

    return wrapper


def _finish(fig: Figure, alt: str) -> Figure:
    fig.alt_text = alt
    # Leave room at the bottom for a figure-level legend (inches to a figure fraction).
    bottom = getattr(fig, "legend_height", 0.0) / fig.get_figheight()
    # tight_layout's margins, from the measured text alone: tight_layout itself lays
    # out every artist, as costly as the drawing that follows (report/layout.py).
    layout.fit(fig, rect=(0, bottom, 1, 1))
    return fig


def _palette(name: str, n: int) -> list[tuple[float, float, float]]:
    """``n`` colours spread over a matplotlib colour map, its ends left out (as
    ``seaborn.color_palette(name, n)`` gives them)."""
    cmap = matplotlib.colormaps[name]
    return [tuple(c) for c in cmap(np.linspace(0, 1, n + 2)[1:-1])[:, :3]]


def _crowded(labels: list[str], text_size: float, spacing: float) -> bool:
    """Whether labels of ``text_size`` pt, side by side ``spacing`` pt apart, overlap."""
    probe = Text(fontsize=text_size)
    widths = []
    for label in labels:
        probe.set_text(label)
        widths.append(layout.text_size(probe)[0])
    return any((a + b) / 2 > spacing for a, b in itertools.pairwise(widths))


def _heatmap(ax, grid: pd.DataFrame, annot, *, cmap: str, vmin: float, vmax: float,
             center: float | None = None, mask=None, cbar_label: str,
             xticklabels: list[str], yticklabels: list[str], annot_size: float | None = None) -> None:  # fmt: skip
    """A heatmap drawn as ``seaborn.heatmap`` draws it (same colours, annotation colours,
    colourbar, ticks and label rotation), without the full drawing of the figure seaborn
    makes to decide whether tick labels overlap: their widths are measured instead."""
    values = grid.to_numpy(dtype=float)
    hidden = np.isnan(values) if mask is None else (np.asarray(mask, dtype=bool) | np.isnan(values))
    data = np.ma.masked_where(hidden, values)
    colours = matplotlib.colormaps[cmap]
    if center is not None:  # seaborn's recentring of a diverging map
        bad = colours(np.ma.masked_invalid([np.nan]))[0]
        under, over = colours(-np.inf), colours(np.inf)
        under_set = under != colours(0)
        over_set = over != colours(colours.N - 1)
        vrange = max(vmax - center, center - vmin)
        cmin, cmax = matplotlib.colors.Normalize(center - vrange, center + vrange)([vmin, vmax])
        colours = matplotlib.colors.ListedColormap(colours(np.linspace(cmin, cmax, 256)))
        colours = colours.with_extremes(
            bad=bad, under=under if under_set else None, over=over if over_set else None
        )
    for spine in ax.spines.values():
        spine.set_visible(False)
    mesh = ax.pcolormesh(data, cmap=colours, vmin=vmin, vmax=vmax, linewidths=0, edgecolor="white")
    rows, cols = values.shape
    ax.set(xlim=(0, cols), ylim=(0, rows))
    ax.invert_yaxis()
    bar = ax.get_figure().colorbar(mesh, None, ax, label=cbar_label)
    bar.outline.set_linewidth(0)
    # Five or so colourbar ticks (1 to 5 for a rating), not matplotlib's nine: each
    # tick is several artists to lay out and draw.
    bar.locator = matplotlib.ticker.MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10])
    ax.set(xticks=np.arange(cols) + 0.5, yticks=np.arange(rows) + 0.5)
    # Cells are named by their labels; tick marks at their centres add nothing.
    ax.tick_params(left=False, bottom=False)
    xtl = ax.set_xticklabels(xticklabels)
    ytl = ax.set_yticklabels(yticklabels, rotation="vertical", va="center")
    width, height = ax.get_position().size * ax.get_figure().get_size_inches() * 72
    if _crowded(xticklabels, xtl[0].get_fontsize() if xtl else 12, width / max(cols, 1)):
        for t in xtl:
            t.set_rotation("vertical")
    if _crowded(yticklabels, ytl[0].get_fontsize() if ytl else 12, height / max(rows, 1)):
        for t in ytl:
            t.set_rotation("horizontal")
    mesh.update_scalarmappable()
    annot = np.asarray(annot)
    extra = {} if annot_size is None else {"fontsize": annot_size}
    rgb = mesh.get_facecolors()[:, :3]
    lum = np.where(rgb <= 0.03928, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4) @ [
        0.2126,
        0.7152,
        0.0722,
    ]
    for k, (i, j) in enumerate(np.ndindex(rows, cols)):
        if not hidden[i, j]:
            ax.text(j + 0.5, i + 0.5, f"{annot[i, j]}", color=".15" if lum[k] > 0.408 else "w",
                    ha="center", va="center", **extra)  # fmt: skip


@readable
@plain_text
def diverging_bars(
    dist: pd.DataFrame,
    scale: Scale | Codebook | None = None,
    title: str | None = None,
    label_col: str = "row",
) -> Figure:
    """Diverging stacked bars of answer percentages.

    Parameters
    ----------
    dist
        One row per bar and answer level: ``answer`` (or ``level``, as
        :func:`hsc_research.likert_distribution` gives it), ``pct`` (of substantive
        answers) and ``n``. The bar label is ``label_col`` when the table has it (drawn
        top to bottom in order of first appearance); otherwise it is made from the
        breakdown fields and the item (``"manager: asc"``). Bars with missing ``pct``
        are drawn empty and labelled suppressed.
    scale
        The scale: bars split between the low and high ends; a midpoint level is split
        half either side of zero (frequency5 centres on Sometimes). A codebook (or
        ``None``, the packaged one) gives the scale of ``dist["question"]``.
    title
        Figure title (default: the question's short title).
    label_col
        Column with the bar labels.

    Returns
    -------
    Figure
        Each drawn rectangle carries ``gid`` = ``"<row>|<answer>"`` so tests can read
        values back.

    Examples
    --------
    >>> from hsc_research.instrument import load_codebook
    >>> dist = pd.DataFrame({"question": "trust", "item": "gp", "level": [
    ...     "Strongly disagree", "Disagree", "Agree", "Strongly agree"],
    ...     "pct": [10.0, 20.0, 40.0, 30.0], "n": 50})
    >>> fig = diverging_bars(dist)
    >>> {p.get_gid(): float(p.get_width()) for p in fig.axes[0].patches}["gp|Agree"]
    40.0
    """
    if not isinstance(scale, Scale) or title is None:
        codebook = scale if isinstance(scale, Codebook) else load_codebook()
        question = codebook.question(str(dist["question"].iloc[0]))
        scale = scale if isinstance(scale, Scale) else codebook.scales[question.scale]
        title = title if title is not None else question.short
    if "answer" not in dist.columns:
        dist = dist.assign(answer=dist["level"].astype(str))
    if label_col not in dist.columns:
        stat_cols = {"question", "item", "level", "answer", "code", "count", "n", "pct",
                     "suppressed", "measure"}  # fmt: skip
        by = [c for c in dist.columns if c not in stat_cols]
        label = dist["item"].astype(str)
        if by:
            prefix = dist[by].astype(str).agg(", ".join, axis=1)
            label = prefix + ": " + label
        dist = dist.assign(**{label_col: label})
    rows = list(dict.fromkeys(dist[label_col]))
    levels = scale.labels
    colours = _palette("RdBu", len(levels))
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(rows) + 1.6))
    wide = dist.pivot_table(
        index=label_col, columns="answer", values="pct", aggfunc="first", sort=False, dropna=False
    )
    n = dist.groupby(label_col, sort=False)["n"].first()
    mid = scale.midpoint
    mid_label = scale.label_of(mid) if mid is not None else None
    low_levels = [
        lv.label
        for lv in scale.levels
        if mid is not None and lv.code < mid or mid is None and lv.code in scale.low
    ]
    high_levels = [lv for lv in levels if lv not in low_levels and lv != mid_label]
    grid = wide.reindex(index=rows, columns=levels)  # a row with no answers: all missing
    drawn = ~grid.isna().all(axis=1)
    for y, row in enumerate(rows):
        if not drawn[row]:
            ax.text(0, y, "suppressed (too few respondents)", va="center", ha="center",
                    fontsize=11, color="#555")  # fmt: skip
    data = grid[drawn]
    ys = np.flatnonzero(drawn.to_numpy())
    ax.set_xlim(-100, 100)  # before the bars: they then need no autoscaling
    half = data[mid_label] / 2 if mid_label else 0.0
    left = (-half - data[low_levels].sum(axis=1)).to_numpy(dtype=float)
    # One call per answer level (all rows at once), each bar named "<row>|<answer>".
    for lv in [*low_levels, *([mid_label] if mid_label else []), *high_levels]:
        width = data[lv].to_numpy(dtype=float)
        bars = ax.barh(ys, width, left=left, color=colours[levels.index(lv)], edgecolor="white",
                       height=0.7)  # fmt: skip
        for patch, row in zip(bars.patches, data.index, strict=True):
            patch.set_gid(f"{row}|{lv}")
        left = left + width
    ax.set_yticks(range(len(rows)), [f"{r} (n={_n(n.get(r))})" for r in rows])
    ax.tick_params(axis="y", left=False)  # each bar is named by its label
    ax.invert_yaxis()
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xticks(range(-100, 101, 25), [f"{abs(t)}%" for t in range(-100, 101, 25)])
    ax.set_xlabel("% of substantive answers (low end left of 0, high end right)")
    ax.set_title(title)
    handles = [plt.Rectangle((0, 0), 1, 1, color=colours[i]) for i in range(len(levels))]
    # A figure-level legend below the axes, inside the figure: an axes legend placed
    # below the axes was cut off at the figure's edge.
    legend_rows = 1 if len(levels) <= 5 else 2
    fig.legend(handles, levels, ncol=-(-len(levels) // legend_rows), loc="lower center",
               fontsize=11, frameon=False)  # fmt: skip
    fig.legend_height = 0.35 * legend_rows + 0.1
    high = grid[high_levels].sum(axis=1, min_count=1)
    alt = f"{title}. Diverging bars ({', '.join(levels)}) for {len(rows)} groups: " + "; ".join(
        f"{r}: {_pct(high[r])} at the high end" for r in rows
    )
    return _finish(fig, alt)


def _n(value) -> str:
    return "suppressed" if value is None or pd.isna(value) else f"{int(value)}"


def _pct(value) -> str:
    return "suppressed" if pd.isna(value) else pct_value(value)


@readable
@plain_text
def matrix_heatmap(matrix: pd.DataFrame, order: list[str], labels: dict[str, str], title: str,
                   value: str = "mean", vmin: float = 1, vmax: float = 5) -> Figure:  # fmt: skip
    """Rater (rows) x target (columns) heatmap with the diagonal masked.

    Parameters
    ----------
    matrix
        ``rater, target, n`` and ``value`` (hidden values missing).
    order
        Profession ids in display order.
    labels
        Id to short display label.

    Returns
    -------
    Figure
        ``fig.cell_values`` holds the drawn matrix (NaN where masked or suppressed).
    """
    # Cells by (rater, target): three pivot tables cost more than drawing the heatmap.
    cells = first_values(matrix, ["rater", "target"], [value, "n"])
    grid = pd.DataFrame([[cells.get((r, t), (np.nan, np.nan))[0] for t in order] for r in order],
                        index=order, columns=order, dtype=float)  # fmt: skip
    diag = np.eye(len(order), dtype=bool)
    annot = np.empty(grid.shape, dtype=object)
    for i, r in enumerate(order):
        for j, t in enumerate(order):
            v, n = cells.get((r, t), (np.nan, np.nan))
            if diag[i, j]:
                annot[i, j] = ""
            elif np.isnan(v):
                annot[i, j] = "supp." if (r, t) in cells else ""
            else:
                annot[i, j] = f"{fixed(v, 2)}\nn={int(n)}"
    fig, ax = plt.subplots(figsize=(8, 6.2))
    _heatmap(ax, grid, annot, mask=diag, cmap="viridis", vmin=vmin, vmax=vmax,
             cbar_label=f"Mean {value}", annot_size=11,
             xticklabels=[labels[o] for o in order], yticklabels=[labels[o] for o in order])  # fmt: skip
    # Missing cells are left blank: mark the suppressed ones explicitly.
    for i, j in zip(*np.nonzero(annot == "supp."), strict=True):
        ax.text(j + 0.5, i + 0.5, "supp.", ha="center", va="center", fontsize=11, color="#555")
    ax.set_xlabel("Profession rated (target)")
    ax.set_ylabel("Rater's profession")
    ax.set_title(title)
    fig.cell_values = grid.where(~diag)
    flat = grid.where(~diag).stack().dropna()
    alt = (f"{title}. Heatmap of mean ratings, raters in rows, targets in columns, own profession blank. "
           + (f"Lowest: {labels[flat.idxmin()[0]]} rating {labels[flat.idxmin()[1]]} ({fixed(flat.min(), 2)}); "
              f"highest: {labels[flat.idxmax()[0]]} rating {labels[flat.idxmax()[1]]} ({fixed(flat.max(), 2)})."
              if len(flat) else "All cells suppressed."))  # fmt: skip
    return _finish(fig, alt)


@readable
@plain_text
def asymmetry_heatmap(
    asym: pd.DataFrame, order: list[str], labels: dict[str, str], title: str
) -> Figure:
    """M - M^T: how much higher A rates B than B rates A, centred on 0."""
    at = {o: i for i, o in enumerate(order)}
    values = np.full((len(order), len(order)), np.nan)
    flags = np.zeros((len(order), len(order)), dtype=bool)
    diffs = asym["diff"].to_numpy(dtype=float, na_value=np.nan)
    for a, b, d, s in zip(asym["a"], asym["b"], diffs, asym["significant"], strict=True):
        if a in at and b in at:
            values[at[a], at[b]], values[at[b], at[a]] = d, -d
            flags[at[a], at[b]] = flags[at[b], at[a]] = bool(s)
    grid = pd.DataFrame(values, index=order, columns=order)
    sig = pd.DataFrame(flags, index=order, columns=order)
    annot = grid.map(
        lambda v: "" if pd.isna(v) else f"{'+' if v > 0 else ''}{fixed(v, 2)}"
    ) + sig.map(lambda s: "*" if s else "")
    limit = max(0.5, float(np.nanmax(np.abs(grid.to_numpy()))) if grid.notna().any().any() else 0.5)
    fig, ax = plt.subplots(figsize=(8, 6.2))
    _heatmap(ax, grid, annot, cmap="RdBu", center=0, vmin=-limit, vmax=limit,
             mask=np.eye(len(order), dtype=bool) | grid.isna().to_numpy(),
             # Two lines: on one, the label ran past the top of the figure.
             cbar_label="Row rates column higher (+)\nor lower (-) than the reverse",
             xticklabels=[labels[o] for o in order], yticklabels=[labels[o] for o in order])  # fmt: skip
    ax.set_xlabel("Profession rated (target)")
    ax.set_ylabel("Rater's profession")
    ax.set_title(title)
    fig.cell_values = grid
    n_sig = int(asym["significant"].fillna(False).sum())
    return _finish(
        fig, f"{title}. Asymmetry of ratings; * marks {n_sig} pairs significant after correction."
    )


@readable
@plain_text
def ranked_chart(
    site: pd.DataFrame | None, national: pd.DataFrame, title: str, xlabel: str
) -> Figure:
    """Items ranked by % high with 95% interval whiskers; the site beside the nation.

    Parameters
    ----------
    site, national
        ``label, estimate, ci_low, ci_high`` (proportions). Items are ordered by the
        site's estimate when a site is given, else the nation's.

    Returns
    -------
    Figure
        ``fig.series`` maps "site" / "national" to the plotted percentages by label.
    """
    lead = site if site is not None else national
    order = lead.sort_values("estimate", ascending=False, na_position="last")["label"].tolist()
    fig, ax = plt.subplots(figsize=(9, 0.5 * len(order) + 1.5))
    series = {}
    groups = [("national", national, NATIONAL_COLOUR, 0.18 if site is not None else 0.0)]
    if site is not None:
        groups.insert(0, ("site", site, SITE_COLOUR, -0.18))
    for name, data, colour, offset in groups:
        d = data.set_index("label").reindex(order)
        y = np.arange(len(order)) + offset
        x = 100 * d["estimate"].to_numpy(dtype=float)
        err = 100 * np.vstack([d["estimate"] - d["ci_low"], d["ci_high"] - d["estimate"]]).astype(
            float
        )
        err = np.clip(err, 0, None)
        ax.errorbar(
            x,
            y,
            xerr=err,
            fmt="o",
            color=colour,
            capsize=3,
            label="This site" if name == "site" else "All sites",
        )
        series[name] = pd.Series(x, index=order)
    ax.set_yticks(range(len(order)), [_wrap(o) for o in order])
    ax.tick_params(axis="y", left=False)  # each item is named by its label
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.legend(loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    fig.series = series
    top = order[0] if order else "none"
    return _finish(
        fig,
        f"{title}. {len(order)} items ranked; highest: {top} at {_pct(series[groups[0][0]].iloc[0]) if order else 'n/a'}.",
    )


def _wrap(text: str, width: int = 45) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width))


@readable
@plain_text
def funnel_plot(
    funnel: pd.DataFrame, title: str, site_names: dict[str, str], limits: pd.DataFrame | None = None
) -> Figure:
    """Funnel plot for one indicator and wave: sites by base, with 95% and 99.8% limits.

    Parameters
    ----------
    funnel
        Rows of the ``funnel`` aggregate for one indicator and wave (suppressed sites
        have no estimate and are left out).
    limits
        Rows of the ``funnel_limits`` aggregate for the same indicator and wave (the
        curves, :func:`hsc_research.stats.compare.funnel_curve`); computed here when
        ``None``.
    """
    if limits is None:
        # Imported here: only this fallback needs scipy.stats (a report kernel starts
        # 0.5 s sooner without it).
        from hsc_research.stats.compare import funnel_curve

        limits = funnel_curve(funnel)
    shown = funnel[funnel["estimate"].notna()]
    p0 = float(funnel["national"].iloc[0])
    adjusted = bool(funnel["adjusted"].iloc[0]) if "adjusted" in funnel else False
    fig, ax = plt.subplots(figsize=(8, 5.6))
    grid = limits["at_base"].to_numpy(dtype=float)
    kind = "overdispersion-adjusted" if adjusted else "binomial"
    for cov, name, style in ((0.95, "95", "--"), (0.998, "998", ":")):
        lo, hi = (
            limits[f"lo{name}"].to_numpy(dtype=float),
            limits[f"hi{name}"].to_numpy(dtype=float),
        )
        ax.plot(grid, 100 * lo, style, color="grey", label=f"{cov:.1%} limits ({kind})")
        ax.plot(grid, 100 * hi, style, color="grey")
    ax.axhline(100 * p0, color="black", lw=1, label=f"All sites {pct_value(100 * p0)}")
    ax.scatter(
        shown["n"].astype(float), 100 * shown["estimate"].astype(float), color=SITE_COLOUR, zorder=3
    )
    for _, r in shown.iterrows():
        if r["outside"] != "within":
            ax.annotate(site_names.get(r["scope"], r["scope"]), (float(r["n"]), 100 * float(r["estimate"])),
                        fontsize=11, xytext=(3, 3), textcoords="offset points")  # fmt: skip
    ax.set_xlabel("Respondents answering (site base)")
    ax.set_ylabel("% of respondents")
    ax.set_title(_wrap(title, 70))
    # Below the plot: placed inside it ("best"), the legend hid sites near the average.
    handles, names = ax.get_legend_handles_labels()
    fig.legend(handles, names, ncol=2, loc="lower center", fontsize=11, frameon=False)
    fig.legend_height = 0.8
    outside = shown[shown["outside"] != "within"]
    return _finish(fig, f"{title}. Funnel plot of {len(shown)} sites around {pct_value(100 * p0)} "
                        f"with {kind} limits; {len(outside)} outside the 95% limits.")  # fmt: skip


@readable
@plain_text
def site_indicator_heatmap(
    svr: pd.DataFrame, site_names: dict[str, str], labels: dict[str, str], title: str
) -> Figure:
    """Indicators (rows, their long labels readable horizontally) x sites (columns): site
    minus rest of sites, in percentage points (* = significant)."""
    grid = svr.pivot_table(index="indicator", columns="scope", values="diff", aggfunc="first") * 100
    sig = svr.pivot_table(
        index="indicator", columns="scope", values="significant", aggfunc="first"
    ).reindex_like(grid)
    # ``significant`` arrives as 1.0 / 0.0 / NaN once masked: test the value, not identity.
    annot = grid.map(lambda v: "" if pd.isna(v) else signed(v / 100)) + sig.map(
        lambda s: "*" if not pd.isna(s) and bool(s) else ""
    )
    fig, ax = plt.subplots(figsize=(max(9.0, 0.75 * grid.shape[1] + 6), 0.8 * len(grid) + 2.5))
    limit = max(5.0, float(np.nanmax(np.abs(grid.to_numpy())))) if grid.notna().any().any() else 5.0
    _heatmap(ax, grid, annot, cmap="RdBu", center=0, vmin=-limit, vmax=limit, annot_size=11,
             yticklabels=[_wrap(labels.get(c, c), 40) for c in grid.index],
             xticklabels=[site_names.get(s, s) for s in grid.columns],
             cbar_label="Site minus rest of sites (points)")  # fmt: skip
    ax.tick_params(axis="x", labelrotation=90)
    ax.set_ylabel("Headline indicator")
    ax.set_xlabel("Site")
    ax.set_title(title)
    fig.cell_values = grid
    return _finish(fig, f"{title}. Heatmap of {grid.shape[0]} indicators by {grid.shape[1]} sites; "
                        "* marks differences significant after correction.")  # fmt: skip


@readable
@plain_text
def trend_chart(
    site: pd.DataFrame | None, national: pd.DataFrame, waves: list[int], title: str
) -> Figure:
    """Each indicator over the waves, one panel per row: the site beside all sites.

    Parameters
    ----------
    site, national
        Rows of the ``indicators`` aggregate (``indicator, label, wave, estimate,
        ci_low, ci_high``) for the site (or ``None``) and the nation.
    waves
        Every wave, in order (a wave with no value leaves a gap).

    Returns
    -------
    Figure
        ``fig.series`` maps ``(indicator, "site" | "national")`` to the plotted
        percentages by wave. The panels are bands of one Axes, 100 data units (0-100%)
        each, framed by the collection labelled ``_frames``; each scope is one errorbar
        across all panels.
    """
    order = list(dict.fromkeys(national["indicator"]))
    labels = national.drop_duplicates("indicator").set_index("indicator")["label"]
    titles = [_wrap(str(labels[ind]), 80) for ind in order]
    groups = [("national", national, NATIONAL_COLOUR, "s", "--", "All sites")]
    if site is not None:
        groups.insert(0, ("site", site, SITE_COLOUR, "o", "-", "This site"))
    for name, data, *_ in groups:
        repeated = data[data.duplicated(["indicator", "wave"])]
        if len(repeated):  # an estimate and an interval could come from different rows
            first = repeated.iloc[0]
            raise ValueError(f"trend_chart: the {name} rows hold indicator {first['indicator']!r} "
                             f"in wave {first['wave']} more than once; pass one scope's rows")  # fmt: skip
    values = {name: first_values(data, ["indicator", "wave"], ["estimate", "ci_low", "ci_high"])
              for name, data, *_ in groups}  # fmt: skip
    # The panels are bands of one Axes, each 0-100 (%) in data units, the first on top:
    # an Axes per panel cost more to build and draw than the data in it.
    rc = matplotlib.rcParams
    heights = [_text_height(t, rc["axes.titlesize"]) for t in titles]
    one_line = _text_height("Wave", rc["axes.titlesize"])
    # Each panel keeps the height it has under one-line titles: longer titles make the
    # figure taller instead of the panels shorter.
    extra = (
        heights[0] - one_line + (len(order) - 1) * (max(heights[1:], default=one_line) - one_line)
    )
    fig, ax = plt.subplots(figsize=(9, 1.9 * len(order) + 0.8 + extra / 72))
    ax.set_xlim(-0.3, len(waves) - 0.7)
    ax.set_xticks(range(len(waves)), [str(w) for w in waves])
    ax.yaxis.set_visible(False)  # each panel has its own percentage labels
    for spine in ax.spines.values():
        spine.set_visible(False)  # each panel has its own frame
    # At the very top (matplotlib's default, 2% down, grows with the figure's height and
    # can reach the first title); layout.fit reserves its height and the padding.
    pad = layout.PAD * rc["font.size"] / 72
    fig.suptitle(title, y=1 - pad / fig.get_figheight())
    fig.legend_height = 0.45
    bases = _trend_bases(fig, ax, len(order), titles[0], max(heights[1:], default=0.0))
    ax.set_ylim(0, bases[0] + 100)
    series = {}
    missing = (np.nan, np.nan, np.nan)
    for k, (name, _, colour, marker, style, legend) in enumerate(groups):
        est, lo, hi = np.array([[values[name].get((ind, w), missing) for w in waves]
                                for ind in order]).transpose(2, 0, 1)  # fmt: skip
        for ind, row in zip(order, est, strict=True):
            series[(ind, name)] = pd.Series(100 * row, index=waves)
        # One errorbar per scope for all panels; the NaN after each panel's values keeps
        # its line from running on into the next panel.
        gap = np.full((len(order), 1), np.nan)
        x = np.arange(len(waves)) + (k - (len(groups) - 1) / 2) * 0.08
        xs = np.hstack([np.tile(x, (len(order), 1)), gap]).ravel()
        ys = np.hstack([100 * est + bases[:, None], gap]).ravel()
        # Wilson bounds at 0% or 100% can sit a rounding error past the estimate.
        below = np.hstack([np.clip(100 * (est - lo), 0, None), gap]).ravel()
        above = np.hstack([np.clip(100 * (hi - est), 0, None), gap]).ravel()
        # Not clipped: a marker at 0% or 100% is drawn whole in every panel (only the
        # outer edges of the Axes would clip, halving it in the first and last panels).
        ax.errorbar(xs, ys, yerr=np.vstack([below, above]), color=colour, marker=marker,
                    linestyle=style, capsize=3, label=legend, clip_on=False)  # fmt: skip
    x0, x1 = ax.get_xlim()
    ax.add_collection(LineCollection(
        [[(x0, b), (x1, b), (x1, b + 100), (x0, b + 100), (x0, b)] for b in bases],
        colors=rc["axes.edgecolor"], linewidths=rc["axes.linewidth"], zorder=2.5, label="_frames",
        clip_on=False,  # on the Axes edge: clipped, half of it would go
    ))  # fmt: skip
    # A 50% line in each panel (0% and 100% are its frame).
    ax.hlines(bases + 50, x0, x1, color=rc["grid.color"], alpha=0.3, lw=rc["grid.linewidth"],
              zorder=0.5, label="_grid")  # fmt: skip
    points = fig.dpi_scale_trans
    band = transforms.blended_transform_factory(ax.transAxes, ax.transData)
    # Where matplotlib puts an Axes title and a y tick label (tick length and pad).
    above_frame = band + transforms.ScaledTranslation(0, rc["axes.titlepad"] / 72, points)
    beside = band + transforms.ScaledTranslation(
        -(rc["ytick.major.size"] + rc["ytick.major.pad"]) / 72, 0, points)  # fmt: skip
    title_colour = rc["axes.titlecolor"] if rc["axes.titlecolor"] != "auto" else rc["text.color"]
    for base, text in zip(bases, titles, strict=True):
        ax.text(0, base + 100, text, transform=above_frame, ha="left", va="baseline",
                fontsize=rc["axes.titlesize"], fontweight=rc["axes.titleweight"],
                color=title_colour, label="_panel_title")  # fmt: skip
    label_colour = (
        rc["ytick.labelcolor"] if rc["ytick.labelcolor"] != "inherit" else rc["ytick.color"]
    )
    for base in bases:
        for v in (0, 50, 100):
            ax.text(0, base + v, f"{v}%", transform=beside, ha="right", va="center_baseline",
                    fontsize=rc["ytick.labelsize"], color=label_colour, label="_panel_scale")  # fmt: skip
    handles, names = ax.get_legend_handles_labels()
    # Below the panels, not in the first one, where it covered the latest wave's values.
    fig.legend(handles, names, ncol=len(groups), loc="lower center", frameon=False)
    fig.series = series
    return _finish(fig, f"{title}. {len(order)} panels, one per indicator, each showing the "
                        f"percentage in every wave ({', '.join(map(str, waves))}) with 95% intervals"
                        + (", this site beside all sites." if site is not None else "."))  # fmt: skip


def _text_height(text: str, size: float) -> float:
    """Height (points) of ``text`` at ``size`` points, as laid out (every line)."""
    return layout.text_size(Text(text=text, fontsize=size))[1]


def _trend_bases(fig: Figure, ax: Axes, n: int, first_title: str, tallest: float) -> np.ndarray:
    """Where each panel of :func:`trend_chart` starts, leaving each title the room
    tight_layout would leave it between two Axes.

    Lays the figure out (its subplot parameters) as a side effect: the Axes' height is
    known once the margins are, and they depend only on what sits outside the Axes (the
    suptitle, the first panel's title, the wave labels, the legend).

    Parameters
    ----------
    fig, ax
        The trend chart's figure and its one Axes, with the suptitle and wave labels set.
    n
        Number of panels.
    first_title
        The first panel's title (above the Axes).
    tallest
        Height (points) of the tallest of the other panels' titles.

    Returns
    -------
    numpy.ndarray
        The data y of each panel's 0%, first panel first (100 data units per panel).
        The gaps are fixed for this figure size: a resized figure needs new ones.
    """
    rc = matplotlib.rcParams
    # The first title stands in as the Axes' own title while the margins are fitted.
    ax.set_title(first_title, loc="left", fontsize=rc["axes.titlesize"])
    layout.fit(fig, rect=(0, fig.legend_height / fig.get_figheight(), 1, 1))
    ax.set_title("", loc="left")
    height = ax.get_position().height * fig.get_figheight() * 72
    gap = tallest + rc["axes.titlepad"] + layout.PAD * rc["font.size"]  # points
    # ``gap`` points between panels: gap / height = step_gap / (100 n + (n - 1) step_gap).
    room = height - (n - 1) * gap
    if room <= 0:  # the figure grows with its titles (trend_chart): not reached
        raise RuntimeError(f"trend_chart: no room left for {n} panels; please report this")
    step_gap = 100 * n * gap / room
    return (n - 1 - np.arange(n)) * (100 + step_gap)
