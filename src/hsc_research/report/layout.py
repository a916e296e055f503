"""Figure margins from measured text, without drawing the figure.

``Figure.tight_layout`` finds the margins by laying out every artist of the figure (tick
updates, title placement, every text's extent), which costs as much as drawing it; the
SVG export then draws it again. :func:`fit` computes the same subplot parameters with
the same rule (tight_layout's: each grid cell's decorations, padded by 1.08 font sizes)
from the few texts that can stick out of the Axes: tick labels, axis labels, titles,
the suptitle and free texts. Their sizes come from the font's own metrics (the ones the
SVG writer places text with), cached by text, font file and size; a text's size never
changes, so the cache holds no state of any figure or report.
"""

from __future__ import annotations

import functools

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, findfont, get_font
from matplotlib.text import Annotation, Text
from matplotlib.textpath import text_to_path

#: tight_layout's default padding, as a fraction of the font size.
PAD = 1.08

#: Text widths are taken this much wider than the font's unhinted advance: the margin
#: tight_layout left (it measures hinted text at screen resolution), kept for browsers
#: whose text runs slightly wider.
WIDTH_SLACK = 1.03


@functools.lru_cache(maxsize=16384)
def _line_size(line: str, fname: str, size: float) -> tuple[float, float]:
    """Width and descent of one line of plain text, in points."""
    prop = FontProperties(fname=fname, size=size)
    w, _, d = text_to_path.get_text_width_height_descent(line, prop, ismath=False)
    return w, d


@functools.lru_cache(maxsize=256)
def _line_metrics(fname: str, size: float) -> tuple[float, float, float]:
    """Ascent, descent and line gap of a font at ``size``, in points (as matplotlib
    lays out lines: the font's typographic metrics)."""
    font = get_font(fname)
    upem = font.get_sfnt_table("head")["unitsPerEm"]
    for table, gap, asc, desc in (("OS/2", "sTypoLineGap", "sTypoAscender", "sTypoDescender"),
                                  ("hhea", "lineGap", "ascent", "descent")):  # fmt: skip
        t = font.get_sfnt_table(table)
        if t is not None:
            scale = size / upem
            return t[asc] * scale, -t[desc] * scale, t[gap] * scale
    return 0.8 * size, 0.2 * size, 0.2 * size


def text_size(text: Text) -> tuple[float, float]:
    """Width and height (points) of a text's unrotated box, as matplotlib lays it out."""
    s = text.get_text()
    if not s:
        return 0.0, 0.0
    prop = text.get_fontproperties()
    fname = findfont(prop)
    size = prop.get_size_in_points()
    asc, desc, gap = _line_metrics(fname, size)
    lines = s.split("\n")
    if len(lines) == 1:
        gap = 0.0
    width, height = 0.0, 0.0
    for line in lines:
        w, d = _line_size(line, fname, size) if line else (0.0, 0.0)
        width = max(width, w * WIDTH_SLACK)
        height += max(asc, 0.0) + max(desc, d) + gap
    return width, height


def _rotated(text: Text) -> tuple[float, float]:
    """Extent of a text's box along x and y (points), for rotations of 0 or 90."""
    w, h = text_size(text)
    angle = text.get_rotation() % 180
    if abs(angle - 90) < 1:
        return h, w
    if angle < 1 or angle > 179:
        return w, h
    r = np.deg2rad(angle)
    return abs(w * np.cos(r)) + abs(h * np.sin(r)), abs(w * np.sin(r)) + abs(h * np.cos(r))


def _aligned(anchor: float, extent: float, how: str) -> tuple[float, float]:
    if how in ("left", "bottom", "baseline"):
        return anchor, anchor + extent
    if how in ("right", "top"):
        return anchor - extent, anchor
    return anchor - extent / 2, anchor + extent / 2


