"""What the report notebooks display: context, headline text, tables and figures.

Notebooks stay thin: each cell calls one function here and displays what it returns.
Everything is read from the aggregates (``data/processed/aggregates``), which are
already disclosure-controlled; nothing here computes a statistic. Text from the data is
HTML-escaped; hidden values print as "suppressed (n<10)", never as 0.
"""

from __future__ import annotations

import base64
import html
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import HTML, Markdown

from hsc_research import findings, plots
from hsc_research.aggregate.io import CODEBOOK_NAME, NATIONAL, read, text_sha256
from hsc_research.config import MIN_CELL
from hsc_research.errors import InputError
from hsc_research.formatting import bound, fixed, pct, pct_value, signed
from hsc_research.instrument import Codebook, load_codebook
from hsc_research.stats.disclosure import suppressed_text
from hsc_research.stats.multiplicity import CORRECTIONS, interval_label


@dataclass
class Context:
    """The aggregates and the parameters of one report."""

    tables: Mapping[str, pd.DataFrame]
    meta: dict
    codebook: Codebook
    scope: str  # a site id or NATIONAL
    wave: int
    previous_wave: int | None
    min_cell: int

    @property
    def is_site(self) -> bool:
        return self.scope != NATIONAL

    @property
    def name(self) -> str:
        """Display name of the scope."""
        return self.meta["sites"].get(self.scope, self.scope) if self.is_site else "All sites"

    @property
    def where(self) -> str:
        return "this site" if self.is_site else "all sites"

    def t(
        self, name: str, scope: str | None = None, wave: int | None | bool = True
    ) -> pd.DataFrame:
        """Rows of aggregate ``name`` for a scope (default the report's) and wave
        (default the report's; ``None`` for all waves)."""
        table = self.tables[name]
        table = table[table["scope"] == (scope or self.scope)] if "scope" in table else table
        if wave is True:
            wave = self.wave
        if wave is not None and "wave" in table:
            table = table[table["wave"] == wave]
        return table

    @property
    def scopes(self) -> list[tuple[str, str]]:
        """(scope, display name) to show: the site and the nation, or the nation."""
        national = (NATIONAL, "All sites")
        return [(self.scope, self.name), national] if self.is_site else [national]

    @property
    def prof_labels(self) -> dict[str, str]:
        return {p.id: p.short for p in self.codebook.professions}


def load_context(
    aggregates_dir: str | Path,
    site: str | None = None,
    wave: int | None = None,
    previous_wave: int | None = None,
    min_cell: int = MIN_CELL,
    codebook: str | Path | None = None,
) -> Context:
    """Read the aggregates for a site report (``site`` given) or the national report.

    ``wave`` defaults to the latest wave, ``previous_wave`` to the one before it. The
    codebook is the one the aggregates were computed with (``codebook.yaml`` beside
    them); ``codebook``, when given, must be that same file's text.
    """
    folder = Path(aggregates_dir).resolve()
    # A site report reads only its own rows and the national ones.
    tables, meta = read(folder, scopes=[site, NATIONAL] if site else None)
    if meta.get("min_cell") != min_cell:
        raise InputError(
            f"aggregates were computed with min_cell={meta.get('min_cell')}, report asks for "
            f"{min_cell}; run `hsc-research aggregate --min-cell {min_cell}`"
        )
    scope = site or NATIONAL
    if site is not None and site not in meta["sites"]:
        raise InputError(
            f"site {site!r} is not in the aggregates; known: {', '.join(sorted(meta['sites']))}"
        )
    waves = meta["waves"]
    wave = wave or waves[-1]
    if wave not in waves:
        raise InputError(f"wave {wave} is not in the data; waves: {', '.join(map(str, waves))}")
    earlier = [w for w in waves if w < wave]
    previous = previous_wave or (earlier[-1] if earlier else None)
    return Context(tables, meta, _codebook(folder, meta, codebook), scope, wave, previous, min_cell)


def _codebook(folder: Path, meta: dict, given: str | Path | None) -> Codebook:
    """The aggregates' own codebook: labels in the tables match it, not the packaged one."""
    copy = folder / CODEBOOK_NAME
    if not copy.is_file():
        raise InputError(f"{copy}: not found; run `hsc-research aggregate` again")
    if given is not None and text_sha256(Path(given)) != meta.get("codebook_sha256"):
        raise InputError(
            f"{given}: not the codebook the aggregates were computed with ({copy}); leave "
            f"codebook out, or run `hsc-research --codebook {given} aggregate`"
        )
    return load_codebook(copy)


