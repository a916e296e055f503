"""Report figures: SVG images with alt text, captions and the data behind each.

The drawing is :mod:`hsc_research.report.plots`; this module picks the aggregate rows, captions
them and embeds the image (:func:`figure`).
"""

from __future__ import annotations

import base64
import collections
import hashlib
import html
import io
import pickle
from dataclasses import dataclass

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import HTML, Markdown

from hsc_research.aggregate.io import NATIONAL
from hsc_research.report import plots
from hsc_research.report.context import Context
from hsc_research.report.formatting import fixed, p_text, pct_value, signed
from hsc_research.report.tables import cell_ci, cell_n, cell_pct, family_caption, table_html


@dataclass(frozen=True)
class Drawn:
    """A figure already turned into its embedded SVG (:func:`drawn`)."""

    src: str  # base64 of the SVG
    alt_text: str


#: SVGs drawn in this process, by the fingerprint of what drew them (:func:`drawn`).
_DRAWN: collections.OrderedDict[bytes, Drawn] = collections.OrderedDict()
#: How many to keep: a report draws about ten figures.
_DRAWN_MAX = 32


def _svg(fig) -> str:
    """The figure as base64 SVG, text kept as text; closes the figure."""
    buf = io.BytesIO()
    # Margins are already fitted (plots.py, layout.fit); bbox_inches="tight" would draw
    # twice. No date in the SVG's metadata: the same figure gives the same bytes.
    with plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": "hsc-research"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def drawn(plot, *args) -> Drawn:
    """``plot(*args)`` as an embedded SVG, drawn once per process for the same inputs.

    A site report shows the all-sites trust bars and relationship heatmap of every other
    site report; a warm build kernel draws them once. The key is a digest of everything
    the drawing reads: the plot function, the pickled arguments (lossless: different data
    never share a key) and every matplotlib rcParam, so a notebook that changed a
    setting gets its own drawing. Arguments that cannot be pickled are drawn every time.

    Parameters
    ----------
    plot
        A function of :mod:`hsc_research.report.plots`, returning a Figure with
        ``alt_text``.
    *args
        Its arguments.

    Returns
    -------
    Drawn

    Examples
    --------
    >>> import pandas as pd
    >>> from hsc_research.report import plots
    >>> m = pd.DataFrame({"rater": ["a", "b"], "target": ["b", "a"], "mean": [3.0, 4.0],
    ...                   "n": [20, 30], "self": [False, False]})
    >>> one = drawn(plots.matrix_heatmap, m, ["a", "b"], {"a": "A", "b": "B"}, "Ties")
    >>> drawn(plots.matrix_heatmap, m, ["a", "b"], {"a": "A", "b": "B"}, "Ties") is one
    True
    """
    try:
        rc = sorted(matplotlib.rcParams.items())
        key = hashlib.blake2b(
            pickle.dumps((plot.__module__, plot.__qualname__, args, rc), protocol=5)
        ).digest()
    except (pickle.PicklingError, TypeError, AttributeError):
        key = None
    if key is not None and key in _DRAWN:
        _DRAWN.move_to_end(key)
        return _DRAWN[key]
    fig = plot(*args)
    made = Drawn(_svg(fig), fig.alt_text)
    if key is not None:
        _DRAWN[key] = made
        if len(_DRAWN) > _DRAWN_MAX:
            _DRAWN.popitem(last=False)
    return made


def figure(fig, caption: str | None = None, data: pd.DataFrame | None = None) -> HTML:
    """Embed a figure (a matplotlib Figure, closed here, or a :class:`Drawn`) as SVG (text
    kept as text, so it scales and reads at body size), with its alt text, a caption and,
    when given, its data as a table a screen reader can reach (collapsed)."""
    src = fig.src if isinstance(fig, Drawn) else _svg(fig)
    cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    table = ""
    if data is not None and len(data):
        # A named column axis (a pivot's) would add a header over empty row headers.
        body = table_html(data.rename_axis(columns=None), missing="suppressed")
        # The scroll box takes keyboard focus so a keyboard user can scroll a wide table.
        label = html.escape(f"Data for the figure: {caption or fig.alt_text}"[:120])
        table = (f'<details class="figure-data"><summary>Data for this figure</summary>'
                 f'<div class="table-scroll" tabindex="0" role="region" aria-label="{label}">'
                 f'{body}</div></details>')  # fmt: skip
    return HTML(f'<figure class="report-figure"><img src="data:image/svg+xml;base64,{src}" '
                f'alt="{html.escape(fig.alt_text)}" style="max-width:100%;height:auto">{cap}</figure>{table}')  # fmt: skip


def stack(*parts: HTML) -> HTML:
    """Figures one per row: side-by-side pairs shrank their text below body size."""
    return HTML("".join(p.data for p in parts))


