"""At a glance: the first screen of a report (scorecard, what stands out, questions to consider)."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
from IPython.display import HTML

from hsc_research.report import findings
from hsc_research.report.context import Context
from hsc_research.report.formatting import pct, signed
from hsc_research.report.tables import cell_ci, cell_pct, family_caption, html_table

#: Symbols beside flags: the meaning never rests on colour alone.
FLAG_SYMBOL = {"significantly higher": "\u25b2 higher", "significantly lower": "\u25bc lower",
               "no evidence of a difference": "\u25cf in line"}  # fmt: skip


def _glance_rows(svr: pd.DataFrame) -> pd.DataFrame:
    shown = svr[~svr["suppressed"].astype(bool)]
    return shown.assign(
        _rank=np.where(shown["significant"].astype(bool), 0, 1),
        _size=-shown["diff"].abs(),
    ).sort_values(["_rank", "_size"])


def at_a_glance(ctx: Context) -> HTML:
    """The first screen: scorecard, what stands out, questions to consider.

    Site reports: each headline indicator here, in the rest of the sites, the difference
    with its interval (the gap analysis's family) and the flag in words and a symbol.
    The national report: each indicator nationally, its change since the previous wave
    and how many sites differ from the rest.
    """
    return _glance_site(ctx) if ctx.is_site else _glance_national(ctx)


def _glance_site(ctx: Context) -> HTML:
    svr = ctx.t("site_vs_rest")
    level, sentence = family_caption(svr)
    card = pd.DataFrame({
        "Indicator": svr["label"].to_numpy(),
        "This site": [cell_pct(v) for v in svr["p1"]],
        "Rest of sites": [cell_pct(v) for v in svr["p2"]],
        "Difference (points)": [pd.NA if pd.isna(d) else signed(d) for d in svr["diff"]],
        f"{level} CI (points)": [cell_ci(lo, hi, "points") for lo, hi in zip(svr["ci_low"], svr["ci_high"], strict=True)],
        "Flag": [pd.NA if pd.isna(f) or s else FLAG_SYMBOL.get(f, f)
                 for f, s in zip(svr["flag"], svr["suppressed"].astype(bool), strict=True)],
    })  # fmt: skip
    parts = [html_table(card, f"Scorecard, {ctx.name}, {ctx.wave}: this site against the rest of the sites. "
                              f"{sentence} \u25b2 higher, \u25bc lower, \u25cf in line (no evidence of a difference).",
                        ctx.min_cell).data]  # fmt: skip
    ranked = _glance_rows(svr)
    stand = []
    for _, r in ranked.head(3).iterrows():
        ci = cell_ci(r["ci_low"], r["ci_high"], "points")
        if r["significant"]:
            why = (f"{'higher' if r['diff'] > 0 else 'lower'} than the rest of the sites by "
                   f"{abs(findings.points(r['diff']))} points ({level} CI {ci} points)")  # fmt: skip
        else:
            why = (f"the largest remaining gap, {signed(r['diff'])} points, but within what chance "
                   f"allows ({level} CI {ci} points)")  # fmt: skip
        stand.append(f"<li><strong>{html.escape(str(r['label']))}</strong>: {pct(r['p1'])} here, "
                     f"{pct(r['p2'])} elsewhere; {html.escape(why)}.</li>")  # fmt: skip
    parts.append("<h3>What stands out</h3>" + (f"<ol>{''.join(stand)}</ol>" if stand else
                 "<p>Too few respondents here to compare any indicator.</p>"))  # fmt: skip
    parts.append("<h3>Questions to consider</h3><ul>" + "".join(
        f"<li>{html.escape(q)}</li>" for q in _questions(svr)) + "</ul>")  # fmt: skip
    return HTML("".join(parts))


def _questions(svr: pd.DataFrame) -> list[str]:
    """Prompts for the site's discovery workshop, from its gap analysis."""
    shown = svr[~svr["suppressed"].astype(bool)]
    out = []
    for _, r in shown[shown["significant"].astype(bool)].iterrows():
        label = str(r["label"])
        if r["diff"] < 0:
            out.append(f"{label}: {pct(r['p1'])} here against {pct(r['p2'])} elsewhere. "
                       "What is different here, and who could help explain it?")  # fmt: skip
        else:
            out.append(f"{label}: {pct(r['p1'])} here against {pct(r['p2'])} elsewhere. "
                       "What works here that other sites could learn from?")  # fmt: skip
    in_line = shown[~shown["significant"].astype(bool)]
    if len(in_line):
        names = "; ".join(str(x) for x in in_line["label"].head(3))
        out.append(f"In line with other sites on {len(in_line)} indicator(s) (for example {names}). "
                   "Is being typical good enough where the national picture is poor?")  # fmt: skip
    hidden = svr[svr["suppressed"].astype(bool)]
    if len(hidden):
        out.append(f"{len(hidden)} indicator(s) had too few respondents here to report. "
                   "Could more staff from those groups take part next time?")  # fmt: skip
    return out[:5]


def _glance_national(ctx: Context) -> HTML:
    ind = ctx.t("indicators")
    heat = ctx.tables["site_heatmap"]
    heat = heat[heat["wave"] == ctx.wave]
    ch = ctx.t("indicator_change", wave=None) if "indicator_change" in ctx.tables else None
    rows = []
    for _, r in ind.iterrows():
        h = heat[heat["indicator"] == r["indicator"]]
        sig = h["significant"].fillna(0).astype(bool)
        row = {"Indicator": r["label"], "All sites": cell_pct(r["estimate"]),
               "95% CI": cell_ci(r["ci_low"], r["ci_high"]),
               "Sites higher than the rest": int((sig & (h["diff"] > 0)).sum()),
               "Sites lower than the rest": int((sig & (h["diff"] < 0)).sum())}  # fmt: skip
        if ch is not None and ctx.previous_wave is not None:
            c = ch[ch["indicator"] == r["indicator"]]
            if len(c):
                c = c.iloc[0]
                row[f"Change since {ctx.previous_wave} (points)"] = (
                    pd.NA if pd.isna(c["diff"]) else
                    f"{signed(c['diff'])} ({cell_ci(c['ci_low'], c['ci_high'], 'points')}) "
                    + ("\u25b2" if c["significant"] and c["diff"] > 0 else
                       "\u25bc" if c["significant"] else "\u25cf")
                )  # fmt: skip
        rows.append(row)
    level, sentence = family_caption(heat)
    caption = (f"Scorecard, all sites, {ctx.wave}. Sites higher or lower: the national heatmap's "
               f"comparisons of each site with the rest ({level} intervals). Change: \u25b2 up, "
               "\u25bc down, \u25cf no evidence of change (intervals of the change table).")  # fmt: skip
    out = html_table(pd.DataFrame(rows), caption, ctx.min_cell).data
    fun = ctx.tables["funnel"]
    fun = fun[(fun["wave"] == ctx.wave) & fun["estimate"].notna()]
    far = fun[fun["outside"].str.contains("99.8", regex=False)]
    labels = {i.id: i.label for i in ctx.codebook.indicators}
    items = [f"<li>{html.escape(ctx.meta['sites'].get(r['scope'], r['scope']))}: "
             f"{html.escape(labels.get(r['indicator'], r['indicator']))} "
             f"({pct(r['estimate'])}, {r['outside']} limit)</li>" for _, r in far.iterrows()]  # fmt: skip
    out += ("<h3>What stands out</h3><p>Sites outside the range sites usually vary within "
            "(99.8% funnel limits, allowing for genuine differences between sites):</p>"
            + (f"<ul>{''.join(items[:10])}</ul>" if items else "<p>None.</p>"))  # fmt: skip
    return HTML(out)