# ----------------------------------------------------------------------------- text


#: Line breaks (``str.splitlines`` breaks on all of them): one would start a new
#: Markdown block, e.g. a heading, inside a site name.
_LINE_BREAKS = re.compile(r"[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]+")
#: ASCII punctuation that Markdown (and nbconvert's mistune: math, URLs) gives meaning;
#: CommonMark shows a backslash-escaped one literally. ``&`` and ``;`` stay for the
#: entities html.escape writes; ``:`` keeps ``https://`` from becoming a link.
_MD_SPECIAL = frozenset("\\`*_[]{}()#+-.!|~<>$:=^\"'")


def _md(text: str) -> str:
    """Text from the data made plain text in Markdown: one line, HTML escaped, and
    headings, emphasis, links, bare URLs and math inert."""
    escaped = html.escape(_LINE_BREAKS.sub(" ", str(text)), quote=False)
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in escaped)


def title(ctx: Context) -> Markdown:
    """Report title and one line on what it covers."""
    kind = "Site report" if ctx.is_site else "National report"
    waves = ", ".join(map(str, ctx.meta["waves"]))
    return Markdown(
        f"# {_md(ctx.name)}: staff survey at the health and social care interface\n\n"
        f"{kind} for the {ctx.wave} survey (waves in the data: {waves}). "
        f"Percentages are of substantive answers; intervals are 95% confidence intervals."
    )


def headlines(ctx: Context) -> Markdown:
    """Five to eight sentences written by :mod:`hsc_research.findings`; what they quote
    is named in the codebook's ``reports`` section."""
    where = ctx.where
    spec = ctx.codebook.reports
    freq = ctx.t("frequency")
    all_raters = freq[freq["rater"] == "all"]
    sentences = [findings.tag_share_sentence(ctx.t("tag_share"), where)]
    phrases = spec.frequency_phrases if spec else {}
    for q in ctx.codebook.questions:
        if not q.by_profession:
            sentences.append(findings.top_item_sentence(
                all_raters[all_raters["question"] == q.id],
                phrases.get(q.id, f"item of {q.short.lower()}"), where))  # fmt: skip
    if spec is None:
        return Markdown("\n".join(f"- {_md(s)}" for s in sentences))
    sv = ctx.t("self_vs_others")
    view = spec.self_view
    row = sv[(sv["question"] == view["question"]) & (sv["target"] == view["target"])]
    if len(row):
        sentences.append(findings.compare_sentence(
            row.iloc[0], view["subject"], "their own view", "the view of other professions"))  # fmt: skip
    headline = ctx.codebook.indicator(spec.headline_indicator)
    share = f"The share of {headline.label[0].lower()}{headline.label[1:]}"
    if ctx.is_site:
        svr = ctx.t("site_vs_rest")
        row = svr[svr["indicator"] == headline.id]
        if len(row):
            sentences.append(
                findings.compare_sentence(row.iloc[0], share, "this site", "the rest of the sites")
            )
    else:
        pair, labels = spec.trust_pair, ctx.prof_labels
        gaps_ = ctx.t("trust_gaps")
        row = gaps_[(gaps_["a"] == pair["a"]) & (gaps_["b"] == pair["b"])]
        if len(row):
            sentences.append(findings.compare_sentence(
                row.iloc[0], pair["subject"], f"{labels[pair['a']]}'s view of {labels[pair['b']]}",
                f"{labels[pair['b']]}'s view of {labels[pair['a']]}"))  # fmt: skip
    sentences.append(findings.tie_sentence(ctx.t("ties"), ctx.prof_labels, where))
    if ctx.previous_wave is not None and "indicator_change" in ctx.tables:
        ch = ctx.t("indicator_change", wave=None)
        row = ch[ch["indicator"] == headline.id]
        if len(row):
            sentences.append(findings.compare_sentence(
                row.iloc[0], f"{share} ({ctx.wave} vs {ctx.previous_wave})",
                str(ctx.wave), str(ctx.previous_wave)))  # fmt: skip
    if ctx.is_site:
        sentences.append(findings.significant_count_sentence(ctx.t("site_vs_rest")))
    return Markdown("\n".join(f"- {_md(s)}" for s in sentences))


# ----------------------------------------------------------------------------- tables