def _axis_boxes(ax: Axes, box: np.ndarray, dpi: float) -> list[np.ndarray]:
    """Boxes (x0, y0, x1, y1 in points) of an Axes' tick labels and axis labels."""
    out = []
    for axis, horizontal in ((ax.xaxis, True), (ax.yaxis, False)):
        if not axis.get_visible():
            continue
        axis.get_majorticklabels()  # places the ticks and sets their labels
        locs = axis.get_majorticklocs()
        lo, hi = sorted(axis.get_view_interval())
        ticks = axis.get_major_ticks(len(locs))
        # Where each tick sits along the axis, in points.
        if horizontal:
            along = ax.transData.transform(np.column_stack([locs, np.zeros(len(locs))]))[:, 0]
        else:
            along = ax.transData.transform(np.column_stack([np.zeros(len(locs)), locs]))[:, 1]
        along = along * 72 / dpi
        far = {1: 0.0, 2: 0.0}  # how far labels reach out from side 1 and side 2
        for tick, loc, pos in zip(ticks, locs, along, strict=True):
            if not (lo - 1e-9 * (hi - lo + 1) <= loc <= hi + 1e-9 * (hi - lo + 1)):
                continue
            offset = tick.get_tick_padding() + tick.get_pad()
            for side, label in ((1, tick.label1), (2, tick.label2)):
                if not label.get_visible() or not label.get_text():
                    continue
                ex, ey = _rotated(label)
                if horizontal:
                    x0, x1 = _aligned(pos, ex, label.get_horizontalalignment())
                    if side == 1:
                        b = (x0, box[1] - offset - ey, x1, box[1])
                    else:
                        b = (x0, box[3], x1, box[3] + offset + ey)
                    far[side] = max(far[side], offset + ey)
                else:
                    y0, y1 = _aligned(pos, ey, "center")
                    if side == 1:
                        b = (box[0] - offset - ex, y0, box[0], y1)
                    else:
                        b = (box[2], y0, box[2] + offset + ex, y1)
                    far[side] = max(far[side], offset + ex)
                out.append(np.array(b))
        label = axis.label
        if label.get_visible() and label.get_text():
            ex, ey = _rotated(label)
            pos = axis.get_label_position()
            pad = axis.labelpad
            if pos == "bottom":
                y1 = box[1] - far[1] - pad
                b = (box[0], y1 - ey, box[2], y1)
            elif pos == "top":
                y0 = box[3] + far[2] + pad
                b = (box[0], y0, box[2], y0 + ey)
            elif pos == "left":
                x1 = box[0] - far[1] - pad
                b = (x1 - ex, box[1], x1, box[3])
            else:
                x0 = box[2] + far[2] + pad
                b = (x0, box[1], x0 + ex, box[3])
            out.append(np.array(b))
    return out


def _title_boxes(ax: Axes, box: np.ndarray) -> list[np.ndarray]:
    out = []
    pad = mpl.rcParams["axes.titlepad"]
    prop_text = ax.title
    for loc in ("center", "left", "right"):
        s = ax.get_title(loc)
        if not s:
            continue
        probe = Text(text=s, fontproperties=prop_text.get_fontproperties())
        w, h = text_size(probe)
        y0 = box[3] + pad
        if loc == "center":
            x0 = (box[0] + box[2]) / 2 - w / 2
        elif loc == "left":
            x0 = box[0]
        else:
            x0 = box[2] - w
        out.append(np.array((x0, y0, x0 + w, y0 + h)))
    return out


def _text_boxes(ax: Axes, dpi: float) -> list[np.ndarray]:
    """Free texts of an Axes that are not clipped to it (annotations, labels)."""
    out = []
    for t in ax.texts:
        if not t.get_visible() or not t.get_text() or not t.get_in_layout():
            continue
        if isinstance(t, Annotation):
            if t.xycoords != "data" or t.anncoords != "offset points":
                continue
            ax_, ay_ = ax.transData.transform(t.xy) * 72 / dpi
            ax_, ay_ = ax_ + t.xyann[0], ay_ + t.xyann[1]
        else:
            ax_, ay_ = t.get_transform().transform(t.get_position()) * 72 / dpi
        ex, ey = _rotated(t)
        x0, x1 = _aligned(ax_, ex, t.get_horizontalalignment())
        y0, y1 = _aligned(ay_, ey, t.get_verticalalignment())
        out.append(np.array((x0, y0, x1, y1)))
    return out