def _ranked(ctx: Context, question: str, scope: str) -> pd.DataFrame:
    f = ctx.t("frequency", scope=scope)
    return f[(f["question"] == question) & (f["rater"] == "all")]


def ranked_figure(ctx: Context, question: str) -> HTML:
    """Items of a frequency question ranked by % frequent, site beside national."""
    q = ctx.codebook.question(question)
    site = _ranked(ctx, question, ctx.scope) if ctx.is_site else None
    fig = plots.ranked_chart(site, _ranked(ctx, question, NATIONAL), f"{q.short}: % saying frequently ({ctx.wave})",
                             "% answering very frequently or frequently (95% CI)")  # fmt: skip
    rows = [_ranked(ctx, question, sc).assign(Scope=nm) for sc, nm in ctx.scopes]
    data = pd.concat(rows, ignore_index=True)
    data = pd.DataFrame({"Scope": data["Scope"], "Item": data["label"],
                         "% frequently": [cell_pct(v) for v in data["estimate"]],
                         "95% CI": [cell_ci(lo, hi) for lo, hi in zip(data["ci_low"], data["ci_high"], strict=True)],
                         "n": [cell_n(v) for v in data["n"]]})  # fmt: skip
    return figure(fig, q.text, data)


def trust_bars(ctx: Context) -> HTML:
    """Diverging bars of trust by rater group and target, site beside national."""
    scale = ctx.codebook.scales["agree4"]
    groups = {g.id: g.short for g in ctx.codebook.groups}
    spec = ctx.codebook.reports
    targets = list(spec.trust_bar_targets) if spec else [p.id for p in ctx.codebook.professions]

    def one(scope: str, name: str) -> HTML:
        d = ctx.t("distributions", scope=scope)
        d = d[(d["question"] == "trust") & d["item"].isin(targets) & (d["rater"] != "all")]
        d = d.assign(row=d["rater"].map(groups) + " \u2192 " + d["item"].map(ctx.prof_labels))
        order = [f"{groups[g]} \u2192 {ctx.prof_labels[t]}" for t in targets for g in groups]
        d = d.set_index("row").loc[[o for o in order if o in set(d["row"])]].reset_index()
        data = d.pivot_table(index="row", columns="answer", values="pct", aggfunc="first",
                             sort=False, dropna=False).reindex(columns=scale.labels)  # fmt: skip
        data = data.map(lambda v: pd.NA if pd.isna(v) else pct_value(v)).reset_index()
        data = data.rename(columns={"row": "Raters → profession trusted"})
        return figure(
            drawn(plots.diverging_bars, d, scale, f"Trust, {name} ({ctx.wave})"), None, data
        )

    parts = [one(ctx.scope, ctx.name)] + ([one(NATIONAL, "all sites")] if ctx.is_site else [])
    return stack(*parts)


def relationship_heatmaps(ctx: Context) -> HTML:
    """Relationship matrix (diagonal masked), site beside national, and the asymmetry."""
    order = [p.id for p in ctx.codebook.professions]

    def one(scope: str, name: str) -> HTML:
        m = ctx.t("matrix", scope=scope)
        m = m[m["question"] == "relationships"]
        cells = m[~m["self"].astype(bool)] if "self" in m else m
        data = pd.DataFrame({"Rater": cells["rater"].map(ctx.prof_labels),
                             "Rated": cells["target"].map(ctx.prof_labels),
                             "Mean (1-5)": [pd.NA if pd.isna(v) else fixed(v, 2) for v in cells["mean"]],
                             "n": [cell_n(v) for v in cells["n"]]})  # fmt: skip
        return figure(
            drawn(
                plots.matrix_heatmap,
                m,
                order,
                ctx.prof_labels,
                f"Relationships, {name} ({ctx.wave})",
            ),
            None,
            data,
        )

    parts = [one(ctx.scope, ctx.name)] + ([one(NATIONAL, "all sites")] if ctx.is_site else [])
    asym = ctx.t("asymmetry")
    parts.append(figure(plots.asymmetry_heatmap(asym, order, ctx.prof_labels,
                                                f"Asymmetry of relationships, {ctx.name} ({ctx.wave})"),
                        "Positive: the row profession rates the column profession higher than the reverse. "
                        "* the difference is significant: its Welch t interval excludes 0. "
                        + family_caption(asym)[1].replace("in this table", "in this figure"),
                        pd.DataFrame({"Pair": asym["a"].map(ctx.prof_labels) + " and " + asym["b"].map(ctx.prof_labels),
                                      "First rates second minus reverse": [fixed(v, 2) for v in asym["diff"]],
                                      f"{family_caption(asym)[0]} CI": [f"{fixed(lo, 2)} to {fixed(hi, 2)}" for lo, hi in
                                                                 zip(asym["ci_low"], asym["ci_high"], strict=True)],
                                      "Significant": ["yes" if v else "no" for v in asym["significant"]]})))  # fmt: skip
    return stack(*parts)


