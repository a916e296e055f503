"""Response profile and data-quality tables for the reports.

The response profile counts respondents by group, profession and role level in each
wave; counts go through :func:`~hsc_research.stats.disclosure.suppress_counts` with the
wave total as the published margin. The data-quality table counts exclusions by reason.
"""

from __future__ import annotations

import pandas as pd

from hsc_research.config import MIN_CELL
from hsc_research.instrument import Codebook
from hsc_research.stats.disclosure import suppress_counts

PROFILE_DIMENSIONS = ("group", "profession", "role_level")
REASON_TEXT = {
    "missing_respondent_id": "No respondent id",
    "unknown_site": "Site not in the site register",
    "unknown_profession": "Profession not in the codebook",
    "invalid_wave": "Survey year missing or invalid",
    "duplicate_submission": "Earlier submission by the same respondent (latest kept)",
    "no_substantive_answer": "No substantive answer to any question",
    "invalid_value": "Answer outside the scale or unreadable",
    "self_rating": "Rated own profession where the question does not ask for it",
}


def response_profile(
    respondents: pd.DataFrame,
    codebook: Codebook,
    site: str | None = None,
    min_cell: int = MIN_CELL,
) -> pd.DataFrame:
    """Respondents by group, profession and role level, per wave, with suppression.

    Parameters
    ----------
    respondents
        The cleaned respondents table.
    codebook
        For category order and labels.
    site
        Site id, or ``None`` for all sites.
    min_cell
        Disclosure threshold.

    Returns
    -------
    pandas.DataFrame
        Columns ``dimension, category, label, wave, n, pct, suppressed``; ``pct`` is the
        share of the wave's respondents (missing when ``n`` is hidden). Rows with
        ``category == "total"`` carry each wave's total.
    """
    data = respondents if site is None else respondents[respondents["site"] == site]
    parts = []
    for dim in PROFILE_DIMENSIONS:
        counts = (
            data.groupby([dim, "wave"], observed=False).size().rename("n").reset_index()
            .rename(columns={dim: "category"})
        )  # fmt: skip
        counts["category"] = counts["category"].astype(str)
        counts["label"] = counts["category"].map(codebook.labels(dim))
        counts.insert(0, "dimension", dim)
        parts.append(counts)
    table = pd.concat(parts, ignore_index=True)
    totals = data.groupby("wave").size()
    table = table[table["wave"].isin(totals.index)]
    table = suppress_counts(table, "n", groups=[["dimension", "wave"]], min_cell=min_cell)
    table["pct"] = 100 * table["n"].astype("Float64") / table["wave"].map(totals).astype("Float64")
    total_rows = pd.DataFrame(
        {"dimension": "all", "category": "total", "label": "All respondents",
         "wave": totals.index, "n": pd.array(totals.to_numpy(), dtype="Int64"), "pct": 100.0}
    )  # fmt: skip
    # A site's wave total below the threshold is itself a small cell.
    total_rows = suppress_counts(total_rows, "n", groups=[["wave"]], min_cell=min_cell)
    total_rows.loc[total_rows["n"].isna(), "pct"] = pd.NA
    return pd.concat([table, total_rows], ignore_index=True).reset_index(drop=True)


def exclusion_summary(exclusions: pd.DataFrame, site: str | None = None) -> pd.DataFrame:
    """Exclusions by reason: records and answer cells removed.

    Parameters
    ----------
    exclusions
        The cleaned exclusions table.
    site
        Site id, or ``None`` for every exclusion (including unknown sites).

    Returns
    -------
    pandas.DataFrame
        Columns ``level, reason, description, records, answers``, one row per reason
        that occurred.
    """
    data = exclusions if site is None else exclusions[exclusions["site"] == site]
    out = (
        data.groupby(["level", "reason"], observed=True)
        .agg(records=("reason", "size"), answers=("n_answers", "sum"))
        .reset_index()
    )
    out["reason"] = out["reason"].astype(str)
    out.insert(2, "description", out["reason"].map(REASON_TEXT))
    return out