def _tight_box(ax: Axes, dpi: float) -> np.ndarray:
    """The Axes and every decoration around it, (x0, y0, x1, y1) in points."""
    locator = ax.get_axes_locator()
    # A colorbar is placed by its locator and shrunk to its aspect when drawn: place
    # it as it will be drawn.
    ax.apply_aspect(locator(ax, None) if locator is not None else None)
    box = np.array(ax.get_position(original=False).extents)
    w, h = ax.get_figure(root=True).get_size_inches() * 72
    box = box * np.array([w, h, w, h])
    boxes = [box, *_axis_boxes(ax, box, dpi), *_title_boxes(ax, box), *_text_boxes(ax, dpi)]
    stacked = np.vstack(boxes)
    return np.array([stacked[:, 0].min(), stacked[:, 1].min(),
                     stacked[:, 2].max(), stacked[:, 3].max()])  # fmt: skip


def fit(fig: Figure, rect: tuple[float, float, float, float] = (0, 0, 1, 1)) -> None:
    """Set ``fig``'s subplot parameters so every Axes' decorations fit inside ``rect``
    (figure fraction), by tight_layout's rule, without drawing the figure.

    Parameters
    ----------
    fig
        A figure of subplots on one grid (colorbars made beside their Axes included).
    rect
        ``(left, bottom, right, top)`` the subplots and their decorations must fit in.
    """
    axes = [ax for ax in fig.axes if ax.get_visible() and ax.get_subplotspec() is not None]
    if not axes:
        return
    dpi = fig.dpi
    fw, fh = fig.get_size_inches() * 72
    groups: dict = {}
    for ax in axes:
        groups.setdefault(ax.get_subplotspec().get_topmost_subplotspec(), []).append(ax)
    rows, cols = next(iter(groups)).get_gridspec().get_geometry()
    vspaces = np.zeros((rows + 1, cols))
    hspaces = np.zeros((rows, cols + 1))
    for spec, members in groups.items():
        pos = np.vstack([ax.get_position(original=True).extents for ax in members])
        pos = np.array([pos[:, 0].min() * fw, pos[:, 1].min() * fh,
                        pos[:, 2].max() * fw, pos[:, 3].max() * fh])  # fmt: skip
        tight = np.vstack([_tight_box(ax, dpi) for ax in members])
        tight = np.array(
            [tight[:, 0].min(), tight[:, 1].min(), tight[:, 2].max(), tight[:, 3].max()]
        )
        r, c = spec.rowspan, spec.colspan
        hspaces[r, c.start] += (pos[0] - tight[0]) / fw
        hspaces[r, c.stop] += (tight[2] - pos[2]) / fw
        vspaces[r.start, c] += (tight[3] - pos[3]) / fh
        vspaces[r.stop, c] += (pos[1] - tight[1]) / fh
    pad = PAD * mpl.rcParams["font.size"]
    left = max(hspaces[:, 0].max(), 0) + pad / fw
    right = max(hspaces[:, -1].max(), 0) + pad / fw
    top = max(vspaces[0, :].max(), 0) + pad / fh
    bottom = max(vspaces[-1, :].max(), 0) + pad / fh
    title = fig._suptitle  # noqa: SLF001 - tight_layout reserves the suptitle's height too
    if title is not None and title.get_in_layout() and title.get_text():
        top += text_size(title)[1] / fh + pad / fh
    r_left, r_bottom, r_right, r_top = rect
    kw = {"left": r_left + left, "right": r_right - right,
          "bottom": r_bottom + bottom, "top": r_top - top}  # fmt: skip
    if kw["left"] >= kw["right"] or kw["bottom"] >= kw["top"]:
        return  # as tight_layout: decorations that cannot fit leave the layout alone
    if rows > 1:
        vspace = vspaces[1:-1, :].max() + pad / fh
        v_axes = (kw["top"] - kw["bottom"] - vspace * (rows - 1)) / rows
        kw["hspace"] = vspace / v_axes
    if cols > 1:
        hspace = hspaces[:, 1:-1].max() + pad / fw
        h_axes = (kw["right"] - kw["left"] - hspace * (cols - 1)) / cols
        kw["wspace"] = hspace / h_axes
    fig.subplots_adjust(**kw)