def html_table(table: pd.DataFrame, caption: str, min_cell: int = MIN_CELL) -> HTML:
    """An escaped HTML table; missing values read as suppressed."""
    # to_html's na_rep misses pd.NA in object columns: replace every missing value here.
    table = table.astype(object).where(table.notna(), suppressed_text(min_cell))
    body = table.to_html(
        index=False, escape=True, na_rep=suppressed_text(min_cell), classes="report-table", border=0
    )
    body = body.replace("<table", f'<table aria-label="{html.escape(caption)}"', 1)
    # Wide tables scroll sideways inside their own box on narrow screens.
    return HTML(f'<p><strong>{html.escape(caption)}</strong></p><div class="table-scroll" '
                f'tabindex="0" role="region" aria-label="{html.escape(caption[:80])}">{body}</div>')  # fmt: skip


def _fmt_pct(v) -> object:
    return pd.NA if pd.isna(v) else pct(v)


def _fmt_ci(lo, hi, unit="%") -> object:
    if pd.isna(lo) or pd.isna(hi):
        return pd.NA
    if unit == "%":
        return f"{pct(lo)} to {pct(hi)}"
    return f"{bound(lo)} to {bound(hi)}"


def _family(rows: pd.DataFrame) -> tuple[str, str]:
    """(column header level, caption sentence) for the one family a table shows."""
    m = int(rows["family_size"].max()) if "family_size" in rows and len(rows) else 0
    name = str(rows["correction"].iloc[0]) if "correction" in rows and len(rows) else ""
    correction = next((k for k, v in CORRECTIONS.items() if v == name), "bonferroni")
    label = interval_label(max(m, 1), correction=correction)
    level = label.split(" CI")[0]
    if m > 1 and correction != "none":
        sentence = (f"Intervals are {level} intervals, {CORRECTIONS[correction]}-adjusted for the "
                    f"{m} comparisons in this table; a difference is significant exactly when its "
                    "interval excludes 0.")  # fmt: skip
    else:
        sentence = (
            f"{level} intervals; a difference is significant exactly when its interval excludes 0."
        )
    return level, sentence


def _fmt_n(v) -> object:
    return pd.NA if pd.isna(v) else str(int(v))


def profile_table(ctx: Context) -> HTML:
    """Respondents by group, profession and role level (rows) and wave (columns)."""
    prof = ctx.t("profile", wave=None).copy()
    prof["cell"] = [
        pd.NA if pd.isna(n) else f"{int(n)} ({pct_value(p)})"
        for n, p in zip(prof["n"], prof["pct"], strict=True)
    ]
    names = {"group": "Group", "profession": "Profession", "role_level": "Role level", "all": "All"}
    prof["Breakdown"] = prof["dimension"].map(names)
    prof["Category"] = prof["label"]
    wide = prof.pivot(index=["Breakdown", "Category"], columns="wave", values="cell")
    order = list(dict.fromkeys(zip(prof["Breakdown"], prof["Category"], strict=True)))
    wide = wide.reindex(
        pd.MultiIndex.from_tuples(order, names=["Breakdown", "Category"])
    ).reset_index()
    wide.columns = [str(c) for c in wide.columns]
    return html_table(wide, f"Respondents, {ctx.name}: number (% of the wave)", ctx.min_cell)


def _diff_table(rows: pd.DataFrame, label_cols: dict[str, str], p1: str, p2: str) -> pd.DataFrame:
    out = pd.DataFrame({v: rows[k].to_numpy() for k, v in label_cols.items()})
    out[p1] = [_fmt_pct(v) for v in rows["p1"]]
    out[p2] = [_fmt_pct(v) for v in rows["p2"]]
    level, _ = _family(rows)
    out["Difference (points)"] = [pd.NA if pd.isna(d) else signed(d) for d in rows["diff"]]
    out[f"{level} CI (points)"] = [
        _fmt_ci(lo, hi, "points") for lo, hi in zip(rows["ci_low"], rows["ci_high"], strict=True)
    ]
    out["Significant"] = [pd.NA if pd.isna(lo) else ("yes" if s else "no")
                          for lo, s in zip(rows["ci_low"], rows["significant"], strict=True)]  # fmt: skip
    return out


