"""Report tables: escaped HTML tables of the aggregates, with suppressed cells in words.

Each interval column is labelled with its family's level (:func:`family_caption`).
"""

from __future__ import annotations

import html
import re

import numpy as np
import pandas as pd
from IPython.display import HTML, Markdown
from pandas.api.types import is_scalar

from hsc_research.config import MIN_CELL
from hsc_research.report.context import Context
from hsc_research.report.formatting import bound, fixed, p_text, pct, pct_value, signed
from hsc_research.report.lookup import first_values
from hsc_research.report.text import md_text
from hsc_research.stats.disclosure import suppressed_text
from hsc_research.stats.multiplicity import CORRECTIONS, interval_label


def html_table(table: pd.DataFrame, caption: str, min_cell: int = MIN_CELL) -> HTML:
    """An escaped HTML table; missing values read as suppressed."""
    body = table_html(table, missing=suppressed_text(min_cell))
    body = body.replace("<table", f'<table aria-label="{html.escape(caption)}"', 1)
    # Wide tables scroll sideways inside their own box on narrow screens.
    return HTML(f'<p><strong>{html.escape(caption)}</strong></p><div class="table-scroll" '
                f'tabindex="0" role="region" aria-label="{html.escape(caption[:80])}">{body}</div>')  # fmt: skip


def table_html(table: pd.DataFrame, missing: str | None = None) -> str:
    """``table.to_html(index=False, escape=True, classes="report-table", border=0)``, with
    every missing value written as ``missing`` when it is given.

    A report's tables hold text, whole numbers and missing values only: those are
    written here directly, the same markup at a tenth of pandas' cost. Any other table
    (numbers with decimals, column levels) goes to pandas.

    Examples
    --------
    >>> print(table_html(pd.DataFrame({"Site": ["A&B"], "n": [12]})))  # doctest: +NORMALIZE_WHITESPACE
    <table class="dataframe report-table"> <thead> <tr style="text-align: right;">
    <th>Site</th> <th>n</th> </tr> </thead> <tbody> <tr> <td>A&amp;B</td> <td>12</td>
    </tr> </tbody> </table>
    """
    columns = list(table.columns)
    cells = table.to_numpy(dtype=object).ravel().tolist()
    if missing is not None:
        # What notna() calls missing; to_html's na_rep would miss pd.NA in object columns.
        cells = [missing if is_scalar(v) and pd.isna(v) else v for v in cells]
    # A named column axis adds a header row and a cell to each row in pandas' markup.
    plain = (
        table.columns.name is None
        and not isinstance(table.columns, pd.MultiIndex)
        and all(
            type(v) in (str, int) and (type(v) is int or _PLAIN_TEXT.fullmatch(v))
            for v in [*columns, *cells]
        )
    )
    if not plain:
        if missing is not None:
            table = table.astype(object).where(table.notna(), missing)
        return table.to_html(index=False, escape=True, classes="report-table", border=0)
    width = len(columns)
    head = "".join(f"      <th>{html.escape(str(c), quote=False)}</th>\n" for c in columns)
    rows = []
    for i in range(0, len(cells), width or 1):
        tds = "".join(f"      <td>{html.escape(str(v), quote=False)}</td>\n"
                      for v in cells[i : i + width])  # fmt: skip
        rows.append(f"    <tr>\n{tds}    </tr>\n")
    return ('<table class="dataframe report-table">\n  <thead>\n    <tr style="text-align: right;">\n'
            f"{head}    </tr>\n  </thead>\n  <tbody>\n{''.join(rows)}  </tbody>\n</table>")  # fmt: skip


#: Text pandas writes as it is (escaped): no line breaks, tabs or runs of spaces, and no
#: space at either end, which pandas would strip or spell out.
_PLAIN_TEXT = re.compile(r"(?!\s)(?:(?!  )[^\t\n\r\v\f])*(?<!\s)")


def cell_pct(v) -> object:
    return pd.NA if pd.isna(v) else pct(v)


def cell_ci(lo, hi, unit="%") -> object:
    if pd.isna(lo) or pd.isna(hi):
        return pd.NA
    if unit == "%":
        return f"{pct(lo)} to {pct(hi)}"
    return f"{bound(lo)} to {bound(hi)}"