def funnel_figures(ctx: Context) -> HTML:
    """A funnel plot for every headline indicator (latest wave)."""
    fun = ctx.tables["funnel"]
    fun = fun[fun["wave"] == ctx.wave]
    # The curves come with the aggregates (stats.compare.funnel_curves); aggregates
    # written before they did get them computed by the plot.
    curves = ctx.tables["funnel_limits"] if "funnel_limits" in ctx.tables else None
    labels = {i.id: i.label for i in ctx.codebook.indicators}
    figs = []
    for ind in labels:
        f = fun[fun["indicator"] == ind]
        if not len(f):
            continue
        r = f.iloc[0]
        if bool(r["adjusted"]):
            how = (f"Overdispersed (phi = {fixed(r['phi'], 1)}, test p {p_text(r['od_p'])}): limits widened "
                   f"for between-site variation, tau = {fixed(100 * np.sqrt(r['tau2']), 1)} points.")  # fmt: skip
        else:
            how = (f"No evidence of overdispersion (phi = {fixed(r['phi'], 1)}, test p {p_text(r['od_p'])}): "
                   "exact binomial limits.")  # fmt: skip
        shown = f[f["estimate"].notna()]
        data = pd.DataFrame({"Site": shown["scope"].map(lambda x: ctx.meta["sites"].get(x, x)),
                             "n": [cell_n(v) for v in shown["n"]],
                             "%": [cell_pct(v) for v in shown["estimate"]],
                             "95% limits": [cell_ci(lo, hi) for lo, hi in zip(shown["lo95"], shown["hi95"], strict=True)],
                             "99.8% limits": [cell_ci(lo, hi) for lo, hi in zip(shown["lo998"], shown["hi998"], strict=True)],
                             "Position": shown["outside"]})  # fmt: skip
        limits = None
        if curves is not None:
            limits = curves[(curves["wave"] == ctx.wave) & (curves["indicator"] == ind)]
        figs.append(figure(plots.funnel_plot(f, labels[ind], ctx.meta["sites"], limits), how, data))
    return stack(*figs)


def site_heatmap(ctx: Context) -> HTML:
    """Sites x headline indicators: difference from the rest of the sites."""
    heat = ctx.tables["site_heatmap"]
    heat = heat[heat["wave"] == ctx.wave]
    labels = {i.id: i.label for i in ctx.codebook.indicators}
    fig = plots.site_indicator_heatmap(
        heat, ctx.meta["sites"], labels, f"Sites compared with the rest ({ctx.wave})"
    )
    level, sentence = family_caption(heat)
    shown = heat[heat["diff"].notna()]
    data = pd.DataFrame({"Site": shown["scope"].map(lambda x: ctx.meta["sites"].get(x, x)),
                         "Indicator": shown["indicator"].map(labels),
                         "Difference (points)": [signed(d) for d in shown["diff"]],
                         f"{level} CI (points)": [cell_ci(lo, hi, "points") for lo, hi in zip(shown["ci_low"], shown["ci_high"], strict=True)],
                         "Significant": ["yes" if v else "no" for v in shown["significant"]]})  # fmt: skip
    return figure(fig, "* the site differs significantly from the rest of the sites. "
                       + sentence.replace("in this table", "in this figure")
                       + " Blank cells are suppressed (too few respondents).", data)  # fmt: skip


def trend_figure(ctx: Context) -> HTML | Markdown:
    """Each headline indicator over the waves, this site beside all sites (95% CIs)."""
    if len(ctx.meta["waves"]) < 2:
        return Markdown("")
    ind = ctx.tables["indicators"]
    here = ind[ind["scope"] == ctx.scope]
    nat = ind[ind["scope"] == NATIONAL]
    fig = plots.trend_chart(here if ctx.is_site else None, nat, ctx.meta["waves"],
                            f"Headline indicators over the waves, {ctx.name}")  # fmt: skip
    data = pd.concat([here.assign(Scope=ctx.name), nat.assign(Scope="All sites")] if ctx.is_site
                     else [nat.assign(Scope="All sites")])  # fmt: skip
    data = pd.DataFrame({"Scope": data["Scope"], "Indicator": data["label"], "Wave": data["wave"],
                         "%": [cell_pct(v) for v in data["estimate"]],
                         "95% CI": [cell_ci(lo, hi) for lo, hi in zip(data["ci_low"], data["ci_high"], strict=True)]})  # fmt: skip
    return figure(fig, "Dots are the survey waves; bars are 95% confidence intervals; gaps are "
                       "suppressed values.", data)  # fmt: skip