def gap_analysis(ctx: Context) -> HTML:
    """Site vs rest of sites on every headline indicator, with flags."""
    svr = ctx.t("site_vs_rest")
    table = _diff_table(svr, {"label": "Indicator"}, "This site", "Rest of sites")
    table["Flag"] = svr["flag"].where(~svr["suppressed"].to_numpy(), pd.NA).to_numpy()
    level, sentence = _family(svr)
    if "std_diff" in svr:
        table["Standardised difference (points)"] = [
            pd.NA if pd.isna(d) else signed(d) for d in svr["std_diff"]
        ]
        table[f"{level} CI, standardised (points)"] = [
            _fmt_ci(lo, hi, "points")
            for lo, hi in zip(svr["std_ci_low"], svr["std_ci_high"], strict=True)
        ]
    if "funnel" in ctx.tables:
        fun = ctx.t("funnel").set_index("indicator")
        words = {"within": "within the expected range",
                 "above 95%": "above the expected range (95% limit)",
                 "below 95%": "below the expected range (95% limit)",
                 "above 99.8%": "well above the expected range (99.8% limit)",
                 "below 99.8%": "well below the expected range (99.8% limit)"}  # fmt: skip
        table["Variation between sites (funnel)"] = [
            pd.NA if ind not in fun.index or pd.isna(fun.loc[ind, "estimate"])
            else words.get(fun.loc[ind, "outside"], pd.NA)
            for ind in svr["indicator"]
        ]  # fmt: skip
    return html_table(table, f"Gap analysis, {ctx.wave}: {ctx.name} vs the rest of the sites "
                             f"(Newcombe intervals). {sentence} Standardised: both sides weighted to the "
                             "national profession mix of the indicator's raters (Wald interval at the same level). "
                             "The last column asks a different question: is this site outside the range that "
                             "sites usually vary within (funnel limits allowing for genuine differences "
                             "between sites)? A site can differ from the rest and still be within that range.",
                      ctx.min_cell)  # fmt: skip


def change_table(ctx: Context) -> HTML | Markdown:
    """Headline indicators, this wave vs the previous one."""
    if ctx.previous_wave is None or "indicator_change" not in ctx.tables:
        return Markdown("There is no earlier wave to compare with.")
    ch = ctx.t("indicator_change", wave=None)
    table = _diff_table(ch, {"label": "Indicator"}, str(ctx.wave), str(ctx.previous_wave))
    return html_table(table, f"Change from {ctx.previous_wave} to {ctx.wave}, {ctx.name} "
                             f"(Newcombe intervals). {_family(ch)[1]}", ctx.min_cell)  # fmt: skip


def self_view_table(ctx: Context, question: str = "discharge_influence") -> HTML:
    """Each profession's view of itself vs others' view of it, here and nationally."""
    scale = ctx.codebook.scale_of(question)
    parts = []
    for scope, name in ctx.scopes:
        sv = ctx.t("self_vs_others", scope=scope)
        sv = sv[sv["question"] == question]
        t = _diff_table(sv.assign(target=sv["target"].map(ctx.prof_labels)), {"target": "Profession"},
                        "Own view", "Others' view")  # fmt: skip
        parts.append(html_table(t, f"{name}: % saying decisions by each profession {scale.high_label}ly "
                                   f"prevent discharge, the profession's own view vs other professions' view. "
                                   f"{_family(sv)[1]}", ctx.min_cell))  # fmt: skip
    return HTML("".join(p.data for p in parts))


def trust_gap_table(ctx: Context) -> HTML:
    """Directional trust between ASC and the hospital professions."""
    parts = []
    for scope, name in ctx.scopes:
        g = ctx.t("trust_gaps", scope=scope)
        t = _diff_table(g.assign(pair=g["a"].map(ctx.prof_labels) + " and " + g["b"].map(ctx.prof_labels)),
                        {"pair": "Pair"}, "First trusts second", "Second trusts first")  # fmt: skip
        parts.append(html_table(t, f"{name}: directional trust, % agreeing they trust the other. "
                                   f"{_family(g)[1]}", ctx.min_cell))  # fmt: skip
    return HTML("".join(p.data for p in parts))


# ----------------------------------------------------------------------------- figures