def family_caption(rows: pd.DataFrame) -> tuple[str, str]:
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


def cell_n(v) -> object:
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


def diff_table(rows: pd.DataFrame, label_cols: dict[str, str], p1: str, p2: str) -> pd.DataFrame:
    out = pd.DataFrame({v: rows[k].to_numpy() for k, v in label_cols.items()})
    out[p1] = [cell_pct(v) for v in rows["p1"]]
    out[p2] = [cell_pct(v) for v in rows["p2"]]
    level, _ = family_caption(rows)
    out["Difference (points)"] = [pd.NA if pd.isna(d) else signed(d) for d in rows["diff"]]
    out[f"{level} CI (points)"] = [
        cell_ci(lo, hi, "points") for lo, hi in zip(rows["ci_low"], rows["ci_high"], strict=True)
    ]
    out["Significant"] = [pd.NA if pd.isna(lo) else ("yes" if s else "no")
                          for lo, s in zip(rows["ci_low"], rows["significant"], strict=True)]  # fmt: skip
    return out


def gap_analysis(ctx: Context) -> HTML:
    """Site vs rest of sites on every headline indicator, with flags."""
    svr = ctx.t("site_vs_rest")
    table = diff_table(svr, {"label": "Indicator"}, "This site", "Rest of sites")
    table["Flag"] = svr["flag"].where(~svr["suppressed"].to_numpy(), pd.NA).to_numpy()
    level, sentence = family_caption(svr)
    if "std_diff" in svr:
        table["Standardised difference (points)"] = [
            pd.NA if pd.isna(d) else signed(d) for d in svr["std_diff"]
        ]
        table[f"{level} CI, standardised (points)"] = [
            cell_ci(lo, hi, "points")
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
    table = diff_table(ch, {"label": "Indicator"}, str(ctx.wave), str(ctx.previous_wave))
    return html_table(table, f"Change from {ctx.previous_wave} to {ctx.wave}, {ctx.name} "
                             f"(Newcombe intervals). {family_caption(ch)[1]}", ctx.min_cell)  # fmt: skip


def self_view_table(ctx: Context, question: str | None = None) -> HTML:
    """Each profession's view of itself vs others' view of it, here and nationally.

    ``question`` defaults to the codebook's ``reports: self_view`` question (the one the
    headline sentence reads); the caption quotes the question's own wording.
    """
    spec = ctx.codebook.reports
    question = question or (spec.self_view["question"] if spec else "discharge_influence")
    q = ctx.codebook.question(question)
    scale = ctx.codebook.scale_of(question)
    answers = " or ".join(scale.label_of(c).lower() for c in reversed(scale.high))
    parts = []
    for scope, name in ctx.scopes:
        sv = ctx.t("self_vs_others", scope=scope)
        sv = sv[sv["question"] == question]
        t = diff_table(sv.assign(target=sv["target"].map(ctx.prof_labels)), {"target": "Profession"},
                        "Own view", "Others' view")  # fmt: skip
        parts.append(html_table(t, f"{name}: % answering {answers} to \u201c{q.text}\u201d, "
                                   f"each profession's own view vs other professions' view. "
                                   f"{family_caption(sv)[1]}", ctx.min_cell))  # fmt: skip
    return HTML("".join(p.data for p in parts))


def trust_gap_table(ctx: Context) -> HTML:
    """Directional trust between ASC and the hospital professions."""
    parts = []
    for scope, name in ctx.scopes:
        g = ctx.t("trust_gaps", scope=scope)
        t = diff_table(g.assign(pair=g["a"].map(ctx.prof_labels) + " and " + g["b"].map(ctx.prof_labels)),
                        {"pair": "Pair"}, "First trusts second", "Second trusts first")  # fmt: skip
        parts.append(html_table(t, f"{name}: directional trust, % agreeing they trust the other. "
                                   f"{family_caption(g)[1]}", ctx.min_cell))  # fmt: skip
    return HTML("".join(p.data for p in parts))


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


def model_table(ctx: Context) -> HTML | Markdown:
    """The proportional-odds check model (national)."""
    m = ctx.tables.get("ordinal_model")
    if m is None or m.empty or m["term"].isna().all():
        reason = ""
        if m is not None and len(m) and "error" in m and m["error"].notna().any():
            reason = f" ({md_text(str(m['error'].dropna().iloc[0]))})"
        return Markdown(f"The ordinal model could not be fitted on these data{reason}.")
    coef = m[m["kind"] == "coefficient"]
    t = pd.DataFrame({
        "Term": coef["term"].to_numpy(),
        "Odds ratio": [fixed(v, 2) for v in coef["odds_ratio"]],
        "95% CI": [f"{fixed(lo, 2)} to {fixed(hi, 2)}" for lo, hi in zip(coef["or_low"], coef["or_high"], strict=True)],
        "p": [p_text(p).removeprefix("= ") for p in coef["p"]],
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


def role_level_table(ctx: Context) -> HTML:
    """Headline indicators by role level, and leaders and managers against frontline."""
    roles = {r.id: r.label for r in ctx.codebook.role_levels}
    parts = []
    for scope, name in ctx.scopes:
        est = ctx.t("role_levels", scope=scope)
        gap = ctx.t("role_gaps", scope=scope)
        if est.empty:
            continue
        wide = first_values(est, ["indicator", "role_level"], ["estimate"])
        order = list(dict.fromkeys(est["indicator"]))
        labels = est.drop_duplicates("indicator").set_index("indicator")["label"]
        level, sentence = family_caption(gap)
        table = pd.DataFrame({"Indicator": [labels[i] for i in order]})
        for rid, rlabel in roles.items():
            table[rlabel] = [cell_pct(wide.get((i, rid), (np.nan,))[0]) for i in order]
        parts.append(html_table(table, f"{name}, {ctx.wave}: % on each headline indicator by role level",
                                ctx.min_cell).data)  # fmt: skip
        gap = gap.assign(
            Comparison=gap["role1"].map(roles) + " vs " + gap["role2"].map(roles),
            order=gap["indicator"].map({i: k for k, i in enumerate(order)}),
        ).sort_values(["order", "role1"], kind="stable")
        t = diff_table(gap, {"label": "Indicator", "Comparison": "Comparison"}, "First", "Second")
        parts.append(html_table(t, f"{name}, {ctx.wave}: senior leaders and managers against frontline "
                                   f"staff (first minus second). {sentence}", ctx.min_cell).data)  # fmt: skip
    return HTML("".join(parts) or "<p>No role levels were recorded.</p>")


def trend_table(ctx: Context) -> HTML | Markdown:
    """Each headline indicator in every wave, here and nationally, and the change from
    the first wave to the latest with its interval."""
    waves = ctx.meta["waves"]
    if len(waves) < 2:
        return Markdown("There is only one wave in the data: no trend to show.")
    parts = []
    for scope, name in ctx.scopes:
        ind = ctx.t("indicators", scope=scope, wave=None)
        wide = first_values(ind, ["indicator", "wave"], ["estimate"])
        order = list(dict.fromkeys(ind["indicator"]))
        labels = ind.drop_duplicates("indicator").set_index("indicator")["label"]
        table = pd.DataFrame({"Indicator": [labels[i] for i in order]})
        for w in waves:
            table[str(w)] = [cell_pct(wide.get((i, w), (np.nan,))[0]) for i in order]
        tr = ctx.t("indicator_trend", scope=scope, wave=None).set_index("indicator").reindex(order)
        level, sentence = family_caption(tr)
        table[f"Change {waves[0]} to {waves[-1]} (points)"] = [
            pd.NA if pd.isna(d) else signed(d) for d in tr["diff"]
        ]
        table[f"{level} CI (points)"] = [
            cell_ci(lo, hi, "points") for lo, hi in zip(tr["ci_low"], tr["ci_high"], strict=True)
        ]
        table["Significant"] = [pd.NA if pd.isna(lo) else ("yes" if s else "no")
                                for lo, s in zip(tr["ci_low"], tr["significant"], strict=True)]  # fmt: skip
        parts.append(html_table(table, f"{name}: headline indicators in every wave; change from the "
                                       f"first wave to the latest. {sentence}", ctx.min_cell).data)  # fmt: skip
    return HTML("".join(parts))
