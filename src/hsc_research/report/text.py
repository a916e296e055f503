"""Report text: the title, headline sentences, methods and accounting, as Markdown.

Text from the data is made plain text (:func:`md_text`): escaped, one line, inert.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

from IPython.display import Markdown

from hsc_research.report import findings
from hsc_research.report.context import Context
from hsc_research.stats.disclosure import suppressed_text

#: Line breaks (``str.splitlines`` breaks on all of them): one would start a new
#: Markdown block, e.g. a heading, inside a site name.
_LINE_BREAKS = re.compile(r"[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]+")


#: ASCII punctuation that Markdown (and nbconvert's mistune: math, URLs) gives meaning;
#: CommonMark shows a backslash-escaped one literally. ``&`` and ``;`` stay for the
#: entities html.escape writes; ``:`` keeps ``https://`` from becoming a link.
_MD_SPECIAL = frozenset("\\`*_[]{}()#+-.!|~<>$:=^\"'")


def md_text(text: str) -> str:
    """Text from the data made plain text in Markdown: one line, HTML escaped, and
    headings, emphasis, links, bare URLs and math inert."""
    escaped = html.escape(_LINE_BREAKS.sub(" ", str(text)), quote=False)
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in escaped)


def title(ctx: Context) -> Markdown:
    """Report title and one line on what it covers."""
    kind = "Site report" if ctx.is_site else "National report"
    waves = ", ".join(map(str, ctx.meta["waves"]))
    return Markdown(
        f"# {md_text(ctx.name)}: staff survey at the health and social care interface\n\n"
        f"{kind} for the {ctx.wave} survey (waves in the data: {waves}). "
        f"Percentages are of substantive answers; intervals are 95% confidence intervals."
    )


def headlines(ctx: Context) -> Markdown:
    """Five to eight sentences written by :mod:`hsc_research.report.findings`; what they quote
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
        return Markdown("\n".join(f"- {md_text(s)}" for s in sentences))
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
    return Markdown("\n".join(f"- {md_text(s)}" for s in sentences))


def methods(ctx: Context) -> Markdown:
    """Suppression rule and what was suppressed, tests, provenance."""
    b = ctx.t("bases", wave=None)
    hidden = int(b["hidden"].sum())
    tests = "\n".join(
        f"  - {md_text(k.replace('_', ' '))}: {md_text(v)}" for k, v in ctx.meta["tests"].items()
    )
    model = ctx.tables.get("ordinal_model")
    note = ""
    if model is not None and len(model) and "note" in model and model["note"].notna().any():
        note = f" ({md_text(str(model['note'].dropna().iloc[0]))})"
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