def figure(fig, caption: str | None = None, data: pd.DataFrame | None = None) -> HTML:
    """Embed a figure as SVG (text kept as text, so it scales and reads at body size),
    with its alt text, a caption and, when given, its data as a table a screen reader
    can reach (collapsed). Closes the figure."""
    buf = io.BytesIO()
    # Layout is already tight (plots call tight_layout); bbox_inches="tight" would draw twice.
    with plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": "hsc-research"}):
        fig.savefig(buf, format="svg")
    plt.close(fig)
    src = base64.b64encode(buf.getvalue()).decode("ascii")
    cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    table = ""
    if data is not None and len(data):
        body = (
            data.astype(object)
            .where(data.notna(), "suppressed")
            # A named column axis (a pivot's) would add a header over empty row headers.
            .rename_axis(columns=None)
            .to_html(index=False, escape=True, classes="report-table", border=0)
        )
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
                         "% frequently": [_fmt_pct(v) for v in data["estimate"]],
                         "95% CI": [_fmt_ci(lo, hi) for lo, hi in zip(data["ci_low"], data["ci_high"], strict=True)],
                         "n": [_fmt_n(v) for v in data["n"]]})  # fmt: skip
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
        return figure(plots.diverging_bars(d, scale, f"Trust, {name} ({ctx.wave})"), None, data)

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
                             "n": [_fmt_n(v) for v in cells["n"]]})  # fmt: skip
        return figure(
            plots.matrix_heatmap(m, order, ctx.prof_labels, f"Relationships, {name} ({ctx.wave})"),
            None,
            data,
        )

    parts = [one(ctx.scope, ctx.name)] + ([one(NATIONAL, "all sites")] if ctx.is_site else [])
    asym = ctx.t("asymmetry")
    parts.append(figure(plots.asymmetry_heatmap(asym, order, ctx.prof_labels,
                                                f"Asymmetry of relationships, {ctx.name} ({ctx.wave})"),
                        "Positive: the row profession rates the column profession higher than the reverse. "
                        "* the difference is significant: its Welch t interval excludes 0. "
                        + _family(asym)[1].replace("in this table", "in this figure"),
                        pd.DataFrame({"Pair": asym["a"].map(ctx.prof_labels) + " and " + asym["b"].map(ctx.prof_labels),
                                      "First rates second minus reverse": [fixed(v, 2) for v in asym["diff"]],
                                      f"{_family(asym)[0]} CI": [f"{fixed(lo, 2)} to {fixed(hi, 2)}" for lo, hi in
                                                                 zip(asym["ci_low"], asym["ci_high"], strict=True)],
                                      "Significant": ["yes" if v else "no" for v in asym["significant"]]})))  # fmt: skip
    return stack(*parts)


def funnel_figures(ctx: Context) -> HTML:
    """A funnel plot for every headline indicator (latest wave)."""
    fun = ctx.tables["funnel"]
    fun = fun[fun["wave"] == ctx.wave]
    labels = {i.id: i.label for i in ctx.codebook.indicators}
    figs = []
    for ind in labels:
        f = fun[fun["indicator"] == ind]
        if not len(f):
            continue
        r = f.iloc[0]
        if bool(r["adjusted"]):
            how = (f"Overdispersed (phi = {fixed(r['phi'], 1)}, test p {_p(r['od_p'])}): limits widened "
                   f"for between-site variation, tau = {fixed(100 * np.sqrt(r['tau2']), 1)} points.")  # fmt: skip
        else:
            how = (f"No evidence of overdispersion (phi = {fixed(r['phi'], 1)}, test p {_p(r['od_p'])}): "
                   "exact binomial limits.")  # fmt: skip
        shown = f[f["estimate"].notna()]
        data = pd.DataFrame({"Site": shown["scope"].map(lambda x: ctx.meta["sites"].get(x, x)),
                             "n": [_fmt_n(v) for v in shown["n"]],
                             "%": [_fmt_pct(v) for v in shown["estimate"]],
                             "95% limits": [_fmt_ci(lo, hi) for lo, hi in zip(shown["lo95"], shown["hi95"], strict=True)],
                             "99.8% limits": [_fmt_ci(lo, hi) for lo, hi in zip(shown["lo998"], shown["hi998"], strict=True)],
                             "Position": shown["outside"]})  # fmt: skip
        figs.append(figure(plots.funnel_plot(f, labels[ind], ctx.meta["sites"]), how, data))
    return stack(*figs)


def _p(p: float) -> str:
    """A p-value as printed: "< 0.001" or three decimals."""
    return "n/a" if pd.isna(p) else ("< 0.001" if p < 0.001 else f"= {fixed(p, 3)}")


def site_heatmap(ctx: Context) -> HTML:
    """Sites x headline indicators: difference from the rest of the sites."""
    heat = ctx.tables["site_heatmap"]
    heat = heat[heat["wave"] == ctx.wave]
    labels = {i.id: i.label for i in ctx.codebook.indicators}
    fig = plots.site_indicator_heatmap(
        heat, ctx.meta["sites"], labels, f"Sites compared with the rest ({ctx.wave})"
    )
    level, sentence = _family(heat)
    shown = heat[heat["diff"].notna()]
    data = pd.DataFrame({"Site": shown["scope"].map(lambda x: ctx.meta["sites"].get(x, x)),
                         "Indicator": shown["indicator"].map(labels),
                         "Difference (points)": [signed(d) for d in shown["diff"]],
                         f"{level} CI (points)": [_fmt_ci(lo, hi, "points") for lo, hi in zip(shown["ci_low"], shown["ci_high"], strict=True)],
                         "Significant": ["yes" if v else "no" for v in shown["significant"]]})  # fmt: skip
    return figure(fig, "* the site differs significantly from the rest of the sites. "
                       + sentence.replace("in this table", "in this figure")
                       + " Blank cells are suppressed (too few respondents).", data)  # fmt: skip


# ----------------------------------------------------------------------------- methods


def quality_table(ctx: Context) -> HTML:
    """Exclusions by reason for the report's scope."""
    q = ctx.t("exclusions", wave=None)
    if q.empty:
        return HTML("<p>No record was excluded.</p>")
    q = q[["level", "description", "records", "answers"]].rename(
        columns={
            "level": "Level",
            "description": "Reason",
            "records": "Records",
            "answers": "Answer cells removed",
        }
    )
    return html_table(q, f"Exclusions during cleaning, {ctx.name}", ctx.min_cell)


def methods(ctx: Context) -> Markdown:
    """Suppression rule and what was suppressed, tests, provenance."""
    b = ctx.t("bases", wave=None)
    hidden = int(b["hidden"].sum())
    tests = "\n".join(
        f"  - {_md(k.replace('_', ' '))}: {_md(v)}" for k, v in ctx.meta["tests"].items()
    )
    model = ctx.tables.get("ordinal_model")
    note = ""
    if model is not None and len(model) and "note" in model and model["note"].notna().any():
        note = f" ({_md(str(model['note'].dropna().iloc[0]))})"
    return Markdown(
        f"- **Disclosure control**: no published number rests on fewer than {ctx.min_cell} respondents. "
        f"Cells below that, and any cell that would let one be recovered by subtraction from a published "
        f"total (professions add up to groups, groups to all raters, sites to the nation), read "
        f"*{suppressed_text(ctx.min_cell)}*. In this report's scope {hidden} of {len(b)} answer bases "
        f"are suppressed. Exclusion counts describe records, not people, and are shown in full.\n"
        f"- **Tests and intervals**:\n{tests}\n"
        f"- **One rule for significance**: a difference is called significant exactly when the "
        f"interval printed beside it excludes 0. Where a table or figure shows several comparisons "
        f"(a *family*: what one reader sees in one place), every interval in it is a "
        f"{ctx.meta['correction']}-adjusted interval at level 1 - 0.05/m for the m comparisons it shows "
        f"(for example 99.44% for 9), so that all of them hold together with 95% confidence; the "
        f"level and m are printed with each table. Families: a site's gap analysis (its own "
        f"indicators), each directional-trust and self-view table (its own rows), the change table, "
        f"the asymmetry figure (its pairs) and the national sites x indicators heatmap (all of its "
        f"cells). Bonferroni rather than Holm: Holm's decisions have no matching interval, so its flags "
        f"could not be checked against the interval beside them.\n"
        f"- **Differs from the rest of the sites** (gap analysis) and **outside the expected "
        f"variation between sites** (funnel plots) answer different questions. The first asks whether "
        f"this site's figure is different from everyone else's taken together; the second whether it "
        f"is more extreme than sites usually are, allowing for the genuine differences between sites "
        f"(Spiegelhalter 2005: when the sites vary more than chance allows, by the test of the "
        f"overdispersion factor phi, the funnel limits are widened by the between-site variance tau^2). "
        f"A site can differ from the rest yet be within the expected variation: a difference worth "
        f"discussing locally, not a sign of special cause.\n"
        f"- **Standardised comparison**: group indicators mix professions in different proportions "
        f"at each site; the gap analysis also shows both sides directly standardised to the national "
        f"profession mix of the indicator's raters (variance sum of w^2 p (1 - p) / n over professions, "
        f"Wald interval at the table's level). Not shown where a profession has fewer than "
        f"{ctx.min_cell} respondents at the site.\n"
        f"- **Check model**: the ordinal model table in the national report{note}.\n"
        f"- **Package**: hsc-research {ctx.meta['package_version']}; codebook `{ctx.meta['codebook']}`.\n"
        f"- **Input data** (SHA-256 of the cleaned tables): `{ctx.meta['input_sha256'][:16]}`.\n"
        f"- **Run date**: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC."
    )


def accounting_text(ctx: Context) -> Markdown:
    """Row accounting in one sentence."""
    m = ctx.meta
    excluded = m["raw_rows"] - m["kept_respondents"]
    return Markdown(
        f"Rows in the export: {m['raw_rows']} = {m['kept_respondents']} kept + {excluded} excluded. "
        "Non-substantive answers (don't know, not applicable, blank) are kept in the data and left "
        "out of every percentage base."
    )


def model_table(ctx: Context) -> HTML | Markdown:
    """The proportional-odds check model (national)."""
    m = ctx.tables.get("ordinal_model")
    if m is None or m.empty or m["term"].isna().all():
        reason = ""
        if m is not None and len(m) and "error" in m and m["error"].notna().any():
            reason = f" ({_md(str(m['error'].dropna().iloc[0]))})"
        return Markdown(f"The ordinal model could not be fitted on these data{reason}.")
    coef = m[m["kind"] == "coefficient"]
    t = pd.DataFrame({
        "Term": coef["term"].to_numpy(),
        "Odds ratio": [fixed(v, 2) for v in coef["odds_ratio"]],
        "95% CI": [f"{fixed(lo, 2)} to {fixed(hi, 2)}" for lo, hi in zip(coef["or_low"], coef["or_high"], strict=True)],
        "p": [_p(p).removeprefix("= ") for p in coef["p"]],
    })  # fmt: skip
    note = m["note"].dropna().iloc[0] if "note" in m and m["note"].notna().any() else None
    spec = ctx.codebook.reports.check_model if ctx.codebook.reports else {}
    ref = {g.id: g.short for g in ctx.codebook.groups}.get(
        spec.get("reference_group"), "the first group"
    )
    return html_table(t, f"{m['model'].iloc[0]} (n={int(m['nobs'].iloc[0])}); reference: {ref}, "
                         "first site and wave. Odds ratio > 1: more likely to agree. Wald 95% intervals and "
                         "p-values (no multiplicity adjustment: the model is a check, not a ranking)."
                         + (f" Note: {note}." if note else ""), ctx.min_cell)  # fmt: skip


# ----------------------------------------------------------------------------- at a glance

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
    level, sentence = _family(svr)
    card = pd.DataFrame({
        "Indicator": svr["label"].to_numpy(),
        "This site": [_fmt_pct(v) for v in svr["p1"]],
        "Rest of sites": [_fmt_pct(v) for v in svr["p2"]],
        "Difference (points)": [pd.NA if pd.isna(d) else signed(d) for d in svr["diff"]],
        f"{level} CI (points)": [_fmt_ci(lo, hi, "points") for lo, hi in zip(svr["ci_low"], svr["ci_high"], strict=True)],
        "Flag": [pd.NA if pd.isna(f) or s else FLAG_SYMBOL.get(f, f)
                 for f, s in zip(svr["flag"], svr["suppressed"].astype(bool), strict=True)],
    })  # fmt: skip
    parts = [html_table(card, f"Scorecard, {ctx.name}, {ctx.wave}: this site against the rest of the sites. "
                              f"{sentence} \u25b2 higher, \u25bc lower, \u25cf in line (no evidence of a difference).",
                        ctx.min_cell).data]  # fmt: skip
    ranked = _glance_rows(svr)
    stand = []
    for _, r in ranked.head(3).iterrows():
        ci = _fmt_ci(r["ci_low"], r["ci_high"], "points")
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
        row = {"Indicator": r["label"], "All sites": _fmt_pct(r["estimate"]),
               "95% CI": _fmt_ci(r["ci_low"], r["ci_high"]),
               "Sites higher than the rest": int((sig & (h["diff"] > 0)).sum()),
               "Sites lower than the rest": int((sig & (h["diff"] < 0)).sum())}  # fmt: skip
        if ch is not None and ctx.previous_wave is not None:
            c = ch[ch["indicator"] == r["indicator"]]
            if len(c):
                c = c.iloc[0]
                row[f"Change since {ctx.previous_wave} (points)"] = (
                    pd.NA if pd.isna(c["diff"]) else
                    f"{signed(c['diff'])} ({_fmt_ci(c['ci_low'], c['ci_high'], 'points')}) "
                    + ("\u25b2" if c["significant"] and c["diff"] > 0 else
                       "\u25bc" if c["significant"] else "\u25cf")
                )  # fmt: skip
        rows.append(row)
    level, sentence = _family(heat)
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


# ----------------------------------------------------------------------------- role levels


def role_level_table(ctx: Context) -> HTML:
    """Headline indicators by role level, and leaders and managers against frontline."""
    roles = {r.id: r.label for r in ctx.codebook.role_levels}
    parts = []
    for scope, name in ctx.scopes:
        est = ctx.t("role_levels", scope=scope)
        gap = ctx.t("role_gaps", scope=scope)
        if est.empty:
            continue
        wide = est.pivot_table(index="indicator", columns="role_level", values="estimate",
                               aggfunc="first", dropna=False, sort=False)  # fmt: skip
        order = list(dict.fromkeys(est["indicator"]))
        labels = est.drop_duplicates("indicator").set_index("indicator")["label"]
        level, sentence = _family(gap)
        table = pd.DataFrame({"Indicator": [labels[i] for i in order]})
        for rid, rlabel in roles.items():
            col = wide[rid] if rid in wide else pd.Series(np.nan, index=wide.index)
            table[rlabel] = [_fmt_pct(col.get(i)) for i in order]
        parts.append(html_table(table, f"{name}, {ctx.wave}: % on each headline indicator by role level",
                                ctx.min_cell).data)  # fmt: skip
        gap = gap.assign(
            Comparison=gap["role1"].map(roles) + " vs " + gap["role2"].map(roles),
            order=gap["indicator"].map({i: k for k, i in enumerate(order)}),
        ).sort_values(["order", "role1"], kind="stable")
        t = _diff_table(gap, {"label": "Indicator", "Comparison": "Comparison"}, "First", "Second")
        parts.append(html_table(t, f"{name}, {ctx.wave}: senior leaders and managers against frontline "
                                   f"staff (first minus second). {sentence}", ctx.min_cell).data)  # fmt: skip
    return HTML("".join(parts) or "<p>No role levels were recorded.</p>")


# ----------------------------------------------------------------------------- trends


def trend_table(ctx: Context) -> HTML | Markdown:
    """Each headline indicator in every wave, here and nationally, and the change from
    the first wave to the latest with its interval."""
    waves = ctx.meta["waves"]
    if len(waves) < 2:
        return Markdown("There is only one wave in the data: no trend to show.")
    parts = []
    for scope, name in ctx.scopes:
        ind = ctx.t("indicators", scope=scope, wave=None)
        wide = ind.pivot_table(index="indicator", columns="wave", values="estimate", aggfunc="first",
                               dropna=False, sort=False)  # fmt: skip
        order = list(dict.fromkeys(ind["indicator"]))
        labels = ind.drop_duplicates("indicator").set_index("indicator")["label"]
        table = pd.DataFrame({"Indicator": [labels[i] for i in order]})
        for w in waves:
            col = wide[w] if w in wide else pd.Series(np.nan, index=wide.index)
            table[str(w)] = [_fmt_pct(col.get(i)) for i in order]
        tr = ctx.t("indicator_trend", scope=scope, wave=None).set_index("indicator").reindex(order)
        level, sentence = _family(tr)
        table[f"Change {waves[0]} to {waves[-1]} (points)"] = [
            pd.NA if pd.isna(d) else signed(d) for d in tr["diff"]
        ]
        table[f"{level} CI (points)"] = [
            _fmt_ci(lo, hi, "points") for lo, hi in zip(tr["ci_low"], tr["ci_high"], strict=True)
        ]
        table["Significant"] = [pd.NA if pd.isna(lo) else ("yes" if s else "no")
                                for lo, s in zip(tr["ci_low"], tr["significant"], strict=True)]  # fmt: skip
        parts.append(html_table(table, f"{name}: headline indicators in every wave; change from the "
                                       f"first wave to the latest. {sentence}", ctx.min_cell).data)  # fmt: skip
    return HTML("".join(parts))


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
                         "%": [_fmt_pct(v) for v in data["estimate"]],
                         "95% CI": [_fmt_ci(lo, hi) for lo, hi in zip(data["ci_low"], data["ci_high"], strict=True)]})  # fmt: skip
    return figure(fig, "Dots are the survey waves; bars are 95% confidence intervals; gaps are "
                       "suppressed values.", data)  # fmt: skip
